//! WireGuard's own output and events, and when the node asks it for a
//! handshake: data waiting gets WireGuard's full attempt, probes back off
//! after failures.

use std::time::{Duration, Instant};

use super::{Node, NodeEvent, push_event};
use crate::NodeId;
use crate::session::constants::{REKEY_ATTEMPT_TIME, REKEY_TIMEOUT};
use crate::wg::{WgEvent, WgTransmit};
use crate::wire::header::Kind;

impl Node {
    /// Starts (or keeps up) a handshake with neighbour `next` for a packet
    /// of `kind` that found no session. Frames the routes send that way,
    /// and anything for the supernode, are data waiting: WireGuard's full
    /// attempt, restarted by every new one (as the kernel does). The rest
    /// only probe: pings and the routing's control messages repeat on
    /// their own every few seconds whether or not the neighbour answers,
    /// and a frame's direct copy to a neighbour the routes have no path to
    /// at all (dynamic modes' fallback) is a guess that the direct link
    /// works. A probe starts no attempt while backing off after a failed
    /// one, a full attempt the first time, then short ones
    /// (`PROBE_ATTEMPT_TIME`). Without this a neighbour that never answers
    /// (a learned P2P peer behind a NAT, a host that left) cost an
    /// initiation every REKEY_TIMEOUT forever, each probe restarting the
    /// attempt before it could fail.
    pub(super) fn start_handshake(&mut self, now: Instant, next: NodeId, kind: Kind) {
        let routed = !self.direct_fallback || self.routes.next_hop(next).is_some();
        if (kind == Kind::Frame && routed) || next.is_supernode() {
            self.wg.initiate(now, next);
            return;
        }
        let Some(peer) = self.peers.get(&next) else {
            return;
        };
        if peer.ping_initiate_after.is_some_and(|t| now < t) {
            return;
        }
        let window = if peer.failed_handshakes == 0 {
            REKEY_ATTEMPT_TIME
        } else {
            PROBE_ATTEMPT_TIME
        };
        self.wg.probe(now, next, window);
    }

    /// Moves WireGuard's own output into the node's queues, and reacts to
    /// its events (a new session releases the packets parked for it).
    pub(super) fn drain_wg(&mut self, now: Instant) {
        while let Some(t) = self.wg.poll_transmit(&mut self.wg_scratch) {
            let (dst, len) = match t {
                WgTransmit::ToPeer { peer, len } => {
                    match self.peers.get(&peer).and_then(|p| p.endpoint) {
                        Some(dst) => (dst, len),
                        None => {
                            self.metrics.drop("no_endpoint");
                            continue;
                        }
                    }
                }
                WgTransmit::ToAddr { addr, len } => {
                    // Cookie replies (the only `ToAddr`) answer whoever
                    // floods us and are best effort (the initiator retries
                    // after REKEY_TIMEOUT): they never take the second half
                    // of the ring, which stays for data and handshakes sent
                    // before the ring is flushed. Without this a flood's
                    // replies filled the ring and relayed frames were lost.
                    if self.transmits.len() * 2 >= self.transmits.capacity() {
                        self.metrics.drop("cookie_reply_shed");
                        continue;
                    }
                    (addr, len)
                }
            };
            let Some(slot) = self.transmits.reserve() else {
                self.metrics.drop("tx_queue_full");
                continue;
            };
            let (Some(out), Some(src)) = (slot.get_mut(..len), self.wg_scratch.get(..len)) else {
                continue;
            };
            out.copy_from_slice(src);
            self.transmits.commit(0..len, (dst, None));
        }
        while let Some(e) = self.wg.poll_event() {
            match e {
                WgEvent::SessionEstablished { peer } => {
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.failed_handshakes = 0;
                        p.ping_initiate_after = None;
                    }
                    if let Some(c) = self.metrics.peer_mut(peer) {
                        c.handshakes += 1;
                    }
                    self.flush_parked(now, peer);
                    push_event(
                        &mut self.events,
                        &mut self.metrics,
                        NodeEvent::SessionEstablished { peer },
                    );
                }
                WgEvent::HandshakeFailed { peer } => {
                    if let Some(c) = self.metrics.peer_mut(peer) {
                        c.handshake_failures += 1;
                    }
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.failed_handshakes = p.failed_handshakes.saturating_add(1);
                        let backoff = PING_HANDSHAKE_BACKOFF
                            .saturating_mul(1 << p.failed_handshakes.min(5).saturating_sub(1))
                            .min(PING_HANDSHAKE_BACKOFF_MAX);
                        p.ping_initiate_after = Some(now + backoff);
                    }
                    if let Some(p) = self.peers.get_mut(&peer) {
                        let dropped = p.pending.len() as u64;
                        p.pending.clear();
                        for _ in 0..dropped {
                            self.metrics.drop("handshake_failed");
                        }
                    }
                    push_event(
                        &mut self.events,
                        &mut self.metrics,
                        NodeEvent::HandshakeFailed { peer },
                    );
                }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }
}

/// After a failed handshake, pings and control messages wait this long
/// before trying the neighbour again, doubling per failure up to the
/// maximum; frames for the neighbour still start a handshake at once. A
/// neighbour that never answers costs, per hour after the first, at most
/// 3600 s / (PING_HANDSHAKE_BACKOFF_MAX + REKEY_TIMEOUT) ≈ 7 probe
/// attempts of one initiation each, instead of one initiation per
/// REKEY_TIMEOUT (720); one that comes back gets a session within
/// PING_HANDSHAKE_BACKOFF_MAX plus a ping interval (sooner if it probes
/// first), or at once for a routed frame. The back-off only grows while
/// failures follow each other: a link that flapped for a minute is
/// retried after 30 s, one dead for a quarter of an hour every 8 min.
pub const PING_HANDSHAKE_BACKOFF: Duration = Duration::from_secs(30);
pub const PING_HANDSHAKE_BACKOFF_MAX: Duration = Duration::from_secs(480);
/// How long a probe's handshake attempt lasts once the neighbour has
/// failed one: a single initiation, abandoned when its retransmit timer
/// (REKEY_TIMEOUT plus jitter) fires, not REKEY_ATTEMPT_TIME's eighteen
/// retries. A lost initiation costs one back-off period; the next probe
/// is the retry.
const PROBE_ATTEMPT_TIME: Duration = REKEY_TIMEOUT;
