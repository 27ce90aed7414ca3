//! Shared by the integration tests: random consistent graphs (true delays
//! plus per-node clock offsets) and a trivial reference solver.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::needless_range_loop
)]

use egd_routing::{DenseGraph, Latency, NodeId};
use proptest::prelude::*;

pub fn id(raw: u16) -> NodeId {
    NodeId::new(raw).unwrap()
}

pub fn us(micros: i64) -> Latency {
    Latency::from_micros(micros).unwrap()
}

/// A random graph description: node ids, directed edges with their *true*
/// positive delays, per-node clock offsets θ and additional costs (µs).
#[derive(Clone, Debug)]
pub struct Spec {
    pub ids: Vec<NodeId>,
    /// (src index, dst index, true delay µs)
    pub edges: Vec<(usize, usize, i64)>,
    pub theta: Vec<i64>,
    pub additional: Vec<i64>,
}

impl Spec {
    /// The measured graph: weight(u→v) = true + θ[v] − θ[u].
    pub fn graph(&self) -> DenseGraph {
        self.graph_with_theta(&self.theta)
    }

    pub fn graph_with_theta(&self, theta: &[i64]) -> DenseGraph {
        let mut g = DenseGraph::new(self.ids.iter().copied());
        for &(s, d, w) in &self.edges {
            let measured = w + theta[d] - theta[s];
            g.set_edge(self.ids[s], self.ids[d], Some(us(measured)))
                .unwrap();
        }
        for (i, &ac) in self.additional.iter().enumerate() {
            g.set_additional_cost(self.ids[i], us(ac)).unwrap();
        }
        g
    }
}

/// Random ids (sparse, unsorted), density, delays from a small set so that
/// equal-cost ties are common, offsets up to ±10 s.
pub fn spec(max_nodes: usize) -> impl Strategy<Value = Spec> {
    (
        1..=max_nodes,
        any::<u64>(),
        0.05f64..1.0,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(n, seed, density, ties, with_ac)| {
            let mut rng = Rng(seed | 1);
            let mut ids: Vec<NodeId> = Vec::new();
            while ids.len() < n {
                let raw = (rng.next() % 65532) as u16;
                let cand = id(raw);
                if !ids.contains(&cand) {
                    ids.push(cand);
                }
            }
            let mut edges = Vec::new();
            for s in 0..n {
                for d in 0..n {
                    if s != d && rng.unit() < density {
                        let w = if ties {
                            1_000 * (1 + rng.next() % 4) as i64
                        } else {
                            1 + (rng.next() % 200_000) as i64
                        };
                        edges.push((s, d, w));
                    }
                }
            }
            let theta = (0..n)
                .map(|_| (rng.next() % 20_000_001) as i64 - 10_000_000)
                .collect();
            let additional = (0..n)
                .map(|_| {
                    if with_ac {
                        1_000 * (rng.next() % 3) as i64
                    } else {
                        0
                    }
                })
                .collect();
            Spec {
                ids,
                edges,
                theta,
                additional,
            }
        })
}

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Reference results for every pair: (latency-with-transit-cost µs, hops),
/// and the canonical next hop (lowest id among first hops of min-cost paths).
pub struct Reference {
    pub ids: Vec<NodeId>,
    pub dist: Vec<Vec<Option<(i64, u32)>>>,
    pub next: Vec<Vec<Option<NodeId>>>,
}

/// Bellman–Ford from every source on the lexicographic metric (latency incl.
/// additional cost of each entered node, then hops); `None` if some source
/// reaches a negative cycle.
pub fn reference(g: &DenseGraph) -> Option<Reference> {
    let ids = g.ids().to_vec();
    let n = ids.len();
    let w = |s: usize, d: usize| -> Option<(i64, u32)> {
        g.edge(ids[s], ids[d])
            .map(|l| (l.as_micros() + g.additional_cost(ids[d]).as_micros(), 1))
    };
    let add = |a: (i64, u32), b: (i64, u32)| (a.0 + b.0, a.1 + b.1);
    let mut dist = vec![vec![None; n]; n];
    for s in 0..n {
        let row = &mut dist[s];
        row[s] = Some((0, 0));
        let mut rounds = 0;
        loop {
            let mut changed = false;
            for u in 0..n {
                let Some(du) = row[u] else { continue };
                for v in 0..n {
                    if let Some(e) = w(u, v) {
                        let cand = add(du, e);
                        if row[v].is_none_or(|dv| cand < dv) {
                            row[v] = Some(cand);
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
            rounds += 1;
            if rounds > n + 1 {
                return None;
            }
        }
        if row[s] != Some((0, 0)) {
            return None;
        }
    }
    let mut next = vec![vec![None; n]; n];
    for s in 0..n {
        for d in 0..n {
            if s == d {
                continue;
            }
            let Some(target) = dist[s][d] else { continue };
            next[s][d] = (0..n)
                .filter(|&c| c != s)
                .find(|&c| matches!((w(s, c), dist[c][d]), (Some(e), Some(rest)) if add(e, rest) == target))
                .map(|c| ids[c]);
        }
    }
    // Report distances as the solver does: minus the destination's own cost.
    for s in 0..n {
        for d in 0..n {
            if s != d
                && let Some((l, h)) = dist[s][d]
            {
                dist[s][d] = Some((l - g.additional_cost(ids[d]).as_micros(), h));
            }
        }
    }
    Some(Reference { ids, dist, next })
}
