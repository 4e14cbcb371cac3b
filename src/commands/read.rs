//! `tlscensus read`: saved captures → census, table and CSV files.

use anyhow::anyhow;

use crate::capture::inputs::Consumed;
use crate::capture::merge::{read_merged, Go, InputVisitor};
use crate::capture::offline::{ReadError, Source};
use crate::capture::readahead::{Event, ReadAhead};
use crate::capture::select::Selection;
use crate::capture::Frame;
use crate::census::{Census, Verdict};
use crate::cli::ReadArgs;
use crate::commands::{output, output_failed, say, warning, Exit};
use crate::pipeline::Pipeline;
use crate::progress::Progress;
use crate::report::atomic::{io_reason, Output, OutputError};
use crate::report::csv::ConnectionsWriter;
use crate::report::html::{self, AreaVersions, HtmlReport, Provenance};
use crate::report::json::{self, NdjsonWriter};
use crate::settings::ReadSettings;

/// Packets between two progress updates.
const PROGRESS_EVERY: u64 = 4096;

/// Where each reported connection goes: the `--connections` writer when asked for, the
/// per-service-area tally of `--html`, the `--ndjson` writer when asked for.
type Sinks = (
    (Option<ConnectionsWriter<Output>>, AreaVersions),
    Option<NdjsonWriter<Output>>,
);

type ReadPipeline<'s> = Pipeline<'s, Sinks>;

/// The analysing side of a run: what each input, packet and error does.
struct Reading<'s> {
    pipeline: ReadPipeline<'s>,
    progress: Progress,
    /// Inputs that could not be opened or ended in damage, in order.
    errors: Vec<ReadError>,
    /// `--since`/`--until`/`--filter`, when given: the frames analysed.
    selection: Option<Selection>,
}

impl Reading<'_> {
    fn opened(&mut self, source: &str) {
        self.pipeline.stats_mut().files += 1;
        self.progress.file(source);
    }

    fn open_failed(&mut self, e: ReadError) {
        match e {
            // Read once already, or skipped: a warning, the rest is read.
            ReadError::SameContent { .. } | ReadError::Skipped { .. } => warning(&e),
            _ => say(&e),
        }
        self.errors.push(e);
    }

    fn failed(&mut self, e: ReadError) {
        warning(format_args!("{e}; results cover the packets before it"));
        self.errors.push(e);
    }

    /// Reads every input on this thread.
    fn read_inline(&mut self, inputs: &[(Source, u64)]) {
        let sources: Vec<Source> = inputs.iter().map(|(s, _)| s.clone()).collect();
        let total = Consumed::default();
        let mut inline = Inline {
            reading: self,
            total: total.clone(),
            packets: 0,
        };
        read_merged(&sources, &total, &mut inline);
    }

    /// Analyses what the read-ahead thread hands over: the same packets, errors and input
    /// boundaries, in the same order.
    fn read_ahead(&mut self, mut ahead: ReadAhead) {
        while let Some(event) = ahead.next_event() {
            match event {
                Event::Opened { source } => self.opened(&source),
                Event::OpenFailed(e) => self.open_failed(e),
                Event::Packets(batch) => {
                    for packet in batch.packets() {
                        if let Some(sel) = &mut self.selection {
                            if !sel.keeps(&packet.frame) {
                                continue;
                            }
                        }
                        match &packet.segment {
                            Some(seg) => self.pipeline.handle_decoded(&packet.frame, seg),
                            None => self.pipeline.handle_frame(&packet.frame),
                        }
                    }
                    self.progress.at(batch.consumed);
                    ahead.recycle(batch);
                }
                Event::Failed(e) => self.failed(e),
                Event::Done { .. } => {}
            }
        }
    }
}

/// Reading on the analysing thread itself: each packet goes to the pipeline as it is read.
struct Inline<'r, 's> {
    reading: &'r mut Reading<'s>,
    /// Bytes of all inputs read so far, for the progress bar.
    total: Consumed,
    /// Packets so far, to update the progress bar every [`PROGRESS_EVERY`].
    packets: u64,
}

impl InputVisitor for Inline<'_, '_> {
    fn open_failed(&mut self, error: ReadError) -> Go {
        self.reading.open_failed(error);
        Go::Continue(())
    }

    fn opened(&mut self, source: &str) -> Go {
        self.reading.opened(source);
        Go::Continue(())
    }

    fn frame(&mut self, frame: &Frame<'_>, _: &Consumed) -> Go {
        let keep = match &mut self.reading.selection {
            Some(sel) => sel.keeps(frame),
            None => true,
        };
        if keep {
            self.reading.pipeline.handle_frame(frame);
        }
        self.packets += 1;
        if self.packets % PROGRESS_EVERY == 0 {
            self.reading.progress.at(self.total.get());
        }
        Go::Continue(())
    }

    fn ended(&mut self, _: &str, end: Result<(), ReadError>) -> Go {
        if let Err(e) = end {
            self.reading.failed(e);
        }
        self.reading.progress.at(self.total.get());
        Go::Continue(())
    }
}

pub fn run(args: ReadArgs) -> anyhow::Result<Exit> {
    if let Err(e) = crate::settings::check_selection(&args) {
        say(e);
        return Ok(Exit::Usage);
    }
    let settings = ReadSettings::from_args(args).map_err(|e| anyhow!(e))?;
    let scope = &settings.scope;
    // Outputs are opened before any packet is read: an unwritable path fails now.
    let csv_out = settings.csv.as_deref().map(Output::create).transpose()?;
    let conn_out = (settings.connections.as_deref())
        .map(Output::create)
        .transpose()?;
    let html_out = settings.html.as_deref().map(Output::create).transpose()?;
    let sink = (
        conn_out.map(ConnectionsWriter::new),
        AreaVersions::default(),
    );
    let json_out = (settings.report.json.as_deref())
        .map(Output::create)
        .transpose()?;
    let ndjson_out = (settings.report.ndjson.as_deref())
        .map(Output::create)
        .transpose()?;
    let sink = (sink, ndjson_out.map(NdjsonWriter::new));

    let pipeline = Pipeline::new(scope, settings.config, sink);
    let mut reading = Reading {
        pipeline,
        progress: Progress::new(settings.inputs.iter().map(|(_, s)| s).sum(), settings.quiet),
        errors: Vec::new(),
        selection: Selection::new(settings.since, settings.until, settings.filter.as_deref()),
    };
    for e in &settings.skipped {
        reading.open_failed(e.clone());
    }
    reading.pipeline.stats_mut().files_not_captures = settings.not_captures;
    let read_ahead = settings
        .read_ahead
        .then(|| ReadAhead::start(settings.inputs.iter().map(|(s, _)| s.clone()).collect()))
        // No thread to be had: read on this one.
        .and_then(Result::ok);
    match read_ahead {
        Some(ahead) => reading.read_ahead(ahead),
        None => reading.read_inline(&settings.inputs),
    }
    let Reading {
        pipeline,
        progress,
        errors,
        selection,
    } = reading;
    progress.finish();

    let nothing_read = pipeline.stats().packets == 0 && !errors.is_empty();
    let (mut census, stats, (sink, ndjson)) = pipeline.finish();
    if let Some(w) = stats.clock_warning() {
        warning(w);
    }
    if nothing_read && settings.inputs.len() + settings.skipped.len() == errors.len() {
        // Nothing could be analysed: leave no output behind (temp files are dropped).
        return Ok(Exit::Error);
    }

    // `--fail-on` and the table's header line see every client; the outputs only --only's.
    let fail_on = output::fail_on_tripped(settings.report.fail_on, census.sorted().into_iter());
    let header = (!settings.only.is_empty()).then(|| {
        let header = only_header(&census, &settings.only, settings.config.scope_all);
        census.retain(|c| settings.only.contains(&c.verdict()));
        header
    });

    // Errors of the streamed writers, which do not hand their output back.
    let named =
        |p: &Option<std::path::PathBuf>, reason: String| OutputError::of(p.as_deref(), reason);
    let mut failed = false;
    if let Some(w) = sink.0 {
        failed |= output_failed(
            w.finish()
                .map_err(|e| named(&settings.connections, crate::report::atomic::reason(e)))
                .and_then(Output::commit),
        );
    }
    if let Some(w) = ndjson {
        failed |= output_failed(
            w.finish()
                .map_err(|e| named(&settings.report.ndjson, io_reason(&e)))
                .and_then(Output::commit),
        );
    }
    if let Some(out) = csv_out {
        failed |= output_failed(output::write_census(&census, settings.report.order, out));
    }
    if let Some(out) = json_out {
        let inputs: Vec<String> = (settings.inputs.iter())
            .map(|(source, _)| source.to_string())
            .collect();
        let data = scope.data().summary();
        let prov = json::Provenance {
            scope: Some(output::scope_name(settings.config.scope_all)),
            endpoint_data: Some(&data),
            inputs: &inputs,
            run: Some(&stats),
            ja4_counts: true,
        };
        failed |= output_failed(output::write_json(
            &prov,
            &census.sorted_by(settings.report.order),
            out,
        ));
    }
    if let Some(out) = html_out {
        let provenance = Provenance {
            inputs: (settings.inputs.iter())
                .map(|(source, size)| (source.to_string(), *size))
                .collect(),
            errors: errors.iter().map(ToString::to_string).collect(),
            endpoint_data: scope.data().summary(),
            scope_label: output::scope_label(settings.config.scope_all).to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            generated: html::generation_time(),
        };
        let report = HtmlReport {
            census: &census,
            stats: &stats,
            areas: &sink.1,
            provenance: &provenance,
            order: settings.report.order,
        };
        let mut out = out;
        failed |= output_failed(match html::write(&report, &mut out) {
            Ok(()) => out.commit(),
            Err(e) => Err(out.error(&e)),
        });
    }
    if let (true, Some(header)) = (settings.table, &header) {
        print_only_table(&census, &stats, header, &settings)?;
    } else if settings.table {
        output::print_table(
            &census,
            &stats,
            settings.config.scope_all,
            settings.top,
            &settings.report,
        )?;
    }
    if settings.stats {
        eprint!("run summary:\n{}", stats.summary());
        if let Some(sel) = &selection {
            eprint!("{}", sel.summary());
        }
    }
    Ok(if failed {
        Exit::Error
    } else if fail_on {
        Exit::FailOn
    } else if errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Damaged
    })
}

/// The table's first line under `--only`: every client counted by verdict (as without it),
/// then how many are shown, e.g. `TLS census toward Microsoft 365: 5 clients: 1 broken, 2 at
/// risk, 2 ok; 3 shown (--only broken,at-risk)`.
fn only_header(census: &Census, only: &[Verdict], scope_all: bool) -> String {
    let clients = census.sorted();
    let with = |v: Verdict| clients.iter().filter(|c| c.verdict() == v).count();
    let shown = clients
        .iter()
        .filter(|c| only.contains(&c.verdict()))
        .count();
    let names: Vec<&str> = only.iter().map(|v| v.as_str()).collect();
    format!(
        "TLS census toward {}: {} clients: {} broken, {} at risk, {}{} ok; {shown} shown (--only {})",
        output::scope_label(scope_all),
        clients.len(),
        with(Verdict::Broken),
        with(Verdict::AtRisk),
        match with(Verdict::Unknown) {
            0 => String::new(),
            n => format!("{n} unknown, "),
        },
        with(Verdict::Ok),
        names.join(","),
    )
}

/// The table of the clients `--only` kept, under the header line of all of them.
fn print_only_table(
    census: &Census,
    stats: &crate::stats::RunStats,
    header: &str,
    settings: &ReadSettings,
) -> anyhow::Result<()> {
    use std::io::Write;
    let text = crate::report::table::render(
        census,
        stats,
        &crate::report::table::TableContext {
            scope_label: output::scope_label(settings.config.scope_all),
            top: settings.top,
            order: settings.report.order,
            color: settings.report.color,
        },
    );
    let mut rest = text.split_once('\n').map_or("", |(_, r)| r);
    if let Some(r) = rest.strip_prefix("(no TLS connections in scope)\n") {
        rest = r;
    }
    let mut stdout = crate::report::atomic::Stdout::new();
    stdout
        .write_all(format!("{header}\n{rest}").as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| anyhow!("<stdout>: {}", crate::report::atomic::io_reason(&e)))
}
