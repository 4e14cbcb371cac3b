//! Link layer: strip the link header of a frame down to the IP packet it carries.
//!
//! Ethernet (with any stack of 802.1Q / 802.1ad / QinQ tags), Linux cooked capture v1 and v2,
//! raw IP, and BSD/OpenBSD loopback. Each header is length-checked before it is read.

use crate::capture::LinkType;

use super::SkipReason;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
/// More MPLS labels than this is not a real frame.
const MAX_MPLS_LABELS: usize = 8;
/// More VLAN tags than this is not a real frame.
const MAX_VLAN_TAGS: usize = 8;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The IP packet inside a frame of the given link type.
pub fn ip_payload(link: LinkType, data: &[u8]) -> Result<&[u8], SkipReason> {
    match link {
        LinkType::ETHERNET => ethernet(data),
        LinkType::LINUX_SLL => {
            // 16-byte header; protocol type at offset 14 (an ethertype).
            let proto = be16(data, 14).ok_or(SkipReason::Truncated)?;
            by_ethertype(proto, data.get(16..).ok_or(SkipReason::Truncated)?)
        }
        LinkType::LINUX_SLL2 => {
            // 20-byte header; protocol type at offset 0.
            let proto = be16(data, 0).ok_or(SkipReason::Truncated)?;
            by_ethertype(proto, data.get(20..).ok_or(SkipReason::Truncated)?)
        }
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => match data.first() {
            Some(b) if b >> 4 == 4 || b >> 4 == 6 => Ok(data),
            Some(_) => Err(SkipReason::NotIp),
            None => Err(SkipReason::Truncated),
        },
        LinkType::IPV4 | LinkType::IPV6 => Ok(data),
        LinkType::NULL | LinkType::LOOP => {
            let (fam, rest) = data.split_first_chunk::<4>().ok_or(SkipReason::Truncated)?;
            let be = u32::from_be_bytes(*fam);
            let le = u32::from_le_bytes(*fam);
            // The family is in the writer's byte order; accept either. AF_INET is 2
            // everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD),
            // 30 (macOS).
            let family = if be < 256 { be } else { le };
            match family {
                2 | 10 | 24 | 28 | 30 => Ok(rest),
                _ => Err(SkipReason::NotIp),
            }
        }
        _ => Err(SkipReason::UnsupportedLink),
    }
}

fn ethernet(data: &[u8]) -> Result<&[u8], SkipReason> {
    let mut ethertype = be16(data, 12).ok_or(SkipReason::Truncated)?;
    let mut offset = 14;
    let mut tags = 0;
    while matches!(
        ethertype,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
    ) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(SkipReason::Malformed);
        }
        // 2 bytes TCI, then the next ethertype.
        ethertype = be16(data, offset + 2).ok_or(SkipReason::Truncated)?;
        offset += 4;
    }
    by_ethertype(ethertype, data.get(offset..).ok_or(SkipReason::Truncated)?)
}

fn by_ethertype(ethertype: u16, rest: &[u8]) -> Result<&[u8], SkipReason> {
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Ok(rest),
        ETHERTYPE_PPPOE_SESSION => {
            // RFC 2516: 6-byte PPPoE header, then the 2-byte PPP protocol.
            match be16(rest, 6).ok_or(SkipReason::Truncated)? {
                0x0021 | 0x0057 => rest.get(8..).ok_or(SkipReason::Truncated),
                _ => Err(SkipReason::NotIp),
            }
        }
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => {
            // RFC 3032: 4-byte label entries until the bottom-of-stack bit; then IP, told
            // apart by its version nibble.
            for i in 0..MAX_MPLS_LABELS {
                let (entry, inner) = rest
                    .get(i * 4..)
                    .and_then(<[u8]>::split_first_chunk::<4>)
                    .ok_or(SkipReason::Truncated)?;
                if entry[2] & 0x01 != 0 {
                    return match inner.first().map(|b| b >> 4) {
                        Some(4 | 6) => Ok(inner),
                        Some(_) => Err(SkipReason::NotIp),
                        None => Err(SkipReason::Truncated),
                    };
                }
            }
            Err(SkipReason::Malformed)
        }
        _ => Err(SkipReason::NotIp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: [u8; 4] = [0x45, 0, 0, 20];

    fn eth(ethertype_and_rest: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 12];
        v.extend_from_slice(ethertype_and_rest);
        v
    }

    #[test]
    fn ethernet_plain_and_tagged() {
        let f = eth(&[0x08, 0x00, 0x45, 0, 0, 20]);
        assert_eq!(ip_payload(LinkType::ETHERNET, &f), Ok(&IP[..]));
        let f = eth(&[0x81, 0x00, 0x00, 0x0a, 0x86, 0xdd, 0x60]);
        assert_eq!(ip_payload(LinkType::ETHERNET, &f), Ok(&[0x60u8][..]));
        // QinQ: 802.1ad outer, 802.1Q inner.
        let f = eth(&[0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00, 0x45]);
        assert_eq!(ip_payload(LinkType::ETHERNET, &f), Ok(&[0x45u8][..]));
    }

    #[test]
    fn ethernet_edges() {
        assert_eq!(
            ip_payload(LinkType::ETHERNET, &[0; 13]),
            Err(SkipReason::Truncated)
        );
        assert_eq!(
            ip_payload(LinkType::ETHERNET, &eth(&[0x08, 0x06, 0, 1])),
            Err(SkipReason::NotIp)
        );
        // Tag header cut short.
        assert_eq!(
            ip_payload(LinkType::ETHERNET, &eth(&[0x81, 0x00, 0x00])),
            Err(SkipReason::Truncated)
        );
        // Endless tags.
        let mut tags = vec![];
        for _ in 0..20 {
            tags.extend_from_slice(&[0x81, 0x00, 0, 1]);
        }
        assert_eq!(
            ip_payload(LinkType::ETHERNET, &eth(&tags)),
            Err(SkipReason::Malformed)
        );
    }

    #[test]
    fn pppoe_and_mpls() {
        let f = eth(&[0x88, 0x64, 0x11, 0, 0, 1, 0, 20, 0x00, 0x21, 0x45]);
        assert_eq!(ip_payload(LinkType::ETHERNET, &f), Ok(&[0x45u8][..]));
        let f = eth(&[0x88, 0x64, 0x11, 0, 0, 1, 0, 20, 0xc0, 0x21, 0x45]);
        assert_eq!(ip_payload(LinkType::ETHERNET, &f), Err(SkipReason::NotIp));
        // Two labels, the second with bottom of stack.
        let f = eth(&[0x88, 0x47, 0, 1, 0, 64, 0, 2, 1, 64, 0x60]);
        assert_eq!(ip_payload(LinkType::ETHERNET, &f), Ok(&[0x60u8][..]));
        let f = eth(&[0x88, 0x47, 0, 1, 0, 64]);
        assert_eq!(
            ip_payload(LinkType::ETHERNET, &f),
            Err(SkipReason::Truncated)
        );
    }

    #[test]
    fn cooked_v1_and_v2() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(&IP);
        assert_eq!(ip_payload(LinkType::LINUX_SLL, &sll), Ok(&IP[..]));
        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.push(0x60);
        assert_eq!(ip_payload(LinkType::LINUX_SLL2, &sll2), Ok(&[0x60u8][..]));
        assert_eq!(
            ip_payload(LinkType::LINUX_SLL2, &sll2[..19]),
            Err(SkipReason::Truncated)
        );
    }

    #[test]
    fn raw_and_loopback() {
        assert_eq!(ip_payload(LinkType::RAW, &IP), Ok(&IP[..]));
        assert_eq!(ip_payload(LinkType::RAW, &[0x12]), Err(SkipReason::NotIp));
        assert_eq!(ip_payload(LinkType::RAW, &[]), Err(SkipReason::Truncated));
        assert_eq!(ip_payload(LinkType::IPV6, &[0x60]), Ok(&[0x60u8][..]));
        let mut null_le = vec![2, 0, 0, 0];
        null_le.extend_from_slice(&IP);
        assert_eq!(ip_payload(LinkType::NULL, &null_le), Ok(&IP[..]));
        let null_be6 = [0, 0, 0, 30, 0x60];
        assert_eq!(ip_payload(LinkType::NULL, &null_be6), Ok(&[0x60u8][..]));
        assert_eq!(
            ip_payload(LinkType::LOOP, &[0, 0, 0, 7, 1]),
            Err(SkipReason::NotIp)
        );
        assert_eq!(
            ip_payload(LinkType(127), &IP),
            Err(SkipReason::UnsupportedLink)
        );
    }
}
