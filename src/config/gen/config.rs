//! The validated `gencfg` generator file: the description of a whole network
//! from which `--mode gencfg` writes every node's config.

use std::path::PathBuf;

use ipnet::{Ipv4Net, Ipv6Net};

use crate::NodeId;
use crate::config::check::port;
use crate::config::check::{Check, KeyPath};
use crate::config::edge::http_url;
use crate::config::error::ConfigError;
use crate::config::raw;
use crate::config::types::{Endpoint, MacPrefix, ValueError, parse_host, parse_node_id};

#[derive(Debug, Clone, PartialEq)]
pub struct GenConfig {
    pub output_dir: PathBuf,
    pub overwrite: bool,
    pub ifname_with_id: bool,
    pub super_template: Option<PathBuf>,
    pub edge_template: Option<PathBuf>,
    pub network_name: String,
    /// `Super Node` (super generator files only).
    pub super_node: Option<GenSuperNode>,
    pub edge_range: GenEdgeRange,
    /// `Edge Nodes` (static/P2P generator files): each node and its optional
    /// public endpoint.
    pub edge_nodes: Vec<(NodeId, Option<Endpoint>)>,
    /// `Distance matrix for all nodes`, in `--mode solve`'s format.
    pub distance_matrix: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GenSuperNode {
    pub listen_port: u16,
    pub edge_api_prefix: String,
    pub endpoint_v4: Option<String>,
    pub endpoint_v6: Option<String>,
    pub endpoint_edge_api: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GenEdgeRange {
    /// `Node IDs`, expanded from the `[1~10,11,19]` notation.
    pub node_ids: Vec<NodeId>,
    pub mac_prefix: Option<MacPrefix>,
    pub ipv4: Option<Ipv4Net>,
    pub ipv6: Option<Ipv6Net>,
    pub ipv6_link_local: Option<Ipv6Net>,
}

pub fn gen_config(
    c: Check<'_>,
    r: &raw::Gen,
    config_dir: &std::path::Path,
) -> Result<GenConfig, ConfigError> {
    let root = KeyPath::root();
    let template = |f: &crate::config::check::Field<String>| {
        Some(Check::text(f))
            .filter(|t| !t.trim().is_empty())
            .map(|t| config_dir.join(t.trim()))
    };
    let super_node = match &r.super_node {
        None => None,
        Some(s) => {
            let at = root.key("Super Node");
            Some(GenSuperNode {
                listen_port: c.value_or(&s.listen_port, &at.key("Listen port"), 3456, port)?,
                edge_api_prefix: Check::text(&s.edge_api_prefix),
                endpoint_v4: c.parse_opt(
                    &s.endpoint_v4,
                    &at.key("Endpoint(IPv4)(optional)"),
                    parse_host,
                )?,
                endpoint_v6: c.parse_opt(
                    &s.endpoint_v6,
                    &at.key("Endpoint(IPv6)(optional)"),
                    parse_host,
                )?,
                endpoint_edge_api: c.parse_opt(
                    &s.endpoint_edge_api,
                    &at.key("Endpoint(EdgeAPI)"),
                    http_url,
                )?,
            })
        }
    };
    let empty = raw::GenEdgeNodeRange::default();
    let e = r.edge_node.as_ref().unwrap_or(&empty);
    let at = root.key("Edge Node");
    let cidr_err = |s: &str| format!("{s:?} is not a CIDR (address/prefix length)");
    let edge_range = GenEdgeRange {
        node_ids: c
            .parse_opt(&e.node_ids, &at.key("Node IDs"), parse_id_ranges)?
            .unwrap_or_default(),
        mac_prefix: c.parse_opt(
            &e.mac_prefix,
            &at.key("MacAddress prefix"),
            MacPrefix::parse,
        )?,
        ipv4: c.parse_opt(&e.ipv4_range, &at.key("IPv4 range"), |s| {
            s.parse().map_err(|_| cidr_err(s))
        })?,
        ipv6: c.parse_opt(&e.ipv6_range, &at.key("IPv6 range"), |s| {
            s.parse().map_err(|_| cidr_err(s))
        })?,
        ipv6_link_local: c.parse_opt(&e.ipv6_ll_range, &at.key("IPv6 LL range"), |s| {
            s.parse().map_err(|_| cidr_err(s))
        })?,
    };
    let mut edge_nodes: Vec<(NodeId, Option<Endpoint>)> = Vec::new();
    let nodes_at = root.key("Edge Nodes");
    for (id, node) in r.edge_nodes.iter().flat_map(|m| &m.0) {
        let path = nodes_at.key(&id.to_string());
        let node_id = parse_node_id(*id).map_err(|e| c.error_at_key(&path, e))?;
        if edge_nodes.iter().any(|(n, _)| *n == node_id) {
            return Err(c.error_at_key(&path, format!("NodeID {node_id} is duplicated")));
        }
        let endpoint = c.parse_opt(
            &node.endpoint,
            &path.key("Endpoint(optional)"),
            Endpoint::parse,
        )?;
        edge_nodes.push((node_id, endpoint));
    }
    Ok(GenConfig {
        output_dir: PathBuf::from(Check::text(&r.output_dir)),
        overwrite: Check::flag(&r.overwrite, false),
        ifname_with_id: Check::flag(&r.ifname_with_id, false),
        super_template: template(&r.super_template),
        edge_template: template(&r.edge_template),
        network_name: Check::text(&r.network_name),
        super_node,
        edge_range,
        edge_nodes,
        distance_matrix: Check::text(&r.distance_matrix),
    })
}

/// Why a NodeID list (`[1~10,11,19]`) is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IdRangesError {
    #[error("{0:?} must look like [1~10,11,19]")]
    Shape(String),
    #[error("{part:?} in {text:?} is not a number")]
    NotNumber { part: String, text: String },
    #[error(transparent)]
    Id(#[from] ValueError),
    #[error("range {0:?} runs backwards")]
    Backwards(String),
    #[error("NodeID {id} appears twice in {text:?}")]
    Twice { id: NodeId, text: String },
    #[error("{0:?} lists no node")]
    Empty(String),
}

/// Expands the original's NodeID list notation: `[1~10,11,19]`.
pub fn parse_id_ranges(text: &str) -> Result<Vec<NodeId>, IdRangesError> {
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| IdRangesError::Shape(text.to_owned()))?;
    let mut ids: Vec<NodeId> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let number = |s: &str| -> Result<NodeId, IdRangesError> {
            let n: u64 = s.trim().parse().map_err(|_| IdRangesError::NotNumber {
                part: s.to_owned(),
                text: text.to_owned(),
            })?;
            Ok(parse_node_id(n)?)
        };
        let (lo, hi) = match part.split_once('~') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let n = number(part)?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(IdRangesError::Backwards(part.to_owned()));
        }
        for raw in lo.get()..=hi.get() {
            let id = parse_node_id(u64::from(raw))?;
            if !seen.insert(id) {
                return Err(IdRangesError::Twice {
                    id,
                    text: text.to_owned(),
                });
            }
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(IdRangesError::Empty(text.to_owned()));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Result<Vec<u16>, String> {
        parse_id_ranges(text)
            .map(|v| v.into_iter().map(NodeId::get).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn id_ranges() {
        assert_eq!(ids("[1~2,100]"), Ok(vec![1, 2, 100]));
        assert_eq!(ids("[1~3, 5]"), Ok(vec![1, 2, 3, 5]));
        assert!(ids("1,2").is_err());
        assert!(ids("[3~1]").is_err());
        assert!(ids("[1,1]").is_err());
        assert!(ids("[65530~65533]").is_err());
        assert!(ids("[]").is_err());
        assert!(ids("[x]").is_err());
    }
}
