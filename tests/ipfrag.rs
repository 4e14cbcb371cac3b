//! IP fragments end to end: captures made with `tlscensus::synth` around the real hello bytes
//! of the recorded fixtures, fragmented, tunnelled and overlapped, run through the binary.

mod common;

use std::path::Path;

use tlscensus::synth::{self, ack, Conn, From, Packet};

use common::{p, run, stderr, stdout, streams};

/// 2025-03-04T09:00:00Z, in ns.
const T0: i64 = 1_741_078_800_000_000_000;

/// A TLS 1.3 connection toward Microsoft 365 as IP packets, one per step, each step a
/// millisecond after the last: handshake, the ClientHello, the server's flight (ServerHello,
/// encrypted extensions, certificate ...: 1,354 bytes, one segment).
fn connection_ip_packets() -> Vec<Vec<u8>> {
    let (client, server) = streams("tls13-teams.pcap");
    assert!(server.len() > 1300, "{}", server.len());
    let c = Conn::new("10.9.0.1", 40001, "52.112.0.10", 443);
    let mut out: Vec<Vec<u8>> = vec![];
    let flags = [common::syn(), common::syn_ack(), ack()];
    for (from, f) in [From::Client, From::Server, From::Client]
        .into_iter()
        .zip(flags)
    {
        out.push(c.ip_packet(from, 0, b"", f));
    }
    out.push(c.ip_packet(From::Client, 0, &client, ack()));
    out.push(c.ip_packet(From::Server, 0, &server, ack()));
    out
}

/// Writes frames grouped by step (all frames of a step share its time) as a pcap.
fn write(path: &Path, steps: &[Vec<Vec<u8>>]) {
    let packets: Vec<Packet> = steps
        .iter()
        .enumerate()
        .flat_map(|(i, frames)| {
            frames.iter().map(move |f| Packet {
                ts_nanos: T0 + i as i64 * 1_000_000,
                frame: f.clone(),
            })
        })
        .collect();
    synth::write_pcap(&mut std::fs::File::create(path).unwrap(), &packets).unwrap();
}

/// `--connections -` of a capture, and `--stats` (stderr).
fn connections(path: &Path) -> (String, String) {
    let o = run(
        &[
            "read",
            "-q",
            "--stats",
            "--scope",
            "all",
            "--connections",
            "-",
            p(path),
        ],
        0,
    );
    (stdout(&o), stderr(&o))
}

/// The count of a `--stats` line.
fn stat(stats: &str, label: &str) -> u64 {
    let line = stats
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in {stats}"));
    line.split_whitespace().last().unwrap().parse().unwrap()
}

#[test]
fn a_tls_connection_in_gre_and_vxlan_with_fragmented_outer_datagrams() {
    let dir = tempfile::tempdir().unwrap();
    let ip = connection_ip_packets();
    type Wrap = fn(&[u8]) -> Vec<u8>;
    let gre: Wrap = synth::gre_ipv4;
    let vxlan: Wrap = |ip| synth::vxlan_ipv4(&synth::ethernet(ip));
    for (name, wrap) in [("gre", gre), ("vxlan", vxlan)] {
        let whole: Vec<Vec<Vec<u8>>> = ip.iter().map(|p| vec![synth::ethernet(&wrap(p))]).collect();
        // Outer fragments of at most 200 bytes (every packet with data is cut), sent in
        // reverse order.
        let fragmented: Vec<Vec<Vec<u8>>> = ip
            .iter()
            .map(|p| {
                let mut frags = synth::fragment_ipv4(&wrap(p), 200);
                frags.reverse();
                frags.iter().map(|f| synth::ethernet(f)).collect()
            })
            .collect();
        let n_frags: usize = fragmented
            .iter()
            .filter(|s| s.len() > 1)
            .map(Vec::len)
            .sum();
        assert!(n_frags >= 8, "{n_frags}");
        let (a, b) = (dir.path().join("whole.pcap"), dir.path().join("frag.pcap"));
        write(&a, &whole);
        write(&b, &fragmented);
        let (rows, _) = connections(&a);
        let (frag_rows, stats) = connections(&b);
        assert_eq!(rows.lines().count(), 2, "{name}: {rows}");
        assert!(rows.contains(",10.9.0.1,40001,52.112.0.10,443,"), "{rows}");
        assert!(rows.contains("TLSv1.3"), "{rows}");
        assert_eq!(frag_rows, rows, "{name}");
        assert_eq!(stat(&stats, "IP fragments"), n_frags as u64, "{name}");
        assert_eq!(stat(&stats, "datagrams reassembled"), 2, "{name}");
        assert_eq!(stat(&stats, "packets not decoded as TCP"), 0, "{name}");
    }
}

#[test]
fn fragments_inside_a_fragmented_tunnel_and_ipv6_fragments() {
    let dir = tempfile::tempdir().unwrap();
    let ip = connection_ip_packets();
    let whole: Vec<Vec<Vec<u8>>> = ip.iter().map(|p| vec![synth::ethernet(p)]).collect();
    // Each packet fragmented (1,280-byte path), each fragment in GRE, the GRE packets
    // fragmented again (576-byte path).
    let nested: Vec<Vec<Vec<u8>>> = ip
        .iter()
        .map(|p| {
            synth::fragment_ipv4(p, 1256)
                .iter()
                .flat_map(|inner| synth::fragment_ipv4(&synth::gre_ipv4(inner), 552))
                .map(|f| synth::ethernet(&f))
                .collect()
        })
        .collect();
    let (a, b) = (
        dir.path().join("whole.pcap"),
        dir.path().join("nested.pcap"),
    );
    write(&a, &whole);
    write(&b, &nested);
    let (rows, _) = connections(&a);
    let (nested_rows, stats) = connections(&b);
    assert_eq!(nested_rows, rows);
    assert_eq!(stat(&stats, "datagrams dropped (overlap)"), 0);
    assert_eq!(stat(&stats, "packets not decoded as TCP"), 0);

    // The same connection over IPv6, fragmented at the source.
    let (client, server) = streams("tls13-teams.pcap");
    let c = Conn::new("2001:db8::10", 40001, "2603:1063::1", 443);
    let flags = [common::syn(), common::syn_ack(), ack()];
    let mut v6: Vec<Vec<u8>> = [From::Client, From::Server, From::Client]
        .into_iter()
        .zip(flags)
        .map(|(from, f)| c.ip_packet(from, 0, b"", f))
        .collect();
    v6.push(c.ip_packet(From::Client, 0, &client, ack()));
    v6.push(c.ip_packet(From::Server, 0, &server, ack()));
    let whole: Vec<Vec<Vec<u8>>> = v6.iter().map(|p| vec![synth::ethernet(p)]).collect();
    let fragmented: Vec<Vec<Vec<u8>>> = v6
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut f = synth::ipfrag::fragment_ipv6(p, 1232, i as u32);
            f.rotate_left(1);
            f.iter().map(|f| synth::ethernet(f)).collect()
        })
        .collect();
    write(&a, &whole);
    write(&b, &fragmented);
    let (rows, _) = connections(&a);
    assert!(
        rows.contains(",2001:db8::10,40001,2603:1063::1,443,"),
        "{rows}"
    );
    let (frag_rows, stats) = connections(&b);
    assert_eq!(frag_rows, rows);
    assert!(stat(&stats, "datagrams reassembled") >= 1);
}

#[test]
fn an_overlapping_fragment_drops_its_datagram() {
    let dir = tempfile::tempdir().unwrap();
    let ip = connection_ip_packets();
    let hello = &ip[3];
    let frags = synth::fragment_ipv4(hello, 128);
    assert!(frags.len() >= 3);
    // A second copy of the first fragment's last 8 bytes with other bytes, sent before the
    // rest: the classic evasion (which copy wins depends on the host), and an overlap.
    let first = &frags[0];
    let (src, dst) = (
        first[12..16].try_into().unwrap(),
        first[16..20].try_into().unwrap(),
    );
    let id = u16::from_be_bytes([first[4], first[5]]);
    let overlap = synth::ipfrag::ipv4_fragment(src, dst, id, 6, 15, true, &[0x41; 16]);
    // And an exact duplicate of the second fragment (a retransmission: harmless).
    let mut hello_frames = vec![synth::ethernet(&frags[0]), synth::ethernet(&overlap)];
    hello_frames.extend(frags[1..].iter().map(|f| synth::ethernet(f)));
    hello_frames.push(synth::ethernet(&frags[1]));
    let mut steps: Vec<Vec<Vec<u8>>> = ip.iter().map(|p| vec![synth::ethernet(p)]).collect();
    steps[3] = hello_frames;
    let path = dir.path().join("overlap.pcap");
    write(&path, &steps);
    let (rows, stats) = connections(&path);
    // No ClientHello: the connection is reported from the ServerHello alone.
    let (_, records) = common::csv_table(&rows);
    assert_eq!(records.len(), 1, "{rows}");
    assert_eq!(records[0]["offered_max"], "");
    assert_eq!(records[0]["negotiated"], "TLSv1.3");
    assert_eq!(stat(&stats, "datagrams dropped (overlap)"), 1);
    assert_eq!(stat(&stats, "datagrams reassembled"), 0);
    // The fragments after the overlap, the duplicate among them, are of a dropped datagram.
    assert_eq!(
        stat(&stats, "fragments of dropped datagrams"),
        frags.len() as u64
    );
    assert_eq!(stat(&stats, "duplicate fragments ignored"), 0);

    // The same in JSON, by name; and an exact duplicate alone changes nothing.
    let mut dup_frames: Vec<Vec<u8>> = frags.iter().map(|f| synth::ethernet(f)).collect();
    dup_frames.insert(1, synth::ethernet(&frags[0]));
    steps[3] = dup_frames;
    write(&path, &steps);
    let o = run(
        &["read", "-q", "--scope", "all", "--json", "-", p(&path)],
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let f = &v["run"]["ip_fragments"];
    assert_eq!(f["duplicates"], 1, "{f}");
    assert_eq!(f["overlapping"], 0, "{f}");
    assert_eq!(f["reassembled"], 1, "{f}");
    assert_eq!(f["after_drop"], 0, "{f}");
    assert_eq!(f["evicted"], 0, "{f}");
}
