//! What the command line means, checked before any packet is read: inputs exist and are
//! files, limits are sane, outputs do not collide, the endpoint data and the user's scope
//! rules load. Every error is one line naming the flag and the value (or file) at fault.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use std::time::Duration;

use crate::capture::live::{CaptureOptions, TargetUser};
use crate::capture::offline::{ReadError, Source};
use crate::capture::Timestamp;
use crate::census::{ClientOrder, Verdict};
use crate::cli::{ColorArg, FailOnArg, OnlyArg, ReportArgs, SortArg};
use crate::cli::{
    EndpointsAction, EndpointsArgs, LiveArgs, ReadArgs, RuleArgs, ScopeArg, ScopeRuleArgs,
    TrackingArgs,
};
use crate::m365::{load_rules, EndpointData, HostName, RuleError, Scope, ScopeRule};
use crate::pipeline::Config;
use crate::report::escape;

/// A `read` run, validated.
#[derive(Debug)]
pub struct ReadSettings {
    /// Inputs in reading order (directories expanded, see [`crate::capture::inputs`]), with
    /// their size in bytes on disk (0 for stdin).
    pub inputs: Vec<(Source, u64)>,
    /// Entries of directories that were skipped (dangling or looping symbolic links): each a
    /// warning, and exit code 3.
    pub skipped: Vec<ReadError>,
    /// Files in directories skipped as not captures (by their first bytes), for `--stats`.
    pub not_captures: u64,
    pub csv: Option<PathBuf>,
    pub connections: Option<PathBuf>,
    /// `--html`: the census as one self-contained page.
    pub html: Option<PathBuf>,
    pub quiet: bool,
    /// Read on a second thread (`--single-thread` not given).
    pub read_ahead: bool,
    pub stats: bool,
    pub top: Option<usize>,
    pub config: Config,
    /// The table goes to stdout unless a CSV does.
    pub table: bool,
    /// Endpoint data (embedded or `--endpoints`), `--include` + `--ranges`, `--exclude`.
    pub scope: Scope,
    /// `--json`, `--ndjson`, `--fail-on`, `--sort`, `--color`.
    pub report: ReportSettings,
    /// `--only`: the verdicts the table, CSV, JSON and HTML keep (empty: all).
    pub only: Vec<Verdict>,
    /// `--since`/`--until`: the capture-time window [since, until) analysed.
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// `--filter`: a BPF expression, checked to compile.
    pub filter: Option<String>,
}

/// `--only`'s verdicts, each once, in verdict order.
pub fn only_verdicts(only: &[OnlyArg]) -> Vec<Verdict> {
    let mut v = Vec::new();
    for o in only {
        let add: &[Verdict] = match o {
            OnlyArg::Broken => &[Verdict::Broken],
            OnlyArg::AtRisk => &[Verdict::AtRisk],
            OnlyArg::Legacy => &[Verdict::Broken, Verdict::AtRisk],
            OnlyArg::Unknown => &[Verdict::Unknown],
            OnlyArg::Ok => &[Verdict::Ok],
        };
        v.extend(add.iter().copied());
    }
    v.sort();
    v.dedup();
    v
}

/// `--since`/`--until` parsed, since before until.
fn time_window(
    since: Option<&str>,
    until: Option<&str>,
) -> Result<(Option<Timestamp>, Option<Timestamp>), String> {
    let parse = |name: &str, s: Option<&str>| {
        s.map(|s| {
            crate::capture::select::parse_time(s).ok_or_else(|| {
                format!(
                    "{name} {}: not a time (RFC 3339 like 2025-03-04T09:30:00Z, or a date like \
                     2025-03-04)",
                    escape::terminal(s)
                )
            })
        })
        .transpose()
    };
    let (since_t, until_t) = (parse("--since", since)?, parse("--until", until)?);
    if let (Some(s), Some(u)) = (since_t, until_t) {
        if s >= u {
            return Err(format!(
                "--since {} is not before --until {}",
                s.rfc3339(),
                u.rfc3339()
            ));
        }
    }
    Ok((since_t, until_t))
}

/// `--since`, `--until` and `--filter` checked (a time that does not parse, since not before
/// until, a filter libpcap does not compile): `read` reports these with exit code 2, as a
/// wrong command line, before anything is opened.
pub fn check_selection(a: &ReadArgs) -> Result<(Option<Timestamp>, Option<Timestamp>), String> {
    let window = time_window(a.since.as_deref(), a.until.as_deref())?;
    if let Some(f) = &a.filter {
        crate::capture::select::check_filter(f)?;
    }
    Ok(window)
}

impl ReadSettings {
    pub fn from_args(a: ReadArgs) -> Result<ReadSettings, String> {
        // Directories expanded, rotated sets in order, every file checked readable.
        let (inputs, skipped, not_captures) = crate::capture::inputs::expand_all(&a.files)?;
        let config = pipeline_config(&a.tracking, a.scope)?;
        let to_stdout = check_outputs(&[
            ("--csv", &a.csv),
            ("--connections", &a.connections),
            ("--html", &a.html),
            ("--json", &a.report.json),
            ("--ndjson", &a.report.ndjson),
        ])?;
        check_not_inputs(
            &[
                ("--csv", &a.csv),
                ("--connections", &a.connections),
                ("--html", &a.html),
                ("--json", &a.report.json),
                ("--ndjson", &a.report.ndjson),
            ],
            inputs.iter().map(|(s, _)| match s {
                Source::File(p) => p.as_path(),
                Source::Stdin => Path::new("-"),
            }),
        )?;
        let table = !a.quiet && !to_stdout;
        let (since, until) = check_selection(&a)?;
        let scope = load_scope(&a.rules)?;
        Ok(ReadSettings {
            only: only_verdicts(&a.only),
            since,
            until,
            filter: a.filter,
            inputs,
            skipped,
            not_captures,
            config,
            csv: a.csv,
            connections: a.connections,
            html: a.html,
            quiet: a.quiet,
            read_ahead: !a.single_thread,
            stats: a.stats,
            top: a.top,
            table,
            scope,
            report: ReportSettings::from_args(a.report),
        })
    }
}

/// A `live` run, validated. The interface itself is checked when it is opened.
#[derive(Debug)]
pub struct LiveSettings {
    pub capture: CaptureOptions,
    pub duration: Option<Duration>,
    pub count: Option<u64>,
    pub every: Duration,
    pub csv: Option<PathBuf>,
    pub connections: Option<PathBuf>,
    /// `--write`: raw packets to a pcap file (`-` = stdout).
    pub write: Option<PathBuf>,
    /// `--user`: whom to run as once the interface is open.
    pub user: Option<TargetUser>,
    pub quiet: bool,
    pub stats: bool,
    pub top: Option<usize>,
    pub config: Config,
    /// The final table goes to stdout unless an output does.
    pub table: bool,
    pub scope: Scope,
    /// `--json`, `--ndjson`, `--fail-on`, `--sort`, `--color`.
    pub report: ReportSettings,
}

impl LiveSettings {
    pub fn from_args(a: LiveArgs) -> Result<LiveSettings, String> {
        if a.every < Duration::from_secs(1) {
            return Err("--every must be at least 1s".into());
        }
        if a.interface.is_empty() {
            return Err("--interface: empty name; `tlscensus interfaces` lists them".into());
        }
        if let Some(f) = &a.filter {
            if f.contains('\0') {
                return Err("--filter: the expression contains a NUL character".into());
            }
        }
        if let Some(w) = &a.write {
            // libpcap takes the name as a C string.
            if w.to_str().is_none_or(|s| s.contains('\0')) {
                return Err(format!(
                    "{}: --write needs a name that is valid UTF-8",
                    escape::path(w)
                ));
            }
            if w.is_dir() {
                return Err(format!("{}: is a directory", escape::path(w)));
            }
        }
        let user = a
            .user
            .as_deref()
            .map(|name| TargetUser::lookup(name).map_err(|e| format!("--user {e}")))
            .transpose()?;
        let config = pipeline_config(&a.tracking, a.scope)?;
        let to_stdout = check_outputs(&[
            ("--csv", &a.csv),
            ("--connections", &a.connections),
            ("--write", &a.write),
            ("--json", &a.report.json),
            ("--ndjson", &a.report.ndjson),
        ])?;
        let scope = load_scope(&a.rules)?;
        Ok(LiveSettings {
            capture: CaptureOptions {
                interface: a.interface,
                filter: a.filter,
                snaplen: a.snaplen,
                promisc: !a.no_promisc,
                buffer_mib: a.buffer_size,
            },
            duration: a.duration,
            count: a.count,
            every: a.every,
            csv: a.csv,
            connections: a.connections,
            write: a.write,
            user,
            quiet: a.quiet,
            stats: a.stats,
            top: a.top,
            config,
            table: !a.quiet && !to_stdout,
            scope,
            report: ReportSettings::from_args(a.report),
        })
    }
}

/// `--fail-on`: which verdicts make a run exit with code 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// At risk or broken.
    Legacy,
    /// At risk only.
    AtRisk,
    /// Broken only.
    Broken,
}

impl FailOn {
    pub fn from_arg(a: FailOnArg) -> FailOn {
        match a {
            FailOnArg::Legacy => FailOn::Legacy,
            FailOnArg::AtRisk => FailOn::AtRisk,
            FailOnArg::Broken => FailOn::Broken,
        }
    }

    /// Whether a client with this verdict trips it.
    pub fn trips(self, v: Verdict) -> bool {
        match self {
            FailOn::Legacy => matches!(v, Verdict::Broken | Verdict::AtRisk),
            FailOn::AtRisk => v == Verdict::AtRisk,
            FailOn::Broken => v == Verdict::Broken,
        }
    }
}

/// `--sort` as the census's client order.
pub fn client_order(a: SortArg) -> ClientOrder {
    match a {
        SortArg::Verdict => ClientOrder::Verdict,
        SortArg::Connections => ClientOrder::Connections,
        SortArg::Legacy => ClientOrder::Legacy,
        SortArg::Client => ClientOrder::Client,
        SortArg::FirstSeen => ClientOrder::FirstSeen,
        SortArg::LastSeen => ClientOrder::LastSeen,
    }
}

/// Whether the table is coloured: `--color always`/`never` as said; `auto` only when standard
/// output is a terminal and `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn use_color(
    when: ColorArg,
    stdout_terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
) -> bool {
    match when {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => stdout_terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// The machine-readable outputs and scripting options of `read` and `live`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSettings {
    /// `--json`: the census as one JSON document.
    pub json: Option<PathBuf>,
    /// `--ndjson`: one JSON object per connection, streamed.
    pub ndjson: Option<PathBuf>,
    pub fail_on: Option<FailOn>,
    /// `--sort`: order of the table, `--csv` and `--json`.
    pub order: ClientOrder,
    /// The table's VERDICT column is coloured.
    pub color: bool,
}

impl ReportSettings {
    pub fn from_args(a: ReportArgs) -> ReportSettings {
        use std::io::IsTerminal;
        ReportSettings {
            json: a.json,
            ndjson: a.ndjson,
            fail_on: a.fail_on.map(FailOn::from_arg),
            order: client_order(a.sort),
            color: use_color(
                a.color,
                std::io::stdout().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ),
        }
    }
}

/// The pipeline's tunables from `--idle-timeout`, `--max-connections`, `--memory-limit`,
/// `--max-clients` and `--scope`.
pub fn pipeline_config(t: &TrackingArgs, scope: ScopeArg) -> Result<Config, String> {
    if t.idle_timeout == 0 {
        return Err("--idle-timeout must be at least 1 second".into());
    }
    if t.max_connections == 0 {
        return Err("--max-connections must be at least 1".into());
    }
    if t.max_clients == 0 {
        return Err("--max-clients must be at least 1".into());
    }
    let memory_limit = match t.memory_limit {
        None => crate::budget::DEFAULT_LIMIT,
        Some(n) if n < crate::budget::MIN_LIMIT as u64 => {
            return Err(format!(
                "--memory-limit {n} bytes is too small: give at least {}M",
                crate::budget::MIN_LIMIT >> 20
            ))
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    Ok(Config {
        idle_timeout_secs: i64::try_from(t.idle_timeout).unwrap_or(i64::MAX),
        max_flows: t.max_connections,
        scope_all: scope == ScopeArg::All,
        memory_limit,
        max_clients: t.max_clients,
        ..Config::default()
    })
}

/// At most one output may be standard output (`-`), and no two may name the same file.
/// Returns whether one is standard output.
pub fn check_outputs(outputs: &[(&str, &Option<PathBuf>)]) -> Result<bool, String> {
    let is_stdout = |p: &Path| p.as_os_str() == "-";
    let given: Vec<(&str, &PathBuf)> = outputs
        .iter()
        .filter_map(|(flag, p)| p.as_ref().map(|p| (*flag, p)))
        .collect();
    for (i, (a, x)) in given.iter().enumerate() {
        for (b, y) in &given[i + 1..] {
            if is_stdout(x) && is_stdout(y) {
                return Err(format!("{a} and {b} cannot both write to standard output"));
            }
            let same = x == y || file_id(x).is_some_and(|i| file_id(y) == Some(i));
            if same && !is_stdout(x) && !is_stdout(y) {
                return Err(format!(
                    "{a} and {b} name the same file: {}",
                    escape::path(x)
                ));
            }
        }
    }
    Ok(given.iter().any(|(_, p)| is_stdout(p)))
}

/// No output may be one of the inputs (same device and inode, through any path, symbolic and
/// hard links included, `-` meaning the file standard input is): it would be replaced by the
/// results. Checked before anything is read.
pub fn check_not_inputs<'a>(
    outputs: &[(&str, &Option<PathBuf>)],
    inputs: impl Iterator<Item = &'a Path>,
) -> Result<(), String> {
    let outputs: Vec<(&str, &PathBuf, (u64, u64))> = outputs
        .iter()
        .filter_map(|(flag, p)| {
            let p = p.as_ref().filter(|p| p.as_os_str() != "-")?;
            Some((*flag, p, file_id(p)?))
        })
        .collect();
    if outputs.is_empty() {
        return Ok(());
    }
    for input in inputs {
        let shown = if input.as_os_str() == "-" {
            "standard input".to_string()
        } else {
            escape::path(input)
        };
        let Some(id) = file_id(if input.as_os_str() == "-" {
            Path::new("/dev/stdin")
        } else {
            input
        }) else {
            continue;
        };
        if let Some((flag, out, _)) = outputs.iter().find(|(_, _, o)| *o == id) {
            let out_shown = escape::path(out);
            let also = if out_shown == shown {
                String::new()
            } else {
                format!(" ({shown})")
            };
            return Err(format!(
                "{out_shown}: {flag} would replace an input of this run{also}; name another \
                 output file"
            ));
        }
    }
    Ok(())
}

/// (device, inode) of the regular file at `path` (symbolic links followed).
fn file_id(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        m.is_file().then(|| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Endpoint data (embedded or `--endpoints`), `--include` + `--ranges`, `--exclude`.
pub fn load_scope(r: &ScopeRuleArgs) -> Result<Scope, String> {
    let (include, exclude) = load_rules_args(&r.rules)?;
    let data = endpoint_data(r.endpoints.as_deref())?;
    log::debug!(
        "scope: {}; {} include and {} exclude rules",
        data.summary(),
        include.len(),
        exclude.len()
    );
    Ok(Scope::new(data, &include, &exclude))
}

/// `--include` (with `--ranges` files) and `--exclude` as rules.
fn load_rules_args(r: &RuleArgs) -> Result<(Vec<ScopeRule>, Vec<ScopeRule>), String> {
    let mut include = rules("--include", &r.include)?;
    for file in &r.ranges {
        include.extend(load_rules(file).map_err(|e| format!("--ranges {e}"))?);
    }
    let exclude = rules("--exclude", &r.exclude)?;
    Ok((include, exclude))
}

/// The data `--endpoints FILE` names, or the embedded snapshot. The error names the flag,
/// the file, and the element and field at fault.
pub fn endpoint_data(file: Option<&Path>) -> Result<EndpointData, String> {
    match file {
        None => Ok(EndpointData::embedded()),
        Some(path) => EndpointData::load(path).map_err(|e| format!("--endpoints {e}")),
    }
}

/// `--include` / `--exclude` values as rules; the error names the flag and quotes the value.
fn rules(flag: &str, values: &[String]) -> Result<Vec<ScopeRule>, String> {
    values
        .iter()
        .map(|v| {
            v.parse().map_err(|e: RuleError| match e {
                RuleError::Empty => format!("{flag}: empty value"),
                e => format!("{flag}: {e}"),
            })
        })
        .collect()
}

/// Why an `endpoints` command line cannot run; each maps to its own exit code.
#[derive(Debug, PartialEq, Eq)]
pub enum EndpointsError {
    /// A lookup query is neither an address nor a host name: a wrong command line.
    Usage(String),
    /// The `--endpoints` file cannot be read or is not endpoint data.
    Data(String),
}

/// One `endpoints lookup` argument, as typed and as understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupQuery {
    pub text: String,
    pub target: LookupTarget,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupTarget {
    /// Matched against the published prefixes.
    Address(IpAddr),
    /// Matched against the published host names and patterns, as an SNI would be.
    Host(Box<HostName>),
}

impl LookupQuery {
    /// An IPv4/IPv6 address, else a host name (case and one trailing dot do not matter).
    /// Patterns (`*`) and prefixes (`/`) are refused: lookup answers for one server.
    pub fn parse(text: &str) -> Result<LookupQuery, String> {
        let refuse = |why: &str| Err(format!("endpoints lookup: {} {why}", quoted(text)));
        let target = if let Ok(ip) = text.parse::<IpAddr>() {
            LookupTarget::Address(ip)
        } else if text.is_empty() {
            return refuse("is empty: give an address or a host name");
        } else if text.contains('/') {
            return refuse("is a prefix: give one address of it");
        } else if text.contains('*') {
            return refuse("is a pattern: give one host name it should match");
        } else if text.contains(':') || text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            // `10.0.0` or `1.2.3.256` would pass as host names and match nothing useful.
            return refuse("is not an IPv4 or IPv6 address");
        } else if let Some(name) = HostName::parse(text.as_bytes()) {
            LookupTarget::Host(Box::new(name))
        } else {
            return refuse("is not an IP address or a host name");
        };
        Ok(LookupQuery {
            text: text.to_string(),
            target,
        })
    }
}

/// A value from the command line, quoted and made safe for a terminal.
fn quoted(text: &str) -> String {
    format!("\"{}\"", crate::report::escape::visible(text.as_bytes()))
}

/// An `endpoints` run, validated.
#[derive(Debug)]
pub struct EndpointsSettings {
    pub data: EndpointData,
    /// True when the data came from `--endpoints FILE`.
    pub from_file: bool,
    /// `None`: print the summary of the data.
    pub lookup: Option<Vec<LookupQuery>>,
    /// `lookup --include/--exclude/--ranges`: the data with those rules, to say of each query
    /// whether it is in scope.
    pub scope: Option<Scope>,
}

impl EndpointsSettings {
    /// Queries are checked first (a typo is a usage error even with a bad file), then the data.
    pub fn from_args(a: EndpointsArgs) -> Result<EndpointsSettings, EndpointsError> {
        let (lookup, rules) = match a.action {
            None => (None, RuleArgs::default()),
            Some(EndpointsAction::Lookup(l)) => (
                Some(
                    l.queries
                        .iter()
                        .map(|q| LookupQuery::parse(q))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(EndpointsError::Usage)?,
                ),
                l.rules,
            ),
        };
        let given =
            !(rules.include.is_empty() && rules.exclude.is_empty() && rules.ranges.is_empty());
        let (include, exclude) = load_rules_args(&rules).map_err(EndpointsError::Data)?;
        let data = endpoint_data(a.endpoints.as_deref()).map_err(EndpointsError::Data)?;
        let scope = given.then(|| Scope::new(data.clone(), &include, &exclude));
        Ok(EndpointsSettings {
            data,
            from_file: a.endpoints.is_some(),
            lookup,
            scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn read(extra: &[&str]) -> Result<ReadSettings, String> {
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls12-outside.pcap");
        let mut args = vec!["tlscensus", "read", fixture];
        args.extend_from_slice(extra);
        let Command::Read(a) = Cli::try_parse_from(args).unwrap().command else {
            panic!("not read")
        };
        ReadSettings::from_args(a)
    }

    #[test]
    fn memory_limit_and_max_clients() {
        let c = read(&[]).unwrap().config;
        assert_eq!((c.memory_limit, c.max_clients), (640 << 20, 1_000_000));
        let c = read(&["--memory-limit", "2G", "--max-clients", "5"])
            .unwrap()
            .config;
        assert_eq!((c.memory_limit, c.max_clients), (2 << 30, 5));
        assert_eq!(
            read(&["--memory-limit", "1M"]).err().unwrap(),
            "--memory-limit 1048576 bytes is too small: give at least 16M"
        );
        assert_eq!(
            read(&["--max-clients", "0"]).err().unwrap(),
            "--max-clients must be at least 1"
        );
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rule_errors_name_the_flag_and_the_value() {
        assert_eq!(
            read(&["--include", "40.96.0.0/33"]).unwrap_err(),
            "--include: \"40.96.0.0/33\" is not a CIDR prefix: prefix length out of range"
        );
        assert_eq!(
            read(&["--exclude", "10.0.0"]).unwrap_err(),
            "--exclude: \"10.0.0\" is not an IPv4 or IPv6 address"
        );
        assert_eq!(
            read(&["--include", "a.com", "--include", " "]).unwrap_err(),
            "--include: empty value"
        );
        assert_eq!(
            read(&["--exclude", "a b.com"]).unwrap_err(),
            "--exclude: \"a b.com\" is not an IP address, a CIDR prefix or a host name \
             pattern: it has a character other than letters, digits, '-', '_', '.' and '*'"
        );
        let err = read(&["--ranges", "/nonexistent/ranges.txt"]).unwrap_err();
        assert_eq!(
            err,
            "--ranges /nonexistent/ranges.txt: cannot read: No such file or directory"
        );
        let err = read(&["--endpoints", "/nonexistent/e.json"]).unwrap_err();
        assert_eq!(
            err,
            "--endpoints /nonexistent/e.json: cannot read: No such file or directory"
        );
    }

    #[test]
    fn scope_combines_data_includes_ranges_and_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let ranges = dir.path().join("ranges.txt");
        std::fs::write(
            &ranges,
            "# hybrid\n192.0.2.0/24\n*.contoso.com # proxy names\n",
        )
        .unwrap();
        let s = read(&[
            "--include",
            "198.51.100.0/24",
            "--ranges",
            ranges.to_str().unwrap(),
            "--exclude",
            "52.112.0.0/14",
        ])
        .unwrap();
        let c = |a: &str, sni: Option<&str>| s.scope.classify(ip(a), sni.map(str::as_bytes));
        assert!(c("198.51.100.7", None).in_scope());
        assert!(c("192.0.2.9", None).in_scope());
        assert!(c("203.0.113.1", Some("mail.contoso.com")).in_scope());
        assert!(c("40.96.0.1", None).in_scope());
        assert!(!c("52.112.0.1", Some("teams.microsoft.com")).in_scope());
        assert!(!c("203.0.113.1", Some("www.example.com")).in_scope());
        assert_eq!(s.scope.data().summary().sets, 64);
    }

    #[test]
    fn endpoints_file_replaces_the_embedded_data() {
        let china = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/m365/data/endpoints-china.json"
        );
        let s = read(&["--endpoints", china]).unwrap();
        assert_eq!(s.scope.data().summary().sets, 21);
        assert!(!s.scope.classify(ip("40.96.0.1"), None).in_scope());
        assert!(s.scope.classify(ip("40.73.132.1"), None).in_scope());
    }

    #[test]
    fn lookup_queries() {
        let q = |s: &str| LookupQuery::parse(s).map(|q| q.target);
        assert_eq!(q("40.96.0.0"), Ok(LookupTarget::Address(ip("40.96.0.0"))));
        assert_eq!(
            q("2603:1006::1"),
            Ok(LookupTarget::Address(ip("2603:1006::1")))
        );
        let host = HostName::parse(b"outlook.office365.com").unwrap();
        assert_eq!(
            q("Outlook.Office365.COM."),
            Ok(LookupTarget::Host(Box::new(host)))
        );
        assert_eq!(
            LookupQuery::parse("A.com").unwrap().text,
            "A.com",
            "shown as typed"
        );
        assert_eq!(
            q("10.0.0"),
            Err("endpoints lookup: \"10.0.0\" is not an IPv4 or IPv6 address".into())
        );
        assert_eq!(
            q("2603:zz::1"),
            Err("endpoints lookup: \"2603:zz::1\" is not an IPv4 or IPv6 address".into())
        );
        assert_eq!(
            q("40.96.0.0/13"),
            Err("endpoints lookup: \"40.96.0.0/13\" is a prefix: give one address of it".into())
        );
        assert_eq!(
            q("*.office.com"),
            Err(
                "endpoints lookup: \"*.office.com\" is a pattern: give one host name it should \
                 match"
                    .into()
            )
        );
        assert_eq!(
            q(""),
            Err("endpoints lookup: \"\" is empty: give an address or a host name".into())
        );
        for bad in ["a..com", "a\x1bb", "[2603:1006::1]"] {
            assert!(q(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            q("a\x1bb"),
            Err("endpoints lookup: \"a\\x1bb\" is not an IP address or a host name".into())
        );
    }

    #[test]
    fn endpoints_settings_check_queries_before_the_file() {
        let parse = |args: &[&str]| {
            let mut all = vec!["tlscensus", "endpoints"];
            all.extend_from_slice(args);
            let Command::Endpoints(a) = Cli::try_parse_from(all).unwrap().command else {
                panic!("not endpoints")
            };
            EndpointsSettings::from_args(a)
        };
        assert!(matches!(
            parse(&["--endpoints", "/nonexistent.json", "lookup", "a b"]),
            Err(EndpointsError::Usage(_))
        ));
        assert!(matches!(
            parse(&["--endpoints", "/nonexistent.json", "lookup", "a.com"]),
            Err(EndpointsError::Data(_))
        ));
        let s = parse(&[]).unwrap();
        assert!(!s.from_file && s.lookup.is_none());
        let s = parse(&["lookup", "a.com", "1.2.3.4"]).unwrap();
        assert_eq!(s.lookup.map(|l| l.len()), Some(2));
    }

    fn live(extra: &[&str]) -> Result<LiveSettings, String> {
        let mut args = vec!["tlscensus", "live", "-i", "eth1"];
        args.extend_from_slice(extra);
        let Command::Live(a) = Cli::try_parse_from(args).unwrap().command else {
            panic!("not live")
        };
        LiveSettings::from_args(a)
    }

    #[test]
    fn live_settings_share_reads_scope_and_limits() {
        let s = live(&[
            "--scope",
            "all",
            "--include",
            "127.0.0.0/8",
            "--idle-timeout",
            "30",
            "--max-connections",
            "10",
            "--no-promisc",
            "--filter",
            "tcp",
        ])
        .unwrap();
        assert!(s.config.scope_all);
        assert_eq!((s.config.idle_timeout_secs, s.config.max_flows), (30, 10));
        assert!(s.scope.classify(ip("127.0.0.9"), None).in_scope());
        assert_eq!(
            s.capture,
            CaptureOptions {
                interface: "eth1".into(),
                filter: Some("tcp".into()),
                snaplen: 262_144,
                promisc: false,
                buffer_mib: 32,
            }
        );
        assert!(s.table && s.user.is_none());
        // Errors are read's, word for word.
        assert_eq!(
            live(&["--exclude", "10.0.0"]).unwrap_err(),
            read(&["--exclude", "10.0.0"]).unwrap_err()
        );
        assert_eq!(
            live(&["--max-connections", "0"]).unwrap_err(),
            "--max-connections must be at least 1"
        );
    }

    #[test]
    fn live_outputs_do_not_collide() {
        assert_eq!(
            live(&["--connections", "-", "--write", "-"]).unwrap_err(),
            "--connections and --write cannot both write to standard output"
        );
        assert_eq!(
            live(&["--connections", "a.csv", "--write", "a.csv"]).unwrap_err(),
            "--connections and --write name the same file: a.csv"
        );
        let s = live(&["--write", "-"]).unwrap();
        assert!(!s.table, "no table when packets go to stdout");
        assert!(!live(&["-q"]).unwrap().table);
        let dir = tempfile::tempdir().unwrap();
        let err = live(&["--write", dir.path().to_str().unwrap()]).unwrap_err();
        assert!(err.ends_with(": is a directory"), "{err}");
        assert_eq!(
            live(&["--every", "999ms"]).unwrap_err(),
            "--every must be at least 1s"
        );
        assert_eq!(
            live(&["--user", "no-such-user-tlscensus"]).unwrap_err(),
            "--user no-such-user-tlscensus: no such user"
        );
        assert_eq!(
            live(&["--user", "root"]).unwrap().user.unwrap().name,
            "root"
        );
    }
}
