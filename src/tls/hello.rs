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
    /// Came as an SSLv2-compatible CLIENT-HELLO (RFC 5246 Appendix E.2).
    pub sslv2_framed: bool,
}

impl ClientHelloInfo {
    /// An empty ClientHello with this legacy_version: the starting point of the parsers.
    pub(crate) fn empty(legacy_version: TlsVersion) -> Self {
        ClientHelloInfo {
            legacy_version,
            offered_versions: Vec::new(),
            sni: None,
            alpn: Vec::new(),
            cipher_suites: Vec::new(),
            extensions: Vec::new(),
            supported_groups: Vec::new(),
            ec_point_formats: Vec::new(),
            signature_algorithms: Vec::new(),
            session_id_len: 0,
            sslv2_framed: false,
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
    /// The ALPN protocol the server selected, at most 255 bytes (its wire limit).
    pub alpn: Option<Vec<u8>>,
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
            alpn: None,
        }
    }

    /// The version the server chose: `selected_version`, else `legacy_version`
    /// (RFC 8446 §4.2.1: with supported_versions present, legacy_version is ignored).
    pub fn negotiated(&self) -> TlsVersion {
        self.selected_version.unwrap_or(self.legacy_version)
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
    info.cipher_suites = ch.ciphers.iter().map(|c| c.0).collect();

    // RFC 8446 §4.1.2: version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
    // compression_methods<1..2^8-1> extensions<8..2^16-1>.
    let fixed = 2 + 32 + (1 + sid_len) + (2 + 2 * ch.ciphers.len()) + (1 + ch.comp.len());
    let block = extensions_block(ch.ext, message_body(msg), fixed);
    let mut seen = Seen::default();
    walk_extensions(block, |ty, body| {
        info.extensions.push(ty);
        if seen.first(ty) {
            client_extension(&mut info, ty, body);
        }
    });
    Ok(info)
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
            info.cipher_suite = sh.cipher.0;
            // RFC 5246 §7.4.1.3: version(2) random(32) session_id<0..32> cipher(2) comp(1).
            // SSLv3 has no extensions (tls-parser does not look), so neither do we.
            if sh.version.0 != 0x0300 {
                let fixed = 2 + 32 + (1 + sid_len) + 2 + 1;
                server_extensions(&mut info, extensions_block(sh.ext, body, fixed));
            }
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
        _ if ty == SERVER_HELLO => draft_server_hello(body).ok_or(NotTls::MalformedHello),
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
    let Some((header, rest)) = msg.split_first_chunk::<4>() else {
        return &[];
    };
    let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
    rest.get(..len).unwrap_or(rest)
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
