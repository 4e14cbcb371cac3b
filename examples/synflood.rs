//! Writes a capture of N half-open connections (one SYN each, distinct source addresses and
//! ports) toward a Microsoft 365 address, with one real TLS 1.3 handshake in the middle, for
//! measuring peak memory against the connection cap:
//!
//! ```sh
//! cargo run --release --example synflood -- 1000000 /tmp/flood.pcap
//! /usr/bin/time -v target/release/tlscensus read --stats /tmp/flood.pcap
//! ```

use std::io::BufWriter;

use tlscensus::synth::{self, ack, Conn, Flags, From, Packet};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u32 = args
        .next()
        .and_then(|s| s.parse().ok())
        .expect("usage: synflood N OUT.pcap");
    let out = args.next().expect("usage: synflood N OUT.pcap");
    let syn = Flags {
        syn: true,
        ..Flags::default()
    };
    let flooder = Conn::new("203.0.113.9", 1, "40.97.10.20", 443);
    let template = flooder.frame(From::Client, 0, b"", syn);
    let real = Conn::new("10.9.0.1", 40001, "40.97.10.20", 443);
    // A ClientHello is not needed to be real for memory; use a recorded-shaped record header
    // with a minimal TLS 1.2 ClientHello body.
    let hello = tlscensus::synth::membudget::client_hello(b"outlook.office365.com");
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let mut packets = Vec::with_capacity(4096);
    let mut ts = 1_741_078_800_000_000_000i64;
    let mut first = true;
    for i in 0..n {
        if i == n / 2 {
            for f in real.handshake() {
                packets.push(Packet {
                    ts_nanos: ts,
                    frame: f,
                });
            }
            packets.push(Packet {
                ts_nanos: ts,
                frame: real.frame(From::Client, 0, &hello, ack()),
            });
        }
        let mut f = template.clone();
        f[14 + 12..14 + 16].copy_from_slice(&(0xcb00_0000u32 | (i >> 16)).to_be_bytes());
        f[14 + 20..14 + 22].copy_from_slice(&((i & 0xffff) as u16).to_be_bytes());
        packets.push(Packet {
            ts_nanos: ts,
            frame: f,
        });
        ts += 1_000;
        if packets.len() >= 4096 {
            write_chunk(&mut w, &packets, first)?;
            first = false;
            packets.clear();
        }
    }
    write_chunk(&mut w, &packets, first)?;
    Ok(())
}

/// Writes packets; the pcap header only with the first chunk.
fn write_chunk(
    w: &mut impl std::io::Write,
    packets: &[Packet],
    first: bool,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    synth::write_pcap(&mut buf, packets)?;
    let body = if first { &buf[..] } else { &buf[24..] };
    w.write_all(body)
}
