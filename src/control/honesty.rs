//! Honest reports (issue 10): a link's two one-way reports must add up to
//! the round trip its ends measured. The clock offset in `OWD(a→b)` is
//! the opposite of the one in `OWD(b→a)`, so their sum is offset-free and
//! should match the round trip each end gets from its ping echoes
//! (link_cost.rs). A pair that disagrees by more than the tolerance —
//! `max(5 ms, 20 % of the round trip)` by default — has a stale sample, a
//! stepped clock or a lying reporter in it; the report that found the
//! disagreement is ignored (the router keeps what it had, until it expires)
//! and counted (`egd_reports_rejected_total`).
//!
//! Drive it with [`Honesty::check`] for every report before the router
//! sees it; it remembers the latest claim per direction, accepted or not,
//! so a pair becomes usable again as soon as fresh samples agree.
//!
//! Reports without a round trip (older edges) cannot be checked and pass.
//!
//! Each report is checked against its reporter's own round trip (the other
//! end's if it sent none): that one moves with the reporter's one-way
//! samples when the link changes, so honest reports pass during the
//! change. A reporter lying about its one-way delay must then also lie
//! about its round trip, and the other end's next report — checked
//! against the other end's honest round trip — shows the disagreement:
//! the pair is counted and that report ignored. Catching which end lies is
//! left to the operator (the counter, and `manage/super/state`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::NodeId;

/// Most directed links remembered (bounded against a hostile reporter).
const MAX_SAMPLES: usize = 1 << 16;

/// How far the sum may stray from the round trip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub absolute: Duration,
    pub relative: f64,
}

impl Default for Tolerance {
    /// 5 ms or 20 % of the round trip, whichever is larger: well above the
    /// disagreement of two EWMAs of the same samples, well below a clock
    /// step or a report made up to attract traffic.
    fn default() -> Self {
        Self {
            absolute: Duration::from_millis(5),
            relative: 0.20,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    one_way_ns: i64,
    rtt_ns: Option<i64>,
    valid_until: Instant,
}

/// The latest claim per direction and the count of rejected reports.
#[derive(Debug, Default)]
pub struct Honesty {
    tolerance: Tolerance,
    samples: BTreeMap<(NodeId, NodeId), Sample>,
    rejected: u64,
}

impl Honesty {
    pub fn new(tolerance: Tolerance) -> Self {
        Self {
            tolerance,
            ..Self::default()
        }
    }

    /// A report of `from → to` (measured by `to`): its smoothed one-way
    /// delay, the round trip `to` measured (if any), valid for `valid_for`.
    /// True if it may be used; false if it contradicts the reverse report
    /// (counted).
    pub fn check(
        &mut self,
        now: Instant,
        from: NodeId,
        to: NodeId,
        one_way_ns: i64,
        rtt_ns: Option<i64>,
        valid_for: Duration,
    ) -> bool {
        let sample = Sample {
            one_way_ns,
            rtt_ns: rtt_ns.filter(|r| *r > 0),
            valid_until: now.checked_add(valid_for).unwrap_or(now),
        };
        if self.samples.len() < MAX_SAMPLES || self.samples.contains_key(&(from, to)) {
            self.samples.insert((from, to), sample);
        }
        let Some(back) = self
            .samples
            .get(&(to, from))
            .filter(|b| now < b.valid_until)
        else {
            return true;
        };
        // The reporter's own round trip: measured by the very pings that
        // measured its one-way delay, so a change of the link moves both
        // alike and a fresh report is not refused while the other end's
        // numbers catch up. Without one, the other end's.
        let Some(rtt) = sample.rtt_ns.or(back.rtt_ns) else {
            return true;
        };
        let sum = i128::from(one_way_ns) + i128::from(back.one_way_ns);
        let tol = (self.tolerance.absolute.as_nanos() as f64)
            .max(self.tolerance.relative.max(0.0) * rtt as f64);
        let honest = ((sum - i128::from(rtt)).abs() as f64) <= tol;
        if !honest {
            self.rejected += 1;
        }
        honest
    }

    /// Forgets both directions of every link of `node` (it left).
    pub fn forget_node(&mut self, node: NodeId) {
        self.samples.retain(|(a, b), _| *a != node && *b != node);
    }

    /// Forgets `from → to` (withdrawn).
    pub fn forget(&mut self, from: NodeId, to: NodeId) {
        self.samples.remove(&(from, to));
    }

    /// Reports ignored so far.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[allow(clippy::disallowed_methods)] // a test's origin; only differences matter
    fn origin() -> Instant {
        Instant::now()
    }

    fn n(v: u16) -> NodeId {
        NodeId::new(v).unwrap()
    }

    const MS: i64 = 1_000_000;
    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn consistent_pairs_pass_whatever_the_clock_offset() {
        let t = origin();
        let mut h = Honesty::new(Tolerance::default());
        // 10 ms there, 30 ms back, b's clock 4 s ahead of a's.
        assert!(h.check(t, n(1), n(2), 10 * MS + 4000 * MS, Some(40 * MS), TTL));
        assert!(h.check(t, n(2), n(1), 30 * MS - 4000 * MS, Some(41 * MS), TTL));
        assert_eq!(h.rejected(), 0);
        // Reports without a round trip cannot be checked.
        assert!(h.check(t, n(3), n(4), 0, None, TTL));
        assert!(h.check(t, n(4), n(3), 500 * MS, None, TTL));
    }

    #[test]
    fn a_disagreeing_pair_is_ignored_and_counted_until_it_agrees() {
        let t = origin();
        let mut h = Honesty::new(Tolerance::default());
        assert!(h.check(t, n(1), n(2), 10 * MS, Some(40 * MS), TTL));
        // b claims the link back is 20 ms faster than it is (the sum is
        // 20 ms, the round trip 40 ms: beyond max(5 ms, 8 ms)).
        assert!(!h.check(t, n(2), n(1), 10 * MS, Some(40 * MS), TTL));
        // … and so is a's next report, while b's claim stands.
        assert!(!h.check(t, n(1), n(2), 10 * MS, Some(40 * MS), TTL));
        assert_eq!(h.rejected(), 2);
        // Within tolerance (sum 46 ms against 40 ms: 6 ≤ 8 ms).
        assert!(h.check(t, n(2), n(1), 36 * MS, Some(40 * MS), TTL));
        // A stale reverse sample (expired) does not count against a new one.
        let later = t + TTL + Duration::from_secs(1);
        assert!(h.check(later, n(1), n(2), 90 * MS, Some(40 * MS), TTL));
        // A lie about the round trip to match (sum 80 ms, b claims 80 ms)
        // passes b's own check, but a's next report, against a's measured
        // 40 ms, shows the disagreement.
        assert!(h.check(later, n(2), n(1), -10 * MS, Some(80 * MS), TTL));
        assert!(!h.check(later, n(1), n(2), 90 * MS, Some(40 * MS), TTL));
        assert_eq!(h.rejected(), 3);
    }
}
