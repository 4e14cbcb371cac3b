//! `TlsVersion`: the 16-bit protocol version number as it appears on the wire.
//!
//! Promises: every `u16` is a valid `TlsVersion` and prints as something (`TLSv1.2`, or `0x7f17`
//! for values we have no name for), so unknown versions stay visible in reports instead of being
//! folded into "other". [`TlsVersion::parse_str`] reads back exactly what `Display` writes.
//! [`TlsVersion::rank`] orders versions by what they mean rather than by their number, so the
//! "highest offered" of a ClientHello is sensible with TLS 1.3 drafts and GREASE in the list.

use std::fmt;

/// A TLS/SSL protocol version as carried in hellos (`legacy_version`, `supported_versions`).
///
/// The derived `Ord` is the plain numeric order; use [`TlsVersion::rank`] to compare meaning.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TlsVersion(pub u16);

impl TlsVersion {
    /// SSL 2.0, as written in an SSLv2 CLIENT-HELLO / SERVER-HELLO.
    pub const SSL2: TlsVersion = TlsVersion(0x0002);
    /// SSL 3.0 (RFC 6101).
    pub const SSL3: TlsVersion = TlsVersion(0x0300);
    /// TLS 1.0 (RFC 2246).
    pub const TLS10: TlsVersion = TlsVersion(0x0301);
    /// TLS 1.1 (RFC 4346).
    pub const TLS11: TlsVersion = TlsVersion(0x0302);
    /// TLS 1.2 (RFC 5246).
    pub const TLS12: TlsVersion = TlsVersion(0x0303);
    /// TLS 1.3 (RFC 8446).
    pub const TLS13: TlsVersion = TlsVersion(0x0304);

    /// A GREASE value (RFC 8701 §2): both bytes equal and of the form 0x?A. Clients put these
    /// in lists to keep servers tolerant of unknown values; they never mean a real version.
    pub const fn is_grease(self) -> bool {
        let [hi, lo] = self.0.to_be_bytes();
        hi == lo && lo & 0x0f == 0x0a
    }

    /// A pre-standard TLS 1.3: IETF drafts 0x7fNN (RFC 8446 was draft 28), Google's
    /// experiment versions 0x7e01..=0x7e02, and Facebook's fizz drafts 0xfb17 / 0xfb1a.
    pub const fn is_tls13_draft(self) -> bool {
        matches!(self.0, 0x7f00..=0x7fff | 0x7e01..=0x7e02 | 0xfb17 | 0xfb1a)
    }

    /// The version this one belongs to: TLS 1.3 for its drafts, itself otherwise.
    pub const fn family(self) -> TlsVersion {
        if self.is_tls13_draft() {
            TlsVersion::TLS13
        } else {
            self
        }
    }

    /// True below TLS 1.2: SSLv2, SSLv3, TLS 1.0 and TLS 1.1 (the versions RFC 8996 deprecates,
    /// and Microsoft 365 no longer accepts).
    pub const fn is_legacy(self) -> bool {
        // DTLS 1.0 (0xfeff, and OpenSSL's pre-RFC 0x0100) is TLS 1.1 in strength.
        matches!(self.0, 0x0002 | 0x0300..=0x0302 | 0xfeff | 0x0100)
    }

    /// The TLS version a DTLS version is as strong as (DTLS 1.0 = TLS 1.1, 1.2 = 1.2, 1.3 =
    /// 1.3; 0x0100 is OpenSSL's pre-RFC DTLS 1.0); `None` for a version that is not DTLS.
    pub const fn dtls_equivalent(self) -> Option<TlsVersion> {
        match self.0 {
            0xfeff | 0x0100 => Some(TlsVersion::TLS11),
            0xfefd => Some(TlsVersion::TLS12),
            0xfefc => Some(TlsVersion::TLS13),
            _ => None,
        }
    }

    /// Sort key by meaning, for "highest offered":
    /// - SSLv2 < SSLv3 < TLS 1.0 < … < TLS 1.3, and any later 0x03NN above them;
    /// - TLS 1.3 drafts rank just below final TLS 1.3 and above TLS 1.2 (they are TLS 1.3 on
    ///   the wire: a client offering only a draft and 1.2 is a TLS 1.3 client);
    /// - DTLS versions rank just below the TLS version of their strength (DTLS 1.0: TLS 1.1);
    /// - GREASE and values with no meaning rank 0, below everything real.
    pub const fn rank(self) -> u32 {
        let v = self.0 as u32;
        if self.is_grease() {
            0
        } else if self.is_tls13_draft() {
            // Below 0x0304_ff (final TLS 1.3), above 0x0303_ff (TLS 1.2); the low byte keeps
            // later drafts above earlier ones (0xff itself is not a draft number).
            (0x0304 << 8) | (v & 0xff).saturating_sub(1)
        } else if self.0 == 0x0002 || (self.0 >= 0x0300 && self.0 <= 0x03ff) {
            (v << 8) | 0xff
        } else if let Some(tls) = self.dtls_equivalent() {
            // Just below the TLS version of the same strength.
            ((tls.0 as u32) << 8) | 0xfd
        } else {
            0
        }
    }

    /// Reads back what `Display` writes: `SSLv2` … `TLSv1.3`, or `0x` and exactly four hex
    /// digits (either case). Anything else is `None`.
    pub fn parse_str(s: &str) -> Option<TlsVersion> {
        let named = match s {
            "SSLv2" => Some(TlsVersion::SSL2),
            "SSLv3" => Some(TlsVersion::SSL3),
            "TLSv1.0" => Some(TlsVersion::TLS10),
            "TLSv1.1" => Some(TlsVersion::TLS11),
            "TLSv1.2" => Some(TlsVersion::TLS12),
            "TLSv1.3" => Some(TlsVersion::TLS13),
            _ => None,
        };
        if named.is_some() {
            return named;
        }
        let hex = s.strip_prefix("0x")?;
        // from_str_radix alone would accept a leading '+' and fewer digits.
        if hex.len() != 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u16::from_str_radix(hex, 16).ok().map(TlsVersion)
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TlsVersion::SSL2 => f.write_str("SSLv2"),
            TlsVersion::SSL3 => f.write_str("SSLv3"),
            TlsVersion::TLS10 => f.write_str("TLSv1.0"),
            TlsVersion::TLS11 => f.write_str("TLSv1.1"),
            TlsVersion::TLS12 => f.write_str("TLSv1.2"),
            TlsVersion::TLS13 => f.write_str("TLSv1.3"),
            TlsVersion(v) => write!(f, "0x{v:04x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TlsVersion;

    #[test]
    fn display_names_and_hex() {
        let cases = [
            (0x0002, "SSLv2"),
            (0x0300, "SSLv3"),
            (0x0301, "TLSv1.0"),
            (0x0302, "TLSv1.1"),
            (0x0303, "TLSv1.2"),
            (0x0304, "TLSv1.3"),
            (0x7f17, "0x7f17"),
            (0xfb1a, "0xfb1a"),
            (0x0a0a, "0x0a0a"),
            (0x0000, "0x0000"),
            (0xABCD, "0xabcd"),
        ];
        for (v, s) in cases {
            assert_eq!(TlsVersion(v).to_string(), s);
            assert_eq!(TlsVersion::parse_str(s), Some(TlsVersion(v)), "{s}");
        }
    }

    #[test]
    fn parse_str_round_trips_every_value() {
        for v in 0..=u16::MAX {
            let t = TlsVersion(v);
            assert_eq!(TlsVersion::parse_str(&t.to_string()), Some(t));
        }
    }

    #[test]
    fn parse_str_rejects_near_misses() {
        for s in [
            "", "TLSv1", "tlsv1.2", "TLS1.2", "0x", "0x303", "0x00303", "0x+303", "0xgggg", "303",
            " TLSv1.2", "0X0303", "TLSv1.2 ",
        ] {
            assert_eq!(TlsVersion::parse_str(s), None, "{s:?}");
        }
        assert_eq!(TlsVersion::parse_str("0xAbCd"), Some(TlsVersion(0xabcd)));
    }

    #[test]
    fn grease_is_exactly_the_sixteen_rfc8701_values() {
        let grease: Vec<u16> = (0..=u16::MAX)
            .filter(|&v| TlsVersion(v).is_grease())
            .collect();
        let expected: Vec<u16> = (0..16u16).map(|i| 0x0a0a + i * 0x1010).collect();
        assert_eq!(grease, expected);
        assert!(TlsVersion(0xfafa).is_grease());
        assert!(!TlsVersion(0x0a1a).is_grease());
        assert!(!TlsVersion::TLS12.is_grease());
    }

    #[test]
    fn legacy_is_below_tls12() {
        for v in [
            TlsVersion::SSL2,
            TlsVersion::SSL3,
            TlsVersion::TLS10,
            TlsVersion::TLS11,
        ] {
            assert!(v.is_legacy(), "{v}");
        }
        for v in [
            TlsVersion::TLS12,
            TlsVersion::TLS13,
            TlsVersion(0x7f17),
            TlsVersion(0x0a0a),
            TlsVersion(0x0000),
        ] {
            assert!(!v.is_legacy(), "{v}");
        }
    }

    #[test]
    fn rank_orders_by_meaning() {
        let ordered = [
            TlsVersion::SSL2,
            TlsVersion::SSL3,
            TlsVersion::TLS10,
            TlsVersion::TLS11,
            TlsVersion::TLS12,
            TlsVersion(0x7e01),
            TlsVersion(0x7f12),
            TlsVersion(0x7f1c),
            TlsVersion::TLS13,
            TlsVersion(0x0305),
        ];
        for pair in ordered.windows(2) {
            if let [a, b] = pair {
                assert!(a.rank() < b.rank(), "{a} should rank below {b}");
            }
        }
        assert!(TlsVersion(0xfb1a).rank() > TlsVersion::TLS12.rank());
        assert!(TlsVersion(0xfb1a).rank() < TlsVersion::TLS13.rank());
        assert_eq!(TlsVersion(0x7fff).rank(), (0x0304 << 8) | 0xfe);
        assert!(TlsVersion(0xfeff).rank() < TlsVersion::TLS11.rank());
        assert!(TlsVersion(0xfeff).rank() > TlsVersion::TLS10.rank());
        assert!(TlsVersion(0xfefc).rank() > TlsVersion(0xfefd).rank());
        assert!(TlsVersion(0xfeff).is_legacy() && !TlsVersion(0xfefd).is_legacy());
        for junk in [0x0a0a, 0x0000, 0x1234, 0xfe00] {
            assert_eq!(TlsVersion(junk).rank(), 0, "{junk:#06x}");
        }
    }

    #[test]
    fn family_folds_drafts_into_tls13() {
        assert_eq!(TlsVersion(0x7f17).family(), TlsVersion::TLS13);
        assert_eq!(TlsVersion(0xfb17).family(), TlsVersion::TLS13);
        assert_eq!(TlsVersion::TLS10.family(), TlsVersion::TLS10);
        assert_eq!(TlsVersion(0x0a0a).family(), TlsVersion(0x0a0a));
    }
}
