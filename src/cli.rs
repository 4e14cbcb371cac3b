//! The command line as typed (clap derive). Doc comments here are the `--help` text.
//! What the values mean, checked, is in [`crate::settings`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find the machines that still negotiate TLS 1.0/1.1 toward Microsoft 365.
///
/// tlscensus reads packet captures (pcap, pcapng) passively, follows each TCP connection to its
/// TLS ClientHello and ServerHello, and tallies per client IP which TLS versions were
/// negotiated and offered toward Microsoft 365's published address ranges.
/// What clap says about a command line it refuses, then exit. Help and version go to stdout as
/// clap writes them; an error about a command line holding control or non-ASCII bytes is
/// written without colour and with control characters escaped (line by line: the words it
/// quotes come from the command line, a file name a glob expanded for instance), as every
/// other message on stderr.
pub fn exit_on_parse_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let hostile = std::env::args_os().any(|a| {
        a.as_encoded_bytes()
            .iter()
            .any(|&b| b < 0x20 || b == 0x7f || b >= 0x80)
    });
    if !hostile
        || matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        // Clap's own output, in colour on a terminal.
        e.exit();
    }
    let text = e.render().to_string();
    let safe: Vec<String> = (text.split('\n'))
        .map(|line| crate::report::escape::terminal(line).into_owned())
        .collect();
    eprint!("{}", safe.join("\n"));
    std::process::exit(e.exit_code());
}

#[derive(Debug, Parser)]
#[command(
    name = "tlscensus",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_long_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More log output on stderr (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// The exit codes, for `tlscensus --help` (the README has the same table).
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    everything read and written; `endpoints lookup`: every query matched
  1    error: nothing could be analysed, an output could not be written, a value was refused
       (`endpoints lookup`: some query matched no endpoint set)
  2    wrong command line
  3    some input was damaged, given twice or skipped (a broken symbolic link), or a `live`
       capture failed while running: the results of what was read were still written
  4    --fail-on: a client with that verdict is in the census (outputs were written)
  130  `live` was stopped a second time and quit at once without writing its final outputs
When several apply, the first in this order wins: 1, 4, 3. A closed stdout (`| head`) is not
an error.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse saved captures (pcap/pcapng files, or - for standard input).
    Read(ReadArgs),
    /// Capture on a network interface and keep the census up to date until stopped.
    ///
    /// Runs the same analysis as `read` on packets as they arrive. Every --every interval the
    /// --csv file is rewritten with the census so far and a summary goes to stderr. Ctrl-C,
    /// SIGTERM, --duration or --count stop it: the final census is then printed and written,
    /// connections still open included. A second Ctrl-C exits at once (code 130).
    Live(LiveArgs),
    /// List the interfaces `live` can capture on, with their addresses.
    Interfaces,
    /// Show the Microsoft 365 endpoint data in use, or look up an address or host name in it.
    ///
    /// Without a subcommand: the instance, the source, and the counts of endpoint sets,
    /// prefixes and host-name patterns of the data `read` would use (the embedded snapshot,
    /// or the file given with --endpoints).
    Endpoints(EndpointsArgs),
    /// Combine per-client census CSVs (from `read`/`live --csv` on several sensors) into one.
    ///
    /// Counts add, first/last seen widen, the highest version offered takes the maximum and the
    /// lowest negotiated the minimum, SNI and JA4 sets unite, and each verdict is recomputed
    /// from the merged client. A file whose header is not exactly that of `--csv` is refused.
    /// Without --csv or --json the merged CSV goes to standard output.
    Merge(MergeArgs),
    /// Print a shell completion script for tlscensus on standard output.
    ///
    /// bash: tlscensus completions bash > /etc/bash_completion.d/tlscensus;
    /// zsh: tlscensus completions zsh > _tlscensus in a directory of $fpath;
    /// fish: tlscensus completions fish > ~/.config/fish/completions/tlscensus.fish.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on standard output, or write all of them to a directory.
    ///
    /// `tlscensus man | man -l -` shows it; `tlscensus man read` is the page of `read`;
    /// `tlscensus man --dir DIR` writes tlscensus.1 and one tlscensus-COMMAND.1 per command.
    Man(ManArgs),
}

/// Which clients make `--fail-on` exit with code 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    /// A client that is at risk or broken.
    Legacy,
    /// A client that is at risk (broken ones do not count: use legacy for both).
    AtRisk,
    /// A client that is broken.
    Broken,
}

/// The order of clients in the table, --csv and --json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    /// Broken, then at risk, then ok; within each, most connections first (the default).
    Verdict,
    /// Most connections first.
    Connections,
    /// Most connections that negotiated below TLS 1.2 first.
    Legacy,
    /// By client address, IPv4 before IPv6.
    Client,
    /// Earliest first connection first.
    FirstSeen,
    /// Most recent last connection first.
    LastSeen,
}

/// When the table uses colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// When standard output is a terminal and NO_COLOR is not set (the default).
    Auto,
    /// Always, even into a pipe or with NO_COLOR set.
    Always,
    /// Never.
    Never,
}

/// Machine-readable outputs and scripting (`read` and `live`).
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Write the census as one JSON document to FILE (- for stdout).
    ///
    /// The per-client census (the --csv columns, typed) with the run summary and the endpoint
    /// data used. `live` rewrites it every --every and at the end, like --csv (stdout: once,
    /// at the end).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write one JSON object per TLS connection to FILE as connections are decided (- for stdout).
    ///
    /// Newline-delimited JSON with the --connections columns as fields, typed, for Splunk,
    /// Elastic or ClickHouse. `live` appends to an existing file.
    #[arg(long, value_name = "FILE")]
    pub ndjson: Option<PathBuf>,

    /// Exit with code 4 when a client with this verdict is in the census (after writing).
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub fail_on: Option<FailOnArg>,

    /// Order of the clients in the table, --csv and --json.
    #[arg(long, value_enum, value_name = "ORDER", default_value_t = SortArg::Verdict)]
    pub sort: SortArg,

    /// Colour the table's VERDICT column.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Per-client census CSV files (written by `read --csv` or `live --csv`); - reads stdin.
    #[arg(required = true, value_name = "CSV")]
    pub files: Vec<PathBuf>,

    /// Write the merged census as CSV to FILE (- for stdout).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Write the merged census as JSON to FILE (- for stdout).
    ///
    /// As `read --json`, without a run summary or endpoint data (a CSV does not carry them),
    /// and with the JSON fingerprints' connection counts null (a CSV carries the set only).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Exit with code 4 when a client with this verdict is in the merged census.
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub fail_on: Option<FailOnArg>,

    /// Order of the clients in the outputs.
    #[arg(long, value_enum, value_name = "ORDER", default_value_t = SortArg::Verdict)]
    pub sort: SortArg,

    /// Hold at most SIZE for the merged census (e.g. 512M, 2G; default 640M).
    ///
    /// merge holds every client of its inputs; past the limit it stops with an error and
    /// writes nothing. Suffixes K, M, G (powers of 1024); at least 16M.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<u64>,

    /// No summary line on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (read, live, ...); none for the main page.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,

    /// Write every page (tlscensus.1, tlscensus-read.1, ...) into DIR instead.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub dir: Option<PathBuf>,
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
    /// Capture files or directories, merged by packet timestamp into one census; - reads
    /// standard input.
    ///
    /// Packets of all inputs are taken in timestamp order, as mergecap does (equal timestamps
    /// in input order; inside one input, file order): captures of the two directions of a TAP,
    /// or of two sensors, make one capture. The same file given twice (or a copy) is read once,
    /// with a warning. A directory is read recursively in name order (hidden files skipped).
    /// Files of a rotated set (cap.pcap, cap.pcap1, ... cap.pcap10; cap.pcap00, cap.pcap01) are
    /// ordered by their number. gzip- and zstd-compressed captures are read as they are,
    /// recognised by their content.
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

    /// Write the census as one self-contained HTML page to FILE (- for stdout).
    ///
    /// Totals, a chart of negotiated versions per Microsoft 365 service area, the broken and
    /// at-risk clients with their SNIs and JA4 fingerprints, a sortable client table and where
    /// the data came from. The page loads nothing from the network.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// No progress bar and no table; errors and warnings still go to stderr.
    #[arg(short, long)]
    pub quiet: bool,

    /// Read and analyse on one thread.
    ///
    /// By default the captures are read, decompressed and cut into packets on a second
    /// thread while the first analyses them (faster with two cores or more); the census is the
    /// same either way.
    #[arg(long)]
    pub single_thread: bool,

    /// Print the run summary (packets, skips by reason, connections, drops) on stderr.
    #[arg(long)]
    pub stats: bool,

    /// Show at most N clients in the table (CSV files always have all).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Keep only clients with these verdicts in the table, --csv, --json and --html.
    ///
    /// Repeatable or a comma list; legacy is broken and at-risk. The census itself, its
    /// header line's counts, --connections, --ndjson and --fail-on are unchanged.
    #[arg(long, value_enum, value_name = "VERDICT", value_delimiter = ',')]
    pub only: Vec<OnlyArg>,

    /// Analyse only packets captured at or after TIME (RFC 3339 like 2025-03-04T09:30:00Z,
    /// or a date like 2025-03-04 meaning its midnight UTC).
    ///
    /// A connection that started before it is seen mid-stream, as by a capture started then.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Analyse only packets captured before TIME (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Analyse only the packets this BPF filter (tcpdump syntax) matches, e.g. "host 10.1.2.3".
    ///
    /// Compiled by libpcap once per link type of the inputs.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,

    #[command(flatten)]
    pub report: ReportArgs,

    #[command(flatten)]
    pub tracking: TrackingArgs,

    #[command(flatten)]
    pub rules: ScopeRuleArgs,
}

/// The verdicts `read --only` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnlyArg {
    /// Clients that already cannot connect.
    Broken,
    /// Clients that will break when TLS 1.0/1.1 is refused.
    AtRisk,
    /// Broken and at-risk clients.
    Legacy,
    /// Clients whose versions the capture does not show.
    Unknown,
    /// Clients with TLS 1.2 or later only.
    Ok,
}

/// Connection tracking limits (`read` and `live`).
#[derive(Debug, Args)]
pub struct TrackingArgs {
    /// Forget a connection after this many seconds without packets (capture time).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub idle_timeout: u64,

    /// Track at most N connections at once; the least recently seen are evicted beyond it.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_connections: usize,

    /// Hold at most SIZE of state fed by the wire (e.g. 512M, 2G; default 640M).
    ///
    /// Connections, their hello buffers and out-of-order queues, IP fragments and the census
    /// all count toward it. Past it the oldest partial handshakes are given up (reported
    /// incomplete, counted), the connection table stops growing (the least recently seen are
    /// evicted) and the census, which may take half of it, stops taking new clients (their
    /// connections counted). Suffixes K, M, G (powers of 1024); at least 16M.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<u64>,

    /// Tally at most N clients in the census; the connections of further clients are counted,
    /// not tallied.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_clients: usize,
}

/// Which endpoint data and which extra rules decide the scope (`read` and `live`).
#[derive(Debug, Args)]
pub struct ScopeRuleArgs {
    /// Use this Microsoft 365 endpoint data (JSON from Microsoft's web service).
    ///
    /// A file saved from https://endpoints.office.com/endpoints/<instance>?clientrequestid=<guid>
    /// (Worldwide, USGovDoD, USGovGCCHigh or China), used instead of the embedded worldwide
    /// snapshot. It is checked before any packet is read.
    #[arg(long, value_name = "FILE")]
    pub endpoints: Option<PathBuf>,

    #[command(flatten)]
    pub rules: RuleArgs,
}

/// `--include`, `--exclude`, `--ranges`: the user's own scope rules.
#[derive(Debug, Args, Clone, Default)]
pub struct RuleArgs {
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
pub struct LiveArgs {
    /// Interface to capture on (`tlscensus interfaces` lists them).
    #[arg(short, long, value_name = "IFACE")]
    pub interface: String,

    /// Capture only the packets this BPF filter (tcpdump syntax) matches, e.g. "not port 22".
    #[arg(short, long, value_name = "BPF")]
    pub filter: Option<String>,

    /// Bytes kept of each packet; the default keeps whole hellos even on jumbo frames.
    #[arg(long, value_name = "BYTES", default_value_t = 262_144,
          value_parser = clap::value_parser!(u32).range(64..=262_144))]
    pub snaplen: u32,

    /// Do not put the interface in promiscuous mode (then only the host's own traffic is seen).
    #[arg(long)]
    pub no_promisc: bool,

    /// Kernel capture buffer, in MiB; a larger one rides out longer bursts without drops.
    #[arg(long, value_name = "MiB", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=2047))]
    pub buffer_size: u32,

    /// Stop after this long, e.g. 90s, 5m, 24h, 1h30m.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Stop after capturing N packets.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Rewrite the --csv file and print a summary line this often, e.g. 30s, 5m.
    #[arg(long, value_name = "TIME", default_value = "1m", value_parser = parse_duration)]
    pub every: Duration,

    /// Which servers to count.
    #[arg(long, value_enum, default_value_t = ScopeArg::M365)]
    pub scope: ScopeArg,

    /// Keep the per-client census as CSV in FILE, rewritten every --every and at the end (- for
    /// stdout: written once, at the end).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Append one CSV row per TLS connection to FILE as connections are decided (- for
    /// stdout); the header is written only to a new or empty file.
    #[arg(long, value_name = "FILE")]
    pub connections: Option<PathBuf>,

    /// Also save the captured packets to FILE, a pcap that `read` gives the same census for.
    #[arg(short, long, value_name = "FILE.pcap")]
    pub write: Option<PathBuf>,

    /// After opening the interface, run as this user instead of root (as tcpdump -Z does).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// No status lines and no table; errors and warnings still go to stderr.
    #[arg(short, long)]
    pub quiet: bool,

    /// Print the run summary (packets, skips by reason, connections, drops) on stderr at the end.
    #[arg(long)]
    pub stats: bool,

    /// Show at most N clients in the final table (CSV files always have all).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    #[command(flatten)]
    pub report: ReportArgs,

    #[command(flatten)]
    pub tracking: TrackingArgs,

    #[command(flatten)]
    pub rules: ScopeRuleArgs,
}

/// A size in bytes as typed: a number with an optional K, M, G or T suffix (powers of 1024; a
/// trailing `B` or `iB` is allowed: 512M, 512MiB, 2G, 1048576). Zero is refused.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("\"{text}\" is not a size like 512M, 2G or 1048576");
    let t = text.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(bad());
    }
    let n: u64 = t[..digits].parse().map_err(|_| bad())?;
    let unit = t[digits..].trim_start().to_ascii_uppercase();
    let shift = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(bad()),
    };
    if unit.ends_with("IB") && shift == 0 {
        return Err(bad());
    }
    let bytes = n
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("\"{text}\" is too large"))?;
    if bytes == 0 {
        return Err(format!("\"{text}\" is zero: give a size larger than 0"));
    }
    Ok(bytes)
}

/// A time span as typed: a number with a unit (`ms`, `s`, `m`, `h`, `d`), several in a row
/// (`1h30m`), or a bare number of seconds. Zero is refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("\"{text}\" is not a time span like 90s, 5m, 24h or 1h30m");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = rest.parse::<u64>() {
        total = Duration::from_secs(secs);
        rest = "";
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit_len = rest[digits..]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        if digits == 0 || unit_len == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit_ms: u64 = match &rest[digits..digits + unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        let ms = n.checked_mul(unit_ms).ok_or_else(bad)?;
        total = total
            .checked_add(Duration::from_millis(ms))
            .ok_or_else(bad)?;
        rest = &rest[digits + unit_len..];
    }
    if total.is_zero() {
        return Err(format!(
            "\"{text}\" is zero: give a time span longer than 0"
        ));
    }
    Ok(total)
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

    /// With rules, each query also gets a `scope=` line: whether `read` and `live` with the
    /// same rules would count a server with that address (or SNI), and why.
    #[command(flatten)]
    pub rules: RuleArgs,
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
            "--html",
            "r.html",
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
        assert_eq!(r.html, Some(PathBuf::from("r.html")));
        assert!(r.quiet && r.stats);
        assert_eq!(
            (r.top, r.tracking.idle_timeout, r.tracking.max_connections),
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
        let r = r.rules;
        assert_eq!(r.endpoints, Some(PathBuf::from("china.json")));
        assert_eq!(r.rules.include, ["198.51.100.0/24", "*.contoso.com"]);
        assert_eq!(r.rules.exclude, ["40.96.0.0/13"]);
        assert_eq!(
            r.rules.ranges,
            [PathBuf::from("r1.txt"), PathBuf::from("r2.txt")]
        );
        // Values are checked in settings, not by clap.
        let Command::Read(r) =
            Cli::try_parse_from(["tlscensus", "read", "a.pcap", "--include", "nonsense!"])
                .unwrap()
                .command
        else {
            panic!("not read")
        };
        let r = r.rules;
        assert_eq!(r.rules.include, ["nonsense!"]);
        assert!(r.endpoints.is_none() && r.rules.exclude.is_empty() && r.rules.ranges.is_empty());
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

    fn live(args: &[&str]) -> Result<LiveArgs, clap::Error> {
        let mut all = vec!["tlscensus", "live"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|c| match c.command {
            Command::Live(l) => l,
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn live_flags_parse() {
        let l = live(&[
            "-i",
            "eth1",
            "--filter",
            "not port 22",
            "--snaplen",
            "1600",
            "--no-promisc",
            "--buffer-size",
            "64",
            "--duration",
            "24h",
            "--count",
            "1000",
            "--every",
            "5m",
            "--scope",
            "all",
            "--csv",
            "c.csv",
            "--connections",
            "-",
            "--write",
            "raw.pcap",
            "--user",
            "nobody",
            "-q",
            "--stats",
            "--top",
            "3",
            "--idle-timeout",
            "60",
            "--max-connections",
            "500",
            "--include",
            "127.0.0.0/8",
            "--exclude",
            "127.0.0.2",
            "--ranges",
            "r.txt",
            "--endpoints",
            "e.json",
        ])
        .unwrap();
        assert_eq!(l.interface, "eth1");
        assert_eq!(l.filter.as_deref(), Some("not port 22"));
        assert_eq!((l.snaplen, l.no_promisc, l.buffer_size), (1600, true, 64));
        assert_eq!(l.duration, Some(Duration::from_secs(86_400)));
        assert_eq!((l.count, l.every), (Some(1000), Duration::from_secs(300)));
        assert_eq!(l.scope, ScopeArg::All);
        assert_eq!(l.csv, Some(PathBuf::from("c.csv")));
        assert_eq!(l.connections, Some(PathBuf::from("-")));
        assert_eq!(l.write, Some(PathBuf::from("raw.pcap")));
        assert_eq!(l.user.as_deref(), Some("nobody"));
        assert!(l.quiet && l.stats);
        assert_eq!(l.top, Some(3));
        assert_eq!(
            (l.tracking.idle_timeout, l.tracking.max_connections),
            (60, 500)
        );
        assert_eq!(l.rules.rules.include, ["127.0.0.0/8"]);
        assert_eq!(l.rules.rules.exclude, ["127.0.0.2"]);
        assert_eq!(l.rules.rules.ranges, [PathBuf::from("r.txt")]);
        assert_eq!(l.rules.endpoints, Some(PathBuf::from("e.json")));
    }

    #[test]
    fn live_defaults_and_limits() {
        let l = live(&["--interface", "lo"]).unwrap();
        assert_eq!(
            (l.snaplen, l.no_promisc, l.buffer_size),
            (262_144, false, 32)
        );
        assert_eq!((l.duration, l.count), (None, None));
        assert_eq!(l.every, Duration::from_secs(60));
        assert_eq!(l.scope, ScopeArg::M365);
        assert!(l.csv.is_none() && l.connections.is_none() && l.write.is_none());
        assert!(l.user.is_none() && !l.quiet);
        assert!(live(&[]).is_err(), "an interface is required");
        for bad in [
            &["-i", "lo", "--snaplen", "0"][..],
            &["-i", "lo", "--snaplen", "262145"],
            &["-i", "lo", "--buffer-size", "0"],
            &["-i", "lo", "--buffer-size", "2048"],
            &["-i", "lo", "--count", "0"],
            &["-i", "lo", "--duration", "0s"],
            &["-i", "lo", "--every", "soon"],
        ] {
            assert!(live(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            Cli::try_parse_from(["tlscensus", "interfaces"])
                .unwrap()
                .command,
            Command::Interfaces
        ));
    }

    #[test]
    fn durations() {
        let d = |s: &str| parse_duration(s);
        assert_eq!(d("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(d("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(d("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(d("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(d("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(d("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(d("45"), Ok(Duration::from_secs(45)));
        assert_eq!(
            d("5 min"),
            Err("\"5 min\" is not a time span like 90s, 5m, 24h or 1h30m".into())
        );
        assert_eq!(
            d("0m"),
            Err("\"0m\" is zero: give a time span longer than 0".into())
        );
        for bad in ["", "m", "5x", "1.5h", "-5s", "s5", "99999999999999999999d"] {
            assert!(d(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes() {
        let z = |s: &str| parse_size(s);
        assert_eq!(z("512M"), Ok(512 << 20));
        assert_eq!(z("2G"), Ok(2 << 30));
        assert_eq!(z("2g"), Ok(2 << 30));
        assert_eq!(z("64MiB"), Ok(64 << 20));
        assert_eq!(z("100K"), Ok(100 << 10));
        assert_eq!(z("1048576"), Ok(1 << 20));
        assert_eq!(z("1048576B"), Ok(1 << 20));
        assert_eq!(
            z("1.5G"),
            Err("\"1.5G\" is not a size like 512M, 2G or 1048576".into())
        );
        assert_eq!(
            z("0M"),
            Err("\"0M\" is zero: give a size larger than 0".into())
        );
        assert_eq!(z("99999999T"), Err("\"99999999T\" is too large".into()));
        for bad in ["", "M", "5X", "-5M", "5 MB extra", "5iB"] {
            assert!(z(bad).is_err(), "{bad:?}");
        }
    }
}
