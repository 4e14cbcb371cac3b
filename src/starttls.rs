//! The plaintext phase before TLS: which STARTTLS command a client sent (SMTP, IMAP, POP3,
//! FTP) and whether the server agreed.
//!
//! Fed only with the bytes a direction carried before its first hello record (the pipeline
//! scans plaintext for a hello, see `pipeline::find_hello_record`), line by line with a
//! bounded line buffer. Roles are told by content: the direction that sends the command is the
//! client's, the reply comes from the other.

// Nothing read off the wire may panic: no unwrap, expect, panic or unchecked indexing in
// the packet path (tests are exempt).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use crate::flow::Dir;

/// The protocol whose STARTTLS command started TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StartTls {
    /// `STARTTLS` (RFC 3207), answered `220`.
    Smtp,
    /// `<tag> STARTTLS` (RFC 9051 §6.2.1), answered `<tag> OK`.
    Imap,
    /// `STLS` (RFC 2595 §4), answered `+OK`.
    Pop3,
    /// `AUTH TLS` / `AUTH SSL` (RFC 4217 §4), answered `234`.
    Ftp,
}

impl StartTls {
    pub fn as_str(self) -> &'static str {
        match self {
            StartTls::Smtp => "smtp",
            StartTls::Imap => "imap",
            StartTls::Pop3 => "pop3",
            StartTls::Ftp => "ftp",
        }
    }
}

/// What the server said to the STARTTLS command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Accepted,
    Refused,
}

/// The longest line looked at; a longer line cannot be a command or a reply and is skipped.
const MAX_LINE: usize = 256;

/// Lines looked at for the command at most: a mail or FTP dialogue sends STARTTLS after a
/// banner and a capability list (tens of lines); past this it is some other protocol.
const MAX_LINES: u32 = 512;

#[derive(Debug, Default)]
struct LineBuf {
    line: Vec<u8>,
    /// The current line went past [`MAX_LINE`]: skipped up to its end.
    overflow: bool,
}

/// The plaintext phase of one connection.
#[derive(Debug, Default)]
pub struct PlaintextPhase {
    lines: [LineBuf; 2],
    /// Lines seen in both directions together.
    seen: u32,
    /// The command seen, with the direction that sent it and the IMAP tag.
    command: Option<(StartTls, Dir, Vec<u8>)>,
    reply: Option<Reply>,
}

impl PlaintextPhase {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether later lines can still change the answer.
    fn listening(&self) -> bool {
        self.reply.is_none() && (self.command.is_some() || self.seen < MAX_LINES)
    }

    /// Plaintext bytes that went in `dir`.
    pub fn feed(&mut self, dir: Dir, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.listening() {
            let (part, end, rest) = match memchr::memchr(b'\n', bytes) {
                Some(i) => (
                    bytes.get(..i).unwrap_or_default(),
                    true,
                    bytes.get(i + 1..).unwrap_or_default(),
                ),
                None => (bytes, false, &[][..]),
            };
            bytes = rest;
            let buf = dir.of_mut(&mut self.lines);
            if !buf.overflow {
                if buf.line.len() + part.len() <= MAX_LINE {
                    buf.line.extend_from_slice(part);
                } else {
                    buf.line.clear();
                    buf.overflow = true;
                }
            }
            if end {
                let buf = dir.of_mut(&mut self.lines);
                let line = std::mem::take(&mut buf.line);
                let skipped = std::mem::take(&mut buf.overflow);
                self.seen = self.seen.saturating_add(1);
                if !skipped {
                    self.line(dir, &line);
                }
                // Keep the allocation for the next line.
                let buf = dir.of_mut(&mut self.lines);
                buf.line = line;
                buf.line.clear();
            }
        }
        if !self.listening() {
            // Nothing more to learn: drop the line buffers.
            self.lines = Default::default();
        }
    }

    fn line(&mut self, dir: Dir, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match &self.command {
            None => self.command = command(line).map(|(p, tag)| (p, dir, tag)),
            Some((proto, cmd_dir, tag)) if *cmd_dir != dir && self.reply.is_none() => {
                self.reply = reply(*proto, tag, line);
            }
            _ => {}
        }
    }

    /// The STARTTLS protocol, once its command was seen.
    pub fn protocol(&self) -> Option<StartTls> {
        self.command.as_ref().map(|(p, ..)| *p)
    }

    /// The direction the command went in (client → server).
    pub fn client_dir(&self) -> Option<Dir> {
        self.command.as_ref().map(|(_, d, _)| *d)
    }

    pub fn reply(&self) -> Option<Reply> {
        self.reply
    }
}

/// `line` starts with `prefix`, ASCII case ignored.
fn starts_with_ci(line: &[u8], prefix: &[u8]) -> bool {
    line.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// A STARTTLS command line, with the IMAP tag (as sent, upper-cased).
fn command(line: &[u8]) -> Option<(StartTls, Vec<u8>)> {
    let line = line.trim_ascii();
    let is = |word: &[u8]| line.eq_ignore_ascii_case(word);
    if is(b"STARTTLS") {
        Some((StartTls::Smtp, vec![]))
    } else if is(b"STLS") {
        Some((StartTls::Pop3, vec![]))
    } else if is(b"AUTH TLS") || is(b"AUTH SSL") || is(b"AUTH TLS-C") || is(b"AUTH TLS-P") {
        Some((StartTls::Ftp, vec![]))
    } else {
        let (tag, rest) = line.split_at(memchr::memchr(b' ', line)?);
        (rest.trim_ascii().eq_ignore_ascii_case(b"STARTTLS") && !tag.is_empty())
            .then(|| (StartTls::Imap, tag.to_ascii_uppercase()))
    }
}

/// The server's answer to the command, if this line is it.
fn reply(proto: StartTls, tag: &[u8], line: &[u8]) -> Option<Reply> {
    let code = |ok: &[u8]| {
        if line.starts_with(ok) {
            Some(Reply::Accepted)
        } else if matches!(line.first(), Some(b'4' | b'5')) {
            Some(Reply::Refused)
        } else {
            None
        }
    };
    match proto {
        // Multi-line SMTP replies ("250-...") end with a line whose fourth byte is a space.
        StartTls::Smtp => {
            if line.get(3) == Some(&b'-') {
                None
            } else {
                code(b"220")
            }
        }
        StartTls::Ftp => code(b"234"),
        StartTls::Pop3 => {
            if starts_with_ci(line, b"+OK") {
                Some(Reply::Accepted)
            } else if starts_with_ci(line, b"-ERR") {
                Some(Reply::Refused)
            } else {
                None
            }
        }
        StartTls::Imap => {
            if !starts_with_ci(line, tag) {
                return None;
            }
            let rest = line.get(tag.len()..)?.strip_prefix(b" ")?;
            if starts_with_ci(rest, b"OK") {
                Some(Reply::Accepted)
            } else if starts_with_ci(rest, b"NO") || starts_with_ci(rest, b"BAD") {
                Some(Reply::Refused)
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Dir = Dir::LoToHi;
    const S: Dir = Dir::HiToLo;

    fn run(script: &[(Dir, &str)]) -> (Option<StartTls>, Option<Reply>) {
        let mut p = PlaintextPhase::new();
        for (d, text) in script {
            p.feed(*d, text.as_bytes());
        }
        (p.protocol(), p.reply())
    }

    #[test]
    fn smtp_accepted_and_refused() {
        let hello = [
            (S, "220 mx ESMTP\r\n"),
            (C, "EHLO printer\r\n"),
            (S, "250-mx\r\n250-STARTTLS\r\n250 SIZE 1000\r\n"),
            (C, "STARTTLS\r\n"),
        ];
        let mut ok = hello.to_vec();
        ok.push((S, "220 2.0.0 SMTP server ready\r\n"));
        assert_eq!(run(&ok), (Some(StartTls::Smtp), Some(Reply::Accepted)));
        let mut no = hello.to_vec();
        no.push((S, "454 4.7.0 TLS not available due to temporary reason\r\n"));
        assert_eq!(run(&no), (Some(StartTls::Smtp), Some(Reply::Refused)));
    }

    #[test]
    fn imap_pop3_ftp() {
        assert_eq!(
            run(&[
                (S, "* OK ready\r\n"),
                (C, ". STARTTLS\r\n"),
                (S, "* BYE no\r\n. OK Begin TLS negotiation now\r\n"),
            ]),
            (Some(StartTls::Imap), Some(Reply::Accepted))
        );
        assert_eq!(
            run(&[(C, "a1 starttls\r\n"), (S, "a1 NO not now\r\n")]),
            (Some(StartTls::Imap), Some(Reply::Refused))
        );
        assert_eq!(
            run(&[
                (S, "+OK POP3\r\n"),
                (C, "STLS\r\n"),
                (S, "+OK Begin TLS\r\n")
            ]),
            (Some(StartTls::Pop3), Some(Reply::Accepted))
        );
        assert_eq!(
            run(&[
                (S, "220 FTP\r\n"),
                (C, "AUTH TLS\r\n"),
                (S, "234 AUTH TLS ok\r\n")
            ]),
            (Some(StartTls::Ftp), Some(Reply::Accepted))
        );
    }

    #[test]
    fn lines_split_across_feeds_and_long_lines() {
        let mut p = PlaintextPhase::new();
        p.feed(C, b"STAR");
        p.feed(C, b"TTLS\r");
        p.feed(C, b"\n");
        p.feed(S, &[b'x'; 1000]);
        p.feed(S, b"\r\n220 go\r\n");
        assert_eq!(p.protocol(), Some(StartTls::Smtp));
        assert_eq!(p.client_dir(), Some(C));
        assert_eq!(p.reply(), Some(Reply::Accepted));
        // A long line is skipped whole, even when its tail would read as a reply.
        let mut p = PlaintextPhase::new();
        p.feed(C, b"starttls\r\n");
        p.feed(S, &[b' '; 300]);
        p.feed(S, b"220 not a reply\r\n554 no\r\n");
        assert_eq!(p.protocol(), Some(StartTls::Smtp));
        assert_eq!(p.client_dir(), Some(C));
        assert_eq!(p.reply(), Some(Reply::Refused));
    }

    #[test]
    fn stops_listening_after_many_lines_without_a_command() {
        let mut p = PlaintextPhase::new();
        for _ in 0..MAX_LINES {
            p.feed(C, b"GET / HTTP/1.1\r\n");
        }
        p.feed(C, b"STARTTLS\r\n");
        assert_eq!(p.protocol(), None);
        // Just under the limit, the command still counts.
        let mut p = PlaintextPhase::new();
        for _ in 0..MAX_LINES - 1 {
            p.feed(S, b"220-welcome\r\n");
        }
        p.feed(C, b"STARTTLS\r\n");
        p.feed(S, b"220 go ahead\r\n");
        assert_eq!(p.protocol(), Some(StartTls::Smtp));
        assert_eq!(p.reply(), Some(Reply::Accepted));
    }

    #[test]
    fn one_feed_with_many_lines_and_case() {
        assert_eq!(
            run(&[
                (C, "a7 CAPABILITY\r\na7 StartTLS\r\n"),
                (S, "* ok\r\nA7 ok go\r\n")
            ]),
            (Some(StartTls::Imap), Some(Reply::Accepted))
        );
        assert_eq!(
            run(&[(C, "stls\n"), (S, "-err nope\n")]),
            (Some(StartTls::Pop3), Some(Reply::Refused))
        );
    }

    #[test]
    fn no_command_no_protocol() {
        assert_eq!(
            run(&[(C, "GET / HTTP/1.1\r\n"), (S, "HTTP/1.1 200 OK\r\n")]),
            (None, None)
        );
    }
}
