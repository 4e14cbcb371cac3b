//! DTLS handshakes (RFC 6347 DTLS 1.2, RFC 4347 DTLS 1.0, and the ClientHello/ServerHello of
//! DTLS 1.3, RFC 9147): the plaintext ClientHello and ServerHello of epoch 0, their handshake
//! fragments put back together, the HelloVerifyRequest cookie round trip counted once.
//!
//! A DTLS handshake message carries the TLS message's fields plus a message sequence number
//! and a fragment offset and length; a DTLS ClientHello has a `cookie` after its session id.
//! Each message is reassembled (any order, bounded like the QUIC CRYPTO streams), the cookie
//! is removed, and the TLS hello parsers read what remains. The table is keyed by the UDP
//! 4-tuple (client, server), with its own cap and idle timeout.

// Nothing read off the wire may panic: no unwrap, expect, panic or unchecked indexing in
// the packet path (tests are exempt).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::collections::HashMap;

use crate::capture::Timestamp;
use crate::census::Outcome;
use crate::connection::{self, Cause, End, Evidence};
use crate::flow::{Endpoint, Side};
use crate::quic::frames::CryptoStream;
use crate::tls::{ClientHelloInfo, ServerHelloInfo};

const NANOS: i64 = 1_000_000_000;

/// Record-layer versions of DTLS hellos: 1.0, 1.2 (1.3 hellos use 1.2's), and OpenSSL's
/// pre-RFC DTLS 1.0 (DTLS1_BAD_VER).
fn dtls_record_version(v: u16) -> bool {
    matches!(v, 0xfeff | 0xfefd | 0xfefc | 0x0100)
}

/// Whether a UDP payload starts like a DTLS handshake or alert record: content type 22 or
/// 21 and a DTLS version. Three byte reads.
pub fn is_candidate(p: &[u8]) -> bool {
    match p.first_chunk::<3>() {
        Some(&[ty, a, b]) => {
            matches!(ty, 21 | 22) && dtls_record_version(u16::from_be_bytes([a, b]))
        }
        None => false,
    }
}

/// Counters of the DTLS path (part of [`crate::stats::RunStats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DtlsStats {
    pub datagrams: u64,
    pub connections: u64,
    pub client_hellos: u64,
    pub server_hellos: u64,
    pub hello_verify_requests: u64,
    pub alerts: u64,
    pub fragments_over_cap: u64,
    pub malformed: u64,
    pub evicted: u64,
    pub expired: u64,
}

/// One handshake message being put back together.
#[derive(Default)]
struct Message {
    seq: u16,
    ty: u8,
    len: usize,
    data: CryptoStream,
}

/// One DTLS handshake.
pub struct Conn {
    pub client: Endpoint,
    pub server: Endpoint,
    first_seen: i64,
    last_seen: i64,
    client_hello_at: i64,
    last_ts: Timestamp,
    pub client_hello: Option<(Timestamp, Box<ClientHelloInfo>)>,
    pub server_hello: Option<Box<ServerHelloInfo>>,
    pub hello_verify: bool,
    /// The message in progress, per direction (client, server).
    msg: [Option<Box<Message>>; 2],
    seen: [bool; 2],
    /// The first plaintext alert: its sender, description, time.
    alert: Option<(Side, u8, i64)>,
    /// Records of epoch 1 or later (encrypted) went this way.
    encrypted: [bool; 2],
    decided: bool,
}

/// A DTLS connection the table is done with.
pub struct Done {
    pub conn: Box<Conn>,
    pub outcome: Outcome,
    pub ended_by: Option<Side>,
}

/// Largest handshake message reassembled (a ClientHello; certificates are not needed).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The DTLS connection table.
pub struct DtlsTable {
    conns: HashMap<(Endpoint, Endpoint), Box<Conn>, ahash::RandomState>,
    max_conns: usize,
    idle_timeout_secs: i64,
    next_sweep: i64,
    pub stats: DtlsStats,
    /// Bytes of handshake messages in progress over all connections.
    held: usize,
}

/// OpenSSL's pre-RFC DTLS 1.0 (0x0100, DTLS1_BAD_VER) is reported as DTLS 1.0.
fn dtls_version(v: u16) -> crate::tls::TlsVersion {
    crate::tls::TlsVersion(if v == 0x0100 { 0xfeff } else { v })
}

fn be24(b: &[u8]) -> Option<usize> {
    let &[a, b, c] = b.first_chunk::<3>()?;
    Some((usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c))
}

/// A DTLS ClientHello body → the TLS ClientHello message (4-byte header), cookie removed.
fn client_hello_as_tls(body: &[u8]) -> Option<Vec<u8>> {
    let sid_len = usize::from(*body.get(34)?);
    let cookie_at = 35 + sid_len;
    let cookie_len = usize::from(*body.get(cookie_at)?);
    let mut tls = Vec::with_capacity(body.len() + 4);
    let len = body.len().checked_sub(1 + cookie_len)?;
    tls.push(1);
    tls.extend_from_slice(u32::try_from(len).ok()?.to_be_bytes().get(1..)?);
    tls.extend_from_slice(body.get(..cookie_at)?);
    tls.extend_from_slice(body.get(cookie_at + 1 + cookie_len..)?);
    Some(tls)
}

fn with_header(ty: u8, body: &[u8]) -> Option<Vec<u8>> {
    let mut m = vec![ty];
    m.extend_from_slice(u32::try_from(body.len()).ok()?.to_be_bytes().get(1..)?);
    m.extend_from_slice(body);
    Some(m)
}

impl DtlsTable {
    pub fn new(max_conns: usize, idle_timeout_secs: i64) -> Self {
        DtlsTable {
            conns: HashMap::with_hasher(ahash::RandomState::new()),
            max_conns: max_conns.max(1),
            idle_timeout_secs,
            next_sweep: i64::MIN,
            stats: DtlsStats::default(),
            held: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// One UDP datagram that [`is_candidate`] accepted.
    pub fn datagram(
        &mut self,
        now: i64,
        ts: Timestamp,
        src: Endpoint,
        dst: Endpoint,
        payload: &[u8],
        out: &mut Vec<Done>,
    ) {
        if now >= self.next_sweep {
            self.expire(now, out);
        }
        self.stats.datagrams += 1;
        let (key, side) = if self.conns.contains_key(&(src, dst)) {
            ((src, dst), Side::Client)
        } else if self.conns.contains_key(&(dst, src)) {
            ((dst, src), Side::Server)
        } else {
            // A new handshake starts with the client's ClientHello (type 1, epoch 0).
            let starts = payload.get(3..5) == Some(&[0, 0][..]) && payload.get(13) == Some(&1);
            if !starts {
                return;
            }
            if self.conns.len() >= self.max_conns {
                self.evict(now, out);
            }
            self.stats.connections += 1;
            self.conns.insert(
                (src, dst),
                Box::new(Conn {
                    client: src,
                    server: dst,
                    first_seen: now,
                    last_seen: now,
                    client_hello_at: now,
                    last_ts: ts,
                    client_hello: None,
                    server_hello: None,
                    hello_verify: false,
                    msg: [None, None],
                    seen: [false; 2],
                    alert: None,
                    encrypted: [false; 2],
                    decided: false,
                }),
            );
            ((src, dst), Side::Client)
        };
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        let i = usize::from(side == Side::Server);
        c.last_seen = c.last_seen.max(now);
        c.last_ts = ts;
        if let Some(s) = c.seen.get_mut(i) {
            *s = true;
        }
        if c.decided {
            return;
        }
        let mut rest = payload;
        while let Some(&[ty, v0, v1, e0, e1, _, _, _, _, _, _, l0, l1]) = rest.first_chunk::<13>() {
            let len = usize::from(u16::from_be_bytes([l0, l1]));
            let Some(body) = rest.get(13..13 + len) else {
                self.stats.malformed += 1;
                break;
            };
            rest = rest.get(13 + len..).unwrap_or_default();
            if [e0, e1] != [0, 0] {
                if let Some(e) = c.encrypted.get_mut(i) {
                    *e = true;
                }
                continue;
            }
            if !dtls_record_version(u16::from_be_bytes([v0, v1])) {
                break;
            }
            match ty {
                21 => {
                    if let (Some(&level), Some(&desc), None) = (body.first(), body.get(1), c.alert)
                    {
                        let _ = level;
                        c.alert = Some((side, desc, now));
                        self.stats.alerts += 1;
                    }
                }
                22 => Self::handshake(c, &mut self.stats, &mut self.held, side, i, body, now, ts),
                _ => {}
            }
        }
        if c.server_hello.is_some() || c.alert.is_some() {
            self.decide(key, now, Cause::Packet, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn handshake(
        c: &mut Conn,
        stats: &mut DtlsStats,
        held: &mut usize,
        side: Side,
        i: usize,
        mut body: &[u8],
        now: i64,
        ts: Timestamp,
    ) {
        while let Some(h) = body.get(..12) {
            let ty = *h.first().unwrap_or(&0);
            let (Some(len), Some(off), Some(flen)) = (
                h.get(1..4).and_then(be24),
                h.get(6..9).and_then(be24),
                h.get(9..12).and_then(be24),
            ) else {
                return;
            };
            let seq = u16::from_be_bytes([*h.get(4).unwrap_or(&0), *h.get(5).unwrap_or(&0)]);
            let Some(frag) = body.get(12..12 + flen) else {
                stats.malformed += 1;
                return;
            };
            body = body.get(12 + flen..).unwrap_or_default();
            match (side, ty) {
                (Side::Server, 3) => {
                    if !c.hello_verify {
                        stats.hello_verify_requests += 1;
                    }
                    c.hello_verify = true;
                    continue;
                }
                (Side::Client, 1) if c.client_hello.is_some() => continue,
                (Side::Client, 1) | (Side::Server, 2) => {}
                _ => continue,
            }
            if len > MAX_MESSAGE || off.saturating_add(flen) > len {
                stats.fragments_over_cap += 1;
                continue;
            }
            let Some(slot) = c.msg.get_mut(i) else {
                return;
            };
            let m = slot.get_or_insert_with(Default::default);
            let before = m.data.held();
            if m.len != len || m.seq != seq || m.ty != ty {
                **m = Message {
                    seq,
                    ty,
                    len,
                    data: CryptoStream::default(),
                };
            }
            m.data.add(off as u64, frag);
            *held = held.saturating_sub(before).saturating_add(m.data.held());
            let Some(whole) = m.data.contiguous().get(..len) else {
                continue;
            };
            match ty {
                1 => {
                    if let Some(info) = client_hello_as_tls(whole)
                        .and_then(|t| crate::tls::hello::parse_client_hello(&t).ok())
                    {
                        stats.client_hellos += 1;
                        let mut info = info;
                        info.legacy_version = dtls_version(info.legacy_version.0);
                        c.client_hello = Some((ts, Box::new(info)));
                        c.client_hello_at = now;
                    } else {
                        stats.malformed += 1;
                    }
                }
                _ => {
                    // The TLS parser reads DTLS's layout but not its version numbers: parse
                    // as 0x0303, then put the DTLS version back.
                    let version = whole
                        .first_chunk::<2>()
                        .map(|v| dtls_version(u16::from_be_bytes(*v)));
                    let mut tls = with_header(2, whole);
                    if let Some(v) = tls.as_mut().and_then(|t| t.get_mut(4..6)) {
                        v.copy_from_slice(&[3, 3]);
                    }
                    if let (Some((mut info, _)), Some(v)) = (
                        tls.and_then(|t| crate::tls::hello::parse_server_hello(&t).ok()),
                        version,
                    ) {
                        info.legacy_version = v;
                        stats.server_hellos += 1;
                        c.server_hello = Some(Box::new(info));
                    } else {
                        stats.malformed += 1;
                    }
                }
            }
            *slot = None;
        }
    }

    fn decide(&mut self, key: (Endpoint, Endpoint), now: i64, cause: Cause, out: &mut Vec<Done>) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        if c.decided {
            return;
        }
        c.decided = true;
        let freed: usize = c.msg.iter().flatten().map(|m| m.data.held()).sum();
        self.held = self.held.saturating_sub(freed);
        c.msg = [None, None];
        let ch = c.client_hello.take();
        let sh = c.server_hello.take();
        let evidence = Evidence {
            client_hello: ch.is_some(),
            server_hello: sh.is_some(),
            starttls_refused: false,
            // The ServerHello is the server going on; encrypted records the client too.
            client_went_on: sh.is_some(),
            first_end: c.alert.map(|(side, desc, _)| (side, End::Alert(desc))),
            after_client_hello: ch.as_ref().map(|_| {
                let until = c.alert.map_or(now, |(_, _, at)| at);
                until.saturating_sub(c.client_hello_at)
            }),
            client_seen: c.seen[0],
            server_seen: c.seen[1],
            server_data: c.seen[1],
            client_bytes_missing: ch.is_none(),
            server_bytes_missing: false,
            cause,
        };
        let (outcome, ended_by) = connection::decide(&evidence);
        if ch.is_none() && sh.is_none() {
            return;
        }
        out.push(Done {
            conn: Box::new(Conn {
                client: c.client,
                server: c.server,
                first_seen: c.first_seen,
                last_seen: c.last_seen,
                client_hello_at: c.client_hello_at,
                last_ts: c.last_ts,
                client_hello: ch,
                server_hello: sh,
                hello_verify: c.hello_verify,
                msg: [None, None],
                seen: c.seen,
                alert: c.alert,
                encrypted: c.encrypted,
                decided: true,
            }),
            outcome,
            ended_by,
        });
    }

    /// Heap bytes the table holds: its buckets, the connections, the messages in progress
    /// (charged to the memory budget).
    pub fn memory(&self) -> usize {
        crate::budget::table(
            self.conns.capacity(),
            std::mem::size_of::<((Endpoint, Endpoint), Box<Conn>)>(),
        ) + self.conns.len() * crate::budget::block(std::mem::size_of::<Conn>())
            + self.held
    }

    pub fn expire(&mut self, now: i64, out: &mut Vec<Done>) {
        let timeout = self.idle_timeout_secs.saturating_mul(NANOS);
        self.next_sweep = now.saturating_add((timeout / 4).max(NANOS));
        let cutoff = now.saturating_sub(timeout);
        let mut stale: Vec<(i64, (Endpoint, Endpoint))> = self
            .conns
            .iter()
            .filter(|(_, c)| c.last_seen < cutoff)
            .map(|(k, c)| (c.first_seen, *k))
            .collect();
        stale.sort_unstable();
        for (_, key) in stale {
            if self.conns.get(&key).is_some_and(|c| !c.decided) {
                self.stats.expired += 1;
            }
            self.decide(key, now, Cause::Idle, out);
            self.conns.remove(&key);
        }
    }

    fn evict(&mut self, now: i64, out: &mut Vec<Done>) {
        let mut seen: Vec<(i64, (Endpoint, Endpoint))> =
            self.conns.iter().map(|(k, c)| (c.last_seen, *k)).collect();
        seen.sort_unstable();
        seen.truncate((seen.len() / 8).max(1));
        for (_, key) in seen {
            if self.conns.get(&key).is_some_and(|c| !c.decided) {
                self.stats.evicted += 1;
            }
            self.decide(key, now, Cause::Evicted, out);
            self.conns.remove(&key);
        }
    }

    pub fn finish(&mut self, now: i64, out: &mut Vec<Done>) {
        let mut keys: Vec<(i64, (Endpoint, Endpoint))> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.decided)
            .map(|(k, c)| (c.first_seen, *k))
            .collect();
        keys.sort_unstable();
        for (_, key) in keys {
            self.decide(key, now, Cause::EndOfInput, out);
        }
        self.conns.clear();
    }
}

/// The record of a DTLS connection, and whether it is in scope.
pub fn record(
    done: &Done,
    scope: &crate::m365::Scope,
    fingerprints: &mut crate::fingerprint::Fingerprinter,
    keep_out_of_scope: bool,
) -> (Option<crate::census::ConnectionRecord>, bool) {
    let c = &done.conn;
    let ch = c.client_hello.as_ref().map(|(_, ch)| ch);
    let sh = c.server_hello.as_ref();
    let class = scope.classify(c.server.ip, ch.and_then(|c| c.sni.as_deref()));
    if !class.in_scope() && !keep_out_of_scope {
        // Counted, not reported: no record, no fingerprints (as for TCP).
        return (None, false);
    }
    let rec = crate::connection::record(
        crate::connection::Decided {
            ts: c.client_hello.as_ref().map_or(c.last_ts, |(t, _)| *t),
            client: c.client,
            server: c.server,
            client_hello: ch.map(|c| &**c),
            server_hello: sh.map(|s| &**s),
            outcome: done.outcome,
            ended_by: done.ended_by,
            transport: crate::census::Transport::Dtls,
            starttls: None,
            connect_host: None,
        },
        &class,
        fingerprints,
    );
    (Some(rec), class.in_scope())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::TlsVersion;

    /// A DTLS ClientHello body from a TLS one: version 0xfefd, `cookie` after the session id.
    fn dtls_client_hello_body(cookie: &[u8]) -> Vec<u8> {
        let tls = crate::synth::quic::client_hello("outlook.office365.com", 1500);
        let body = &tls[4..];
        let sid_end = 35 + usize::from(body[34]);
        let mut b = vec![0xfe, 0xfd];
        b.extend_from_slice(&body[2..sid_end]);
        b.push(cookie.len() as u8);
        b.extend_from_slice(cookie);
        b.extend_from_slice(&body[sid_end..]);
        b
    }

    fn fragment(ty: u8, seq: u16, body: &[u8], off: usize, len: usize) -> Vec<u8> {
        let mut h = vec![ty];
        h.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        h.extend_from_slice(&seq.to_be_bytes());
        h.extend_from_slice(&(off as u32).to_be_bytes()[1..]);
        h.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        h.extend_from_slice(&body[off..off + len]);
        h
    }

    fn record(ty: u8, seq: u64, payload: &[u8]) -> Vec<u8> {
        let mut r = vec![ty, 0xfe, 0xfd, 0, 0];
        r.extend_from_slice(&seq.to_be_bytes()[2..]);
        r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        r.extend_from_slice(payload);
        r
    }

    fn ep(s: &str) -> Endpoint {
        let (ip, port) = s.rsplit_once(':').unwrap();
        Endpoint {
            ip: ip.parse().unwrap(),
            port: port.parse().unwrap(),
        }
    }

    #[test]
    fn cookie_round_trip_and_fragments_in_any_order() {
        let (c, s) = (ep("10.1.0.9:5000"), ep("52.96.0.10:443"));
        let mut t = DtlsTable::new(16, 120);
        let mut out = Vec::new();
        let first = dtls_client_hello_body(&[]);
        let n = first.len();
        t.datagram(
            0,
            Timestamp(0),
            c,
            s,
            &record(22, 0, &fragment(1, 0, &first, 0, n)),
            &mut out,
        );
        // HelloVerifyRequest: version, cookie.
        let hvr = [0xfe, 0xff, 4, 1, 2, 3, 4];
        let d = record(22, 0, &fragment(3, 0, &hvr, 0, hvr.len()));
        t.datagram(1, Timestamp(1), s, c, &d, &mut out);
        // The second ClientHello, with the cookie, in three fragments, last first, two of
        // them in one datagram.
        let second = dtls_client_hello_body(&[1, 2, 3, 4]);
        let n = second.len();
        let (a, b) = (n / 3, 2 * n / 3);
        let mut d = record(22, 2, &fragment(1, 1, &second, b, n - b));
        d.extend(record(22, 3, &fragment(1, 1, &second, a, b - a)));
        t.datagram(2, Timestamp(2), c, s, &d, &mut out);
        t.datagram(
            3,
            Timestamp(3),
            c,
            s,
            &record(22, 1, &fragment(1, 1, &second, 0, a)),
            &mut out,
        );
        // ServerHello (DTLS 1.2) split in two.
        let tls_sh = crate::synth::quic::server_hello();
        let mut sh = tls_sh[4..].to_vec();
        sh[0..2].copy_from_slice(&[0xfe, 0xfd]);
        let m = sh.len();
        t.datagram(
            4,
            Timestamp(4),
            s,
            c,
            &record(22, 2, &fragment(2, 1, &sh, 40, m - 40)),
            &mut out,
        );
        assert!(out.is_empty());
        t.datagram(
            5,
            Timestamp(5),
            s,
            c,
            &record(22, 1, &fragment(2, 1, &sh, 0, 40)),
            &mut out,
        );
        assert_eq!(
            out.len(),
            1,
            "one connection, the cookie round trip inside it"
        );
        let d = &out[0];
        assert_eq!(d.outcome, Outcome::Established);
        assert!(d.conn.hello_verify);
        let ch = &d.conn.client_hello.as_ref().unwrap().1;
        assert_eq!(ch.sni.as_deref(), Some(&b"outlook.office365.com"[..]));
        assert_eq!(ch.legacy_version, TlsVersion(0xfefd));
        assert_eq!(d.conn.server_hello.as_ref().unwrap().cipher(), Some(0x1301));
        assert_eq!(
            (
                t.stats.connections,
                t.stats.client_hellos,
                t.stats.hello_verify_requests
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn messages_in_progress_are_counted_and_given_back() {
        let (c, s) = (ep("10.1.0.9:5002"), ep("52.96.0.10:443"));
        let mut t = DtlsTable::new(4, 120);
        let mut out = Vec::new();
        let ch = dtls_client_hello_body(&[]);
        let half = ch.len() / 2;
        let empty = t.memory();
        t.datagram(
            0,
            Timestamp(0),
            c,
            s,
            &record(22, 0, &fragment(1, 0, &ch, 0, half)),
            &mut out,
        );
        assert_eq!(t.held, half);
        assert!(t.memory() >= empty + half);
        // The server's alert decides it (no whole hello: nothing to report), and the message
        // in progress is freed.
        t.datagram(1, Timestamp(1), s, c, &record(21, 0, &[2, 70]), &mut out);
        assert!(t.conns.values().all(|c| c.decided));
        assert_eq!(t.held, 0);
    }

    #[test]
    fn alert_and_hostile_records() {
        let (c, s) = (ep("10.1.0.9:5001"), ep("52.96.0.10:443"));
        let mut t = DtlsTable::new(4, 120);
        let mut out = Vec::new();
        let ch = dtls_client_hello_body(&[]);
        let d = record(22, 0, &fragment(1, 0, &ch, 0, ch.len()));
        t.datagram(0, Timestamp(0), c, s, &d, &mut out);
        t.datagram(1, Timestamp(1), s, c, &record(21, 0, &[2, 70]), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].outcome, Outcome::Alert(70));
        assert_eq!(out[0].ended_by, Some(Side::Server));
        // Cuts and bit flips of a ClientHello datagram: no panic, table bounded.
        for i in 0..d.len() {
            let port = 6000 + (i % 50) as u16;
            let c = Endpoint { port, ..c };
            t.datagram(2, Timestamp(2), c, s, &d[..i], &mut out);
            let mut m = d.clone();
            m[i] ^= 0x55;
            t.datagram(2, Timestamp(2), c, s, &m, &mut out);
            assert!(t.len() <= 4);
        }
        t.finish(3, &mut out);
        // Not DTLS: TLS record versions, other content types.
        assert!(!is_candidate(&[22, 3, 3, 0]));
        assert!(!is_candidate(&[23, 0xfe, 0xfd]));
        assert!(is_candidate(&[22, 0xfe, 0xff]));
        assert!(!is_candidate(&[22, 0xfe]));
    }
}
