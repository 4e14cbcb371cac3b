//! Saved captures: classic pcap (µs and ns) and pcapng through libpcap's offline reader, or a
//! capture streamed on standard input (`-`).
//!
//! Timestamps are always asked of libpcap in nanoseconds, so both precisions read the same.
//! Errors name the input and say what is wrong in one line.

use std::fmt;
use std::path::{Path, PathBuf};

use pcap::{Capture, Offline, Precision};

use super::{Frame, LinkType, Timestamp};

/// Where a capture comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Stdin,
}

impl Source {
    pub fn from_arg(arg: &Path) -> Source {
        if arg.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::File(arg.to_path_buf())
        }
    }

    /// The input's bytes: the file opened, or standard input. The error names the input.
    pub fn open_bytes(&self) -> Result<Box<dyn std::io::Read + Send>, ReadError> {
        match self {
            Source::File(path) => match std::fs::File::open(path) {
                Ok(file) => Ok(Box::new(file)),
                Err(e) => Err(ReadError::Open {
                    source: self.to_string(),
                    reason: crate::report::atomic::io_reason(&e),
                }),
            },
            Source::Stdin if stdin_is_closed() => Err(ReadError::Open {
                source: self.to_string(),
                reason: STDIN_CLOSED.to_string(),
            }),
            Source::Stdin => Ok(Box::new(std::io::stdin())),
        }
    }
}

/// Why standard input cannot be read when it is closed.
pub const STDIN_CLOSED: &str =
    "standard input is closed (or /dev/null): nothing to read; pipe a capture in, or name a file";

/// Whether standard input is closed (`<&-`) or `/dev/null`: Rust's runtime opens `/dev/null` on
/// a closed descriptor 0 at start, so the two look alike, and either would read as an empty
/// file.
pub fn stdin_is_closed() -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let (Ok(stdin), Ok(null)) = (
            std::fs::metadata("/proc/self/fd/0"),
            std::fs::metadata("/dev/null"),
        ) else {
            return false;
        };
        stdin.file_type().is_char_device() && stdin.rdev() == null.rdev()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Escaped: a file name is outside text (see `escape::name`).
            Source::File(p) => f.write_str(&crate::report::escape::path(p)),
            Source::Stdin => f.write_str("<stdin>"),
        }
    }
}

/// Why a capture could not be opened or read on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The input could not be opened as a capture at all.
    Open { source: String, reason: String },
    /// The capture's link type is not one the decoder knows.
    UnsupportedLink { source: String, link: LinkType },
    /// Reading stopped inside the file: what came before is still good.
    Truncated {
        source: String,
        after_packet: u64,
        reason: String,
    },
    /// The capture ends inside a header, record or block (native reader): the packets before
    /// it are good. `what` names the piece, e.g. `16-byte record header + 66-byte packet`.
    CutShort {
        source: String,
        after_packet: u64,
        /// File offset where the unfinished piece starts.
        start: u64,
        /// File offset where the input ends.
        end: u64,
        what: String,
    },
    /// A header, record or block makes no sense (native reader): the packets before it are
    /// good, nothing after it is read.
    Damaged {
        source: String,
        after_packet: u64,
        /// File offset of the damaged piece.
        offset: u64,
        what: String,
    },
    /// Reading the input itself failed (native reader).
    Io {
        source: String,
        after_packet: u64,
        offset: u64,
        reason: String,
    },
    /// Found in a directory but not readable as a file (a dangling or looping symbolic link):
    /// skipped, the rest is read.
    Skipped { source: String, reason: String },
    /// The input holds the same bytes as `original`, an input given before it: it is not read
    /// (see [`crate::capture::inputs::same_content`]).
    SameContent { source: String, original: String },
}

impl ReadError {
    /// Whether packets of this input were read before the error.
    pub fn after_packets(&self) -> u64 {
        match self {
            ReadError::Truncated { after_packet, .. }
            | ReadError::CutShort { after_packet, .. }
            | ReadError::Damaged { after_packet, .. }
            | ReadError::Io { after_packet, .. } => *after_packet,
            ReadError::Open { .. }
            | ReadError::UnsupportedLink { .. }
            | ReadError::Skipped { .. }
            | ReadError::SameContent { .. } => 0,
        }
    }

    /// The input the error is about, as messages name it.
    pub fn source(&self) -> &str {
        match self {
            ReadError::Open { source, .. }
            | ReadError::UnsupportedLink { source, .. }
            | ReadError::Truncated { source, .. }
            | ReadError::CutShort { source, .. }
            | ReadError::Damaged { source, .. }
            | ReadError::Io { source, .. }
            | ReadError::Skipped { source, .. }
            | ReadError::SameContent { source, .. } => source,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Open { source, reason } => write!(f, "{source}: {reason}"),
            ReadError::UnsupportedLink { source, link } => write!(
                f,
                "{source}: unsupported link type {link}; supported: ETHERNET, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP"
            ),
            ReadError::Truncated {
                source,
                after_packet,
                reason,
            } => write!(
                f,
                "{source}: capture is damaged or cut short after packet {after_packet}: {reason}"
            ),
            ReadError::CutShort {
                source,
                after_packet,
                start,
                end,
                what,
            } => write!(
                f,
                "{source}: capture is cut short {} (it ends at byte {end}, inside the {what} that \
                 starts at byte {start})",
                Position(*after_packet)
            ),
            ReadError::Damaged {
                source,
                after_packet,
                offset,
                what,
            } => write!(
                f,
                "{source}: capture is damaged at byte {offset} ({}): {what}",
                Position(*after_packet)
            ),
            ReadError::Io {
                source,
                after_packet,
                offset,
                reason,
            } => write!(
                f,
                "{source}: read error at byte {offset} ({}): {reason}",
                Position(*after_packet)
            ),
            ReadError::Skipped { source, reason } => write!(f, "{source}: {reason}: skipped"),
            ReadError::SameContent { source, original } => {
                write!(f, "{source}: same content as {original}: read once")
            }
        }
    }
}

/// Where in the capture something happened, counted in good packets before it.
struct Position(u64);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("before the first packet"),
            n => write!(f, "after packet {n}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// Turns libpcap's wording into ours (it names no file and mentions "savefile").
fn describe(err: &pcap::Error) -> String {
    let text = match err {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains("unknown file format") {
        "not a pcap or pcapng capture (unknown file format)".to_string()
    } else if text.contains("only got 0") && text.contains("file header") {
        "empty file: not a pcap or pcapng capture".to_string()
    } else {
        text.trim_end_matches('.').to_string()
    }
}

/// A saved capture being read, one packet at a time.
pub struct OfflineReader {
    cap: Capture<Offline>,
    source: String,
    link: LinkType,
    packets: u64,
    /// Bytes of the file consumed so far, estimated from record headers (for progress only).
    bytes: u64,
    record_overhead: u64,
}

impl OfflineReader {
    /// Opens a capture; fails if it is not a capture or its link type is unsupported.
    pub fn open(source: &Source) -> Result<OfflineReader, ReadError> {
        let name = source.to_string();
        let (cap, header_len, record_overhead) = match source {
            Source::File(path) => {
                let format = sniff_format(path);
                let cap =
                    Capture::from_file_with_precision(path, Precision::Nano).map_err(|e| {
                        ReadError::Open {
                            source: name.clone(),
                            reason: describe(&e),
                        }
                    })?;
                match format {
                    Some(Format::Pcapng) => (cap, 0, 32),
                    _ => (cap, 24, 16),
                }
            }
            Source::Stdin => {
                // SAFETY: fd 0 stays open for the life of the process, and this reader is the
                // only thing in the program that reads standard input.
                #[allow(unsafe_code)]
                let cap = unsafe { Capture::from_raw_fd_with_precision(0, Precision::Nano) }
                    .map_err(|e| ReadError::Open {
                        source: name.clone(),
                        reason: describe(&e),
                    })?;
                (cap, 24, 16)
            }
        };
        let link = LinkType(cap.get_datalink().0);
        if !link.is_supported() {
            return Err(ReadError::UnsupportedLink { source: name, link });
        }
        Ok(OfflineReader {
            cap,
            source: name,
            link,
            packets: 0,
            bytes: header_len,
            record_overhead,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    /// Packets read so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Approximate bytes of the file consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The next packet, `Ok(None)` at the end of the capture.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, ReadError> {
        match self.cap.next_packet() {
            Ok(packet) => {
                self.packets += 1;
                let h = packet.header;
                self.bytes += self.record_overhead + u64::from(h.caplen).next_multiple_of(4);
                Ok(Some(Frame {
                    number: self.packets,
                    ts: Timestamp::from_secs_nanos(h.ts.tv_sec, h.ts.tv_usec),
                    link: self.link,
                    data: packet.data,
                    orig_len: h.len,
                }))
            }
            Err(pcap::Error::NoMorePackets) => Ok(None),
            Err(e) => Err(ReadError::Truncated {
                source: self.source.clone(),
                after_packet: self.packets,
                reason: describe(&e),
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pcap,
    Pcapng,
}

/// Detects the format by its magic number (a `.pcapng` may be a classic pcap, and vice versa).
fn sniff_format(path: &Path) -> Option<Format> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut magic)
        .ok()?;
    match magic {
        [0x0a, 0x0d, 0x0d, 0x0a] => Some(Format::Pcapng),
        [0xd4, 0xc3, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0xc3, 0xd4]
        | [0x4d, 0x3c, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0x3c, 0x4d] => Some(Format::Pcap),
        _ => None,
    }
}
