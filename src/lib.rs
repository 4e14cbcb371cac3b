//! tlscensus: a passive census of TLS versions negotiated toward Microsoft 365.
//!
//! ```text
//!  capture ──Frame──▶ decode ──TcpSegment──▶ flow + reassembly ──StreamChunk──▶ tls
//!  (pcap/pcapng,      (link, IP,            (FlowKey, Dir;                    (records,
//!   stdin, live)       TCP headers)          in-order bytes per direction)     hellos)
//!        ──HandshakeEvent──▶ pipeline ──ConnectionRecord──▶ census ──&Census──▶ report
//!                            (decides a flow,               (per client IP,     (table, CSV)
//!                             m365 scope)                    verdict)
//! ```
//!
//! - [`capture`]: packets from files (directories, rotated sets, gzip/zstd) or stdin, merged
//!   in timestamp order, as [`capture::Frame`]s.
//! - [`decode`]: link layer, IPv4/IPv6, TCP → [`decode::TcpSegment`] (or a UDP datagram for
//!   QUIC/DTLS, an IP fragment) or a skip reason.
//! - [`flow`]: [`flow::FlowKey`] shared by both directions, [`flow::Dir`], [`flow::Side`].
//! - [`reassembly`]: per-direction in-order bytes with a bounded out-of-order queue.
//! - [`tls`]: records and handshake messages → ClientHello / ServerHello facts.
//! - [`starttls`]: the plaintext phase before a handshake (STARTTLS, HTTP CONNECT).
//! - [`quic`], [`dtls`]: handshakes over UDP (QUIC Initial packets, DTLS hellos), their own
//!   connection tables.
//! - [`fingerprint`]: JA4 and JA3 of a ClientHello, JA3S of a ServerHello.
//! - [`m365`]: Microsoft 365 endpoint data, prefix and host-name matching, scope.
//! - [`connection`]: how a handshake ended, from what the capture showed (pure rules).
//! - [`pipeline`]: the per-packet path; decides each connection into a record.
//! - [`census`]: records → per-client summaries and verdicts.
//! - [`report`]: terminal table, CSV, HTML page, escaping, atomic output files.
//! - [`budget`]: the one memory budget all wire-fed state is charged to (`--memory-limit`).
//! - [`stats`]: every skip and drop, by reason. [`synth`]: generated captures for tests.
//! - [`cli`], [`settings`], [`commands`]: the command line, validated, and its glue.

pub mod budget;
pub mod capture;
pub mod census;
pub mod cli;
pub mod commands;
pub mod connection;
pub mod decode;
pub mod dtls;
pub mod fingerprint;
pub mod flow;
pub mod logging;
pub mod m365;
pub mod pipeline;
pub mod progress;
pub mod quic;
pub mod reassembly;
pub mod report;
pub mod settings;
pub mod starttls;
pub mod stats;
pub mod synth;
pub mod tls;
