//! Handshake flood protection: when egd is "under load", every handshake
//! message must carry a valid mac2 (a cookie proving its source address) and
//! each source address gets a token bucket, like the kernel's
//! `ratelimiter.c`.
//!
//! How to drive it: call [`LoadMeter::record`] for every handshake message
//! that arrives (before any MAC check, so a flood of garbage counts too); if
//! it says [`Load::UnderLoad`] or [`Load::Overloaded`], demand a cookie and,
//! for messages that have one, ask [`RateLimiter::allow`]; when overloaded,
//! drop the others without a cookie reply. Outside load nothing is rate limited: a
//! healthy mesh never pays for the protection.
//!
//! Buckets are keyed by IPv4 address or IPv6 /64 (one host usually owns a
//! whole /64). The table is bounded ([`RATELIMIT_TABLE_MAX`]); entries idle
//! for [`RATELIMIT_ENTRY_IDLE`] are dropped, and while the table is full new
//! sources are refused — under attack, already-known sources keep working.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::constants::{
    HANDSHAKE_BUDGET, HANDSHAKE_BURST_PER_SOURCE, HANDSHAKES_PER_SECOND_PER_SOURCE,
    RATELIMIT_ENTRY_IDLE, RATELIMIT_TABLE_MAX, UNDER_LOAD_HANDSHAKES, UNDER_LOAD_INTERVAL,
};

/// Counts handshake arrivals per interval to decide "under load".
#[derive(Debug, Default)]
pub struct LoadMeter {
    interval_start: Option<Instant>,
    count: u32,
    last_overload: Option<Instant>,
}

/// What [`LoadMeter::record`] says about one handshake message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// Process it; mac2 is not required.
    Normal,
    /// Process it only with a valid mac2 (else answer with a cookie reply).
    UnderLoad,
    /// Over [`HANDSHAKE_BUDGET`] this interval: like [`Load::UnderLoad`], but
    /// no cookie reply for a message without one.
    Overloaded,
}

impl LoadMeter {
    /// Records one handshake message at `now`. Under load: more than
    /// [`UNDER_LOAD_HANDSHAKES`] in the current interval, or within one
    /// interval after that last happened. Overloaded: more than
    /// [`HANDSHAKE_BUDGET`] in the current interval.
    pub fn record(&mut self, now: Instant) -> Load {
        let fresh = self
            .interval_start
            .is_none_or(|s| now.saturating_duration_since(s) >= UNDER_LOAD_INTERVAL);
        if fresh {
            self.interval_start = Some(now);
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        if self.count > HANDSHAKE_BUDGET {
            self.last_overload = Some(now);
            return Load::Overloaded;
        }
        if self.count > UNDER_LOAD_HANDSHAKES {
            self.last_overload = Some(now);
            return Load::UnderLoad;
        }
        if self
            .last_overload
            .is_some_and(|t| now.saturating_duration_since(t) < UNDER_LOAD_INTERVAL)
        {
            Load::UnderLoad
        } else {
            Load::Normal
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SourceKey {
    V4([u8; 4]),
    V6Prefix([u8; 8]),
}

impl SourceKey {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.octets()),
                None => {
                    let mut p = [0u8; 8];
                    p.copy_from_slice(&v6.octets()[..8]);
                    Self::V6Prefix(p)
                }
            },
        }
    }
}

/// Tokens are nanoseconds of credit, as in the kernel: one handshake costs
/// `1 s / rate`, the bucket holds `burst` of them.
const PACKET_COST: u64 = 1_000_000_000 / HANDSHAKES_PER_SECOND_PER_SOURCE;
const TOKEN_MAX: u64 = PACKET_COST * HANDSHAKE_BURST_PER_SOURCE;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: u64,
    last: Instant,
}

/// Per-source token buckets (kernel `ratelimiter.c`).
#[derive(Debug, Default)]
pub struct RateLimiter {
    table: BTreeMap<SourceKey, Bucket>,
    last_gc: Option<Instant>,
}

impl RateLimiter {
    /// May a handshake from `ip` be processed at `now`?
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        self.gc(now);
        let key = SourceKey::of(ip);
        if let Some(b) = self.table.get_mut(&key) {
            let elapsed = now.saturating_duration_since(b.last);
            let credit = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
            b.tokens = b.tokens.saturating_add(credit).min(TOKEN_MAX);
            b.last = now;
            if b.tokens >= PACKET_COST {
                b.tokens -= PACKET_COST;
                return true;
            }
            return false;
        }
        if self.table.len() >= RATELIMIT_TABLE_MAX {
            return false;
        }
        self.table.insert(
            key,
            Bucket {
                tokens: TOKEN_MAX - PACKET_COST,
                last: now,
            },
        );
        true
    }

    /// Sources currently tracked.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn gc(&mut self, now: Instant) {
        let due = self
            .last_gc
            .is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(1));
        if due {
            self.table
                .retain(|_, b| now.saturating_duration_since(b.last) < RATELIMIT_ENTRY_IDLE);
            self.last_gc = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Instant {
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }

    #[test]
    fn load_starts_above_threshold_and_lingers_one_interval() {
        let t = base();
        let ms = Duration::from_millis;
        let mut m = LoadMeter::default();
        for _ in 0..UNDER_LOAD_HANDSHAKES {
            assert_eq!(m.record(t), Load::Normal);
        }
        assert_eq!(
            m.record(t + ms(500)),
            Load::UnderLoad,
            "one more than the threshold in this interval"
        );
        assert_eq!(
            m.record(t + ms(1200)),
            Load::UnderLoad,
            "a new interval, but overload was 0.7 s ago"
        );
        assert_eq!(m.record(t + ms(1600)), Load::Normal, "load has passed");
    }

    #[test]
    fn beyond_the_budget_messages_are_refused_until_the_next_interval() {
        let t = base();
        let mut m = LoadMeter::default();
        let loads: Vec<Load> = (0..HANDSHAKE_BUDGET + 10).map(|_| m.record(t)).collect();
        let count = |l: Load| loads.iter().filter(|x| **x == l).count() as u32;
        assert_eq!(count(Load::Normal), UNDER_LOAD_HANDSHAKES);
        assert_eq!(
            count(Load::UnderLoad),
            HANDSHAKE_BUDGET - UNDER_LOAD_HANDSHAKES
        );
        assert_eq!(count(Load::Overloaded), 10);
        let late = t + UNDER_LOAD_INTERVAL - Duration::from_millis(1);
        assert_eq!(m.record(late), Load::Overloaded, "the same interval");
        // A new interval gets a new budget, still under load.
        assert_eq!(m.record(t + UNDER_LOAD_INTERVAL), Load::UnderLoad);
    }

    #[test]
    fn bucket_allows_burst_then_rate() {
        let t = base();
        let mut r = RateLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let allowed = (0..10).filter(|_| r.allow(ip, t)).count();
        assert_eq!(allowed as u64, HANDSHAKE_BURST_PER_SOURCE);
        // Another source is independent.
        assert!(r.allow("192.0.2.8".parse().unwrap(), t));
        // One packet's worth of time buys exactly one more.
        let t2 = t + Duration::from_nanos(PACKET_COST);
        assert!(r.allow(ip, t2));
        assert!(!r.allow(ip, t2));
    }

    #[test]
    fn ipv6_sources_share_a_slash_64() {
        let t = base();
        let mut r = RateLimiter::default();
        for i in 0..HANDSHAKE_BURST_PER_SOURCE {
            let ip: IpAddr = format!("2001:db8::{i:x}").parse().unwrap();
            assert!(r.allow(ip, t));
        }
        assert!(!r.allow("2001:db8::ffff".parse().unwrap(), t));
        assert!(r.allow("2001:db8:0:1::1".parse().unwrap(), t));
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn table_is_bounded_and_collected() {
        let t = base();
        let mut r = RateLimiter::default();
        for i in 0..RATELIMIT_TABLE_MAX as u32 {
            assert!(r.allow(IpAddr::from(i.to_be_bytes()), t));
        }
        assert!(
            !r.allow("203.0.113.1".parse().unwrap(), t),
            "full table refuses new sources"
        );
        assert_eq!(r.len(), RATELIMIT_TABLE_MAX);
        let later = t + RATELIMIT_ENTRY_IDLE;
        assert!(r.allow("203.0.113.1".parse().unwrap(), later));
        assert_eq!(r.len(), 1);
    }
}
