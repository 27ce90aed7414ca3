//! The fast solver against a trivial reference (Bellman–Ford per source), on
//! random consistent graphs with negative weights, plus the clock-offset
//! invariance property and negative-cycle reporting.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::{Rng, id, reference, spec, us};
use egd_routing::{DenseGraph, solve};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn solver_matches_bellman_ford(spec in spec(64)) {
        let g = spec.graph();
        let sol = solve(&g).expect("consistent graphs have no negative cycle");
        let r = reference(&g).expect("reference agrees: no negative cycle");
        for (si, &s) in r.ids.iter().enumerate() {
            for (di, &d) in r.ids.iter().enumerate() {
                let expect = r.dist[si][di];
                prop_assert_eq!(sol.distance(s, d).map(|l| l.as_micros()), expect.map(|e| e.0), "dist {}->{}", s, d);
                prop_assert_eq!(sol.hop_count(s, d), expect.map(|e| e.1), "hops {}->{}", s, d);
                prop_assert_eq!(sol.next_hop(s, d), r.next[si][di], "next {}->{}", s, d);
                if s != d && expect.is_some() {
                    // The hop-by-hop path has the reported cost and length.
                    let path = sol.path(s, d).expect("reachable");
                    prop_assert_eq!(path.len() as u32 - 1, expect.map_or(0, |e| e.1));
                    let raw: i64 = path.windows(2).map(|w| g.edge(w[0], w[1]).unwrap().as_micros()).sum();
                    prop_assert_eq!(sol.distance_without_additional_cost(s, d).map(|l| l.as_micros()), Some(raw));
                    let transit: i64 = path[1..path.len() - 1].iter().map(|&v| g.additional_cost(v).as_micros()).sum();
                    prop_assert_eq!(raw + transit, expect.map_or(0, |e| e.0));
                }
            }
        }
    }

    /// Clock offsets cancel along paths (docs/system.md#one-way-latency):
    /// adding θ[v] − θ[u] to every edge (θ up to ±10 s) changes no next hop,
    /// and shifts every distance by exactly θ[dst] − θ[src].
    #[test]
    fn clock_offsets_change_no_next_hop(spec in spec(64), seed in any::<u64>()) {
        let base = solve(&spec.graph()).expect("consistent");
        let mut rng = Rng(seed | 1);
        let shift: Vec<i64> = spec.theta.iter().map(|_| (rng.next() % 20_000_001) as i64 - 10_000_000).collect();
        let theta2: Vec<i64> = spec.theta.iter().zip(&shift).map(|(a, b)| a + b).collect();
        let moved = solve(&spec.graph_with_theta(&theta2)).expect("still consistent");
        prop_assert_eq!(base.next_hop_table(), moved.next_hop_table());
        prop_assert_eq!(base.next_hop_table().state_hash(), moved.next_hop_table().state_hash());
        for (si, &s) in spec.ids.iter().enumerate() {
            for (di, &d) in spec.ids.iter().enumerate() {
                let expect = base.distance(s, d).map(|l| l.as_micros() + shift[di] - shift[si]);
                prop_assert_eq!(moved.distance(s, d).map(|l| l.as_micros()), expect);
            }
        }
    }

    /// Making one cycle's measured sum negative is reported, with the edges of
    /// a cycle that really is negative, and never produces a table.
    #[test]
    fn inconsistent_samples_are_reported(spec in spec(24), seed in any::<u64>()) {
        let mut rng = Rng(seed | 1);
        let n = spec.ids.len();
        prop_assume!(n >= 2);
        let len = 2 + (rng.next() as usize) % (n - 1).min(4);
        let mut cycle: Vec<usize> = Vec::new();
        while cycle.len() < len {
            let c = (rng.next() as usize) % n;
            if !cycle.contains(&c) { cycle.push(c); }
        }
        prop_assume!(cycle.len() >= 2);
        let mut g = spec.graph();
        // A cycle of measured weights summing to −1 µs below zero per edge.
        let k = cycle.len();
        for i in 0..k {
            let (a, b) = (cycle[i], cycle[(i + 1) % k]);
            let w = if i == 0 { -1 - 3_000 * k as i64 } else { 1 };
            let theta = &spec.theta;
            g.set_edge(spec.ids[a], spec.ids[b], Some(us(w + theta[b] - theta[a]))).unwrap();
        }
        let err = solve(&g).expect_err("negative cycle must be reported");
        prop_assert!(!err.edges.is_empty());
        let mut total = 0i64;
        for (i, &(s, d)) in err.edges.iter().enumerate() {
            prop_assert_eq!(s, err.edges[(i + (err.edges.len() - 1)) % err.edges.len()].1, "edges chain");
            total += g.edge(s, d).expect("reported edges exist").as_micros() + g.additional_cost(d).as_micros();
        }
        prop_assert!(total < 0, "reported cycle {} is not negative", err);
        prop_assert!(reference(&g).is_none());
    }
}

#[test]
fn empty_and_single_node_graphs() {
    let sol = solve(&DenseGraph::new([])).unwrap();
    assert!(sol.next_hop_table().is_empty());
    let sol = solve(&DenseGraph::new([id(7)])).unwrap();
    assert_eq!(sol.distance(id(7), id(7)), Some(us(0)));
    assert_eq!(sol.next_hop(id(7), id(7)), None);
}

#[test]
fn zero_latency_cycles_do_not_loop() {
    // 1 ⇄ 2 at zero cost, both 5 ms from 3: without the hop tie-break the
    // lowest-id rule alone would send 1→3 via 2 and 2→3 via 1.
    let mut g = DenseGraph::new([id(1), id(2), id(3)]);
    g.set_edge(id(1), id(2), Some(us(0))).unwrap();
    g.set_edge(id(2), id(1), Some(us(0))).unwrap();
    g.set_edge(id(1), id(3), Some(us(5_000))).unwrap();
    g.set_edge(id(2), id(3), Some(us(5_000))).unwrap();
    let sol = solve(&g).unwrap();
    assert_eq!(sol.next_hop(id(1), id(3)), Some(id(3)));
    assert_eq!(sol.next_hop(id(2), id(3)), Some(id(3)));
    assert_eq!(sol.path(id(2), id(3)).unwrap(), vec![id(2), id(3)]);
}

#[test]
fn additional_cost_applies_to_transit_only() {
    // 1→2→3 is 2 ms + AC(2) = 12 ms; direct 1→3 is 11 ms: direct wins.
    let mut g = DenseGraph::new([id(1), id(2), id(3)]);
    g.set_edge(id(1), id(2), Some(us(1_000))).unwrap();
    g.set_edge(id(2), id(3), Some(us(1_000))).unwrap();
    g.set_edge(id(1), id(3), Some(us(11_000))).unwrap();
    g.set_additional_cost(id(2), us(10_000)).unwrap();
    g.set_additional_cost(id(3), us(50_000)).unwrap(); // destination: never charged
    let sol = solve(&g).unwrap();
    assert_eq!(sol.next_hop(id(1), id(3)), Some(id(3)));
    assert_eq!(sol.distance(id(1), id(3)), Some(us(11_000)));
    assert_eq!(sol.distance(id(1), id(2)), Some(us(1_000)));
    g.set_edge(id(1), id(3), Some(us(13_000))).unwrap();
    let sol = solve(&g).unwrap();
    assert_eq!(sol.next_hop(id(1), id(3)), Some(id(2)));
    assert_eq!(sol.distance(id(1), id(3)), Some(us(12_000)));
    assert_eq!(
        sol.distance_without_additional_cost(id(1), id(3)),
        Some(us(2_000))
    );
}
