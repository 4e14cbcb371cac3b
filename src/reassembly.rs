//! Reassembly stage: the segments of one direction of a flow → its bytes in sequence order.
//!
//! Bytes are delivered as soon as they are contiguous with what was delivered before, never
//! waiting for an ACK (span ports often see one direction only). Out-of-order segments wait in
//! a queue bounded in bytes and in segment count. Sequence numbers compare with wrapping
//! arithmetic (RFC 793 §3.3).
//!
//! The first data seen for a byte wins, in every arrival order: a segment only contributes the
//! bytes that no earlier segment carried, whether those were delivered already or are waiting
//! in the queue (a segment that fills a hole yields to the queued bytes it overlaps; so does
//! the cut tail of a segment, which becomes a gap only where nothing is queued). A segment
//! that disagrees with earlier bytes on any byte is a conflicting overlap: against queued bytes
//! always, against delivered bytes within the last [`RECENT_BYTES`] delivered (older ones are
//! forgotten, to keep a direction's memory bounded; bytes behind a gap are unknown), except a
//! keep-alive probe's garbage octet.

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

use std::collections::VecDeque;

/// A TCP sequence number; comparisons are modulo 2^32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// Signed distance from `self` to `other` (positive when `other` is ahead).
    pub fn distance_to(self, other: SeqNum) -> i64 {
        i64::from(other.0.wrapping_sub(self.0) as i32)
    }

    pub fn advanced_by(self, n: usize) -> SeqNum {
        SeqNum(self.0.wrapping_add(n as u32))
    }
}

/// What the reassembler hands to the next stage, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamChunk<'a> {
    /// In-order bytes.
    Data(&'a [u8]),
    /// Bytes that will never come (cut by the snap length, or skipped over after a loss).
    Gap(u32),
}

/// Caps of one direction's queue.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes held out of order at most (enough for any hello).
    pub max_buffered: usize,
    /// Segments held out of order at most.
    pub max_segments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_buffered: 64 * 1024,
            max_segments: 64,
        }
    }
}

/// What happened to a segment, for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentNotes {
    /// Brought nothing new: every byte was already delivered or queued.
    pub retransmission: bool,
    /// Disagreed on some byte with earlier data, queued or delivered (the first seen is kept).
    pub conflicting_overlap: bool,
    /// Dropped because the out-of-order queue was full or it was too far ahead.
    pub dropped_over_cap: bool,
}

/// Delivered bytes remembered per direction, to tell a retransmission that differs from what
/// was delivered (a conflicting overlap) from a plain one.
pub const RECENT_BYTES: usize = 4096;

/// The last bytes delivered, up to the next sequence number to deliver: a ring of at most
/// [`RECENT_BYTES`], allocated at the first delivery and grown as bytes come (512 bytes, or
/// at most twice what was delivered, until it reaches the cap).
#[derive(Debug, Default)]
struct Recent {
    buf: Vec<u8>,
    /// Where the next byte goes (`buf.len()` while the ring is still growing).
    end: usize,
    /// How many bytes right before the next sequence number are known (none after a gap).
    known: usize,
}

impl Recent {
    fn push(&mut self, data: &[u8]) {
        let mut data = data
            .get(data.len().saturating_sub(RECENT_BYTES)..)
            .unwrap_or(data);
        self.known = (self.known + data.len()).min(RECENT_BYTES);
        let len = self.buf.len();
        if len < RECENT_BYTES {
            let take = (RECENT_BYTES - len).min(data.len());
            if len + take > self.buf.capacity() {
                // Powers of two from 512: most directions allocate once (a hello), none more
                // than four times; never more than 512 bytes or twice what was delivered, nor
                // past the cap (Vec's own growth could go past it). A smaller floor costs more
                // reallocations than it saves memory (examples/workload, 32 MB, seed 7: 6,019
                // allocations for 3,943 directions from 64 bytes, 4,054 from 512).
                let want = (len + take).next_power_of_two().clamp(512, RECENT_BYTES);
                self.buf.reserve_exact(want - len);
            }
            let (now, later) = data.split_at(take);
            self.buf.extend_from_slice(now);
            self.end = self.buf.len() % RECENT_BYTES;
            data = later;
        }
        while !data.is_empty() {
            let n = (RECENT_BYTES - self.end).min(data.len());
            let (now, later) = data.split_at(n);
            if let Some(dst) = self.buf.get_mut(self.end..self.end + n) {
                dst.copy_from_slice(now);
            }
            self.end = (self.end + n) % RECENT_BYTES;
            data = later;
        }
    }

    /// The bytes before the next sequence number are no longer known (a gap was delivered).
    fn forget(&mut self) {
        self.known = 0;
    }

    /// Whether `data`, which starts `back` bytes before the next sequence number, disagrees
    /// with the known delivered bytes it overlaps (only its first `back` bytes were delivered).
    fn differs(&self, back: usize, data: &[u8]) -> bool {
        let len = self.buf.len();
        let overlap = data.len().min(back);
        // Leading bytes older than what is remembered are not compared.
        let skip = back.saturating_sub(self.known);
        if skip >= overlap || len == 0 {
            return false;
        }
        let data = data.get(skip..overlap).unwrap_or_default();
        // The first compared byte is `back - skip` bytes behind the end of the ring.
        let start = (self.end + len - (back - skip)) % len;
        let first = self.buf.get(start..len).unwrap_or_default();
        let first = first.get(..data.len()).unwrap_or(first);
        let (a, b) = data.split_at(first.len());
        a != first || self.buf.get(..b.len()) != Some(b)
    }

    /// Heap bytes held.
    fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// One direction of a flow.
#[derive(Debug, Default)]
pub struct StreamReassembler {
    /// Next sequence number to deliver; `None` until the stream's start is known.
    next: Option<SeqNum>,
    /// Out-of-order segments: (start, bytes), sorted by start, not overlapping each other;
    /// once the start is known, all after `next` except held ones that wait at the start for
    /// the next segment to drain them.
    queue: VecDeque<(SeqNum, Vec<u8>)>,
    buffered: usize,
    /// Whether any byte (or gap) was delivered yet.
    delivered: bool,
    /// The first sequence number seen: orders the queue while the start is unknown.
    anchor: Option<SeqNum>,
    /// Initial sequence numbers of the SYNs seen (a middlebox or a TCP Fast Open retry may
    /// send SYN/ACKs with different ISNs: the data tells which one counts).
    isns: Vec<u32>,
    /// The last bytes delivered, to compare retransmissions with.
    recent: Recent,
}

/// Bytes held at most while the start of a stream without SYN is unknown.
const MAX_HELD: usize = 16 * 1024;

/// At most this many distinct ISNs are remembered per direction.
const MAX_ISNS: usize = 4;

impl StreamReassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// A SYN (or SYN/ACK) was seen: data starts at `isn + 1`.
    pub fn syn(&mut self, isn: u32) {
        if self.next.is_none() {
            self.set_start(SeqNum(isn.wrapping_add(1)));
        }
        if !self.isns.contains(&isn) && self.isns.len() < MAX_ISNS {
            self.isns.push(isn);
        }
    }

    /// The next sequence number to deliver, once the stream's start is known.
    pub fn next_seq(&self) -> Option<SeqNum> {
        self.next
    }

    /// Whether the start of the stream is known.
    pub fn started(&self) -> bool {
        self.next.is_some()
    }

    /// Without a SYN, the caller tells where the stream's bytes of interest start (a segment
    /// that begins with a record header); until then segments are held, so that segments
    /// captured in reverse order still come out in order.
    pub fn start_at(&mut self, seq: u32) {
        if self.next.is_none() {
            self.set_start(SeqNum(seq));
        }
    }

    /// Bytes waiting in the out-of-order queue.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Heap bytes this direction holds: the queued bytes and the delivered bytes remembered
    /// (at most [`RECENT_BYTES`]), not counting the few words of bookkeeping.
    pub fn memory(&self) -> usize {
        self.buffered + self.recent.capacity()
    }

    /// Takes a segment; delivers whatever became contiguous through `sink`.
    /// `missing` is how many payload bytes after `payload` were not captured.
    pub fn segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing: u32,
        limits: Limits,
        sink: &mut impl FnMut(StreamChunk<'_>),
    ) -> SegmentNotes {
        let mut notes = SegmentNotes::default();
        if payload.is_empty() && missing == 0 {
            return notes;
        }
        if !self.delivered
            && self.next != Some(SeqNum(seq))
            && self.isns.iter().any(|i| i.wrapping_add(1) == seq)
        {
            // Data right after another SYN's ISN, and nothing delivered yet: that SYN counts.
            self.set_start(SeqNum(seq));
        }
        let seq = SeqNum(seq);
        let anchor = *self.anchor.get_or_insert(seq);
        let Some(next) = self.next else {
            // Start unknown: hold the segment (bounded) until the start is found.
            let hold = Limits {
                max_buffered: limits.max_buffered.min(MAX_HELD),
                ..limits
            };
            if !payload.is_empty() && anchor.distance_to(seq).abs() <= hold.max_buffered as i64 {
                self.insert(seq, payload, hold, &mut notes);
                // Not being able to hold more before the start is no loss worth counting.
                notes.dropped_over_cap = false;
            }
            return notes;
        };
        let ahead = next.distance_to(seq);
        let end_ahead = ahead + payload.len() as i64 + i64::from(missing);
        // A keep-alive probe repeats the last byte delivered with one garbage octet (RFC 1122
        // §4.2.3.6): not a disagreement.
        let keep_alive = ahead == -1 && payload.len() == 1 && missing == 0;
        if ahead < 0 && !keep_alive {
            // Its first bytes were delivered already: they must be the same.
            notes.conflicting_overlap |= self.recent.differs((-ahead) as usize, payload);
        }
        if end_ahead <= 0 {
            notes.retransmission = true;
            return notes;
        }
        if ahead <= 0 {
            // Starts at or before `next`: deliver its new bytes now, around the queued ones.
            let fresh = payload.get((-ahead) as usize..).unwrap_or_default();
            let end = next.advanced_by(end_ahead as usize);
            notes.retransmission = !self.advance(fresh, end, &mut notes, sink);
            return notes;
        }
        // Ahead of `next`: queue it (only what is captured; a cut tail is lost anyway).
        if payload.is_empty() {
            return notes;
        }
        if ahead > limits.max_buffered as i64 {
            notes.dropped_over_cap = true;
            return notes;
        }
        self.insert(seq, payload, limits, &mut notes);
        if self
            .queue
            .front()
            .is_some_and(|(s, _)| next.distance_to(*s) <= 0)
        {
            // Held bytes at the start given by `start_at`, waiting for a segment to drain them.
            self.advance(&[], next, &mut notes, sink);
        }
        notes
    }

    /// Gives up waiting for the bytes before the first queued segment: delivers a gap and the
    /// queue from there on. Used when a flow is closed or its handshake must be decided.
    pub fn skip_gap(&mut self, sink: &mut impl FnMut(StreamChunk<'_>)) {
        if self.next.is_none() {
            if let Some(&(first, _)) = self.queue.front() {
                self.set_start(first);
            }
        }
        while let (Some(next), Some(&(first, _))) = (self.next, self.queue.front()) {
            let end = if next.distance_to(first) > 0 {
                first
            } else {
                next
            };
            self.advance(&[], end, &mut SegmentNotes::default(), sink);
        }
    }

    /// Frees the queue and the delivered bytes remembered (the flow's handshake is decided).
    pub fn clear(&mut self) {
        self.queue = VecDeque::new();
        self.buffered = 0;
        self.recent = Recent::default();
    }

    /// The stream starts at `start`: held segments are ordered from it from now on, and bytes
    /// before it are not part of the stream.
    fn set_start(&mut self, start: SeqNum) {
        self.next = Some(start);
        if self.queue.is_empty() {
            return;
        }
        self.queue.retain_mut(|(s, bytes)| {
            let behind = s.distance_to(start);
            if behind <= 0 {
                return true;
            }
            if behind as usize >= bytes.len() {
                return false;
            }
            // Straddles the start: its bytes from the start on were still seen first.
            bytes.drain(..behind as usize);
            *s = start;
            true
        });
        self.queue
            .make_contiguous()
            .sort_by_key(|(s, _)| start.distance_to(*s));
        self.buffered = self.queue.iter().map(|(_, b)| b.len()).sum();
    }

    /// Delivers from `next` on: the queued bytes wherever there are some (seen first), `rest`
    /// (a new segment's bytes from `next` on) elsewhere, then gaps up to `end` (the end of
    /// that segment's cut tail) where neither has bytes, then whatever became contiguous.
    /// Returns whether `rest` or its tail delivered anything.
    fn advance(
        &mut self,
        mut rest: &[u8],
        end: SeqNum,
        notes: &mut SegmentNotes,
        sink: &mut impl FnMut(StreamChunk<'_>),
    ) -> bool {
        let mut new = false;
        while let Some(next) = self.next {
            let front = self.queue.front().map(|(s, _)| next.distance_to(*s));
            match front {
                Some(off) if off <= 0 => {
                    let Some((_, bytes)) = self.queue.pop_front() else {
                        break;
                    };
                    self.buffered -= bytes.len();
                    let queued = bytes.get((-off) as usize..).unwrap_or_default();
                    let n = queued.len().min(rest.len());
                    if queued.get(..n) != rest.get(..n) {
                        notes.conflicting_overlap = true;
                    }
                    rest = rest.get(n..).unwrap_or_default();
                    self.deliver(queued, sink);
                }
                _ => {
                    // Nothing queued before `room` bytes from `next`.
                    let room = front.map_or(usize::MAX, |off| off as usize);
                    if !rest.is_empty() {
                        let (now, later) = rest.split_at(room.min(rest.len()));
                        rest = later;
                        new = true;
                        self.deliver(now, sink);
                        continue;
                    }
                    let to_end = next.distance_to(end);
                    if to_end <= 0 {
                        break;
                    }
                    let n = room.min(to_end as usize);
                    new = true;
                    self.delivered = true;
                    self.recent.forget();
                    self.next = Some(next.advanced_by(n));
                    sink(StreamChunk::Gap(n as u32));
                }
            }
        }
        if self.queue.is_empty() && self.queue.capacity() > 0 {
            self.queue = VecDeque::new();
        }
        new
    }

    fn deliver(&mut self, bytes: &[u8], sink: &mut impl FnMut(StreamChunk<'_>)) {
        if bytes.is_empty() {
            return;
        }
        self.delivered = true;
        self.recent.push(bytes);
        self.next = self.next.map(|n| n.advanced_by(bytes.len()));
        sink(StreamChunk::Data(bytes));
    }

    /// Queues the bytes of a segment ahead of `next` that no queued segment holds yet (first
    /// data wins), comparing the others.
    fn insert(&mut self, seq: SeqNum, payload: &[u8], limits: Limits, notes: &mut SegmentNotes) {
        let base = self.next.or(self.anchor).unwrap_or(seq);
        let key = |s: SeqNum| base.distance_to(s);
        let mut cur = seq;
        let mut rest = payload;
        // The first queued segment that ends after `cur`.
        let mut i = self
            .queue
            .partition_point(|(s, b)| key(s.advanced_by(b.len())) <= key(cur));
        let mut added = false;
        while !rest.is_empty() {
            let take = match self.queue.get(i) {
                Some((start, bytes)) => {
                    let to_start = cur.distance_to(*start);
                    if to_start <= 0 {
                        // Overlaps queued bytes: compare, keep the queued ones.
                        let off = (-to_start) as usize;
                        let n = bytes.len().saturating_sub(off).min(rest.len());
                        if bytes.get(off..off + n) != rest.get(..n) {
                            notes.conflicting_overlap = true;
                        }
                        rest = rest.get(n..).unwrap_or_default();
                        cur = cur.advanced_by(n);
                        i += 1;
                        continue;
                    }
                    (to_start as usize).min(rest.len())
                }
                None => rest.len(),
            };
            let (piece, after) = rest.split_at(take);
            if self.buffered + piece.len() > limits.max_buffered
                || self.queue.len() >= limits.max_segments
            {
                notes.dropped_over_cap = true;
                return;
            }
            self.buffered += piece.len();
            self.queue.insert(i, (cur, piece.to_vec()));
            added = true;
            i += 1;
            rest = after;
            cur = cur.advanced_by(take);
        }
        notes.retransmission |= !added;
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `(seq, bytes)` segments and returns the delivered stream, gaps as `[gap N]`.
    fn run(isn: Option<u32>, segs: &[(u32, &[u8])]) -> (String, SegmentNotes) {
        let mut r = StreamReassembler::new();
        if let Some(isn) = isn {
            r.syn(isn);
        }
        let mut out = String::new();
        let mut all = SegmentNotes::default();
        for (seq, data) in segs {
            let n = r.segment(*seq, data, 0, Limits::default(), &mut |c| match c {
                StreamChunk::Data(d) => out.push_str(std::str::from_utf8(d).unwrap()),
                StreamChunk::Gap(n) => out.push_str(&format!("[gap {n}]")),
            });
            all.retransmission |= n.retransmission;
            all.conflicting_overlap |= n.conflicting_overlap;
            all.dropped_over_cap |= n.dropped_over_cap;
        }
        (out, all)
    }

    #[test]
    fn in_order() {
        assert_eq!(run(Some(99), &[(100, b"abc"), (103, b"def")]).0, "abcdef");
    }

    #[test]
    fn reverse_order_three_segments() {
        let (s, n) = run(Some(99), &[(106, b"ghi"), (103, b"def"), (100, b"abc")]);
        assert_eq!(s, "abcdefghi");
        assert_eq!(n, SegmentNotes::default());
    }

    #[test]
    fn retransmission_ignored() {
        let (s, n) = run(Some(99), &[(100, b"abc"), (100, b"abc"), (103, b"d")]);
        assert_eq!(s, "abcd");
        assert!(n.retransmission);
    }

    #[test]
    fn partial_overlap_delivers_only_new_bytes() {
        assert_eq!(run(Some(99), &[(100, b"abcd"), (102, b"cdef")]).0, "abcdef");
    }

    #[test]
    fn first_data_wins_on_conflicting_overlap() {
        let (s, n) = run(Some(99), &[(103, b"DEF"), (103, b"xyz"), (100, b"abc")]);
        assert_eq!(s, "abcDEF");
        assert!(n.conflicting_overlap);
        // A queued segment overlapped by a later, longer one: only the new tail is added.
        let (s, n) = run(Some(99), &[(104, b"E"), (103, b"dXf"), (100, b"abc")]);
        assert_eq!(s, "abcdEf");
        assert!(n.conflicting_overlap);
    }

    #[test]
    fn data_picks_among_synacks_with_different_isns() {
        let mut r = StreamReassembler::new();
        r.syn(3_212_050_950);
        r.syn(97_572_840);
        r.syn(3_212_050_950);
        let mut out = vec![];
        r.segment(97_572_841, b"hi", 0, Limits::default(), &mut |c| {
            out.push(format!("{c:?}"))
        });
        assert_eq!(out, ["Data([104, 105])"]);
    }

    #[test]
    fn without_syn_segments_wait_for_the_start() {
        let mut r = StreamReassembler::new();
        let mut out = String::new();
        let mut sink = |c: StreamChunk<'_>| {
            if let StreamChunk::Data(d) = c {
                out.push_str(std::str::from_utf8(d).unwrap())
            }
        };
        // Reverse order, no SYN: the last two are held until the first one (the start) comes.
        r.segment(5006, b"ghi", 0, Limits::default(), &mut sink);
        r.segment(5003, b"def", 0, Limits::default(), &mut sink);
        assert_eq!(r.buffered(), 6);
        r.start_at(5000);
        r.segment(5000, b"abc", 0, Limits::default(), &mut sink);
        assert_eq!(out, "abcdefghi");
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn held_segments_come_out_when_given_up_on() {
        let mut r = StreamReassembler::new();
        let mut out = vec![];
        let mut sink = |c: StreamChunk<'_>| out.push(format!("{c:?}"));
        r.segment(7, b"b", 0, Limits::default(), &mut sink);
        r.segment(5, b"a", 0, Limits::default(), &mut sink);
        r.skip_gap(&mut sink);
        assert_eq!(out, ["Data([97])", "Gap(1)", "Data([98])"]);
    }

    #[test]
    fn wraps_around_sequence_space() {
        let (s, _) = run(
            Some(u32::MAX - 2),
            &[(0, b"cd"), (u32::MAX - 1, b"a"), (u32::MAX, b"b")],
        );
        assert_eq!(s, "abcd");
    }

    #[test]
    fn snaplen_cut_delivers_a_gap() {
        let mut r = StreamReassembler::new();
        r.syn(0);
        let mut out = vec![];
        r.segment(1, b"abc", 5, Limits::default(), &mut |c| {
            out.push(format!("{c:?}"))
        });
        r.segment(9, b"z", 0, Limits::default(), &mut |c| {
            out.push(format!("{c:?}"))
        });
        assert_eq!(out, ["Data([97, 98, 99])", "Gap(5)", "Data([122])"]);
    }

    #[test]
    fn queue_is_bounded() {
        let mut r = StreamReassembler::new();
        r.syn(0);
        let limits = Limits {
            max_buffered: 10,
            max_segments: 2,
        };
        let mut sink = |_: StreamChunk<'_>| {};
        assert!(!r.segment(5, b"aaaa", 0, limits, &mut sink).dropped_over_cap);
        assert!(
            r.segment(9, b"bbbbbbbb", 0, limits, &mut sink)
                .dropped_over_cap
        );
        assert!(r.segment(1000, b"c", 0, limits, &mut sink).dropped_over_cap);
        assert_eq!(r.buffered(), 4);
    }

    #[test]
    fn skip_gap_delivers_what_follows_a_loss() {
        let mut r = StreamReassembler::new();
        r.syn(0);
        let mut out = vec![];
        let mut sink = |c: StreamChunk<'_>| out.push(format!("{c:?}"));
        r.segment(11, b"xy", 0, Limits::default(), &mut sink);
        r.skip_gap(&mut sink);
        assert_eq!(out, ["Gap(10)", "Data([120, 121])"]);
        assert_eq!(r.buffered(), 0);
    }

    /// Feeds `(seq, bytes, missing)` segments; returns the delivered stream (gaps as
    /// `[gap N]`) and what each segment was noted as: `-` nothing, `r` retransmission,
    /// `c` conflicting overlap, `rc` both, `d` dropped.
    fn feed(r: &mut StreamReassembler, segs: &[(u32, &[u8], u32)]) -> (String, Vec<&'static str>) {
        let mut out = String::new();
        let mut notes = vec![];
        for (seq, data, missing) in segs {
            let n = r.segment(*seq, data, *missing, Limits::default(), &mut |c| {
                push(&mut out, c)
            });
            notes.push(
                match (n.retransmission, n.conflicting_overlap, n.dropped_over_cap) {
                    (_, _, true) => "d",
                    (false, false, _) => "-",
                    (true, false, _) => "r",
                    (false, true, _) => "c",
                    (true, true, _) => "rc",
                },
            );
        }
        (out, notes)
    }

    fn push(out: &mut String, c: StreamChunk<'_>) {
        match c {
            StreamChunk::Data(d) => out.push_str(std::str::from_utf8(d).unwrap()),
            StreamChunk::Gap(n) => out.push_str(&format!("[gap {n}]")),
        }
    }

    fn with_syn(isn: u32) -> StreamReassembler {
        let mut r = StreamReassembler::new();
        r.syn(isn);
        r
    }

    /// What a later segment at or before `next` delivers when it overlaps queued bytes: the
    /// queued (first seen) bytes, and its own bytes only around them.
    #[test]
    fn in_order_segments_yield_to_queued_bytes() {
        type Case = (
            &'static [(u32, &'static [u8], u32)],
            &'static str,
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            // Disagrees with the queued bytes it runs into.
            (
                &[(103, b"DEF", 0), (100, b"abcxyz", 0)],
                "abcDEF",
                &["-", "c"],
            ),
            // Runs past them: its tail after them is new.
            (
                &[(103, b"DEF", 0), (100, b"abcxyzghi", 0)],
                "abcDEFghi",
                &["-", "c"],
            ),
            // Agrees with them: nothing to note.
            (
                &[(103, b"def", 0), (100, b"abcdefg", 0)],
                "abcdefg",
                &["-", "-"],
            ),
            // Fills two holes around two queued segments.
            (
                &[
                    (103, b"DEF", 0),
                    (109, b"JKL", 0),
                    (100, b"abcdefghijklmn", 0),
                ],
                "abcDEFghiJKLmn",
                &["-", "-", "c"],
            ),
            // Ends inside queued bytes that go further.
            (
                &[(102, b"CDEFG", 0), (100, b"abcd", 0)],
                "abCDEFG",
                &["-", "c"],
            ),
            // Starts before `next` (a partial retransmission) and fills a hole.
            (
                &[(100, b"ab", 0), (104, b"EF", 0), (101, b"bcdXYg", 0)],
                "abcdEFg",
                &["-", "-", "c"],
            ),
            // Its cut tail is a gap only where nothing is queued.
            (
                &[(104, b"EF", 0), (100, b"abc", 5)],
                "abc[gap 1]EF[gap 2]",
                &["-", "-"],
            ),
            // A cut tail entirely queued: nothing new.
            (
                &[(102, b"cdef", 0), (100, b"ab", 0), (101, b"b", 3)],
                "abcdef",
                &["-", "-", "r"],
            ),
        ];
        for (segs, want, notes) in cases {
            let (s, n) = feed(&mut with_syn(99), segs);
            assert_eq!((s.as_str(), n.as_slice()), (*want, *notes), "{segs:?}");
        }
    }

    #[test]
    fn queued_segments_keep_the_first_bytes() {
        type Case = (
            &'static [(u32, &'static [u8], u32)],
            &'static str,
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (
                &[(103, b"DEF", 0), (103, b"xyz", 0), (100, b"abc", 0)],
                "abcDEF",
                &["-", "rc", "-"],
            ),
            (
                &[(104, b"E", 0), (103, b"dXf", 0), (100, b"abc", 0)],
                "abcdEf",
                &["-", "c", "-"],
            ),
            // Spans two queued segments and the hole between them.
            (
                &[
                    (104, b"E", 0),
                    (107, b"H", 0),
                    (103, b"dXfgYi", 0),
                    (100, b"abc", 0),
                ],
                "abcdEfgHi",
                &["-", "-", "c", "-"],
            ),
            (
                &[(104, b"EF", 0), (104, b"EF", 0), (100, b"abcd", 0)],
                "abcdEF",
                &["-", "r", "-"],
            ),
        ];
        for (segs, want, notes) in cases {
            let (s, n) = feed(&mut with_syn(99), segs);
            assert_eq!((s.as_str(), n.as_slice()), (*want, *notes), "{segs:?}");
        }
    }

    #[test]
    fn retransmission_of_delivered_bytes_that_differs_is_a_conflict() {
        let (s, n) = feed(
            &mut with_syn(99),
            &[
                (100, b"abcdef", 0),
                (100, b"abcdef", 0),
                (102, b"cX", 0),
                // Partly delivered: compared there, the rest is new.
                (104, b"eFgh", 0),
                (103, b"d", 0),
            ],
        );
        assert_eq!(s, "abcdefgh");
        assert_eq!(n, ["-", "r", "rc", "c", "r"]);
    }

    /// The delivered bytes remembered are the last RECENT_BYTES, whatever the segment sizes
    /// (a ring that wraps); older ones are not compared.
    #[test]
    fn delivered_bytes_are_remembered_up_to_recent_bytes() {
        let stream: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for mss in [1, 700, 4096, 5000, 10_000] {
            let mut r = with_syn(0);
            let mut delivered = 0;
            for (i, chunk) in stream.chunks(mss).enumerate() {
                let n = r.segment(
                    1 + (i * mss) as u32,
                    chunk,
                    0,
                    Limits::default(),
                    &mut |c| {
                        if let StreamChunk::Data(d) = c {
                            delivered += d.len()
                        }
                    },
                );
                assert_eq!(n, SegmentNotes::default());
            }
            assert_eq!(delivered, stream.len());
            assert_eq!(r.memory(), RECENT_BYTES);
            let oldest = stream.len() - RECENT_BYTES;
            for (at, len) in [
                (0, 10),
                (oldest - 5, 10),
                (oldest, 1),
                (9_000, 1000),
                (9_998, 2),
            ] {
                let seq = 1 + at as u32;
                let same = &stream[at..at + len];
                let n = r.segment(seq, same, 0, Limits::default(), &mut |_| panic!());
                assert_eq!(
                    n,
                    SegmentNotes {
                        retransmission: true,
                        ..SegmentNotes::default()
                    }
                );
                for flip in 0..len {
                    let mut other = same.to_vec();
                    other[flip] ^= 0x80;
                    let n = r.segment(seq, &other, 0, Limits::default(), &mut |_| panic!());
                    assert!(n.retransmission);
                    assert_eq!(
                        n.conflicting_overlap,
                        at + flip >= oldest,
                        "{mss} {at} {flip}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_keep_alive_probe_is_no_conflict() {
        // One garbage octet at `next - 1`; one more byte, or one byte further back, is compared.
        let (s, n) = feed(
            &mut with_syn(99),
            &[
                (100, b"abc", 0),
                (102, b"\0", 0),
                (101, b"X", 0),
                (102, b"\0d", 0),
            ],
        );
        assert_eq!(s, "abcd");
        assert_eq!(n, ["-", "r", "rc", "c"]);
    }

    #[test]
    fn bytes_before_a_gap_are_not_compared() {
        let (s, n) = feed(
            &mut with_syn(0),
            &[
                (1, b"abc", 2),
                (1, b"aXc", 0),
                (6, b"fg", 0),
                (6, b"fX", 0),
                (4, b"XXfg", 0),
            ],
        );
        assert_eq!(s, "abc[gap 2]fg");
        assert_eq!(n, ["-", "r", "-", "rc", "r"]);
    }

    #[test]
    fn held_segments_keep_the_first_bytes() {
        // No SYN: held until the start is known, and compared meanwhile.
        let mut r = StreamReassembler::new();
        let (_, n) = feed(
            &mut r,
            &[(5003, b"DEF", 0), (5003, b"xyz", 0), (5006, b"GHI", 0)],
        );
        assert_eq!(n, ["-", "rc", "-"]);
        r.start_at(5000);
        let (s, n) = feed(&mut r, &[(5000, b"abcdXYghij", 0)]);
        assert_eq!((s.as_str(), n.as_slice()), ("abcDEFGHIj", &["c"][..]));
        // A held segment that straddles the start: its bytes from the start on count.
        let mut r = StreamReassembler::new();
        feed(&mut r, &[(4998, b"zzabc", 0)]);
        r.start_at(5000);
        let (s, n) = feed(&mut r, &[(5000, b"ABCdef", 0)]);
        assert_eq!((s.as_str(), n.as_slice()), ("abcdef", &["c"][..]));
        // The start is a held segment: the segment that starts there again brings nothing new.
        let mut r = StreamReassembler::new();
        feed(&mut r, &[(5000, b"abc", 0)]);
        r.start_at(5000);
        let (s, n) = feed(&mut r, &[(5000, b"aXc", 0)]);
        assert_eq!((s.as_str(), n.as_slice()), ("abc", &["rc"][..]));
    }

    #[test]
    fn skip_gap_delivers_the_first_bytes() {
        let mut r = StreamReassembler::new();
        let (_, n) = feed(&mut r, &[(7, b"bcd", 0), (5, b"aXc", 0)]);
        assert_eq!(n, ["-", "c"]);
        let mut out = String::new();
        r.skip_gap(&mut |c| push(&mut out, c));
        assert_eq!(out, "aXbcd");
        let mut r = with_syn(0);
        let (_, n) = feed(&mut r, &[(11, b"xy", 0), (12, b"Yz", 0), (20, b"!", 0)]);
        assert_eq!(n, ["-", "c", "-"]);
        let mut out = String::new();
        r.skip_gap(&mut |c| push(&mut out, c));
        assert_eq!(out, "[gap 10]xyz[gap 6]!");
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn isn_reanchoring_keeps_the_queued_bytes_from_the_new_start() {
        let mut r = with_syn(99);
        r.syn(199);
        // Queued while the first SYN counted; the data at 200 says the second one does.
        let (s, n) = feed(
            &mut r,
            &[(203, b"DEF", 0), (198, b"zzabc", 0), (200, b"ABCdefg", 0)],
        );
        assert_eq!(
            (s.as_str(), n.as_slice()),
            ("abcDEFg", &["-", "-", "c"][..])
        );
    }

    #[test]
    fn memory_is_what_is_queued_and_remembered() {
        let mut r = with_syn(0);
        assert_eq!(r.memory(), 0);
        feed(&mut r, &[(1, b"a", 0)]);
        assert_eq!(r.memory(), 512);
        feed(&mut r, &[(2, &[b'a'; 99], 0)]);
        assert_eq!(r.memory(), 512);
        feed(&mut r, &[(1000, &[b'b'; 50], 0)]);
        assert_eq!(r.memory(), 512 + 50);
        feed(&mut r, &[(101, &[b'c'; 500], 0)]);
        assert_eq!(r.memory(), 1024 + 50);
        feed(&mut r, &[(101, &[b'c'; 5000], 0)]);
        assert_eq!(r.memory(), RECENT_BYTES);
        r.clear();
        assert_eq!(r.memory(), 0);
    }

    // -----------------------------------------------------------------------------------------
    // Property tests: random streams, cut into overlapping segments whose overlaps may carry
    // different bytes, sent in a random order with duplicates.

    use proptest::prelude::*;

    /// splitmix64: the scenario of a case comes from one proptest-drawn seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        fn one_in(&mut self, n: usize) -> bool {
            self.below(n) == 0
        }
    }

    /// A segment of a scenario: stream offset, captured bytes, bytes cut after them.
    #[derive(Debug, Clone)]
    struct Seg {
        at: usize,
        bytes: Vec<u8>,
        missing: u32,
    }

    /// Segments covering a `len`-byte stream (a partition of it, plus overlapping extras),
    /// a third of them lying on some bytes, some sent twice, shuffled. Bytes come from a
    /// 4-letter alphabet so that a lying overlap sometimes agrees by chance.
    fn segments(rng: &mut Rng, len: usize) -> Vec<Seg> {
        let stream: Vec<u8> = (0..len).map(|_| b'a' + rng.below(4) as u8).collect();
        let mut spans = vec![];
        let mut at = 0;
        while at < len {
            let n = (1 + rng.below(40)).min(len - at);
            spans.push((at, n));
            at += n;
        }
        for _ in 0..rng.below(len / 8 + 4) {
            let at = rng.below(len);
            spans.push((at, (1 + rng.below(60)).min(len - at)));
        }
        let mut segs: Vec<Seg> = spans
            .into_iter()
            .map(|(at, n)| {
                let mut bytes = stream[at..at + n].to_vec();
                if rng.one_in(3) {
                    for b in &mut bytes {
                        if rng.one_in(4) {
                            *b = b'a' + rng.below(4) as u8;
                        }
                    }
                }
                Seg {
                    at,
                    bytes,
                    missing: 0,
                }
            })
            .collect();
        for _ in 0..rng.below(segs.len() / 3 + 2) {
            let dup = segs[rng.below(segs.len())].clone();
            segs.push(dup);
        }
        for i in (1..segs.len()).rev() {
            segs.swap(i, rng.below(i + 1));
        }
        segs
    }

    /// How the stream's start becomes known.
    #[derive(Debug, Clone, Copy)]
    enum Start {
        /// A SYN before any data.
        Syn,
        /// No SYN; the caller finds the start before the given arrival, or never (skip_gap).
        Found(usize),
        /// A SYN/ACK with another ISN `d` lower first, then the real one.
        OtherIsnFirst(u32),
    }

    fn big_limits() -> Limits {
        Limits {
            max_buffered: 1 << 20,
            max_segments: 1 << 20,
        }
    }

    /// Feeds the segments (offsets from `isn + 1`), then gives up on what is missing; the
    /// stream delivered (a gap byte is `None`) and each segment's notes.
    fn deliver(isn: u32, start: Start, segs: &[Seg]) -> (Vec<Option<u8>>, Vec<SegmentNotes>) {
        let mut r = StreamReassembler::new();
        match start {
            Start::Syn => r.syn(isn),
            Start::Found(_) => {}
            Start::OtherIsnFirst(d) => {
                r.syn(isn.wrapping_sub(d));
                r.syn(isn);
            }
        }
        let mut out = vec![];
        let mut sink = |c: StreamChunk<'_>| match c {
            StreamChunk::Data(d) => out.extend(d.iter().map(|b| Some(*b))),
            StreamChunk::Gap(n) => out.extend((0..n).map(|_| None)),
        };
        let mut notes = vec![];
        for (k, s) in segs.iter().enumerate() {
            if matches!(start, Start::Found(at) if at == k) {
                r.start_at(isn.wrapping_add(1));
            }
            let seq = isn.wrapping_add(1).wrapping_add(s.at as u32);
            notes.push(r.segment(seq, &s.bytes, s.missing, big_limits(), &mut sink));
        }
        r.skip_gap(&mut sink);
        assert_eq!(r.buffered(), 0);
        (out, notes)
    }

    fn cases() -> ProptestConfig {
        ProptestConfig {
            cases: std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(512),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    fn start_strategy() -> impl Strategy<Value = Start> {
        prop_oneof![
            Just(Start::Syn),
            (0usize..80).prop_map(Start::Found),
            (1u32..2000).prop_map(Start::OtherIsnFirst),
        ]
    }

    fn isn_strategy() -> impl Strategy<Value = u32> {
        prop_oneof![any::<u32>(), (0u32..400).prop_map(|d| u32::MAX - d)]
    }

    proptest! {
        #![proptest_config(cases())]

        /// Every byte arrives: the stream delivered is, byte for byte, what the first segment
        /// (in arrival order) that carried it said; a segment is a conflicting overlap exactly
        /// when it disagrees with that on some byte, a retransmission exactly when it carries
        /// no byte first.
        #[test]
        fn first_data_seen_for_a_byte_wins(
            seed in any::<u64>(),
            len in 1usize..300,
            isn in isn_strategy(),
            start in start_strategy(),
        ) {
            let segs = segments(&mut Rng(seed), len);
            let (out, notes) = deliver(isn, start, &segs);
            let mut first: Vec<Option<u8>> = vec![None; len];
            for (k, (s, n)) in segs.iter().zip(&notes).enumerate() {
                // Where delivery stands (the start known): one byte right before it is a
                // keep-alive probe, not compared.
                let next = first.iter().take_while(|b| b.is_some()).count();
                let started = match start {
                    Start::Found(at) => k > at,
                    Start::Syn | Start::OtherIsnFirst(_) => true,
                };
                let keep_alive = started && s.bytes.len() == 1 && s.at + 1 == next;
                let mut conflict = false;
                let mut new = false;
                for (i, b) in s.bytes.iter().enumerate() {
                    match first[s.at + i] {
                        Some(f) => conflict |= f != *b,
                        None => {
                            first[s.at + i] = Some(*b);
                            new = true;
                        }
                    }
                }
                let want = SegmentNotes {
                    retransmission: !new,
                    conflicting_overlap: conflict && !keep_alive,
                    dropped_over_cap: false,
                };
                prop_assert_eq!(*n, want, "{:?}", s);
            }
            prop_assert_eq!(out, first);
        }

        /// Some segments lost, some cut by the snap length: the same as a byte-by-byte model
        /// where a cut tail delivered in order is a gap wherever nothing was queued, a lost
        /// byte is a gap once given up on, and delivered bytes behind a gap are not compared.
        #[test]
        fn losses_and_cut_tails_follow_the_byte_model(
            seed in any::<u64>(),
            len in 1usize..300,
            isn in isn_strategy(),
        ) {
            let mut rng = Rng(seed);
            let mut segs = segments(&mut rng, len);
            segs.retain(|_| !rng.one_in(6));
            for s in &mut segs {
                if rng.one_in(4) {
                    let keep = rng.below(s.bytes.len() + 1);
                    s.missing = (s.bytes.len() - keep) as u32;
                    s.bytes.truncate(keep);
                }
            }
            let (out, notes) = deliver(isn, Start::Syn, &segs);
            // The model: queued bytes by position, the stream delivered so far.
            let mut queued: Vec<Option<u8>> = vec![None; len];
            let mut model: Vec<Option<u8>> = vec![];
            let mut known_from = 0;
            for (s, n) in segs.iter().zip(&notes) {
                let next = model.len();
                let end = s.at + s.bytes.len() + s.missing as usize;
                if s.bytes.is_empty() && (s.missing == 0 || s.at > next) {
                    prop_assert_eq!(*n, SegmentNotes::default());
                    continue;
                }
                let keep_alive = s.bytes.len() == 1 && s.missing == 0 && s.at + 1 == next;
                let mut conflict = false;
                let mut new = false;
                for (i, b) in s.bytes.iter().enumerate() {
                    let at = s.at + i;
                    if at < next {
                        if at >= known_from && !keep_alive {
                            conflict |= model[at] != Some(*b);
                        }
                    } else if let Some(q) = queued[at] {
                        conflict |= q != *b;
                    } else {
                        queued[at] = Some(*b);
                        new = true;
                    }
                }
                if s.at <= next {
                    while model.len() < end {
                        let at = model.len();
                        let b = queued[at].take();
                        if b.is_none() {
                            new = true;
                            known_from = at + 1;
                        }
                        model.push(b);
                    }
                }
                while let Some(b) = queued.get_mut(model.len()).and_then(|q| q.take()) {
                    model.push(Some(b));
                }
                let want = SegmentNotes {
                    retransmission: !new,
                    conflicting_overlap: conflict,
                    dropped_over_cap: false,
                };
                prop_assert_eq!(*n, want, "{:?}", s);
            }
            // Given up on: gaps up to each queued byte.
            if let Some(last) = queued.iter().rposition(Option::is_some) {
                while model.len() <= last {
                    let at = model.len();
                    model.push(queued[at].take());
                }
            }
            prop_assert_eq!(out, model);
        }
    }
}
