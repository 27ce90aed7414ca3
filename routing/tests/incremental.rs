//! `Solution::update_edge` equals a full solve of the changed graph, for
//! increases (the hard case), decreases, new edges and removals.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::{Rng, id, spec, us};
use egd_routing::{DenseGraph, UpdateError, solve};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn update_equals_full_solve(spec in spec(48), seed in any::<u64>(), steps in 1usize..6) {
        let mut rng = Rng(seed | 1);
        let mut g = spec.graph();
        let mut sol = solve(&g).expect("consistent");
        let n = spec.ids.len();
        prop_assume!(n >= 2);
        for _ in 0..steps {
            let (a, b) = loop {
                let a = (rng.next() as usize) % n;
                let b = (rng.next() as usize) % n;
                if a != b { break (a, b); }
            };
            let (src, dst) = (spec.ids[a], spec.ids[b]);
            // Prefer edges that carry traffic: the hop u→next(u, j).
            let (src, dst) = match rng.next() % 3 {
                0 => match sol.next_hop(src, dst) { Some(h) => (src, h), None => (src, dst) },
                _ => (src, dst),
            };
            let true_delay = match g.edge(src, dst) {
                Some(w) => w.as_micros() - spec.theta[idx(&spec.ids, dst)] + spec.theta[idx(&spec.ids, src)],
                None => 1_000 * (1 + (rng.next() % 4) as i64),
            };
            let new_true = match rng.next() % 5 {
                0 => None,                                         // removal
                1 => Some(true_delay * 3 + 7),                     // increase
                2 => Some((true_delay / 2).max(1)),                // decrease
                3 => Some(true_delay),                             // same / new edge
                _ => Some(1 + (rng.next() % 4_000) as i64),        // anything
            };
            let weight = new_true.map(|t| us(t + spec.theta[idx(&spec.ids, dst)] - spec.theta[idx(&spec.ids, src)]));
            g.set_edge(src, dst, weight).unwrap();
            sol.update_edge(src, dst, weight).expect("consistent change");
            let full = solve(&g).expect("consistent");
            prop_assert_eq!(&sol, &full, "after setting {}->{} to {:?}", src, dst, weight);
        }
    }
}

fn idx(ids: &[egd_routing::NodeId], id: egd_routing::NodeId) -> usize {
    ids.iter().position(|&x| x == id).unwrap()
}

#[test]
fn a_change_that_closes_a_negative_cycle_is_refused() {
    let mut g = DenseGraph::new([id(1), id(2), id(3)]);
    g.set_edge(id(1), id(2), Some(us(5))).unwrap();
    g.set_edge(id(2), id(3), Some(us(5))).unwrap();
    let mut sol = solve(&g).unwrap();
    let before = sol.clone();
    let err = sol.update_edge(id(3), id(1), Some(us(-11))).unwrap_err();
    let UpdateError::NegativeCycle(cycle) = err else {
        panic!("{err}")
    };
    assert_eq!(
        cycle.edges,
        vec![(id(3), id(1)), (id(1), id(2)), (id(2), id(3))]
    );
    assert_eq!(
        sol, before,
        "a refused change leaves the solution as it was"
    );
    // -10 closes a cycle of latency 0: allowed (hops keep it positive).
    sol.update_edge(id(3), id(1), Some(us(-10))).unwrap();
    g.set_edge(id(3), id(1), Some(us(-10))).unwrap();
    assert_eq!(sol, solve(&g).unwrap());
    assert_eq!(
        sol.update_edge(id(9), id(1), None),
        Err(UpdateError::UnknownNode(id(9)))
    );
}
