//! Corrupt and unreadable captures, end to end: the `tlscensus` binary on damaged copies of a
//! fixture, asserting the exact message on stderr, the exit code and what was written.
//!
//! The rule under test (README "Exit codes"): one line naming the file and the byte offset or
//! packet number; exit 1 when nothing could be read (and no output file is left behind); exit 3
//! when some packets were read, with the census of exactly those packets printed and written.
//! Every damaged capture is made here from a fixture's bytes, by code.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_exit, fixture, p, text, tlscensus, tlscensus_stdin};

/// `read --scope all --csv OUT CAPTURE`: the table on stdout, the census in OUT.
fn read_with_csv(capture: &Path, out: &Path) -> Output {
    tlscensus(&["read", "--scope", "all", "--csv", p(out), p(capture)])
}

/// `read --quiet --scope all --connections - CAPTURE`: the connection rows on stdout.
fn connections_of(capture: &Path) -> Output {
    tlscensus(&[
        "read",
        "--quiet",
        "--scope",
        "all",
        "--connections",
        "-",
        p(capture),
    ])
}

/// Offsets in a classic little-endian pcap: where each record starts, and the end of the file
/// (`bounds[k]` = the end of packet k, `bounds[0]` = the end of the file header).
fn record_bounds(pcap: &[u8]) -> Vec<usize> {
    let mut bounds = vec![24];
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let caplen = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
        bounds.push(at);
    }
    assert_eq!(at, pcap.len(), "fixture ends at a record boundary");
    bounds
}

/// What one run gave: exit code, stdout, stderr, and the CSV file if one was left.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    csv: Option<String>,
}

impl Run {
    /// Refused with this message: exit 1, nothing on stdout, no CSV left behind.
    fn refused(stderr: String) -> Run {
        Run {
            code: 1,
            stdout: String::new(),
            stderr,
            csv: None,
        }
    }

    /// Stopped at damage with this warning: exit 3, and the census of `reference`, the run on
    /// the packets before the damage.
    fn partial(reference: &Run, stderr: String) -> Run {
        Run {
            code: 3,
            stdout: reference.stdout.clone(),
            stderr,
            csv: reference.csv.clone(),
        }
    }
}

fn run_cut(dir: &Path, data: &[u8], name: &str) -> (PathBuf, Run) {
    let capture = dir.join(format!("{name}.pcap"));
    let out = dir.join(format!("{name}.csv"));
    fs::write(&capture, data).unwrap();
    let o = read_with_csv(&capture, &out);
    let run = Run {
        code: o.status.code().expect("exit code"),
        stdout: text(&o.stdout),
        stderr: text(&o.stderr),
        csv: fs::read_to_string(&out).ok(),
    };
    (capture, run)
}

/// The fixture cut at every byte offset, from the empty file to the whole capture: the file
/// header, each record header and each packet body. At a record boundary the capture is whole
/// and exits 0; anywhere else the message names the byte where the file ends and the piece
/// it ends in, and the census is exactly that of the packets before the cut.
#[test]
fn truncated_at_every_byte_offset() {
    let whole = fs::read(fixture("failed-tls10-vs-min12.pcap")).unwrap();
    let bounds = record_bounds(&whole);
    assert_eq!(bounds.len(), 11, "10 packets");
    let dir = tempfile::tempdir().unwrap();

    // The reference: what a whole capture of the first k packets gives.
    let reference: Vec<Run> = bounds
        .iter()
        .enumerate()
        .map(|(k, &b)| run_cut(dir.path(), &whole[..b], &format!("whole-{k}")).1)
        .collect();
    for (k, r) in reference.iter().enumerate() {
        assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{k} packets");
        assert!(
            r.stdout.contains(&format!(
                "read {k} packet{}, ",
                if k == 1 { "" } else { "s" }
            )),
            "{}",
            r.stdout
        );
    }
    // The ClientHello is packet 4: from there on the census has its client.
    assert!(reference[3].csv.as_deref().unwrap().lines().count() == 1);
    assert!(reference[4]
        .csv
        .as_deref()
        .unwrap()
        .contains("10.1.0.14,1,"));

    let offsets: Vec<usize> = (0..=whole.len()).collect();
    let check = |n: usize| {
        let (path, got) = run_cut(dir.path(), &whole[..n], &format!("cut-{n}"));
        let p = path.display();
        // Packets wholly before the cut, and where the unfinished piece starts.
        let k = bounds.iter().rposition(|&b| b <= n);
        let expected = match k {
            _ if n == 0 => Run::refused(format!(
                "tlscensus: {p}: empty file: not a pcap or pcapng capture\n"
            )),
            _ if n < 4 => Run::refused(format!(
                "tlscensus: {p}: not a pcap or pcapng capture (unknown file format)\n"
            )),
            None => Run::refused(format!(
                "tlscensus: {p}: capture is cut short before the first packet (it ends at \
                 byte {n}, inside the 24-byte file header that starts at byte 0)\n"
            )),
            Some(k) if bounds[k] == n => Run {
                code: 0,
                stdout: reference[k].stdout.clone(),
                stderr: String::new(),
                csv: reference[k].csv.clone(),
            },
            Some(k) => {
                let start = bounds[k];
                let what = if n - start < 16 {
                    "16-byte record header".to_string()
                } else {
                    let caplen = bounds[k + 1] - start - 16;
                    format!("16-byte record header + {caplen}-byte packet")
                };
                let position = match k {
                    0 => "before the first packet".to_string(),
                    k => format!("after packet {k}"),
                };
                let stderr = format!(
                    "tlscensus: warning: {p}: capture is cut short {position} (it ends at byte \
                     {n}, inside the {what} that starts at byte {start}); results cover the \
                     packets before it\n"
                );
                if k == 0 {
                    Run::refused(stderr)
                } else {
                    Run::partial(&reference[k], stderr)
                }
            }
        };
        assert_eq!(got, expected, "cut at byte {n}");
        let _ = fs::remove_file(path);
    };
    // Two workers: a thousand short runs of the binary.
    let (even, odd): (Vec<usize>, Vec<usize>) = offsets.iter().partition(|n| *n % 2 == 0);
    std::thread::scope(|s| {
        s.spawn(|| even.iter().for_each(|&n| check(n)));
        s.spawn(|| odd.iter().for_each(|&n| check(n)));
    });
}

#[test]
fn wrong_magic_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = fs::read(fixture("tls10-exchange.pcap")).unwrap();
    data[..4].copy_from_slice(b"\x0a\x0d\x0d\x0b");
    let (path, got) = run_cut(dir.path(), &data, "magic");
    assert_eq!(
        got,
        Run::refused(format!(
            "tlscensus: {}: not a pcap or pcapng capture (unknown file format)\n",
            path.display()
        ))
    );
    let txt = fixture("not-a-capture.txt");
    let o = tlscensus(&["read", txt.to_str().unwrap()]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: not a pcap or pcapng capture (unknown file format)\n",
            txt.display()
        ),
    );
    assert_eq!(o.stdout, b"");
}

#[test]
fn zero_length_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, got) = run_cut(dir.path(), b"", "empty");
    assert_eq!(
        got,
        Run::refused(format!(
            "tlscensus: {}: empty file: not a pcap or pcapng capture\n",
            path.display()
        ))
    );
}

/// Sets the captured length of record `index` (0-based) of a little-endian classic pcap.
fn set_caplen(pcap: &mut [u8], bounds: &[usize], index: usize, caplen: u32) {
    let at = bounds[index] + 8;
    pcap[at..at + 4].copy_from_slice(&caplen.to_le_bytes());
}

#[test]
fn caplen_beyond_the_snap_length_stops_there_with_the_census_so_far() {
    let whole = fs::read(fixture("failed-tls10-vs-min12.pcap")).unwrap();
    let bounds = record_bounds(&whole);
    let dir = tempfile::tempdir().unwrap();
    // A snap length of 100: packet 4 (the 200-byte ClientHello frame) is over it.
    let mut data = whole.clone();
    data[16..20].copy_from_slice(&100u32.to_le_bytes());
    let (_, reference) = run_cut(dir.path(), &data[..bounds[3]], "snap-ref");
    let (path, got) = run_cut(dir.path(), &data, "snap");
    assert_eq!(
        got,
        Run::partial(
            &reference,
            format!(
                "tlscensus: warning: {}: capture is damaged at byte {} (after packet 3): packet 4 \
                 claims 200 captured bytes, more than the snap length of 100; results cover the \
                 packets before it\n",
                path.display(),
                bounds[3]
            )
        )
    );
    assert!(reference.stdout.contains("read 3 packets, "));

    // Over the 256 KiB maximum, in the first record: nothing read.
    let mut data = whole.clone();
    set_caplen(&mut data, &bounds, 0, u32::MAX);
    let (path, got) = run_cut(dir.path(), &data, "huge");
    assert_eq!(
        got,
        Run::refused(format!(
            "tlscensus: warning: {}: capture is damaged at byte 24 (before the first packet): \
             packet 1 claims 4294967295 captured bytes, more than the maximum of 262144; \
             results cover the packets before it\n",
            path.display()
        ))
    );
}

#[test]
fn caplen_beyond_the_end_of_the_file_is_a_cut() {
    let whole = fs::read(fixture("failed-tls10-vs-min12.pcap")).unwrap();
    let bounds = record_bounds(&whole);
    let dir = tempfile::tempdir().unwrap();
    let (_, reference) = run_cut(dir.path(), &whole[..bounds[9]], "end-ref");
    let mut data = whole.clone();
    let last = bounds[10] - bounds[9] - 16;
    set_caplen(&mut data, &bounds, 9, (last + 1000) as u32);
    let (path, got) = run_cut(dir.path(), &data, "end");
    assert_eq!(
        got,
        Run::partial(
            &reference,
            format!(
                "tlscensus: warning: {}: capture is cut short after packet 9 (it ends at byte {}, \
                 inside the 16-byte record header + {}-byte packet that starts at byte {}); \
                 results cover the packets before it\n",
                path.display(),
                whole.len(),
                last + 1000,
                bounds[9]
            )
        )
    );
    assert!(reference.csv.unwrap().contains("10.1.0.14,1,"));
}

/// The packets of a little-endian classic pcap: (timestamp seconds, fraction, frame), and its
/// link type.
fn pcap_packets(pcap: &[u8]) -> (u32, Vec<(u32, u32, Vec<u8>)>) {
    let le = |at: usize| u32::from_le_bytes(pcap[at..at + 4].try_into().unwrap());
    let link = le(20);
    let bounds = record_bounds(pcap);
    let packets = bounds
        .windows(2)
        .map(|w| (le(w[0]), le(w[0] + 4), pcap[w[0] + 16..w[1]].to_vec()))
        .collect();
    (link, packets)
}

/// A little-endian pcapng block: type, length, body padded to 4 bytes, length again.
fn block(block_type: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    body.resize(body.len().next_multiple_of(4), 0);
    let len = (12 + body.len()) as u32;
    let mut b = block_type.to_le_bytes().to_vec();
    b.extend(len.to_le_bytes());
    b.extend(body);
    b.extend(len.to_le_bytes());
    b
}

/// One pcapng holding several fixtures, each on its own interface with the fixture's link type
/// and timestamp resolution, with blocks of unknown types between them; the census must be
/// exactly that of the fixtures read one by one.
#[test]
fn pcapng_with_unknown_blocks_and_interfaces_of_different_link_types() {
    let names = [
        "tls10-exchange.pcap",
        "tls12-rawip.pcap",
        "tls11-sll.pcap",
        "tls12-sll2.pcap",
        "tls12-null.pcap",
        "tls12-nanosec.pcap",
    ];
    let mut ng = block(0x0A0D_0D0A, &{
        let mut b = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
        b.extend(1u16.to_le_bytes());
        b.extend(0u16.to_le_bytes());
        b.extend((-1i64).to_le_bytes());
        b
    });
    let mut expected = Vec::new();
    let mut links = Vec::new();
    for (if_id, name) in names.iter().enumerate() {
        let data = fs::read(fixture(name)).unwrap();
        let nanos = data[..4] == [0x4d, 0x3c, 0xb2, 0xa1];
        let (link, packets) = pcap_packets(&data);
        links.push(link);
        // An unknown block type, then the interface (if_tsresol 9 for a nanosecond pcap).
        ng.extend(block(0x0000_7777, b"not for us"));
        let mut idb = (link as u16).to_le_bytes().to_vec();
        idb.extend([0, 0]);
        idb.extend(262_144u32.to_le_bytes());
        if nanos {
            idb.extend(9u16.to_le_bytes());
            idb.extend(1u16.to_le_bytes());
            idb.extend([9, 0, 0, 0]);
            idb.extend([0; 4]);
        }
        ng.extend(block(1, &idb));
        for (secs, frac, frame) in packets {
            let per_sec: u64 = if nanos { 1_000_000_000 } else { 1_000_000 };
            let ts = u64::from(secs) * per_sec + u64::from(frac);
            let mut epb = (if_id as u32).to_le_bytes().to_vec();
            epb.extend(((ts >> 32) as u32).to_le_bytes());
            epb.extend((ts as u32).to_le_bytes());
            epb.extend((frame.len() as u32).to_le_bytes());
            epb.extend((frame.len() as u32).to_le_bytes());
            epb.extend(&frame);
            ng.extend(block(6, &epb));
            // A custom block (copiable and not) between packets: skipped unread.
            ng.extend(block(0x0000_0BAD, &[0xff; 7]));
            ng.extend(block(0x4000_0BAD, &[]));
        }
        let o = connections_of(&fixture(name));
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o.stderr));
        let rows = text(&o.stdout);
        let rows: Vec<&str> = rows.lines().skip(1).collect();
        assert_eq!(rows.len(), 1, "{name}");
        expected.push(rows[0].to_string());
    }
    assert_eq!(links, [1, 101, 113, 276, 0, 1]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed-links.pcapng");
    fs::write(&path, &ng).unwrap();
    let o = connections_of(&path);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    let out = text(&o.stdout);
    let got: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(got, expected);
}

#[test]
fn a_directory_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("tls10-exchange.pcap");
    let o = tlscensus(&["read", good.to_str().unwrap(), dir.path().to_str().unwrap()]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: empty directory: no files to read (hidden files are skipped)\n",
            dir.path().display()
        ),
    );
    assert_eq!(o.stdout, b"");
}

/// A file that cannot be opened: mode 000 (not as root, who may open it anyway) and a file
/// whose read fails (`/proc/self/mem` opens, but reading its address 0 is an I/O error).
#[test]
fn an_unreadable_file_is_one_line() {
    let o = tlscensus(&["read", "/proc/self/mem"]);
    assert_exit(&o, 1, "tlscensus: /proc/self/mem: Input/output error\n");
    assert_eq!(o.stdout, b"");

    // The effective user, from /proc: root reads mode-000 files, so that half would prove nothing.
    let is_root = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false);
    if is_root {
        eprintln!("an_unreadable_file_is_one_line: running as root, mode 000 part skipped");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.pcap");
    fs::copy(fixture("tls10-exchange.pcap"), &path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let o = tlscensus(&["read", path.to_str().unwrap()]);
    assert_exit(
        &o,
        1,
        format!("tlscensus: {}: Permission denied\n", path.display()),
    );
}

#[test]
fn garbage_on_stdin_is_refused() {
    let o = tlscensus_stdin(&["read", "-"], b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_exit(
        &o,
        1,
        "tlscensus: <stdin>: not a pcap or pcapng capture (unknown file format)\n",
    );
    assert_eq!(o.stdout, b"");

    let o = tlscensus_stdin(&["read", "-"], b"");
    assert_exit(
        &o,
        1,
        "tlscensus: <stdin>: empty file: not a pcap or pcapng capture\n",
    );

    // A capture on stdin that turns to garbage after packet 4: the census of those 4 packets.
    // The garbage's bytes 8..12, "bage", are read as the next record's captured length.
    let whole = fs::read(fixture("failed-tls10-vs-min12.pcap")).unwrap();
    let bounds = record_bounds(&whole);
    let mut data = whole[..bounds[4]].to_vec();
    data.extend(b"\xde\xad\xbe\xef garbage after the fourth packet \xff\xff\xff\xff");
    assert_eq!(u32::from_le_bytes(*b"bage"), 1_701_273_954);
    let o = tlscensus_stdin(&["read", "--scope", "all", "-"], &data);
    assert_exit(
        &o,
        3,
        format!(
            "tlscensus: warning: <stdin>: capture is damaged at byte {} (after packet 4): packet \
             5 claims 1701273954 captured bytes, more than the maximum of 262144; results cover \
             the packets before it\n",
            bounds[4]
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, reference) = run_cut(dir.path(), &whole[..bounds[4]], "stdin-ref");
    assert_eq!(text(&o.stdout), reference.stdout);
}
