//! Prometheus export of the node's counters (SYSTEM.md §9). The data plane
//! keeps plain counters ([`crate::metrics::Metrics`]); the daemon copies them
//! into the `metrics` registry about once a second, off the per-packet path,
//! and `metrics-exporter-prometheus` serves them as text at `/metrics` from
//! its own background thread.
//!
//! Metric names (all prefixed `egd_`):
//! - `egd_peer_rx_bytes_total{peer}`, `egd_peer_tx_bytes_total{peer}`,
//!   `egd_peer_rx_packets_total{peer}`, `egd_peer_tx_packets_total{peer}`
//! - `egd_handshakes_total{peer}`
//! - `egd_forwarded_packets_total{kind="unicast"|"broadcast"}`
//! - `egd_delivered_packets_total`
//! - `egd_dropped_packets_total{reason}`
//! - `egd_next_hop{dst}`: the current next-hop NodeID for each destination

use std::net::SocketAddr;

use metrics::{counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::node::Node;

/// Starts serving `/metrics` on `listen`.
pub fn install(listen: SocketAddr) -> Result<(), String> {
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .install()
        .map_err(|e| format!("metrics listener on {listen}: {e}"))?;
    describe_counter!(
        "egd_peer_rx_bytes_total",
        "Bytes of authenticated transport datagrams received from a neighbour"
    );
    describe_counter!(
        "egd_peer_tx_bytes_total",
        "Bytes of transport datagrams sent to a neighbour"
    );
    describe_counter!(
        "egd_peer_rx_packets_total",
        "Transport packets received from a neighbour"
    );
    describe_counter!(
        "egd_peer_tx_packets_total",
        "Transport packets sent to a neighbour"
    );
    describe_counter!(
        "egd_handshakes_total",
        "Completed WireGuard handshakes with a neighbour"
    );
    describe_counter!(
        "egd_forwarded_packets_total",
        "Packets this node relayed for others"
    );
    describe_counter!(
        "egd_delivered_packets_total",
        "Frames delivered to the local interface"
    );
    describe_counter!("egd_dropped_packets_total", "Packets dropped, by reason");
    describe_gauge!(
        "egd_next_hop",
        "Current next-hop NodeID toward each destination"
    );
    Ok(())
}

/// Copies the node's counters into the registry.
pub fn publish(node: &Node) {
    let m = node.metrics();
    for (peer, c) in &m.peers {
        let peer = peer.to_string();
        counter!("egd_peer_rx_bytes_total", "peer" => peer.clone()).absolute(c.rx_bytes);
        counter!("egd_peer_tx_bytes_total", "peer" => peer.clone()).absolute(c.tx_bytes);
        counter!("egd_peer_rx_packets_total", "peer" => peer.clone()).absolute(c.rx_packets);
        counter!("egd_peer_tx_packets_total", "peer" => peer.clone()).absolute(c.tx_packets);
        counter!("egd_handshakes_total", "peer" => peer).absolute(c.handshakes);
    }
    counter!("egd_forwarded_packets_total", "kind" => "unicast").absolute(m.forwarded_unicast);
    counter!("egd_forwarded_packets_total", "kind" => "broadcast").absolute(m.forwarded_broadcast);
    counter!("egd_delivered_packets_total").absolute(m.delivered_packets);
    for (reason, n) in m.dropped() {
        counter!("egd_dropped_packets_total", "reason" => reason).absolute(n);
    }
    for (dst, hop) in node.next_hops().row(node.id()) {
        gauge!("egd_next_hop", "dst" => dst.to_string()).set(f64::from(hop.get()));
    }
}
