//! `Router`: graph + stability + solver, driven like the rest of egd's
//! sans-IO core: inputs `handle_*(now, …)`, outputs
//! `poll_*`, time passed in as `std::time::Instant`, never read.
//!
//! ```text
//! let mut r = Router::new(config, now);
//! r.handle_report(now, src, dst, latency, time_to_alive); // per report
//! r.handle_timeout(now);                                // when poll_timeout() is due
//! while let Some(ev) = r.poll_event() { … }             // Recomputed / Inconsistent
//! r.next_hop(me, dst); r.forward_set(me, came_from, src); r.state_hash();
//! ```
//!
//! Timers:
//! - *sweep*, every `TimeoutCheckInterval`: edges past their time-to-alive
//!   are dropped; a dropped edge recomputes at once.
//! - *cool-down*: a significant weight change (see
//!   [`StabilitySettings::is_significant`]) recomputes no sooner than
//!   `RecalculateCoolDown` after the previous recomputation; an appearing or
//!   disappearing edge (or node, or changed additional cost) recomputes at
//!   once — or, within the burst window ([`Router::set_burst_window`], off
//!   unless set) of the previous recomputation, at its end.
//!
//! A recomputation driven only by changed weights applies path hysteresis
//! (`hysteresis.rs`): a pair keeps its next hop unless the new path is
//! significantly better; one with new edges, nodes or costs, or lost ones,
//! takes the optimal table.
//!
//! A recomputation applies the few changed edges incrementally
//! ([`Solution::update_edge`]) when the node set is unchanged, and solves
//! from scratch otherwise; both give the same table. Inconsistent samples
//! (a negative cycle: around a cycle the clock offsets cancel, so only
//! samples of different ages — a clock stepped in between — make one) are
//! resolved by discarding the stalest sample on the cycle and solving
//! again, until none is left: each cycle is reported as
//! [`RouterEvent::Inconsistent`], each discarded sample as
//! [`RouterEvent::Discarded`]. Nothing is clamped; a fresh report of a
//! discarded edge brings it back. In static mode the configured table is
//! served unchanged and nothing is solved.

use crate::graph::{Change, Graph};
use crate::{
    Latency, ManualLatency, NegativeCycle, NextHopTable, NodeId, Solution, StabilitySettings,
    StateHash, solve,
};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most this many changed edges are applied incrementally; more, and a
/// full solve is cheaper.
const INCREMENTAL_LIMIT: usize = 8;
/// Undrained events beyond this many drop the oldest.
const MAX_EVENTS: usize = 64;
/// A good [`Router::set_burst_window`] for live routing: a burst (every
/// edge of a starting mesh appearing, N² reports within a second) costs a
/// few solves and table pushes, not one per report, and a withdrawn link
/// waits at most this much.
pub const BURST_WINDOW: Duration = Duration::from_millis(10);

/// How the router is set up (from the config's routing keys).
#[derive(Clone, Debug, Default)]
pub struct RouterConfig {
    /// Jitter, damping, cool-down and sweep settings.
    pub stability: StabilitySettings,
    /// `ManualLatency` overrides.
    pub manual: ManualLatency,
    /// `StaticMode`: the configured `NextHopTable`, served as is.
    pub static_table: Option<NextHopTable>,
}

/// What the router tells its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouterEvent {
    /// A recomputation finished; `changed` when any next hop differs.
    Recomputed {
        /// The new table's hash.
        state_hash: StateHash,
        /// Whether any next hop changed.
        changed: bool,
    },
    /// The samples contained this negative cycle.
    Inconsistent(NegativeCycle),
    /// To break a negative cycle, this edge's sample (the stalest on the
    /// cycle) was dropped until it is reported again.
    Discarded {
        /// The edge's source.
        src: NodeId,
        /// The edge's destination.
        dst: NodeId,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    None,
    AfterCoolDown,
    Now,
}

/// The routing state of one supernode or P2P edge.
#[derive(Debug)]
pub struct Router {
    stability: StabilitySettings,
    static_mode: bool,
    graph: Graph,
    solution: Option<Solution>,
    table: NextHopTable,
    state_hash: StateHash,
    /// The node set or additional costs changed: incremental is not enough.
    topology_changed: bool,
    /// An edge appeared or disappeared since the last recomputation: no
    /// hysteresis this time.
    structural: bool,
    pending: Pending,
    last_recompute: Option<Instant>,
    /// See [`Router::set_burst_window`].
    burst_window: Duration,
    next_sweep: Instant,
    events: VecDeque<RouterEvent>,
}

impl Router {
    /// A router with no edges yet.
    pub fn new(config: RouterConfig, now: Instant) -> Router {
        let static_mode = config.static_table.is_some();
        let table = config.static_table.unwrap_or_default();
        let next_sweep = now
            .checked_add(config.stability.timeout_check_interval)
            .unwrap_or(now);
        Router {
            state_hash: table.state_hash(),
            stability: config.stability,
            static_mode,
            graph: Graph::new(config.manual),
            solution: None,
            table,
            topology_changed: true,
            structural: true,
            pending: Pending::None,
            last_recompute: None,
            burst_window: Duration::ZERO,
            next_sweep,
            events: VecDeque::new(),
        }
    }

    /// A latency report `src → dst`, valid for `time_to_alive`.
    pub fn handle_report(
        &mut self,
        now: Instant,
        src: NodeId,
        dst: NodeId,
        latency: Latency,
        time_to_alive: Duration,
    ) {
        let known = self.graph.nodes().filter(|&n| n == src || n == dst).count();
        let change = self
            .graph
            .report(now, src, dst, latency, time_to_alive, &self.stability);
        if src != dst && known < 2 {
            self.topology_changed = true;
        }
        match change {
            Change::Appeared => {
                self.structural = true;
                self.schedule(Pending::Now);
            }
            Change::Significant => self.schedule(Pending::AfterCoolDown),
            Change::Insignificant => {}
        }
        self.maybe_recompute(now);
    }

    /// The link `src → dst` is known to be down: drop it now.
    pub fn handle_link_down(&mut self, now: Instant, src: NodeId, dst: NodeId) {
        if self.graph.remove_edge(src, dst) {
            self.structural = true;
            self.schedule(Pending::Now);
        }
        self.maybe_recompute(now);
    }

    /// A node left the network (deleted, or offline after `PeerAliveTimeout`).
    pub fn handle_node_removed(&mut self, now: Instant, node: NodeId) {
        if self.graph.remove_node(node) {
            self.topology_changed = true;
            self.structural = true;
            self.schedule(Pending::Now);
        }
        self.maybe_recompute(now);
    }

    /// A node's `AdditionalCost` (changes every path through it: at once).
    pub fn handle_additional_cost(&mut self, now: Instant, node: NodeId, cost: Latency) {
        if self.graph.additional_cost(node) != cost.max(Latency::ZERO)
            || self.graph.nodes().all(|n| n != node)
        {
            self.graph.set_additional_cost(node, cost);
            self.topology_changed = true;
            self.structural = true;
            self.schedule(Pending::Now);
        }
        self.maybe_recompute(now);
    }

    /// Changes that recompute at once (edges or nodes appearing or going,
    /// costs changing) wait until `window` after the previous
    /// recomputation ([`BURST_WINDOW`] suits live routing; zero, the
    /// default, recomputes on every one).
    pub fn set_burst_window(&mut self, window: Duration) {
        self.burst_window = window;
    }

    /// Replaces the stability settings (e.g. a live `DampingFilterRadius`
    /// change); they apply from the next report on.
    pub fn set_stability(&mut self, stability: StabilitySettings) {
        self.stability = stability;
    }

    /// Runs due timers; calling early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now >= self.next_sweep {
            if !self.graph.expire(now).is_empty() {
                self.structural = true;
                self.schedule(Pending::Now);
            }
            self.next_sweep = now
                .checked_add(self.stability.timeout_check_interval)
                .unwrap_or(now);
        }
        self.maybe_recompute(now);
    }

    /// When to call [`Router::handle_timeout`] next, and why.
    pub fn poll_timeout(&self) -> Option<(Instant, &'static str)> {
        let sweep = (self.next_sweep, "edge expiry sweep");
        if let (Pending::Now, Some(end)) = (self.pending, self.burst_end()) {
            return Some(if end < self.next_sweep {
                (end, "burst of changes")
            } else {
                sweep
            });
        }
        match (self.pending, self.cool_down_end()) {
            (Pending::AfterCoolDown, Some(end)) if end < self.next_sweep => {
                Some((end, "recalculate cool-down"))
            }
            _ => Some(sweep),
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<RouterEvent> {
        self.events.pop_front()
    }

    /// The table in force.
    pub fn next_hop_table(&self) -> &NextHopTable {
        &self.table
    }

    /// The hash of the table in force.
    pub fn state_hash(&self) -> StateHash {
        self.state_hash
    }

    /// Where `src` sends frames for `dst`.
    pub fn next_hop(&self, src: NodeId, dst: NodeId) -> Option<NodeId> {
        self.table.next_hop(src, dst)
    }

    /// Where `me` forwards a broadcast from `src` that came from `came_from`.
    pub fn forward_set(&self, me: NodeId, came_from: NodeId, src: NodeId) -> Vec<NodeId> {
        self.table.forward_set(me, came_from, src)
    }

    /// Distances and paths of the last successful solve (none in static mode).
    pub fn solution(&self) -> Option<&Solution> {
        self.solution.as_ref()
    }

    /// The live graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    fn schedule(&mut self, p: Pending) {
        self.pending = self.pending.max(p);
    }

    fn burst_end(&self) -> Option<Instant> {
        self.last_recompute
            .filter(|_| !self.burst_window.is_zero())
            .and_then(|t| t.checked_add(self.burst_window))
    }

    fn cool_down_end(&self) -> Option<Instant> {
        self.last_recompute
            .and_then(|t| t.checked_add(self.stability.recalculate_cool_down))
    }

    fn maybe_recompute(&mut self, now: Instant) {
        let due = match self.pending {
            Pending::None => false,
            Pending::Now => self.burst_end().is_none_or(|end| now >= end),
            Pending::AfterCoolDown => self.cool_down_end().is_none_or(|end| now >= end),
        };
        if due {
            self.recompute(now);
        }
    }

    fn recompute(&mut self, now: Instant) {
        self.pending = Pending::None;
        self.last_recompute = Some(now);
        if self.static_mode {
            self.graph.mark_applied();
            return;
        }
        let changes = self.graph.pending_changes();
        let incremental = match self.solution.as_mut() {
            Some(sol) if !self.topology_changed && changes.len() <= INCREMENTAL_LIMIT => changes
                .iter()
                .all(|&(s, d, w)| sol.update_edge(s, d, w).is_ok()),
            _ => false,
        };
        self.graph.mark_applied();
        self.topology_changed = false;
        if !incremental {
            loop {
                match solve(&self.graph.snapshot()) {
                    Ok(sol) => {
                        self.solution = Some(sol);
                        break;
                    }
                    Err(cycle) => {
                        // Stale samples: drop the oldest on the cycle and
                        // solve again (each round removes an edge, so this
                        // ends).
                        let oldest = self.graph.oldest(&cycle.edges);
                        self.push_event(RouterEvent::Inconsistent(cycle));
                        let Some((src, dst)) = oldest else {
                            // Not made of graph edges (cannot happen): keep
                            // serving the old table; solve afresh next time.
                            self.solution = None;
                            self.topology_changed = true;
                            return;
                        };
                        self.graph.remove_edge(src, dst);
                        self.push_event(RouterEvent::Discarded { src, dst });
                        self.structural = true;
                    }
                }
            }
            self.graph.mark_applied();
        }
        if let Some(sol) = &self.solution {
            let table = if self.structural {
                sol.next_hop_table()
            } else {
                crate::hysteresis::apply(sol, &self.table, self.stability.hysteresis())
            };
            self.structural = false;
            let changed = table != self.table;
            self.table = table;
            self.state_hash = self.table.state_hash();
            self.push_event(RouterEvent::Recomputed {
                state_hash: self.state_hash,
                changed,
            });
        }
    }

    fn push_event(&mut self, event: RouterEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}
