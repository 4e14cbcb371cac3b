//! Escaping of hostile strings before they reach a terminal, a CSV cell or a JSON string.
//!
//! Everything read off the wire (SNI, ALPN) passes through [`visible`]: printable ASCII stays,
//! a backslash is doubled, and every other byte becomes `\xNN`, so control characters, escape
//! sequences and invalid UTF-8 are shown, never acted on. Cells that a spreadsheet would run as
//! a formula are neutralised by [`csv_cell`] (OWASP "CSV Injection").

use std::borrow::Cow;
use std::fmt::Write as _;

/// Wire bytes as a string that is safe on a terminal and in any text format.
pub fn visible(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

/// A text cell for CSV: one that starts with `=`, `+`, `-`, `@`, tab or carriage return is
/// prefixed with a single quote so that a spreadsheet shows it instead of evaluating it.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// Cuts a display string to at most `max` characters, marking the cut with `…`.
pub fn ellipsize(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        Cow::Borrowed(s)
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_control_and_non_ascii() {
        assert_eq!(visible(b"outlook.office365.com"), "outlook.office365.com");
        assert_eq!(visible(b"\x1b[31mred\x00"), "\\x1b[31mred\\x00");
        assert_eq!(visible("é".as_bytes()), "\\xc3\\xa9");
        assert_eq!(visible(b"a\\x41"), "a\\\\x41");
        assert_eq!(visible(b"\n\r\t\x7f"), "\\x0a\\x0d\\x09\\x7f");
    }

    #[test]
    fn csv_cells_that_look_like_formulas_are_neutralised() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for s in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(s).starts_with('\''), "{s:?}");
        }
        assert_eq!(csv_cell("outlook.com"), "outlook.com");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn ellipsize_counts_characters() {
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(ellipsize("abc", 4), "abc");
    }
}
