//! Host-name endpoints in real `egd` processes on loopback (dummy
//! interfaces, no root, no DNS server: `localhost` comes from /etc/hosts,
//! `.invalid` never resolves, RFC 6761):
//!
//! - a super-mode edge whose `EndpointV4` is `localhost:PORT` resolves it to
//!   the IPv4 address only and reaches the supernode through it (the
//!   supernode's notices arrive over the WireGuard session, so the edge
//!   fetches the peer list);
//! - a static edge with a peer whose name does not resolve starts anyway,
//!   warns naming the peer and the host, keeps running, and resolves the
//!   peer whose name does.
//!
//! The re-resolution schedule and a name that changes its address are
//! tested without DNS in `daemon::ddns` (an injected resolver).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::time::Duration;

use crate::support::loopback::{free_port, spawn, write};
use crate::support::static_edge::{StaticEdge, StaticPeer};
use crate::support::supernode::{Passwords, SuperPeer, Supernode};
use egd::wg::keys::{private_key_from_random, public_key};

const EGD: &str = env!("CARGO_BIN_EXE_egd");
const WAIT: Duration = Duration::from_secs(30);

fn key(n: u8) -> egd::wg::PrivateKey {
    private_key_from_random([n.wrapping_mul(37).wrapping_add(11); 32])
}

#[test]
fn a_supernode_endpoint_v4_name_resolves_to_ipv4_and_is_reached() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, api) = (free_port(), free_port());
    let sn = Supernode::new(udp, api, "/egd_ddns/api", [&key(200), &key(201)], 6);
    let passwords = Passwords {
        show_state: "a",
        add_peer: "b",
        del_peer: "c",
        update_peer: "d",
        update_super: "e",
    };
    let peer = SuperPeer {
        id: 1,
        name: "edge1".into(),
        public_key: public_key(&key(1)).to_base64(),
        psk: "\"\"".into(),
    };
    let super_path = write(
        dir.path(),
        "super.yaml",
        &sn.config(&passwords, &[peer], ""),
    );
    let edge_yaml = sn
        .edge(1, "egd-ddns1", "edge1", &key(1).to_base64(), None)
        .replace(
            &format!("EndpointV4: 127.0.0.1:{udp}"),
            &format!("EndpointV4: localhost:{udp}"),
        );
    assert!(edge_yaml.contains("EndpointV4: localhost:"));
    let edge_path = write(dir.path(), "edge.yaml", &edge_yaml);
    let args = ["--no-uapi", "--bind", "std"];
    let supernode = spawn(EGD, &args, &super_path);
    let edge = spawn(EGD, &args, &edge_path);
    let logs = || format!("supernode:\n{}\nedge:\n{}", supernode.log(), edge.log());
    let resolved = format!("supernode EndpointV4: localhost resolves to 127.0.0.1:{udp}");
    assert!(
        edge.wait_log(&resolved, WAIT),
        "{resolved:?} in\n{}",
        logs()
    );
    assert!(
        edge.wait_log("peer list", WAIT),
        "a notice over the session made the edge fetch the peer list:\n{}",
        logs()
    );
}

#[test]
fn a_peer_name_that_does_not_resolve_is_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let (port, other) = (free_port(), free_port());
    let own = key(1);
    let edge = StaticEdge {
        id: 1,
        name: "edge1".into(),
        interface: "  IType: dummy\n  Name: egd-ddns2\n  MTU: 1400\n",
        key: &own,
        port,
        log_level: "info",
        metrics: None,
        next_hop_table: "",
        peers: vec![
            StaticPeer::new(2, &key(2), "no-such-host.invalid:9".into()),
            StaticPeer::new(3, &key(3), format!("localhost:{other}")),
        ],
    };
    let path = write(dir.path(), "edge.yaml", &edge.yaml());
    let mut proc = spawn(EGD, &["--no-uapi", "--bind", "std"], &path);
    let warned = "peer 2: cannot resolve no-such-host.invalid:9";
    assert!(proc.wait_log(warned, WAIT), "{warned:?} in\n{}", proc.log());
    let resolved = format!("peer 3: localhost resolves to 127.0.0.1:{other}");
    assert!(
        proc.wait_log(&resolved, WAIT),
        "{resolved:?} in\n{}",
        proc.log()
    );
    // Still running a while later (the retries go on in the background).
    std::thread::sleep(Duration::from_secs(3));
    assert!(proc.alive(), "egd exited:\n{}", proc.log());
}
