//! The WireGuard handshake (paper §5.4) as pure functions and small state
//! machines: no clock, no OS randomness, no I/O.
//!
//! - [`handshake`]: Noise_IKpsk2 through `snow`, with a resolver seeded by the
//!   caller so that every ephemeral key is reproducible in tests;
//! - [`cookie`]: mac1/mac2 and cookie replies (paper §5.4.4, §5.4.7);
//! - [`ratelimit`]: "under load" detection and the per-source token bucket;
//! - [`tai64n`]: the initiation timestamp;
//! - [`kdf`]: the BLAKE2s hash and keyed MAC used around Noise.
//!
//! [`crate::wg::Wg`] ties them to peers and timers.

pub mod cookie;
pub mod handshake;
pub mod kdf;
pub mod ratelimit;
pub mod tai64n;
