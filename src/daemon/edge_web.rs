//! An edge's own topology page (`Web: {Listen, Password}`, egd's addition):
//! the supernode's page and JSON, served from this edge's view of the mesh.
//! The JSON has the shape of `manage/super/state`: `Edges` from the P2P
//! graph (empty without P2P), `NhTable` from the table in force on the node,
//! `PeerInfo` from the node's peers (online = a session is up). `Dist` is
//! left empty (the page sums `Edges` along the path itself).
//!
//! Driving it: [`EdgeWeb::start`] once (binds the listener, so a taken port
//! is an error at start), then [`EdgeWeb::publish`] from the loop now and
//! then; the HTTP thread only ever reads the last published snapshot.
//! `Web` changes take effect on restart, not on reload.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use egd_routing::Latency;
use subtle::ConstantTimeEq;

use super::http::{HttpConfig, HttpHandle};
use crate::NodeId;
use crate::config::{EdgeConfig, Secret};
use crate::control::api::{
    AddPeer, ApiError, DelPeer, INFINITY, ManageAction, NhTableInfo, NodeInfo, PeerInfo, PeerState,
    SuperApi, SuperParams, SuperState, UpdatePeer, UpdateSuper,
};
use crate::control::p2p::P2pSync;
use crate::logging::target;
use crate::node::Node;

/// The running page server and the snapshot it serves.
#[derive(Debug)]
pub struct EdgeWeb {
    snapshot: Arc<Mutex<SuperState>>,
    _http: HttpHandle,
}

impl EdgeWeb {
    /// Starts serving when the config has a `Web` key.
    pub fn start(cfg: &EdgeConfig) -> Result<Option<Self>, super::http::ServeError> {
        let Some(web) = &cfg.web else { return Ok(None) };
        let snapshot = Arc::new(Mutex::new(empty_state()));
        let api = EdgeWebApi {
            snapshot: Arc::clone(&snapshot),
            password: web.password.clone(),
        };
        let http = HttpConfig {
            edge_listen: Vec::new(),
            manage_listen: vec![web.listen],
            api_prefix: String::new(),
            tls: None,
        };
        let handle = super::http::spawn(http, Arc::new(api))?;
        tracing::info!(target: target::NORMAL, "topology page on http://{}/", web.listen);
        Ok(Some(Self {
            snapshot,
            _http: handle,
        }))
    }

    /// Replaces the served snapshot with the node's current view.
    pub fn publish(&self, node: &Node, p2p: Option<&P2pSync>, cfg: &EdgeConfig) {
        let latencies = p2p.map(P2pSync::latencies).unwrap_or_default();
        let state = snapshot(node, &cfg.node_name, &latencies);
        *self
            .snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = state;
    }
}

/// This edge's view as a `SuperState`: itself and its peers, the measured
/// latencies, and the next-hop table in force.
fn snapshot(node: &Node, own_name: &str, latencies: &[(NodeId, NodeId, Latency)]) -> SuperState {
    let mut state = empty_state();
    let me = node.id();
    state
        .PeerInfo
        .insert(me.get(), peer(own_name.to_owned(), true, None));
    for id in node.peer_ids().filter(|p| !p.is_supernode()) {
        let endpoint = node.endpoint(id);
        let info = peer(format!("node {id}"), node.has_session(id), endpoint);
        state.PeerInfo.insert(id.get(), info);
    }
    for (src, dst, l) in latencies {
        state
            .Edges
            .entry(src.get())
            .or_default()
            .insert(dst.get(), l.as_secs_f64());
    }
    for (src, dst, next) in node.next_hops().iter() {
        state
            .NhTable
            .entry(src.get())
            .or_default()
            .insert(dst.get(), next.get());
    }
    state
}

fn peer(name: String, online: bool, endpoint: Option<std::net::SocketAddr>) -> PeerState {
    let (v4, v6) = match endpoint {
        Some(a) if a.is_ipv4() => (a.to_string(), String::new()),
        Some(a) => (String::new(), a.to_string()),
        None => (String::new(), String::new()),
    };
    PeerState {
        Name: name,
        // An edge does not track registrations; the page shows it as is.
        LastSeen: if online { "session up" } else { "no session" }.to_owned(),
        Online: online,
        EndpointV4: v4,
        EndpointV6: v6,
    }
}

fn empty_state() -> SuperState {
    SuperState {
        PeerInfo: BTreeMap::new(),
        Infinity: INFINITY,
        Edges: BTreeMap::new(),
        Edges_Nh: BTreeMap::new(),
        NhTable: BTreeMap::new(),
        Dist: BTreeMap::new(),
        Dist_noAC: BTreeMap::new(),
    }
}

/// The HTTP layer's view of an edge: `ShowState` only, read from the last
/// snapshot; every other call is refused.
struct EdgeWebApi {
    snapshot: Arc<Mutex<SuperState>>,
    password: Secret,
}

const NOT_A_SUPERNODE: &str = "this edge serves only its topology page";

impl SuperApi for EdgeWebApi {
    fn edge_tokens(&self, _node: NodeId) -> Vec<String> {
        Vec::new()
    }

    fn check_secret(&self, action: ManageAction, secret: &str) -> bool {
        let want = self.password.expose().as_bytes();
        action == ManageAction::ShowState
            && want.len() == secret.len()
            && bool::from(want.ct_eq(secret.as_bytes()))
    }

    fn peer_info(&self, _node: NodeId) -> Result<PeerInfo, ApiError> {
        Err(ApiError::NotFound(NOT_A_SUPERNODE.into()))
    }

    fn nh_table(&self, _node: NodeId) -> Result<NhTableInfo, ApiError> {
        Err(ApiError::NotFound(NOT_A_SUPERNODE.into()))
    }

    fn super_params(&self, _node: NodeId) -> Result<SuperParams, ApiError> {
        Err(ApiError::NotFound(NOT_A_SUPERNODE.into()))
    }

    fn post_node_info(&self, _node: NodeId, _info: NodeInfo) -> Result<(), ApiError> {
        Err(ApiError::NotFound(NOT_A_SUPERNODE.into()))
    }

    fn state(&self) -> SuperState {
        self.snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn add_peer(&self, _req: AddPeer) -> Result<String, ApiError> {
        Err(ApiError::NotFound(NOT_A_SUPERNODE.into()))
    }

    fn del_peer(&self, _req: DelPeer) -> Result<NodeId, ApiError> {
        Err(ApiError::NotFound(NOT_A_SUPERNODE.into()))
    }

    fn update_peer(&self, _req: UpdatePeer) -> Result<(), ApiError> {
        Err(ApiError::NotFound(NOT_A_SUPERNODE.into()))
    }

    fn update_super(&self, _req: UpdateSuper) -> Result<(), ApiError> {
        Err(ApiError::NotFound(NOT_A_SUPERNODE.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_show_state_with_the_exact_password_is_allowed() {
        let api = EdgeWebApi {
            snapshot: Arc::new(Mutex::new(empty_state())),
            password: Secret::new("pw"),
        };
        assert!(api.check_secret(ManageAction::ShowState, "pw"));
        assert!(!api.check_secret(ManageAction::ShowState, "pw "));
        assert!(!api.check_secret(ManageAction::ShowState, ""));
        assert!(!api.check_secret(ManageAction::AddPeer, "pw"));
        assert!(!api.check_secret(ManageAction::DelPeer, "pw"));
    }
}
