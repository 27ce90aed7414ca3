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
        for i in rows {
            let di = &dist[i * n..(i + 1) * n];
            let ei = &edge[i * n..(i + 1) * n];
            let li = &lanes[i * n..(i + 1) * n];
            tight.clear();
            tight.extend(
                ei.iter()
                    .zip(di)
                    .zip(li)
                    .enumerate()
                    .filter(|&(c, ((&a, &d), _))| c != i && a < INF && a == d)
                    .map(|(c, (_, &a))| (c, a)),
            );
            row(simd, i, lanes, n, &tight, &mut best);
            for ((o, &b), &d) in next[i * n..(i + 1) * n].iter_mut().zip(&best).zip(di) {
                // Unreachable destinations "match" (∞ = a + ∞): cleared here.
                *o = if d < INF {
                    b.to_index().unwrap_or(NONE)
                } else {
                    NONE
                };
            }
            next[i * n + i] = NONE;
        }
    }
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
