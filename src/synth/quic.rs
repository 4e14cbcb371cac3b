//! Synthetic QUIC handshakes: Initial packets built and protected with the crate's own
//! [`crate::quic::initial`] code (the RFC 9001 Appendix A vectors check that code against the
//! specification), around a small real-shaped ClientHello and ServerHello. For the cases a
//! recorded stack does not produce on demand: Version Negotiation, Retry, coalescing,
//! reordering, a ClientHello over several packets, CONNECTION_CLOSE.

use std::net::IpAddr;

use etherparse::PacketBuilder;

use super::Packet;
use crate::quic::initial::{InitialKeys, Keys, PacketType, Version};

/// A ClientHello handshake message (4-byte header included) offering TLS 1.3 only, with
/// `sni`, ALPN `h3`, and a padding extension of `pad` bytes (a post-quantum key share's
/// size: ~1200 bytes for X25519MLKEM768).
pub fn client_hello(sni: &str, pad: usize) -> Vec<u8> {
    let mut exts = Vec::new();
    let mut ext = |ty: u16, body: &[u8]| {
        exts.extend_from_slice(&ty.to_be_bytes());
        exts.extend_from_slice(&(body.len() as u16).to_be_bytes());
        exts.extend_from_slice(body);
    };
    let name = sni.as_bytes();
    let mut sn = Vec::new();
    sn.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sn.push(0);
    sn.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sn.extend_from_slice(name);
    ext(0x0000, &sn);
    ext(0x0010, &[0, 3, 2, b'h', b'3']);
    ext(0x002b, &[2, 0x03, 0x04]);
    ext(0x000a, &[0, 2, 0x00, 0x1d]);
    ext(0x000d, &[0, 2, 0x08, 0x04]);
    let mut ks = vec![0, 36, 0x00, 0x1d, 0, 32];
    ks.extend_from_slice(&[7; 32]);
    ext(0x0033, &ks);
    ext(0x0039, &[0x01, 0x04, 0x80, 0x00, 0x75, 0x30]); // quic_transport_parameters
    ext(0x0015, &vec![0; pad]);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x11; 32]);
    body.push(0); // session id
    body.extend_from_slice(&[0, 4, 0x13, 0x01, 0x13, 0x02]);
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    handshake(1, &body)
}

/// A TLS 1.3 ServerHello choosing TLS_AES_128_GCM_SHA256.
pub fn server_hello() -> Vec<u8> {
    let mut exts = vec![
        0x00, 0x2b, 0, 2, 0x03, 0x04, 0x00, 0x33, 0, 36, 0x00, 0x1d, 0, 32,
    ];
    exts.extend_from_slice(&[9; 32]);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x22; 32]);
    body.push(0);
    body.extend_from_slice(&[0x13, 0x01, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    handshake(2, &body)
}

fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// A varint in its shortest form.
pub fn varint(v: u64) -> Vec<u8> {
    match v {
        0..=63 => vec![v as u8],
        64..=16383 => (0x4000 | v as u16).to_be_bytes().to_vec(),
        16384..=1_073_741_823 => (0x8000_0000 | v as u32).to_be_bytes().to_vec(),
        _ => (0xc000_0000_0000_0000 | v).to_be_bytes().to_vec(),
    }
}

/// A CRYPTO frame.
pub fn crypto(offset: u64, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend(varint(offset));
    f.extend(varint(data.len() as u64));
    f.extend_from_slice(data);
    f
}

/// A CONNECTION_CLOSE frame (type 0x1c) with `code`.
pub fn connection_close(code: u64) -> Vec<u8> {
    let mut f = vec![0x1c];
    f.extend(varint(code));
    f.push(0x06);
    f.push(0);
    f
}

/// One protected long-header packet (Initial, 0-RTT or Handshake) carrying `frames`, padded
/// with PADDING frames to `pad_to` bytes at least; packet numbers on 2 bytes.
#[allow(clippy::too_many_arguments)]
pub fn packet(
    version: Version,
    ty: PacketType,
    keys: &Keys,
    dcid: &[u8],
    scid: &[u8],
    token: &[u8],
    pn: u64,
    frames: &[u8],
    pad_to: usize,
) -> Vec<u8> {
    let mut h = vec![0xc0 | (version.type_bits(ty) << 4) | 0x01];
    h.extend_from_slice(&version.wire().to_be_bytes());
    h.push(dcid.len() as u8);
    h.extend_from_slice(dcid);
    h.push(scid.len() as u8);
    h.extend_from_slice(scid);
    if ty == PacketType::Initial {
        h.extend(varint(token.len() as u64));
        h.extend_from_slice(token);
    }
    let mut payload = frames.to_vec();
    // Room for the header-protection sample, and the requested size.
    let min = pad_to.saturating_sub(h.len() + 2 + 2 + 16).max(4);
    if payload.len() < min {
        payload.resize(min, 0);
    }
    let length = 2 + payload.len() + 16;
    h.extend_from_slice(&(0x4000 | length as u16).to_be_bytes());
    let pn_offset = h.len();
    h.extend_from_slice(&(pn as u16).to_be_bytes());
    let tag = keys.seal(pn, &h, &mut payload);
    let mut out = h;
    out.extend_from_slice(&payload);
    out.extend_from_slice(&tag);
    let sample: [u8; 16] = out[pn_offset + 4..pn_offset + 20].try_into().unwrap();
    let mask = keys.mask(&sample);
    out[0] ^= mask[0] & 0x0f;
    out[pn_offset] ^= mask[1];
    out[pn_offset + 1] ^= mask[2];
    out
}

/// A Retry packet (its integrity tag is not checked by a passive reader: zeros).
pub fn retry(version: Version, dcid: &[u8], scid: &[u8], token: &[u8]) -> Vec<u8> {
    let mut p = vec![0xc0 | (version.type_bits(PacketType::Retry) << 4)];
    p.extend_from_slice(&version.wire().to_be_bytes());
    p.push(dcid.len() as u8);
    p.extend_from_slice(dcid);
    p.push(scid.len() as u8);
    p.extend_from_slice(scid);
    p.extend_from_slice(token);
    p.extend_from_slice(&[0; 16]);
    p
}

/// A Version Negotiation packet listing `versions`.
pub fn version_negotiation(dcid: &[u8], scid: &[u8], versions: &[u32]) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0];
    p.push(dcid.len() as u8);
    p.extend_from_slice(dcid);
    p.push(scid.len() as u8);
    p.extend_from_slice(scid);
    for v in versions {
        p.extend_from_slice(&v.to_be_bytes());
    }
    p
}

/// An Ethernet frame carrying one UDP datagram.
pub fn udp_frame(src: (IpAddr, u16), dst: (IpAddr, u16), payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6]);
    let b = match (src.0, dst.0) {
        (IpAddr::V4(s), IpAddr::V4(d)) => b.ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => b.ipv6(s.octets(), d.octets(), 64),
        _ => panic!("address families differ"),
    };
    let b = b.udp(src.1, dst.1);
    let mut out = Vec::new();
    b.write(&mut out, payload).expect("udp frame");
    out
}

/// What a scripted QUIC handshake does.
#[derive(Debug, Clone)]
pub struct Script {
    pub version: Version,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub sni: String,
    /// Padding extension bytes in the ClientHello.
    pub pad: usize,
    /// The ClientHello's CRYPTO data split over this many Initial packets (one datagram each).
    pub parts: usize,
    /// The client's Initial datagrams sent in reverse order.
    pub reverse: bool,
    /// The client first tries this version and gets a Version Negotiation.
    pub negotiate_from: Option<u32>,
    /// The server answers the first Initial with a Retry.
    pub retry: bool,
    /// The server's Initial and Handshake packets coalesced in one datagram.
    pub coalesce: bool,
    /// The server answers (else silence).
    pub server_answers: bool,
    /// The server closes in its Initial with this error code instead of a ServerHello.
    pub server_close: Option<u64>,
    /// Nanoseconds between packets.
    pub step: i64,
}

impl Script {
    pub fn new(version: Version) -> Script {
        Script {
            version,
            client: ("10.1.0.40".parse().unwrap(), 50_000),
            server: ("52.96.0.10".parse().unwrap(), 443),
            sni: "outlook.office365.com".into(),
            pad: 0,
            parts: 1,
            reverse: false,
            negotiate_from: None,
            retry: false,
            coalesce: false,
            server_answers: true,
            server_close: None,
            step: 1_000_000,
        }
    }

    /// The capture's packets, starting at `t0` (ns).
    pub fn packets(&self, t0: i64) -> Vec<Packet> {
        let v = self.version;
        let dcid = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
        let scid = [0xc1, 0x1e, 0x47, 0x00];
        let server_cid = [0x5e, 0x4f, 0xe4, 0x01, 0x02];
        let ch = client_hello(&self.sni, self.pad);
        let mut out = Vec::new();
        let t = std::cell::Cell::new(t0);
        let push = |from_client: bool, payload: Vec<u8>, out: &mut Vec<Packet>| {
            let (s, d) = if from_client {
                (self.client, self.server)
            } else {
                (self.server, self.client)
            };
            out.push(Packet {
                ts_nanos: t.get(),
                frame: udp_frame(s, d, &payload),
            });
            t.set(t.get() + self.step);
        };
        if let Some(first) = self.negotiate_from {
            // An Initial in a version the server does not speak (opaque to the reader too
            // when it does not know that version either).
            let p = match Version::from_wire(first) {
                Some(fv) => {
                    let keys = InitialKeys::new(fv, &dcid);
                    packet(
                        fv,
                        PacketType::Initial,
                        &keys.client,
                        &dcid,
                        &scid,
                        &[],
                        0,
                        &crypto(0, &ch),
                        1200,
                    )
                }
                None => {
                    let mut p = vec![0xc0];
                    p.extend_from_slice(&first.to_be_bytes());
                    p.push(dcid.len() as u8);
                    p.extend_from_slice(&dcid);
                    p.push(scid.len() as u8);
                    p.extend_from_slice(&scid);
                    p.resize(1200, 0);
                    p
                }
            };
            push(true, p, &mut out);
            push(
                false,
                version_negotiation(&scid, &dcid, &[v.wire(), 0x0a0a_0a0a]),
                &mut out,
            );
        }
        let mut key_dcid = dcid.to_vec();
        let mut token = Vec::new();
        if self.retry {
            let keys = InitialKeys::new(v, &key_dcid);
            let p = packet(
                v,
                PacketType::Initial,
                &keys.client,
                &key_dcid,
                &scid,
                &[],
                0,
                &crypto(0, &ch),
                1200,
            );
            push(true, p, &mut out);
            let new_cid = [0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e, 0x7e];
            token = b"retry-token".to_vec();
            push(false, retry(v, &scid, &new_cid, &token), &mut out);
            key_dcid = new_cid.to_vec();
        }
        let keys = InitialKeys::new(v, &key_dcid);
        let n = self.parts.max(1);
        let chunk = ch.len().div_ceil(n);
        let mut datagrams: Vec<Vec<u8>> = ch
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                packet(
                    v,
                    PacketType::Initial,
                    &keys.client,
                    &key_dcid,
                    &scid,
                    &token,
                    i as u64 + 1,
                    &crypto((i * chunk) as u64, part),
                    1200,
                )
            })
            .collect();
        if self.reverse {
            datagrams.reverse();
        }
        for d in datagrams {
            push(true, d, &mut out);
        }
        if !self.server_answers {
            // The client sends its Initial again, backing off, and gives up.
            for (k, wait) in [1i64, 2, 4, 8].into_iter().enumerate() {
                t.set(t.get() + wait * 1_000_000_000);
                let p = packet(
                    v,
                    PacketType::Initial,
                    &keys.client,
                    &key_dcid,
                    &scid,
                    &token,
                    10 + k as u64,
                    &crypto(0, &ch),
                    1200,
                );
                push(true, p, &mut out);
            }
            return out;
        }
        let mut frames = vec![0x02, 0x01, 0x00, 0x00, 0x01]; // ACK
        match self.server_close {
            Some(code) => frames.extend(connection_close(code)),
            None => frames.extend(crypto(0, &server_hello())),
        }
        let mut d = packet(
            v,
            PacketType::Initial,
            &keys.server,
            &scid,
            &server_cid,
            &[],
            0,
            &frames,
            0,
        );
        if self.coalesce {
            // A Handshake packet (keys unknown to an observer: any will do) after it.
            d.extend(packet(
                v,
                PacketType::Handshake,
                &keys.server,
                &scid,
                &server_cid,
                &[],
                0,
                &[0x01; 40],
                0,
            ));
        }
        push(false, d, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use crate::census::Outcome;
    use crate::flow::{Endpoint, Side};
    use crate::quic::flow::{Done, Limits, QuicTable};
    use crate::tls::TlsVersion;

    fn run(script: &Script) -> (Vec<Done>, QuicTable) {
        let mut table = QuicTable::new(Limits::default());
        let mut out = Vec::new();
        feed(&mut table, &script.packets(1_000_000_000), &mut out);
        table.finish(i64::MAX / 2, &mut out);
        (out, table)
    }

    fn feed(table: &mut QuicTable, packets: &[Packet], out: &mut Vec<Done>) {
        for p in packets {
            let d = crate::decode::decode_or_fragment(&crate::capture::Frame {
                number: 1,
                ts: Timestamp(p.ts_nanos),
                link: crate::capture::LinkType::ETHERNET,
                data: &p.frame,
                orig_len: p.frame.len() as u32,
            });
            let Ok(crate::decode::Decoded::Udp(d)) = d else {
                continue;
            };
            table.datagram(
                p.ts_nanos,
                Timestamp(p.ts_nanos),
                Endpoint {
                    ip: d.src,
                    port: d.src_port,
                },
                Endpoint {
                    ip: d.dst,
                    port: d.dst_port,
                },
                d.payload,
                out,
            );
        }
    }

    fn established(done: &[Done]) -> &Done {
        assert_eq!(done.len(), 1);
        let d = &done[0];
        assert_eq!(d.outcome, Outcome::Established);
        let ch = &d.conn.client_hello.as_ref().unwrap().1;
        assert_eq!(ch.sni.as_deref(), Some(&b"outlook.office365.com"[..]));
        assert_eq!(ch.alpn, vec![b"h3".to_vec()]);
        let sh = d.conn.server_hello.as_ref().unwrap();
        assert_eq!(sh.negotiated(), TlsVersion::TLS13);
        assert_eq!(sh.cipher(), Some(0x1301));
        d
    }

    #[test]
    fn each_version_one_packet() {
        for v in [Version::V1, Version::V2, Version::Draft29] {
            let (done, t) = run(&Script::new(v));
            established(&done);
            assert_eq!(done[0].conn.version, v);
            assert_eq!(t.stats.initials_opened, 2, "{v:?}");
            assert_eq!(t.stats.connections, 1);
        }
    }

    #[test]
    fn client_hello_over_three_packets_any_order() {
        for reverse in [false, true] {
            let s = Script {
                pad: 2500,
                parts: 3,
                reverse,
                ..Script::new(Version::V1)
            };
            let (done, t) = run(&s);
            established(&done);
            assert_eq!(t.stats.initials_opened, 4);
            assert_eq!(t.stats.client_hellos, 1);
        }
    }

    #[test]
    fn retry_and_version_negotiation() {
        let s = Script {
            retry: true,
            ..Script::new(Version::V1)
        };
        let (done, t) = run(&s);
        assert!(established(&done).conn.retry);
        assert_eq!((t.stats.retries, t.stats.connections), (1, 1));
        // v1 first, the server answers with a Version Negotiation, the client goes on in v2.
        let s = Script {
            negotiate_from: Some(1),
            ..Script::new(Version::V2)
        };
        let (done, t) = run(&s);
        let d = established(&done);
        assert_eq!(d.conn.version, Version::V2);
        assert!(d.conn.version_negotiation);
        assert_eq!((t.stats.version_negotiations, t.stats.connections), (1, 1));
        // A first Initial of a version no reader opens is not even a candidate: the VN then
        // matches no connection, and the v2 handshake is one on its own.
        let s = Script {
            negotiate_from: Some(0x1a2a_3a4a),
            ..Script::new(Version::V2)
        };
        let (done, t) = run(&s);
        assert!(!established(&done).conn.version_negotiation);
        assert_eq!((t.stats.version_negotiations, t.stats.connections), (0, 1));
    }

    #[test]
    fn coalesced_server_packets() {
        let s = Script {
            coalesce: true,
            ..Script::new(Version::V1)
        };
        let (done, t) = run(&s);
        established(&done);
        assert_eq!(t.stats.handshake_packets, 1);
        assert_eq!(t.stats.packets, 3);
    }

    #[test]
    fn silence_close_and_cut() {
        let s = Script {
            server_answers: false,
            ..Script::new(Version::V1)
        };
        let (done, _) = run(&s);
        assert_eq!(done.len(), 1);
        // A silent server, the client resending its Initial for 15 s: no_reply.
        assert_eq!(done[0].outcome, Outcome::NoReply);
        // The client's first Initial alone (no resend): the capture may have missed the
        // server's direction.
        let s1 = &s.packets(0)[..1];
        let mut table = QuicTable::new(Limits::default());
        let mut out = Vec::new();
        feed(&mut table, s1, &mut out);
        table.finish(60_000_000_000, &mut out);
        assert_eq!(out[0].outcome, Outcome::Incomplete);
        let s = Script {
            server_close: Some(0x100 + 70),
            ..Script::new(Version::V1)
        };
        let (done, t) = run(&s);
        assert_eq!(done[0].outcome, Outcome::Alert(70));
        assert_eq!(done[0].ended_by, Some(Side::Server));
        assert_eq!(t.stats.closed, 1);
        let s = Script {
            server_close: Some(0x02),
            ..Script::new(Version::V1)
        };
        assert_eq!(run(&s).0[0].outcome, Outcome::Closed);
        // The first of three parts lost: no ClientHello, so no record.
        let s = Script {
            pad: 2500,
            parts: 3,
            ..Script::new(Version::V1)
        };
        let mut packets = s.packets(0);
        packets.remove(0);
        let mut table = QuicTable::new(Limits::default());
        let mut out = Vec::new();
        feed(&mut table, &packets, &mut out);
        table.finish(0, &mut out);
        // The ServerHello alone makes the record (as for TCP).
        assert_eq!(out.len(), 1);
        assert!(out[0].conn.client_hello.is_none());
        assert!(out[0].conn.server_hello.is_some());
    }

    #[test]
    fn table_cap_and_crypto_budget() {
        let mut table = QuicTable::new(Limits {
            max_conns: 8,
            idle_timeout_secs: 120,
            max_crypto_bytes: 4096,
        });
        let mut out = Vec::new();
        for i in 0..40u16 {
            let s = Script {
                client: ("10.1.0.40".parse().unwrap(), 40_000 + i),
                server_answers: false,
                pad: 3000,
                parts: 3,
                ..Script::new(Version::V1)
            };
            // Only the first part: the table holds it.
            let p = &s.packets(0)[0];
            let Ok(crate::decode::Decoded::Udp(d)) =
                crate::decode::decode_or_fragment(&crate::capture::Frame {
                    number: 1,
                    ts: Timestamp(0),
                    link: crate::capture::LinkType::ETHERNET,
                    data: &p.frame,
                    orig_len: p.frame.len() as u32,
                })
            else {
                panic!()
            };
            let (src, dst) = (
                Endpoint {
                    ip: d.src,
                    port: d.src_port,
                },
                Endpoint {
                    ip: d.dst,
                    port: d.dst_port,
                },
            );
            table.datagram(i64::from(i), Timestamp(0), src, dst, d.payload, &mut out);
            assert!(table.len() <= 8);
            assert!(table.held_bytes() <= 4096);
        }
        assert!(table.stats.evicted >= 32);
        assert!(table.stats.crypto_over_cap > 0);
    }

    /// Mutated and cut datagrams of real-shaped handshakes: no panic, bounds kept, and every
    /// record the table gives out is well formed.
    #[test]
    fn hostile_datagrams() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut table = QuicTable::new(Limits {
            max_conns: 64,
            idle_timeout_secs: 5,
            max_crypto_bytes: 256 * 1024,
        });
        let mut out = Vec::new();
        let scripts = [
            Script {
                pad: 2500,
                parts: 3,
                retry: true,
                ..Script::new(Version::V1)
            },
            Script {
                negotiate_from: Some(1),
                coalesce: true,
                ..Script::new(Version::V2)
            },
            Script {
                server_close: Some(0x146),
                ..Script::new(Version::Draft29)
            },
        ];
        let mut t = 0i64;
        for round in 0..300u64 {
            let s = &scripts[(round % 3) as usize];
            for p in s.packets(t) {
                let Ok(crate::decode::Decoded::Udp(d)) =
                    crate::decode::decode_or_fragment(&crate::capture::Frame {
                        number: 1,
                        ts: Timestamp(p.ts_nanos),
                        link: crate::capture::LinkType::ETHERNET,
                        data: &p.frame,
                        orig_len: p.frame.len() as u32,
                    })
                else {
                    continue;
                };
                let mut payload = d.payload.to_vec();
                match next() % 4 {
                    0 => {}
                    1 => {
                        let i = (next() as usize) % payload.len();
                        payload[i] ^= 1 << (next() % 8);
                    }
                    2 => payload.truncate((next() as usize) % payload.len()),
                    _ => {
                        // Keep the long header (so it is read), garble the rest.
                        for b in payload.iter_mut().skip(30) {
                            *b = next() as u8;
                        }
                    }
                }
                let port = 30_000 + (round % 100) as u16;
                let (src, dst) = if d.src_port == 443 {
                    (
                        Endpoint {
                            ip: d.src,
                            port: 443,
                        },
                        Endpoint { ip: d.dst, port },
                    )
                } else {
                    (
                        Endpoint { ip: d.src, port },
                        Endpoint {
                            ip: d.dst,
                            port: 443,
                        },
                    )
                };
                table.datagram(
                    p.ts_nanos,
                    Timestamp(p.ts_nanos),
                    src,
                    dst,
                    &payload,
                    &mut out,
                );
                assert!(table.len() <= 64);
                assert!(table.held_bytes() <= 256 * 1024);
            }
            t += 50_000_000;
        }
        table.finish(t, &mut out);
        assert!(out.len() > 50, "{}", out.len());
        for d in &out {
            assert!(d.conn.client_hello.is_some() || d.conn.server_hello.is_some());
        }
    }
}
