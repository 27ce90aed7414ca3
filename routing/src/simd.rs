//! Runtime instruction-set dispatch for the solver's hot loops, without
//! `unsafe` in this crate.
//!
//! The binary targets plain x86-64 (SSE2), but the solver's kernels are
//! written once against [`pulp::Simd`] and monomorphised per instruction set.
//! [`Isa::detect`] picks the widest one the CPU has (cached by `std`'s
//! feature detection) and [`Isa::run`] enters the kernel through pulp's
//! `vectorize`, a `#[target_feature]` function, so that everything inlined
//! into it (our kernels are `#[inline(always)]`) is compiled for that ISA.
//! pulp does the one `unsafe` call after checking the CPU; nothing here can
//! run an instruction the CPU lacks.
//!
//! Every ISA computes bit-for-bit the same results: the kernels only add,
//! compare and take minima of exact integers, held in `f64` (`cost.rs`) or
//! `u32` (`reduced.rs`); see [`Elem`]. The unit tests run every ISA the CPU
//! has against the same references.
//!
//! What `pulp` does on this VM (AMD EPYC with AVX-512) is checked in the
//! bench binary: the hot loops are `vpaddd`/`vpminud` on `zmm` registers
//! (and `vaddpd`/`vminpd` for `f64`), with `ymm` and `xmm` copies for the
//! AVX2 and SSE4.2 builds.

use pulp::{Simd, WithSimd};

/// The instruction sets the kernels are built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// x86-64-v4: AVX-512 (F, VL, DQ, BW, CD), 8 `f64` / 16 `u32` lanes, 32
    /// registers.
    Avx512,
    /// x86-64-v3: AVX2 + FMA, 4 `f64` / 8 `u32` lanes, 16 registers.
    Avx2,
    /// x86-64-v2: SSE4.2, 2 `f64` / 4 `u32` lanes, 16 registers.
    Sse42,
    /// Anything else: portable scalar code, vectorised as the target allows.
    Portable,
}

impl Isa {
    /// The widest instruction set this CPU supports.
    pub(crate) fn detect() -> Isa {
        Isa::ALL
            .into_iter()
            .find(|isa| isa.is_available())
            .unwrap_or(Isa::Portable)
    }

    /// Widest first.
    pub(crate) const ALL: [Isa; 4] = [Isa::Avx512, Isa::Avx2, Isa::Sse42, Isa::Portable];

    /// Whether this CPU can run `self`.
    pub(crate) fn is_available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use pulp::x86::{V2, V3, V4};
            match self {
                Isa::Avx512 => V4::try_new().is_some(),
                Isa::Avx2 => V3::try_new().is_some(),
                Isa::Sse42 => V2::try_new().is_some(),
                Isa::Portable => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Isa::Portable
        }
    }

    /// Whether `u32` min-plus is worth it here: packed unsigned 32-bit `min`
    /// is SSE4.1 and up; the portable build would emulate it and is faster
    /// on `f64` (`minpd` is SSE2).
    pub(crate) fn fast_u32(self) -> bool {
        self != Isa::Portable
    }

    /// A short name for logs and the bench README.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "x86-64-v4 (AVX-512)",
            Isa::Avx2 => "x86-64-v3 (AVX2)",
            Isa::Sse42 => "x86-64-v2 (SSE4.2)",
            Isa::Portable => "portable",
        }
    }

    /// Runs `op` compiled for `self`, or for the portable fallback when the
    /// CPU lacks `self` (so a wrong choice is slow, never unsound).
    #[inline(always)]
    pub(crate) fn run<Op: WithSimd>(self, op: Op) -> Op::Output {
        #[cfg(target_arch = "x86_64")]
        {
            use pulp::x86::{V2, V3, V4};
            match self {
                Isa::Avx512 => {
                    if let Some(simd) = V4::try_new() {
                        return Simd::vectorize(simd, op);
                    }
                }
                Isa::Avx2 => {
                    if let Some(simd) = V3::try_new() {
                        return Simd::vectorize(simd, op);
                    }
                }
                Isa::Sse42 => {
                    if let Some(simd) = V2::try_new() {
                        return Simd::vectorize(simd, op);
                    }
                }
                Isa::Portable => {}
            }
        }
        op.with_simd(pulp::Scalar)
    }
}

/// An element type the min-plus kernels run on: the exact folded cost in an
/// `f64` (`cost.rs`), or a reduced cost in a `u32` (`reduced.rs`), which
/// fits twice as many lanes in a register.
pub(crate) trait Elem: Copy + PartialOrd + std::fmt::Debug + 'static {
    /// "No path"; `INF + x ≥ INF` for every stored `x`, and no sum of two
    /// stored values overflows.
    const INF: Self;
    /// `S`'s vector of `Self`.
    type V<S: Simd>: Copy;

    /// Lanes per vector.
    fn lanes<S: Simd>() -> usize;
    fn splat<S: Simd>(simd: S, x: Self) -> Self::V<S>;
    /// `min(acc, a + b)`.
    fn min_add<S: Simd>(simd: S, acc: Self::V<S>, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    /// `if a + b == d { idx } else { best }`, lane by lane.
    fn select_if_sum<S: Simd>(
        simd: S,
        a: Self::V<S>,
        b: Self::V<S>,
        d: Self::V<S>,
        idx: Self::V<S>,
        best: Self::V<S>,
    ) -> Self::V<S>;
    fn as_simd<S: Simd>(s: &[Self]) -> (&[Self::V<S>], &[Self]);
    fn as_mut_simd<S: Simd>(s: &mut [Self]) -> (&mut [Self::V<S>], &mut [Self]);
    /// `a + b`, scalar, with the vector version's semantics.
    fn add(a: Self, b: Self) -> Self;
    /// A node index as a lane value (indices are below 65 532).
    fn from_index(i: usize) -> Self;
    /// Back from [`Elem::from_index`]; `None` for [`Elem::INF`].
    fn to_index(self) -> Option<u16>;
}

impl Elem for f64 {
    const INF: f64 = f64::INFINITY;
    type V<S: Simd> = S::f64s;

    #[inline(always)]
    fn lanes<S: Simd>() -> usize {
        S::F64_LANES
    }
    #[inline(always)]
    fn splat<S: Simd>(simd: S, x: f64) -> S::f64s {
        simd.splat_f64s(x)
    }
    #[inline(always)]
    fn min_add<S: Simd>(simd: S, acc: S::f64s, a: S::f64s, b: S::f64s) -> S::f64s {
        let sum = simd.add_f64s(a, b);
        if S::IS_SCALAR {
            // pulp's scalar `min` is `f64::min`, which handles NaN and does
            // not lower to one `minsd`; no NaN arises here.
            simd.select_f64s(simd.less_than_f64s(sum, acc), sum, acc)
        } else {
            simd.min_f64s(acc, sum)
        }
    }
    #[inline(always)]
    fn select_if_sum<S: Simd>(
        simd: S,
        a: S::f64s,
        b: S::f64s,
        d: S::f64s,
        idx: S::f64s,
        best: S::f64s,
    ) -> S::f64s {
        simd.select_f64s(simd.equal_f64s(simd.add_f64s(a, b), d), idx, best)
    }
    #[inline(always)]
    fn as_simd<S: Simd>(s: &[f64]) -> (&[S::f64s], &[f64]) {
        S::as_simd_f64s(s)
    }
    #[inline(always)]
    fn as_mut_simd<S: Simd>(s: &mut [f64]) -> (&mut [S::f64s], &mut [f64]) {
        S::as_mut_simd_f64s(s)
    }
    #[inline(always)]
    fn add(a: f64, b: f64) -> f64 {
        a + b
    }
    #[inline(always)]
    fn from_index(i: usize) -> f64 {
        i as f64
    }
    #[inline(always)]
    fn to_index(self) -> Option<u16> {
        // Lane values are indices below 65 532 (exact in f64) or +∞.
        (self < f64::INFINITY).then_some(self as u16)
    }
}

impl Elem for u32 {
    /// Stored values are at most `INF`, so `a + b` never wraps.
    const INF: u32 = (1 << 31) - 1;
    type V<S: Simd> = S::u32s;

    #[inline(always)]
    fn lanes<S: Simd>() -> usize {
        S::U32_LANES
    }
    #[inline(always)]
    fn splat<S: Simd>(simd: S, x: u32) -> S::u32s {
        simd.splat_u32s(x)
    }
    #[inline(always)]
    fn min_add<S: Simd>(simd: S, acc: S::u32s, a: S::u32s, b: S::u32s) -> S::u32s {
        simd.min_u32s(acc, simd.add_u32s(a, b))
    }
    #[inline(always)]
    fn select_if_sum<S: Simd>(
        simd: S,
        a: S::u32s,
        b: S::u32s,
        d: S::u32s,
        idx: S::u32s,
        best: S::u32s,
    ) -> S::u32s {
        simd.select_u32s(simd.equal_u32s(simd.add_u32s(a, b), d), idx, best)
    }
    #[inline(always)]
    fn as_simd<S: Simd>(s: &[u32]) -> (&[S::u32s], &[u32]) {
        S::as_simd_u32s(s)
    }
    #[inline(always)]
    fn as_mut_simd<S: Simd>(s: &mut [u32]) -> (&mut [S::u32s], &mut [u32]) {
        S::as_mut_simd_u32s(s)
    }
    #[inline(always)]
    fn add(a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }
    #[inline(always)]
    fn from_index(i: usize) -> u32 {
        i as u32
    }
    #[inline(always)]
    fn to_index(self) -> Option<u16> {
        (self < Self::INF).then_some(self as u16)
    }
}
