//! The node's ChaCha20-Poly1305 work split from its bookkeeping, so that
//! data-path threads sharing one `Node` behind a lock can encrypt and
//! decrypt in parallel, outside it (docs/multiqueue.md).
//!
//! Sending: after [`Node::set_deferred_crypto`]`(true)` every data datagram
//! the node queues has its counter reserved, its header written and all
//! timers and rekeying done, but is still plaintext: `poll_transmit` hands
//! it out with `seal: Some(job)`. The owner copies it (it does anyway, to
//! send unlocked), releases the lock and runs `job.seal` on the copy.
//! Handshakes, keepalives and packets parked for a handshake are sealed at
//! once as before (they are rare).
//!
//! Receiving, per datagram, in three steps:
//!
//! ```text
//! // under the lock
//! let job = node.prepare_datagram(now, from, &mut buf);  // None: handled or dropped already
//! // unlocked
//! let opened = job.open(&mut buf);                        // decrypt in place
//! // under the lock again
//! node.finish_datagram(now, from, &mut buf, &job, opened); // window, timers, deliver/forward
//! ```
//!
//! `prepare_datagram` looks the keypair up by receiver index and pre-checks
//! the replay window without changing it; handshake and cookie messages
//! are handled completely there. `finish_datagram` accepts the counter into
//! the window — exactly once: if two threads opened copies of one datagram,
//! the second finish drops it as a replay — then does what
//! `handle_datagram` does with the plaintext. An owner batching many
//! datagrams should finish the pending ones before handing a non-transport
//! message to `prepare_datagram`, so a handshake never overtakes data
//! received before it.
//!
//! With deferred crypto off (the default: the simulator, the supernode)
//! nothing changes; `handle_datagram` runs the same three steps in a row.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Instant;

use super::Node;
use crate::wg::{OpenFailure, OpenJob, Prepared};

impl Node {
    /// Leave data datagrams unsealed, with their seal job in
    /// [`super::Transmit::seal`] (see the module docs). Off by default.
    pub fn set_deferred_crypto(&mut self, on: bool) {
        self.deferred_crypto = on;
    }

    /// First step of receiving `buf`: `Some(job)` for transport data that
    /// may be accepted (decrypt with `job.open(buf)`, then
    /// [`finish_datagram`](Self::finish_datagram)); `None` when the
    /// datagram was handled (a handshake) or dropped (counted) already.
    pub fn prepare_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        buf: &mut [u8],
    ) -> Option<OpenJob> {
        match self.wg.open_prepare(now, from, buf) {
            Prepared::Open(job) => Some(job),
            Prepared::Done(opened) => {
                self.after_open(now, from, buf, opened);
                None
            }
        }
    }

    /// Last step: `opened` is what `job.open(buf)` returned. Accepts the
    /// counter (at most once), updates the session and delivers or relays
    /// the plaintext in `buf`.
    pub fn finish_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        buf: &mut [u8],
        job: &OpenJob,
        opened: Result<Range<usize>, OpenFailure>,
    ) {
        let opened = self.wg.open_finish(now, job, opened);
        self.after_open(now, from, buf, opened);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::NodeId;
    use crate::drop::DropReason;
    use crate::node::{NodeConfig, PeerConfig};
    use crate::wg::keys::{private_key_from_random, public_key};
    use egd_routing::NextHopTable;
    use std::time::Duration;

    fn id(n: u16) -> NodeId {
        NodeId::new(n).unwrap()
    }

    pub(crate) fn addr(n: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, n as u8], 3000 + n))
    }

    /// Node `me` with the single neighbour `other` (static routes, at
    /// `addr(other)`), deferred crypto on.
    pub(crate) fn node(me: u16, other: u16, now: Instant) -> Node {
        let key = |i: u16| private_key_from_random([i as u8; 32]);
        let mut table = NextHopTable::new();
        table.insert(id(1), id(2), id(2));
        table.insert(id(2), id(1), id(1));
        let cfg = NodeConfig {
            id: id(me),
            private_key: key(me),
            peers: vec![PeerConfig {
                id: id(other),
                public_key: public_key(&key(other)),
                preshared_key: None,
                endpoint: Some(addr(other)),
                is_static: true,
                persistent_keepalive: None,
            }],
            default_ttl: 8,
            l2_fib_timeout: Duration::from_secs(3600),
            max_frame_len: 1514,
            next_hops: table,
            dup_check_timeout: Duration::from_secs(40),
            ping_interval: None,
        };
        let mut n = Node::new(cfg, [me as u8; 32], now, Duration::from_secs(1_767_225_600));
        n.set_deferred_crypto(true);
        n
    }

    /// What `from` transmits, sealed by its jobs (as a data path does
    /// after releasing the lock); `plain` counts datagrams that came out
    /// unsealed with a job.
    pub(crate) fn take(from: &mut Node, plain: &mut usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(t) = from.poll_transmit() {
            let mut bytes = t.payload.to_vec();
            if let Some(job) = t.seal {
                *plain += 1;
                job.seal(&mut bytes).unwrap();
            }
            out.push(bytes);
        }
        out
    }

    /// Handles datagrams the way a data path does: all prepared (under
    /// the lock), all opened (unlocked), then finished in `order`.
    fn batch(
        to: &mut Node,
        from: SocketAddr,
        now: Instant,
        dgrams: &mut [Vec<u8>],
        order: &[usize],
    ) {
        let mut jobs = Vec::new();
        for (i, d) in dgrams.iter_mut().enumerate() {
            if let Some(job) = to.prepare_datagram(now, from, d) {
                jobs.push((i, job));
            }
        }
        let mut opened: Vec<_> = jobs
            .into_iter()
            .map(|(i, job)| {
                let r = job.open(&mut dgrams[i]);
                (i, job, r)
            })
            .collect();
        for &k in order {
            if k >= opened.len() {
                continue;
            }
            let (i, job, r) = &mut opened[k];
            let r = std::mem::replace(r, Err(OpenFailure::Decrypt));
            to.finish_datagram(now, from, &mut dgrams[*i], job, r);
        }
    }

    pub(crate) fn frame(dst: [u8; 6], src: [u8; 6], fill: u8, len: usize) -> Vec<u8> {
        let mut f = vec![fill; len];
        f[..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&src);
        f
    }

    /// Frames go through two nodes with deferred crypto: the data leaves
    /// `poll_transmit` unsealed with its job, arrives in a batch finished
    /// out of order, is delivered once each; a duplicated datagram in the
    /// same batch passes the pre-check twice but is delivered once and
    /// counted as a replay.
    #[test]
    fn deferred_pair_delivers_each_datagram_once() {
        #[allow(clippy::disallowed_methods)] // a test's origin instant
        let now = Instant::now();
        let (mut a, mut b) = (node(1, 2, now), node(2, 1, now));
        let mac = |n: u8| [2, 0, 0, 0, 0, n];
        let mut plain = 0;
        // Handshake and MAC learning (handshake messages are sealed at once).
        a.handle_frame(now, &frame([0xff; 6], mac(1), 0, 64));
        for _ in 0..4 {
            let mut d = take(&mut a, &mut plain);
            let order: Vec<usize> = (0..d.len()).collect();
            batch(&mut b, addr(1), now, &mut d, &order);
            let mut d = take(&mut b, &mut plain);
            let order: Vec<usize> = (0..d.len()).collect();
            batch(&mut a, addr(2), now, &mut d, &order);
        }
        b.handle_frame(now, &frame([0xff; 6], mac(2), 0, 64));
        let mut d = take(&mut b, &mut plain);
        batch(&mut a, addr(2), now, &mut d, &[0]);
        while b.poll_frame().is_some() {}
        while a.poll_frame().is_some() {}

        let before = plain;
        for i in 0..20u8 {
            a.handle_frame(now, &frame(mac(2), mac(1), i, 1000));
        }
        let mut d = take(&mut a, &mut plain);
        assert_eq!((d.len(), plain - before), (20, 20), "all data deferred");
        for (i, dgram) in d.iter().enumerate() {
            let fill = i as u8;
            assert!(
                !dgram.windows(64).any(|w| w.iter().all(|&x| x == fill)),
                "datagram {i} is sealed"
            );
        }
        d.push(d[5].clone());
        let order: Vec<usize> = (0..d.len()).rev().collect();
        batch(&mut b, addr(1), now, &mut d, &order);
        let mut got = Vec::new();
        while let Some(f) = b.poll_frame() {
            got.push(f[20]);
        }
        got.sort_unstable();
        assert_eq!(got, (0..20u8).collect::<Vec<_>>());
        assert_eq!(b.metrics().dropped_for(DropReason::Replay), 1);
        assert_eq!(
            b.metrics().delivered_packets,
            21,
            "20 + the warm-up broadcast"
        );
    }
}
