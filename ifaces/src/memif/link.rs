//! A connected memif: the shared regions, one ring per direction with its
//! interrupt eventfd, and the copy of frames in and out of the rings.
//!
//! Who moves what (memif 2.0, as DPDK's and VPP's drivers do it). The client
//! owns all memory: one region holding both rings and then one buffer per
//! slot. Each ring has a producer that advances `head` and a consumer that
//! advances `tail`:
//!
//! | ring | client | server |
//! |---|---|---|
//! | C2S (client → server) | fills buffers at `head`, advances `head` | reads `last..head`, advances `tail` |
//! | S2C (server → client) | hands empty buffers out by advancing `head`; reads `last..tail` | fills buffers from `tail` to `head`, advances `tail` |
//!
//! A frame longer than one buffer spans several slots chained with
//! `DESC_FLAG_NEXT`. After producing, the producer writes 1 to the ring's
//! eventfd unless the consumer set `RING_FLAG_MASK_INT` (it polls). The
//! consumer clears the eventfd only when it finds the ring empty, and looks
//! once more afterwards, so a frame published after that look kicks again.
//!
//! Everything the peer wrote (indices, descriptors) is checked before use;
//! an impossible value ends the connection ([`Fault`]), never a panic.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;

use super::shm::{DESC_FLAG_NEXT, Desc, RING_FLAG_MASK_INT, Region, Ring};

/// Which side of the memif this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MemifRole {
    /// memif "slave": connects to the socket and provides the shared memory.
    #[default]
    Client,
    /// memif "master": listens on the socket and maps the client's memory.
    Server,
}

/// One direction: a ring, the eventfd that signals it, and our cursor (the
/// consumer's last position; unused for the rings we produce into).
#[derive(Debug)]
pub(crate) struct Queue {
    pub ring: Ring,
    pub interrupt: OwnedFd,
    pub cursor: u16,
}

/// The peer broke the ring protocol; the connection must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault(pub &'static str);

/// What [`Link::send`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    Yes,
    /// Not enough free slots now: dropped.
    Full,
}

/// What [`Link::recv`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Received {
    Frame(usize),
    /// A frame longer than the caller's buffer: consumed and dropped.
    TooLong,
    Empty,
}

/// The client's layout of its one region: `[C2S ring][S2C ring][buffers]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientLayout {
    pub log2_ring_size: u8,
    pub buffer_size: u32,
}

impl ClientLayout {
    pub(crate) fn ring_offset(&self, c2s: bool) -> usize {
        if c2s {
            0
        } else {
            super::shm::ring_bytes(self.log2_ring_size)
        }
    }

    fn buffers_at(&self) -> usize {
        // Rings are 128 + 16·2^n bytes; start the buffers on a cache line.
        (2 * super::shm::ring_bytes(self.log2_ring_size)).next_multiple_of(128)
    }

    /// Where the buffer of `slot` of the C2S (or S2C) ring lives.
    fn buffer(&self, c2s: bool, slot: u16) -> u32 {
        let size = 1usize << self.log2_ring_size;
        let index = usize::from(slot) & (size - 1);
        let index = if c2s { index } else { size + index };
        // region_len() fits in u32 (checked in `Link::new_client`).
        (self.buffers_at() + index * self.buffer_size as usize) as u32
    }

    pub(crate) fn region_len(&self) -> usize {
        self.buffers_at() + (2usize << self.log2_ring_size) * self.buffer_size as usize
    }
}

/// A connected memif. Fields drop in order: the rings (raw views) go with
/// the regions they point into, which this struct owns.
#[derive(Debug)]
pub(crate) struct Link {
    role: MemifRole,
    tx: Queue,
    rx: Queue,
    /// Client only: how our region is laid out.
    layout: Option<ClientLayout>,
    regions: Vec<Region>,
}

impl Link {
    /// The client's side: one new region with both rings initialised. The
    /// eventfds are created here and sent to the server with ADD_RING.
    pub(crate) fn new_client(layout: ClientLayout) -> io::Result<Self> {
        if u32::try_from(layout.region_len()).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "memif region would exceed 4 GiB",
            ));
        }
        let region = Region::create(layout.region_len())?;
        let mk = |c2s: bool| -> io::Result<Queue> {
            let ring = region
                .ring(layout.ring_offset(c2s), layout.log2_ring_size)
                .ok_or(io::ErrorKind::InvalidInput)?;
            ring.set_cookie(super::msg::COOKIE);
            ring.set_flags(0);
            ring.head().store(0, Ordering::Relaxed);
            ring.tail().store(0, Ordering::Relaxed);
            for slot in 0..ring.size() {
                ring.set_desc(
                    slot,
                    Desc {
                        flags: 0,
                        region: 0,
                        length: layout.buffer_size,
                        offset: layout.buffer(c2s, slot),
                    },
                );
            }
            let interrupt = rustix::event::eventfd(
                0,
                rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
            )?;
            Ok(Queue {
                ring,
                interrupt,
                cursor: 0,
            })
        };
        let (tx, rx) = (mk(true)?, mk(false)?);
        Ok(Self {
            role: MemifRole::Client,
            tx,
            rx,
            layout: Some(layout),
            regions: vec![region],
        })
    }

    /// The server's side, from the client's regions and rings.
    pub(crate) fn new_server(regions: Vec<Region>, c2s: Queue, s2c: Queue) -> Result<Self, Fault> {
        for q in [&c2s, &s2c] {
            if q.ring.cookie() != super::msg::COOKIE {
                return Err(Fault("ring cookie mismatch"));
            }
        }
        let mut link = Self {
            role: MemifRole::Server,
            tx: s2c,
            rx: c2s,
            layout: None,
            regions,
        };
        // Start where the client left the rings (DPDK's client zeroes them).
        link.rx.cursor = link.rx.ring.tail().load(Ordering::Acquire);
        // We want to be kicked: we wait on the C2S eventfd, never poll.
        link.rx.ring.set_flags(0);
        Ok(link)
    }

    /// The client's first step after CONNECTED: offer every S2C buffer.
    pub(crate) fn client_connected(&mut self) {
        self.rx.cursor = self.rx.ring.tail().load(Ordering::Acquire);
        self.refill();
    }

    /// Our region and eventfds, to send to the server (client only).
    pub(crate) fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// (C2S eventfd, S2C eventfd) for ADD_RING.
    pub(crate) fn ring_fds(&self) -> (BorrowedFd<'_>, BorrowedFd<'_>) {
        match self.role {
            MemifRole::Client => (self.tx.interrupt.as_fd(), self.rx.interrupt.as_fd()),
            MemifRole::Server => (self.rx.interrupt.as_fd(), self.tx.interrupt.as_fd()),
        }
    }

    /// The eventfd that becomes readable when frames arrive.
    pub(crate) fn rx_fd(&self) -> BorrowedFd<'_> {
        self.rx.interrupt.as_fd()
    }

    /// Copies one frame into the TX ring and kicks the peer.
    pub(crate) fn send(&mut self, frame: &[u8]) -> Result<Sent, Fault> {
        let sent = match self.role {
            MemifRole::Client => self.send_client(frame)?,
            MemifRole::Server => self.send_server(frame)?,
        };
        if sent == Sent::Yes && self.tx.ring.flags() & RING_FLAG_MASK_INT == 0 {
            // A full counter (never, with a reader) or a closed peer: nothing
            // to do here; the control socket reports a gone peer.
            let _ = rustix::io::write(&self.tx.interrupt, &1u64.to_ne_bytes());
        }
        Ok(sent)
    }

    /// C2S as client: we own the buffers, so each slot's descriptor is
    /// rewritten whole (the server cannot redirect our writes).
    fn send_client(&mut self, frame: &[u8]) -> Result<Sent, Fault> {
        let Some(layout) = self.layout else {
            return Err(Fault("client without layout"));
        };
        let ring = &self.tx.ring;
        let head = ring.head().load(Ordering::Relaxed);
        let tail = ring.tail().load(Ordering::Acquire);
        let used = head.wrapping_sub(tail);
        if used > ring.size() {
            return Err(Fault("C2S tail ahead of head"));
        }
        let bsize = layout.buffer_size as usize;
        let need = frame.len().div_ceil(bsize).max(1);
        if need > usize::from(ring.size() - used) {
            return Ok(Sent::Full);
        }
        let region = &self.regions[0];
        let mut slot = head;
        for i in 0..need {
            let chunk = &frame[(i * bsize).min(frame.len())..((i + 1) * bsize).min(frame.len())];
            let offset = layout.buffer(true, slot);
            region.write(offset as usize, chunk);
            ring.set_desc(
                slot,
                Desc {
                    flags: if i + 1 < need { DESC_FLAG_NEXT } else { 0 },
                    region: 0,
                    length: chunk.len() as u32,
                    offset,
                },
            );
            slot = slot.wrapping_add(1);
        }
        ring.head().store(slot, Ordering::Release);
        Ok(Sent::Yes)
    }

    /// S2C as server: fill the client's empty buffers from `tail` up to
    /// `head`, each as large as the client's descriptor says.
    fn send_server(&mut self, frame: &[u8]) -> Result<Sent, Fault> {
        let ring = &self.tx.ring;
        let tail = ring.tail().load(Ordering::Relaxed);
        let head = ring.head().load(Ordering::Acquire);
        let free = head.wrapping_sub(tail);
        if free > ring.size() {
            return Err(Fault("S2C head more than a ring ahead"));
        }
        // First pass: do the offered buffers hold the frame? Nothing is
        // written, so a frame that does not fit leaves the ring untouched.
        let mut room = 0usize;
        let mut need = 0u16;
        while room < frame.len() || need == 0 {
            if need == free {
                return Ok(Sent::Full);
            }
            let d = ring.desc(tail.wrapping_add(need));
            if d.length == 0 {
                return Err(Fault("S2C buffer of length 0"));
            }
            room += d.length as usize;
            need += 1;
        }
        let mut rest = frame;
        for i in 0..need {
            let slot = tail.wrapping_add(i);
            let mut d = ring.desc(slot);
            let n = rest.len().min(d.length as usize);
            let region = self
                .regions
                .get(usize::from(d.region))
                .ok_or(Fault("S2C descriptor names no region"))?;
            if !region.write(d.offset as usize, &rest[..n]) {
                return Err(Fault("S2C descriptor outside its region"));
            }
            rest = &rest[n..];
            d.length = n as u32;
            d.flags = if i + 1 < need { DESC_FLAG_NEXT } else { 0 };
            ring.set_desc(slot, d);
        }
        ring.tail()
            .store(tail.wrapping_add(need), Ordering::Release);
        Ok(Sent::Yes)
    }

    /// Copies the next frame out of the RX ring into `buf`.
    pub(crate) fn recv(&mut self, buf: &mut [u8]) -> Result<Received, Fault> {
        let got = self.recv_once(buf)?;
        if got != Received::Empty {
            return Ok(got);
        }
        // Empty: clear the interrupt, then look once more (see module docs).
        let mut counter = [0u8; 8];
        let _ = rustix::io::read(&self.rx.interrupt, &mut counter);
        self.recv_once(buf)
    }

    fn recv_once(&mut self, buf: &mut [u8]) -> Result<Received, Fault> {
        let ring = &self.rx.ring;
        let mut cur = self.rx.cursor;
        // The producer's index: head of C2S (server), tail of S2C (client).
        let end = match self.role {
            MemifRole::Server => ring.head().load(Ordering::Acquire),
            MemifRole::Client => ring.tail().load(Ordering::Acquire),
        };
        let ready = end.wrapping_sub(cur);
        if ready == 0 {
            return Ok(Received::Empty);
        }
        if ready > ring.size() {
            return Err(Fault("RX producer index more than a ring ahead"));
        }
        let mut len = 0usize;
        let mut fits = true;
        loop {
            if cur == end {
                return Err(Fault("RX chain runs past the producer index"));
            }
            let d = ring.desc(cur);
            cur = cur.wrapping_add(1);
            let n = d.length as usize;
            let region = self
                .regions
                .get(usize::from(d.region))
                .ok_or(Fault("RX descriptor names no region"))?;
            if fits {
                match buf.get_mut(len..len + n) {
                    Some(dst) => {
                        if !region.read(d.offset as usize, dst) {
                            return Err(Fault("RX descriptor outside its region"));
                        }
                        len += n;
                    }
                    None => fits = false,
                }
            }
            if d.flags & DESC_FLAG_NEXT == 0 {
                break;
            }
        }
        self.rx.cursor = cur;
        match self.role {
            MemifRole::Server => ring.tail().store(cur, Ordering::Release),
            MemifRole::Client => self.refill(),
        }
        Ok(if fits {
            Received::Frame(len)
        } else {
            Received::TooLong
        })
    }

    /// Client: hands every consumed S2C slot back to the server as an empty
    /// buffer of full size, at its fixed place.
    fn refill(&mut self) {
        let Some(layout) = self.layout else { return };
        let ring = &self.rx.ring;
        let mut head = ring.head().load(Ordering::Relaxed);
        let target = self.rx.cursor.wrapping_add(ring.size());
        if target.wrapping_sub(head) > ring.size() {
            // Our own index, but in shared memory: never trust it blindly.
            head = self.rx.cursor;
        }
        while head != target {
            ring.set_desc(
                head,
                Desc {
                    flags: 0,
                    region: 0,
                    length: layout.buffer_size,
                    offset: layout.buffer(false, head),
                },
            );
            head = head.wrapping_add(1);
        }
        ring.head().store(head, Ordering::Release);
    }
}
