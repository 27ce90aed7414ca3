//! One edge changes: [`Solution::update_edge`] brings distances and next
//! hops to exactly what a full [`crate::solve`] of the changed graph gives.
//!
//! Decrease (or a new edge) `u → v` to cost `c`: the only new paths are
//! `i ⇝ u → v ⇝ j`, and neither `dist(·, u)` nor `dist(v, ·)` can change
//! (that would need a cycle through the edge, and cycles are positive), so
//! one pass of `dist[i][j] = min(dist[i][j], dist[i][u] + c + dist[v][j])`
//! is exact: O(n²). A strictly better pair's canonical next hop becomes
//! `i`'s next hop towards `u` (`v` itself when `i = u`); an equal one takes
//! the lower of the two. If `dist[v][u] + c < 0` the change would close a
//! negative cycle: it is refused and reported, and nothing changes.
//!
//! Increase (or removal) — the hard case. If the edge was not itself a
//! shortest `u → v` path, no shortest path used it and nothing else changes.
//! Otherwise only sources `S = {i : dist[i][u] + c_old = dist[i][v]}` can
//! change, and for them only targets `T = {j : c_old + dist[v][j] =
//! dist[u][j]}`; every other row is still exact. For `i ∈ S` a new shortest
//! path leaves `S` at some first node `x ∉ S` (whose row is exact) or stays
//! inside `S`, so: solve the subgraph induced by `S` (FW on |S| nodes),
//! extend it by one edge out of `S`, then take the min-plus product with the
//! exact rows restricted to the `T` columns. Cost O(|S|²·n + |S|·n·|T|),
//! far below a full solve when few sources route over the edge, and never
//! worse than about one (past that estimate the update solves the whole
//! edge matrix again instead). Both products run on the solver's SIMD min-plus
//! micro-kernel (`fw::min_plus_product`). Next-hop rows are recomputed for
//! `i ∈ S` only: for any other source a lost tie would have meant it routed
//! over the edge. (Within those rows only the `T` columns can change, but
//! whole rows on SIMD lanes are cheaper than gathering those columns.)
//!
//! Measured (`benches/README.md`, N = 1024, the bench's busy edge has
//! |S| = 56, |T| = 72): ~0.6 ms, of which ~70 % the two products.

use crate::cost::{self, INF};
use crate::fw;
use crate::negative_cycle::NegativeCycle;
use crate::nexthop::{self, NONE};
use crate::simd::Isa;
use crate::solution::Solution;
use crate::solver;
use crate::{Latency, NodeId};
use std::fmt;

/// Why [`Solution::update_edge`] refused a change (the solution is unchanged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateError {
    /// The node is not part of the solved graph: solve from scratch.
    UnknownNode(NodeId),
    /// The new weight would close this negative cycle.
    NegativeCycle(NegativeCycle),
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateError::UnknownNode(id) => write!(f, "node {id} is not in the solved graph"),
            UpdateError::NegativeCycle(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for UpdateError {}

impl Solution {
    /// Sets (`Some`) or removes (`None`) the edge `src → dst` and updates
    /// the solution in place; the result equals a full solve of the changed
    /// graph. Self-loops are ignored.
    pub fn update_edge(
        &mut self,
        src: NodeId,
        dst: NodeId,
        weight: Option<Latency>,
    ) -> Result<(), UpdateError> {
        let u = self.index(src).ok_or(UpdateError::UnknownNode(src))?;
        let v = self.index(dst).ok_or(UpdateError::UnknownNode(dst))?;
        if u == v {
            return Ok(());
        }
        let n = self.n();
        let old = self.edge[u * n + v];
        let new = weight.map_or(INF, |w| cost::edge(w, self.additional[v]));
        if new < old {
            self.decrease(u, v, new)
        } else {
            if new > old {
                self.increase(u, v, old, new);
            }
            Ok(())
        }
    }

    fn decrease(&mut self, u: usize, v: usize, c: f64) -> Result<(), UpdateError> {
        let n = self.n();
        if self.dist[v * n + u] + c < 0.0 {
            return Err(UpdateError::NegativeCycle(self.cycle_through(u, v)));
        }
        self.edge[u * n + v] = c;
        let row_v = self.dist[v * n..(v + 1) * n].to_vec();
        for i in 0..n {
            let diu = self.dist[i * n + u];
            if diu == INF {
                continue;
            }
            let a = diu + c;
            let drow = &mut self.dist[i * n..(i + 1) * n];
            // Vectorisable screen: most rows gain nothing.
            let touched = drow
                .iter()
                .zip(&row_v)
                .fold(false, |acc, (&d, &b)| acc | (a + b <= d));
            if !touched {
                continue;
            }
            let hop = if i == u {
                v as u16
            } else {
                self.next[i * n + u]
            };
            let nrow = &mut self.next[i * n..(i + 1) * n];
            for ((d, nh), &b) in drow.iter_mut().zip(nrow.iter_mut()).zip(&row_v) {
                let cand = a + b;
                if cand < *d {
                    *d = cand;
                    *nh = hop;
                } else if cand == *d && cand < INF && hop < *nh {
                    *nh = hop;
                }
            }
        }
        Ok(())
    }

    /// The cycle `u → v ⇝ u` (the path back along current next hops).
    fn cycle_through(&self, u: usize, v: usize) -> NegativeCycle {
        let n = self.n();
        let mut edges = vec![(self.ids[u], self.ids[v])];
        let mut at = v;
        while at != u && edges.len() <= n {
            let hop = self.next[at * n + u];
            if hop == NONE {
                break;
            }
            let hop = usize::from(hop);
            edges.push((self.ids[at], self.ids[hop]));
            at = hop;
        }
        NegativeCycle { edges }
    }

    fn increase(&mut self, u: usize, v: usize, old: f64, new: f64) {
        let n = self.n();
        self.edge[u * n + v] = new;
        if old != self.dist[u * n + v] {
            return; // never a shortest path: nothing routed over it
        }
        let dist = &self.dist;
        let sources: Vec<usize> = (0..n)
            .filter(|&i| dist[i * n + u] < INF && dist[i * n + u] + old == dist[i * n + v])
            .collect();
        let targets: Vec<usize> = (0..n)
            .filter(|&j| dist[v * n + j] < INF && old + dist[v * n + j] == dist[u * n + j])
            .collect();
        // The products below cost about (|S|²·n + |S|·n·|T|) / 8 vector
        // operations on f64 lanes; a full solve about n³ / 16 on u32 lanes
        // plus its fixed passes. Past that point, solve again (same result).
        let (s, t) = (sources.len(), targets.len());
        if 4 * (s * s * n + s * n * t) > 3 * n * n * n {
            // An increase cannot close a negative cycle, so this is `Some`.
            if let Some((dist, next)) = solver::solve_edges(Isa::detect(), true, &self.edge, n) {
                self.dist = dist;
                self.next = next;
                return;
            }
        }
        let mut in_s = vec![usize::MAX; n];
        for (a, &i) in sources.iter().enumerate() {
            in_s[i] = a;
        }
        // Shortest paths inside S (FW on the induced subgraph).
        let mut inner = vec![INF; s * s];
        for (a, &i) in sources.iter().enumerate() {
            for (b, &k) in sources.iter().enumerate() {
                inner[a * s + b] = self.edge[i * n + k];
            }
        }
        // Positive cycles only (an increase cannot make one negative).
        let Some(inner) = solver::all_pairs(&inner, s) else {
            return;
        };
        // leave[a][x]: the best path from S[a] inside S, then one edge to x.
        let isa = Isa::detect();
        let mut edges_out = vec![INF; s * n];
        for (row, &k) in edges_out.chunks_exact_mut(n.max(1)).zip(&sources) {
            row.copy_from_slice(&self.edge[k * n..(k + 1) * n]);
        }
        let mut leave = vec![INF; s * n];
        fw::min_plus_product(isa, &mut leave, &inner, &edges_out, (s, s, n));
        // The exact rows (of nodes outside S), restricted to the T columns;
        // rows of S stay +∞: a path is split where it first leaves S.
        let mut exact = vec![INF; n * t];
        for (x, row) in exact.chunks_exact_mut(t.max(1)).enumerate() {
            if in_s[x] == usize::MAX {
                let dx = &self.dist[x * n..(x + 1) * n];
                for (e, &j) in row.iter_mut().zip(&targets) {
                    *e = dx[j];
                }
            }
        }
        // Paths that stay inside S, then the ones that leave it.
        let mut result = vec![INF; s * t];
        for (row, a) in result.chunks_exact_mut(t.max(1)).zip(0..s) {
            for (r, &j) in row.iter_mut().zip(&targets) {
                if in_s[j] != usize::MAX {
                    *r = inner[a * s + in_s[j]];
                }
            }
        }
        fw::min_plus_product(isa, &mut result, &leave, &exact, (s, n, t));
        for (row, &i) in result.chunks_exact(t.max(1)).zip(&sources) {
            let di = &mut self.dist[i * n..(i + 1) * n];
            for (&r, &j) in row.iter().zip(&targets) {
                di[j] = r;
            }
        }
        // Next hops change only in rows S (for any other source a lost tie
        // would have meant it routed over the edge); recomputing whole rows
        // streams them through SIMD lanes, cheaper than gathering the T
        // columns from scattered rows.
        nexthop::rows(
            isa,
            &self.edge,
            &self.dist,
            &self.dist,
            n,
            sources.iter().copied(),
            &mut self.next,
        );
    }
}
