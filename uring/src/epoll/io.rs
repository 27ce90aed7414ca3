//! The std backend's datagram I/O: `recvmsg` into the one receive buffer,
//! synchronous `sendmsg` of the pool's ops with the GSO fallback.

use super::{RECV_BUDGET, StdReactor};
use crate::ids::SocketId;
use crate::sockaddr::{self, NAME_LEN};
use crate::{Completion, gro};
use std::os::fd::AsRawFd;

impl StdReactor {
    /// Up to `RECV_BUDGET` receives from socket `socket` (each one datagram,
    /// or several coalesced by GRO).
    pub(super) fn recv_socket(&mut self, socket: u32, f: &mut dyn FnMut(Completion<'_>)) -> usize {
        let Some(s) = self.sockets.get(socket as usize) else {
            return 0;
        };
        let fd = s.socket.as_raw_fd();
        let mut delivered = 0;
        for _ in 0..RECV_BUDGET {
            let mut iov = libc::iovec {
                iov_base: self.recv_buf.as_mut_ptr().cast(),
                iov_len: self.recv_buf.len(),
            };
            // SAFETY: all-zero is a valid msghdr; the pointers set next are.
            let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
            hdr.msg_name = self.name.0.as_mut_ptr().cast();
            hdr.msg_namelen = NAME_LEN as libc::socklen_t;
            hdr.msg_iov = &mut iov;
            hdr.msg_iovlen = 1;
            hdr.msg_control = self.control.0.as_mut_ptr().cast();
            hdr.msg_controllen = self.control.0.len() as _;
            // SAFETY: name, control and iovec point at buffers we own, valid
            // for writes of the lengths given, for the duration of the call.
            let n = unsafe { libc::recvmsg(fd, &mut hdr, libc::MSG_DONTWAIT) };
            let Ok(len) = usize::try_from(n) else {
                match std::io::Error::last_os_error().raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => break,
                    _ => {
                        self.stats.recv_errors += 1;
                        break;
                    }
                }
            };
            if hdr.msg_flags & libc::MSG_TRUNC != 0 {
                self.stats.recv_truncated += 1;
                continue;
            }
            let name_len = (hdr.msg_namelen as usize).min(NAME_LEN);
            let Some(from) = sockaddr::parse(&self.name.0[..name_len]) else {
                self.stats.recv_bad_address += 1;
                continue;
            };
            let control_len = (hdr.msg_controllen as usize).min(self.control.0.len());
            let segment = gro::segment_size(&self.control.0[..control_len]);
            let before = delivered;
            for datagram in gro::segments(&mut self.recv_buf[..len], segment) {
                f(Completion::Datagram {
                    socket: SocketId(socket),
                    from,
                    payload: datagram,
                });
                delivered += 1;
            }
            self.stats.gro_receives += u64::from(delivered - before > 1);
        }
        self.stats.datagrams_received += delivered as u64;
        delivered
    }

    /// Send op `op` of the pool now.
    pub(super) fn send_op(&mut self, op: usize) {
        let Some(o) = self.arena.op(op) else {
            return;
        };
        let (socket, count, gso) = (o.socket, o.count as u64, o.gso);
        let Some(s) = self.sockets.get(socket.index()) else {
            self.stats.send_errors += count;
            return;
        };
        let (fd, v6) = (s.socket.as_raw_fd(), s.v6);
        let errno = loop {
            // SAFETY: the msghdr and everything it points at live in the pool
            // and are not modified during the call.
            let n = unsafe { libc::sendmsg(fd, self.arena.msghdr(op), libc::MSG_DONTWAIT) };
            if n >= 0 {
                self.stats.datagrams_sent += count;
                self.stats.send_calls += 1;
                self.stats.gso_batches_sent += u64::from(gso);
                return;
            }
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                e => break e.unwrap_or(0),
            }
        };
        match errno {
            libc::EIO | libc::EINVAL if gso => {
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
                let singles = self.arena.split(op, v6);
                self.stats.send_errors += count.saturating_sub(singles.len() as u64);
                for single in singles {
                    self.send_op(single); // not GSO: no further recursion
                }
            }
            libc::EAGAIN | libc::ENOBUFS => self.stats.send_would_block += count,
            _ => self.stats.send_errors += count,
        }
    }
}
