//! What the command line means, checked before any packet is read: inputs exist and are
//! files, limits are sane, outputs do not collide, the endpoint data and the user's scope
//! rules load. Every error is one line naming the flag and the value (or file) at fault.

use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::capture::offline::Source;
use crate::cli::{EndpointsAction, EndpointsArgs, ReadArgs, ScopeArg};
use crate::m365::{load_rules, EndpointData, HostName, RuleError, Scope, ScopeRule};
use crate::pipeline::Config;
use crate::report::atomic::io_reason;

/// A `read` run, validated.
#[derive(Debug)]
pub struct ReadSettings {
    /// Inputs in order, with their size in bytes (0 for stdin).
    pub inputs: Vec<(Source, u64)>,
    pub csv: Option<PathBuf>,
    pub connections: Option<PathBuf>,
    pub quiet: bool,
    pub stats: bool,
    pub top: Option<usize>,
    pub config: Config,
    /// The table goes to stdout unless a CSV does.
    pub table: bool,
    /// Endpoint data (embedded or `--endpoints`), `--include` + `--ranges`, `--exclude`.
    pub scope: Scope,
}

impl ReadSettings {
    pub fn from_args(a: ReadArgs) -> Result<ReadSettings, String> {
        let mut inputs = Vec::with_capacity(a.files.len());
        let mut stdin_seen = false;
        for path in &a.files {
            let source = Source::from_arg(path);
            let size = match &source {
                Source::Stdin => {
                    if stdin_seen {
                        return Err("- (standard input) can be read only once".into());
                    }
                    stdin_seen = true;
                    0
                }
                Source::File(p) => {
                    let meta = std::fs::metadata(p)
                        .map_err(|e| format!("{}: {}", p.display(), io_reason(&e)))?;
                    if meta.is_dir() {
                        return Err(format!(
                            "{}: is a directory, not a capture file",
                            p.display()
                        ));
                    }
                    File::open(p).map_err(|e| format!("{}: {}", p.display(), io_reason(&e)))?;
                    meta.len()
                }
            };
            inputs.push((source, size));
        }
        if a.idle_timeout == 0 {
            return Err("--idle-timeout must be at least 1 second".into());
        }
        if a.max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        let is_stdout = |p: &Option<PathBuf>| p.as_ref().is_some_and(|p| p.as_os_str() == "-");
        if is_stdout(&a.csv) && is_stdout(&a.connections) {
            return Err("--csv and --connections cannot both write to standard output".into());
        }
        if let (Some(x), Some(y)) = (&a.csv, &a.connections) {
            if x == y && x.as_os_str() != "-" {
                return Err(format!(
                    "--csv and --connections name the same file: {}",
                    x.display()
                ));
            }
        }
        let table = !a.quiet && !is_stdout(&a.csv) && !is_stdout(&a.connections);
        let mut include = rules("--include", &a.include)?;
        for file in &a.ranges {
            include.extend(load_rules(file).map_err(|e| format!("--ranges {e}"))?);
        }
        let exclude = rules("--exclude", &a.exclude)?;
        let data = endpoint_data(a.endpoints.as_deref())?;
        log::debug!(
            "scope: {}; {} include and {} exclude rules",
            data.summary(),
            include.len(),
            exclude.len()
        );
        let scope = Scope::new(data, &include, &exclude);
        Ok(ReadSettings {
            inputs,
            config: Config {
                idle_timeout_secs: i64::try_from(a.idle_timeout).unwrap_or(i64::MAX),
                max_flows: a.max_connections,
                scope_all: a.scope == ScopeArg::All,
                ..Config::default()
            },
            csv: a.csv,
            connections: a.connections,
            quiet: a.quiet,
            stats: a.stats,
            top: a.top,
            table,
            scope,
        })
    }
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
}

impl EndpointsSettings {
    /// Queries are checked first (a typo is a usage error even with a bad file), then the data.
    pub fn from_args(a: EndpointsArgs) -> Result<EndpointsSettings, EndpointsError> {
        let lookup = match a.action {
            None => None,
            Some(EndpointsAction::Lookup(l)) => Some(
                l.queries
                    .iter()
                    .map(|q| LookupQuery::parse(q))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(EndpointsError::Usage)?,
            ),
        };
        let data = endpoint_data(a.endpoints.as_deref()).map_err(EndpointsError::Data)?;
        Ok(EndpointsSettings {
            data,
            from_file: a.endpoints.is_some(),
            lookup,
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
}
