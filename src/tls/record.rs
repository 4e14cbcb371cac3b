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
//! - **No per-byte allocation, no memory ahead of the bytes.** Partial headers live in fixed
//!   arrays; the hello buffer grows with what it holds (doubling, never past the hello's
//!   length, so at most twice what arrived: a flow that sent ten bytes of a hello holds ten
//!   bytes, not the length its header announces) and is freed after the hello.
//!   [`DirectionParser::memory`] is what it holds on the heap, for the memory budget.
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
//! - **Cut hellos.** A gap inside a ClientHello or ServerHello being collected (a short snap
//!   length keeps only the first bytes of each segment) reports what arrived of it, marked
//!   truncated (see "Truncated hellos" in [`super::hello`]); a cut ServerHello ends handshake
//!   parsing as a whole one does, a cut HelloRetryRequest does not.
//! - **Resynchronisation.** After [`DirectionParser::gap`], partial state is dropped and bytes
//!   are skipped until a plausible record header (type 20..=24, version 0x0300..=0x0304,
//!   length ≤ [`MAX_RECORD_LEN`]). Such a header is trusted once the next record header is
//!   valid too; a bad header before that resumes the scan instead of failing. After a gap,
//!   a malformed or oversized hello also ends handshake parsing silently (it may have been cut).
//! - **Sticky failure.** After [`Feed::NotTls`], every later `feed` returns the same reason
//!   and ignores its bytes; events pushed before the failure (in the same call) are kept.

use super::hello::{
    parse_client_hello, parse_client_hello_prefix, parse_server_hello, parse_server_hello_prefix,
};
use super::sslv2::{self, Sslv2Hello};
use super::{HandshakeEvent, NotTls};

/// Largest record body accepted: TLSCiphertext.length ≤ 2^14 + 2048 (RFC 5246 §6.2.3; TLS
/// 1.3 allows only 2^14 + 256, RFC 8446 §5.2).
pub const MAX_RECORD_LEN: usize = 16384 + 2048;
/// The hello buffer's first allocation at least (when the hello is that long): most split
/// hellos then need one (a ClientHello is typically 512 to 2,000 bytes), as the reassembler's
/// ring of delivered bytes starts at 512 too.
const FIRST_BUFFER: usize = 512;
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

    /// Bytes were lost before the next feed (cut by the snap length, or never captured).
    ///
    /// A ClientHello or ServerHello being collected is cut here: what its first bytes carry is
    /// pushed to `out` as a truncated hello (see "Truncated hellos" in [`super::hello`]), and a
    /// cut ServerHello ends handshake parsing as a whole one does. Then partial record/message
    /// state is dropped and bytes are skipped until something that looks like a TLS record
    /// header. No effect on an inert or failed direction.
    pub fn gap(&mut self, out: &mut Vec<HandshakeEvent>) {
        if matches!(self.phase, Phase::Done | Phase::Failed(_)) {
            return;
        }
        self.cut_hello(out);
        self.release();
        if self.phase == Phase::Done {
            // A cut SSLv2 SERVER-HELLO: nothing after it is read.
            return;
        }
        self.phase = Phase::Resync;
        self.after_gap = true;
    }

    /// The hello being collected (if any) will never be whole: reports what arrived of it.
    fn cut_hello(&mut self, out: &mut Vec<HandshakeEvent>) {
        if let Phase::Sslv2 { kind, .. } = self.phase {
            match kind {
                Sslv2Hello::Client => {
                    if let Some(info) = sslv2::parse_client_hello_prefix(&self.buf) {
                        out.push(HandshakeEvent::ClientHello(Box::new(info)));
                        self.after_sslv2_hello = true;
                    }
                }
                Sslv2Hello::Server => {
                    if let Some(info) = sslv2::parse_server_hello_prefix(&self.buf) {
                        out.push(HandshakeEvent::ServerHello(Box::new(info)));
                        self.phase = Phase::Done;
                    }
                }
            }
            return;
        }
        if self.phase != Phase::Records || !matches!(self.msg, Msg::Collect { .. }) {
            return;
        }
        let msg = std::mem::take(&mut self.buf);
        match msg.first() {
            Some(&CLIENT_HELLO) => {
                if let Some(info) = parse_client_hello_prefix(&msg) {
                    out.push(HandshakeEvent::ClientHello(Box::new(info)));
                }
            }
            Some(&SERVER_HELLO) => match parse_server_hello_prefix(&msg) {
                Some((info, true)) => out.push(HandshakeEvent::HelloRetryRequest(Box::new(info))),
                Some((info, false)) => {
                    out.push(HandshakeEvent::ServerHello(Box::new(info)));
                    self.msg = Msg::Stopped;
                }
                None => {}
            },
            // A draft HelloRetryRequest (type 6) cut short says nothing the census uses.
            _ => {}
        }
    }

    /// Bytes currently buffered (partial headers and the hello buffer), for memory accounting.
    pub fn buffered(&self) -> usize {
        self.head_len + self.msg_head_len + self.buf.len() + self.alert_len
    }

    /// Heap bytes held (the hello buffer's capacity), for the memory budget.
    pub fn memory(&self) -> usize {
        self.buf.capacity()
    }

    /// Drops all partial state and frees the buffer.
    fn release(&mut self) {
        self.head_len = 0;
        self.record = None;
        self.alert_len = 0;
        self.drop_partial_message();
    }

    /// Drops a partial handshake message: the next handshake byte starts a message header.
    fn drop_partial_message(&mut self) {
        if self.msg != Msg::Stopped {
            self.msg = Msg::Header;
        }
        self.msg_head_len = 0;
        self.buf = Vec::new();
    }

    fn run(&mut self, mut input: &[u8], out: &mut Vec<HandshakeEvent>) -> Result<(), NotTls> {
        while !input.is_empty() {
            let (before, phase) = (input.len(), self.phase);
            match phase {
                Phase::Done | Phase::Failed(_) => return Ok(()),
                Phase::Detect => self.detect(&mut input, out)?,
                Phase::Sslv2 { kind, total } => self.sslv2_bytes(kind, total, &mut input, out)?,
                Phase::Records => self.records(&mut input, out)?,
                Phase::Resync => self.resync(&mut input, out)?,
            }
            // Every step consumes a byte or changes phase; should a future edit break that,
            // stop here rather than spin on the caller's packet.
            if input.len() == before && self.phase == phase {
                debug_assert!(false, "no progress in {phase:?}");
                return Ok(());
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
        let n = 5usize.saturating_sub(self.head_len).min(input.len());
        let (part, rest) = input.split_at_checked(n).unwrap_or((input, &[]));
        *input = rest;
        if let Some(dst) = self.head.get_mut(self.head_len..self.head_len + part.len()) {
            dst.copy_from_slice(part);
            self.head_len += part.len();
        }
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
        append(&mut self.buf, &head, total);
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
        append(&mut self.buf, part, total);
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
                self.drop_partial_message();
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
            // The header found by resynchronisation was a false match: forget what its
            // record fed the message layer and scan on from its second byte.
            self.drop_partial_message();
            self.record = None;
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
                    append(&mut self.buf, part, total);
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
                                append(&mut self.buf, frag, 4 + len);
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
                    let n = 4usize.saturating_sub(self.msg_head_len).min(frag.len());
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
                            append(&mut self.buf, &head, 4 + len);
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
            // (§5.1: no interleaving) and fits in it; the ~40 random bytes of a Finished pass
            // these checks with a chance near 2^-25, and must then still parse as a hello.
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

/// Appends `part` to a buffer that will hold `total` bytes when whole. It grows with what it
/// holds: to twice its capacity, at least [`FIRST_BUFFER`] (a hello in many segments
/// reallocates a few times, not per segment), never past `total` nor to less than what it
/// must hold. Nothing more is reserved for bytes that have not arrived: a header announcing
/// 256 KiB costs what came with it.
fn append(buf: &mut Vec<u8>, part: &[u8], total: usize) {
    let need = buf.len() + part.len();
    if need > buf.capacity() {
        let want = (buf.capacity().saturating_mul(2).max(FIRST_BUFFER))
            .min(total)
            .max(need);
        buf.reserve_exact(want - buf.len());
    }
    buf.extend_from_slice(part);
}

/// The record length if `head` is a plausible TLS record header (RFC 8446 §5.1: type,
/// legacy_record_version, length): type 20..=24, version 3.0 to 3.4, length ≤ [`MAX_RECORD_LEN`].
fn record_len(head: [u8; 5]) -> Option<usize> {
    let [_, _, _, hi, lo] = head;
    plausible_head(&head).then(|| usize::from(u16::from_be_bytes([hi, lo])))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::hello::{ClientHelloInfo, ServerHelloInfo};
    use crate::tls::testdata::*;
    use crate::tls::TlsVersion;

    fn ch_event(msg: &[u8]) -> HandshakeEvent {
        HandshakeEvent::ClientHello(Box::new(parse_client_hello(msg).unwrap()))
    }

    fn sh_event(msg: &[u8]) -> HandshakeEvent {
        HandshakeEvent::ServerHello(Box::new(parse_server_hello(msg).unwrap().0))
    }

    fn client_hello_of(events: &[HandshakeEvent]) -> &ClientHelloInfo {
        match events {
            [HandshakeEvent::ClientHello(ch)] => ch,
            other => panic!("expected one ClientHello, got {other:?}"),
        }
    }

    fn server_hello_of(event: &HandshakeEvent) -> &ServerHelloInfo {
        match event {
            HandshakeEvent::ServerHello(sh) => sh,
            other => panic!("expected a ServerHello, got {other:?}"),
        }
    }

    /// The same events and outcome whether `bytes` come whole, byte by byte, or in two chunks
    /// split anywhere; no partial state left behind when the stream ends on a boundary.
    fn assert_any_split(bytes: &[u8], expected: &[HandshakeEvent], feed: Feed) {
        assert_eq!(parse_all(bytes), (expected.to_vec(), feed), "whole");
        assert_eq!(parse_bytewise(bytes), (expected.to_vec(), feed), "bytewise");
        for split in 0..=bytes.len() {
            let (a, b) = bytes.split_at(split);
            let got = feed_chunks(&mut DirectionParser::new(), [a, b]);
            assert_eq!(got, (expected.to_vec(), feed), "split at {split}");
        }
    }

    #[test]
    fn real_tls13_client_hello_any_split() {
        let seg = hex(TLS13_CLIENT_HELLO);
        let expected = [ch_event(&first_message(&seg))];
        assert_any_split(&seg, &expected, Feed::Continue);
        let ch = client_hello_of(&expected);
        assert_eq!(ch.sni.as_deref(), Some(&b"outlook.office365.com"[..]));
        assert_eq!(ch.max_offered(), TlsVersion::TLS13);

        let mut p = DirectionParser::new();
        assert_eq!(p.feed(&seg, &mut Vec::new()), Feed::Continue);
        assert_eq!(p.buffered(), 0);
        assert_eq!(
            p.buf.capacity(),
            0,
            "a hello whole in one feed is never copied"
        );
    }

    #[test]
    fn real_tls13_server_flight_any_split() {
        let seg = hex(TLS13_SERVER_FLIGHT_START);
        let expected = [
            sh_event(&first_message(&seg)),
            HandshakeEvent::ChangeCipherSpec,
            HandshakeEvent::ApplicationData,
        ];
        assert_any_split(&seg, &expected, Feed::Continue);
        let sh = server_hello_of(&expected[0]);
        assert_eq!(sh.negotiated(), TlsVersion::TLS13);
        assert_eq!(sh.cipher_suite, 0x1302);
    }

    #[test]
    fn real_tls10_hellos_any_split() {
        let ch = hex(TLS10_CLIENT_HELLO);
        assert_any_split(&ch, &[ch_event(&first_message(&ch))], Feed::Continue);
        // ServerHello record, then the first 16 bytes of the Certificate record.
        let sh = hex(TLS10_SERVER_HELLO);
        let expected = [sh_event(&first_message(&sh))];
        assert_any_split(&sh, &expected, Feed::Continue);
        assert_eq!(
            server_hello_of(&expected[0]).negotiated(),
            TlsVersion::TLS10
        );
    }

    #[test]
    fn real_hello_retry_request_flights() {
        let first = hex(HRR_SERVER_FLIGHT);
        let second = hex(HRR_SERVER_SECOND_FLIGHT_START);
        let (hrr, _) = parse_server_hello(&first_message(&first)).unwrap();
        let server = [first.clone(), second.clone()].concat();
        let expected = [
            HandshakeEvent::HelloRetryRequest(Box::new(hrr)),
            HandshakeEvent::ChangeCipherSpec,
            // After the CCS, a ServerHello that starts its record is still read (RFC 8446 D.4).
            sh_event(&first_message(&second)),
            HandshakeEvent::ApplicationData,
        ];
        assert_any_split(&server, &expected, Feed::Continue);

        // The client: a first ClientHello (from the tls13 run: the hrr run's first one is not
        // kept), the dummy CCS, then the second ClientHello in plaintext.
        let first_ch = hex(TLS13_CLIENT_HELLO);
        let client = [first_ch.clone(), hex(HRR_CLIENT_SECOND_FLIGHT)].concat();
        let (events, feed) = parse_all(&client);
        assert_eq!(feed, Feed::Continue);
        assert_eq!(events.len(), 3);
        assert_eq!(events[0], ch_event(&first_message(&first_ch)));
        assert_eq!(events[1], HandshakeEvent::ChangeCipherSpec);
        let ch = client_hello_of(&events[2..]);
        assert_eq!(ch.sni.as_deref(), Some(&b"outlook.office.com"[..]));
        assert_eq!(ch.supported_groups, [0x001d, 0x0017]);
        assert_any_split(&client, &events, Feed::Continue);
    }

    #[test]
    fn server_hello_and_certificate_in_one_record() {
        let sh = first_message(&hex(TLS10_SERVER_HELLO));
        let cert = handshake(11, &[0x30; 1000]);
        let ske = handshake(12, &[0x03; 100]);
        let done = handshake(14, &[]);
        let flight = record_v(22, 0x0301, &[sh.clone(), cert, ske, done].concat());
        let later = [
            record_v(21, 0x0301, &[1, 0]),
            record_v(20, 0x0301, &[1]),
            record_v(22, 0x0301, &[0x9c; 48]),
        ]
        .concat();
        let bytes = [flight, later].concat();
        let expected = [
            sh_event(&sh),
            // A plaintext warning alert before the CCS is reported.
            HandshakeEvent::Alert {
                level: 1,
                description: 0,
            },
            HandshakeEvent::ChangeCipherSpec,
        ];
        assert_any_split(&bytes, &expected, Feed::Continue);
    }

    #[test]
    fn several_messages_in_one_record() {
        let ch = first_message(&hex(TLS13_CLIENT_HELLO));
        // An unknown type and a HelloRequest before the ClientHello are skipped by length.
        let bytes = record(
            22,
            &[handshake(0xfe, &[7; 10]), handshake(0, &[]), ch.clone()].concat(),
        );
        assert_any_split(&bytes, &[ch_event(&ch)], Feed::Continue);
        // Two ClientHellos in one record: both are reported, in order.
        let other = client_hello(0x0301, &[0x002f], &[ext_sni(b"b.example")]);
        let bytes = record(22, &[ch.clone(), other.clone()].concat());
        assert_any_split(&bytes, &[ch_event(&ch), ch_event(&other)], Feed::Continue);
    }

    #[test]
    fn client_hello_across_three_records() {
        let ch = first_message(&hex(TLS13_CLIENT_HELLO));
        // The first record ends inside the handshake header.
        let bytes = [
            record_v(22, 0x0301, &ch[..3]),
            record(22, &ch[3..200]),
            record(22, &ch[200..]),
        ]
        .concat();
        assert_any_split(&bytes, &[ch_event(&ch)], Feed::Continue);

        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        let first_two = 5 + 3 + 5 + 197;
        assert_eq!(p.feed(&bytes[..first_two], &mut out), Feed::Continue);
        assert!(out.is_empty());
        assert_eq!(p.buffered(), 200, "header + 196 body bytes copied");
        p.feed(&bytes[first_two..], &mut out);
        assert_eq!(out, [ch_event(&ch)]);
        assert_eq!(
            (p.buffered(), p.buf.capacity()),
            (0, 0),
            "freed after the hello"
        );
    }

    /// A ClientHello with the X25519MLKEM768 (0x11EC) hybrid key share, as Chrome and Firefox
    /// send: built from the real OpenSSL hello (OpenSSL 3.0 cannot make one) with its
    /// key_share replaced by a 1216-byte 0x11EC share (ML-KEM-768 encapsulation key 1184 +
    /// X25519 32, draft-ietf-tls-ecdhe-mlkem) plus an X25519 share, and 0x11EC put first in
    /// supported_groups. Fed in 3 chunks that cut through the handshake header and the share.
    #[test]
    fn post_quantum_client_hello_in_three_chunks() {
        let (fixed, mut exts) = split_client_hello(&first_message(&hex(TLS13_CLIENT_HELLO)));
        let mut shares = Vec::new();
        shares.extend_from_slice(&0x11ecu16.to_be_bytes());
        shares.extend_from_slice(&vec16(
            &(0..1216).map(|i| (i * 7) as u8).collect::<Vec<u8>>(),
        ));
        shares.extend_from_slice(&0x001du16.to_be_bytes());
        shares.extend_from_slice(&vec16(&[0x42; 32]));
        for (ty, body) in exts.iter_mut() {
            match *ty {
                51 => *body = vec16(&shares),
                10 => *body = vec16(&be16s(&[0x11ec, 0x001d, 0x0017])),
                _ => {}
            }
        }
        let msg = join_client_hello(&fixed, &exts);
        let bytes = record_v(22, 0x0301, &msg);
        assert!(bytes.len() > 1500, "{}", bytes.len());

        let chunks = [&bytes[..7], &bytes[7..900], &bytes[900..]];
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            assert_eq!(p.feed(chunk, &mut out), Feed::Continue);
            assert_eq!(out.is_empty(), i < 2);
        }
        let ch = client_hello_of(&out);
        assert_eq!(ch.supported_groups, [0x11ec, 0x001d, 0x0017]);
        assert_eq!(ch.sni.as_deref(), Some(&b"outlook.office365.com"[..]));
        assert_eq!(ch.offered_versions[0], TlsVersion::TLS13);
        assert_eq!(ch.extensions, [0, 11, 10, 35, 16, 22, 23, 13, 43, 45, 51]);
        assert_eq!(p.buffered(), 0);
        assert_any_split(&bytes, &out, Feed::Continue);
    }

    #[test]
    fn largest_possible_client_hello_spans_many_records() {
        // 32767 suites + a 65000-byte padding extension: ~130 KB, near the most the u16
        // vectors of a ClientHello can hold (RFC 8446 §4.1.2).
        let suites: Vec<u16> = (0..32767).map(|i| i as u16).collect();
        let msg = client_hello(
            0x0303,
            &suites,
            &[ext_sni(b"big.example"), ext(21, &[0; 65000])],
        );
        assert!(msg.len() > 127 * 1024 && msg.len() <= MAX_HANDSHAKE_MESSAGE);
        let bytes: Vec<u8> = msg
            .chunks(16384)
            .flat_map(|part| record(22, part))
            .collect();
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        let mut peak = 0;
        for chunk in bytes.chunks(1400) {
            assert_eq!(p.feed(chunk, &mut out), Feed::Continue);
            peak = peak.max(p.buffered());
        }
        let ch = client_hello_of(&out);
        assert_eq!(ch.cipher_suites.len(), 32767);
        assert_eq!(ch.extensions, [0, 21]);
        assert_eq!(ch.sni.as_deref(), Some(&b"big.example"[..]));
        assert!(peak < msg.len() && peak > msg.len() - 1400, "peak {peak}");
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn hello_over_the_cap_is_message_too_large_at_its_header() {
        let len = (MAX_HANDSHAKE_MESSAGE - 4 + 1) as u32;
        let mut head = vec![1];
        head.extend_from_slice(&len.to_be_bytes()[1..]);
        let bytes = record(22, &head);
        assert_any_split(&bytes, &[], Feed::NotTls(NotTls::MessageTooLarge));
        // Exactly at the cap is fine (the body just has not come yet).
        let mut head = vec![2];
        head.extend_from_slice(&((MAX_HANDSHAKE_MESSAGE - 4) as u32).to_be_bytes()[1..]);
        assert_eq!(parse_all(&record(22, &head)), (vec![], Feed::Continue));

        // Sticky: later feeds say the same and read nothing.
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        p.feed(&bytes, &mut out);
        let again = p.feed(&hex(TLS13_CLIENT_HELLO), &mut out);
        assert_eq!(again, Feed::NotTls(NotTls::MessageTooLarge));
        assert!(out.is_empty());
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn big_messages_that_are_not_hellos_are_skipped_without_buffering() {
        let sh = first_message(&hex(TLS10_SERVER_HELLO));
        // A 300 KB Certificate message before the ServerHello (odd, but legal framing).
        let cert = handshake(11, &vec![0x30; 300 * 1024]);
        let stream = [cert, sh.clone()].concat();
        let bytes: Vec<u8> = stream
            .chunks(16384)
            .flat_map(|part| record(22, part))
            .collect();
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        for chunk in bytes.chunks(1000) {
            assert_eq!(p.feed(chunk, &mut out), Feed::Continue);
            assert!(p.buffered() <= sh.len() + 5, "{}", p.buffered());
        }
        assert_eq!(out, [sh_event(&sh)]);
    }

    #[test]
    fn alert_as_first_server_record() {
        for version in [0x0301, 0x0303] {
            let bytes = record_v(21, version, &[2, 40]);
            let expected = [HandshakeEvent::Alert {
                level: 2,
                description: 40,
            }];
            assert_any_split(&bytes, &expected, Feed::Continue);
        }
        // protocol_version(70) then close: the classic answer to a TLS 1.0 ClientHello.
        let bytes = [record_v(21, 0x0301, &[2, 70]), b"tail after close".to_vec()].concat();
        let (events, _) = parse_all(&bytes);
        assert_eq!(
            events[0],
            HandshakeEvent::Alert {
                level: 2,
                description: 70
            }
        );
    }

    #[test]
    fn only_plaintext_two_byte_alerts_are_reported() {
        let bytes = [
            record(21, &[1, 0, 1, 0]), // two alerts in one record: not reported
            record(21, &[0xde; 26]),   // encrypted alert (TLS 1.2 after CCS, or garbage)
            record(20, &[1]),
            record(21, &[2, 40]), // 2 bytes, but after the CCS: encrypted (NULL cipher)
        ]
        .concat();
        assert_any_split(&bytes, &[HandshakeEvent::ChangeCipherSpec], Feed::Continue);
    }

    #[test]
    fn not_tls_is_rejected_on_the_first_byte() {
        let samples: [&[u8]; 7] = [
            b"GET / HTTP/1.1\r\nHost: outlook.office365.com\r\n\r\n",
            b"220 smtp.example.com ESMTP ready\r\n",
            b"SSH-2.0-OpenSSH_9.2\r\n",
            b"* OK IMAP4rev1 ready\r\n",
            b"+OK POP3\r\n",
            &[0x00; 16],
            &[0x05, 0x01, 0x00],
        ];
        for sample in samples {
            let mut p = DirectionParser::new();
            let mut out = Vec::new();
            assert_eq!(
                p.feed(&sample[..1], &mut out),
                Feed::NotTls(NotTls::NotARecord)
            );
            assert_any_split(sample, &[], Feed::NotTls(NotTls::NotARecord));
        }
    }

    #[test]
    fn impossible_first_record_headers() {
        let bad: [&[u8]; 9] = [
            &[23, 3, 3, 0, 5],         // application_data first
            &[20, 3, 3, 0, 1],         // ChangeCipherSpec first
            &[24, 3, 3, 0, 3],         // heartbeat first
            &[22, 3, 5, 0, 5],         // version 3.5
            &[22, 2, 0, 0, 5],         // version 2.0 in a TLS header
            &[22, 3, 1, 0x48, 0x01],   // length 18433 > 2^14 + 2048
            &[22, 3, 1, 0xff, 0xff],   // length 65535
            &[0x80, 0x2e, 0x02, 3, 1], // SSLv2 CLIENT-MASTER-KEY: not a start
            &[0xff, 0xff, 0xff, 0xff, 0xff],
        ];
        for head in bad {
            let bytes = [head, &[0u8; 8][..]].concat();
            assert_any_split(&bytes, &[], Feed::NotTls(NotTls::NotARecord));
        }
        // The limits themselves are accepted.
        assert_eq!(parse_all(&[22, 3, 4, 0x48, 0x00]).1, Feed::Continue);
        assert_eq!(parse_all(&[21, 3, 0, 0, 2]).1, Feed::Continue);
    }

    #[test]
    fn bad_record_header_later_is_bad_record() {
        let ch = hex(TLS13_CLIENT_HELLO);
        let expected = [ch_event(&first_message(&ch))];
        for head in [[0x63, 3, 3, 0, 1], [22, 4, 1, 0, 1], [22, 3, 1, 0x50, 0]] {
            let bytes = [ch.clone(), head.to_vec(), vec![0; 4]].concat();
            assert_any_split(&bytes, &expected, Feed::NotTls(NotTls::BadRecord));
        }
    }

    #[test]
    fn nothing_after_server_hello_or_ccs_is_an_error() {
        let sh = hex(TLS13_SERVER_FLIGHT_START);
        let sh_record_len = 5 + 122;
        // ServerHello record, then garbage where the next header should be: inert, no error,
        // and a later valid record is not read.
        let bytes = [&sh[..sh_record_len], b"\x99garbage", &record(20, &[1])[..]].concat();
        let expected = [sh_event(&first_message(&sh))];
        assert_any_split(&bytes, &expected, Feed::Continue);

        // Client: ClientHello, CCS, then garbage headers.
        let ch = hex(TLS13_CLIENT_HELLO);
        let bytes = [
            ch.clone(),
            record(20, &[1]),
            b"\x00\x01\x02\x03\x04\x05".to_vec(),
        ]
        .concat();
        let expected = [
            ch_event(&first_message(&ch)),
            HandshakeEvent::ChangeCipherSpec,
        ];
        assert_any_split(&bytes, &expected, Feed::Continue);
    }

    #[test]
    fn encrypted_handshake_after_ccs_is_not_parsed() {
        let ch = hex(TLS10_CLIENT_HELLO);
        let ch_ev = ch_event(&first_message(&ch));
        // TLS 1.2 encrypted Finished records that happen to start like a hello: one whose
        // length runs past its record, one that fits but does not parse, one not at the
        // record start.
        let mut fake = vec![1, 0, 0, 0x20];
        fake.extend_from_slice(&[0xa5; 0x20]);
        let finished_like = [
            record(22, &[1, 0, 0, 0x40, 0xaa, 0xbb, 0xcc, 0xdd]),
            record(22, &fake),
            record(
                22,
                &[[0x14, 0, 0, 4, 9, 9, 9, 9].as_slice(), &first_message(&ch)].concat(),
            ),
        ];
        for encrypted in finished_like {
            let bytes = [
                ch.clone(),
                record(20, &[1]),
                encrypted,
                record(23, &[0; 20]),
            ]
            .concat();
            let expected = [
                ch_ev.clone(),
                HandshakeEvent::ChangeCipherSpec,
                HandshakeEvent::ApplicationData,
            ];
            assert_any_split(&bytes, &expected, Feed::Continue);
        }
    }

    #[test]
    fn malformed_hello_before_ccs_is_an_error() {
        let body = client_hello_body(0x0303, &[0; 33], &[0x1301], None);
        let bytes = record(22, &handshake(1, &body));
        assert_any_split(&bytes, &[], Feed::NotTls(NotTls::MalformedHello));
        let bytes = record(22, &handshake(2, &[3, 3, 0]));
        assert_any_split(&bytes, &[], Feed::NotTls(NotTls::MalformedHello));
    }

    #[test]
    fn application_data_is_reported_once_then_the_direction_is_inert() {
        let ch = hex(TLS13_CLIENT_HELLO);
        let bytes = [
            ch.clone(),
            record(23, &[1; 30]),
            record(23, &[2; 30]),
            b"anything at all".to_vec(),
        ]
        .concat();
        let expected = [
            ch_event(&first_message(&ch)),
            HandshakeEvent::ApplicationData,
        ];
        assert_any_split(&bytes, &expected, Feed::Continue);
        let mut p = DirectionParser::new();
        p.feed(&bytes, &mut Vec::new());
        assert_eq!(p.buffered(), 0);
        p.gap(&mut Vec::new());
        assert_eq!(
            p.feed(&ch, &mut Vec::new()),
            Feed::Continue,
            "inert even after a gap"
        );
    }

    #[test]
    fn zero_length_records_are_harmless() {
        let ch = hex(TLS13_CLIENT_HELLO);
        let bytes = [
            record(22, &[]),
            ch.clone(),
            record(22, &[]),
            record(21, &[]),
            record(24, &[]),
            record(20, &[]),
        ]
        .concat();
        let expected = [
            ch_event(&first_message(&ch)),
            HandshakeEvent::ChangeCipherSpec,
        ];
        assert_any_split(&bytes, &expected, Feed::Continue);
    }

    #[test]
    fn gap_resyncs_on_the_next_record_header() {
        let ch = hex(TLS13_CLIENT_HELLO);
        let expected = vec![ch_event(&first_message(&ch))];
        let junk = [0xee_u8; 37];
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        assert_eq!(p.feed(&ch[..100], &mut out), Feed::Continue);
        assert_eq!(p.buffered(), 95);
        p.gap(&mut out);
        assert_eq!(p.buffered(), 0);
        // The first 95 bytes of the hello are reported as a truncated hello.
        let cut =
            HandshakeEvent::ClientHello(Box::new(parse_client_hello_prefix(&ch[5..100]).unwrap()));
        assert_eq!(out, std::slice::from_ref(&cut));
        // The tail of the lost record, junk, then a whole ClientHello record.
        for chunk in [&ch[150..], &junk[..], &ch[..]] {
            assert_eq!(p.feed(chunk, &mut out), Feed::Continue);
        }
        assert_eq!(out, [cut, expected[0].clone()]);

        // A gap before the first byte: no first-record rule, any record type resyncs.
        let bytes = [&junk[..], &record(22, &[0xfe, 0, 0, 1, 0])[..], &ch[..]].concat();
        for split in [0, 1, 20, 40, 45, bytes.len()] {
            let mut p = DirectionParser::new();
            p.gap(&mut Vec::new());
            let (a, b) = bytes.split_at(split);
            assert_eq!(
                feed_chunks(&mut p, [a, b]),
                (expected.clone(), Feed::Continue)
            );
        }
        let mut p = DirectionParser::new();
        p.gap(&mut Vec::new());
        assert_eq!(
            feed_chunks(&mut p, bytes.chunks(1)),
            (expected.clone(), Feed::Continue)
        );
    }

    #[test]
    fn false_header_found_by_resync_resumes_the_scan() {
        let ch = hex(TLS13_CLIENT_HELLO);
        let expected = vec![ch_event(&first_message(&ch))];
        // A plausible handshake header in the junk: its 3-byte "record" feeds a partial
        // message header; the next header is impossible, so the scan resumes and the partial
        // message is forgotten.
        let bytes = [
            &[0x16, 0x03, 0x03, 0x00, 0x03, 0x01, 0x00, 0x00][..],
            b"\x99\x98junk",
            &ch[..],
        ]
        .concat();
        let mut p = DirectionParser::new();
        p.gap(&mut Vec::new());
        assert_eq!(
            feed_chunks(&mut p, [&bytes[..]]),
            (expected.clone(), Feed::Continue)
        );
        let mut p = DirectionParser::new();
        p.gap(&mut Vec::new());
        assert_eq!(
            feed_chunks(&mut p, bytes.chunks(1)),
            (expected.clone(), Feed::Continue)
        );

        // Once a second valid header confirmed the resync, a bad header is an error again.
        let bytes = [&ch[..], &record(22, &[])[..], &[0x99, 3, 3, 0, 0][..]].concat();
        let mut p = DirectionParser::new();
        p.gap(&mut Vec::new());
        let (events, feed) = feed_chunks(&mut p, [&bytes[..]]);
        assert_eq!((events, feed), (expected, Feed::NotTls(NotTls::BadRecord)));
    }

    #[test]
    fn gap_inside_a_hello_reports_what_arrived_and_nothing_after() {
        let ch = first_message(&hex(TLS13_CLIENT_HELLO));
        let records = [
            record(22, &ch[..100]),
            record(22, &ch[100..250]),
            record(22, &ch[250..]),
        ];
        for lost in 0..3 {
            let mut p = DirectionParser::new();
            let mut out = Vec::new();
            for (i, r) in records.iter().enumerate() {
                if i == lost {
                    p.gap(&mut out);
                } else {
                    assert_eq!(p.feed(r, &mut out), Feed::Continue, "lost {lost}");
                }
            }
            // Lost first: nothing. Lost later: what came before the loss, as a truncated
            // hello. The continuation bytes after the loss look like a message header with
            // garbage type/length: nothing more is reported, and no error either.
            let expected: Vec<HandshakeEvent> = match lost {
                0 => vec![],
                1 => vec![HandshakeEvent::ClientHello(Box::new(
                    parse_client_hello_prefix(&ch[..100]).unwrap(),
                ))],
                _ => vec![HandshakeEvent::ClientHello(Box::new(
                    parse_client_hello_prefix(&ch[..250]).unwrap(),
                ))],
            };
            assert_eq!(out, expected, "lost {lost}");
            if let [HandshakeEvent::ClientHello(cut)] = &out[..] {
                assert!(cut.truncated);
            }
        }
    }

    /// The event a gap makes of the first bytes of a hello message (none for too few bytes).
    fn cut_event(msg_prefix: &[u8]) -> Vec<HandshakeEvent> {
        if msg_prefix.first() == Some(&CLIENT_HELLO) {
            return parse_client_hello_prefix(msg_prefix)
                .map(|ch| HandshakeEvent::ClientHello(Box::new(ch)))
                .into_iter()
                .collect();
        }
        match parse_server_hello_prefix(msg_prefix) {
            Some((sh, true)) => vec![HandshakeEvent::HelloRetryRequest(Box::new(sh))],
            Some((sh, false)) => vec![HandshakeEvent::ServerHello(Box::new(sh))],
            None => vec![],
        }
    }

    #[test]
    fn gap_after_every_prefix_of_a_hello_reports_the_cut_hello() {
        for seg in [
            TLS13_CLIENT_HELLO,
            TLS10_CLIENT_HELLO,
            TLS13_SERVER_FLIGHT_START,
            TLS10_SERVER_HELLO,
            HRR_SERVER_FLIGHT,
        ] {
            let seg = hex(seg);
            let msg_end = 5 + first_message(&seg).len();
            for cut in 0..msg_end {
                let expected = if cut < 5 {
                    vec![]
                } else {
                    cut_event(&seg[5..cut])
                };
                if cut >= 5 + 6 {
                    assert_eq!(expected.len(), 1, "cut {cut}: handshake header and version");
                }
                for bytewise in [false, true] {
                    let mut p = DirectionParser::new();
                    let mut out = Vec::new();
                    let chunks: Vec<&[u8]> = if bytewise {
                        seg[..cut].chunks(1).collect()
                    } else {
                        vec![&seg[..cut]]
                    };
                    for chunk in chunks {
                        assert_eq!(p.feed(chunk, &mut out), Feed::Continue);
                    }
                    p.gap(&mut out);
                    assert_eq!(out, expected, "cut {cut}");
                    assert_eq!(p.buffered(), 0);
                }
            }
            // Whole: reported by the feed, the gap adds nothing.
            let mut out = Vec::new();
            let mut p = DirectionParser::new();
            p.feed(&seg[..msg_end], &mut out);
            assert_eq!(out.len(), 1);
            p.gap(&mut out);
            assert_eq!(out.len(), 1);
        }
    }

    #[test]
    fn cut_hello_spanning_records_is_read_across_them() {
        let ch = first_message(&hex(TLS13_CLIENT_HELLO));
        let bytes = [record(22, &ch[..40]), record(22, &ch[40..150])].concat();
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        p.feed(&bytes, &mut out);
        p.gap(&mut out);
        assert_eq!(out, cut_event(&ch[..150]));
        let cut = client_hello_of(&out);
        assert_eq!(cut.read_through, crate::tls::HelloPart::Compression);
        assert_eq!(cut.cipher_suites.len(), 31);
    }

    /// Feeds each segment cut to its first `keep` bytes, with a gap for the rest, as the
    /// reassembler delivers a capture with a short snap length.
    fn feed_cut_segments(segments: &[Vec<u8>], keep: usize) -> Vec<HandshakeEvent> {
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        for seg in segments {
            let n = keep.min(seg.len());
            assert_eq!(p.feed(&seg[..n], &mut out), Feed::Continue);
            if n < seg.len() {
                p.gap(&mut out);
            }
        }
        out
    }

    #[test]
    fn every_segment_cut_still_shows_hellos_ccs_and_application_data() {
        // 30 and 62 payload bytes: -s 96 and -s 128 over Ethernet, IPv4, TCP with timestamps.
        for keep in [30, 62] {
            let cut = |seg: &[u8]| seg[5..keep.min(seg.len())].to_vec();
            // TLS 1.3 client: ClientHello, then CCS + Finished (outer type 23) in one segment,
            // then application data.
            let ch = hex(TLS13_CLIENT_HELLO);
            let client = [
                ch.clone(),
                [record(20, &[1]), record(23, &[0x42; 53])].concat(),
                record(23, &[0x43; 300]),
            ];
            let got = feed_cut_segments(&client, keep);
            let mut expected = cut_event(&cut(&ch));
            expected.extend([
                HandshakeEvent::ChangeCipherSpec,
                HandshakeEvent::ApplicationData,
            ]);
            assert_eq!(got, expected, "keep {keep}");
            let first = client_hello_of(&got[..1]);
            assert!(first.truncated && first.max_offered_is_lower_bound());
            assert_eq!(first.max_offered(), TlsVersion::TLS12);

            // TLS 1.3 server: ServerHello + CCS + encrypted records in the first segment, the
            // rest of the encrypted flight, then application data.
            let flight = [hex(TLS13_SERVER_FLIGHT_START), vec![0xa5; 1200]].concat();
            let server = [flight.clone(), vec![0x5a; 1400], record(23, &[0x44; 200])];
            let got = feed_cut_segments(&server, keep);
            let mut expected = cut_event(&cut(&flight));
            expected.push(HandshakeEvent::ApplicationData);
            assert_eq!(got, expected, "keep {keep}");
            let sh = server_hello_of(&got[0]);
            assert!(sh.truncated && sh.negotiated_is_lower_bound());
            assert_eq!(sh.negotiated(), TlsVersion::TLS12, "TLS 1.2 or later");

            // TLS 1.0 server: ServerHello + Certificate…, then CCS + Finished after the
            // client's key exchange, then an alert.
            let sh10 = hex(TLS10_SERVER_HELLO);
            let server = [
                [sh10.clone(), vec![0x30; 1000]].concat(),
                [
                    record_v(20, 0x0301, &[1]),
                    record_v(22, 0x0301, &[0x77; 48]),
                ]
                .concat(),
                record_v(21, 0x0301, &[1, 0]),
            ];
            let got = feed_cut_segments(&server, keep);
            // After the ServerHello the direction stops at its first record it cannot read or
            // goes on; either way the cut ServerHello is exact and first.
            let sh = server_hello_of(&got[0]);
            assert!(
                sh.truncated && !sh.negotiated_is_lower_bound(),
                "keep {keep}"
            );
            assert_eq!(sh.negotiated(), TlsVersion::TLS10);
            assert_eq!(got[1], HandshakeEvent::ChangeCipherSpec, "keep {keep}");

            // HelloRetryRequest run, both sides cut.
            let server = [hex(HRR_SERVER_FLIGHT), hex(HRR_SERVER_SECOND_FLIGHT_START)];
            let got = feed_cut_segments(&server, keep);
            assert!(
                matches!(got[0], HandshakeEvent::HelloRetryRequest(_)),
                "keep {keep}"
            );
            assert!(server_hello_of(&got[1]).truncated, "keep {keep}");
            let client = [hex(TLS13_CLIENT_HELLO), hex(HRR_CLIENT_SECOND_FLIGHT)];
            let got = feed_cut_segments(&client, keep);
            assert_eq!(got.len(), 3, "keep {keep}: {got:?}");
            assert_eq!(got[1], HandshakeEvent::ChangeCipherSpec);
            let second = hex(HRR_CLIENT_SECOND_FLIGHT);
            assert_eq!(got[2..], cut_event(&second[11..keep]), "keep {keep}");
        }
    }

    #[test]
    fn cut_server_hello_ends_handshake_parsing_like_a_whole_one() {
        let sh = hex(TLS13_SERVER_FLIGHT_START);
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        p.feed(&sh[..40], &mut out);
        p.gap(&mut out);
        // A later ServerHello record is not read; a ChangeCipherSpec still is.
        p.feed(&sh[..127], &mut out);
        p.feed(&record(20, &[1]), &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], HandshakeEvent::ChangeCipherSpec);
    }

    #[test]
    fn sslv2_compatible_client_hello_then_tls_records() {
        let hello = sslv2_client_hello(0x0301, &[[0, 0, 0x39], [0x07, 0, 0xc0], [0, 0, 0x2f]]);
        let ch = crate::tls::sslv2::parse_client_hello(&hello).unwrap();
        assert!(ch.sslv2_framed);
        let bytes = [
            hello,
            record_v(22, 0x0301, &handshake(16, &[0x77; 130])),
            record_v(20, 0x0301, &[1]),
        ]
        .concat();
        let expected = [
            HandshakeEvent::ClientHello(Box::new(ch)),
            HandshakeEvent::ChangeCipherSpec,
        ];
        assert_any_split(&bytes, &expected, Feed::Continue);
        let ch = client_hello_of(&expected[..1]);
        assert_eq!(ch.max_offered(), TlsVersion::TLS10);
        assert_eq!(ch.cipher_suites, [0x0039, 0x002f]);
    }

    #[test]
    fn cut_sslv2_hellos_are_reported() {
        let hello = sslv2_client_hello(0x0301, &[[0, 0, 0x39], [0x07, 0, 0xc0], [0, 0, 0x2f]]);
        for cut in 0..hello.len() {
            let mut p = DirectionParser::new();
            let mut out = Vec::new();
            p.feed(&hello[..cut], &mut out);
            p.gap(&mut out);
            let expected: Vec<HandshakeEvent> =
                crate::tls::sslv2::parse_client_hello_prefix(&hello[..cut])
                    .map(|ch| HandshakeEvent::ClientHello(Box::new(ch)))
                    .into_iter()
                    .collect();
            assert_eq!(out, expected, "cut {cut}");
            assert_eq!(out.len(), usize::from(cut >= 11), "cut {cut}");
            // TLS records after it are read.
            p.feed(&record_v(20, 0x0301, &[1]), &mut out);
            assert_eq!(
                out.last(),
                Some(&HandshakeEvent::ChangeCipherSpec),
                "cut {cut}"
            );
        }
        let hello = [sslv2_server_hello(0x0002), vec![0x30; 500]].concat();
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        p.feed(&hello[..30], &mut out);
        p.gap(&mut out);
        let sh = server_hello_of(&out[0]);
        assert!(sh.truncated);
        assert_eq!(sh.negotiated(), TlsVersion::SSL2);
        // Inert: nothing after it is read.
        p.feed(&record(20, &[1]), &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn sslv2_records_after_an_sslv2_hello_turn_the_direction_inert() {
        let hello = sslv2_client_hello(0x0002, &[[0x07, 0, 0xc0]]);
        let ch = crate::tls::sslv2::parse_client_hello(&hello).unwrap();
        // CLIENT-MASTER-KEY (type 2) in SSLv2 framing: SSLv2 was chosen.
        let master_key =
            sslv2_record(&[2, 0x07, 0, 0xc0, 0, 0, 0, 8, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        let bytes = [hello, master_key, record(22, &[0; 10])].concat();
        assert_any_split(
            &bytes,
            &[HandshakeEvent::ClientHello(Box::new(ch))],
            Feed::Continue,
        );
    }

    #[test]
    fn sslv2_server_hello_makes_the_direction_inert() {
        let hello = sslv2_server_hello(0x0002);
        let sh = crate::tls::sslv2::parse_server_hello(&hello).unwrap();
        assert_eq!(sh.negotiated(), TlsVersion::SSL2);
        let bytes = [hello, vec![0x80, 0x11, 0x99, 0x98]].concat();
        assert_any_split(
            &bytes,
            &[HandshakeEvent::ServerHello(Box::new(sh))],
            Feed::Continue,
        );
    }

    #[test]
    fn malformed_sslv2_hello_is_malformed() {
        // Probe passes (type 1, version 3.1, length 9+), cipher_spec_length 0 does not.
        let bytes = sslv2_record(&[
            1, 3, 1, 0, 0, 0, 0, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        ]);
        assert_any_split(&bytes, &[], Feed::NotTls(NotTls::MalformedHello));
    }

    #[test]
    fn buffered_counts_partial_headers_and_the_hello_buffer() {
        let ch = hex(TLS13_CLIENT_HELLO);
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        p.feed(&ch[..3], &mut out);
        assert_eq!(p.buffered(), 3, "partial record header");
        p.feed(&ch[3..7], &mut out);
        assert_eq!(p.buffered(), 2, "partial handshake header");
        p.feed(&ch[7..300], &mut out);
        assert_eq!(p.buffered(), 295, "message so far");
        p.feed(&ch[300..], &mut out);
        assert_eq!((p.buffered(), out.len()), (0, 1));
        // An alert split across feeds.
        let mut p = DirectionParser::new();
        p.feed(&[21, 3, 3, 0, 2, 2], &mut out);
        assert_eq!(p.buffered(), 1);
    }

    #[test]
    fn empty_feeds_change_nothing() {
        let mut p = DirectionParser::new();
        let mut out = Vec::new();
        assert_eq!(p.feed(&[], &mut out), Feed::Continue);
        p.feed(&[22, 3], &mut out);
        assert_eq!(p.feed(&[], &mut out), Feed::Continue);
        assert_eq!(p.buffered(), 2);
        let mut p = DirectionParser::default();
        p.feed(b"GET", &mut out);
        assert_eq!(p.feed(&[], &mut out), Feed::NotTls(NotTls::NotARecord));
        assert!(out.is_empty());
    }

    #[test]
    fn mutated_streams_never_panic() {
        let seeds = [
            [
                hex(TLS13_CLIENT_HELLO),
                record(20, &[1]),
                record(23, &[0; 8]),
            ]
            .concat(),
            [hex(HRR_SERVER_FLIGHT), hex(HRR_SERVER_SECOND_FLIGHT_START)].concat(),
            [hex(TLS10_SERVER_HELLO), hex(TLS10_CLIENT_HELLO)].concat(),
            hex(HRR_CLIENT_SECOND_FLIGHT),
            sslv2_client_hello(0x0301, &[[0, 0, 0x39]]),
        ];
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        for round in 0..4000 {
            let mut bytes = seeds[round % seeds.len()].clone();
            for _ in 0..rng.below(6) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            let mut p = DirectionParser::new();
            let mut out = Vec::new();
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len().min(64));
                let (chunk, tail) = rest.split_at(n);
                if rng.below(50) == 0 {
                    p.gap(&mut out);
                }
                let _ = p.feed(chunk, &mut out);
                assert!(p.buffered() <= MAX_HANDSHAKE_MESSAGE + 16);
                rest = tail;
            }
        }
    }

    #[test]
    fn the_hello_buffer_holds_what_arrived_not_what_was_announced() {
        // A record and a ClientHello header announcing 16 KiB, then one body byte.
        let mut bytes = vec![22, 3, 1, 0x40, 0x00, 1, 0, 0x3f, 0xfc, 3];
        let mut p = DirectionParser::new();
        assert_eq!(p.feed(&bytes, &mut Vec::new()), Feed::Continue);
        assert_eq!(p.buffered(), 5);
        assert_eq!(
            p.memory(),
            512,
            "no more than 512 bytes for bytes that did not come"
        );
        // More bytes: at most twice what is held, never past the hello.
        let total = 4 + 0x3ffc;
        for step in [1, 100, 1000, 4000, 20000] {
            bytes = vec![0x11; step.min(total - p.buffered())];
            p.feed(&bytes, &mut Vec::new());
            if p.buffered() == 0 {
                break;
            }
            assert!(
                p.memory() <= (2 * p.buffered()).max(512).min(total),
                "{step}"
            );
            assert!(p.memory() >= p.buffered());
        }
    }
}
