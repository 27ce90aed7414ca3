//! Plain counters the node keeps; the daemon exports them to Prometheus.
//! Updating them never allocates: drop reasons are a closed enum
//! ([`DropReason`]) indexing a fixed table.

use std::collections::BTreeMap;

use crate::NodeId;
use crate::drop::DropReason;

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

#[derive(Debug, Clone)]
pub struct Metrics {
    pub delivered_packets: u64,
    pub forwarded_unicast: u64,
    pub forwarded_broadcast: u64,
    /// Next hops of this node that changed (one per destination).
    pub route_changes: u64,
    pub peers: BTreeMap<NodeId, PeerCounters>,
    /// Drops by reason, indexed by [`DropReason::index`].
    dropped: [u64; DropReason::COUNT],
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            delivered_packets: 0,
            forwarded_unicast: 0,
            forwarded_broadcast: 0,
            route_changes: 0,
            peers: BTreeMap::new(),
            dropped: [0; DropReason::COUNT],
        }
    }
}

impl Metrics {
    pub fn new(peers: impl IntoIterator<Item = NodeId>) -> Self {
        Self {
            peers: peers
                .into_iter()
                .map(|p| (p, PeerCounters::default()))
                .collect(),
            ..Self::default()
        }
    }

    /// Starts counting for a neighbour added later (kept counters stay).
    pub fn add_peer(&mut self, peer: NodeId) {
        self.peers.entry(peer).or_default();
    }

    /// Counts one dropped packet under `reason`.
    pub fn drop(&mut self, reason: DropReason) {
        if let Some(n) = self.dropped.get_mut(reason.index()) {
            *n += 1;
        }
    }

    /// Drops so far, by metric label; reasons with none are left out.
    pub fn dropped(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DropReason::ALL
            .iter()
            .zip(self.dropped.iter())
            .filter(|(_, n)| **n != 0)
            .map(|(d, n)| (d.as_str(), *n))
    }

    /// Drops so far under one reason.
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped.get(reason.index()).copied().unwrap_or(0)
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
        m.drop(DropReason::TtlExpired);
        m.drop(DropReason::TtlExpired);
        m.drop(DropReason::NoRoute);
        assert_eq!(m.dropped_for(DropReason::TtlExpired), 2);
        assert_eq!(m.dropped_for(DropReason::NoRoute), 1);
        assert_eq!(m.dropped_for(DropReason::FibFull), 0);
        let listed: Vec<_> = m.dropped().collect();
        assert_eq!(listed, [("no_route", 1), ("ttl_expired", 2)]);
    }
}
