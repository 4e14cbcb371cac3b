//! Escaping of hostile strings before they reach a terminal, a CSV cell or a JSON string.
//!
//! Everything read off the wire (SNI, ALPN) passes through [`visible`]: printable ASCII stays,
//! a backslash is doubled, and every other byte becomes `\xNN`, so control characters, escape
//! sequences and invalid UTF-8 are shown, never acted on. Cells that a spreadsheet would run as
//! a formula are neutralised by [`csv_cell`] (OWASP "CSV Injection").
//!
//! Text from outside that is not wire data (file names, interface names, lines of a data file,
//! error texts that embed them) goes through [`name`] (readable UTF-8 stays readable, anything
//! that could act on a terminal is escaped) when it is put into a message, and every line
//! written to stderr goes through [`terminal`] once more, so a forgotten call cannot let a
//! control byte through.

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

/// Outside bytes that are meant as text (a file or interface name) as a string safe on a
/// terminal and in any text format, and recognisable: printable characters, non-ASCII letters
/// included, stay; a backslash is doubled; a byte that is not UTF-8 becomes `\xNN`; a control
/// or invisible formatting character (C0, DEL, C1, bidirectional overrides and isolates,
/// zero-width and line/paragraph separators, BOM) becomes `\xNN` (below 0x100) or `\u{NNNN}`.
pub fn name(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut s, c);
        }
        for b in chunk.invalid() {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    s
}

/// A path as [`name`] shows it (its bytes, so a non-UTF-8 name stays recognisable).
pub fn path(p: &std::path::Path) -> String {
    name(p.as_os_str().as_encoded_bytes())
}

/// A message about to be written to stderr, made safe: control and invisible formatting
/// characters are escaped as [`name`] escapes them; everything else, backslashes included
/// (names in the message were escaped already), is left as it is.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut s = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            escape_char(&mut s, c);
        } else {
            s.push(c);
        }
    }
    Cow::Owned(s)
}

fn push_char(s: &mut String, c: char) {
    if c == '\\' {
        s.push_str("\\\\");
    } else if hidden(c) {
        escape_char(s, c);
    } else {
        s.push(c);
    }
}

fn escape_char(s: &mut String, c: char) {
    let n = u32::from(c);
    if n < 0x100 {
        let _ = write!(s, "\\x{n:02x}");
    } else {
        let _ = write!(s, "\\u{{{n:04x}}}");
    }
}

/// Whether a character acts on a terminal or hides text instead of showing itself: C0 and C1
/// controls, DEL, and the invisible formatting characters that reorder or hide text.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
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
    fn names_stay_readable_and_harmless() {
        assert_eq!(name(b"capture.pcap"), "capture.pcap");
        assert_eq!(name("été.pcap".as_bytes()), "été.pcap");
        assert_eq!(
            name(b"a\x1b]0;pwned\x07\nb\r.pcap"),
            "a\\x1b]0;pwned\\x07\\x0ab\\x0d.pcap"
        );
        assert_eq!(name(b"caf\xe9.pcap"), "caf\\xe9.pcap");
        assert_eq!(name(b"a\\b"), "a\\\\b");
        assert_eq!(name("x\u{202e}y\u{85}".as_bytes()), "x\\u{202e}y\\x85");
        assert_eq!(terminal("ok: a\\x1b"), "ok: a\\x1b");
        assert_eq!(
            terminal("bad\x1b[2K\rtlscensus: all good"),
            "bad\\x1b[2K\\x0dtlscensus: all good"
        );
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
