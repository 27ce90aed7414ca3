//! The all-pairs solver: [`solve`] turns a [`DenseGraph`] into a
//! [`Solution`] (distances, next hops), or reports a [`NegativeCycle`].
//!
//! Costs. An edge `u → v` costs its latency plus `AdditionalCost(v)`, folded
//! with one hop (`cost.rs`). Charging a node's additional cost on *entry*
//! charges it once per transit and once more at the destination; the
//! destination's share is the same for every path to it, so it changes no
//! choice and is subtracted again when distances are reported, which gives
//! exactly "added when a path transits a node" (docs/system.md#routing-inputs).
//!
//! Negative weights are accepted as they are (docs/system.md#one-way-latency). The fast path
//! (`reduced.rs`) reweights them to small non-negative `u32` costs with a
//! potential and runs Floyd–Warshall (`fw.rs`) on twice the SIMD lanes; it
//! checks that every result is exact and otherwise declines. The slow path
//! is Floyd–Warshall on the folded `f64` costs themselves, which needs no
//! non-negativity. Its diagonal starts at `+∞`, so afterwards it holds each
//! node's shortest cycle; a negative one means inconsistent samples and the
//! cycle is reported. Both give bit-for-bit the same distances (tested).
//!
//! Speed (`benches/README.md`): the kernels are compiled for AVX-512, AVX2
//! and SSE4.2 and picked at run time (`simd.rs`, [`crate::solver_isa`]).
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
use crate::reduced;
use crate::simd::Isa;
use crate::solution::Solution;

/// Solves all pairs. Deterministic (the same result on every CPU);
/// single-threaded; O(n³) time and O(n²) memory (a few `n × n` matrices).
pub fn solve(graph: &DenseGraph) -> Result<Solution, NegativeCycle> {
    solve_on(Isa::detect(), true, graph)
}

/// [`solve`] on a given instruction set, with the fast path allowed or not
/// (tests compare every combination).
pub(crate) fn solve_on(
    isa: Isa,
    allow_fast: bool,
    graph: &DenseGraph,
) -> Result<Solution, NegativeCycle> {
    let edge = folded_edges(graph);
    let ids = graph.ids().to_vec();
    let n = ids.len();
    let additional = (0..n).map(|i| graph.additional_at(i)).collect();
    let (dist, next) = solve_edges(isa, allow_fast, &edge, n).ok_or_else(|| cycle(&edge, &ids))?;
    Ok(Solution::from_parts(ids, additional, edge, dist, next))
}

/// Distances and next hops for the folded `n × n` edge matrix, or `None`
/// when it has a negative cycle. Also what an incremental update falls
/// back to when it would cost more than this.
pub(crate) fn solve_edges(
    isa: Isa,
    allow_fast: bool,
    edge: &[f64],
    n: usize,
) -> Option<(Vec<f64>, Vec<u16>)> {
    let fast = (allow_fast && isa.fast_u32())
        .then(|| reduced::solve(isa, edge, n))
        .flatten();
    Some(match fast {
        Some(r) => {
            let dist = r.distances(isa);
            let next = nexthop::all(isa, edge, &dist, &r.dist, n);
            (dist, next)
        }
        None => {
            let dist = all_pairs_f64(isa, edge, n)?;
            let next = nexthop::all(isa, edge, &dist, &dist, n);
            (dist, next)
        }
    })
}

/// The instruction set the solver's kernels run on here, e.g.
/// `"x86-64-v4 (AVX-512)"`: worth a log line next to solve times.
pub fn solver_isa() -> &'static str {
    Isa::detect().name()
}

/// The folded edge matrix, `+∞` where there is no edge and on the diagonal.
pub(crate) fn folded_edges(graph: &DenseGraph) -> Vec<f64> {
    let n = graph.len();
    let mut edge = vec![INF; n * n];
    for (s, row) in edge.chunks_exact_mut(n.max(1)).enumerate() {
        for (d, e) in row.iter_mut().enumerate() {
            if let Some(w) = graph.weight_at(s, d) {
                *e = cost::edge(w, graph.additional_at(d));
            }
        }
    }
    edge
}

/// Distances for the folded edge matrix with a zero diagonal, or `None` when a
/// negative cycle exists: the `u32` fast path when it applies, else `f64`.
pub(crate) fn all_pairs(edge: &[f64], n: usize) -> Option<Vec<f64>> {
    let isa = Isa::detect();
    match isa
        .fast_u32()
        .then(|| reduced::solve(isa, edge, n))
        .flatten()
    {
        Some(r) => Some(r.distances(isa)),
        None => all_pairs_f64(isa, edge, n),
    }
}

/// [`all_pairs`] on the exact `f64` costs, no reweighting: always applies.
pub(crate) fn all_pairs_f64(isa: Isa, edge: &[f64], n: usize) -> Option<Vec<f64>> {
    let bs = fw::block_size(n);
    let p = n.div_ceil(bs) * bs;
    let mut work = vec![INF; p * p];
    for i in 0..n {
        work[i * p..i * p + n].copy_from_slice(&edge[i * n..i * n + n]);
    }
    fw::floyd_warshall(isa, &mut work, p, bs);
    if (0..n).any(|i| work[i * p + i] < 0.0) {
        return None;
    }
    let mut dist = if p == n {
        work
    } else {
        let mut dist = vec![INF; n * n];
        for i in 0..n {
            dist[i * n..i * n + n].copy_from_slice(&work[i * p..i * p + n]);
        }
        dist
    };
    for i in 0..n {
        dist[i * n + i] = 0.0;
    }
    Some(dist)
}

pub(crate) fn cycle(edge: &[f64], ids: &[crate::NodeId]) -> NegativeCycle {
    // FW saw a negative diagonal, so Bellman–Ford finds a cycle; the empty
    // fallback only guards against a logic error without panicking.
    negative_cycle::find(edge, ids).unwrap_or(NegativeCycle { edges: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Latency, NodeId};

    /// Offset-skewed graphs with many exact ties (few distinct delays) and
    /// additional costs: every ISA, fast path or not, gives the same
    /// Solution, bit for bit (distances, next hops).
    #[test]
    fn every_isa_and_path_agree() {
        let mut seed = 5u64;
        let mut next = move || {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        for n in [1usize, 2, 9, 31, 64, 97, 160] {
            for density in [3u64, 16] {
                let ids: Vec<NodeId> = (1..=n as u16).filter_map(NodeId::new).collect();
                let theta: Vec<i64> = ids
                    .iter()
                    .map(|_| (next() % 20_000_001) as i64 - 10_000_000)
                    .collect();
                let mut g = DenseGraph::new(ids.iter().copied());
                for (s, &src) in ids.iter().enumerate() {
                    for (d, &dst) in ids.iter().enumerate() {
                        if s != d && next() % 16 < density {
                            let delay = 1_000 * (1 + (next() % 4) as i64);
                            let w = Latency::from_micros(delay + theta[d] - theta[s]);
                            assert!(g.set_edge(src, dst, w).is_ok());
                        }
                    }
                    let ac = Latency::from_micros(1_000 * (next() % 2) as i64);
                    assert!(g.set_additional_cost(src, ac.unwrap_or_default()).is_ok());
                }
                let Ok(expect) = solve_on(Isa::Portable, false, &g) else {
                    panic!("consistent graph")
                };
                for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
                    for fast in [false, true] {
                        let got = solve_on(isa, fast, &g);
                        assert_eq!(got.as_ref(), Ok(&expect), "n = {n}, {isa:?}, fast = {fast}");
                    }
                }
                // The fast path did apply (Portable never takes it).
                if Isa::detect().fast_u32() {
                    let edge = folded_edges(&g);
                    assert!(reduced::solve(Isa::detect(), &edge, n).is_some());
                }
            }
        }
    }
}
