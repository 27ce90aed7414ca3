//! The supernode's warm-up after start: when to stop holding next-hop
//! notices. Sans-IO; the core feeds it Registers and asks it.
//!
//! ```text
//! let mut w = WarmUp::new();
//! w.on_register(now, send_ping_interval);   // every Register (only the first counts)
//! if w.check(now, matrix_complete) { push the held notices }
//! w.is_over(); w.deadline();                // gate notices; wake the core
//! ```
//!
//! The clock starts at the first `Register`, not at process start: edges
//! notice a restarted supernode only when their WireGuard session to it is
//! re-established (up to `KEEPALIVE_TIMEOUT + REKEY_TIMEOUT` = 15 s after
//! their last answer), and until one registers there is nobody to notify.
//! Edges that register later do not restart it: the hold is for the
//! restart, not for every join.

use std::time::{Duration, Instant};

/// How many `SendPingInterval`s the hold lasts at most: edges ping every
/// interval, so by the second every live pair has measured and reported.
const HOLD_PING_INTERVALS: u32 = 2;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WarmUp {
    /// Started; no edge has registered yet.
    #[default]
    Waiting,
    /// Holding until this instant at the latest.
    Holding(Instant),
    /// Notices flow.
    Over,
}

impl WarmUp {
    pub fn new() -> Self {
        Self::Waiting
    }

    /// A `Register` arrived: the first one starts the clock.
    pub fn on_register(&mut self, now: Instant, send_ping_interval: Duration) {
        if *self == Self::Waiting {
            let hold = send_ping_interval.saturating_mul(HOLD_PING_INTERVALS);
            *self = Self::Holding(now.checked_add(hold).unwrap_or(now));
        }
    }

    /// Ends the hold if `complete` (every pair of online edges reported) or
    /// its time is up; true exactly when it ends now.
    pub fn check(&mut self, now: Instant, complete: bool) -> bool {
        match *self {
            Self::Holding(until) if complete || now >= until => {
                *self = Self::Over;
                true
            }
            _ => false,
        }
    }

    pub fn is_over(&self) -> bool {
        *self == Self::Over
    }

    /// When the hold ends at the latest (for the core's timer).
    pub fn deadline(&self) -> Option<Instant> {
        match *self {
            Self::Holding(until) => Some(until),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // only differences matter
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn the_first_register_starts_a_hold_of_two_ping_intervals() {
        let t = t0();
        let mut w = WarmUp::new();
        assert!(!w.check(t, true), "nobody registered: nothing to end");
        assert_eq!(w.deadline(), None);
        w.on_register(t, Duration::from_secs(1));
        w.on_register(t + Duration::from_millis(900), Duration::from_secs(1));
        assert_eq!(w.deadline(), Some(t + Duration::from_secs(2)));
        assert!(!w.check(t + Duration::from_millis(1999), false));
        assert!(w.check(t + Duration::from_secs(2), false));
        assert!(w.is_over());
        assert!(!w.check(t + Duration::from_secs(3), true), "ends once");
        w.on_register(t + Duration::from_secs(4), Duration::from_secs(1));
        assert!(w.is_over(), "a later Register does not restart it");
    }

    #[test]
    fn a_complete_matrix_ends_it_early() {
        let t = t0();
        let mut w = WarmUp::new();
        w.on_register(t, Duration::from_secs(15));
        assert!(w.check(t + Duration::from_millis(10), true));
        assert!(w.is_over());
        assert_eq!(w.deadline(), None);
    }
}
