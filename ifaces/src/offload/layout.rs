//! Where the headers of an Ethernet frame carrying TCP or UDP are: one pass
//! over Ethernet (with at most one 802.1Q/802.1ad tag), IPv4 (options
//! allowed, no fragments) or IPv6 (no extension headers), and the L4 header.
//! Shared by segmentation and coalescing; every offset is checked against
//! the frame's length, so callers index without further checks.

/// Ethernet header length without a VLAN tag.
pub const ETH_LEN: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const IPV6_LEN: usize = 40;
pub const UDP_LEN: usize = 8;

/// IPv4 header fields (RFC 791), from the start of the IP header.
pub mod ipv4 {
    use core::ops::Range;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const ID: Range<usize> = 4..6;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const PROTO: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
    /// The DF bit in the first byte of `FLAGS_FRAG`.
    pub const DF: u8 = 0x40;
}

/// IPv6 header fields (RFC 8200).
pub mod ipv6 {
    use core::ops::Range;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
}

/// TCP header fields (RFC 9293), from the start of the TCP header.
pub mod tcp {
    use core::ops::Range;
    pub const SEQ: Range<usize> = 4..8;
    pub const ACK: Range<usize> = 8..12;
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const CHECKSUM_OFFSET: u16 = 16;
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK_FLAG: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const CWR: u8 = 0x80;
}

/// UDP header fields (RFC 768).
pub mod udp {
    use core::ops::Range;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const CHECKSUM_OFFSET: u16 = 6;
}

/// Why a frame's headers were not understood. Also the drop reasons of
/// segmentation (see [`super::SegmentError`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// Shorter than the headers it announces.
    Truncated,
    /// Neither IPv4 nor IPv6 (after at most one VLAN tag).
    NotIp,
    /// IPv6 with extension headers: not walked (software fallback: none,
    /// such GSO frames are dropped and counted; the kernel rarely makes them).
    Ipv6ExtensionHeaders,
    /// An IPv4 fragment, or a header length under 20 bytes.
    BadIpv4,
    /// The IP payload is neither TCP nor UDP.
    NotTcpOrUdp,
    /// TCP data offset under 5 words.
    BadTcp,
}

/// Offsets (from the frame's first byte) of a TCP or UDP frame's headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Start of the IP header (14, or 18 behind a VLAN tag).
    pub l3: usize,
    /// IPv4 (true) or IPv6.
    pub v4: bool,
    /// Start of the TCP/UDP header.
    pub l4: usize,
    /// `PROTO_TCP` or `PROTO_UDP`.
    pub proto: u8,
    /// Start of the payload (end of the TCP/UDP header).
    pub payload: usize,
    /// End of the IP packet per its length field (≤ frame length; anything
    /// behind it is Ethernet padding).
    pub ip_end: usize,
}

impl Layout {
    /// Parses `frame`'s headers.
    pub fn parse(frame: &[u8]) -> Result<Layout, LayoutError> {
        let be16 = |at: usize| -> Result<u16, LayoutError> {
            match frame.get(at..at + 2) {
                Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
                None => Err(LayoutError::Truncated),
            }
        };
        let mut l3 = ETH_LEN;
        let mut ethertype = be16(12)?;
        if ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ {
            ethertype = be16(16)?;
            l3 += 4;
        }
        let (v4, l4, proto, ip_end) = match ethertype {
            ETHERTYPE_IPV4 => {
                let ip = frame.get(l3..l3 + 20).ok_or(LayoutError::Truncated)?;
                let ihl = usize::from(ip[0] & 0x0f) * 4;
                if ip[0] >> 4 != 4 || ihl < 20 {
                    return Err(LayoutError::BadIpv4);
                }
                let frag = be16(l3 + ipv4::FLAGS_FRAG.start)?;
                if frag & 0x3fff != 0 {
                    return Err(LayoutError::BadIpv4);
                }
                let total = usize::from(be16(l3 + ipv4::TOTAL_LEN.start)?);
                (true, l3 + ihl, ip[ipv4::PROTO], l3 + total)
            }
            ETHERTYPE_IPV6 => {
                let ip = frame.get(l3..l3 + IPV6_LEN).ok_or(LayoutError::Truncated)?;
                let next = ip[ipv6::NEXT_HEADER];
                if next != PROTO_TCP && next != PROTO_UDP {
                    return Err(match next {
                        0 | 43 | 44 | 50 | 51 | 60 | 135 | 139 | 140 => {
                            LayoutError::Ipv6ExtensionHeaders
                        }
                        _ => LayoutError::NotTcpOrUdp,
                    });
                }
                let payload = usize::from(be16(l3 + ipv6::PAYLOAD_LEN.start)?);
                (false, l3 + IPV6_LEN, next, l3 + IPV6_LEN + payload)
            }
            _ => return Err(LayoutError::NotIp),
        };
        let payload = match proto {
            PROTO_TCP => {
                let off = *frame
                    .get(l4 + tcp::DATA_OFFSET)
                    .ok_or(LayoutError::Truncated)?;
                let len = usize::from(off >> 4) * 4;
                if len < 20 {
                    return Err(LayoutError::BadTcp);
                }
                l4 + len
            }
            PROTO_UDP => l4 + UDP_LEN,
            _ => return Err(LayoutError::NotTcpOrUdp),
        };
        if payload > frame.len() || ip_end > frame.len() || ip_end < payload {
            return Err(LayoutError::Truncated);
        }
        Ok(Layout {
            l3,
            v4,
            l4,
            proto,
            payload,
            ip_end,
        })
    }

    /// The source and destination address bytes (4 or 16 each).
    pub fn addresses<'a>(&self, frame: &'a [u8]) -> (&'a [u8], &'a [u8]) {
        let ip = &frame[self.l3..];
        if self.v4 {
            (&ip[ipv4::SRC], &ip[ipv4::DST])
        } else {
            (&ip[ipv6::SRC], &ip[ipv6::DST])
        }
    }
}

/// Writes the IPv4 header checksum of the header at `ip` (`ihl` bytes).
pub fn set_ipv4_checksum(ip: &mut [u8], ihl: usize) {
    ip[ipv4::CHECKSUM].copy_from_slice(&[0, 0]);
    let c = super::checksum::finish(super::checksum::sum(&ip[..ihl], 0));
    ip[ipv4::CHECKSUM].copy_from_slice(&c.to_be_bytes());
}

/// Sets the IP length field for an IP packet that ends at `ip_end`.
pub fn set_ip_len(frame: &mut [u8], layout: &Layout, ip_end: usize) {
    let ip = &mut frame[layout.l3..];
    if layout.v4 {
        let total = (ip_end - layout.l3) as u16;
        ip[ipv4::TOTAL_LEN].copy_from_slice(&total.to_be_bytes());
    } else {
        let payload = (ip_end - layout.l3 - IPV6_LEN) as u16;
        ip[ipv6::PAYLOAD_LEN].copy_from_slice(&payload.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_it_does_not_walk() {
        let mut f = vec![0u8; 80];
        f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(Layout::parse(&f), Err(LayoutError::NotIp));
        f[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        f[14] = 0x60;
        f[14 + 6] = 0; // hop-by-hop options
        assert_eq!(Layout::parse(&f), Err(LayoutError::Ipv6ExtensionHeaders));
        f[14 + 6] = 58; // ICMPv6
        assert_eq!(Layout::parse(&f), Err(LayoutError::NotTcpOrUdp));
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        f[14] = 0x45;
        f[14 + 6] = 0x20; // MF
        assert_eq!(Layout::parse(&f), Err(LayoutError::BadIpv4));
        assert_eq!(Layout::parse(&f[..20]), Err(LayoutError::Truncated));
    }
}
