//! `DenseGraph`: the solver's input, a snapshot of the directed latency graph
//! over a fixed, sorted set of nodes.
//!
//! Build it with [`DenseGraph::new`] (any order, duplicates ignored), then
//! [`DenseGraph::set_edge`] and [`DenseGraph::set_additional_cost`], and hand
//! it to [`crate::solve`]. [`crate::Graph`] produces one from live reports.
//! Node indices are positions in the ascending id list, so "lowest index"
//! and "lowest NodeId" are the same tie-break everywhere.

use crate::{Latency, NodeId};
use std::fmt;

/// Directed edges with signed latencies plus a per-node additional cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenseGraph {
    ids: Vec<NodeId>,
    /// Row-major `ids.len()²`; the diagonal is always `None`.
    weights: Vec<Option<Latency>>,
    additional: Vec<Latency>,
}

/// A node id that is not part of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownNode(pub NodeId);

impl fmt::Display for UnknownNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {} is not in the graph", self.0)
    }
}

impl std::error::Error for UnknownNode {}

impl DenseGraph {
    /// A graph over `ids` (sorted and de-duplicated here) with no edges and no
    /// additional costs.
    pub fn new(ids: impl IntoIterator<Item = NodeId>) -> DenseGraph {
        let mut ids: Vec<NodeId> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let n = ids.len();
        DenseGraph {
            ids,
            weights: vec![None; n * n],
            additional: vec![Latency::ZERO; n],
        }
    }

    /// The nodes, ascending.
    pub fn ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The index of `id` in [`DenseGraph::ids`].
    pub fn index(&self, id: NodeId) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// Sets (or with `None` removes) the edge `src → dst`. Self-loops carry no
    /// meaning and are ignored.
    pub fn set_edge(
        &mut self,
        src: NodeId,
        dst: NodeId,
        weight: Option<Latency>,
    ) -> Result<(), UnknownNode> {
        let s = self.index(src).ok_or(UnknownNode(src))?;
        let d = self.index(dst).ok_or(UnknownNode(dst))?;
        if s != d {
            let n = self.len();
            self.weights[s * n + d] = weight;
        }
        Ok(())
    }

    /// The weight of `src → dst`, if that edge exists.
    pub fn edge(&self, src: NodeId, dst: NodeId) -> Option<Latency> {
        let s = self.index(src)?;
        let d = self.index(dst)?;
        self.weight_at(s, d)
    }

    /// Sets the cost added when a path transits `node`; negative costs are
    /// treated as zero (as upstream does).
    pub fn set_additional_cost(&mut self, node: NodeId, cost: Latency) -> Result<(), UnknownNode> {
        let i = self.index(node).ok_or(UnknownNode(node))?;
        self.additional[i] = cost.max(Latency::ZERO);
        Ok(())
    }

    /// The cost added when a path transits `node` (zero for unknown nodes).
    pub fn additional_cost(&self, node: NodeId) -> Latency {
        self.index(node)
            .map_or(Latency::ZERO, |i| self.additional[i])
    }

    pub(crate) fn weight_at(&self, s: usize, d: usize) -> Option<Latency> {
        self.weights.get(s * self.len() + d).copied().flatten()
    }

    pub(crate) fn additional_at(&self, i: usize) -> Latency {
        self.additional.get(i).copied().unwrap_or_default()
    }
}
