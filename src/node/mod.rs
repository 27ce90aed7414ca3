//! The sans-IO edge node: WireGuard sessions with its neighbours, the
//! routing header, L2 learning and forwarding (docs/system.md#data-plane). No sockets, no
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
//!
//! # Where things are
//!
//! - `send.rs`: a frame or an originated control message, through
//!   [`Node::handle_frame`] / [`Node::send_control`], routing, sealing per
//!   next hop, parking while a session is missing;
//! - `receive.rs`: what WireGuard opened — a frame to deliver, a control
//!   message or ping for this node, or a packet to relay;
//! - `handshake.rs`: WireGuard's own datagrams and events, and which
//!   packets start a full handshake attempt and which only probe;
//! - `neighbour.rs`: one neighbour's endpoint (roaming), parked packets,
//!   liveness and probe back-off;
//! - `probe.rs` / `link_cost.rs`: the ping schedule and what a ping
//!   measures; `fib.rs`, `dedup.rs`, `forward.rs`: L2 learning, flood
//!   de-duplication, next hops; `deferred.rs`: crypto outside a lock.
//!
//! # Timers
//!
//! [`Node::poll_timeout`] returns the earliest of these with its name;
//! [`Node::handle_timeout`] runs whichever are due.
//!
//! - **WireGuard's** (handshake retransmit, rekey, keepalive, key expiry;
//!   named by `wg`): armed by sessions and handshakes; firing may send a
//!   handshake or keepalive, end an attempt (`HandshakeFailed`: parked
//!   packets dropped, probes back off) or erase keys.
//! - **`ping`**: armed at start and after every round while a ping
//!   interval is set (`NodeConfig::ping_interval`,
//!   [`Node::set_ping_interval`]); frames flowing through the node bring it
//!   forward to the fast interval (`probe.rs`). Firing pings every
//!   neighbour directly, each ping echoing the neighbour's last one.
//! - **`liveness`**: armed per neighbour by each of its pings, from the
//!   interval it announced (three missed pings plus slack); a neighbour
//!   that announces none is never armed. Firing reports
//!   [`NodeEvent::LinkDown`] once, until its next ping.
//! - **`fib_dedup_sweep`**: always armed, every half of the shorter of
//!   the FIB and de-duplication timeouts (at least 1 s). Firing forgets
//!   expired MAC addresses and flood sequence numbers.
//!
//! Probe back-off (`neighbour.rs`) is not a timer: it only decides whether
//! a probe that happens anyway may start a handshake.

mod dedup;
mod deferred;
#[cfg(test)]
pub(crate) use deferred::tests as deferred_tests;
mod fib;
mod forward;
mod from_config;
mod handshake;
mod link_cost;
mod neighbour;
mod probe;
mod receive;
pub(crate) mod ring;
mod send;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd_routing::NextHopTable;

use crate::NodeId;
use crate::drop::DropReason;
use crate::metrics::Metrics;
use crate::wg::{self, SealJob, Wg};
use crate::wg::{PresharedKey, PrivateKey, PublicKey};
use crate::wire::control::Body;
use crate::wire::header::{self, Kind};

use dedup::Dedup;
use fib::Fib;
use forward::Routes;
pub use from_config::next_hop_table;
pub use link_cost::{CostWeights, LOSS_SIGMAS, LOSS_WINDOW, LinkCost, LinkQuality, OUTAGE_GAP};
use neighbour::Neighbour;
pub use neighbour::{PROBE_BACKOFF, PROBE_BACKOFF_MAX};
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
            peers.insert(p.id, Neighbour::new(p.endpoint, p.is_static, slot_len));
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
            wg_scratch: vec![0u8; slot_len.max(wg::MAX_CONTROL_LEN)].into_boxed_slice(),
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
            existing.reconfigure(p.endpoint, p.is_static);
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
        self.peers
            .insert(p.id, Neighbour::new(p.endpoint, p.is_static, self.slot_len));
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
            p.set_endpoint(endpoint);
        }
    }

    /// Pins (or frees) a neighbour's endpoint: a static one does not roam
    /// to the source of its packets.
    pub fn set_static(&mut self, id: NodeId, is_static: bool) {
        if let Some(p) = self.peers.get_mut(&id) {
            p.set_static(is_static);
        }
    }

    /// Whether the neighbour is static (its endpoint pinned by config).
    pub fn is_static(&self, id: NodeId) -> bool {
        self.peers.get(&id).is_some_and(Neighbour::is_static)
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
        self.peers.get(&peer).and_then(Neighbour::endpoint)
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
                    *echo = p.echo(now);
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
            if p.check_down(now) {
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
            .filter_map(Neighbour::down_deadline)
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

/// Plaintext length after WireGuard's padding. Unlike `wg::padded_len`
/// not capped at an MTU: a slot must hold the padded longest body.
fn padded(len: usize) -> usize {
    len.div_ceil(PADDING_MULTIPLE) * PADDING_MULTIPLE
}

fn push_event(events: &mut VecDeque<NodeEvent>, metrics: &mut Metrics, event: NodeEvent) {
    if events.len() >= EVENT_CAPACITY {
        metrics.drop(DropReason::EventQueueFull);
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

/// How often expired FIB and de-duplication entries are swept: often enough
/// that neither holds dead entries for long past their timeout.
fn sweep_interval(fib: &Fib, dedup: &Dedup) -> Duration {
    let shortest = fib.timeout().min(dedup.timeout());
    (shortest / 2).max(Duration::from_secs(1))
}
