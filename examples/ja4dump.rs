//! Prints the fingerprints of every hello in a capture, one line each, for cross-checking
//! against other tools (`scripts/ja4-conformance` compares the JA4 column with FoxIO's own):
//!
//! ```text
//! cargo run --example ja4dump -- FILE
//! CH  client_ip  client_port  server_ip  server_port  ja4  ja3_md5  ja4_r  ja3
//! SH  client_ip  client_port  server_ip  server_port  ja3s_md5  ja3s
//! ```
//!
//! Tab-separated, in the order the connections first appear. A hello cut short (snap length,
//! lost bytes) has no fingerprints and no line. Deliberately minimal and apart
//! from the pipeline: each direction's bytes are put in order by sequence number (with
//! [`StreamReassembler`]), kept whole up to a cap, and handed at the end of the file to a
//! [`DirectionParser`], starting at the first TLS hello record (so a plaintext phase such as
//! HTTP CONNECT or SOCKS is stepped over). IP fragments are not put back together.

use std::collections::HashMap;
use std::process::ExitCode;

use pcap::Capture;
use tlscensus::capture::{Frame, LinkType, Timestamp};
use tlscensus::decode::{decode, TcpSegment};
use tlscensus::fingerprint::{ja3, ja3s, ja4, ja4_r};
use tlscensus::flow::{Dir, Endpoint, FlowKey};
use tlscensus::pipeline::find_hello_record;
use tlscensus::reassembly::{Limits, StreamChunk, StreamReassembler};
use tlscensus::tls::{DirectionParser, Feed, HandshakeEvent};

/// Bytes kept per direction: more than any hello needs after a plaintext phase.
const MAX_KEPT: usize = 1 << 20;

#[derive(Default)]
struct Direction {
    reassembler: StreamReassembler,
    kept: Kept,
}

/// The in-order bytes of a direction, and where bytes were lost.
#[derive(Default)]
struct Kept {
    bytes: Vec<u8>,
    /// Offsets in `bytes` where bytes were lost.
    gaps: Vec<usize>,
}

impl Kept {
    fn take(&mut self, chunk: StreamChunk<'_>) {
        match chunk {
            StreamChunk::Data(data) => {
                let room = MAX_KEPT.saturating_sub(self.bytes.len());
                self.bytes.extend_from_slice(&data[..data.len().min(room)]);
            }
            StreamChunk::Gap(_) => self.gaps.push(self.bytes.len()),
        }
    }

    /// The hellos and other events of this direction, parsed from its first hello record.
    fn events(&self) -> Vec<HandshakeEvent> {
        let mut out = Vec::new();
        let start = if starts_like_tls(&self.bytes) {
            0
        } else {
            match find_hello_record(&self.bytes) {
                Some(at) => at,
                None => return out,
            }
        };
        let mut parser = DirectionParser::new();
        let mut from = start;
        for &gap in self.gaps.iter().filter(|g| **g > start) {
            if parser.feed(&self.bytes[from..gap], &mut out) != Feed::Continue {
                return out;
            }
            parser.gap(&mut out);
            from = gap;
        }
        let _ = parser.feed(&self.bytes[from..], &mut out);
        out
    }
}

/// A TLS record header or an SSLv2-framed ClientHello at the very start.
fn starts_like_tls(bytes: &[u8]) -> bool {
    match bytes {
        [20..=24, 3, 0..=4, ..] => true,
        [b0, _, 1, 0 | 3, ..] => b0 & 0x80 != 0,
        _ => false,
    }
}

struct Connection {
    key: FlowKey,
    dirs: [Direction; 2],
    /// Whether any payload was seen (a later SYN then starts a new connection).
    has_data: bool,
}

impl Connection {
    fn new(key: FlowKey) -> Self {
        Connection {
            key,
            dirs: Default::default(),
            has_data: false,
        }
    }

    fn segment(&mut self, dir: Dir, seg: &TcpSegment<'_>) {
        let d = &mut self.dirs[dir.index()];
        if seg.flags.syn {
            d.reassembler.syn(seg.seq);
        } else if !d.reassembler.started() && starts_like_tls(seg.payload) {
            d.reassembler.start_at(seg.seq);
        }
        if !seg.payload.is_empty() {
            self.has_data = true;
        }
        let Direction { reassembler, kept } = d;
        let limits = Limits {
            max_buffered: MAX_KEPT,
            max_segments: 4096,
        };
        // A SYN's own sequence number is not a data byte: its data (TCP Fast Open) follows.
        let seq = seg.seq.wrapping_add(u32::from(seg.flags.syn));
        reassembler.segment(seq, seg.payload, seg.missing, limits, &mut |c| kept.take(c));
    }

    fn finish(mut self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        for dir in [Dir::LoToHi, Dir::HiToLo] {
            let sender = self.key.sender(dir);
            let receiver = self.key.sender(dir.reverse());
            // Give up on what never came: deliver what waits behind a hole, then parse.
            let Direction { reassembler, kept } = &mut self.dirs[dir.index()];
            reassembler.skip_gap(&mut |c| kept.take(c));
            for event in kept.events() {
                match event {
                    HandshakeEvent::ClientHello(ch) => {
                        // A truncated hello (cut by the snap length) has no fingerprints.
                        let (Some((ja3_string, ja3_md5)), Some(ja4), Some(ja4_r)) =
                            (ja3(&ch), ja4(&ch), ja4_r(&ch))
                        else {
                            continue;
                        };
                        writeln!(
                            out,
                            "CH\t{}\t{ja4}\t{ja3_md5}\t{ja4_r}\t{ja3_string}",
                            pair(sender, receiver),
                        )?;
                    }
                    HandshakeEvent::ServerHello(sh) => {
                        let Some((ja3s_string, ja3s_md5)) = ja3s(&sh) else {
                            continue;
                        };
                        writeln!(
                            out,
                            "SH\t{}\t{ja3s_md5}\t{ja3s_string}",
                            pair(receiver, sender)
                        )?;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

fn pair(client: Endpoint, server: Endpoint) -> String {
    format!(
        "{}\t{}\t{}\t{}",
        client.ip, client.port, server.ip, server.port
    )
}

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: ja4dump FILE");
        return ExitCode::from(2);
    };
    let mut cap = match Capture::from_file(&path) {
        Ok(cap) => cap,
        Err(e) => {
            eprintln!("ja4dump: {}: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let link = LinkType(cap.get_datalink().0);
    let mut open: HashMap<FlowKey, usize> = HashMap::new();
    let mut connections: Vec<Connection> = Vec::new();
    let mut number = 0;
    loop {
        let packet = match cap.next_packet() {
            Ok(packet) => packet,
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => {
                eprintln!(
                    "ja4dump: {}: after packet {number}: {e}",
                    path.to_string_lossy()
                );
                break;
            }
        };
        number += 1;
        let frame = Frame {
            number,
            ts: Timestamp::from_secs_nanos(
                packet.header.ts.tv_sec,
                packet.header.ts.tv_usec * 1000,
            ),
            link,
            data: packet.data,
            orig_len: packet.header.len,
        };
        let Ok(seg) = decode(&frame) else { continue };
        let (key, dir) = FlowKey::of(&seg);
        let fresh_syn = seg.flags.syn && !seg.flags.ack;
        let index = match open.get(&key) {
            Some(&i) if !(fresh_syn && connections[i].has_data) => i,
            _ => {
                connections.push(Connection::new(key));
                open.insert(key, connections.len() - 1);
                connections.len() - 1
            }
        };
        connections[index].segment(dir, &seg);
    }
    let mut out = std::io::stdout().lock();
    for connection in connections {
        if connection.finish(&mut out).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}
