//! End-to-end: captures with a short snap length (`tcpdump -s 96` / `-s 128`, common on span
//! ports), made from the recorded fixtures by cutting every frame (`synth::snaplen`). The
//! hellos are still reported from the bytes each first segment carries (truncated hellos), and
//! what follows them (ChangeCipherSpec, application data, alerts) is still seen, so that every
//! connection ends as it does in the whole capture.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{csv_file_rows, fixture, p, run, stdout};
use tlscensus::synth::snaplen::resnap;

/// The fixture cut to `snaplen` bytes a frame, in `dir`.
fn cut(dir: &Path, name: &str, snaplen: u32) -> PathBuf {
    let out = dir.join(format!("{name}.s{snaplen}.pcap"));
    let n = resnap(&fixture(name), &out, snaplen).unwrap();
    assert!(n > 0, "{name}: packets");
    out
}

/// `read --scope all --json - --connections CSV FILE`: the run counters and the connection
/// rows keyed by client port.
fn read(
    dir: &Path,
    file: &Path,
) -> (
    serde_json::Value,
    BTreeMap<String, BTreeMap<String, String>>,
) {
    let csv = dir.join("connections.csv");
    let o = run(
        &[
            "read",
            "-q",
            "--scope",
            "all",
            "--json",
            "-",
            "--connections",
            p(&csv),
            p(file),
        ],
        0,
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("--json is JSON");
    let rows = csv_file_rows(&csv)
        .into_iter()
        .map(|r| (format!("{}:{}", r["client_ip"], r["client_port"]), r))
        .collect();
    (doc["run"].clone(), rows)
}

fn counter(run: &serde_json::Value, name: &str) -> u64 {
    run[name]
        .as_u64()
        .unwrap_or_else(|| panic!("run.{name} in {run}"))
}

/// Whether a negotiated version is below TLS 1.2 (then a cut ServerHello says it exactly).
fn legacy(version: &str) -> bool {
    matches!(version, "SSLv3" | "TLSv1.0" | "TLSv1.1")
}

#[test]
fn hellos_are_reported_from_cut_frames_and_connections_end_as_in_the_whole_capture() {
    let dir = tempfile::tempdir().unwrap();
    // (fixture, snap length, ClientHellos, ServerHellos). At 96 bytes the IPv6 connection of
    // sample-m365 keeps 10 payload bytes a segment (14 + 40 + 32 bytes of headers): not even
    // a handshake header and version, so no hello.
    let cases = [
        ("sample-m365.pcapng", 96, 7, 6),
        ("sample-m365.pcapng", 128, 8, 7),
        ("tls10-exchange.pcap", 96, 1, 1),
        ("tls10-exchange.pcap", 128, 1, 1),
        ("tls12-sharepoint.pcap", 96, 1, 1),
        ("tls12-sharepoint.pcap", 128, 1, 1),
        ("tls13-teams.pcap", 96, 1, 1),
        ("tls13-teams.pcap", 128, 1, 1),
    ];
    for (name, snaplen, client_hellos, server_hellos) in cases {
        let what = format!("{name} -s {snaplen}");
        let (whole_run, whole) = read(dir.path(), &fixture(name));
        let (run, rows) = read(dir.path(), &cut(dir.path(), name, snaplen));
        assert_eq!(counter(&run, "client_hellos"), client_hellos, "{what}");
        assert_eq!(counter(&run, "server_hellos"), server_hellos, "{what}");
        assert!(
            counter(&run, "handshake_gaps") > 0,
            "{what}: the cuts are gaps"
        );
        assert_eq!(
            counter(&whole_run, "client_hellos"),
            whole.len() as u64,
            "{what}: one hello a connection in the whole capture"
        );
        let reported = rows
            .values()
            .filter(|r| !r["offered_max"].is_empty())
            .count();
        assert_eq!(
            reported as u64, client_hellos,
            "{what}: rows with a ClientHello"
        );
        for (key, row) in &rows {
            let full = &whole[key];
            let col = |name: &str| row[name].as_str();
            if col("offered_max").is_empty() {
                continue;
            }
            // ChangeCipherSpec, application data and alerts after the cut hellos are seen: the
            // connection ends as it does when nothing is cut.
            assert_eq!(col("outcome"), full["outcome"], "{what} {key}");
            // Below TLS 1.2 the cut ServerHello's version is exact; from 0x0303 on it says
            // "TLS 1.2 or later".
            let negotiated = full["negotiated"].as_str();
            if legacy(negotiated) || negotiated.is_empty() {
                assert_eq!(col("negotiated"), negotiated, "{what} {key}");
            } else {
                assert!(
                    col("negotiated").contains("TLSv1.2"),
                    "{what} {key}: {row:?}"
                );
            }
            // The client's legacy_version: a lower bound of the offered maximum (the cut
            // hello's supported_versions, if any, was not seen), written with a `+`.
            if legacy(&full["offered_max"]) {
                assert_eq!(
                    col("offered_max"),
                    format!("{}+", full["offered_max"]),
                    "{what} {key}"
                );
            }
            // No fingerprint of a partial hello.
            for fp in ["ja4", "ja3", "ja3s"] {
                assert_eq!(col(fp), "", "{what} {key}: {fp}");
            }
        }
    }
}

#[test]
fn resnap_keeps_every_packet_and_its_original_length() {
    let dir = tempfile::tempdir().unwrap();
    let out = cut(dir.path(), "tls10-exchange.pcap", 96);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(
        &bytes[16..20],
        &96u32.to_le_bytes(),
        "snap length in the header"
    );
    let (mut at, mut packets, mut cut_frames) = (24, 0, 0);
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        let orig = u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap());
        assert!(caplen <= 96 && caplen <= orig);
        cut_frames += usize::from(caplen < orig);
        packets += 1;
        at += 16 + caplen as usize;
    }
    assert_eq!(at, bytes.len());
    let mut whole = pcap::Capture::from_file(fixture("tls10-exchange.pcap")).unwrap();
    let mut n = 0;
    while whole.next_packet().is_ok() {
        n += 1;
    }
    assert_eq!(packets, n);
    assert!(cut_frames > 0);
}

#[test]
fn the_census_of_a_short_snap_length_says_what_it_cannot_know() {
    let dir = tempfile::tempdir().unwrap();
    let cap = cut(dir.path(), "sample-m365.pcapng", 128);
    let o = common::run(&["read", "--color", "never", common::p(&cap)], 0);
    let table = common::stdout(&o);
    // The TLS 1.0/1.1 ServerHellos are exact: at risk. The refused TLS 1.0 client is not
    // called broken on a cut hello that may have offered more; TLS 1.2 and 1.3 clients are
    // "TLS 1.2 or later" and ok.
    assert!(
        table.starts_with(
            "TLS census toward Microsoft 365: 5 clients: 0 broken, 2 at risk, 1 unknown, 2 ok\n"
        ),
        "{table}"
    );
    assert!(
        table.contains(
            "not fully seen: 1 without ServerHello, 15 hellos cut by the snap length (versions \
             marked + are lower bounds)"
        ),
        "{table}"
    );
    let o = common::run(&["read", "-q", "--csv", "-", common::p(&cap)], 0);
    let rows: Vec<String> = common::csv_rows(&common::stdout(&o))
        .iter()
        .map(|r| {
            format!(
                "{} {} max={} lowest={} failed={}",
                r["client_ip"], r["verdict"], r["max_offered"], r["lowest_negotiated"], r["failed"]
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "10.1.0.50 at-risk max=TLSv1.0+ lowest=TLSv1.0 failed=0",
            "10.1.0.51 at-risk max=TLSv1.1+ lowest=TLSv1.1 failed=0",
            "10.1.0.53 unknown max=TLSv1.0+ lowest= failed=1",
            "10.1.0.52 ok max=TLSv1.2+ lowest= failed=0",
            "fd00:1::55 ok max=TLSv1.2+ lowest= failed=0",
        ]
    );
    // merge reads the lower bounds back, and keeps them.
    let csv = dir.path().join("cut.csv");
    std::fs::write(&csv, common::stdout(&o)).unwrap();
    let m = common::run(&["merge", "-q", common::p(&csv)], 0);
    assert_eq!(common::stdout(&m), common::stdout(&o));
}
