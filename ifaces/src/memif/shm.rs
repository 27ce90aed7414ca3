//! Shared memory: a memif region (a sealed memfd, mapped) and the ring
//! layout inside it (`memif_ring_t` / `memif_desc_t` in DPDK's `memif.h`).
//!
//! All `unsafe` of the memif kind is here. Both processes write the mapping
//! concurrently, so it is never seen as a Rust slice: bytes move with
//! `copy_nonoverlapping` after a bounds check, the ring indices are atomics,
//! and descriptors are read and written whole with volatile accesses. Which
//! side may touch which slot is the ring protocol's business (see `link.rs`);
//! what the peer writes can be garbage but never makes us read or write
//! outside our own mapping.
//!
//! Ring layout (offsets from the ring's start, little-endian):
//! ```text
//!   0 cookie u32   4 flags u16   6 head u16     (cache line 0)
//!  64 tail u16                                  (cache line 1)
//! 128 desc[2^log2]: flags u16, region u16, length u32, offset u32, metadata u32
//! ```

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};

use rustix::fs::{MemfdFlags, SealFlags};
use rustix::mm::{MapFlags, ProtFlags};

/// Bytes of a ring header before the descriptors.
const RING_HEADER: usize = 128;
const DESC_LEN: usize = 16;
const HEAD_AT: usize = 6;
const TAIL_AT: usize = 64;
const FLAGS_AT: usize = 4;
/// `MEMIF_RING_FLAG_MASK_INT`: the consumer polls; the producer need not kick.
pub(crate) const RING_FLAG_MASK_INT: u16 = 1;
/// `MEMIF_DESC_FLAG_NEXT`: the frame continues in the next descriptor.
pub(crate) const DESC_FLAG_NEXT: u16 = 1;

/// Bytes one ring of `2^log2` descriptors takes.
pub(crate) fn ring_bytes(log2: u8) -> usize {
    RING_HEADER + (DESC_LEN << log2)
}

/// One mapped memif region: ours (created by the client) or the peer's.
#[derive(Debug)]
pub(crate) struct Region {
    base: NonNull<u8>,
    len: usize,
    fd: OwnedFd,
}

// SAFETY: Region owns its mapping (unmapped only in Drop) and hands out no
// references into it, only bounds-checked copies; the raw pointer is what
// keeps the auto trait from applying.
unsafe impl Send for Region {}

impl Region {
    /// A new zero-filled region of `len` bytes in a memfd sealed against
    /// shrinking (the server maps it and would fault on a truncated file).
    pub(crate) fn create(len: usize) -> io::Result<Self> {
        let fd =
            rustix::fs::memfd_create("egd-memif", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
        rustix::fs::ftruncate(&fd, len as u64)?;
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::SEAL)?;
        Self::map(fd, len)
    }

    /// Maps a region the peer sent. Refused unless the file is sealed
    /// against shrinking and at least `len` bytes long: otherwise the peer
    /// could truncate it under us and our next access would be a SIGBUS.
    pub(crate) fn adopt(fd: OwnedFd, len: u64) -> io::Result<Self> {
        let seals = rustix::fs::fcntl_get_seals(&fd)?;
        if !seals.contains(SealFlags::SHRINK) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "region memfd is not sealed against shrinking",
            ));
        }
        let size = rustix::fs::fstat(&fd)?.st_size;
        let len = usize::try_from(len).map_err(|_| io::ErrorKind::InvalidData)?;
        if len == 0 || u64::try_from(size).map_or(true, |s| s < len as u64) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "region is empty or larger than its file",
            ));
        }
        Self::map(fd, len)
    }

    fn map(fd: OwnedFd, len: usize) -> io::Result<Self> {
        // SAFETY: a fresh shared mapping at an address the kernel picks; it
        // aliases no Rust object. The file is at least `len` bytes and cannot
        // shrink (sealed), so every byte of the mapping stays backed.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &fd,
                0,
            )?
        };
        let base = NonNull::new(ptr.cast::<u8>()).ok_or(io::ErrorKind::InvalidData)?;
        Ok(Self { base, len, fd })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Copies `dst.len()` bytes from `offset`; false (nothing copied) when
    /// that range is not inside the region.
    pub(crate) fn read(&self, offset: usize, dst: &mut [u8]) -> bool {
        if !self.contains(offset, dst.len()) {
            return false;
        }
        // SAFETY: [offset, offset + len) is inside the live mapping (checked
        // above); `dst` is a distinct Rust buffer, so the ranges cannot overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.base.as_ptr().add(offset),
                dst.as_mut_ptr(),
                dst.len(),
            );
        }
        true
    }

    /// Copies `src` to `offset`; false (nothing written) when out of bounds.
    pub(crate) fn write(&self, offset: usize, src: &[u8]) -> bool {
        if !self.contains(offset, src.len()) {
            return false;
        }
        // SAFETY: as in `read`: in bounds, and `src` lies outside the mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.base.as_ptr().add(offset), src.len());
        }
        true
    }

    fn contains(&self, offset: usize, len: usize) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.len)
    }

    /// The ring of `2^log2` slots at `offset`, if it lies inside the region
    /// and is aligned for its atomics.
    pub(crate) fn ring(&self, offset: usize, log2: u8) -> Option<Ring> {
        if !offset.is_multiple_of(8) || log2 > 15 || !self.contains(offset, ring_bytes(log2)) {
            return None;
        }
        // SAFETY: in bounds (checked), and the mapping is page-aligned so
        // `base + offset` is 8-aligned.
        let base = unsafe { NonNull::new_unchecked(self.base.as_ptr().add(offset)) };
        Some(Ring { base, log2 })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the mapping was created in `map` with this base and length
        // and is unmapped only here; no reference into it escapes (Rings are
        // owned next to their Region and dropped with it, see `link.rs`).
        let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// One buffer descriptor (`memif_desc_t`, metadata unused).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Desc {
    pub flags: u16,
    pub region: u16,
    pub length: u32,
    pub offset: u32,
}

/// A view of one ring inside a [`Region`]. It holds a raw pointer: whoever
/// owns a Ring keeps its Region alive at least as long (`link.rs` stores
/// both in one struct and never hands a Ring out).
#[derive(Debug)]
pub(crate) struct Ring {
    base: NonNull<u8>,
    log2: u8,
}

// SAFETY: the ring memory is shared with another process anyway; all access
// goes through atomics or volatile copies, none through references.
unsafe impl Send for Ring {}

impl Ring {
    pub(crate) fn size(&self) -> u16 {
        // log2 ≤ 15 (checked in `Region::ring`), so this fits.
        1u16 << self.log2
    }

    pub(crate) fn mask(&self) -> u16 {
        self.size().wrapping_sub(1)
    }

    fn atomic_u16(&self, at: usize) -> &AtomicU16 {
        // SAFETY: `at` is HEAD_AT, TAIL_AT or FLAGS_AT, inside the header,
        // 2-aligned; the ring's memory stays mapped while `self` lives and is
        // only ever accessed atomically at these offsets.
        unsafe { AtomicU16::from_ptr(self.base.as_ptr().add(at).cast()) }
    }

    pub(crate) fn head(&self) -> &AtomicU16 {
        self.atomic_u16(HEAD_AT)
    }

    pub(crate) fn tail(&self) -> &AtomicU16 {
        self.atomic_u16(TAIL_AT)
    }

    pub(crate) fn flags(&self) -> u16 {
        self.atomic_u16(FLAGS_AT).load(Ordering::Relaxed)
    }

    pub(crate) fn set_flags(&self, flags: u16) {
        self.atomic_u16(FLAGS_AT).store(flags, Ordering::Relaxed);
    }

    fn cookie_word(&self) -> &AtomicU32 {
        // SAFETY: offset 0 of the 8-aligned ring, 4 bytes, inside the header.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().cast()) }
    }

    pub(crate) fn cookie(&self) -> u32 {
        self.cookie_word().load(Ordering::Relaxed)
    }

    pub(crate) fn set_cookie(&self, cookie: u32) {
        self.cookie_word().store(cookie, Ordering::Relaxed);
    }

    fn desc_ptr(&self, slot: u16) -> *mut [u8; DESC_LEN] {
        let index = usize::from(slot & self.mask());
        // SAFETY: index < 2^log2, so the descriptor lies inside ring_bytes(log2),
        // which `Region::ring` checked is inside the mapping.
        unsafe {
            self.base
                .as_ptr()
                .add(RING_HEADER + index * DESC_LEN)
                .cast()
        }
    }

    /// The descriptor at `slot` (taken modulo the ring size).
    pub(crate) fn desc(&self, slot: u16) -> Desc {
        // SAFETY: the pointer is in bounds (desc_ptr); a byte array has no
        // alignment or validity requirements.
        let b = unsafe { self.desc_ptr(slot).read_volatile() };
        Desc {
            flags: u16::from_le_bytes([b[0], b[1]]),
            region: u16::from_le_bytes([b[2], b[3]]),
            length: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            offset: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
        }
    }

    pub(crate) fn set_desc(&self, slot: u16, d: Desc) {
        let mut b = [0u8; DESC_LEN];
        b[0..2].copy_from_slice(&d.flags.to_le_bytes());
        b[2..4].copy_from_slice(&d.region.to_le_bytes());
        b[4..8].copy_from_slice(&d.length.to_le_bytes());
        b[8..12].copy_from_slice(&d.offset.to_le_bytes());
        // SAFETY: as in `desc`.
        unsafe { self.desc_ptr(slot).write_volatile(b) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_bounds_and_ring_layout() {
        let r = Region::create(4096).unwrap();
        assert!(r.write(4090, &[1; 6]));
        assert!(!r.write(4091, &[1; 6]));
        assert!(!r.read(usize::MAX, &mut [0; 2]));
        assert!(r.ring(4, 4).is_none(), "misaligned");
        assert!(
            r.ring(4096 - ring_bytes(4) + 8, 4).is_none(),
            "past the end"
        );
        let ring = r.ring(0, 4).unwrap();
        ring.set_cookie(0x03E3_1F20);
        ring.head().store(0x0102, Ordering::Release);
        ring.tail().store(0x0304, Ordering::Release);
        ring.set_desc(
            17,
            Desc {
                flags: 1,
                region: 2,
                length: 3,
                offset: 4,
            },
        );
        let mut b = [0u8; 160];
        assert!(r.read(0, &mut b));
        assert_eq!(&b[0..4], &0x03E3_1F20u32.to_le_bytes());
        assert_eq!(&b[6..8], &[2, 1]);
        assert_eq!(&b[64..66], &[4, 3]);
        // Slot 17 of a 16-slot ring is slot 1, at 128 + 16.
        assert_eq!(&b[144..156], &[1, 0, 2, 0, 3, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(ring.desc(1).length, 3);
    }

    #[test]
    fn adopt_wants_a_sealed_big_enough_file() {
        let r = Region::create(8192).unwrap();
        let dup = r.fd().try_clone_to_owned().unwrap();
        assert!(Region::adopt(dup, 8193).is_err());
        let dup = r.fd().try_clone_to_owned().unwrap();
        let peer = Region::adopt(dup, 8192).unwrap();
        assert!(r.write(100, b"hi"));
        let mut b = [0u8; 2];
        assert!(peer.read(100, &mut b));
        assert_eq!(&b, b"hi");
        let unsealed = rustix::fs::memfd_create("x", MemfdFlags::CLOEXEC).unwrap();
        rustix::fs::ftruncate(&unsealed, 8192).unwrap();
        assert!(Region::adopt(unsealed, 8192).is_err());
    }
}
