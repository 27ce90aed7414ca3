//! `stdio`: frames from stdin, frames to stdout, converted by `L2HeaderMode`
//! ([`l2mode`]):
//! - `nochg`: raw bytes; one read is one frame (as upstream), so a writer must
//!   write whole frames (at most PIPE_BUF bytes to a pipe to stay atomic);
//! - `kbdbg`: one line is one frame (`b1hello` → broadcast from node 1). Lines
//!   are read a byte at a time, so a frame is returned as soon as its newline
//!   arrives and no further input is held back in user space (it is meant for
//!   typing, not throughput); a last line without newline is sent at end of
//!   input;
//! - `noL2`: one read is the payload of one broadcast frame from this node;
//!   written frames lose their first 12 bytes.
//!
//! Stdin and stdout are made non-blocking without affecting the parent's
//! terminal: a pipe or terminal is reopened through `/proc/self/fd/N`
//! (a new open file description); a socket's shared description is made
//! non-blocking and restored on drop. At end of input reading stops for good
//! (`read_fd` turns None) and the process goes on. Writes never block: a
//! partly written frame is finished first and frames arriving meanwhile are
//! dropped (counted); `maintain` pushes such a tail out.
//!
//! Driving it: wait for `read_fd` (until it is None), call `read_frame` until
//! `Ok(None)`, and `maintain` every [`L2Interface::maintain_interval`].
//! [`StdioIface::from_fds`] runs the same code over any pair of fds (tests use
//! pipes).

pub mod l2mode;
mod stdfd;

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::time::Duration;

use self::l2mode::{
    ConvertError, MAC_HEADER_LEN, kbdbg_line_to_frame, kbdbg_prefix, no_l2_header, no_l2_payload,
};
use self::stdfd::StdFd;
use crate::error::{Context, IfaceError};
use crate::fdio::set_nonblocking;
use crate::fdpair::{Byte, FdPair};
use crate::spec::{IfaceSpec, L2HeaderMode};
use crate::stream::record::MAX_RECORD;
use crate::{IfaceStats, L2Interface};

/// How often `maintain` should run to finish a partly written frame.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// The longest `kbdbg` line kept; longer lines are dropped whole.
const MAX_LINE: usize = MAX_RECORD;

/// The `stdio` endpoint.
#[derive(Debug)]
pub struct StdioIface {
    name: String,
    io: FdPair,
    mode: L2HeaderMode,
    mac: [u8; 6],
    line: Vec<u8>,
    /// A `kbdbg` line grew past MAX_LINE: skip to its newline.
    skipping_line: bool,
    _std: Option<(StdFd, StdFd)>,
}

impl StdioIface {
    /// Stdin and stdout of this process.
    pub fn open(spec: &IfaceSpec) -> Result<Self, IfaceError> {
        Self::open_std(spec).map_err(|e| e.context(format_args!("stdio {}", spec.name)))
    }

    fn open_std(spec: &IfaceSpec) -> Result<Self, IfaceError> {
        let stdin = StdFd::open(rustix::stdio::stdin(), 0, false).ctx("stdin")?;
        let stdout = StdFd::open(rustix::stdio::stdout(), 1, true).ctx("stdout")?;
        let io = FdPair::new(
            stdin.fd.try_clone().ctx("dup stdin")?,
            stdout.fd.try_clone().ctx("dup stdout")?,
        );
        Ok(Self::with(
            spec.name.clone(),
            io,
            spec.l2_header_mode,
            spec.mac,
            Some((stdin, stdout)),
        ))
    }

    /// The same endpoint over any two fds (made non-blocking here).
    pub fn from_fds(
        name: impl Into<String>,
        rx: OwnedFd,
        tx: OwnedFd,
        mode: L2HeaderMode,
        mac: [u8; 6],
    ) -> io::Result<Self> {
        set_nonblocking(&rx)?;
        set_nonblocking(&tx)?;
        Ok(Self::with(
            name.into(),
            FdPair::new(rx, tx),
            mode,
            mac,
            None,
        ))
    }

    fn with(
        name: String,
        io: FdPair,
        mode: L2HeaderMode,
        mac: [u8; 6],
        std: Option<(StdFd, StdFd)>,
    ) -> Self {
        Self {
            name,
            io,
            mode,
            mac,
            line: Vec::new(),
            skipping_line: false,
            _std: std,
        }
    }

    fn read_line_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            let end_of_line = match self.io.read_byte()? {
                Byte::WouldBlock => return Ok(None),
                Byte::Got(b) => {
                    if !self.skipping_line {
                        self.line.push(b);
                    }
                    b == b'\n'
                }
                Byte::Done if self.line.is_empty() => return Ok(None),
                Byte::Done => true,
            };
            if !end_of_line {
                if self.line.len() > MAX_LINE {
                    self.line.clear();
                    self.skipping_line = true;
                    self.io.stats.dropped_too_long += 1;
                }
                continue;
            }
            if std::mem::take(&mut self.skipping_line) {
                continue;
            }
            let result = kbdbg_line_to_frame(&self.line, buf);
            self.line.clear();
            match result {
                Ok(n) => {
                    self.io.stats.rx(n);
                    return Ok(Some(n));
                }
                Err(ConvertError::TooShort) => self.io.stats.rx_errors += 1,
                Err(ConvertError::TooLong) => self.io.stats.dropped_too_long += 1,
            }
        }
    }
}

impl L2Interface for StdioIface {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_fd(&self) -> Option<RawFd> {
        self.io.read_fd()
    }

    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.mode {
            L2HeaderMode::NoChange => {
                let n = self.io.read_raw(buf)?;
                if let Some(n) = n {
                    self.io.stats.rx(n);
                }
                Ok(n)
            }
            L2HeaderMode::KeyboardDebug => self.read_line_frame(buf),
            L2HeaderMode::NoL2 => {
                // A buffer shorter than the header takes no payload: any input
                // is then too long and dropped.
                let payload = buf.get_mut(MAC_HEADER_LEN..).unwrap_or(&mut []);
                let Some(n) = self.io.read_raw(payload)? else {
                    return Ok(None);
                };
                buf[..MAC_HEADER_LEN].copy_from_slice(&no_l2_header(self.mac));
                self.io.stats.rx(MAC_HEADER_LEN + n);
                Ok(Some(MAC_HEADER_LEN + n))
            }
        }
    }

    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        match self.mode {
            L2HeaderMode::NoChange => self.io.write(&[frame], frame.len()),
            L2HeaderMode::KeyboardDebug => match kbdbg_prefix(frame) {
                Ok(prefix) => self
                    .io
                    .write(&[&prefix, &frame[MAC_HEADER_LEN..]], frame.len()),
                Err(_) => {
                    self.io.stats.tx_errors += 1;
                    Ok(())
                }
            },
            L2HeaderMode::NoL2 => match no_l2_payload(frame) {
                Ok(payload) => self.io.write(&[payload], frame.len()),
                Err(_) => {
                    self.io.stats.tx_errors += 1;
                    Ok(())
                }
            },
        }
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

impl StdioIface {
    /// Whether end of input has been reached.
    pub fn input_ended(&self) -> bool {
        self.io.rx_done()
    }

    /// Whether part of a frame still waits to be written.
    pub fn output_pending(&self) -> bool {
        self.io.has_tail()
    }
}
