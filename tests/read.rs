//! End-to-end tests: the `tlscensus` binary on the recorded fixtures, asserting exact output.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{
    assert_exit, command, csv_rows, fixture, output, p, stderr, stdout, tlscensus, CLIENT_HEADER,
    CONN_HEADER,
};

/// CSV text → rows of (column → value), checking the header.
fn rows(csv_text: &str, header: &str) -> Vec<BTreeMap<String, String>> {
    assert_eq!(csv_text.lines().next().unwrap(), header);
    csv_rows(csv_text)
}

/// `read ARGS FIXTURES`: the fixtures last.
fn read_fixtures(args: &[&str], fixtures: &[&str]) -> Output {
    let paths: Vec<PathBuf> = fixtures.iter().map(|name| fixture(name)).collect();
    let mut all = vec!["read"];
    all.extend_from_slice(args);
    all.extend(paths.iter().map(|path| p(path)));
    tlscensus(&all)
}

/// `read CAPTURE --csv CSV ARGS`.
fn read_with_csv(capture: &Path, csv: &Path, args: &[&str]) -> Output {
    let mut all = vec!["read", p(capture), "--csv", p(csv)];
    all.extend_from_slice(args);
    tlscensus(&all)
}

/// The connections of a fixture, as (client_ip, server_ip, sni, offered_max, negotiated, m365).
fn connections(file: &str, scope: &str) -> Vec<[String; 6]> {
    let o = read_fixtures(
        &["--quiet", "--scope", scope, "--connections", "-"],
        &[file],
    );
    assert!(o.status.success(), "{file}: {}", stderr(&o));
    rows(&stdout(&o), CONN_HEADER)
        .into_iter()
        .map(|r| {
            [
                r["client_ip"].clone(),
                r["server_ip"].clone(),
                r["sni"].clone(),
                r["offered_max"].clone(),
                r["negotiated"].clone(),
                r["m365"].clone(),
            ]
        })
        .collect()
}

fn conn(c: &str, s: &str, sni: &str, off: &str, neg: &str, m365: bool) -> [String; 6] {
    [c, s, sni, off, neg, if m365 { "true" } else { "false" }].map(String::from)
}

#[test]
fn missing_file_is_one_clear_line() {
    let o = tlscensus(&["read", "no-such-file.pcap"]);
    assert_exit(
        &o,
        1,
        "tlscensus: no-such-file.pcap: No such file or directory\n",
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn empty_directory_is_rejected() {
    // A directory is read recursively (tests/inputs.rs); one with nothing to read is refused.
    let dir = tempfile::tempdir().unwrap();
    let o = tlscensus(&["read", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).ends_with(": empty directory: no files to read (hidden files are skipped)\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unwritable_output_fails_before_reading() {
    let o = read_with_csv(
        &fixture("tls12-sharepoint.pcap"),
        Path::new("/nonexistent-dir/x.csv"),
        &[],
    );
    assert_exit(
        &o,
        1,
        "tlscensus: /nonexistent-dir/x.csv: cannot write here: No such file or directory\n",
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn every_fixture_gives_its_recorded_connection() {
    let ex = "40.97.10.20";
    let sp = "13.107.136.9";
    let teams = "52.112.1.5";
    let o365 = "outlook.office365.com";
    // One connection, recorded once and re-encapsulated in other link types.
    let sharepoint = conn(
        "10.1.0.12",
        sp,
        "contoso.sharepoint.com",
        "TLSv1.2",
        "TLSv1.2",
        true,
    );
    let cases: Vec<(&str, Vec<[String; 6]>)> = vec![
        (
            "tls10-exchange.pcap",
            vec![conn("10.1.0.10", ex, o365, "TLSv1.0", "TLSv1.0", true)],
        ),
        (
            "tls11-exchange.pcap",
            vec![conn("10.1.0.11", ex, o365, "TLSv1.1", "TLSv1.1", true)],
        ),
        ("tls12-sharepoint.pcap", vec![sharepoint.clone()]),
        (
            "tls13-teams.pcap",
            vec![conn(
                "10.1.0.13",
                teams,
                "teams.microsoft.com",
                "TLSv1.3",
                "TLSv1.3",
                true,
            )],
        ),
        (
            "failed-tls10-vs-min12.pcap",
            vec![conn("10.1.0.14", ex, o365, "TLSv1.0", "", true)],
        ),
        (
            "tls12-outside.pcap",
            vec![conn(
                "10.1.0.15",
                "198.51.100.7",
                "www.example.com",
                "TLSv1.2",
                "TLSv1.2",
                false,
            )],
        ),
        (
            "tls13-ipv6-exchange.pcap",
            vec![conn(
                "fd00:1::10",
                "2603:1006:1::20",
                o365,
                "TLSv1.3",
                "TLSv1.3",
                true,
            )],
        ),
        (
            "tls12-gnutls.pcap",
            vec![conn("10.1.0.17", ex, o365, "TLSv1.2", "TLSv1.2", true)],
        ),
        (
            "tls12-sll2.pcap",
            vec![conn("10.1.0.18", ex, o365, "TLSv1.2", "TLSv1.2", true)],
        ),
        (
            "tls11-sll.pcap",
            vec![conn("10.1.0.19", ex, o365, "TLSv1.1", "TLSv1.1", true)],
        ),
        (
            "tls12-nanosec.pcap",
            vec![conn(
                "10.1.0.20",
                teams,
                "teams.microsoft.com",
                "TLSv1.2",
                "TLSv1.2",
                true,
            )],
        ),
        ("tls12-rawip.pcap", vec![sharepoint.clone()]),
        ("tls12-null.pcap", vec![sharepoint.clone()]),
    ];
    for (file, want) in cases {
        assert_eq!(connections(file, "all"), want, "{file}");
    }
}

#[test]
fn connection_row_has_every_field() {
    let o = read_fixtures(&["-q", "--connections", "-"], &["tls13-teams.pcap"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        format!(
            "{CONN_HEADER}\n2025-03-04T09:03:00.000279Z,10.1.0.13,50013,52.112.1.5,443,\
             teams.microsoft.com,TLSv1.3,TLSv1.3,TLS_AES_256_GCM_SHA384,true,ip+sni,\
             Teams;Common,11;12;50;78,established,TLSv1.3,false,,\
             t13d041000_16476d049b0b_78f1d400d464,f146948b4a599d4d7ddf071b74696983,\
             15af977ce25de452b96affa2addb1036,,,tcp\n"
        )
    );
}

#[test]
fn default_scope_leaves_out_servers_outside_microsoft_365() {
    assert_eq!(
        connections("tls12-outside.pcap", "m365"),
        Vec::<[String; 6]>::new()
    );
}

/// The census of the README's sample, exactly.
#[test]
fn sample_census_per_client() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("clients.csv");
    let conns_path = dir.path().join("conns.csv");
    let o = read_with_csv(
        &fixture("sample-m365.pcapng"),
        &csv_path,
        &["--connections", p(&conns_path)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let got: Vec<String> = rows(&text, CLIENT_HEADER)
        .iter()
        .map(|r| {
            [
                "client_ip",
                "connections",
                "sslv3",
                "tlsv1_0",
                "tlsv1_1",
                "tlsv1_2",
                "tlsv1_3",
                "no_server_hello",
                "max_offered",
                "snis",
                "verdict",
                "service_areas",
                "failed",
                "lowest_negotiated",
            ]
            .map(|k| r[k].as_str())
            .join(",")
        })
        .collect();
    assert_eq!(
        got,
        [
            "10.1.0.53,1,0,0,0,0,0,1,TLSv1.0,outlook.office365.com,broken,Exchange=1;Common=1,1,",
            "10.1.0.50,2,0,2,0,0,0,0,TLSv1.0,outlook.office365.com,at-risk,Exchange=2;Common=2,0,TLSv1.0",
            "10.1.0.51,1,0,0,1,0,0,0,TLSv1.1,contoso.sharepoint.com,at-risk,SharePoint=1,0,TLSv1.1",
            "10.1.0.52,2,0,0,0,1,1,0,TLSv1.3,outlook.office365.com;teams.microsoft.com,ok,Exchange=1;Teams=1;Common=2,0,TLSv1.2",
            "fd00:1::55,1,0,0,0,1,0,0,TLSv1.2,outlook.office365.com,ok,Exchange=1;Common=1,0,TLSv1.2",
        ]
    );
    let first = &rows(&text, CLIENT_HEADER)[1];
    assert_eq!(first["first_seen"], "2025-03-04T09:30:00.000139Z");
    assert_eq!(first["last_seen"], "2025-03-04T09:45:00.000146Z");
    // The outside client is not in the default scope: 7 of 8 connections.
    let conns = std::fs::read_to_string(&conns_path).unwrap();
    assert_eq!(rows(&conns, CONN_HEADER).len(), 7);
    let outcomes: Vec<String> = rows(&conns, CONN_HEADER)
        .iter()
        .map(|r| format!("{} {}", r["client_ip"], r["outcome"]))
        .collect();
    assert!(outcomes.contains(&"10.1.0.53 alert:protocol_version".to_string()));
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.ends_with(" established"))
            .count(),
        6
    );
    // The table: broken clients first, then at risk, then ok; then totals.
    let table = stdout(&o);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "TLS census toward Microsoft 365: 5 clients: 1 broken, 2 at risk, 2 ok"
    );
    assert!(lines[1].starts_with("CLIENT "), "{table}");
    assert!(lines[2].starts_with("10.1.0.53 ") && lines[2].contains(" broken "));
    assert!(lines[3].starts_with("10.1.0.50 ") && lines[3].contains(" at-risk "));
    assert!(lines[4].starts_with("10.1.0.51 "));
    assert!(table.contains(
        "total: 7 connections; SSL 0, TLS1.0 2, TLS1.1 1, TLS1.2 2, TLS1.3 1, other 0, no ServerHello 1"
    ));
}

#[test]
fn several_files_make_one_census_and_stdin_reads_a_capture() {
    let o = read_fixtures(
        &["-q", "--csv", "-"],
        &[
            "tls10-exchange.pcap",
            "tls11-exchange.pcap",
            "tls12-sll2.pcap",
        ],
    );
    assert!(o.status.success());
    let clients: Vec<String> = rows(&stdout(&o), CLIENT_HEADER)
        .iter()
        .map(|r| format!("{} {}", r["client_ip"], r["verdict"]))
        .collect();
    assert_eq!(
        clients,
        ["10.1.0.10 at-risk", "10.1.0.11 at-risk", "10.1.0.18 ok"]
    );

    let o = output(
        command(["read", "-q", "--connections", "-", "-"])
            .stdin(std::fs::File::open(fixture("tls11-sll.pcap")).unwrap()),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = rows(&stdout(&o), CONN_HEADER);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["negotiated"], "TLSv1.1");
}

#[test]
fn truncated_capture_keeps_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("c.csv");
    let o = read_with_csv(&fixture("truncated.pcap"), &csv_path, &[]);
    assert_exit(
        &o,
        3,
        format!(
            "tlscensus: warning: {}: capture is cut short after packet 17 (it ends at byte \
             2840, inside the 16-byte record header + 66-byte packet that starts at byte 2778); \
             results cover the packets before it\n",
            fixture("truncated.pcap").display()
        ),
    );
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let r = rows(&text, CLIENT_HEADER);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["client_ip"], "10.1.0.12");
    assert_eq!(r[0]["tlsv1_2"], "1");
    assert!(stdout(&o).contains("10.1.0.12"));
}

#[test]
fn not_a_capture_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("c.csv");
    let f = fixture("not-a-capture.txt");
    let o = read_with_csv(&f, &csv_path, &[]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: not a pcap or pcapng capture (unknown file format)\n",
            f.display()
        ),
    );
    assert!(!csv_path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn empty_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("empty.pcap");
    std::fs::write(&f, b"").unwrap();
    let o = tlscensus(&["read", f.to_str().unwrap()]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: empty file: not a pcap or pcapng capture\n",
            f.display()
        ),
    );
}

#[test]
fn unsupported_link_type_is_named() {
    // A classic pcap header with LINKTYPE_IEEE802_11_RADIOTAP (127) and no packets.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("wifi.pcap");
    let mut h = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&127u32.to_le_bytes());
    std::fs::write(&f, &h).unwrap();
    let o = tlscensus(&["read", f.to_str().unwrap()]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: unsupported link type IEEE802_11_RADIOTAP (127); supported: \
             ETHERNET, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP\n",
            f.display()
        ),
    );
}

#[test]
fn pcapng_with_interfaces_of_different_link_types() {
    // Ethernet, Linux cooked v2 and BSD loopback interfaces, µs and ns resolutions, in one file.
    let mut got = connections("mixed.pcapng", "all");
    got.sort();
    let o365 = "outlook.office365.com";
    assert_eq!(
        got,
        [
            conn("10.1.0.10", "40.97.10.20", o365, "TLSv1.0", "TLSv1.0", true),
            conn(
                "10.1.0.12",
                "13.107.136.9",
                "contoso.sharepoint.com",
                "TLSv1.2",
                "TLSv1.2",
                true
            ),
            conn("10.1.0.18", "40.97.10.20", o365, "TLSv1.2", "TLSv1.2", true),
            conn(
                "10.1.0.20",
                "52.112.1.5",
                "teams.microsoft.com",
                "TLSv1.2",
                "TLSv1.2",
                true
            ),
            conn(
                "fd00:1::10",
                "2603:1006:1::20",
                o365,
                "TLSv1.3",
                "TLSv1.3",
                true
            ),
        ]
    );
}
