//! Two protocol-core nodes wired to each other without I/O, for the
//! node-level tests (tests/sim/node_flood.rs, tests/alloc_free_node.rs): static
//! peers at fixed documentation addresses, each the other's next hop.
//!
//! How to use: `node(1, 2, now, key)` and `node(2, 1, now, key)`, with the
//! test's own `key` for node ids; hand each node's `poll_transmit` output
//! to the other's `handle_datagram` with the sender's [`addr`] as source.
#![allow(dead_code)] // each test binary uses its own subset

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd::NodeId;
use egd::node::{Node, NodeConfig, PeerConfig};
use egd::wg::PrivateKey;
use egd::wg::keys::public_key;
use egd_routing::NextHopTable;

#[allow(clippy::disallowed_methods)] // a test's origin instant
pub fn origin() -> Instant {
    Instant::now()
}

pub fn id(n: u16) -> NodeId {
    NodeId::new(n).unwrap()
}

/// Node `n`'s underlay address.
pub fn addr(n: u16) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n as u8], 3000 + n))
}

/// Node `me` (1 or 2) with `other` as its static peer and next hop; `key`
/// gives each node's private key.
pub fn node(me: u16, other: u16, now: Instant, key: impl Fn(u16) -> PrivateKey) -> Node {
    let mut table = NextHopTable::new();
    table.insert(id(1), id(2), id(2));
    table.insert(id(2), id(1), id(1));
    let cfg = NodeConfig {
        id: id(me),
        private_key: key(me),
        peers: vec![PeerConfig {
            id: id(other),
            public_key: public_key(&key(other)),
            preshared_key: None,
            endpoint: Some(addr(other)),
            is_static: true,
            persistent_keepalive: None,
        }],
        default_ttl: 200,
        l2_fib_timeout: Duration::from_secs(3600),
        max_frame_len: 1514,
        next_hops: table,
        dup_check_timeout: Duration::from_secs(40),
        ping_interval: None,
    };
    Node::new(cfg, [me as u8; 32], now, Duration::from_secs(1_767_225_600))
}
