//! The in-process tests, one binary: everything here runs egd's protocol
//! core inside the test process, on the virtual clock of `egd::sim` (the
//! `Sim` network of hosts and links) or with nodes wired to each other
//! without I/O; no root, no child processes, no real sockets.
//!
//! One module a concern: `core` (the node on the simulated network), `p2p`,
//! `super_mode` and `static_mode` (the three routing modes), `honesty_steps`
//! and `honesty_estimators` (honest link reports), `routing_quality`,
//! `unreachable`, `soak` (long runs), `node_flood` (a node under a
//! handshake flood), `wg_interop` (byte compatibility with boringtun).
//! Shared builders live in `support::sim` and `support::node_pair`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "../support/mod.rs"]
mod support;

mod core;
mod honesty_estimators;
mod honesty_steps;
mod node_flood;
mod p2p;
mod routing_quality;
mod soak;
mod static_mode;
mod super_mode;
mod unreachable;
mod wg_interop;
