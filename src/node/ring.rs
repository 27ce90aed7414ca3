//! A fixed ring of packet buffers, allocated once: the node's output queues
//! (datagrams to send, frames to deliver, frames awaiting a handshake).
//!
//! Drive it with [`PacketRing::reserve`] (a free slot to write into, or
//! `None` when full — the caller counts a drop), [`PacketRing::commit`] (the
//! slot now holds `range` and `meta`), and [`PacketRing::pop`] (the oldest
//! packet; its slot stays untouched until the next `pop` or `clear_popped`,
//! so the borrow can be handed to a caller; [`PacketRing::pop_mut`] lends
//! it writable, e.g. to encrypt it in place). The meta is moved out by
//! `pop`, so it need not be `Copy` (a transmit's deferred seal job holds an
//! `Arc`).

use std::ops::Range;

#[derive(Debug)]
pub struct PacketRing<M> {
    slots: Vec<Box<[u8]>>,
    meta: Vec<Option<(M, Range<usize>)>>,
    /// Index of the oldest committed (or popped-but-held) slot.
    head: usize,
    /// Slots in use, including one popped slot still lent out.
    used: usize,
    /// Whether the slot at `head` was popped and is lent to the caller.
    lent: bool,
}

impl<M> PacketRing<M> {
    /// `count` slots of `slot_len` bytes each.
    pub fn new(count: usize, slot_len: usize) -> Self {
        let count = count.max(1);
        Self {
            slots: (0..count)
                .map(|_| vec![0u8; slot_len].into_boxed_slice())
                .collect(),
            meta: (0..count).map(|_| None).collect(),
            head: 0,
            used: 0,
            lent: false,
        }
    }

    pub fn slot_len(&self) -> usize {
        self.slots.first().map_or(0, |s| s.len())
    }

    /// Packets waiting (not counting one lent out).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn len(&self) -> usize {
        self.used - usize::from(self.lent)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next free slot, or `None` when every slot is in use.
    pub fn reserve(&mut self) -> Option<&mut [u8]> {
        if self.used == self.slots.len() {
            return None;
        }
        let idx = (self.head + self.used) % self.slots.len();
        self.slots.get_mut(idx).map(|s| &mut s[..])
    }

    /// Marks the slot last returned by [`reserve`](Self::reserve) as holding a
    /// packet at `range` with `meta`.
    pub fn commit(&mut self, range: Range<usize>, meta: M) {
        if self.used == self.slots.len() {
            return;
        }
        let idx = (self.head + self.used) % self.slots.len();
        self.meta[idx] = Some((meta, range));
        self.used += 1;
    }

    /// Releases the slot lent by the previous [`pop`](Self::pop).
    pub fn clear_popped(&mut self) {
        if self.lent {
            self.meta[self.head] = None;
            self.head = (self.head + 1) % self.slots.len();
            self.used -= 1;
            self.lent = false;
            if self.used == 0 {
                // Empty: start again at the first slot. A ring drained after
                // every batch then keeps reusing its first few slots, which
                // stay in the cache, instead of cycling through all of them
                // (a 4096-slot outbox is ~6 MB: every packet missed the
                // cache on its slot and its meta).
                self.head = 0;
            }
        }
    }

    /// The oldest packet and its meta; lent until the next call.
    pub fn pop(&mut self) -> Option<(M, &[u8])> {
        self.pop_mut().map(|(m, b)| (m, &*b))
    }

    /// [`pop`](Self::pop), with the packet's bytes writable.
    pub fn pop_mut(&mut self) -> Option<(M, &mut [u8])> {
        self.clear_popped();
        if self.used == 0 {
            return None;
        }
        // The slot counts as lent even if its meta is missing, so the next
        // call moves past it.
        self.lent = true;
        let (meta, range) = self.meta[self.head].take()?;
        let bytes = self.slots[self.head].get_mut(range)?;
        Some((meta, bytes))
    }

    /// Drops everything queued.
    pub fn clear(&mut self) {
        while self.pop().is_some() {}
        self.clear_popped();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drained after every packet, the ring keeps using its first slot.
    #[test]
    fn an_emptied_ring_starts_over_at_its_first_slot() {
        let mut r: PacketRing<u8> = PacketRing::new(8, 4);
        for tag in 0..20u8 {
            let s = r.reserve().unwrap();
            s[0] = tag;
            let at = s.as_ptr();
            r.commit(0..1, tag);
            assert_eq!(at, r.slots[0].as_ptr(), "packet {tag}");
            assert_eq!(r.pop(), Some((tag, &[tag][..])));
            r.clear_popped();
        }
        // Partly drained, it stays a FIFO.
        for tag in 0..3u8 {
            r.reserve().unwrap()[0] = tag;
            r.commit(0..1, tag);
        }
        assert_eq!(r.pop(), Some((0, &[0u8][..])));
        r.reserve().unwrap()[0] = 3;
        r.commit(0..1, 3);
        let rest: Vec<u8> = std::iter::from_fn(|| r.pop().map(|(m, _)| m)).collect();
        assert_eq!(rest, [1, 2, 3]);
    }

    #[test]
    fn fifo_with_bounded_slots() {
        let mut r: PacketRing<u8> = PacketRing::new(2, 8);
        for tag in [1u8, 2] {
            let s = r.reserve().unwrap();
            s[0] = tag;
            r.commit(0..1, tag);
        }
        assert!(r.reserve().is_none(), "full");
        assert_eq!(r.pop(), Some((1, &[1u8][..])));
        // The popped slot is still lent: still full.
        assert!(r.reserve().is_none());
        assert_eq!(r.pop(), Some((2, &[2u8][..])));
        r.clear_popped();
        assert!(r.is_empty());
        let s = r.reserve().unwrap();
        s[..3].copy_from_slice(b"abc");
        r.commit(0..3, 3);
        assert_eq!(r.pop(), Some((3, &b"abc"[..])));
        assert_eq!(r.pop(), None);
    }
}
