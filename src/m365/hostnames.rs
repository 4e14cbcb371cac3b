//! Host names from the wire and the Microsoft 365 host-name patterns they are matched against.
//!
//! The matching rule is the PAC/`shExpMatch` reading that Microsoft's data is made for (see
//! the project's `m365/README.md`, "Recommended rule"):
//! 1. both sides are lower-cased (ASCII); one trailing dot is removed from the host name; a
//!    host name with an empty label (`.a.com`, `a..com`), a byte outside `a-z 0-9 - _ .`, a
//!    label over 63 or a name over 253 bytes matches nothing ([`HostName::parse`] says `None`);
//! 2. a pattern without `*` matches only the identical name;
//! 3. a `*` matches any run of characters, dots included (also the empty run), and the whole
//!    name must match: `*.outlook.com` matches `a.b.outlook.com` but not `outlook.com`,
//!    `*cdn.onenote.net` matches `cdn.onenote.net`, `autodiscover.*.onmicrosoft.com` matches
//!    `autodiscover.a.b.onmicrosoft.com`;
//! 4. every matching set is kept; [`HostMatcher::matches`] ranks exact entries first, then
//!    wildcards with more literal characters first.
//!
//! SNI bytes are hostile: nothing here panics or allocates per byte of input; a name is copied
//! once into a 253-byte stack buffer. Patterns are compiled once ([`HostMatcher::build`]):
//! exact names go into a hash map, wildcards are split at `*` and indexed by the last one or
//! two whole labels of their literal tail, so a lookup tests only the few wildcards that share
//! the host name's ending.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;

/// Longest host name accepted (RFC 1035 §2.3.4, without the trailing dot).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label accepted (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// A validated, lower-cased host name without trailing dot, held on the stack.
#[derive(Clone)]
pub struct HostName {
    buf: [u8; MAX_NAME_LEN],
    len: u8,
}

impl HostName {
    /// Validates raw SNI (or typed) bytes; `None` if they are not a host name by the rules in
    /// the module doc. Upper-case ASCII is folded; `_` is allowed (it occurs in real DNS
    /// names); a `*` is not (a host name is never a pattern).
    pub fn parse(raw: &[u8]) -> Option<HostName> {
        let raw = raw.strip_suffix(b".").unwrap_or(raw);
        if raw.is_empty() || raw.len() > MAX_NAME_LEN {
            return None;
        }
        let mut buf = [0u8; MAX_NAME_LEN];
        let mut label = 0usize;
        for (slot, &b) in buf.iter_mut().zip(raw) {
            let b = b.to_ascii_lowercase();
            match b {
                b'.' => {
                    if label == 0 {
                        return None;
                    }
                    label = 0;
                }
                b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {
                    label += 1;
                    if label > MAX_LABEL_LEN {
                        return None;
                    }
                }
                _ => return None,
            }
            *slot = b;
        }
        if label == 0 {
            return None;
        }
        Some(HostName {
            buf,
            len: u8::try_from(raw.len()).ok()?,
        })
    }

    /// The name as bytes (ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The name as text (always ASCII, so never empty by accident).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The last `n` labels (`n` ≥ 1), or `None` if the name has fewer.
    fn last_labels(&self, n: usize) -> Option<&[u8]> {
        let s = self.as_bytes();
        let (mut start, mut end) = (0, s.len());
        for i in 0..n {
            match memchr::memrchr(b'.', s.get(..end)?) {
                Some(dot) => (start, end) = (dot + 1, dot),
                // The first label: the whole name, if it was the last one wanted.
                None => return (i + 1 == n).then_some(s),
            }
        }
        s.get(start..)
    }
}

impl fmt::Debug for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostName({:?})", self.as_str())
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for HostName {
    fn eq(&self, other: &HostName) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for HostName {}

/// A host name or wildcard pattern (`*` anywhere, any number of times), lower-cased, without
/// trailing dot. Parsing checks it could match a valid host name: characters `a-z 0-9 - _ . *`,
/// no empty label, at most 253 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPattern {
    text: Box<str>,
    /// The text split at each `*`: empty for an exact name, else at least two pieces (the
    /// first is anchored at the start, the last at the end).
    pieces: Box<[Box<str>]>,
    literal_len: usize,
}

/// Why a text is not a host pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostPatternError {
    Empty,
    TooLong,
    /// A byte outside `a-z A-Z 0-9 - _ . *`.
    BadCharacter,
    /// `.a.com`, `a..com`, `a.com..`.
    EmptyLabel,
    /// A label without `*` longer than 63.
    LabelTooLong,
}

impl fmt::Display for HostPatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostPatternError::Empty => "it is empty",
            HostPatternError::TooLong => "it is longer than 253 characters",
            HostPatternError::BadCharacter => {
                "it has a character other than letters, digits, '-', '_', '.' and '*'"
            }
            HostPatternError::EmptyLabel => "it has an empty label",
            HostPatternError::LabelTooLong => "it has a label longer than 63 characters",
        })
    }
}

impl std::error::Error for HostPatternError {}

impl HostPattern {
    /// Parses a pattern as found in Microsoft's `urls` or in a user rule.
    pub fn parse(text: &str) -> Result<HostPattern, HostPatternError> {
        let text = text.strip_suffix('.').unwrap_or(text);
        if text.is_empty() {
            return Err(HostPatternError::Empty);
        }
        if text.len() > MAX_NAME_LEN {
            return Err(HostPatternError::TooLong);
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'*'))
        {
            return Err(HostPatternError::BadCharacter);
        }
        let text = text.to_ascii_lowercase();
        for label in text.split('.') {
            if label.is_empty() {
                return Err(HostPatternError::EmptyLabel);
            }
            if label.len() > MAX_LABEL_LEN && !label.contains('*') {
                return Err(HostPatternError::LabelTooLong);
            }
        }
        let pieces: Box<[Box<str>]> = if text.contains('*') {
            text.split('*').map(Box::from).collect()
        } else {
            Box::new([])
        };
        let literal_len = text.bytes().filter(|&b| b != b'*').count();
        Ok(HostPattern {
            text: text.into_boxed_str(),
            pieces,
            literal_len,
        })
    }

    /// The normalized text (lower case, no trailing dot).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True if the pattern has no `*`.
    pub fn is_exact(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Characters other than `*`: the ranking key among wildcards.
    pub fn literal_len(&self) -> usize {
        self.literal_len
    }

    /// True if the pattern matches the (already validated) name.
    pub fn matches(&self, name: &HostName) -> bool {
        let name = name.as_bytes();
        let (head, tail, middle) = match &*self.pieces {
            [] => return name == self.text.as_bytes(),
            [head, middle @ .., tail] => (head.as_bytes(), tail.as_bytes(), middle),
            [_] => return false, // not produced by `parse`
        };
        if name.len() < head.len() + tail.len() || !name.starts_with(head) || !name.ends_with(tail)
        {
            return false;
        }
        // Leftmost placement of each middle piece is optimal for `*`-only globs.
        let mut rest = name
            .get(head.len()..name.len() - tail.len())
            .unwrap_or_default();
        for piece in middle.iter().filter(|p| !p.is_empty()) {
            let piece = piece.as_bytes();
            match rest.windows(piece.len()).position(|w| w == piece) {
                Some(at) => rest = rest.get(at + piece.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }

    /// Index key of a wildcard: the last one or two whole labels of its literal tail, with the
    /// number of labels (0 = tail has no whole label, cannot be indexed).
    fn index_key(&self) -> (usize, &str) {
        let Some(tail) = self.pieces.last() else {
            return (0, "");
        };
        // A label that follows a '.' inside the tail is a whole label of any matching name;
        // the part before the tail's first '.' may be the end of a longer label.
        let (mut depth, mut cut) = (0, tail.len());
        while depth < 2 {
            match tail.get(..cut).and_then(|t| t.rfind('.')) {
                Some(dot) => (depth, cut) = (depth + 1, dot),
                None => break,
            }
        }
        (depth, tail.get(cut + 1..).unwrap_or_default())
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One set whose pattern matched a host name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostMatch<'a> {
    pub set_id: u32,
    /// The matching pattern, normalized (as listed by Microsoft, whose data is lower case).
    pub pattern: &'a str,
    /// True if the pattern has no `*`.
    pub exact: bool,
}

#[derive(Clone, Debug)]
struct Entry {
    pattern: HostPattern,
    ids: Vec<u32>,
}

/// Compiled `(pattern, id)` pairs. See the module doc.
#[derive(Clone, Debug, Default)]
pub struct HostMatcher {
    entries: Vec<Entry>,
    /// Keyed by bytes: a host name is ASCII, and bytes need no UTF-8 check per lookup.
    exact: HashMap<Box<[u8]>, u32, ahash::RandomState>,
    /// Wildcards keyed by the last two whole labels of their tail (`outlook.com`).
    by_two: HashMap<Box<[u8]>, Vec<u32>, ahash::RandomState>,
    /// Wildcards keyed by the last whole label of their tail (`com`).
    by_one: HashMap<Box<[u8]>, Vec<u32>, ahash::RandomState>,
    /// Wildcards whose tail has no whole label (`foo.*`, `*com`): always tested.
    unindexed: Vec<u32>,
}

impl HostMatcher {
    /// Compiles the pairs; equal patterns are merged and keep all their ids.
    pub fn build<I: IntoIterator<Item = (HostPattern, u32)>>(pairs: I) -> HostMatcher {
        let mut m = HostMatcher::default();
        let mut seen: HashMap<Box<str>, usize> = HashMap::new();
        for (pattern, id) in pairs {
            match seen.get(pattern.as_str()) {
                Some(&at) => {
                    if let Some(e) = m.entries.get_mut(at) {
                        e.ids.push(id);
                    }
                }
                None => {
                    seen.insert(pattern.text.clone(), m.entries.len());
                    m.entries.push(Entry {
                        pattern,
                        ids: vec![id],
                    });
                }
            }
        }
        for (at, e) in m.entries.iter_mut().enumerate() {
            e.ids.sort_unstable();
            e.ids.dedup();
            let at = u32::try_from(at).unwrap_or(u32::MAX);
            if e.pattern.is_exact() {
                m.exact.insert(e.pattern.as_str().as_bytes().into(), at);
                continue;
            }
            match e.pattern.index_key() {
                (2, key) => m.by_two.entry(key.as_bytes().into()).or_default().push(at),
                (1, key) => m.by_one.entry(key.as_bytes().into()).or_default().push(at),
                _ => m.unindexed.push(at),
            }
        }
        m
    }

    /// Every set with a pattern matching `name`, one [`HostMatch`] per set (its best pattern),
    /// ranked: exact first, then more literal characters first, then set id, then pattern.
    pub fn matches(&self, name: &HostName) -> Vec<HostMatch<'_>> {
        let mut found: Vec<(&Entry, u32)> = Vec::new();
        self.each_match(name, |e| {
            found.extend(e.ids.iter().map(|&id| (e, id)));
            false
        });
        fn rank<'e>(&(e, id): &(&'e Entry, u32)) -> (bool, Reverse<usize>, u32, &'e str) {
            let p = &e.pattern;
            (!p.is_exact(), Reverse(p.literal_len), id, p.as_str())
        }
        // Best pattern per set: sort by set then rank, keep the first of each set.
        found.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| rank(a).cmp(&rank(b))));
        found.dedup_by_key(|(_, id)| *id);
        found.sort_by(|a, b| rank(a).cmp(&rank(b)));
        found
            .into_iter()
            .map(|(e, id)| HostMatch {
                set_id: id,
                pattern: e.pattern.as_str(),
                exact: e.pattern.is_exact(),
            })
            .collect()
    }

    /// True if any pattern matches `name` (stops at the first).
    pub fn is_match(&self, name: &HostName) -> bool {
        let mut any = false;
        self.each_match(name, |_| {
            any = true;
            true
        });
        any
    }

    /// Calls `f` for each matching entry until it returns true.
    fn each_match<'s>(&'s self, name: &HostName, mut f: impl FnMut(&'s Entry) -> bool) {
        let entry = |at: &u32| self.entries.get(*at as usize);
        if let Some(e) = self.exact.get(name.as_bytes()).and_then(entry) {
            if f(e) {
                return;
            }
        }
        let two = name.last_labels(2).and_then(|k| self.by_two.get(k));
        let one = name.last_labels(1).and_then(|k| self.by_one.get(k));
        let candidates = two
            .into_iter()
            .flatten()
            .chain(one.into_iter().flatten())
            .chain(self.unindexed.iter());
        for e in candidates.filter_map(entry) {
            if e.pattern.matches(name) && f(e) {
                return;
            }
        }
    }

    /// Number of distinct patterns (exact and wildcard).
    pub fn unique_patterns(&self) -> usize {
        self.entries.len()
    }

    /// Number of distinct wildcard patterns.
    pub fn unique_wildcards(&self) -> usize {
        self.entries.len() - self.exact.len()
    }

    /// True if no pattern was given.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> HostName {
        HostName::parse(s.as_bytes()).unwrap()
    }
    fn pat(s: &str) -> HostPattern {
        HostPattern::parse(s).unwrap()
    }
    fn glob(p: &str, host: &str) -> bool {
        match HostName::parse(host.as_bytes()) {
            Some(n) => pat(p).matches(&n),
            None => false,
        }
    }

    #[test]
    fn host_name_normalization() {
        assert_eq!(name("A.Outlook.COM.").as_str(), "a.outlook.com");
        assert_eq!(name("x").as_str(), "x");
        assert_eq!(name("_dmarc.example.com").as_str(), "_dmarc.example.com");
        let long_label = "a".repeat(63);
        assert!(HostName::parse(format!("{long_label}.com").as_bytes()).is_some());
        let max = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "a".repeat(61));
        assert_eq!(max.len(), 253);
        assert!(HostName::parse(max.as_bytes()).is_some());
        assert!(HostName::parse(format!("{max}.").as_bytes()).is_some());
        for bad in [
            &b""[..],
            b".",
            b"..",
            b".a.com",
            b"a..com",
            b"a.com..",
            b"a.com/",
            b"a com",
            b"*.outlook.com",
            b"outlook.com\0",
            b"\xc3\xa9.com",
            b"a.com:443",
            b"[::1]",
            b"xn--\xff.com",
        ] {
            assert!(HostName::parse(bad).is_none(), "{bad:?}");
        }
        assert!(HostName::parse(format!("{}.com", "a".repeat(64)).as_bytes()).is_none());
        assert!(HostName::parse(format!("{max}a").as_bytes()).is_none());
        assert!(HostName::parse(&[b'a'; 70000]).is_none());
    }

    #[test]
    fn last_labels() {
        let n = name("a.b.outlook.com");
        assert_eq!(n.last_labels(1), Some(&b"com"[..]));
        assert_eq!(n.last_labels(2), Some(&b"outlook.com"[..]));
        assert_eq!(n.last_labels(4), Some(&b"a.b.outlook.com"[..]));
        assert_eq!(n.last_labels(5), None);
        assert_eq!(name("com").last_labels(1), Some(&b"com"[..]));
        assert_eq!(name("com").last_labels(2), None);
        assert_eq!(
            name("outlook.com").last_labels(2),
            Some(&b"outlook.com"[..])
        );
    }

    #[test]
    fn pattern_parsing() {
        assert_eq!(pat("*.Outlook.COM.").as_str(), "*.outlook.com");
        assert!(pat("outlook.office365.com").is_exact());
        assert!(!pat("*cdn.onenote.net").is_exact());
        assert_eq!(pat("*cdn.onenote.net").literal_len(), 15);
        assert_eq!(pat("autodiscover.*.onmicrosoft.com").literal_len(), 29);
        assert!(pat("*").matches(&name("anything.at.all")));
        use HostPatternError::*;
        for (bad, why) in [
            ("", Empty),
            (".", Empty),
            ("a b.com", BadCharacter),
            ("https://outlook.com", BadCharacter),
            ("outlook.com/owa", BadCharacter),
            ("é.com", BadCharacter),
            ("*..com", EmptyLabel),
            (".outlook.com", EmptyLabel),
            ("a.com..", EmptyLabel),
        ] {
            assert_eq!(HostPattern::parse(bad), Err(why), "{bad}");
        }
        assert_eq!(
            HostPattern::parse(&format!("{}.com", "a".repeat(64))),
            Err(LabelTooLong)
        );
        assert_eq!(HostPattern::parse(&"a.".repeat(130)), Err(TooLong));
    }

    /// Every case of the README's wildcard table, and a few more shapes.
    #[test]
    fn readme_wildcard_table() {
        for host in ["a.outlook.com", "a.b.outlook.com", "A.Outlook.COM."] {
            assert!(glob("*.outlook.com", host), "{host}");
        }
        for host in ["outlook.com", "xoutlook.com", "outlook.com.evil.net"] {
            assert!(!glob("*.outlook.com", host), "{host}");
        }
        for host in [
            "cdn.onenote.net",
            "xyzcdn.onenote.net",
            "a.bcdn.onenote.net",
        ] {
            assert!(glob("*cdn.onenote.net", host), "{host}");
        }
        for host in ["cdn.onenote.net.x", "onenote.net"] {
            assert!(!glob("*cdn.onenote.net", host), "{host}");
        }
        for host in [
            "autodiscover.contoso.onmicrosoft.com",
            "autodiscover.a.b.onmicrosoft.com",
        ] {
            assert!(glob("autodiscover.*.onmicrosoft.com", host), "{host}");
        }
        for host in [
            "autodiscover.onmicrosoft.com",
            "autodiscover..onmicrosoft.com",
            "xautodiscover.contoso.onmicrosoft.com",
            "autodiscover.contoso.onmicrosoft.com.evil",
        ] {
            assert!(!glob("autodiscover.*.onmicrosoft.com", host), "{host}");
        }
        // Exact entries: identical name only.
        assert!(glob("outlook.office365.com", "OUTLOOK.office365.com."));
        assert!(!glob("outlook.office365.com", "a.outlook.office365.com"));
        assert!(!glob("outlook.office365.com", "outlook.office365.co"));
        // Several stars, a trailing star, overlapping pieces.
        assert!(glob("a*b*c.com", "abc.com"));
        assert!(glob("a*b*c.com", "axxbyyc.com"));
        assert!(!glob("a*b*c.com", "acb.com"));
        assert!(glob("outlook.*", "outlook.com"));
        assert!(glob("*aa*aa.com", "aaa.aa.com"));
        assert!(!glob("*aa*aa.com", "aaa.com"));
        assert!(glob("**.com", "x.com"));
        // A name shorter than head + tail must not match even if it starts and ends right.
        assert!(!glob("ab*ba", "aba"));
    }

    fn build(pairs: &[(&str, u32)]) -> HostMatcher {
        HostMatcher::build(pairs.iter().map(|(p, id)| (pat(p), *id)))
    }

    fn ranked(m: &HostMatcher, host: &str) -> Vec<(u32, String, bool)> {
        match HostName::parse(host.as_bytes()) {
            Some(n) => m
                .matches(&n)
                .into_iter()
                .map(|h| (h.set_id, h.pattern.to_string(), h.exact))
                .collect(),
            None => Vec::new(),
        }
    }

    #[test]
    fn matcher_ranks_and_keeps_every_set() {
        let m = build(&[
            ("*.office365.com", 71),
            ("outlook.office365.com", 2),
            ("outlook.office365.com", 1),
            ("*.com", 900),
            ("*365.com", 901),
            ("*.outlook.office365.com", 902),
            ("*", 903),
            ("outlook.*", 904),
            ("*.office365.com", 905),
            ("*com", 905), // a weaker pattern of a set already matched
        ]);
        assert_eq!(m.unique_patterns(), 8);
        assert_eq!(m.unique_wildcards(), 7);
        let got = ranked(&m, "Outlook.Office365.com.");
        let want: Vec<(u32, String, bool)> = [
            (1, "outlook.office365.com", true),
            (2, "outlook.office365.com", true),
            (71, "*.office365.com", false),
            (905, "*.office365.com", false),
            (904, "outlook.*", false),
            (901, "*365.com", false),
            (900, "*.com", false),
            (903, "*", false),
        ]
        .into_iter()
        .map(|(a, b, c)| (a, b.to_string(), c))
        .collect();
        assert_eq!(got, want);
        let n = name("outlook.office365.com");
        assert!(m.is_match(&n));
        assert!(!build(&[("*.outlook.com", 8)]).is_match(&n));
    }

    #[test]
    fn indexing_does_not_lose_matches() {
        // One pattern of each index class; each must be found through the index.
        let m = build(&[
            ("*.outlook.com", 1),    // by two labels: outlook.com
            ("*cdn.onenote.net", 2), // by two labels: onenote.net
            ("*.com", 3),            // by one label
            ("*x.net", 4),           // by one label: net
            ("*net", 5),             // unindexed
            ("foo.*", 6),            // unindexed
            ("autodiscover.*.onmicrosoft.com", 7),
            ("a.*.b.*", 8), // unindexed
        ]);
        let ids = |h: &str| {
            let mut v: Vec<u32> = ranked(&m, h).into_iter().map(|x| x.0).collect();
            v.sort_unstable();
            v
        };
        assert_eq!(ids("a.outlook.com"), [1, 3]);
        assert_eq!(ids("cdn.onenote.net"), [2, 5]);
        assert_eq!(ids("a.bcdn.onenote.net"), [2, 5]);
        assert_eq!(ids("ax.net"), [4, 5]);
        assert_eq!(ids("x.net"), [4, 5]);
        assert_eq!(ids("foonet"), [5]);
        assert_eq!(ids("foo.bar"), [6]);
        assert_eq!(ids("autodiscover.x.onmicrosoft.com"), [3, 7]);
        assert_eq!(ids("a.x.b.y"), [8]);
        assert_eq!(ids("com"), Vec::<u32>::new());
        assert_eq!(ids("a..outlook.com"), Vec::<u32>::new());
    }

    /// The index must agree with testing every pattern, on names built from pattern pieces.
    #[test]
    fn index_agrees_with_linear_scan() {
        let pats = [
            "*.outlook.com",
            "*cdn.onenote.net",
            "autodiscover.*.onmicrosoft.com",
            "*.com",
            "*com",
            "*m",
            "o*",
            "*.*.net",
            "a*.onenote.*",
            "outlook.com",
            "*.microsoft",
            "*t.*",
        ];
        let m = build(
            &pats
                .iter()
                .enumerate()
                .map(|(i, p)| (*p, i as u32))
                .collect::<Vec<_>>(),
        );
        let words = [
            "a",
            "outlook",
            "com",
            "cdn",
            "onenote",
            "net",
            "autodiscover",
            "xcom",
        ];
        let mut hosts = Vec::new();
        for a in words {
            hosts.push(a.to_string());
            for b in words {
                hosts.push(format!("{a}.{b}"));
                for c in words {
                    hosts.push(format!("{a}.{b}.{c}"));
                    hosts.push(format!("{a}{b}.{c}"));
                }
            }
        }
        for h in hosts {
            let n = name(&h);
            let mut want: Vec<u32> = pats
                .iter()
                .enumerate()
                .filter(|(_, p)| pat(p).matches(&n))
                .map(|(i, _)| i as u32)
                .collect();
            let mut got: Vec<u32> = m.matches(&n).iter().map(|x| x.set_id).collect();
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "{h}");
        }
    }
}
