//! The asymmetric underlay: four edges A, B, R1, R2, one link emulator per
//! pair with a delay per direction, and the checks that a ping's requests
//! and replies cross the relays the delays call for.
//!
//! ```text
//!  ns hub: br0 10.0.0.254/24, supernode (super runs), one linkemu per pair
//!    ├─ h1 ── veth ── ns mesh1: eth0 10.0.0.1  A   tap 10.66.0.1
//!    ├─ h2 ── veth ── ns mesh2: eth0 10.0.0.2  B   tap 10.66.0.2
//!    ├─ h3 ── veth ── ns mesh3: eth0 10.0.0.3  R1  tap 10.66.0.3
//!    └─ h4 ── veth ── ns mesh4: eth0 10.0.0.4  R2  tap 10.66.0.4
//! ```
#![allow(dead_code)] // helpers of super_mode and faults, not every one used

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::EGD;
use crate::support::http;
use crate::support::linkemu::{LinkProc, LinkSpec};
use crate::support::netns::Netns;
use crate::support::procs::Proc;
use crate::support::{counter_reaches, wait_for};

use super::config::{
    EDGE_METRICS, Routing, edge_config, supernode_config, write_checked, write_edge_template,
};
use super::kernel::{
    FORWARDED_UNICAST, address, assert_running, bridge, counter, enslave, let_metrics_catch_up,
    nft, nft_counter, ping, spawn_egd_via, super_state, tap_up, veth,
};

pub const A: u16 = 1;
pub const B: u16 = 2;
pub const R1: u16 = 3;
pub const R2: u16 = 4;
pub const NODES: [u16; 4] = [A, B, R1, R2];
/// The underlay hub's address: the supernode and every link emulator.
pub const HUB: &str = "10.0.0.254";

pub fn name(id: u16) -> &'static str {
    ["A", "B", "R1", "R2"][usize::from(id) - 1]
}

/// Which delays the emulators apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A→R1→B and B→R2→A take 20 ms; everything else between A and B 80 ms.
    First,
    /// R1 and R2 trade places.
    Swapped,
}

/// One-way delay in ms from `from` to `to`.
///
/// First phase, A→B: direct 80, via R1 10+10, via R2 40+40, via R1 and R2
/// 10+60+40 or 40+60+10 — R1 wins by 60 ms. B→A: direct 80, via R2 10+10,
/// via R1 40+40 — R2 wins by 60 ms. Per-relay cost (1 ms) and jitter
/// tolerance (5 ms) cannot close such gaps.
pub fn delay_ms(phase: Phase, from: u16, to: u16) -> u32 {
    let swap = |n| match (phase, n) {
        (Phase::Swapped, R1) => R2,
        (Phase::Swapped, R2) => R1,
        _ => n,
    };
    match (swap(from), swap(to)) {
        (A, B) | (B, A) => 80,
        (A, R1) | (R1, B) | (B, R2) | (R2, A) => 10,
        (B, R1) | (R1, A) | (A, R2) | (R2, B) => 40,
        _ => 60, // R1 ↔ R2
    }
}

/// The relays each direction should take in `phase`: (A→B, B→A).
pub fn relays(phase: Phase) -> (u16, u16) {
    match phase {
        Phase::First => (R1, R2),
        Phase::Swapped => (R2, R1),
    }
}

/// The emulator between `x < y`: a_listen (x sends here) and b_listen (y
/// sees x here), on the hub.
pub fn emulator_ports(x: u16, y: u16) -> (u16, u16) {
    (4000 + 10 * x + y, 5000 + 10 * x + y)
}

/// Where `from` sends to reach `to`: its side of their emulator.
pub fn pinned_endpoint(from: u16, to: u16) -> String {
    let (a, b) = emulator_ports(from.min(to), from.max(to));
    format!("{HUB}:{}", if from < to { a } else { b })
}

/// Node `id`'s underlay address.
pub fn underlay(id: u16) -> String {
    format!("10.0.0.{id}")
}

/// Static mode's table for the first phase.
pub const STATIC_TABLE: &str = "  1: {2: 3, 3: 3, 4: 4}
  2: {1: 4, 3: 3, 4: 4}
  3: {1: 1, 2: 2, 4: 4}
  4: {1: 1, 2: 2, 3: 3}
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshRouting {
    Super,
    Static,
    P2p,
}

/// Four edges on one underlay bridge in a hub namespace, one link emulator
/// per pair on the hub, and (super mode) the supernode on the hub too.
/// Every edge's namespace drops underlay traffic to anything but the hub,
/// so no datagram between edges can bypass the emulators.
pub struct Mesh {
    // Processes first: fields drop in this order.
    nodes: Vec<Proc>,
    supernode: Option<Proc>,
    links: Vec<((u16, u16), LinkProc)>,
    pub edges: Vec<Netns>,
    pub hub: Netns,
    dir: tempfile::TempDir,
    /// Each edge's config file and clock offset (for restarts).
    configs: Vec<(PathBuf, i64)>,
    /// How every egd is started.
    launch: Launch,
}

/// How a [`Mesh`] starts its daemons: `egd … ARGS` run by `wrapper` when
/// there is one.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub wrapper: Vec<String>,
    pub args: Vec<String>,
}

impl Mesh {
    /// Starts everything with the first phase's delays; `clock_offsets_ms`
    /// are A's, B's, R1's and R2's `EGD_TEST_CLOCK_OFFSET_MS`.
    pub fn start(routing: MeshRouting, clock_offsets_ms: [i64; 4]) -> Mesh {
        Mesh::start_with(routing, clock_offsets_ms, Launch::default(), |_| {})
    }

    /// [`Mesh::start`] with every egd started as `launch` says, and
    /// `prepare` run on the config folder once every file is written
    /// (e.g. to hand it to the user egd drops to).
    pub fn start_with(
        routing: MeshRouting,
        clock_offsets_ms: [i64; 4],
        launch: Launch,
        prepare: impl FnOnce(&Path),
    ) -> Mesh {
        let dir = tempfile::tempdir().unwrap();
        let hub = Netns::new("hub");
        bridge(&hub, &format!("{HUB}/24"));
        let edges: Vec<Netns> = NODES
            .iter()
            .map(|&id| {
                let ns = Netns::new(&format!("mesh{id}"));
                let port = format!("h{id}");
                veth(&ns, "eth0", &hub, &port);
                enslave(&hub, &port);
                address(&ns, "eth0", &format!("{}/24", underlay(id)));
                nft(
                    &ns,
                    &format!(
                        r#"table inet egdtest {{
  counter bypass {{}}
  chain output {{
    type filter hook output priority filter; policy accept;
    oifname "eth0" ip daddr != {HUB} counter name "bypass" drop
  }}
}}
"#
                    ),
                );
                ns
            })
            .collect();

        let mut links = Vec::new();
        for &x in &NODES {
            for &y in NODES.iter().filter(|&&y| y > x) {
                let (a, b) = emulator_ports(x, y);
                let spec = LinkSpec {
                    a_listen: format!("{HUB}:{a}"),
                    a_peer: format!("{}:{}", underlay(x), 3000 + x),
                    b_listen: format!("{HUB}:{b}"),
                    b_peer: format!("{}:{}", underlay(y), 3000 + y),
                    a_to_b: format!("delay={}ms", delay_ms(Phase::First, x, y)),
                    b_to_a: format!("delay={}ms", delay_ms(Phase::First, y, x)),
                };
                let control = dir.path().join(format!("link{x}{y}.sock"));
                links.push(((x, y), LinkProc::start(EGD, &hub, &spec, control)));
            }
        }

        let super_path = (routing == MeshRouting::Super).then(|| {
            write_edge_template(dir.path(), HUB);
            let text = supernode_config(&NODES, false);
            write_checked(dir.path(), "super.yaml", &text)
        });
        let edge_routing = match routing {
            MeshRouting::Super => Routing::Super {
                host: HUB,
                skip_local_ip: true,
            },
            MeshRouting::Static => Routing::Static {
                next_hop_table: STATIC_TABLE,
            },
            MeshRouting::P2p => Routing::P2p,
        };
        let configs: Vec<(PathBuf, i64)> = NODES
            .iter()
            .zip(clock_offsets_ms)
            .map(|(&id, offset)| {
                let pins: Vec<(u16, String)> = NODES
                    .iter()
                    .filter(|&&p| p != id)
                    .map(|&p| (p, pinned_endpoint(id, p)))
                    .collect();
                let text = edge_config(id, &edge_routing, &pins);
                let path = write_checked(dir.path(), &format!("edge{id}.yaml"), &text);
                (path, offset)
            })
            .collect();
        prepare(dir.path());
        let spawn = |ns: &Netns, path: &Path, offset: i64| {
            spawn_egd_via(ns, &launch.wrapper, path, offset, &launch.args)
        };
        let supernode = super_path.map(|path| spawn(&hub, &path, 0));
        let nodes = configs
            .iter()
            .zip(&edges)
            .map(|((path, offset), ns)| spawn(ns, path, *offset))
            .collect();
        let mut mesh = Mesh {
            nodes,
            supernode,
            links,
            edges,
            hub,
            dir,
            configs,
            launch,
        };
        for &id in &NODES {
            mesh.assert_running();
            let cidr = format!("10.66.0.{id}/24");
            assert!(
                tap_up(&mesh.edges[usize::from(id) - 1], &cidr),
                "{}'s tap has {cidr}:\n{}",
                name(id),
                mesh.report()
            );
        }
        mesh
    }

    /// The folder of every config file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn super_config(&self) -> PathBuf {
        self.dir.path().join("super.yaml")
    }

    pub fn edge_config(&self, id: u16) -> &Path {
        &self.configs[usize::from(id) - 1].0
    }

    pub fn edge_ns(&self, id: u16) -> &Netns {
        &self.edges[usize::from(id) - 1]
    }

    /// The supernode's process (super mode only).
    pub fn supernode(&mut self) -> &mut Proc {
        self.supernode.as_mut().expect("a mesh in super mode")
    }

    /// Edge `id`'s process.
    pub fn node(&mut self, id: u16) -> &mut Proc {
        &mut self.nodes[usize::from(id) - 1]
    }

    /// Starts the supernode again on its config file (after a kill).
    pub fn restart_supernode(&mut self) {
        let path = self.super_config();
        let l = &self.launch;
        self.supernode = Some(spawn_egd_via(&self.hub, &l.wrapper, &path, 0, &l.args));
    }

    /// Starts edge `id` again on its config file (after a kill).
    pub fn restart_node(&mut self, id: u16) {
        let i = usize::from(id) - 1;
        let (path, offset) = &self.configs[i];
        let l = &self.launch;
        self.nodes[i] = spawn_egd_via(&self.edges[i], &l.wrapper, path, *offset, &l.args);
    }

    pub fn assert_running(&mut self) {
        if let Some(s) = self.supernode.as_mut() {
            assert_running(s, "the supernode");
        }
        for (i, n) in self.nodes.iter_mut().enumerate() {
            assert_running(n, name(i as u16 + 1));
        }
    }

    pub fn metrics(&self, id: u16) -> String {
        http::metrics(&self.edges[usize::from(id) - 1], EDGE_METRICS).unwrap_or_default()
    }

    pub fn next_hop(&self, id: u16, dst: u16) -> Option<u16> {
        http::sample(
            &self.metrics(id),
            &format!(r#"egd_next_hop{{dst="{dst}"}}"#),
        )
        .map(|hop| hop as u16)
    }

    pub fn link(&self, x: u16, y: u16) -> &LinkProc {
        let key = (x.min(y), x.max(y));
        &self.links.iter().find(|(k, _)| *k == key).unwrap().1
    }

    /// Datagrams the emulator passed from `from` to `to` so far.
    pub fn carried(&self, from: u16, to: u16) -> u64 {
        let direction = if from < to { "a_to_b" } else { "b_to_a" };
        self.link(from, to).forwarded(direction)
    }

    /// A `ping -i 0.05` flow from A to B (200 requests) while, after 2 s,
    /// the link A→R1 it uses dies one way; returns how many were lost and
    /// ping's output.
    pub fn flow_through_a_cut(&mut self) -> (u32, String) {
        let a = &self.edges[usize::from(A) - 1];
        let warm = wait_for(Duration::from_secs(10), || {
            (ping(a, "10.66.0.2", 1, "0.2").0 == 1).then_some(())
        });
        assert!(warm.is_some(), "A reaches B:\n{}", self.report());
        let count = 200;
        let flow = std::thread::scope(|s| {
            let flow = s.spawn(|| ping(a, "10.66.0.2", count, "0.05"));
            std::thread::sleep(Duration::from_secs(2));
            let direction = if A < R1 { "a_to_b" } else { "b_to_a" };
            self.link(A, R1).set(direction, "up=false");
            flow.join().unwrap()
        });
        (count - flow.0, flow.1)
    }

    pub fn set_delays(&self, phase: Phase) {
        for ((x, y), link) in &self.links {
            link.set("a_to_b", &format!("delay={}ms", delay_ms(phase, *x, *y)));
            link.set("b_to_a", &format!("delay={}ms", delay_ms(phase, *y, *x)));
        }
    }

    /// Everything that helps to read a failure.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for &id in &NODES {
            let ns = &self.edges[usize::from(id) - 1];
            out.push_str(&format!(
                "--- {} (node {id}), {} datagrams tried to bypass the emulators:\n{}\n{}\n{}\n",
                name(id),
                nft_counter(ns, "bypass"),
                http::series_of(&self.metrics(id), "egd_next_hop"),
                http::series_of(&self.metrics(id), "egd_forwarded_packets_total"),
                self.nodes[usize::from(id) - 1].log()
            ));
        }
        for ((x, y), link) in &self.links {
            out.push_str(&format!(
                "--- link {}–{}: {}\n",
                name(*x),
                name(*y),
                link.command("stats")
            ));
        }
        if let Some(s) = &self.supernode {
            out.push_str(&format!(
                "--- supernode:\n{}\nstate: {}\n",
                s.log(),
                super_state(&self.hub, HUB)
            ));
        }
        out
    }

    /// Waits until A sends B's traffic to `via_ab` and B sends A's to
    /// `via_ba`.
    pub fn await_routes(&mut self, phase: Phase) {
        let (via_ab, via_ba) = relays(phase);
        let converged = wait_for(Duration::from_secs(45), || {
            self.assert_running();
            (self.next_hop(A, B) == Some(via_ab) && self.next_hop(B, A) == Some(via_ba))
                .then_some(())
        });
        assert!(
            converged.is_some(),
            "{phase:?}: A→B should go through {} and B→A through {}:\n{}",
            name(via_ab),
            name(via_ba),
            self.report()
        );
    }

    /// A ping flow from A to B: the requests cross `via_ab`, the replies
    /// `via_ba`, the slow direct link carries neither.
    pub fn check_flow(&mut self, phase: Phase) {
        let (via_ab, via_ba) = relays(phase);
        let a = &self.edges[usize::from(A) - 1];
        let warm = wait_for(Duration::from_secs(10), || {
            (ping(a, "10.66.0.2", 1, "0.2").0 == 1).then_some(())
        });
        assert!(warm.is_some(), "{phase:?}: A reaches B:\n{}", self.report());
        let_metrics_catch_up();

        let hops = [
            (A, via_ab, "request"),
            (via_ab, B, "request"),
            (B, via_ba, "reply"),
            (via_ba, A, "reply"),
        ];
        let relayed = |mesh: &Mesh, id: u16| counter(&mesh.metrics(id), FORWARDED_UNICAST);
        let before_hops: Vec<u64> = hops.iter().map(|&(f, t, _)| self.carried(f, t)).collect();
        let before_direct = [self.carried(A, B), self.carried(B, A)];
        let before_relayed = [relayed(self, via_ab), relayed(self, via_ba)];

        // 80 pings (4 s): long enough that the control traffic on the slow
        // direct link (pings every 200 ms while frames flow, flooded
        // reports, peer exchange: ~10 datagrams/s) stays well under the
        // flow's own count.
        let (received, output) = ping(&self.edges[usize::from(A) - 1], "10.66.0.2", 80, "0.05");
        assert!(
            !output.contains("DUP!"),
            "{phase:?}: no duplicates: {output}"
        );
        assert!(
            received >= 72,
            "{phase:?}: a ping flow from A to B: {output}\n{}",
            self.report()
        );
        let_metrics_catch_up();
        let received = u64::from(received);

        for (&(from, to, what), before) in hops.iter().zip(&before_hops) {
            let carried = self.carried(from, to) - before;
            assert!(
                carried >= received,
                "{phase:?}: link {}→{} carried {carried} datagrams for {received} echo {what}s:\n{}",
                name(from),
                name(to),
                self.report()
            );
        }
        for ((from, to), before) in [(A, B), (B, A)].into_iter().zip(before_direct) {
            let carried = self.carried(from, to) - before;
            assert!(
                carried < received,
                "{phase:?}: the slow direct link {}→{} carried {carried} datagrams during \
                 {received} pings (only control traffic belongs there):\n{}",
                name(from),
                name(to),
                self.report()
            );
        }
        for ((relay, what), before) in [(via_ab, "request"), (via_ba, "reply")]
            .into_iter()
            .zip(before_relayed)
        {
            let count = counter_reaches(before + received as f64, || relayed(self, relay)) - before;
            assert!(
                count >= received as f64,
                "{phase:?}: {} relayed {count} unicast frames for {received} echo {what}s:\n{}",
                name(relay),
                self.report()
            );
        }
        assert_eq!(
            (self.next_hop(A, B), self.next_hop(B, A)),
            (Some(via_ab), Some(via_ba)),
            "{phase:?}: the routes held during the flow"
        );
    }
}
