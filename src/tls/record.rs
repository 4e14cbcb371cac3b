//! One direction's in-order bytes → TLS records → handshake messages → [`HandshakeEvent`]s.
//!
//! [`DirectionParser`] is a push parser: the pipeline feeds it the contiguous bytes the
//! reassembler delivers, split anywhere (one byte at a time works), and tells it about lost
//! bytes with [`DirectionParser::gap`]. It is role-agnostic: it reports whatever hellos it
//! sees, and the pipeline decides which side is the client.
//!
//! What it promises:
//! - **Recognition by bytes, not port.** The first bytes decide: a TLS record header of type
//!   handshake (22) or alert (21; a server may answer a ClientHello with a bare alert), or an
//!   SSLv2 hello record (see [`super::sslv2`]); anything else is [`NotTls::NotARecord`].
//! - **Bounded memory.** Record bodies are never buffered: handshake bytes stream straight into
//!   the message reassembler, everything else is skipped or kept in fixed arrays. Only a hello
//!   (ClientHello, ServerHello, draft HelloRetryRequest) or an SSLv2 hello that is split across
//!   feeds is copied, into one buffer capped at [`MAX_HANDSHAKE_MESSAGE`] (a real 138 KB
//!   ClientHello exists); a bigger hello is [`NotTls::MessageTooLarge`]. Other handshake
//!   messages (Certificate, …) are skipped by length without buffering. A hello that arrives
//!   whole in one feed is parsed from the caller's slice without copying.
//! - **No per-byte allocation.** Partial headers live in fixed arrays; the buffer is reserved
//!   once per hello and freed after it.
//! - **Quiet after encryption.** Once this direction sent a ServerHello (not a
//!   HelloRetryRequest) it stops parsing handshake content: TLS 1.3 encrypts what follows
//!   (RFC 8446 §2) and TLS 1.2's Certificate etc. are not needed. Once it sent a
//!   ChangeCipherSpec, handshake records are presumed encrypted (TLS 1.2 Finished), except a
//!   ClientHello/ServerHello that starts its record and fits in it: with TLS 1.3 middlebox
//!   compatibility (RFC 8446 Appendix D.4) the second ClientHello after a HelloRetryRequest,
//!   and the server's ServerHello after it, may follow a dummy ChangeCipherSpec. Nothing seen
//!   after a ServerHello or ChangeCipherSpec is ever reported as an error; a bad record header
//!   there just ends parsing (the direction turns inert).
//! - **Inert after application data.** The first application_data record (in TLS 1.3 this is
//!   also the first encrypted handshake record: its outer type is 23, RFC 8446 §5.2) is
//!   reported once, and all later bytes of the direction are ignored at no cost.
//! - **Resynchronisation.** After [`DirectionParser::gap`], partial state is dropped and bytes
//!   are skipped until a plausible record header (type 20..=24, version 0x0300..=0x0304,
//!   length ≤ [`MAX_RECORD_LEN`]). Such a header is trusted once the next record header is
//!   valid too; a bad header before that resumes the scan instead of failing. After a gap,
//!   a malformed or oversized hello also ends handshake parsing silently (it may have been cut).
//! - **Sticky failure.** After [`Feed::NotTls`], every later `feed` returns the same reason
//!   and ignores its bytes; events pushed before the failure (in the same call) are kept.

use super::hello::{parse_client_hello, parse_server_hello};
use super::sslv2::{self, Sslv2Hello};
use super::{HandshakeEvent, NotTls};

/// Largest record body accepted: TLSCiphertext.length ≤ 2^14 + 2048 (RFC 5246 §6.2.3; TLS
/// 1.3 allows only 2^14 + 256, RFC 8446 §5.2).
pub const MAX_RECORD_LEN: usize = 16384 + 2048;
/// Largest hello message reassembled, 4-byte header included.
pub const MAX_HANDSHAKE_MESSAGE: usize = 256 * 1024;

/// Record content types (RFC 8446 §5.1; heartbeat RFC 6520).
mod content {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

/// Handshake types reassembled and parsed; every other type is skipped by its length.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
/// HelloRetryRequest as its own message type, TLS 1.3 drafts up to 21 only.
const DRAFT_HELLO_RETRY_REQUEST: u8 = 6;

/// What became of one `feed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Keep feeding this direction (also returned when the direction has gone inert).
    Continue,
    /// Give up on this direction: it is not TLS, or no longer parseable as TLS.
    NotTls(NotTls),
}

/// The parser of one direction of one flow. See the module docs for its promises.
#[derive(Debug)]
pub struct DirectionParser {
    phase: Phase,
    /// A record header split across feeds, the first bytes while detecting, or the scan window
    /// while resynchronising.
    head: [u8; 5],
    head_len: usize,
    /// The record whose body is being read.
    record: Option<Record>,
    /// Records started so far: tells whether a handshake header began in the current record.
    record_index: u64,
    /// Handshake-message layer.
    msg: Msg,
    /// A handshake message header split across feeds or records, and where it began.
    msg_head: [u8; 4],
    msg_head_len: usize,
    msg_head_at: (u64, usize),
    /// A hello (or SSLv2 hello record) split across feeds. Empty otherwise.
    buf: Vec<u8>,
    /// An alert body split across feeds.
    alert: [u8; 2],
    alert_len: usize,
    /// This direction sent a ChangeCipherSpec.
    ccs_seen: bool,
    /// This direction started with an SSLv2 CLIENT-HELLO.
    after_sslv2_hello: bool,
    /// Bytes were lost at least once: hello errors are not reported.
    after_gap: bool,
    /// False from a resynchronisation until the next valid record header.
    trusted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing seen yet: the first bytes say TLS, SSLv2 or neither.
    Detect,
    /// Collecting an SSLv2 hello record of `total` bytes into `buf`.
    Sslv2 { kind: Sslv2Hello, total: usize },
    /// Reading TLS records.
    Records,
    /// After a gap: skipping bytes until a plausible record header.
    Resync,
    /// Nothing more to learn: bytes are ignored.
    Done,
    /// Gave up; every later feed says so again.
    Failed(NotTls),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    content_type: u8,
    len: usize,
    /// Body bytes consumed so far.
    done: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Msg {
    /// At a message boundary: the next bytes are a 4-byte handshake header.
    Header,
    /// Copying a hello of `total` bytes (header included) into `buf`.
    Collect { total: usize },
    /// Skipping the rest of a message not needed.
    Skip { remaining: usize },
    /// Handshake content is no longer parsed in this direction.
    Stopped,
}

/// What to do with a handshake message whose header is complete.
enum Want {
    Parse,
    Skip,
    Stop,
}

impl Default for DirectionParser {
    fn default() -> Self {
        Self::new()
    }
}

impl DirectionParser {
    pub fn new() -> Self {
        DirectionParser {
            phase: Phase::Detect,
            head: [0; 5],
            head_len: 0,
            record: None,
            record_index: 0,
            msg: Msg::Header,
            msg_head: [0; 4],
            msg_head_len: 0,
            msg_head_at: (0, 0),
            buf: Vec::new(),
            alert: [0; 2],
            alert_len: 0,
            ccs_seen: false,
            after_sslv2_hello: false,
            after_gap: false,
            trusted: true,
        }
    }

    /// Next contiguous bytes of this direction (any split). Pushes events to `out` in stream
    /// order; they are kept even when this call returns [`Feed::NotTls`].
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<HandshakeEvent>) -> Feed {
        if let Err(reason) = self.run(bytes, out) {
            self.phase = Phase::Failed(reason);
            self.release();
        }
        match self.phase {
            Phase::Failed(reason) => Feed::NotTls(reason),
            _ => Feed::Continue,
        }
    }

    /// Bytes were lost before the next feed: drops partial record/message state and skips
    /// bytes until something that looks like a TLS record header. No effect on an inert or
    /// failed direction.
    pub fn gap(&mut self) {
        if matches!(self.phase, Phase::Done | Phase::Failed(_)) {
            return;
        }
        self.release();
        if self.msg != Msg::Stopped {
            self.msg = Msg::Header;
        }
        self.phase = Phase::Resync;
        self.after_gap = true;
    }

    /// Bytes currently buffered (partial headers and the hello buffer), for memory accounting.
    pub fn buffered(&self) -> usize {
        self.head_len + self.msg_head_len + self.buf.len() + self.alert_len
    }

    /// Drops partial state and frees the buffer.
    fn release(&mut self) {
        self.head_len = 0;
        self.record = None;
        self.msg_head_len = 0;
        self.buf = Vec::new();
        self.alert_len = 0;
    }

    fn run(&mut self, mut input: &[u8], out: &mut Vec<HandshakeEvent>) -> Result<(), NotTls> {
        // Each step consumes at least one byte or leaves a phase that does.
        while !input.is_empty() {
            match self.phase {
                Phase::Done | Phase::Failed(_) => return Ok(()),
                Phase::Detect => self.detect(&mut input, out)?,
                Phase::Sslv2 { kind, total } => self.sslv2_bytes(kind, total, &mut input, out)?,
                Phase::Records => self.records(&mut input, out)?,
                Phase::Resync => self.resync(&mut input, out)?,
            }
        }
        Ok(())
    }

    /// Takes the next 5-byte header: straight from `input` when it is all there, else through
    /// the `head` array across feeds. `None` until complete.
    fn take_head(&mut self, input: &mut &[u8]) -> Option<[u8; 5]> {
        if self.head_len == 0 {
            if let Some((head, rest)) = input.split_first_chunk::<5>() {
                *input = rest;
                return Some(*head);
            }
        }
        let n = (5 - self.head_len).min(input.len());
        let (part, rest) = input.split_at_checked(n)?;
        self.head
            .get_mut(self.head_len..self.head_len + n)?
            .copy_from_slice(part);
        self.head_len += n;
        *input = rest;
        if self.head_len < 5 {
            return None;
        }
        self.head_len = 0;
        Some(self.head)
    }

    fn detect(&mut self, input: &mut &[u8], out: &mut Vec<HandshakeEvent>) -> Result<(), NotTls> {
        // The first byte alone rules out most non-TLS protocols (`GET `, `220 `, `SSH-`).
        let first = if self.head_len > 0 {
            self.head.first()
        } else {
            input.first()
        };
        let first = first.copied().unwrap_or(0);
        let tls_start = first == content::HANDSHAKE || first == content::ALERT;
        if !tls_start && first & 0x80 == 0 {
            return Err(NotTls::NotARecord);
        }
        let whole = *input;
        let direct = self.head_len == 0 && whole.len() >= 5;
        let Some(head) = self.take_head(input) else {
            return Ok(());
        };
        if tls_start {
            let len = record_len(head).ok_or(NotTls::NotARecord)?;
            self.phase = Phase::Records;
            return self.start_record(head[0], len, out);
        }
        let (kind, total) = sslv2::probe(head).ok_or(NotTls::NotARecord)?;
        if direct {
            if let Some((record, rest)) = whole.split_at_checked(total) {
                *input = rest;
                return self.sslv2_hello(kind, record, out);
            }
        }
        self.buf.reserve_exact(total);
        self.buf.extend_from_slice(&head);
        self.phase = Phase::Sslv2 { kind, total };
        Ok(())
    }

    fn sslv2_bytes(
        &mut self,
        kind: Sslv2Hello,
        total: usize,
        input: &mut &[u8],
        out: &mut Vec<HandshakeEvent>,
    ) -> Result<(), NotTls> {
        let n = total.saturating_sub(self.buf.len()).min(input.len());
        let (part, rest) = input.split_at_checked(n).unwrap_or((input, &[]));
        self.buf.extend_from_slice(part);
        *input = rest;
        if self.buf.len() >= total {
            let record = std::mem::take(&mut self.buf);
            self.sslv2_hello(kind, &record, out)?;
        }
        Ok(())
    }

    fn sslv2_hello(
        &mut self,
        kind: Sslv2Hello,
        record: &[u8],
        out: &mut Vec<HandshakeEvent>,
    ) -> Result<(), NotTls> {
        match kind {
            Sslv2Hello::Client => {
                let info = sslv2::parse_client_hello(record)?;
                out.push(HandshakeEvent::ClientHello(Box::new(info)));
                // The server may answer with SSLv3/TLS; the client then goes on in TLS
                // records (RFC 5246 Appendix E.2), or in SSLv2 records if SSLv2 was chosen.
                self.after_sslv2_hello = true;
                self.phase = Phase::Records;
            }
            Sslv2Hello::Server => {
                let info = sslv2::parse_server_hello(record)?;
                out.push(HandshakeEvent::ServerHello(Box::new(info)));
                // Everything after is SSLv2 key exchange and encrypted records.
                self.phase = Phase::Done;
            }
        }
        Ok(())
    }

    fn records(&mut self, input: &mut &[u8], out: &mut Vec<HandshakeEvent>) -> Result<(), NotTls> {
        let Some(record) = self.record else {
            let Some(head) = self.take_head(input) else {
                return Ok(());
            };
            return match record_len(head) {
                Some(len) => {
                    self.trusted = true;
                    self.start_record(head[0], len, out)
                }
                None => self.bad_header(head),
            };
        };
        let n = (record.len - record.done).min(input.len());
        let (chunk, rest) = input.split_at_checked(n).unwrap_or((input, &[]));
        *input = rest;
        let done = record.done + n;
        self.record = (done < record.len).then_some(Record { done, ..record });
        match record.content_type {
            content::HANDSHAKE => self.handshake_bytes(chunk, record.done, record.len, out),
            content::ALERT => {
                // Only a plaintext alert is 2 bytes (RFC 8446 §6); once a ChangeCipherSpec
                // went by, alerts are encrypted even when their type still says 21 (TLS 1.2).
                if record.len == 2 && !self.ccs_seen {
                    for &b in chunk {
                        if let Some(slot) = self.alert.get_mut(self.alert_len) {
                            *slot = b;
                            self.alert_len += 1;
                        }
                    }
                    if self.alert_len == 2 {
                        let [level, description] = self.alert;
                        out.push(HandshakeEvent::Alert { level, description });
                        self.alert_len = 0;
                    }
                }
                Ok(())
            }
            // ChangeCipherSpec is reported from its header; heartbeat bodies are not needed.
            _ => Ok(()),
        }
    }

    /// A record header passed the checks: report what its type alone says and start its body.
    fn start_record(
        &mut self,
        content_type: u8,
        len: usize,
        out: &mut Vec<HandshakeEvent>,
    ) -> Result<(), NotTls> {
        self.record_index += 1;
        self.alert_len = 0;
        match content_type {
            content::CHANGE_CIPHER_SPEC => {
                if !self.ccs_seen {
                    self.ccs_seen = true;
                    out.push(HandshakeEvent::ChangeCipherSpec);
                }
                // Handshake messages do not span a ChangeCipherSpec (RFC 5246 §7.1, RFC 8446
                // §5.1): whatever was partial is dropped.
                if self.msg != Msg::Stopped {
                    self.msg = Msg::Header;
                    self.msg_head_len = 0;
                    self.buf = Vec::new();
                }
            }
            content::APPLICATION_DATA => {
                out.push(HandshakeEvent::ApplicationData);
                self.phase = Phase::Done;
                self.release();
                return Ok(());
            }
            _ => {}
        }
        self.record = (len > 0).then_some(Record {
            content_type,
            len,
            done: 0,
        });
        Ok(())
    }

    fn bad_header(&mut self, head: [u8; 5]) -> Result<(), NotTls> {
        if self.ccs_seen
            || self.msg == Msg::Stopped
            || (self.after_sslv2_hello && head[0] & 0x80 != 0)
        {
            // Past the ServerHello / ChangeCipherSpec nothing is an error (module docs); after
            // an SSLv2 CLIENT-HELLO, SSLv2 records mean SSLv2 was chosen and nothing follows
            // that we can read.
            self.phase = Phase::Done;
            self.release();
            return Ok(());
        }
        if !self.trusted {
            // The header found by resynchronisation was a false match: scan on from its
            // second byte.
            self.head = head;
            self.head_len = 5;
            self.shift_window();
            self.phase = Phase::Resync;
            return Ok(());
        }
        Err(NotTls::BadRecord)
    }

    fn resync(&mut self, input: &mut &[u8], out: &mut Vec<HandshakeEvent>) -> Result<(), NotTls> {
        while let Some((&b, rest)) = input.split_first() {
            *input = rest;
            if let Some(slot) = self.head.get_mut(self.head_len) {
                *slot = b;
                self.head_len += 1;
            }
            self.normalize_window();
            if self.head_len == 5 {
                self.head_len = 0;
                let head = self.head;
                self.phase = Phase::Records;
                self.trusted = false;
                let len = record_len(head).ok_or(NotTls::BadRecord)?;
                return self.start_record(head[0], len, out);
            }
        }
        Ok(())
    }

    /// Drops the window's first byte, then keeps the longest plausible suffix.
    fn shift_window(&mut self) {
        if self.head_len > 0 {
            self.head.copy_within(1..self.head_len, 0);
            self.head_len -= 1;
        }
        self.normalize_window();
    }

    /// Drops leading bytes of the window until it is a plausible start of a record header.
    fn normalize_window(&mut self) {
        while self.head_len > 0 && !plausible_head(self.head.get(..self.head_len).unwrap_or(&[])) {
            self.head.copy_within(1..self.head_len, 0);
            self.head_len -= 1;
        }
    }

    /// Handshake record body bytes: `frag` starts at `offset` in a record of `record_len`.
    fn handshake_bytes(
        &mut self,
        mut frag: &[u8],
        offset: usize,
        record_len: usize,
        out: &mut Vec<HandshakeEvent>,
    ) -> Result<(), NotTls> {
        let frag_len = frag.len();
        while !frag.is_empty() {
            let at = offset + (frag_len - frag.len());
            match self.msg {
                Msg::Stopped => return Ok(()),
                Msg::Skip { remaining } => {
                    let n = remaining.min(frag.len());
                    frag = frag.get(n..).unwrap_or_default();
                    self.msg = match remaining - n {
                        0 => Msg::Header,
                        remaining => Msg::Skip { remaining },
                    };
                }
                Msg::Collect { total } => {
                    let n = total.saturating_sub(self.buf.len()).min(frag.len());
                    let (part, rest) = frag.split_at_checked(n).unwrap_or((frag, &[]));
                    self.buf.extend_from_slice(part);
                    frag = rest;
                    if self.buf.len() >= total {
                        let msg = std::mem::take(&mut self.buf);
                        self.msg = Msg::Header;
                        self.message(&msg, out)?;
                    }
                }
                Msg::Header if self.msg_head_len == 0 && frag.len() >= 4 => {
                    let Some((&head, body)) = frag.split_first_chunk::<4>() else {
                        return Ok(());
                    };
                    let (ty, len) = msg_header(head);
                    match self.want(ty, len, (self.record_index, at), record_len)? {
                        Want::Stop => self.msg = Msg::Stopped,
                        Want::Skip => {
                            frag = body;
                            if len > 0 {
                                self.msg = Msg::Skip { remaining: len };
                            }
                        }
                        Want::Parse => match frag.split_at_checked(4 + len) {
                            // The common case: the whole hello is in this feed, no copy.
                            Some((whole, rest)) => {
                                frag = rest;
                                self.message(whole, out)?;
                            }
                            None => {
                                self.buf.reserve_exact((4 + len).min(MAX_RECORD_LEN + 4));
                                self.buf.extend_from_slice(frag);
                                frag = &[];
                                self.msg = Msg::Collect { total: 4 + len };
                            }
                        },
                    }
                }
                Msg::Header => {
                    if self.msg_head_len == 0 {
                        self.msg_head_at = (self.record_index, at);
                    }
                    let n = (4 - self.msg_head_len).min(frag.len());
                    let (part, rest) = frag.split_at_checked(n).unwrap_or((frag, &[]));
                    if let Some(dst) = self
                        .msg_head
                        .get_mut(self.msg_head_len..self.msg_head_len + n)
                    {
                        dst.copy_from_slice(part);
                    }
                    self.msg_head_len += n;
                    frag = rest;
                    if self.msg_head_len < 4 {
                        continue;
                    }
                    self.msg_head_len = 0;
                    let head = self.msg_head;
                    let (ty, len) = msg_header(head);
                    match self.want(ty, len, self.msg_head_at, record_len)? {
                        Want::Stop => self.msg = Msg::Stopped,
                        Want::Skip if len > 0 => self.msg = Msg::Skip { remaining: len },
                        Want::Skip => {}
                        Want::Parse if len == 0 => self.message(&head, out)?,
                        Want::Parse => {
                            self.buf.reserve_exact((4 + len).min(MAX_RECORD_LEN + 4));
                            self.buf.extend_from_slice(&head);
                            self.msg = Msg::Collect { total: 4 + len };
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Decides what to do with a handshake message of type `ty` and body length `len` whose
    /// header began at `start` = (record index, offset in that record).
    fn want(
        &mut self,
        ty: u8,
        len: usize,
        start: (u64, usize),
        record_len: usize,
    ) -> Result<Want, NotTls> {
        let total = 4 + len;
        if self.ccs_seen {
            // After a ChangeCipherSpec a handshake record is an encrypted Finished (TLS 1.2),
            // unless it is the plaintext hello that TLS 1.3 middlebox compatibility allows
            // (RFC 8446 Appendix D.4). A TLS 1.3 hello after a CCS starts its own record
            // (§5.1: no interleaving) and is far smaller than a record; random bytes pass
            // these checks with a chance below 2^-30.
            let plausible = (ty == CLIENT_HELLO || ty == SERVER_HELLO)
                && start == (self.record_index, 0)
                && total <= record_len;
            if !plausible {
                return Ok(Want::Stop);
            }
        }
        if !matches!(ty, CLIENT_HELLO | SERVER_HELLO | DRAFT_HELLO_RETRY_REQUEST) {
            return Ok(Want::Skip);
        }
        if total > MAX_HANDSHAKE_MESSAGE {
            return self.soft(NotTls::MessageTooLarge).map(|()| Want::Stop);
        }
        Ok(Want::Parse)
    }

    /// One complete hello message (4-byte header included).
    fn message(&mut self, msg: &[u8], out: &mut Vec<HandshakeEvent>) -> Result<(), NotTls> {
        if msg.first() == Some(&CLIENT_HELLO) {
            match parse_client_hello(msg) {
                Ok(info) => out.push(HandshakeEvent::ClientHello(Box::new(info))),
                Err(e) => self.soft(e)?,
            }
            return Ok(());
        }
        match parse_server_hello(msg) {
            Ok((info, true)) => out.push(HandshakeEvent::HelloRetryRequest(Box::new(info))),
            Ok((info, false)) => {
                out.push(HandshakeEvent::ServerHello(Box::new(info)));
                // What follows is encrypted (TLS 1.3) or not needed (TLS 1.2 Certificate…).
                self.msg = Msg::Stopped;
                self.buf = Vec::new();
            }
            Err(e) => self.soft(e)?,
        }
        Ok(())
    }

    /// A hello-level problem: an error normally; after a gap or a ChangeCipherSpec (where the
    /// bytes may be cut or encrypted) handshake parsing just stops.
    fn soft(&mut self, reason: NotTls) -> Result<(), NotTls> {
        if self.after_gap || self.ccs_seen {
            self.msg = Msg::Stopped;
            self.buf = Vec::new();
            Ok(())
        } else {
            Err(reason)
        }
    }
}

/// The record length if `head` is a plausible TLS record header (RFC 8446 §5.1: type,
/// legacy_record_version, length): type 20..=24, version 3.0 to 3.4, length ≤ [`MAX_RECORD_LEN`].
fn record_len(head: [u8; 5]) -> Option<usize> {
    plausible_head(&head).then(|| usize::from(u16::from_be_bytes([head[3], head[4]])))
}

/// Whether these first 1..=5 bytes can begin a record header.
fn plausible_head(p: &[u8]) -> bool {
    let type_ok = |t: &u8| (content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(t);
    let len_ok = match p.get(3..5) {
        Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])) <= MAX_RECORD_LEN,
        _ => true,
    };
    p.first().is_none_or(type_ok)
        && p.get(1).is_none_or(|&major| major == 3)
        && p.get(2).is_none_or(|&minor| minor <= 4)
        && len_ok
}

/// Handshake header (RFC 8446 §4): msg_type(1) length(3).
fn msg_header(head: [u8; 4]) -> (u8, usize) {
    let [ty, a, b, c] = head;
    (ty, u32::from_be_bytes([0, a, b, c]) as usize)
}
