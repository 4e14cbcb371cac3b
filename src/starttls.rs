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

/// The longest line kept; the rest of a longer line is ignored.
const MAX_LINE: usize = 256;

#[derive(Debug, Default)]
struct LineBuf {
    line: Vec<u8>,
    overflow: bool,
}

/// The plaintext phase of one connection.
#[derive(Debug, Default)]
pub struct PlaintextPhase {
    lines: [LineBuf; 2],
    /// The command seen, with the direction that sent it and the IMAP tag.
    command: Option<(StartTls, Dir, Vec<u8>)>,
    reply: Option<Reply>,
}

impl PlaintextPhase {
    pub fn new() -> Self {
        Self::default()
    }

    /// Plaintext bytes that went in `dir`.
    pub fn feed(&mut self, dir: Dir, bytes: &[u8]) {
        for &b in bytes {
            let buf = dir.of_mut(&mut self.lines);
            if b == b'\n' {
                let line = std::mem::take(&mut buf.line);
                buf.overflow = false;
                self.line(dir, &line);
            } else if buf.line.len() < MAX_LINE {
                buf.line.push(b);
            } else {
                buf.overflow = true;
            }
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

fn upper(b: &[u8]) -> Vec<u8> {
    b.iter().map(u8::to_ascii_uppercase).collect()
}

/// A STARTTLS command line, with the IMAP tag.
fn command(line: &[u8]) -> Option<(StartTls, Vec<u8>)> {
    let up = upper(line.trim_ascii());
    match up.as_slice() {
        b"STARTTLS" => Some((StartTls::Smtp, vec![])),
        b"STLS" => Some((StartTls::Pop3, vec![])),
        b"AUTH TLS" | b"AUTH SSL" | b"AUTH TLS-C" | b"AUTH TLS-P" => Some((StartTls::Ftp, vec![])),
        _ => {
            let (tag, rest) = up.split_at(up.iter().position(|b| *b == b' ')?);
            (rest.trim_ascii() == b"STARTTLS" && !tag.is_empty())
                .then(|| (StartTls::Imap, tag.to_vec()))
        }
    }
}

/// The server's answer to the command, if this line is it.
fn reply(proto: StartTls, tag: &[u8], line: &[u8]) -> Option<Reply> {
    let up = upper(line);
    let code = |ok: &[u8]| {
        if up.starts_with(ok) {
            Some(Reply::Accepted)
        } else if matches!(up.first(), Some(b'4' | b'5')) {
            Some(Reply::Refused)
        } else {
            None
        }
    };
    match proto {
        // Multi-line SMTP replies ("250-...") end with a line whose fourth byte is a space.
        StartTls::Smtp => {
            if up.get(3) == Some(&b'-') {
                None
            } else {
                code(b"220")
            }
        }
        StartTls::Ftp => code(b"234"),
        StartTls::Pop3 => {
            if up.starts_with(b"+OK") {
                Some(Reply::Accepted)
            } else if up.starts_with(b"-ERR") {
                Some(Reply::Refused)
            } else {
                None
            }
        }
        StartTls::Imap => {
            let rest = up.strip_prefix(tag)?.strip_prefix(b" ")?;
            if rest.starts_with(b"OK") {
                Some(Reply::Accepted)
            } else if rest.starts_with(b"NO") || rest.starts_with(b"BAD") {
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
    }

    #[test]
    fn no_command_no_protocol() {
        assert_eq!(
            run(&[(C, "GET / HTTP/1.1\r\n"), (S, "HTTP/1.1 200 OK\r\n")]),
            (None, None)
        );
    }
}
