//! Hostile captures for the memory budget (README "Limits"): many connections that each hold
//! a partial hello, and many clients each sending many long SNIs. Written as a stream (a
//! million connections need no memory here), to a classic pcap with nanosecond timestamps.
//! Every connection goes to 40.97.10.20:443 (Exchange Online), from 10.0.0.0/8 (client `i`
//! is 10.(i>>16).(i>>8).i, port 40000 + i>>24).

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};

use super::{ack, write_pcap_header, write_pcap_record, Conn, Flags, From};

/// What each connection of [`partial_hellos`] sends after its SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// One 10-byte segment: a TLS record header announcing 16 KiB, a ClientHello header
    /// announcing 16,380 bytes, one body byte. Nothing more.
    TenBytes,
    /// A ClientHello announcing 256 KiB less its 4-byte header (the largest accepted),
    /// `sent` bytes of it sent (records of 16 KiB, segments of 1,448 bytes), the rest never.
    LargeHello { sent: usize },
}

/// Client `i`'s connection to the Exchange address.
pub fn conn(i: u32) -> Conn {
    Conn {
        client: (
            IpAddr::V4(Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8)),
            40_000 + (i >> 24) as u16,
        ),
        server: (IpAddr::V4(Ipv4Addr::new(40, 97, 10, 20)), 443),
        client_isn: 1_000,
        server_isn: 5_000_000,
    }
}

/// The first `sent` bytes (as TLS records) of a ClientHello whose header announces a body of
/// `body_len` bytes: TLS 1.2, 32,767 cipher suites, a padding extension, then filler. Cut
/// before its supported_versions, it reads as a hello offering "TLS 1.2 or later".
fn hello_prefix(body_len: usize, sent: usize) -> Vec<u8> {
    let mut msg = vec![1];
    msg.extend_from_slice(&(body_len as u32).to_be_bytes()[1..]);
    msg.extend_from_slice(&[3, 3]);
    msg.extend_from_slice(&[7; 32]);
    msg.push(0);
    msg.extend_from_slice(&0xfffeu16.to_be_bytes());
    for _ in 0..0x7fff {
        msg.extend_from_slice(&[0xc0, 0x2f]);
    }
    msg.extend_from_slice(&[1, 0, 0xff, 0xff, 0x00, 0x15, 0xff, 0xfb]);
    msg.resize(4 + body_len, 0);
    let mut out = Vec::new();
    for rec in msg.chunks(16_384) {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&(rec.len() as u16).to_be_bytes());
        out.extend_from_slice(rec);
        if out.len() >= sent {
            break;
        }
    }
    out.truncate(sent);
    out
}

/// Writes `n` connections, each a SYN then what `hold` says, all at once (1 µs apart), none
/// ever finished: at the end of the capture all `n` are open.
pub fn partial_hellos(out: &mut impl Write, n: u32, hold: Hold) -> io::Result<()> {
    let payload = match hold {
        Hold::TenBytes => vec![22, 3, 1, 0x40, 0, 1, 0, 0x3f, 0xfc, 3],
        Hold::LargeHello { sent } => hello_prefix(256 * 1024 - 4, sent),
    };
    let syn = Flags {
        syn: true,
        ..Flags::default()
    };
    write_pcap_header(out)?;
    let mut ts = 1_741_078_800_000_000_000i64;
    for i in 0..n {
        let c = conn(i);
        write_pcap_record(out, ts, &c.frame(From::Client, 0, b"", syn))?;
        for (off, seg) in Conn::segments(&payload, 1448, 0) {
            ts += 1_000;
            write_pcap_record(out, ts, &c.frame(From::Client, off, &seg, ack()))?;
        }
        ts += 1_000;
    }
    Ok(())
}

/// A ClientHello record (TLS 1.2 offered, one suite) naming `sni`.
pub fn client_hello(sni: &[u8]) -> Vec<u8> {
    let list_len = sni.len() + 3;
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&((list_len + 2) as u16).to_be_bytes());
    ext.extend_from_slice(&(list_len as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(sni);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.extend_from_slice(&[0, 0, 2, 0xc0, 0x2f, 1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// The `j`th long SNI: `sni_len` bytes, distinct per `j`, ending in `.office365.com`.
pub fn long_sni(j: u32, sni_len: usize) -> Vec<u8> {
    let tail = format!("-{j:05}.office365.com");
    let mut s = vec![b'a'; sni_len.saturating_sub(tail.len())];
    s.extend_from_slice(tail.as_bytes());
    s
}

/// Writes `clients` × `per_client` connections: each client sends `per_client` ClientHellos,
/// each naming a distinct SNI of `sni_len` bytes, and each is reset by the server at once
/// (decided `reset`, its state freed). Clients are interleaved (every client's first SNI,
/// then every client's second...), so all clients are known while their sets grow.
pub fn many_snis(
    out: &mut impl Write,
    clients: u32,
    per_client: u32,
    sni_len: usize,
) -> io::Result<()> {
    let rst = Flags {
        rst: true,
        ack: true,
        ..Flags::default()
    };
    write_pcap_header(out)?;
    let mut ts = 1_741_078_800_000_000_000i64;
    for j in 0..per_client {
        let hello = client_hello(&long_sni(j, sni_len));
        for i in 0..clients {
            let mut c = conn(i);
            c.client.1 = 1024 + j as u16;
            for f in c.handshake() {
                write_pcap_record(out, ts, &f)?;
            }
            write_pcap_record(out, ts, &c.frame(From::Client, 0, &hello, ack()))?;
            write_pcap_record(out, ts, &c.frame(From::Server, 0, b"", rst))?;
            ts += 1_000;
        }
    }
    Ok(())
}
