//! Many inputs: compressed captures (gzip, zstd; files and standard input), rotated sets and
//! directories give the same census as the plain file, byte for byte; directories are read in
//! name order; every error names the file.
//!
//! The rotated sets are made at test time with `editcap -c` (Wireshark's; CI installs tshark,
//! which brings it); the tests that need it say so and pass without it.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_exit, fixture, text, tlscensus, tlscensus_stdin};

/// Everything a run says about its inputs' census: the table (stdout), the per-client CSV and
/// the per-connection CSV, all over every input given.
#[derive(Debug, PartialEq, Eq)]
struct Census {
    table: String,
    clients: String,
    connections: String,
}

fn census_with(inputs: &[&Path], stdin: Option<Vec<u8>>) -> Census {
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
    assert_eq!(o.status.code(), Some(0), "{inputs:?}: {}", text(&o.stderr));
    Census {
        table: text(&o.stdout),
        clients: std::fs::read_to_string(&clients).unwrap(),
        connections: std::fs::read_to_string(&connections).unwrap(),
    }
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
fn the_order_matters_so_the_test_above_has_teeth() {
    let plain = fixture("sample-m365.pcapng");
    let dir = tempfile::tempdir().unwrap();
    let Some(files) = rotated_set(&plain, 12, dir.path(), "cap.pcap", Some(1)) else {
        return;
    };
    // The same pieces, named so that no trailing number orders them: read by name,
    // `p10-` and `p11-` come before `p2-` and the census changes.
    let shuffled = tempfile::tempdir().unwrap();
    for (i, f) in files.iter().enumerate() {
        std::fs::copy(f, shuffled.path().join(format!("p{i}-.pcapng"))).unwrap();
    }
    assert_ne!(census(&[shuffled.path()]), census(&[&plain]));
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
        std::fs::write(&p, b"not a capture").unwrap();
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
    // Command-line order is kept around a directory.
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
    assert_eq!(
        lines[0],
        format!(
            "tlscensus: {}: not a pcap or pcapng capture (unknown file format) \
             (gzip-compressed input)",
            text_gz.display()
        )
    );
    let cut = format!("tlscensus: warning: {}: ", cut_gz.display());
    assert!(lines[1].starts_with(&cut), "{}", lines[1]);
    assert!(
        lines[1].ends_with("; results cover the packets before it"),
        "{}",
        lines[1]
    );
    // Nothing decompressed before the cut: refused like any input that is no capture.
    assert_eq!(
        lines[2],
        format!(
            "tlscensus: {}: incomplete frame (zstd-compressed input)",
            cut_zst.display()
        )
    );
    let bad = format!("tlscensus: warning: {}: ", bad_gz.display());
    assert!(lines[3].starts_with(&bad), "{}", lines[3]);
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
