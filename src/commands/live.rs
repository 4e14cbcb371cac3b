//! `tlscensus live`: an interface → the same [`Pipeline`] as `read` → the census so far,
//! rewritten every `--every`, and the final census when stopped.
//!
//! Order of a run, so that nothing is parsed with privileges and nothing is lost on a stop:
//! 1. settings checked (scope data loaded, `--user` looked up);
//! 2. the interface opened and the filter set (needs root or CAP_NET_RAW + CAP_NET_ADMIN);
//! 3. `--user`: root dropped for good;
//! 4. outputs opened as that user (`--write`, `--connections` and `--ndjson` opened to append,
//!    and a probe of `--csv`), the stop handler installed, then `listening on IFACE` on stderr;
//! 5. packets until Ctrl-C / SIGTERM (first one), `--duration`, `--count` or a capture error;
//!    reads time out every 250 ms so a stop or a timer is never waited on for longer; after a
//!    stop by signal or duration, reading goes on for [`DRAIN`] to take the packets the kernel
//!    still holds (it hands them over a block at a time);
//! 6. every connection still open decided, the final census written and printed.
//!
//! A second Ctrl-C / SIGTERM exits at once with code 130, from the signal thread: files
//! already committed stay as they were, a `--write` pcap keeps what libpcap had buffered.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, IsTerminal, Read, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::anyhow;

use crate::capture::live::{drop_privileges, KernelStats, LiveCapture, DRAIN};
use crate::capture::Timestamp;
use crate::census::{Census, ConnectionRecord, Verdict};
use crate::cli::LiveArgs;
use crate::commands::{output, output_failed, say, warning, Exit};
use crate::pipeline::{Pipeline, RecordSink};
use crate::report::atomic::{io_reason, Output, OutputError, Stdout};
use crate::report::csv::{connection_row, CONNECTION_COLUMNS};
use crate::report::escape;
use crate::report::json::{self, NdjsonWriter};
use crate::report::{plural, table};
use crate::settings::LiveSettings;
use crate::stats::RunStats;

/// Streams are flushed and the terminal view redrawn this often.
const HOUSEKEEPING: Duration = Duration::from_secs(1);
/// Clients shown in the terminal view.
const VIEW_TOP: usize = 10;

/// Stop signals (SIGINT, SIGTERM, SIGHUP) received so far.
static SIGNALS: AtomicU32 = AtomicU32::new(0);

/// The time now by the system clock, which stamps the captured packets.
fn wall_clock() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(i64::try_from(since.as_nanos()).unwrap_or(i64::MAX))
}

/// Why the capture loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stopped {
    Signal,
    Duration,
    Count,
    /// The capture failed (interface gone, ...): what was read is still reported.
    CaptureFailed(String),
}

impl Stopped {
    fn reason(&self) -> &str {
        match self {
            Stopped::Signal => "interrupted",
            Stopped::Duration => "--duration reached",
            Stopped::Count => "--count reached",
            Stopped::CaptureFailed(_) => "capture failed",
        }
    }
}

/// `--connections`: rows written as connections are decided, straight to the file (not
/// renamed at the end), so `tail -f` follows it; flushed every second. An existing file is
/// appended to (a restarted service keeps the previous run's rows): the header is written only
/// to a new or empty file, and a file whose first line is another header is refused.
struct LiveConnections {
    w: Option<csv::Writer<Box<dyn Write>>>,
    /// The first write error; rows after it are dropped.
    error: Option<String>,
}

impl LiveConnections {
    fn open(path: Option<&Path>) -> Result<LiveConnections, OutputError> {
        let mut header = true;
        let w: Option<Box<dyn Write>> = match path {
            None => None,
            Some(p) if p.as_os_str() == "-" => Some(Box::new(Stdout::new())),
            Some(p) => {
                let (f, empty) = open_append(p, Some(&CONNECTION_COLUMNS))?;
                header = empty;
                Some(Box::new(BufWriter::new(f)))
            }
        };
        let mut out = LiveConnections {
            w: w.map(|w| {
                csv::WriterBuilder::new()
                    .buffer_capacity(64 * 1024)
                    .from_writer(w)
            }),
            error: None,
        };
        if let (Some(w), true) = (&mut out.w, header) {
            w.write_record(CONNECTION_COLUMNS)
                .and_then(|()| w.flush().map_err(Into::into))
                .map_err(|e| OutputError::of(path, io_reason(&e.into())))?;
        }
        Ok(out)
    }

    /// Stops the stream after a write error. A closed pipe (`--connections - | head`) ends
    /// it quietly; anything else is reported at the end.
    fn failed(&mut self, e: &io::Error) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            self.error.get_or_insert_with(|| io_reason(e));
        }
        self.w = None;
    }

    fn flush(&mut self) {
        if let Some(w) = &mut self.w {
            if let Err(e) = w.flush() {
                self.failed(&e);
            }
        }
    }
}

/// Opens a streamed output to append to it (created with the umask's mode if new); whether it
/// was empty. With `header`, a non-empty file must start with that CSV header. A last line
/// cut short by a crash is ended first, so the next row starts a line of its own.
fn open_append(path: &Path, header: Option<&[&str]>) -> Result<(File, bool), OutputError> {
    let fail = |reason: String| OutputError {
        target: escape::path(path),
        reason,
    };
    if path.is_dir() {
        return Err(fail("is a directory".into()));
    }
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .or_else(|_| {
            // Write-only (a FIFO, /dev/stdout, a file the user may not read).
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
        })
        .map_err(|e| fail(format!("cannot write here: {}", io_reason(&e))))?;
    let meta = f.metadata().map_err(|e| fail(io_reason(&e)))?;
    if !meta.is_file() || meta.len() == 0 {
        return Ok((f, true));
    }
    if let Some(columns) = header {
        let mut first = Vec::new();
        let _ = io::BufReader::new((&f).take(64 * 1024)).read_until(b'\n', &mut first);
        let expected = format!("{}\n", columns.join(","));
        if first != expected.as_bytes() {
            return Err(fail(
                "exists and is not a --connections file of this version (its first line is \
                 not the header); move it away or name another file"
                    .into(),
            ));
        }
    }
    let mut last = [0u8; 1];
    let ends_a_line = f
        .seek(io::SeekFrom::End(-1))
        .and_then(|_| f.read_exact(&mut last))
        .map_or(true, |()| last[0] == b'\n');
    if !ends_a_line {
        f.write_all(b"\n").map_err(|e| fail(io_reason(&e)))?;
    }
    Ok((f, false))
}

/// `--ndjson`: one line per connection as it is decided, straight to the file like
/// `--connections` (appended to an existing file); flushed every second.
struct LiveNdjson {
    w: Option<NdjsonWriter<Box<dyn Write>>>,
    /// The first write error; lines after it are dropped.
    error: Option<String>,
}

impl LiveNdjson {
    fn open(path: Option<&Path>) -> Result<LiveNdjson, OutputError> {
        let w: Option<Box<dyn Write>> = match path {
            None => None,
            Some(p) if p.as_os_str() == "-" => Some(Box::new(Stdout::new())),
            Some(p) => {
                let (f, _) = open_append(p, None)?;
                Some(Box::new(BufWriter::with_capacity(64 * 1024, f)))
            }
        };
        Ok(LiveNdjson {
            w: w.map(NdjsonWriter::new),
            error: None,
        })
    }

    /// Stops the stream after a write error; a closed pipe ends it quietly.
    fn check(&mut self) {
        if let Some(e) = self.w.as_ref().and_then(|w| w.error()) {
            if e.kind() != io::ErrorKind::BrokenPipe {
                self.error.get_or_insert_with(|| io_reason(e));
            }
            self.w = None;
        }
    }

    fn flush(&mut self) {
        if let Some(w) = &mut self.w {
            w.flush();
        }
        self.check();
    }
}

impl RecordSink for LiveNdjson {
    fn record(&mut self, rec: &ConnectionRecord) {
        if let Some(w) = &mut self.w {
            w.record(rec);
            if w.error().is_some() {
                self.check();
            }
        }
    }
}

/// The streamed outputs of a live run.
struct LiveSinks {
    connections: LiveConnections,
    ndjson: LiveNdjson,
}

impl LiveSinks {
    fn flush(&mut self) {
        self.connections.flush();
        self.ndjson.flush();
    }
}

impl RecordSink for LiveSinks {
    fn record(&mut self, rec: &ConnectionRecord) {
        self.connections.record(rec);
        self.ndjson.record(rec);
    }
}

/// Rewrites the per-client outputs (`--csv`, `--json`) with the census so far. Standard output
/// (`-`) is written only at the end (`last`): a stream cannot be rewritten, and several CSV
/// headers or JSON documents in a row are no census.
fn write_snapshot(
    settings: &LiveSettings,
    census: &Census,
    stats: &RunStats,
    data: &crate::m365::DataSummary,
    last: bool,
) -> Vec<OutputError> {
    let mut errors = Vec::new();
    let now = |p: &Path| last || p.as_os_str() != "-";
    if let Some(path) = settings.csv.as_deref().filter(|p| now(p)) {
        if let Err(e) = Output::create(path)
            .and_then(|out| output::write_census(census, settings.report.order, out))
        {
            errors.push(e);
        }
    }
    if let Some(path) = settings.report.json.as_deref().filter(|p| now(p)) {
        let inputs = [format!(
            "live:{}",
            escape::name(settings.capture.interface.as_bytes())
        )];
        let prov = json::Provenance {
            scope: Some(output::scope_name(settings.config.scope_all)),
            endpoint_data: Some(data),
            inputs: &inputs,
            run: Some(stats),
            ja4_counts: true,
        };
        let clients = census.sorted_by(settings.report.order);
        if let Err(e) =
            Output::create(path).and_then(|out| output::write_json(&prov, &clients, out))
        {
            errors.push(e);
        }
    }
    errors
}

impl RecordSink for LiveConnections {
    fn record(&mut self, rec: &ConnectionRecord) {
        if let Some(w) = &mut self.w {
            if let Err(e) = w.write_record(connection_row(rec)) {
                let e = match e.into_kind() {
                    csv::ErrorKind::Io(e) => e,
                    other => io::Error::other(format!("{other:?}")),
                };
                self.failed(&e);
            }
        }
    }
}

pub fn run(args: LiveArgs) -> anyhow::Result<Exit> {
    let settings = LiveSettings::from_args(args).map_err(|e| anyhow!(e))?;
    let mut capture = LiveCapture::open(&settings.capture).map_err(|e| anyhow!(e))?;
    if let Some(user) = &settings.user {
        drop_privileges(user).map_err(|e| anyhow!(e))?;
    }
    // Outputs are opened as the user they will be written as, before any packet is read.
    if let Some(path) = &settings.csv {
        drop(Output::create(path)?);
    }
    if let Some(path) = &settings.report.json {
        drop(Output::create(path)?);
    }
    let sink = LiveSinks {
        connections: LiveConnections::open(settings.connections.as_deref())?,
        ndjson: LiveNdjson::open(settings.report.ndjson.as_deref())?,
    };
    let data = settings.scope.data().summary();
    if let Some(path) = &settings.write {
        capture.save_to(path).map_err(|e| anyhow!(e))?;
    }
    ctrlc::set_handler(|| {
        if SIGNALS.fetch_add(1, Ordering::SeqCst) > 0 {
            let _ = writeln!(
                io::stderr(),
                "tlscensus: interrupted again: exiting at once, final outputs not written"
            );
            std::process::exit(Exit::Interrupted as i32);
        }
    })
    .map_err(|e| anyhow!("cannot handle Ctrl-C: {e}"))?;

    let quiet = settings.quiet;
    if !quiet {
        say(format_args!(
            "listening on {}: link type {}, snap length {} bytes{}; Ctrl-C stops",
            escape::name(capture.interface().as_bytes()),
            capture.link(),
            capture.snaplen(),
            if settings.capture.promisc {
                ""
            } else {
                ", not promiscuous"
            },
        ));
    }

    let mut pipeline = Pipeline::new(&settings.scope, settings.config, sink);
    let mut status = Status::new(
        escape::name(capture.interface().as_bytes()),
        !quiet && io::stderr().is_terminal(),
        settings.report.color,
    );
    let started = Instant::now();
    let deadline = settings.duration.map(|d| started + d);
    let mut next_csv = started + settings.every;
    let mut next_housekeeping = started + HOUSEKEEPING;
    let mut next_view = next_housekeeping;
    // The last error of each rewritten output, said once until it recovers.
    let mut snapshot_errors: Vec<OutputError> = Vec::new();

    let mut stopped = loop {
        if SIGNALS.load(Ordering::SeqCst) > 0 {
            break Stopped::Signal;
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            break Stopped::Duration;
        }
        if now >= next_housekeeping {
            next_housekeeping = now + HOUSEKEEPING;
            pipeline.heartbeat(wall_clock());
            pipeline.sink_mut().flush();
            if let Err(e) = capture.flush_savefile() {
                log::warn!("--write: {e}");
            }
            // Polled every second, the kernel's 32-bit counters cannot wrap unseen.
            let kernel = capture.kernel_stats();
            if status.terminal && now >= next_view {
                status.view(pipeline.stats(), pipeline.census(), kernel, now);
                // The view sorts the census: a huge one is redrawn less often.
                let slower = u32::try_from(pipeline.census().len() / 50_000).unwrap_or(u32::MAX);
                next_view = now + HOUSEKEEPING * slower.saturating_add(1);
            }
        }
        if now >= next_csv {
            while next_csv <= now {
                next_csv += settings.every;
            }
            let errors =
                write_snapshot(&settings, pipeline.census(), pipeline.stats(), &data, false);
            for e in &errors {
                // Said once until it recovers; capturing goes on.
                if !snapshot_errors.contains(e) {
                    warning(format_args!("{e}; retrying every --every"));
                }
            }
            snapshot_errors = errors;
            if !quiet && !status.terminal {
                let kernel = capture.kernel_stats();
                say(status.line(pipeline.stats(), pipeline.census(), kernel, now));
            }
        }
        match capture.next_frame() {
            Ok(Some(frame)) => {
                pipeline.handle_frame(&frame);
                if settings.count.is_some_and(|c| frame.number >= c) {
                    break Stopped::Count;
                }
            }
            Ok(None) => {}
            Err(e) => break Stopped::CaptureFailed(e),
        }
    };

    status.clear_view();
    if !quiet && stopped == Stopped::Signal {
        say(
            "stopping: deciding open connections and writing the census (Ctrl-C again quits \
             at once)",
        );
    }
    if matches!(stopped, Stopped::Signal | Stopped::Duration) {
        let until = Instant::now() + DRAIN;
        while Instant::now() < until {
            match capture.next_frame() {
                Ok(Some(frame)) => {
                    pipeline.handle_frame(&frame);
                    if settings.count.is_some_and(|c| frame.number >= c) {
                        break;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    stopped = Stopped::CaptureFailed(e);
                    break;
                }
            }
        }
    }
    let end = Instant::now();
    let kernel = capture.kernel_stats();
    if let Err(e) = capture.flush_savefile() {
        let path = settings
            .write
            .as_deref()
            .map(escape::path)
            .unwrap_or_default();
        warning(format_args!("{path}: {e}"));
    }
    drop(capture);
    if let Stopped::CaptureFailed(e) = &stopped {
        warning(format_args!("{e}; results cover the packets before it"));
    }
    pipeline.heartbeat(wall_clock());
    let open_flows = pipeline.flow_count();
    let (census, stats, mut sink) = pipeline.finish();
    if let Some(w) = stats.clock_warning() {
        warning(w);
    }
    log::debug!("{open_flows} connections were open at the stop");

    let mut failed = false;
    sink.flush();
    let named =
        |p: &Option<std::path::PathBuf>, reason: String| OutputError::of(p.as_deref(), reason);
    if let Some(e) = sink.connections.error.take() {
        failed |= output_failed(Err(named(&settings.connections, e)));
    }
    if let Some(e) = sink.ndjson.error.take() {
        failed |= output_failed(Err(named(&settings.report.ndjson, e)));
    }
    for e in write_snapshot(&settings, &census, &stats, &data, true) {
        failed |= output_failed(Err(e));
    }
    if !quiet {
        say(format_args!(
            "{}: {}",
            stopped.reason(),
            status.line(&stats, &census, kernel, end)
        ));
    }
    if settings.table {
        output::print_table(
            &census,
            &stats,
            settings.config.scope_all,
            settings.top,
            &settings.report,
        )?;
    }
    if settings.stats {
        eprint!(
            "run summary:\n{}kernel:    {} packets received, {} dropped (buffer full), {} \
             dropped by the interface\n",
            stats.summary(),
            kernel.received,
            kernel.dropped,
            kernel.if_dropped
        );
    }
    Ok(if failed {
        Exit::Error
    } else if output::fail_on_tripped(settings.report.fail_on, census.sorted().into_iter()) {
        Exit::FailOn
    } else if matches!(stopped, Stopped::CaptureFailed(_)) {
        Exit::Damaged
    } else {
        Exit::Ok
    })
}

/// The periodic summary: one line per `--every` on stderr, or on a terminal a view of the
/// top clients redrawn every second.
struct Status {
    interface: String,
    terminal: bool,
    started: Instant,
    /// Counters at the previous line, for rates.
    last: (Instant, u64, u64),
    /// Lines of the view on screen, to redraw over.
    view_lines: usize,
    /// The view's VERDICT column is coloured.
    color: bool,
}

impl Status {
    fn new(interface: String, terminal: bool, color: bool) -> Status {
        let now = Instant::now();
        Status {
            interface,
            terminal,
            started: now,
            last: (now, 0, 0),
            view_lines: 0,
            color,
        }
    }

    /// `[00:05:00] eth1: 1234 packets (41.1/s), 12 handshakes (0.0/s), 3 clients (1 broken,
    /// 0 at-risk), kernel drops 0`, rates since the previous line; clients by verdict.
    fn line(&mut self, stats: &RunStats, census: &Census, k: KernelStats, now: Instant) -> String {
        let (at, packets, hellos) = self.last;
        let secs = now.duration_since(at).as_secs_f64().max(1e-3);
        let rate = |n: u64, before: u64| n.saturating_sub(before) as f64 / secs;
        let (mut broken, mut at_risk) = (0, 0);
        for c in census.sorted() {
            match c.verdict() {
                Verdict::Broken => broken += 1,
                Verdict::AtRisk => at_risk += 1,
                Verdict::Unknown | Verdict::Ok => {}
            }
        }
        let mut s = format!(
            "[{}] {}: {} ({:.1}/s), {} ({:.1}/s), {} ({} broken, {} at-risk), kernel drops {}",
            elapsed(now.duration_since(self.started)),
            self.interface,
            plural(stats.packets, "packet", "packets"),
            rate(stats.packets, packets),
            plural(stats.client_hellos, "handshake", "handshakes"),
            rate(stats.client_hellos, hellos),
            plural(census.len() as u64, "client", "clients"),
            broken,
            at_risk,
            k.dropped
        );
        if k.if_dropped > 0 {
            let _ = write!(s, ", interface drops {}", k.if_dropped);
        }
        self.last = (now, stats.packets, stats.client_hellos);
        s
    }

    /// Redraws the terminal view: the summary line and the top clients, as the lines of
    /// `read`'s table (same columns, the VERDICT column coloured as `--color` says).
    fn view(&mut self, stats: &RunStats, census: &Census, k: KernelStats, now: Instant) {
        let text = self.view_text(stats, census, k, now);
        let mut err = io::stderr().lock();
        // Autowrap off while drawing (DECAWM): a line wider than the terminal (many SNIs) is
        // cut at the edge instead of taking a second row, so the view is as many rows as it
        // has lines and the next redraw moves up over all of it.
        let _ = write!(err, "\x1b[?7l{}{text}\x1b[?7h", self.erase());
        let _ = err.flush();
        self.view_lines = text.lines().count();
    }

    /// The text of the terminal view.
    fn view_text(
        &mut self,
        stats: &RunStats,
        census: &Census,
        k: KernelStats,
        now: Instant,
    ) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "{}", self.line(stats, census, k, now));
        let clients = census.sorted();
        if !clients.is_empty() {
            let top = clients.get(..VIEW_TOP).unwrap_or(&clients);
            table::client_lines(&mut text, top, self.color);
        }
        if clients.len() > VIEW_TOP {
            let more = (clients.len() - VIEW_TOP) as u64;
            let _ = writeln!(text, "... {}", plural(more, "more client", "more clients"));
        }
        text
    }

    /// Escape codes that move up over the view and clear it.
    fn erase(&self) -> String {
        if self.view_lines == 0 {
            String::new()
        } else {
            format!("\r\x1b[{}A\x1b[J", self.view_lines)
        }
    }

    fn clear_view(&mut self) {
        if self.view_lines > 0 {
            let mut err = io::stderr().lock();
            let _ = write!(err, "{}", self.erase());
            let _ = err.flush();
            self.view_lines = 0;
        }
    }
}

/// `01:02:03`, with days in front past a day: `2d 01:02:03`.
fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    let hms = format!("{:02}:{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60, s % 60);
    match s / 86_400 {
        0 => hms,
        days => format!("{days}d {hms}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time() {
        assert_eq!(elapsed(Duration::from_secs(0)), "00:00:00");
        assert_eq!(elapsed(Duration::from_secs(3661)), "01:01:01");
        assert_eq!(elapsed(Duration::from_secs(2 * 86_400 + 59)), "2d 00:00:59");
    }

    #[test]
    fn summary_line_has_rates_and_drops() {
        let mut s = Status::new("lo".into(), false, false);
        let stats = RunStats {
            packets: 500,
            client_hellos: 10,
            ..RunStats::default()
        };
        let now = s.started + Duration::from_secs(5);
        let line = s.line(
            &stats,
            &Census::new(),
            KernelStats {
                received: 500,
                dropped: 2,
                if_dropped: 1,
            },
            now,
        );
        assert_eq!(
            line,
            "[00:00:05] lo: 500 packets (100.0/s), 10 handshakes (2.0/s), 0 clients (0 broken, \
             0 at-risk), kernel drops 2, interface drops 1"
        );
        // Rates are since the previous line.
        let stats = RunStats {
            packets: 600,
            client_hellos: 10,
            ..RunStats::default()
        };
        let line = s.line(
            &stats,
            &Census::new(),
            KernelStats::default(),
            now + Duration::from_secs(10),
        );
        assert!(
            line.starts_with("[00:00:15] lo: 600 packets (10.0/s), 10 handshakes (0.0/s)"),
            "{line}"
        );
        // Clients by verdict: one refused at TLS 1.0 (broken), one on TLS 1.0 (at-risk),
        // one on TLS 1.3 (ok).
        use crate::tls::TlsVersion;
        let rec = |client: &str, offered: TlsVersion, negotiated, outcome| ConnectionRecord {
            client: crate::flow::Endpoint {
                ip: client.parse().unwrap(),
                port: 50000,
            },
            offered_max: Some(offered),
            negotiated,
            outcome,
            ended_by: Some(crate::flow::Side::Server),
            offered_versions: vec![offered],
            ..ConnectionRecord::example()
        };
        let mut census = Census::new();
        let refused = crate::census::Outcome::Alert(70);
        let done = crate::census::Outcome::Established;
        census.add(&rec("10.0.0.1", TlsVersion::TLS10, None, refused));
        census.add(&rec(
            "10.0.0.2",
            TlsVersion::TLS10,
            Some(TlsVersion::TLS10),
            done,
        ));
        census.add(&rec(
            "10.0.0.3",
            TlsVersion::TLS13,
            Some(TlsVersion::TLS13),
            done,
        ));
        let line = s.line(&stats, &census, KernelStats::default(), now);
        assert!(
            line.contains(" 3 clients (1 broken, 1 at-risk), kernel drops 0"),
            "{line}"
        );
        // Counts of one are singular.
        let one = RunStats {
            packets: 1,
            client_hellos: 1,
            ..RunStats::default()
        };
        let mut census = Census::new();
        census.add(&rec(
            "10.0.0.3",
            TlsVersion::TLS13,
            Some(TlsVersion::TLS13),
            done,
        ));
        let line = s.line(&one, &census, KernelStats::default(), now);
        assert!(
            line.contains(": 1 packet (")
                && line.contains("), 1 handshake (")
                && line.contains("), 1 client (0 broken, 0 at-risk), kernel drops 0"),
            "{line}"
        );
    }

    #[test]
    fn terminal_view_has_the_columns_and_colours_of_the_table() {
        let mut s = Status::new("lo".into(), true, true);
        let mut census = Census::new();
        census.add(&ConnectionRecord::example());
        let now = s.started + Duration::from_secs(5);
        let stats = RunStats {
            packets: 12,
            client_hellos: 1,
            ..RunStats::default()
        };
        let text = s.view_text(&stats, &census, KernelStats::default(), now);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            lines[0],
            "[00:00:05] lo: 12 packets (2.4/s), 1 handshake (0.2/s), 1 client (0 broken, 1 \
             at-risk), kernel drops 0"
        );
        assert_eq!(
            lines[1],
            "CLIENT      VERDICT  CONNS  SSL  TLS1.0  TLS1.1  TLS1.2  TLS1.3  NO-SH  FAILED  \
             MAX-OFFERED  SERVICES  SNI"
        );
        assert_eq!(
            lines[2],
            "fd00:1::10  \x1b[33mat-risk\x1b[0m      1    -       1       -       -       -      \
             -       -  TLSv1.3      Exchange  outlook.office365.com"
        );
        // More than the view holds: counted in a line.
        for i in 0..VIEW_TOP {
            census.add(&ConnectionRecord {
                client: crate::flow::Endpoint {
                    ip: format!("10.0.0.{i}").parse().unwrap(),
                    port: 50000,
                },
                ..ConnectionRecord::example()
            });
        }
        let text = s.view_text(&stats, &census, KernelStats::default(), now);
        assert_eq!(text.lines().count(), 1 + 1 + VIEW_TOP + 1, "{text}");
        assert!(text.ends_with("\n... 1 more client\n"), "{text}");
    }

    #[test]
    fn connections_stream_has_the_header_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conns.csv");
        let mut c = LiveConnections::open(Some(&path)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim_end(), CONNECTION_COLUMNS.join(","));
        c.flush();
        assert!(c.error.is_none());
        let err = LiveConnections::open(Some(Path::new("/nonexistent-dir/c.csv")))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "/nonexistent-dir/c.csv: cannot write here: No such file or directory"
        );
    }

    #[test]
    fn connections_stream_appends_to_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conns.csv");
        let header = CONNECTION_COLUMNS.join(",");
        // A previous run's row, its last line cut short by a crash.
        std::fs::write(&path, format!("{header}\nrow-1\nrow-2-cut")).unwrap();
        let c = LiveConnections::open(Some(&path)).unwrap();
        drop(c);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{header}\nrow-1\nrow-2-cut\n")
        );
        // Not a --connections file: refused, left as it was.
        std::fs::write(&path, "client_ip,x\n").unwrap();
        let err = LiveConnections::open(Some(&path)).err().unwrap();
        assert!(err.to_string().ends_with(
            "conns.csv: exists and is not a --connections file of this version (its first \
             line is not the header); move it away or name another file"
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "client_ip,x\n");
        // --ndjson appends without a header.
        let nd = dir.path().join("c.ndjson");
        std::fs::write(&nd, "{}\n").unwrap();
        drop(LiveNdjson::open(Some(&nd)).unwrap());
        assert_eq!(std::fs::read_to_string(&nd).unwrap(), "{}\n");
    }
}
