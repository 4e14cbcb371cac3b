//! The end of a run, shared by `read` and `live`: the census written as CSV, the table on
//! stdout, the run summary on stderr.

use std::io::Write;

use anyhow::anyhow;

use crate::census::{Census, ClientOrder, ClientSummary};
use crate::report::atomic::{Output, OutputError, Stdout};
use crate::report::csv::write_clients;
use crate::report::json::{self, Provenance};
use crate::report::table::{self, TableContext};
use crate::settings::{FailOn, ReportSettings};
use crate::stats::RunStats;

/// Writes the per-client census to `out` in `order` and commits it (renamed into place for a
/// file).
pub fn write_census(
    census: &Census,
    order: ClientOrder,
    mut out: Output,
) -> Result<(), OutputError> {
    match write_clients(census.sorted_by(order), &mut out) {
        Ok(()) => out.commit(),
        Err(e) => Err(out.error(&e.into())),
    }
}

/// Writes the census as one JSON document (`--json`) and commits it.
pub fn write_json(
    prov: &Provenance<'_>,
    clients: &[&ClientSummary],
    mut out: Output,
) -> Result<(), OutputError> {
    match json::write_census(prov, clients, &mut out) {
        Ok(()) => out.commit(),
        Err(e) => Err(out.error(&e)),
    }
}

/// `--scope` as `--json` spells it.
pub fn scope_name(scope_all: bool) -> &'static str {
    if scope_all {
        "all"
    } else {
        "m365"
    }
}

/// Whether `--fail-on` is given and some client has a verdict it names.
pub fn fail_on_tripped<'a>(
    fail_on: Option<FailOn>,
    mut clients: impl Iterator<Item = &'a ClientSummary>,
) -> bool {
    fail_on.is_some_and(|f| clients.any(|c| f.trips(c.verdict())))
}

/// What the census is about, for headings: "Microsoft 365" or "all TLS servers".
pub fn scope_label(scope_all: bool) -> &'static str {
    if scope_all {
        "all TLS servers"
    } else {
        "Microsoft 365"
    }
}

/// Prints the table on stdout; a closed pipe (`| head`) is not an error.
pub fn print_table(
    census: &Census,
    stats: &RunStats,
    scope_all: bool,
    top: Option<usize>,
    report: &ReportSettings,
) -> anyhow::Result<()> {
    let scope_label = scope_label(scope_all);
    let text = table::render(
        census,
        stats,
        &TableContext {
            scope_label,
            top,
            order: report.order,
            color: report.color,
        },
    );
    let mut stdout = Stdout::new();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| anyhow!("<stdout>: {}", crate::report::atomic::io_reason(&e)))
}
