//! End-to-end: the outcome, `ended_by` and the per-client verdict under the capture conditions
//! every span port produces (one direction, a capture that ends, a clock that jumps, a client
//! that aborts, eviction, port reuse, stray resets), on captures made by
//! `tlscensus::synth::conditions` around recorded OpenSSL handshakes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tlscensus::synth::conditions::{
    alert, first_of, merge, tls10_exchange, tls12_sharepoint, Session,
};
use tlscensus::synth::{write_pcap, From, Packet};

use common::{csv_rows, p, run, stderr, stdout};

const SERVER: &str = "40.97.10.20";
/// 2025-03-04T09:00:00Z in ns.
const T0: i64 = 1_741_078_800_000_000_000;
const SEC: i64 = 1_000_000_000;

fn write(dir: &Path, name: &str, packets: &[Packet]) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    write_pcap(&mut f, packets).unwrap();
    path
}

/// CSV rows by column name.
type Rows = Vec<BTreeMap<String, String>>;

/// `read -q --scope all ARGS FILE`: (`--connections` rows, `--csv` rows, stderr).
fn census(packets: &[Packet], args: &[&str]) -> (Rows, Rows, String) {
    let dir = tempfile::tempdir().unwrap();
    let cap = write(dir.path(), "cap.pcap", packets);
    let conns = dir.path().join("conns.csv");
    let mut all = vec!["read", "-q", "--scope", "all", "--csv", "-"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--connections", p(&conns), p(&cap)]);
    let o = run(&all, 0);
    let rows = csv_rows(&std::fs::read_to_string(&conns).unwrap());
    (rows, csv_rows(&stdout(&o)), stderr(&o))
}

/// "client:port negotiated outcome ended_by" of each connection row.
fn outcomes(rows: &[BTreeMap<String, String>]) -> Vec<String> {
    let col = |r: &BTreeMap<String, String>, k: &str| match r[k].as_str() {
        "" => "-".to_string(),
        v => v.to_string(),
    };
    rows.iter()
        .map(|r| {
            format!(
                "{}:{} {} {} {}",
                col(r, "client_ip"),
                col(r, "client_port"),
                col(r, "negotiated"),
                col(r, "outcome"),
                col(r, "ended_by")
            )
        })
        .collect()
}

/// "client verdict failed max_offered" of each client row.
fn verdicts(rows: &[BTreeMap<String, String>]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            format!(
                "{} {} failed={} max={}",
                r["client_ip"], r["verdict"], r["failed"], r["max_offered"]
            )
        })
        .collect()
}

/// A whole TLS 1.0 connection: handshake, application data, close.
fn tls10_connection(client: &str, port: u16, t0: i64) -> Session {
    let mut s = Session::new(client, port, SERVER, t0);
    s.open()
        .replay(&tls10_exchange())
        .fin(From::Client)
        .fin(From::Server);
    s
}

#[test]
fn only_the_client_direction_captured_is_incomplete_not_broken() {
    let s = tls10_connection("10.1.0.60", 50600, T0);
    let (rows, clients, _) = census(&s.sent_by(From::Client), &[]);
    assert_eq!(outcomes(&rows), ["10.1.0.60:50600 - incomplete -"]);
    assert_eq!(
        verdicts(&clients),
        ["10.1.0.60 at-risk failed=0 max=TLSv1.0"]
    );
}

#[test]
fn only_the_server_direction_captured_is_incomplete_not_failed() {
    let s = tls10_connection("10.1.0.61", 50610, T0);
    let (rows, clients, _) = census(&s.sent_by(From::Server), &[]);
    assert_eq!(outcomes(&rows), ["10.1.0.61:50610 TLSv1.0 incomplete -"]);
    // The ServerHello shows TLS 1.0 negotiated: at risk, nothing failed, nothing offered seen.
    assert_eq!(verdicts(&clients), ["10.1.0.61 at-risk failed=0 max="]);
}

#[test]
fn server_bytes_acknowledged_but_not_captured_are_not_silence() {
    // The server's flight took another path: only its ACKs were captured, but the client's
    // ACKs acknowledge its bytes.
    let x = tls10_exchange();
    let mut s = Session::new("10.1.0.62", 50620, SERVER, T0);
    s.open().data(From::Client, &first_of(&x, From::Client));
    let mut hidden = s.clone();
    hidden.data(From::Server, &first_of(&x, From::Server));
    let mut packets = s.packets();
    s = hidden;
    s.ack(From::Client)
        .wait(60 * SEC)
        .fin(From::Client)
        .fin(From::Server);
    packets.extend(s.packets().into_iter().skip(packets.len() + 1));
    let (rows, clients, _) = census(&packets, &[]);
    assert_eq!(outcomes(&rows), ["10.1.0.62:50620 - incomplete -"]);
    assert_eq!(
        verdicts(&clients),
        ["10.1.0.62 at-risk failed=0 max=TLSv1.0"]
    );
}

#[test]
fn a_capture_that_ends_right_after_the_client_hello_is_incomplete() {
    let x = tls10_exchange();
    let mut s = Session::new("10.1.0.63", 50630, SERVER, T0);
    s.open().data(From::Client, &first_of(&x, From::Client));
    s.step = 100_000; // the server's ACK 0.1 ms later, then the capture ends
    s.ack(From::Server);
    let (rows, clients, _) = census(&s.packets(), &[]);
    assert_eq!(outcomes(&rows), ["10.1.0.63:50630 - incomplete -"]);
    assert_eq!(
        verdicts(&clients),
        ["10.1.0.63 at-risk failed=0 max=TLSv1.0"]
    );
}

#[test]
fn a_server_silent_while_the_capture_goes_on_is_no_reply() {
    let x = tls10_exchange();
    let mut s = Session::new("10.1.0.64", 50640, SERVER, T0);
    s.open().data(From::Client, &first_of(&x, From::Client));
    s.ack(From::Server);
    // Another connection goes on for 30 s: the capture shows the server's silence.
    let other = tls10_connection("10.1.0.65", 50650, T0 + 30 * SEC);
    let (rows, clients, _) = census(&merge(&[&s, &other]), &[]);
    assert_eq!(
        outcomes(&rows),
        [
            "10.1.0.65:50650 TLSv1.0 established -",
            "10.1.0.64:50640 - no_reply -"
        ]
    );
    assert_eq!(
        verdicts(&clients),
        [
            "10.1.0.64 broken failed=1 max=TLSv1.0",
            "10.1.0.65 at-risk failed=0 max=TLSv1.0"
        ]
    );
    // The client giving up after 12 s of silence is no_reply too, ended by the client.
    let mut s = Session::new("10.1.0.66", 50660, SERVER, T0);
    s.open().data(From::Client, &first_of(&x, From::Client));
    s.ack(From::Server).wait(12 * SEC).fin(From::Client);
    let (rows, _, _) = census(&s.packets(), &[]);
    assert_eq!(outcomes(&rows), ["10.1.0.66:50660 - no_reply client"]);
}

#[test]
fn a_connection_the_client_aborted_does_not_make_it_broken() {
    let x = tls10_exchange();
    let mut sessions: Vec<Session> = (0..20)
        .map(|i| tls10_connection("10.1.0.70", 50700 + i, T0 + i64::from(i) * SEC))
        .collect();
    let mut aborted = Session::new("10.1.0.70", 50799, SERVER, T0 + 30 * SEC);
    aborted
        .open()
        .data(From::Client, &first_of(&x, From::Client))
        .rst(From::Client);
    sessions.push(aborted);
    let refs: Vec<&Session> = sessions.iter().collect();
    let (rows, clients, _) = census(&merge(&refs), &[]);
    assert_eq!(rows.len(), 21);
    assert_eq!(outcomes(&rows[20..]), ["10.1.0.70:50799 - reset client"]);
    assert_eq!(
        verdicts(&clients),
        ["10.1.0.70 at-risk failed=0 max=TLSv1.0"]
    );
}

#[test]
fn the_first_ending_event_names_the_outcome_and_who_ended_it() {
    // The server closes right after the ClientHello; the client then sends decode_error.
    let x = tls10_exchange();
    let mut s = Session::new("10.1.0.71", 50710, SERVER, T0);
    s.open()
        .data(From::Client, &first_of(&x, From::Client))
        .fin(From::Server)
        .data(From::Client, &alert(2, 50))
        .fin(From::Client);
    let (rows, clients, _) = census(&s.packets(), &[]);
    assert_eq!(outcomes(&rows), ["10.1.0.71:50710 - closed server"]);
    assert_eq!(
        verdicts(&clients),
        ["10.1.0.71 broken failed=1 max=TLSv1.0"]
    );
    // A server alert is the server's; a client alert after the ServerHello is the client's
    // and no evidence of refusal.
    let mut s = Session::new("10.1.0.72", 50720, SERVER, T0);
    s.open()
        .data(From::Client, &first_of(&x, From::Client))
        .data(From::Server, &alert(2, 70))
        .fin(From::Server);
    let mut c = Session::new("10.1.0.73", 50730, SERVER, T0);
    c.open()
        .data(From::Client, &first_of(&x, From::Client))
        .data(From::Server, &first_of(&x, From::Server))
        .data(From::Client, &alert(2, 48))
        .fin(From::Client);
    let (rows, clients, _) = census(&merge(&[&s, &c]), &[]);
    assert_eq!(
        outcomes(&rows),
        [
            "10.1.0.72:50720 - alert:protocol_version server",
            "10.1.0.73:50730 TLSv1.0 alert:unknown_ca client"
        ]
    );
    assert_eq!(
        verdicts(&clients),
        [
            "10.1.0.72 broken failed=1 max=TLSv1.0",
            "10.1.0.73 at-risk failed=0 max=TLSv1.0"
        ]
    );
}

#[test]
fn one_packet_stamped_ten_years_ahead_splits_nothing() {
    // Eight handshakes in progress; one packet of an unrelated connection is stamped ten
    // years ahead. Without the clock rule every handshake splits in two.
    let x = tls10_exchange();
    let mut sessions: Vec<Session> = (0..8)
        .map(|i| {
            let mut s = Session::new("10.1.0.80", 50800 + i, SERVER, T0 + i64::from(i) * SEC);
            s.step = 20 * SEC;
            s.open().replay(&x);
            s
        })
        .collect();
    let mut stray = Session::new("10.1.0.81", 50810, SERVER, T0 + 30 * SEC);
    stray.data(From::Client, b"x");
    let mut packets = merge(&sessions.iter().collect::<Vec<_>>());
    let mut future = stray.packets();
    future[0].ts_nanos += 3650 * 86_400 * SEC;
    let at = packets
        .iter()
        .position(|p| p.ts_nanos > T0 + 30 * SEC)
        .unwrap();
    packets.insert(at, future.remove(0));
    sessions.clear();
    let (rows, clients, err) = census(&packets, &[]);
    assert_eq!(rows.len(), 8, "{:?}", outcomes(&rows));
    assert!(
        rows.iter().all(|r| r["outcome"] == "established"),
        "{:?}",
        outcomes(&rows)
    );
    assert_eq!(
        verdicts(&clients),
        ["10.1.0.80 at-risk failed=0 max=TLSv1.0"]
    );
    assert_eq!(
        err.matches("clock jumped").count(),
        1,
        "said once on stderr: {err}"
    );
    assert!(
        err.contains(
            "tlscensus: warning: the capture's clock jumped 2 times (first from \
                      2025-03-04T09:00:"
        ),
        "{err}"
    );
}

#[test]
fn an_interface_whose_clock_was_never_set_expires_nothing() {
    // Two sources interleaved: one with the right time, one counting from 1970.
    let x = tls10_exchange();
    let mut a = Session::new("10.1.0.82", 50820, SERVER, T0);
    let mut b = Session::new("10.1.0.83", 50830, SERVER, 5 * SEC);
    a.step = 10 * SEC;
    b.step = 10 * SEC;
    a.open().replay(&x);
    b.open().replay(&x);
    let (pa, pb) = (a.packets(), b.packets());
    let packets: Vec<Packet> = pa.into_iter().zip(pb).flat_map(|(x, y)| [x, y]).collect();
    let (rows, _, _) = census(&packets, &[]);
    assert_eq!(
        outcomes(&rows),
        [
            "10.1.0.82:50820 TLSv1.0 established -",
            "10.1.0.83:50830 TLSv1.0 established -"
        ]
    );
}

#[test]
fn an_evicted_handshake_is_counted_once_as_incomplete() {
    // Eight handshakes interleaved, at most four tracked: each is reported once.
    let x = tls10_exchange();
    let sessions: Vec<Session> = (0..8)
        .map(|i| {
            let mut s = Session::new("10.1.0.90", 50900 + i, SERVER, T0 + i64::from(i) * 100_000);
            s.step = SEC;
            s.open().replay(&x[..2]);
            s
        })
        .collect();
    let (rows, clients, _) = census(
        &merge(&sessions.iter().collect::<Vec<_>>()),
        &["--max-connections", "4"],
    );
    assert_eq!(rows.len(), 8, "{:?}", outcomes(&rows));
    let mut ports: Vec<&str> = rows.iter().map(|r| r["client_port"].as_str()).collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 8);
    assert!(rows.iter().all(|r| r["outcome"] == "incomplete"));
    assert_eq!(clients[0]["connections"], "8");
}

#[test]
fn a_new_syn_on_the_same_ports_starts_a_new_connection() {
    // A TLS 1.0 attempt the server never answers, then (no FIN or RST seen) a new SYN with a
    // new ISN on the same addresses and ports carrying a TLS 1.2 handshake.
    let x = tls10_exchange();
    let mut old = Session::new("10.1.0.91", 50910, SERVER, T0);
    old.open()
        .data(From::Client, &first_of(&x, From::Client))
        .ack(From::Server);
    let mut new = Session::new("10.1.0.91", 50910, SERVER, T0 + 20 * SEC);
    new.client_isn += 1_000_000;
    new.server_isn += 1_000_000;
    new.open().replay(&tls12_sharepoint());
    let (rows, clients, _) = census(&merge(&[&old, &new]), &[]);
    assert_eq!(
        outcomes(&rows),
        [
            "10.1.0.91:50910 - no_reply -",
            "10.1.0.91:50910 TLSv1.2 established -"
        ]
    );
    assert_eq!(rows[0]["offered_max"], "TLSv1.0");
    assert_eq!(rows[1]["offered_max"], "TLSv1.2");
    assert_eq!(
        verdicts(&clients),
        ["10.1.0.91 at-risk failed=1 max=TLSv1.2"]
    );
}

#[test]
fn a_reset_outside_the_window_is_ignored() {
    let x = tls10_exchange();
    let mut s = Session::new("10.1.0.92", 50920, SERVER, T0);
    s.open().data(From::Client, &first_of(&x, From::Client));
    // An injected reset "from the server", far outside its sequence space.
    let mut forged = s.clone();
    forged.server_isn = forged.server_isn.wrapping_add(0x4000_0000);
    forged.rst(From::Server);
    let mut packets = s.packets();
    packets.push(forged.packets().pop().unwrap());
    s.t = forged.t;
    let rest_from = s.packets().len();
    s.replay(&x[1..]).fin(From::Client).fin(From::Server);
    packets.extend(s.packets().into_iter().skip(rest_from));
    let (rows, _, _) = census(&packets, &[]);
    assert_eq!(outcomes(&rows), ["10.1.0.92:50920 TLSv1.0 established -"]);
    let (_, _, err) = census(&packets, &["--stats"]);
    assert!(
        err.lines()
            .any(|l| l.trim().starts_with("resets outside the window") && l.ends_with(" 1")),
        "{err}"
    );
    // The same reset in the window ends the connection.
    let mut s = Session::new("10.1.0.93", 50930, SERVER, T0);
    s.open()
        .data(From::Client, &first_of(&x, From::Client))
        .rst(From::Server);
    let (rows, _, _) = census(&s.packets(), &[]);
    assert_eq!(outcomes(&rows), ["10.1.0.93:50930 - reset server"]);
}

#[test]
fn no_version_evidence_is_unknown_not_ok() {
    let o = run(
        &[
            "read",
            "-q",
            "--scope",
            "all",
            "--csv",
            "-",
            p(&common::fixture("starttls-smtp-refused.pcap")),
        ],
        0,
    );
    let clients = csv_rows(&stdout(&o));
    assert_eq!(verdicts(&clients), ["10.5.0.3 unknown failed=1 max="]);
    let o = run(
        &[
            "read",
            "--scope",
            "all",
            "--color",
            "never",
            p(&common::fixture("starttls-smtp-refused.pcap")),
        ],
        0,
    );
    let table = stdout(&o);
    assert!(
        table.starts_with(
            "TLS census toward all TLS servers: 1 client: 0 broken, 0 at risk, 1 unknown, 0 ok\n"
        ),
        "{table}"
    );
    assert!(table.contains(" unknown "), "{table}");
    assert!(!table.contains('?'), "{table}");
    let o = run(
        &[
            "read",
            "-q",
            "--scope",
            "all",
            "--html",
            "-",
            p(&common::fixture("starttls-smtp-refused.pcap")),
        ],
        0,
    );
    let page = stdout(&o);
    assert!(
        page.contains("id=\"total-unknown\"><span class=\"n\">1</span>"),
        "{page}"
    );
    assert!(!page.contains("class=\"legacy-client"), "{page}");
    assert!(page.contains("data-verdict=\"unknown\""), "{page}");
}

#[test]
fn same_input_same_bytes_whatever_the_expiry_order() {
    // 300 connections of one client over 40 distinct SNIs (more than the per-client cap),
    // half of them left open to expire idle: the outputs are the same bytes on every run,
    // on one thread or two.
    let x = tls12_sharepoint();
    let hello = first_of(&x, From::Client);
    let sni_at = hello
        .windows(b"sharepoint".len())
        .position(|w| w == b"sharepoint")
        .expect("the hello names sharepoint");
    let mut sessions = Vec::new();
    for i in 0..300u16 {
        let mut s = Session::new("10.1.0.95", 40000 + i, SERVER, T0 + i64::from(i) * SEC);
        let mut h = hello.clone();
        let tag = format!("{:02}", i % 40);
        h[sni_at..sni_at + 2].copy_from_slice(tag.as_bytes());
        s.open().data(From::Client, &h);
        if i % 2 == 0 {
            s.replay(&x[1..]).fin(From::Client).fin(From::Server);
        }
        sessions.push(s);
    }
    let packets = merge(&sessions.iter().collect::<Vec<_>>());
    let dir = tempfile::tempdir().unwrap();
    let cap = write(dir.path(), "cap.pcap", &packets);
    let out = |threads: &str| {
        let csv = dir.path().join(format!("c{threads}.csv"));
        let nd = dir.path().join(format!("n{threads}.ndjson"));
        let mut args = vec![
            "read",
            "-q",
            "--scope",
            "all",
            "--idle-timeout",
            "5",
            "--csv",
            p(&csv),
            "--ndjson",
            p(&nd),
        ];
        if !threads.is_empty() {
            args.push(threads);
        }
        args.push(p(&cap));
        run(&args, 0);
        let text = std::fs::read_to_string(&csv).unwrap() + &std::fs::read_to_string(&nd).unwrap();
        std::fs::remove_file(&csv).unwrap();
        std::fs::remove_file(&nd).unwrap();
        text
    };
    let first = out("");
    for _ in 0..3 {
        assert_eq!(out(""), first);
    }
    assert_eq!(out("--single-thread"), first);
    // The SNI set is the 32 smallest names.
    let csv_line = first.lines().find(|l| l.starts_with("10.1.0.95,")).unwrap();
    assert!(csv_line.contains(",contoso.00arepoint.com;"), "{csv_line}");
    assert!(csv_line.contains(";contoso.31arepoint.com,"), "{csv_line}");
    assert!(!csv_line.contains("32arepoint"), "{csv_line}");
}
