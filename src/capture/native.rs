//! Saved captures without libpcap: classic pcap and pcapng parsed with `pcap-parser` from any
//! byte stream (a file or standard input).
//!
//! Unlike libpcap's offline reader ([`super::offline`]) this one
//! - reads a pcapng whose interfaces have different link types, as Wireshark and mergecap write
//!   them: each [`Frame`] carries its own interface's link type, and its timestamp follows that
//!   interface's `if_tsresol` (a power of 10 or of 2) and `if_tsoffset`;
//! - lends each packet straight from its buffer, without copying it;
//! - names the byte offset, and the number of good packets before it, of any damage.
//!
//! Promises:
//! - the format is told by its magic number, never by the file name;
//! - memory is one buffer of 1 MiB that grows only to hold a longer block, up to [`MAX_BLOCK`];
//!   a block claiming more is an error, not an allocation; a section describes at most
//!   [`MAX_INTERFACES`] interfaces (an IDB beyond is damage);
//! - no packet is longer than [`MAX_CAPLEN`] or its interface's snap length (an error names it);
//! - nothing in the input can make it panic; [`NativeReader::bytes_read`] is the exact offset
//!   of the first byte not yet read.
//!
//! Formats: classic pcap (draft-ietf-opsawg-pcap) in both byte orders, with microsecond
//! (`a1b2c3d4`) or nanosecond (`a1b23c4d`) timestamps; pcapng (draft-ietf-opsawg-pcapng) with
//! several sections in either byte order, Enhanced, Simple and obsolete Packet Blocks (its
//! Appendix A); other blocks (name resolution, statistics, secrets, custom, unknown) are
//! skipped unread.

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

use std::io::{self, Cursor, Read};
use std::sync::{Arc, Mutex};

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{
    Block, LegacyPcapReader, OptionCode, PcapBlockOwned, PcapError, PcapNGOption, PcapNGReader,
};

use super::offline::{ReadError, Source};
use super::{Frame, LinkType, Timestamp};
use crate::report::atomic::io_reason;

/// The buffer's first size: many packets per `read`, and small enough that the bytes a
/// `read` brings in are still in the CPU's cache when they are framed and copied (1 MiB was
/// 7 % slower on the 1 GiB workload than 256 KiB). It grows for a larger block.
const INITIAL_BUFFER: usize = 1 << 18;
/// The longest pcapng block accepted (libpcap's default limit is 16 MiB); longer is damage.
pub const MAX_BLOCK: u32 = 64 << 20;
/// The longest packet accepted: libpcap's MAXIMUM_SNAPLEN (262144).
pub const MAX_CAPLEN: u32 = 256 << 10;
/// The most interfaces a pcapng section may describe (16 bytes each: 1 MiB). The obsolete
/// Packet Block numbers interfaces in 16 bits, and no capture tool writes more; an Interface
/// Description Block beyond is damage (reading stops there, the packets before it count), so
/// that a small file of millions of IDBs cannot fill memory.
pub const MAX_INTERFACES: usize = 1 << 16;

/// Classic pcap file header and record header lengths.
const PCAP_HEADER: usize = 24;
const PCAP_RECORD: usize = 16;

// pcapng block types (draft-ietf-opsawg-pcapng section 11.1).
const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
/// The obsolete Packet Block (Appendix A): an EPB with a 16-bit interface and a drop count.
const PB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const NRB: u32 = 0x0000_0004;
const ISB: u32 = 0x0000_0005;
const EPB: u32 = 0x0000_0006;
const DSB: u32 = 0x0000_000A;
/// The Section Header Block's byte-order magic, as written by the section's own byte order.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// One capture interface: a pcapng IDB, or the classic pcap file header.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// Longest packet allowed: the snap length, 0 and anything above [`MAX_CAPLEN`] mean
    /// [`MAX_CAPLEN`].
    snaplen: u32,
    /// `if_tsresol`: 10^-n seconds per unit, or 2^-(n & 0x7f) with the top bit set.
    tsresol: u8,
    /// `if_tsoffset`: seconds added to every timestamp.
    tsoffset: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pcap,
    Pcapng,
}

/// The kind of a packet record or block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Record,
    Enhanced,
    Simple,
    Obsolete,
}

/// What comes next in the buffer, checked and complete.
#[derive(Debug, Clone, Copy)]
enum Step {
    End,
    Packet(usize, Kind),
    Section(usize),
    Interface(usize),
    Skip(usize),
}

/// A saved capture being read natively, one packet at a time.
pub struct NativeReader {
    source: String,
    reader: Box<dyn PcapReaderIterator + Send>,
    /// The last I/O error of the input, which `pcap-parser` reports without its reason.
    failure: Arc<Mutex<Option<String>>>,
    capacity: usize,
    format: Format,
    /// Byte order of the file (pcap) or of the current section (pcapng).
    big_endian: bool,
    /// pcap: the file's one interface; pcapng: the current section's interfaces, by id.
    interfaces: Vec<Interface>,
    packets: u64,
    /// File offset of the first byte not yet read (the start of the unconsumed buffer, plus
    /// `pending`).
    offset: u64,
    /// Length of the packet lent by the last `next_frame`, released at the next call.
    pending: usize,
}

impl std::fmt::Debug for NativeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeReader")
            .field("source", &self.source)
            .field("format", &self.format)
            .field("packets", &self.packets)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl NativeReader {
    /// Opens a capture file or standard input; fails if it is not a capture or if every
    /// interface described before its first packet has an unsupported link type.
    pub fn open(source: &Source) -> Result<NativeReader, ReadError> {
        NativeReader::from_reader(source.to_string(), source.open_bytes()?)
    }

    /// Reads a capture from any byte stream; `name` is what messages call it.
    pub fn from_reader<R: Read + Send + 'static>(
        name: impl Into<String>,
        input: R,
    ) -> Result<NativeReader, ReadError> {
        let name = name.into();
        let failure = Arc::new(Mutex::new(None));
        let mut input = Input {
            inner: Box::new(input),
            failure: Arc::clone(&failure),
        };
        let open_error = |reason: String| ReadError::Open {
            source: name.clone(),
            reason,
        };
        let mut magic = [0u8; 4];
        let got = read_up_to(&mut input, &mut magic).map_err(|e| open_error(io_reason(&e)))?;
        if got == 0 {
            return Err(open_error(
                "empty file: not a pcap or pcapng capture".to_string(),
            ));
        }
        if got == magic.len() && magic == SHB.to_be_bytes() {
            NativeReader::open_pcapng(name, input, failure)
        } else if got == magic.len() && is_pcap_magic(magic) {
            NativeReader::open_pcap(name, input, failure, magic)
        } else {
            // Not a capture: read a little more to say what it is instead.
            let mut head = [0u8; IDENTIFY_BYTES];
            let (known, rest) = head.split_at_mut(got.min(magic.len()));
            known.copy_from_slice(magic.get(..got).unwrap_or_default());
            let more = read_up_to(&mut input, rest).unwrap_or(0);
            let head = head.get(..got + more).unwrap_or_default();
            Err(open_error(not_a_capture(head)))
        }
    }

    fn open_pcap(
        name: String,
        mut input: Input,
        failure: Arc<Mutex<Option<String>>>,
        magic: [u8; 4],
    ) -> Result<NativeReader, ReadError> {
        let mut header = magic.to_vec();
        header.resize(PCAP_HEADER, 0);
        let mut got = magic.len();
        if let Some(rest) = header.get_mut(magic.len()..) {
            got += read_up_to(&mut input, rest).map_err(|e| ReadError::Open {
                source: name.clone(),
                reason: io_reason(&e),
            })?;
        }
        if got < PCAP_HEADER {
            return Err(ReadError::CutShort {
                source: name,
                after_packet: 0,
                start: 0,
                end: got as u64,
                what: format!("{PCAP_HEADER}-byte file header"),
            });
        }
        let reader = LegacyPcapReader::new(INITIAL_BUFFER, Cursor::new(header).chain(input))
            .map_err(|e| damaged_at(&name, 0, 0, parse_failure("file header", &e)))?;
        let mut native = NativeReader {
            source: name,
            reader: Box::new(reader),
            failure,
            capacity: INITIAL_BUFFER,
            format: Format::Pcap,
            big_endian: false,
            interfaces: Vec::new(),
            packets: 0,
            offset: 0,
            pending: 0,
        };
        let header = match native.reader.next() {
            Ok((PCAP_HEADER, PcapBlockOwned::LegacyHeader(h))) => Ok(h),
            Ok(_) => Err("file header could not be parsed".to_string()),
            Err(e) => Err(parse_failure("file header", &e)),
        }
        .map_err(|what| native.damaged(what))?;
        native.advance(PCAP_HEADER);
        native.big_endian = header.is_bigendian();
        // The upper 16 bits hold the FCS length and reserved flags, not the link type.
        let link = LinkType(header.network.0 & 0xFFFF);
        native.interfaces.push(Interface {
            link,
            snaplen: effective_snaplen(header.snaplen),
            tsresol: if header.is_nanosecond_precision() {
                9
            } else {
                6
            },
            tsoffset: 0,
        });
        if !link.is_supported() {
            return Err(ReadError::UnsupportedLink {
                source: native.source,
                link,
            });
        }
        Ok(native)
    }

    fn open_pcapng(
        name: String,
        mut input: Input,
        failure: Arc<Mutex<Option<String>>>,
    ) -> Result<NativeReader, ReadError> {
        let io_error = |e: io::Error| ReadError::Open {
            source: name.clone(),
            reason: io_reason(&e),
        };
        // Block type, length and byte-order magic: enough to know how long the SHB is.
        let mut head = SHB.to_be_bytes().to_vec();
        head.resize(12, 0);
        let mut got = 4;
        if let Some(rest) = head.get_mut(4..) {
            got += read_up_to(&mut input, rest).map_err(io_error)?;
        }
        let cut_short = |got: usize, what: String| ReadError::CutShort {
            source: name.clone(),
            after_packet: 0,
            start: 0,
            end: got as u64,
            what,
        };
        if got < head.len() {
            return Err(cut_short(got, "Section Header Block".to_string()));
        }
        let big = match u32_at(&head, 8, false) {
            Some(BYTE_ORDER_MAGIC) => false,
            Some(m) if m == BYTE_ORDER_MAGIC.swap_bytes() => true,
            m => {
                return Err(ReadError::Open {
                    source: name,
                    reason: format!(
                        "starts like a pcapng but its byte-order magic is 0x{:08x}, neither \
                         0x1a2b3c4d nor 0x4d3c2b1a: a damaged pcapng, or not a capture",
                        m.unwrap_or(0)
                    ),
                })
            }
        };
        let len = u32_at(&head, 4, big).unwrap_or(0);
        if let Some(what) = bad_block_length(SHB, len) {
            return Err(damaged_at(&name, 0, 0, what));
        }
        let size = len as usize;
        head.resize(size, 0);
        if let Some(rest) = head.get_mut(got..) {
            got += read_up_to(&mut input, rest).map_err(io_error)?;
        }
        if got < size {
            return Err(cut_short(got, format!("{len}-byte Section Header Block")));
        }
        // The whole SHB is the first read of the reader: `pcap-parser` checks it right away.
        let capacity = INITIAL_BUFFER.max(size);
        let reader = PcapNGReader::new(capacity, Cursor::new(head).chain(input))
            .map_err(|e| damaged_at(&name, 0, 0, parse_failure("Section Header Block", &e)))?;
        let mut native = NativeReader {
            source: name,
            reader: Box::new(reader),
            failure,
            capacity,
            format: Format::Pcapng,
            big_endian: big,
            interfaces: Vec::new(),
            packets: 0,
            offset: 0,
            pending: 0,
        };
        native.lead_in()?;
        // Refused like a classic pcap of an unsupported link type, so the caller can tell
        // "nothing to read here" from "read, with packets the decoder cannot use".
        if let Some(first) = native.interfaces.first() {
            if native.interfaces.iter().all(|i| !i.link.is_supported()) {
                return Err(ReadError::UnsupportedLink {
                    source: native.source,
                    link: first.link,
                });
            }
        }
        Ok(native)
    }

    /// Reads the blocks before the first packet block (section and interface descriptions),
    /// stopping at its header: a damaged or cut-short packet is `next_frame`'s to report.
    fn lead_in(&mut self) -> Result<(), ReadError> {
        loop {
            if !self.fill(8)? {
                return Ok(());
            }
            let block_type = u32_at(self.reader.data(), 0, self.big_endian).unwrap_or(0);
            if matches!(block_type, EPB | SPB | PB) {
                return Ok(());
            }
            match self.step()? {
                Step::End | Step::Packet(..) => return Ok(()),
                Step::Section(size) => self.take_section(size)?,
                Step::Interface(size) => self.take_interface(size)?,
                Step::Skip(size) => self.advance(size),
            }
        }
    }

    /// The input's name, as messages give it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Packets read so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Bytes of the input read so far: the exact offset of the first byte not yet read.
    pub fn bytes_read(&self) -> u64 {
        self.offset
    }

    /// The next packet, `Ok(None)` at the end of the capture.
    ///
    /// `Frame::link` is the link type of the packet's own interface: a pcapng may mix them.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, ReadError> {
        if self.pending > 0 {
            // Not `consume`: it moves the unread data to the buffer's start every time half
            // the buffer is used (a copy of every byte read). `refill` moves only the unread
            // tail, and only when more bytes are needed.
            self.reader.consume_noshift(self.pending);
            self.pending = 0;
        }
        loop {
            match self.step()? {
                Step::End => return Ok(None),
                Step::Packet(size, kind) => return self.take_packet(size, kind),
                Step::Section(size) => self.take_section(size)?,
                Step::Interface(size) => self.take_interface(size)?,
                Step::Skip(size) => self.advance(size),
            }
        }
    }

    /// Makes sure the next record or block is whole in the buffer and sane, and says what it
    /// is. Consumes nothing.
    fn step(&mut self) -> Result<Step, ReadError> {
        match self.format {
            Format::Pcap => self.step_pcap(),
            Format::Pcapng => self.step_pcapng(),
        }
    }

    fn step_pcap(&mut self) -> Result<Step, ReadError> {
        if !self.fill(PCAP_RECORD)? {
            return if self.reader.data().is_empty() {
                Ok(Step::End)
            } else {
                Err(self.cut_short(format!("{PCAP_RECORD}-byte record header")))
            };
        }
        let caplen = u32_at(self.reader.data(), 8, self.big_endian).unwrap_or(0);
        let snaplen = self.interfaces.first().map_or(MAX_CAPLEN, |i| i.snaplen);
        self.check_caplen(caplen, snaplen)?;
        let size = PCAP_RECORD + caplen as usize;
        if !self.fill(size)? {
            return Err(self.cut_short(format!(
                "{PCAP_RECORD}-byte record header + {caplen}-byte packet"
            )));
        }
        Ok(Step::Packet(size, Kind::Record))
    }

    fn step_pcapng(&mut self) -> Result<Step, ReadError> {
        // Type, length, and for an SHB its byte-order magic; no block is shorter.
        if !self.fill(12)? {
            return if self.reader.data().is_empty() {
                Ok(Step::End)
            } else {
                Err(self.cut_short("block header".to_string()))
            };
        }
        let head = self.reader.data();
        let is_section = head.get(..4) == Some(&SHB.to_be_bytes()[..]);
        let big = if is_section {
            match u32_at(head, 8, false) {
                Some(BYTE_ORDER_MAGIC) => false,
                Some(m) if m == BYTE_ORDER_MAGIC.swap_bytes() => true,
                m => {
                    return Err(self.damaged(format!(
                        "Section Header Block has an unknown byte-order magic 0x{:08x}",
                        m.unwrap_or(0).swap_bytes()
                    )))
                }
            }
        } else {
            self.big_endian
        };
        let block_type = if is_section {
            SHB
        } else {
            u32_at(head, 0, big).unwrap_or(0)
        };
        let len = u32_at(head, 4, big).unwrap_or(0);
        if let Some(what) = bad_block_length(block_type, len) {
            return Err(self.damaged(what));
        }
        let name = block_name(block_type);
        let size = len as usize;
        if !self.fill(size)? {
            return Err(self.cut_short(format!("{len}-byte {name}")));
        }
        let block = self.reader.data();
        let trailer = u32_at(block, size - 4, big).unwrap_or(0);
        if trailer != len {
            return Err(self.damaged(format!(
                "{name} length is {len} at its start but {trailer} at its end"
            )));
        }
        match block_type {
            SHB => Ok(Step::Section(size)),
            IDB => Ok(Step::Interface(size)),
            EPB => {
                let if_id = u32_at(block, 8, big).unwrap_or(0);
                let caplen = u32_at(block, 20, big).unwrap_or(0);
                self.check_packet_block(if_id, caplen, len, name)?;
                Ok(Step::Packet(size, Kind::Enhanced))
            }
            PB => {
                let if_id = u16_at(block, 8, big).unwrap_or(0);
                let caplen = u32_at(block, 20, big).unwrap_or(0);
                self.check_packet_block(u32::from(if_id), caplen, len, name)?;
                Ok(Step::Packet(size, Kind::Obsolete))
            }
            SPB => {
                // Its captured length is min(original length, snap length, room): never wrong.
                if self.interfaces.is_empty() {
                    return Err(self.damaged(format!(
                        "packet {} is in a Simple Packet Block, but the section describes no \
                         interface",
                        self.packets + 1
                    )));
                }
                Ok(Step::Packet(size, Kind::Simple))
            }
            _ => Ok(Step::Skip(size)),
        }
    }

    /// EPB and obsolete PB: a known interface, and a captured length that fits the block and
    /// the limits.
    fn check_packet_block(
        &self,
        if_id: u32,
        caplen: u32,
        len: u32,
        name: &str,
    ) -> Result<(), ReadError> {
        let number = self.packets + 1;
        let Some(interface) = self.interfaces.get(if_id as usize) else {
            let described = match self.interfaces.len() {
                0 => "no interface".to_string(),
                1 => "only 1 interface".to_string(),
                n => format!("only {n} interfaces"),
            };
            return Err(self.damaged(format!(
                "packet {number} is on interface {if_id}, but the section describes {described}"
            )));
        };
        // Both block kinds have 28 bytes before the packet and the 4-byte trailer after it.
        if u64::from(caplen).next_multiple_of(4) + 32 > u64::from(len) {
            return Err(self.damaged(format!(
                "packet {number} claims {caplen} captured bytes, more than its {len}-byte {name} \
                 holds"
            )));
        }
        self.check_caplen(caplen, interface.snaplen)
    }

    fn check_caplen(&self, caplen: u32, snaplen: u32) -> Result<(), ReadError> {
        let number = self.packets + 1;
        if caplen > MAX_CAPLEN {
            Err(self.damaged(format!(
                "packet {number} claims {caplen} captured bytes, more than the maximum of \
                 {MAX_CAPLEN}"
            )))
        } else if caplen > snaplen {
            Err(self.damaged(format!(
                "packet {number} claims {caplen} captured bytes, more than the snap length of \
                 {snaplen}"
            )))
        } else {
            Ok(())
        }
    }

    fn take_section(&mut self, size: usize) -> Result<(), ReadError> {
        let header = match self.reader.next() {
            Ok((n, PcapBlockOwned::NG(Block::SectionHeader(shb)))) if n == size => {
                Ok((shb.major_version, shb.minor_version, shb.big_endian()))
            }
            Ok(_) => Err("Section Header Block could not be parsed".to_string()),
            Err(e) => Err(parse_failure("Section Header Block", &e)),
        };
        let (major, minor, big) = header.map_err(|what| self.damaged(what))?;
        if major != 1 {
            return Err(self.damaged(format!(
                "pcapng version {major}.{minor} is not supported (only 1.x)"
            )));
        }
        self.big_endian = big;
        // Interface ids are per section.
        self.interfaces.clear();
        self.advance(size);
        Ok(())
    }

    fn take_interface(&mut self, size: usize) -> Result<(), ReadError> {
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(self.damaged(format!(
                "the section describes more than {MAX_INTERFACES} interfaces (Interface \
                 Description Block {} of the section); no capture tool writes that many",
                MAX_INTERFACES + 1
            )));
        }
        let big = self.big_endian;
        let interface = match self.reader.next() {
            Ok((n, PcapBlockOwned::NG(Block::InterfaceDescription(idb)))) if n == size => {
                Ok(Interface {
                    link: LinkType(idb.linktype.0),
                    snaplen: effective_snaplen(idb.snaplen),
                    tsresol: option(&idb.options, OptionCode::IfTsresol)
                        .and_then(|v| v.first().copied())
                        .unwrap_or(6),
                    tsoffset: option(&idb.options, OptionCode::IfTsoffset)
                        .and_then(|v| v.get(..8))
                        .and_then(|v| <[u8; 8]>::try_from(v).ok())
                        .map_or(0, |b| {
                            if big {
                                i64::from_be_bytes(b)
                            } else {
                                i64::from_le_bytes(b)
                            }
                        }),
                })
            }
            Ok(_) => Err("Interface Description Block could not be parsed".to_string()),
            Err(e) => Err(parse_failure("Interface Description Block", &e)),
        }
        .map_err(|what| self.damaged(what))?;
        self.interfaces.push(interface);
        self.advance(size);
        Ok(())
    }

    /// Parses the packet checked by `step` and lends it until the next call.
    fn take_packet(&mut self, size: usize, kind: Kind) -> Result<Option<Frame<'_>>, ReadError> {
        let number = self.packets + 1;
        let big = self.big_endian;
        // Only fields other than `reader` below: the frame borrows it.
        let interfaces = &self.interfaces;
        let frame = if let Kind::Record = kind {
            // A classic pcap record, read by hand: `step_pcap` checked its header and that it
            // is whole (16 bytes: seconds, fraction, captured and original length).
            let rec = self.reader.data();
            let field = |at| u32_at(rec, at, big);
            match (interfaces.first(), field(0), field(4), field(8), field(12)) {
                (None, ..) => Err("record without a file header"),
                (Some(i), Some(secs), Some(fraction), Some(caplen), Some(orig_len)) => {
                    let end = PCAP_RECORD + caplen as usize;
                    match rec.get(PCAP_RECORD..end).filter(|_| end == size) {
                        Some(data) => {
                            // Microseconds, or nanoseconds in a nanosecond-resolution file.
                            let nanos = if i.tsresol == 9 {
                                i64::from(fraction)
                            } else {
                                i64::from(fraction) * 1000
                            };
                            Ok(Frame {
                                number,
                                ts: Timestamp::from_secs_nanos(i64::from(secs), nanos),
                                link: i.link,
                                data,
                                orig_len,
                            })
                        }
                        None => Err("record does not match its header"),
                    }
                }
                _ => Err("packet could not be parsed"),
            }
        } else {
            match (kind, self.reader.next()) {
                (Kind::Enhanced, Ok((n, PcapBlockOwned::NG(Block::EnhancedPacket(epb)))))
                    if n == size =>
                {
                    let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                    match (
                        interfaces.get(epb.if_id as usize),
                        epb.data.get(..epb.caplen as usize),
                    ) {
                        (Some(i), Some(data)) => Ok(Frame {
                            number,
                            ts: pcapng_ts(ts, i.tsresol, i.tsoffset),
                            link: i.link,
                            data,
                            orig_len: epb.origlen,
                        }),
                        _ => Err("Enhanced Packet Block does not match its header"),
                    }
                }
                (Kind::Simple, Ok((n, PcapBlockOwned::NG(Block::SimplePacket(spb)))))
                    if n == size =>
                {
                    // No timestamp in an SPB: 0, as libpcap gives.
                    interfaces
                        .first()
                        .and_then(|i| {
                            let caplen = spb.origlen.min(i.snaplen) as usize;
                            let data = spb.data.get(..caplen.min(spb.data.len()))?;
                            Some(Frame {
                                number,
                                ts: Timestamp(0),
                                link: i.link,
                                data,
                                orig_len: spb.origlen,
                            })
                        })
                        .ok_or("Simple Packet Block without an interface")
                }
                (Kind::Obsolete, Ok((n, PcapBlockOwned::NG(Block::Unknown(pb))))) if n == size => {
                    // After type and length: interface (16 bits), drops (16), timestamp high and
                    // low, captured and original length (32 each), then the packet.
                    let body = pb.data;
                    let if_id = u16_at(body, 0, big).unwrap_or(0);
                    let ts_high = u32_at(body, 4, big).unwrap_or(0);
                    let ts_low = u32_at(body, 8, big).unwrap_or(0);
                    let caplen = u32_at(body, 12, big).unwrap_or(0) as usize;
                    let orig_len = u32_at(body, 16, big).unwrap_or(0);
                    match (
                        interfaces.get(usize::from(if_id)),
                        body.get(20..20 + caplen),
                    ) {
                        (Some(i), Some(data)) => Ok(Frame {
                            number,
                            ts: pcapng_ts(
                                (u64::from(ts_high) << 32) | u64::from(ts_low),
                                i.tsresol,
                                i.tsoffset,
                            ),
                            link: i.link,
                            data,
                            orig_len,
                        }),
                        _ => Err("Packet Block does not match its header"),
                    }
                }
                (_, Ok(_)) => Err("packet could not be parsed"),
                (_, Err(_)) => Err("packet could not be parsed"),
            }
        };
        match frame {
            Ok(frame) => {
                self.packets = number;
                self.pending = size;
                self.offset += size as u64;
                Ok(Some(frame))
            }
            Err(what) => Err(damaged_at(
                &self.source,
                self.packets,
                self.offset,
                what.to_string(),
            )),
        }
    }

    /// Drops a record or block that is not lent out.
    fn advance(&mut self, size: usize) {
        self.reader.consume_noshift(size);
        self.offset += size as u64;
    }

    /// Makes at least `n` unread bytes available, growing the buffer to hold them (callers
    /// bound `n` by [`MAX_BLOCK`]); false if the input ends first.
    fn fill(&mut self, n: usize) -> Result<bool, ReadError> {
        while self.reader.data().len() < n {
            if self.reader.reader_exhausted() {
                return Ok(false);
            }
            if self.capacity < n {
                let grown = n.max(self.capacity.saturating_mul(2).min(MAX_BLOCK as usize));
                self.reader.grow(grown);
                self.capacity = grown;
            }
            if self.reader.refill().is_err() {
                let reason = self
                    .failure
                    .lock()
                    .ok()
                    .and_then(|mut slot| slot.take())
                    .unwrap_or_else(|| "read failed".to_string());
                return Err(ReadError::Io {
                    source: self.source.clone(),
                    after_packet: self.packets,
                    offset: self.offset + self.reader.data().len() as u64,
                    reason,
                });
            }
        }
        Ok(true)
    }

    fn damaged(&self, what: String) -> ReadError {
        damaged_at(&self.source, self.packets, self.offset, what)
    }

    /// The input ended inside `what`, which starts at the current offset.
    fn cut_short(&self, what: String) -> ReadError {
        ReadError::CutShort {
            source: self.source.clone(),
            after_packet: self.packets,
            start: self.offset,
            end: self.offset + self.reader.data().len() as u64,
            what,
        }
    }
}

fn damaged_at(source: &str, after_packet: u64, offset: u64, what: String) -> ReadError {
    ReadError::Damaged {
        source: source.to_string(),
        after_packet,
        offset,
        what,
    }
}

/// `pcap-parser`'s complaint, without the bytes it quotes.
fn parse_failure(what: &str, e: &PcapError<&[u8]>) -> String {
    let why = match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("{kind:?}")
        }
        other => other.to_string(),
    };
    format!("{what} could not be parsed ({why})")
}

/// Bytes read from an input that is not a capture, to tell what it is.
pub(super) const IDENTIFY_BYTES: usize = 80;

/// Whether `head`, a file's first bytes (up to [`IDENTIFY_BYTES`]), starts a pcap or pcapng,
/// or a format this reader names with advice ([`not_a_capture`]): a file found in a directory
/// that is none of these is skipped, not reported.
pub(super) fn is_capture_or_named(head: &[u8]) -> bool {
    let magic = head.get(..4).and_then(|m| <[u8; 4]>::try_from(m).ok());
    magic.is_some_and(|m| m == SHB.to_be_bytes() || is_pcap_magic(m))
        || named_format(head).is_some()
}

/// What an input that is neither pcap nor pcapng is, told by its first bytes, and what to do
/// with it (each format by the magic number of its own specification).
fn not_a_capture(head: &[u8]) -> String {
    match named_format(head) {
        Some(w) => format!("not a pcap or pcapng capture: {w}"),
        None => "not a pcap or pcapng capture (unknown file format)".to_string(),
    }
}

/// The format [`not_a_capture`] names, with what to do, if it knows it.
fn named_format(head: &[u8]) -> Option<&'static str> {
    let le32 = |at: usize| u32_at(head, at, false);
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("an xz-compressed file: decompress it first (`xz -dc FILE | tlscensus read -`); gzip and zstd are read as they are")
    } else if head.len() >= 4
        && head.starts_with(b"BZh")
        && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
    {
        Some("a bzip2-compressed file: decompress it first (`bzip2 -dc FILE | tlscensus read -`); gzip and zstd are read as they are")
    } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Some("an lz4-compressed file: decompress it first (`lz4 -dc FILE | tlscensus read -`); gzip and zstd are read as they are")
    } else if head.starts_with(b"PK\x03\x04")
        || head.starts_with(b"PK\x05\x06")
        || head.starts_with(b"PK\x07\x08")
    {
        Some("a zip archive: extract the capture from it (`unzip FILE`) and read that")
    } else if head.starts_with(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]) {
        Some("a 7-Zip archive: extract the capture from it (`7z x FILE`) and read that")
    } else if head.starts_with(b"GMBU") || head.starts_with(b"RTSS") {
        Some("a Microsoft Network Monitor capture: convert it to pcapng first (`editcap -F pcapng FILE FILE.pcapng`, from Wireshark)")
    } else if head.starts_with(b"snoop\0\0\0") {
        Some("a snoop capture: convert it to pcapng first (`editcap -F pcapng FILE FILE.pcapng`, from Wireshark)")
    } else if head.starts_with(&[0xa1, 0xb2, 0xcd, 0x34])
        || head.starts_with(&[0x34, 0xcd, 0xb2, 0xa1])
    {
        Some("a modified pcap (Kuznetsov's format): convert it first (`editcap -F pcap FILE FILE.pcap`, from Wireshark)")
    } else if is_etl(head, le32(0)) {
        Some("a Windows ETL trace (pktmon, netsh trace): convert it to pcapng first (`pktmon etl2pcap FILE --out FILE.pcapng`; a `netsh trace` file: Microsoft's etl2pcapng)")
    } else {
        None
    }
}

/// A Windows ETL file: a 72-byte `WMI_BUFFER_HEADER` whose first field is the buffer size (a
/// multiple of 4 KiB), then the first event's system trace header: version, header type
/// (1 = system 32-bit, 2 = system 64-bit, 3-4 compact) and flags `0xc0` (`TRACE_HEADER_FLAG
/// | TRACE_HEADER_EVENT_TRACE`).
fn is_etl(head: &[u8], buffer_size: Option<u32>) -> bool {
    buffer_size.is_some_and(|n| n >= 4096 && n % 4096 == 0)
        && head.get(74).is_some_and(|t| (1..=4).contains(t))
        && head.get(75) == Some(&0xc0)
}

/// Whether the file's first 4 bytes are a classic pcap magic number: microseconds or
/// nanoseconds, little- or big-endian (`pcap-parser` reads which from the header).
fn is_pcap_magic(magic: [u8; 4]) -> bool {
    matches!(
        magic,
        [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
    )
}

/// Why a pcapng block length is impossible, if it is.
fn bad_block_length(block_type: u32, len: u32) -> Option<String> {
    let name = block_name(block_type);
    let min = match block_type {
        SHB => 28,
        IDB => 20,
        EPB | PB => 32,
        SPB => 16,
        _ => 12,
    };
    if len < min || len % 4 != 0 {
        Some(format!(
            "{name} length {len} is impossible (at least {min}, a multiple of 4)"
        ))
    } else if len > MAX_BLOCK {
        Some(format!(
            "{name} length {len} is more than the maximum of {MAX_BLOCK}"
        ))
    } else {
        None
    }
}

fn block_name(block_type: u32) -> &'static str {
    match block_type {
        SHB => "Section Header Block",
        IDB => "Interface Description Block",
        PB => "Packet Block",
        SPB => "Simple Packet Block",
        NRB => "Name Resolution Block",
        ISB => "Interface Statistics Block",
        EPB => "Enhanced Packet Block",
        DSB => "Decryption Secrets Block",
        _ => "block",
    }
}

/// 0 (unset) and anything above the maximum mean the maximum, as in libpcap.
fn effective_snaplen(snaplen: u32) -> u32 {
    if snaplen == 0 || snaplen > MAX_CAPLEN {
        MAX_CAPLEN
    } else {
        snaplen
    }
}

fn option<'a>(options: &'a [PcapNGOption<'_>], code: OptionCode) -> Option<&'a [u8]> {
    options.iter().find(|o| o.code == code).map(|o| o.value())
}

/// A pcapng timestamp: `units` since the epoch in the interface's resolution (`tsresol`:
/// 10^-n s, or 2^-(n & 0x7f) s with the top bit set), plus `tsoffset` seconds. Fractions of a
/// nanosecond are dropped; resolutions beyond u128 read as 0.
fn pcapng_ts(units: u64, tsresol: u8, tsoffset: i64) -> Timestamp {
    let per_second: u128 = if tsresol & 0x80 == 0 {
        10u128.checked_pow(u32::from(tsresol)).unwrap_or(u128::MAX)
    } else {
        1u128 << (tsresol & 0x7f)
    };
    let units = u128::from(units);
    let secs = i64::try_from(units / per_second).unwrap_or(i64::MAX);
    // units < 2^64, so the product stays far below 2^128.
    let nanos = (units % per_second * 1_000_000_000 / per_second) as i64;
    Timestamp::from_secs_nanos(secs.saturating_add(tsoffset), nanos)
}

fn u32_at(data: &[u8], at: usize, big: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

fn u16_at(data: &[u8], at: usize, big: bool) -> Option<u16> {
    let b: [u8; 2] = data.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

/// Reads until `buf` is full or the input ends; the count read.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while let Some(rest) = buf.get_mut(got..).filter(|r| !r.is_empty()) {
        match input.read(rest)? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// The byte stream under the reader: retries interrupted reads and keeps the reason of a
/// failed one, which `pcap-parser` reduces to "read error".
struct Input {
    inner: Box<dyn Read + Send>,
    failure: Arc<Mutex<Option<String>>>,
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if let Ok(mut slot) = self.failure.lock() {
                        *slot = Some(io_reason(&e));
                    }
                    return Err(e);
                }
                Ok(n) => return Ok(n),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-built captures: a tiny notation of one function per header, record and block.

    fn u32b(big: bool, v: u32) -> [u8; 4] {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u16b(big: bool, v: u16) -> [u8; 2] {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn pcap_header(big: bool, nanos: bool, snaplen: u32, link: u32) -> Vec<u8> {
        let mut h = u32b(big, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }).to_vec();
        h.extend(u16b(big, 2));
        h.extend(u16b(big, 4));
        h.extend([0; 8]);
        h.extend(u32b(big, snaplen));
        h.extend(u32b(big, link));
        h
    }

    fn pcap_record(big: bool, secs: u32, frac: u32, data: &[u8], orig_len: u32) -> Vec<u8> {
        let mut r = Vec::new();
        for v in [secs, frac, data.len() as u32, orig_len] {
            r.extend(u32b(big, v));
        }
        r.extend(data);
        r
    }

    /// A pcapng block: type, length, body padded to 4 bytes, length again.
    fn block(big: bool, block_type: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        body.resize(body.len().next_multiple_of(4), 0);
        let len = 12 + body.len() as u32;
        let mut b = if block_type == SHB {
            SHB.to_be_bytes().to_vec()
        } else {
            u32b(big, block_type).to_vec()
        };
        b.extend(u32b(big, len));
        b.extend(body);
        b.extend(u32b(big, len));
        b
    }

    fn shb(big: bool) -> Vec<u8> {
        let mut body = u32b(big, BYTE_ORDER_MAGIC).to_vec();
        body.extend(u16b(big, 1));
        body.extend(u16b(big, 0));
        body.extend(if big {
            (-1i64).to_be_bytes()
        } else {
            (-1i64).to_le_bytes()
        });
        block(big, SHB, &body)
    }

    /// Options of an IDB: `if_tsresol` and `if_tsoffset` when given, then opt_endofopt.
    fn idb(
        big: bool,
        link: u16,
        snaplen: u32,
        tsresol: Option<u8>,
        tsoffset: Option<i64>,
    ) -> Vec<u8> {
        let mut body = u16b(big, link).to_vec();
        body.extend([0, 0]);
        body.extend(u32b(big, snaplen));
        if let Some(r) = tsresol {
            body.extend(u16b(big, 9));
            body.extend(u16b(big, 1));
            body.extend([r, 0, 0, 0]);
        }
        if let Some(o) = tsoffset {
            body.extend(u16b(big, 14));
            body.extend(u16b(big, 8));
            body.extend(if big {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            });
        }
        if tsresol.is_some() || tsoffset.is_some() {
            body.extend([0; 4]);
        }
        block(big, IDB, &body)
    }

    fn epb(big: bool, if_id: u32, ts: u64, data: &[u8], orig_len: u32) -> Vec<u8> {
        let mut body = Vec::new();
        for v in [
            if_id,
            (ts >> 32) as u32,
            ts as u32,
            data.len() as u32,
            orig_len,
        ] {
            body.extend(u32b(big, v));
        }
        body.extend(data);
        block(big, EPB, &body)
    }

    fn spb(big: bool, orig_len: u32, data: &[u8]) -> Vec<u8> {
        let mut body = u32b(big, orig_len).to_vec();
        body.extend(data);
        block(big, SPB, &body)
    }

    fn obsolete_pb(big: bool, if_id: u16, ts: u64, data: &[u8], orig_len: u32) -> Vec<u8> {
        let mut body = u16b(big, if_id).to_vec();
        body.extend(u16b(big, 0));
        for v in [(ts >> 32) as u32, ts as u32, data.len() as u32, orig_len] {
            body.extend(u32b(big, v));
        }
        body.extend(data);
        block(big, PB, &body)
    }

    fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    fn packet(n: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| n.wrapping_add(i as u8)).collect()
    }

    /// A frame copied out of its reader: (number, ns, link, data, orig_len).
    type Owned = (u64, i64, i32, Vec<u8>, u32);

    fn open(bytes: &[u8]) -> Result<NativeReader, ReadError> {
        NativeReader::from_reader("t.cap", Cursor::new(bytes.to_vec()))
    }

    fn drain(r: &mut NativeReader) -> (Vec<Owned>, Option<ReadError>) {
        let mut frames = Vec::new();
        loop {
            match r.next_frame() {
                Ok(Some(f)) => {
                    frames.push((f.number, f.ts.0, f.link.0, f.data.to_vec(), f.orig_len))
                }
                Ok(None) => return (frames, None),
                Err(e) => return (frames, Some(e)),
            }
        }
    }

    fn read_all(bytes: &[u8]) -> Vec<Owned> {
        let mut r = open(bytes).unwrap();
        let (frames, err) = drain(&mut r);
        assert!(err.is_none(), "{}", err.unwrap());
        assert_eq!(r.bytes_read(), bytes.len() as u64);
        assert_eq!(r.packets(), frames.len() as u64);
        frames
    }

    fn read_error(bytes: &[u8]) -> (Vec<Owned>, ReadError) {
        match open(bytes) {
            Err(e) => (Vec::new(), e),
            Ok(mut r) => {
                let (frames, err) = drain(&mut r);
                (frames, err.expect("an error"))
            }
        }
    }

    const S: i64 = 1_000_000_000;

    // Classic pcap.

    fn two_packet_pcap(big: bool, nanos: bool) -> Vec<u8> {
        concat(&[
            pcap_header(big, nanos, 65535, 1),
            pcap_record(big, 1_741_078_800, 5, &packet(1, 60), 60),
            pcap_record(big, 1_741_078_801, 999_999, &packet(2, 70), 1514),
        ])
    }

    #[test]
    fn pcap_microseconds_in_both_byte_orders() {
        for big in [false, true] {
            let frames = read_all(&two_packet_pcap(big, false));
            assert_eq!(
                frames,
                [
                    (1, 1_741_078_800 * S + 5_000, 1, packet(1, 60), 60),
                    (2, 1_741_078_801 * S + 999_999_000, 1, packet(2, 70), 1514),
                ],
                "big endian: {big}"
            );
        }
    }

    #[test]
    fn pcap_nanoseconds_in_both_byte_orders() {
        for big in [false, true] {
            let frames = read_all(&two_packet_pcap(big, true));
            assert_eq!(frames[0].1, 1_741_078_800 * S + 5, "big endian: {big}");
            assert_eq!(
                frames[1].1,
                1_741_078_801 * S + 999_999,
                "big endian: {big}"
            );
            assert_eq!(frames[1].3, packet(2, 70));
        }
    }

    #[test]
    fn pcap_link_type_drops_fcs_bits() {
        // FCS present (0x04000000), 4 bytes of it (2 in the top nibble, in 16-bit words).
        let file = concat(&[
            pcap_header(false, false, 65535, 0x2400_0000 | 276),
            pcap_record(false, 1, 0, &packet(0, 20), 20),
        ]);
        assert_eq!(read_all(&file)[0].2, LinkType::LINUX_SLL2.0);
    }

    #[test]
    fn pcap_with_no_packets_is_empty() {
        let mut r = open(&pcap_header(true, false, 65535, 101)).unwrap();
        assert!(r.next_frame().unwrap().is_none());
        assert!(r.next_frame().unwrap().is_none());
        assert_eq!(r.bytes_read(), 24);
        assert_eq!(r.source(), "t.cap");
    }

    #[test]
    fn pcap_of_unsupported_link_type_is_refused_at_open() {
        let err = open(&pcap_header(false, false, 65535, 127)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.cap: unsupported link type IEEE802_11_RADIOTAP (127); supported: ETHERNET, \
             LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP"
        );
    }

    #[test]
    fn pcap_packet_longer_than_snap_length_is_damage() {
        let file = concat(&[
            pcap_header(false, false, 64, 1),
            pcap_record(false, 1, 0, &packet(1, 64), 64),
            pcap_record(false, 2, 0, &packet(2, 65), 65),
        ]);
        let (frames, err) = read_error(&file);
        assert_eq!(frames.len(), 1);
        assert_eq!(
            err.to_string(),
            "t.cap: capture is damaged at byte 104 (after packet 1): packet 2 claims 65 \
             captured bytes, more than the snap length of 64"
        );
        assert_eq!(err.after_packets(), 1);
    }

    #[test]
    fn pcap_packet_over_256_kib_is_damage_whatever_the_snap_length() {
        // Snap length 0 means the maximum; the record claims 4 GiB and is not allocated.
        let mut file = pcap_header(true, false, 0, 1);
        for v in [1, 0, u32::MAX - 3, u32::MAX - 3] {
            file.extend(u32b(true, v));
        }
        let (frames, err) = read_error(&file);
        assert!(frames.is_empty());
        assert_eq!(
            err.to_string(),
            "t.cap: capture is damaged at byte 24 (before the first packet): packet 1 claims \
             4294967292 captured bytes, more than the maximum of 262144"
        );
        // Exactly the maximum is fine.
        let file = concat(&[
            pcap_header(false, false, 0, 1),
            pcap_record(false, 1, 0, &vec![7; MAX_CAPLEN as usize], MAX_CAPLEN),
        ]);
        assert_eq!(read_all(&file)[0].3.len(), MAX_CAPLEN as usize);
    }

    #[test]
    fn pcap_cut_at_every_offset() {
        let file = two_packet_pcap(false, false);
        let first = 24 + 16 + 60;
        for cut in 0..=file.len() {
            let bytes = &file[..cut];
            let result = match open(bytes) {
                Err(e) => Err(e),
                Ok(mut r) => Ok(drain(&mut r)),
            };
            match cut {
                0 => assert_eq!(
                    result.unwrap_err().to_string(),
                    "t.cap: empty file: not a pcap or pcapng capture"
                ),
                1..=3 => assert_eq!(
                    result.unwrap_err().to_string(),
                    "t.cap: not a pcap or pcapng capture (unknown file format)"
                ),
                4..=23 => assert_eq!(
                    result.unwrap_err().to_string(),
                    format!(
                        "t.cap: capture is cut short before the first packet (it ends at byte \
                         {cut}, inside the 24-byte file header that starts at byte 0)"
                    )
                ),
                24 | 100 | 186 => {
                    let (frames, err) = result.unwrap();
                    assert!(err.is_none(), "cut at {cut}: {err:?}");
                    assert_eq!(frames.len(), [24, 100, 186].binary_search(&cut).unwrap());
                }
                _ => {
                    let (frames, err) = result.unwrap();
                    let err = err.unwrap();
                    let (good, start, len) = if cut < first {
                        (0, 24, 60)
                    } else {
                        (1, first, 70)
                    };
                    assert_eq!(frames.len(), good, "cut at {cut}");
                    let what = if cut - start < 16 {
                        "16-byte record header".to_string()
                    } else {
                        format!("16-byte record header + {len}-byte packet")
                    };
                    assert_eq!(
                        err,
                        ReadError::CutShort {
                            source: "t.cap".into(),
                            after_packet: good as u64,
                            start: start as u64,
                            end: cut as u64,
                            what
                        },
                        "cut at {cut}"
                    );
                }
            }
        }
        let (_, err) = read_error(&file[..150]);
        assert_eq!(
            err.to_string(),
            "t.cap: capture is cut short after packet 1 (it ends at byte 150, inside the 16-byte \
             record header + 70-byte packet that starts at byte 100)"
        );
    }

    // Recognition.

    #[test]
    fn garbage_and_empty_input_are_not_captures() {
        for text in [
            &b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"[..],
            b"\x0a\x0d\x0d",
        ] {
            assert_eq!(
                open(text).unwrap_err().to_string(),
                "t.cap: not a pcap or pcapng capture (unknown file format)"
            );
        }
        assert_eq!(
            open(b"").unwrap_err(),
            ReadError::Open {
                source: "t.cap".into(),
                reason: "empty file: not a pcap or pcapng capture".into()
            }
        );
        // A pcapng magic with a wrong byte-order magic is not a pcapng.
        let mut bad = shb(false);
        bad[8] = 0x99;
        assert_eq!(
            open(&bad).unwrap_err().to_string(),
            "t.cap: starts like a pcapng but its byte-order magic is 0x1a2b3c99, neither \
             0x1a2b3c4d nor 0x4d3c2b1a: a damaged pcapng, or not a capture"
        );
    }

    #[test]
    fn interfaces_of_a_section_are_bounded() {
        let mut bytes = shb(false);
        for _ in 0..MAX_INTERFACES {
            bytes.extend(idb(false, 1, 0, None, None));
        }
        bytes.extend(epb(false, 0, 0, &packet(1, 60), 60));
        let at = bytes.len();
        bytes.extend(idb(false, 1, 0, None, None));
        bytes.extend(epb(false, 0, 0, &packet(2, 60), 60));
        let (packets, err) = read_error(&bytes);
        assert_eq!(packets.len(), 1);
        assert_eq!(
            err.to_string(),
            format!(
                "t.cap: capture is damaged at byte {at} (after packet 1): the section describes \
                 more than 65536 interfaces (Interface Description Block 65537 of the section); \
                 no capture tool writes that many"
            )
        );
        // A new section starts its own count.
        let mut bytes = shb(false);
        for _ in 0..MAX_INTERFACES {
            bytes.extend(idb(false, 1, 0, None, None));
        }
        bytes.extend(shb(false));
        bytes.extend(idb(false, 1, 0, None, None));
        bytes.extend(epb(false, 0, 0, &packet(1, 60), 60));
        assert_eq!(read_all(&bytes).len(), 1);
    }

    #[test]
    fn other_formats_are_named_with_what_to_do() {
        let mut etl = vec![0u8; 80];
        etl[..4].copy_from_slice(&65536u32.to_le_bytes());
        etl[72..76].copy_from_slice(&[0x02, 0x00, 0x02, 0xc0]);
        let cases: [(&[u8], &str); 9] = [
            (b"\xfd7zXZ\0\0\x04", "an xz-compressed file"),
            (b"BZh91AY&SY", "a bzip2-compressed file"),
            (b"\x04\x22\x4d\x18\x64\x40", "an lz4-compressed file"),
            (b"PK\x03\x04\x14\0", "a zip archive"),
            (b"7z\xbc\xaf\x27\x1c\0\x04", "a 7-Zip archive"),
            (b"GMBU\x00\x02", "a Microsoft Network Monitor capture"),
            (b"snoop\0\0\0\0\0\0\x02", "a snoop capture"),
            (b"\x34\xcd\xb2\xa1\x02\0\x04\0", "a modified pcap"),
            (&etl, "a Windows ETL trace (pktmon, netsh trace): convert it to pcapng first (`pktmon etl2pcap FILE --out FILE.pcapng`"),
        ];
        for (bytes, what) in cases {
            let err = open(bytes).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("t.cap: not a pcap or pcapng capture: {what}")),
                "{err}"
            );
        }
        // "BZh" alone, or an ETL-like header with other flags, is just unknown.
        etl[75] = 0;
        for bytes in [&b"BZhx"[..], &etl] {
            assert_eq!(
                open(bytes).unwrap_err().to_string(),
                "t.cap: not a pcap or pcapng capture (unknown file format)"
            );
        }
    }

    #[test]
    fn format_is_told_by_magic_not_name() {
        let ng = concat(&[
            shb(false),
            idb(false, 1, 0, None, None),
            epb(false, 0, 1, &[1; 14], 14),
        ]);
        let r = NativeReader::from_reader("looks-classic.pcap", Cursor::new(ng)).unwrap();
        assert_eq!(r.format, Format::Pcapng);
        let classic = two_packet_pcap(false, false);
        let r = NativeReader::from_reader("looks-ng.pcapng", Cursor::new(classic)).unwrap();
        assert_eq!(r.format, Format::Pcap);
    }

    #[test]
    fn missing_file_names_the_file() {
        let err = NativeReader::open(&Source::File("no-such-file.pcap".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no-such-file.pcap: No such file or directory"
        );
    }

    // pcapng.

    #[test]
    fn pcapng_interfaces_keep_their_own_link_type_and_resolution() {
        for big in [false, true] {
            let file = concat(&[
                shb(big),
                idb(big, 1, 262144, None, None),
                idb(big, 276, 262144, Some(9), None),
                epb(big, 0, 1_741_078_800_000_001, &packet(1, 54), 54),
                epb(big, 1, 1_741_078_800_000_000_123, &packet(2, 61), 61),
                epb(big, 0, 1_741_078_801_500_000, &packet(3, 3), 1500),
            ]);
            assert_eq!(
                read_all(&file),
                [
                    (1, 1_741_078_800 * S + 1_000, 1, packet(1, 54), 54),
                    (2, 1_741_078_800 * S + 123, 276, packet(2, 61), 61),
                    (3, 1_741_078_801 * S + 500_000_000, 1, packet(3, 3), 1500),
                ],
                "big endian: {big}"
            );
        }
    }

    #[test]
    fn pcapng_binary_resolution_and_offset() {
        // if_tsresol 0x94: 2^-20 s per unit; if_tsoffset: 1_000_000_000 s.
        for big in [false, true] {
            let file = concat(&[
                shb(big),
                idb(big, 1, 0, Some(0x80 | 20), Some(1_000_000_000)),
                epb(big, 0, (741_078_800 << 20) | (1 << 19), &[0; 14], 14),
                epb(big, 0, 1, &[0; 14], 14),
            ]);
            let frames = read_all(&file);
            assert_eq!(
                frames[0].1,
                1_741_078_800 * S + 500_000_000,
                "big endian: {big}"
            );
            // 1e9 / 2^20 = 953.67: fractions of a nanosecond are dropped.
            assert_eq!(frames[1].1, 1_000_000_000 * S + 953, "big endian: {big}");
        }
    }

    #[test]
    fn timestamps_in_any_resolution() {
        let t = |units, resol, offset| pcapng_ts(units, resol, offset).0;
        assert_eq!(t(1_741_078_800_123_456, 6, 0), 1_741_078_800_123_456_000);
        assert_eq!(
            t(1_741_078_800_123_456_789, 9, 0),
            1_741_078_800_123_456_789
        );
        assert_eq!(t(1_741_078_800, 0, 0), 1_741_078_800 * S);
        assert_eq!(t(1_741_078_800_123, 3, 0), 1_741_078_800_123_000_000);
        // Picoseconds: below a nanosecond is dropped.
        assert_eq!(t(1_741_078_800_123_456_789, 12, 0), 1_741_078_800_123_456);
        assert_eq!(t(3 << 10 | 512, 0x80 | 10, 0), 3 * S + 500_000_000);
        assert_eq!(t(u64::MAX, 0x80 | 64, 0), 999_999_999);
        assert_eq!(t(5, 6, -1), -S + 5_000);
        // Resolutions no integer holds read as 0 rather than overflowing.
        assert_eq!(t(u64::MAX, 127, 0), 0);
        assert_eq!(t(u64::MAX, 0xff, 0), 0);
        assert_eq!(t(u64::MAX, 0, 0), i64::MAX);
    }

    #[test]
    fn pcapng_sections_in_both_byte_orders_reset_the_interfaces() {
        let file = concat(&[
            shb(false),
            idb(false, 1, 0, None, None),
            epb(false, 0, 1_000_000, &packet(1, 20), 20),
            shb(true),
            idb(true, 113, 0, Some(9), None),
            epb(true, 0, 2_000_000_000, &packet(2, 30), 30),
            shb(false),
            epb(false, 0, 3, &packet(3, 4), 4),
        ]);
        let (frames, err) = read_error(&file);
        assert_eq!(
            frames,
            [
                (1, S, 1, packet(1, 20), 20),
                (2, 2 * S, 113, packet(2, 30), 30)
            ]
        );
        // The third section describes no interface.
        assert_eq!(
            err.to_string(),
            format!(
                "t.cap: capture is damaged at byte {} (after packet 2): packet 3 is on interface \
                 0, but the section describes no interface",
                file.len() - 36
            )
        );
    }

    #[test]
    fn pcapng_simple_packet_block_uses_interface_0() {
        for big in [false, true] {
            let file = concat(&[
                shb(big),
                idb(big, 228, 64, None, None),
                idb(big, 1, 0, None, None),
                spb(big, 100, &packet(1, 64)),
                spb(big, 61, &packet(2, 61)),
            ]);
            assert_eq!(
                read_all(&file),
                [
                    // Cut by the snap length; no timestamp in an SPB.
                    (1, 0, 228, packet(1, 64), 100),
                    // Padding is not packet.
                    (2, 0, 228, packet(2, 61), 61),
                ]
            );
        }
    }

    #[test]
    fn pcapng_obsolete_packet_block() {
        for big in [false, true] {
            let file = concat(&[
                shb(big),
                idb(big, 0, 0, None, None),
                idb(big, 1, 0, Some(9), None),
                obsolete_pb(big, 1, 7 * S as u64 + 9, &packet(1, 45), 60),
            ]);
            assert_eq!(read_all(&file), [(1, 7 * S + 9, 1, packet(1, 45), 60)]);
        }
    }

    #[test]
    fn pcapng_other_blocks_are_skipped_unread() {
        let file = concat(&[
            shb(false),
            idb(false, 1, 0, None, None),
            block(false, NRB, &[0xff; 7]), // damaged inside: never parsed
            epb(false, 0, 1, &packet(1, 14), 14),
            block(false, ISB, &[1; 20]),
            block(false, DSB, b"TLSK"),
            block(false, 0x0000_0BAD, b"custom, copyable"),
            block(false, 0x4000_0BAD, b"custom"),
            block(false, 0x1234_5678, &[]),
            epb(false, 0, 2, &packet(2, 14), 14),
        ]);
        let frames = read_all(&file);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].0, 2);
    }

    #[test]
    fn pcapng_buffer_grows_for_a_long_block() {
        // A 3 MiB block is more than the first buffer holds.
        let file = concat(&[
            shb(false),
            idb(false, 1, 0, None, None),
            block(false, 0x0000_0BAD, &vec![0xab; 3 << 20]),
            epb(false, 0, 1, &packet(1, 100), 100),
        ]);
        assert_eq!(read_all(&file)[0].3, packet(1, 100));
    }

    #[test]
    fn pcapng_block_over_64_mib_is_damage_not_allocation() {
        let mut file = concat(&[shb(false), idb(false, 1, 0, None, None)]);
        let at = file.len();
        file.extend(u32b(false, EPB));
        file.extend(u32b(false, MAX_BLOCK + 4));
        file.extend([0; 24]);
        let (frames, err) = read_error(&file);
        assert!(frames.is_empty());
        assert_eq!(
            err.to_string(),
            format!(
                "t.cap: capture is damaged at byte {at} (before the first packet): Enhanced \
                 Packet Block length 67108868 is more than the maximum of 67108864"
            )
        );
    }

    #[test]
    fn pcapng_impossible_lengths_are_damage() {
        let head = concat(&[shb(false), idb(false, 1, 0, None, None)]);
        let at = head.len();
        let damage = |tail: Vec<u8>| {
            let (_, err) = read_error(&concat(&[head.clone(), tail]));
            match err {
                ReadError::Damaged { offset, what, .. } if offset == at as u64 => what,
                other => panic!("{other}"),
            }
        };
        let mut short = epb(false, 0, 0, &[0; 4], 4);
        short[4..8].copy_from_slice(&u32b(false, 30));
        assert_eq!(
            damage(short),
            "Enhanced Packet Block length 30 is impossible (at least 32, a multiple of 4)"
        );
        let mut odd = block(false, 0x0000_0BAD, &[0; 8]);
        odd[4..8].copy_from_slice(&u32b(false, 18));
        assert_eq!(
            damage(odd),
            "block length 18 is impossible (at least 12, a multiple of 4)"
        );
        let mut ends = epb(false, 0, 0, &[0; 4], 4);
        let n = ends.len();
        ends[n - 4..].copy_from_slice(&u32b(false, 99));
        assert_eq!(
            damage(ends),
            "Enhanced Packet Block length is 36 at its start but 99 at its end"
        );
        let mut holds = epb(false, 0, 0, &[0; 8], 8);
        holds[20..24].copy_from_slice(&u32b(false, 9));
        assert_eq!(
            damage(holds),
            "packet 1 claims 9 captured bytes, more than its 40-byte Enhanced Packet Block holds"
        );
        assert_eq!(
            damage(epb(false, 2, 0, &[0; 8], 8)),
            "packet 1 is on interface 2, but the section describes only 1 interface"
        );
        let mut version = shb(false);
        version[12..14].copy_from_slice(&u16b(false, 2));
        assert_eq!(
            damage(version),
            "pcapng version 2.0 is not supported (only 1.x)"
        );
        let mut bom = shb(false);
        bom[8..12].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(
            damage(bom),
            "Section Header Block has an unknown byte-order magic 0x01020304"
        );
    }

    #[test]
    fn pcapng_packet_longer_than_its_snap_length_is_damage() {
        let file = concat(&[
            shb(true),
            idb(true, 1, 1000, None, None),
            epb(true, 0, 0, &[0; 1000], 1000),
            epb(true, 0, 0, &[0; 1001], 1001),
        ]);
        let (frames, err) = read_error(&file);
        assert_eq!(frames.len(), 1);
        assert_eq!(
            err.to_string(),
            "t.cap: capture is damaged at byte 1080 (after packet 1): packet 2 claims 1001 \
             captured bytes, more than the snap length of 1000"
        );
    }

    #[test]
    fn pcapng_link_types_unsupported_everywhere_or_somewhere() {
        // Every interface unsupported: refused at open, like a classic pcap.
        let file = concat(&[
            shb(false),
            idb(false, 127, 0, None, None),
            idb(false, 105, 0, None, None),
            epb(false, 0, 0, &[0; 8], 8),
        ]);
        assert_eq!(
            open(&file).unwrap_err(),
            ReadError::UnsupportedLink {
                source: "t.cap".into(),
                link: LinkType(127)
            }
        );
        // One supported: the others' packets come with their own link type.
        let file = concat(&[
            shb(false),
            idb(false, 127, 0, None, None),
            idb(false, 1, 0, None, None),
            epb(false, 0, 0, &[0; 8], 8),
            epb(false, 1, 0, &[1; 8], 8),
        ]);
        let links: Vec<i32> = read_all(&file).iter().map(|f| f.2).collect();
        assert_eq!(links, [127, 1]);
    }

    #[test]
    fn pcapng_cut_at_every_offset() {
        let file = concat(&[
            shb(false),                           // 0..28
            idb(false, 1, 0, Some(9), None),      // 28..60
            epb(false, 0, 5, &packet(1, 21), 21), // 60..116
            epb(false, 0, 6, &packet(2, 8), 8),   // 116..156
        ]);
        assert_eq!(file.len(), 156);
        for cut in 0..file.len() {
            let bytes = &file[..cut];
            let (frames, err) = match open(bytes) {
                Err(e) => (Vec::new(), Some(e)),
                Ok(mut r) => drain(&mut r),
            };
            let (good, start, what) = match cut {
                0..=3 => {
                    assert!(matches!(err, Some(ReadError::Open { .. })), "cut at {cut}");
                    continue;
                }
                4..=11 => (0, 0, "Section Header Block"),
                12..=27 => (0, 0, "28-byte Section Header Block"),
                28 | 60 | 116 => {
                    assert!(err.is_none(), "cut at {cut}: {err:?}");
                    assert_eq!(frames.len(), usize::from(cut == 116));
                    continue;
                }
                29..=39 => (0, 28, "block header"),
                40..=59 => (0, 28, "32-byte Interface Description Block"),
                61..=71 => (0, 60, "block header"),
                72..=115 => (0, 60, "56-byte Enhanced Packet Block"),
                117..=127 => (1, 116, "block header"),
                _ => (1, 116, "40-byte Enhanced Packet Block"),
            };
            assert_eq!(frames.len(), good, "cut at {cut}");
            assert_eq!(
                err,
                Some(ReadError::CutShort {
                    source: "t.cap".into(),
                    after_packet: good as u64,
                    start,
                    end: cut as u64,
                    what: what.to_string()
                }),
                "cut at {cut}"
            );
        }
        let (_, err) = read_error(&file[..100]);
        assert_eq!(
            err.to_string(),
            "t.cap: capture is cut short before the first packet (it ends at byte 100, inside \
             the 56-byte Enhanced Packet Block that starts at byte 60)"
        );
    }

    // Input behaviour.

    /// Gives a few bytes per read, interrupted now and then, then fails if asked to.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        reads: usize,
        fail_at_end: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            if self.reads % 5 == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.at == self.data.len() && self.fail_at_end {
                return Err(io::Error::other("device gone"));
            }
            let n = (self.reads % 7 + 1)
                .min(buf.len())
                .min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn short_and_interrupted_reads_change_nothing() {
        let files = [
            two_packet_pcap(true, true),
            concat(&[
                shb(false),
                idb(false, 1, 0, None, None),
                idb(false, 276, 0, Some(9), None),
                epb(false, 1, 77, &packet(1, 99), 99),
                spb(false, 20, &packet(2, 20)),
            ]),
        ];
        for file in files {
            let want = read_all(&file);
            let trickle = Trickle {
                data: file.clone(),
                at: 0,
                reads: 0,
                fail_at_end: false,
            };
            let mut r = NativeReader::from_reader("<stdin>", trickle).unwrap();
            let (got, err) = drain(&mut r);
            assert!(err.is_none());
            assert_eq!(got, want);
            assert_eq!(r.bytes_read(), file.len() as u64);
        }
    }

    #[test]
    fn read_failure_is_reported_with_its_reason() {
        let file = two_packet_pcap(false, false);
        let trickle = Trickle {
            data: file[..130].to_vec(),
            at: 0,
            reads: 0,
            fail_at_end: true,
        };
        let mut r = NativeReader::from_reader("<stdin>", trickle).unwrap();
        let (frames, err) = drain(&mut r);
        assert_eq!(frames.len(), 1);
        assert_eq!(
            err.unwrap().to_string(),
            "<stdin>: read error at byte 130 (after packet 1): device gone"
        );
    }

    #[test]
    fn reader_can_move_to_another_thread() {
        fn is_send<T: Send>() {}
        is_send::<NativeReader>();
    }

    #[test]
    fn frames_are_lent_until_the_next_read() {
        let file = two_packet_pcap(false, false);
        let mut r = open(&file).unwrap();
        assert_eq!(r.next_frame().unwrap().unwrap().data, &packet(1, 60)[..]);
        assert_eq!(r.bytes_read(), 100);
        assert_eq!(r.next_frame().unwrap().unwrap().data, &packet(2, 70)[..]);
        assert_eq!(r.bytes_read(), 186);
        assert!(r.next_frame().unwrap().is_none());
        assert_eq!(r.packets(), 2);
    }
}
