//! Capture conditions for the verdict tests: recorded handshakes replayed as scripted TCP
//! sessions (sequence and acknowledgment numbers right), then cut the way span ports and
//! rotated captures cut them: one direction only, a capture that ends, a clock that jumps, a
//! connection the client aborts, a reset from outside the window, a port reused.
//!
//! Test support only: nothing here runs when captures are analysed.

use std::net::IpAddr;

use pcap_parser::{LegacyPcapSlice, PcapBlockOwned};

use super::{ethernet, Flags, From, Packet};

/// A recorded fixture's TCP payloads in capture order, by sender (port 443 is the server).
pub fn recorded(pcap: &[u8]) -> Vec<(From, Vec<u8>)> {
    let capture = LegacyPcapSlice::from_slice(pcap).expect("fixture is a classic pcap");
    let mut out = Vec::new();
    for block in capture {
        let Ok(PcapBlockOwned::Legacy(b)) = block else {
            panic!("fixture has a bad record");
        };
        let packet = etherparse::SlicedPacket::from_ethernet(b.data).expect("fixture frame");
        let Some(etherparse::TransportSlice::Tcp(tcp)) = packet.transport else {
            continue;
        };
        if tcp.payload().is_empty() {
            continue;
        }
        let from = if tcp.destination_port() == 443 {
            From::Client
        } else {
            From::Server
        };
        out.push((from, tcp.payload().to_vec()));
    }
    out
}

/// OpenSSL TLS 1.0 client and server (fixtures/tls10-exchange.pcap): ClientHello, server
/// flight, client key exchange + ChangeCipherSpec + Finished, ..., application data.
pub fn tls10_exchange() -> Vec<(From, Vec<u8>)> {
    recorded(include_bytes!("../../fixtures/tls10-exchange.pcap"))
}

/// OpenSSL TLS 1.2 (fixtures/tls12-sharepoint.pcap).
pub fn tls12_sharepoint() -> Vec<(From, Vec<u8>)> {
    recorded(include_bytes!("../../fixtures/tls12-sharepoint.pcap"))
}

/// The first payload `from` sent in a recorded exchange (its hello, or its first flight).
pub fn first_of(exchange: &[(From, Vec<u8>)], from: From) -> Vec<u8> {
    exchange
        .iter()
        .find(|(f, _)| *f == from)
        .map(|(_, p)| p.clone())
        .expect("the exchange has a payload from that side")
}

/// A plaintext TLS alert record (TLS 1.0 record version).
pub fn alert(level: u8, description: u8) -> Vec<u8> {
    vec![21, 3, 1, 0, 2, level, description]
}

/// One scripted TCP connection: each packet carries the right sequence number and
/// acknowledges everything the other side sent before it.
#[derive(Debug, Clone)]
pub struct Session {
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub client_isn: u32,
    pub server_isn: u32,
    /// Bytes (SYN and FIN included) each side sent so far.
    sent: [u32; 2],
    /// Capture time of the next packet (ns).
    pub t: i64,
    /// Time between packets (ns).
    pub step: i64,
    packets: Vec<(From, Packet)>,
}

fn idx(from: From) -> usize {
    match from {
        From::Client => 0,
        From::Server => 1,
    }
}

fn peer(from: From) -> From {
    match from {
        From::Client => From::Server,
        From::Server => From::Client,
    }
}

impl Session {
    /// A connection from `client:port` to `server:443` starting at `t0` (ns), packets 1 ms
    /// apart.
    pub fn new(client: &str, port: u16, server: &str, t0: i64) -> Session {
        Session {
            client: (client.parse().expect("client address"), port),
            server: (server.parse().expect("server address"), 443),
            client_isn: 1_000 + u32::from(port) * 7,
            server_isn: 5_000_000 + u32::from(port) * 13,
            sent: [0; 2],
            t: t0,
            step: 1_000_000,
            packets: Vec::new(),
        }
    }

    /// A segment from `from` with these flags and payload, then time moves on by `step`.
    pub fn segment(&mut self, from: From, flags: Flags, payload: &[u8]) -> &mut Self {
        let (src, dst, isn) = match from {
            From::Client => (self.client, self.server, self.client_isn),
            From::Server => (self.server, self.client, self.server_isn),
        };
        let peer_isn = match from {
            From::Client => self.server_isn,
            From::Server => self.client_isn,
        };
        let seq = isn.wrapping_add(self.sent[idx(from)]);
        let peer_sent = self.sent[idx(peer(from))];
        let ack = (flags.ack && peer_sent > 0).then(|| peer_isn.wrapping_add(peer_sent));
        let ip = super::tcp_ip_packet(src, dst, seq, ack, flags, payload);
        self.sent[idx(from)] = self.sent[idx(from)]
            .wrapping_add(payload.len() as u32 + u32::from(flags.syn) + u32::from(flags.fin));
        self.packets.push((
            from,
            Packet {
                ts_nanos: self.t,
                frame: ethernet(&ip),
            },
        ));
        self.t += self.step;
        self
    }

    /// SYN, SYN/ACK, ACK.
    pub fn open(&mut self) -> &mut Self {
        self.segment(From::Client, super::syn(), b"")
            .segment(From::Server, super::syn_ack(), b"")
            .segment(From::Client, ack(), b"")
    }

    /// Data from `from` (with ACK).
    pub fn data(&mut self, from: From, payload: &[u8]) -> &mut Self {
        self.segment(from, ack(), payload)
    }

    /// A bare ACK from `from`.
    pub fn ack(&mut self, from: From) -> &mut Self {
        self.segment(from, ack(), b"")
    }

    /// FIN/ACK from `from`.
    pub fn fin(&mut self, from: From) -> &mut Self {
        self.segment(
            from,
            Flags {
                fin: true,
                ack: true,
                ..Flags::default()
            },
            b"",
        )
    }

    /// RST/ACK from `from`.
    pub fn rst(&mut self, from: From) -> &mut Self {
        self.segment(
            from,
            Flags {
                rst: true,
                ack: true,
                ..Flags::default()
            },
            b"",
        )
    }

    /// Replays a recorded exchange's payloads, each answered by the other side's ACK.
    pub fn replay(&mut self, exchange: &[(From, Vec<u8>)]) -> &mut Self {
        for (from, payload) in exchange {
            self.data(*from, payload);
        }
        self
    }

    /// Lets `nanos` of capture time pass before the next packet.
    pub fn wait(&mut self, nanos: i64) -> &mut Self {
        self.t += nanos;
        self
    }

    /// Every packet so far.
    pub fn packets(&self) -> Vec<Packet> {
        self.packets.iter().map(|(_, p)| p.clone()).collect()
    }

    /// The packets one side sent (a capture of one direction).
    pub fn sent_by(&self, from: From) -> Vec<Packet> {
        self.packets
            .iter()
            .filter(|(f, _)| *f == from)
            .map(|(_, p)| p.clone())
            .collect()
    }
}

fn ack() -> Flags {
    super::ack()
}

/// Packets of several sessions merged in time order (stable: equal times keep their order).
pub fn merge(sessions: &[&Session]) -> Vec<Packet> {
    let mut all: Vec<Packet> = sessions.iter().flat_map(|s| s.packets()).collect();
    all.sort_by_key(|p| p.ts_nanos);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_and_acknowledgment_numbers_follow_the_bytes() {
        let mut s = Session::new("10.0.0.1", 50000, "40.97.10.20", 0);
        s.open().data(From::Client, b"hello").ack(From::Server);
        let p = s.packets();
        let tcp = |i: usize| {
            let sl = etherparse::SlicedPacket::from_ethernet(&p[i].frame).unwrap();
            let Some(etherparse::TransportSlice::Tcp(t)) = sl.transport else {
                panic!()
            };
            (t.sequence_number(), t.acknowledgment_number(), t.ack())
        };
        let (c, sv) = (s.client_isn, s.server_isn);
        assert_eq!(tcp(0), (c, 0, false));
        assert_eq!(tcp(1), (sv, c + 1, true));
        assert_eq!(tcp(2), (c + 1, sv + 1, true));
        assert_eq!(tcp(3), (c + 1, sv + 1, true));
        assert_eq!(tcp(4), (sv + 1, c + 6, true));
        assert_eq!(p[4].ts_nanos, 4_000_000);
    }

    #[test]
    fn recorded_exchanges_start_with_hellos() {
        let x = tls10_exchange();
        assert_eq!(x[0].0, From::Client);
        assert_eq!(&x[0].1[..2], &[0x16, 0x03]);
        assert_eq!(first_of(&x, From::Server)[0], 0x16);
    }
}
