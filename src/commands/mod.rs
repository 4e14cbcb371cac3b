//! Glue between the command line and the stages; one file per subcommand.
//! Exit codes are decided here and nowhere else.

pub mod completions;
pub mod endpoints;
pub mod interfaces;
pub mod live;
pub mod merge;
mod output;
pub mod read;

use std::fmt::Display;
use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::report::atomic::OutputError;
use crate::report::escape;

/// Documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything read and written.
    Ok = 0,
    /// Nothing could be analysed, or an output could not be written.
    Error = 1,
    /// The command line was wrong (clap's own code).
    Usage = 2,
    /// Some input was damaged or unreadable: the results of what was read were still written.
    Damaged = 3,
    /// `--fail-on`: a client with the verdict it names is in the census (outputs were
    /// written). Wins over `Damaged`: such a client exists whatever was not read.
    FailOn = 4,
    /// `live` was interrupted a second time and quit at once, writing nothing more.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Exit {
    let result = match cli.command {
        Command::Read(args) => read::run(args),
        Command::Live(args) => live::run(args),
        Command::Interfaces => interfaces::run(),
        Command::Endpoints(args) => endpoints::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            say(e);
            Exit::Error
        }
    }
}

/// Writes a line to stderr: `tlscensus: PATH: what went wrong` for an error. Every message of the
/// program goes through here or [`warning`], where control characters are escaped whatever the
/// message holds (names in it were escaped where they were put in; this is the safety net).
pub(crate) fn say(msg: impl Display) {
    eprintln!("tlscensus: {}", escape::terminal(&msg.to_string()));
}

/// Writes a warning line to stderr: `tlscensus: warning: ...`.
pub(crate) fn warning(msg: impl Display) {
    eprintln!("tlscensus: warning: {}", escape::terminal(&msg.to_string()));
}

/// How an output ended: an error is reported; whether the run failed. (A closed standard
/// output is not an error: [`crate::report::atomic::Stdout`] drops what is written after it.)
pub(crate) fn output_failed(result: Result<(), OutputError>) -> bool {
    match result {
        Ok(()) => false,
        Err(e) => {
            say(e);
            true
        }
    }
}
