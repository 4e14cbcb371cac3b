//! Run statistics: every packet skipped, every flow dropped or left undecided, by reason.
//!
//! Per-packet trouble is never an error: it is counted here and summarised at the end, so a
//! user knows what the census may have missed.

use std::fmt::Write as _;

use crate::decode::ipfrag::FragStats;
use crate::decode::SkipReason;

/// Counters of one run (over all inputs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    pub files: u64,
    /// Files found in directories and skipped: not captures by their first bytes (a README,
    /// a script).
    pub files_not_captures: u64,
    pub packets: u64,
    pub bytes: u64,
    /// Packets that gave no TCP segment, by [`SkipReason`] (index = position in `SkipReason::ALL`).
    pub skipped: [u64; SkipReason::ALL.len()],
    pub tcp_segments: u64,
    /// TCP connections tracked (including port reuse).
    pub tcp_flows: u64,
    pub client_hellos: u64,
    pub server_hellos: u64,
    pub hello_retry_requests: u64,
    /// Connections reported (a ClientHello or ServerHello was seen).
    pub tls_connections: u64,
    /// Of those, toward the scope (Microsoft 365 unless `--scope all`).
    pub in_scope_connections: u64,
    /// Reported with a ClientHello but no ServerHello.
    pub no_server_hello: u64,
    /// Connections whose bytes were not TLS (or not at a record boundary).
    pub not_tls_flows: u64,
    /// Encrypted traffic with no hello seen: the handshake happened before the capture started.
    pub started_before_capture: u64,
    /// Connections that started with a hello that could not be parsed (too large, malformed)
    /// and showed no other: not reported, and not counted as not TLS.
    pub unparsable_hello_flows: u64,
    /// Hello messages bigger than the handshake buffer.
    pub hello_too_large: u64,
    /// Hello messages that could not be parsed.
    pub malformed_hellos: u64,
    /// Hellos of reported connections cut by the snap length (read as far as they go; their
    /// versions may be lower bounds).
    pub hellos_cut_by_snaplen: u64,
    /// Hellos of reported connections cut by bytes lost before the capture.
    pub hellos_cut_by_loss: u64,
    /// The sender of the ClientHello was not the sender of the SYN.
    pub role_mismatch: u64,
    pub retransmitted_segments: u64,
    pub conflicting_overlaps: u64,
    /// Out-of-order segments dropped because the queue of their direction was full.
    pub segments_over_cap: u64,
    /// Gaps (lost or uncaptured bytes) inside a handshake.
    pub handshake_gaps: u64,
    /// Flows removed because the table was full.
    pub flows_evicted: u64,
    /// Flows removed after the idle timeout.
    pub flows_expired: u64,
    /// Connections not tallied because their client was new and the census was full
    /// (`--max-clients`, or half the memory limit).
    pub clients_dropped: u64,
    /// Connections given up while their handshake was partial because memory ran short
    /// (`--memory-limit`): reported `incomplete`.
    pub handshakes_given_up: u64,
    /// The memory budget (`--memory-limit`), bytes.
    pub memory_limit: u64,
    /// The most memory the budget ever counted, bytes.
    pub memory_peak: u64,
    /// Packets of connections evicted unfinished, after their eviction (not started again).
    pub packets_after_eviction: u64,
    /// TCP resets ignored because their sequence number was outside the window.
    pub resets_out_of_window: u64,
    /// Consecutive packets more than an hour apart (forward or back): the capture's clock
    /// jumped; such gaps do not age connections.
    pub clock_jumps: u64,
    /// The first jump: the timestamps before and after it.
    pub first_clock_jump: Option<(crate::capture::Timestamp, crate::capture::Timestamp)>,
    /// IP fragments and their reassembly.
    pub fragments: FragStats,
    pub quic: crate::quic::flow::QuicStats,
    pub dtls: crate::dtls::DtlsStats,
}

impl RunStats {
    pub fn skip(&mut self, reason: SkipReason) {
        if let Some(i) = SkipReason::ALL.iter().position(|r| *r == reason) {
            self.skipped[i] += 1;
        }
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }

    /// The multi-line summary printed with `--stats`.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let mut line = |k: &str, v: u64| {
            let _ = writeln!(s, "  {k:<42} {v}");
        };
        line("files read", self.files);
        if self.files_not_captures > 0 {
            line("files skipped (not captures)", self.files_not_captures);
        }
        line("packets read", self.packets);
        line("bytes read", self.bytes);
        line("packets not decoded as TCP", self.skipped_total());
        for (reason, n) in SkipReason::ALL.iter().zip(self.skipped) {
            if n > 0 {
                line(&format!("  {}", reason.label()), n);
            }
        }
        line("TCP segments", self.tcp_segments);
        line("TCP connections seen", self.tcp_flows);
        line("ClientHellos", self.client_hellos);
        line("ServerHellos", self.server_hellos);
        line("HelloRetryRequests", self.hello_retry_requests);
        line("TLS connections reported", self.tls_connections);
        line("  in scope", self.in_scope_connections);
        line("  without ServerHello", self.no_server_hello);
        line("connections not TLS", self.not_tls_flows);
        line(
            "connections started before capture",
            self.started_before_capture,
        );
        line(
            "connections with an unparsable hello",
            self.unparsable_hello_flows,
        );
        line("hellos too large", self.hello_too_large);
        line("hellos malformed", self.malformed_hellos);
        line("hellos cut by the snap length", self.hellos_cut_by_snaplen);
        line("hellos cut by lost bytes", self.hellos_cut_by_loss);
        line("client/server role mismatches", self.role_mismatch);
        line("retransmitted segments", self.retransmitted_segments);
        line("conflicting overlaps", self.conflicting_overlaps);
        line("segments dropped (queue full)", self.segments_over_cap);
        line("gaps inside handshakes", self.handshake_gaps);
        line("connections evicted (table full)", self.flows_evicted);
        line("connections expired (idle)", self.flows_expired);
        line("connections of clients over the cap", self.clients_dropped);
        line("handshakes given up (memory)", self.handshakes_given_up);
        line("memory limit (bytes)", self.memory_limit);
        line("memory used at most (bytes)", self.memory_peak);
        line(
            "packets of evicted connections",
            self.packets_after_eviction,
        );
        line("resets outside the window", self.resets_out_of_window);
        line("clock jumps", self.clock_jumps);
        line("IP fragments", self.fragments.fragments);
        line("  datagrams reassembled", self.fragments.reassembled);
        line(
            "  fragments dropped (caps)",
            self.fragments.dropped_over_cap,
        );
        line("  datagrams expired incomplete", self.fragments.expired);
        line("  datagrams evicted (oldest, caps)", self.fragments.evicted);
        line("  datagrams dropped (overlap)", self.fragments.overlapping);
        line("  duplicate fragments ignored", self.fragments.duplicates);
        line("  fragments invalid", self.fragments.invalid);
        line(
            "  fragments of dropped datagrams",
            self.fragments.after_drop,
        );
        let q = &self.quic;
        line("QUIC datagrams", q.datagrams);
        line("  QUIC handshakes", q.connections);
        line("  Initial packets opened", q.initials_opened);
        line("  Initial packets not opened", q.initials_unopened);
        line("  QUIC ClientHellos", q.client_hellos);
        line("  QUIC ServerHellos", q.server_hellos);
        line("  Retry packets", q.retries);
        line("  Version Negotiation packets", q.version_negotiations);
        line("  closed in an Initial (CONNECTION_CLOSE)", q.closed);
        line("  Handshake/1-RTT packets (opaque)", q.handshake_packets);
        line("  0-RTT packets (opaque)", q.zero_rtt_packets);
        line("  packets of other versions", q.unknown_version);
        line("  CRYPTO data dropped (caps)", q.crypto_over_cap);
        line("  handshakes evicted (table full)", q.evicted);
        line("  handshakes expired (idle)", q.expired);
        line("  handshakes without a readable hello", q.without_hello);
        let d = &self.dtls;
        line("DTLS datagrams", d.datagrams);
        line("  DTLS handshakes", d.connections);
        line("  DTLS ClientHellos", d.client_hellos);
        line("  DTLS ServerHellos", d.server_hellos);
        line("  HelloVerifyRequests", d.hello_verify_requests);
        line("  DTLS alerts", d.alerts);
        line("  DTLS messages too large", d.fragments_over_cap);
        line("  DTLS records malformed", d.malformed);
        line("  DTLS handshakes evicted (table full)", d.evicted);
        line("  DTLS handshakes expired (idle)", d.expired);
        s
    }

    /// The warning, said once at the end of a run, that the capture's clock jumped.
    pub fn clock_warning(&self) -> Option<String> {
        let (from, to) = self.first_clock_jump?;
        Some(format!(
            "the capture's clock jumped {} (first from {} to {}); connections were not aged \
             across the jumps",
            if self.clock_jumps == 1 {
                "once".to_string()
            } else {
                format!("{} times", self.clock_jumps)
            },
            from.rfc3339(),
            to.rfc3339()
        ))
    }

    /// One line for the table footer: what the census may have missed.
    pub fn missed_line(&self) -> Option<String> {
        let mut parts = vec![];
        let mut add = |n: u64, what: &str| {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        };
        add(self.no_server_hello, "without ServerHello");
        add(
            self.hellos_cut_by_snaplen,
            "hellos cut by the snap length (versions marked + are lower bounds)",
        );
        add(self.hellos_cut_by_loss, "hellos cut by lost bytes");
        add(self.started_before_capture, "started before capture");
        add(self.handshake_gaps, "handshake gaps");
        add(self.flows_evicted, "evicted");
        add(self.segments_over_cap, "segments over cap");
        add(
            self.hello_too_large + self.malformed_hellos,
            "unparsable hellos",
        );
        add(self.clients_dropped, "connections of clients over the cap");
        add(
            self.handshakes_given_up,
            "handshakes given up (memory, reported incomplete)",
        );
        add(
            self.fragments.dropped_over_cap
                + self.fragments.expired
                + self.fragments.evicted
                + self.fragments.overlapping
                + self.fragments.invalid,
            "IP fragments dropped",
        );
        if parts.is_empty() {
            None
        } else {
            Some(parts.join(", "))
        }
    }
}
