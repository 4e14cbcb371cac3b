//! Outputs for scripts and other tools: `--json` and `--ndjson` against the CSVs on the same
//! fixtures, JSON with hostile SNIs, `--fail-on` exit codes, `--sort`, colour only on a
//! terminal, shell completions and the man page.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tlscensus::report::csv::{CLIENT_COLUMNS, CONNECTION_COLUMNS};
use tlscensus::report::escape::{csv_cell, visible};
use tlscensus::synth::{self, ack, Conn, From, Packet};

use common::{
    assert_exit, command, csv_file_rows, csv_rows, csv_table, fin_ack, fixture, fixture_captures,
    output, p, spawn, syn, syn_ack, text, BIN,
};

/// Runs `tlscensus ARGS` as if NO_COLOR were not set.
fn tlscensus(args: &[&str]) -> Output {
    output(command(args).env_remove("NO_COLOR"))
}

/// A JSON scalar as the CSV writes it.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a scalar: {other}"),
    }
}

/// Asserts that a JSON object holds exactly the CSV row's columns, each the same value typed:
/// counts and ports numbers, flags booleans, `;` lists arrays, `A=n` lists and JA4 sets
/// objects, empty cells null, text equal to the CSV's without its formula neutralisation.
fn assert_same_row(what: &str, columns: &[&str], csv: &BTreeMap<String, String>, json: &Value) {
    let obj = json.as_object().unwrap_or_else(|| panic!("{what}: {json}"));
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = columns.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected, "{what}: fields");
    for col in columns {
        let cell = &csv[*col];
        let v = &obj[*col];
        let at = format!("{what}: {col}: CSV {cell:?}, JSON {v}");
        match *col {
            "connections" | "sslv3" | "tlsv1_0" | "tlsv1_1" | "tlsv1_2" | "tlsv1_3"
            | "no_server_hello" | "failed" | "client_port" | "server_port" | "quic" => {
                assert!(v.is_u64(), "{at}: not a number");
                assert_eq!(&v.to_string(), cell, "{at}");
            }
            "m365" | "resumed" => {
                assert!(v.is_boolean(), "{at}: not a boolean");
                assert_eq!(&v.to_string(), cell, "{at}");
            }
            "snis" | "service_area" | "endpoint_ids" | "offered_versions" => {
                let items: Vec<String> = v
                    .as_array()
                    .unwrap_or_else(|| panic!("{at}: not an array"))
                    .iter()
                    .map(|i| {
                        if *col == "endpoint_ids" {
                            assert!(i.is_u64(), "{at}");
                        } else {
                            assert!(i.is_string(), "{at}");
                        }
                        scalar(i)
                    })
                    .collect();
                assert_eq!(&csv_cell(&items.join(";")), cell, "{at}");
            }
            "service_areas" => {
                let from_csv: BTreeMap<String, u64> = cell
                    .split(';')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        let (a, n) = s.split_once('=').unwrap();
                        (a.to_string(), n.parse().unwrap())
                    })
                    .collect();
                let from_json: BTreeMap<String, u64> = v
                    .as_object()
                    .unwrap_or_else(|| panic!("{at}: not an object"))
                    .iter()
                    .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
                    .collect();
                assert_eq!(from_csv, from_json, "{at}");
            }
            "ja4_seen" => {
                let m = v
                    .as_object()
                    .unwrap_or_else(|| panic!("{at}: not an object"));
                let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                let from_csv: Vec<&str> = cell.split(';').filter(|s| !s.is_empty()).collect();
                assert_eq!(keys, from_csv, "{at}");
                let conns = obj["connections"].as_u64().unwrap();
                let sum: u64 = m.values().map(|n| n.as_u64().unwrap()).sum();
                assert!(
                    m.values().all(|n| n.as_u64() > Some(0)) && sum <= conns,
                    "{at}"
                );
            }
            _ => {
                assert!(v.is_string() || v.is_null(), "{at}: not a string or null");
                if v.is_null() {
                    assert_eq!(cell, "", "{at}");
                } else {
                    assert_eq!(&csv_cell(v.as_str().unwrap()), cell, "{at}");
                }
            }
        }
    }
}

/// Runs `read` once with all four outputs; returns (clients CSV, JSON, connections CSV, NDJSON).
fn all_outputs(dir: &Path, extra: &[&str], captures: &[&Path]) -> (String, Value, String, String) {
    let (csv, json, conns, nd) = (
        dir.join("c.csv"),
        dir.join("c.json"),
        dir.join("conns.csv"),
        dir.join("conns.ndjson"),
    );
    let mut args = vec![
        "read",
        "-q",
        "--csv",
        p(&csv),
        "--json",
        p(&json),
        "--connections",
        p(&conns),
        "--ndjson",
        p(&nd),
    ];
    args.extend_from_slice(extra);
    args.extend(captures.iter().map(|c| p(c)));
    let o = tlscensus(&args);
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{args:?}: {}",
        text(&o.stderr)
    );
    let json_bytes = fs::read(&json).unwrap();
    (
        fs::read_to_string(&csv).unwrap(),
        serde_json::from_slice(&json_bytes).expect("--json is JSON"),
        fs::read_to_string(&conns).unwrap(),
        fs::read_to_string(&nd).unwrap(),
    )
}

/// Every fixture, each on its own and all together, in both scopes: the JSON clients are the
/// CSV rows in the same order, and the NDJSON lines are the connection rows, field by field.
#[test]
fn json_and_ndjson_fields_equal_the_csv_on_every_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = fixture_captures();
    assert!(fixtures.len() >= 20, "{fixtures:?}");
    let mut runs: Vec<Vec<&Path>> = fixtures.iter().map(|f| vec![f.as_path()]).collect();
    runs.push(fixtures.iter().map(PathBuf::as_path).collect());
    let mut compared = (0, 0);
    for scope in ["m365", "all"] {
        for captures in &runs {
            let what = format!(
                "{scope} {:?}",
                captures.last().unwrap().file_name().unwrap()
            );
            let (csv, json, conns, nd) = all_outputs(dir.path(), &["--scope", scope], captures);

            let (head, rows) = csv_table(&csv);
            assert_eq!(head, CLIENT_COLUMNS);
            let clients = json["clients"].as_array().unwrap();
            assert_eq!(clients.len(), rows.len(), "{what}");
            for (row, client) in rows.iter().zip(clients) {
                assert_same_row(&what, &CLIENT_COLUMNS, row, client);
                compared.0 += 1;
            }
            assert_eq!(json["scope"], scope);
            let inputs: Vec<&str> = json["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(inputs, captures.iter().map(|c| p(c)).collect::<Vec<_>>());

            let (head, rows) = csv_table(&conns);
            assert_eq!(head, CONNECTION_COLUMNS);
            let lines: Vec<&str> = nd.lines().collect();
            assert_eq!(lines.len(), rows.len(), "{what}");
            for (row, line) in rows.iter().zip(lines) {
                let v: Value = serde_json::from_str(line).expect("an NDJSON line is JSON");
                assert_same_row(&what, &CONNECTION_COLUMNS, row, &v);
                compared.1 += 1;
            }
        }
    }
    assert!(compared.0 >= 100 && compared.1 >= 100, "{compared:?}");
}

/// The document's header: format, version, the run summary (as `--stats` counts it) and the
/// endpoint data (as `tlscensus endpoints` describes it).
#[test]
fn json_carries_the_run_summary_and_the_endpoint_data() {
    let dir = tempfile::tempdir().unwrap();
    let (_, json, _, _) = all_outputs(dir.path(), &["--stats"], &[&fixture("sample-m365.pcapng")]);
    assert_eq!(json["format"], "tlscensus-census");
    assert_eq!(json["version"], 1);
    assert_eq!(
        json["generated_by"],
        format!("tlscensus {}", env!("CARGO_PKG_VERSION"))
    );
    let run = &json["run"];
    for (field, n) in [
        ("files", 1),
        ("packets", 138),
        ("tcp_flows", 8),
        ("client_hellos", 8),
        ("server_hellos", 7),
        ("tls_connections", 8),
        ("in_scope_connections", 7),
        ("no_server_hello", 1),
        ("packets_skipped", 0),
    ] {
        assert_eq!(run[field], n, "run.{field}");
    }
    assert_eq!(run["skipped"]["not_tcp"], 0);
    assert_eq!(run["ip_fragments"]["fragments"], 0);
    let data = &json["endpoint_data"];
    assert_eq!(data["instance"], "Worldwide");
    assert_eq!(data["sets"], 64);
    assert!(data["source"].as_str().unwrap().contains("2025-11-14"));

    // --endpoints FILE shows as the file's data.
    let china = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/m365/data/endpoints-china.json"
    );
    let (_, json, _, _) = all_outputs(
        dir.path(),
        &["--endpoints", china],
        &[&fixture("tls13-teams.pcap")],
    );
    assert_eq!(json["endpoint_data"]["instance"], "China");
    assert_eq!(json["endpoint_data"]["sets"], 21);
}

// ---------------------------------------------------------------------------------------------
// Hostile SNIs: a capture made here with tlscensus::synth, one TLS 1.0 connection per SNI.

fn vec16(body: &[u8]) -> Vec<u8> {
    let mut v = u16::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).unwrap().to_be_bytes();
    let mut m = vec![ty, len[1], len[2], len[3]];
    m.extend_from_slice(body);
    m
}

/// A TLS record (RFC 5246 §6.2.1) carrying a ClientHello (§7.4.1.2) with one SNI (RFC 6066 §3).
fn client_hello_record(sni: &[u8]) -> Vec<u8> {
    let mut names = vec![0u8];
    names.extend(vec16(sni));
    let mut ext = 0u16.to_be_bytes().to_vec();
    ext.extend(vec16(&vec16(&names)));
    let mut b = 0x0301u16.to_be_bytes().to_vec();
    b.extend([0x11; 32]);
    b.push(0);
    b.extend(vec16(&[0xc0, 0x14, 0x00, 0x2f]));
    b.extend([1, 0]);
    b.extend(vec16(&ext));
    record(&handshake(1, &b))
}

fn server_hello_record() -> Vec<u8> {
    let mut b = 0x0301u16.to_be_bytes().to_vec();
    b.extend([0x22; 32]);
    b.push(0);
    b.extend(0xc014u16.to_be_bytes());
    b.push(0);
    record(&handshake(2, &b))
}

fn record(msg: &[u8]) -> Vec<u8> {
    let mut r = vec![22, 3, 1];
    r.extend(u16::try_from(msg.len()).unwrap().to_be_bytes());
    r.extend_from_slice(msg);
    r
}

/// One whole connection: handshake, hellos, the client's ChangeCipherSpec, FINs.
fn connection(conn: &Conn, t0: i64, client: &[u8], server: &[u8]) -> Vec<Packet> {
    let ccs = [20, 3, 1, 0, 1, 1];
    let ip = vec![
        conn.ip_packet(From::Client, 0, b"", syn()),
        conn.ip_packet(From::Server, 0, b"", syn_ack()),
        conn.ip_packet(From::Client, 0, b"", ack()),
        conn.ip_packet(From::Client, 0, client, ack()),
        conn.ip_packet(From::Server, 0, server, ack()),
        conn.ip_packet(From::Client, client.len() as u32, &ccs, ack()),
        conn.ip_packet(From::Client, client.len() as u32 + 6, b"", fin_ack()),
        conn.ip_packet(From::Server, server.len() as u32, b"", fin_ack()),
    ];
    ip.into_iter()
        .enumerate()
        .map(|(i, p)| Packet {
            ts_nanos: t0 + i as i64 * 1_000_000,
            frame: synth::ethernet(&p),
        })
        .collect()
}

const HOSTILE_SNIS: &[&[u8]] = &[
    b"\x1b[2J=cmd",
    b"=HYPERLINK(\"http://evil\",\"x\")",
    b"+cmd|' /C calc'!A0",
    b"-2+3",
    b"@SUM(A1)",
    b"quote\"back\\slash",
    b"nul\x00cr\rlf\n.example",
    b"\x7fdel\x08bs",
    b"\xff\xfe\xc3(.example",
    b"semi;colon.example",
    b"\xe2\x80\xaeevil.example",
];

#[test]
fn json_and_ndjson_stay_valid_with_hostile_snis() {
    let dir = tempfile::tempdir().unwrap();
    let mut packets = Vec::new();
    for (i, sni) in HOSTILE_SNIS.iter().enumerate() {
        let conn = Conn::new(&format!("10.66.0.{}", 10 + i), 50_000, "40.97.10.20", 443);
        let t0 = (1_767_225_600 + i as i64) * 1_000_000_000;
        packets.extend(connection(
            &conn,
            t0,
            &client_hello_record(sni),
            &server_hello_record(),
        ));
    }
    let capture = dir.path().join("hostile.pcap");
    synth::write_pcap(&mut fs::File::create(&capture).unwrap(), &packets).unwrap();

    let (csv, json, conns, nd) = all_outputs(dir.path(), &[], &[&capture]);
    for (name, bytes) in [
        ("--json", fs::read(dir.path().join("c.json")).unwrap()),
        ("--ndjson", nd.clone().into_bytes()),
    ] {
        let controls: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|b| (*b < 0x20 && *b != b'\n') || *b == 0x7f || *b >= 0x80)
            .collect();
        assert_eq!(controls, Vec::<u8>::new(), "{name} carries raw bytes");
    }
    let clients = json["clients"].as_array().unwrap();
    assert_eq!(clients.len(), HOSTILE_SNIS.len());
    let lines: Vec<Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), HOSTILE_SNIS.len());
    for (i, sni) in HOSTILE_SNIS.iter().enumerate() {
        let ip = format!("10.66.0.{}", 10 + i);
        // The same text as the CSV, without the leading ' of a neutralised cell.
        let shown = visible(sni);
        let client = clients.iter().find(|c| c["client_ip"] == ip).unwrap();
        assert_eq!(client["snis"], serde_json::json!([shown]), "{ip}");
        assert_eq!(client["verdict"], "at-risk");
        let line = lines.iter().find(|c| c["client_ip"] == ip).unwrap();
        assert_eq!(line["sni"], shown, "{ip}");
        assert_eq!(line["negotiated"], "TLSv1.0");
    }
    // And field by field as the CSVs.
    let rows = csv_rows(&csv);
    for (row, client) in rows.iter().zip(clients) {
        assert_same_row("hostile", &CLIENT_COLUMNS, row, client);
    }
    let rows = csv_rows(&conns);
    for (row, line) in rows.iter().zip(&lines) {
        assert_same_row("hostile", &CONNECTION_COLUMNS, row, line);
    }
}

#[test]
fn ndjson_and_json_to_stdout() {
    let o = tlscensus(&["read", "--ndjson", "-", p(&fixture("sample-m365.pcapng"))]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    // Only the lines (the 7 connections in scope): no table when an output goes to stdout.
    assert_eq!(out.lines().count(), 7, "{out}");
    assert!(out.lines().all(|l| l.starts_with("{\"ts\":")));

    let o = tlscensus(&["read", "--json", "-", p(&fixture("sample-m365.pcapng"))]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).expect("stdout is one JSON document");
    assert_eq!(v["clients"].as_array().unwrap().len(), 5);

    let o = tlscensus(&[
        "read",
        "--json",
        "-",
        "--ndjson",
        "-",
        p(&fixture("sample-m365.pcapng")),
    ]);
    assert_exit(
        &o,
        1,
        "tlscensus: --json and --ndjson cannot both write to standard output\n",
    );
    let o = tlscensus(&[
        "read",
        "--csv",
        "same.out",
        "--json",
        "same.out",
        p(&fixture("sample-m365.pcapng")),
    ]);
    assert_exit(
        &o,
        1,
        "tlscensus: --csv and --json name the same file: same.out\n",
    );
}

#[test]
fn unwritable_json_fails_before_reading() {
    for flag in ["--json", "--ndjson"] {
        let o = tlscensus(&[
            "read",
            flag,
            "/nonexistent-dir/out.json",
            p(&fixture("sample-m365.pcapng")),
        ]);
        assert_eq!(o.status.code(), Some(1), "{flag}");
        assert_eq!(
            text(&o.stderr),
            "tlscensus: /nonexistent-dir/out.json: cannot write here: No such file or directory\n"
        );
        assert!(o.stdout.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// --fail-on and exit codes.

fn code(args: &[&str]) -> Option<i32> {
    tlscensus(args).status.code()
}

/// The exit code of `read -q --fail-on ON CAPTURE`.
fn fail_on(on: &str, capture: &Path) -> Option<i32> {
    code(&["read", "-q", "--fail-on", on, p(capture)])
}

#[test]
fn fail_on_broken_exits_4_when_a_broken_client_exists() {
    let broken = fixture("failed-tls10-vs-min12.pcap");
    let ok = fixture("tls13-teams.pcap");
    assert_eq!(fail_on("broken", &broken), Some(4));
    assert_eq!(fail_on("broken", &ok), Some(0));
    assert_eq!(
        code(&["read", "-q", p(&broken)]),
        Some(0),
        "only with --fail-on"
    );
    // The outputs are written all the same, and the table printed.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("c.csv");
    let o = tlscensus(&["read", "--fail-on", "broken", "--csv", p(&csv), p(&broken)]);
    assert_eq!(o.status.code(), Some(4));
    assert!(fs::read_to_string(&csv).unwrap().contains(",broken,"));
    assert!(text(&o.stdout).contains("1 broken"));
    assert_eq!(text(&o.stderr), "", "nothing on stderr: the code says it");
}

#[test]
fn fail_on_at_risk_and_legacy() {
    let broken = fixture("failed-tls10-vs-min12.pcap"); // one broken client
    let at_risk = fixture("tls10-exchange.pcap"); // one at-risk client
    let ok = fixture("tls13-teams.pcap");
    let both = fixture("sample-m365.pcapng"); // broken, at risk and ok
    let cases = [
        ("broken", &broken, 4),
        ("broken", &at_risk, 0),
        ("at-risk", &broken, 0),
        ("at-risk", &at_risk, 4),
        ("at-risk", &ok, 0),
        ("legacy", &broken, 4),
        ("legacy", &at_risk, 4),
        ("legacy", &ok, 0),
        ("legacy", &both, 4),
        ("at-risk", &both, 4),
        ("broken", &both, 4),
    ];
    for (on, capture, want) in cases {
        assert_eq!(
            fail_on(on, capture),
            Some(want),
            "--fail-on {on} {capture:?}"
        );
    }
    assert_eq!(fail_on("old", &ok), Some(2));
}

/// Exit code precedence: an error (1) wins over --fail-on (4), which wins over damaged
/// input (3): the legacy client exists whatever was not read.
#[test]
fn fail_on_wins_over_damaged_input() {
    let dir = tempfile::tempdir().unwrap();
    let whole = fs::read(fixture("tls10-exchange.pcap")).unwrap();
    let cut = dir.path().join("cut.pcap");
    fs::write(&cut, &whole[..whole.len() - 10]).unwrap();
    assert_eq!(code(&["read", "-q", p(&cut)]), Some(3));
    assert_eq!(fail_on("legacy", &cut), Some(4));
    assert_eq!(fail_on("broken", &cut), Some(3));
    let o = tlscensus(&[
        "read",
        "-q",
        "--fail-on",
        "legacy",
        "--csv",
        "/nonexistent-dir/c.csv",
        p(&cut),
    ]);
    assert_eq!(o.status.code(), Some(1));
}

/// The exit codes are one table in the README and in `--help`; each is a code the binary uses.
#[test]
fn exit_codes_are_documented_in_help_and_readme() {
    let help = text(&tlscensus(&["--help"]).stdout);
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = &readme[readme.find("## Exit codes").expect("README: ## Exit codes")..];
    for code in ["0", "1", "2", "3", "4", "130"] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} "))),
            "--help lacks exit code {code}:\n{help}"
        );
        assert!(
            table.contains(&format!("\n| {code} |")),
            "README lacks exit code {code}"
        );
    }
    assert!(help.contains("--fail-on"), "{help}");
    // The short help stays short.
    assert!(!text(&tlscensus(&["-h"]).stdout).contains("Exit codes"));
}

// ---------------------------------------------------------------------------------------------
// --sort.

/// `--sort` orders the table, --csv and --json alike; each order is checked on its key.
#[test]
fn sort_orders_the_table_the_csv_and_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let captures: Vec<PathBuf> = fixture_captures();
    let caps: Vec<&Path> = captures.iter().map(PathBuf::as_path).collect();
    let rank = |v: &str| {
        ["broken", "at-risk", "unknown", "ok"]
            .iter()
            .position(|x| *x == v)
            .unwrap()
    };
    let n = |r: &BTreeMap<String, String>, k: &str| -> u64 { r[k].parse().unwrap() };
    let legacy = |r: &BTreeMap<String, String>| n(r, "sslv3") + n(r, "tlsv1_0") + n(r, "tlsv1_1");
    let ip = |r: &BTreeMap<String, String>| -> std::net::IpAddr { r["client_ip"].parse().unwrap() };
    for order in [
        "verdict",
        "connections",
        "legacy",
        "client",
        "first-seen",
        "last-seen",
    ] {
        let (csv, json, _, _) =
            all_outputs(dir.path(), &["--scope", "all", "--sort", order], &caps);
        let rows = csv_rows(&csv);
        assert!(rows.len() >= 20, "{order}: {}", rows.len());
        for w in rows.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let key = |r: &BTreeMap<String, String>| match order {
                "verdict" => (
                    rank(&r["verdict"]) as i64,
                    -(n(r, "connections") as i64),
                    String::new(),
                ),
                "connections" => (-(n(r, "connections") as i64), 0, String::new()),
                "legacy" => (
                    -(legacy(r) as i64),
                    rank(&r["verdict"]) as i64,
                    format!("{:020}", u64::MAX - n(r, "connections")),
                ),
                "client" => (0, 0, String::new()),
                "first-seen" => (0, 0, r["first_seen"].clone()),
                "last-seen" => (0, 0, String::new()),
                _ => unreachable!(),
            };
            let (ka, kb) = (key(a), key(b));
            assert!(ka <= kb, "{order}: {a:?} before {b:?}");
            if order == "last-seen" {
                assert!(
                    a["last_seen"] >= b["last_seen"],
                    "{order}: {a:?} before {b:?}"
                );
            }
            if ka == kb && (order != "last-seen" || a["last_seen"] == b["last_seen"]) {
                assert!(
                    ip(a) < ip(b),
                    "{order}: ties by address: {a:?} before {b:?}"
                );
            }
        }
        let from_csv: Vec<&str> = rows.iter().map(|r| r["client_ip"].as_str()).collect();
        let from_json: Vec<&str> = json["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["client_ip"].as_str().unwrap())
            .collect();
        assert_eq!(from_csv, from_json, "{order}");
        // The table, in the same order.
        let mut args = vec!["read", "--scope", "all", "--sort", order];
        args.extend(caps.iter().map(|c| p(c)));
        let table = text(&tlscensus(&args).stdout);
        let from_table: Vec<&str> = table
            .lines()
            .skip(2)
            .take(from_csv.len())
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        assert_eq!(from_csv, from_table, "{order}:\n{table}");
    }
    assert_eq!(
        code(&["read", "--sort", "size", p(&fixture("tls13-teams.pcap"))]),
        Some(2)
    );
}

// ---------------------------------------------------------------------------------------------
// Colour.

/// The table of `read fixtures/sample-m365.pcapng` as the README shows it.
fn readme_table() -> String {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("```\nTLS census toward Microsoft 365: 5 clients")
        .expect("README shows the sample table")
        + 4;
    let end = start + readme[start..].find("```").unwrap();
    readme[start..end].to_string()
}

#[test]
fn no_escape_codes_into_a_pipe_or_with_no_color() {
    let sample = fixture("sample-m365.pcapng");
    let plain = tlscensus(&["read", p(&sample)]);
    assert_eq!(plain.status.code(), Some(0));
    // Into a pipe, byte for byte the table the README shows.
    assert_eq!(text(&plain.stdout), readme_table());
    assert!(!plain.stdout.contains(&0x1b));
    let never = tlscensus(&["read", "--color", "never", p(&sample)]);
    assert_eq!(never.stdout, plain.stdout);
    let no_color = output(command(["read", p(&sample)]).env("NO_COLOR", "1"));
    assert_eq!(no_color.stdout, plain.stdout);

    // --color always colours the VERDICT column only, keeping the columns aligned.
    let always = tlscensus(&["read", "--color", "always", p(&sample)]);
    let coloured = text(&always.stdout);
    assert!(
        coloured.contains("10.1.0.53   \x1b[1;31mbroken\x1b[0m       1"),
        "{coloured}"
    );
    assert!(coloured.contains("\x1b[33mat-risk\x1b[0m"));
    assert!(coloured.contains("\x1b[32mok\x1b[0m"));
    let stripped = coloured
        .replace("\x1b[1;31m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[32m", "")
        .replace("\x1b[0m", "");
    assert_eq!(stripped, readme_table());
}

/// On a terminal (a pseudo-terminal made by script(1)): colour by default, none with NO_COLOR.
#[test]
fn colour_on_a_terminal_unless_no_color() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("script(1) not installed: terminal colour test skipped");
        return;
    }
    let run = |no_color: Option<&str>| -> String {
        // stderr (the progress bar's cursor movements) left out: the table is what is checked.
        let cmd = format!(
            "{} read {} 2>/dev/null",
            BIN,
            p(&fixture("sample-m365.pcapng"))
        );
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR");
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    let tty = run(None);
    assert!(tty.contains("\x1b[1;31mbroken\x1b[0m"), "{tty:?}");
    let tty = run(Some("1"));
    assert!(!tty.contains('\x1b'), "{tty:?}");
    assert!(tty.contains("broken"));
    // An empty NO_COLOR does not count (no-color.org).
    assert!(run(Some("")).contains("\x1b[1;31mbroken"));
}

#[test]
fn color_choice_follows_flag_terminal_and_no_color() {
    use std::ffi::OsStr;
    use tlscensus::cli::ColorArg;
    use tlscensus::settings::use_color;
    let set = Some(OsStr::new("1"));
    let empty = Some(OsStr::new(""));
    assert!(use_color(ColorArg::Auto, true, None));
    assert!(use_color(ColorArg::Auto, true, empty));
    assert!(!use_color(ColorArg::Auto, true, set));
    assert!(!use_color(ColorArg::Auto, false, None));
    assert!(use_color(ColorArg::Always, false, set));
    assert!(!use_color(ColorArg::Never, true, None));
}

// ---------------------------------------------------------------------------------------------
// Completions and the man page.

#[test]
fn completions_for_bash_zsh_fish() {
    for (shell, check) in [
        ("bash", Some(("bash", "-n"))),
        ("zsh", Some(("zsh", "-n"))),
        ("fish", Some(("fish", "--no-execute"))),
        ("elvish", None),
        ("powershell", None),
    ] {
        let o = tlscensus(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = text(&o.stdout);
        for word in ["read", "merge", "json", "fail-on"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
        // The values of --fail-on are completed where the shell's generator lists values.
        if check.is_some() {
            assert!(
                script.contains("at-risk"),
                "{shell} completion lacks at-risk"
            );
        }
        // Syntax-checked by the shell itself where it is installed.
        if let Some((bin, flag)) = check {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("completion");
            fs::write(&file, &script).unwrap();
            match Command::new(bin).arg(flag).arg(&file).output() {
                Ok(o) => assert!(o.status.success(), "{bin}: {}", text(&o.stderr)),
                Err(_) => eprintln!("{bin} not installed: {shell} syntax not checked"),
            }
        }
    }
    assert_eq!(code(&["completions", "tcsh"]), Some(2));
}

#[test]
fn man_pages_render() {
    let o = tlscensus(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let main = text(&o.stdout);
    assert!(main.contains(".TH tlscensus 1"), "{main}");
    assert!(
        main.contains("tlscensus\\-read(1)"),
        "lists the command pages"
    );
    assert!(main.contains(".SH \"EXIT STATUS\""), "{main}");
    let read = text(&tlscensus(&["man", "read"]).stdout);
    assert!(read.contains(".TH tlscensus-read 1"), "{read}");
    assert!(
        read.contains("tlscensus\\-read \\-"),
        "NAME section: {read}"
    );
    for opt in [
        "\\-\\-json",
        "\\-\\-ndjson",
        "\\-\\-fail\\-on",
        "\\-\\-sort",
        "\\-\\-csv",
    ] {
        assert!(read.contains(opt), "read page lacks {opt}");
    }
    let o = tlscensus(&["man", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr)
        .starts_with("tlscensus: man: no command named \"nope\"; commands: read, live"));

    // groff renders it to text with the sections a reader expects.
    match Command::new("groff")
        .args(["-man", "-Tutf8", "-P-cbou"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(read.as_bytes())
                .unwrap();
            let o = child.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", text(&o.stderr));
            let shown = String::from_utf8_lossy(&o.stdout).to_string();
            for s in [
                "NAME",
                "SYNOPSIS",
                "OPTIONS",
                "EXIT STATUS",
                "SEE ALSO",
                "tlscensus-read",
                "--fail-on",
            ] {
                assert!(shown.contains(s), "rendered page lacks {s}:\n{shown}");
            }
            // Justified lines stretch the spaces.
            let words = shown.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(words.contains("[--csv FILE]"), "{shown}");
        }
        Err(_) => eprintln!("groff not installed: man page rendering not checked"),
    }

    // --dir writes every page.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    assert_eq!(code(&["man", "--dir", p(&out)]), Some(0));
    for page in [
        "tlscensus.1",
        "tlscensus-read.1",
        "tlscensus-live.1",
        "tlscensus-merge.1",
    ] {
        let body = fs::read_to_string(out.join(page)).unwrap();
        assert!(body.starts_with(".ie"), "{page}");
    }
    // Every page another page refers to was written.
    for entry in fs::read_dir(&out).unwrap() {
        let body = fs::read_to_string(entry.unwrap().path()).unwrap();
        for (at, _) in body.match_indices("\\fR(1)") {
            let start = body[..at].rfind("\\fB").unwrap() + 3;
            let name = body[start..at].replace("\\-", "-");
            assert!(
                out.join(format!("{name}.1")).exists(),
                "{name}(1) is not written"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `live`: --json rewritten every --every, --ndjson streamed, --fail-on at the end.

/// One TCP connection on loopback carrying a TLS 1.0 ClientHello and ServerHello (the bytes
/// of the hostile-SNI test with a plain SNI), from a listener in this process.
fn loopback_tls10_connection(listener: &std::net::TcpListener) {
    use std::io::{Read, Write};
    let port = listener.local_addr().unwrap().port();
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let hello = client_hello_record(b"outlook.office365.com");
    client.write_all(&hello).unwrap();
    let mut got = vec![0; hello.len()];
    server.read_exact(&mut got).unwrap();
    server.write_all(&server_hello_record()).unwrap();
    let mut reply = vec![0; server_hello_record().len()];
    client.read_exact(&mut reply).unwrap();
    client.write_all(&[20, 3, 1, 0, 1, 1]).unwrap();
    drop(client);
    drop(server);
}

#[test]
fn live_writes_json_and_ndjson_like_read() {
    use std::io::{BufRead, BufReader};
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "note: skipping live_writes_json_and_ndjson_like_read: capturing on lo needs root"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (csv, json, conns, nd) = (
        d.join("c.csv"),
        d.join("c.json"),
        d.join("conns.csv"),
        d.join("conns.ndjson"),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let filter = format!("tcp port {}", listener.local_addr().unwrap().port());
    let mut child = spawn(
        command(["live", "-i", "lo", "--scope", "all", "--duration", "5s"])
            .args(["--every", "1s", "--filter", &filter, "--fail-on", "legacy"])
            .args(["--csv", p(&csv), "--json", p(&json)])
            .args(["--connections", p(&conns), "--ndjson", p(&nd)]),
        Stdio::null(),
    );
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = stderr.any(|l| l.is_ok_and(|l| l.contains("listening on lo")));
    assert!(listening, "live did not start");
    let rest = std::thread::spawn(move || stderr.map_while(Result::ok).collect::<Vec<_>>());
    loopback_tls10_connection(&listener);
    loopback_tls10_connection(&listener);
    // The periodic --json, before the end: the connections decided so far (closed ones).
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let early: Value = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    assert_eq!(early["inputs"], serde_json::json!(["live:lo"]));
    assert_eq!(early["clients"][0]["client_ip"], "127.0.0.1");
    let o = child.wait_with_output().unwrap();
    let stderr = rest.join().unwrap();
    assert_eq!(o.status.code(), Some(4), "--fail-on legacy: {stderr:?}");

    let json: Value = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    assert_eq!(json["scope"], "all");
    assert!(json["run"]["packets"].as_u64() > Some(0));
    let rows = csv_file_rows(&csv);
    let clients = json["clients"].as_array().unwrap();
    assert_eq!((rows.len(), clients.len()), (1, 1));
    assert_same_row("live", &CLIENT_COLUMNS, &rows[0], &clients[0]);
    assert_eq!(clients[0]["connections"], 2);
    assert_eq!(clients[0]["tlsv1_0"], 2);
    let rows = csv_file_rows(&conns);
    let lines: Vec<Value> = fs::read_to_string(&nd)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!((rows.len(), lines.len()), (2, 2));
    for (row, line) in rows.iter().zip(&lines) {
        assert_same_row("live", &CONNECTION_COLUMNS, row, line);
    }
}

// ---------------------------------------------------------------------------------------------
// The new flags parse into what they mean.

#[test]
fn report_merge_completions_and_man_flags_parse() {
    use clap::Parser;
    use tlscensus::census::{ClientOrder, Verdict};
    use tlscensus::cli::{Cli, ColorArg, Command as Sub, FailOnArg, SortArg};
    use tlscensus::settings::{client_order, FailOn};

    let parse = |args: &[&str]| Cli::try_parse_from(args).map(|c| c.command);
    let Ok(Sub::Read(r)) = parse(&[
        "tlscensus",
        "read",
        "a.pcap",
        "--json",
        "c.json",
        "--ndjson",
        "-",
        "--fail-on",
        "at-risk",
        "--sort",
        "last-seen",
        "--color",
        "never",
    ]) else {
        panic!("read")
    };
    let a = r.report;
    assert_eq!(a.json, Some(PathBuf::from("c.json")));
    assert_eq!(a.ndjson, Some(PathBuf::from("-")));
    assert_eq!(
        (a.fail_on, a.sort, a.color),
        (Some(FailOnArg::AtRisk), SortArg::LastSeen, ColorArg::Never)
    );
    let Ok(Sub::Read(r)) = parse(&["tlscensus", "read", "a.pcap"]) else {
        panic!("read")
    };
    assert_eq!(
        (r.report.fail_on, r.report.sort, r.report.color),
        (None, SortArg::Verdict, ColorArg::Auto)
    );
    let Ok(Sub::Live(l)) = parse(&[
        "tlscensus",
        "live",
        "-i",
        "lo",
        "--json",
        "j",
        "--ndjson",
        "n",
        "--fail-on",
        "legacy",
    ]) else {
        panic!("live")
    };
    assert_eq!(l.report.fail_on, Some(FailOnArg::Legacy));
    let Ok(Sub::Merge(m)) = parse(&[
        "tlscensus",
        "merge",
        "a.csv",
        "b.csv",
        "--csv",
        "all.csv",
        "--json",
        "all.json",
        "--sort",
        "client",
        "--fail-on",
        "broken",
        "-q",
    ]) else {
        panic!("merge")
    };
    assert_eq!(m.files, [PathBuf::from("a.csv"), PathBuf::from("b.csv")]);
    assert_eq!(
        (m.csv, m.json),
        (Some("all.csv".into()), Some("all.json".into()))
    );
    assert_eq!(
        (m.sort, m.fail_on, m.quiet),
        (SortArg::Client, Some(FailOnArg::Broken), true)
    );
    assert!(
        parse(&["tlscensus", "merge"]).is_err(),
        "a file is required"
    );
    assert!(matches!(
        parse(&["tlscensus", "completions", "zsh"]),
        Ok(Sub::Completions(_))
    ));
    assert!(parse(&["tlscensus", "completions"]).is_err());
    let Ok(Sub::Man(m)) = parse(&["tlscensus", "man", "read"]) else {
        panic!("man")
    };
    assert_eq!(m.command.as_deref(), Some("read"));
    assert!(parse(&["tlscensus", "man", "read", "--dir", "x"]).is_err());

    // What they mean.
    for (arg, order) in [
        (SortArg::Verdict, ClientOrder::Verdict),
        (SortArg::Connections, ClientOrder::Connections),
        (SortArg::Legacy, ClientOrder::Legacy),
        (SortArg::Client, ClientOrder::Client),
        (SortArg::FirstSeen, ClientOrder::FirstSeen),
        (SortArg::LastSeen, ClientOrder::LastSeen),
    ] {
        assert_eq!(client_order(arg), order);
    }
    let trips = |f: FailOnArg| {
        [Verdict::Broken, Verdict::AtRisk, Verdict::Ok].map(|v| FailOn::from_arg(f).trips(v))
    };
    assert_eq!(trips(FailOnArg::Broken), [true, false, false]);
    assert_eq!(trips(FailOnArg::AtRisk), [false, true, false]);
    assert_eq!(trips(FailOnArg::Legacy), [true, true, false]);
}
