//! Census stage: [`ConnectionRecord`]s → one [`ClientSummary`] per client IP, with a verdict.
//!
//! A record is one TLS connection as the pipeline decided it (a `--connections` row). The census
//! keeps per-client counters only, so its size grows with the number of clients, never with the
//! number of connections or packets; the number of clients and of SNIs per client are capped.
//! So is its memory ([`Census::memory`], charged to the pipeline's budget): past its memory cap
//! (half the `--memory-limit`) or `--max-clients`, a new client's connections are counted in
//! [`Census::dropped`], not tallied, and a known client's new SNIs and JA4s are not kept (the
//! SNIs counted in [`ClientSummary::snis_dropped`]). The cap depends on the census alone, not
//! on what else is in memory, so the same input gives the same census.

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

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::flow::{Endpoint, Side};
use crate::m365::ServiceArea;
use crate::starttls::StartTls;
use crate::tls::TlsVersion;

/// How a connection's handshake ended, as far as the capture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A ServerHello, then the client's ChangeCipherSpec or encrypted data: the handshake went
    /// through.
    Established,
    /// A plaintext alert (its description) ended the handshake.
    Alert(u8),
    /// A TCP reset before the handshake went through.
    Reset,
    /// A TCP FIN before the handshake went through.
    Closed,
    /// The server sent nothing back to the ClientHello.
    NoReply,
    /// The capture does not show how it ended (gap, one direction only, capture ended).
    Incomplete,
    /// The server refused the STARTTLS command: no TLS at all.
    StartTlsRefused,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Established => f.write_str("established"),
            Outcome::Alert(d) => match crate::tls::alert_name(*d) {
                Some(name) => write!(f, "alert:{name}"),
                None => write!(f, "alert:{d}"),
            },
            Outcome::Reset => f.write_str("reset"),
            Outcome::Closed => f.write_str("closed"),
            Outcome::NoReply => f.write_str("no_reply"),
            Outcome::Incomplete => f.write_str("incomplete"),
            Outcome::StartTlsRefused => f.write_str("starttls_refused"),
        }
    }
}

/// What carried a connection's handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// TLS over TCP.
    #[default]
    Tcp,
    /// TLS in QUIC's CRYPTO frames (RFC 9001), over UDP.
    Quic,
    /// DTLS over UDP.
    Dtls,
}

impl Transport {
    /// `tcp` or `quic`, as the outputs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Quic => "quic",
            Transport::Dtls => "dtls",
        }
    }
}

/// One TLS connection: what its hellos said and where it went. A `--connections` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRecord {
    /// Capture time of the ClientHello (of the ServerHello when no ClientHello was seen).
    pub ts: Timestamp,
    pub client: Endpoint,
    pub server: Endpoint,
    /// SNI host name as sent, raw bytes (escaped only when written).
    pub sni: Option<Vec<u8>>,
    /// The highest version the ClientHello offered; `None` when no ClientHello was seen.
    pub offered_max: Option<TlsVersion>,
    /// `offered_max` is a lower bound: the ClientHello was cut (snap length, lost bytes)
    /// before its supported_versions extension, so it may have offered more. Written `+`.
    pub offered_max_at_least: bool,
    /// The ServerHello's version (supported_versions, else legacy_version); `None` when no
    /// ServerHello was seen.
    pub negotiated: Option<TlsVersion>,
    /// `negotiated` is a lower bound: a ServerHello cut before its supported_versions showed
    /// legacy_version 0x0303, "TLS 1.2 or later". Written `+`.
    pub negotiated_at_least: bool,
    /// The cipher suite the server chose.
    pub cipher: Option<u16>,
    /// Toward the scope's servers (Microsoft 365 plus `--include`, less `--exclude`).
    pub m365: bool,
    /// How the server matched, `+`-joined: `ip`, `sni`, `connect` (the HTTP CONNECT host), e.g.
    /// `ip+sni`, `ip+connect`; empty when nothing matched.
    pub m365_match: &'static str,
    /// Microsoft 365 service areas of the matching endpoint sets.
    pub service_areas: Vec<ServiceArea>,
    /// Ids of the matching endpoint sets.
    pub endpoint_ids: Vec<u32>,
    pub outcome: Outcome,
    /// The versions the ClientHello offered: supported_versions (GREASE removed), else its
    /// legacy_version alone.
    pub offered_versions: Vec<TlsVersion>,
    /// The ServerHello resumed a session (session id echo, ticket, or TLS 1.3 PSK).
    pub resumed: bool,
    /// The STARTTLS command that preceded the handshake.
    pub starttls: Option<StartTls>,
    /// JA4 of the ClientHello.
    pub ja4: Option<String>,
    /// JA3 (MD5) of the ClientHello.
    pub ja3: Option<String>,
    /// JA3S (MD5) of the ServerHello.
    pub ja3s: Option<String>,
    /// Which side ended a handshake that did not go through (its alert, FIN or RST came
    /// first, or the server refused STARTTLS); `None` when it went through or the capture
    /// does not show who ended it.
    pub ended_by: Option<Side>,
    /// The host named by an HTTP `CONNECT host:port` that preceded the handshake (an explicit
    /// proxy), raw bytes.
    pub connect_host: Option<Vec<u8>>,
    /// TCP or QUIC.
    pub transport: Transport,
}

impl ConnectionRecord {
    /// Whether this connection counts as failed: see [`crate::connection::failed`].
    pub fn failed(&self) -> bool {
        crate::connection::failed(self.outcome, self.ended_by)
    }
}

/// Negotiated-version counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VersionCounts {
    pub sslv2: u64,
    pub sslv3: u64,
    pub tls10: u64,
    pub tls11: u64,
    pub tls12: u64,
    pub tls13: u64,
    /// Drafts and unknown values.
    pub other: u64,
}

impl VersionCounts {
    pub fn add(&mut self, v: TlsVersion) {
        // DTLS counts in the column of the TLS version of its strength.
        let v = v.dtls_equivalent().unwrap_or(v);
        let slot = match v {
            TlsVersion::SSL2 => &mut self.sslv2,
            TlsVersion::SSL3 => &mut self.sslv3,
            TlsVersion::TLS10 => &mut self.tls10,
            TlsVersion::TLS11 => &mut self.tls11,
            TlsVersion::TLS12 => &mut self.tls12,
            TlsVersion::TLS13 => &mut self.tls13,
            _ => &mut self.other,
        };
        *slot += 1;
    }

    /// Connections that negotiated below TLS 1.2.
    pub fn legacy(&self) -> u64 {
        self.sslv2 + self.sslv3 + self.tls10 + self.tls11
    }

    pub fn total(&self) -> u64 {
        self.legacy() + self.tls12 + self.tls13 + self.other
    }
}

/// What a client's connections mean for the move to TLS 1.2+.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Its handshakes were refused by the server side (or went unanswered), none went
    /// through, and it never offered anything above TLS 1.1: it already cannot connect.
    Broken,
    /// Some connection negotiated, or offered at most, TLS 1.1 or below: it will break when
    /// TLS 1.0/1.1 is refused, unless it can be updated or reconfigured.
    AtRisk,
    /// The capture shows no version it offered or negotiated (STARTTLS refused, only
    /// ServerHello-less handshakes without a readable ClientHello).
    Unknown,
    /// Everything offered and negotiated TLS 1.2 or later.
    Ok,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Broken => "broken",
            Verdict::AtRisk => "at-risk",
            Verdict::Unknown => "unknown",
            Verdict::Ok => "ok",
        }
    }
}

/// The verdict rule, the one used by the census and by `merge`:
/// - `broken` when some connection failed (see [`ClientSummary::failed`]), no connection
///   negotiated a version (`negotiated` = 0: none went through), and the highest version the
///   client ever offered is below TLS 1.2;
/// - otherwise `at-risk` when `legacy_seen` (some connection negotiated below TLS 1.2, or
///   some ClientHello offered at most TLS 1.1);
/// - otherwise `unknown` when the capture shows no version that tells: nothing negotiated,
///   and nothing offered, or only a lower bound below TLS 1.2 (`TLSv1.0+`: a cut hello that
///   may or may not have offered TLS 1.2);
/// - otherwise `ok`.
///
/// `max_offered_at_least`: `max_offered` is a lower bound (never `broken` on it).
pub fn verdict_of(
    failed: u64,
    negotiated: u64,
    max_offered: Option<TlsVersion>,
    max_offered_at_least: bool,
    legacy_seen: bool,
) -> Verdict {
    let legacy_max = max_offered.is_some_and(|v| v.is_legacy());
    if failed > 0 && negotiated == 0 && legacy_max && !max_offered_at_least {
        Verdict::Broken
    } else if legacy_seen {
        Verdict::AtRisk
    } else if negotiated == 0 && (max_offered.is_none() || (legacy_max && max_offered_at_least)) {
        Verdict::Unknown
    } else {
        Verdict::Ok
    }
}

/// The order of clients in the table and in the per-client outputs (`--sort`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientOrder {
    /// Broken, then at risk, then ok; within each, most connections first (the default).
    #[default]
    Verdict,
    /// Most connections first.
    Connections,
    /// Most connections that negotiated below TLS 1.2 first, then as `Verdict`.
    Legacy,
    /// By address, IPv4 before IPv6.
    Client,
    /// Earliest first connection first.
    FirstSeen,
    /// Latest last connection first.
    LastSeen,
}

impl ClientOrder {
    /// Compares two clients; ties are broken by address, so the order is total.
    pub fn compare(self, a: &ClientSummary, b: &ClientSummary) -> std::cmp::Ordering {
        let by_verdict = || {
            a.verdict()
                .cmp(&b.verdict())
                .then(b.connections.cmp(&a.connections))
        };
        match self {
            ClientOrder::Verdict => by_verdict(),
            ClientOrder::Connections => b.connections.cmp(&a.connections),
            ClientOrder::Legacy => b
                .negotiated
                .legacy()
                .cmp(&a.negotiated.legacy())
                .then_with(by_verdict),
            ClientOrder::Client => std::cmp::Ordering::Equal,
            ClientOrder::FirstSeen => a.first_seen.cmp(&b.first_seen),
            ClientOrder::LastSeen => b.last_seen.cmp(&a.last_seen),
        }
        .then(a.client.cmp(&b.client))
    }
}

/// At most this many distinct JA4 fingerprints are kept per client.
pub const MAX_JA4: usize = 16;

/// At most this many distinct SNIs are kept per client.
pub const MAX_SNIS: usize = 32;
/// At most this many clients are tallied.
pub const MAX_CLIENTS: usize = 1_000_000;

/// Heap bytes of one client entry in the census table, besides its sets.
const CLIENT_SLOT: usize = std::mem::size_of::<(IpAddr, ClientSummary)>();
/// Heap bytes of one JA4 entry: its B-tree slot (key, count; nodes hold up to 11, about two
/// thirds full) and its string.
const JA4_ENTRY: usize = (24 + 8) * 3 / 2 + crate::budget::PER_ALLOCATION;
/// Heap bytes of a client's service-area map (one B-tree node).
const AREAS_NODE: usize = 128;

/// One client IP over all its connections in scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSummary {
    pub client: IpAddr,
    pub connections: u64,
    pub negotiated: VersionCounts,
    pub no_server_hello: u64,
    pub max_offered: Option<TlsVersion>,
    /// `max_offered` is a lower bound: some ClientHello was cut before its supported_versions
    /// (see [`ConnectionRecord::offered_max_at_least`]) and the highest version seen is below
    /// TLS 1.3. Written `+`.
    pub max_offered_at_least: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Distinct SNIs, sorted, at most [`MAX_SNIS`].
    pub snis: Vec<Vec<u8>>,
    /// Distinct SNIs not kept because of the cap.
    pub snis_dropped: u64,
    /// Connections per service area.
    pub service_areas: BTreeMap<ServiceArea, u64>,
    /// Connections that failed: the server refused (alert, reset, close), stayed silent, or
    /// refused STARTTLS. A handshake the client ended itself is not counted.
    pub failed: u64,
    /// The lowest version negotiated on any connection.
    pub lowest_negotiated: Option<TlsVersion>,
    /// Connections with a ClientHello whose highest offered version was below TLS 1.2.
    pub offered_legacy_only: u64,
    /// Distinct JA4 fingerprints with their connection counts, at most [`MAX_JA4`].
    pub ja4: BTreeMap<String, u64>,
    /// Connections whose handshake went over QUIC.
    pub quic: u64,
}

impl ClientSummary {
    fn new(client: IpAddr, ts: Timestamp) -> Self {
        ClientSummary {
            client,
            connections: 0,
            negotiated: VersionCounts::default(),
            no_server_hello: 0,
            max_offered: None,
            max_offered_at_least: false,
            first_seen: ts,
            last_seen: ts,
            snis: Vec::new(),
            snis_dropped: 0,
            service_areas: BTreeMap::new(),
            failed: 0,
            lowest_negotiated: None,
            offered_legacy_only: 0,
            ja4: BTreeMap::new(),
            quic: 0,
        }
    }

    pub fn verdict(&self) -> Verdict {
        verdict_of(
            self.failed,
            self.negotiated.total(),
            self.max_offered,
            self.max_offered_at_least,
            self.negotiated.legacy() > 0 || self.offered_legacy_only > 0,
        )
    }

    /// Takes one connection; `grow`: new SNIs and JA4s may be kept. Returns the heap bytes
    /// it added and those it freed.
    fn add(&mut self, rec: &ConnectionRecord, grow: bool) -> (usize, usize) {
        let (mut added, mut freed) = (0, 0);
        self.connections += 1;
        if rec.transport == Transport::Quic {
            self.quic += 1;
        }
        match rec.negotiated {
            // "TLS 1.2 or later": negotiated, in no version's column.
            Some(_) if rec.negotiated_at_least => self.negotiated.other += 1,
            Some(v) => {
                self.negotiated.add(v);
                if self.lowest_negotiated.is_none_or(|l| v.rank() < l.rank()) {
                    self.lowest_negotiated = Some(v);
                }
            }
            None => self.no_server_hello += 1,
        }
        if rec.failed() {
            self.failed += 1;
        }
        if !rec.offered_max_at_least && rec.offered_max.is_some_and(|v| v.is_legacy()) {
            self.offered_legacy_only += 1;
        }
        if let Some(ja4) = &rec.ja4 {
            if let Some(n) = self.ja4.get_mut(ja4) {
                *n += 1;
            } else if self.ja4.len() < MAX_JA4 && grow {
                added += JA4_ENTRY + crate::budget::block(ja4.len());
                self.ja4.insert(ja4.clone(), 1);
            }
        }
        if let Some(o) = rec.offered_max {
            raise_max_offered(
                &mut self.max_offered,
                &mut self.max_offered_at_least,
                o,
                rec.offered_max_at_least,
            );
        }
        self.first_seen = self.first_seen.min(rec.ts);
        self.last_seen = self.last_seen.max(rec.ts);
        if let Some(sni) = &rec.sni {
            if grow {
                let cap = self.snis.capacity();
                // The name a smaller one would push out (its memory goes with it).
                let last = match self.snis.last() {
                    Some(l) if self.snis.len() >= crate::census::MAX_SNIS => {
                        crate::budget::block(l.len())
                    }
                    _ => 0,
                };
                if insert_capped(&mut self.snis, sni, &mut self.snis_dropped) {
                    added += crate::budget::block(sni.len());
                    freed += last;
                }
                added += self.snis.capacity().saturating_sub(cap) * 24;
            } else if self
                .snis
                .binary_search_by(|s| s.as_slice().cmp(sni))
                .is_err()
            {
                self.snis_dropped += 1;
            }
        }
        if self.service_areas.is_empty() && !rec.service_areas.is_empty() {
            added += AREAS_NODE;
        }
        for area in &rec.service_areas {
            *self.service_areas.entry(*area).or_default() += 1;
        }
        (added, freed)
    }
}

/// Takes one more highest-offered version (`at_least`: a lower bound) into a client's: the
/// highest, a lower bound while some bound was taken and the highest is below TLS 1.3 (a
/// bound may hide anything above it). The same rule for a census and a merge.
pub fn raise_max_offered(
    max: &mut Option<TlsVersion>,
    max_at_least: &mut bool,
    v: TlsVersion,
    at_least: bool,
) {
    if max.is_none_or(|m| v.rank() > m.rank()) {
        *max = Some(v);
    }
    *max_at_least |= at_least;
    if max.is_some_and(|m| m.rank() >= TlsVersion::TLS13.rank()) {
        *max_at_least = false;
    }
}

/// Adds `sni` to a sorted set that keeps the [`MAX_SNIS`] smallest names: the same set
/// whatever order the names come in (one thread or two, one capture or merged censuses).
/// `dropped` counts each name that is not kept, or that a smaller one pushes out. Returns
/// whether `sni` was added.
pub fn insert_capped(snis: &mut Vec<Vec<u8>>, sni: &[u8], dropped: &mut u64) -> bool {
    let Err(pos) = snis.binary_search_by(|s| s.as_slice().cmp(sni)) else {
        return false;
    };
    if pos >= MAX_SNIS {
        *dropped += 1;
        return false;
    }
    snis.insert(pos, sni.to_vec());
    if snis.len() > MAX_SNIS {
        snis.truncate(MAX_SNIS);
        *dropped += 1;
    }
    true
}

/// The census of a run.
#[derive(Debug)]
pub struct Census {
    clients: HashMap<IpAddr, ClientSummary, ahash::RandomState>,
    /// Records not tallied because their client was new and the census full (clients or
    /// memory).
    pub dropped: u64,
    max_clients: usize,
    /// Heap bytes held at most (the table and every client's sets).
    max_memory: usize,
    /// Heap bytes of the clients' sets (SNIs, JA4s, service areas).
    sets: usize,
}

impl Default for Census {
    fn default() -> Self {
        Census::with_limits(MAX_CLIENTS, usize::MAX)
    }
}

impl Census {
    pub fn new() -> Self {
        Self::default()
    }

    /// A census of at most `max_clients` clients and `max_memory` heap bytes.
    pub fn with_limits(max_clients: usize, max_memory: usize) -> Self {
        Census {
            clients: HashMap::with_hasher(ahash::RandomState::new()),
            dropped: 0,
            max_clients,
            max_memory,
            sets: 0,
        }
    }

    /// Clients tallied at most (`--max-clients`).
    pub fn max_clients(&self) -> usize {
        self.max_clients
    }

    /// Heap bytes held: the client table and every client's sets.
    pub fn memory(&self) -> usize {
        crate::budget::table(self.clients.capacity(), CLIENT_SLOT) + self.sets
    }

    /// Tallies one connection (the caller decides whether it is in scope).
    pub fn add(&mut self, rec: &ConnectionRecord) {
        let ip = rec.client.ip;
        let memory = self.memory();
        let full = memory >= self.max_memory;
        let summary = match self.clients.get_mut(&ip) {
            Some(c) => c,
            None => {
                // A new entry, and the table may have to grow (old and new held together).
                let cap = self.clients.capacity();
                let grows = self.clients.len() >= cap;
                let need = if grows {
                    crate::budget::table((cap * 2).max(3), CLIENT_SLOT)
                } else {
                    0
                };
                if self.clients.len() >= self.max_clients
                    || full
                    || memory.saturating_add(need) > self.max_memory
                {
                    self.dropped += 1;
                    return;
                }
                self.clients
                    .entry(ip)
                    .or_insert_with(|| ClientSummary::new(ip, rec.ts))
            }
        };
        let (added, freed) = summary.add(rec, !full);
        self.sets = (self.sets + added).saturating_sub(freed);
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Keeps only the clients `keep` accepts (`read --only`, once the run is over: the memory
    /// figure is then an overestimate).
    pub fn retain(&mut self, mut keep: impl FnMut(&ClientSummary) -> bool) {
        self.clients.retain(|_, c| keep(c));
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Clients in report order: legacy first, then by connection count (most first), then by
    /// address.
    pub fn sorted(&self) -> Vec<&ClientSummary> {
        self.sorted_by(ClientOrder::Verdict)
    }

    /// Clients in the given order.
    pub fn sorted_by(&self, order: ClientOrder) -> Vec<&ClientSummary> {
        let mut v: Vec<&ClientSummary> = self.clients.values().collect();
        v.sort_by(|a, b| order.compare(a, b));
        v
    }

    /// Connections over QUIC, over all clients.
    pub fn quic_total(&self) -> u64 {
        self.clients.values().map(|c| c.quic).sum()
    }

    /// Totals over all clients.
    pub fn totals(&self) -> (u64, VersionCounts, u64) {
        let mut t = VersionCounts::default();
        let mut conns = 0;
        let mut nosh = 0;
        for c in self.clients.values() {
            conns += c.connections;
            nosh += c.no_server_hello;
            t.sslv2 += c.negotiated.sslv2;
            t.sslv3 += c.negotiated.sslv3;
            t.tls10 += c.negotiated.tls10;
            t.tls11 += c.negotiated.tls11;
            t.tls12 += c.negotiated.tls12;
            t.tls13 += c.negotiated.tls13;
            t.other += c.negotiated.other;
        }
        (conns, t, nosh)
    }
}

/// A connection for unit tests: fd00:1::10 port 50000 to 40.97.10.20:443 (Exchange),
/// outlook.office365.com, TLS 1.3 offered, TLS 1.0 negotiated and established, STARTTLS SMTP,
/// every fingerprint. Tests change what they need with `..ConnectionRecord::example()`.
#[cfg(test)]
impl ConnectionRecord {
    pub(crate) fn example() -> ConnectionRecord {
        ConnectionRecord {
            ts: Timestamp::from_secs_nanos(1_795_902_076, 5_000),
            client: Endpoint {
                ip: "fd00:1:0:0::10".parse().unwrap(),
                port: 50000,
            },
            server: Endpoint {
                ip: "40.97.10.20".parse().unwrap(),
                port: 443,
            },
            sni: Some(b"outlook.office365.com".to_vec()),
            offered_max: Some(TlsVersion::TLS13),
            offered_max_at_least: false,
            negotiated: Some(TlsVersion::TLS10),
            negotiated_at_least: false,
            cipher: Some(0xc014),
            m365: true,
            m365_match: "ip+sni",
            service_areas: vec![ServiceArea::Exchange],
            endpoint_ids: vec![1, 2, 71],
            outcome: Outcome::Established,
            offered_versions: vec![TlsVersion::TLS13, TlsVersion::TLS12],
            resumed: false,
            starttls: Some(crate::starttls::StartTls::Smtp),
            ja4: Some("t13d1516h2_8daaf6152771_e5627efa2ab1".into()),
            ja3: Some("0123".into()),
            ja3s: Some("4567".into()),
            ended_by: None,
            connect_host: None,
            transport: Transport::Tcp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(client: &str, neg: Option<u16>, offered: u16, sni: &str, ts: i64) -> ConnectionRecord {
        ConnectionRecord {
            ts: Timestamp(ts),
            client: Endpoint {
                ip: client.parse().unwrap(),
                port: 50000,
            },
            sni: Some(sni.as_bytes().to_vec()),
            offered_max: Some(TlsVersion(offered)),
            negotiated: neg.map(TlsVersion),
            cipher: None,
            m365_match: "ip",
            endpoint_ids: vec![1, 2],
            outcome: if neg.is_some() {
                Outcome::Established
            } else {
                Outcome::Alert(70)
            },
            offered_versions: vec![TlsVersion(offered)],
            ended_by: neg.is_none().then_some(Side::Server),
            starttls: None,
            ja4: Some(format!("ja4-{offered:x}")),
            ja3: None,
            ja3s: None,
            ..ConnectionRecord::example()
        }
    }

    #[test]
    fn tallies_per_client() {
        let mut c = Census::new();
        c.add(&rec("10.1.0.50", Some(0x0301), 0x0301, "b.example", 30));
        c.add(&rec("10.1.0.50", Some(0x0303), 0x0303, "a.example", 10));
        c.add(&rec("10.1.0.50", None, 0x0301, "a.example", 20));
        c.add(&rec("10.1.0.52", Some(0x0304), 0x0304, "x", 5));
        c.add(&rec("10.1.0.52", Some(0x0304), 0x0304, "x", 6));
        c.add(&rec("10.1.0.53", Some(0x0304), 0x0304, "x", 6));
        let s = c.sorted();
        assert_eq!(s[0].client.to_string(), "10.1.0.50");
        assert_eq!(s[0].verdict(), Verdict::AtRisk);
        assert_eq!(s[0].failed, 1);
        assert_eq!(s[0].lowest_negotiated, Some(TlsVersion::TLS10));
        assert_eq!(s[0].ja4.len(), 2);
        assert_eq!(s[0].connections, 3);
        assert_eq!(s[0].negotiated.tls10, 1);
        assert_eq!(s[0].negotiated.tls12, 1);
        assert_eq!(s[0].no_server_hello, 1);
        assert_eq!(s[0].max_offered, Some(TlsVersion::TLS12));
        assert_eq!(
            (s[0].first_seen, s[0].last_seen),
            (Timestamp(10), Timestamp(30))
        );
        assert_eq!(
            s[0].snis,
            vec![b"a.example".to_vec(), b"b.example".to_vec()]
        );
        assert_eq!(s[0].service_areas[&ServiceArea::Exchange], 3);
        // Then by connection count, then address.
        assert_eq!(s[1].client.to_string(), "10.1.0.52");
        assert_eq!(s[2].client.to_string(), "10.1.0.53");
        assert_eq!(s[1].verdict(), Verdict::Ok);
        let (conns, t, nosh) = c.totals();
        assert_eq!((conns, t.tls13, t.legacy(), nosh), (6, 3, 1, 1));
    }

    #[test]
    fn verdicts() {
        let verdict = |recs: &[ConnectionRecord]| {
            let mut c = Census::new();
            for r in recs {
                c.add(r);
            }
            c.sorted()[0].verdict()
        };
        // Refused, offering only TLS 1.0: broken.
        assert_eq!(
            verdict(&[rec("10.0.0.1", None, 0x0301, "x", 1)]),
            Verdict::Broken
        );
        // Refused once, but also offered TLS 1.2 elsewhere: at risk, not broken.
        assert_eq!(
            verdict(&[
                rec("10.0.0.1", None, 0x0301, "x", 1),
                rec("10.0.0.1", Some(0x0303), 0x0303, "x", 2)
            ]),
            Verdict::AtRisk
        );
        // Offered at most TLS 1.1 and got it: at risk.
        assert_eq!(
            verdict(&[rec("10.0.0.1", Some(0x0302), 0x0302, "x", 1)]),
            Verdict::AtRisk
        );
        // Offered 1.3, negotiated 1.2: ok.
        assert_eq!(
            verdict(&[rec("10.0.0.1", Some(0x0303), 0x0304, "x", 1)]),
            Verdict::Ok
        );
        assert_eq!(Outcome::Alert(70).to_string(), "alert:protocol_version");
        assert_eq!(Outcome::Alert(250).to_string(), "alert:250");
    }

    #[test]
    fn verdict_rules() {
        use Verdict::*;
        let (t10, t12) = (Some(TlsVersion::TLS10), Some(TlsVersion::TLS12));
        // (failed, negotiated, max_offered, at_least, legacy_seen) → verdict
        #[rustfmt::skip]
        let rows = [
            ((1, 0, t10, false, true), Broken),
            ((1, 3, t10, false, true), AtRisk), // refused once, got through elsewhere
            ((0, 0, t10, false, true), AtRisk), // offered TLS 1.0, nothing failed
            ((1, 0, t10, true, false), Unknown), // a cut hello: "TLS 1.0 or later"
            ((0, 0, t12, true, false), Ok), // "TLS 1.2 or later"
            ((1, 0, None, false, false), Unknown), // STARTTLS refused
            ((0, 0, None, false, false), Unknown),
            ((0, 1, None, false, false), Ok), // only the ServerHello seen, TLS 1.2
            ((0, 1, None, false, true), AtRisk), // only the ServerHello seen, TLS 1.0
        ];
        for ((f, n, m, b, l), want) in rows {
            assert_eq!(verdict_of(f, n, m, b, l), want, "{f} {n} {m:?} {b} {l}");
        }
    }

    #[test]
    fn a_lower_bound_stays_one_below_tls13() {
        let mut max = None;
        let mut at_least = false;
        raise_max_offered(&mut max, &mut at_least, TlsVersion::TLS10, true);
        assert_eq!((max, at_least), (Some(TlsVersion::TLS10), true));
        raise_max_offered(&mut max, &mut at_least, TlsVersion::TLS12, false);
        assert_eq!((max, at_least), (Some(TlsVersion::TLS12), true));
        raise_max_offered(&mut max, &mut at_least, TlsVersion::TLS13, false);
        assert_eq!((max, at_least), (Some(TlsVersion::TLS13), false));
        let mut max = Some(TlsVersion::TLS11);
        let mut at_least = false;
        raise_max_offered(&mut max, &mut at_least, TlsVersion::TLS10, false);
        assert_eq!((max, at_least), (Some(TlsVersion::TLS11), false));
    }

    #[test]
    fn sni_set_is_the_smallest_names_in_any_order() {
        let names: Vec<Vec<u8>> = (0..40).map(|i| format!("h{i:02}").into_bytes()).collect();
        let mut a = Vec::new();
        let mut b = Vec::new();
        let (mut da, mut db) = (0, 0);
        for n in &names {
            insert_capped(&mut a, n, &mut da);
        }
        for n in names.iter().rev() {
            insert_capped(&mut b, n, &mut db);
        }
        assert_eq!(a, b);
        assert_eq!((a.len(), da, db), (MAX_SNIS, 8, 8));
        assert_eq!(a.last().unwrap(), b"h31");
        insert_capped(&mut a, b"h05", &mut da);
        assert_eq!(da, 8, "a name kept already is not dropped");
    }

    #[test]
    fn sni_list_is_capped() {
        let mut c = Census::new();
        for i in 0..(MAX_SNIS + 5) {
            c.add(&rec(
                "10.0.0.1",
                Some(0x0303),
                0x0303,
                &format!("h{i:03}"),
                1,
            ));
        }
        let s = c.sorted();
        assert_eq!(s[0].snis.len(), MAX_SNIS);
        assert_eq!(s[0].snis_dropped, 5);
    }
}
