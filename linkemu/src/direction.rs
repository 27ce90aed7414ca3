//! [`Direction`]: what one direction of the emulated link does to a datagram.
//!
//! How to drive it: build one with a struct literal over
//! [`Direction::default()`] (an ideal link: no delay, no loss, up), or from
//! the text form `delay=30ms,jitter=2ms,loss=0.05` with `str::parse` (see
//! [`crate::spec`]); hand it to [`crate::LinkConfig`] or
//! [`crate::Link::set_a_to_b`]. [`Direction::validate`] is the one check;
//! the link runs it for you.

use std::fmt;
use std::time::Duration;

/// One direction of the link. Every datagram that arrives is, in this order:
/// dropped if the direction is down (`up == false`), dropped if longer than
/// `mtu`, dropped with probability `loss`, else delivered after
/// `delay ± jitter`.
///
/// A change (through [`crate::Link::set_a_to_b`]) applies to datagrams that
/// arrive afterwards; the ones already in flight keep their due time, as
/// packets already on a wire would.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Direction {
    /// Mean one-way delay the emulator adds.
    pub delay: Duration,
    /// Each datagram's delay is drawn uniformly from
    /// `[delay − jitter, delay + jitter]` (clamped at zero), as netem does,
    /// so the mean stays `delay` (unless clamping or `reorder == false`
    /// pushes it up).
    pub jitter: Duration,
    /// Probability in `[0, 1]` that a datagram is dropped.
    pub loss: f64,
    /// If false, jitter never reorders: a datagram is never delivered before
    /// an earlier one of the same direction (its due time is raised to the
    /// latest due time so far). If true, datagrams leave in due-time order.
    pub reorder: bool,
    /// Largest UDP payload, in bytes, that passes; longer ones are dropped
    /// and counted as `too_big`. `None`: no limit.
    pub mtu: Option<usize>,
    /// False: the direction drops everything that arrives (counted as `down`).
    pub up: bool,
}

impl Default for Direction {
    /// An ideal link: no delay, no jitter, no loss, no MTU, up.
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            reorder: false,
            mtu: None,
            up: true,
        }
    }
}

impl Direction {
    /// The one invariant the fields' types cannot hold: `loss` is a
    /// probability.
    pub fn validate(&self) -> Result<(), InvalidDirection> {
        if (0.0..=1.0).contains(&self.loss) {
            Ok(())
        } else {
            Err(InvalidDirection::Loss(self.loss))
        }
    }

    /// The delay for one datagram, given a uniform sample `unit` in `[0, 1)`:
    /// `delay − jitter + 2·jitter·unit`, clamped at zero.
    pub(crate) fn sample_delay(&self, unit: f64) -> Duration {
        if self.jitter.is_zero() {
            return self.delay;
        }
        let offset = self.jitter.mul_f64(2.0 * unit);
        (self.delay + offset).saturating_sub(self.jitter)
    }
}

/// A [`Direction`] the link refuses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InvalidDirection {
    /// `loss` is not in `[0, 1]` (or is NaN).
    Loss(f64),
}

impl fmt::Display for InvalidDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Loss(loss) => write!(f, "loss {loss} is not a probability in [0, 1]"),
        }
    }
}

impl std::error::Error for InvalidDirection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_must_be_a_probability() {
        for ok in [0.0, 0.5, 1.0] {
            let d = Direction {
                loss: ok,
                ..Direction::default()
            };
            assert_eq!(d.validate(), Ok(()));
        }
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let d = Direction {
                loss: bad,
                ..Direction::default()
            };
            assert!(d.validate().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn jitter_spans_delay_plus_minus_jitter_and_clamps_at_zero() {
        let ms = Duration::from_millis;
        let d = Direction {
            delay: ms(30),
            jitter: ms(10),
            ..Direction::default()
        };
        assert_eq!(d.sample_delay(0.0), ms(20));
        assert_eq!(d.sample_delay(0.5), ms(30));
        assert!(d.sample_delay(0.999_999) <= ms(40));
        let wide = Direction {
            delay: ms(5),
            jitter: ms(10),
            ..Direction::default()
        };
        assert_eq!(wide.sample_delay(0.0), Duration::ZERO);
        let steady = Direction {
            delay: ms(7),
            ..Direction::default()
        };
        assert_eq!(steady.sample_delay(0.9), ms(7));
    }
}
