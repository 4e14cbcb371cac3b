//! Writes a capture that measures the IP defragmenter's bounds (see README, Limits):
//!
//! ```sh
//! cargo run --release --example fragflood -- tiny 65536 /tmp/tiny.pcap    # memory
//! cargo run --release --example fragflood -- dense 2097152 /tmp/dense.pcap  # memory cap
//! cargo run --release --example fragflood -- full 100000 /tmp/full.pcap   # memory cap
//! cargo run --release --example fragflood -- ids 1000000 /tmp/ids.pcap    # full table
//! cargo run --release --example fragflood -- plain 1000000 /tmp/plain.pcap  # baseline
//! /usr/bin/time -v target/release/tlscensus read --stats /tmp/tiny.pcap
//! ```
//!
//! `tiny`: 8-byte fragments, 16 per datagram, 4 KiB apart; `dense`: 8-byte fragments, 1,024 per datagram; `full`: 1,480-byte fragments, 43 per datagram,
//! never complete; `ids`: one
//! fragment per datagram, never completed; `plain`: unfragmented TCP packets of one
//! connection.

use std::io::{BufWriter, Write};

use tlscensus::synth::ipfrag::{write_flood, Flood};

fn main() -> std::io::Result<()> {
    const USAGE: &str = "usage: fragflood tiny|dense|full|ids|plain N OUT.pcap";
    let mut args = std::env::args().skip(1);
    let kind = match args.next().as_deref() {
        Some("tiny") => Flood::Tiny,
        Some("ids") => Flood::Ids,
        Some("dense") => Flood::Dense,
        Some("full") => Flood::Full,
        Some("plain") => Flood::Plain,
        _ => panic!("{USAGE}"),
    };
    let n: u64 = args.next().and_then(|s| s.parse().ok()).expect(USAGE);
    let out = args.next().expect(USAGE);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    write_flood(kind, n, &mut w)?;
    w.flush()
}
