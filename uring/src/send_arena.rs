//! A preallocated pool of send slots and the `msghdr`s that send them.
//!
//! How to drive it: `push` datagrams (copies into slot `i`, sets `iov[i]`)
//! until full → `plan` groups them into ops (one `msghdr` each, GSO cmsg when
//! the group has ≥ 2 datagrams, see `batch`) → hand `msghdr(op)` to the kernel
//! → when an op fails because the kernel refused GSO, `split` turns it into
//! one op per datagram → `clear` once every op has completed.
//!
//! Everything the kernel reads (payload bytes, iovecs, names, cmsgs, msghdrs)
//! lives here at stable heap addresses, so an io_uring `SendMsg` can point at
//! it until its completion arrives. An arena is either filling (Rust writes)
//! or in flight (the kernel reads), never both: that is the whole aliasing
//! discipline, enforced by `in_flight`.

use crate::batch::{self, Packet};
use crate::ids::SocketId;
use crate::mem::Region;
use crate::sockaddr::{self, RawSockAddr};
use std::io;
use std::net::SocketAddr;
use std::ops::Range;

/// `CMSG_SPACE(sizeof(u16))`: one `UDP_SEGMENT` control message.
// SAFETY: CMSG_SPACE is a pure size computation.
const SEGMENT_CMSG_SPACE: usize = unsafe { libc::CMSG_SPACE(2) } as usize;

/// Room for one `UDP_SEGMENT` cmsg, aligned like a `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 32]);

const _: () = assert!(SEGMENT_CMSG_SPACE <= std::mem::size_of::<CmsgBuf>());

/// One `sendmsg`: a run of consecutive slots to one destination.
pub(crate) struct SendOp {
    hdr: libc::msghdr,
    name: RawSockAddr,
    control: CmsgBuf,
    pub(crate) socket: SocketId,
    pub(crate) start: usize,
    pub(crate) count: usize,
    /// Carries a `UDP_SEGMENT` cmsg.
    pub(crate) gso: bool,
    /// Sent with `SENDMSG_ZC`: its pool is released by the notification.
    pub(crate) zerocopy: bool,
}

impl SendOp {
    fn empty() -> SendOp {
        SendOp {
            // SAFETY: all-zero is a valid msghdr (null pointers, zero lengths).
            hdr: unsafe { std::mem::zeroed() },
            name: RawSockAddr::unspecified(),
            control: CmsgBuf([0; 32]),
            socket: SocketId(0),
            start: 0,
            count: 0,
            gso: false,
            zerocopy: false,
        }
    }
}

pub(crate) struct SendArena {
    slot_len: usize,
    data: Region,
    /// Queued datagrams, in order; capacity = slots, never reallocated.
    packets: Vec<Packet>,
    /// `iov[i]` covers the payload in slot `i`.
    iov: Box<[libc::iovec]>,
    /// Up to 2 × slots: one per group, plus one per datagram of groups split
    /// after a GSO refusal (each datagram is split at most once).
    ops: Box<[SendOp]>,
    n_ops: usize,
    /// Ops handed to the kernel and not completed yet.
    pub(crate) in_flight: usize,
}

impl SendArena {
    pub(crate) fn new(slots: usize, slot_len: usize) -> io::Result<SendArena> {
        let data = Region::new(slots * slot_len)?;
        let iov = (0..slots)
            .map(|i| libc::iovec {
                // Stays in bounds: i * slot_len < slots * slot_len ≤ data.len().
                iov_base: data.as_ptr().wrapping_add(i * slot_len).cast(),
                iov_len: 0,
            })
            .collect();
        let ops = (0..2 * slots).map(|_| SendOp::empty()).collect();
        Ok(SendArena {
            slot_len,
            data,
            packets: Vec::with_capacity(slots),
            iov,
            ops,
            n_ops: 0,
            in_flight: 0,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.packets.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.packets.len() == self.iov.len()
    }

    /// Neither queued datagrams nor ops in flight: free to fill.
    pub(crate) fn is_idle(&self) -> bool {
        self.packets.is_empty() && self.in_flight == 0
    }

    /// Copy a datagram into the next slot. False when full, in flight, or
    /// longer than a slot.
    pub(crate) fn push(&mut self, socket: SocketId, dst: SocketAddr, payload: &[u8]) -> bool {
        let i = self.packets.len();
        if self.in_flight > 0 || i == self.iov.len() || payload.len() > self.slot_len {
            return false;
        }
        let Ok(len) = u16::try_from(payload.len()) else {
            return false;
        };
        // SAFETY: slot `i` spans [i * slot_len, (i + 1) * slot_len) inside the
        // region (i < slots) and payload fits in it; the arena is not in
        // flight, so the kernel is not reading it; `payload` is a Rust slice
        // and cannot overlap our private mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(
                payload.as_ptr(),
                self.data.as_ptr().add(i * self.slot_len),
                payload.len(),
            );
        }
        self.iov[i].iov_len = payload.len();
        self.packets.push(Packet { socket, dst, len });
        true
    }

    /// Group the queued datagrams into ops. `socket_info(s)` is
    /// `(gso allowed, socket is IPv6)`. Returns the new ops' indices.
    pub(crate) fn plan(&mut self, socket_info: impl Fn(SocketId) -> (bool, bool)) -> Range<usize> {
        let first_op = self.n_ops;
        let mut i = 0;
        while i < self.packets.len() && self.n_ops < self.ops.len() {
            let g = batch::next_group(&self.packets, i, |s| socket_info(s).0);
            let v6 = socket_info(self.packets[i].socket).1;
            self.build_op(g.start, g.count, g.segment, v6);
            i += g.count.max(1);
        }
        first_op..self.n_ops
    }

    /// Replace GSO op `op` (which the kernel refused) by one op per datagram.
    /// Returns the new ops' indices.
    pub(crate) fn split(&mut self, op: usize, v6: bool) -> Range<usize> {
        let first_op = self.n_ops;
        let Some(o) = self.ops.get(op) else {
            return first_op..first_op;
        };
        let (start, count) = (o.start, o.count);
        for i in start..start + count {
            if self.n_ops == self.ops.len() {
                break;
            }
            self.build_op(i, 1, None, v6);
        }
        first_op..self.n_ops
    }

    fn build_op(&mut self, start: usize, count: usize, segment: Option<u16>, v6: bool) {
        let Some(first) = self.packets.get(start).copied() else {
            return;
        };
        let iov = self.iov[start..].as_mut_ptr();
        let op = &mut self.ops[self.n_ops];
        self.n_ops += 1;
        let (name, name_len) = RawSockAddr::new(sockaddr::for_socket(first.dst, v6));
        op.name = name;
        op.socket = first.socket;
        op.start = start;
        op.count = count;
        op.gso = segment.is_some();
        op.zerocopy = false;
        op.hdr.msg_name = (&raw mut op.name).cast();
        op.hdr.msg_namelen = name_len;
        op.hdr.msg_iov = iov;
        op.hdr.msg_iovlen = count as _;
        op.hdr.msg_flags = 0;
        match segment {
            Some(size) => {
                op.hdr.msg_control = op.control.0.as_mut_ptr().cast();
                op.hdr.msg_controllen = SEGMENT_CMSG_SPACE as _;
                // SAFETY: msg_control points at `op.control`, which is
                // 8-aligned and at least CMSG_SPACE(2) bytes, and
                // msg_controllen says so; the first header and its two data
                // bytes therefore lie inside it.
                unsafe {
                    let c = libc::CMSG_FIRSTHDR(&op.hdr);
                    (*c).cmsg_level = libc::SOL_UDP;
                    (*c).cmsg_type = libc::UDP_SEGMENT;
                    (*c).cmsg_len = libc::CMSG_LEN(2) as _;
                    libc::CMSG_DATA(c).cast::<u16>().write_unaligned(size);
                }
            }
            None => {
                op.hdr.msg_control = std::ptr::null_mut();
                op.hdr.msg_controllen = 0;
            }
        }
    }

    /// Payload bytes of op `op` and the pages they touch (0 for an unknown
    /// op). The pages bound a zero-copy send: the kernel maps each into one
    /// skb fragment and refuses (EMSGSIZE) more than `MAX_SKB_FRAGS` (17).
    pub(crate) fn op_bytes_and_pages(&self, op: usize) -> (usize, usize) {
        let page = crate::mem::page_size();
        self.op(op).map_or((0, 0), |o| {
            self.iov[o.start..o.start + o.count]
                .iter()
                .filter(|v| v.iov_len > 0)
                .fold((0, 0), |(bytes, pages), v| {
                    let first = v.iov_base as usize / page;
                    let last = (v.iov_base as usize + v.iov_len - 1) / page;
                    (bytes + v.iov_len, pages + last - first + 1)
                })
        })
    }

    pub(crate) fn op(&self, op: usize) -> Option<&SendOp> {
        self.ops[..self.n_ops].get(op)
    }

    /// The `msghdr` of op `op`, valid until `clear`.
    /// Mark op `op` as sent with `SENDMSG_ZC`.
    pub(crate) fn set_zerocopy(&mut self, op: usize) {
        if let Some(o) = self.ops[..self.n_ops].get_mut(op) {
            o.zerocopy = true;
        }
    }

    pub(crate) fn msghdr(&self, op: usize) -> *const libc::msghdr {
        &self.ops[op].hdr
    }

    /// Forget queued datagrams and ops. Only once nothing is in flight.
    pub(crate) fn clear(&mut self) {
        debug_assert_eq!(self.in_flight, 0);
        self.packets.clear();
        self.n_ops = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dst(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn plans_and_splits_without_growing() {
        let mut a = SendArena::new(4, 100).unwrap();
        assert!(a.push(SocketId(0), dst(1), &[1; 100]));
        assert!(a.push(SocketId(0), dst(1), &[2; 100]));
        assert!(a.push(SocketId(0), dst(1), &[3; 60]));
        assert!(
            !a.push(SocketId(0), dst(1), &[4; 101]),
            "longer than a slot"
        );
        assert!(a.push(SocketId(0), dst(2), &[5; 10]));
        assert!(a.is_full());
        assert!(!a.push(SocketId(0), dst(2), &[6; 10]));

        let ops = a.plan(|_| (true, false));
        assert_eq!(ops, 0..2);
        let o = a.op(0).unwrap();
        assert_eq!((o.start, o.count, o.gso), (0, 3, true));
        let o = a.op(1).unwrap();
        assert_eq!((o.start, o.count, o.gso), (3, 1, false));
        // SAFETY: op 0 was just built; its cmsg lies in the op.
        let seg = unsafe {
            let h = &*a.msghdr(0);
            assert_eq!(h.msg_iovlen, 3);
            let c = libc::CMSG_FIRSTHDR(h);
            assert_eq!(
                ((*c).cmsg_level, (*c).cmsg_type),
                (libc::SOL_UDP, libc::UDP_SEGMENT)
            );
            libc::CMSG_DATA(c).cast::<u16>().read_unaligned()
        };
        assert_eq!(seg, 100);

        assert_eq!(a.split(0, false), 2..5);
        for (op, slot) in (2..5).zip(0..3) {
            let o = a.op(op).unwrap();
            assert_eq!((o.start, o.count, o.gso), (slot, 1, false));
            // SAFETY: the op was just built.
            assert!(unsafe { (*a.msghdr(op)).msg_control.is_null() });
        }
        // SAFETY: iov[2] points into the arena's region at slot 2.
        let third = unsafe { std::slice::from_raw_parts(a.iov[2].iov_base.cast::<u8>(), 60) };
        assert!(third.iter().all(|&b| b == 3));
        a.clear();
        assert!(a.is_idle());
    }
}
