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
//! let mut batch = BatchLock::new(&node);
//! for packet in wake_up {
//!     batch.get().handle(packet);           // locks on the first packet only
//!     if batch.is_full() {
//!         batch.release();                  // unlock, then write/send unlocked
//!     }
//! }
//! batch.release();
//! ```
//!
//! A poisoned mutex (a thread panicked while holding it) is used anyway:
//! the daemon notices the dead thread and stops; until then the other
//! threads keep forwarding rather than panic in turn.
//!
//! [`get`]: BatchLock::get
//! [`release`]: BatchLock::release

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Packets handled per lock acquisition at most: a reactor wake-up's worth
/// (the UDP send batch is 64, one 64 KB tap read is up to ~46 frames).
pub const BATCH: usize = 64;

/// Locks `m`, ignoring poisoning (see the module docs).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A lazily taken guard over `mutex` that counts the packets of its batch.
pub struct BatchLock<'a, T> {
    mutex: &'a Mutex<T>,
    guard: Option<MutexGuard<'a, T>>,
    in_batch: usize,
    acquisitions: u64,
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
    /// Not locked yet.
    pub fn new(mutex: &'a Mutex<T>) -> Self {
        BatchLock {
            mutex,
            guard: None,
            in_batch: 0,
            acquisitions: 0,
        }
    }

    /// The value, for one more packet of the batch; takes the lock if this
    /// is the batch's first.
    pub fn get(&mut self) -> &mut T {
        self.in_batch += 1;
        if self.guard.is_none() {
            self.acquisitions += 1;
        }
        let mutex = self.mutex;
        self.guard.get_or_insert_with(|| lock(mutex))
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
    }

    /// How often the lock was taken so far.
    pub fn acquisitions(&self) -> u64 {
        self.acquisitions
    }
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
                    let mut batch = BatchLock::new(&*shared);
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
                    batch.acquisitions()
                })
            })
            .collect();
        let locks: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let (sum, runs) = &*lock(&shared);
        assert_eq!(*sum, 4 * PER_THREAD as u64);
        for l in &locks {
            assert_eq!(*l, PER_THREAD.div_ceil(BATCH) as u64);
        }
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
            let mut batch = BatchLock::new(&m);
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
            prop_assert_eq!(batch.acquisitions(), expected);
        }
    }
}
