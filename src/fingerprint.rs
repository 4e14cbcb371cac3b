//! Client and server fingerprints of a handshake: JA4 and JA3 of a ClientHello, JA3S of a
//! ServerHello. Pure functions of the owned hello facts ([`ClientHelloInfo`],
//! [`ServerHelloInfo`]); no state, no I/O.
//!
//! - **JA4** follows FoxIO's JA4 TLS client fingerprint specification (BSD 3-Clause,
//!   `technical_details/JA4.md` in FoxIO-LLC/ja4), in its current form: GREASE is ignored
//!   everywhere, signature algorithms included (FoxIO-LLC/ja4#305); the signature algorithms
//!   are those of the signature_algorithms extension only, not signature_algorithms_cert
//!   (ja4#41); the ALPN part falls back to hex digits for a first protocol name that does not
//!   start and end with an ASCII letter or digit; SSL 2.0 is version `0x0002` (ja4#150).
//!   JA4S and the other JA4+ methods are under a licence that restricts commercial use and
//!   are deliberately not implemented.
//! - **JA3** / **JA3S** follow Salesforce's definition (salesforce/ja3 README): decimal values
//!   joined by `-`, fields by `,`, GREASE values (RFC 8701) left out, MD5 of the string in
//!   lower-case hex. They equal Wireshark's `tls.handshake.ja3_full` / `ja3s_full` except for
//!   a ClientHello without an extensions block, where the definition leaves the three last
//!   fields empty (`769,4-5,,,`) and Wireshark 4.0 drops them (`769,4-5,`).
//!
//! Promises: never panics; every whole hello yields a fingerprint (unknown versions print as
//! `00` in JA4 and as their number in JA3); output is ASCII and deterministic.
//!
//! A truncated hello ([`ClientHelloInfo::truncated`], [`ServerHelloInfo::truncated`]: only its
//! first bytes were captured) has no fingerprint: every function here returns `None` for it,
//! since its cipher suite and extension lists may be partial and a fingerprint of a part would
//! look like a real, different client or server.
//!
//! SSLv2-framed ClientHellos (RFC 5246 Appendix E.2) get fingerprints too, from what they
//! carry: the version field, no SNI (`i`), no extensions, and the cipher specs that have a TLS
//! number (`0x00XXYY`); SSLv2-only specs have no 16-bit number and are not counted. Neither
//! specification covers this framing; Wireshark computes neither value for it.

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

use std::collections::HashMap;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::tls::{ClientHelloInfo, ServerHelloInfo, TlsVersion};

/// server_name (RFC 6066 §3): its presence alone makes JA4's `d`.
const EXT_SERVER_NAME: u16 = 0x0000;
/// application_layer_protocol_negotiation (RFC 7301 §3.1).
const EXT_ALPN: u16 = 0x0010;

/// JA4's "hash" of an empty list: zeros rather than the SHA-256 of nothing, so that an empty
/// field is visible as such.
const EMPTY_HASH: &str = "000000000000";

/// The JA4 fingerprint of a ClientHello over TCP, e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`;
/// `None` for a truncated hello.
pub fn ja4(ch: &ClientHelloInfo) -> Option<String> {
    (!ch.truncated).then(|| Ja4Parts::of(ch).hashed())
}

/// The raw (unhashed, sorted) JA4 of a ClientHello: what [`ja4`] hashes, for debugging and
/// tests, e.g. `t13d1516h2_002f,0035,…_0005,000a,…_0403,0804,…` (FoxIO's `ja4_r`); `None`
/// for a truncated hello.
pub fn ja4_r(ch: &ClientHelloInfo) -> Option<String> {
    if ch.truncated {
        return None;
    }
    let parts = Ja4Parts::of(ch);
    Some(format!(
        "{}_{}_{}",
        parts.head, parts.ciphers, parts.extensions_and_sigalgs
    ))
}

/// The JA3 of a ClientHello: `(string, md5 hex)`, the string being
/// `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats` with
/// SSLVersion the legacy_version (never supported_versions); `None` for a truncated hello.
pub fn ja3(ch: &ClientHelloInfo) -> Option<(String, String)> {
    (!ch.truncated).then(|| ja3_string(ch))
}

/// [`ja3`] of the fields as they are.
fn ja3_string(ch: &ClientHelloInfo) -> (String, String) {
    let mut s = String::with_capacity(160);
    push_decimal(&mut s, ch.legacy_version.0);
    s.push(',');
    dash_joined(&mut s, ch.cipher_suites.iter().copied().filter(not_grease));
    s.push(',');
    dash_joined(&mut s, ch.extensions.iter().copied().filter(not_grease));
    s.push(',');
    dash_joined(
        &mut s,
        ch.supported_groups.iter().copied().filter(not_grease),
    );
    s.push(',');
    dash_joined(&mut s, ch.ec_point_formats.iter().copied().map(u16::from));
    let md5 = md5_hex(&s);
    (s, md5)
}

/// The JA3S of a ServerHello: `(string, md5 hex)`, the string being
/// `SSLVersion,Cipher,Extensions` with SSLVersion the legacy_version (0x0303 = 771 under
/// TLS 1.3, as Wireshark); `None` for a truncated hello.
pub fn ja3s(sh: &ServerHelloInfo) -> Option<(String, String)> {
    (!sh.truncated).then(|| ja3s_string(sh))
}

/// [`ja3s`] of the fields as they are.
fn ja3s_string(sh: &ServerHelloInfo) -> (String, String) {
    let mut s = String::with_capacity(64);
    push_decimal(&mut s, sh.legacy_version.0);
    s.push(',');
    push_decimal(&mut s, sh.cipher_suite);
    s.push(',');
    dash_joined(&mut s, sh.extensions.iter().copied().filter(not_grease));
    let md5 = md5_hex(&s);
    (s, md5)
}

/// Distinct hello shapes remembered per side; past this the memory starts over (a capture
/// of random hellos then costs what no memory would, never more memory).
const MEMO_ENTRIES: usize = 4096;

/// The fields of a ClientHello that JA4 and JA3 read, borrowed: equal shapes have equal
/// fingerprints.
#[derive(PartialEq, Eq, Hash)]
struct ClientShape<'a> {
    legacy_version: TlsVersion,
    offered_versions: &'a [TlsVersion],
    alpn_first_ends: Option<(u8, u8)>,
    cipher_suites: &'a [u16],
    extensions: &'a [u16],
    supported_groups: &'a [u16],
    ec_point_formats: &'a [u8],
    signature_algorithms: &'a [u16],
}

impl<'a> ClientShape<'a> {
    fn of(ch: &'a ClientHelloInfo) -> Self {
        ClientShape {
            legacy_version: ch.legacy_version,
            offered_versions: &ch.offered_versions,
            alpn_first_ends: ch.alpn_first_ends,
            cipher_suites: &ch.cipher_suites,
            extensions: &ch.extensions,
            supported_groups: &ch.supported_groups,
            ec_point_formats: &ch.ec_point_formats,
            signature_algorithms: &ch.signature_algorithms,
        }
    }
}

/// The fields of a ServerHello that JA3S reads.
#[derive(PartialEq, Eq, Hash)]
struct ServerShape<'a> {
    legacy_version: TlsVersion,
    cipher_suite: u16,
    extensions: &'a [u16],
}

impl<'a> ServerShape<'a> {
    fn of(sh: &'a ServerHelloInfo) -> Self {
        ServerShape {
            legacy_version: sh.legacy_version,
            cipher_suite: sh.cipher_suite,
            extensions: &sh.extensions,
        }
    }
}

/// JA4 and JA3 of a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFingerprints {
    pub ja4: String,
    /// The JA3 MD5, lower-case hex.
    pub ja3: String,
}

/// Fingerprints with a memory of the hello shapes already seen: a network's clients send the
/// same few hellos over and over, and hashing their fields is much cheaper than formatting
/// and digesting them again. A hit is checked field by field against the remembered hello,
/// so the answer is always the one [`ja4`], [`ja3`] and [`ja3s`] give; the memory is keyed by
/// a random seed, so hostile hellos cannot make entries collide on purpose.
#[derive(Default)]
pub struct Fingerprinter {
    seed: ahash::RandomState,
    /// Keyed by the shape's hash already: the identity hash would do, ahash is near it.
    clients: HashMap<u64, (Box<ClientHelloInfo>, ClientFingerprints), ahash::RandomState>,
    servers: HashMap<u64, (Box<ServerHelloInfo>, String), ahash::RandomState>,
}

impl Fingerprinter {
    pub fn new() -> Self {
        Self::default()
    }

    /// JA4 and JA3 of `ch`; `None` for a truncated hello (module docs).
    pub fn client(&mut self, ch: &ClientHelloInfo) -> Option<ClientFingerprints> {
        if ch.truncated {
            return None;
        }
        let shape = ClientShape::of(ch);
        let key = self.seed.hash_one(&shape);
        if let Some((seen, fp)) = self.clients.get(&key) {
            if ClientShape::of(seen) == shape {
                return Some(fp.clone());
            }
        }
        let fp = ClientFingerprints {
            ja4: Ja4Parts::of(ch).hashed(),
            ja3: ja3_string(ch).1,
        };
        if self.clients.len() >= MEMO_ENTRIES {
            self.clients.clear();
        }
        let mut kept = ClientHelloInfo::empty(ch.legacy_version);
        kept.offered_versions.clone_from(&ch.offered_versions);
        kept.alpn_first_ends = ch.alpn_first_ends;
        kept.cipher_suites.clone_from(&ch.cipher_suites);
        kept.extensions.clone_from(&ch.extensions);
        kept.supported_groups.clone_from(&ch.supported_groups);
        kept.ec_point_formats.clone_from(&ch.ec_point_formats);
        kept.signature_algorithms
            .clone_from(&ch.signature_algorithms);
        self.clients.insert(key, (Box::new(kept), fp.clone()));
        Some(fp)
    }

    /// JA3S (MD5, lower-case hex) of `sh`; `None` for a truncated hello (module docs).
    pub fn server(&mut self, sh: &ServerHelloInfo) -> Option<String> {
        if sh.truncated {
            return None;
        }
        let shape = ServerShape::of(sh);
        let key = self.seed.hash_one(&shape);
        if let Some((seen, fp)) = self.servers.get(&key) {
            if ServerShape::of(seen) == shape {
                return Some(fp.clone());
            }
        }
        let fp = ja3s_string(sh).1;
        if self.servers.len() >= MEMO_ENTRIES {
            self.servers.clear();
        }
        let mut kept = ServerHelloInfo::empty(sh.legacy_version);
        kept.cipher_suite = sh.cipher_suite;
        kept.extensions.clone_from(&sh.extensions);
        self.servers.insert(key, (Box::new(kept), fp.clone()));
        Some(fp)
    }
}

/// The three parts of JA4 before hashing.
struct Ja4Parts {
    /// JA4_a: `t`, version, `d`/`i`, cipher count, extension count, ALPN (10 characters).
    head: String,
    /// Sorted cipher suites, 4-digit hex, comma-joined (JA4_b before hashing).
    ciphers: String,
    /// Sorted extensions less SNI and ALPN, then `_` and the signature algorithms in wire
    /// order when there are any (JA4_c before hashing).
    extensions_and_sigalgs: String,
}

impl Ja4Parts {
    /// JA4 itself: the head, then the two lists hashed.
    fn hashed(&self) -> String {
        format!(
            "{}_{}_{}",
            self.head,
            hash12(&self.ciphers),
            hash12(&self.extensions_and_sigalgs)
        )
    }

    fn of(ch: &ClientHelloInfo) -> Ja4Parts {
        let mut ciphers: Vec<u16> = ch
            .cipher_suites
            .iter()
            .copied()
            .filter(not_grease)
            .collect();
        let extensions: Vec<u16> = ch.extensions.iter().copied().filter(not_grease).collect();
        let sni = if extensions.contains(&EXT_SERVER_NAME) {
            'd'
        } else {
            'i'
        };
        let [alpn_first, alpn_last] = alpn_chars(ch.alpn_first_ends);
        let mut head = String::with_capacity(10);
        head.push('t');
        head.push_str(version_code(ch));
        head.push(sni);
        push_two_digits(&mut head, ciphers.len());
        push_two_digits(&mut head, extensions.len());
        head.push(alpn_first);
        head.push(alpn_last);

        ciphers.sort_unstable();
        let mut sorted_exts: Vec<u16> = extensions
            .into_iter()
            .filter(|e| *e != EXT_SERVER_NAME && *e != EXT_ALPN)
            .collect();
        sorted_exts.sort_unstable();
        let mut extensions_and_sigalgs = hex_list(&sorted_exts);
        let sigalgs: Vec<u16> = ch
            .signature_algorithms
            .iter()
            .copied()
            .filter(not_grease)
            .collect();
        // The spec: without signature algorithms the string ends without an underscore.
        if !sigalgs.is_empty() {
            extensions_and_sigalgs.push('_');
            extensions_and_sigalgs.push_str(&hex_list(&sigalgs));
        }
        Ja4Parts {
            head,
            ciphers: hex_list(&ciphers),
            extensions_and_sigalgs,
        }
    }
}

/// JA4's two-character version: the highest non-GREASE supported_versions entry (by number,
/// as the spec says "highest value"), else legacy_version. The record-layer version is never
/// looked at. Anything without a code (TLS 1.3 drafts included) is `00`.
fn version_code(ch: &ClientHelloInfo) -> &'static str {
    // offered_versions is GREASE-free already; empty when the extension is absent (or held
    // only GREASE, where legacy_version is the only version left to go by).
    let version = ch
        .offered_versions
        .iter()
        .map(|v| v.0)
        .max()
        .unwrap_or(ch.legacy_version.0);
    match TlsVersion(version) {
        TlsVersion::TLS13 => "13",
        TlsVersion::TLS12 => "12",
        TlsVersion::TLS11 => "11",
        TlsVersion::TLS10 => "10",
        TlsVersion::SSL3 => "s3",
        TlsVersion::SSL2 => "s2",
        TlsVersion(0xfeff) => "d1",
        TlsVersion(0xfefd) => "d2",
        TlsVersion(0xfefc) => "d3",
        _ => "00",
    }
}

/// JA4's ALPN characters from the first and last byte of the first protocol name: the bytes
/// themselves when both are ASCII letters or digits, else the first and last hex digit of the
/// name (high nibble of the first byte, low nibble of the last); `00` without a name.
fn alpn_chars(ends: Option<(u8, u8)>) -> [char; 2] {
    match ends {
        None => ['0', '0'],
        Some((first, last)) if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() => {
            [char::from(first), char::from(last)]
        }
        Some((first, last)) => [hex_digit(first >> 4), hex_digit(last & 0x0f)],
    }
}

/// Lower-case hex digits by value.
const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_digit(nibble: u8) -> char {
    HEX.get(usize::from(nibble & 0x0f))
        .map_or('0', |d| char::from(*d))
}

/// Appends `v` as two lower-case hex digits.
fn push_hex_byte(s: &mut String, v: u8) {
    s.push(hex_digit(v >> 4));
    s.push(hex_digit(v));
}

/// `0a0b,1301,…`: 4-digit lower-case hex, comma-joined.
fn hex_list(values: &[u16]) -> String {
    let mut s = String::with_capacity(values.len() * 5);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let [hi, lo] = v.to_be_bytes();
        push_hex_byte(&mut s, hi);
        push_hex_byte(&mut s, lo);
    }
    s
}

/// Appends `n` (capped at 99) as two decimal digits: JA4's counts.
fn push_two_digits(s: &mut String, n: usize) {
    let n = n.min(99) as u8;
    s.push(char::from(b'0' + n / 10));
    s.push(char::from(b'0' + n % 10));
}

/// Appends `v` in decimal, without `fmt` (this runs once per connection).
fn push_decimal(s: &mut String, v: u16) {
    let mut digits = [0u8; 5];
    let mut n = v;
    let mut start = digits.len();
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
        start -= 1;
        if n == 0 {
            break;
        }
    }
    for d in digits.iter().skip(start) {
        s.push(char::from(*d));
    }
}

/// Appends `a-b-c` in decimal.
fn dash_joined(s: &mut String, values: impl Iterator<Item = u16>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            s.push('-');
        }
        push_decimal(s, v);
    }
}

fn not_grease(v: &u16) -> bool {
    !TlsVersion(*v).is_grease()
}

/// First 12 hex digits of SHA-256, or [`EMPTY_HASH`] for an empty list.
fn hash12(list: &str) -> String {
    if list.is_empty() {
        return EMPTY_HASH.to_owned();
    }
    let digest = Sha256::digest(list.as_bytes());
    lower_hex(digest.get(..6).unwrap_or_default())
}

fn md5_hex(s: &str) -> String {
    lower_hex(&Md5::digest(s.as_bytes()))
}

fn lower_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        push_hex_byte(&mut s, *b);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    // The functions of a whole hello, unwrapped (a truncated one is tested on its own).
    fn ja4(ch: &ClientHelloInfo) -> String {
        super::ja4(ch).unwrap()
    }
    fn ja4_r(ch: &ClientHelloInfo) -> String {
        super::ja4_r(ch).unwrap()
    }
    fn ja3(ch: &ClientHelloInfo) -> (String, String) {
        super::ja3(ch).unwrap()
    }
    fn ja3s(sh: &ServerHelloInfo) -> (String, String) {
        super::ja3s(sh).unwrap()
    }

    #[test]
    fn number_formatting_equals_fmt() {
        for v in [0u16, 1, 9, 10, 99, 100, 771, 4865, 9999, 10000, 65535] {
            let mut s = String::new();
            push_decimal(&mut s, v);
            assert_eq!(s, v.to_string());
            assert_eq!(hex_list(&[v]), format!("{v:04x}"));
        }
        for n in [0, 5, 10, 99, 100, 1000] {
            let mut s = String::new();
            push_two_digits(&mut s, n);
            assert_eq!(s, format!("{:02}", n.min(99)));
        }
        assert_eq!(lower_hex(&[0, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
    use crate::tls::hello::{parse_client_hello, parse_server_hello};
    use crate::tls::sslv2;

    // Real hellos: whole handshake messages (4-byte header included, record header removed)
    // from `tshark -r FILE -Y frame.number==N -T fields -e tcp.payload`. Some come from this
    // repository's fixtures, some from FoxIO-LLC/ja4 `pcap/` at 0e54bc83 (copied unchanged in
    // ../shared/corpus/pcaps/ja4/), whose JA4 values FoxIO's own tool states in its snapshots.
    // Expected JA3/JA3S values are what tshark 4.0.17 says (`tls.handshake.ja3`, `ja3s`); this
    // tshark has no JA4 field.

    /// Chrome, FoxIO tls-handshake.pcapng frame 1 (stream 0, clientservices.googleapis.com):
    /// GREASE in cipher suites, extensions, groups and supported_versions. FoxIO's
    /// tls-non-ascii-alpn.pcapng is this very hello with the first ALPN name `h2` made 0xba 0xad.
    const CHROME_CH: &str = "\
        010001fc03030f9e38acb9a54a7c6e00e29a70ac2feee180ff76d7f25dca84932a66a42d1e5a20bc58b92f86\
        5e6b9aa4a6371cadcb0afe1da1c0f705209a11d52357f56d5dd9620020aaaa130113021303c02bc02fc02cc0\
        30cca9cca8c013c014009c009d002f0035010001939a9a0000ff010001000033002b00290a0a000100001d00\
        20cf55af2603e92f59eb321779706a18fa6b96b16c16404c2264ed687a59401878002d000201010005000501\
        00000000446900050003026832000d00120010040308040401050308050501080606010010000e000c026832\
        08687474702f312e3100230000001b0003020002002b0007060a0a0304030300000022002000001d636c6965\
        6e7473657276696365732e676f6f676c65617069732e636f6d00120000000a000a00080a0a001d0017001800\
        170000000b000201006a6a000100001500ba0000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        00000000000000000000000000000000000000000000000000000000";

    /// Firefox, FoxIO tls12.pcap frame 1 (contile.services.mozilla.com): delegated_credentials,
    /// record_size_limit, 17 cipher suites.
    const FIREFOX_CH: &str = "\
        010001fc0303ecb2691addb2bf6c599c7aaae23de5f42561cc04eb41029acc6fc050a16ac1d22046f8617b58\
        0ac9358e2aa44e306d52466bcc989c87c8ca64309f5faf50ba7b4d0022130113031302c02bc02fcca9cca8c0\
        2cc030c00ac009c013c014009c009d002f00350100019100000021001f00001c636f6e74696c652e73657276\
        696365732e6d6f7a696c6c612e636f6d00170000ff01000100000a000e000c001d0017001800190100010100\
        0b00020100002300000010000e000c02683208687474702f312e310005000501000000000022000a00080403\
        0503060302030033006b0069001d00208909858fbeb6ed2f1248ba5b9e2978bead0e840110192c61daed0096\
        798b184400170041044d183d91f5eed35791fa982464e3b0214aaa5f5d1b78616d9b9fbebc22d11f535b2f94\
        c686143136aa795e6e5a875d6c08064ad5b76d44caad766e2483012748002b00050403040303000d00180016\
        04030503060308040805080604010501060102030201002d00020101001c000240010015007a000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        00000000000000000000000000000000000000000000000000000000";

    /// FoxIO https-connect.pcap frame 8, after an HTTP CONNECT: 86 cipher suites, no SNI, no ALPN.
    const HTTPS_CONNECT_CH: &str = "\
        010001180303a3073873f429ef8ad6c13fa035798a93be55208aec5ffe09c5736f4f32c15e4b0000acc030c0\
        2cc028c024c014c00a00a500a300a1009f006b006a0069006800390038003700360088008700860085c032c0\
        2ec02ac026c00fc005009d003d00350084c02fc02bc027c023c013c00900a400a200a0009e00670040003f00\
        3e0033003200310030009a0099009800970045004400430042c031c02dc029c025c00ec004009c003c002f00\
        960041c012c008001600130010000dc00dc003000a0007c011c007c00cc0020005000400ff01000043000b00\
        0403000102000a000a0008001700190018001600230000000d0020001e060106020603050105020503040104\
        020403030103020303020102020203000f000101";

    /// FoxIO https3-301-get.pcap frame 4: TLS 1.0, 23 cipher suites, SNI the only extension.
    const HTTPS3_301_CH: &str = "\
        0100006e030152937a55b696cc98ae7b08ec10e765c98aefa82db3081771f8627617b967980800002e003900\
        38003500160013000a00330032002f009a00990096000500040015001200090014001100080006000300ff01\
        00001700000013001100000e7777772e6769746875622e636f6d";

    /// fixtures/tls10-exchange.pcap frame 4: OpenSSL `-tls1`, no signature_algorithms.
    const TLS10_CH: &str = "\
        0100007d0301eedac27315b78bfa7c93cbdb66112fc7eef43e1977c6d5f31bccfe763281f7f0000012c00ac0\
        140039c009c01300330035002f00ff010000420000001a00180000156f75746c6f6f6b2e6f66666963653336\
        352e636f6d000b000403000102000a000c000a001d0017001e00190018002300000016000000170000";

    /// fixtures/tls10-exchange.pcap frame 6: the ServerHello of that exchange.
    const TLS10_SH: &str = "\
        0200004103014c857ce2d14360374a7c6f8aec45cc783982359f2b04d17a444f574e4752440000c00a000019\
        ff01000100000b000403000102002300000016000000170000";

    /// fixtures/tls13-teams.pcap frame 4: OpenSSL, TLS 1.3 by supported_versions.
    const TLS13_CH: &str = "\
        010000f403035c02864045a28ffd2a9c7a18b0289b712bd19ce0ae8cd3bf989f27845dd47d682017b2610c92\
        30b19ef50436c1394ff5f9fafd22a514356fa826b7f75996c41ff4000813021303130100ff010000a3000000\
        1800160000137465616d732e6d6963726f736f66742e636f6d000b000403000102000a00160014001d001700\
        1e0019001801000101010201030104002300000016000000170000000d001e001c0403050306030807080808\
        09080a080b080408050806040105010601002b0003020304002d00020101003300260024001d0020fe02aa9e\
        7e88924177862d6355f12bd4e10b3997bf3ee06087bac67fe32d062a";

    /// fixtures/tls13-teams.pcap frame 6: its ServerHello (legacy_version 0x0303).
    const TLS13_SH: &str = "\
        020000760303b0add37eca606086618ae50ddcf6a95d83efa26af51abf5010fb70a3d3bbcf2f2017b2610c92\
        30b19ef50436c1394ff5f9fafd22a514356fa826b7f75996c41ff4130200002e002b0002030400330024001d\
        002026569b834f41097797e3909825224e1933d7c2810d034e1ffbb6c032fb62f612";

    /// fixtures/tls12-gnutls.pcap frame 4: GnuTLS, TLS 1.2 only.
    const GNUTLS_CH: &str = "\
        010000df0303e223ff17e93b7508bbebcf739ba13182f01651376a45e0a414cc166682cac27a000032c02ccc\
        a9c0adc00ac02bc0acc009c030cca8c014c02fc013009dc09d0035009cc09c002f009fccaac09f0039009ec0\
        9e003301000084000500050100000000000a00160014001700180019001d001e01000101010201030104000b\
        00020100000d00220020040108090804040308070501080a0805050308080601080b08060603020102030016\
        00000017000000230000ff010001000000001a00180000156f75746c6f6f6b2e6f66666963653336352e636f\
        6d001c00024000";

    /// fixtures/tls12-gnutls.pcap frame 6: its ServerHello.
    const GNUTLS_SH: &str = "\
        0200003d0303c2e347afac4717c3c74ff9361b89b6326a86169e9cbab29f444f574e4752440100c02c000015\
        ff01000100000b0004030001020023000000170000";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn client(hex: &str) -> ClientHelloInfo {
        parse_client_hello(&unhex(hex)).unwrap()
    }

    fn server(hex: &str) -> ServerHelloInfo {
        parse_server_hello(&unhex(hex)).unwrap().0
    }

    /// A ClientHello with these lists, as a parser would fill it.
    fn hello(ciphers: &[u16], extensions: &[u16], sigalgs: &[u16]) -> ClientHelloInfo {
        let mut ch = ClientHelloInfo::empty(TlsVersion::TLS12);
        ch.cipher_suites = ciphers.to_vec();
        ch.extensions = extensions.to_vec();
        ch.signature_algorithms = sigalgs.to_vec();
        ch
    }

    /// The example of the JA4 specification (technical_details/JA4.md, "Example" and
    /// "Raw Output"): its cipher suites, extensions and signature algorithms in wire order.
    fn spec_example() -> ClientHelloInfo {
        let mut ch = hello(
            &[
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            &[
                0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
                0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
            ],
            &[
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
        );
        ch.offered_versions = vec![TlsVersion::TLS13, TlsVersion::TLS12];
        ch.alpn = vec![b"h2".to_vec()];
        ch.alpn_first_ends = Some((b'h', b'2'));
        ch
    }

    #[test]
    fn specification_example() {
        let ch = spec_example();
        assert_eq!(ja4(&ch), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            ja4_r(&ch),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,\
             cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,\
             0804,0401,0503,0805,0501,0806,0601"
        );
    }

    #[test]
    fn specification_example_without_signature_algorithms_has_no_underscore() {
        let mut ch = spec_example();
        ch.signature_algorithms.clear();
        // The spec: "0005,000a,…,4469,ff01 = 6d807ffa2a79".
        assert_eq!(ja4(&ch), "t13d1516h2_8daaf6152771_6d807ffa2a79");
        assert!(ja4_r(&ch)
            .ends_with("_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"));
    }

    #[test]
    fn grease_is_ignored_everywhere() {
        let plain = spec_example();
        let mut greased = spec_example();
        greased.cipher_suites.insert(0, 0x0a0a);
        greased.extensions.insert(0, 0x2a2a);
        greased.extensions.push(0xfafa);
        greased.signature_algorithms.insert(3, 0x5a5a);
        greased.supported_groups = vec![0x3a3a, 0x001d];
        assert_eq!(ja4(&greased), ja4(&plain));
        assert_eq!(ja4_r(&greased), ja4_r(&plain));
        assert!(ja3(&greased).0.ends_with(",29,"));
    }

    #[test]
    fn grease_in_signature_algorithms_is_ignored_as_foxio_publishes() {
        // FoxIO's pcap/sigalg-grease.pcapng (Chromium with GREASE among its signature
        // algorithms), as FoxIO's Python tool states it (python/test/testdata): the lists of
        // its JA4_ro in wire order, with GREASE put back where Chromium sends it.
        let mut ch = hello(
            &[
                0x4a4a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            &[
                0x8a8a, 0xfe0d, 0x0010, 0x0017, 0x0033, 0x44cd, 0xff01, 0x000a, 0x000d, 0x0023,
                0x002b, 0x000b, 0xca34, 0x002d, 0x0000, 0x0005, 0x001b, 0x0012, 0x3a3a,
            ],
            &[
                0x6a6a, 0x0904, 0x0905, 0x0906, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501,
                0x0806, 0x0601,
            ],
        );
        ch.offered_versions = vec![TlsVersion::TLS13, TlsVersion::TLS12];
        ch.alpn_first_ends = Some((b'h', b'2'));
        assert_eq!(ja4(&ch), "t13d1517h2_8daaf6152771_cb7bf5808d99");
        assert_eq!(
            ja4_r(&ch),
            "t13d1517h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,\
             cca9_0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,44cd,ca34,fe0d,ff01_\
             0904,0905,0906,0403,0804,0401,0503,0805,0501,0806,0601"
        );
    }

    #[test]
    fn foxio_states_these_for_real_hellos() {
        assert_eq!(
            ja4(&client(CHROME_CH)),
            "t13d1516h2_8daaf6152771_e5627efa2ab1"
        );
        assert_eq!(
            ja4(&client(FIREFOX_CH)),
            "t13d1715h2_5b57614c22b0_3d5424432f57"
        );
        assert_eq!(
            ja4(&client(HTTPS_CONNECT_CH)),
            "t12i860500_e18388e7f3a3_a1e935682795"
        );
        assert_eq!(
            ja4(&client(HTTPS3_301_CH)),
            "t10d230100_6a57a6f57151_000000000000"
        );
    }

    #[test]
    fn non_alphanumeric_alpn_takes_hex_digits() {
        // FoxIO's tls-non-ascii-alpn.pcapng: Chrome's hello with the first ALPN name 0xba 0xad.
        let mut bytes = unhex(CHROME_CH);
        let at = bytes
            .windows(4)
            .position(|w| w == [2, b'h', b'2', 8])
            .unwrap();
        bytes[at + 1..at + 3].copy_from_slice(&[0xba, 0xad]);
        let ch = parse_client_hello(&bytes).unwrap();
        // The current specification: hex "baad" → "bd". (FoxIO's tool, in the snapshot of
        // 0e54bc83, still writes "99" there, from an earlier revision of the spec.)
        assert_eq!(ja4(&ch), "t13d1516bd_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            ja3(&ch).1,
            "1c258ebef8eee2dfa3df6d8d07285af9",
            "JA3 does not read ALPN"
        );
    }

    #[test]
    fn alpn_characters_by_the_specification() {
        let ab = |bytes: &[u8]| -> String {
            let ends = bytes.first().zip(bytes.last()).map(|(f, l)| (*f, *l));
            alpn_chars(ends).iter().collect()
        };
        assert_eq!(ab(b"h2"), "h2");
        assert_eq!(ab(b"http/1.1"), "h1");
        assert_eq!(ab(b"h3"), "h3");
        assert_eq!(ab(b""), "00");
        assert_eq!(ab(b"a"), "aa", "one character is both first and last");
        // The specification's examples of non-alphanumeric bytes.
        assert_eq!(ab(&[0xab]), "ab");
        assert_eq!(ab(&[0xab, 0xcd]), "ad");
        assert_eq!(ab(&[0x30, 0xab]), "3b");
        assert_eq!(ab(&[0x30, 0x31, 0xab, 0xcd]), "3d");
        assert_eq!(ab(&[0x30, 0xab, 0xcd, 0x31]), "01");
        // And those of its later revision (FoxIO-LLC/ja4#277): a space is not alphanumeric.
        assert_eq!(ab(b" "), "20");
        assert_eq!(ab(b"a "), "60");
        assert_eq!(ab(b"_x"), "58");
    }

    #[test]
    fn alpn_from_the_wire_first_name_only_and_empty_first_name() {
        let mut ch = spec_example();
        ch.alpn_first_ends = None;
        assert!(
            ja4(&ch).starts_with("t13d151600_"),
            "no ALPN (or an empty first name)"
        );

        // Through the parser: an empty first name gives 00 even with a second name.
        let mut bytes = unhex(CHROME_CH);
        let at = bytes
            .windows(4)
            .position(|w| w == [2, b'h', b'2', 8])
            .unwrap();
        // ALPN list `00 0c | 02 h 2 | 08 http/1.1` → `00 0c | 00 | 01 x | 08 http/1.1`: an
        // empty name and "x" in place of h2 keep every length right.
        bytes[at..at + 3].copy_from_slice(&[0, 1, b'x']);
        let ch = parse_client_hello(&bytes).unwrap();
        assert_eq!(ch.alpn.first().map(Vec::len), Some(0));
        assert!(ja4(&ch).starts_with("t13d151600_"));
    }

    #[test]
    fn version_from_supported_versions_else_legacy_version() {
        let code = |legacy: u16, offered: &[u16]| {
            let mut ch = ClientHelloInfo::empty(TlsVersion(legacy));
            ch.offered_versions = offered.iter().copied().map(TlsVersion).collect();
            ja4(&ch)[1..3].to_owned()
        };
        assert_eq!(code(0x0303, &[0x0304, 0x0303]), "13");
        assert_eq!(
            code(0x0303, &[0x0302, 0x0301]),
            "11",
            "the extension wins over legacy"
        );
        assert_eq!(code(0x0303, &[]), "12");
        assert_eq!(code(0x0302, &[]), "11");
        assert_eq!(code(0x0301, &[]), "10");
        assert_eq!(code(0x0300, &[]), "s3");
        assert_eq!(
            code(0x0002, &[]),
            "s2",
            "SSL 2.0 is 0x0002 (the spec, since ja4#150)"
        );
        assert_eq!(code(0x0200, &[]), "00", "not 0x0200");
        assert_eq!(code(0x0100, &[]), "00", "no SSL 1.0");
        // "The highest value": a draft number is above 0x0304 and has no code.
        assert_eq!(code(0x0303, &[0x7f17, 0x0303]), "00");
        assert_eq!(code(0x0303, &[0x0304, 0x7f1c]), "00");
        assert_eq!(code(0xfefd, &[]), "d2");
        assert_eq!(code(0x1234, &[]), "00");
    }

    #[test]
    fn sni_is_the_presence_of_the_extension() {
        // FoxIO and the spec: the extension alone, whatever it holds (an IP literal, nothing).
        let mut ch = hello(&[0x1301], &[0x0000], &[]);
        ch.sni = None;
        assert!(ja4(&ch).starts_with("t12d0101"));
        let ch = hello(&[0x1301], &[0x000a], &[]);
        assert!(ja4(&ch).starts_with("t12i0101"));
    }

    #[test]
    fn counts_are_capped_at_99_grease_not_counted() {
        let ciphers: Vec<u16> = (0x0001..=0x0078).chain([0x0a0a, 0xfafa]).collect();
        let extensions: Vec<u16> = (0x0100..0x0105).chain([0x1a1a]).collect();
        let ch = hello(&ciphers, &extensions, &[]);
        assert!(ja4(&ch).starts_with("t12i990500"), "{}", ja4(&ch));
        let extensions: Vec<u16> = (0x0100..=0x01ff).collect();
        let ch = hello(&[0x0a0a, 0x1301], &extensions, &[]);
        assert!(ja4(&ch).starts_with("t12i0199"), "{}", ja4(&ch));
        // Every extension still goes into the hash, sorted; duplicates count twice.
        let ch = hello(&[0x1301], &[0x0017, 0x0005, 0x0017], &[]);
        assert!(ja4_r(&ch).starts_with("t12i010300_1301_0005,0017,0017"));
    }

    #[test]
    fn empty_lists_hash_to_zeros() {
        let ch = hello(&[], &[], &[]);
        assert_eq!(ja4(&ch), "t12i000000_000000000000_000000000000");
        assert_eq!(ja4_r(&ch), "t12i000000__");
        // SNI and ALPN only: the extension list for the hash is empty.
        let mut ch = hello(&[0x1301], &[0x0000, 0x0010], &[]);
        ch.alpn_first_ends = Some((b'h', b'2'));
        assert_eq!(ja4(&ch), "t12d0102h2_0f2cb44170f4_000000000000");
    }

    #[test]
    fn openssl_and_gnutls_fixtures() {
        // Raw strings checked against tshark's dissection of the same frames; the hashes are
        // SHA-256 as computed by Python's hashlib.
        let ch = client(TLS10_CH);
        assert_eq!(
            ja4_r(&ch),
            "t10d090600_002f,0033,0035,0039,00ff,c009,c00a,c013,c014_000a,000b,0016,0017,0023"
        );
        assert_eq!(ja4(&ch), "t10d090600_c491f621fb4c_195413a0cc0f");
        let ch = client(TLS13_CH);
        assert_eq!(
            ja4_r(&ch),
            "t13d041000_00ff,1301,1302,1303_000a,000b,000d,0016,0017,0023,002b,002d,0033_0403,\
             0503,0603,0807,0808,0809,080a,080b,0804,0805,0806,0401,0501,0601"
        );
        assert_eq!(ja4(&ch), "t13d041000_16476d049b0b_78f1d400d464");
        assert_eq!(
            ja4(&client(GNUTLS_CH)),
            "t12d251000_7415a186c913_577ffa9d9a5c"
        );
    }

    #[test]
    fn ja3_equals_tshark() {
        let (s, md5) = ja3(&client(TLS10_CH));
        assert_eq!(
            s,
            "769,49162-49172-57-49161-49171-51-53-47-255,0-11-10-35-22-23,29-23-30-25-24,0-1-2"
        );
        assert_eq!(md5, "c6dbf3152a545382a95425e390e2d2e8");
        assert_eq!(ja3(&client(TLS13_CH)).1, "f146948b4a599d4d7ddf071b74696983");
        assert_eq!(
            ja3(&client(GNUTLS_CH)).1,
            "a35a8948ef1262d99ac83ac1a61a40fd"
        );
        let (s, md5) = ja3(&client(CHROME_CH));
        assert_eq!(
            s,
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
             65281-51-45-5-17513-13-16-35-27-43-0-18-10-23-11-21,29-23-24,0"
        );
        assert_eq!(md5, "1c258ebef8eee2dfa3df6d8d07285af9");
        assert_eq!(
            ja3(&client(FIREFOX_CH)).1,
            "579ccef312d18482fc42e2b822ca2430"
        );
        assert_eq!(
            ja3(&client(HTTPS_CONNECT_CH)).1,
            "b288289af2999820648eb3ca4d8304c5"
        );
        let (s, md5) = ja3(&client(HTTPS3_301_CH));
        assert_eq!(
            s,
            "769,57-56-53-22-19-10-51-50-47-154-153-150-5-4-21-18-9-20-17-8-6-3-255,0,,"
        );
        assert_eq!(md5, "06a92bf69b367389d2feb0d70501ddfe");
    }

    #[test]
    fn ja3_examples_of_its_definition() {
        // Salesforce's README: a full string, and one with no extensions (empty fields).
        let mut ch = ClientHelloInfo::empty(TlsVersion::TLS10);
        ch.cipher_suites = vec![47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4];
        ch.extensions = vec![0, 10, 11];
        ch.supported_groups = vec![23, 24, 25];
        ch.ec_point_formats = vec![0];
        assert_eq!(
            ja3(&ch),
            (
                "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0".to_owned(),
                "ada70206e40642a3e4461f35503241d5".to_owned()
            )
        );
        let mut ch = ClientHelloInfo::empty(TlsVersion::TLS10);
        ch.cipher_suites = vec![4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99];
        // Wireshark 4.0 writes "769,4-5-…-99," here (no empty fields); the definition wins.
        assert_eq!(
            ja3(&ch),
            (
                "769,4-5-10-9-100-98-3-6-19-18-99,,,".to_owned(),
                "de350869b8c85de67a350c8d186f11e6".to_owned()
            )
        );
    }

    #[test]
    fn ja3s_equals_tshark() {
        let tls10 = ja3s(&server(TLS10_SH));
        assert_eq!(tls10.0, "769,49162,65281-11-35-22-23");
        assert_eq!(tls10.1, "ef11b7c1bd520da6824fcd0cf876de79");
        let tls13 = ja3s(&server(TLS13_SH));
        assert_eq!(tls13.0, "771,4866,43-51", "TLS 1.3: legacy_version 771");
        assert_eq!(tls13.1, "15af977ce25de452b96affa2addb1036");
        let gnutls = ja3s(&server(GNUTLS_SH));
        assert_eq!(gnutls.0, "771,49196,65281-11-35-23");
        assert_eq!(gnutls.1, "abade5a4a7f42baf54766e5d108283b6");
    }

    /// An SSLv3 ServerHello with renegotiation_info, as Java servers send (hand-built; the
    /// capture around it made by a script, tshark 4 gives `768,49172,65281`,
    /// `dab7cd42fa00556f42b4d3d65011de36` for `tls.handshake.ja3s_full` / `ja3s`).
    const SSL3_SH_RENEGOTIATION_INFO: &str = "\
        0200004d03002222222222222222222222222222222222222222222222222222222222222222203333333333\
        333333333333333333333333333333333333333333333333333333c014000005ff01000100";

    #[test]
    fn ja3s_of_sslv3_server_hello_keeps_its_extensions_as_tshark() {
        let (sh, _) = parse_server_hello(&unhex(SSL3_SH_RENEGOTIATION_INFO)).unwrap();
        let (s, md5) = ja3s(&sh);
        assert_eq!(s, "768,49172,65281");
        assert_eq!(md5, "dab7cd42fa00556f42b4d3d65011de36");
    }

    #[test]
    fn truncated_hellos_have_no_fingerprints() {
        let mut ch = client(TLS13_CH);
        let mut sh = server(TLS13_SH);
        let mut fp = Fingerprinter::new();
        assert!(fp.client(&ch).is_some() && fp.server(&sh).is_some());
        ch.truncated = true;
        sh.truncated = true;
        assert_eq!(super::ja4(&ch), None);
        assert_eq!(super::ja4_r(&ch), None);
        assert_eq!(super::ja3(&ch), None);
        assert_eq!(super::ja3s(&sh), None);
        // Not even from the memory of the same shape seen whole.
        assert_eq!(fp.client(&ch), None);
        assert_eq!(fp.server(&sh), None);
    }

    #[test]
    fn sslv2_framed_hello() {
        // RFC 5246 E.2 CLIENT-HELLO offering TLS 1.0: specs SSL_CK_RC4_128_WITH_MD5 (SSLv2
        // only, no TLS number), TLS_DHE_RSA_WITH_AES_256_CBC_SHA, TLS_RSA_WITH_AES_128_CBC_SHA.
        let mut record = vec![0x80, 9 + 9 + 16, 1, 0x03, 0x01, 0, 9, 0, 0, 0, 16];
        record.extend_from_slice(&[0x01, 0x00, 0x80, 0x00, 0x00, 0x39, 0x00, 0x00, 0x2f]);
        record.extend_from_slice(&[0x5a; 16]);
        let ch = sslv2::parse_client_hello(&record).unwrap();
        assert_eq!(
            ja4(&ch),
            format!("t10i020000_{}_000000000000", hash12("002f,0039"))
        );
        assert_eq!(ja3(&ch).0, "769,57-47,,,");
        // An SSL 2.0 client proper: version 0x0002.
        record[3..5].copy_from_slice(&[0x00, 0x02]);
        assert!(ja4(&sslv2::parse_client_hello(&record).unwrap()).starts_with("ts2i0200"));
    }

    #[test]
    fn hash12_is_lower_hex_sha256_prefix() {
        // The spec: 002f,0035,…,cca9 = 8daaf6152771.
        assert_eq!(
            hash12("002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"),
            "8daaf6152771"
        );
        assert_eq!(hash12(""), EMPTY_HASH);
    }
    #[test]
    fn fingerprinter_remembers_shapes_and_answers_as_the_functions() {
        let mut fp = Fingerprinter::new();
        let hellos: Vec<ClientHelloInfo> = [
            CHROME_CH,
            FIREFOX_CH,
            HTTPS_CONNECT_CH,
            HTTPS3_301_CH,
            TLS10_CH,
            TLS13_CH,
            GNUTLS_CH,
        ]
        .iter()
        .map(|h| client(h))
        .collect();
        for round in 0..3 {
            for ch in &hellos {
                let got = fp.client(ch).unwrap();
                assert_eq!(got.ja4, ja4(ch), "round {round}");
                assert_eq!(got.ja3, ja3(ch).1, "round {round}");
            }
        }
        assert_eq!(fp.clients.len(), hellos.len());
        for sh in [server(TLS10_SH), server(TLS13_SH), server(GNUTLS_SH)] {
            assert_eq!(fp.server(&sh).unwrap(), ja3s(&sh).1);
            assert_eq!(fp.server(&sh).unwrap(), ja3s(&sh).1);
        }
        assert_eq!(fp.servers.len(), 3);

        // Another SNI, session id and ALPN list past the first name: the same shape.
        let mut same = client(TLS13_CH);
        same.sni = Some(b"other.example".to_vec());
        same.session_id = vec![7; 32];
        assert_eq!(fp.client(&same).unwrap().ja4, ja4(&client(TLS13_CH)));
        assert_eq!(fp.clients.len(), hellos.len());
        // One field changed anywhere: another shape, its own fingerprints.
        let mut other = client(TLS13_CH);
        other.cipher_suites.swap(0, 1);
        let got = fp.client(&other).unwrap();
        assert_eq!(got.ja3, ja3(&other).1);
        assert_ne!(got.ja3, ja3(&client(TLS13_CH)).1);
        let mut other = client(TLS13_CH);
        other.alpn_first_ends = Some((b'h', b'2'));
        assert_eq!(fp.client(&other).unwrap().ja4, ja4(&other));
        assert_ne!(ja4(&other), ja4(&client(TLS13_CH)));
    }

    #[test]
    fn fingerprinter_memory_is_bounded() {
        let mut fp = Fingerprinter::new();
        for i in 0..(MEMO_ENTRIES as u16 + 100) {
            let ch = hello(&[0x1301, i], &[0x000a], &[]);
            assert_eq!(fp.client(&ch).unwrap().ja4, ja4(&ch));
            assert!(fp.clients.len() <= MEMO_ENTRIES);
        }
    }
}
