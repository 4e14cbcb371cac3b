//! IP fragments: IPv4 and IPv6 datagrams put back together, with bounded memory and time.
//!
//! What it promises:
//!
//! - **Overlaps drop the datagram.** Two fragments of one datagram that overlap (RFC 5722 for
//!   IPv6; Linux does the same for IPv4 since 4.19) make the whole datagram void: it is
//!   dropped, counted in [`FragStats::overlapping`], and a tombstone makes its later fragments
//!   be discarded ([`FragStats::after_drop`]) rather than start it again, until it would have
//!   timed out (as Linux keeps the emptied queue of such a datagram, marked to drop, until its
//!   timer fires); tombstones are capped ([`Limits::max_tombstones`]). The one exception is
//!   an exact duplicate (same offset, same length as a fragment held): a retransmission,
//!   ignored and counted ([`FragStats::duplicates`]), the copy held first kept (as Linux does,
//!   which does not compare the bytes either, so the datagram seen here is the one the host
//!   saw). A fragment that contradicts its datagram otherwise (an end before bytes held, a
//!   second different end, a non-last fragment not a multiple of 8 bytes, an empty one) drops
//!   the datagram the same way, counted in [`FragStats::invalid`].
//! - **Memory is charged at its real cost.** Each datagram in progress holds the bytes of its
//!   fragments in one buffer and 6 bytes per fragment in a sorted list; it is charged the
//!   capacity of both, plus [`DATAGRAM_OVERHEAD`] for its table entry, its place in the age
//!   queue and its two allocations. The sum is capped ([`Limits::max_bytes`]), and so are the
//!   datagrams in progress ([`Limits::max_datagrams`]) and the fragments of one datagram
//!   ([`Limits::max_fragments`]).
//! - **Full means the oldest goes.** When a cap is reached, the datagram in progress the
//!   longest is dropped to make room ([`FragStats::evicted`]); a queue in order of arrival
//!   (entries of datagrams completed or dropped meanwhile are skipped when they reach its
//!   front, and the queue is compacted when they are more than half of it) makes this O(1)
//!   amortised, as is the timeout, checked at the front of that queue and on each fragment of
//!   the datagram it belongs to.
//! - **Time is capture time**: a datagram not complete [`Limits::timeout_secs`] after its
//!   first fragment is dropped (RFC 791 suggests 15 s, Linux uses 30 s).
//!
//! Anything dropped is counted, never fatal.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use etherparse::{Ipv6ExtensionSlice, LaxIpSlice};

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
    /// Tunnels its IP header was found inside (0: the outermost IP header of the frame); the
    /// datagram it completes is decoded with what is left of [`super::MAX_TUNNEL_DEPTH`].
    pub depth: u8,
}

impl<'a> Fragment<'a> {
    /// The fragment in a lax-parsed IP packet whose payload is fragmented; `raw` is the packet
    /// `ip` was parsed from.
    ///
    /// For IPv6 the fragment's bytes are all that follows the Fragment header (RFC 8200 §4.5:
    /// the fragmentable part, extension headers after it included), and its protocol is the
    /// Fragment header's next header: etherparse, which goes on parsing after that header,
    /// would otherwise take the start of a later fragment's data for headers.
    pub fn of(raw: &'a [u8], ip: &LaxIpSlice<'a>) -> Option<Fragment<'a>> {
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
                    depth: 0,
                })
            }
            LaxIpSlice::Ipv6(v6) => {
                const FIXED: usize = 40;
                let exts = v6.extensions();
                let mut frag_end = FIXED;
                let mut frag = None;
                for e in exts.clone().into_iter() {
                    frag_end += match &e {
                        Ipv6ExtensionSlice::HopByHop(s)
                        | Ipv6ExtensionSlice::Routing(s)
                        | Ipv6ExtensionSlice::DestinationOptions(s) => s.slice().len(),
                        Ipv6ExtensionSlice::Authentication(s) => s.slice().len(),
                        Ipv6ExtensionSlice::Fragment(s) => s.slice().len(),
                    };
                    if let Ipv6ExtensionSlice::Fragment(f) = e {
                        frag = Some(f);
                        break;
                    }
                }
                let frag = frag?;
                let end = FIXED + exts.slice().len() + payload.payload.len();
                let h = v6.header();
                Some(Fragment {
                    key: FragKey {
                        src: IpAddr::V6(h.source_addr()),
                        dst: IpAddr::V6(h.destination_addr()),
                        id: frag.identification(),
                        proto: frag.next_header().0,
                    },
                    offset: frag.fragment_offset().value(),
                    more: frag.more_fragments(),
                    payload: raw.get(frag_end..end)?,
                    depth: 0,
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
    /// Memory charged to datagrams in progress at most (fragment bytes, fragment list, and
    /// [`DATAGRAM_OVERHEAD`] each).
    pub max_bytes: usize,
    /// Fragments held for one datagram at most. 1,024 is 64-byte fragments for the largest
    /// datagram; a path MTU of 576 bytes (the IPv4 minimum every host accepts) needs 120, the
    /// IPv6 minimum of 1,280 needs 54.
    pub max_fragments: usize,
    /// Tombstones of dropped datagrams at most (the oldest is forgotten first); each lasts
    /// until its datagram would have timed out.
    pub max_tombstones: usize,
    /// A datagram not completed within this many seconds (capture time) of its first
    /// fragment is dropped.
    pub timeout_secs: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_datagrams: 4096,
            max_bytes: 16 * 1024 * 1024,
            max_fragments: 1024,
            max_tombstones: 4096,
            timeout_secs: 30,
        }
    }
}

/// Counters for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragStats {
    pub fragments: u64,
    pub reassembled: u64,
    /// Fragments refused by a cap: one fragment too many for its datagram
    /// ([`Limits::max_fragments`], the datagram is dropped), or a datagram that alone would
    /// not fit [`Limits::max_bytes`].
    pub dropped_over_cap: u64,
    /// Datagrams dropped incomplete after the timeout.
    pub expired: u64,
    /// Datagrams dropped incomplete, oldest first, to make room for others (too many
    /// datagrams in progress, or too much memory held).
    pub evicted: u64,
    /// Datagrams dropped because two of their fragments overlapped.
    pub overlapping: u64,
    /// Fragments ignored as exact duplicates (same offset and length) of one held.
    pub duplicates: u64,
    /// Fragments that contradicted their datagram otherwise (ends that disagree, a non-last
    /// fragment whose length is not a multiple of 8, an empty fragment, beyond 65,535 bytes):
    /// the datagram is dropped.
    pub invalid: u64,
    /// Fragments discarded because their datagram was dropped already (overlap, contradiction
    /// or fragment cap).
    pub after_drop: u64,
}

/// One fragment held: where its bytes go in the datagram, and where they are in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    start: u16,
    end: u16,
    at: u16,
}

/// Bytes charged to each datagram in progress besides its two buffers: its table entry and
/// its place in the age queue, both counted twice (a hash table is at most 7/8 full and
/// grows by doubling; the queue may hold as many stale entries as live ones), and two
/// allocator headers.
pub const DATAGRAM_OVERHEAD: usize = 2
    * (std::mem::size_of::<(FragKey, InProgress)>() + 1 + std::mem::size_of::<(FragKey, u64)>())
    + 2 * 16;

/// Largest datagram payload: IPv4's total length and IPv6's payload length are 16 bits.
const MAX_DATAGRAM: usize = 65_535;

struct InProgress {
    /// Fragment bytes in order of arrival.
    data: Vec<u8>,
    /// Sorted by `start`, disjoint.
    pieces: Vec<Piece>,
    /// Bytes held (= `data.len()`).
    held: usize,
    /// The end of the datagram, once its last fragment was seen.
    total: Option<u16>,
    /// Every piece at its own place in `data` (fragments arrived in order).
    in_order: bool,
    first_seen: Timestamp,
    depth: u8,
    /// Its entry in the age queue.
    generation: u64,
    /// Bytes it costs.
    cost: usize,
    /// Of those, bytes charged to the defragmenter's total (`cost` once placed).
    charged: usize,
}

impl InProgress {
    fn cost_with(&self, data_cap: usize, pieces_cap: usize) -> usize {
        DATAGRAM_OVERHEAD + data_cap + pieces_cap * std::mem::size_of::<Piece>()
    }

    /// The datagram, once every byte up to the end is held.
    fn assemble(self) -> Vec<u8> {
        if self.in_order {
            return self.data;
        }
        let mut out = vec![0u8; self.held];
        for p in &self.pieces {
            let (at, len) = (usize::from(p.at), usize::from(p.end - p.start));
            if let (Some(to), Some(from)) = (
                out.get_mut(usize::from(p.start)..usize::from(p.end)),
                self.data.get(at..at + len),
            ) {
                to.copy_from_slice(from);
            }
        }
        out
    }
}

/// Capacity a buffer of `cap` grows to so that it holds `needed`: doubling, at most `max`.
fn grown(cap: usize, needed: usize, max: usize) -> usize {
    if needed <= cap {
        cap
    } else {
        needed
            .max(cap.saturating_mul(2))
            .max(8)
            .min(max.max(needed))
    }
}

/// Puts a fragment into its datagram if it fits in memory with `bytes` charged in all:
/// checks of ends and overlaps first, then the bytes and the sorted list. The caller charges
/// `cost - charged`.
fn place(d: &mut InProgress, frag: &Fragment<'_>, limits: &Limits, bytes: usize) -> Verdict {
    let len = frag.payload.len();
    let start = usize::from(frag.offset) * 8;
    let end = start + len;
    // RFC 791 §3.2 / RFC 8200 §4.5: every fragment but the last is a multiple of 8 bytes.
    if len == 0 || end > MAX_DATAGRAM || (frag.more && len % 8 != 0) {
        return Verdict::Invalid;
    }
    let (start16, end16) = (start as u16, end as u16);
    let last_end = d.pieces.last().map_or(0, |p| usize::from(p.end));
    // Ends checked first, as Linux does (net/ipv4/ip_fragment.c, ip_frag_queue).
    match (d.total, frag.more) {
        (Some(t), true) if end > usize::from(t) => return Verdict::Invalid,
        (Some(t), false) if end != usize::from(t) => return Verdict::Invalid,
        (None, false) if end < last_end => return Verdict::Invalid,
        _ => {}
    }
    // Fragments arrive in order most of the time: after the last piece, no search.
    let i = if start >= last_end {
        d.pieces.len()
    } else {
        d.pieces.partition_point(|p| p.start < start16)
    };
    if let Some(p) = d.pieces.get(i) {
        if p.start == start16 && p.end == end16 {
            return Verdict::Duplicate;
        }
        if p.start < end16 {
            return Verdict::Overlap;
        }
    }
    if let Some(p) = i.checked_sub(1).and_then(|j| d.pieces.get(j)) {
        if p.end > start16 {
            return Verdict::Overlap;
        }
    }
    if d.pieces.len() >= limits.max_fragments {
        return Verdict::OverCap;
    }
    // The memory it will take.
    let data_cap = grown(d.data.capacity(), d.held + len, MAX_DATAGRAM);
    let pieces_cap = grown(
        d.pieces.capacity(),
        d.pieces.len() + 1,
        limits.max_fragments,
    );
    let new_cost = d.cost_with(data_cap, pieces_cap);
    if new_cost > limits.max_bytes {
        return Verdict::OverCap;
    }
    let growth = new_cost - d.charged;
    if bytes + growth > limits.max_bytes {
        return Verdict::NeedsRoom(growth);
    }
    d.depth = d.depth.max(frag.depth);
    d.data.reserve_exact(data_cap - d.data.len());
    d.pieces.reserve_exact(pieces_cap - d.pieces.len());
    let at = d.held;
    d.in_order &= at == start;
    d.data.extend_from_slice(frag.payload);
    d.pieces.insert(
        i,
        Piece {
            start: start16,
            end: end16,
            at: at as u16,
        },
    );
    d.held += len;
    if !frag.more {
        d.total = Some(end16);
    }
    d.cost = d.cost_with(d.data.capacity(), d.pieces.capacity());
    Verdict::Held
}

/// A datagram put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    pub key: FragKey,
    /// The deepest [`Fragment::depth`] of its fragments.
    pub depth: u8,
    /// The IP payload (the transport header onward).
    pub payload: Vec<u8>,
}

/// What a fragment did to its datagram.
enum Verdict {
    Held,
    Duplicate,
    Overlap,
    Invalid,
    OverCap,
    /// It fits once this many more bytes are free (nothing changed yet).
    NeedsRoom(usize),
}

/// Datagrams being put back together.
#[derive(Default)]
pub struct Defragmenter {
    active: HashMap<FragKey, InProgress, ahash::RandomState>,
    /// (datagram, generation) in order of arrival; stale entries are skipped lazily.
    queue: VecDeque<(FragKey, u64)>,
    next_generation: u64,
    /// Dropped datagrams: until when (ns) their fragments are discarded.
    tombstones: HashMap<FragKey, i64, ahash::RandomState>,
    tombstone_queue: VecDeque<(FragKey, i64)>,
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

    fn timeout_nanos(&self) -> i64 {
        self.limits.timeout_secs.saturating_mul(1_000_000_000)
    }

    /// Adds a fragment; returns the datagram once it is complete.
    pub fn add(&mut self, ts: Timestamp, frag: &Fragment<'_>) -> Option<Reassembled> {
        self.stats.fragments += 1;
        let key = frag.key;
        if !self.tombstones.is_empty() {
            match self.tombstones.get(&key) {
                Some(&until) if ts.0 < until => {
                    self.stats.after_drop += 1;
                    return None;
                }
                Some(_) => {
                    self.tombstones.remove(&key);
                }
                None => {}
            }
        }
        let cutoff = ts.0.saturating_sub(self.timeout_nanos());
        // One lookup for a datagram in progress: placed (or refused) with the entry in hand.
        let verdict = match self.active.get_mut(&key) {
            Some(d) if d.first_seen.0 >= cutoff => {
                let v = place(d, frag, &self.limits, self.bytes);
                if let Verdict::Held = v {
                    self.bytes = self.bytes + d.cost - d.charged;
                    d.charged = d.cost;
                    if d.total.map(usize::from) == Some(d.held) {
                        return self.complete(&key);
                    }
                }
                Some(v)
            }
            Some(_) => {
                // Too old: its earlier fragments are forgotten, this one starts anew.
                self.remove(&key);
                self.stats.expired += 1;
                None
            }
            None => None,
        };
        let verdict = match verdict {
            Some(Verdict::NeedsRoom(growth)) => {
                // Older datagrams make room, then the entry is looked up again (rare).
                while self.bytes + growth > self.limits.max_bytes {
                    if !self.evict_oldest(Some(&key)) {
                        break;
                    }
                }
                let d = self.active.get_mut(&key)?;
                let v = place(d, frag, &self.limits, self.bytes);
                if let Verdict::Held = v {
                    self.bytes = self.bytes + d.cost - d.charged;
                    d.charged = d.cost;
                    if d.total.map(usize::from) == Some(d.held) {
                        return self.complete(&key);
                    }
                }
                v
            }
            Some(v) => v,
            None => return self.start(ts, frag),
        };
        self.refused(ts, key, verdict);
        None
    }

    /// Counts a fragment not held, dropping its datagram when it is void.
    fn refused(&mut self, ts: Timestamp, key: FragKey, verdict: Verdict) {
        match verdict {
            Verdict::Held => return,
            Verdict::Duplicate => {
                self.stats.duplicates += 1;
                return;
            }
            Verdict::Overlap => self.stats.overlapping += 1,
            Verdict::Invalid => self.stats.invalid += 1,
            Verdict::OverCap | Verdict::NeedsRoom(_) => self.stats.dropped_over_cap += 1,
        }
        // The tombstone lasts as long as the datagram would have (Linux keeps a dropped
        // datagram's queue, empty and marked, until its timer fires: the same rule).
        let first_seen = self.remove(&key).map_or(ts, |d| d.first_seen);
        self.bury(first_seen, key);
    }

    /// The datagram of `key`, complete: out of the table.
    fn complete(&mut self, key: &FragKey) -> Option<Reassembled> {
        let done = self.remove(key)?;
        self.stats.reassembled += 1;
        Some(Reassembled {
            key: *key,
            depth: done.depth,
            payload: done.assemble(),
        })
    }

    /// The first fragment of a datagram (room made first in the table and in memory).
    fn start(&mut self, ts: Timestamp, frag: &Fragment<'_>) -> Option<Reassembled> {
        self.expire(ts);
        while self.active.len() >= self.limits.max_datagrams.max(1) {
            if !self.evict_oldest(None) {
                break;
            }
        }
        let mut d = InProgress {
            data: Vec::new(),
            pieces: Vec::new(),
            held: 0,
            total: None,
            in_order: true,
            first_seen: ts,
            depth: 0,
            generation: self.next_generation,
            cost: DATAGRAM_OVERHEAD,
            charged: 0,
        };
        let mut verdict = place(&mut d, frag, &self.limits, self.bytes);
        if let Verdict::NeedsRoom(growth) = verdict {
            while self.bytes + growth > self.limits.max_bytes {
                if !self.evict_oldest(None) {
                    break;
                }
            }
            verdict = place(&mut d, frag, &self.limits, self.bytes);
        }
        if !matches!(verdict, Verdict::Held) {
            // Nothing held yet, nothing to remove: counted and buried.
            self.refused(ts, frag.key, verdict);
            return None;
        }
        if d.total.map(usize::from) == Some(d.held) {
            // Offset 0 and no more fragments: no fragment at all (the decoder does not give
            // one), whole as it is.
            self.stats.reassembled += 1;
            return Some(Reassembled {
                key: frag.key,
                depth: d.depth,
                payload: d.assemble(),
            });
        }
        self.next_generation += 1;
        self.bytes += d.cost;
        d.charged = d.cost;
        self.queue.push_back((frag.key, d.generation));
        self.active.insert(frag.key, d);
        if self.queue.len() > 2 * self.active.len() + 64 {
            let active = &self.active;
            self.queue
                .retain(|(k, g)| active.get(k).is_some_and(|d| d.generation == *g));
        }
        None
    }

    /// Removes a datagram in progress, releasing its charge (its queue entry goes stale).
    fn remove(&mut self, key: &FragKey) -> Option<InProgress> {
        let d = self.active.remove(key)?;
        self.bytes -= d.charged;
        Some(d)
    }

    /// Drops the datagram in progress the longest, unless it is `keep` (which then goes to the
    /// back of the queue). `false`: nothing else to drop.
    fn evict_oldest(&mut self, keep: Option<&FragKey>) -> bool {
        let others = self.active.len() - usize::from(keep.is_some());
        if others == 0 {
            return false;
        }
        while let Some((k, g)) = self.queue.pop_front() {
            let live = self.active.get(&k).is_some_and(|d| d.generation == g);
            if !live {
                continue;
            }
            if Some(&k) == keep {
                self.queue.push_back((k, g));
                continue;
            }
            self.remove(&k);
            self.stats.evicted += 1;
            return true;
        }
        false
    }

    /// Drops the datagrams at the front of the age queue older than the timeout.
    pub fn expire(&mut self, now: Timestamp) {
        let cutoff = now.0.saturating_sub(self.timeout_nanos());
        while let Some(&(k, g)) = self.queue.front() {
            match self.active.get(&k) {
                Some(d) if d.generation == g => {
                    if d.first_seen.0 >= cutoff {
                        break;
                    }
                    self.remove(&k);
                    self.stats.expired += 1;
                }
                _ => {}
            }
            self.queue.pop_front();
        }
    }

    /// Remembers a dropped datagram first seen at `first_seen`, so that its later fragments
    /// are discarded until it would have timed out.
    fn bury(&mut self, first_seen: Timestamp, key: FragKey) {
        if self.limits.max_tombstones == 0 {
            return;
        }
        while self.tombstone_queue.len() >= self.limits.max_tombstones {
            if let Some((k, until)) = self.tombstone_queue.pop_front() {
                if self.tombstones.get(&k) == Some(&until) {
                    self.tombstones.remove(&k);
                }
            }
        }
        let until = first_seen.0.saturating_add(self.timeout_nanos());
        self.tombstones.insert(key, until);
        self.tombstone_queue.push_back((key, until));
    }

    /// Datagrams in progress.
    pub fn in_progress(&self) -> usize {
        self.active.len()
    }

    /// Memory charged to datagrams in progress.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Tombstones of dropped datagrams remembered.
    pub fn tombstones(&self) -> usize {
        self.tombstones.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: (&str, &str) = ("10.0.0.1", "10.0.0.2");
    const V6: (&str, &str) = ("2001:db8::1", "2001:db8::2");

    fn frag_in<'a>(
        family: (&str, &str),
        id: u32,
        offset: u16,
        more: bool,
        payload: &'a [u8],
    ) -> Fragment<'a> {
        Fragment {
            key: FragKey {
                src: family.0.parse().unwrap(),
                dst: family.1.parse().unwrap(),
                id,
                proto: 6,
            },
            offset,
            more,
            payload,
            depth: 0,
        }
    }

    fn frag(id: u32, offset: u16, more: bool, payload: &[u8]) -> Fragment<'_> {
        frag_in(V4, id, offset, more, payload)
    }

    /// A defragmenter whose books balance: the bytes charged are the sum of the datagrams'.
    fn check(d: &Defragmenter) {
        let sum: usize = d.active.values().map(|p| p.charged).sum();
        assert_eq!(d.bytes(), sum);
        for p in d.active.values() {
            assert_eq!(p.charged, p.cost);
            assert_eq!(p.cost, p.cost_with(p.data.capacity(), p.pieces.capacity()));
            assert!(p.pieces.windows(2).all(|w| w[0].end <= w[1].start));
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
        check(&d);
        let r = d.add(Timestamp(0), &frag(7, 2, true, &b)).unwrap();
        assert_eq!(r.key.id, 7);
        assert_eq!(r.payload.len(), 37);
        assert_eq!(&r.payload[..16], &a);
        assert_eq!(&r.payload[16..32], &b);
        assert_eq!(&r.payload[32..], &c);
        assert_eq!(d.in_progress(), 0);
        assert_eq!(d.bytes(), 0);
        assert_eq!(d.stats.reassembled, 1);
        // In order: the buffer is the datagram.
        let r = [
            d.add(Timestamp(0), &frag(8, 0, true, &a)),
            d.add(Timestamp(0), &frag(8, 2, true, &b)),
            d.add(Timestamp(0), &frag(8, 4, false, &c)),
        ];
        let whole = r[2].as_ref().unwrap();
        assert!(r[0].is_none() && r[1].is_none());
        assert_eq!(whole.payload, [&a[..], &b[..], &c[..]].concat());
        assert_eq!(d.bytes(), 0);
    }

    #[test]
    fn a_fragment_that_is_a_whole_datagram() {
        let mut d = Defragmenter::new(Limits::default());
        let r = d.add(Timestamp(0), &frag(1, 0, false, b"abc")).unwrap();
        assert_eq!(r.payload, b"abc");
        assert_eq!((d.in_progress(), d.bytes()), (0, 0));
    }

    #[test]
    fn ipv6_fragments_too() {
        let mut d = Defragmenter::new(Limits::default());
        assert!(d
            .add(Timestamp(0), &frag_in(V6, 1, 1, false, b"xyz"))
            .is_none());
        let r = d.add(Timestamp(0), &frag_in(V6, 1, 0, true, b"abcdefgh"));
        assert_eq!(r.unwrap().payload, b"abcdefghxyz");
    }

    /// Held: [8, 24) of datagram 1 (offset 1, two 8-byte units), then `offset`/`len` added.
    fn after_held(family: (&str, &str), offset: u16, len: usize, more: bool) -> Defragmenter {
        let mut d = Defragmenter::new(Limits::default());
        assert!(d
            .add(Timestamp(0), &frag_in(family, 1, 1, true, &[1; 16]))
            .is_none());
        assert!(d
            .add(
                Timestamp(0),
                &frag_in(family, 1, offset, more, &vec![2; len])
            )
            .is_none());
        check(&d);
        d
    }

    #[test]
    fn overlaps_of_every_shape_drop_the_datagram() {
        for family in [V4, V6] {
            // (offset in 8-byte units, length, more): held is [8, 24).
            for (offset, len, more, shape) in [
                (0, 16, true, "head: [0, 16)"),
                (2, 16, true, "tail: [16, 32)"),
                (2, 8, true, "inside: [16, 24), same end"),
                (1, 8, true, "inside: [8, 16), same start"),
                (0, 32, true, "covering: [0, 32)"),
                (1, 24, true, "same start, longer"),
                (2, 13, false, "last fragment: [16, 29)"),
            ] {
                let d = after_held(family, offset, len, more);
                assert_eq!(d.stats.overlapping, 1, "{family:?} {shape}");
                assert_eq!(d.in_progress(), 0, "{shape}");
                assert_eq!(d.bytes(), 0, "{shape}");
                assert_eq!(d.tombstones(), 1, "{shape}");
            }
            // Adjacent on both sides: no overlap.
            let d = after_held(family, 0, 8, true);
            assert_eq!(d.stats.overlapping, 0);
            let d = after_held(family, 3, 8, true);
            assert_eq!(d.stats.overlapping, 0);
            assert_eq!(d.in_progress(), 1);
        }
    }

    #[test]
    fn an_exact_duplicate_is_ignored_and_the_first_copy_kept() {
        for family in [V4, V6] {
            let mut d = after_held(family, 1, 16, true);
            assert_eq!(d.stats.duplicates, 1);
            assert_eq!(d.stats.overlapping, 0);
            // The duplicate's bytes (2) were not taken: the first copy's (1) are.
            d.add(Timestamp(0), &frag_in(family, 1, 3, false, b"end"));
            let r = d
                .add(Timestamp(0), &frag_in(family, 1, 0, true, &[0; 8]))
                .unwrap();
            assert_eq!(&r.payload[8..24], &[1; 16]);
            assert_eq!(&r.payload[24..], b"end");
        }
    }

    #[test]
    fn a_dropped_datagram_stays_dropped_until_its_tombstone_expires() {
        let mut d = Defragmenter::new(Limits::default());
        d.add(Timestamp(0), &frag(5, 0, true, &[1; 16]));
        d.add(Timestamp(0), &frag(5, 1, true, &[2; 16])); // overlaps [8, 16)
        assert_eq!(d.stats.overlapping, 1);
        // Fragments that would make a whole datagram on their own: discarded.
        assert!(d.add(Timestamp(1), &frag(5, 0, true, &[3; 8])).is_none());
        assert!(d.add(Timestamp(2), &frag(5, 1, false, b"x")).is_none());
        assert_eq!(d.stats.after_drop, 2);
        assert_eq!(d.in_progress(), 0);
        assert_eq!(d.stats.reassembled, 0);
        // Another datagram is not affected.
        d.add(Timestamp(3), &frag(6, 1, false, b"x"));
        assert!(d.add(Timestamp(3), &frag(6, 0, true, &[3; 8])).is_some());
        // After the timeout the identifier is free again (IPv4's 16 bits wrap).
        let later = Timestamp(31_000_000_000);
        d.add(later, &frag(5, 1, false, b"x"));
        assert!(d.add(later, &frag(5, 0, true, &[3; 8])).is_some());
        assert_eq!(d.stats.after_drop, 2);
        assert_eq!(d.tombstones(), 0);
    }

    #[test]
    fn tombstones_are_bounded() {
        let mut d = Defragmenter::new(Limits {
            max_tombstones: 3,
            ..Limits::default()
        });
        for id in 0..10 {
            d.add(Timestamp(0), &frag(id, 0, true, &[1; 16]));
            d.add(Timestamp(0), &frag(id, 0, true, &[1; 8]));
        }
        assert_eq!(d.stats.overlapping, 10);
        assert_eq!(d.tombstones(), 3);
        assert!(d.tombstone_queue.len() <= 3);
        // The three last are remembered, the first is forgotten.
        d.add(Timestamp(0), &frag(9, 2, true, &[1; 8]));
        assert_eq!(d.stats.after_drop, 1);
        d.add(Timestamp(0), &frag(0, 2, true, &[1; 8]));
        assert_eq!(d.stats.after_drop, 1);
        assert_eq!(d.in_progress(), 1);
    }

    #[test]
    fn contradicting_fragments_drop_the_datagram() {
        let mut d = Defragmenter::new(Limits::default());
        // Not a multiple of 8 bytes with more fragments to come.
        assert!(d.add(Timestamp(0), &frag(9, 0, true, &[0u8; 5])).is_none());
        // Empty.
        assert!(d.add(Timestamp(0), &frag(10, 1, false, &[])).is_none());
        // Beyond 65,535 bytes.
        assert!(d
            .add(Timestamp(0), &frag(11, 8191, false, &[0; 16]))
            .is_none());
        // An end before bytes held.
        d.add(Timestamp(0), &frag(12, 4, true, &[0; 8]));
        assert!(d.add(Timestamp(0), &frag(12, 1, false, &[0; 8])).is_none());
        // Two different ends.
        d.add(Timestamp(0), &frag(13, 4, false, &[0; 8]));
        assert!(d.add(Timestamp(0), &frag(13, 1, false, &[0; 8])).is_none());
        // A fragment after the end.
        d.add(Timestamp(0), &frag(14, 1, false, &[0; 8]));
        assert!(d.add(Timestamp(0), &frag(14, 4, true, &[0; 8])).is_none());
        assert_eq!(d.stats.invalid, 6);
        assert_eq!(d.stats.overlapping, 0);
        assert_eq!(d.in_progress(), 0);
        assert_eq!(d.bytes(), 0);
        assert_eq!(d.tombstones(), 6);
    }

    #[test]
    fn a_full_table_evicts_the_oldest_first() {
        let mut d = Defragmenter::new(Limits {
            max_datagrams: 3,
            ..Limits::default()
        });
        let a = [0u8; 16];
        for id in 1..=3 {
            d.add(Timestamp(id.into()), &frag(id, 0, true, &a));
        }
        // Datagram 2 completes: its place in the queue goes stale.
        assert!(d.add(Timestamp(4), &frag(2, 2, false, b"x")).is_some());
        d.add(Timestamp(5), &frag(4, 0, true, &a));
        assert_eq!(d.stats.evicted, 0);
        // Full (1, 3, 4): a new one evicts 1, the oldest; then 3 (the stale 2 is skipped).
        d.add(Timestamp(6), &frag(5, 0, true, &a));
        assert_eq!(d.stats.evicted, 1);
        assert!(!d.active.contains_key(&frag(1, 0, true, &a).key));
        d.add(Timestamp(7), &frag(6, 0, true, &a));
        assert_eq!(d.stats.evicted, 2);
        let left: Vec<u32> = {
            let mut v: Vec<u32> = d.active.keys().map(|k| k.id).collect();
            v.sort();
            v
        };
        assert_eq!(left, [4, 5, 6]);
        check(&d);
    }

    #[test]
    fn the_age_queue_stays_bounded_when_datagrams_complete() {
        let mut d = Defragmenter::new(Limits::default());
        // One datagram stays in progress at the front of the queue; a million complete.
        d.add(Timestamp(0), &frag(0, 0, true, &[0; 8]));
        for id in 1..100_000 {
            d.add(Timestamp(0), &frag(id, 1, false, b"x"));
            assert!(d.add(Timestamp(0), &frag(id, 0, true, &[0; 8])).is_some());
        }
        assert_eq!(d.in_progress(), 1);
        assert!(
            d.queue.len() <= 2 * d.in_progress() + 65,
            "{}",
            d.queue.len()
        );
    }

    #[test]
    fn memory_is_charged_at_its_real_cost() {
        let mut d = Defragmenter::new(Limits {
            max_bytes: 2 * DATAGRAM_OVERHEAD + 8192,
            ..Limits::default()
        });
        d.add(Timestamp(0), &frag(1, 0, true, &[0; 8]));
        // About 400 bytes on 64-bit targets (README, Limits).
        assert!(
            (300..=500).contains(&DATAGRAM_OVERHEAD),
            "{DATAGRAM_OVERHEAD}"
        );
        assert_eq!(d.bytes(), DATAGRAM_OVERHEAD + 8 + 8 * 6);
        // 8-byte fragments, every other one (no two adjacent): each costs more than 8 bytes.
        for i in 1..200 {
            d.add(Timestamp(0), &frag(1, i * 2, true, &[0; 8]));
            check(&d);
        }
        let held = d.active.values().next().unwrap();
        assert_eq!(held.pieces.len(), 200);
        assert!(d.bytes() >= DATAGRAM_OVERHEAD + 200 * (8 + 6));
        assert_eq!(d.bytes(), DATAGRAM_OVERHEAD + 2048 + 256 * 6);
        // A second datagram: 2 KiB pieces, the third of which does not fit with the first
        // datagram, which is evicted.
        let big = [0u8; 2048];
        d.add(Timestamp(1), &frag(2, 0, true, &big));
        d.add(Timestamp(1), &frag(2, 256, true, &big));
        assert_eq!(d.stats.evicted, 0);
        assert_eq!(d.in_progress(), 2);
        d.add(Timestamp(1), &frag(2, 512, true, &big));
        assert_eq!(d.stats.evicted, 1);
        assert_eq!(d.in_progress(), 1);
        d.add(Timestamp(1), &frag(2, 768, true, &big));
        check(&d);
        // Grown past what the cap allows to one datagram: refused, and buried.
        d.add(Timestamp(1), &frag(2, 1024, true, &big));
        assert_eq!(d.stats.dropped_over_cap, 1);
        assert_eq!((d.in_progress(), d.bytes()), (0, 0));
        assert_eq!(d.tombstones(), 1);
    }

    #[test]
    fn fragments_per_datagram_are_capped() {
        let mut d = Defragmenter::new(Limits {
            max_fragments: 4,
            ..Limits::default()
        });
        for i in 0..4 {
            d.add(Timestamp(0), &frag(1, i * 2, true, &[0; 8]));
        }
        assert_eq!(d.stats.dropped_over_cap, 0);
        d.add(Timestamp(0), &frag(1, 9, true, &[0; 8]));
        assert_eq!(d.stats.dropped_over_cap, 1);
        assert_eq!((d.in_progress(), d.bytes()), (0, 0));
        d.add(Timestamp(0), &frag(1, 11, true, &[0; 8]));
        assert_eq!(d.stats.after_drop, 1);
    }

    #[test]
    fn timeout() {
        let mut d = Defragmenter::new(Limits::default());
        let a = [0u8; 16];
        d.add(Timestamp(0), &frag(1, 0, true, &a));
        d.add(Timestamp(0), &frag(2, 0, true, &a));
        d.add(Timestamp(1), &frag(3, 0, true, &a));
        // A later fragment of a datagram too old starts it anew (and the others as old, at
        // the front of the queue, expire).
        let late = Timestamp(30_000_000_001);
        assert!(d.add(late, &frag(1, 2, false, b"x")).is_none());
        assert_eq!(d.stats.expired, 2);
        assert_eq!(d.in_progress(), 2);
        // A new datagram expires the one left.
        d.add(Timestamp(60_000_000_000), &frag(4, 0, true, &a));
        assert_eq!(d.stats.expired, 3);
        assert_eq!(d.in_progress(), 2);
        check(&d);
    }

    #[test]
    fn an_ipv6_fragment_is_all_that_follows_its_fragment_header() {
        // Fixed header, Fragment header (next header: destination options), then the
        // fragmentable part: a destination options header and 8 bytes.
        let mut p = vec![0x60, 0, 0, 0, 0, 24, 44, 64];
        p.extend_from_slice(&[0x20; 16]);
        p.extend_from_slice(&[0x21; 16]);
        p.extend_from_slice(&[60, 0, 0, 0x01, 0, 0, 0, 7]); // offset 0, more, id 7
        let fragmentable = [6, 0, 1, 4, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        p.extend_from_slice(&fragmentable);
        let (ip, _) = LaxIpSlice::from_slice(&p).unwrap();
        let f = Fragment::of(&p, &ip).unwrap();
        assert_eq!(f.key.proto, 60);
        assert_eq!(f.key.id, 7);
        assert!(f.more);
        assert_eq!(f.payload, fragmentable);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn config() -> ProptestConfig {
            ProptestConfig {
                cases: 256,
                failure_persistence: None,
                ..ProptestConfig::default()
            }
        }

        proptest! {
            #![proptest_config(config())]

            /// A datagram cut anywhere on 8-byte boundaries, its fragments in any order, some
            /// sent twice: put back together byte for byte (copies that come after it is
            /// complete start it again, as in any stack), nothing left held without copies.
            #[test]
            fn any_split_any_order_with_duplicates(
                data in prop::collection::vec(any::<u8>(), 1..3000),
                cuts in prop::collection::vec(1usize..375, 0..12),
                order in prop::collection::vec(any::<prop::sample::Index>(), 40),
                dups in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            ) {
                let mut bounds: Vec<usize> = cuts.iter().map(|c| c * 8).filter(|&b| b < data.len()).collect();
                bounds.push(0);
                bounds.push(data.len());
                bounds.sort();
                bounds.dedup();
                let mut pieces: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
                for (k, ix) in order.iter().enumerate() {
                    let n = pieces.len();
                    pieces.swap(k % n, ix.index(n));
                }
                for ix in &dups {
                    let p = pieces[ix.index(pieces.len())];
                    pieces.push(p);
                }
                let mut d = Defragmenter::new(Limits::default());
                let mut out = vec![];
                for &(a, b) in &pieces {
                    let f = frag(3, (a / 8) as u16, b < data.len(), &data[a..b]);
                    if let Some(r) = d.add(Timestamp(0), &f) {
                        out.push(r.payload);
                    }
                    check(&d);
                }
                prop_assert!(!out.is_empty());
                prop_assert!(out.iter().all(|o| *o == data));
                if dups.is_empty() {
                    prop_assert_eq!(out.len(), 1);
                    prop_assert_eq!((d.in_progress(), d.bytes()), (0, 0));
                }
                prop_assert_eq!(d.stats.overlapping + d.stats.invalid, 0);
            }

            /// Arbitrary fragments of a few datagrams under small caps: never a panic, the
            /// books balance, the caps hold, and a datagram given out is as long as its end.
            #[test]
            fn arbitrary_fragments_keep_the_books(
                frags in prop::collection::vec(
                    (0u32..4, 0u16..64, any::<bool>(), 0usize..100, 0i64..40),
                    1..200,
                ),
            ) {
                let limits = Limits {
                    max_datagrams: 3,
                    max_bytes: 3 * DATAGRAM_OVERHEAD + 600,
                    max_fragments: 8,
                    max_tombstones: 2,
                    timeout_secs: 30,
                };
                let mut d = Defragmenter::new(limits);
                let buf = [7u8; 100];
                for (id, offset, more, len, secs) in frags {
                    let f = frag(id, offset, more, &buf[..len]);
                    if let Some(r) = d.add(Timestamp(secs * 1_000_000_000), &f) {
                        // The fragment that completes a datagram is its last one, or one that
                        // fills the last hole before a last fragment already held.
                        let end = usize::from(offset) * 8 + len;
                        if more {
                            prop_assert!(r.payload.len() > end);
                        } else {
                            prop_assert_eq!(r.payload.len(), end);
                        }
                    }
                    check(&d);
                    prop_assert!(d.in_progress() <= 3);
                    prop_assert!(d.bytes() <= limits.max_bytes);
                    prop_assert!(d.tombstones() <= 2);
                    prop_assert!(d.queue.len() <= 2 * d.in_progress() + 65);
                }
            }
        }
    }
}
