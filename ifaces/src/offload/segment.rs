//! Segmentation (the receive side of a tap with TSO/USO): one large frame as
//! the kernel hands it over, with its [`VnetHdr`], becomes Ethernet frames of
//! at most `max_frame` bytes, each a complete packet with correct lengths,
//! IPv4 ID and header checksum, TCP sequence number and flags, and a full
//! TCP/UDP checksum (pseudo-header included).
//!
//! Driving it: keep one scratch buffer of at least `max_frame` bytes, and per
//! frame read call [`segment`] with a callback that consumes each segment
//! (it lives in the scratch buffer only until the callback returns). Nothing
//! is allocated. Frames without GSO pass unchanged (their checksum completed
//! first when `NEEDS_CSUM` is set). An `Err` means the frame was not emitted;
//! count it by [`SegmentError::reason`].
//!
//! TCP segments carry at most `gso_size` payload bytes, fewer if the headers
//! plus `gso_size` would exceed `max_frame` (TCP may cut anywhere). USO
//! datagrams cannot be re-cut: if one does not fit, the frame is refused.
//! FIN and PSH stay on the last segment only, CWR on the first only; IPv4 IDs
//! count up from the original one (as Linux's software GSO does).

use super::checksum::{finish, pseudo_header, sum};
use super::layout::{
    Layout, LayoutError, PROTO_TCP, PROTO_UDP, ipv4, set_ip_len, set_ipv4_checksum, tcp, udp,
};
use super::vnet::{Gso, VnetHdr};

/// Why a frame was not segmented (it is dropped; count it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentError {
    /// The headers were not understood (see [`LayoutError`]).
    Layout(LayoutError),
    /// The GSO type does not match the packet (e.g. TCPV4 on IPv6), or
    /// `csum_start` is not the L4 header.
    GsoMismatch,
    /// UFO or an unknown GSO type.
    UnsupportedGso,
    /// `gso_size` 0 on a GSO frame.
    GsoSizeZero,
    /// The headers alone fill `max_frame`.
    HeadersTooLong,
    /// A USO datagram longer than `max_frame`.
    DatagramTooLarge,
    /// `csum_start`/`csum_offset` point outside the frame.
    BadChecksumOffset,
}

impl SegmentError {
    /// Every reason, in [`SegmentError::index`] order.
    pub const REASONS: [&'static str; 12] = [
        "truncated",
        "not_ip",
        "ipv6_extension_headers",
        "bad_ipv4",
        "not_tcp_or_udp",
        "bad_tcp",
        "gso_mismatch",
        "unsupported_gso",
        "gso_size_zero",
        "headers_too_long",
        "datagram_too_large",
        "bad_checksum_offset",
    ];

    /// A dense index into [`SegmentError::REASONS`], for counters.
    pub fn index(self) -> usize {
        match self {
            SegmentError::Layout(LayoutError::Truncated) => 0,
            SegmentError::Layout(LayoutError::NotIp) => 1,
            SegmentError::Layout(LayoutError::Ipv6ExtensionHeaders) => 2,
            SegmentError::Layout(LayoutError::BadIpv4) => 3,
            SegmentError::Layout(LayoutError::NotTcpOrUdp) => 4,
            SegmentError::Layout(LayoutError::BadTcp) => 5,
            SegmentError::GsoMismatch => 6,
            SegmentError::UnsupportedGso => 7,
            SegmentError::GsoSizeZero => 8,
            SegmentError::HeadersTooLong => 9,
            SegmentError::DatagramTooLarge => 10,
            SegmentError::BadChecksumOffset => 11,
        }
    }

    /// The counter label.
    pub fn reason(self) -> &'static str {
        Self::REASONS[self.index()]
    }
}

impl From<LayoutError> for SegmentError {
    fn from(e: LayoutError) -> Self {
        SegmentError::Layout(e)
    }
}

/// Hands `frame` (as read after `hdr`) to `emit` as frames of at most
/// `max_frame` bytes, built in `scratch`. Returns how many were emitted.
/// `frame` is modified only to complete a non-GSO frame's checksum.
pub fn segment(
    hdr: &VnetHdr,
    frame: &mut [u8],
    max_frame: usize,
    scratch: &mut [u8],
    mut emit: impl FnMut(&[u8]),
) -> Result<usize, SegmentError> {
    let tcp_v4 = match hdr.gso() {
        Gso::None => {
            if hdr.needs_csum() {
                complete_checksum(frame, hdr.csum_start, hdr.csum_offset)?;
            }
            emit(frame);
            return Ok(1);
        }
        Gso::TcpV4 => Some(true),
        Gso::TcpV6 => Some(false),
        Gso::UdpL4 => None,
        Gso::Other(_) => return Err(SegmentError::UnsupportedGso),
    };
    let frame: &[u8] = frame;
    let l = Layout::parse(frame)?;
    let is_tcp = tcp_v4.is_some();
    if tcp_v4.is_some_and(|v4| v4 != l.v4)
        || l.proto != if is_tcp { PROTO_TCP } else { PROTO_UDP }
        || (hdr.needs_csum() && usize::from(hdr.csum_start) != l.l4)
    {
        return Err(SegmentError::GsoMismatch);
    }
    let gso_size = usize::from(hdr.gso_size);
    if gso_size == 0 {
        return Err(SegmentError::GsoSizeZero);
    }
    let cap = max_frame.min(scratch.len());
    let hlen = l.payload;
    if hlen >= cap {
        return Err(SegmentError::HeadersTooLong);
    }
    let seg = if is_tcp {
        gso_size.min(cap - hlen)
    } else if hlen + gso_size > cap {
        return Err(SegmentError::DatagramTooLarge);
    } else {
        gso_size
    };
    // The kernel's length fields may be stale or 0 on a GSO frame; the frame's
    // own length is the truth.
    let payload = &frame[hlen..];
    let count = payload.len().div_ceil(seg).max(1);
    let (src, dst) = l.addresses(frame);
    let addr_sum = pseudo_header(src, dst, l.proto, 0);
    let ihl = l.l4 - l.l3;
    let id0 = u16::from_be_bytes([
        frame[l.l3 + ipv4::ID.start],
        frame[l.l3 + ipv4::ID.start + 1],
    ]);
    // Layout::parse checked that the whole TCP header is there; a UDP
    // header is shorter, so these are read for TCP only.
    let (seq0, flags0) = if is_tcp {
        let th = &frame[l.l4..l.payload];
        let s = &th[tcp::SEQ];
        (u32::from_be_bytes([s[0], s[1], s[2], s[3]]), th[tcp::FLAGS])
    } else {
        (0, 0)
    };
    scratch[..hlen].copy_from_slice(&frame[..hlen]);
    for i in 0..count {
        let off = i * seg;
        let n = seg.min(payload.len() - off);
        let end = hlen + n;
        scratch[hlen..end].copy_from_slice(&payload[off..off + n]);
        set_ip_len(scratch, &l, end);
        if l.v4 {
            let id = id0.wrapping_add(i as u16);
            scratch[l.l3 + ipv4::ID.start..l.l3 + ipv4::ID.end].copy_from_slice(&id.to_be_bytes());
            set_ipv4_checksum(&mut scratch[l.l3..], ihl);
        }
        let l4_len = end - l.l4;
        let th = &mut scratch[l.l4..end];
        let check = if is_tcp {
            let seq = seq0.wrapping_add(off as u32);
            th[tcp::SEQ].copy_from_slice(&seq.to_be_bytes());
            let mut flags = flags0;
            if i > 0 {
                flags &= !tcp::CWR;
            }
            if i + 1 < count {
                flags &= !(tcp::FIN | tcp::PSH);
            }
            th[tcp::FLAGS] = flags;
            th[tcp::CHECKSUM].copy_from_slice(&[0, 0]);
            tcp::CHECKSUM
        } else {
            th[udp::LENGTH].copy_from_slice(&(l4_len as u16).to_be_bytes());
            th[udp::CHECKSUM].copy_from_slice(&[0, 0]);
            udp::CHECKSUM
        };
        let c = finish(sum(th, addr_sum + l4_len as u64));
        // UDP sends a computed 0 as 0xffff (0 means "no checksum", RFC 768).
        let c = if c == 0 && !is_tcp { 0xffff } else { c };
        th[check].copy_from_slice(&c.to_be_bytes());
        emit(&scratch[..end]);
    }
    Ok(count)
}

/// Completes a partial checksum (`NEEDS_CSUM` without GSO), as the kernel's
/// `skb_checksum_help` does: the field already holds the pseudo-header sum,
/// so the checksum of `csum_start..` goes into `csum_start + csum_offset`.
/// The frame must end where the packet ends (taps never pad).
pub fn complete_checksum(
    frame: &mut [u8],
    csum_start: u16,
    csum_offset: u16,
) -> Result<(), SegmentError> {
    let start = usize::from(csum_start);
    let at = start + usize::from(csum_offset);
    if at + 2 > frame.len() {
        return Err(SegmentError::BadChecksumOffset);
    }
    let c = finish(sum(&frame[start..], 0));
    let c = if c == 0 { 0xffff } else { c };
    frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
    Ok(())
}
