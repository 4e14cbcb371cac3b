//! Tunnels seen on span ports: the inner packet of GRE (with ERSPAN type I, II and III),
//! VXLAN, Geneve and IP-in-IP / 6in4. The inner TCP connection is the one analysed, so the
//! client is the inner source.
//!
//! Each header is length-checked before it is read; nesting is bounded by the caller.

/// What a tunnel header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner<'a> {
    /// An IPv4 or IPv6 packet.
    Ip(&'a [u8]),
    /// An Ethernet frame.
    Ethernet(&'a [u8]),
    /// Something else (PPP in PPTP's GRE, MPLS, ...).
    Other,
}

/// UDP ports of tunnel protocols (IANA): VXLAN 4789, Geneve 6081.
pub const VXLAN_PORT: u16 = 4789;
pub const GENEVE_PORT: u16 = 6081;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_TEB: u16 = 0x6558;
const ETHERTYPE_ERSPAN_2: u16 = 0x88be;
const ETHERTYPE_ERSPAN_3: u16 = 0x22eb;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn by_protocol(proto: u16, rest: &[u8]) -> Inner<'_> {
    match proto {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Inner::Ip(rest),
        ETHERTYPE_TEB => Inner::Ethernet(rest),
        _ => Inner::Other,
    }
}

/// The payload of a GRE packet (RFC 2784, RFC 2890 key and sequence number), including the
/// ERSPAN encapsulations Cisco and others send over it. `None`: cut short.
pub fn gre(b: &[u8]) -> Option<Inner<'_>> {
    let flags = be16(b, 0)?;
    let proto = be16(b, 2)?;
    if flags & 0x0007 != 0 || flags & 0x4000 != 0 {
        // Version 1 is PPTP's enhanced GRE (PPP inside); source routing is obsolete.
        return Some(Inner::Other);
    }
    let mut len = 4;
    if flags & 0x8000 != 0 {
        len += 4; // checksum + reserved
    }
    if flags & 0x2000 != 0 {
        len += 4; // key
    }
    let has_seq = flags & 0x1000 != 0;
    if has_seq {
        len += 4;
    }
    let rest = b.get(len..)?;
    Some(match proto {
        // ERSPAN type I has no header of its own (and no GRE sequence number); type II has an
        // 8-byte header.
        ETHERTYPE_ERSPAN_2 if has_seq => Inner::Ethernet(rest.get(8..)?),
        ETHERTYPE_ERSPAN_2 => Inner::Ethernet(rest),
        ETHERTYPE_ERSPAN_3 => {
            // 12-byte header; the O bit (lowest of byte 11) announces an 8-byte subheader.
            let o = rest.get(11)? & 0x01 != 0;
            Inner::Ethernet(rest.get(if o { 20 } else { 12 }..)?)
        }
        other => by_protocol(other, rest),
    })
}

/// The frame inside a VXLAN header (RFC 7348): 8 bytes, then Ethernet.
pub fn vxlan(b: &[u8]) -> Option<Inner<'_>> {
    let flags = *b.first()?;
    if flags & 0x08 == 0 {
        return Some(Inner::Other);
    }
    Some(Inner::Ethernet(b.get(8..)?))
}

/// The payload of a Geneve header (RFC 8926): 8 bytes plus options, then by protocol type.
pub fn geneve(b: &[u8]) -> Option<Inner<'_>> {
    let first = *b.first()?;
    if first >> 6 != 0 {
        return Some(Inner::Other);
    }
    let opt_len = usize::from(first & 0x3f) * 4;
    let proto = be16(b, 2)?;
    Some(by_protocol(proto, b.get(8 + opt_len..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_plain_key_seq_checksum() {
        assert_eq!(gre(&[0, 0, 0x08, 0x00, 0x45]), Some(Inner::Ip(&[0x45])));
        // Key and sequence number present.
        let b = [0x30, 0, 0x86, 0xdd, 1, 2, 3, 4, 5, 6, 7, 8, 0x60];
        assert_eq!(gre(&b), Some(Inner::Ip(&[0x60])));
        // Checksum present.
        let b = [0x80, 0, 0x65, 0x58, 0, 0, 0, 0, 0xaa];
        assert_eq!(gre(&b), Some(Inner::Ethernet(&[0xaa])));
        // Cut inside the optional fields.
        assert_eq!(gre(&[0x30, 0, 0x08, 0x00, 1, 2]), None);
        // PPTP (version 1).
        assert_eq!(gre(&[0x30, 0x01, 0x88, 0x0b]), Some(Inner::Other));
        assert_eq!(gre(&[0]), None);
    }

    #[test]
    fn erspan_types() {
        // Type II: GRE with sequence number, 8-byte ERSPAN header.
        let mut b = vec![0x10, 0, 0x88, 0xbe, 0, 0, 0, 1];
        b.extend_from_slice(&[0x10, 0, 0, 1, 0, 0, 0, 0]);
        b.push(0xee);
        assert_eq!(gre(&b), Some(Inner::Ethernet(&[0xee])));
        // Type I: no sequence number, no header.
        assert_eq!(
            gre(&[0, 0, 0x88, 0xbe, 0xee]),
            Some(Inner::Ethernet(&[0xee]))
        );
        // Type III without and with the platform subheader.
        let mut b = vec![0x10, 0, 0x22, 0xeb, 0, 0, 0, 1];
        b.extend_from_slice(&[0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        b.push(0xee);
        assert_eq!(gre(&b), Some(Inner::Ethernet(&[0xee])));
        let mut b = vec![0x10, 0, 0x22, 0xeb, 0, 0, 0, 1];
        b.extend_from_slice(&[0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[0; 8]);
        b.push(0xee);
        assert_eq!(gre(&b), Some(Inner::Ethernet(&[0xee])));
    }

    #[test]
    fn vxlan_and_geneve() {
        assert_eq!(
            vxlan(&[0x08, 0, 0, 0, 0, 0, 1, 0, 0xee]),
            Some(Inner::Ethernet(&[0xee]))
        );
        assert_eq!(vxlan(&[0x08, 0, 0]), None);
        assert_eq!(vxlan(&[0, 0, 0, 0, 0, 0, 0, 0]), Some(Inner::Other));
        // One 4-byte option.
        let b = [0x01, 0, 0x65, 0x58, 0, 0, 1, 0, 9, 9, 9, 9, 0xee];
        assert_eq!(geneve(&b), Some(Inner::Ethernet(&[0xee])));
        assert_eq!(geneve(&[0x3f, 0, 0x08, 0x00, 0, 0, 0, 0]), None);
    }
}
