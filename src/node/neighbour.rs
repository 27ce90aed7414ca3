//! A direct neighbour as the node sees it: where to send to (roaming unless
//! `Static`), and a bounded queue of packets that wait for a WireGuard
//! session. The cryptographic state lives in [`crate::wg`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::LinkQuality;
use super::ring::PacketRing;
use crate::NodeId;

/// Packets kept per neighbour while a handshake is under way; older ones are
/// kept, newer ones dropped (counted) once it is full.
pub const PENDING_CAPACITY: usize = 16;

#[derive(Debug)]
pub struct Neighbour {
    pub id: NodeId,
    /// Where datagrams for this neighbour go; learned from its latest
    /// authenticated packet unless `is_static`.
    pub endpoint: Option<SocketAddr>,
    pub is_static: bool,
    /// Plaintext payloads (routing header + body + padding) awaiting a session.
    pub pending: PacketRing<()>,
    /// When this neighbour's last ping arrived, and how long until the
    /// link counts as down without another (from the interval it announced).
    pub last_ping: Option<Instant>,
    pub alive_for: Duration,
    /// A `LinkDown` was reported and no ping came since.
    pub down: bool,
    /// Handshakes that failed in a row, and until when pings do not start
    /// a new one (a learned peer that is unreachable must not cost a
    /// handshake every ping round forever).
    pub failed_handshakes: u32,
    pub ping_initiate_after: Option<Instant>,
    /// The link from this neighbour: delay, jitter, loss, round trip.
    pub quality: LinkQuality,
}

impl Neighbour {
    pub fn new(id: NodeId, endpoint: Option<SocketAddr>, is_static: bool, slot_len: usize) -> Self {
        Self {
            id,
            endpoint,
            is_static,
            pending: PacketRing::new(PENDING_CAPACITY, slot_len),
            last_ping: None,
            alive_for: Duration::MAX,
            down: false,
            failed_handshakes: 0,
            ping_initiate_after: None,
            quality: LinkQuality::default(),
        }
    }

    /// Follows the source address of an authenticated packet (roaming).
    /// Returns true if the endpoint changed.
    pub fn saw_authenticated(&mut self, from: SocketAddr) -> bool {
        if self.is_static && self.endpoint.is_some() {
            return false;
        }
        let changed = self.endpoint != Some(from);
        self.endpoint = Some(from);
        changed
    }
}
