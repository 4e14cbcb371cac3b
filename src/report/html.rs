//! The census as one self-contained HTML page (`--html`): totals, a chart of the negotiated
//! versions per Microsoft 365 service area, the broken and at-risk clients with their SNIs and
//! JA4 fingerprints, a sortable client table, and where the data came from.
//!
//! Promises:
//! - one file, nothing fetched: the CSS and the small sorting script are inline, the chart is
//!   inline SVG drawn here, and a Content-Security-Policy (`default-src 'none'`, the script and
//!   the style allowed by their SHA-256) forbids any other load, even by injected markup;
//! - every text from the wire or from a file name is passed through [`visible`] and then
//!   HTML-escaped (`& < > " '`), so it can neither break out of its element nor its attribute;
//! - a pure function of what it is given: the same census, statistics, tally and provenance
//!   give the same bytes (the generation time is an input; `SOURCE_DATE_EPOCH` fixes it);
//! - rows carry stable hooks for tools and tests: `tr.client` in `table#clients` and
//!   `tr.legacy-client` in `table#legacy`, each with `data-client` (the IP) and a
//!   `verdict-<verdict>` class; `#sort=KEY` or `#sort=-KEY` in the URL sorts the client table
//!   on load (KEY is a column's `data-key`).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::capture::Timestamp;
use crate::census::{Census, ClientOrder, ClientSummary, ConnectionRecord, Verdict, VersionCounts};
use crate::m365::{DataSummary, ServiceArea};
use crate::pipeline::RecordSink;
use crate::report::escape::visible;
use crate::report::plural;
use crate::stats::RunStats;
use crate::tls::TlsVersion;

/// At most this many rows in each client table; the rest are counted in a note (the CSV has
/// them all). In the default order (`--sort verdict`) broken and at-risk clients come first,
/// so they are the last to be cut.
pub const MAX_ROWS: usize = 10_000;

/// Negotiated versions of one service area's connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AreaRow {
    pub negotiated: VersionCounts,
    /// Connections without a ServerHello (no version negotiated that the capture shows).
    pub no_server_hello: u64,
}

impl AreaRow {
    pub fn total(&self) -> u64 {
        self.negotiated.total() + self.no_server_hello
    }
}

/// Negotiated versions per Microsoft 365 service area, tallied from the connection records as
/// the pipeline decides them (a [`RecordSink`]). A connection to an endpoint listed under
/// several areas (Exchange and Common) counts in each, as in the census's service areas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AreaVersions {
    /// In [`ServiceArea::ALL`] order.
    areas: [AreaRow; 4],
    /// Connections matched by no endpoint set (an `--include` rule, or `--scope all`).
    none: AreaRow,
}

impl AreaVersions {
    pub fn add(&mut self, rec: &ConnectionRecord) {
        let tally = |row: &mut AreaRow| match rec.negotiated {
            Some(v) => row.negotiated.add(v),
            None => row.no_server_hello += 1,
        };
        if rec.service_areas.is_empty() {
            tally(&mut self.none);
        }
        for area in &rec.service_areas {
            if let Some(i) = ServiceArea::ALL.iter().position(|a| a == area) {
                if let Some(row) = self.areas.get_mut(i) {
                    tally(row);
                }
            }
        }
    }

    /// The service areas in Microsoft's order, then `None` (no service area).
    pub fn rows(&self) -> impl Iterator<Item = (Option<ServiceArea>, &AreaRow)> {
        ServiceArea::ALL
            .iter()
            .map(|a| Some(*a))
            .zip(self.areas.iter())
            .chain(std::iter::once((None, &self.none)))
    }
}

impl RecordSink for AreaVersions {
    fn record(&mut self, rec: &ConnectionRecord) {
        self.add(rec);
    }
}

/// Where the census came from.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// Inputs in reading order: name as given (`<stdin>` for `-`) and size in bytes on disk.
    pub inputs: Vec<(String, u64)>,
    /// Inputs that could not be read to their end, as one-line messages.
    pub errors: Vec<String>,
    pub endpoint_data: DataSummary,
    /// "Microsoft 365" or "all TLS servers".
    pub scope_label: String,
    /// tlscensus's version.
    pub version: String,
    pub generated: Timestamp,
}

/// Everything the page shows.
pub struct HtmlReport<'a> {
    pub census: &'a Census,
    pub stats: &'a RunStats,
    pub areas: &'a AreaVersions,
    pub provenance: &'a Provenance,
    /// The order of both client lists as written (`--sort`); the reader may re-sort the table.
    pub order: ClientOrder,
}

/// The generation time: `SOURCE_DATE_EPOCH` (seconds) when set, for reproducible pages;
/// otherwise now.
pub fn generation_time() -> Timestamp {
    if let Some(secs) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
    {
        return Timestamp::from_secs_nanos(secs, 0);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_nanos(
        i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
        i64::from(now.subsec_nanos()),
    )
}

/// HTML-escapes text for an element or a quoted attribute.
pub fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Untrusted bytes (wire text, file names) as HTML text: made visible, then escaped.
fn untrusted(bytes: &[u8]) -> String {
    esc(&visible(bytes)).into_owned()
}

/// A file name or message that the caller escaped already ([`crate::report::escape::name`]):
/// HTML-escaped, and its control characters escaped again should one be left.
fn named(text: &str) -> String {
    esc(&crate::report::escape::terminal(text)).into_owned()
}

/// An SNI as HTML text that a narrow column breaks after its dots (`<wbr>` changes no text).
fn host_name(sni: &[u8]) -> String {
    untrusted(sni).replace('.', ".<wbr>")
}

const STYLE: &str = r#"
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#fff;--panel:#f9fafb;
--broken:#b91c1c;--risk:#c2410c;--ok:#15803d}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
p.sub,.muted{color:var(--muted)}
p.sub{margin:0 0 16px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 12px}
.card{min-width:130px;padding:10px 14px;border:1px solid var(--line);border-radius:8px;background:var(--panel)}
.card .n{display:block;font-size:24px;font-weight:650}
.card .l{color:var(--muted);font-size:12.5px}
.card.broken .n{color:var(--broken)}.card.at-risk .n{color:var(--risk)}.card.ok .n{color:var(--ok)}
.note{margin:6px 0;color:var(--muted)}
.warn{margin:10px 0;padding:8px 12px;border-left:4px solid var(--risk);background:#fff7ed}
.chart svg{max-width:100%;height:auto;font-size:12px}
.chart text{fill:var(--fg)}.chart text.in{fill:#fff;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:6px 0 0;padding:0;list-style:none;color:var(--muted)}
.legend li{display:flex;align-items:center;gap:6px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px}
.v-ssl{fill:#7f1d1d;background:#7f1d1d}.v-tls10{fill:#dc2626;background:#dc2626}
.v-tls11{fill:#f97316;background:#f97316}.v-tls12{fill:#16a34a;background:#16a34a}
.v-tls13{fill:#2563eb;background:#2563eb}.v-other{fill:#a855f7;background:#a855f7}
.v-nosh{fill:#9ca3af;background:#9ca3af}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600;font-size:12.5px;white-space:nowrap;position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.zero{color:#d1d5db}
th button{all:unset;cursor:pointer}
th button::after{content:"\2195";color:#c0c4cc;margin-left:2px}
th[aria-sort=ascending] button::after{content:"\2191";color:var(--fg)}
th[aria-sort=descending] button::after{content:"\2193";color:var(--fg)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.badge.broken{background:var(--broken)}.badge.at-risk{background:var(--risk)}.badge.ok{background:var(--ok)}
tr.verdict-broken td:first-child{box-shadow:inset 3px 0 var(--broken)}
tr.verdict-at-risk td:first-child{box-shadow:inset 3px 0 var(--risk)}
ul.list{margin:0;padding:0;list-style:none}
td.snis{overflow-wrap:break-word;min-width:150px}
td.ja4 li{white-space:nowrap}
td.time{white-space:nowrap;font-size:12px}
dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.prov dt{color:var(--muted)}dl.prov dd{margin:0}
ol.inputs{margin:0;padding-left:20px}
footer{margin-top:28px;color:var(--muted);font-size:12px}
@media print{th{position:static}.wrap{overflow:visible}}
"#;

/// Sorts a `table.sortable` by the clicked column (again: the other way). A cell's `data-v`
/// is its sort key when present; `data-type="num"` columns compare as numbers. `#sort=KEY`
/// and `#sort=-KEY` in the URL sort on load.
const SCRIPT: &str = r#"
(function(){
function key(td){var v=td.getAttribute('data-v');return v===null?td.textContent:v;}
function sortBy(table,i,asc){
  var ths=table.tHead.rows[0].cells,body=table.tBodies[0];
  var num=ths[i].getAttribute('data-type')==='num';
  for(var j=0;j<ths.length;j++){ths[j].removeAttribute('aria-sort');}
  ths[i].setAttribute('aria-sort',asc?'ascending':'descending');
  var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){
    var x=key(a.cells[i]),y=key(b.cells[i]),c;
    if(num){c=parseFloat(x)-parseFloat(y);}else{c=x<y?-1:(x>y?1:0);}
    return asc?c:-c;
  });
  for(var k=0;k<rows.length;k++){body.appendChild(rows[k]);}
}
var tables=document.querySelectorAll('table.sortable');
Array.prototype.forEach.call(tables,function(table){
  var ths=table.tHead.rows[0].cells;
  Array.prototype.forEach.call(ths,function(th,i){
    th.addEventListener('click',function(){
      sortBy(table,i,th.getAttribute('aria-sort')!=='ascending');
    });
  });
});
var m=/^#sort=(-?)([a-z0-9_]+)$/.exec(location.hash),t=document.getElementById('clients');
if(m&&t){
  var ths=t.tHead.rows[0].cells;
  for(var i=0;i<ths.length;i++){
    if(ths[i].getAttribute('data-key')===m[2]){sortBy(t,i,m[1]!=='-');}
  }
}
})();
"#;

/// `'sha256-…'` of an inline script or style, for the Content-Security-Policy.
fn csp_hash(text: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(text.as_bytes())))
}

/// Standard base64 with padding (RFC 4648 section 4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 0x3f) as usize;
                out.push(char::from(ALPHABET[idx]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Writes the page.
pub fn write(report: &HtmlReport<'_>, mut out: impl Write) -> io::Result<()> {
    let mut page = String::with_capacity(64 * 1024);
    render(report, &mut page);
    out.write_all(page.as_bytes())?;
    out.flush()
}

/// The page as a string.
pub fn render(report: &HtmlReport<'_>, page: &mut String) {
    let prov = report.provenance;
    let title = format!("TLS census toward {}", esc(&prov.scope_label));
    let _ = write!(
        page,
        concat!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; ",
            "style-src {style}; script-src {script}; base-uri 'none'; form-action 'none'\">\n",
            "<meta name=\"generator\" content=\"tlscensus {version}\">\n",
            "<title>{title}</title>\n<style>{css}</style>\n</head>\n<body>\n",
            "<header>\n<h1>{title}</h1>\n",
            "<p class=\"sub\">Generated {generated} by tlscensus {version} from {inputs}.</p>\n",
            "</header>\n"
        ),
        style = csp_hash(STYLE),
        script = csp_hash(SCRIPT),
        version = esc(&prov.version),
        title = title,
        css = STYLE,
        generated = human_time(prov.generated),
        inputs = plural(prov.inputs.len() as u64, "input", "inputs"),
    );
    let clients = report.census.sorted_by(report.order);
    totals(page, report, &clients);
    chart(page, report.areas);
    legacy(page, &clients, report.stats);
    client_table(page, &clients);
    provenance(page, report, &clients);
    let _ = write!(
        page,
        "<footer>tlscensus {} · a passive census: what the capture shows, nothing more.</footer>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        esc(&prov.version)
    );
}

/// `2026-11-28 21:41:16 UTC`.
fn human_time(ts: Timestamp) -> String {
    let s = ts.rfc3339();
    match (s.get(..10), s.get(11..19)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => s,
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return plural(n, "byte", "bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in UNITS.iter().skip(1) {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// A version that may be a lower bound (`TLSv1.2+`), `-` when unknown.
fn version_bound(v: Option<TlsVersion>, at_least: bool) -> String {
    match crate::report::csv::bound_cell(v, at_least) {
        s if s.is_empty() => "-".into(),
        s => s,
    }
}

fn version_name(v: Option<TlsVersion>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// Sort key of a version by meaning (0 when unknown).
fn version_rank(v: Option<TlsVersion>) -> u32 {
    v.map(|v| v.rank()).unwrap_or(0)
}

/// A sort key for an address: IPv4 before IPv6, then numerically.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => format!("4{:08x}", u32::from(a)),
        IpAddr::V6(a) => format!("6{:032x}", u128::from(a)),
    }
}

fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Broken => 0,
        Verdict::AtRisk => 1,
        Verdict::Unknown => 2,
        Verdict::Ok => 3,
    }
}

fn totals(page: &mut String, report: &HtmlReport<'_>, clients: &[&ClientSummary]) {
    let with = |v: Verdict| clients.iter().filter(|c| c.verdict() == v).count();
    let (conns, t, nosh) = report.census.totals();
    let stats = report.stats;
    let _ = write!(
        page,
        concat!(
            "<section id=\"totals\">\n<h2>Totals</h2>\n<div class=\"cards\">\n",
            "<div class=\"card\" id=\"total-clients\"><span class=\"n\">{}</span><span class=\"l\">{}</span></div>\n",
            "<div class=\"card broken\" id=\"total-broken\"><span class=\"n\">{}</span><span class=\"l\">broken</span></div>\n",
            "<div class=\"card at-risk\" id=\"total-at-risk\"><span class=\"n\">{}</span><span class=\"l\">at risk</span></div>\n",
            "{}<div class=\"card ok\" id=\"total-ok\"><span class=\"n\">{}</span><span class=\"l\">ok</span></div>\n",
            "<div class=\"card\" id=\"total-connections\"><span class=\"n\">{}</span><span class=\"l\">{}</span></div>\n",
            "<div class=\"card\" id=\"total-legacy\"><span class=\"n\">{}</span><span class=\"l\">negotiated TLS 1.1 or lower</span></div>\n",
            "<div class=\"card\" id=\"total-no-server-hello\"><span class=\"n\">{}</span><span class=\"l\">without ServerHello</span></div>\n",
            "</div>\n"
        ),
        clients.len(),
        if clients.len() == 1 { "client" } else { "clients" },
        with(Verdict::Broken),
        with(Verdict::AtRisk),
        match with(Verdict::Unknown) {
            0 => String::new(),
            n => format!(
                "<div class=\"card unknown\" id=\"total-unknown\"><span class=\"n\">{n}</span>\
                 <span class=\"l\">unknown</span></div>\n"
            ),
        },
        with(Verdict::Ok),
        conns,
        if conns == 1 { "TLS connection" } else { "TLS connections" },
        t.legacy(),
        nosh,
    );
    let _ = writeln!(
        page,
        "<p class=\"note\">Negotiated: SSL {}, TLS 1.0 {}, TLS 1.1 {}, TLS 1.2 {}, TLS 1.3 {}, \
         other {}. Read {}, {}, {} ({} in scope).</p>",
        t.sslv2 + t.sslv3,
        t.tls10,
        t.tls11,
        t.tls12,
        t.tls13,
        t.other,
        plural(stats.packets, "packet", "packets"),
        plural(stats.tcp_flows, "TCP connection", "TCP connections"),
        plural(stats.tls_connections, "TLS handshake", "TLS handshakes"),
        stats.in_scope_connections
    );
    let quic = report.census.quic_total();
    if quic > 0 {
        let _ = writeln!(
            page,
            "<p class=\"note\" id=\"quic-share\">QUIC: {quic} of {} ({:.1}%).</p>",
            plural(conns, "connection", "connections"),
            100.0 * quic as f64 / conns.max(1) as f64
        );
    }
    if let Some(missed) = stats.missed_line() {
        let _ = writeln!(
            page,
            "<p class=\"note\">Not fully seen: {} (tlscensus read --stats gives every counter).</p>",
            esc(&missed)
        );
    }
    if report.census.dropped > 0 {
        let _ = writeln!(
            page,
            "<p class=\"warn\">{} not tallied: the census holds at most {} clients (--max-clients) in half the --memory-limit.</p>",
            match report.census.dropped {
                1 => "1 connection was".to_string(),
                n => format!("{n} connections were"),
            },
            report.census.max_clients()
        );
    }
    page.push_str("</section>\n");
}

/// One bar segment: CSS class, legend label, count.
fn segments(row: &AreaRow) -> [(&'static str, &'static str, u64); 7] {
    let n = &row.negotiated;
    [
        ("v-ssl", "SSL", n.sslv2 + n.sslv3),
        ("v-tls10", "TLS 1.0", n.tls10),
        ("v-tls11", "TLS 1.1", n.tls11),
        ("v-tls12", "TLS 1.2", n.tls12),
        ("v-tls13", "TLS 1.3", n.tls13),
        ("v-other", "other", n.other),
        ("v-nosh", "no ServerHello", row.no_server_hello),
    ]
}

/// Horizontal stacked bars, one per service area, on one scale (the largest area's total).
fn chart(page: &mut String, areas: &AreaVersions) {
    page.push_str(
        "<section id=\"chart\" class=\"chart\">\n<h2>Negotiated versions per Microsoft 365 service area</h2>\n",
    );
    let rows: Vec<(Option<ServiceArea>, &AreaRow)> = areas
        .rows()
        .filter(|(area, row)| area.is_some() || row.total() > 0)
        .collect();
    let max = rows.iter().map(|(_, r)| r.total()).max().unwrap_or(0);
    if max == 0 {
        page.push_str("<p class=\"note\">No TLS connections in scope.</p>\n</section>\n");
        return;
    }
    const LABEL: f64 = 130.0;
    const BAR: f64 = 600.0;
    const ROW: f64 = 34.0;
    const HEIGHT: f64 = 22.0;
    let width = LABEL + BAR + 90.0;
    let height = ROW * rows.len() as f64 + 6.0;
    let _ = writeln!(
        page,
        "<svg id=\"area-chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-labelledby=\"area-chart-title\"><title id=\"area-chart-title\">Connections \
         per service area by negotiated TLS version</title>"
    );
    for (i, (area, row)) in rows.iter().enumerate() {
        let name = area.map_or("no service area".to_string(), |a| a.to_string());
        let key = area.map_or("none".to_string(), |a| a.api_name().to_ascii_lowercase());
        let y = 3.0 + ROW * i as f64;
        let _ = write!(
            page,
            "<g class=\"area\" data-area=\"{key}\"><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL - 10.0,
            y + HEIGHT / 2.0 + 4.0,
            esc(&name)
        );
        let mut x = LABEL;
        for (class, label, n) in segments(row) {
            if n == 0 {
                continue;
            }
            let w = BAR * n as f64 / max as f64;
            let _ = write!(
                page,
                "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{HEIGHT}\" \
                 data-count=\"{n}\"><title>{}: {label}: {}</title></rect>",
                esc(&name),
                plural(n, "connection", "connections")
            );
            if w >= 8.0 * n.to_string().len() as f64 + 8.0 {
                let _ = write!(
                    page,
                    "<text class=\"in\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{n}</text>",
                    x + w / 2.0,
                    y + HEIGHT / 2.0 + 4.0
                );
            }
            x += w;
        }
        let _ = writeln!(
            page,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            x + 8.0,
            y + HEIGHT / 2.0 + 4.0,
            row.total()
        );
    }
    page.push_str("</svg>\n<ul class=\"legend\">");
    for (class, label, _) in segments(&AreaRow::default()) {
        let _ = write!(
            page,
            "<li><span class=\"sw {class}\"></span>{}</li>",
            esc(label)
        );
    }
    page.push_str(
        "</ul>\n<p class=\"note\">Connections to an endpoint Microsoft lists under several service \
         areas (often one of them Common) count in each.</p>\n</section>\n",
    );
}

/// Why a client got its verdict, in a few words.
fn reason(c: &ClientSummary) -> String {
    match c.verdict() {
        Verdict::Broken => format!(
            "{} failed; it offers at most {}",
            plural(c.failed, "handshake", "handshakes"),
            version_name(c.max_offered)
        ),
        Verdict::AtRisk if c.negotiated.legacy() > 0 => format!(
            "negotiated {} on {} of {}",
            version_name(c.lowest_negotiated),
            c.negotiated.legacy(),
            plural(c.connections, "connection", "connections")
        ),
        Verdict::AtRisk => format!(
            "offered at most TLS 1.1 on {} of {}",
            c.offered_legacy_only,
            plural(c.connections, "connection", "connections")
        ),
        Verdict::Unknown => "no version offered or negotiated in the capture".to_string(),
        Verdict::Ok => "TLS 1.2 or later only".to_string(),
    }
}

fn sni_list(c: &ClientSummary) -> String {
    let mut s = String::from("<ul class=\"list\">");
    for sni in &c.snis {
        let _ = write!(s, "<li>{}</li>", host_name(sni));
    }
    if c.snis_dropped > 0 {
        let _ = write!(
            s,
            "<li class=\"muted\">and {} more not kept</li>",
            c.snis_dropped
        );
    }
    s.push_str("</ul>");
    s
}

fn ja4_list(c: &ClientSummary) -> String {
    let mut s = String::from("<ul class=\"list\">");
    for (ja4, n) in &c.ja4 {
        let _ = write!(
            s,
            "<li><code>{}</code> <span class=\"muted\">×{n}</span></li>",
            untrusted(ja4.as_bytes())
        );
    }
    s.push_str("</ul>");
    s
}

fn row_attrs(c: &ClientSummary, class: &str) -> String {
    let ip = c.client.to_string();
    let verdict = c.verdict().as_str();
    format!("class=\"{class} verdict-{verdict}\" data-client=\"{ip}\" data-verdict=\"{verdict}\"")
}

fn badge(v: Verdict) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", v.as_str())
}

fn cut_note(page: &mut String, shown: usize, total: usize) {
    if shown < total {
        let _ = writeln!(
            page,
            "<p class=\"note\">{} more not shown here; the --csv file has every client.</p>",
            total - shown
        );
    }
}

fn legacy(page: &mut String, clients: &[&ClientSummary], stats: &RunStats) {
    page.push_str("<section id=\"legacy-clients\">\n<h2>Broken and at-risk clients</h2>\n");
    if clients.is_empty() {
        // Nothing to judge: say what the capture showed rather than "every client is fine".
        let seen = match (stats.tls_connections, stats.in_scope_connections) {
            (0, _) => format!(
                "No TLS handshake in the capture ({} read).",
                plural(stats.packets, "packet", "packets")
            ),
            (n, 0) => format!(
                "No TLS connection toward the scope: {} seen, all outside it.",
                plural(n, "TLS handshake", "TLS handshakes")
            ),
            (_, n) => format!(
                "No client in the census ({} in scope).",
                plural(n, "TLS handshake", "TLS handshakes")
            ),
        };
        let _ = writeln!(
            page,
            "<p class=\"note\" id=\"no-clients\">{seen}</p>\n</section>"
        );
        return;
    }
    let legacy: Vec<&&ClientSummary> = clients
        .iter()
        .filter(|c| matches!(c.verdict(), Verdict::Broken | Verdict::AtRisk))
        .collect();
    if legacy.is_empty() {
        page.push_str(
            "<p class=\"note\" id=\"no-legacy\">None: every client offered and negotiated TLS 1.2 \
             or later.</p>\n</section>\n",
        );
        return;
    }
    page.push_str(
        "<p class=\"note\">Broken: its handshakes failed and it never offered anything above \
         TLS 1.1; update or replace it now. At risk: it works today with TLS 1.0/1.1 and will \
         break when they are refused; enable TLS 1.2 on it.</p>\n",
    );
    page.push_str(
        "<div class=\"wrap\"><table id=\"legacy\">\n<thead><tr><th>Client</th><th>Verdict</th>\
         <th>Why</th><th class=\"num\">Connections</th><th>Max offered</th><th>Services</th>\
         <th>SNI</th><th>JA4</th></tr></thead>\n<tbody>\n",
    );
    for c in legacy.iter().take(MAX_ROWS) {
        let _ = writeln!(
            page,
            "<tr {}><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td>{}</td><td class=\"snis\">{}</td><td class=\"ja4\">{}</td></tr>",
            row_attrs(c, "legacy-client"),
            c.client,
            badge(c.verdict()),
            esc(&reason(c)),
            c.connections,
            version_bound(c.max_offered, c.max_offered_at_least),
            services(c),
            sni_list(c),
            ja4_list(c)
        );
    }
    page.push_str("</tbody>\n</table></div>\n");
    cut_note(page, legacy.len().min(MAX_ROWS), legacy.len());
    page.push_str("</section>\n");
}

fn services(c: &ClientSummary) -> String {
    let names: Vec<String> = c.service_areas.keys().map(|a| a.to_string()).collect();
    esc(&names.join(", ")).into_owned()
}

/// (data-key, heading, numeric).
const COLUMNS: [(&str, &str, bool); 14] = [
    ("client", "Client", false),
    ("verdict", "Verdict", true),
    ("conns", "Conns", true),
    ("ssl", "SSL", true),
    ("tls10", "TLS 1.0", true),
    ("tls11", "TLS 1.1", true),
    ("tls12", "TLS 1.2", true),
    ("tls13", "TLS 1.3", true),
    ("nosh", "No SH", true),
    ("failed", "Failed", true),
    ("max_offered", "Max offered", true),
    ("services", "Services", false),
    ("sni", "SNI", false),
    ("last_seen", "Last seen", false),
];

fn count_cell(n: u64) -> String {
    if n == 0 {
        "<td class=\"num zero\">0</td>".to_string()
    } else {
        format!("<td class=\"num\">{n}</td>")
    }
}

fn client_table(page: &mut String, clients: &[&ClientSummary]) {
    page.push_str(
        "<section id=\"all-clients\">\n<h2>All clients</h2>\n<p class=\"note\">Click a heading \
         to sort; again to reverse. No SH: connections whose ClientHello got no ServerHello in \
         the capture. Times are UTC.</p>\n<div class=\"wrap\"><table id=\"clients\" class=\"sortable\">\n<thead><tr>",
    );
    for (key, head, num) in COLUMNS {
        let _ = write!(
            page,
            "<th data-key=\"{key}\"{}><button type=\"button\">{head}</button></th>",
            if num {
                " class=\"num\" data-type=\"num\""
            } else {
                ""
            }
        );
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for c in clients.iter().take(MAX_ROWS) {
        let n = &c.negotiated;
        let verdict = c.verdict();
        let snis: Vec<String> = c.snis.iter().map(|s| host_name(s)).collect();
        let mut sni = snis.join(" ");
        if c.snis_dropped > 0 {
            let _ = write!(sni, " (+{})", c.snis_dropped);
        }
        let _ = writeln!(
            page,
            "<tr id=\"client-{ip}\" {attrs}><td class=\"mono\" data-v=\"{ipkey}\">{ip}</td>\
             <td data-v=\"{vr}\">{badge}</td><td class=\"num\">{conns}</td>{ssl}{t10}{t11}{t12}{t13}\
             {nosh}{failed}<td data-v=\"{mr}\">{max}</td>\
             <td>{services}</td><td class=\"snis\">{sni}</td><td class=\"mono time\">{last}</td></tr>",
            ip = c.client,
            attrs = row_attrs(c, "client"),
            ipkey = ip_key(c.client),
            vr = verdict_rank(verdict),
            badge = badge(verdict),
            conns = c.connections,
            ssl = count_cell(n.sslv2 + n.sslv3),
            t10 = count_cell(n.tls10),
            t11 = count_cell(n.tls11),
            t12 = count_cell(n.tls12),
            t13 = count_cell(n.tls13),
            nosh = count_cell(c.no_server_hello),
            failed = count_cell(c.failed),
            mr = version_rank(c.max_offered),
            max = version_bound(c.max_offered, c.max_offered_at_least),
            services = services(c),
            last = human_time(c.last_seen)
                .trim_end_matches(" UTC")
                .replacen(' ', "<br>", 1),
        );
    }
    page.push_str("</tbody>\n</table></div>\n");
    cut_note(page, clients.len().min(MAX_ROWS), clients.len());
    page.push_str("</section>\n");
}

fn provenance(page: &mut String, report: &HtmlReport<'_>, clients: &[&ClientSummary]) {
    let prov = report.provenance;
    let d = &prov.endpoint_data;
    page.push_str("<section id=\"provenance\">\n<h2>Where this comes from</h2>\n");
    for e in &prov.errors {
        let _ = writeln!(page, "<p class=\"warn\">{}</p>", named(e));
    }
    page.push_str("<dl class=\"prov\">\n<dt>Captures</dt><dd>");
    let open = if prov.inputs.len() <= 20 { " open" } else { "" };
    let total: u64 = prov.inputs.iter().map(|(_, s)| s).sum();
    let _ = write!(
        page,
        "<details{open}><summary>{}, {}</summary><ol class=\"inputs\">",
        plural(prov.inputs.len() as u64, "input", "inputs"),
        human_bytes(total)
    );
    for (name, size) in &prov.inputs {
        let _ = write!(
            page,
            "<li><span class=\"mono input\">{}</span> <span class=\"muted\">{}</span></li>",
            named(name),
            human_bytes(*size)
        );
    }
    page.push_str("</ol></details></dd>\n");
    let first = clients.iter().map(|c| c.first_seen).min();
    let last = clients.iter().map(|c| c.last_seen).max();
    if let (Some(first), Some(last)) = (first, last) {
        let _ = writeln!(
            page,
            "<dt>Connections seen</dt><dd>{} to {}</dd>",
            human_time(first),
            human_time(last)
        );
    }
    let _ = writeln!(
        page,
        "<dt>Scope</dt><dd>{}</dd>\n<dt>Endpoint data</dt><dd>{} instance: {} endpoint sets, {} \
         IPv4 and {} IPv6 prefixes, {} host-name patterns ({} wildcards)</dd>\n<dt>Data source</dt>\
         <dd>{}</dd>\n<dt>tlscensus</dt><dd>{}</dd>\n<dt>Generated</dt><dd>{}</dd>\n</dl>\n</section>",
        esc(&prov.scope_label),
        d.instance,
        d.sets,
        d.ipv4_prefixes,
        d.ipv6_prefixes,
        d.url_patterns,
        d.wildcard_patterns,
        untrusted(d.source.as_bytes()),
        esc(&prov.version),
        human_time(prov.generated)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(esc("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert!(matches!(esc("plain.example"), Cow::Borrowed(_)));
        assert_eq!(
            untrusted(b"<script>\x1b\"x'"),
            "&lt;script&gt;\\x1b&quot;x&#39;"
        );
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(base64(plain.as_bytes()), coded, "{plain:?}");
        }
        // sha256("") in the form a CSP wants.
        assert_eq!(
            csp_hash(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
    }

    #[test]
    fn sort_keys_order_by_meaning() {
        let k = |s: &str| ip_key(s.parse().unwrap());
        assert!(k("10.1.0.9") < k("10.1.0.10"));
        assert!(k("255.255.255.255") < k("::1"));
        assert!(k("fd00::2") < k("fd00::10"));
        assert_eq!(human_bytes(1023), "1023 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
        assert_eq!(
            human_time(Timestamp::from_secs_nanos(1_795_902_076, 5)),
            "2026-11-28 21:41:16 UTC"
        );
    }
}
