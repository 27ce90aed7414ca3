//! Why a packet was dropped: one closed set of reasons, so every counted
//! drop has a variant and a stable metric label
//! (`egd_dropped_packets_total{reason=...}`). The node and WireGuard both
//! count into it; this module depends on neither.

/// A reason a packet was dropped. The discriminants index
/// [`crate::metrics::Metrics`]' drop table.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Drop {
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
    // --- WireGuard's (`wg::DropReason`), counted by the node ---
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

impl Drop {
    /// How many reasons there are.
    pub const COUNT: usize = 39;

    /// Every reason, in discriminant order.
    pub const ALL: [Drop; Drop::COUNT] = [
        Drop::FrameTooShort,
        Drop::FrameTooLong,
        Drop::FrameToSelf,
        Drop::BadSource,
        Drop::NoRoute,
        Drop::UnknownNeighbour,
        Drop::BodyTooLong,
        Drop::TxQueueFull,
        Drop::NoSession,
        Drop::BufferTooSmall,
        Drop::ControlTooLarge,
        Drop::HandshakeQueueFull,
        Drop::HandshakeFailed,
        Drop::NoEndpoint,
        Drop::CookieReplyShed,
        Drop::EventQueueFull,
        Drop::BadHeader,
        Drop::OwnPacketReturned,
        Drop::BadControl,
        Drop::DuplicateFlood,
        Drop::DedupFull,
        Drop::TtlExpired,
        Drop::FibFull,
        Drop::RxQueueFull,
        Drop::TooShort,
        Drop::BadLength,
        Drop::UnknownType,
        Drop::UnknownIndex,
        Drop::Replay,
        Drop::DecryptFailed,
        Drop::BadMac1,
        Drop::CookieRequired,
        Drop::RateLimited,
        Drop::HandshakeOverload,
        Drop::StaleTimestamp,
        Drop::InitiationFlood,
        Drop::UnknownPeer,
        Drop::KeyExpired,
        Drop::Internal,
    ];

    /// The metric label (stable: dashboards and alerts select on it).
    pub fn as_str(self) -> &'static str {
        match self {
            Drop::FrameTooShort => "frame_too_short",
            Drop::FrameTooLong => "frame_too_long",
            Drop::FrameToSelf => "frame_to_self",
            Drop::BadSource => "bad_source",
            Drop::NoRoute => "no_route",
            Drop::UnknownNeighbour => "unknown_neighbour",
            Drop::BodyTooLong => "body_too_long",
            Drop::TxQueueFull => "tx_queue_full",
            Drop::NoSession => "no_session",
            Drop::BufferTooSmall => "buffer_too_small",
            Drop::ControlTooLarge => "control_too_large",
            Drop::HandshakeQueueFull => "handshake_queue_full",
            Drop::HandshakeFailed => "handshake_failed",
            Drop::NoEndpoint => "no_endpoint",
            Drop::CookieReplyShed => "cookie_reply_shed",
            Drop::EventQueueFull => "event_queue_full",
            Drop::BadHeader => "bad_header",
            Drop::OwnPacketReturned => "own_packet_returned",
            Drop::BadControl => "bad_control",
            Drop::DuplicateFlood => "duplicate_flood",
            Drop::DedupFull => "dedup_full",
            Drop::TtlExpired => "ttl_expired",
            Drop::FibFull => "fib_full",
            Drop::RxQueueFull => "rx_queue_full",
            Drop::TooShort => "too_short",
            Drop::BadLength => "bad_length",
            Drop::UnknownType => "unknown_type",
            Drop::UnknownIndex => "unknown_index",
            Drop::Replay => "replay",
            Drop::DecryptFailed => "decrypt_failed",
            Drop::BadMac1 => "bad_mac1",
            Drop::CookieRequired => "cookie_required",
            Drop::RateLimited => "rate_limited",
            Drop::HandshakeOverload => "handshake_overload",
            Drop::StaleTimestamp => "stale_timestamp",
            Drop::InitiationFlood => "initiation_flood",
            Drop::UnknownPeer => "unknown_peer",
            Drop::KeyExpired => "key_expired",
            Drop::Internal => "internal",
        }
    }

    /// Position in [`Drop::ALL`] (and in a table of `COUNT` counters).
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
        for (i, d) in Drop::ALL.iter().enumerate() {
            assert_eq!(d.index(), i, "{d:?}");
            assert!(labels.insert(d.as_str()), "{} twice", d.as_str());
        }
    }
}
