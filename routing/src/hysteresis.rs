//! Path hysteresis: keep a pair's current next hop unless the new optimum
//! is better by a significant margin, so near-equal paths do not flap.
//!
//! For each pair `(src, dst)` whose optimal next hop `new` differs from the
//! hop `old` in force, `old` is kept when all of these hold:
//!
//! 1. `src → old` is still an edge and `old` still reaches `dst` (else the
//!    switch happens at once);
//! 2. the cost through it, `edge(src, old) + dist(old, dst)`, is within the
//!    margin of the optimum `dist(src, dst)`: not more than
//!    `max(absolute, relative · rtt/2)` worse, where `rtt` is
//!    `dist(src, dst) + dist(dst, src)`. Measured one-way costs contain the
//!    clock offset between the two ends; a round trip does not, so the
//!    relative part scales with the real size of the path;
//! 3. the whole path then followed from `src` (other pairs may keep old
//!    hops too) reaches `dst` and costs at most the margin over the optimum.
//!
//! Rule 3 is checked per destination after rules 1–2 have picked the
//! candidates: follow every node's hop toward `dst` (memoised, `O(n)`), and
//! wherever a path loops or costs too much, put every kept hop on it back to
//! the optimal one; repeat until none does. Each round reverts at least one
//! kept hop (a path made only of optimal hops is a shortest path: no loop,
//! no excess), so it ends, and at worst with the optimal column, which is
//! loop-free (`nexthop.rs`). Loop-freedom therefore holds by construction,
//! whatever the clock offsets; the property test in `tests/hysteresis.rs`
//! checks it on random graphs under random jitter.
//!
//! Broadcast trees (`broadcast.rs`) are derived from the same walks; their
//! proof uses tight hops only. So the finished table is also checked to give
//! every source a spanning tree (each reachable node's parent chain reaches
//! the source, `O(n² · path length)`), and if any would not, the optimal
//! table is served instead. (The property test has not yet produced a case
//! where this guard fires.)

use crate::cost::{self, INF};
use crate::nexthop::NONE;
use crate::{Latency, NextHopTable, Solution};

/// The hysteresis margin (part of [`crate::StabilitySettings`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Margin {
    pub(crate) absolute: Latency,
    pub(crate) relative: f64,
}

impl Margin {
    fn is_off(&self) -> bool {
        self.absolute.as_micros() <= 0 && self.relative_part() == 0.0
    }

    /// The relative margin, 0 unless finite and positive.
    fn relative_part(&self) -> f64 {
        if self.relative.is_finite() && self.relative > 0.0 {
            self.relative
        } else {
            0.0
        }
    }

    /// The margin in µs for a pair whose best round trip is `rtt_us` (if
    /// known).
    fn micros(&self, rtt_us: Option<i64>) -> f64 {
        let abs = self.absolute.as_micros().max(0) as f64;
        let rel = self.relative_part();
        let rel = rtt_us.map_or(0.0, |r| rel * (r.max(0) as f64) / 2.0);
        abs.max(rel)
    }
}

/// The table to serve: `sol`'s next hops, except where `old` names a hop
/// that is still usable, within `margin` of the optimum and feasible (see
/// the module docs).
pub(crate) fn apply(sol: &Solution, old: &NextHopTable, margin: Margin) -> NextHopTable {
    let n = sol.n();
    let mut next = sol.next.clone();
    if margin.is_off() || n == 0 || old.is_empty() {
        return to_table(sol, &next);
    }
    // Excess over the optimum each kept hop's pair may have (µs).
    let mut allowed = vec![0.0f64; n * n];
    let dist = |i: usize, j: usize| sol.dist[i * n + j];
    for s in 0..n {
        for d in 0..n {
            let best = usize::from(sol.next[s * n + d]);
            if s == d || sol.next[s * n + d] == NONE {
                continue;
            }
            let Some(h) = old
                .next_hop(sol.ids[s], sol.ids[d])
                .and_then(|id| sol.index(id))
            else {
                continue;
            };
            if h == best || h == s {
                continue;
            }
            let e = sol.edge[s * n + h];
            let rest = dist(h, d);
            if e == INF || rest == INF {
                continue;
            }
            // Rule 2, in µs (latency parts of folded costs).
            let via = cost::micros(e + rest) - sol.additional[d].as_micros();
            let optimum = cost::micros(dist(s, d)) - sol.additional[d].as_micros();
            let back = dist(d, s);
            let rtt =
                (back < INF).then(|| optimum + cost::micros(back) - sol.additional[s].as_micros());
            if (via - optimum) as f64 > margin.micros(rtt) {
                continue;
            }
            // h < n ≤ u16::MAX, so the conversion holds (NONE is no index).
            next[s * n + d] = u16::try_from(h).unwrap_or(NONE);
            allowed[s * n + d] = margin.micros(rtt);
        }
    }
    for d in 0..n {
        settle_column(sol, &mut next, &allowed, d);
    }
    if !broadcast_trees_span(sol, &next) {
        // Kept hops would leave some node out of a broadcast tree; the
        // optimal table's trees are proven (`broadcast.rs`).
        return to_table(sol, &sol.next);
    }
    to_table(sol, &next)
}

/// Whether, for every source, the broadcast parents (`broadcast.rs`: the
/// node before `v` on the walk `src ⇝ v`) lead every reachable `v` back to
/// `src`. With only tight hops they always do; a kept hop can bend the walk
/// to `v` away from the walk to its parent and make a parent cycle, which
/// would cut those nodes off that source's broadcasts.
fn broadcast_trees_span(sol: &Solution, next: &[u16]) -> bool {
    let n = sol.n();
    let mut parent = vec![NONE; n];
    // 0 = unknown, 1 = on the current walk, 2 = reaches the source.
    let mut state = vec![0u8; n];
    for s in 0..n {
        for v in 0..n {
            parent[v] = NONE;
            if v == s || next[s * n + v] == NONE {
                continue;
            }
            let mut at = s;
            let mut before = s;
            for _ in 0..n {
                if at == v {
                    break;
                }
                before = at;
                at = usize::from(next[at * n + v]);
                if at >= n {
                    return false;
                }
            }
            if at != v {
                return false;
            }
            // before < n ≤ u16::MAX.
            parent[v] = u16::try_from(before).unwrap_or(NONE);
        }
        state.iter_mut().for_each(|x| *x = 0);
        state[s] = 2;
        let mut walked = Vec::new();
        for v in 0..n {
            if parent[v] == NONE {
                continue; // the source itself, or unreachable
            }
            walked.clear();
            let mut at = v;
            while state[at] == 0 {
                let up = parent[at];
                if up == NONE {
                    return false; // a reachable node's parent is reachable
                }
                state[at] = 1;
                walked.push(at);
                at = usize::from(up);
            }
            if state[at] == 1 {
                return false; // a parent cycle
            }
            for &w in &walked {
                state[w] = 2;
            }
        }
    }
    true
}

/// Rule 3 for destination `d`: reverts kept hops until every path reaches
/// `d` within its allowed excess.
fn settle_column(sol: &Solution, next: &mut [u16], allowed: &[f64], d: usize) {
    let n = sol.n();
    let kept = |next: &[u16], i: usize| next[i * n + d] != sol.next[i * n + d];
    if !(0..n).any(|i| kept(next, i)) {
        return;
    }
    // Cost (µs, latency part) of following the hops from each node.
    let mut cost = vec![None::<i64>; n];
    let mut on_stack = vec![false; n];
    let mut path = Vec::with_capacity(n);
    loop {
        cost.iter_mut().for_each(|c| *c = None);
        cost[d] = Some(0);
        let mut bad: Vec<usize> = Vec::new();
        for start in 0..n {
            if cost[start].is_some() || next[start * n + d] == NONE {
                continue;
            }
            // Walk until a node with a known cost (or a loop).
            path.clear();
            let mut at = start;
            let mut looped = false;
            while cost[at].is_none() {
                if on_stack[at] || next[at * n + d] == NONE {
                    looped = true;
                    break;
                }
                on_stack[at] = true;
                path.push(at);
                at = usize::from(next[at * n + d]);
            }
            for &i in &path {
                on_stack[i] = false;
            }
            if looped {
                bad.push(start);
                // Mark the walked nodes as settled-bad so they are not walked
                // again this round; their real costs come next round.
                for &i in &path {
                    cost[i] = Some(i64::MAX);
                }
                continue;
            }
            let mut c = cost[at].unwrap_or(i64::MAX);
            for &i in path.iter().rev() {
                let hop = usize::from(next[i * n + d]);
                // The folded edge charges the entered node's additional cost;
                // the destination's is not transit, so it comes off.
                let e = cost::micros(sol.edge[i * n + hop])
                    - if hop == d {
                        sol.additional[d].as_micros()
                    } else {
                        0
                    };
                c = if c == i64::MAX {
                    c
                } else {
                    c.saturating_add(e)
                };
                cost[i] = Some(c);
                let optimum = cost::micros(sol.dist[i * n + d]) - sol.additional[d].as_micros();
                if c == i64::MAX || (c - optimum) as f64 > allowed[i * n + d] {
                    bad.push(i);
                }
            }
        }
        if bad.is_empty() {
            return;
        }
        let mut reverted = false;
        for start in bad {
            let mut at = start;
            for _ in 0..n {
                if at == d || next[at * n + d] == NONE {
                    break;
                }
                let hop = usize::from(next[at * n + d]);
                if kept(next, at) {
                    next[at * n + d] = sol.next[at * n + d];
                    reverted = true;
                }
                at = hop;
            }
        }
        if !reverted {
            // Cannot happen (see the module docs); never loop forever.
            return;
        }
    }
}

fn to_table(sol: &Solution, next: &[u16]) -> NextHopTable {
    let n = sol.n();
    let mut table = NextHopTable::new();
    for s in 0..n {
        for d in 0..n {
            let hop = next[s * n + d];
            if hop != NONE {
                table.insert(sol.ids[s], sol.ids[d], sol.ids[usize::from(hop)]);
            }
        }
    }
    table
}
