//! Sending: datagrams are copied into the filling pool; `flush` turns the
//! pool into `SendMsg` entries (GSO groups, see `batch`) and submits them. A
//! pool is reusable once all its entries have completed.
//!
//! When no pool is idle, `reap_sends` takes completions off the CQ without
//! waiting: send completions free their pool, every other completion is
//! stashed for the next `wait` (so datagrams are neither lost nor reordered).

use super::{CQE_BATCH, Cqe, UringReactor};
use crate::ids::{SocketId, Token};
use io_uring::{cqueue, opcode, types};

/// `IORING_SEND_ZC_REPORT_USAGE` (in the entry's ioprio): the notification
/// says whether the kernel had to copy after all.
const SEND_ZC_REPORT_USAGE: u16 = 1 << 3;
/// A zero-copy send maps each page piece of each iovec into an skb fragment;
/// the kernel refuses more than `MAX_SKB_FRAGS` (17 by default) with
/// EMSGSIZE. Sends that need more are copied. One datagram per send slot is
/// one fragment (2 KiB slots never straddle a page), so a zero-copy GSO train
/// carries at most 16 datagrams (~22 KB), never a full 64 KB train.
const ZC_MAX_PAGES: usize = 16;
/// `IORING_NOTIF_USAGE_ZC_COPIED`, set in the notification's result.
const NOTIF_USAGE_ZC_COPIED: u32 = 1 << 31;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

impl UringReactor {
    pub(super) fn queue(
        &mut self,
        socket: SocketId,
        dst: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()> {
        if socket.index() >= self.sockets.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "unknown socket",
            ));
        }
        if payload.len() > self.send_buffer_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "datagram longer than send_buffer_len",
            ));
        }
        let Some(a) = self.filling_arena()? else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let arena = &mut self.arenas[a];
        if !arena.push(socket, dst, payload) {
            return Err(io::ErrorKind::WouldBlock.into()); // not reached: checked above
        }
        if arena.is_full() {
            self.flush_sends()?;
        }
        Ok(())
    }

    /// The pool to copy into: the current one, an idle one, or one freed by
    /// reaping send completions.
    fn filling_arena(&mut self) -> io::Result<Option<usize>> {
        if self.filling.is_none() {
            self.filling = self.idle_arena();
        }
        if self.filling.is_none() {
            self.reap_sends()?;
            self.filling = self.idle_arena();
        }
        Ok(self.filling)
    }

    fn idle_arena(&self) -> Option<usize> {
        self.arenas.iter().position(|a| a.is_idle())
    }

    pub(super) fn flush_sends(&mut self) -> io::Result<()> {
        if let Some(a) = self.filling.take() {
            if self.arenas[a].len() == 0 {
                self.filling = Some(a);
            } else {
                let sockets = &self.sockets;
                let ops = self.arenas[a].plan(|s| {
                    sockets
                        .get(s.index())
                        .map_or((false, false), |slot| (slot.gso, slot.v6))
                });
                for op in ops {
                    self.submit_op(a, op);
                }
                if self.arenas[a].in_flight == 0 {
                    self.arenas[a].clear(); // nothing could be queued
                }
            }
        }
        if self.ring.submission().is_empty() {
            return Ok(()); // nothing to hand over: spare the syscall
        }
        match self.enter(0) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
            _ => Ok(()),
        }
    }

    /// Queue op `op` of pool `a`; its datagrams count as send errors when the
    /// SQ cannot take it.
    fn submit_op(&mut self, a: usize, op: usize) {
        let Some(o) = self.arenas[a].op(op) else {
            return;
        };
        let count = o.count as u64;
        let Some(slot) = self.sockets.get(o.socket.index()) else {
            self.stats.send_errors += count;
            return;
        };
        let fd = types::Fd(slot.socket.as_raw_fd());
        let msg = self.arenas[a].msghdr(op);
        let user_data = Token::Send {
            arena: a as u32,
            op: op as u32,
        }
        .encode();
        let (bytes, pages) = self.arenas[a].op_bytes_and_pages(op);
        let zerocopy = self
            .features
            .zerocopy_from
            .is_some_and(|from| bytes >= from && pages <= ZC_MAX_PAGES);
        let entry = if zerocopy {
            opcode::SendMsgZc::new(fd, msg)
                .ioprio(SEND_ZC_REPORT_USAGE)
                .build()
                .user_data(user_data)
        } else {
            opcode::SendMsg::new(fd, msg).build().user_data(user_data)
        };
        // SAFETY: the msghdr, its name, cmsg, iovecs and payload bytes live in
        // pool `a`, which is neither written nor cleared while its in_flight
        // count is non-zero, i.e. until this op has completed (for a
        // zero-copy send: until its notification, which says the kernel has
        // let go of the pages); the socket stays open in `self.sockets`.
        match unsafe { self.push(&entry) } {
            Ok(()) => {
                self.arenas[a].in_flight += 1;
                if zerocopy {
                    self.arenas[a].set_zerocopy(op);
                }
            }
            Err(_) => self.stats.send_errors += count,
        }
    }

    /// A send completed, or (zero-copy) its notification arrived.
    pub(super) fn on_send(&mut self, a: usize, op: usize, result: i32, flags: u32) {
        let Some(o) = self.arenas.get(a).and_then(|arena| arena.op(op)) else {
            return;
        };
        let (socket, count, gso, zerocopy) = (o.socket, o.count as u64, o.gso, o.zerocopy);
        if zerocopy && cqueue::notif(flags) {
            // The kernel is done with the pages: the op is over.
            self.stats.zerocopy_copied += u64::from(result as u32 & NOTIF_USAGE_ZC_COPIED != 0);
            self.release(a);
            return;
        }
        if result >= 0 {
            self.stats.datagrams_sent += count;
            self.stats.send_calls += 1;
            self.stats.gso_batches_sent += u64::from(gso);
            self.stats.zerocopy_sends += u64::from(zerocopy);
        } else if gso && matches!(-result, libc::EIO | libc::EINVAL) {
            self.disable_gso(socket, -result);
            // The payloads are still in the pool: send them one by one.
            let v6 = self.sockets.get(socket.index()).is_some_and(|s| s.v6);
            let singles = self.arenas[a].split(op, v6);
            let lost = count.saturating_sub(singles.len() as u64);
            self.stats.send_errors += lost;
            for single in singles {
                self.submit_op(a, single);
            }
        } else if matches!(-result, libc::EAGAIN | libc::ENOBUFS) {
            self.stats.send_would_block += count;
        } else {
            self.stats.send_errors += count;
        }
        // A zero-copy send with IORING_CQE_F_MORE is followed by its
        // notification, which releases the op.
        if !(zerocopy && cqueue::more(flags)) {
            self.release(a);
        }
    }

    /// One op of pool `a` is over; the pool is idle after the last.
    fn release(&mut self, a: usize) {
        let arena = &mut self.arenas[a];
        arena.in_flight = arena.in_flight.saturating_sub(1);
        if arena.in_flight == 0 {
            arena.clear();
        }
    }

    fn disable_gso(&mut self, socket: SocketId, errno: i32) {
        if let Some(s) = self.sockets.get_mut(socket.index())
            && s.gso
        {
            s.gso = false;
            self.stats.gso_disabled += 1;
            tracing::warn!(
                socket = socket.index(),
                errno,
                "kernel refused UDP GSO; sending datagram by datagram on this socket"
            );
        }
    }

    /// Take completions off the CQ without waiting, handling sends and
    /// stashing the rest, until the CQ is empty or the stash full.
    fn reap_sends(&mut self) -> io::Result<()> {
        match self.enter(0) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => return Err(e),
            _ => {}
        }
        let mut batch = [Cqe::default(); CQE_BATCH];
        loop {
            let room = self.stash.capacity() - self.stash.len();
            let n = self.pop_cqes(&mut batch, room);
            if n == 0 {
                return Ok(());
            }
            for c in &batch[..n] {
                match Token::decode(c.user_data) {
                    Token::Send { arena, op } => {
                        self.on_send(arena as usize, op as usize, c.result, c.flags)
                    }
                    _ => self.stash.push(*c),
                }
            }
        }
    }
}
