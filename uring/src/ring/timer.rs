//! The one timeout entry. `wait(deadline)` keeps at most one `Timeout` in
//! flight: unchanged deadline → nothing to do (the common case: the daemon's
//! next timer stays put while packets flow); new deadline → remove the old
//! entry and arm a new one with a fresh generation; no deadline → remove it.
//! Completions of replaced entries carry an old generation and are ignored.

use super::UringReactor;
use crate::Completion;
use crate::clock;
use crate::ids::Token;
use io_uring::{opcode, squeue, types};
use std::io;
use std::time::Instant;

#[derive(Debug)]
pub(super) struct Timer {
    /// Deadline of the entry in flight.
    armed: Option<Instant>,
    generation: u32,
    /// Boxed: the kernel reads it when the entry is submitted.
    spec: Box<types::Timespec>,
}

impl Timer {
    pub(super) fn new() -> Timer {
        Timer {
            armed: None,
            generation: 0,
            spec: Box::new(types::Timespec::new()),
        }
    }
}

impl UringReactor {
    /// Make the timeout entry match `deadline`. True when the deadline has
    /// already passed (no entry is armed then; the caller reports Timeout).
    pub(super) fn arm_timer(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
        let Some(deadline) = deadline else {
            self.disarm_timer();
            return Ok(false);
        };
        if self.timer.armed == Some(deadline) {
            return Ok(false);
        }
        self.disarm_timer();
        let left = clock::remaining(deadline);
        if left.is_zero() {
            return Ok(true);
        }
        self.timer.generation = self.timer.generation.wrapping_add(1);
        *self.timer.spec = types::Timespec::new()
            .sec(left.as_secs())
            .nsec(left.subsec_nanos());
        let entry = opcode::Timeout::new(&*self.timer.spec).build().user_data(
            Token::Timer {
                generation: self.timer.generation,
            }
            .encode(),
        );
        // SAFETY: the timespec is boxed inside `self` and only rewritten by a
        // later arm, after this entry has been submitted (the kernel copies it
        // at submission, which happens in this same `wait`).
        unsafe { self.push(&entry) }?;
        self.timer.armed = Some(deadline);
        Ok(false)
    }

    fn disarm_timer(&mut self) {
        if self.timer.armed.take().is_none() {
            return;
        }
        let old = Token::Timer {
            generation: self.timer.generation,
        };
        let entry = opcode::TimeoutRemove::new(old.encode())
            .build()
            .flags(squeue::Flags::SKIP_SUCCESS)
            .user_data(Token::Ignored.encode());
        // SAFETY: a removal points at no memory. If it cannot be queued, the
        // old entry fires later and is ignored (it is no longer `armed`).
        let _ = unsafe { self.push(&entry) };
    }

    pub(super) fn on_timer(
        &mut self,
        generation: u32,
        result: i32,
        f: &mut dyn FnMut(Completion<'_>),
    ) -> usize {
        if self.timer.armed.is_none() || generation != self.timer.generation {
            return 0; // replaced or removed
        }
        self.timer.armed = None;
        if result != -libc::ETIME {
            return 0; // cancelled
        }
        self.stats.timeouts += 1;
        f(Completion::Timeout);
        1
    }
}
