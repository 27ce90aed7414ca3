//! WireGuard's own output and events, and when the node asks it for a
//! handshake: data waiting gets WireGuard's full attempt, probes back off
//! after failures.

use std::time::Instant;

use super::neighbour::Neighbour;
use super::{Node, NodeEvent, push_event};
use crate::NodeId;
use crate::drop::DropReason;
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
    /// ([`Neighbour::probe_window`]). Without this a neighbour that never answers
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
        let Some(window) = peer.probe_window(now) else {
            return;
        };
        self.wg.probe(now, next, window);
    }

    /// Moves WireGuard's own output into the node's queues, and reacts to
    /// its events (a new session releases the packets parked for it).
    pub(super) fn drain_wg(&mut self, now: Instant) {
        while let Some(t) = self.wg.poll_transmit(&mut self.wg_scratch) {
            let (dst, len) = match t {
                WgTransmit::ToPeer { peer, len } => {
                    match self.peers.get(&peer).and_then(Neighbour::endpoint) {
                        Some(dst) => (dst, len),
                        None => {
                            self.metrics.drop(DropReason::NoEndpoint);
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
                        self.metrics.drop(DropReason::CookieReplyShed);
                        continue;
                    }
                    (addr, len)
                }
            };
            let Some(slot) = self.transmits.reserve() else {
                self.metrics.drop(DropReason::TxQueueFull);
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
                        p.on_session();
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
                        for _ in 0..p.on_handshake_failed(now) {
                            self.metrics.drop(DropReason::HandshakeFailed);
                        }
                    }
                    push_event(
                        &mut self.events,
                        &mut self.metrics,
                        NodeEvent::HandshakeFailed { peer },
                    );
                }
                // Nothing to do: the keys expired after 3 × REJECT_AFTER_TIME
                // without a handshake, so no session was up and the next
                // packet for the neighbour starts one (`has_session` is
                // false). Its parked packets, back-off and liveness belong
                // to handshake attempts and pings, which report their own
                // outcome (`SessionEstablished`, `HandshakeFailed`).
                WgEvent::KeysZeroed { .. } => {}
            }
        }
    }
}
