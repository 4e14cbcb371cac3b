//! The plaintext phase before TLS: which command started TLS (SMTP, IMAP, POP3 or FTP
//! STARTTLS, or an HTTP `CONNECT` to an explicit proxy), whether the server agreed, and the
//! bytes at the end of a scanned chunk that may start a TLS record.
//!
//! Fed only with the bytes a direction carried before its first hello record (the pipeline
//! scans plaintext for a hello, see `pipeline::find_hello_record`), line by line with a
//! bounded line buffer.
//!
//! Roles are told by content, never by port: the dialogue's protocol comes from what the
//! CLIENT says (`EHLO`/`HELO`/`STARTTLS` → SMTP, `a1 STARTTLS` → IMAP, `STLS` → POP3,
//! `AUTH TLS`/`AUTH SSL` → FTP, `CONNECT host:port HTTP/1.1` → an explicit proxy). The client
//! is the direction whose first telling line is a client's command; the server is the one
//! whose first telling line is a reply (`220 ...`, `* OK`, `+OK`, `HTTP/1.1 200`). A line that
//! reads both ways (an SMTP server's `250 STARTTLS` also reads as IMAP's `<tag> STARTTLS`)
//! tells nothing, and once the roles are known a server's text (its capability lists naming
//! `STARTTLS`, `STLS`, `AUTH TLS`) is never read as a command.
//!
//! A refusal does not end the dialogue: the client may try again (curl's FTP sends `AUTH SSL`,
//! is refused with `504`, then sends `AUTH TLS`), and the answer is the reply to the latest
//! command. A refusal stands only when no handshake follows: once the server side sends a
//! hello record after it, [`PlaintextPhase::reply`] no longer says refused.

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

/// The command whose acceptance started TLS.
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
    /// `CONNECT host:port HTTP/1.1` to an explicit proxy (RFC 9110 §9.3.6), answered `2xx`.
    Connect,
}

impl StartTls {
    pub fn as_str(self) -> &'static str {
        match self {
            StartTls::Smtp => "smtp",
            StartTls::Imap => "imap",
            StartTls::Pop3 => "pop3",
            StartTls::Ftp => "ftp",
            StartTls::Connect => "connect",
        }
    }
}

/// What the server said to the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Accepted,
    Refused,
}

/// The longest line looked at; a longer line cannot be a command or a reply and is skipped.
/// Room for `CONNECT <253-byte host name>:65535 HTTP/1.1`.
const MAX_LINE: usize = 320;

/// Lines looked at for a command at most: a mail or FTP dialogue sends STARTTLS after a
/// banner and a capability list (tens of lines); past this it is some other protocol.
const MAX_LINES: u32 = 512;

/// The longest host name kept from a `CONNECT` line (a DNS name is at most 253 bytes).
const MAX_HOST: usize = 255;

/// Bytes held back at the end of a scanned chunk at most: one less than the 9 bytes (record
/// header and handshake header) that tell a hello record.
pub const MAX_HELD: usize = 8;

#[derive(Debug, Default)]
struct LineBuf {
    line: Vec<u8>,
    /// The current line went past [`MAX_LINE`]: skipped up to its end.
    overflow: bool,
}

/// Bytes at the end of a scanned chunk that may be the start of a record.
#[derive(Debug, Default, Clone, Copy)]
struct Held {
    bytes: [u8; MAX_HELD],
    len: u8,
}

/// The command waiting for its reply.
#[derive(Debug)]
struct Pending {
    proto: StartTls,
    /// The IMAP tag, upper-cased; empty for the others.
    tag: Vec<u8>,
}

/// The plaintext phase of one connection.
#[derive(Debug, Default)]
pub struct PlaintextPhase {
    lines: [LineBuf; 2],
    /// Lines seen in both directions together.
    seen: u32,
    /// The client's direction, once a line told it.
    client: Option<Dir>,
    pending: Option<Pending>,
    /// The protocol of the latest command.
    protocol: Option<StartTls>,
    /// The reply to the latest command answered.
    reply: Option<Reply>,
    /// The server side sent a hello record after the latest refusal: TLS went ahead.
    tls_after_refusal: bool,
    /// The host of the latest `CONNECT`, as sent.
    connect_host: Option<Vec<u8>>,
    held: [Held; 2],
}

impl PlaintextPhase {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether later lines can still change the answer.
    fn listening(&self) -> bool {
        self.reply != Some(Reply::Accepted) && (self.pending.is_some() || self.seen < MAX_LINES)
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
            if end && buf.line.is_empty() && !buf.overflow {
                // A whole line in this chunk (the common case): read in place, not copied.
                self.seen = self.seen.saturating_add(1);
                if part.len() <= MAX_LINE {
                    self.line(dir, part);
                }
                continue;
            }
            if !buf.overflow {
                if buf.line.len() + part.len() <= MAX_LINE {
                    buf.line.extend_from_slice(part);
                } else {
                    buf.line = Vec::new();
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
        if self.client.is_none() {
            // The first line that reads one way only tells the roles.
            self.client = match (command(line).is_some(), reply_shaped(line)) {
                (true, false) => Some(dir),
                (false, true) => Some(dir.reverse()),
                _ => return,
            };
        }
        if self.client == Some(dir) {
            if let Some(Command::Start { proto, tag, host }) = command(line) {
                self.pending = Some(Pending {
                    proto,
                    tag: tag.to_ascii_uppercase(),
                });
                self.protocol = Some(proto);
                if let Some(host) = host {
                    self.connect_host = Some(host.to_vec());
                }
            }
        } else if let Some(p) = &self.pending {
            if let Some(r) = reply(p.proto, &p.tag, line) {
                self.pending = None;
                self.reply = Some(r);
                self.tls_after_refusal = false;
            }
        }
    }

    /// The pipeline found a hello record going in `dir`: after a refusal, a hello from the
    /// server side means TLS went ahead after all. (A client that sends its ClientHello
    /// whatever the reply, as `openssl s_client -starttls` does, is still refused.)
    pub fn hello_seen(&mut self, dir: Dir) {
        if self.reply == Some(Reply::Refused) && self.client.is_some_and(|c| c != dir) {
            self.tls_after_refusal = true;
        }
    }

    /// The protocol of the latest command (the accepted one, when one was).
    pub fn protocol(&self) -> Option<StartTls> {
        self.protocol
    }

    /// The client's direction, once the dialogue told it.
    pub fn client_dir(&self) -> Option<Dir> {
        self.client
    }

    /// The reply to the latest command answered; a refusal only while no handshake followed it.
    pub fn reply(&self) -> Option<Reply> {
        match self.reply {
            Some(Reply::Refused) if self.tls_after_refusal => None,
            r => r,
        }
    }

    /// The host (without port or brackets) of the latest `CONNECT`, raw bytes as sent.
    pub fn connect_host(&self) -> Option<&[u8]> {
        self.connect_host.as_deref()
    }

    /// Takes the bytes held back at the end of `dir`'s previous chunk.
    pub fn take_held(&mut self, dir: Dir) -> ([u8; MAX_HELD], usize) {
        let held = std::mem::take(dir.of_mut(&mut self.held));
        (held.bytes, usize::from(held.len))
    }

    /// Holds back the last bytes of `dir`'s chunk (at most [`MAX_HELD`]; more is ignored),
    /// which may start a record that the next chunk completes.
    pub fn hold(&mut self, dir: Dir, bytes: &[u8]) {
        let held = dir.of_mut(&mut self.held);
        *held = Held::default();
        if let Some(dst) = held.bytes.get_mut(..bytes.len()) {
            dst.copy_from_slice(bytes);
            held.len = bytes.len() as u8;
        }
    }
}

/// A line only a client sends.
#[derive(Debug, PartialEq, Eq)]
enum Command<'a> {
    /// A command that asks for TLS: its protocol, the IMAP tag, the `CONNECT` host.
    Start {
        proto: StartTls,
        tag: &'a [u8],
        host: Option<&'a [u8]>,
    },
    /// Any other client command (`EHLO`, `CAPA`, `a1 CAPABILITY`, `USER`, `GET / HTTP/1.1`).
    Other,
}

/// Commands of SMTP, POP3 and FTP clients (RFC 5321 §4.1, RFC 1939, RFC 2449, RFC 959,
/// RFC 2389, RFC 4217): their first word.
const CLIENT_VERBS: &[&[u8]] = &[
    b"EHLO", b"HELO", b"LHLO", b"MAIL", b"RCPT", b"DATA", b"RSET", b"NOOP", b"QUIT", b"VRFY",
    b"AUTH", b"CAPA", b"USER", b"PASS", b"APOP", b"STAT", b"FEAT", b"SYST", b"PBSZ", b"PROT",
    b"OPTS", b"PWD", b"TYPE", b"PASV", b"EPSV",
];

/// Commands of IMAP clients after their tag (RFC 9051 §6).
const IMAP_VERBS: &[&[u8]] = &[
    b"CAPABILITY",
    b"NOOP",
    b"LOGOUT",
    b"LOGIN",
    b"AUTHENTICATE",
    b"ID",
    b"ENABLE",
];

/// `line` starts with `prefix`, ASCII case ignored.
fn starts_with_ci(line: &[u8], prefix: &[u8]) -> bool {
    line.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// `line` split at its first space: the first word and the rest (empty when none).
fn first_word(line: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b' ', line) {
        Some(i) => (
            line.get(..i).unwrap_or_default(),
            line.get(i + 1..).unwrap_or_default(),
        ),
        None => (line, &[]),
    }
}

/// An IMAP tag (RFC 9051 §9: ASTRING-CHAR less `+`).
fn is_tag(word: &[u8]) -> bool {
    !word.is_empty()
        && word
            .iter()
            .all(|&b| b.is_ascii_graphic() && !b"(){%*\"\\]+".contains(&b))
}

/// `METHOD target HTTP/1.x`: an HTTP request line.
fn http_request(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let (method, rest) = first_word(line);
    let (target, version) = first_word(rest);
    (!method.is_empty()
        && method.iter().all(u8::is_ascii_uppercase)
        && !target.is_empty()
        && version.starts_with(b"HTTP/1."))
    .then_some((method, target))
}

/// The host of `CONNECT host:port HTTP/1.x` (RFC 9110 §9.3.6: authority-form), without the
/// port; an IPv6 literal without its brackets.
fn connect_request(line: &[u8]) -> Option<&[u8]> {
    let (method, authority) = http_request(line)?;
    if method != b"CONNECT" {
        return None;
    }
    let host = if let Some(rest) = authority.strip_prefix(b"[") {
        rest.get(..memchr::memchr(b']', rest)?)?
    } else {
        match memchr::memchr(b':', authority) {
            Some(i) if memchr::memrchr(b':', authority) == Some(i) => authority.get(..i)?,
            // No port, or a bare IPv6 literal (not valid in authority-form): all of it.
            _ => authority,
        }
    };
    (!host.is_empty() && host.len() <= MAX_HOST).then_some(host)
}

/// A client's command line.
fn command(line: &[u8]) -> Option<Command<'_>> {
    // Every command starts with a verb or an IMAP tag: a printable character other than a
    // space. Most lines of anything else (binary bodies) stop here.
    if !line.first().is_some_and(u8::is_ascii_graphic) {
        return None;
    }
    let line = line.trim_ascii_end();
    let start = |proto| {
        Some(Command::Start {
            proto,
            tag: &[],
            host: None,
        })
    };
    if let Some(host) = connect_request(line) {
        return Some(Command::Start {
            proto: StartTls::Connect,
            tag: &[],
            host: Some(host),
        });
    }
    let is = |word: &[u8]| line.eq_ignore_ascii_case(word);
    if is(b"STARTTLS") {
        return start(StartTls::Smtp);
    }
    if is(b"STLS") {
        return start(StartTls::Pop3);
    }
    if is(b"AUTH TLS") || is(b"AUTH SSL") || is(b"AUTH TLS-C") || is(b"AUTH TLS-P") {
        return start(StartTls::Ftp);
    }
    let (first, rest) = first_word(line);
    if CLIENT_VERBS.iter().any(|v| first.eq_ignore_ascii_case(v)) || http_request(line).is_some() {
        return Some(Command::Other);
    }
    if !is_tag(first) {
        return None;
    }
    let (verb, _) = first_word(rest);
    if rest.trim_ascii().eq_ignore_ascii_case(b"STARTTLS") {
        Some(Command::Start {
            proto: StartTls::Imap,
            tag: first,
            host: None,
        })
    } else if IMAP_VERBS.iter().any(|v| verb.eq_ignore_ascii_case(v)) {
        Some(Command::Other)
    } else {
        None
    }
}

/// A line only a server sends: a reply code (`220 `, `250-`), IMAP's untagged `* ` or
/// continuation `+ `, POP3's `+OK` / `-ERR`, an HTTP status line.
fn reply_shaped(line: &[u8]) -> bool {
    match line {
        [a, b, c] | [a, b, c, b' ' | b'-', ..]
            if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() =>
        {
            true
        }
        _ => {
            line.starts_with(b"* ")
                || line.starts_with(b"+ ")
                || starts_with_ci(line, b"+OK")
                || starts_with_ci(line, b"-ERR")
                || line.starts_with(b"HTTP/")
        }
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
        // `HTTP/1.1 200 Connection established`: 2xx opens the tunnel, 1xx is interim, the
        // rest (407 Proxy Authentication Required, 403, 502, a 3xx) refuses it.
        StartTls::Connect => {
            let (version, rest) = first_word(line);
            if !version.starts_with(b"HTTP/") {
                return None;
            }
            match rest {
                [b'2', b'0'..=b'9', b'0'..=b'9', ..] => Some(Reply::Accepted),
                [b'1', ..] => None,
                [b'3'..=b'5', b'0'..=b'9', b'0'..=b'9', ..] => Some(Reply::Refused),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Dir = Dir::LoToHi;
    const S: Dir = Dir::HiToLo;

    fn phase(script: &[(Dir, &str)]) -> PlaintextPhase {
        let mut p = PlaintextPhase::new();
        for (d, text) in script {
            p.feed(*d, text.as_bytes());
        }
        p
    }

    fn run(script: &[(Dir, &str)]) -> (Option<StartTls>, Option<Reply>) {
        let p = phase(script);
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
        assert_eq!(phase(&no).client_dir(), Some(C));
    }

    /// The scan-to-mail printer: the EHLO reply's last line is `250 STARTTLS`, which also
    /// reads as an IMAP command (`<tag> STARTTLS`). It was taken for one, and the refusal that
    /// followed vanished.
    #[test]
    fn ehlo_reply_ending_with_starttls_is_not_an_imap_command() {
        let script = [
            (S, "220 mx.example ESMTP\r\n"),
            (C, "EHLO printer\r\n"),
            (S, "250-mx.example\r\n250-SIZE 1000\r\n250 STARTTLS\r\n"),
            (C, "STARTTLS\r\n"),
            (S, "454 4.7.0 TLS not available due to temporary reason\r\n"),
            (C, "QUIT\r\n"),
            (S, "221 bye\r\n"),
        ];
        let p = phase(&script);
        assert_eq!(p.protocol(), Some(StartTls::Smtp));
        assert_eq!(p.reply(), Some(Reply::Refused));
        assert_eq!(p.client_dir(), Some(C));
        // The same, accepted; and with the greeting not captured (the roles come from the
        // `250-` line, which only a server sends).
        let mut ok = script[..4].to_vec();
        ok.push((S, "220 go ahead\r\n"));
        assert_eq!(run(&ok), (Some(StartTls::Smtp), Some(Reply::Accepted)));
        assert_eq!(
            run(&script[2..]),
            (Some(StartTls::Smtp), Some(Reply::Refused))
        );
        // Only `250 STARTTLS` seen from the server: it reads both ways and tells nothing; the
        // client's STARTTLS then does.
        assert_eq!(
            run(&[
                (S, "250 STARTTLS\r\n"),
                (C, "STARTTLS\r\n"),
                (S, "454 no\r\n")
            ]),
            (Some(StartTls::Smtp), Some(Reply::Refused))
        );
        assert_eq!(run(&[(S, "250 STARTTLS\r\n")]), (None, None));
    }

    #[test]
    fn imap_pop3_ftp() {
        assert_eq!(
            run(&[
                (S, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
                (C, ". STARTTLS\r\n"),
                (S, "* BYE no\r\n. OK Begin TLS negotiation now\r\n"),
            ]),
            (Some(StartTls::Imap), Some(Reply::Accepted))
        );
        assert_eq!(
            run(&[(C, "a1 starttls\r\n"), (S, "a1 NO not now\r\n")]),
            (Some(StartTls::Imap), Some(Reply::Refused))
        );
        // Another tag's completion is not the answer.
        assert_eq!(
            run(&[(C, "a2 STARTTLS\r\n"), (S, "a1 OK\r\n")]),
            (Some(StartTls::Imap), None)
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

    /// Capability lists name the commands: a server's text is never a command.
    #[test]
    fn server_text_naming_other_protocols() {
        // POP3 CAPA lists `STLS` and `USER` on lines of their own.
        assert_eq!(
            run(&[
                (S, "+OK POP3 ready\r\n"),
                (C, "CAPA\r\n"),
                (S, "+OK\r\nTOP\r\nUSER\r\nSTLS\r\n.\r\n"),
                (C, "QUIT\r\n"),
                (S, "-ERR not now\r\n"),
            ]),
            (None, None)
        );
        // FTP FEAT lists ` AUTH TLS`; an IMAP server's capability names STARTTLS; an SMTP
        // server's help text names them all.
        assert_eq!(
            run(&[
                (S, "220 ftp\r\n"),
                (C, "FEAT\r\n"),
                (S, "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n211 End\r\n"),
                (C, "USER anonymous\r\n"),
                (S, "530 no\r\n"),
            ]),
            (None, None)
        );
        assert_eq!(
            run(&[
                (S, "* OK [CAPABILITY IMAP4rev1 STARTTLS]\r\n"),
                (C, "a1 CAPABILITY\r\n"),
                (S, "* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n"),
            ]),
            (None, None)
        );
        assert_eq!(
            run(&[
                (S, "220 mx\r\n"),
                (C, "HELP\r\n"),
                (
                    S,
                    "214-STARTTLS\r\nSTLS\r\nAUTH TLS\r\na1 STARTTLS\r\n214 end\r\n"
                ),
                (C, "NOOP\r\n"),
                (S, "250 ok\r\n"),
            ]),
            (None, None)
        );
        // An HTTP proxy's error page naming CONNECT.
        assert_eq!(
            run(&[
                (C, "GET http://example.com/ HTTP/1.1\r\n\r\n"),
                (
                    S,
                    "HTTP/1.1 403 Forbidden\r\n\r\nCONNECT example.com:443 HTTP/1.1\r\n"
                ),
            ]),
            (None, None)
        );
    }

    /// curl's FTP with `--ssl`: `AUTH SSL` refused with 504, then `AUTH TLS` accepted.
    #[test]
    fn refusal_then_retry() {
        let mut p = phase(&[
            (S, "220 FTP server ready\r\n"),
            (C, "AUTH SSL\r\n"),
            (S, "504 AUTH SSL not supported\r\n"),
        ]);
        assert_eq!(p.reply(), Some(Reply::Refused));
        p.feed(C, b"AUTH TLS\r\n");
        // The retry waits for its answer: the refusal is the latest answer so far.
        assert_eq!(p.reply(), Some(Reply::Refused));
        p.feed(S, b"234 AUTH TLS successful\r\n");
        assert_eq!(
            (p.protocol(), p.reply()),
            (Some(StartTls::Ftp), Some(Reply::Accepted))
        );
        // SMTP refused, then accepted on a second try.
        assert_eq!(
            run(&[
                (S, "220 mx\r\n"),
                (C, "STARTTLS\r\n"),
                (S, "454 later\r\n"),
                (C, "STARTTLS\r\n"),
                (S, "220 go\r\n"),
            ]),
            (Some(StartTls::Smtp), Some(Reply::Accepted))
        );
    }

    /// A refusal stands only while no handshake follows it from the server side.
    #[test]
    fn a_hello_after_a_refusal() {
        let script = [(S, "220 mx\r\n"), (C, "STARTTLS\r\n"), (S, "454 no\r\n")];
        // `openssl s_client -starttls smtp` sends its ClientHello whatever the reply.
        let mut p = phase(&script);
        p.hello_seen(C);
        assert_eq!(p.reply(), Some(Reply::Refused));
        // A server that said no and then answered with a ServerHello did go ahead.
        p.hello_seen(S);
        assert_eq!(p.reply(), None);
        assert_eq!(p.protocol(), Some(StartTls::Smtp));
        // A hello before any reply changes nothing.
        let mut p = phase(&script[..2]);
        p.hello_seen(S);
        assert_eq!(p.reply(), None);
        p.feed(S, b"454 no\r\n");
        assert_eq!(p.reply(), Some(Reply::Refused));
    }

    #[test]
    fn http_connect() {
        let p = phase(&[
            (
                C,
                "CONNECT outlook.office365.com:443 HTTP/1.1\r\nHost: outlook.office365.com:443\r\n\
                 User-Agent: curl/7.88.1\r\n\r\n",
            ),
            (S, "HTTP/1.1 200 Connection established\r\n\r\n"),
        ]);
        assert_eq!(p.protocol(), Some(StartTls::Connect));
        assert_eq!(p.reply(), Some(Reply::Accepted));
        assert_eq!(p.client_dir(), Some(C));
        assert_eq!(p.connect_host(), Some(&b"outlook.office365.com"[..]));
        // 407, then again with credentials on the same connection; interim 100 ignored.
        let p = phase(&[
            (
                C,
                "CONNECT 40.97.10.20:443 HTTP/1.1\r\nHost: 40.97.10.20:443\r\n\r\n",
            ),
            (
                S,
                "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
            ),
        ]);
        assert_eq!(p.reply(), Some(Reply::Refused));
        assert_eq!(p.connect_host(), Some(&b"40.97.10.20"[..]));
        let mut p = p;
        p.feed(
            C,
            b"CONNECT [2603:1036::1]:443 HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n\r\n",
        );
        p.feed(S, b"HTTP/1.1 100 Continue\r\n\r\n");
        assert_eq!(p.reply(), Some(Reply::Refused));
        p.feed(S, b"HTTP/1.0 200 OK\r\n\r\n");
        assert_eq!(p.reply(), Some(Reply::Accepted));
        assert_eq!(p.connect_host(), Some(&b"2603:1036::1"[..]));
        // 403 without a later handshake: refused.
        assert_eq!(
            run(&[
                (C, "CONNECT blocked.example:443 HTTP/1.1\r\n\r\n"),
                (S, "HTTP/1.1 403 Forbidden\r\n\r\n"),
            ]),
            (Some(StartTls::Connect), Some(Reply::Refused))
        );
    }

    #[test]
    fn connect_lines() {
        fn host(line: &str) -> Option<&[u8]> {
            connect_request(line.as_bytes())
        }
        assert_eq!(
            host("CONNECT a.example:443 HTTP/1.1"),
            Some(&b"a.example"[..])
        );
        assert_eq!(host("CONNECT a.example HTTP/1.0"), Some(&b"a.example"[..]));
        assert_eq!(host("CONNECT [::1]:443 HTTP/1.1"), Some(&b"::1"[..]));
        assert_eq!(host("CONNECT ::1 HTTP/1.1"), Some(&b"::1"[..]));
        assert_eq!(host("CONNECT [::1 HTTP/1.1"), None);
        assert_eq!(host("CONNECT []:443 HTTP/1.1"), None);
        assert_eq!(host("CONNECT :443 HTTP/1.1"), None);
        assert_eq!(host("connect a.example:443 HTTP/1.1"), None);
        assert_eq!(host("CONNECT a.example:443"), None);
        assert_eq!(host("CONNECT a.example:443 HTTP/2"), None);
        assert_eq!(host("GET a.example:443 HTTP/1.1"), None);
        let long = format!("CONNECT {}:443 HTTP/1.1", "a".repeat(MAX_HOST + 1));
        assert_eq!(host(&long), None);
        let longest = format!("CONNECT {}:443 HTTP/1.1", "a".repeat(MAX_HOST));
        assert_eq!(host(&longest).map(<[u8]>::len), Some(MAX_HOST));
        // The longest host still fits a line.
        let p = phase(&[(C, &format!("{longest}\r\n")), (S, "HTTP/1.1 200 OK\r\n")]);
        assert_eq!(p.connect_host().map(<[u8]>::len), Some(MAX_HOST));
    }

    #[test]
    fn lines_split_across_feeds_and_long_lines() {
        let mut p = PlaintextPhase::new();
        p.feed(C, b"STAR");
        p.feed(C, b"TTLS\r");
        p.feed(C, b"\n");
        p.feed(S, &[b'x'; 1000]);
        p.feed(S, b"\r\n2");
        p.feed(S, b"20 go\r\n");
        assert_eq!(p.protocol(), Some(StartTls::Smtp));
        assert_eq!(p.client_dir(), Some(C));
        assert_eq!(p.reply(), Some(Reply::Accepted));
        // A long line is skipped whole, even when its tail would read as a reply.
        let mut p = PlaintextPhase::new();
        p.feed(C, b"starttls\r\n");
        p.feed(S, &[b' '; MAX_LINE + 1]);
        p.feed(S, b"220 not a reply\r\n554 no\r\n");
        assert_eq!(p.protocol(), Some(StartTls::Smtp));
        assert_eq!(p.client_dir(), Some(C));
        assert_eq!(p.reply(), Some(Reply::Refused));
        // A CONNECT line and its reply a byte at a time.
        let mut p = PlaintextPhase::new();
        for b in b"CONNECT h.example:443 HTTP/1.1\r\n\r\n" {
            p.feed(C, &[*b]);
        }
        for b in b"HTTP/1.1 200 ok\r\n\r\n" {
            p.feed(S, &[*b]);
        }
        assert_eq!(p.connect_host(), Some(&b"h.example"[..]));
        assert_eq!(p.reply(), Some(Reply::Accepted));
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

    #[test]
    fn held_bytes() {
        let mut p = PlaintextPhase::new();
        assert_eq!(p.take_held(C).1, 0);
        p.hold(C, &[0x16, 3, 1]);
        p.hold(S, &[0x15]);
        let (b, n) = p.take_held(C);
        assert_eq!(&b[..n], &[0x16, 3, 1]);
        assert_eq!(p.take_held(C).1, 0);
        assert_eq!(p.take_held(S).1, 1);
        // More than MAX_HELD is not held.
        p.hold(C, &[0; MAX_HELD + 1]);
        assert_eq!(p.take_held(C).1, 0);
    }

    /// Whatever arrives, in whatever pieces: no panic, bounded buffers.
    #[test]
    fn hostile_bytes() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let words: &[&[u8]] = &[
            b"STARTTLS",
            b"a1 ",
            b"STLS",
            b"AUTH TLS",
            b"CONNECT ",
            b"HTTP/1.1 ",
            b"200 ",
            b"454 ",
            b"\r\n",
            b"\n",
            b"[",
            b"]",
            b":",
            b" ",
            b"+OK",
            b"-ERR",
            b"* ",
        ];
        for _ in 0..2000 {
            let mut p = PlaintextPhase::new();
            for _ in 0..40 {
                let dir = if next() & 1 == 0 { C } else { S };
                let mut chunk = Vec::new();
                for _ in 0..next() % 8 {
                    match next() % 3 {
                        0 => chunk.push(next() as u8),
                        _ => chunk.extend_from_slice(words[next() as usize % words.len()]),
                    }
                }
                p.feed(dir, &chunk);
                if next() % 16 == 0 {
                    p.hello_seen(dir);
                }
                assert!(p.lines.iter().all(|l| l.line.len() <= MAX_LINE));
                assert!(p.connect_host().is_none_or(|h| h.len() <= MAX_HOST));
            }
        }
    }
}
