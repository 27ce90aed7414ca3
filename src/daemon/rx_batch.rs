//! [`RxBatch`]: received transport datagrams waiting to be decrypted
//! outside the node's lock.
//!
//! A data-path thread receives a wake-up's datagrams one at a time from
//! its reactor, each lent only for the callback. Under the node's lock it
//! [`push`](RxBatch::push)es each: the node pre-checks the message
//! (`Node::prepare_datagram`: keypair by receiver index, replay window
//! untouched) and the datagram is copied into a preallocated slot with its
//! `OpenJob`; anything that is not transport data (handshakes, cookies,
//! drops) is handled there and then. When the batch is full or the wake-up
//! ends, the thread releases the lock, [`open_all`](RxBatch::open_all)
//! decrypts every slot in place — the ChaCha20-Poly1305 work, in parallel
//! with the other threads — and, under the lock again,
//! [`finish_all`](RxBatch::finish_all) hands each result to
//! `Node::finish_datagram` in arrival order (replay window, timers,
//! delivery or relaying).
//!
//! ```text
//! if !rx.takes_next(datagram) { settle } // a handshake must not overtake data
//! rx.push(&mut locked_node, now, from, datagram);
//! if rx.is_full() { settle }            // settle = unlock; open_all; lock; finish_all; unlock
//! ```
//!
//! Two locks per batch instead of one, and one copy of each datagram
//! (~1.5 KB, a fraction of its decryption). Every slot is allocated when
//! the thread starts.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Instant;

use crate::node::Node;
use crate::wg::{OpenFailure, OpenJob};

/// One datagram waiting: where it came from, its length in its slot, its
/// job, and once opened, the result.
struct Pending {
    from: SocketAddr,
    len: usize,
    job: OpenJob,
    opened: Option<Result<Range<usize>, OpenFailure>>,
}

/// Preallocated slots for one batch of received transport datagrams.
pub struct RxBatch {
    bufs: Vec<Box<[u8]>>,
    pending: Vec<Option<Pending>>,
    len: usize,
    /// Datagrams opened under the lock because they did not fit a slot.
    pub in_place: u64,
}

impl std::fmt::Debug for RxBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RxBatch")
            .field("slots", &self.bufs.len())
            .field("len", &self.len)
            .finish()
    }
}

impl RxBatch {
    /// `slots` datagrams of up to `slot_len` bytes.
    pub fn new(slots: usize, slot_len: usize) -> Self {
        let slots = slots.max(1);
        RxBatch {
            bufs: (0..slots)
                .map(|_| vec![0u8; slot_len].into_boxed_slice())
                .collect(),
            pending: (0..slots).map(|_| None).collect(),
            len: 0,
            in_place: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len >= self.bufs.len()
    }

    /// Whether `datagram` may join the batch as it is: true for transport
    /// data, or when nothing waits. Otherwise settle the batch first, so a
    /// handshake message is handled after the data received before it.
    pub fn takes_next(&self, datagram: &[u8]) -> bool {
        self.is_empty() || datagram.first() == Some(&4)
    }

    /// Under the lock: prepares `datagram` on `node`; transport data is
    /// copied into the batch with its job, everything else is handled by
    /// the node at once. The batch must not be full.
    pub fn push(&mut self, node: &mut Node, now: Instant, from: SocketAddr, datagram: &mut [u8]) {
        let Some(job) = node.prepare_datagram(now, from, datagram) else {
            return;
        };
        let dst = self
            .bufs
            .get_mut(self.len)
            .and_then(|slot| slot.get_mut(..datagram.len()));
        let (Some(dst), Some(pending)) = (dst, self.pending.get_mut(self.len)) else {
            // Full (a caller bug), or longer than any datagram egd sends
            // (so not authentic, but it must be counted like any other):
            // open and finish it in place, under the lock.
            self.in_place += 1;
            let opened = job.open(datagram);
            node.finish_datagram(now, from, datagram, &job, opened);
            return;
        };
        dst.copy_from_slice(datagram);
        *pending = Some(Pending {
            from,
            len: datagram.len(),
            job,
            opened: None,
        });
        self.len += 1;
    }

    /// Unlocked: decrypts every waiting datagram in place.
    pub fn open_all(&mut self) {
        for (buf, pending) in self.bufs.iter_mut().zip(&mut self.pending).take(self.len) {
            if let Some(p) = pending
                && let Some(msg) = buf.get_mut(..p.len)
            {
                p.opened = Some(p.job.open(msg));
            }
        }
    }

    /// Under the lock: hands each datagram's result to the node, in
    /// arrival order, calling `after(node)` after each (the caller moves
    /// the node's output to its outbox there). Empties the batch.
    pub fn finish_all(&mut self, node: &mut Node, now: Instant, mut after: impl FnMut(&mut Node)) {
        for (buf, pending) in self.bufs.iter_mut().zip(&mut self.pending).take(self.len) {
            let Some(p) = pending.take() else { continue };
            let Some(msg) = buf.get_mut(..p.len) else {
                continue;
            };
            // Not opened (finish without open_all): open now.
            let opened = p.opened.unwrap_or_else(|| p.job.open(msg));
            node.finish_datagram(now, p.from, msg, &p.job, opened);
            after(node);
        }
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drop::DropReason;
    use crate::node::deferred_tests::{addr, frame, node, take};

    /// A wake-up's datagrams through the batch: handshakes are handled at
    /// push, data waits, is opened unlocked and finished in order; a
    /// duplicate in the same batch is delivered once; a handshake message
    /// arriving behind data asks for the batch to be settled first.
    #[test]
    fn batch_opens_later_and_delivers_each_once() {
        #[allow(clippy::disallowed_methods)] // a test's origin instant
        let now = Instant::now();
        let (mut a, mut b) = (node(1, 2, now), node(2, 1, now));
        let mac = |n: u8| [2, 0, 0, 0, 0, n];
        let mut plain = 0;
        let mut rx_a = RxBatch::new(64, 2048);
        let mut rx_b = RxBatch::new(64, 2048);
        let settle = |rx: &mut RxBatch, n: &mut Node| {
            rx.open_all();
            rx.finish_all(n, now, |_| {});
        };
        a.handle_frame(now, &frame([0xff; 6], mac(1), 0, 64));
        for _ in 0..4 {
            for mut d in take(&mut a, &mut plain) {
                if !rx_b.takes_next(&d) {
                    settle(&mut rx_b, &mut b);
                }
                rx_b.push(&mut b, now, addr(1), &mut d);
            }
            settle(&mut rx_b, &mut b);
            for mut d in take(&mut b, &mut plain) {
                rx_a.push(&mut a, now, addr(2), &mut d);
            }
            settle(&mut rx_a, &mut a);
        }
        b.handle_frame(now, &frame([0xff; 6], mac(2), 0, 64));
        for mut d in take(&mut b, &mut plain) {
            rx_a.push(&mut a, now, addr(2), &mut d);
        }
        settle(&mut rx_a, &mut a);
        while b.poll_frame().is_some() {}

        for i in 1..=10u8 {
            a.handle_frame(now, &frame(mac(2), mac(1), i, 800));
        }
        let mut data = take(&mut a, &mut plain);
        assert_eq!(data.len(), 10);
        let mut dup = data[3].clone();
        for d in &mut data {
            rx_b.push(&mut b, now, addr(1), d);
        }
        rx_b.push(&mut b, now, addr(1), &mut dup);
        assert!(!rx_b.is_empty());
        assert!(rx_b.takes_next(&data[0]), "more data joins");
        assert!(!rx_b.takes_next(&[1, 0, 0, 0]), "a handshake waits");
        assert_eq!(b.poll_frame(), None, "nothing delivered before finish");
        let mut after = 0;
        rx_b.open_all();
        rx_b.finish_all(&mut b, now, |_| after += 1);
        assert_eq!(after, 11);
        assert!(rx_b.is_empty());
        let mut got = Vec::new();
        while let Some(f) = b.poll_frame() {
            got.push(f[20]);
        }
        assert_eq!(got, (1..=10u8).collect::<Vec<_>>(), "in arrival order");
        assert_eq!(b.metrics().dropped_for(DropReason::Replay), 1);

        // A datagram longer than a slot is opened and finished at once.
        let mut small = RxBatch::new(4, 256);
        a.handle_frame(now, &frame(mac(2), mac(1), 11, 800));
        let mut long = take(&mut a, &mut plain);
        small.push(&mut b, now, addr(1), &mut long[0]);
        assert_eq!((small.in_place, small.is_empty()), (1, true));
        assert_eq!(b.poll_frame().map(|f| f[20]), Some(11));
    }
}
