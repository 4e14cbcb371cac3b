//! ClientHello / ServerHello → small owned facts ([`ClientHelloInfo`], [`ServerHelloInfo`]).
//!
//! Input is one complete handshake message, 4-byte header included, as the record layer
//! ([`super::record`]) reassembles it. `tls-parser` reads the fixed part of the message; the
//! extensions block is walked here as a bounds-checked TLV loop so that wire order and unknown
//! types survive (fingerprints need both).
//!
//! Promises:
//! - never panics and never reads out of bounds, whatever the bytes (no indexing on wire data);
//! - lenient like Wireshark: a ClientHello or ServerHello whose extensions block is truncated or
//!   garbled still yields every field parsed before the damage; only a damaged fixed part
//!   (version, random, session id, cipher suites, compression) is [`NotTls::MalformedHello`];
//! - bounded output: at most [`MAX_SNI_LEN`] bytes of SNI, [`MAX_ALPN_PROTOCOLS`] ALPN names of
//!   at most [`MAX_ALPN_LEN`] bytes each; the other lists are bounded by the message itself
//!   (the record layer caps messages at 256 KiB).
//!
//! `legacy_version` (the hello's version field), `offered_versions` (the client's
//! supported_versions) and the negotiated version are kept apart: with TLS 1.3 the first is a
//! frozen 0x0303 and says nothing (RFC 8446 §4.1.2, §4.2.1).
//!
//! # Truncated hellos
//!
//! A capture with a short snap length (`tcpdump -s 96` on a span port) keeps only the first
//! bytes of each segment, and a lost segment cuts a hello too. [`parse_client_hello_prefix`]
//! and [`parse_server_hello_prefix`] read such a prefix (the record layer calls them when a
//! gap ends a hello it was collecting): every field that arrived whole, in wire order, and
//! of the extensions only those that arrived whole (a cut one is neither listed nor read).
//! The result has `truncated` set and [`HelloPart`] `read_through` says how far it got; a
//! prefix must hold the handshake header and legacy_version at least. What it then means:
//!
//! - fields up to `read_through` are exact; later ones are empty / zero / `None` (not
//!   "absent": not seen), except `cipher_suites` of a ClientHello cut inside the list, which
//!   holds the suites that arrived whole (a prefix of the list), and `session_id_len`, exact
//!   once its length byte arrived (`session_id` itself is kept only when whole);
//! - ClientHello: [`ClientHelloInfo::max_offered`] is a **lower bound** (supported_versions
//!   may have been cut) unless the supported_versions extension itself arrived whole: see
//!   [`ClientHelloInfo::max_offered_is_lower_bound`];
//! - ServerHello: a legacy_version below 0x0303 is the negotiated version, exactly (a TLS 1.3
//!   server always writes 0x0303 there, RFC 8446 §4.1.3, and supported_versions is what says
//!   1.3); 0x0303 with no whole supported_versions extension means "TLS 1.2 or later": see
//!   [`ServerHelloInfo::negotiated_is_lower_bound`];
//! - a HelloRetryRequest is told by its random (RFC 8446 §4.1.3): when at least
//!   [`HRR_RANDOM_PREFIX`] bytes of it arrived and match; a ServerHello cut before that is
//!   reported as a ServerHello (its "TLS 1.2 or later" holds for a HelloRetryRequest too);
//! - fingerprints (JA4, JA3, JA3S) are not computed: their lists may be partial
//!   ([`crate::fingerprint`] returns `None`);
//! - resumption is not claimed unless the facts that show it arrived whole
//!   ([`super::is_resumption`]).

use super::{NotTls, TlsVersion};
use tls_parser::{parse_tls_message_handshake, TlsMessage, TlsMessageHandshake};

/// SNI bytes kept (a DNS name is at most 253 bytes; RFC 6066 §3 allows up to 2^16-1).
pub const MAX_SNI_LEN: usize = 255;
/// ALPN protocol names kept from a ClientHello.
pub const MAX_ALPN_PROTOCOLS: usize = 16;
/// Bytes kept of each ALPN protocol name (RFC 7301 allows 255).
pub const MAX_ALPN_LEN: usize = 64;

/// The ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest"), RFC 8446 §4.1.3.
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Extension types read here (IANA "TLS ExtensionType Values").
mod ext {
    /// RFC 6066 §3.
    pub const SERVER_NAME: u16 = 0;
    /// RFC 8422 §5.1.1 (was elliptic_curves), RFC 8446 §4.2.7.
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// RFC 8422 §5.1.2.
    pub const EC_POINT_FORMATS: u16 = 11;
    /// RFC 5246 §7.4.1.4.1, RFC 8446 §4.2.3.
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// RFC 7301 §3.1.
    pub const ALPN: u16 = 16;
    /// RFC 8446 §4.2.1.
    pub const SUPPORTED_VERSIONS: u16 = 43;
}

/// Handshake message types (RFC 8446 §4).
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;

/// Bytes of a cut ServerHello.random that must match [`HELLO_RETRY_REQUEST_RANDOM`] for it to
/// be taken as a HelloRetryRequest (a chance match of random bytes: 2^-64).
pub const HRR_RANDOM_PREFIX: usize = 8;

/// The parts of a hello in wire order, for how far a truncated one was read (see the module
/// docs, "Truncated hellos"). The order is the wire order, so `read_through >= CipherSuites`
/// says the cipher suites arrived whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HelloPart {
    /// legacy_version (with the handshake header before it): the least a hello event carries.
    Version,
    /// random (32 bytes).
    Random,
    /// legacy_session_id (ServerHello: legacy_session_id_echo; TLS 1.3 drafts up to 21 have
    /// none and go from `Random` to `CipherSuites`).
    SessionId,
    /// cipher_suites (ClientHello) or cipher_suite (ServerHello).
    CipherSuites,
    /// legacy_compression_method(s).
    Compression,
    /// The whole extensions block (or its absence): the message was read whole.
    Extensions,
}

/// What a ClientHello (or an SSLv2-compatible CLIENT-HELLO) offered. Owned and small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHelloInfo {
    /// ClientHello.legacy_version (or the SSLv2 CLIENT-HELLO version).
    pub legacy_version: TlsVersion,
    /// The supported_versions extension in wire order, GREASE removed; empty if no extension.
    pub offered_versions: Vec<TlsVersion>,
    /// First host_name entry of server_name, raw bytes (hostile: never assume UTF-8), at most
    /// [`MAX_SNI_LEN`] bytes kept.
    pub sni: Option<Vec<u8>>,
    /// ALPN protocol names in order, at most [`MAX_ALPN_PROTOCOLS`], each at most
    /// [`MAX_ALPN_LEN`] bytes.
    pub alpn: Vec<Vec<u8>>,
    /// First and last byte of the first ALPN protocol name as sent, even when [`Self::alpn`]
    /// cut it to [`MAX_ALPN_LEN`] bytes (the JA4 fingerprint reads them); `None` without an
    /// ALPN name or when the first name is empty.
    pub alpn_first_ends: Option<(u8, u8)>,
    /// Cipher suites in wire order, GREASE kept (fingerprints need to know; filter later).
    pub cipher_suites: Vec<u16>,
    /// Extension types in wire order, GREASE kept. A final extension cut short by the end of
    /// the block is not listed (as Wireshark, so fingerprints agree with it).
    pub extensions: Vec<u16>,
    /// supported_groups in wire order, GREASE kept.
    pub supported_groups: Vec<u16>,
    /// ec_point_formats in wire order.
    pub ec_point_formats: Vec<u8>,
    /// signature_algorithms in wire order.
    pub signature_algorithms: Vec<u16>,
    /// Length of legacy_session_id (0..=32; an SSLv2 session id length is clamped to 255).
    pub session_id_len: u8,
    /// legacy_session_id itself (at most 32 bytes): resumption is told by the server's echo.
    pub session_id: Vec<u8>,
    /// Came as an SSLv2-compatible CLIENT-HELLO (RFC 5246 Appendix E.2).
    pub sslv2_framed: bool,
    /// Only the first bytes of the message were captured (short snap length, lost bytes):
    /// the fields after `read_through` were not seen, the offered versions may be a lower
    /// bound ([`Self::max_offered_is_lower_bound`]), and no fingerprint is computed. See the
    /// module docs, "Truncated hellos".
    pub truncated: bool,
    /// The last part read whole: [`HelloPart::Extensions`] when not `truncated`.
    pub read_through: HelloPart,
}

impl ClientHelloInfo {
    /// An empty ClientHello with this legacy_version: the starting point of the parsers.
    pub(crate) fn empty(legacy_version: TlsVersion) -> Self {
        ClientHelloInfo {
            legacy_version,
            offered_versions: Vec::new(),
            sni: None,
            alpn: Vec::new(),
            alpn_first_ends: None,
            cipher_suites: Vec::new(),
            extensions: Vec::new(),
            supported_groups: Vec::new(),
            ec_point_formats: Vec::new(),
            signature_algorithms: Vec::new(),
            session_id_len: 0,
            session_id: Vec::new(),
            sslv2_framed: false,
            truncated: false,
            read_through: HelloPart::Extensions,
        }
    }

    /// The highest version offered: by [`TlsVersion::rank`] among the non-GREASE entries of
    /// supported_versions, or `legacy_version` when the extension is absent or empty (then the
    /// legacy field is the client's maximum, RFC 5246 §7.4.1.2 and RFC 8446 §4.2.1).
    pub fn max_offered(&self) -> TlsVersion {
        self.offered_versions
            .iter()
            .copied()
            .filter(|v| !v.is_grease())
            .max_by_key(|v| (v.rank(), v.0))
            .unwrap_or(self.legacy_version)
    }

    /// Whether the client may have offered more than [`Self::max_offered`] (and more than
    /// `offered_versions` lists): the hello was cut and its supported_versions extension did
    /// not arrive whole, so only legacy_version (or nothing past it) was seen. False for a
    /// whole hello, for a cut one whose supported_versions arrived whole, and for a cut
    /// SSLv2-compatible one (that framing has no extensions: its version is all it offers).
    pub fn max_offered_is_lower_bound(&self) -> bool {
        self.truncated
            && !self.sslv2_framed
            && self.read_through < HelloPart::Extensions
            && !self.extensions.contains(&ext::SUPPORTED_VERSIONS)
    }
}

/// What a ServerHello (or HelloRetryRequest, or SSLv2 SERVER-HELLO) chose. Owned and small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHelloInfo {
    /// ServerHello.legacy_version (the negotiated version up to TLS 1.2; 0x0303 under TLS 1.3;
    /// the draft number itself for TLS 1.3 drafts up to 21).
    pub legacy_version: TlsVersion,
    /// The supported_versions extension: a single version in a ServerHello / HelloRetryRequest
    /// (RFC 8446 §4.2.1). For an SSLv2 SERVER-HELLO: always `Some(SSL2)`, since the SSLv2
    /// framing is itself the choice.
    pub selected_version: Option<TlsVersion>,
    /// The chosen cipher suite (0 for an SSLv2 SERVER-HELLO, where the client chooses later).
    pub cipher_suite: u16,
    /// Extension types in wire order.
    pub extensions: Vec<u16>,
    /// Length of legacy_session_id_echo (0 for TLS 1.3 drafts up to 21 and SSLv2).
    pub session_id_len: u8,
    /// legacy_session_id_echo itself (at most 32 bytes).
    pub session_id: Vec<u8>,
    /// The ALPN protocol the server selected, at most 255 bytes (its wire limit).
    pub alpn: Option<Vec<u8>>,
    /// Only the first bytes of the message were captured (short snap length, lost bytes):
    /// the fields after `read_through` were not seen (`cipher_suite` is then 0: use
    /// [`Self::cipher`]), the negotiated version may be a lower bound
    /// ([`Self::negotiated_is_lower_bound`]), and no fingerprint is computed. See the module
    /// docs, "Truncated hellos".
    pub truncated: bool,
    /// The last part read whole: [`HelloPart::Extensions`] when not `truncated`.
    pub read_through: HelloPart,
}

impl ServerHelloInfo {
    /// An empty ServerHello with this legacy_version: the starting point of the parsers.
    pub(crate) fn empty(legacy_version: TlsVersion) -> Self {
        ServerHelloInfo {
            legacy_version,
            selected_version: None,
            cipher_suite: 0,
            extensions: Vec::new(),
            session_id_len: 0,
            session_id: Vec::new(),
            alpn: None,
            truncated: false,
            read_through: HelloPart::Extensions,
        }
    }

    /// The version the server chose: `selected_version`, else `legacy_version`
    /// (RFC 8446 §4.2.1: with supported_versions present, legacy_version is ignored).
    pub fn negotiated(&self) -> TlsVersion {
        self.selected_version.unwrap_or(self.legacy_version)
    }

    /// Whether the server may have chosen more than [`Self::negotiated`]: the hello was cut,
    /// its legacy_version is 0x0303 and no whole supported_versions extension was seen, so
    /// the version is "TLS 1.2 or later" (a TLS 1.3 server writes 0x0303 there, RFC 8446
    /// §4.1.3). A cut hello with a legacy_version below 0x0303 is exact: 1.3 is never
    /// negotiated that way. False for a whole hello.
    pub fn negotiated_is_lower_bound(&self) -> bool {
        self.truncated
            && self.read_through < HelloPart::Extensions
            && self.selected_version.is_none()
            && self.legacy_version == TlsVersion::TLS12
    }

    /// The chosen cipher suite, `None` when the hello was cut before it.
    pub fn cipher(&self) -> Option<u16> {
        (self.read_through >= HelloPart::CipherSuites).then_some(self.cipher_suite)
    }
}

/// Parses one complete ClientHello handshake message, 4-byte handshake header included.
///
/// Bytes after the message's own length are ignored. Errors only when the message is not a
/// ClientHello or its fixed part is damaged; a damaged extensions block keeps what came before.
pub fn parse_client_hello(body_with_4_byte_header: &[u8]) -> Result<ClientHelloInfo, NotTls> {
    let msg = body_with_4_byte_header;
    if msg.first() != Some(&CLIENT_HELLO) {
        return Err(NotTls::MalformedHello);
    }
    let ch = match parse_tls_message_handshake(msg) {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) => ch,
        _ => return Err(NotTls::MalformedHello),
    };
    let mut info = ClientHelloInfo::empty(TlsVersion(ch.version.0));
    let sid_len = ch.session_id.map_or(0, <[u8]>::len);
    // tls-parser checked sid_len <= 32; `min` keeps the cast lossless regardless.
    info.session_id_len = sid_len.min(usize::from(u8::MAX)) as u8;
    info.session_id = ch
        .session_id
        .unwrap_or_default()
        .iter()
        .take(32)
        .copied()
        .collect();
    info.cipher_suites = ch.ciphers.iter().map(|c| c.0).collect();

    // RFC 8446 §4.1.2: version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
    // compression_methods<1..2^8-1> extensions<8..2^16-1>.
    let fixed = 2 + 32 + (1 + sid_len) + (2 + 2 * ch.ciphers.len()) + (1 + ch.comp.len());
    client_extensions(
        &mut info,
        extensions_block(ch.ext, message_body(msg), fixed),
    );
    Ok(info)
}

/// Reads what the first bytes of a ClientHello carry, when the rest was not captured (module
/// docs, "Truncated hellos"): `msg` starts with the 4-byte handshake header and is shorter
/// than the header declares. The result is `truncated`, with `read_through` set.
///
/// `None` when the handshake header and legacy_version are not all there, the type is not
/// ClientHello, legacy_version is not 0x0300..=0x0304, or a field that did arrive is
/// impossible (session id over 32 bytes, cipher suites list empty or of odd length, no
/// compression method): bytes found after a loss must look like a hello to be taken as one.
pub fn parse_client_hello_prefix(msg: &[u8]) -> Option<ClientHelloInfo> {
    if msg.first() != Some(&CLIENT_HELLO) {
        return None;
    }
    let mut r = Cursor(message_body(msg));
    let version = TlsVersion(r.u16()?);
    if !matches!(version.0, 0x0300..=0x0304) {
        return None;
    }
    let mut info = ClientHelloInfo::empty(version);
    info.truncated = true;
    info.read_through = HelloPart::Version;
    if r.take(32).is_none() {
        return Some(info);
    }
    info.read_through = HelloPart::Random;
    let Some(sid_len) = r.u8() else {
        return Some(info);
    };
    if sid_len > 32 {
        return None;
    }
    info.session_id_len = sid_len;
    let Some(sid) = r.take(usize::from(sid_len)) else {
        return Some(info);
    };
    info.session_id = sid.to_vec();
    info.read_through = HelloPart::SessionId;
    let Some(suites_len) = r.u16().map(usize::from) else {
        return Some(info);
    };
    if suites_len == 0 || suites_len % 2 == 1 {
        return None;
    }
    let suites = r.take_up_to(suites_len);
    info.cipher_suites = u16s(suites).collect();
    if suites.len() < suites_len {
        return Some(info);
    }
    info.read_through = HelloPart::CipherSuites;
    let Some(comp_len) = r.u8() else {
        return Some(info);
    };
    if comp_len == 0 {
        return None;
    }
    if r.take(usize::from(comp_len)).is_none() {
        return Some(info);
    }
    info.read_through = HelloPart::Compression;
    let (block, whole) = prefix_block(r.rest());
    client_extensions(&mut info, block);
    if whole {
        info.read_through = HelloPart::Extensions;
    }
    Some(info)
}

/// Reads what the first bytes of a ServerHello carry, when the rest was not captured (module
/// docs, "Truncated hellos"): `msg` starts with the 4-byte handshake header and is shorter
/// than the header declares. Returns the facts (`truncated`, with `read_through` set) and
/// whether this is a HelloRetryRequest: legacy_version 0x0303 and at least
/// [`HRR_RANDOM_PREFIX`] bytes of random, all equal to [`HELLO_RETRY_REQUEST_RANDOM`]'s.
///
/// Reads the TLS 1.2 layout for legacy_version 0x0300..=0x0303, and the layout of TLS 1.3
/// drafts up to 21 (no session id, no compression) for 0x7f00..=0x7f15 and 0x0304, as
/// [`parse_server_hello`] does. `None` for any other version, another message type, a
/// session id over 32 bytes, or fewer bytes than the handshake header and legacy_version.
pub fn parse_server_hello_prefix(msg: &[u8]) -> Option<(ServerHelloInfo, bool)> {
    if msg.first() != Some(&SERVER_HELLO) {
        return None;
    }
    let mut r = Cursor(message_body(msg));
    let version = TlsVersion(r.u16()?);
    let draft = matches!(version.0, 0x7f00..=0x7f15 | 0x0304);
    if !draft && !matches!(version.0, 0x0300..=0x0303) {
        return None;
    }
    let mut info = ServerHelloInfo::empty(version);
    info.truncated = true;
    info.read_through = HelloPart::Version;
    let random = r.take_up_to(32);
    let hrr = version == TlsVersion::TLS12
        && random.len() >= HRR_RANDOM_PREFIX
        && HELLO_RETRY_REQUEST_RANDOM.starts_with(random);
    if random.len() < 32 {
        return Some((info, hrr));
    }
    info.read_through = HelloPart::Random;
    if !draft {
        let Some(sid_len) = r.u8() else {
            return Some((info, hrr));
        };
        if sid_len > 32 {
            return None;
        }
        info.session_id_len = sid_len;
        let Some(sid) = r.take(usize::from(sid_len)) else {
            return Some((info, hrr));
        };
        info.session_id = sid.to_vec();
        info.read_through = HelloPart::SessionId;
    }
    let Some(cipher) = r.u16() else {
        return Some((info, hrr));
    };
    info.cipher_suite = cipher;
    info.read_through = HelloPart::CipherSuites;
    if !draft {
        if r.u8().is_none() {
            return Some((info, hrr));
        }
        info.read_through = HelloPart::Compression;
    }
    let (block, whole) = prefix_block(r.rest());
    server_extensions(&mut info, block);
    if whole {
        info.read_through = HelloPart::Extensions;
    }
    Some((info, hrr))
}

/// The extensions block of a cut hello: what arrived of it, and whether that is all of it.
fn prefix_block(rest: &[u8]) -> (&[u8], bool) {
    let block = lenient_block(rest);
    let declared = Cursor(rest).u16().map(usize::from);
    (block, declared == Some(block.len()))
}

/// Reads a ClientHello extensions block into `info`: every whole extension is listed, the
/// first of each type read here is read.
fn client_extensions(info: &mut ClientHelloInfo, block: &[u8]) {
    let mut seen = Seen::default();
    // An extension takes 4 bytes at least: room for all of them in one allocation (capped,
    // so that a hostile block of empty extensions grows the list as it goes instead).
    info.extensions.reserve((block.len() / 4).min(64));
    walk_extensions(block, |ty, body| {
        info.extensions.push(ty);
        if seen.first(ty) {
            client_extension(info, ty, body);
        }
    });
}

/// Parses one complete ServerHello handshake message, 4-byte handshake header included.
///
/// Returns the facts and whether this is a HelloRetryRequest: a ServerHello carrying the
/// special random (RFC 8446 §4.1.3), or the handshake type 6 message of TLS 1.3 drafts up to 21.
/// Also reads the draft ServerHello of drafts up to 21 (no session id, no compression, the
/// draft version in the version field). Errors when the message is none of these or its fixed
/// part is damaged.
pub fn parse_server_hello(msg: &[u8]) -> Result<(ServerHelloInfo, bool), NotTls> {
    let ty = *msg.first().ok_or(NotTls::MalformedHello)?;
    let body = message_body(msg);
    match parse_tls_message_handshake(msg) {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) => {
            let mut info = ServerHelloInfo::empty(TlsVersion(sh.version.0));
            let sid_len = sh.session_id.map_or(0, <[u8]>::len);
            info.session_id_len = sid_len.min(usize::from(u8::MAX)) as u8;
            info.session_id = sh
                .session_id
                .unwrap_or_default()
                .iter()
                .take(32)
                .copied()
                .collect();
            info.cipher_suite = sh.cipher.0;
            // RFC 5246 §7.4.1.3: version(2) random(32) session_id<0..32> cipher(2) comp(1).
            // tls-parser does not look for extensions after an SSLv3 ServerHello, but SSLv3
            // servers send them (renegotiation_info, RFC 5746 §3.6: Java, OpenSSL) and
            // Wireshark reads them (its JA3S lists them): the lenient read finds them.
            let fixed = 2 + 32 + (1 + sid_len) + 2 + 1;
            server_extensions(&mut info, extensions_block(sh.ext, body, fixed));
            let hrr = sh.random == HELLO_RETRY_REQUEST_RANDOM.as_slice();
            Ok((info, hrr))
        }
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHelloV13Draft18(sh)))) => {
            let mut info = ServerHelloInfo::empty(TlsVersion(sh.version.0));
            info.cipher_suite = sh.cipher.0;
            server_extensions(&mut info, extensions_block(sh.ext, body, 2 + 32 + 2));
            Ok((info, false))
        }
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::HelloRetryRequest(hrr)))) => {
            // Drafts up to 21: version(2) cipher_suite(2) extensions (draft-ietf-tls-tls13-21
            // §4.1.4); there is no random to check, the type says it.
            let mut info = ServerHelloInfo::empty(TlsVersion(hrr.version.0));
            info.cipher_suite = hrr.cipher.0;
            server_extensions(&mut info, extensions_block(hrr.ext, body, 2 + 2));
            Ok((info, true))
        }
        // Only a complete message, as tls-parser requires for the others.
        _ if ty == SERVER_HELLO && body.len() == declared_len(msg) => {
            draft_server_hello(body).ok_or(NotTls::MalformedHello)
        }
        _ => Err(NotTls::MalformedHello),
    }
}

/// The ServerHello of TLS 1.3 drafts before 22 other than 18 (which tls-parser knows):
/// version(2) random(32) cipher_suite(2) extensions. tls-parser rejects their version numbers.
fn draft_server_hello(body: &[u8]) -> Option<(ServerHelloInfo, bool)> {
    let mut r = Cursor(body);
    let version = TlsVersion(r.u16()?);
    // From draft 22 (0x7f16) on, the ServerHello is shaped like TLS 1.2's with a 0x0303
    // legacy_version, which tls-parser reads; before that the draft number is on the wire.
    // Implementations of the earliest drafts wrote 0x0304 itself there, which final TLS 1.3
    // never does (RFC 8446 §4.1.3: legacy_version is 0x0303), so it means the draft layout.
    if !matches!(version.0, 0x7f00..=0x7f15 | 0x0304) {
        return None;
    }
    r.take(32)?;
    let mut info = ServerHelloInfo::empty(version);
    info.cipher_suite = r.u16()?;
    server_extensions(&mut info, lenient_block(r.rest()));
    Some((info, false))
}

/// The message body after the 4-byte handshake header, cut to the header's length (or to what
/// is there, if less).
fn message_body(msg: &[u8]) -> &[u8] {
    let rest = msg.get(4..).unwrap_or_default();
    rest.get(..declared_len(msg)).unwrap_or(rest)
}

/// The body length the handshake header declares (0 without a whole header).
fn declared_len(msg: &[u8]) -> usize {
    match msg.first_chunk::<4>() {
        Some(&[_, a, b, c]) => u32::from_be_bytes([0, a, b, c]) as usize,
        None => 0,
    }
}

/// The extensions block: tls-parser's when it found a complete one; otherwise, if bytes follow
/// the fixed part, the truncated remainder after the 2-byte length (Wireshark's leniency).
fn extensions_block<'a>(parsed: Option<&'a [u8]>, body: &'a [u8], fixed: usize) -> &'a [u8] {
    match parsed {
        Some(block) => block,
        None => lenient_block(body.get(fixed..).unwrap_or_default()),
    }
}

/// A `u16`-length-prefixed block, cut to what is present when the length overruns.
fn lenient_block(bytes: &[u8]) -> &[u8] {
    let mut r = Cursor(bytes);
    match r.u16() {
        Some(len) => r.take_up_to(usize::from(len)),
        None => &[],
    }
}

/// Walks `type(2) length(2) body` entries in order, calling `f(type, body)` for each complete
/// one; stops at the first whose header or body runs past the block.
fn walk_extensions<'a>(block: &'a [u8], mut f: impl FnMut(u16, &'a [u8])) {
    let mut r = Cursor(block);
    while let (Some(ty), Some(len)) = (r.u16(), r.u16()) {
        let Some(body) = r.take(usize::from(len)) else {
            return;
        };
        f(ty, body);
    }
}

/// Which of the extension types read here were met already: the first occurrence of a type
/// wins (duplicates are illegal, RFC 8446 §4.2, but are still listed in `extensions`).
#[derive(Default)]
struct Seen(u8);

impl Seen {
    /// True the first time a type read here is met; false for repeats and for other types.
    fn first(&mut self, ty: u16) -> bool {
        let bit = match ty {
            ext::SERVER_NAME => 1,
            ext::SUPPORTED_GROUPS => 2,
            ext::EC_POINT_FORMATS => 4,
            ext::SIGNATURE_ALGORITHMS => 8,
            ext::ALPN => 16,
            ext::SUPPORTED_VERSIONS => 32,
            _ => return false,
        };
        let first = self.0 & bit == 0;
        self.0 |= bit;
        first
    }
}

/// Reads one ClientHello extension body into `info`.
fn client_extension(info: &mut ClientHelloInfo, ty: u16, body: &[u8]) {
    let mut r = Cursor(body);
    match ty {
        ext::SERVER_NAME => info.sni = first_host_name(body),
        ext::SUPPORTED_GROUPS => info.supported_groups = u16s(r.vec16()).collect(),
        ext::EC_POINT_FORMATS => info.ec_point_formats = r.vec8().to_vec(),
        ext::SIGNATURE_ALGORITHMS => info.signature_algorithms = u16s(r.vec16()).collect(),
        ext::ALPN => {
            let mut list = Cursor(r.vec16());
            while info.alpn.len() < MAX_ALPN_PROTOCOLS {
                let Some(len) = list.u8() else { break };
                let Some(name) = list.take(usize::from(len)) else {
                    break;
                };
                if info.alpn.is_empty() {
                    info.alpn_first_ends = name.first().zip(name.last()).map(|(f, l)| (*f, *l));
                }
                info.alpn.push(truncated(name, MAX_ALPN_LEN));
            }
        }
        ext::SUPPORTED_VERSIONS => {
            // ClientHello form: versions<2..254>, a u8-length list (RFC 8446 §4.2.1).
            info.offered_versions = u16s(r.vec8())
                .map(TlsVersion)
                .filter(|v| !v.is_grease())
                .collect();
        }
        _ => {}
    }
}

/// server_name (RFC 6066 §3): server_name_list<1..2^16-1> of name_type(1) + opaque<1..2^16-1>.
/// The first host_name(0) entry, cut to [`MAX_SNI_LEN`]; entries of other types are skipped.
fn first_host_name(body: &[u8]) -> Option<Vec<u8>> {
    let mut list = Cursor(Cursor(body).vec16());
    loop {
        let name_type = list.u8()?;
        let len = list.u16()?;
        let name = list.take(usize::from(len))?;
        if name_type == 0 {
            return Some(truncated(name, MAX_SNI_LEN));
        }
    }
}

/// Reads a ServerHello / HelloRetryRequest extensions block into `info`.
fn server_extensions(info: &mut ServerHelloInfo, block: &[u8]) {
    let mut seen = Seen::default();
    info.extensions.reserve((block.len() / 4).min(64));
    walk_extensions(block, |ty, body| {
        info.extensions.push(ty);
        if !seen.first(ty) {
            return;
        }
        let mut r = Cursor(body);
        match ty {
            // ServerHello form: selected_version, a single u16 (RFC 8446 §4.2.1).
            ext::SUPPORTED_VERSIONS => info.selected_version = r.u16().map(TlsVersion),
            // The server returns exactly one name (RFC 7301 §3.1).
            ext::ALPN => {
                let mut list = Cursor(r.vec16());
                info.alpn = list
                    .u8()
                    .and_then(|len| list.take(usize::from(len)))
                    .map(<[u8]>::to_vec);
            }
            _ => {}
        }
    });
}

/// Big-endian u16s from complete pairs; an odd trailing byte is ignored.
pub(crate) fn u16s(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .filter_map(|pair| <[u8; 2]>::try_from(pair).ok())
        .map(u16::from_be_bytes)
}

fn truncated(bytes: &[u8], max: usize) -> Vec<u8> {
    bytes.get(..max).unwrap_or(bytes).to_vec()
}

/// A read cursor over wire bytes whose accessors return `None` instead of reading past the end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor<'a>(pub(crate) &'a [u8]);

impl<'a> Cursor<'a> {
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        let (b, rest) = self.0.split_first_chunk::<2>()?;
        self.0 = rest;
        Some(u16::from_be_bytes(*b))
    }

    /// Exactly `n` bytes, or `None` (and nothing consumed) if fewer remain.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (b, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(b)
    }

    /// Up to `n` bytes: all that remain if fewer.
    pub(crate) fn take_up_to(&mut self, n: usize) -> &'a [u8] {
        let (b, rest) = self.0.split_at_checked(n).unwrap_or((self.0, &[]));
        self.0 = rest;
        b
    }

    /// A u8-length-prefixed vector, cut to what remains when the length overruns.
    pub(crate) fn vec8(&mut self) -> &'a [u8] {
        match self.u8() {
            Some(len) => self.take_up_to(usize::from(len)),
            None => &[],
        }
    }

    /// A u16-length-prefixed vector, cut to what remains when the length overruns.
    pub(crate) fn vec16(&mut self) -> &'a [u8] {
        match self.u16() {
            Some(len) => self.take_up_to(usize::from(len)),
            None => &[],
        }
    }

    pub(crate) fn rest(self) -> &'a [u8] {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::testdata::*;

    const TLS13_SUITES: [u16; 31] = [
        0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8, 0xccaa, 0xc02b, 0xc02f,
        0x009e, 0xc024, 0xc028, 0x006b, 0xc023, 0xc027, 0x0067, 0xc00a, 0xc014, 0x0039, 0xc009,
        0xc013, 0x0033, 0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x00ff,
    ];
    const TLS13_SIGALGS: [u16; 20] = [
        0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080a, 0x080b, 0x0804, 0x0805, 0x0806,
        0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602,
    ];

    fn tls13_ch() -> Vec<u8> {
        first_message(&hex(TLS13_CLIENT_HELLO))
    }

    fn v(versions: &[u16]) -> Vec<TlsVersion> {
        versions.iter().copied().map(TlsVersion).collect()
    }

    #[test]
    fn real_tls13_client_hello() {
        let ch = parse_client_hello(&tls13_ch()).unwrap();
        assert_eq!(ch.legacy_version, TlsVersion::TLS12);
        assert_eq!(ch.offered_versions, v(&[0x0304, 0x0303, 0x0302, 0x0301]));
        assert_eq!(ch.max_offered(), TlsVersion::TLS13);
        assert_eq!(ch.sni.as_deref(), Some(&b"outlook.office365.com"[..]));
        assert_eq!(ch.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(ch.alpn_first_ends, Some((b'h', b'2')));
        assert_eq!(ch.cipher_suites, TLS13_SUITES);
        assert_eq!(ch.extensions, [0, 11, 10, 35, 16, 22, 23, 13, 43, 45, 51]);
        assert_eq!(
            ch.supported_groups,
            [0x001d, 0x0017, 0x001e, 0x0019, 0x0018, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104]
        );
        assert_eq!(ch.ec_point_formats, [0, 1, 2]);
        assert_eq!(ch.signature_algorithms, TLS13_SIGALGS);
        assert_eq!(ch.session_id_len, 32);
        assert!(!ch.sslv2_framed);
    }

    #[test]
    fn real_tls10_client_hello_without_supported_versions() {
        let ch = parse_client_hello(&first_message(&hex(TLS10_CLIENT_HELLO))).unwrap();
        assert_eq!(ch.legacy_version, TlsVersion::TLS10);
        assert!(ch.offered_versions.is_empty());
        assert_eq!(ch.max_offered(), TlsVersion::TLS10);
        assert!(ch.max_offered().is_legacy());
        assert_eq!(ch.sni.as_deref(), Some(&b"smtp.office365.com"[..]));
        assert!(ch.alpn.is_empty());
        assert_eq!(
            ch.cipher_suites,
            [0xc00a, 0xc014, 0x0039, 0xc009, 0xc013, 0x0033, 0x0035, 0x002f, 0x00ff]
        );
        assert_eq!(ch.extensions, [0, 11, 10, 35, 22, 23]);
        assert_eq!(
            ch.supported_groups,
            [0x001d, 0x0017, 0x001e, 0x0019, 0x0018]
        );
        assert!(ch.signature_algorithms.is_empty());
        assert_eq!(ch.session_id_len, 0);
    }

    #[test]
    fn real_tls13_server_hello() {
        let msg = first_message(&hex(TLS13_SERVER_FLIGHT_START));
        let (sh, hrr) = parse_server_hello(&msg).unwrap();
        assert!(!hrr);
        assert_eq!(sh.legacy_version, TlsVersion::TLS12);
        assert_eq!(sh.selected_version, Some(TlsVersion::TLS13));
        assert_eq!(sh.negotiated(), TlsVersion::TLS13);
        assert_eq!(sh.cipher_suite, 0x1302);
        assert_eq!(sh.extensions, [43, 51]);
        assert_eq!(sh.session_id_len, 32);
        assert_eq!(sh.alpn, None);
    }

    #[test]
    fn real_tls10_server_hello() {
        let msg = first_message(&hex(TLS10_SERVER_HELLO));
        let (sh, hrr) = parse_server_hello(&msg).unwrap();
        assert!(!hrr);
        assert_eq!(sh.legacy_version, TlsVersion::TLS10);
        assert_eq!(sh.selected_version, None);
        assert_eq!(sh.negotiated(), TlsVersion::TLS10);
        assert_eq!(sh.cipher_suite, 0xc00a);
        assert_eq!(sh.extensions, [65281, 11, 35, 22, 23]);
        assert_eq!(sh.session_id_len, 0);
    }

    #[test]
    fn real_hello_retry_request_is_recognised_by_its_random() {
        let msg = first_message(&hex(HRR_SERVER_FLIGHT));
        assert_eq!(msg.get(6..38), Some(&HELLO_RETRY_REQUEST_RANDOM[..]));
        let (info, hrr) = parse_server_hello(&msg).unwrap();
        assert!(hrr);
        assert_eq!(info.negotiated(), TlsVersion::TLS13);
        assert_eq!(info.cipher_suite, 0x1302);
        assert_eq!(info.extensions, [43, 51]);

        // The same ServerHello with one bit of the random flipped is an ordinary ServerHello.
        let mut other = msg.clone();
        other[37] ^= 1;
        assert!(!parse_server_hello(&other).unwrap().1);

        let second = first_message(&hex(HRR_SERVER_SECOND_FLIGHT_START));
        let (sh, hrr) = parse_server_hello(&second).unwrap();
        assert!(!hrr);
        assert_eq!(sh.negotiated(), TlsVersion::TLS13);
    }

    #[test]
    fn grease_is_removed_from_offered_versions_only() {
        let msg = client_hello(
            0x0303,
            &[0x3a3a, 0x1301, 0xc02f],
            &[
                ext(0x2a2a, &[]),
                ext_client_versions(&[0x5a5a, 0x0304, 0x0303]),
                ext(10, &vec16(&be16s(&[0x4a4a, 0x001d]))),
                ext(0xfafa, &[0]),
            ],
        );
        let ch = parse_client_hello(&msg).unwrap();
        assert_eq!(ch.offered_versions, v(&[0x0304, 0x0303]));
        assert_eq!(ch.cipher_suites, [0x3a3a, 0x1301, 0xc02f]);
        assert_eq!(ch.extensions, [0x2a2a, 43, 10, 0xfafa]);
        assert_eq!(ch.supported_groups, [0x4a4a, 0x001d]);
        assert_eq!(ch.max_offered(), TlsVersion::TLS13);
    }

    #[test]
    fn max_offered_by_meaning() {
        let mut ch = ClientHelloInfo::empty(TlsVersion::TLS12);
        assert_eq!(
            ch.max_offered(),
            TlsVersion::TLS12,
            "no extension: legacy_version"
        );
        ch.offered_versions = v(&[0x0303, 0x7f17]);
        assert_eq!(ch.max_offered(), TlsVersion(0x7f17), "a draft beats 1.2");
        assert_eq!(ch.max_offered().family(), TlsVersion::TLS13);
        ch.offered_versions = v(&[0x7f1c, 0x0304, 0x0303]);
        assert_eq!(ch.max_offered(), TlsVersion::TLS13, "final beats drafts");
        ch.offered_versions = v(&[0x0302, 0x0301]);
        assert_eq!(
            ch.max_offered(),
            TlsVersion::TLS11,
            "1.1 client with the extension"
        );
        ch.offered_versions = v(&[0x0a0a]);
        assert_eq!(
            ch.max_offered(),
            TlsVersion::TLS12,
            "only GREASE: legacy_version"
        );
    }

    #[test]
    fn supported_versions_is_a_list_in_client_hello_and_one_value_in_server_hello() {
        let sv_list = ext_client_versions(&[0x0304, 0x0303]);
        let msg = client_hello(0x0303, &[0x1301], std::slice::from_ref(&sv_list));
        let ch = parse_client_hello(&msg).unwrap();
        assert_eq!(ch.offered_versions, v(&[0x0304, 0x0303]));

        let sv_one = ext(43, &[0x03, 0x04]);
        let body = server_hello_body(0x0303, &[7; 32], &[], 0x1301, Some(&sv_one));
        let (sh, _) = parse_server_hello(&handshake(2, &body)).unwrap();
        assert_eq!(sh.selected_version, Some(TlsVersion::TLS13));
        assert_eq!(sh.negotiated(), TlsVersion::TLS13);

        // The ClientHello form in a ServerHello reads as the value 0x0403 (u8 length 4, then
        // 0x03): what the wire says, not a guess.
        let body = server_hello_body(0x0303, &[7; 32], &[], 0x1301, Some(&sv_list));
        let (sh, _) = parse_server_hello(&handshake(2, &body)).unwrap();
        assert_eq!(sh.selected_version, Some(TlsVersion(0x0403)));
    }

    #[test]
    fn server_hello_alpn_and_tls12_without_supported_versions() {
        let exts = [ext_alpn(&[b"h2"]), ext(0xff01, &[0])].concat();
        let body = server_hello_body(0x0303, &[7; 32], &[1; 32], 0xc02f, Some(&exts));
        let (sh, hrr) = parse_server_hello(&handshake(2, &body)).unwrap();
        assert!(!hrr);
        assert_eq!(sh.alpn.as_deref(), Some(&b"h2"[..]));
        assert_eq!(sh.negotiated(), TlsVersion::TLS12);
        assert_eq!(sh.extensions, [16, 0xff01]);
        assert_eq!(sh.session_id_len, 32);
    }

    #[test]
    fn sslv3_server_hello_extensions_are_read() {
        // A Java server's SSLv3 answer: renegotiation_info (RFC 5746 §3.6), empty.
        let body = server_hello_body(0x0300, &[7; 32], &[], 0xc014, Some(&ext(0xff01, &[0])));
        let (sh, _) = parse_server_hello(&handshake(2, &body)).unwrap();
        assert_eq!(sh.negotiated(), TlsVersion::SSL3);
        assert_eq!(sh.cipher_suite, 0xc014);
        assert_eq!(sh.extensions, [0xff01]);
        // Without extensions: none, as before.
        let body = server_hello_body(0x0300, &[7; 32], &[], 0x000a, None);
        let (sh, _) = parse_server_hello(&handshake(2, &body)).unwrap();
        assert!(sh.extensions.is_empty());
        // supported_versions is read as for any other legacy_version (RFC 8446 §4.2.1: it
        // overrides legacy_version; no real server sends this).
        let body = server_hello_body(0x0300, &[7; 32], &[], 0x000a, Some(&ext(43, &[3, 4])));
        let (sh, _) = parse_server_hello(&handshake(2, &body)).unwrap();
        assert_eq!(sh.extensions, [43]);
        assert_eq!(sh.negotiated(), TlsVersion::TLS13);
    }

    #[test]
    fn draft_server_hellos() {
        // Draft 18 (tls-parser's ServerHelloV13Draft18): version random cipher extensions.
        let mut body = 0x7f12u16.to_be_bytes().to_vec();
        body.extend_from_slice(&[9; 32]);
        body.extend_from_slice(&0x1301u16.to_be_bytes());
        body.extend_from_slice(&vec16(&ext(51, &[0; 4])));
        let (sh, hrr) = parse_server_hello(&handshake(2, &body)).unwrap();
        assert!(!hrr);
        assert_eq!(sh.negotiated(), TlsVersion(0x7f12));
        assert_eq!(sh.negotiated().family(), TlsVersion::TLS13);
        assert_eq!(sh.cipher_suite, 0x1301);
        assert_eq!(sh.extensions, [51]);

        // Drafts 14..21 other than 18, and the earliest ones that wrote 0x0304: same layout,
        // read here because tls-parser rejects the version.
        for version in [0x7f0e_u16, 0x7f15, 0x0304] {
            body[..2].copy_from_slice(&version.to_be_bytes());
            let (sh, hrr) = parse_server_hello(&handshake(2, &body)).unwrap();
            assert!(!hrr);
            assert_eq!(sh.negotiated(), TlsVersion(version));
            assert_eq!(sh.cipher_suite, 0x1301);
            assert_eq!(sh.extensions, [51]);
        }
        let draft = handshake(2, &body);
        for cut in 0..draft.len() {
            assert!(
                parse_server_hello(&draft[..cut]).is_err(),
                "incomplete at {cut}"
            );
        }
        body[..2].copy_from_slice(&0x1234u16.to_be_bytes());
        assert_eq!(
            parse_server_hello(&handshake(2, &body)),
            Err(NotTls::MalformedHello)
        );

        // Draft 22+ and Facebook's fizz: TLS 1.2 layout, draft number in supported_versions.
        let body = server_hello_body(0x0303, &[7; 32], &[], 0x1301, Some(&ext(43, &[0xfb, 0x1a])));
        let (sh, _) = parse_server_hello(&handshake(2, &body)).unwrap();
        assert_eq!(sh.negotiated(), TlsVersion(0xfb1a));
        assert_eq!(sh.negotiated().family(), TlsVersion::TLS13);
    }

    #[test]
    fn draft_hello_retry_request_message_type_6() {
        let mut body = 0x7f15u16.to_be_bytes().to_vec();
        body.extend_from_slice(&0x1301u16.to_be_bytes());
        body.extend_from_slice(&vec16(&ext(51, &[0, 0x17])));
        let (info, hrr) = parse_server_hello(&handshake(6, &body)).unwrap();
        assert!(hrr);
        assert_eq!(info.negotiated(), TlsVersion(0x7f15));
        assert_eq!(info.cipher_suite, 0x1301);
        assert_eq!(info.extensions, [51]);
    }

    #[test]
    fn wrong_message_type_or_damaged_fixed_part_is_malformed() {
        let ch = tls13_ch();
        let mut sh_type = ch.clone();
        sh_type[0] = 2;
        assert_eq!(parse_server_hello(&ch), Err(NotTls::MalformedHello));
        assert!(parse_client_hello(&sh_type).is_err());
        assert_eq!(parse_client_hello(&[]), Err(NotTls::MalformedHello));
        assert_eq!(parse_server_hello(&[]), Err(NotTls::MalformedHello));
        assert_eq!(
            parse_client_hello(&handshake(1, &[])),
            Err(NotTls::MalformedHello)
        );
        assert_eq!(
            parse_server_hello(&handshake(2, &[])),
            Err(NotTls::MalformedHello)
        );
        assert_eq!(
            parse_client_hello(&handshake(11, &[0; 60])),
            Err(NotTls::MalformedHello)
        );

        // Session id longer than 32 (RFC 8446 §4.1.2).
        let body = client_hello_body(0x0303, &[0; 33], &[0x1301], None);
        assert_eq!(
            parse_client_hello(&handshake(1, &body)),
            Err(NotTls::MalformedHello)
        );
        // Cipher suites vector of odd length.
        let mut body = client_hello_body(0x0303, &[], &[0x1301, 0x1302], None);
        body[35..37].copy_from_slice(&3u16.to_be_bytes());
        assert_eq!(
            parse_client_hello(&handshake(1, &body)),
            Err(NotTls::MalformedHello)
        );
        // Cipher suites vector longer than the message.
        let mut body = client_hello_body(0x0303, &[], &[0x1301], None);
        body[35..37].copy_from_slice(&0xfffeu16.to_be_bytes());
        assert_eq!(
            parse_client_hello(&handshake(1, &body)),
            Err(NotTls::MalformedHello)
        );
    }

    #[test]
    fn message_cut_short_of_its_header_length_is_malformed_at_every_offset() {
        let msg = tls13_ch();
        for cut in 0..msg.len() {
            assert_eq!(
                parse_client_hello(&msg[..cut]),
                Err(NotTls::MalformedHello),
                "{cut}"
            );
        }
        let sh = first_message(&hex(TLS13_SERVER_FLIGHT_START));
        for cut in 0..sh.len() {
            assert_eq!(
                parse_server_hello(&sh[..cut]),
                Err(NotTls::MalformedHello),
                "{cut}"
            );
        }
    }

    /// A complete message whose content stops at `cut` bytes of body (header length fixed up):
    /// the fixed part must be whole, and then whatever extensions are whole are kept.
    #[test]
    fn content_truncated_at_every_offset_keeps_what_was_parsed() {
        let msg = tls13_ch();
        let full = parse_client_hello(&msg).unwrap();
        let body = &msg[4..];
        let fixed_len = 2 + 32 + 1 + 32 + 2 + 2 * TLS13_SUITES.len() + 2;
        for cut in 0..=body.len() {
            let cut_msg = handshake(1, &body[..cut]);
            match parse_client_hello(&cut_msg) {
                Err(e) => {
                    assert_eq!(e, NotTls::MalformedHello);
                    assert!(cut < fixed_len, "cut {cut} after the fixed part must parse");
                }
                Ok(ch) => {
                    assert!(cut >= fixed_len, "cut {cut}");
                    assert_eq!(ch.cipher_suites, full.cipher_suites);
                    assert!(full.extensions.starts_with(&ch.extensions), "cut {cut}");
                    // SNI is the first extension: 4 + 26 bytes after the block length.
                    if cut >= fixed_len + 2 + 4 + 26 {
                        assert_eq!(ch.sni, full.sni, "cut {cut}");
                    } else {
                        assert_eq!(ch.sni, None, "a cut name is not reported ({cut})");
                    }
                }
            }
        }
        let sh = first_message(&hex(TLS13_SERVER_FLIGHT_START));
        for cut in 0..=sh.len() - 4 {
            let _ = parse_server_hello(&handshake(2, &sh[4..4 + cut]));
        }
    }

    #[test]
    fn overlong_extensions_block_is_read_up_to_the_end_of_the_message() {
        // The block claims 0xffff bytes but only SNI and a cut ALPN follow (Wireshark shows the
        // same: the SNI and an ALPN marked malformed).
        let exts = [ext_sni(b"outlook.office.com"), ext_alpn(&[b"h2"])].concat();
        let mut body = client_hello_body(0x0303, &[], &[0x1301], Some(&exts));
        let block_at = body.len() - exts.len() - 2;
        body[block_at..block_at + 2].copy_from_slice(&0xffffu16.to_be_bytes());
        body.truncate(body.len() - 2);
        let ch = parse_client_hello(&handshake(1, &body)).unwrap();
        assert_eq!(ch.sni.as_deref(), Some(&b"outlook.office.com"[..]));
        assert_eq!(ch.extensions, [0], "the cut ALPN is not listed");
        assert!(ch.alpn.is_empty());

        // The same for a ServerHello.
        let sh_exts = [ext(43, &[3, 4]), ext(51, &[0; 36])].concat();
        let mut body = server_hello_body(0x0303, &[7; 32], &[], 0x1301, Some(&sh_exts));
        let block_at = body.len() - sh_exts.len() - 2;
        body[block_at..block_at + 2].copy_from_slice(&0x0100u16.to_be_bytes());
        let (sh, _) = parse_server_hello(&handshake(2, &body[..body.len() - 10])).unwrap();
        assert_eq!(sh.negotiated(), TlsVersion::TLS13);
        assert_eq!(sh.extensions, [43]);
    }

    #[test]
    fn garbled_extension_contents_are_read_leniently() {
        let exts = [
            // supported_versions: length byte says 5, one whole version and a half.
            ext(43, &[5, 0x03, 0x04, 0x03]),
            // supported_groups: list length overruns the extension.
            ext(10, &[0x00, 0x40, 0x00, 0x1d]),
            // server_name: entry length overruns: no SNI.
            ext(0, &[0x00, 0x08, 0x00, 0x00, 0x40, b'a', b'b']),
            // ALPN: second name overruns.
            ext(16, &[0x00, 0x07, 2, b'h', b'2', 9, b'x']),
            // ec_point_formats and signature_algorithms empty.
            ext(11, &[]),
            ext(13, &[]),
        ];
        let ch = parse_client_hello(&client_hello(0x0303, &[0x1301], &exts)).unwrap();
        assert_eq!(ch.offered_versions, v(&[0x0304]));
        assert_eq!(ch.supported_groups, [0x001d]);
        assert_eq!(ch.sni, None);
        assert_eq!(ch.alpn, vec![b"h2".to_vec()]);
        assert!(ch.ec_point_formats.is_empty());
        assert!(ch.signature_algorithms.is_empty());
        assert_eq!(ch.extensions, [43, 10, 0, 16, 11, 13]);
    }

    #[test]
    fn extension_overrunning_the_block_ends_the_walk() {
        let mut exts = [ext_sni(b"a.example"), ext(23, &[])].concat();
        exts.extend_from_slice(&[0x00, 0x2b, 0x00, 0x09, 0x04]); // supported_versions, cut
        let body = client_hello_body(0x0303, &[], &[0x1301], Some(&exts));
        let ch = parse_client_hello(&handshake(1, &body)).unwrap();
        assert_eq!(ch.extensions, [0, 23]);
        assert!(ch.offered_versions.is_empty());
        assert_eq!(ch.max_offered(), TlsVersion::TLS12);
        // 1..3 dangling bytes after the last whole extension are ignored.
        for dangling in 1..4 {
            let mut exts = ext(23, &[]);
            exts.extend(std::iter::repeat_n(0xab, dangling));
            let body = client_hello_body(0x0303, &[], &[0x1301], Some(&exts));
            assert_eq!(
                parse_client_hello(&handshake(1, &body)).unwrap().extensions,
                [23]
            );
        }
    }

    #[test]
    fn sni_is_raw_bytes_capped_and_first_host_name() {
        let long = vec![b'a'; 300];
        let ch = parse_client_hello(&client_hello(0x0303, &[1], &[ext_sni(&long)])).unwrap();
        assert_eq!(ch.sni.as_ref().map(Vec::len), Some(MAX_SNI_LEN));

        let hostile = b"\xff\xfe\x00evil\n.com";
        let ch = parse_client_hello(&client_hello(0x0303, &[1], &[ext_sni(hostile)])).unwrap();
        assert_eq!(ch.sni.as_deref(), Some(&hostile[..]));

        // An entry of another name type first: skipped.
        let mut list = vec![7];
        list.extend_from_slice(&vec16(b"other"));
        list.push(0);
        list.extend_from_slice(&vec16(b"host.example"));
        let ch = parse_client_hello(&client_hello(0x0303, &[1], &[ext(0, &vec16(&list))])).unwrap();
        assert_eq!(ch.sni.as_deref(), Some(&b"host.example"[..]));

        // Empty server_name extension (what a server echoes): no SNI, but listed.
        let ch = parse_client_hello(&client_hello(0x0303, &[1], &[ext(0, &[])])).unwrap();
        assert_eq!(ch.sni, None);
        assert_eq!(ch.extensions, [0]);
    }

    #[test]
    fn alpn_is_capped_in_count_and_length() {
        let names: Vec<Vec<u8>> = (0..20u8).map(|i| vec![b'p', i]).collect();
        let mut refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        let mut long = vec![b'x'; 200];
        long[199] = b'z';
        refs.insert(0, &long);
        let ch = parse_client_hello(&client_hello(0x0303, &[1], &[ext_alpn(&refs)])).unwrap();
        assert_eq!(ch.alpn.len(), MAX_ALPN_PROTOCOLS);
        assert_eq!(ch.alpn[0], vec![b'x'; MAX_ALPN_LEN]);
        assert_eq!(
            ch.alpn_first_ends,
            Some((b'x', b'z')),
            "the cut name's real last byte"
        );
        assert_eq!(ch.alpn[1], b"p\0");
    }

    #[test]
    fn duplicate_extensions_first_wins_both_listed() {
        let exts = [
            ext_sni(b"first.example"),
            ext_client_versions(&[0x0303]),
            ext_sni(b"second.example"),
            ext_client_versions(&[0x0304]),
        ];
        let ch = parse_client_hello(&client_hello(0x0303, &[1], &exts)).unwrap();
        assert_eq!(ch.sni.as_deref(), Some(&b"first.example"[..]));
        assert_eq!(ch.offered_versions, v(&[0x0303]));
        assert_eq!(ch.extensions, [0, 43, 0, 43]);
    }

    #[test]
    fn no_extensions_block_at_all() {
        let body = client_hello_body(0x0300, &[], &[0x000a, 0x0005], None);
        let ch = parse_client_hello(&handshake(1, &body)).unwrap();
        assert_eq!(ch.legacy_version, TlsVersion::SSL3);
        assert!(ch.extensions.is_empty());
        assert_eq!(ch.max_offered(), TlsVersion::SSL3);
        // One stray byte where the block length would be: ignored.
        let mut body = body;
        body.push(0);
        assert!(parse_client_hello(&handshake(1, &body))
            .unwrap()
            .extensions
            .is_empty());
    }

    #[test]
    fn trailing_bytes_after_the_message_are_ignored() {
        let mut msg = tls13_ch();
        let full = parse_client_hello(&msg).unwrap();
        msg.extend_from_slice(&[0x16, 0x03, 0x03, 0xff]);
        assert_eq!(parse_client_hello(&msg).unwrap(), full);
    }

    /// Where each whole extension of a hello message ends (offsets in the message, header
    /// included), in wire order: an extension is read from a prefix iff the prefix covers it.
    fn extension_ends(msg: &[u8], block_at: usize) -> Vec<(u16, usize)> {
        let mut ends = Vec::new();
        let mut at = block_at + 2;
        while at + 4 <= msg.len() {
            let ty = u16::from_be_bytes([msg[at], msg[at + 1]]);
            let len = u16::from_be_bytes([msg[at + 2], msg[at + 3]]) as usize;
            at += 4 + len;
            ends.push((ty, at));
        }
        ends
    }

    /// Every prefix of a real ClientHello: no panic, nothing before legacy_version, then each
    /// field exactly when it arrived whole, extensions only whole, and the lower-bound answer.
    fn check_client_hello_prefixes(msg: &[u8], max_offered_whole: TlsVersion) {
        let full = parse_client_hello(msg).unwrap();
        assert!(!full.truncated && !full.max_offered_is_lower_bound());
        assert_eq!(full.read_through, HelloPart::Extensions);
        let sid_len = usize::from(msg[4 + 34]);
        let suites_at = 4 + 35 + sid_len;
        let suites_len = u16::from_be_bytes([msg[suites_at], msg[suites_at + 1]]) as usize;
        let comp_at = suites_at + 2 + suites_len;
        let block_at = comp_at + 1 + usize::from(msg[comp_at]);
        let ends = extension_ends(msg, block_at);
        for cut in 0..msg.len() {
            let got = parse_client_hello_prefix(&msg[..cut]);
            if cut < 6 {
                assert_eq!(got, None, "cut {cut}: no legacy_version");
                continue;
            }
            let ch = got.unwrap_or_else(|| panic!("cut {cut}: a hello prefix"));
            assert!(ch.truncated, "cut {cut}");
            assert_eq!(ch.legacy_version, full.legacy_version, "cut {cut}");
            let part = match cut {
                c if c < 4 + 34 => HelloPart::Version,
                c if c < suites_at => HelloPart::Random,
                c if c < comp_at => HelloPart::SessionId,
                c if c < block_at => HelloPart::CipherSuites,
                _ => HelloPart::Compression,
            };
            assert_eq!(ch.read_through, part, "cut {cut}");
            let sid_len_known = cut > 4 + 34;
            assert_eq!(
                ch.session_id_len,
                if sid_len_known {
                    full.session_id_len
                } else {
                    0
                }
            );
            let sid_whole = cut >= suites_at;
            assert_eq!(
                ch.session_id,
                if sid_whole {
                    full.session_id.clone()
                } else {
                    vec![]
                }
            );
            // The cipher suites that arrived whole.
            let suites = cut.saturating_sub(suites_at + 2).min(suites_len) / 2;
            assert_eq!(ch.cipher_suites, full.cipher_suites[..suites], "cut {cut}");
            // The extensions that arrived whole, nothing of a cut one.
            let whole: Vec<u16> = ends
                .iter()
                .filter(|(_, end)| *end <= cut)
                .map(|e| e.0)
                .collect();
            assert_eq!(ch.extensions, whole, "cut {cut}");
            let has = |ty| whole.contains(&ty);
            assert_eq!(
                ch.sni,
                if has(0) { full.sni.clone() } else { None },
                "cut {cut}"
            );
            assert_eq!(ch.alpn, if has(16) { full.alpn.clone() } else { vec![] });
            assert_eq!(
                ch.supported_groups.is_empty(),
                !has(10) || full.supported_groups.is_empty()
            );
            if has(43) {
                assert_eq!(ch.offered_versions, full.offered_versions, "cut {cut}");
                assert_eq!(ch.max_offered(), max_offered_whole, "cut {cut}");
                assert!(!ch.max_offered_is_lower_bound(), "cut {cut}");
            } else {
                assert!(ch.offered_versions.is_empty(), "cut {cut}");
                assert_eq!(ch.max_offered(), full.legacy_version, "cut {cut}");
                assert!(ch.max_offered_is_lower_bound(), "cut {cut}");
            }
            assert_eq!(crate::fingerprint::ja4(&ch), None, "cut {cut}");
            assert_eq!(crate::fingerprint::ja3(&ch), None, "cut {cut}");
        }
    }

    #[test]
    fn client_hello_prefix_at_every_length() {
        // TLS 1.3: 32-byte session id, supported_versions (1.3..1.0) as the 9th extension.
        check_client_hello_prefixes(&tls13_ch(), TlsVersion::TLS13);
        // TLS 1.0, no supported_versions: legacy_version is then always a lower bound.
        check_client_hello_prefixes(&first_message(&hex(TLS10_CLIENT_HELLO)), TlsVersion::TLS10);
        // The second ClientHello of the HelloRetryRequest run.
        let second = hex(HRR_CLIENT_SECOND_FLIGHT);
        check_client_hello_prefixes(&first_message(&second[6..]), TlsVersion::TLS13);
    }

    /// Every prefix of a real ServerHello: nothing before legacy_version, then each field
    /// exactly when it arrived whole, and the lower-bound answer.
    fn check_server_hello_prefixes(msg: &[u8], hrr: bool) {
        let (full, full_hrr) = parse_server_hello(msg).unwrap();
        assert_eq!(full_hrr, hrr);
        assert!(!full.truncated && !full.negotiated_is_lower_bound());
        assert_eq!(full.cipher(), Some(full.cipher_suite));
        let sid_len = usize::from(msg[4 + 34]);
        let cipher_at = 4 + 35 + sid_len;
        let block_at = cipher_at + 3;
        let ends = extension_ends(msg, block_at);
        // A client hello with the same session id (as in the TLS 1.3 runs, where the server
        // echoes it): resumption must never be claimed from a cut ServerHello whose version
        // is not known.
        let mut ch = ClientHelloInfo::empty(TlsVersion::TLS12);
        ch.session_id = msg[4 + 35..cipher_at].to_vec();
        for cut in 0..msg.len() {
            let got = parse_server_hello_prefix(&msg[..cut]);
            if cut < 6 {
                assert_eq!(got, None, "cut {cut}: no legacy_version");
                continue;
            }
            let (sh, is_hrr) = got.unwrap_or_else(|| panic!("cut {cut}: a hello prefix"));
            assert!(sh.truncated, "cut {cut}");
            assert_eq!(sh.legacy_version, full.legacy_version, "cut {cut}");
            assert_eq!(is_hrr, hrr && cut >= 6 + HRR_RANDOM_PREFIX, "cut {cut}");
            let part = match cut {
                c if c < 4 + 34 => HelloPart::Version,
                c if c < cipher_at => HelloPart::Random,
                c if c < cipher_at + 2 => HelloPart::SessionId,
                c if c < block_at => HelloPart::CipherSuites,
                _ => HelloPart::Compression,
            };
            assert_eq!(sh.read_through, part, "cut {cut}");
            let cipher_known = cut >= cipher_at + 2;
            assert_eq!(
                sh.cipher(),
                cipher_known.then_some(full.cipher_suite),
                "cut {cut}"
            );
            assert_eq!(sh.session_id.is_empty(), cut < cipher_at || sid_len == 0);
            let whole: Vec<u16> = ends
                .iter()
                .filter(|(_, end)| *end <= cut)
                .map(|e| e.0)
                .collect();
            assert_eq!(sh.extensions, whole, "cut {cut}");
            if whole.contains(&43) {
                assert_eq!(sh.negotiated(), full.negotiated(), "cut {cut}");
                assert!(!sh.negotiated_is_lower_bound(), "cut {cut}");
            } else if full.legacy_version == TlsVersion::TLS12 {
                // "TLS 1.2 or later".
                assert_eq!(sh.negotiated(), TlsVersion::TLS12, "cut {cut}");
                assert!(sh.negotiated_is_lower_bound(), "cut {cut}");
            } else {
                // Below 0x0303: exact.
                assert_eq!(sh.negotiated(), full.negotiated(), "cut {cut}");
                assert!(!sh.negotiated_is_lower_bound(), "cut {cut}");
            }
            // Below TLS 1.3 an echoed session id is a resumption, once it arrived whole.
            let resumed = !sh.negotiated_is_lower_bound()
                && sh.negotiated().family() != TlsVersion::TLS13
                && sid_len > 0
                && cut >= cipher_at;
            assert_eq!(
                crate::tls::is_resumption(Some(&ch), &sh),
                resumed,
                "cut {cut}"
            );
            assert_eq!(crate::fingerprint::ja3s(&sh), None, "cut {cut}");
        }
    }

    #[test]
    fn server_hello_prefix_at_every_length() {
        check_server_hello_prefixes(&first_message(&hex(TLS13_SERVER_FLIGHT_START)), false);
        check_server_hello_prefixes(&first_message(&hex(TLS10_SERVER_HELLO)), false);
        check_server_hello_prefixes(&first_message(&hex(HRR_SERVER_FLIGHT)), true);
        check_server_hello_prefixes(&first_message(&hex(HRR_SERVER_SECOND_FLIGHT_START)), false);
        // SSLv3 with renegotiation_info.
        let body = server_hello_body(0x0300, &[7; 32], &[9; 32], 0xc014, Some(&ext(0xff01, &[0])));
        check_server_hello_prefixes(&handshake(2, &body), false);
    }

    #[test]
    fn prefix_of_a_random_like_hrr_is_a_server_hello_until_enough_matched() {
        let msg = first_message(&hex(HRR_SERVER_FLIGHT));
        let cut = 6 + HRR_RANDOM_PREFIX - 1;
        assert!(!parse_server_hello_prefix(&msg[..cut]).unwrap().1);
        assert!(parse_server_hello_prefix(&msg[..cut + 1]).unwrap().1);
        // Not 0x0303: never a HelloRetryRequest.
        let mut other = msg.clone();
        other[4..6].copy_from_slice(&[3, 1]);
        assert!(!parse_server_hello_prefix(&other[..40]).unwrap().1);
    }

    #[test]
    fn prefixes_that_are_not_hellos() {
        let ch = tls13_ch();
        // Wrong type, implausible version.
        assert_eq!(parse_client_hello_prefix(&[2, 0, 1, 0, 3, 3]), None);
        assert_eq!(parse_server_hello_prefix(&[1, 0, 1, 0, 3, 3]), None);
        assert_eq!(parse_server_hello_prefix(&[6, 0, 1, 0, 0x7f, 0x15]), None);
        for version in [[3, 5], [2, 0], [0x7f, 0x12], [0xfe, 0xfd], [0, 2]] {
            let mut m = ch[..50].to_vec();
            m[4..6].copy_from_slice(&version);
            assert_eq!(parse_client_hello_prefix(&m), None, "{version:?}");
        }
        for version in [[3, 5], [2, 0], [0x7f, 0x16], [0xfe, 0xfd]] {
            assert_eq!(
                parse_server_hello_prefix(&[2, 0, 1, 0, version[0], version[1]]),
                None
            );
        }
        // Session id over 32, odd or empty cipher suites, no compression method.
        let mut m = ch[..100].to_vec();
        m[4 + 34] = 33;
        assert_eq!(parse_client_hello_prefix(&m), None);
        let body = client_hello_body(0x0303, &[], &[0x1301, 0x1302], Some(&ext(0, &[0; 40])));
        for (at, value) in [(35, [0, 3]), (35, [0, 0])] {
            let mut b = body.clone();
            b[at..at + 2].copy_from_slice(&value);
            let m = handshake(1, &b);
            assert_eq!(
                parse_client_hello_prefix(&m[..m.len() - 5]),
                None,
                "{value:?}"
            );
        }
        let mut b = body.clone();
        b[41] = 0;
        let m = handshake(1, &b);
        assert_eq!(parse_client_hello_prefix(&m[..m.len() - 5]), None);
        // A draft ServerHello (no session id) cut after its cipher suite.
        let mut d = 0x7f12u16.to_be_bytes().to_vec();
        d.extend_from_slice(&[9; 32]);
        d.extend_from_slice(&0x1301u16.to_be_bytes());
        d.extend_from_slice(&vec16(&ext(51, &[0; 4])));
        let m = handshake(2, &d);
        let (sh, hrr) = parse_server_hello_prefix(&m[..4 + 36]).unwrap();
        assert!(!hrr);
        assert_eq!(sh.cipher(), Some(0x1301));
        assert_eq!(sh.negotiated(), TlsVersion(0x7f12));
        assert!(
            !sh.negotiated_is_lower_bound(),
            "the draft number is on the wire"
        );
    }

    #[test]
    fn mutated_hellos_never_panic() {
        let seeds = [
            tls13_ch(),
            first_message(&hex(TLS10_CLIENT_HELLO)),
            first_message(&hex(TLS13_SERVER_FLIGHT_START)),
            first_message(&hex(HRR_SERVER_FLIGHT)),
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..20_000 {
            let mut m = seeds[round % seeds.len()].clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(m.len());
                m[at] = rng.next() as u8;
            }
            if rng.below(4) == 0 {
                m.truncate(rng.below(m.len() + 1));
            }
            let _ = parse_client_hello(&m);
            let _ = parse_server_hello(&m);
            let _ = parse_client_hello_prefix(&m);
            let _ = parse_server_hello_prefix(&m);
        }
    }
}
