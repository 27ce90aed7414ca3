//! Super mode on the simulated network (virtual clock): a supernode and
//! edges that register, measure one-way latencies, and route each direction
//! over its own fastest relay — also with clocks seconds apart; the
//! supernode's liveness, shutdown orders, live peer changes and restart.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use egd::NodeId;
use egd::config::{GraphSettings, SuperPeer};
use egd::control::PROTOCOL_VERSION;
use egd::control::api::{DelPeer, UpdateSuper};
use egd::control::edge::Edge;
use egd::control::edge_sync::EdgeSync;
use egd::control::p2p::P2pSync;
use egd::control::super_core::{SuperCore, SuperCoreConfig, shutdown_code};
use egd::node::{Node, NodeConfig};
use egd::sim::{HostId, Link, Sim, SimEdge};
use egd::wg::PrivateKey;
use egd::wg::keys::{private_key_from_random, public_key};
use egd::wire::control::{Body, Control};
use egd_routing::NextHopTable;

use crate::support::sim::{
    add_supernode, edge_sync_config, frame, ms, n, origin, p2p_config, secs, super_core_config,
    supernode_peer,
};

fn edge_addr(id: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, id as u8], 3000 + id))
}

fn edge_key(id: u16) -> PrivateKey {
    private_key_from_random([id as u8; 32])
}

fn super_peer(id: u16) -> SuperPeer {
    SuperPeer {
        public_key: public_key(&edge_key(id)),
        ..crate::support::sim::super_peer(id)
    }
}

fn core_config() -> SuperCoreConfig {
    super_core_config(GraphSettings {
        jitter_tolerance: ms(5),
        jitter_tolerance_multiplier: 1.01,
        timeout_check_interval: secs(1),
        recalculate_cool_down: secs(1),
        ..GraphSettings::default()
    })
}

struct Net {
    sim: Sim,
    sup: HostId,
    core: Rc<RefCell<SuperCore>>,
    edges: BTreeMap<u16, HostId>,
    /// Edges added from now on also run P2P (the super→P2P fallback).
    with_p2p: bool,
}

impl Net {
    /// A supernode knowing edges `ids`, and those edges (clock offsets in
    /// ms, signed, per id).
    fn new(ids: &[u16], offsets_ms: &[(u16, i64)]) -> Net {
        Net::known_running(ids, ids, offsets_ms)
    }

    /// A supernode knowing edges `ids`, of which only `running` run.
    fn known_running(ids: &[u16], running: &[u16], offsets_ms: &[(u16, i64)]) -> Net {
        let mut sim = Sim::new(7, origin());
        sim.set_default_link(Link::with_delay(ms(10)));
        let core = SuperCore::new(
            core_config(),
            ids.iter().map(|i| super_peer(*i)).collect(),
            sim.now(),
        );
        let (sup, core) = add_supernode(&mut sim, core);
        let mut net = Net {
            sim,
            sup,
            core,
            edges: BTreeMap::new(),
            with_p2p: false,
        };
        for id in running {
            let offset = offsets_ms.iter().find(|(i, _)| i == id).map_or(0, |o| o.1);
            net.add_edge(*id, *id, offset);
        }
        net
    }

    /// An edge with NodeID `id` using `key_of`'s private key.
    fn add_edge(&mut self, id: u16, key_of: u16, offset_ms: i64) -> HostId {
        let cfg = NodeConfig {
            id: n(id),
            private_key: edge_key(key_of),
            peers: vec![supernode_peer()],
            default_ttl: 200,
            l2_fib_timeout: secs(3600),
            max_frame_len: 1418,
            next_hops: NextHopTable::new(),
            dup_check_timeout: secs(40),
            ping_interval: Some(secs(1)),
        };
        let seed = self.sim.seed32();
        let offset = Duration::from_millis(offset_ms.unsigned_abs());
        let host = self
            .sim
            .add_host(edge_addr(id), offset, offset_ms < 0, |now, unix| {
                Node::new(cfg, seed, now, unix)
            });
        let sync = EdgeSync::new(edge_sync_config(id), self.sim.now());
        let p2p = self.with_p2p.then(|| {
            self.sim.with_node(host, |node, now| {
                P2pSync::new(
                    p2p_config(id, core_config().graph, Default::default()),
                    now,
                    node,
                )
            })
        });
        let edge = Edge::new(Some(sync), p2p, FALLBACK_AFTER);
        let edge = SimEdge::with_edge(edge, self.core.clone(), n(id));
        self.sim.set_controller(host, Box::new(edge));
        self.edges.insert(id, host);
        host
    }

    fn host(&self, id: u16) -> HostId {
        self.edges[&id]
    }

    fn next_hop(&self, at: u16, dst: u16) -> Option<u16> {
        let node = &self.sim.host(self.host(at)).node;
        node.next_hops().next_hop(n(at), n(dst)).map(NodeId::get)
    }

    /// One-way delay of the underlay from edge `a` to edge `b`.
    fn delay(&mut self, a: u16, b: u16, d: u64) {
        let (ha, hb) = (self.host(a), self.host(b));
        self.sim.set_link(ha, hb, Link::with_delay(ms(d)));
    }

    fn shutdown_of(&mut self, id: u16) -> Option<(i32, String)> {
        let h = self.host(id);
        self.sim
            .with_controller(h, |c, _, _| {
                c.as_any()
                    .downcast_mut::<SimEdge>()
                    .and_then(|e| e.shutdown.clone())
            })
            .flatten()
    }
}

/// `SuperNodeInfoTimeout` of the edges in the fallback scenario.
const FALLBACK_AFTER: Duration = Duration::from_secs(5);

const A: u16 = 1;
const B: u16 = 2;
const R1: u16 = 3;
const R2: u16 = 4;

/// A→B is fastest via R1, B→A via R2, the direct link slow both ways
/// (every other pair: 50 ms).
fn asymmetric(net: &mut Net) {
    for a in [A, B, R1, R2] {
        for b in [A, B, R1, R2] {
            if a != b {
                net.delay(a, b, 50);
            }
        }
    }
    net.delay(A, R1, 5);
    net.delay(R1, B, 5);
    net.delay(B, R2, 5);
    net.delay(R2, A, 5);
}

/// The mirror image: A→B via R2, B→A via R1.
fn swapped(net: &mut Net) {
    for (a, b) in [(A, R1), (R1, B), (B, R2), (R2, A)] {
        net.delay(a, b, 50);
    }
    net.delay(A, R2, 5);
    net.delay(R2, B, 5);
    net.delay(B, R1, 5);
    net.delay(R1, A, 5);
}

/// Frames A→B and B→A (each side learns the other's MAC first), and the
/// unicast packets R1 and R2 relayed meanwhile.
fn exchange(net: &mut Net, rounds: u32) -> (u64, u64) {
    let fwd = |net: &Net, id: u16| net.sim.host(net.host(id)).node.metrics().forwarded_unicast;
    let (ha, hb) = (net.host(A), net.host(B));
    net.sim.inject_frame(ha, &frame(A, B));
    net.sim.inject_frame(hb, &frame(B, A));
    net.sim.run_for(ms(500));
    let before = (fwd(net, R1), fwd(net, R2));
    let delivered_b = net.sim.host(hb).frames.len();
    for _ in 0..rounds {
        net.sim.inject_frame(ha, &frame(A, B));
        net.sim.run_for(ms(100));
        net.sim.inject_frame(hb, &frame(B, A));
        net.sim.run_for(ms(100));
    }
    assert_eq!(
        net.sim.host(hb).frames.len() - delivered_b,
        rounds as usize,
        "every frame A→B arrives exactly once"
    );
    (fwd(net, R1) - before.0, fwd(net, R2) - before.1)
}

fn check_asymmetric_paths(offsets_ms: &[(u16, i64)]) {
    let mut net = Net::new(&[A, B, R1, R2], offsets_ms);
    asymmetric(&mut net);
    net.sim.run_for(secs(20));
    for id in [A, B, R1, R2] {
        assert!(net.core.borrow().is_online(n(id)), "edge {id} registered");
    }
    assert_eq!(net.next_hop(A, B), Some(R1), "A→B goes via R1");
    assert_eq!(net.next_hop(B, A), Some(R2), "B→A goes via R2");
    let (r1, r2) = exchange(&mut net, 10);
    assert_eq!((r1, r2), (10, 10), "R1 carries A→B, R2 carries B→A");

    swapped(&mut net);
    net.sim.run_for(secs(20));
    assert_eq!(
        net.next_hop(A, B),
        Some(R2),
        "after the swap A→B goes via R2"
    );
    assert_eq!(
        net.next_hop(B, A),
        Some(R1),
        "after the swap B→A goes via R1"
    );
    let (r1, r2) = exchange(&mut net, 10);
    assert_eq!((r1, r2), (10, 10));
}

#[test]
fn each_direction_takes_its_own_fastest_relay_and_follows_changes() {
    check_asymmetric_paths(&[]);
}

#[test]
fn clock_offsets_of_seconds_do_not_change_the_paths() {
    check_asymmetric_paths(&[(A, 3000), (B, -3000), (R1, 1500), (R2, -2500)]);
}

#[test]
fn every_edge_gets_the_same_table_and_acknowledges_it() {
    let mut net = Net::new(&[A, B, R1, R2], &[]);
    asymmetric(&mut net);
    net.sim.run_for(secs(20));
    let table = net.core.borrow().next_hop_table().clone();
    assert!(!table.is_empty());
    for id in [A, B, R1, R2] {
        let node = &net.sim.host(net.host(id)).node;
        assert_eq!(
            node.next_hops().state_hash(),
            table.state_hash(),
            "edge {id}"
        );
    }
    let state = net.core.borrow().state();
    assert_eq!(state.PeerInfo.len(), 4);
    // The latency matrix reflects the underlay (one-way, clocks in sync here).
    let a_r1 = state.Edges[&A][&R1];
    assert!((a_r1 - 0.005).abs() < 0.001, "A→R1 {a_r1}");
    let r1_a = state.Edges[&R1][&A];
    assert!((r1_a - 0.050).abs() < 0.001, "R1→A {r1_a}");
}

#[test]
fn silent_edges_go_offline_and_come_back() {
    let mut net = Net::new(&[A, B], &[]);
    net.sim.run_for(secs(5));
    assert!(net.core.borrow().is_online(n(A)));
    let (ha, sup) = (net.host(A), net.sup);
    net.sim.set_link_both(
        ha,
        sup,
        Link {
            up: false,
            ..Link::default()
        },
    );
    net.sim.run_for(secs(12));
    assert!(
        !net.core.borrow().is_online(n(A)),
        "offline after PeerAliveTimeout"
    );
    assert!(net.core.borrow().is_online(n(B)));
    net.sim.set_link_both(ha, sup, Link::with_delay(ms(10)));
    net.sim.run_for(secs(8));
    assert!(net.core.borrow().is_online(n(A)), "registers again");
}

#[test]
fn deleted_edges_are_ordered_to_shut_down() {
    let mut net = Net::new(&[A, B, R1], &[]);
    net.sim.run_for(secs(5));
    assert!(net.shutdown_of(A).is_none());
    let now = net.sim.now();
    net.core
        .borrow_mut()
        .del_peer(now, &DelPeer::ByPrivateKey(edge_key(A)))
        .unwrap();
    net.sim.run_for(secs(3));
    let (code, reason) = net.shutdown_of(A).expect("shutdown order");
    assert_eq!(code, shutdown_code::DELETED, "{reason}");
    // The others drop A from their peers.
    net.sim.run_for(secs(5));
    let b = &net.sim.host(net.host(B)).node;
    assert!(!b.peer_ids().any(|p| p == n(A)));
    assert!(b.peer_ids().any(|p| p == n(R1)));
}

#[test]
fn a_key_registered_under_another_node_id_is_shut_down() {
    let mut net = Net::known_running(&[A, B], &[B], &[]);
    // NodeID 9 using A's key (A itself is not running).
    net.add_edge(9, A, 0);
    net.sim.run_for(secs(5));
    let (code, reason) = net.shutdown_of(9).expect("shutdown order");
    assert_eq!(code, shutdown_code::NODE_ID_MISMATCH, "{reason}");
}

#[test]
fn a_different_protocol_version_is_shut_down() {
    let mut net = Net::new(&[A, B], &[]);
    net.sim.run_for(secs(3));
    assert!(net.shutdown_of(A).is_none());
    let ha = net.host(A);
    net.sim.with_node(ha, |node, now| {
        let register = Control {
            seq: 0,
            body: Body::Register {
                version: "egd-control-999",
                peer_state: 0,
                nh_state: 0,
                params_state: 0,
                post_count: 0,
            },
        };
        assert_ne!(PROTOCOL_VERSION, "egd-control-999");
        node.send_control(now, NodeId::SUPERNODE_DST, &register);
    });
    net.sim.run_for(secs(1));
    let (code, _) = net.shutdown_of(A).expect("shutdown order");
    assert_eq!(code, shutdown_code::VERSION_MISMATCH);
}

#[test]
fn a_peer_added_live_joins_and_parameters_change_live() {
    let mut net = Net::new(&[A, B], &[]);
    net.sim.run_for(secs(5));
    let now = net.sim.now();
    net.core.borrow_mut().add_peer(now, super_peer(7)).unwrap();
    net.add_edge(7, 7, 0);
    net.core
        .borrow_mut()
        .update_super(&UpdateSuper {
            SendPingInterval: Some(0.5),
            HttpPostInterval: None,
            PeerAliveTimeout: None,
            DampingFilterRadius: None,
        })
        .unwrap();
    net.sim.run_for(secs(15));
    assert!(net.core.borrow().is_online(n(7)));
    assert_eq!(net.next_hop(A, 7), Some(7));
    assert_eq!(net.next_hop(7, B), Some(B));
    // Frames flow between the newcomer and an old edge.
    let (h7, hb) = (net.host(7), net.host(B));
    net.sim.inject_frame(h7, &frame(7, B));
    net.sim.run_for(secs(1));
    assert_eq!(net.sim.host(hb).frames.len(), 1);
    // The faster ping interval reached the edges: more latency samples.
    let pings_before = net.sim.host(hb).events.len();
    net.sim.run_for(secs(2));
    let per_sec = (net.sim.host(hb).events.len() - pings_before) / 2;
    assert!(
        per_sec >= 4,
        "B sees ≥ 2 pings/s from each of 2 peers ({per_sec}/s)"
    );
}

#[test]
fn a_restarted_supernode_loses_no_peer() {
    let mut net = Net::new(&[A, B, R1, R2], &[]);
    asymmetric(&mut net);
    net.sim.run_for(secs(20));
    let peers = net.core.borrow().peers();
    assert_eq!(peers.len(), 4);
    // Restart: a fresh core from the saved peer list, same keys and address.
    let now = net.sim.now();
    let fresh = SuperCore::new(core_config(), peers, now);
    net.core.replace(fresh);
    let sup = net.sup;
    net.sim.with_node(sup, |node, _| {
        for id in [A, B, R1, R2] {
            node.remove_peer(n(id));
        }
    });
    net.sim.with_controller(sup, |c, node, now| {
        c.handle_timeout(now, Duration::ZERO, node)
    });
    net.sim.run_for(secs(30));
    for id in [A, B, R1, R2] {
        assert!(
            net.core.borrow().is_online(n(id)),
            "edge {id} re-registered"
        );
    }
    assert_eq!(net.next_hop(A, B), Some(R1));
    assert_eq!(net.next_hop(B, A), Some(R2));
}

/// Where a frame from `src` to `dst` goes, hop by hop on each edge's own
/// table (no entry: straight to `dst`, as a node does without a route);
/// `Err` with the path if it comes back to a node it left.
fn walk(net: &Net, src: u16, dst: u16) -> Result<Vec<u16>, Vec<u16>> {
    let mut path = vec![src];
    let mut at = src;
    while at != dst {
        let next = net.next_hop(at, dst).unwrap_or(dst);
        if path.contains(&next) {
            path.push(next);
            return Err(path);
        }
        path.push(next);
        at = next;
    }
    Ok(path)
}

/// Each edge's table hash.
fn table_hashes(net: &Net) -> BTreeMap<u16, u64> {
    [A, B, R1, R2]
        .iter()
        .map(|&id| {
            let node = &net.sim.host(net.host(id)).node;
            (id, node.next_hops().state_hash().0)
        })
        .collect()
}

/// The supernode is gone (links down) for `dead`, then a fresh core starts
/// from the same peers, keys and address (as `kill -9` and a restart).
fn restart_supernode(net: &mut Net, dead: Duration) {
    let sup = net.sup;
    let hosts: Vec<HostId> = [A, B, R1, R2].iter().map(|id| net.host(*id)).collect();
    let down = Link {
        up: false,
        ..Link::default()
    };
    for &h in &hosts {
        net.sim.set_link_both(h, sup, down);
    }
    net.sim.run_for(dead);
    let peers = net.core.borrow().peers();
    let now = net.sim.now();
    net.core.replace(SuperCore::new(core_config(), peers, now));
    net.sim.with_node(sup, |node, _| {
        for id in [A, B, R1, R2] {
            node.remove_peer(n(id));
        }
    });
    for &h in &hosts {
        net.sim.set_link_both(h, sup, Link::with_delay(ms(10)));
    }
    net.sim.with_controller(sup, |c, node, now| {
        c.handle_timeout(now, Duration::ZERO, node)
    });
}

/// A restarted supernode hears the edges register one by one and their
/// links reported pair by pair; a table solved meanwhile (A→B direct, or
/// R1→B back via A) reached edges still on their old tables and made A↔R1
/// loops in `tests/netns/faults.rs`. Now the edges keep their tables until
/// every pair of online edges has reported: sampled every 10 ms through the
/// restart, no edge's table changes and no frame between any two edges can
/// loop; the warm-up ends well before its 2 s cap.
#[test]
fn a_restarted_supernode_pushes_no_table_from_a_partial_matrix() {
    let mut net = Net::new(&[A, B, R1, R2], &[]);
    asymmetric(&mut net);
    net.sim.run_for(secs(20));
    let before = table_hashes(&net);
    let table = net.core.borrow().next_hop_table().state_hash().0;
    assert!(
        before.values().all(|h| *h == table),
        "converged: {before:?}"
    );
    assert_eq!(net.next_hop(A, B), Some(R1));
    assert_eq!(net.next_hop(B, A), Some(R2));

    restart_supernode(&mut net, secs(14));
    let start = net.sim.now();
    let mut first_online = None;
    let mut warm_after = None;
    let mut seen: Vec<String> = Vec::new();
    while net.sim.now() < start + secs(30) {
        net.sim.run_for(ms(10));
        let t = net.sim.now() - start;
        let core = net.core.borrow();
        let online: Vec<u16> = [A, B, R1, R2]
            .into_iter()
            .filter(|&id| core.is_online(n(id)))
            .collect();
        if first_online.is_none() && !online.is_empty() {
            first_online = Some(t);
        }
        if warm_after.is_none() && !core.warming_up() {
            warm_after = Some(t);
        }
        drop(core);
        let now = table_hashes(&net);
        if now != before {
            seen.push(format!("{t:?}: online {online:?}, tables {now:?}"));
        }
        for src in [A, B, R1, R2] {
            for dst in [A, B, R1, R2] {
                if src != dst
                    && let Err(path) = walk(&net, src, dst)
                {
                    panic!("{t:?}: {src}→{dst} loops: {path:?} (online {online:?})");
                }
            }
        }
    }
    assert!(
        seen.is_empty(),
        "no edge got a table from a partial matrix (before: {before:?}):\n{}",
        seen.join("\n")
    );
    for id in [A, B, R1, R2] {
        assert!(net.core.borrow().is_online(n(id)), "edge {id} is back");
    }
    let (first, warm) = (first_online.unwrap(), warm_after.unwrap());
    eprintln!("first Register after {first:?}, warm-up over after {warm:?}");
    assert!(
        warm < first + secs(2),
        "complete before the 2 s cap: first Register {first:?}, warm {warm:?}"
    );
    assert_eq!(
        net.core.borrow().next_hop_table().state_hash().0,
        table,
        "the restarted supernode solves the same table"
    );
    assert_eq!(net.next_hop(A, B), Some(R1));
    assert_eq!(net.next_hop(B, A), Some(R2));
}

/// The hold has a cap: with the direct link A↔B dead both ways that pair
/// never reports, and the tables of a freshly started network go out
/// 2 × SendPingInterval (2 s) after the first Register; later Registers do
/// not prolong it.
#[test]
fn the_warm_up_ends_two_ping_intervals_after_the_first_register() {
    let mut net = Net::new(&[A, B, R1, R2], &[]);
    asymmetric(&mut net);
    let down = Link {
        up: false,
        ..Link::default()
    };
    let (ha, hb) = (net.host(A), net.host(B));
    net.sim.set_link_both(ha, hb, down);
    let start = net.sim.now();
    let mut first_online = None;
    let mut warm_after = None;
    let mut first_table = None;
    while net.sim.now() < start + secs(10) {
        net.sim.run_for(ms(10));
        let t = net.sim.now() - start;
        let core = net.core.borrow();
        if first_online.is_none() && [A, B, R1, R2].iter().any(|&id| core.is_online(n(id))) {
            first_online = Some(t);
        }
        if warm_after.is_none() && !core.warming_up() {
            warm_after = Some(t);
        }
        drop(core);
        if first_table.is_none() && net.next_hop(A, B).is_some() {
            first_table = Some(t);
        }
    }
    let first = first_online.expect("an edge registered");
    let warm = warm_after.expect("the warm-up ended");
    let table = first_table.expect("A got a table");
    eprintln!("first Register {first:?}, warm-up over {warm:?}, A's first table {table:?}");
    assert!(
        warm >= first + secs(2) - ms(10) && warm <= first + secs(2) + ms(10),
        "the cap is 2 s after the first Register ({first:?}): {warm:?}"
    );
    assert!(table >= warm, "no table before the hold ends");
    assert!(table <= warm + ms(100), "tables right after it: {table:?}");
    assert_eq!(net.next_hop(A, B), Some(R1));
    assert_eq!(net.next_hop(B, A), Some(R2));
}

#[test]
fn frames_flow_directly_before_the_first_table_arrives() {
    let mut net = Net::new(&[A, B], &[]);
    // Registered and peers known, but no latency measured yet: no table.
    net.sim.run_for(ms(300));
    assert_eq!(net.next_hop(A, B), None);
    let (ha, hb) = (net.host(A), net.host(B));
    let mut broadcast = frame(A, B);
    broadcast[..6].copy_from_slice(&[0xff; 6]);
    net.sim.inject_frame(ha, &broadcast);
    net.sim.run_for(ms(200));
    net.sim.inject_frame(ha, &frame(A, B));
    net.sim.run_for(ms(200));
    assert_eq!(
        net.sim.host(hb).frames.len(),
        2,
        "broadcast and unicast arrive once each"
    );
}

/// Whether each edge routes on its own P2P table.
fn p2p_active(net: &mut Net) -> Vec<bool> {
    let hosts: Vec<HostId> = [A, B, R1, R2].iter().map(|id| net.host(*id)).collect();
    hosts
        .into_iter()
        .map(|h| {
            net.sim
                .with_controller(h, |c, _, _| {
                    c.as_any()
                        .downcast_mut::<SimEdge>()
                        .and_then(|e| e.edge.p2p().map(P2pSync::is_active))
                })
                .flatten()
                .unwrap()
        })
        .collect()
}

/// Sends a frame A→B every 100 ms for `d`; returns (sent, arrived).
fn flow(net: &mut Net, d: Duration) -> (usize, usize) {
    let (ha, hb) = (net.host(A), net.host(B));
    let before = net.sim.host(hb).frames.len();
    let mut sent = 0;
    let end = net.sim.now() + d;
    while net.sim.now() < end {
        net.sim.inject_frame(ha, &frame(A, B));
        sent += 1;
        net.sim.run_for(ms(100));
    }
    net.sim.run_for(ms(500));
    (sent, net.sim.host(hb).frames.len() - before)
}

#[test]
fn a_silent_supernode_hands_routing_to_p2p_and_takes_it_back() {
    let mut net = Net::known_running(&[A, B, R1, R2], &[], &[]);
    net.with_p2p = true;
    for id in [A, B, R1, R2] {
        net.add_edge(id, id, 0);
    }
    asymmetric(&mut net);
    net.sim.run_for(secs(15));
    assert_eq!(
        p2p_active(&mut net),
        [false; 4],
        "the supernode's tables rule"
    );
    assert_eq!(net.next_hop(A, B), Some(R1));
    // B learns A's MAC first, so the flow below is unicast.
    let hb = net.host(B);
    net.sim.inject_frame(hb, &frame(B, A));
    net.sim.run_for(ms(300));

    // The supernode goes silent: every edge switches within the timeout,
    // and the flow A→B never stops.
    let sup = net.sup;
    for id in [A, B, R1, R2] {
        let h = net.host(id);
        net.sim.set_link_both(
            h,
            sup,
            Link {
                up: false,
                ..Link::default()
            },
        );
    }
    let (sent, arrived) = flow(&mut net, FALLBACK_AFTER + secs(2));
    assert_eq!(arrived, sent, "no frame lost while the supernode goes away");
    assert_eq!(
        p2p_active(&mut net),
        [true; 4],
        "P2P within SuperNodeInfoTimeout"
    );
    // Routing keeps following the network on the edges' own tables.
    swapped(&mut net);
    net.sim.run_for(secs(5));
    assert_eq!(net.next_hop(A, B), Some(R2), "P2P follows the swap");
    assert_eq!(net.next_hop(B, A), Some(R1));

    // The supernode returns: back to its tables, without losing frames.
    for id in [A, B, R1, R2] {
        let h = net.host(id);
        net.sim.set_link_both(h, sup, Link::with_delay(ms(10)));
    }
    let (sent, arrived) = flow(&mut net, secs(8));
    assert_eq!(arrived, sent, "no frame lost while switching back");
    assert_eq!(p2p_active(&mut net), [false; 4]);
    assert_eq!(net.next_hop(A, B), Some(R2), "the supernode has caught up");
}

#[test]
fn a_dead_link_is_routed_around_within_a_second() {
    let mut net = Net::new(&[A, B, R1, R2], &[]);
    asymmetric(&mut net);
    net.sim.run_for(secs(15));
    assert_eq!(net.next_hop(A, B), Some(R1));
    let (ha, hb, hr1) = (net.host(A), net.host(B), net.host(R1));
    net.sim.inject_frame(hb, &frame(B, A));
    net.sim.run_for(ms(300));
    // A flow A→B every 50 ms; after 1 s the link A→R1 dies (one way).
    let before = net.sim.host(hb).frames.len();
    let steps = 100;
    let cut_at = 20;
    for i in 0..steps {
        if i == cut_at {
            net.sim.set_link(
                ha,
                hr1,
                Link {
                    up: false,
                    ..Link::default()
                },
            );
        }
        net.sim.inject_frame(ha, &frame(A, B));
        net.sim.run_for(ms(50));
    }
    net.sim.run_for(ms(500));
    let arrived = net.sim.host(hb).frames.len() - before;
    let lost = steps - arrived;
    assert!(lost <= 20, "lost {lost} frames (1 s of the flow is 20)");
    assert_ne!(net.next_hop(A, B), Some(R1), "routed around the dead link");
}
