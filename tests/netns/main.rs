//! The real-kernel tests, one binary: several network namespaces joined by
//! veths (bridges, NAT, nftables, link emulators), egd processes in them,
//! traffic through the kernel. They need root and `ip` (and some iperf3,
//! nft, …): without them they skip, or fail under EGD_REQUIRE_TOOLS.
//!
//! Each module opens with a drawing of its topology. Every test takes
//! `serial()` first: the tests measure throughput, loss and timing on a
//! machine with few cores, and they ran one binary at a time before they
//! shared this one, so none may overlap another.
//!
//! `super_mesh` holds the super-mode mesh (supernode, edges, relays, the
//! hub's link emulators) and the NAT network that `super_mode` and
//! `faults` share.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: threads and sleeps are the point

#[path = "../support/mod.rs"]
mod support;

mod super_mesh {
    pub mod config;
    pub mod kernel;
    pub mod mesh;
    pub mod nat;
}

mod faults;
mod fwmark;
mod hostile;
mod multiqueue;
mod small_udp;
mod static_relay;
mod super_mode;

/// The egd binary under test.
pub const EGD: &str = env!("CARGO_BIN_EXE_egd");
