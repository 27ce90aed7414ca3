//! The original's example networks (`tests/data/upstream-examples`,
//! read only) as six real `egd` processes inside one namespace of the
//! test's own, so their fixed ports cannot collide with anything.
//!
//! How to use: [`spawn_six`] with the example's folder (`static_mode`,
//! `p2p_mode`) and a metrics port per node; node `i` is element `i - 1`,
//! its stdio interface (`kbdbg` lines) reachable with [`Proc::type_in`]
//! and [`Proc::lines`]. Once the nodes route, [`broadcast_from_1`],
//! [`announce_node_5`] and [`unicast_1_to_5`] run the scenario both
//! examples share, in that order.

use std::path::PathBuf;
use std::time::Duration;

use super::netns::Netns;
use super::procs::{Proc, logs};
use super::{counter_reaches, wait_for};

/// Node `i`'s config file in the example `folder`.
pub fn config(folder: &str, i: u16) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "tests/data/upstream-examples/{folder}/EgNet_edge{i}.yaml"
    ))
}

/// Nodes 1–6 of the example `folder` in `ns`, node `i` exporting metrics
/// on 127.0.0.1:`metrics_port(i)`.
pub fn spawn_six(egd: &str, ns: &Netns, folder: &str, metrics_port: fn(u16) -> u16) -> Vec<Proc> {
    (1..=6u16)
        .map(|i| {
            let mut cmd = ns.cmd(egd);
            cmd.args(["--no-uapi", "--config"])
                .arg(config(folder, i))
                .args([
                    "--metrics-listen",
                    &format!("127.0.0.1:{}", metrics_port(i)),
                ]);
            Proc::spawn(cmd)
        })
        .collect()
}

/// How many of `lines` are exactly `wanted`.
pub fn count(lines: &[String], wanted: &str) -> usize {
    lines.iter().filter(|l| l.as_str() == wanted).count()
}

/// A broadcast typed on node 1 (`b1hello`) comes out of nodes 2–6 within
/// `within`, exactly once each, and not back out of node 1.
pub fn broadcast_from_1(nodes: &mut [Proc], within: Duration) {
    nodes[0].type_in("b1hello\n");
    let everyone = wait_for(within, || {
        (1..6)
            .all(|i| count(&nodes[i].lines(), "b1hello") >= 1)
            .then_some(())
    });
    assert!(
        everyone.is_some(),
        "nodes 2–6 print b1hello; logs:\n{}",
        logs(nodes)
    );
    // Time for a duplicate to show up.
    std::thread::sleep(Duration::from_secs(1));
    for (i, n) in nodes.iter().enumerate() {
        let want = usize::from(i != 0);
        assert_eq!(
            count(&n.lines(), "b1hello"),
            want,
            "node {} got the broadcast {want} time(s) (the sender none)",
            i + 1
        );
    }
}

/// Node 5 speaks (`b5here`), so every node learns where MAC …:05 is; it
/// reaches every other node once.
pub fn announce_node_5(nodes: &mut [Proc]) {
    nodes[4].type_in("b5here\n");
    let learned = wait_for(Duration::from_secs(10), || {
        [0, 1, 2, 3, 5]
            .iter()
            .all(|&i| count(&nodes[i].lines(), "b5here") == 1)
            .then_some(())
    });
    assert!(learned.is_some(), "b5here reaches every other node");
}

/// A unicast from node 1 to node 5 (`51only-five`) reaches node 5 and no
/// other; returns how many unicasts each node 1–6 relayed meanwhile, by
/// `relayed(i)` (node `i`'s counter) before and after. `relays` is how
/// many relays the caller expects on the path: their counters are awaited
/// (a starved egd publishes late), then a further 1.5 s lets a duplicate
/// relay show up too.
pub fn unicast_1_to_5(nodes: &mut [Proc], relays: usize, relayed: impl Fn(u16) -> f64) -> Vec<f64> {
    // Let the once-a-second publication catch up, then take the baseline.
    std::thread::sleep(Duration::from_millis(1500));
    let before: Vec<f64> = (1..=6).map(&relayed).collect();
    nodes[0].type_in("51only-five\n");
    let arrived = wait_for(Duration::from_secs(10), || {
        (count(&nodes[4].lines(), "51only-five") == 1).then_some(())
    });
    assert!(arrived.is_some(), "node 5 receives the unicast");
    let total = |before: &[f64]| -> f64 {
        (1..=6u16)
            .map(|i| relayed(i) - before[usize::from(i) - 1])
            .sum()
    };
    counter_reaches(relays as f64, || total(&before));
    std::thread::sleep(Duration::from_millis(1500));
    for (i, n) in nodes.iter().enumerate() {
        if i != 4 {
            assert_eq!(
                count(&n.lines(), "51only-five"),
                0,
                "node {} must not see the unicast",
                i + 1
            );
        }
    }
    (1..=6u16)
        .map(|i| relayed(i) - before[usize::from(i) - 1])
        .collect()
}
