//! What the end-to-end tests share: running the `tlscensus` binary, the paths of the recorded
//! fixtures, and reading what the binary writes (text, CSV rows).
//!
//! Each file of tests/ is a crate of its own that declares `mod common;` and uses a part of
//! this module: what one of them leaves unused is not dead code.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Debug;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use tlscensus::synth::Flags;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_tlscensus");

/// The header line of the per-client CSV (`--csv`).
pub const CLIENT_HEADER: &str = "client_ip,connections,sslv3,tlsv1_0,tlsv1_1,tlsv1_2,tlsv1_3,\
                                 no_server_hello,max_offered,first_seen,last_seen,snis,verdict,\
                                 service_areas,failed,lowest_negotiated,ja4_seen,quic";

/// The header line of the per-connection CSV (`--connections`).
pub const CONN_HEADER: &str = "ts,client_ip,client_port,server_ip,server_port,sni,offered_max,\
                               negotiated,cipher,m365,m365_match,service_area,endpoint_ids,\
                               outcome,offered_versions,resumed,starttls,ja4,ja3,ja3s,ended_by,\
                               connect_host,transport";

/// A path below the repository's root.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A file of `fixtures/`, the recorded captures (`""`: the folder itself).
pub fn fixture(name: &str) -> PathBuf {
    repo("fixtures").join(name)
}

/// Every capture in `fixtures/` (`*.pcap`, `*.pcapng`), in name order.
pub fn fixture_captures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    files
}

/// A path as a command-line argument (every path in these tests is UTF-8).
pub fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// `tlscensus ARGS`, for the caller to set what else the run needs and [`output`] it.
pub fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    cmd
}

/// Runs a [`command`] to its end: exit status, stdout and stderr. Standard input is empty
/// (`Command::output`'s default) unless the command sets another.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("run tlscensus")
}

/// Runs `tlscensus ARGS`, standard input empty.
pub fn tlscensus<S: AsRef<OsStr>>(args: &[S]) -> Output {
    output(&mut command(args))
}

/// Runs `tlscensus ARGS` and checks the exit code, showing the arguments and stderr when it
/// differs.
pub fn run<S: AsRef<OsStr> + Debug>(args: &[S], code: i32) -> Output {
    let o = tlscensus(args);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
    o
}

/// Asserts that a run exited with `code` and said exactly `message` on stderr.
#[track_caller]
pub fn assert_exit(o: &Output, code: i32, message: impl AsRef<str>) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert_eq!(stderr(o), message.as_ref());
}

/// Starts a [`command`] with `stdin` as its standard input, its stdout and stderr piped.
pub fn spawn(cmd: &mut Command, stdin: Stdio) -> Child {
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tlscensus")
}

/// Runs `tlscensus ARGS` with `input` on its standard input, written from another thread so
/// that neither side waits on the other.
pub fn tlscensus_stdin<S: AsRef<OsStr>>(args: &[S], input: &[u8]) -> Output {
    let mut child = spawn(&mut command(args), Stdio::piped());
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        // The reader may stop early and close its end: a broken pipe is not the test's matter.
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for tlscensus");
    writer.join().unwrap();
    out
}

/// Bytes the binary wrote, as the UTF-8 text they must be.
pub fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("UTF-8 output")
}

/// A run's standard output, as text.
pub fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

/// A run's standard error, as text.
pub fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// CSV text → its header and rows of (column → value).
pub fn csv_table(csv_text: &str) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            head.iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    (head, rows)
}

/// CSV text → rows of (column → value).
pub fn csv_rows(csv_text: &str) -> Vec<BTreeMap<String, String>> {
    csv_table(csv_text).1
}

/// A CSV file → rows of (column → value).
pub fn csv_file_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let csv_text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    csv_rows(&csv_text)
}

/// The flags of a SYN and of a SYN/ACK.
#[allow(unused_imports)]
pub use tlscensus::synth::{syn, syn_ack};

/// The flags of a FIN (with ACK).
pub fn fin_ack() -> Flags {
    Flags {
        fin: true,
        ack: true,
        ..Flags::default()
    }
}

/// The client's and the server's stream bytes of a recorded fixture (clean captures, so the
/// payloads in capture order are the streams).
pub fn streams(name: &str) -> (Vec<u8>, Vec<u8>) {
    let mut cap = pcap::Capture::from_file(fixture(name)).unwrap();
    let link = tlscensus::capture::LinkType(cap.get_datalink().0);
    let (mut client, mut server) = (vec![], vec![]);
    while let Ok(p) = cap.next_packet() {
        let frame = tlscensus::capture::Frame {
            number: 0,
            ts: tlscensus::capture::Timestamp(0),
            link,
            data: p.data,
            orig_len: p.header.len,
        };
        if let Ok(seg) = tlscensus::decode::decode(&frame) {
            if seg.dst_port == 443 {
                client.extend_from_slice(seg.payload);
            } else {
                server.extend_from_slice(seg.payload);
            }
        }
    }
    (client, server)
}
