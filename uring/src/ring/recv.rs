//! Receiving: registering sockets, arming multishot `RecvMsg`, lending each
//! datagram's buffer to the caller and giving it back.

use super::recvmsg_out::{self, Parsed};
use super::{Cqe, UdpSlot, UringReactor};
use crate::ids::{SocketId, Token};
use crate::sys;
use crate::{Completion, gro};
use io_uring::{cqueue, opcode, types};
use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

impl UringReactor {
    pub(super) fn add_socket(&mut self, socket: UdpSocket) -> io::Result<SocketId> {
        let v6 = socket.local_addr()?.is_ipv6();
        // io_uring never blocks this thread either way. With a blocking
        // socket, a send that finds the socket buffer full is parked inside
        // the kernel until there is room, instead of completing with EAGAIN
        // and losing the datagram.
        sys::set_nonblocking(socket.as_raw_fd(), false)?;
        crate::sockopt::prepare(
            socket.as_raw_fd(),
            &self.cfg,
            &mut self.features,
            &mut self.stats,
        );
        let index = u32::try_from(self.sockets.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many sockets"))?;
        self.sockets.push(UdpSlot {
            socket,
            v6,
            gso: self.features.gso,
            armed: false,
            error_streak: 0,
        });
        if let Err(e) = self.arm_recv(index as usize) {
            self.sockets.pop();
            return Err(e);
        }
        Ok(SocketId(index))
    }

    pub(super) fn arm_recv(&mut self, index: usize) -> io::Result<()> {
        let Some(slot) = self.sockets.get(index) else {
            return Ok(());
        };
        let entry = opcode::RecvMsgMulti::new(
            types::Fd(slot.socket.as_raw_fd()),
            &*self.recv_msghdr,
            self.bufs.group,
        )
        .build()
        .user_data(
            Token::Recv {
                socket: index as u32,
            }
            .encode(),
        );
        // SAFETY: `recv_msghdr` is boxed and lives as long as the ring; the
        // buffers come from the registered ring, which outlives the ring's
        // requests (see the field order of UringReactor); the socket stays
        // open in `self.sockets`.
        unsafe { self.push(&entry) }?;
        self.sockets[index].armed = true;
        Ok(())
    }

    /// One multishot receive completion: one datagram, or several of one
    /// sender coalesced by GRO, handed out one by one.
    pub(super) fn on_recv(
        &mut self,
        socket: u32,
        c: Cqe,
        f: &mut dyn FnMut(Completion<'_>),
    ) -> usize {
        let index = socket as usize;
        let known = index < self.sockets.len();
        if known && !cqueue::more(c.flags) {
            self.sockets[index].armed = false;
            self.need_rearm = true;
        }
        let Some(bid) = cqueue::buffer_select(c.flags) else {
            if c.result == -libc::ENOBUFS {
                self.stats.recv_no_buffers += 1;
            } else if c.result < 0 {
                self.stats.recv_errors += 1;
                self.note_recv_error(index, -c.result);
            }
            return 0;
        };
        let mut delivered = 0;
        if known && c.result >= 0 {
            // SAFETY: this completion handed `bid` to us, and it is provided
            // back only below, after the loan to `f` has ended.
            if let Some(buf) = unsafe { self.bufs.buffer_mut(bid) } {
                match recvmsg_out::parse(buf, c.result as usize) {
                    Parsed::Datagram {
                        from,
                        payload,
                        segment,
                    } => {
                        for datagram in gro::segments(&mut buf[payload], segment) {
                            f(Completion::Datagram {
                                socket: SocketId(socket),
                                from,
                                payload: datagram,
                            });
                            delivered += 1;
                        }
                        self.stats.gro_receives += u64::from(delivered > 1);
                    }
                    Parsed::Truncated => self.stats.recv_truncated += 1,
                    Parsed::BadAddress => self.stats.recv_bad_address += 1,
                }
            }
        }
        self.bufs.provide(bid);
        self.stats.datagrams_received += delivered as u64;
        if delivered > 0 {
            self.sockets[index].error_streak = 0;
        }
        delivered
    }

    fn note_recv_error(&mut self, index: usize, errno: i32) {
        let Some(s) = self.sockets.get_mut(index) else {
            return;
        };
        s.error_streak += 1;
        if s.error_streak == super::MAX_RECV_ERROR_STREAK {
            tracing::warn!(
                socket = index,
                errno,
                "receive keeps failing; no longer receiving on this socket"
            );
        }
    }
}
