//! A view of an Ethernet II frame's header: enough to learn and look up MAC
//! addresses in the L2 FIB.

/// A MAC address.
pub type Mac = [u8; 6];

/// Field ranges.
pub mod field {
    use std::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
}

/// The shortest frame egd accepts: a header (a frame without payload is
/// useless but harmless).
pub const HEADER_LEN: usize = 14;

/// Ethernet broadcast address.
pub const BROADCAST: Mac = [0xff; 6];

/// A checked view of a frame's header.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    bytes: &'a [u8],
}

impl<'a> Frame<'a> {
    /// `None` if `bytes` is shorter than an Ethernet header.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        (bytes.len() >= HEADER_LEN).then_some(Self { bytes })
    }

    pub fn dst(&self) -> Mac {
        mac_at(self.bytes, field::DST.start)
    }

    pub fn src(&self) -> Mac {
        mac_at(self.bytes, field::SRC.start)
    }

    pub fn ethertype(&self) -> u16 {
        u16::from_be_bytes([
            self.bytes[field::ETHERTYPE.start],
            self.bytes[field::ETHERTYPE.start + 1],
        ])
    }
}

fn mac_at(bytes: &[u8], at: usize) -> Mac {
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&bytes[at..at + 6]);
    mac
}

/// Group (broadcast or multicast) addresses have the I/G bit set.
pub fn is_group(mac: &Mac) -> bool {
    mac[0] & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view() {
        let mut f = [0u8; 20];
        f[..6].copy_from_slice(&BROADCAST);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        let v = Frame::parse(&f).unwrap();
        assert!(is_group(&v.dst()));
        assert!(!is_group(&v.src()));
        assert_eq!(v.ethertype(), 0x0806);
        assert!(Frame::parse(&f[..13]).is_none());
    }
}
