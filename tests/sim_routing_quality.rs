//! Routing quality on the simulated network (virtual clock, P2P mode, path
//! hysteresis on at the routing crate's defaults, 2 ms / 10 % of half the round trip), issue 10:
//!
//! - 50 nodes, asymmetric random delays, clock offsets up to ±5 s per host,
//!   5 % loss: every pair's route, as the frames really walk it hop by hop
//!   through each node's own table, costs within 1 % of the optimum on the
//!   true delays, per direction;
//! - ±10 % jitter on every link around two near-equal paths (< 5 % apart):
//!   at most one route change in an hour of virtual time.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd::NodeId;
use egd::config::{GraphSettings, PrivateKey};
use egd::control::p2p::{P2pConfig, P2pSync};
use egd::keys::{private_key_from_random, public_key};
use egd::node::{Node, NodeConfig, PeerConfig};
use egd::sim::{HostId, Link, Sim, SimP2p};
use egd_routing::{DenseGraph, Latency, NextHopTable, Solution, solve};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

#[allow(clippy::disallowed_methods)] // the simulation's origin; only differences matter
fn origin() -> Instant {
    Instant::now()
}

fn n(v: u16) -> NodeId {
    NodeId::new(v).unwrap()
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn addr(id: u16) -> SocketAddr {
    SocketAddr::from(([10, 1, (id >> 8) as u8, id as u8], 4000))
}

fn key(id: u16) -> PrivateKey {
    let mut seed = [0u8; 32];
    seed[..2].copy_from_slice(&id.to_be_bytes());
    seed[2] = 0x5a;
    private_key_from_random(seed)
}

const PING: Duration = Duration::from_secs(1);

fn p2p_config(id: u16, hysteresis: bool) -> P2pConfig {
    P2pConfig {
        node_id: n(id),
        additional_cost: ms(1),
        report_interval: PING,
        send_peer_interval: secs(5),
        peer_alive_timeout: secs(10),
        graph: GraphSettings {
            jitter_tolerance: ms(1),
            jitter_tolerance_multiplier: 1.0,
            timeout_check_interval: secs(1),
            recalculate_cool_down: ms(500),
            // The routing crate's defaults.
            hysteresis_absolute: if hysteresis { ms(2) } else { ms(0) },
            hysteresis_relative: if hysteresis { 0.10 } else { 0.0 },
            ..GraphSettings::default()
        },
        // The upstream default: a median of 9 samples.
        damping_filter_radius: 4,
    }
}

struct Mesh {
    sim: Sim,
    hosts: Vec<(u16, HostId)>,
    /// True one-way delays of the links that are up, (src, dst) → ms.
    delays: Vec<((u16, u16), u64)>,
    /// Path hysteresis at the routing crate's defaults (else off).
    hysteresis: bool,
}

impl Mesh {
    fn new(seed: u64) -> Mesh {
        let mut sim = Sim::new(seed, origin());
        // No link unless set: only configured neighbours can reach each other.
        sim.set_default_link(Link {
            up: false,
            ..Link::default()
        });
        Mesh {
            sim,
            hosts: Vec::new(),
            delays: Vec::new(),
            hysteresis: true,
        }
    }

    fn host(&self, id: u16) -> HostId {
        self.hosts.iter().find(|(i, _)| *i == id).unwrap().1
    }

    /// Adds edge `id` knowing `neighbours` (keys and endpoints, as a P2P
    /// config's `Peers:` does), its wall clock `offset_ms` off true time.
    fn add(&mut self, id: u16, neighbours: &[u16], offset_ms: i64) {
        let peers = neighbours
            .iter()
            .map(|o| PeerConfig {
                id: n(*o),
                public_key: public_key(&key(*o)),
                preshared_key: None,
                endpoint: Some(addr(*o)),
                is_static: false,
                persistent_keepalive: None,
            })
            .collect();
        let cfg = NodeConfig {
            id: n(id),
            private_key: key(id),
            peers,
            default_ttl: 64,
            l2_fib_timeout: secs(3600),
            max_frame_len: 1418,
            next_hops: NextHopTable::new(),
            dup_check_timeout: secs(40),
            ping_interval: Some(PING),
        };
        let seed = self.sim.seed32();
        let h = self.sim.add_host(
            addr(id),
            ms(offset_ms.unsigned_abs()),
            offset_ms < 0,
            |now, unix| Node::new(cfg, seed, now, unix),
        );
        let p2p = self.sim.with_node(h, |node, now| {
            P2pSync::new(p2p_config(id, self.hysteresis), now, node)
        });
        self.sim.set_controller(h, Box::new(SimP2p { p2p }));
        self.hosts.push((id, h));
    }

    /// The link a→b with `delay_ms` one way (and `loss`), ±`jitter_ms`
    /// around it.
    fn link(&mut self, a: u16, b: u16, delay_ms: u64, jitter_ms: u64, loss: f64) {
        let (ha, hb) = (self.host(a), self.host(b));
        self.sim.set_link(
            ha,
            hb,
            Link {
                loss,
                jitter: ms(2 * jitter_ms),
                ..Link::with_delay(ms(delay_ms - jitter_ms))
            },
        );
        self.delays.retain(|(k, _)| *k != (a, b));
        self.delays.push(((a, b), delay_ms));
    }

    /// The solver's result on the true delays (+1 ms additional cost per
    /// transit node).
    fn optimal(&self, ids: &[u16]) -> Solution {
        let mut g = DenseGraph::new(ids.iter().map(|i| n(*i)));
        for &i in ids {
            g.set_additional_cost(n(i), Latency::from_micros(1000).unwrap())
                .unwrap();
        }
        for ((a, b), d) in &self.delays {
            let l = Latency::from_micros(i64::try_from(*d).unwrap() * 1000).unwrap();
            g.set_edge(n(*a), n(*b), Some(l)).unwrap();
        }
        solve(&g).unwrap()
    }

    /// The true cost (ms, +1 ms per transit node) of the walk a frame from
    /// `src` to `dst` takes, each node using its own table; `None` if the
    /// walk breaks or loops.
    fn walk_cost(&self, src: u16, dst: u16) -> Option<u64> {
        let mut at = src;
        let mut total = 0;
        for _ in 0..self.hosts.len() {
            if at == dst {
                return Some(total);
            }
            let node = &self.sim.host(self.host(at)).node;
            let hop = node.next_hops().next_hop(n(at), n(dst))?.get();
            let (_, d) = self.delays.iter().find(|(k, _)| *k == (at, hop))?;
            total += d + u64::from(hop != dst);
            at = hop;
        }
        None
    }
}

/// `count` nodes, each linked to ~`degree` random others (plus a ring so it
/// is connected), delays 5–100 ms per direction independently, wall clocks
/// up to ±5 s off.
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
        let offset = i64::from(rng.next_u32() % 10_001) - 5_000;
        mesh.add(id, &neighbours, offset);
    }
    for (a, b) in pairs {
        let ab = 5 + u64::from(rng.next_u32() % 96);
        let ba = 5 + u64::from(rng.next_u32() % 96);
        mesh.link(a, b, ab, 0, loss);
        mesh.link(b, a, ba, 0, loss);
    }
    mesh
}

#[test]
fn fifty_nodes_with_skew_and_loss_route_within_one_percent_of_optimal() {
    let mut mesh = random_mesh(50, 4, 0.05, 17);
    mesh.sim.run_for(secs(40));
    let ids: Vec<u16> = (1..=50).collect();
    let best = mesh.optimal(&ids);
    let mut worse = Vec::new();
    let mut asymmetric = 0;
    for &src in &ids {
        for &dst in ids.iter().filter(|d| **d != src) {
            let want =
                u64::try_from(best.distance(n(src), n(dst)).unwrap().as_micros()).unwrap() / 1000;
            let have = mesh.walk_cost(src, dst);
            if have.is_none_or(|h| h as f64 > want as f64 * 1.01) {
                worse.push(format!("{src}→{dst}: {have:?} ms (optimal {want})"));
            }
            let back = best.path(n(dst), n(src)).unwrap();
            let mut there = best.path(n(src), n(dst)).unwrap();
            there.reverse();
            asymmetric += usize::from(there != back);
        }
    }
    assert!(
        worse.is_empty(),
        "{} pairs off by > 1 %: {worse:?}",
        worse.len()
    );
    assert!(asymmetric > 0, "some pair takes different paths each way");
}

/// 1 → {2, 3} → 4: 20 + 20 ms against 20 + 21 ms (2.4 % apart) in both
/// directions, every link ±10 % (uniform), clocks ±5 s off, no loss. Each
/// node has exactly one destination with two near-equal paths (1→4, 2→3,
/// 3→2, 4→1), so its route-change counter counts that pair's changes: at
/// most one in the hour (the one allowed is a move onto the truly better
/// path when noise had picked the other at start-up).
fn near_equal_paths_under_jitter(seed: u64, hysteresis: bool) -> Vec<u64> {
    let mut mesh = Mesh::new(seed);
    mesh.hysteresis = hysteresis;
    let offsets = [3_100, -4_700, 4_900, -1_300];
    let neighbours: [&[u16]; 4] = [&[2, 3], &[1, 4], &[1, 4], &[2, 3]];
    for id in 1..=4u16 {
        let i = usize::from(id - 1);
        mesh.add(id, neighbours[i], offsets[i]);
    }
    for (a, b, d) in [(1, 2, 20), (2, 4, 20), (1, 3, 20), (3, 4, 21)] {
        mesh.link(a, b, d, d / 10, 0.0);
        mesh.link(b, a, d, d / 10, 0.0);
    }
    mesh.sim.run_for(secs(60));
    let per_node = |m: &Mesh| -> Vec<u64> {
        m.hosts
            .iter()
            .map(|(_, h)| m.sim.host(*h).node.metrics().route_changes)
            .collect()
    };
    let before = per_node(&mesh);
    mesh.sim.run_for(secs(3600));
    per_node(&mesh)
        .iter()
        .zip(&before)
        .map(|(a, b)| a - b)
        .collect()
}

#[test]
fn jitter_around_near_equal_paths_changes_routes_at_most_once_an_hour() {
    for seed in [23, 24, 25] {
        let changes = near_equal_paths_under_jitter(seed, true);
        assert!(
            changes.iter().all(|c| *c <= 1),
            "seed {seed}: route changes per node in an hour: {changes:?}"
        );
    }
    // The same without path hysteresis flaps: the test has teeth.
    let changes = near_equal_paths_under_jitter(23, false);
    assert!(
        changes.iter().sum::<u64>() > 10,
        "without hysteresis: {changes:?}"
    );
}
