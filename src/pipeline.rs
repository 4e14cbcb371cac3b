//! The one per-packet path shared by `read` and `live`: frame → decode → flow → reassembly →
//! TLS → [`ConnectionRecord`] → census and record sink.
//!
//! A flow whose handshake is decided keeps only a small entry (timestamps, counters), so its
//! later packets cost one hash lookup and a counter; its buffers and parsers are freed at once.
//! The flow table is capped: idle flows expire in capture time, and when the table is full the
//! least recently seen eighth is evicted (each eviction counted, never fatal).
//!
//! Memory: everything the wire feeds (the flow table, each connection's handshake state with
//! its hello buffers and out-of-order queues, the fragments, the census) is charged to one
//! [`Budget`] (`--memory-limit`), re-charged whenever a holder's size changes. When more is
//! used than the limit, the oldest partial handshakes are given up (decided `incomplete` as
//! an evicted connection is, counted in `handshakes_given_up`) until it fits; the flow table
//! grows only into memory the budget has (else its least recently seen eighth is evicted);
//! the census caps itself at half the limit. Nothing read off the wire can make it abort.

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

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::budget::{self, Budget};
use crate::capture::{Frame, Timestamp};
use crate::census::{Census, ConnectionRecord};
use crate::connection::{self, Cause, End, Evidence};
use crate::decode::ipfrag::{self, Defragmenter};
use crate::decode::{self, Decoded, TcpSegment};
use crate::fingerprint::Fingerprinter;
use crate::flow::{Dir, FlowKey, Side};
use crate::m365::Scope;
use crate::reassembly::{Limits, SeqNum, StreamChunk, StreamReassembler};
use crate::starttls::{self, PlaintextPhase};
use crate::stats::RunStats;
use crate::tls;
use crate::tls::{ClientHelloInfo, DirectionParser, Feed, HandshakeEvent, NotTls, ServerHelloInfo};

const NANOS: i64 = 1_000_000_000;

/// Where decided connections go besides the census (the `--connections` writer, tests).
pub trait RecordSink {
    fn record(&mut self, rec: &ConnectionRecord);
}

impl RecordSink for Vec<ConnectionRecord> {
    fn record(&mut self, rec: &ConnectionRecord) {
        self.push(rec.clone());
    }
}

/// A sink that may be absent (an output not asked for).
impl<S: RecordSink> RecordSink for Option<S> {
    fn record(&mut self, rec: &ConnectionRecord) {
        if let Some(s) = self {
            s.record(rec);
        }
    }
}

/// Two sinks fed the same records, in order: outputs compose as `(a, (b, c))`.
impl<A: RecordSink, B: RecordSink> RecordSink for (A, B) {
    fn record(&mut self, rec: &ConnectionRecord) {
        self.0.record(rec);
        self.1.record(rec);
    }
}

/// A sink that keeps nothing.
pub struct NoSink;

impl RecordSink for NoSink {
    fn record(&mut self, _: &ConnectionRecord) {}
}

/// Tunables of the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// A flow not seen for this long (capture time) is decided and forgotten.
    pub idle_timeout_secs: i64,
    /// Flows tracked at most.
    pub max_flows: usize,
    /// Bytes of one direction looked at for a hello at most.
    pub max_inspect: usize,
    pub reassembly: Limits,
    /// Bytes held out of order over all flows at most; past it, segments are not queued.
    pub max_reassembly_bytes: usize,
    /// Report every TLS connection, not only those toward Microsoft 365.
    pub scope_all: bool,
    /// Bytes of wire-fed state held at most (see [`crate::budget`]).
    pub memory_limit: usize,
    /// Clients tallied in the census at most.
    pub max_clients: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout_secs: 120,
            max_flows: 1_000_000,
            max_inspect: 512 * 1024,
            reassembly: Limits::default(),
            max_reassembly_bytes: 256 * 1024 * 1024,
            scope_all: false,
            memory_limit: budget::DEFAULT_LIMIT,
            max_clients: crate::census::MAX_CLIENTS,
        }
    }
}

/// Bytes of plaintext scanned at most, per direction, for a handshake that starts later
/// (STARTTLS, HTTP CONNECT, SOCKS, PostgreSQL SSLRequest, ...).
const MAX_PLAINTEXT_SCAN: usize = 32 * 1024;

/// One direction of a flow while its handshake is looked at.
struct DirState {
    reasm: StreamReassembler,
    tls: DirectionParser,
    /// The bytes so far were not TLS: look for a hello record further on.
    scanning: bool,
    /// Stopped: not TLS, inspected enough, or nothing more needed.
    stopped: bool,
    inspected: usize,
    /// Payload bytes seen while the stream's start is unknown (no SYN, no record header yet).
    unstarted: usize,
    app_data: bool,
    /// A hello started here but could not be parsed (too large, malformed).
    hello_rejected: bool,
    /// A segment of this direction was cut by the snap length.
    snapped: bool,
}

impl DirState {
    fn new() -> Self {
        DirState {
            reasm: StreamReassembler::new(),
            tls: DirectionParser::new(),
            scanning: false,
            stopped: false,
            inspected: 0,
            unstarted: 0,
            app_data: false,
            hello_rejected: false,
            snapped: false,
        }
    }
}

/// Handshake state of a flow: exists only until the flow is decided.
struct Handshake {
    dirs: [DirState; 2],
    client_hello: Option<(Dir, Timestamp, Box<ClientHelloInfo>)>,
    server_hello: Option<(Dir, Timestamp, Box<ServerHelloInfo>)>,
    /// The first plaintext alert: direction, level, description.
    alert: Option<(Dir, u8, u8)>,
    /// A ChangeCipherSpec went this way.
    ccs: [bool; 2],
    /// The plaintext phase, when a direction did not start with TLS (STARTTLS).
    plain: Option<Box<PlaintextPhase>>,
    /// Capture-clock time of the ClientHello (see [`Clock`]).
    client_hello_at: i64,
    /// The first alert, FIN or RST, its direction and capture-clock time.
    first_end: Option<(Dir, End, i64)>,
    /// Per direction: the sequence number just past the last byte (SYN and FIN included) seen,
    /// and the highest acknowledgment number sent.
    seq_end: [Option<SeqNum>; 2],
    acked: [Option<SeqNum>; 2],
    /// Serial number, to tell this handshake in [`Partial`] from a later one on the same key.
    id: u64,
    /// Bytes charged to the budget for it (see [`handshake_memory`]).
    charged: usize,
    /// Heap bytes of the parsed hellos it holds (see [`hello_memory`]).
    hellos: usize,
}

impl Handshake {
    fn new() -> Box<Self> {
        Box::new(Handshake {
            dirs: [DirState::new(), DirState::new()],
            client_hello: None,
            server_hello: None,
            alert: None,
            ccs: [false; 2],
            plain: None,
            client_hello_at: 0,
            first_end: None,
            seq_end: [None; 2],
            acked: [None; 2],
            id: 0,
            charged: 0,
            hellos: 0,
        })
    }
}

/// Heap bytes of a handshake's box and what it owns, for the budget: the out-of-order queues
/// and delivered bytes ([`StreamReassembler::memory`]), the hello buffers
/// ([`DirectionParser::memory`]), the parsed hellos, the plaintext phase.
#[inline]
fn handshake_memory(hs: &Handshake) -> usize {
    let mut m = budget::block(std::mem::size_of::<Handshake>()) + hs.hellos;
    for d in &hs.dirs {
        m += d.reasm.memory() + budget::block(d.tls.memory());
    }
    if hs.plain.is_some() {
        // Its box and two line buffers of at most 256 bytes (see `starttls`).
        m += budget::block(std::mem::size_of::<PlaintextPhase>()) + 2 * budget::block(256);
    }
    m
}

/// Heap bytes of the parsed hellos a handshake holds (counted once, when they arrive).
fn hello_memory(hs: &Handshake) -> usize {
    let mut m = 0;
    if let Some((_, _, c)) = &hs.client_hello {
        m += budget::block(std::mem::size_of::<ClientHelloInfo>())
            + budget::block(c.cipher_suites.capacity() * 2)
            + budget::block(c.extensions.capacity() * 2)
            + budget::block(c.supported_groups.capacity() * 2)
            + budget::block(c.signature_algorithms.capacity() * 2)
            + budget::block(c.offered_versions.capacity() * 2)
            + budget::block(c.ec_point_formats.capacity())
            + budget::block(c.session_id.capacity())
            + c.sni.as_ref().map_or(0, |s| budget::block(s.capacity()))
            + budget::block(c.alpn.capacity() * 24)
            + c.alpn
                .iter()
                .map(|a| budget::block(a.capacity()))
                .sum::<usize>();
    }
    if let Some((_, _, s)) = &hs.server_hello {
        m += budget::block(std::mem::size_of::<ServerHelloInfo>())
            + budget::block(s.extensions.capacity() * 2)
            + budget::block(s.session_id.capacity())
            + s.alpn.as_ref().map_or(0, |a| budget::block(a.capacity()));
    }
    m
}

/// Connections that hold handshake state, oldest first: under memory pressure the first ones
/// are given up. Entries of connections decided since stay until they come round (skipped
/// then) or until they outnumber the live ones, when one sweep drops them: O(1) amortised.
#[derive(Default)]
struct Partial {
    order: std::collections::VecDeque<(FlowKey, u64)>,
    next_id: u64,
    /// Handshakes alive (in the table).
    live: usize,
}

impl Partial {
    /// A handshake starts on `key`: its id.
    fn start(&mut self, key: FlowKey) -> u64 {
        self.next_id += 1;
        self.live += 1;
        self.order.push_back((key, self.next_id));
        self.next_id
    }

    /// Whether stale entries are more than half.
    fn needs_sweep(&self) -> bool {
        self.order.len() > 2 * self.live + 1024
    }
}

/// How the TCP side of a flow looked when it was decided.
#[derive(Debug, Clone, Copy)]
struct Ending {
    /// Packets were seen in this direction.
    seen: [bool; 2],
    /// Payload bytes were seen in this direction.
    data: [bool; 2],
    cause: Cause,
    /// Capture-clock time of the decision.
    at: i64,
    /// The direction sent bytes the capture does not hold (see [`bytes_missing`]).
    missing: [bool; 2],
}

enum Phase {
    /// Looking for hellos; the state is created with the first SYN or payload.
    Open(Option<Box<Handshake>>),
    /// Decided: later packets only touch the counters.
    Decided,
}

struct Flow {
    /// Capture-clock times (see [`Clock`]) of the first and latest packet.
    first_seen: i64,
    last_seen: i64,
    /// Timestamp of the latest packet, as captured.
    last_ts: Timestamp,
    packets: u64,
    /// Direction of the bare SYN (client → server), when seen.
    syn_dir: Option<Dir>,
    /// Initial sequence number of the bare SYN, to tell a new connection from a retransmitted
    /// SYN.
    syn_isn: u32,
    fin: [bool; 2],
    seen: [bool; 2],
    data: [bool; 2],
    /// First and latest SYN ISN seen per direction, kept here so that a flow with no data yet
    /// needs no handshake state (a SYN flood costs one small entry per connection). Two,
    /// because middleboxes send SYN/ACKs with different ISNs and the data tells which counts.
    isn: [[Option<u32>; 2]; 2],
    phase: Phase,
}

impl Flow {
    /// A flow whose first packet is this segment, going in `dir`, at capture-clock time `at`.
    fn first(at: i64, ts: Timestamp, dir: Dir, seg: &TcpSegment<'_>) -> Flow {
        let mut fin = [false; 2];
        *dir.of_mut(&mut fin) = seg.flags.fin;
        Flow {
            first_seen: at,
            last_seen: at,
            last_ts: ts,
            packets: 1,
            syn_dir: None,
            syn_isn: 0,
            fin,
            seen: [false; 2],
            data: [false; 2],
            isn: [[None; 2]; 2],
            phase: Phase::Open(None),
        }
    }
}

/// Consecutive packets further apart than this (forward or back) are a clock jump, not time
/// passing: a packet stamped years ahead, an interface whose clock was never set, a clock
/// stepped by NTP.
const CLOCK_JUMP_NANOS: i64 = 3600 * NANOS;

/// The capture clock that ages connections (idle timeout, no reply). It follows the packets'
/// timestamps as they advance, but a jump between consecutive packets of more than
/// [`CLOCK_JUMP_NANOS`], forward or back, moves it not at all, and a step back (packets
/// reordered between capture queues) does not move it back: one wrong timestamp can neither
/// expire every open connection nor stop expiry for the rest of the capture. Reported times
/// (`ts`, `first_seen`) stay the packets' own.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// Timestamp of the previous packet, as captured.
    last: Option<Timestamp>,
    /// The clock (ns): starts at the first packet's timestamp.
    now: i64,
}

impl Clock {
    /// Takes a packet's timestamp; returns the clock's time for it and whether it jumped.
    fn tick(&mut self, ts: Timestamp) -> (i64, bool) {
        let Some(last) = self.last.replace(ts) else {
            self.now = ts.0;
            return (self.now, false);
        };
        let step = ts.0.saturating_sub(last.0);
        if step.saturating_abs() > CLOCK_JUMP_NANOS {
            return (self.now, true);
        }
        self.now = self.now.saturating_add(step.max(0));
        (self.now, false)
    }
}

/// Flows forgotten unfinished (evicted) are remembered here by key, so that their later packets
/// do not start a second connection: an evicted connection is reported once, `incomplete`.
/// A bounded FIFO of keys: O(1) per operation, the oldest forgotten first.
struct Forgotten {
    /// Each key with the number of its place in `order`.
    keys: HashMap<FlowKey, u64, ahash::RandomState>,
    /// Keys in the order they were forgotten, with their number: a slot whose number is no
    /// longer its key's (the key came back and was forgotten again) frees nothing.
    order: std::collections::VecDeque<(FlowKey, u64)>,
    next: u64,
    cap: usize,
}

impl Forgotten {
    fn new(cap: usize) -> Self {
        Forgotten {
            keys: HashMap::with_hasher(ahash::RandomState::new()),
            order: std::collections::VecDeque::new(),
            next: 0,
            cap: cap.max(1),
        }
    }

    fn insert(&mut self, key: FlowKey) {
        if self.keys.contains_key(&key) {
            return;
        }
        if self.order.len() >= self.cap {
            if let Some((old, n)) = self.order.pop_front() {
                if self.keys.get(&old) == Some(&n) {
                    self.keys.remove(&old);
                }
            }
        }
        self.keys.insert(key, self.next);
        self.order.push_back((key, self.next));
        self.next += 1;
    }

    fn contains(&self, key: &FlowKey) -> bool {
        !self.keys.is_empty() && self.keys.contains_key(key)
    }

    /// Heap bytes held, for the budget.
    fn memory(&self) -> usize {
        Self::memory_of(self.keys.capacity(), self.order.capacity())
    }

    fn memory_of(keys: usize, order: usize) -> usize {
        let slot = std::mem::size_of::<(FlowKey, u64)>();
        budget::table(keys, slot) + budget::block(order * slot)
    }

    /// Bytes the next insertion may add (a table doubling), to be made room for first.
    fn growth(&self) -> usize {
        if self.keys.len() >= self.cap {
            return 0;
        }
        let double = |len: usize, cap: usize| if len >= cap { (cap * 2).max(4) } else { cap };
        let (k, o) = (self.keys.capacity(), self.order.capacity());
        // Both the old and the new allocation are held while one grows.
        Self::memory_of(double(self.keys.len(), k), double(self.order.len(), o))
    }

    /// A new connection takes the key: forget that it was forgotten (its FIFO slot stays
    /// until it comes round, and then frees nothing).
    fn remove(&mut self, key: &FlowKey) {
        self.keys.remove(key);
    }
}

/// What [`Pipeline::advance`] borrows from the pipeline besides the flow (the flow table is
/// borrowed for the flow itself).
struct Work<'p> {
    config: &'p Config,
    key: FlowKey,
    budget: &'p mut Budget,
    partial: &'p mut Partial,
    /// Capture-clock time of the packet.
    now: i64,
    /// Bytes held in out-of-order queues over all flows.
    queued: &'p mut usize,
    events: &'p mut Vec<HandshakeEvent>,
    stats: &'p mut RunStats,
}

/// The per-packet path. Owns the flow table, the census and the statistics.
pub struct Pipeline<'s, S: RecordSink> {
    flows: HashMap<FlowKey, Flow, ahash::RandomState>,
    scope: &'s Scope,
    config: Config,
    census: Census,
    stats: RunStats,
    sink: S,
    events: Vec<HandshakeEvent>,
    defrag: Defragmenter,
    clock: Clock,
    next_sweep: i64,
    /// Bytes held in out-of-order queues over all flows.
    queued: usize,
    fingerprints: Fingerprinter,
    forgotten: Forgotten,
    /// QUIC handshakes (their own table, cap and idle timeout).
    quic: crate::quic::flow::QuicTable,
    quic_done: Vec<crate::quic::flow::Done>,
    /// DTLS handshakes (their own table).
    dtls: crate::dtls::DtlsTable,
    dtls_done: Vec<crate::dtls::Done>,
    budget: Budget,
    partial: Partial,
    /// Bytes charged for the tables (flows, forgotten keys, [`Partial`]), the fragments and
    /// the census.
    charged_tables: usize,
    /// The capacity of [`Partial`]'s queue when last charged.
    order_cap: usize,
    /// Room kept free under the limit: what the forgotten keys' next growth takes.
    headroom: usize,
    /// Entries the flow table's buckets hold (its capacity right after it last grew: removals
    /// lower `capacity()`, never the buckets).
    flow_cap: usize,
    charged_fragments: usize,
    /// Bytes charged for the QUIC and DTLS tables.
    charged_udp: usize,
    charged_census: usize,
}

/// Bytes of one flow-table entry.
const FLOW_SLOT: usize = std::mem::size_of::<(FlowKey, Flow)>();

impl<'s, S: RecordSink> Pipeline<'s, S> {
    pub fn new(scope: &'s Scope, config: Config, sink: S) -> Self {
        Pipeline {
            flows: HashMap::with_hasher(ahash::RandomState::new()),
            scope,
            config,
            census: Census::with_limits(config.max_clients, config.memory_limit / 2),
            stats: RunStats {
                memory_limit: config.memory_limit as u64,
                ..RunStats::default()
            },
            sink,
            events: Vec::new(),
            defrag: Defragmenter::new(ipfrag::Limits::default()),
            clock: Clock {
                last: None,
                now: i64::MIN,
            },
            next_sweep: i64::MIN,
            queued: 0,
            fingerprints: Fingerprinter::new(),
            quic: crate::quic::flow::QuicTable::new(crate::quic::flow::Limits {
                idle_timeout_secs: config.idle_timeout_secs,
                ..Default::default()
            }),
            quic_done: Vec::new(),
            dtls: crate::dtls::DtlsTable::new(65_536, config.idle_timeout_secs),
            dtls_done: Vec::new(),
            // At most an eighth of the table, and a 1/1024th of the memory limit (its keys and
            // their queue are about 100 bytes each at most).
            forgotten: Forgotten::new(
                (config.max_flows / 8)
                    .min(config.memory_limit / 1024)
                    .clamp(1024, 1 << 17),
            ),
            budget: Budget::new(config.memory_limit),
            partial: Partial::default(),
            charged_tables: 0,
            flow_cap: 0,
            headroom: 0,
            order_cap: 0,
            charged_fragments: 0,
            charged_udp: 0,
            charged_census: 0,
        }
    }

    /// The memory budget: limit, used, peak.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    pub fn stats(&self) -> &RunStats {
        &self.stats
    }

    pub fn stats_mut(&mut self) -> &mut RunStats {
        &mut self.stats
    }

    pub fn census(&self) -> &Census {
        &self.census
    }

    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// Flows currently tracked.
    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    /// Bytes held in out-of-order queues over all flows.
    pub fn queued_bytes(&self) -> usize {
        self.queued
    }

    /// Handles one captured packet.
    pub fn handle_frame(&mut self, frame: &Frame<'_>) {
        self.stats.packets += 1;
        self.stats.bytes += frame.data.len() as u64;
        match decode::decode_or_fragment(frame) {
            Ok(Decoded::Segment(seg)) => self.handle_segment(frame.ts, &seg),
            Ok(Decoded::Fragment(frag)) => self.handle_fragment(frame.ts, &frag),
            Ok(Decoded::Udp(d)) => self.handle_udp(frame.ts, &d),
            Err(reason) => self.stats.skip(reason),
        }
    }

    /// Handles one captured packet whose TCP segment was decoded already (by the read-ahead
    /// thread): the same as [`Self::handle_frame`] when `decode_or_fragment(frame)` gives
    /// `seg`.
    pub fn handle_decoded(&mut self, frame: &Frame<'_>, seg: &TcpSegment<'_>) {
        self.stats.packets += 1;
        self.stats.bytes += frame.data.len() as u64;
        self.handle_segment(frame.ts, seg);
    }

    /// An IP fragment: once its datagram is whole, what it carries is decoded as a frame's
    /// would be (a TCP segment takes the usual path; a fragment of a datagram tunnelled in it
    /// goes back to the defragmenter, nesting bounded by `decode::MAX_TUNNEL_DEPTH`). Fragments
    /// age on the capture clock, like connections.
    fn handle_fragment(&mut self, ts: Timestamp, frag: &ipfrag::Fragment<'_>) {
        let now = Timestamp(self.tick(ts));
        let mut done = self.defrag.add(now, frag);
        while let Some(datagram) = done.take() {
            match decode::decode_reassembled(&datagram) {
                Ok(Decoded::Segment(seg)) => self.handle_segment(ts, &seg),
                Ok(Decoded::Fragment(inner)) => done = self.defrag.add(now, &inner),
                Ok(Decoded::Udp(d)) => self.handle_udp(ts, &d),
                Err(reason) => self.stats.skip(reason),
            }
        }
        self.stats.fragments = self.defrag.stats;
        self.budget
            .set(&mut self.charged_fragments, self.defrag.bytes());
        self.relieve(now.0);
    }

    /// Live capture on a quiet link: time passes without packets. Moves the capture clock to
    /// `ts` (now, by the clock that stamps the packets) as a packet would, and forgets the
    /// connections idle for longer than the timeout. A server's silence is then seen for as
    /// long as the capture really went on, not only until the last packet.
    pub fn heartbeat(&mut self, ts: Timestamp) {
        let now = self.tick(ts);
        if now >= self.next_sweep {
            self.expire_idle(now);
        }
    }

    /// A UDP datagram that may carry QUIC (see [`crate::quic`]).
    fn handle_udp(&mut self, ts: Timestamp, d: &decode::UdpDatagram<'_>) {
        let now = self.tick(ts);
        if now >= self.next_sweep {
            self.expire_idle(now);
        }
        let src = crate::flow::Endpoint {
            ip: d.src,
            port: d.src_port,
        };
        let dst = crate::flow::Endpoint {
            ip: d.dst,
            port: d.dst_port,
        };
        if crate::dtls::is_candidate(d.payload) {
            self.dtls
                .datagram(now, ts, src, dst, d.payload, &mut self.dtls_done);
        } else {
            self.quic
                .datagram(now, ts, src, dst, d.payload, &mut self.quic_done);
        }
        self.quic_records();
        let udp = self.quic.memory() + self.dtls.memory();
        self.budget.set(&mut self.charged_udp, udp);
        self.relieve(now);
    }

    /// Reports the QUIC connections the table decided.
    fn quic_records(&mut self) {
        self.stats.quic = self.quic.stats;
        self.stats.dtls = self.dtls.stats;
        if self.quic_done.is_empty() && self.dtls_done.is_empty() {
            return;
        }
        let quic = std::mem::take(&mut self.quic_done).into_iter().map(|done| {
            let no_sh = done.conn.server_hello.is_none();
            (
                crate::quic::flow::record(
                    &done,
                    self.scope,
                    &mut self.fingerprints,
                    self.config.scope_all,
                ),
                no_sh,
            )
        });
        let quic: Vec<_> = quic.collect();
        let dtls: Vec<_> = std::mem::take(&mut self.dtls_done)
            .into_iter()
            .map(|done| {
                let no_sh = done.conn.server_hello.is_none();
                (
                    crate::dtls::record(
                        &done,
                        self.scope,
                        &mut self.fingerprints,
                        self.config.scope_all,
                    ),
                    no_sh,
                )
            })
            .collect();
        for ((rec, in_scope), no_sh) in quic.into_iter().chain(dtls) {
            self.stats.tls_connections += 1;
            if no_sh {
                self.stats.no_server_hello += 1;
            }
            if in_scope {
                self.stats.in_scope_connections += 1;
            }
            if let Some(rec) = rec {
                self.census.add(&rec);
                self.sink.record(&rec);
            }
        }
    }

    /// Moves the capture clock to a packet's timestamp; counts a jump.
    fn tick(&mut self, ts: Timestamp) -> i64 {
        let before = self.clock.last;
        let (now, jumped) = self.clock.tick(ts);
        if jumped {
            self.stats.clock_jumps += 1;
            if self.stats.first_clock_jump.is_none() {
                self.stats.first_clock_jump = Some((before.unwrap_or(ts), ts));
            }
        }
        now
    }

    /// Handles one decoded TCP segment.
    pub fn handle_segment(&mut self, ts: Timestamp, seg: &TcpSegment<'_>) {
        self.stats.tcp_segments += 1;
        let now = self.tick(ts);
        if now >= self.next_sweep {
            self.expire_idle(now);
        }
        let (key, dir) = FlowKey::of(seg);
        let bare_syn = seg.flags.syn && !seg.flags.ack;

        // One hash lookup: a decided flow is that and a counter; an open one goes on with
        // the entry in hand; a new one is inserted where the lookup ended. Only a full table
        // (rare) costs a second lookup, to make room first.
        // The table is full (`--max-connections`), or the next entry makes it grow: the
        // budget decides whether it may.
        let mut inserted = false;
        if self.flows.len() >= self.flows.capacity().min(self.config.max_flows)
            && !self.flows.contains_key(&key)
        {
            self.make_room(now);
        }
        let flow = match self.flows.entry(key) {
            Entry::Occupied(entry) => {
                let flow = entry.into_mut();
                // A bare SYN that is not the connection's own SYN again starts a new
                // connection on the same addresses and ports, whether or not the old one was
                // seen to end.
                let reused = bare_syn && (flow.syn_dir != Some(dir) || flow.syn_isn != seg.seq);
                if reused {
                    self.stats.tcp_flows += 1;
                    let old = std::mem::replace(flow, Flow::first(now, ts, dir, seg));
                    self.decide_on_removal(key, old, Cause::Reused, now);
                    match self.flows.get_mut(&key) {
                        Some(flow) => flow,
                        None => return,
                    }
                } else {
                    flow.last_seen = flow.last_seen.max(now);
                    flow.last_ts = ts;
                    flow.packets += 1;
                    if matches!(flow.phase, Phase::Decided) {
                        if seg.flags.fin {
                            *dir.of_mut(&mut flow.fin) = true;
                        }
                        return;
                    }
                    flow
                }
            }
            Entry::Vacant(entry) => {
                if self.forgotten.contains(&key) {
                    if !bare_syn {
                        // A later packet of a connection evicted unfinished: it was reported
                        // (incomplete) and is not started again.
                        self.stats.packets_after_eviction += 1;
                        return;
                    }
                    self.forgotten.remove(&key);
                }
                self.stats.tcp_flows += 1;
                inserted = true;
                entry.insert(Flow::first(now, ts, dir, seg))
            }
        };
        let live = self.partial.live;
        let work = Work {
            config: &self.config,
            key,
            budget: &mut self.budget,
            partial: &mut self.partial,
            now,
            queued: &mut self.queued,
            events: &mut self.events,
            stats: &mut self.stats,
        };
        let decided = Self::advance(flow, dir, ts, seg, work);
        if let Some((syn_dir, ending, mut hs)) = decided {
            self.retire(&mut hs);
            self.decide(key, syn_dir, ending, hs);
            self.charge_census();
        }
        if (inserted || self.partial.live > live)
            && (self.flows.capacity() > self.flow_cap
                || self.partial.order.capacity() != self.order_cap
                || self.partial.needs_sweep())
        {
            self.charge_tables();
        }
        self.relieve(now);
    }

    /// A handshake leaves the table: its memory and its place in [`Partial`] go.
    fn retire(&mut self, hs: &mut Handshake) {
        self.budget.set(&mut hs.charged, 0);
        self.partial.live = self.partial.live.saturating_sub(1);
    }

    /// Re-charges the tables after one may have grown.
    fn charge_tables(&mut self) {
        if self.partial.needs_sweep() {
            let flows = &self.flows;
            self.partial.order.retain(|(key, id)| {
                matches!(flows.get(key), Some(Flow { phase: Phase::Open(Some(hs)), .. }) if hs.id == *id)
            });
            self.partial.order.shrink_to(2 * self.partial.live + 1024);
        }
        // The queue of partial handshakes is charged at twice its capacity: its next doubling
        // is then paid for before it happens (it cannot wait for the budget's answer).
        self.flow_cap = self.flow_cap.max(self.flows.capacity());
        let now = budget::table(self.flow_cap, FLOW_SLOT)
            + self.forgotten.memory()
            + budget::block(
                2 * self.partial.order.capacity() * std::mem::size_of::<(FlowKey, u64)>(),
            );
        self.budget.set(&mut self.charged_tables, now);
        self.headroom = self.forgotten.growth();
        self.order_cap = self.partial.order.capacity();
    }

    /// Re-charges the census after a record went in.
    fn charge_census(&mut self) {
        self.budget
            .set(&mut self.charged_census, self.census.memory());
        self.stats.clients_dropped = self.census.dropped;
    }

    /// More memory is used than the budget allows: gives up the oldest partial handshakes
    /// until it fits (or none is left).
    #[inline]
    fn relieve(&mut self, now: i64) {
        // Giving up a handshake remembers its key: room is kept for that table to grow.
        if !self.budget.room(self.headroom) {
            while !self.budget.room(self.headroom) && self.give_up_oldest(now) {
                self.charge_tables();
            }
            self.charge_tables();
            self.stats.memory_peak = self.budget.peak() as u64;
        }
    }

    /// Gives up the oldest connection that holds handshake state: decided now, `incomplete`,
    /// as an evicted one (its later packets are not a new connection). Whether there was one.
    fn give_up_oldest(&mut self, now: i64) -> bool {
        while let Some((key, id)) = self.partial.order.pop_front() {
            let live = matches!(
                self.flows.get(&key),
                Some(Flow { phase: Phase::Open(Some(hs)), .. }) if hs.id == id
            );
            if let (true, Some(flow)) = (live, self.flows.remove(&key)) {
                self.stats.handshakes_given_up += 1;
                self.decide_on_removal(key, flow, Cause::Evicted, now);
                return true;
            }
        }
        false
    }

    /// A new flow needs a slot and the table has none free: it grows if `--max-connections`
    /// and the budget allow (the old table is held while the new one fills, so both are
    /// counted); else the least recently seen are evicted (a flood of new connections evicts
    /// idle ones, it does not give up handshakes in progress): an eighth at
    /// `--max-connections`, down to under half the table when the budget stops its growth (so
    /// that it is rehashed in place, not doubled, and the next eviction is half a table of new
    /// connections away: constant time amortised).
    fn make_room(&mut self, now: i64) {
        if self.flows.len() < self.config.max_flows {
            // With no free slot, the table is rehashed in place while at most half full (its
            // slots were freed by removals), else it doubles (hashbrown's rule).
            if self.flows.len() < self.flow_cap / 2 {
                return;
            }
            let grown = budget::table((self.flow_cap * 2).max(3), FLOW_SLOT);
            if self.budget.room(grown) {
                self.charge_tables();
                return;
            }
            let n = self.flows.len() + 1 - self.flow_cap / 2;
            self.evict(now, n);
            self.charge_tables();
            return;
        }
        self.evict(now, self.flows.len() / 8);
        self.charge_tables();
    }

    /// Everything a flow that is not decided yet needs. Returns the handshake to decide
    /// when this segment decided the flow (its phase is then `Decided` already).
    fn advance(
        flow: &mut Flow,
        dir: Dir,
        ts: Timestamp,
        seg: &TcpSegment<'_>,
        work: Work<'_>,
    ) -> Option<(Option<Dir>, Ending, Box<Handshake>)> {
        let Work {
            config,
            key,
            budget,
            partial,
            now,
            queued,
            events,
            stats,
        } = work;
        let Phase::Open(hs) = &mut flow.phase else {
            return None;
        };
        let has_data = !seg.payload.is_empty() || seg.missing > 0;
        // A reset whose sequence number is outside what the sender's stream can hold next is
        // ignored, as a receiver does (RFC 5961 §3): an injected or stale reset must not end
        // (and hide) the connection.
        if seg.flags.rst {
            let next = hs.as_ref().and_then(|hs| dir.of(&hs.dirs).reasm.next_seq());
            if let Some(next) = next {
                let off = next.distance_to(SeqNum(seg.seq));
                if !(-1..=RST_WINDOW).contains(&off) {
                    stats.resets_out_of_window += 1;
                    return None;
                }
            }
        }
        *dir.of_mut(&mut flow.seen) = true;
        *dir.of_mut(&mut flow.data) |= has_data;
        if seg.flags.fin {
            *dir.of_mut(&mut flow.fin) = true;
        }
        if seg.flags.syn && !seg.flags.ack && flow.syn_dir.is_none() {
            flow.syn_dir = Some(dir);
            flow.syn_isn = seg.seq;
        }
        if seg.flags.syn {
            let isn = dir.of_mut(&mut flow.isn);
            if isn[0].is_none() {
                isn[0] = Some(seg.seq);
            } else {
                isn[1] = Some(seg.seq);
            }
        }
        if !has_data && hs.is_none() {
            // Nothing to look at yet: no handshake state. A reset or a full close ends it.
            if seg.flags.rst || (flow.fin[0] && flow.fin[1]) {
                flow.phase = Phase::Decided;
                stats.not_tls_flows += 1;
            }
            return None;
        }
        let fin = flow.fin;
        let isn = flow.isn;
        let hs = hs.get_or_insert_with(|| {
            let mut hs = Handshake::new();
            hs.id = partial.start(key);
            for (d, isns) in hs.dirs.iter_mut().zip(isn) {
                for isn in isns.into_iter().flatten() {
                    d.reasm.syn(isn);
                }
            }
            for (i, isns) in isn.iter().enumerate() {
                if let (Some(end), Some(isn)) = (hs.seq_end.get_mut(i), isns[0]) {
                    *end = Some(SeqNum(isn.wrapping_add(1)));
                }
            }
            // A FIN before any data (rare): it ended the connection first.
            if let Some(i) = fin.iter().position(|f| *f) {
                let d = if i == 0 { Dir::LoToHi } else { Dir::HiToLo };
                hs.first_end = Some((d, End::Fin, now));
            }
            hs
        });
        track_sequence(hs, dir, seg);
        if !has_data && !seg.flags.syn && !seg.flags.rst && !seg.flags.fin {
            return None;
        }
        let mut limits = config.reassembly;
        if *queued >= config.max_reassembly_bytes {
            limits.max_buffered = 0;
        }
        let max_inspect = config.max_inspect;
        let d = dir.of_mut(&mut hs.dirs);
        d.snapped |= seg.missing > 0;
        let queued_before = d.reasm.buffered();
        if seg.flags.syn {
            d.reasm.syn(seg.seq);
        }
        events.clear();
        if has_data && !d.stopped {
            let mut gaps = 0u64;
            let mut feed_result = Feed::Continue;
            let tls = &mut d.tls;
            let inspected = &mut d.inspected;
            let scanning = &mut d.scanning;
            let plain = &mut hs.plain;
            // TCP Fast Open: data on the SYN starts at isn + 1 as well.
            let seq = if seg.flags.syn {
                seg.seq.wrapping_add(1)
            } else {
                seg.seq
            };
            if !d.reasm.started() && looks_like_stream_start(seg.payload) {
                d.reasm.start_at(seq);
            }
            let notes = d
                .reasm
                .segment(seq, seg.payload, seg.missing, limits, &mut |chunk| {
                    if !matches!(feed_result, Feed::Continue) {
                        return;
                    }
                    match chunk {
                        StreamChunk::Data(bytes) => {
                            *inspected += bytes.len();
                            feed_result = feed_or_scan(tls, scanning, plain, dir, bytes, events);
                            if *scanning && *inspected > MAX_PLAINTEXT_SCAN {
                                feed_result = Feed::NotTls(NotTls::NotARecord);
                            }
                        }
                        StreamChunk::Gap(_) => {
                            gaps += 1;
                            tls.gap(events);
                        }
                    }
                });
            stats.retransmitted_segments += u64::from(notes.retransmission);
            stats.conflicting_overlaps += u64::from(notes.conflicting_overlap);
            stats.segments_over_cap += u64::from(notes.dropped_over_cap);
            stats.handshake_gaps += gaps;
            if let Feed::NotTls(why) = feed_result {
                d.stopped = true;
                match why {
                    NotTls::MessageTooLarge => stats.hello_too_large += 1,
                    NotTls::MalformedHello => stats.malformed_hellos += 1,
                    NotTls::NotARecord | NotTls::BadRecord => {}
                }
                d.hello_rejected |= matches!(why, NotTls::MessageTooLarge | NotTls::MalformedHello);
            }
            if d.inspected > max_inspect {
                d.stopped = true;
            }
            // A stream without SYN whose segments never start with a record header (SSH, SMB,
            // ... picked up mid-connection) is not worth holding on to.
            if !d.reasm.started() {
                d.unstarted += seg.payload.len();
                if d.unstarted > MAX_PLAINTEXT_SCAN {
                    d.stopped = true;
                }
            }
            if d.stopped {
                d.reasm.clear();
            }
        }
        *queued = *queued - queued_before + d.reasm.buffered();
        let decided = absorb_events(hs, dir, ts, now, events, stats);
        let memory = handshake_memory(hs);
        budget.set(&mut hs.charged, memory);
        // The segment's FIN or RST comes after its data.
        if hs.first_end.is_none() {
            if seg.flags.rst {
                hs.first_end = Some((dir, End::Rst, now));
            } else if seg.flags.fin {
                hs.first_end = Some((dir, End::Fin, now));
            }
        }
        let closing = seg.flags.rst || (flow.fin[0] && flow.fin[1]);
        if decided || closing || hs.dirs.iter().all(|d| d.stopped) {
            let ending = Ending {
                seen: flow.seen,
                data: flow.data,
                cause: Cause::Packet,
                at: now,
                missing: bytes_missing(hs),
            };
            let syn_dir = flow.syn_dir;
            let hs = match std::mem::replace(&mut flow.phase, Phase::Decided) {
                Phase::Open(Some(hs)) => hs,
                _ => return None,
            };
            *queued -= self::queued(&hs);
            return Some((syn_dir, ending, hs));
        }
        None
    }

    /// Turns what a flow's handshake showed into a record (or a counted non-result).
    fn decide(&mut self, key: FlowKey, syn_dir: Option<Dir>, ending: Ending, hs: Box<Handshake>) {
        let Handshake {
            client_hello,
            server_hello,
            dirs,
            ccs,
            plain,
            client_hello_at,
            first_end,
            ..
        } = *hs;
        let starttls = plain.as_ref().and_then(|p| p.protocol());
        let refused = plain
            .as_ref()
            .is_some_and(|p| p.reply() == Some(starttls::Reply::Refused));
        // Who is the client: the ClientHello's sender; else the ServerHello's receiver; else
        // the sender of the STARTTLS command. The SYN sender is only a presumption.
        let client_dir = match (&client_hello, &server_hello) {
            (Some((d, ..)), _) => *d,
            (None, Some((d, ..))) => d.reverse(),
            (None, None) => match plain.as_ref().and_then(|p| p.client_dir()) {
                Some(d) if refused => d,
                _ => {
                    if dirs.iter().any(|d| d.app_data) {
                        self.stats.started_before_capture += 1;
                    } else if dirs.iter().any(|d| d.hello_rejected) {
                        // TLS by its first record, but its hello could not be read.
                        self.stats.unparsable_hello_flows += 1;
                    } else {
                        self.stats.not_tls_flows += 1;
                    }
                    return;
                }
            },
        };
        if syn_dir.is_some_and(|s| s != client_dir) {
            self.stats.role_mismatch += 1;
        }
        let server_dir = client_dir.reverse();
        let client = key.sender(client_dir);
        let server = key.sender(server_dir);
        let ts = client_hello
            .as_ref()
            .map(|(_, t, _)| *t)
            .or(server_hello.as_ref().map(|(_, t, _)| *t))
            .unwrap_or(self.clock.last.unwrap_or_default().max(Timestamp(0)));
        let side = |d: Dir| {
            if d == client_dir {
                Side::Client
            } else {
                Side::Server
            }
        };
        let evidence = Evidence {
            client_hello: client_hello.is_some(),
            server_hello: server_hello.is_some(),
            starttls_refused: refused,
            client_went_on: *client_dir.of(&ccs) || client_dir.of(&dirs).app_data,
            first_end: first_end.map(|(d, end, _)| (side(d), end)),
            after_client_hello: client_hello.as_ref().map(|_| {
                let until = first_end.map_or(ending.at, |(_, _, at)| at);
                until.saturating_sub(client_hello_at)
            }),
            client_seen: *client_dir.of(&ending.seen),
            server_seen: *server_dir.of(&ending.seen),
            server_data: *server_dir.of(&ending.data),
            client_bytes_missing: *client_dir.of(&ending.missing),
            server_bytes_missing: *server_dir.of(&ending.missing),
            cause: ending.cause,
        };
        let (outcome, ended_by) = connection::decide(&evidence);
        let cut = |d: Dir, truncated: bool, stats: &mut RunStats| match (
            truncated,
            d.of(&dirs).snapped,
        ) {
            (false, _) => {}
            (true, true) => stats.hellos_cut_by_snaplen += 1,
            (true, false) => stats.hellos_cut_by_loss += 1,
        };
        cut(
            client_dir,
            client_hello.as_ref().is_some_and(|(_, _, c)| c.truncated),
            &mut self.stats,
        );
        cut(
            server_dir,
            server_hello.as_ref().is_some_and(|(_, _, s)| s.truncated),
            &mut self.stats,
        );
        let ch = client_hello.map(|(_, _, ch)| ch);
        let sh = server_hello.map(|(_, _, sh)| sh);
        let class = self.scope.classify_connection(
            server.ip,
            ch.as_ref().and_then(|c| c.sni.as_deref()),
            plain.as_ref().and_then(|p| p.connect_host()),
        );
        self.stats.tls_connections += 1;
        if sh.is_none() {
            self.stats.no_server_hello += 1;
        }
        if class.in_scope() {
            self.stats.in_scope_connections += 1;
        } else if !self.config.scope_all {
            // Counted, not reported: no record, no fingerprints.
            return;
        }
        let rec = connection::record(
            connection::Decided {
                ts,
                client,
                server,
                client_hello: ch.as_deref(),
                server_hello: sh.as_deref(),
                outcome,
                ended_by,
                transport: crate::census::Transport::Tcp,
                starttls,
                connect_host: plain.as_ref().and_then(|p| p.connect_host()),
            },
            &class,
            &mut self.fingerprints,
        );
        self.census.add(&rec);
        self.sink.record(&rec);
    }

    /// A flow leaves the table undecided (idle, evicted, port reuse, end of input): salvage
    /// what its queues hold, then decide it.
    fn decide_on_removal(&mut self, key: FlowKey, flow: Flow, cause: Cause, now: i64) {
        let Phase::Open(Some(mut hs)) = flow.phase else {
            return;
        };
        let ending = Ending {
            seen: flow.seen,
            data: flow.data,
            cause,
            at: now,
            missing: bytes_missing(&hs),
        };
        if cause == Cause::Evicted {
            self.forgotten.insert(key);
        }
        self.queued -= queued(&hs);
        self.retire(&mut hs);
        let ts = flow.last_ts;
        for dir in [Dir::LoToHi, Dir::HiToLo] {
            let events = &mut self.events;
            events.clear();
            let Handshake { dirs, plain, .. } = &mut *hs;
            let d = dir.of_mut(dirs);
            if !d.stopped && d.reasm.buffered() > 0 {
                let tls = &mut d.tls;
                let scanning = &mut d.scanning;
                let mut go = true;
                d.reasm.skip_gap(&mut |chunk| {
                    if !go {
                        return;
                    }
                    match chunk {
                        StreamChunk::Data(b) => {
                            go = matches!(
                                feed_or_scan(tls, scanning, plain, dir, b, events),
                                Feed::Continue
                            )
                        }
                        StreamChunk::Gap(_) => tls.gap(events),
                    }
                });
                self.stats.handshake_gaps += 1;
            }
            if cause == Cause::Evicted && !d.stopped && d.tls.buffered() > 0 {
                // Given up (memory) or evicted with a hello half read: what arrived of it is
                // reported, cut (see `DirectionParser::gap`), as when its bytes were lost.
                d.tls.gap(events);
            }
            absorb_events(
                &mut hs,
                dir,
                ts,
                flow.last_seen,
                &mut self.events,
                &mut self.stats,
            );
        }
        self.decide(key, flow.syn_dir, ending, hs);
        self.charge_census();
    }

    /// Removes flows idle for longer than the timeout (capture clock), oldest first.
    fn expire_idle(&mut self, now: i64) {
        let timeout = self.config.idle_timeout_secs.saturating_mul(NANOS);
        self.next_sweep = now.saturating_add((timeout / 4).max(NANOS));
        let cutoff = now.saturating_sub(timeout);
        let mut stale: Vec<(i64, FlowKey)> = self
            .flows
            .iter()
            .filter(|(_, f)| f.last_seen < cutoff)
            .map(|(k, f)| (f.first_seen, *k))
            .collect();
        // Deterministic order, whatever the hash map's.
        stale.sort_unstable();
        for (_, key) in stale {
            if let Some(flow) = self.flows.remove(&key) {
                self.stats.flows_expired += 1;
                self.decide_on_removal(key, flow, Cause::Idle, now);
            }
        }
        // QUIC handshakes age on the same clock and sweep.
        if !self.quic.is_empty() || !self.dtls.is_empty() {
            self.quic.expire(now, &mut self.quic_done);
            self.dtls.expire(now, &mut self.dtls_done);
            self.quic_records();
        }
    }

    /// The table is full: evicts the `n` least recently seen (at least one), oldest first.
    /// One pass over the table per call, and calls are `n` new connections apart: constant
    /// time per connection, plus the sort of the `n` (O(log n) each).
    fn evict(&mut self, now: i64, n: usize) {
        let mut seen: Vec<(i64, FlowKey)> =
            self.flows.iter().map(|(k, f)| (f.last_seen, *k)).collect();
        let n = n.max(1);
        if n < seen.len() {
            seen.select_nth_unstable(n);
            seen.truncate(n);
        }
        seen.sort_unstable();
        for (_, key) in seen {
            if let Some(flow) = self.flows.remove(&key) {
                self.stats.flows_evicted += 1;
                self.decide_on_removal(key, flow, Cause::Evicted, now);
            }
        }
    }

    /// End of input: decides every flow still open; returns the census, stats and sink.
    pub fn finish(mut self) -> (Census, RunStats, S) {
        let mut keys: Vec<(i64, FlowKey)> = self
            .flows
            .iter()
            .filter(|(_, f)| matches!(f.phase, Phase::Open(Some(_))))
            .map(|(k, f)| (f.first_seen, *k))
            .collect();
        // Deterministic order: by first packet, then by key.
        keys.sort_unstable();
        let now = self.clock.now;
        for (_, key) in keys {
            if let Some(flow) = self.flows.remove(&key) {
                self.decide_on_removal(key, flow, Cause::EndOfInput, now);
            }
        }
        self.quic.finish(now, &mut self.quic_done);
        self.dtls.finish(now, &mut self.dtls_done);
        self.quic_records();
        self.stats.memory_peak = self.budget.peak() as u64;
        self.stats.memory_limit = self.budget.limit() as u64;
        (self.census, self.stats, self.sink)
    }
}

/// How far past the next expected byte a reset's sequence number may be and still be taken
/// (a receive window; RFC 5961 §3.2 accepts a reset anywhere in the window).
const RST_WINDOW: i64 = 1 << 20;

/// Per direction, whether it sent bytes the capture does not hold: sequence numbers seen, or
/// acknowledged by the other side, beyond what was delivered in order (a FIN's one number
/// aside). Taken before queued segments are salvaged past their gaps.
fn bytes_missing(hs: &Handshake) -> [bool; 2] {
    [Dir::LoToHi, Dir::HiToLo].map(|d| {
        let seen_end = *d.of(&hs.seq_end);
        let highest = match (seen_end, *d.reverse().of(&hs.acked)) {
            (Some(a), Some(b)) if a.distance_to(b) > 0 => Some(b),
            (a, b) => a.or(b),
        };
        let state = d.of(&hs.dirs);
        let delivered = if state.stopped {
            seen_end
        } else {
            state.reasm.next_seq().or(seen_end)
        };
        match (delivered, highest) {
            (Some(lo), Some(hi)) => (2..1 << 30).contains(&lo.distance_to(hi)),
            _ => false,
        }
    })
}

/// Follows the sequence and acknowledgment numbers of a direction, to tell later whether the
/// other side acknowledged bytes the capture does not hold.
fn track_sequence(hs: &mut Handshake, dir: Dir, seg: &TcpSegment<'_>) {
    let len = seg.payload.len() as u64
        + u64::from(seg.missing)
        + u64::from(seg.flags.syn)
        + u64::from(seg.flags.fin);
    let end = SeqNum(seg.seq).advanced_by(len as usize);
    let slot = dir.of_mut(&mut hs.seq_end);
    if slot.is_none_or(|cur| cur.distance_to(end) > 0) {
        *slot = Some(end);
    }
    if seg.flags.ack {
        let ack = SeqNum(seg.ack);
        let slot = dir.of_mut(&mut hs.acked);
        if slot.is_none_or(|cur| cur.distance_to(ack) > 0) {
            *slot = Some(ack);
        }
    }
}

/// Bytes a flow's handshake holds in its out-of-order queues.
fn queued(hs: &Handshake) -> usize {
    hs.dirs.iter().map(|d| d.reasm.buffered()).sum()
}

/// Feeds TLS bytes; when a direction turns out not to start with TLS, switches to looking for
/// a hello record further on (the handshake after a plaintext phase), handing the plaintext to
/// the STARTTLS tracker. A record header cut by a segment boundary (the 5-byte header alone,
/// or any split of the first 9 bytes) is found as in plain TLS: the few bytes at the end of a
/// chunk that could start a record are held back and looked at again with the next chunk.
fn feed_or_scan(
    tls: &mut DirectionParser,
    scanning: &mut bool,
    plain: &mut Option<Box<PlaintextPhase>>,
    dir: Dir,
    bytes: &[u8],
    events: &mut Vec<HandshakeEvent>,
) -> Feed {
    if !*scanning {
        match tls.feed(bytes, events) {
            Feed::NotTls(NotTls::NotARecord) if matches!(bytes, [23, 3, 0..=4, ..]) => {
                // Encrypted records with no handshake before them: the capture started after
                // the handshake.
                events.push(HandshakeEvent::ApplicationData);
                return Feed::NotTls(NotTls::NotARecord);
            }
            Feed::NotTls(NotTls::NotARecord | NotTls::BadRecord) => *scanning = true,
            other => return other,
        }
    }
    let plain = plain.get_or_insert_with(|| Box::new(PlaintextPhase::new()));
    // First the bytes held back from the previous chunk, with enough of this one to tell.
    let (held, held_len) = plain.take_held(dir);
    let held = held.get(..held_len).unwrap_or_default();
    if !held.is_empty() {
        let mut window = [0u8; 2 * starttls::MAX_HELD];
        let take = bytes.len().min(starttls::MAX_HELD);
        let (w_held, w_new) = window.split_at_mut(held.len());
        w_held.copy_from_slice(held);
        if let (Some(dst), Some(src)) = (w_new.get_mut(..take), bytes.get(..take)) {
            dst.copy_from_slice(src);
        }
        let w = window.get(..held.len() + take).unwrap_or_default();
        match record_start(w) {
            RecordStart::Found { at, hello } if at < held.len() => {
                plain.feed(dir, held.get(..at).unwrap_or_default());
                if hello {
                    plain.hello_seen(dir);
                }
                let first = held.get(at..).unwrap_or_default();
                return start_tls(tls, scanning, &[first, bytes], events);
            }
            RecordStart::Partial(at) if at < held.len() && take == bytes.len() => {
                // Still too few bytes to tell (a chunk of a byte or two): hold them all.
                plain.feed(dir, held.get(..at).unwrap_or_default());
                plain.hold(dir, w.get(at..).unwrap_or_default());
                return Feed::Continue;
            }
            _ => plain.feed(dir, held),
        }
    }
    match record_start(bytes) {
        RecordStart::Found { at, hello } => {
            plain.feed(dir, bytes.get(..at).unwrap_or_default());
            if hello {
                plain.hello_seen(dir);
            }
            start_tls(
                tls,
                scanning,
                &[bytes.get(at..).unwrap_or_default()],
                events,
            )
        }
        RecordStart::Partial(at) => {
            plain.feed(dir, bytes.get(..at).unwrap_or_default());
            plain.hold(dir, bytes.get(at..).unwrap_or_default());
            Feed::Continue
        }
        RecordStart::Nothing => {
            plain.feed(dir, bytes);
            Feed::Continue
        }
    }
}

/// A record found after plaintext: parse TLS from `parts` (its first bytes, in order) on.
fn start_tls(
    tls: &mut DirectionParser,
    scanning: &mut bool,
    parts: &[&[u8]],
    events: &mut Vec<HandshakeEvent>,
) -> Feed {
    *scanning = false;
    *tls = DirectionParser::new();
    let mut fed = Feed::Continue;
    for part in parts {
        if matches!(fed, Feed::Continue) && !part.is_empty() {
            fed = tls.feed(part, events);
        }
    }
    match fed {
        Feed::NotTls(NotTls::NotARecord | NotTls::BadRecord) => {
            *scanning = true;
            Feed::Continue
        }
        other => other,
    }
}

/// Where TLS starts in plaintext, as far as a chunk tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordStart {
    /// A hello record (`hello`) or a plaintext alert starts at `at`.
    Found {
        at: usize,
        hello: bool,
    },
    /// No record, but the last bytes, from `at` on, may start one (fewer than
    /// [`HELLO_HEAD`] bytes).
    Partial(usize),
    Nothing,
}

/// Bytes of a record header and a handshake header that tell a hello record.
const HELLO_HEAD: usize = 9;
/// Bytes of a plaintext alert record.
const ALERT_RECORD: usize = 7;

/// The first hello or alert record in `bytes`; else the start of a tail that may become one.
fn record_start(bytes: &[u8]) -> RecordStart {
    let found = match (find_hello_record(bytes), find_alert_record(bytes)) {
        (Some(h), Some(a)) if a < h => Some((a, false)),
        (Some(h), _) => Some((h, true)),
        (None, Some(a)) => Some((a, false)),
        (None, None) => None,
    };
    if let Some((at, hello)) = found {
        return RecordStart::Found { at, hello };
    }
    let from = bytes.len().saturating_sub(starttls::MAX_HELD);
    (from..bytes.len())
        .find(|&at| {
            let tail = bytes.get(at..).unwrap_or_default();
            (tail.len() < HELLO_HEAD && hello_prefix(tail))
                || (tail.len() < ALERT_RECORD && alert_prefix(tail))
        })
        .map_or(RecordStart::Nothing, RecordStart::Partial)
}

/// Every byte of `tail` fits the start of a hello record as [`find_hello_record`] reads it.
fn hello_prefix(tail: &[u8]) -> bool {
    tail.iter().enumerate().all(|(i, &b)| match i {
        0 => b == 22,
        1 => b == 3,
        2 => b <= 4,
        // Record length at most 16384 + 2048: its high byte at most 0x48.
        3 => b <= 0x48,
        5 => b == 1 || b == 2,
        // Message length below 1 << 20.
        6 => b <= 0x0f,
        _ => true,
    })
}

/// Every byte of `tail` fits the start of a plaintext alert record.
fn alert_prefix(tail: &[u8]) -> bool {
    tail.iter().enumerate().all(|(i, &b)| match i {
        0 => b == 21,
        1 => b == 3,
        2 => b <= 4,
        3 => b == 0,
        4 => b == 2,
        5 => b == 1 || b == 2,
        _ => true,
    })
}

/// Whether a segment of a stream whose SYN was not seen can be its first bytes of interest:
/// a TLS record header, or an SSLv2-framed ClientHello.
fn looks_like_stream_start(payload: &[u8]) -> bool {
    match payload {
        [20..=24, 3, 0..=4, ..] => true,
        [b0, _, 1, 0 | 3, ..] => b0 & 0x80 != 0,
        _ => false,
    }
}

/// Offset of the first TLS record that carries the start of a ClientHello or ServerHello:
/// content type 22, version 3.0–3.4, a plausible length, handshake type 1 or 2 whose length
/// fits the record (RFC 8446 §5.1, §4).
pub fn find_hello_record(bytes: &[u8]) -> Option<usize> {
    for at in memchr::memchr_iter(0x16, bytes) {
        if let Some(&[_, major, minor, l0, l1, msg_type, m0, m1, m2]) =
            bytes.get(at..at + HELLO_HEAD)
        {
            let rec_len = usize::from(u16::from_be_bytes([l0, l1]));
            let msg_len = (usize::from(m0) << 16) | (usize::from(m1) << 8) | usize::from(m2);
            if major == 3
                && minor <= 4
                && (4..=16384 + 2048).contains(&rec_len)
                && (msg_type == 1 || msg_type == 2)
                && (38..1 << 20).contains(&msg_len)
            {
                return Some(at);
            }
        }
    }
    None
}

/// Offset of the first plaintext TLS alert record (a server refusing a ClientHello right after
/// a STARTTLS exchange): content type 21, version 3.x, length 2, level 1 or 2, a known
/// description (RFC 8446 §6).
fn find_alert_record(bytes: &[u8]) -> Option<usize> {
    memchr::memchr_iter(21, bytes).find(|&at| {
        matches!(bytes.get(at..at + ALERT_RECORD), Some([21, 3, 0..=4, 0, 2, 1 | 2, desc]) if tls::alert_name(*desc).is_some())
    })
}

/// Takes the events one direction produced; returns whether the handshake is decided.
fn absorb_events(
    hs: &mut Handshake,
    dir: Dir,
    ts: Timestamp,
    at: i64,
    events: &mut Vec<HandshakeEvent>,
    stats: &mut RunStats,
) -> bool {
    for ev in events.drain(..) {
        match ev {
            HandshakeEvent::ClientHello(ch) => {
                stats.client_hellos += 1;
                if hs.client_hello.is_none() {
                    hs.client_hello = Some((dir, ts, ch));
                    hs.client_hello_at = at;
                    hs.hellos = hello_memory(hs);
                }
            }
            HandshakeEvent::ServerHello(sh) => {
                stats.server_hellos += 1;
                if hs.server_hello.is_none() {
                    hs.server_hello = Some((dir, ts, sh));
                    hs.hellos = hello_memory(hs);
                }
            }
            HandshakeEvent::HelloRetryRequest(_) => stats.hello_retry_requests += 1,
            HandshakeEvent::Alert { level, description } => {
                if hs.alert.is_none() {
                    hs.alert = Some((dir, level, description));
                }
                if hs.first_end.is_none() {
                    hs.first_end = Some((dir, End::Alert(description), at));
                }
            }
            HandshakeEvent::ChangeCipherSpec => *dir.of_mut(&mut hs.ccs) = true,
            HandshakeEvent::ApplicationData => dir.of_mut(&mut hs.dirs).app_data = true,
        }
    }
    if hs.alert.is_some() {
        return true;
    }
    if let Some((sh_dir, ..)) = &hs.server_hello {
        // The client went on (its ChangeCipherSpec or encrypted data): established.
        let client = sh_dir.reverse();
        return *client.of(&hs.ccs) || client.of(&hs.dirs).app_data;
    }
    // Encrypted data with no hello: the handshake happened before the capture. (A refused
    // STARTTLS or CONNECT does not decide a flow: the client may try again on the same
    // connection (curl's FTP: `AUTH SSL`, 504, then `AUTH TLS`; a CONNECT answered 407, then
    // sent with credentials). Its close, or its timeout, does.)
    hs.client_hello.is_none() && hs.dirs.iter().any(|d| d.app_data)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outcomes of a ClientHello the server acknowledged and never answered, decided at the
    /// end of input; `heartbeat` 30 s later (live on a quiet link) first when given.
    fn silent_server(heartbeat: Option<i64>) -> Vec<String> {
        use crate::synth::conditions::{first_of, tls10_exchange, Session};
        use crate::synth::From;
        let scope = Scope::new(crate::m365::EndpointData::embedded(), &[], &[]);
        let config = Config {
            scope_all: true,
            ..Config::default()
        };
        let mut p = Pipeline::new(&scope, config, Vec::new());
        let t0 = 1_741_078_800 * NANOS;
        let mut s = Session::new("10.1.0.1", 50000, "40.97.10.20", t0);
        s.open()
            .data(From::Client, &first_of(&tls10_exchange(), From::Client))
            .ack(From::Server);
        for (i, packet) in s.packets().iter().enumerate() {
            p.handle_frame(&Frame {
                number: i as u64 + 1,
                ts: Timestamp(packet.ts_nanos),
                link: crate::capture::LinkType::ETHERNET,
                data: &packet.frame,
                orig_len: packet.frame.len() as u32,
            });
        }
        if let Some(after) = heartbeat {
            p.heartbeat(Timestamp(t0 + after));
        }
        let (_, _, records) = p.finish();
        records
            .iter()
            .map(|r| format!("{} {:?}", r.outcome, r.ended_by))
            .collect()
    }

    #[test]
    fn a_quiet_link_ages_connections_by_the_heartbeat() {
        assert_eq!(silent_server(None), ["incomplete None"]);
        assert_eq!(silent_server(Some(30 * NANOS)), ["no_reply None"]);
        // A heartbeat past the idle timeout forgets the connection then and there.
        assert_eq!(silent_server(Some(200 * NANOS)), ["no_reply None"]);
    }

    #[test]
    fn a_key_forgotten_again_keeps_its_new_place() {
        let key = |port: u16| {
            let seg = TcpSegment {
                src: "10.0.0.1".parse().unwrap(),
                dst: "10.0.0.2".parse().unwrap(),
                src_port: port,
                dst_port: 443,
                seq: 0,
                ack: 0,
                flags: Default::default(),
                payload: b"",
                missing: 0,
            };
            FlowKey::of(&seg).0
        };
        let mut f = Forgotten::new(2);
        f.insert(key(1));
        f.remove(&key(1)); // a new connection took the key...
        f.insert(key(1)); // ...and was evicted in turn
        f.insert(key(2)); // the stale first slot of key 1 comes round: frees nothing
        assert!(f.contains(&key(1)) && f.contains(&key(2)));
        f.insert(key(3)); // now key 1's own slot: the oldest goes
        assert!(!f.contains(&key(1)));
        assert!(f.contains(&key(2)) && f.contains(&key(3)));
        assert!(f.order.len() <= 2);
    }

    #[test]
    fn the_clock_ignores_jumps_and_steps_back() {
        let mut c = Clock {
            last: None,
            now: i64::MIN,
        };
        let t = |s: i64| Timestamp(1_741_078_800 * NANOS + s * NANOS);
        assert_eq!(c.tick(t(0)), (t(0).0, false));
        assert_eq!(c.tick(t(5)), (t(5).0, false));
        // Ten years ahead, then back: the clock does not move.
        assert_eq!(c.tick(t(315_360_000)), (t(5).0, true));
        assert_eq!(c.tick(t(6)), (t(5).0, true));
        assert_eq!(c.tick(t(8)), (t(7).0, false));
        // A step back (reordered queues) does not move it back; it goes on from there.
        assert_eq!(c.tick(t(7)), (t(7).0, false));
        assert_eq!(c.tick(t(9)), (t(9).0, false));
        // An hour is a jump; less is time passing.
        assert_eq!(c.tick(t(9 + 3601)), (t(9).0, true));
        assert_eq!(c.tick(t(9 + 3601 + 3599)), (t(9 + 3599).0, false));
    }

    #[test]
    fn finds_a_hello_after_plaintext() {
        let mut b = b"220 2.0.0 Ready to start TLS\r\n".to_vec();
        let at = b.len();
        b.extend_from_slice(&[
            0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03,
        ]);
        assert_eq!(find_hello_record(&b), Some(at));
        // Not a hello: application data, a handshake type 11, an impossible length.
        assert_eq!(
            find_hello_record(&[0x17, 0x03, 0x03, 0, 10, 1, 0, 0, 40]),
            None
        );
        assert_eq!(
            find_hello_record(&[0x16, 0x03, 0x03, 0, 10, 11, 0, 0, 40]),
            None
        );
        assert_eq!(
            find_hello_record(&[0x16, 0x03, 0x03, 0xff, 0xff, 1, 0, 0, 40]),
            None
        );
        assert_eq!(find_hello_record(&[0x16, 0x03]), None);
        assert_eq!(find_hello_record(b""), None);
    }

    /// A ClientHello recorded from `openssl s_client -tls1` (SNI smtp.office365.com).
    const TLS10_CLIENT_HELLO: &str = "\
        160301007e0100007a0301389cbbfa82564b818e2bba66847df35be991ebfe604c67d66126b264109ded9300\
        0012c00ac0140039c009c01300330035002f00ff0100003f000000170015000012736d74702e6f6666696365\
        3336352e636f6d000b000403000102000a000c000a001d0017001e00190018002300000016000000170000";

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Feeds `chunks` (one direction, in order) through `feed_or_scan`: the events and the
    /// plaintext phase.
    fn scan(chunks: &[&[u8]]) -> (Vec<HandshakeEvent>, Option<Box<PlaintextPhase>>) {
        let mut tls = DirectionParser::new();
        let mut scanning = false;
        let mut plain = None;
        let mut events = Vec::new();
        for c in chunks {
            feed_or_scan(
                &mut tls,
                &mut scanning,
                &mut plain,
                Dir::LoToHi,
                c,
                &mut events,
            );
        }
        (events, plain)
    }

    fn client_hellos(events: &[HandshakeEvent]) -> usize {
        events
            .iter()
            .filter(|e| matches!(e, HandshakeEvent::ClientHello(_)))
            .count()
    }

    /// After STARTTLS, the record header in a segment of its own, or any split of the first
    /// 9 bytes (and a few more) over two or three segments: the ClientHello is found as in
    /// plain TLS.
    #[test]
    fn a_hello_split_anywhere_after_plaintext() {
        let ch = hex(TLS10_CLIENT_HELLO);
        let text: &[u8] = b"EHLO printer\r\nSTARTTLS\r\n";
        let whole = [text, &ch[..]].concat();
        let (events, plain) = scan(&[&whole]);
        assert_eq!(client_hellos(&events), 1);
        assert_eq!(plain.unwrap().protocol(), Some(starttls::StartTls::Smtp));
        // The plaintext alone, then the hello split at i and j.
        for i in 0..=12 {
            for j in i..=14 {
                let (a, rest) = ch.split_at(i);
                let (b, c) = rest.split_at(j - i);
                let (events, plain) = scan(&[text, a, b, c]);
                assert_eq!(client_hellos(&events), 1, "split at {i}, {j}");
                assert_eq!(plain.unwrap().protocol(), Some(starttls::StartTls::Smtp));
                // The plaintext and the first bytes in one segment.
                let first = [text, a].concat();
                let (events, _) = scan(&[&first, b, c]);
                assert_eq!(client_hellos(&events), 1, "plaintext + {i}, then {j}");
            }
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = whole.chunks(1).collect();
        let (events, plain) = scan(&bytes);
        assert_eq!(client_hellos(&events), 1);
        assert_eq!(plain.unwrap().protocol(), Some(starttls::StartTls::Smtp));
    }

    /// Plaintext and record fragments in random pieces: no panic, at most `MAX_HELD` bytes
    /// held, and a whole hello after them is still found.
    #[test]
    fn scanning_hostile_pieces() {
        let ch = hex(TLS10_CLIENT_HELLO);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let pieces: &[&[u8]] = &[
            b"\x16",
            b"\x16\x03",
            b"\x16\x03\x01\x00",
            b"\x15\x03\x03\x00\x02",
            b"\x01",
            b"\x02",
            b"\x00",
            b"\xff",
            b"STARTTLS\r\n",
            b"\r\n",
            b"220 ",
            b"a1 ",
            b"CONNECT ",
        ];
        for _ in 0..3000 {
            let mut stream = Vec::new();
            for _ in 0..next() % 12 {
                stream.extend_from_slice(pieces[next() as usize % pieces.len()]);
            }
            // Junk only, or junk then a real hello: cut anywhere.
            let with_hello = next() % 2 == 0;
            if with_hello {
                stream.extend_from_slice(b"\r\n");
                stream.extend_from_slice(&ch);
            }
            let mut chunks = Vec::new();
            let mut rest = &stream[..];
            while !rest.is_empty() {
                let n = (next() as usize % 12 + 1).min(rest.len());
                let (a, b) = rest.split_at(n);
                chunks.push(a);
                rest = b;
            }
            let mut tls = DirectionParser::new();
            let mut scanning = false;
            let mut plain = None;
            let mut events = Vec::new();
            for c in &chunks {
                feed_or_scan(
                    &mut tls,
                    &mut scanning,
                    &mut plain,
                    Dir::LoToHi,
                    c,
                    &mut events,
                );
                if let Some(p) = plain.as_mut() {
                    let (held, n) = p.take_held(Dir::LoToHi);
                    assert!(n <= starttls::MAX_HELD);
                    p.hold(Dir::LoToHi, &held[..n]);
                }
            }
            // A junk prefix can look like a hello or an alert of its own (or, at the start,
            // read as TLS) and swallow the real one; a hello after other junk is always found.
            let junk = &stream[..stream.len() - if with_hello { ch.len() } else { 0 }];
            if with_hello && !junk.contains(&0x16) && !junk.contains(&0x15) {
                assert_eq!(client_hellos(&events), 1, "{stream:?}");
            }
        }
    }

    /// Held bytes that turn out to be plaintext go to the line reader, in order.
    #[test]
    fn held_bytes_that_are_not_a_record() {
        // `\x16\x03` at a segment's end, then text: the command after them is still read.
        let (events, plain) = scan(&[b"NOOP\r\n\x16\x03", b"\x01 junk\r\nSTARTTLS\r\n"]);
        assert!(events.is_empty());
        let plain = plain.unwrap();
        assert_eq!(plain.protocol(), Some(starttls::StartTls::Smtp));
        assert_eq!(
            record_start(b"text\x16\x03\x01\x00"),
            RecordStart::Partial(4)
        );
        assert_eq!(record_start(b"text\x16\x03\x05"), RecordStart::Nothing);
        assert_eq!(
            record_start(b"\x15\x03\x03\x00\x02"),
            RecordStart::Partial(0)
        );
        assert_eq!(record_start(b"\x15\x03\x03\x00\x03"), RecordStart::Nothing);
        assert_eq!(record_start(b""), RecordStart::Nothing);
        assert_eq!(
            record_start(&[b'x', 0x15, 3, 1, 0, 2, 2, 70]),
            RecordStart::Found {
                at: 1,
                hello: false
            }
        );
    }

    #[test]
    fn finds_an_alert_after_plaintext() {
        let mut b = b"220 2.0.0 Ready to start TLS\r\n".to_vec();
        let at = b.len();
        b.extend_from_slice(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);
        assert_eq!(find_alert_record(&b), Some(at));
        assert_eq!(
            find_alert_record(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0xff]),
            None
        );
        assert_eq!(
            find_alert_record(&[0x15, 0x03, 0x01, 0x00, 0x03, 0x02, 0x46]),
            None
        );
    }
}
