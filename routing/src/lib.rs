//! egd-routing: the one-way-latency graph, stability filters, the all-pairs
//! solver, next-hop tables and broadcast trees. Pure: no I/O and no clock.
#![forbid(unsafe_code)]

mod broadcast;
mod cost;
mod dense;
mod fw;
mod graph;
mod incremental;
mod latency;
mod manual;
mod matrix;
mod negative_cycle;
mod nexthop;
mod node_id;
mod router;
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
pub use router::{Router, RouterConfig, RouterEvent};
pub use solution::Solution;
pub use solver::solve;
pub use stability::{DampingFilter, StabilitySettings};
pub use table::{DistanceTable, NextHopTable, PathError, StateHash};
