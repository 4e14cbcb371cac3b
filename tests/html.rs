//! `--html`: the page of a fixture checked structurally (one row per client in report order,
//! totals, chart, provenance, nothing external, the CSP hashes right), hostile wire text and
//! file names escaped, and — when Debian's `chromium` is installed — the page rendered in
//! headless Chromium, its DOM holding the expected client rows after the sorting script ran.

mod common;

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tlscensus::capture::Timestamp;
use tlscensus::census::{Census, ClientOrder, ConnectionRecord, Outcome};
use tlscensus::flow::Endpoint;
use tlscensus::m365::{EndpointData, ServiceArea};
use tlscensus::report::html::{self, AreaVersions, HtmlReport, Provenance};
use tlscensus::stats::RunStats;
use tlscensus::tls::TlsVersion;

use common::{assert_exit, command, fixture, output, text};

/// 2026-11-28 21:41:16 UTC.
const EPOCH: &str = "1795902076";

/// Runs `tlscensus ARGS` at the time [`EPOCH`].
fn tlscensus(args: &[&Path]) -> Output {
    output(command(args).env("SOURCE_DATE_EPOCH", EPOCH))
}

/// The page of `inputs`, written by the binary.
fn page_of(inputs: &[&Path], out: &Path) -> String {
    let mut args = vec![Path::new("read"), Path::new("-q"), Path::new("--html"), out];
    args.extend_from_slice(inputs);
    let o = tlscensus(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    std::fs::read_to_string(out).unwrap()
}

/// `read --html TO ARGS fixtures/sample-m365.pcapng`.
fn sample_html(to: &str, args: &[&str]) -> Output {
    let sample = fixture("sample-m365.pcapng");
    let mut all = vec![Path::new("read"), Path::new("--html"), Path::new(to)];
    all.extend(args.iter().map(Path::new));
    all.push(&sample);
    tlscensus(&all)
}

/// Every value of `attr` in start tags that begin with `tag_start`, in page order.
fn attr_values(page: &str, tag_start: &str, attr: &str) -> Vec<String> {
    let needle = format!("{attr}=\"");
    page.match_indices(tag_start)
        .filter_map(|(i, _)| {
            let tag = &page[i..i + page[i..].find('>')?];
            let at = tag.find(&needle)? + needle.len();
            Some(tag[at..at + tag[at..].find('"')?].to_string())
        })
        .collect()
}

/// The text between `open` and the next `close`.
fn between<'a>(page: &'a str, open: &str, close: &str) -> &'a str {
    let start = page.find(open).unwrap_or_else(|| panic!("no {open}")) + open.len();
    &page[start..start + page[start..].find(close).unwrap()]
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let mut n = 0u32;
        for (i, b) in c.iter().enumerate() {
            n |= u32::from(*b) << (16 - 8 * i);
        }
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Nothing the page could load: no URL, no external reference, no element that fetches.
fn assert_self_contained(page: &str) {
    let lower = page.to_ascii_lowercase();
    for bad in [
        "http://", "https://", "//cdn", " src=", " href=", "url(", "@import", "<link", "<img",
        "<iframe", "<object", "<embed", "<base", "<form", "xlink:",
    ] {
        assert!(!lower.contains(bad), "the page contains {bad:?}");
    }
    assert_eq!(lower.matches("<script").count(), 1);
    assert_eq!(lower.matches("<style").count(), 1);
    // The CSP allows only the inline script and style, by their SHA-256.
    let csp = between(
        page,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"",
        "\"",
    );
    assert!(csp.starts_with("default-src 'none'; "), "{csp}");
    let hash = |s: &str| format!("'sha256-{}'", base64(&Sha256::digest(s.as_bytes())));
    let script = between(page, "<script>", "</script>");
    let style = between(page, "<style>", "</style>");
    assert!(
        csp.contains(&format!("script-src {}", hash(script))),
        "{csp}"
    );
    assert!(csp.contains(&format!("style-src {}", hash(style))), "{csp}");
}

/// (client, verdict) of the client table's rows, and of the broken/at-risk list's.
const SAMPLE_ROWS: [(&str, &str); 5] = [
    ("10.1.0.53", "broken"),
    ("10.1.0.50", "at-risk"),
    ("10.1.0.51", "at-risk"),
    ("10.1.0.52", "ok"),
    ("fd00:1::55", "ok"),
];

fn rows(page: &str, class: &str) -> Vec<(String, String)> {
    let tag = "<tr ";
    let starts: Vec<&str> = page
        .match_indices(tag)
        .map(|(i, _)| &page[i..=i + page[i..].find('>').unwrap()])
        .filter(|t| t.contains(&format!("class=\"{class} ")))
        .collect();
    starts
        .iter()
        .map(|t| {
            (
                attr_values(t, "<tr", "data-client")[0].clone(),
                attr_values(t, "<tr", "data-verdict")[0].clone(),
            )
        })
        .collect()
}

/// The clients of the client table's rows, in page order.
fn clients(page: &str) -> Vec<String> {
    rows(page, "client").into_iter().map(|(c, _)| c).collect()
}

/// The sample's clients by address, IPv4 numerically, then IPv6.
const BY_IP: [&str; 5] = [
    "10.1.0.50",
    "10.1.0.51",
    "10.1.0.52",
    "10.1.0.53",
    "fd00:1::55",
];

fn expected(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(c, v)| (c.to_string(), v.to_string()))
        .collect()
}

#[test]
fn sample_page_has_every_client_the_totals_the_chart_and_its_provenance() {
    let dir = tempfile::tempdir().unwrap();
    // A file name a browser would act on, were it not escaped.
    let name = "cap<b>&'\"x.pcapng";
    let input = dir.path().join(name);
    std::fs::copy(fixture("sample-m365.pcapng"), &input).unwrap();
    let out = dir.path().join("report.html");
    let page = page_of(&[&input], &out);

    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(page.ends_with("</html>\n"));
    assert_self_contained(&page);
    assert_eq!(rows(&page, "client"), expected(&SAMPLE_ROWS));
    assert_eq!(rows(&page, "legacy-client"), expected(&SAMPLE_ROWS[..3]));
    for (id, n) in [
        ("total-clients", 5),
        ("total-broken", 1),
        ("total-at-risk", 2),
        ("total-ok", 2),
        ("total-connections", 7),
        ("total-legacy", 3),
        ("total-no-server-hello", 1),
    ] {
        let card = between(&page, &format!("id=\"{id}\"><span class=\"n\">"), "<");
        assert_eq!(card, n.to_string(), "{id}");
    }
    // Chart: one bar per service area; Exchange's segments are TLS 1.0 ×2, 1.2, 1.3, no SH.
    assert_eq!(
        attr_values(&page, "<g class=\"area\"", "data-area"),
        ["exchange", "sharepoint", "skype", "common"]
    );
    let exchange = between(&page, "data-area=\"exchange\">", "</g>");
    assert_eq!(
        attr_values(exchange, "<rect", "class"),
        ["v-tls10", "v-tls12", "v-tls13", "v-nosh"]
    );
    assert_eq!(
        attr_values(exchange, "<rect", "data-count"),
        ["2", "1", "1", "1"]
    );
    // The broken client's SNI and JA4.
    let broken = between(&page, "data-client=\"10.1.0.53\"", "</tr>");
    assert!(
        broken.contains("<li>outlook.<wbr>office365.<wbr>com</li>"),
        "{broken}"
    );
    assert!(
        broken.contains("<code>t10d090600_c491f621fb4c_195413a0cc0f</code>"),
        "{broken}"
    );
    // Provenance: the input (escaped), the endpoint data, the version, the time.
    let shown = format!("{}", input.display())
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    assert!(page.contains(&format!("<span class=\"mono input\">{shown}</span>")));
    assert!(!page.contains("<b>"), "file name markup escaped");
    assert!(page.contains("Worldwide instance: 64 endpoint sets"));
    assert!(page.contains(concat!("tlscensus ", env!("CARGO_PKG_VERSION"))));
    assert!(page.contains("<dt>Generated</dt><dd>2026-11-28 21:41:16 UTC</dd>"));
    assert!(page.contains("2025-03-04 09:30:00 UTC to 2025-03-04 09:45:00 UTC"));

    // The same census gives the same bytes.
    let again = page_of(&[&input], &dir.path().join("again.html"));
    assert_eq!(page, again);
}

#[test]
fn html_goes_to_stdout_with_dash_and_no_table() {
    let o = sample_html("-", &[]);
    assert_eq!(o.status.code(), Some(0));
    let page = text(&o.stdout);
    assert!(
        page.starts_with("<!DOCTYPE html>"),
        "only the page on stdout"
    );
    assert_eq!(rows(&page, "client").len(), 5);
    // `--sort` orders the page as it orders the table and the CSV.
    let o = sample_html("-", &["--sort", "client"]);
    assert_eq!(clients(&text(&o.stdout)), BY_IP);
    let o = sample_html("-", &["--csv", "-"]);
    assert_exit(
        &o,
        1,
        "tlscensus: --csv and --html cannot both write to standard output\n",
    );
}

#[test]
fn an_unwritable_html_path_fails_before_reading() {
    let o = sample_html("/nonexistent-dir/r.html", &[]);
    assert_exit(
        &o,
        1,
        "tlscensus: /nonexistent-dir/r.html: cannot write here: No such file or directory\n",
    );
    assert!(o.stdout.is_empty());
}

const HOSTILE_SNI: &[u8] =
    b"\"><script>alert('x')</script><img src=https://evil.example/x.png>\x1b[2J&amp;";

fn hostile_record(client: &str, sni: &[u8]) -> ConnectionRecord {
    ConnectionRecord {
        ts: Timestamp::from_secs_nanos(1_741_080_600, 0),
        client: Endpoint {
            ip: client.parse::<IpAddr>().unwrap(),
            port: 50000,
        },
        server: Endpoint {
            ip: "40.97.10.20".parse().unwrap(),
            port: 443,
        },
        sni: Some(sni.to_vec()),
        offered_max: Some(TlsVersion::TLS10),
        offered_max_at_least: false,
        negotiated: Some(TlsVersion::TLS10),
        negotiated_at_least: false,
        cipher: None,
        m365: true,
        m365_match: "ip",
        service_areas: vec![ServiceArea::Exchange],
        endpoint_ids: vec![1],
        outcome: Outcome::Established,
        offered_versions: vec![TlsVersion::TLS10],
        resumed: false,
        starttls: None,
        ja4: Some("t10d090600_c491f621fb4c_195413a0cc0f".into()),
        ja3: None,
        ja3s: None,
        ended_by: None,
        connect_host: None,
        transport: tlscensus::census::Transport::Tcp,
    }
}

/// A page rendered from hand-made records whose SNI, input name and error text are hostile.
fn hostile_page() -> String {
    let mut census = Census::new();
    let mut areas = AreaVersions::default();
    for (client, sni) in [
        ("10.9.0.1", HOSTILE_SNI),
        ("10.9.0.2", b"</td></tr></table><h1>x</h1>".as_slice()),
        ("10.9.0.3", b"outlook.office365.com".as_slice()),
    ] {
        let rec = hostile_record(client, sni);
        census.add(&rec);
        areas.add(&rec);
    }
    let provenance = Provenance {
        inputs: vec![
            ("<script>alert(1)</script>.pcap".into(), 10),
            ("https://evil.example/'\".pcap".into(), 20),
        ],
        errors: vec!["x<y>.pcap: capture is cut short".into()],
        endpoint_data: EndpointData::embedded().summary(),
        scope_label: "Microsoft 365".into(),
        version: "0.0.0-test".into(),
        generated: Timestamp(0),
    };
    let stats = RunStats::default();
    let report = HtmlReport {
        census: &census,
        stats: &stats,
        areas: &areas,
        provenance: &provenance,
        order: ClientOrder::default(),
    };
    let mut out = Vec::new();
    html::write(&report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn hostile_wire_text_and_file_names_are_escaped() {
    let page = hostile_page();
    // Seen as text, after `visible` (the ESC byte as \x1b) and HTML escaping.
    let sni = "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img \
               src=https://evil.<wbr>example/x.<wbr>png&gt;\\x1b[2J&amp;amp;";
    assert!(page.contains(sni), "{page}");
    assert!(page.contains("&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;h1&gt;x&lt;/h1&gt;"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;.pcap"));
    assert!(page.contains("https://evil.example/&#39;&quot;.pcap"));
    assert!(page.contains("<p class=\"warn\">x&lt;y&gt;.pcap: capture is cut short</p>"));
    // Without the escaped wire text and file name, nothing external is left.
    let rest = page
        .replace(sni, "")
        .replace("https://evil.example/&#39;&quot;.pcap", "");
    assert_self_contained(&rest);
    assert!(!page.contains("<img"));
    assert!(!page.contains("<h1>x"));
    assert_eq!(rows(&page, "client").len(), 3);
    assert_eq!(rows(&page, "legacy-client").len(), 3);
}

/// Debian's headless Chromium, when installed; `None` (with a note) otherwise.
fn chromium() -> Option<&'static str> {
    let found = Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("note: chromium is not installed (apt-get install chromium): DOM check skipped");
    }
    found.then_some("chromium")
}

/// Chromium, and where a page for it goes: `name` in a scratch directory, which lives as long
/// as the `TempDir` does. `None` (with a note) when Chromium is not installed.
fn chromium_and_page(name: &str) -> Option<(&'static str, tempfile::TempDir, PathBuf)> {
    let browser = chromium()?;
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join(name);
    Some((browser, dir, page))
}

/// The DOM of `url` after its scripts ran, as headless Chromium dumps it.
fn dump_dom(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap().unwrap()
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[test]
fn chromium_renders_the_client_rows_and_sorts_them() {
    let Some((browser, _dir, out)) = chromium_and_page("report.html") else {
        return;
    };
    page_of(&[&fixture("sample-m365.pcapng")], &out);

    // As written: report order, no column sorted yet.
    let dom = dump_dom(browser, &file_url(&out));
    assert_eq!(rows(&dom, "client"), expected(&SAMPLE_ROWS), "{dom}");
    assert_eq!(rows(&dom, "legacy-client"), expected(&SAMPLE_ROWS[..3]));
    assert!(attr_values(&dom, "<th ", "aria-sort").is_empty());
    assert!(dom.contains("<svg id=\"area-chart\""));

    // `#sort=client`: the script sorted by address (IPv4 numerically, then IPv6).
    let dom = dump_dom(browser, &format!("{}#sort=client", file_url(&out)));
    assert_eq!(
        clients(&dom),
        BY_IP,
        "the sorting script ran (the CSP let it)"
    );
    assert_eq!(
        attr_values(&dom, "<th data-key=\"client\"", "aria-sort"),
        ["ascending"]
    );
    // `#sort=-conns`: most connections first; equal counts keep their order.
    let dom = dump_dom(browser, &format!("{}#sort=-conns", file_url(&out)));
    assert_eq!(
        clients(&dom),
        [
            "10.1.0.50",
            "10.1.0.52",
            "10.1.0.53",
            "10.1.0.51",
            "fd00:1::55"
        ]
    );
}

#[test]
fn chromium_shows_hostile_text_as_text() {
    let Some((browser, _dir, out)) = chromium_and_page("hostile.html") else {
        return;
    };
    std::fs::File::create(&out)
        .unwrap()
        .write_all(hostile_page().as_bytes())
        .unwrap();
    let dom = dump_dom(browser, &file_url(&out));
    assert_eq!(rows(&dom, "client").len(), 3, "{dom}");
    let lower = dom.to_ascii_lowercase();
    assert_eq!(
        lower.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(!lower.contains("<img"));
    assert!(!lower.contains("<h1>x"));
    assert!(
        dom.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "{dom}"
    );
}

/// Counts of one read as one ("1 client", "1 TCP connection"), and an empty census says what
/// the capture showed instead of "every client is fine".
#[test]
fn counts_of_one_and_an_empty_census_read_as_what_was_seen() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("one.html");
    let page = page_of(&[&fixture("tls10-exchange.pcap")], &out);
    assert!(
        page.contains("<span class=\"n\">1</span><span class=\"l\">client</span>"),
        "{page}"
    );
    assert!(
        page.contains("<span class=\"n\">1</span><span class=\"l\">TLS connection</span>"),
        "{page}"
    );
    assert!(
        page.contains("Read 18 packets, 1 TCP connection, 1 TLS handshake (1 in scope).</p>"),
        "{page}"
    );
    assert!(!page.contains("id=\"no-clients\""), "{page}");

    // One TLS handshake, outside Microsoft 365.
    let page = page_of(&[&fixture("tls12-outside.pcap")], &out);
    assert!(
        page.contains(
            "<p class=\"note\" id=\"no-clients\">No TLS connection toward the scope: \
             1 TLS handshake seen, all outside it.</p>"
        ),
        "{page}"
    );
    assert!(!page.contains("None: every client"), "{page}");

    // No packet at all: a pcap of its file header only.
    let empty = dir.path().join("empty.pcap");
    let mut header = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    header.extend_from_slice(&[0; 8]);
    header.extend_from_slice(&65535u32.to_le_bytes());
    header.extend_from_slice(&1u32.to_le_bytes());
    std::fs::write(&empty, header).unwrap();
    let page = page_of(&[&empty], &out);
    assert!(
        page.contains(
            "<p class=\"note\" id=\"no-clients\">No TLS handshake in the capture (0 packets read).</p>"
        ),
        "{page}"
    );
}
