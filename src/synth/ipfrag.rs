//! IP fragment pathologies and floods: IPv6 fragmentation, hand-placed IPv4 fragments
//! (overlaps, duplicates), and the captures that measure the defragmenter's bounds
//! (`examples/fragflood.rs`).

use std::io::{self, Write};

use super::{ethernet, write_pcap_header, write_pcap_record};

/// One IPv4 fragment: `offset` in 8-byte units, `more` the MF flag, checksum filled in.
pub fn ipv4_fragment(
    src: [u8; 4],
    dst: [u8; 4],
    id: u16,
    proto: u8,
    offset: u16,
    more: bool,
    payload: &[u8],
) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let flags_off = offset | if more { 0x2000 } else { 0 };
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&flags_off.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let sum = super::ipv4_checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// Splits an IPv6 packet without extension headers into fragments (RFC 8200 §4.5) carrying
/// at most `chunk` bytes (rounded down to a multiple of 8) of its payload, identification
/// `id`, in order.
pub fn fragment_ipv6(packet: &[u8], chunk: usize, id: u32) -> Vec<Vec<u8>> {
    let next_header = packet[6];
    let payload = &packet[40..];
    let chunk = (chunk / 8).max(1) * 8;
    let mut out = vec![];
    for (i, piece) in payload.chunks(chunk).enumerate() {
        let mut p = packet[..40].to_vec();
        p[4..6].copy_from_slice(&((8 + piece.len()) as u16).to_be_bytes());
        p[6] = 44;
        let offset = (i * chunk / 8) as u16;
        let more = (i + 1) * chunk < payload.len();
        p.extend_from_slice(&[next_header, 0]);
        p.extend_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(piece);
        out.push(p);
    }
    out
}

/// The captures `examples/fragflood.rs` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flood {
    /// 8-byte fragments, 16 per datagram, 4 KiB apart (offsets 65,520 down to 4,080): what a
    /// defragmenter that sizes its buffer by the highest offset seen holds 64 KiB for, one
    /// page written in each 4 KiB.
    Tiny,
    /// One 8-byte first fragment per datagram, each of a datagram never completed: once the
    /// table is full, every fragment makes room.
    Ids,
    /// 8-byte fragments, 1,024 per datagram (the most one datagram may hold), 16 bytes
    /// apart: the memory cap filled with the smallest fragments.
    Dense,
    /// 1,480-byte fragments, 43 per datagram (all but the last of a 65,535-byte datagram):
    /// the memory cap filled with realistic fragments.
    Full,
    /// Unfragmented TCP packets of one connection, 8 bytes of payload each: the baseline.
    Plain,
}

/// Writes `n` packets of a [`Flood`] as a classic pcap, 1 µs apart.
pub fn write_flood(kind: Flood, n: u64, out: &mut impl Write) -> io::Result<()> {
    write_pcap_header(out)?;
    let t0 = 1_741_078_800_000_000_000i64;
    let dst = [40, 97, 10, 20];
    for i in 0..n {
        let ts = t0 + i as i64 * 1_000;
        let ip = match kind {
            Flood::Tiny => {
                let datagram = i / 16;
                let j = (i % 16) as u16;
                let src = [198, 18, (datagram >> 24) as u8, (datagram >> 16) as u8];
                ipv4_fragment(
                    src,
                    dst,
                    datagram as u16,
                    6,
                    8190 - 512 * j,
                    true,
                    &[0xaa; 8],
                )
            }
            Flood::Dense => {
                let datagram = i / 1024;
                let j = (i % 1024) as u16;
                let src = [198, 18, (datagram >> 24) as u8, (datagram >> 16) as u8];
                ipv4_fragment(src, dst, datagram as u16, 6, 2 * j, true, &[0xaa; 8])
            }
            Flood::Full => {
                let datagram = i / 43;
                let j = (i % 43) as u16;
                let src = [198, 18, (datagram >> 24) as u8, (datagram >> 16) as u8];
                ipv4_fragment(src, dst, datagram as u16, 6, j * 185, true, &[0xaa; 1480])
            }
            Flood::Ids => {
                let src = [198, 18, (i >> 24) as u8, (i >> 16) as u8];
                ipv4_fragment(src, dst, i as u16, 6, 0, true, &[0xaa; 8])
            }
            Flood::Plain => {
                let mut tcp = vec![0; 20];
                tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
                tcp[2..4].copy_from_slice(&443u16.to_be_bytes());
                tcp[4..8].copy_from_slice(&(1000 + 8 * i as u32).to_be_bytes());
                tcp[12] = 0x50;
                tcp[13] = 0x10;
                tcp.extend_from_slice(&[0xaa; 8]);
                ipv4_fragment([198, 18, 0, 1], dst, i as u16, 6, 0, false, &tcp)
            }
        };
        write_pcap_record(out, ts, &ethernet(&ip))?;
    }
    Ok(())
}
