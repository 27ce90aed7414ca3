//! The original's static-mode example, unchanged, as six real `egd`
//! processes on loopback (inside a network namespace of the test's own, so
//! the fixed ports 3001–3006 can't collide with anything): a broadcast typed
//! into node 1 comes out exactly once on nodes 2–6, and a unicast from 1 to
//! 5 reaches only 5 through exactly the relays the table names (2 and 3),
//! checked through each node's Prometheus metrics.
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::Duration;

use crate::support::http::sample;
use crate::support::netns::Netns;
use crate::support::procs::logs;
use crate::support::upstream::{announce_node_5, broadcast_from_1, spawn_six, unicast_1_to_5};
use crate::support::{kernel_test_unavailable, wait_for};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

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

#[test]
fn six_static_edges_broadcast_once_and_unicast_along_the_table() {
    if kernel_test_unavailable().is_some() {
        return;
    }
    let ns = Netns::new("static");
    let mut nodes = spawn_six(EGD, &ns, "static_mode", metrics_port);
    let all_up = wait_for(Duration::from_secs(20), || {
        (1..=6).all(|i| scrape(&ns, i).is_some()).then_some(())
    });
    assert!(
        all_up.is_some(),
        "every node serves metrics; logs:\n{}",
        logs(&nodes)
    );

    broadcast_from_1(&mut nodes, Duration::from_secs(20));
    announce_node_5(&mut nodes);

    let relayed = |i: u16| {
        sample(
            &scrape(&ns, i).unwrap_or_default(),
            r#"egd_forwarded_packets_total{kind="unicast"}"#,
        )
        .unwrap_or(0.0)
    };
    // Unicast 1 → 5: the table says 1 → 2 → 3 → 5.
    let deltas = unicast_1_to_5(&mut nodes, 2, relayed);
    for i in 1..=6u16 {
        let delta = deltas[usize::from(i) - 1];
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
