//! De-duplication of flooded control messages by (source, sequence) —
//! not by content, which would drop legitimate repeats (docs/system.md#differences).
//! Entries expire after `DupCheckTimeout`; the cache is bounded.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Most (source, seq) pairs remembered at once. When full of live entries,
/// new floods are dropped (and counted by the caller) rather than forwarded
/// unremembered, which could loop.
pub const CAPACITY: usize = 65_536;

#[derive(Debug)]
pub struct Dedup {
    seen: HashMap<(u16, u32), Instant>,
    timeout: Duration,
}

/// What to do with a flooded message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// First sighting: handle and forward it.
    Fresh,
    /// Seen before: drop it.
    Duplicate,
    /// The cache is full of live entries: drop it.
    Full,
}

impl Dedup {
    pub fn new(timeout: Duration) -> Self {
        Self {
            seen: HashMap::with_capacity(CAPACITY),
            timeout,
        }
    }

    pub fn check(&mut self, now: Instant, source: u16, seq: u32) -> Verdict {
        match self.seen.get(&(source, seq)) {
            Some(expires) if *expires > now => return Verdict::Duplicate,
            _ => {}
        }
        if self.seen.len() >= CAPACITY && !self.seen.contains_key(&(source, seq)) {
            self.sweep(now);
            if self.seen.len() >= CAPACITY {
                return Verdict::Full;
            }
        }
        self.seen.insert((source, seq), now + self.timeout);
        Verdict::Fresh
    }

    pub fn sweep(&mut self, now: Instant) {
        self.seen.retain(|_, expires| *expires > now);
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // a test's one real instant, as an origin
    fn same_content_new_seq_is_fresh() {
        let t = Instant::now();
        let mut d = Dedup::new(Duration::from_secs(40));
        assert_eq!(d.check(t, 1, 7), Verdict::Fresh);
        assert_eq!(d.check(t, 1, 7), Verdict::Duplicate);
        assert_eq!(d.check(t, 2, 7), Verdict::Fresh, "other source");
        assert_eq!(
            d.check(t, 1, 8),
            Verdict::Fresh,
            "a repeat with a new seq passes"
        );
        assert_eq!(
            d.check(t + Duration::from_secs(40), 1, 7),
            Verdict::Fresh,
            "expired"
        );
    }
}
