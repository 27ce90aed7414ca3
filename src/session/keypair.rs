//! The transport state of one completed handshake: two ChaCha20-Poly1305
//! keys (ring's `LessSafeKey`, built once per handshake), the 64-bit send
//! counter and the receive replay window (paper §5.4.6).
//!
//! How to drive it: [`Keypair::seal`] turns `buf[payload]` into a whole
//! transport message in place — the caller leaves [`HEADER_LEN`] bytes of
//! headroom before the payload and [`TAG_LEN`] bytes after it; [`Keypair::open`]
//! decrypts a received message in place and returns where the plaintext is.
//! Nothing here allocates; the nonce is 4 zero bytes ‖ counter
//! (little-endian), the associated data is empty.
//!
//! Each also splits in two, so the cipher work can run outside a lock
//! (`super::crypt`): [`Keypair::reserve_seal`] takes the counter and writes
//! the header, the returned [`SealJob`] encrypts; [`Keypair::prepare_open`]
//! pre-checks the replay window and returns an [`OpenJob`] that decrypts,
//! and [`Keypair::finish_open`] accepts the counter afterwards. `seal` and
//! `open` are exactly these steps in a row.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ring::aead::{CHACHA20_POLY1305, LessSafeKey, UnboundKey};

use super::constants::{REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME};
use super::crypt::{OpenJob, SealJob};
use super::replay::ReplayWindow;
use crate::noise::handshake::SessionKeys;
use crate::wire::wg::{Transport, field};

/// Bytes before the payload: type, receiver index, counter.
pub const HEADER_LEN: usize = field::transport::HEADER_LEN;
/// Bytes after the payload: the Poly1305 tag.
pub const TAG_LEN: usize = field::transport::TAG_LEN;

/// Why a message could not be sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealFailure {
    /// The payload range lacks headroom or tailroom, or is reversed.
    Buffer,
    /// The send counter reached REJECT_AFTER_MESSAGES.
    Exhausted,
}

/// Why a received message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFailure {
    /// Counter already seen, too old, or past REJECT_AFTER_MESSAGES.
    Replay,
    /// The tag did not verify.
    Decrypt,
}

/// One handshake's transport keys and counters.
pub struct Keypair {
    /// Shared with the [`SealJob`]s and [`OpenJob`]s in flight (a job may
    /// outlive the keypair by a few packets; the key stays valid for it).
    send: Arc<LessSafeKey>,
    recv: Arc<LessSafeKey>,
    send_counter: u64,
    replay: ReplayWindow,
    /// Our index: the receiver index the peer writes on messages to us.
    pub local_index: u32,
    /// The peer's index, written on our messages.
    pub remote_index: u32,
    /// When the handshake completed.
    pub created: Instant,
    /// Did we send the initiation? (Only the initiator rekeys on age.)
    pub initiator: bool,
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keypair")
            .field("local_index", &self.local_index)
            .field("remote_index", &self.remote_index)
            .field("send_counter", &self.send_counter)
            .field("initiator", &self.initiator)
            .finish_non_exhaustive()
    }
}

fn key(bytes: &[u8; 32]) -> Option<Arc<LessSafeKey>> {
    UnboundKey::new(&CHACHA20_POLY1305, bytes)
        .ok()
        .map(|k| Arc::new(LessSafeKey::new(k)))
}

impl Keypair {
    /// Builds the ring keys; `keys` is erased when the caller drops it.
    pub fn new(
        keys: &SessionKeys,
        local_index: u32,
        remote_index: u32,
        created: Instant,
        initiator: bool,
    ) -> Option<Self> {
        Some(Self {
            send: key(&keys.send)?,
            recv: key(&keys.recv)?,
            send_counter: 0,
            replay: ReplayWindow::new(),
            local_index,
            remote_index,
            created,
            initiator,
        })
    }

    /// The counter the next sealed message will carry.
    pub fn send_counter(&self) -> u64 {
        self.send_counter
    }

    /// For tests of the message limits: pretend this many were sent.
    #[doc(hidden)]
    pub fn set_send_counter(&mut self, counter: u64) {
        self.send_counter = counter;
    }

    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.created)
    }

    /// Usable for sending: younger than REJECT_AFTER_TIME and not out of counters.
    pub fn can_send(&self, now: Instant) -> bool {
        self.age(now) < REJECT_AFTER_TIME && self.send_counter < REJECT_AFTER_MESSAGES
    }

    /// Usable for receiving: younger than REJECT_AFTER_TIME (the counter
    /// limit is the replay window's).
    pub fn can_receive(&self, now: Instant) -> bool {
        self.age(now) < REJECT_AFTER_TIME
    }

    /// Encrypts `buf[payload]` in place and writes header and tag around it.
    /// Returns the message's range (`payload.start − 16 .. payload.end + 16`)
    /// and the counter used.
    pub fn seal(
        &mut self,
        buf: &mut [u8],
        payload: Range<usize>,
    ) -> Result<(Range<usize>, u64), SealFailure> {
        let (range, job) = self.reserve_seal(buf, payload)?;
        let msg = buf.get_mut(range.clone()).ok_or(SealFailure::Buffer)?;
        job.seal(msg)?;
        Ok((range, job.counter()))
    }

    /// The bookkeeping half of [`seal`](Self::seal): checks the buffer,
    /// takes the next counter (each is handed out once) and writes the
    /// header in front of `buf[payload]`. The returned job encrypts
    /// `buf[range]` later; until it ran, the message holds plaintext.
    pub fn reserve_seal(
        &mut self,
        buf: &mut [u8],
        payload: Range<usize>,
    ) -> Result<(Range<usize>, SealJob), SealFailure> {
        let start = payload
            .start
            .checked_sub(HEADER_LEN)
            .ok_or(SealFailure::Buffer)?;
        let end = payload
            .end
            .checked_add(TAG_LEN)
            .ok_or(SealFailure::Buffer)?;
        if payload.start > payload.end || end > buf.len() {
            return Err(SealFailure::Buffer);
        }
        let counter = self.send_counter;
        if counter >= REJECT_AFTER_MESSAGES {
            return Err(SealFailure::Exhausted);
        }
        Transport::emit_header(&mut buf[start..payload.start], self.remote_index, counter)
            .map_err(|_| SealFailure::Buffer)?;
        self.send_counter = counter + 1;
        Ok((start..end, SealJob::new(Arc::clone(&self.send), counter)))
    }

    /// Would a message with `counter` pass the replay window? (Cheap check
    /// before spending AEAD work.)
    pub fn may_accept(&self, counter: u64) -> bool {
        self.replay.check(counter)
    }

    /// Decrypts a whole transport message (already parsed: header and at
    /// least a tag) in place; returns the plaintext's range in `msg`.
    pub fn open(&mut self, msg: &mut [u8], counter: u64) -> Result<Range<usize>, OpenFailure> {
        let job = self.prepare_open(counter)?;
        let plain = job.open(msg)?;
        if !self.finish_open(&job) {
            return Err(OpenFailure::Replay);
        }
        Ok(plain)
    }

    /// The first half of [`open`](Self::open): the replay window's
    /// pre-check (nothing changes), and a job that decrypts.
    pub fn prepare_open(&self, counter: u64) -> Result<OpenJob, OpenFailure> {
        if !self.replay.check(counter) {
            return Err(OpenFailure::Replay);
        }
        Ok(OpenJob::new(
            Arc::clone(&self.recv),
            counter,
            self.local_index,
        ))
    }

    /// The last half of [`open`](Self::open), after `job` authenticated
    /// its message: accepts the counter into the replay window. False —
    /// drop the message — if the counter was accepted meanwhile (a copy
    /// opened by another thread), fell out of the window, or the job was
    /// not made by this keypair. Only an authentic message may move the
    /// window (kernel order), so call this only after `job.open` succeeded.
    pub fn finish_open(&mut self, job: &OpenJob) -> bool {
        job.uses(&self.recv) && self.replay.accept(job.counter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(t: Instant) -> (Keypair, Keypair) {
        let a = SessionKeys {
            send: [1; 32],
            recv: [2; 32],
        };
        let b = SessionKeys {
            send: [2; 32],
            recv: [1; 32],
        };
        (
            Keypair::new(&a, 10, 20, t, true).unwrap(),
            Keypair::new(&b, 20, 10, t, false).unwrap(),
        )
    }

    fn base() -> Instant {
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }

    #[test]
    fn seal_open_round_trip_in_place() {
        let (mut a, mut b) = pair(base());
        let mut buf = [0u8; 16 + 5 + 16];
        buf[16..21].copy_from_slice(b"hello");
        let (range, counter) = a.seal(&mut buf, 16..21).unwrap();
        assert_eq!((range.clone(), counter), (0..37, 0));
        assert_eq!(
            &buf[..8],
            &[4, 0, 0, 0, 20, 0, 0, 0],
            "type 4, receiver = peer's index"
        );
        assert_ne!(&buf[16..21], b"hello");
        let plain = b.open(&mut buf, 0).unwrap();
        assert_eq!(&buf[plain], b"hello");
        assert_eq!(a.send_counter(), 1);
    }

    #[test]
    fn replay_and_tamper_refused() {
        let (mut a, mut b) = pair(base());
        let mut buf = [0u8; 40];
        a.seal(&mut buf, 16..24).unwrap();
        let copy = buf;
        assert!(b.open(&mut buf, 0).is_ok());
        let mut again = copy;
        assert_eq!(b.open(&mut again, 0), Err(OpenFailure::Replay));
        let mut next = [0u8; 40];
        a.seal(&mut next, 16..24).unwrap();
        next[20] ^= 1;
        assert_eq!(b.open(&mut next, 1), Err(OpenFailure::Decrypt));
        // A forged message did not consume its counter.
        let mut next = [0u8; 40];
        a.set_send_counter(1);
        a.seal(&mut next, 16..24).unwrap();
        assert!(b.open(&mut next, 1).is_ok());
    }

    #[test]
    fn buffer_bounds_checked() {
        let (mut a, _) = pair(base());
        let mut buf = [0u8; 40];
        assert_eq!(a.seal(&mut buf, 15..24), Err(SealFailure::Buffer));
        assert_eq!(a.seal(&mut buf, 16..25), Err(SealFailure::Buffer));
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 20..16;
        assert_eq!(a.seal(&mut buf, reversed), Err(SealFailure::Buffer));
        assert_eq!(a.send_counter(), 0, "failed seals use no counter");
    }

    #[test]
    fn message_and_time_limits() {
        let t = base();
        let (mut a, b) = pair(t);
        a.set_send_counter(REJECT_AFTER_MESSAGES - 1);
        let mut buf = [0u8; 32];
        assert!(a.seal(&mut buf, 16..16).is_ok());
        assert_eq!(a.seal(&mut buf, 16..16), Err(SealFailure::Exhausted));
        assert!(!a.can_send(t));
        assert!(b.can_send(t + REJECT_AFTER_TIME - Duration::from_nanos(1)));
        assert!(!b.can_send(t + REJECT_AFTER_TIME));
        assert!(!b.can_receive(t + REJECT_AFTER_TIME));
    }

    /// Counters reserved in order and sealed in any order (as threads
    /// finish their jobs) all open, each exactly once.
    #[test]
    fn reserved_seals_complete_out_of_order() {
        let (mut a, mut b) = pair(base());
        let mut msgs: Vec<(Vec<u8>, SealJob)> = (0..200u8)
            .map(|i| {
                let mut buf = vec![0u8; 16 + 8 + 16];
                buf[16..24].fill(i);
                let (range, job) = a.reserve_seal(&mut buf, 16..24).unwrap();
                assert_eq!(range, 0..40);
                assert_eq!(job.counter(), u64::from(i));
                (buf, job)
            })
            .collect();
        assert_eq!(a.send_counter(), 200);
        // Seal from the back, open in a scrambled order.
        for (buf, job) in msgs.iter_mut().rev() {
            job.seal(buf).unwrap();
        }
        let mut order: Vec<usize> = (0..200).collect();
        order.sort_by_key(|&i| (i * 7919) % 200);
        for i in order {
            let (buf, job) = &mut msgs[i];
            let counter = job.counter();
            let plain = b.open(buf, counter).unwrap();
            assert_eq!(&buf[plain], &[i as u8; 8]);
        }
        for (buf, job) in &mut msgs {
            assert_eq!(b.open(buf, job.counter()), Err(OpenFailure::Replay));
        }
    }

    /// Two copies of one message pass the pre-check and both decrypt (two
    /// threads), but only the first finish accepts the counter.
    #[test]
    fn a_counter_is_accepted_once_across_prepared_copies() {
        let (mut a, mut b) = pair(base());
        let mut buf = [0u8; 40];
        a.seal(&mut buf, 16..24).unwrap();
        let mut copy = buf;
        let (j1, j2) = (b.prepare_open(0).unwrap(), b.prepare_open(0).unwrap());
        assert!(j1.open(&mut buf).is_ok());
        assert!(j2.open(&mut copy).is_ok());
        assert!(b.finish_open(&j2));
        assert!(!b.finish_open(&j1), "the second finish is a replay");
        assert_eq!(b.prepare_open(0).unwrap_err(), OpenFailure::Replay);
    }

    /// A job made by another keypair (the slot was replaced meanwhile) does
    /// not move this keypair's window.
    #[test]
    fn finish_refuses_another_keypairs_job() {
        let (mut a, b) = pair(base());
        let (_, mut b2) = pair(base());
        let mut buf = [0u8; 40];
        a.seal(&mut buf, 16..24).unwrap();
        let job = b.prepare_open(0).unwrap();
        assert!(job.open(&mut buf).is_ok());
        assert!(!b2.finish_open(&job));
        assert!(b2.may_accept(0));
    }

    /// Threads reserve under a lock and seal unlocked, concurrently: no
    /// counter is used twice, none is skipped, every message opens once.
    #[test]
    #[allow(clippy::disallowed_methods)] // the point is real threads
    fn threads_reserve_under_a_lock_and_seal_in_parallel() {
        use std::sync::{Arc, Mutex};
        const PER_THREAD: usize = 500;
        let (a, mut b) = pair(base());
        let a = Arc::new(Mutex::new(a));
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                let a = Arc::clone(&a);
                std::thread::spawn(move || {
                    let mut out = Vec::with_capacity(PER_THREAD);
                    for _ in 0..PER_THREAD {
                        let mut buf = vec![t; 16 + 32 + 16];
                        let (range, job) =
                            a.lock().unwrap().reserve_seal(&mut buf, 16..48).unwrap();
                        job.seal(&mut buf[range]).unwrap();
                        out.push((job.counter(), t, buf));
                    }
                    out
                })
            })
            .collect();
        let mut all: Vec<(u64, u8, Vec<u8>)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_by_key(|(c, _, _)| *c);
        let counters: Vec<u64> = all.iter().map(|(c, _, _)| *c).collect();
        assert_eq!(counters, (0..4 * PER_THREAD as u64).collect::<Vec<_>>());
        // Open in reverse (all within the replay window).
        for (counter, t, buf) in all.iter_mut().rev() {
            assert_eq!(Transport::parse(&buf[..]).unwrap().counter(), *counter);
            let plain = b.open(buf, *counter).unwrap();
            assert_eq!(&buf[plain], &[*t; 32]);
        }
    }

    proptest::proptest! {
        /// Any multiset of counters, pre-checked all at once (a batch) and
        /// finished in any order: each counter is accepted at most once,
        /// and exactly when a window updated in finish order accepts it.
        #[test]
        fn deferred_finish_matches_the_window_in_finish_order(
            counters in proptest::collection::vec(0u64..3000, 1..64),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let (mut a, mut b) = pair(base());
            let top = counters.iter().copied().max().unwrap_or(0);
            let mut sealed = std::collections::BTreeMap::new();
            for c in 0..=top {
                let mut buf = vec![0u8; 40];
                a.set_send_counter(c);
                a.seal(&mut buf, 16..24).unwrap();
                sealed.insert(c, buf);
            }
            let jobs: Vec<(OpenJob, Vec<u8>)> = counters
                .iter()
                .filter_map(|c| {
                    let job = b.prepare_open(*c).ok()?;
                    let mut msg = sealed[c].clone();
                    job.open(&mut msg).ok()?;
                    Some((job, msg))
                })
                .collect();
            proptest::prop_assert_eq!(jobs.len(), counters.len(), "fresh window: all pass");
            let mut order: Vec<usize> = (0..jobs.len()).collect();
            let mut x = seed | 1;
            for i in (1..order.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut model = ReplayWindow::new();
            let mut accepted = std::collections::BTreeSet::new();
            for i in order {
                let job = &jobs[i].0;
                let expected = model.accept(job.counter());
                let got = b.finish_open(job);
                proptest::prop_assert_eq!(got, expected);
                if got {
                    proptest::prop_assert!(accepted.insert(job.counter()), "accepted twice");
                }
            }
        }
    }
}
