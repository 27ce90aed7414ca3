//! Router: stability rules end to end on a virtual clock (a base `Instant`
//! plus `Duration`s; the clock is read once, in `t0`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::{Rng, id, spec};
use egd_routing::{
    Latency, ManualEndpoint, ManualLatency, NextHopTable, NodeId, Router, RouterConfig,
    RouterEvent, StabilitySettings, solve,
};
use std::time::{Duration, Instant};

#[allow(clippy::disallowed_methods)] // the one clock read: a base for virtual time
fn t0() -> Instant {
    Instant::now()
}

fn ms(x: i64) -> Latency {
    Latency::from_micros(x * 1000).unwrap()
}

const TTL: Duration = Duration::from_secs(60);

fn settings() -> StabilitySettings {
    StabilitySettings {
        jitter_tolerance: ms(5),
        jitter_tolerance_multiplier: 1.0,
        damping_filter_radius: 0,
        recalculate_cool_down: Duration::from_secs(5),
        timeout_check_interval: Duration::from_secs(10),
        // Off here; `hysteresis.rs` in this directory tests it.
        hysteresis_absolute: Latency::ZERO,
        hysteresis_relative: 0.0,
    }
}

fn router(now: Instant) -> Router {
    Router::new(
        RouterConfig {
            stability: settings(),
            ..RouterConfig::default()
        },
        now,
    )
}

fn recomputed(r: &mut Router) -> usize {
    std::iter::from_fn(|| r.poll_event())
        .filter(|e| matches!(e, RouterEvent::Recomputed { .. }))
        .count()
}

/// 1→2→3 (10 + 10 ms) against a direct 1→3.
fn triangle(r: &mut Router, now: Instant, direct: i64) {
    r.handle_report(now, id(1), id(2), ms(10), TTL);
    r.handle_report(now, id(2), id(3), ms(10), TTL);
    r.handle_report(now, id(1), id(3), ms(direct), TTL);
}

#[test]
fn appearing_edges_recompute_at_once() {
    let t = t0();
    let mut r = router(t);
    triangle(&mut r, t, 30);
    assert_eq!(
        recomputed(&mut r),
        3,
        "each new edge recomputes immediately"
    );
    assert_eq!(r.next_hop(id(1), id(3)), Some(id(2)));
}

#[test]
fn weight_changes_wait_for_the_cool_down() {
    let t = t0();
    let mut r = router(t);
    triangle(&mut r, t, 30);
    recomputed(&mut r);
    // 1→3 improves to 15 ms one second later: significant, but cooling down.
    let t1 = t + Duration::from_secs(1);
    r.handle_report(t1, id(1), id(3), ms(15), TTL);
    assert_eq!(recomputed(&mut r), 0);
    assert_eq!(r.next_hop(id(1), id(3)), Some(id(2)));
    assert_eq!(
        r.poll_timeout(),
        Some((t + Duration::from_secs(5), "recalculate cool-down"))
    );
    r.handle_timeout(t + Duration::from_secs(4)); // early: harmless
    assert_eq!(recomputed(&mut r), 0);
    r.handle_timeout(t + Duration::from_secs(5));
    assert_eq!(recomputed(&mut r), 1);
    assert_eq!(r.next_hop(id(1), id(3)), Some(id(3)));
    assert_eq!(
        r.poll_timeout(),
        Some((t + Duration::from_secs(10), "edge expiry sweep"))
    );
}

#[test]
fn changes_within_tolerance_do_not_recompute() {
    let t = t0();
    let mut r = router(t);
    triangle(&mut r, t, 30);
    recomputed(&mut r);
    let later = t + Duration::from_secs(30);
    // 30 → 26 ms: |diff| 4 ≤ t = 5 ms.
    r.handle_report(later, id(1), id(3), ms(26), TTL);
    assert_eq!(
        r.poll_timeout(),
        Some((t + Duration::from_secs(10), "edge expiry sweep"))
    );
    r.handle_timeout(later);
    assert_eq!(recomputed(&mut r), 0);
    // 30 → 19 ms is significant, and the cool-down has long passed.
    r.handle_report(later, id(1), id(3), ms(19), TTL);
    assert_eq!(recomputed(&mut r), 1);
    assert_eq!(r.next_hop(id(1), id(3)), Some(id(3)));
}

#[test]
fn expired_edges_are_swept_and_recompute() {
    let t = t0();
    let mut r = router(t);
    r.handle_report(t, id(1), id(2), ms(10), Duration::from_secs(15));
    r.handle_report(t, id(2), id(1), ms(10), Duration::from_secs(60));
    recomputed(&mut r);
    r.handle_timeout(t + Duration::from_secs(10)); // first sweep: still valid
    assert_eq!(recomputed(&mut r), 0);
    assert_eq!(r.next_hop(id(1), id(2)), Some(id(2)));
    assert_eq!(
        r.poll_timeout(),
        Some((t + Duration::from_secs(20), "edge expiry sweep"))
    );
    r.handle_timeout(t + Duration::from_secs(20));
    assert_eq!(recomputed(&mut r), 1);
    assert_eq!(r.next_hop(id(1), id(2)), None);
    assert_eq!(r.next_hop(id(2), id(1)), Some(id(1)));
}

#[test]
fn damping_filter_ignores_a_spike() {
    let t = t0();
    let mut r = Router::new(
        RouterConfig {
            stability: StabilitySettings {
                damping_filter_radius: 1,
                ..settings()
            },
            ..RouterConfig::default()
        },
        t,
    );
    triangle(&mut r, t, 15);
    let later = t + Duration::from_secs(30);
    for x in [15, 15] {
        r.handle_report(later, id(1), id(3), ms(x), TTL);
    }
    recomputed(&mut r);
    // One 100 ms spike: the median of (15, 15, 100) is 15.
    r.handle_report(later + Duration::from_secs(10), id(1), id(3), ms(100), TTL);
    assert_eq!(r.graph().edge(id(1), id(3)), Some(ms(15)));
    assert_eq!(recomputed(&mut r), 0);
    assert_eq!(r.next_hop(id(1), id(3)), Some(id(3)));
}

#[test]
fn manual_latency_overrides_reports() {
    let t = t0();
    let mut manual = ManualLatency::new();
    manual.insert(
        ManualEndpoint::from_raw(1).unwrap(),
        ManualEndpoint::from_raw(65535).unwrap(),
        Latency::from_millis_f64(1.5).unwrap(),
    );
    let mut r = Router::new(
        RouterConfig {
            stability: settings(),
            manual,
            ..RouterConfig::default()
        },
        t,
    );
    triangle(&mut r, t, 30);
    assert_eq!(
        r.graph().edge(id(1), id(3)),
        Some(Latency::from_micros(1_500).unwrap())
    );
    assert_eq!(r.next_hop(id(1), id(3)), Some(id(3)));
    assert_eq!(r.graph().edge(id(2), id(3)), Some(ms(10)));
}

#[test]
fn static_mode_serves_the_configured_table() {
    let t = t0();
    let table: NextHopTable = [(1, 3, 2), (2, 3, 3)]
        .into_iter()
        .map(|(s, d, n)| (id(s), id(d), id(n)))
        .collect();
    let mut r = Router::new(
        RouterConfig {
            stability: settings(),
            static_table: Some(table.clone()),
            ..RouterConfig::default()
        },
        t,
    );
    triangle(&mut r, t, 1);
    assert_eq!(r.next_hop_table(), &table);
    assert_eq!(r.state_hash(), table.state_hash());
    assert!(r.solution().is_none());
    assert_eq!(r.poll_event(), None);
}

/// A clock stepped between two samples: the stale one goes, not a clamp.
#[test]
fn a_negative_cycle_discards_the_stalest_sample_and_solves_again() {
    let t = t0();
    let mut r = router(t);
    // 1 ⇄ 2, 10 ms each way, and 2 → 3 so there is something to route.
    r.handle_report(t, id(1), id(2), ms(10), TTL);
    r.handle_report(t, id(2), id(1), ms(10), TTL);
    r.handle_report(t, id(2), id(3), ms(10), TTL);
    r.handle_report(t, id(3), id(2), ms(10), TTL);
    recomputed(&mut r);
    // Node 2's clock steps 50 ms back: its fresh sample of 1 → 2 reads
    // −40 ms, while 2 → 1 (measured by 1 before the step was visible in
    // any sample of it) still says 10: 1 → 2 → 1 sums to −30 ms.
    let later = t + Duration::from_secs(6);
    r.handle_report(later, id(1), id(2), ms(-40), TTL);
    let events: Vec<RouterEvent> = std::iter::from_fn(|| r.poll_event()).collect();
    assert!(
        matches!(
            &events[..],
            [
                RouterEvent::Inconsistent(c),
                RouterEvent::Discarded { src, dst },
                RouterEvent::Recomputed { .. },
            ] if c.edges.len() == 2 && (*src, *dst) == (id(2), id(1))
        ),
        "{events:?}"
    );
    // The fresh sample is in force (no clamping), the stale one is gone.
    assert_eq!(r.graph().edge(id(1), id(2)), Some(ms(-40)));
    assert_eq!(r.graph().edge(id(2), id(1)), None);
    assert_eq!(r.next_hop(id(1), id(2)), Some(id(2)));
    assert_eq!(
        r.next_hop(id(2), id(1)),
        None,
        "until 2 → 1 is measured again"
    );
    // Its fresh sample (+60 ms after the step) is consistent: back in.
    r.handle_report(later, id(2), id(1), ms(60), TTL);
    assert!(recomputed(&mut r) >= 1);
    assert_eq!(r.next_hop(id(2), id(1)), Some(id(1)));
    assert_eq!(r.graph().edge(id(2), id(1)), Some(ms(60)));
}

/// Many reports through the router (incremental and full paths mixed) end
/// with the same table as one solve of the final graph.
#[test]
fn router_table_equals_a_fresh_solve() {
    let t = t0();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..16 {
        let spec = proptest::strategy::ValueTree::current(
            &proptest::strategy::Strategy::new_tree(&spec(24), &mut runner).unwrap(),
        );
        let mut r = Router::new(
            RouterConfig {
                stability: StabilitySettings {
                    jitter_tolerance: Latency::ZERO,
                    jitter_tolerance_multiplier: 1.0,
                    damping_filter_radius: 0,
                    recalculate_cool_down: Duration::ZERO,
                    timeout_check_interval: Duration::from_secs(3600),
                    hysteresis_absolute: Latency::ZERO,
                    hysteresis_relative: 0.0,
                },
                ..RouterConfig::default()
            },
            t,
        );
        let mut rng = Rng(7);
        let g = spec.graph();
        for &(s, d, _) in &spec.edges {
            let (s, d) = (spec.ids[s], spec.ids[d]);
            // Report a perturbed value first, then the real one.
            let w = g.edge(s, d).unwrap();
            let off = Latency::from_micros(w.as_micros() + (rng.next() % 3_000) as i64).unwrap();
            r.handle_report(t, s, d, off, TTL);
            r.handle_report(t, s, d, w, TTL);
        }
        for (i, &node) in spec.ids.iter().enumerate() {
            r.handle_additional_cost(t, node, Latency::from_micros(spec.additional[i]).unwrap());
        }
        let fresh = solve(&r.graph().snapshot()).unwrap();
        assert_eq!(r.next_hop_table(), &fresh.next_hop_table());
        let _: Vec<NodeId> = r.graph().nodes().collect();
    }
}

/// With a burst window, edges appearing together cost one solve each
/// window, not one each; the rest waits for `poll_timeout`.
#[test]
fn a_burst_of_appearing_edges_is_solved_once_per_window() {
    let t = t0();
    let mut r = router(t);
    r.set_burst_window(egd_routing::BURST_WINDOW);
    triangle(&mut r, t, 30);
    assert_eq!(recomputed(&mut r), 1, "the first at once, the others wait");
    let (due, why) = r.poll_timeout().unwrap();
    assert_eq!(
        (due, why),
        (t + egd_routing::BURST_WINDOW, "burst of changes")
    );
    r.handle_timeout(due);
    assert_eq!(recomputed(&mut r), 1);
    assert_eq!(r.next_hop(id(1), id(3)), Some(id(2)), "all three edges in");
}
