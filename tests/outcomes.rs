//! End-to-end: how each recorded connection ended, STARTTLS, resumption, fingerprints and the
//! per-client verdict, on fixtures recorded from real stacks (fixtures/record-issue5.sh).
//! JA3 and JA3S values are tshark 4.0's for the same captures.

mod common;

use common::{csv_rows, fixture, p, stdout, tlscensus};

/// `read -q --scope all ARGS FILE` of a fixture: its stdout.
fn read(args: &[&str], file: &str) -> String {
    let path = fixture(file);
    let mut all = vec!["read", "-q", "--scope", "all"];
    all.extend_from_slice(args);
    all.push(p(&path));
    let o = tlscensus(&all);
    assert!(
        o.status.success(),
        "{file}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o)
}

/// `--connections` rows as "client:port starttls offered_max negotiated outcome resumed ja3 ja3s".
fn rows(file: &str) -> Vec<String> {
    let text = read(&["--connections", "-"], file);
    csv_rows(&text)
        .iter()
        .map(|r| {
            let col = |name: &str| match r[name].as_str() {
                "" => "-",
                v => v,
            };
            format!(
                "{}:{} {} {} {} {} {} {} {}",
                col("client_ip"),
                col("client_port"),
                col("starttls"),
                col("offered_max"),
                col("negotiated"),
                col("outcome"),
                col("resumed"),
                col("ja3"),
                col("ja3s"),
            )
        })
        .collect()
}

/// The `--csv` row of a fixture's first client.
fn client_row(file: &str) -> String {
    let csv = read(&["--csv", "-"], file);
    csv.lines().nth(1).unwrap().to_string()
}

const OPENSSL_TLS12_JA3: &str = "871a754af286dfb70c1b53c6887c62e0";
const OPENSSL_TLS10_JA3: &str = "c6dbf3152a545382a95425e390e2d2e8";
const OPENSSL_DEFAULT_JA3: &str = "a3afc2c46ba4a7d7fbe1cfb7a3031c2f";
const OPENSSL_TLS13_JA3S: &str = "15af977ce25de452b96affa2addb1036";

#[test]
fn smtp_starttls_established() {
    assert_eq!(
        rows("starttls-smtp-tls12.pcap"),
        [format!(
            "10.5.0.1:51001 smtp TLSv1.2 TLSv1.2 established false {OPENSSL_TLS12_JA3} \
             abade5a4a7f42baf54766e5d108283b6"
        )]
    );
}

#[test]
fn printer_doing_smtp_starttls_with_tls10() {
    assert_eq!(
        rows("starttls-smtp-tls10-printer.pcap"),
        [format!(
            "10.5.0.2:51002 smtp TLSv1.0 TLSv1.0 established false {OPENSSL_TLS10_JA3} \
             ef11b7c1bd520da6824fcd0cf876de79"
        )]
    );
    let row = client_row("starttls-smtp-tls10-printer.pcap");
    assert!(row.starts_with("10.5.0.2,1,0,1,0,0,0,0,TLSv1.0,"), "{row}");
    assert!(row.contains(",at-risk,"), "{row}");
}

#[test]
fn smtp_starttls_refused_by_the_server() {
    assert_eq!(
        rows("starttls-smtp-refused.pcap"),
        ["10.5.0.3:51003 smtp - - starttls_refused false - -"]
    );
}

#[test]
fn tls10_only_client_refused_after_starttls_is_broken() {
    assert_eq!(
        rows("starttls-smtp-tls10-vs-min12.pcap"),
        [format!(
            "10.5.0.4:51004 smtp TLSv1.0 - alert:protocol_version false {OPENSSL_TLS10_JA3} -"
        )]
    );
    let row = client_row("starttls-smtp-tls10-vs-min12.pcap");
    assert!(row.contains(",broken,"), "{row}");
    // failed 1, lowest_negotiated empty, one JA4.
    assert!(row.contains(",broken,Exchange=1;Common=1,1,,t10d"), "{row}");
}

#[test]
fn imap_pop3_ftp_starttls() {
    for (file, client, proto) in [
        ("starttls-imap.pcap", "10.5.0.5:51005", "imap"),
        ("starttls-pop3.pcap", "10.5.0.6:51006", "pop3"),
        ("starttls-ftp.pcap", "10.5.0.7:51007", "ftp"),
    ] {
        assert_eq!(
            rows(file),
            [format!(
                "{client} {proto} TLSv1.3 TLSv1.3 established false {OPENSSL_DEFAULT_JA3} \
                 {OPENSSL_TLS13_JA3S}"
            )],
            "{file}"
        );
    }
}

#[test]
fn resumption_by_ticket_session_id_and_psk() {
    // TLS 1.2: a full handshake, then one resumed by a ticket, or by the session ID.
    for (file, client, port, full_ja3s) in [
        (
            "resumption-tls12.pcap",
            "10.5.0.8",
            51008,
            "abade5a4a7f42baf54766e5d108283b6",
        ),
        (
            "resumption-tls12-sessionid.pcap",
            "10.5.0.9",
            51010,
            "a548c224ffe85e7076d7897c27f6758c",
        ),
    ] {
        assert_eq!(
            rows(file),
            [
                format!(
                    "{client}:{port} - TLSv1.2 TLSv1.2 established false {OPENSSL_TLS12_JA3} \
                     {full_ja3s}"
                ),
                format!(
                    "{client}:{} - TLSv1.2 TLSv1.2 established true {OPENSSL_TLS12_JA3} \
                     f14f2862ee2df5d0f63a88b60c8eee56",
                    port + 1
                ),
            ],
            "{file}"
        );
    }
    assert_eq!(
        rows("resumption-tls13.pcap"),
        [
            format!(
                "10.5.0.10:51012 - TLSv1.3 TLSv1.3 established false \
                 f146948b4a599d4d7ddf071b74696983 {OPENSSL_TLS13_JA3S}"
            ),
            "10.5.0.10:51013 - TLSv1.3 TLSv1.3 established true \
             5d70a188544fb769122c0d9b2509a405 2253c82f03b621c5144709b393fde2c9"
                .to_string(),
        ]
    );
}

#[test]
fn sslv2_compatible_hello_answered_with_tls10() {
    assert_eq!(
        rows("sslv2-hello-tls10.pcap"),
        [
            "10.5.0.11:51014 - TLSv1.0 TLSv1.0 established false fad7c5107d5c716b50a1c2d282730898 \
          e1691a31bfe345d2692da75636ddfb00"
        ]
    );
}

#[test]
fn refused_tls10_client_without_starttls() {
    let text = read(&["--connections", "-"], "failed-tls10-vs-min12.pcap");
    assert!(
        text.contains(",alert:protocol_version,TLSv1.0,false,,t10d"),
        "{text}"
    );
}
