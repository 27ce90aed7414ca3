//! `Solution::update_edge` equals a full solve on graphs larger than one
//! solver block (64) and than the SIMD register tiles, so that padding,
//! several diagonal blocks and vector tails are all exercised.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::{Rng, spec};
use egd_routing::solve;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn update_equals_full_solve_on_large_graphs(
        spec in spec(140).prop_filter("more than one block", |s| s.ids.len() > 70),
        seed in any::<u64>(),
    ) {
        let mut rng = Rng(seed | 1);
        let mut g = spec.graph();
        let mut sol = solve(&g).expect("consistent");
        let n = spec.ids.len();
        for _ in 0..8 {
            let a = (rng.next() as usize) % n;
            let b = (a + 1 + (rng.next() as usize) % (n - 1)) % n;
            let (src, far) = (spec.ids[a], spec.ids[b]);
            // A busy edge: src's first hop towards a far node.
            let dst = sol.next_hop(src, far).unwrap_or(far);
            let Some(w) = g.edge(src, dst) else { continue };
            let weight = match rng.next() % 3 {
                0 => None,                                                // removal
                1 => Some(common::us(w.as_micros() + 50_000)),            // increase
                _ => Some(common::us(w.as_micros() - 1 - (rng.next() % 500) as i64)), // decrease
            };
            g.set_edge(src, dst, weight).unwrap();
            if sol.update_edge(src, dst, weight).is_err() {
                // A decrease closing a negative cycle is refused: undo it.
                g.set_edge(src, dst, Some(w)).unwrap();
                continue;
            }
            let full = solve(&g).expect("consistent");
            prop_assert_eq!(&sol, &full, "after setting {}->{} to {:?}", src, dst, weight);
        }
    }
}

/// A hub edge 0 → 1 that nearly every pair routes over: raising it touches
/// almost every source and target, where the update solves again instead.
#[test]
fn raising_a_hub_edge_equals_full_solve() {
    let n = 90u16;
    let ids: Vec<_> = (1..=n).map(common::id).collect();
    let mut g = egd_routing::DenseGraph::new(ids.iter().copied());
    for &a in &ids {
        for &b in &ids {
            if a != b {
                g.set_edge(a, b, Some(common::us(100_000))).unwrap();
            }
        }
        if a != ids[0] {
            g.set_edge(a, ids[0], Some(common::us(1_000))).unwrap();
        }
        if a != ids[1] {
            g.set_edge(ids[1], a, Some(common::us(1_000))).unwrap();
        }
    }
    g.set_edge(ids[0], ids[1], Some(common::us(1_000))).unwrap();
    let mut sol = solve(&g).unwrap();
    for weight in [Some(50_000), None, Some(1_000), Some(99_000)] {
        let weight = weight.map(common::us);
        g.set_edge(ids[0], ids[1], weight).unwrap();
        sol.update_edge(ids[0], ids[1], weight).unwrap();
        assert_eq!(sol, solve(&g).unwrap(), "0 -> 1 at {weight:?}");
    }
}
