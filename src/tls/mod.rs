//! TLS stage: in-order bytes of one direction of a flow → handshake events.
//!
//! The pipeline owns one [`DirectionParser`] per direction of a flow while its handshake is
//! being looked at, feeds it the contiguous bytes the reassembler delivers, and drops it as soon
//! as the facts it needs are known. Records and handshake messages are put back together here
//! (above `tls-parser`), each buffer with a cap; TLS is recognised by its bytes, never by port.
//!
//! Everything that leaves this stage is owned ([`ClientHelloInfo`], [`ServerHelloInfo`]) and
//! small: lifetimes of packet bytes end here.

// Nothing read off the wire may panic: no unwrap, expect, panic or unchecked indexing in
// the packet path (tests are exempt).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod hello;
pub mod record;
pub mod sslv2;
#[cfg(test)]
mod testdata;
mod version;

pub use hello::{ClientHelloInfo, HelloPart, ServerHelloInfo};
pub use record::{DirectionParser, Feed};
pub use version::TlsVersion;

/// What the parser of one direction saw, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeEvent {
    /// A ClientHello (TLS record framing, or the SSLv2-compatible form): complete, or cut
    /// short by a gap, then marked [`ClientHelloInfo::truncated`].
    ClientHello(Box<ClientHelloInfo>),
    /// A ServerHello that is not a HelloRetryRequest: complete, or cut short by a gap, then
    /// marked [`ServerHelloInfo::truncated`].
    ServerHello(Box<ServerHelloInfo>),
    /// A ServerHello carrying the HelloRetryRequest random (RFC 8446 §4.1.3): not final.
    /// A cut one is recognised from the first [`hello::HRR_RANDOM_PREFIX`] bytes of it.
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

/// The name of an alert description (RFC 8446 §6, RFC 5246 §7.2, RFC 6101 §5.4.2), as IANA
/// spells it.
pub fn alert_name(description: u8) -> Option<&'static str> {
    Some(match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => return None,
    })
}

/// Whether the ServerHello resumed a session: TLS 1.3 by a pre_shared_key extension in the
/// ServerHello (RFC 8446 §4.2.11); earlier versions by the server echoing the client's non-empty
/// session id (RFC 5246 §7.4.1.3; RFC 5077 §3.4 for tickets).
///
/// Never claimed from what a truncated hello did not carry: a cut session id is not kept (so
/// it matches nothing), a pre_shared_key extension that did not arrive whole is not listed, and
/// a ServerHello cut before its version is known (TLS 1.2 or later) resumes nothing: a cut
/// hello may then say `false` for a resumed session.
pub fn is_resumption(ch: Option<&ClientHelloInfo>, sh: &ServerHelloInfo) -> bool {
    if sh.negotiated_is_lower_bound() {
        // Maybe TLS 1.3, whose server echoes the client's session id in any case.
        return false;
    }
    if sh.negotiated().family() == TlsVersion::TLS13 {
        return sh.extensions.contains(&41);
    }
    ch.is_some_and(|ch| !ch.session_id.is_empty() && ch.session_id == sh.session_id)
}
