//! Blocked Floyd–Warshall, in place, over exact costs: the folded `f64` of
//! `cost.rs` or the reduced `u32` of `reduced.rs` (any [`Elem`]).
//!
//! The matrix is `p × p` (padded with isolated nodes to a multiple of the
//! block size `bs`). For each diagonal block `kb`:
//!
//! 1. plain Floyd–Warshall inside the diagonal tile `D` (it becomes the
//!    closure of block `kb`: shortest paths with intermediates up to `kb`);
//! 2. every tile `R` in block row `kb` becomes `R ⊕ D ⊗ R`, and every tile
//!    `C` in block column `kb` becomes `C ⊕ C ⊗ D` (min-plus products);
//! 3. every other tile `X` becomes `X ⊕ C ⊗ R`.
//!
//! Phase 2 as a product (rather than the textbook in-place loop) is correct
//! because `D` is already closed: a path from a block-`kb` node `i` to `j`
//! whose last block-`kb` node is `k` costs `D[i][k] + R[k][j]` (or is
//! `R[i][j]` itself when `k = i`). Reading `R` before or after it is updated
//! changes nothing, since every value is the cost of a real walk and never
//! below the optimum. So all of phases 2 and 3 run through one register-tiled
//! micro-kernel (`C[MR × NR·lanes] ⊕= A ⊗ B` over a `bs`-deep panel), and
//! only `p·bs²` of the `p³` updates are left to the plain loop of phase 1.
//! The usual correctness argument (after block `kb`, every entry is at most
//! the cost of any simple path with intermediates in blocks `0..=kb`) holds
//! for this order as well, so a negative cycle still shows up as a negative
//! diagonal entry.
//!
//! The kernel is written once against [`pulp::Simd`] and compiled per
//! instruction set and element type (`simd.rs`): with AVX-512 the
//! accumulator tile is 8 rows × 2 vectors (16 of the 32 `zmm` registers:
//! 8 × 32 `u32` or 8 × 16 `f64`), with AVX2 4 rows × 2 vectors (8 of 16
//! `ymm`), leaving room for the `B` row and the broadcast `A` value without
//! spilling. Measured at `n = 1024` (`u32`): other shapes (16×1, 4×2, 2×4,
//! 8×1 on AVX-512; 8×2, 2×4, 8×1 on AVX2) and 128-wide blocks were equal
//! or slower. No `unsafe`, no intrinsics here.
//!
//! Min-plus over exact integers is order-independent, so every ISA and every
//! blocking gives bit-for-bit the same distances as the naive triple loop.

use crate::simd::{Elem, Isa};
use pulp::{Simd, WithSimd};

/// Block sizes are multiples of this: every ISA's register tile (rows, and
/// columns for either element type) divides it, so the layout does not
/// depend on the CPU.
pub(crate) const TILE: usize = 32;
/// The largest block. Phase 3 streams a `p × bs` panel of `B` per row
/// group, so `bs` trades how often the whole matrix is swept (`p / bs`
/// times) against the panel's cache footprint (`p·bs` elements).
pub(crate) const MAX_BLOCK: usize = 64;

/// The block size for `n` nodes: a multiple of [`TILE`].
pub(crate) fn block_size(n: usize) -> usize {
    n.div_ceil(TILE).clamp(1, MAX_BLOCK / TILE) * TILE
}

/// Runs Floyd–Warshall on the row-major `p × p` matrix `d`, `p` a multiple
/// of `bs`, `bs` a multiple of [`TILE`]; anything else leaves `d` as it is.
/// The diagonal is whatever the caller put there (the solver uses `INF`, so
/// it ends as the shortest cycle).
pub(crate) fn floyd_warshall<E: Elem>(isa: Isa, d: &mut [E], p: usize, bs: usize) {
    if p == 0 || bs == 0 || !p.is_multiple_of(bs) || !bs.is_multiple_of(TILE) || d.len() != p * p {
        return;
    }
    isa.run(Blocked { d, p, bs });
}

struct Blocked<'a, E> {
    d: &'a mut [E],
    p: usize,
    bs: usize,
}

impl<E: Elem> WithSimd for Blocked<'_, E> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Blocked { d, p, bs } = self;
        // Accumulators: MR·NR registers; plus NR for the B row and one or
        // two for the broadcast A value and the sum.
        if S::REGISTER_COUNT >= 32 {
            blocked::<E, S, 8, 2>(simd, d, p, bs);
        } else {
            blocked::<E, S, 4, 2>(simd, d, p, bs);
        }
    }
}

#[inline(always)]
fn blocked<E: Elem, S: Simd, const MR: usize, const NR: usize>(
    simd: S,
    d: &mut [E],
    p: usize,
    bs: usize,
) {
    let w = NR * E::lanes::<S>();
    if !bs.is_multiple_of(MR) || !bs.is_multiple_of(w) {
        return; // unreachable: TILE is a multiple of both
    }
    let nb = p / bs;
    let inf = E::splat(simd, E::INF);
    let mut krow = vec![E::INF; bs];
    // B: `p / w` panels of `w` columns, each `bs` rows deep, contiguous.
    let mut b_panel = vec![[inf; NR]; p / w * bs];
    let mut a_panel = vec![[E::INF; MR]; bs];
    for kb in 0..nb {
        let k0 = kb * bs;
        // Column panels of block kb, and the rest.
        let own = k0 / w..(k0 + bs) / w;
        let others = || (0..own.start).chain(own.end..p / w);
        // 1. The diagonal tile.
        diagonal(simd, d, p, bs, k0, &mut krow);
        // 2a. Block row kb: R ⊕= D ⊗ R (B holds R as it was: harmless).
        pack_b::<E, S, NR>(d, p, bs, k0, others(), &mut b_panel);
        for i0 in (k0..k0 + bs).step_by(MR) {
            if pack_a(d, p, i0, k0, &mut a_panel) {
                kernel::<E, S, MR, NR>(simd, d, p, bs, i0, &a_panel, &b_panel, others());
            }
        }
        pack_b::<E, S, NR>(d, p, bs, k0, 0..p / w, &mut b_panel);
        for i0 in (0..k0).chain(k0 + bs..p).step_by(MR) {
            if !pack_a(d, p, i0, k0, &mut a_panel) {
                continue; // no path from these rows into block kb
            }
            // 2b. This row group's part of block column kb: C ⊕= C ⊗ D.
            kernel::<E, S, MR, NR>(simd, d, p, bs, i0, &a_panel, &b_panel, own.clone());
            pack_a(d, p, i0, k0, &mut a_panel);
            // 3. The rest of these rows: X ⊕= C ⊗ R.
            kernel::<E, S, MR, NR>(simd, d, p, bs, i0, &a_panel, &b_panel, others());
        }
    }
}

/// A general min-plus product, `c ⊕= a ⊗ b`: `c[i][j] = min(c[i][j],
/// min over k of a[i][k] + b[k][j])`, all row-major, `c` is `m × w`, `a` is
/// `m × depth`, `b` is `depth × w`. Runs on the same micro-kernel as the
/// solve (used by the incremental update); anything mis-sized is left as
/// it is.
pub(crate) fn min_plus_product<E: Elem>(
    isa: Isa,
    c: &mut [E],
    a: &[E],
    b: &[E],
    (m, depth, w): (usize, usize, usize),
) {
    if c.len() != m * w || a.len() != m * depth || b.len() != depth * w {
        return;
    }
    isa.run(Product {
        c,
        a,
        b,
        m,
        depth,
        w,
    });
}

struct Product<'a, E> {
    c: &'a mut [E],
    a: &'a [E],
    b: &'a [E],
    m: usize,
    depth: usize,
    w: usize,
}

impl<E: Elem> WithSimd for Product<'_, E> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        if S::REGISTER_COUNT >= 32 {
            product::<E, S, 8, 2>(simd, self);
        } else {
            product::<E, S, 4, 2>(simd, self);
        }
    }
}

#[inline(always)]
fn product<E: Elem, S: Simd, const MR: usize, const NR: usize>(simd: S, op: Product<'_, E>) {
    let Product {
        c,
        a,
        b,
        m,
        depth,
        w,
    } = op;
    let width = NR * E::lanes::<S>();
    // Pad C to whole register tiles (+∞ rows and columns change nothing).
    let (mp, wp) = (m.div_ceil(MR) * MR, w.div_ceil(width) * width);
    let mut cp = vec![E::INF; mp * wp];
    for (dst, src) in cp.chunks_exact_mut(wp).zip(c.chunks_exact(w.max(1))) {
        dst[..w].copy_from_slice(src);
    }
    let inf = E::splat(simd, E::INF);
    let mut b_panel = vec![[inf; NR]; wp / width * depth];
    let mut row = vec![E::INF; wp];
    for (k, src) in b.chunks_exact(w.max(1)).enumerate().take(depth) {
        row[..w].copy_from_slice(src);
        let (v, _) = E::as_simd::<S>(&row);
        for (panel, v) in v.chunks_exact(NR).enumerate() {
            b_panel[panel * depth + k].copy_from_slice(v);
        }
    }
    let mut a_panel = vec![[E::INF; MR]; depth];
    for i0 in (0..mp).step_by(MR) {
        let mut any = false;
        for r in 0..MR.min(m.saturating_sub(i0)) {
            let src = &a[(i0 + r) * depth..(i0 + r + 1) * depth];
            for (dst, &x) in a_panel.iter_mut().zip(src) {
                dst[r] = x;
                any |= x < E::INF;
            }
        }
        if !any {
            continue;
        }
        for panel in 0..wp / width {
            let bp = &b_panel[panel * depth..(panel + 1) * depth];
            micro_kernel::<E, S, MR, NR>(simd, &mut cp, wp, i0, panel * width, &a_panel, bp);
        }
        // The panel's rows beyond `m` must stay +∞ for the next group.
        a_panel.iter_mut().for_each(|x| *x = [E::INF; MR]);
    }
    for (dst, src) in c.chunks_exact_mut(w.max(1)).zip(cp.chunks_exact(wp)) {
        dst.copy_from_slice(&src[..w]);
    }
}

/// `C[i0..i0+MR][panel] ⊕= A ⊗ B[panel]` for each column panel in `panels`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn kernel<E: Elem, S: Simd, const MR: usize, const NR: usize>(
    simd: S,
    d: &mut [E],
    p: usize,
    bs: usize,
    i0: usize,
    a_panel: &[[E; MR]],
    b_panel: &[[E::V<S>; NR]],
    panels: impl Iterator<Item = usize>,
) {
    let w = NR * E::lanes::<S>();
    for j in panels {
        let b = &b_panel[j * bs..(j + 1) * bs];
        micro_kernel::<E, S, MR, NR>(simd, d, p, i0, j * w, a_panel, b);
    }
}

/// Plain Floyd–Warshall on the diagonal tile at (`k0`, `k0`), where the tile
/// supplies its own operands, so the in-place order is the correct one.
#[inline(always)]
fn diagonal<E: Elem, S: Simd>(
    simd: S,
    d: &mut [E],
    p: usize,
    bs: usize,
    k0: usize,
    krow: &mut [E],
) {
    for k in k0..k0 + bs {
        krow.copy_from_slice(&d[k * p + k0..k * p + k0 + bs]);
        for i in k0..k0 + bs {
            let a = d[i * p + k];
            if a >= E::INF {
                continue;
            }
            relax_row(simd, &mut d[i * p + k0..i * p + k0 + bs], a, krow);
        }
    }
}

/// `c[j] = min(c[j], a + b[j])`, the min-plus row update, on `S`'s lanes.
#[inline(always)]
pub(crate) fn relax_row<E: Elem, S: Simd>(simd: S, c: &mut [E], a: E, b: &[E]) {
    let (cv, ct) = E::as_mut_simd::<S>(c);
    let (bv, bt) = E::as_simd::<S>(b);
    let av = E::splat(simd, a);
    for (c, &b) in cv.iter_mut().zip(bv) {
        *c = E::min_add(simd, *c, av, b);
    }
    for (c, &b) in ct.iter_mut().zip(bt) {
        let x = E::add(a, b);
        if x < *c {
            *c = x;
        }
    }
}

/// Packs rows `k0..k0+bs` of the column panels `panels` (each `w` wide) so
/// the micro-kernel streams `B` contiguously.
#[inline(always)]
fn pack_b<E: Elem, S: Simd, const NR: usize>(
    d: &[E],
    p: usize,
    bs: usize,
    k0: usize,
    panels: impl Iterator<Item = usize>,
    b_panel: &mut [[E::V<S>; NR]],
) {
    let w = NR * E::lanes::<S>();
    for panel in panels {
        let dst = &mut b_panel[panel * bs..(panel + 1) * bs];
        for (k, dst) in dst.iter_mut().enumerate() {
            let row = (k0 + k) * p + panel * w;
            let (src, _) = E::as_simd::<S>(&d[row..row + w]);
            dst.copy_from_slice(&src[..NR]);
        }
    }
}

/// Packs `A[i0..i0+MR][k0..k0+bs]` k-major; false when it is all `INF`.
#[inline(always)]
fn pack_a<E: Elem, const MR: usize>(
    d: &[E],
    p: usize,
    i0: usize,
    k0: usize,
    a_panel: &mut [[E; MR]],
) -> bool {
    let mut any = false;
    for r in 0..MR {
        let row = &d[(i0 + r) * p + k0..];
        for (a, &x) in a_panel.iter_mut().zip(row) {
            a[r] = x;
            any |= x < E::INF;
        }
    }
    any
}

/// `C[i0..i0+MR][j0..j0+w] ⊕= A ⊗ B` with the accumulators in registers.
#[inline(always)]
fn micro_kernel<E: Elem, S: Simd, const MR: usize, const NR: usize>(
    simd: S,
    d: &mut [E],
    p: usize,
    i0: usize,
    j0: usize,
    a_panel: &[[E; MR]],
    b_panel: &[[E::V<S>; NR]],
) {
    let w = NR * E::lanes::<S>();
    let mut acc = [[E::splat(simd, E::INF); NR]; MR];
    for (r, acc) in acc.iter_mut().enumerate() {
        let row = (i0 + r) * p + j0;
        let (c, _) = E::as_simd::<S>(&d[row..row + w]);
        acc.copy_from_slice(&c[..NR]);
    }
    for (a, b) in a_panel.iter().zip(b_panel) {
        for r in 0..MR {
            let ar = E::splat(simd, a[r]);
            for q in 0..NR {
                acc[r][q] = E::min_add(simd, acc[r][q], ar, b[q]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let row = (i0 + r) * p + j0;
        let (c, _) = E::as_mut_simd::<S>(&mut d[row..row + w]);
        c[..NR].copy_from_slice(acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive<E: Elem>(d: &mut [E], n: usize) {
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    let x = E::add(d[i * n + k], d[k * n + j]);
                    if x < d[i * n + j] {
                        d[i * n + j] = x;
                    }
                }
            }
        }
    }

    fn random(n: usize, seed: &mut u64, inf_in_16: u64) -> Vec<u32> {
        random_flat(n * n, seed, inf_in_16)
    }

    fn random_flat(len: usize, seed: &mut u64, inf_in_16: u64) -> Vec<u32> {
        (0..len)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if (*seed >> 60) < inf_in_16 {
                    u32::INF
                } else {
                    ((*seed >> 33) % 1000) as u32
                }
            })
            .collect()
    }

    fn blocked_on<E: Elem>(isa: Isa, d: &[E], n: usize, bs: usize) -> Vec<E> {
        let p = n.div_ceil(bs) * bs;
        let mut padded = vec![E::INF; p * p];
        for i in 0..n {
            padded[i * p..i * p + n].copy_from_slice(&d[i * n..i * n + n]);
        }
        floyd_warshall(isa, &mut padded, p, bs);
        let mut out = vec![E::INF; n * n];
        for i in 0..n {
            out[i * n..i * n + n].copy_from_slice(&padded[i * p..i * p + n]);
        }
        out
    }

    fn available() -> impl Iterator<Item = Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available())
    }

    #[test]
    fn blocked_equals_naive_on_every_isa_and_type() {
        let mut seed = 7u64;
        for n in [1usize, 8, 31, 32, 40, 72, 100, 150] {
            for inf_in_16 in [0, 5, 14] {
                let d = random(n, &mut seed, inf_in_16);
                let mut expect = d.clone();
                naive(&mut expect, n);
                let d64: Vec<f64> = d
                    .iter()
                    .map(|&x| {
                        if x == u32::INF {
                            f64::INF
                        } else {
                            f64::from(x)
                        }
                    })
                    .collect();
                let mut expect64 = d64.clone();
                naive(&mut expect64, n);
                for isa in available() {
                    for bs in [32, 64] {
                        assert_eq!(
                            blocked_on(isa, &d, n, bs),
                            expect,
                            "u32, n = {n}, bs = {bs}, {isa:?}"
                        );
                        assert_eq!(
                            blocked_on(isa, &d64, n, bs),
                            expect64,
                            "f64, n = {n}, bs = {bs}, {isa:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn negative_weights_and_cycles() {
        // Shift by potentials: same shortest paths, about half the weights
        // negative; then close a negative cycle and see the diagonal.
        let mut seed = 11u64;
        let n = 70;
        let mut d: Vec<f64> = random(n, &mut seed, 3)
            .into_iter()
            .map(|x| {
                if x == u32::INF {
                    f64::INF
                } else {
                    f64::from(x)
                }
            })
            .collect();
        let h: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 2001) as f64 - 1000.0)
            .collect();
        for i in 0..n {
            for j in 0..n {
                d[i * n + j] += h[i] - h[j];
            }
        }
        let mut expect = d.clone();
        naive(&mut expect, n);
        for isa in available() {
            assert_eq!(blocked_on(isa, &d, n, 32), expect, "{isa:?}");
        }
        d[5 * n + 60] = -5000.0;
        d[60 * n + 5] = -5000.0;
        for isa in available() {
            let got = blocked_on(isa, &d, n, 32);
            assert!(got[5 * n + 5] < 0.0 && got[60 * n + 60] < 0.0, "{isa:?}");
        }
    }

    #[test]
    fn product_equals_naive() {
        let mut seed = 13u64;
        for (m, depth, w) in [
            (1, 1, 1),
            (3, 5, 7),
            (9, 33, 17),
            (56, 968, 72),
            (20, 7, 100),
        ] {
            let a = random_flat(m * depth, &mut seed, 3);
            let b = random_flat(depth * w, &mut seed, 3);
            let c0 = random_flat(m * w, &mut seed, 8);
            let mut expect = c0.clone();
            for i in 0..m {
                for k in 0..depth {
                    for j in 0..w {
                        let x = u32::add(a[i * depth + k], b[k * w + j]);
                        if x < expect[i * w + j] {
                            expect[i * w + j] = x;
                        }
                    }
                }
            }
            let wide = |v: &[u32]| -> Vec<f64> {
                v.iter()
                    .map(|&x| {
                        if x == u32::INF {
                            f64::INF
                        } else {
                            f64::from(x)
                        }
                    })
                    .collect()
            };
            for isa in available() {
                let mut c = c0.clone();
                min_plus_product(isa, &mut c, &a, &b, (m, depth, w));
                assert_eq!(c, expect, "u32, {m}×{depth}×{w}, {isa:?}");
                let mut c = wide(&c0);
                min_plus_product(isa, &mut c, &wide(&a), &wide(&b), (m, depth, w));
                assert_eq!(c, wide(&expect), "f64, {m}×{depth}×{w}, {isa:?}");
            }
        }
    }

    #[test]
    fn bad_shapes_are_left_alone() {
        let mut d = vec![1.0; 48 * 48];
        floyd_warshall(Isa::detect(), &mut d, 48, 16);
        floyd_warshall(Isa::detect(), &mut d, 48, 32);
        assert!(d.iter().all(|&x| x == 1.0));
    }
}
