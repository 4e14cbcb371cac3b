//! Census stage: [`ConnectionRecord`]s → one [`ClientSummary`] per client IP, with a verdict.
//!
//! A record is one TLS connection as the pipeline decided it (a `--connections` row). The census
//! keeps per-client counters only, so its size grows with the number of clients, never with the
//! number of connections or packets; the number of clients and of SNIs per client are capped.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::flow::Endpoint;
use crate::m365::ServiceArea;
use crate::tls::TlsVersion;

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
    /// The ServerHello's version (supported_versions, else legacy_version); `None` when no
    /// ServerHello was seen.
    pub negotiated: Option<TlsVersion>,
    /// The cipher suite the server chose.
    pub cipher: Option<u16>,
    /// Toward the scope's servers (Microsoft 365 plus `--include`, less `--exclude`).
    pub m365: bool,
    /// How the server matched: `ip`, `sni`, `ip+sni` or empty.
    pub m365_match: &'static str,
    /// Microsoft 365 service areas of the matching endpoint sets.
    pub service_areas: Vec<ServiceArea>,
    /// Ids of the matching endpoint sets.
    pub endpoint_ids: Vec<u32>,
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
    /// At least one connection negotiated SSL or TLS 1.0/1.1: it will break.
    Legacy,
    /// Everything negotiated TLS 1.2 or later (or nothing was negotiated).
    Ok,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Legacy => "legacy",
            Verdict::Ok => "ok",
        }
    }
}

/// At most this many distinct SNIs are kept per client.
pub const MAX_SNIS: usize = 32;
/// At most this many clients are tallied.
pub const MAX_CLIENTS: usize = 1_000_000;

/// One client IP over all its connections in scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSummary {
    pub client: IpAddr,
    pub connections: u64,
    pub negotiated: VersionCounts,
    pub no_server_hello: u64,
    pub max_offered: Option<TlsVersion>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Distinct SNIs, sorted, at most [`MAX_SNIS`].
    pub snis: Vec<Vec<u8>>,
    /// Distinct SNIs not kept because of the cap.
    pub snis_dropped: u64,
    /// Connections per service area.
    pub service_areas: BTreeMap<ServiceArea, u64>,
}

impl ClientSummary {
    fn new(client: IpAddr, ts: Timestamp) -> Self {
        ClientSummary {
            client,
            connections: 0,
            negotiated: VersionCounts::default(),
            no_server_hello: 0,
            max_offered: None,
            first_seen: ts,
            last_seen: ts,
            snis: Vec::new(),
            snis_dropped: 0,
            service_areas: BTreeMap::new(),
        }
    }

    pub fn verdict(&self) -> Verdict {
        if self.negotiated.legacy() > 0 {
            Verdict::Legacy
        } else {
            Verdict::Ok
        }
    }

    fn add(&mut self, rec: &ConnectionRecord) {
        self.connections += 1;
        match rec.negotiated {
            Some(v) => self.negotiated.add(v),
            None => self.no_server_hello += 1,
        }
        if let Some(o) = rec.offered_max {
            if self.max_offered.is_none_or(|m| o.rank() > m.rank()) {
                self.max_offered = Some(o);
            }
        }
        self.first_seen = self.first_seen.min(rec.ts);
        self.last_seen = self.last_seen.max(rec.ts);
        if let Some(sni) = &rec.sni {
            if let Err(pos) = self.snis.binary_search(sni) {
                if self.snis.len() < MAX_SNIS {
                    self.snis.insert(pos, sni.clone());
                } else {
                    self.snis_dropped += 1;
                }
            }
        }
        for area in &rec.service_areas {
            *self.service_areas.entry(*area).or_default() += 1;
        }
    }
}

/// The census of a run.
#[derive(Debug, Default)]
pub struct Census {
    clients: HashMap<IpAddr, ClientSummary>,
    /// Records not tallied because the client table was full.
    pub dropped: u64,
}

impl Census {
    pub fn new() -> Self {
        Self::default()
    }

    /// Tallies one connection (the caller decides whether it is in scope).
    pub fn add(&mut self, rec: &ConnectionRecord) {
        let ip = rec.client.ip;
        if !self.clients.contains_key(&ip) && self.clients.len() >= MAX_CLIENTS {
            self.dropped += 1;
            return;
        }
        self.clients
            .entry(ip)
            .or_insert_with(|| ClientSummary::new(ip, rec.ts))
            .add(rec);
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Clients in report order: legacy first, then by connection count (most first), then by
    /// address.
    pub fn sorted(&self) -> Vec<&ClientSummary> {
        let mut v: Vec<&ClientSummary> = self.clients.values().collect();
        v.sort_by(|a, b| {
            a.verdict()
                .cmp(&b.verdict())
                .then(b.connections.cmp(&a.connections))
                .then(a.client.cmp(&b.client))
        });
        v
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
            server: Endpoint {
                ip: "40.97.10.20".parse().unwrap(),
                port: 443,
            },
            sni: Some(sni.as_bytes().to_vec()),
            offered_max: Some(TlsVersion(offered)),
            negotiated: neg.map(TlsVersion),
            cipher: None,
            m365: true,
            m365_match: "ip",
            service_areas: vec![ServiceArea::Exchange],
            endpoint_ids: vec![1, 2],
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
        assert_eq!(s[0].verdict(), Verdict::Legacy);
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
