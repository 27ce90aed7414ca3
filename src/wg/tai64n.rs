//! TAI64N timestamps for handshake initiations (paper §5.4.2): 8 bytes of
//! big-endian TAI64 seconds and 4 bytes of big-endian nanoseconds, so that
//! byte-wise order is time order. A responder accepts an initiation only if
//! its timestamp is greater than the last accepted one from that peer, which
//! stops replays of old initiations.
//!
//! Built from a Unix time the caller passes in; nanoseconds are rounded down
//! to [`TIMESTAMP_GRANULARITY_NANOS`] as the kernel does, so the timestamp
//! does not reveal a precise clock.

use std::time::Duration;

use super::constants::{TAI64_EPOCH_LABEL, TIMESTAMP_GRANULARITY_NANOS};

/// A 12-byte TAI64N label; `Ord` is time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Tai64n([u8; 12]);

impl Tai64n {
    /// The label of `since_unix_epoch` (UTC, as the kernel writes it).
    pub fn from_unix(since_unix_epoch: Duration) -> Self {
        let secs = TAI64_EPOCH_LABEL.wrapping_add(since_unix_epoch.as_secs());
        let nanos = since_unix_epoch.subsec_nanos() & !(TIMESTAMP_GRANULARITY_NANOS - 1);
        let mut b = [0u8; 12];
        b[..8].copy_from_slice(&secs.to_be_bytes());
        b[8..].copy_from_slice(&nanos.to_be_bytes());
        Self(b)
    }

    pub fn from_bytes(bytes: [u8; 12]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_order() {
        let t = Tai64n::from_unix(Duration::new(1, 999_999_999));
        assert_eq!(t.as_bytes()[..8], 0x4000_0000_0000_000b_u64.to_be_bytes());
        // 999_999_999 rounded down to a multiple of 2^24.
        let nanos = u32::from_be_bytes(t.as_bytes()[8..].try_into().unwrap());
        assert_eq!(nanos, 989_855_744);
        assert_eq!(nanos % TIMESTAMP_GRANULARITY_NANOS, 0);
        assert!(Tai64n::from_unix(Duration::new(2, 0)) > t);
        assert!(Tai64n::from_unix(Duration::new(1, 0)) < t);
        // Within one granule two timestamps are equal: not "greater", so a
        // second initiation in the same 16.7 ms is refused like a replay.
        assert_eq!(
            Tai64n::from_unix(Duration::new(5, 1)),
            Tai64n::from_unix(Duration::new(5, 16_000_000))
        );
    }
}
