//! Prometheus export of the node's counters (docs/system.md#metrics). The data plane
//! keeps plain counters ([`crate::metrics::Metrics`]); the daemon copies them
//! into the `metrics` registry about once a second, off the per-packet path,
//! and `metrics-exporter-prometheus` serves them as text at `/metrics` from
//! its own background thread.
//!
//! Metric names (all prefixed `egd_`):
//! - `egd_peer_rx_bytes_total{peer}`, `egd_peer_tx_bytes_total{peer}`,
//!   `egd_peer_rx_packets_total{peer}`, `egd_peer_tx_packets_total{peer}`
//! - `egd_handshakes_total{peer}`
//! - `egd_handshake_failures_total{peer,reason}` (`reason="no_response"`:
//!   no answer within REKEY_ATTEMPT_TIME; rejected handshake messages are
//!   in `egd_dropped_packets_total` by their reason)
//! - `egd_route_changes_total`: next hops of this node that changed
//! - `egd_reports_rejected_total`: link reports the solver (supernode or
//!   P2P edge) ignored because OWD(a→b) + OWD(b→a) contradicted the round
//!   trip the ends measured (`control::honesty`; a link whose delay just
//!   changed is counted only if its ends still disagree after a few pings)
//! - `egd_oneway_latency_seconds{src,dst}`: one-way latencies this node
//!   knows (measured toward it; a P2P edge or a supernode: the whole graph)
//! - `egd_solver_seconds`: histogram of route computations
//! - `egd_interface_errors_total{direction="rx"|"tx"}`
//! - `egd_ntp_offset_seconds`
//! - `egd_udp_io_total{what}`: the reactor's datagrams, send calls, GSO
//!   batches, GRO receives, zero-copy sends and copies, buffer shortages
//! - `egd_datapath_threads`; `egd_datapath_lock_total{what="batches"|"contended"}`
//!   and `egd_datapath_lock_microseconds_total{what="wait"|"held"}`: how the
//!   data-path threads shared the node; `egd_datapath_seal_failed_total`:
//!   datagrams dropped because their deferred seal failed (expected 0)
//! - `egd_tap_offload_total{what}`, `egd_tap_offload_dropped_total{reason}`:
//!   a tap with offloads
//! - `egd_forwarded_packets_total{kind="unicast"|"broadcast"}`
//! - `egd_delivered_packets_total`
//! - `egd_dropped_packets_total{reason}`
//! - `egd_wg_cookie_replies_sent_total`: cookie replies made for handshake
//!   messages that came without a valid mac2 while under load (the node
//!   sheds those that would crowd data out of its transmit ring:
//!   `egd_dropped_packets_total{reason="cookie_reply_shed"}`)
//! - `egd_wg_handshake_messages_accepted_total`: handshake and cookie
//!   messages consumed (with `egd_peer_rx_packets_total` and the
//!   WireGuard reasons of `egd_dropped_packets_total` this accounts for
//!   every datagram received)
//! - `egd_wg_queue_overflows_total{queue="transmit"|"event"}`
//! - `egd_next_hop{dst}`: the current next-hop NodeID for each destination
//! - `egd_next_hop_table_hash`: the state hash of the table in force (its
//!   low 52 bits, exact in a float): equal on every edge once P2P edges or a
//!   supernode's edges have converged
//!
//! On a supernode, also:
//! - `egd_super_peers{state="online"|"offline"}`
//! - `egd_oneway_latency_seconds{src,dst}`: the latency graph's current edges
//!   (one-way, as the two clocks see it: offsets cancel along paths)
//! - `egd_super_next_hop{src,dst}`: the next-hop table the edges get
//!
//! Series of things that are gone disappear (the Prometheus convention for
//! a labelled child that no longer exists): a peer deleted through the
//! Manage API, removed by a reload, or dropped by the supernode or P2P
//! takes its `peer`, `src`/`dst` and `dst` series with it. The registry
//! cannot delete a series, so every counter and gauge is set again each
//! publishing round (about once a second) and the exporter drops any not
//! set for [`IDLE_TIMEOUT`]; what is gone is simply no longer set. (The
//! node keeps a removed peer's counters, so one that comes back continues
//! where it was; histograms are not affected.)

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use metrics_util::MetricKindMask;

use crate::NodeId;
use crate::control::super_core::SuperCore;
use crate::node::Node;

/// How long a counter or gauge stays exported after it was last set: many
/// publishing rounds (1 s apart), so a busy loop never loses a live one.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why `/metrics` could not be served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics buckets: {0}")]
    Buckets(#[source] metrics_exporter_prometheus::BuildError),
    #[error("metrics listener on {listen}: {source}")]
    Listener {
        listen: SocketAddr,
        source: metrics_exporter_prometheus::BuildError,
    },
}

/// Starts serving `/metrics` on `listen`.
pub fn install(listen: SocketAddr) -> Result<(), MetricsError> {
    PrometheusBuilder::new()
        .idle_timeout(
            MetricKindMask::COUNTER | MetricKindMask::GAUGE,
            Some(IDLE_TIMEOUT),
        )
        .set_buckets_for_metric(
            Matcher::Full("egd_solver_seconds".into()),
            &[0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
        )
        .map_err(MetricsError::Buckets)?
        .with_http_listener(listen)
        .install()
        .map_err(|source| MetricsError::Listener { listen, source })?;
    describe_traffic();
    describe_routing();
    describe_datapath();
    describe_control();
    Ok(())
}

/// Per-neighbour traffic, forwarding and the WireGuard layer's counters.
fn describe_traffic() {
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
    describe_counter!(
        "egd_wg_cookie_replies_sent_total",
        "Cookie replies made for handshake messages without a valid mac2 while under load (before the node sheds any)"
    );
    describe_counter!(
        "egd_wg_handshake_messages_accepted_total",
        "Handshake and cookie messages consumed by the WireGuard layer"
    );
    describe_counter!(
        "egd_wg_queue_overflows_total",
        "Control datagrams (transmit) or events the WireGuard layer dropped on a full queue"
    );
}

/// Handshake failures, rejected reports and route changes.
fn describe_routing() {
    describe_counter!(
        "egd_handshake_failures_total",
        "Handshakes with a neighbour that failed, by reason"
    );
    describe_counter!(
        "egd_reports_rejected_total",
        "Link reports ignored: OWD(a→b) + OWD(b→a) disagreed with the measured round trip"
    );
    describe_counter!(
        "egd_route_changes_total",
        "Next hops of this node that changed (one per destination)"
    );
}

/// The interface, the data-path threads, the reactor and tap offloads.
fn describe_datapath() {
    describe_counter!(
        "egd_interface_errors_total",
        "Interface read (rx) and write (tx) errors"
    );
    describe_counter!(
        "egd_interface_dropped_total",
        "Frames lost at the interface, by where: too_long (read), would_block (write to a full queue), disconnected; kernel_rx / kernel_tx: the kernel's own rx_dropped / tx_dropped of a tap (tx: frames for egd dropped because the tap queue was full)"
    );
    describe_gauge!(
        "egd_datapath_threads",
        "Data-path threads (reactors, tap queues)"
    );
    describe_counter!(
        "egd_datapath_lock_total",
        "Node lock acquisitions by the data-path threads (one per batch), and how many found it held"
    );
    describe_counter!(
        "egd_datapath_lock_microseconds_total",
        "Time the data-path threads waited for the node lock, and held it"
    );
    describe_counter!(
        "egd_datapath_seal_failed_total",
        "Datagrams dropped because sealing them outside the node lock failed (expected 0)"
    );
    describe_counter!(
        "egd_udp_io_total",
        "UDP reactor counters: datagrams, send calls, GSO batches, GRO receives, zero-copy sends and copies, datagrams the kernel dropped at egd's full sockets (socket_drops)"
    );
    describe_counter!(
        "egd_tap_offload_total",
        "Tap offload work: large frames segmented, segments, frames coalesced"
    );
    describe_counter!(
        "egd_tap_offload_dropped_total",
        "Frames the tap offload path refused, by reason"
    );
}

/// The solver, the supernode, NTP and the next-hop tables.
fn describe_control() {
    describe_histogram!(
        "egd_solver_seconds",
        metrics::Unit::Seconds,
        "Time to recompute the next-hop table"
    );
    describe_gauge!("egd_super_peers", "Edges a supernode knows, by liveness");
    describe_gauge!(
        "egd_ntp_offset_seconds",
        "Clock offset NTP measured (server minus local), applied to ping timestamps"
    );
    describe_gauge!(
        "egd_next_hop_table_hash",
        "State hash (low 52 bits) of the next-hop table in force"
    );
    describe_gauge!(
        "egd_oneway_latency_seconds",
        "One-way latency src→dst as measured by dst (clock offsets cancel along paths)"
    );
    describe_gauge!(
        "egd_super_next_hop",
        "Next hop from src toward dst in the table a supernode distributes"
    );
    describe_gauge!(
        "egd_next_hop",
        "Current next-hop NodeID toward each destination"
    );
}

/// The UDP reactor's own counters (GRO/GSO, zero-copy copies, receive
/// buffer shortages).
pub fn publish_reactor(s: &egd_uring::Stats) {
    let series = [
        ("datagrams_received", s.datagrams_received),
        ("datagrams_sent", s.datagrams_sent),
        ("send_calls", s.send_calls),
        ("gso_batches_sent", s.gso_batches_sent),
        ("gro_receives", s.gro_receives),
        ("zerocopy_sends", s.zerocopy_sends),
        ("zerocopy_copied", s.zerocopy_copied),
        ("recv_no_buffers", s.recv_no_buffers),
        ("recv_truncated", s.recv_truncated),
        ("socket_drops", s.socket_drops),
    ];
    for (what, v) in series {
        counter!("egd_udp_io_total", "what" => what).absolute(v);
    }
}

/// How the data-path threads shared the node (summed over threads).
pub fn publish_datapath(threads: usize, s: &super::batch_lock::LockStats, seal_failed: u64) {
    gauge!("egd_datapath_threads").set(threads as f64);
    counter!("egd_datapath_seal_failed_total").absolute(seal_failed);
    counter!("egd_datapath_lock_total", "what" => "batches").absolute(s.acquisitions);
    counter!("egd_datapath_lock_total", "what" => "contended").absolute(s.contended);
    counter!("egd_datapath_lock_microseconds_total", "what" => "wait").absolute(s.wait_ns / 1000);
    counter!("egd_datapath_lock_microseconds_total", "what" => "held").absolute(s.held_ns / 1000);
}

/// Tap offload counters: big frames cut, segments made, frames merged.
pub fn publish_offload(s: &egd_ifaces::offload::OffloadStats) {
    let series = [
        ("gso_frames_in", s.gso_frames),
        ("segments_out", s.segments),
        ("checksums_completed", s.checksums_completed),
        ("frames_to_coalesce", s.coalesce.frames_in),
        ("coalesced_frames_out", s.coalesce.coalesced),
        ("coalesced_segments", s.coalesce.coalesced_segments),
    ];
    for (what, v) in series {
        counter!("egd_tap_offload_total", "what" => what).absolute(v);
    }
    for (reason, n) in s.drops() {
        counter!("egd_tap_offload_dropped_total", "reason" => reason).absolute(n);
    }
}

/// Interface error and drop counters; `kernel`: a tap's own drop counters.
pub fn publish_iface(stats: &egd_ifaces::IfaceStats, kernel: Option<egd_ifaces::DeviceDrops>) {
    counter!("egd_interface_errors_total", "direction" => "rx").absolute(stats.rx_errors);
    counter!("egd_interface_errors_total", "direction" => "tx").absolute(stats.tx_errors);
    let mut drops = vec![
        ("too_long", stats.dropped_too_long),
        ("would_block", stats.dropped_would_block),
        ("disconnected", stats.dropped_disconnected),
    ];
    if let Some(k) = kernel {
        drops.extend([("kernel_rx", k.rx_dropped), ("kernel_tx", k.tx_dropped)]);
    }
    for (at, n) in drops {
        counter!("egd_interface_dropped_total", "where" => at).absolute(n);
    }
}

/// One one-way latency, `src → dst`.
pub fn publish_latency(src: u16, dst: u16, seconds: f64) {
    gauge!("egd_oneway_latency_seconds", "src" => src.to_string(), "dst" => dst.to_string())
        .set(seconds);
}

/// Link reports ignored by the round-trip cross-check (P2P solver).
pub fn publish_reports_rejected(n: u64) {
    counter!("egd_reports_rejected_total").absolute(n);
}

/// How long one route computation took.
pub fn record_solve(seconds: f64) {
    histogram!("egd_solver_seconds").record(seconds);
}

/// The clock offset NTP measured (server minus local), in seconds.
pub fn publish_ntp_offset(offset_ns: i64) {
    gauge!("egd_ntp_offset_seconds").set(offset_ns as f64 / 1e9);
}

/// Copies a supernode's view into the registry.
pub fn publish_super(core: &SuperCore) {
    counter!("egd_reports_rejected_total").absolute(core.reports_rejected());
    let state = core.state();
    let online = state.PeerInfo.values().filter(|p| p.Online).count();
    gauge!("egd_super_peers", "state" => "online").set(online as f64);
    gauge!("egd_super_peers", "state" => "offline").set((state.PeerInfo.len() - online) as f64);
    for (src, row) in &state.Edges {
        for (dst, secs) in row {
            publish_latency(*src, *dst, *secs);
        }
    }
    for (src, row) in &state.NhTable {
        for (dst, hop) in row {
            gauge!("egd_super_next_hop", "src" => src.to_string(), "dst" => dst.to_string())
                .set(f64::from(*hop));
        }
    }
}

/// The latest one-way latency measured toward this node from each
/// neighbour, for `egd_oneway_latency_seconds{src,dst}`: kept here and set
/// every round (pings can be 15 s apart, longer than [`IDLE_TIMEOUT`]),
/// and forgotten when the neighbour is.
#[derive(Debug, Default)]
pub struct MeasuredLatencies(BTreeMap<NodeId, f64>);

impl MeasuredLatencies {
    /// A ping from `from` measured `seconds` one way.
    pub fn record(&mut self, from: NodeId, seconds: f64) {
        self.0.insert(from, seconds);
    }

    /// Sets the series of the node's current neighbours.
    pub fn publish(&mut self, node: &Node) {
        let peers: BTreeSet<NodeId> = node.peer_ids().collect();
        self.0.retain(|id, _| peers.contains(id));
        for (from, secs) in &self.0 {
            publish_latency(from.get(), node.id().get(), *secs);
        }
    }
}

/// Copies the node's counters into the registry.
pub fn publish(node: &Node) {
    let m = node.metrics();
    // Only current neighbours: a removed one's series must go.
    let current: BTreeSet<NodeId> = node.peer_ids().collect();
    for (peer, c) in m.peers.iter().filter(|(id, _)| current.contains(id)) {
        let peer = peer.to_string();
        counter!("egd_peer_rx_bytes_total", "peer" => peer.clone()).absolute(c.rx_bytes);
        counter!("egd_peer_tx_bytes_total", "peer" => peer.clone()).absolute(c.tx_bytes);
        counter!("egd_peer_rx_packets_total", "peer" => peer.clone()).absolute(c.rx_packets);
        counter!("egd_peer_tx_packets_total", "peer" => peer.clone()).absolute(c.tx_packets);
        counter!("egd_handshakes_total", "peer" => peer.clone()).absolute(c.handshakes);
        counter!("egd_handshake_failures_total", "peer" => peer, "reason" => "no_response")
            .absolute(c.handshake_failures);
    }
    counter!("egd_forwarded_packets_total", "kind" => "unicast").absolute(m.forwarded_unicast);
    counter!("egd_forwarded_packets_total", "kind" => "broadcast").absolute(m.forwarded_broadcast);
    counter!("egd_delivered_packets_total").absolute(m.delivered_packets);
    counter!("egd_route_changes_total").absolute(m.route_changes);
    for (reason, n) in m.dropped() {
        counter!("egd_dropped_packets_total", "reason" => reason).absolute(n);
    }
    let wg = node.wg_stats();
    counter!("egd_wg_cookie_replies_sent_total").absolute(wg.cookie_replies_sent);
    counter!("egd_wg_handshake_messages_accepted_total").absolute(wg.handshake_messages_accepted);
    counter!("egd_wg_queue_overflows_total", "queue" => "transmit").absolute(wg.transmits_dropped);
    counter!("egd_wg_queue_overflows_total", "queue" => "event").absolute(wg.events_dropped);
    let hash = node.next_hops().state_hash().0 & ((1 << 52) - 1);
    gauge!("egd_next_hop_table_hash").set(hash as f64);
    for (dst, hop) in node.next_hops().row(node.id()) {
        gauge!("egd_next_hop", "dst" => dst.to_string()).set(f64::from(hop.get()));
    }
}
