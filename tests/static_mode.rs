//! The original's static-mode example, unchanged, as six real `egd`
//! processes on loopback (inside a network namespace of the test's own, so
//! the fixed ports 3001–3006 can't collide with anything): a broadcast typed
//! into node 1 comes out exactly once on nodes 2–6, and a unicast from 1 to
//! 5 reaches only 5 through exactly the relays the table names (2 and 3),
//! checked through each node's Prometheus metrics.
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::netns::Netns;
use common::procs::Proc;
use common::{kernel_test_unavailable, wait_for};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

fn config(i: u16) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../shared/upstream-examples/static_mode/EgNet_edge{i}.yaml"
    ))
}

fn metrics_port(i: u16) -> u16 {
    9100 + i
}

/// Scrapes node `i`'s metrics from inside the namespace (bash's /dev/tcp:
/// no HTTP client needed).
fn scrape(ns: &Netns, i: u16) -> Option<String> {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{} && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3",
        metrics_port(i)
    );
    let out = ns.cmd("bash").args(["-c", &script]).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The value of the sample whose name-and-labels part is exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(series))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn count(lines: &[String], wanted: &str) -> usize {
    lines.iter().filter(|l| l.as_str() == wanted).count()
}

#[test]
fn six_static_edges_broadcast_once_and_unicast_along_the_table() {
    if kernel_test_unavailable().is_some() {
        return;
    }
    let ns = Netns::new("static");
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
    let all_up = wait_for(Duration::from_secs(20), || {
        (1..=6).all(|i| scrape(&ns, i).is_some()).then_some(())
    });
    let logs = |nodes: &mut Vec<Proc>| {
        nodes
            .iter()
            .map(|p| p.log())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    assert!(
        all_up.is_some(),
        "every node serves metrics; logs:\n{}",
        logs(&mut nodes)
    );

    // A broadcast typed on node 1.
    nodes[0].type_in("b1hello\n");
    let everyone = wait_for(Duration::from_secs(20), || {
        (1..6)
            .all(|i| count(&nodes[i].lines(), "b1hello") >= 1)
            .then_some(())
    });
    assert!(
        everyone.is_some(),
        "nodes 2–6 print b1hello; logs:\n{}",
        logs(&mut nodes)
    );
    std::thread::sleep(Duration::from_secs(1));
    for (i, n) in nodes.iter().enumerate().skip(1) {
        assert_eq!(
            count(&n.lines(), "b1hello"),
            1,
            "node {} got the broadcast exactly once",
            i + 1
        );
    }
    assert_eq!(
        count(&nodes[0].lines(), "b1hello"),
        0,
        "the sender does not echo its own broadcast"
    );

    // Node 5 speaks, so every node learns that MAC …:05 is behind node 5.
    nodes[4].type_in("b5here\n");
    let learned = wait_for(Duration::from_secs(10), || {
        [0, 1, 2, 3, 5]
            .iter()
            .all(|&i| count(&nodes[i].lines(), "b5here") == 1)
            .then_some(())
    });
    assert!(learned.is_some(), "b5here reaches every other node");

    let relayed = |i: u16| {
        sample(
            &scrape(&ns, i).unwrap_or_default(),
            r#"egd_forwarded_packets_total{kind="unicast"}"#,
        )
        .unwrap_or(0.0)
    };
    // Let the once-a-second publication catch up, then take the baseline.
    std::thread::sleep(Duration::from_millis(1500));
    let before: Vec<f64> = (1..=6).map(relayed).collect();

    // Unicast 1 → 5: the table says 1 → 2 → 3 → 5.
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
                "node {} must not see the unicast",
                i + 1
            );
        }
    }
    for i in 1..=6u16 {
        let delta = relayed(i) - before[usize::from(i) - 1];
        let expected = if i == 2 || i == 3 { 1.0 } else { 0.0 };
        assert_eq!(
            delta, expected,
            "node {i} relayed the unicast {delta} times"
        );
    }
    // The first cut of the metric set (issue: data plane) is all there.
    let text = scrape(&ns, 2).unwrap_or_default();
    for series in [
        r#"egd_peer_rx_bytes_total{peer="1"}"#,
        r#"egd_peer_tx_bytes_total{peer="3"}"#,
        r#"egd_forwarded_packets_total{kind="unicast"}"#,
        r#"egd_forwarded_packets_total{kind="broadcast"}"#,
        "egd_delivered_packets_total",
        r#"egd_handshakes_total{peer="4"}"#,
        r#"egd_next_hop{dst="5"}"#,
    ] {
        assert!(
            sample(&text, series).is_some(),
            "node 2 exports {series}:\n{text}"
        );
    }
    assert_eq!(
        sample(&text, r#"egd_next_hop{dst="5"}"#),
        Some(3.0),
        "node 2 reaches 5 through 3"
    );
    for n in &mut nodes {
        assert!(n.alive(), "no node died");
    }
}
