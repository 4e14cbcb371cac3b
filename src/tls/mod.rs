//! TLS stage: in-order bytes of one direction of a flow → handshake events.
//!
//! The pipeline owns one [`DirectionParser`] per direction of a flow while its handshake is
//! being looked at, feeds it the contiguous bytes the reassembler delivers, and drops it as soon
//! as the facts it needs are known. Records and handshake messages are put back together here
//! (above `tls-parser`), each buffer with a cap; TLS is recognised by its bytes, never by port.
//!
//! Everything that leaves this stage is owned ([`ClientHelloInfo`], [`ServerHelloInfo`]) and
//! small: lifetimes of packet bytes end here.

pub mod hello;
pub mod record;
pub mod sslv2;
#[cfg(test)]
mod testdata;
mod version;

pub use hello::{ClientHelloInfo, ServerHelloInfo};
pub use record::{DirectionParser, Feed};
pub use version::TlsVersion;

/// What the parser of one direction saw, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeEvent {
    /// A complete ClientHello (TLS record framing, or the SSLv2-compatible form).
    ClientHello(Box<ClientHelloInfo>),
    /// A complete ServerHello that is not a HelloRetryRequest.
    ServerHello(Box<ServerHelloInfo>),
    /// A ServerHello carrying the HelloRetryRequest random (RFC 8446 §4.1.3): not final.
    HelloRetryRequest(Box<ServerHelloInfo>),
    /// An alert record in plaintext (level, description). Encrypted alerts are not reported.
    Alert { level: u8, description: u8 },
    /// A ChangeCipherSpec record (the first one of the direction; reported once).
    ChangeCipherSpec,
    /// An application_data record (the handshake got far enough to send encrypted data).
    /// Reported once, after which the direction's parser ignores its bytes. Under TLS 1.3 the
    /// server's encrypted handshake already has this outer type (RFC 8446 §5.2), so from a
    /// server it follows the ServerHello at once; it proves completion only for TLS ≤ 1.2.
    ApplicationData,
}

/// Why a direction's bytes stopped being parsed as TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotTls {
    /// The first bytes do not look like a TLS or SSLv2 record header.
    NotARecord,
    /// A record header with an impossible content type, version or length after the start.
    BadRecord,
    /// A handshake message longer than the buffer cap.
    MessageTooLarge,
    /// tls-parser rejected the bytes of a complete hello message.
    MalformedHello,
}
