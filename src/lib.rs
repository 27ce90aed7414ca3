//! egd: a full-mesh Layer-2 VPN on the WireGuard protocol that routes every
//! frame over the path with the lowest one-way latency, so A→B and B→A may
//! take different relays.
//!
//! The crate is a stack of layers, each using only those below it; all but
//! the daemon are sans-IO (time, randomness and packets are arguments), so
//! whole networks run on a virtual clock. `docs/architecture.md` has the
//! "where is X" table, the path of a frame and of a ping, and the threads.
//!
//! # The wire layer
//! [`wire`]: zero-copy views with `parse`/`emit` of WireGuard's four
//! messages ([`wire::wg`]), the routing header ([`wire::header`]), Ethernet
//! and the control messages ([`wire::control`]).
//!
//! # WireGuard
//! [`wg`]: all of WireGuard — the Noise handshake, cookies, rate limits,
//! keys, transport keypairs, the replay window and every timer — behind one
//! state machine, [`wg::Wg`]. Drops are counted by [`drop::DropReason`] into
//! [`metrics::Metrics`].
//!
//! # The node
//! [`node`]: one edge's data plane, [`node::Node`] — WireGuard sessions with
//! its neighbours, the routing header, L2 learning, forwarding, relaying,
//! one-way latency pings.
//!
//! # The control plane
//! [`control`]: super mode and P2P mode. [`control::edge::Edge`] is one
//! edge's whole control plane (driven by the daemon and by `sim` alike),
//! [`control::super_core::SuperCore`] the supernode's. Routing itself is the
//! `egd-routing` crate (ids re-exported: [`NodeId`]).
//!
//! # Configuration
//! [`config`]: EtherGuard's YAML files into validated types, the config
//! generator, and writing peers back.
//!
//! # The daemon
//! [`daemon`]: the only code that touches clocks, sockets, files, threads
//! and the OS — io_uring data paths, HTTP APIs, metrics, NTP, DNS, UAPI,
//! systemd. [`cli`] is the command line; [`uapi`], [`ntp`] and [`logging`]
//! hold the pure parts of their daemon counterparts.
//!
//! # Testing
//! `sim` (tests and the `sim` feature): many nodes on a virtual clock,
//! with per-direction delay, jitter, loss, NAT and partitions.
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
