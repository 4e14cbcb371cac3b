//! Decode stage: a [`Frame`] → a [`TcpSegment`] or the [`SkipReason`] it was not one.
//!
//! Only the headers the pipeline needs are read: link (see [`link`]), IPv4/IPv6 with extension
//! headers (etherparse, lax mode so that packets cut by the snap length are recognised rather
//! than rejected), and TCP. A payload cut short by the snap length is reported as such
//! (`missing` bytes), never passed on as if it were whole. An IP fragment is handed out as
//! such ([`decode_or_fragment`]); the datagram [`ipfrag::Defragmenter`] puts back together goes
//! through the same tunnel, IP and TCP decoding ([`decode_reassembled`]).

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
    /// The acknowledgment number (meaningful when `flags.ack` is set).
    pub ack: u32,
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
        Decoded::Udp(_) => Err(SkipReason::NotTcp),
    }
}

/// What a frame carries once decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    Segment(TcpSegment<'a>),
    /// One fragment of an IP datagram (to be put together by [`ipfrag::Defragmenter`]).
    Fragment(ipfrag::Fragment<'a>),
    /// A UDP datagram that may carry a QUIC or DTLS handshake
    /// ([`crate::quic::flow::is_candidate`], [`crate::dtls::is_candidate`]).
    Udp(UdpDatagram<'a>),
}

/// A UDP datagram handed to the QUIC reader, borrowed from its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// The captured payload bytes.
    pub payload: &'a [u8],
}

/// Decodes a frame down to its TCP segment or IP fragment, through any tunnels.
pub fn decode_or_fragment<'a>(frame: &Frame<'a>) -> Result<Decoded<'a>, SkipReason> {
    decode_frame(frame, true)
}

/// [`decode_or_fragment`] without the hand-written reader of plain IPv4/IPv6 + TCP headers:
/// every layer through etherparse. For tests and fuzzing, which require the two to agree on
/// every frame.
pub fn decode_or_fragment_general<'a>(frame: &Frame<'a>) -> Result<Decoded<'a>, SkipReason> {
    decode_frame(frame, false)
}

fn decode_frame<'a>(frame: &Frame<'a>, fast: bool) -> Result<Decoded<'a>, SkipReason> {
    let ip = link::ip_payload(frame.link, frame.data)?;
    let cut = frame.orig_len.saturating_sub(frame.data.len() as u32);
    walk(ip, cut, fast)
}

/// Decodes an IP packet; `cut` is how many bytes of the frame the snap length removed.
pub fn tcp_in_ip(ip: &[u8], cut: u32) -> Result<TcpSegment<'_>, SkipReason> {
    match walk(ip, cut, true)? {
        Decoded::Segment(seg) => Ok(seg),
        Decoded::Fragment(_) => Err(SkipReason::IpFragment),
        Decoded::Udp(_) => Err(SkipReason::NotTcp),
    }
}

/// Through IP layers and tunnels; `fast`: plain TCP headers read by hand ([`plain_tcp`]).
fn walk(ip: &[u8], cut: u32, fast: bool) -> Result<Decoded<'_>, SkipReason> {
    // The common case first, straight to its answer: plain TCP read by hand.
    if let Some(seg) = fast.then(|| plain_tcp(ip, cut)).flatten() {
        return Ok(Decoded::Segment(seg));
    }
    follow(ip_layer_general(ip, cut)?, 0, cut, fast)
}

/// One IP layer: by hand when `fast` and it is plain TCP, else through etherparse.
fn ip_layer(ip: &[u8], cut: u32, fast: bool) -> Result<Layer<'_>, SkipReason> {
    match fast.then(|| plain_tcp(ip, cut)).flatten() {
        Some(seg) => Ok(Layer::Tcp(seg)),
        None => ip_layer_general(ip, cut),
    }
}

/// From a layer found `depth` tunnels deep down to a TCP segment or an IP fragment, through
/// [`MAX_TUNNEL_DEPTH`] tunnels at most counted from the outermost IP header of the frame.
fn follow<'a>(
    mut layer: Layer<'a>,
    mut depth: usize,
    cut: u32,
    fast: bool,
) -> Result<Decoded<'a>, SkipReason> {
    loop {
        let ip = match layer {
            Layer::Tcp(seg) => return Ok(Decoded::Segment(seg)),
            Layer::Udp(d) => return Ok(Decoded::Udp(d)),
            Layer::Fragment(mut f) => {
                f.depth = u8::try_from(depth).unwrap_or(u8::MAX);
                return Ok(Decoded::Fragment(f));
            }
            Layer::Inner(tunnel::Inner::Ip(inner)) => inner,
            Layer::Inner(tunnel::Inner::Ethernet(frame)) => {
                link::ip_payload(crate::capture::LinkType::ETHERNET, frame)?
            }
            Layer::Inner(tunnel::Inner::Other) => return Err(SkipReason::NotTcp),
        };
        depth += 1;
        if depth > MAX_TUNNEL_DEPTH {
            return Err(SkipReason::TunnelTooDeep);
        }
        layer = ip_layer(ip, cut, fast)?;
    }
}

/// What a datagram put back together by [`ipfrag::Defragmenter`] carries, through the same
/// tunnel, IP and TCP decoding as a frame: a TCP segment (of the datagram, or of a packet
/// tunnelled in it), or a fragment of a tunnelled datagram (for the defragmenter again).
/// Tunnels count from the outermost IP header of the frames the datagram came in, so that
/// fragments inside tunnels inside fragments stop at [`MAX_TUNNEL_DEPTH`] like any nesting.
pub fn decode_reassembled(d: &ipfrag::Reassembled) -> Result<Decoded<'_>, SkipReason> {
    let depth = usize::from(d.depth);
    if depth > MAX_TUNNEL_DEPTH {
        return Err(SkipReason::TunnelTooDeep);
    }
    // A datagram put back together is whole: nothing cut by a snap length.
    let layer = transport(
        IpNumber(d.key.proto),
        d.key.src,
        d.key.dst,
        &d.payload,
        false,
        0,
    )?;
    follow(layer, depth, 0, true)
}

enum Layer<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
    Fragment(ipfrag::Fragment<'a>),
    Inner(tunnel::Inner<'a>),
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(*b.get(at..at + 4)?.first_chunk()?))
}

/// The common case, read by hand: an unfragmented IPv4 packet, or an IPv6 packet without
/// extension headers, carrying a whole TCP header. Anything else (options aside), or
/// anything doubtful, is `None` and goes the general way ([`ip_layer_general`]), which
/// gives the same segment for every packet this accepts (tested on every fixture and on
/// mutated packets).
fn plain_tcp(ip: &[u8], cut: u32) -> Option<TcpSegment<'_>> {
    let first = *ip.first()?;
    let (src, dst, payload, incomplete) = match first >> 4 {
        4 => {
            let header_len = usize::from(first & 0x0f) * 4;
            let total_len = usize::from(be16(ip, 2)?);
            let flags_offset = be16(ip, 6)?;
            // MF set or an offset: a fragment. Protocol 6: TCP.
            if header_len < 20
                || total_len < header_len + 20
                || flags_offset & 0x3fff != 0
                || *ip.get(9)? != 6
                || ip.len() < header_len
            {
                return None;
            }
            let src: [u8; 4] = *ip.get(12..16)?.first_chunk()?;
            let dst: [u8; 4] = *ip.get(16..20)?.first_chunk()?;
            let end = total_len.min(ip.len());
            (
                IpAddr::from(src),
                IpAddr::from(dst),
                ip.get(header_len..end)?,
                total_len > ip.len(),
            )
        }
        6 => {
            // Next header 6 right after the fixed header; a zero payload length (jumbogram,
            // or a length left for the NIC to fill in) goes the general way.
            let payload_len = usize::from(be16(ip, 4)?);
            if *ip.get(6)? != 6 || payload_len < 20 || ip.len() < 40 {
                return None;
            }
            let src: [u8; 16] = *ip.get(8..24)?.first_chunk()?;
            let dst: [u8; 16] = *ip.get(24..40)?.first_chunk()?;
            let end = (40 + payload_len).min(ip.len());
            (
                IpAddr::from(src),
                IpAddr::from(dst),
                ip.get(40..end)?,
                40 + payload_len > ip.len(),
            )
        }
        _ => return None,
    };
    let data_offset = usize::from(*payload.get(12)? >> 4) * 4;
    if data_offset < 20 || payload.len() < data_offset {
        return None;
    }
    let flags = *payload.get(13)?;
    let syn = flags & 0x02 != 0;
    Some(TcpSegment {
        src,
        dst,
        src_port: be16(payload, 0)?,
        dst_port: be16(payload, 2)?,
        seq: be32(payload, 4)?,
        ack: be32(payload, 8)?,
        flags: TcpFlags {
            syn,
            ack: flags & 0x10 != 0,
            fin: flags & 0x01 != 0,
            rst: flags & 0x04 != 0,
        },
        payload: payload.get(data_offset..)?,
        missing: if incomplete && !syn { cut } else { 0 },
    })
}

/// Any IP packet: etherparse's lax slices (extension headers, fragments, tunnels, packets
/// cut by the snap length, and the reasons a packet is skipped).
fn ip_layer_general(raw: &[u8], cut: u32) -> Result<Layer<'_>, SkipReason> {
    let (ip, _ext_err) = match LaxIpSlice::from_slice(raw) {
        Ok(v) => v,
        Err(etherparse::err::ip::LaxHeaderSliceError::Len(_)) => return Err(SkipReason::Truncated),
        Err(etherparse::err::ip::LaxHeaderSliceError::Content(_)) => {
            return Err(SkipReason::Malformed)
        }
    };
    let payload = ip.payload();
    if payload.fragmented {
        // A fragment cut by the snap length could only leave a hole or a wrong end.
        if payload.incomplete {
            return Err(SkipReason::Truncated);
        }
        return ipfrag::Fragment::of(raw, &ip)
            .map(Layer::Fragment)
            .ok_or(SkipReason::Malformed);
    }
    transport(
        payload.ip_number,
        ip.source_addr(),
        ip.destination_addr(),
        payload.payload,
        payload.incomplete,
        cut,
    )
}

/// The payload of an IP packet (or of a datagram put back together), by protocol: TCP, or
/// the inner packet of a tunnel. `incomplete`: the packet was cut by the snap length, `cut`
/// bytes from its end.
fn transport<'a>(
    proto: IpNumber,
    src: IpAddr,
    dst: IpAddr,
    payload: &'a [u8],
    incomplete: bool,
    cut: u32,
) -> Result<Layer<'a>, SkipReason> {
    match proto {
        IpNumber::TCP => {}
        IpNumber::IPV4 | IpNumber::IPV6 => return Ok(Layer::Inner(tunnel::Inner::Ip(payload))),
        IpNumber::GRE => {
            return tunnel::gre(payload)
                .map(Layer::Inner)
                .ok_or(SkipReason::Truncated)
        }
        IpNumber::UDP => {
            let udp =
                etherparse::UdpSlice::from_slice_lax(payload).map_err(|_| SkipReason::Truncated)?;
            let inner = match (udp.source_port(), udp.destination_port()) {
                (_, tunnel::VXLAN_PORT) | (tunnel::VXLAN_PORT, _) => tunnel::vxlan(udp.payload()),
                (_, tunnel::GENEVE_PORT) | (tunnel::GENEVE_PORT, _) => {
                    tunnel::geneve(udp.payload())
                }
                (src_port, dst_port) => {
                    // A QUIC candidate: two byte reads and a compare for any other datagram.
                    let payload = udp.payload();
                    if crate::quic::flow::is_candidate(payload)
                        || crate::dtls::is_candidate(payload)
                    {
                        return Ok(Layer::Udp(UdpDatagram {
                            src,
                            dst,
                            src_port,
                            dst_port,
                            payload,
                        }));
                    }
                    return Err(SkipReason::NotTcp);
                }
            };
            return inner.map(Layer::Inner).ok_or(SkipReason::Truncated);
        }
        _ => return Err(SkipReason::NotTcp),
    }
    let tcp = match TcpSlice::from_slice(payload) {
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
    let missing = if incomplete && !tcp.syn() { cut } else { 0 };
    Ok(Layer::Tcp(TcpSegment::of(src, dst, &tcp, missing)))
}

impl<'a> TcpSegment<'a> {
    /// The segment an etherparse TCP slice holds, between these addresses.
    pub fn of(src: IpAddr, dst: IpAddr, tcp: &TcpSlice<'a>, missing: u32) -> Self {
        TcpSegment {
            src,
            dst,
            src_port: tcp.source_port(),
            dst_port: tcp.destination_port(),
            seq: tcp.sequence_number(),
            ack: tcp.acknowledgment_number(),
            flags: TcpFlags {
                syn: tcp.syn(),
                ack: tcp.ack(),
                fin: tcp.fin(),
                rst: tcp.rst(),
            },
            payload: tcp.payload(),
            missing,
        }
    }
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

    /// Raw IP packets through the decoder and a defragmenter, as the pipeline does: the
    /// TCP segments that come out (as text), and the reasons of the skips.
    fn defragment(packets: &[Vec<u8>]) -> (Vec<String>, Vec<SkipReason>, ipfrag::FragStats) {
        let mut d = ipfrag::Defragmenter::new(ipfrag::Limits::default());
        let (mut segs, mut skips) = (vec![], vec![]);
        for p in packets {
            let f = Frame {
                link: LinkType::RAW,
                ..frame(p, p.len() as u32)
            };
            let mut done = match decode_or_fragment(&f) {
                Ok(Decoded::Segment(seg)) => {
                    segs.push(format!("{seg:?}"));
                    None
                }
                Ok(Decoded::Fragment(frag)) => d.add(Timestamp(0), &frag),
                Ok(Decoded::Udp(_)) => None,
                Err(e) => {
                    skips.push(e);
                    None
                }
            };
            while let Some(datagram) = done.take() {
                match decode_reassembled(&datagram) {
                    Ok(Decoded::Segment(seg)) => segs.push(format!("{seg:?}")),
                    Ok(Decoded::Fragment(inner)) => done = d.add(Timestamp(0), &inner),
                    Ok(Decoded::Udp(_)) => skips.push(SkipReason::NotTcp),
                    Err(e) => skips.push(e),
                }
            }
        }
        (segs, skips, d.stats)
    }

    fn big_inner_tcp() -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([10, 1, 0, 10], [40, 97, 10, 20], 64)
            .tcp(50000, 443, 1, 100)
            .write(&mut out, &[0x16; 3000])
            .unwrap();
        out
    }

    #[test]
    fn a_fragmented_tunnel_is_put_back_together_then_opened() {
        let inner = big_inner_tcp();
        let whole = format!("{:?}", tcp_in_ip(&inner, 0).unwrap());
        let mut gre = vec![0, 0, 0x08, 0x00];
        gre.extend_from_slice(&inner);
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        vx.extend_from_slice(&[0; 12]);
        vx.extend_from_slice(&[0x08, 0x00]);
        vx.extend_from_slice(&inner);
        let mut vxlan = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .udp(40000, 4789)
            .write(&mut vxlan, &vx)
            .unwrap();
        for outer in [outer(47, &gre), vxlan, outer(4, &inner)] {
            let mut frags = crate::synth::fragment_ipv4(&outer, 1400);
            assert_eq!(frags.len(), 3);
            frags.swap(0, 2);
            let (segs, skips, stats) = defragment(&frags);
            assert_eq!(segs, std::slice::from_ref(&whole));
            assert!(skips.is_empty());
            assert_eq!(stats.reassembled, 1);
        }
    }

    #[test]
    fn a_fragment_inside_a_fragmented_tunnel_goes_back_to_the_defragmenter() {
        let inner = big_inner_tcp();
        let whole = format!("{:?}", tcp_in_ip(&inner, 0).unwrap());
        // The inner packet fragmented, each fragment in GRE, each GRE packet fragmented.
        let mut packets = vec![];
        for f in crate::synth::fragment_ipv4(&inner, 2000) {
            let mut gre = vec![0, 0, 0x08, 0x00];
            gre.extend_from_slice(&f);
            let mut outer_frags = crate::synth::fragment_ipv4(&outer(47, &gre), 800);
            outer_frags.reverse();
            packets.extend(outer_frags);
        }
        let (segs, skips, stats) = defragment(&packets);
        assert_eq!(segs, [whole]);
        assert!(skips.is_empty());
        // Two outer datagrams, then the inner one.
        assert_eq!(stats.reassembled, 3);
        assert_eq!(stats.fragments, packets.len() as u64 + 2);
    }

    #[test]
    fn tunnels_inside_fragments_count_toward_the_nesting_bound() {
        // MAX_TUNNEL_DEPTH IP-in-IP layers inside the reassembled one: one too many.
        let mut p = inner_tcp();
        for _ in 0..MAX_TUNNEL_DEPTH {
            p = outer(4, &p);
        }
        let mut frags = crate::synth::fragment_ipv4(&outer(4, &p), 64);
        let (segs, skips, _) = defragment(&frags);
        assert!(segs.is_empty());
        assert_eq!(skips, [SkipReason::TunnelTooDeep]);
        // One layer fewer is decoded.
        frags = crate::synth::fragment_ipv4(&p, 64);
        let (segs, skips, _) = defragment(&frags);
        assert_eq!((segs.len(), skips.len()), (1, 0));
        // A reassembled datagram that says it is deeper than the bound.
        let d = ipfrag::Reassembled {
            key: ipfrag::FragKey {
                src: "192.0.2.1".parse().unwrap(),
                dst: "192.0.2.2".parse().unwrap(),
                id: 1,
                proto: 6,
            },
            depth: MAX_TUNNEL_DEPTH as u8 + 1,
            payload: vec![0; 20],
        };
        assert_eq!(decode_reassembled(&d), Err(SkipReason::TunnelTooDeep));
    }

    #[test]
    fn a_reassembled_datagram_that_is_not_tcp_or_a_tunnel() {
        let mut udp = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .udp(53, 53)
            .write(&mut udp, &[0; 100])
            .unwrap();
        let (_, skips, _) = defragment(&crate::synth::fragment_ipv4(&udp, 48));
        assert_eq!(skips, [SkipReason::NotTcp]);
        // A fragment cut by the snap length: never held.
        let frag = &crate::synth::fragment_ipv4(&udp, 48)[0];
        let f = Frame {
            link: LinkType::RAW,
            ..frame(&frag[..30], frag.len() as u32)
        };
        assert_eq!(decode_or_fragment(&f), Err(SkipReason::Truncated));
    }

    /// `plain_tcp`'s answer, when it has one, is the general decoder's.
    fn same_as_general(ip: &[u8], cut: u32) -> bool {
        let Some(fast) = plain_tcp(ip, cut) else {
            return false;
        };
        match ip_layer_general(ip, cut) {
            Ok(Layer::Tcp(general)) => {
                assert_eq!(fast, general, "ip {ip:02x?} cut {cut}");
                true
            }
            Ok(_) => {
                panic!("fast path took a packet the general one does not see as TCP: {ip:02x?}")
            }
            Err(e) => panic!("fast path took a packet the general one skips ({e}): {ip:02x?}"),
        }
    }

    #[test]
    fn hand_read_headers_equal_etherparse_on_every_fixture_and_mutations() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.to_string_lossy();
                name.ends_with(".pcap") || name.ends_with(".pcapng")
            })
            .collect();
        files.sort();
        assert!(files.len() >= 20, "{files:?}");
        let (mut fast, mut packets, mut mutants) = (0, 0, 0);
        for path in files {
            let mut reader = crate::capture::native::NativeReader::open(
                &crate::capture::offline::Source::File(path.clone()),
            )
            .unwrap();
            while let Ok(Some(f)) = reader.next_frame() {
                assert_eq!(decode_or_fragment(&f), decode_or_fragment_general(&f));
                let Ok(ip) = link::ip_payload(f.link, f.data) else {
                    continue;
                };
                packets += 1;
                let cut = f.orig_len.saturating_sub(f.data.len() as u32);
                fast += usize::from(same_as_general(ip, cut));
                if f.number > 40 {
                    continue;
                }
                // Every prefix, as a snap length would cut it.
                for len in 0..ip.len().min(100) {
                    same_as_general(&ip[..len], (ip.len() - len) as u32);
                }
                // Each of the first 80 bytes set to values that matter to a header reader.
                let mut m = ip.to_vec();
                for at in 0..m.len().min(80) {
                    let orig = m[at];
                    for v in [
                        0,
                        1,
                        4,
                        5,
                        6,
                        0x11,
                        0x20,
                        0x40,
                        0x45,
                        0x4f,
                        0x50,
                        0x60,
                        0xff,
                        orig ^ 0x10,
                    ] {
                        m[at] = v;
                        mutants += usize::from(same_as_general(&m, 0));
                        same_as_general(&m, 7);
                    }
                    m[at] = orig;
                }
            }
        }
        // The fixtures are plain TCP over IPv4/IPv6 for the most part, tunnels and
        // fragments aside: the fast path must take most of them.
        assert!(
            packets > 500 && fast * 10 > packets * 8,
            "{fast} of {packets}"
        );
        assert!(mutants > 10_000, "{mutants}");
    }
}
