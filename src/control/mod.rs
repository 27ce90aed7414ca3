//! The control plane of super mode, sans-IO (docs/system.md#super-mode): what the
//! supernode and an edge say to each other and decide, with time and
//! messages passed in so the simulated network can run it.
//!
//! - [`api`]: the HTTP APIs' bodies and the trait the HTTP layer calls;
//! - [`super_core`]: the supernode (registrations, latency graph, notices);
//! - [`edge_sync`]: an edge's side (register, report, fetch, apply);
//! - [`edge`]: an edge's whole control plane (super, P2P, the table
//!   choice between them), as the daemon and the simulator drive it;
//! - [`endpoints`]: address-family rules for endpoints, DNS retry timing;
//! - [`p2p`]: P2P mode (flooded reports, peer exchange, own solver);
//! - [`honesty`]: the round-trip cross-check both solvers run on reports.

pub mod api;
pub mod edge;
pub mod edge_sync;
pub mod endpoints;
mod hash;
pub mod honesty;
pub mod p2p;
pub mod super_core;

use egd_routing::{Latency, ManualEndpoint, ManualLatency, RouterConfig, StabilitySettings};

use crate::config::{GraphSettings, NodeSelector, StaticNextHops};

/// The control protocol's version string, sent in every Register; a
/// supernode orders edges speaking another one to shut down.
pub const PROTOCOL_VERSION: &str = "egd-control-1";

/// The router settings of a `GraphRecalculateSetting` block plus the
/// `DampingFilterRadius` beside it; with `StaticMode` the router serves
/// `next_hop_table` (the configured `NextHopTable`) as is and solves
/// nothing, without it the table is ignored.
pub fn router_config(
    graph: &GraphSettings,
    damping_filter_radius: u32,
    next_hop_table: &StaticNextHops,
) -> RouterConfig {
    let ms = |d: std::time::Duration| {
        Latency::from_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(Latency::MAX_ABS)
    };
    let mut manual = ManualLatency::new();
    let endpoint = |s: NodeSelector| match s {
        NodeSelector::Any => ManualEndpoint::Any,
        NodeSelector::Node(n) => ManualEndpoint::Node(n),
    };
    for m in &graph.manual_latency {
        if let Some(l) = Latency::from_millis_f64(m.milliseconds) {
            manual.insert(endpoint(m.src), endpoint(m.dst), l);
        }
    }
    RouterConfig {
        stability: StabilitySettings {
            jitter_tolerance: ms(graph.jitter_tolerance),
            jitter_tolerance_multiplier: graph.jitter_tolerance_multiplier,
            damping_filter_radius: usize::try_from(damping_filter_radius).unwrap_or(0),
            recalculate_cool_down: graph.recalculate_cool_down,
            timeout_check_interval: graph.timeout_check_interval,
            hysteresis_absolute: ms(graph.hysteresis_absolute),
            hysteresis_relative: graph.hysteresis_relative,
        },
        manual,
        static_table: graph
            .static_mode
            .then(|| crate::node::next_hop_table(next_hop_table)),
    }
}
