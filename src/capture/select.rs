//! `read --since/--until/--filter`: which frames of saved captures reach the analysis.
//!
//! A [`Selection`] exists only when one of the options is given: without them the reader hands
//! every frame to the pipeline after one branch on an `Option`. Frames left out are counted
//! (for `--stats`), never analysed: a connection that started before `--since` is seen
//! mid-stream, as a capture started at that time would see it.

use pcap::{BpfProgram, Capture, Linktype};

use crate::capture::{Frame, LinkType, Timestamp};
use crate::commands::merge::parse_rfc3339;

/// Parses `--since`/`--until`: RFC 3339 (`2025-03-04T09:30:00Z`, fractions of a second up to
/// nanoseconds, `Z` or an offset such as `+01:00`) or a date (`2025-03-04`, its midnight UTC).
pub fn parse_time(s: &str) -> Option<Timestamp> {
    if s.len() == 10 {
        return parse_rfc3339(&format!("{s}T00:00:00.000000Z"));
    }
    let (Some(head), Some(rest)) = (s.get(..19), s.get(19..)) else {
        return None;
    };
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            (&r[..n], &r[n..])
        }
        None => ("", rest),
    };
    if (rest.starts_with('.') && frac.is_empty()) || frac.len() > 9 {
        return None;
    }
    let offset_secs: i64 = match zone {
        "Z" | "z" => 0,
        _ => {
            let b = zone.as_bytes();
            let sign = match b.first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            if b.len() != 6 || b[3] != b':' {
                return None;
            }
            let num = |r: std::ops::Range<usize>| -> Option<i64> {
                let d = zone.get(r)?;
                d.bytes()
                    .all(|c| c.is_ascii_digit())
                    .then(|| d.parse().ok())?
            };
            let (h, m) = (num(1..3)?, num(4..6)?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    let digits = format!("{frac:0<9}");
    let micros = &digits[..6];
    let extra_nanos: i64 = digits[6..].parse().ok()?;
    let base = parse_rfc3339(&format!("{head}.{micros}Z"))?;
    Some(Timestamp(
        base.0
            .saturating_add(extra_nanos)
            .saturating_sub(offset_secs.saturating_mul(1_000_000_000)),
    ))
}

/// The DLT value libpcap's compiler knows a LINKTYPE by (they differ only for raw IP).
fn dlt(link: LinkType) -> i32 {
    if link == LinkType::RAW || link == LinkType::RAW_14 {
        LinkType::RAW_12.0
    } else {
        link.0
    }
}

/// Compiles `expr` for `link` (libpcap's message on failure).
pub fn compile(expr: &str, link: LinkType) -> Result<BpfProgram, String> {
    let dead = Capture::dead(Linktype(dlt(link))).map_err(|e| e.to_string())?;
    dead.compile(expr, true).map_err(|e| e.to_string())
}

/// Checks `--filter` before anything is read, compiled for Ethernet: one error line naming the
/// expression and libpcap's message.
pub fn check_filter(expr: &str) -> Result<(), String> {
    if expr.contains('\0') {
        return Err("--filter: the expression contains a NUL character".into());
    }
    compile(expr, LinkType::ETHERNET)
        .map(drop)
        .map_err(|e| format!("--filter {expr:?}: {e}"))
}

/// A BPF filter compiled once per link type met (most captures have one).
struct Filter {
    expr: String,
    /// Programs by link type; `None` where the expression does not compile for it (its
    /// frames are all rejected, with one warning).
    programs: Vec<(LinkType, Option<BpfProgram>)>,
    /// Index in `programs` of the last link type seen.
    last: usize,
}

impl Filter {
    fn keeps(&mut self, frame: &Frame<'_>) -> bool {
        let i = match self.programs.get(self.last) {
            Some((l, _)) if *l == frame.link => self.last,
            _ => match self.programs.iter().position(|(l, _)| *l == frame.link) {
                Some(i) => i,
                None => {
                    let program = match compile(&self.expr, frame.link) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            crate::commands::warning(format_args!(
                                "--filter {:?} does not compile for link type {} ({e}): its \
                                 packets are left out",
                                self.expr,
                                frame.link.name()
                            ));
                            None
                        }
                    };
                    self.programs.push((frame.link, program));
                    self.programs.len() - 1
                }
            },
        };
        self.last = i;
        self.programs[i]
            .1
            .as_ref()
            .is_some_and(|p| p.filter(frame.data))
    }
}

/// `--since`, `--until` and `--filter` applied to each frame, with what they left out.
pub struct Selection {
    /// [since, until): frames with a timestamp outside are left out.
    since: Timestamp,
    until: Timestamp,
    filter: Option<Filter>,
    /// Frames outside [`--since`, `--until`).
    pub outside: u64,
    /// Frames the `--filter` rejected.
    pub rejected: u64,
}

impl Selection {
    /// A selection, or `None` when no option asks for one (then every frame is analysed).
    pub fn new(
        since: Option<Timestamp>,
        until: Option<Timestamp>,
        filter: Option<&str>,
    ) -> Option<Selection> {
        if since.is_none() && until.is_none() && filter.is_none() {
            return None;
        }
        Some(Selection {
            since: since.unwrap_or(Timestamp(i64::MIN)),
            until: until.unwrap_or(Timestamp(i64::MAX)),
            filter: filter.map(|expr| Filter {
                expr: expr.to_string(),
                programs: Vec::new(),
                last: 0,
            }),
            outside: 0,
            rejected: 0,
        })
    }

    /// Whether `frame` is analysed; counts it when not.
    pub fn keeps(&mut self, frame: &Frame<'_>) -> bool {
        if frame.ts < self.since || (frame.ts >= self.until && self.until.0 != i64::MAX) {
            self.outside += 1;
            return false;
        }
        if let Some(f) = &mut self.filter {
            if !f.keeps(frame) {
                self.rejected += 1;
                return false;
            }
        }
        true
    }

    /// The lines `--stats` adds to the run summary (aligned as its own).
    pub fn summary(&self) -> String {
        let mut s = String::new();
        if self.since.0 != i64::MIN || self.until.0 != i64::MAX {
            s += &format!(
                "  {:<42} {}\n",
                "packets outside --since/--until", self.outside
            );
        }
        if self.filter.is_some() {
            s += &format!(
                "  {:<42} {}\n",
                "packets rejected by --filter", self.rejected
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> i64 {
        parse_time(s).unwrap_or_else(|| panic!("{s}")).0
    }

    #[test]
    fn times() {
        let day = 1_741_046_400 * 1_000_000_000i64; // 2025-03-04T00:00:00Z
        assert_eq!(t("2025-03-04"), day);
        assert_eq!(t("2025-03-04T00:00:00Z"), day);
        assert_eq!(t("2025-03-04T09:30:00Z"), day + 34_200 * 1_000_000_000);
        assert_eq!(
            t("2025-03-04T09:30:00.5Z"),
            day + 34_200 * 1_000_000_000 + 500_000_000
        );
        assert_eq!(
            t("2025-03-04T09:30:00.123456789Z"),
            day + 34_200_123_456_789
        );
        assert_eq!(t("2025-03-04T10:30:00+01:00"), t("2025-03-04T09:30:00Z"));
        assert_eq!(t("2025-03-04T08:30:00-01:00"), t("2025-03-04T09:30:00Z"));
        for bad in [
            "",
            "yesterday",
            "2025-3-4",
            "2025-13-01",
            "2025-02-30",
            "2025-03-04T24:00:00Z",
            "2025-03-04T09:30:00",
            "2025-03-04T09:30:00.Z",
            "2025-03-04T09:30:00+0100",
            "2025-03-04 09:30:00Z",
            "2025-03-04T09:30:00.1234567890Z",
            "2025-03-04T09:30:00+24:00",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn filter_errors_name_the_expression() {
        assert!(check_filter("tcp port 443").is_ok());
        let e = check_filter("tcp prot 443").unwrap_err();
        assert!(e.starts_with("--filter \"tcp prot 443\": "), "{e}");
        // Raw IP compiles (LINKTYPE 101 is DLT_RAW for libpcap's compiler).
        assert!(compile("tcp port 443", LinkType::RAW).is_ok());
    }
}
