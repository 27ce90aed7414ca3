//! P2P mode, sans-IO (SYSTEM.md §3.3): every edge keeps its own copy of the
//! directed latency graph and runs the solver on it, so no supernode is
//! needed (or one that has gone quiet for `SuperNodeInfoTimeout` is not
//! missed).
//!
//! - Every `SendPingInterval` each edge floods one `Reports` message (in
//!   chunks if it has many neighbours) with the latest one-way latency it
//!   measured from each neighbour and its own `AdditionalCost`. The node's
//!   flood (`dst = SPREAD`) reaches every edge once: receivers drop a
//!   repeated (source, sequence) and TTL bounds every copy; the node counts
//!   both kinds of drops.
//! - Peers are exchanged between neighbours only: an edge asks a new
//!   neighbour (`QueryPeer`) and tells its neighbours every
//!   `SendPeerInterval` (`BroadcastPeer`, one per known peer), so a node
//!   joining late learns every peer from the first neighbour it reaches.
//! - The router turns the graph into the next-hop table; the table is
//!   installed on the node while this module is *active* (always in pure
//!   P2P mode; in super mode only while the supernode is silent).
//!
//! # Driving it
//!
//! ```text
//! let mut p2p = P2pSync::new(cfg, now, &mut node);
//! p2p.handle_event(now, &mut node, &event);   // every NodeEvent
//! p2p.handle_timeout(now, &mut node);         // when poll_timeout() is due
//! p2p.set_active(active, &mut node);          // super-mode fallback only
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd_routing::{Latency, NextHopTable, Router, RouterEvent};

use super::router_config;
use crate::NodeId;
use crate::config::{GraphSettings, PublicKey};
use crate::node::{Node, NodeEvent, PeerConfig};
use crate::wire::control::{
    Body, Control, MAX_REPORT_ENTRIES, REPORT_ENTRY_LEN, ReportEntry, report_entries,
};
use crate::wire::header::Kind;

/// Most peers learned from others (bounded memory against a hostile
/// neighbour announcing endless identities).
const MAX_LEARNED_PEERS: usize = 4096;

#[derive(Debug, Clone)]
pub struct P2pConfig {
    pub node_id: NodeId,
    /// This edge's `AdditionalCost`, announced with its reports.
    pub additional_cost: Duration,
    /// How often reports are flooded (`SendPingInterval`).
    pub report_interval: Duration,
    /// `SendPeerInterval`.
    pub send_peer_interval: Duration,
    /// How long a report stays valid (`PeerAliveTimeout`).
    pub peer_alive_timeout: Duration,
    /// `P2P.GraphRecalculateSetting`.
    pub graph: GraphSettings,
    pub damping_filter_radius: u32,
}

#[derive(Debug, Clone, Copy)]
struct Measured {
    one_way_ns: i64,
    at: Instant,
}

#[derive(Debug)]
pub struct P2pSync {
    cfg: P2pConfig,
    router: Router,
    measured: BTreeMap<NodeId, Measured>,
    next_flood: Instant,
    next_peers: Instant,
    learned: usize,
    active: bool,
    solves: u64,
}

impl P2pSync {
    /// Starts active (pure P2P); a super-mode edge calls `set_active(false)`.
    pub fn new(cfg: P2pConfig, now: Instant, node: &mut Node) -> Self {
        let mut router = Router::new(router_config(&cfg.graph, cfg.damping_filter_radius), now);
        router.handle_additional_cost(now, cfg.node_id, latency_of(cfg.additional_cost));
        let mut me = Self {
            next_flood: now + cfg.report_interval,
            next_peers: now,
            cfg,
            router,
            measured: BTreeMap::new(),
            learned: 0,
            active: true,
            solves: 0,
        };
        me.drain_router(node);
        me
    }

    /// Whether this module's table is the one in force.
    pub fn set_active(&mut self, active: bool, node: &mut Node) {
        if active && !self.active {
            node.set_next_hops(self.router.next_hop_table().clone());
        }
        self.active = active;
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// How many times the graph was solved (to time the solver).
    pub fn solves(&self) -> u64 {
        self.solves
    }

    /// The graph's current one-way latencies, `(src, dst, latency)`.
    pub fn latencies(&self) -> Vec<(NodeId, NodeId, Latency)> {
        let g = self.router.graph();
        let nodes: Vec<NodeId> = g.nodes().collect();
        let mut out = Vec::new();
        for &s in &nodes {
            for &d in &nodes {
                if let Some(l) = g.edge(s, d) {
                    out.push((s, d, l));
                }
            }
        }
        out
    }

    /// The table this edge computed (in force while active).
    pub fn next_hop_table(&self) -> &NextHopTable {
        self.router.next_hop_table()
    }

    pub fn handle_event(&mut self, now: Instant, node: &mut Node, event: &NodeEvent) {
        match event {
            NodeEvent::LatencyMeasured { from, one_way_ns } => {
                self.measured.insert(
                    *from,
                    Measured {
                        one_way_ns: *one_way_ns,
                        at: now,
                    },
                );
                if let Some(l) = latency_ns(*one_way_ns) {
                    let me = self.cfg.node_id;
                    self.router
                        .handle_report(now, *from, me, l, self.cfg.peer_alive_timeout);
                }
            }
            NodeEvent::LinkDown { from } => {
                self.measured.remove(from);
                let me = self.cfg.node_id;
                self.router.handle_link_down(now, *from, me);
                // Tell everyone at once, not at the next regular flood.
                self.flood_withdrawal(now, node, *from);
            }
            NodeEvent::SessionEstablished { peer } if !peer.is_supernode() => {
                let query = Control {
                    seq: 0,
                    body: Body::QueryPeer { request_id: 0 },
                };
                node.send_control_direct(now, *peer, &query);
            }
            NodeEvent::Control {
                from_peer,
                src,
                kind,
                body,
                ..
            } if !from_peer.is_supernode() => {
                self.control(now, node, *from_peer, *src, *kind, body);
            }
            _ => {}
        }
        self.drain_router(node);
    }

    pub fn handle_timeout(&mut self, now: Instant, node: &mut Node) {
        if now >= self.next_flood {
            self.next_flood = now + self.cfg.report_interval;
            self.flood_reports(now, node);
        }
        if now >= self.next_peers {
            self.next_peers = now + self.cfg.send_peer_interval;
            let ids: Vec<NodeId> = node.peer_ids().filter(|p| !p.is_supernode()).collect();
            for neighbour in &ids {
                self.tell_peers(now, node, *neighbour);
            }
        }
        self.router.handle_timeout(now);
        self.drain_router(node);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = self.next_flood.min(self.next_peers);
        if let Some((t, _)) = self.router.poll_timeout() {
            next = next.min(t);
        }
        Some(next)
    }

    fn control(
        &mut self,
        now: Instant,
        node: &mut Node,
        from_peer: NodeId,
        src: u16,
        kind: Kind,
        body: &[u8],
    ) {
        let Ok(msg) = Control::parse(kind, body) else {
            return;
        };
        match msg.body {
            Body::Reports {
                additional_cost_us,
                entries,
            } => {
                let Some(reporter) = NodeId::new(src).filter(|s| *s != self.cfg.node_id) else {
                    return;
                };
                let cost =
                    Latency::from_micros(i64::from(additional_cost_us)).unwrap_or(Latency::MAX_ABS);
                self.router.handle_additional_cost(now, reporter, cost);
                for e in report_entries(entries) {
                    let (Some(from), Some(l)) = (NodeId::new(e.from), latency_ns(e.one_way_ns))
                    else {
                        continue;
                    };
                    if e.valid_for_ms == 0 {
                        self.router.handle_link_down(now, from, reporter);
                        continue;
                    }
                    let ttl = Duration::from_millis(u64::from(e.valid_for_ms))
                        .min(self.cfg.peer_alive_timeout * 4);
                    self.router.handle_report(now, from, reporter, l, ttl);
                }
            }
            // A neighbour asks directly: answer it with what we know.
            Body::QueryPeer { .. } if src == from_peer.get() => {
                self.tell_peers(now, node, from_peer);
            }
            Body::BroadcastPeer {
                node: id,
                public_key,
                endpoint,
                ..
            } if src == from_peer.get() => {
                let Some(id) = NodeId::new(id).filter(|i| *i != self.cfg.node_id) else {
                    return;
                };
                if node.peer_ids().any(|p| p == id) || self.learned >= MAX_LEARNED_PEERS {
                    return;
                }
                let Ok(endpoint) = endpoint.parse::<SocketAddr>() else {
                    return;
                };
                self.learned += 1;
                node.add_peer(&PeerConfig {
                    id,
                    public_key: PublicKey::from_bytes(public_key),
                    preshared_key: None,
                    endpoint: Some(endpoint),
                    is_static: false,
                    persistent_keepalive: None,
                });
            }
            _ => {}
        }
    }

    /// One `BroadcastPeer` to `neighbour` per other known peer with an
    /// endpoint.
    fn tell_peers(&mut self, now: Instant, node: &mut Node, neighbour: NodeId) {
        let known: Vec<(NodeId, [u8; 32], SocketAddr)> = node
            .peer_ids()
            .filter(|p| !p.is_supernode() && *p != neighbour)
            .filter_map(|p| Some((p, node.public_key_of(p)?, node.endpoint(p)?)))
            .collect();
        for (id, key, endpoint) in known {
            let endpoint = endpoint.to_string();
            let msg = Control {
                seq: 0,
                body: Body::BroadcastPeer {
                    request_id: 0,
                    node: id.get(),
                    public_key: key,
                    endpoint: &endpoint,
                },
            };
            node.send_control_direct(now, neighbour, &msg);
        }
    }

    /// Floods the latest measurement from each neighbour (still valid).
    fn flood_reports(&mut self, now: Instant, node: &mut Node) {
        let alive = self.cfg.peer_alive_timeout;
        self.measured.retain(|_, m| now < m.at + alive);
        let valid_for_ms = u32::try_from(alive.as_millis()).unwrap_or(u32::MAX);
        let cost_us = u32::try_from(self.cfg.additional_cost.as_micros()).unwrap_or(u32::MAX);
        let entries: Vec<ReportEntry> = self
            .measured
            .iter()
            .map(|(from, m)| ReportEntry {
                from: from.get(),
                one_way_ns: m.one_way_ns,
                valid_for_ms,
            })
            .collect();
        let mut buf = [0u8; MAX_REPORT_ENTRIES * REPORT_ENTRY_LEN];
        // Even with nothing measured the cost goes out, so others know it.
        let chunks: Vec<&[ReportEntry]> = if entries.is_empty() {
            vec![&[]]
        } else {
            entries.chunks(MAX_REPORT_ENTRIES).collect()
        };
        for chunk in chunks {
            let mut len = 0;
            for e in chunk {
                if e.emit(&mut buf[len..]) {
                    len += REPORT_ENTRY_LEN;
                }
            }
            let msg = Control {
                seq: 0,
                body: Body::Reports {
                    additional_cost_us: cost_us,
                    entries: &buf[..len],
                },
            };
            node.send_control(now, NodeId::SPREAD, &msg);
        }
    }

    /// One `Reports` flood withdrawing the link `from → me`.
    fn flood_withdrawal(&mut self, now: Instant, node: &mut Node, from: NodeId) {
        let mut buf = [0u8; REPORT_ENTRY_LEN];
        let entry = ReportEntry {
            from: from.get(),
            one_way_ns: 0,
            valid_for_ms: 0,
        };
        if !entry.emit(&mut buf) {
            return;
        }
        let msg = Control {
            seq: 0,
            body: Body::Reports {
                additional_cost_us: u32::try_from(self.cfg.additional_cost.as_micros())
                    .unwrap_or(u32::MAX),
                entries: &buf,
            },
        };
        node.send_control(now, NodeId::SPREAD, &msg);
    }

    fn drain_router(&mut self, node: &mut Node) {
        let mut changed = false;
        while let Some(ev) = self.router.poll_event() {
            if let RouterEvent::Recomputed { changed: c, .. } = ev {
                self.solves += 1;
                changed |= c;
            }
        }
        if changed && self.active {
            node.set_next_hops(self.router.next_hop_table().clone());
        }
    }
}

fn latency_ns(ns: i64) -> Option<Latency> {
    Latency::from_micros(ns / 1000)
}

fn latency_of(d: Duration) -> Latency {
    Latency::from_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(Latency::MAX_ABS)
}
