//! DTLS handshakes end to end: OpenSSL's s_server -listen (HelloVerifyRequest) and s_client
//! on loopback (fixtures/record-dtls.sh), through `tlscensus read`.

mod common;

use common::*;

#[test]
fn openssl_dtls12_and_dtls10() {
    for (name, client, version, cipher, ja3, verdict, tls11, tls12) in [
        (
            "dtls12-openssl.pcap",
            "10.1.0.41",
            "0xfefd",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            // As Wireshark 4.0's dtls.handshake.ja3 for the same ClientHello.
            "248a2544f4221c0f02f877e42fe67853",
            "ok",
            "0",
            "1",
        ),
        (
            "dtls10-openssl.pcap",
            "10.1.0.42",
            "0xfeff",
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
            "286a367bb52e0536fe50f326e484150b",
            "at-risk",
            "1",
            "0",
        ),
    ] {
        let f = fixture(name);
        let o = run(&["read", p(&f), "--connections", "-", "-q"], 0);
        let rows = csv_rows(&stdout(&o));
        assert_eq!(
            rows.len(),
            1,
            "{name}: the cookie round trip is one connection"
        );
        let r = &rows[0];
        for (k, v) in [
            ("client_ip", client),
            ("server_ip", "52.96.0.10"),
            ("sni", "outlook.office365.com"),
            ("offered_max", version),
            ("negotiated", version),
            ("cipher", cipher),
            ("outcome", "established"),
            ("ja3", ja3),
            ("transport", "dtls"),
        ] {
            assert_eq!(r[k], v, "{name}: {k}");
        }
        // FoxIO's JA4 for DTLS: `d`, then `d1`/`d2` for the version.
        let want = if version == "0xfefd" { "dd2d" } else { "dd1d" };
        assert!(r["ja4"].starts_with(want), "{name}: {}", r["ja4"]);
        // DTLS 1.0 is TLS 1.1 in strength: counted there, and legacy.
        let o = run(&["read", p(&f), "--csv", "-", "-q"], 0);
        let c = &csv_rows(&stdout(&o))[0];
        assert_eq!(c["verdict"], verdict, "{name}");
        assert_eq!(
            (c["tlsv1_1"].as_str(), c["tlsv1_2"].as_str()),
            (tls11, tls12),
            "{name}"
        );
        assert_eq!(c["quic"], "0");
    }
}
