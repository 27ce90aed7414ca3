//! The hostile-traffic generator behind the `hostile` binary: what an
//! attacker on the underlay can send to egd's UDP ports without knowing any
//! key but the public ones, and a sniffer that records real datagrams of a
//! running mesh for verbatim replay.
//!
//! How to drive it (the binary does this):
//! - [`Crafter::new`] with a [`Mode`] and a seed, then [`Crafter::next`]
//!   for each datagram to one target (its public key matters only for
//!   [`Mode::Initiations`], whose mac1 must be right);
//! - [`Pacer`] spaces the sends at a fixed rate (or not at all);
//! - [`capture::Sniffer`] records UDP payloads to or from some ports with an
//!   `AF_PACKET` socket; [`capture::write`] / [`capture::read`] store them.
//!
//! Pieces: `craft` (the datagrams of each mode), `pace` (the rate),
//! [`capture`] (sniffing, splitting GSO batches, the file format).

pub mod capture;
mod craft;
mod pace;

pub use craft::{Crafter, MAX_DATAGRAM, Mode, TargetKey, UnknownMode};
pub use pace::Pacer;
