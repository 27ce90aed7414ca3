//! P2P mode, sans-IO (docs/system.md#p2p-mode): every edge keeps its own copy of the
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
//!   neighbour (`QueryPeer`, at its first session, not at every rekey) and
//!   tells its neighbours with a session every `SendPeerInterval`
//!   (`BroadcastPeer`, one per known peer), so a node joining late learns
//!   every peer from the first neighbour it reaches.
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

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd_routing::{Latency, NextHopTable, Router, RouterEvent};

use super::edge_sync::micros_u32;
use super::endpoints::FamilyPolicy;
use super::honesty::{Honesty, Tolerance};
use super::router_config;
use crate::NodeId;
use crate::config::{GraphSettings, StaticNextHops};
use crate::node::{LinkCost, Node, NodeEvent, PeerConfig};
use crate::wg::PublicKey;
use crate::wire::control::{
    Body, Control, MAX_REPORT_ENTRIES, REPORT_ENTRY_LEN, REPORT_EXTRA_LEN, ReportEntry,
    report_entries,
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
    /// The configured `NextHopTable`: routed on as is with
    /// `graph.static_mode`, ignored otherwise.
    pub next_hop_table: StaticNextHops,
    pub damping_filter_radius: u32,
    /// `DisabledAf`: a learned endpoint of a disabled family is not used
    /// (the peer is still learned; it can reach this edge, which then
    /// follows its source address).
    pub families: FamilyPolicy,
}

/// The cost reported for one neighbour's link (held inside the dead band)
/// and when the link was last measured.
#[derive(Debug, Clone, Copy)]
struct Measured {
    held: LinkCost,
    at: Instant,
}

#[derive(Debug)]
pub struct P2pSync {
    cfg: P2pConfig,
    router: Router,
    measured: BTreeMap<NodeId, Measured>,
    honesty: Honesty,
    next_flood: Instant,
    next_peers: Instant,
    /// Neighbours asked for their peers since their session came up; the
    /// set forgets one whose link went down or whose handshake failed, so
    /// its next session asks again. (WireGuard reports every rekey as a
    /// new session: asking at each one cost a full peer list per
    /// neighbour every two minutes.)
    queried: BTreeSet<NodeId>,
    learned: usize,
    active: bool,
    solves: u64,
}

impl P2pSync {
    /// Starts active (pure P2P); a super-mode edge calls `set_active(false)`.
    pub fn new(cfg: P2pConfig, now: Instant, node: &mut Node) -> Self {
        let mut router = Router::new(
            router_config(&cfg.graph, cfg.damping_filter_radius, &cfg.next_hop_table),
            now,
        );
        router.set_burst_window(egd_routing::BURST_WINDOW);
        router.handle_additional_cost(now, cfg.node_id, latency_of(cfg.additional_cost));
        let mut honesty = Honesty::new(Tolerance::default());
        honesty.set_settle(cfg.report_interval);
        let mut me = Self {
            next_flood: now + cfg.report_interval,
            next_peers: now,
            cfg,
            router,
            measured: BTreeMap::new(),
            queried: BTreeSet::new(),
            honesty,
            learned: 0,
            active: true,
            solves: 0,
        };
        me.drain_router(node);
        if me.cfg.graph.static_mode {
            // No solve ever installs a table: the configured one is it.
            node.set_next_hops(me.router.next_hop_table().clone());
        }
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

    /// Reports ignored because the pair's one-way sum contradicted the
    /// measured round trip (`egd_reports_rejected_total`).
    pub fn reports_rejected(&self) -> u64 {
        self.honesty.rejected()
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
            NodeEvent::LatencyMeasured { from, cost, .. } => {
                self.measured_link(now, node, *from, *cost);
            }
            NodeEvent::LinkDown { from } => {
                self.queried.remove(from);
                self.measured.remove(from);
                let me = self.cfg.node_id;
                self.honesty.forget(*from, me);
                self.router.handle_link_down(now, *from, me);
                // Tell everyone at once, not at the next regular flood.
                self.flood_withdrawal(now, node, *from);
            }
            NodeEvent::HandshakeFailed { peer } => {
                self.queried.remove(peer);
            }
            NodeEvent::SessionEstablished { peer }
                if !peer.is_supernode() && self.queried.insert(*peer) =>
            {
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
            // A neighbour without a session would only get the list
            // parked (and a handshake probe); it asks when its session
            // comes up.
            let ids: Vec<NodeId> = node
                .peer_ids()
                .filter(|p| !p.is_supernode() && node.has_session(*p))
                .collect();
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
                extras,
            } => {
                let Some(reporter) = NodeId::new(src).filter(|s| *s != self.cfg.node_id) else {
                    return;
                };
                let cost =
                    Latency::from_micros(i64::from(additional_cost_us)).unwrap_or(Latency::MAX_ABS);
                self.router.handle_additional_cost(now, reporter, cost);
                for e in report_entries(entries, extras) {
                    let Some(from) = NodeId::new(e.from) else {
                        continue;
                    };
                    if e.valid_for_ms == 0 {
                        self.honesty.forget(from, reporter);
                        self.router.handle_link_down(now, from, reporter);
                        continue;
                    }
                    let ttl = Duration::from_millis(u64::from(e.valid_for_ms))
                        .min(self.cfg.peer_alive_timeout * 4);
                    let cost = LinkCost {
                        one_way_ns: e.one_way_ns,
                        penalty_ns: i64::from(e.penalty_us) * 1000,
                        rtt_ns: (e.rtt_us > 0).then_some(i64::from(e.rtt_us) * 1000),
                        loss_ppm: 0,
                    };
                    self.apply(now, from, reporter, &cost, ttl);
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
                    endpoint: self.cfg.families.allows(&endpoint).then_some(endpoint),
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

    /// A measurement of `from → me`. Reporter-side dead band: the cost
    /// reported (and used by this edge's own router) changes only when the
    /// new one is off by more than the band; a change is flooded at once,
    /// so every edge routes on the same numbers (see `docs/routing.md`).
    fn measured_link(&mut self, now: Instant, node: &mut Node, from: NodeId, cost: LinkCost) {
        let band = self.dead_band_ns(&cost);
        let value = cost.one_way_ns.saturating_add(cost.penalty_ns);
        let moved = self.measured.get(&from).is_none_or(|m| {
            value.abs_diff(m.held.one_way_ns.saturating_add(m.held.penalty_ns)) as f64 > band
        });
        // The round trip is never held: the honesty check adds this
        // direction's (held) one-way delay to the other end's and compares
        // the sum with it, and a change of the *other* direction moves the
        // round trip but not this one-way delay. A held round trip from
        // before such a change made every later report of this link
        // disagree, until it expired out of every graph. (The held one-way
        // is off by at most the dead band, max(2 ms, 5 % · rtt/2) per
        // direction, well inside the check's max(5 ms, 20 % · rtt).)
        let rtt_moved =
            self.measured
                .get(&from)
                .is_some_and(|m| match (m.held.rtt_ns, cost.rtt_ns) {
                    (Some(old), Some(new)) => old.abs_diff(new) as f64 > band,
                    (old, new) => old.is_some() != new.is_some(),
                });
        let held = match self.measured.get(&from) {
            Some(m) if !moved => LinkCost {
                rtt_ns: cost.rtt_ns.or(m.held.rtt_ns),
                ..m.held
            },
            _ => cost,
        };
        let moved = moved || rtt_moved;
        self.measured.insert(from, Measured { held, at: now });
        if moved {
            let me = self.cfg.node_id;
            self.apply(now, from, me, &held, self.cfg.peer_alive_timeout);
            let entry = report_entry(from, &held, self.valid_for_ms());
            self.flood(now, node, &[entry]);
        }
    }

    /// `max(ReportDeadBand, ReportDeadBandRelative · rtt / 2)` in ns.
    fn dead_band_ns(&self, cost: &LinkCost) -> f64 {
        let g = &self.cfg.graph;
        let rel = if g.report_dead_band_relative.is_finite() {
            g.report_dead_band_relative.max(0.0)
        } else {
            0.0
        };
        let rel = rel * cost.rtt_ns.unwrap_or(0).max(0) as f64 / 2.0;
        (g.report_dead_band.as_nanos() as f64).max(rel)
    }

    /// A report of `from → to` for this edge's router, after the honesty
    /// check: routed on delay plus penalty.
    fn apply(&mut self, now: Instant, from: NodeId, to: NodeId, cost: &LinkCost, ttl: Duration) {
        if !self
            .honesty
            .check(now, from, to, cost.one_way_ns, cost.rtt_ns, ttl)
        {
            return;
        }
        let value = cost.one_way_ns.saturating_add(cost.penalty_ns.max(0));
        if let Some(l) = latency_ns(value) {
            self.router.handle_report(now, from, to, l, ttl);
        }
    }

    fn valid_for_ms(&self) -> u32 {
        u32::try_from(self.cfg.peer_alive_timeout.as_millis()).unwrap_or(u32::MAX)
    }

    /// Floods the reported cost of each neighbour's link (still valid), and
    /// refreshes the same numbers in this edge's own router.
    fn flood_reports(&mut self, now: Instant, node: &mut Node) {
        let alive = self.cfg.peer_alive_timeout;
        self.measured.retain(|_, m| now < m.at + alive);
        let valid_for_ms = self.valid_for_ms();
        let me = self.cfg.node_id;
        let held: Vec<(NodeId, LinkCost)> =
            self.measured.iter().map(|(f, m)| (*f, m.held)).collect();
        for (from, cost) in &held {
            self.apply(now, *from, me, cost, alive);
        }
        let entries: Vec<ReportEntry> = held
            .iter()
            .map(|(from, c)| report_entry(*from, c, valid_for_ms))
            .collect();
        self.flood(now, node, &entries);
    }

    /// Floods `entries` (in chunks), with this edge's additional cost.
    fn flood(&mut self, now: Instant, node: &mut Node, entries: &[ReportEntry]) {
        let cost_us = u32::try_from(self.cfg.additional_cost.as_micros()).unwrap_or(u32::MAX);
        let mut buf = [0u8; MAX_REPORT_ENTRIES * REPORT_ENTRY_LEN];
        let mut extra = [0u8; MAX_REPORT_ENTRIES * REPORT_EXTRA_LEN];
        // Even with nothing measured the cost goes out, so others know it.
        let chunks: Vec<&[ReportEntry]> = if entries.is_empty() {
            vec![&[]]
        } else {
            entries.chunks(MAX_REPORT_ENTRIES).collect()
        };
        for chunk in chunks {
            let (mut len, mut xlen) = (0, 0);
            for e in chunk {
                if e.emit(&mut buf[len..]) && e.emit_extra(&mut extra[xlen..]) {
                    len += REPORT_ENTRY_LEN;
                    xlen += REPORT_EXTRA_LEN;
                }
            }
            let msg = Control {
                seq: 0,
                body: Body::Reports {
                    additional_cost_us: cost_us,
                    entries: &buf[..len],
                    extras: &extra[..xlen],
                },
            };
            node.send_control(now, NodeId::SPREAD, &msg);
        }
    }

    /// One `Reports` flood withdrawing the link `from → me`.
    fn flood_withdrawal(&mut self, now: Instant, node: &mut Node, from: NodeId) {
        let (mut buf, mut extra) = ([0u8; REPORT_ENTRY_LEN], [0u8; REPORT_EXTRA_LEN]);
        let entry = ReportEntry {
            from: from.get(),
            one_way_ns: 0,
            valid_for_ms: 0,
            penalty_us: 0,
            rtt_us: 0,
        };
        if !(entry.emit(&mut buf) && entry.emit_extra(&mut extra)) {
            return;
        }
        let msg = Control {
            seq: 0,
            body: Body::Reports {
                additional_cost_us: u32::try_from(self.cfg.additional_cost.as_micros())
                    .unwrap_or(u32::MAX),
                entries: &buf,
                extras: &extra,
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

fn report_entry(from: NodeId, c: &LinkCost, valid_for_ms: u32) -> ReportEntry {
    ReportEntry {
        from: from.get(),
        one_way_ns: c.one_way_ns,
        valid_for_ms,
        penalty_us: micros_u32(c.penalty_ns),
        rtt_us: c.rtt_ns.map_or(0, micros_u32),
    }
}

fn latency_ns(ns: i64) -> Option<Latency> {
    Latency::from_micros(ns / 1000)
}

fn latency_of(d: Duration) -> Latency {
    Latency::from_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(Latency::MAX_ABS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::AfPrefer;
    use crate::node::NodeConfig;
    use crate::wg::keys::{private_key_from_random, public_key};

    fn n(v: u16) -> NodeId {
        NodeId::new(v).unwrap()
    }

    #[allow(clippy::disallowed_methods)] // a test's origin; only differences matter
    fn origin() -> Instant {
        Instant::now()
    }

    /// Node 1 with neighbour 2, and its P2P module under `families`.
    fn setup(now: Instant, families: FamilyPolicy) -> (Node, P2pSync) {
        let mut node = Node::new(
            NodeConfig {
                id: n(1),
                private_key: private_key_from_random([1; 32]),
                peers: vec![PeerConfig {
                    id: n(2),
                    public_key: public_key(&private_key_from_random([2; 32])),
                    preshared_key: None,
                    endpoint: Some("192.0.2.2:3002".parse().unwrap()),
                    is_static: false,
                    persistent_keepalive: None,
                }],
                default_ttl: 200,
                l2_fib_timeout: Duration::from_secs(60),
                max_frame_len: 1514,
                next_hops: NextHopTable::new(),
                dup_check_timeout: Duration::from_secs(10),
                ping_interval: Some(Duration::from_secs(1)),
            },
            [7; 32],
            now,
            Duration::from_secs(1_800_000_000),
        );
        let cfg = P2pConfig {
            node_id: n(1),
            additional_cost: Duration::ZERO,
            report_interval: Duration::from_secs(1),
            send_peer_interval: Duration::from_secs(5),
            peer_alive_timeout: Duration::from_secs(10),
            graph: GraphSettings::default(),
            next_hop_table: StaticNextHops::default(),
            damping_filter_radius: 0,
            families,
        };
        let p2p = P2pSync::new(cfg, now, &mut node);
        (node, p2p)
    }

    /// Neighbour 2 tells about `id` at `endpoint`.
    fn told(id: u16, endpoint: &str) -> NodeEvent {
        let key = public_key(&private_key_from_random([id as u8; 32]));
        let msg = Control {
            seq: 1,
            body: Body::BroadcastPeer {
                request_id: 0,
                node: id,
                public_key: *key.as_bytes(),
                endpoint,
            },
        };
        let mut b = [0u8; 128];
        let len = msg.emit(&mut b).unwrap();
        NodeEvent::Control {
            from_peer: n(2),
            src: 2,
            dst: 1,
            kind: Kind::BroadcastPeer,
            seq: 1,
            body: b[..len].to_vec(),
        }
    }

    #[test]
    fn learned_endpoints_of_a_disabled_family_are_not_used() {
        let t0 = origin();
        let no_v6 = FamilyPolicy {
            ipv4: true,
            ipv6: false,
            prefer: AfPrefer::Any,
        };
        let (mut node, mut p2p) = setup(t0, no_v6);
        p2p.handle_event(t0, &mut node, &told(3, "[2001:db8::3]:3003"));
        p2p.handle_event(t0, &mut node, &told(4, "192.0.2.4:3004"));
        assert!(node.peer_ids().any(|p| p == n(3)), "peer 3 is learned");
        assert_eq!(node.endpoint(n(3)), None, "but not at an IPv6 address");
        assert_eq!(node.endpoint(n(4)), Some("192.0.2.4:3004".parse().unwrap()));

        let (mut node, mut p2p) = setup(t0, FamilyPolicy::default());
        p2p.handle_event(t0, &mut node, &told(3, "[2001:db8::3]:3003"));
        assert_eq!(
            node.endpoint(n(3)),
            Some("[2001:db8::3]:3003".parse().unwrap())
        );
    }
}
