//! IP prefixes and the longest-prefix matcher used once per connection.
//!
//! [`Prefix`] is a validated CIDR prefix (host bits cleared). [`PrefixTable`] compiles any
//! number of `(prefix, id)` pairs into sorted, non-overlapping address ranges, one table per
//! family (`u32` keys for IPv4, `u128` for IPv6), and answers a lookup with one binary search.
//!
//! Promises:
//! - a lookup returns the **longest** prefix containing the address, and the ids of **every**
//!   prefix containing it (the longest one and all shorter ones it is nested in), sorted and
//!   deduplicated: the DoD data nests `52.127.72.42/32` (set 15) inside `52.127.72.0/21`
//!   (sets 16 and 26), and an address there belongs to all three sets;
//! - the same prefix listed under several ids (Microsoft's sets 1 and 2, 9 and 10, 11 and 12)
//!   is one entry carrying all of them;
//! - families never mix: an IPv4 address is looked up among IPv4 prefixes only, and an
//!   IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) among IPv6 prefixes only, as on the wire;
//! - building and looking up never panic, whatever the input.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A CIDR prefix: an address with its host bits cleared, and a length (≤ 32 or ≤ 128).
///
/// Ordered by family (IPv4 first), then network address, then length (shorter first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// Why a text is not a prefix. The caller names the text; see [`Prefix::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixParseError {
    /// No `/` followed by a length.
    NoLength,
    /// The part before `/` is not an IPv4 or IPv6 address.
    BadAddress,
    /// The length is not a decimal number within 0..=32 (IPv4) or 0..=128 (IPv6).
    BadLength,
}

impl fmt::Display for PrefixParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrefixParseError::NoLength => "no /length",
            PrefixParseError::BadAddress => "not an IPv4/IPv6 address before the /",
            PrefixParseError::BadLength => "prefix length out of range",
        })
    }
}

impl std::error::Error for PrefixParseError {}

impl Prefix {
    /// The prefix of `len` bits starting at `addr`; host bits of `addr` are cleared.
    /// `None` if `len` is longer than the address (33+ for IPv4, 129+ for IPv6).
    pub fn new(addr: IpAddr, len: u8) -> Option<Prefix> {
        let bits = family_bits(addr);
        if u32::from(len) > bits {
            return None;
        }
        let start = key(addr) & !host_mask(bits, len);
        Some(Prefix {
            addr: from_key(addr, start),
            len,
        })
    }

    /// The prefix that holds exactly one address (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Prefix {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        Prefix { addr, len }
    }

    /// Parses `a.b.c.d/n` or `x:y::z/n` (any form `std` accepts for the address). Host bits set
    /// in the address are cleared (`10.1.2.3/8` is `10.0.0.0/8`). No spaces, no zone id, and
    /// the `/n` is required: a bare address is a rule matter (see `ScopeRule`), not a prefix.
    pub fn parse(text: &str) -> Result<Prefix, PrefixParseError> {
        let (addr, len) = text.split_once('/').ok_or(PrefixParseError::NoLength)?;
        let addr: IpAddr = addr.parse().map_err(|_| PrefixParseError::BadAddress)?;
        // `u8::from_str` would accept a leading `+`; a length is plain digits only.
        if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PrefixParseError::BadLength);
        }
        let len: u8 = len.parse().map_err(|_| PrefixParseError::BadLength)?;
        Prefix::new(addr, len).ok_or(PrefixParseError::BadLength)
    }

    /// The network address (host bits zero).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// True for an IPv4 prefix.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// True if `ip` is of the same family and lies inside the prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let (start, end) = self.range();
        (start..=end).contains(&key(ip))
    }

    /// True if every address of `other` is in `self` (a prefix contains itself).
    pub fn covers(&self, other: &Prefix) -> bool {
        other.len >= self.len && self.contains(other.addr)
    }

    /// First and last address as integers of the family's key space.
    fn range(&self) -> (u128, u128) {
        let start = key(self.addr);
        (start, start | host_mask(family_bits(self.addr), self.len))
    }
}

impl FromStr for Prefix {
    type Err = PrefixParseError;
    fn from_str(s: &str) -> Result<Prefix, PrefixParseError> {
        Prefix::parse(s)
    }
}

/// `addr/len`; IPv6 in the compressed form of RFC 5952 (what `std` prints).
impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl serde::Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn family_bits(addr: IpAddr) -> u32 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// The address as an integer (IPv4 in the low 32 bits).
fn key(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// An address of the same family as `like`, from its integer.
fn from_key(like: IpAddr, k: u128) -> IpAddr {
    match like {
        // The value came from an IPv4 key with bits cleared: it fits in 32 bits.
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(u32::try_from(k).unwrap_or(u32::MAX))),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(k)),
    }
}

/// Ones in the `bits - len` low bits (the host part). `len <= bits` is checked by callers.
fn host_mask(bits: u32, len: u8) -> u128 {
    let host = bits.saturating_sub(u32::from(len));
    if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    }
}

/// The answer to a lookup: the longest prefix containing the address, and the ids of every
/// prefix containing it (sorted, deduplicated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpMatch<'a> {
    pub prefix: Prefix,
    pub set_ids: &'a [u32],
}

/// One elementary range: every address in `start..=end` has the same answer, `node`.
#[derive(Clone, Copy, Debug)]
struct Span<K> {
    start: K,
    end: K,
    node: u32,
}

/// A distinct prefix and the ids of it and of every prefix it is nested in.
#[derive(Clone, Debug)]
struct Node {
    prefix: Prefix,
    ids: Box<[u32]>,
}

/// Compiled `(prefix, id)` pairs; see the module doc for what a lookup promises.
#[derive(Clone, Debug, Default)]
pub struct PrefixTable {
    v4: Vec<Span<u32>>,
    v6: Vec<Span<u128>>,
    nodes: Vec<Node>,
    unique_v4: usize,
    unique_v6: usize,
}

impl PrefixTable {
    /// Compiles the pairs. Duplicates are merged; nesting is resolved by splitting the outer
    /// prefix's range around the inner one. O(n log n).
    pub fn build<I: IntoIterator<Item = (Prefix, u32)>>(entries: I) -> PrefixTable {
        // BTreeMap order (family, network address, length) puts an outer prefix before the
        // prefixes nested in it, which is the order the sweep needs.
        let mut distinct: BTreeMap<Prefix, Vec<u32>> = BTreeMap::new();
        for (prefix, id) in entries {
            distinct.entry(prefix).or_default().push(id);
        }
        let mut table = PrefixTable::default();
        let (v4, v6): (Vec<_>, Vec<_>) = distinct.into_iter().partition(|(p, _)| p.is_ipv4());
        table.unique_v4 = v4.len();
        table.unique_v6 = v6.len();
        let spans4 = sweep(v4, &mut table.nodes);
        table.v4 = spans4
            .into_iter()
            .filter_map(|s| {
                Some(Span {
                    start: u32::try_from(s.start).ok()?,
                    end: u32::try_from(s.end).ok()?,
                    node: s.node,
                })
            })
            .collect();
        table.v6 = sweep(v6, &mut table.nodes);
        table
    }

    /// The longest prefix containing `ip` and the ids of all prefixes containing it.
    pub fn lookup(&self, ip: IpAddr) -> Option<IpMatch<'_>> {
        let node = match ip {
            IpAddr::V4(a) => find(&self.v4, u32::from(a))?,
            IpAddr::V6(a) => find(&self.v6, u128::from(a))?,
        };
        let node = self.nodes.get(node as usize)?;
        Some(IpMatch {
            prefix: node.prefix,
            set_ids: &node.ids,
        })
    }

    /// True if no prefix was given.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Number of distinct IPv4 prefixes.
    pub fn unique_v4(&self) -> usize {
        self.unique_v4
    }

    /// Number of distinct IPv6 prefixes.
    pub fn unique_v6(&self) -> usize {
        self.unique_v6
    }

    /// Number of elementary ranges after splitting (for tests and curiosity).
    pub fn span_count(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

fn find<K: Ord + Copy>(spans: &[Span<K>], k: K) -> Option<u32> {
    let after = spans.partition_point(|s| s.start <= k);
    let span = spans.get(after.checked_sub(1)?)?;
    (k <= span.end).then_some(span.node)
}

/// Turns distinct prefixes of one family, sorted by (start, length), into sorted,
/// non-overlapping spans. Prefixes are either disjoint or nested (never partly overlapping),
/// so a stack of the prefixes enclosing the current one is enough.
fn sweep(sorted: Vec<(Prefix, Vec<u32>)>, nodes: &mut Vec<Node>) -> Vec<Span<u128>> {
    let mut out = Vec::new();
    // (last address, node) of each open prefix, outermost first.
    let mut open: Vec<(u128, u32)> = Vec::new();
    // First address not yet emitted; None once the end of the address space was emitted.
    let mut cursor: Option<u128> = Some(0);
    let emit = |out: &mut Vec<Span<u128>>, from: Option<u128>, to: u128, node: u32| {
        if let Some(from) = from {
            if from <= to {
                out.push(Span {
                    start: from,
                    end: to,
                    node,
                });
            }
        }
    };
    for (prefix, mut ids) in sorted {
        let (start, end) = prefix.range();
        while let Some(&(open_end, node)) = open.last() {
            if open_end >= start {
                break;
            }
            emit(&mut out, cursor, open_end, node);
            cursor = open_end.checked_add(1);
            open.pop();
        }
        if let Some(&(_, outer)) = open.last() {
            // The part of the enclosing prefix before this one.
            if start > 0 {
                emit(&mut out, cursor, start - 1, outer);
            }
            if let Some(outer) = nodes.get(outer as usize) {
                ids.extend_from_slice(&outer.ids);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        cursor = Some(start);
        let node = u32::try_from(nodes.len()).unwrap_or(u32::MAX);
        nodes.push(Node {
            prefix,
            ids: ids.into_boxed_slice(),
        });
        open.push((end, node));
    }
    while let Some((open_end, node)) = open.pop() {
        emit(&mut out, cursor, open_end, node);
        cursor = open_end.checked_add(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        Prefix::parse(s).unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn ids<'a>(t: &'a PrefixTable, a: &str) -> Option<(String, &'a [u32])> {
        t.lookup(ip(a)).map(|m| (m.prefix.to_string(), m.set_ids))
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(p("40.96.0.0/13").to_string(), "40.96.0.0/13");
        assert_eq!(p("2603:1006:0:0::/40").to_string(), "2603:1006::/40");
        assert_eq!(p("2620:1ec:4::152/128").to_string(), "2620:1ec:4::152/128");
        assert_eq!(p("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(p("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(p("::/0").to_string(), "::/0");
        assert_eq!(p("1.2.3.4/32").prefix_len(), 32);
        assert!(p("1.2.3.4/32").is_ipv4());
        assert_eq!(p("2603:1006:2000::/48").addr(), ip("2603:1006:2000::"));
        use PrefixParseError::*;
        for (bad, why) in [
            ("40.96.0.0/33", BadLength),
            ("::/129", BadLength),
            ("1.2.3.4/", BadLength),
            ("1.2.3.4/+8", BadLength),
            ("1.2.3.4/0008", BadLength),
            ("1.2.3.4/ 8", BadLength),
            ("1.2.3.4/-1", BadLength),
            ("1.2.3.4", NoLength),
            ("", NoLength),
            ("1.2.3/8", BadAddress),
            ("1.2.3.256/8", BadAddress),
            ("01.2.3.4/8", BadAddress),
            (" 1.2.3.4/8", BadAddress),
            ("fe80::1%eth0/64", BadAddress),
            ("/8", BadAddress),
            ("example.com/8", BadAddress),
        ] {
            assert_eq!(Prefix::parse(bad), Err(why), "{bad}");
        }
        assert_eq!(Prefix::new(ip("1.2.3.4"), 33), None);
        assert_eq!(Prefix::host(ip("::1")).to_string(), "::1/128");
        assert!(p("10.0.0.0/8").covers(&p("10.1.0.0/16")));
        assert!(!p("10.1.0.0/16").covers(&p("10.0.0.0/8")));
        assert!(!p("10.0.0.0/8").covers(&p("::/0")));
    }

    #[test]
    fn contains_edges_and_families() {
        let v4 = p("40.96.0.0/13");
        assert!(!v4.contains(ip("40.95.255.255")));
        assert!(v4.contains(ip("40.96.0.0")));
        assert!(v4.contains(ip("40.103.255.255")));
        assert!(!v4.contains(ip("40.104.0.0")));
        assert!(!v4.contains(ip("::ffff:40.96.0.1")), "mapped v6 is v6");
        let v6 = p("2603:1006::/40");
        assert!(!v6.contains(ip("2603:1005:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(v6.contains(ip("2603:1006::")));
        assert!(v6.contains(ip("2603:1006:ff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!v6.contains(ip("2603:1006:100::")));
        assert!(!v6.contains(ip("40.96.0.1")));
        assert!(p("0.0.0.0/0").contains(ip("255.255.255.255")));
        assert!(p("::/0").contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
    }

    #[test]
    fn duplicates_merge_and_keep_all_ids() {
        let t = PrefixTable::build([
            (p("40.96.0.0/13"), 2),
            (p("40.96.0.0/13"), 1),
            (p("40.96.0.0/13"), 2),
        ]);
        assert_eq!(t.unique_v4(), 1);
        assert_eq!(
            ids(&t, "40.100.1.1"),
            Some(("40.96.0.0/13".into(), &[1, 2][..]))
        );
    }

    #[test]
    fn nesting_splits_ranges() {
        // The DoD shape: /32s inside a /21 listed by other sets.
        let t = PrefixTable::build([
            (p("52.127.72.0/21"), 16),
            (p("52.127.72.42/32"), 15),
            (p("52.127.76.42/32"), 15),
            (p("52.127.72.0/21"), 26),
        ]);
        assert_eq!(t.span_count(), 5);
        let outer = Some(("52.127.72.0/21".into(), &[16, 26][..]));
        assert_eq!(ids(&t, "52.127.71.255"), None);
        assert_eq!(ids(&t, "52.127.72.0"), outer);
        assert_eq!(ids(&t, "52.127.72.41"), outer);
        let inner = |s: &str| Some((s.to_string(), &[15, 16, 26][..]));
        assert_eq!(ids(&t, "52.127.72.42"), inner("52.127.72.42/32"));
        assert_eq!(ids(&t, "52.127.72.43"), outer);
        assert_eq!(ids(&t, "52.127.76.42"), inner("52.127.76.42/32"));
        assert_eq!(ids(&t, "52.127.79.255"), outer);
        assert_eq!(ids(&t, "52.127.80.0"), None);
    }

    #[test]
    fn deep_nesting_and_whole_space() {
        let t = PrefixTable::build([
            (p("::/0"), 1),
            (p("2001:db8::/32"), 2),
            (p("2001:db8::/48"), 3),
            (p("2001:db8:0:1::/64"), 4),
            (p("2001:db8:ffff::/48"), 5),
            (p("0.0.0.0/0"), 6),
            (p("255.255.255.255/32"), 7),
            (p("0.0.0.0/32"), 8),
        ]);
        assert_eq!(ids(&t, "::"), Some(("::/0".into(), &[1][..])));
        assert_eq!(
            ids(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            Some(("::/0".into(), &[1][..]))
        );
        assert_eq!(
            ids(&t, "2001:db8:0:1::9"),
            Some(("2001:db8:0:1::/64".into(), &[1, 2, 3, 4][..]))
        );
        assert_eq!(
            ids(&t, "2001:db8:0:2::"),
            Some(("2001:db8::/48".into(), &[1, 2, 3][..]))
        );
        assert_eq!(
            ids(&t, "2001:db8:1::"),
            Some(("2001:db8::/32".into(), &[1, 2][..]))
        );
        assert_eq!(
            ids(&t, "2001:db8:ffff:ffff::"),
            Some(("2001:db8:ffff::/48".into(), &[1, 2, 5][..]))
        );
        assert_eq!(ids(&t, "2001:db9::"), Some(("::/0".into(), &[1][..])));
        assert_eq!(
            ids(&t, "255.255.255.255"),
            Some(("255.255.255.255/32".into(), &[6, 7][..]))
        );
        assert_eq!(
            ids(&t, "255.255.255.254"),
            Some(("0.0.0.0/0".into(), &[6][..]))
        );
        assert_eq!(ids(&t, "0.0.0.0"), Some(("0.0.0.0/32".into(), &[6, 8][..])));
        assert_eq!(ids(&t, "0.0.0.1"), Some(("0.0.0.0/0".into(), &[6][..])));
    }

    #[test]
    fn adjacent_prefixes_and_empty_table() {
        let t = PrefixTable::build([(p("10.0.0.0/25"), 1), (p("10.0.0.128/25"), 2)]);
        assert_eq!(ids(&t, "10.0.0.127").unwrap().1, &[1]);
        assert_eq!(ids(&t, "10.0.0.128").unwrap().1, &[2]);
        let empty = PrefixTable::build([]);
        assert!(empty.is_empty());
        assert_eq!(ids(&empty, "10.0.0.1"), None);
        assert_eq!(ids(&empty, "::1"), None);
    }

    /// Brute force against `Prefix::contains` on random nested/disjoint sets.
    #[test]
    fn agrees_with_brute_force() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..50 {
            let mut entries = Vec::new();
            for id in 0..30u32 {
                // Small address space (10.0.0.0/24) so prefixes nest and collide often.
                let a = Ipv4Addr::new(10, 0, 0, (rnd() % 256) as u8);
                let len = 24 + (rnd() % 9) as u8;
                entries.push((Prefix::new(IpAddr::V4(a), len).unwrap(), id));
            }
            let t = PrefixTable::build(entries.clone());
            for last in 0..=255u8 {
                let addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, last));
                let mut want: Vec<u32> = entries
                    .iter()
                    .filter(|(p, _)| p.contains(addr))
                    .map(|(_, id)| *id)
                    .collect();
                want.sort_unstable();
                want.dedup();
                let longest = entries
                    .iter()
                    .filter(|(p, _)| p.contains(addr))
                    .map(|(p, _)| *p)
                    .max_by_key(|p| p.prefix_len());
                let got = t.lookup(addr);
                assert_eq!(got.map(|m| m.set_ids.to_vec()).unwrap_or_default(), want);
                assert_eq!(got.map(|m| m.prefix), longest);
            }
        }
    }
}
