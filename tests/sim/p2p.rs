//! P2P mode on the simulated network (virtual clock): edges flood their
//! one-way latency reports, exchange peers and each solve their own graph.
//! A 30-node random mesh with asymmetric delays and 5 % loss converges to
//! the optimal per-direction routes (checked against the solver on the true
//! delays), every edge holds the same table, a partition heals, a late
//! joiner learns everything, and floods neither loop nor grow.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeSet;
use std::time::Duration;

use egd::NodeId;
use egd::config::GraphSettings;
use egd::control::p2p::{P2pConfig, P2pSync};
use egd::drop::DropReason;
use egd::node::{Node, PeerConfig};
use egd::sim::{HostId, Link, Sim, SimP2p};
use egd::wg::keys::public_key;
use egd_routing::{DenseGraph, Latency, NextHopTable, solve};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::support::sim::{addr, key, ms, n, node_config, p2p_peers, secs, sim_without_links};

const PING: Duration = Duration::from_secs(1);

fn p2p_config(id: u16) -> P2pConfig {
    P2pConfig {
        node_id: n(id),
        additional_cost: ms(1),
        report_interval: PING,
        send_peer_interval: secs(5),
        peer_alive_timeout: secs(10),
        next_hop_table: Default::default(),
        graph: GraphSettings {
            jitter_tolerance: ms(1),
            jitter_tolerance_multiplier: 1.0,
            timeout_check_interval: secs(1),
            recalculate_cool_down: ms(500),
            ..GraphSettings::default()
        },
        damping_filter_radius: 0,
        families: egd::control::endpoints::FamilyPolicy::default(),
    }
}

struct Mesh {
    sim: Sim,
    hosts: Vec<(u16, HostId)>,
    /// True one-way delays of the links that are up, (src, dst) → ms.
    delays: Vec<((u16, u16), u64)>,
}

impl Mesh {
    fn new(seed: u64) -> Mesh {
        let sim = sim_without_links(seed);
        Mesh {
            sim,
            hosts: Vec::new(),
            delays: Vec::new(),
        }
    }

    fn host(&self, id: u16) -> HostId {
        self.hosts.iter().find(|(i, _)| *i == id).unwrap().1
    }

    /// Adds edge `id` knowing `neighbours` (keys and endpoints, as a P2P
    /// config's `Peers:` does).
    fn add(&mut self, id: u16, neighbours: &[u16]) {
        let cfg = node_config(id, p2p_peers(neighbours), PING);
        let seed = self.sim.seed32();
        let h = self
            .sim
            .add_host(addr(id), Duration::ZERO, false, |now, unix| {
                Node::new(cfg, seed, now, unix)
            });
        let p2p = self
            .sim
            .with_node(h, |node, now| P2pSync::new(p2p_config(id), now, node));
        self.sim.set_controller(h, Box::new(SimP2p::new(p2p)));
        self.hosts.push((id, h));
    }

    /// The link a→b with `delay_ms` one way (and `loss`).
    fn link(&mut self, a: u16, b: u16, delay_ms: u64, loss: f64) {
        let (ha, hb) = (self.host(a), self.host(b));
        self.sim.set_link(
            ha,
            hb,
            Link {
                loss,
                ..Link::with_delay(ms(delay_ms))
            },
        );
        self.delays.retain(|(k, _)| *k != (a, b));
        self.delays.push(((a, b), delay_ms));
    }

    fn cut(&mut self, a: u16, b: u16) {
        let (ha, hb) = (self.host(a), self.host(b));
        self.sim.set_link(
            ha,
            hb,
            Link {
                up: false,
                ..Link::default()
            },
        );
        self.delays.retain(|(k, _)| *k != (a, b));
    }

    /// Next hops the solver gives on the true delays (+1 ms additional cost
    /// per transit node), for the nodes in `ids`.
    fn optimal(&self, ids: &[u16]) -> NextHopTable {
        let mut g = DenseGraph::new(ids.iter().map(|i| n(*i)));
        for &i in ids {
            g.set_additional_cost(n(i), Latency::from_micros(1000).unwrap())
                .unwrap();
        }
        for ((a, b), d) in &self.delays {
            if ids.contains(a) && ids.contains(b) {
                let l = Latency::from_micros(i64::try_from(*d).unwrap() * 1000).unwrap();
                g.set_edge(n(*a), n(*b), Some(l)).unwrap();
            }
        }
        solve(&g).unwrap().next_hop_table()
    }

    fn table(&self, id: u16) -> NextHopTable {
        self.sim.host(self.host(id)).node.next_hops().clone()
    }

    /// Checks every node among `ids` routes as the solver on the true
    /// delays says (for destinations among `ids`).
    fn assert_optimal(&self, ids: &[u16], what: &str) {
        let want = self.optimal(ids);
        let mut wrong = Vec::new();
        for &src in ids {
            let have = self.table(src);
            for &dst in ids.iter().filter(|d| **d != src) {
                let (h, w) = (have.next_hop(n(src), n(dst)), want.next_hop(n(src), n(dst)));
                if h != w {
                    wrong.push(format!("{src}→{dst}: {h:?} (optimal {w:?})"));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{what}: {} wrong next hops: {wrong:?}",
            wrong.len()
        );
    }

    fn assert_same_tables(&self, ids: &[u16]) {
        let hashes: BTreeSet<u64> = ids.iter().map(|i| self.table(*i).state_hash().0).collect();
        assert_eq!(hashes.len(), 1, "every edge holds the same table");
    }
}

/// `count` nodes, each linked to ~`degree` random others (plus a ring so it
/// is connected), delays 5–100 ms per direction, independently.
fn random_mesh(count: u16, degree: u16, loss: f64, seed: u64) -> Mesh {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pairs: BTreeSet<(u16, u16)> = BTreeSet::new();
    for a in 1..=count {
        let b = a % count + 1;
        pairs.insert((a.min(b), a.max(b)));
        for _ in 0..degree / 2 {
            let b = (rng.next_u32() % u32::from(count)) as u16 + 1;
            if a != b {
                pairs.insert((a.min(b), a.max(b)));
            }
        }
    }
    let mut mesh = Mesh::new(seed);
    for id in 1..=count {
        let neighbours: Vec<u16> = pairs
            .iter()
            .filter_map(|&(a, b)| (a == id).then_some(b).or((b == id).then_some(a)))
            .collect();
        mesh.add(id, &neighbours);
    }
    for (a, b) in pairs {
        let ab = 5 + u64::from(rng.next_u32() % 96);
        let ba = 5 + u64::from(rng.next_u32() % 96);
        mesh.link(a, b, ab, loss);
        mesh.link(b, a, ba, loss);
    }
    mesh
}

#[test]
fn thirty_nodes_with_loss_converge_to_the_optimal_routes_per_direction() {
    let mut mesh = random_mesh(30, 4, 0.05, 11);
    mesh.sim.run_for(secs(30));
    let ids: Vec<u16> = (1..=30).collect();
    mesh.assert_same_tables(&ids);
    mesh.assert_optimal(&ids, "after 30 s");
    // Some pair must route differently in its two directions, or the test
    // would not show per-direction routing.
    let t = mesh.table(1);
    let asymmetric = ids.iter().any(|&a| {
        ids.iter().any(|&b| {
            a != b
                && t.path(n(a), n(b)).ok().map(|mut p| {
                    p.reverse();
                    p
                }) != t.path(n(b), n(a)).ok()
        })
    });
    assert!(asymmetric, "some pair takes different paths each way");
    // Floods are bounded: duplicates are dropped, nothing loops (TTL).
    for (_, h) in &mesh.hosts {
        let m = mesh.sim.host(*h).node.metrics();
        assert_eq!(m.dropped_for(DropReason::TtlExpired), 0);
        assert_eq!(m.dropped_for(DropReason::DedupFull), 0);
    }
    let dups: u64 = mesh
        .hosts
        .iter()
        .map(|(_, h)| {
            mesh.sim
                .host(*h)
                .node
                .metrics()
                .dropped_for(DropReason::DuplicateFlood)
        })
        .sum();
    assert!(
        dups > 0,
        "redundant flood copies are recognised and dropped"
    );
}

#[test]
fn a_changed_delay_reroutes_everyone_within_three_ping_intervals() {
    let mut mesh = random_mesh(12, 4, 0.0, 5);
    mesh.sim.run_for(secs(20));
    let ids: Vec<u16> = (1..=12).collect();
    mesh.assert_optimal(&ids, "before");
    // Make one direction of every link out of node 1 slow.
    let out: Vec<(u16, u16)> = mesh
        .delays
        .iter()
        .map(|(k, _)| *k)
        .filter(|(a, _)| *a == 1)
        .collect();
    for (a, b) in out {
        mesh.link(a, b, 400, 0.0);
    }
    mesh.sim.run_for(PING * 3);
    mesh.assert_same_tables(&ids);
    mesh.assert_optimal(&ids, "3 ping intervals after the change");
}

#[test]
fn a_partition_heals_and_reconverges() {
    let mut mesh = random_mesh(12, 4, 0.0, 7);
    mesh.sim.run_for(secs(20));
    let ids: Vec<u16> = (1..=12).collect();
    mesh.assert_optimal(&ids, "before the partition");
    let saved = mesh.delays.clone();
    let (left, right): (Vec<u16>, Vec<u16>) = ids.iter().partition(|i| **i <= 6);
    let crossing: Vec<(u16, u16)> = saved
        .iter()
        .map(|(k, _)| *k)
        .filter(|(a, b)| left.contains(a) != left.contains(b))
        .collect();
    for (a, b) in &crossing {
        mesh.cut(*a, *b);
    }
    // Reports of the far side expire (PeerAliveTimeout) and each side
    // routes within itself.
    mesh.sim.run_for(secs(25));
    // Each side is internally connected only if the ring inside holds;
    // check the sides that are.
    for side in [&left, &right] {
        let connected = mesh.optimal(side).len() == side.len() * (side.len() - 1);
        if connected {
            mesh.assert_optimal(side, "during the partition");
        }
    }
    for ((a, b), d) in saved.iter().filter(|(k, _)| crossing.contains(k)) {
        mesh.link(*a, *b, *d, 0.0);
    }
    mesh.sim.run_for(secs(20));
    mesh.assert_same_tables(&ids);
    mesh.assert_optimal(&ids, "after healing");
}

#[test]
fn a_node_joining_late_learns_every_peer_and_the_routes() {
    let mut mesh = random_mesh(10, 4, 0.0, 3);
    mesh.sim.run_for(secs(15));
    // Node 11 knows only node 4, and only node 4 is told about it (as an
    // operator adds a peer to one config); its links reach everyone.
    mesh.add(11, &[4]);
    let h4 = mesh.host(4);
    mesh.sim.with_node(h4, |node, _| {
        node.add_peer(&PeerConfig {
            id: n(11),
            public_key: public_key(&key(11)),
            preshared_key: None,
            endpoint: Some(addr(11)),
            is_static: false,
            persistent_keepalive: None,
        })
    });
    for other in 1..=10u16 {
        mesh.link(11, other, 20 + u64::from(other), 0.0);
        mesh.link(other, 11, 30 + u64::from(other), 0.0);
    }
    mesh.sim.run_for(secs(20));
    let node = &mesh.sim.host(mesh.host(11)).node;
    let known: BTreeSet<u16> = node.peer_ids().map(NodeId::get).collect();
    assert_eq!(known, (1..=10).collect(), "learned every peer");
    for id in 1..=10u16 {
        let node = &mesh.sim.host(mesh.host(id)).node;
        assert!(
            node.peer_ids().any(|p| p == n(11)),
            "{id} learned the newcomer"
        );
    }
    let ids: Vec<u16> = (1..=11).collect();
    mesh.assert_same_tables(&ids);
    mesh.assert_optimal(&ids, "with the late joiner");
}

#[test]
fn a_dead_link_is_routed_around_within_a_second() {
    let mut mesh = random_mesh(10, 4, 0.0, 21);
    mesh.sim.run_for(secs(15));
    let ids: Vec<u16> = (1..=10).collect();
    mesh.assert_optimal(&ids, "before");
    // A pair whose route has a relay: the flow's first link will die.
    let t = mesh.table(1);
    let (src, dst, hop) = ids
        .iter()
        .flat_map(|&s| ids.iter().map(move |&d| (s, d)))
        .filter(|(s, d)| s != d)
        .find_map(|(s, d)| {
            let hop = t.next_hop(n(s), n(d))?.get();
            (hop != d).then_some((s, d, hop))
        })
        .expect("some route is relayed");
    let mac = |id: u16| {
        let b = id.to_be_bytes();
        [0x02, 0, 0, 0, b[0], b[1]]
    };
    let frame = |from: u16, to: u16| {
        let mut f = Vec::new();
        f.extend_from_slice(&mac(to));
        f.extend_from_slice(&mac(from));
        f.extend_from_slice(&[0x88, 0xb5, 1, 2, 3, 4]);
        f
    };
    let (hs, hd) = (mesh.host(src), mesh.host(dst));
    mesh.sim.inject_frame(hd, &frame(dst, src));
    mesh.sim.run_for(ms(500));
    let before = mesh.sim.host(hd).frames.len();
    let steps = 100;
    for i in 0..steps {
        if i == 20 {
            mesh.cut(src, hop);
        }
        mesh.sim.inject_frame(hs, &frame(src, dst));
        mesh.sim.run_for(ms(50));
    }
    mesh.sim.run_for(ms(500));
    let lost = steps - (mesh.sim.host(hd).frames.len() - before);
    assert!(
        lost <= 20,
        "{src}→{dst} via {hop}: lost {lost} frames (1 s is 20)"
    );
    assert_ne!(
        mesh.table(src).next_hop(n(src), n(dst)).map(NodeId::get),
        Some(hop),
        "routed around"
    );
}
