//! Broadcast reaches every node exactly once: flood with `forward_set` over
//! random strongly connected graphs (negative weights, many equal-cost ties,
//! zero-latency edges) and count receipts.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::{Rng, id, spec};
use egd_routing::{ForwardSets, NextHopTable, NodeId, solve};
use proptest::prelude::*;
use std::collections::{BTreeMap, VecDeque};

/// Floods one broadcast from `src` and returns how often each node got it.
fn flood(table: &NextHopTable, ids: &[NodeId], src: NodeId) -> BTreeMap<NodeId, usize> {
    flood_with(&all_sets(table, ids), table, ids, src)
}

fn all_sets(table: &NextHopTable, ids: &[NodeId]) -> BTreeMap<NodeId, ForwardSets> {
    ids.iter()
        .map(|&me| (me, ForwardSets::new(table, me)))
        .collect()
}

fn flood_with(
    sets: &BTreeMap<NodeId, ForwardSets>,
    table: &NextHopTable,
    ids: &[NodeId],
    src: NodeId,
) -> BTreeMap<NodeId, usize> {
    let mut received: BTreeMap<NodeId, usize> = ids.iter().map(|&n| (n, 0)).collect();
    let mut queue = VecDeque::new();
    // The origin "receives" its own frame from itself.
    queue.push_back((src, src));
    let mut sends = 0usize;
    while let Some((me, from)) = queue.pop_front() {
        if me != src {
            *received.entry(me).or_default() += 1;
        }
        for n in sets[&me].forward_set(from, src) {
            // Only real links: the next hop to a direct neighbour is itself.
            assert_eq!(
                table.next_hop(me, n),
                Some(n),
                "{me} forwards to non-neighbour {n}"
            );
            sends += 1;
            assert!(sends <= ids.len() * ids.len(), "broadcast storm");
            queue.push_back((n, me));
        }
    }
    received
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn every_node_receives_each_broadcast_exactly_once(mut spec in spec(40), seed in any::<u64>()) {
        // Make the graph strongly connected with a random ring.
        let mut rng = Rng(seed | 1);
        let n = spec.ids.len();
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, (rng.next() as usize) % (i + 1));
        }
        for i in 0..n {
            let (a, b) = (order[i], order[(i + 1) % n]);
            if a != b && !spec.edges.iter().any(|&(s, d, _)| s == a && d == b) {
                spec.edges.push((a, b, 1_000 * (1 + (rng.next() % 3) as i64)));
            }
        }
        let sol = solve(&spec.graph()).expect("consistent");
        let table = sol.next_hop_table();
        let sets = all_sets(&table, &spec.ids);
        for &src in &spec.ids {
            let got = flood_with(&sets, &table, &spec.ids, src);
            for (&node, &count) in &got {
                let expect = usize::from(node != src);
                prop_assert_eq!(count, expect, "source {} node {}", src, node);
            }
        }
    }

    /// The forward sets agree with the unicast walk: `me` forwards to `n`
    /// exactly when `me` precedes `n` on `src ⇝ n`.
    #[test]
    fn forward_sets_follow_the_unicast_path(spec in spec(24)) {
        let sol = solve(&spec.graph()).expect("consistent");
        let table = sol.next_hop_table();
        for &src in &spec.ids {
            for &me in &spec.ids {
                for n in table.forward_set(me, src, src) {
                    let path = sol.path(src, n).expect("reachable");
                    prop_assert_eq!(path[path.len() - 2], me);
                }
            }
        }
    }
}

#[test]
fn ties_and_zero_weights_still_give_one_tree() {
    // A square 1→2→4, 1→3→4 of equal cost and zero-latency edges 2⇄3: all
    // nodes must agree on one parent for 4.
    let mut g = egd_routing::DenseGraph::new([id(1), id(2), id(3), id(4)]);
    let us = |x| egd_routing::Latency::from_micros(x);
    for (s, d, w) in [
        (1, 2, 5),
        (2, 1, 5),
        (1, 3, 5),
        (3, 1, 5),
        (2, 4, 5),
        (4, 2, 5),
        (3, 4, 5),
        (4, 3, 5),
        (2, 3, 0),
        (3, 2, 0),
    ] {
        g.set_edge(id(s), id(d), us(w)).unwrap();
    }
    let table = solve(&g).unwrap().next_hop_table();
    let ids = [id(1), id(2), id(3), id(4)];
    for src in ids {
        let got = flood(&table, &ids, src);
        assert!(
            got.iter().all(|(&n, &c)| c == usize::from(n != src)),
            "{src}: {got:?}"
        );
    }
    assert_eq!(table.forward_set(id(2), id(1), id(1)), vec![id(4)]);
    assert_eq!(table.forward_set(id(3), id(1), id(1)), Vec::<NodeId>::new());
}
