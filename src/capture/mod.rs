//! Capture stage: packets from a file, standard input or an interface, as [`Frame`]s.
//!
//! The reader owns the packet buffer and lends each packet to the pipeline until the next read
//! (push, not pull). Nothing here interprets packet bytes beyond the link type.
//!
//! - [`offline`]: saved captures through libpcap; [`offline::Source`] and [`offline::ReadError`].
//! - [`native`]: saved captures parsed in Rust (`pcap-parser`), with per-interface link types
//!   and timestamp resolutions in one pcapng, and byte offsets in its errors.
//! - [`inputs`]: `read`'s arguments expanded (directories, rotated sets) and opened, with gzip
//!   or zstd compression undone.
//! - [`merge`]: `read`'s inputs merged into one stream in capture-time order (as `mergecap`),
//!   each input opened only while the merge is inside its time span; copies read once.
//! - [`readahead`]: that stream read on a thread of its own and handed over in batches.
//! - [`live`]: an interface through libpcap (reads that time out, kernel drop counters,
//!   `--write`), the interface list, and dropping root after the capture is open.

pub mod inputs;
pub mod live;
pub mod merge;
pub mod native;
pub mod offline;
pub mod readahead;
pub mod select;

use std::fmt;

/// A capture's link-layer header type (LINKTYPE_* values of the pcap/pcapng formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub i32);

impl LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP, as some systems write DLT_RAW (12 and 14 are used for it too).
    pub const RAW: LinkType = LinkType(101);
    pub const RAW_12: LinkType = LinkType(12);
    pub const RAW_14: LinkType = LinkType(14);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Whether the decode stage knows this link type.
    pub fn is_supported(self) -> bool {
        matches!(self.0, 0 | 1 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276)
    }

    /// The LINKTYPE_ name, for messages.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "NULL",
            1 => "ETHERNET",
            9 => "PPP",
            12 | 14 | 101 => "RAW",
            105 => "IEEE802_11",
            108 => "LOOP",
            113 => "LINUX_SLL",
            127 => "IEEE802_11_RADIOTAP",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => "unknown",
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// Capture time in nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_secs_nanos(secs: i64, nanos: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// RFC 3339, UTC, with microseconds: `2026-11-28T21:41:16.123456Z`.
    pub fn rfc3339(self) -> String {
        let secs = self.secs();
        let micros = self.0.rem_euclid(1_000_000_000) / 1000;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// One captured packet, borrowed from the reader until its next read.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based number of the packet in its file (or live session).
    pub number: u64,
    pub ts: Timestamp,
    pub link: LinkType,
    /// The captured bytes (may be shorter than `orig_len` when cut by the snap length).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc_with_micros() {
        assert_eq!(Timestamp(0).rfc3339(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            Timestamp::from_secs_nanos(1_795_902_076, 123_456_789).rfc3339(),
            "2026-11-28T21:41:16.123456Z"
        );
        assert_eq!(
            Timestamp::from_secs_nanos(951_782_400, 0).rfc3339(),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(Timestamp(-1).rfc3339(), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn link_type_names() {
        assert!(LinkType::LINUX_SLL2.is_supported());
        assert!(!LinkType(127).is_supported());
        assert_eq!(LinkType(127).to_string(), "IEEE802_11_RADIOTAP (127)");
    }
}
