//! SSLv2 framing: the SSLv2-compatible CLIENT-HELLO and the SSLv2 SERVER-HELLO.
//!
//! Old clients (and some scanners) open with an SSLv2 CLIENT-HELLO even when they mean SSLv3 or
//! TLS 1.0–1.2: the version field then says which (RFC 5246 Appendix E.2, RFC 6101 Appendix
//! E). A server that speaks only SSLv3+ answers with an ordinary TLS record; one that accepts
//! SSLv2 answers with an SSLv2 SERVER-HELLO. Both are read here into the same owned facts as TLS
//! hellos, with [`ClientHelloInfo::sslv2_framed`] set.
//!
//! Only the 2-byte record header form (high bit set) is accepted: the 3-byte form carries
//! padding for block ciphers and never frames a hello.
//!
//! Careful with numbers: SSLv2 message types are not TLS handshake types. Type 1 is
//! CLIENT-HELLO, but type 2 is the client's CLIENT-MASTER-KEY (not a ServerHello) and the
//! SERVER-HELLO is type 4.
//!
//! Promises: never panics, never reads out of bounds; a record whose declared sections do not
//! fit in it is [`NotTls::MalformedHello`].

use super::hello::{ClientHelloInfo, Cursor, HelloPart, ServerHelloInfo};
use super::{NotTls, TlsVersion};

/// SSLv2 message type of CLIENT-HELLO.
const CLIENT_HELLO: u8 = 1;
/// SSLv2 message type of SERVER-HELLO (type 2 is CLIENT-MASTER-KEY).
const SERVER_HELLO: u8 = 4;

/// The length of the fixed part of a CLIENT-HELLO after the record header: msg_type(1)
/// version(2) cipher_spec_length(2) session_id_length(2) challenge_length(2).
const CLIENT_HELLO_FIXED: usize = 9;
/// The fixed part of a SERVER-HELLO: msg_type(1) session_id_hit(1) certificate_type(1)
/// server_version(2) certificate_length(2) cipher_specs_length(2) connection_id_length(2).
const SERVER_HELLO_FIXED: usize = 11;

/// Which SSLv2 hello the first bytes of a direction announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sslv2Hello {
    /// An SSLv2(-compatible) CLIENT-HELLO.
    Client,
    /// An SSLv2 SERVER-HELLO: the server accepted SSLv2.
    Server,
}

/// Looks at the first 5 bytes of a direction: is this the start of an SSLv2 hello record?
///
/// Returns the kind and the whole record's length (2-byte header included). A CLIENT-HELLO
/// needs a version of SSLv2 (0x0002) or SSLv3–TLS 1.2 (0x0300..=0x0303; TLS 1.3 forbids the
/// SSLv2 form, RFC 8446 Appendix D.5); a SERVER-HELLO needs session_id_hit and
/// certificate_type to be 0 or 1.
pub fn probe(head: [u8; 5]) -> Option<(Sslv2Hello, usize)> {
    let [b0, b1, msg_type, b3, b4] = head;
    if b0 & 0x80 == 0 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([b0 & 0x7f, b1]));
    let kind = match msg_type {
        CLIENT_HELLO
            if len >= CLIENT_HELLO_FIXED && client_version_ok(u16::from_be_bytes([b3, b4])) =>
        {
            Sslv2Hello::Client
        }
        SERVER_HELLO if len >= SERVER_HELLO_FIXED && b3 <= 1 && b4 <= 1 => Sslv2Hello::Server,
        _ => return None,
    };
    Some((kind, 2 + len))
}

fn client_version_ok(v: u16) -> bool {
    matches!(v, 0x0002 | 0x0300..=0x0303)
}

/// The message inside a 2-byte-header SSLv2 record, cut to the header's length.
fn record_body(record: &[u8]) -> Result<&[u8], NotTls> {
    let mut r = Cursor(record);
    let len = r.u16().ok_or(NotTls::MalformedHello)?;
    if len & 0x8000 == 0 {
        return Err(NotTls::MalformedHello);
    }
    r.take(usize::from(len & 0x7fff))
        .ok_or(NotTls::MalformedHello)
}

/// Parses a whole SSLv2 CLIENT-HELLO record (2-byte header included).
///
/// Cipher specs are 3 bytes; those of the form 0x00XXYY are TLS cipher suites XXYY (RFC 5246
/// Appendix E.2) and are kept in order; SSLv2-only specs (first byte non-zero, e.g. 0x010080
/// SSL_CK_RC4_128_WITH_MD5) have no TLS number and are dropped. The challenge is not kept.
pub fn parse_client_hello(record: &[u8]) -> Result<ClientHelloInfo, NotTls> {
    let mut r = Cursor(record_body(record)?);
    let bad = NotTls::MalformedHello;
    if r.u8() != Some(CLIENT_HELLO) {
        return Err(bad);
    }
    let version = r.u16().ok_or(bad)?;
    let specs_len = r.u16().ok_or(bad)?;
    let sid_len = r.u16().ok_or(bad)?;
    let challenge_len = r.u16().ok_or(bad)?;
    // RFC 5246 E.2: cipher_spec_length is non-zero and a multiple of 3; the challenge is 16 to
    // 32 bytes (SSL 2.0 spec). Holding to these keeps random binary protocols from passing.
    if !client_version_ok(version)
        || specs_len == 0
        || specs_len % 3 != 0
        || !(16..=32).contains(&challenge_len)
    {
        return Err(bad);
    }
    let specs = r.take(usize::from(specs_len)).ok_or(bad)?;
    r.take(usize::from(sid_len)).ok_or(bad)?;
    r.take(usize::from(challenge_len)).ok_or(bad)?;

    let mut info = ClientHelloInfo::empty(TlsVersion(version));
    info.sslv2_framed = true;
    info.session_id_len = sid_len.min(u16::from(u8::MAX)) as u8;
    info.cipher_suites = tls_suites(specs);
    Ok(info)
}

/// Parses a whole SSLv2 SERVER-HELLO record (2-byte header included).
///
/// `legacy_version` is the server_version field as sent; `selected_version` is always SSLv2,
/// since answering in SSLv2 framing is the choice. `cipher_suite` is 0: the server lists specs
/// and the client picks one later in CLIENT-MASTER-KEY.
pub fn parse_server_hello(record: &[u8]) -> Result<ServerHelloInfo, NotTls> {
    let mut r = Cursor(record_body(record)?);
    let bad = NotTls::MalformedHello;
    if r.u8() != Some(SERVER_HELLO) {
        return Err(bad);
    }
    let _session_id_hit = r.u8().ok_or(bad)?;
    let _certificate_type = r.u8().ok_or(bad)?;
    let version = r.u16().ok_or(bad)?;
    let cert_len = r.u16().ok_or(bad)?;
    let specs_len = r.u16().ok_or(bad)?;
    let conn_id_len = r.u16().ok_or(bad)?;
    r.take(usize::from(cert_len)).ok_or(bad)?;
    r.take(usize::from(specs_len)).ok_or(bad)?;
    r.take(usize::from(conn_id_len)).ok_or(bad)?;

    let mut info = ServerHelloInfo::empty(TlsVersion(version));
    info.selected_version = Some(TlsVersion::SSL2);
    Ok(info)
}

/// Reads what the first bytes of an SSLv2 CLIENT-HELLO record carry when the rest was not
/// captured (a short snap length): the version, which is exact (this framing has no
/// supported_versions), and the TLS cipher suites among the specs that arrived whole. The
/// result is `truncated`; `read_through` is [`HelloPart::CipherSuites`] once every spec
/// arrived, else [`HelloPart::Version`]. `None` without the whole 9-byte fixed part or when
/// it breaks the rules [`parse_client_hello`] holds to.
pub fn parse_client_hello_prefix(record: &[u8]) -> Option<ClientHelloInfo> {
    let mut r = Cursor(record);
    let len = r.u16()?;
    if len & 0x8000 == 0 {
        return None;
    }
    let mut r = Cursor(r.take_up_to(usize::from(len & 0x7fff)));
    if r.u8()? != CLIENT_HELLO {
        return None;
    }
    let version = r.u16()?;
    let specs_len = r.u16()?;
    let sid_len = r.u16()?;
    let challenge_len = r.u16()?;
    if !client_version_ok(version)
        || specs_len == 0
        || specs_len % 3 != 0
        || !(16..=32).contains(&challenge_len)
    {
        return None;
    }
    let specs = r.take_up_to(usize::from(specs_len));
    let mut info = ClientHelloInfo::empty(TlsVersion(version));
    info.sslv2_framed = true;
    info.truncated = true;
    info.read_through = if specs.len() == usize::from(specs_len) {
        HelloPart::CipherSuites
    } else {
        HelloPart::Version
    };
    info.session_id_len = sid_len.min(u16::from(u8::MAX)) as u8;
    info.cipher_suites = tls_suites(specs);
    Some(info)
}

/// Reads what the first bytes of an SSLv2 SERVER-HELLO record carry when the rest was not
/// captured (the certificate in it makes it long): SSLv2 was chosen, exactly. `None` without
/// the fixed part up to server_version.
pub fn parse_server_hello_prefix(record: &[u8]) -> Option<ServerHelloInfo> {
    let mut r = Cursor(record);
    let len = r.u16()?;
    if len & 0x8000 == 0 {
        return None;
    }
    let mut r = Cursor(r.take_up_to(usize::from(len & 0x7fff)));
    if r.u8()? != SERVER_HELLO || r.u8()? > 1 || r.u8()? > 1 {
        return None;
    }
    let mut info = ServerHelloInfo::empty(TlsVersion(r.u16()?));
    info.selected_version = Some(TlsVersion::SSL2);
    info.truncated = true;
    info.read_through = HelloPart::Version;
    Some(info)
}

/// The cipher specs of the form 0x00XXYY as TLS cipher suites XXYY, in order; a cut last spec
/// is left out.
fn tls_suites(specs: &[u8]) -> Vec<u16> {
    specs
        .chunks_exact(3)
        .filter_map(|spec| match spec {
            [0, hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::testdata::{
        sslv2_client_hello as client_hello, sslv2_server_hello as server_hello,
    };

    fn head(record: &[u8]) -> [u8; 5] {
        record[..5].try_into().unwrap()
    }

    #[test]
    fn compatible_client_hello_maps_tls_suites_and_drops_sslv2_specs() {
        let rec = client_hello(
            0x0301,
            &[
                [0x00, 0x00, 0x39],
                [0x07, 0x00, 0xc0],
                [0x00, 0xc0, 0x14],
                [0x01, 0x00, 0x80],
            ],
        );
        assert_eq!(probe(head(&rec)), Some((Sslv2Hello::Client, rec.len())));
        let ch = parse_client_hello(&rec).unwrap();
        assert!(ch.sslv2_framed);
        assert_eq!(ch.legacy_version, TlsVersion::TLS10);
        assert_eq!(ch.max_offered(), TlsVersion::TLS10);
        assert_eq!(ch.cipher_suites, [0x0039, 0xc014]);
        assert!(ch.extensions.is_empty() && ch.offered_versions.is_empty() && ch.sni.is_none());
        assert_eq!(ch.session_id_len, 0);
    }

    #[test]
    fn pure_sslv2_client_hello() {
        let rec = client_hello(0x0002, &[[0x01, 0x00, 0x80], [0x07, 0x00, 0xc0]]);
        let ch = parse_client_hello(&rec).unwrap();
        assert_eq!(ch.max_offered(), TlsVersion::SSL2);
        assert!(ch.max_offered().is_legacy());
        assert!(ch.cipher_suites.is_empty());
    }

    #[test]
    fn client_hello_prefix_at_every_length() {
        let specs = [[0x00, 0x00, 0x39], [0x07, 0x00, 0xc0], [0x00, 0xc0, 0x14]];
        let rec = client_hello(0x0301, &specs);
        let full = parse_client_hello(&rec).unwrap();
        for cut in 0..rec.len() {
            let got = parse_client_hello_prefix(&rec[..cut]);
            if cut < 11 {
                assert_eq!(got, None, "cut {cut}");
                continue;
            }
            let ch = got.unwrap();
            assert!(ch.truncated && ch.sslv2_framed, "cut {cut}");
            assert_eq!(ch.max_offered(), TlsVersion::TLS10);
            assert!(
                !ch.max_offered_is_lower_bound(),
                "SSLv2 framing: the version is all"
            );
            let whole_specs = (cut - 11).min(9) / 3;
            let suites: Vec<u16> = [0x0039, 0xc014]
                .into_iter()
                .take(match whole_specs {
                    0 => 0,
                    1 | 2 => 1,
                    _ => 2,
                })
                .collect();
            assert_eq!(ch.cipher_suites, suites, "cut {cut}");
            let part = if whole_specs == 3 {
                HelloPart::CipherSuites
            } else {
                HelloPart::Version
            };
            assert_eq!(ch.read_through, part, "cut {cut}");
            assert_eq!(crate::fingerprint::ja4(&ch), None);
        }
        assert!(crate::fingerprint::ja4(&full).is_some());
        // The rules of the whole parse hold: a challenge length of 8 is not a hello.
        let mut bad = rec.clone();
        bad[10] = 8;
        assert_eq!(parse_client_hello_prefix(&bad[..20]), None);
    }

    #[test]
    fn server_hello_prefix_is_sslv2_exactly() {
        let rec = server_hello(0x0002);
        for cut in 0..rec.len() {
            let got = parse_server_hello_prefix(&rec[..cut]);
            if cut < 7 {
                assert_eq!(got, None, "cut {cut}");
                continue;
            }
            let sh = got.unwrap();
            assert!(sh.truncated && !sh.negotiated_is_lower_bound());
            assert_eq!(sh.negotiated(), TlsVersion::SSL2);
        }
    }

    #[test]
    fn server_hello_negotiates_sslv2() {
        let rec = server_hello(0x0002);
        assert_eq!(probe(head(&rec)), Some((Sslv2Hello::Server, rec.len())));
        let sh = parse_server_hello(&rec).unwrap();
        assert_eq!(sh.legacy_version, TlsVersion::SSL2);
        assert_eq!(sh.negotiated(), TlsVersion::SSL2);
        assert_eq!(sh.cipher_suite, 0);
        assert!(sh.extensions.is_empty());
    }

    #[test]
    fn probe_rejects_what_is_not_an_sslv2_hello() {
        let ch = client_hello(0x0301, &[[0, 0, 0x39]]);
        // 3-byte header form (high bit clear), TLS record, ASCII.
        assert_eq!(probe([0x00, 0x2e, 0x01, 0x03, 0x01]), None);
        assert_eq!(probe([0x16, 0x03, 0x01, 0x00, 0x2e]), None);
        assert_eq!(probe(*b"GET /"), None);
        // Version not SSLv2..TLS 1.2 (0x0304 is forbidden in this form, RFC 8446 D.5).
        for version in [0x0000u16, 0x0001, 0x0200, 0x0304, 0x0401, 0xffff] {
            let mut h = head(&ch);
            h[3..5].copy_from_slice(&version.to_be_bytes());
            assert_eq!(probe(h), None, "{version:#06x}");
        }
        // CLIENT-MASTER-KEY (2), unknown types, a record too short for its message.
        assert_eq!(probe([0x80, 0x20, 0x02, 0x03, 0x01]), None);
        assert_eq!(probe([0x80, 0x20, 0x07, 0x03, 0x01]), None);
        assert_eq!(probe([0x80, 0x08, 0x01, 0x03, 0x01]), None);
        assert_eq!(probe([0x80, 0x0a, 0x04, 0x00, 0x01]), None);
        // SERVER-HELLO with session_id_hit / certificate_type out of range.
        assert_eq!(probe([0x80, 0x40, 0x04, 0x02, 0x01]), None);
        assert_eq!(probe([0x80, 0x40, 0x04, 0x00, 0x05]), None);
        // Largest length the header can say.
        assert_eq!(
            probe([0xff, 0xff, 0x01, 0x03, 0x01]),
            Some((Sslv2Hello::Client, 0x7fff + 2))
        );
    }

    #[test]
    fn truncated_at_every_offset_is_malformed() {
        let ch = client_hello(0x0301, &[[0, 0, 0x39], [0, 0, 0x35]]);
        for cut in 0..ch.len() {
            assert_eq!(
                parse_client_hello(&ch[..cut]),
                Err(NotTls::MalformedHello),
                "{cut}"
            );
        }
        let sh = server_hello(0x0002);
        for cut in 0..sh.len() {
            assert_eq!(
                parse_server_hello(&sh[..cut]),
                Err(NotTls::MalformedHello),
                "{cut}"
            );
        }
    }

    #[test]
    fn impossible_lengths_are_malformed() {
        let good = client_hello(0x0301, &[[0, 0, 0x39]]);
        let with = |at: usize, value: u16| {
            let mut rec = good.clone();
            rec[at..at + 2].copy_from_slice(&value.to_be_bytes());
            parse_client_hello(&rec)
        };
        assert!(with(5, 3).is_ok());
        assert_eq!(with(5, 0), Err(NotTls::MalformedHello), "no cipher specs");
        assert_eq!(
            with(5, 2),
            Err(NotTls::MalformedHello),
            "specs not a multiple of 3"
        );
        assert_eq!(
            with(5, 300),
            Err(NotTls::MalformedHello),
            "specs past the record"
        );
        assert_eq!(
            with(7, 1),
            Err(NotTls::MalformedHello),
            "session id past the record"
        );
        assert_eq!(
            with(9, 15),
            Err(NotTls::MalformedHello),
            "challenge below 16"
        );
        assert_eq!(
            with(9, 33),
            Err(NotTls::MalformedHello),
            "challenge above 32"
        );
        assert_eq!(
            with(0, 0x0010),
            Err(NotTls::MalformedHello),
            "3-byte header form"
        );
        assert_eq!(
            with(0, 0x8000 | 0x7fff),
            Err(NotTls::MalformedHello),
            "record past end"
        );
        // The header's length cuts the message: the challenge ends up past the record.
        assert_eq!(with(0, 0x8000 | 12), Err(NotTls::MalformedHello));
        // Wrong message types for each parser.
        assert_eq!(parse_server_hello(&good), Err(NotTls::MalformedHello));
        assert_eq!(
            parse_client_hello(&server_hello(2)),
            Err(NotTls::MalformedHello)
        );
    }

    #[test]
    fn bytes_after_the_record_are_ignored() {
        let mut rec = client_hello(0x0300, &[[0, 0, 0x0a]]);
        rec.extend_from_slice(b"trailing");
        assert_eq!(parse_client_hello(&rec).unwrap().cipher_suites, [0x000a]);
    }
}
