//! The all-pairs solver: [`solve`] turns a [`DenseGraph`] into a
//! [`Solution`] (distances, next hops), or reports a [`NegativeCycle`].
//!
//! Costs. An edge `u → v` costs its latency plus `AdditionalCost(v)`, folded
//! with one hop (`cost.rs`). Charging a node's additional cost on *entry*
//! charges it once per transit and once more at the destination; the
//! destination's share is the same for every path to it, so it changes no
//! choice and is subtracted again when distances are reported, which gives
//! exactly "added when a path transits a node" (SYSTEM.md §6.1).
//!
//! Negative weights are accepted as they are (SYSTEM.md §2): the solver is
//! Floyd–Warshall (`fw.rs`), which needs no non-negativity. The diagonal
//! starts at `+∞`, so afterwards it holds each node's shortest cycle; a
//! negative one means inconsistent samples and the cycle is reported.
//!
//! Next hops (`nexthop.rs`) are canonical: among all minimum-cost paths,
//! the one whose first hop has the lowest NodeId. They depend only on the
//! distances, never on the order the solver happened to find paths in, so
//! every node computing the same graph gets the same table, and the
//! incremental update (`incremental.rs`) can reproduce a full solve exactly.

use crate::DenseGraph;
use crate::cost::{self, INF};
use crate::fw;
use crate::negative_cycle::{self, NegativeCycle};
use crate::nexthop;
use crate::solution::Solution;

/// Solves all pairs. Deterministic; single-threaded; O(n³) time and O(n²)
/// memory (three `n × n` matrices plus a padded working copy).
pub fn solve(graph: &DenseGraph) -> Result<Solution, NegativeCycle> {
    let edge = folded_edges(graph);
    let ids = graph.ids().to_vec();
    let additional = (0..ids.len()).map(|i| graph.additional_at(i)).collect();
    let dist = all_pairs(&edge, ids.len()).ok_or_else(|| cycle(&edge, &ids))?;
    let next = nexthop::all(&edge, &dist, ids.len());
    Ok(Solution::from_parts(ids, additional, edge, dist, next))
}

/// The folded edge matrix, `+∞` where there is no edge and on the diagonal.
pub(crate) fn folded_edges(graph: &DenseGraph) -> Vec<f64> {
    let n = graph.len();
    let mut edge = vec![INF; n * n];
    for s in 0..n {
        for d in 0..n {
            if let Some(w) = graph.weight_at(s, d) {
                edge[s * n + d] = cost::edge(w, graph.additional_at(d));
            }
        }
    }
    edge
}

/// Distances for the folded edge matrix with a zero diagonal, or `None` when a
/// negative cycle exists.
pub(crate) fn all_pairs(edge: &[f64], n: usize) -> Option<Vec<f64>> {
    let bs = fw::block_size(n);
    let p = n.div_ceil(bs) * bs;
    let mut work = vec![INF; p * p];
    for i in 0..n {
        work[i * p..i * p + n].copy_from_slice(&edge[i * n..i * n + n]);
    }
    fw::floyd_warshall(&mut work, p, bs);
    let mut dist = vec![INF; n * n];
    for i in 0..n {
        if work[i * p + i] < 0.0 {
            return None;
        }
        dist[i * n..i * n + n].copy_from_slice(&work[i * p..i * p + n]);
        dist[i * n + i] = 0.0;
    }
    Some(dist)
}

pub(crate) fn cycle(edge: &[f64], ids: &[crate::NodeId]) -> NegativeCycle {
    // FW saw a negative diagonal, so Bellman–Ford finds a cycle; the empty
    // fallback only guards against a logic error without panicking.
    negative_cycle::find(edge, ids).unwrap_or(NegativeCycle { edges: Vec::new() })
}
