//! Microsoft 365 endpoint data and the scope it defines: is this connection's server one of
//! Microsoft 365's, by destination IP, by TLS server name (SNI), or by the user's own rules?
//!
//! - [`EndpointData`] holds one response of Microsoft's "Microsoft 365 IP Address and URL web
//!   service" (`/endpoints/<instance>`): a JSON array of endpoint sets. The worldwide snapshot
//!   is compiled in ([`EndpointData::embedded`], source and date in [`EMBEDDED_SOURCE`] and
//!   `data/README.md`); [`EndpointData::load`] reads a newer or another instance's file.
//! - Lookups are compiled once: [`prefixes`] (longest prefix, nested prefixes keep all their
//!   sets) and [`hostnames`] (PAC/`shExpMatch` wildcards, the reading Microsoft's data is made
//!   for; see `hostnames` for the exact rule).
//! - [`ScopeRule`]s (`--include`, `--exclude`, `--ranges FILE`) are CIDR prefixes or host
//!   patterns with the same wildcard rule; [`Scope::classify`] combines them with the data.
//!
//! Promises: loading either succeeds or gives one [`EndpointError`] whose message is one line
//! naming the file and the element and field at fault; nothing here panics on input, and raw
//! SNI bytes that are not a host name simply match nothing.

pub mod hostnames;
pub mod prefixes;

pub use hostnames::{HostMatch, HostMatcher, HostName, HostPattern, HostPatternError};
pub use prefixes::{IpMatch, Prefix, PrefixParseError, PrefixTable};

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::{Map, Value};

/// The worldwide snapshot, byte for byte as Microsoft's web service returned it.
pub const EMBEDDED_JSON: &[u8] = include_bytes!("data/endpoints-worldwide.json");

/// Where [`EMBEDDED_JSON`] comes from (see `data/README.md` for the sha256 and provenance).
pub const EMBEDDED_SOURCE: &str =
    "Microsoft 365 endpoints web service, worldwide, published on or before 2025-11-14";

/// Microsoft's service areas. `Skype` is Microsoft Teams: it prints as "Teams".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceArea {
    Exchange,
    SharePoint,
    Skype,
    Common,
}

impl ServiceArea {
    pub const ALL: [ServiceArea; 4] = [
        ServiceArea::Exchange,
        ServiceArea::SharePoint,
        ServiceArea::Skype,
        ServiceArea::Common,
    ];

    /// The value of `serviceArea` in Microsoft's data (`"Skype"` for Teams).
    pub fn api_name(self) -> &'static str {
        match self {
            ServiceArea::Exchange => "Exchange",
            ServiceArea::SharePoint => "SharePoint",
            ServiceArea::Skype => "Skype",
            ServiceArea::Common => "Common",
        }
    }

    /// Parses Microsoft's `serviceArea` value (exact spelling).
    pub fn from_api_name(s: &str) -> Option<ServiceArea> {
        ServiceArea::ALL.into_iter().find(|a| a.api_name() == s)
    }
}

/// "Exchange", "SharePoint", "Teams", "Common".
impl fmt::Display for ServiceArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceArea::Skype => "Teams",
            other => other.api_name(),
        })
    }
}

impl serde::Serialize for ServiceArea {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Microsoft's network category. Ordered by priority: `Optimize > Allow > Default` (when a
/// destination is listed under several, Microsoft says the highest wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    Optimize,
    Allow,
    Default,
}

impl Category {
    fn rank(self) -> u8 {
        match self {
            Category::Optimize => 2,
            Category::Allow => 1,
            Category::Default => 0,
        }
    }

    /// The value of `category` in Microsoft's data.
    pub fn api_name(self) -> &'static str {
        match self {
            Category::Optimize => "Optimize",
            Category::Allow => "Allow",
            Category::Default => "Default",
        }
    }

    /// Parses Microsoft's `category` value (exact spelling).
    pub fn from_api_name(s: &str) -> Option<Category> {
        [Category::Optimize, Category::Allow, Category::Default]
            .into_iter()
            .find(|c| c.api_name() == s)
    }
}

impl PartialOrd for Category {
    fn partial_cmp(&self, other: &Category) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Category {
    fn cmp(&self, other: &Category) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.api_name())
    }
}

impl serde::Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A port list from `tcpPorts` / `udpPorts`: comma-separated ports or `a-b` ranges, spaces
/// allowed around items (`"143, 587, 993, 995"`), any order (`"443,80"`). Held as sorted,
/// merged ranges, so it prints canonically: `"443,80"` → `80,443`, `"3478,3479,3480,3481"` →
/// `3478-3481`. An empty string is an empty list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortList(Vec<(u16, u16)>);

/// The item of a port list that is not a port or an `a-b` range with `a <= b`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortListError {
    pub item: String,
}

impl fmt::Display for PortListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a port or a-b range", quote(&self.item))
    }
}

impl std::error::Error for PortListError {}

impl PortList {
    pub fn parse(text: &str) -> Result<PortList, PortListError> {
        if text.trim().is_empty() {
            return Ok(PortList::default());
        }
        let mut ranges = Vec::new();
        for item in text.split(',') {
            let item = item.trim();
            let bad = || PortListError { item: item.into() };
            let port = |s: &str| -> Result<u16, PortListError> {
                let s = s.trim();
                if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                s.parse().map_err(|_| bad())
            };
            let range = match item.split_once('-') {
                Some((a, b)) => (port(a)?, port(b)?),
                None => (port(item)?, port(item)?),
            };
            if range.0 > range.1 {
                return Err(bad());
            }
            ranges.push(range);
        }
        ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Ok(PortList(merged))
    }

    pub fn contains(&self, port: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&port))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorted, merged, inclusive ranges.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.0
    }
}

impl FromStr for PortList {
    type Err = PortListError;
    fn from_str(s: &str) -> Result<PortList, PortListError> {
        PortList::parse(s)
    }
}

impl fmt::Display for PortList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for PortList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One element of Microsoft's array. Absent optional fields are empty / `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSet {
    pub id: u32,
    pub service_area: ServiceArea,
    /// `serviceAreaDisplayName`, e.g. "Exchange Online"; if absent, the [`ServiceArea`]'s name.
    pub service_area_display: String,
    pub category: Category,
    pub required: bool,
    pub express_route: bool,
    pub tcp_ports: PortList,
    pub udp_ports: PortList,
    /// Host names and wildcard patterns as listed (validated; matched lower-cased).
    pub urls: Vec<String>,
    pub ips: Vec<Prefix>,
    pub notes: Option<String>,
}

/// Which of Microsoft's cloud instances a data file describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Instance {
    Worldwide,
    China,
    UsGovDoD,
    UsGovGccHigh,
    /// Not recognisably one instance (user-made, mixed, or with no telling host names).
    Custom,
}

/// Microsoft's instance names, as in the web service URL (`/endpoints/USGovDoD`).
impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Instance::Worldwide => "Worldwide",
            Instance::China => "China",
            Instance::UsGovDoD => "USGovDoD",
            Instance::UsGovGccHigh => "USGovGCCHigh",
            Instance::Custom => "Custom",
        })
    }
}

impl serde::Serialize for Instance {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Host names that only one instance lists → that instance; see [`guess_instance`].
const WORLDWIDE_MARKERS: &[&str] = &[
    "outlook.office365.com",
    "outlook.office.com",
    "*.outlook.com",
    "*.protection.outlook.com",
    "*.office365.com",
    "*.office.com",
    "*.sharepoint.com",
    "*.lync.com",
    "*.skype.com",
    "teams.microsoft.com",
    "*.teams.microsoft.com",
    "*.cloud.microsoft",
    "*.microsoftonline.com",
];

/// The instance a single URL pattern is typical of, if any. Checked on the four reference
/// files and on each service area of each (a test): no pattern votes for a wrong instance.
fn instance_marker(url: &str) -> Option<Instance> {
    let host = url.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let last = *labels.last()?;
    let mut parts = labels.iter().flat_map(|l| l.split('-'));
    if last == "cn" || host == "portal.partner.microsoftonline.cdnsvc.com" {
        Some(Instance::China)
    } else if last == "mil" || parts.clone().any(|p| p == "dod" || p == "mil") {
        // *.apps.mil, *.dod.online.office365.us, outlook-dod.office365.us, *.sharepoint-mil.us
        Some(Instance::UsGovDoD)
    } else if parts.any(|p| p.starts_with("gcc"))
        || (last == "us" && labels.contains(&"gov"))
        || host == "outlook.office365.us"
        || host.ends_with(".sharepoint.us")
    {
        // *.gov.online.office365.us, gcc-high.activity.windows.us, *.sharepoint.us
        Some(Instance::UsGovGccHigh)
    } else if WORLDWIDE_MARKERS.contains(&host.as_str()) {
        Some(Instance::Worldwide)
    } else {
        None
    }
}

/// The instance whose typical host names the data lists; `Custom` if none or several.
fn guess_instance(sets: &[EndpointSet]) -> Instance {
    let mut voted: Vec<Instance> = sets
        .iter()
        .flat_map(|s| &s.urls)
        .filter_map(|u| instance_marker(u))
        .collect();
    voted.sort_unstable();
    voted.dedup();
    match voted.as_slice() {
        [one] => *one,
        _ => Instance::Custom,
    }
}

/// Counts and provenance of loaded data (for `endpoints` output and report headers).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DataSummary {
    pub instance: Instance,
    pub sets: usize,
    /// Distinct IPv4 prefixes.
    pub ipv4_prefixes: usize,
    /// Distinct IPv6 prefixes.
    pub ipv6_prefixes: usize,
    /// Distinct host-name entries (exact and wildcard, after lower-casing).
    pub url_patterns: usize,
    /// Distinct entries with a `*`.
    pub wildcard_patterns: usize,
    /// [`EMBEDDED_SOURCE`] for the embedded data, else the file name.
    pub source: String,
}

impl fmt::Display for DataSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            concat!(
                "{}: {} endpoint sets, {} IPv4 and {} IPv6 prefixes, ",
                "{} host patterns ({} wildcards); {}"
            ),
            self.instance,
            self.sets,
            self.ipv4_prefixes,
            self.ipv6_prefixes,
            self.url_patterns,
            self.wildcard_patterns,
            self.source
        )
    }
}

/// Loaded, validated and compiled endpoint data.
#[derive(Clone, Debug)]
pub struct EndpointData {
    sets: Vec<EndpointSet>,
    /// (id, position in `sets`), sorted by id.
    by_id: Vec<(u32, usize)>,
    prefixes: PrefixTable,
    hosts: HostMatcher,
    instance: Instance,
    source: String,
}

impl EndpointData {
    /// The compiled-in worldwide snapshot.
    pub fn embedded() -> EndpointData {
        match parse_sets(EMBEDDED_JSON) {
            Ok(sets) => EndpointData::build(sets, Instance::Worldwide, EMBEDDED_SOURCE.into()),
            // Not input data: a test parses the same bytes, so this cannot happen in a build
            // whose tests passed.
            Err(e) => panic!("embedded Microsoft 365 endpoint data is invalid: {e}"),
        }
    }

    /// No sets at all: for a scope made only of the user's rules.
    pub fn empty() -> EndpointData {
        EndpointData::build(Vec::new(), Instance::Custom, "no endpoint data".into())
    }

    /// Parses one web-service response (a JSON array of endpoint sets). The instance is guessed
    /// from the host names listed.
    pub fn from_json(bytes: &[u8]) -> Result<EndpointData, EndpointError> {
        let sets = parse_sets(bytes).map_err(|kind| EndpointError { file: None, kind })?;
        let instance = guess_instance(&sets);
        Ok(EndpointData::build(
            sets,
            instance,
            "endpoint data given at run time".into(),
        ))
    }

    /// Reads and parses a file; errors name the file (as given).
    pub fn load(path: &Path) -> Result<EndpointData, EndpointError> {
        let with_file = |kind| EndpointError {
            file: Some(path.to_path_buf()),
            kind,
        };
        let bytes = std::fs::read(path).map_err(|e| with_file(EndpointErrorKind::Read(e)))?;
        let sets = parse_sets(&bytes).map_err(with_file)?;
        let instance = guess_instance(&sets);
        Ok(EndpointData::build(
            sets,
            instance,
            crate::report::escape::path(path),
        ))
    }

    /// Compiles validated sets (ids unique, urls valid patterns).
    fn build(sets: Vec<EndpointSet>, instance: Instance, source: String) -> EndpointData {
        let mut by_id: Vec<(u32, usize)> =
            sets.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        by_id.sort_unstable();
        let prefixes =
            PrefixTable::build(sets.iter().flat_map(|s| s.ips.iter().map(|p| (*p, s.id))));
        let hosts = HostMatcher::build(sets.iter().flat_map(|s| {
            s.urls
                .iter()
                .filter_map(|u| HostPattern::parse(u).ok())
                .map(|p| (p, s.id))
        }));
        EndpointData {
            sets,
            by_id,
            prefixes,
            hosts,
            instance,
            source,
        }
    }

    /// All sets, in file order.
    pub fn sets(&self) -> &[EndpointSet] {
        &self.sets
    }

    /// The set with this id.
    pub fn set(&self, id: u32) -> Option<&EndpointSet> {
        let at = self.by_id.binary_search_by_key(&id, |&(i, _)| i).ok()?;
        let &(_, pos) = self.by_id.get(at)?;
        self.sets.get(pos)
    }

    /// The longest published prefix containing `ip`, with the ids of every set listing it or
    /// a shorter prefix containing `ip` (sorted, deduplicated). IPv4-mapped IPv6 addresses are
    /// IPv6 here (nothing is converted).
    pub fn lookup_ip(&self, ip: IpAddr) -> Option<IpMatch<'_>> {
        self.prefixes.lookup(ip)
    }

    /// Every set with a host pattern matching the raw SNI bytes, one entry per set (its best
    /// pattern), exact entries first, then wildcards with more literal characters first.
    /// Bytes that are not a host name match nothing.
    pub fn match_host(&self, host: &[u8]) -> Vec<HostMatch<'_>> {
        match HostName::parse(host) {
            Some(name) => self.hosts.matches(&name),
            None => Vec::new(),
        }
    }

    /// As [`EndpointData::match_host`], for a name already validated.
    pub fn match_host_name(&self, name: &HostName) -> Vec<HostMatch<'_>> {
        self.hosts.matches(name)
    }

    pub fn instance(&self) -> Instance {
        self.instance
    }

    /// [`EMBEDDED_SOURCE`], the file name given to `load`, or a note for `from_json`.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn summary(&self) -> DataSummary {
        DataSummary {
            instance: self.instance,
            sets: self.sets.len(),
            ipv4_prefixes: self.prefixes.unique_v4(),
            ipv6_prefixes: self.prefixes.unique_v6(),
            url_patterns: self.hosts.unique_patterns(),
            wildcard_patterns: self.hosts.unique_wildcards(),
            source: self.source.clone(),
        }
    }
}

/// A failure to load endpoint data or a rules file. Displays as one line:
/// `FILE: element 3 (id 12): "ips"[2]: "40.96.0.0/33" is not an IPv4/IPv6 prefix`.
/// Element and item indexes count from 0, as JSON tools do (`jq '.[3].ips[2]'`).
#[derive(Debug)]
pub struct EndpointError {
    file: Option<PathBuf>,
    kind: EndpointErrorKind,
}

impl EndpointError {
    /// The file, as given (`None` for [`EndpointData::from_json`]).
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    pub fn kind(&self) -> &EndpointErrorKind {
        &self.kind
    }
}

/// What is wrong, without the file name.
#[derive(Debug)]
pub enum EndpointErrorKind {
    /// The file could not be read.
    Read(std::io::Error),
    /// The bytes are not JSON (serde_json's message gives line and column).
    NotJson(serde_json::Error),
    /// The top level is not an array.
    NotAnArray { found: String },
    /// The array is empty.
    NoSets,
    /// Element `index` of the array (with its id once known) is wrong.
    Element {
        index: usize,
        id: Option<u32>,
        problem: ElementProblem,
    },
    /// A rules file line (counted from 1) is not UTF-8.
    RuleNotUtf8 { line: usize },
    /// A rules file line (counted from 1) is not a rule.
    Rule { line: usize, error: RuleError },
}

impl fmt::Display for EndpointErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Without " (os error N)", like every other file error of the tool.
            EndpointErrorKind::Read(e) => {
                write!(f, "cannot read: {}", crate::report::atomic::io_reason(e))
            }
            EndpointErrorKind::NotJson(e) => write!(f, "not JSON: {e}"),
            EndpointErrorKind::NotAnArray { found } => {
                write!(f, "expected a JSON array of endpoint sets, found {found}")
            }
            EndpointErrorKind::NoSets => f.write_str("the array holds no endpoint sets"),
            EndpointErrorKind::Element { index, id, problem } => {
                write!(f, "element {index}")?;
                if let Some(id) = id {
                    write!(f, " (id {id})")?;
                }
                write!(f, ": {problem}")
            }
            EndpointErrorKind::RuleNotUtf8 { line } => write!(f, "line {line}: not UTF-8"),
            EndpointErrorKind::Rule { line, error } => write!(f, "line {line}: {error}"),
        }
    }
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", crate::report::escape::path(file))?;
        }
        self.kind.fmt(f)
    }
}

impl std::error::Error for EndpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            EndpointErrorKind::Read(e) => Some(e),
            EndpointErrorKind::NotJson(e) => Some(e),
            _ => None,
        }
    }
}

/// What is wrong with one endpoint set. Values are quoted as JSON strings, cut at 80 chars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElementProblem {
    NotAnObject {
        found: String,
    },
    Missing {
        field: &'static str,
    },
    WrongType {
        field: &'static str,
        item: Option<usize>,
        expected: &'static str,
        found: String,
    },
    BadId {
        found: String,
    },
    DuplicateId {
        first_index: usize,
    },
    UnknownServiceArea {
        value: String,
    },
    UnknownCategory {
        value: String,
    },
    BadPorts {
        field: &'static str,
        value: String,
        error: PortListError,
    },
    BadPrefix {
        item: usize,
        value: String,
    },
    BadPattern {
        item: usize,
        value: String,
        error: HostPatternError,
    },
}

impl fmt::Display for ElementProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElementProblem::NotAnObject { found } => {
                write!(f, "expected an object (an endpoint set), found {found}")
            }
            ElementProblem::Missing { field } => write!(f, "\"{field}\" is missing"),
            ElementProblem::WrongType {
                field,
                item,
                expected,
                found,
            } => {
                write!(f, "\"{field}\"")?;
                if let Some(i) = item {
                    write!(f, "[{i}]")?;
                }
                write!(f, ": expected {expected}, found {found}")
            }
            ElementProblem::BadId { found } => write!(
                f,
                "\"id\": expected an integer from 0 to {}, found {found}",
                u32::MAX
            ),
            ElementProblem::DuplicateId { first_index } => {
                write!(f, "\"id\": already used by element {first_index}")
            }
            ElementProblem::UnknownServiceArea { value } => write!(
                f,
                "\"serviceArea\": {} is not one of Exchange, SharePoint, Skype, Common",
                quote(value)
            ),
            ElementProblem::UnknownCategory { value } => write!(
                f,
                "\"category\": {} is not one of Optimize, Allow, Default",
                quote(value)
            ),
            ElementProblem::BadPorts {
                field,
                value,
                error,
            } => write!(
                f,
                "\"{field}\": {} is not a port list: {error}",
                quote(value)
            ),
            ElementProblem::BadPrefix { item, value } => write!(
                f,
                "\"ips\"[{item}]: {} is not an IPv4/IPv6 prefix",
                quote(value)
            ),
            ElementProblem::BadPattern { item, value, error } => write!(
                f,
                "\"urls\"[{item}]: {} is not a host name or wildcard pattern: {error}",
                quote(value)
            ),
        }
    }
}

/// A value as a JSON string literal (escapes keep the message on one line), cut at 80 chars.
fn quote(s: &str) -> String {
    const MAX: usize = 80;
    let cut: String = s.chars().take(MAX).collect();
    let mut q = serde_json::to_string(&cut).unwrap_or_else(|_| "\"?\"".into());
    if s.chars().nth(MAX).is_some() {
        q.push('…');
    }
    q
}

/// A JSON value for an error message: scalars as written, containers by kind.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn parse_sets(bytes: &[u8]) -> Result<Vec<EndpointSet>, EndpointErrorKind> {
    let value: Value = serde_json::from_slice(bytes).map_err(EndpointErrorKind::NotJson)?;
    let Value::Array(items) = value else {
        return Err(EndpointErrorKind::NotAnArray {
            found: describe(&value),
        });
    };
    if items.is_empty() {
        return Err(EndpointErrorKind::NoSets);
    }
    let mut sets = Vec::with_capacity(items.len());
    let mut first_index: HashMap<u32, usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let set = parse_set(item).map_err(|(id, problem)| EndpointErrorKind::Element {
            index,
            id,
            problem,
        })?;
        if let Some(&first) = first_index.get(&set.id) {
            return Err(EndpointErrorKind::Element {
                index,
                id: Some(set.id),
                problem: ElementProblem::DuplicateId { first_index: first },
            });
        }
        first_index.insert(set.id, index);
        sets.push(set);
    }
    Ok(sets)
}

/// One endpoint set; on error, the id if it was read, and the problem. Unknown fields are
/// ignored (Microsoft may add some); `null` counts as absent for optional fields.
fn parse_set(item: &Value) -> Result<EndpointSet, (Option<u32>, ElementProblem)> {
    let Value::Object(obj) = item else {
        return Err((
            None,
            ElementProblem::NotAnObject {
                found: describe(item),
            },
        ));
    };
    let id = match obj.get("id") {
        None => return Err((None, ElementProblem::Missing { field: "id" })),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| (None, ElementProblem::BadId { found: describe(v) }))?,
    };
    parse_fields(id, obj).map_err(|p| (Some(id), p))
}

fn parse_fields(id: u32, obj: &Map<String, Value>) -> Result<EndpointSet, ElementProblem> {
    let area = req_str(obj, "serviceArea")?;
    let service_area = ServiceArea::from_api_name(area)
        .ok_or_else(|| ElementProblem::UnknownServiceArea { value: area.into() })?;
    let service_area_display = opt_str(obj, "serviceAreaDisplayName")?
        .map_or_else(|| service_area.to_string(), str::to_string);
    let category = req_str(obj, "category")?;
    let category =
        Category::from_api_name(category).ok_or_else(|| ElementProblem::UnknownCategory {
            value: category.into(),
        })?;
    let required = req_bool(obj, "required")?;
    let express_route = req_bool(obj, "expressRoute")?;
    let ports = |field: &'static str| -> Result<PortList, ElementProblem> {
        let text = opt_str(obj, field)?.unwrap_or_default();
        PortList::parse(text).map_err(|error| ElementProblem::BadPorts {
            field,
            value: text.into(),
            error,
        })
    };
    let tcp_ports = ports("tcpPorts")?;
    let udp_ports = ports("udpPorts")?;
    let urls = str_array(obj, "urls")?
        .into_iter()
        .enumerate()
        .map(|(item, text)| match HostPattern::parse(text) {
            Ok(_) => Ok(text.to_string()),
            Err(error) => Err(ElementProblem::BadPattern {
                item,
                value: text.into(),
                error,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ips = str_array(obj, "ips")?
        .into_iter()
        .enumerate()
        .map(|(item, text)| {
            Prefix::parse(text).map_err(|_| ElementProblem::BadPrefix {
                item,
                value: text.into(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let notes = opt_str(obj, "notes")?.map(str::to_string);
    Ok(EndpointSet {
        id,
        service_area,
        service_area_display,
        category,
        required,
        express_route,
        tcp_ports,
        udp_ports,
        urls,
        ips,
        notes,
    })
}

fn wrong(
    field: &'static str,
    item: Option<usize>,
    expected: &'static str,
    v: &Value,
) -> ElementProblem {
    ElementProblem::WrongType {
        field,
        item,
        expected,
        found: describe(v),
    }
}

fn req_str<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, ElementProblem> {
    match obj.get(field) {
        None => Err(ElementProblem::Missing { field }),
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(wrong(field, None, "a string", v)),
    }
}

fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'a str>, ElementProblem> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(wrong(field, None, "a string", v)),
    }
}

fn req_bool(obj: &Map<String, Value>, field: &'static str) -> Result<bool, ElementProblem> {
    match obj.get(field) {
        None => Err(ElementProblem::Missing { field }),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(wrong(field, None, "true or false", v)),
    }
}

fn str_array<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Vec<&'a str>, ElementProblem> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.as_str()),
                v => Err(wrong(field, Some(i), "a string", v)),
            })
            .collect(),
        Some(v) => Err(wrong(field, None, "an array of strings", v)),
    }
}

/// A user rule: `--include`, `--exclude`, or a line of a `--ranges` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeRule {
    /// A CIDR prefix; a bare address is its `/32` or `/128`.
    Prefix(Prefix),
    /// A host name or wildcard pattern, matched against SNI like Microsoft's entries.
    Host(HostPattern),
}

impl fmt::Display for ScopeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeRule::Prefix(p) => p.fmt(f),
            ScopeRule::Host(h) => h.fmt(f),
        }
    }
}

/// Why a text is not a rule. Each variant's message quotes the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleError {
    Empty,
    /// Has a `/` but is not a CIDR prefix.
    BadPrefix {
        text: String,
        error: PrefixParseError,
    },
    /// Looks like an address (digits and dots, or a `:`) but is not one.
    BadAddress {
        text: String,
    },
    /// Neither an address nor a valid host pattern.
    BadPattern {
        text: String,
        error: HostPatternError,
    },
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::Empty => f.write_str("empty rule"),
            RuleError::BadPrefix { text, error } => {
                write!(f, "{} is not a CIDR prefix: {error}", quote(text))
            }
            RuleError::BadAddress { text } => {
                write!(f, "{} is not an IPv4 or IPv6 address", quote(text))
            }
            RuleError::BadPattern { text, error } => write!(
                f,
                "{} is not an IP address, a CIDR prefix or a host name pattern: {error}",
                quote(text)
            ),
        }
    }
}

impl std::error::Error for RuleError {}

impl FromStr for ScopeRule {
    type Err = RuleError;
    /// A CIDR prefix (`40.96.0.0/13`, `2603:1006::/40`), a bare address, or a host pattern
    /// (`*.contoso.com`, `mail.contoso.com`). Surrounding spaces are ignored.
    fn from_str(s: &str) -> Result<ScopeRule, RuleError> {
        let text = s.trim();
        if text.is_empty() {
            return Err(RuleError::Empty);
        }
        if text.contains('/') {
            return Prefix::parse(text).map(ScopeRule::Prefix).map_err(|error| {
                RuleError::BadPrefix {
                    text: text.into(),
                    error,
                }
            });
        }
        if let Ok(addr) = text.parse::<IpAddr>() {
            return Ok(ScopeRule::Prefix(Prefix::host(addr)));
        }
        // `10.0.0` or `1.2.3.256` would be valid host names that match nothing useful.
        if text.contains(':') || text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(RuleError::BadAddress { text: text.into() });
        }
        HostPattern::parse(text)
            .map(ScopeRule::Host)
            .map_err(|error| RuleError::BadPattern {
                text: text.into(),
                error,
            })
    }
}

/// Parses one rule (see [`ScopeRule`]'s `FromStr`); the error is the one-line message.
pub fn parse_rule(s: &str) -> Result<ScopeRule, String> {
    s.parse().map_err(|e: RuleError| e.to_string())
}

/// Reads a rules file: one rule per line; `#` starts a comment (to the end of the line);
/// blank lines are skipped; CRLF is accepted. Errors name the file and the line (from 1).
pub fn load_rules(path: &Path) -> Result<Vec<ScopeRule>, EndpointError> {
    let with_file = |kind| EndpointError {
        file: Some(path.to_path_buf()),
        kind,
    };
    let bytes = std::fs::read(path).map_err(|e| with_file(EndpointErrorKind::Read(e)))?;
    parse_rules(&bytes).map_err(with_file)
}

fn parse_rules(bytes: &[u8]) -> Result<Vec<ScopeRule>, EndpointErrorKind> {
    let mut rules = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = std::str::from_utf8(line)
            .map_err(|_| EndpointErrorKind::RuleNotUtf8 { line: line_no })?;
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let rule = line.parse().map_err(|error| EndpointErrorKind::Rule {
            line: line_no,
            error,
        })?;
        rules.push(rule);
    }
    Ok(rules)
}

/// Compiled user rules of one kind (includes or excludes).
#[derive(Clone, Debug, Default)]
struct RuleSet {
    ips: PrefixTable,
    hosts: HostMatcher,
}

impl RuleSet {
    fn new(rules: &[ScopeRule]) -> RuleSet {
        let mut prefixes = Vec::new();
        let mut patterns = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            match rule {
                ScopeRule::Prefix(p) => prefixes.push((*p, i)),
                ScopeRule::Host(h) => patterns.push((h.clone(), i)),
            }
        }
        RuleSet {
            ips: PrefixTable::build(prefixes),
            hosts: HostMatcher::build(patterns),
        }
    }

    fn by_ip(&self, ip: IpAddr) -> bool {
        self.ips.lookup(ip).is_some()
    }

    fn by_name(&self, name: Option<&HostName>) -> bool {
        name.is_some_and(|n| self.hosts.is_match(n))
    }
}

/// Endpoint data plus the user's includes and excludes: decides per connection.
#[derive(Clone, Debug)]
pub struct Scope {
    data: EndpointData,
    include: RuleSet,
    exclude: RuleSet,
}

/// How one connection relates to Microsoft 365 and the user's rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classification {
    /// The server IP is in a published prefix.
    pub by_ip: bool,
    /// The SNI matches a published host pattern.
    pub by_sni: bool,
    /// Sets matched by IP or SNI, sorted, deduplicated.
    pub set_ids: Vec<u32>,
    /// Their service areas, sorted, deduplicated.
    pub service_areas: Vec<ServiceArea>,
    /// The highest category among those sets.
    pub best_category: Option<Category>,
    /// An include rule matched (IP or SNI).
    pub included_by_user: bool,
    /// An include prefix matched the server IP.
    pub included_by_user_ip: bool,
    /// An include host pattern matched the SNI.
    pub included_by_user_sni: bool,
    /// An exclude rule matched the server IP or the SNI.
    pub excluded: bool,
    /// The host of an HTTP `CONNECT` matched (by its name, or its IP literal): see
    /// [`Scope::classify_connection`].
    pub by_connect: bool,
    /// The name matched was the `CONNECT` host's, not an SNI.
    pub name_from_connect: bool,
}

impl Classification {
    /// Counted in the census: matched by data or an include, and not excluded.
    pub fn in_scope(&self) -> bool {
        (self.by_ip || self.by_sni || self.included_by_user) && !self.excluded
    }

    /// What matched, `+`-joined: `ip` (an address: the server's, or a `CONNECT` host's IP
    /// literal), `sni` (the SNI), `connect` (the `CONNECT` host: its name, or its IP
    /// literal); or "" (user includes count by their kind; exclusion is not reflected here,
    /// see [`Classification::in_scope`]).
    pub fn match_label(&self) -> &'static str {
        let name = self.by_sni || self.included_by_user_sni;
        match (
            self.by_ip || self.included_by_user_ip,
            name && !self.name_from_connect,
            self.by_connect,
        ) {
            (true, true, true) => "ip+sni+connect",
            (true, true, false) => "ip+sni",
            (true, false, true) => "ip+connect",
            (true, false, false) => "ip",
            (false, true, true) => "sni+connect",
            (false, true, false) => "sni",
            (false, false, true) => "connect",
            (false, false, false) => "",
        }
    }
}

impl Scope {
    pub fn new(data: EndpointData, include: &[ScopeRule], exclude: &[ScopeRule]) -> Scope {
        Scope {
            data,
            include: RuleSet::new(include),
            exclude: RuleSet::new(exclude),
        }
    }

    pub fn data(&self) -> &EndpointData {
        &self.data
    }

    /// Classifies a connection by its server address and raw SNI bytes (if any). SNI that is
    /// not a host name matches nothing (no data match, no include, no exclude).
    /// Whether a server known by its address alone, or by its host name alone, is in scope,
    /// and why: `excluded` (an `--exclude` rule, which wins), `microsoft-365` (the endpoint
    /// data), `included` (an `--include` rule), or `none`. The census's own classification
    /// ([`Classification::in_scope`]) of what is known.
    pub fn scope_of(&self, ip: Option<IpAddr>, name: Option<&HostName>) -> (bool, &'static str) {
        let c = self.classify_parts(ip, name);
        let why = if c.excluded {
            "excluded"
        } else if c.by_ip || c.by_sni {
            "microsoft-365"
        } else if c.included_by_user {
            "included"
        } else {
            "none"
        };
        (c.in_scope(), why)
    }

    pub fn classify(&self, server_ip: IpAddr, sni: Option<&[u8]>) -> Classification {
        let name = sni.and_then(HostName::parse);
        self.classify_parts(Some(server_ip), name.as_ref())
    }

    /// [`Self::classify`] of a connection that may have gone through an explicit proxy: its
    /// client named the server in `CONNECT host:port` (`connect_host`, raw bytes, port and
    /// brackets removed), and `server_ip` is then the proxy's address. The proxy's address
    /// matches the user's rules only (an `--include` naming the proxy brings its connections
    /// in, an `--exclude` leaves them out), never Microsoft's prefixes. The `CONNECT` host
    /// stands for the server: an IP literal is matched as the server's address, a host name
    /// as the SNI when the ClientHello has none (or one that is not a host name); an exclude
    /// naming the `CONNECT` host wins in any case. Without `connect_host`, [`Self::classify`].
    pub fn classify_connection(
        &self,
        server_ip: IpAddr,
        sni: Option<&[u8]>,
        connect_host: Option<&[u8]>,
    ) -> Classification {
        let Some(host) = connect_host else {
            return self.classify(server_ip, sni);
        };
        let literal: Option<IpAddr> = std::str::from_utf8(host).ok().and_then(|h| h.parse().ok());
        let connect_name = match literal {
            Some(_) => None,
            None => HostName::parse(host),
        };
        let sni_name = sni.and_then(HostName::parse);
        let name_from_connect = sni_name.is_none() && connect_name.is_some();
        let name = sni_name.or_else(|| connect_name.clone());
        let mut c = self.classify_parts(literal, name.as_ref());
        let literal_matched = c.by_ip || c.included_by_user_ip;
        let name_matched = c.by_sni || c.included_by_user_sni;
        let proxy_included = self.include.by_ip(server_ip);
        c.included_by_user_ip |= proxy_included;
        c.included_by_user |= proxy_included;
        c.excluded |= self.exclude.by_ip(server_ip) || self.exclude.by_name(connect_name.as_ref());
        c.by_connect = literal_matched || (name_from_connect && name_matched);
        c.name_from_connect = name_from_connect;
        c
    }

    /// [`Self::classify`] of what is known of a server: its address, its host name, or both.
    fn classify_parts(&self, ip: Option<IpAddr>, name: Option<&HostName>) -> Classification {
        let ip_match = ip.and_then(|a| self.data.lookup_ip(a));
        let host_matches = match name {
            Some(n) => self.data.match_host_name(n),
            None => Vec::new(),
        };
        let mut set_ids: Vec<u32> = ip_match.map(|m| m.set_ids.to_vec()).unwrap_or_default();
        set_ids.extend(host_matches.iter().map(|m| m.set_id));
        set_ids.sort_unstable();
        set_ids.dedup();
        let sets = || set_ids.iter().filter_map(|&id| self.data.set(id));
        let mut service_areas: Vec<ServiceArea> = sets().map(|s| s.service_area).collect();
        service_areas.sort_unstable();
        service_areas.dedup();
        let best_category = sets().map(|s| s.category).max();
        let included_by_user_ip = ip.is_some_and(|a| self.include.by_ip(a));
        let included_by_user_sni = self.include.by_name(name);
        let excluded = ip.is_some_and(|a| self.exclude.by_ip(a)) || self.exclude.by_name(name);
        Classification {
            by_ip: ip_match.is_some(),
            by_sni: !host_matches.is_empty(),
            set_ids,
            service_areas,
            best_category,
            included_by_user: included_by_user_ip || included_by_user_sni,
            included_by_user_ip,
            included_by_user_sni,
            excluded,
            by_connect: false,
            name_from_connect: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const CHINA: &[u8] = include_bytes!("data/endpoints-china.json");
    const DOD: &[u8] = include_bytes!("data/endpoints-usgovdod.json");
    const GCCHIGH: &[u8] = include_bytes!("data/endpoints-usgovgcchigh.json");

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn lookup(d: &EndpointData, a: &str) -> Option<(String, Vec<u32>)> {
        d.lookup_ip(ip(a))
            .map(|m| (m.prefix.to_string(), m.set_ids.to_vec()))
    }

    fn hosts(d: &EndpointData, h: &[u8]) -> Vec<(u32, String, bool)> {
        d.match_host(h)
            .into_iter()
            .map(|m| (m.set_id, m.pattern.to_string(), m.exact))
            .collect()
    }

    /// A scratch file that removes itself.
    struct TempFile(PathBuf);
    impl TempFile {
        fn new(name: &str, bytes: &[u8]) -> TempFile {
            let path =
                std::env::temp_dir().join(format!("m365-test-{}-{name}", std::process::id()));
            std::fs::write(&path, bytes).unwrap();
            TempFile(path)
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn embedded_data_parses_and_keeps_its_invariants() {
        assert_eq!(EMBEDDED_JSON.len(), 27359);
        assert_eq!(EMBEDDED_JSON.last(), Some(&b']'));
        assert!(EndpointData::from_json(EMBEDDED_JSON).is_ok());
        let d = EndpointData::embedded();
        assert_eq!(d.instance(), Instance::Worldwide);
        assert_eq!(
            d.summary(),
            DataSummary {
                instance: Instance::Worldwide,
                sets: 64,
                ipv4_prefixes: 34,
                ipv6_prefixes: 59,
                url_patterns: 195,
                wildcard_patterns: 75,
                source: "Microsoft 365 endpoints web service, worldwide, published on or \
                         before 2025-11-14"
                    .into(),
            }
        );
        assert_eq!(
            d.summary().to_string(),
            "Worldwide: 64 endpoint sets, 34 IPv4 and 59 IPv6 prefixes, 195 host patterns \
             (75 wildcards); Microsoft 365 endpoints web service, worldwide, published on or \
             before 2025-11-14"
        );
        // README "Worldwide details".
        let with_ips: Vec<u32> = d
            .sets()
            .iter()
            .filter(|s| !s.ips.is_empty())
            .map(|s| s.id)
            .collect();
        assert_eq!(with_ips, [1, 2, 9, 10, 11, 12, 31, 46, 56, 64]);
        for s in d.sets() {
            let optimize_or_allow = s.category != Category::Default;
            assert_eq!(!s.ips.is_empty(), optimize_or_allow, "set {}", s.id);
            assert_eq!(s.express_route, optimize_or_allow, "set {}", s.id);
            assert!(!s.tcp_ports.is_empty() || s.urls.is_empty(), "set {}", s.id);
        }
        let count = |f: &dyn Fn(&EndpointSet) -> bool| d.sets().iter().filter(|s| f(s)).count();
        assert_eq!(count(&|s| s.service_area == ServiceArea::Exchange), 5);
        assert_eq!(count(&|s| s.service_area == ServiceArea::Skype), 7);
        assert_eq!(count(&|s| s.service_area == ServiceArea::SharePoint), 7);
        assert_eq!(count(&|s| s.service_area == ServiceArea::Common), 45);
        assert_eq!(count(&|s| s.category == Category::Optimize), 3);
        assert_eq!(count(&|s| s.category == Category::Allow), 7);
        assert_eq!(count(&|s| s.category == Category::Default), 54);
        // No worldwide prefix contains another: one span per distinct prefix.
        assert_eq!(d.prefixes.span_count(), 34 + 59);
        // Field values of two sets, as in the file.
        let s2 = d.set(2).unwrap();
        assert_eq!(s2.service_area_display, "Exchange Online");
        assert_eq!(s2.tcp_ports.to_string(), "143,587,993,995");
        assert!(s2.udp_ports.is_empty());
        assert_eq!(
            s2.notes.as_deref(),
            Some("POP3, IMAP4, SMTP Client traffic")
        );
        assert!(!s2.required);
        let s11 = d.set(11).unwrap();
        assert!(s11.urls.is_empty());
        assert_eq!(s11.udp_ports.to_string(), "3478-3481");
        assert_eq!(s11.service_area.to_string(), "Teams");
        assert_eq!(d.set(3), None);
        assert_eq!(d.set(184).map(|s| s.id), Some(184));
    }

    /// README "Counts measured": sets; v4, v6 and URL entries / unique; wildcards entries /
    /// unique; sets without ips; sets without urls; and the guessed instance.
    #[test]
    fn counts_of_all_four_files() {
        let files: [(&[u8], [usize; 11], Instance); 4] = [
            (
                EMBEDDED_JSON,
                [64, 51, 34, 78, 59, 204, 195, 77, 75, 54, 1],
                Instance::Worldwide,
            ),
            (
                CHINA,
                [21, 72, 57, 29, 18, 49, 47, 34, 32, 10, 1],
                Instance::China,
            ),
            (
                DOD,
                [24, 24, 22, 12, 12, 86, 84, 29, 29, 15, 0],
                Instance::UsGovDoD,
            ),
            (
                GCCHIGH,
                [26, 25, 21, 15, 14, 87, 85, 29, 29, 16, 1],
                Instance::UsGovGccHigh,
            ),
        ];
        for (bytes, want, instance) in files {
            let d = EndpointData::from_json(bytes).unwrap();
            let s = d.summary();
            let all_ips = || d.sets().iter().flat_map(|s| &s.ips);
            let all_urls = || d.sets().iter().flat_map(|s| &s.urls);
            let got = [
                s.sets,
                all_ips().filter(|p| p.is_ipv4()).count(),
                s.ipv4_prefixes,
                all_ips().filter(|p| !p.is_ipv4()).count(),
                s.ipv6_prefixes,
                all_urls().count(),
                s.url_patterns,
                all_urls().filter(|u| u.contains('*')).count(),
                s.wildcard_patterns,
                d.sets().iter().filter(|s| s.ips.is_empty()).count(),
                d.sets().iter().filter(|s| s.urls.is_empty()).count(),
            ];
            assert_eq!(got, want, "{instance}");
            assert_eq!(s.instance, instance);
        }
    }

    /// Each service area of each file alone is still recognised, or called Custom; never
    /// another instance. Mixed data is Custom.
    #[test]
    fn instance_guess_never_names_the_wrong_instance() {
        let files = [
            (EMBEDDED_JSON, Instance::Worldwide),
            (CHINA, Instance::China),
            (DOD, Instance::UsGovDoD),
            (GCCHIGH, Instance::UsGovGccHigh),
        ];
        let mut all = Vec::new();
        for (bytes, instance) in files {
            let d = EndpointData::from_json(bytes).unwrap();
            for area in ServiceArea::ALL {
                let only: Vec<EndpointSet> = d
                    .sets()
                    .iter()
                    .filter(|s| s.service_area == area)
                    .cloned()
                    .collect();
                assert_eq!(guess_instance(&only), instance, "{instance} {area}");
            }
            for s in d.sets() {
                let g = guess_instance(std::slice::from_ref(s));
                assert!(
                    g == instance || g == Instance::Custom,
                    "{instance} set {}",
                    s.id
                );
            }
            all.extend(d.sets().iter().cloned());
        }
        assert_eq!(guess_instance(&all), Instance::Custom);
        assert_eq!(guess_instance(&[]), Instance::Custom);
        let custom = br#"[{"id":1,"serviceArea":"Common","category":"Default","required":true,
            "expressRoute":false,"urls":["*.contoso.com"],"ips":["10.0.0.0/8"]}]"#;
        assert_eq!(
            EndpointData::from_json(custom).unwrap().instance(),
            Instance::Custom
        );
        assert_eq!(EndpointData::empty().summary().sets, 0);
    }

    /// README "Well-known ranges": first and last address hit the prefix with its sets; one
    /// address outside each side does not hit it.
    #[test]
    fn well_known_prefixes_and_their_edges() {
        let d = EndpointData::embedded();
        let table: [(&str, &str, &str, &[u32]); 19] = [
            ("40.96.0.0/13", "40.96.0.0", "40.103.255.255", &[1, 2]),
            ("52.96.0.0/14", "52.96.0.0", "52.99.255.255", &[1, 2]),
            (
                "2603:1006::/40",
                "2603:1006::",
                "2603:1006:ff:ffff:ffff:ffff:ffff:ffff",
                &[1, 2],
            ),
            ("40.104.0.0/15", "40.104.0.0", "40.105.255.255", &[1, 2]),
            ("132.245.0.0/16", "132.245.0.0", "132.245.255.255", &[1, 2]),
            ("40.92.0.0/15", "40.92.0.0", "40.93.255.255", &[9, 10]),
            ("40.107.0.0/16", "40.107.0.0", "40.107.255.255", &[9, 10]),
            ("52.100.0.0/14", "52.100.0.0", "52.103.255.255", &[9, 10]),
            ("104.47.0.0/17", "104.47.0.0", "104.47.127.255", &[9, 10]),
            (
                "2a01:111:f400::/48",
                "2a01:111:f400::",
                "2a01:111:f400:ffff:ffff:ffff:ffff:ffff",
                &[9, 10],
            ),
            (
                "2a01:111:f403::/48",
                "2a01:111:f403::",
                "2a01:111:f403:ffff:ffff:ffff:ffff:ffff",
                &[9, 10],
            ),
            ("13.107.136.0/22", "13.107.136.0", "13.107.139.255", &[31]),
            (
                "2620:1ec:8f8::/46",
                "2620:1ec:8f8::",
                "2620:1ec:8fb:ffff:ffff:ffff:ffff:ffff",
                &[31],
            ),
            (
                "2a01:111:f402::/48",
                "2a01:111:f402::",
                "2a01:111:f402:ffff:ffff:ffff:ffff:ffff",
                &[31],
            ),
            ("52.112.0.0/14", "52.112.0.0", "52.115.255.255", &[11, 12]),
            ("52.122.0.0/15", "52.122.0.0", "52.123.255.255", &[11, 12]),
            (
                "2603:1063::/38",
                "2603:1063::",
                "2603:1063:3ff:ffff:ffff:ffff:ffff:ffff",
                &[11, 12],
            ),
            ("20.190.128.0/18", "20.190.128.0", "20.190.191.255", &[56]),
            ("40.126.0.0/18", "40.126.0.0", "40.126.63.255", &[56]),
        ];
        let step = |a: &str, up: bool| -> IpAddr {
            match ip(a) {
                IpAddr::V4(v) => {
                    let n = u32::from(v);
                    IpAddr::V4(if up { n + 1 } else { n - 1 }.into())
                }
                IpAddr::V6(v) => {
                    let n = u128::from(v);
                    IpAddr::V6(if up { n + 1 } else { n - 1 }.into())
                }
            }
        };
        for (prefix, first, last, ids) in table {
            let want = Some((prefix.to_string(), ids.to_vec()));
            assert_eq!(lookup(&d, first), want, "{prefix} first");
            assert_eq!(lookup(&d, last), want, "{prefix} last");
            for outside in [step(first, false), step(last, true)] {
                let got = d.lookup_ip(outside).map(|m| m.prefix.to_string());
                assert_ne!(got.as_deref(), Some(prefix), "{prefix} {outside}");
            }
        }
        // Outside neighbours that are in no published prefix, and ones that are in the next.
        assert_eq!(lookup(&d, "40.95.255.255"), None);
        assert_eq!(lookup(&d, "2603:1005:ffff:ffff:ffff:ffff:ffff:ffff"), None);
        assert_eq!(lookup(&d, "2603:1006:100::"), None);
        assert_eq!(lookup(&d, "13.107.135.255"), None);
        assert_eq!(lookup(&d, "13.107.140.0"), None);
        assert_eq!(lookup(&d, "20.190.127.255"), None);
        assert_eq!(lookup(&d, "20.190.192.0"), None);
        assert_eq!(lookup(&d, "40.104.0.0").unwrap().0, "40.104.0.0/15");
        assert_eq!(lookup(&d, "52.111.255.255").unwrap().0, "52.108.0.0/14");
        // No longer published (README), and families do not mix.
        assert_eq!(lookup(&d, "13.107.64.1"), None);
        assert_eq!(lookup(&d, "52.120.0.1"), None);
        assert_eq!(lookup(&d, "::ffff:40.96.0.1"), None);
        assert_eq!(lookup(&d, "8.8.8.8"), None);
        // Host prefixes (/32, /128) and a /31.
        assert_eq!(lookup(&d, "2620:1ec:4::152").unwrap().1, [1, 2]);
        assert_eq!(lookup(&d, "2620:1ec:4::151"), None);
        assert_eq!(lookup(&d, "13.107.6.153").unwrap().0, "13.107.6.152/31");
        assert_eq!(lookup(&d, "13.107.6.154"), None);
    }

    #[test]
    fn dod_nesting_keeps_all_sets() {
        let d = EndpointData::from_json(DOD).unwrap();
        let outer = Some(("52.127.72.0/21".to_string(), vec![16, 26]));
        // The /21 below is another set's.
        assert_eq!(
            lookup(&d, "52.127.71.255"),
            Some(("52.127.64.0/21".to_string(), vec![7]))
        );
        assert_eq!(lookup(&d, "52.127.72.0"), outer);
        assert_eq!(lookup(&d, "52.127.72.41"), outer);
        assert_eq!(
            lookup(&d, "52.127.72.42"),
            Some(("52.127.72.42/32".to_string(), vec![15, 16, 26]))
        );
        assert_eq!(lookup(&d, "52.127.72.43"), outer);
        assert_eq!(
            lookup(&d, "52.127.76.42"),
            Some(("52.127.76.42/32".to_string(), vec![15, 16, 26]))
        );
        assert_eq!(lookup(&d, "52.127.79.255"), outer);
        assert_eq!(
            lookup(&d, "52.127.80.0"),
            Some(("52.127.80.0/23".to_string(), vec![11]))
        );
    }

    #[test]
    fn host_matching_on_the_embedded_data() {
        let d = EndpointData::embedded();
        let e = |id: u32, p: &str, exact: bool| (id, p.to_string(), exact);
        assert_eq!(
            hosts(&d, b"outlook.office365.com"),
            [
                e(1, "outlook.office365.com", true),
                e(2, "outlook.office365.com", true),
                e(71, "*.office365.com", false)
            ]
        );
        assert_eq!(
            hosts(&d, b"Outlook.Office365.COM."),
            hosts(&d, b"outlook.office365.com")
        );
        for h in [&b"A.Outlook.COM."[..], b"a.outlook.com", b"a.b.outlook.com"] {
            assert_eq!(hosts(&d, h), [e(8, "*.outlook.com", false)]);
        }
        for h in [
            &b"outlook.com"[..],
            b"xoutlook.com",
            b"outlook.com.evil.net",
            b"cdn.onenote.net.x",
            b"onenote.net",
            b"www.example.com",
        ] {
            assert_eq!(hosts(&d, h), [], "{}", String::from_utf8_lossy(h));
        }
        for h in [
            &b"cdn.onenote.net"[..],
            b"xyzcdn.onenote.net",
            b"a.bcdn.onenote.net",
        ] {
            assert_eq!(hosts(&d, h), [e(51, "*cdn.onenote.net", false)]);
        }
        for h in [
            &b"autodiscover.contoso.onmicrosoft.com"[..],
            b"autodiscover.a.b.onmicrosoft.com",
        ] {
            assert_eq!(
                hosts(&d, h),
                [
                    e(8, "autodiscover.*.onmicrosoft.com", false),
                    e(78, "*.onmicrosoft.com", false)
                ]
            );
        }
        assert_eq!(
            hosts(&d, b"autodiscover.onmicrosoft.com"),
            [e(78, "*.onmicrosoft.com", false)]
        );
        assert_eq!(
            hosts(&d, b"teams.microsoft.com"),
            [
                e(12, "teams.microsoft.com", true),
                e(50, "*.microsoft.com", false),
                e(78, "*.microsoft.com", false)
            ]
        );
        // Hostile bytes: no match, no panic.
        let long = vec![b'a'; 100_000];
        for h in [
            &b""[..],
            b".",
            b"outlook.office365.com..",
            b".outlook.office365.com",
            b"outlook..office365.com",
            b"outlook.office365.com\0",
            b"outlook.office365.com\xff",
            b"*.office365.com",
            b"outlook office365.com",
            &long,
        ] {
            assert_eq!(hosts(&d, h), [], "{:?}", String::from_utf8_lossy(h));
        }
    }

    /// The indexed matcher agrees with testing every pattern of every file, on names made
    /// from the patterns themselves.
    #[test]
    fn host_index_agrees_with_linear_scan_on_all_files() {
        for bytes in [EMBEDDED_JSON, CHINA, DOD, GCCHIGH] {
            let d = EndpointData::from_json(bytes).unwrap();
            let pats: Vec<(HostPattern, u32)> = d
                .sets()
                .iter()
                .flat_map(|s| {
                    s.urls
                        .iter()
                        .map(|u| (HostPattern::parse(u).unwrap(), s.id))
                })
                .collect();
            let mut names: Vec<String> = Vec::new();
            for (p, _) in &pats {
                for fill in ["", "x", "a.b", "cdn", "autodiscover"] {
                    names.push(p.as_str().replace('*', fill));
                    names.push(format!("q.{}", p.as_str().replace('*', fill)));
                    names.push(format!("{}.q", p.as_str().replace('*', fill)));
                }
            }
            for n in names {
                let Some(name) = HostName::parse(n.as_bytes()) else {
                    continue;
                };
                let mut want: Vec<u32> = pats
                    .iter()
                    .filter(|(p, _)| p.matches(&name))
                    .map(|(_, id)| *id)
                    .collect();
                want.sort_unstable();
                want.dedup();
                let mut got: Vec<u32> = d
                    .match_host(n.as_bytes())
                    .iter()
                    .map(|m| m.set_id)
                    .collect();
                got.sort_unstable();
                assert_eq!(got, want, "{n}");
            }
        }
    }

    fn load_err(name: &str, json: &str) -> String {
        let f = TempFile::new(name, json.as_bytes());
        let err = EndpointData::load(&f.0).unwrap_err().to_string();
        let prefix = format!("{}: ", f.0.display());
        assert!(err.starts_with(&prefix), "{err}");
        assert!(!err.contains('\n'), "{err}");
        err[prefix.len()..].to_string()
    }

    /// A valid set with one field replaced (or removed, with `null` meaning remove here).
    fn set_with(field: &str, value: &str) -> String {
        let mut fields = vec![
            ("id", "1"),
            ("serviceArea", "\"Exchange\""),
            ("serviceAreaDisplayName", "\"Exchange Online\""),
            ("urls", "[\"outlook.office.com\"]"),
            ("ips", "[\"40.96.0.0/13\"]"),
            ("tcpPorts", "\"80,443\""),
            ("expressRoute", "true"),
            ("category", "\"Optimize\""),
            ("required", "true"),
        ];
        fields.retain(|(k, _)| *k != field);
        let mut out: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        if value != "REMOVE" {
            out.push(format!("\"{field}\":{value}"));
        }
        format!("{{{}}}", out.join(","))
    }

    #[test]
    fn malformed_files_give_exact_messages() {
        let ok = set_with("notes", "\"fine\"");
        let raw = |name: &str, json: &str, want: &str| assert_eq!(load_err(name, json), want);
        // One otherwise valid set with `field` set to `value` (or removed).
        let one = |field: &str, value: &str, want: &str| {
            assert_eq!(
                load_err(field, &format!("[{}]", set_with(field, value))),
                want
            );
        };
        raw(
            "not-json",
            "hello",
            "not JSON: expected value at line 1 column 1",
        );
        raw(
            "truncated",
            r#"[{"id": 1,"#,
            "not JSON: EOF while parsing a value at line 1 column 10",
        );
        raw(
            "object",
            r#"{"id": 1}"#,
            "expected a JSON array of endpoint sets, found an object",
        );
        raw(
            "string",
            r#""x""#,
            r#"expected a JSON array of endpoint sets, found "x""#,
        );
        raw("empty", "[]", "the array holds no endpoint sets");
        raw(
            "element-not-object",
            "[5]",
            "element 0: expected an object (an endpoint set), found 5",
        );
        one("id", "REMOVE", r#"element 0: "id" is missing"#);
        let bad_id = r#"element 0: "id": expected an integer from 0 to 4294967295, found "#;
        for (value, found) in [
            (r#""12""#, r#""12""#),
            ("-1", "-1"),
            ("1.5", "1.5"),
            ("4294967296", "4294967296"),
            ("null", "null"),
        ] {
            one("id", value, &format!("{bad_id}{found}"));
        }
        let ips = r#"["40.96.0.0/13","2603:1006::/40","40.96.0.0/33"]"#;
        let bad = set_with("id", "12").replace(r#"["40.96.0.0/13"]"#, ips);
        let ok2 = set_with("id", "2");
        let ok3 = set_with("id", "3");
        raw(
            "bad-prefix",
            &format!("[{ok},{ok2},{ok3},{bad}]"),
            r#"element 3 (id 12): "ips"[2]: "40.96.0.0/33" is not an IPv4/IPv6 prefix"#,
        );
        one(
            "ips",
            r#"["40.96.0.1"]"#,
            r#"element 0 (id 1): "ips"[0]: "40.96.0.1" is not an IPv4/IPv6 prefix"#,
        );
        one(
            "tcpPorts",
            r#""80,x""#,
            r#"element 0 (id 1): "tcpPorts": "80,x" is not a port list: "x" is not a port or a-b range"#,
        );
        one(
            "udpPorts",
            r#""3481-3478""#,
            r#"element 0 (id 1): "udpPorts": "3481-3478" is not a port list: "3481-3478" is not a port or a-b range"#,
        );
        one(
            "tcpPorts",
            r#""443, 65536""#,
            r#"element 0 (id 1): "tcpPorts": "443, 65536" is not a port list: "65536" is not a port or a-b range"#,
        );
        one(
            "tcpPorts",
            "443",
            r#"element 0 (id 1): "tcpPorts": expected a string, found 443"#,
        );
        one(
            "required",
            r#""yes""#,
            r#"element 0 (id 1): "required": expected true or false, found "yes""#,
        );
        one(
            "expressRoute",
            "REMOVE",
            r#"element 0 (id 1): "expressRoute" is missing"#,
        );
        one(
            "category",
            "REMOVE",
            r#"element 0 (id 1): "category" is missing"#,
        );
        one(
            "urls",
            r#""outlook.office.com""#,
            r#"element 0 (id 1): "urls": expected an array of strings, found "outlook.office.com""#,
        );
        one(
            "urls",
            r#"["a.com",null]"#,
            r#"element 0 (id 1): "urls"[1]: expected a string, found null"#,
        );
        one(
            "ips",
            "{}",
            r#"element 0 (id 1): "ips": expected an array of strings, found an object"#,
        );
        one(
            "notes",
            "[]",
            r#"element 0 (id 1): "notes": expected a string, found an array"#,
        );
        let bad_char = "it has a character other than letters, digits, '-', '_', '.' and '*'";
        one(
            "urls",
            r#"["https://outlook.office.com/owa"]"#,
            &format!(
                r#"element 0 (id 1): "urls"[0]: "https://outlook.office.com/owa" is not a host name or wildcard pattern: {bad_char}"#
            ),
        );
        // A control character stays escaped: the message is one line.
        one(
            "urls",
            r#"["a\nb"]"#,
            &format!(
                r#"element 0 (id 1): "urls"[0]: "a\nb" is not a host name or wildcard pattern: {bad_char}"#
            ),
        );
        one(
            "urls",
            r#"["a..com"]"#,
            r#"element 0 (id 1): "urls"[0]: "a..com" is not a host name or wildcard pattern: it has an empty label"#,
        );
        one(
            "serviceArea",
            r#""MEM""#,
            r#"element 0 (id 1): "serviceArea": "MEM" is not one of Exchange, SharePoint, Skype, Common"#,
        );
        one(
            "category",
            r#""optimize""#,
            r#"element 0 (id 1): "category": "optimize" is not one of Optimize, Allow, Default"#,
        );
        raw(
            "duplicate",
            &format!("[{ok},{}]", set_with("id", "1")),
            r#"element 1 (id 1): "id": already used by element 0"#,
        );
        // Long values are cut.
        let long = "x".repeat(200);
        let err = load_err(
            "long",
            &format!("[{}]", set_with("category", &format!("\"{long}\""))),
        );
        assert_eq!(
            err,
            format!(
                "element 0 (id 1): \"category\": \"{}\"… is not one of Optimize, Allow, Default",
                "x".repeat(80)
            )
        );
        // Without a file (from_json), the message has no file part.
        assert_eq!(
            EndpointData::from_json(b"[]").unwrap_err().to_string(),
            "the array holds no endpoint sets"
        );
        // Unreadable file.
        let missing = Path::new("/nonexistent/endpoints.json");
        let err = EndpointData::load(missing).unwrap_err();
        assert!(matches!(err.kind(), EndpointErrorKind::Read(_)));
        assert!(err
            .to_string()
            .starts_with("/nonexistent/endpoints.json: cannot read: "));
        assert_eq!(err.file(), Some(missing));
        // Optional fields may be absent or null; unknown fields are ignored.
        let minimal = r#"[{"id":7,"serviceArea":"Skype","category":"Allow","required":false,
            "expressRoute":false,"notes":null,"urls":null,"futureField":{"x":1}}]"#;
        let d = EndpointData::from_json(minimal.as_bytes()).unwrap();
        let s = d.set(7).unwrap();
        assert_eq!(s.service_area_display, "Teams");
        assert!(s.tcp_ports.is_empty() && s.urls.is_empty() && s.ips.is_empty());
        assert_eq!(s.notes, None);
    }

    #[test]
    fn port_lists() {
        let p = |s: &str| PortList::parse(s).unwrap();
        assert_eq!(p("80,443").to_string(), "80,443");
        assert_eq!(p("443,80").to_string(), "80,443");
        assert_eq!(p("443,80"), p("80,443"));
        assert_eq!(p("143, 587, 993, 995").to_string(), "143,587,993,995");
        assert_eq!(p("3478-3481").to_string(), "3478-3481");
        assert_eq!(p("3478,3479,3480,3481").to_string(), "3478-3481");
        assert_eq!(p("3478, 3479, 3480, 3481"), p("3478-3481"));
        assert_eq!(p("1-10, 5-20, 22").to_string(), "1-20,22");
        assert_eq!(p("0,65535").to_string(), "0,65535");
        assert_eq!(p("").to_string(), "");
        assert!(p("").is_empty());
        let l = p("143, 587, 993, 995");
        assert!(l.contains(587) && !l.contains(588) && !l.contains(443));
        let r = p("3478-3481");
        assert!(!r.contains(3477) && r.contains(3478) && r.contains(3481) && !r.contains(3482));
        assert_eq!(r.ranges(), [(3478, 3481)]);
        for bad in [
            "80,", ",80", "80,,443", "x", "-1", "65536", "1-", "-", "5-1", "+80", "80 443",
        ] {
            assert!(PortList::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            PortList::parse("80, 4x3").unwrap_err().to_string(),
            "\"4x3\" is not a port or a-b range"
        );
    }

    #[test]
    fn enums_print_and_order() {
        let names: Vec<String> = ServiceArea::ALL.iter().map(|a| a.to_string()).collect();
        assert_eq!(names, ["Exchange", "SharePoint", "Teams", "Common"]);
        assert_eq!(ServiceArea::Skype.api_name(), "Skype");
        assert_eq!(
            ServiceArea::from_api_name("Skype"),
            Some(ServiceArea::Skype)
        );
        assert_eq!(ServiceArea::from_api_name("Teams"), None);
        assert!(Category::Optimize > Category::Allow && Category::Allow > Category::Default);
        assert_eq!(
            [Category::Default, Category::Optimize, Category::Allow]
                .iter()
                .max(),
            Some(&Category::Optimize)
        );
        assert_eq!(Instance::UsGovGccHigh.to_string(), "USGovGCCHigh");
        assert_eq!(
            serde_json::to_string(&(ServiceArea::Skype, Category::Allow, Instance::China)).unwrap(),
            r#"["Teams","Allow","China"]"#
        );
    }

    #[test]
    fn rules_parse() {
        let r = |s: &str| parse_rule(s).map(|r| r.to_string());
        assert_eq!(r("40.96.0.0/13"), Ok("40.96.0.0/13".into()));
        assert_eq!(r("  10.1.2.3/8 "), Ok("10.0.0.0/8".into()));
        assert_eq!(r("192.0.2.7"), Ok("192.0.2.7/32".into()));
        assert_eq!(r("2603:1006::/40"), Ok("2603:1006::/40".into()));
        assert_eq!(r("2001:db8::1"), Ok("2001:db8::1/128".into()));
        assert_eq!(r("*.Contoso.com."), Ok("*.contoso.com".into()));
        assert_eq!(r("mail.contoso.com"), Ok("mail.contoso.com".into()));
        assert_eq!(
            r("autodiscover.*.onmicrosoft.com"),
            Ok("autodiscover.*.onmicrosoft.com".into())
        );
        assert!(matches!(parse_rule("192.0.2.7"), Ok(ScopeRule::Prefix(_))));
        assert!(matches!(parse_rule("a.com"), Ok(ScopeRule::Host(_))));
        assert_eq!(r(""), Err("empty rule".into()));
        assert_eq!(r("   "), Err("empty rule".into()));
        assert_eq!(
            r("40.96.0.0/33"),
            Err("\"40.96.0.0/33\" is not a CIDR prefix: prefix length out of range".into())
        );
        assert_eq!(
            r("a.com/8"),
            Err("\"a.com/8\" is not a CIDR prefix: not an IPv4/IPv6 address before the /".into())
        );
        assert_eq!(
            r("10.0.0"),
            Err("\"10.0.0\" is not an IPv4 or IPv6 address".into())
        );
        assert_eq!(
            r("1.2.3.256"),
            Err("\"1.2.3.256\" is not an IPv4 or IPv6 address".into())
        );
        assert_eq!(
            r("2603:zz::1"),
            Err("\"2603:zz::1\" is not an IPv4 or IPv6 address".into())
        );
        assert_eq!(
            r("a b.com"),
            Err(
                "\"a b.com\" is not an IP address, a CIDR prefix or a host name pattern: it \
                 has a character other than letters, digits, '-', '_', '.' and '*'"
                    .into()
            )
        );
        assert_eq!(
            r("a..com"),
            Err(
                "\"a..com\" is not an IP address, a CIDR prefix or a host name pattern: it \
                 has an empty label"
                    .into()
            )
        );
    }

    #[test]
    fn rules_files_with_line_numbers() {
        let good = TempFile::new(
            "rules-good",
            b"# our ranges\r\n\n10.0.0.0/8   # corp\r\n  *.contoso.com\n192.0.2.1\n\n# end",
        );
        let rules = load_rules(&good.0).unwrap();
        let shown: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        assert_eq!(shown, ["10.0.0.0/8", "*.contoso.com", "192.0.2.1/32"]);
        let empty = TempFile::new("rules-empty", b"# nothing\n\n");
        assert_eq!(load_rules(&empty.0).unwrap(), []);

        let bad = TempFile::new("rules-bad", b"10.0.0.0/8\n# c\n\n10.0.0.0/33\n");
        let err = load_rules(&bad.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: line 4: \"10.0.0.0/33\" is not a CIDR prefix: prefix length out of range",
                bad.0.display()
            )
        );
        assert!(matches!(
            err.kind(),
            EndpointErrorKind::Rule { line: 4, .. }
        ));
        let latin1 = TempFile::new("rules-latin1", b"a.com\nb.com\ncaf\xe9.com\n");
        assert_eq!(
            load_rules(&latin1.0).unwrap_err().to_string(),
            format!("{}: line 3: not UTF-8", latin1.0.display())
        );
        let err = load_rules(Path::new("/nonexistent/ranges.txt")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("/nonexistent/ranges.txt: cannot read: "));
    }

    #[test]
    fn classify_combinations() {
        let rules =
            |list: &[&str]| -> Vec<ScopeRule> { list.iter().map(|s| s.parse().unwrap()).collect() };
        let scope = Scope::new(
            EndpointData::embedded(),
            &rules(&["198.51.100.0/24", "*.contoso.com"]),
            &rules(&["52.112.0.5", "*.skype.com", "blocked.contoso.com"]),
        );
        let c = |a: &str, sni: Option<&str>| scope.classify(ip(a), sni.map(str::as_bytes));

        // Nothing.
        let none = c("192.0.2.1", Some("www.example.com"));
        assert_eq!(none, Classification::default());
        assert!(!none.in_scope());
        assert_eq!(none.match_label(), "");

        // IP only (no SNI).
        let by_ip = c("40.96.0.1", None);
        assert!(by_ip.by_ip && !by_ip.by_sni && by_ip.in_scope());
        assert_eq!(by_ip.set_ids, [1, 2]);
        assert_eq!(by_ip.service_areas, [ServiceArea::Exchange]);
        assert_eq!(by_ip.best_category, Some(Category::Optimize));
        assert_eq!(by_ip.match_label(), "ip");

        // SNI only.
        let by_sni = c("192.0.2.1", Some("contoso.sharepoint.com"));
        assert!(!by_sni.by_ip && by_sni.by_sni && by_sni.in_scope());
        assert_eq!(by_sni.set_ids, [31]);
        assert_eq!(by_sni.service_areas, [ServiceArea::SharePoint]);
        assert_eq!(by_sni.match_label(), "sni");

        // Both, sets merged across IP and SNI, areas sorted.
        let both = c("52.112.0.1", Some("login.microsoftonline.com"));
        assert!(both.by_ip && both.by_sni && both.in_scope());
        assert_eq!(both.set_ids, [11, 12, 56, 59]);
        assert_eq!(
            both.service_areas,
            [ServiceArea::Skype, ServiceArea::Common]
        );
        assert_eq!(both.best_category, Some(Category::Optimize));
        assert_eq!(both.match_label(), "ip+sni");

        // Invalid SNI bytes count as no SNI.
        let junk = scope.classify(ip("40.96.0.1"), Some(b"\xff\xfe"));
        assert_eq!(junk, by_ip);

        // User includes, by kind.
        let inc_ip = c("198.51.100.9", Some("www.example.com"));
        assert!(
            inc_ip.included_by_user && inc_ip.included_by_user_ip && !inc_ip.included_by_user_sni
        );
        assert!(inc_ip.in_scope() && inc_ip.set_ids.is_empty());
        assert_eq!(inc_ip.match_label(), "ip");
        let inc_sni = c("192.0.2.1", Some("mail.contoso.com"));
        assert!(inc_sni.included_by_user_sni && !inc_sni.included_by_user_ip && inc_sni.in_scope());
        assert_eq!(inc_sni.match_label(), "sni");
        let inc_ip_data_sni = c("198.51.100.9", Some("outlook.office365.com"));
        assert_eq!(inc_ip_data_sni.match_label(), "ip+sni");
        assert_eq!(inc_ip_data_sni.set_ids, [1, 2, 71]);

        // Excludes win over data and includes, by IP or by SNI.
        let ex_ip = c("52.112.0.5", None);
        assert!(ex_ip.by_ip && ex_ip.excluded && !ex_ip.in_scope());
        assert_eq!(ex_ip.match_label(), "ip");
        let ex_sni = c("52.112.0.1", Some("a.skype.com"));
        assert!(ex_sni.by_ip && ex_sni.by_sni && ex_sni.excluded && !ex_sni.in_scope());
        let ex_inc = c("192.0.2.1", Some("blocked.contoso.com"));
        assert!(ex_inc.included_by_user && ex_inc.excluded && !ex_inc.in_scope());
        assert!(!c("52.112.0.6", None).excluded);

        // A scope of user rules only.
        let only = Scope::new(EndpointData::empty(), &rules(&["10.0.0.0/8"]), &[]);
        let x = only.classify(ip("10.1.1.1"), Some(b"outlook.office365.com"));
        assert!(x.in_scope() && !x.by_ip && !x.by_sni && x.set_ids.is_empty());
        assert_eq!(only.data().summary().sets, 0);
    }

    #[test]
    fn classify_through_a_proxy() {
        let rules =
            |list: &[&str]| -> Vec<ScopeRule> { list.iter().map(|s| s.parse().unwrap()).collect() };
        let scope = Scope::new(
            EndpointData::embedded(),
            &rules(&["192.0.2.80", "*.contoso.com"]),
            &rules(&["192.0.2.99", "blocked.office365.com"]),
        );
        let c = |proxy: &str, sni: Option<&str>, host: Option<&str>| {
            scope.classify_connection(ip(proxy), sni.map(str::as_bytes), host.map(str::as_bytes))
        };
        let plain = |a: &str, sni: Option<&str>| scope.classify(ip(a), sni.map(str::as_bytes));
        // No CONNECT: the same as classify.
        assert_eq!(c("40.96.0.1", None, None), plain("40.96.0.1", None));
        assert_eq!(
            c("192.0.2.1", Some("outlook.office365.com"), None),
            plain("192.0.2.1", Some("outlook.office365.com"))
        );
        // The proxy (not in a prefix), its client naming Exchange: by the CONNECT host.
        let name = c("192.0.2.1", None, Some("outlook.office365.com"));
        assert!(name.in_scope() && name.by_sni && !name.by_ip && name.by_connect);
        assert_eq!(name.set_ids, [1, 2, 71]);
        assert_eq!(name.match_label(), "connect");
        // With an SNI, the SNI decides; the CONNECT host did not match anything.
        let sni = c(
            "192.0.2.1",
            Some("outlook.office365.com"),
            Some("proxy-target.example"),
        );
        assert!(sni.in_scope() && !sni.by_connect);
        assert_eq!(sni.match_label(), "sni");
        let neither = c(
            "192.0.2.1",
            Some("www.example.com"),
            Some("outlook.office365.com"),
        );
        assert!(!neither.in_scope());
        assert_eq!(neither.match_label(), "");
        // An IP literal is the server's address, the proxy's is not looked up.
        let lit = c("192.0.2.1", None, Some("40.97.10.20"));
        assert!(lit.in_scope() && lit.by_ip && lit.by_connect);
        assert_eq!(lit.match_label(), "ip+connect");
        let lit_sni = c(
            "192.0.2.1",
            Some("outlook.office365.com"),
            Some("40.97.10.20"),
        );
        assert_eq!(lit_sni.match_label(), "ip+sni+connect");
        let v6 = c("192.0.2.1", None, Some("2603:1036::1"));
        assert_eq!(v6.match_label(), "ip+connect");
        assert!(v6.in_scope());
        // A proxy inside a Microsoft prefix does not make its connections Microsoft's.
        let proxy_in_prefix = c("40.96.0.1", None, Some("www.example.com"));
        assert!(!proxy_in_prefix.in_scope() && !proxy_in_prefix.by_ip);
        assert_eq!(proxy_in_prefix.match_label(), "");
        // ... unless an --include names it.
        let included = c("192.0.2.80", None, Some("www.example.com"));
        assert!(included.in_scope() && included.included_by_user_ip);
        assert_eq!(included.match_label(), "ip");
        let included_and_name = c("192.0.2.80", None, Some("outlook.office365.com"));
        assert_eq!(included_and_name.match_label(), "ip+connect");
        // An include pattern matching the CONNECT host.
        let inc_name = c("192.0.2.1", None, Some("mail.contoso.com"));
        assert!(inc_name.in_scope());
        assert_eq!(inc_name.match_label(), "connect");
        // Excludes: the proxy, the CONNECT host (even when the SNI matched).
        assert!(!c("192.0.2.99", None, Some("outlook.office365.com")).in_scope());
        let ex = c(
            "192.0.2.1",
            Some("outlook.office365.com"),
            Some("blocked.office365.com"),
        );
        assert!(ex.excluded && !ex.in_scope());
        // A CONNECT host that is neither a name nor an address matches nothing.
        let junk = c("192.0.2.1", None, Some("bad host"));
        assert!(!junk.in_scope());
        assert_eq!(junk.match_label(), "");
    }

    /// Prints per-call costs; run with `cargo test --release -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn micro_timing() {
        let d = EndpointData::embedded();
        let ips: Vec<IpAddr> = [
            "40.96.0.1",
            "52.112.3.4",
            "8.8.8.8",
            "20.190.150.1",
            "192.0.2.1",
            "2603:1006::1",
            "2a01:111:f400::5",
            "2001:db8::1",
        ]
        .iter()
        .map(|s| ip(s))
        .collect();
        let names: Vec<&[u8]> = vec![
            b"outlook.office365.com",
            b"contoso.sharepoint.com",
            b"www.example.com",
            b"a.b.c.d.e.f.g.example.net",
            b"autodiscover.contoso.onmicrosoft.com",
            b"teams.microsoft.com",
            b"login.microsoftonline.com",
            b"xyzcdn.onenote.net",
        ];
        let rounds = 200_000;
        let t = Instant::now();
        let mut hits = 0usize;
        for i in 0..rounds {
            hits += usize::from(d.lookup_ip(ips[i % ips.len()]).is_some());
        }
        let ip_ns = t.elapsed().as_nanos() as f64 / rounds as f64;
        let t = Instant::now();
        for i in 0..rounds {
            hits += d.match_host(names[i % names.len()]).len();
        }
        let host_ns = t.elapsed().as_nanos() as f64 / rounds as f64;
        // The same names against every pattern, one after another (what the index avoids).
        let all: Vec<HostPattern> = d
            .sets()
            .iter()
            .flat_map(|s| s.urls.iter().filter_map(|u| HostPattern::parse(u).ok()))
            .collect();
        let t = Instant::now();
        for i in 0..rounds {
            if let Some(n) = HostName::parse(names[i % names.len()]) {
                hits += all.iter().filter(|p| p.matches(&n)).count();
            }
        }
        let linear_ns = t.elapsed().as_nanos() as f64 / rounds as f64;
        let scope = Scope::new(EndpointData::embedded(), &[], &[]);
        let t = Instant::now();
        for i in 0..rounds {
            let c = scope.classify(ips[i % ips.len()], Some(names[i % names.len()]));
            hits += c.set_ids.len();
        }
        let classify_ns = t.elapsed().as_nanos() as f64 / rounds as f64;
        // With user rules: 100 include prefixes and 20 patterns, 10 excludes of each kind.
        let mut include: Vec<ScopeRule> = (0..100u32)
            .map(|i| ScopeRule::Prefix(Prefix::new(ip(&format!("10.{i}.0.0")), 16).unwrap()))
            .collect();
        include.extend((0..20).map(|i| format!("*.site{i}.contoso.com").parse().unwrap()));
        let exclude: Vec<ScopeRule> = (0..10)
            .map(|i| ScopeRule::Prefix(Prefix::host(ip(&format!("40.96.0.{i}")))))
            .chain((0..10).map(|i| format!("host{i}.example.org").parse().unwrap()))
            .collect();
        let ruled = Scope::new(EndpointData::embedded(), &include, &exclude);
        let t = Instant::now();
        for i in 0..rounds {
            let c = ruled.classify(ips[i % ips.len()], Some(names[i % names.len()]));
            hits += c.set_ids.len();
        }
        let ruled_ns = t.elapsed().as_nanos() as f64 / rounds as f64;
        println!(
            "lookup_ip {ip_ns:.0} ns, match_host {host_ns:.0} ns (linear scan of {} patterns: \
             {linear_ns:.0} ns), classify {classify_ns:.0} ns, classify with 120 include and \
             20 exclude rules {ruled_ns:.0} ns (checksum {hits})",
            all.len()
        );
    }
}
