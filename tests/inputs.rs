//! Many inputs: compressed captures (gzip, zstd; files and standard input), rotated sets and
//! directories give the same census as the plain file, byte for byte; directories are read in
//! name order; every error names the file. Inputs that overlap in time (a TAP with a port per
//! direction, two sensors) are merged packet by packet into the census of the one capture they
//! were cut from; the same bytes given twice are read once, with a warning.
//!
//! The rotated sets are made at test time with `editcap -c` (Wireshark's; CI installs tshark,
//! which brings it); the tests that need it say so and pass without it.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_exit, fixture, text, tlscensus, tlscensus_stdin};
use tlscensus::capture::inputs::{open, Opened};
use tlscensus::capture::offline::Source;
use tlscensus::capture::{Frame, LinkType, Timestamp};
use tlscensus::decode::{decode_or_fragment, Decoded};
use tlscensus::synth::{write_pcap, Packet};

/// Everything a run says about its inputs' census: the table (stdout), the per-client CSV and
/// the per-connection CSV, all over every input given.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Census {
    table: String,
    clients: String,
    connections: String,
}

fn census_with(inputs: &[&Path], stdin: Option<Vec<u8>>) -> Census {
    let (census, code, err) = census_run(inputs, stdin);
    assert_eq!(code, 0, "{inputs:?}: {err}");
    census
}

/// The census of a run, its exit code and its stderr.
fn census_run(inputs: &[&Path], stdin: Option<Vec<u8>>) -> (Census, i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let clients = dir.path().join("clients.csv");
    let connections = dir.path().join("connections.csv");
    let mut args: Vec<&Path> = vec![
        Path::new("read"),
        Path::new("--scope"),
        Path::new("all"),
        Path::new("--csv"),
        &clients,
        Path::new("--connections"),
        &connections,
    ];
    args.extend_from_slice(inputs);
    let o = match stdin {
        Some(bytes) => tlscensus_stdin(&args, &bytes),
        None => tlscensus(&args),
    };
    let census = Census {
        table: text(&o.stdout),
        clients: std::fs::read_to_string(&clients).unwrap_or_default(),
        connections: std::fs::read_to_string(&connections).unwrap_or_default(),
    };
    (census, o.status.code().unwrap_or(-1), text(&o.stderr))
}

fn census(inputs: &[&Path]) -> Census {
    census_with(inputs, None)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// The fixtures the compression tests run on: classic pcap (µs, ns) and pcapng.
const CAPTURES: [&str; 4] = [
    "sample-m365.pcapng",
    "tls10-exchange.pcap",
    "tls12-nanosec.pcap",
    "mixed.pcapng",
];

#[test]
fn gzip_and_zstd_files_give_the_plain_census() {
    let dir = tempfile::tempdir().unwrap();
    for name in CAPTURES {
        let plain = fixture(name);
        let data = std::fs::read(&plain).unwrap();
        let expected = census(&[&plain]);
        assert!(expected.connections.lines().count() > 1, "{name}: no rows");
        // Named for what they are not: the content decides, never the extension.
        let gz = dir.path().join(format!("{name}.zst"));
        std::fs::write(&gz, gzip(&data)).unwrap();
        let zst = dir.path().join(format!("{name}.gz"));
        std::fs::write(&zst, zstd(&data)).unwrap();
        let bare = dir.path().join(format!("{name}-compressed"));
        std::fs::write(&bare, gzip(&data)).unwrap();
        for compressed in [&gz, &zst, &bare] {
            assert_eq!(census(&[compressed]), expected, "{}", compressed.display());
        }
    }
}

#[test]
fn compressed_standard_input_gives_the_plain_census() {
    let plain = fixture("sample-m365.pcapng");
    let data = std::fs::read(&plain).unwrap();
    let expected = census(&[&plain]);
    let stdin = Path::new("-");
    assert_eq!(census_with(&[stdin], Some(data.clone())), expected);
    assert_eq!(census_with(&[stdin], Some(gzip(&data))), expected);
    assert_eq!(census_with(&[stdin], Some(zstd(&data))), expected);
}

#[test]
fn compressed_and_plain_inputs_make_one_census() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixture("tls10-exchange.pcap");
    let b = fixture("tls13-teams.pcap");
    let bz = dir.path().join("b");
    std::fs::write(&bz, zstd(&std::fs::read(&b).unwrap())).unwrap();
    let expected = census(&[&a, &b]);
    assert_eq!(census(&[&a, &bz]), expected);
    assert!(expected.table.contains("2 clients"), "{}", expected.table);
}

/// `editcap -c N` cuts a capture into files of N packets; they are renamed `NAME` + the
/// number as `width` digits (`None`: tcpdump -C without -W, first file unnumbered).
fn rotated_set(
    src: &Path,
    packets_per_file: u32,
    dir: &Path,
    name: &str,
    width: Option<usize>,
) -> Option<Vec<PathBuf>> {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("split.pcapng");
    let run = Command::new("editcap")
        .arg("-c")
        .arg(packets_per_file.to_string())
        .arg(src)
        .arg(&out)
        .output();
    let run = match run {
        Ok(r) => r,
        Err(_) => {
            eprintln!("note: editcap is not installed (apt-get install tshark); skipped");
            return None;
        }
    };
    assert!(run.status.success(), "editcap: {}", text(&run.stderr));
    // editcap names them split_00000_<time>.pcapng, split_00001_<time>.pcapng, ...
    let mut parts: Vec<PathBuf> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    let mut names = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let target = match (width, i) {
            (None, 0) => dir.join(name),
            (None, i) => dir.join(format!("{name}{i}")),
            (Some(w), i) => dir.join(format!("{name}{i:0w$}")),
        };
        std::fs::copy(part, &target).unwrap();
        names.push(target);
    }
    Some(names)
}

#[test]
fn rotated_sets_are_read_in_numeric_order() {
    let plain = fixture("sample-m365.pcapng");
    let expected = census(&[&plain]);
    // 138 packets in files of 12: 12 files, so `cap.pcap10` and `cap.pcap11` exist and a
    // name-ordered read would put them before `cap.pcap2`.
    for width in [Some(1), Some(2), None] {
        let dir = tempfile::tempdir().unwrap();
        let Some(files) = rotated_set(&plain, 12, dir.path(), "cap.pcap", width) else {
            return;
        };
        assert_eq!(files.len(), 12);
        // As a shell's `cap.pcap*` lists them: by name.
        let mut by_name: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        by_name.sort();
        if width != Some(2) {
            assert_ne!(
                by_name,
                files.iter().map(PathBuf::as_path).collect::<Vec<_>>()
            );
        }
        assert_eq!(census(&by_name), expected, "{width:?}: named in glob order");
        assert_eq!(census(&[dir.path()]), expected, "{width:?}: the directory");
        // Compressed members of a set too.
        for f in files.iter().step_by(3) {
            let data = std::fs::read(f).unwrap();
            std::fs::write(f, gzip(&data)).unwrap();
        }
        assert_eq!(census(&by_name), expected, "{width:?}: partly compressed");
    }
}

#[test]
fn pieces_in_any_order_are_merged_back_in_time_order() {
    let plain = fixture("sample-m365.pcapng");
    let dir = tempfile::tempdir().unwrap();
    let Some(files) = rotated_set(&plain, 12, dir.path(), "cap.pcap", Some(1)) else {
        return;
    };
    // The same pieces, named so that no trailing number orders them: by name `p10-` and
    // `p11-` come before `p2-`, which concatenated would cut connections apart; merged by
    // timestamp they are read in time order.
    let shuffled = tempfile::tempdir().unwrap();
    for (i, f) in files.iter().enumerate() {
        std::fs::copy(f, shuffled.path().join(format!("p{i}-.pcapng"))).unwrap();
    }
    assert_eq!(census(&[shuffled.path()]), census(&[&plain]));
    let reversed: Vec<&Path> = files.iter().rev().map(PathBuf::as_path).collect();
    assert_eq!(census(&reversed), census(&[&plain]));
}

/// Files that are not captures, each in the error line naming it: the lines show the
/// reading order.
fn reading_order(args: &[&Path]) -> Vec<String> {
    let mut all = vec![Path::new("read"), Path::new("-q")];
    all.extend_from_slice(args);
    let o = tlscensus(&all);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    text(&o.stderr)
        .lines()
        .map(|l| {
            let l = l.strip_prefix("tlscensus: ").unwrap();
            let l = l.strip_prefix("warning: ").unwrap_or(l);
            l.split(": ").next().unwrap().to_string()
        })
        .collect()
}

#[test]
fn a_directory_is_read_recursively_in_name_order_without_hidden_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for rel in [
        "b/cap.pcap10",
        "b/cap.pcap2",
        "b/cap.pcap",
        "a.pcap",
        "c.pcap",
        "b/sub/z",
        ".hidden.pcap",
        ".git/objects/x",
        "b/.also-hidden",
    ] {
        let p = d.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        // Each different: files with the same bytes are read once. A zip header: a format the
        // reader names, so each is reported (a file it does not know is skipped silently).
        std::fs::write(&p, format!("PK\x03\x04 not a capture: {rel}")).unwrap();
    }
    let shown = |rel: &str| d.join(rel).display().to_string();
    assert_eq!(
        reading_order(&[d]),
        [
            "a.pcap",
            "b/cap.pcap",
            "b/cap.pcap2",
            "b/cap.pcap10",
            "b/sub/z",
            "c.pcap"
        ]
        .map(shown)
    );
    // Command-line order is kept around a directory (the second `c.pcap` is the same file:
    // told as such, not read).
    let c = d.join("c.pcap");
    let sub = d.join("b/sub");
    assert_eq!(
        reading_order(&[&c, &sub, &c]),
        ["c.pcap", "b/sub/z", "c.pcap"].map(shown)
    );
}

#[test]
fn an_empty_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
    let good = fixture("tls10-exchange.pcap");
    let o = tlscensus(&[Path::new("read"), &good, dir.path()]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: empty directory: no files to read (hidden files are skipped)\n",
            dir.path().display()
        ),
    );
    assert!(o.stdout.is_empty(), "refused before reading");
}

/// In a directory, files that are not captures by their first bytes (a README, a script, an
/// empty file) are skipped without a message and counted; a format the reader names (zip) is
/// still reported; a non-capture named on the command line is still an error.
#[test]
fn a_directory_skips_files_that_are_not_captures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(fixture("tls10-exchange.pcap"), d.join("cap.pcap")).unwrap();
    std::fs::write(d.join("README.md"), "# Captures of the branch office\n").unwrap();
    std::fs::write(d.join("record.sh"), "#!/bin/sh\ntcpdump -w cap.pcap\n").unwrap();
    std::fs::write(d.join("empty"), b"").unwrap();
    let json = d.join("run.json");
    let o = tlscensus(&[
        Path::new("read"),
        Path::new("-q"),
        Path::new("--stats"),
        Path::new("--json"),
        &json,
        d,
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.starts_with("run summary:\n"), "{err}");
    assert!(
        err.contains(&format!("  {:<42} {}\n", "files read", 1)),
        "{err}"
    );
    assert!(
        err.contains(&format!("  {:<42} {}\n", "files skipped (not captures)", 3)),
        "{err}"
    );
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(run["run"]["files"], 1);
    assert_eq!(run["run"]["files_not_captures"], 3);

    // A zip archive is a format the reader names: still one message, exit 3.
    std::fs::write(d.join("old.zip"), b"PK\x03\x04 a zipped capture").unwrap();
    let o = tlscensus(&[Path::new("read"), Path::new("-q"), d]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stderr),
        format!(
            "tlscensus: {}: not a pcap or pcapng capture: a zip archive: extract the capture \
             from it (`unzip FILE`) and read that\n",
            d.join("old.zip").display()
        )
    );

    // The same README named on the command line: an error, as before.
    let readme = d.join("README.md");
    let o = tlscensus(&[Path::new("read"), Path::new("-q"), &readme]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: not a pcap or pcapng capture (unknown file format)\n",
            readme.display()
        ),
    );

    // A directory of nothing but such files: nothing to read.
    let docs = d.join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(docs.join("notes.txt"), "notes").unwrap();
    let o = tlscensus(&[Path::new("read"), &docs]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: no capture to read (1 file skipped: not pcap, pcapng, gzip or zstd \
             by its first bytes)\n",
            docs.display()
        ),
    );
}

#[test]
fn errors_in_compressed_inputs_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::read(fixture("sample-m365.pcapng")).unwrap();
    let good = fixture("tls10-exchange.pcap");

    // A compressed file that is not a capture.
    let text_gz = dir.path().join("notes.gz");
    std::fs::write(&text_gz, gzip(b"hello, not a capture")).unwrap();
    // A gzip cut in the middle: the packets before the cut are counted, with a warning.
    let cut_gz = dir.path().join("cut.pcapng.gz");
    let gz = gzip(&data);
    std::fs::write(&cut_gz, &gz[..gz.len() / 2]).unwrap();
    // A zstd stream cut short, and a gzip damaged in the middle (its CRC-32 tells).
    let cut_zst = dir.path().join("cut.pcapng.zst");
    let zst = zstd(&data);
    std::fs::write(&cut_zst, &zst[..zst.len() - 100]).unwrap();
    let bad_gz = dir.path().join("bad.pcapng.gz");
    let mut gz = gzip(&data);
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&bad_gz, &gz).unwrap();

    let o = tlscensus(&[
        Path::new("read"),
        Path::new("-q"),
        &text_gz,
        &cut_gz,
        &cut_zst,
        &bad_gz,
        &good,
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "damaged inputs: {}",
        text(&o.stderr)
    );
    let err = text(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    // Inputs that cannot be opened are told first (each is opened once before the merge).
    assert_eq!(
        lines[0],
        format!(
            "tlscensus: {}: not a pcap or pcapng capture (unknown file format) \
             (gzip-compressed input)",
            text_gz.display()
        )
    );
    // Nothing decompressed before the cut: refused like any input that is no capture.
    assert_eq!(
        lines[1],
        format!(
            "tlscensus: {}: incomplete frame (zstd-compressed input)",
            cut_zst.display()
        )
    );
    // Then the damage, where the merge meets it (the two overlap in time).
    let cut = format!("tlscensus: warning: {}: ", cut_gz.display());
    let bad = format!("tlscensus: warning: {}: ", bad_gz.display());
    let cut_line = lines[2..].iter().find(|l| l.starts_with(&cut));
    assert!(
        cut_line.is_some_and(|l| l.ends_with("; results cover the packets before it")),
        "{err}"
    );
    assert!(lines[2..].iter().any(|l| l.starts_with(&bad)), "{err}");
}

#[test]
fn an_empty_compressed_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.zst");
    std::fs::write(&empty, zstd(b"")).unwrap();
    let o = tlscensus(&[Path::new("read"), &empty]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: empty file: not a pcap or pcapng capture (zstd-compressed input)\n",
            empty.display()
        ),
    );
}

/// The packets of a fixture (Ethernet, timestamps strictly increasing, so that a merge of its
/// pieces can only give them back in their order) as synthetic packets.
fn packets_of(name: &str) -> Vec<Packet> {
    let Opened { mut reader, .. } = open(&Source::File(fixture(name))).unwrap();
    let mut packets: Vec<Packet> = Vec::new();
    while let Some(f) = reader.next_frame().unwrap() {
        assert_eq!(f.link, LinkType::ETHERNET, "{name}");
        if let Some(last) = packets.last() {
            assert!(f.ts.0 > last.ts_nanos, "{name}: timestamps not increasing");
        }
        packets.push(Packet {
            ts_nanos: f.ts.0,
            frame: f.data.to_vec(),
        });
    }
    packets
}

/// The TCP segment of a synthetic packet.
fn ports(p: &Packet) -> (u16, u16) {
    let frame = Frame {
        number: 1,
        ts: Timestamp(p.ts_nanos),
        link: LinkType::ETHERNET,
        data: &p.frame,
        orig_len: p.frame.len() as u32,
    };
    match decode_or_fragment(&frame) {
        Ok(Decoded::Segment(seg)) => (seg.src_port, seg.dst_port),
        other => panic!("not a TCP segment: {other:?}"),
    }
}

fn write(path: &Path, packets: &[Packet]) -> PathBuf {
    let mut out = Vec::new();
    write_pcap(&mut out, packets).unwrap();
    std::fs::write(path, out).unwrap();
    path.to_path_buf()
}

/// sample-m365.pcapng cut in two by `side`, written as `a.pcap` and `b.pcap` in `dir`, and
/// the whole as `whole.pcap`.
fn cut_in_two(dir: &Path, side: impl Fn(&Packet) -> bool) -> (PathBuf, PathBuf, PathBuf) {
    let packets = packets_of("sample-m365.pcapng");
    let (a, b): (Vec<Packet>, Vec<Packet>) = packets.iter().cloned().partition(&side);
    assert!(a.len() > 30 && b.len() > 30, "{} and {}", a.len(), b.len());
    (
        write(&dir.join("a.pcap"), &a),
        write(&dir.join("b.pcap"), &b),
        write(&dir.join("whole.pcap"), &packets),
    )
}

#[test]
fn a_tap_with_a_port_per_direction_gives_the_census_of_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    // Client to server in a.pcap, server to client in b.pcap (the servers listen below 1024).
    let (a, b, whole) = cut_in_two(dir.path(), |p| {
        let (src, dst) = ports(p);
        src > dst
    });
    let expected = census(&[&whole]);
    assert_eq!(expected, census(&[&fixture("sample-m365.pcapng")]));
    assert!(expected.connections.lines().count() > 5, "{expected:?}");
    assert_eq!(census(&[&a, &b]), expected);
    assert_eq!(census(&[&b, &a]), expected);
    // Each half alone is one-sided: a different census (the merge is what makes it whole).
    assert_ne!(census(&[&a]).connections, expected.connections);
}

#[test]
fn two_inputs_with_interleaved_connections_give_the_census_of_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    // Whole connections, every other one (by client port) in each file.
    let (a, b, whole) = cut_in_two(dir.path(), |p| {
        let (src, dst) = ports(p);
        src.max(dst) % 2 == 0
    });
    let expected = census(&[&whole]);
    assert_eq!(census(&[&a, &b]), expected);
    assert_eq!(census(&[&b, &a]), expected);
    // The two files are in one directory with the whole: that is read as well, and its
    // packets meet their copies in a.pcap and b.pcap at the same instants (retransmissions).
    let (with_whole, code, err) = census_run(&[dir.path()], None);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(with_whole.connections, expected.connections);
}

#[test]
fn standard_input_merges_with_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, whole) = cut_in_two(dir.path(), |p| {
        let (src, dst) = ports(p);
        src > dst
    });
    let expected = census(&[&whole]);
    let stdin = Path::new("-");
    let b_bytes = std::fs::read(&b).unwrap();
    assert_eq!(census_with(&[&a, stdin], Some(b_bytes.clone())), expected);
    assert_eq!(census_with(&[stdin, &a], Some(zstd(&b_bytes))), expected);
}

#[test]
fn the_same_capture_twice_is_read_once_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::read(fixture("sample-m365.pcapng")).unwrap();
    let a = dir.path().join("a.pcapng");
    std::fs::write(&a, &data).unwrap();
    let expected = census(&[&a]);
    let warning = |dup: &Path, original: &Path| {
        format!(
            "tlscensus: warning: {}: same content as {}: read once\n",
            dup.display(),
            original.display()
        )
    };
    // The same path twice.
    let (got, code, err) = census_run(&[&a, &a], None);
    assert_eq!((got, code, err), (expected.clone(), 3, warning(&a, &a)));
    // The same file through another path.
    let other_path = dir.path().join(".").join("a.pcapng");
    let (got, code, err) = census_run(&[&a, &other_path], None);
    assert_eq!(
        (got, code, err),
        (expected.clone(), 3, warning(&other_path, &a))
    );
    // A copy under another name: the first given is the one read.
    let copy = dir.path().join("b-copy.pcapng");
    std::fs::write(&copy, &data).unwrap();
    let (got, code, err) = census_run(&[&copy, &a], None);
    assert_eq!((got, code, err), (expected.clone(), 3, warning(&a, &copy)));
    // A directory holding both.
    let (got, code, err) = census_run(&[dir.path()], None);
    assert_eq!((got, code, err), (expected.clone(), 3, warning(&copy, &a)));
    // Same size, same first and last MiB, one byte different in the middle: not the same.
    let big = dir.path().join("big");
    std::fs::create_dir(&big).unwrap();
    let mut filler = packets_of("tls13-teams.pcap");
    let last = filler.last().unwrap().ts_nanos;
    // Enough packets for over 2 MiB, the middle one altered in its last byte.
    let mut many: Vec<Packet> = (0..3000i64)
        .map(|i| Packet {
            ts_nanos: last + 1 + i,
            frame: vec![0u8; 1000],
        })
        .collect();
    many[1500].frame[999] = 1;
    let mut left = packets_of("tls13-teams.pcap");
    left.extend(many.iter().cloned());
    many[1500].frame[999] = 2;
    filler.extend(many);
    let x = write(&big.join("x.pcap"), &left);
    let y = write(&big.join("y.pcap"), &filler);
    assert_eq!(
        std::fs::metadata(&x).unwrap().len(),
        std::fs::metadata(&y).unwrap().len()
    );
    let (_, code, err) = census_run(&[&x, &y], None);
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn two_thousand_files_apart_in_time_are_read_with_a_few_files_open() {
    // The 138 packets of sample-m365.pcapng one per file, then 1,862 files each holding one
    // frame that is not IP: 2,000 files read under a limit of 32 open files.
    let dir = tempfile::tempdir().unwrap();
    let packets = packets_of("sample-m365.pcapng");
    let end = packets.last().unwrap().ts_nanos;
    let set = dir.path().join("set");
    std::fs::create_dir(&set).unwrap();
    let mut files = 0;
    for p in &packets {
        write(
            &set.join(format!("cap.pcap{files}")),
            std::slice::from_ref(p),
        );
        files += 1;
    }
    while files < 2000 {
        let mut frame = vec![0u8; 60];
        frame[12..14].copy_from_slice(&[0x08, 0x06]); // ARP
        let ts_nanos = end + 1_000 * files as i64;
        write(
            &set.join(format!("cap.pcap{files}")),
            &[Packet { ts_nanos, frame }],
        );
        files += 1;
    }
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (clients, connections) = (out.join("clients.csv"), out.join("connections.csv"));
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 32 && exec \"$0\" \"$@\"")
        .arg(common::BIN)
        .args(["read", "-q", "--scope", "all", "--stats", "--csv"])
        .arg(&clients)
        .arg("--connections")
        .arg(&connections)
        .arg(&set)
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("  {:<42} {}\n", "files read", 2000)),
        "{err}"
    );
    let expected = census(&[&fixture("sample-m365.pcapng")]);
    assert_eq!(std::fs::read_to_string(&clients).unwrap(), expected.clients);
    assert_eq!(
        std::fs::read_to_string(&connections).unwrap(),
        expected.connections
    );
}
