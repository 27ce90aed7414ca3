//! egd-routing: the one-way-latency graph, stability filters, the all-pairs
//! solver, next-hop tables and broadcast trees. Pure: no I/O and no clock.
#![forbid(unsafe_code)]

mod node_id;

pub use node_id::NodeId;
