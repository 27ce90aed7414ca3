//! Waking a reactor from another thread: a connected pair of Unix datagram
//! sockets. The reactor watches the receiving end (`Reactor::watch_readable`)
//! and drains it when it fires; any thread holding a [`WakeHandle`] writes
//! one byte to wake it. Writes never block: when the socket buffer is full
//! a wake-up is already pending.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

/// The receiving end, owned by the reactor's thread.
#[derive(Debug)]
pub struct Waker {
    rx: UnixDatagram,
}

/// A cloneable sender of wake-ups.
#[derive(Debug, Clone)]
pub struct WakeHandle {
    tx: Arc<UnixDatagram>,
}

pub fn pair() -> io::Result<(Waker, WakeHandle)> {
    let (rx, tx) = UnixDatagram::pair()?;
    rx.set_nonblocking(true)?;
    tx.set_nonblocking(true)?;
    Ok((Waker { rx }, WakeHandle { tx: Arc::new(tx) }))
}

impl Waker {
    /// The fd to watch for readability.
    pub fn fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }

    /// Consumes pending wake-ups.
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        while self.rx.recv(&mut buf).is_ok() {}
    }
}

impl WakeHandle {
    pub fn wake(&self) {
        // Full buffer (WouldBlock): a wake-up is pending already.
        let _ = self.tx.send(&[1]);
    }
}
