//! `tlscensus merge`: per-client census CSVs written by `read --csv` / `live --csv` on several
//! sensors → one census, as if one sensor had seen all the traffic.
//!
//! Promises:
//! - A file is read only if its header row is exactly [`CLIENT_COLUMNS`]; every cell is parsed
//!   back into its type, and a row that is not one `--csv` could have written (a count that is
//!   not a number, a version `TlsVersion::parse_str` does not know, counts that exceed the
//!   connections, a verdict that does not follow from the row, a client twice) is refused with
//!   one line naming the file, the line and the column. Nothing is written then.
//! - Merging is exact: counts add, first/last seen widen, `max_offered` takes the highest and
//!   `lowest_negotiated` the lowest version (by [`TlsVersion::rank`]), SNI and JA4 sets unite,
//!   service-area counts add, and the verdict is recomputed with
//!   [`verdict_of`], the census's own rule. So merging the censuses
//!   of captures that split the traffic by connection gives, byte for byte, the census of the
//!   whole, SNIs included (a census and a merge both keep a client's [`MAX_SNIS`](crate::census::MAX_SNIS) smallest
//!   names, [`insert_capped`]). The exceptions are a client with more than [`MAX_JA4`]
//!   fingerprints, which keeps the first ones met, file by file, and CSV text that cannot be told apart (an SNI containing `;`, or one starting
//!   with `'` followed by `=`, `+`, `-` or `@`) is read as the census writer would mean it.
//!
//! Why the verdict is exact although the CSV does not carry every counter the census rule
//! reads: the rule needs the failed count, the number of connections that negotiated a
//! version and the highest offered version, which merge exactly, and whether any connection
//! negotiated or offered only a version below TLS 1.2. A row's verdict says exactly that:
//! `ok` and `unknown` rows had none; `at-risk` rows had one by definition; `broken` rows
//! offered at most TLS 1.1, so every ClientHello they sent offered at most TLS 1.1.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::anyhow;

use crate::capture::Timestamp;
use crate::census::{
    insert_capped, raise_max_offered, verdict_of, ClientSummary, Verdict, VersionCounts, MAX_JA4,
};
use crate::cli::MergeArgs;
use crate::commands::{output, output_failed, say, Exit};
use crate::m365::ServiceArea;
use crate::report::atomic::{io_reason, Output};
use crate::report::csv::{write_clients, CLIENT_COLUMNS};
use crate::report::escape::visible;
use crate::report::json;
use crate::report::plural;
use crate::settings::{check_not_inputs, check_outputs, client_order, FailOn};
use crate::tls::TlsVersion;

pub fn run(args: MergeArgs) -> anyhow::Result<Exit> {
    let (csv_path, json_path) = match (args.csv, args.json) {
        // Nothing asked for: the merged CSV on stdout (`merge a.csv b.csv > all.csv`).
        (None, None) => (Some(PathBuf::from("-")), None),
        other => other,
    };
    check_outputs(&[("--csv", &csv_path), ("--json", &json_path)]).map_err(|e| anyhow!(e))?;
    check_inputs(&args.files).map_err(|e| anyhow!(e))?;
    check_not_inputs(
        &[("--csv", &csv_path), ("--json", &json_path)],
        args.files.iter().map(|p| p.as_path()),
    )
    .map_err(|e| anyhow!(e))?;
    // Outputs are opened before any input is read: an unwritable path fails now.
    let open = |p: &Option<PathBuf>| p.as_deref().map(Output::create).transpose();
    let csv_out = open(&csv_path)?;
    let json_out = open(&json_path)?;

    let limit = match args.memory_limit {
        None => crate::budget::DEFAULT_LIMIT,
        Some(n) if n < crate::budget::MIN_LIMIT as u64 => {
            return Err(anyhow!(
                "--memory-limit {n} bytes is too small: give at least {}M",
                crate::budget::MIN_LIMIT >> 20
            ))
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let mut merged = Merged::new(limit);
    for path in &args.files {
        merged.file_rows = 0;
        each_row_of(path, &mut |row| merged.add(row)).map_err(|e| anyhow!(e))?;
    }
    let order = client_order(args.sort);
    let clients = merged.into_clients();
    let mut sorted: Vec<&ClientSummary> = clients.iter().collect();
    sorted.sort_by(|a, b| order.compare(a, b));

    let mut failed = false;
    if let Some(mut out) = csv_out {
        failed |= output_failed(match write_clients(sorted.iter().copied(), &mut out) {
            Ok(()) => out.commit(),
            Err(e) => Err(out.error(&e.into())),
        });
    }
    if let Some(out) = json_out {
        let inputs: Vec<String> = args.files.iter().map(|p| display(p)).collect();
        let prov = json::Provenance {
            scope: None,
            endpoint_data: None,
            inputs: &inputs,
            run: None,
            ja4_counts: false,
        };
        failed |= output_failed(output::write_json(&prov, &sorted, out));
    }
    if !args.quiet {
        let with = |v: Verdict| sorted.iter().filter(|c| c.verdict() == v).count();
        say(format_args!(
            "merged {}: {}: {} broken, {} at risk, {}{} ok",
            plural(args.files.len() as u64, "file", "files"),
            plural(sorted.len() as u64, "client", "clients"),
            with(Verdict::Broken),
            with(Verdict::AtRisk),
            match with(Verdict::Unknown) {
                0 => String::new(),
                n => format!("{n} unknown, "),
            },
            with(Verdict::Ok)
        ));
    }
    let fail_on = args.fail_on.map(FailOn::from_arg);
    Ok(if failed {
        Exit::Error
    } else if output::fail_on_tripped(fail_on, sorted.iter().copied()) {
        Exit::FailOn
    } else {
        Exit::Ok
    })
}

/// `-` at most once, and no file twice (its clients would count double).
fn check_inputs(files: &[PathBuf]) -> Result<(), String> {
    for (i, a) in files.iter().enumerate() {
        if files[..i].contains(a) {
            return Err(if a.as_os_str() == "-" {
                "- (standard input) can be read only once".to_string()
            } else {
                format!(
                    "{} is given twice: its clients would count double",
                    display(a)
                )
            });
        }
    }
    Ok(())
}

/// A path as shown in messages and in `--json`'s inputs (control characters escaped).
fn display(p: &Path) -> String {
    crate::report::escape::path(p)
}

/// One row of a census CSV, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    pub client: IpAddr,
    pub connections: u64,
    pub sslv3: u64,
    pub tls10: u64,
    pub tls11: u64,
    pub tls12: u64,
    pub tls13: u64,
    pub no_server_hello: u64,
    pub max_offered: Option<TlsVersion>,
    /// `max_offered` was written `TLSv1.2+`: a lower bound.
    pub max_offered_at_least: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// SNIs as raw bytes (the CSV's escaping undone), in the order written.
    pub snis: Vec<Vec<u8>>,
    pub verdict: Verdict,
    pub service_areas: BTreeMap<ServiceArea, u64>,
    pub failed: u64,
    pub lowest_negotiated: Option<TlsVersion>,
    pub ja4: Vec<String>,
    /// Connections over QUIC.
    pub quic: u64,
}

/// Reads a whole census CSV (`-` = standard input).
pub fn read_file(path: &Path) -> Result<Vec<ClientRow>, String> {
    let mut rows = Vec::new();
    each_row_of(path, &mut |row| {
        rows.push(row);
        Ok(())
    })?;
    Ok(rows)
}

/// Reads a census CSV (`-` = standard input) row by row, as [`each_row`] does.
pub fn each_row_of(
    path: &Path,
    each: &mut dyn FnMut(ClientRow) -> Result<(), String>,
) -> Result<(), String> {
    let name = display(path);
    let input: Box<dyn Read> = if path.as_os_str() == "-" {
        if crate::capture::offline::stdin_is_closed() {
            return Err(format!("{name}: {}", crate::capture::offline::STDIN_CLOSED));
        }
        Box::new(io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| format!("{name}: {}", io_reason(&e)))?)
    };
    each_row(&name, input, each)
}

/// Reads a census CSV from `input`; `name` is the file name for messages.
pub fn read_census(name: &str, input: impl Read) -> Result<Vec<ClientRow>, String> {
    let mut rows = Vec::new();
    each_row(name, input, &mut |row| {
        rows.push(row);
        Ok(())
    })?;
    Ok(rows)
}

/// Reads a census CSV from `input`, handing each checked row to `each` as it is read (the
/// file is never held whole); an error `each` returns is reported at the row's line, like a
/// malformed row. `name` is the file name for messages.
pub fn each_row(
    name: &str,
    input: impl Read,
    each: &mut dyn FnMut(ClientRow) -> Result<(), String>,
) -> Result<(), String> {
    let not_census = |why: String| format!("{name}: not a tlscensus client census ({why})");
    let recent = std::rc::Rc::new(std::cell::RefCell::new(RecentBytes::default()));
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(Recording {
            inner: input,
            recent: std::rc::Rc::clone(&recent),
        });
    let mut records = r.byte_records();
    let header = match records.next() {
        None => return Err(not_census("it is empty".into())),
        Some(Err(e)) => return Err(format!("{name}: {}", csv_reason(&e))),
        Some(Ok(h)) => h,
    };
    for (i, expected) in CLIENT_COLUMNS.iter().enumerate() {
        match header.get(i) {
            Some(got) if got == expected.as_bytes() => {}
            Some(got) => {
                return Err(not_census(format!(
                    "column {} is \"{}\", expected \"{expected}\"",
                    i + 1,
                    visible(got)
                )))
            }
            None => {
                return Err(not_census(format!(
                    "it has {} columns, expected {}: column {} \"{expected}\" is missing",
                    header.len(),
                    CLIENT_COLUMNS.len(),
                    i + 1
                )))
            }
        }
    }
    if let Some(extra) = header.get(CLIENT_COLUMNS.len()) {
        return Err(not_census(format!(
            "column {} \"{}\" is not one this version writes: a file from a newer tlscensus?",
            CLIENT_COLUMNS.len() + 1,
            visible(extra)
        )));
    }
    let mut seen: BTreeMap<IpAddr, u64> = BTreeMap::new();
    for rec in records {
        let rec = rec.map_err(|e| format!("{name}: {}", csv_reason(&e)))?;
        let line = rec
            .position()
            .map_or(0, |p| p.line() + recent.borrow().line_ends_at(p.byte()));
        let at = |why: String| format!("{name}: line {line}: {why}");
        if rec.len() != CLIENT_COLUMNS.len() {
            return Err(at(format!(
                "{} fields, expected {}",
                rec.len(),
                CLIENT_COLUMNS.len()
            )));
        }
        let row = parse_row(&rec).map_err(at)?;
        if let Some(first) = seen.insert(row.client, line) {
            return Err(at(format!(
                "client {} again (first on line {first}): a census has one row per client",
                row.client
            )));
        }
        each(row).map_err(at)?;
    }
    Ok(())
}

/// The last bytes read from a CSV input, to tell the physical line a record starts on: the
/// `csv` crate places a record's start before the line ends that precede it (the `\n` of a
/// CRLF, blank lines) and counts the line before them.
#[derive(Default)]
struct RecentBytes {
    /// Offset in the input of `bytes[0]`.
    start: u64,
    bytes: std::collections::VecDeque<u8>,
}

impl RecentBytes {
    /// Bytes kept: more than the `csv` reader's buffer plus a long row.
    const KEEP: usize = 256 << 10;

    /// Line ends (`\n`) from `offset` up to the first byte that is not a line end.
    fn line_ends_at(&self, offset: u64) -> u64 {
        let Some(from) = offset
            .checked_sub(self.start)
            .and_then(|i| usize::try_from(i).ok())
        else {
            return 0;
        };
        let gap = self.bytes.iter().skip(from);
        gap.take_while(|&&b| b == b'\n' || b == b'\r')
            .filter(|&&b| b == b'\n')
            .count() as u64
    }
}

/// Reads through, keeping the last bytes in [`RecentBytes`].
struct Recording<R> {
    inner: R,
    recent: std::rc::Rc<std::cell::RefCell<RecentBytes>>,
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut recent = self.recent.borrow_mut();
        recent.bytes.extend(buf.get(..n).unwrap_or_default());
        let over = recent.bytes.len().saturating_sub(RecentBytes::KEEP);
        recent.bytes.drain(..over);
        recent.start += over as u64;
        Ok(n)
    }
}

/// A csv error's reason with the line it happened on.
fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(e) => io_reason(e),
        _ => match e.position() {
            Some(p) => format!("line {}: not CSV: {e}", p.line()),
            None => format!("not CSV: {e}"),
        },
    }
}

/// One data row, every cell checked; the error names the column and quotes the cell.
fn parse_row(rec: &csv::ByteRecord) -> Result<ClientRow, String> {
    let cell = |i: usize| -> Result<&str, String> {
        let raw = rec.get(i).unwrap_or_default();
        std::str::from_utf8(raw).map_err(|_| {
            format!(
                "column \"{}\": \"{}\" is not UTF-8",
                CLIENT_COLUMNS[i],
                visible(raw)
            )
        })
    };
    let bad = |i: usize, what: &str| -> String {
        let raw = rec.get(i).unwrap_or_default();
        format!(
            "column \"{}\": \"{}\" is not {what}",
            CLIENT_COLUMNS[i],
            visible(raw)
        )
    };
    let count = |i: usize| -> Result<u64, String> {
        let s = cell(i)?;
        // u64::from_str accepts a leading '+'.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(i, "a count"));
        }
        s.parse().map_err(|_| bad(i, "a count"))
    };
    let version = |i: usize| -> Result<Option<TlsVersion>, String> {
        match cell(i)? {
            "" => Ok(None),
            s => TlsVersion::parse_str(s.strip_suffix('+').unwrap_or(s))
                .map(Some)
                .ok_or_else(|| bad(i, "a TLS version (TLSv1.2, SSLv3, 0x7f17, ...)")),
        }
    };
    let time = |i: usize| -> Result<Timestamp, String> {
        parse_rfc3339(cell(i)?).ok_or_else(|| bad(i, "a time like 2026-01-31T12:00:00.000000Z"))
    };
    let list = |s: &str| -> Vec<String> {
        if s.is_empty() {
            Vec::new()
        } else {
            s.split(';').map(String::from).collect()
        }
    };

    let client: IpAddr = cell(0)?
        .parse()
        .map_err(|_| bad(0, "an IPv4 or IPv6 address"))?;
    let snis = list(unneutralise(cell(11)?))
        .iter()
        .map(|s| unescape_visible(s).ok_or_else(|| bad(11, "a list of escaped SNIs")))
        .collect::<Result<Vec<_>, _>>()?;
    let verdict = match cell(12)? {
        "broken" => Verdict::Broken,
        "at-risk" => Verdict::AtRisk,
        "unknown" => Verdict::Unknown,
        "ok" => Verdict::Ok,
        _ => return Err(bad(12, "a verdict (broken, at-risk, unknown, ok)")),
    };
    let mut service_areas = BTreeMap::new();
    for item in list(cell(13)?) {
        let parsed = item.split_once('=').and_then(|(name, n)| {
            let area = ServiceArea::ALL
                .into_iter()
                .find(|a| a.to_string() == name)?;
            let n: u64 = n
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| n.parse().ok())??;
            Some((area, n))
        });
        let (area, n) = parsed.ok_or_else(|| bad(13, "a list of AREA=COUNT"))?;
        if service_areas.insert(area, n).is_some() {
            return Err(bad(13, "a list of distinct AREA=COUNT"));
        }
    }
    let row = ClientRow {
        client,
        connections: count(1)?,
        sslv3: count(2)?,
        tls10: count(3)?,
        tls11: count(4)?,
        tls12: count(5)?,
        tls13: count(6)?,
        no_server_hello: count(7)?,
        max_offered: version(8)?,
        max_offered_at_least: cell(8)?.ends_with('+'),
        first_seen: time(9)?,
        last_seen: time(10)?,
        snis,
        verdict,
        service_areas,
        failed: count(14)?,
        lowest_negotiated: version(15)?,
        ja4: list(cell(16)?),
        quic: count(17)?,
    };
    check_row(&row)?;
    Ok(row)
}

/// What every row the census writes satisfies.
fn check_row(r: &ClientRow) -> Result<(), String> {
    let negotiated = [
        r.sslv3,
        r.tls10,
        r.tls11,
        r.tls12,
        r.tls13,
        r.no_server_hello,
    ]
    .iter()
    .try_fold(0u64, |a, n| a.checked_add(*n));
    if negotiated.is_none_or(|n| n > r.connections)
        || r.failed > r.connections
        || r.quic > r.connections
    {
        return Err(format!(
            "the version, no_server_hello, failed and quic counts exceed the {} connections",
            r.connections
        ));
    }
    if r.first_seen > r.last_seen {
        return Err("first_seen is after last_seen".into());
    }
    let legacy_seen = matches!(r.verdict, Verdict::Broken | Verdict::AtRisk);
    let legacy_negotiated = r.sslv3 + r.tls10 + r.tls11 > 0;
    // Every connection either negotiated a version or had no ServerHello.
    let negotiated = r.connections.saturating_sub(r.no_server_hello);
    if verdict_of(
        r.failed,
        negotiated,
        r.max_offered,
        r.max_offered_at_least,
        legacy_seen,
    ) != r.verdict
        || (legacy_negotiated && !legacy_seen)
    {
        return Err(format!(
            "verdict \"{}\" does not follow from the row's counts and versions",
            r.verdict.as_str()
        ));
    }
    Ok(())
}

/// Undoes the CSV writer's formula neutralisation: a leading `'` before `=`, `+`, `-`, `@`.
fn unneutralise(s: &str) -> &str {
    match s.as_bytes() {
        [b'\'', b'=' | b'+' | b'-' | b'@', ..] => &s[1..],
        _ => s,
    }
}

/// The bytes [`visible`] made this text from: `\\` is a backslash, `\xNN` a byte, any other
/// printable ASCII itself. `None` for anything `visible` cannot have written.
pub fn unescape_visible(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => match b.get(i + 1)? {
                b'\\' => {
                    out.push(b'\\');
                    i += 2;
                }
                b'x' => {
                    let hex = s.get(i + 2..i + 4)?;
                    if !hex.bytes().all(|h| matches!(h, b'0'..=b'9' | b'a'..=b'f')) {
                        return None;
                    }
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 4;
                }
                _ => return None,
            },
            0x20..=0x7e => {
                out.push(c);
                i += 1;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Reads back exactly what [`Timestamp::rfc3339`] writes (`2026-11-28T21:41:16.123456Z`).
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() != 27 {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let digits = s.get(from..to)?;
        if !digits.bytes().all(|d| d.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec, micros) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 26)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    let ts = Timestamp::from_secs_nanos(secs, micros * 1000);
    // Separators, ranges (hour 24, 31 April) and the exact spelling, checked in one go.
    (ts.rfc3339() == s).then_some(ts)
}

/// (year, month, day) → days since 1970-01-01, proleptic Gregorian (H. Hinnant's algorithm;
/// the inverse of the one `Timestamp::rfc3339` uses).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Heap bytes of one merged client (its B-tree slot, about two thirds full) and of one row's
/// entry in a file's duplicate check.
const MERGED_CLIENT: usize = std::mem::size_of::<(IpAddr, ClientSummary)>() * 3 / 2;
const SEEN_ROW: usize = std::mem::size_of::<(IpAddr, u64)>() * 3 / 2;

/// The merged census, one entry per client address, its memory bounded by `--memory-limit`
/// (merge holds every client; its inputs need not be sorted).
struct Merged {
    clients: BTreeMap<IpAddr, ClientSummary>,
    /// Heap bytes held by the clients (estimate: entries, SNIs, JA4s, service areas).
    memory: usize,
    limit: usize,
    /// Rows of the file being read (its duplicate check holds one entry each).
    file_rows: usize,
}

impl Merged {
    fn new(limit: usize) -> Self {
        Merged {
            clients: BTreeMap::new(),
            memory: 0,
            limit,
            file_rows: 0,
        }
    }

    /// Adds one row; an error when its counts overflow once added, or when memory runs out.
    fn add(&mut self, r: ClientRow) -> Result<(), String> {
        self.file_rows += 1;
        // At most `connections` (checked when the row was read).
        let known = [
            r.sslv3,
            r.tls10,
            r.tls11,
            r.tls12,
            r.tls13,
            r.no_server_hello,
        ]
        .iter()
        .fold(0u64, |a, n| a.saturating_add(*n));
        let row = ClientSummary {
            client: r.client,
            connections: r.connections,
            negotiated: VersionCounts {
                // The CSV has no column for SSLv2 and unknown versions: their connections
                // are the rest, kept together (no output shows them apart).
                sslv2: 0,
                sslv3: r.sslv3,
                tls10: r.tls10,
                tls11: r.tls11,
                tls12: r.tls12,
                tls13: r.tls13,
                other: r.connections.saturating_sub(known),
            },
            no_server_hello: r.no_server_hello,
            max_offered: r.max_offered,
            max_offered_at_least: r.max_offered_at_least,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            snis: Vec::new(),
            snis_dropped: 0,
            service_areas: r.service_areas,
            failed: r.failed,
            lowest_negotiated: r.lowest_negotiated,
            // Not in the CSV; the verdict needs only whether it is positive, which the row's
            // verdict tells (see the module doc).
            offered_legacy_only: u64::from(matches!(r.verdict, Verdict::Broken | Verdict::AtRisk)),
            // Connection counts are not in the CSV: 0 here, `null` in `--json`.
            ja4: BTreeMap::new(),
            quic: r.quic,
        };
        let used = self.memory + self.file_rows * SEEN_ROW;
        let clients = self.clients.len();
        let too_much = || {
            format!(
                "the merged census needs more memory than --memory-limit {}M allows ({clients} \
                 clients so far): give a larger --memory-limit",
                self.limit >> 20
            )
        };
        let ip = r.client;
        let c = match self.clients.entry(r.client) {
            Entry::Vacant(v) => {
                if used + MERGED_CLIENT > self.limit {
                    return Err(too_much());
                }
                self.memory += MERGED_CLIENT;
                if !row.service_areas.is_empty() {
                    self.memory += 128;
                }
                v.insert(row)
            }
            Entry::Occupied(o) => {
                let c = o.into_mut();
                add_into(c, row).ok_or_else(|| {
                    format!(
                        "client {ip}: its counts added to those of the files before overflow \
                         (more than {} connections)",
                        u64::MAX
                    )
                })?;
                c
            }
        };
        for sni in r.snis {
            let cap = c.snis.capacity();
            let last = match c.snis.last() {
                Some(l) if c.snis.len() >= crate::census::MAX_SNIS => crate::budget::block(l.len()),
                _ => 0,
            };
            if insert_capped(&mut c.snis, &sni, &mut c.snis_dropped) {
                self.memory = (self.memory + crate::budget::block(sni.len())).saturating_sub(last);
            }
            self.memory += c.snis.capacity().saturating_sub(cap) * 24;
        }
        for j in r.ja4 {
            if c.ja4.len() < MAX_JA4 || c.ja4.contains_key(&j) {
                if !c.ja4.contains_key(&j) {
                    self.memory += 48 + crate::budget::block(j.len());
                }
                c.ja4.insert(j, 0);
            }
        }
        if self.memory + self.file_rows * SEEN_ROW > self.limit {
            return Err(too_much());
        }
        Ok(())
    }

    fn into_clients(self) -> Vec<ClientSummary> {
        self.clients.into_values().collect()
    }
}

/// Adds one sensor's counters for a client to another's; `None` (and `c` partly changed) when
/// a count would overflow.
fn add_into(c: &mut ClientSummary, r: ClientSummary) -> Option<()> {
    let add = |a: &mut u64, b: u64| -> Option<()> {
        *a = a.checked_add(b)?;
        Some(())
    };
    add(&mut c.connections, r.connections)?;
    let (n, m) = (&mut c.negotiated, r.negotiated);
    add(&mut n.sslv2, m.sslv2)?;
    add(&mut n.sslv3, m.sslv3)?;
    add(&mut n.tls10, m.tls10)?;
    add(&mut n.tls11, m.tls11)?;
    add(&mut n.tls12, m.tls12)?;
    add(&mut n.tls13, m.tls13)?;
    add(&mut n.other, m.other)?;
    add(&mut c.no_server_hello, r.no_server_hello)?;
    if let Some(o) = r.max_offered {
        raise_max_offered(
            &mut c.max_offered,
            &mut c.max_offered_at_least,
            o,
            r.max_offered_at_least,
        );
    }
    if let Some(v) = r.lowest_negotiated {
        if c.lowest_negotiated.is_none_or(|l| v.rank() < l.rank()) {
            c.lowest_negotiated = Some(v);
        }
    }
    c.first_seen = c.first_seen.min(r.first_seen);
    c.last_seen = c.last_seen.max(r.last_seen);
    for (area, k) in r.service_areas {
        add(c.service_areas.entry(area).or_default(), k)?;
    }
    add(&mut c.failed, r.failed)?;
    add(&mut c.quic, r.quic)?;
    c.offered_legacy_only = c.offered_legacy_only.max(r.offered_legacy_only);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::census::MAX_SNIS;

    const HEADER: &str = "client_ip,connections,sslv3,tlsv1_0,tlsv1_1,tlsv1_2,tlsv1_3,\
                          no_server_hello,max_offered,first_seen,last_seen,snis,verdict,\
                          service_areas,failed,lowest_negotiated,ja4_seen,quic\n";

    fn read(body: &str) -> Result<Vec<ClientRow>, String> {
        read_census("b.csv", format!("{HEADER}{body}").as_bytes())
    }

    const OK_ROW: &str = "10.1.0.52,2,0,0,0,1,1,0,TLSv1.3,2025-11-20T10:00:00.000000Z,\
                          2025-11-20T10:00:05.500000Z,outlook.office365.com;teams.microsoft.com,\
                          ok,Exchange=1;Teams=1;Common=2,0,TLSv1.2,t13d1516h2_aaa;q13d1516h2_bbb,1\n";

    #[test]
    fn a_row_reads_back_typed() {
        let rows = read(OK_ROW).unwrap();
        let r = &rows[0];
        assert_eq!(r.client.to_string(), "10.1.0.52");
        assert_eq!((r.connections, r.tls12, r.tls13), (2, 1, 1));
        assert_eq!(r.max_offered, Some(TlsVersion::TLS13));
        assert_eq!(r.lowest_negotiated, Some(TlsVersion::TLS12));
        assert_eq!(r.first_seen.rfc3339(), "2025-11-20T10:00:00.000000Z");
        assert_eq!(r.snis.len(), 2);
        assert_eq!(r.service_areas[&ServiceArea::Skype], 1);
        assert_eq!(r.ja4, ["t13d1516h2_aaa", "q13d1516h2_bbb"]);
        assert_eq!(r.quic, 1);
    }

    #[test]
    fn other_formats_are_refused_naming_the_column() {
        let e = read_census("b.csv", &b"client_ip,connections,foo\n"[..]).unwrap_err();
        assert_eq!(
            e,
            "b.csv: not a tlscensus client census (column 3 is \"foo\", expected \"sslv3\")"
        );
        let conns = "ts,client_ip,client_port\n";
        let e = read_census("c.csv", conns.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            "c.csv: not a tlscensus client census (column 1 is \"ts\", expected \"client_ip\")"
        );
        let e = read_census("e.csv", &b""[..]).unwrap_err();
        assert_eq!(e, "e.csv: not a tlscensus client census (it is empty)");
        let e = read_census("s.csv", &b"client_ip,connections\n"[..]).unwrap_err();
        assert_eq!(
            e,
            "s.csv: not a tlscensus client census (it has 2 columns, expected 18: column 3 \
             \"sslv3\" is missing)"
        );
        let newer = format!("{},extra\n", HEADER.trim_end());
        let e = read_census("n.csv", newer.as_bytes()).unwrap_err();
        assert!(
            e.contains("column 19 \"extra\" is not one this version writes"),
            "{e}"
        );
    }

    #[test]
    fn malformed_cells_name_the_file_line_and_column() {
        let cases = [
            (
                OK_ROW.replacen(",2,0,", ",two,0,", 1),
                "column \"connections\": \"two\" is not a count",
            ),
            (
                OK_ROW.replacen(",2,0,", ",+2,0,", 1),
                "column \"connections\": \"+2\" is not a count",
            ),
            (
                OK_ROW.replace("TLSv1.3", "TLS1.3"),
                "column \"max_offered\": \"TLS1.3\" is not a TLS version",
            ),
            (
                OK_ROW.replace("10:00:00.000000Z", "10:00:00Z"),
                "column \"first_seen\": \"2025-11-20T10:00:00Z\" is not a time",
            ),
            (
                OK_ROW.replace("2025-11-20T10:00:00.000000Z", "2025-02-30T10:00:00.000000Z"),
                "column \"first_seen\"",
            ),
            (
                OK_ROW.replace(",ok,", ",fine,"),
                "column \"verdict\": \"fine\" is not a verdict",
            ),
            (
                OK_ROW.replace("Teams=1", "Skype=1"),
                "column \"service_areas\": ",
            ),
            (
                OK_ROW.replace("10.1.0.52", "10.1.0.300"),
                "column \"client_ip\"",
            ),
            (
                OK_ROW.replace("outlook.office365.com", "bad\\qescape"),
                "column \"snis\"",
            ),
            (
                OK_ROW.replace(",ok,", ",broken,"),
                "verdict \"broken\" does not follow",
            ),
            (
                OK_ROW.replacen(",2,0,0,0,1,1,0,", ",1,0,0,0,1,1,0,", 1),
                "exceed the 1 connections",
            ),
            (
                OK_ROW.replacen(",0,TLSv1.2,", ",0,TLSv1.2,extra,", 1),
                "19 fields, expected 18",
            ),
            (
                OK_ROW.replacen(",1\n", ",3\n", 1),
                "quic counts exceed the 2 connections",
            ),
            (
                OK_ROW.replacen(",1\n", ",x\n", 1),
                "column \"quic\": \"x\" is not a count",
            ),
        ];
        for (row, want) in cases {
            let body = format!("{OK_ROW}{row}");
            let e = read(&body).expect_err(want);
            assert!(e.starts_with("b.csv: line 3: "), "{e}");
            assert!(e.contains(want), "{e} contains {want}");
        }
        let e = read(&format!("{OK_ROW}{OK_ROW}")).unwrap_err();
        assert_eq!(
            e,
            "b.csv: line 3: client 10.1.0.52 again (first on line 2): a census has one row \
             per client"
        );
    }

    #[test]
    fn neutralised_and_escaped_snis_read_back_as_bytes() {
        let row = OK_ROW.replace(
            "outlook.office365.com;teams.microsoft.com",
            "\"'=HYPERLINK(\"\"x\"\");\\x1b[2J\\\\z\"",
        );
        let rows = read(&row).unwrap();
        assert_eq!(
            rows[0].snis,
            vec![b"=HYPERLINK(\"x\")".to_vec(), b"\x1b[2J\\z".to_vec()]
        );
        for s in [&b"plain"[..], b"\x00\xff\\\x7f'=", b""] {
            assert_eq!(unescape_visible(&visible(s)).as_deref(), Some(s));
        }
        assert_eq!(unescape_visible("\\x4"), None);
        assert_eq!(unescape_visible("\\xAB"), None);
        assert_eq!(unescape_visible("\u{e9}"), None);
    }

    #[test]
    fn times_round_trip() {
        for ns in [0i64, 1_795_902_076_000_005_000, 951_782_400_123_456_000] {
            let t = Timestamp(ns / 1000 * 1000);
            assert_eq!(parse_rfc3339(&t.rfc3339()), Some(t));
        }
        for bad in [
            "2026-11-28T24:00:00.000000Z",
            "2026-04-31T00:00:00.000000Z",
            "2026-11-28 21:41:16.000005Z",
            "2026-11-28T21:41:16.000005+00:00",
            "+026-11-28T21:41:16.000005Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    fn row(ip: &str, verdict: Verdict) -> ClientRow {
        ClientRow {
            client: ip.parse().unwrap(),
            connections: 1,
            sslv3: 0,
            tls10: 0,
            tls11: 0,
            tls12: 1,
            tls13: 0,
            no_server_hello: 0,
            max_offered: Some(TlsVersion::TLS12),
            max_offered_at_least: false,
            first_seen: Timestamp(10),
            last_seen: Timestamp(10),
            snis: vec![b"b.example".to_vec()],
            verdict,
            service_areas: [(ServiceArea::Exchange, 1)].into(),
            failed: 0,
            lowest_negotiated: Some(TlsVersion::TLS12),
            ja4: vec!["j1".into()],
            quic: 0,
        }
    }

    #[test]
    fn an_unknown_client_takes_the_verdict_another_sensor_shows() {
        let unknown = || {
            let mut u = row("10.0.0.1", Verdict::Unknown);
            u.tls12 = 0;
            u.no_server_hello = 1;
            u.failed = 1;
            u.max_offered = None;
            u.lowest_negotiated = None;
            u
        };
        assert!(check_row(&unknown()).is_ok());
        let mut m = Merged::new(usize::MAX);
        m.add(unknown()).unwrap();
        assert_eq!(m.into_clients()[0].verdict(), Verdict::Unknown);
        let mut m = Merged::new(usize::MAX);
        m.add(unknown()).unwrap();
        m.add(row("10.0.0.1", Verdict::Ok)).unwrap();
        assert_eq!(m.into_clients()[0].verdict(), Verdict::Ok);
        // An unknown row that names a version is refused.
        let mut bad = unknown();
        bad.max_offered = Some(TlsVersion::TLS12);
        assert!(check_row(&bad).is_err());
    }

    #[test]
    fn rows_merge_exactly() {
        let mut m = Merged::new(usize::MAX);
        m.add(row("10.0.0.1", Verdict::Ok)).unwrap();
        let mut b = row("10.0.0.1", Verdict::Broken);
        b.tls12 = 0;
        b.no_server_hello = 1;
        b.failed = 1;
        b.max_offered = Some(TlsVersion::TLS10);
        b.lowest_negotiated = None;
        b.first_seen = Timestamp(5);
        b.snis = vec![b"a.example".to_vec(), b"b.example".to_vec()];
        b.service_areas = [(ServiceArea::Exchange, 1), (ServiceArea::Common, 1)].into();
        b.ja4 = vec!["j2".into()];
        m.add(b).unwrap();
        let clients = m.into_clients();
        let c = &clients[0];
        assert_eq!(c.connections, 2);
        assert_eq!((c.negotiated.tls12, c.no_server_hello, c.failed), (1, 1, 1));
        // Offered TLS 1.2 on one sensor: not broken, but at risk (it failed offering 1.0).
        assert_eq!(c.max_offered, Some(TlsVersion::TLS12));
        assert_eq!(c.verdict(), Verdict::AtRisk);
        assert_eq!((c.first_seen, c.last_seen), (Timestamp(5), Timestamp(10)));
        assert_eq!(c.snis, vec![b"a.example".to_vec(), b"b.example".to_vec()]);
        assert_eq!(c.service_areas[&ServiceArea::Exchange], 2);
        assert_eq!(c.ja4.keys().collect::<Vec<_>>(), ["j1", "j2"]);
    }

    #[test]
    fn sets_are_capped_like_the_census() {
        let mut m = Merged::new(usize::MAX);
        for i in 0..3 {
            let mut r = row("10.0.0.1", Verdict::Ok);
            r.snis = (0..20)
                .map(|k| format!("h{i}-{k:02}").into_bytes())
                .collect();
            r.ja4 = (0..10).map(|k| format!("j{i}-{k}")).collect();
            m.add(r).unwrap();
        }
        let c = &m.into_clients()[0];
        assert_eq!(c.snis.len(), MAX_SNIS);
        assert_eq!(c.snis_dropped, 60 - MAX_SNIS as u64);
        // The smallest names, whatever order the files came in.
        assert_eq!(c.snis.first().unwrap(), b"h0-00");
        assert_eq!(c.snis.last().unwrap(), b"h1-11");
        assert_eq!(c.ja4.len(), MAX_JA4);
    }

    #[test]
    fn inputs_are_not_given_twice() {
        let p = |s: &str| PathBuf::from(s);
        assert!(check_inputs(&[p("a.csv"), p("b.csv"), p("-")]).is_ok());
        assert_eq!(
            check_inputs(&[p("a.csv"), p("a.csv")]).unwrap_err(),
            "a.csv is given twice: its clients would count double"
        );
        assert_eq!(
            check_inputs(&[p("-"), p("-")]).unwrap_err(),
            "- (standard input) can be read only once"
        );
    }

    #[test]
    fn counts_that_overflow_are_an_error_not_a_wrap() {
        let big = |n: u64| ClientRow {
            connections: n,
            tls12: 0,
            tls13: n,
            max_offered: Some(TlsVersion::TLS13),
            ..row("10.0.0.1", Verdict::Ok)
        };
        let mut m = Merged::new(usize::MAX);
        m.add(big(u64::MAX - 2)).unwrap();
        assert_eq!(
            m.add(big(u64::MAX - 2)),
            Err(
                "client 10.0.0.1: its counts added to those of the files before overflow \
                 (more than 18446744073709551615 connections)"
                    .into()
            )
        );
        let mut m = Merged::new(usize::MAX);
        m.add(big(u64::MAX / 2)).unwrap();
        m.add(big(u64::MAX / 2)).unwrap();
        assert_eq!(m.into_clients()[0].connections, u64::MAX - 1);
    }

    #[test]
    fn the_merged_table_is_bounded() {
        let mut m = Merged::new(16 << 20);
        let mut n = 0u32;
        let err = loop {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + n).to_string();
            if let Err(e) = m.add(row(&ip, Verdict::Ok)) {
                break e;
            }
            n += 1;
        };
        assert_eq!(
            err,
            format!(
                "the merged census needs more memory than --memory-limit 16M allows ({n} \
                 clients so far): give a larger --memory-limit"
            )
        );
        assert!(m.memory <= 16 << 20 && n > 10_000, "{n}");
    }
}
