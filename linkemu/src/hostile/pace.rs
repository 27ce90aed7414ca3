//! [`Pacer`]: spaces sends at a fixed rate, or lets them run flat out.
//!
//! How to drive it: `Pacer::new(Some(rate))` (packets per second) or
//! `Pacer::new(None)`, then call [`Pacer::wait`] before each send. At tens
//! of thousands of packets a second one interval is shorter than a sleep can
//! be, so it sleeps only once the sender is a millisecond ahead and then
//! catches up in a burst; the mean rate is exact, the spacing is not.

use std::time::{Duration, Instant};

/// Sleep only when this far ahead of schedule.
const SLACK: Duration = Duration::from_millis(1);

#[derive(Debug, Clone)]
pub struct Pacer {
    rate: Option<f64>,
    start: Instant,
    sent: u64,
}

impl Pacer {
    /// `rate` in packets per second; `None` or a rate ≤ 0 means no pacing.
    pub fn new(rate: Option<f64>) -> Self {
        Self {
            rate: rate.filter(|r| *r > 0.0),
            start: Instant::now(),
            sent: 0,
        }
    }

    /// Blocks until the next packet is due, and counts it.
    pub fn wait(&mut self) {
        if let Some(rate) = self.rate {
            let due = self.start + Duration::from_secs_f64(self.sent as f64 / rate);
            let now = Instant::now();
            if due > now + SLACK {
                std::thread::sleep(due - now);
            }
        }
        self.sent += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_rate_takes_its_time() {
        let mut p = Pacer::new(Some(10_000.0));
        let start = Instant::now();
        for _ in 0..2_001 {
            p.wait();
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(195),
            "2000 intervals of 0.1 ms took {took:?}"
        );
    }

    #[test]
    fn no_rate_never_sleeps() {
        let mut p = Pacer::new(None);
        let start = Instant::now();
        for _ in 0..100_000 {
            p.wait();
        }
        assert!(start.elapsed() < Duration::from_millis(100));
    }
}
