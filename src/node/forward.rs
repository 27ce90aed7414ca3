//! Forwarding decisions (docs/system.md#data-plane): the next hop toward a destination,
//! and for broadcasts the neighbours this node must pass a copy to.
//!
//! The broadcast rule: a node forwards a broadcast from source S to
//! neighbour N only if it is the hop just before N on the path S→N that the
//! next-hop table gives. Every node then receives each broadcast exactly
//! once, along the tree of those paths rooted at S. The fan-out sets come
//! from `egd_routing::ForwardSets`, computed once per table (not per packet).

use egd_routing::{ForwardSets, NextHopTable};

use crate::NodeId;

#[derive(Debug)]
pub struct Routes {
    me: NodeId,
    table: NextHopTable,
    fanout: ForwardSets,
}

impl Routes {
    /// Routes of node `me` (its neighbours are the table's direct hops).
    pub fn new(me: NodeId, table: NextHopTable) -> Self {
        let fanout = ForwardSets::new(&table, me);
        Self { me, table, fanout }
    }

    pub fn table(&self) -> &NextHopTable {
        &self.table
    }

    /// The neighbour to send a packet for `dst` to.
    pub fn next_hop(&self, dst: NodeId) -> Option<NodeId> {
        self.table.next_hop(self.me, dst)
    }

    /// The neighbours to pass a broadcast from `src`, which arrived from
    /// `came_from` (or was originated here: `came_from == me`), on to.
    pub fn broadcast_targets(
        &self,
        came_from: NodeId,
        src: NodeId,
    ) -> impl Iterator<Item = NodeId> + '_ {
        self.fanout.forward_set(came_from, src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: u16) -> NodeId {
        NodeId::new(v).unwrap()
    }

    /// The upstream static example's table (`static_mode/EgNet_edge*.yaml`).
    fn example_table() -> NextHopTable {
        let rows: [(u16, [(u16, u16); 5]); 6] = [
            (1, [(2, 2), (3, 2), (4, 2), (5, 2), (6, 2)]),
            (2, [(1, 1), (3, 3), (4, 4), (5, 3), (6, 4)]),
            (3, [(1, 2), (2, 2), (4, 4), (5, 5), (6, 4)]),
            (4, [(1, 2), (2, 2), (3, 3), (5, 3), (6, 6)]),
            (5, [(1, 3), (2, 3), (3, 3), (4, 3), (6, 3)]),
            (6, [(1, 4), (2, 4), (3, 4), (4, 4), (5, 4)]),
        ];
        let mut t = NextHopTable::new();
        for (src, row) in rows {
            for (dst, hop) in row {
                t.insert(n(src), n(dst), n(hop));
            }
        }
        t
    }

    #[test]
    fn broadcast_reaches_every_node_exactly_once() {
        let routes: Vec<Routes> = (1..=6)
            .map(|i| Routes::new(n(i), example_table()))
            .collect();
        for src in 1..=6u16 {
            let mut received = [0u32; 7];
            let mut frontier = vec![(src, src)];
            while let Some((at, came_from)) = frontier.pop() {
                for next in routes[usize::from(at) - 1].broadcast_targets(n(came_from), n(src)) {
                    received[usize::from(next.get())] += 1;
                    frontier.push((next.get(), at));
                }
            }
            for dst in 1..=6u16 {
                let expected = u32::from(dst != src);
                assert_eq!(received[usize::from(dst)], expected, "src {src} dst {dst}");
            }
        }
    }

    #[test]
    fn unicast_next_hops() {
        let r = Routes::new(n(2), example_table());
        assert_eq!(r.next_hop(n(5)), Some(n(3)));
        assert_eq!(r.next_hop(n(6)), Some(n(4)));
        assert_eq!(r.next_hop(n(9)), None);
    }
}
