//! One direction of a simulated link: delay, jitter, loss, duplication,
//! MTU and whether it is up at all (a partition).

use std::time::Duration;

/// How datagrams travel from one host to another (one direction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Base one-way delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per datagram; datagrams
    /// can overtake each other, which is how reordering happens.
    pub jitter: Duration,
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice (the copy arrives
    /// `delay` later again): replays.
    pub duplicate: f64,
    /// Datagrams longer than this are dropped.
    pub mtu: usize,
    /// A link that is down drops everything (partitions).
    pub up: bool,
}

impl Default for Link {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            mtu: 65_535,
            up: true,
        }
    }
}

impl Link {
    /// A link with this delay and nothing else.
    pub fn with_delay(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }
}
