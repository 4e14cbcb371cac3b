//! Writes the hostile captures of the memory budget (src/synth/membudget.rs), for measuring
//! peak memory against `--memory-limit` (README "Limits"):
//!
//! ```sh
//! cargo run --release --example memflood -- ten 1000000 /tmp/ten.pcap       # 10-byte hellos
//! cargo run --release --example memflood -- large 8192 200000 /tmp/big.pcap # 200 KB of 256 KiB
//! cargo run --release --example memflood -- snis 100000 32 200 /tmp/sni.pcap
//! /usr/bin/time -v target/release/tlscensus read --stats /tmp/ten.pcap
//! ```

use std::io::{BufWriter, Write};

use tlscensus::synth::membudget::{many_snis, partial_hellos, Hold};

const USAGE: &str =
    "usage: memflood ten N OUT | large N SENT OUT | snis CLIENTS PER_CLIENT LEN OUT";

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| -> usize { args.get(i).and_then(|s| s.parse().ok()).expect(USAGE) };
    let out = |i: usize| -> std::io::Result<BufWriter<std::fs::File>> {
        Ok(BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(args.get(i).expect(USAGE))?,
        ))
    };
    match args.first().map(String::as_str) {
        Some("ten") => {
            let mut w = out(2)?;
            partial_hellos(&mut w, num(1) as u32, Hold::TenBytes)?;
            w.flush()
        }
        Some("large") => {
            let mut w = out(3)?;
            partial_hellos(&mut w, num(1) as u32, Hold::LargeHello { sent: num(2) })?;
            w.flush()
        }
        Some("snis") => {
            let mut w = out(4)?;
            many_snis(&mut w, num(1) as u32, num(2) as u32, num(3))?;
            w.flush()
        }
        _ => panic!("{USAGE}"),
    }
}
