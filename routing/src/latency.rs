//! `Latency`: a signed one-way latency (or cost) in whole microseconds.
//!
//! Reports arrive as seconds in `f64` (EtherGuard's `Timediff`) and costs as
//! milliseconds; both are quantised once, on entry, to integer microseconds.
//! Everything after that is integer arithmetic, which is what makes the
//! solver's tie-breaking and the clock-offset invariance (docs/system.md#one-way-latency) exact:
//! adding `θ[v] − θ[u]` microseconds to every edge shifts every path S→D by
//! exactly `θ[D] − θ[S]`, so every comparison between two S→D paths comes out
//! the same. (An offset that is not a whole number of microseconds is rounded
//! per edge, which can move a path by under a microsecond per hop: paths that
//! close are ties anyway.)

use std::fmt;

/// A signed duration in whole microseconds, bounded by [`Latency::MAX_ABS`].
///
/// Signed because a measured one-way latency includes the difference of two
/// unsynchronised clocks and can be negative (docs/system.md#one-way-latency).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Latency(i64);

impl Latency {
    /// Zero.
    pub const ZERO: Latency = Latency(0);
    /// The largest magnitude accepted, 1000 s. Far beyond any network, and small
    /// enough that the solver's folded cost (µs · 2¹⁶ + hops, see `cost.rs`)
    /// stays an exact integer in an `f64` for paths of up to 128 such hops.
    pub const MAX_ABS: Latency = Latency(1_000_000_000);

    /// From whole microseconds; `None` beyond ±[`Latency::MAX_ABS`].
    pub const fn from_micros(us: i64) -> Option<Latency> {
        if us > Self::MAX_ABS.0 || us < -Self::MAX_ABS.0 {
            None
        } else {
            Some(Latency(us))
        }
    }

    /// From seconds (rounded to the nearest microsecond); `None` for NaN,
    /// infinities and magnitudes beyond [`Latency::MAX_ABS`].
    pub fn from_secs_f64(secs: f64) -> Option<Latency> {
        Self::from_scaled(secs, 1e6)
    }

    /// From milliseconds (the unit of `AdditionalCost`, `JitterTolerance` and
    /// `ManualLatency` in EtherGuard configs), rounded to the microsecond.
    pub fn from_millis_f64(ms: f64) -> Option<Latency> {
        Self::from_scaled(ms, 1e3)
    }

    fn from_scaled(value: f64, to_micros: f64) -> Option<Latency> {
        let us = (value * to_micros).round();
        // The range check also rejects NaN (all comparisons false).
        if us.abs() <= Self::MAX_ABS.0 as f64 {
            // In range and integral, so the cast is exact.
            Some(Latency(us as i64))
        } else {
            None
        }
    }

    /// A path sum: not bounded by [`Latency::MAX_ABS`], which only limits inputs.
    pub(crate) const fn from_micros_unbounded(us: i64) -> Latency {
        Latency(us)
    }

    /// Whole microseconds.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// The magnitude.
    pub const fn abs(self) -> Latency {
        Latency(self.0.abs())
    }

    /// The sum, or `None` when it leaves ±[`Latency::MAX_ABS`].
    pub const fn checked_add(self, other: Latency) -> Option<Latency> {
        Self::from_micros(self.0 + other.0)
    }
}

impl fmt::Debug for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}µs", self.0)
    }
}

/// Seconds with up to six decimals and no trailing zeros (`0.5`, `-1.25`,
/// `2`): the unit of the EtherGuard tables.
impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let us = self.0.unsigned_abs();
        let whole = us / 1_000_000;
        let frac = us % 1_000_000;
        if frac == 0 {
            return write!(f, "{sign}{whole}");
        }
        let digits = format!("{frac:06}");
        write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantises_to_micros() {
        assert_eq!(
            Latency::from_secs_f64(0.5).map(Latency::as_micros),
            Some(500_000)
        );
        assert_eq!(
            Latency::from_secs_f64(-1.0000004).map(Latency::as_micros),
            Some(-1_000_000)
        );
        assert_eq!(
            Latency::from_millis_f64(1.919).map(Latency::as_micros),
            Some(1_919)
        );
        assert_eq!(Latency::from_secs_f64(f64::NAN), None);
        assert_eq!(Latency::from_secs_f64(f64::INFINITY), None);
        assert_eq!(Latency::from_secs_f64(1000.0), Some(Latency::MAX_ABS));
        assert_eq!(Latency::from_secs_f64(1000.001), None);
        assert_eq!(Latency::from_micros(-1_000_000_001), None);
    }

    #[test]
    fn displays_seconds() {
        let cases = [
            (500_000, "0.5"),
            (-1_250_000, "-1.25"),
            (2_000_000, "2"),
            (1, "0.000001"),
            (0, "0"),
        ];
        for (us, text) in cases {
            assert_eq!(
                Latency::from_micros(us).map(|l| l.to_string()).as_deref(),
                Some(text)
            );
        }
    }
}
