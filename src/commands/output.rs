//! The end of a run, shared by `read` and `live`: the census written as CSV, the table on
//! stdout, the run summary on stderr.

use std::io::Write;

use anyhow::anyhow;

use crate::census::Census;
use crate::report::atomic::Output;
use crate::report::csv::write_clients;
use crate::report::table::{self, TableContext};
use crate::stats::RunStats;

/// Writes the per-client census to `out` and commits it (renamed into place for a file).
pub fn write_census(census: &Census, mut out: Output) -> Result<(), String> {
    write_clients(census.sorted(), &mut out)
        .map_err(|e| e.to_string())
        .and_then(|()| out.commit())
}

/// Prints the table on stdout; a closed pipe (`| head`) is not an error.
pub fn print_table(
    census: &Census,
    stats: &RunStats,
    scope_all: bool,
    top: Option<usize>,
) -> anyhow::Result<()> {
    let scope_label = if scope_all {
        "all TLS servers"
    } else {
        "Microsoft 365"
    };
    let text = table::render(census, stats, &TableContext { scope_label, top });
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(anyhow!("<stdout>: {e}"));
        }
    }
    Ok(())
}
