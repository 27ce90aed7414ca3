//! The honesty check (`control::honesty`) fed by the real estimators
//! (`node::LinkQuality`) of a link's two ends, across a step of the link's
//! delays: every pair of one-way delays before and after (1–400 ms, one
//! direction or both, up or down), any ping phases, clock offsets and step
//! instant. Each end pings every second, echoes the other's last ping (the
//! round trip, as the node does) and reports its estimate at once; no
//! honest report may be counted as rejected, and the estimates end at the
//! new delays. No network: a tiny event loop on a virtual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::{Duration, Instant};

use egd::NodeId;
use egd::control::honesty::{Honesty, Tolerance};
use egd::node::LinkQuality;
use proptest::prelude::*;

const MS: i64 = 1_000_000;
const PING_MS: i64 = 1000;
const RUN_MS: i64 = 40_000;

#[allow(clippy::disallowed_methods)] // the run's origin; only differences matter
fn origin() -> Instant {
    Instant::now()
}

/// One link: two ends, 0 and 1.
struct Case {
    /// One-way delay (ms) of direction `i` (0: 0→1, 1: 1→0) before and
    /// after the step.
    before: [i64; 2],
    after: [i64; 2],
    step_ms: i64,
    /// First ping of each end (ms).
    phase: [i64; 2],
    /// Each end's clock offset (ms).
    offset: [i64; 2],
}

#[derive(Clone, Copy)]
struct Ping {
    from: usize,
    id: u32,
    sent_ms: i64,
    arrives_ms: i64,
    /// The echo: when the receiver's last ping to `from` was sent (true
    /// time), and how long `from` held it.
    echo: Option<(i64, i64)>,
}

/// Runs the case; returns the rejections counted and each end's final
/// estimate of its incoming direction (one-way ns, offsets included).
fn run(c: &Case) -> (u64, [i64; 2]) {
    let t0 = origin();
    let at = |ms: i64| t0 + Duration::from_millis(u64::try_from(ms).unwrap());
    let delay = |dir: usize, sent: i64| {
        if sent < c.step_ms {
            c.before[dir]
        } else {
            c.after[dir]
        }
    };
    let mut h = Honesty::new(Tolerance::default());
    h.set_settle(Duration::from_millis(PING_MS as u64));
    let mut q = [LinkQuality::default(), LinkQuality::default()];
    // Per end: the other's last ping (true send time, arrival here).
    let mut heard: [Option<(i64, i64)>; 2] = [None, None];
    let mut next_send = c.phase;
    let mut ids = [1u32, 1u32];
    let mut flight: Vec<Ping> = Vec::new();
    let ids_of = [NodeId::new(1).unwrap(), NodeId::new(2).unwrap()];
    loop {
        // The next event: a send (ends in order) or the earliest arrival.
        let send = (0..2).min_by_key(|e| next_send[*e]).unwrap();
        let arrival = flight
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| (p.arrives_ms, p.sent_ms))
            .map(|(i, p)| (i, p.arrives_ms));
        let now = match arrival {
            Some((_, a)) if a <= next_send[send] => a,
            _ => next_send[send],
        };
        if now > RUN_MS {
            break;
        }
        match arrival {
            Some((i, a)) if a == now => {
                let p = flight.swap_remove(i);
                let to = 1 - p.from;
                heard[to] = Some((p.sent_ms, p.arrives_ms));
                let one_way = (p.arrives_ms + c.offset[to] - p.sent_ms - c.offset[p.from]) * MS;
                let rtt = p.echo.map(|(sent, hold)| (p.arrives_ms - sent - hold) * MS);
                let sent_stamp = (p.sent_ms + c.offset[p.from]) * MS;
                q[to].on_ping(at(now), p.id, sent_stamp, one_way, rtt);
                let cost = q[to]
                    .cost(&egd::node::CostWeights::default())
                    .expect("pinged");
                h.check(
                    at(now),
                    ids_of[p.from],
                    ids_of[to],
                    cost.one_way_ns,
                    cost.rtt_ns,
                    Duration::from_secs(10),
                );
            }
            _ => {
                let from = send;
                let echo = heard[from].map(|(sent, arrived)| (sent, now - arrived));
                flight.push(Ping {
                    from,
                    id: ids[from],
                    sent_ms: now,
                    arrives_ms: now + delay(from, now),
                    echo,
                });
                ids[from] += 1;
                next_send[from] += PING_MS;
            }
        }
    }
    let est = |end: usize| {
        q[end]
            .cost(&egd::node::CostWeights::default())
            .unwrap()
            .one_way_ns
    };
    (h.rejected(), [est(1), est(0)])
}

fn delay_ms() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(1i64),
        Just(5),
        Just(50),
        Just(200),
        Just(400),
        1i64..=400
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn honest_ends_are_never_rejected_across_a_step(
        before in [delay_ms(), delay_ms()],
        after in [delay_ms(), delay_ms()],
        one_direction in any::<bool>(),
        step_ms in 15_000i64..17_000,
        phase in [0i64..PING_MS, 0i64..PING_MS],
        offset in [-5_000i64..5_000, -5_000i64..5_000],
    ) {
        // Half the cases step one direction only.
        let after = if one_direction { [after[0], before[1]] } else { after };
        let c = Case { before, after, step_ms, phase, offset };
        let (rejected, est) = run(&c);
        prop_assert_eq!(rejected, 0, "before {:?} after {:?}", before, after);
        for dir in 0..2 {
            let truth = (after[dir] + c.offset[1 - dir] - c.offset[dir]) * MS;
            prop_assert!(
                (est[dir] - truth).abs() <= MS,
                "direction {}: estimate {} ns, truth {} ns", dir, est[dir], truth
            );
        }
    }
}

/// The case that was first seen (a relay's links 50 → 200 ms each way),
/// and its reverse, at fixed phases: also nothing rejected.
#[test]
fn fifty_to_two_hundred_and_back() {
    for (before, after) in [([50, 50], [200, 200]), ([200, 200], [50, 50])] {
        let c = Case {
            before,
            after,
            step_ms: 16_000,
            phase: [0, 500],
            offset: [0, 0],
        };
        assert_eq!(run(&c).0, 0, "{before:?} → {after:?}");
    }
}
