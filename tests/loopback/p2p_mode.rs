//! The original's P2P-mode example, unchanged, as six real `egd` processes
//! on loopback (in a network namespace of the test's own, so the fixed ports
//! 3001–3006 can't collide): the edges exchange peers, flood their latency
//! reports and each solve the same table (equal hashes in their metrics);
//! then a broadcast typed into node 1 comes out exactly once on nodes 2–6,
//! and a unicast from 1 to 5 reaches only 5, relayed by exactly the nodes
//! the computed tables name.
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::Duration;

use crate::support::http::{metrics, sample};
use crate::support::netns::Netns;
use crate::support::procs::logs;
use crate::support::upstream::{announce_node_5, broadcast_from_1, spawn_six, unicast_1_to_5};
use crate::support::{kernel_test_unavailable, wait_for};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

fn metrics_port(i: u16) -> u16 {
    9200 + i
}

fn gauge(ns: &Netns, i: u16, series: &str) -> Option<f64> {
    sample(&metrics(ns, metrics_port(i))?, series)
}

/// Node `i`'s next hop toward `dst`, from its metrics.
fn next_hop(ns: &Netns, i: u16, dst: u16) -> Option<u16> {
    gauge(ns, i, &format!("egd_next_hop{{dst=\"{dst}\"}}")).map(|v| v as u16)
}

#[test]
fn six_p2p_edges_agree_on_one_table_and_forward_along_it() {
    if kernel_test_unavailable().is_some() {
        return;
    }
    let ns = Netns::new("p2p");
    let mut nodes = spawn_six(EGD, &ns, "p2p_mode", metrics_port);
    // Converged: every node routes to every other, and all six tables hash
    // the same. The example pings every 16 s, so this takes a while.
    let converged = wait_for(Duration::from_secs(120), || {
        let hashes: Vec<f64> = (1..=6)
            .map(|i| gauge(&ns, i, "egd_next_hop_table_hash"))
            .collect::<Option<_>>()?;
        let complete = (1..=6u16).all(|i| {
            (1..=6u16)
                .filter(|d| *d != i)
                .all(|d| next_hop(&ns, i, d).is_some())
        });
        (complete && hashes.iter().all(|h| *h == hashes[0])).then_some(hashes[0])
    });
    assert!(
        converged.is_some(),
        "the six edges converge to one table; logs:\n{}",
        logs(&nodes)
    );

    broadcast_from_1(&mut nodes, Duration::from_secs(10));
    announce_node_5(&mut nodes);

    // The path 1 → 5 as the tables say.
    let mut path = vec![1u16];
    while *path.last().unwrap() != 5 && path.len() <= 6 {
        let at = *path.last().unwrap();
        path.push(next_hop(&ns, at, 5).unwrap());
    }
    assert_eq!(
        path.last(),
        Some(&5),
        "the tables lead from 1 to 5: {path:?}"
    );
    let relayed =
        |i: u16| gauge(&ns, i, r#"egd_forwarded_packets_total{kind="unicast"}"#).unwrap_or(0.0);
    let deltas = unicast_1_to_5(&mut nodes, path.len() - 2, relayed);
    for i in 1..=6u16 {
        let delta = deltas[usize::from(i) - 1];
        let on_path = path[1..path.len() - 1].contains(&i);
        assert_eq!(
            delta,
            if on_path { 1.0 } else { 0.0 },
            "node {i} relayed the unicast {delta} times (path {path:?})"
        );
    }
    for n in &mut nodes {
        assert!(n.alive(), "no node died");
    }
}
