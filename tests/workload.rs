//! End to end on generated workloads (`tlscensus::synth::workload`, the benchmark's input):
//! the binary's census equals the one the generator wrote beside the capture.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use tlscensus::synth::workload::{self, Expected, Options, Summary, EXPECTED_COLUMNS};

use common::{p, tlscensus};

/// Writes a workload into a fresh temporary directory.
fn generate(size: u64, seed: u64) -> (tempfile::TempDir, PathBuf, Summary, Expected) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.pcap");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let (summary, expected) = workload::generate(&Options { size, seed }, &mut out).unwrap();
    drop(out);
    (dir, path, summary, expected)
}

/// `tlscensus read --scope all --csv -`: the first nine columns of each row, sorted by client
/// address as [`Expected::rows`] is.
fn census(path: &Path) -> Vec<[String; 9]> {
    let out = tlscensus(&["read", "-q", "--scope", "all", "--csv", "-", p(path)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = csv::Reader::from_reader(&out.stdout[..]);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..9], *EXPECTED_COLUMNS);
    let mut rows: Vec<[String; 9]> = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            std::array::from_fn(|i| rec[i].to_string())
        })
        .collect();
    rows.sort_by_key(|row| row[0].parse::<IpAddr>().unwrap());
    rows
}

fn assert_census(size: u64, seed: u64) {
    let (_dir, path, summary, expected) = generate(size, seed);
    let got = census(&path);
    let want = expected.rows();
    assert_eq!(got.len(), want.len(), "clients");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "seed {seed}: row of client {}", w[0]);
    }
    let connections: u64 = got.iter().map(|r| r[1].parse::<u64>().unwrap()).sum();
    assert_eq!(connections, summary.tls_connections);
}

#[test]
fn census_of_a_4_mib_workload_is_the_expected_one() {
    assert_census(4 << 20, 7);
}

#[test]
fn census_of_workloads_with_other_seeds_is_the_expected_one() {
    for seed in [1, 2026] {
        assert_census(3 << 20, seed);
    }
}

#[test]
fn a_small_workload_has_every_ingredient() {
    let (_dir, path, s, expected) = generate(4 << 20, 7);
    let bytes = std::fs::read(&path).unwrap();
    let len = bytes.len() as u64;
    assert_eq!(len, s.bytes);
    // Every frame within Ethernet + 802.1Q + IPv6 + TCP + a 1,400-byte MSS.
    let (mut at, mut frames) = (24, 0);
    while at < bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        assert!(
            caplen <= 18 + 40 + 20 + 1400,
            "frame {frames}: {caplen} bytes"
        );
        at += 16 + caplen;
        frames += 1;
    }
    assert_eq!(frames, s.packets);
    assert!((4 << 20..(4 << 20) + (1 << 20)).contains(&len), "{len}");
    // Most bytes are application data.
    assert!(s.application_data_bytes * 10 > s.bytes * 6, "{s:#?}");
    for (what, n) in [
        ("TLS connections", s.tls_connections),
        ("clients", s.clients),
        ("without ServerHello", s.no_server_hello),
        ("IPv6", s.ipv6_connections),
        ("Microsoft 365 servers", s.m365_server_connections),
        (
            "outside servers",
            s.tls_connections - s.m365_server_connections,
        ),
        ("VLAN", s.vlan_connections),
        ("split ClientHellos", s.split_hellos),
        ("reordered ClientHellos", s.reordered_hellos),
        ("without SYN", s.without_syn),
        ("retransmissions", s.retransmitted_segments),
        ("reordered segments", s.reordered_segments),
        ("midstream", s.midstream_connections),
        ("HTTP", s.http_connections),
        ("DNS", s.dns_packets),
    ] {
        assert!(n > 0, "no {what}: {s:#?}");
    }
    assert!(s.max_concurrent > 4, "{s:#?}");
    // Legacy clients, modern ones, and both address families among them.
    let rows = expected.rows();
    assert!(rows.iter().any(|r| r[3] != "0" || r[4] != "0"));
    assert!(rows.iter().any(|r| r[6] != "0"));
    assert!(rows.iter().any(|r| r[0].contains(':')));
    assert!(rows.iter().any(|r| r[0].contains('.')));
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let read = |seed| {
        let (_dir, path, s, e) = generate(1 << 20, seed);
        (std::fs::read(path).unwrap(), s, e)
    };
    let (a, sa, ea) = read(3);
    let (b, sb, eb) = read(3);
    assert!(a == b && sa == sb && ea == eb);
    let (c, _, _) = read(4);
    assert_ne!(a, c);
}

#[test]
fn the_expected_file_is_csv_with_the_census_columns() {
    let (_dir, _path, _, expected) = generate(1 << 20, 5);
    let mut buf = Vec::new();
    expected.write_csv(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(EXPECTED_COLUMNS.join(",").as_str()));
    assert_eq!(lines.count(), expected.clients.len());
}
