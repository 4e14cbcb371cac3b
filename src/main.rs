use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match tlscensus::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => tlscensus::cli::exit_on_parse_error(e),
    };
    tlscensus::logging::init(cli.verbose);
    tlscensus::commands::run(cli).into()
}
