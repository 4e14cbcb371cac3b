//! (c) The TLS stage alone: `DirectionParser::feed` over arbitrary splits of the bytes (and a
//! gap in the middle), and the hello parsers (TLS and SSLv2 framing) with the fingerprints of
//! what they return.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlscensus::fingerprint;
use tlscensus::tls::{hello, sslv2, DirectionParser, HandshakeEvent};

fn fingerprints(events: &[HandshakeEvent]) {
    for ev in events {
        match ev {
            HandshakeEvent::ClientHello(ch) => {
                let _ = fingerprint::ja4(ch);
                let _ = fingerprint::ja4_r(ch);
                let _ = fingerprint::ja3(ch);
                let _ = ch.max_offered();
            }
            HandshakeEvent::ServerHello(sh) | HandshakeEvent::HelloRetryRequest(sh) => {
                let _ = fingerprint::ja3s(sh);
                let _ = sh.negotiated();
            }
            _ => {}
        }
    }
}

fuzz_target!(|input: &[u8]| {
    // Two bytes of split pattern, then the stream.
    let Some((&[a, b], data)) = input.split_first_chunk::<2>() else {
        return;
    };

    // The whole stream at once, then cut into pieces of 1 + (a..) bytes, with a gap after the
    // piece numbered `b` when its top bit is set.
    let mut events = Vec::new();
    let _ = DirectionParser::new().feed(data, &mut events);
    fingerprints(&events);

    let mut parser = DirectionParser::new();
    let mut events = Vec::new();
    let mut rest = data;
    let mut step = usize::from(a) + 1;
    let mut piece = 0u8;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(step.min(rest.len()));
        let _ = parser.feed(chunk, &mut events);
        if b & 0x80 != 0 && piece == b & 0x7f {
            parser.gap(&mut events);
        }
        // The hello buffer holds at most twice what arrived (at least 512), never past the
        // largest hello.
        assert!(parser.memory() <= tlscensus::tls::record::MAX_HANDSHAKE_MESSAGE);
        let _ = parser.buffered();
        rest = tail;
        piece = piece.wrapping_add(1);
        // Vary the piece length so that headers get split at every position.
        step = (step * 7 + 3) % 257 + 1;
    }
    fingerprints(&events);

    if let Ok(ch) = hello::parse_client_hello(data) {
        fingerprints(&[HandshakeEvent::ClientHello(Box::new(ch))]);
    }
    if let Ok((sh, _)) = hello::parse_server_hello(data) {
        fingerprints(&[HandshakeEvent::ServerHello(Box::new(sh))]);
    }
    if let Some(head) = data.first_chunk::<5>() {
        let _ = sslv2::probe(*head);
    }
    if let Ok(ch) = sslv2::parse_client_hello(data) {
        fingerprints(&[HandshakeEvent::ClientHello(Box::new(ch))]);
    }
    if let Ok(sh) = sslv2::parse_server_hello(data) {
        fingerprints(&[HandshakeEvent::ServerHello(Box::new(sh))]);
    }
});
