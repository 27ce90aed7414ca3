//! The multi-process tests, one binary: each starts real `egd` processes
//! (and sometimes curl, chromium, dpdk-testpmd …) talking over loopback,
//! either the host's or that of one network namespace of the test's own
//! (those need root and skip without it, or fail under EGD_REQUIRE_TOOLS).
//! Ports come from `support::loopback::free_port`, so tests in different
//! modules do not collide when the harness runs them side by side.
//!
//! One module a feature: `static_mode`, `p2p_mode` (the original's six-node
//! examples), `super_manage` (the supernode's manage API), `metrics`,
//! `metrics_peers`, `ddns`, `ntp`, `systemd`, `uapi_socket`, `cli`,
//! `config_examples`, `gencfg`, `vpp_edge` (memif), `topology_page` (the
//! web page in headless Chromium).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: threads and sleeps are the point

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod config_examples;
mod ddns;
mod gencfg;
mod metrics;
mod metrics_peers;
mod ntp;
mod p2p_mode;
mod static_mode;
mod super_manage;
mod systemd;
mod topology_page;
mod uapi_socket;
mod vpp_edge;
