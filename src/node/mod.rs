//! The sans-IO edge node: WireGuard sessions with its neighbours, the
//! routing header, L2 learning and forwarding (SYSTEM.md §4). No sockets, no
//! clock, no threads — time, randomness and packets are passed in, so many
//! nodes can run in one process on a virtual clock (`crate::sim`).
//!
//! # Driving a node
//!
//! ```text
//! let mut node = Node::new(cfg, rng_seed, now, unix_now);
//! loop {
//!     // inputs, each with the current time:
//!     node.handle_frame(now, &frame);                 // from the interface
//!     node.handle_datagram(now, from, &mut datagram);  // from the UDP socket (decrypted in place)
//!     node.handle_timeout(now);                        // when poll_timeout's instant has come (early calls are harmless)
//!     // outputs, drained after every input:
//!     while let Some(t) = node.poll_transmit() { send(t.dst, t.payload) }
//!     while let Some(f) = node.poll_frame() { write_to_interface(f) }
//!     while let Some(e) = node.poll_event() { … }
//!     sleep_until(node.poll_timeout());
//! }
//! ```
//!
//! Every output queue is a fixed ring allocated at start; when one is full,
//! the packet is dropped and counted (`Metrics::dropped`), never queued
//! without bound.
//!
//! A multi-threaded owner that shares the node behind a lock can keep the
//! ChaCha20-Poly1305 work out of it (`deferred.rs`): with
//! [`Node::set_deferred_crypto`] sent datagrams come out of `poll_transmit`
//! with a [`Transmit::seal`] job still to run, and a received datagram goes
//! through [`Node::prepare_datagram`], the job's `open`, and
//! [`Node::finish_datagram`]. `handle_datagram` is those three in a row.

mod dedup;
mod deferred;
#[cfg(test)]
pub(crate) use deferred::tests as deferred_tests;
mod fib;
mod forward;
mod from_config;
mod link_cost;
mod neighbour;
mod probe;
pub(crate) mod ring;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd_routing::NextHopTable;

use crate::NodeId;
use crate::config::{PresharedKey, PrivateKey, PublicKey};
use crate::metrics::Metrics;
use crate::session::constants::{REKEY_ATTEMPT_TIME, REKEY_TIMEOUT};
use crate::wg::{self, Opened, SealError, SealJob, Wg, WgEvent, WgTransmit};
use crate::wire::control::{Body, Control};
use crate::wire::ethernet::{self, Frame};
use crate::wire::header::{self, Header, Kind};

use dedup::{Dedup, Verdict};
use fib::Fib;
use forward::Routes;
pub use from_config::next_hop_table;
pub use link_cost::{CostWeights, LOSS_SIGMAS, LOSS_WINDOW, LinkCost, LinkQuality, OUTAGE_GAP};
use neighbour::Neighbour;
use probe::Probe;
use ring::PacketRing;

/// One neighbour of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerConfig {
    pub id: NodeId,
    pub public_key: PublicKey,
    pub preshared_key: Option<PresharedKey>,
    pub endpoint: Option<SocketAddr>,
    /// Keep `endpoint` rather than following the peer's source address.
    pub is_static: bool,
    pub persistent_keepalive: Option<Duration>,
}

/// What a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: NodeId,
    pub private_key: PrivateKey,
    pub peers: Vec<PeerConfig>,
    /// TTL of packets this node originates.
    pub default_ttl: u8,
    pub l2_fib_timeout: Duration,
    /// Largest Ethernet frame the interface hands over (MTU + 14).
    pub max_frame_len: usize,
    pub next_hops: NextHopTable,
    /// How long a flooded message's (source, seq) is remembered.
    pub dup_check_timeout: Duration,
    /// How often to ping every neighbour to measure one-way latency; `None`
    /// in static mode (no control traffic). With pings on (the dynamic
    /// modes), a destination the next-hop table does not know yet but that
    /// is a neighbour is reached directly, so traffic flows before the first
    /// table arrives; static mode follows its table strictly.
    pub ping_interval: Option<Duration>,
}

/// A datagram to send.
#[derive(Debug)]
pub struct Transmit<'a> {
    pub dst: SocketAddr,
    pub payload: &'a [u8],
    /// With [`Node::set_deferred_crypto`] on: `payload` is a transport
    /// message still in plaintext; copy it, run `seal` on the copy, and
    /// send only if that succeeded. Always `None` otherwise.
    pub seal: Option<SealJob>,
}

/// Something the owner of the node may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A WireGuard session with a neighbour is up.
    SessionEstablished { peer: NodeId },
    /// A neighbour did not answer a handshake attempt (REKEY_ATTEMPT_TIME,
    /// or a probe's shorter one after an earlier failure).
    HandshakeFailed { peer: NodeId },
    /// A neighbour's endpoint changed (roaming).
    EndpointChanged { peer: NodeId, endpoint: SocketAddr },
    /// A ping from neighbour `from` arrived: the one-way latency from it to
    /// this node, as the two wall clocks see it (ns; may be negative), and
    /// the link's cost so far (smoothed delay, jitter and loss terms, round
    /// trip) — what the control plane reports.
    LatencyMeasured {
        from: NodeId,
        one_way_ns: i64,
        cost: LinkCost,
    },
    /// Neighbour `from` missed its announced pings: the link from it to
    /// this node is down (until its next ping arrives).
    LinkDown { from: NodeId },
    /// A control message for this node (or a flood, first sighting).
    Control {
        from_peer: NodeId,
        src: u16,
        dst: u16,
        kind: Kind,
        seq: u32,
        body: Vec<u8>,
    },
}

/// Datagrams waiting to be sent at once (a broadcast's fan-out plus
/// handshakes); more are dropped and counted.
const MIN_TRANSMIT_SLOTS: usize = 64;
/// Frames waiting to be written to the interface.
const FRAME_SLOTS: usize = 64;
/// Events waiting for the owner; more are dropped and counted.
const EVENT_CAPACITY: usize = 1024;
/// WireGuard pads plaintext to a multiple of 16 bytes (paper §5.4.6).
const PADDING_MULTIPLE: usize = 16;
/// Largest WireGuard handshake message (initiation).
const MAX_HANDSHAKE_LEN: usize = 148;

pub struct Node {
    id: NodeId,
    wg: Wg,
    peers: BTreeMap<NodeId, Neighbour>,
    /// The keys of `peers` that are edges (not supernode sessions), for
    /// loops that must not allocate.
    neighbours: Vec<NodeId>,
    /// Bytes per packet slot (for rings of peers added later).
    slot_len: usize,
    routes: Routes,
    fib: Fib,
    dedup: Dedup,
    transmits: PacketRing<(SocketAddr, Option<SealJob>)>,
    frames: PacketRing<()>,
    events: VecDeque<NodeEvent>,
    /// Where WireGuard writes its own datagrams before they are queued.
    wg_scratch: Box<[u8]>,
    default_ttl: u8,
    max_frame_len: usize,
    seq: u32,
    /// See `NodeConfig::ping_interval`.
    direct_fallback: bool,
    /// Data datagrams leave unsealed, with their seal job (`deferred.rs`).
    deferred_crypto: bool,
    next_sweep: Instant,
    probe: Probe,
    cost_weights: CostWeights,
    metrics: Metrics,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("peers", &self.peers.len())
            .finish()
    }
}

impl Node {
    /// A node at `now`; `unix_now` is the wall clock at the same moment
    /// (for WireGuard's timestamps and latency probes).
    pub fn new(cfg: NodeConfig, rng_seed: [u8; 32], now: Instant, unix_now: Duration) -> Self {
        let mut wg = Wg::new(&cfg.private_key, rng_seed, now, unix_now);
        let slot_len = slot_len(cfg.max_frame_len);
        let mut peers = BTreeMap::new();
        for p in &cfg.peers {
            wg.add_peer(
                p.id,
                &p.public_key,
                p.preshared_key.as_ref(),
                p.persistent_keepalive,
            );
            peers.insert(p.id, Neighbour::new(p.id, p.endpoint, p.is_static, slot_len));
        }
        let neighbours = edge_neighbours(&peers);
        let fib = Fib::new(cfg.l2_fib_timeout);
        let dedup = Dedup::new(cfg.dup_check_timeout);
        let next_sweep = now + sweep_interval(&fib, &dedup);
        Self {
            id: cfg.id,
            wg,
            routes: Routes::new(cfg.id, cfg.next_hops),
            metrics: Metrics::new(neighbours.iter().copied()),
            neighbours,
            slot_len,
            peers,
            fib,
            dedup,
            transmits: PacketRing::new(transmit_slots(cfg.peers.len()), slot_len),
            frames: PacketRing::new(FRAME_SLOTS, slot_len),
            events: VecDeque::with_capacity(EVENT_CAPACITY),
            wg_scratch: vec![0u8; slot_len.max(MAX_HANDSHAKE_LEN)].into_boxed_slice(),
            default_ttl: cfg.default_ttl,
            max_frame_len: cfg.max_frame_len,
            seq: 0,
            direct_fallback: cfg.ping_interval.is_some(),
            deferred_crypto: false,
            next_sweep,
            probe: Probe::new(cfg.ping_interval, now, unix_now),
            cost_weights: CostWeights::default(),
        }
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The WireGuard layer's own counters (cookie replies, handshake
    /// messages accepted, queue overflows).
    pub fn wg_stats(&self) -> wg::WgStats {
        self.wg.stats()
    }

    /// MAC addresses currently in the L2 FIB.
    pub fn fib_len(&self) -> usize {
        self.fib.len()
    }

    pub fn next_hops(&self) -> &NextHopTable {
        self.routes.table()
    }

    /// Installs a new next-hop table (from a solver or a supernode).
    pub fn set_next_hops(&mut self, table: NextHopTable) {
        let old = self.routes.table();
        let me = self.id;
        let changed = table
            .row(me)
            .filter(|(dst, hop)| old.next_hop(me, *dst) != Some(*hop))
            .count()
            + old
                .row(me)
                .filter(|(dst, _)| table.next_hop(me, *dst).is_none())
                .count();
        self.metrics.route_changes += changed as u64;
        self.routes = Routes::new(self.id, table);
    }

    /// Adds a neighbour, or updates one with the same id: a changed key or
    /// pre-shared key starts a new WireGuard peer (sessions with the old key
    /// end); otherwise only a missing endpoint is filled in (a learned one is
    /// kept, since it is where the peer really is).
    pub fn add_peer(&mut self, p: &PeerConfig) {
        if let Some(existing) = self.peers.get_mut(&p.id)
            && self
                .wg
                .peer_keys_match(p.id, &p.public_key, p.preshared_key.as_ref())
        {
            if existing.endpoint.is_none() || p.is_static {
                existing.endpoint = p.endpoint.or(existing.endpoint);
            }
            existing.is_static = p.is_static;
            return;
        }
        self.wg.add_peer(
            p.id,
            &p.public_key,
            p.preshared_key.as_ref(),
            p.persistent_keepalive,
        );
        // The same key under another id was just dropped by `wg`; follow it.
        let stale: Vec<NodeId> = self
            .peers
            .keys()
            .copied()
            .filter(|id| *id != p.id && !self.wg.has_peer(*id))
            .collect();
        for id in stale {
            self.peers.remove(&id);
        }
        self.peers.insert(
            p.id,
            Neighbour::new(p.id, p.endpoint, p.is_static, self.slot_len),
        );
        self.metrics.add_peer(p.id);
        self.neighbours = edge_neighbours(&self.peers);
        let want = transmit_slots(self.peers.len());
        if want > self.transmits.capacity() && self.transmits.is_empty() {
            // Outputs are drained after every input, so the ring is empty
            // here; a bigger one keeps a broadcast's fan-out from dropping.
            self.transmits = PacketRing::new(want, self.slot_len);
        }
    }

    /// Forgets a neighbour: its sessions, parked packets and routes through
    /// it stop; its counters stay (Prometheus counters never go back).
    pub fn remove_peer(&mut self, id: NodeId) {
        self.wg.remove_peer(id);
        if self.peers.remove(&id).is_some() {
            self.neighbours = edge_neighbours(&self.peers);
        }
    }

    /// Points a neighbour at `endpoint` (trying a candidate address, or an
    /// operator's pin), also when it is `Static`.
    pub fn set_endpoint(&mut self, id: NodeId, endpoint: SocketAddr) {
        if let Some(p) = self.peers.get_mut(&id) {
            p.endpoint = Some(endpoint);
        }
    }

    /// Pins (or frees) a neighbour's endpoint: a static one does not roam
    /// to the source of its packets.
    pub fn set_static(&mut self, id: NodeId, is_static: bool) {
        if let Some(p) = self.peers.get_mut(&id) {
            p.is_static = is_static;
        }
    }

    /// Whether the neighbour is static (its endpoint pinned by config).
    pub fn is_static(&self, id: NodeId) -> bool {
        self.peers.get(&id).is_some_and(|p| p.is_static)
    }

    /// A neighbour's WireGuard state, for `wg show`.
    pub fn wg_peer_info(&self, id: NodeId) -> Option<wg::WgPeerInfo> {
        self.wg.peer_info(id)
    }

    /// This node's public key.
    pub fn public_key(&self) -> PublicKey {
        self.wg.public_key()
    }

    /// The public key of a neighbour.
    pub fn public_key_of(&self, id: NodeId) -> Option<[u8; 32]> {
        self.wg.public_key_of(id)
    }

    /// Whether a WireGuard session with the neighbour is up.
    pub fn has_session(&self, id: NodeId) -> bool {
        self.wg.has_session(id)
    }

    /// The ids of all neighbours (including supernode session handles).
    pub fn peer_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.peers.keys().copied()
    }

    /// The current endpoint of a neighbour.
    pub fn endpoint(&self, peer: NodeId) -> Option<SocketAddr> {
        self.peers.get(&peer).and_then(|p| p.endpoint)
    }

    /// A frame read from the interface.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        let Some(eth) = Frame::parse(frame) else {
            self.metrics.drop("frame_too_short");
            return;
        };
        if frame.len() > self.max_frame_len {
            self.metrics.drop("frame_too_long");
            return;
        }
        let dst_mac = eth.dst();
        let dst = if ethernet::is_group(&dst_mac) {
            NodeId::BROADCAST
        } else {
            match self.fib.lookup(now, &dst_mac) {
                Some(n) if n == self.id => {
                    self.metrics.drop("frame_to_self");
                    return;
                }
                Some(n) => n.get(),
                // Unknown unicast floods like a broadcast (SYSTEM.md §4).
                None => NodeId::BROADCAST,
            }
        };
        let header = Header {
            kind: Kind::Frame,
            ttl: self.default_ttl,
            dst,
            src: self.id.get(),
            body_len: 0,
        };
        self.probe.note_traffic(now);
        self.route(now, header, frame, None);
        self.drain_wg(now);
    }

    /// Sends a control message this node originates to `dst` (a node, or
    /// `NodeId::BROADCAST`/`SPREAD`/`SUPER_NODE`). Returns the sequence
    /// number used.
    pub fn send_control(&mut self, now: Instant, dst: u16, control: &Control<'_>) -> u32 {
        self.originate_control(now, dst, None, control)
    }

    /// Sends a control message straight to neighbour `peer`, whatever the
    /// routes say (pings measure the direct link).
    pub fn send_control_direct(
        &mut self,
        now: Instant,
        peer: NodeId,
        control: &Control<'_>,
    ) -> u32 {
        self.originate_control(now, peer.get(), Some(peer), control)
    }

    /// Sends a control message straight to neighbour `peer` with header
    /// destination `dst` (a supernode answering a session whose key is
    /// registered under another NodeID than the one it claims).
    pub fn send_control_via(
        &mut self,
        now: Instant,
        peer: NodeId,
        dst: u16,
        control: &Control<'_>,
    ) -> u32 {
        self.originate_control(now, dst, Some(peer), control)
    }

    /// Numbers, encodes and sends a control message: routed to `dst`, or
    /// with TTL 1 straight to neighbour `direct`.
    fn originate_control(
        &mut self,
        now: Instant,
        dst: u16,
        direct: Option<NodeId>,
        control: &Control<'_>,
    ) -> u32 {
        let seq = self.next_seq();
        let mut body = [0u8; CONTROL_BODY_MAX];
        let msg = Control {
            seq,
            body: control.body.clone(),
        };
        let Ok(len) = msg.emit(&mut body) else {
            self.metrics.drop("control_too_large");
            return seq;
        };
        let header = Header {
            kind: msg.kind(),
            ttl: if direct.is_some() {
                1
            } else {
                self.default_ttl
            },
            dst,
            src: self.id.get(),
            body_len: 0,
        };
        match direct {
            Some(peer) => self.send_to_neighbour(now, peer, header, &body[..len]),
            None => self.route(now, header, &body[..len], None),
        }
        self.drain_wg(now);
        seq
    }

    /// A datagram from the network; decrypted in place in `buf`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, buf: &mut [u8]) {
        if let Some(job) = self.prepare_datagram(now, from, buf) {
            let opened = job.open(buf);
            self.finish_datagram(now, from, buf, &job, opened);
        }
    }

    /// What a datagram `wg` opened (or dropped) leads to.
    fn after_open(&mut self, now: Instant, from: SocketAddr, buf: &mut [u8], opened: Opened) {
        let datagram_len = buf.len() as u64;
        match opened {
            Opened::Data { peer, payload } => {
                if let Some(c) = self.metrics.peer_mut(peer) {
                    c.rx_bytes += datagram_len;
                    c.rx_packets += 1;
                }
                self.handle_payload(now, from, peer, buf, payload)
            }
            Opened::Handshake { peer } => {
                if let Some(p) = peer.and_then(|p| self.peers.get_mut(&p))
                    && p.saw_authenticated(from)
                {
                    push_event(
                        &mut self.events,
                        &mut self.metrics,
                        NodeEvent::EndpointChanged {
                            peer: p.id,
                            endpoint: from,
                        },
                    );
                }
            }
            Opened::Dropped(reason) => self.metrics.drop(reason.as_str()),
        }
        self.drain_wg(now);
    }

    /// Runs timers that are due; early calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.wg.handle_timeout(now);
        if let Some(ping) = self.probe.ping(now) {
            for i in 0..self.neighbours.len() {
                let peer = self.neighbours[i];
                // Each neighbour's ping echoes the last one it sent us, so
                // it can measure the round trip (link_cost.rs).
                let mut ping = ping.clone();
                if let (Body::Ping { echo, .. }, Some(p)) = (&mut ping.body, self.peers.get(&peer))
                {
                    *echo = p.quality.echo(now);
                }
                self.originate_control(now, peer.get(), Some(peer), &ping);
            }
        }
        self.check_liveness(now);
        if now >= self.next_sweep {
            self.fib.sweep(now);
            self.dedup.sweep(now);
            self.next_sweep = now + sweep_interval(&self.fib, &self.dedup);
        }
        self.drain_wg(now);
    }

    /// The next instant `handle_timeout` has work, and why.
    pub fn poll_timeout(&self) -> Option<(Instant, &'static str)> {
        let mut next = (self.next_sweep, "fib_dedup_sweep");
        if let Some(w) = self.wg.poll_timeout().filter(|w| w.0 < next.0) {
            next = w;
        }
        if let Some(p) = self.probe.due().filter(|p| *p < next.0) {
            next = (p, "ping");
        }
        if let Some(l) = self.next_liveness_deadline().filter(|l| *l < next.0) {
            next = (l, "liveness");
        }
        Some(next)
    }

    /// Reports neighbours whose announced pings stopped (fast failover).
    fn check_liveness(&mut self, now: Instant) {
        for i in 0..self.neighbours.len() {
            let id = self.neighbours[i];
            let Some(p) = self.peers.get_mut(&id) else {
                continue;
            };
            let overdue = p
                .last_ping
                .is_some_and(|t| now.saturating_duration_since(t) > p.alive_for);
            if overdue && !p.down {
                p.down = true;
                push_event(
                    &mut self.events,
                    &mut self.metrics,
                    NodeEvent::LinkDown { from: id },
                );
            }
        }
    }

    /// When the next neighbour would count as down.
    fn next_liveness_deadline(&self) -> Option<Instant> {
        self.peers
            .values()
            .filter(|p| !p.down && p.alive_for < Duration::from_secs(3600))
            .filter_map(|p| {
                p.last_ping
                    .map(|t| t + p.alive_for + Duration::from_millis(1))
            })
            .min()
    }

    /// Applies a wall-clock correction from NTP to the ping timestamps.
    pub fn set_clock_offset_ns(&mut self, offset_ns: i64) {
        self.probe.set_clock_offset_ns(offset_ns);
    }

    /// Sets how jitter and loss weigh in the reported link costs.
    pub fn set_cost_weights(&mut self, weights: CostWeights) {
        self.cost_weights = weights;
    }

    /// Changes how often neighbours are pinged (`None`: never).
    pub fn set_ping_interval(&mut self, interval: Option<Duration>, now: Instant) {
        self.probe.set_interval(interval, now);
    }

    /// The next datagram to send; lent until the next call.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        self.transmits
            .pop()
            .map(|((dst, seal), payload)| Transmit { dst, payload, seal })
    }

    /// The next frame for the interface; lent until the next call.
    pub fn poll_frame(&mut self) -> Option<&[u8]> {
        self.frames.pop().map(|((), f)| f)
    }

    pub fn poll_event(&mut self) -> Option<NodeEvent> {
        self.events.pop_front()
    }

    /// Whether events wait for `poll_event` (a data-path thread that is not
    /// the control thread wakes it when this turns true).
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The longest datagram `poll_transmit` can return (for sizing buffers
    /// that take transmits out of the node).
    pub fn max_transmit_len(&self) -> usize {
        self.slot_len
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Decides where a packet goes: local delivery was handled by the
    /// caller; this sends to the next hop or, for broadcasts, the fan-out.
    fn route(&mut self, now: Instant, header: Header, body: &[u8], came_from: Option<NodeId>) {
        match header.dst {
            NodeId::BROADCAST => {
                let Some(src) = NodeId::new(header.src) else {
                    self.metrics.drop("bad_source");
                    return;
                };
                // Index loop: sending does not change the routes, and this
                // avoids copying the fan-out set per packet.
                let came = came_from.unwrap_or(self.id);
                let mut i = 0;
                loop {
                    let Some(next) = self.routes.broadcast_targets(came, src).nth(i) else {
                        break;
                    };
                    i += 1;
                    self.send_to_neighbour(now, next, header, body);
                    if came_from.is_some() {
                        self.metrics.forwarded_broadcast += 1;
                    }
                }
                if self.direct_fallback && came_from.is_none() {
                    // Neighbours the table has no path to get a copy from the
                    // source itself; no tree reaches them, so it is the only one.
                    for i in 0..self.neighbours.len() {
                        let n = self.neighbours[i];
                        if self.routes.next_hop(n).is_none() {
                            self.send_to_neighbour(now, n, header, body);
                        }
                    }
                }
            }
            NodeId::SUPER_NODE if self.id != NodeId::SUPERNODE => {
                // Both sessions (IPv4 and IPv6 keys): the supernode learns
                // both external addresses, and either may be down.
                for handle in [NodeId::SUPERNODE, NodeId::SUPERNODE_V6_SESSION] {
                    if self
                        .peers
                        .get(&handle)
                        .is_some_and(|p| p.endpoint.is_some())
                    {
                        self.send_to_neighbour(now, handle, header, body);
                    }
                }
            }
            NodeId::SPREAD => {
                for i in 0..self.neighbours.len() {
                    let next = self.neighbours[i];
                    if Some(next) != came_from && next.get() != header.src {
                        self.send_to_neighbour(now, next, header, body);
                    }
                }
            }
            dst => {
                let next = NodeId::new(dst).and_then(|d| {
                    self.routes.next_hop(d).or_else(|| {
                        (self.direct_fallback && !d.is_supernode() && self.peers.contains_key(&d))
                            .then_some(d)
                    })
                });
                match next {
                    Some(next) => {
                        self.send_to_neighbour(now, next, header, body);
                        if came_from.is_some() {
                            self.metrics.forwarded_unicast += 1;
                            if header.kind == Kind::Frame {
                                self.probe.note_traffic(now);
                            }
                        }
                    }
                    None => self.metrics.drop("no_route"),
                }
            }
        }
    }

    /// Writes header and body into a transmit slot, seals it for `next`,
    /// and queues it; without a session, parks the plaintext and starts a
    /// handshake.
    fn send_to_neighbour(&mut self, now: Instant, next: NodeId, mut header: Header, body: &[u8]) {
        let Some(peer) = self.peers.get_mut(&next) else {
            self.metrics.drop("unknown_peer");
            return;
        };
        let Ok(body_len) = u16::try_from(body.len()) else {
            self.metrics.drop("body_too_long");
            return;
        };
        header.body_len = body_len;
        let plain_len = padded(header::LEN + body.len());
        if !self.wg.has_session(next) || peer.endpoint.is_none() {
            // A ping must measure the link as it is when sent; one held
            // back for a handshake would report the handshake's time.
            if header.kind != Kind::Ping {
                park(peer, &mut self.metrics, header, body, plain_len);
            }
            self.start_handshake(now, next, header.kind);
            return;
        }
        let Some(endpoint) = peer.endpoint else {
            return;
        };
        let Some(slot) = self.transmits.reserve() else {
            self.metrics.drop("tx_queue_full");
            return;
        };
        let start = wg::TRANSPORT_HEADER_LEN;
        let Some(plain) = slot.get_mut(start..start + plain_len) else {
            self.metrics.drop("body_too_long");
            return;
        };
        write_plaintext(plain, header, body);
        match self
            .wg
            .seal_deferred(now, next, slot, start..start + plain_len)
        {
            Ok((range, job)) => {
                let len = range.len() as u64;
                let job = if self.deferred_crypto {
                    Some(job)
                } else {
                    let sealed = slot.get_mut(range.clone()).map(|m| job.seal(m));
                    if !matches!(sealed, Some(Ok(()))) {
                        self.metrics.drop("buffer_too_small");
                        return;
                    }
                    None
                };
                self.transmits.commit(range, (endpoint, job));
                if let Some(c) = self.metrics.peer_mut(next) {
                    c.tx_bytes += len;
                    c.tx_packets += 1;
                }
            }
            Err(SealError::NoSession) => {
                // Raced with expiry: keep the plaintext for the next session.
                if let Some(peer) = self.peers.get_mut(&next) {
                    park(peer, &mut self.metrics, header, body, plain_len);
                }
                self.start_handshake(now, next, header.kind);
            }
            Err(e) => self.metrics.drop(seal_error_label(e)),
        }
    }

    /// Starts (or keeps up) a handshake with neighbour `next` for a packet
    /// of `kind` that found no session. Frames the routes send that way,
    /// and anything for the supernode, are data waiting: WireGuard's full
    /// attempt, restarted by every new one (as the kernel does). The rest
    /// only probe: pings and the routing's control messages repeat on
    /// their own every few seconds whether or not the neighbour answers,
    /// and a frame's direct copy to a neighbour the routes have no path to
    /// at all (dynamic modes' fallback) is a guess that the direct link
    /// works. A probe starts no attempt while backing off after a failed
    /// one, a full attempt the first time, then short ones
    /// (`PROBE_ATTEMPT_TIME`). Without this a neighbour that never answers
    /// (a learned P2P peer behind a NAT, a host that left) cost an
    /// initiation every REKEY_TIMEOUT forever, each probe restarting the
    /// attempt before it could fail.
    fn start_handshake(&mut self, now: Instant, next: NodeId, kind: Kind) {
        let routed = !self.direct_fallback || self.routes.next_hop(next).is_some();
        if (kind == Kind::Frame && routed) || next.is_supernode() {
            self.wg.initiate(now, next);
            return;
        }
        let Some(peer) = self.peers.get(&next) else {
            return;
        };
        if peer.ping_initiate_after.is_some_and(|t| now < t) {
            return;
        }
        let window = if peer.failed_handshakes == 0 {
            REKEY_ATTEMPT_TIME
        } else {
            PROBE_ATTEMPT_TIME
        };
        self.wg.probe(now, next, window);
    }

    fn handle_payload(
        &mut self,
        now: Instant,
        from: SocketAddr,
        peer: NodeId,
        buf: &mut [u8],
        payload: std::ops::Range<usize>,
    ) {
        if let Some(p) = self.peers.get_mut(&peer)
            && p.saw_authenticated(from)
        {
            push_event(
                &mut self.events,
                &mut self.metrics,
                NodeEvent::EndpointChanged {
                    peer,
                    endpoint: from,
                },
            );
        }
        if payload.is_empty() {
            return; // keepalive
        }
        let Some(plain) = buf.get(payload) else {
            return;
        };
        let (header, body_range) = match Header::parse(plain) {
            Ok(h) => h,
            Err(_) => {
                self.metrics.drop("bad_header");
                return;
            }
        };
        let body = &plain[body_range];
        let for_me = header.dst == self.id.get();
        let flood = header.dst == NodeId::BROADCAST || header.dst == NodeId::SPREAD;
        if header.src == self.id.get() {
            self.metrics.drop("own_packet_returned");
            return;
        }
        if header.kind == Kind::Frame {
            if for_me || flood {
                self.deliver(now, header, body);
            }
        } else {
            let Ok(control) = Control::parse(header.kind, body) else {
                self.metrics.drop("bad_control");
                return;
            };
            if flood {
                match self.dedup.check(now, header.src, control.seq) {
                    Verdict::Fresh => {}
                    Verdict::Duplicate => {
                        self.metrics.drop("duplicate_flood");
                        return;
                    }
                    Verdict::Full => {
                        self.metrics.drop("dedup_full");
                        return;
                    }
                }
            }
            if let (
                true,
                Body::Ping {
                    request_id,
                    sent_at_unix_ns,
                    interval_ms,
                    echo,
                },
            ) = (for_me, &control.body)
                && header.src == peer.get()
            {
                // Only a neighbour's own ping measures a direct link.
                let arrived_ns = self.probe.unix_ns(now);
                let one_way_ns = probe::one_way(*sent_at_unix_ns, arrived_ns);
                let rtt_ns = echo.and_then(|e| e.round_trip_ns(arrived_ns));
                let mut cost = None;
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.quality
                        .on_ping(now, *request_id, *sent_at_unix_ns, one_way_ns, rtt_ns);
                    cost = p.quality.cost(&self.cost_weights);
                    p.last_ping = Some(now);
                    p.down = false;
                    p.alive_for = if *interval_ms == 0 {
                        Duration::MAX
                    } else {
                        Duration::from_millis(u64::from(*interval_ms)) * probe::MISSED_PINGS
                            + probe::LIVENESS_SLACK
                    };
                }
                if let Some(cost) = cost {
                    push_event(
                        &mut self.events,
                        &mut self.metrics,
                        NodeEvent::LatencyMeasured {
                            from: peer,
                            one_way_ns,
                            cost,
                        },
                    );
                }
                return;
            }
            if for_me || flood {
                let event = NodeEvent::Control {
                    from_peer: peer,
                    src: header.src,
                    dst: header.dst,
                    kind: header.kind,
                    seq: control.seq,
                    body: body.to_vec(),
                };
                push_event(&mut self.events, &mut self.metrics, event);
            }
        }
        if for_me {
            return;
        }
        // Relay: one hop used; drop when none is left (SYSTEM.md §4).
        let ttl = header.ttl.saturating_sub(1);
        if ttl == 0 {
            self.metrics.drop("ttl_expired");
            return;
        }
        // `body` borrows the caller's buffer, not the node, so it can be
        // sealed again for the next hop without a copy of its own.
        self.route(now, Header { ttl, ..header }, body, Some(peer));
    }

    fn deliver(&mut self, now: Instant, header: Header, frame: &[u8]) {
        let Some(eth) = Frame::parse(frame) else {
            self.metrics.drop("frame_too_short");
            return;
        };
        if let Some(src) = NodeId::new(header.src)
            && !ethernet::is_group(&eth.src())
            && !self.fib.learn(now, eth.src(), src)
        {
            self.metrics.drop("fib_full");
        }
        let Some(slot) = self.frames.reserve() else {
            self.metrics.drop("rx_queue_full");
            return;
        };
        let Some(dst) = slot.get_mut(..frame.len()) else {
            self.metrics.drop("frame_too_long");
            return;
        };
        dst.copy_from_slice(frame);
        self.frames.commit(0..frame.len(), ());
        self.metrics.delivered_packets += 1;
        self.probe.note_traffic(now);
    }

    /// Moves WireGuard's own output into the node's queues, and reacts to
    /// its events (a new session releases the packets parked for it).
    fn drain_wg(&mut self, now: Instant) {
        while let Some(t) = self.wg.poll_transmit(&mut self.wg_scratch) {
            let (dst, len) = match t {
                WgTransmit::ToPeer { peer, len } => {
                    match self.peers.get(&peer).and_then(|p| p.endpoint) {
                        Some(dst) => (dst, len),
                        None => {
                            self.metrics.drop("no_endpoint");
                            continue;
                        }
                    }
                }
                WgTransmit::ToAddr { addr, len } => {
                    // Cookie replies (the only `ToAddr`) answer whoever
                    // floods us and are best effort (the initiator retries
                    // after REKEY_TIMEOUT): they never take the second half
                    // of the ring, which stays for data and handshakes sent
                    // before the ring is flushed. Without this a flood's
                    // replies filled the ring and relayed frames were lost.
                    if self.transmits.len() * 2 >= self.transmits.capacity() {
                        self.metrics.drop("cookie_reply_shed");
                        continue;
                    }
                    (addr, len)
                }
            };
            let Some(slot) = self.transmits.reserve() else {
                self.metrics.drop("tx_queue_full");
                continue;
            };
            let (Some(out), Some(src)) = (slot.get_mut(..len), self.wg_scratch.get(..len)) else {
                continue;
            };
            out.copy_from_slice(src);
            self.transmits.commit(0..len, (dst, None));
        }
        while let Some(e) = self.wg.poll_event() {
            match e {
                WgEvent::SessionEstablished { peer } => {
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.failed_handshakes = 0;
                        p.ping_initiate_after = None;
                    }
                    if let Some(c) = self.metrics.peer_mut(peer) {
                        c.handshakes += 1;
                    }
                    self.flush_parked(now, peer);
                    push_event(
                        &mut self.events,
                        &mut self.metrics,
                        NodeEvent::SessionEstablished { peer },
                    );
                }
                WgEvent::HandshakeFailed { peer } => {
                    if let Some(c) = self.metrics.peer_mut(peer) {
                        c.handshake_failures += 1;
                    }
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.failed_handshakes = p.failed_handshakes.saturating_add(1);
                        let backoff = PING_HANDSHAKE_BACKOFF
                            .saturating_mul(1 << p.failed_handshakes.min(5).saturating_sub(1))
                            .min(PING_HANDSHAKE_BACKOFF_MAX);
                        p.ping_initiate_after = Some(now + backoff);
                    }
                    if let Some(p) = self.peers.get_mut(&peer) {
                        let dropped = p.pending.len() as u64;
                        p.pending.clear();
                        for _ in 0..dropped {
                            self.metrics.drop("handshake_failed");
                        }
                    }
                    push_event(
                        &mut self.events,
                        &mut self.metrics,
                        NodeEvent::HandshakeFailed { peer },
                    );
                }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }

    /// Seals and queues the packets parked for `peer` while it had no session.
    fn flush_parked(&mut self, now: Instant, peer: NodeId) {
        let Some(endpoint) = self.peers.get(&peer).and_then(|p| p.endpoint) else {
            return;
        };
        loop {
            let Some(p) = self.peers.get_mut(&peer) else {
                return;
            };
            let Some(slot) = self.transmits.reserve() else {
                return; // the rest stays parked until the next drain
            };
            let Some(((), plain)) = p.pending.pop() else {
                p.pending.clear_popped();
                return;
            };
            let start = wg::TRANSPORT_HEADER_LEN;
            let Some(dst) = slot.get_mut(start..start + plain.len()) else {
                continue;
            };
            dst.copy_from_slice(plain);
            let range = start..start + plain.len();
            match self.wg.seal(now, peer, slot, range) {
                Ok(r) => {
                    let len = r.len() as u64;
                    self.transmits.commit(r, (endpoint, None));
                    if let Some(c) = self.metrics.peer_mut(peer) {
                        c.tx_bytes += len;
                        c.tx_packets += 1;
                    }
                }
                Err(e) => self.metrics.drop(seal_error_label(e)),
            }
        }
    }
}

/// Bytes a packet slot needs: WireGuard's transport header, the routing
/// header, the largest body, padding and the AEAD tag.
fn slot_len(max_frame_len: usize) -> usize {
    wg::TRANSPORT_HEADER_LEN
        + padded(header::LEN + max_frame_len.max(CONTROL_BODY_MAX))
        + wg::TAG_LEN
}

/// Largest control-message body a node originates.
const CONTROL_BODY_MAX: usize = 512;

/// Plaintext length after WireGuard's padding.
fn padded(len: usize) -> usize {
    len.div_ceil(PADDING_MULTIPLE) * PADDING_MULTIPLE
}

/// Routing header, body, then zero padding, into `plain` (exactly
/// `padded(header::LEN + body.len())` bytes).
fn write_plaintext(plain: &mut [u8], header: Header, body: &[u8]) {
    let _ = header.emit(plain);
    let end = header::LEN + body.len();
    if let Some(dst) = plain.get_mut(header::LEN..end) {
        dst.copy_from_slice(body);
    }
    if let Some(pad) = plain.get_mut(end..) {
        pad.fill(0);
    }
}

/// Keeps a packet for `peer` until its session is up; counts a drop when
/// the queue is full.
fn park(peer: &mut Neighbour, metrics: &mut Metrics, header: Header, body: &[u8], plain_len: usize) {
    let Some(slot) = peer.pending.reserve() else {
        metrics.drop("handshake_queue_full");
        return;
    };
    let Some(plain) = slot.get_mut(..plain_len) else {
        metrics.drop("body_too_long");
        return;
    };
    write_plaintext(plain, header, body);
    peer.pending.commit(0..plain_len, ());
}

fn push_event(events: &mut VecDeque<NodeEvent>, metrics: &mut Metrics, event: NodeEvent) {
    if events.len() >= EVENT_CAPACITY {
        metrics.drop("event_queue_full");
    } else {
        events.push_back(event);
    }
}

/// The edges among `peers`, without the supernode session handles.
fn edge_neighbours(peers: &BTreeMap<NodeId, Neighbour>) -> Vec<NodeId> {
    peers
        .keys()
        .copied()
        .filter(|id| !id.is_supernode())
        .collect()
}

/// Transmit slots for `peers` neighbours: a ping round or a broadcast's
/// fan-out, the handshakes it may start, and WireGuard's own retries.
fn transmit_slots(peers: usize) -> usize {
    MIN_TRANSMIT_SLOTS.max(4 * peers + 32)
}

/// After a failed handshake, pings and control messages wait this long
/// before trying the neighbour again, doubling per failure up to the
/// maximum; frames for the neighbour still start a handshake at once. A
/// neighbour that never answers costs, per hour after the first, at most
/// 3600 s / (PING_HANDSHAKE_BACKOFF_MAX + REKEY_TIMEOUT) ≈ 7 probe
/// attempts of one initiation each, instead of one initiation per
/// REKEY_TIMEOUT (720); one that comes back gets a session within
/// PING_HANDSHAKE_BACKOFF_MAX plus a ping interval (sooner if it probes
/// first), or at once for a routed frame. The back-off only grows while
/// failures follow each other: a link that flapped for a minute is
/// retried after 30 s, one dead for a quarter of an hour every 8 min.
pub const PING_HANDSHAKE_BACKOFF: Duration = Duration::from_secs(30);
pub const PING_HANDSHAKE_BACKOFF_MAX: Duration = Duration::from_secs(480);
/// How long a probe's handshake attempt lasts once the neighbour has
/// failed one: a single initiation, abandoned when its retransmit timer
/// (REKEY_TIMEOUT plus jitter) fires, not REKEY_ATTEMPT_TIME's eighteen
/// retries. A lost initiation costs one back-off period; the next probe
/// is the retry.
const PROBE_ATTEMPT_TIME: Duration = REKEY_TIMEOUT;

/// How often expired FIB and de-duplication entries are swept: often enough
/// that neither holds dead entries for long past their timeout.
fn sweep_interval(fib: &Fib, dedup: &Dedup) -> Duration {
    let shortest = fib.timeout().min(dedup.timeout());
    (shortest / 2).max(Duration::from_secs(1))
}

fn seal_error_label(e: SealError) -> &'static str {
    match e {
        SealError::NoSession => "no_session",
        SealError::UnknownPeer => "unknown_peer",
        SealError::Buffer => "buffer_too_small",
    }
}
