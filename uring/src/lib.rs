//! egd-uring: the reactor. io_uring rings, provided buffer rings, multishot
//! receive, batched and GSO sends, one timer and readiness watching, with an
//! epoll fallback behind the same trait. It knows nothing about WireGuard or
//! routing (as quinn-udp knows nothing about QUIC).
//!
//! # How to drive it
//!
//! ```no_run
//! use egd_uring::{new_reactor, Backend, Completion, ReactorConfig};
//! # fn main() -> std::io::Result<()> {
//! // Create the reactor on the thread that will drive it: the io_uring backend
//! // is a single-issuer ring (the type is deliberately not `Send`).
//! let (mut reactor, warning) = new_reactor(Backend::Uring, ReactorConfig::default())?;
//! if let Some(w) = warning {
//!     eprintln!("warning: {w}"); // io_uring unavailable, the std backend is used
//! }
//! eprintln!("reactor: {}", reactor.features()); // the single start-up log line
//! let sock = reactor.add_udp(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
//! loop {
//!     let deadline = None; // the daemon's next timer, e.g. from `poll_timeout`
//!     reactor.wait(deadline, &mut |c| match c {
//!         Completion::Datagram { socket, from, payload } => { /* decrypt in place */ }
//!         Completion::Readable(watch) => { /* read the fd until WouldBlock */ }
//!         Completion::Timeout => {}
//!     })?;
//!     // read the clock once, handle timeouts, then for every transmit:
//!     // reactor.queue_send(sock, dst, &bytes)?  (Err(WouldBlock) = count a drop)
//!     reactor.flush()?;
//! }
//! # }
//! ```
//!
//! The loop is: `wait` (submits pending work, sleeps until at least one
//! completion or the deadline, hands completions out) → the caller's work →
//! `queue_send`… → `flush`. Datagram payloads are lent for the duration of the
//! callback only; the buffer then goes back to the kernel.
//!
//! Offloads: sends to one destination are batched into UDP GSO sends
//! (`batch`); with receive buffers of at least [`GRO_BUFFER_LEN`] bytes (the
//! default) sockets get UDP GRO and a coalesced receive is split back into
//! its datagrams (`gro`), each handed out on its own as a slice of the one
//! buffer. `add_udp` also raises the kernel socket buffers
//! ([`ReactorConfig::socket_buffer`]); `features()` reports what is in use.
//!
//! Backends: [`Backend::Uring`] (`ring` module) needs Linux ≥ 6.0 (multishot
//! `RecvMsg` with provided buffer rings); [`new_reactor`] falls back to
//! [`Backend::Std`] (`epoll` module: non-blocking sockets and epoll) with a
//! warning when io_uring is unavailable (disabled by sysctl, filtered by
//! seccomp, too old). Both share the send batching (`batch`, `send_arena`) and
//! the address conversions (`sockaddr`).
//!
//! No allocation per datagram: receive buffers, send slots and completion
//! scratch space are allocated when the reactor is created or a socket/watch
//! is registered (`tests/alloc.rs` proves it for the io_uring backend).
//!
//! `unsafe` lives in this crate (and `egd-ifaces`) only; every block says why
//! it is sound in a `// SAFETY:` comment.

mod batch;
mod clock;
mod config;
mod epoll;
mod features;
mod gro;
mod ids;
mod mem;
mod ring;
mod send_arena;
mod sockaddr;
mod sockopt;
mod stats;
mod sys;

pub use config::{Backend, ReactorConfig, UnknownBackend};
pub use features::Features;
pub use gro::GRO_BUFFER_LEN;
pub use ids::{SocketId, WatchId};
pub use stats::Stats;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::RawFd;
use std::time::Instant;

/// What [`Reactor::wait`] hands to its callback.
#[derive(Debug)]
pub enum Completion<'a> {
    /// One UDP datagram. `payload` is lent for the duration of the callback
    /// (it lives in a kernel-provided buffer); it is mutable so the caller can
    /// decrypt in place.
    Datagram {
        socket: SocketId,
        from: SocketAddr,
        payload: &'a mut [u8],
    },
    /// A watched fd became readable (or hung up / errored: reading tells).
    Readable(WatchId),
    /// The deadline given to `wait` has been reached.
    Timeout,
}

/// The I/O reactor the daemon drives: one per thread.
pub trait Reactor {
    /// What the backend uses; its `Display` is the single start-up log line.
    fn features(&self) -> &Features;

    /// Register a bound UDP socket (IPv4 or IPv6). Datagrams arrive as
    /// [`Completion::Datagram`] (receiving starts with the next `wait` or
    /// `flush`). The reactor owns the socket from now on and sets its
    /// blocking mode as its backend needs.
    fn add_udp(&mut self, socket: UdpSocket) -> io::Result<SocketId>;

    /// Watch an fd for readability. Contract: on each `Readable` the caller
    /// reads until `WouldBlock`; it then gets another `Readable` after new data
    /// arrives. Fires once at registration when data is already there. On
    /// end of file or hang-up the caller should `unwatch` (the std backend
    /// would keep reporting it). The fd stays owned by the caller, who must
    /// `unwatch` before closing it.
    fn watch_readable(&mut self, fd: RawFd) -> io::Result<WatchId>;

    /// Stop watching. Stale or unknown ids are ignored; no `Readable` for `id`
    /// is delivered after this returns.
    fn unwatch(&mut self, id: WatchId);

    /// Queue a datagram; it is sent on [`flush`](Self::flush) (or when the
    /// batch is full). The payload is copied into preallocated send slots.
    /// Errors: `WouldBlock` when every slot is still in flight even after a
    /// flush (count it as a drop); `InvalidInput` for an unknown socket or a
    /// payload longer than [`ReactorConfig::send_buffer_len`].
    fn queue_send(&mut self, socket: SocketId, dst: SocketAddr, payload: &[u8]) -> io::Result<()>;

    /// Hand every queued datagram to the kernel. Consecutive datagrams to the
    /// same destination with the same length (the last may be shorter) go out
    /// as one UDP GSO send. Per-datagram failures are counted in
    /// [`Stats`], not returned.
    fn flush(&mut self) -> io::Result<()>;

    /// Submit pending work, wait until at least one completion or `deadline`,
    /// and hand the completions to `f`. `Completion::Timeout` is delivered when
    /// the deadline has passed (immediately when it already has). May return
    /// without any completion when interrupted (EINTR), so a daemon can look
    /// at its signal flags and then simply wait again with the same deadline.
    /// Besides real signals, the kernel's teardown of another io_uring ring
    /// on the same thread interrupts a wait this way.
    fn wait(
        &mut self,
        deadline: Option<Instant>,
        f: &mut dyn FnMut(Completion<'_>),
    ) -> io::Result<()>;

    /// Counters since creation (drops by reason, GSO batches, re-arms…), for
    /// the daemon's metrics.
    fn stats(&self) -> Stats;

    /// The local address of a registered socket.
    fn local_addr(&self, socket: SocketId) -> io::Result<SocketAddr>;
}

/// Create a reactor. With `prefer == Backend::Uring`, io_uring is probed and
/// the std backend is chosen instead when it is unusable; the second value is
/// then a warning for the daemon to print. Errors only for an invalid config
/// or when even the std backend cannot be created.
pub fn new_reactor(
    prefer: Backend,
    cfg: ReactorConfig,
) -> io::Result<(Box<dyn Reactor>, Option<String>)> {
    cfg.validate()?;
    match prefer {
        Backend::Std => Ok((Box::new(epoll::StdReactor::new(&cfg)?), None)),
        Backend::Uring => match ring::UringReactor::new(&cfg) {
            Ok(r) => Ok((Box::new(r), None)),
            Err(why) => {
                let fallback = epoll::StdReactor::new(&cfg)?;
                // Returned, not logged: the daemon prints it once.
                let warning =
                    format!("io_uring unavailable ({why}); using the std backend (epoll)");
                Ok((Box::new(fallback), Some(warning)))
            }
        },
    }
}
