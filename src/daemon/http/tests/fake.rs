//! A [`SuperApi`] that answers fixed data and records every call made past
//! authentication.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::NodeId;
use crate::control::api::{
    AddPeer, ApiError, DelPeer, INFINITY, LatencyReport, ManageAction, NhTableInfo, NodeInfo,
    PeerEntry, PeerInfo, PeerState, SuperApi, SuperParams, SuperState, UpdatePeer, UpdateSuper,
    edge_token,
};
use crate::wg::PrivateKey;

/// Nodes 1..=3 exist.
pub const KNOWN: [u16; 3] = [1, 2, 3];
/// The key the fake derives its edge tokens from.
const SHARED: [u8; 32] = [7; 32];
/// The second token's secret (the real core's `PrivKeyV6` one).
const SHARED_V6: [u8; 32] = [8; 32];
/// The private key of node 2 (its base64 has '+' and '/').
pub const NODE2_KEY: [u8; 32] = [0xfb; 32];

#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    PeerInfo(u16),
    NhTable(u16),
    SuperParams(u16),
    PostNodeInfo(u16, NodeInfo),
    State,
    AddPeer(AddPeer),
    DelPeer(DelPeer),
    UpdatePeer(UpdatePeer),
    UpdateSuper(UpdateSuper),
}

#[derive(Debug, Default)]
pub struct FakeApi {
    calls: Mutex<Vec<Call>>,
}

pub fn token(node: u16) -> String {
    edge_token(&SHARED, NodeId::new(node).unwrap())
}

/// The other token a known node may present, as an edge that knows only
/// the supernode's `PubKeyV6` does.
pub fn token_v6(node: u16) -> String {
    edge_token(&SHARED_V6, NodeId::new(node).unwrap())
}

pub fn secret(action: ManageAction) -> &'static str {
    match action {
        ManageAction::ShowState => "pw-state",
        ManageAction::AddPeer => "pw-add",
        ManageAction::DelPeer => "pw-del",
        ManageAction::UpdatePeer => "pw-upeer",
        ManageAction::UpdateSuper => "pw-usuper",
    }
}

pub fn peer_info(node: u16) -> PeerInfo {
    PeerInfo {
        state_hash: 0xfeed,
        peers: KNOWN
            .iter()
            .filter(|&&n| n != node)
            .map(|&n| PeerEntry {
                node_id: n,
                name: format!("edge{n}"),
                public_key: "AAAA".into(),
                preshared_key: None,
                endpoints: vec![format!("192.0.2.{n}:3001")],
                online: n != 3,
            })
            .collect(),
    }
}

pub fn nh_table() -> NhTableInfo {
    let mut table = BTreeMap::new();
    table.insert(1, BTreeMap::from([(2, 3), (3, 3)]));
    NhTableInfo {
        state_hash: 0xbeef,
        table,
    }
}

pub fn super_params(node: u16) -> SuperParams {
    SuperParams {
        state_hash: 9,
        send_ping_interval_s: 15.0,
        http_post_interval_s: 50.0,
        peer_alive_timeout_s: 70.0,
        damping_filter_radius: 3,
        additional_cost_ms: f64::from(node),
    }
}

pub fn node_info() -> NodeInfo {
    NodeInfo {
        post_count: 4,
        latencies: vec![LatencyReport {
            from: 2,
            to: 1,
            one_way_ns: -1500,
            penalty_ns: 0,
            rtt_ns: 0,
        }],
        local_endpoints: vec!["10.0.0.1:3001".into()],
    }
}

pub fn state() -> SuperState {
    SuperState {
        PeerInfo: BTreeMap::from([(
            1,
            PeerState {
                Name: "edge1".into(),
                LastSeen: "never".into(),
                Online: false,
                EndpointV4: String::new(),
                EndpointV6: String::new(),
            },
        )]),
        Infinity: INFINITY,
        Edges: BTreeMap::new(),
        Edges_Nh: BTreeMap::new(),
        NhTable: nh_table().table,
        Dist: BTreeMap::new(),
        Dist_noAC: BTreeMap::new(),
    }
}

impl FakeApi {
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }
}

impl SuperApi for FakeApi {
    fn edge_tokens(&self, node: NodeId) -> Vec<String> {
        if KNOWN.contains(&node.get()) {
            vec![token(node.get()), token_v6(node.get())]
        } else {
            Vec::new()
        }
    }

    fn check_secret(&self, action: ManageAction, given: &str) -> bool {
        given == secret(action)
    }

    fn peer_info(&self, node: NodeId) -> Result<PeerInfo, ApiError> {
        self.record(Call::PeerInfo(node.get()));
        Ok(peer_info(node.get()))
    }

    fn nh_table(&self, node: NodeId) -> Result<NhTableInfo, ApiError> {
        self.record(Call::NhTable(node.get()));
        Ok(nh_table())
    }

    fn super_params(&self, node: NodeId) -> Result<SuperParams, ApiError> {
        self.record(Call::SuperParams(node.get()));
        Ok(super_params(node.get()))
    }

    fn post_node_info(&self, node: NodeId, info: NodeInfo) -> Result<(), ApiError> {
        self.record(Call::PostNodeInfo(node.get(), info));
        Ok(())
    }

    fn state(&self) -> SuperState {
        self.record(Call::State);
        state()
    }

    fn add_peer(&self, req: AddPeer) -> Result<String, ApiError> {
        let id = req.NodeID;
        self.record(Call::AddPeer(req));
        if KNOWN.contains(&id) {
            return Err(ApiError::Conflict(format!("NodeID {id} is taken")));
        }
        Ok(format!("NodeID: {id}\n"))
    }

    fn del_peer(&self, req: DelPeer) -> Result<NodeId, ApiError> {
        self.record(Call::DelPeer(req.clone()));
        let found = match req {
            DelPeer::ById(id) => Some(id).filter(|id| KNOWN.contains(&id.get())),
            DelPeer::ByPrivateKey(k) => (k == PrivateKey::from_bytes(NODE2_KEY))
                .then_some(NodeId::new(2).ok_or_else(|| ApiError::Internal("2 is a node".into()))?),
        };
        found.ok_or_else(|| ApiError::NotFound("no such node".into()))
    }

    fn update_peer(&self, req: UpdatePeer) -> Result<(), ApiError> {
        self.record(Call::UpdatePeer(req));
        Ok(())
    }

    fn update_super(&self, req: UpdateSuper) -> Result<(), ApiError> {
        self.record(Call::UpdateSuper(req));
        Ok(())
    }
}
