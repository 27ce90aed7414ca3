//! The provided buffer ring: receive buffers the kernel picks from when a
//! multishot `RecvMsg` completes (io_uring_register_buf_ring(3)).
//!
//! How to drive it: `new` maps the ring and the buffers and provides every
//! buffer → `register` with the ring → on each receive completion the kernel
//! names a buffer id; `buffer_mut(bid)` lends its bytes → `provide(bid)` gives
//! it back → `publish` makes the returned buffers visible to the kernel (one
//! release store of the tail per batch of completions).
//!
//! Layout of the mapping: the ring (`entries` × 16-byte `io_uring_buf`,
//! page-rounded) then `entries` buffers of `stride` bytes. The ring's tail
//! shares bytes 14..16 with entry 0's reserved field, so entries are written
//! field by field and never as whole structs.

use crate::mem::{self, Region};
use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

/// `sizeof(struct io_uring_buf)`: addr u64, len u32, bid u16, resv u16.
const ENTRY_LEN: usize = 16;
/// Offset of `io_uring_buf_ring.tail`.
const TAIL_OFFSET: usize = 14;

pub(crate) struct BufRing {
    region: Region,
    entries: u16,
    buffers_offset: usize,
    stride: usize,
    /// Our tail: entries written so far (wrapping), published by `publish`.
    tail: u16,
    pub(crate) group: u16,
}

impl BufRing {
    /// `entries` (a power of two) buffers of `stride` bytes each, all
    /// provided (but not yet published: `register` does).
    pub(crate) fn new(entries: u16, stride: usize, group: u16) -> io::Result<BufRing> {
        if !entries.is_power_of_two() || stride == 0 || u32::try_from(stride).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "buffer ring: entries must be a power of two, stride fit in u32",
            ));
        }
        let buffers_offset = mem::round_up_to_page(usize::from(entries) * ENTRY_LEN);
        let region = Region::new(buffers_offset + usize::from(entries) * stride)?;
        let mut ring = BufRing {
            region,
            entries,
            buffers_offset,
            stride,
            tail: 0,
            group,
        };
        for bid in 0..entries {
            ring.provide(bid);
        }
        Ok(ring)
    }

    /// Register with `submitter` under `group` and publish all buffers.
    pub(crate) fn register(&self, submitter: &io_uring::Submitter<'_>) -> io::Result<()> {
        self.publish();
        // SAFETY: the ring memory is page-aligned, holds `entries` entries and
        // lives in `self.region`, which the reactor drops only after the ring
        // is closed or the group unregistered.
        unsafe {
            submitter.register_buf_ring_with_flags(
                self.region.as_ptr() as u64,
                self.entries,
                self.group,
                0,
            )
        }
    }

    /// Append buffer `bid` to the ring (visible to the kernel after
    /// `publish`). Ids out of range are ignored.
    pub(crate) fn provide(&mut self, bid: u16) {
        if bid >= self.entries {
            return;
        }
        let slot = usize::from(self.tail & (self.entries - 1));
        let addr = self.buffer_ptr(bid) as u64;
        // SAFETY: entry `slot` < entries lies in the page-aligned ring at the
        // start of the region, so each field pointer is in bounds and aligned
        // for its type. The kernel reads entries only between its head and
        // our published tail; this slot is at our unpublished tail, which the
        // kernel has consumed (or never seen), so nobody reads it now. The
        // `resv` field (the tail, for entry 0) is not touched.
        unsafe {
            let e = self.region.as_ptr().add(slot * ENTRY_LEN);
            e.cast::<u64>().write(addr);
            e.add(8).cast::<u32>().write(self.stride as u32);
            e.add(12).cast::<u16>().write(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Make every provided buffer visible to the kernel.
    pub(crate) fn publish(&self) {
        // SAFETY: the tail lives at bytes 14..16 of the ring, which is
        // 2-aligned inside the region; the kernel reads it concurrently, hence
        // the atomic with release ordering (our entry writes happen before).
        let tail = unsafe { &*self.region.as_ptr().add(TAIL_OFFSET).cast::<AtomicU16>() };
        tail.store(self.tail, Ordering::Release);
    }

    fn buffer_ptr(&self, bid: u16) -> *mut u8 {
        // Stays in bounds: bid < entries, so the whole buffer is in the region.
        self.region
            .as_ptr()
            .wrapping_add(self.buffers_offset + usize::from(bid) * self.stride)
    }

    /// The bytes of buffer `bid`, or `None` when out of range.
    ///
    /// # Safety
    /// The kernel must have handed `bid` to us (a completion named it) and we
    /// must not have provided it back since: only then does nobody else read
    /// or write it for the lifetime of the returned slice.
    pub(crate) unsafe fn buffer_mut(&mut self, bid: u16) -> Option<&mut [u8]> {
        if bid >= self.entries {
            return None;
        }
        // SAFETY: in bounds (see buffer_ptr); exclusive per the contract above
        // and because `&mut self` prevents a second loan through us.
        Some(unsafe { std::slice::from_raw_parts_mut(self.buffer_ptr(bid), self.stride) })
    }
}
