//! Checks of a configured `NextHopTable` that is routed on as is: a static
//! edge's, and — with `GraphRecalculateSetting.StaticMode` — a supernode's
//! or a P2P edge's (docs/system.md#static-mode, #routing-inputs).
//!
//! [`problems`] lists what is wrong with a table for a set of nodes; the
//! loader ([`super_warnings`], [`edge_warnings`]) turns each into an error
//! or a warning naming the file and key, and the supernode checks a peer
//! added live with the same function. Keys that have no effect in the
//! file's mode are warned about here too.
//!
//! Upstream EtherGuard checks a supernode's static table only for missing
//! pairs and next hops outside the peer list; it accepts
//! `NextHopTable[a][b] = a`, which would hand a frame back to its sender
//! until the TTL ran out, and loops through several nodes. egd refuses
//! both.

use std::collections::{BTreeMap, BTreeSet};

use super::check::{Check, KeyPath};
use super::common::StaticNextHops;
use super::edge::{EdgeConfig, EdgeMode};
use super::error::{ConfigError, ConfigWarning};
use super::super_node::SuperConfig;
use crate::NodeId;

/// One thing wrong with a static table, for the pair `(src, dst)` whose
/// entry (or absence) is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Both are nodes of the network, but there is no entry.
    Missing { src: NodeId, dst: NodeId },
    /// The next hop is not a node of the network.
    UnknownHop {
        src: NodeId,
        dst: NodeId,
        hop: NodeId,
    },
    /// The next hop is the node itself: the frame would never leave.
    SelfLoop { src: NodeId, dst: NodeId },
    /// Following the next hops from `src` comes back to a node already
    /// passed and never reaches `dst`.
    Loop { src: NodeId, dst: NodeId },
    /// The entry names a node that is not in the network (unused).
    UnknownNode {
        src: NodeId,
        dst: NodeId,
        node: NodeId,
    },
}

impl Problem {
    /// The entry at fault.
    pub fn pair(&self) -> (NodeId, NodeId) {
        match *self {
            Problem::Missing { src, dst }
            | Problem::UnknownHop { src, dst, .. }
            | Problem::SelfLoop { src, dst }
            | Problem::Loop { src, dst }
            | Problem::UnknownNode { src, dst, .. } => (src, dst),
        }
    }

    /// What an operator reads after `NextHopTable.SRC.DST: `.
    pub fn reason(&self) -> String {
        match *self {
            Problem::Missing { src, dst } => {
                format!("missing: no next hop from {src} to {dst} (both are nodes)")
            }
            Problem::UnknownHop { hop, .. } => format!("next hop {hop} is not a known node"),
            Problem::SelfLoop { src, .. } => {
                format!("next hop {src} is the node itself (a frame would never leave)")
            }
            Problem::Loop { src, dst } => {
                format!("the next hops from {src} loop and never reach {dst}")
            }
            Problem::UnknownNode { node, .. } => {
                format!("NodeID {node} is not a known node; the entry is unused")
            }
        }
    }
}

/// Everything wrong with `table` as the routes among `nodes`, in a stable
/// order. Entries for a node routing to itself are ignored (never looked
/// up).
pub fn problems(table: &StaticNextHops, nodes: &BTreeSet<NodeId>) -> Vec<Problem> {
    let mut out = Vec::new();
    for (&src, row) in table {
        for (&dst, &hop) in row {
            if src == dst {
                continue;
            }
            if let Some(&node) = [src, dst].iter().find(|n| !nodes.contains(n)) {
                out.push(Problem::UnknownNode { src, dst, node });
            } else if hop == src {
                out.push(Problem::SelfLoop { src, dst });
            } else if !nodes.contains(&hop) {
                out.push(Problem::UnknownHop { src, dst, hop });
            }
        }
    }
    for &dst in nodes {
        let mut reaches: BTreeMap<NodeId, bool> = BTreeMap::new();
        for &src in nodes {
            if src == dst {
                continue;
            }
            match table.get(&src).and_then(|r| r.get(&dst)) {
                None => out.push(Problem::Missing { src, dst }),
                Some(_) if !reaches_dst(table, src, dst, &mut reaches) => {
                    out.push(Problem::Loop { src, dst })
                }
                Some(_) => {}
            }
        }
    }
    out
}

/// Whether the hops from `src` end at `dst`; `known` remembers the answer
/// for every node walked (so all sources together cost O(nodes)). A walk
/// that stops at a missing entry or a self-loop is not a loop (reported as
/// such elsewhere), so it counts as reaching.
fn reaches_dst(
    table: &StaticNextHops,
    src: NodeId,
    dst: NodeId,
    known: &mut BTreeMap<NodeId, bool>,
) -> bool {
    let mut path = Vec::new();
    let mut on_path = BTreeSet::new();
    let mut at = src;
    let answer = loop {
        if at == dst {
            break true;
        }
        if let Some(&k) = known.get(&at) {
            break k;
        }
        if !on_path.insert(at) {
            break false;
        }
        path.push(at);
        match table.get(&at).and_then(|r| r.get(&dst)) {
            Some(&hop) if hop != at => at = hop,
            _ => break true,
        }
    };
    for n in path {
        known.insert(n, answer);
    }
    answer
}

fn warning(c: Check<'_>, path: &KeyPath, message: impl Into<String>) -> ConfigWarning {
    ConfigWarning {
        file: c.file.to_path_buf(),
        position: c.keys.position(path.segments()),
        key: path.to_string(),
        message: message.into(),
    }
}

fn entry_path(at: &KeyPath, p: &Problem) -> KeyPath {
    // A missing entry has no position: errors place it at its row, or
    // the table.
    let (src, dst) = p.pair();
    at.key(&src.to_string()).key(&dst.to_string())
}

/// A supernode's checks: with `StaticMode` its table must route every pair
/// of `Peers` (as upstream) without self-loops or loops — errors; entries
/// for nodes not in `Peers` are warnings. Without `StaticMode` a non-empty
/// table has no effect (warning).
pub fn super_warnings(c: Check<'_>, cfg: &SuperConfig) -> Result<Vec<ConfigWarning>, ConfigError> {
    let at = KeyPath::root().key("NextHopTable");
    let graph_at = KeyPath::root().key("GraphRecalculateSetting");
    let mut out = Vec::new();
    if !cfg.graph.static_mode {
        if has_entries(&cfg.next_hop_table) {
            out.push(warning(
                c,
                &at,
                "has no effect: the supernode solves its table unless \
                 GraphRecalculateSetting.StaticMode is true",
            ));
        }
        return Ok(out);
    }
    let nodes: BTreeSet<NodeId> = cfg.peers.iter().map(|p| p.node_id).collect();
    for p in problems(&cfg.next_hop_table, &nodes) {
        let path = entry_path(&at, &p);
        match p {
            Problem::UnknownNode { .. } => {
                out.push(warning(c, &path, format!("{} (not in Peers)", p.reason())))
            }
            _ => return Err(c.error_at_key(&path, format!("StaticMode: {}", p.reason()))),
        }
    }
    if !cfg.graph.manual_latency.is_empty() {
        out.push(warning(
            c,
            &graph_at.key("ManualLatency"),
            "has no effect: StaticMode routes by NextHopTable and solves nothing",
        ));
    }
    Ok(out)
}

/// An edge's checks. Its table is routed on in static mode and with
/// `DynamicRoute.P2P.GraphRecalculateSetting.StaticMode` (P2P, and a super
/// edge's P2P fallback): then a self-loop or a loop is an error, an empty
/// table with `StaticMode` too, and a missing pair among the nodes the file
/// names a warning (an edge may learn of more nodes, or route only some).
/// Otherwise a non-empty table is only the table until the first solved
/// one arrives (warning), and `StaticMode` with P2P off has no effect
/// (warning).
pub fn edge_warnings(c: Check<'_>, cfg: &EdgeConfig) -> Result<Vec<ConfigWarning>, ConfigError> {
    let at = KeyPath::root().key("NextHopTable");
    let static_at = KeyPath::root()
        .key("DynamicRoute")
        .key("P2P")
        .key("GraphRecalculateSetting")
        .key("StaticMode");
    let p2p = &cfg.dynamic_route.p2p;
    let p2p_static = p2p.enabled && p2p.graph.static_mode;
    let mut out = Vec::new();
    if p2p.graph.static_mode && !p2p.enabled {
        out.push(warning(
            c,
            &static_at,
            "has no effect: DynamicRoute.P2P.UseP2P is false",
        ));
    }
    let routed = cfg.mode() == EdgeMode::Static || p2p_static;
    if !routed {
        if has_entries(&cfg.next_hop_table) {
            out.push(warning(
                c,
                &at,
                "used only until the supernode's or the solver's first table replaces it \
                 (set DynamicRoute.P2P.GraphRecalculateSetting.StaticMode to route by it)",
            ));
        }
        return Ok(out);
    }
    if p2p_static && !has_entries(&cfg.next_hop_table) {
        return Err(c.error_at_key(
            &at,
            "StaticMode routes by this table, but it is empty (no frame could be sent)",
        ));
    }
    let mut nodes: BTreeSet<NodeId> = cfg.peers.iter().map(|p| p.node_id).collect();
    nodes.insert(cfg.node_id);
    for (src, row) in &cfg.next_hop_table {
        nodes.insert(*src);
        for (dst, hop) in row {
            nodes.extend([*dst, *hop]);
        }
    }
    for p in problems(&cfg.next_hop_table, &nodes) {
        let path = entry_path(&at, &p);
        match p {
            Problem::SelfLoop { .. } | Problem::Loop { .. } => {
                return Err(c.error_at_key(&path, p.reason()));
            }
            _ => out.push(warning(c, &path, p.reason())),
        }
    }
    // This edge's own hops must be sessions it has (static mode lists them
    // all; P2P learns more from its neighbours).
    if cfg.mode() == EdgeMode::Static
        && let Some(row) = cfg.next_hop_table.get(&cfg.node_id)
    {
        for (dst, hop) in row {
            if *dst != cfg.node_id && !cfg.peers.iter().any(|p| p.node_id == *hop) {
                out.push(warning(
                    c,
                    &at.key(&cfg.node_id.to_string()).key(&dst.to_string()),
                    format!("next hop {hop} is not in Peers: frames to {dst} are dropped"),
                ));
            }
        }
    }
    Ok(out)
}

fn has_entries(table: &StaticNextHops) -> bool {
    table.values().any(|row| !row.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: u16) -> NodeId {
        NodeId::new(v).unwrap()
    }

    fn table(entries: &[(u16, u16, u16)]) -> StaticNextHops {
        let mut t = StaticNextHops::new();
        for &(s, d, h) in entries {
            t.entry(n(s)).or_default().insert(n(d), n(h));
        }
        t
    }

    fn nodes(ids: &[u16]) -> BTreeSet<NodeId> {
        ids.iter().map(|&i| n(i)).collect()
    }

    #[test]
    fn a_full_table_relaying_via_a_third_node_is_clean() {
        let t = table(&[
            (1, 2, 3),
            (1, 3, 3),
            (2, 1, 1),
            (2, 3, 3),
            (3, 1, 1),
            (3, 2, 2),
        ]);
        assert_eq!(problems(&t, &nodes(&[1, 2, 3])), vec![]);
    }

    #[test]
    fn missing_unknown_self_loop_and_loop_are_each_found() {
        let t = table(&[
            (1, 2, 3),
            (3, 2, 1), // 1 → 3 → 1: never reaches 2
            (1, 3, 1), // self-loop
            (2, 1, 9), // unknown hop
            (7, 1, 1), // unknown source
        ]);
        let found = problems(&t, &nodes(&[1, 2, 3]));
        assert!(
            found.contains(&Problem::Loop {
                src: n(1),
                dst: n(2)
            }),
            "{found:?}"
        );
        assert!(
            found.contains(&Problem::Loop {
                src: n(3),
                dst: n(2)
            }),
            "{found:?}"
        );
        assert!(found.contains(&Problem::SelfLoop {
            src: n(1),
            dst: n(3)
        }));
        assert!(found.contains(&Problem::UnknownHop {
            src: n(2),
            dst: n(1),
            hop: n(9)
        }));
        assert!(found.contains(&Problem::UnknownNode {
            src: n(7),
            dst: n(1),
            node: n(7)
        }));
        assert!(found.contains(&Problem::Missing {
            src: n(2),
            dst: n(3)
        }));
        assert!(found.contains(&Problem::Missing {
            src: n(3),
            dst: n(1)
        }));
    }
}
