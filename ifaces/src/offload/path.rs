//! [`OffloadPath`]: segmentation and coalescing wired to an
//! [`L2Interface`] with offloads (a tap opened with `offload: true`), so a
//! daemon loop needs three calls and no buffers of its own.
//!
//! Driving it (one per interface, single-threaded):
//! 1. when the interface is readable, call [`OffloadPath::read`] until it
//!    returns `Ok(false)`; each call reads one frame (up to 64 KB) and hands
//!    each MTU-sized frame to the callback;
//! 2. hand every frame due for the interface to [`OffloadPath::write`];
//! 3. call [`OffloadPath::flush`] at the end of each loop iteration, so no
//!    frame waits in the coalescer for the next batch.
//!
//! Errors are the interface's fatal ones; dropped frames are counted in
//! [`OffloadStats`].

use std::io;

use super::coalesce::{CoalesceStats, Coalescer, DEFAULT_FLOWS};
use super::features::Features;
use super::segment::{SegmentError, segment};
use super::vnet::{Gso, VnetHdr};
use crate::L2Interface;

/// The largest frame a tap with offloads hands over in one read: a 64 KB GSO
/// packet (`gso_max_size` 65 536) plus link headers, with room to spare.
pub const MAX_OFFLOAD_FRAME: usize = 65_536 + 512;

/// Counters since the path was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OffloadStats {
    /// Frames read with a GSO header.
    pub gso_frames: u64,
    /// Frames those were cut into.
    pub segments: u64,
    /// Non-GSO frames whose checksum was completed.
    pub checksums_completed: u64,
    /// Frames read but dropped, by [`SegmentError::index`].
    pub dropped: [u64; SegmentError::REASONS.len()],
    pub coalesce: CoalesceStats,
}

impl OffloadStats {
    /// Adds `other`'s counters to these (several reactor threads' totals).
    pub fn accumulate(&mut self, other: &OffloadStats) {
        self.gso_frames += other.gso_frames;
        self.segments += other.segments;
        self.checksums_completed += other.checksums_completed;
        for (a, b) in self.dropped.iter_mut().zip(other.dropped) {
            *a += b;
        }
        self.coalesce.accumulate(&other.coalesce);
    }
}

impl OffloadStats {
    /// `(reason, count)` for every drop reason.
    pub fn drops(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        SegmentError::REASONS.iter().copied().zip(self.dropped)
    }
}

/// Read buffer, segment scratch and coalescer of one interface.
pub struct OffloadPath {
    read_buf: Box<[u8]>,
    scratch: Box<[u8]>,
    max_frame: usize,
    coalescer: Coalescer,
    stats: OffloadStats,
}

impl OffloadPath {
    /// Segments are at most `max_frame` bytes (MTU + Ethernet header);
    /// `features` are the tap's (UDP datagrams are coalesced only where it
    /// has USO).
    pub fn new(max_frame: usize, features: Features) -> Self {
        OffloadPath {
            read_buf: vec![0u8; MAX_OFFLOAD_FRAME].into_boxed_slice(),
            scratch: vec![0u8; max_frame].into_boxed_slice(),
            max_frame,
            coalescer: Coalescer::new(DEFAULT_FLOWS).with_udp(features.uso4, features.uso6),
            stats: OffloadStats::default(),
        }
    }

    /// Reads one frame; `Ok(false)` when none was ready. Each resulting
    /// frame of at most `max_frame` bytes goes to `each`.
    pub fn read(
        &mut self,
        iface: &mut dyn L2Interface,
        each: impl FnMut(&[u8]),
    ) -> io::Result<bool> {
        let Some((hdr, len)) = iface.read_frame_offload(&mut self.read_buf)? else {
            return Ok(false);
        };
        let frame = &mut self.read_buf[..len];
        match segment(&hdr, frame, self.max_frame, &mut self.scratch, each) {
            Ok(n) if hdr.gso() != Gso::None => {
                self.stats.gso_frames += 1;
                self.stats.segments += n as u64;
            }
            Ok(_) if hdr.needs_csum() => self.stats.checksums_completed += 1,
            Ok(_) => {}
            Err(e) => self.stats.dropped[e.index()] += 1,
        }
        Ok(true)
    }

    /// Queues one frame for the interface; coalesced frames are written as
    /// they complete.
    pub fn write(&mut self, iface: &mut dyn L2Interface, frame: &[u8]) -> io::Result<()> {
        let mut result = Ok(());
        self.coalescer
            .push(frame, |hdr, f| write(iface, hdr, f, &mut result));
        result
    }

    /// Writes every frame still held by the coalescer.
    pub fn flush(&mut self, iface: &mut dyn L2Interface) -> io::Result<()> {
        let mut result = Ok(());
        self.coalescer
            .flush(|hdr, f| write(iface, hdr, f, &mut result));
        result
    }

    /// Counters so far.
    pub fn stats(&self) -> OffloadStats {
        OffloadStats {
            coalesce: self.coalescer.stats(),
            ..self.stats
        }
    }
}

impl std::fmt::Debug for OffloadPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffloadPath")
            .field("max_frame", &self.max_frame)
            .field("coalescer", &self.coalescer)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Writes one frame unless an earlier write of the batch failed fatally.
fn write(iface: &mut dyn L2Interface, hdr: &VnetHdr, frame: &[u8], result: &mut io::Result<()>) {
    if result.is_ok() {
        *result = iface.write_frame_offload(hdr, frame);
    }
}
