//! CSV writers: the per-client census (`--csv`) and one row per TLS connection
//! (`--connections`). Column names are a stable interface: later versions append columns,
//! never rename or reorder them. Every text cell from the wire is escaped and neutralised.

use std::io::Write;

use crate::census::{ClientSummary, ConnectionRecord};
use crate::pipeline::RecordSink;
use crate::report::escape::{csv_cell, visible};
use crate::tls::TlsVersion;

/// Columns of `--csv`.
pub const CLIENT_COLUMNS: [&str; 18] = [
    "client_ip",
    "connections",
    "sslv3",
    "tlsv1_0",
    "tlsv1_1",
    "tlsv1_2",
    "tlsv1_3",
    "no_server_hello",
    "max_offered",
    "first_seen",
    "last_seen",
    "snis",
    "verdict",
    "service_areas",
    "failed",
    "lowest_negotiated",
    "ja4_seen",
    "quic",
];

/// Columns of `--connections`.
pub const CONNECTION_COLUMNS: [&str; 23] = [
    "ts",
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "sni",
    "offered_max",
    "negotiated",
    "cipher",
    "m365",
    "m365_match",
    "service_area",
    "endpoint_ids",
    "outcome",
    "offered_versions",
    "resumed",
    "starttls",
    "ja4",
    "ja3",
    "ja3s",
    "ended_by",
    "connect_host",
    "transport",
];

/// A version as the CSV spells it; empty when unknown.
pub fn version_cell(v: Option<TlsVersion>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A version that may be a lower bound: `TLSv1.2+` means "TLS 1.2 or later" (a hello cut by
/// the snap length); empty when unknown.
pub fn bound_cell(v: Option<TlsVersion>, at_least: bool) -> String {
    match v {
        Some(v) if at_least => format!("{v}+"),
        v => version_cell(v),
    }
}

/// The offered versions, `;`-joined; the last one written `+` when the list is a lower bound.
pub fn offered_cells(r: &ConnectionRecord) -> Vec<String> {
    let n = r.offered_versions.len();
    r.offered_versions
        .iter()
        .enumerate()
        .map(|(i, v)| bound_cell(Some(*v), r.offered_max_at_least && i + 1 == n))
        .collect()
}

/// A cipher suite by its IANA name, `0xNNNN` when unknown to us.
pub fn cipher_name(id: u16) -> String {
    match tls_parser::TlsCipherSuite::from_id(id) {
        Some(c) => c.name.to_string(),
        None => format!("0x{id:04x}"),
    }
}

fn client_row(c: &ClientSummary) -> Vec<String> {
    let snis: Vec<String> = c.snis.iter().map(|s| visible(s)).collect();
    let areas: Vec<String> = c
        .service_areas
        .iter()
        .map(|(a, n)| format!("{a}={n}"))
        .collect();
    vec![
        c.client.to_string(),
        c.connections.to_string(),
        c.negotiated.sslv3.to_string(),
        c.negotiated.tls10.to_string(),
        c.negotiated.tls11.to_string(),
        c.negotiated.tls12.to_string(),
        c.negotiated.tls13.to_string(),
        c.no_server_hello.to_string(),
        bound_cell(c.max_offered, c.max_offered_at_least),
        c.first_seen.rfc3339(),
        c.last_seen.rfc3339(),
        csv_cell(&snis.join(";")).into_owned(),
        c.verdict().as_str().to_string(),
        areas.join(";"),
        c.failed.to_string(),
        version_cell(c.lowest_negotiated),
        c.ja4.keys().cloned().collect::<Vec<_>>().join(";"),
        c.quic.to_string(),
    ]
}

/// Writes the per-client census, in report order.
pub fn write_clients<'a>(
    clients: impl IntoIterator<Item = &'a ClientSummary>,
    out: impl Write,
) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CLIENT_COLUMNS)?;
    for c in clients {
        w.write_record(client_row(c))?;
    }
    w.flush()?;
    Ok(())
}

/// Streams `--connections` rows as connections are decided (memory does not grow with them).
pub struct ConnectionsWriter<W: Write> {
    w: csv::Writer<W>,
    /// The first write error, reported at the end; rows after it are dropped.
    error: Option<csv::Error>,
}

impl<W: Write> ConnectionsWriter<W> {
    pub fn new(out: W) -> Self {
        let mut w = csv::Writer::from_writer(out);
        let error = w.write_record(CONNECTION_COLUMNS).err();
        ConnectionsWriter { w, error }
    }

    /// Flushes; returns the writer or the first error.
    pub fn finish(self) -> Result<W, String> {
        if let Some(e) = self.error {
            return Err(e.to_string());
        }
        self.w.into_inner().map_err(|e| e.error().to_string())
    }
}

pub fn connection_row(r: &ConnectionRecord) -> Vec<String> {
    let sni = r.sni.as_deref().map(visible).unwrap_or_default();
    let areas: Vec<String> = r.service_areas.iter().map(|a| a.to_string()).collect();
    let ids: Vec<String> = r.endpoint_ids.iter().map(|i| i.to_string()).collect();
    vec![
        r.ts.rfc3339(),
        r.client.ip.to_string(),
        r.client.port.to_string(),
        r.server.ip.to_string(),
        r.server.port.to_string(),
        csv_cell(&sni).into_owned(),
        bound_cell(r.offered_max, r.offered_max_at_least),
        bound_cell(r.negotiated, r.negotiated_at_least),
        r.cipher.map(cipher_name).unwrap_or_default(),
        r.m365.to_string(),
        r.m365_match.to_string(),
        areas.join(";"),
        ids.join(";"),
        r.outcome.to_string(),
        offered_cells(r).join(";"),
        r.resumed.to_string(),
        r.starttls
            .map(|p| p.as_str())
            .unwrap_or_default()
            .to_string(),
        r.ja4.clone().unwrap_or_default(),
        r.ja3.clone().unwrap_or_default(),
        r.ja3s.clone().unwrap_or_default(),
        r.ended_by
            .map(|s| s.as_str())
            .unwrap_or_default()
            .to_string(),
        csv_cell(&r.connect_host.as_deref().map(visible).unwrap_or_default()).into_owned(),
        r.transport.as_str().to_string(),
    ]
}

impl<W: Write> RecordSink for ConnectionsWriter<W> {
    fn record(&mut self, rec: &ConnectionRecord) {
        if self.error.is_none() {
            self.error = self.w.write_record(connection_row(rec)).err();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(sni: &[u8]) -> ConnectionRecord {
        ConnectionRecord {
            sni: Some(sni.to_vec()),
            ..ConnectionRecord::example()
        }
    }

    #[test]
    fn connection_rows_are_exact_and_escaped() {
        let mut w = ConnectionsWriter::new(Vec::new());
        w.record(&rec(b"outlook.office365.com"));
        w.record(&rec(b"=HYPERLINK(\"http://x\",\"y\")\x1b[2J"));
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], CONNECTION_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "2026-11-28T21:41:16.000005Z,fd00:1::10,50000,40.97.10.20,443,outlook.office365.com,\
             TLSv1.3,TLSv1.0,TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,true,ip+sni,Exchange,1;2;71,\
             established,TLSv1.3;TLSv1.2,false,smtp,t13d1516h2_8daaf6152771_e5627efa2ab1,0123,4567,,,tcp"
        );
        assert!(
            lines[2].contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\\x1b[2J\","),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn unknown_cipher_is_hex() {
        assert_eq!(cipher_name(0xfefe), "0xfefe");
    }
}
