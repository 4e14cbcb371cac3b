//! The QUIC connection table: one entry per handshake, keyed by the client's address, the
//! server's address and the client's Source Connection ID (which the server's packets carry
//! as their Destination Connection ID), with its own cap and idle timeout.
//!
//! A connection starts with a client Initial that opens with the keys of its own Destination
//! Connection ID. A Retry switches the keys to the Retry's Source Connection ID (the client's
//! next Initial uses it); a Version Negotiation is noted and the client's next Initial, in
//! another version, opens with keys of that version. The connection is decided when the
//! server's Initial carries a ServerHello; otherwise when it goes idle, is evicted, or the
//! input ends. A decided entry stays until idle so that its later packets cost one lookup.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::census::Outcome;
use crate::connection::{self, Cause, End, Evidence};
use crate::flow::{Endpoint, Side};
use crate::tls::{self, ClientHelloInfo, ServerHelloInfo};

use super::frames::{self, CryptoStream, MAX_CRYPTO};
use super::initial::{self, InitialKeys, LongHeader, PacketType, Version, MAX_CID};

const NANOS: i64 = 1_000_000_000;

/// Counters of the QUIC path (part of [`crate::stats::RunStats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuicStats {
    /// UDP datagrams handed to the QUIC reader (a long header of a known version, or VN).
    pub datagrams: u64,
    /// Long-header packets read (coalesced ones counted one by one).
    pub packets: u64,
    /// Initial packets opened with the Initial keys.
    pub initials_opened: u64,
    /// Initial packets no known connection's keys opened (server Initials of handshakes whose
    /// first client Initial was not captured, damaged packets).
    pub initials_unopened: u64,
    /// Handshake, 0-RTT and short-header packets: protected by secrets a passive observer
    /// does not have; counted, not read.
    pub handshake_packets: u64,
    pub zero_rtt_packets: u64,
    /// Long-header packets of versions this reader does not open.
    pub unknown_version: u64,
    pub retries: u64,
    pub version_negotiations: u64,
    /// QUIC handshakes seen (connections entered in the table).
    pub connections: u64,
    pub client_hellos: u64,
    pub server_hellos: u64,
    /// Connections closed by a CONNECTION_CLOSE in an Initial.
    pub closed: u64,
    /// CRYPTO bytes dropped: past the per-connection cap, or the table's budget.
    pub crypto_over_cap: u64,
    pub evicted: u64,
    pub expired: u64,
    /// Connections with neither hello readable (ClientHello's start not captured, ...).
    pub without_hello: u64,
}

/// A connection ID, inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Cid {
    len: u8,
    bytes: [u8; MAX_CID],
}

impl Cid {
    pub fn of(b: &[u8]) -> Option<Cid> {
        let mut c = Cid {
            len: u8::try_from(b.len()).ok()?,
            bytes: [0; MAX_CID],
        };
        c.bytes.get_mut(..b.len())?.copy_from_slice(b);
        Some(c)
    }

    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ConnKey {
    client: Endpoint,
    server: Endpoint,
    client_cid: Cid,
}

/// One QUIC handshake.
pub struct Conn {
    pub client: Endpoint,
    pub server: Endpoint,
    keys: Box<InitialKeys>,
    /// The DCID the keys derive from.
    key_dcid: Cid,
    pub version: Version,
    first_seen: i64,
    last_seen: i64,
    /// Capture-clock time of the ClientHello.
    client_hello_at: i64,
    pub client_hello: Option<(Timestamp, Box<ClientHelloInfo>)>,
    pub server_hello: Option<Box<ServerHelloInfo>>,
    /// Client, server.
    crypto: [CryptoStream; 2],
    /// Bytes of each CRYPTO stream already taken as handshake messages.
    consumed: [usize; 2],
    largest_pn: [Option<u64>; 2],
    seen: [bool; 2],
    /// The side's CRYPTO data could not be read as a hello (too large, malformed).
    rejected: [bool; 2],
    /// The first CONNECTION_CLOSE: who sent it, its error code, when.
    pub close: Option<(Side, u64, i64)>,
    pub retry: bool,
    pub version_negotiation: bool,
    decided: bool,
    last_ts: Timestamp,
    /// Client Initials opened after its ClientHello was whole: retransmissions, the sign that
    /// the client heard nothing back (QUIC has no SYN/ACK to show the server is there).
    client_resent: u32,
}

fn idx(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

/// A QUIC connection the table is done with, and how it ended.
pub struct Done {
    pub conn: Box<Conn>,
    pub outcome: Outcome,
    pub ended_by: Option<Side>,
}

/// Tunables of the table.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_conns: usize,
    pub idle_timeout_secs: i64,
    /// CRYPTO bytes held over all connections at most.
    pub max_crypto_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_conns: 65_536,
            idle_timeout_secs: 120,
            max_crypto_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The QUIC connection table.
pub struct QuicTable {
    conns: HashMap<ConnKey, Box<Conn>, ahash::RandomState>,
    limits: Limits,
    held: usize,
    next_sweep: i64,
    pub stats: QuicStats,
}

/// Whether a UDP payload may be QUIC this reader looks at: a long header whose version is
/// one it opens, or a Version Negotiation. Two byte reads and a compare: the cost of a UDP
/// datagram that is not QUIC.
pub fn is_candidate(payload: &[u8]) -> bool {
    let Some(&[first, a, b, c, d, _, _]) = payload.first_chunk::<7>() else {
        return false;
    };
    if first & 0x80 == 0 {
        return false;
    }
    let v = u32::from_be_bytes([a, b, c, d]);
    v == 0 || (first & 0x40 != 0 && Version::from_wire(v).is_some())
}

impl QuicTable {
    pub fn new(limits: Limits) -> Self {
        QuicTable {
            conns: HashMap::with_hasher(ahash::RandomState::new()),
            limits,
            held: 0,
            next_sweep: i64::MIN,
            stats: QuicStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Heap bytes the table holds: its buckets, the connections, the CRYPTO bytes (charged to
    /// the memory budget).
    pub fn memory(&self) -> usize {
        crate::budget::table(
            self.conns.capacity(),
            std::mem::size_of::<(ConnKey, Box<Conn>)>(),
        ) + self.conns.len() * crate::budget::block(std::mem::size_of::<Conn>())
            + self.held
    }

    /// CRYPTO bytes held.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// One UDP datagram from `src` to `dst` at capture-clock time `now`. Decided connections
    /// are pushed to `out`.
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
        let mut rest = payload;
        while let Some(h) = initial::parse_long(rest) {
            let Some(packet) = rest.get(..h.len) else {
                break;
            };
            self.stats.packets += 1;
            self.packet(now, ts, src, dst, packet, &h, out);
            rest = rest.get(h.len..).unwrap_or_default();
            if h.ty.is_none() || h.ty == Some(PacketType::Retry) {
                break;
            }
        }
        if rest.first().is_some_and(|b| b & 0xc0 == 0x40) {
            // A short-header packet coalesced after the long ones: 1-RTT, opaque.
            self.stats.handshake_packets += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        now: i64,
        ts: Timestamp,
        src: Endpoint,
        dst: Endpoint,
        packet: &[u8],
        h: &LongHeader<'_>,
        out: &mut Vec<Done>,
    ) {
        let as_server = |cid: &[u8]| {
            Some(ConnKey {
                client: dst,
                server: src,
                client_cid: Cid::of(cid)?,
            })
        };
        let as_client = |cid: &[u8]| {
            Some(ConnKey {
                client: src,
                server: dst,
                client_cid: Cid::of(cid)?,
            })
        };
        let Some(version) = Version::from_wire(h.version) else {
            if h.version == 0 {
                // Version Negotiation: the server echoes the client's SCID as its DCID.
                if let Some(c) = as_server(h.dcid).and_then(|k| self.conns.get_mut(&k)) {
                    c.version_negotiation = true;
                    c.seen[1] = true;
                    c.last_seen = now;
                    self.stats.version_negotiations += 1;
                }
            } else {
                self.stats.unknown_version += 1;
            }
            return;
        };
        let Some(ty) = h.ty else {
            return;
        };
        match ty {
            PacketType::Retry => {
                if let Some(c) = as_server(h.dcid).and_then(|k| self.conns.get_mut(&k)) {
                    c.seen[1] = true;
                    c.last_seen = now;
                    if !c.decided {
                        if let Some(cid) = Cid::of(h.scid) {
                            *c.keys = InitialKeys::new(version, h.scid);
                            c.key_dcid = cid;
                            c.largest_pn = [None; 2];
                            c.retry = true;
                        }
                    }
                    self.stats.retries += 1;
                }
            }
            PacketType::ZeroRtt | PacketType::Handshake => {
                if ty == PacketType::ZeroRtt {
                    self.stats.zero_rtt_packets += 1;
                } else {
                    self.stats.handshake_packets += 1;
                }
                if let Some(c) = as_server(h.dcid).and_then(|k| self.conns.get_mut(&k)) {
                    c.seen[1] = true;
                    c.last_seen = now;
                } else if let Some(c) = as_client(h.scid).and_then(|k| self.conns.get_mut(&k)) {
                    c.seen[0] = true;
                    c.last_seen = now;
                }
            }
            PacketType::Initial => self.initial(
                now,
                ts,
                version,
                packet,
                h,
                as_client(h.scid),
                as_server(h.dcid),
                out,
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn initial(
        &mut self,
        now: i64,
        ts: Timestamp,
        version: Version,
        packet: &[u8],
        h: &LongHeader<'_>,
        client_key: Option<ConnKey>,
        server_key: Option<ConnKey>,
        out: &mut Vec<Done>,
    ) {
        // The client's packet of a known connection; else the server's; else a new one.
        let (key, side) = match (client_key, server_key) {
            (Some(k), _) if self.conns.contains_key(&k) => (k, Side::Client),
            (_, Some(k)) if self.conns.contains_key(&k) => (k, Side::Server),
            (Some(k), _) => {
                let keys = InitialKeys::new(version, h.dcid);
                if initial::open_initial(&keys.client, packet, h, None).is_none() {
                    self.stats.initials_unopened += 1;
                    return;
                }
                let Some(key_dcid) = Cid::of(h.dcid) else {
                    return;
                };
                if self.conns.len() >= self.limits.max_conns {
                    self.evict(now, out);
                }
                self.stats.connections += 1;
                let conn = Conn {
                    client: k.client,
                    server: k.server,
                    keys: Box::new(keys),
                    key_dcid,
                    version,
                    first_seen: now,
                    last_seen: now,
                    client_hello_at: now,
                    client_hello: None,
                    server_hello: None,
                    crypto: Default::default(),
                    consumed: [0; 2],
                    largest_pn: [None; 2],
                    seen: [false; 2],
                    rejected: [false; 2],
                    close: None,
                    retry: false,
                    version_negotiation: false,
                    decided: false,
                    last_ts: ts,
                    client_resent: 0,
                };
                self.conns.insert(k, Box::new(conn));
                (k, Side::Client)
            }
            (None, _) => return,
        };
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        c.last_seen = c.last_seen.max(now);
        c.last_ts = ts;
        *c.seen.get_mut(idx(side)).unwrap_or(&mut false) = true;
        if c.decided {
            return;
        }
        let i = idx(side);
        let largest = c.largest_pn.get(i).copied().flatten();
        let opened = {
            let keys = match side {
                Side::Client => &c.keys.client,
                Side::Server => &c.keys.server,
            };
            initial::open_initial(keys, packet, h, largest)
        };
        let opened = match opened {
            Some(o) => Some(o),
            // A client Initial in another version (after Version Negotiation), or with a new
            // DCID the Retry was not captured for: keys of its own DCID.
            None if side == Side::Client
                && (version != c.version || Cid::of(h.dcid) != Some(c.key_dcid)) =>
            {
                let keys = InitialKeys::new(version, h.dcid);
                let o = initial::open_initial(&keys.client, packet, h, None);
                if o.is_some() {
                    if version != c.version {
                        // A new ClientHello for the new version: start over.
                        for s in &mut c.crypto {
                            self.held -= s.held();
                            s.clear();
                        }
                        c.consumed = [0; 2];
                        c.client_hello = None;
                        c.rejected = [false; 2];
                        c.largest_pn = [None; 2];
                    }
                    c.version = version;
                    *c.keys = keys;
                    if let Some(cid) = Cid::of(h.dcid) {
                        c.key_dcid = cid;
                    }
                }
                o
            }
            None => None,
        };
        let Some((pn, plain)) = opened else {
            self.stats.initials_unopened += 1;
            return;
        };
        self.stats.initials_opened += 1;
        if side == Side::Client && c.client_hello.is_some() {
            c.client_resent = c.client_resent.saturating_add(1);
        }
        if let Some(l) = c.largest_pn.get_mut(i) {
            *l = Some(l.map_or(pn, |l| l.max(pn)));
        }
        let f = frames::parse(&plain);
        if let Some(code) = f.close {
            if c.close.is_none() {
                c.close = Some((side, code, now));
                self.stats.closed += 1;
            }
        }
        if let Some(stream) = c.crypto.get_mut(i) {
            for (off, data) in &f.crypto {
                let before = stream.held();
                let room = self.limits.max_crypto_bytes.saturating_sub(self.held);
                let end = usize::try_from(*off)
                    .unwrap_or(usize::MAX)
                    .saturating_add(data.len());
                if end > before && end.min(MAX_CRYPTO) - before > room {
                    self.stats.crypto_over_cap += 1;
                    continue;
                }
                stream.add(*off, data);
                self.held = self.held - before + stream.held();
                if stream.over_cap {
                    stream.over_cap = false;
                    self.stats.crypto_over_cap += 1;
                }
            }
        }
        self.read_hellos(key, side, now, ts);
        let decided = self
            .conns
            .get(&key)
            .is_some_and(|c| c.server_hello.is_some() || c.close.is_some());
        if decided {
            self.decide(key, now, Cause::Packet, out);
        }
    }

    /// Takes the handshake messages now whole in `side`'s CRYPTO stream.
    fn read_hellos(&mut self, key: ConnKey, side: Side, now: i64, ts: Timestamp) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        let i = idx(side);
        loop {
            let (Some(stream), Some(consumed)) = (c.crypto.get(i), c.consumed.get_mut(i)) else {
                return;
            };
            let data = stream.contiguous().get(*consumed..).unwrap_or_default();
            let Some(&[_, l0, l1, l2]) = data.first_chunk::<4>() else {
                return;
            };
            let len = (usize::from(l0) << 16) | (usize::from(l1) << 8) | usize::from(l2);
            if len + 4 > MAX_CRYPTO {
                if let Some(r) = c.rejected.get_mut(i) {
                    *r = true;
                }
                return;
            }
            let Some(msg) = data.get(..4 + len) else {
                return;
            };
            *consumed += 4 + len;
            match side {
                Side::Client => {
                    if c.client_hello.is_some() {
                        // The second ClientHello after a HelloRetryRequest: the first is kept.
                        continue;
                    }
                    match tls::hello::parse_client_hello(msg) {
                        Ok(ch) => {
                            self.stats.client_hellos += 1;
                            c.client_hello = Some((ts, Box::new(ch)));
                            c.client_hello_at = now;
                        }
                        Err(_) => {
                            c.rejected[0] = true;
                            return;
                        }
                    }
                }
                Side::Server => match tls::hello::parse_server_hello(msg) {
                    Ok((_, true)) => continue,
                    Ok((sh, false)) => {
                        self.stats.server_hellos += 1;
                        c.server_hello = Some(Box::new(sh));
                        return;
                    }
                    Err(_) => {
                        c.rejected[1] = true;
                        return;
                    }
                },
            }
        }
    }

    fn decide(&mut self, key: ConnKey, now: i64, cause: Cause, out: &mut Vec<Done>) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        if c.decided {
            return;
        }
        c.decided = true;
        for s in &mut c.crypto {
            self.held -= s.held();
            s.clear();
        }
        let client_hello = c.client_hello.take();
        let server_hello = c.server_hello.take();
        let evidence = Evidence {
            client_hello: client_hello.is_some(),
            server_hello: server_hello.is_some(),
            starttls_refused: false,
            // In QUIC, the server's Initial with the ServerHello is the handshake going on.
            client_went_on: server_hello.is_some(),
            first_end: c.close.map(|(side, code, _)| {
                let end = match code {
                    0x100..=0x1ff => End::Alert((code - 0x100) as u8),
                    _ => End::Fin,
                };
                (side, end)
            }),
            after_client_hello: client_hello.as_ref().map(|_| {
                let until = c.close.map_or(now, |(_, _, at)| at);
                until.saturating_sub(c.client_hello_at)
            }),
            client_seen: c.seen[0],
            // A client that sent its Initial again heard nothing: the silence is the server's
            // (a capture of one direction only would show the client going on instead).
            server_seen: c.seen[1] || c.client_resent > 0,
            server_data: c.seen[1],
            client_bytes_missing: client_hello.is_none(),
            server_bytes_missing: server_hello.is_none() && c.rejected[1],
            cause,
        };
        let (outcome, ended_by) = connection::decide(&evidence);
        if client_hello.is_none() && server_hello.is_none() {
            self.stats.without_hello += 1;
            return;
        }
        let conn = Box::new(Conn {
            client: c.client,
            server: c.server,
            keys: c.keys.clone(),
            key_dcid: c.key_dcid,
            version: c.version,
            first_seen: c.first_seen,
            last_seen: c.last_seen,
            client_hello_at: c.client_hello_at,
            client_hello,
            server_hello,
            crypto: Default::default(),
            consumed: [0; 2],
            largest_pn: [None; 2],
            seen: c.seen,
            rejected: c.rejected,
            close: c.close,
            retry: c.retry,
            version_negotiation: c.version_negotiation,
            decided: true,
            last_ts: c.last_ts,
            client_resent: c.client_resent,
        });
        out.push(Done {
            conn,
            outcome,
            ended_by,
        });
    }

    /// Decides and forgets connections idle past the timeout.
    pub fn expire(&mut self, now: i64, out: &mut Vec<Done>) {
        let timeout = self.limits.idle_timeout_secs.saturating_mul(NANOS);
        self.next_sweep = now.saturating_add((timeout / 4).max(NANOS));
        let cutoff = now.saturating_sub(timeout);
        let mut stale: Vec<(i64, ConnKey)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.last_seen < cutoff)
            .map(|(k, c)| (c.first_seen, *k))
            .collect();
        stale.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(key_order(&a.1, &b.1)));
        for (_, key) in stale {
            if self.conns.get(&key).is_some_and(|c| !c.decided) {
                self.stats.expired += 1;
            }
            self.decide(key, now, Cause::Idle, out);
            self.conns.remove(&key);
        }
    }

    fn evict(&mut self, now: i64, out: &mut Vec<Done>) {
        let mut seen: Vec<(i64, ConnKey)> =
            self.conns.iter().map(|(k, c)| (c.last_seen, *k)).collect();
        let n = (seen.len() / 8).max(1);
        seen.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(key_order(&a.1, &b.1)));
        seen.truncate(n);
        for (_, key) in seen {
            if self.conns.get(&key).is_some_and(|c| !c.decided) {
                self.stats.evicted += 1;
            }
            self.decide(key, now, Cause::Evicted, out);
            self.conns.remove(&key);
        }
    }

    /// End of input: decides every open connection, oldest first.
    pub fn finish(&mut self, now: i64, out: &mut Vec<Done>) {
        let mut keys: Vec<(i64, ConnKey)> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.decided)
            .map(|(k, c)| (c.first_seen, *k))
            .collect();
        keys.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(key_order(&a.1, &b.1)));
        for (_, key) in keys {
            self.decide(key, now, Cause::EndOfInput, out);
        }
        self.conns.clear();
    }
}

fn key_order(a: &ConnKey, b: &ConnKey) -> std::cmp::Ordering {
    (a.client, a.server, a.client_cid.as_slice()).cmp(&(
        b.client,
        b.server,
        b.client_cid.as_slice(),
    ))
}

impl Done {
    /// Capture time of the ClientHello, else of the last packet.
    pub fn ts(&self) -> Timestamp {
        self.conn
            .client_hello
            .as_ref()
            .map_or(self.conn.last_ts, |(t, _)| *t)
    }

    pub fn server_ip(&self) -> IpAddr {
        self.conn.server.ip
    }
}

/// The `--connections` record of a QUIC connection, and whether it is in scope.
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
            ts: done.ts(),
            client: c.client,
            server: c.server,
            client_hello: ch.map(|c| &**c),
            server_hello: sh.map(|s| &**s),
            outcome: done.outcome,
            ended_by: done.ended_by,
            transport: crate::census::Transport::Quic,
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

    #[test]
    fn candidates() {
        let long = |first: u8, v: u32| {
            let mut p = vec![first];
            p.extend_from_slice(&v.to_be_bytes());
            p.extend_from_slice(&[0, 0]);
            p
        };
        assert!(is_candidate(&long(0xc3, 1)));
        assert!(is_candidate(&long(0xd3, 0x6b33_43cf)));
        assert!(is_candidate(&long(0xc0, 0xff00_001d)));
        // Version Negotiation: any first byte with the long-header bit.
        assert!(is_candidate(&long(0x80, 0)));
        // Unknown versions, the fixed bit clear, short headers, DNS, too short: not QUIC.
        assert!(!is_candidate(&long(0xc3, 0xff00_0020)));
        assert!(!is_candidate(&long(0x83, 1)));
        assert!(!is_candidate(&long(0x43, 1)));
        assert!(!is_candidate(&[
            0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00
        ]));
        assert!(!is_candidate(&long(0xc3, 1)[..6]));
        assert!(!is_candidate(&[]));
    }

    #[test]
    fn cids() {
        assert_eq!(Cid::of(&[1, 2, 3]).unwrap().as_slice(), &[1, 2, 3]);
        assert_eq!(Cid::of(&[]).unwrap().as_slice(), &[] as &[u8]);
        assert!(Cid::of(&[0; 21]).is_none());
    }
}
