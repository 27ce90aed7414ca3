//! Static and P2P networks for `--mode gencfg` (see `mod.rs`): the
//! peers of every edge, the PSK of every pair and, in static mode, the
//! next-hop table egd's solver computes from the generator's matrix.
//!
//! Like upstream: an edge with an `Endpoint(optional)` listens on its port
//! and keeps no keepalive to its peers (they reach it); an edge without one
//! listens on a random port and sends `PersistentKeepalive: 30` so its peers
//! can answer through NAT. Every peer is `Static`. In P2P mode
//! `NextHopTable` is empty (the edges solve it themselves) and, with the
//! built-in template, `AdditionalCost` is 1000 ms (upstream's choice: relay
//! only when it saves a lot).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use egd_routing::{DenseGraph, Latency};

use super::{Entropy, Gen, GeneratedFile, GeneratedNetwork, Render, id_width, table_for_yaml};
use crate::NodeId;
use crate::config::edge::EdgePeer;
use crate::config::emit::EdgePeerOut;
use crate::config::types::Endpoint;
use crate::config::write_error::WriteError;
use crate::config::{FileKind, StaticNextHops};
use crate::wg::{PresharedKey, PrivateKey, PublicKey};

const MATRIX_KEY: &str = "Distance matrix for all nodes";
const NODES_KEY: &str = "Edge Nodes";

/// Keepalive of an edge without a public endpoint towards its peers.
const NAT_KEEPALIVE: Duration = Duration::from_secs(30);

/// AdditionalCost upstream gives P2P edges made from its built-in template.
const P2P_DEFAULT_ADDITIONAL_COST_MS: u32 = 1000;

/// The weight of each link when the generator has no matrix (upstream's 1).
const LINK_WITHOUT_MATRIX_SECS: f64 = 1.0;

struct Node {
    id: NodeId,
    endpoint: Option<Endpoint>,
    private_key: PrivateKey,
    public_key: PublicKey,
}

pub(super) fn mesh(
    g: &Gen<'_>,
    p2p: bool,
    rng: &mut Entropy,
) -> Result<GeneratedNetwork, WriteError> {
    let mut listed: Vec<(NodeId, Option<Endpoint>)> = g.config.edge_nodes.clone();
    listed.sort_by_key(|(id, _)| *id);
    let Some(max) = listed.last().map(|(id, _)| *id) else {
        return Err(g.error(NODES_KEY, "lists no node"));
    };
    let graph = graph(g, &listed)?;
    let links = links(g, &graph, &listed)?;
    let mac = g.mac_prefix(max, rng)?;
    g.check_ranges(max)?;

    let nodes: Vec<Node> = listed
        .into_iter()
        .map(|(id, endpoint)| {
            let (private_key, public_key) = rng.key_pair();
            Node {
                id,
                endpoint,
                private_key,
                public_key,
            }
        })
        .collect();
    let psks: BTreeMap<(NodeId, NodeId), PresharedKey> =
        links.iter().map(|&pair| (pair, rng.psk())).collect();
    let next_hop_table = if p2p { None } else { Some(solve(g, &graph)?) };
    let width = id_width(max);
    let mut files = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let name = g.edge_file_name(node.id, width);
        let mut r = Render::new(&g.templates.edge);
        g.edge_identity(&mut r, node.id, width, mac, &node.private_key)?;
        let port = node.endpoint.as_ref().map_or(0, endpoint_port);
        r.set(&["ListenPort"], &port)?;
        for key in ["PSKey", "EndpointV4", "PubKeyV4", "EndpointV6", "PubKeyV6"] {
            r.set(&["DynamicRoute", "SuperNode", key], "")?;
        }
        r.set(&["DynamicRoute", "SuperNode", "EndpointEdgeAPIUrl"], "")?;
        r.set(&["DynamicRoute", "SuperNode", "UseSuperNode"], &false)?;
        r.set(&["DynamicRoute", "P2P", "UseP2P"], &p2p)?;
        if p2p && g.config.edge_template.is_none() {
            r.set(
                &["DynamicRoute", "AdditionalCost"],
                &P2P_DEFAULT_ADDITIONAL_COST_MS,
            )?;
        }
        let table = next_hop_table
            .as_ref()
            .map(table_for_yaml)
            .unwrap_or_default();
        r.set(&["NextHopTable"], &table)?;
        let keepalive = node.endpoint.is_none().then_some(NAT_KEEPALIVE);
        let peers: Vec<EdgePeerOut> = nodes
            .iter()
            .filter_map(|peer| {
                let pair = (node.id.min(peer.id), node.id.max(peer.id));
                let psk = psks.get(&pair)?;
                Some(EdgePeerOut::from(&EdgePeer {
                    node_id: peer.id,
                    public_key: peer.public_key.clone(),
                    preshared_key: Some(psk.clone()),
                    endpoint: peer.endpoint.clone(),
                    persistent_keepalive: keepalive,
                    is_static: true,
                }))
            })
            .collect();
        r.set(&["Peers"], &peers)?;
        let (text, _) = r.finish(&name, FileKind::Edge)?;
        files.push(GeneratedFile { name, text });
    }
    Ok(GeneratedNetwork {
        files,
        next_hop_table,
    })
}

/// The latency graph: the generator's matrix, or (none given) a link of
/// weight 1 s in both directions wherever one side has an endpoint.
fn graph(g: &Gen<'_>, listed: &[(NodeId, Option<Endpoint>)]) -> Result<DenseGraph, WriteError> {
    let text = &g.config.distance_matrix;
    let ids: BTreeSet<NodeId> = listed.iter().map(|(id, _)| *id).collect();
    if text.trim().is_empty() {
        let mut graph = DenseGraph::new(ids.iter().copied());
        let weight = Latency::from_secs_f64(LINK_WITHOUT_MATRIX_SECS);
        for (a, ea) in listed {
            for (b, eb) in listed {
                if a != b && (ea.is_some() || eb.is_some()) {
                    graph
                        .set_edge(*a, *b, weight)
                        .map_err(|e| g.error(NODES_KEY, e.to_string()))?;
                }
            }
        }
        return Ok(graph);
    }
    let graph = egd_routing::parse_matrix(text)
        .map_err(|e| g.error(MATRIX_KEY, format!("line {}: {}", e.line, e.reason)))?;
    let in_matrix: BTreeSet<NodeId> = graph.ids().iter().copied().collect();
    if let Some(id) = ids.difference(&in_matrix).next() {
        return Err(g.error(
            MATRIX_KEY,
            format!("NodeID {id} is in {NODES_KEY} but not in the matrix"),
        ));
    }
    if let Some(id) = in_matrix.difference(&ids).next() {
        return Err(g.error(
            MATRIX_KEY,
            format!("NodeID {id} is in the matrix but not in {NODES_KEY}"),
        ));
    }
    Ok(graph)
}

/// The pairs (low, high) that are peers: an edge in either direction. One
/// of the two must have an endpoint, or they could never meet.
fn links(
    g: &Gen<'_>,
    graph: &DenseGraph,
    listed: &[(NodeId, Option<Endpoint>)],
) -> Result<BTreeSet<(NodeId, NodeId)>, WriteError> {
    let mut out = BTreeSet::new();
    for (i, (a, ea)) in listed.iter().enumerate() {
        for (b, eb) in &listed[i + 1..] {
            if graph.edge(*a, *b).is_none() && graph.edge(*b, *a).is_none() {
                continue;
            }
            if ea.is_none() && eb.is_none() {
                return Err(g.error(
                    NODES_KEY,
                    format!(
                        "nodes {a} and {b} are linked in the matrix but neither has an \
                         Endpoint(optional)"
                    ),
                ));
            }
            out.insert((*a, *b));
        }
    }
    Ok(out)
}

/// egd's solver on the graph, as `--mode solve` runs it.
fn solve(g: &Gen<'_>, graph: &DenseGraph) -> Result<StaticNextHops, WriteError> {
    let solution = egd_routing::solve(graph).map_err(|e| g.error(MATRIX_KEY, e.to_string()))?;
    let mut table = StaticNextHops::new();
    for (src, dst, next) in solution.next_hop_table().iter() {
        table.entry(src).or_default().insert(dst, next);
    }
    Ok(table)
}

fn endpoint_port(e: &Endpoint) -> u16 {
    match e {
        Endpoint::Addr(a) => a.port(),
        Endpoint::Host { port, .. } => *port,
    }
}
