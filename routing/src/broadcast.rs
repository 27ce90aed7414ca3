//! Broadcast forwarding without loops or duplicates (docs/system.md#data-plane).
//!
//! A node `me` that receives a broadcast originated by `src` forwards it to
//! neighbour `n` only if `me` is the hop just before `n` on the path that
//! unicast frames from `src` to `n` actually take (the hop-by-hop walk of the
//! [`NextHopTable`]). Every node other than `src` has exactly one such
//! predecessor, so these links form, for each source, a tree: the broadcast
//! reaches each node exactly once, and every node derives the same tree from
//! the same table.
//!
//! Why it is a tree and not just a parent function: in a solved table every
//! hop is tight (`cost(x→next) + dist(next, n) = dist(x, n)`), so the prefix
//! of the walk `src ⇝ n` up to `pred(n)` is a shortest path too, and
//! `dist(src, pred(n)) = dist(src, n) − cost(pred(n) → n)`. A cycle of parent
//! links would therefore be a cycle of total cost zero, and folded costs
//! (latency, then hop count; `cost.rs`) make every cycle strictly positive,
//! whatever the sign of the latencies. Ties are broken the same way
//! everywhere (lowest NodeId first hop among minimum-cost paths), so all nodes
//! agree on the walk and hence on the tree. The rule uses the unicast walk
//! rather than a separate per-source predecessor matrix precisely so the two
//! can never disagree.
//!
//! Drive it with [`NextHopTable::forward_set`] (computes on demand) or, on the
//! data path, [`ForwardSets::new`] once per table and
//! [`ForwardSets::forward_set`] per frame.

use crate::{NextHopTable, NodeId};
use std::collections::BTreeMap;

impl NextHopTable {
    /// The node just before `node` on the walk `src ⇝ node`; `None` when
    /// `node == src`, unreachable, or the walk loops (a broken static table).
    pub fn predecessor(&self, src: NodeId, node: NodeId) -> Option<NodeId> {
        let path = self.path(src, node).ok()?;
        let len = path.len();
        (len >= 2).then(|| path[len - 2])
    }

    /// The neighbours `me` forwards a broadcast from `src` to: those `n` whose
    /// predecessor on `src ⇝ n` is `me`. Ascending; never contains
    /// `came_from` or `src` (in a consistent table they are never children
    /// anyway; excluding them keeps a stale table from echoing a frame back).
    pub fn forward_set(&self, me: NodeId, came_from: NodeId, src: NodeId) -> Vec<NodeId> {
        self.row(me)
            .filter(|&(dst, next)| dst == next && dst != came_from && dst != src)
            .map(|(dst, _)| dst)
            .filter(|&n| self.predecessor(src, n) == Some(me))
            .collect()
    }
}

/// One node's forward sets for every source, precomputed from a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardSets {
    me: NodeId,
    by_source: BTreeMap<NodeId, Vec<NodeId>>,
}

impl ForwardSets {
    /// `me`'s children in every source's tree (sources: every node with a row,
    /// and `me` itself).
    pub fn new(table: &NextHopTable, me: NodeId) -> ForwardSets {
        let mut by_source = BTreeMap::new();
        for src in table.sources().chain([me]) {
            let set = table.forward_set(me, src, src);
            if !set.is_empty() {
                by_source.insert(src, set);
            }
        }
        ForwardSets { me, by_source }
    }

    /// The node these sets belong to.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Where to forward a broadcast from `src` that arrived from `came_from`.
    pub fn forward_set(&self, came_from: NodeId, src: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.by_source
            .get(&src)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&n| n != came_from)
    }
}
