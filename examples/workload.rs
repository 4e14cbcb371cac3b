//! Writes a realistic capture of about the requested size, and beside it the census that
//! `tlscensus read --scope all --csv` must give (its first nine columns), for benchmarks and
//! end-to-end checks. Deterministic: the same size and seed give the same bytes.
//!
//! ```sh
//! cargo run --release --example workload -- --size 1G --seed 7 --out /tmp/w.pcap
//! target/release/tlscensus read -q --scope all --csv - /tmp/w.pcap | cut -d, -f1-9 \
//!   | diff - /tmp/w.pcap.expected.csv
//! ```
//!
//! What the capture holds: see `tlscensus::synth::workload`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use tlscensus::synth::workload::{self, Options};

const USAGE: &str = "usage: workload --size SIZE [--seed N] --out FILE.pcap
  SIZE: bytes, or with a K, M or G suffix (1G = 2^30 bytes)
  writes FILE.pcap and FILE.pcap.expected.csv";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workload: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut size = None;
    let mut seed = 7;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value\n{USAGE}"));
        match a.as_str() {
            "--size" => {
                let v = value()?;
                size = Some(workload::parse_size(&v).ok_or(format!("bad size {v:?}\n{USAGE}"))?);
            }
            "--seed" => {
                let v = value()?;
                seed = v.parse().map_err(|_| format!("bad seed {v:?}\n{USAGE}"))?;
            }
            "--out" => out = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let (Some(size), Some(out)) = (size, out) else {
        return Err(USAGE.to_string());
    };
    let expected_path = format!("{out}.expected.csv");
    let started = std::time::Instant::now();
    let file = File::create(&out).map_err(|e| format!("{out}: {e}"))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let (summary, expected) = workload::generate(&Options { size, seed }, &mut w)
        .and_then(|r| w.flush().map(|()| r))
        .map_err(|e| format!("{out}: {e}"))?;
    let mut e =
        BufWriter::new(File::create(&expected_path).map_err(|e| format!("{expected_path}: {e}"))?);
    expected
        .write_csv(&mut e)
        .and_then(|()| e.flush())
        .map_err(|e| format!("{expected_path}: {e}"))?;
    eprintln!(
        "workload: wrote {out} ({:.1} MiB, {} packets, {:.1} s of capture time) in {:.1} s",
        summary.bytes as f64 / (1 << 20) as f64,
        summary.packets,
        summary.duration_nanos as f64 / 1e9,
        started.elapsed().as_secs_f64()
    );
    eprintln!("workload: {summary:#?}");
    eprintln!("workload: expected census in {expected_path}");
    Ok(())
}
