//! Start-up probe: does this kernel run multishot `RecvMsg` with our buffer
//! ring, and multishot `PollAdd`? Opcode probing cannot tell (the multishot
//! flags arrived after the opcodes), so we try them on the real ring with a
//! Unix datagram socketpair (no network needed: works in an empty network
//! namespace) and then cancel what is left.

use super::{CQE_BATCH, Cqe, UringReactor};
use crate::ids::Token;
use crate::sys;
use io_uring::{cqueue, opcode, types};
use std::io;
use std::os::fd::AsRawFd;

const RECV: u32 = 0;
const POLL: u32 = 1;
const DEADLINE: u32 = 2;

impl UringReactor {
    pub(super) fn probe_multishot(&mut self) -> io::Result<()> {
        let (a, b) = sys::datagram_socketpair()?;
        let limit = types::Timespec::new().sec(1);
        let entries = [
            opcode::RecvMsgMulti::new(
                types::Fd(a.as_raw_fd()),
                &*self.recv_msghdr,
                self.bufs.group,
            )
            .build()
            .user_data(Token::Probe { what: RECV }.encode()),
            opcode::PollAdd::new(types::Fd(b.as_raw_fd()), libc::POLLOUT as u32)
                .multi(true)
                .build()
                .user_data(Token::Probe { what: POLL }.encode()),
            opcode::Timeout::new(&limit)
                .build()
                .user_data(Token::Probe { what: DEADLINE }.encode()),
        ];
        for e in &entries {
            // SAFETY: the msghdr is boxed in `self`; `limit` and both sockets
            // outlive this function's submissions (made by `enter` below) and
            // everything still in flight is cancelled before they are dropped.
            unsafe { self.push(e) }?;
        }
        sys::write(b.as_raw_fd(), b"probe")?;

        let (mut recv, mut poll) = (None, None);
        let mut batch = [Cqe::default(); CQE_BATCH];
        'wait: while recv.is_none() || poll.is_none() {
            match self.enter(1) {
                Err(e) if e.kind() != io::ErrorKind::Interrupted => return Err(e),
                _ => {}
            }
            let n = self.pop_cqes(&mut batch, CQE_BATCH);
            for c in &batch[..n] {
                let ok = c.result >= 0 && cqueue::more(c.flags);
                match Token::decode(c.user_data) {
                    Token::Probe { what: RECV } => recv = Some(ok),
                    Token::Probe { what: POLL } => poll = Some(ok),
                    Token::Probe { what: DEADLINE } => break 'wait,
                    _ => {}
                }
                if let Some(bid) = cqueue::buffer_select(c.flags) {
                    self.bufs.provide(bid);
                }
            }
        }
        self.bufs.publish();

        // Cancel the probe's leftovers (the multishots, the deadline) and wait
        // for them, so the sockets and `limit` may go. Their final completions
        // are ignored by `handle` like any probe completion.
        let cancel_limit = types::Timespec::new().sec(1);
        let cancelled = self
            .ring
            .submitter()
            .register_sync_cancel(Some(cancel_limit), types::CancelBuilder::any());
        let missing = match (recv, poll) {
            (Some(true), Some(true)) => None,
            (Some(true), _) => Some("multishot PollAdd (Linux 5.13)"),
            _ => Some("multishot RecvMsg (Linux 6.0)"),
        };
        if let Some(what) = missing {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("io_uring lacks {what}"),
            ));
        }
        cancelled.map_err(|e| io::Error::new(e.kind(), format!("synchronous cancel: {e}")))
    }
}
