//! Captures as a short snap length makes them (`tcpdump -s 96` on a span port): every frame
//! cut to its first bytes, its original length kept in the record header. tcpdump cannot cut
//! again when reading a file, so the tests make such captures from the recorded fixtures here.

use std::io::{self, Write};
use std::path::Path;

use pcap::{Capture, Precision};

/// Writes `input` (pcap or pcapng, one link type) to `output` as a classic pcap (nanosecond
/// timestamps, same link type) whose frames are cut to `snaplen` bytes, each record keeping
/// the frame's original length. Returns the number of packets written.
pub fn resnap(input: &Path, output: &Path, snaplen: u32) -> anyhow::Result<usize> {
    let mut cap = Capture::from_file_with_precision(input, Precision::Nano)?;
    let linktype = cap.get_datalink().0 as u32;
    let mut out = io::BufWriter::new(std::fs::File::create(output)?);
    write_header(&mut out, snaplen, linktype)?;
    let mut n = 0;
    loop {
        let packet = match cap.next_packet() {
            Ok(p) => p,
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => return Err(e.into()),
        };
        let h = packet.header;
        let keep = packet.data.len().min(snaplen as usize);
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&(h.ts.tv_sec as u32).to_le_bytes());
        // With nanosecond precision libpcap puts nanoseconds in tv_usec.
        rec[4..8].copy_from_slice(&(h.ts.tv_usec as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(keep as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&h.len.to_le_bytes());
        out.write_all(&rec)?;
        out.write_all(&packet.data[..keep])?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// Classic pcap file header: nanosecond magic, version 2.4, this snap length and link type.
fn write_header(out: &mut impl Write, snaplen: u32, linktype: u32) -> io::Result<()> {
    out.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&[0; 8])?;
    out.write_all(&snaplen.to_le_bytes())?;
    out.write_all(&linktype.to_le_bytes())
}
