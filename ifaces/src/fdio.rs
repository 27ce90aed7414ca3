//! Non-blocking frame I/O on raw file descriptors, shared by the kinds that
//! read and write plain fds (tap, stdio, fd).

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
use rustix::io::Errno;
use rustix::net::{SendAncillaryBuffer, SendFlags, sendmsg};

/// What one non-blocking read produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadOutcome {
    /// One frame of this many bytes is at the start of the buffer.
    Frame(usize),
    /// The frame was longer than the buffer; it has been consumed and dropped.
    TooLong,
    /// Nothing to read now.
    WouldBlock,
    /// End of file: the writer is gone for good.
    Eof,
}

/// Reads one frame (one `read`), detecting frames longer than `buf`: the read
/// gets one spare byte behind `buf`, so a kernel that truncates silently and one
/// that reports the full length are both caught. Retries on EINTR.
pub(crate) fn read_frame(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<ReadOutcome> {
    read_frame_parts(fd, &mut [], buf)
}

/// [`read_frame`] into `head` then `buf` (a fixed-size prefix such as a
/// virtio-net header, then the frame); `Frame(n)` counts both.
pub(crate) fn read_frame_parts(
    fd: BorrowedFd<'_>,
    head: &mut [u8],
    buf: &mut [u8],
) -> io::Result<ReadOutcome> {
    let cap = head.len() + buf.len();
    let mut spare = [0u8; 1];
    loop {
        let mut iov = [
            IoSliceMut::new(head),
            IoSliceMut::new(buf),
            IoSliceMut::new(&mut spare),
        ];
        return match rustix::io::readv(fd, &mut iov) {
            Ok(0) => Ok(ReadOutcome::Eof),
            Ok(n) if n > cap => Ok(ReadOutcome::TooLong),
            Ok(n) => Ok(ReadOutcome::Frame(n)),
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => Ok(ReadOutcome::WouldBlock),
            Err(e) => Err(e.into()),
        };
    }
}

/// Writes the concatenation of `parts` (at most two) with one `writev`, or for
/// a socket one `sendmsg` with MSG_NOSIGNAL (a vanished reader must not raise
/// SIGPIPE, whatever the process's signal settings). Returns the number of
/// bytes written, `Ok(0)` meaning "would block" (callers never pass empty
/// data). Retries on EINTR.
pub(crate) fn write_parts(fd: BorrowedFd<'_>, parts: &[&[u8]], socket: bool) -> io::Result<usize> {
    let mut iov = [IoSlice::new(&[]); 2];
    let n = parts.len().min(iov.len());
    for (slot, part) in iov.iter_mut().zip(parts) {
        *slot = IoSlice::new(part);
    }
    loop {
        let result = if socket {
            sendmsg(
                fd,
                &iov[..n],
                &mut SendAncillaryBuffer::default(),
                SendFlags::NOSIGNAL,
            )
        } else {
            rustix::io::writev(fd, &iov[..n])
        };
        return match result {
            Ok(n) => Ok(n),
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => Ok(0),
            Err(e) => Err(e.into()),
        };
    }
}

/// Whether `fd` is a socket (so writes can use `sendmsg`).
pub(crate) fn is_socket(fd: impl AsFd) -> bool {
    rustix::fs::fstat(fd).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket
    })
}

/// Errors after which an fd is unusable (a bug or a closed descriptor), as
/// opposed to a dropped frame.
pub(crate) fn is_fatal(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADF | libc::EBADFD | libc::EFAULT | libc::ENOTSOCK)
    )
}

/// Sets O_NONBLOCK; returns the flags it had before.
pub(crate) fn set_nonblocking(fd: impl AsFd) -> io::Result<OFlags> {
    let old = fcntl_getfl(&fd)?;
    if !old.contains(OFlags::NONBLOCK) {
        fcntl_setfl(&fd, old | OFlags::NONBLOCK)?;
    }
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::pipe::{PipeFlags, pipe_with};

    #[test]
    fn read_frame_over_a_pipe() {
        let (r, w) = pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(
            read_frame(r.as_fd(), &mut buf).unwrap(),
            ReadOutcome::WouldBlock
        );
        assert!(!is_socket(&w));
        assert_eq!(write_parts(w.as_fd(), &[b"ab", b"cd"], false).unwrap(), 4);
        assert_eq!(
            read_frame(r.as_fd(), &mut buf).unwrap(),
            ReadOutcome::Frame(4)
        );
        assert_eq!(&buf, b"abcd");
        write_parts(w.as_fd(), &[b"abcde"], false).unwrap();
        assert_eq!(
            read_frame(r.as_fd(), &mut buf).unwrap(),
            ReadOutcome::TooLong
        );
        drop(w);
        assert_eq!(read_frame(r.as_fd(), &mut buf).unwrap(), ReadOutcome::Eof);
    }

    #[test]
    fn writes_to_a_closed_socket_fail_without_sigpipe() {
        use rustix::net::{AddressFamily, SocketFlags, SocketType, socketpair};
        let (a, b) = socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        assert!(is_socket(&a));
        assert_eq!(write_parts(a.as_fd(), &[b"x", b"yz"], true).unwrap(), 3);
        drop(b);
        let e = write_parts(a.as_fd(), &[b"x"], true).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
    }
}
