//! The fast path of the all-pairs solve: Johnson reweighting to small,
//! non-negative `u32` costs, exact by construction and checked.
//!
//! Why. The folded `f64` cost (`cost.rs`) is exact but needs 53 bits, so a
//! vector register holds 8 (AVX-512) or 4 (AVX2) of them; measured one-way
//! latencies carry clock offsets of up to seconds and can be negative, so no
//! narrower type holds them as they are. Reweighting removes both problems:
//! with a potential `h` (`h(v) ≤ h(u) + c(u,v)` for every edge), the reduced
//! cost `c'(u,v) = c(u,v) + h(u) − h(v)` is non-negative, every `i → j` path
//! changes by the same `h(i) − h(j)`, so shortest paths are the same, and
//! the clock offsets cancel: `c'` and reduced distances are bounded by round
//! trips (`d'(i,j) ≤ d(i,j) + d(j,i)` since `h(i) ≤ h(j) + d(j,i)`), not by
//! offsets. They then fit a `u32`, twice the lanes.
//!
//! How, exactly:
//! 1. Re-fold with a smaller hop unit `U = 2^⌈log₂ n⌉ ≥ n`:
//!    `F(u,v) = latency_µs · U + 1`. Every walk that is not a minimum of the
//!    lexicographic (latency, hops) order costs more in `F` than one that is
//!    (a latency step is worth `U > n − 1 ≥` any simple path's hop count),
//!    and the minimum's hop count is below `U`, so `F`-distances decode to
//!    exactly what the `2¹⁶` fold gives.
//! 2. `h`: Bellman–Ford from a virtual source joined to every node at cost
//!    zero, on the folded `f64` costs, in passes over the rows, relaxing a
//!    row only when its node's potential dropped since the row was last
//!    relaxed; at most [`MAX_PASSES`] passes' worth. Converging takes about
//!    as many passes as the longest chain of hops in those shortest paths,
//!    a handful in practice (≈ 1 ms at `n = 1024`, memory-bound). Not
//!    converging (a negative cycle, or a long chain) → slow path.
//! 3. `c'(u,v) = F(u,v) + h(u) − h(v)` in exact integer arithmetic. Every
//!    `c'` must be ≥ 0 (it is, by construction; checked anyway). Edges with
//!    `c' ≥ CAP` are left out and their rows listed; a node with edges that
//!    are all left out would fail step 5, so the fast path ends right here
//!    (that is what makes the `slow-path` bench pay ~2 ms, not ~15, for
//!    trying).
//! 4. Floyd–Warshall on `u32` (`fw.rs`) with `INF = 2³¹ − 1`: stored values
//!    never exceed `INF`, so `a + b` never wraps, and with non-negative costs
//!    every entry ends as `min(INF, d')` exactly.
//! 5. Checks that make every entry exact or fall back to the `f64` solve:
//!    - no off-diagonal entry lies in `[CAP, INF)`. Then no reachable pair's
//!      `d'` is `≥ CAP`: along its shortest path (every edge `< CAP`) the
//!      first prefix whose cost reaches `CAP` costs at most `2·CAP − 2 =
//!      INF − 1`, and prefixes of shortest paths are shortest paths, so that
//!      prefix's pair would show an entry in `[CAP, INF)`;
//!    - every left-out edge `u → v` has an entry `d'(u,v) < CAP ≤ c'(u,v)`:
//!      then it is on no shortest path and removing it changes no
//!      reachability, so `INF` entries are exactly the unreachable pairs.
//! 6. Decode `d = d' − h(i) + h(j)` and re-fold with `2¹⁶`.
//!
//! The bound this needs, in practice: reduced costs below `CAP / U`, i.e.
//! round trips (latency plus additional cost) below about 1 s at
//! `n ≤ 1024`, 0.5 s at 2048; and potentials (the clock-offset spread) below
//! about 2³² µs. Anything beyond takes the `f64` path, which gives the same
//! answer more slowly. Both paths are checked against each other in tests.

use crate::cost::{HOP_UNIT, INF};
use crate::fw;
use crate::simd::{Elem, Isa};
use pulp::{Simd, WithSimd};

/// Reduced costs and distances at or above this are not trusted (see the
/// module docs, step 5).
pub(crate) const CAP: u32 = 1 << 30;
/// Bellman–Ford work before giving up on the fast path, in full passes
/// (`n` row relaxations each, ~0.4 ms at `n = 1024`; the bench's graphs
/// need about 2.5).
pub(crate) const MAX_PASSES: usize = 16;
/// Potentials and edge costs (folded, `f64`) must stay below this in
/// magnitude, so that every sum formed here is an exact integer in an `f64`.
const EXACT: f64 = (1u64 << 48) as f64;

/// A solved reduced problem: `u32` distances over `n` nodes, with the
/// potential that maps them back.
#[derive(Debug)]
pub(crate) struct Reduced {
    pub(crate) n: usize,
    /// `log₂ U`.
    shift: u32,
    /// The potential in the `2¹⁶` fold.
    h: Vec<f64>,
    /// Reduced distances, `n × n`, zero diagonal, [`Elem::INF`] unreachable.
    pub(crate) dist: Vec<u32>,
}

/// Solves the folded `n × n` edge matrix (`+∞` = no edge) on the fast path,
/// or `None` when it does not apply (see the module docs).
pub(crate) fn solve(isa: Isa, edge: &[f64], n: usize) -> Option<Reduced> {
    if edge.len() != n * n || n >= usize::from(u16::MAX) {
        return None;
    }
    let h = potential(isa, edge, n)?;
    let shift = n.next_power_of_two().trailing_zeros();
    let bs = fw::block_size(n);
    let p = n.div_ceil(bs) * bs;
    let mut work = vec![u32::INF; p * p];
    let left_out = isa.run(Reweigh {
        edge,
        n,
        p,
        shift,
        h: &h,
        out: &mut work,
    })?;
    fw::floyd_warshall(isa, &mut work, p, bs);
    let dist = if p == n {
        work
    } else {
        let mut dist = vec![u32::INF; n * n];
        for i in 0..n {
            dist[i * n..(i + 1) * n].copy_from_slice(&work[i * p..i * p + n]);
        }
        dist
    };
    let mut reduced = Reduced { n, shift, h, dist };
    reduced.check(edge, &left_out).then_some(reduced)
}

impl Reduced {
    /// Step 5, then the zero diagonal. `left_out` lists the rows that had
    /// an edge left out; their edges are looked at again here (rather than
    /// listed, which could take `n²` memory).
    fn check(&mut self, edge: &[f64], left_out: &[usize]) -> bool {
        let n = self.n;
        for i in 0..n {
            let row = &mut self.dist[i * n..(i + 1) * n];
            row[i] = 0;
            if row.iter().any(|&x| (CAP..u32::INF).contains(&x)) {
                return false;
            }
        }
        let fold = Fold::new(&self.h, self.shift);
        left_out.iter().all(|&u| {
            let row = &edge[u * n..(u + 1) * n];
            let dist = &self.dist[u * n..(u + 1) * n];
            (0..n).all(|v| row[v] == INF || fold.reduced(row[v], u, v) < CAP_F || dist[v] < CAP)
        })
    }

    /// The distances in the `2¹⁶` fold, as the `f64` solve gives them.
    pub(crate) fn distances(&self, isa: Isa) -> Vec<f64> {
        let mut out = vec![INF; self.n * self.n];
        isa.run(Decode {
            reduced: self,
            out: &mut out,
        });
        out
    }
}

/// Step 2: a potential in the `2¹⁶` fold, or `None`.
fn potential(isa: Isa, edge: &[f64], n: usize) -> Option<Vec<f64>> {
    isa.run(Potential { edge, n })
}

struct Potential<'a> {
    edge: &'a [f64],
    n: usize,
}

impl WithSimd for Potential<'_> {
    type Output = Option<Vec<f64>>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Option<Vec<f64>> {
        let Potential { edge, n } = self;
        // The virtual source reaches every node at cost zero. A row is
        // relaxed again only when its own potential has dropped since it was
        // last relaxed (as in SPFA), so the pass that finds nothing to do
        // costs `n` comparisons, not `n²` relaxations.
        let mut h = vec![0.0f64; n];
        let mut relaxed_at = vec![INF; n];
        let mut budget = MAX_PASSES * n;
        loop {
            let mut any = false;
            for u in 0..n {
                let hu = h[u];
                if hu < relaxed_at[u] {
                    budget = budget.checked_sub(1)?;
                    relaxed_at[u] = hu;
                    fw::relax_row(simd, &mut h, hu, &edge[u * n..(u + 1) * n]);
                    any = true;
                }
            }
            if !any {
                let exact = h.iter().all(|&x| x.abs() < EXACT);
                let edges_exact = edge.iter().all(|&c| c == INF || c.abs() < EXACT);
                return (exact && edges_exact).then_some(h);
            }
        }
    }
}

/// [`CAP`] as an `f64`.
const CAP_F: f64 = CAP as f64;

/// Step 3's arithmetic: the potential in the `U` fold and reduced costs.
struct Fold {
    /// `h` in the `U` fold: `latency · U + hops`.
    hu: Vec<f64>,
    /// `U / 2¹⁶`.
    scale: f64,
}

impl Fold {
    fn new(h: &[f64], shift: u32) -> Fold {
        let unit = f64::from(1u32 << shift);
        let hu = h
            .iter()
            .map(|&x| {
                // Exact: `x` is an integer below 2⁴⁸ in magnitude.
                let latency = (x / HOP_UNIT).floor();
                latency * unit + (x - latency * HOP_UNIT)
            })
            .collect();
        Fold {
            hu,
            scale: unit / HOP_UNIT,
        }
    }

    /// `c'(u, v)` of the finite folded edge cost `c`: in the `U` fold an edge
    /// is `latency · U + 1 = (c − 1) · U/2¹⁶ + 1`, plus `h(u) − h(v)`. Exact:
    /// every term is an integer (or a power-of-two multiple of one) below
    /// 2⁵² in magnitude.
    #[inline(always)]
    fn reduced(&self, c: f64, u: usize, v: usize) -> f64 {
        (c - 1.0) * self.scale + (self.hu[u] + 1.0 - self.hu[v])
    }
}

/// Step 3: writes `c'` into the padded `p × p` matrix `out`; returns the
/// rows with an edge left out (`c' ≥ CAP`), or `None` if some `c' < 0`.
struct Reweigh<'a> {
    edge: &'a [f64],
    n: usize,
    p: usize,
    shift: u32,
    h: &'a [f64],
    out: &'a mut [u32],
}

impl WithSimd for Reweigh<'_> {
    type Output = Option<Vec<usize>>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Option<Vec<usize>> {
        let Reweigh {
            edge,
            n,
            p,
            shift,
            h,
            out,
        } = self;
        let fold = Fold::new(h, shift);
        let (scale, hu) = (fold.scale, &fold.hu);
        let mut ok = true;
        let mut left_out = Vec::new();
        for u in 0..n {
            let row = &edge[u * n..(u + 1) * n];
            let dst = &mut out[u * p..u * p + n];
            let base = hu[u] + 1.0;
            let mut row_ok = true;
            let mut row_capped = false;
            // `Fold::reduced`, spelled out so that it vectorises.
            for ((o, &c), &hv) in dst.iter_mut().zip(row).zip(hu) {
                let r = (c - 1.0) * scale + (base - hv);
                row_ok &= r >= 0.0;
                row_capped |= r >= CAP_F && c < INF;
                *o = if r < CAP_F { r as u32 } else { u32::INF };
            }
            ok &= row_ok;
            if row_capped {
                // A row with edges, all left out, fails step 5 for certain
                // (its node reaches nobody in the u32 problem): stop here
                // rather than after the Floyd–Warshall.
                if dst.iter().all(|&x| x == u32::INF) {
                    return None;
                }
                left_out.push(u);
            }
        }
        ok.then_some(left_out)
    }
}

/// Step 6.
struct Decode<'a> {
    reduced: &'a Reduced,
    out: &'a mut [f64],
}

impl WithSimd for Decode<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let Decode { reduced, out } = self;
        let n = reduced.n;
        let unit = f64::from(1u32 << reduced.shift);
        let hu = Fold::new(&reduced.h, reduced.shift).hu;
        for i in 0..n {
            let row = &reduced.dist[i * n..(i + 1) * n];
            let dst = &mut out[i * n..(i + 1) * n];
            let hi = hu[i];
            for ((o, &x), &hj) in dst.iter_mut().zip(row).zip(&hu) {
                // d = d' − h(i) + h(j) in the U fold, then the 2¹⁶ fold.
                let d = f64::from(x) - hi + hj;
                let latency = (d / unit).floor();
                let folded = latency * HOP_UNIT + (d - latency * unit);
                *o = if x < u32::INF { folded } else { INF };
            }
            dst[i] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::all_pairs_f64;

    fn folded(n: usize, seed: u64, density_in_16: u64, spread: i64, max_delay: i64) -> Vec<f64> {
        let mut s = seed | 1;
        let mut next = move || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            s.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let theta: Vec<i64> = (0..n)
            .map(|_| (next() % (2 * spread as u64 + 1)) as i64 - spread)
            .collect();
        let mut e = vec![INF; n * n];
        for i in 0..n {
            for j in 0..n {
                if i != j && (next() >> 60) < density_in_16 {
                    let delay = 1 + (next() % max_delay as u64) as i64;
                    e[i * n + j] = (delay + theta[j] - theta[i]) as f64 * HOP_UNIT + 1.0;
                }
            }
        }
        e
    }

    #[test]
    fn fast_path_equals_f64_path() {
        for (n, seed) in [(1, 1), (2, 2), (5, 3), (33, 4), (64, 5), (100, 6), (130, 7)] {
            for density in [2, 8, 16] {
                // Few distinct delays: many exact ties.
                for max_delay in [3, 100_000] {
                    let e = folded(n, seed, density, 10_000_000, max_delay);
                    let expect = all_pairs_f64(Isa::detect(), &e, n).unwrap();
                    for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
                        let r = solve(isa, &e, n).expect("fast path applies");
                        assert_eq!(r.distances(isa), expect, "n = {n}, {isa:?}");
                    }
                }
            }
        }
    }

    fn ring(n: usize, latency_us: f64) -> Vec<f64> {
        let mut e = vec![INF; n * n];
        for i in 0..n {
            e[i * n + (i + 1) % n] = latency_us * HOP_UNIT + 1.0;
        }
        e
    }

    #[test]
    fn long_round_trips_fall_back() {
        // n = 40, U = 64, CAP / U ≈ 16.8 s. Edges of 10 s fit, but two-hop
        // distances do not: caught by the [CAP, INF) check.
        let e = ring(40, 10e6);
        assert!(solve(Isa::detect(), &e, 40).is_none());
        // Edges of 20 s do not fit at all: all left out, all unreachable.
        let e = ring(40, 20e6);
        assert!(solve(Isa::detect(), &e, 40).is_none());
        // 100 ms edges: a 4 s round trip fits.
        let e = ring(40, 100e3);
        let r = solve(Isa::detect(), &e, 40).expect("fast path applies");
        assert_eq!(
            r.distances(Isa::detect()),
            all_pairs_f64(Isa::detect(), &e, 40).unwrap()
        );
    }

    #[test]
    fn a_long_useless_edge_is_left_out() {
        // A ring 0 → 1 → … → n−1 → 0 of 1 ms plus one 900 s shortcut that no
        // shortest path uses: left out of the u32 problem, and still exact.
        let n = 50;
        let mut e = ring(n, 1000.0);
        e[3 * n + 5] = 900_000_000.0 * HOP_UNIT + 1.0;
        e[3 * n + 40] = 900_000_000.0 * HOP_UNIT + 1.0;
        let r = solve(Isa::detect(), &e, n).expect("fast path applies");
        assert_eq!(
            r.distances(Isa::detect()),
            all_pairs_f64(Isa::detect(), &e, n).unwrap()
        );
        // One such edge that is needed (the only way from 7 to 8); 7 keeps
        // another edge, so this is caught by the final check.
        let mut e2 = ring(n, 1000.0);
        e2[7 * n + 8] = 900_000_000.0 * HOP_UNIT + 1.0;
        e2[7 * n + 3] = 1000.0 * HOP_UNIT + 1.0;
        assert!(solve(Isa::detect(), &e2, n).is_none());
        // Its only edge, and that is left out: caught before the solve.
        e2[7 * n + 3] = INF;
        assert!(solve(Isa::detect(), &e2, n).is_none());
    }

    #[test]
    fn negative_cycles_fall_back() {
        let n = 3;
        let mut e = vec![INF; n * n];
        e[1] = -5.0 * HOP_UNIT + 1.0;
        e[n] = 4.0 * HOP_UNIT + 1.0;
        assert!(solve(Isa::detect(), &e, n).is_none());
    }
}
