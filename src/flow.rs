//! Flows: one entry per TCP connection, keyed so that both directions meet.
//!
//! A [`FlowKey`] orders its two endpoints, so a segment and its reply find the same entry; a
//! [`Dir`] says which way a segment went relative to that order. Client and server are TLS
//! roles ([`Side`]): the SYN sender is presumed client, a ClientHello confirms it.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use crate::decode::TcpSegment;

/// An address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

/// The same for both directions of a connection: `lo` sorts before `hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    pub lo: Endpoint,
    pub hi: Endpoint,
}

impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Addresses as bytes: cheaper than the derived enum hash, same equality.
        for ep in [&self.lo, &self.hi] {
            match ep.ip {
                IpAddr::V4(a) => state.write_u32(u32::from(a)),
                IpAddr::V6(a) => state.write_u128(u128::from(a)),
            }
            state.write_u16(ep.port);
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

impl FlowKey {
    /// The key of a segment, and which way it went.
    pub fn of(seg: &TcpSegment<'_>) -> (FlowKey, Dir) {
        let src = Endpoint {
            ip: seg.src,
            port: seg.src_port,
        };
        let dst = Endpoint {
            ip: seg.dst,
            port: seg.dst_port,
        };
        if src <= dst {
            (FlowKey { lo: src, hi: dst }, Dir::LoToHi)
        } else {
            (FlowKey { lo: dst, hi: src }, Dir::HiToLo)
        }
    }

    /// The sender of segments going in `dir`.
    pub fn sender(&self, dir: Dir) -> Endpoint {
        match dir {
            Dir::LoToHi => self.lo,
            Dir::HiToLo => self.hi,
        }
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
    fn same_address_different_ports() {
        let (k1, d1) = FlowKey::of(&seg("127.0.0.1", 4433, "127.0.0.1", 50000));
        let (k2, d2) = FlowKey::of(&seg("127.0.0.1", 50000, "127.0.0.1", 4433));
        assert_eq!(k1, k2);
        assert_ne!(d1, d2);
    }
}
