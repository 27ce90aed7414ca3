//! A simulated network: many [`Node`]s in one process on a virtual clock,
//! with per-direction delay, jitter, loss, duplication, MTU, partitions and
//! a wall-clock offset per host. Hours of protocol time run in milliseconds,
//! and a seed makes every run the same.
//!
//! # Driving it
//!
//! ```text
//! let mut sim = Sim::new(seed, start);
//! let a = sim.add_host(addr_a, offset_a, |now, unix_now| Node::new(cfg_a, seed_a, now, unix_now));
//! sim.set_link(a, b, Link::with_delay(ms(30)));      // one direction
//! sim.inject_frame(a, &frame);                         // a frame from a's interface
//! sim.run_for(Duration::from_secs(5));                 // advance virtual time
//! sim.host(b).frames                                   // frames b's interface received
//! ```
//!
//! Only test code and the `sim` feature build this module.

mod link;
mod p2p_mode;
mod super_mode;

pub use link::Link;
pub use p2p_mode::SimP2p;
pub use super_mode::{SimEdge, SimSuper};

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::node::{Node, NodeEvent};

/// Index of a host in a [`Sim`].
pub type HostId = usize;

/// A node plus what its interface and owner saw.
#[derive(Debug)]
pub struct Host {
    pub node: Node,
    /// The address its datagrams come from and go to.
    pub addr: SocketAddr,
    /// Frames the node delivered to its interface, in order.
    pub frames: Vec<Vec<u8>>,
    pub events: Vec<NodeEvent>,
    /// How far this host's wall clock is from the simulation's true time.
    pub clock_offset: Duration,
    pub clock_behind: bool,
    /// Control-plane logic run on this host's node, if any.
    pub controller: Option<Box<dyn Controller>>,
    /// The signed offset (ns) the node was built with.
    clock_at_add_ns: i64,
    /// The node's `poll_timeout`, cached: recomputed only after something
    /// touched the node (`None` = unknown). The node alone decides it, so
    /// every path that lends the node out marks it stale.
    node_wake: Option<Option<Instant>>,
    /// The controller's `poll_timeout`, cached the same way when the
    /// controller says only its own host moves it
    /// ([`Controller::timer_is_own`]); asked afresh every time otherwise.
    controller_wake: Option<Option<Instant>>,
}

/// Control-plane logic attached to a host (super mode's edge or
/// supernode), run on the host's node as its events and timers come — what
/// the daemon's loop does around a node.
pub trait Controller: std::fmt::Debug {
    /// An event the node emitted (it is also kept in `Host::events`).
    fn handle_event(
        &mut self,
        now: Instant,
        unix_now: Duration,
        node: &mut Node,
        event: &NodeEvent,
    );
    /// Runs due timers; early calls are harmless.
    fn handle_timeout(&mut self, now: Instant, unix_now: Duration, node: &mut Node);
    fn poll_timeout(&self) -> Option<Instant>;
    /// Whether `poll_timeout` changes only when this controller (or its
    /// node) is called, so the simulator may cache it between calls. Not
    /// so for super mode, whose edges call into the supernode's core.
    fn timer_is_own(&self) -> bool {
        false
    }
    /// Lets a test reach the concrete type.
    fn as_any(&mut self) -> &mut dyn std::any::Any;
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Instant,
    /// Tie-breaker: datagrams due at the same instant arrive in send order.
    order: u64,
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

/// Counts of what the network itself did to datagrams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    pub sent: u64,
    /// Of those, WireGuard handshake initiations (type 1): each costs its
    /// sender a few X25519 operations, which dominate a soak's CPU time.
    pub initiations: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub too_big: u64,
    pub no_such_host: u64,
}

#[derive(Debug)]
pub struct Sim {
    now: Instant,
    start: Instant,
    /// The true wall-clock time at `start`.
    unix_start: Duration,
    hosts: Vec<Host>,
    /// Ordered maps: with tens of hosts a few comparisons beat SipHash,
    /// and these are looked up for every datagram.
    by_addr: BTreeMap<SocketAddr, HostId>,
    links: BTreeMap<(HostId, HostId), Link>,
    default_link: Link,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    rng: ChaCha20Rng,
    order: u64,
    pub stats: NetStats,
    /// Spent datagram buffers, reused: a soak sends millions of datagrams.
    pool: Vec<Vec<u8>>,
    /// Scratch for `pump`, kept for its capacity.
    outgoing: Vec<(SocketAddr, Vec<u8>)>,
    events: Vec<NodeEvent>,
}

/// Loop guard: this many steps without time moving means a node asks to be
/// woken in the past forever — a bug the test should see at once.
const MAX_STEPS_WITHOUT_PROGRESS: u32 = 100_000;
/// Spare datagram buffers kept (beyond this they are freed).
const MAX_POOLED: usize = 4096;

impl Sim {
    /// An empty network at virtual time `start` (any instant; only
    /// differences matter). The true wall clock starts at 2026-01-01.
    pub fn new(seed: u64, start: Instant) -> Self {
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
        Self {
            now: start,
            start,
            unix_start: Duration::from_secs(1_767_225_600),
            hosts: Vec::new(),
            by_addr: BTreeMap::new(),
            links: BTreeMap::new(),
            default_link: Link::default(),
            in_flight: BinaryHeap::new(),
            rng: ChaCha20Rng::from_seed(seed_bytes),
            order: 0,
            stats: NetStats::default(),
            pool: Vec::new(),
            outgoing: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Adds a host at `addr` whose wall clock is `offset` ahead of true time
    /// (`behind` = true for behind); `make` builds its node from the virtual
    /// `now` and the host's own wall clock.
    pub fn add_host(
        &mut self,
        addr: SocketAddr,
        offset: Duration,
        behind: bool,
        make: impl FnOnce(Instant, Duration) -> Node,
    ) -> HostId {
        let unix_now = self.host_unix_time(offset, behind);
        let id = self.hosts.len();
        self.hosts.push(Host {
            node: make(self.now, unix_now),
            addr,
            frames: Vec::new(),
            events: Vec::new(),
            clock_offset: offset,
            clock_behind: behind,
            controller: None,
            clock_at_add_ns: {
                let ns = i64::try_from(offset.as_nanos()).unwrap_or(i64::MAX);
                if behind { -ns } else { ns }
            },
            node_wake: None,
            controller_wake: None,
        });
        self.by_addr.insert(addr, id);
        id
    }

    fn host_unix_time(&self, offset: Duration, behind: bool) -> Duration {
        let truth = self.unix_start + (self.now - self.start);
        if behind {
            truth.saturating_sub(offset)
        } else {
            truth + offset
        }
    }

    /// Attaches control-plane logic to a host.
    pub fn set_controller(&mut self, id: HostId, c: Box<dyn Controller>) {
        self.hosts[id].controller = Some(c);
        self.hosts[id].controller_wake = None;
    }

    /// Lets `f` act on a host's controller (downcast with `as_any`) and
    /// node, then collects the output.
    pub fn with_controller<R>(
        &mut self,
        id: HostId,
        f: impl FnOnce(&mut dyn Controller, &mut Node, Instant) -> R,
    ) -> Option<R> {
        let now = self.now;
        let host = &mut self.hosts[id];
        let c = host.controller.as_mut()?;
        let r = f(c.as_mut(), &mut host.node, now);
        self.pump(id);
        Some(r)
    }

    /// Moves host `id`'s wall clock to `offset` from true time (`behind` =
    /// true for behind): a clock drifting or stepped. The node's clock
    /// follows through its wall-clock correction
    /// ([`Node::set_clock_offset_ns`]), relative to the offset it was added
    /// with.
    pub fn set_clock_offset(&mut self, id: HostId, offset: Duration, behind: bool) {
        let signed = |o: Duration, b: bool| {
            let ns = i64::try_from(o.as_nanos()).unwrap_or(i64::MAX);
            if b { -ns } else { ns }
        };
        let host = &mut self.hosts[id];
        let delta = signed(offset, behind).saturating_sub(host.clock_at_add_ns);
        host.clock_offset = offset;
        host.clock_behind = behind;
        host.node.set_clock_offset_ns(delta);
        host.node_wake = None;
        host.controller_wake = None;
    }

    /// Datagrams on the wire now (the network's own queue).
    pub fn in_flight_len(&self) -> usize {
        self.in_flight.len()
    }

    /// Host `id`'s wall clock now.
    pub fn unix_time(&self, id: HostId) -> Duration {
        let h = &self.hosts[id];
        self.host_unix_time(h.clock_offset, h.clock_behind)
    }

    /// A fresh 32-byte seed from the simulation's RNG (for a node's own RNG).
    pub fn seed32(&mut self) -> [u8; 32] {
        let mut s = [0u8; 32];
        for chunk in s.chunks_mut(8) {
            chunk.copy_from_slice(&self.rng.next_u64().to_le_bytes());
        }
        s
    }

    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id]
    }

    /// The host, node included; the caller may change the node, so its
    /// next timer is looked up afresh.
    pub fn host_mut(&mut self, id: HostId) -> &mut Host {
        let host = &mut self.hosts[id];
        host.node_wake = None;
        host.controller_wake = None;
        host
    }

    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter()
    }

    /// The link used where none was set.
    pub fn set_default_link(&mut self, link: Link) {
        self.default_link = link;
    }

    /// Sets the link from `a` to `b` (one direction).
    pub fn set_link(&mut self, a: HostId, b: HostId, link: Link) {
        self.links.insert((a, b), link);
    }

    /// Sets both directions between `a` and `b` to `link`.
    pub fn set_link_both(&mut self, a: HostId, b: HostId, link: Link) {
        self.set_link(a, b, link);
        self.set_link(b, a, link);
    }

    pub fn link(&self, a: HostId, b: HostId) -> Link {
        self.links
            .get(&(a, b))
            .copied()
            .unwrap_or(self.default_link)
    }

    /// Moves a host to a new address (a NAT rebinding or a roaming laptop):
    /// its datagrams come from `addr` from now on, and only `addr` reaches it.
    pub fn move_host(&mut self, id: HostId, addr: SocketAddr) {
        let old = self.hosts[id].addr;
        self.by_addr.remove(&old);
        self.by_addr.insert(addr, id);
        self.hosts[id].addr = addr;
    }

    /// A frame arrives from `id`'s interface now.
    pub fn inject_frame(&mut self, id: HostId, frame: &[u8]) {
        let now = self.now;
        self.hosts[id].node.handle_frame(now, frame);
        self.pump(id);
    }

    /// Lets `f` act on a host's node at the current virtual time (send a
    /// control message, change its routes…), then collects its output.
    pub fn with_node<R>(&mut self, id: HostId, f: impl FnOnce(&mut Node, Instant) -> R) -> R {
        let now = self.now;
        let r = f(&mut self.hosts[id].node, now);
        self.pump(id);
        r
    }

    /// Runs the network for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs the network until virtual time `until`, jumping straight from
    /// one arrival or timer to the next.
    pub fn run_until(&mut self, until: Instant) {
        let mut stalled = 0u32;
        loop {
            let next_datagram = self.in_flight.peek().map(|Reverse(d)| d.at);
            let next = match (next_datagram, self.next_timer()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > until {
                break;
            }
            if next <= self.now {
                stalled += 1;
                assert!(
                    stalled < MAX_STEPS_WITHOUT_PROGRESS,
                    "simulation stalled at {:?}",
                    self.elapsed()
                );
            } else {
                stalled = 0;
                self.now = next;
            }
            self.step();
        }
        self.now = until.max(self.now);
    }

    /// The earliest timer of any node or controller. Controllers are asked
    /// every time: a supernode's core is shared with its edges' controllers
    /// (the Edge API), so another host's turn can move its timer.
    fn next_timer(&mut self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for id in 0..self.hosts.len() {
            let node = self.node_wake(id);
            let c = self.controller_wake(id);
            for t in node.into_iter().chain(c) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        next
    }

    /// When host `id`'s controller next wants `handle_timeout`, from the cache
    /// if the controller allows one.
    fn controller_wake(&mut self, id: HostId) -> Option<Instant> {
        let host = &mut self.hosts[id];
        if let Some(w) = host.controller_wake {
            return w;
        }
        let c = host.controller.as_ref()?;
        let w = c.poll_timeout();
        if c.timer_is_own() {
            host.controller_wake = Some(w);
        }
        w
    }

    /// When host `id`'s node next wants `handle_timeout`, from the cache.
    fn node_wake(&mut self, id: HostId) -> Option<Instant> {
        let host = &mut self.hosts[id];
        if let Some(w) = host.node_wake {
            return w;
        }
        let w = host.node.poll_timeout().map(|(t, _)| t);
        host.node_wake = Some(w);
        w
    }

    /// Delivers every datagram due now, then runs every timer due now.
    fn step(&mut self) {
        let now = self.now;
        while self.in_flight.peek().is_some_and(|Reverse(d)| d.at <= now) {
            let Some(Reverse(mut d)) = self.in_flight.pop() else {
                break;
            };
            let Some(&to) = self.by_addr.get(&d.to) else {
                self.stats.no_such_host += 1;
                self.recycle(d.bytes);
                continue;
            };
            self.stats.delivered += 1;
            self.hosts[to]
                .node
                .handle_datagram(now, d.from, &mut d.bytes);
            self.recycle(d.bytes);
            self.pump(to);
        }
        for id in 0..self.hosts.len() {
            if self.node_wake(id).is_some_and(|t| t <= now) {
                self.hosts[id].node.handle_timeout(now);
                self.pump(id);
            }
            if self.controller_wake(id).is_some_and(|t| t <= now) {
                let unix_now = self.unix_time(id);
                let host = &mut self.hosts[id];
                if let Some(c) = host.controller.as_mut() {
                    c.handle_timeout(now, unix_now, &mut host.node);
                }
                self.pump(id);
            }
        }
    }

    /// Collects a host's output: datagrams onto the links, frames and events
    /// into the host's records. Every call follows something done to the
    /// node, so its cached timer is dropped here.
    fn pump(&mut self, id: HostId) {
        let from = self.hosts[id].addr;
        let now = self.now;
        let unix_now = self.unix_time(id);
        let mut outgoing = std::mem::take(&mut self.outgoing);
        let mut events = std::mem::take(&mut self.events);
        let host = &mut self.hosts[id];
        host.node_wake = None;
        host.controller_wake = None;
        // A controller's reaction may produce more output; go round until
        // the host is quiet.
        loop {
            while let Some(t) = host.node.poll_transmit() {
                let mut bytes = self.pool.pop().unwrap_or_default();
                bytes.extend_from_slice(t.payload);
                // A node with deferred crypto hands out plaintext and the
                // job that seals it, as a data-path thread would run it.
                if let Some(job) = t.seal
                    && job.seal(&mut bytes).is_err()
                {
                    bytes.clear();
                    self.pool.push(bytes);
                    continue;
                }
                outgoing.push((t.dst, bytes));
            }
            while let Some(f) = host.node.poll_frame() {
                host.frames.push(f.to_vec());
            }
            while let Some(e) = host.node.poll_event() {
                events.push(e);
            }
            if events.is_empty() {
                break;
            }
            if let Some(c) = host.controller.as_mut() {
                for e in &events {
                    c.handle_event(now, unix_now, &mut host.node, e);
                }
            }
            host.events.append(&mut events);
        }
        for (to, bytes) in outgoing.drain(..) {
            self.send(id, from, to, bytes);
        }
        self.outgoing = outgoing;
        self.events = events;
    }

    /// Keeps a delivered or dropped datagram's buffer for the next one.
    fn recycle(&mut self, mut bytes: Vec<u8>) {
        if self.pool.len() < MAX_POOLED {
            bytes.clear();
            self.pool.push(bytes);
        }
    }

    fn send(&mut self, src: HostId, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        self.stats.sent += 1;
        if bytes.first() == Some(&1) {
            self.stats.initiations += 1;
        }
        let Some(&dst) = self.by_addr.get(&to) else {
            self.stats.no_such_host += 1;
            self.recycle(bytes);
            return;
        };
        let link = self.link(src, dst);
        if !link.up || self.chance(link.loss) {
            self.stats.lost += 1;
            self.recycle(bytes);
            return;
        }
        if bytes.len() > link.mtu {
            self.stats.too_big += 1;
            self.recycle(bytes);
            return;
        }
        let at = self.now + link.delay + self.jitter(link.jitter);
        if self.chance(link.duplicate) {
            self.stats.duplicated += 1;
            let again = at + link.delay;
            let mut copy = self.pool.pop().unwrap_or_default();
            copy.extend_from_slice(&bytes);
            self.enqueue(again, from, to, copy);
        }
        self.enqueue(at, from, to, bytes);
    }

    fn enqueue(&mut self, at: Instant, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        self.order += 1;
        self.in_flight.push(Reverse(InFlight {
            at,
            order: self.order,
            from,
            to,
            bytes,
        }));
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.rng.next_u64() as f64 / u64::MAX as f64) < p
    }

    fn jitter(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.next_u64() % nanos.saturating_add(1))
    }
}
