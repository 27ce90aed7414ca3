//! The solver's internal path cost: latency and hop count folded into one
//! exact integer held in an `f64`.
//!
//! `cost = latency_µs · 2¹⁶ + hops`. Comparing folded costs compares latency
//! first and, between equal latencies, prefers fewer hops. Two things follow:
//! every cycle has a strictly positive cost unless its latency is negative
//! (so following next hops can never loop, even over zero-latency cycles),
//! and fewer relays win a latency tie. All values are integers below 2⁵³
//! for realistic inputs (see [`crate::Latency::MAX_ABS`]), so additions and
//! comparisons are exact and associative; `f64` is used rather than `i64`
//! because every x86-64 level has packed `f64` add and min (AVX2 has no
//! packed 64-bit integer min), and `+∞` saturates by itself.
//!
//! This is the representation of [`crate::Solution`] and of the slow path;
//! the all-pairs solve itself normally runs on reweighted `u32` costs with
//! a smaller hop unit (`reduced.rs`) and converts back, bit-for-bit.

use crate::Latency;

/// One hop in the folded cost: larger than any hop count (< 65 532 nodes).
pub(crate) const HOP_UNIT: f64 = 65_536.0;

/// No path.
pub(crate) const INF: f64 = f64::INFINITY;

/// The folded cost of one edge of latency `latency` entering a node whose
/// additional cost is `entry_cost` (see `solver.rs` for why it is charged on
/// entry).
pub(crate) fn edge(latency: Latency, entry_cost: Latency) -> f64 {
    (latency.as_micros() + entry_cost.as_micros()) as f64 * HOP_UNIT + 1.0
}

/// The latency part of a finite folded cost, in µs.
pub(crate) fn micros(cost: f64) -> i64 {
    // Finite folded costs are integers well inside i64; `floor` splits off
    // the hop count, which is in [0, 2¹⁶).
    (cost / HOP_UNIT).floor() as i64
}

/// The hop-count part of a finite folded cost.
pub(crate) fn hops(cost: f64) -> u32 {
    (cost - (cost / HOP_UNIT).floor() * HOP_UNIT) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_and_unfolds() {
        let l = |us| Latency::from_micros(us).unwrap_or_default();
        let c = edge(l(-7), l(2)) + edge(l(10), l(0)) + edge(l(3), l(1));
        assert_eq!(micros(c), 9);
        assert_eq!(hops(c), 3);
        let neg = edge(l(-20), Latency::ZERO);
        assert_eq!(micros(neg), -20);
        assert_eq!(hops(neg), 1);
        // Equal latency, fewer hops is cheaper.
        assert!(edge(l(10), Latency::ZERO) < edge(l(4), Latency::ZERO) + edge(l(6), Latency::ZERO));
    }
}
