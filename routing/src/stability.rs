//! Stability rules (docs/system.md#stability): which reports are worth a
//! recomputation, and how a noisy edge is smoothed.
//!
//! - [`StabilitySettings::is_significant`]: `JitterTolerance` `t` and
//!   `JitterToleranceMultiplier` `r` — a new value only counts if it differs
//!   from the value used at the last recomputation by more than
//!   `t + max(|old|, |new|)·(r − 1)` (upstream's rule, in µs here). An edge
//!   appearing or disappearing always counts. Magnitudes are used because
//!   measured weights can be negative; note the relative part then also
//!   scales with the clock offset hidden in the weight, so with large
//!   offsets keep `r` near 1 (or run NTP, docs/system.md#ntp).
//! - [`DampingFilter`]: `DampingFilterRadius` `k` — the median of the last
//!   `2k + 1` samples (a low-pass that ignores single spikes), as upstream.
//! - Path hysteresis (`hysteresis_absolute`, `hysteresis_relative`): a
//!   recomputation driven only by changed weights keeps a pair's next hop
//!   unless the new path is cheaper by more than `max(absolute, relative ·
//!   round trip / 2)`; see `hysteresis.rs` for the rule and why tables stay
//!   loop-free. Both 0 = off. Appearing or disappearing edges and nodes
//!   switch freely (new information, not noise).
//! - `RecalculateCoolDown` and `TimeoutCheckInterval` are applied by
//!   [`crate::Router`], which owns the clock arguments.

use crate::Latency;
use std::collections::VecDeque;
use std::time::Duration;

/// The `GraphRecalculateSetting` / `DynamicRoute` knobs that govern stability.
#[derive(Clone, Debug, PartialEq)]
pub struct StabilitySettings {
    /// `JitterTolerance` (configured in ms).
    pub jitter_tolerance: Latency,
    /// `JitterToleranceMultiplier` (≥ 1; values below 1 act as 1).
    pub jitter_tolerance_multiplier: f64,
    /// `DampingFilterRadius`: median over `2·radius + 1` samples; 0 = off.
    pub damping_filter_radius: usize,
    /// `RecalculateCoolDown`: minimum time between recomputations caused by
    /// changed weights (appearing/disappearing edges do not wait).
    pub recalculate_cool_down: Duration,
    /// `TimeoutCheckInterval`: how often expired edges are swept.
    pub timeout_check_interval: Duration,
    /// Hysteresis, absolute part: a next hop changes on a weight change only
    /// when the new path is cheaper by more than this (default 2 ms; 0 and
    /// `hysteresis_relative` 0 = off).
    pub hysteresis_absolute: Latency,
    /// Hysteresis, relative part: … or by more than this fraction of the
    /// pair's best round trip / 2 (default 0.10: 5 % was measured too small
    /// for ±10 % link jitter with a 9-sample median, `tests/sim/routing_quality.rs`),
    /// whichever is larger.
    pub hysteresis_relative: f64,
}

impl Default for StabilitySettings {
    /// Upstream's example values: 50 ms, ×1.1, radius 4, 5 s, 5 s; hysteresis
    /// 2 ms / 10 %.
    fn default() -> Self {
        StabilitySettings {
            jitter_tolerance: Latency::from_micros(50_000).unwrap_or_default(),
            jitter_tolerance_multiplier: 1.1,
            damping_filter_radius: 4,
            recalculate_cool_down: Duration::from_secs(5),
            timeout_check_interval: Duration::from_secs(5),
            hysteresis_absolute: Latency::from_micros(2_000).unwrap_or_default(),
            hysteresis_relative: 0.10,
        }
    }
}

impl StabilitySettings {
    /// Whether moving an edge from `old` (the value used last time; `None` =
    /// absent) to `new` justifies recomputing.
    pub fn is_significant(&self, old: Option<Latency>, new: Option<Latency>) -> bool {
        let (old, new) = match (old, new) {
            (None, None) => return false,
            (Some(o), Some(n)) => (o.as_micros() as f64, n.as_micros() as f64),
            _ => return true,
        };
        let diff = (new - old).abs();
        let t = self.jitter_tolerance.as_micros().max(0) as f64;
        let r = self.jitter_tolerance_multiplier.max(1.0);
        let r = if r.is_finite() { r } else { 1.0 };
        diff > t + old.abs().max(new.abs()) * (r - 1.0)
    }

    pub(crate) fn hysteresis(&self) -> crate::hysteresis::Margin {
        crate::hysteresis::Margin {
            absolute: self.hysteresis_absolute,
            relative: self.hysteresis_relative,
        }
    }
}

/// A per-edge median filter over the most recent samples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DampingFilter {
    samples: VecDeque<Latency>,
}

impl DampingFilter {
    /// Adds a sample and returns the filtered value: the median of the last
    /// `2·radius + 1` samples, or of the largest odd number of samples held
    /// (dropping the oldest); the sample itself while fewer than 3 are held or
    /// when `radius` is 0.
    pub fn push(&mut self, sample: Latency, radius: usize) -> Latency {
        let size = radius.saturating_mul(2).saturating_add(1);
        self.samples.push_back(sample);
        while self.samples.len() > size {
            self.samples.pop_front();
        }
        let len = self.samples.len();
        let odd = if len.is_multiple_of(2) { len - 1 } else { len };
        if odd < 3 {
            return sample;
        }
        let mut window: Vec<Latency> = self.samples.iter().skip(len - odd).copied().collect();
        window.sort_unstable();
        window[odd / 2]
    }

    /// Forgets all samples (the edge went away).
    pub fn clear(&mut self) {
        self.samples.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: i64) -> Latency {
        Latency::from_micros(x * 1000).unwrap()
    }

    #[test]
    fn jitter_threshold_table() {
        let s = StabilitySettings {
            jitter_tolerance: ms(50),
            jitter_tolerance_multiplier: 1.1,
            ..StabilitySettings::default()
        };
        // threshold = 50 ms + max(|old|, |new|)·0.1
        let cases = [
            (Some(100), Some(150), false),   // diff 50 ≤ 50 + 15
            (Some(100), Some(167), true),    // diff 67 > 50 + 16.7
            (Some(100), Some(165), false),   // diff 65 ≤ 50 + 16.5
            (Some(1000), Some(1140), false), // 140 ≤ 50 + 114
            (Some(1000), Some(1170), true),  // 170 > 50 + 117
            (Some(-100), Some(-40), false),  // negative weights use magnitudes
            (Some(-100), Some(-30), true),
            (None, Some(1), true), // appears
            (Some(1), None, true), // disappears
            (None, None, false),
        ];
        for (old, new, expect) in cases {
            assert_eq!(
                s.is_significant(old.map(ms), new.map(ms)),
                expect,
                "{old:?} -> {new:?}"
            );
        }
        let exact = StabilitySettings {
            jitter_tolerance: Latency::ZERO,
            jitter_tolerance_multiplier: 1.0,
            ..StabilitySettings::default()
        };
        assert!(exact.is_significant(Some(ms(1)), Some(Latency::from_micros(1001).unwrap())));
        assert!(!exact.is_significant(Some(ms(1)), Some(ms(1))));
    }

    #[test]
    fn damping_filter_table() {
        // (radius, samples, outputs)
        let cases: &[(usize, &[i64], &[i64])] = &[
            (0, &[10, 90, 20], &[10, 90, 20]),
            (1, &[10, 90, 20, 30], &[10, 90, 20, 30]),
            (2, &[10, 12, 500, 11, 13, 12], &[10, 12, 12, 12, 12, 12]),
            (
                2,
                &[10, 20, 30, 40, 50, 60, 70],
                &[10, 20, 20, 30, 30, 40, 50],
            ),
        ];
        for &(radius, samples, outputs) in cases {
            let mut f = DampingFilter::default();
            let got: Vec<i64> = samples
                .iter()
                .map(|&x| f.push(ms(x), radius).as_micros() / 1000)
                .collect();
            assert_eq!(got, outputs, "radius {radius}, samples {samples:?}");
        }
    }
}
