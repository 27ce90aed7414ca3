//! Honest reports (docs/routing.md#honest-reports): a link's two one-way reports must add up to
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
//! Reports without a round trip (rtt 0: its ends have not measured one
//! yet) cannot be checked and pass.
//!
//! Each report is checked against its reporter's own round trip (the other
//! end's if it sent none): that one moves with the reporter's one-way
//! samples when the link changes, so honest reports pass during the
//! change. A reporter lying about its one-way delay must then also lie
//! about its round trip, and the other end's next report — checked
//! against the other end's honest round trip — shows the disagreement:
//! the pair is counted and that report ignored. Catching which end lies is
//! left to the operator (the counter, and `manage/super/state`).
//!
//! # A link that changes: the settle window
//!
//! The two directions of a link are measured by its two ends, each from
//! the other's pings, and reported when each end's estimate moves. When
//! the link's delay steps, one end sees it first: its report (new one-way,
//! new round trip) meets the other end's report from before the step (old
//! one-way, old round trip). Their sum matches neither round trip — not a
//! lie, just two samples of two different links. Honest ends settle within
//! a few ping intervals: the lagging end follows a level shift after two
//! of the other end's pings (link_cost.rs) and reports the move at once.
//!
//! So a failing check is *deferred* rather than counted when the pair is
//! one that agreed: its last checked pass had both ends' round trips
//! agreeing too (both ends measured the same link), and that has not
//! expired. The change need not show in the round trips — a delay moving
//! from one direction to the other keeps them — only in the one-way
//! estimates, which the two ends follow at different pings. A deferred
//! report is not used either: the router keeps what it had, as for a
//! rejected one. The window lasts [`Honesty::set_settle`] (4 ping
//! intervals: two pings to follow the shift, one for the echo spanning it,
//! one for the report's way) from the pair's first deferred report; a pair
//! still disagreeing after it is counted as before, and a new window needs
//! the pair to agree again (a pass with both round trips agreeing) first.
//! Deferring changes only *when* a disagreement is counted (by at most the
//! window, once per agreement), never which reports are used — a lie is
//! refused (or, passing its own check, used) exactly as before. The price:
//! a reporter alternating brief lies with the truth may go uncounted,
//! though no report a check refuses is ever used. Widening the tolerance
//! instead would not do: a 50 → 200 ms step leaves a 150 ms gap for one or
//! two ping intervals, and a tolerance that wide would let most lies pass.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::NodeId;

/// Most directed links remembered (bounded against a hostile reporter).
const MAX_SAMPLES: usize = 1 << 16;
/// Settle window until [`Honesty::set_settle`] is called (4 pings of 1 s).
const DEFAULT_SETTLE: Duration = Duration::from_secs(4);

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

/// What the check knows of a link (both directions), keyed by its lower
/// id first.
#[derive(Debug, Clone, Copy)]
struct Pair {
    /// Until when the last agreement (a pass with both ends' round trips
    /// agreeing) stands: the earlier of the two samples' validity.
    agreed_until: Instant,
    /// End of the settle window, once a report was deferred.
    settle_until: Option<Instant>,
}

/// The latest claim per direction and the count of rejected reports.
#[derive(Debug)]
pub struct Honesty {
    tolerance: Tolerance,
    settle: Duration,
    samples: BTreeMap<(NodeId, NodeId), Sample>,
    pairs: BTreeMap<(NodeId, NodeId), Pair>,
    rejected: u64,
}

impl Default for Honesty {
    fn default() -> Self {
        Self::new(Tolerance::default())
    }
}

impl Honesty {
    pub fn new(tolerance: Tolerance) -> Self {
        Self {
            tolerance,
            settle: DEFAULT_SETTLE,
            samples: BTreeMap::new(),
            pairs: BTreeMap::new(),
            rejected: 0,
        }
    }

    /// Sets the settle window from the ping interval (module docs): four
    /// intervals.
    pub fn set_settle(&mut self, ping_interval: Duration) {
        self.settle = ping_interval.saturating_mul(4);
    }

    /// A report of `from → to` (measured by `to`): its smoothed one-way
    /// delay, the round trip `to` measured (if any), valid for `valid_for`.
    /// True if it may be used; false if it contradicts the reverse report
    /// (counted, unless deferred within a changed link's settle window).
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
        let back = *back;
        let sum = i128::from(one_way_ns) + i128::from(back.one_way_ns);
        let honest = self.within(sum, rtt);
        // Both ends' round trips, when both came: do they describe the
        // same link?
        let same_link = match (sample.rtt_ns, back.rtt_ns) {
            (Some(mine), Some(theirs)) => Some(self.within(i128::from(mine), theirs)),
            _ => None,
        };
        let key = (from.min(to), from.max(to));
        if honest {
            if same_link == Some(true) {
                let agreed_until = sample.valid_until.min(back.valid_until);
                if self.pairs.len() < MAX_SAMPLES || self.pairs.contains_key(&key) {
                    self.pairs.insert(
                        key,
                        Pair {
                            agreed_until,
                            settle_until: None,
                        },
                    );
                }
            }
            return true;
        }
        // The link changed between the two samples (module docs): defer,
        // within the settle window of a pair that agreed before.
        if let Some(pair) = self.pairs.get_mut(&key)
            && now < pair.agreed_until
        {
            let until = *pair
                .settle_until
                .get_or_insert(now.checked_add(self.settle).unwrap_or(now));
            if now < until {
                return false;
            }
        }
        self.rejected += 1;
        false
    }

    /// Whether `sum` is within the tolerance of `rtt`.
    fn within(&self, sum: i128, rtt: i64) -> bool {
        let tol = (self.tolerance.absolute.as_nanos() as f64)
            .max(self.tolerance.relative.max(0.0) * rtt as f64);
        ((sum - i128::from(rtt)).abs() as f64) <= tol
    }

    /// Forgets both directions of every link of `node` (it left).
    pub fn forget_node(&mut self, node: NodeId) {
        self.samples.retain(|(a, b), _| *a != node && *b != node);
        self.pairs.retain(|(a, b), _| *a != node && *b != node);
    }

    /// Forgets `from → to` (withdrawn).
    pub fn forget(&mut self, from: NodeId, to: NodeId) {
        self.samples.remove(&(from, to));
        self.pairs.remove(&(from.min(to), from.max(to)));
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

    #[test]
    fn a_link_that_changes_is_deferred_not_counted_while_its_ends_settle() {
        let t = origin();
        let s = Duration::from_secs(1);
        let mut h = Honesty::new(Tolerance::default());
        h.set_settle(s); // pings every second: a window of 4 s
        // 50 ms each way, both ends agree.
        assert!(h.check(t, n(1), n(2), 50 * MS, Some(100 * MS), TTL));
        assert!(h.check(t, n(2), n(1), 50 * MS, Some(100 * MS), TTL));
        // The link steps to 200 ms each way; 2 sees it first. Its report
        // meets 1's from before the step: not used, not counted.
        assert!(!h.check(t + s, n(1), n(2), 200 * MS, Some(400 * MS), TTL));
        // 1's refresh of its old numbers, the same.
        assert!(!h.check(t + s * 2, n(2), n(1), 50 * MS, Some(100 * MS), TTL));
        // 1 follows: the pair agrees again.
        assert!(h.check(t + s * 3, n(2), n(1), 200 * MS, Some(400 * MS), TTL));
        assert!(h.check(t + s * 3, n(1), n(2), 200 * MS, Some(400 * MS), TTL));
        assert_eq!(h.rejected(), 0);
        // The delay moves from one direction to the other (200/200 →
        // 1/399): the round trips stay, only 2's estimate moved yet.
        assert!(!h.check(t + s * 4, n(1), n(2), MS, Some(400 * MS), TTL));
        assert!(h.check(t + s * 4, n(2), n(1), 399 * MS, Some(400 * MS), TTL));
        assert!(h.check(t + s * 4, n(1), n(2), MS, Some(400 * MS), TTL));
        assert_eq!(h.rejected(), 0);
        // One direction alone to 49 ms: 1 sees it first, then 2.
        assert!(!h.check(t + s * 5, n(1), n(2), MS, Some(50 * MS), TTL));
        assert!(h.check(t + s * 5, n(2), n(1), 49 * MS, Some(50 * MS), TTL));
        assert!(h.check(t + s * 6, n(1), n(2), MS, Some(50 * MS), TTL));
        assert_eq!(h.rejected(), 0);
    }

    #[test]
    fn a_pair_that_does_not_settle_is_counted_after_the_window() {
        let t = origin();
        let s = Duration::from_secs(1);
        let mut h = Honesty::new(Tolerance::default());
        h.set_settle(s / 4); // a window of 4 pings: 1 s
        assert!(h.check(t, n(1), n(2), 50 * MS, Some(100 * MS), TTL));
        assert!(h.check(t, n(2), n(1), 50 * MS, Some(100 * MS), TTL));
        // 2 starts lying: 1→2 is 20 ms, with a round trip to match (its
        // own check passes, as before) …
        assert!(h.check(t, n(1), n(2), 20 * MS, Some(70 * MS), TTL));
        // … but against 1's honest numbers the pair disagrees: deferred
        // within the window (not used), counted once it is over.
        assert!(!h.check(t, n(2), n(1), 50 * MS, Some(100 * MS), TTL));
        assert_eq!(h.rejected(), 0);
        assert!(!h.check(t + s, n(2), n(1), 50 * MS, Some(100 * MS), TTL));
        assert_eq!(h.rejected(), 1);
        // No new window without agreeing first.
        assert!(h.check(t + s * 2, n(1), n(2), 20 * MS, Some(70 * MS), TTL));
        assert!(!h.check(t + s * 2, n(2), n(1), 50 * MS, Some(100 * MS), TTL));
        assert_eq!(h.rejected(), 2);
        // Round trips that agree but a sum that does not, on a pair that
        // never agreed: counted at once.
        let mut h = Honesty::new(Tolerance::default());
        assert!(h.check(t, n(1), n(2), 50 * MS, Some(100 * MS), TTL));
        assert!(!h.check(t, n(2), n(1), 20 * MS, Some(100 * MS), TTL));
        assert_eq!(h.rejected(), 1);
    }
}
