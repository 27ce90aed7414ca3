//! Non-blocking handles on stdin/stdout that leave the parent's terminal alone.
//!
//! O_NONBLOCK is a property of the open file description, which stdin/stdout
//! share with the shell that started us: setting it on fd 0 of a terminal
//! would leave the shell's terminal non-blocking after we exit. So:
//! - a pipe, FIFO or terminal is reopened through `/proc/self/fd/N`, which
//!   gives a new open file description of the same object, made non-blocking
//!   without touching the shared one;
//! - a regular file or block device never blocks: it is only duplicated;
//! - anything else (a socket, or when reopening fails, e.g. no /proc) is
//!   duplicated and the shared description made non-blocking; its old flags
//!   are restored when the interface is dropped.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{FileType, Mode, OFlags, fcntl_setfl, fstat, open};
use rustix::io::fcntl_dupfd_cloexec;

use crate::fdio::set_nonblocking;

/// A non-blocking handle on fd 0 or 1.
#[derive(Debug)]
pub(crate) struct StdFd {
    pub(crate) fd: OwnedFd,
    /// The shared description's flags to put back on drop, if we changed them.
    restore: Option<(OwnedFd, OFlags)>,
}

impl StdFd {
    /// `std`: `rustix::stdio::stdin()` or `stdout()`; `write`: the direction.
    pub(crate) fn open(std: BorrowedFd<'_>, number: i32, write: bool) -> io::Result<Self> {
        let kind = FileType::from_raw_mode(fstat(std)?.st_mode);
        match kind {
            FileType::RegularFile | FileType::BlockDevice => Ok(Self {
                fd: fcntl_dupfd_cloexec(std, 3)?,
                restore: None,
            }),
            FileType::Fifo | FileType::CharacterDevice => match reopen(number, write) {
                Ok(fd) => Ok(Self { fd, restore: None }),
                Err(_) => shared_nonblocking(std),
            },
            _ => shared_nonblocking(std),
        }
    }

    /// Whether the shared description was changed (and will be restored).
    #[cfg(test)]
    pub(crate) fn changed_shared_flags(&self) -> bool {
        self.restore.is_some()
    }
}

fn reopen(number: i32, write: bool) -> io::Result<OwnedFd> {
    let access = if write {
        OFlags::WRONLY
    } else {
        OFlags::RDONLY
    };
    let path = format!("/proc/self/fd/{number}");
    Ok(open(
        path.as_str(),
        access | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?)
}

fn shared_nonblocking(std: BorrowedFd<'_>) -> io::Result<StdFd> {
    let fd = fcntl_dupfd_cloexec(std, 3)?;
    let old = set_nonblocking(&fd)?;
    let restore = if old.contains(OFlags::NONBLOCK) {
        None
    } else {
        Some((fcntl_dupfd_cloexec(&fd, 3)?, old))
    };
    Ok(StdFd { fd, restore })
}

impl Drop for StdFd {
    fn drop(&mut self) {
        if let Some((fd, flags)) = &self.restore {
            // Best effort: nothing useful can be done if this fails at exit.
            let _ = fcntl_setfl(fd.as_fd(), *flags);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::fcntl_getfl;
    use rustix::pipe::{PipeFlags, pipe_with};
    use std::os::fd::AsRawFd;

    #[test]
    fn a_pipe_is_reopened_and_the_shared_description_keeps_blocking() {
        let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        let fd = StdFd::open(r.as_fd(), r.as_raw_fd(), false).unwrap();
        assert!(!fd.changed_shared_flags());
        assert!(fcntl_getfl(&fd.fd).unwrap().contains(OFlags::NONBLOCK));
        assert!(!fcntl_getfl(&r).unwrap().contains(OFlags::NONBLOCK));
        // It is the same pipe.
        rustix::io::write(&w, b"x").unwrap();
        let mut b = [0u8; 1];
        assert_eq!(rustix::io::read(&fd.fd, &mut b).unwrap(), 1);
    }

    #[test]
    fn a_socket_is_shared_and_restored_on_drop() {
        use rustix::net::{AddressFamily, SocketFlags, SocketType, socketpair};
        let (a, _b) = socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let fd = StdFd::open(a.as_fd(), a.as_raw_fd(), false).unwrap();
        assert!(fd.changed_shared_flags());
        assert!(fcntl_getfl(&a).unwrap().contains(OFlags::NONBLOCK));
        drop(fd);
        assert!(!fcntl_getfl(&a).unwrap().contains(OFlags::NONBLOCK));
    }
}
