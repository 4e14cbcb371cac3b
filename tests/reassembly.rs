//! Reassembly under real-network pathologies, driven by synthetic captures made with
//! `tlscensus::synth` around the real hello bytes of the recorded fixtures.

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use tlscensus::capture::{Frame, LinkType, Timestamp};
use tlscensus::census::ConnectionRecord;
use tlscensus::m365::{EndpointData, Scope};
use tlscensus::pipeline::{Config, Pipeline};
use tlscensus::stats::RunStats;
use tlscensus::synth::{self, ack, Conn, From, Packet};

use common::{csv_rows, fin_ack, p, stderr, stdout, streams, syn, syn_ack, tlscensus};

/// A pipeline with every server in scope, and `config` otherwise.
fn pipeline(config: Config) -> Pipeline<'static, Vec<ConnectionRecord>> {
    static SCOPE: OnceLock<Scope> = OnceLock::new();
    let scope = SCOPE.get_or_init(|| Scope::new(EndpointData::embedded(), &[], &[]));
    let config = Config {
        scope_all: true,
        ..config
    };
    Pipeline::new(scope, config, Vec::new())
}

/// Ethernet frame `number` of a capture, at `ts` (ns since the epoch).
fn ethernet(number: u64, ts: i64, data: &[u8]) -> Frame<'_> {
    Frame {
        number,
        ts: Timestamp(ts),
        link: LinkType::ETHERNET,
        data,
        orig_len: data.len() as u32,
    }
}

/// 2023-11-14T22:13:20Z, in ns: when the frames of these captures start.
const T0: i64 = 1_700_000_000_000_000_000;

/// Runs frames, a millisecond apart, through the pipeline with every server in scope.
fn run(frames: &[Vec<u8>]) -> (Vec<ConnectionRecord>, RunStats) {
    let mut p = pipeline(Config::default());
    for (i, f) in frames.iter().enumerate() {
        p.handle_frame(&ethernet(i as u64 + 1, T0 + i as i64 * 1_000_000, f));
    }
    let (_, stats, records) = p.finish();
    (records, stats)
}

/// (client, negotiated, offered) of each record.
fn summary(records: &[ConnectionRecord]) -> Vec<(String, String, String)> {
    records
        .iter()
        .map(|r| {
            (
                format!("{}:{}", r.client.ip, r.client.port),
                r.negotiated.map(|v| v.to_string()).unwrap_or_default(),
                r.offered_max.map(|v| v.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

fn conn() -> Conn {
    Conn::new("10.9.0.1", 40001, "40.97.10.20", 443)
}

/// The [`summary`] of one record, from the client of [`conn`].
fn one(negotiated: &str, offered: &str) -> Vec<(String, String, String)> {
    vec![("10.9.0.1:40001".into(), negotiated.into(), offered.into())]
}

/// The frames from `from` carrying `stream` in `mss`-byte segments, in stream order.
fn segment_frames(c: &Conn, from: From, stream: &[u8], mss: usize) -> Vec<Vec<u8>> {
    Conn::segments(stream, mss, 0)
        .iter()
        .map(|(off, bytes)| c.frame(from, *off, bytes, ack()))
        .collect()
}

/// Client stream in `mss`-byte segments in the given order, then the server's reply.
fn scripted(order: &[usize], mss: usize, with_syn: bool) -> Vec<Vec<u8>> {
    let (client, server) = streams("tls13-teams.pcap");
    let c = conn();
    let mut frames = if with_syn { c.handshake() } else { vec![] };
    let segs = Conn::segments(&client, mss, 0);
    for &i in order {
        let (off, bytes) = &segs[i];
        frames.push(c.frame(From::Client, *off, bytes, ack()));
    }
    frames.extend(segment_frames(&c, From::Server, &server, 1400));
    frames
}

/// The client's stream in three segments sent last first, then the server's reply.
fn reversed_thirds(with_syn: bool) -> (Vec<ConnectionRecord>, RunStats) {
    let (client, _) = streams("tls13-teams.pcap");
    let mss = client.len().div_ceil(3);
    run(&scripted(&[2, 1, 0], mss, with_syn))
}

#[test]
fn three_segment_client_hello_in_reverse_order() {
    let (records, stats) = reversed_thirds(true);
    assert_eq!(summary(&records), one("TLSv1.3", "TLSv1.3"));
    assert_eq!(records[0].sni.as_deref(), Some(&b"teams.microsoft.com"[..]));
    assert_eq!(stats.handshake_gaps, 0);
}

#[test]
fn reverse_order_without_syn() {
    let (records, _) = reversed_thirds(false);
    assert_eq!(summary(&records), one("TLSv1.3", "TLSv1.3"));
}

#[test]
fn tiny_segments_shuffled_and_duplicated() {
    let (client, _) = streams("tls10-exchange.pcap");
    let n = client.len().div_ceil(40);
    // Interleave from both ends, with every third segment sent twice.
    let mut order = vec![];
    let (mut lo, mut hi) = (0, n - 1);
    while lo <= hi {
        order.push(hi);
        if hi % 3 == 0 {
            order.push(hi);
        }
        if lo != hi {
            order.push(lo);
        }
        lo += 1;
        hi = hi.saturating_sub(1);
        if hi < lo {
            break;
        }
    }
    let (client_all, server) = streams("tls10-exchange.pcap");
    let c = conn();
    let mut frames = c.handshake();
    let segs = Conn::segments(&client_all, 40, 0);
    for i in order {
        frames.push(c.frame(From::Client, segs[i].0, &segs[i].1, ack()));
    }
    frames.extend(segment_frames(&c, From::Server, &server, 1400));
    let (records, stats) = run(&frames);
    assert_eq!(summary(&records), one("TLSv1.0", "TLSv1.0"));
    assert!(stats.retransmitted_segments > 0);
}

#[test]
fn conflicting_overlap_keeps_the_first_bytes() {
    let (client, server) = streams("tls12-sharepoint.pcap");
    let c = conn();
    let mut frames = c.handshake();
    // The second half arrives first, then a forged copy of it, then the first half.
    let half = client.len() / 2;
    frames.push(c.frame(From::Client, half as u32, &client[half..], ack()));
    let forged = vec![0x41; client.len() - half];
    frames.push(c.frame(From::Client, half as u32, &forged, ack()));
    frames.push(c.frame(From::Client, 0, &client[..half], ack()));
    frames.extend(segment_frames(&c, From::Server, &server, 1400));
    let (records, stats) = run(&frames);
    assert_eq!(summary(&records), one("TLSv1.2", "TLSv1.2"));
    assert_eq!(
        records[0].sni.as_deref(),
        Some(&b"contoso.sharepoint.com"[..])
    );
    assert_eq!(stats.conflicting_overlaps, 1);
}

#[test]
fn lost_server_hello_is_no_version_never_a_wrong_one() {
    let (client, server) = streams("tls12-sharepoint.pcap");
    let c = conn();
    let mut frames = c.handshake();
    frames.push(c.frame(From::Client, 0, &client, ack()));
    // The server's first segment (its ServerHello) is lost; later ones arrive.
    frames.extend(
        segment_frames(&c, From::Server, &server, 60)
            .into_iter()
            .skip(1),
    );
    let (records, stats) = run(&frames);
    assert_eq!(summary(&records), one("", "TLSv1.2"));
    assert_eq!(stats.no_server_hello, 1);
    assert!(stats.handshake_gaps >= 1);
}

#[test]
fn a_gap_after_both_hellos_changes_nothing() {
    let (client, server) = streams("tls12-sharepoint.pcap");
    let c = conn();
    let mut frames = c.handshake();
    frames.extend(segment_frames(&c, From::Client, &client, 100));
    let mut server_frames = segment_frames(&c, From::Server, &server, 100);
    server_frames.remove(3);
    frames.extend(server_frames);
    let (records, _) = run(&frames);
    assert_eq!(summary(&records), one("TLSv1.2", "TLSv1.2"));
}

#[test]
fn capture_started_after_the_handshake() {
    let c = conn();
    // Only encrypted application data: 23 03 03 records.
    let mut rec = vec![0x17, 0x03, 0x03, 0x00, 0x20];
    rec.extend_from_slice(&[0xab; 32]);
    let frames = vec![
        c.frame(From::Client, 5000, &rec, ack()),
        c.frame(From::Server, 9000, &rec, ack()),
    ];
    let (records, stats) = run(&frames);
    assert!(records.is_empty());
    assert_eq!(stats.started_before_capture, 1);
}

#[test]
fn one_sided_captures() {
    let (client, server) = streams("tls13-teams.pcap");
    let c = conn();
    // Client to server only (asymmetric routing): what the ClientHello says, no version.
    let frames = segment_frames(&c, From::Client, &client, 1400);
    let (records, _) = run(&frames);
    assert_eq!(summary(&records), one("", "TLSv1.3"));
    // Server to client only: the ServerHello's version, the client from the addresses.
    let frames = segment_frames(&c, From::Server, &server, 1400);
    let (records, _) = run(&frames);
    assert_eq!(summary(&records), one("TLSv1.3", ""));
}

#[test]
fn ip_fragments_out_of_order() {
    let (client, server) = streams("tls12-gnutls.pcap");
    let c = conn();
    let mut frames = c.handshake();
    let ip = c.ip_packet(From::Client, 0, &client, ack());
    let mut frags = synth::fragment_ipv4(&ip, 128);
    assert!(frags.len() >= 3);
    frags.reverse();
    frames.extend(frags.iter().map(|f| synth::ethernet(f)));
    frames.push(c.frame(From::Server, 0, &server, ack()));
    let (records, stats) = run(&frames);
    assert_eq!(summary(&records), one("TLSv1.2", "TLSv1.2"));
    assert_eq!(stats.fragments.reassembled, 1);
    assert_eq!(stats.fragments.fragments, frags.len() as u64);
}

#[test]
fn tunnels_report_the_inner_client() {
    let (client, server) = streams("tls11-exchange.pcap");
    let c = conn();
    let gre =
        |from, data: &[u8]| synth::ethernet(&synth::gre_ipv4(&c.ip_packet(from, 0, data, ack())));
    let (records, _) = run(&[gre(From::Client, &client), gre(From::Server, &server)]);
    assert_eq!(summary(&records), one("TLSv1.1", "TLSv1.1"));
    let vx =
        |from, data: &[u8]| synth::ethernet(&synth::vxlan_ipv4(&c.frame(from, 0, data, ack())));
    let (records, _) = run(&[vx(From::Client, &client), vx(From::Server, &server)]);
    assert_eq!(summary(&records), one("TLSv1.1", "TLSv1.1"));
}

#[test]
fn port_reuse_is_a_new_connection() {
    let (c10, s10) = streams("tls10-exchange.pcap");
    let (c12, s12) = streams("tls12-sharepoint.pcap");
    let mut c = conn();
    let mut frames = c.handshake();
    frames.push(c.frame(From::Client, 0, &c10, ack()));
    frames.push(c.frame(From::Server, 0, &s10, ack()));
    frames.push(c.frame(From::Client, c10.len() as u32, b"", fin_ack()));
    frames.push(c.frame(From::Server, s10.len() as u32, b"", fin_ack()));
    c.client_isn = 777_777;
    c.server_isn = 888_888;
    frames.extend(c.handshake());
    frames.push(c.frame(From::Client, 0, &c12, ack()));
    frames.push(c.frame(From::Server, 0, &s12, ack()));
    let (records, stats) = run(&frames);
    let mut want = one("TLSv1.0", "TLSv1.0");
    want.extend(one("TLSv1.2", "TLSv1.2"));
    assert_eq!(summary(&records), want);
    assert_eq!(stats.tcp_flows, 2);
}

#[test]
fn syn_flood_stays_bounded_and_the_real_handshake_is_found() {
    let cap = 50_000;
    let (client, server) = streams("tls13-teams.pcap");
    let real = conn();
    let mut frames = Vec::with_capacity(1_000_010);
    let flooder = Conn::new("203.0.113.9", 1, "40.97.10.20", 443);
    let template = flooder.frame(From::Client, 0, b"", syn());
    for i in 0..1_000_000u32 {
        if i == 500_000 {
            frames.extend(real.handshake());
            frames.push(real.frame(From::Client, 0, &client, ack()));
            frames.push(real.frame(From::Server, 0, &server, ack()));
        }
        // Distinct source ports and addresses: patch the TCP source port and address bytes.
        let mut f = template.clone();
        f[14 + 12..14 + 16].copy_from_slice(&(0xcb00_0000u32 | (i >> 16)).to_be_bytes());
        f[14 + 20..14 + 22].copy_from_slice(&((i & 0xffff) as u16).to_be_bytes());
        frames.push(f);
    }
    let mut p = pipeline(Config {
        max_flows: cap,
        ..Config::default()
    });
    let mut peak = 0;
    for (i, f) in frames.iter().enumerate() {
        p.handle_frame(&ethernet(i as u64 + 1, T0 + i as i64 * 1_000, f));
        peak = peak.max(p.flow_count());
    }
    assert!(peak <= cap, "peak {peak}");
    let (_, stats, records) = p.finish();
    assert_eq!(summary(&records), one("TLSv1.3", "TLSv1.3"));
    assert_eq!(stats.tcp_flows, 1_000_001);
    assert!(stats.flows_evicted >= 1_000_001 - cap as u64);
}

#[test]
fn synthetic_capture_through_the_binary() {
    let (client, server) = streams("tls11-exchange.pcap");
    let c = conn();
    let mut frames = c.handshake();
    frames.extend(
        segment_frames(&c, From::Client, &client, 50)
            .into_iter()
            .rev(),
    );
    frames.push(c.frame(From::Server, 0, &server, ack()));
    let packets: Vec<Packet> = frames
        .into_iter()
        .enumerate()
        .map(|(i, frame)| Packet {
            ts_nanos: 1_741_078_800_000_000_000 + i as i64 * 1_000,
            frame,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reversed.pcap");
    synth::write_pcap(&mut std::fs::File::create(&path).unwrap(), &packets).unwrap();
    let o = tlscensus(&["read", "-q", "--csv", "-", p(&path)]);
    assert!(o.status.success());
    let text = stdout(&o);
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.starts_with("10.9.0.1,1,0,0,1,0,0,0,TLSv1.1,2025-03-04T09:00:00.000010Z,"),
        "{row}"
    );
}

#[test]
fn idle_connections_expire_in_capture_time() {
    let (client, _) = streams("tls12-sharepoint.pcap");
    let c = conn();
    let other = Conn::new("10.9.0.2", 40002, "40.97.10.20", 443);
    let mut p = pipeline(Config {
        idle_timeout_secs: 60,
        ..Config::default()
    });
    let feed = |p: &mut Pipeline<'_, Vec<ConnectionRecord>>, secs: i64, f: &[u8]| {
        p.handle_frame(&ethernet(1, T0 + secs * 1_000_000_000, f))
    };
    for f in c.handshake() {
        feed(&mut p, 0, &f);
    }
    feed(&mut p, 1, &c.frame(From::Client, 0, &client, ack()));
    assert_eq!(p.flow_count(), 1);
    // Another connection's packet 10 minutes later: the first one has been idle too long.
    feed(&mut p, 600, &other.handshake()[0]);
    assert_eq!(p.flow_count(), 1);
    assert_eq!(p.stats().flows_expired, 1);
    let (_, stats, records) = p.finish();
    assert_eq!(summary(&records), one("", "TLSv1.2"));
    assert_eq!(stats.no_server_hello, 1);
}

#[test]
fn synacks_with_different_isns_before_any_data() {
    let (client, server) = streams("tls12-gnutls.pcap");
    let mut c = conn();
    let mut frames = vec![c.handshake()[0].clone()];
    // A middlebox answers first with other ISNs; the real server's SYN/ACK comes last.
    for isn in [238_755_595, 2_859_879_429, 2_829_651_200] {
        c.server_isn = isn;
        frames.push(c.frame(From::Server, 0, b"", syn_ack()));
    }
    frames.push(c.frame(From::Client, 0, &client, ack()));
    frames.push(c.frame(From::Server, 0, &server, ack()));
    let (records, _) = run(&frames);
    assert_eq!(summary(&records), one("TLSv1.2", "TLSv1.2"));
}

#[test]
fn non_tls_picked_up_mid_connection_is_given_up_on() {
    let c = conn();
    let mut p = pipeline(Config::default());
    // SSH-like bulk data both ways, no SYN seen, never a TLS record header at a segment start.
    for i in 0..40u32 {
        for from in [From::Client, From::Server] {
            let f = c.frame(from, i * 1400, &[0x5a; 1400], ack());
            p.handle_frame(&ethernet(1, T0, &f));
        }
    }
    // Decided without waiting for the end of the connection, holding nothing.
    assert_eq!(p.stats().not_tls_flows, 1);
    assert_eq!(p.queued_bytes(), 0);
    let (_, _, records) = p.finish();
    assert!(records.is_empty());
}

/// `frames` written as a pcap and read by the binary with `--scope all --stats --connections -`:
/// the connection rows and the run summary's counters by name.
fn read_through_binary(
    frames: Vec<Vec<u8>>,
) -> (Vec<BTreeMap<String, String>>, BTreeMap<String, u64>) {
    let packets: Vec<Packet> = frames
        .into_iter()
        .enumerate()
        .map(|(i, frame)| Packet {
            ts_nanos: 1_741_078_800_000_000_000 + i as i64 * 1_000,
            frame,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.pcap");
    synth::write_pcap(&mut std::fs::File::create(&path).unwrap(), &packets).unwrap();
    let o = tlscensus(&[
        "read",
        "-q",
        "--scope",
        "all",
        "--stats",
        "--connections",
        "-",
        p(&path),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Summary lines are "  NAME   N".
    let counters = stderr(&o)
        .lines()
        .filter_map(|l| {
            let (name, n) = l.trim().rsplit_once(' ')?;
            Some((name.trim().to_string(), n.parse().ok()?))
        })
        .collect();
    (csv_rows(&stdout(&o)), counters)
}

/// A ClientHello whose end arrives first; then a segment from its start that overlaps it with a
/// different SNI byte; then a retransmission of its delivered start with another SNI byte. The
/// connection row has the SNI first seen for each byte, and both disagreements are counted.
/// Without the SYN, the end is held until the start is found, with the same outcome.
#[test]
fn first_seen_hello_bytes_win_over_later_overlaps_and_retransmissions() {
    let (client, server) = streams("tls12-sharepoint.pcap");
    let sni = b"contoso.sharepoint.com";
    let at = client.windows(sni.len()).position(|w| w == sni).unwrap();
    let c = conn();
    for with_syn in [true, false] {
        let mut frames = if with_syn { c.handshake() } else { vec![] };
        // From the second 'o' of "contoso" on, out of order: queued.
        let split = at + 4;
        frames.push(c.frame(From::Client, split as u32, &client[split..], ack()));
        // In order, up to "contoso.sh": its "contoso.sh" says "contosa.sh" where it overlaps.
        let mut overlapping = client[..at + 10].to_vec();
        overlapping[split] = b'a';
        frames.push(c.frame(From::Client, 0, &overlapping, ack()));
        // A retransmission of the delivered start whose SNI starts "k" instead of "c".
        let mut retransmitted = client[..split].to_vec();
        retransmitted[at] = b'k';
        frames.push(c.frame(From::Client, 0, &retransmitted, ack()));
        // And an honest one.
        frames.push(c.frame(From::Client, 0, &client[..split], ack()));
        frames.extend(segment_frames(&c, From::Server, &server, 1400));
        let (rows, counters) = read_through_binary(frames);
        assert_eq!(rows.len(), 1, "with_syn {with_syn}");
        let row = &rows[0];
        assert_eq!(row["client_ip"], "10.9.0.1");
        assert_eq!(row["sni"], "contoso.sharepoint.com", "with_syn {with_syn}");
        assert_eq!(row["offered_max"], "TLSv1.2");
        assert_eq!(row["negotiated"], "TLSv1.2");
        assert_eq!(counters["conflicting overlaps"], 2, "with_syn {with_syn}");
        assert_eq!(counters["retransmitted segments"], 2);
        assert_eq!(counters["gaps inside handshakes"], 0);
    }
}
