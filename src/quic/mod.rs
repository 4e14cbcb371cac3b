//! QUIC handshakes (RFC 9000, 9001; version 2, RFC 9369; draft-29): the ClientHello and
//! ServerHello carried in Initial packets, whose protection any observer can remove.
//!
//! - [`initial`]: keys, header protection, AEAD, long headers.
//! - [`frames`]: frames of an Initial; the CRYPTO stream reassembled.
//! - [`flow`]: the QUIC connection table (its own cap and idle timeout), and how a
//!   connection becomes a [`crate::census::ConnectionRecord`].

// Nothing read off the wire may panic: no unwrap, expect, panic or unchecked indexing in
// the packet path (tests are exempt).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod flow;
pub mod frames;
pub mod initial;

/// Hex digits (whitespace ignored) → bytes, for tests.
#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
