//! The frames of a decrypted Initial packet (RFC 9000 §19), and the CRYPTO stream they carry
//! put back in order: bounded, any order, duplicates and overlaps tolerated.

use super::initial::varint;

/// What one Initial packet's frames carried.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InitialFrames<'a> {
    /// CRYPTO frames: (offset, data).
    pub crypto: Vec<(u64, &'a [u8])>,
    /// A CONNECTION_CLOSE frame's error code (type 0x1c: a transport error; 0x0100..0x01ff is
    /// a TLS alert, RFC 9001 §4.8).
    pub close: Option<u64>,
    /// Frames stopped at something an Initial may not carry, or cut short.
    pub malformed: bool,
}

/// Reads the frames of an Initial packet's plaintext: PADDING, PING, ACK, CRYPTO and
/// CONNECTION_CLOSE are the only frames an Initial may carry (RFC 9000 §12.4); anything else
/// stops the reading (what was read stays).
pub fn parse(p: &[u8]) -> InitialFrames<'_> {
    let mut out = InitialFrames::default();
    let mut at = 0;
    while at < p.len() {
        if read_frame(p, &mut at, &mut out).is_none() {
            out.malformed = true;
            break;
        }
    }
    out
}

fn read_frame<'a>(p: &'a [u8], at: &mut usize, out: &mut InitialFrames<'a>) -> Option<()> {
    match varint(p, at)? {
        0x00 | 0x01 => {}
        ty @ (0x02 | 0x03) => {
            varint(p, at)?; // largest acknowledged
            varint(p, at)?; // ack delay
            let ranges = varint(p, at)?;
            varint(p, at)?; // first range
            for _ in 0..ranges {
                varint(p, at)?;
                varint(p, at)?;
            }
            if ty == 0x03 {
                for _ in 0..3 {
                    varint(p, at)?;
                }
            }
        }
        0x06 => {
            let offset = varint(p, at)?;
            let len = usize::try_from(varint(p, at)?).ok()?;
            let data = p.get(*at..at.checked_add(len)?)?;
            *at += len;
            out.crypto.push((offset, data));
        }
        0x1c => {
            let code = varint(p, at)?;
            varint(p, at)?; // frame type
            let len = usize::try_from(varint(p, at)?).ok()?;
            p.get(*at..at.checked_add(len)?)?;
            *at += len;
            out.close.get_or_insert(code);
        }
        _ => return None,
    }
    Some(())
}

/// Bytes of CRYPTO stream kept per direction at most: a ClientHello with a post-quantum key
/// share is under 2 KiB, the largest seen in the wild well under this.
pub const MAX_CRYPTO: usize = 64 * 1024;

/// One direction's CRYPTO stream in the Initial space, reassembled from any order.
#[derive(Debug, Default, Clone)]
pub struct CryptoStream {
    buf: Vec<u8>,
    /// Byte ranges held, sorted and merged.
    have: Vec<(usize, usize)>,
    /// Data past [`MAX_CRYPTO`] was offered and dropped.
    pub over_cap: bool,
}

impl CryptoStream {
    /// Adds one CRYPTO frame's data. Bytes beyond [`MAX_CRYPTO`] are dropped.
    pub fn add(&mut self, offset: u64, data: &[u8]) {
        let Ok(start) = usize::try_from(offset) else {
            self.over_cap = true;
            return;
        };
        if start >= MAX_CRYPTO {
            self.over_cap |= !data.is_empty();
            return;
        }
        let end = start.saturating_add(data.len()).min(MAX_CRYPTO);
        if end < start.saturating_add(data.len()) {
            self.over_cap = true;
        }
        if end <= start {
            return;
        }
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        // Bytes already held stay as first received (as the TCP reassembler does).
        let mut pos = start;
        let mut src = data.iter();
        while pos < end {
            let held = self.have.iter().find(|(s, e)| *s <= pos && pos < *e);
            match held {
                Some(&(_, e)) => {
                    let skip = e.min(end) - pos;
                    for _ in 0..skip {
                        src.next();
                    }
                    pos += skip;
                }
                None => {
                    if let (Some(b), Some(d)) = (self.buf.get_mut(pos), src.next()) {
                        *b = *d;
                    }
                    pos += 1;
                }
            }
        }
        self.have.push((start, end));
        self.have.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.have.len());
        for &(s, e) in &self.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
    }

    /// The bytes held in order from offset 0.
    pub fn contiguous(&self) -> &[u8] {
        match self.have.first() {
            Some(&(0, e)) => self.buf.get(..e).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The first handshake message, when it is all there (4-byte header included).
    pub fn first_message(&self) -> Option<&[u8]> {
        let (_, len) = self.first_header()?;
        self.contiguous().get(..4 + len)
    }

    /// The first handshake message's type and declared length, once its header is there.
    pub fn first_header(&self) -> Option<(u8, usize)> {
        let &[ty, l0, l1, l2] = self.contiguous().first_chunk::<4>()?;
        Some((
            ty,
            (usize::from(l0) << 16) | (usize::from(l1) << 8) | usize::from(l2),
        ))
    }

    /// Bytes held (memory).
    pub fn held(&self) -> usize {
        self.buf.capacity()
    }

    pub fn is_empty(&self) -> bool {
        self.have.is_empty()
    }

    pub fn clear(&mut self) {
        *self = CryptoStream::default();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::quic::hex;

    #[test]
    fn rfc_server_initial_frames() {
        let plain = hex(crate::quic::initial::tests::SERVER_PLAIN);
        let f = parse(&plain);
        assert!(!f.malformed);
        assert_eq!(f.crypto.len(), 1);
        assert_eq!(f.crypto[0].0, 0);
        assert_eq!(f.crypto[0].1.len(), 90);
        assert_eq!(f.close, None);
    }

    #[test]
    fn padding_ping_close_and_garbage() {
        let mut p = vec![0x01, 0x00, 0x00];
        p.extend_from_slice(&[0x06, 0x05, 0x02, b'h', b'i']);
        p.extend_from_slice(&[0x1c, 0x41, 0x28, 0x06, 0x00]); // crypto error: alert 40
        p.extend_from_slice(&[0x00; 10]);
        let f = parse(&p);
        assert_eq!(f.crypto, vec![(5, &b"hi"[..])]);
        assert_eq!(f.close, Some(0x128));
        assert!(!f.malformed);
        // A STREAM frame may not be in an Initial; a CRYPTO frame cut short.
        assert!(parse(&[0x08, 0x00]).malformed);
        let f = parse(&[0x06, 0x00, 0x10, 1, 2]);
        assert!(f.malformed && f.crypto.is_empty());
        // Every prefix of a valid sequence: no panic.
        for end in 0..p.len() {
            parse(&p[..end]);
        }
    }

    #[test]
    fn crypto_any_order_overlap_and_cap() {
        let msg: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let mut s = CryptoStream::default();
        s.add(200, &msg[200..]);
        assert!(s.contiguous().is_empty());
        s.add(50, &msg[50..210]);
        s.add(0, &msg[..60]);
        assert_eq!(s.contiguous(), &msg[..]);
        // A conflicting retransmission does not overwrite.
        s.add(10, &[0xff; 20]);
        assert_eq!(s.contiguous(), &msg[..]);
        s.add(MAX_CRYPTO as u64 - 1, &[1, 2]);
        assert!(s.over_cap);
        s.add(u64::MAX, &[1]);
        assert!(s.held() <= MAX_CRYPTO);
    }

    #[test]
    fn first_message_whole_only() {
        let mut s = CryptoStream::default();
        let m = [1u8, 0, 0, 3, 9, 9, 9, 7];
        s.add(0, &m[..6]);
        assert_eq!(s.first_header(), Some((1, 3)));
        assert_eq!(s.first_message(), None);
        s.add(6, &m[6..]);
        assert_eq!(s.first_message(), Some(&m[..7]));
    }
}
