//! Real kernel, super mode (docs/system.md#super-mode): a supernode and edges with tap
//! interfaces in network namespaces.
//!
//! ```text
//!  NAT tests (super_mesh::nat, no routes between the private networks):
//!
//!  ns pub: br0 198.51.100.1/24 (supernode)
//!    ├─ ns nat1: wan 198.51.100.2, lan 10.1.0.1/24 ── ns lan1: eth0 10.1.0.2, edge 1
//!    └─ ns nat2: wan 198.51.100.3, lan 10.2.0.1/24 ── ns lan2: eth0 10.2.0.2, edge 2
//!       (nftables masquerade on each wan)             taps 10.66.0.1, 10.66.0.2
//!
//!  Relay tests (super_mesh::mesh):
//!
//!  ns hub: br0 10.0.0.254/24, supernode (super runs), one linkemu per pair
//!    ├─ h1 ── veth ── ns mesh1: eth0 10.0.0.1  A   tap 10.66.0.1
//!    ├─ h2 ── veth ── ns mesh2: eth0 10.0.0.2  B   tap 10.66.0.2
//!    ├─ h3 ── veth ── ns mesh3: eth0 10.0.0.3  R1  tap 10.66.0.3
//!    └─ h4 ── veth ── ns mesh4: eth0 10.0.0.4  R2  tap 10.66.0.4
//!  each edge's nft drops eth0 traffic not to 10.0.0.254, so every pair
//!  meets only through its emulator: A→B fastest via R1, B→A via R2
//!
//!  Upstream example: one ns (egdt-upsuper), all daemons on its loopback.
//! ```
//!
//! - Two edges behind two NAT routers (nftables masquerade) register with a
//!   supernode on the public segment, learn each other's external endpoint,
//!   punch through both NATs and ping each other directly.
//! - Four edges A, B, R1, R2 on one underlay, every pair joined through its
//!   own `linkemu` with a delay per direction: A→B is fastest through R1 and
//!   B→A through R2, so a ping's requests cross R1 and its replies R2. Then
//!   the delays swap at run time and so do the relays. The same again with
//!   the edges' clocks seconds apart, which must change nothing (one-way
//!   latencies are offset by the clocks' difference, and the offsets cancel
//!   along every path, docs/system.md#one-way-latency). A static-mode run of the same underlay
//!   checks the harness itself against fixed tables, and a P2P run (no
//!   supernode: every edge floods its reports and solves on its own) must
//!   pick the same relays (docs/system.md#p2p-mode).
//! - The original's super-mode example configs run unchanged.
//!
//! The tests run one at a time: they measure latencies of tens of
//! milliseconds on a machine that may have two cores.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::path::Path;
use std::time::Duration;

use crate::super_mesh::config::{Routing, edge_config, supernode_config, write_checked};
use crate::super_mesh::kernel::{assert_running, logs, serial, spawn_egd, tools_missing};
use crate::super_mesh::mesh::{A, B, Mesh, MeshRouting, Phase, R1};
use crate::super_mesh::nat::{self, NatNet};
use crate::support::http;
use crate::support::netns::Netns;
use crate::support::procs::Proc;
use crate::support::{kernel_test_unavailable, wait_for};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

// ---------------------------------------------------------------- 1. NAT

/// Two edges behind two NATs register with the supernode, learn each
/// other's external endpoint from it and punch through both NATs.
#[test]
fn edges_behind_two_nats_punch_through_and_ping_directly() {
    let _serial = serial();
    if kernel_test_unavailable().is_some() || tools_missing(&["ping", "nft"]) {
        return;
    }
    let net = NatNet::build();
    let dir = tempfile::tempdir().unwrap();
    let super_yaml = write_checked(dir.path(), "super.yaml", &supernode_config(&[1, 2], true));
    let routing = Routing::Super {
        host: nat::PUBLIC_SUPER,
        skip_local_ip: false,
    };
    let mut supernode = spawn_egd(&net.public, &super_yaml, 0, &[]);
    let mut edges = [1u16, 2].map(|id| {
        let text = edge_config(id, &routing, &[]);
        let path = write_checked(dir.path(), &format!("edge{id}.yaml"), &text);
        spawn_egd(&net.lans[usize::from(id) - 1], &path, 0, &[])
    });
    net.check_direct_pings(Some(&mut supernode), &mut edges);
}

/// The NAT set-up itself, without a supernode: static edges that know each
/// other's public address (both send, so both mappings open).
#[test]
fn static_edges_with_known_public_endpoints_cross_two_nats() {
    let _serial = serial();
    if kernel_test_unavailable().is_some() || tools_missing(&["ping", "nft"]) {
        return;
    }
    let net = NatNet::build();
    let dir = tempfile::tempdir().unwrap();
    let routing = Routing::Static {
        next_hop_table: "  1: {2: 2}\n  2: {1: 1}\n",
    };
    let mut edges = [1u16, 2].map(|id| {
        let peer = 3 - id;
        let pin = (
            peer,
            format!("{}:{}", nat::public_address(peer), 3000 + peer),
        );
        let text = edge_config(id, &routing, &[pin]);
        let path = write_checked(dir.path(), &format!("edge{id}.yaml"), &text);
        spawn_egd(&net.lans[usize::from(id) - 1], &path, 0, &[])
    });
    net.check_direct_pings(None, &mut edges);
}

// ---------------------------------------------------------------- 2, 3. asymmetric relays

/// The asymmetric scenario: converge, check a ping flow, swap the delays
/// through the emulators' control sockets, converge again and check again.
fn asymmetric_relays(routing: MeshRouting, clock_offsets_ms: [i64; 4]) {
    let _serial = serial();
    if kernel_test_unavailable().is_some() || tools_missing(&["ping", "nft"]) {
        return;
    }
    let mut mesh = Mesh::start(routing, clock_offsets_ms);
    for phase in [Phase::First, Phase::Swapped] {
        if phase == Phase::Swapped {
            mesh.set_delays(phase);
        }
        mesh.await_routes(phase);
        mesh.check_flow(phase);
    }
}

#[test]
fn a_to_b_and_b_to_a_take_different_relays_and_follow_delay_changes() {
    asymmetric_relays(MeshRouting::Super, [0; 4]);
}

/// Fast failover for real: during a `ping -i 0.05` flow the link A→R1 the
/// requests take dies (in its link emulator); at most 1 s of the flow is
/// lost before the edges route around it.
#[test]
fn a_dead_link_costs_at_most_a_second_of_a_ping_flow() {
    let _serial = serial();
    if kernel_test_unavailable().is_some() || tools_missing(&["ping", "nft"]) {
        return;
    }
    let mut mesh = Mesh::start(MeshRouting::Super, [0, 0, 0, 0]);
    mesh.await_routes(Phase::First);
    let (lost, output) = mesh.flow_through_a_cut();
    eprintln!("failover: lost {lost} of 200 pings at 50 ms");
    assert!(
        lost <= 20,
        "lost {lost} of 200 pings at 50 ms (1 s is 20): {output}\n{}",
        mesh.report()
    );
    assert_ne!(
        mesh.next_hop(A, B),
        Some(R1),
        "A routes around the dead link"
    );
}

/// The same scenario in P2P mode: no supernode, each edge solves its own
/// graph from the flooded reports.
#[test]
fn p2p_edges_route_each_direction_through_its_own_relay() {
    asymmetric_relays(MeshRouting::P2p, [0, 0, 0, 0]);
}

#[test]
fn clock_offsets_of_seconds_do_not_change_the_chosen_relays() {
    // A and R2 run 3 s ahead, B and R1 3 s behind: A→R1 then measures
    // 10 ms − 6 s, R1→B 10 ms, A→B 80 ms − 6 s.
    asymmetric_relays(MeshRouting::Super, [3000, -3000, -3000, 3000]);
}

/// The same underlay with static tables that encode the first phase's
/// answer: checks the namespaces, the emulators and the pinned endpoints
/// with routing that does not depend on the supernode.
#[test]
fn static_tables_route_each_direction_through_its_own_relay() {
    let _serial = serial();
    if kernel_test_unavailable().is_some() || tools_missing(&["ping", "nft"]) {
        return;
    }
    let mut mesh = Mesh::start(MeshRouting::Static, [0; 4]);
    mesh.await_routes(Phase::First);
    mesh.check_flow(Phase::First);
}

// ---------------------------------------------------------------- 4. the original's example

/// The original's super-mode example (a supernode on 3456 and edges 1 and 2
/// with stdio interfaces in `kbdbg` mode) inside a namespace of its own,
/// so the fixed loopback ports cannot collide. The files are copied first:
/// `SaveNewPeers: true` lets an edge write learned peers back to its file,
/// and the originals must stay as they are.
#[test]
fn upstream_super_mode_example_runs_unchanged() {
    let _serial = serial();
    if kernel_test_unavailable().is_some() {
        return;
    }
    let source = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/upstream-examples/super_mode/"
    ));
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let ns = Netns::new("upsuper");
    let start = |file: &str, metrics: Option<u16>| {
        let mut cmd = ns.cmd(EGD);
        cmd.args(["--no-uapi", "--config"])
            .arg(dir.path().join(file));
        if let Some(port) = metrics {
            cmd.args(["--metrics-listen", &format!("127.0.0.1:{port}")]);
        }
        Proc::spawn(cmd)
    };
    let mut supernode = start("EgNet_super.yaml", None);
    let mut edge1 = start("EgNet_edge001.yaml", Some(9101));
    let mut edge2 = start("EgNet_edge002.yaml", Some(9102));

    // Type the broadcast until it arrives: the edges first have to
    // register and get a table.
    let mut typed_at = None;
    let arrived = wait_for(Duration::from_secs(60), || {
        assert_running(&mut supernode, "the supernode");
        assert_running(&mut edge1, "edge 1");
        assert_running(&mut edge2, "edge 2");
        if edge2.lines().iter().any(|l| l == "b1aaaa") {
            return Some(());
        }
        if typed_at.is_none_or(|t: std::time::Instant| t.elapsed() > Duration::from_secs(3)) {
            edge1.type_in("b1aaaa\n");
            typed_at = Some(std::time::Instant::now());
        }
        None
    });
    let next_hops = |port| {
        http::metrics(&ns, port)
            .map(|m| http::series_of(&m, "egd_next_hop"))
            .unwrap_or_default()
    };
    assert!(
        arrived.is_some(),
        "edge 2 prints what edge 1 broadcast; next hops of edge 1:\n{}\nof edge 2:\n{}\n{}",
        next_hops(9101),
        next_hops(9102),
        logs(&[
            ("supernode", &supernode),
            ("edge 1", &edge1),
            ("edge 2", &edge2)
        ])
    );
    assert!(
        !edge1.lines().iter().any(|l| l == "b1aaaa"),
        "the sender does not echo its own broadcast"
    );
    for (name, p) in [("edge 1", &mut edge1), ("edge 2", &mut edge2)] {
        assert_running(p, name);
    }
}
