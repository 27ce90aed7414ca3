//! [`DataPath`]: one reactor thread's share of an edge's packets — its own
//! reactor (io_uring ring or epoll) with its own UDP sockets (one per
//! family, on the edge's port through `SO_REUSEPORT`), its own interface
//! queue (a tap queue with `IFF_MULTI_QUEUE`; the only queue for other
//! kinds) with its own offload path, and the node that all data-path
//! threads share behind one `Mutex`.
//!
//! # Locking: once per batch, syscalls unlocked
//!
//! Most of egd's time goes to the kernel inside `sendmsg`, `recvmsg` (via
//! io_uring) and the tap's `read`/`write`; those run on every thread in
//! parallel. The node (WireGuard sessions, counters, replay windows, FIB,
//! routes) is taken with a [`BatchLock`]: on a batch's first packet, for up
//! to [`BATCH`] packets. Under the lock a thread runs the node's
//! bookkeeping and copies the node's output into its own [`Outbox`]; after
//! the lock it sends and writes that output. Frames read from the
//! interface are first gathered into a preallocated inbox (reads are
//! syscalls, so they happen before the lock).
//!
//! # Crypto outside the lock
//!
//! The node runs with deferred crypto (`node/deferred.rs`), so
//! ChaCha20-Poly1305 — most of egd's own CPU time — runs on every thread
//! in parallel:
//! - sending: `handle_frame` routes and reserves a counter per datagram
//!   under the lock; the datagram reaches the outbox still plaintext, with
//!   its seal job, and [`DataPath::flush`] seals it unlocked just before
//!   handing it to the socket;
//! - receiving: each datagram is pre-checked and copied into an
//!   [`RxBatch`] under the lock; when the batch is full or the wake-up
//!   ends the lock is released, the batch decrypted, and the lock taken
//!   once more to accept the counters (each exactly once), deliver and
//!   relay (`settle`).
//!
//! A single data path (`--threads 1`) has nothing to overlap: the edge
//! turns the split off ([`DataPath::set_deferred_crypto`] and
//! `Node::set_deferred_crypto`), and each datagram is handled under the
//! lock in one go.
//!
//! # Driving it (each thread its own)
//!
//! ```text
//! let io = PathIo { reactor, v4, v6, iface: queue, writer };
//! let mut path = DataPath::new(io, max_frame, slot_len, wake)?;
//! loop {
//!     path.wait(&node, deadline, &mut |other_watch| …)?;  // datagrams, in batches
//!     path.read_iface(&node);                               // frames, in batches
//!     // control thread only: lock once for timers and control, then
//!     path.collect(&mut lock(&node));
//!     path.flush();                                          // unlocked
//! }
//! ```
//!
//! Which thread sees which packet is the kernel's choice: `SO_REUSEPORT`
//! hashes a datagram's 4-tuple (so one peer's datagrams reach one thread,
//! in order), the tap hashes each flow to a queue. A packet's output goes
//! out through the thread that handled it. Other threads may seal for the
//! same peer meanwhile: their nonces interleave, and the receiver's replay
//! window (`COUNTER_WINDOW_SIZE` packets wide) takes the small reordering between threads.
//!
//! Frames for a multi-queue tap are written through a `QueueSet`: each flow
//! always through the same queue, chosen by hashing the flow, because the
//! kernel hands a flow's packets in the other direction to the queue it was
//! written to. Writing through the receiving thread's own queue would pull
//! all flows of one peer (whose datagrams all reach one thread) onto that
//! thread.

use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use egd_ifaces::L2Interface;
use egd_ifaces::offload::OffloadPath;
use egd_uring::{Completion, Reactor, SocketId, WatchId};

use super::batch_lock::{BATCH, BatchLock, LockStats};
use super::clock;
use super::outbox::Outbox;
use super::rx_batch::RxBatch;
use super::wake::WakeHandle;
use crate::logging::target;
use crate::node::Node;
use crate::node::ring::PacketRing;

/// Most interface reads per wake-up before the sockets get a turn
/// (fairness between directions).
const IFACE_READ_BUDGET: usize = 256;
/// Frames the inbox holds: a batch, plus one 64 KB read cut into segments
/// of a small MSS, so a read never has to stop half-way.
const INBOX_SLOTS: usize = BATCH + 128;

/// Counters of one data path, summed over threads for the metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct PathStats {
    pub iface: egd_ifaces::IfaceStats,
    pub reactor: egd_uring::Stats,
    pub offload: Option<egd_ifaces::offload::OffloadStats>,
    pub lock: LockStats,
    /// Datagrams not sent because sealing them failed (never expected).
    pub seal_failed: u64,
}

impl PathStats {
    pub fn accumulate(&mut self, o: &PathStats) {
        self.iface.accumulate(&o.iface);
        self.reactor.accumulate(&o.reactor);
        self.lock.accumulate(&o.lock);
        self.seal_failed += o.seal_failed;
        match (&mut self.offload, &o.offload) {
            (Some(a), Some(b)) => a.accumulate(b),
            (a @ None, Some(b)) => *a = Some(*b),
            _ => {}
        }
    }
}

/// The I/O a data path drives.
pub struct PathIo {
    /// The thread's reactor, with `v4`/`v6` already added.
    pub reactor: Box<dyn Reactor>,
    pub v4: Option<SocketId>,
    pub v6: Option<SocketId>,
    /// The interface (queue) this thread reads.
    pub iface: Box<dyn L2Interface>,
    /// Where frames are written when not to `iface`: a multi-queue tap's
    /// [`egd_ifaces::QueueSet`], one queue per flow.
    pub writer: Option<Box<dyn L2Interface>>,
}

impl std::fmt::Debug for PathIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathIo")
            .field("iface", &self.iface.name())
            .field("writer", &self.writer.is_some())
            .finish()
    }
}

/// One thread's reactor, sockets, interface queue and output buffers.
pub struct DataPath {
    reactor: Box<dyn Reactor>,
    v4: Option<SocketId>,
    v6: Option<SocketId>,
    iface: Box<dyn L2Interface>,
    /// Where frames are written when not to `iface`: a multi-queue tap's
    /// [`egd_ifaces::QueueSet`], one queue per flow.
    writer: Option<Box<dyn L2Interface>>,
    watch: Option<(WatchId, i32)>,
    offload: Option<OffloadPath>,
    inbox: PacketRing<()>,
    rx: RxBatch,
    out: Outbox,
    /// The interface's fd fired since the last `read_iface`.
    readable: bool,
    /// Wakes the control thread when the node has events (worker threads).
    wake: Option<WakeHandle>,
    lock_stats: LockStats,
    seal_failed: u64,
    /// Received datagrams go through `rx` (decrypted unlocked); false: the
    /// node handles each under the lock, as the one thread of a
    /// single-threaded edge gains nothing from the split.
    defer_open: bool,
}

impl std::fmt::Debug for DataPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPath")
            .field("iface", &self.iface.name())
            .field("offload", &self.offload.is_some())
            .finish()
    }
}

impl DataPath {
    /// A data path over `io`; the interface is watched here. `max_frame`
    /// is MTU + Ethernet header; `slot_len` is `Node::max_transmit_len`.
    pub fn new(
        io: PathIo,
        max_frame: usize,
        slot_len: usize,
        wake: Option<WakeHandle>,
    ) -> io::Result<Self> {
        let PathIo {
            mut reactor,
            v4,
            v6,
            iface,
            writer,
        } = io;
        let watch = watch_iface(reactor.as_mut(), iface.as_ref(), None)?;
        // Every queue of a tap has the same offloads (`writer` included).
        let offload = iface.offloads().map(|f| OffloadPath::new(max_frame, f));
        Ok(DataPath {
            reactor,
            v4,
            v6,
            iface,
            writer,
            watch,
            offload,
            // 64 bytes over the frame: a too-long frame is seen as such.
            inbox: PacketRing::new(INBOX_SLOTS, max_frame + 64),
            rx: RxBatch::new(BATCH, slot_len.max(max_frame) + 64),
            out: Outbox::new(slot_len.max(max_frame)),
            readable: false,
            wake,
            lock_stats: LockStats::default(),
            seal_failed: 0,
            defer_open: true,
        })
    }

    /// Whether received datagrams are decrypted outside the node's lock
    /// (default: yes). Match it with `Node::set_deferred_crypto`: with one
    /// thread there is nothing to run in parallel, and the split only costs
    /// a copy and a second lock per batch.
    pub fn set_deferred_crypto(&mut self, on: bool) {
        self.defer_open = on;
    }

    pub fn iface(&self) -> &dyn L2Interface {
        self.iface.as_ref()
    }

    pub fn reactor(&self) -> &dyn Reactor {
        self.reactor.as_ref()
    }

    /// Watches `fd` on this thread's reactor (the control thread's wake-ups).
    pub fn watch_readable(&mut self, fd: i32) -> io::Result<WatchId> {
        self.reactor.watch_readable(fd)
    }

    pub fn stats(&self) -> PathStats {
        let mut iface = self.iface.stats();
        if let Some(w) = &self.writer {
            iface.accumulate(&w.stats());
        }
        PathStats {
            iface,
            reactor: self.reactor.stats(),
            offload: self.offload.as_ref().map(OffloadPath::stats),
            lock: self.lock_stats,
            seal_failed: self.seal_failed,
        }
    }

    /// Waits for the reactor and handles the datagrams it hands out, in
    /// batches (see the module docs); readable watches other than the
    /// interface's go to `other`.
    pub fn wait(
        &mut self,
        node: &Mutex<Node>,
        deadline: Option<Instant>,
        other: &mut dyn FnMut(WatchId),
    ) -> io::Result<()> {
        let DataPath {
            reactor,
            iface,
            writer,
            offload,
            rx,
            out,
            watch,
            readable,
            lock_stats,
            defer_open,
            ..
        } = self;
        let write_to = writer.as_mut().unwrap_or(iface);
        let iface_watch = watch.map(|(w, _)| w);
        let mut batch = BatchLock::new(node, lock_stats);
        let defer_open = *defer_open;
        let waited = reactor.wait(deadline, &mut |c| match c {
            Completion::Datagram { from, payload, .. } if !defer_open => {
                let n = batch.get();
                n.handle_datagram(clock::now(), from, payload);
                out.collect(n);
                if batch.is_full() || out.frames_full() {
                    batch.release();
                    write_frames(out, write_to.as_mut(), offload.as_mut());
                }
            }
            Completion::Datagram { from, payload, .. } => {
                if !rx.takes_next(payload) {
                    settle(&mut batch, rx, out, write_to.as_mut(), offload.as_mut());
                }
                let n = batch.get();
                rx.push(n, clock::now(), from, payload);
                out.collect(n);
                if rx.is_full() || batch.is_full() || out.frames_full() {
                    // Sends wait for the reactor; frames go now, unlocked.
                    settle(&mut batch, rx, out, write_to.as_mut(), offload.as_mut());
                }
            }
            Completion::Readable(id) if Some(id) == iface_watch => *readable = true,
            Completion::Readable(id) => other(id),
            Completion::Timeout => {}
        });
        settle(&mut batch, rx, out, write_to.as_mut(), offload.as_mut());
        drop(batch);
        self.flush();
        waited
    }

    /// Reads the interface (if it fired) and handles its frames in batches;
    /// returns whether it was readable.
    pub fn read_iface(&mut self, node: &Mutex<Node>) -> bool {
        if !std::mem::take(&mut self.readable) {
            return false;
        }
        for _ in 0..IFACE_READ_BUDGET {
            let more = self.read_once(node);
            if self.inbox.len() >= BATCH {
                handle_inbox(node, &mut self.inbox, &mut self.out, &mut self.lock_stats);
                self.flush();
            }
            if !more {
                break;
            }
        }
        handle_inbox(node, &mut self.inbox, &mut self.out, &mut self.lock_stats);
        self.flush();
        true
    }

    /// One interface read into the inbox; false when nothing was ready.
    fn read_once(&mut self, node: &Mutex<Node>) -> bool {
        let DataPath {
            iface,
            offload,
            inbox,
            out,
            lock_stats,
            ..
        } = self;
        let result = match offload.as_mut() {
            Some(path) => path.read(iface.as_mut(), |f| {
                if inbox.reserve().is_none() {
                    handle_inbox(node, inbox, out, lock_stats);
                }
                if let Some(slot) = inbox.reserve()
                    && let Some(dst) = slot.get_mut(..f.len())
                {
                    dst.copy_from_slice(f);
                    inbox.commit(0..f.len(), ());
                }
            }),
            None => {
                if inbox.reserve().is_none() {
                    handle_inbox(node, inbox, out, lock_stats);
                }
                match inbox.reserve() {
                    Some(slot) => iface.read_frame(slot).map(|r| {
                        r.map(|len| {
                            tracing::trace!(target: target::TRANSIT, "frame of {len} bytes from the interface");
                            inbox.commit(0..len, ());
                        })
                        .is_some()
                    }),
                    None => Ok(false),
                }
            }
        };
        result.unwrap_or_else(|e| {
            tracing::warn!(target: target::INTERNAL, "interface read: {e}");
            false
        })
    }

    /// Takes the node's pending output (the caller holds the lock).
    pub fn collect(&mut self, node: &mut Node) {
        self.out.collect(node);
    }

    /// Sends the collected datagrams and writes the collected frames
    /// (unlocked); wakes the control thread if the node had events.
    pub fn flush(&mut self) {
        while let Some(((dst, job), payload)) = self.out.tx.pop_mut() {
            // A deferred seal runs here, outside the node's lock; a
            // datagram that cannot be sealed must not leave in plaintext.
            if let Some(job) = job
                && job.seal(payload).is_err()
            {
                self.seal_failed += 1;
                continue;
            }
            let socket = if dst.is_ipv4() { self.v4 } else { self.v6 };
            let Some(socket) = socket else { continue };
            if let Err(e) = self.reactor.queue_send(socket, dst, payload) {
                tracing::debug!(target: target::TRANSIT, "send to {dst}: {e}");
            }
        }
        self.out.tx.clear_popped();
        if let Err(e) = self.reactor.flush() {
            tracing::debug!(target: target::TRANSIT, "flush: {e}");
        }
        let write_to = self.writer.as_mut().unwrap_or(&mut self.iface);
        write_frames(&mut self.out, write_to.as_mut(), self.offload.as_mut());
        if let Some(Err(e)) = self.offload.as_mut().map(|p| p.flush(write_to.as_mut())) {
            tracing::warn!(target: target::INTERNAL, "interface write: {e}");
        }
        if std::mem::take(&mut self.out.events)
            && let Some(w) = &self.wake
        {
            w.wake();
        }
    }

    /// Interface housekeeping (accepting, reconnecting, flushing) and
    /// re-watching its fd if it changed.
    pub fn maintain(&mut self) -> io::Result<()> {
        if let Err(e) = self.iface.maintain() {
            tracing::warn!(target: target::INTERNAL, "interface: {e}");
        }
        self.watch = watch_iface(self.reactor.as_mut(), self.iface.as_ref(), self.watch)?;
        Ok(())
    }

    /// The interface's maintenance period, if it has one.
    pub fn maintain_interval(&self) -> Option<std::time::Duration> {
        self.iface.maintain_interval()
    }

    /// The local address of the IPv4 socket, else the IPv6 one.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.v4
            .or(self.v6)
            .and_then(|s| self.reactor.local_addr(s).ok())
    }
}

/// Ends a batch of received datagrams: unlocks, decrypts the batch,
/// finishes it under the lock once more, and writes the frames it
/// produced (unlocked).
fn settle(
    batch: &mut BatchLock<'_, Node>,
    rx: &mut RxBatch,
    out: &mut Outbox,
    iface: &mut dyn L2Interface,
    offload: Option<&mut OffloadPath>,
) {
    batch.release();
    if !rx.is_empty() {
        rx.open_all();
        let n = batch.get();
        rx.finish_all(n, clock::now(), |n| out.collect(n));
        batch.release();
    }
    write_frames(out, iface, offload);
}

/// Handles the gathered frames under one lock (a batch at most, as the
/// inbox is emptied at [`BATCH`]).
fn handle_inbox(
    node: &Mutex<Node>,
    inbox: &mut PacketRing<()>,
    out: &mut Outbox,
    stats: &mut LockStats,
) {
    if inbox.is_empty() {
        return;
    }
    let mut batch = BatchLock::new(node, stats);
    let now = clock::now();
    while let Some(((), frame)) = inbox.pop() {
        let n = batch.get();
        n.handle_frame(now, frame);
        out.collect(n);
    }
    inbox.clear_popped();
}

/// Writes the collected frames to the interface (coalesced with offloads).
fn write_frames(
    out: &mut Outbox,
    iface: &mut dyn L2Interface,
    mut offload: Option<&mut OffloadPath>,
) {
    while let Some(((), f)) = out.frames.pop() {
        let written = match offload.as_deref_mut() {
            Some(path) => path.write(iface, f),
            None => iface.write_frame(f),
        };
        if let Err(e) = written {
            tracing::warn!(target: target::INTERNAL, "interface write: {e}");
        }
    }
    out.frames.clear_popped();
}

/// (Re)registers the interface's fd when it changed (stream sockets
/// reconnect with a new fd).
fn watch_iface(
    reactor: &mut dyn Reactor,
    iface: &dyn L2Interface,
    current: Option<(WatchId, i32)>,
) -> io::Result<Option<(WatchId, i32)>> {
    let fd = iface.read_fd();
    match (current, fd) {
        (Some((id, old)), Some(new)) if old == new => Ok(Some((id, old))),
        (current, fd) => {
            if let Some((id, _)) = current {
                reactor.unwatch(id);
            }
            fd.map(|fd| reactor.watch_readable(fd).map(|id| (id, fd)))
                .transpose()
        }
    }
}
