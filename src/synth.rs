//! Synthetic captures for tests and benchmarks: scripted TCP segments around real hello bytes,
//! reordered, dropped, duplicated, overlapped, fragmented or tunnelled, written as classic pcap.
//!
//! Nothing here is used when analysing captures; it exists so that every pathology the
//! reassembler handles is proved by a capture made by code in the repo, not by edited bytes.

use std::io::{self, Write};
use std::net::IpAddr;

use etherparse::PacketBuilder;

pub mod conditions;
pub mod ipfrag;
pub mod membudget;
pub mod quic;
pub mod snaplen;
pub mod workload;

/// One packet of a synthetic capture: capture time (ns) and the Ethernet frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub ts_nanos: i64,
    pub frame: Vec<u8>,
}

/// Writes packets as a classic pcap (nanosecond magic, LINKTYPE_ETHERNET).
pub fn write_pcap(out: &mut impl Write, packets: &[Packet]) -> io::Result<()> {
    out.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&[0; 8])?;
    out.write_all(&262_144u32.to_le_bytes())?;
    out.write_all(&1u32.to_le_bytes())?;
    for p in packets {
        let secs = p.ts_nanos.div_euclid(1_000_000_000) as u32;
        let nanos = p.ts_nanos.rem_euclid(1_000_000_000) as u32;
        out.write_all(&secs.to_le_bytes())?;
        out.write_all(&nanos.to_le_bytes())?;
        out.write_all(&(p.frame.len() as u32).to_le_bytes())?;
        out.write_all(&(p.frame.len() as u32).to_le_bytes())?;
        out.write_all(&p.frame)?;
    }
    Ok(())
}

/// Writes the classic pcap file header of [`write_pcap`] (nanoseconds, LINKTYPE_ETHERNET), for
/// writers that stream their packets with [`write_pcap_record`].
pub fn write_pcap_header(out: &mut impl Write) -> io::Result<()> {
    write_pcap(out, &[])
}

/// Writes one packet record after [`write_pcap_header`].
pub fn write_pcap_record(out: &mut impl Write, ts_nanos: i64, frame: &[u8]) -> io::Result<()> {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&(ts_nanos.div_euclid(1_000_000_000) as u32).to_le_bytes());
    h[4..8].copy_from_slice(&(ts_nanos.rem_euclid(1_000_000_000) as u32).to_le_bytes());
    h[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    h[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    out.write_all(&h)?;
    out.write_all(frame)
}

/// Which side sends a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    Client,
    Server,
}

/// A scripted TCP connection between two endpoints.
#[derive(Debug, Clone)]
pub struct Conn {
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub client_isn: u32,
    pub server_isn: u32,
}

/// TCP control bits of a scripted segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

impl Conn {
    pub fn new(client: &str, client_port: u16, server: &str, server_port: u16) -> Conn {
        Conn {
            client: (client.parse().expect("client address"), client_port),
            server: (server.parse().expect("server address"), server_port),
            client_isn: 1_000,
            server_isn: 5_000_000,
        }
    }

    /// An IP packet carrying one TCP segment; `offset` counts payload bytes from the start of
    /// the sender's stream (the SYN takes sequence number ISN, data starts at ISN + 1).
    pub fn ip_packet(&self, from: From, offset: u32, payload: &[u8], flags: Flags) -> Vec<u8> {
        let (src, dst, isn) = match from {
            From::Client => (self.client, self.server, self.client_isn),
            From::Server => (self.server, self.client, self.server_isn),
        };
        let seq = if flags.syn {
            isn
        } else {
            isn.wrapping_add(1).wrapping_add(offset)
        };
        tcp_ip_packet(src, dst, seq, flags.ack.then_some(1), flags, payload)
    }

    /// The same packet behind an Ethernet header.
    pub fn frame(&self, from: From, offset: u32, payload: &[u8], flags: Flags) -> Vec<u8> {
        ethernet(&self.ip_packet(from, offset, payload, flags))
    }

    /// SYN, SYN/ACK, ACK.
    pub fn handshake(&self) -> Vec<Vec<u8>> {
        vec![
            self.frame(From::Client, 0, b"", syn()),
            self.frame(From::Server, 0, b"", syn_ack()),
            self.frame(From::Client, 0, b"", ack()),
        ]
    }

    /// `data` cut into segments of at most `mss` bytes, as (offset, bytes).
    pub fn segments(data: &[u8], mss: usize, start: u32) -> Vec<(u32, Vec<u8>)> {
        data.chunks(mss.max(1))
            .enumerate()
            .map(|(i, c)| (start + (i * mss) as u32, c.to_vec()))
            .collect()
    }
}

/// An IP packet carrying one TCP segment from `src` to `dst`: this sequence number, this
/// acknowledgment number (with the ACK flag) when given, the other flags, the payload.
pub fn tcp_ip_packet(
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    seq: u32,
    ack: Option<u32>,
    flags: Flags,
    payload: &[u8],
) -> Vec<u8> {
    let builder = match (src.0, dst.0) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ip(etherparse::IpHeaders::Ipv4(
            etherparse::Ipv4Header::new(0, 64, etherparse::IpNumber::TCP, s.octets(), d.octets())
                .expect("ipv4 header"),
            Default::default(),
        )),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ip(etherparse::IpHeaders::Ipv6(
            etherparse::Ipv6Header {
                traffic_class: 0,
                flow_label: Default::default(),
                payload_length: 0,
                next_header: etherparse::IpNumber::TCP,
                hop_limit: 64,
                source: s.octets(),
                destination: d.octets(),
            },
            Default::default(),
        )),
        _ => panic!("client and server of different address families"),
    };
    let mut tcp = builder.tcp(src.1, dst.1, seq, 65_535);
    if flags.syn {
        tcp = tcp.syn();
    }
    if let Some(ack) = ack {
        tcp = tcp.ack(ack);
    }
    if flags.fin {
        tcp = tcp.fin();
    }
    if flags.rst {
        tcp = tcp.rst();
    }
    let mut out = Vec::with_capacity(payload.len() + 60);
    tcp.write(&mut out, payload).expect("write packet");
    out
}

/// SYN only.
pub fn syn() -> Flags {
    Flags {
        syn: true,
        ..Flags::default()
    }
}

/// SYN and ACK.
pub fn syn_ack() -> Flags {
    Flags {
        syn: true,
        ack: true,
        ..Flags::default()
    }
}

/// ACK only.
pub fn ack() -> Flags {
    Flags {
        ack: true,
        ..Flags::default()
    }
}

/// An Ethernet frame around an IP packet (ethertype from the IP version).
pub fn ethernet(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    let ethertype: [u8; 2] = match ip.first().map(|b| b >> 4) {
        Some(6) => [0x86, 0xdd],
        _ => [0x08, 0x00],
    };
    f.extend_from_slice(&ethertype);
    f.extend_from_slice(ip);
    f
}

/// Splits an IPv4 packet into fragments carrying at most `chunk` payload bytes (a multiple of
/// 8), in order.
pub fn fragment_ipv4(packet: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let payload = &packet[ihl..];
    let chunk = (chunk / 8).max(1) * 8;
    let mut out = vec![];
    for (i, piece) in payload.chunks(chunk).enumerate() {
        let mut h = packet[..ihl].to_vec();
        let offset = (i * chunk / 8) as u16;
        let more = (i + 1) * chunk < payload.len();
        let flags_off = offset | if more { 0x2000 } else { 0 };
        h[2..4].copy_from_slice(&((ihl + piece.len()) as u16).to_be_bytes());
        h[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        h[6..8].copy_from_slice(&flags_off.to_be_bytes());
        h[10..12].copy_from_slice(&[0, 0]);
        let sum = ipv4_checksum(&h);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        h.extend_from_slice(piece);
        out.push(h);
    }
    out
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IP packet inside GRE inside IPv4 (outer addresses 192.0.2.1 → 192.0.2.2).
pub fn gre_ipv4(inner_ip: &[u8]) -> Vec<u8> {
    let mut gre = vec![0, 0];
    gre.extend_from_slice(match inner_ip.first().map(|b| b >> 4) {
        Some(6) => &[0x86, 0xdd],
        _ => &[0x08, 0x00],
    });
    gre.extend_from_slice(inner_ip);
    let mut out = vec![];
    PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .write(&mut out, etherparse::IpNumber::GRE, &gre)
        .expect("write gre");
    out
}

/// An Ethernet frame inside VXLAN (UDP 4789) inside IPv4.
pub fn vxlan_ipv4(inner_frame: &[u8]) -> Vec<u8> {
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
    vx.extend_from_slice(inner_frame);
    let mut out = vec![];
    PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .udp(49152, 4789)
        .write(&mut out, &vx)
        .expect("write vxlan");
    out
}
