//! Readiness watches on a pipe and an eventfd, through each backend:
//! Readable fires at registration when data is already there, again after new
//! data once the caller has read until WouldBlock, not while nothing new
//! arrives, and never after `unwatch`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report
// Tests measure wall-clock time to bound waits.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{BACKENDS, reactor};
use egd_uring::{Backend, Completion, Reactor, ReactorConfig, WatchId};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Readable(WatchId),
    Timeout,
}

/// Wait until something happens or `within` passes. `wait` may return
/// empty-handed on EINTR (e.g. after another ring on this thread closed); a
/// daemon simply waits again with the same deadline, and so do we.
fn events(r: &mut dyn Reactor, within: Duration) -> Vec<Event> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    while out.is_empty() {
        r.wait(Some(deadline), &mut |c| match c {
            Completion::Readable(id) => out.push(Event::Readable(id)),
            Completion::Timeout => out.push(Event::Timeout),
            Completion::Datagram { .. } => panic!("no sockets here"),
        })
        .unwrap();
    }
    out
}

/// A readable end and a writable end (the same fd for an eventfd).
struct Pair {
    read: OwnedFd,
    write: Option<OwnedFd>,
    eventfd: bool,
}

impl Pair {
    fn pipe() -> Pair {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two descriptors.
        assert_eq!(
            unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) },
            0
        );
        // SAFETY: fresh descriptors owned by nobody else.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Pair {
            read: r,
            write: Some(w),
            eventfd: false,
        }
    }

    fn eventfd() -> Pair {
        // SAFETY: plain syscall, result checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: fresh descriptor owned by nobody else.
        Pair {
            read: unsafe { OwnedFd::from_raw_fd(fd) },
            write: None,
            eventfd: true,
        }
    }

    fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    fn poke(&self) {
        let w = self.write.as_ref().unwrap_or(&self.read);
        let bytes = 1u64.to_ne_bytes();
        let len = if self.eventfd { 8 } else { 3 };
        // SAFETY: `bytes` is valid for reads of `len` ≤ 8 bytes.
        let n = unsafe { libc::write(w.as_raw_fd(), bytes.as_ptr().cast(), len) };
        assert_eq!(n, len as isize);
    }

    /// Read until WouldBlock; returns the number of successful reads.
    fn drain(&self) -> usize {
        let mut buf = [0u8; 64];
        let mut reads = 0;
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe { libc::read(self.fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                let e = std::io::Error::last_os_error();
                assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
                return reads;
            }
            reads += 1;
        }
    }
}

fn readiness(backend: Backend, pair: &Pair) {
    let Some(mut r) = reactor(backend, ReactorConfig::default()) else {
        return;
    };
    let quiet = Duration::from_millis(60);
    let soon = Duration::from_secs(2);

    // Data before the watch: fires at registration.
    pair.poke();
    let id = r.watch_readable(pair.fd()).unwrap();
    assert_eq!(events(&mut *r, soon), vec![Event::Readable(id)]);
    assert!(pair.drain() > 0);
    // Drained and nothing new: only the timeout.
    assert_eq!(events(&mut *r, quiet), vec![Event::Timeout]);

    // New data fires again, every time.
    for round in 0..3 {
        pair.poke();
        assert_eq!(
            events(&mut *r, soon),
            vec![Event::Readable(id)],
            "round {round}"
        );
        assert!(pair.drain() > 0);
        assert_eq!(
            events(&mut *r, quiet),
            vec![Event::Timeout],
            "round {round}"
        );
    }

    // After unwatch: silence even with data.
    r.unwatch(id);
    pair.poke();
    assert_eq!(events(&mut *r, quiet), vec![Event::Timeout]);
    r.unwatch(id); // stale ids are ignored

    // Watching again gives a new id that fires for the pending data.
    let again = r.watch_readable(pair.fd()).unwrap();
    assert_ne!(again, id);
    assert_eq!(events(&mut *r, soon), vec![Event::Readable(again)]);
    assert!(pair.drain() > 0);
    r.unwatch(again);
    assert_eq!(r.stats().watch_errors, 0);
}

#[test]
fn pipe_readiness() {
    for backend in BACKENDS {
        readiness(backend, &Pair::pipe());
    }
}

#[test]
fn eventfd_readiness() {
    for backend in BACKENDS {
        readiness(backend, &Pair::eventfd());
    }
}

#[test]
fn bad_fd_is_refused_or_reported() {
    for backend in BACKENDS {
        let Some(mut r) = reactor(backend, ReactorConfig::default()) else {
            continue;
        };
        assert!(r.watch_readable(-1).is_err(), "{backend:?}");
    }
}
