//! The inputs of `read`: command-line arguments expanded into an ordered list of captures
//! ([`expand`]), and each capture opened with its compression undone ([`open`]).
//!
//! Promises:
//! - a directory is read recursively, in name order, files only; hidden files and directories
//!   (names starting with `.`) are skipped, symbolic links to directories are not followed;
//!   a dangling or looping symbolic link in a directory is skipped with a warning
//!   ([`ReadError::Skipped`]), the rest is read; a file in a directory whose first bytes are
//!   neither a capture (pcap, pcapng, gzip, zstd) nor a format [`super::native`] names with
//!   advice (a README, a script) is skipped without a message and counted; a directory with
//!   nothing to read is an error;
//! - names that differ only by a trailing number (rotated sets: `cap.pcap`, `cap.pcap1`, …
//!   `cap.pcap10`, or tcpdump `-W` names `cap.pcap00`, `cap.pcap01`) are ordered by that
//!   number, not lexically, inside a directory and among the files of the command line;
//! - gzip and zstd are recognised by their magic numbers (`1f 8b`, `28 b5 2f fd`, or a zstd
//!   skippable frame `5? 2a 4d 18` as `pzstd` writes first), never by the file name, on files
//!   and on standard input alike; other formats (xz, bzip2, zip, ETL, Network Monitor) are
//!   named, with what to do, by [`super::native`];
//! - every error is one line naming the file; everything is checked before any packet is read.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;

use super::native::NativeReader;
use super::offline::{ReadError, Source};
use crate::report::atomic::io_reason;

/// The arguments of `read`, in input order (which breaks ties in the merge, see
/// [`super::merge`]), with each file's size in bytes (0 for standard input): directories
/// replaced by the files under them, rotated sets in numeric order.
pub fn expand(args: &[PathBuf]) -> Result<Vec<(Source, u64)>, String> {
    expand_all(args).map(|(inputs, _, _)| inputs)
}

/// The inputs of a run with their sizes, as [`expand`] gives them, the skipped entries, and
/// the count of files in directories skipped as not captures.
pub type Expanded = (Vec<(Source, u64)>, Vec<ReadError>, u64);

/// [`expand`], the entries of directories that were skipped (dangling or looping symbolic
/// links), each a [`ReadError::Skipped`] to report, and the count of files found in
/// directories that are not captures by their first bytes (skipped silently).
pub fn expand_all(args: &[PathBuf]) -> Result<Expanded, String> {
    let mut skipped = Vec::new();
    let mut not_captures = 0u64;
    let mut inputs: Vec<(Source, u64)> = Vec::with_capacity(args.len());
    // Positions in `inputs` of the files named on the command line (not found in a directory).
    let mut named: Vec<usize> = Vec::new();
    let mut stdin_seen = false;
    for arg in args {
        match Source::from_arg(arg) {
            Source::Stdin => {
                if stdin_seen {
                    return Err("- (standard input) can be read only once".into());
                }
                stdin_seen = true;
                inputs.push((Source::Stdin, 0));
            }
            Source::File(path) => {
                let meta = std::fs::metadata(&path)
                    .map_err(|e| format!("{}: {}", shown(&path), io_reason(&e)))?;
                if meta.is_dir() {
                    let before = (inputs.len() + skipped.len(), not_captures);
                    let mut walked = Walked {
                        out: &mut inputs,
                        skipped: &mut skipped,
                        not_captures: &mut not_captures,
                    };
                    walk(&path, &mut walked)?;
                    if inputs.len() + skipped.len() == before.0 {
                        return Err(match not_captures - before.1 {
                            0 => format!(
                                "{}: empty directory: no files to read (hidden files are skipped)",
                                shown(&path)
                            ),
                            1 => format!(
                                "{}: no capture to read (1 file skipped: not pcap, pcapng, \
                                 gzip or zstd by its first bytes)",
                                shown(&path)
                            ),
                            n => format!(
                                "{}: no capture to read ({n} files skipped: not pcap, pcapng, \
                                 gzip or zstd by their first bytes)",
                                shown(&path)
                            ),
                        });
                    }
                } else {
                    // A named pipe or `<(zcat …)` is fine here: only a directory is refused.
                    check_readable(&path)?;
                    named.push(inputs.len());
                    inputs.push((Source::File(path), meta.len()));
                }
            }
        }
    }
    order_rotated_sets(&mut inputs, &named);
    Ok((inputs, skipped, not_captures))
}

/// A path as messages show it.
fn shown(path: &Path) -> String {
    crate::report::escape::path(path)
}

fn check_readable(path: &Path) -> Result<(), String> {
    File::open(path)
        .map(drop)
        .map_err(|e| format!("{}: {}", shown(path), io_reason(&e)))
}

/// Why a symbolic link found in a directory names nothing readable.
fn broken_link(path: &Path, e: &io::Error) -> ReadError {
    /// Linux's ELOOP.
    const ELOOP: i32 = 40;
    let reason = match std::fs::read_link(path) {
        _ if e.raw_os_error() == Some(ELOOP) => "symbolic link loop".to_string(),
        Ok(to) if e.kind() == io::ErrorKind::NotFound => {
            format!("dangling symbolic link (to {})", shown(&to))
        }
        _ => format!("symbolic link: {}", io_reason(e)),
    };
    ReadError::Skipped {
        source: shown(path),
        reason,
    }
}

/// What a directory walk finds: the files to read, the entries skipped with a warning, and the
/// count of files skipped as not captures.
struct Walked<'a> {
    out: &'a mut Vec<(Source, u64)>,
    skipped: &'a mut Vec<ReadError>,
    not_captures: &'a mut u64,
}

/// Whether the file at `path` starts like something to read: a capture, a compressed
/// capture, or a format the reader names with advice (see [`super::native`]). An empty file
/// is not. Reads at most 80 bytes.
fn worth_reading(path: &Path) -> Result<bool, String> {
    let mut file = File::open(path).map_err(|e| format!("{}: {}", shown(path), io_reason(&e)))?;
    let mut head = [0u8; super::native::IDENTIFY_BYTES];
    let got = read_up_to(&mut file, &mut head)
        .map_err(|e| format!("{}: {}", shown(path), io_reason(&e)))?;
    let head = head.get(..got).unwrap_or_default();
    Ok(Compression::sniff(head).is_some() || super::native::is_capture_or_named(head))
}

/// Appends the files under `dir`, depth first, each directory's entries in [`compare_names`]
/// order.
fn walk(dir: &Path, found: &mut Walked<'_>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("{}: {}", shown(dir), io_reason(&e)))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {}", shown(dir), io_reason(&e)))?;
        if !entry.file_name().as_encoded_bytes().starts_with(b".") {
            names.push(entry);
        }
    }
    names.sort_by(|a, b| {
        compare_names(
            a.file_name().as_encoded_bytes(),
            b.file_name().as_encoded_bytes(),
        )
    });
    for entry in names {
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {}", shown(&path), io_reason(&e)))?;
        if kind.is_dir() {
            walk(&path, found)?;
            continue;
        }
        // Follows a symbolic link, to read a linked file; a link to a directory is not
        // followed (it could lead back up the tree).
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if kind.is_symlink() => {
                found.skipped.push(broken_link(&path, &e));
                continue;
            }
            Err(e) => return Err(format!("{}: {}", shown(&path), io_reason(&e))),
        };
        if !meta.is_file() {
            log::debug!("{}: skipped: not a regular file", shown(&path));
        } else if worth_reading(&path)? {
            found.out.push((Source::File(path), meta.len()));
        } else {
            log::debug!("{}: skipped: not a capture", shown(&path));
            *found.not_captures += 1;
        }
    }
    Ok(())
}

/// Name order, except that names differing only by a trailing decimal number sort by that
/// number: `cap.pcap` < `cap.pcap1` < `cap.pcap2` < `cap.pcap10`, `cap.pcap09` < `cap.pcap10`.
pub fn compare_names(a: &[u8], b: &[u8]) -> Ordering {
    let (stem_a, num_a) = split_number(a);
    let (stem_b, num_b) = split_number(b);
    stem_a
        .cmp(stem_b)
        .then_with(|| match (num_a, num_b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => compare_numbers(x, y),
        })
        .then_with(|| a.cmp(b))
}

/// A name as (stem, trailing digits); the digits are `None` when there are none.
fn split_number(name: &[u8]) -> (&[u8], Option<&[u8]>) {
    let digits = name.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let (stem, num) = name.split_at(name.len() - digits);
    (stem, (!num.is_empty()).then_some(num))
}

/// Decimal digit strings by value, of any length.
fn compare_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |d: &[u8]| -> usize { d.iter().take_while(|&&c| c == b'0').count() };
    let (a, b) = (&a[trim(a)..], &b[trim(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The files of each rotated set named on the command line (same directory and same name
/// but for a trailing number) are put in numeric order, in the places they were given at: a
/// shell's `cap.pcap*` lists `cap.pcap10` before `cap.pcap2`.
fn order_rotated_sets(inputs: &mut [(Source, u64)], named: &[usize]) {
    let stem_of = |i: usize| -> Option<(PathBuf, Vec<u8>)> {
        let Some((Source::File(path), _)) = inputs.get(i) else {
            return None;
        };
        let name = path.file_name()?.as_encoded_bytes();
        let (stem, _) = split_number(name);
        Some((
            path.parent().unwrap_or(Path::new("")).to_path_buf(),
            stem.to_vec(),
        ))
    };
    let keyed: Vec<(usize, (PathBuf, Vec<u8>))> = named
        .iter()
        .filter_map(|&i| stem_of(i).map(|k| (i, k)))
        .collect();
    let mut done = vec![false; keyed.len()];
    for first in 0..keyed.len() {
        if done[first] {
            continue;
        }
        let key = &keyed[first].1;
        let members: Vec<usize> = (first..keyed.len())
            .filter(|&j| !done[j] && &keyed[j].1 == key)
            .collect();
        for &j in &members {
            done[j] = true;
        }
        if members.len() < 2 {
            continue;
        }
        let slots: Vec<usize> = members.iter().map(|&j| keyed[j].0).collect();
        let mut group: Vec<(Source, u64)> = slots.iter().map(|&i| inputs[i].clone()).collect();
        group.sort_by(|(a, _), (b, _)| compare_names(&file_name(a), &file_name(b)));
        for (slot, input) in slots.into_iter().zip(group) {
            inputs[slot] = input;
        }
    }
}

fn file_name(source: &Source) -> Vec<u8> {
    match source {
        Source::File(p) => p
            .file_name()
            .map(|n| n.as_encoded_bytes().to_vec())
            .unwrap_or_default(),
        Source::Stdin => Vec::new(),
    }
}

/// Bytes read at each end of a file to tell a copy from a different file of the same size.
const END_BYTES: u64 = 1 << 20;

/// For each input, the earlier input with the same bytes, if there is one: the same file
/// under another path (same device and inode) or a copy of it (same size and the same hash of
/// the first and last MiB, then confirmed by comparing every byte). Only regular files are
/// compared: standard input and pipes are never found the same as anything. A file that
/// cannot be read here is taken as different (reading it will say what is wrong).
///
/// The cost: one `stat` per file; two MiB read from each file that has the size of another;
/// a full comparison only of files whose sizes and ends agree.
pub fn same_content(sources: &[Source]) -> Vec<Option<usize>> {
    let mut found = vec![None; sources.len()];
    let mut by_id: HashMap<(u64, u64), usize> = HashMap::new();
    // Files read in full so far, by size: (index, hash of its ends once computed).
    let mut by_size: HashMap<u64, Vec<(usize, Option<u64>)>> = HashMap::new();
    for (i, source) in sources.iter().enumerate() {
        let Source::File(path) = source else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if let Some(id) = file_id(&meta) {
            if let Some(&first) = by_id.get(&id) {
                found[i] = Some(first);
                continue;
            }
            by_id.insert(id, i);
        }
        let size = meta.len();
        if size == 0 {
            continue;
        }
        let group = by_size.entry(size).or_default();
        if group.is_empty() {
            group.push((i, None));
            continue;
        }
        let Some(hash) = ends_hash(path, size) else {
            continue;
        };
        for (j, their_hash) in group.iter_mut() {
            let Some(Source::File(their_path)) = sources.get(*j) else {
                continue;
            };
            if their_hash.is_none() {
                *their_hash = ends_hash(their_path, size);
            }
            if *their_hash == Some(hash) && same_bytes(their_path, path) {
                found[i] = Some(*j);
                break;
            }
        }
        if found[i].is_none() {
            group.push((i, Some(hash)));
        }
    }
    found
}

/// What tells a file apart from every other on this machine: (device, inode).
#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// A hash of the first and the last [`END_BYTES`] of a file of `size` bytes.
fn ends_hash(path: &Path, size: u64) -> Option<u64> {
    use std::hash::{DefaultHasher, Hasher};
    use std::io::{Seek, SeekFrom};
    let mut file = File::open(path).ok()?;
    let mut hasher = DefaultHasher::new();
    let mut buf = vec![0u8; END_BYTES.min(size) as usize];
    let got = read_up_to(&mut file, &mut buf).ok()?;
    hasher.write(buf.get(..got)?);
    if size > END_BYTES {
        file.seek(SeekFrom::Start(size - END_BYTES)).ok()?;
        let got = read_up_to(&mut file, &mut buf).ok()?;
        hasher.write(buf.get(..got)?);
    }
    Some(hasher.finish())
}

/// Whether two files hold the same bytes, read side by side.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (Ok(mut a), Ok(mut b)) = (File::open(a), File::open(b)) else {
        return false;
    };
    let mut buf_a = vec![0u8; 1 << 16];
    let mut buf_b = vec![0u8; 1 << 16];
    loop {
        let (Ok(n), Ok(m)) = (
            read_up_to(&mut a, &mut buf_a),
            read_up_to(&mut b, &mut buf_b),
        ) else {
            return false;
        };
        if n != m || buf_a.get(..n) != buf_b.get(..m) {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

/// A compression recognised by its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// RFC 1952; concatenated members (`cat a.gz b.gz`) are read as one stream.
    Gzip,
    /// RFC 8878; several frames are read as one stream.
    Zstd,
}

impl Compression {
    /// The compression whose magic number starts `head`.
    pub fn sniff(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
            // A skippable frame (0x184D2A50-0x184D2A5F, RFC 8878 section 3.1.2), as `pzstd`
            // starts its output with: the decoder skips it.
            || matches!(head, [m, 0x2a, 0x4d, 0x18, ..] if m & 0xf0 == 0x50)
        {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Bytes of an input consumed so far (compressed bytes for a compressed input): what the
/// progress bar shows, against the file's size.
#[derive(Debug, Clone, Default)]
pub struct Consumed(Arc<AtomicU64>);

impl Consumed {
    pub fn get(&self) -> u64 {
        self.0.load(AtomicOrdering::Relaxed)
    }
}

/// Counts the bytes read through it, in the input's own count and in a count shared by all
/// the inputs of a run.
struct Counting<R> {
    inner: R,
    count: Consumed,
    total: Option<Consumed>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.0.fetch_add(n as u64, AtomicOrdering::Relaxed);
        if let Some(total) = &self.total {
            total.0.fetch_add(n as u64, AtomicOrdering::Relaxed);
        }
        Ok(n)
    }
}

/// An input opened for reading.
#[derive(Debug)]
pub struct Opened {
    pub reader: NativeReader,
    /// How the input was compressed, if it was.
    pub compression: Option<Compression>,
    /// Bytes of the input itself (before decompression) read so far.
    pub consumed: Consumed,
}

/// Opens a capture file or standard input, undoing gzip or zstd compression.
pub fn open(source: &Source) -> Result<Opened, ReadError> {
    open_stream(source.to_string(), source.open_bytes()?)
}

/// [`open`], with the bytes read also added to `total` (the run's progress).
pub fn open_counted(source: &Source, total: &Consumed) -> Result<Opened, ReadError> {
    open_counted_stream(
        source.to_string(),
        source.open_bytes()?,
        Some(total.clone()),
    )
}

/// Opens a capture from any byte stream, undoing gzip or zstd compression; `name` is what
/// messages call it.
pub fn open_stream<R: Read + Send + 'static>(
    name: impl Into<String>,
    input: R,
) -> Result<Opened, ReadError> {
    open_counted_stream(name.into(), input, None)
}

fn open_counted_stream<R: Read + Send + 'static>(
    name: String,
    input: R,
    total: Option<Consumed>,
) -> Result<Opened, ReadError> {
    let consumed = Consumed::default();
    let mut input = Counting {
        inner: input,
        count: consumed.clone(),
        total,
    };
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut input, &mut magic).map_err(|e| ReadError::Open {
        source: name.clone(),
        reason: io_reason(&e),
    })?;
    let head = magic.get(..got).unwrap_or_default();
    let compression = Compression::sniff(head);
    // The magic bytes are given back in front of the rest.
    let stream = Cursor::new(head.to_vec()).chain(input);
    let opened = match compression {
        None => NativeReader::from_reader(name.clone(), stream),
        Some(Compression::Gzip) => {
            NativeReader::from_reader(name.clone(), flate2::read::MultiGzDecoder::new(stream))
        }
        Some(Compression::Zstd) => match zstd::stream::read::Decoder::new(stream) {
            Ok(decoder) => NativeReader::from_reader(name.clone(), decoder),
            Err(e) => Err(ReadError::Open {
                source: name.clone(),
                reason: io_reason(&e),
            }),
        },
    };
    let reader = opened.map_err(|e| match (e, compression) {
        (ReadError::Open { source, reason }, Some(c)) => ReadError::Open {
            source,
            reason: format!("{reason} ({}-compressed input)", c.name()),
        },
        (e, _) => e,
    })?;
    if let Some(c) = compression {
        log::debug!("{name}: {} compressed", c.name());
    }
    Ok(Opened {
        reader,
        compression,
        consumed,
    })
}

/// Reads until `buf` is full or the input ends; the count read.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<&str> = names.to_vec();
        v.sort_by(|a, b| compare_names(a.as_bytes(), b.as_bytes()));
        v.into_iter().map(String::from).collect()
    }

    #[test]
    fn rotated_names_sort_by_their_number() {
        assert_eq!(
            sorted(&[
                "cap.pcap10",
                "cap.pcap2",
                "cap.pcap",
                "cap.pcap1",
                "cap.pcap0"
            ]),
            [
                "cap.pcap",
                "cap.pcap0",
                "cap.pcap1",
                "cap.pcap2",
                "cap.pcap10"
            ]
        );
        assert_eq!(
            sorted(&["cap.pcap10", "cap.pcap09", "cap.pcap00", "cap.pcap1"]),
            ["cap.pcap00", "cap.pcap1", "cap.pcap09", "cap.pcap10"]
        );
        // Zero-padded names and plain name order agree; other names keep byte order.
        assert_eq!(
            sorted(&[
                "b.pcap",
                "a_00002_20250101.pcapng",
                "a_00001_20250102.pcapng"
            ]),
            [
                "a_00001_20250102.pcapng",
                "a_00002_20250101.pcapng",
                "b.pcap"
            ]
        );
        // Numbers far beyond u64 still compare by value; equal values by their spelling.
        assert_eq!(
            sorted(&[
                "x100000000000000000000000",
                "x99999999999999999999999",
                "x01",
                "x1"
            ]),
            [
                "x01",
                "x1",
                "x99999999999999999999999",
                "x100000000000000000000000"
            ]
        );
    }

    #[test]
    fn compression_is_told_by_magic() {
        assert_eq!(
            Compression::sniff(&[0x1f, 0x8b, 8, 0]),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::sniff(&[0x28, 0xb5, 0x2f]), None);
        assert_eq!(Compression::sniff(&[0x0a, 0x0d, 0x0d, 0x0a]), None);
        assert_eq!(Compression::sniff(&[]), None);
    }

    #[test]
    fn command_line_rotated_sets_are_reordered_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |n: &str| {
            let p = dir.path().join(n);
            std::fs::File::create(&p)
                .unwrap()
                .write_all(n.as_bytes())
                .unwrap();
            p
        };
        let args = [
            mk("other.pcap"),
            mk("cap.pcap10"),
            mk("cap.pcap"),
            mk("zz.pcap"),
            mk("cap.pcap2"),
        ];
        let got: Vec<String> = expand(&args)
            .unwrap()
            .into_iter()
            .map(|(s, _)| file_name(&s))
            .map(|n| String::from_utf8(n).unwrap())
            .collect();
        assert_eq!(
            got,
            // The set's places (2nd, 3rd, 5th) hold it in numeric order; the others stay.
            [
                "other.pcap",
                "cap.pcap",
                "cap.pcap2",
                "zz.pcap",
                "cap.pcap10"
            ]
        );
    }

    #[test]
    fn same_content_by_inode_or_by_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Over 2 MiB, so that the middle is in neither end that is hashed.
        let mut bytes: Vec<u8> = (0..3 << 20).map(|i| (i % 251) as u8).collect();
        std::fs::write(d.join("a"), &bytes).unwrap();
        std::fs::write(d.join("a-copy"), &bytes).unwrap();
        bytes[3 << 19] ^= 1;
        std::fs::write(d.join("middle-differs"), &bytes).unwrap();
        bytes.pop();
        std::fs::write(d.join("shorter"), &bytes).unwrap();
        std::fs::write(d.join("empty"), b"").unwrap();
        std::fs::write(d.join("empty2"), b"").unwrap();
        let file = |n: &str| Source::File(d.join(n));
        let sources = [
            file("a"),
            file("middle-differs"),
            file("a-copy"),
            Source::File(d.join(".").join("a")),
            file("shorter"),
            Source::Stdin,
            file("empty"),
            file("empty2"),
            file("a"),
            file("no-such-file"),
        ];
        assert_eq!(
            same_content(&sources),
            [
                None,
                None,
                Some(0),
                Some(0),
                None,
                None,
                None,
                // Empty files are not compared (each will be refused by name).
                None,
                Some(0),
                None
            ]
        );
    }

    #[test]
    fn stdin_only_once() {
        let args = [PathBuf::from("-"), PathBuf::from("-")];
        assert_eq!(
            expand(&args).unwrap_err(),
            "- (standard input) can be read only once"
        );
    }

    #[test]
    fn consumed_counts_compressed_bytes() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/tls10-exchange.pcap"
        ))
        .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let mut opened = open_stream("x.gz", Cursor::new(gz.clone())).unwrap();
        assert_eq!(opened.compression, Some(Compression::Gzip));
        let mut packets = 0;
        while opened.reader.next_frame().unwrap().is_some() {
            packets += 1;
        }
        assert!(packets > 0);
        assert_eq!(opened.consumed.get(), gz.len() as u64);
        assert_eq!(opened.reader.bytes_read(), data.len() as u64);
    }
}
