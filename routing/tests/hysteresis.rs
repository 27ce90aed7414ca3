//! Path hysteresis through the router: near-equal paths do not flap, a
//! significant improvement switches, a lost path switches at once, and on
//! random graphs with random jitter every table stays loop-free.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::{Rng, id, spec};
use egd_routing::{Latency, PathError, Router, RouterConfig, StabilitySettings, solve};
use std::time::{Duration, Instant};

#[allow(clippy::disallowed_methods)] // the one clock read: a base for virtual time
fn t0() -> Instant {
    Instant::now()
}

fn ms(x: i64) -> Latency {
    Latency::from_micros(x * 1000).unwrap()
}

const TTL: Duration = Duration::from_secs(3600);

fn router(now: Instant, absolute: Latency, relative: f64) -> Router {
    Router::new(
        RouterConfig {
            stability: StabilitySettings {
                jitter_tolerance: Latency::ZERO,
                jitter_tolerance_multiplier: 1.0,
                damping_filter_radius: 0,
                recalculate_cool_down: Duration::ZERO,
                timeout_check_interval: Duration::from_secs(3600),
                hysteresis_absolute: absolute,
                hysteresis_relative: relative,
            },
            ..RouterConfig::default()
        },
        now,
    )
}

/// 1→2→4 and 1→3→4, 10 + 10 ms each, and the way back 4→1 direct.
fn diamond(r: &mut Router, now: Instant) {
    for (s, d) in [(1, 2), (2, 4), (1, 3), (3, 4), (4, 1)] {
        r.handle_report(now, id(s), id(d), ms(10), TTL);
    }
}

#[test]
fn near_equal_paths_keep_the_hop_and_a_clear_gain_switches() {
    let t = t0();
    let mut r = router(t, ms(2), 0.05);
    diamond(&mut r, t);
    assert_eq!(r.next_hop(id(1), id(4)), Some(id(2)), "lowest id on a tie");
    // Via 3 gets 1.5 ms better: within 2 ms, the hop stays.
    r.handle_report(t, id(3), id(4), Latency::from_micros(8_500).unwrap(), TTL);
    assert_eq!(r.next_hop(id(1), id(4)), Some(id(2)));
    // Via 2 gets 1 ms worse (2.5 ms in all): beyond 2 ms (5 % of a 20 ms
    // half round trip is 1 ms), it switches.
    r.handle_report(t, id(2), id(4), ms(11), TTL);
    assert_eq!(r.next_hop(id(1), id(4)), Some(id(3)));
    // And it does not switch back for a small gain either.
    r.handle_report(t, id(2), id(4), ms(10), TTL);
    assert_eq!(r.next_hop(id(1), id(4)), Some(id(3)));
}

#[test]
fn relative_margin_scales_with_the_round_trip_not_the_clock_offset() {
    let t = t0();
    let mut r = router(t, Latency::ZERO, 0.05);
    // Node 4's clock is 5 s ahead: every edge into it reads +5 s, out of it −5 s.
    let skew = 5_000;
    for (s, d, w) in [
        (1, 2, 100),
        (2, 4, 100 + skew),
        (1, 3, 100),
        (3, 4, 100 + skew),
        (4, 1, 200 - skew),
    ] {
        r.handle_report(t, id(s), id(d), ms(w), TTL);
    }
    assert_eq!(r.next_hop(id(1), id(4)), Some(id(2)));
    // Round trip 400 ms: margin 10 ms. 8 ms better stays…
    r.handle_report(t, id(3), id(4), ms(92 + skew), TTL);
    assert_eq!(r.next_hop(id(1), id(4)), Some(id(2)));
    // …12 ms better switches (a margin on the 5.2 s measured cost would not).
    r.handle_report(t, id(3), id(4), ms(88 + skew), TTL);
    assert_eq!(r.next_hop(id(1), id(4)), Some(id(3)));
}

#[test]
fn a_lost_path_switches_at_once_and_zero_turns_hysteresis_off() {
    let t = t0();
    let mut r = router(t, ms(2), 0.05);
    diamond(&mut r, t);
    r.handle_link_down(t, id(2), id(4));
    assert_eq!(r.next_hop(id(1), id(4)), Some(id(3)));

    let mut off = router(t, Latency::ZERO, 0.0);
    diamond(&mut off, t);
    off.handle_report(t, id(3), id(4), Latency::from_micros(9_900).unwrap(), TTL);
    assert_eq!(off.next_hop(id(1), id(4)), Some(id(3)));
}

/// Random graphs (with clock offsets up to ±10 s and additional costs), fed
/// round after round of jittered weights, with small and large margins:
/// every pair the solver can route has a next hop, every path reaches its
/// destination (no loop), no walked path costs more than the pair's margin
/// over the optimum, and every source's broadcast reaches every node it can
/// reach exactly once.
#[test]
fn tables_stay_loop_free_under_random_jitter() {
    let t = t0();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut kept = 0usize;
    for case in 0..48 {
        let spec = proptest::strategy::ValueTree::current(
            &proptest::strategy::Strategy::new_tree(&spec(20), &mut runner).unwrap(),
        );
        let (abs, rel) = if case % 2 == 0 {
            (ms(2), 0.05)
        } else {
            (ms(50), 0.5)
        };
        let mut r = router(t, abs, rel);
        for (i, &node) in spec.ids.iter().enumerate() {
            r.handle_additional_cost(t, node, Latency::from_micros(spec.additional[i]).unwrap());
        }
        let mut rng = Rng(case as u64 * 2 + 1);
        for round in 0..12 {
            for &(s, d, w) in &spec.edges {
                // Up to +20 % (and +3 ms) on the true delay; never negative.
                let noisy = w + (rng.unit() * (0.2 * w as f64 + 3_000.0)) as i64;
                let measured = noisy + spec.theta[d] - spec.theta[s];
                let now = t + Duration::from_millis(round);
                r.handle_report(
                    now,
                    spec.ids[s],
                    spec.ids[d],
                    Latency::from_micros(measured).unwrap(),
                    TTL,
                );
            }
            let fresh = solve(&r.graph().snapshot()).unwrap();
            let table = r.next_hop_table();
            for &s in &spec.ids {
                for &d in &spec.ids {
                    if s == d {
                        continue;
                    }
                    let want = fresh.next_hop(s, d);
                    assert_eq!(
                        table.next_hop(s, d).is_some(),
                        want.is_some(),
                        "{s:?}→{d:?}"
                    );
                    if want.is_none() {
                        continue;
                    }
                    kept += usize::from(table.next_hop(s, d) != want);
                    match table.path(s, d) {
                        Ok(p) => {
                            assert_eq!(p.last(), Some(&d));
                            // The walked path's cost: within the margin.
                            let g = r.graph();
                            let walked: i64 = p
                                .windows(2)
                                .map(|w| {
                                    let transit = if w[1] == d {
                                        0
                                    } else {
                                        g.additional_cost(w[1]).as_micros()
                                    };
                                    g.edge(w[0], w[1]).unwrap().as_micros() + transit
                                })
                                .sum();
                            let best = fresh.distance(s, d).unwrap().as_micros();
                            let rtt = fresh.distance(d, s).map(|b| best + b.as_micros());
                            let margin = (abs.as_micros() as f64)
                                .max(rtt.map_or(0.0, |x| rel * x as f64 / 2.0));
                            assert!(
                                (walked - best) as f64 <= margin,
                                "case {case}: {s:?}→{d:?} costs {walked} µs, best {best}, margin {margin}"
                            );
                        }
                        Err(e @ (PathError::Loop { .. } | PathError::Unreachable { .. })) => {
                            panic!("case {case} round {round}: {e:?}")
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                }
            }
            // Broadcasts from every source reach every reachable node once.
            for &src in &spec.ids {
                let mut got = vec![src];
                let mut queue = vec![(src, src)];
                while let Some((me, from)) = queue.pop() {
                    for c in table.forward_set(me, from, src) {
                        assert!(!got.contains(&c), "case {case}: {c:?} twice from {src:?}");
                        got.push(c);
                        queue.push((c, me));
                    }
                }
                let reachable = 1 + spec
                    .ids
                    .iter()
                    .filter(|&&d| fresh.next_hop(src, d).is_some())
                    .count();
                assert_eq!(got.len(), reachable, "case {case}: broadcast from {src:?}");
            }
        }
    }
    assert!(kept > 0, "the rule was exercised ({kept} kept hops)");
}
