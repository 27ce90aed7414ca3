//! Honest reports across delay steps (simulated network, virtual clock):
//! a 3-node mesh (A, B, relay R) in solver mode, P2P and super, whose
//! link delays step up and down — one direction or both, 1 ms ↔ 400 ms.
//! No honest report may be rejected by the round-trip cross-check
//! (`control::honesty`), no link may expire out of any graph, and routes
//! must follow the new latencies.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeMap;

use egd::config::{GraphSettings, StaticNextHops};
use egd::sim::{Link, SimP2p};

use crate::support::sim::{ms, p2p_config, quick_graph, secs, super_core_config};

const A: u16 = 1;
const B: u16 = 2;
const R: u16 = 3;
const IDS: [u16; 3] = [A, B, R];

fn graph() -> GraphSettings {
    quick_graph()
}

use crate::support::sim::Mesh as Net;

impl Net {
    fn super_seeded(seed: u64) -> Net {
        Net::new_super(seed, &IDS, super_core_config(graph()))
    }

    fn p2p_seeded(seed: u64) -> Net {
        Net::new_p2p(seed, &IDS, |id| {
            p2p_config(id, graph(), StaticNextHops::new())
        })
    }

    /// One direction's delay.
    fn delay(&mut self, from: u16, to: u16, one_way_ms: u64) {
        let (f, t) = (self.hosts[&from], self.hosts[&to]);
        self.sim.set_link(f, t, Link::with_delay(ms(one_way_ms)));
    }

    /// Rejected reports, summed over every checker (each P2P edge, or the
    /// supernode).
    fn rejected(&mut self) -> u64 {
        if let Some(core) = &self.core {
            return core.borrow().reports_rejected();
        }
        let mut sum = 0;
        for id in IDS {
            let h = self.hosts[&id];
            sum += self
                .sim
                .with_controller(h, |c, _, _| {
                    c.as_any()
                        .downcast_mut::<SimP2p>()
                        .unwrap()
                        .p2p()
                        .unwrap()
                        .reports_rejected()
                })
                .unwrap();
        }
        sum
    }

    /// Each graph's links, as `(src, dst) → ms`, keyed by the graph's
    /// owner (0 = the supernode).
    fn graphs(&mut self) -> BTreeMap<u16, BTreeMap<(u16, u16), f64>> {
        let mut out = BTreeMap::new();
        if let Some(core) = &self.core {
            let state = core.borrow().state();
            let mut g = BTreeMap::new();
            for (s, row) in &state.Edges {
                for (d, l) in row {
                    g.insert((*s, *d), l * 1e3);
                }
            }
            out.insert(0, g);
            return out;
        }
        for id in IDS {
            let h = self.hosts[&id];
            let g = self
                .sim
                .with_controller(h, |c, _, _| {
                    let p = c.as_any().downcast_mut::<SimP2p>().unwrap().p2p().unwrap();
                    p.latencies()
                        .into_iter()
                        .map(|(s, d, l)| ((s.get(), d.get()), l.as_secs_f64() * 1e3))
                        .collect::<BTreeMap<_, _>>()
                })
                .unwrap();
            out.insert(id, g);
        }
        out
    }
}

/// One step of the scenario: one-way delays (ms) per directed link, and
/// the hop A takes toward B once the estimates settled.
struct Step {
    delays: &'static [(u16, u16, u64)],
    a_to_b_via: u16,
}

const BOTH: [(u16, u16); 6] = [(A, B), (B, A), (A, R), (R, A), (B, R), (R, B)];

/// Steps up and down, both directions and one, 1 ms ↔ 400 ms.
const STEPS: &[Step] = &[
    // The relay's links jump from 50 to 200 ms (the case first seen).
    Step {
        delays: &[
            (A, B, 1),
            (B, A, 1),
            (A, R, 200),
            (R, A, 200),
            (B, R, 200),
            (R, B, 200),
        ],
        a_to_b_via: B,
    },
    // One direction only, down: R→A back to 50 ms.
    Step {
        delays: &[(R, A, 50)],
        a_to_b_via: B,
    },
    // The direct link becomes the slow one, the relay's the fast ones.
    Step {
        delays: &[
            (A, B, 400),
            (B, A, 400),
            (A, R, 1),
            (R, A, 1),
            (B, R, 1),
            (R, B, 1),
        ],
        a_to_b_via: R,
    },
    // One direction only, up by 400×: A→R.
    Step {
        delays: &[(A, R, 400)],
        a_to_b_via: B,
    },
    // And back down.
    Step {
        delays: &[(A, R, 1)],
        a_to_b_via: R,
    },
    // Everything back to 1 ms / 400 ms the other way round.
    Step {
        delays: &[
            (A, B, 1),
            (B, A, 1),
            (A, R, 400),
            (R, A, 400),
            (B, R, 400),
            (R, B, 400),
        ],
        a_to_b_via: B,
    },
];

/// Seconds after a step by which every graph holds the new delays: two
/// pings to follow the level shift, one whose echo spans it, the reports'
/// way (measured: 3–4 s with pings every second).
const SETTLED: u64 = 5;

/// Runs [`STEPS`] on `net`: after each, 15 s checked every second — no
/// report rejected, every graph keeps all six links and holds the new
/// delays from [`SETTLED`] s on — then A routes to B as they say.
fn steps_keep_every_link(mut net: Net) {
    for (x, y) in BOTH {
        net.delay(x, y, 10);
    }
    net.sim.run_for(secs(15));
    let mut truth: BTreeMap<(u16, u16), u64> = BOTH.iter().map(|l| (*l, 10)).collect();
    assert_eq!(net.rejected(), 0, "before any step");
    for (i, step) in STEPS.iter().enumerate() {
        for &(x, y, d) in step.delays {
            net.delay(x, y, d);
            truth.insert((x, y), d);
        }
        for s in 1..=15 {
            net.sim.run_for(secs(1));
            assert_eq!(
                net.rejected(),
                0,
                "step {i}, {s} s after: honest reports rejected"
            );
            for (owner, g) in net.graphs() {
                assert_eq!(g.len(), 6, "step {i}, {s} s after: graph of {owner}: {g:?}");
                if s < SETTLED {
                    continue;
                }
                for (link, ms) in &truth {
                    // Delay plus the jitter term (none here), held within
                    // the reporter's dead band.
                    let (got, want) = (g[link], *ms as f64);
                    assert!(
                        (got - want).abs() <= 2.0 + want * 0.03,
                        "step {i}, {s} s after: graph of {owner}: {link:?} is {got} ms, \
                         the link {want} ms"
                    );
                }
            }
        }
        assert_eq!(net.next_hop(A, B), Some(step.a_to_b_via), "step {i}: A→B");
    }
}

#[test]
fn p2p_honest_reports_pass_across_delay_steps() {
    steps_keep_every_link(Net::p2p_seeded(12));
}

#[test]
fn super_honest_reports_pass_across_delay_steps() {
    steps_keep_every_link(Net::super_seeded(11));
}
