//! A realistic capture of a requested size, with the census it must give: the benchmark's
//! input (`examples/workload.rs`, `scripts/bench`) and an end-to-end check (`tests/workload.rs`).
//!
//! What a capture holds, all decided by one seeded PRNG (the same seed and size give the same
//! bytes):
//! - thousands of clients (a quarter IPv6), a few of them busy, each with a profile: legacy
//!   (TLS 1.0/1.1 only), mixed, or modern;
//! - TCP connections interleaved in time, a few thousand open at once, toward servers inside
//!   Microsoft 365 prefixes (40.96.0.0/13, 13.107.136.0/22, 52.112.0.0/14, 2603:1006::/40,
//!   2603:1046::/36) and outside them (TEST-NETs, 2001:db8::/32);
//! - on each TLS connection the handshake of a recorded fixture, replayed packet by packet
//!   (re-segmented to a 1,400-byte MSS): TLS 1.0, 1.1, 1.2 (OpenSSL and GnuTLS), 1.3 (two
//!   fixtures), and the TLS 1.0 client refused by a TLS 1.2-minimum server;
//! - ClientHellos cut into 2 or 3 segments, some of them sent out of order or twice;
//!   connections refused by a reset or abandoned after the ClientHello (no ServerHello);
//!   connections whose SYN was not captured;
//! - then most of the bytes: TLS application_data records (16 KiB, random bytes) in
//!   1,400-byte segments with an ACK every second segment, a few reordered or retransmitted;
//! - 802.1Q tags on some connections; non-TLS noise: DNS over UDP, plain HTTP over TCP, and
//!   TLS connections whose handshake was before the capture (only application data).
//!
//! The expected census ([`Expected`]) is what `tlscensus read --scope all --csv` must print in
//! its first nine columns ([`EXPECTED_COLUMNS`]), one row per client, rows ordered by address
//! (the report orders by verdict, which is not among those columns). It is derived from what
//! the generator chose (which fixture, which outcome), and each fixture's offered and
//! negotiated version is the one `fixtures/README.md` states, checked with tshark when it was
//! recorded.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::report::csv::CLIENT_COLUMNS;

/// Columns of the expected census: the first nine of `--csv`.
pub const EXPECTED_COLUMNS: &[&str] = CLIENT_COLUMNS.split_at(9).0;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Capture size to reach, in bytes (the result is at most a few MiB larger).
    pub size: u64,
    pub seed: u64,
}

/// Parses a size: bytes, or a number with a `K`, `M` or `G` suffix (powers of 1024), e.g. `1G`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_uppercase()),
        _ => (s, 'B'),
    };
    let n: u64 = digits.parse().ok()?;
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

/// What was written, counted by kind (for the example's summary and the test's checks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Bytes written, pcap headers included.
    pub bytes: u64,
    pub packets: u64,
    /// Capture time from the first to the last packet, in nanoseconds.
    pub duration_nanos: i64,
    /// TLS connections with a ClientHello (those in the expected census).
    pub tls_connections: u64,
    pub clients: u64,
    /// TLS connections without a ServerHello: refused by an alert, by a reset, or abandoned.
    pub no_server_hello: u64,
    pub ipv6_connections: u64,
    pub m365_server_connections: u64,
    pub vlan_connections: u64,
    pub split_hellos: u64,
    /// Split ClientHellos whose pieces were sent out of order.
    pub reordered_hellos: u64,
    /// TLS connections whose SYN is not in the capture.
    pub without_syn: u64,
    pub retransmitted_segments: u64,
    pub reordered_segments: u64,
    /// Bytes of application_data records (TCP payload).
    pub application_data_bytes: u64,
    /// TLS connections already past their handshake when the capture starts.
    pub midstream_connections: u64,
    pub http_connections: u64,
    pub dns_packets: u64,
    /// Connections open at once, at most.
    pub max_concurrent: u64,
}

/// TLS versions as the census spells them; the order is the rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Version {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl Version {
    fn label(self) -> &'static str {
        match self {
            Version::Tls10 => "TLSv1.0",
            Version::Tls11 => "TLSv1.1",
            Version::Tls12 => "TLSv1.2",
            Version::Tls13 => "TLSv1.3",
        }
    }

    /// The record-layer minor version of application data.
    fn record_minor(self) -> u8 {
        match self {
            Version::Tls10 => 1,
            Version::Tls11 => 2,
            Version::Tls12 | Version::Tls13 => 3,
        }
    }
}

/// One client's row of the expected census.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedClient {
    pub connections: u64,
    /// Negotiated TLS 1.0, 1.1, 1.2, 1.3.
    pub negotiated: [u64; 4],
    pub no_server_hello: u64,
    max_offered: Option<Version>,
}

/// The census the capture must give, per client IP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub clients: BTreeMap<IpAddr, ExpectedClient>,
}

impl Expected {
    fn add(&mut self, client: IpAddr, offered: Version, negotiated: Option<Version>) {
        let c = self.clients.entry(client).or_default();
        c.connections += 1;
        match negotiated {
            Some(v) => c.negotiated[v as usize] += 1,
            None => c.no_server_hello += 1,
        }
        c.max_offered = c.max_offered.max(Some(offered));
    }

    /// Rows by client address (IPv4 before IPv6, each in numeric order), each with the
    /// [`EXPECTED_COLUMNS`]. Not the report's order: that follows the verdict, which is not
    /// among these columns; compare after sorting tlscensus's rows the same way.
    pub fn rows(&self) -> Vec<[String; 9]> {
        self.clients
            .iter()
            .map(|(ip, c)| {
                [
                    ip.to_string(),
                    c.connections.to_string(),
                    "0".to_string(),
                    c.negotiated[0].to_string(),
                    c.negotiated[1].to_string(),
                    c.negotiated[2].to_string(),
                    c.negotiated[3].to_string(),
                    c.no_server_hello.to_string(),
                    c.max_offered.map(Version::label).unwrap_or("").to_string(),
                ]
            })
            .collect()
    }

    /// Writes the rows as CSV with a header line (no cell needs quoting).
    pub fn write_csv(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "{}", EXPECTED_COLUMNS.join(","))?;
        for row in self.rows() {
            writeln!(out, "{}", row.join(","))?;
        }
        Ok(())
    }
}

/// Writes a capture of about `opts.size` bytes to `out`; returns what it holds and the census
/// it must give.
pub fn generate(opts: &Options, out: &mut impl Write) -> io::Result<(Summary, Expected)> {
    Generator::new(opts).run(out)
}

// ---------------------------------------------------------------------------------------------
// Randomness

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough to pick traffic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index drawn with the given weights.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

// ---------------------------------------------------------------------------------------------
// The recorded handshakes

/// A recorded fixture and the versions `fixtures/README.md` gives for it.
struct FixtureSpec {
    bytes: &'static [u8],
    offered: Version,
    negotiated: Option<Version>,
}

/// Index in [`FIXTURES`] of the one toward a server outside Microsoft 365 (its SNI is
/// `www.example.com`, so it goes to servers outside the prefixes too).
const TLS12_OUTSIDE: usize = 4;
/// Index in [`FIXTURES`] of the refused ClientHello.
#[cfg(test)]
const REFUSED_TLS10: usize = 7;

const FIXTURES: [FixtureSpec; 8] = [
    FixtureSpec {
        bytes: include_bytes!("../../fixtures/tls10-exchange.pcap"),
        offered: Version::Tls10,
        negotiated: Some(Version::Tls10),
    },
    FixtureSpec {
        bytes: include_bytes!("../../fixtures/tls11-exchange.pcap"),
        offered: Version::Tls11,
        negotiated: Some(Version::Tls11),
    },
    FixtureSpec {
        bytes: include_bytes!("../../fixtures/tls12-sharepoint.pcap"),
        offered: Version::Tls12,
        negotiated: Some(Version::Tls12),
    },
    FixtureSpec {
        bytes: include_bytes!("../../fixtures/tls12-gnutls.pcap"),
        offered: Version::Tls12,
        negotiated: Some(Version::Tls12),
    },
    FixtureSpec {
        bytes: include_bytes!("../../fixtures/tls12-outside.pcap"),
        offered: Version::Tls12,
        negotiated: Some(Version::Tls12),
    },
    FixtureSpec {
        bytes: include_bytes!("../../fixtures/tls13-teams.pcap"),
        offered: Version::Tls13,
        negotiated: Some(Version::Tls13),
    },
    FixtureSpec {
        bytes: include_bytes!("../../fixtures/tls13-ipv6-exchange.pcap"),
        offered: Version::Tls13,
        negotiated: Some(Version::Tls13),
    },
    FixtureSpec {
        bytes: include_bytes!("../../fixtures/failed-tls10-vs-min12.pcap"),
        offered: Version::Tls10,
        negotiated: None,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client = 0,
    Server = 1,
}

impl Side {
    fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// A fixture's TCP payloads in capture order, by side (the side with port 443 is the server).
/// The closing alerts (close_notify) at the end are left out: the workload's own application
/// data follows the handshake.
fn fixture_packets(bytes: &[u8]) -> Vec<(Side, Vec<u8>)> {
    let mut out: Vec<(Side, Vec<u8>)> = super::conditions::recorded(bytes)
        .into_iter()
        .map(|(from, payload)| {
            let side = match from {
                super::From::Client => Side::Client,
                super::From::Server => Side::Server,
            };
            (side, payload)
        })
        .collect();
    // close_notify: an alert record (TLS 1.2 and before) or a 24-byte encrypted record (TLS
    // 1.3) alone in its packet, after the first exchange.
    while out.len() > 2 {
        let p = &out[out.len() - 1].1;
        let single = p.len() >= 5 && usize::from(u16::from_be_bytes([p[3], p[4]])) + 5 == p.len();
        if single && (p[0] == 21 || (p[0] == 23 && p.len() <= 24)) {
            out.pop();
        } else {
            break;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Packets

const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_PSH: u8 = 0x08;
const TCP_ACK: u8 = 0x10;

const MSS: usize = 1400;
/// The largest TLS 1.3 record on the wire: 2^14 plaintext + content type + 16-byte tag.
const FULL_RECORD: u64 = 16384 + 17;

/// Adds bytes to a ones'-complement sum (RFC 1071).
fn sum16(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Builds an Ethernet frame (optionally 802.1Q-tagged) carrying an IPv4 or IPv6 packet whose
/// transport header `l4` (TCP or UDP, checksum field zero) and `payload` follow; fills in the
/// IPv4 and transport checksums.
#[allow(clippy::too_many_arguments)]
fn build_frame(
    buf: &mut Vec<u8>,
    vlan: Option<u16>,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ip_id: u16,
    l4: &[u8],
    payload: &[u8],
) {
    buf.clear();
    // Hosts behind a router: the MACs only tell the direction.
    let (dmac, smac) = match src {
        IpAddr::V4(a) if a.octets()[0] == 10 => ([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2]),
        IpAddr::V6(a) if a.octets()[0] == 0xfd => ([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2]),
        _ => ([0x02, 0, 0, 0, 0, 2], [0x02, 0, 0, 0, 0, 1]),
    };
    buf.extend_from_slice(&dmac);
    buf.extend_from_slice(&smac);
    if let Some(id) = vlan {
        buf.extend_from_slice(&[0x81, 0x00]);
        buf.extend_from_slice(&(id & 0x0fff).to_be_bytes());
    }
    let l4_len = l4.len() + payload.len();
    let mut pseudo = 0u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            buf.extend_from_slice(&[0x08, 0x00]);
            let start = buf.len();
            buf.extend_from_slice(&[0x45, 0]);
            buf.extend_from_slice(&((20 + l4_len) as u16).to_be_bytes());
            buf.extend_from_slice(&ip_id.to_be_bytes());
            buf.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
            buf.extend_from_slice(&s.octets());
            buf.extend_from_slice(&d.octets());
            let sum = fold(sum16(0, &buf[start..]));
            buf[start + 10..start + 12].copy_from_slice(&sum.to_be_bytes());
            pseudo = sum16(pseudo, &s.octets());
            pseudo = sum16(pseudo, &d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            buf.extend_from_slice(&[0x86, 0xdd]);
            buf.extend_from_slice(&[0x60, 0, 0, 0]);
            buf.extend_from_slice(&(l4_len as u16).to_be_bytes());
            buf.extend_from_slice(&[proto, 64]);
            buf.extend_from_slice(&s.octets());
            buf.extend_from_slice(&d.octets());
            pseudo = sum16(pseudo, &s.octets());
            pseudo = sum16(pseudo, &d.octets());
        }
        _ => unreachable!("both ends of a flow have the same address family"),
    }
    pseudo += u32::from(proto) + l4_len as u32;
    let l4_start = buf.len();
    buf.extend_from_slice(l4);
    buf.extend_from_slice(payload);
    let sum = fold(sum16(pseudo, &buf[l4_start..]));
    let at = l4_start + if proto == 17 { 6 } else { 16 };
    buf[at..at + 2].copy_from_slice(&sum.to_be_bytes());
}

// ---------------------------------------------------------------------------------------------
// Connections

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A recorded handshake, then application data.
    Tls { fixture: usize },
    /// Application data only: the handshake happened before the capture.
    Midstream,
    /// A plain HTTP request and its HTML answer.
    Http,
}

/// How a TLS connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The handshake, application data, FIN both ways.
    Complete,
    /// The handshake, application data, a reset from the client.
    Reset,
    /// The ClientHello, then a reset from the server: no ServerHello.
    Refused,
    /// The ClientHello, then nothing more: no ServerHello.
    Abandoned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Open,
    /// Next fixture packet to replay.
    Handshake(usize),
    Http,
    Bulk,
    Close,
    Done,
}

/// One TCP segment waiting to be written.
struct Segment {
    side: Side,
    flags: u8,
    /// Stream offset of the first payload byte (data starts at ISN + 1).
    offset: u32,
    data: Vec<u8>,
}

/// A connection being written, one segment at a time.
struct Conn {
    kind: Kind,
    end: End,
    addr: [(IpAddr, u16); 2],
    vlan: Option<u16>,
    isn: [u32; 2],
    /// Stream bytes queued so far, per side.
    queued: [u32; 2],
    /// Highest stream offset written so far, per side (what the peer acknowledges).
    written: [u32; 2],
    with_syn: bool,
    /// Pieces of a split ClientHello: 1 (not split), 2 or 3.
    hello_pieces: u8,
    reorder_hello: bool,
    /// Application data still to send, per side.
    bulk: [u64; 2],
    /// Bytes left in the application data record being sent, per side.
    record_left: [u64; 2],
    record_minor: u8,
    /// Data segments sent in bulk, for the ACK every second one.
    bulk_segments: u64,
    stage: Stage,
    queue: VecDeque<Segment>,
    /// Bytes this connection is still expected to write (for the size target).
    remaining_estimate: u64,
}

impl Conn {
    fn push(&mut self, side: Side, flags: u8, data: Vec<u8>) {
        let offset = self.queued[side as usize];
        self.queued[side as usize] = offset.wrapping_add(data.len() as u32);
        self.queue.push_back(Segment {
            side,
            flags,
            offset,
            data,
        });
    }

    /// A pure ACK from `side`.
    fn ack(&mut self, side: Side) {
        self.push(side, TCP_ACK, Vec::new());
    }
}

/// Where a client's traffic comes from.
struct Client {
    ip: IpAddr,
    /// Weights over [`FIXTURES`].
    profile: &'static [u64; 8],
    next_port: u16,
}

//                       tls10 tls11 12sp 12gnu 12out 13tm 13v6 refused
const LEGACY: [u64; 8] = [60, 25, 0, 0, 0, 0, 0, 15];
const MIXED: [u64; 8] = [8, 4, 25, 10, 10, 25, 15, 3];
const MODERN: [u64; 8] = [0, 0, 20, 10, 15, 35, 20, 0];

/// Bytes of random "ciphertext" and of HTML text that payloads are cut from.
const POOL: usize = 1 << 16;

struct Generator {
    rng: Rng,
    size: u64,
    fixtures: Vec<Vec<(Side, Vec<u8>)>>,
    clients: Vec<Client>,
    active: Vec<Conn>,
    concurrency: usize,
    random_pool: Vec<u8>,
    html_pool: Vec<u8>,
    now: i64,
    ip_id: u16,
    pending: u64,
    summary: Summary,
    expected: Expected,
    frame: Vec<u8>,
}

impl Generator {
    fn new(opts: &Options) -> Generator {
        let mut rng = Rng(opts.seed ^ 0x746c_7363_656e_7375);
        // About 16 KiB of capture per TCP connection; a client every ~20 connections.
        let conns_estimate = (opts.size / 16_384).max(20);
        let n_clients = (conns_estimate / 20).clamp(20, 20_000);
        let concurrency = (conns_estimate / 40).clamp(8, 2_000) as usize;
        let clients = (0..n_clients)
            .map(|i| {
                let ip = if rng.chance(250) {
                    let mut o = [0u8; 16];
                    o[0] = 0xfd;
                    o[1] = 0;
                    o[2..4].copy_from_slice(&((i >> 8) as u16).to_be_bytes());
                    o[8..].copy_from_slice(&rng.next().to_be_bytes());
                    IpAddr::V6(Ipv6Addr::from(o))
                } else {
                    let n = 0x0a00_0000 | ((i as u32 + 256) & 0x00ff_ffff);
                    IpAddr::V4(Ipv4Addr::from(n))
                };
                let profile = match rng.below(100) {
                    0..6 => &LEGACY,
                    6..20 => &MIXED,
                    _ => &MODERN,
                };
                Client {
                    ip,
                    profile,
                    next_port: rng.range(32_768, 50_000) as u16,
                }
            })
            .collect();
        let mut random_pool = vec![0u8; POOL];
        for chunk in random_pool.chunks_mut(8) {
            let n = chunk.len();
            chunk.copy_from_slice(&rng.next().to_le_bytes()[..n]);
        }
        let html_pool = html_text(&mut rng);
        Generator {
            rng,
            size: opts.size,
            fixtures: FIXTURES.iter().map(|f| fixture_packets(f.bytes)).collect(),
            clients,
            active: Vec::new(),
            concurrency,
            random_pool,
            html_pool,
            // 2025-03-04 12:00:00 UTC
            now: 1_741_089_600_000_000_000,
            ip_id: 1,
            pending: 0,
            summary: Summary::default(),
            expected: Expected::default(),
            frame: Vec::with_capacity(2048),
        }
    }

    fn run(mut self, out: &mut impl Write) -> io::Result<(Summary, Expected)> {
        crate::synth::write_pcap_header(out)?;
        self.summary.bytes = 24;
        let start = self.now;
        let mut admitting = true;
        loop {
            if admitting && self.summary.bytes + self.pending >= self.size {
                admitting = false;
            }
            while admitting && self.active.len() < self.concurrency {
                let conn = self.new_conn();
                self.pending += conn.remaining_estimate;
                self.active.push(conn);
            }
            self.summary.max_concurrent = self.summary.max_concurrent.max(self.active.len() as u64);
            if self.active.is_empty() {
                break;
            }
            self.now += self.rng.range(1_000, 20_000) as i64;
            if admitting && self.rng.chance(15) {
                self.write_dns(out)?;
                continue;
            }
            let i = self.rng.below(self.active.len() as u64) as usize;
            match self.next_segment(i) {
                Some(seg) => {
                    let n = self.write_segment(i, &seg, out)?;
                    let conn = &mut self.active[i];
                    let used = n.min(conn.remaining_estimate);
                    conn.remaining_estimate -= used;
                    self.pending -= used;
                }
                None => {
                    let conn = self.active.swap_remove(i);
                    self.pending -= conn.remaining_estimate;
                }
            }
        }
        self.summary.duration_nanos = self.now - start;
        self.summary.clients = self.expected.clients.len() as u64;
        Ok((self.summary, self.expected))
    }

    fn new_conn(&mut self) -> Conn {
        // Busy clients: the square of a uniform number favours the first ones.
        let u = self.rng.below(1 << 20);
        let idx = ((((u * u) >> 20) as usize) * self.clients.len()) >> 20;
        let client = &mut self.clients[idx];
        let cport = client.next_port;
        client.next_port = match client.next_port.checked_add(self.rng.range(1, 3) as u16) {
            Some(p) if p < 65_000 => p,
            _ => 1_025,
        };
        let cip = client.ip;
        let profile = client.profile;
        let v6 = cip.is_ipv6();
        let kind = match self.rng.below(1000) {
            0..50 => Kind::Http,
            50..70 => Kind::Midstream,
            _ => Kind::Tls {
                fixture: self.rng.weighted(profile),
            },
        };
        let in_m365 = match kind {
            Kind::Tls {
                fixture: TLS12_OUTSIDE,
            }
            | Kind::Http => false,
            _ => self.rng.chance(850),
        };
        let sip = self.server(v6, in_m365);
        let sport = match kind {
            Kind::Http => 80,
            _ => [443, 443, 443, 443, 443, 443, 993, 995, 8443][self.rng.below(9) as usize],
        };
        let vlan = self.rng.chance(150).then(|| 100 + self.rng.below(8) as u16);
        let mut conn = Conn {
            kind,
            end: End::Complete,
            addr: [(cip, cport), (sip, sport)],
            vlan,
            isn: [self.rng.next() as u32, self.rng.next() as u32],
            queued: [0; 2],
            written: [0; 2],
            with_syn: true,
            hello_pieces: 1,
            reorder_hello: false,
            bulk: [0; 2],
            record_left: [0; 2],
            record_minor: 3,
            bulk_segments: 0,
            stage: Stage::Open,
            queue: VecDeque::new(),
            remaining_estimate: 0,
        };
        let s = &mut self.summary;
        if vlan.is_some() {
            s.vlan_connections += 1;
        }
        let mut estimate = 3 * 70;
        match kind {
            Kind::Tls { fixture } => {
                let spec = &FIXTURES[fixture];
                s.tls_connections += 1;
                if v6 {
                    s.ipv6_connections += 1;
                }
                if in_m365 {
                    s.m365_server_connections += 1;
                }
                conn.with_syn = !self.rng.chance(10);
                if !conn.with_syn {
                    s.without_syn += 1;
                } else if self.rng.chance(200) {
                    conn.hello_pieces = 2 + self.rng.below(2) as u8;
                    conn.reorder_hello = self.rng.chance(400);
                    s.split_hellos += 1;
                    s.reordered_hellos += u64::from(conn.reorder_hello);
                }
                conn.end = if spec.negotiated.is_none() {
                    End::Complete
                } else {
                    match self.rng.below(1000) {
                        0..20 => End::Refused,
                        20..25 => End::Abandoned,
                        25..100 => End::Reset,
                        _ => End::Complete,
                    }
                };
                let negotiated = match conn.end {
                    End::Refused | End::Abandoned => None,
                    End::Complete | End::Reset => spec.negotiated,
                };
                if negotiated.is_none() {
                    s.no_server_hello += 1;
                }
                conn.record_minor = spec.offered.record_minor();
                if negotiated.is_some() {
                    conn.bulk = self.bulk_sizes();
                }
                estimate += self.fixtures[fixture]
                    .iter()
                    .map(|(_, p)| p.len() as u64 + 70)
                    .sum::<u64>();
                self.expected.add(cip, spec.offered, negotiated);
            }
            Kind::Midstream => {
                s.midstream_connections += 1;
                conn.with_syn = false;
                conn.bulk = self.bulk_sizes();
                conn.stage = Stage::Bulk;
            }
            Kind::Http => {
                s.http_connections += 1;
                conn.bulk = [0, self.rng.range(200, 30_000)];
            }
        }
        let bulk = conn.bulk[0] + conn.bulk[1];
        // Headers, pcap records and the ACKs of bulk data.
        estimate += bulk + bulk.div_ceil(MSS as u64) * 105;
        conn.remaining_estimate = estimate;
        conn
    }

    /// Application data bytes (client → server, server → client): mostly small answers, some
    /// downloads; 14 KiB per connection on average.
    fn bulk_sizes(&mut self) -> [u64; 2] {
        let down = match self.rng.below(100) {
            0..55 => self.rng.range(100, 2_000),
            55..85 => self.rng.range(2_000, 16_000),
            85..97 => self.rng.range(16_000, 64_000),
            _ => self.rng.range(64_000, 256_000),
        };
        let up = self.rng.range(80, 600) + if self.rng.chance(100) { down / 2 } else { 0 };
        [up, down]
    }

    /// A server address inside or outside Microsoft 365 prefixes.
    fn server(&mut self, v6: bool, in_m365: bool) -> IpAddr {
        let r = self.rng.next();
        if v6 {
            let (base, bits): (u128, u32) = match (in_m365, r % 2) {
                (true, 0) => (0x2603_1006 << 96, 40),
                (true, _) => (0x2603_1046 << 96, 36),
                (false, _) => (0x2001_0db8 << 96, 32),
            };
            // A few hundred servers per prefix.
            let host = u128::from(self.rng.below(300) + 1) * 0x1_0000_0001;
            IpAddr::V6(Ipv6Addr::from(base | (host & (u128::MAX >> bits))))
        } else {
            let (base, bits): (u32, u32) = if in_m365 {
                match r % 3 {
                    0 => (0x2860_0000, 13), // 40.96.0.0/13
                    1 => (0x0d6b_8800, 22), // 13.107.136.0/22
                    _ => (0x3470_0000, 14), // 52.112.0.0/14
                }
            } else {
                match r % 3 {
                    0 => (0xc633_6400, 24), // 198.51.100.0/24
                    1 => (0xcb00_7100, 24), // 203.0.113.0/24
                    _ => (0xc000_0200, 24), // 192.0.2.0/24
                }
            };
            let host =
                (self.rng.below(300) as u32).wrapping_mul(2_654_435_761) & (u32::MAX >> bits);
            IpAddr::V4(Ipv4Addr::from(base | host.max(1)))
        }
    }

    /// The next segment of connection `i`, `None` when it has no more.
    fn next_segment(&mut self, i: usize) -> Option<Segment> {
        loop {
            if let Some(seg) = self.active[i].queue.pop_front() {
                return Some(seg);
            }
            if self.active[i].stage == Stage::Done {
                return None;
            }
            self.refill(i);
        }
    }

    /// Queues the next few segments of connection `i`.
    fn refill(&mut self, i: usize) {
        let mut conn = std::mem::replace(&mut self.active[i], placeholder());
        match conn.stage {
            Stage::Open => {
                if conn.with_syn {
                    conn.queue.push_back(Segment {
                        side: Side::Client,
                        flags: TCP_SYN,
                        offset: u32::MAX,
                        data: Vec::new(),
                    });
                    if self.rng.chance(10) {
                        // A retransmitted SYN (same ISN).
                        conn.queue.push_back(Segment {
                            side: Side::Client,
                            flags: TCP_SYN,
                            offset: u32::MAX,
                            data: Vec::new(),
                        });
                        self.summary.retransmitted_segments += 1;
                    }
                    conn.queue.push_back(Segment {
                        side: Side::Server,
                        flags: TCP_SYN | TCP_ACK,
                        offset: u32::MAX,
                        data: Vec::new(),
                    });
                    conn.ack(Side::Client);
                }
                conn.stage = match conn.kind {
                    Kind::Tls { .. } => Stage::Handshake(0),
                    Kind::Http => Stage::Http,
                    Kind::Midstream => Stage::Bulk,
                };
            }
            Stage::Handshake(n) => {
                let Kind::Tls { fixture } = conn.kind else {
                    unreachable!("only TLS connections replay a handshake");
                };
                let count = self.fixtures[fixture].len();
                let (side, payload) = &self.fixtures[fixture][n];
                let side = *side;
                if n == 0 && conn.hello_pieces > 1 {
                    let hello = payload.clone();
                    self.split_hello(&mut conn, &hello);
                } else {
                    for piece in payload.chunks(MSS) {
                        conn.push(side, TCP_ACK | TCP_PSH, piece.to_vec());
                    }
                }
                if self.rng.chance(500) {
                    conn.ack(side.peer());
                }
                let hello_only = matches!(conn.end, End::Refused | End::Abandoned);
                conn.stage = if n == 0 && hello_only {
                    if conn.end == End::Refused {
                        conn.push(Side::Server, TCP_RST | TCP_ACK, Vec::new());
                    }
                    Stage::Done
                } else if n + 1 < count {
                    Stage::Handshake(n + 1)
                } else {
                    Stage::Bulk
                };
            }
            Stage::Http => {
                let host = ["intranet.example", "printer.example", "update.example"]
                    [self.rng.below(3) as usize];
                let req = format!(
                    "GET /status/{} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
                    self.rng.below(10_000)
                );
                conn.push(Side::Client, TCP_ACK | TCP_PSH, req.into_bytes());
                conn.ack(Side::Server);
                let len = conn.bulk[1] as usize;
                let mut body = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len}\r\n\r\n"
                )
                .into_bytes();
                let at = self.rng.below((POOL - len) as u64) as usize;
                body.extend_from_slice(&self.html_pool[at..at + len]);
                for (k, piece) in body.chunks(MSS).enumerate() {
                    conn.push(Side::Server, TCP_ACK, piece.to_vec());
                    if k % 2 == 1 {
                        conn.ack(Side::Client);
                    }
                }
                conn.bulk = [0; 2];
                conn.stage = Stage::Close;
            }
            Stage::Bulk => {
                for _ in 0..4 {
                    let side = match conn.bulk {
                        [0, 0] => break,
                        [0, _] => Side::Server,
                        [_, 0] => Side::Client,
                        _ if self.rng.chance(850) => Side::Server,
                        _ => Side::Client,
                    };
                    let data = self.bulk_payload(&mut conn, side);
                    conn.bulk_segments += 1;
                    let seg_at = conn.queue.len();
                    conn.push(side, TCP_ACK, data);
                    if self.rng.chance(5) {
                        // Retransmitted: the same bytes again, at once or a little later.
                        let s = &conn.queue[seg_at];
                        let copy = Segment {
                            side: s.side,
                            flags: s.flags,
                            offset: s.offset,
                            data: s.data.clone(),
                        };
                        conn.queue.push_back(copy);
                        self.summary.retransmitted_segments += 1;
                    } else if seg_at > 0 && self.rng.chance(5) {
                        conn.queue.swap(seg_at - 1, seg_at);
                        self.summary.reordered_segments += 1;
                    }
                    if conn.bulk_segments % 2 == 0 {
                        conn.ack(side.peer());
                    }
                }
                if conn.bulk == [0, 0] {
                    conn.stage = Stage::Close;
                }
            }
            Stage::Close => {
                if conn.end == End::Reset {
                    conn.push(Side::Client, TCP_RST | TCP_ACK, Vec::new());
                } else {
                    conn.push(Side::Client, TCP_FIN | TCP_ACK, Vec::new());
                    conn.push(Side::Server, TCP_FIN | TCP_ACK, Vec::new());
                    conn.ack(Side::Client);
                }
                conn.stage = Stage::Done;
            }
            Stage::Done => {}
        }
        self.active[i] = conn;
    }

    /// The ClientHello packet cut into 2 or 3 pieces, maybe out of order, maybe one twice.
    fn split_hello(&mut self, conn: &mut Conn, hello: &[u8]) {
        let n = usize::from(conn.hello_pieces);
        let mut cuts = vec![0];
        for k in 1..n {
            let lo = hello.len() * k / (n + 1);
            let hi = hello.len() * (k + 1) / (n + 1);
            cuts.push(self.rng.range(lo as u64, hi as u64) as usize);
        }
        cuts.push(hello.len());
        let first = conn.queue.len();
        for w in cuts.windows(2) {
            conn.push(Side::Client, TCP_ACK, hello[w[0]..w[1]].to_vec());
        }
        if conn.reorder_hello {
            conn.queue.make_contiguous()[first..].reverse();
        }
        if self.rng.chance(300) {
            let k = first + self.rng.below(n as u64) as usize;
            let s = &conn.queue[k];
            let copy = Segment {
                side: s.side,
                flags: s.flags,
                offset: s.offset,
                data: s.data.clone(),
            };
            conn.queue.push_back(copy);
            self.summary.retransmitted_segments += 1;
        }
    }

    /// Up to one MSS of application_data records from `side`.
    fn bulk_payload(&mut self, conn: &mut Conn, side: Side) -> Vec<u8> {
        let s = side as usize;
        let mut data = Vec::with_capacity(MSS);
        while data.len() < MSS && conn.bulk[s] > 0 {
            if conn.record_left[s] == 0 {
                if conn.bulk[s] <= 5 {
                    conn.bulk[s] = 0;
                    break;
                }
                if data.len() + 6 > MSS {
                    // No room for a record header and a byte after it: next segment.
                    break;
                }
                let want = if self.rng.chance(750) {
                    FULL_RECORD
                } else {
                    self.rng.range(40, 4_000)
                };
                let len = want.min(conn.bulk[s] - 5);
                data.extend_from_slice(&[23, 3, conn.record_minor]);
                data.extend_from_slice(&(len as u16).to_be_bytes());
                conn.bulk[s] -= 5;
                conn.record_left[s] = len;
                self.summary.application_data_bytes += 5;
            }
            let n = (MSS - data.len()).min(conn.record_left[s] as usize);
            let at = self.rng.below((POOL - n) as u64) as usize;
            data.extend_from_slice(&self.random_pool[at..at + n]);
            conn.record_left[s] -= n as u64;
            conn.bulk[s] -= n as u64;
            self.summary.application_data_bytes += n as u64;
        }
        data
    }

    /// Writes one segment of connection `i`; returns the bytes written.
    fn write_segment(&mut self, i: usize, seg: &Segment, out: &mut impl Write) -> io::Result<u64> {
        let conn = &mut self.active[i];
        let s = seg.side as usize;
        let p = seg.side.peer() as usize;
        let syn = seg.flags & TCP_SYN != 0;
        let seq = if syn {
            conn.isn[s]
        } else {
            conn.isn[s].wrapping_add(1).wrapping_add(seg.offset)
        };
        if !syn {
            let end = seg.offset.wrapping_add(seg.data.len() as u32);
            conn.written[s] = conn.written[s].max(end);
        }
        let ack = if seg.flags & TCP_ACK != 0 {
            conn.isn[p].wrapping_add(1).wrapping_add(conn.written[p])
        } else {
            0
        };
        let (src, dst) = (conn.addr[s], conn.addr[p]);
        let mut tcp = [0u8; 20];
        tcp[0..2].copy_from_slice(&src.1.to_be_bytes());
        tcp[2..4].copy_from_slice(&dst.1.to_be_bytes());
        tcp[4..8].copy_from_slice(&seq.to_be_bytes());
        tcp[8..12].copy_from_slice(&ack.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = seg.flags;
        tcp[14..16].copy_from_slice(&64_240u16.to_be_bytes());
        self.ip_id = self.ip_id.wrapping_add(1);
        let vlan = conn.vlan;
        build_frame(
            &mut self.frame,
            vlan,
            src.0,
            dst.0,
            6,
            self.ip_id,
            &tcp,
            &seg.data,
        );
        self.write_frame(out)
    }

    /// A DNS query and its answer.
    fn write_dns(&mut self, out: &mut impl Write) -> io::Result<()> {
        let client = self.clients[self.rng.below(self.clients.len() as u64) as usize].ip;
        let resolver = match client {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)),
            IpAddr::V6(_) => "fd00::53".parse().expect("address"),
        };
        let name = [
            "outlook.office365.com",
            "teams.microsoft.com",
            "contoso.sharepoint.com",
            "www.example.com",
            "login.microsoftonline.com",
        ][self.rng.below(5) as usize];
        let id = self.rng.next() as u16;
        let mut query = id.to_be_bytes().to_vec();
        query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.extend_from_slice(&[0, 0, 1, 0, 1]);
        let mut answer = query.clone();
        answer[2..8].copy_from_slice(&[0x81, 0x80, 0, 1, 0, 1]);
        answer.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 40, 97, 10, 20]);
        let port = self.rng.range(1_025, 65_000) as u16;
        for (src, sport, dst, dport, payload) in [
            (client, port, resolver, 53, &query),
            (resolver, 53, client, port, &answer),
        ] {
            let mut udp = [0u8; 8];
            udp[0..2].copy_from_slice(&sport.to_be_bytes());
            udp[2..4].copy_from_slice(&dport.to_be_bytes());
            udp[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            self.ip_id = self.ip_id.wrapping_add(1);
            build_frame(
                &mut self.frame,
                None,
                src,
                dst,
                17,
                self.ip_id,
                &udp,
                payload,
            );
            self.write_frame(out)?;
            self.summary.dns_packets += 1;
            self.now += self.rng.range(1_000, 5_000) as i64;
        }
        Ok(())
    }

    fn write_frame(&mut self, out: &mut impl Write) -> io::Result<u64> {
        crate::synth::write_pcap_record(out, self.now, &self.frame)?;
        let n = 16 + self.frame.len() as u64;
        self.summary.bytes += n;
        self.summary.packets += 1;
        Ok(n)
    }
}

/// A connection that is never written: stands in while its slot is being refilled.
fn placeholder() -> Conn {
    let any = (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    Conn {
        kind: Kind::Http,
        end: End::Complete,
        addr: [any, any],
        vlan: None,
        isn: [0; 2],
        queued: [0; 2],
        written: [0; 2],
        with_syn: false,
        hello_pieces: 1,
        reorder_hello: false,
        bulk: [0; 2],
        record_left: [0; 2],
        record_minor: 3,
        bulk_segments: 0,
        stage: Stage::Done,
        queue: VecDeque::new(),
        remaining_estimate: 0,
    }
}

/// HTML-like ASCII text (no byte looks like a TLS record header).
fn html_text(rng: &mut Rng) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "<p>",
        "</p>",
        "<div class=\"row\">",
        "</div>",
        "status",
        "printer",
        "toner",
        "ready",
        "queue",
        "scan",
        "mail",
        "<td>",
        "</td>",
        "device",
        "online",
        "\n",
    ];
    let mut out = Vec::with_capacity(POOL + 32);
    while out.len() < POOL {
        out.extend_from_slice(WORDS[rng.below(16) as usize].as_bytes());
        out.push(b' ');
    }
    out.truncate(POOL);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("50m"), Some(50 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("12K"), Some(12 << 10));
        assert_eq!(parse_size("1T"), None);
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn every_fixture_gives_a_hello_and_a_reply() {
        for (i, f) in FIXTURES.iter().enumerate() {
            let packets = fixture_packets(f.bytes);
            assert!(packets.len() >= 2, "fixture {i}");
            let (side, hello) = &packets[0];
            assert_eq!(*side, Side::Client, "fixture {i}");
            // A handshake record carrying a ClientHello.
            assert_eq!((hello[0], hello[5]), (22, 1), "fixture {i}");
            assert_eq!(packets[1].0, Side::Server, "fixture {i}");
            // The refused one ends with the server's alert, the others with application data.
            let last = &packets[packets.len() - 1].1;
            let want = if i == REFUSED_TLS10 { 21 } else { 23 };
            assert_eq!(last[0], want, "fixture {i}");
        }
    }

    #[test]
    fn rng_is_uniform_enough() {
        let mut rng = Rng(1);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            counts[rng.below(10) as usize] += 1;
        }
        assert!(
            counts.iter().all(|c| (9_000..11_000).contains(c)),
            "{counts:?}"
        );
    }

    #[test]
    fn checksums_verify() {
        let mut buf = Vec::new();
        let mut tcp = [0u8; 20];
        tcp[12] = 5 << 4;
        build_frame(
            &mut buf,
            Some(7),
            "10.0.0.1".parse().unwrap(),
            "40.97.10.20".parse().unwrap(),
            6,
            1,
            &tcp,
            b"abc",
        );
        // IPv4 header after 14 + 4 bytes: its sum over itself folds to zero; so does the TCP
        // checksum over the pseudo-header and the segment (RFC 793 section 3.1).
        assert_eq!(fold(sum16(0, &buf[18..38])), 0);
        let pseudo = sum16(0, &buf[30..38]) + 6 + 23;
        assert_eq!(fold(sum16(pseudo, &buf[38..])), 0);
        let parsed = etherparse::SlicedPacket::from_ethernet(&buf).unwrap();
        let Some(etherparse::TransportSlice::Tcp(t)) = parsed.transport else {
            panic!("not TCP");
        };
        assert_eq!(t.payload(), b"abc");
    }

    #[test]
    fn expected_rows_by_address() {
        let mut e = Expected::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        e.add(ip("fd00::1"), Version::Tls13, Some(Version::Tls13));
        e.add(ip("10.0.0.9"), Version::Tls13, Some(Version::Tls13));
        e.add(ip("10.0.0.9"), Version::Tls12, None);
        e.add(ip("10.0.0.8"), Version::Tls13, Some(Version::Tls12));
        e.add(ip("10.0.0.7"), Version::Tls10, Some(Version::Tls10));
        let rows: Vec<String> = e.rows().iter().map(|r| r.join(",")).collect();
        assert_eq!(
            rows,
            [
                "10.0.0.7,1,0,1,0,0,0,0,TLSv1.0",
                "10.0.0.8,1,0,0,0,1,0,0,TLSv1.3",
                "10.0.0.9,2,0,0,0,0,1,1,TLSv1.3",
                "fd00::1,1,0,0,0,0,1,0,TLSv1.3",
            ]
        );
    }
}
