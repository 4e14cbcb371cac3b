//! End-to-end tests of `tlscensus live` on the loopback interface, with real OpenSSL
//! handshakes (`openssl s_server` / `s_client`) on 127.0.0.1 only.
//!
//! Capturing needs root (CI runs as root): without it, and without `openssl`, the tests that
//! need them print a note and pass without checking anything. Tests that capture run one at a
//! time (a lock) and each filters on its own server port, so that other loopback traffic on
//! the machine cannot change a census.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use common::{assert_exit, command, csv_file_rows, p, spawn, text, tlscensus, BIN};

/// One capture on `lo` at a time.
static CAPTURE: Mutex<()> = Mutex::new(());

fn capture_lock() -> MutexGuard<'static, ()> {
    CAPTURE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a test cannot run here, if it cannot.
fn cannot_capture() -> Option<&'static str> {
    if !nix::unistd::geteuid().is_root() {
        return Some("capturing on lo needs root");
    }
    let openssl = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !openssl.is_ok_and(|s| s.success()) {
        return Some("openssl is not installed");
    }
    None
}

macro_rules! require_capture {
    ($name:expr) => {
        if let Some(why) = cannot_capture() {
            eprintln!("note: skipping {}: {why}", $name);
            return;
        }
    };
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `tlscensus live`, its stderr collected line by line.
struct Live {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    ready: mpsc::Receiver<()>,
}

impl Live {
    /// Starts `tlscensus live ARGS` and waits until it says it is listening.
    fn start(args: &[&str]) -> Live {
        let mut child = spawn(command(["live"]).args(args), Stdio::null());
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, ready) = mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap());
        let keep = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if line.contains("listening on lo") {
                    let _ = tx.send(());
                }
                keep.lock().unwrap().push(line);
            }
        });
        let live = Live {
            child,
            stderr,
            ready,
        };
        if live.ready.recv_timeout(Duration::from_secs(20)).is_err() {
            panic!(
                "tlscensus live did not start listening: {:?}",
                live.stderr()
            );
        }
        live
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).unwrap();
    }

    fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the exit (at most `limit`), returns the status, stdout and stderr.
    fn wait(mut self, limit: Duration) -> (ExitStatus, String, Vec<String>) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "tlscensus live still running after {limit:?}: {:?}",
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(50));
        };
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            use std::io::Read;
            let _ = out.read_to_string(&mut stdout);
        }
        // Let the reader thread take the last lines.
        thread::sleep(Duration::from_millis(100));
        (status, stdout, self.stderr())
    }

    /// Waits for the exit (at most `limit`), which must be 0; returns stdout and stderr.
    fn wait_ok(self, limit: Duration) -> (String, Vec<String>) {
        let (status, stdout, stderr) = self.wait(limit);
        assert_eq!(status.code(), Some(0), "{stderr:?}");
        (stdout, stderr)
    }
}

/// What a test that captures starts from: a scratch directory, a free port (the capture's
/// filter sees its traffic alone) and the capture lock, held until the test ends.
struct Loopback {
    dir: tempfile::TempDir,
    port: u16,
    _lock: MutexGuard<'static, ()>,
}

impl Loopback {
    fn new() -> Loopback {
        let _lock = capture_lock();
        Loopback {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            _lock,
        }
    }

    /// A path in the scratch directory.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `tlscensus live -i lo --filter "tcp port PORT" ARGS`.
    fn live(&self, args: &[&str]) -> Live {
        let filter = format!("tcp port {}", self.port);
        let mut all = vec!["-i", "lo", "--filter", &filter];
        all.extend_from_slice(args);
        Live::start(&all)
    }

    /// `openssl s_server` on the port, once a handshake with each of `versions` is made.
    fn handshakes(&self, versions: &[&[&str]]) -> Server {
        let server = Server::start(self.dir.path(), self.port, versions.len() as u32);
        for version in versions {
            handshake(self.port, version);
        }
        server
    }
}

/// A throwaway self-signed P-256 certificate and key in `dir`.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args([
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=x",
            "-days",
            "1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl req: {out:?}");
    (cert, key)
}

/// `openssl s_server` on 127.0.0.1:port, accepting every version down to TLS 1.0, for
/// `handshakes` connections; returns once it accepts.
struct Server(Child);

impl Server {
    fn start(dir: &Path, port: u16, handshakes: u32) -> Server {
        let (cert, key) = certificate(dir);
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .args(["-cipher", "DEFAULT@SECLEVEL=0", "-www"])
            .args(["-naccept", &handshakes.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let accepting = lines.any(|l| l.is_ok_and(|l| l.contains("ACCEPT")));
        assert!(accepting, "openssl s_server did not start");
        thread::spawn(move || lines.for_each(drop));
        Server(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One full handshake with `openssl s_client` and the given version options.
fn handshake(port: u16, version: &[&str]) {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(version)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "s_client {version:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

const TLS12: &[&str] = &["-tls1_2"];
const TLS13: &[&str] = &["-tls1_3"];
const TLS10: &[&str] = &["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"];

/// The census row of 127.0.0.1: client and server share it, the client (ClientHello sender)
/// is what the census is keyed by.
fn loopback_client(csv: &Path) -> BTreeMap<String, String> {
    let all = csv_file_rows(csv);
    assert_eq!(all.len(), 1, "one client expected: {all:?}");
    assert_eq!(all[0]["client_ip"], "127.0.0.1");
    all[0].clone()
}

/// Asserts that a line of `stderr` starts with `prefix`.
#[track_caller]
fn assert_said(stderr: &[String], prefix: &str) {
    assert!(stderr.iter().any(|l| l.starts_with(prefix)), "{stderr:?}");
}

fn versions(row: &BTreeMap<String, String>) -> [&str; 5] {
    ["sslv3", "tlsv1_0", "tlsv1_1", "tlsv1_2", "tlsv1_3"].map(|c| row[c].as_str())
}

#[test]
fn live_census_of_real_handshakes_on_loopback() {
    require_capture!("live_census_of_real_handshakes_on_loopback");
    let lo = Loopback::new();
    let (csv, conns) = (lo.path("clients.csv"), lo.path("conns.csv"));
    let live = lo.live(&[
        "--scope",
        "all",
        "--duration",
        "8s",
        "--csv",
        p(&csv),
        "--connections",
        p(&conns),
    ]);
    let server = lo.handshakes(&[TLS12, TLS13, TLS10]);
    let (stdout, stderr) = live.wait_ok(Duration::from_secs(30));
    drop(server);
    assert_said(&stderr, "tlscensus: --duration reached: ");
    let client = loopback_client(&csv);
    assert_eq!(client["connections"], "3");
    assert_eq!(versions(&client), ["0", "1", "0", "1", "1"]);
    assert_eq!(client["max_offered"], "TLSv1.3");
    let conns = csv_file_rows(&conns);
    let mut seen: Vec<(&str, &str, &str)> = conns
        .iter()
        .map(|r| {
            assert_eq!(
                (r["client_ip"].as_str(), r["server_ip"].as_str()),
                ("127.0.0.1", "127.0.0.1")
            );
            assert_eq!(r["server_port"], lo.port.to_string());
            (
                r["offered_max"].as_str(),
                r["negotiated"].as_str(),
                r["m365"].as_str(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("TLSv1.0", "TLSv1.0", "false"),
            ("TLSv1.2", "TLSv1.2", "false"),
            ("TLSv1.3", "TLSv1.3", "false"),
        ]
    );
    // The table on stdout has the client.
    assert!(stdout.contains("127.0.0.1"), "{stdout}");
}

#[test]
fn sigint_mid_run_still_writes_the_census() {
    require_capture!("sigint_mid_run_still_writes_the_census");
    let lo = Loopback::new();
    let csv = lo.path("clients.csv");
    let live = lo.live(&[
        "--include",
        "127.0.0.0/8",
        "--duration",
        "10m",
        "--csv",
        p(&csv),
    ]);
    drop(lo.handshakes(&[TLS12]));
    let asked = Instant::now();
    live.signal(Signal::SIGINT);
    let (stdout, stderr) = live.wait_ok(Duration::from_secs(10));
    assert!(asked.elapsed() < Duration::from_secs(5), "slow to stop");
    assert_said(&stderr, "tlscensus: interrupted: ");
    assert!(
        stdout.starts_with("TLS census toward Microsoft 365: 1 client"),
        "{stdout}"
    );
    let client = loopback_client(&csv);
    assert_eq!(client["connections"], "1");
    assert_eq!(versions(&client), ["0", "0", "0", "1", "0"]);
}

#[test]
fn sigterm_stops_cleanly_and_the_csv_is_rewritten_every_interval() {
    require_capture!("sigterm_stops_cleanly_and_the_csv_is_rewritten_every_interval");
    let lo = Loopback::new();
    let csv = lo.path("clients.csv");
    let live = lo.live(&["--scope", "all", "--every", "1s", "--csv", p(&csv)]);
    let server = lo.handshakes(&[TLS13]);
    // The periodic rewrite shows the handshake before any stop.
    let start = Instant::now();
    loop {
        if csv.exists() && csv_file_rows(&csv).len() == 1 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no periodic CSV");
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(versions(&loopback_client(&csv)), ["0", "0", "0", "0", "1"]);
    drop(server);
    live.signal(Signal::SIGTERM);
    let (_, stderr) = live.wait_ok(Duration::from_secs(10));
    // One summary line per interval while it ran, and the last one.
    assert!(
        stderr.iter().any(|l| l.starts_with("tlscensus: [00:00:0")
            && l.contains(" lo: ")
            && l.contains("kernel drops 0")),
        "{stderr:?}"
    );
    assert_said(&stderr, "tlscensus: interrupted: ");
    assert_eq!(versions(&loopback_client(&csv)), ["0", "0", "0", "0", "1"]);
}

#[test]
fn a_second_stop_signal_exits_at_once_with_130() {
    require_capture!("a_second_stop_signal_exits_at_once_with_130");
    let lo = Loopback::new();
    let live = lo.live(&["--scope", "all"]);
    // Two different stop signals made pending together cannot merge into one, and are
    // delivered back to back on SIGCONT: the second arrives while the first is handled.
    live.signal(Signal::SIGSTOP);
    thread::sleep(Duration::from_millis(100));
    live.signal(Signal::SIGINT);
    live.signal(Signal::SIGTERM);
    live.signal(Signal::SIGCONT);
    let (status, _, stderr) = live.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{stderr:?}");
    assert!(
        stderr.iter().any(
            |l| l == "tlscensus: interrupted again: exiting at once, final outputs not written"
        ),
        "{stderr:?}"
    );
}

#[test]
fn written_pcap_reads_back_to_the_same_census() {
    require_capture!("written_pcap_reads_back_to_the_same_census");
    let lo = Loopback::new();
    let (live_csv, read_csv) = (lo.path("live.csv"), lo.path("read.csv"));
    let (live_conns, read_conns) = (lo.path("lc.csv"), lo.path("rc.csv"));
    let pcap = lo.path("raw.pcap");
    let live = lo.live(&[
        "--scope",
        "all",
        "--count",
        "1000000",
        "--duration",
        "6s",
        "--write",
        p(&pcap),
        "--csv",
        p(&live_csv),
        "--connections",
        p(&live_conns),
    ]);
    let server = lo.handshakes(&[TLS10, TLS12, TLS13, TLS12]);
    live.wait_ok(Duration::from_secs(30));
    drop(server);
    let out = tlscensus(&[
        "read",
        "-q",
        "--scope",
        "all",
        "--csv",
        p(&read_csv),
        "--connections",
        p(&read_conns),
        p(&pcap),
    ]);
    assert!(out.status.success(), "{out:?}");
    let live_text = std::fs::read_to_string(&live_csv).unwrap();
    assert_eq!(live_text, std::fs::read_to_string(&read_csv).unwrap());
    assert_eq!(
        versions(&loopback_client(&live_csv)),
        ["0", "1", "0", "2", "1"]
    );
    // Connections may be decided in another order live and at the end of a file; the rows
    // are the same.
    let sorted = |p: &Path| {
        let mut r = csv_file_rows(p);
        r.sort();
        r
    };
    assert_eq!(sorted(&live_conns), sorted(&read_conns));
    assert_eq!(sorted(&live_conns).len(), 4);
}

#[test]
fn count_stops_after_n_packets() {
    require_capture!("count_stops_after_n_packets");
    let lo = Loopback::new();
    let pcap = lo.path("raw.pcap");
    let live = lo.live(&["--count", "3", "--write", p(&pcap)]);
    drop(lo.handshakes(&[TLS12]));
    let (_, stderr) = live.wait_ok(Duration::from_secs(10));
    assert!(
        stderr
            .iter()
            .any(|l| l.starts_with("tlscensus: --count reached: ") && l.contains(" 3 packets ")),
        "{stderr:?}"
    );
    let mut cap = pcap::Capture::from_file(&pcap).unwrap();
    let mut n = 0;
    while cap.next_packet().is_ok() {
        n += 1;
    }
    assert_eq!(n, 3);
}

#[test]
fn user_drops_root_before_writing_and_parsing() {
    require_capture!("user_drops_root_before_writing_and_parsing");
    let Ok(Some(nobody)) = nix::unistd::User::from_name("nobody") else {
        eprintln!("note: skipping: no user nobody");
        return;
    };
    let lo = Loopback::new();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(lo.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out_dir = lo.path("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::os::unix::fs::chown(&out_dir, Some(nobody.uid.as_raw()), None).unwrap();
    let csv = out_dir.join("clients.csv");
    let live = lo.live(&[
        "--user",
        "nobody",
        "--scope",
        "all",
        "--duration",
        "5s",
        "--csv",
        p(&csv),
    ]);
    let server = lo.handshakes(&[TLS12]);
    live.wait_ok(Duration::from_secs(20));
    drop(server);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&csv).unwrap().uid(), nobody.uid.as_raw());
    assert_eq!(versions(&loopback_client(&csv)), ["0", "0", "0", "1", "0"]);
    // A directory only root may write to is refused once root is gone, before capturing.
    let root_only = lo.path("root-only");
    std::fs::create_dir(&root_only).unwrap();
    let out = tlscensus(&[
        "live",
        "-i",
        "lo",
        "--user",
        "nobody",
        "--csv",
        root_only.join("c.csv").to_str().unwrap(),
    ]);
    assert_exit(
        &out,
        1,
        format!(
            "tlscensus: {}: cannot write here: Permission denied\n",
            p(&root_only.join("c.csv"))
        ),
    );
}

#[test]
fn bad_filter_is_one_line_with_libpcaps_reason() {
    require_capture!("bad_filter_is_one_line_with_libpcaps_reason");
    let out = tlscensus(&["live", "-i", "lo", "--filter", "tcp and ("]);
    assert_exit(
        &out,
        1,
        "tlscensus: --filter \"tcp and (\": can't parse filter expression: syntax error\n",
    );
    let out = tlscensus(&["live", "-i", "lo", "--filter", "port nonsense"]);
    assert_exit(
        &out,
        1,
        "tlscensus: --filter \"port nonsense\": unknown port 'nonsense'\n",
    );
}

#[test]
fn unknown_interface_lists_those_that_exist() {
    let out = tlscensus(&["live", "-i", "nosuchif0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("tlscensus: no interface named \"nosuchif0\"; interfaces: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let names: Vec<&str> = err
        .trim_end()
        .rsplit_once("interfaces: ")
        .unwrap()
        .1
        .split(", ")
        .collect();
    assert!(names.contains(&"lo"), "{err}");
    // The same names `tlscensus interfaces` lists, in its order.
    let list = tlscensus(&["interfaces"]);
    assert!(list.status.success());
    let listed: Vec<String> = text(&list.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(names, listed);
}

#[test]
fn without_privileges_one_line_says_what_is_needed() {
    if !nix::unistd::geteuid().is_root() {
        // Not root: this is the situation itself.
        let out = tlscensus(&["live", "-i", "lo"]);
        let err = text(&out.stderr);
        if err.contains("no permission") {
            assert_eq!(out.status.code(), Some(1));
            assert!(
                err.contains("setcap cap_net_raw,cap_net_admin=eip"),
                "{err}"
            );
        } else {
            eprintln!("note: this user may capture (capabilities?): {err}");
        }
        return;
    }
    // As root, run the binary as nobody.
    let Ok(status) = Command::new("setpriv").arg("--version").output() else {
        eprintln!("note: skipping: setpriv is not installed");
        return;
    };
    assert!(status.status.success());
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", BIN])
        .args(["live", "-i", "lo"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    if err.contains("Permission denied") && err.contains("setpriv") {
        eprintln!("note: skipping: nobody cannot run {BIN}: {err}");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        format!(
            "tlscensus: lo: no permission to capture: run as root, or give the program \
             CAP_NET_RAW and CAP_NET_ADMIN once with: sudo setcap \
             cap_net_raw,cap_net_admin=eip {BIN}\n"
        )
    );
}

#[test]
fn live_refuses_bad_values_before_capturing() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["-i", "lo", "--csv", "-", "--connections", "-"],
            "tlscensus: --csv and --connections cannot both write to standard output\n",
        ),
        (
            &["-i", "lo", "--csv", "x.csv", "--write", "x.csv"],
            "tlscensus: --csv and --write name the same file: x.csv\n",
        ),
        (
            &["-i", "lo", "--every", "500ms"],
            "tlscensus: --every must be at least 1s\n",
        ),
        (
            &["-i", "lo", "--user", "no-such-user-tlscensus"],
            "tlscensus: --user no-such-user-tlscensus: no such user\n",
        ),
        (
            &["-i", "lo", "--include", "127.0.0.0/33"],
            "tlscensus: --include: \"127.0.0.0/33\" is not a CIDR prefix: prefix length out of \
             range\n",
        ),
        (
            &["-i", "lo", "--idle-timeout", "0"],
            "tlscensus: --idle-timeout must be at least 1 second\n",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["live"];
        all.extend_from_slice(args);
        let out = tlscensus(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stderr), *want, "{args:?}");
    }
    let out = tlscensus(&["live", "-i", "lo", "--duration", "soon"]);
    assert_eq!(out.status.code(), Some(2), "a wrong command line is clap's");
}

#[test]
fn a_restart_appends_to_connections_and_ndjson() {
    require_capture!("a_restart_appends_to_connections_and_ndjson");
    let dir = tempfile::tempdir().unwrap();
    let (conns, ndjson) = (dir.path().join("conns.csv"), dir.path().join("c.ndjson"));
    for run in 1..=2 {
        // A new port each run (the capture lock is held by one at a time).
        let lo = Loopback::new();
        let live = lo.live(&[
            "--scope",
            "all",
            "--duration",
            "4s",
            "--connections",
            p(&conns),
            "--ndjson",
            p(&ndjson),
        ]);
        let server = lo.handshakes(&[TLS13]);
        live.wait_ok(Duration::from_secs(30));
        drop(server);
        // The previous run's rows are kept; the header is written once.
        let text = std::fs::read_to_string(&conns).unwrap();
        assert_eq!(text.matches("ts,client_ip,").count(), 1, "{text}");
        assert_eq!(csv_file_rows(&conns).len(), run, "{text}");
        let lines = std::fs::read_to_string(&ndjson).unwrap();
        assert_eq!(lines.lines().count(), run, "{lines}");
    }
}

#[test]
fn stdout_outputs_are_written_once_at_the_end_with_every() {
    require_capture!("stdout_outputs_are_written_once_at_the_end_with_every");
    for flag in ["--csv", "--json"] {
        let lo = Loopback::new();
        let live = lo.live(&[
            "--scope",
            "all",
            "--every",
            "1s",
            "--duration",
            "4s",
            flag,
            "-",
        ]);
        let server = lo.handshakes(&[TLS13]);
        let (stdout, _) = live.wait_ok(Duration::from_secs(30));
        drop(server);
        if flag == "--csv" {
            assert_eq!(stdout.matches("client_ip,").count(), 1, "{stdout}");
            assert_eq!(common::csv_rows(&stdout).len(), 1, "{stdout}");
        } else {
            let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
            assert_eq!(doc["clients"].as_array().map(Vec::len), Some(1), "{stdout}");
        }
    }
}

#[test]
fn unwritable_outputs_are_one_line_naming_the_path() {
    require_capture!("unwritable_outputs_are_one_line_naming_the_path");
    let _lock = capture_lock();
    for flag in ["--csv", "--json", "--connections", "--ndjson"] {
        let o = tlscensus(&["live", "-i", "lo", flag, "/nonexistent-dir/x"]);
        assert_exit(
            &o,
            1,
            "tlscensus: /nonexistent-dir/x: cannot write here: No such file or directory\n",
        );
    }
}
