//! [`Outbox`]: one data-path thread's copy of the node's output, taken out
//! under the node's lock so the syscalls that send it run unlocked.
//!
//! While a thread holds the shared node it calls [`Outbox::collect`] after
//! every input: the node's transmits and frames move into the outbox's own
//! preallocated rings (a copy of ~1.5 KB each, far cheaper than the
//! `sendmsg`/tap `write` that follows), and whether the node has events for
//! the control thread is noted. After the lock is released the thread sends
//! `tx` through its reactor and writes `frames` to its interface queue.
//!
//! When a ring is full `collect` stops taking: the rest stays in the node's
//! own rings (which count their overflow as drops) for the next `collect`
//! by whichever thread locks the node next.
//!
//! With the node's deferred crypto on, a datagram may still be plaintext:
//! its seal job travels with it in `tx`, and the data path runs it (unlocked,
//! on its own thread) before the datagram goes to the socket.

use std::net::SocketAddr;

use crate::node::Node;
use crate::node::ring::PacketRing;
use crate::wg::SealJob;

/// Datagrams one outbox holds. Datagrams handed out inside one reactor
/// wake-up can only be sent after it, so a relay's forwards pile up here:
/// a wake-up after the thread was preempted for a few milliseconds holds
/// thousands. With 1024 slots a relay at 1.5–2 Gbit/s on the busy 2-core
/// VM still dropped 0.2–0.3 % (`tx_queue_full`); 4096 (~6 MB at MTU 1416)
/// covers ~25 ms of such traffic.
pub const TX_SLOTS: usize = 4096;
/// Frames for the interface: written whenever a batch ends, so two batches.
pub const FRAME_SLOTS: usize = 128;

/// Preallocated rings for one thread's share of the node's output.
#[derive(Debug)]
pub struct Outbox {
    /// Datagrams and, for those not sealed yet, their seal job.
    pub tx: PacketRing<(SocketAddr, Option<SealJob>)>,
    pub frames: PacketRing<()>,
    /// The node had events waiting at the last `collect`.
    pub events: bool,
}

impl Outbox {
    /// Rings of `slot_len` bytes per packet (`Node::max_transmit_len`).
    pub fn new(slot_len: usize) -> Self {
        Self::with_slots(TX_SLOTS, FRAME_SLOTS, slot_len)
    }

    pub fn with_slots(tx: usize, frames: usize, slot_len: usize) -> Self {
        Outbox {
            tx: PacketRing::new(tx, slot_len),
            frames: PacketRing::new(frames, slot_len),
            events: false,
        }
    }

    /// Moves the node's queued transmits and frames here (as many as fit).
    pub fn collect(&mut self, node: &mut Node) {
        // A packet popped earlier is sent or written by now (the borrow
        // ended); its slot is free again.
        self.tx.clear_popped();
        self.frames.clear_popped();
        while self.tx.reserve().is_some() {
            let Some(t) = node.poll_transmit() else {
                break;
            };
            if let Some(slot) = self.tx.reserve()
                && let Some(dst) = slot.get_mut(..t.payload.len())
            {
                dst.copy_from_slice(t.payload);
                self.tx.commit(0..t.payload.len(), (t.dst, t.seal));
            }
        }
        while self.frames.reserve().is_some() {
            let Some(f) = node.poll_frame() else {
                break;
            };
            if let Some(slot) = self.frames.reserve()
                && let Some(dst) = slot.get_mut(..f.len())
            {
                dst.copy_from_slice(f);
                self.frames.commit(0..f.len(), ());
            }
        }
        self.events |= node.has_events();
    }

    /// Whether the frame ring should be written out before more input.
    pub fn frames_full(&self) -> bool {
        self.frames.len() + 1 >= self.frames.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeId;
    use crate::node::{NodeConfig, PeerConfig};
    use crate::wg::keys;
    use std::time::{Duration, Instant};

    fn node(now: Instant) -> Node {
        let key = |n: u8| keys::private_key_from_random([n; 32]);
        let peers = (2..5u16)
            .map(|p| PeerConfig {
                id: NodeId::new(p).unwrap(),
                public_key: keys::public_key(&key(p as u8)),
                preshared_key: None,
                endpoint: Some(SocketAddr::from(([127, 0, 0, 1], 4000 + p))),
                is_static: true,
                persistent_keepalive: None,
            })
            .collect();
        let cfg = NodeConfig {
            id: NodeId::new(1).unwrap(),
            private_key: key(1),
            peers,
            default_ttl: 8,
            l2_fib_timeout: Duration::from_secs(300),
            max_frame_len: 1514,
            next_hops: egd_routing::NextHopTable::new(),
            dup_check_timeout: Duration::from_secs(10),
            ping_interval: Some(Duration::from_secs(1)),
        };
        Node::new(cfg, [7; 32], now, Duration::from_secs(1_700_000_000))
    }

    /// Drives a node through a flood (handshakes to every neighbour) and a
    /// timer round; returns what it transmits, in order.
    fn drive(n: &mut Node, now: Instant, mut take: impl FnMut(&mut Node)) {
        let mut frame = [0u8; 60];
        frame[..6].copy_from_slice(&[0xff; 6]);
        frame[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        n.handle_frame(now, &frame);
        take(n);
        n.handle_timeout(now + Duration::from_secs(6));
        take(n);
    }

    /// An outbox with room for one datagram at a time sees exactly the
    /// datagrams a twin node hands out directly, in the same order: what
    /// does not fit waits in the node, nothing is lost or reordered.
    #[test]
    fn collect_keeps_order_and_loses_nothing_when_full() {
        let now = Instant::now();
        let mut direct = Vec::new();
        let mut twin = node(now);
        drive(&mut twin, now, |n| {
            while let Some(t) = n.poll_transmit() {
                direct.push((t.dst, t.payload.to_vec()));
            }
        });
        assert!(
            direct.len() >= 3,
            "a handshake per neighbour: {}",
            direct.len()
        );

        let mut via_outbox = Vec::new();
        let mut n = node(now);
        let mut out = Outbox::with_slots(1, 4, n.max_transmit_len());
        drive(&mut n, now, |n| {
            loop {
                out.collect(n);
                assert!(out.tx.len() <= 1);
                let Some(((dst, _), payload)) = out.tx.pop() else {
                    break;
                };
                via_outbox.push((dst, payload.to_vec()));
            }
        });
        assert_eq!(via_outbox, direct);
        assert!(out.frames.is_empty());
    }
}
