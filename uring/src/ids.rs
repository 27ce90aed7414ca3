//! Identifiers handed to the caller, and the 64-bit tokens (io_uring
//! `user_data`, epoll `data`) that bring them back from the kernel.
//!
//! Token layout: bits 56..64 the kind, bits 32..56 a 24-bit field `a`, bits
//! 0..32 a 32-bit field `b`.

/// A UDP socket registered with [`crate::Reactor::add_udp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub(crate) u32);

impl SocketId {
    /// Dense index in registration order (0, 1, …): handy for per-socket
    /// tables and metric labels.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A readiness watch from [`crate::Reactor::watch_readable`]. Carries a
/// generation so that a stale id never matches a reused slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WatchId {
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

/// Generations live in the 24-bit `a` field of a token.
pub(crate) const GENERATION_MASK: u32 = (1 << 24) - 1;

/// What a completion (or epoll event) is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// Multishot receive on socket `b`.
    Recv { socket: u32 },
    /// Send op `op` of send arena `arena`.
    Send { arena: u32, op: u32 },
    /// Readiness watch in slot `slot` at `generation`.
    Watch { slot: u32, generation: u32 },
    /// The timeout entry armed at `generation`.
    Timer { generation: u32 },
    /// Start-up probe operations.
    Probe { what: u32 },
    /// Operations whose completion needs no action (removals, cancels).
    Ignored,
}

const KIND_SHIFT: u32 = 56;
const A_SHIFT: u32 = 32;
const A_MASK: u64 = (1 << 24) - 1;
const B_MASK: u64 = u32::MAX as u64;

const RECV: u64 = 1;
const SEND: u64 = 2;
const WATCH: u64 = 3;
const TIMER: u64 = 4;
const PROBE: u64 = 5;
const IGNORED: u64 = 6;

impl Token {
    pub(crate) fn encode(self) -> u64 {
        let (kind, a, b) = match self {
            Token::Recv { socket } => (RECV, 0, socket),
            Token::Send { arena, op } => (SEND, arena, op),
            Token::Watch { slot, generation } => (WATCH, generation, slot),
            Token::Timer { generation } => (TIMER, 0, generation),
            Token::Probe { what } => (PROBE, 0, what),
            Token::Ignored => (IGNORED, 0, 0),
        };
        (kind << KIND_SHIFT) | ((u64::from(a) & A_MASK) << A_SHIFT) | u64::from(b)
    }

    pub(crate) fn decode(raw: u64) -> Token {
        let a = ((raw >> A_SHIFT) & A_MASK) as u32;
        let b = (raw & B_MASK) as u32;
        match raw >> KIND_SHIFT {
            RECV => Token::Recv { socket: b },
            SEND => Token::Send { arena: a, op: b },
            WATCH => Token::Watch {
                slot: b,
                generation: a,
            },
            TIMER => Token::Timer { generation: b },
            PROBE => Token::Probe { what: b },
            // Unknown kinds cannot come from us; treat them as needing nothing.
            _ => Token::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for t in [
            Token::Recv { socket: 0 },
            Token::Recv { socket: u32::MAX },
            Token::Send { arena: 1, op: 4095 },
            Token::Watch {
                slot: 7,
                generation: GENERATION_MASK,
            },
            Token::Timer {
                generation: u32::MAX,
            },
            Token::Probe { what: 2 },
            Token::Ignored,
        ] {
            assert_eq!(Token::decode(t.encode()), t);
        }
        assert_eq!(Token::decode(0), Token::Ignored);
    }
}
