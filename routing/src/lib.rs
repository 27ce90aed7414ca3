//! egd-routing: the one-way-latency graph, stability filters, the all-pairs
//! solver, next-hop tables and broadcast trees. Pure: no I/O and no clock —
//! time comes in as `std::time::Instant` arguments.
//!
//! How to drive it:
//! - **Live routing** (supernode, P2P edge): a [`Router`]. Feed it
//!   `handle_report(now, src, dst, latency, time_to_alive)`,
//!   `handle_link_down`, `handle_node_removed`, `handle_additional_cost`;
//!   call `handle_timeout(now)` when `poll_timeout()` says; drain
//!   `poll_event()` ([`RouterEvent::Recomputed`] with the new [`StateHash`],
//!   or [`RouterEvent::Inconsistent`] naming a negative cycle); read
//!   `next_hop`, `forward_set`, `next_hop_table`, `solution()` (distances).
//!   Static mode: put the configured table in [`RouterConfig::static_table`].
//! - **One-shot solving** (`--mode solve`): [`parse_matrix`] → [`solve`] →
//!   [`render_yaml`] / [`render_path`].
//! - **Lower level**: build a [`DenseGraph`], [`solve`] it into a
//!   [`Solution`], change single edges with [`Solution::update_edge`].
//!
//! Numbers: latencies are [`Latency`], signed whole microseconds (measured
//! one-way latencies include a clock offset and can be negative,
//! docs/system.md#one-way-latency). Inside the solver a path's cost is
//! `latency_µs · 2¹⁶ + hops`, an exact integer in an `f64`: ties are
//! exact, adding per-node clock offsets changes no next hop (proved by a
//! property test), equal latencies prefer fewer hops, and no cycle but a
//! negative-latency one has cost ≤ 0, so next hops never loop. Ties left
//! after that go to the lowest NodeId first hop, the same on every node,
//! which is what makes the broadcast trees
//! ([`NextHopTable::forward_set`]) agree.
//!
//! Speed: the all-pairs solve normally runs on reweighted `u32` costs
//! (potentials remove the clock offsets; results are checked exact and
//! decoded bit-for-bit), with SIMD kernels picked at run time for AVX-512,
//! AVX2 or SSE4.2 through `pulp`, so the crate stays free of `unsafe` and
//! binaries run on any x86-64. [`solver_isa`] names the one in use.
#![forbid(unsafe_code)]

mod broadcast;
mod cost;
mod dense;
mod fw;
mod graph;
mod hysteresis;
mod incremental;
mod latency;
mod manual;
mod matrix;
mod negative_cycle;
mod nexthop;
mod node_id;
mod reduced;
mod router;
mod simd;
mod solution;
mod solver;
mod stability;
mod table;

pub use broadcast::ForwardSets;
pub use dense::{DenseGraph, UnknownNode};
pub use graph::{Change, Graph};
pub use incremental::UpdateError;
pub use latency::Latency;
pub use manual::{ManualEndpoint, ManualLatency};
pub use matrix::{MatrixError, parse_matrix, render_path, render_yaml};
pub use negative_cycle::NegativeCycle;
pub use node_id::NodeId;
pub use router::{BURST_WINDOW, Router, RouterConfig, RouterEvent};
pub use solution::Solution;
pub use solver::{solve, solver_isa};
pub use stability::{DampingFilter, StabilitySettings};
pub use table::{DistanceTable, NextHopTable, PathError, StateHash};
