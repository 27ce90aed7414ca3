//! The receive-side replay window of one keypair: RFC 6479's bitmap of
//! machine words, as in the kernel's `counter_validate` (`receive.c`).
//!
//! How to drive it: for each authenticated-to-be transport message, call
//! [`ReplayWindow::check`] before decrypting (cheap, rejects obvious replays
//! without spending AEAD work) and [`ReplayWindow::accept`] only *after* the
//! message authenticated — so forged counters can never move the window.
//!
//! Design (RFC 6479 §2): the window is a ring of `COUNTER_BITS_TOTAL / 64`
//! words. Moving the top forward clears whole words instead of shifting
//! bits; one word is always in the middle of being recycled, so the
//! guaranteed window is `COUNTER_BITS_TOTAL − 64` counters
//! ([`COUNTER_WINDOW_SIZE`]).

use super::constants::{COUNTER_BITS_TOTAL, COUNTER_WINDOW_SIZE, REJECT_AFTER_MESSAGES};

const WORDS: usize = (COUNTER_BITS_TOTAL / 64) as usize;
const WORD_MASK: u64 = WORDS as u64 - 1;

/// Which counters of one keypair have been seen.
#[derive(Clone)]
pub struct ReplayWindow {
    /// One more than the highest counter accepted (0 = nothing yet), as in the kernel.
    next: u64,
    bitmap: [u64; WORDS],
}

impl std::fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayWindow")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayWindow {
    pub const fn new() -> Self {
        Self {
            next: 0,
            bitmap: [0; WORDS],
        }
    }

    /// Would `counter` be accepted now? Does not change the window.
    pub fn check(&self, counter: u64) -> bool {
        if self.next > REJECT_AFTER_MESSAGES || counter >= REJECT_AFTER_MESSAGES {
            return false;
        }
        let shifted = counter + 1; // cannot overflow: counter < REJECT_AFTER_MESSAGES
        if shifted + COUNTER_WINDOW_SIZE < self.next {
            return false; // too old
        }
        if shifted > self.next {
            return true; // new top
        }
        let (word, bit) = Self::position(shifted);
        self.bitmap[word] & bit == 0
    }

    /// Marks `counter` as seen; returns whether it was new and inside the
    /// window (the kernel's `counter_validate`). Call only after the message
    /// authenticated.
    pub fn accept(&mut self, counter: u64) -> bool {
        if self.next > REJECT_AFTER_MESSAGES || counter >= REJECT_AFTER_MESSAGES {
            return false;
        }
        let shifted = counter + 1;
        if shifted + COUNTER_WINDOW_SIZE < self.next {
            return false;
        }
        if shifted > self.next {
            // Clear every word between the old top and the new one (at most
            // the whole ring), so stale bits from a lap ago read as unseen.
            let index = shifted / 64;
            let index_current = self.next / 64;
            let top = (index - index_current).min(WORDS as u64);
            for i in 1..=top {
                self.bitmap[((i + index_current) & WORD_MASK) as usize] = 0;
            }
            self.next = shifted;
        }
        let (word, bit) = Self::position(shifted);
        let seen = self.bitmap[word] & bit != 0;
        self.bitmap[word] |= bit;
        !seen
    }

    fn position(shifted: u64) -> (usize, u64) {
        (
            ((shifted / 64) & WORD_MASK) as usize,
            1u64 << (shifted % 64),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T_LIM: u64 = COUNTER_WINDOW_SIZE + 1;
    const R: u64 = REJECT_AFTER_MESSAGES;

    /// Runs (counter, expected) steps on one window; `check` must agree with
    /// `accept` before every step.
    fn run(w: &mut ReplayWindow, steps: &[(u64, bool)]) {
        for (i, &(counter, expected)) in steps.iter().enumerate() {
            assert_eq!(
                w.check(counter),
                expected,
                "check, step {i}: counter {counter}"
            );
            assert_eq!(
                w.accept(counter),
                expected,
                "accept, step {i}: counter {counter}"
            );
        }
    }

    /// The sequence of the kernel's counter selftest (`selftest/counter.c`),
    /// with its window size, written as our own table.
    #[test]
    fn kernel_style_table() {
        let table = [
            (0, true),
            (1, true),
            (1, false),
            (9, true),
            (8, true),
            (7, true),
            (7, false),
            (T_LIM, true),
            (T_LIM - 1, true),
            (T_LIM - 1, false),
            (T_LIM - 2, true),
            (2, true),
            (2, false),
            (T_LIM + 16, true),
            (3, false),
            (T_LIM + 16, false),
            (T_LIM * 4, true),
            (T_LIM * 4 - (T_LIM - 1), true),
            (10, false),
            (T_LIM * 4 - T_LIM, false),
            (T_LIM * 4 - (T_LIM + 1), false),
            (T_LIM * 4 - (T_LIM - 2), true),
            (T_LIM * 4 + 1 - T_LIM, false),
            (0, false),
            (R, false),
            (R - 1, true),
            (R, false),
            (R - 1, false),
            (R - 2, true),
            (R + 1, false),
            (R + 2, false),
            (R - 2, false),
            (R - 3, true),
            (0, false),
        ];
        run(&mut ReplayWindow::new(), &table);
    }

    /// Bulk: a whole window in order, then the oldest counter (0) still fits.
    #[test]
    fn bulk_in_order_then_oldest() {
        let mut w = ReplayWindow::new();
        for i in 1..=COUNTER_WINDOW_SIZE {
            run(&mut w, &[(i, true)]);
        }
        run(&mut w, &[(0, true), (0, false)]);
    }

    /// Bulk: shifted by one, 1 is the oldest that fits, 0 has fallen out.
    #[test]
    fn bulk_in_order_shifted() {
        let mut w = ReplayWindow::new();
        for i in 2..=COUNTER_WINDOW_SIZE + 1 {
            run(&mut w, &[(i, true)]);
        }
        run(&mut w, &[(1, true), (0, false)]);
    }

    /// Bulk: a window's worth in reverse order all count as new.
    #[test]
    fn bulk_reverse() {
        let mut w = ReplayWindow::new();
        for i in (0..=COUNTER_WINDOW_SIZE).rev() {
            run(&mut w, &[(i, true)]);
        }
    }

    #[test]
    fn bulk_reverse_shifted_drops_zero() {
        let mut w = ReplayWindow::new();
        for i in (1..=COUNTER_WINDOW_SIZE + 1).rev() {
            run(&mut w, &[(i, true)]);
        }
        run(&mut w, &[(0, false)]);
    }

    #[test]
    fn bulk_reverse_then_top() {
        let mut w = ReplayWindow::new();
        for i in (1..=COUNTER_WINDOW_SIZE).rev() {
            run(&mut w, &[(i, true)]);
        }
        run(&mut w, &[(COUNTER_WINDOW_SIZE + 1, true), (0, false)]);
    }

    #[test]
    fn bulk_reverse_then_zero_then_top() {
        let mut w = ReplayWindow::new();
        for i in (1..=COUNTER_WINDOW_SIZE).rev() {
            run(&mut w, &[(i, true)]);
        }
        run(&mut w, &[(0, true), (COUNTER_WINDOW_SIZE + 1, true)]);
    }

    /// A jump of more than the whole ring clears every word.
    #[test]
    fn far_jump_clears_everything() {
        let mut w = ReplayWindow::new();
        run(
            &mut w,
            &[(5, true), (1_000_000, true), (999_999, true), (5, false)],
        );
        run(&mut w, &[(1_000_000 - COUNTER_WINDOW_SIZE + 1, true)]);
    }

    /// `check` is a pure function of the state: calling it never changes what
    /// `accept` later says.
    #[test]
    fn check_does_not_mutate() {
        let mut w = ReplayWindow::new();
        for c in [3, 100, 7, 9000] {
            assert!(w.check(c));
            assert!(w.check(c));
        }
        run(&mut w, &[(3, true), (3, false)]);
    }

    /// Naive reference model: a set of seen counters and the kernel's window rule.
    #[test]
    fn matches_naive_model_on_random_sequences() {
        use proptest::prop_assert_eq;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::default();
        runner
            .run(&proptest::collection::vec(0u64..20_000, 1..400), |steps| {
                let mut w = ReplayWindow::new();
                let mut seen = std::collections::BTreeSet::new();
                let mut next = 0u64;
                for counter in steps {
                    let shifted = counter + 1;
                    let expected = if shifted + COUNTER_WINDOW_SIZE < next {
                        false
                    } else {
                        next = next.max(shifted);
                        seen.insert(counter)
                    };
                    prop_assert_eq!(w.accept(counter), expected, "counter {}", counter);
                }
                Ok(())
            })
            .unwrap();
    }
}
