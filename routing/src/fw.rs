//! Blocked Floyd–Warshall over folded costs (see `cost.rs`), in place.
//!
//! The matrix is `p × p` (padded with isolated nodes to a multiple of the
//! block size `bs`). For each diagonal block `kb` the classic three phases
//! run: (1) plain FW inside the diagonal tile, (2) the tiles in block row and
//! block column `kb`, (3) every other tile `C ⊕= A ⊗ B`, a min-plus product.
//! Phase 3 is ~all of the work; it packs `A` and `B` into contiguous panels
//! and runs an `MR × NR` register-tiled micro-kernel written as fixed-size
//! array loops so LLVM keeps the accumulators in vector registers and emits
//! packed `addpd`/`minpd` (SSE2) or their AVX forms. No `unsafe`, no
//! intrinsics: the layout does the work.
//!
//! Min-plus over exact integers is order-independent, so the blocked order
//! gives bit-for-bit the same distances as the naive triple loop.

use crate::cost::{INF, min};

/// Rows of the micro-kernel's accumulator tile.
pub(crate) const MR: usize = 2;
/// Columns of the micro-kernel's accumulator tile.
pub(crate) const NR: usize = 4;
/// The largest block: a 64×64 tile of `f64` is 32 KiB, which with the packed
/// panels stays within L1/L2.
pub(crate) const MAX_BLOCK: usize = 64;

/// The block size for `n` nodes: a multiple of `NR` (and of `MR`).
pub(crate) fn block_size(n: usize) -> usize {
    n.div_ceil(NR).clamp(1, MAX_BLOCK / NR) * NR
}

/// Runs Floyd–Warshall on the row-major `p × p` matrix `d`, `p` a multiple
/// of `bs`, `bs` a multiple of `NR`. The diagonal is whatever the caller put
/// there (the solver uses `+∞`, so it ends as the shortest cycle).
pub(crate) fn floyd_warshall(d: &mut [f64], p: usize, bs: usize) {
    if p == 0 || bs == 0 || p % bs != 0 || bs % NR != 0 || bs % MR != 0 || d.len() != p * p {
        return;
    }
    let nb = p / bs;
    let mut krow = vec![INF; bs];
    let mut b_panel = vec![[INF; NR]; p * bs / NR];
    let mut a_panel = vec![[INF; MR]; bs];
    for kb in 0..nb {
        let k0 = kb * bs;
        fw_tile(d, p, bs, k0, k0, k0, &mut krow);
        for jb in (0..nb).filter(|&jb| jb != kb) {
            fw_tile(d, p, bs, k0, jb * bs, k0, &mut krow);
        }
        for ib in (0..nb).filter(|&ib| ib != kb) {
            fw_tile(d, p, bs, ib * bs, k0, k0, &mut krow);
        }
        pack_b(d, p, bs, k0, &mut b_panel);
        for ib in (0..nb).filter(|&ib| ib != kb) {
            for i0 in (ib * bs..(ib + 1) * bs).step_by(MR) {
                if !pack_a(d, p, bs, i0, k0, &mut a_panel) {
                    continue; // no path from these rows into block kb
                }
                for jb in (0..nb).filter(|&jb| jb != kb) {
                    for j0 in (0..bs).step_by(NR) {
                        let panel = (jb * bs + j0) / NR * bs;
                        let b = &b_panel[panel..panel + bs];
                        update_micro_tile(d, p, i0, jb * bs + j0, &a_panel, b);
                    }
                }
            }
        }
    }
}

/// Plain FW restricted to intermediates `k0..k0+bs` on the tile at
/// (`i0`, `j0`). Used for the diagonal tile and block row/column `kb`, where
/// the tile being updated also supplies the operands, so order matters and
/// the classic in-place loop is the correct one.
fn fw_tile(d: &mut [f64], p: usize, bs: usize, i0: usize, j0: usize, k0: usize, krow: &mut [f64]) {
    for k in k0..k0 + bs {
        krow.copy_from_slice(&d[k * p + j0..k * p + j0 + bs]);
        for i in i0..i0 + bs {
            let a = d[i * p + k];
            if a == INF {
                continue;
            }
            relax_row(&mut d[i * p + j0..i * p + j0 + bs], a, krow);
        }
    }
}

/// `c[j] = min(c[j], a + b[j])`, the min-plus row update.
#[inline]
pub(crate) fn relax_row(c: &mut [f64], a: f64, b: &[f64]) {
    for (c, &b) in c.iter_mut().zip(b) {
        *c = min(*c, a + b);
    }
}

/// Packs rows `k0..k0+bs` (all columns) into `NR`-wide column panels, each
/// `bs` rows deep, so the micro-kernel streams `B` contiguously.
fn pack_b(d: &[f64], p: usize, bs: usize, k0: usize, b_panel: &mut [[f64; NR]]) {
    for (panel, col0) in (0..p).step_by(NR).enumerate() {
        for k in 0..bs {
            let row = (k0 + k) * p + col0;
            let dst = &mut b_panel[panel * bs + k];
            dst.copy_from_slice(&d[row..row + NR]);
        }
    }
}

/// Packs `A[i0..i0+MR][k0..k0+bs]` k-major; false when it is all `+∞`.
fn pack_a(d: &[f64], p: usize, bs: usize, i0: usize, k0: usize, a_panel: &mut [[f64; MR]]) -> bool {
    let mut any = false;
    for (k, a) in a_panel.iter_mut().enumerate().take(bs) {
        for (r, slot) in a.iter_mut().enumerate() {
            *slot = d[(i0 + r) * p + k0 + k];
            any |= *slot < INF;
        }
    }
    any
}

/// `C[i0..i0+MR][j0..j0+NR] ⊕= A ⊗ B` with the accumulators in registers.
fn update_micro_tile(
    d: &mut [f64],
    p: usize,
    i0: usize,
    j0: usize,
    a_panel: &[[f64; MR]],
    b: &[[f64; NR]],
) {
    let mut acc = [[INF; NR]; MR];
    for (r, row) in acc.iter_mut().enumerate() {
        row.copy_from_slice(&d[(i0 + r) * p + j0..(i0 + r) * p + j0 + NR]);
    }
    micro_kernel(&mut acc, a_panel, b);
    for (r, row) in acc.iter().enumerate() {
        d[(i0 + r) * p + j0..(i0 + r) * p + j0 + NR].copy_from_slice(row);
    }
}

#[inline(always)]
fn micro_kernel(acc: &mut [[f64; NR]; MR], a_panel: &[[f64; MR]], b_panel: &[[f64; NR]]) {
    let mut c = *acc;
    for (a, b) in a_panel.iter().zip(b_panel) {
        for r in 0..MR {
            for q in 0..NR {
                c[r][q] = min(c[r][q], a[r] + b[q]);
            }
        }
    }
    *acc = c;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(d: &mut [f64], n: usize) {
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    d[i * n + j] = min(d[i * n + j], d[i * n + k] + d[k * n + j]);
                }
            }
        }
    }

    #[test]
    fn blocked_equals_naive() {
        let mut seed = 7u64;
        for n in [8usize, 16, 24, 40, 72] {
            let mut d: Vec<f64> = (0..n * n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    if (seed >> 60) < 5 {
                        INF
                    } else {
                        ((seed >> 33) % 1000) as f64
                    }
                })
                .collect();
            let mut expect = d.clone();
            naive(&mut expect, n);
            let bs = 8;
            let p = n.div_ceil(bs) * bs;
            let mut padded = vec![INF; p * p];
            for i in 0..n {
                padded[i * p..i * p + n].copy_from_slice(&d[i * n..i * n + n]);
            }
            floyd_warshall(&mut padded, p, bs);
            for i in 0..n {
                d[i * n..i * n + n].copy_from_slice(&padded[i * p..i * p + n]);
            }
            assert_eq!(d, expect, "n = {n}");
        }
    }
}
