//! An edge's side of super mode, sans-IO (docs/system.md#super-mode): register with
//! the supernode, report measured one-way latencies (a `Pong` per ping, and
//! in bulk over the Edge API), fetch what a `ServerUpdate` says changed,
//! apply it to the node, and try each peer's candidate endpoints in turn
//! until a session comes up (`ConnNextTry`).
//!
//! # Driving it
//!
//! ```text
//! let mut sync = EdgeSync::new(cfg, now);
//! sync.handle_event(now, &mut node, &event);   // every NodeEvent of the node
//! sync.handle_timeout(now, &mut node);         // when poll_timeout() is due
//! while let Some(req) = sync.poll_request() {  // HTTP and process-level work
//!     Fetch* → call the Edge API, then handle_peer_info / handle_nh_table /
//!              handle_super_params (or handle_fetch_failed)
//!     PostNodeInfo → post it;  Shutdown → stop;  SavePeers → write the config
//! }
//! ```
//!
//! Timers: *register* every `SendPingInterval` (the supernode's value once
//! fetched; it is also the keepalive of the supernode sessions); *post*
//! every `HttpPostInterval`; *next try* every `ConnNextTry` (advance peers
//! without a session to their next candidate endpoint); *reset* every
//! `ResetEndPointInterval` (peers without a session start again from their
//! first candidate, the address the supernode saw).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd_routing::NextHopTable;

use super::PROTOCOL_VERSION;
use super::api::{LatencyReport, NhTableInfo, NodeInfo, PeerInfo, SuperParams};
use super::endpoints::FamilyPolicy;
use crate::NodeId;
use crate::config::{EdgePeer, Endpoint};
use crate::node::{LinkCost, Node, NodeEvent, PeerConfig};
use crate::wg::{PresharedKey, PublicKey};
use crate::wire::control::{Body, Control, ServerAction};
use crate::wire::header::Kind;

/// Bulk post: latest sample per neighbour, so this bounds it.
const MAX_REPORTS: usize = 4096;
/// Undrained requests beyond this are dropped (fetches are re-triggered by
/// the next notice, posts carry the latest samples anyway).
const MAX_REQUESTS: usize = 64;

#[derive(Debug, Clone)]
pub struct EdgeSyncConfig {
    pub node_id: NodeId,
    /// Until the supernode's parameters arrive.
    pub send_ping_interval: Duration,
    pub http_post_interval: Duration,
    pub peer_alive_timeout: Duration,
    pub conn_next_try: Duration,
    /// `ResetEndPointInterval`; zero disables it.
    pub reset_endpoint_interval: Duration,
    /// Local `ip:port` endpoints to report (empty with `SkipLocalIP`).
    pub local_endpoints: Vec<SocketAddr>,
    /// Peers whose endpoint the edge's own config pins (`Static` with an
    /// `EndPoint`): keys come from the supernode, the address from here.
    pub pinned: BTreeMap<NodeId, SocketAddr>,
    /// `SaveNewPeers`: ask the owner to write learned peers to the config.
    pub save_new_peers: bool,
    /// `DisabledAf`/`AfPrefer`: which candidates to try, in which order.
    pub families: FamilyPolicy,
}

/// Which Edge API document to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    PeerInfo = 0,
    NhTable = 1,
    SuperParams = 2,
}

/// Work for the owner: HTTP calls and process-level actions.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeRequest {
    Fetch(Fetch),
    PostNodeInfo(NodeInfo),
    /// The supernode ordered this edge to stop.
    Shutdown {
        code: i32,
        reason: String,
    },
    /// `SaveNewPeers`: the peers now known, for the config's `Peers:`.
    SavePeers(Vec<EdgePeer>),
}

#[derive(Debug)]
struct Candidates {
    endpoints: Vec<SocketAddr>,
    index: usize,
}

#[derive(Debug)]
pub struct EdgeSync {
    cfg: EdgeSyncConfig,
    /// Hashes of what is applied: peer list, next-hop table, parameters.
    applied: [u64; 3],
    in_flight: [bool; 3],
    register_interval: Duration,
    next_register: Instant,
    post_interval: Duration,
    next_post: Instant,
    post_count: u64,
    reports: BTreeMap<u16, LinkCost>,
    candidates: BTreeMap<NodeId, Candidates>,
    next_try: Instant,
    next_reset: Option<Instant>,
    requests: VecDeque<EdgeRequest>,
    /// When the supernode was last heard from (a notice or an answer).
    last_contact: Option<Instant>,
    /// The supernode's table, to put back after a P2P fallback.
    last_table: Option<NextHopTable>,
    /// The last cost reported per neighbour, and when: with fast pings
    /// (while traffic flows) only changes and refreshes are reported.
    last_pong: BTreeMap<NodeId, (Instant, i64)>,
}

impl EdgeSync {
    /// Registers at once, then on schedule.
    pub fn new(cfg: EdgeSyncConfig, now: Instant) -> Self {
        let next_reset =
            (!cfg.reset_endpoint_interval.is_zero()).then(|| now + cfg.reset_endpoint_interval);
        Self {
            register_interval: cfg.send_ping_interval,
            next_register: now,
            post_interval: cfg.http_post_interval,
            next_post: now + cfg.http_post_interval,
            next_try: now + cfg.conn_next_try,
            next_reset,
            cfg,
            applied: [0; 3],
            in_flight: [false; 3],
            post_count: 0,
            reports: BTreeMap::new(),
            candidates: BTreeMap::new(),
            requests: VecDeque::new(),
            last_contact: None,
            last_table: None,
            last_pong: BTreeMap::new(),
        }
    }

    /// Whether the supernode was heard from within `timeout`
    /// (`SuperNodeInfoTimeout`); never before its first answer.
    pub fn supernode_alive(&self, now: Instant, timeout: Duration) -> bool {
        self.last_contact.is_some_and(|t| now < t + timeout)
    }

    /// When the supernode, silent since it was last heard from, has been
    /// so for `timeout` (`None`: never heard from).
    pub fn silent_at(&self, timeout: Duration) -> Option<Instant> {
        self.last_contact.map(|t| t + timeout)
    }

    /// Puts the supernode's last table back in force (after a fallback).
    pub fn reinstall_table(&self, node: &mut Node) {
        if let Some(t) = &self.last_table {
            node.set_next_hops(t.clone());
        }
    }

    /// An event of the node this edge drives.
    pub fn handle_event(&mut self, now: Instant, node: &mut Node, event: &NodeEvent) {
        match event {
            NodeEvent::LatencyMeasured { from, cost, .. } => {
                self.report(now, node, *from, *cost);
            }
            NodeEvent::LinkDown { from } => {
                // Withdraw the link at once (`valid_for` 0): the supernode
                // routes around it now, not when the report expires.
                self.last_pong.remove(from);
                self.reports.remove(&from.get());
                let gone = LinkCost {
                    one_way_ns: 0,
                    penalty_ns: 0,
                    rtt_ns: None,
                    loss_ppm: 0,
                };
                self.send_pong(now, node, *from, &gone, 0);
            }
            NodeEvent::Control {
                from_peer,
                src,
                kind: Kind::ServerUpdate,
                body,
                ..
            } if from_peer.is_supernode() && *src == NodeId::SUPERNODE_DST => {
                if let Ok(Control {
                    body:
                        Body::ServerUpdate {
                            action,
                            code,
                            params,
                        },
                    ..
                }) = Control::parse(Kind::ServerUpdate, body)
                {
                    self.last_contact = Some(now);
                    self.server_update(action, code, params);
                }
            }
            _ => {}
        }
    }

    /// Runs due timers; early calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant, node: &mut Node) {
        if now >= self.next_register {
            self.next_register = now + self.register_interval;
            let register = Control {
                seq: 0,
                body: Body::Register {
                    version: PROTOCOL_VERSION,
                    peer_state: self.applied[Fetch::PeerInfo as usize],
                    nh_state: self.applied[Fetch::NhTable as usize],
                    params_state: self.applied[Fetch::SuperParams as usize],
                    post_count: self.post_count,
                },
            };
            node.send_control(now, NodeId::SUPERNODE_DST, &register);
        }
        if now >= self.next_post {
            self.next_post = now + self.post_interval;
            self.post_count += 1;
            let latencies = self
                .reports
                .iter()
                .map(|(from, c)| LatencyReport {
                    from: *from,
                    to: self.cfg.node_id.get(),
                    one_way_ns: c.one_way_ns,
                    penalty_ns: c.penalty_ns,
                    rtt_ns: c.rtt_ns.unwrap_or(0),
                })
                .collect();
            self.reports.clear();
            self.request(EdgeRequest::PostNodeInfo(NodeInfo {
                post_count: self.post_count,
                latencies,
                local_endpoints: self
                    .cfg
                    .local_endpoints
                    .iter()
                    .map(|a| a.to_string())
                    .collect(),
            }));
        }
        if now >= self.next_try {
            self.next_try = now + self.cfg.conn_next_try;
            for (id, c) in &mut self.candidates {
                if !node.has_session(*id) && c.endpoints.len() > 1 {
                    c.index = (c.index + 1) % c.endpoints.len();
                    node.set_endpoint(*id, c.endpoints[c.index]);
                }
            }
        }
        if let Some(reset) = self.next_reset
            && now >= reset
        {
            self.next_reset = Some(now + self.cfg.reset_endpoint_interval);
            for (id, c) in &mut self.candidates {
                if !node.has_session(*id)
                    && let Some(first) = c.endpoints.first()
                {
                    c.index = 0;
                    node.set_endpoint(*id, *first);
                }
            }
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = self.next_register.min(self.next_post).min(self.next_try);
        if let Some(r) = self.next_reset {
            next = next.min(r);
        }
        Some(next)
    }

    pub fn poll_request(&mut self) -> Option<EdgeRequest> {
        self.requests.pop_front()
    }

    /// The peer list arrived: add, re-key and remove neighbours to match.
    pub fn handle_peer_info(&mut self, now: Instant, node: &mut Node, info: &PeerInfo) {
        self.in_flight[Fetch::PeerInfo as usize] = false;
        self.last_contact = Some(now);
        let me = self.cfg.node_id;
        let mut listed = Vec::with_capacity(info.peers.len());
        for entry in &info.peers {
            let Some(id) = NodeId::new(entry.node_id).filter(|id| *id != me) else {
                continue;
            };
            let Ok(public_key) = PublicKey::parse(&entry.public_key) else {
                continue;
            };
            let preshared_key = entry
                .preshared_key
                .as_deref()
                .and_then(|k| PresharedKey::parse(k).ok());
            let mut endpoints: Vec<SocketAddr> = entry
                .endpoints
                .iter()
                .filter_map(|e| e.parse().ok())
                .collect();
            // A disabled family has no socket to send from: never a candidate.
            self.cfg.families.order(&mut endpoints);
            listed.push(id);
            let pinned = self.cfg.pinned.get(&id).copied();
            node.add_peer(&PeerConfig {
                id,
                public_key,
                preshared_key,
                endpoint: pinned.or_else(|| endpoints.first().copied()),
                is_static: pinned.is_some(),
                persistent_keepalive: None,
            });
            if let Some(addr) = pinned {
                node.set_endpoint(id, addr);
                continue;
            }
            let c = self.candidates.entry(id).or_insert(Candidates {
                endpoints: Vec::new(),
                index: 0,
            });
            if c.endpoints != endpoints {
                c.endpoints = endpoints;
                c.index = 0;
                if !node.has_session(id)
                    && let Some(first) = c.endpoints.first()
                {
                    node.set_endpoint(id, *first);
                }
            }
        }
        let gone: Vec<NodeId> = node
            .peer_ids()
            .filter(|id| !id.is_supernode() && !listed.contains(id))
            .filter(|id| !self.cfg.pinned.contains_key(id))
            .collect();
        for id in gone {
            node.remove_peer(id);
            self.candidates.remove(&id);
        }
        self.applied[Fetch::PeerInfo as usize] = info.state_hash;
        if self.cfg.save_new_peers {
            let peers = info
                .peers
                .iter()
                .filter_map(|e| {
                    let id = NodeId::new(e.node_id).filter(|id| *id != me)?;
                    Some(EdgePeer {
                        node_id: id,
                        public_key: PublicKey::parse(&e.public_key).ok()?,
                        preshared_key: e
                            .preshared_key
                            .as_deref()
                            .and_then(|k| PresharedKey::parse(k).ok()),
                        endpoint: self
                            .cfg
                            .pinned
                            .get(&id)
                            .or(node.endpoint(id).as_ref())
                            .map(|a| Endpoint::Addr(*a)),
                        persistent_keepalive: None,
                        is_static: self.cfg.pinned.contains_key(&id),
                    })
                })
                .collect();
            self.request(EdgeRequest::SavePeers(peers));
        }
    }

    /// A configured `Static` peer's endpoint (re)resolved to `addr` (DNS is
    /// the owner's job): pin it from now on, as if configured as `addr`.
    pub fn set_pinned(&mut self, node: &mut Node, id: NodeId, addr: SocketAddr) {
        self.cfg.pinned.insert(id, addr);
        self.candidates.remove(&id);
        node.set_endpoint(id, addr);
        node.set_static(id, true);
    }

    /// The next-hop table arrived: install it (the supernode is back, if
    /// it was gone).
    pub fn handle_nh_table(&mut self, now: Instant, node: &mut Node, info: &NhTableInfo) {
        self.in_flight[Fetch::NhTable as usize] = false;
        self.last_contact = Some(now);
        let mut table = NextHopTable::new();
        for (src, row) in &info.table {
            for (dst, next) in row {
                if let (Some(s), Some(d), Some(n)) =
                    (NodeId::new(*src), NodeId::new(*dst), NodeId::new(*next))
                {
                    table.insert(s, d, n);
                }
            }
        }
        node.set_next_hops(table.clone());
        self.last_table = Some(table);
        self.applied[Fetch::NhTable as usize] = info.state_hash;
    }

    /// The supernode's timing parameters arrived: apply them.
    pub fn handle_super_params(&mut self, now: Instant, node: &mut Node, p: &SuperParams) {
        self.in_flight[Fetch::SuperParams as usize] = false;
        self.last_contact = Some(now);
        let secs = |s: f64, fallback: Duration| {
            if s.is_finite() && s > 0.0 && s <= 86_400.0 {
                Duration::from_secs_f64(s)
            } else {
                fallback
            }
        };
        let ping = secs(p.send_ping_interval_s, self.register_interval);
        if ping != self.register_interval {
            self.register_interval = ping;
            self.next_register = self.next_register.min(now + ping);
            node.set_ping_interval(Some(ping), now);
        }
        let post = secs(p.http_post_interval_s, self.post_interval);
        if post != self.post_interval {
            self.post_interval = post;
            self.next_post = self.next_post.min(now + post);
        }
        self.cfg.peer_alive_timeout = secs(p.peer_alive_timeout_s, self.cfg.peer_alive_timeout);
        self.applied[Fetch::SuperParams as usize] = p.state_hash;
    }

    /// A fetch failed; the next notice (or re-push) tries again.
    pub fn handle_fetch_failed(&mut self, what: Fetch) {
        self.in_flight[what as usize] = false;
    }

    /// The hashes this edge has applied (peer list, table, parameters).
    pub fn applied_hashes(&self) -> [u64; 3] {
        self.applied
    }

    fn report(&mut self, now: Instant, node: &mut Node, from: NodeId, cost: LinkCost) {
        if self.reports.len() < MAX_REPORTS || self.reports.contains_key(&from.get()) {
            self.reports.insert(from.get(), cost);
        }
        // Fast pings: report a change at once, the same value only as a
        // refresh once per regular interval. A change counts from 1 ms or
        // 5 % of half the round trip (the offset in the one-way value says
        // nothing about the link's size).
        let value = cost.one_way_ns.saturating_add(cost.penalty_ns);
        if let Some((at, last)) = self.last_pong.get(&from) {
            let change = value.abs_diff(*last);
            let threshold = (cost.rtt_ns.unwrap_or(0).unsigned_abs() / 40).max(1_000_000);
            if now < *at + self.register_interval && change < threshold {
                return;
            }
        }
        self.last_pong.insert(from, (now, value));
        let valid_for_ms =
            u32::try_from(self.cfg.peer_alive_timeout.as_millis()).unwrap_or(u32::MAX);
        self.send_pong(now, node, from, &cost, valid_for_ms);
    }

    fn send_pong(
        &mut self,
        now: Instant,
        node: &mut Node,
        from: NodeId,
        cost: &LinkCost,
        valid_for_ms: u32,
    ) {
        let pong = Control {
            seq: 0,
            body: Body::Pong {
                request_id: 0,
                from: from.get(),
                to: self.cfg.node_id.get(),
                one_way_ns: cost.one_way_ns,
                valid_for_ms,
                additional_cost_us: 0,
                penalty_us: micros_u32(cost.penalty_ns),
                rtt_us: cost.rtt_ns.map_or(0, micros_u32),
            },
        };
        node.send_control(now, NodeId::SUPERNODE_DST, &pong);
    }

    fn server_update(&mut self, action: ServerAction, code: i32, params: &str) {
        let fetch = match action {
            ServerAction::Shutdown => {
                self.request(EdgeRequest::Shutdown {
                    code,
                    reason: params.chars().take(200).collect(),
                });
                return;
            }
            ServerAction::UpdatePeer => Fetch::PeerInfo,
            ServerAction::UpdateNhTable => Fetch::NhTable,
            ServerAction::UpdateSuperParams => Fetch::SuperParams,
            ServerAction::NoAction => return,
        };
        // The notice carries the new hash; one already applied needs nothing.
        if u64::from_str_radix(params, 16).ok() == Some(self.applied[fetch as usize]) {
            return;
        }
        if !self.in_flight[fetch as usize] {
            self.in_flight[fetch as usize] = true;
            self.request(EdgeRequest::Fetch(fetch));
        }
    }

    fn request(&mut self, r: EdgeRequest) {
        if self.requests.len() < MAX_REQUESTS {
            self.requests.push_back(r);
        }
    }
}

/// ns → µs in a u32 field (saturating; negative as 0).
pub(crate) fn micros_u32(ns: i64) -> u32 {
    u32::try_from((ns / 1000).max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::control::api::PeerEntry;
    use crate::node::NodeConfig;
    use crate::wg::keys::{private_key_from_random, public_key};

    fn n(v: u16) -> NodeId {
        NodeId::new(v).unwrap()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[allow(clippy::disallowed_methods)] // a test's origin; only differences matter
    fn origin() -> Instant {
        Instant::now()
    }

    fn node(now: Instant) -> Node {
        let cfg = NodeConfig {
            id: n(1),
            private_key: private_key_from_random([1; 32]),
            peers: Vec::new(),
            default_ttl: 200,
            l2_fib_timeout: Duration::from_secs(60),
            max_frame_len: 1514,
            next_hops: NextHopTable::new(),
            dup_check_timeout: Duration::from_secs(10),
            ping_interval: Some(Duration::from_secs(1)),
        };
        Node::new(cfg, [7; 32], now, Duration::from_secs(1_800_000_000))
    }

    fn sync(now: Instant, pinned: &[(u16, &str)]) -> EdgeSync {
        sync_with(now, pinned, FamilyPolicy::default())
    }

    fn sync_with(now: Instant, pinned: &[(u16, &str)], families: FamilyPolicy) -> EdgeSync {
        EdgeSync::new(
            EdgeSyncConfig {
                node_id: n(1),
                send_ping_interval: Duration::from_secs(1),
                http_post_interval: Duration::from_secs(5),
                peer_alive_timeout: Duration::from_secs(10),
                conn_next_try: Duration::from_secs(2),
                reset_endpoint_interval: Duration::from_secs(30),
                local_endpoints: Vec::new(),
                pinned: pinned.iter().map(|(id, a)| (n(*id), addr(a))).collect(),
                save_new_peers: false,
                families,
            },
            now,
        )
    }

    fn entry(id: u16, endpoints: &[&str]) -> PeerEntry {
        PeerEntry {
            node_id: id,
            name: format!("edge{id}"),
            public_key: public_key(&private_key_from_random([id as u8; 32])).to_base64(),
            preshared_key: None,
            endpoints: endpoints.iter().map(|s| (*s).to_owned()).collect(),
            online: true,
        }
    }

    #[test]
    fn candidates_are_tried_in_turn_and_reset_to_the_first() {
        let t0 = origin();
        let mut node = node(t0);
        let mut s = sync(t0, &[]);
        let eps = [
            "198.51.100.2:3002",
            "192.168.1.2:3002",
            "[2001:db8::2]:3002",
        ];
        let info = PeerInfo {
            state_hash: 9,
            peers: vec![entry(1, &["203.0.113.1:1"]), entry(2, &eps)],
        };
        s.handle_peer_info(t0, &mut node, &info);
        assert_eq!(s.applied_hashes()[0], 9);
        assert!(!node.peer_ids().any(|p| p == n(1)), "never itself");
        let mut seen = vec![node.endpoint(n(2)).unwrap()];
        let mut t = t0;
        for _ in 0..3 {
            t += Duration::from_secs(2);
            s.handle_timeout(t, &mut node);
            seen.push(node.endpoint(n(2)).unwrap());
        }
        let want: Vec<SocketAddr> = [eps[0], eps[1], eps[2], eps[0]].map(addr).to_vec();
        assert_eq!(seen, want, "one candidate per ConnNextTry, round robin");
        t += Duration::from_secs(2);
        s.handle_timeout(t, &mut node);
        assert_eq!(node.endpoint(n(2)), Some(addr(eps[1])));
        // ResetEndPointInterval: back to the first candidate.
        s.handle_timeout(t0 + Duration::from_secs(30), &mut node);
        assert_eq!(node.endpoint(n(2)), Some(addr(eps[0])));
    }

    /// Candidates `ConnNextTry` visits from `t0`, one round and one more.
    fn rotation(s: &mut EdgeSync, node: &mut Node, t0: Instant, rounds: usize) -> Vec<SocketAddr> {
        let mut seen = vec![node.endpoint(n(2)).unwrap()];
        for i in 1..=rounds {
            s.handle_timeout(t0 + Duration::from_secs(2 * i as u64), node);
            seen.push(node.endpoint(n(2)).unwrap());
        }
        seen
    }

    #[test]
    fn candidates_honour_disabled_and_preferred_families() {
        use crate::config::AfPrefer;
        let eps = [
            "198.51.100.2:3002",
            "[2001:db8::2]:3002",
            "192.168.1.2:3002",
            "[fd00::2]:3002",
        ];
        let info = PeerInfo {
            state_hash: 1,
            peers: vec![entry(2, &eps)],
        };
        let policy = |ipv4, ipv6, prefer| FamilyPolicy { ipv4, ipv6, prefer };
        let cases = [
            // DisabledAf.IPv6: the IPv6 candidates are never tried.
            (
                policy(true, false, AfPrefer::Any),
                vec![eps[0], eps[2], eps[0]],
            ),
            // AfPrefer 6: IPv6 first, each family in the supernode's order.
            (
                policy(true, true, AfPrefer::V6),
                vec![eps[1], eps[3], eps[0], eps[2], eps[1]],
            ),
            (
                policy(false, true, AfPrefer::V4),
                vec![eps[1], eps[3], eps[1]],
            ),
        ];
        for (families, want) in cases {
            let t0 = origin();
            let mut node = node(t0);
            let mut s = sync_with(t0, &[], families);
            s.handle_peer_info(t0, &mut node, &info);
            let seen = rotation(&mut s, &mut node, t0, want.len() - 1);
            let want: Vec<SocketAddr> = want.into_iter().map(addr).collect();
            assert_eq!(seen, want, "{families:?}");
        }
    }

    #[test]
    fn a_static_peer_resolved_later_is_pinned_from_then_on() {
        let t0 = origin();
        let mut node = node(t0);
        let mut s = sync(t0, &[]);
        let info = PeerInfo {
            state_hash: 1,
            peers: vec![entry(2, &["198.51.100.2:3002", "192.168.1.2:3002"])],
        };
        s.handle_peer_info(t0, &mut node, &info);
        assert!(!node.is_static(n(2)), "the name has not resolved yet");
        // The resolver thread found the configured name's address.
        s.set_pinned(&mut node, n(2), addr("10.9.9.9:4000"));
        assert_eq!(node.endpoint(n(2)), Some(addr("10.9.9.9:4000")));
        assert!(node.is_static(n(2)));
        s.handle_timeout(t0 + Duration::from_secs(2), &mut node);
        s.handle_peer_info(
            t0,
            &mut node,
            &PeerInfo {
                state_hash: 2,
                ..info
            },
        );
        s.handle_timeout(t0 + Duration::from_secs(30), &mut node);
        assert_eq!(
            node.endpoint(n(2)),
            Some(addr("10.9.9.9:4000")),
            "neither rotated, nor replaced, nor reset"
        );
        assert!(node.is_static(n(2)));
    }

    #[test]
    fn pinned_peers_keep_their_endpoint_and_dropped_peers_go() {
        let t0 = origin();
        let mut node = node(t0);
        let mut s = sync(t0, &[(3, "10.9.9.9:4000")]);
        let info = PeerInfo {
            state_hash: 1,
            peers: vec![
                entry(2, &["198.51.100.2:3002"]),
                entry(3, &["198.51.100.3:3003", "192.168.1.3:3003"]),
            ],
        };
        s.handle_peer_info(t0, &mut node, &info);
        assert_eq!(node.endpoint(n(3)), Some(addr("10.9.9.9:4000")));
        s.handle_timeout(t0 + Duration::from_secs(4), &mut node);
        assert_eq!(
            node.endpoint(n(3)),
            Some(addr("10.9.9.9:4000")),
            "never rotated"
        );
        // Peer 2 leaves the network.
        let info = PeerInfo {
            state_hash: 2,
            peers: vec![entry(3, &["198.51.100.3:3003"])],
        };
        s.handle_peer_info(t0, &mut node, &info);
        assert!(!node.peer_ids().any(|p| p == n(2)));
        assert!(node.peer_ids().any(|p| p == n(3)));
    }

    #[test]
    fn notices_fetch_once_and_skip_what_is_applied() {
        let t0 = origin();
        let mut node = node(t0);
        let mut s = sync(t0, &[]);
        let notice = |action, hash: u64| NodeEvent::Control {
            from_peer: NodeId::SUPERNODE,
            src: NodeId::SUPERNODE_DST,
            dst: 1,
            kind: Kind::ServerUpdate,
            seq: 1,
            body: {
                let mut b = [0u8; 64];
                let hex = format!("{hash:016x}");
                let c = Control {
                    seq: 1,
                    body: Body::ServerUpdate {
                        action,
                        code: 0,
                        params: &hex,
                    },
                };
                let len = c.emit(&mut b).unwrap();
                b[..len].to_vec()
            },
        };
        s.handle_event(t0, &mut node, &notice(ServerAction::UpdateNhTable, 5));
        s.handle_event(t0, &mut node, &notice(ServerAction::UpdateNhTable, 5));
        assert_eq!(s.poll_request(), Some(EdgeRequest::Fetch(Fetch::NhTable)));
        assert_eq!(s.poll_request(), None, "one fetch in flight");
        s.handle_nh_table(
            t0,
            &mut node,
            &NhTableInfo {
                state_hash: 5,
                table: BTreeMap::new(),
            },
        );
        s.handle_event(t0, &mut node, &notice(ServerAction::UpdateNhTable, 5));
        assert_eq!(s.poll_request(), None, "already applied");
        // A notice that does not come from the supernode is ignored.
        let mut forged = notice(ServerAction::Shutdown, 0);
        if let NodeEvent::Control { from_peer, .. } = &mut forged {
            *from_peer = n(2);
        }
        s.handle_event(t0, &mut node, &forged);
        assert_eq!(s.poll_request(), None);
        s.handle_event(t0, &mut node, &notice(ServerAction::Shutdown, 0));
        assert!(matches!(
            s.poll_request(),
            Some(EdgeRequest::Shutdown { .. })
        ));
    }
}
