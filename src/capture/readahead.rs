//! Read-ahead: `read`'s inputs opened, decompressed and cut into packets on a thread of their
//! own, handed to the analysing thread in batches, in order.
//!
//! The analysing thread sees exactly the packets, errors and file boundaries that merging the
//! inputs itself would give ([`Event`]s, in the order of [`read_merged`]), so the census
//! cannot differ; what
//! changes is that the `read` system calls, decompression and the framing of pcap records and
//! pcapng blocks run on another core, and the decoding of link, IP and TCP headers on whichever
//! has slack ([`Backlog`]). The cost is one copy of each packet into a batch, and one channel
//! message per batch. Memory is bounded: at most [`BATCHES`] batches exist, each about
//! [`BATCH_BYTES`] (more only for a single packet larger than that).

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

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crate::capture::inputs::Consumed;
use crate::capture::merge::{read_merged, Go, InputVisitor};
use crate::capture::offline::{ReadError, Source};
use crate::capture::{Frame, LinkType, Timestamp};
use crate::decode::{self, Decoded, TcpFlags, TcpSegment};

/// Packet bytes per batch, about.
pub const BATCH_BYTES: usize = 256 * 1024;
/// Batches in existence at once (in the channel, being filled, being analysed).
pub const BATCHES: usize = 4;

/// Batches sent and not yet taken by the analyser. Decoding the link, IP and TCP headers can
/// be done on either side; the reading thread does it for the batches it fills while the
/// analyser is behind (two or more batches waiting), and leaves it to the analyser while the
/// analyser waits for it (a compressed input, a slow disk). Either way each packet is decoded
/// once, by the same function: the census cannot differ.
#[derive(Debug, Clone, Default)]
struct Backlog(Arc<AtomicUsize>);

impl Backlog {
    fn sent(&self) -> usize {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn taken(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the reading thread found, in the order the merge found it.
#[derive(Debug)]
pub enum Event {
    /// The input was opened; its packets are among those that follow.
    Opened { source: String },
    /// The input could not be opened, or is the same as an earlier one; nothing of it follows.
    OpenFailed(ReadError),
    /// The next packets, of whichever inputs, in merge order.
    Packets(Batch),
    /// The input ended with this error, after the packets before it.
    Failed(ReadError),
    /// The input was read to its end.
    Done { source: String },
}

/// Where one packet lies in a batch.
#[derive(Debug, Clone, Copy)]
struct Slot {
    number: u64,
    ts: Timestamp,
    link: LinkType,
    start: usize,
    end: usize,
    orig_len: u32,
    /// The packet's TCP segment, decoded on the reading thread (`None`: not decoded there,
    /// or not a segment (a skip, an IP fragment): the analyser decodes the frame itself).
    segment: Option<SegmentSlot>,
}

/// A decoded TCP segment whose payload is a range of the batch's bytes.
#[derive(Debug, Clone, Copy)]
struct SegmentSlot {
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload_start: usize,
    payload_end: usize,
    missing: u32,
}

/// One packet of a batch: the frame, and its TCP segment when the reading thread decoded one.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    pub frame: Frame<'a>,
    /// What `decode::decode_or_fragment(&frame)` gives when it is a segment.
    pub segment: Option<TcpSegment<'a>>,
}

/// Packets copied out of the reader's buffer.
#[derive(Debug, Default)]
pub struct Batch {
    data: Vec<u8>,
    slots: Vec<Slot>,
    /// Bytes of all inputs consumed when the batch was sent (progress).
    pub consumed: u64,
    /// Bytes of its own input consumed when the batch's last packet was read.
    offset: u64,
    /// Decode each packet's headers as it is added (see [`Backlog`]).
    decode: bool,
}

impl Batch {
    fn push(&mut self, frame: &Frame<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(frame.data);
        let end = self.data.len();
        let segment = if self.decode {
            self.segment_at(frame, start, end)
        } else {
            None
        };
        self.slots.push(Slot {
            number: frame.number,
            ts: frame.ts,
            link: frame.link,
            start,
            end,
            orig_len: frame.orig_len,
            segment,
        });
    }

    /// The TCP segment of the frame just copied to `start..end`, if it is one.
    fn segment_at(&self, frame: &Frame<'_>, start: usize, end: usize) -> Option<SegmentSlot> {
        let copy = Frame {
            data: self.data.get(start..end)?,
            ..*frame
        };
        let Ok(Decoded::Segment(seg)) = decode::decode_or_fragment(&copy) else {
            return None;
        };
        // The payload is a sub-slice of the copy: its place in the batch.
        let at = (seg.payload.as_ptr() as usize).checked_sub(copy.data.as_ptr() as usize)?;
        let payload_len = seg.payload.len();
        if at.checked_add(payload_len)? > copy.data.len() {
            return None;
        }
        Some(SegmentSlot {
            src: seg.src,
            dst: seg.dst,
            src_port: seg.src_port,
            dst_port: seg.dst_port,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            payload_start: start + at,
            payload_end: start + at + payload_len,
            missing: seg.missing,
        })
    }

    fn clear(&mut self) {
        self.data.clear();
        self.slots.clear();
        self.consumed = 0;
        self.offset = 0;
        self.decode = false;
    }

    fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The packets with their decoded segments, in capture order.
    pub fn packets(&self) -> impl Iterator<Item = Packet<'_>> {
        self.slots.iter().map(|s| Packet {
            frame: Frame {
                number: s.number,
                ts: s.ts,
                link: s.link,
                data: self.data.get(s.start..s.end).unwrap_or_default(),
                orig_len: s.orig_len,
            },
            segment: s.segment.map(|g| TcpSegment {
                src: g.src,
                dst: g.dst,
                src_port: g.src_port,
                dst_port: g.dst_port,
                seq: g.seq,
                ack: g.ack,
                flags: g.flags,
                payload: self
                    .data
                    .get(g.payload_start..g.payload_end)
                    .unwrap_or_default(),
                missing: g.missing,
            }),
        })
    }
}

/// The reading thread and the two ends of its channels.
pub struct ReadAhead {
    events: Receiver<Event>,
    /// Analysed batches go back to be filled again.
    spent: SyncSender<Batch>,
    thread: Option<JoinHandle<()>>,
    backlog: Backlog,
    /// The input opened last (until it ends), and the last packet handed over: what an error
    /// names if the reading thread dies.
    current: Option<String>,
    last_packet: u64,
    /// Bytes of that input read when that packet was.
    last_offset: u64,
}

impl ReadAhead {
    /// Starts merging `sources` on a new thread.
    pub fn start(sources: Vec<Source>) -> std::io::Result<ReadAhead> {
        Self::spawn(move |events, spent, backlog| read_all(&sources, events, spent, backlog))
    }

    /// Starts `read` on a new thread with the two channels' other ends.
    fn spawn(
        read: impl FnOnce(&SyncSender<Event>, &Receiver<Batch>, Backlog) + Send + 'static,
    ) -> std::io::Result<ReadAhead> {
        let (event_tx, events) = mpsc::sync_channel(BATCHES);
        let (spent, spent_rx) = mpsc::sync_channel(BATCHES);
        let backlog = Backlog::default();
        let theirs = backlog.clone();
        let thread = thread::Builder::new()
            .name("read-ahead".to_string())
            .spawn(move || read(&event_tx, &spent_rx, theirs))?;
        Ok(ReadAhead {
            events,
            spent,
            thread: Some(thread),
            backlog,
            current: None,
            last_packet: 0,
            last_offset: 0,
        })
    }

    /// The next event; `None` once every input was read. Should the reading thread die (a
    /// bug), the input it was reading ends with an error saying so, never silently.
    pub fn next_event(&mut self) -> Option<Event> {
        match self.events.recv() {
            Ok(event) => {
                match &event {
                    Event::Opened { source } => {
                        self.current = Some(source.clone());
                        (self.last_packet, self.last_offset) = (0, 0);
                    }
                    Event::Packets(b) => {
                        self.backlog.taken();
                        self.last_packet = b.slots.last().map_or(self.last_packet, |s| s.number);
                        self.last_offset = b.offset;
                    }
                    Event::Done { source } => {
                        if self.current.as_ref() == Some(source) {
                            self.current = None;
                        }
                    }
                    Event::Failed(e) => {
                        if self.current.as_deref() == Some(e.source()) {
                            self.current = None;
                        }
                    }
                    Event::OpenFailed(_) => {}
                }
                Some(event)
            }
            Err(_) => {
                let died = self.thread.take().is_some_and(|t| t.join().is_err());
                died.then(|| {
                    Event::Failed(ReadError::Io {
                        source: self.current.take().unwrap_or_else(|| "input".to_string()),
                        after_packet: self.last_packet,
                        offset: self.last_offset,
                        reason: "the reading thread stopped unexpectedly (a bug: please report \
                                 it)"
                        .to_string(),
                    })
                })
            }
        }
    }

    /// Hands an analysed batch back for reuse.
    pub fn recycle(&mut self, batch: Batch) {
        // The reader may have finished already: then the batch is just dropped.
        let _ = self.spent.try_send(batch);
    }
}

impl ReadAhead {
    /// Stops the reading thread early: it stops at its next send or batch wait. Returns
    /// whether it ended (and was joined) within a second; one blocked in a read that never
    /// returns (a quiet pipe on standard input) is left behind rather than waited for.
    fn stop(&mut self) -> bool {
        // Gone receiver: the reader's next send fails. Gone sender: a reader waiting for a
        // batch to come back wakes up.
        let (_, dead_events) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.events, dead_events));
        let (dead_spent, _) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.spent, dead_spent));
        let Some(t) = self.thread.take() else {
            return true;
        };
        for _ in 0..200 {
            if t.is_finished() {
                return t.join().is_ok();
            }
            thread::sleep(std::time::Duration::from_millis(5));
        }
        false
    }
}

impl Drop for ReadAhead {
    /// Only when the analyser stops before the end (after the end the thread is joined).
    fn drop(&mut self) {
        self.stop();
    }
}

/// The reading thread's side: packets into batches, everything else straight on as events.
struct Sender<'a> {
    events: &'a SyncSender<Event>,
    /// Analysed batches coming back.
    spent: &'a Receiver<Batch>,
    /// Batches allocated so far (at most [`BATCHES`]).
    made: usize,
    batch: Batch,
    backlog: Backlog,
    /// Bytes of all inputs read so far.
    total: Consumed,
}

impl Sender<'_> {
    fn send(&self, event: Event) -> Go {
        match self.events.send(event) {
            Ok(()) => Go::Continue(()),
            // The analyser is gone: stop reading.
            Err(_) => Go::Break(()),
        }
    }

    /// An empty batch: one that came back, a new one while fewer than [`BATCHES`] exist, or
    /// else the next to come back.
    fn fresh(&mut self) -> Batch {
        if let Ok(mut b) = self.spent.try_recv() {
            b.clear();
            return b;
        }
        if self.made < BATCHES {
            self.made += 1;
            return Batch {
                data: Vec::with_capacity(BATCH_BYTES + 2048),
                slots: Vec::with_capacity(BATCH_BYTES / 64),
                consumed: 0,
                offset: 0,
                decode: false,
            };
        }
        // Every batch is out: wait for one to come back (or for the analyser to go away,
        // when a new one does no harm since the next send fails).
        match self.spent.recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => Batch::default(),
        }
    }

    /// Sends the batch being filled, if it holds packets.
    fn flush(&mut self) -> Go {
        if self.batch.is_empty() {
            return Go::Continue(());
        }
        let mut batch = self.fresh();
        std::mem::swap(&mut batch, &mut self.batch);
        batch.consumed = self.total.get();
        // The analyser is behind when batches pile up: decode the next one here.
        self.batch.decode = self.backlog.sent() >= 2;
        self.send(Event::Packets(batch))
    }
}

/// Every event but packets goes after the packets before it: the analyser sees them in the
/// order of the merge.
impl InputVisitor for Sender<'_> {
    fn open_failed(&mut self, error: ReadError) -> Go {
        self.flush()?;
        self.send(Event::OpenFailed(error))
    }

    fn opened(&mut self, source: &str) -> Go {
        self.flush()?;
        self.send(Event::Opened {
            source: source.to_string(),
        })
    }

    fn frame(&mut self, frame: &Frame<'_>, consumed: &Consumed) -> Go {
        self.batch.push(frame);
        self.batch.offset = consumed.get();
        if self.batch.data.len() >= BATCH_BYTES {
            return self.flush();
        }
        Go::Continue(())
    }

    fn ended(&mut self, source: &str, end: Result<(), ReadError>) -> Go {
        self.flush()?;
        self.send(match end {
            Ok(()) => Event::Done {
                source: source.to_string(),
            },
            Err(e) => Event::Failed(e),
        })
    }
}

/// The reading thread: every input merged, as events. Stops when the receiver is gone.
fn read_all(
    sources: &[Source],
    events: &SyncSender<Event>,
    spent: &Receiver<Batch>,
    backlog: Backlog,
) {
    let total = Consumed::default();
    let mut sender = Sender {
        events,
        spent,
        made: 0,
        batch: Batch::default(),
        backlog,
        total: total.clone(),
    };
    sender.batch = sender.fresh();
    read_merged(sources, &total, &mut sender);
    // Every input ends with `ended`, which sent its packets: this is only in case.
    let _ = sender.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::inputs::{self, Opened};
    use std::path::PathBuf;

    fn fixture(name: &str) -> Source {
        Source::File(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(name),
        )
    }

    /// What the analyser is told, in order: events, and each packet as (number, ts, link,
    /// bytes, orig_len).
    #[derive(Debug, PartialEq, Eq)]
    enum Seen {
        OpenFailed(String),
        Opened(String),
        Packet(u64, Timestamp, LinkType, Vec<u8>, u32),
        Failed(String),
        Done(String),
    }

    fn packet(f: &Frame<'_>) -> Seen {
        Seen::Packet(f.number, f.ts, f.link, f.data.to_vec(), f.orig_len)
    }

    /// Merging on this thread.
    struct Direct(Vec<Seen>);

    impl InputVisitor for Direct {
        fn open_failed(&mut self, error: ReadError) -> Go {
            self.0.push(Seen::OpenFailed(error.to_string()));
            Go::Continue(())
        }
        fn opened(&mut self, source: &str) -> Go {
            self.0.push(Seen::Opened(source.to_string()));
            Go::Continue(())
        }
        fn frame(&mut self, frame: &Frame<'_>, _: &Consumed) -> Go {
            self.0.push(packet(frame));
            Go::Continue(())
        }
        fn ended(&mut self, source: &str, end: Result<(), ReadError>) -> Go {
            self.0.push(match end {
                Ok(()) => Seen::Done(source.to_string()),
                Err(e) => Seen::Failed(e.to_string()),
            });
            Go::Continue(())
        }
    }

    fn direct(sources: &[Source]) -> Vec<Seen> {
        let mut seen = Direct(Vec::new());
        read_merged(sources, &Consumed::default(), &mut seen);
        seen.0
    }

    fn ahead(sources: &[Source]) -> Vec<Seen> {
        let mut seen = Vec::new();
        let mut ra = ReadAhead::start(sources.to_vec()).unwrap();
        while let Some(ev) = ra.next_event() {
            match ev {
                Event::Opened { source } => seen.push(Seen::Opened(source)),
                Event::OpenFailed(e) => seen.push(Seen::OpenFailed(e.to_string())),
                Event::Packets(b) => {
                    seen.extend(b.packets().map(|p| packet(&p.frame)));
                    ra.recycle(b);
                }
                Event::Failed(e) => seen.push(Seen::Failed(e.to_string())),
                Event::Done { source } => seen.push(Seen::Done(source)),
            }
        }
        seen
    }

    fn errors(seen: &[Seen]) -> Vec<&String> {
        (seen.iter())
            .filter_map(|s| match s {
                Seen::OpenFailed(e) | Seen::Failed(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn same_packets_and_errors_as_reading_directly() {
        let sources = vec![
            fixture("sample-m365.pcapng"),
            fixture("no-such-file.pcap"),
            fixture("tls10-exchange.pcap"),
            fixture("README.md"),
            fixture("tls13-teams.pcap"),
        ];
        let want = direct(&sources);
        let got = ahead(&sources);
        assert!(want.len() > 20, "{}", want.len());
        assert_eq!(got, want);
        assert_eq!(errors(&got).len(), 2);
    }

    #[test]
    fn a_damaged_input_keeps_its_packets_before_the_damage() {
        let dir = tempfile::tempdir().unwrap();
        let whole = std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-m365.pcapng"),
        )
        .unwrap();
        let cut = dir.path().join("cut.pcapng");
        std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
        let sources = vec![Source::File(cut), fixture("tls10-exchange.pcap")];
        let want = direct(&sources);
        let got = ahead(&sources);
        assert_eq!(got, want);
        let got_err = errors(&got);
        assert_eq!(got_err.len(), 1);
        assert!(got_err[0].contains("cut.pcapng"), "{got_err:?}");
    }

    #[test]
    fn segments_decoded_ahead_equal_decoding_the_frame() {
        // Batches that decode, filled with every packet of these fixtures.
        let mut batch = Batch {
            decode: true,
            ..Batch::default()
        };
        for name in [
            "sample-m365.pcapng",
            "starttls-smtp-tls12.pcap",
            "tls13-ipv6-exchange.pcap",
            "tls11-sll.pcap",
        ] {
            let Opened { mut reader, .. } = inputs::open(&fixture(name)).unwrap();
            while let Some(f) = reader.next_frame().unwrap() {
                batch.push(&f);
            }
        }
        let mut segments = 0;
        for p in batch.packets() {
            match (decode::decode_or_fragment(&p.frame), p.segment) {
                (Ok(Decoded::Segment(want)), Some(got)) => {
                    assert_eq!(got, want);
                    segments += 1;
                }
                (want, got) => panic!("{want:?} but decoded ahead {got:?}"),
            }
        }
        assert!(segments > 50, "{segments}");
        // A batch that does not decode leaves every packet to the analyser.
        batch.clear();
        let Opened { mut reader, .. } = inputs::open(&fixture("tls11-sll.pcap")).unwrap();
        while let Some(f) = reader.next_frame().unwrap() {
            batch.push(&f);
        }
        assert!(batch.packets().count() > 5);
        assert!(batch.packets().all(|p| p.segment.is_none()));
    }

    #[test]
    fn the_reader_decodes_while_the_analyser_is_behind_and_not_otherwise() {
        let (events_tx, events) = mpsc::sync_channel(BATCHES);
        let (spent_tx, spent) = mpsc::sync_channel(BATCHES);
        let backlog = Backlog::default();
        let mut sender = Sender {
            events: &events_tx,
            spent: &spent,
            made: 0,
            batch: Batch::default(),
            backlog: backlog.clone(),
            total: Consumed::default(),
        };
        sender.batch = sender.fresh();
        let Opened {
            mut reader,
            consumed,
            ..
        } = inputs::open(&fixture("tls13-teams.pcap")).unwrap();
        let frame = reader.next_frame().unwrap().unwrap();
        // Each batch: one packet, then sent. Whether it was decoded here was decided when
        // the batch before it was sent, by how many batches were waiting then.
        let fill_and_send = |sender: &mut Sender<'_>| -> bool {
            let decoded = sender.batch.decode;
            assert!(sender.frame(&frame, &consumed).is_continue());
            assert!(sender.flush().is_continue());
            decoded
        };
        assert!(!fill_and_send(&mut sender), "the first batch");
        assert!(!fill_and_send(&mut sender), "sent with nothing waiting");
        assert!(fill_and_send(&mut sender), "sent with two batches waiting");
        // The analyser takes the three batches and hands them back.
        for _ in 0..3 {
            let Ok(Event::Packets(b)) = events.try_recv() else {
                panic!("no batch")
            };
            backlog.taken();
            spent_tx.send(b).unwrap();
        }
        assert!(
            fill_and_send(&mut sender),
            "sent with three batches waiting"
        );
        assert!(
            !fill_and_send(&mut sender),
            "sent after the analyser caught up"
        );
        // What the analyser receives: the decoded batch carries segments, the other not.
        let decoded: Vec<bool> = std::iter::from_fn(|| match events.try_recv() {
            Ok(Event::Packets(b)) => Some(b.packets().all(|p| p.segment.is_some())),
            _ => None,
        })
        .collect();
        assert_eq!(decoded, [true, false]);
    }

    #[test]
    fn batches_are_bounded_and_reused() {
        let mut b = Batch::default();
        let bytes = vec![7u8; 1500];
        let frame = Frame {
            number: 1,
            ts: Timestamp(5),
            link: LinkType::ETHERNET,
            data: &bytes,
            orig_len: 1500,
        };
        b.push(&frame);
        b.push(&frame);
        let frames: Vec<_> = b.packets().map(|p| p.frame).collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].data, &bytes[..]);
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.packets().count(), 0);
    }

    #[test]
    fn a_reading_thread_that_dies_is_an_error_not_an_end() {
        let mut ra = ReadAhead::spawn(|events, _, _| {
            let _ = events.send(Event::Opened {
                source: "cap.pcap".to_string(),
            });
            panic!("reader bug");
        })
        .unwrap();
        assert!(matches!(ra.next_event(), Some(Event::Opened { .. })));
        match ra.next_event() {
            Some(Event::Failed(e)) => assert_eq!(
                e.to_string(),
                "cap.pcap: read error at byte 0 (before the first packet): the reading thread \
                 stopped unexpectedly (a bug: please report it)"
            ),
            other => panic!("{other:?}"),
        }
        assert!(ra.next_event().is_none());
    }

    #[test]
    fn stops_when_the_analyser_goes_away() {
        // 50 inputs, 49 of them told as the same as the first.
        let sources = vec![fixture("sample-m365.pcapng"); 50];
        let mut ra = ReadAhead::start(sources).unwrap();
        assert!(matches!(ra.next_event(), Some(Event::OpenFailed(_))));
        // Mid-way, blocked on a full channel: it stops and is joined.
        assert!(ra.stop());
    }

    #[test]
    fn interleaved_inputs_give_the_same_events_as_merging_directly() {
        // Two captures that overlap in time, each cut in two by direction-free halves: every
        // other packet of each fixture, so the merge switches input at nearly every packet.
        let dir = tempfile::tempdir().unwrap();
        let mut sources = Vec::new();
        for name in ["tls10-exchange.pcap", "tls13-teams.pcap"] {
            let Opened { mut reader, .. } = inputs::open(&fixture(name)).unwrap();
            let mut halves = [Vec::new(), Vec::new()];
            let mut i = 0;
            while let Some(f) = reader.next_frame().unwrap() {
                halves[i % 2].push(crate::synth::Packet {
                    ts_nanos: f.ts.0,
                    frame: f.data.to_vec(),
                });
                i += 1;
            }
            for (h, packets) in halves.iter().enumerate() {
                let path = dir.path().join(format!("{name}.{h}"));
                let mut out = Vec::new();
                crate::synth::write_pcap(&mut out, packets).unwrap();
                std::fs::write(&path, out).unwrap();
                sources.push(Source::File(path));
            }
        }
        let want = direct(&sources);
        assert_eq!(ahead(&sources), want);
        let packets = want
            .iter()
            .filter(|s| matches!(s, Seen::Packet(..)))
            .count();
        assert_eq!(packets, 36);
        assert!(errors(&want).is_empty());
    }
}
