//! Flows: one entry per TCP connection, keyed so that both directions meet.
//!
//! A [`FlowKey`] orders its two endpoints, so a segment and its reply find the same entry; a
//! [`Dir`] says which way a segment went relative to that order. Client and server are TLS
//! roles ([`Side`]): the SYN sender is presumed client, a ClientHello confirms it.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::decode::TcpSegment;

/// An address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

/// The same for both directions of a connection: `lo` sorts before `hi` (by address, then
/// port, as [`Endpoint`] sorts).
///
/// Stored flat (both addresses as two 64-bit words, IPv4 in the low word, and a family flag
/// so that an IPv4 address never equals its IPv4-mapped IPv6 form): this is the flow table's
/// key, compared and hashed for every packet, and integer words are cheaper there than
/// [`IpAddr`] enums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// `lo`'s address, then `hi`'s: high word, low word.
    addrs: [u64; 4],
    /// `lo`'s port, then `hi`'s.
    ports: [u16; 2],
    v6: bool,
}

/// Keys sort as their endpoints do: `lo`, then `hi`.
impl Ord for FlowKey {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.lo(), self.hi()).cmp(&(other.lo(), other.hi()))
    }
}

impl PartialOrd for FlowKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An address as (IPv6, high word, low word).
fn words(ip: IpAddr) -> (bool, u64, u64) {
    match ip {
        IpAddr::V4(a) => (false, 0, u64::from(u32::from(a))),
        IpAddr::V6(a) => {
            let n = u128::from(a);
            (true, (n >> 64) as u64, n as u64)
        }
    }
}

/// Direction of a segment relative to its [`FlowKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From `lo` to `hi`.
    LoToHi = 0,
    /// From `hi` to `lo`.
    HiToLo = 1,
}

impl Dir {
    pub fn index(self) -> usize {
        self as usize
    }

    /// This direction's half of a per-direction pair (`[lo→hi, hi→lo]`), without indexing.
    pub fn of<T>(self, pair: &[T; 2]) -> &T {
        let [lo_to_hi, hi_to_lo] = pair;
        match self {
            Dir::LoToHi => lo_to_hi,
            Dir::HiToLo => hi_to_lo,
        }
    }

    /// This direction's half of a per-direction pair, mutably.
    pub fn of_mut<T>(self, pair: &mut [T; 2]) -> &mut T {
        let [lo_to_hi, hi_to_lo] = pair;
        match self {
            Dir::LoToHi => lo_to_hi,
            Dir::HiToLo => hi_to_lo,
        }
    }

    pub fn reverse(self) -> Dir {
        match self {
            Dir::LoToHi => Dir::HiToLo,
            Dir::HiToLo => Dir::LoToHi,
        }
    }
}

/// TLS role of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    /// `client` or `server`, as the outputs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

impl FlowKey {
    /// The key of a segment, and which way it went.
    pub fn of(seg: &TcpSegment<'_>) -> (FlowKey, Dir) {
        let (v6, s0, s1) = words(seg.src);
        let (dst_v6, d0, d1) = words(seg.dst);
        // Both addresses come from one IP header: one family. (Were they not, the flag
        // would still keep such a key apart from every real one.)
        let v6 = v6 || dst_v6;
        if (s0, s1, seg.src_port) <= (d0, d1, seg.dst_port) {
            let key = FlowKey {
                addrs: [s0, s1, d0, d1],
                ports: [seg.src_port, seg.dst_port],
                v6,
            };
            (key, Dir::LoToHi)
        } else {
            let key = FlowKey {
                addrs: [d0, d1, s0, s1],
                ports: [seg.dst_port, seg.src_port],
                v6,
            };
            (key, Dir::HiToLo)
        }
    }

    /// The sender of segments going in `dir`.
    pub fn sender(&self, dir: Dir) -> Endpoint {
        let [lo0, lo1, hi0, hi1] = self.addrs;
        let [lo_port, hi_port] = self.ports;
        let (hi_word, lo_word, port) = match dir {
            Dir::LoToHi => (lo0, lo1, lo_port),
            Dir::HiToLo => (hi0, hi1, hi_port),
        };
        let ip = if self.v6 {
            IpAddr::V6(Ipv6Addr::from(
                (u128::from(hi_word) << 64) | u128::from(lo_word),
            ))
        } else {
            IpAddr::V4(Ipv4Addr::from(lo_word as u32))
        };
        Endpoint { ip, port }
    }

    /// The endpoint that sorts first.
    pub fn lo(&self) -> Endpoint {
        self.sender(Dir::LoToHi)
    }

    /// The endpoint that sorts last.
    pub fn hi(&self) -> Endpoint {
        self.sender(Dir::HiToLo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::TcpFlags;

    #[test]
    fn a_direction_picks_its_half_of_a_pair() {
        let mut pair = ["lo to hi", "hi to lo"];
        for dir in [Dir::LoToHi, Dir::HiToLo] {
            assert_eq!(dir.of(&pair), &pair[dir.index()]);
        }
        *Dir::HiToLo.of_mut(&mut pair) = "changed";
        assert_eq!(pair, ["lo to hi", "changed"]);
    }

    fn seg(src: &str, sp: u16, dst: &str, dp: u16) -> TcpSegment<'static> {
        TcpSegment {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            src_port: sp,
            dst_port: dp,
            seq: 0,
            ack: 0,
            flags: TcpFlags::default(),
            payload: b"",
            missing: 0,
        }
    }

    #[test]
    fn both_directions_share_a_key() {
        let (k1, d1) = FlowKey::of(&seg("10.1.0.10", 50000, "40.97.10.20", 443));
        let (k2, d2) = FlowKey::of(&seg("40.97.10.20", 443, "10.1.0.10", 50000));
        assert_eq!(k1, k2);
        assert_eq!(d1, d2.reverse());
        assert_eq!(k1.sender(d1).port, 50000);
        assert_eq!(k1.sender(d2).port, 443);
    }

    #[test]
    fn endpoints_come_back_whole_and_in_endpoint_order() {
        let cases = [
            ("10.1.0.10", 50000, "40.97.10.20", 443),
            ("40.97.10.20", 443, "10.1.0.10", 50000),
            ("255.255.255.255", 1, "0.0.0.0", 65535),
            ("2603:1036::1", 443, "2001:db8::7", 61000),
            ("::ffff:10.1.0.10", 1, "::1", 2),
            ("ffff::ffff", 9, "ffff::fffe", 9),
        ];
        for (a, ap, b, bp) in cases {
            let s = seg(a, ap, b, bp);
            let (k, d) = FlowKey::of(&s);
            let src = Endpoint {
                ip: s.src,
                port: ap,
            };
            let dst = Endpoint {
                ip: s.dst,
                port: bp,
            };
            assert_eq!(k.sender(d), src);
            assert_eq!(k.sender(d.reverse()), dst);
            assert_eq!((k.lo(), k.hi()), (src.min(dst), src.max(dst)));
            assert!(k.lo() <= k.hi());
        }
    }

    #[test]
    fn an_ipv4_address_is_not_its_mapped_ipv6_form() {
        let (v4, _) = FlowKey::of(&seg("10.1.0.10", 1, "10.1.0.11", 2));
        let (mapped, _) = FlowKey::of(&seg("::ffff:10.1.0.10", 1, "::ffff:10.1.0.11", 2));
        let (compat, _) = FlowKey::of(&seg("::10.1.0.10", 1, "::10.1.0.11", 2));
        assert_ne!(v4, mapped);
        assert_ne!(v4, compat);
        assert_eq!(compat.lo().ip, "::10.1.0.10".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn same_address_different_ports() {
        let (k1, d1) = FlowKey::of(&seg("127.0.0.1", 4433, "127.0.0.1", 50000));
        let (k2, d2) = FlowKey::of(&seg("127.0.0.1", 50000, "127.0.0.1", 4433));
        assert_eq!(k1, k2);
        assert_ne!(d1, d2);
    }
}
