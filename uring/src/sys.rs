//! Small libc wrappers shared by both backends.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Turn a libc `-1 + errno` return into an `io::Result`.
pub(crate) fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Like [`cvt`] for `ssize_t` returns.
pub(crate) fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// Set or clear `O_NONBLOCK`.
pub(crate) fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on an fd we were given; no memory involved.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    let new = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new != flags {
        // SAFETY: as above.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, new) })?;
    }
    Ok(())
}

/// Whether the kernel knows `UDP_SEGMENT` (Linux ≥ 4.18): reading the option
/// on a fresh UDP socket fails with ENOPROTOOPT otherwise.
pub(crate) fn probe_gso() -> bool {
    probe_udp_option(libc::UDP_SEGMENT)
}

/// Whether the kernel knows `UDP_GRO` (Linux ≥ 5.0), probed the same way.
pub(crate) fn probe_gro() -> bool {
    probe_udp_option(libc::UDP_GRO)
}

fn probe_udp_option(option: libc::c_int) -> bool {
    [libc::AF_INET, libc::AF_INET6].iter().any(|&family| {
        // SAFETY: plain socket creation; the result is checked and owned.
        let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return false;
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut val: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `val`/`len` are valid for writes of the sizes given.
        let ret = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::SOL_UDP,
                option,
                (&raw mut val).cast(),
                &mut len,
            )
        };
        ret == 0
    })
}

/// A connected pair of non-blocking Unix datagram sockets.
pub(crate) fn datagram_socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two descriptors socketpair writes.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: on success both are fresh descriptors that only we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `write(2)` of a whole buffer in one call (datagram sockets, eventfds).
pub(crate) fn write(fd: RawFd, bytes: &[u8]) -> io::Result<usize> {
    // SAFETY: `bytes` is valid for reads of its length.
    cvt_size(unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) })
}

/// `kernel.io_uring_disabled`: 0 allowed, 1 only for the `io_uring_group`
/// (or CAP_SYS_ADMIN), 2 disabled. `None` when the sysctl does not exist
/// (kernels before 6.6).
pub(crate) fn io_uring_disabled() -> Option<u8> {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `setsockopt` of an `int` option.
pub(crate) fn set_int_option(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a valid c_int for reads of its size during the call.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `getsockopt` of an `int` option.
pub(crate) fn int_option(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<i32> {
    let mut val: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `val`/`len` are valid for writes of the sizes given.
    cvt(unsafe { libc::getsockopt(fd, level, name, (&raw mut val).cast(), &mut len) })?;
    Ok(val)
}

/// The datagrams the kernel dropped at a socket (its receive buffer was
/// full, …): `SO_MEMINFO`'s `SK_MEMINFO_DROPS`, a 32-bit counter.
pub(crate) fn socket_drops(fd: RawFd) -> io::Result<u32> {
    const VARS: usize = libc::SK_MEMINFO_DROPS as usize + 1;
    let mut info = [0u32; VARS];
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: `info`/`len` are valid for writes of the sizes given; the
    // kernel writes at most `len` bytes and says how many in `len`.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    })?;
    if (len as usize) < std::mem::size_of_val(&info) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "SO_MEMINFO without a drop counter",
        ));
    }
    Ok(info[VARS - 1])
}
