//! IP fragments: IPv4 and IPv6 datagrams put back together, with bounded memory.
//!
//! etherparse's `IpDefragBuf` does the byte work; this module adds what it leaves to the
//! caller: a cap on datagrams in progress and on the bytes they hold, and a timeout in
//! capture time (RFC 791 suggests 15 s, Linux uses 30 s). Anything over a cap is dropped and
//! counted, never fatal.

use std::collections::HashMap;
use std::net::IpAddr;

use etherparse::defrag::IpDefragBuf;
use etherparse::IpFragOffset;
use etherparse::{IpNumber, Ipv6ExtensionSlice, LaxIpSlice};

use crate::capture::Timestamp;

/// Which datagram a fragment belongs to (RFC 791 §3.2; RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

/// One fragment, borrowed from its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub key: FragKey,
    /// Offset in 8-byte units.
    pub offset: u16,
    pub more: bool,
    pub payload: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// The fragment in a lax-parsed IP packet whose payload is fragmented.
    pub fn of(ip: &LaxIpSlice<'a>) -> Option<Fragment<'a>> {
        let payload = ip.payload();
        match ip {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                Some(Fragment {
                    key: FragKey {
                        src: IpAddr::V4(h.source_addr()),
                        dst: IpAddr::V4(h.destination_addr()),
                        id: u32::from(h.identification()),
                        proto: payload.ip_number.0,
                    },
                    offset: h.fragments_offset().value(),
                    more: h.more_fragments(),
                    payload: payload.payload,
                })
            }
            LaxIpSlice::Ipv6(v6) => {
                let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                    Ipv6ExtensionSlice::Fragment(f) => Some(f),
                    _ => None,
                })?;
                let h = v6.header();
                Some(Fragment {
                    key: FragKey {
                        src: IpAddr::V6(h.source_addr()),
                        dst: IpAddr::V6(h.destination_addr()),
                        id: frag.identification(),
                        proto: payload.ip_number.0,
                    },
                    offset: frag.fragment_offset().value(),
                    more: frag.more_fragments(),
                    payload: payload.payload,
                })
            }
        }
    }
}

/// Caps of the defragmenter.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Datagrams in progress at most.
    pub max_datagrams: usize,
    /// Bytes held by datagrams in progress at most.
    pub max_bytes: usize,
    /// A datagram not completed within this many seconds (capture time) is dropped.
    pub timeout_secs: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_datagrams: 4096,
            max_bytes: 16 * 1024 * 1024,
            timeout_secs: 30,
        }
    }
}

/// Counters for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragStats {
    pub fragments: u64,
    pub reassembled: u64,
    /// Fragments dropped because a cap was reached.
    pub dropped_over_cap: u64,
    /// Datagrams dropped incomplete after the timeout.
    pub expired: u64,
    /// Fragments that contradicted their datagram (overlapping ends, bad alignment).
    pub invalid: u64,
}

struct InProgress {
    buf: IpDefragBuf,
    first_seen: Timestamp,
    bytes: usize,
}

/// Datagrams being put back together.
#[derive(Default)]
pub struct Defragmenter {
    active: HashMap<FragKey, InProgress, ahash::RandomState>,
    bytes: usize,
    limits: Limits,
    pub stats: FragStats,
}

impl Defragmenter {
    pub fn new(limits: Limits) -> Self {
        Defragmenter {
            limits,
            ..Default::default()
        }
    }

    /// Adds a fragment; returns the whole IP payload once the datagram is complete.
    pub fn add(&mut self, ts: Timestamp, frag: &Fragment<'_>) -> Option<(FragKey, Vec<u8>)> {
        self.stats.fragments += 1;
        if !self.active.contains_key(&frag.key) {
            self.expire(ts);
            if self.active.len() >= self.limits.max_datagrams {
                self.stats.dropped_over_cap += 1;
                return None;
            }
        }
        if self.bytes + frag.payload.len() > self.limits.max_bytes {
            self.stats.dropped_over_cap += 1;
            return None;
        }
        let entry = self.active.entry(frag.key).or_insert_with(|| InProgress {
            buf: IpDefragBuf::new(IpNumber(frag.key.proto), Vec::new(), Vec::new()),
            first_seen: ts,
            bytes: 0,
        });
        let offset = IpFragOffset::try_new(frag.offset).unwrap_or(IpFragOffset::ZERO);
        if entry.buf.add(offset, frag.more, frag.payload).is_err() {
            self.stats.invalid += 1;
            if let Some(gone) = self.active.remove(&frag.key) {
                self.bytes -= gone.bytes;
            }
            return None;
        }
        entry.bytes += frag.payload.len();
        self.bytes += frag.payload.len();
        if !entry.buf.is_complete() {
            return None;
        }
        let done = self.active.remove(&frag.key)?;
        self.bytes -= done.bytes;
        self.stats.reassembled += 1;
        let (data, _) = done.buf.take_bufs();
        Some((frag.key, data))
    }

    /// Drops datagrams older than the timeout.
    pub fn expire(&mut self, now: Timestamp) {
        let cutoff = now
            .0
            .saturating_sub(self.limits.timeout_secs.saturating_mul(1_000_000_000));
        let before = self.active.len();
        let mut freed = 0;
        self.active.retain(|_, d| {
            let keep = d.first_seen.0 >= cutoff;
            if !keep {
                freed += d.bytes;
            }
            keep
        });
        self.bytes -= freed;
        self.stats.expired += (before - self.active.len()) as u64;
    }

    /// Datagrams in progress.
    pub fn in_progress(&self) -> usize {
        self.active.len()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(id: u32, offset: u16, more: bool, payload: &[u8]) -> Fragment<'_> {
        Fragment {
            key: FragKey {
                src: "10.0.0.1".parse().unwrap(),
                dst: "10.0.0.2".parse().unwrap(),
                id,
                proto: 6,
            },
            offset,
            more,
            payload,
        }
    }

    #[test]
    fn puts_fragments_back_together_in_any_order() {
        let mut d = Defragmenter::new(Limits::default());
        let a = [1u8; 16];
        let b = [2u8; 16];
        let c = [3u8; 5];
        assert!(d.add(Timestamp(0), &frag(7, 4, false, &c)).is_none());
        assert!(d.add(Timestamp(0), &frag(7, 0, true, &a)).is_none());
        let (key, data) = d.add(Timestamp(0), &frag(7, 2, true, &b)).unwrap();
        assert_eq!(key.id, 7);
        assert_eq!(data.len(), 37);
        assert_eq!(&data[16..32], &b);
        assert_eq!(d.in_progress(), 0);
        assert_eq!(d.bytes(), 0);
        assert_eq!(d.stats.reassembled, 1);
    }

    #[test]
    fn caps_and_timeout() {
        let mut d = Defragmenter::new(Limits {
            max_datagrams: 2,
            max_bytes: 40,
            timeout_secs: 30,
        });
        let a = [0u8; 16];
        d.add(Timestamp(0), &frag(1, 0, true, &a));
        d.add(Timestamp(0), &frag(2, 0, true, &a));
        // A third datagram: over the datagram cap.
        assert!(d.add(Timestamp(0), &frag(3, 0, true, &a)).is_none());
        assert_eq!(d.stats.dropped_over_cap, 1);
        // More bytes than the byte cap.
        assert!(d.add(Timestamp(0), &frag(1, 2, true, &a)).is_none());
        assert_eq!(d.stats.dropped_over_cap, 2);
        assert_eq!(d.bytes(), 32);
        // After the timeout, old datagrams make room.
        d.add(Timestamp(31_000_000_000), &frag(4, 0, true, &a));
        assert_eq!(d.stats.expired, 2);
        assert_eq!(d.in_progress(), 1);
        assert_eq!(d.bytes(), 16);
    }

    #[test]
    fn contradicting_fragments_are_dropped() {
        let mut d = Defragmenter::new(Limits::default());
        // Not a multiple of 8 bytes with more fragments to come.
        assert!(d.add(Timestamp(0), &frag(9, 0, true, &[0u8; 5])).is_none());
        assert_eq!(d.stats.invalid, 1);
        assert_eq!(d.in_progress(), 0);
    }
}
