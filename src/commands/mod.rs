//! Glue between the command line and the stages; one file per subcommand.
//! Exit codes are decided here and nowhere else.

pub mod completions;
pub mod endpoints;
pub mod interfaces;
pub mod live;
pub mod merge;
mod output;
pub mod read;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

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
            eprintln!("tlscensus: {e}");
            Exit::Error
        }
    }
}
