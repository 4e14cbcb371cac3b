//! The command line as typed (clap derive). Doc comments here are the `--help` text.
//! What the values mean, checked, is in [`crate::settings`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find the machines that still negotiate TLS 1.0/1.1 toward Microsoft 365.
///
/// tlscensus reads packet captures (pcap, pcapng) passively, follows each TCP connection to its
/// TLS ClientHello and ServerHello, and tallies per client IP which TLS versions were
/// negotiated and offered toward Microsoft 365's published address ranges.
#[derive(Debug, Parser)]
#[command(
    name = "tlscensus",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More log output on stderr (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse saved captures (pcap/pcapng files, or - for standard input).
    Read(ReadArgs),
}

/// Which servers the census is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// Only servers in Microsoft 365's published ranges (the default).
    M365,
    /// Every TLS server; the m365 column still tells which were Microsoft 365.
    All,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Capture files, read in the order given into one census; - reads standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    pub files: Vec<PathBuf>,

    /// Which servers to count.
    #[arg(long, value_enum, default_value_t = ScopeArg::M365)]
    pub scope: ScopeArg,

    /// Write the per-client census as CSV to FILE (- for stdout).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Write one CSV row per TLS connection to FILE (- for stdout).
    #[arg(long, value_name = "FILE")]
    pub connections: Option<PathBuf>,

    /// No progress bar and no table; errors and warnings still go to stderr.
    #[arg(short, long)]
    pub quiet: bool,

    /// Print the run summary (packets, skips by reason, connections, drops) on stderr.
    #[arg(long)]
    pub stats: bool,

    /// Show at most N clients in the table (CSV files always have all).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Forget a connection after this many seconds without packets (capture time).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub idle_timeout: u64,

    /// Track at most N connections at once; the least recently seen are evicted beyond it.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_connections: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn read_flags_parse() {
        let cli = Cli::try_parse_from([
            "tlscensus",
            "read",
            "a.pcap",
            "b.pcapng",
            "--scope",
            "all",
            "--csv",
            "c.csv",
            "--connections",
            "-",
            "-q",
            "--stats",
            "--top",
            "5",
            "--idle-timeout",
            "30",
            "--max-connections",
            "1000",
        ])
        .unwrap();
        let Command::Read(r) = cli.command;
        assert_eq!(
            r.files,
            [PathBuf::from("a.pcap"), PathBuf::from("b.pcapng")]
        );
        assert_eq!(r.scope, ScopeArg::All);
        assert_eq!(r.csv, Some(PathBuf::from("c.csv")));
        assert_eq!(r.connections, Some(PathBuf::from("-")));
        assert!(r.quiet && r.stats);
        assert_eq!(
            (r.top, r.idle_timeout, r.max_connections),
            (Some(5), 30, 1000)
        );
    }

    #[test]
    fn read_needs_a_file_and_a_valid_scope() {
        assert!(Cli::try_parse_from(["tlscensus", "read"]).is_err());
        assert!(Cli::try_parse_from(["tlscensus", "read", "x", "--scope", "aws"]).is_err());
    }
}
