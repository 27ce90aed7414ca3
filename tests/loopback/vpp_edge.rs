//! `IType: vpp` through the daemon: edge 1's interface is a memif (egd as
//! the memif server, as VPP would connect as client), edge 2 a `stdio`
//! `kbdbg` interface, both static edges in a namespace of the test's own.
//! The test plays VPP with egd-ifaces' memif client: a frame it writes comes
//! out of edge 2 as a kbdbg line, and a line typed into edge 2 arrives as a
//! frame on the memif.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::time::{Duration, Instant};

use crate::support::netns::Netns;
use crate::support::procs::Proc;
use crate::support::static_edge::{StaticEdge, StaticPeer};
use crate::support::{kernel_test_unavailable, wait_for};
use egd::wg::keys::private_key_from_random;
use egd_ifaces::{
    IfaceKind, IfaceSpec, L2HeaderMode, L2Interface, MemifIface, MemifRole, MemifSpec,
};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

fn key(id: u16) -> egd::wg::PrivateKey {
    private_key_from_random([id as u8 + 90; 32])
}

fn edge_yaml(id: u16, interface: &str) -> String {
    let peer = 3 - id;
    StaticEdge {
        id,
        name: format!("vpp{id}"),
        interface,
        key: &key(id),
        port: 3600 + id,
        log_level: "info",
        metrics: None,
        next_hop_table: "  1: {2: 2}\n  2: {1: 1}\n",
        peers: vec![StaticPeer::new(
            peer,
            &key(peer),
            format!("127.0.0.1:{}", 3600 + peer),
        )],
    }
    .yaml()
}

#[test]
fn frames_cross_between_a_memif_and_a_remote_edge() {
    if kernel_test_unavailable().is_some() {
        return;
    }
    let ns = Netns::new("vpp");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("memif.sock");
    let e1 = dir.path().join("edge1.yaml");
    std::fs::write(
        &e1,
        edge_yaml(
            1,
            &format!(
                "  IType: vpp\n  Name: egdvpp1\n  VPPIFaceID: 7\n  VPPBridgeID: 4242\n  VPPIFaceSocket: {}\n  VPPIFaceRole: server\n  MacAddrPrefix: 02:77:00:00\n  MTU: 1400\n",
                socket.display()
            ),
        ),
    )
    .unwrap();
    let e2 = dir.path().join("edge2.yaml");
    std::fs::write(
        &e2,
        edge_yaml(2, "  IType: stdio\n  Name: egdvpp2\n  L2HeaderMode: kbdbg\n  MacAddrPrefix: 02:77:00:00\n  MTU: 1400\n"),
    )
    .unwrap();
    let spawn = |path: &std::path::Path| {
        let mut cmd = ns.cmd(EGD);
        cmd.arg("--no-uapi").arg("--config").arg(path);
        Proc::spawn(cmd)
    };
    let edge1 = spawn(&e1);
    let mut edge2 = spawn(&e2);
    let listening = wait_for(Duration::from_secs(10), || socket.exists().then_some(()));
    assert!(
        listening.is_some(),
        "edge 1 listens on its memif socket\n{}",
        edge1.log()
    );
    // The log line may reach the reader thread after the socket exists.
    // At WARN: the operator must run it (egd does not talk to VPP).
    let bridge_line = wait_for(Duration::from_secs(10), || {
        edge1
            .log()
            .lines()
            .any(|l| {
                l.contains(" WARN ") && l.contains("vpp# set interface l2 bridge memif1/7 4242")
            })
            .then_some(())
    });
    assert!(
        bridge_line.is_some(),
        "egd warns with the vppctl lines for VPPBridgeID:\n{}",
        edge1.log()
    );

    // The test is VPP: a memif client on edge 1's socket.
    let spec = IfaceSpec {
        kind: IfaceKind::Vpp,
        name: "vpp-side".into(),
        node_id: 0,
        mac: [0x02, 0, 0, 0, 0, 0x99],
        mtu: 1400,
        ipv4: None,
        ipv6: None,
        ipv6_link_local: None,
        recv_addr: None,
        send_addr: None,
        l2_header_mode: L2HeaderMode::NoChange,
        post_script: None,
        queues: 1,
        offload: false,
        memif: MemifSpec {
            socket: socket.clone(),
            id: 7,
            role: MemifRole::Client,
        },
    };
    let mut vpp = MemifIface::open(&spec).unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while !vpp.is_connected() {
        assert!(
            Instant::now() < end,
            "memif connects: {:?}\n{}",
            vpp.take_last_error(),
            edge1.log()
        );
        vpp.maintain().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }

    // VPP → edge 1 → tunnel → edge 2's stdout (kbdbg: b = broadcast, 1 = …:01).
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01]);
    frame.extend_from_slice(b"fromvpp\n");
    let arrived = wait_for(Duration::from_secs(15), || {
        vpp.write_frame(&frame).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        edge2.lines().iter().any(|l| l == "b1fromvpp").then_some(())
    });
    assert!(
        arrived.is_some(),
        "edge 2 prints the frame\n{}\n{}",
        edge1.log(),
        edge2.log()
    );

    // Edge 2 → tunnel → edge 1 → the memif.
    let mut buf = vec![0u8; 2048];
    let got = wait_for(Duration::from_secs(15), || {
        edge2.type_in("b2tovpp\n");
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            vpp.maintain().unwrap();
            while let Some(len) = vpp.read_frame(&mut buf).unwrap() {
                if buf[..len].ends_with(b"tovpp\n") {
                    return Some(buf[..len].to_vec());
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    })
    .unwrap_or_else(|| {
        panic!(
            "the frame reaches the memif\n{}\n{}",
            edge1.log(),
            edge2.log()
        )
    });
    assert_eq!(&got[..6], &[0xff; 6]);
    assert_eq!(&got[6..12], &[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02]);
}
