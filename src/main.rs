use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tlscensus::cli::Cli::parse();
    tlscensus::logging::init(cli.verbose);
    tlscensus::commands::run(cli).into()
}
