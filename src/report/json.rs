//! JSON writers: the census as one document (`--json`) and one object per TLS connection as it
//! is decided (`--ndjson`, newline-delimited JSON for Splunk, Elastic, ClickHouse).
//!
//! Promises:
//! - Field names are the CSV column names ([`CLIENT_COLUMNS`], [`CONNECTION_COLUMNS`]), in the
//!   same order; later versions add fields, never rename or remove them (`"version"` changes
//!   if they ever must).
//! - Values are typed: counts and ports are numbers, `m365` and `resumed` booleans, the CSV's
//!   `;`-joined lists arrays (`[]` when empty), `service_areas` and `ja4_seen` objects mapping
//!   a name to its connection count, and an empty CSV cell is `null`.
//! - Text is the CSV's text: strings from the wire (SNI) pass through
//!   [`visible`], so JSON never carries a control byte, and
//!   there is no formula neutralisation (the leading `'` of a CSV cell), which JSON does not
//!   need. Versions, timestamps and names are spelled as in the CSV.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::census::{ClientSummary, ConnectionRecord};
use crate::decode::SkipReason;
use crate::m365::{DataSummary, ServiceArea};
use crate::pipeline::RecordSink;
use crate::report::csv::{bound_cell, cipher_name, offered_cells};
#[cfg(doc)]
use crate::report::csv::{CLIENT_COLUMNS, CONNECTION_COLUMNS};
use crate::report::escape::visible;
use crate::stats::RunStats;
use crate::tls::TlsVersion;

/// The `"format"` of a `--json` document.
pub const FORMAT: &str = "tlscensus-census";
/// The `"version"` of a `--json` document's layout.
pub const VERSION: u32 = 1;

/// What a census document says about itself besides its clients.
#[derive(Debug, Clone, Copy)]
pub struct Provenance<'a> {
    /// `"m365"` or `"all"` (`--scope`); `None` (`null`) for a merged census.
    pub scope: Option<&'a str>,
    /// The Microsoft 365 endpoint data used; `None` for a merged census.
    pub endpoint_data: Option<&'a DataSummary>,
    /// Capture files, `<stdin>`, `live:IFACE`, or the merged CSV files, escaped by the caller
    /// with [`crate::report::escape::name`] (a file name is not trusted either; a name that is
    /// not UTF-8 stays recognisable as `\xNN` bytes).
    pub inputs: &'a [String],
    /// The run's counters; `None` for a merged census.
    pub run: Option<&'a RunStats>,
    /// Whether the JA4 connection counts are known (a CSV carries the set only: a census
    /// merged from CSVs writes `null` counts).
    pub ja4_counts: bool,
}

/// Writes the census as one JSON document (pretty-printed, ending with a newline), clients in
/// the order given.
pub fn write_census(
    prov: &Provenance<'_>,
    clients: &[&ClientSummary],
    mut out: impl Write,
) -> io::Result<()> {
    // Escaped already; again here, for control characters only, should a caller forget.
    let inputs: Vec<String> = (prov.inputs.iter())
        .map(|i| crate::report::escape::terminal(i).into_owned())
        .collect();
    let doc = Document {
        format: FORMAT,
        version: VERSION,
        generated_by: concat!("tlscensus ", env!("CARGO_PKG_VERSION")),
        scope: prov.scope,
        endpoint_data: prov.endpoint_data,
        inputs: &inputs,
        run: prov.run.map(RunJson),
        clients: Clients {
            clients,
            ja4_counts: prov.ja4_counts,
        },
    };
    serde_json::to_writer_pretty(&mut out, &doc)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[derive(Serialize)]
struct Document<'a> {
    format: &'static str,
    version: u32,
    generated_by: &'static str,
    scope: Option<&'a str>,
    endpoint_data: Option<&'a DataSummary>,
    inputs: &'a [String],
    run: Option<RunJson<'a>>,
    clients: Clients<'a>,
}

struct Clients<'a> {
    clients: &'a [&'a ClientSummary],
    ja4_counts: bool,
}

impl Serialize for Clients<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.clients.len()))?;
        for c in self.clients {
            seq.serialize_element(&ClientJson::new(c, self.ja4_counts))?;
        }
        seq.end()
    }
}

/// A version as the CSV spells it; `null` when unknown.
fn version(v: Option<TlsVersion>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// One `--csv` row, typed. Field order = `CLIENT_COLUMNS`.
#[derive(Serialize)]
struct ClientJson<'a> {
    client_ip: IpAddr,
    connections: u64,
    sslv3: u64,
    tlsv1_0: u64,
    tlsv1_1: u64,
    tlsv1_2: u64,
    tlsv1_3: u64,
    no_server_hello: u64,
    max_offered: Option<String>,
    first_seen: String,
    last_seen: String,
    snis: Vec<String>,
    verdict: &'static str,
    service_areas: &'a BTreeMap<ServiceArea, u64>,
    failed: u64,
    lowest_negotiated: Option<String>,
    ja4_seen: Ja4Seen<'a>,
    quic: u64,
}

impl<'a> ClientJson<'a> {
    fn new(c: &'a ClientSummary, ja4_counts: bool) -> Self {
        ClientJson {
            client_ip: c.client,
            connections: c.connections,
            sslv3: c.negotiated.sslv3,
            tlsv1_0: c.negotiated.tls10,
            tlsv1_1: c.negotiated.tls11,
            tlsv1_2: c.negotiated.tls12,
            tlsv1_3: c.negotiated.tls13,
            no_server_hello: c.no_server_hello,
            max_offered: Some(bound_cell(c.max_offered, c.max_offered_at_least))
                .filter(|s| !s.is_empty()),
            first_seen: c.first_seen.rfc3339(),
            last_seen: c.last_seen.rfc3339(),
            snis: c.snis.iter().map(|s| visible(s)).collect(),
            verdict: c.verdict().as_str(),
            service_areas: &c.service_areas,
            failed: c.failed,
            lowest_negotiated: version(c.lowest_negotiated),
            ja4_seen: Ja4Seen {
                ja4: &c.ja4,
                counts: ja4_counts,
            },
            quic: c.quic,
        }
    }
}

/// `{"t13d...": 3}`, or `{"t13d...": null}` when the counts are not known.
struct Ja4Seen<'a> {
    ja4: &'a BTreeMap<String, u64>,
    counts: bool,
}

impl Serialize for Ja4Seen<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.ja4.len()))?;
        for (k, n) in self.ja4 {
            // JA4 is made of [a-z0-9_] by construction; escaped all the same.
            m.serialize_entry(&visible(k.as_bytes()), &self.counts.then_some(*n))?;
        }
        m.end()
    }
}

/// One `--connections` row, typed. Field order = `CONNECTION_COLUMNS`.
#[derive(Serialize)]
struct ConnectionJson<'a> {
    ts: String,
    client_ip: IpAddr,
    client_port: u16,
    server_ip: IpAddr,
    server_port: u16,
    sni: Option<String>,
    offered_max: Option<String>,
    negotiated: Option<String>,
    cipher: Option<String>,
    m365: bool,
    m365_match: Option<&'static str>,
    service_area: &'a [ServiceArea],
    endpoint_ids: &'a [u32],
    outcome: String,
    offered_versions: Vec<String>,
    resumed: bool,
    starttls: Option<&'static str>,
    ja4: Option<&'a str>,
    ja3: Option<&'a str>,
    ja3s: Option<&'a str>,
    ended_by: Option<&'static str>,
    connect_host: Option<String>,
    transport: &'static str,
}

impl<'a> ConnectionJson<'a> {
    fn new(r: &'a ConnectionRecord) -> Self {
        ConnectionJson {
            ts: r.ts.rfc3339(),
            client_ip: r.client.ip,
            client_port: r.client.port,
            server_ip: r.server.ip,
            server_port: r.server.port,
            sni: r.sni.as_deref().map(visible),
            offered_max: Some(bound_cell(r.offered_max, r.offered_max_at_least))
                .filter(|s| !s.is_empty()),
            negotiated: Some(bound_cell(r.negotiated, r.negotiated_at_least))
                .filter(|s| !s.is_empty()),
            cipher: r.cipher.map(cipher_name),
            m365: r.m365,
            m365_match: Some(r.m365_match).filter(|m| !m.is_empty()),
            service_area: &r.service_areas,
            endpoint_ids: &r.endpoint_ids,
            outcome: r.outcome.to_string(),
            offered_versions: offered_cells(r),
            resumed: r.resumed,
            starttls: r.starttls.map(|p| p.as_str()),
            ja4: r.ja4.as_deref(),
            ja3: r.ja3.as_deref(),
            ja3s: r.ja3s.as_deref(),
            ended_by: r.ended_by.map(|s| s.as_str()),
            connect_host: r.connect_host.as_deref().map(visible),
            transport: r.transport.as_str(),
        }
    }
}

/// One connection as a single line of JSON (no newline).
pub fn connection_line(r: &ConnectionRecord) -> String {
    // Serialising plain data into a String cannot fail.
    serde_json::to_string(&ConnectionJson::new(r)).unwrap_or_default()
}

/// Streams `--ndjson` lines as connections are decided (memory does not grow with them).
pub struct NdjsonWriter<W: Write> {
    out: W,
    /// The first write error; lines after it are dropped.
    error: Option<io::Error>,
}

impl<W: Write> NdjsonWriter<W> {
    pub fn new(out: W) -> Self {
        NdjsonWriter { out, error: None }
    }

    /// Flushes what is buffered (a write error is kept for [`Self::finish`]).
    pub fn flush(&mut self) {
        if self.error.is_none() {
            self.error = self.out.flush().err();
        }
    }

    /// The first write error so far.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// Flushes; returns the writer or the first error.
    pub fn finish(mut self) -> Result<W, io::Error> {
        self.flush();
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }
}

impl<W: Write> RecordSink for NdjsonWriter<W> {
    fn record(&mut self, rec: &ConnectionRecord) {
        if self.error.is_none() {
            let mut line = connection_line(rec);
            line.push('\n');
            self.error = self.out.write_all(line.as_bytes()).err();
        }
    }
}

/// The run's counters by name (the `--stats` summary, in its order). Every field of
/// [`RunStats`] is named here: a new one fails to compile until it is added.
struct RunJson<'a>(&'a RunStats);

impl Serialize for RunJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let RunStats {
            files,
            files_not_captures,
            packets,
            bytes,
            skipped,
            tcp_segments,
            tcp_flows,
            client_hellos,
            server_hellos,
            hello_retry_requests,
            tls_connections,
            in_scope_connections,
            no_server_hello,
            not_tls_flows,
            unparsable_hello_flows,
            started_before_capture,
            hello_too_large,
            malformed_hellos,
            hellos_cut_by_snaplen,
            hellos_cut_by_loss,
            role_mismatch,
            retransmitted_segments,
            conflicting_overlaps,
            segments_over_cap,
            handshake_gaps,
            flows_evicted,
            flows_expired,
            clients_dropped,
            handshakes_given_up,
            memory_limit,
            memory_peak,
            packets_after_eviction,
            resets_out_of_window,
            clock_jumps,
            first_clock_jump,
            fragments,
            quic,
            dtls,
        } = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("files", files)?;
        m.serialize_entry("files_not_captures", files_not_captures)?;
        m.serialize_entry("packets", packets)?;
        m.serialize_entry("bytes", bytes)?;
        m.serialize_entry("packets_skipped", &self.0.skipped_total())?;
        m.serialize_entry("skipped", &Skipped(skipped))?;
        m.serialize_entry("tcp_segments", tcp_segments)?;
        m.serialize_entry("tcp_flows", tcp_flows)?;
        m.serialize_entry("client_hellos", client_hellos)?;
        m.serialize_entry("server_hellos", server_hellos)?;
        m.serialize_entry("hello_retry_requests", hello_retry_requests)?;
        m.serialize_entry("tls_connections", tls_connections)?;
        m.serialize_entry("in_scope_connections", in_scope_connections)?;
        m.serialize_entry("no_server_hello", no_server_hello)?;
        m.serialize_entry("not_tls_flows", not_tls_flows)?;
        m.serialize_entry("unparsable_hello_flows", unparsable_hello_flows)?;
        m.serialize_entry("started_before_capture", started_before_capture)?;
        m.serialize_entry("hello_too_large", hello_too_large)?;
        m.serialize_entry("malformed_hellos", malformed_hellos)?;
        m.serialize_entry("hellos_cut_by_snaplen", hellos_cut_by_snaplen)?;
        m.serialize_entry("hellos_cut_by_loss", hellos_cut_by_loss)?;
        m.serialize_entry("role_mismatch", role_mismatch)?;
        m.serialize_entry("retransmitted_segments", retransmitted_segments)?;
        m.serialize_entry("conflicting_overlaps", conflicting_overlaps)?;
        m.serialize_entry("segments_over_cap", segments_over_cap)?;
        m.serialize_entry("handshake_gaps", handshake_gaps)?;
        m.serialize_entry("flows_evicted", flows_evicted)?;
        m.serialize_entry("flows_expired", flows_expired)?;
        m.serialize_entry("clients_dropped", clients_dropped)?;
        m.serialize_entry("handshakes_given_up", handshakes_given_up)?;
        m.serialize_entry("memory_limit", memory_limit)?;
        m.serialize_entry("memory_peak", memory_peak)?;
        m.serialize_entry("packets_after_eviction", packets_after_eviction)?;
        m.serialize_entry("resets_out_of_window", resets_out_of_window)?;
        m.serialize_entry("clock_jumps", clock_jumps)?;
        m.serialize_entry(
            "first_clock_jump",
            &first_clock_jump.map(|(a, b)| [a.rfc3339(), b.rfc3339()]),
        )?;
        let crate::decode::ipfrag::FragStats {
            fragments,
            reassembled,
            dropped_over_cap,
            expired,
            evicted,
            overlapping,
            duplicates,
            invalid,
            after_drop,
        } = fragments;
        m.serialize_entry(
            "ip_fragments",
            &[
                ("fragments", fragments),
                ("reassembled", reassembled),
                ("dropped_over_cap", dropped_over_cap),
                ("expired", expired),
                ("evicted", evicted),
                ("overlapping", overlapping),
                ("duplicates", duplicates),
                ("invalid", invalid),
                ("after_drop", after_drop),
            ]
            .into_iter()
            .collect::<Fields>(),
        )?;
        let crate::quic::flow::QuicStats {
            datagrams,
            packets,
            initials_opened,
            initials_unopened,
            handshake_packets,
            zero_rtt_packets,
            unknown_version,
            retries,
            version_negotiations,
            connections,
            client_hellos,
            server_hellos,
            closed,
            crypto_over_cap,
            evicted,
            expired,
            without_hello,
        } = quic;
        m.serialize_entry(
            "quic",
            &[
                ("datagrams", datagrams),
                ("packets", packets),
                ("initials_opened", initials_opened),
                ("initials_unopened", initials_unopened),
                ("handshake_packets", handshake_packets),
                ("zero_rtt_packets", zero_rtt_packets),
                ("unknown_version", unknown_version),
                ("retries", retries),
                ("version_negotiations", version_negotiations),
                ("connections", connections),
                ("client_hellos", client_hellos),
                ("server_hellos", server_hellos),
                ("closed", closed),
                ("crypto_over_cap", crypto_over_cap),
                ("evicted", evicted),
                ("expired", expired),
                ("without_hello", without_hello),
            ]
            .into_iter()
            .collect::<Fields>(),
        )?;
        let crate::dtls::DtlsStats {
            datagrams,
            connections,
            client_hellos,
            server_hellos,
            hello_verify_requests,
            alerts,
            fragments_over_cap,
            malformed,
            evicted,
            expired,
        } = dtls;
        m.serialize_entry(
            "dtls",
            &[
                ("datagrams", datagrams),
                ("connections", connections),
                ("client_hellos", client_hellos),
                ("server_hellos", server_hellos),
                ("hello_verify_requests", hello_verify_requests),
                ("alerts", alerts),
                ("messages_too_large", fragments_over_cap),
                ("malformed", malformed),
                ("evicted", evicted),
                ("expired", expired),
            ]
            .into_iter()
            .collect::<Fields>(),
        )?;
        m.end()
    }
}

/// Named counters written as an object in the order given.
struct Fields<'a>(Vec<(&'static str, &'a u64)>);

impl<'a> FromIterator<(&'static str, &'a u64)> for Fields<'a> {
    fn from_iter<I: IntoIterator<Item = (&'static str, &'a u64)>>(it: I) -> Self {
        Fields(it.into_iter().collect())
    }
}

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Packets that gave no TCP segment, by reason.
struct Skipped<'a>(&'a [u64; SkipReason::ALL.len()]);

/// A skip reason's field name.
fn skip_name(r: SkipReason) -> &'static str {
    match r {
        SkipReason::UnsupportedLink => "unsupported_link",
        SkipReason::NotIp => "not_ip",
        SkipReason::NotTcp => "not_tcp",
        SkipReason::IpFragment => "ip_fragment",
        SkipReason::Truncated => "truncated",
        SkipReason::Malformed => "malformed",
        SkipReason::TunnelTooDeep => "tunnel_too_deep",
    }
}

impl Serialize for Skipped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (r, n) in SkipReason::ALL.iter().zip(self.0) {
            m.serialize_entry(skip_name(*r), n)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::census::Census;
    use crate::report::csv::{CLIENT_COLUMNS, CONNECTION_COLUMNS};

    fn rec(sni: &[u8]) -> ConnectionRecord {
        ConnectionRecord {
            sni: Some(sni.to_vec()),
            service_areas: vec![ServiceArea::Exchange, ServiceArea::Skype],
            ja3s: None,
            ..ConnectionRecord::example()
        }
    }

    /// The keys of a JSON object in the order they are written.
    fn keys_in_order(json: &str, keys: &[&str]) -> Vec<usize> {
        keys.iter()
            .map(|k| {
                json.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("{k} missing in {json}"))
            })
            .collect()
    }

    #[test]
    fn connection_line_is_exact_typed_and_in_column_order() {
        let line = connection_line(&rec(b"outlook.office365.com"));
        assert_eq!(
            line,
            "{\"ts\":\"2026-11-28T21:41:16.000005Z\",\"client_ip\":\"fd00:1::10\",\
             \"client_port\":50000,\"server_ip\":\"40.97.10.20\",\"server_port\":443,\
             \"sni\":\"outlook.office365.com\",\"offered_max\":\"TLSv1.3\",\
             \"negotiated\":\"TLSv1.0\",\"cipher\":\"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA\",\
             \"m365\":true,\"m365_match\":\"ip+sni\",\"service_area\":[\"Exchange\",\"Teams\"],\
             \"endpoint_ids\":[1,2,71],\"outcome\":\"established\",\
             \"offered_versions\":[\"TLSv1.3\",\"TLSv1.2\"],\"resumed\":false,\
             \"starttls\":\"smtp\",\"ja4\":\"t13d1516h2_8daaf6152771_e5627efa2ab1\",\
             \"ja3\":\"0123\",\"ja3s\":null,\"ended_by\":null,\"connect_host\":null,\"transport\":\"tcp\"}"
        );
        let pos = keys_in_order(&line, &CONNECTION_COLUMNS);
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
    }

    #[test]
    fn hostile_sni_is_escaped_not_neutralised() {
        let line = connection_line(&rec(b"=cmd\x1b[2J\"\\\x7f"));
        assert!(
            line.contains(r#""sni":"=cmd\\x1b[2J\"\\\\\\x7f""#),
            "{line}"
        );
        assert!(!line.bytes().any(|b| b < 0x20 || b == 0x7f));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["sni"], "=cmd\\x1b[2J\"\\\\\\x7f");
    }

    #[test]
    fn empty_values_are_null_and_lists_arrays() {
        let mut r = rec(b"x");
        r.sni = None;
        r.negotiated = None;
        r.cipher = None;
        r.m365_match = "";
        r.service_areas.clear();
        r.endpoint_ids.clear();
        r.starttls = None;
        r.ja4 = None;
        let v: serde_json::Value = serde_json::from_str(&connection_line(&r)).unwrap();
        for k in [
            "sni",
            "negotiated",
            "cipher",
            "m365_match",
            "starttls",
            "ja4",
        ] {
            assert!(v[k].is_null(), "{k}");
        }
        assert_eq!(v["service_area"], serde_json::json!([]));
        assert_eq!(v["endpoint_ids"], serde_json::json!([]));
    }

    #[test]
    fn ndjson_writer_writes_one_line_per_record() {
        let mut w = NdjsonWriter::new(Vec::new());
        w.record(&rec(b"a.example"));
        w.record(&rec(b"b.example"));
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(out.lines().count(), 2);
        assert!(out.ends_with("}\n"));
        for l in out.lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
    }

    #[test]
    fn census_document_has_provenance_and_clients_in_order() {
        let mut census = Census::new();
        census.add(&rec(b"a.example"));
        let stats = RunStats {
            packets: 12,
            ..RunStats::default()
        };
        let data = crate::m365::EndpointData::embedded().summary();
        let inputs = vec!["a.pcap".to_string()];
        let mut out = Vec::new();
        write_census(
            &Provenance {
                scope: Some("m365"),
                endpoint_data: Some(&data),
                inputs: &inputs,
                run: Some(&stats),
                ja4_counts: true,
            },
            &census.sorted(),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["format"], FORMAT);
        assert_eq!(v["version"], VERSION);
        assert_eq!(v["scope"], "m365");
        assert_eq!(v["endpoint_data"]["instance"], "Worldwide");
        assert_eq!(v["inputs"], serde_json::json!(["a.pcap"]));
        assert_eq!(v["run"]["packets"], 12);
        assert_eq!(v["run"]["skipped"]["not_tcp"], 0);
        assert_eq!(v["run"]["ip_fragments"]["reassembled"], 0);
        let c = &v["clients"][0];
        assert_eq!(c["client_ip"], "fd00:1::10");
        assert_eq!(c["tlsv1_0"], 1);
        assert_eq!(c["verdict"], "at-risk");
        assert_eq!(
            c["service_areas"],
            serde_json::json!({"Exchange": 1, "Teams": 1})
        );
        assert_eq!(
            c["ja4_seen"],
            serde_json::json!({"t13d1516h2_8daaf6152771_e5627efa2ab1": 1})
        );
        assert_eq!(c["snis"], serde_json::json!(["a.example"]));
        let client_text = &text[text.find("\"clients\"").unwrap()..];
        let pos = keys_in_order(client_text, &CLIENT_COLUMNS);
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
        assert_eq!(c.as_object().unwrap().len(), CLIENT_COLUMNS.len());
    }

    #[test]
    fn unknown_ja4_counts_are_null() {
        let mut census = Census::new();
        census.add(&rec(b"a.example"));
        let mut out = Vec::new();
        write_census(
            &Provenance {
                scope: None,
                endpoint_data: None,
                inputs: &["sensor\x1b[2J\x7f.csv".to_string()],
                run: None,
                ja4_counts: false,
            },
            &census.sorted(),
            &mut out,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v["run"].is_null() && v["endpoint_data"].is_null() && v["scope"].is_null());
        assert_eq!(v["inputs"][0], "sensor\\x1b[2J\\x7f.csv");
        assert!(v["clients"][0]["ja4_seen"]["t13d1516h2_8daaf6152771_e5627efa2ab1"].is_null());
    }
}
