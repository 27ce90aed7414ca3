//! `ManualLatency[src][dst]`: operator overrides of measured latencies.
//!
//! Upstream semantics (`path.go`, `UpdateLatencyMulti`): values are in
//! milliseconds; 65535 (Broadcast) is a wildcard on either side; an
//! override replaces the value of a *reported* edge (it never creates an
//! edge that nobody measures, so a dead link still expires). When several
//! entries match, the most specific wins, source before destination:
//! `[src][dst]` > `[src][*]` > `[*][dst]` > `[*][*]`.

use crate::{Latency, NodeId};
use std::collections::BTreeMap;

/// One side of an override: a node, or 65535 for any node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ManualEndpoint {
    /// 65535 in the config.
    Any,
    /// A real node.
    Node(NodeId),
}

impl ManualEndpoint {
    /// From the config's raw key: 65535 is [`ManualEndpoint::Any`], other
    /// reserved values are refused.
    pub fn from_raw(raw: u16) -> Option<ManualEndpoint> {
        if raw == NodeId::BROADCAST {
            Some(ManualEndpoint::Any)
        } else {
            NodeId::new(raw).map(ManualEndpoint::Node)
        }
    }
}

/// The override table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManualLatency {
    entries: BTreeMap<(ManualEndpoint, ManualEndpoint), Latency>,
}

impl ManualLatency {
    /// An empty table.
    pub fn new() -> ManualLatency {
        ManualLatency::default()
    }

    /// Adds `ManualLatency[src][dst] = latency`.
    pub fn insert(&mut self, src: ManualEndpoint, dst: ManualEndpoint, latency: Latency) {
        self.entries.insert((src, dst), latency);
    }

    /// The override for the edge `src → dst`, if any.
    pub fn resolve(&self, src: NodeId, dst: NodeId) -> Option<Latency> {
        use ManualEndpoint::{Any, Node};
        [
            (Node(src), Node(dst)),
            (Node(src), Any),
            (Any, Node(dst)),
            (Any, Any),
        ]
        .iter()
        .find_map(|key| self.entries.get(key).copied())
    }

    /// True when there are no overrides.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_override_wins() {
        let e = |raw| ManualEndpoint::from_raw(raw).unwrap();
        let ms = |x| Latency::from_millis_f64(x).unwrap();
        let n = |raw| NodeId::new(raw).unwrap();
        let mut m = ManualLatency::new();
        // The shapes of upstream's examples: `1: {2: 1.14}`,
        // `100: {65535: 1.919}`, `65535: {100: 8.1}`.
        m.insert(e(1), e(2), ms(1.14));
        m.insert(e(100), e(65535), ms(1.919));
        m.insert(e(65535), e(100), ms(8.1));
        let cases = [
            (1, 2, Some(1.14)),
            (2, 1, None),
            (100, 5, Some(1.919)),
            (100, 100, Some(1.919)), // src wildcard beats dst wildcard
            (7, 100, Some(8.1)),
            (1, 100, Some(8.1)),
        ];
        for (s, d, expect) in cases {
            assert_eq!(m.resolve(n(s), n(d)), expect.map(ms), "{s}->{d}");
        }
        m.insert(e(65535), e(65535), ms(3.0));
        assert_eq!(m.resolve(n(2), n(1)), Some(ms(3.0)));
        assert_eq!(m.resolve(n(1), n(2)), Some(ms(1.14)));
        assert_eq!(ManualEndpoint::from_raw(65533), None);
        assert_eq!(ms(1.919).as_micros(), 1919);
    }
}
