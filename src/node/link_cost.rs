//! The cost of the link from one neighbour to this node, per direction,
//! from the pings it sends (docs/routing.md#link-cost-per-direction): a
//! smoothed one-way delay, plus a jitter term, plus an ETX-like loss
//! penalty — and the round trip, from the echo each ping carries, for the
//! solvers' honesty check.
//!
//! Drive it from the node: [`LinkQuality::on_ping`] for every ping the
//! neighbour sends (its request id, the measured one-way delay and the
//! round trip its echo shows), [`LinkQuality::echo`] when pinging it back,
//! [`LinkQuality::cost`] for what to report.
//!
//! - **Delay**: an EWMA of the measured one-way delays (gain 1/16: half
//!   TCP's SRTT gain, as the cost feeds route choices, which should not
//!   follow noise). The measured delay contains the two clocks' offset (probe.rs);
//!   the terms below are offset-free and never negative, so the offsets
//!   still cancel along any path.
//!   A *level shift* is followed at once instead: two samples in a row on
//!   the same side, each further than `4 × jitter + 1 ms` from the smoothed
//!   value, replace it (a rerouted underlay, a stepped clock); a single
//!   such sample is a spike and is smoothed in when the next one is not.
//!   The round trip is smoothed the same way.
//! - **Jitter**: an EWMA (gain 1/16; TCP's RTTVAR uses 1/4) of each sample's
//!   distance from the smoothed delay, times `jitter_weight`.
//! - **Loss**: the share `p` of the neighbour's last [`LOSS_WINDOW`] pings
//!   (consecutive request ids; every ping round pings every neighbour, so a
//!   gap is a loss) that did not arrive, less four standard errors (what
//!   the window cannot tell from chance is not charged; the window restarts
//!   after more than [`OUTAGE_GAP`] missing in a row: an outage is not a
//!   loss rate), charged as
//!   `loss_penalty × p / (1 − p)`: ETX − 1 extra transmissions per
//!   delivered packet, each costing `loss_penalty` of delay.
//!
//! No clock is read and nothing allocates: one of these lives in each peer.

use std::time::{Duration, Instant};

use crate::wire::control::PingEcho;

/// Pings the loss estimate looks back over (a bit window).
pub const LOSS_WINDOW: u32 = 128;
/// Standard errors taken off the measured loss share before it is charged.
pub const LOSS_SIGMAS: f64 = 4.0;
/// More pings than this missing in a row are an outage, not loss: the
/// window starts over (random 25 % loss makes such a gap once in ~10⁵ pings).
pub const OUTAGE_GAP: u32 = 8;
/// EWMA gain of the delay and of the round trip.
const DELAY_GAIN: f64 = 1.0 / 16.0;
/// EWMA gain of the jitter (mean deviation).
const JITTER_GAIN: f64 = 1.0 / 16.0;
/// Loss beyond this counts as this (the penalty stays finite).
const MAX_LOSS: f64 = 0.99;

/// How the terms weigh (config `DynamicRoute.CostJitterWeight`,
/// `DynamicRoute.CostLossPenalty`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostWeights {
    /// Multiplies the smoothed mean deviation (default 1).
    pub jitter_weight: f64,
    /// Delay one expected retransmission costs (default 100 ms; with the
    /// confidence bound over a full window, 10 % loss costs nothing, 15 %
    /// ≈ 2.5 ms, 20 % ≈ 6 ms, 25 % ≈ 11 ms, 50 % ≈ 48 ms).
    pub loss_penalty: Duration,
}

impl Default for CostWeights {
    fn default() -> Self {
        Self {
            jitter_weight: 1.0,
            loss_penalty: Duration::from_millis(100),
        }
    }
}

/// What a node reports for one neighbour's link toward it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkCost {
    /// Smoothed one-way delay (ns; clock offset included, may be negative).
    pub one_way_ns: i64,
    /// Jitter and loss terms (ns, ≥ 0): route on `one_way_ns + penalty_ns`.
    pub penalty_ns: i64,
    /// Smoothed round trip (ns), once an echo came back.
    pub rtt_ns: Option<i64>,
    /// Loss over the window, in parts per million.
    pub loss_ppm: u32,
}

/// Smallest distance from the smoothed value that may start a level shift
/// (ns), on top of four times the jitter.
const SHIFT_FLOOR_NS: f64 = 1e6;

/// An EWMA of delay samples with its mean deviation, following level
/// shifts at once (module docs).
#[derive(Debug, Clone, Copy, Default)]
struct Smoothed {
    value: Option<f64>,
    deviation: f64,
    /// A first far-off sample, held back until the next one tells whether
    /// it was a spike or a shift.
    held: Option<f64>,
}

impl Smoothed {
    fn push(&mut self, sample: f64) {
        let Some(v) = self.value else {
            self.value = Some(sample);
            return;
        };
        let limit = 4.0 * self.deviation + SHIFT_FLOOR_NS;
        let far = (sample - v).abs() > limit;
        match self.held.take() {
            Some(h) if far && (h - v).signum() == (sample - v).signum() => {
                // Two in a row on the same side: the level moved.
                self.value = Some(sample);
                return;
            }
            Some(h) => self.smooth(h),
            None => {}
        }
        if far {
            self.held = Some(sample);
        } else {
            self.smooth(sample);
        }
    }

    fn smooth(&mut self, sample: f64) {
        if let Some(v) = self.value {
            self.deviation += JITTER_GAIN * ((sample - v).abs() - self.deviation);
            self.value = Some(v + DELAY_GAIN * (sample - v));
        }
    }
}

/// The running estimates for one neighbour.
#[derive(Debug, Clone, Default)]
pub struct LinkQuality {
    delay: Smoothed,
    rtt: Smoothed,
    /// Bit i set: ping `last_id − i` arrived.
    window: u128,
    /// Pings the window covers so far (≤ LOSS_WINDOW).
    expected: u32,
    last_id: Option<u32>,
    /// The neighbour's last ping: its stamp and when it arrived here.
    heard: Option<(i64, Instant)>,
}

impl LinkQuality {
    /// A ping from the neighbour: request id, its stamp, the one-way delay
    /// it measured, the round trip its echo showed (if any), at `now`.
    pub fn on_ping(
        &mut self,
        now: Instant,
        request_id: u32,
        sent_at_ns: i64,
        one_way_ns: i64,
        rtt_ns: Option<i64>,
    ) {
        self.heard = Some((sent_at_ns, now));
        self.count(request_id);
        self.delay.push(one_way_ns as f64);
        if let Some(r) = rtt_ns {
            self.rtt.push(r as f64);
        }
    }

    /// The echo for the next ping to this neighbour, sent at `now`.
    pub fn echo(&self, now: Instant) -> Option<PingEcho> {
        let (sent_at, arrived) = self.heard?;
        let hold = now.saturating_duration_since(arrived).as_micros();
        Some(PingEcho {
            sent_at_unix_ns: sent_at,
            hold_us: u32::try_from(hold).ok()?,
        })
    }

    /// The loss share charged: the measured share over the window, less
    /// [`LOSS_SIGMAS`] standard errors (never below 0). Loss the window
    /// cannot tell from chance is not charged, so neither the first few
    /// pings (two lost of five) nor a window's worth of 5 % loss (±1.9 %)
    /// moves routes by noise — at three standard errors, one link in a
    /// thousand still did, in a 50-node mesh — while 25 % loss over a full
    /// window is charged as ≈ 10 %.
    pub fn loss(&self) -> f64 {
        if self.expected == 0 {
            return 0.0;
        }
        let n = f64::from(self.expected);
        let got = self.window.count_ones().min(self.expected);
        let p = f64::from(self.expected - got) / n;
        (p - LOSS_SIGMAS * (p * (1.0 - p) / n).sqrt()).max(0.0)
    }

    /// The cost to report, or `None` before the first ping.
    pub fn cost(&self, w: &CostWeights) -> Option<LinkCost> {
        let delay = self.delay.value?;
        let p = self.loss().min(MAX_LOSS);
        let jitter_weight = if w.jitter_weight.is_finite() {
            w.jitter_weight.max(0.0)
        } else {
            0.0
        };
        let loss_ns = w.loss_penalty.as_nanos() as f64 * p / (1.0 - p);
        let penalty = (jitter_weight * self.delay.deviation + loss_ns).clamp(0.0, 1e15);
        Some(LinkCost {
            one_way_ns: delay as i64,
            penalty_ns: penalty as i64,
            rtt_ns: self.rtt.value.map(|r| r as i64),
            loss_ppm: (p * 1e6) as u32,
        })
    }

    /// Marks `id` received in the loss window.
    fn count(&mut self, id: u32) {
        let Some(last) = self.last_id else {
            self.last_id = Some(id);
            self.window = 1;
            self.expected = 1;
            return;
        };
        let ahead = id.wrapping_sub(last);
        let behind = last.wrapping_sub(id);
        if ahead > OUTAGE_GAP && ahead < u32::MAX / 2 {
            // An outage (the link was down, or the neighbour away), not a
            // loss rate: start over.
            self.last_id = Some(id);
            self.window = 1;
            self.expected = 1;
        } else if ahead != 0 && ahead < u32::MAX / 2 {
            // Newer: the ids skipped were lost.
            self.window = if ahead >= LOSS_WINDOW {
                0
            } else {
                self.window << ahead
            } | 1;
            self.expected = self.expected.saturating_add(ahead).min(LOSS_WINDOW);
            self.last_id = Some(id);
        } else if behind < LOSS_WINDOW {
            // Late (reordered) or repeated: counts as arrived.
            self.window |= 1 << behind;
        } else {
            // Far behind: the neighbour restarted its ids. Start over.
            self.last_id = Some(id);
            self.window = 1;
            self.expected = 1;
        }
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

    #[test]
    fn loss_from_gaps_in_the_request_ids() {
        let t = origin();
        let mut q = LinkQuality::default();
        // 100 pings, every 20th lost: 20, 40, 60, 80 missing of 1..=99
        // (100 is not missed until 101 arrives).
        for id in 1..=100u32 {
            if id % 20 != 0 {
                q.on_ping(t, id, 0, 10_000_000, None);
            }
        }
        let bound = |lost: f64, n: f64| {
            let p = lost / n;
            (p - 4.0 * (p * (1.0 - p) / n).sqrt()).max(0.0)
        };
        assert_eq!(q.loss(), bound(4.0, 99.0));
        assert_eq!(q.loss(), 0.0, "4 of 99 is not told from chance");
        // A late ping counts as arrived, not as a new round.
        q.on_ping(t, 80, 0, 10_000_000, None);
        assert_eq!(q.window.count_ones(), 96);
        // Heavy loss is: every other ping of the next 100 (window 128).
        for id in 101..=200u32 {
            if id % 2 == 0 {
                q.on_ping(t, id, 0, 10_000_000, None);
            }
        }
        let lost = f64::from(128 - q.window.count_ones());
        assert!(lost >= 50.0);
        assert_eq!(q.loss(), bound(lost, 128.0));
        assert!(q.loss() > 0.2, "{}", q.loss());
        // The window forgets: 128 clean pings later, no loss.
        for id in 201..=328u32 {
            q.on_ping(t, id, 0, 10_000_000, None);
        }
        assert_eq!(q.loss(), 0.0);
        // An outage (20 pings missing in a row) is not a loss rate.
        q.on_ping(t, 349, 0, 10_000_000, None);
        assert_eq!((q.loss(), q.expected), (0.0, 1));
        // A restarted neighbour (ids from 1 again) starts afresh.
        q.on_ping(t, 1, 0, 10_000_000, None);
        assert_eq!(q.loss(), 0.0);
    }

    #[test]
    fn cost_terms_are_non_negative_and_keep_the_offset() {
        let t = origin();
        let w = CostWeights::default();
        let mut q = LinkQuality::default();
        // A clock 5 s behind: measured delays around −4.99 s, ±2 ms.
        for id in 1..=200u32 {
            let jitter = if id % 2 == 0 { 2_000_000 } else { -2_000_000 };
            if id % 10 != 0 {
                q.on_ping(t, id, 0, -4_990_000_000 + jitter, Some(20_000_000));
            }
        }
        let c = q.cost(&w).unwrap();
        // The delay keeps the offset (it cancels along paths) …
        assert!((c.one_way_ns + 4_990_000_000).abs() < 2_500_000, "{c:?}");
        // … the penalty is the jitter (≈ 2 ms mean deviation) plus the
        // loss: the window (ids 72..=199) misses 80, 90, …, 190, 12 of 128,
        // less four standard errors (nothing left), at 100 ms per
        // retransmission.
        let m: f64 = 12.0 / 128.0;
        let p = (m - 4.0 * (m * (1.0 - m) / 128.0).sqrt()).max(0.0);
        let loss_ns = 100e6 * p / (1.0 - p);
        assert_eq!(c.loss_ppm, (p * 1e6) as u32);
        assert!(
            (c.penalty_ns as f64 - (2e6 + loss_ns)).abs() < 0.3e6,
            "{c:?}"
        );
        assert_eq!(c.rtt_ns, Some(20_000_000));
        // Zero weights: only the delay counts.
        let off = CostWeights {
            jitter_weight: 0.0,
            loss_penalty: Duration::ZERO,
        };
        assert_eq!(q.cost(&off).unwrap().penalty_ns, 0);
        // Nonsense weights cannot make the penalty negative.
        let bad = CostWeights {
            jitter_weight: f64::NAN,
            loss_penalty: Duration::ZERO,
        };
        assert_eq!(q.cost(&bad).unwrap().penalty_ns, 0);
    }

    #[test]
    fn a_level_shift_is_followed_at_once_a_spike_is_smoothed() {
        let t = origin();
        let w = CostWeights::default();
        let mut q = LinkQuality::default();
        let ms = 1_000_000;
        for id in 1..=20 {
            q.on_ping(t, id, 0, 10 * ms, Some(20 * ms));
        }
        // One spike of +50 ms: held back, then smoothed in (1/16 of it).
        q.on_ping(t, 21, 0, 60 * ms, Some(70 * ms));
        assert_eq!(q.cost(&w).unwrap().one_way_ns, 10 * ms);
        q.on_ping(t, 22, 0, 10 * ms, Some(20 * ms));
        let c = q.cost(&w).unwrap();
        assert!((12 * ms..14 * ms).contains(&c.one_way_ns), "{c:?}");
        // The path really changed to 100 ms: followed after two samples,
        // round trip alike.
        q.on_ping(t, 23, 0, 100 * ms, Some(110 * ms));
        q.on_ping(t, 24, 0, 100 * ms, Some(110 * ms));
        let c = q.cost(&w).unwrap();
        assert_eq!((c.one_way_ns, c.rtt_ns), (100 * ms, Some(110 * ms)));
    }

    #[test]
    fn echo_carries_the_stamp_and_the_hold_time() {
        let t = origin();
        let mut q = LinkQuality::default();
        assert_eq!(q.echo(t), None, "nothing heard yet");
        q.on_ping(t, 1, 123, 0, None);
        assert_eq!(
            q.echo(t + Duration::from_millis(150)),
            Some(PingEcho {
                sent_at_unix_ns: 123,
                hold_us: 150_000
            })
        );
    }
}
