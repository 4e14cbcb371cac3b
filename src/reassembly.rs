//! Reassembly stage: the segments of one direction of a flow → its bytes in sequence order.
//!
//! Bytes are delivered as soon as they are contiguous with what was delivered before, never
//! waiting for an ACK (span ports often see one direction only). Out-of-order segments wait in
//! a queue bounded in bytes and in segment count; the first data seen for a sequence number
//! wins, and a later segment that disagrees with buffered bytes is counted as a conflicting
//! overlap. Retransmissions of delivered bytes are ignored. Sequence numbers compare with
//! wrapping arithmetic (RFC 793 §3.3).

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
    /// Entirely already delivered or buffered.
    pub retransmission: bool,
    /// Overlapped buffered bytes with different content (first seen kept).
    pub conflicting_overlap: bool,
    /// Dropped because the out-of-order queue was full or it was too far ahead.
    pub dropped_over_cap: bool,
}

/// One direction of a flow.
#[derive(Debug, Default)]
pub struct StreamReassembler {
    /// Next sequence number to deliver; `None` until the stream's start is known.
    next: Option<SeqNum>,
    /// Out-of-order segments: (start, bytes), sorted by start, not overlapping each other.
    queue: Vec<(SeqNum, Vec<u8>)>,
    buffered: usize,
    /// Whether any byte was delivered yet.
    delivered: bool,
    /// The first sequence number seen: orders the queue while the start is unknown.
    anchor: Option<SeqNum>,
    /// Initial sequence numbers of the SYNs seen (a middlebox or a TCP Fast Open retry may
    /// send SYN/ACKs with different ISNs: the data tells which one counts).
    isns: Vec<u32>,
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
            self.next = Some(SeqNum(isn.wrapping_add(1)));
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
            self.next = Some(SeqNum(seq));
        }
    }

    /// Bytes waiting in the out-of-order queue.
    pub fn buffered(&self) -> usize {
        self.buffered
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
            self.next = Some(SeqNum(seq));
            self.queue.retain(|(s, _)| SeqNum(seq).distance_to(*s) > 0);
            self.buffered = self.queue.iter().map(|(_, b)| b.len()).sum();
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
                // Not being able to hold more before the start is no loss worth counting.
                let mut quiet = SegmentNotes::default();
                self.insert(seq, payload, hold, &mut quiet);
            }
            return notes;
        };
        let ahead = next.distance_to(seq);
        let end_ahead = ahead + payload.len() as i64 + i64::from(missing);
        if end_ahead <= 0 {
            notes.retransmission = true;
            return notes;
        }
        if ahead <= 0 {
            // Starts at or before `next`: deliver the new part now.
            let skip = (-ahead) as usize;
            let fresh = payload.get(skip..).unwrap_or(&[]);
            let mut advanced = fresh.len();
            self.delivered = true;
            if !fresh.is_empty() {
                notes.conflicting_overlap |= self.conflicts(next, fresh);
                sink(StreamChunk::Data(fresh));
            }
            if missing > 0 {
                let gap = (end_ahead as usize).saturating_sub(fresh.len()) as u32;
                sink(StreamChunk::Gap(gap));
                advanced += gap as usize;
            }
            self.next = Some(next.advanced_by(advanced));
            self.drain(sink);
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
        notes
    }

    /// Gives up waiting for the bytes before the first queued segment: delivers a gap and the
    /// queue from there on. Used when a flow is closed or its handshake must be decided.
    pub fn skip_gap(&mut self, sink: &mut impl FnMut(StreamChunk<'_>)) {
        if self.next.is_none() {
            self.next = self.queue.first().map(|(s, _)| *s);
        }
        while let (Some(next), Some((first, _))) = (self.next, self.queue.first()) {
            let gap = next.distance_to(*first);
            if gap > 0 {
                sink(StreamChunk::Gap(gap as u32));
                self.next = Some(*first);
            }
            self.drain(sink);
        }
    }

    /// Frees the queue (the flow's handshake is decided).
    pub fn clear(&mut self) {
        self.queue = Vec::new();
        self.buffered = 0;
    }

    /// Whether `data` at `at` disagrees with queued bytes it overlaps.
    fn conflicts(&self, at: SeqNum, data: &[u8]) -> bool {
        self.queue.iter().any(|(start, bytes)| {
            let off = at.distance_to(*start);
            if off < 0 || off >= data.len() as i64 {
                return false;
            }
            let off = off as usize;
            let n = (data.len() - off).min(bytes.len());
            data.get(off..off + n) != bytes.get(..n)
        })
    }

    fn insert(&mut self, seq: SeqNum, payload: &[u8], limits: Limits, notes: &mut SegmentNotes) {
        // Split the new segment into the pieces not already queued (first data wins).
        let mut pieces: Vec<(SeqNum, &[u8])> = Vec::new();
        let mut cur = seq;
        let mut rest = payload;
        for (start, bytes) in &self.queue {
            if rest.is_empty() {
                break;
            }
            let to_start = cur.distance_to(*start);
            let end = start.advanced_by(bytes.len());
            let to_end = cur.distance_to(end);
            if to_end <= 0 {
                continue; // queued segment entirely before `cur`
            }
            if to_start > 0 {
                let take = (to_start as usize).min(rest.len());
                let (piece, after) = rest.split_at_checked(take).unwrap_or((rest, &[]));
                pieces.push((cur, piece));
                rest = after;
                cur = cur.advanced_by(take);
                if rest.is_empty() {
                    break;
                }
            }
            // Overlap with the queued segment: compare, keep the queued bytes.
            let off = start.distance_to(cur).max(0) as usize;
            let n = (bytes.len() - off.min(bytes.len())).min(rest.len());
            if bytes.get(off..off + n) != rest.get(..n) {
                notes.conflicting_overlap = true;
            }
            rest = rest.get(n..).unwrap_or_default();
            cur = cur.advanced_by(n);
        }
        if !rest.is_empty() {
            pieces.push((cur, rest));
        }
        if pieces.is_empty() {
            notes.retransmission = true;
            return;
        }
        for (start, bytes) in pieces {
            if self.buffered + bytes.len() > limits.max_buffered
                || self.queue.len() >= limits.max_segments
            {
                notes.dropped_over_cap = true;
                return;
            }
            let next = self.next.or(self.anchor).unwrap_or(start);
            let key = next.distance_to(start);
            let pos = self
                .queue
                .partition_point(|(s, _)| next.distance_to(*s) < key);
            self.buffered += bytes.len();
            self.queue.insert(pos, (start, bytes.to_vec()));
        }
    }

    fn drain(&mut self, sink: &mut impl FnMut(StreamChunk<'_>)) {
        while let (Some(next), Some((start, _))) = (self.next, self.queue.first()) {
            let ahead = next.distance_to(*start);
            if ahead > 0 {
                break;
            }
            let (start, bytes) = self.queue.remove(0);
            self.buffered -= bytes.len();
            let skip = (-ahead) as usize;
            if let Some(fresh) = bytes.get(skip..).filter(|f| !f.is_empty()) {
                sink(StreamChunk::Data(fresh));
                self.next = Some(start.advanced_by(bytes.len()));
            }
        }
        if self.queue.is_empty() && self.queue.capacity() > 0 {
            self.queue = Vec::new();
        }
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
}
