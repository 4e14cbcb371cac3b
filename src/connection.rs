//! Connection stage: what the packets of one TCP connection showed → how its handshake ended
//! ([`Outcome`]) and which side ended it.
//!
//! Pure: the pipeline gathers the [`Evidence`] while it follows a flow and calls [`decide`]
//! once. The rules here are the README's outcome table; each is a row of the tests below. The
//! principle is that a failure is claimed only where the capture shows it: a direction that was
//! not captured, bytes the other side acknowledged but the capture lacks, a capture that ended
//! or a connection forgotten before the server had time to answer all give `incomplete`.

use crate::capture::Timestamp;
use crate::census::{ConnectionRecord, Outcome, Transport};
use crate::fingerprint::Fingerprinter;
use crate::flow::{Endpoint, Side};
use crate::m365::Classification;
use crate::starttls::StartTls;
use crate::tls::{ClientHelloInfo, ServerHelloInfo};

/// Capture time (ns) the server must stay silent after a ClientHello, while the capture goes
/// on, before the connection is `no_reply`.
pub const NO_REPLY_NANOS: i64 = 10 * 1_000_000_000;

/// The first event that ended a handshake which had not gone through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// A TCP FIN.
    Fin,
    /// A TCP RST (in window).
    Rst,
    /// A plaintext TLS alert with this description (0: close_notify).
    Alert(u8),
}

/// Why the pipeline decides a connection now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A packet of the connection settled it (an ending event, the client going on, ...).
    Packet,
    /// No packet for `--idle-timeout` of capture time.
    Idle,
    /// The flow table was full: the connection was forgotten unfinished.
    Evicted,
    /// A new SYN on the same addresses and ports started another connection.
    Reused,
    /// The capture ended (end of the inputs, or `live` stopped).
    EndOfInput,
}

/// What the capture showed of one connection, in TLS roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    pub client_hello: bool,
    pub server_hello: bool,
    /// The server refused the STARTTLS (or CONNECT) command, and no handshake followed.
    pub starttls_refused: bool,
    /// The client sent its ChangeCipherSpec or encrypted data.
    pub client_went_on: bool,
    /// The first ending event (alert, FIN or RST) and who sent it.
    pub first_end: Option<(Side, End)>,
    /// Capture time (ns) from the ClientHello to the first ending event, or to the decision when
    /// there was none; `None` without a ClientHello.
    pub after_client_hello: Option<i64>,
    /// Packets were captured from the client / from the server.
    pub client_seen: bool,
    pub server_seen: bool,
    /// The server sent payload bytes (any, TLS or not).
    pub server_data: bool,
    /// The other side acknowledged bytes of the client / of the server that the capture does
    /// not hold (a direction captured in part only).
    pub client_bytes_missing: bool,
    pub server_bytes_missing: bool,
    pub cause: Cause,
}

/// How the handshake ended, and who ended it (`None`: it went through, or the capture does not
/// show who).
pub fn decide(e: &Evidence) -> (Outcome, Option<Side>) {
    if e.starttls_refused {
        return (Outcome::StartTlsRefused, Some(Side::Server));
    }
    if e.server_hello && e.client_went_on {
        return (Outcome::Established, None);
    }
    // An alert is explicit: it means what it says even when only its direction was captured.
    if let Some((side, End::Alert(desc @ 1..))) = e.first_end {
        return (Outcome::Alert(desc), Some(side));
    }
    // The capture lacks a direction, or a part of one: how it ended is not shown. A client that
    // went on without a ServerHello in the capture had one (it was not captured).
    if !e.client_seen
        || !e.server_seen
        || e.client_bytes_missing
        || e.server_bytes_missing
        || (e.client_went_on && !e.server_hello)
    {
        return (Outcome::Incomplete, None);
    }
    // The server stayed silent after the ClientHello for long enough while the capture went on.
    let silent = e.client_hello
        && !e.server_hello
        && !e.server_data
        && e.after_client_hello.is_some_and(|t| t >= NO_REPLY_NANOS);
    match e.first_end {
        Some((Side::Client, _)) if silent => (Outcome::NoReply, Some(Side::Client)),
        Some((side, End::Fin | End::Alert(_))) => (Outcome::Closed, Some(side)),
        Some((side, End::Rst)) => (Outcome::Reset, Some(side)),
        None if e.cause != Cause::Evicted && silent => (Outcome::NoReply, None),
        None => (Outcome::Incomplete, None),
    }
}

/// One decided handshake, whatever carried it: what its record is made of.
pub struct Decided<'a> {
    pub ts: Timestamp,
    pub client: Endpoint,
    pub server: Endpoint,
    pub client_hello: Option<&'a ClientHelloInfo>,
    pub server_hello: Option<&'a ServerHelloInfo>,
    pub outcome: Outcome,
    pub ended_by: Option<Side>,
    pub transport: Transport,
    pub starttls: Option<StartTls>,
    pub connect_host: Option<&'a [u8]>,
}

/// The `--connections` record of a decided handshake: the one place the hellos' facts
/// (versions and their lower bounds, cipher, resumption, fingerprints) become a record, for
/// TCP, QUIC and DTLS alike. JA4's first character names the transport (FoxIO: `t`, `q`, `d`).
pub fn record(d: Decided<'_>, class: &Classification, fp: &mut Fingerprinter) -> ConnectionRecord {
    let (ch, sh) = (d.client_hello, d.server_hello);
    let client_fp = ch.and_then(|c| fp.client(c));
    let ja4_first = match d.transport {
        Transport::Tcp => 't',
        Transport::Quic => 'q',
        Transport::Dtls => 'd',
    };
    ConnectionRecord {
        ts: d.ts,
        client: d.client,
        server: d.server,
        sni: ch.and_then(|c| c.sni.clone()),
        offered_max: ch.map(|c| c.max_offered()),
        offered_max_at_least: ch.is_some_and(|c| c.max_offered_is_lower_bound()),
        negotiated: sh.map(|s| s.negotiated()),
        negotiated_at_least: sh.is_some_and(|s| s.negotiated_is_lower_bound()),
        cipher: sh.and_then(|s| s.cipher()),
        m365: class.in_scope(),
        m365_match: class.match_label(),
        service_areas: class.service_areas.clone(),
        endpoint_ids: class.set_ids.clone(),
        outcome: d.outcome,
        offered_versions: ch
            .map(|c| {
                if c.offered_versions.is_empty() {
                    vec![c.legacy_version]
                } else {
                    c.offered_versions.clone()
                }
            })
            .unwrap_or_default(),
        resumed: sh.is_some_and(|s| crate::tls::is_resumption(ch, s)),
        starttls: d.starttls,
        ja4: client_fp.as_ref().map(|f| match f.ja4.strip_prefix('t') {
            Some(rest) => format!("{ja4_first}{rest}"),
            None => f.ja4.clone(),
        }),
        ja3: client_fp.map(|f| f.ja3),
        ja3s: sh.and_then(|s| fp.server(s)),
        ended_by: d.ended_by,
        connect_host: d.connect_host.map(<[u8]>::to_vec),
        transport: d.transport,
    }
}

/// Whether a connection that ended so counts as failed: evidence that the server refused or
/// ignored the client. A handshake the client ended itself is not (it may have been stopped,
/// timed out on its own, or refused the server's certificate).
pub fn failed(outcome: Outcome, ended_by: Option<Side>) -> bool {
    match outcome {
        Outcome::NoReply | Outcome::StartTlsRefused => true,
        Outcome::Alert(_) | Outcome::Closed | Outcome::Reset => ended_by == Some(Side::Server),
        Outcome::Established | Outcome::Incomplete => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// A connection both of whose directions were captured: a ClientHello, then nothing yet.
    fn base() -> Evidence {
        Evidence {
            client_hello: true,
            server_hello: false,
            starttls_refused: false,
            client_went_on: false,
            first_end: None,
            after_client_hello: Some(0),
            client_seen: true,
            server_seen: true,
            server_data: false,
            client_bytes_missing: false,
            server_bytes_missing: false,
            cause: Cause::EndOfInput,
        }
    }

    #[test]
    fn ja4_names_the_transport() {
        let hello = crate::synth::quic::client_hello("outlook.office365.com", 1500);
        let ch = crate::tls::hello::parse_client_hello(&hello).unwrap();
        let scope = crate::m365::Scope::new(crate::m365::EndpointData::embedded(), &[], &[]);
        let class = scope.classify("40.97.10.20".parse().unwrap(), ch.sni.as_deref());
        let mut fp = Fingerprinter::new();
        let at = |ip: &str| Endpoint {
            ip: ip.parse().unwrap(),
            port: 443,
        };
        for (transport, first) in [
            (Transport::Tcp, 't'),
            (Transport::Quic, 'q'),
            (Transport::Dtls, 'd'),
        ] {
            let rec = record(
                Decided {
                    ts: Timestamp(0),
                    client: at("10.1.0.1"),
                    server: at("40.97.10.20"),
                    client_hello: Some(&ch),
                    server_hello: None,
                    outcome: Outcome::Incomplete,
                    ended_by: None,
                    transport,
                    starttls: None,
                    connect_host: None,
                },
                &class,
                &mut fp,
            );
            let ja4 = rec.ja4.unwrap();
            assert!(ja4.starts_with(first), "{transport:?}: {ja4}");
            assert_eq!(rec.transport, transport);
            assert_eq!(rec.sni.as_deref(), Some(&b"outlook.office365.com"[..]));
            assert_eq!(rec.negotiated, None);
        }
    }

    #[test]
    fn outcome_table() {
        use Outcome::*;
        use Side::{Client, Server};
        let b = base();
        let hello_done = Evidence {
            server_hello: true,
            server_data: true,
            ..b
        };
        #[rustfmt::skip]
        let rows: Vec<(&str, Evidence, Outcome, Option<Side>, bool)> = vec![
            ("went through", Evidence { client_went_on: true, ..hello_done }, Established, None, false),
            ("STARTTLS refused", Evidence { client_hello: false, starttls_refused: true, ..b }, StartTlsRefused, Some(Server), true),
            ("server alert", Evidence { first_end: Some((Server, End::Alert(70))), server_data: true, ..b }, Alert(70), Some(Server), true),
            ("server alert, only the server captured", Evidence { first_end: Some((Server, End::Alert(70))), client_seen: false, client_hello: false, ..b }, Alert(70), Some(Server), true),
            ("client alert after the ServerHello", Evidence { first_end: Some((Client, End::Alert(42))), ..hello_done }, Alert(42), Some(Client), false),
            ("server FIN right after the ClientHello", Evidence { first_end: Some((Server, End::Fin)), ..b }, Closed, Some(Server), true),
            ("server RST", Evidence { first_end: Some((Server, End::Rst)), ..b }, Reset, Some(Server), true),
            ("client gave up at once (FIN)", Evidence { first_end: Some((Client, End::Fin)), after_client_hello: Some(S), ..b }, Closed, Some(Client), false),
            ("client gave up at once (RST)", Evidence { first_end: Some((Client, End::Rst)), after_client_hello: Some(S), ..b }, Reset, Some(Client), false),
            ("client gave up after 10 s of silence", Evidence { first_end: Some((Client, End::Rst)), after_client_hello: Some(10 * S), ..b }, NoReply, Some(Client), true),
            ("client close_notify", Evidence { first_end: Some((Client, End::Alert(0))), ..hello_done }, Closed, Some(Client), false),
            ("silent server, connection forgotten when idle", Evidence { after_client_hello: Some(120 * S), cause: Cause::Idle, ..b }, NoReply, None, true),
            ("silent server, capture ended 0.1 ms later", Evidence { after_client_hello: Some(100_000), ..b }, Incomplete, None, false),
            ("silent server 30 s, then the capture ended", Evidence { after_client_hello: Some(30 * S), ..b }, NoReply, None, true),
            ("evicted after 30 s", Evidence { after_client_hello: Some(30 * S), cause: Cause::Evicted, ..b }, Incomplete, None, false),
            ("server direction never captured", Evidence { server_seen: false, first_end: Some((Client, End::Fin)), client_went_on: true, after_client_hello: Some(60 * S), ..b }, Incomplete, None, false),
            ("client direction never captured", Evidence { client_seen: false, client_hello: false, after_client_hello: None, first_end: Some((Server, End::Fin)), ..hello_done }, Incomplete, None, false),
            ("client acked server bytes not captured", Evidence { server_bytes_missing: true, after_client_hello: Some(60 * S), cause: Cause::Idle, ..b }, Incomplete, None, false),
            ("server acked client bytes not captured", Evidence { client_bytes_missing: true, first_end: Some((Server, End::Fin)), ..hello_done }, Incomplete, None, false),
            ("client went on, ServerHello not captured", Evidence { client_went_on: true, first_end: Some((Client, End::Fin)), after_client_hello: Some(60 * S), ..b }, Incomplete, None, false),
            ("ServerHello, then the capture ended", Evidence { after_client_hello: Some(60 * S), ..hello_done }, Incomplete, None, false),
            ("server answered in plaintext, then closed", Evidence { server_data: true, first_end: Some((Server, End::Fin)), after_client_hello: Some(60 * S), ..b }, Closed, Some(Server), true),
            ("port reused after silence", Evidence { after_client_hello: Some(20 * S), cause: Cause::Reused, ..b }, NoReply, None, true),
        ];
        for (name, e, outcome, by, fails) in rows {
            assert_eq!(decide(&e), (outcome, by), "{name}");
            assert_eq!(failed(outcome, by), fails, "{name}");
        }
    }
}
