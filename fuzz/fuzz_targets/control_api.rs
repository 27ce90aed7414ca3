//! The super-mode control plane on what it accepts from the network: a
//! supernode's [`SuperCore`] (with a node to apply its output) and an edge's
//! [`EdgeSync`] (on its node), both long-lived, fed by the first byte's
//! choice of:
//! 0. a `post/nodeinfo` JSON body from an edge (serde + `post_node_info`),
//! 1–3. an Edge API answer the edge fetched: `PeerInfo`, `NhTableInfo`,
//!    `SuperParams` JSON (serde + `handle_*`),
//! 4. a control message to the supernode from an edge (kind, claimed
//!    source, body: `handle_control`),
//! 5. a control message to the edge from the supernode or a peer (its node
//!    event: `handle_event`),
//! 6. the Manage API's `peer/add`, `peer/update`, `super/update` and
//!    `peer/del` requests as JSON (the fields the forms carry).
//!
//! The upper bits advance a virtual clock so timers run; outputs are drained
//! and applied like the daemons do. Nothing may panic.
#![no_main]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd::NodeId;
use egd::config::{GraphSettings, PeerAddFields, SuperPeer, new_super_peer};
use egd::wg::PrivateKey;
use egd::control::api::{
    AddPeer, DelPeer, NhTableInfo, NodeInfo, PeerInfo, SuperParams, UpdatePeer, UpdateSuper,
};
use egd::control::edge_sync::{EdgeRequest, EdgeSync, EdgeSyncConfig};
use egd::control::super_core::{Family, Params, SuperCore, SuperCoreConfig, apply_output};
use egd::wg::keys::{private_key_from_random, public_key};
use egd::node::{Node, NodeConfig, NodeEvent};
use egd::wire::header::Kind;
use egd_routing::NextHopTable;
use libfuzzer_sys::fuzz_target;

/// Edges the supernode knows from its config; edge 1 runs the `EdgeSync`.
const EDGES: u16 = 4;
/// Live-added peers beyond this are deleted again (bounded state).
const MAX_PEERS: usize = 8;

struct State {
    core: SuperCore,
    sup_node: Node,
    sync: EdgeSync,
    edge_node: Node,
    now: Instant,
    unix: Duration,
}

fn id(n: u16) -> NodeId {
    NodeId::new(n).unwrap()
}

fn key(n: u16) -> PrivateKey {
    private_key_from_random([n as u8; 32])
}

fn node(n: u16, now: Instant, unix: Duration) -> Node {
    Node::new(
        NodeConfig {
            id: id(n),
            private_key: key(n),
            peers: Vec::new(),
            default_ttl: 64,
            l2_fib_timeout: Duration::from_secs(60),
            max_frame_len: 1514,
            next_hops: NextHopTable::new(),
            dup_check_timeout: Duration::from_secs(40),
            ping_interval: None,
        },
        [n as u8; 32],
        now,
        unix,
    )
}

fn setup() -> State {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let unix = Duration::from_secs(1_767_225_600);
    let peers = (1..=EDGES)
        .map(|n| SuperPeer {
            node_id: id(n),
            name: format!("edge{n}"),
            public_key: public_key(&key(n)),
            preshared_key: None,
            additional_cost: Duration::from_millis(1),
            skip_local_ip: false,
            endpoint: None,
            external_ip: None,
        })
        .collect();
    let cfg = SuperCoreConfig {
        private_key_v4: key(100),
        private_key_v6: key(101),
        use_psk_for_inter_edge: true,
        repush_interval: Duration::from_secs(5),
        params: Params {
            send_ping_interval: Duration::from_secs(1),
            http_post_interval: Duration::from_secs(5),
            peer_alive_timeout: Duration::from_secs(10),
            damping_filter_radius: 0,
        },
        next_hop_table: Default::default(),
        graph: GraphSettings::default(),
    };
    let sync = EdgeSync::new(
        EdgeSyncConfig {
            node_id: id(1),
            send_ping_interval: Duration::from_secs(1),
            http_post_interval: Duration::from_secs(5),
            peer_alive_timeout: Duration::from_secs(10),
            conn_next_try: Duration::from_secs(1),
            reset_endpoint_interval: Duration::from_secs(30),
            local_endpoints: vec!["192.0.2.1:3001".parse().unwrap()],
            pinned: BTreeMap::new(),
            save_new_peers: true,
            families: egd::control::endpoints::FamilyPolicy::default(),
        },
        now,
    );
    let mut s = State {
        core: SuperCore::new(cfg, peers, now),
        sup_node: node(100, now, unix),
        sync,
        edge_node: node(1, now, unix),
        now,
        unix,
    };
    drain(&mut s);
    s
}

/// Applies the supernode's output to its node and serves the edge's
/// requests from the core, as the daemons do; everything the nodes emit is
/// dropped (the network is the fuzzer).
fn drain(s: &mut State) {
    for _ in 0..64 {
        let mut moved = false;
        while let Some(out) = s.core.poll_output() {
            let _ = apply_output(s.now, &mut [&mut s.sup_node], out);
            moved = true;
        }
        while let Some(req) = s.sync.poll_request() {
            moved = true;
            match req {
                EdgeRequest::Fetch(_)
                | EdgeRequest::Shutdown { .. }
                | EdgeRequest::SavePeers(_) => {}
                EdgeRequest::PostNodeInfo(info) => {
                    let _ = s.core.post_node_info(s.now, id(1), info);
                }
            }
        }
        let mut events = Vec::new();
        while let Some(e) = s.edge_node.poll_event() {
            events.push(e);
        }
        for e in &events {
            s.sync.handle_event(s.now, &mut s.edge_node, e);
        }
        moved |= !events.is_empty();
        for n in [&mut s.sup_node, &mut s.edge_node] {
            while n.poll_transmit().is_some() {}
            while n.poll_frame().is_some() {}
        }
        while s.sup_node.poll_event().is_some() {}
        if !moved {
            break;
        }
    }
}

fn control(s: &mut State, data: &[u8]) {
    let [kind, from, src_hi, src_lo, body @ ..] = data else {
        return;
    };
    let Some(kind) = Kind::from_u8(*kind) else {
        return;
    };
    let src = u16::from_be_bytes([*src_hi, *src_lo]);
    let from = id(u16::from(*from) % (EDGES + 1) + 1);
    let endpoint: SocketAddr = "198.51.100.7:4000".parse().unwrap();
    s.core.handle_control(
        s.now,
        s.unix,
        Family::V4,
        from,
        src,
        Some(endpoint),
        kind,
        body,
    );
}

fn edge_event(s: &mut State, data: &[u8]) {
    let [kind, from, src_hi, src_lo, body @ ..] = data else {
        return;
    };
    let Some(kind) = Kind::from_u8(*kind) else {
        return;
    };
    let event = NodeEvent::Control {
        from_peer: id(u16::from(*from) % (EDGES + 1) + 1),
        src: u16::from_be_bytes([*src_hi, *src_lo]),
        dst: 1,
        kind,
        seq: 0,
        body: body.to_vec(),
    };
    s.sync.handle_event(s.now, &mut s.edge_node, &event);
}

fn manage(s: &mut State, data: &[u8]) {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            let Ok(req) = serde_json::from_slice::<AddPeer>(json) else {
                return;
            };
            let existing = s.core.peers();
            let fields = PeerAddFields {
                node_id: u64::from(req.NodeID),
                name: &req.Name,
                public_key: &req.PubKey,
                preshared_key: req.PSKey.as_deref(),
                additional_cost_ms: req.AdditionalCost,
                skip_local_ip: req.SkipLocalIP,
            };
            if let Ok(peer) = new_super_peer(&existing, &fields) {
                let added = peer.node_id;
                let _ = s.core.add_peer(s.now, peer);
                if s.core.peers().len() > MAX_PEERS {
                    let _ = s.core.del_peer(s.now, &DelPeer::ById(added));
                }
            }
        }
        1 => {
            if let Ok(req) = serde_json::from_slice::<UpdatePeer>(json) {
                let _ = s.core.update_peer(s.now, &req);
            }
        }
        2 => {
            if let Ok(req) = serde_json::from_slice::<UpdateSuper>(json) {
                let _ = s.core.update_super(&req);
            }
        }
        _ => {
            // Deleting a configured edge would end the game: only added ones.
            if let [hi, lo, ..] = *json
                && let Some(node) = NodeId::new(u16::from_be_bytes([hi, lo]))
                && node.get() > EDGES
            {
                let _ = s.core.del_peer(s.now, &DelPeer::ById(node));
            }
        }
    }
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    STATE.with(|cell| {
        let mut guard = cell.borrow_mut();
        let s = guard.get_or_insert_with(setup);
        let step = Duration::from_millis(u64::from(first >> 3) * 50);
        s.now += step;
        s.unix += step;
        match first & 7 {
            0 => {
                if let Ok(info) = serde_json::from_slice::<NodeInfo>(rest) {
                    let from = id(u16::from(rest.len() as u8) % EDGES + 1);
                    let _ = s.core.post_node_info(s.now, from, info);
                }
            }
            1 => {
                if let Ok(info) = serde_json::from_slice::<PeerInfo>(rest) {
                    s.sync.handle_peer_info(s.now, &mut s.edge_node, &info);
                }
            }
            2 => {
                if let Ok(info) = serde_json::from_slice::<NhTableInfo>(rest) {
                    s.sync.handle_nh_table(s.now, &mut s.edge_node, &info);
                }
            }
            3 => {
                if let Ok(p) = serde_json::from_slice::<SuperParams>(rest) {
                    s.sync.handle_super_params(s.now, &mut s.edge_node, &p);
                }
            }
            4 => control(s, rest),
            5 => edge_event(s, rest),
            _ => manage(s, rest),
        }
        s.core.handle_timeout(s.now);
        s.sup_node.handle_timeout(s.now);
        s.sync.handle_timeout(s.now, &mut s.edge_node);
        s.edge_node.handle_timeout(s.now);
        drain(s);
        // The edge's answers of the Edge API, as the supernode gives them.
        let _ = (
            s.core.peer_info(id(1)),
            s.core.nh_table(id(1)),
            s.core.super_params(id(1)),
        );
        let _ = s.core.state();
    });
});
