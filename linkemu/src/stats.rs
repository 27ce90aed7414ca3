//! [`LinkStats`]: what each direction did with the datagrams it received.
//!
//! How to drive it: call [`crate::Link::stats`] for a snapshot; compare
//! fields in tests, or print [`LinkStats::to_json`] (one line, what the
//! binary's `stats` command answers). Every received datagram ends up in
//! exactly one of `forwarded`, `lost`, `down`, `too_big`, `overflow`,
//! `no_peer`, `send_errors`, or is still `queued`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// One direction's counters (totals since the start) and gauges (`queued`,
/// `queued_bytes`: now; `peak_queued`: the high-water mark).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Datagrams read from the listening socket.
    pub received: u64,
    /// Datagrams sent on after their delay.
    pub forwarded: u64,
    /// Dropped by the loss draw.
    pub lost: u64,
    /// Dropped because the direction was down.
    pub down: u64,
    /// Dropped for exceeding the MTU.
    pub too_big: u64,
    /// Dropped because the queue held its [`crate::QueueLimit`].
    pub overflow: u64,
    /// b→a only: due, but no return address was known (nothing had been
    /// received on `a_listen` yet and no `a_peer` was configured).
    pub no_peer: u64,
    /// Due, but the kernel refused the send.
    pub send_errors: u64,
    /// In flight now.
    pub queued: u64,
    /// Payload bytes in flight now.
    pub queued_bytes: u64,
    /// The most datagrams in flight at once so far.
    pub peak_queued: u64,
}

impl DirectionStats {
    /// Every field with its name, in declaration order.
    pub fn fields(&self) -> [(&'static str, u64); 11] {
        [
            ("received", self.received),
            ("forwarded", self.forwarded),
            ("lost", self.lost),
            ("down", self.down),
            ("too_big", self.too_big),
            ("overflow", self.overflow),
            ("no_peer", self.no_peer),
            ("send_errors", self.send_errors),
            ("queued", self.queued),
            ("queued_bytes", self.queued_bytes),
            ("peak_queued", self.peak_queued),
        ]
    }
}

/// Both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub a_to_b: DirectionStats,
    pub b_to_a: DirectionStats,
}

impl LinkStats {
    /// One line of JSON: `{"a_to_b":{"received":3,…},"b_to_a":{…}}`.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (name, dir)) in [("a_to_b", &self.a_to_b), ("b_to_a", &self.b_to_a)]
            .into_iter()
            .enumerate()
        {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(out, "{comma}\"{name}\":{{");
            for (j, (field, value)) in dir.fields().into_iter().enumerate() {
                let comma = if j == 0 { "" } else { "," };
                let _ = write!(out, "{comma}\"{field}\":{value}");
            }
            out.push('}');
        }
        out.push('}');
        out
    }
}

/// The counters one direction's threads bump: atomics, so a stats snapshot
/// never waits for the data path.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) received: AtomicU64,
    pub(crate) forwarded: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) down: AtomicU64,
    pub(crate) too_big: AtomicU64,
    pub(crate) overflow: AtomicU64,
    pub(crate) no_peer: AtomicU64,
    pub(crate) send_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        // Relaxed: each counter is a tally on its own; no other memory is
        // published through it.
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters; the caller fills in the queue gauges.
    pub(crate) fn snapshot(&self) -> DirectionStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DirectionStats {
            received: get(&self.received),
            forwarded: get(&self.forwarded),
            lost: get(&self.lost),
            down: get(&self.down),
            too_big: get(&self.too_big),
            overflow: get(&self.overflow),
            no_peer: get(&self.no_peer),
            send_errors: get(&self.send_errors),
            ..DirectionStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_one_line_with_every_field() {
        let mut stats = LinkStats::default();
        stats.a_to_b.forwarded = 5;
        stats.b_to_a.peak_queued = 9;
        let json = stats.to_json();
        assert!(!json.contains('\n'));
        assert!(
            json.starts_with("{\"a_to_b\":{\"received\":0,\"forwarded\":5,"),
            "{json}"
        );
        assert!(json.ends_with("\"peak_queued\":9}}"), "{json}");
        assert_eq!(json.matches(':').count(), 2 + 2 * 11);
    }
}
