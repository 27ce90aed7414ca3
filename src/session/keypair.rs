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

use std::ops::Range;
use std::time::{Duration, Instant};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};

use super::constants::{REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME};
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
    send: LessSafeKey,
    recv: LessSafeKey,
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

fn nonce(counter: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_le_bytes());
    Nonce::assume_unique_for_key(n)
}

fn key(bytes: &[u8; 32]) -> Option<LessSafeKey> {
    UnboundKey::new(&CHACHA20_POLY1305, bytes)
        .ok()
        .map(LessSafeKey::new)
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
        let tag: Tag = self
            .send
            .seal_in_place_separate_tag(nonce(counter), Aad::empty(), &mut buf[payload.clone()])
            .map_err(|_| SealFailure::Buffer)?;
        self.send_counter = counter + 1;
        buf[payload.end..end].copy_from_slice(tag.as_ref());
        Transport::emit_header(&mut buf[start..payload.start], self.remote_index, counter)
            .map_err(|_| SealFailure::Buffer)?;
        Ok((start..end, counter))
    }

    /// Would a message with `counter` pass the replay window? (Cheap check
    /// before spending AEAD work.)
    pub fn may_accept(&self, counter: u64) -> bool {
        self.replay.check(counter)
    }

    /// Decrypts a whole transport message (already parsed: header and at
    /// least a tag) in place; returns the plaintext's range in `msg`.
    pub fn open(&mut self, msg: &mut [u8], counter: u64) -> Result<Range<usize>, OpenFailure> {
        if !self.replay.check(counter) {
            return Err(OpenFailure::Replay);
        }
        let sealed = msg.get_mut(HEADER_LEN..).ok_or(OpenFailure::Decrypt)?;
        let plain_len = self
            .recv
            .open_in_place(nonce(counter), Aad::empty(), sealed)
            .map_err(|_| OpenFailure::Decrypt)?
            .len();
        // Only an authentic message may move the window (kernel order).
        if !self.replay.accept(counter) {
            return Err(OpenFailure::Replay);
        }
        Ok(HEADER_LEN..HEADER_LEN + plain_len)
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
}
