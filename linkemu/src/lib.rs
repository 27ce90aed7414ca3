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
//! for `SCHED_FIFO`).

#![forbid(unsafe_code)]
// A real-time test tool, not the protocol core: it must read the clock,
// sleep until due times and run threads. House rule 1 keeps these out of
// the sans-IO core; it does not apply to a tool that emulates a wire.
#![allow(clippy::disallowed_methods)]

pub mod control;
mod direction;
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
