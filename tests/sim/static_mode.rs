//! `GraphRecalculateSetting.StaticMode` on the simulated network (virtual
//! clock): a supernode and a P2P mesh whose configured `NextHopTable`
//! forces a slow relay route along it — every edge holds that table, frames
//! cross the relay — and stay on it when the latencies change, while the
//! same network without `StaticMode` takes the direct links. Latency
//! reports still arrive (as upstream: edges keep pinging and reporting;
//! only the solver is off).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use egd::config::{GraphSettings, StaticNextHops};
use egd::control::super_core::{SuperCore, SuperCoreConfig};
use egd::sim::{Link, SimP2p};
use egd_routing::NextHopTable;

use crate::support::sim::{
    frame, ms, n, origin, p2p_config, quick_graph, secs, super_core_config, super_peer,
};

const A: u16 = 1;
const B: u16 = 2;
/// The relay the static table forces between A and B.
const R: u16 = 3;
const IDS: [u16; 3] = [A, B, R];

/// Every pair direct, except A↔B through R (which the solver would never
/// pick: A–B is 5 ms, via R 100 ms).
fn forced_relay() -> StaticNextHops {
    let mut t = StaticNextHops::new();
    for s in IDS {
        for d in IDS.into_iter().filter(|d| *d != s) {
            let hop = if (s, d) == (A, B) || (s, d) == (B, A) {
                R
            } else {
                d
            };
            t.entry(n(s)).or_default().insert(n(d), n(hop));
        }
    }
    t
}

fn graph(static_mode: bool) -> GraphSettings {
    GraphSettings {
        static_mode,
        ..quick_graph()
    }
}

fn core_config(static_mode: bool, next_hop_table: StaticNextHops) -> SuperCoreConfig {
    SuperCoreConfig {
        next_hop_table,
        ..super_core_config(graph(static_mode))
    }
}

use crate::support::sim::Mesh as Net;

impl Net {
    /// A supernode (with or without `StaticMode`, table [`forced_relay`])
    /// and edges A, B, R registering with it.
    fn super_mode(static_mode: bool) -> Net {
        Net::new_super(11, &IDS, core_config(static_mode, forced_relay()))
    }

    /// A full P2P mesh of A, B, R (with or without `StaticMode`, table
    /// [`forced_relay`]); nodes start with no table, as in the other sims.
    fn p2p_mode(static_mode: bool) -> Net {
        Net::new_p2p(12, &IDS, |id| {
            p2p_config(id, graph(static_mode), forced_relay())
        })
    }

    /// One-way delays: A↔B `direct` ms, every link of R `via_r` ms.
    fn delays(&mut self, direct: u64, via_r: u64) {
        let h = |id| self.hosts[&id];
        let (a, b, r) = (h(A), h(B), h(R));
        self.sim.set_link_both(a, b, Link::with_delay(ms(direct)));
        self.sim.set_link_both(a, r, Link::with_delay(ms(via_r)));
        self.sim.set_link_both(b, r, Link::with_delay(ms(via_r)));
    }

    fn table(&self, id: u16) -> NextHopTable {
        self.sim.host(self.hosts[&id]).node.next_hops().clone()
    }

    /// Sends `rounds` frames each way between A and B; returns how many
    /// unicast frames R relayed meanwhile. Every frame must arrive once.
    fn exchange(&mut self, rounds: usize) -> u64 {
        let relayed = |net: &Net| net.sim.host(net.hosts[&R]).node.metrics().forwarded_unicast;
        let (ha, hb) = (self.hosts[&A], self.hosts[&B]);
        // Each side learns the other's MAC first.
        self.sim.inject_frame(ha, &frame(A, B));
        self.sim.inject_frame(hb, &frame(B, A));
        self.sim.run_for(ms(500));
        let before = relayed(self);
        let (at_a, at_b) = (
            self.sim.host(ha).frames.len(),
            self.sim.host(hb).frames.len(),
        );
        for _ in 0..rounds {
            self.sim.inject_frame(ha, &frame(A, B));
            self.sim.inject_frame(hb, &frame(B, A));
            self.sim.run_for(ms(300));
        }
        // The last frames are still on their (up to 400 ms) way.
        self.sim.run_for(secs(1));
        assert_eq!(self.sim.host(hb).frames.len() - at_b, rounds, "A→B frames");
        assert_eq!(self.sim.host(ha).frames.len() - at_a, rounds, "B→A frames");
        relayed(self) - before
    }
}

/// The configured table, as the routing crate's type.
fn configured() -> NextHopTable {
    egd::node::next_hop_table(&forced_relay())
}

#[test]
fn supernode_static_mode_distributes_the_configured_table_and_keeps_it() {
    let mut net = Net::super_mode(true);
    net.delays(5, 50);
    net.sim.run_for(secs(15));
    let core = net.core.clone().unwrap();
    assert_eq!(core.borrow().next_hop_table(), &configured());
    for id in IDS {
        assert!(core.borrow().is_online(n(id)), "edge {id} registered");
        assert_eq!(
            net.table(id),
            configured(),
            "edge {id} holds the static table"
        );
    }
    assert_eq!(net.next_hop(A, B), Some(R));
    assert_eq!(net.next_hop(B, A), Some(R));
    assert_eq!(net.exchange(10), 20, "R relays every frame both ways");
    // Reports still arrive (the matrix is filled), nothing is solved.
    let state = core.borrow().state();
    let a_b = state.Edges[&A][&B];
    assert!((a_b - 0.005).abs() < 0.002, "A→B measured {a_b}");
    assert_eq!(core.borrow().solves(), 0, "StaticMode solves nothing");

    // Worse for the relay, better for the direct link: still the table.
    net.delays(1, 200);
    net.sim.run_for(secs(20));
    let state = core.borrow().state();
    let r_b = state.Edges[&R][&B];
    assert!((r_b - 0.200).abs() < 0.005, "R→B measured {r_b}");
    for id in IDS {
        assert_eq!(net.table(id), configured(), "edge {id} after the change");
    }
    assert_eq!(net.exchange(5), 10);
    assert_eq!(core.borrow().solves(), 0);
}

#[test]
fn supernode_without_static_mode_solves_past_the_table() {
    let mut net = Net::super_mode(false);
    net.delays(5, 50);
    net.sim.run_for(secs(15));
    assert_eq!(net.next_hop(A, B), Some(B), "the solver goes direct");
    assert_eq!(net.next_hop(B, A), Some(A));
    assert_eq!(net.exchange(5), 0, "R relays nothing");
    assert!(net.core.unwrap().borrow().solves() > 0);
}

#[test]
fn p2p_static_mode_routes_by_the_configured_table_and_keeps_it() {
    let mut net = Net::p2p_mode(true);
    net.delays(5, 50);
    net.sim.run_for(secs(15));
    for id in IDS {
        assert_eq!(net.table(id), configured(), "edge {id}");
        let host = net.hosts[&id];
        net.sim.with_controller(host, |c, _, _| {
            let p = c.as_any().downcast_mut::<SimP2p>().unwrap().p2p().unwrap();
            // Flooded reports still arrive: every edge has all six links.
            assert_eq!(p.latencies().len(), 6, "edge {id}: {:?}", p.latencies());
        });
    }
    assert_eq!(net.exchange(10), 20, "R relays every frame both ways");
    net.delays(1, 200);
    net.sim.run_for(secs(20));
    for id in IDS {
        assert_eq!(net.table(id), configured(), "edge {id} after the change");
        let host = net.hosts[&id];
        net.sim.with_controller(host, |c, _, _| {
            let p = c.as_any().downcast_mut::<SimP2p>().unwrap().p2p().unwrap();
            assert_eq!(p.solves(), 0, "edge {id} solves nothing");
            // Honest reports across the change are never refused, so no
            // link expired: every edge still has all six.
            assert_eq!(p.reports_rejected(), 0, "edge {id}");
            assert_eq!(p.latencies().len(), 6, "edge {id}: {:?}", p.latencies());
        });
    }
    assert_eq!(net.exchange(5), 10);
}

#[test]
fn p2p_without_static_mode_solves_past_the_table() {
    let mut net = Net::p2p_mode(false);
    net.delays(5, 50);
    net.sim.run_for(secs(15));
    for (s, d) in [(A, B), (B, A)] {
        assert_eq!(net.next_hop(s, d), Some(d), "{s}→{d} direct");
    }
    assert_eq!(net.exchange(5), 0);
}

#[test]
fn a_peer_added_live_needs_routes_in_the_static_table() {
    let peers = || IDS.iter().map(|&id| super_peer(id)).collect();
    let core = |table| SuperCore::new(core_config(true, table), peers(), origin());
    let err = core(forced_relay())
        .add_peer(origin(), super_peer(9))
        .unwrap_err();
    let text = format!("{err:?}");
    assert!(
        text.contains("NextHopTable[") && text.contains("StaticMode"),
        "{text}"
    );
    // A table that already routes 9 (directly, both ways) takes it.
    let mut table = forced_relay();
    for id in IDS {
        table.entry(n(id)).or_default().insert(n(9), n(9));
        table.entry(n(9)).or_default().insert(n(id), n(id));
    }
    let mut c = core(table);
    c.add_peer(origin(), super_peer(9)).unwrap();
    assert!(c.peers().iter().any(|p| p.node_id == n(9)));
    // Without StaticMode the solver routes whoever joins.
    SuperCore::new(core_config(false, forced_relay()), peers(), origin())
        .add_peer(origin(), super_peer(9))
        .unwrap();
}
