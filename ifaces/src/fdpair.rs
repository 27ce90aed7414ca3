//! Frames over a pair of plain file descriptors (pipes, ttys, socketpairs):
//! the byte-level half of `stdio` and `fd`.
//!
//! One read is one frame. A write that the fd takes only partly (a nearly full
//! pipe) keeps its tail and finishes it before the next frame, so frames are
//! never interleaved; while a tail is pending, new frames are dropped and
//! counted as would-block. End of input stops reading for good
//! (`read_fd` becomes None); the process goes on.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use rustix::io::Errno;

use crate::IfaceStats;
use crate::fdio::{self, ReadOutcome};

#[derive(Debug)]
pub(crate) struct FdPair {
    rx: OwnedFd,
    tx: OwnedFd,
    rx_done: bool,
    tx_is_socket: bool,
    tail: Vec<u8>,
    tail_sent: usize,
    pub(crate) stats: IfaceStats,
}

/// One byte of input, for line-oriented reading.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Byte {
    Got(u8),
    WouldBlock,
    /// End of input (or an input error, counted): reading has stopped.
    Done,
}

impl FdPair {
    /// Both fds must already be non-blocking.
    pub(crate) fn new(rx: OwnedFd, tx: OwnedFd) -> Self {
        Self {
            tx_is_socket: fdio::is_socket(&tx),
            rx,
            tx,
            rx_done: false,
            tail: Vec::new(),
            tail_sent: 0,
            stats: IfaceStats::default(),
        }
    }

    pub(crate) fn read_fd(&self) -> Option<RawFd> {
        (!self.rx_done).then(|| self.rx.as_raw_fd())
    }

    pub(crate) fn rx_done(&self) -> bool {
        self.rx_done
    }

    /// One frame into `buf`; too-long frames are counted and skipped. Does not
    /// count received frames (the caller converts first).
    pub(crate) fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        while !self.rx_done {
            match fdio::read_frame(self.rx.as_fd(), buf) {
                Ok(ReadOutcome::Frame(n)) => return Ok(Some(n)),
                Ok(ReadOutcome::TooLong) => self.stats.dropped_too_long += 1,
                Ok(ReadOutcome::WouldBlock) => return Ok(None),
                Ok(ReadOutcome::Eof) => self.rx_done = true,
                Err(e) => self.input_error(e)?,
            }
        }
        Ok(None)
    }

    pub(crate) fn read_byte(&mut self) -> io::Result<Byte> {
        let mut b = [0u8; 1];
        while !self.rx_done {
            // A plain 1-byte read: the spare-byte check of `read_frame` would
            // swallow the next byte of a byte stream.
            match rustix::io::read(&self.rx, &mut b) {
                Ok(0) => self.rx_done = true,
                Ok(_) => return Ok(Byte::Got(b[0])),
                Err(Errno::AGAIN) => return Ok(Byte::WouldBlock),
                Err(Errno::INTR) => {}
                Err(e) => self.input_error(e.into())?,
            }
        }
        Ok(Byte::Done)
    }

    /// A failed read stops input (a hung-up tty keeps failing, and waiting on
    /// it would spin); only a broken fd is fatal.
    fn input_error(&mut self, e: io::Error) -> io::Result<()> {
        if fdio::is_fatal(&e) {
            return Err(e);
        }
        self.stats.rx_errors += 1;
        self.rx_done = true;
        Ok(())
    }

    /// Writes the concatenation of `parts` as one frame; `frame_len` is what
    /// the stats count.
    pub(crate) fn write(&mut self, parts: &[&[u8]], frame_len: usize) -> io::Result<()> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if !self.flush()? {
            self.stats.dropped_would_block += 1;
            return Ok(());
        }
        if total == 0 {
            self.stats.tx(frame_len);
            return Ok(());
        }
        let n = match fdio::write_parts(self.tx.as_fd(), parts, self.tx_is_socket) {
            Ok(n) => n,
            Err(e) => return self.output_error(e),
        };
        if n == 0 {
            self.stats.dropped_would_block += 1;
            return Ok(());
        }
        self.stats.tx(frame_len);
        if n < total {
            self.tail.clear();
            let mut skip = n;
            for part in parts {
                let from = skip.min(part.len());
                self.tail.extend_from_slice(&part[from..]);
                skip -= from;
            }
            self.tail_sent = 0;
        }
        Ok(())
    }

    /// Sends a pending tail; true when none is left.
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        while self.tail_sent < self.tail.len() {
            match fdio::write_parts(
                self.tx.as_fd(),
                &[&self.tail[self.tail_sent..]],
                self.tx_is_socket,
            ) {
                Ok(0) => return Ok(false),
                Ok(n) => self.tail_sent += n,
                Err(e) => {
                    self.tail.clear();
                    self.tail_sent = 0;
                    self.output_error(e)?;
                    return Ok(true);
                }
            }
        }
        self.tail.clear();
        self.tail_sent = 0;
        Ok(true)
    }

    pub(crate) fn has_tail(&self) -> bool {
        self.tail_sent < self.tail.len()
    }

    fn output_error(&mut self, e: io::Error) -> io::Result<()> {
        if fdio::is_fatal(&e) {
            return Err(e);
        }
        if e.raw_os_error() == Some(libc::EPIPE) {
            // The reader is gone; frames keep being dropped until one returns.
            self.stats.dropped_disconnected += 1;
        } else {
            self.stats.tx_errors += 1;
        }
        Ok(())
    }
}
