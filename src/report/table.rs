//! The terminal table: one line per client, legacy clients first, with totals and a footer
//! saying what the census may have missed. Pure function of the census and statistics.

use std::fmt::Write as _;

use crate::census::{Census, ClientOrder, ClientSummary, Verdict};
use crate::report::escape::{ellipsize, visible};
use crate::report::plural;
use crate::stats::RunStats;

/// What the table is about, for its heading.
pub struct TableContext<'a> {
    pub scope_label: &'a str,
    /// Show at most this many clients (the rest are counted in a line).
    pub top: Option<usize>,
    /// Order of the clients (`--sort`).
    pub order: ClientOrder,
    /// Colour the VERDICT column with ANSI escape codes (only for a terminal: see
    /// [`crate::settings::use_color`]); without it the text is plain.
    pub color: bool,
}

/// The escape code that colours a verdict: broken bold red, at risk yellow, unknown magenta,
/// ok green.
fn verdict_color(v: Verdict) -> &'static str {
    match v {
        Verdict::Broken => "\x1b[1;31m",
        Verdict::AtRisk => "\x1b[33m",
        Verdict::Unknown => "\x1b[35m",
        Verdict::Ok => "\x1b[32m",
    }
}

const RESET: &str = "\x1b[0m";

fn count(n: u64) -> String {
    if n == 0 {
        "-".to_string()
    } else {
        n.to_string()
    }
}

fn row(c: &ClientSummary) -> [String; 13] {
    let snis: Vec<String> = c.snis.iter().map(|s| visible(s)).collect();
    let mut sni = snis.join(" ");
    if c.snis_dropped > 0 {
        let _ = write!(sni, " (+{})", c.snis_dropped);
    }
    let areas: Vec<String> = c.service_areas.keys().map(|a| a.to_string()).collect();
    [
        c.client.to_string(),
        c.verdict().as_str().to_string(),
        c.connections.to_string(),
        count(c.negotiated.sslv3 + c.negotiated.sslv2),
        count(c.negotiated.tls10),
        count(c.negotiated.tls11),
        count(c.negotiated.tls12),
        count(c.negotiated.tls13),
        count(c.no_server_hello),
        count(c.failed),
        match crate::report::csv::bound_cell(c.max_offered, c.max_offered_at_least) {
            s if s.is_empty() => "-".into(),
            s => s,
        },
        areas.join(","),
        ellipsize(&sni, 60).into_owned(),
    ]
}

const HEAD: [&str; 13] = [
    "CLIENT",
    "VERDICT",
    "CONNS",
    "SSL",
    "TLS1.0",
    "TLS1.1",
    "TLS1.2",
    "TLS1.3",
    "NO-SH",
    "FAILED",
    "MAX-OFFERED",
    "SERVICES",
    "SNI",
];

/// The heading and one line per client of `clients`, columns aligned to the widest cell;
/// the VERDICT column coloured when `color`. `read`'s table and `live`'s terminal view.
pub fn client_lines(out: &mut String, clients: &[&ClientSummary], color: bool) {
    let rows: Vec<[String; 13]> = clients.iter().map(|c| row(c)).collect();
    let mut widths = HEAD.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut String, cells: &[String], verdict: Option<Verdict>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else if (2..=9).contains(&i) {
                let _ = write!(l, "{cell:>w$}  ");
            } else if let (1, Some(v), true) = (i, verdict, color) {
                // Padding outside the codes keeps the columns aligned.
                let pad = w.saturating_sub(cell.chars().count()) + 2;
                let _ = write!(l, "{}{cell}{RESET}{:pad$}", verdict_color(v), "");
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(out, &HEAD.map(String::from), None);
    for (r, c) in rows.iter().zip(clients) {
        line(out, r, Some(c.verdict()));
    }
}

/// Renders the table.
pub fn render(census: &Census, stats: &RunStats, ctx: &TableContext<'_>) -> String {
    let clients = census.sorted_by(ctx.order);
    let shown = ctx.top.unwrap_or(usize::MAX).min(clients.len());
    let mut out = String::new();
    let with = |v: Verdict| clients.iter().filter(|c| c.verdict() == v).count();
    let _ = writeln!(
        out,
        "TLS census toward {}: {}: {} broken, {} at risk, {}{} ok",
        ctx.scope_label,
        plural(clients.len() as u64, "client", "clients"),
        with(Verdict::Broken),
        with(Verdict::AtRisk),
        match with(Verdict::Unknown) {
            0 => String::new(),
            n => format!("{n} unknown, "),
        },
        with(Verdict::Ok)
    );
    if clients.is_empty() {
        let _ = writeln!(out, "(no TLS connections in scope)");
    } else {
        client_lines(&mut out, &clients[..shown], ctx.color);
        if shown < clients.len() {
            let more = (clients.len() - shown) as u64;
            let _ = writeln!(out, "... {}", plural(more, "more client", "more clients"));
        }
    }
    let (conns, t, nosh) = census.totals();
    let _ = writeln!(
        out,
        "total: {}; SSL {}, TLS1.0 {}, TLS1.1 {}, TLS1.2 {}, TLS1.3 {}, other {}, no ServerHello {nosh}",
        plural(conns, "connection", "connections"),
        t.sslv2 + t.sslv3,
        t.tls10,
        t.tls11,
        t.tls12,
        t.tls13,
        t.other
    );
    let quic = census.quic_total();
    if quic > 0 {
        let _ = writeln!(
            out,
            "QUIC: {quic} of {} ({:.1}%)",
            plural(conns, "connection", "connections"),
            100.0 * quic as f64 / conns.max(1) as f64
        );
    }
    let _ = writeln!(
        out,
        "read {}, {}, {} ({} in scope)",
        plural(stats.packets, "packet", "packets"),
        plural(stats.tcp_flows, "TCP connection", "TCP connections"),
        plural(stats.tls_connections, "TLS handshake", "TLS handshakes"),
        stats.in_scope_connections
    );
    if let Some(missed) = stats.missed_line() {
        let _ = writeln!(out, "not fully seen: {missed} (see --stats)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::census::ConnectionRecord;

    #[test]
    fn counts_of_one_are_singular() {
        let mut census = Census::new();
        census.add(&ConnectionRecord::example());
        let stats = RunStats {
            packets: 1,
            tcp_flows: 1,
            tls_connections: 1,
            in_scope_connections: 1,
            ..RunStats::default()
        };
        let ctx = TableContext {
            scope_label: "Microsoft 365",
            top: Some(0),
            order: ClientOrder::default(),
            color: false,
        };
        let text = render(&census, &stats, &ctx);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "TLS census toward Microsoft 365: 1 client: 0 broken, 1 at risk, 0 ok"
        );
        assert_eq!(lines[2], "... 1 more client");
        assert_eq!(
            lines[3],
            "total: 1 connection; SSL 0, TLS1.0 1, TLS1.1 0, TLS1.2 0, TLS1.3 0, other 0, no ServerHello 0"
        );
        assert_eq!(
            lines[4],
            "read 1 packet, 1 TCP connection, 1 TLS handshake (1 in scope)"
        );
    }
}
