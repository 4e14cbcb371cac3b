//! `tlscensus endpoints`: which Microsoft 365 endpoint data is in use, and
//! `tlscensus endpoints lookup`: which endpoint sets an address or host name matches.
//!
//! Both print to stdout through pure functions of the data ([`render_summary`],
//! [`render_lookup`]), so the output is deterministic and tested byte for byte. Text that comes
//! from a file or the command line (the file name, URL patterns, queries) goes through
//! [`visible`]: a hostile data file cannot write escape sequences to the terminal.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::anyhow;

use crate::cli::EndpointsArgs;
use crate::commands::Exit;
use crate::m365::{EndpointData, EndpointSet, Instance, PortList, Scope, ServiceArea};
use crate::report::escape::visible;
use crate::settings::{EndpointsError, EndpointsSettings, LookupQuery, LookupTarget};

pub fn run(args: EndpointsArgs) -> anyhow::Result<Exit> {
    let settings = match EndpointsSettings::from_args(args) {
        Ok(s) => s,
        Err(EndpointsError::Usage(msg)) => {
            crate::commands::say(msg);
            return Ok(Exit::Usage);
        }
        Err(EndpointsError::Data(msg)) => return Err(anyhow!(msg)),
    };
    let (text, exit) = match &settings.lookup {
        None => (render_summary(&settings.data, settings.from_file), Exit::Ok),
        Some(queries) => {
            let (text, all_in) = render_lookup(&settings.data, settings.scope.as_ref(), queries);
            (text, if all_in { Exit::Ok } else { Exit::Error })
        }
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(exit),
        // `tlscensus endpoints lookup ... | head -1`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit),
        Err(e) => Err(anyhow!("<stdout>: {e}")),
    }
}

/// What `tlscensus endpoints` prints: instance, source and counts, one `name: value` a line.
/// Prefix and pattern counts are of distinct entries (a prefix listed by two sets counts once).
pub fn render_summary(data: &EndpointData, from_file: bool) -> String {
    let s = data.summary();
    let instance = match (s.instance, from_file) {
        (Instance::Custom, _) => {
            "Custom (no single Microsoft 365 instance recognised by its host names)".to_string()
        }
        (i, true) => format!("{i} (recognised by its host names)"),
        (i, false) => i.to_string(),
    };
    let source = if from_file {
        format!("file {}", crate::report::escape::terminal(&s.source))
    } else {
        format!(
            "embedded snapshot: {}",
            crate::report::escape::terminal(&s.source)
        )
    };
    let per_area: Vec<String> = ServiceArea::ALL
        .iter()
        .map(|&area| {
            let n = data
                .sets()
                .iter()
                .filter(|set| set.service_area == area)
                .count();
            format!("{area} {n}")
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "instance:       {instance}");
    let _ = writeln!(out, "source:         {source}");
    let _ = writeln!(out, "endpoint sets:  {} ({})", s.sets, per_area.join(", "));
    let _ = writeln!(out, "IPv4 prefixes:  {} distinct", s.ipv4_prefixes);
    let _ = writeln!(out, "IPv6 prefixes:  {} distinct", s.ipv6_prefixes);
    let _ = writeln!(
        out,
        "URL patterns:   {} distinct, {} of them wildcards",
        s.url_patterns, s.wildcard_patterns
    );
    out
}

/// What `tlscensus endpoints lookup` prints, and whether every query is in scope: matched a
/// set, or, with rules (`scope`), is in scope by them.
///
/// Per query, in the order given: one line per matching endpoint set,
/// `query=QUERY id=ID area=AREA category=CATEGORY required=BOOL tcp=PORTS udp=PORTS matched=WHAT`
/// where WHAT is the set's longest prefix containing the address, or the set's best pattern
/// for the host name (exact names first, then wildcards with more literal characters). An
/// address's sets are in id order; a host name's in the order of their patterns. A query
/// that matches nothing gets `query=QUERY matches no endpoint set`. QUERY is as typed; every
/// field is one word (empty port lists are `-`), so `awk`/`grep` can pick them.
///
/// With rules, each query ends with `query=QUERY scope=in|out reason=WHY`, WHY being
/// `excluded`, `microsoft-365`, `included` or `none` (see [`crate::m365::Scope::scope_of`]).
pub fn render_lookup(
    data: &EndpointData,
    scope: Option<&Scope>,
    queries: &[LookupQuery],
) -> (String, bool) {
    let mut out = String::new();
    // Without rules a query is in scope when it matches a set; with rules, as they say (an
    // included address matches no set and is in, an excluded one matches and is out).
    let mut all_matched = true;
    let mut all_in = true;
    for q in queries {
        let shown = visible(q.text.as_bytes());
        let matches: Vec<(&EndpointSet, String)> = match &q.target {
            LookupTarget::Address(ip) => data
                .lookup_ip(*ip)
                .map(|m| m.set_ids)
                .unwrap_or_default()
                .iter()
                .filter_map(|&id| data.set(id))
                .filter_map(|set| {
                    // The set's own longest prefix holding the address: with nested prefixes
                    // (USGovDoD), an outer set matched through its shorter prefix.
                    let prefix = set
                        .ips
                        .iter()
                        .filter(|p| p.contains(*ip))
                        .max_by_key(|p| p.prefix_len())?;
                    Some((set, prefix.to_string()))
                })
                .collect(),
            LookupTarget::Host(name) => data
                .match_host_name(name)
                .iter()
                .filter_map(|m| Some((data.set(m.set_id)?, visible(m.pattern.as_bytes()))))
                .collect(),
        };
        if matches.is_empty() {
            all_matched = false;
            let _ = writeln!(out, "query={shown} matches no endpoint set");
        }
        for (set, matched) in matches {
            let _ = writeln!(
                out,
                "query={shown} id={} area={} category={} required={} tcp={} udp={} matched={matched}",
                set.id,
                set.service_area,
                set.category,
                set.required,
                ports(&set.tcp_ports),
                ports(&set.udp_ports),
            );
        }
        if let Some(scope) = scope {
            let (inside, why) = match &q.target {
                LookupTarget::Address(ip) => scope.scope_of(Some(*ip), None),
                LookupTarget::Host(name) => scope.scope_of(None, Some(name)),
            };
            all_in &= inside;
            let word = if inside { "in" } else { "out" };
            let _ = writeln!(out, "query={shown} scope={word} reason={why}");
        }
    }
    (out, if scope.is_some() { all_in } else { all_matched })
}

/// A port list, `-` when empty (so every field of a line is one word).
fn ports(p: &PortList) -> String {
    if p.is_empty() {
        "-".into()
    } else {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(data: &EndpointData, queries: &[&str]) -> (String, bool) {
        let q: Vec<LookupQuery> = queries
            .iter()
            .map(|q| LookupQuery::parse(q).unwrap())
            .collect();
        render_lookup(data, None, &q)
    }

    #[test]
    fn summary_of_the_embedded_data() {
        assert_eq!(
            render_summary(&EndpointData::embedded(), false),
            "instance:       Worldwide\n\
             source:         embedded snapshot: Microsoft 365 endpoints web service, worldwide, \
             published on or before 2025-11-14\n\
             endpoint sets:  64 (Exchange 5, SharePoint 7, Teams 7, Common 45)\n\
             IPv4 prefixes:  34 distinct\n\
             IPv6 prefixes:  59 distinct\n\
             URL patterns:   195 distinct, 75 of them wildcards\n"
        );
    }

    #[test]
    fn summary_of_custom_data_escapes_the_file_name() {
        let json = br#"[{"id":1,"serviceArea":"Common","category":"Default","required":true,
            "expressRoute":false,"tcpPorts":"443","urls":["*.contoso.com"],"ips":["10.0.0.0/8"]}]"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd\x1b[31mname.json");
        std::fs::write(&path, json).unwrap();
        let data = EndpointData::load(&path).unwrap();
        let text = render_summary(&data, true);
        assert!(text.starts_with(
            "instance:       Custom (no single Microsoft 365 instance recognised by its host names)\n"
        ));
        assert!(text.contains("odd\\x1b[31mname.json\n"), "{text}");
        assert!(!text.contains('\x1b'));
        assert!(text.ends_with(
            "endpoint sets:  1 (Exchange 0, SharePoint 0, Teams 0, Common 1)\n\
             IPv4 prefixes:  1 distinct\n\
             IPv6 prefixes:  0 distinct\n\
             URL patterns:   1 distinct, 1 of them wildcards\n"
        ));
    }

    #[test]
    fn lookup_lines() {
        let d = EndpointData::embedded();
        let (text, all) = lookup(&d, &["40.96.0.0", "Outlook.Office365.com.", "8.8.8.8"]);
        assert!(!all);
        assert_eq!(
            text,
            "query=40.96.0.0 id=1 area=Exchange category=Optimize required=true tcp=80,443 udp=443 matched=40.96.0.0/13\n\
             query=40.96.0.0 id=2 area=Exchange category=Allow required=false tcp=143,587,993,995 udp=- matched=40.96.0.0/13\n\
             query=Outlook.Office365.com. id=1 area=Exchange category=Optimize required=true tcp=80,443 udp=443 matched=outlook.office365.com\n\
             query=Outlook.Office365.com. id=2 area=Exchange category=Allow required=false tcp=143,587,993,995 udp=- matched=outlook.office365.com\n\
             query=Outlook.Office365.com. id=71 area=Common category=Default required=true tcp=80,443 udp=- matched=*.office365.com\n\
             query=8.8.8.8 matches no endpoint set\n"
        );
        let (_, all) = lookup(&d, &["52.112.0.1", "teams.microsoft.com"]);
        assert!(all);
    }

    /// USGovDoD nests set 15's /32 in the /21 of sets 16 and 26: each set shows its own
    /// prefix, not the longest one overall.
    #[test]
    fn lookup_shows_each_sets_own_prefix() {
        let d = EndpointData::from_json(include_bytes!("../m365/data/endpoints-usgovdod.json"))
            .unwrap();
        let (text, all) = lookup(&d, &["52.127.72.42", "52.127.72.43"]);
        assert!(all);
        let got: Vec<(&str, &str)> = text
            .lines()
            .map(|l| {
                let words: Vec<&str> = l.split(' ').collect();
                (words[1], words[words.len() - 1])
            })
            .collect();
        assert_eq!(
            got,
            [
                ("id=15", "matched=52.127.72.42/32"),
                ("id=16", "matched=52.127.72.0/21"),
                ("id=26", "matched=52.127.72.0/21"),
                ("id=16", "matched=52.127.72.0/21"),
                ("id=26", "matched=52.127.72.0/21"),
            ]
        );
    }
}
