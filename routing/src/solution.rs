//! `Solution`: the result of [`crate::solve`] — distances and canonical next
//! hops for every pair — with lookups by [`NodeId`] and export to the
//! config-shaped tables. [`Solution::update_edge`] (in `incremental.rs`)
//! changes one edge without a full solve.

use crate::cost::{self, INF};
use crate::nexthop::NONE;
use crate::table::{DistanceTable, NextHopTable, PathError};
use crate::{Latency, NodeId};

/// All-pairs routes for one graph snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    pub(crate) ids: Vec<NodeId>,
    pub(crate) additional: Vec<Latency>,
    /// Folded edge costs (`cost.rs`), `n × n`, `+∞` = no edge and diagonal.
    pub(crate) edge: Vec<f64>,
    /// Folded distances, `n × n`, zero diagonal, `+∞` = unreachable.
    pub(crate) dist: Vec<f64>,
    /// Next-hop indices, `n × n`, `NONE` = none.
    pub(crate) next: Vec<u16>,
}

impl Solution {
    pub(crate) fn from_parts(
        ids: Vec<NodeId>,
        additional: Vec<Latency>,
        edge: Vec<f64>,
        dist: Vec<f64>,
        next: Vec<u16>,
    ) -> Solution {
        Solution {
            ids,
            additional,
            edge,
            dist,
            next,
        }
    }

    /// The nodes, ascending.
    pub fn ids(&self) -> &[NodeId] {
        &self.ids
    }

    pub(crate) fn n(&self) -> usize {
        self.ids.len()
    }

    pub(crate) fn index(&self, id: NodeId) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// Where `src` sends frames for `dst`; `None` if unreachable or equal.
    pub fn next_hop(&self, src: NodeId, dst: NodeId) -> Option<NodeId> {
        let (s, d) = (self.index(src)?, self.index(dst)?);
        let hop = self.next[s * self.n() + d];
        (hop != NONE).then(|| self.ids[usize::from(hop)])
    }

    /// The cost of the chosen path: latency plus the additional cost of every
    /// node it transits. Zero for `src == dst`; `None` when unreachable.
    pub fn distance(&self, src: NodeId, dst: NodeId) -> Option<Latency> {
        let (s, d) = (self.index(src)?, self.index(dst)?);
        self.distance_at(s, d)
    }

    fn distance_at(&self, s: usize, d: usize) -> Option<Latency> {
        let c = self.dist[s * self.n() + d];
        if c == INF {
            return None;
        }
        if s == d {
            return Some(Latency::ZERO);
        }
        // The folded cost charged dst's additional cost on entry; a
        // destination is not transited, so take it back off.
        Some(Latency::from_micros_unbounded(
            cost::micros(c) - self.additional[d].as_micros(),
        ))
    }

    /// The measured latency of the chosen path, without additional costs.
    pub fn distance_without_additional_cost(&self, src: NodeId, dst: NodeId) -> Option<Latency> {
        let (s, d) = (self.index(src)?, self.index(dst)?);
        self.raw_distance_at(s, d)
    }

    fn raw_distance_at(&self, s: usize, d: usize) -> Option<Latency> {
        let n = self.n();
        let mut at = s;
        let mut total = 0i64;
        for _ in 0..n {
            if at == d {
                return Some(Latency::from_micros_unbounded(total));
            }
            let hop = usize::from(self.next[at * n + d]);
            let c = *self.edge.get(at * n + hop)?;
            total += cost::micros(c) - self.additional[hop].as_micros();
            at = hop;
        }
        (at == d).then(|| Latency::from_micros_unbounded(total))
    }

    /// Number of edges on the chosen path.
    pub fn hop_count(&self, src: NodeId, dst: NodeId) -> Option<u32> {
        let (s, d) = (self.index(src)?, self.index(dst)?);
        let c = self.dist[s * self.n() + d];
        (c < INF).then(|| cost::hops(c))
    }

    /// The chosen path `src, …, dst`.
    pub fn path(&self, src: NodeId, dst: NodeId) -> Result<Vec<NodeId>, PathError> {
        let s = self.index(src).ok_or(PathError::UnknownNode(src))?;
        let d = self.index(dst).ok_or(PathError::UnknownNode(dst))?;
        let n = self.n();
        let mut path = vec![src];
        let mut at = s;
        while at != d {
            let hop = self.next[at * n + d];
            if hop == NONE {
                return Err(PathError::Unreachable { src, dst });
            }
            at = usize::from(hop);
            if path.len() > n {
                return Err(PathError::Loop {
                    src,
                    dst,
                    at: self.ids[at],
                });
            }
            path.push(self.ids[at]);
        }
        Ok(path)
    }

    /// Every reachable pair's next hop, in the shape of the config key.
    pub fn next_hop_table(&self) -> NextHopTable {
        let n = self.n();
        let mut table = NextHopTable::new();
        for s in 0..n {
            for d in 0..n {
                let hop = self.next[s * n + d];
                if hop != NONE {
                    table.insert(self.ids[s], self.ids[d], self.ids[usize::from(hop)]);
                }
            }
        }
        table
    }

    /// Every reachable pair's distance (with additional cost), self included.
    pub fn distance_table(&self) -> DistanceTable {
        self.table_by(Self::distance_at)
    }

    fn table_by(&self, f: impl Fn(&Solution, usize, usize) -> Option<Latency>) -> DistanceTable {
        let n = self.n();
        let mut table = DistanceTable::new();
        for s in 0..n {
            for d in 0..n {
                if let Some(l) = f(self, s, d) {
                    table.insert(self.ids[s], self.ids[d], l);
                }
            }
        }
        table
    }
}
