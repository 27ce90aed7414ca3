//! Why a packet was dropped: one closed set of reasons, so every counted
//! drop has a variant and a stable metric label
//! (`egd_dropped_packets_total{reason=...}`). The node and WireGuard both
//! count into it; this module depends on neither.

/// A reason a packet was dropped. The discriminants index
/// [`crate::metrics::Metrics`]' drop table.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    // --- counted by the node ---
    /// A frame shorter than an Ethernet header (from the interface, or
    /// delivered).
    FrameTooShort,
    /// A frame longer than the interface's largest, or than a frame slot.
    FrameTooLong,
    /// A frame from the interface whose destination MAC is this node's.
    FrameToSelf,
    /// A broadcast whose routing header names no valid source node.
    BadSource,
    /// No next hop for the destination.
    NoRoute,
    /// Sending to a neighbour the node (or WireGuard) does not have.
    UnknownNeighbour,
    /// A body that does not fit a routing header's length or a packet slot.
    BodyTooLong,
    /// The transmit ring is full.
    TxQueueFull,
    /// Sealing found no WireGuard session (parked packets only).
    NoSession,
    /// Sealing found no room for WireGuard's header and tag.
    BufferTooSmall,
    /// A control message this node originates is longer than a control body.
    ControlTooLarge,
    /// A neighbour's queue of packets awaiting a session is full.
    HandshakeQueueFull,
    /// Packets parked for a session whose handshake failed.
    HandshakeFailed,
    /// A WireGuard datagram for a neighbour with no endpoint.
    NoEndpoint,
    /// A cookie reply shed to keep half the transmit ring for data and
    /// handshakes.
    CookieReplyShed,
    /// The owner's event queue is full.
    EventQueueFull,
    /// A decrypted packet without a valid routing header.
    BadHeader,
    /// A packet this node originated came back to it.
    OwnPacketReturned,
    /// A control message that does not parse.
    BadControl,
    /// A flooded control message seen before.
    DuplicateFlood,
    /// The flood de-duplication table is full.
    DedupFull,
    /// A relayed packet whose TTL ran out.
    TtlExpired,
    /// The L2 FIB is full: a source MAC was not learned (the frame is still
    /// delivered).
    FibFull,
    /// The ring of frames for the interface is full.
    RxQueueFull,
    // --- reported by WireGuard (`wg::Opened::Dropped`), counted by the node ---
    /// Shorter than its message type allows.
    TooShort,
    /// A handshake or cookie message of the wrong size.
    BadLength,
    /// Not a WireGuard message type.
    UnknownType,
    /// No keypair or handshake has this receiver index.
    UnknownIndex,
    /// A transport counter already seen or outside the window.
    Replay,
    /// AEAD authentication failed (wrong key, wrong PSK, forged bytes).
    DecryptFailed,
    /// mac1 is not keyed with our public key.
    BadMac1,
    /// Under load and no valid mac2: a cookie reply was queued instead.
    CookieRequired,
    /// Under load and this source is over its handshake rate.
    RateLimited,
    /// More handshake messages this second than egd does any work for: dropped
    /// before the MAC checks.
    HandshakeOverload,
    /// Initiation timestamp not newer than the last accepted one (replay).
    StaleTimestamp,
    /// A second initiation from one peer within 1/INITIATIONS_PER_SECOND.
    InitiationFlood,
    /// A handshake whose initiator's static key belongs to no peer.
    UnknownPeer,
    /// The keypair is older than REJECT_AFTER_TIME.
    KeyExpired,
    /// Our own handshake machinery failed (should not happen; counted).
    Internal,
}

impl DropReason {
    /// How many reasons there are.
    pub const COUNT: usize = 39;

    /// Every reason, in discriminant order.
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::FrameTooShort,
        DropReason::FrameTooLong,
        DropReason::FrameToSelf,
        DropReason::BadSource,
        DropReason::NoRoute,
        DropReason::UnknownNeighbour,
        DropReason::BodyTooLong,
        DropReason::TxQueueFull,
        DropReason::NoSession,
        DropReason::BufferTooSmall,
        DropReason::ControlTooLarge,
        DropReason::HandshakeQueueFull,
        DropReason::HandshakeFailed,
        DropReason::NoEndpoint,
        DropReason::CookieReplyShed,
        DropReason::EventQueueFull,
        DropReason::BadHeader,
        DropReason::OwnPacketReturned,
        DropReason::BadControl,
        DropReason::DuplicateFlood,
        DropReason::DedupFull,
        DropReason::TtlExpired,
        DropReason::FibFull,
        DropReason::RxQueueFull,
        DropReason::TooShort,
        DropReason::BadLength,
        DropReason::UnknownType,
        DropReason::UnknownIndex,
        DropReason::Replay,
        DropReason::DecryptFailed,
        DropReason::BadMac1,
        DropReason::CookieRequired,
        DropReason::RateLimited,
        DropReason::HandshakeOverload,
        DropReason::StaleTimestamp,
        DropReason::InitiationFlood,
        DropReason::UnknownPeer,
        DropReason::KeyExpired,
        DropReason::Internal,
    ];

    /// The reasons WireGuard itself reports (`wg::Opened::Dropped`): a
    /// caller can tell WireGuard's drops from the node's (the hostile-traffic
    /// test sums exactly these).
    pub const WIREGUARD: &'static [DropReason] =
        DropReason::ALL.split_at(DropReason::TooShort as usize).1;

    /// The metric label (stable: dashboards and alerts select on it).
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::FrameTooShort => "frame_too_short",
            DropReason::FrameTooLong => "frame_too_long",
            DropReason::FrameToSelf => "frame_to_self",
            DropReason::BadSource => "bad_source",
            DropReason::NoRoute => "no_route",
            DropReason::UnknownNeighbour => "unknown_neighbour",
            DropReason::BodyTooLong => "body_too_long",
            DropReason::TxQueueFull => "tx_queue_full",
            DropReason::NoSession => "no_session",
            DropReason::BufferTooSmall => "buffer_too_small",
            DropReason::ControlTooLarge => "control_too_large",
            DropReason::HandshakeQueueFull => "handshake_queue_full",
            DropReason::HandshakeFailed => "handshake_failed",
            DropReason::NoEndpoint => "no_endpoint",
            DropReason::CookieReplyShed => "cookie_reply_shed",
            DropReason::EventQueueFull => "event_queue_full",
            DropReason::BadHeader => "bad_header",
            DropReason::OwnPacketReturned => "own_packet_returned",
            DropReason::BadControl => "bad_control",
            DropReason::DuplicateFlood => "duplicate_flood",
            DropReason::DedupFull => "dedup_full",
            DropReason::TtlExpired => "ttl_expired",
            DropReason::FibFull => "fib_full",
            DropReason::RxQueueFull => "rx_queue_full",
            DropReason::TooShort => "too_short",
            DropReason::BadLength => "bad_length",
            DropReason::UnknownType => "unknown_type",
            DropReason::UnknownIndex => "unknown_index",
            DropReason::Replay => "replay",
            DropReason::DecryptFailed => "decrypt_failed",
            DropReason::BadMac1 => "bad_mac1",
            DropReason::CookieRequired => "cookie_required",
            DropReason::RateLimited => "rate_limited",
            DropReason::HandshakeOverload => "handshake_overload",
            DropReason::StaleTimestamp => "stale_timestamp",
            DropReason::InitiationFlood => "initiation_flood",
            DropReason::UnknownPeer => "unknown_peer",
            DropReason::KeyExpired => "key_expired",
            DropReason::Internal => "internal",
        }
    }

    /// Position in [`DropReason::ALL`] (and in a table of `COUNT` counters).
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order_and_labels_are_distinct() {
        let mut labels = std::collections::BTreeSet::new();
        for (i, d) in DropReason::ALL.iter().enumerate() {
            assert_eq!(d.index(), i, "{d:?}");
            assert!(labels.insert(d.as_str()), "{} twice", d.as_str());
        }
    }

    #[test]
    fn wireguard_reasons_are_the_tail_of_all() {
        assert_eq!(DropReason::WIREGUARD.first(), Some(&DropReason::TooShort));
        assert_eq!(DropReason::WIREGUARD.last(), Some(&DropReason::Internal));
        assert_eq!(DropReason::WIREGUARD.len(), 15);
    }
}
