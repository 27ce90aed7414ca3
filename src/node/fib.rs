//! The L2 forwarding information base: which node a MAC address lives behind,
//! learned from the source MACs of received frames (docs/system.md#data-plane). Entries
//! expire after `L2FIBTimeout`; the table never grows past its capacity.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::NodeId;
use crate::wire::ethernet::Mac;

/// Most MACs one node tracks. Past this, new MACs are not learned (their
/// frames go as broadcast) until old entries expire.
pub const CAPACITY: usize = 16_384;

#[derive(Debug)]
pub struct Fib {
    entries: HashMap<Mac, (NodeId, Instant)>,
    timeout: Duration,
}

impl Fib {
    pub fn new(timeout: Duration) -> Self {
        Self {
            entries: HashMap::with_capacity(CAPACITY),
            timeout,
        }
    }

    /// Remembers that `mac` is behind `node` as of `now`. Returns false when
    /// the table is full of live entries and `mac` was not learned.
    pub fn learn(&mut self, now: Instant, mac: Mac, node: NodeId) -> bool {
        let expires = now + self.timeout;
        if let Some(e) = self.entries.get_mut(&mac) {
            *e = (node, expires);
            return true;
        }
        if self.entries.len() >= CAPACITY {
            self.sweep(now);
            if self.entries.len() >= CAPACITY {
                return false;
            }
        }
        self.entries.insert(mac, (node, expires));
        true
    }

    /// The node behind `mac`, if known and not expired.
    pub fn lookup(&self, now: Instant, mac: &Mac) -> Option<NodeId> {
        self.entries
            .get(mac)
            .filter(|(_, expires)| *expires > now)
            .map(|(node, _)| *node)
    }

    /// Forgets expired entries.
    pub fn sweep(&mut self, now: Instant) {
        self.entries.retain(|_, (_, expires)| *expires > now);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // a test's one real instant, as an origin
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn learns_moves_and_expires() {
        let t = t0();
        let n = |v| NodeId::new(v).unwrap();
        let mut fib = Fib::new(Duration::from_secs(10));
        let mac = [2, 0, 0, 0, 0, 1];
        assert_eq!(fib.lookup(t, &mac), None);
        assert!(fib.learn(t, mac, n(3)));
        assert_eq!(fib.lookup(t + Duration::from_secs(9), &mac), Some(n(3)));
        assert!(
            fib.learn(t + Duration::from_secs(5), mac, n(4)),
            "a MAC that moved"
        );
        assert_eq!(fib.lookup(t + Duration::from_secs(14), &mac), Some(n(4)));
        assert_eq!(
            fib.lookup(t + Duration::from_secs(15), &mac),
            None,
            "expired"
        );
        fib.sweep(t + Duration::from_secs(15));
        assert_eq!(fib.len(), 0);
    }

    #[test]
    fn bounded() {
        let t = t0();
        let mut fib = Fib::new(Duration::from_secs(10));
        for i in 0..CAPACITY as u32 {
            let b = i.to_be_bytes();
            assert!(fib.learn(t, [2, 0, b[0], b[1], b[2], b[3]], NodeId::new(1).unwrap()));
        }
        assert!(
            !fib.learn(t, [2, 1, 0, 0, 0, 0], NodeId::new(1).unwrap()),
            "full of live entries"
        );
        assert!(
            fib.learn(
                t + Duration::from_secs(10),
                [2, 1, 0, 0, 0, 0],
                NodeId::new(1).unwrap()
            ),
            "old ones expired"
        );
        assert_eq!(fib.len(), 1);
    }
}
