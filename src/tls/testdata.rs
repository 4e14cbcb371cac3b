//! Test-only bytes and builders shared by the unit tests of the `tls` modules.
//!
//! The hex constants are real hellos recorded on loopback with OpenSSL 3.0.19 (no other
//! address involved), one run per scenario, each with a fresh self-signed P-256 certificate:
//!
//! ```sh
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
//!     -keyout key.pem -out cert.pem -days 30 -subj /CN=test.local
//! tcpdump -i lo -U -w RUN.pcap "tcp port PORT" &
//! openssl s_server -accept 127.0.0.1:PORT -cert cert.pem -key key.pem \
//!     -naccept 1 -quiet SERVER_ARGS &
//! echo Q | openssl s_client -connect 127.0.0.1:PORT CLIENT_ARGS
//! tshark -r RUN.pcap -Y 'tcp.len>0' -T fields -e tcp.srcport -e tcp.payload
//! ```
//!
//! - tls13: SERVER_ARGS empty;
//!   CLIENT_ARGS `-servername outlook.office365.com -alpn h2,http/1.1`
//! - tls10: SERVER_ARGS `-cipher DEFAULT:@SECLEVEL=0 -tls1`;
//!   CLIENT_ARGS `-tls1 -cipher DEFAULT:@SECLEVEL=0 -servername smtp.office365.com`
//! - hrr: SERVER_ARGS `-groups P-256`;
//!   CLIENT_ARGS `-groups X25519:P-256 -servername outlook.office.com`
//!
//! Each constant is the TCP payload of one segment (or its first bytes, where said).

use super::HandshakeEvent;
use super::{DirectionParser, Feed};

/// TLS 1.3 run, client → server, whole first segment: one record holding the ClientHello
/// (SNI outlook.office365.com, ALPN h2 + http/1.1, supported_versions 1.3..1.0).
pub const TLS13_CLIENT_HELLO: &str = "\
    1603010154010001500303e53e126738e477955ae813c674fd765a3797074e032c1711d8c55f4564af460420\
    ca7f329e9ba79cfbebd1d81ce20bed0b6add08aa2be4fda23490775da1a5640a003e130213031301c02cc030\
    009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d\
    003c0035002f00ff010000c90000001a00180000156f75746c6f6f6b2e6f66666963653336352e636f6d000b\
    000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c0268\
    3208687474702f312e310016000000170000000d002a0028040305030603080708080809080a080b08040805\
    0806040105010601030303010302040205020602002b0009080304030303020301002d000201010033002600\
    24001d00208574782391633f036c0c0c92e223321237ced424adab0c00ba0bd58492c5a540";

/// TLS 1.3 run, server → client, first 149 bytes: ServerHello record (TLS_AES_256_GCM_SHA384,
/// selected 0x0304), dummy ChangeCipherSpec record, then the start of the first encrypted
/// record (outer type application_data).
pub const TLS13_SERVER_FLIGHT_START: &str = "\
    160303007a02000076030355b58fbeebcb6aa17c0d61e63b49d8c7942810edf251de3bca403555f29bbc5220\
    ca7f329e9ba79cfbebd1d81ce20bed0b6add08aa2be4fda23490775da1a5640a130200002e002b0002030400\
    330024001d0020d0a2be0ba7132165eb904a043c79ffcef1a8309cf9864ff621296a298787771d1403030001\
    011703030017ffe6e2d675dc49e7b4be72";

/// TLS 1.0 run (`-tls1`), client → server: one record holding a ClientHello with
/// legacy_version 0x0301 and no supported_versions (SNI smtp.office365.com).
pub const TLS10_CLIENT_HELLO: &str = "\
    160301007e0100007a0301389cbbfa82564b818e2bba66847df35be991ebfe604c67d66126b264109ded9300\
    0012c00ac0140039c009c01300330035002f00ff0100003f000000170015000012736d74702e6f6666696365\
    3336352e636f6d000b000403000102000a000c000a001d0017001e00190018002300000016000000170000";

/// TLS 1.0 run, server → client, first 90 bytes: ServerHello record (0x0301,
/// ECDHE-ECDSA-AES256-SHA 0xc00a), then the start of the Certificate record.
pub const TLS10_SERVER_HELLO: &str = "\
    16030100450200004103012d1fbaad008f36463d0784ea0b78d919c78b6302227e40cbf70abeaec39ab31800\
    c00a000019ff01000100000b000403000102002300000016000000170000160301018c0b0001880001850001\
    8230";

/// HelloRetryRequest run (server `-groups P-256`, client `-groups X25519:P-256`), server →
/// client, whole first segment: HelloRetryRequest record, dummy ChangeCipherSpec record.
pub const HRR_SERVER_FLIGHT: &str = "\
    1603030058020000540303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c20\
    8e38f9f39c5b88fa72f3023b4a082e93aab9a7e7051e40797dd4fcebd3cc30b5130200000c002b0002030400\
    3300020017140303000101";

/// HelloRetryRequest run, client → server, whole second segment: dummy ChangeCipherSpec record,
/// then the second ClientHello in plaintext (RFC 8446 Appendix D.4).
pub const HRR_CLIENT_SECOND_FLIGHT: &str = "\
    14030300010116030301500100014c0303641216e0ec554641a020fe477b7d4d51db9b4988da24024563444f\
    05f970d7a8208e38f9f39c5b88fa72f3023b4a082e93aab9a7e7051e40797dd4fcebd3cc30b5003e13021303\
    1301c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033\
    009d009c003d003c0035002f00ff010000c50000001700150000126f75746c6f6f6b2e6f66666963652e636f\
    6d000b000403000102000a00060004001d0017002300000016000000170000000d002a002804030503060308\
    0708080809080a080b080408050806040105010601030303010302040205020602002b000908030403030302\
    0301002d0002010100330047004500170041046030f255fc20dcd7c4db7af8b4160e3b615d33ad2cbc8861fe\
    17663f80cda17473c12b439ffb677dc8bffb33ed6e1b40ead073bc98515147e329eca069368a10";

/// HelloRetryRequest run, server → client, first 176 bytes of the second flight: the real
/// ServerHello record (after the CCS of the first flight), then the start of an encrypted record.
pub const HRR_SERVER_SECOND_FLIGHT_START: &str = "\
    160303009b020000970303c2463ff8e51dc9d5d3d3c8de6c2780f910510de052491f99aacc6edc9c63c18120\
    8e38f9f39c5b88fa72f3023b4a082e93aab9a7e7051e40797dd4fcebd3cc30b5130200004f002b0002030400\
    3300450017004104d55f510fbca1b1d4f4c534aef8b74f5e2db60d22d908145a5444a0f3e2dc0589e4311edd\
    1661e9460267b22390cc66acf44d9410a0d5e0fd015702471480aaa01703030017f7839ff96c2d05305d35ad";

/// Bytes from hex; whitespace is ignored. Panics on bad hex (test data only).
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd hex length");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// The handshake message (4-byte header included) inside a one-record, one-message segment.
pub fn first_message(segment: &[u8]) -> Vec<u8> {
    let len = u32::from_be_bytes([0, segment[6], segment[7], segment[8]]) as usize;
    segment[5..9 + len].to_vec()
}

/// A TLS record: type, version 0x0303 unless given, body.
pub fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
    record_v(content_type, 0x0303, body)
}

pub fn record_v(content_type: u8, version: u16, body: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// A handshake message: type, 3-byte length, body.
pub fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// A `u16`-length-prefixed vector.
pub fn vec16(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// A `u8`-length-prefixed vector.
pub fn vec8(body: &[u8]) -> Vec<u8> {
    let mut v = vec![body.len() as u8];
    v.extend_from_slice(body);
    v
}

pub fn be16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// One extension: type, length, body.
pub fn ext(ty: u16, body: &[u8]) -> Vec<u8> {
    let mut e = ty.to_be_bytes().to_vec();
    e.extend_from_slice(&vec16(body));
    e
}

pub fn ext_sni(name: &[u8]) -> Vec<u8> {
    let mut entry = vec![0];
    entry.extend_from_slice(&vec16(name));
    ext(0, &vec16(&entry))
}

pub fn ext_alpn(names: &[&[u8]]) -> Vec<u8> {
    let list: Vec<u8> = names.iter().flat_map(|n| vec8(n)).collect();
    ext(16, &vec16(&list))
}

pub fn ext_client_versions(versions: &[u16]) -> Vec<u8> {
    ext(43, &vec8(&be16s(versions)))
}

/// ClientHello body (no handshake header): version, 32-byte random, session id, suites, null
/// compression, then the extensions block if `exts` is `Some` (already concatenated entries).
pub fn client_hello_body(version: u16, sid: &[u8], suites: &[u16], exts: Option<&[u8]>) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend_from_slice(&[0x11; 32]);
    b.extend_from_slice(&vec8(sid));
    b.extend_from_slice(&vec16(&be16s(suites)));
    b.extend_from_slice(&[1, 0]);
    if let Some(exts) = exts {
        b.extend_from_slice(&vec16(exts));
    }
    b
}

/// A whole ClientHello message (header included).
pub fn client_hello(version: u16, suites: &[u16], exts: &[Vec<u8>]) -> Vec<u8> {
    handshake(
        1,
        &client_hello_body(version, &[], suites, Some(&exts.concat())),
    )
}

/// ServerHello body (no handshake header).
pub fn server_hello_body(
    version: u16,
    random: &[u8; 32],
    sid: &[u8],
    suite: u16,
    exts: Option<&[u8]>,
) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend_from_slice(random);
    b.extend_from_slice(&vec8(sid));
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0);
    if let Some(exts) = exts {
        b.extend_from_slice(&vec16(exts));
    }
    b
}

/// Splits a ClientHello message into (everything before the extensions block, extensions).
pub fn split_client_hello(msg: &[u8]) -> (Vec<u8>, Vec<(u16, Vec<u8>)>) {
    let sid_len = msg[4 + 34] as usize;
    let mut at = 4 + 35 + sid_len;
    let suites_len = u16::from_be_bytes([msg[at], msg[at + 1]]) as usize;
    at += 2 + suites_len;
    at += 1 + msg[at] as usize;
    let fixed = msg[4..at].to_vec();
    let mut exts = Vec::new();
    let mut p = at + 2;
    while p + 4 <= msg.len() {
        let ty = u16::from_be_bytes([msg[p], msg[p + 1]]);
        let len = u16::from_be_bytes([msg[p + 2], msg[p + 3]]) as usize;
        exts.push((ty, msg[p + 4..p + 4 + len].to_vec()));
        p += 4 + len;
    }
    (fixed, exts)
}

/// Reassembles a ClientHello message from `split_client_hello` parts.
pub fn join_client_hello(fixed: &[u8], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let block: Vec<u8> = exts.iter().flat_map(|(ty, body)| ext(*ty, body)).collect();
    let mut body = fixed.to_vec();
    body.extend_from_slice(&vec16(&block));
    handshake(1, &body)
}

/// Feeds each chunk in turn; returns the events and the last `Feed`.
pub fn feed_chunks<'a>(
    p: &mut DirectionParser,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<HandshakeEvent>, Feed) {
    let mut out = Vec::new();
    let mut last = Feed::Continue;
    for chunk in chunks {
        last = p.feed(chunk, &mut out);
    }
    (out, last)
}

/// A fresh parser fed `bytes` in one call.
pub fn parse_all(bytes: &[u8]) -> (Vec<HandshakeEvent>, Feed) {
    feed_chunks(&mut DirectionParser::new(), [bytes])
}

/// A fresh parser fed `bytes` one byte per call.
pub fn parse_bytewise(bytes: &[u8]) -> (Vec<HandshakeEvent>, Feed) {
    feed_chunks(&mut DirectionParser::new(), bytes.chunks(1))
}

/// An SSLv2 CLIENT-HELLO record (2-byte header) with these cipher specs, a 16-byte challenge
/// and no session id (RFC 5246 Appendix E.2 layout).
pub fn sslv2_client_hello(version: u16, specs: &[[u8; 3]]) -> Vec<u8> {
    let specs: Vec<u8> = specs.concat();
    let mut msg = vec![1];
    msg.extend_from_slice(&version.to_be_bytes());
    msg.extend_from_slice(&(specs.len() as u16).to_be_bytes());
    msg.extend_from_slice(&0u16.to_be_bytes());
    msg.extend_from_slice(&16u16.to_be_bytes());
    msg.extend_from_slice(&specs);
    msg.extend_from_slice(&[0x5c; 16]);
    sslv2_record(&msg)
}

/// An SSLv2 SERVER-HELLO record: a 20-byte stand-in certificate, two SSLv2 cipher specs, a
/// 16-byte connection id.
pub fn sslv2_server_hello(version: u16) -> Vec<u8> {
    let cert = [0x30; 20];
    let specs = [0x01, 0x00, 0x80, 0x07, 0x00, 0xc0];
    let mut msg = vec![4, 0, 1];
    msg.extend_from_slice(&version.to_be_bytes());
    msg.extend_from_slice(&(cert.len() as u16).to_be_bytes());
    msg.extend_from_slice(&(specs.len() as u16).to_be_bytes());
    msg.extend_from_slice(&16u16.to_be_bytes());
    msg.extend_from_slice(&cert);
    msg.extend_from_slice(&specs);
    msg.extend_from_slice(&[0xc1; 16]);
    sslv2_record(&msg)
}

/// A 2-byte-header SSLv2 record.
pub fn sslv2_record(msg: &[u8]) -> Vec<u8> {
    let mut r = (0x8000 | msg.len() as u16).to_be_bytes().to_vec();
    r.extend_from_slice(msg);
    r
}

/// Deterministic pseudo-random numbers for fuzz-style tests (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
