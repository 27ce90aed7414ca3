//! Building a [`NodeConfig`] from a validated edge configuration.

use std::net::SocketAddr;

use egd_routing::NextHopTable;

use super::{NodeConfig, PeerConfig};
use crate::NodeId;
use crate::config::{EdgeConfig, EdgeMode, Endpoint, StaticNextHops};
use crate::wire::ethernet;

impl NodeConfig {
    /// The node an edge config describes. `resolve` turns a host-name
    /// endpoint into an address (the core does no I/O); literal addresses
    /// need no resolving. The daemon passes one that answers nothing and
    /// hands the addresses over as its resolver thread finds them
    /// (`daemon::ddns`), so DNS never holds up the node.
    pub fn from_edge(edge: &EdgeConfig, resolve: impl Fn(&str, u16) -> Option<SocketAddr>) -> Self {
        let endpoint = |e: &Endpoint| match e {
            Endpoint::Addr(a) => Some(*a),
            Endpoint::Host { host, port } => resolve(host, *port),
        };
        let mut peers: Vec<PeerConfig> = edge
            .peers
            .iter()
            .map(|p| PeerConfig {
                id: p.node_id,
                public_key: p.public_key.clone(),
                preshared_key: p.preshared_key.clone(),
                endpoint: p.endpoint.as_ref().and_then(endpoint),
                is_static: p.is_static,
                persistent_keepalive: p.persistent_keepalive,
            })
            .collect();
        let link = &edge.dynamic_route.super_node;
        if edge.mode() == EdgeMode::Super {
            // One session per supernode key (docs/system.md#super-mode).
            let sessions = [
                (NodeId::SUPERNODE, &link.public_key_v4, &link.endpoint_v4),
                (
                    NodeId::SUPERNODE_V6_SESSION,
                    &link.public_key_v6,
                    &link.endpoint_v6,
                ),
            ];
            for (handle, key, ep) in sessions {
                if let (Some(key), Some(ep)) = (key, ep) {
                    peers.push(PeerConfig {
                        id: handle,
                        public_key: key.clone(),
                        preshared_key: link.preshared_key.clone(),
                        endpoint: endpoint(ep),
                        is_static: true,
                        persistent_keepalive: None,
                    });
                }
            }
        }
        NodeConfig {
            id: edge.node_id,
            private_key: edge.private_key.clone(),
            peers,
            default_ttl: edge.default_ttl,
            l2_fib_timeout: edge.l2_fib_timeout,
            max_frame_len: usize::from(edge.interface.mtu.get()) + ethernet::HEADER_LEN,
            next_hops: next_hop_table(&edge.next_hop_table),
            dup_check_timeout: edge.dynamic_route.dup_check_timeout,
            // Static mode sends no control messages (as the original).
            ping_interval: (edge.mode() != EdgeMode::Static)
                .then_some(edge.dynamic_route.send_ping_interval),
        }
    }
}

/// A configured `NextHopTable` as the routing crate's type.
pub fn next_hop_table(configured: &StaticNextHops) -> NextHopTable {
    let mut table = NextHopTable::new();
    for (src, row) in configured {
        for (dst, hop) in row {
            table.insert(*src, *dst, *hop);
        }
    }
    table
}
