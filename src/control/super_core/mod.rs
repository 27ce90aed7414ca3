//! The supernode's control plane, sans-IO (docs/system.md#super-mode): who is
//! registered and where, the directed latency graph and its next-hop
//! table, the state hashes edges acknowledge, and the answers of the HTTP
//! APIs. It never sees a user frame.
//!
//! # Driving it
//!
//! ```text
//! let mut core = SuperCore::new(cfg, peers, now);
//! // from the supernode's nodes (one per address family):
//! core.handle_control(now, unix_now, family, from_peer, src, endpoint, kind, body);
//! core.handle_timeout(now);                 // when poll_timeout() is due
//! // from the HTTP layer (any thread, under the owner's lock):
//! core.peer_info(now, node); core.post_node_info(now, node, info); core.add_peer(now, …); …
//! // then, on the thread that owns the nodes:
//! while let Some(out) = core.poll_output() { Notify → node.send_control, AddPeer/RemovePeer → nodes, SavePeers → file }
//! ```
//!
//! Timers: the *sweep* (every second) marks edges without a Register for
//! `PeerAliveTimeout` offline; the *re-push* (every `RePushConfigInterval`)
//! repeats notices an online edge has not acknowledged; the router's own
//! expiry sweep and cool-down; the end of the *warm-up*.
//!
//! Warm-up: a (re)started supernode knows its peers but no latencies.
//! Tables solved while only some pairs have reported can route a frame
//! back to an edge still on its previous table (a loop until the TTL runs
//! out), so `UpdateNhTable` notices are held — edges keep the tables they
//! have — until every pair of online edges is in the solved graph, or
//! 2 × `SendPingInterval` after the first `Register`, whichever comes
//! first (see [`warm_up`]).
//!
//! `StaticMode` (`graph.static_mode`): the router serves the configured
//! `next_hop_table` as is — handed out with the same notices and hash as a
//! solved table, with no warm-up (it does not wait for latencies); reports
//! still fill the graph (`state()`), nothing is solved, and a peer added
//! live must be routed by the table.

mod state;
#[cfg(test)]
mod tests;
mod warm_up;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd_routing::{Latency, NextHopTable, Router, RouterEvent};

use super::api::{
    ApiError, DelPeer, NhTableInfo, NodeInfo, PeerEntry, PeerInfo, SuperParams, UpdatePeer,
    UpdateSuper, edge_token, shared_secret,
};
use super::hash::Fnv;
use super::honesty::{Honesty, Tolerance};
use super::{PROTOCOL_VERSION, router_config};
use crate::NodeId;
use crate::config::{
    GraphSettings, StaticNextHops, StaticTableProblem, SuperPeer, static_table_problems,
};
use crate::node::PeerConfig;
use crate::wg::keys::public_key;
use crate::wg::{PresharedKey, PrivateKey};
use crate::wire::control::{Body, Control, ServerAction};
use crate::wire::header::Kind;
use warm_up::WarmUp;

/// How often offline edges are looked for.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Most local endpoints kept per edge (reports beyond are ignored).
const MAX_LOCAL_ENDPOINTS: usize = 16;
/// Most undrained outputs; beyond, the oldest notices are dropped (they are
/// re-pushed anyway).
const MAX_OUTPUTS: usize = 4096;

/// `ServerUpdate` codes of a shutdown order (the params say more).
pub mod shutdown_code {
    pub const NODE_ID_MISMATCH: i32 = 1;
    pub const VERSION_MISMATCH: i32 = 2;
    pub const DELETED: i32 = 3;
}

/// Which of the supernode's two sessions a message came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// The timing parameters edges get from `edge/superparams`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub send_ping_interval: Duration,
    pub http_post_interval: Duration,
    pub peer_alive_timeout: Duration,
    pub damping_filter_radius: u32,
}

#[derive(Debug, Clone)]
pub struct SuperCoreConfig {
    /// `PrivKeyV4`: Edge API tokens and inter-edge PSKs derive from it.
    pub private_key_v4: PrivateKey,
    /// `PrivKeyV6`: an edge that knows only `PubKeyV6` derives its Edge API
    /// token from it (upstream accepts an edge on either key).
    pub private_key_v6: PrivateKey,
    pub use_psk_for_inter_edge: bool,
    pub repush_interval: Duration,
    pub params: Params,
    pub graph: GraphSettings,
    /// The configured `NextHopTable`: served as is with
    /// `graph.static_mode`, ignored otherwise.
    pub next_hop_table: StaticNextHops,
}

/// What the owner of the supernode's nodes must do.
#[derive(Debug, Clone, PartialEq)]
pub enum SuperOutput {
    /// Send a `ServerUpdate` through every session with `node`, addressed
    /// to `dst` (the NodeID the edge claims; normally `node` itself).
    Notify {
        node: NodeId,
        dst: u16,
        action: ServerAction,
        code: i32,
        params: String,
    },
    /// Add (or re-key) this edge on every node.
    AddPeer(PeerConfig),
    /// Forget this edge on every node (after its shutdown order went out).
    RemovePeer(NodeId),
    /// The peer list changed: write it back (`SaveNewPeers`).
    SavePeers(Vec<SuperPeer>),
}

#[derive(Debug)]
struct Edge {
    cfg: SuperPeer,
    /// Edge API tokens, from `PrivKeyV4` and from `PrivKeyV6` (derived
    /// once: an X25519 per request would be waste).
    tokens: [String; 2],
    endpoint_v4: Option<SocketAddr>,
    endpoint_v6: Option<SocketAddr>,
    local_endpoints: Vec<SocketAddr>,
    last_seen: Option<Instant>,
    last_seen_unix: Option<Duration>,
    online: bool,
    acked_peers: u64,
    acked_nh: u64,
    acked_params: u64,
    post_count: u64,
}

#[derive(Debug)]
pub struct SuperCore {
    cfg: SuperCoreConfig,
    edges: BTreeMap<NodeId, Edge>,
    router: Router,
    peer_hash: u64,
    params_hash: u64,
    next_sweep: Instant,
    next_repush: Instant,
    outputs: VecDeque<SuperOutput>,
    solves: u64,
    honesty: Honesty,
    warm_up: WarmUp,
}

/// A link report as it arrived (a `Pong` or a posted `LatencyReport`).
struct Report {
    from: u16,
    one_way_ns: i64,
    penalty_ns: i64,
    rtt_ns: i64,
    valid_for_ms: u32,
}

impl SuperCore {
    /// A supernode knowing `peers` (from its config), all offline until
    /// they register. Queues an `AddPeer` for each.
    pub fn new(cfg: SuperCoreConfig, peers: Vec<SuperPeer>, now: Instant) -> Self {
        let mut router = Router::new(
            router_config(
                &cfg.graph,
                cfg.params.damping_filter_radius,
                &cfg.next_hop_table,
            ),
            now,
        );
        // Edges appearing by the hundred at start-up: a few solves and
        // table pushes, not one each.
        router.set_burst_window(egd_routing::BURST_WINDOW);
        let cfg_static = cfg.graph.static_mode;
        let mut core = Self {
            next_repush: now + cfg.repush_interval,
            cfg,
            edges: BTreeMap::new(),
            router,
            peer_hash: 0,
            params_hash: 0,
            next_sweep: now + SWEEP_INTERVAL,
            outputs: VecDeque::new(),
            solves: 0,
            honesty: Honesty::new(Tolerance::default()),
            // A static table does not wait for latencies: nothing to hold.
            warm_up: if cfg_static {
                WarmUp::Over
            } else {
                WarmUp::new()
            },
        };
        for p in peers {
            core.insert_edge(now, p);
        }
        core.honesty.set_settle(core.cfg.params.send_ping_interval);
        core.rehash_peers();
        core.rehash_params();
        core
    }

    /// A control message an edge sent to the supernode, after WireGuard
    /// authenticated it as `from_peer`; `src` is the header's claimed
    /// source, `endpoint` where the session currently sees the edge.
    #[allow(clippy::too_many_arguments)] // one call site per family, each field distinct
    pub fn handle_control(
        &mut self,
        now: Instant,
        unix_now: Duration,
        family: Family,
        from_peer: NodeId,
        src: u16,
        endpoint: Option<SocketAddr>,
        kind: Kind,
        body: &[u8],
    ) {
        let Ok(msg) = Control::parse(kind, body) else {
            return;
        };
        if src != from_peer.get() {
            // The key is registered under another NodeID (docs/system.md#super-mode, step 5).
            self.push(SuperOutput::Notify {
                node: from_peer,
                dst: src,
                action: ServerAction::Shutdown,
                code: shutdown_code::NODE_ID_MISMATCH,
                params: format!(
                    "NodeID mismatch: this key is registered as NodeID {from_peer}, not {src}"
                ),
            });
            return;
        }
        match msg.body {
            Body::Register {
                version,
                peer_state,
                nh_state,
                params_state,
                ..
            } => {
                if version != PROTOCOL_VERSION {
                    self.notify(
                        from_peer,
                        ServerAction::Shutdown,
                        shutdown_code::VERSION_MISMATCH,
                        format!(
                            "version mismatch: supernode speaks {PROTOCOL_VERSION}, edge {version}"
                        ),
                    );
                    return;
                }
                self.register(
                    now,
                    unix_now,
                    family,
                    from_peer,
                    endpoint,
                    [peer_state, nh_state, params_state],
                );
            }
            // Only what the sender measured itself counts.
            Body::Pong {
                from,
                to,
                one_way_ns,
                valid_for_ms,
                penalty_us,
                rtt_us,
                ..
            } if to == src => self.report(
                now,
                to,
                Report {
                    from,
                    one_way_ns,
                    penalty_ns: i64::from(penalty_us) * 1000,
                    rtt_ns: i64::from(rtt_us) * 1000,
                    valid_for_ms,
                },
            ),
            _ => {}
        }
    }

    /// Runs due timers; early calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now >= self.next_sweep {
            self.next_sweep = now + SWEEP_INTERVAL;
            let timeout = self.cfg.params.peer_alive_timeout;
            let gone: Vec<NodeId> = self
                .edges
                .iter()
                .filter(|(_, e)| e.online && e.last_seen.is_none_or(|t| now >= t + timeout))
                .map(|(id, _)| *id)
                .collect();
            for id in &gone {
                if let Some(e) = self.edges.get_mut(id) {
                    e.online = false;
                }
                self.router.handle_node_removed(now, *id);
                self.honesty.forget_node(*id);
            }
            if !gone.is_empty() {
                self.rehash_peers();
                self.notify_stale();
            }
        }
        if now >= self.next_repush {
            self.next_repush = now + self.cfg.repush_interval;
            self.notify_stale();
        }
        self.router.handle_timeout(now);
        self.drain_router();
        self.check_warm_up(now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = self.next_sweep.min(self.next_repush);
        if let Some((t, _)) = self.router.poll_timeout() {
            next = next.min(t);
        }
        if let Some(t) = self.warm_up.deadline() {
            next = next.min(t);
        }
        Some(next)
    }

    /// Whether next-hop notices are still held after start (see the
    /// module docs).
    pub fn warming_up(&self) -> bool {
        !self.warm_up.is_over()
    }

    pub fn poll_output(&mut self) -> Option<SuperOutput> {
        self.outputs.pop_front()
    }

    /// The Edge API tokens `node` may present: the one derived from
    /// `PrivKeyV4` and the one from `PrivKeyV6` (an edge configured with
    /// only `PubKeyV6` holds the latter). None for an unknown node.
    pub fn edge_tokens(&self, node: NodeId) -> Vec<String> {
        self.edges
            .get(&node)
            .map(|e| e.tokens.to_vec())
            .unwrap_or_default()
    }

    /// `edge/peerinfo` for `node`; acknowledges the peer-list hash.
    pub fn peer_info(&mut self, node: NodeId) -> Result<PeerInfo, ApiError> {
        let asker = self.edges.get(&node).ok_or_else(|| unknown(node))?;
        let skip_local = asker.cfg.skip_local_ip;
        let peers = self
            .edges
            .iter()
            .filter(|(id, _)| **id != node)
            .map(|(id, e)| {
                let mut endpoints: Vec<String> = [e.endpoint_v4, e.endpoint_v6]
                    .into_iter()
                    .flatten()
                    .map(|a| a.to_string())
                    .collect();
                if !skip_local && !e.cfg.skip_local_ip {
                    endpoints.extend(e.local_endpoints.iter().map(|a| a.to_string()));
                }
                PeerEntry {
                    node_id: id.get(),
                    name: e.cfg.name.clone(),
                    public_key: e.cfg.public_key.to_base64(),
                    preshared_key: self
                        .cfg
                        .use_psk_for_inter_edge
                        .then(|| self.inter_edge_psk(node, *id).to_base64()),
                    endpoints,
                    online: e.online,
                }
            })
            .collect();
        let hash = self.peer_hash;
        if let Some(e) = self.edges.get_mut(&node) {
            e.acked_peers = hash;
        }
        Ok(PeerInfo {
            state_hash: hash,
            peers,
        })
    }

    /// `edge/nhtable` for `node`; acknowledges the table hash.
    pub fn nh_table(&mut self, node: NodeId) -> Result<NhTableInfo, ApiError> {
        let hash = self.router.state_hash().0;
        let e = self.edges.get_mut(&node).ok_or_else(|| unknown(node))?;
        e.acked_nh = hash;
        let mut table: BTreeMap<u16, BTreeMap<u16, u16>> = BTreeMap::new();
        for (src, dst, next) in self.router.next_hop_table().iter() {
            table
                .entry(src.get())
                .or_default()
                .insert(dst.get(), next.get());
        }
        Ok(NhTableInfo {
            state_hash: hash,
            table,
        })
    }

    /// `edge/superparams` for `node`; acknowledges the parameters hash.
    pub fn super_params(&mut self, node: NodeId) -> Result<SuperParams, ApiError> {
        let hash = self.params_hash;
        let p = self.cfg.params;
        let e = self.edges.get_mut(&node).ok_or_else(|| unknown(node))?;
        e.acked_params = hash;
        Ok(SuperParams {
            state_hash: hash,
            send_ping_interval_s: p.send_ping_interval.as_secs_f64(),
            http_post_interval_s: p.http_post_interval.as_secs_f64(),
            peer_alive_timeout_s: p.peer_alive_timeout.as_secs_f64(),
            damping_filter_radius: p.damping_filter_radius,
            additional_cost_ms: e.cfg.additional_cost.as_secs_f64() * 1000.0,
        })
    }

    /// `edge/post/nodeinfo`: bulk latency reports measured by `node`, and
    /// its local endpoints. Posts that do not count up are ignored.
    pub fn post_node_info(
        &mut self,
        now: Instant,
        node: NodeId,
        info: NodeInfo,
    ) -> Result<(), ApiError> {
        let e = self.edges.get_mut(&node).ok_or_else(|| unknown(node))?;
        if info.post_count <= e.post_count {
            return Ok(());
        }
        e.post_count = info.post_count;
        let mut locals: Vec<SocketAddr> = info
            .local_endpoints
            .iter()
            .filter_map(|s| s.parse().ok())
            .take(MAX_LOCAL_ENDPOINTS)
            .collect();
        locals.sort();
        locals.dedup();
        let locals_changed = e.local_endpoints != locals;
        e.local_endpoints = locals;
        let valid_ms =
            u32::try_from(self.cfg.params.peer_alive_timeout.as_millis()).unwrap_or(u32::MAX);
        for r in &info.latencies {
            // An edge reports only what it measured itself.
            if r.to == node.get() {
                let report = Report {
                    from: r.from,
                    one_way_ns: r.one_way_ns,
                    penalty_ns: r.penalty_ns,
                    rtt_ns: r.rtt_ns,
                    valid_for_ms: valid_ms,
                };
                self.report(now, r.to, report);
            }
        }
        if locals_changed {
            self.rehash_peers();
            self.notify_stale();
        }
        Ok(())
    }

    /// Adds an edge live (`manage/peer/add`, already validated with
    /// `config::new_super_peer`); the nodes learn it from the queued
    /// `AddPeer`, every edge from the peer-list notice.
    pub fn add_peer(&mut self, now: Instant, peer: SuperPeer) -> Result<(), ApiError> {
        if self.edges.contains_key(&peer.node_id) {
            return Err(ApiError::Conflict(format!(
                "NodeID: {} already exists",
                peer.node_id
            )));
        }
        if self
            .edges
            .values()
            .any(|e| e.cfg.public_key == peer.public_key)
        {
            return Err(ApiError::Conflict(
                "PubKey: already used by another peer".into(),
            ));
        }
        self.check_static_table(peer.node_id)?;
        self.insert_edge(now, peer);
        self.peers_changed();
        Ok(())
    }

    /// Removes an edge (`manage/peer/del`): it is ordered to shut down, then
    /// forgotten.
    pub fn del_peer(&mut self, now: Instant, req: &DelPeer) -> Result<NodeId, ApiError> {
        let id = match req {
            DelPeer::ById(id) => *id,
            DelPeer::ByPrivateKey(k) => {
                let public = public_key(k);
                self.edges
                    .iter()
                    .find(|(_, e)| e.cfg.public_key == public)
                    .map(|(id, _)| *id)
                    .ok_or_else(|| ApiError::NotFound("PrivKey: no peer has this key".into()))?
            }
        };
        if !self.edges.contains_key(&id) {
            return Err(unknown(id));
        }
        self.notify(
            id,
            ServerAction::Shutdown,
            shutdown_code::DELETED,
            "deleted from the network".into(),
        );
        self.edges.remove(&id);
        self.push(SuperOutput::RemovePeer(id));
        self.router.handle_node_removed(now, id);
        self.honesty.forget_node(id);
        self.drain_router();
        self.peers_changed();
        Ok(id)
    }

    /// With `StaticMode`, a new edge needs routes in the configured table
    /// (to and from every peer, through peers): the table is fixed until a
    /// restart, so an edge it does not route could not be reached.
    /// Upstream takes a new table with the request instead; egd's table
    /// stays the one in the file, which a restart re-reads.
    fn check_static_table(&self, new: NodeId) -> Result<(), ApiError> {
        if !self.cfg.graph.static_mode {
            return Ok(());
        }
        let mut nodes: std::collections::BTreeSet<NodeId> = self.edges.keys().copied().collect();
        nodes.insert(new);
        let fatal = static_table_problems(&self.cfg.next_hop_table, &nodes)
            .into_iter()
            .find(|p| !matches!(p, StaticTableProblem::UnknownNode { .. }));
        match fatal {
            None => Ok(()),
            Some(p) => {
                let (src, dst) = p.pair();
                Err(ApiError::BadRequest(format!(
                    "NodeID: StaticMode: NextHopTable[{src}][{dst}]: {}; add the routes of \
                     NodeID {new} to the supernode's NextHopTable and restart it",
                    p.reason()
                )))
            }
        }
    }

    /// `manage/peer/update`: AdditionalCost and SkipLocalIP, live.
    pub fn update_peer(&mut self, now: Instant, req: &UpdatePeer) -> Result<(), ApiError> {
        let id = NodeId::new(req.NodeID)
            .ok_or_else(|| ApiError::BadRequest(format!("NodeID: {} is reserved", req.NodeID)))?;
        let e = self.edges.get_mut(&id).ok_or_else(|| unknown(id))?;
        if let Some(ms) = req.AdditionalCost {
            if !(0.0..=1_000_000.0).contains(&ms) {
                return Err(ApiError::BadRequest(format!(
                    "AdditionalCost: {ms} is not between 0 and 1000000 ms"
                )));
            }
            e.cfg.additional_cost = Duration::from_secs_f64(ms / 1000.0);
            let cost = latency_of(e.cfg.additional_cost);
            self.router.handle_additional_cost(now, id, cost);
            self.drain_router();
        }
        if let Some(skip) = req.SkipLocalIP
            && let Some(e) = self.edges.get_mut(&id)
        {
            e.cfg.skip_local_ip = skip;
        }
        self.peers_changed();
        self.rehash_params();
        self.notify_stale();
        Ok(())
    }

    /// `manage/super/update`: timing parameters, live (edges fetch them).
    pub fn update_super(&mut self, req: &UpdateSuper) -> Result<(), ApiError> {
        let secs = |name: &str, v: Option<f64>| -> Result<Option<Duration>, ApiError> {
            match v {
                None => Ok(None),
                Some(s) if s > 0.0 && s <= 86_400.0 => Ok(Some(Duration::from_secs_f64(s))),
                Some(s) => Err(ApiError::BadRequest(format!(
                    "{name}: {s} is not between 0 and 86400 seconds"
                ))),
            }
        };
        let ping = secs("SendPingInterval", req.SendPingInterval)?;
        let post = secs("HttpPostInterval", req.HttpPostInterval)?;
        let alive = secs("PeerAliveTimeout", req.PeerAliveTimeout)?;
        let p = &mut self.cfg.params;
        p.send_ping_interval = ping.unwrap_or(p.send_ping_interval);
        self.honesty.set_settle(p.send_ping_interval);
        p.http_post_interval = post.unwrap_or(p.http_post_interval);
        p.peer_alive_timeout = alive.unwrap_or(p.peer_alive_timeout);
        if let Some(r) = req.DampingFilterRadius {
            p.damping_filter_radius = r.min(64);
            let rc = router_config(
                &self.cfg.graph,
                p.damping_filter_radius,
                &self.cfg.next_hop_table,
            );
            self.router.set_stability(rc.stability);
        }
        self.rehash_params();
        self.notify_stale();
        Ok(())
    }

    /// The current peers as config entries (for `SaveNewPeers`).
    pub fn peers(&self) -> Vec<SuperPeer> {
        self.edges.values().map(|e| e.cfg.clone()).collect()
    }

    /// The next-hop table in force.
    pub fn next_hop_table(&self) -> &NextHopTable {
        self.router.next_hop_table()
    }

    /// How many times the graph was solved (to time the solver).
    pub fn solves(&self) -> u64 {
        self.solves
    }

    pub fn is_online(&self, node: NodeId) -> bool {
        self.edges.get(&node).is_some_and(|e| e.online)
    }

    fn register(
        &mut self,
        now: Instant,
        unix_now: Duration,
        family: Family,
        node: NodeId,
        endpoint: Option<SocketAddr>,
        states: [u64; 3],
    ) {
        let Some(e) = self.edges.get_mut(&node) else {
            return;
        };
        self.warm_up
            .on_register(now, self.cfg.params.send_ping_interval);
        let mut changed = !e.online;
        e.online = true;
        e.last_seen = Some(now);
        e.last_seen_unix = Some(unix_now);
        let slot = match family {
            Family::V4 => &mut e.endpoint_v4,
            Family::V6 => &mut e.endpoint_v6,
        };
        if endpoint.is_some() && *slot != endpoint {
            *slot = endpoint;
            changed = true;
        }
        // What the edge says it has is what it has acknowledged.
        [e.acked_peers, e.acked_nh, e.acked_params] = states;
        if changed {
            self.rehash_peers();
            self.notify_stale();
        } else {
            self.notify_one(node);
        }
        // An answer to every Register, even with nothing new: the edge
        // knows the supernode is alive (`SuperNodeInfoTimeout`).
        self.notify(node, ServerAction::NoAction, 0, String::new());
        self.check_warm_up(now);
    }

    /// Ends the warm-up when its time is up or the solved graph has every
    /// pair of online edges, and sends the notices it held.
    fn check_warm_up(&mut self, now: Instant) {
        if self.warm_up.is_over() {
            return;
        }
        let online: Vec<NodeId> = self
            .edges
            .iter()
            .filter(|(_, e)| e.online)
            .map(|(id, _)| *id)
            .collect();
        let graph = self.router.graph();
        // One edge alone has no pair: that is not a full matrix yet.
        let complete = online.len() >= 2
            && online
                .iter()
                .all(|&a| online.iter().all(|&b| a == b || graph.was_applied(a, b)));
        if self.warm_up.check(now, complete) {
            self.notify_stale();
        }
    }

    /// One link report measured by `to`: its smoothed one-way delay, the
    /// jitter and loss terms, the round trip (0 = unknown). The router gets
    /// the sum of the first two, if the pair passes the honesty check.
    fn report(&mut self, now: Instant, to: u16, r: Report) {
        let (Some(from), Some(to)) = (NodeId::new(r.from), NodeId::new(to)) else {
            return;
        };
        if !self.edges.contains_key(&from) || !self.is_online(to) {
            return;
        }
        let cost_ns = r.one_way_ns.saturating_add(r.penalty_ns.max(0));
        let Some(latency) = Latency::from_micros(cost_ns / 1000) else {
            return;
        };
        if r.valid_for_ms == 0 {
            // Withdrawn: the reporter found the link down.
            self.honesty.forget(from, to);
            self.router.handle_link_down(now, from, to);
            self.drain_router();
            return;
        }
        let ttl = Duration::from_millis(u64::from(r.valid_for_ms))
            .min(self.cfg.params.peer_alive_timeout * 4);
        let rtt = (r.rtt_ns > 0).then_some(r.rtt_ns);
        if !self.honesty.check(now, from, to, r.one_way_ns, rtt, ttl) {
            return;
        }
        self.router.handle_report(now, from, to, latency, ttl);
        self.drain_router();
        self.check_warm_up(now);
    }

    /// Reports ignored because the pair's one-way sum contradicted the
    /// measured round trip (`egd_reports_rejected_total`).
    pub fn reports_rejected(&self) -> u64 {
        self.honesty.rejected()
    }

    fn insert_edge(&mut self, now: Instant, cfg: SuperPeer) {
        let id = cfg.node_id;
        let tokens = [&self.cfg.private_key_v4, &self.cfg.private_key_v6]
            .map(|key| edge_token(&shared_secret(key, &cfg.public_key), id));
        self.router
            .handle_additional_cost(now, id, latency_of(cfg.additional_cost));
        self.push(SuperOutput::AddPeer(PeerConfig {
            id,
            public_key: cfg.public_key.clone(),
            preshared_key: cfg.preshared_key.clone(),
            endpoint: None,
            is_static: false,
            persistent_keepalive: None,
        }));
        self.edges.insert(
            id,
            Edge {
                cfg,
                tokens,
                endpoint_v4: None,
                endpoint_v6: None,
                local_endpoints: Vec::new(),
                last_seen: None,
                last_seen_unix: None,
                online: false,
                acked_peers: 0,
                acked_nh: 0,
                acked_params: 0,
                post_count: 0,
            },
        );
        self.drain_router();
    }

    fn peers_changed(&mut self) {
        self.rehash_peers();
        self.push(SuperOutput::SavePeers(self.peers()));
        self.notify_stale();
    }

    fn drain_router(&mut self) {
        let mut changed = false;
        while let Some(ev) = self.router.poll_event() {
            if let RouterEvent::Recomputed { changed: c, .. } = ev {
                self.solves += 1;
                changed |= c;
            }
        }
        if changed {
            self.notify_stale();
        }
    }

    /// Notices to every online edge for each hash it has not acknowledged.
    fn notify_stale(&mut self) {
        let ids: Vec<NodeId> = self
            .edges
            .iter()
            .filter(|(_, e)| e.online)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.notify_one(id);
        }
    }

    fn notify_one(&mut self, id: NodeId) {
        let Some(e) = self.edges.get(&id) else {
            return;
        };
        let nh = self.router.state_hash().0;
        let stale = [
            (
                e.acked_peers != self.peer_hash,
                ServerAction::UpdatePeer,
                self.peer_hash,
            ),
            (
                e.acked_nh != nh && self.warm_up.is_over(),
                ServerAction::UpdateNhTable,
                nh,
            ),
            (
                e.acked_params != self.params_hash,
                ServerAction::UpdateSuperParams,
                self.params_hash,
            ),
        ];
        for (is_stale, action, hash) in stale {
            if is_stale {
                self.notify(id, action, 0, format!("{hash:016x}"));
            }
        }
    }

    fn notify(&mut self, node: NodeId, action: ServerAction, code: i32, params: String) {
        self.push(SuperOutput::Notify {
            node,
            dst: node.get(),
            action,
            code,
            params,
        });
    }

    fn push(&mut self, out: SuperOutput) {
        if self.outputs.len() >= MAX_OUTPUTS {
            // Keep structural changes; a lost notice is re-pushed.
            if let Some(i) = self
                .outputs
                .iter()
                .position(|o| matches!(o, SuperOutput::Notify { .. }))
            {
                self.outputs.remove(i);
            }
        }
        self.outputs.push_back(out);
    }

    fn rehash_peers(&mut self) {
        let mut h = Fnv::new();
        for (id, e) in &self.edges {
            h.u16(id.get());
            h.bytes(e.cfg.public_key.as_bytes());
            h.bool(e.online);
            h.bool(e.cfg.skip_local_ip);
            for a in [e.endpoint_v4, e.endpoint_v6].iter().flatten() {
                h.str(&a.to_string());
            }
            for a in &e.local_endpoints {
                h.str(&a.to_string());
            }
        }
        self.peer_hash = h.finish_nonzero();
    }

    fn rehash_params(&mut self) {
        let p = self.cfg.params;
        let mut h = Fnv::new();
        for d in [
            p.send_ping_interval,
            p.http_post_interval,
            p.peer_alive_timeout,
        ] {
            h.u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        }
        h.u64(u64::from(p.damping_filter_radius));
        for (id, e) in &self.edges {
            h.u16(id.get());
            h.u64(u64::try_from(e.cfg.additional_cost.as_nanos()).unwrap_or(u64::MAX));
        }
        self.params_hash = h.finish_nonzero();
    }

    /// The PSK for the session between edges `a` and `b`: the same for both
    /// orders, secret to everyone but the supernode and the two edges.
    fn inter_edge_psk(&self, a: NodeId, b: NodeId) -> PresharedKey {
        use blake2::digest::{KeyInit, Mac};
        type Blake2sMac256 = blake2::Blake2sMac<blake2::digest::consts::U32>;
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let mut out = [0u8; 32];
        if let Ok(mut mac) =
            <Blake2sMac256 as KeyInit>::new_from_slice(self.cfg.private_key_v4.as_bytes())
        {
            mac.update(b"egd inter-edge psk v1");
            mac.update(&lo.get().to_be_bytes());
            mac.update(&hi.get().to_be_bytes());
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        PresharedKey::from_bytes(out)
    }
}

fn unknown(node: NodeId) -> ApiError {
    ApiError::NotFound(format!("NodeID: {node} is not a peer of this supernode"))
}

fn latency_of(d: Duration) -> Latency {
    Latency::from_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(Latency::MAX_ABS)
}

/// Carries out one output on the supernode's nodes (one per address
/// family): notices go through every session with the edge, peers are
/// added to or removed from every node. Returns the peer list to save for
/// `SavePeers`, which is the caller's I/O.
pub fn apply_output(
    now: Instant,
    nodes: &mut [&mut crate::node::Node],
    out: SuperOutput,
) -> Option<Vec<SuperPeer>> {
    match out {
        SuperOutput::Notify {
            node,
            dst,
            action,
            code,
            params,
        } => {
            let msg = Control {
                seq: 0,
                body: Body::ServerUpdate {
                    action,
                    code,
                    params: &params,
                },
            };
            for n in nodes.iter_mut() {
                if n.endpoint(node).is_some() {
                    n.send_control_via(now, node, dst, &msg);
                }
            }
            None
        }
        SuperOutput::AddPeer(p) => {
            for n in nodes.iter_mut() {
                n.add_peer(&p);
            }
            None
        }
        SuperOutput::RemovePeer(id) => {
            for n in nodes.iter_mut() {
                n.remove_peer(id);
            }
            None
        }
        SuperOutput::SavePeers(peers) => Some(peers),
    }
}
