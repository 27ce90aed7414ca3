//! The supernode's HTTP APIs as data (docs/system.md#http-apis): the JSON bodies of the
//! Edge API and the Manage API, and [`SuperApi`], the one trait the HTTP
//! layer (`crate::daemon::http`) calls. Keeping the shapes here, free of any
//! HTTP crate, lets the sans-IO supernode answer them and lets tests check
//! them without a server.
//!
//! Edge API (authenticated per node, see [`edge_token`]):
//! - `GET  {prefix}/edge/peerinfo?NodeID=N`   → [`PeerInfo`]
//! - `GET  {prefix}/edge/nhtable?NodeID=N`    → [`NhTableInfo`]
//! - `GET  {prefix}/edge/superparams?NodeID=N` → [`SuperParams`]
//! - `POST {prefix}/edge/post/nodeinfo?NodeID=N` with [`NodeInfo`] → 204
//!
//! Manage API (one secret per action, `?Password=` or `Authorization: Bearer`):
//! - `GET  {prefix}/manage/super/state`  (ShowState)  → [`SuperState`]
//! - `POST {prefix}/manage/peer/add`     (AddPeer)    form [`AddPeer`] → edge config YAML
//! - `POST {prefix}/manage/peer/del`     (DelPeer, or `PrivKey=` of the edge itself) form [`DelPeer`]
//! - `POST {prefix}/manage/peer/update`  (UpdatePeer) form [`UpdatePeer`]
//! - `POST {prefix}/manage/super/update` (UpdateSuper) form [`UpdateSuper`]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::NodeId;
use crate::wg::{PrivateKey, PublicKey};

/// Distances and latencies at or above this are "unreachable" in
/// [`SuperState`] (the original's `Infinity`, 99999 s).
pub const INFINITY: f64 = 99999.0;

/// Everything an edge needs to know about its peers. `state_hash` is the
/// supernode's peer-list hash; fetching it acknowledges the notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerInfo {
    pub state_hash: u64,
    pub peers: Vec<PeerEntry>,
}

/// One other edge, as the supernode knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerEntry {
    pub node_id: u16,
    pub name: String,
    /// Base64 WireGuard public key.
    pub public_key: String,
    /// Base64 pre-shared key for the session between the asking edge and
    /// this peer (`UsePSKForInterEdge`), derived per pair; absent otherwise.
    pub preshared_key: Option<String>,
    /// Candidate endpoints in the order to try (`ConnNextTry` apart): the
    /// external IPv4 and IPv6 addresses the supernode saw, then the peer's
    /// reported local addresses (unless either side has `SkipLocalIP`).
    pub endpoints: Vec<String>,
    /// Whether the supernode currently considers this peer alive.
    pub online: bool,
}

/// The next-hop table, `table[src][dst] = next hop`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NhTableInfo {
    pub state_hash: u64,
    pub table: BTreeMap<u16, BTreeMap<u16, u16>>,
}

/// Timing parameters the supernode sets for every edge (live-changeable by
/// `manage/super/update`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuperParams {
    pub state_hash: u64,
    pub send_ping_interval_s: f64,
    pub http_post_interval_s: f64,
    pub peer_alive_timeout_s: f64,
    pub damping_filter_radius: u32,
    /// This edge's `AdditionalCost` in ms, as the supernode has it.
    pub additional_cost_ms: f64,
}

/// An edge's bulk report (`HttpPostInterval`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Counts up with every post; stale or replayed posts are ignored.
    pub post_count: u64,
    pub latencies: Vec<LatencyReport>,
    /// Local `ip:port` addresses of this edge (empty with `SkipLocalIP`).
    pub local_endpoints: Vec<String>,
}

/// One measured one-way latency `from → to` as seen by `to`'s clock minus
/// `from`'s (may be negative; offsets cancel along paths, docs/system.md#one-way-latency).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    pub from: u16,
    pub to: u16,
    pub one_way_ns: i64,
    /// Jitter and loss terms of the link cost (ns, ≥ 0). The link is
    /// routed on `one_way_ns + penalty_ns`.
    pub penalty_ns: i64,
    /// The round trip `from`↔`to` as `to` measured it (ns; 0 = unknown).
    pub rtt_ns: i64,
}

/// `manage/super/state`, in the original's shape (key names kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub struct SuperState {
    pub PeerInfo: BTreeMap<u16, PeerState>,
    /// The number standing for "unreachable" in the tables below.
    pub Infinity: f64,
    /// One-way latency matrix in seconds, `Edges[src][dst]`.
    pub Edges: BTreeMap<u16, BTreeMap<u16, f64>>,
    /// The same with each destination's `AdditionalCost` added.
    pub Edges_Nh: BTreeMap<u16, BTreeMap<u16, f64>>,
    pub NhTable: BTreeMap<u16, BTreeMap<u16, u16>>,
    /// Path lengths in seconds with additional cost, and without.
    pub Dist: BTreeMap<u16, BTreeMap<u16, f64>>,
    pub Dist_noAC: BTreeMap<u16, BTreeMap<u16, f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub struct PeerState {
    pub Name: String,
    /// RFC 3339 time of the last Register, or "never".
    pub LastSeen: String,
    pub Online: bool,
    pub EndpointV4: String,
    pub EndpointV6: String,
}

/// `manage/peer/add` form fields (the original's names).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(non_snake_case)]
pub struct AddPeer {
    pub NodeID: u16,
    pub Name: String,
    pub PubKey: String,
    #[serde(default)]
    pub PSKey: Option<String>,
    #[serde(default)]
    pub AdditionalCost: Option<f64>,
    #[serde(default)]
    pub SkipLocalIP: Option<bool>,
}

/// `manage/peer/del`: by NodeID with the DelPeer secret, or by the edge's
/// own private key (an edge leaving by itself, no secret needed).
#[derive(Debug, Clone, PartialEq)]
pub enum DelPeer {
    ById(NodeId),
    ByPrivateKey(PrivateKey),
}

/// `manage/peer/update` form fields: absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(non_snake_case)]
pub struct UpdatePeer {
    pub NodeID: u16,
    #[serde(default)]
    pub AdditionalCost: Option<f64>,
    #[serde(default)]
    pub SkipLocalIP: Option<bool>,
}

/// `manage/super/update` form fields: absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(non_snake_case)]
pub struct UpdateSuper {
    #[serde(default)]
    pub SendPingInterval: Option<f64>,
    #[serde(default)]
    pub HttpPostInterval: Option<f64>,
    #[serde(default)]
    pub PeerAliveTimeout: Option<f64>,
    #[serde(default)]
    pub DampingFilterRadius: Option<u32>,
}

/// Why an API call was refused; the HTTP layer maps these to status codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: a field is missing or invalid (message names it).
    BadRequest(String),
    /// 404: no such node.
    NotFound(String),
    /// 409: e.g. the NodeID or public key is taken.
    Conflict(String),
    /// 500: e.g. the config file could not be written.
    Internal(String),
}

/// The management actions, each with its own secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManageAction {
    ShowState,
    AddPeer,
    DelPeer,
    UpdatePeer,
    UpdateSuper,
}

/// What the HTTP layer asks of the supernode. Implemented by the supernode
/// daemon over its state machine; every call is quick (no I/O but the
/// config file write of `SaveNewPeers`) and may come from any thread.
pub trait SuperApi: Send + Sync + 'static {
    /// The API tokens node `node` may present, any one of them (see
    /// [`edge_token`]); empty if the node is unknown.
    fn edge_tokens(&self, node: NodeId) -> Vec<String>;
    /// Whether `secret` is the one configured for `action` (constant time;
    /// an action without a configured secret is refused).
    fn check_secret(&self, action: ManageAction, secret: &str) -> bool;
    fn peer_info(&self, node: NodeId) -> Result<PeerInfo, ApiError>;
    fn nh_table(&self, node: NodeId) -> Result<NhTableInfo, ApiError>;
    fn super_params(&self, node: NodeId) -> Result<SuperParams, ApiError>;
    fn post_node_info(&self, node: NodeId, info: NodeInfo) -> Result<(), ApiError>;
    fn state(&self) -> SuperState;
    /// Adds the peer live and returns a ready edge config (YAML) made from
    /// `EdgeTemplate`.
    fn add_peer(&self, req: AddPeer) -> Result<String, ApiError>;
    /// Returns the deleted node's id.
    fn del_peer(&self, req: DelPeer) -> Result<NodeId, ApiError>;
    fn update_peer(&self, req: UpdatePeer) -> Result<(), ApiError>;
    fn update_super(&self, req: UpdateSuper) -> Result<(), ApiError>;
}

/// The Edge API token of node `node`: a keyed BLAKE2s-256 MAC, hex, whose
/// key is the X25519 shared secret of the edge's key pair and one of the
/// supernode's key pairs — the IPv4 one, or the IPv6 one for an edge that
/// knows only `PubKeyV6` (upstream accepts an edge registered on either
/// key). Both sides compute it from keys they already hold (the edge: its
/// private key and `PubKeyV4`, else `PubKeyV6`; the supernode: `PrivKeyV4`
/// and `PrivKeyV6` with the edge's `PubKey`, accepting either result), so
/// no extra secret is configured, and nobody without one of the private
/// keys can forge it.
pub fn edge_token(shared_secret: &[u8; 32], node: NodeId) -> String {
    use blake2::digest::{KeyInit, Mac};
    type Blake2sMac256 = blake2::Blake2sMac<blake2::digest::consts::U32>;
    // A 32-byte key is always valid for BLAKE2s.
    let Ok(mut mac) = <Blake2sMac256 as KeyInit>::new_from_slice(shared_secret) else {
        return String::new();
    };
    mac.update(b"egd edge api v1");
    mac.update(&node.get().to_be_bytes());
    let tag = mac.finalize().into_bytes();
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token an edge presents: derived with the supernode's `PubKeyV4`,
/// else its `PubKeyV6` (an edge may know only one); `None` without either.
pub fn edge_token_of_edge(
    edge_private: &PrivateKey,
    super_v4: Option<&PublicKey>,
    super_v6: Option<&PublicKey>,
    node: NodeId,
) -> Option<String> {
    let super_key = super_v4.or(super_v6)?;
    Some(edge_token(&shared_secret(edge_private, super_key), node))
}

/// The X25519 shared secret of `private` and `public` (for [`edge_token`]).
pub fn shared_secret(private: &PrivateKey, public: &PublicKey) -> [u8; 32] {
    crate::wg::keys::diffie_hellman(private, public)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wg::keys::{private_key_from_random, public_key};

    #[test]
    fn both_sides_compute_the_same_token_and_others_cannot() {
        let edge = private_key_from_random([1; 32]);
        let sup = private_key_from_random([2; 32]);
        let other = private_key_from_random([3; 32]);
        let id = NodeId::new(7).unwrap();
        let at_edge = edge_token(&shared_secret(&edge, &public_key(&sup)), id);
        let at_super = edge_token(&shared_secret(&sup, &public_key(&edge)), id);
        assert_eq!(at_edge, at_super);
        assert_eq!(at_edge.len(), 64);
        let forged = edge_token(&shared_secret(&other, &public_key(&sup)), id);
        assert_ne!(forged, at_super);
        let other_id = edge_token(
            &shared_secret(&edge, &public_key(&sup)),
            NodeId::new(8).unwrap(),
        );
        assert_ne!(other_id, at_super);
    }
}
