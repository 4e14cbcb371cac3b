//! `read`'s inputs merged into one stream of packets in capture-time order, as `mergecap`
//! does, told to an [`InputVisitor`] as they are found ([`read_merged`]).
//!
//! Promises:
//! - a k-way merge on the timestamp of each input's next packet; equal timestamps go in input
//!   order (the order of [`super::inputs::expand`]). Inside one input nothing is reordered:
//!   where its timestamps go backwards its packets still come in file order, since only the
//!   inputs' next packets are compared;
//! - inputs that do not overlap in time are read one after the other, whole, in the order of
//!   their first packets: given in time order (a rotated set), exactly their concatenation;
//! - an input with the same bytes as an earlier one ([`same_content`]) is not read: it is
//!   told as `open_failed` with [`ReadError::SameContent`];
//! - open files: first each input is opened in turn, its first timestamp read, and closed
//!   again (one at a time); while merging, an input is open from when the merge reaches its
//!   first packet until its last one is taken. At most open at once: the inputs whose time
//!   spans overlap at one instant, plus standard input and pipes (they cannot be opened twice,
//!   so they stay open from the first look). A rotated set that does not overlap: one file;
//! - memory: one reader (its buffer, its decompressor) per open input and one packet held per
//!   input waiting its turn. A packet is copied only when the merge switches to another input.

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

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::ops::ControlFlow;

use super::inputs::{open, open_counted, same_content, Consumed, Opened};
use super::offline::{ReadError, Source};
use super::{Frame, LinkType, Timestamp};

/// Whether reading goes on: `Break` stops it.
pub type Go = ControlFlow<()>;

/// What merging the inputs finds, told as it is found (see [`read_merged`]).
pub trait InputVisitor {
    /// An input could not be opened, or holds the same bytes as an earlier one
    /// ([`ReadError::SameContent`]): nothing of it is read.
    fn open_failed(&mut self, error: ReadError) -> Go;
    /// An input was opened: its packets are among those that follow, until its `ended`.
    fn opened(&mut self, source: &str) -> Go;
    /// The next packet, of whichever input; `consumed` is the bytes read of its own input.
    fn frame(&mut self, frame: &Frame<'_>, consumed: &Consumed) -> Go;
    /// An input ended: read to its end, or this error after the packets before it.
    fn ended(&mut self, source: &str, end: Result<(), ReadError>) -> Go;
}

/// Reads every input, merged by packet timestamp, telling `visitor` what it finds, until the
/// end or until the visitor says stop. `total` counts the bytes read of all inputs (progress).
pub fn read_merged(sources: &[Source], total: &Consumed, visitor: &mut impl InputVisitor) {
    let _ = merge(sources, total, visitor);
}

/// Where the merge stands in one input: `(timestamp, input index)` of its next packet.
type Key = (Timestamp, usize);

/// One packet kept out of its reader's buffer while other inputs go first.
#[derive(Debug)]
struct Held {
    number: u64,
    ts: Timestamp,
    link: LinkType,
    orig_len: u32,
    data: Vec<u8>,
}

impl Held {
    fn new() -> Held {
        Held {
            number: 0,
            ts: Timestamp(0),
            link: LinkType::ETHERNET,
            orig_len: 0,
            data: Vec::new(),
        }
    }

    fn hold(&mut self, frame: &Frame<'_>) {
        self.number = frame.number;
        self.ts = frame.ts;
        self.link = frame.link;
        self.orig_len = frame.orig_len;
        self.data.clear();
        self.data.extend_from_slice(frame.data);
    }

    fn frame(&self) -> Frame<'_> {
        Frame {
            number: self.number,
            ts: self.ts,
            link: self.link,
            data: &self.data,
            orig_len: self.orig_len,
        }
    }
}

/// An input open in the merge.
struct Open {
    /// Place in the input order: breaks ties between equal timestamps.
    index: usize,
    opened: Opened,
    /// Its next packet, while it waits for its turn.
    held: Held,
}

/// An open input whose next packet is held, ordered so that the heap's top is the earliest.
struct Waiting(Box<Open>);

impl Waiting {
    fn key(&self) -> Key {
        (self.0.held.ts, self.0.index)
    }
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Waiting {}

impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> Ordering {
        // `BinaryHeap` is a max-heap: the earliest key must compare greatest.
        other.key().cmp(&self.key())
    }
}

/// An input the merge has not reached yet, after the first look at it.
struct Ahead {
    index: usize,
    /// Timestamp of its first packet.
    first: Timestamp,
    source: Source,
    /// Standard input or a pipe, kept open since the first look, its first packet held.
    kept: Option<Box<Open>>,
}

impl Ahead {
    fn key(&self) -> Key {
        (self.first, self.index)
    }
}

fn merge(sources: &[Source], total: &Consumed, visitor: &mut impl InputVisitor) -> Go {
    let mut ahead = first_look(sources, total, visitor)?;
    // Earliest last, to be popped first.
    ahead.sort_by_key(|a| Reverse(a.key()));
    let mut waiting: BinaryHeap<Waiting> = BinaryHeap::new();
    let mut current: Option<Box<Open>> = None;
    loop {
        if let Some(open) = current.take() {
            let bound = match (
                waiting.peek().map(Waiting::key),
                ahead.last().map(Ahead::key),
            ) {
                (Some(w), Some(a)) => Some(w.min(a)),
                (w, a) => w.or(a),
            };
            if let Some(open) = read_on(open, bound, visitor)? {
                waiting.push(Waiting(open));
            }
        }
        let take_waiting = match (waiting.peek(), ahead.last()) {
            (None, None) => return Go::Continue(()),
            (Some(w), a) => a.is_none_or(|a| w.key() < a.key()),
            (None, Some(_)) => false,
        };
        if take_waiting {
            if let Some(Waiting(open)) = waiting.pop() {
                visitor.frame(&open.held.frame(), &open.opened.consumed)?;
                current = Some(open);
            }
        } else if let Some(next) = ahead.pop() {
            match next.kept {
                Some(open) => {
                    visitor.opened(open.opened.reader.source())?;
                    visitor.frame(&open.held.frame(), &open.opened.consumed)?;
                    current = Some(open);
                }
                None => match open_counted(&next.source, total) {
                    Ok(opened) => {
                        visitor.opened(opened.reader.source())?;
                        current = Some(Box::new(Open {
                            index: next.index,
                            opened,
                            held: Held::new(),
                        }));
                    }
                    Err(e) => visitor.open_failed(e)?,
                },
            }
        }
    }
}

/// Hands on the packets of `open` while they come before `bound` (the earliest next packet of
/// the other inputs); returns the input with its next packet held when it no longer does,
/// `None` when it ended.
fn read_on(
    mut open: Box<Open>,
    bound: Option<Key>,
    visitor: &mut impl InputVisitor,
) -> ControlFlow<(), Option<Box<Open>>> {
    loop {
        match open.opened.reader.next_frame() {
            Ok(Some(frame)) => {
                if bound.is_none_or(|b| (frame.ts, open.index) < b) {
                    visitor.frame(&frame, &open.opened.consumed)?;
                    continue;
                }
                open.held.hold(&frame);
                return ControlFlow::Continue(Some(open));
            }
            Ok(None) => {
                visitor.ended(open.opened.reader.source(), Ok(()))?;
                return ControlFlow::Continue(None);
            }
            Err(e) => {
                visitor.ended(open.opened.reader.source(), Err(e))?;
                return ControlFlow::Continue(None);
            }
        }
    }
}

/// Opens each input in turn for the timestamp of its first packet. Inputs that are the same
/// as an earlier one, cannot be opened or hold no packet are told about here, in input order;
/// the others are returned, closed again unless they cannot be opened twice.
fn first_look(
    sources: &[Source],
    total: &Consumed,
    visitor: &mut impl InputVisitor,
) -> ControlFlow<(), Vec<Ahead>> {
    let same = same_content(sources);
    let mut ahead = Vec::with_capacity(sources.len());
    for (index, source) in sources.iter().enumerate() {
        if let Some(original) = same.get(index).copied().flatten() {
            let original = sources.get(original).map(ToString::to_string);
            visitor.open_failed(ReadError::SameContent {
                source: source.to_string(),
                original: original.unwrap_or_default(),
            })?;
            continue;
        }
        let reopenable = match source {
            Source::File(path) => std::fs::metadata(path).is_ok_and(|m| m.is_file()),
            Source::Stdin => false,
        };
        // What is read of a file opened twice counts once, at the second opening.
        let opened = if reopenable {
            open(source)
        } else {
            open_counted(source, total)
        };
        let mut opened = match opened {
            Ok(opened) => opened,
            Err(e) => {
                visitor.open_failed(e)?;
                continue;
            }
        };
        let mut held = Held::new();
        let end = match opened.reader.next_frame() {
            Ok(Some(frame)) => {
                held.hold(&frame);
                None
            }
            Ok(None) => Some(Ok(())),
            Err(e) => Some(Err(e)),
        };
        match end {
            None => ahead.push(Ahead {
                index,
                first: held.ts,
                source: source.clone(),
                kept: (!reopenable).then(|| {
                    Box::new(Open {
                        index,
                        opened,
                        held,
                    })
                }),
            }),
            // No packet to merge: the input is told about now.
            Some(end) => {
                visitor.opened(opened.reader.source())?;
                visitor.ended(opened.reader.source(), end)?;
            }
        }
    }
    ControlFlow::Continue(ahead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{write_pcap, Packet};
    use std::path::Path;

    /// What a visitor was told, one line per call.
    #[derive(Default)]
    struct Log(Vec<String>);

    impl InputVisitor for Log {
        fn open_failed(&mut self, error: ReadError) -> Go {
            self.0.push(format!("failed {error}"));
            Go::Continue(())
        }
        fn opened(&mut self, source: &str) -> Go {
            self.0.push(format!("opened {}", name(source)));
            Go::Continue(())
        }
        fn frame(&mut self, frame: &Frame<'_>, _: &Consumed) -> Go {
            // The frame's bytes are its input's letter and its number there.
            let text = String::from_utf8_lossy(frame.data);
            self.0
                .push(format!("{} {text}#{}", frame.ts.0, frame.number));
            Go::Continue(())
        }
        fn ended(&mut self, source: &str, end: Result<(), ReadError>) -> Go {
            self.0.push(match end {
                Ok(()) => format!("ended {}", name(source)),
                Err(e) => format!("ended {} with error {e}", name(source)),
            });
            Go::Continue(())
        }
    }

    fn name(source: &str) -> &str {
        Path::new(source)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(source)
    }

    /// A capture in `dir` named `name` whose packets have these timestamps; each packet's
    /// bytes are the name (so the log tells them apart).
    fn capture(dir: &Path, name: &str, times: &[i64]) -> Source {
        let packets: Vec<Packet> = times
            .iter()
            .map(|&ts_nanos| Packet {
                ts_nanos,
                frame: name.as_bytes().to_vec(),
            })
            .collect();
        let path = dir.join(name);
        let mut out = Vec::new();
        write_pcap(&mut out, &packets).unwrap();
        std::fs::write(&path, out).unwrap();
        Source::File(path)
    }

    fn merged(sources: &[Source]) -> Vec<String> {
        let mut log = Log::default();
        read_merged(sources, &Consumed::default(), &mut log);
        log.0
    }

    #[test]
    fn packets_interleave_by_timestamp_ties_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = capture(dir.path(), "a", &[10, 20, 30, 40]);
        let b = capture(dir.path(), "b", &[15, 20, 35]);
        assert_eq!(
            merged(&[a, b]),
            [
                "opened a", "10 a#1", "opened b", "15 b#1", "20 a#2", "20 b#2", "30 a#3", "35 b#3",
                "ended b", "40 a#4", "ended a"
            ]
        );
    }

    #[test]
    fn inputs_apart_in_time_are_read_whole_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let late = capture(dir.path(), "late", &[50, 60]);
        let early = capture(dir.path(), "early", &[10, 20, 50]);
        assert_eq!(
            merged(&[late, early]),
            [
                "opened early",
                "10 early#1",
                "20 early#2",
                // A tie with a later input's first packet: input order (late was given first).
                "opened late",
                "50 late#1",
                "50 early#3",
                "ended early",
                "60 late#2",
                "ended late"
            ]
        );
    }

    #[test]
    fn timestamps_going_back_inside_an_input_keep_its_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = capture(dir.path(), "a", &[10, 40, 20, 50]);
        let b = capture(dir.path(), "b", &[30]);
        assert_eq!(
            merged(&[a, b]),
            [
                "opened a", "10 a#1", "opened b", "30 b#1", "ended b", "40 a#2", "20 a#3",
                "50 a#4", "ended a"
            ]
        );
    }

    #[test]
    fn empty_unreadable_and_repeated_inputs_are_told_first_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = capture(dir.path(), "a", &[10]);
        let empty = capture(dir.path(), "empty", &[]);
        let text = dir.path().join("text");
        std::fs::write(&text, "not a capture").unwrap();
        let copy = dir.path().join("copy");
        std::fs::copy(dir.path().join("a"), &copy).unwrap();
        let a_again = Source::File(dir.path().join(".").join("a"));
        let log = merged(&[
            a.clone(),
            empty,
            Source::File(text),
            Source::File(copy),
            a_again,
        ]);
        let d = dir.path().display();
        assert_eq!(
            log,
            [
                "opened empty".to_string(),
                "ended empty".to_string(),
                format!("failed {d}/text: not a pcap or pcapng capture (unknown file format)"),
                format!("failed {d}/copy: same content as {d}/a: read once"),
                format!("failed {d}/./a: same content as {d}/a: read once"),
                "opened a".to_string(),
                "10 a#1".to_string(),
                "ended a".to_string(),
            ]
        );
    }

    #[test]
    fn a_rotated_set_is_read_one_file_at_a_time() {
        // Counted through the merge's own state: never more than one input open or waiting.
        let dir = tempfile::tempdir().unwrap();
        let sources: Vec<Source> = (0..50)
            .map(|i| capture(dir.path(), &format!("cap{i}"), &[i * 10, i * 10 + 5]))
            .collect();
        struct MaxOpen {
            open: usize,
            max: usize,
            packets: usize,
        }
        impl InputVisitor for MaxOpen {
            fn open_failed(&mut self, e: ReadError) -> Go {
                panic!("{e}")
            }
            fn opened(&mut self, _: &str) -> Go {
                self.open += 1;
                self.max = self.max.max(self.open);
                Go::Continue(())
            }
            fn frame(&mut self, _: &Frame<'_>, _: &Consumed) -> Go {
                self.packets += 1;
                Go::Continue(())
            }
            fn ended(&mut self, _: &str, end: Result<(), ReadError>) -> Go {
                end.unwrap();
                self.open -= 1;
                Go::Continue(())
            }
        }
        let mut v = MaxOpen {
            open: 0,
            max: 0,
            packets: 0,
        };
        // Given in reverse: still read in time order, one at a time.
        let reversed: Vec<Source> = sources.iter().rev().cloned().collect();
        read_merged(&reversed, &Consumed::default(), &mut v);
        assert_eq!((v.max, v.packets, v.open), (1, 100, 0));
    }

    #[test]
    fn a_damaged_input_ends_with_its_error_the_others_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let a = capture(dir.path(), "a", &[10, 30, 50]);
        let b = capture(dir.path(), "b", &[20, 40]);
        let Source::File(path) = &a else { panic!() };
        let bytes = std::fs::read(path).unwrap();
        // Cut inside the third record: two packets, then the error.
        std::fs::write(path, &bytes[..bytes.len() - 2]).unwrap();
        let log = merged(&[a, b]);
        assert_eq!(
            &log[..5],
            ["opened a", "10 a#1", "opened b", "20 b#1", "30 a#2"]
        );
        assert!(
            log[5].starts_with("ended a with error ") && log[5].contains("after packet 2"),
            "{log:?}"
        );
        assert_eq!(&log[6..], ["40 b#2", "ended b"]);
    }

    #[test]
    fn held_packets_keep_every_field() {
        let mut held = Held::new();
        let data = [1u8, 2, 3];
        let frame = Frame {
            number: 7,
            ts: Timestamp(-5),
            link: LinkType::RAW,
            data: &data,
            orig_len: 1500,
        };
        held.hold(&frame);
        let back = held.frame();
        assert_eq!(
            (back.number, back.ts, back.link, back.data, back.orig_len),
            (7, Timestamp(-5), LinkType::RAW, &data[..], 1500)
        );
    }
}
