//! QUIC Initial packet protection (RFC 9001 §5, RFC 9369 §3.3): the keys every observer can
//! derive from the client's first Destination Connection ID, header protection, and the
//! AEAD_AES_128_GCM payload protection. Versions 1, 2 and draft-29.
//!
//! Only Initial packets are ever opened: their keys are public by design. Handshake, 0-RTT
//! and 1-RTT packets are protected with secrets from the key exchange and stay opaque.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::Aes128;
use aes_gcm::aead::AeadInOut;
use aes_gcm::Aes128Gcm;
use hkdf::Hkdf;
use sha2::Sha256;

/// The QUIC versions whose Initial packets are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 9000, 0x00000001.
    V1,
    /// RFC 9369, 0x6b3343cf.
    V2,
    /// draft-ietf-quic-transport-29, 0xff00001d.
    Draft29,
}

/// Wire value of QUIC version 2.
pub const V2_WIRE: u32 = 0x6b33_43cf;

impl Version {
    pub fn from_wire(v: u32) -> Option<Version> {
        match v {
            1 => Some(Version::V1),
            V2_WIRE => Some(Version::V2),
            0xff00_001d => Some(Version::Draft29),
            _ => None,
        }
    }

    pub fn wire(self) -> u32 {
        match self {
            Version::V1 => 1,
            Version::V2 => V2_WIRE,
            Version::Draft29 => 0xff00_001d,
        }
    }

    fn salt(self) -> &'static [u8; 20] {
        match self {
            Version::V1 => &[
                0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
            ],
            Version::V2 => &[
                0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
                0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
            ],
            Version::Draft29 => &[
                0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61,
                0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
            ],
        }
    }

    /// Labels of the key, IV and header-protection key.
    fn labels(self) -> [&'static [u8]; 3] {
        match self {
            Version::V2 => [b"quicv2 key", b"quicv2 iv", b"quicv2 hp"],
            Version::V1 | Version::Draft29 => [b"quic key", b"quic iv", b"quic hp"],
        }
    }

    /// The long-header packet type of the two type bits (RFC 9000 §17.2, RFC 9369 §3.2).
    pub fn packet_type(self, first: u8) -> PacketType {
        let bits = (first >> 4) & 0x03;
        match (self, bits) {
            (Version::V2, 0b01) => PacketType::Initial,
            (Version::V2, 0b10) => PacketType::ZeroRtt,
            (Version::V2, 0b11) => PacketType::Handshake,
            (Version::V2, _) => PacketType::Retry,
            (_, 0b00) => PacketType::Initial,
            (_, 0b01) => PacketType::ZeroRtt,
            (_, 0b10) => PacketType::Handshake,
            (_, _) => PacketType::Retry,
        }
    }

    /// The two type bits of `ty` in this version (for the generator).
    pub fn type_bits(self, ty: PacketType) -> u8 {
        let v1 = match ty {
            PacketType::Initial => 0,
            PacketType::ZeroRtt => 1,
            PacketType::Handshake => 2,
            PacketType::Retry => 3,
        };
        match self {
            Version::V2 => (v1 + 1) & 3,
            _ => v1,
        }
    }
}

/// Long-header packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &Hkdf<Sha256>, label: &[u8], out: &mut [u8]) -> bool {
    let Ok(len) = u16::try_from(out.len()) else {
        return false;
    };
    let Ok(label_len) = u8::try_from(label.len() + 6) else {
        return false;
    };
    let len = len.to_be_bytes();
    prk.expand_multi_info(&[&len, &[label_len], b"tls13 ", label, &[0]], out)
        .is_ok()
}

/// The client and server initial secrets of a connection whose client chose `dcid`.
pub fn initial_secrets(version: Version, dcid: &[u8]) -> ([u8; 32], [u8; 32]) {
    let (_, initial) = Hkdf::<Sha256>::extract(Some(version.salt()), dcid);
    let mut client = [0u8; 32];
    let mut server = [0u8; 32];
    expand_label(&initial, b"client in", &mut client);
    expand_label(&initial, b"server in", &mut server);
    (client, server)
}

/// The packet protection keys of one direction.
#[derive(Clone)]
pub struct Keys {
    aead: Aes128Gcm,
    iv: [u8; 12],
    hp: Aes128,
    /// Raw key material, for tests.
    pub raw: ([u8; 16], [u8; 12], [u8; 16]),
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

impl Keys {
    /// The keys of a secret (RFC 9001 §5.1).
    pub fn from_secret(version: Version, secret: &[u8; 32]) -> Keys {
        let [lk, liv, lhp] = version.labels();
        let prk = Hkdf::<Sha256>::from_prk(secret).unwrap_or_else(|_| Hkdf::new(None, secret));
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        let mut hp = [0u8; 16];
        expand_label(&prk, lk, &mut key);
        expand_label(&prk, liv, &mut iv);
        expand_label(&prk, lhp, &mut hp);
        Keys {
            aead: Aes128Gcm::new(&key.into()),
            iv,
            hp: Aes128::new(&hp.into()),
            raw: (key, iv, hp),
        }
    }

    /// The header-protection mask of a 16-byte sample.
    pub fn mask(&self, sample: &[u8; 16]) -> [u8; 16] {
        let mut block = (*sample).into();
        self.hp.encrypt_block(&mut block);
        block.into()
    }

    fn nonce(&self, pn: u64) -> [u8; 12] {
        let mut nonce = self.iv;
        for (n, p) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        nonce
    }

    /// Decrypts `buf` (ciphertext followed by the 16-byte tag) in place; the plaintext length.
    pub fn open(&self, pn: u64, aad: &[u8], buf: &mut [u8]) -> Option<usize> {
        let n = buf.len().checked_sub(16)?;
        let (data, tag) = buf.split_at_mut(n);
        let tag: [u8; 16] = (*tag).try_into().ok()?;
        self.aead
            .decrypt_inout_detached(&self.nonce(pn).into(), aad, data.into(), &tag.into())
            .ok()?;
        Some(n)
    }

    /// Encrypts `buf` in place and returns the tag (for the generator).
    pub fn seal(&self, pn: u64, aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
        self.aead
            .encrypt_inout_detached(&self.nonce(pn).into(), aad, buf.into())
            .map(Into::into)
            .unwrap_or([0; 16])
    }
}

/// Both directions' Initial keys of a connection.
#[derive(Debug, Clone)]
pub struct InitialKeys {
    pub version: Version,
    pub client: Keys,
    pub server: Keys,
}

impl InitialKeys {
    pub fn new(version: Version, dcid: &[u8]) -> InitialKeys {
        let (c, s) = initial_secrets(version, dcid);
        InitialKeys {
            version,
            client: Keys::from_secret(version, &c),
            server: Keys::from_secret(version, &s),
        }
    }
}

/// Reads a variable-length integer (RFC 9000 §16) at `*at`, moving past it.
pub fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let first = *b.get(*at)?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(*at..*at + len)?;
    let mut v = u64::from(first & 0x3f);
    for x in bytes.iter().skip(1) {
        v = (v << 8) | u64::from(*x);
    }
    *at += len;
    Some(v)
}

/// One long-header packet of a datagram, its fields borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongHeader<'a> {
    /// The first byte, still protected.
    pub first: u8,
    /// The version field (0: Version Negotiation).
    pub version: u32,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// `None` for Version Negotiation and versions this reader does not know.
    pub ty: Option<PacketType>,
    /// The token of an Initial (the Retry token echoed), empty otherwise.
    pub token: &'a [u8],
    /// Offset of the packet number in the packet (Initial, 0-RTT, Handshake).
    pub pn_offset: usize,
    /// The packet's length within the datagram (coalesced packets follow it).
    pub len: usize,
}

/// Connection IDs are at most 20 bytes in QUIC v1/v2 (RFC 9000 §17.2); 255 in the
/// version-independent header.
pub const MAX_CID: usize = 20;

/// Parses the long header at the start of `d`. `None`: not a long header, or cut short.
/// Packets of an unknown version, Retry and Version Negotiation run to the datagram's end.
pub fn parse_long(d: &[u8]) -> Option<LongHeader<'_>> {
    let first = *d.first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(*d.get(1..5)?.first_chunk()?);
    let mut at = 5;
    let dcid_len = usize::from(*d.get(at)?);
    let dcid = d.get(at + 1..at + 1 + dcid_len)?;
    at += 1 + dcid_len;
    let scid_len = usize::from(*d.get(at)?);
    let scid = d.get(at + 1..at + 1 + scid_len)?;
    at += 1 + scid_len;
    let known = Version::from_wire(version);
    let whole = |ty| {
        Some(LongHeader {
            first,
            version,
            dcid,
            scid,
            ty,
            token: &[],
            pn_offset: at,
            len: d.len(),
        })
    };
    let Some(v) = known else {
        return whole(None);
    };
    if first & 0x40 == 0 || dcid_len > MAX_CID || scid_len > MAX_CID {
        return None;
    }
    let ty = v.packet_type(first);
    let mut token: &[u8] = &[];
    match ty {
        PacketType::Retry => return whole(Some(ty)),
        PacketType::Initial => {
            let tlen = usize::try_from(varint(d, &mut at)?).ok()?;
            token = d.get(at..at.checked_add(tlen)?)?;
            at += tlen;
        }
        PacketType::ZeroRtt | PacketType::Handshake => {}
    }
    let length = usize::try_from(varint(d, &mut at)?).ok()?;
    let end = at.checked_add(length)?;
    if end > d.len() || length < 20 {
        return None;
    }
    Some(LongHeader {
        first,
        version,
        dcid,
        scid,
        ty: Some(ty),
        token,
        pn_offset: at,
        len: end,
    })
}

/// The full packet number of a truncated one (RFC 9000 §A.3), `largest`: the largest seen in
/// this space.
pub fn decode_pn(largest: Option<u64>, truncated: u64, pn_len: usize) -> u64 {
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let win = 1u64 << (8 * pn_len as u32);
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | truncated;
    if candidate.saturating_add(hwin) <= expected && candidate < (1 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// Removes header protection and decrypts one Initial packet (`packet`: exactly the packet,
/// `h`: its parsed header). Returns the packet number and the plaintext frames. `None`: the
/// keys do not open it (another connection's, damaged, or cut short).
pub fn open_initial(
    keys: &Keys,
    packet: &[u8],
    h: &LongHeader<'_>,
    largest: Option<u64>,
) -> Option<(u64, Vec<u8>)> {
    let sample: [u8; 16] = *packet
        .get(h.pn_offset + 4..h.pn_offset + 20)?
        .first_chunk()?;
    let mask = keys.mask(&sample);
    let first = h.first ^ (mask[0] & 0x0f);
    let pn_len = usize::from(first & 0x03) + 1;
    let mut buf = packet.get(..h.len)?.to_vec();
    *buf.first_mut()? = first;
    let mut truncated = 0u64;
    for i in 0..pn_len {
        let b = buf.get_mut(h.pn_offset + i)?;
        *b ^= *mask.get(1 + i)?;
        truncated = (truncated << 8) | u64::from(*b);
    }
    let pn = decode_pn(largest, truncated, pn_len);
    let (aad, body) = buf.split_at_mut(h.pn_offset + pn_len);
    let n = keys.open(pn, aad, body)?;
    let plain = body.get(..n)?.to_vec();
    Some((pn, plain))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::quic::hex;

    const DCID: &str = "8394c8f03e515708";

    #[test]
    fn rfc9001_a1_keys() {
        let dcid = hex(DCID);
        let (c, s) = initial_secrets(Version::V1, &dcid);
        assert_eq!(
            c.to_vec(),
            hex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea")
        );
        assert_eq!(
            s.to_vec(),
            hex("3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b")
        );
        let k = InitialKeys::new(Version::V1, &dcid);
        assert_eq!(
            k.client.raw.0.to_vec(),
            hex("1f369613dd76d5467730efcbe3b1a22d")
        );
        assert_eq!(k.client.raw.1.to_vec(), hex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(
            k.client.raw.2.to_vec(),
            hex("9f50449e04a0e810283a1e9933adedd2")
        );
        assert_eq!(
            k.server.raw.0.to_vec(),
            hex("cf3a5331653c364c88f0f379b6067e37")
        );
        assert_eq!(k.server.raw.1.to_vec(), hex("0ac1493ca1905853b0bba03e"));
        assert_eq!(
            k.server.raw.2.to_vec(),
            hex("c206b8d9b9f0f37644430b490eeaa314")
        );
        // A.2: the client's header-protection mask of its sample.
        let mask = k
            .client
            .mask(&hex("d1b1c98dd7689fb8ec11d242b123dc9b").try_into().unwrap());
        assert_eq!(mask[..5].to_vec(), hex("437b9aec36"));
    }

    #[test]
    fn rfc9369_a1_keys() {
        let k = InitialKeys::new(Version::V2, &hex(DCID));
        assert_eq!(
            k.client.raw.0.to_vec(),
            hex("8b1a0bc121284290a29e0971b5cd045d")
        );
        assert_eq!(k.client.raw.1.to_vec(), hex("91f73e2351d8fa91660e909f"));
        assert_eq!(
            k.client.raw.2.to_vec(),
            hex("45b95e15235d6f45a6b19cbcb0294ba9")
        );
        assert_eq!(
            k.server.raw.0.to_vec(),
            hex("82db637861d55e1d011f19ea71d5d2a7")
        );
        assert_eq!(k.server.raw.1.to_vec(), hex("dd13c276499c0249d3310652"));
        assert_eq!(
            k.server.raw.2.to_vec(),
            hex("edf6d05c83121201b436e16877593c3a")
        );
    }

    /// RFC 9001 A.3 / RFC 9369 A.3: the server's Initial, opened with the keys of the
    /// client's DCID, carries an ACK and a CRYPTO frame with the ServerHello.
    pub(crate) const SERVER_INITIAL_V1: &str = "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee";
    pub(crate) const SERVER_INITIAL_V2: &str = "dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca84bed8521e2e140";
    pub(crate) const SERVER_PLAIN: &str = "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf73988cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c940d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00020304";

    #[test]
    fn rfc_server_initials_open() {
        for (v, wire) in [
            (Version::V1, SERVER_INITIAL_V1),
            (Version::V2, SERVER_INITIAL_V2),
        ] {
            let packet = hex(wire);
            let h = parse_long(&packet).unwrap();
            assert_eq!(h.ty, Some(PacketType::Initial), "{v:?}");
            assert_eq!(h.scid, hex("f067a5502a4262b5"));
            assert!(h.dcid.is_empty());
            assert_eq!(h.len, packet.len());
            let keys = InitialKeys::new(v, &hex(DCID));
            let (pn, plain) = open_initial(&keys.server, &packet, &h, None).unwrap();
            assert_eq!(pn, 1);
            assert_eq!(plain, hex(SERVER_PLAIN), "{v:?}");
            // The client's keys, another version's keys, a flipped bit: not opened.
            assert!(open_initial(&keys.client, &packet, &h, None).is_none());
            let other = if v == Version::V1 {
                Version::V2
            } else {
                Version::V1
            };
            assert!(open_initial(
                &InitialKeys::new(other, &hex(DCID)).server,
                &packet,
                &h,
                None
            )
            .is_none());
            let mut bad = packet.clone();
            *bad.last_mut().unwrap() ^= 1;
            assert!(open_initial(&keys.server, &bad, &h, None).is_none());
            // Every cut is refused without a panic.
            for end in 0..packet.len() {
                if let Some(h) = parse_long(&packet[..end]) {
                    assert!(open_initial(&keys.server, &packet[..end], &h, None).is_none());
                }
            }
        }
    }

    #[test]
    fn packet_numbers() {
        // RFC 9000 A.3's example.
        assert_eq!(decode_pn(Some(0xa82f30ea), 0x9b32, 2), 0xa82f9b32);
        assert_eq!(decode_pn(None, 0, 1), 0);
        assert_eq!(decode_pn(Some(255), 1, 1), 257);
        assert_eq!(decode_pn(Some(3), 2, 4), 2);
    }

    #[test]
    fn varints() {
        // RFC 9000 A.1's examples.
        for (bytes, v) in [
            ("c2197c5eff14e88c", 151_288_809_941_952_652u64),
            ("9d7f3e7d", 494_878_333),
            ("7bbd", 15_293),
            ("25", 37),
            ("4025", 37),
        ] {
            let b = hex(bytes);
            let mut at = 0;
            assert_eq!(varint(&b, &mut at), Some(v));
            assert_eq!(at, b.len());
        }
        assert_eq!(varint(&hex("c2197c"), &mut 0), None);
    }
}
