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

mod common;

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::procs::Proc;
use common::wait_for;
use egd::keys::{private_key_from_random, public_key};

const EGD: &str = env!("CARGO_BIN_EXE_egd");
const PREFIX: &str = "/egd_test/api";
/// Longest wait for a series to appear or disappear (P2P: a removed
/// peer's latencies expire from the graph after 2 × PeerAliveTimeout, then
/// the exporter's idle timeout).
const WAIT: Duration = Duration::from_secs(45);

/// A port free for both UDP and TCP on loopback right now.
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn key(n: u16) -> egd::config::PrivateKey {
    private_key_from_random([(n as u8).wrapping_mul(29).wrapping_add(3); 32])
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn(config: &Path) -> Proc {
    let mut cmd = Command::new(EGD);
    cmd.args(["--no-uapi", "--bind", "std", "--config"])
        .arg(config);
    Proc::spawn(cmd)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .new_agent()
}

/// The exposition at `127.0.0.1:port/metrics`, if it answers.
fn scrape(port: u16) -> Option<String> {
    let mut r = agent()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .call()
        .ok()?;
    (r.status().as_u16() == 200).then(|| r.body_mut().read_to_string().unwrap_or_default())
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

fn super_yaml(udp: u16, api: u16, metrics: u16, peers: &[u16]) -> String {
    let mut peer_yaml = String::new();
    for id in peers {
        peer_yaml.push_str(&format!(
            "- NodeID: {id}\n  Name: edge{id}\n  PubKey: {}\n  PSKey: \"\"\n  AdditionalCost: 1\n  SkipLocalIP: true\n  EndPoint: \"\"\n",
            public_key(&key(*id)).to_base64()
        ));
    }
    format!(
        "NodeName: super
PrivKeyV4: {}
PrivKeyV6: {}
ListenPort: {udp}
ListenPort_EdgeAPI: \"{api}\"
ListenPort_ManageAPI: \"{api}\"
API_Prefix: {PREFIX}
RePushConfigInterval: 1
HttpPostInterval: 1
PeerAliveTimeout: 6
SendPingInterval: 1
DampingFilterRadius: 0
DisabledAf:
  IPv6: true
LogLevel:
  LogLevel: info
Metrics:
  Listen: 127.0.0.1:{metrics}
Passwords:
  ShowState: show-secret
  AddPeer: add-secret
  DelPeer: del-secret
  UpdatePeer: upd-secret
  UpdateSuper: sup-secret
GraphRecalculateSetting:
  JitterTolerance: 5
  JitterToleranceMultiplier: 1
  TimeoutCheckInterval: 1
  RecalculateCoolDown: 1
UsePSKForInterEdge: true
Peers:
{peer_yaml}",
        key(200).to_base64(),
        key(201).to_base64(),
    )
}

fn super_edge_yaml(id: u16, udp: u16, api: u16, metrics: u16) -> String {
    format!(
        "Interface:
  IType: dummy
  Name: egd-mp{id}
  MTU: 1400
NodeID: {id}
NodeName: edge{id}
PrivKey: {}
ListenPort: 0
DisabledAf:
  IPv6: true
LogLevel:
  LogLevel: info
Metrics:
  Listen: 127.0.0.1:{metrics}
DynamicRoute:
  SendPingInterval: 1
  PeerAliveTimeout: 6
  ConnNextTry: 1
  SaveNewPeers: false
  SuperNode:
    UseSuperNode: true
    EndpointV4: 127.0.0.1:{udp}
    PubKeyV4: {}
    EndpointV6: \"\"
    PubKeyV6: {}
    EndpointEdgeAPIUrl: http://127.0.0.1:{api}{PREFIX}
    SkipLocalIP: true
Peers: []
",
        key(id).to_base64(),
        public_key(&key(200)).to_base64(),
        public_key(&key(201)).to_base64(),
    )
}

#[test]
fn a_peer_deleted_through_the_manage_api_leaves_metrics_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, api, super_metrics) = (free_port(), free_port(), free_port());
    let super_path = write(
        dir.path(),
        "super.yaml",
        &super_yaml(udp, api, super_metrics, &[1, 2, 3]),
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
                &super_edge_yaml(*id, udp, api, *m),
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

    let (status, body) = {
        let r = agent()
            .post(format!("http://127.0.0.1:{api}{PREFIX}/manage/peer/del"))
            .header("Authorization", "Bearer del-secret")
            .send_form([("NodeID", "3")]);
        let mut r = r.unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
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
