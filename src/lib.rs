//! egd: a full-mesh Layer-2 VPN on the WireGuard protocol that routes every
//! frame over the path with the lowest one-way latency.
#![forbid(unsafe_code)]

pub use egd_routing::NodeId;
