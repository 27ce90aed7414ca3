//! Deferred AEAD work: a transport message's ChaCha20-Poly1305 step cut out
//! of the keypair's bookkeeping, so it can run on another thread's time.
//!
//! A [`super::keypair::Keypair`] decides everything that must be exact —
//! which counter a sent message carries (each once), whether a received
//! counter may still be accepted — and hands out a job holding a shared
//! reference to the key (`Arc<LessSafeKey>`: ring's key is `Sync`) and the
//! counter. The job does only the cipher work and may run anywhere, e.g.
//! after a data-path thread released the node's lock:
//!
//! ```text
//! // under the lock
//! let (range, job) = keypair.reserve_seal(buf, payload)?;  // counter taken, header written
//! // unlocked
//! job.seal(&mut buf[range])?;                              // encrypt + tag
//!
//! // under the lock
//! let job = keypair.prepare_open(counter)?;                // window pre-check
//! // unlocked
//! let result = job.open(msg);                              // decrypt in place
//! // under the lock
//! keypair.finish_open(&job)                                // window update (exactly once)
//! ```
//!
//! Nothing here allocates: a job is an `Arc` clone (an atomic increment)
//! and a few integers.
//!
//! The message layout the cipher works on ([`HEADER_LEN`], [`TAG_LEN`]) and
//! its failures ([`SealFailure`], [`OpenFailure`]) are defined here; the
//! keypair uses them, never the other way round.

use std::ops::Range;
use std::sync::Arc;

use ring::aead::{Aad, LessSafeKey, Nonce};

use crate::wire::wg::field;

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

/// The nonce of `counter`: 4 zero bytes ‖ counter, little-endian.
fn nonce(counter: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_le_bytes());
    Nonce::assume_unique_for_key(n)
}

/// Encrypts one transport message whose counter was reserved and whose
/// header was written already.
#[derive(Clone)]
pub struct SealJob {
    key: Arc<LessSafeKey>,
    counter: u64,
}

impl std::fmt::Debug for SealJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealJob")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl SealJob {
    pub(super) fn new(key: Arc<LessSafeKey>, counter: u64) -> Self {
        Self { key, counter }
    }

    /// The counter (nonce) this message carries.
    pub fn counter(&self) -> u64 {
        self.counter
    }

    /// Encrypts `msg` — a whole transport message: header, plaintext, then
    /// [`TAG_LEN`] bytes for the tag — in place and writes the tag. On
    /// `Err` the message is not fit to send (it may hold plaintext).
    pub fn seal(&self, msg: &mut [u8]) -> Result<(), SealFailure> {
        let tag_at = msg
            .len()
            .checked_sub(TAG_LEN)
            .filter(|&t| t >= HEADER_LEN)
            .ok_or(SealFailure::Buffer)?;
        let (body, tag_out) = msg.split_at_mut(tag_at);
        let plain = body.get_mut(HEADER_LEN..).ok_or(SealFailure::Buffer)?;
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce(self.counter), Aad::empty(), plain)
            .map_err(|_| SealFailure::Buffer)?;
        tag_out.copy_from_slice(tag.as_ref());
        Ok(())
    }
}

/// Decrypts one received transport message that passed the replay
/// window's pre-check; the window is updated only by the keypair's
/// `finish_open` afterwards.
#[derive(Clone)]
pub struct OpenJob {
    key: Arc<LessSafeKey>,
    counter: u64,
    receiver: u32,
}

impl std::fmt::Debug for OpenJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenJob")
            .field("receiver", &self.receiver)
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl OpenJob {
    pub(super) fn new(key: Arc<LessSafeKey>, counter: u64, receiver: u32) -> Self {
        Self {
            key,
            counter,
            receiver,
        }
    }

    pub fn counter(&self) -> u64 {
        self.counter
    }

    /// Our index the message was addressed to (finds the keypair again).
    pub fn receiver(&self) -> u32 {
        self.receiver
    }

    /// Whether this job was made with `key` (the keypair found again under
    /// the lock is the one that pre-checked the counter).
    pub(super) fn uses(&self, key: &Arc<LessSafeKey>) -> bool {
        Arc::ptr_eq(&self.key, key)
    }

    /// Decrypts the whole message `msg` (header, ciphertext, tag) in place;
    /// returns where the plaintext is.
    pub fn open(&self, msg: &mut [u8]) -> Result<Range<usize>, OpenFailure> {
        let sealed = msg.get_mut(HEADER_LEN..).ok_or(OpenFailure::Decrypt)?;
        let plain_len = self
            .key
            .open_in_place(nonce(self.counter), Aad::empty(), sealed)
            .map_err(|_| OpenFailure::Decrypt)?
            .len();
        Ok(HEADER_LEN..HEADER_LEN + plain_len)
    }
}
