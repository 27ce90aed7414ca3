//! [`DelayQueue`]: one direction's datagrams in flight, ordered by due time,
//! bounded in count and bytes.
//!
//! How to drive it: [`DelayQueue::push`] each accepted datagram with its due
//! time (it refuses one that would break the [`QueueLimit`]), ask
//! [`DelayQueue::next_due`] how long to sleep, and [`DelayQueue::pop_due`]
//! everything whose time has come. It reads no clock: `now` comes in, so the
//! ordering and bounds are tested without waiting.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::Instant;

/// How much one direction may hold in flight before it drops arrivals
/// (counted as `overflow`), like a router's bounded buffer. Without a bound a
/// flood through a long delay would grow without limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimit {
    /// Most datagrams in flight.
    pub datagrams: usize,
    /// Most payload bytes in flight.
    pub bytes: usize,
}

impl QueueLimit {
    /// Room for a 100 Mbit/s flow of 1400-byte datagrams through a 1 s delay
    /// (~9 000 datagrams, ~12.5 MB): far beyond what a test sends, yet
    /// a bound.
    pub const DEFAULT: Self = Self {
        datagrams: 16_384,
        bytes: 32 << 20,
    };
}

impl Default for QueueLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Datagrams awaiting their due time.
#[derive(Debug)]
pub(crate) struct DelayQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    bytes: usize,
    /// Arrival order, which breaks ties between equal due times: with
    /// `reorder == false` many datagrams share the clamped due time and must
    /// still leave first-in first-out.
    next_seq: u64,
    /// The latest due time accepted so far; a non-reordering push is never
    /// due before it.
    latest_due: Option<Instant>,
    limit: QueueLimit,
    peak_len: usize,
}

impl DelayQueue {
    pub(crate) fn new(limit: QueueLimit) -> Self {
        Self {
            heap: BinaryHeap::new(),
            bytes: 0,
            next_seq: 0,
            latest_due: None,
            limit,
            peak_len: 0,
        }
    }

    /// Queues `payload` to leave at `due`, or not before any earlier push if
    /// `reorder` is false. Gives the payload back if the queue is full.
    pub(crate) fn push(
        &mut self,
        due: Instant,
        reorder: bool,
        payload: Vec<u8>,
    ) -> Result<(), Vec<u8>> {
        let full = self.heap.len() >= self.limit.datagrams
            || self.bytes.saturating_add(payload.len()) > self.limit.bytes;
        if full {
            return Err(payload);
        }
        let due = match self.latest_due {
            Some(latest) if !reorder => due.max(latest),
            _ => due,
        };
        self.latest_due = Some(self.latest_due.map_or(due, |latest| latest.max(due)));
        self.bytes += payload.len();
        self.heap.push(Reverse(Entry {
            due,
            seq: self.next_seq,
            payload,
        }));
        self.next_seq += 1;
        self.peak_len = self.peak_len.max(self.heap.len());
        Ok(())
    }

    /// When the first datagram is due, if any is queued.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(entry)| entry.due)
    }

    /// The first datagram if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.next_due()? > now {
            return None;
        }
        let Reverse(entry) = self.heap.pop()?;
        self.bytes -= entry.payload.len();
        Some(entry.payload)
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The most datagrams held at once since the start.
    pub(crate) fn peak_len(&self) -> usize {
        self.peak_len
    }
}

#[derive(Debug)]
struct Entry {
    due: Instant,
    seq: u64,
    payload: Vec<u8>,
}

// Ordered by (due, seq) only: the payload takes no part.
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

#[cfg(test)]
mod tests {
    #![allow(clippy::disallowed_methods)] // one real Instant as the origin; nothing waits

    use super::*;
    use std::time::Duration;

    const ROOMY: QueueLimit = QueueLimit {
        datagrams: 100,
        bytes: 10_000,
    };

    fn drain(queue: &mut DelayQueue, now: Instant) -> Vec<u8> {
        std::iter::from_fn(|| queue.pop_due(now))
            .map(|p| p[0])
            .collect()
    }

    #[test]
    fn reordering_queue_leaves_in_due_order() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut q = DelayQueue::new(ROOMY);
        for (tag, due) in [(0u8, 30), (1, 10), (2, 20), (3, 10)] {
            q.push(ms(due), true, vec![tag]).unwrap();
        }
        assert_eq!(q.next_due(), Some(ms(10)));
        assert_eq!(drain(&mut q, ms(9)), Vec::<u8>::new(), "nothing early");
        assert_eq!(
            drain(&mut q, ms(10)),
            vec![1, 3],
            "ties leave in arrival order"
        );
        assert_eq!(drain(&mut q, ms(100)), vec![2, 0]);
        assert_eq!((q.len(), q.bytes(), q.next_due()), (0, 0, None));
    }

    #[test]
    fn non_reordering_queue_is_first_in_first_out() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut q = DelayQueue::new(ROOMY);
        for (tag, due) in [(0u8, 30), (1, 10), (2, 40), (3, 35)] {
            q.push(ms(due), false, vec![tag]).unwrap();
        }
        assert_eq!(drain(&mut q, ms(29)), Vec::<u8>::new(), "1 waits behind 0");
        assert_eq!(drain(&mut q, ms(30)), vec![0, 1]);
        assert_eq!(
            drain(&mut q, ms(40)),
            vec![2, 3],
            "3 raised to 2's due time"
        );
    }

    #[test]
    fn limits_on_count_and_bytes_refuse_arrivals_until_room_frees() {
        let t0 = Instant::now();
        let mut q = DelayQueue::new(QueueLimit {
            datagrams: 3,
            bytes: 1_000,
        });
        for _ in 0..3 {
            q.push(t0, true, vec![0; 10]).unwrap();
        }
        assert_eq!(
            q.push(t0, true, vec![7; 10]),
            Err(vec![7; 10]),
            "count bound"
        );
        q.pop_due(t0).unwrap();
        q.push(t0, true, vec![0; 10]).unwrap();
        assert_eq!((q.len(), q.bytes()), (3, 30));

        let mut q = DelayQueue::new(QueueLimit {
            datagrams: 100,
            bytes: 25,
        });
        q.push(t0, true, vec![0; 20]).unwrap();
        assert!(q.push(t0, true, vec![0; 6]).is_err(), "byte bound");
        q.push(t0, true, vec![0; 5]).unwrap();
        assert_eq!((q.bytes(), q.peak_len()), (25, 2));
    }
}
