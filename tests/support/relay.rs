//! The three-node static-mode relay: network namespaces A, R, B joined by
//! veth pairs A–R (10.0.1.0/24) and R–B (10.0.2.0/24) only, an egd edge with
//! a tap (10.77.0.<id>/24) in each, and a static next-hop table that sends
//! A↔B through R. Node ids 1 (A), 2 (R), 3 (B); each listens on UDP
//! 3000 + id on all its addresses.
//!
//! How to drive it: [`StaticRelay::new`] builds the namespaces and links,
//! [`StaticRelay::start`] writes the configs and starts the three egds,
//! [`StaticRelay::wait_tap`] waits until A's tap has its address. Dropping
//! it kills the processes and deletes the namespaces.

use std::path::Path;

use egd::wg::PrivateKey;
use egd::wg::keys::{private_key_from_random, public_key};

use super::netns::{Netns, link, tap_up};
use super::procs::Proc;
use super::static_edge::{StaticEdge, StaticPeer};

/// The underlay addresses: A and R's ends of A–R, R and B's ends of R–B.
pub const A_UNDERLAY: &str = "10.0.1.1";
pub const R_TO_A: &str = "10.0.1.2";
pub const R_TO_B: &str = "10.0.2.1";
pub const B_UNDERLAY: &str = "10.0.2.2";

/// Node `id`'s UDP port.
pub fn port(id: u16) -> u16 {
    3000 + id
}

/// Node `id`'s address on the tap network.
pub fn tap_address(id: u16) -> String {
    format!("10.77.0.{id}")
}

pub fn key(id: u16) -> PrivateKey {
    private_key_from_random([id as u8 * 7; 32])
}

/// Node `id`'s public key in base64, as configs write it.
pub fn public_base64(id: u16) -> String {
    public_key(&key(id)).to_base64()
}

/// Node `id`'s config: a tap with 10.77.0.<id>/24, peers with their
/// underlay endpoints, the A→R→B table and, with `metrics`, the Prometheus
/// listener on that address.
pub fn config(id: u16, peers: &[(u16, &str)], metrics: Option<&str>) -> String {
    StaticEdge {
        id,
        name: format!("node{id}"),
        interface: "  IType: tap
  Name: egd0
  MacAddrPrefix: 02:EE:00:00
  IPv4CIDR: 10.77.0.0/24
  MTU: 1400
",
        key: &key(id),
        port: port(id),
        log_level: "error",
        metrics,
        next_hop_table: "  1: {2: 2, 3: 2}
  2: {1: 1, 3: 3}
  3: {1: 2, 2: 2}
",
        peers: peers
            .iter()
            .map(|(peer, endpoint)| StaticPeer::new(*peer, &key(*peer), (*endpoint).to_owned()))
            .collect(),
    }
    .yaml()
}

/// The namespaces and, once started, the three edges (in id order).
#[derive(Debug)]
pub struct StaticRelay {
    // Processes first: they die before their namespaces are deleted.
    pub nodes: Vec<Proc>,
    pub a: Netns,
    pub r: Netns,
    pub b: Netns,
}

impl StaticRelay {
    pub fn new() -> StaticRelay {
        let (a, r, b) = (Netns::new("a"), Netns::new("r"), Netns::new("b"));
        link(
            &a,
            &format!("{A_UNDERLAY}/24"),
            &r,
            &format!("{R_TO_A}/24"),
            "ar",
        );
        link(
            &r,
            &format!("{R_TO_B}/24"),
            &b,
            &format!("{B_UNDERLAY}/24"),
            "rb",
        );
        StaticRelay {
            nodes: Vec::new(),
            a,
            r,
            b,
        }
    }

    /// The namespace of node `id` (1, 2 or 3).
    pub fn ns(&self, id: u16) -> &Netns {
        match id {
            1 => &self.a,
            2 => &self.r,
            _ => &self.b,
        }
    }

    /// Writes the configs into `dir` and starts the edges; `metrics` gives
    /// each a Prometheus listener; `env` is set for every edge.
    pub fn start(&mut self, egd: &str, dir: &Path, metrics: Option<&str>, env: &[(&str, &str)]) {
        let a_end = format!("{A_UNDERLAY}:{}", port(1));
        let r_from_a = format!("{R_TO_A}:{}", port(2));
        let r_from_b = format!("{R_TO_B}:{}", port(2));
        let b_end = format!("{B_UNDERLAY}:{}", port(3));
        let configs = [
            (1u16, config(1, &[(2, &r_from_a)], metrics)),
            (2, config(2, &[(1, &a_end), (3, &b_end)], metrics)),
            (3, config(3, &[(2, &r_from_b)], metrics)),
        ];
        for (id, text) in configs {
            let path = dir.join(format!("edge{id}.yaml"));
            std::fs::write(&path, text).unwrap();
            let mut cmd = self.ns(id).cmd(egd);
            cmd.args(["--no-uapi", "--config"]).arg(&path);
            for (k, v) in env {
                cmd.env(k, v);
            }
            self.nodes.push(Proc::spawn(cmd));
        }
    }

    /// Waits until every node's tap carries its address (its egd is up).
    pub fn wait_tap(&self) {
        for id in [1, 2, 3] {
            let cidr = format!("{}/24", tap_address(id));
            assert!(tap_up(self.ns(id), &cidr), "node {id}'s tap has {cidr}");
        }
    }
}
