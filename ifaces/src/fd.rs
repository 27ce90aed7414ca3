//! `fd`: raw frames on two file descriptors handed over by whoever started
//! the process, named by the environment variables `EG_FD_RX` (frames in) and
//! `EG_FD_TX` (frames out); they may be the same fd (one socketpair end).
//!
//! One read is one frame, so message-preserving fds (SOCK_SEQPACKET or
//! SOCK_DGRAM socketpairs) are the right choice; over a pipe the writer must
//! write whole frames of at most PIPE_BUF bytes. The descriptors are
//! duplicated (close-on-exec, so a PostScript does not inherit the copies) and
//! made non-blocking, which, being a property of the shared open file
//! description, the originals see too; the originals are left open, as this
//! crate does not own them.
//!
//! Driving it: as `stdio` with `nochg` — wait for `read_fd` (None after end of
//! input), `read_frame` until `Ok(None)`, `maintain` every interval.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::error::IfaceError;
use crate::fdio::set_nonblocking;
use crate::fdpair::FdPair;
use crate::stdio::FLUSH_INTERVAL;
use crate::{IfaceStats, L2Interface};

/// The variable naming the fd frames are read from.
pub const ENV_FD_RX: &str = "EG_FD_RX";
/// The variable naming the fd frames are written to.
pub const ENV_FD_TX: &str = "EG_FD_TX";

/// The `fd` endpoint.
#[derive(Debug)]
pub struct FdIface {
    name: String,
    io: FdPair,
}

impl FdIface {
    /// Takes the fds named by `EG_FD_RX` / `EG_FD_TX` in this process's environment.
    pub fn from_env(name: &str) -> Result<Self, IfaceError> {
        Self::from_vars(
            name,
            std::env::var_os(ENV_FD_RX),
            std::env::var_os(ENV_FD_TX),
        )
    }

    /// As [`FdIface::from_env`], with the variables' values given (for callers that
    /// read the environment themselves; a missing value is None).
    pub fn from_vars(
        name: &str,
        rx: Option<std::ffi::OsString>,
        tx: Option<std::ffi::OsString>,
    ) -> Result<Self, IfaceError> {
        let ctx = |e: IfaceError| e.context(format_args!("fd {name}"));
        let rx = dup_named(ENV_FD_RX, rx).map_err(ctx)?;
        let tx = dup_named(ENV_FD_TX, tx).map_err(ctx)?;
        Self::from_fds(name, rx, tx)
            .map_err(|e| IfaceError::io(format!("fd {name}: O_NONBLOCK"), e))
    }

    /// The same endpoint over fds the caller owns (made non-blocking here).
    pub fn from_fds(name: &str, rx: OwnedFd, tx: OwnedFd) -> io::Result<Self> {
        set_nonblocking(&rx)?;
        set_nonblocking(&tx)?;
        Ok(Self {
            name: name.to_owned(),
            io: FdPair::new(rx, tx),
        })
    }
}

/// Parses the variable and duplicates the fd it names.
fn dup_named(var: &str, value: Option<std::ffi::OsString>) -> Result<OwnedFd, IfaceError> {
    let value = value.ok_or_else(|| IfaceError::msg(format!("{var} is not set")))?;
    let text = value.to_str().unwrap_or("");
    let fd: RawFd = text.parse().ok().filter(|fd| *fd >= 0).ok_or_else(|| {
        IfaceError::msg(format!("{var}={value:?} is not a file descriptor number"))
    })?;
    // SAFETY: F_DUPFD_CLOEXEC takes an integer and no memory; an fd number
    // that is not open just yields EBADF.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        let e = io::Error::last_os_error();
        return Err(IfaceError::io(
            format!("{var}={fd} is not an open file descriptor"),
            e,
        ));
    }
    // SAFETY: `new` was just returned by F_DUPFD_CLOEXEC: an open descriptor
    // that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

impl L2Interface for FdIface {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_fd(&self) -> Option<RawFd> {
        self.io.read_fd()
    }

    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let n = self.io.read_raw(buf)?;
        if let Some(n) = n {
            self.io.stats.rx(n);
        }
        Ok(n)
    }

    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        self.io.write(&[frame], frame.len())
    }

    fn maintain(&mut self) -> io::Result<()> {
        self.io.flush().map(|_| ())
    }

    fn maintain_interval(&self) -> Option<Duration> {
        Some(FLUSH_INTERVAL)
    }

    fn stats(&self) -> IfaceStats {
        self.io.stats
    }
}
