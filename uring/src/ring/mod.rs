//! The io_uring backend: one ring per thread.
//!
//! - Receive: one multishot `RecvMsg` per UDP socket, all drawing from one
//!   provided buffer ring (`buf_ring`). A completion without
//!   `IORING_CQE_F_MORE` (ENOBUFS when the buffers ran out, CQ overflow…)
//!   ends the multishot; it is re-armed after the completions of that wait
//!   are handled and their buffers are back (`recv`).
//! - Send: datagrams are copied into one of two send pools (`SendArena`);
//!   `flush` groups them (GSO when possible) into `SendMsg` entries that
//!   point into the pool until they complete (`send`). Sends of at least
//!   `ReactorConfig::zerocopy_from` bytes (off by default) use `SendMsgZc`,
//!   whose pool is released by the notification that follows the result.
//! - Readiness: multishot `PollAdd` per watched fd (`watch`).
//! - Time: at most one `Timeout` entry, replaced when the deadline changes
//!   (`timer`).
//!
//! Every enter carries `IORING_ENTER_GETEVENTS`, which DEFER_TASKRUN needs to
//! run the deferred completion work. Completions that arrive while the send
//! path reclaims a pool (`reap_sends`) are stashed and handed out by the next
//! `wait`, in order.

mod buf_ring;
mod probe;
mod recv;
mod recvmsg_out;
mod send;
mod setup;
mod timer;
mod watch;

use crate::config::{Backend, ReactorConfig};
use crate::features::Features;
use crate::ids::{SocketId, Token, WatchId};
use crate::send_arena::SendArena;
use crate::stats::Stats;
use crate::{Completion, Reactor, sys};
use buf_ring::BufRing;
use io_uring::{IoUring, cqueue, squeue, types};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

/// Two send pools: one fills while the other may still be in flight.
const SEND_ARENAS: usize = 2;
/// Completions copied out of the CQ at a time.
const CQE_BATCH: usize = 64;
/// `IORING_ENTER_GETEVENTS` (linux/io_uring.h).
const ENTER_GETEVENTS: u32 = 1;
/// The buffer group of the receive buffer ring.
const RECV_GROUP: u16 = 0;
/// Receive buffers are padded to whole cache lines.
const BUFFER_ALIGN: usize = 64;

/// A completion copied out of the ring.
#[derive(Clone, Copy, Debug, Default)]
struct Cqe {
    user_data: u64,
    result: i32,
    flags: u32,
}

struct UdpSlot {
    socket: UdpSocket,
    v6: bool,
    /// Cleared for good when the kernel refuses a GSO send (EIO/EINVAL).
    gso: bool,
    /// A multishot receive is in flight.
    armed: bool,
    /// Receives ended by an error (not ENOBUFS) since the last datagram.
    error_streak: u32,
}

/// After this many receive errors in a row without a datagram, a socket is
/// no longer re-armed: a persistent error would otherwise spin `wait`.
const MAX_RECV_ERROR_STREAK: u32 = 64;

pub(crate) struct UringReactor {
    // Field order is drop order: the ring goes first, so the kernel has let
    // go of the buffers, send pools and msghdrs below before they are freed.
    ring: IoUring,
    bufs: BufRing,
    /// Template for every multishot `RecvMsg` (name and control field sizes).
    recv_msghdr: Box<libc::msghdr>,
    sockets: Vec<UdpSlot>,
    watches: watch::Watches,
    arenas: Vec<SendArena>,
    /// The pool `queue_send` copies into; `None` until one is idle.
    filling: Option<usize>,
    send_buffer_len: usize,
    /// Per-socket settings applied by `add_udp`.
    cfg: ReactorConfig,
    /// Completions taken off the CQ by `reap_sends` that are not sends.
    stash: Vec<Cqe>,
    /// Some multishot receive or poll ended and must be re-armed.
    need_rearm: bool,
    timer: timer::Timer,
    features: Features,
    stats: Stats,
}

impl UringReactor {
    pub(crate) fn new(cfg: &ReactorConfig) -> io::Result<UringReactor> {
        if cfg.force_unavailable_for_tests {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "simulated for tests: io_uring_setup failed with EPERM",
            ));
        }
        if sys::io_uring_disabled() == Some(2) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "kernel.io_uring_disabled=2",
            ));
        }
        let ops_per_arena = 2 * cfg.send_batch;
        let sq_entries = ops_per_arena.next_power_of_two().clamp(64, 4096) as u32;
        // Room for a completion per receive buffer and per send op, so that
        // the CQ cannot overflow in normal operation.
        let cq_entries = (usize::from(cfg.recv_buffers) + SEND_ARENAS * ops_per_arena + 64)
            .next_power_of_two()
            .clamp(2 * sq_entries as usize, 65536) as u32;
        let (ring, flags) = setup::build(sq_entries, cq_entries)
            .map_err(|e| io::Error::new(e.kind(), format!("io_uring_setup: {e}")))?;
        let zerocopy_supported = setup::check_opcodes(&ring)?;

        let stride =
            (recvmsg_out::PAYLOAD_OFFSET + cfg.recv_buffer_len).next_multiple_of(BUFFER_ALIGN);
        let bufs = BufRing::new(cfg.recv_buffers, stride, RECV_GROUP)?;
        bufs.register(&ring.submitter()).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("provided buffer ring (Linux 5.19) not available: {e}"),
            )
        })?;

        // SAFETY: all-zero is a valid msghdr; we then set the name length the
        // kernel reserves in each buffer. No iovec: the buffer comes from the
        // ring.
        let mut recv_msghdr: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
        recv_msghdr.msg_namelen = crate::sockaddr::NAME_LEN as libc::socklen_t;
        recv_msghdr.msg_controllen = recvmsg_out::CONTROL_LEN;

        let arenas = (0..SEND_ARENAS)
            .map(|_| SendArena::new(cfg.send_batch, cfg.send_buffer_len))
            .collect::<io::Result<Vec<_>>>()?;
        let cq_capacity = ring.params().cq_entries() as usize;
        let features = Features {
            backend: Backend::Uring,
            multishot_recvmsg: false,
            buf_ring: true,
            single_issuer: flags.single_issuer,
            defer_taskrun: flags.defer_taskrun,
            coop_taskrun: flags.coop_taskrun,
            multishot_poll: false,
            gso: sys::probe_gso(),
            gro: cfg.recv_buffer_len >= crate::GRO_BUFFER_LEN && sys::probe_gro(),
            zerocopy_from: cfg.zerocopy_from.filter(|_| zerocopy_supported),
            recv_socket_buffer: 0,
            send_socket_buffer: 0,
            socket_buffers_forced: false,
            recv_buffers: cfg.recv_buffers,
            recv_buffer_len: cfg.recv_buffer_len,
            send_batch: cfg.send_batch,
            sq_entries: ring.params().sq_entries(),
            cq_entries: ring.params().cq_entries(),
        };
        let mut reactor = UringReactor {
            ring,
            bufs,
            recv_msghdr,
            sockets: Vec::new(),
            watches: watch::Watches::default(),
            arenas,
            filling: None,
            send_buffer_len: cfg.send_buffer_len,
            cfg: cfg.clone(),
            stash: Vec::with_capacity(cq_capacity),
            need_rearm: false,
            timer: timer::Timer::new(),
            features,
            stats: Stats::default(),
        };
        reactor.probe_multishot()?;
        reactor.features.multishot_recvmsg = true;
        reactor.features.multishot_poll = true;
        Ok(reactor)
    }

    /// Queue one entry, making room by submitting when the SQ is full.
    ///
    /// # Safety
    /// Everything `entry` points at (msghdr, timespec, buffers) must stay
    /// valid and unmoved until its last completion arrives, and its fd open
    /// until it is submitted.
    unsafe fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        for _ in 0..2 {
            // SAFETY: forwarded from our caller's contract.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            match self.ring.submit() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "io_uring submission queue stays full",
        ))
    }

    /// Submit what is queued and, with `want` = 1, sleep until a completion
    /// is ready. EBUSY/EAGAIN (completions must be reaped first) count as
    /// success: the entries stay queued for the next enter. EINTR is returned.
    fn enter(&mut self, want: u32) -> io::Result<()> {
        let to_submit = self.ring.submission().len() as u32;
        // SAFETY: no extended argument (null sigset, size ignored), and every
        // queued entry satisfies `push`'s contract.
        let res = unsafe {
            self.ring
                .submitter()
                .enter::<libc::sigset_t>(to_submit, want, ENTER_GETEVENTS, None)
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Copy up to `max` completions off the CQ into `out`.
    fn pop_cqes(&mut self, out: &mut [Cqe; CQE_BATCH], max: usize) -> usize {
        let mut cq = self.ring.completion();
        let mut n = 0;
        while n < max.min(CQE_BATCH) {
            let Some(e) = cq.next() else { break };
            out[n] = Cqe {
                user_data: e.user_data(),
                result: e.result(),
                flags: e.flags(),
            };
            n += 1;
        }
        n
    }

    /// Handle stashed then ready completions; returns how many were handed
    /// to `f`. Gives buffers back and re-arms what ended.
    fn drain(&mut self, f: &mut dyn FnMut(Completion<'_>)) -> usize {
        let mut delivered = 0;
        for i in 0..self.stash.len() {
            let c = self.stash[i];
            delivered += self.handle(c, f);
        }
        self.stash.clear();
        // Bounded so that a kernel producing completions as fast as we
        // consume them (no DEFER_TASKRUN) cannot keep us here forever.
        let mut budget = self.ring.params().cq_entries() as usize;
        let mut batch = [Cqe::default(); CQE_BATCH];
        while budget > 0 {
            let n = self.pop_cqes(&mut batch, budget);
            if n == 0 {
                break;
            }
            budget -= n;
            for c in &batch[..n] {
                delivered += self.handle(*c, f);
            }
            self.bufs.publish();
        }
        self.bufs.publish();
        self.rearm();
        delivered
    }

    fn handle(&mut self, c: Cqe, f: &mut dyn FnMut(Completion<'_>)) -> usize {
        match Token::decode(c.user_data) {
            Token::Recv { socket } => self.on_recv(socket, c, f),
            Token::Send { arena, op } => {
                self.on_send(arena as usize, op as usize, c.result, c.flags);
                0
            }
            Token::Watch { slot, generation } => self.on_watch(slot, generation, c, f),
            Token::Timer { generation } => self.on_timer(generation, c.result, f),
            Token::Probe { .. } | Token::Ignored => {
                // Only a receive selects a buffer, but never leak one.
                if let Some(bid) = cqueue::buffer_select(c.flags) {
                    self.bufs.provide(bid);
                }
                0
            }
        }
    }

    /// Re-arm multishot receives and polls that ended.
    fn rearm(&mut self) {
        if !std::mem::take(&mut self.need_rearm) {
            return;
        }
        for i in 0..self.sockets.len() {
            let s = &self.sockets[i];
            if !s.armed && s.error_streak < MAX_RECV_ERROR_STREAK {
                if self.arm_recv(i).is_err() {
                    self.need_rearm = true; // SQ stuck: try again next wait
                    return;
                }
                self.stats.recv_rearms += 1;
            }
        }
        if self.rearm_watches().is_err() {
            self.need_rearm = true;
        }
    }
}

impl Reactor for UringReactor {
    fn features(&self) -> &Features {
        &self.features
    }

    fn add_udp(&mut self, socket: UdpSocket) -> io::Result<SocketId> {
        self.add_socket(socket)
    }

    fn watch_readable(&mut self, fd: RawFd) -> io::Result<WatchId> {
        self.watch(fd)
    }

    fn unwatch(&mut self, id: WatchId) {
        self.unwatch_id(id);
    }

    fn queue_send(&mut self, socket: SocketId, dst: SocketAddr, payload: &[u8]) -> io::Result<()> {
        self.queue(socket, dst, payload)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_sends()
    }

    fn wait(
        &mut self,
        deadline: Option<Instant>,
        f: &mut dyn FnMut(Completion<'_>),
    ) -> io::Result<()> {
        let due = self.arm_timer(deadline)?;
        loop {
            let want = u32::from(!due && self.stash.is_empty());
            let interrupted = match self.enter(want) {
                Ok(()) => false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
                Err(e) => return Err(e),
            };
            let mut delivered = self.drain(f);
            if due {
                self.stats.timeouts += 1;
                f(Completion::Timeout);
                delivered += 1;
            }
            // Completions that are ours alone (sends, removals, stale timers)
            // do not end the wait.
            if delivered > 0 || interrupted {
                return Ok(());
            }
        }
    }

    fn stats(&self) -> Stats {
        let drops = self.sockets.iter().map(|s| s.socket.as_raw_fd());
        Stats {
            socket_drops: crate::stats::socket_drops(drops),
            ..self.stats
        }
    }

    fn local_addr(&self, socket: SocketId) -> io::Result<SocketAddr> {
        match self.sockets.get(socket.index()) {
            Some(s) => s.socket.local_addr(),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "unknown socket",
            )),
        }
    }
}

impl Drop for UringReactor {
    fn drop(&mut self) {
        // Cancel everything in flight and wait (bounded) for it, so that no
        // request touches our memory once the fields are freed; closing the
        // ring (first field) then finishes the job. Best effort: errors here
        // only mean an older kernel, where closing the ring cancels too.
        let limit = types::Timespec::new().sec(1);
        let _ = self
            .ring
            .submitter()
            .register_sync_cancel(Some(limit), types::CancelBuilder::any());
        let _ = self.ring.submitter().unregister_buf_ring(self.bufs.group);
    }
}
