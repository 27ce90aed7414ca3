//! Every WireGuard protocol constant, in one place, each citing its source.
//!
//! "Paper" is J. A. Donenfeld, *WireGuard: Next Generation Kernel Network
//! Tunnel* (NDSS 2017, revision e2da747 of 2020-06-01). Where the paper leaves
//! a number open, the value follows the Linux kernel implementation
//! (`drivers/net/wireguard/`) and the file is named. Message sizes and field
//! offsets are part of the wire format and live in [`crate::wire::wg::field`].

use std::time::Duration;

// ---- Noise construction (paper §5.4) ----

/// The Noise protocol name, hashed into the initial chaining key (paper §5.4).
pub const CONSTRUCTION: &str = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/// The prologue mixed into the handshake hash (paper §5.4).
pub const IDENTIFIER: &[u8] = b"WireGuard v1 zx2c4 Jason@zx2c4.com";
/// Label of the mac1 key: `HASH(LABEL_MAC1 || S_pub)` (paper §5.4.4).
pub const LABEL_MAC1: &[u8] = b"mac1----";
/// Label of the cookie encryption key: `HASH(LABEL_COOKIE || S_pub)` (paper §5.4.7).
pub const LABEL_COOKIE: &[u8] = b"cookie--";
/// Position of the pre-shared key in `IKpsk2` (paper §5.4, Noise spec §9).
pub const PSK_POSITION: usize = 2;

// ---- Timestamps (paper §5.4.2 and kernel `noise.c`) ----

/// TAI64 label of the Unix epoch: 2^62 plus the 10 s TAI−UTC offset of 1970
/// (kernel `noise.c: tai64n_now`).
pub const TAI64_EPOCH_LABEL: u64 = 0x4000_0000_0000_000a;
/// At most this many initiations per second are accepted from one peer
/// (kernel `noise.c: INITIATIONS_PER_SECOND`, the handshake flood guard).
pub const INITIATIONS_PER_SECOND: u32 = 50;
/// TAI64N nanoseconds are rounded down to this granularity so a timestamp does
/// not leak a precise clock: `rounddown_pow_of_two(10^9 / INITIATIONS_PER_SECOND)`
/// (kernel `noise.c: tai64n_now`).
pub const TIMESTAMP_GRANULARITY_NANOS: u32 = 1 << (1_000_000_000 / INITIATIONS_PER_SECOND).ilog2();
/// Minimum time between two accepted initiations of one peer (the flood guard).
pub const MIN_INITIATION_INTERVAL: Duration =
    Duration::from_nanos(1_000_000_000 / INITIATIONS_PER_SECOND as u64);

// ---- Timers and limits (paper §6.1 table) ----

/// Initiator rekeys after sending this many messages with one key (paper §6.1).
pub const REKEY_AFTER_MESSAGES: u64 = 1 << 60;
/// No message is sent or accepted with a counter at or above this value:
/// 2^64 − 2^13 − 1 (paper §6.1). (The kernel uses 2^64 − 8130, derived from its
/// window size; both leave room for the replay window.)
pub const REJECT_AFTER_MESSAGES: u64 = u64::MAX - (1 << 13);
/// Initiator rekeys when sending with a key this old (paper §6.1, §6.2).
pub const REKEY_AFTER_TIME: Duration = Duration::from_secs(120);
/// Keys this old are used neither for sending nor receiving (paper §6.1).
pub const REJECT_AFTER_TIME: Duration = Duration::from_secs(180);
/// Handshake attempts for one rekey stop after this long (paper §6.1, §6.4).
pub const REKEY_ATTEMPT_TIME: Duration = Duration::from_secs(90);
/// An unanswered initiation is retried after this long, plus jitter (paper §6.1, §6.4).
pub const REKEY_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound of the random jitter added to each retry, drawn uniformly from
/// `0..=REKEY_TIMEOUT_JITTER_MAX` (paper §6.1 "jitter"; 333 ms as in kernel `timers.c`).
pub const REKEY_TIMEOUT_JITTER_MAX: Duration = Duration::from_millis(333);
/// A keepalive is sent this long after receiving data with nothing sent back (paper §6.1, §6.5).
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// All key material of a peer is erased after this long without a new
/// handshake: 3 × REJECT_AFTER_TIME (paper §6, key erasure; kernel
/// `timers.c: wg_expired_zero_key_material`).
pub const ZERO_KEYS_AFTER: Duration = Duration::from_secs(3 * REJECT_AFTER_TIME.as_secs());
/// The responder side rekeys on receive when the current key (initiated by us)
/// gets this old: REJECT_AFTER_TIME − KEEPALIVE_TIMEOUT − REKEY_TIMEOUT
/// (paper §6.2; kernel `receive.c: keep_key_fresh`).
pub const REKEY_ON_RECEIVE_AGE: Duration = Duration::from_secs(
    REJECT_AFTER_TIME.as_secs() - KEEPALIVE_TIMEOUT.as_secs() - REKEY_TIMEOUT.as_secs(),
);

// ---- Cookies (paper §5.4.7, kernel `cookie.c`) ----

/// The responder's cookie secret is replaced after this long (paper §5.4.7: "changes every two minutes").
pub const COOKIE_SECRET_MAX_AGE: Duration = Duration::from_secs(120);
/// A received cookie is used for mac2 only while younger than
/// COOKIE_SECRET_MAX_AGE − COOKIE_SECRET_LATENCY (kernel `cookie.c`).
pub const COOKIE_SECRET_LATENCY: Duration = Duration::from_secs(5);

// ---- Handshake rate limiting under load (kernel `ratelimiter.c`, `receive.c`) ----

/// Token refill rate per source (IPv4 address or IPv6 /64): handshakes per second
/// (kernel `ratelimiter.c: PACKETS_PER_SECOND`).
pub const HANDSHAKES_PER_SECOND_PER_SOURCE: u64 = 20;
/// Bucket depth per source (kernel `ratelimiter.c: PACKETS_BURSTABLE`).
pub const HANDSHAKE_BURST_PER_SOURCE: u64 = 5;
/// Sources tracked at once; beyond this, handshakes from new sources are refused
/// while under load (kernel `ratelimiter.c: max_entries`, bounded the same way).
pub const RATELIMIT_TABLE_MAX: usize = 8192;
/// Idle rate-limiter entries are dropped after this long (kernel `ratelimiter.c` gc: 1 s).
pub const RATELIMIT_ENTRY_IDLE: Duration = Duration::from_secs(1);
/// "Under load" starts when more than this many handshake messages (initiations
/// and responses, counted before any MAC check so that a flood counts) arrive in
/// one [`UNDER_LOAD_INTERVAL`]. The kernel's trigger is a queue of 512 pending
/// handshakes (`MAX_QUEUED_INCOMING_HANDSHAKES / 8`); a sans-IO core has no
/// queue, so egd counts arrivals instead: 64/s is far above what a healthy
/// mesh needs (one handshake per peer per two minutes) and well below the
/// ~20 000 DH/s one core can do.
pub const UNDER_LOAD_HANDSHAKES: u32 = 64;
/// The interval over which handshake arrivals are counted, and for how long
/// "under load" persists after the count drops (kernel `receive.c`: 1 s).
pub const UNDER_LOAD_INTERVAL: Duration = Duration::from_secs(1);
/// At most this many handshake messages per [`UNDER_LOAD_INTERVAL`] can
/// earn a cookie reply; beyond it a message without a valid mac2 is dropped
/// after its MACs are checked (`handshake_overload`), while one with a
/// valid cookie still goes on to the per-source rate limit and the DH. A
/// flood of initiations with a valid mac1 otherwise buys one cookie reply
/// each (an XChaCha20-Poly1305 seal and a transmit slot: ~3 µs in a release
/// build, ~95 µs with unoptimised crypto) and, once that outruns the CPU egd
/// gets, transport data waits behind the flood in the socket buffer
/// (measured in tests/netns/hostile.rs before the cap: a relayed ping flow
/// at 10–17 s round trips and 18–48 % loss under a 2–3 k/s flood per edge).
/// The MAC checks alone are three BLAKE2s (~1 µs): a peer that holds a
/// cookie — every real initiator does after its first attempt under load —
/// is not outvoted by the flood, unlike behind the kernel's full queue.
/// 256/s is four times the under-load threshold and ~30× what a 1000-peer
/// mesh needs for its rekeys.
pub const HANDSHAKE_BUDGET: u32 = 256;

// ---- Replay window (RFC 6479; kernel `messages.h`) ----

/// Bits in the replay bitmap (kernel `COUNTER_BITS_TOTAL`).
pub const COUNTER_BITS_TOTAL: u64 = 8192;
/// One word of the bitmap is always being recycled (kernel `COUNTER_REDUNDANT_BITS`).
pub const COUNTER_REDUNDANT_BITS: u64 = 64;
/// Counters this far behind the highest accepted one are still accepted once
/// (RFC 6479 §2; kernel `COUNTER_WINDOW_SIZE` = 8128).
pub const COUNTER_WINDOW_SIZE: u64 = COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS;

// ---- egd's own bounds (not in the paper) ----

/// Control datagrams (handshake messages, cookie replies, keepalives) waiting
/// for `poll_transmit`. When full the newest is dropped and counted: every
/// handshake message is retried by its timer, so a drop only delays.
pub const TRANSMIT_QUEUE_LEN: usize = 256;
/// Events waiting for `poll_event`. When full the oldest is dropped and counted.
pub const EVENT_QUEUE_LEN: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived constants keep the values the paper and kernel give.
    #[test]
    fn derived_values() {
        assert_eq!(TIMESTAMP_GRANULARITY_NANOS, 1 << 24);
        assert_eq!(ZERO_KEYS_AFTER, Duration::from_secs(540));
        assert_eq!(REKEY_ON_RECEIVE_AGE, Duration::from_secs(165));
        assert_eq!(COUNTER_WINDOW_SIZE, 8128);
    }
}
