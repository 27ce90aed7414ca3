//! Helpers shared by the simulated-network tests (tests/sim/): the
//! virtual clock's origin, short constructors for ids and durations, the
//! deterministic addresses and keys of the mesh tests, and the supernode
//! host of the super-mode tests.
//!
//! How to use the supernode: build a `SuperCore`, [`add_supernode`] it to
//! the `Sim` (it is started at once), and give each edge
//! [`supernode_peer`] as its static peer.
#![allow(dead_code)] // each test binary uses its own subset

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use egd::NodeId;
use egd::config::{GraphSettings, StaticNextHops, SuperPeer};
use egd::control::edge_sync::{EdgeSync, EdgeSyncConfig};
use egd::control::endpoints::FamilyPolicy;
use egd::control::p2p::{P2pConfig, P2pSync};
use egd::control::super_core::{Params, SuperCore, SuperCoreConfig};
use egd::node::{Node, NodeConfig, PeerConfig};
use egd::sim::{HostId, Link, Sim, SimEdge, SimP2p, SimSuper};
use egd::wg::PrivateKey;
use egd::wg::keys::{private_key_from_random, public_key};
use egd_routing::NextHopTable;

#[allow(clippy::disallowed_methods)] // the simulation's origin; only differences matter
pub fn origin() -> Instant {
    Instant::now()
}

pub fn n(v: u16) -> NodeId {
    NodeId::new(v).unwrap()
}

pub fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A simulation with no link unless set: only configured neighbours can
/// reach each other.
pub fn sim_without_links(seed: u64) -> Sim {
    let mut sim = Sim::new(seed, origin());
    sim.set_default_link(Link {
        up: false,
        ..Link::default()
    });
    sim
}

/// Node `id`'s underlay address in the mesh tests.
pub fn addr(id: u16) -> SocketAddr {
    SocketAddr::from(([10, 1, (id >> 8) as u8, id as u8], 4000))
}

/// Node `id`'s private key in the mesh tests.
pub fn key(id: u16) -> PrivateKey {
    let mut seed = [0u8; 32];
    seed[..2].copy_from_slice(&id.to_be_bytes());
    seed[2] = 0x5a;
    private_key_from_random(seed)
}

/// The supernode's underlay address.
pub const SUPER_ADDR: ([u8; 4], u16) = ([10, 0, 0, 254], 3456);

pub fn super_key() -> PrivateKey {
    private_key_from_random([200; 32])
}

/// The supernode's IPv6 key (the simulated sessions use the IPv4 one; the
/// core derives a second Edge API token from it).
pub fn super_key_v6() -> PrivateKey {
    private_key_from_random([201; 32])
}

/// The supernode as an edge's static peer.
pub fn supernode_peer() -> PeerConfig {
    PeerConfig {
        id: NodeId::SUPERNODE,
        public_key: public_key(&super_key()),
        preshared_key: None,
        endpoint: Some(SocketAddr::from(SUPER_ADDR)),
        is_static: true,
        persistent_keepalive: None,
    }
}

/// Adds the supernode running `core` at [`SUPER_ADDR`] and starts it: its
/// host and the core, shared with its controller.
pub fn add_supernode(sim: &mut Sim, core: SuperCore) -> (HostId, Rc<RefCell<SuperCore>>) {
    let sim_super = SimSuper::new(core);
    let core = sim_super.core.clone();
    let cfg = NodeConfig {
        id: NodeId::SUPERNODE,
        private_key: super_key(),
        peers: Vec::new(),
        default_ttl: 200,
        l2_fib_timeout: secs(3600),
        max_frame_len: 1418,
        next_hops: NextHopTable::new(),
        dup_check_timeout: secs(40),
        ping_interval: None,
    };
    let seed = sim.seed32();
    let sup = sim.add_host(
        SocketAddr::from(SUPER_ADDR),
        Duration::ZERO,
        false,
        |now, unix| Node::new(cfg, seed, now, unix),
    );
    sim.set_controller(sup, Box::new(sim_super));
    sim.with_controller(sup, |c, node, now| {
        c.handle_timeout(now, Duration::ZERO, node)
    });
    (sup, core)
}

/// The MAC address of node `node`'s interface side in the routing tests.
pub fn mac_of(node: u16) -> [u8; 6] {
    let b = node.to_be_bytes();
    [0x02, 0xbb, 0xcc, 0xdd, b[0], b[1]]
}

/// A probe frame from node `from`'s MAC to node `to`'s.
pub fn frame(from: u16, to: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&mac_of(to));
    f.extend_from_slice(&mac_of(from));
    f.extend_from_slice(&[0x88, 0xb5]);
    f.extend_from_slice(b"probe frame payload");
    f
}

/// Mesh node `id`'s config: its key from [`key`], `peers`, pings every
/// `ping`, TTL 64, no table until one is solved or pushed.
pub fn node_config(id: u16, peers: Vec<PeerConfig>, ping: Duration) -> NodeConfig {
    NodeConfig {
        id: n(id),
        private_key: key(id),
        peers,
        default_ttl: 64,
        l2_fib_timeout: secs(3600),
        max_frame_len: 1418,
        next_hops: NextHopTable::new(),
        dup_check_timeout: secs(40),
        ping_interval: Some(ping),
    }
}

/// A P2P mesh node's `Peers:`: each of `neighbours` with its key and
/// address, not static.
pub fn p2p_peers(neighbours: &[u16]) -> Vec<PeerConfig> {
    neighbours
        .iter()
        .map(|o| PeerConfig {
            id: n(*o),
            public_key: public_key(&key(*o)),
            preshared_key: None,
            endpoint: Some(addr(*o)),
            is_static: false,
            persistent_keepalive: None,
        })
        .collect()
}

/// Edge `id`'s supernode session as most super-mode sims run it: pings and
/// connection retries every second, posts every 5 s, peers dead after
/// 10 s, no DDNS, nothing pinned or saved. Override fields with `..`.
pub fn edge_sync_config(id: u16) -> EdgeSyncConfig {
    EdgeSyncConfig {
        node_id: n(id),
        send_ping_interval: secs(1),
        http_post_interval: secs(5),
        peer_alive_timeout: secs(10),
        conn_next_try: secs(1),
        reset_endpoint_interval: Duration::ZERO,
        local_endpoints: Vec::new(),
        pinned: std::collections::BTreeMap::new(),
        save_new_peers: false,
        families: FamilyPolicy::default(),
    }
}

/// Adds super-mode edge `id` at [`addr`]`(id)`, pinging every second,
/// registered with the supernode `core` by [`edge_sync_config`].
pub fn add_super_edge(sim: &mut Sim, id: u16, core: &Rc<RefCell<SuperCore>>) -> HostId {
    let cfg = node_config(id, vec![supernode_peer()], secs(1));
    let seed = sim.seed32();
    let h = sim.add_host(addr(id), Duration::ZERO, false, |now, unix| {
        Node::new(cfg, seed, now, unix)
    });
    let sync = EdgeSync::new(edge_sync_config(id), sim.now());
    sim.set_controller(h, Box::new(SimEdge::new(sync, core.clone(), n(id))));
    h
}

/// Adds P2P edge `id` at [`addr`]`(id)`, pinging every second, knowing
/// `neighbours`, its control driven by `cfg`.
pub fn add_p2p_edge(sim: &mut Sim, id: u16, neighbours: &[u16], cfg: P2pConfig) -> HostId {
    let node_cfg = node_config(id, p2p_peers(neighbours), secs(1));
    let seed = sim.seed32();
    let h = sim.add_host(addr(id), Duration::ZERO, false, |now, unix| {
        Node::new(node_cfg, seed, now, unix)
    });
    let p2p = sim.with_node(h, |node, now| P2pSync::new(cfg, now, node));
    sim.set_controller(h, Box::new(SimP2p::new(p2p)));
    h
}

/// The supernode's entry for edge `id`: key [`key`]`(id)`, name `edge<id>`,
/// 1 ms additional cost, no endpoint. Override fields with `..`.
pub fn super_peer(id: u16) -> SuperPeer {
    SuperPeer {
        node_id: n(id),
        name: format!("edge{id}"),
        public_key: public_key(&key(id)),
        preshared_key: None,
        additional_cost: ms(1),
        skip_local_ip: false,
        endpoint: None,
        external_ip: None,
    }
}

/// A supernode solving with `graph`: pings every second, posts every 5 s,
/// peers dead after 10 s, tables re-pushed every 5 s, no static table.
pub fn super_core_config(graph: GraphSettings) -> SuperCoreConfig {
    SuperCoreConfig {
        private_key_v4: super_key(),
        private_key_v6: super_key_v6(),
        use_psk_for_inter_edge: true,
        repush_interval: secs(5),
        params: Params {
            send_ping_interval: secs(1),
            http_post_interval: secs(5),
            peer_alive_timeout: secs(10),
            damping_filter_radius: 0,
        },
        graph,
        next_hop_table: StaticNextHops::new(),
    }
}

/// Graph settings that follow a change within a second or two (1 ms
/// jitter tolerance, checks every second, 500 ms cool-down).
pub fn quick_graph() -> GraphSettings {
    GraphSettings {
        jitter_tolerance: ms(1),
        jitter_tolerance_multiplier: 1.0,
        timeout_check_interval: secs(1),
        recalculate_cool_down: ms(500),
        ..GraphSettings::default()
    }
}

/// A P2P edge's control with the sims' usual timing: reports every
/// second, peer lists every 5 s, peers dead after 10 s, 1 ms additional
/// cost; routing by `graph` (and `next_hop_table` when it says StaticMode).
pub fn p2p_config(id: u16, graph: GraphSettings, next_hop_table: StaticNextHops) -> P2pConfig {
    P2pConfig {
        node_id: n(id),
        additional_cost: ms(1),
        report_interval: secs(1),
        send_peer_interval: secs(5),
        peer_alive_timeout: secs(10),
        graph,
        next_hop_table,
        damping_filter_radius: 0,
        families: FamilyPolicy::default(),
    }
}

/// A small network on a fresh `Sim` (links 10 ms by default): edges by id,
/// and the supernode's core in super mode. Test files add their own
/// methods (`impl Mesh` in their module; the names must differ between
/// modules, as they all share the sim binary).
pub struct Mesh {
    pub sim: Sim,
    pub hosts: std::collections::BTreeMap<u16, HostId>,
    pub core: Option<Rc<RefCell<SuperCore>>>,
}

impl Mesh {
    fn empty(seed: u64) -> Mesh {
        let mut sim = Sim::new(seed, origin());
        sim.set_default_link(Link::with_delay(ms(10)));
        Mesh {
            sim,
            hosts: std::collections::BTreeMap::new(),
            core: None,
        }
    }

    /// A supernode running `cfg` with [`super_peer`]s `ids`, and those
    /// edges registering with it ([`add_super_edge`]).
    pub fn new_super(seed: u64, ids: &[u16], cfg: SuperCoreConfig) -> Mesh {
        let mut net = Mesh::empty(seed);
        let peers = ids.iter().map(|&id| super_peer(id)).collect();
        let core = SuperCore::new(cfg, peers, net.sim.now());
        let (_, core) = add_supernode(&mut net.sim, core);
        for &id in ids {
            let h = add_super_edge(&mut net.sim, id, &core);
            net.hosts.insert(id, h);
        }
        net.core = Some(core);
        net
    }

    /// A full P2P mesh of `ids`, edge `id`'s control from `cfg(id)`.
    pub fn new_p2p(seed: u64, ids: &[u16], cfg: impl Fn(u16) -> P2pConfig) -> Mesh {
        let mut net = Mesh::empty(seed);
        for &id in ids {
            let others: Vec<u16> = ids.iter().copied().filter(|o| *o != id).collect();
            let h = add_p2p_edge(&mut net.sim, id, &others, cfg(id));
            net.hosts.insert(id, h);
        }
        net
    }

    /// The next hop from `at` to `dst` in `at`'s current table.
    pub fn next_hop(&self, at: u16, dst: u16) -> Option<u16> {
        let h = self.hosts[&at];
        self.sim
            .host(h)
            .node
            .next_hops()
            .next_hop(n(at), n(dst))
            .map(|h| h.get())
    }
}
