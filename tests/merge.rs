//! `tlscensus merge`: the censuses of parts of a capture merge into the census of the whole,
//! byte for byte; files of another format and malformed cells are refused with one line.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use common::{assert_exit, fixture, p, text, tlscensus, tlscensus_stdin, CLIENT_HEADER};

/// `read --csv` (and `--json`) of captures; returns the CSV text and the JSON document.
fn census(dir: &Path, name: &str, captures: &[&Path], extra: &[&str]) -> (PathBuf, Value) {
    let csv = dir.join(format!("{name}.csv"));
    let json = dir.join(format!("{name}.json"));
    let mut args = vec!["read", "-q", "--csv", p(&csv), "--json", p(&json)];
    args.extend_from_slice(extra);
    args.extend(captures.iter().map(|c| p(c)));
    let o = tlscensus(&args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
    let v = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    (csv, v)
}

/// Packets of `fixtures/sample-m365.pcapng` (138 packets, 8 TCP connections, each a run of
/// consecutive packets: 1-18, 19-36, 37-54, 55-74, 75-84, 85-102, 103-120, 121-138).
const CONNECTIONS: [&str; 8] = [
    "1-18", "19-36", "37-54", "55-74", "75-84", "85-102", "103-120", "121-138",
];

/// The packets in `ranges` of the sample, written by `editcap -r` to `out`. `None` (with a note)
/// when editcap is not installed.
fn editcap(out: &Path, ranges: &[&str]) -> Option<()> {
    let mut cmd = Command::new("editcap");
    cmd.arg("-r").arg(fixture("sample-m365.pcapng")).arg(out);
    cmd.args(ranges);
    match cmd.stdout(Stdio::null()).output() {
        Ok(o) => {
            assert!(o.status.success(), "editcap: {}", text(&o.stderr));
            Some(())
        }
        Err(_) => {
            eprintln!("editcap not installed (Debian: wireshark-common): merge split test skipped");
            None
        }
    }
}

/// Two ways to halve the sample: the first four connections and the last four, and every other
/// connection (so that clients with two connections have one in each half).
#[test]
fn merge_of_two_halves_equals_the_census_of_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sample = fixture("sample-m365.pcapng");
    for scope in ["m365", "all"] {
        let (whole_csv, whole_json) = census(d, "whole", &[&sample], &["--scope", scope]);
        let whole = fs::read(&whole_csv).unwrap();
        let evens: Vec<&str> = CONNECTIONS.iter().copied().step_by(2).collect();
        let odds: Vec<&str> = CONNECTIONS.iter().copied().skip(1).step_by(2).collect();
        for (split, a_ranges, b_ranges) in [
            ("halves", &CONNECTIONS[..4], &CONNECTIONS[4..]),
            ("alternate", &evens[..], &odds[..]),
        ] {
            let (a, b) = (d.join("a.pcapng"), d.join("b.pcapng"));
            if editcap(&a, a_ranges).is_none() || editcap(&b, b_ranges).is_none() {
                return;
            }
            let (a_csv, _) = census(d, "a", &[&a], &["--scope", scope]);
            let (b_csv, _) = census(d, "b", &[&b], &["--scope", scope]);
            assert_ne!(fs::read(&a_csv).unwrap(), whole, "a half is not the whole");
            let merged = d.join("merged.csv");
            let merged_json = d.join("merged.json");
            let o = tlscensus(&[
                "merge",
                p(&a_csv),
                p(&b_csv),
                "--csv",
                p(&merged),
                "--json",
                p(&merged_json),
            ]);
            assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
            assert_eq!(
                text(&fs::read(&merged).unwrap()),
                text(&whole),
                "{scope} {split}: merged CSV = census of the whole"
            );
            // The JSON clients too, but for the JA4 counts, which a CSV does not carry.
            let merged_json: Value =
                serde_json::from_slice(&fs::read(&merged_json).unwrap()).unwrap();
            let mut expected = whole_json["clients"].clone();
            for c in expected.as_array_mut().unwrap() {
                for (_, n) in c["ja4_seen"].as_object_mut().unwrap() {
                    *n = Value::Null;
                }
            }
            assert_eq!(merged_json["clients"], expected, "{scope} {split}");
            assert_eq!(merged_json["format"], "tlscensus-census");
            assert!(merged_json["run"].is_null() && merged_json["endpoint_data"].is_null());
            assert_eq!(
                merged_json["inputs"],
                serde_json::json!([p(&a_csv), p(&b_csv)])
            );
            // The merged census merges again to itself plus nothing: merging is stable.
            let o = tlscensus(&["merge", "-q", p(&merged)]);
            assert_eq!(text(&o.stdout), text(&whole), "{scope} {split}: stdout");
        }
    }
}

/// Several fixtures read as one census equal their separate censuses merged, in every order.
#[test]
fn merge_of_fixtures_equals_reading_them_together() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Fixtures with no connection in common (several fixtures are the same connection
    // re-encapsulated, which one census counts once).
    let names = [
        "sample-m365.pcapng",
        "tls10-exchange.pcap",
        "tls11-exchange.pcap",
        "tls12-sharepoint.pcap",
        "failed-tls10-vs-min12.pcap",
        "tls13-ipv6-exchange.pcap",
        "starttls-smtp-tls10-vs-min12.pcap",
        "service-areas.pcapng",
        "resumption-tls13.pcap",
    ];
    let captures: Vec<PathBuf> = names.iter().map(|n| fixture(n)).collect();
    let caps: Vec<&Path> = captures.iter().map(PathBuf::as_path).collect();
    for sort in ["verdict", "client", "last-seen"] {
        let extra = ["--scope", "all", "--sort", sort];
        let (together, _) = census(d, "together", &caps, &extra);
        let parts: Vec<PathBuf> = caps
            .iter()
            .enumerate()
            .map(|(i, c)| census(d, &format!("part{i}"), &[c], &extra).0)
            .collect();
        for order in [false, true] {
            let mut files: Vec<&str> = parts.iter().map(|f| p(f)).collect();
            if order {
                files.reverse();
            }
            let mut args = vec!["merge", "-q", "--sort", sort];
            args.extend(files);
            let o = tlscensus(&args);
            assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
            assert_eq!(
                text(&o.stdout),
                fs::read_to_string(&together).unwrap(),
                "--sort {sort}, reversed {order}"
            );
        }
    }
}

/// A client broken on one sensor (refused, offering TLS 1.0) that offered TLS 1.2 on another is
/// at risk, not broken: the verdict is recomputed from the merged client.
#[test]
fn verdict_is_recomputed_from_the_merged_client() {
    let dir = tempfile::tempdir().unwrap();
    let header = format!("{CLIENT_HEADER}\n");
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    fs::write(
        &a,
        format!(
            "{header}10.9.0.1,1,0,0,0,0,0,1,TLSv1.0,2026-01-01T10:00:00.000000Z,\
             2026-01-01T10:00:00.000000Z,smtp.office365.com,broken,Exchange=1,1,,t10d_x,0\n"
        ),
    )
    .unwrap();
    fs::write(
        &b,
        format!(
            "{header}10.9.0.1,2,0,0,0,2,0,0,TLSv1.2,2025-12-31T09:00:00.000000Z,\
             2026-01-02T08:00:00.000000Z,outlook.office365.com,ok,Exchange=2;Common=2,0,\
             TLSv1.2,t12d_y,0\n"
        ),
    )
    .unwrap();
    let o = tlscensus(&["merge", p(&a), p(&b), "--fail-on", "broken"]);
    assert_eq!(o.status.code(), Some(0), "no longer broken");
    assert_eq!(
        text(&o.stdout),
        format!(
            "{header}10.9.0.1,3,0,0,0,2,0,1,TLSv1.2,2025-12-31T09:00:00.000000Z,\
             2026-01-02T08:00:00.000000Z,outlook.office365.com;smtp.office365.com,at-risk,\
             Exchange=3;Common=2,1,TLSv1.2,t10d_x;t12d_y,0\n"
        )
    );
    assert_eq!(
        text(&o.stderr),
        "tlscensus: merged 2 files: 1 client: 0 broken, 1 at risk, 0 ok\n"
    );
    assert_eq!(
        tlscensus(&["merge", "-q", p(&a), p(&b), "--fail-on", "legacy"])
            .status
            .code(),
        Some(4)
    );
    assert_eq!(
        tlscensus(&["merge", "-q", p(&a), "--fail-on", "broken"])
            .status
            .code(),
        Some(4)
    );
}

#[test]
fn files_of_another_format_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (good, _) = census(d, "good", &[&fixture("tls10-exchange.pcap")], &[]);
    let conns = d.join("conns.csv");
    assert_eq!(
        tlscensus(&[
            "read",
            "-q",
            "--connections",
            p(&conns),
            p(&fixture("tls10-exchange.pcap"))
        ])
        .status
        .code(),
        Some(0)
    );
    let empty = d.join("empty.csv");
    fs::write(&empty, "").unwrap();
    let foo = d.join("b.csv");
    fs::write(&foo, "client_ip,connections,foo\n10.0.0.1,1,2\n").unwrap();
    let newer = d.join("newer.csv");
    let mut with_extra = fs::read_to_string(&good).unwrap();
    with_extra = with_extra.replacen("quic\n", "quic,ja3_seen\n", 1);
    fs::write(&newer, with_extra).unwrap();
    let out = d.join("out.csv");
    for (file, why) in [
        (
            &conns,
            "column 1 is \"ts\", expected \"client_ip\"".to_string(),
        ),
        (&foo, "column 3 is \"foo\", expected \"sslv3\"".to_string()),
        (&empty, "it is empty".to_string()),
        (
            &newer,
            "column 19 \"ja3_seen\" is not one this version writes: a file from a newer \
             tlscensus?"
                .to_string(),
        ),
        (
            &fixture("sample-m365.pcapng"),
            String::new(), // binary: refused, whatever the reason given
        ),
    ] {
        let o = tlscensus(&["merge", p(&good), p(file), "--csv", p(&out)]);
        assert_eq!(o.status.code(), Some(1), "{file:?}");
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.starts_with(&format!("tlscensus: {}: ", p(file))),
            "{err}"
        );
        if !why.is_empty() {
            assert_eq!(
                err,
                format!(
                    "tlscensus: {}: not a tlscensus client census ({why})\n",
                    p(file)
                )
            );
        }
        assert!(!out.exists(), "nothing written");
        assert!(o.stdout.is_empty());
    }
    let o = tlscensus(&["merge", "no-such.csv"]);
    assert_exit(&o, 1, "tlscensus: no-such.csv: No such file or directory\n");
}

#[test]
fn malformed_cells_are_refused_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (good, _) = census(d, "good", &[&fixture("sample-m365.pcapng")], &[]);
    let csv = fs::read_to_string(&good).unwrap();
    let bad = d.join("bad.csv");
    let cases = [
        // (from, to, message after "bad.csv: line 4: ")
        (
            "10.1.0.51,1,0,0,1,",
            "10.1.0.51,1,0,x,1,",
            "column \"tlsv1_0\": \"x\" is not a count",
        ),
        (
            ",TLSv1.1,2025",
            ",TLS 1.1,2025",
            "column \"max_offered\": \"TLS 1.1\" is not a TLS version (TLSv1.2, SSLv3, 0x7f17, ...)",
        ),
        (
            "SharePoint=1",
            "OneDrive=1",
            "column \"service_areas\": \"OneDrive=1\" is not a list of AREA=COUNT",
        ),
        (
            "contoso.sharepoint.com,at-risk",
            "contoso.sharepoint.com,ok",
            "verdict \"ok\" does not follow from the row's counts and versions",
        ),
    ];
    for (from, to, why) in cases {
        assert_eq!(csv.matches(from).count(), 1, "{from}");
        fs::write(&bad, csv.replace(from, to)).unwrap();
        let o = tlscensus(&["merge", p(&good), p(&bad)]);
        assert_eq!(o.status.code(), Some(1), "{to}");
        assert_eq!(
            text(&o.stderr),
            format!("tlscensus: {}: line 4: {why}\n", p(&bad))
        );
        assert!(o.stdout.is_empty(), "nothing written");
    }
    // A file given twice, and stdin twice.
    let o = tlscensus(&["merge", p(&good), p(&good)]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {} is given twice: its clients would count double\n",
            p(&good)
        ),
    );
}

/// `-` reads a census from standard input; a neutralised SNI reads back as it was sent.
#[test]
fn stdin_and_hostile_text_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let header = format!("{CLIENT_HEADER}\n");
    let row = "10.66.0.10,1,0,1,0,0,0,0,TLSv1.0,2026-01-01T00:00:00.001000Z,\
               2026-01-01T00:00:00.001000Z,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",\
               at-risk,Exchange=1;Common=1,0,TLSv1.0,t10d0202nn_aaa_bbb,0\n";
    let row2 = "10.66.0.11,1,0,1,0,0,0,0,TLSv1.0,2026-01-01T00:00:01.001000Z,\
                2026-01-01T00:00:01.001000Z,\\x1b[2J\\x1b[31mred.example;a\\\\b,at-risk,\
                Exchange=1;Common=1,0,TLSv1.0,t10d0202nn_aaa_bbb,0\n";
    let file = dir.path().join("h.csv");
    fs::write(&file, format!("{header}{row}")).unwrap();
    let o = tlscensus_stdin(
        &["merge", "-q", p(&file), "-", "--json", "-"],
        format!("{header}{row2}").as_bytes(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["inputs"], serde_json::json!([p(&file), "-"]));
    let c = &v["clients"];
    assert_eq!(
        c[0]["snis"],
        serde_json::json!(["=HYPERLINK(\"http://evil\",\"x\")"])
    );
    assert_eq!(
        c[1]["snis"],
        serde_json::json!(["\\x1b[2J\\x1b[31mred.example", "a\\\\b"])
    );
    // And written back as CSV, exactly as it came.
    let o = tlscensus(&["merge", "-q", p(&file)]);
    assert_eq!(text(&o.stdout), format!("{header}{row}"));
}
