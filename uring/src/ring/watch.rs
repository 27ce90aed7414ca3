//! Readiness watches: one multishot `PollAdd(POLLIN)` per watched fd.
//!
//! A multishot poll posts a completion on each wake-up of the fd (new data)
//! and once at arming when data is already there, which gives the contract of
//! `Reactor::watch_readable` for a caller that reads until `WouldBlock`.
//! Unwatching bumps the slot's generation, so completions still in flight for
//! the old watch are recognised as stale and dropped.

use super::{Cqe, UringReactor};
use crate::Completion;
use crate::ids::{GENERATION_MASK, Token, WatchId};
use io_uring::{cqueue, opcode, squeue, types};
use std::io;
use std::os::fd::RawFd;

#[derive(Debug)]
struct Slot {
    fd: RawFd,
    generation: u32,
    active: bool,
    armed: bool,
    /// Ended with an error: not re-armed.
    failed: bool,
}

#[derive(Debug, Default)]
pub(super) struct Watches {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl UringReactor {
    pub(super) fn watch(&mut self, fd: RawFd) -> io::Result<WatchId> {
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let w = &mut self.watches;
        let slot = match w.free.pop() {
            Some(s) => s,
            None => {
                let s = u32::try_from(w.slots.len())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many watches"))?;
                w.slots.push(Slot {
                    fd,
                    generation: 0,
                    active: false,
                    armed: false,
                    failed: false,
                });
                s
            }
        };
        let s = &mut w.slots[slot as usize];
        s.fd = fd;
        s.active = true;
        s.armed = false;
        s.failed = false;
        let id = WatchId {
            slot,
            generation: s.generation,
        };
        if let Err(e) = self.arm_watch(slot as usize) {
            self.unwatch_id(id);
            return Err(e);
        }
        Ok(id)
    }

    fn arm_watch(&mut self, slot: usize) -> io::Result<()> {
        let s = &self.watches.slots[slot];
        let entry = opcode::PollAdd::new(types::Fd(s.fd), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(
                Token::Watch {
                    slot: slot as u32,
                    generation: s.generation,
                }
                .encode(),
            );
        // SAFETY: a poll points at no memory; the fd is open per the caller's
        // contract (unwatch before close).
        unsafe { self.push(&entry) }?;
        self.watches.slots[slot].armed = true;
        Ok(())
    }

    pub(super) fn rearm_watches(&mut self) -> io::Result<()> {
        for slot in 0..self.watches.slots.len() {
            let s = &self.watches.slots[slot];
            if s.active && !s.armed && !s.failed {
                self.arm_watch(slot)?;
            }
        }
        Ok(())
    }

    pub(super) fn unwatch_id(&mut self, id: WatchId) {
        let Some(s) = self.watches.slots.get_mut(id.slot as usize) else {
            return;
        };
        if !s.active || s.generation != id.generation {
            return;
        }
        let was_armed = s.armed;
        s.active = false;
        s.armed = false;
        s.generation = (s.generation + 1) & GENERATION_MASK;
        self.watches.free.push(id.slot);
        if was_armed {
            let old = Token::Watch {
                slot: id.slot,
                generation: id.generation,
            };
            let entry = opcode::PollRemove::new(old.encode())
                .build()
                .flags(squeue::Flags::SKIP_SUCCESS)
                .user_data(Token::Ignored.encode());
            // SAFETY: a poll removal points at no memory. If it cannot be
            // queued the poll stays armed until the ring closes; its
            // completions carry the old generation and are ignored.
            let _ = unsafe { self.push(&entry) };
        }
    }

    pub(super) fn on_watch(
        &mut self,
        slot: u32,
        generation: u32,
        c: Cqe,
        f: &mut dyn FnMut(Completion<'_>),
    ) -> usize {
        let Some(s) = self.watches.slots.get_mut(slot as usize) else {
            return 0;
        };
        if !s.active || s.generation != generation {
            return 0; // stale: unwatched since
        }
        if !cqueue::more(c.flags) {
            s.armed = false;
            self.need_rearm = true;
        }
        if c.result < 0 {
            // Tell the caller anyway: its read shows what is wrong. Not
            // re-armed, so a persistent error cannot spin the loop.
            s.failed = true;
            self.stats.watch_errors += 1;
            tracing::warn!(
                fd = s.fd,
                errno = -c.result,
                "readiness watch ended with an error"
            );
        }
        f(Completion::Readable(WatchId { slot, generation }));
        1
    }
}
