//! `tlscensus read`: saved captures → census, table and CSV files.

use anyhow::anyhow;

use crate::capture::native::NativeReader;
use crate::capture::offline::ReadError;
use crate::cli::ReadArgs;
use crate::commands::{output, Exit};
use crate::pipeline::{Pipeline, RecordSink};
use crate::progress::Progress;
use crate::report::atomic::Output;
use crate::report::csv::ConnectionsWriter;
use crate::settings::ReadSettings;

/// Packets between two progress updates.
const PROGRESS_EVERY: u64 = 4096;

/// The `--connections` writer, when asked for.
struct Connections(Option<ConnectionsWriter<Output>>);

impl RecordSink for Connections {
    fn record(&mut self, rec: &crate::census::ConnectionRecord) {
        if let Some(w) = &mut self.0 {
            w.record(rec);
        }
    }
}

pub fn run(args: ReadArgs) -> anyhow::Result<Exit> {
    let settings = ReadSettings::from_args(args).map_err(|e| anyhow!(e))?;
    let scope = &settings.scope;
    // Outputs are opened before any packet is read: an unwritable path fails now.
    let csv_out = settings
        .csv
        .as_deref()
        .map(Output::create)
        .transpose()
        .map_err(|e| anyhow!(e))?;
    let conn_out = settings
        .connections
        .as_deref()
        .map(Output::create)
        .transpose()
        .map_err(|e| anyhow!(e))?;
    let sink = Connections(conn_out.map(ConnectionsWriter::new));

    let mut pipeline = Pipeline::new(scope, settings.config, sink);
    let total: u64 = settings.inputs.iter().map(|(_, s)| s).sum();
    let mut progress = Progress::new(total, settings.quiet);
    let mut errors: Vec<ReadError> = Vec::new();
    for (source, size) in &settings.inputs {
        let mut reader = match NativeReader::open(source) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("tlscensus: {e}");
                errors.push(e);
                continue;
            }
        };
        pipeline.stats_mut().files += 1;
        progress.file(reader.source());
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    pipeline.handle_frame(&frame);
                    if frame.number % PROGRESS_EVERY == 0 {
                        progress.at(reader.bytes_read());
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    eprintln!("tlscensus: warning: {e}; results cover the packets before it");
                    errors.push(e);
                    break;
                }
            }
        }
        progress.file_done(*size);
    }
    progress.finish();

    let nothing_read = pipeline.stats().packets == 0 && !errors.is_empty();
    let (census, stats, sink) = pipeline.finish();
    if nothing_read && settings.inputs.len() == errors.len() {
        // Nothing could be analysed: leave no output behind (temp files are dropped).
        return Ok(Exit::Error);
    }

    let mut failed = false;
    if let Some(w) = sink.0 {
        match w.finish().and_then(|out| out.commit()) {
            Ok(()) => {}
            Err(e) => {
                eprintln!("tlscensus: --connections: {e}");
                failed = true;
            }
        }
    }
    if let Some(out) = csv_out {
        if let Err(e) = output::write_census(&census, out) {
            eprintln!("tlscensus: --csv: {e}");
            failed = true;
        }
    }
    if settings.table {
        output::print_table(&census, &stats, settings.config.scope_all, settings.top)?;
    }
    if settings.stats {
        eprint!("run summary:\n{}", stats.summary());
    }
    Ok(if failed {
        Exit::Error
    } else if errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Damaged
    })
}
