//! `Graph`: the live directed latency graph — reported edges with expiry,
//! damping and manual overrides, per-node additional costs — and what
//! changed since the last recomputation.
//!
//! Drive it with [`Graph::report`] for each latency report, [`Graph::expire`]
//! on the sweep timer, and take a [`Graph::snapshot`] to solve; after solving,
//! [`Graph::mark_applied`] records the values used, against which the next
//! reports are judged ([`crate::StabilitySettings::is_significant`]).
//! [`crate::Router`] does all of this for you.

use crate::stability::{DampingFilter, StabilitySettings};
use crate::{DenseGraph, Latency, ManualLatency, NodeId};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// What a report did to the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A new edge (or one that had expired): recompute at once.
    Appeared,
    /// A known edge moved beyond the jitter tolerance: recompute, subject to
    /// the cool-down.
    Significant,
    /// Within tolerance: no recomputation needed.
    Insignificant,
}

#[derive(Clone, Debug)]
struct EdgeState {
    filter: DampingFilter,
    /// The filtered (or overridden) value.
    current: Latency,
    valid_until: Instant,
    /// When the latest report arrived (stale samples go first when the
    /// samples contradict each other).
    reported_at: Instant,
}

/// The live graph.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    edges: BTreeMap<(NodeId, NodeId), EdgeState>,
    /// The values the last recomputation used (absent = no edge then).
    applied: BTreeMap<(NodeId, NodeId), Latency>,
    nodes: BTreeSet<NodeId>,
    additional: BTreeMap<NodeId, Latency>,
    manual: ManualLatency,
}

impl Graph {
    /// An empty graph with these overrides.
    pub fn new(manual: ManualLatency) -> Graph {
        Graph {
            manual,
            ..Graph::default()
        }
    }

    /// A report: `src → dst` measured `latency`, valid for `time_to_alive`.
    /// Self-reports are ignored (reported as insignificant).
    pub fn report(
        &mut self,
        now: Instant,
        src: NodeId,
        dst: NodeId,
        latency: Latency,
        time_to_alive: Duration,
        settings: &StabilitySettings,
    ) -> Change {
        if src == dst {
            return Change::Insignificant;
        }
        self.nodes.insert(src);
        self.nodes.insert(dst);
        let valid_until = now.checked_add(time_to_alive).unwrap_or(now);
        let override_ = self.manual.resolve(src, dst);
        let state = self.edges.entry((src, dst)).or_insert_with(|| EdgeState {
            filter: DampingFilter::default(),
            current: latency,
            valid_until,
            reported_at: now,
        });
        let filtered = state.filter.push(latency, settings.damping_filter_radius);
        state.current = override_.unwrap_or(filtered);
        state.valid_until = valid_until;
        state.reported_at = now;
        let applied = self.applied.get(&(src, dst)).copied();
        match applied {
            None => Change::Appeared,
            old if settings.is_significant(old, Some(state.current)) => Change::Significant,
            _ => Change::Insignificant,
        }
    }

    /// Removes `src → dst` at once (a link reported down). True if it existed.
    pub fn remove_edge(&mut self, src: NodeId, dst: NodeId) -> bool {
        self.edges.remove(&(src, dst)).is_some()
    }

    /// Removes a node and all its edges. True if it was known.
    pub fn remove_node(&mut self, node: NodeId) -> bool {
        self.edges.retain(|&(s, d), _| s != node && d != node);
        self.additional.remove(&node);
        self.nodes.remove(&node)
    }

    /// Sets a node's `AdditionalCost` (negative counts as zero).
    pub fn set_additional_cost(&mut self, node: NodeId, cost: Latency) {
        self.nodes.insert(node);
        self.additional.insert(node, cost.max(Latency::ZERO));
    }

    /// Drops every edge whose validity ended at or before `now`; returns them.
    pub fn expire(&mut self, now: Instant) -> Vec<(NodeId, NodeId)> {
        let gone: Vec<(NodeId, NodeId)> = self
            .edges
            .iter()
            .filter(|(_, e)| e.valid_until <= now)
            .map(|(&k, _)| k)
            .collect();
        for key in &gone {
            self.edges.remove(key);
        }
        gone
    }

    /// Of `edges`, the one whose latest report is oldest (the first of
    /// equals), if any is in the graph.
    pub fn oldest(&self, edges: &[(NodeId, NodeId)]) -> Option<(NodeId, NodeId)> {
        edges
            .iter()
            .filter_map(|k| self.edges.get(k).map(|e| (e.reported_at, *k)))
            .min_by_key(|(at, _)| *at)
            .map(|(_, k)| k)
    }

    /// The current value of `src → dst`.
    pub fn edge(&self, src: NodeId, dst: NodeId) -> Option<Latency> {
        self.edges.get(&(src, dst)).map(|e| e.current)
    }

    /// The solver's input: every known node, current edges, additional costs.
    pub fn snapshot(&self) -> DenseGraph {
        let mut g = DenseGraph::new(self.nodes.iter().copied());
        for (&(s, d), e) in &self.edges {
            // Both ends are in `nodes` (inserted on report).
            let _ = g.set_edge(s, d, Some(e.current));
        }
        for (&node, &cost) in &self.additional {
            let _ = g.set_additional_cost(node, cost);
        }
        g
    }

    /// Edges whose current value differs from the applied one (including
    /// appeared and vanished edges): `(src, dst, new value)`.
    pub fn pending_changes(&self) -> Vec<(NodeId, NodeId, Option<Latency>)> {
        let mut out: Vec<_> = self
            .edges
            .iter()
            .filter(|&(k, e)| self.applied.get(k) != Some(&e.current))
            .map(|(&(s, d), e)| (s, d, Some(e.current)))
            .collect();
        out.extend(
            self.applied
                .keys()
                .filter(|k| !self.edges.contains_key(k))
                .map(|&(s, d)| (s, d, None)),
        );
        out
    }

    /// Whether the last recomputation had an edge `src → dst` (its table
    /// accounts for the link).
    pub fn was_applied(&self, src: NodeId, dst: NodeId) -> bool {
        self.applied.contains_key(&(src, dst))
    }

    /// Records the current values as the ones the last solve used.
    pub fn mark_applied(&mut self) {
        self.applied = self.edges.iter().map(|(&k, e)| (k, e.current)).collect();
    }

    /// The known nodes, ascending.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes.iter().copied()
    }

    /// A node's additional cost (zero if unset).
    pub fn additional_cost(&self, node: NodeId) -> Latency {
        self.additional.get(&node).copied().unwrap_or_default()
    }
}
