//! Canonical next hops from distances.
//!
//! `next[i][j]` is the lowest-index (= lowest NodeId) neighbour `n` of `i`
//! with `edge[i][n] + dist[n][j] == dist[i][j]`: the first hop of a
//! minimum-cost path, the smallest such. Only neighbours whose direct edge is
//! itself a shortest path can be first hops, so those few candidates are
//! scanned, in index order, until every destination has its hop.
//!
//! Following these hops from any `i` reaches `j` without a loop: each hop is
//! tight, so a loop would be a cycle of cost zero, and folded costs make
//! every non-negative cycle strictly positive (`cost.rs`).

use crate::cost::INF;

/// "No next hop" in the index matrix.
pub(crate) const NONE: u16 = u16::MAX;

/// The `n × n` next-hop index matrix.
pub(crate) fn all(edge: &[f64], dist: &[f64], n: usize) -> Vec<u16> {
    let mut next = vec![NONE; n * n];
    for i in 0..n {
        row(i, edge, dist, n, &mut next[i * n..(i + 1) * n]);
    }
    next
}

/// Recomputes row `i` of the next-hop matrix into `out`.
pub(crate) fn row(i: usize, edge: &[f64], dist: &[f64], n: usize, out: &mut [u16]) {
    out.fill(NONE);
    let di = &dist[i * n..(i + 1) * n];
    let mut remaining = di
        .iter()
        .enumerate()
        .filter(|&(j, &d)| j != i && d < INF)
        .count();
    for c in 0..n {
        if remaining == 0 {
            break;
        }
        let a = edge[i * n + c];
        if c == i || a == INF || a != di[c] {
            continue;
        }
        let dc = &dist[c * n..(c + 1) * n];
        // n < 65532, so the index fits in a u16 below NONE.
        let hop = c as u16;
        for ((o, &d), &dcj) in out.iter_mut().zip(di).zip(dc) {
            if *o == NONE && d < INF && d == a + dcj {
                *o = hop;
                remaining = remaining.saturating_sub(1);
            }
        }
    }
    out[i] = NONE;
}
