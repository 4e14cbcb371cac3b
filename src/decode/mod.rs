//! Decode stage: a [`Frame`] → a [`TcpSegment`] or the [`SkipReason`] it was not one.
//!
//! Only the headers the pipeline needs are read: link (see [`link`]), IPv4/IPv6 with extension
//! headers (etherparse, lax mode so that packets cut by the snap length are recognised rather
//! than rejected), and TCP. A payload cut short by the snap length is reported as such
//! (`missing` bytes), never passed on as if it were whole.

// Nothing read off the wire may panic: no unwrap, expect, panic or unchecked indexing in
// the packet path (tests are exempt).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod ipfrag;
pub mod link;
pub mod tunnel;

use std::fmt;
use std::net::IpAddr;

use etherparse::{IpNumber, LaxIpSlice, TcpSlice};

use crate::capture::Frame;

/// TCP control bits the pipeline uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// One TCP segment, borrowed from its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub flags: TcpFlags,
    /// The captured payload bytes.
    pub payload: &'a [u8],
    /// Payload bytes that were on the wire after `payload` but not captured (snap length).
    pub missing: u32,
}

/// Why a frame gave no TCP segment. Every reason is counted in the run summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The link type is not one the decoder knows.
    UnsupportedLink,
    /// Not IPv4/IPv6 (ARP, LLDP, ...).
    NotIp,
    /// IP, but not TCP (UDP, ICMP, ...).
    NotTcp,
    /// An IP fragment (not reassembled yet).
    IpFragment,
    /// Headers cut short before the TCP header ended.
    Truncated,
    /// Headers that cannot be valid (bad IP version, header length, TCP data offset, ...).
    Malformed,
    /// Tunnels nested deeper than [`MAX_TUNNEL_DEPTH`].
    TunnelTooDeep,
}

/// Tunnels inside tunnels are followed this deep at most.
pub const MAX_TUNNEL_DEPTH: usize = 4;

impl SkipReason {
    pub const ALL: [SkipReason; 7] = [
        SkipReason::UnsupportedLink,
        SkipReason::NotIp,
        SkipReason::NotTcp,
        SkipReason::IpFragment,
        SkipReason::Truncated,
        SkipReason::Malformed,
        SkipReason::TunnelTooDeep,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SkipReason::UnsupportedLink => "unsupported link type",
            SkipReason::NotIp => "not IP",
            SkipReason::NotTcp => "not TCP",
            SkipReason::IpFragment => "IP fragment",
            SkipReason::Truncated => "headers truncated",
            SkipReason::Malformed => "malformed headers",
            SkipReason::TunnelTooDeep => "tunnels nested too deep",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Decodes a frame down to its TCP segment, through any tunnels. An IP fragment is a skip
/// here; [`decode_or_fragment`] hands it out for reassembly instead.
pub fn decode<'a>(frame: &Frame<'a>) -> Result<TcpSegment<'a>, SkipReason> {
    match decode_or_fragment(frame)? {
        Decoded::Segment(seg) => Ok(seg),
        Decoded::Fragment(_) => Err(SkipReason::IpFragment),
    }
}

/// What a frame carries once decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    Segment(TcpSegment<'a>),
    /// One fragment of an IP datagram (to be put together by [`ipfrag::Defragmenter`]).
    Fragment(ipfrag::Fragment<'a>),
}

/// Decodes a frame down to its TCP segment or IP fragment, through any tunnels.
pub fn decode_or_fragment<'a>(frame: &Frame<'a>) -> Result<Decoded<'a>, SkipReason> {
    let ip = link::ip_payload(frame.link, frame.data)?;
    walk(ip, frame.orig_len.saturating_sub(frame.data.len() as u32))
}

/// Decodes an IP packet; `cut` is how many bytes of the frame the snap length removed.
pub fn tcp_in_ip(ip: &[u8], cut: u32) -> Result<TcpSegment<'_>, SkipReason> {
    match walk(ip, cut)? {
        Decoded::Segment(seg) => Ok(seg),
        Decoded::Fragment(_) => Err(SkipReason::IpFragment),
    }
}

fn walk(ip: &[u8], cut: u32) -> Result<Decoded<'_>, SkipReason> {
    let mut ip = ip;
    for _ in 0..=MAX_TUNNEL_DEPTH {
        match ip_layer(ip, cut)? {
            Layer::Tcp(seg) => return Ok(Decoded::Segment(seg)),
            Layer::Fragment(f) => return Ok(Decoded::Fragment(f)),
            Layer::Inner(tunnel::Inner::Ip(inner)) => ip = inner,
            Layer::Inner(tunnel::Inner::Ethernet(frame)) => {
                ip = link::ip_payload(crate::capture::LinkType::ETHERNET, frame)?
            }
            Layer::Inner(tunnel::Inner::Other) => return Err(SkipReason::NotTcp),
        }
    }
    Err(SkipReason::TunnelTooDeep)
}

enum Layer<'a> {
    Tcp(TcpSegment<'a>),
    Fragment(ipfrag::Fragment<'a>),
    Inner(tunnel::Inner<'a>),
}

fn ip_layer(ip: &[u8], cut: u32) -> Result<Layer<'_>, SkipReason> {
    let (ip, _ext_err) = match LaxIpSlice::from_slice(ip) {
        Ok(v) => v,
        Err(etherparse::err::ip::LaxHeaderSliceError::Len(_)) => return Err(SkipReason::Truncated),
        Err(etherparse::err::ip::LaxHeaderSliceError::Content(_)) => {
            return Err(SkipReason::Malformed)
        }
    };
    let payload = ip.payload();
    if payload.fragmented {
        return ipfrag::Fragment::of(&ip)
            .map(Layer::Fragment)
            .ok_or(SkipReason::Malformed);
    }
    match payload.ip_number {
        IpNumber::TCP => {}
        IpNumber::IPV4 | IpNumber::IPV6 => {
            return Ok(Layer::Inner(tunnel::Inner::Ip(payload.payload)))
        }
        IpNumber::GRE => {
            return tunnel::gre(payload.payload)
                .map(Layer::Inner)
                .ok_or(SkipReason::Truncated)
        }
        IpNumber::UDP => {
            let udp = etherparse::UdpSlice::from_slice_lax(payload.payload)
                .map_err(|_| SkipReason::Truncated)?;
            let inner = match (udp.source_port(), udp.destination_port()) {
                (_, tunnel::VXLAN_PORT) | (tunnel::VXLAN_PORT, _) => tunnel::vxlan(udp.payload()),
                (_, tunnel::GENEVE_PORT) | (tunnel::GENEVE_PORT, _) => {
                    tunnel::geneve(udp.payload())
                }
                _ => return Err(SkipReason::NotTcp),
            };
            return inner.map(Layer::Inner).ok_or(SkipReason::Truncated);
        }
        _ => return Err(SkipReason::NotTcp),
    }
    let tcp = match TcpSlice::from_slice(payload.payload) {
        Ok(t) => t,
        Err(etherparse::err::tcp::HeaderSliceError::Len(_)) => return Err(SkipReason::Truncated),
        Err(etherparse::err::tcp::HeaderSliceError::Content(_)) => {
            return Err(SkipReason::Malformed)
        }
    };
    // When the IP payload is incomplete, the bytes not captured all belong to this TCP payload
    // (the cut happened at the end of the frame).
    // An IP length beyond the captured bytes with nothing cut by the snap length is a lying
    // header (or TSO), not lost bytes.
    let missing = if payload.incomplete && !tcp.syn() {
        cut
    } else {
        0
    };
    Ok(Layer::Tcp(TcpSegment {
        src: ip.source_addr(),
        dst: ip.destination_addr(),
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        seq: tcp.sequence_number(),
        flags: TcpFlags {
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
        },
        payload: tcp.payload(),
        missing,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{LinkType, Timestamp};
    use etherparse::PacketBuilder;

    fn v4_packet(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 1, 0, 10], [40, 97, 10, 20], 64)
            .tcp(50000, 443, 1000, 64240)
            .ack(7);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    fn frame(data: &[u8], orig_len: u32) -> Frame<'_> {
        Frame {
            number: 1,
            ts: Timestamp(0),
            link: LinkType::ETHERNET,
            data,
            orig_len,
        }
    }

    #[test]
    fn decodes_ipv4_tcp() {
        let p = v4_packet(b"\x16\x03\x01hello");
        let seg = decode(&frame(&p, p.len() as u32)).unwrap();
        assert_eq!(seg.src, "10.1.0.10".parse::<IpAddr>().unwrap());
        assert_eq!(seg.dst, "40.97.10.20".parse::<IpAddr>().unwrap());
        assert_eq!((seg.src_port, seg.dst_port, seg.seq), (50000, 443, 1000));
        assert!(seg.flags.ack && !seg.flags.syn);
        assert_eq!(seg.payload, b"\x16\x03\x01hello");
        assert_eq!(seg.missing, 0);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut p = v4_packet(b"");
        p.extend_from_slice(&[0; 6]); // padding to 60 bytes
        let seg = decode(&frame(&p, p.len() as u32)).unwrap();
        assert!(seg.payload.is_empty());
    }

    #[test]
    fn snaplen_cut_reports_missing_bytes() {
        let p = v4_packet(&[0x16; 100]);
        let cut = &p[..p.len() - 40];
        let seg = decode(&frame(cut, p.len() as u32)).unwrap();
        assert_eq!(seg.payload.len(), 60);
        assert_eq!(seg.missing, 40);
    }

    #[test]
    fn truncated_and_other_protocols() {
        let p = v4_packet(b"x");
        // Cut inside the TCP header.
        assert_eq!(
            decode(&frame(&p[..14 + 20 + 10], p.len() as u32)),
            Err(SkipReason::Truncated)
        );
        // Cut inside the IP header.
        assert_eq!(
            decode(&frame(&p[..14 + 10], p.len() as u32)),
            Err(SkipReason::Truncated)
        );
        let mut udp = Vec::new();
        PacketBuilder::ipv6([1; 16], [2; 16], 5)
            .udp(53, 53)
            .write(&mut udp, b"q")
            .unwrap();
        let f = Frame {
            link: LinkType::RAW,
            ..frame(&udp, udp.len() as u32)
        };
        assert_eq!(decode(&f), Err(SkipReason::NotTcp));
        // IP version 5.
        let bad = [0x55u8; 40];
        let f = Frame {
            link: LinkType::IPV4,
            ..frame(&bad, 40)
        };
        assert_eq!(decode(&f), Err(SkipReason::Malformed));
    }

    #[test]
    fn ipv6_with_extension_header() {
        let mut out = Vec::new();
        PacketBuilder::ipv6(
            [0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10],
            [
                0x26, 0x03, 0x10, 0x06, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20,
            ],
            64,
        )
        .tcp(40000, 443, 5, 100)
        .write(&mut out, b"abc")
        .unwrap();
        // Insert a hop-by-hop options header (8 bytes) after the fixed header.
        let mut with_ext = out[..40].to_vec();
        with_ext[6] = 0; // next header: hop-by-hop
        let plen = u16::from_be_bytes([out[4], out[5]]) + 8;
        with_ext[4..6].copy_from_slice(&plen.to_be_bytes());
        with_ext.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
        with_ext.extend_from_slice(&out[40..]);
        let seg = tcp_in_ip(&with_ext, 0).unwrap();
        assert_eq!(seg.src.to_string(), "fd00:1::10");
        assert_eq!(seg.dst.to_string(), "2603:1006:1::20");
        assert_eq!(seg.payload, b"abc");
    }

    fn inner_tcp() -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([10, 1, 0, 10], [40, 97, 10, 20], 64)
            .tcp(50000, 443, 1, 100)
            .write(&mut out, b"\x16\x03\x01")
            .unwrap();
        out
    }

    fn outer(proto: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .write(&mut out, etherparse::IpNumber(proto), payload)
            .unwrap();
        out
    }

    fn check_inner(seg: Result<TcpSegment<'_>, SkipReason>) {
        let seg = seg.unwrap();
        assert_eq!(seg.src.to_string(), "10.1.0.10");
        assert_eq!(seg.dst.to_string(), "40.97.10.20");
        assert_eq!(seg.payload, b"\x16\x03\x01");
    }

    #[test]
    fn tunnels_give_the_inner_connection() {
        // IP in IP.
        check_inner(tcp_in_ip(&outer(4, &inner_tcp()), 0));
        // GRE carrying IPv4.
        let mut gre = vec![0, 0, 0x08, 0x00];
        gre.extend_from_slice(&inner_tcp());
        check_inner(tcp_in_ip(&outer(47, &gre), 0));
        // ERSPAN type II over GRE, carrying an Ethernet frame.
        let mut erspan = vec![0x10, 0, 0x88, 0xbe, 0, 0, 0, 7, 0x10, 0, 0, 1, 0, 0, 0, 0];
        erspan.extend_from_slice(&[0; 12]);
        erspan.extend_from_slice(&[0x08, 0x00]);
        erspan.extend_from_slice(&inner_tcp());
        check_inner(tcp_in_ip(&outer(47, &erspan), 0));
        // VXLAN.
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        vx.extend_from_slice(&[0; 12]);
        vx.extend_from_slice(&[0x08, 0x00]);
        vx.extend_from_slice(&inner_tcp());
        let mut out = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .udp(40000, 4789)
            .write(&mut out, &vx)
            .unwrap();
        check_inner(tcp_in_ip(&out, 0));
        // Nested too deep.
        let mut p = inner_tcp();
        for _ in 0..=MAX_TUNNEL_DEPTH {
            p = outer(4, &p);
        }
        assert_eq!(tcp_in_ip(&p, 0), Err(SkipReason::TunnelTooDeep));
        // A UDP packet that is no tunnel.
        let mut out = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .udp(53, 53)
            .write(&mut out, b"x")
            .unwrap();
        assert_eq!(tcp_in_ip(&out, 0), Err(SkipReason::NotTcp));
    }

    #[test]
    fn fragments_are_skipped() {
        let mut p = v4_packet(b"abcdefgh");
        // Set "more fragments".
        p[14 + 6] = 0x20;
        assert_eq!(
            decode(&frame(&p, p.len() as u32)),
            Err(SkipReason::IpFragment)
        );
    }
}
