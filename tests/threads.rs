//! `read` on one thread and with its read-ahead thread: the same packets in the same order,
//! so the same outputs, byte for byte, and the same messages and exit code.

mod common;

use std::fs;
use std::io::Write;

use common::*;
use tlscensus::capture::inputs::{self, Opened};
use tlscensus::capture::offline::Source;
use tlscensus::synth::{write_pcap, Packet};

/// Runs `read` with these inputs on one thread or two; returns (exit code, stderr, every
/// output file's bytes).
fn read_all_outputs(inputs: &[String], single: bool) -> (i32, String, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let mut args: Vec<String> = vec!["read".into(), "-q".into(), "--stats".into()];
    args.extend(["--scope".into(), "all".into()]);
    args.extend(["--csv".into(), out("clients.csv")]);
    args.extend(["--connections".into(), out("connections.csv")]);
    args.extend(["--ndjson".into(), out("records.ndjson")]);
    if single {
        args.push("--single-thread".into());
    }
    args.extend(inputs.iter().cloned());
    let o = tlscensus(&args);
    let files = ["clients.csv", "connections.csv", "records.ndjson"]
        .iter()
        .map(|f| fs::read(dir.path().join(f)).unwrap_or_default())
        .collect();
    (o.status.code().unwrap_or(-1), stderr(&o), files)
}

#[test]
fn every_fixture_in_one_run_gives_the_same_outputs_on_one_thread_and_two() {
    let inputs: Vec<String> = fixture_captures()
        .iter()
        .map(|f| p(f).to_string())
        .collect();
    assert!(inputs.len() >= 20, "{inputs:?}");
    let two = read_all_outputs(&inputs, false);
    let one = read_all_outputs(&inputs, true);
    assert_eq!(one, two);
    // fixtures/truncated.pcap ends inside a packet: exit 3, the rest still counted.
    assert_eq!(two.0, 3, "{}", two.1);
    assert!(
        two.1.contains("truncated.pcap: capture is cut short"),
        "{}",
        two.1
    );
    // Not an empty comparison: every fixture's connections are there (mixed.pcapng holds
    // five connections of other fixtures at the same instants: merged, each is one).
    let rows = csv_rows(&String::from_utf8(two.2[1].clone()).unwrap());
    assert!(rows.len() >= 35, "{} connection rows", rows.len());
    let files_read = format!("  {:<42} {}\n", "files read", inputs.len());
    assert!(two.1.contains(&files_read), "{}", two.1);
}

#[test]
fn damaged_and_compressed_inputs_end_the_same_way_on_one_thread_and_two() {
    let dir = tempfile::tempdir().unwrap();
    let whole = fs::read(fixture("sample-m365.pcapng")).unwrap();
    // Cut inside a packet two thirds in: packets before it count, a warning names the file.
    let cut = dir.path().join("cut.pcapng");
    fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let gz = dir.path().join("tls10.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&fs::read(fixture("tls10-exchange.pcap")).unwrap())
        .unwrap();
    fs::write(&gz, enc.finish().unwrap()).unwrap();
    let inputs = vec![
        p(&fixture("tls13-teams.pcap")).to_string(),
        p(&cut).to_string(),
        p(&gz).to_string(),
    ];
    let two = read_all_outputs(&inputs, false);
    let one = read_all_outputs(&inputs, true);
    assert_eq!(one, two);
    assert_eq!(two.0, 3, "{}", two.1);
    assert!(
        two.1.contains("cut.pcapng") && two.1.contains("results cover the packets before it"),
        "{}",
        two.1
    );
    let conns = String::from_utf8(two.2[1].clone()).unwrap();
    assert!(
        conns.contains("TLSv1.0") && conns.contains("TLSv1.3"),
        "{conns}"
    );
}

#[test]
fn inputs_that_overlap_in_time_give_the_same_outputs_on_one_thread_and_two() {
    // sample-m365.pcapng dealt packet by packet into three files (so the merge changes input
    // at every packet), a copy of one of them (read once, with a warning) and a fixture cut
    // short two thirds in (its warning comes where the merge meets the cut).
    let dir = tempfile::tempdir().unwrap();
    let Opened { mut reader, .. } =
        inputs::open(&Source::File(fixture("sample-m365.pcapng"))).unwrap();
    let mut hands = [Vec::new(), Vec::new(), Vec::new()];
    let mut i = 0;
    while let Some(f) = reader.next_frame().unwrap() {
        hands[i % 3].push(Packet {
            ts_nanos: f.ts.0,
            frame: f.data.to_vec(),
        });
        i += 1;
    }
    let mut inputs = Vec::new();
    for (h, packets) in hands.iter().enumerate() {
        let path = dir.path().join(format!("hand{h}.pcap"));
        let mut out = Vec::new();
        write_pcap(&mut out, packets).unwrap();
        fs::write(&path, out).unwrap();
        inputs.push(p(&path).to_string());
    }
    let copy = dir.path().join("copy.pcap");
    fs::copy(dir.path().join("hand1.pcap"), &copy).unwrap();
    inputs.push(p(&copy).to_string());
    let whole = fs::read(fixture("service-areas.pcapng")).unwrap();
    let cut = dir.path().join("cut.pcapng");
    fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    inputs.push(p(&cut).to_string());

    let two = read_all_outputs(&inputs, false);
    let one = read_all_outputs(&inputs, true);
    assert_eq!(one, two);
    assert_eq!(two.0, 3, "{}", two.1);
    let same = format!(
        "tlscensus: warning: {}: same content as {}: read once\n",
        p(&copy),
        inputs[1]
    );
    assert!(two.1.starts_with(&same), "{}", two.1);
    assert!(
        two.1.contains("cut.pcapng: capture is cut short"),
        "{}",
        two.1
    );
    // The three hands make the whole: its connections, each once.
    let alone = read_all_outputs(&[p(&fixture("sample-m365.pcapng")).to_string()], true);
    let rows = |o: &(i32, String, Vec<Vec<u8>>)| {
        csv_rows(&String::from_utf8(o.2[1].clone()).unwrap())
            .into_iter()
            .filter(|r| r["client_ip"].starts_with("10.1.0.5") || r["client_ip"] == "fd00:1::55")
            .count()
    };
    assert_eq!(rows(&two), rows(&alone));
    assert!(rows(&alone) >= 8);
}
