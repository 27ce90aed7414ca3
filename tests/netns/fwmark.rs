//! Real kernel, `FwMark` (docs/system.md#interfaces): a supernode and an edge in super
//! mode, each with its own mark, in one network namespace the test creates
//! (and always deletes). The kernel must report the mark on each daemon's
//! UDP socket (`ss -e` shows `fwmark:0x…`), and an nftables output chain
//! in that namespace must count the datagrams each daemon sends from its
//! port with its mark, and none without it.
//!
//! ```text
//!  one ns (egdt-fwmark), loopback only, no veth
//!  ┌──────────────────────────────────────────────────────────────┐
//!  │ supernode  UDP 3411, API 3412   FwMark 0x5a11                │
//!  │ edge 1     UDP 3413, tap egd-fw1 FwMark 0xed9e               │
//!  │ nft table inet egdtest: output chain counts each port's      │
//!  │ datagrams with and without its mark                          │
//!  └──────────────────────────────────────────────────────────────┘
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::time::Duration;

use crate::support::loopback::write;
use crate::support::netns::{Netns, nft, nft_counter, serial};
use crate::support::procs::{Proc, logs};
use crate::support::supernode::{Passwords, SuperPeer, Supernode};
use crate::support::{kernel_test_unavailable, tools_missing, wait_for};
use egd::wg::keys::{private_key_from_random, public_key};

const EGD: &str = env!("CARGO_BIN_EXE_egd");
const SUPER_UDP: u16 = 3411;
const SUPER_API: u16 = 3412;
const EDGE_UDP: u16 = 3413;
const SUPER_MARK: u32 = 0x5a11;
const EDGE_MARK: u32 = 0xed9e;

const PASSWORDS: Passwords<'static> = Passwords {
    show_state: "show",
    add_peer: "add",
    del_peer: "del",
    update_peer: "upd",
    update_super: "sup",
};

fn key(n: u8) -> egd::wg::PrivateKey {
    private_key_from_random([n.wrapping_mul(29).wrapping_add(3); 32])
}

/// Counters of marked and unmarked datagrams leaving each daemon's port.
fn rules() -> String {
    format!(
        "table inet egdtest {{
  counter super_marked {{}}
  counter super_unmarked {{}}
  counter edge_marked {{}}
  counter edge_unmarked {{}}
  chain out {{
    type filter hook output priority 0; policy accept;
    udp sport {SUPER_UDP} meta mark {SUPER_MARK:#x} counter name super_marked
    udp sport {SUPER_UDP} meta mark != {SUPER_MARK:#x} counter name super_unmarked
    udp sport {EDGE_UDP} meta mark {EDGE_MARK:#x} counter name edge_marked
    udp sport {EDGE_UDP} meta mark != {EDGE_MARK:#x} counter name edge_unmarked
  }}
}}
"
    )
}

fn spawn(ns: &Netns, config: &std::path::Path) -> Proc {
    let mut cmd = ns.cmd(EGD);
    cmd.args(["--no-uapi", "--config"]).arg(config);
    Proc::spawn(cmd)
}

/// `ss -e` lines of the UDP sockets bound to `port` in `ns`.
fn sockets_on(ns: &Netns, port: u16) -> Vec<String> {
    let out = ns
        .cmd("ss")
        .args(["-Huane", &format!("sport = :{port}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn fwmark_is_on_every_socket_and_every_datagram() {
    let _serial = serial();
    if kernel_test_unavailable().is_some() || tools_missing(&["nft", "ss"]) {
        return;
    }
    let ns = Netns::new("fwmark");
    nft(&ns, &rules());
    let dir = tempfile::tempdir().unwrap();
    let net = Supernode::new(SUPER_UDP, SUPER_API, "/api", [&key(200), &key(201)], 6);
    let peer = SuperPeer {
        id: 1,
        name: "edge1".to_owned(),
        public_key: public_key(&key(1)).to_base64(),
        psk: "\"\"".to_owned(),
    };
    let super_yaml = format!(
        "FwMark: {SUPER_MARK}\n{}",
        net.config(&PASSWORDS, &[peer], "")
    );
    let edge_yaml = net
        .edge(1, "egd-fw1", "edge1", &key(1).to_base64(), None)
        .replace(
            "ListenPort: 0\n",
            &format!("ListenPort: {EDGE_UDP}\nFwMark: {EDGE_MARK}\n"),
        );
    assert!(edge_yaml.contains("FwMark"), "{edge_yaml}");
    let supernode = spawn(&ns, &write(dir.path(), "super.yaml", &super_yaml));
    let edge = spawn(&ns, &write(dir.path(), "edge.yaml", &edge_yaml));
    let procs = [supernode, edge];

    // Each daemon's socket, as the kernel sees it, carries its mark.
    for (port, mark) in [(SUPER_UDP, SUPER_MARK), (EDGE_UDP, EDGE_MARK)] {
        let lines = wait_for(Duration::from_secs(10), || {
            let l = sockets_on(&ns, port);
            (!l.is_empty()).then_some(l)
        })
        .unwrap_or_else(|| panic!("no UDP socket on {port}:\n{}", logs(&procs)));
        for line in &lines {
            assert!(
                line.contains(&format!("fwmark:{mark:#x}")),
                "port {port}: {line}"
            );
        }
    }
    // Both send (handshakes, keepalives, control) with their marks only.
    let sent = wait_for(Duration::from_secs(20), || {
        let s = nft_counter(&ns, "super_marked");
        let e = nft_counter(&ns, "edge_marked");
        (s >= 2 && e >= 2).then_some((s, e))
    });
    assert!(
        sent.is_some(),
        "marked datagrams: super {}, edge {}\n{}",
        nft_counter(&ns, "super_marked"),
        nft_counter(&ns, "edge_marked"),
        logs(&procs)
    );
    assert_eq!(nft_counter(&ns, "super_unmarked"), 0, "{}", logs(&procs));
    assert_eq!(nft_counter(&ns, "edge_unmarked"), 0, "{}", logs(&procs));
}
