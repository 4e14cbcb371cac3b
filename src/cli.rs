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
    /// Show the Microsoft 365 endpoint data in use, or look up an address or host name in it.
    ///
    /// Without a subcommand: the instance, the source, and the counts of endpoint sets,
    /// prefixes and host-name patterns of the data `read` would use (the embedded snapshot,
    /// or the file given with --endpoints).
    Endpoints(EndpointsArgs),
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

    /// Use this Microsoft 365 endpoint data (JSON from Microsoft's web service).
    ///
    /// A file saved from https://endpoints.office.com/endpoints/<instance>?clientrequestid=<guid>
    /// (Worldwide, USGovDoD, USGovGCCHigh or China), used instead of the embedded worldwide
    /// snapshot. It is checked before any packet is read.
    #[arg(long, value_name = "FILE")]
    pub endpoints: Option<PathBuf>,

    /// Also count servers matching RULE: a CIDR prefix, an address, or a host name pattern.
    ///
    /// A prefix or address matches the server IP; a host name or pattern (`*` matches any
    /// characters, dots included: *.contoso.com) matches the SNI. Repeatable.
    #[arg(long, value_name = "RULE")]
    pub include: Vec<String>,

    /// Leave out servers matching RULE (as --include), whatever else matches them.
    ///
    /// A connection whose server IP or SNI matches an exclude rule is out of scope even when
    /// Microsoft's data or an --include also matches it. Repeatable.
    #[arg(long, value_name = "RULE")]
    pub exclude: Vec<String>,

    /// Add the rules in FILE, one per line, as --include does; # starts a comment. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub ranges: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EndpointsArgs {
    #[command(subcommand)]
    pub action: Option<EndpointsAction>,

    /// Use this endpoint data file (JSON from Microsoft's web service), not the embedded one.
    #[arg(long, value_name = "FILE", global = true)]
    pub endpoints: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum EndpointsAction {
    /// Print each endpoint set that an address or host name matches, one line per set.
    ///
    /// An address is matched against the published prefixes, a host name against the
    /// published host names and wildcard patterns (as SNI is). Exit code 1 when some query
    /// matches no endpoint set.
    Lookup(LookupArgs),
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// IPv4/IPv6 addresses and host names to look up.
    #[arg(required = true, value_name = "ADDRESS|HOSTNAME")]
    pub queries: Vec<String>,
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
        let Command::Read(r) = cli.command else {
            panic!("not read")
        };
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
    fn read_scope_flags_parse_and_repeat() {
        let cli = Cli::try_parse_from([
            "tlscensus",
            "read",
            "a.pcap",
            "--endpoints",
            "china.json",
            "--include",
            "198.51.100.0/24",
            "--include",
            "*.contoso.com",
            "--exclude",
            "40.96.0.0/13",
            "--ranges",
            "r1.txt",
            "--ranges",
            "r2.txt",
        ])
        .unwrap();
        let Command::Read(r) = cli.command else {
            panic!("not read")
        };
        assert_eq!(r.endpoints, Some(PathBuf::from("china.json")));
        assert_eq!(r.include, ["198.51.100.0/24", "*.contoso.com"]);
        assert_eq!(r.exclude, ["40.96.0.0/13"]);
        assert_eq!(r.ranges, [PathBuf::from("r1.txt"), PathBuf::from("r2.txt")]);
        // Values are checked in settings, not by clap.
        let Command::Read(r) =
            Cli::try_parse_from(["tlscensus", "read", "a.pcap", "--include", "nonsense!"])
                .unwrap()
                .command
        else {
            panic!("not read")
        };
        assert_eq!(r.include, ["nonsense!"]);
        assert!(r.endpoints.is_none() && r.exclude.is_empty() && r.ranges.is_empty());
    }

    #[test]
    fn endpoints_flags_parse() {
        let endpoints = |args: &[&str]| -> EndpointsArgs {
            let mut all = vec!["tlscensus", "endpoints"];
            all.extend_from_slice(args);
            match Cli::try_parse_from(all).unwrap().command {
                Command::Endpoints(e) => e,
                other => panic!("{other:?}"),
            }
        };
        let e = endpoints(&[]);
        assert!(e.action.is_none() && e.endpoints.is_none());
        let e = endpoints(&["--endpoints", "dod.json"]);
        assert!(e.action.is_none());
        assert_eq!(e.endpoints, Some(PathBuf::from("dod.json")));
        // --endpoints before or after `lookup`.
        for args in [
            &["--endpoints", "dod.json", "lookup", "40.96.0.0", "a.com"][..],
            &["lookup", "40.96.0.0", "--endpoints", "dod.json", "a.com"][..],
        ] {
            let e = endpoints(args);
            assert_eq!(e.endpoints, Some(PathBuf::from("dod.json")), "{args:?}");
            let Some(EndpointsAction::Lookup(l)) = e.action else {
                panic!("no lookup")
            };
            assert_eq!(l.queries, ["40.96.0.0", "a.com"]);
        }
        assert!(Cli::try_parse_from(["tlscensus", "endpoints", "lookup"]).is_err());
        assert!(Cli::try_parse_from(["tlscensus", "endpoints", "x"]).is_err());
    }

    #[test]
    fn read_needs_a_file_and_a_valid_scope() {
        assert!(Cli::try_parse_from(["tlscensus", "read"]).is_err());
        assert!(Cli::try_parse_from(["tlscensus", "read", "x", "--scope", "aws"]).is_err());
    }
}
