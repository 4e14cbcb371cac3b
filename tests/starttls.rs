//! End-to-end: the plaintext phase before TLS (issue 13). STARTTLS told by what the client
//! says (the printer whose EHLO reply ends with `250 STARTTLS`), a refusal followed by a
//! successful retry (curl's FTP `AUTH SSL` → 504 → `AUTH TLS` → 234), explicit proxies (HTTP
//! `CONNECT`: the `connect_host` column and the scope it decides), on fixtures recorded from
//! real stacks (fixtures/record-issue13.sh); and a record header cut by segment boundaries
//! after STARTTLS, on a recorded dialogue re-segmented with `tlscensus::synth`.

mod common;

use std::path::Path;

use tlscensus::capture::{Frame, LinkType, Timestamp};
use tlscensus::synth::{self, ack, Conn, From, Packet};

use common::{csv_rows, fin_ack, fixture, p, stdout, tlscensus};

/// `read -q ARGS FILE`: its stdout.
fn read(args: &[&str], file: &Path) -> String {
    let mut all = vec!["read", "-q"];
    all.extend_from_slice(args);
    all.push(p(file));
    let o = tlscensus(&all);
    assert!(
        o.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o)
}

/// `--connections` rows as "client:port server:port sni starttls offered_max negotiated outcome
/// m365 m365_match connect_host", `-` for an empty cell.
fn rows_of(args: &[&str], file: &Path) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--connections", "-"]);
    csv_rows(&read(&all, file))
        .iter()
        .map(|r| {
            let col = |name: &str| match r[name].as_str() {
                "" => "-",
                v => v,
            };
            format!(
                "{}:{} {}:{} {} {} {} {} {} {} {} {}",
                col("client_ip"),
                col("client_port"),
                col("server_ip"),
                col("server_port"),
                col("sni"),
                col("starttls"),
                col("offered_max"),
                col("negotiated"),
                col("outcome"),
                col("m365"),
                col("m365_match"),
                col("connect_host"),
            )
        })
        .collect()
}

/// [`rows_of`] a fixture, in the default scope.
fn rows(file: &str) -> Vec<String> {
    rows_of(&[], &fixture(file))
}

/// The `--csv` rows of a fixture as "client connections no_server_hello max_offered failed
/// verdict snis".
fn clients(args: &[&str], file: &str) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--csv", "-"]);
    csv_rows(&read(&all, &fixture(file)))
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {} {}",
                r["client_ip"],
                r["connections"],
                r["no_server_hello"],
                r["max_offered"],
                r["failed"],
                r["verdict"],
                r["snis"]
            )
        })
        .collect()
}

/// The printer: EHLO's reply ends with `250 STARTTLS` (an IMAP command, read naively), the
/// server refuses STARTTLS with 454, and the client's TLS 1.0 ClientHello that follows anyway
/// is answered in plaintext. Refused, and the client is broken: it failed and offers 1.0 only.
#[test]
fn printer_refused_after_an_ehlo_reply_ending_with_starttls() {
    assert_eq!(
        rows("starttls-smtp-printer-refused.pcap"),
        [
            "10.13.0.1:51301 40.97.10.20:587 smtp.office365.com smtp TLSv1.0 - starttls_refused \
          true ip+sni -"
        ]
    );
    assert_eq!(
        clients(&[], "starttls-smtp-printer-refused.pcap"),
        ["10.13.0.1 1 1 TLSv1.0 1 broken smtp.office365.com"]
    );
}

/// curl's FTP `--ssl`: `AUTH SSL` refused (504), `AUTH TLS` accepted (234), TLS 1.3.
#[test]
fn ftp_refusal_then_retry_is_the_handshake() {
    assert_eq!(
        rows("starttls-ftp-auth-ssl-retry.pcap"),
        ["10.13.0.2:51302 40.97.10.20:21 - ftp TLSv1.3 TLSv1.3 established true ip -"]
    );
    assert_eq!(
        clients(&[], "starttls-ftp-auth-ssl-retry.pcap"),
        ["10.13.0.2 1 0 TLSv1.3 0 ok "]
    );
}

/// `openssl s_client -proxy`: the server address is the proxy's (not Microsoft's); with an
/// SNI the SNI decides, without one the CONNECT host does.
#[test]
fn connect_with_and_without_sni() {
    assert_eq!(
        rows("connect-sclient.pcap"),
        [
            "10.13.0.3:51303 192.0.2.80:8080 outlook.office365.com connect TLSv1.3 TLSv1.3 \
             established true sni outlook.office365.com",
            "10.13.0.3:51304 192.0.2.80:8080 - connect TLSv1.3 TLSv1.3 established true connect \
             outlook.office365.com",
        ]
    );
    assert_eq!(
        clients(&[], "connect-sclient.pcap"),
        ["10.13.0.3 2 0 TLSv1.3 0 ok outlook.office365.com"]
    );
}

/// curl: `CONNECT 40.97.10.20:443` (no SNI) matches by the literal's prefix; a tunnel to
/// www.example.com is not Microsoft 365, and the proxy's address only counts when an
/// `--include` names it.
#[test]
fn connect_to_an_ip_literal_and_out_of_scope() {
    let ip_literal = "10.13.0.4:51305 192.0.2.80:8080 - connect TLSv1.3 TLSv1.3 established \
                      true ip+connect 40.97.10.20";
    assert_eq!(rows("connect-curl.pcap"), [ip_literal]);
    let file = fixture("connect-curl.pcap");
    assert_eq!(
        rows_of(&["--scope", "all"], &file),
        [
            ip_literal.to_string(),
            "10.13.0.4:51306 192.0.2.80:8080 www.example.com connect TLSv1.3 TLSv1.3 \
             established false - www.example.com"
                .to_string(),
        ]
    );
    assert_eq!(
        rows_of(&["--include", "192.0.2.80"], &file),
        [
            ip_literal.to_string(),
            "10.13.0.4:51306 192.0.2.80:8080 www.example.com connect TLSv1.3 TLSv1.3 \
             established true ip www.example.com"
                .to_string(),
        ]
    );
    // An exclude naming the CONNECT host leaves it out, as one naming the SNI would.
    assert!(rows_of(&["--exclude", "40.97.10.20"], &file).is_empty());
    assert!(rows_of(&["--exclude", "192.0.2.80"], &file).is_empty());
}

/// The proxy refuses the tunnel (403) and no handshake follows: refused, in scope by the
/// CONNECT host; it counts as failed, but says nothing of the client's TLS versions: unknown.
#[test]
fn connect_refused() {
    assert_eq!(
        rows("connect-refused-403.pcap"),
        [
            "10.13.0.5:51307 192.0.2.80:8080 - connect - - starttls_refused true connect \
          outlook.office365.com"
        ]
    );
    assert_eq!(
        clients(&[], "connect-refused-403.pcap"),
        ["10.13.0.5 1 1  1 unknown "]
    );
}

/// 407, then the same CONNECT with credentials on the same connection, 200, TLS: established.
#[test]
fn connect_407_then_200_on_one_connection() {
    assert_eq!(
        rows("connect-407-retry.pcap"),
        [
            "10.13.0.6:51308 192.0.2.80:8080 outlook.office365.com connect TLSv1.3 TLSv1.3 \
          established true sni outlook.office365.com"
        ]
    );
}

/// `--ndjson` carries connect_host too (null without a CONNECT).
#[test]
fn ndjson_connect_host() {
    let out = read(&["--ndjson", "-"], &fixture("connect-sclient.pcap"));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert_eq!(l["connect_host"], "outlook.office365.com");
        assert_eq!(l["starttls"], "connect");
    }
    assert_eq!(lines[1]["m365_match"], "connect");
    let out = read(
        &["--ndjson", "-"],
        &fixture("starttls-ftp-auth-ssl-retry.pcap"),
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["connect_host"], serde_json::Value::Null);
}

// ---------------------------------------------------------------------------------------------
// Synthetic captures around recorded bytes.

/// The payloads of one connection of a recorded capture (its client's port), in capture order:
/// who sent them and the bytes. The client is the sender toward `server_port`.
fn payloads(file: &str, server_port: u16, client_port: u16) -> Vec<(From, Vec<u8>)> {
    let mut cap = pcap::Capture::from_file(fixture(file)).unwrap();
    let link = LinkType(cap.get_datalink().0);
    let mut out = vec![];
    while let Ok(pkt) = cap.next_packet() {
        let frame = Frame {
            number: 0,
            ts: Timestamp(0),
            link,
            data: pkt.data,
            orig_len: pkt.header.len,
        };
        if let Ok(seg) = tlscensus::decode::decode(&frame) {
            if !seg.payload.is_empty()
                && (seg.src_port == client_port || seg.dst_port == client_port)
            {
                let from = if seg.dst_port == server_port {
                    From::Client
                } else {
                    From::Server
                };
                out.push((from, seg.payload.to_vec()));
            }
        }
    }
    out
}

/// A capture of `conn`: SYN, SYN/ACK, ACK, the payloads in order (each a segment), FINs.
fn capture(conn: &Conn, segments: &[(From, Vec<u8>)], path: &Path) {
    let mut frames = conn.handshake();
    let (mut c_off, mut s_off) = (0u32, 0u32);
    for (from, bytes) in segments {
        let off = match from {
            From::Client => &mut c_off,
            From::Server => &mut s_off,
        };
        frames.push(conn.frame(*from, *off, bytes, ack()));
        *off += bytes.len() as u32;
    }
    frames.push(conn.frame(From::Client, c_off, b"", fin_ack()));
    frames.push(conn.frame(From::Server, s_off, b"", fin_ack()));
    let packets: Vec<Packet> = frames
        .into_iter()
        .enumerate()
        .map(|(i, frame)| Packet {
            ts_nanos: 1_741_086_000_000_000_000 + i as i64 * 1_000_000,
            frame,
        })
        .collect();
    synth::write_pcap(&mut std::fs::File::create(path).unwrap(), &packets).unwrap();
}

/// The recorded SMTP STARTTLS dialogue (TLS 1.2) with the first TLS segment of each direction
/// cut at `at` (1..=9: the record header alone at 5, any split of the first 9 bytes), and with
/// the cut piece sent with the plaintext before it when `with_text`.
fn resegmented(at: usize, with_text: bool) -> Vec<(From, Vec<u8>)> {
    let mut out: Vec<(From, Vec<u8>)> = vec![];
    let mut cut = [false; 2];
    for (from, bytes) in payloads("starttls-smtp-tls12.pcap", 587, 51001) {
        let i = matches!(from, From::Server) as usize;
        if !cut[i] && bytes.first() == Some(&0x16) {
            cut[i] = true;
            let (head, rest) = bytes.split_at(at);
            match out.last_mut() {
                Some((f, prev)) if with_text && *f == from => prev.extend_from_slice(head),
                _ => out.push((from, head.to_vec())),
            }
            out.push((from, rest.to_vec()));
        } else {
            out.push((from, bytes));
        }
    }
    assert_eq!(cut, [true, true]);
    out
}

/// After STARTTLS, a record header in a segment of its own, or the first 9 bytes split
/// anywhere (alone, or behind the last plaintext line): the same connection as recorded.
#[test]
fn record_header_cut_by_segments_after_starttls() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::new("10.5.0.1", 51001, "40.97.10.20", 587);
    let expect = [
        "10.5.0.1:51001 40.97.10.20:587 smtp.office365.com smtp TLSv1.2 TLSv1.2 \
                   established true ip+sni -",
    ];
    assert_eq!(rows("starttls-smtp-tls12.pcap"), expect);
    for at in 1..=9 {
        for with_text in [false, true] {
            let path = dir.path().join(format!("cut-{at}-{with_text}.pcap"));
            capture(&conn, &resegmented(at, with_text), &path);
            assert_eq!(
                rows_of(&[], &path),
                expect,
                "cut at {at}, with the plaintext: {with_text}"
            );
        }
    }
}

/// A CONNECT host is text from the wire: written escaped (a formula-looking cell gets its
/// `'`, bytes outside printable ASCII appear as `\xNN`), and it matches nothing.
#[test]
fn hostile_connect_host_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::new("10.13.0.9", 51399, "192.0.2.80", 8080);
    // The TLS of the recorded connection without SNI, after its CONNECT and 200.
    let tls = payloads("connect-sclient.pcap", 8080, 51304)
        .into_iter()
        .filter(|(_, b)| !b.starts_with(b"CONNECT") && !b.starts_with(b"HTTP/"));
    let mut segments = vec![
        (
            From::Client,
            b"CONNECT =cmd|\x01\xff.example:443 HTTP/1.1\r\n\r\n".to_vec(),
        ),
        (
            From::Server,
            b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec(),
        ),
    ];
    segments.extend(tls);
    let path = dir.path().join("hostile.pcap");
    capture(&conn, &segments, &path);
    let rows = rows_of(&["--scope", "all"], &path);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].ends_with(" connect TLSv1.3 TLSv1.3 established false - '=cmd|\\x01\\xff.example"),
        "{rows:?}"
    );
}
