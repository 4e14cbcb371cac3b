//! Hostile input: strings meant for a spreadsheet or a terminal, resource claims meant to
//! exhaust memory, and mutated captures meant to crash the pipeline.
//!
//! - Injection: ClientHellos whose SNIs are formulas, escape sequences, NULs, CR/LF, overlong
//!   labels and invalid UTF-8 reach the table, the CSV files (and the JSON outputs, when the
//!   binary has them) escaped, and neutralised where a spreadsheet reads them, never raw.
//! - Resource bounds: handshake messages claiming 16 MiB, records claiming 64 KiB, a
//!   ClientHello with as many extensions as fit in its 2^16-byte block, an SNI extension of
//!   10,000 entries and tunnels nested 100 deep, run under a 64 MiB address-space limit; the
//!   run summary (`--stats`) counts what was skipped.
//! - Property tests (proptest, a bounded number of cases): mutations of the fixture captures
//!   (bit flips, truncation, splicing, edits of length fields) never panic, and the census of
//!   connections whose packets were not touched does not change.
//!
//! Every capture here is made by code in this file (on top of `tlscensus::synth`), at run time.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use proptest::prelude::*;
use tlscensus::capture::native::NativeReader;
use tlscensus::capture::{Frame, LinkType, Timestamp};
use tlscensus::m365::{EndpointData, Scope};
use tlscensus::pipeline::{Config, Pipeline};
use tlscensus::report::csv::write_clients;
use tlscensus::report::escape::{csv_cell, visible};
use tlscensus::synth::{self, ack, Conn, From, Packet};

use common::{csv_file_rows, fin_ack, fixture, p, syn, syn_ack, text, tlscensus, BIN};

// ---------------------------------------------------------------------------------------------
// TLS bytes, built by hand (RFC 8446 §4.1.2, RFC 5246 §7.4.1, RFC 6066 §3).

fn be16(v: usize) -> [u8; 2] {
    u16::try_from(v).expect("fits 16 bits").to_be_bytes()
}

fn vec16(body: &[u8]) -> Vec<u8> {
    let mut v = be16(body.len()).to_vec();
    v.extend_from_slice(body);
    v
}

fn ext(ty: u16, body: &[u8]) -> Vec<u8> {
    let mut v = ty.to_be_bytes().to_vec();
    v.extend(vec16(body));
    v
}

/// server_name with these (name_type, name) entries.
fn ext_sni(entries: &[(u8, &[u8])]) -> Vec<u8> {
    let mut list = Vec::new();
    for (ty, name) in entries {
        list.push(*ty);
        list.extend(vec16(name));
    }
    ext(0, &vec16(&list))
}

/// A handshake message: type, 24-bit length, body.
fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).unwrap().to_be_bytes();
    let mut m = vec![ty, len[1], len[2], len[3]];
    m.extend_from_slice(body);
    m
}

/// A ClientHello message (header included) with legacy_version 0x0301 or as given, two cipher
/// suites and this extensions block content.
fn client_hello(version: u16, extensions: &[u8]) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend([0x11; 32]);
    b.push(0);
    b.extend(vec16(&[0xc0, 0x2f, 0x00, 0x2f]));
    b.extend([1, 0]);
    b.extend(vec16(extensions));
    handshake(1, &b)
}

fn server_hello(version: u16, cipher: u16) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend([0x22; 32]);
    b.push(0);
    b.extend(cipher.to_be_bytes());
    b.push(0);
    handshake(2, &b)
}

/// Handshake bytes as TLS records of at most 16,384 bytes each.
fn records(content_type: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(16_384) {
        out.extend([content_type, 3, 1]);
        out.extend(be16(chunk.len()));
        out.extend_from_slice(chunk);
    }
    out
}

const CHANGE_CIPHER_SPEC: [u8; 6] = [20, 3, 1, 0, 1, 1];

/// One whole TCP connection: handshake, the client's bytes, the server's bytes, the client's
/// ChangeCipherSpec, then FIN from both sides; each packet goes through `wrap` (an IP packet →
/// an Ethernet frame). Timestamps start at `t0` (ns), 1 ms apart.
fn tls_connection(
    conn: &Conn,
    t0: i64,
    client: &[u8],
    server: &[u8],
    wrap: &dyn Fn(Vec<u8>) -> Vec<u8>,
) -> Vec<Packet> {
    let mut ip = vec![
        conn.ip_packet(From::Client, 0, b"", syn()),
        conn.ip_packet(From::Server, 0, b"", syn_ack()),
        conn.ip_packet(From::Client, 0, b"", ack()),
    ];
    for (off, seg) in Conn::segments(client, 1400, 0) {
        ip.push(conn.ip_packet(From::Client, off, &seg, ack()));
    }
    let mut server_len = 0;
    if !server.is_empty() {
        for (off, seg) in Conn::segments(server, 1400, 0) {
            ip.push(conn.ip_packet(From::Server, off, &seg, ack()));
        }
        server_len = server.len() as u32;
        let at = client.len() as u32;
        ip.push(conn.ip_packet(From::Client, at, &CHANGE_CIPHER_SPEC, ack()));
    }
    let client_len = client.len() as u32 + if server.is_empty() { 0 } else { 6 };
    ip.push(conn.ip_packet(From::Client, client_len, b"", fin_ack()));
    ip.push(conn.ip_packet(From::Server, server_len, b"", fin_ack()));
    ip.into_iter()
        .enumerate()
        .map(|(i, p)| Packet {
            ts_nanos: t0 + i as i64 * 1_000_000,
            frame: wrap(p),
        })
        .collect()
}

fn plain(ip: Vec<u8>) -> Vec<u8> {
    synth::ethernet(&ip)
}

/// 2026-01-01T00:00:00Z plus `secs`.
fn t(secs: i64) -> i64 {
    (1_767_225_600 + secs) * 1_000_000_000
}

fn write_capture(dir: &Path, name: &str, packets: &[Packet]) -> PathBuf {
    let path = dir.join(name);
    let mut f = fs::File::create(&path).unwrap();
    synth::write_pcap(&mut f, packets).unwrap();
    path
}

/// Runs the binary with its address space limited to `mib` MiB (`ulimit -v`): an allocation
/// beyond the bound fails and the run aborts, which the caller's exit-code check catches.
fn tlscensus_limited(mib: u64, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", mib * 1024))
        .arg(BIN)
        .args(args)
        .output()
        .expect("run tlscensus under ulimit")
}

/// `--stats` lines → (label → count).
fn stats(stderr: &str) -> BTreeMap<String, u64> {
    stderr
        .lines()
        .skip_while(|l| *l != "run summary:")
        .skip(1)
        .filter_map(|l| {
            let (label, n) = l.trim().rsplit_once(' ')?;
            Some((label.trim().to_string(), n.parse().ok()?))
        })
        .collect()
}

/// Bytes a terminal or a spreadsheet would act on: C0 controls other than a newline, DEL.
fn control_bytes(b: &[u8]) -> Vec<(usize, u8)> {
    b.iter()
        .copied()
        .enumerate()
        .filter(|(_, c)| (*c < 0x20 && *c != b'\n') || *c == 0x7f)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Part 1: spreadsheet and terminal injection through the SNI.

/// The hostile SNIs, each with what the CSV cell must hold (and the table shows before
/// ellipsizing): `visible` escaping, then the leading `'` of `csv_cell`.
fn hostile_snis() -> Vec<(Vec<u8>, String)> {
    let long = vec![b'a'; 255];
    vec![
        (
            b"=HYPERLINK(\"http://evil\",\"x\")".to_vec(),
            "'=HYPERLINK(\"http://evil\",\"x\")".to_string(),
        ),
        (b"+cmd".to_vec(), "'+cmd".to_string()),
        (b"-2+3".to_vec(), "'-2+3".to_string()),
        (b"@SUM(A1)".to_vec(), "'@SUM(A1)".to_string()),
        (
            b"\x1b[2J\x1b[31mred.example".to_vec(),
            "\\x1b[2J\\x1b[31mred.example".to_string(),
        ),
        (long.clone(), "a".repeat(255)),
        (b"nul\x00.example".to_vec(), "nul\\x00.example".to_string()),
        (b"\tcmd.example".to_vec(), "\\x09cmd.example".to_string()),
        (
            b"cr\r\nlf.example".to_vec(),
            "cr\\x0d\\x0alf.example".to_string(),
        ),
        (
            b"\xff\xfe\xc3(.example".to_vec(),
            "\\xff\\xfe\\xc3(.example".to_string(),
        ),
        (b"back\\slash".to_vec(), "back\\\\slash".to_string()),
        (b"\x7fdel".to_vec(), "\\x7fdel".to_string()),
    ]
}

/// The hostile-SNI capture: one client per SNI (10.66.0.10, .11, ...), each a whole TLS 1.0
/// connection to Exchange Online (40.97.10.20:443).
fn hostile_sni_capture() -> Vec<Packet> {
    let mut packets = Vec::new();
    for (i, (sni, _)) in hostile_snis().iter().enumerate() {
        let conn = Conn::new(&format!("10.66.0.{}", 10 + i), 50_000, "40.97.10.20", 443);
        let ch = records(22, &client_hello(0x0301, &ext_sni(&[(0, sni)])));
        let sh = records(22, &server_hello(0x0301, 0xc014));
        packets.extend(tls_connection(&conn, t(i as i64), &ch, &sh, &plain));
    }
    packets
}

/// `read ARGS CAPTURE`, which must succeed.
fn read(capture: &Path, args: &[&str]) -> Output {
    let mut all = vec!["read"];
    all.extend_from_slice(args);
    all.push(p(capture));
    let o = tlscensus(&all);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    o
}

#[test]
fn hostile_snis_are_escaped_in_the_table_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let capture = write_capture(dir.path(), "hostile-sni.pcap", &hostile_sni_capture());
    let clients_csv = dir.path().join("clients.csv");
    let conns_csv = dir.path().join("connections.csv");
    let o = read(
        &capture,
        &["--csv", p(&clients_csv), "--connections", p(&conns_csv)],
    );
    let snis = hostile_snis();

    // The table: no byte a terminal acts on, and each SNI shown escaped.
    assert_eq!(control_bytes(&o.stdout), vec![], "table has control bytes");
    let table = text(&o.stdout);
    assert!(
        table.contains(&format!("{} clients:", snis.len())),
        "{table}"
    );
    for (i, (_, cell)) in snis.iter().enumerate() {
        let shown = visible(&snis[i].0);
        let line = table
            .lines()
            .find(|l| l.starts_with(&format!("10.66.0.{} ", 10 + i)))
            .unwrap_or_else(|| panic!("client {i} in the table:\n{table}"));
        // The SNI column is the last; long ones are cut to 60 characters with an ellipsis.
        let expected: String = if shown.chars().count() > 60 {
            shown.chars().take(59).chain(['…']).collect()
        } else {
            shown.clone()
        };
        assert!(line.ends_with(&expected), "{line:?} ends with {expected:?}");
        assert_eq!(csv_cell(&shown), cell.as_str(), "escape.rs agrees");
    }

    // Both CSV files: no raw control byte; each cell exactly as escape.rs makes it.
    for path in [&clients_csv, &conns_csv] {
        let bytes = fs::read(path).unwrap();
        assert_eq!(control_bytes(&bytes), vec![], "{}", path.display());
    }
    let clients = csv_file_rows(&clients_csv);
    let conns = csv_file_rows(&conns_csv);
    assert_eq!((clients.len(), conns.len()), (snis.len(), snis.len()));
    for (i, (_, cell)) in snis.iter().enumerate() {
        let ip = format!("10.66.0.{}", 10 + i);
        let client = clients.iter().find(|r| r["client_ip"] == ip).unwrap();
        assert_eq!(&client["snis"], cell, "{ip} --csv");
        let conn = conns.iter().find(|r| r["client_ip"] == ip).unwrap();
        assert_eq!(&conn["sni"], cell, "{ip} --connections");
        assert_eq!(conn["negotiated"], "TLSv1.0");
    }

    // The JSON outputs, when the binary has them: valid, no raw control byte, and each SNI
    // exactly as `visible` escapes it (JSON needs no formula neutralisation).
    let help = text(&tlscensus(&["read", "--help"]).stdout);
    if !help.contains("--json") || !help.contains("--ndjson") {
        eprintln!("hostile SNIs: `read --json/--ndjson` do not exist; JSON part skipped");
        return;
    }
    let json_path = dir.path().join("census.json");
    let ndjson_path = dir.path().join("connections.ndjson");
    read(
        &capture,
        &[
            "--quiet",
            "--json",
            p(&json_path),
            "--ndjson",
            p(&ndjson_path),
        ],
    );
    let json = fs::read(&json_path).unwrap();
    let ndjson = fs::read(&ndjson_path).unwrap();
    assert_eq!(control_bytes(&json), vec![], "--json has control bytes");
    assert_eq!(control_bytes(&ndjson), vec![], "--ndjson has control bytes");
    let doc: serde_json::Value = serde_json::from_slice(&json).expect("--json is JSON");
    let lines: Vec<serde_json::Value> = text(&ndjson)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each --ndjson line is JSON"))
        .collect();
    assert_eq!(lines.len(), snis.len());
    for (i, (sni, _)) in snis.iter().enumerate() {
        let ip = format!("10.66.0.{}", 10 + i);
        let client = doc["clients"]
            .as_array()
            .expect("clients array")
            .iter()
            .find(|c| c["client_ip"] == ip.as_str())
            .unwrap_or_else(|| panic!("{ip} in --json"));
        assert_eq!(client["snis"], serde_json::json!([visible(sni)]), "{ip}");
        let conn = lines
            .iter()
            .find(|c| c["client_ip"] == ip.as_str())
            .unwrap();
        assert_eq!(conn["sni"], serde_json::json!(visible(sni)), "{ip}");
    }
}

// ---------------------------------------------------------------------------------------------
// Part 2: resource bounds.

/// Address space allowed to a run: the binary needs about 16 MiB; a buffer sized by any of the
/// claims below (16 MiB each, eight at once) would not fit.
const MEMORY_MIB: u64 = 64;

fn read_stats(capture: &Path, extra: &[&str]) -> (Output, BTreeMap<String, u64>) {
    let mut args = vec!["read", "--scope", "all", "--stats"];
    args.extend_from_slice(extra);
    args.push(capture.to_str().unwrap());
    let o = tlscensus_limited(MEMORY_MIB, &args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let s = stats(&text(&o.stderr));
    (o, s)
}

/// [`read_stats`] of `packets`, written to `name`, with `--connections`: the run, its counts and
/// the connection rows.
fn read_connections(
    name: &str,
    packets: &[Packet],
) -> (Output, BTreeMap<String, u64>, Vec<BTreeMap<String, String>>) {
    let dir = tempfile::tempdir().unwrap();
    let capture = write_capture(dir.path(), name, packets);
    let conns = dir.path().join("c.csv");
    let (o, s) = read_stats(&capture, &["--connections", p(&conns)]);
    (o, s, csv_file_rows(&conns))
}

/// Eight connections whose ClientHello header claims 16 MiB - 1 (the 24-bit maximum), eight
/// whose first record claims 65,535 bytes (the 16-bit maximum, over the 18,432 TLS allows),
/// all open at once: nothing is allocated for the claims, each is counted.
#[test]
fn claims_of_16_mib_messages_and_64_kib_records_are_counted_not_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let mut conns: Vec<(Conn, Vec<u8>)> = Vec::new();
    for i in 0..8 {
        let conn = Conn::new(&format!("10.67.0.{}", 10 + i), 50_000, "40.97.10.20", 443);
        // Handshake header: ClientHello, length 0xffffff; then 1,000 bytes of it.
        let mut msg = vec![1, 0xff, 0xff, 0xff];
        msg.extend([0x03, 0x03]);
        msg.resize(1_000, 0x41);
        conns.push((conn, records(22, &msg)));
    }
    for i in 0..8 {
        let conn = Conn::new(&format!("10.68.0.{}", 10 + i), 50_000, "40.97.10.20", 443);
        let mut rec = vec![22, 3, 1, 0xff, 0xff, 1, 0, 0xff, 0xfb];
        rec.resize(4_000, 0x42);
        conns.push((conn, rec));
    }
    // Interleaved: every connection is open while the others send.
    let mut packets = Vec::new();
    let per_conn: Vec<Vec<Packet>> = conns
        .iter()
        .enumerate()
        .map(|(i, (conn, bytes))| tls_connection(conn, t(i as i64), bytes, b"", &plain))
        .collect();
    let longest = per_conn.iter().map(Vec::len).max().unwrap();
    for step in 0..longest {
        for (i, p) in per_conn.iter().enumerate() {
            if let Some(p) = p.get(step) {
                packets.push(Packet {
                    ts_nanos: t(0) + (step * 100 + i) as i64 * 1_000_000,
                    frame: p.frame.clone(),
                });
            }
        }
    }
    let capture = write_capture(dir.path(), "huge-claims.pcap", &packets);
    let (o, s) = read_stats(&capture, &["--max-connections", "64"]);
    assert_eq!(s["hellos too large"], 8, "{s:?}");
    // The first kind is TLS whose hello could not be read, the second not TLS at all.
    assert_eq!(s["connections with an unparsable hello"], 8, "{s:?}");
    assert_eq!(s["connections not TLS"], 8, "{s:?}");
    assert_eq!(s["ClientHellos"], 0, "{s:?}");
    assert_eq!(s["TLS connections reported"], 0, "{s:?}");
    let table = text(&o.stdout);
    let read = format!("read {} packets, 16 TCP connections", packets.len());
    assert!(table.contains(&read), "{table}");
}

/// A ClientHello with 16,379 extensions (an SNI and empty ones: its extensions block filled to
/// the 65,535-byte maximum):
/// parsed in full, its fingerprint's extension count capped at 99.
#[test]
fn client_hello_with_as_many_extensions_as_fit() {
    let mut exts = ext_sni(&[(0, b"many.example")]);
    let room = (65_535 - exts.len()) / 4;
    for i in 0..room {
        // Unknown types (none read here), never GREASE.
        exts.extend(ext(0x1000 + (i % 0x4000) as u16, b""));
    }
    assert_eq!(room + 1, 16_379);
    let conn = Conn::new("10.69.0.10", 50_000, "40.97.10.20", 443);
    let ch = records(22, &client_hello(0x0303, &exts));
    let sh = records(22, &server_hello(0x0303, 0xc02f));
    let packets = tls_connection(&conn, t(0), &ch, &sh, &plain);
    let (_, s, rows) = read_connections("many-extensions.pcap", &packets);
    assert_eq!((s["ClientHellos"], s["ServerHellos"]), (1, 1), "{s:?}");
    assert_eq!(s["hellos too large"] + s["hellos malformed"], 0);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["sni"], "many.example");
    assert_eq!(rows[0]["negotiated"], "TLSv1.2");
    assert!(rows[0]["ja4"].starts_with("t12d0299"), "{}", rows[0]["ja4"]);
    assert_eq!(rows[0]["outcome"], "established");
}

/// A server_name extension with 10,000 entries: 9,999 of an unknown name type, then the
/// host_name, which is the one kept.
#[test]
fn sni_extension_with_10000_entries() {
    let mut entries: Vec<(u8, &[u8])> = (0..9_999)
        .map(|i| (1 + (i % 250) as u8, &b"xyz"[..]))
        .collect();
    entries.push((0, b"last.example"));
    let exts = ext_sni(&entries);
    assert!(exts.len() < 65_536);
    let conn = Conn::new("10.70.0.10", 50_000, "40.97.10.20", 443);
    let ch = records(22, &client_hello(0x0301, &exts));
    let sh = records(22, &server_hello(0x0301, 0xc014));
    let packets = tls_connection(&conn, t(0), &ch, &sh, &plain);
    let (_, s, rows) = read_connections("sni-10000.pcap", &packets);
    assert_eq!(s["ClientHellos"], 1, "{s:?}");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["sni"], "last.example");
    assert_eq!(rows[0]["negotiated"], "TLSv1.0");
}

/// GRE in GRE, `depth` times, around an IP packet (outer addresses 192.0.2.1 → .2).
fn gre_nested(ip: Vec<u8>, depth: usize) -> Vec<u8> {
    (0..depth).fold(ip, |p, _| synth::gre_ipv4(&p))
}

/// One TLS 1.0 connection in GRE nested 4 deep (the most followed: decoded), one 5 deep and
/// one 100 deep (skipped packet by packet, counted as nested too deep).
#[test]
fn tunnels_nested_100_deep_are_skipped_and_counted() {
    let mut packets = Vec::new();
    let mut per_depth = Vec::new();
    for (i, depth) in [4usize, 5, 100].into_iter().enumerate() {
        let conn = Conn::new(&format!("10.71.0.{}", 10 + i), 50_000, "40.97.10.20", 443);
        let ch = records(22, &client_hello(0x0301, &ext_sni(&[(0, b"deep.example")])));
        let sh = records(22, &server_hello(0x0301, 0xc014));
        let wrap = move |ip: Vec<u8>| synth::ethernet(&gre_nested(ip, depth));
        let p = tls_connection(&conn, t(i as i64), &ch, &sh, &wrap);
        per_depth.push(p.len() as u64);
        packets.extend(p);
    }
    assert!(packets.last().unwrap().frame.len() > 100 * 24);
    let (o, s, rows) = read_connections("deep-tunnels.pcap", &packets);
    assert_eq!(
        s["tunnels nested too deep"],
        per_depth[1] + per_depth[2],
        "{s:?}"
    );
    assert_eq!(s["TCP segments"], per_depth[0], "{s:?}");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["client_ip"], "10.71.0.10");
    assert_eq!(rows[0]["negotiated"], "TLSv1.0");
    assert!(
        text(&o.stdout).contains(": 1 client: "),
        "{}",
        text(&o.stdout)
    );
}

// ---------------------------------------------------------------------------------------------
// Part 3: mutated fixture captures (proptest).

fn scope() -> &'static Scope {
    static SCOPE: OnceLock<Scope> = OnceLock::new();
    SCOPE.get_or_init(|| Scope::new(EndpointData::embedded(), &[], &[]))
}

/// The per-client census CSV (scope `all`) of a capture, read in-process; the packets read
/// and whether reading stopped at damage. Never panics unless the pipeline does.
fn census_csv(capture: &[u8]) -> (String, u64, bool) {
    let Ok(mut reader) = NativeReader::from_reader("mutated", Cursor::new(capture.to_vec())) else {
        return (String::new(), 0, true);
    };
    let config = Config {
        scope_all: true,
        ..Config::default()
    };
    let mut pipeline = Pipeline::new(scope(), config, Vec::new());
    let damaged = loop {
        match reader.next_frame() {
            Ok(Some(frame)) => pipeline.handle_frame(&frame),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    let packets = reader.packets();
    let (census, stats, _) = pipeline.finish();
    let _ = stats.summary();
    let mut out = Vec::new();
    write_clients(census.sorted(), &mut out).unwrap();
    (text(&out), packets, damaged)
}

/// Client CSV rows by client IP.
fn rows_by_client(csv_text: &str) -> BTreeMap<String, String> {
    csv_text
        .lines()
        .skip(1)
        .filter_map(|l| Some((l.split_once(',')?.0.to_string(), l.to_string())))
        .collect()
}

/// One Enhanced Packet Block of a little-endian pcapng: where its captured length field and
/// its packet bytes are, and the packet's client (the side with the port above 1024).
#[derive(Debug, Clone)]
struct Epb {
    caplen_at: usize,
    data_at: usize,
    caplen: usize,
    client: IpAddr,
    /// Offset of the IP header and of the TCP header in the packet.
    ip_at: usize,
    tcp_at: usize,
    /// Where the TCP payload starts in the packet, and its length.
    payload_at: usize,
    payload_len: usize,
}

struct Sample {
    bytes: Vec<u8>,
    packets: Vec<Epb>,
    baseline: BTreeMap<String, String>,
}

/// fixtures/sample-m365.pcapng, its packets located and its census computed once.
fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let bytes = fs::read(fixture("sample-m365.pcapng")).unwrap();
        let le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let mut packets = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (ty, len) = (le(at), le(at + 4));
            if ty == 6 {
                let caplen = le(at + 20);
                let data_at = at + 28;
                let data = &bytes[data_at..data_at + caplen];
                let frame = Frame {
                    number: 0,
                    ts: Timestamp(0),
                    link: LinkType::ETHERNET,
                    data,
                    orig_len: caplen as u32,
                };
                let seg = tlscensus::decode::decode(&frame).expect("fixture packets decode");
                let client = if seg.src_port > 1024 {
                    seg.src
                } else {
                    seg.dst
                };
                let ip_at = 14;
                let tcp_at = match seg.src {
                    IpAddr::V4(_) => ip_at + usize::from(data[ip_at] & 0x0f) * 4,
                    IpAddr::V6(_) => ip_at + 40,
                };
                let payload_at = seg.payload.as_ptr() as usize - data.as_ptr() as usize;
                packets.push(Epb {
                    caplen_at: at + 20,
                    data_at,
                    caplen,
                    client,
                    ip_at,
                    tcp_at,
                    payload_at,
                    payload_len: seg.payload.len(),
                });
            }
            at += len;
        }
        let (csv_text, n, damaged) = census_csv(&bytes);
        assert_eq!((n, damaged), (138, false));
        let baseline = rows_by_client(&csv_text);
        assert_eq!(baseline.len(), 6, "{csv_text}");
        Sample {
            bytes,
            packets,
            baseline,
        }
    })
}

/// Clients of sample-m365.pcapng with exactly one connection: mutating its packets can only
/// change that client's own row.
const LONE_CLIENTS: [&str; 4] = ["10.1.0.51", "10.1.0.53", "10.1.0.54", "fd00:1::55"];

/// A length field of a packet to overwrite.
#[derive(Debug, Clone, Copy)]
enum LengthField {
    /// The pcapng captured length, made smaller (the packet looks cut by the snap length).
    Caplen,
    /// IPv4 total length / IPv6 payload length.
    IpLength,
    /// TCP data offset (4 bits).
    TcpDataOffset,
    /// A TLS record's length, at the start of the payload.
    RecordLength,
    /// The 24-bit handshake message length after it.
    HandshakeLength,
    /// A 16-bit field inside the hello: lengths of the cipher suites, the extensions block or
    /// an extension, found by their offset from the start of the message.
    HelloLength,
}

#[derive(Debug, Clone)]
enum Mutation {
    BitFlips(Vec<(prop::sample::Index, u8)>),
    Length(LengthField, prop::sample::Index, u32),
}

/// Offsets in a packet that say which flow it belongs to (link type, IP version and protocol,
/// addresses): mutations leave them alone so the packet stays in its connection.
fn names_the_flow(p: &Epb, i: usize) -> bool {
    let v4 = matches!(p.client, IpAddr::V4(_));
    let ip = i.checked_sub(p.ip_at);
    i < p.ip_at
        || match ip {
            Some(0) => true,
            Some(9) if v4 => true,
            Some(12..=19) if v4 => true,
            Some(6) if !v4 => true,
            Some(8..=39) if !v4 => true,
            _ => false,
        }
}

/// Applies a mutation to the packets of `client`'s one connection in the sample.
fn mutate_connection(s: &Sample, client: &str, m: &Mutation) -> Vec<u8> {
    let mut bytes = s.bytes.clone();
    let mine: Vec<&Epb> = s
        .packets
        .iter()
        .filter(|p| p.client.to_string() == client)
        .collect();
    assert!(mine.len() >= 5, "{client}");
    match m {
        Mutation::BitFlips(flips) => {
            for (which, bit) in flips {
                let p = which.get(&mine);
                // A byte of the packet, spread over headers and payload alike.
                let i = (usize::from(*bit) * 7919 + which.index(1 << 16)) % p.caplen;
                if !names_the_flow(p, i) {
                    bytes[p.data_at + i] ^= 1 << (bit % 8);
                }
            }
        }
        Mutation::Length(field, which, value) => {
            let with_payload: Vec<&&Epb> = mine.iter().filter(|p| p.payload_len > 0).collect();
            let p = match field {
                LengthField::RecordLength
                | LengthField::HandshakeLength
                | LengthField::HelloLength => **which.get(&with_payload),
                _ => *which.get(&mine),
            };
            let put16 = |bytes: &mut Vec<u8>, at: usize, v: u32| {
                if at + 2 <= p.data_at + p.caplen {
                    bytes[at..at + 2].copy_from_slice(&(v as u16).to_be_bytes());
                }
            };
            let pay = p.data_at + p.payload_at;
            match field {
                LengthField::Caplen => {
                    let new = (*value as usize) % (p.caplen + 1);
                    bytes[p.caplen_at..p.caplen_at + 4]
                        .copy_from_slice(&(new as u32).to_le_bytes());
                }
                LengthField::IpLength => {
                    let at = p.data_at
                        + p.ip_at
                        + if matches!(p.client, IpAddr::V4(_)) {
                            2
                        } else {
                            4
                        };
                    put16(&mut bytes, at, *value);
                }
                LengthField::TcpDataOffset => {
                    let at = p.data_at + p.tcp_at + 12;
                    bytes[at] = (bytes[at] & 0x0f) | ((*value as u8) << 4);
                }
                LengthField::RecordLength => put16(&mut bytes, pay + 3, *value),
                LengthField::HandshakeLength => {
                    if p.payload_len >= 9 {
                        bytes[pay + 6..pay + 9].copy_from_slice(&value.to_be_bytes()[1..]);
                    }
                }
                LengthField::HelloLength => {
                    // Past the record and handshake headers, version and random: the session
                    // id length, then (given a 32-byte or empty session id) the cipher suites'
                    // length; further 16-bit offsets land in the lists and the extensions.
                    let at = pay + 9 + 34 + (*value as usize >> 16) % p.payload_len.max(1);
                    put16(&mut bytes, at, *value);
                }
            }
        }
    }
    bytes
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)
            .prop_map(Mutation::BitFlips),
        (
            prop_oneof![
                Just(LengthField::Caplen),
                Just(LengthField::IpLength),
                Just(LengthField::TcpDataOffset),
                Just(LengthField::RecordLength),
                Just(LengthField::HandshakeLength),
                Just(LengthField::HelloLength),
            ],
            any::<prop::sample::Index>(),
            prop_oneof![
                Just(0u32),
                Just(u32::MAX),
                any::<u32>(),
                (0u32..64).prop_map(|n| n << 16 | 0xffff)
            ],
        )
            .prop_map(|(f, i, v)| Mutation::Length(f, i, v)),
    ]
}

/// Fixture captures small enough for many cases.
fn small_fixtures() -> &'static Vec<Vec<u8>> {
    static ALL: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            "sample-m365.pcapng",
            "mixed.pcapng",
            "tls13-teams.pcap",
            "tls12-nanosec.pcap",
            "starttls-smtp-tls10-printer.pcap",
            "sslv2-hello-tls10.pcap",
            "tls11-sll.pcap",
            "tls12-null.pcap",
        ]
        .iter()
        .map(|n| fs::read(fixture(n)).unwrap())
        .collect()
    })
}

/// A whole-file mutation: anything may break, including the reading itself.
#[derive(Debug, Clone)]
enum FileMutation {
    BitFlips(prop::sample::Index, Vec<(prop::sample::Index, u8)>),
    Truncate(prop::sample::Index, prop::sample::Index),
    /// The head of one capture, then the tail of another.
    Splice(
        prop::sample::Index,
        prop::sample::Index,
        prop::sample::Index,
        prop::sample::Index,
    ),
    /// A 32-bit little-endian word (the caplen of a record or block, often) overwritten.
    Word(prop::sample::Index, prop::sample::Index, u32),
}

fn apply(m: &FileMutation) -> Vec<u8> {
    let all = small_fixtures();
    match m {
        FileMutation::BitFlips(f, flips) => {
            let mut b = f.get(all).clone();
            for (i, bit) in flips {
                let at = i.index(b.len());
                b[at] ^= 1 << (bit % 8);
            }
            b
        }
        FileMutation::Truncate(f, at) => {
            let b = f.get(all);
            b[..at.index(b.len() + 1)].to_vec()
        }
        FileMutation::Splice(a, at, b, from) => {
            let (a, b) = (a.get(all), b.get(all));
            let mut out = a[..at.index(a.len() + 1)].to_vec();
            out.extend_from_slice(&b[from.index(b.len())..]);
            out
        }
        FileMutation::Word(f, at, v) => {
            let mut b = f.get(all).clone();
            let at = at.index(b.len() - 3) & !3;
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            b
        }
    }
}

fn file_mutation() -> impl Strategy<Value = FileMutation> {
    use prop::sample::Index;
    prop_oneof![
        (
            any::<Index>(),
            prop::collection::vec((any::<Index>(), any::<u8>()), 1..32)
        )
            .prop_map(|(f, v)| FileMutation::BitFlips(f, v)),
        (any::<Index>(), any::<Index>()).prop_map(|(f, a)| FileMutation::Truncate(f, a)),
        (
            any::<Index>(),
            any::<Index>(),
            any::<Index>(),
            any::<Index>()
        )
            .prop_map(|(a, i, b, j)| FileMutation::Splice(a, i, b, j)),
        (
            any::<Index>(),
            any::<Index>(),
            prop_oneof![Just(0u32), Just(u32::MAX), 0u32..300_000, any::<u32>()]
        )
            .prop_map(|(f, a, v)| FileMutation::Word(f, a, v)),
    ]
}

/// Cases per property: 64, small for CI (each case reads a whole capture in-process);
/// `PROPTEST_CASES=N cargo test --test hostile` runs more.
fn cases() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases())]

    /// Mutations of one connection's packets (bit flips anywhere but in what names the flow,
    /// and edits of every length field) change no other client's census row.
    #[test]
    fn mutating_one_connection_leaves_the_others_census_unchanged(
        client in prop::sample::select(&LONE_CLIENTS[..]),
        m in mutation(),
    ) {
        let s = sample();
        let mutated = mutate_connection(s, client, &m);
        let (csv_text, n, damaged) = census_csv(&mutated);
        prop_assert_eq!((n, damaged), (138, false));
        let rows = rows_by_client(&csv_text);
        for (ip, row) in &s.baseline {
            if ip != client {
                prop_assert_eq!(rows.get(ip), Some(row), "client {} changed", ip);
            }
        }
    }

    /// Whole-file mutations (bit flips, truncation, splicing two captures, overwritten length
    /// words) of the fixtures: reading and the pipeline never panic; a cut capture reads the
    /// packets before the cut.
    #[test]
    fn mutated_captures_never_panic(m in file_mutation()) {
        let bytes = apply(&m);
        let (csv_text, _, _) = census_csv(&bytes);
        prop_assert!(csv_text.is_empty() || csv_text.starts_with("client_ip,"));
    }
}

/// A truncated capture keeps the census of the packets before the cut: cutting
/// sample-m365.pcapng at each packet boundary gives the same census as cutting it anywhere
/// inside the next block.
#[test]
fn truncation_keeps_what_came_before() {
    let s = sample();
    for (k, p) in s.packets.iter().enumerate().step_by(9) {
        let block_start = p.caplen_at - 20;
        let (whole, n, damaged) = census_csv(&s.bytes[..block_start]);
        assert_eq!((n, damaged), (k as u64, false));
        for cut in [block_start + 1, block_start + 12, p.data_at + p.caplen / 2] {
            let (got, n, damaged) = census_csv(&s.bytes[..cut]);
            assert_eq!((n, damaged), (k as u64, true), "cut at {cut}");
            assert_eq!(got, whole, "cut at {cut}");
        }
    }
}
