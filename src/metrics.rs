//! Plain counters the node keeps; the daemon exports them to Prometheus.
//! Updating them never allocates: drop reasons are a fixed set of static
//! labels in a preallocated table.

use std::collections::BTreeMap;

use crate::NodeId;

/// Per-neighbour traffic counters. Bytes are whole WireGuard transport
/// datagrams (as `wg show` counts transfer), handshakes excluded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerCounters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub handshakes: u64,
    /// Handshakes given up after REKEY_ATTEMPT_TIME without an answer.
    pub handshake_failures: u64,
}

/// Most distinct drop reasons; the labels are static strings.
const MAX_DROP_REASONS: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub delivered_packets: u64,
    pub forwarded_unicast: u64,
    pub forwarded_broadcast: u64,
    /// Next hops of this node that changed (one per destination).
    pub route_changes: u64,
    pub peers: BTreeMap<NodeId, PeerCounters>,
    dropped: Vec<(&'static str, u64)>,
}

impl Metrics {
    pub fn new(peers: impl IntoIterator<Item = NodeId>) -> Self {
        Self {
            peers: peers
                .into_iter()
                .map(|p| (p, PeerCounters::default()))
                .collect(),
            dropped: Vec::with_capacity(MAX_DROP_REASONS),
            ..Self::default()
        }
    }

    /// Starts counting for a neighbour added later (kept counters stay).
    pub fn add_peer(&mut self, peer: NodeId) {
        self.peers.entry(peer).or_default();
    }

    /// Counts one dropped packet under `reason` (a metric label).
    pub fn drop(&mut self, reason: &'static str) {
        if let Some(e) = self.dropped.iter_mut().find(|(r, _)| *r == reason) {
            e.1 += 1;
        } else if self.dropped.len() < MAX_DROP_REASONS {
            self.dropped.push((reason, 1));
        }
    }

    /// Drops so far, by reason.
    pub fn dropped(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.dropped.iter().copied()
    }

    /// Drops so far under one reason.
    pub fn dropped_for(&self, reason: &str) -> u64 {
        self.dropped
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }

    pub fn peer_mut(&mut self, peer: NodeId) -> Option<&mut PeerCounters> {
        self.peers.get_mut(&peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_by_reason() {
        let mut m = Metrics::new([]);
        m.drop("ttl_expired");
        m.drop("ttl_expired");
        m.drop("no_route");
        assert_eq!(m.dropped_for("ttl_expired"), 2);
        assert_eq!(m.dropped_for("no_route"), 1);
        assert_eq!(m.dropped_for("other"), 0);
    }
}
