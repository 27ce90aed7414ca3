//! Page-aligned anonymous memory shared with the kernel (buffer ring, receive
//! buffers, send slots).
//!
//! Why not `Vec<u8>`: the kernel reads and writes this memory while Rust code
//! holds no reference to it, so it is addressed only through the raw base
//! pointer (never through a `&mut [u8]` spanning the whole region, which
//! would alias buffers the kernel owns). `mmap` also gives the page alignment
//! a buffer ring needs, zero-filled.

use std::io;
use std::ptr::NonNull;

/// An owned anonymous mapping, unmapped on drop. Whoever gave its addresses
/// to the kernel must make sure the kernel is done with them first (the
/// reactors drop their ring before their regions).
#[derive(Debug)]
pub(crate) struct Region {
    base: NonNull<u8>,
    len: usize,
}

impl Region {
    /// Map `len` (> 0) bytes, rounded up to whole pages.
    pub(crate) fn new(len: usize) -> io::Result<Region> {
        let len = round_up_to_page(len.max(1));
        // SAFETY: an anonymous private mapping at a kernel-chosen address
        // touches no existing memory; the result is checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        match NonNull::new(ptr.cast::<u8>()) {
            Some(base) => Ok(Region { base, len }),
            None => Err(io::Error::other("mmap returned null")),
        }
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` describe exactly the mapping made in `new`,
        // unmapped once; no Rust reference into it outlives `self`.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

pub(crate) fn round_up_to_page(len: usize) -> usize {
    len.div_ceil(page_size()) * page_size()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_zeroed_aligned_pages() {
        let r = Region::new(10).unwrap();
        assert_eq!(r.len, page_size());
        assert_eq!(r.as_ptr() as usize % page_size(), 0);
        // SAFETY: the region is `len` bytes, mapped read-write, unaliased.
        let bytes = unsafe { std::slice::from_raw_parts(r.as_ptr(), r.len) };
        assert!(bytes.iter().all(|&b| b == 0));
    }
}
