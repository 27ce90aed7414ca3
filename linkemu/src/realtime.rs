//! Real-time scheduling for the emulator's threads, which must wake on time.
//!
//! How to drive it: call [`try_realtime`] at the start of a thread with its
//! [`Priority`]; it answers whether the thread now runs under `SCHED_FIFO`.
//! It needs root or `CAP_SYS_NICE`; without, the thread carries on normally.
//!
//! Why: under the normal scheduler a woken thread waits behind whatever else
//! is runnable. On this 2-core machine with two busy loops a 3 ms sleep
//! overshot by a median of 4.6 ms (p99 13 ms; `nice -20` did not help the
//! tail: p99 35 ms), and a receiver blocked in `recv` ran up to 50 ms after
//! its datagram arrived — either swamps a 20 ms vs 50 ms path comparison.
//! Under `SCHED_FIFO` the same sleep overshot by at most 0.34 ms.
//!
//! Why it is safe: a sender runs briefly at each due time and sleeps
//! otherwise; a receiver runs only while datagrams arrive, and the threads
//! that send them are normal ones it preempts, so a flood slows itself down.
//! The lowest real-time priorities are used, below the kernel's own
//! real-time threads, and the kernel's real-time throttling (5 % of each
//! second left to normal threads by default) bounds any bug.

use thread_priority::{
    RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
    set_thread_priority_and_policy, thread_native_id,
};

/// The `SCHED_FIFO` priority of each kind of thread.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Priority {
    Receiver = 1,
    /// Above the receivers: a due send preempts taking in a burst, which
    /// would otherwise hold it back for as long as the burst lasts.
    Sender = 2,
}

/// Moves the calling thread to `SCHED_FIFO` at `priority`. True if the
/// kernel allowed it.
pub(crate) fn try_realtime(priority: Priority) -> bool {
    let Ok(value) = ThreadPriorityValue::try_from(priority as u8) else {
        return false;
    };
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(value),
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    )
    .is_ok()
}
