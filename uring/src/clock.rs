//! The only place this crate reads the clock.
//!
//! The core does no I/O, which keeps clocks in `src/daemon/`, and `wait(deadline)` takes an
//! absolute `Instant` from the daemon. But the kernel interfaces want a
//! relative timeout (io_uring's `Timeout` entry, `epoll_wait`), so the reactor,
//! being I/O infrastructure like the daemon shell, computes `deadline - now`
//! here, right before it arms the timer. Taking `now` as a parameter instead
//! would be stale by the time the kernel arms the timer (the caller may have
//! spent its whole budget since reading it).
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

/// Time left until `deadline`; zero when it has passed.
pub(crate) fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}
