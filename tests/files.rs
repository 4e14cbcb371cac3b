//! Files and terminals under hostile names and paths: an output that is an input, symbolic
//! links, file modes, broken links in a capture directory, names with control characters,
//! closed pipes, closed stdin, other file formats, full disks, bounded interface tables, and
//! the physical line numbers of `merge`. Each test asserts the exact message and exit code, and
//! that no input or earlier output is lost.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{assert_exit, command, fixture, output, p, run, stderr, tlscensus, BIN};

const SAMPLE: &str = "sample-m365.pcapng";

/// A scratch directory holding a copy of the sample capture, `in.pcapng`.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pcapng");
    std::fs::copy(fixture(SAMPLE), &input).unwrap();
    (dir, input)
}

/// The census CSV of the sample capture, as `read` writes it.
fn sample_csv() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.csv");
    run(&["read", "-q", p(&fixture(SAMPLE)), "--csv", p(&out)], 0);
    std::fs::read(out).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Runs `sh -c SCRIPT` with `$T` set to the binary.
fn sh(script: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("T", BIN)
        .output()
        .unwrap()
}

#[test]
fn an_output_that_is_an_input_is_refused_before_reading() {
    let (dir, input) = scratch();
    let d = dir.path();
    let before = std::fs::read(&input).unwrap();
    let o = tlscensus(&["read", p(&input), "--csv", p(&input)]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: --csv would replace an input of this run; name another output file\n",
            p(&input)
        ),
    );
    // Through a symbolic link, a hard link, another spelling, a directory input, stdin.
    std::os::unix::fs::symlink("in.pcapng", d.join("link.html")).unwrap();
    std::fs::hard_link(&input, d.join("hard.json")).unwrap();
    let cases: [(Vec<String>, &str, &str); 4] = [
        (
            vec![
                p(&input).into(),
                "--html".into(),
                p(&d.join("link.html")).into(),
            ],
            "link.html",
            "--html",
        ),
        (
            vec![p(d).into(), "--json".into(), p(&d.join("hard.json")).into()],
            "hard.json",
            "--json",
        ),
        (
            vec![
                format!("{}/./in.pcapng", p(d)),
                "--connections".into(),
                p(&input).into(),
            ],
            "in.pcapng",
            "--connections",
        ),
        (
            vec!["-".into(), "--ndjson".into(), p(&input).into()],
            "in.pcapng",
            "--ndjson",
        ),
    ];
    for (args, out, flag) in cases {
        let shown_input = if args[0] == "-" {
            "standard input".to_string()
        } else if args[0] == p(d) {
            format!("{}/hard.json", p(d))
        } else {
            args[0].clone()
        };
        let out_path = format!("{}/{out}", p(d));
        let also = if shown_input == out_path {
            String::new()
        } else {
            format!(" ({shown_input})")
        };
        let mut cmd = command(["read"]);
        cmd.args(&args).stdin(std::fs::File::open(&input).unwrap());
        let o = output(&mut cmd);
        assert_exit(
            &o,
            1,
            format!(
                "tlscensus: {out_path}: {flag} would replace an input of this run{also}; name \
                 another output file\n"
            ),
        );
    }
    assert_eq!(std::fs::read(&input).unwrap(), before);
    // merge: a census that is also the output.
    let census = d.join("a.csv");
    std::fs::write(&census, sample_csv()).unwrap();
    let o = tlscensus(&["merge", p(&census), "--csv", p(&census)]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: --csv would replace an input of this run; name another output file\n",
            p(&census)
        ),
    );
    assert_eq!(std::fs::read(&census).unwrap(), sample_csv());
}

#[test]
fn an_output_symbolic_link_is_written_through() {
    let (dir, input) = scratch();
    let d = dir.path();
    std::fs::create_dir(d.join("real")).unwrap();
    std::fs::write(d.join("real/census.csv"), "old\n").unwrap();
    std::os::unix::fs::symlink("real/census.csv", d.join("census.csv")).unwrap();
    run(
        &["read", "-q", p(&input), "--csv", p(&d.join("census.csv"))],
        0,
    );
    let link = std::fs::symlink_metadata(d.join("census.csv")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(
        std::fs::read(d.join("real/census.csv")).unwrap(),
        sample_csv()
    );
    // Nothing left behind: no temporary file beside the link or the target.
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(d), ["census.csv", "in.pcapng", "real"]);
    assert_eq!(names(&d.join("real")), ["census.csv"]);
}

#[test]
fn new_outputs_follow_the_umask_and_existing_ones_keep_their_mode() {
    let (dir, input) = scratch();
    let d = dir.path();
    let (i, a, b, c) = (
        p(&input),
        d.join("a.csv"),
        d.join("b.json"),
        d.join("private.csv"),
    );
    let o = sh(&format!(
        "umask 077 && \"$T\" read -q {i} --csv {} && umask 022 && \"$T\" read -q {i} --json {}",
        p(&a),
        p(&b)
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(mode(&a), 0o600);
    assert_eq!(mode(&b), 0o644);
    // An existing 0600 census stays 0600 (and 0640 stays 0640) whatever the umask.
    std::fs::write(&c, "old").unwrap();
    std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = sh(&format!("umask 000 && \"$T\" read -q {i} --csv {}", p(&c)));
    assert!(o.status.success());
    assert_eq!(mode(&c), 0o600);
    assert_eq!(std::fs::read(&c).unwrap(), sample_csv());
    std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o640)).unwrap();
    run(&["read", "-q", i, "--csv", p(&c)], 0);
    assert_eq!(mode(&c), 0o640);
}

#[test]
fn broken_symbolic_links_in_a_capture_directory_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let caps = dir.path().join("caps");
    std::fs::create_dir(&caps).unwrap();
    std::fs::copy(fixture(SAMPLE), caps.join("a.pcapng")).unwrap();
    std::os::unix::fs::symlink("gone.pcap", caps.join("b.pcap")).unwrap();
    std::os::unix::fs::symlink("c.pcap", caps.join("c.pcap")).unwrap();
    let out = dir.path().join("out.csv");
    let o = tlscensus(&["read", "-q", p(&caps), "--csv", p(&out)]);
    let c = p(&caps);
    assert_exit(
        &o,
        3,
        format!(
            "tlscensus: warning: {c}/b.pcap: dangling symbolic link (to gone.pcap): skipped\n\
             tlscensus: warning: {c}/c.pcap: symbolic link loop: skipped\n"
        ),
    );
    assert_eq!(std::fs::read(&out).unwrap(), sample_csv());
}

/// A file name that tries to act on the terminal: set its title, erase the line, forge one.
const EVIL: &[u8] = b"x\x1b]0;pwned\x07\x1b[2K\rtlscensus: all good\n\x9b.pcap";
const EVIL_SHOWN: &str = "x\\x1b]0;pwned\\x07\\x1b[2K\\x0dtlscensus: all good\\x0a\\x9b.pcap";

#[test]
fn names_from_outside_are_escaped_on_stderr_and_recognisable_in_json_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let evil = d.join(std::ffi::OsStr::from_bytes(EVIL));
    std::fs::write(&evil, b"GET / HTTP/1.1\r\n").unwrap();
    // Not a command: clap's message, escaped too.
    let o = tlscensus(&[evil.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        !o.stderr
            .iter()
            .any(|&b| b == 0x1b || b == 0x07 || b == b'\r'),
        "{}",
        stderr(&o)
    );
    let o = command(["read".as_ref(), evil.as_os_str()])
        .output()
        .unwrap();
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}/{EVIL_SHOWN}: not a pcap or pcapng capture (unknown file format)\n",
            p(d)
        ),
    );
    // An output under such a name that cannot be written: the same escaping.
    let o = command([
        "read".as_ref(),
        fixture(SAMPLE).as_os_str(),
        "--csv".as_ref(),
    ])
    .arg(d.join(std::ffi::OsStr::from_bytes(EVIL)).join("x.csv"))
    .output()
    .unwrap();
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}/{EVIL_SHOWN}/x.csv: cannot write here: Not a directory\n",
            p(d)
        ),
    );
    // A name that is not UTF-8 stays recognisable in --json and --html.
    let latin1 = d.join(std::ffi::OsStr::from_bytes(b"caf\xe9.pcapng"));
    std::fs::copy(fixture(SAMPLE), &latin1).unwrap();
    let (json, html) = (d.join("r.json"), d.join("r.html"));
    let o = command(["read".as_ref(), "-q".as_ref(), latin1.as_os_str()])
        .args(["--json", p(&json), "--html", p(&html)])
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        v["inputs"],
        serde_json::json!([format!("{}/caf\\xe9.pcapng", p(d))])
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("caf\\xe9.pcapng"), "{page}");
}

/// Runs `tlscensus ARGS` with standard output a pipe whose reader has already gone.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    command(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_is_not_an_error_for_any_output() {
    let (dir, input) = scratch();
    let i = p(&input);
    let census = dir.path().join("c.csv");
    std::fs::write(&census, sample_csv()).unwrap();
    let x_json = dir.path().join("x.json");
    for args in [
        vec!["read", i],
        vec!["read", i, "--csv", "-"],
        vec!["read", i, "--connections", "-"],
        vec!["read", i, "--json", "-"],
        vec!["read", i, "--html", "-"],
        vec!["read", i, "--ndjson", "-"],
        vec![
            "read",
            "--single-thread",
            i,
            "--csv",
            "-",
            "--json",
            p(&x_json),
        ],
        vec!["merge", "-q", p(&census)],
        vec!["merge", "-q", p(&census), "--json", "-"],
    ] {
        let o = with_closed_stdout(&args);
        assert_exit(&o, 0, "");
    }
    // The other outputs are still written.
    assert!(x_json.is_file());
    // The run's own exit code stays: a damaged input is still 3.
    let cut = dir.path().join("cut.pcapng");
    let bytes = std::fs::read(&input).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let o = with_closed_stdout(&["read", p(&cut), "--csv", "-"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(!stderr(&o).contains("Broken pipe"), "{}", stderr(&o));
}

#[test]
fn a_full_disk_names_the_output_path() {
    let (_dir, input) = scratch();
    for flag in ["--csv", "--json", "--html", "--connections", "--ndjson"] {
        let o = tlscensus(&["read", "-q", p(&input), flag, "/dev/full"]);
        assert_exit(&o, 1, "tlscensus: /dev/full: No space left on device\n");
    }
}

#[test]
fn a_closed_stdin_is_said_so() {
    let msg = "tlscensus: <stdin>: standard input is closed (or /dev/null): nothing to read; \
               pipe a capture in, or name a file\n";
    let o = sh("exec \"$T\" read - <&-");
    assert_exit(&o, 1, msg);
    let o = output(command(["read", "-"]).stdin(Stdio::null()));
    assert_exit(&o, 1, msg);
    let o = sh("exec \"$T\" merge - <&-");
    assert_exit(
        &o,
        1,
        "tlscensus: -: standard input is closed (or /dev/null): nothing to read; pipe a \
         capture in, or name a file\n",
    );
}

/// A zstd skippable frame (RFC 8878 section 3.1.2), as `pzstd` writes before its frames.
fn skippable_frame(magic_low: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x50 | magic_low, 0x2a, 0x4d, 0x18];
    v.extend((payload.len() as u32).to_le_bytes());
    v.extend(payload);
    v
}

#[test]
fn pzstd_output_is_read_as_zstd() {
    let dir = tempfile::tempdir().unwrap();
    let raw = std::fs::read(fixture(SAMPLE)).unwrap();
    // pzstd: a skippable frame holding the next frame's size, then the frame; twice.
    let (first, second) = raw.split_at(raw.len() / 2);
    let mut file = Vec::new();
    for part in [first, second] {
        let frame = zstd::encode_all(part, 3).unwrap();
        file.extend(skippable_frame(0, &(frame.len() as u32).to_le_bytes()));
        file.extend(frame);
    }
    let zst = dir.path().join("cap.pcapng.zst");
    std::fs::write(&zst, &file).unwrap();
    let out = dir.path().join("c.csv");
    run(&["read", "-q", p(&zst), "--csv", p(&out)], 0);
    assert_eq!(std::fs::read(&out).unwrap(), sample_csv());
    // On standard input too.
    let o = common::tlscensus_stdin(&["read", "-q", "-", "--csv", "-"], &file);
    assert_exit(&o, 0, "");
    assert_eq!(o.stdout, sample_csv());
}

#[test]
fn other_file_formats_are_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut etl = vec![0u8; 96];
    etl[..4].copy_from_slice(&65536u32.to_le_bytes());
    etl[72..76].copy_from_slice(&[0x02, 0x00, 0x02, 0xc0]);
    let mut netmon = b"GMBU\x00\x02".to_vec();
    netmon.resize(128, 0);
    let cases: [(&str, Vec<u8>, &str); 6] = [
        (
            "a.pcap.xz",
            b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46".to_vec(),
            "an xz-compressed file: decompress it first (`xz -dc FILE | tlscensus read -`); \
             gzip and zstd are read as they are",
        ),
        (
            "a.pcap.bz2",
            b"BZh91AY&SY\x00\x00".to_vec(),
            "a bzip2-compressed file: decompress it first (`bzip2 -dc FILE | tlscensus read -`); \
             gzip and zstd are read as they are",
        ),
        (
            "a.zip",
            b"PK\x03\x04\x14\x00\x00\x00".to_vec(),
            "a zip archive: extract the capture from it (`unzip FILE`) and read that",
        ),
        (
            "trace.etl",
            etl,
            "a Windows ETL trace (pktmon, netsh trace): convert it to pcapng first (`pktmon \
             etl2pcap FILE --out FILE.pcapng`; a `netsh trace` file: Microsoft's etl2pcapng)",
        ),
        (
            "a.cap",
            netmon,
            "a Microsoft Network Monitor capture: convert it to pcapng first (`editcap -F \
             pcapng FILE FILE.pcapng`, from Wireshark)",
        ),
        (
            "bad-order.pcapng",
            b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x11\x22\x33\x44".to_vec(),
            "",
        ),
    ];
    for (name, bytes, what) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let o = tlscensus(&["read", p(&path)]);
        let expected = if what.is_empty() {
            format!(
                "tlscensus: {}: starts like a pcapng but its byte-order magic is 0x44332211, \
                 neither 0x1a2b3c4d nor 0x4d3c2b1a: a damaged pcapng, or not a capture\n",
                p(&path)
            )
        } else {
            format!(
                "tlscensus: {}: not a pcap or pcapng capture: {what}\n",
                p(&path)
            )
        };
        assert_exit(&o, 1, expected);
    }
    // gzip-compressed: the same words, and how it was compressed.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"PK\x03\x04\x14\x00\x00\x00").unwrap();
    let path = dir.path().join("a.zip.gz");
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let o = tlscensus(&["read", p(&path)]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: not a pcap or pcapng capture: a zip archive: extract the capture \
             from it (`unzip FILE`) and read that (gzip-compressed input)\n",
            p(&path)
        ),
    );
}

/// A little-endian pcapng block.
fn block(block_type: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len().next_multiple_of(4)) as u32;
    let mut v = Vec::new();
    v.extend(block_type.to_le_bytes());
    v.extend(len.to_le_bytes());
    v.extend(body);
    v.resize(len as usize - 4, 0);
    v.extend(len.to_le_bytes());
    v
}

/// An Interface Description Block: Ethernet, no snap length, no options.
fn idb() -> Vec<u8> {
    block(1, &[1, 0, 0, 0, 0, 0, 0, 0])
}

/// An Enhanced Packet Block of 60 zero bytes on interface `if_id`.
fn epb(if_id: u32) -> Vec<u8> {
    let mut body = Vec::new();
    for v in [if_id, 0, 0, 60, 60] {
        body.extend(v.to_le_bytes());
    }
    body.extend([0u8; 60]);
    block(6, &body)
}

#[test]
fn a_packet_on_an_undefined_interface_keeps_the_census_so_far() {
    let (dir, input) = scratch();
    let mut bytes = std::fs::read(&input).unwrap();
    let at = bytes.len();
    bytes.extend(epb(7));
    std::fs::write(&input, &bytes).unwrap();
    let out = dir.path().join("c.csv");
    let o = tlscensus(&["read", "-q", p(&input), "--csv", p(&out)]);
    assert_exit(
        &o,
        3,
        format!(
            "tlscensus: warning: {}: capture is damaged at byte {at} (after packet 138): packet \
             139 is on interface 7, but the section describes only 1 interface; results cover \
             the packets before it\n",
            p(&input)
        ),
    );
    assert_eq!(std::fs::read(&out).unwrap(), sample_csv());
}

#[test]
fn the_interface_table_of_a_section_is_bounded() {
    let (dir, input) = scratch();
    // The sample's section describes 1 interface: 65,536 more is one too many.
    let mut bytes = std::fs::read(&input).unwrap();
    let mut at = bytes.len();
    let one = idb();
    at += one.len() * 65_535;
    for _ in 0..70_000 {
        bytes.extend_from_slice(&one);
    }
    bytes.extend(epb(0));
    std::fs::write(&input, &bytes).unwrap();
    let out = dir.path().join("c.csv");
    let o = tlscensus(&["read", "-q", p(&input), "--csv", p(&out)]);
    assert_exit(
        &o,
        3,
        format!(
            "tlscensus: warning: {}: capture is damaged at byte {at} (after packet 138): the \
             section describes more than 65536 interfaces (Interface Description Block 65537 \
             of the section); no capture tool writes that many; results cover the packets \
             before it\n",
            p(&input)
        ),
    );
    assert_eq!(std::fs::read(&out).unwrap(), sample_csv());
    // Nothing but interfaces: nothing to analyse.
    // A Section Header Block: byte-order magic, version 1.0, section length unknown.
    let mut flood = block(
        0x0A0D_0D0A,
        &[
            0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
    );
    for _ in 0..70_000 {
        flood.extend_from_slice(&one);
    }
    let path = dir.path().join("flood.pcapng");
    std::fs::write(&path, &flood).unwrap();
    let o = tlscensus(&["read", "-q", p(&path), "--csv", p(&out)]);
    assert_exit(
        &o,
        1,
        format!(
            "tlscensus: {}: capture is damaged at byte {} (before the first packet): the \
             section describes more than 65536 interfaces (Interface Description Block 65537 \
             of the section); no capture tool writes that many\n",
            p(&path),
            28 + one.len() * 65_536
        ),
    );
    // The earlier output is untouched.
    assert_eq!(std::fs::read(&out).unwrap(), sample_csv());
}

#[test]
fn merge_gives_physical_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let census = String::from_utf8(sample_csv()).unwrap();
    let mut lines = census.lines();
    let header = lines.next().unwrap();
    let row = lines.next().unwrap();
    let bad = row.replacen(",1,0,", ",1,x,", 1);
    assert_ne!(bad, row);
    for (name, text, line) in [
        ("crlf.csv", format!("{header}\r\n{row}\r\n{bad}\r\n"), 3),
        ("blank.csv", format!("{header}\n\n{bad}\n"), 3),
        ("lf.csv", format!("{header}\n{row}\n\n\n{bad}\n"), 5),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let o = tlscensus(&["merge", p(&path)]);
        assert_exit(
            &o,
            1,
            format!(
                "tlscensus: {}: line {line}: column \"sslv3\": \"x\" is not a count\n",
                p(&path)
            ),
        );
    }
}
