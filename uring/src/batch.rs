//! Grouping queued datagrams into sends: the UDP GSO rule, shared by both
//! backends. Pure, table-tested.
//!
//! The kernel splits one `sendmsg` carrying a `UDP_SEGMENT` cmsg of size `s`
//! into datagrams of `s` bytes, the last possibly shorter (udp(7)). So a run
//! of consecutive datagrams can share one send when they go out of the same
//! socket to the same destination, all have the length of the first, except
//! that the last may be shorter; within the kernel's limits on segment count
//! and total size.

use crate::ids::SocketId;
use std::net::SocketAddr;

/// Kernel `UDP_MAX_SEGMENTS` (64 since Linux 4.18; later kernels allow 128,
/// 64 works everywhere).
pub(crate) const MAX_GSO_SEGMENTS: usize = 64;

/// Total payload of one GSO send. The kernel builds one IP packet before
/// segmenting, so the sum must fit in 65 507 bytes (IPv4: 65 535 minus the IP
/// and UDP headers); the margin leaves room for IP options.
pub(crate) const MAX_GSO_BYTES: usize = 64_000;

/// One queued datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Packet {
    pub(crate) socket: SocketId,
    pub(crate) dst: SocketAddr,
    pub(crate) len: u16,
}

/// A run of datagrams sent by one `sendmsg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Group {
    pub(crate) start: usize,
    pub(crate) count: usize,
    /// `Some(segment size)` when the run is a GSO send (≥ 2 datagrams).
    pub(crate) segment: Option<u16>,
}

/// The group starting at `packets[start]`. `gso_ok` says whether a socket may
/// use GSO (it is switched off per socket after the kernel refuses it).
/// `start` must be in range.
pub(crate) fn next_group(
    packets: &[Packet],
    start: usize,
    gso_ok: impl Fn(SocketId) -> bool,
) -> Group {
    let single = Group {
        start,
        count: 1,
        segment: None,
    };
    let Some(first) = packets.get(start) else {
        return Group { count: 0, ..single };
    };
    // A zero-length first datagram would mean a zero segment size, which the
    // kernel reads as "no GSO".
    if first.len == 0 || !gso_ok(first.socket) {
        return single;
    }
    let segment = usize::from(first.len);
    let mut count = 1;
    let mut total = segment;
    for p in &packets[start + 1..] {
        let len = usize::from(p.len);
        if count == MAX_GSO_SEGMENTS
            || p.socket != first.socket
            || p.dst != first.dst
            || len > segment
            || total + len > MAX_GSO_BYTES
        {
            break;
        }
        count += 1;
        total += len;
        if len < segment {
            break; // only the last segment may be shorter
        }
    }
    Group {
        start,
        count,
        segment: (count >= 2).then_some(first.len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pk(socket: u32, dst: u16, len: u16) -> Packet {
        Packet {
            socket: SocketId(socket),
            dst: SocketAddr::from(([127, 0, 0, 1], dst)),
            len,
        }
    }

    /// A planned group as (count, segment).
    type Planned = (usize, Option<u16>);

    /// All groups of `packets`.
    fn plan(packets: &[Packet], gso: bool) -> Vec<Planned> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < packets.len() {
            let g = next_group(packets, i, |_| gso);
            assert_eq!(g.start, i);
            assert!(g.count >= 1);
            out.push((g.count, g.segment));
            i += g.count;
        }
        out
    }

    #[test]
    fn table() {
        let cases: &[(&str, Vec<Packet>, Vec<Planned>)] = &[
            ("single", vec![pk(0, 1, 100)], vec![(1, None)]),
            ("same size", vec![pk(0, 1, 100); 3], vec![(3, Some(100))]),
            (
                "shorter last",
                vec![pk(0, 1, 100), pk(0, 1, 100), pk(0, 1, 40)],
                vec![(3, Some(100))],
            ),
            (
                "shorter ends the run",
                vec![pk(0, 1, 100), pk(0, 1, 40), pk(0, 1, 40)],
                vec![(2, Some(100)), (1, None)],
            ),
            (
                "longer starts a new run",
                vec![pk(0, 1, 40), pk(0, 1, 100), pk(0, 1, 100)],
                vec![(1, None), (2, Some(100))],
            ),
            (
                "destination change",
                vec![pk(0, 1, 100), pk(0, 1, 100), pk(0, 2, 100), pk(0, 2, 100)],
                vec![(2, Some(100)), (2, Some(100))],
            ),
            (
                "socket change",
                vec![pk(0, 1, 100), pk(1, 1, 100)],
                vec![(1, None), (1, None)],
            ),
            (
                "zero length",
                vec![pk(0, 1, 0), pk(0, 1, 0)],
                vec![(1, None), (1, None)],
            ),
            (
                "segment cap",
                vec![pk(0, 1, 10); MAX_GSO_SEGMENTS + 1],
                vec![(MAX_GSO_SEGMENTS, Some(10)), (1, None)],
            ),
            (
                "byte cap",
                // 45 × 1400 = 63 000 fits, the 46th would exceed 64 000.
                vec![pk(0, 1, 1400); 50],
                vec![(45, Some(1400)), (5, Some(1400))],
            ),
        ];
        for (name, packets, want) in cases {
            assert_eq!(&plan(packets, true), want, "{name}");
        }
    }

    #[test]
    fn no_gso_means_singles() {
        let packets = vec![pk(0, 1, 100); 4];
        assert_eq!(plan(&packets, false), vec![(1, None); 4]);
    }

    #[test]
    fn per_socket_switch() {
        let packets = vec![pk(0, 1, 100), pk(0, 1, 100), pk(1, 1, 100), pk(1, 1, 100)];
        let groups: Vec<_> = [0, 2]
            .iter()
            .map(|&i| next_group(&packets, i, |s| s == SocketId(1)))
            .collect();
        assert_eq!(groups[0].count, 1);
        assert_eq!(groups[1].segment, Some(100));
    }
}
