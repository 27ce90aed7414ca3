//! UDP GRO on receive, shared by both backends: switching it on per socket,
//! reading the segment size the kernel reports, splitting a coalesced receive
//! back into its datagrams.
//!
//! With `UDP_GRO` set (udp(7), Linux ≥ 5.0) the kernel may hand one receive
//! that holds several datagrams of one flow (same sender, same socket): all of
//! `segment` bytes, the last possibly shorter, with a `SOL_UDP`/`UDP_GRO`
//! control message carrying `segment` (an `int`). That happens when datagrams
//! are coalesced by a NIC/veth's GRO, and always on loopback and veth for a
//! sender's UDP GSO send, which is then delivered without ever being split.
//! A coalesced receive is at most 65 535 bytes, so GRO is only switched on
//! when every receive buffer holds that much (`GRO_BUFFER_LEN`): a shorter
//! buffer would truncate, i.e. lose, whole trains.
//!
//! How to drive it: `enable(fd)` once per socket (false → log once and go on
//! without) → reserve `CONTROL_LEN` bytes of control space in each receive →
//! `segment_size(control bytes)` → `segments(payload, segment)` yields each
//! datagram as its own `&mut [u8]` (no copy).

use std::os::fd::RawFd;

/// Smallest `recv_buffer_len` with which GRO is used: the largest coalesced
/// receive (the UDP length field is 16 bits; IPv4 GSO trains are at most
/// 65 507 bytes, IPv6 ones 65 527).
pub const GRO_BUFFER_LEN: usize = 65_535;

/// Control space reserved per receive: one `CMSG_SPACE(sizeof(int))`
/// (`UDP_GRO`, 24 bytes on 64-bit Linux) with room to spare, a multiple of 8
/// so the payload after it stays aligned.
pub(crate) const CONTROL_LEN: usize = 32;

// SAFETY: CMSG_SPACE is a pure size computation.
const _: () = assert!(unsafe { libc::CMSG_SPACE(4) } as usize <= CONTROL_LEN);

/// Turn `UDP_GRO` on. False when the kernel refuses (ENOPROTOOPT before
/// Linux 5.0, or a socket type without it).
pub(crate) fn enable(fd: RawFd) -> bool {
    crate::sys::set_int_option(fd, libc::SOL_UDP, libc::UDP_GRO, 1).is_ok()
}

/// The `UDP_GRO` segment size in the control bytes of a receive, if any.
/// The control area is parsed as the kernel lays it out (a sequence of
/// `cmsghdr`s, each padded to `CMSG_ALIGN`), from bytes so that it needs no
/// alignment and no `unsafe`; malformed areas yield `None`.
pub(crate) fn segment_size(control: &[u8]) -> Option<usize> {
    const LEN_SIZE: usize = std::mem::size_of::<usize>(); // cmsg_len: size_t
    const HDR: usize = std::mem::size_of::<libc::cmsghdr>();
    let align = |n: usize| n.next_multiple_of(LEN_SIZE);
    let int_at = |at: usize| -> Option<i32> {
        Some(i32::from_ne_bytes(
            control.get(at..at + 4)?.try_into().ok()?,
        ))
    };
    let mut at = 0;
    while at + HDR <= control.len() {
        let len = usize::from_ne_bytes(control.get(at..at + LEN_SIZE)?.try_into().ok()?);
        if len < HDR || at + len > control.len() {
            return None;
        }
        let (level, kind) = (int_at(at + LEN_SIZE)?, int_at(at + LEN_SIZE + 4)?);
        if level == libc::SOL_UDP && kind == libc::UDP_GRO && len >= HDR + 4 {
            let size = int_at(at + align(HDR))?;
            return usize::try_from(size).ok().filter(|&s| s > 0);
        }
        at += align(len);
    }
    None
}

/// The datagrams of one receive: all of it without a segment size (or when
/// it is not shorter than the receive), else `segment`-byte pieces, the last
/// possibly shorter. An empty receive is one empty datagram.
pub(crate) fn segments(payload: &mut [u8], segment: Option<usize>) -> Segments<'_> {
    Segments {
        rest: Some(payload),
        size: segment.filter(|&s| s > 0).unwrap_or(usize::MAX),
    }
}

/// Iterator returned by [`segments`]: disjoint mutable pieces of one buffer.
pub(crate) struct Segments<'a> {
    rest: Option<&'a mut [u8]>,
    size: usize,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a mut [u8];

    fn next(&mut self) -> Option<&'a mut [u8]> {
        let rest = self.rest.take()?;
        if rest.len() <= self.size {
            return Some(rest);
        }
        let (head, tail) = rest.split_at_mut(self.size);
        self.rest = Some(tail);
        Some(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A control area as the kernel writes it: one cmsg per (level, type,
    /// int value).
    fn control(msgs: &[(i32, i32, i32)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(level, kind, value) in msgs {
            // SAFETY: pure size computations.
            let (len, space) =
                unsafe { (libc::CMSG_LEN(4) as usize, libc::CMSG_SPACE(4) as usize) };
            let start = out.len();
            out.extend_from_slice(&len.to_ne_bytes());
            out.extend_from_slice(&level.to_ne_bytes());
            out.extend_from_slice(&kind.to_ne_bytes());
            out.extend_from_slice(&value.to_ne_bytes());
            out.resize(start + space, 0);
        }
        out
    }

    #[test]
    fn finds_the_gro_segment() {
        assert_eq!(
            segment_size(&control(&[(libc::SOL_UDP, libc::UDP_GRO, 1400)])),
            Some(1400)
        );
        let two = control(&[
            (libc::SOL_IP, libc::IP_TTL, 64),
            (libc::SOL_UDP, libc::UDP_GRO, 7),
        ]);
        assert_eq!(segment_size(&two), Some(7));
    }

    #[test]
    fn ignores_absent_and_malformed() {
        assert_eq!(segment_size(&[]), None);
        assert_eq!(
            segment_size(&control(&[(libc::SOL_IP, libc::IP_TTL, 64)])),
            None
        );
        assert_eq!(
            segment_size(&control(&[(libc::SOL_UDP, libc::UDP_GRO, 0)])),
            None
        );
        assert_eq!(
            segment_size(&control(&[(libc::SOL_UDP, libc::UDP_GRO, -5)])),
            None
        );
        let mut bad = control(&[(libc::SOL_UDP, libc::UDP_GRO, 1400)]);
        bad[..8].copy_from_slice(&1000usize.to_ne_bytes()); // longer than the area
        assert_eq!(segment_size(&bad), None);
        bad[..8].copy_from_slice(&0usize.to_ne_bytes()); // would never advance
        assert_eq!(segment_size(&bad), None);
        let short = control(&[(libc::SOL_UDP, libc::UDP_GRO, 1400)]);
        assert_eq!(segment_size(&short[..12]), None);
    }

    #[test]
    fn splits_into_segments() {
        let mut buf: Vec<u8> = (0..10).collect();
        let lens = |buf: &mut [u8], seg| segments(buf, seg).map(|s| s.len()).collect::<Vec<_>>();
        assert_eq!(lens(&mut buf, Some(4)), vec![4, 4, 2]);
        assert_eq!(lens(&mut buf, Some(5)), vec![5, 5]);
        assert_eq!(lens(&mut buf, None), vec![10]);
        assert_eq!(lens(&mut buf, Some(10)), vec![10]);
        assert_eq!(lens(&mut buf, Some(64)), vec![10]);
        assert_eq!(lens(&mut buf, Some(0)), vec![10]);
        assert_eq!(lens(&mut [], Some(4)), vec![0]);
        assert_eq!(lens(&mut [], None), vec![0]);
        let firsts: Vec<u8> = segments(&mut buf, Some(3)).map(|s| s[0]).collect();
        assert_eq!(firsts, vec![0, 3, 6, 9]);
    }
}
