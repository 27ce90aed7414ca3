//! egd-linkemu: a userspace UDP link emulator for egd's tests. It forwards
//! datagrams between two sockets with independent per-direction delay,
//! jitter, loss, MTU and link state, changeable at run time — what `tc
//! netem` would do, on a machine without netem. egd routes by one-way
//! latency, so the two directions of a path must be able to differ.
//!
//! How to drive it:
//! - **In a test process**: [`Link::spawn`] a [`LinkConfig`]; set each
//!   [`Direction`] (`Direction { delay, ..Direction::default() }` or
//!   `"delay=30ms,loss=0.05".parse()`); change them with
//!   [`Link::set_a_to_b`] / [`Link::set_b_to_a`]; check [`Link::stats`].
//!   Drop the link to stop it.
//! - **From a shell or another process**: the `linkemu` binary (see
//!   `linkemu --help` and README.md), driven at run time by the line
//!   commands of [`control`] on stdin or a Unix socket.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::net::UdpSocket;
//! use std::time::Duration;
//! use egd_linkemu::{Link, LinkConfig};
//!
//! let (x, y) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
//! # for s in [&x, &y] { s.set_read_timeout(Some(Duration::from_secs(5)))?; }
//! let any = "127.0.0.1:0".parse()?;
//! let mut config = LinkConfig::new(any, any, y.local_addr()?);
//! config.a_to_b = "delay=20ms".parse()?;
//! config.b_to_a = "delay=50ms,loss=0".parse()?;
//! let link = Link::spawn(config)?;
//! let addrs = link.local_addrs();
//!
//! x.send_to(b"ping", addrs.a)?; // reaches Y 20 ms later, from addrs.b
//! let mut buf = [0; 16];
//! let (len, from) = y.recv_from(&mut buf)?;
//! assert_eq!((&buf[..len], from), (&b"ping"[..], addrs.b));
//! y.send_to(b"pong", from)?; // reaches X 50 ms later, from addrs.a
//! assert_eq!(x.recv_from(&mut buf)?, (4, addrs.a));
//! assert_eq!(link.stats().b_to_a.received, 1);
//! # Ok(())
//! # }
//! ```
//!
//! Placement: put the link in the middle of a UDP path. Edge X is told its
//! peer Y lives at `a_listen`; the link sends X's datagrams from `b_listen`
//! to Y's real address (`b_peer`). Y then sees `b_listen` as X's address
//! and, as WireGuard roams to the latest source, replies to it; the link
//! sends those replies from `a_listen` to the address X last sent from.
//!
//! Pieces: `direction` (the settings), `spec` (their text form), `queue`
//! (datagrams in flight, bounded), `stats`, `pipe` (the two threads of one
//! direction), `link` (the handle), [`control`] (the command language),
//! `stamp` ([`StampedSocket`]: kernel receive times, which the link's delays
//! count from and tests can measure with), `realtime` (why the threads ask
//! for `SCHED_FIFO`); [`hostile`] is the hostile-traffic generator of the `hostile`
//! binary, not part of the link.

#![forbid(unsafe_code)]
// A real-time test tool, not the protocol core: it must read the clock,
// sleep until due times and run threads. The house rules keep these out of
// the sans-IO core; it does not apply to a tool that emulates a wire.
#![allow(clippy::disallowed_methods)]

pub mod control;
mod direction;
pub mod hostile;
mod link;
mod pipe;
mod queue;
mod realtime;
mod rng;
mod spec;
mod stamp;
mod stats;

pub use direction::{Direction, InvalidDirection};
pub use link::{Link, LinkConfig, LocalAddrs, SpawnError};
pub use queue::QueueLimit;
pub use spec::SpecError;
pub use stamp::StampedSocket;
pub use stats::{DirectionStats, LinkStats};
