//! QUIC handshakes end to end: captures recorded from aioquic (fixtures/record-quic.sh) and
//! generated ones (src/synth/quic.rs), through `tlscensus read`.

mod common;

use common::*;
use tlscensus::quic::initial::Version;
use tlscensus::synth::quic::Script;

/// aioquic's ClientHello: JA4 with FoxIO's `q` prefix, JA3 and JA3S as Wireshark 4.0 computes
/// them for the same packets.
const AIOQUIC_JA4: &str = "q13d0307h3_55b375c5d22e_1cecd519fee8";
const AIOQUIC_JA3: &str = "121f6e4f22ee3205214b0676ed64b9e2";
const AIOQUIC_JA3S: &str = "15af977ce25de452b96affa2addb1036";

#[test]
fn aioquic_v1_v2_and_retry() {
    for (name, client) in [
        ("quic-v1-aioquic.pcap", "10.1.0.31"),
        ("quic-v2-aioquic.pcap", "10.1.0.32"),
        ("quic-v1-retry-aioquic.pcap", "10.1.0.33"),
    ] {
        let o = run(
            &["read", p(&fixture(name)), "--connections", "-", "--quiet"],
            0,
        );
        let rows = csv_rows(&stdout(&o));
        assert_eq!(rows.len(), 1, "{name}: one handshake, a Retry counted once");
        let r = &rows[0];
        let want = [
            ("client_ip", client),
            ("client_port", "51000"),
            ("server_ip", "52.96.0.10"),
            ("server_port", "443"),
            ("sni", "outlook.office365.com"),
            ("offered_max", "TLSv1.3"),
            ("negotiated", "TLSv1.3"),
            ("cipher", "TLS_AES_256_GCM_SHA384"),
            ("m365", "true"),
            ("outcome", "established"),
            ("ja4", AIOQUIC_JA4),
            ("ja3", AIOQUIC_JA3),
            ("ja3s", AIOQUIC_JA3S),
            ("ended_by", ""),
            ("transport", "quic"),
        ];
        for (k, v) in want {
            assert_eq!(r[k], v, "{name}: {k}");
        }
    }
}

#[test]
fn quic_column_and_ndjson() {
    let f = fixture("quic-v2-aioquic.pcap");
    let o = run(&["read", p(&f), "--csv", "-", "--quiet"], 0);
    let text = stdout(&o);
    assert!(text.starts_with(&format!("{CLIENT_HEADER}\n")));
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["quic"], "1");
    assert_eq!(rows[0]["tlsv1_3"], "1");
    assert_eq!(rows[0]["ja4_seen"], AIOQUIC_JA4);
    let o = run(&["read", p(&f), "--ndjson", "-", "--quiet"], 0);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(v["transport"], "quic");
    // A TCP capture says tcp, and 0 QUIC connections per client.
    let o = run(
        &[
            "read",
            p(&fixture("tls12-sharepoint.pcap")),
            "--connections",
            "-",
            "--quiet",
        ],
        0,
    );
    let out = stdout(&o);
    assert!(out.lines().skip(1).all(|l| l.ends_with(",tcp")), "{out}");
    let o = run(
        &[
            "read",
            p(&fixture("tls12-sharepoint.pcap")),
            "--csv",
            "-",
            "--quiet",
        ],
        0,
    );
    assert!(csv_rows(&stdout(&o)).iter().all(|r| r["quic"] == "0"));
    // merge keeps the column.
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    run(&["read", p(&f), "--csv", p(&a), "--quiet"], 0);
    let b = dir.path().join("b.csv");
    run(
        &[
            "read",
            p(&fixture("quic-v1-aioquic.pcap")),
            "--csv",
            p(&b),
            "--quiet",
        ],
        0,
    );
    let o = run(&["merge", p(&a), p(&b), "--csv", "-", "-q"], 0);
    let rows = csv_rows(&stdout(&o));
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["quic"] == "1"));
}

fn synthetic(scripts: &[Script]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quic.pcap");
    let mut packets = Vec::new();
    for (i, s) in scripts.iter().enumerate() {
        packets.extend(s.packets(1_741_078_800_000_000_000 + i as i64 * 100_000_000));
    }
    packets.sort_by_key(|p| p.ts_nanos);
    let mut f = std::fs::File::create(&path).unwrap();
    tlscensus::synth::write_pcap(&mut f, &packets).unwrap();
    (dir, path)
}

#[test]
fn generated_handshakes() {
    let base = |port: u16, v: Version| Script {
        client: ("10.1.0.50".parse().unwrap(), port),
        ..Script::new(v)
    };
    let scripts = [
        // A post-quantum-sized ClientHello over three Initials, last part first, after a Retry.
        Script {
            pad: 2400,
            parts: 3,
            reverse: true,
            retry: true,
            ..base(40001, Version::V1)
        },
        // Version Negotiation from v1 to v2; the server's Initial coalesced with a Handshake.
        Script {
            negotiate_from: Some(1),
            coalesce: true,
            ..base(40002, Version::V2)
        },
        Script {
            ..base(40003, Version::Draft29)
        },
        // The server refuses in its Initial: CONNECTION_CLOSE with a TLS alert (handshake
        // failure, 40).
        Script {
            server_close: Some(0x100 + 40),
            ..base(40004, Version::V1)
        },
        // Silence: the client resends its Initial for 15 s.
        Script {
            server_answers: false,
            ..base(40005, Version::V1)
        },
    ];
    let (_dir, path) = synthetic(&scripts);
    let o = run(&["read", p(&path), "--connections", "-", "--quiet"], 0);
    let rows = csv_rows(&stdout(&o));
    let got: Vec<(&str, &str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["client_port"].as_str(),
                r["negotiated"].as_str(),
                r["outcome"].as_str(),
                r["ended_by"].as_str(),
                r["transport"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("40001", "TLSv1.3", "established", "", "quic"),
            ("40002", "TLSv1.3", "established", "", "quic"),
            ("40003", "TLSv1.3", "established", "", "quic"),
            ("40004", "", "alert:handshake_failure", "server", "quic"),
            ("40005", "", "no_reply", "", "quic"),
        ]
    );
    assert!(rows.iter().all(|r| r["sni"] == "outlook.office365.com"));
    assert!(rows.iter().all(|r| r["ja4"].starts_with("q13d")));
    // One client: five QUIC connections, two failed.
    let o = run(&["read", p(&path), "--csv", "-", "--quiet"], 0);
    let c = csv_rows(&stdout(&o));
    assert_eq!(c.len(), 1);
    assert_eq!(
        (
            c[0]["connections"].as_str(),
            c[0]["quic"].as_str(),
            c[0]["failed"].as_str()
        ),
        ("5", "5", "2")
    );
}

#[test]
fn table_footer_shows_the_quic_share() {
    let o = run(
        &[
            "read",
            p(&fixture("quic-v1-aioquic.pcap")),
            p(&fixture("tls13-teams.pcap")),
            "--color",
            "never",
        ],
        0,
    );
    let out = stdout(&o);
    assert!(
        out.contains("\nQUIC: 1 of 2 connections (50.0%)\n"),
        "{out}"
    );
    let o = run(
        &["read", p(&fixture("tls13-teams.pcap")), "--color", "never"],
        0,
    );
    assert!(!stdout(&o).contains("QUIC:"));
}

#[test]
fn html_report_shows_the_quic_share() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    run(
        &[
            "read",
            p(&fixture("quic-v1-aioquic.pcap")),
            p(&fixture("tls13-teams.pcap")),
            "-q",
            "--html",
            p(&html),
        ],
        0,
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<p class=\"note\" id=\"quic-share\">QUIC: 1 of 2 connections (50.0%).</p>"),
        "{page}"
    );
}
