//! One-way latency probes (docs/system.md#one-way-latency; super mode step 3). Every
//! `SendPingInterval` a node pings each neighbour directly with its own wall
//! clock's time; the receiver subtracts that from its own clock. The result
//! is the one-way delay plus the difference of the two clocks' offsets —
//! which cancels along any path between the same two nodes, so routing on it
//! is exact without synchronised clocks. The pings double as NAT hole
//! punching.
//!
//! Drive it from the node: [`Probe::due`] says when to ping, [`Probe::ping`]
//! builds the next message, [`one_way`] turns a received ping into a
//! measurement, [`Probe::note_traffic`] marks the node busy.
//!
//! Adaptive rate (fast failover): while frames flow through the node (sent,
//! relayed or delivered within [`BUSY_WINDOW`]) it pings every
//! [`FAST_INTERVAL`] instead of `SendPingInterval`, and every ping says when
//! the next one comes, so a neighbour notices a dead link after three
//! missed pings — well under a second — without an idle mesh paying for it.
//! Control budget per node: `(N − 1)` pings of 80 bytes per interval, i.e.
//! `(N − 1) × 5` packets/s while busy and `(N − 1) / SendPingInterval`
//! when idle; `docs/routing.md` has the whole budget (Pongs, Reports).
//! Each ping also echoes the neighbour's last one (round trip, NTP-style;
//! `link_cost.rs`).

use std::time::{Duration, Instant};

use crate::wire::control::{Body, Control};

/// Ping interval while frames flow (fast failure detection).
pub const FAST_INTERVAL: Duration = Duration::from_millis(200);
/// How long after the last frame the node still counts as busy.
pub const BUSY_WINDOW: Duration = Duration::from_secs(2);
/// A neighbour is down after missing this many of its announced pings.
pub const MISSED_PINGS: u32 = 3;
/// Slack on top of the missed pings (scheduling, jitter).
pub const LIVENESS_SLACK: Duration = Duration::from_millis(100);

/// Ping schedule and the wall clock it stamps with.
#[derive(Debug)]
pub struct Probe {
    interval: Option<Duration>,
    next: Option<Instant>,
    /// Frames flowed until this instant: ping fast until then.
    busy_until: Option<Instant>,
    request_id: u32,
    /// The node's start, on both clocks.
    start: Instant,
    unix_at_start: Duration,
    /// Correction to the wall clock (from NTP), in nanoseconds.
    offset_ns: i64,
}

impl Probe {
    /// Pings every `interval` (none: never), starting at `now`.
    pub fn new(interval: Option<Duration>, now: Instant, unix_now: Duration) -> Self {
        Self {
            interval,
            next: interval.map(|_| now),
            busy_until: None,
            request_id: 0,
            start: now,
            unix_at_start: unix_now,
            offset_ns: 0,
        }
    }

    /// When the next round of pings is due.
    pub fn due(&self) -> Option<Instant> {
        self.next
    }

    /// Changes the interval (a supernode may set it live).
    pub fn set_interval(&mut self, interval: Option<Duration>, now: Instant) {
        self.interval = interval;
        self.next = interval.map(|i| self.next.map_or(now, |n| n.min(now + i)));
    }

    /// Applies a wall-clock correction (NTP's measured offset).
    pub fn set_clock_offset_ns(&mut self, offset_ns: i64) {
        self.offset_ns = offset_ns;
    }

    /// This node's wall clock at `now`, in ns since the Unix epoch.
    pub fn unix_ns(&self, now: Instant) -> i64 {
        let since = now.saturating_duration_since(self.start);
        let total = self.unix_at_start.saturating_add(since).as_nanos();
        i64::try_from(total)
            .unwrap_or(i64::MAX)
            .saturating_add(self.offset_ns)
    }

    /// Frames flow: ping fast for the next [`BUSY_WINDOW`]. Cheap enough
    /// for every frame (a comparison, mostly).
    pub fn note_traffic(&mut self, now: Instant) {
        let Some(base) = self.interval else { return };
        if self.busy_until.is_some_and(|b| b >= now + BUSY_WINDOW / 2) {
            return;
        }
        self.busy_until = Some(now + BUSY_WINDOW);
        if base > FAST_INTERVAL {
            self.next = self.next.map(|n| n.min(now + FAST_INTERVAL));
        }
    }

    /// The interval in force at `now`.
    pub fn current_interval(&self, now: Instant) -> Option<Duration> {
        let base = self.interval?;
        Some(if self.busy_until.is_some_and(|b| now < b) {
            base.min(FAST_INTERVAL)
        } else {
            base
        })
    }

    /// A round is due at `now`: the ping to send to every neighbour, and the
    /// next round scheduled.
    pub fn ping(&mut self, now: Instant) -> Option<Control<'static>> {
        let (interval, next) = (self.current_interval(now)?, self.next?);
        if now < next {
            return None;
        }
        // Keep the cadence, but never try to catch up on missed rounds.
        let cadence = next + interval;
        self.next = Some(if cadence > now {
            cadence
        } else {
            now + interval
        });
        self.request_id = self.request_id.wrapping_add(1);
        Some(Control {
            seq: 0,
            body: Body::Ping {
                request_id: self.request_id,
                sent_at_unix_ns: self.unix_ns(now),
                interval_ms: u32::try_from(interval.as_millis()).unwrap_or(u32::MAX),
                // Filled in per neighbour by the node.
                echo: None,
            },
        })
    }
}

/// The one-way latency a ping stamped `sent_at_ns` shows when it arrives at
/// `arrived_ns` (both wall clocks, ns): may be negative when the sender's
/// clock runs ahead of ours.
pub fn one_way(sent_at_ns: i64, arrived_ns: i64) -> i64 {
    arrived_ns.saturating_sub(sent_at_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // a test's origin instant
    fn schedule_and_stamps() {
        let t = Instant::now();
        let mut p = Probe::new(Some(Duration::from_secs(16)), t, Duration::from_secs(100));
        let Some(Control {
            body:
                Body::Ping {
                    request_id,
                    sent_at_unix_ns,
                    ..
                },
            ..
        }) = p.ping(t)
        else {
            panic!("a round is due at start")
        };
        assert_eq!((request_id, sent_at_unix_ns), (1, 100_000_000_000));
        assert!(p.ping(t + Duration::from_secs(15)).is_none());
        assert!(p.ping(t + Duration::from_secs(16)).is_some());
        // Late by a minute: one round, not four.
        assert!(p.ping(t + Duration::from_secs(80)).is_some());
        assert!(p.ping(t + Duration::from_secs(81)).is_none());
        p.set_clock_offset_ns(-5);
        assert_eq!(p.unix_ns(t), 100_000_000_000 - 5);
        assert_eq!(one_way(10, 3), -7);
        let mut quiet = Probe::new(None, t, Duration::ZERO);
        assert!(quiet.ping(t).is_none() && quiet.due().is_none());
    }
}
