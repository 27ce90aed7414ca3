//! Negative cycles: inconsistent samples, reported by their edges.
//!
//! Around any cycle the clock offsets cancel (docs/system.md#one-way-latency), so a cycle's
//! measured latency is its true latency, which is positive. A negative sum
//! means the samples contradict each other (a clock stepped between two
//! reports, a corrupted report). Shortest paths are then undefined; the
//! solver reports the cycle instead of clamping anything (upstream zeroed
//! every negative edge and tried again, which silently hides the fault).

use crate::NodeId;
use crate::cost::INF;
use std::fmt;

/// A cycle of edges whose total routing cost (latency plus the additional
/// cost of every node on it) is negative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegativeCycle {
    /// The cycle's edges in order; the last edge ends where the first starts.
    pub edges: Vec<(NodeId, NodeId)>,
}

impl fmt::Display for NegativeCycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inconsistent latency samples: negative cycle ")?;
        for (i, (src, dst)) in self.edges.iter().enumerate() {
            if i == 0 {
                write!(f, "{src}")?;
            }
            write!(f, " -> {dst}")?;
        }
        Ok(())
    }
}

impl std::error::Error for NegativeCycle {}

/// Finds a negative cycle in the `n × n` folded edge matrix (`+∞` = no edge),
/// or `None` when there is none.
///
/// Bellman–Ford from a virtual source joined to every node, checking the
/// predecessor graph for a cycle after each round: any such cycle is
/// negative, and in practice one shows up after a few rounds. Worst case
/// O(n³), only on the error path.
pub(crate) fn find(edge: &[f64], ids: &[NodeId]) -> Option<NegativeCycle> {
    let n = ids.len();
    if edge.len() != n * n {
        return None;
    }
    let mut dist = vec![0.0f64; n];
    let mut pred: Vec<Option<usize>> = vec![None; n];
    for _round in 0..=n {
        let mut changed = false;
        for u in 0..n {
            let du = dist[u];
            for v in 0..n {
                let w = edge[u * n + v];
                if w < INF && du + w < dist[v] {
                    dist[v] = du + w;
                    pred[v] = Some(u);
                    changed = true;
                }
            }
        }
        if !changed {
            return None;
        }
        if let Some(cycle) = pred_cycle(&pred, ids) {
            return Some(cycle);
        }
    }
    None
}

/// A cycle in the predecessor graph, if any, as forward edges.
fn pred_cycle(pred: &[Option<usize>], ids: &[NodeId]) -> Option<NegativeCycle> {
    let n = pred.len();
    // 0 = unvisited, 1 = on the current walk, 2 = done.
    let mut state = vec![0u8; n];
    for start in 0..n {
        let mut v = start;
        let mut walk = Vec::new();
        while state[v] == 0 {
            state[v] = 1;
            walk.push(v);
            match pred[v] {
                Some(u) => v = u,
                None => break,
            }
        }
        if state[v] == 1 && pred[v].is_some() {
            // v is on the current walk: the cycle is walk[pos..].
            let pos = walk.iter().position(|&x| x == v)?;
            let mut nodes: Vec<usize> = walk[pos..].to_vec();
            nodes.reverse(); // pred points backwards; make edges forward
            let mut edges = Vec::with_capacity(nodes.len());
            for (i, &a) in nodes.iter().enumerate() {
                let b = nodes[(i + 1) % nodes.len()];
                edges.push((ids[a], ids[b]));
            }
            return Some(NegativeCycle { edges });
        }
        for &x in &walk {
            state[x] = 2;
        }
    }
    None
}
