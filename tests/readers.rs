//! The native reader against libpcap's: the same frames from every fixture libpcap can read,
//! and all of `mixed.pcapng`, which libpcap refuses (its interfaces differ in link type).

mod common;

use std::path::PathBuf;

use tlscensus::capture::native::NativeReader;
use tlscensus::capture::offline::{OfflineReader, ReadError, Source};
use tlscensus::capture::{Frame, LinkType, Timestamp};

use common::{fixture, fixture_captures};

/// A frame copied out of its reader.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Owned {
    number: u64,
    ts: Timestamp,
    link: i32,
    data: Vec<u8>,
    orig_len: u32,
}

/// libpcap hands out DLT_RAW (12 on Linux) for LINKTYPE_RAW (101): the same link type.
fn canonical(link: LinkType) -> i32 {
    match link.0 {
        12 | 14 => 101,
        n => n,
    }
}

/// Every frame `next_frame` gives from `r`, then the error that stopped reading, if any.
fn read_all<R>(
    r: &mut R,
    next_frame: fn(&mut R) -> Result<Option<Frame<'_>>, ReadError>,
) -> (Vec<Owned>, Option<ReadError>) {
    let mut frames = Vec::new();
    loop {
        match next_frame(r) {
            Ok(Some(f)) => frames.push(Owned {
                number: f.number,
                ts: f.ts,
                link: canonical(f.link),
                data: f.data.to_vec(),
                orig_len: f.orig_len,
            }),
            Ok(None) => return (frames, None),
            Err(e) => return (frames, Some(e)),
        }
    }
}

fn read_native(r: &mut NativeReader) -> (Vec<Owned>, Option<ReadError>) {
    read_all(r, NativeReader::next_frame)
}

fn read_libpcap(r: &mut OfflineReader) -> (Vec<Owned>, Option<ReadError>) {
    read_all(r, OfflineReader::next_frame)
}

#[test]
fn native_reader_gives_libpcaps_frames_for_every_fixture() {
    let mut compared = 0;
    let mut refused = Vec::new();
    for path in fixture_captures() {
        let source = Source::File(path.clone());
        let name = path.display();
        let mut libpcap = OfflineReader::open(&source).unwrap();
        let (want, want_err) = read_libpcap(&mut libpcap);
        if want.is_empty() {
            // libpcap opens mixed.pcapng but refuses its second interface.
            assert!(want_err.is_some(), "{name}: no packets");
            refused.push(path.file_name().unwrap().to_string_lossy().into_owned());
            continue;
        }
        let mut native = NativeReader::open(&source).unwrap();
        let (got, got_err) = read_native(&mut native);
        assert_eq!(got.len(), want.len(), "{name}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{name}: packet {}", w.number);
        }
        assert_eq!(native.packets(), want.len() as u64, "{name}");
        // Both stop at the same place, for the same reason.
        assert_eq!(
            got_err.as_ref().map(ReadError::after_packets),
            want_err.as_ref().map(ReadError::after_packets),
            "{name}: {got_err:?} vs {want_err:?}"
        );
        let size = std::fs::metadata(&path).unwrap().len();
        match got_err {
            None => assert_eq!(native.bytes_read(), size, "{name}"),
            Some(ReadError::CutShort { end, .. }) => assert_eq!(end, size, "{name}"),
            Some(e) => panic!("{name}: {e}"),
        }
        compared += 1;
    }
    assert_eq!(refused, ["mixed.pcapng"]);
    assert!(compared >= 15, "only {compared} fixtures compared");
}

#[test]
fn truncated_fixture_names_packet_and_offset() {
    let path = fixture("truncated.pcap");
    let mut native = NativeReader::open(&Source::File(path.clone())).unwrap();
    let (frames, err) = read_native(&mut native);
    assert_eq!(frames.len(), 17);
    assert_eq!(
        err.unwrap().to_string(),
        format!(
            "{}: capture is cut short after packet 17 (it ends at byte 2840, inside the 16-byte \
             record header + 66-byte packet that starts at byte 2778)",
            path.display()
        )
    );
}

/// `tshark -r fixtures/mixed.pcapng | wc -l` (TShark 4.0.17).
const MIXED_PACKETS: usize = 90;

#[test]
fn mixed_pcapng_is_read_whole() {
    let path = fixture("mixed.pcapng");
    let source = Source::File(path.clone());
    // What this reader is for: libpcap refuses the file at its first packet.
    let mut libpcap = OfflineReader::open(&source).unwrap();
    let refusal = match libpcap.next_frame() {
        Ok(_) => panic!("libpcap reads mixed.pcapng now"),
        Err(e) => e.to_string(),
    };
    assert!(
        refusal.contains("different from the type of the first interface"),
        "{refusal}"
    );

    let mut native = NativeReader::open(&source).unwrap();
    let (mut got, err) = read_native(&mut native);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), MIXED_PACKETS);
    assert_eq!(native.bytes_read(), 16_728);
    assert!(got.windows(2).all(|w| w[0].ts <= w[1].ts), "merged by time");
    let count = |link: LinkType| got.iter().filter(|f| f.link == link.0).count();
    // capinfos: Ethernet 54 (three interfaces), NULL 18, Linux SLL2 18.
    assert_eq!(count(LinkType::ETHERNET), 54);
    assert_eq!(count(LinkType::NULL), 18);
    assert_eq!(count(LinkType::LINUX_SLL2), 18);

    // Each packet is one of its five sources' packets, as libpcap reads them: same bytes, same
    // link type, same time (the nanosecond one on its if_tsresol 9 interface).
    let mut want = Vec::new();
    for name in [
        "tls10-exchange.pcap",
        "tls12-sll2.pcap",
        "tls12-nanosec.pcap",
        "tls12-null.pcap",
        "tls13-ipv6-exchange.pcap",
    ] {
        let mut r = OfflineReader::open(&Source::File(fixture(name))).unwrap();
        let (frames, err) = read_libpcap(&mut r);
        assert!(err.is_none(), "{name}");
        want.extend(frames);
    }
    assert!(want.iter().any(|f| f.ts.0 % 1000 != 0), "a nanosecond time");
    let key = |f: &Owned| (f.ts, f.link, f.data.clone(), f.orig_len);
    let mut want: Vec<_> = want.iter().map(key).collect();
    got.sort_by_key(key);
    want.sort();
    assert_eq!(got.iter().map(key).collect::<Vec<_>>(), want);
}

/// Opens a reader and reads every frame, panicking on an error: (frames, bytes, seconds taken,
/// the opening included).
fn time_reading<R>(
    open: impl FnOnce() -> R,
    next_frame: fn(&mut R) -> Result<Option<Frame<'_>>, ReadError>,
) -> (u64, u64, f64) {
    let start = std::time::Instant::now();
    let mut r = open();
    let (mut n, mut bytes) = (0u64, 0u64);
    while let Some(f) = next_frame(&mut r).unwrap() {
        n += 1;
        bytes += f.data.len() as u64;
    }
    (n, bytes, start.elapsed().as_secs_f64())
}

/// Read speed of both readers on a big capture named by `TLSCENSUS_BENCH_FILE` (one link type,
/// so libpcap reads it too). Run: `TLSCENSUS_BENCH_FILE=/tmp/big.pcap cargo test --release
/// --test readers -- --ignored --nocapture read_speed`.
#[test]
#[ignore = "needs a big capture in TLSCENSUS_BENCH_FILE"]
fn read_speed() {
    let Some(path) = std::env::var_os("TLSCENSUS_BENCH_FILE") else {
        panic!("set TLSCENSUS_BENCH_FILE");
    };
    let source = Source::File(PathBuf::from(&path));
    let size = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
    for round in 0..2 {
        let (n, bytes, libpcap) = time_reading(
            || OfflineReader::open(&source).unwrap(),
            OfflineReader::next_frame,
        );
        let (m, mbytes, native) = time_reading(
            || NativeReader::open(&source).unwrap(),
            NativeReader::next_frame,
        );
        assert_eq!((n, bytes), (m, mbytes));
        println!(
            "round {round}: {size:.0} MB, {n} frames: libpcap {:.0} MB/s ({libpcap:.2} s), \
             native {:.0} MB/s ({native:.2} s)",
            size / libpcap,
            size / native
        );
    }
}
