//! [`BatchLock`]: a mutex taken once per batch of packets, not per packet.
//!
//! The data-path threads share one `Node` behind a `Mutex`. Taking it for
//! every datagram would make the lock the hot spot; holding it across a
//! whole reactor wake-up would serialise the threads' syscalls. A
//! `BatchLock` takes the mutex on the first packet of a batch ([`get`]),
//! keeps it for up to [`BATCH`] packets, and gives it back when the caller
//! asks ([`release`]) — the caller then does its syscalls (tap writes, UDP
//! sends) unlocked and starts the next batch.
//!
//! ```text
//! let mut batch = BatchLock::new(&node, &mut lock_stats);
//! for packet in wake_up {
//!     batch.get().handle(packet);           // locks on the first packet only
//!     if batch.is_full() {
//!         batch.release();                  // unlock, then write/send unlocked
//!     }
//! }
//! batch.release();
//! ```
//!
//! Each acquisition is counted in [`LockStats`] (taken, contended, time
//! waited and held: two clock reads per batch), so a run shows whether the
//! threads wait for each other.
//!
//! A poisoned mutex (a thread panicked while holding it) is used anyway:
//! the daemon notices the dead thread and stops; until then the other
//! threads keep forwarding rather than panic in turn.
//!
//! [`get`]: BatchLock::get
//! [`release`]: BatchLock::release

use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Instant;

/// Packets handled per lock acquisition at most: a reactor wake-up's worth
/// (the UDP send batch is 64, one 64 KB tap read is up to ~46 frames).
pub const BATCH: usize = 64;

/// Locks `m`, ignoring poisoning (see the module docs).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How a thread's batches used the lock: whether threads wait for each
/// other (then the work under the lock is what limits them) or not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockStats {
    /// Times the lock was taken (batches).
    pub acquisitions: u64,
    /// Of those, how often another thread held it.
    pub contended: u64,
    /// Time spent waiting for it.
    pub wait_ns: u64,
    /// Time it was held.
    pub held_ns: u64,
}

impl LockStats {
    pub fn accumulate(&mut self, o: &LockStats) {
        self.acquisitions += o.acquisitions;
        self.contended += o.contended;
        self.wait_ns += o.wait_ns;
        self.held_ns += o.held_ns;
    }
}

/// A lazily taken guard over `mutex` that counts the packets of its batch.
pub struct BatchLock<'a, T> {
    mutex: &'a Mutex<T>,
    guard: Option<MutexGuard<'a, T>>,
    in_batch: usize,
    held_since: Option<Instant>,
    stats: &'a mut LockStats,
}

impl<T> std::fmt::Debug for BatchLock<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchLock")
            .field("held", &self.guard.is_some())
            .field("in_batch", &self.in_batch)
            .finish()
    }
}

impl<'a, T> BatchLock<'a, T> {
    /// Not locked yet; acquisitions and times are added to `stats`.
    pub fn new(mutex: &'a Mutex<T>, stats: &'a mut LockStats) -> Self {
        BatchLock {
            mutex,
            guard: None,
            in_batch: 0,
            held_since: None,
            stats,
        }
    }

    /// The value, for one more packet of the batch; takes the lock if this
    /// is the batch's first.
    pub fn get(&mut self) -> &mut T {
        self.in_batch += 1;
        if self.guard.is_none() {
            self.acquire();
        }
        let mutex = self.mutex;
        self.guard.get_or_insert_with(|| lock(mutex))
    }

    fn acquire(&mut self) {
        self.stats.acquisitions += 1;
        let guard = match self.mutex.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                self.stats.contended += 1;
                let start = Instant::now();
                let g = lock(self.mutex);
                self.stats.wait_ns += nanos(start.elapsed());
                g
            }
        };
        self.guard = Some(guard);
        self.held_since = Some(Instant::now());
    }

    /// The batch has [`BATCH`] packets: time to [`release`](Self::release).
    pub fn is_full(&self) -> bool {
        self.in_batch >= BATCH
    }

    /// Whether the lock is held now.
    pub fn is_held(&self) -> bool {
        self.guard.is_some()
    }

    /// Ends the batch: unlocks (if locked).
    pub fn release(&mut self) {
        self.guard = None;
        self.in_batch = 0;
        if let Some(t) = self.held_since.take() {
            self.stats.held_ns += nanos(t.elapsed());
        }
    }
}

impl<T> Drop for BatchLock<'_, T> {
    fn drop(&mut self) {
        self.release();
    }
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    /// Threads add through batch locks, releasing every `BATCH` packets:
    /// no update is lost and each thread locked once per batch.
    #[test]
    fn threads_share_a_counter_one_lock_per_batch() {
        const PER_THREAD: usize = 10_000;
        let shared = Arc::new(Mutex::new((0u64, Vec::<usize>::new())));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let mut stats = LockStats::default();
                    let mut batch = BatchLock::new(&*shared, &mut stats);
                    for _ in 0..PER_THREAD {
                        let v = batch.get();
                        v.0 += 1;
                        // Within one hold nobody else gets in between.
                        if v.1.last() != Some(&t) {
                            v.1.push(t);
                        }
                        if batch.is_full() {
                            batch.release();
                        }
                    }
                    batch.release();
                    drop(batch);
                    stats
                })
            })
            .collect();
        let stats: Vec<LockStats> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let (sum, runs) = &*lock(&shared);
        assert_eq!(*sum, 4 * PER_THREAD as u64);
        for s in &stats {
            assert_eq!(s.acquisitions, PER_THREAD.div_ceil(BATCH) as u64);
            assert!(s.contended <= s.acquisitions);
            assert!(s.held_ns > 0);
        }
        let locks: Vec<u64> = stats.iter().map(|s| s.acquisitions).collect();
        // Each run of one thread's updates is at least a whole batch (only a
        // thread's last run can be shorter), so the runs are few.
        assert!(
            runs.len() as u64 <= locks.iter().sum::<u64>(),
            "{}",
            runs.len()
        );
    }

    proptest! {
        /// For any sequence of packets and early releases, the lock is taken
        /// exactly once per non-empty batch and never held past a release.
        #[test]
        fn one_acquisition_per_batch(ops in proptest::collection::vec(any::<bool>(), 0..500)) {
            let m = Mutex::new(0u32);
            let mut stats = LockStats::default();
            let mut batch = BatchLock::new(&m, &mut stats);
            let mut expected = 0u64;
            let mut in_batch = 0usize;
            for packet in ops {
                if packet {
                    if in_batch == 0 {
                        expected += 1;
                    }
                    *batch.get() += 1;
                    in_batch += 1;
                    prop_assert!(batch.is_held());
                    prop_assert_eq!(batch.is_full(), in_batch >= BATCH);
                    if batch.is_full() {
                        batch.release();
                        in_batch = 0;
                    }
                } else {
                    batch.release();
                    in_batch = 0;
                    prop_assert!(!batch.is_held());
                    // Unlocked for real: another caller gets it at once.
                    prop_assert!(m.try_lock().is_ok());
                }
            }
            drop(batch);
            prop_assert_eq!(stats.acquisitions, expected);
            // Nobody else wanted the lock.
            prop_assert_eq!((stats.contended, stats.wait_ns), (0, 0));
        }
    }
}
