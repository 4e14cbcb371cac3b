//! End-to-end tests of `read`'s selection: `--only` (which clients the outputs keep),
//! `--since`/`--until` (a capture-time window) and `--filter` (a BPF filter on saved frames),
//! on the recorded fixtures, asserting exact rows and counts.

mod common;

use std::process::Output;

use common::{assert_exit, csv_rows, fixture, p, run, stderr, stdout, CLIENT_HEADER};

const SAMPLE: &str = "sample-m365.pcapng";

/// `read FIXTURE ARGS`, checking the exit code.
fn read(fixtures: &[&str], args: &[&str], code: i32) -> Output {
    let paths: Vec<_> = fixtures.iter().map(|f| fixture(f)).collect();
    let mut all = vec!["read", "--color", "never"];
    all.extend(paths.iter().map(|x| p(x)));
    all.extend_from_slice(args);
    run(&all, code)
}

/// The (client_ip, connections, verdict) of each row of a per-client CSV, in its order.
fn clients(csv_text: &str) -> Vec<(String, String, String)> {
    assert_eq!(csv_text.lines().next(), Some(CLIENT_HEADER));
    csv_rows(csv_text)
        .into_iter()
        .map(|r| {
            (
                r["client_ip"].clone(),
                r["connections"].clone(),
                r["verdict"].clone(),
            )
        })
        .collect()
}

fn c(ip: &str, conns: u32, verdict: &str) -> (String, String, String) {
    (ip.into(), conns.to_string(), verdict.into())
}

/// The value of one line of `--stats`' run summary.
fn stat(o: &Output, label: &str) -> Option<u64> {
    stderr(o).lines().find_map(|l| {
        let l = l.trim_start();
        let rest = l.strip_prefix(label)?;
        rest.trim().parse().ok()
    })
}

#[test]
fn only_keeps_those_clients_in_table_csv_json_and_html() {
    let o = read(&[SAMPLE], &["--only", "legacy"], 0);
    let table = stdout(&o);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "TLS census toward Microsoft 365: 5 clients: 1 broken, 2 at risk, 2 ok; 3 shown \
         (--only broken,at-risk)"
    );
    let shown: Vec<&str> = lines[2..5]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(shown, ["10.1.0.53", "10.1.0.50", "10.1.0.51"]);
    assert!(lines[5].starts_with("total: 4 connections;"), "{table}");

    let o = read(&[SAMPLE], &["--only", "legacy", "--csv", "-"], 0);
    let legacy = vec![
        c("10.1.0.53", 1, "broken"),
        c("10.1.0.50", 2, "at-risk"),
        c("10.1.0.51", 1, "at-risk"),
    ];
    assert_eq!(clients(&stdout(&o)), legacy);
    // Repeated or as a list: the same.
    for args in [
        &["--only", "broken,at-risk"][..],
        &["--only", "at-risk", "--only", "broken"],
        &["--only", "broken,legacy"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--csv", "-"]);
        assert_eq!(
            clients(&stdout(&read(&[SAMPLE], &all, 0))),
            legacy,
            "{args:?}"
        );
    }
    let o = read(&[SAMPLE], &["--only", "ok", "--csv", "-"], 0);
    assert_eq!(
        clients(&stdout(&o)),
        [c("10.1.0.52", 2, "ok"), c("fd00:1::55", 1, "ok")]
    );

    let o = read(&[SAMPLE], &["--only", "broken", "--json", "-"], 0);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ips: Vec<&str> = (json["clients"].as_array().unwrap().iter())
        .map(|c| c["client_ip"].as_str().unwrap())
        .collect();
    assert_eq!(ips, ["10.1.0.53"]);

    let o = read(&[SAMPLE], &["--only", "broken", "--html", "-"], 0);
    let html = stdout(&o);
    assert!(html.contains("10.1.0.53"));
    for hidden in ["10.1.0.50", "10.1.0.51", "10.1.0.52", "fd00:1::55"] {
        assert!(!html.contains(hidden), "{hidden}");
    }
}

#[test]
fn only_leaves_connections_ndjson_and_fail_on_alone() {
    let all = read(&[SAMPLE], &["--quiet", "--connections", "-"], 0);
    let only = read(
        &[SAMPLE],
        &["--quiet", "--only", "ok", "--connections", "-"],
        0,
    );
    assert_eq!(csv_rows(&stdout(&only)).len(), 7);
    assert_eq!(stdout(&only), stdout(&all));
    let ndjson = read(&[SAMPLE], &["--quiet", "--only", "ok", "--ndjson", "-"], 0);
    assert_eq!(stdout(&ndjson).lines().count(), 7);
    // --fail-on sees every client, shown or not.
    read(
        &[SAMPLE],
        &["--quiet", "--only", "ok", "--fail-on", "broken"],
        4,
    );
}

#[test]
fn only_with_no_client_of_those_verdicts() {
    let o = read(&[SAMPLE], &["--only", "unknown"], 0);
    let table = stdout(&o);
    assert_eq!(
        table.lines().next().unwrap(),
        "TLS census toward Microsoft 365: 5 clients: 1 broken, 2 at risk, 2 ok; 0 shown \
         (--only unknown)"
    );
    assert!(table
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("total: 0 connections;"));
    let o = read(&[SAMPLE], &["--only", "unknown", "--csv", "-"], 0);
    assert_eq!(stdout(&o), format!("{CLIENT_HEADER}\n"));
}

#[test]
fn since_until_analyse_only_the_window() {
    let args = [
        "--since",
        "2025-03-04T09:33:00Z",
        "--until",
        "2025-03-04T09:45:00Z",
        "--csv",
        "-",
        "--stats",
    ];
    let o = read(&[SAMPLE], &args, 0);
    assert_eq!(
        clients(&stdout(&o)),
        [
            c("10.1.0.53", 1, "broken"),
            c("10.1.0.52", 2, "ok"),
            c("fd00:1::55", 1, "ok"),
        ]
    );
    assert_eq!(stat(&o, "packets read"), Some(84));
    assert_eq!(stat(&o, "packets outside --since/--until"), Some(138 - 84));
    assert_eq!(stat(&o, "packets rejected by --filter"), None);

    // A date is its midnight UTC; until is exclusive, since inclusive.
    let o = read(
        &[SAMPLE],
        &["--until", "2025-03-04", "--csv", "-", "--stats"],
        0,
    );
    assert_eq!(clients(&stdout(&o)), []);
    assert_eq!(stat(&o, "packets outside --since/--until"), Some(138));
    let o = read(
        &[SAMPLE],
        &["--since", "2025-03-04", "--csv", "-", "--stats"],
        0,
    );
    assert_eq!(clients(&stdout(&o)).len(), 5);
    assert_eq!(stat(&o, "packets outside --since/--until"), Some(0));
    // The first packet is at 09:30:00.000000: since it, nothing is left out; until it, all.
    let o = read(
        &[SAMPLE],
        &["--since", "2025-03-04T09:30:00Z", "--stats"],
        0,
    );
    assert_eq!(stat(&o, "packets outside --since/--until"), Some(0));
    // An offset is honoured: 10:45+01:00 is 09:45Z, the start of the last connection.
    let o = read(
        &[SAMPLE],
        &["--until", "2025-03-04T10:45:00+01:00", "--csv", "-"],
        0,
    );
    assert_eq!(clients(&stdout(&o))[1], c("10.1.0.50", 1, "at-risk"));
}

#[test]
fn a_connection_started_before_since_is_seen_mid_stream() {
    // 10.1.0.50's first connection: its ClientHello at 09:30:00.000139, the ServerHello at
    // .000777. From .0002 on, only the server's side of the handshake is seen.
    let o = read(
        &[SAMPLE],
        &[
            "--since",
            "2025-03-04T09:30:00.0002Z",
            "--connections",
            "-",
            "--quiet",
        ],
        0,
    );
    let rows = csv_rows(&stdout(&o));
    assert_eq!(rows.len(), 7);
    let first = &rows[0];
    assert_eq!(first["ts"], "2025-03-04T09:30:00.000777Z");
    assert_eq!(first["client_ip"], "10.1.0.50");
    assert_eq!(first["sni"], "");
    assert_eq!(first["offered_max"], "");
    assert_eq!(first["negotiated"], "TLSv1.0");
    assert_eq!(first["m365_match"], "ip");
}

#[test]
fn bad_selection_values_exit_2_before_reading() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["--since", "2025-03-04T09:33:00"],
            "tlscensus: --since 2025-03-04T09:33:00: not a time (RFC 3339 like \
             2025-03-04T09:30:00Z, or a date like 2025-03-04)\n",
        ),
        (
            &["--until", "yesterday"],
            "tlscensus: --until yesterday: not a time (RFC 3339 like 2025-03-04T09:30:00Z, or a \
             date like 2025-03-04)\n",
        ),
        (
            &["--since", "2025-03-05", "--until", "2025-03-04"],
            "tlscensus: --since 2025-03-05T00:00:00.000000Z is not before --until \
             2025-03-04T00:00:00.000000Z\n",
        ),
        (
            &["--since", "2025-03-04", "--until", "2025-03-04T00:00:00Z"],
            "tlscensus: --since 2025-03-04T00:00:00.000000Z is not before --until \
             2025-03-04T00:00:00.000000Z\n",
        ),
        (
            &["--filter", "hots 10.1.0.50"],
            "tlscensus: --filter \"hots 10.1.0.50\": libpcap error: can't parse filter \
             expression: syntax error\n",
        ),
    ];
    let sample = fixture(SAMPLE);
    for (args, message) in cases {
        let mut all = vec!["read", p(&sample)];
        all.extend_from_slice(args);
        let o = common::tlscensus(&all);
        assert_exit(&o, 2, message);
        assert_eq!(stdout(&o), "");
    }
    // Checked before the inputs: a missing file is not reached.
    let o = common::tlscensus(&["read", "/nonexistent.pcap", "--filter", "tcp port"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("tlscensus: --filter \"tcp port\": "));
}

#[test]
fn filter_selects_frames_with_one_thread_or_two() {
    let args = ["--filter", "host 10.1.0.52 or ip6", "--csv", "-", "--stats"];
    let two = read(&[SAMPLE], &args, 0);
    assert_eq!(
        clients(&stdout(&two)),
        [c("10.1.0.52", 2, "ok"), c("fd00:1::55", 1, "ok")]
    );
    assert_eq!(stat(&two, "packets read"), Some(56));
    assert_eq!(stat(&two, "packets rejected by --filter"), Some(82));
    assert_eq!(stat(&two, "packets outside --since/--until"), None);
    let mut single = args.to_vec();
    single.push("--single-thread");
    let one = read(&[SAMPLE], &single, 0);
    assert_eq!(stdout(&one), stdout(&two));
    assert_eq!(stderr(&one), stderr(&two));

    // With a window too: both count.
    let o = read(
        &[SAMPLE],
        &[
            "--filter",
            "host 10.1.0.52 or ip6",
            "--until",
            "2025-03-04T09:34:00Z",
            "--csv",
            "-",
            "--stats",
        ],
        0,
    );
    assert_eq!(clients(&stdout(&o)), [c("10.1.0.52", 1, "ok")]);
    assert_eq!(stat(&o, "packets outside --since/--until"), Some(138 - 54));
    assert_eq!(stat(&o, "packets rejected by --filter"), Some(54 - 18));
}

#[test]
fn filter_compiles_for_each_link_type() {
    // Raw IP (LINKTYPE 101), Linux cooked v1 and v2, merged into one run.
    let files = ["tls12-rawip.pcap", "tls11-sll.pcap", "tls12-sll2.pcap"];
    for threads in [&[][..], &["--single-thread"]] {
        let mut args = vec![
            "--scope",
            "all",
            "--filter",
            "tcp port 443",
            "--csv",
            "-",
            "--stats",
        ];
        args.extend_from_slice(threads);
        let o = read(&files, &args, 0);
        assert_eq!(
            clients(&stdout(&o)),
            [
                c("10.1.0.19", 1, "at-risk"),
                c("10.1.0.12", 1, "ok"),
                c("10.1.0.18", 1, "ok"),
            ]
        );
        assert_eq!(stat(&o, "packets rejected by --filter"), Some(0));
        let mut args = vec![
            "--scope",
            "all",
            "--filter",
            "host 10.1.0.19",
            "--csv",
            "-",
            "--stats",
        ];
        args.extend_from_slice(threads);
        let o = read(&files, &args, 0);
        assert_eq!(clients(&stdout(&o)), [c("10.1.0.19", 1, "at-risk")]);
        assert_eq!(stat(&o, "packets read"), Some(18));
        assert_eq!(stat(&o, "packets rejected by --filter"), Some(36));
    }
}

#[test]
fn a_filter_that_does_not_fit_one_link_type_leaves_its_packets_out() {
    // `ether host` compiles for Ethernet (checked first) but not for raw IP.
    let files = ["tls12-rawip.pcap", "tls12-gnutls.pcap"];
    let args = [
        "--scope",
        "all",
        "--filter",
        "ether host 00:00:00:00:00:00 or tcp",
        "--csv",
        "-",
        "--stats",
    ];
    let o = read(&files, &args, 0);
    assert_eq!(clients(&stdout(&o)), [c("10.1.0.17", 1, "ok")]);
    assert_eq!(stat(&o, "packets rejected by --filter"), Some(18));
    let warnings: Vec<String> = (stderr(&o).lines())
        .filter(|l| l.starts_with("tlscensus: warning:"))
        .map(String::from)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "tlscensus: warning: --filter \"ether host 00:00:00:00:00:00 or tcp\" does not \
             compile for link type RAW (libpcap error: ethernet addresses supported only on"
        ),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].ends_with("): its packets are left out"));
}
