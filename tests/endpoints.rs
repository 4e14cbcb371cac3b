//! End-to-end tests of the Microsoft 365 endpoint options: `tlscensus endpoints`,
//! `tlscensus endpoints lookup`, and `read --endpoints/--include/--exclude/--ranges`, on the
//! binary, asserting exact output and exit codes.

mod common;

use common::{csv_rows, p, repo, run, stderr, stdout};

/// A fixture's path, as an argument.
fn fixture(name: &str) -> String {
    p(&common::fixture(name)).to_string()
}

/// One of the reference copies of Microsoft's other instances.
fn data_file(name: &str) -> String {
    p(&repo("src/m365/data").join(name)).to_string()
}

/// `endpoints lookup` lines, one string per line, with the common prefix stripped.
fn lookup(args: &[&str], code: i32) -> Vec<String> {
    let mut all = vec!["endpoints", "lookup"];
    all.extend_from_slice(args);
    let o = run(&all, code);
    assert_eq!(stderr(&o), "");
    stdout(&o).lines().map(String::from).collect()
}

/// A scratch file with these bytes.
fn scratch(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    p(&path).to_string()
}

/// `read --quiet --connections -` rows, as the named columns joined by `,`.
fn connections(extra: &[&str], columns: &[&str]) -> Vec<String> {
    let mut args = vec!["read", "--quiet", "--connections", "-"];
    args.extend_from_slice(extra);
    let o = run(&args, 0);
    csv_rows(&stdout(&o))
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| r[*c].as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

const CONN_COLS: &[&str] = &[
    "client_ip",
    "server_ip",
    "sni",
    "m365",
    "m365_match",
    "service_area",
    "endpoint_ids",
];

// --- tlscensus endpoints ------------------------------------------------------------------

#[test]
fn summary_of_the_embedded_data() {
    let o = run(&["endpoints"], 0);
    assert_eq!(stderr(&o), "");
    assert_eq!(
        stdout(&o),
        "instance:       Worldwide\n\
         source:         embedded snapshot: Microsoft 365 endpoints web service, worldwide, \
         published on or before 2025-11-14\n\
         endpoint sets:  64 (Exchange 5, SharePoint 7, Teams 7, Common 45)\n\
         IPv4 prefixes:  34 distinct\n\
         IPv6 prefixes:  59 distinct\n\
         URL patterns:   195 distinct, 75 of them wildcards\n"
    );
}

/// Asserts what `endpoints --endpoints FILE` says of a data file of another instance: the
/// instance, recognised by its host names, the file, then `counts`.
fn assert_file_summary(file: &str, instance: &str, counts: &str) {
    let o = run(&["endpoints", "--endpoints", file], 0);
    assert_eq!(
        stdout(&o),
        format!(
            "instance:       {instance} (recognised by its host names)\n\
             source:         file {file}\n\
             {counts}"
        )
    );
}

#[test]
fn summary_of_the_china_file() {
    assert_file_summary(
        &data_file("endpoints-china.json"),
        "China",
        "endpoint sets:  21 (Exchange 4, SharePoint 2, Teams 2, Common 13)\n\
         IPv4 prefixes:  57 distinct\n\
         IPv6 prefixes:  18 distinct\n\
         URL patterns:   47 distinct, 32 of them wildcards\n",
    );
}

#[test]
fn summary_of_the_usgovdod_file() {
    assert_file_summary(
        &data_file("endpoints-usgovdod.json"),
        "USGovDoD",
        "endpoint sets:  24 (Exchange 4, SharePoint 3, Teams 2, Common 15)\n\
         IPv4 prefixes:  22 distinct\n\
         IPv6 prefixes:  12 distinct\n\
         URL patterns:   84 distinct, 29 of them wildcards\n",
    );
}

// --- tlscensus endpoints lookup -----------------------------------------------------------

const EXO_1: &str = "id=1 area=Exchange category=Optimize required=true tcp=80,443 udp=443";
const EXO_2: &str = "id=2 area=Exchange category=Allow required=false tcp=143,587,993,995 udp=-";

#[test]
fn lookup_first_and_last_address_of_a_prefix() {
    assert_eq!(
        lookup(&["40.96.0.0", "40.103.255.255"], 0),
        [
            format!("query=40.96.0.0 {EXO_1} matched=40.96.0.0/13"),
            format!("query=40.96.0.0 {EXO_2} matched=40.96.0.0/13"),
            format!("query=40.103.255.255 {EXO_1} matched=40.96.0.0/13"),
            format!("query=40.103.255.255 {EXO_2} matched=40.96.0.0/13"),
        ]
    );
}

#[test]
fn lookup_one_address_outside_each_end_of_a_prefix() {
    // 40.96.0.0/13 is 40.96.0.0 - 40.103.255.255. Below it nothing is published; above it
    // starts another prefix of the same sets, which must be the one named.
    assert_eq!(
        lookup(&["40.95.255.255"], 1),
        ["query=40.95.255.255 matches no endpoint set"]
    );
    assert_eq!(
        lookup(&["40.104.0.0"], 0),
        [
            format!("query=40.104.0.0 {EXO_1} matched=40.104.0.0/15"),
            format!("query=40.104.0.0 {EXO_2} matched=40.104.0.0/15"),
        ]
    );
}

#[test]
fn lookup_ipv6_prefix_edges() {
    assert_eq!(
        lookup(&["2603:1006::", "2603:1006:ff:ffff:ffff:ffff:ffff:ffff"], 0),
        [
            format!("query=2603:1006:: {EXO_1} matched=2603:1006::/40"),
            format!("query=2603:1006:: {EXO_2} matched=2603:1006::/40"),
            format!("query=2603:1006:ff:ffff:ffff:ffff:ffff:ffff {EXO_1} matched=2603:1006::/40"),
            format!("query=2603:1006:ff:ffff:ffff:ffff:ffff:ffff {EXO_2} matched=2603:1006::/40"),
        ]
    );
    assert_eq!(
        lookup(
            &["2603:1006:100::", "2603:1005:ffff:ffff:ffff:ffff:ffff:ffff"],
            1
        ),
        [
            "query=2603:1006:100:: matches no endpoint set",
            "query=2603:1005:ffff:ffff:ffff:ffff:ffff:ffff matches no endpoint set",
        ]
    );
    // An IPv4-mapped address is IPv6: not in the IPv4 prefixes.
    assert_eq!(
        lookup(&["::ffff:40.96.0.1"], 1),
        ["query=::ffff:40.96.0.1 matches no endpoint set"]
    );
}

#[test]
fn lookup_host_name_exact_sets_first_then_wildcard() {
    let want = |q: &str| {
        vec![
            format!("query={q} {EXO_1} matched=outlook.office365.com"),
            format!("query={q} {EXO_2} matched=outlook.office365.com"),
            format!(
                "query={q} id=71 area=Common category=Default required=true tcp=80,443 udp=- \
                 matched=*.office365.com"
            ),
        ]
    };
    assert_eq!(
        lookup(&["outlook.office365.com"], 0),
        want("outlook.office365.com")
    );
    // Case and one trailing dot do not matter; the query is shown as typed.
    assert_eq!(
        lookup(&["OUTLOOK.Office365.com."], 0),
        want("OUTLOOK.Office365.com.")
    );
}

#[test]
fn lookup_wildcard_levels() {
    // `*` spans dots: one or several labels before .sharepoint.com; not the bare domain.
    let sp = "id=31 area=SharePoint category=Optimize required=true tcp=80,443 udp=443 \
              matched=*.sharepoint.com";
    assert_eq!(
        lookup(&["contoso.sharepoint.com", "a.b.contoso.sharepoint.com"], 0),
        [
            format!("query=contoso.sharepoint.com {sp}"),
            format!("query=a.b.contoso.sharepoint.com {sp}"),
        ]
    );
    assert_eq!(
        lookup(&["sharepoint.com"], 1),
        ["query=sharepoint.com matches no endpoint set"]
    );
}

#[test]
fn lookup_without_a_match_says_so_and_exits_1() {
    let o = run(
        &[
            "endpoints",
            "lookup",
            "www.example.com",
            "8.8.8.8",
            "40.96.0.1",
        ],
        1,
    );
    assert_eq!(
        stdout(&o),
        format!(
            "query=www.example.com matches no endpoint set\n\
             query=8.8.8.8 matches no endpoint set\n\
             query=40.96.0.1 {EXO_1} matched=40.96.0.0/13\n\
             query=40.96.0.1 {EXO_2} matched=40.96.0.0/13\n"
        )
    );
}

#[test]
fn lookup_with_rules_says_whether_each_query_is_in_scope() {
    let dir = tempfile::tempdir().unwrap();
    let ranges = scratch(&dir, "ours.txt", b"# our relay\n203.0.113.0/24\n");
    let rules = [
        "--include",
        "192.0.2.0/24",
        "--include",
        "*.contoso.com",
        "--ranges",
        &ranges,
        "--exclude",
        "40.96.0.1",
    ];
    let mut args = rules.to_vec();
    args.extend([
        "192.0.2.7",
        "www.contoso.com",
        "203.0.113.9",
        "outlook.office365.com",
    ]);
    let out = lookup(&args, 0);
    assert_eq!(out[0], "query=192.0.2.7 matches no endpoint set");
    assert_eq!(out[1], "query=192.0.2.7 scope=in reason=included");
    assert_eq!(out[3], "query=www.contoso.com scope=in reason=included");
    assert_eq!(out[5], "query=203.0.113.9 scope=in reason=included");
    assert_eq!(
        out.last().unwrap(),
        "query=outlook.office365.com scope=in reason=microsoft-365"
    );
    // Excluded although Microsoft lists it; matching nothing at all: both out, exit 1.
    let mut args = rules.to_vec();
    args.extend(["40.96.0.1", "8.8.8.8"]);
    let out = lookup(&args, 1);
    assert_eq!(
        out,
        [
            format!("query=40.96.0.1 {EXO_1} matched=40.96.0.0/13"),
            format!("query=40.96.0.1 {EXO_2} matched=40.96.0.0/13"),
            "query=40.96.0.1 scope=out reason=excluded".to_string(),
            "query=8.8.8.8 matches no endpoint set".to_string(),
            "query=8.8.8.8 scope=out reason=none".to_string(),
        ]
    );
    // A bad rule is named, as `read` names it.
    let o = run(
        &["endpoints", "lookup", "--include", "10.0.0", "8.8.8.8"],
        1,
    );
    assert_eq!(
        stderr(&o),
        "tlscensus: --include: \"10.0.0\" is not an IPv4 or IPv6 address\n"
    );
}

#[test]
fn lookup_of_something_else_is_a_usage_error() {
    for (q, why) in [
        (
            "*.office.com",
            "is a pattern: give one host name it should match",
        ),
        ("40.96.0.0/13", "is a prefix: give one address of it"),
        ("10.0.0", "is not an IPv4 or IPv6 address"),
        ("a b", "is not an IP address or a host name"),
    ] {
        let o = run(&["endpoints", "lookup", "40.96.0.1", q], 2);
        assert_eq!(
            stderr(&o),
            format!("tlscensus: endpoints lookup: \"{q}\" {why}\n")
        );
        assert!(o.stdout.is_empty(), "{q}");
    }
    // Control characters in the query are shown escaped.
    let o = run(&["endpoints", "lookup", "a\x1b[2Jb"], 2);
    assert_eq!(
        stderr(&o),
        "tlscensus: endpoints lookup: \"a\\x1b[2Jb\" is not an IP address or a host name\n"
    );
    // No query at all: clap's usage error.
    run(&["endpoints", "lookup"], 2);
}

/// China lists 40.73.132.0/24 in two sets: both are shown.
#[test]
fn lookup_in_the_china_file() {
    let china = data_file("endpoints-china.json");
    assert_eq!(
        lookup(
            &[
                "--endpoints",
                &china,
                "40.73.132.1",
                "partner.outlook.cn",
                "40.96.0.1"
            ],
            1
        ),
        [
            "query=40.73.132.1 id=1 area=Exchange category=Optimize required=true tcp=80,443 \
             udp=- matched=40.73.132.0/24",
            "query=40.73.132.1 id=20 area=Exchange category=Allow required=true \
             tcp=587,993,995 udp=- matched=40.73.132.0/24",
            "query=partner.outlook.cn id=1 area=Exchange category=Optimize required=true \
             tcp=80,443 udp=- matched=partner.outlook.cn",
            "query=40.96.0.1 matches no endpoint set",
        ]
    );
}

/// USGovDoD nests set 15's 52.127.72.42/32 inside the 52.127.72.0/21 of sets 16 and 26: all
/// three sets match, each naming its own prefix.
#[test]
fn lookup_in_the_usgovdod_file_keeps_nested_sets() {
    let dod = data_file("endpoints-usgovdod.json");
    let got: Vec<String> = lookup(&["52.127.72.42", "--endpoints", &dod], 0)
        .iter()
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            format!("{} {} {}", w[1], w[2], w[w.len() - 1])
        })
        .collect();
    assert_eq!(
        got,
        [
            "id=15 area=Common matched=52.127.72.42/32",
            "id=16 area=Common matched=52.127.72.0/21",
            "id=26 area=Common matched=52.127.72.0/21",
        ]
    );
}

// --- malformed endpoint files -------------------------------------------------------------

/// A valid one-set file with one field replaced.
fn one_set(ips: &str) -> String {
    format!(
        r#"[{{"id":1,"serviceArea":"Exchange","category":"Optimize","required":true,
        "expressRoute":true,"tcpPorts":"443","urls":["mail.contoso.com"],"ips":{ips}}}]"#
    )
}

#[test]
fn malformed_endpoint_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_json = scratch(&dir, "not-json.json", b"<html>Service Unavailable</html>\n");
    let bad_prefix = scratch(
        &dir,
        "bad-prefix.json",
        one_set(r#"["40.96.0.0/13","40.96.0.0/33"]"#).as_bytes(),
    );
    let object = scratch(&dir, "object.json", br#"{"error":"throttled"}"#);
    let empty = scratch(&dir, "empty.json", b"[]");
    let missing = dir.path().join("missing.json");
    let missing = missing.to_str().unwrap();
    let cases = [
        (
            not_json.as_str(),
            "not JSON: expected value at line 1 column 1".to_string(),
        ),
        (
            bad_prefix.as_str(),
            r#"element 0 (id 1): "ips"[1]: "40.96.0.0/33" is not an IPv4/IPv6 prefix"#.into(),
        ),
        (
            object.as_str(),
            "expected a JSON array of endpoint sets, found an object".into(),
        ),
        (empty.as_str(), "the array holds no endpoint sets".into()),
        (missing, "cannot read: No such file or directory".into()),
    ];
    for (file, why) in &cases {
        let want = format!("tlscensus: --endpoints {file}: {why}\n");
        for args in [
            vec!["endpoints", "--endpoints", file],
            vec!["endpoints", "lookup", "--endpoints", file, "40.96.0.1"],
        ] {
            let o = run(&args, 1);
            assert_eq!(stderr(&o), want, "{args:?}");
            assert!(o.stdout.is_empty());
        }
    }
}

#[test]
fn read_refuses_a_bad_endpoints_file_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let bad = scratch(
        &dir,
        "bad.json",
        one_set(r#"["2603:1006::/129"]"#).as_bytes(),
    );
    let csv = dir.path().join("clients.csv");
    let o = run(
        &[
            "read",
            &fixture("tls10-exchange.pcap"),
            "--endpoints",
            &bad,
            "--csv",
            csv.to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(
        stderr(&o),
        format!(
            "tlscensus: --endpoints {bad}: element 0 (id 1): \"ips\"[0]: \"2603:1006::/129\" \
             is not an IPv4/IPv6 prefix\n"
        )
    );
    assert!(o.stdout.is_empty());
    assert!(!csv.exists(), "no output file is created");
}

// --- read with other data and the user's rules ----------------------------------------------

#[test]
fn read_with_the_china_file_leaves_worldwide_servers_out() {
    let china = data_file("endpoints-china.json");
    assert_eq!(
        connections(
            &["--endpoints", &china, &fixture("tls10-exchange.pcap")],
            CONN_COLS
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        connections(
            &[
                "--scope",
                "all",
                "--endpoints",
                &china,
                &fixture("tls10-exchange.pcap")
            ],
            CONN_COLS
        ),
        ["10.1.0.10,40.97.10.20,outlook.office365.com,false,,,"]
    );
}

#[test]
fn include_a_prefix_brings_a_server_in_by_ip() {
    assert_eq!(
        connections(
            &[
                "--include",
                "198.51.100.0/24",
                &fixture("tls12-outside.pcap")
            ],
            CONN_COLS
        ),
        ["10.1.0.15,198.51.100.7,www.example.com,true,ip,,"]
    );
    // A bare address is its /32.
    assert_eq!(
        connections(
            &["--include", "198.51.100.7", &fixture("tls12-outside.pcap")],
            CONN_COLS
        ),
        ["10.1.0.15,198.51.100.7,www.example.com,true,ip,,"]
    );
}

#[test]
fn include_a_host_pattern_brings_a_server_in_by_sni() {
    assert_eq!(
        connections(
            &["--include", "*.example.com", &fixture("tls12-outside.pcap")],
            CONN_COLS
        ),
        ["10.1.0.15,198.51.100.7,www.example.com,true,sni,,"]
    );
    // The pattern needs a label before .example.com: not a match for the bare domain.
    assert_eq!(
        connections(
            &[
                "--include",
                "*.www.example.com",
                &fixture("tls12-outside.pcap")
            ],
            CONN_COLS
        ),
        Vec::<String>::new()
    );
}

#[test]
fn exclude_by_ip_wins_over_a_matching_sni() {
    let file = fixture("tls10-exchange.pcap");
    // In scope by IP and by SNI (outlook.office365.com) ...
    assert_eq!(
        connections(&[&file], CONN_COLS),
        ["10.1.0.10,40.97.10.20,outlook.office365.com,true,ip+sni,Exchange;Common,1;2;71"]
    );
    // ... and excluding its prefix removes it all the same.
    assert_eq!(
        connections(&["--exclude", "40.96.0.0/13", &file], CONN_COLS),
        Vec::<String>::new()
    );
    let o = run(&["read", "--exclude", "40.96.0.0/13", &file], 0);
    assert!(stdout(&o)
        .starts_with("TLS census toward Microsoft 365: 0 clients: 0 broken, 0 at risk, 0 ok\n"));
    // With --scope all it is listed, not Microsoft 365; the other columns still say what the
    // data matched.
    assert_eq!(
        connections(
            &["--scope", "all", "--exclude", "40.96.0.0/13", &file],
            CONN_COLS
        ),
        ["10.1.0.10,40.97.10.20,outlook.office365.com,false,ip+sni,Exchange;Common,1;2;71"]
    );
}

#[test]
fn exclude_by_sni_wins_over_a_matching_ip_and_an_include() {
    let file = fixture("tls10-exchange.pcap");
    for rule in [
        "outlook.office365.com",
        "*.office365.com",
        "OUTLOOK.office365.com.",
    ] {
        assert_eq!(
            connections(&["--exclude", rule, &file], CONN_COLS),
            Vec::<String>::new(),
            "{rule}"
        );
    }
    assert_eq!(
        connections(
            &[
                "--include",
                "40.97.10.20",
                "--exclude",
                "*.office365.com",
                &file
            ],
            CONN_COLS
        ),
        Vec::<String>::new()
    );
    // An exclude that matches neither the IP nor the SNI changes nothing.
    assert_eq!(
        connections(
            &[
                "--exclude",
                "*.outlook.com",
                "--exclude",
                "40.97.10.21",
                &file
            ],
            &["m365"]
        ),
        ["true"]
    );
}

#[test]
fn ranges_file_adds_rules_like_include() {
    let dir = tempfile::tempdir().unwrap();
    let ranges = scratch(
        &dir,
        "ranges.txt",
        b"# on-premises Exchange hybrid and the proxy in front of it\r\n\
          \r\n\
          192.0.2.0/24        # hybrid servers\r\n\
          198.51.100.0/24\r\n",
    );
    assert_eq!(
        connections(
            &["--ranges", &ranges, &fixture("tls12-outside.pcap")],
            CONN_COLS
        ),
        ["10.1.0.15,198.51.100.7,www.example.com,true,ip,,"]
    );
    // Excludes win over --ranges too.
    assert_eq!(
        connections(
            &[
                "--ranges",
                &ranges,
                "--exclude",
                "www.example.com",
                &fixture("tls12-outside.pcap")
            ],
            CONN_COLS
        ),
        Vec::<String>::new()
    );
}

#[test]
fn bad_rules_name_the_flag_the_value_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let ranges = scratch(
        &dir,
        "ranges.txt",
        b"10.0.0.0/8\n# fine so far\n10.0.0.0/33\n",
    );
    let file = fixture("tls12-outside.pcap");
    let cases: [(Vec<&str>, String); 4] = [
        (
            vec!["--include", "198.51.100.0/33"],
            "--include: \"198.51.100.0/33\" is not a CIDR prefix: prefix length out of range"
                .into(),
        ),
        (
            vec!["--exclude", "1.2.3.256"],
            "--exclude: \"1.2.3.256\" is not an IPv4 or IPv6 address".into(),
        ),
        (
            vec!["--ranges", &ranges],
            format!(
                "--ranges {ranges}: line 3: \"10.0.0.0/33\" is not a CIDR prefix: prefix \
                 length out of range"
            ),
        ),
        (vec!["--include", ""], "--include: empty value".into()),
    ];
    for (flags, why) in cases {
        let mut args = vec!["read", file.as_str()];
        args.extend(flags.iter().copied());
        let o = run(&args, 1);
        assert_eq!(stderr(&o), format!("tlscensus: {why}\n"), "{flags:?}");
        assert!(o.stdout.is_empty());
    }
}

// --- the service-areas fixture: one client per way of matching ----------------------------

#[test]
fn service_areas_fixture_connections() {
    assert_eq!(
        connections(
            &["--scope", "all", &fixture("service-areas.pcapng")],
            &[
                "client_ip",
                "server_ip",
                "sni",
                "negotiated",
                "m365",
                "m365_match",
                "service_area",
                "endpoint_ids"
            ]
        ),
        [
            "10.3.0.1,40.97.10.20,www.example.com,TLSv1.0,true,ip,Exchange,1;2",
            "10.3.0.2,192.0.2.80,contoso.sharepoint.com,TLSv1.2,true,sni,SharePoint,31",
            "10.3.0.3,198.51.100.7,www.example.com,TLSv1.2,false,,,",
        ]
    );
}

#[test]
fn service_areas_fixture_csv_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("clients.csv");
    let o = run(
        &[
            "read",
            "--scope",
            "all",
            &fixture("service-areas.pcapng"),
            "--csv",
            csv_path.to_str().unwrap(),
        ],
        0,
    );
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let got: Vec<String> = csv_rows(&text)
        .iter()
        .map(|r| format!("{} {} {}", r["client_ip"], r["verdict"], r["service_areas"]))
        .collect();
    assert_eq!(
        got,
        [
            "10.3.0.1 at-risk Exchange=1",
            "10.3.0.2 ok SharePoint=1",
            "10.3.0.3 ok ",
        ]
    );

    // The table: the SERVICES cell of each client, cut at the header's column positions.
    let table = stdout(&o);
    let lines: Vec<&str> = table.lines().collect();
    let header = lines[1];
    let (from, to) = (
        header.find("SERVICES").unwrap(),
        header.find("SNI").unwrap(),
    );
    let cells: Vec<(&str, &str)> = lines[2..5]
        .iter()
        .map(|l| (l.split(' ').next().unwrap(), l[from..to].trim()))
        .collect();
    assert_eq!(
        cells,
        [
            ("10.3.0.1", "Exchange"),
            ("10.3.0.2", "SharePoint"),
            ("10.3.0.3", ""),
        ],
        "{table}"
    );

    // In the default scope, the outside client is left out.
    let o = run(
        &["read", "-q", &fixture("service-areas.pcapng"), "--csv", "-"],
        0,
    );
    let got: Vec<String> = csv_rows(&stdout(&o))
        .iter()
        .map(|r| format!("{} {}", r["client_ip"], r["service_areas"]))
        .collect();
    assert_eq!(got, ["10.3.0.1 Exchange=1", "10.3.0.2 SharePoint=1"]);
}
