//! Canonical next hops from distances.
//!
//! `next[i][j]` is the lowest-index (= lowest NodeId) neighbour `c` of `i`
//! with `edge[i][c] + dist[c][j] == dist[i][j]`: the first hop of a
//! minimum-cost path, the smallest such. Only neighbours whose direct edge is
//! itself a shortest path can be first hops (the row's "tight" neighbours),
//! so only those are tried.
//!
//! Each tight neighbour is normally the answer for at least one destination
//! (itself), so every one must be tried and the work is `|tight(i)| · n` per
//! row. It runs on SIMD lanes (`simd.rs`): for a chunk of destinations held
//! in registers, the candidates are tried from the highest index down and a
//! match overwrites the chunk's answer, so the lowest matching index is what
//! remains, without any "already found" test.
//!
//! Following these hops from any `i` reaches `j` without a loop: each hop is
//! tight, so a loop would be a cycle of cost zero, and folded costs make
//! every non-negative cycle strictly positive (`cost.rs`).

use crate::cost::INF;
use crate::simd::{Elem, Isa};
use pulp::{Simd, WithSimd};

/// "No next hop" in the index matrix.
pub(crate) const NONE: u16 = u16::MAX;

/// The `n × n` next-hop index matrix from the folded `n × n` edge costs and
/// distances. `lanes` is the distance matrix the sums are formed in: `dist`
/// itself, or the reduced `u32` one of `reduced.rs` (twice the lanes; sums
/// compare the same, as reweighting shifts both sides by `h(i) − h(j)`, and
/// a tight edge's reduced cost is the reduced distance it equals).
pub(crate) fn all<E: Elem>(
    isa: Isa,
    edge: &[f64],
    dist: &[f64],
    lanes: &[E],
    n: usize,
) -> Vec<u16> {
    let mut next = vec![NONE; n * n];
    rows(isa, edge, dist, lanes, n, 0..n, &mut next);
    next
}

/// Recomputes rows `rows` of the next-hop matrix `next` (`n × n`).
pub(crate) fn rows<E: Elem>(
    isa: Isa,
    edge: &[f64],
    dist: &[f64],
    lanes: &[E],
    n: usize,
    rows: impl Iterator<Item = usize>,
    next: &mut [u16],
) {
    let nn = n * n;
    if edge.len() != nn || dist.len() != nn || lanes.len() != nn || next.len() != nn {
        return;
    }
    isa.run(Rows {
        edge,
        dist,
        lanes,
        n,
        rows,
        next,
    });
}

struct Rows<'a, E, I> {
    edge: &'a [f64],
    dist: &'a [f64],
    lanes: &'a [E],
    n: usize,
    rows: I,
    next: &'a mut [u16],
}

impl<E: Elem, I: Iterator<Item = usize>> WithSimd for Rows<'_, E, I> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Rows {
            edge,
            dist,
            lanes,
            n,
            rows,
            next,
        } = self;
        let mut tight = Vec::new();
        let mut best = vec![E::INF; n];
        let mut sparse = Sparse::default();
        for i in rows {
            let di = &dist[i * n..(i + 1) * n];
            let ei = &edge[i * n..(i + 1) * n];
            let li = &lanes[i * n..(i + 1) * n];
            // Tight neighbours: 64 at a time into a bitmask (vectorised
            // compares), then the few set bits.
            tight.clear();
            for (w, (ew, dw)) in ei.chunks(64).zip(di.chunks(64)).enumerate() {
                let mut bits = 0u64;
                for (k, (&a, &d)) in ew.iter().zip(dw).enumerate() {
                    bits |= u64::from(a == d && a < INF) << k;
                }
                while bits != 0 {
                    let c = w * 64 + bits.trailing_zeros() as usize;
                    if c != i {
                        tight.push((c, li[c]));
                    }
                    bits &= bits - 1;
                }
            }
            let out = &mut next[i * n..(i + 1) * n];
            // The dense scan costs |tight| · n / lanes; with many tight
            // neighbours (most direct links are shortest paths) the sparse
            // one is far cheaper. Estimating that costs O(n) itself, so only
            // rows whose dense scan is long enough ask.
            let dense = tight.len() * n / E::lanes::<S>();
            if dense > 8 * n && sparse.cheaper_than(dense, i, di, tight.len()) {
                sparse.row(i, edge, dist, n, &tight, out);
                continue;
            }
            row(simd, i, lanes, n, &tight, &mut best);
            for ((o, &b), &d) in out.iter_mut().zip(&best).zip(di) {
                // Unreachable destinations "match" (∞ = a + ∞): cleared here.
                *o = if d < INF {
                    b.to_index().unwrap_or(NONE)
                } else {
                    NONE
                };
            }
            out[i] = NONE;
        }
    }
}

/// Next hops one destination at a time, for rows with many tight
/// neighbours. Folded costs count hops, so a first hop `c` of a shortest
/// `i → j` path has `hops(c, j) = hops(i, j) − 1`:
/// - `hops(i, j) = 1`: `j` is tight and the only first hop is `j` itself;
/// - `hops(i, j) = 2`: `c → j` is a direct edge that is a shortest path, so
///   `c` is in the intersection of two bitsets, `i`'s tight neighbours and
///   the nodes whose direct edge into `j` is tight, tried ascending;
/// - longer: the tight neighbours are tried ascending.
#[derive(Default)]
struct Sparse {
    /// `n / 64` words per node, rounded up.
    words: usize,
    /// Bit `c` of row `j`: `c → j` is an edge and a shortest path. Built on
    /// first use.
    into: Vec<u64>,
    /// Bit `c`: `c` is a tight neighbour of the current row.
    tight: Vec<u64>,
}

impl Sparse {
    /// Whether [`Sparse::row`] for row `i` costs less than `dense` vector
    /// operations, roughly.
    fn cheaper_than(&self, dense: usize, i: usize, di: &[f64], tight: usize) -> bool {
        let words = di.len().div_ceil(64);
        let mut cost = 0;
        for (j, &d) in di.iter().enumerate() {
            if j == i || d == INF {
                continue;
            }
            cost += match hops(d) {
                1 => 1,
                2 => words + 4,
                _ => tight,
            };
            if cost >= dense {
                return false;
            }
        }
        true
    }

    fn row(
        &mut self,
        i: usize,
        edge: &[f64],
        dist: &[f64],
        n: usize,
        tight: &[(usize, impl Copy)],
        out: &mut [u16],
    ) {
        let words = n.div_ceil(64);
        if self.words != words || self.into.len() != n * words {
            self.words = words;
            self.into = vec![0; n * words];
            for c in 0..n {
                let (ec, dc) = (&edge[c * n..(c + 1) * n], &dist[c * n..(c + 1) * n]);
                for (j, (&e, &d)) in ec.iter().zip(dc).enumerate() {
                    if j != c && e < INF && e == d {
                        self.into[j * words + c / 64] |= 1 << (c % 64);
                    }
                }
            }
        }
        self.tight.clear();
        self.tight.resize(words, 0);
        for &(c, _) in tight {
            self.tight[c / 64] |= 1 << (c % 64);
        }
        let ei = &edge[i * n..(i + 1) * n];
        let di = &dist[i * n..(i + 1) * n];
        for (j, (o, &d)) in out.iter_mut().zip(di).enumerate() {
            *o = if j == i || d == INF {
                NONE
            } else {
                match hops(d) {
                    // n < 65 532, so an index fits a u16 below NONE.
                    1 => j as u16,
                    2 => {
                        let into = &self.into[j * words..(j + 1) * words];
                        let mut found = NONE;
                        'words: for (w, (&t, &f)) in self.tight.iter().zip(into).enumerate() {
                            let mut bits = t & f;
                            while bits != 0 {
                                let c = w * 64 + bits.trailing_zeros() as usize;
                                if ei[c] + edge[c * n + j] == d {
                                    found = c as u16;
                                    break 'words;
                                }
                                bits &= bits - 1;
                            }
                        }
                        found
                    }
                    _ => tight
                        .iter()
                        .find(|&&(c, _)| ei[c] + dist[c * n + j] == d)
                        .map_or(NONE, |&(c, _)| c as u16),
                }
            };
        }
    }
}

/// The hop count of a finite folded cost.
fn hops(d: f64) -> u32 {
    crate::cost::hops(d)
}

/// Destinations per chunk, in vectors: the chunk's distances and answers
/// stay in registers while the candidates stream past.
const CHUNK: usize = 4;

/// Fills `best[j]` with the canonical next hop of `i → j` as a lane value
/// (`INF` for none; unreachable `j` are left for the caller to clear), given
/// `i`'s tight neighbours ascending, each with its cost.
#[inline(always)]
fn row<E: Elem, S: Simd>(
    simd: S,
    i: usize,
    dist: &[E],
    n: usize,
    tight: &[(usize, E)],
    best: &mut [E],
) {
    let di = &dist[i * n..(i + 1) * n];
    best.fill(E::INF);
    let lanes = E::lanes::<S>();
    let (dv, dt) = E::as_simd::<S>(di);
    let (bv, bt) = E::as_mut_simd::<S>(best);
    let whole = dv.len() / CHUNK * CHUNK;
    for (chunk, (d, b)) in dv
        .chunks_exact(CHUNK)
        .zip(bv.chunks_exact_mut(CHUNK))
        .enumerate()
    {
        let mut d4 = [E::splat(simd, E::INF); CHUNK];
        d4.copy_from_slice(d);
        let mut b4 = [E::splat(simd, E::INF); CHUNK];
        let j0 = chunk * CHUNK * lanes;
        for &(c, a) in tight.iter().rev() {
            let (dc, _) = E::as_simd::<S>(&dist[c * n + j0..c * n + j0 + CHUNK * lanes]);
            let av = E::splat(simd, a);
            let cv = E::splat(simd, E::from_index(c));
            for q in 0..CHUNK {
                b4[q] = E::select_if_sum(simd, av, dc[q], d4[q], cv, b4[q]);
            }
        }
        b.copy_from_slice(&b4);
    }
    // Leftover vectors, then leftover lanes.
    for (v, (&d, b)) in dv.iter().zip(bv.iter_mut()).enumerate().skip(whole) {
        let j0 = v * lanes;
        for &(c, a) in tight.iter().rev() {
            let (dc, _) = E::as_simd::<S>(&dist[c * n + j0..c * n + j0 + lanes]);
            let (av, cv) = (E::splat(simd, a), E::splat(simd, E::from_index(c)));
            *b = E::select_if_sum(simd, av, dc[0], d, cv, *b);
        }
    }
    let j0 = n - dt.len();
    for (j, (&d, b)) in dt.iter().zip(bt.iter_mut()).enumerate() {
        let j = j0 + j;
        if let Some(&(c, _)) = tight
            .iter()
            .find(|&&(c, a)| E::add(a, dist[c * n + j]) == d)
        {
            *b = E::from_index(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, literally.
    fn reference(edge: &[f64], dist: &[f64], n: usize) -> Vec<u16> {
        let mut next = vec![NONE; n * n];
        for i in 0..n {
            for j in 0..n {
                if i == j || dist[i * n + j] == INF {
                    continue;
                }
                next[i * n + j] = (0..n)
                    .find(|&c| {
                        c != i
                            && edge[i * n + c] < INF
                            && edge[i * n + c] + dist[c * n + j] == dist[i * n + j]
                    })
                    .map_or(NONE, |c| c as u16);
            }
        }
        next
    }

    /// Most direct links are shortest paths (rows take the sparse route),
    /// with many exact ties among two-hop paths and a chain that needs
    /// three and four hops.
    #[test]
    fn direct_dominated_graphs_match_the_definition() {
        let n = 200;
        let fold = |us: f64| us * crate::cost::HOP_UNIT + 1.0;
        let mut edge = vec![fold(10.0); n * n];
        for i in 0..n {
            edge[i * n + i] = INF;
            // A slow direct link: every two-hop path ties at 20 µs.
            edge[i * n + (i * 7 + 3) % n] = fold(25.0);
            // Only 196 → 197 → 198 → 199 enter the last three nodes.
            for j in n - 3..n {
                if i + 1 != j && i != j {
                    edge[i * n + j] = INF;
                }
            }
        }
        let Some(dist) = crate::solver::all_pairs_f64(Isa::detect(), &edge, n) else {
            panic!("positive weights")
        };
        let expect = reference(&edge, &dist, n);
        let reduced = crate::reduced::solve(Isa::detect(), &edge, n);
        for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
            assert_eq!(all(isa, &edge, &dist, &dist, n), expect, "f64, {isa:?}");
            let Some(r) = &reduced else {
                panic!("fast path applies")
            };
            assert_eq!(all(isa, &edge, &dist, &r.dist, n), expect, "u32, {isa:?}");
        }
    }

    #[test]
    fn every_isa_matches_the_definition() {
        let mut seed = 3u64;
        for n in [1usize, 2, 7, 33, 64, 100] {
            // Small weights: many ties, so the lowest-index rule matters.
            let mut edge: Vec<f64> = (0..n * n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    if (seed >> 61) < 3 {
                        INF
                    } else {
                        ((seed >> 33) % 3) as f64 * crate::cost::HOP_UNIT + 1.0
                    }
                })
                .collect();
            for i in 0..n {
                edge[i * n + i] = INF;
            }
            let Some(dist) = crate::solver::all_pairs_f64(Isa::detect(), &edge, n) else {
                panic!("positive weights")
            };
            let expect = reference(&edge, &dist, n);
            let reduced = crate::reduced::solve(Isa::detect(), &edge, n);
            for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
                let mut next = vec![0; n * n];
                rows(isa, &edge, &dist, &dist, n, 0..n, &mut next);
                assert_eq!(next, expect, "f64, n = {n}, {isa:?}");
                let Some(r) = &reduced else {
                    panic!("fast path applies")
                };
                assert_eq!(
                    all(isa, &edge, &dist, &r.dist, n),
                    expect,
                    "u32, n = {n}, {isa:?}"
                );
            }
        }
    }
}
