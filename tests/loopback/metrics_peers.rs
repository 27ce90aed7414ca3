//! `/metrics` forgets a peer that is gone (the Prometheus convention: a
//! labelled child that no longer exists is no longer exported). Real
//! processes on loopback, dummy interfaces, scraped over HTTP:
//!
//! - super mode: a peer deleted through the Manage API (`peer/del`) loses
//!   its `peer`, `src`/`dst` series on the supernode and on the edges, which
//!   drop it from their peer lists; the other peers' series stay;
//! - P2P mode: a peer removed from an edge's config by a reload (SIGHUP)
//!   loses its `peer` series, its one-way latencies (once they expire from
//!   the edge's graph) and its next hop.
//!
//! Series are dropped once they have not been set for
//! `metrics::IDLE_TIMEOUT` (10 s), so each wait below allows 45 s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::time::{Duration, Instant};

use crate::support::loopback::{free_port, get_ok, post, write};
use crate::support::procs::Proc;
use crate::support::supernode::{Passwords, SuperPeer, Supernode};
use crate::support::wait_for;
use egd::wg::keys::{private_key_from_random, public_key};

const EGD: &str = env!("CARGO_BIN_EXE_egd");
const PREFIX: &str = "/egd_test/api";
/// Longest wait for a series to appear or disappear (P2P: a removed
/// peer's latencies expire from the graph after 2 × PeerAliveTimeout, then
/// the exporter's idle timeout).
const WAIT: Duration = Duration::from_secs(45);

fn key(n: u16) -> egd::wg::PrivateKey {
    private_key_from_random([(n as u8).wrapping_mul(29).wrapping_add(3); 32])
}

fn spawn(config: &std::path::Path) -> Proc {
    crate::support::loopback::spawn(EGD, &["--no-uapi", "--bind", "std"], config)
}

/// The exposition at `127.0.0.1:port/metrics`, if it answers.
fn scrape(port: u16) -> Option<String> {
    get_ok(&format!("http://127.0.0.1:{port}/metrics"), None)
}

/// The sample lines that carry any of `labels` (e.g. `peer="3"`).
fn lines_with(text: &str, labels: &[String]) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && labels.iter().any(|lab| l.contains(lab.as_str())))
        .map(str::to_owned)
        .collect()
}

/// Every label by which a series can belong to node `id`.
fn labels_of(id: u16) -> Vec<String> {
    ["peer", "src", "dst"]
        .iter()
        .map(|k| format!("{k}=\"{id}\""))
        .collect()
}

/// Waits until the exposition at `port` has every series in `want`.
fn await_series(port: u16, want: &[String], what: &str, logs: &dyn Fn() -> String) {
    let found = wait_for(WAIT, || {
        let text = scrape(port)?;
        want.iter()
            .all(|w| text.lines().any(|l| l.starts_with(w.as_str())))
            .then_some(())
    });
    assert!(
        found.is_some(),
        "{what}: {want:?} in\n{}\n{}",
        scrape(port).unwrap_or_default(),
        logs()
    );
}

/// Waits until no series at `port` belongs to node `gone`; returns how
/// long that took.
fn await_gone(port: u16, gone: u16, what: &str, logs: &dyn Fn() -> String) -> Duration {
    let start = Instant::now();
    let done = wait_for(WAIT, || {
        let text = scrape(port)?;
        lines_with(&text, &labels_of(gone)).is_empty().then_some(())
    });
    assert!(
        done.is_some(),
        "{what}: node {gone}'s series are still exported after {WAIT:?}:\n{}\n{}",
        lines_with(&scrape(port).unwrap_or_default(), &labels_of(gone)).join("\n"),
        logs()
    );
    start.elapsed()
}

/// The supernode (keys 200 and 201, PeerAliveTimeout 6) at these ports.
fn supernode(udp: u16, api: u16) -> Supernode {
    Supernode::new(udp, api, PREFIX, [&key(200), &key(201)], 6)
}

/// `Metrics:` listening on `port`, a top-level block of either config.
fn metrics_block(port: u16) -> String {
    format!("Metrics:\n  Listen: 127.0.0.1:{port}\n")
}

fn super_yaml(sn: &Supernode, metrics: u16, peers: &[u16]) -> String {
    let peers: Vec<SuperPeer> = peers
        .iter()
        .map(|&id| SuperPeer {
            id: id as u8,
            name: format!("edge{id}"),
            public_key: public_key(&key(id)).to_base64(),
            psk: "\"\"".into(),
        })
        .collect();
    let passwords = Passwords {
        show_state: "show-secret",
        add_peer: "add-secret",
        del_peer: "del-secret",
        update_peer: "upd-secret",
        update_super: "sup-secret",
    };
    sn.config(&passwords, &peers, &metrics_block(metrics))
}

fn super_edge_yaml(sn: &Supernode, id: u16, metrics: u16) -> String {
    let name = format!("edge{id}");
    let edge = sn.edge(
        id as u8,
        &format!("egd-mp{id}"),
        &name,
        &key(id).to_base64(),
        None,
    );
    edge + &metrics_block(metrics)
}

#[test]
fn a_peer_deleted_through_the_manage_api_leaves_metrics_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, api, super_metrics) = (free_port(), free_port(), free_port());
    let sn = supernode(udp, api);
    let super_path = write(
        dir.path(),
        "super.yaml",
        &super_yaml(&sn, super_metrics, &[1, 2, 3]),
    );
    let supernode = spawn(&super_path);
    let edge_metrics: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let edges: Vec<Proc> = [1u16, 2, 3]
        .iter()
        .zip(&edge_metrics)
        .map(|(id, m)| {
            let path = write(
                dir.path(),
                &format!("edge{id}.yaml"),
                &super_edge_yaml(&sn, *id, *m),
            );
            spawn(&path)
        })
        .collect();
    let logs = || {
        format!(
            "supernode:\n{}\nedges:\n{}",
            supernode.log(),
            edges
                .iter()
                .map(Proc::log)
                .collect::<Vec<_>>()
                .join("\n---\n")
        )
    };
    let series = |name: &str, labels: &str| format!("{name}{{{labels}}}");
    // Everyone has measured and counted everyone.
    let on_super: Vec<String> = [2, 3]
        .iter()
        .flat_map(|id| {
            [
                series("egd_peer_rx_packets_total", &format!("peer=\"{id}\"")),
                series(
                    "egd_oneway_latency_seconds",
                    &format!("src=\"1\",dst=\"{id}\""),
                ),
                series("egd_super_next_hop", &format!("src=\"1\",dst=\"{id}\"")),
            ]
        })
        .collect();
    await_series(super_metrics, &on_super, "supernode before", &logs);
    let on_edge1: Vec<String> = [2, 3]
        .iter()
        .flat_map(|id| {
            [
                series("egd_peer_rx_packets_total", &format!("peer=\"{id}\"")),
                series("egd_handshakes_total", &format!("peer=\"{id}\"")),
                series(
                    "egd_oneway_latency_seconds",
                    &format!("src=\"{id}\",dst=\"1\""),
                ),
                series("egd_next_hop", &format!("dst=\"{id}\"")),
            ]
        })
        .collect();
    await_series(edge_metrics[0], &on_edge1, "edge 1 before", &logs);

    let (status, body) = post(
        &sn.url("manage/peer/del"),
        Some("del-secret"),
        &[("NodeID", "3")],
    );
    assert_eq!(status, 200, "peer/del: {body}");
    let on_super_after = await_gone(super_metrics, 3, "supernode", &logs);
    let on_edge1_after = await_gone(edge_metrics[0], 3, "edge 1", &logs);
    let on_edge2_after = await_gone(edge_metrics[1], 3, "edge 2", &logs);
    eprintln!(
        "node 3's series gone after {on_super_after:?} (supernode), \
         then {on_edge1_after:?} (edge 1), {on_edge2_after:?} (edge 2)"
    );
    // Only node 3 went: the others' series are still exported.
    let keep_super: Vec<String> = on_super
        .iter()
        .filter(|s| !s.contains("\"3\""))
        .cloned()
        .collect();
    await_series(super_metrics, &keep_super, "supernode after", &logs);
    let keep_edge1: Vec<String> = on_edge1
        .iter()
        .filter(|s| !s.contains("\"3\""))
        .cloned()
        .collect();
    await_series(edge_metrics[0], &keep_edge1, "edge 1 after", &logs);
}

fn p2p_edge_yaml(id: u16, port: u16, metrics: u16, peers: &[(u16, u16)]) -> String {
    let mut peer_yaml = if peers.is_empty() {
        " []".to_owned()
    } else {
        String::new()
    };
    for (peer, peer_port) in peers {
        peer_yaml.push_str(&format!(
            "\n- NodeID: {peer}\n  PubKey: {}\n  EndPoint: 127.0.0.1:{peer_port}",
            public_key(&key(*peer)).to_base64()
        ));
    }
    format!(
        "Interface:
  IType: dummy
  Name: egd-mq{id}
  MTU: 1400
NodeID: {id}
NodeName: p{id}
PrivKey: {}
ListenPort: {port}
DisabledAf:
  IPv6: true
LogLevel:
  LogLevel: info
Metrics:
  Listen: 127.0.0.1:{metrics}
DynamicRoute:
  SendPingInterval: 1
  PeerAliveTimeout: 3
  AdditionalCost: 1
  P2P:
    UseP2P: true
    GraphRecalculateSetting:
      RecalculateCoolDown: 1
Peers:{peer_yaml}",
        key(id).to_base64(),
    )
}

/// Two P2P edges (a third would learn node 3 through P2P and tell edge 1
/// about it again): edge 1's reload drops node 3, which keeps running but
/// can no longer reach edge 1.
#[test]
fn a_peer_removed_by_a_reload_leaves_the_edges_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (p1, p3) = ((free_port(), free_port()), (free_port(), free_port()));
    let path1 = write(
        dir.path(),
        "p1.yaml",
        &p2p_edge_yaml(1, p1.0, p1.1, &[(3, p3.0)]),
    );
    let path3 = write(
        dir.path(),
        "p3.yaml",
        &p2p_edge_yaml(3, p3.0, p3.1, &[(1, p1.0)]),
    );
    let edges = [spawn(&path1), spawn(&path3)];
    let logs = || {
        edges
            .iter()
            .map(Proc::log)
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    let before = [
        "egd_peer_rx_packets_total{peer=\"3\"}",
        "egd_handshakes_total{peer=\"3\"}",
        "egd_oneway_latency_seconds{src=\"3\",dst=\"1\"}",
        "egd_oneway_latency_seconds{src=\"1\",dst=\"3\"}",
        "egd_next_hop{dst=\"3\"}",
    ]
    .map(str::to_owned);
    await_series(p1.1, &before, "edge 1 before", &logs);

    std::fs::write(&path1, p2p_edge_yaml(1, p1.0, p1.1, &[])).unwrap();
    edges[0].signal("HUP");
    let after = await_gone(p1.1, 3, "edge 1 after the reload", &logs);
    eprintln!("node 3's series gone from edge 1 {after:?} after the reload");
    // Edge 1 still exports its own series.
    await_series(
        p1.1,
        &["egd_delivered_packets_total".to_owned()],
        "edge 1 after the reload",
        &logs,
    );
}
