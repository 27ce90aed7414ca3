//! egd: a full-mesh Layer-2 VPN on the WireGuard protocol that routes every
//! frame over the path with the lowest one-way latency.
//!
//! How the pieces fit (ARCHITECTURE.md):
//! - [`config`] reads the original EtherGuard's YAML files into validated types;
//! - `egd-routing` (re-exported ids: [`NodeId`]) turns one-way latencies into
//!   next-hop tables;
//! - [`wg`] is all of WireGuard, sans-IO (handshake, keys, transport
//!   sessions, timers); [`wire::wg`] views its four messages;
//! - [`daemon`] is the only code that touches clocks, sockets, files and the OS;
//! - [`cli`] is the command line that drives it all.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod drop;
pub mod logging;
pub mod metrics;
pub mod node;
pub mod ntp;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod uapi;
pub mod wg;
pub mod wire;

pub use egd_routing::NodeId;
