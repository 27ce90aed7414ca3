//! `struct virtio_net_hdr` (include/uapi/linux/virtio_net.h): the 10-byte
//! header a tap opened with `IFF_VNET_HDR` puts in front of every frame it
//! reads and expects in front of every frame written to it. It says whether
//! the frame is a GSO frame (one large TCP/UDP packet to be cut into
//! `gso_size` pieces) and whether its L4 checksum still has to be completed.
//!
//! Byte order: little-endian (virtio 1.0; a legacy tap uses the host's order,
//! and the tap is switched to little-endian explicitly with `TUNSETVNETLE`).
//! The 12-byte `virtio_net_hdr_mrg_rxbuf` variant is not used: the tap is set
//! to 10 bytes with `TUNSETVNETHDRSZ`.

/// Length of the header on the wire.
pub const VNET_HDR_LEN: usize = 10;

/// Byte ranges of the fields.
pub mod field {
    use core::ops::Range;
    pub const FLAGS: usize = 0;
    pub const GSO_TYPE: usize = 1;
    pub const HDR_LEN: Range<usize> = 2..4;
    pub const GSO_SIZE: Range<usize> = 4..6;
    pub const CSUM_START: Range<usize> = 6..8;
    pub const CSUM_OFFSET: Range<usize> = 8..10;
}

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the L4 checksum field holds the
/// pseudo-header sum; the sum over `csum_start..` goes into
/// `csum_start + csum_offset`.
pub const F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the checksum was verified (ignored here).
pub const F_DATA_VALID: u8 = 2;

/// `VIRTIO_NET_HDR_GSO_*` values of `gso_type`.
pub const GSO_NONE: u8 = 0;
pub const GSO_TCPV4: u8 = 1;
/// UFO (whole-datagram fragmentation): never enabled, so never accepted.
pub const GSO_UDP: u8 = 3;
pub const GSO_TCPV6: u8 = 4;
/// USO: `gso_size`-byte UDP datagrams, each with its own UDP header.
pub const GSO_UDP_L4: u8 = 5;
/// Flag bit: the TCP packet carries CWR (only the first segment keeps it).
pub const GSO_ECN: u8 = 0x80;

/// The decoded header. `VnetHdr::NONE` (all zero) is a plain frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHdr {
    pub flags: u8,
    pub gso_type: u8,
    /// Length of the headers (Ethernet + IP + L4) of a GSO frame; a hint.
    pub hdr_len: u16,
    /// Payload bytes per segment (TCP) or per datagram (USO).
    pub gso_size: u16,
    /// Where the checksummed region starts, from the frame's first byte.
    pub csum_start: u16,
    /// Where, from `csum_start`, the checksum field is (16 TCP, 6 UDP).
    pub csum_offset: u16,
}

/// What [`VnetHdr::gso`] says about the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gso {
    None,
    TcpV4,
    TcpV6,
    UdpL4,
    /// A type this crate does not segment (UFO, unknown bits).
    Other(u8),
}

impl VnetHdr {
    /// A plain frame: no GSO, checksum complete.
    pub const NONE: VnetHdr = VnetHdr {
        flags: 0,
        gso_type: GSO_NONE,
        hdr_len: 0,
        gso_size: 0,
        csum_start: 0,
        csum_offset: 0,
    };

    /// Decodes the first [`VNET_HDR_LEN`] bytes; None if `bytes` is shorter.
    pub fn parse(bytes: &[u8]) -> Option<VnetHdr> {
        let b = bytes.get(..VNET_HDR_LEN)?;
        let le = |r: core::ops::Range<usize>| u16::from_le_bytes([b[r.start], b[r.start + 1]]);
        Some(VnetHdr {
            flags: b[field::FLAGS],
            gso_type: b[field::GSO_TYPE],
            hdr_len: le(field::HDR_LEN),
            gso_size: le(field::GSO_SIZE),
            csum_start: le(field::CSUM_START),
            csum_offset: le(field::CSUM_OFFSET),
        })
    }

    /// The header's wire form.
    pub fn emit(&self) -> [u8; VNET_HDR_LEN] {
        let mut b = [0u8; VNET_HDR_LEN];
        b[field::FLAGS] = self.flags;
        b[field::GSO_TYPE] = self.gso_type;
        b[field::HDR_LEN].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[field::GSO_SIZE].copy_from_slice(&self.gso_size.to_le_bytes());
        b[field::CSUM_START].copy_from_slice(&self.csum_start.to_le_bytes());
        b[field::CSUM_OFFSET].copy_from_slice(&self.csum_offset.to_le_bytes());
        b
    }

    /// Whether the L4 checksum still has to be completed.
    pub fn needs_csum(&self) -> bool {
        self.flags & F_NEEDS_CSUM != 0
    }

    /// The segmentation type, with the ECN bit masked off.
    pub fn gso(&self) -> Gso {
        match self.gso_type & !GSO_ECN {
            GSO_NONE => Gso::None,
            GSO_TCPV4 => Gso::TcpV4,
            GSO_TCPV6 => Gso::TcpV6,
            GSO_UDP_L4 => Gso::UdpL4,
            other => Gso::Other(other),
        }
    }

    /// A plain frame: nothing for the receiver to do.
    pub fn is_plain(&self) -> bool {
        self.gso() == Gso::None && !self.needs_csum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_little_endian() {
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV4 | GSO_ECN,
            hdr_len: 66,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        let b = h.emit();
        assert_eq!(b, [1, 0x81, 66, 0, 0xa8, 0x05, 34, 0, 16, 0]);
        assert_eq!(VnetHdr::parse(&b), Some(h));
        assert_eq!(h.gso(), Gso::TcpV4);
        assert!(h.needs_csum() && !h.is_plain());
        assert!(VnetHdr::NONE.is_plain());
        assert_eq!(VnetHdr::parse(&b[..9]), None);
        let ufo = VnetHdr {
            gso_type: GSO_UDP,
            ..VnetHdr::NONE
        };
        assert_eq!(ufo.gso(), Gso::Other(GSO_UDP));
    }
}
