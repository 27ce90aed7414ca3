//! The original's P2P-mode example, unchanged, as six real `egd` processes
//! on loopback (in a network namespace of the test's own, so the fixed ports
//! 3001–3006 can't collide): the edges exchange peers, flood their latency
//! reports and each solve the same table (equal hashes in their metrics);
//! then a broadcast typed into node 1 comes out exactly once on nodes 2–6,
//! and a unicast from 1 to 5 reaches only 5, relayed by exactly the nodes
//! the computed tables name.
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::http::{metrics, sample};
use common::netns::Netns;
use common::procs::Proc;
use common::{kernel_test_unavailable, wait_for};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

fn config(i: u16) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../shared/upstream-examples/p2p_mode/EgNet_edge{i}.yaml"
    ))
}

fn metrics_port(i: u16) -> u16 {
    9200 + i
}

fn count(lines: &[String], wanted: &str) -> usize {
    lines.iter().filter(|l| l.as_str() == wanted).count()
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
    let mut nodes: Vec<Proc> = (1..=6u16)
        .map(|i| {
            let mut cmd = ns.cmd(EGD);
            cmd.args(["--no-uapi", "--config"]).arg(config(i)).args([
                "--metrics-listen",
                &format!("127.0.0.1:{}", metrics_port(i)),
            ]);
            Proc::spawn(cmd)
        })
        .collect();
    let logs = |nodes: &[Proc]| {
        nodes
            .iter()
            .map(Proc::log)
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
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

    // A broadcast typed on node 1.
    nodes[0].type_in("b1hello\n");
    let everyone = wait_for(Duration::from_secs(10), || {
        (1..6)
            .all(|i| count(&nodes[i].lines(), "b1hello") >= 1)
            .then_some(())
    });
    assert!(
        everyone.is_some(),
        "nodes 2–6 print b1hello; logs:\n{}",
        logs(&nodes)
    );
    std::thread::sleep(Duration::from_secs(1));
    for (i, n) in nodes.iter().enumerate() {
        let want = usize::from(i != 0);
        assert_eq!(
            count(&n.lines(), "b1hello"),
            want,
            "node {} got it {want} time(s)",
            i + 1
        );
    }

    // Node 5 speaks, so every node learns where MAC …:05 is.
    nodes[4].type_in("b5here\n");
    let learned = wait_for(Duration::from_secs(10), || {
        [0, 1, 2, 3, 5]
            .iter()
            .all(|&i| count(&nodes[i].lines(), "b5here") == 1)
            .then_some(())
    });
    assert!(learned.is_some(), "b5here reaches every other node");

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
    std::thread::sleep(Duration::from_millis(1500));
    let before: Vec<f64> = (1..=6).map(relayed).collect();
    nodes[0].type_in("51only-five\n");
    let arrived = wait_for(Duration::from_secs(10), || {
        (count(&nodes[4].lines(), "51only-five") == 1).then_some(())
    });
    assert!(arrived.is_some(), "node 5 receives the unicast");
    std::thread::sleep(Duration::from_millis(1500));
    for (i, n) in nodes.iter().enumerate() {
        if i != 4 {
            assert_eq!(
                count(&n.lines(), "51only-five"),
                0,
                "node {} must not see it",
                i + 1
            );
        }
    }
    for i in 1..=6u16 {
        let delta = relayed(i) - before[usize::from(i) - 1];
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
