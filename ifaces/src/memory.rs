//! An in-memory pair of endpoints for tests: frames written to one side are
//! read from the other, in order.
//!
//! Each direction is a bounded queue ([`MEMORY_QUEUE_FRAMES`]; a full queue
//! drops and counts, like a real endpoint) plus an eventfd that is readable
//! while the queue holds frames, so `read_fd` works with a real event loop.
//! When one side is dropped the other's writes count as disconnected.
//! Frames are copied into owned buffers: this is test equipment, not the
//! data path.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use rustix::event::{EventfdFlags, eventfd};

use crate::{IfaceStats, L2Interface};

/// Frames one direction holds before dropping.
pub const MEMORY_QUEUE_FRAMES: usize = 1024;

#[derive(Debug)]
struct Channel {
    frames: Mutex<VecDeque<Vec<u8>>>,
    /// Counter > 0 exactly while `frames` is non-empty (changed under the
    /// lock). None only if the eventfd could not be created (fd exhaustion):
    /// the pair then works without a readable fd.
    ready: Option<OwnedFd>,
}

/// One side of [`memory_pair`].
#[derive(Debug)]
pub struct MemoryIface {
    name: String,
    rx: Arc<Channel>,
    tx: Weak<Channel>,
    stats: IfaceStats,
}

/// Two connected in-memory endpoints.
pub fn memory_pair(
    name_a: &str,
    name_b: &str,
) -> (Box<dyn crate::L2Interface>, Box<dyn crate::L2Interface>) {
    let (a, b) = MemoryIface::pair(name_a, name_b);
    (Box::new(a), Box::new(b))
}

impl MemoryIface {
    /// As [`memory_pair`], with the concrete type.
    pub fn pair(name_a: &str, name_b: &str) -> (Self, Self) {
        let (a_rx, b_rx) = (Channel::new(), Channel::new());
        let a = MemoryIface {
            name: name_a.to_owned(),
            tx: Arc::downgrade(&b_rx),
            rx: a_rx.clone(),
            stats: IfaceStats::default(),
        };
        let b = MemoryIface {
            name: name_b.to_owned(),
            tx: Arc::downgrade(&a_rx),
            rx: b_rx,
            stats: IfaceStats::default(),
        };
        (a, b)
    }
}

impl Channel {
    fn new() -> Arc<Self> {
        let ready = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC).ok();
        Arc::new(Self {
            frames: Mutex::new(VecDeque::new()),
            ready,
        })
    }
}

impl L2Interface for MemoryIface {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_fd(&self) -> Option<RawFd> {
        self.rx.ready.as_ref().map(|fd| fd.as_raw_fd())
    }

    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut frames = self
            .rx
            .frames
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while let Some(frame) = frames.pop_front() {
            if let (true, Some(ready)) = (frames.is_empty(), &self.rx.ready) {
                // Reset the counter: nothing left to read.
                let _ = rustix::io::read(ready, &mut [0u8; 8]);
            }
            if frame.len() > buf.len() {
                self.stats.dropped_too_long += 1;
                continue;
            }
            buf[..frame.len()].copy_from_slice(&frame);
            self.stats.rx(frame.len());
            return Ok(Some(frame.len()));
        }
        Ok(None)
    }

    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        let Some(peer) = self.tx.upgrade() else {
            self.stats.dropped_disconnected += 1;
            return Ok(());
        };
        let mut frames = peer.frames.lock().unwrap_or_else(PoisonError::into_inner);
        if frames.len() >= MEMORY_QUEUE_FRAMES {
            self.stats.dropped_would_block += 1;
            return Ok(());
        }
        if let (true, Some(ready)) = (frames.is_empty(), &peer.ready) {
            // Cannot fail: the counter only ever holds 0 or 1.
            let _ = rustix::io::write(ready, &1u64.to_ne_bytes());
        }
        frames.push_back(frame.to_vec());
        self.stats.tx(frame.len());
        Ok(())
    }

    fn stats(&self) -> IfaceStats {
        self.stats
    }
}
