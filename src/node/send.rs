//! The send path: a frame from the interface or a control message this
//! node originates is given a routing header ([`Node::route`]), sealed for
//! each next hop ([`Node::send_to_neighbour`]), or parked for a neighbour
//! whose session is not up yet ([`park`], released by
//! [`Node::flush_parked`]).

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Instant;

use super::neighbour::Neighbour;
use super::{CONTROL_BODY_MAX, Node, padded};
use crate::NodeId;
use crate::drop::DropReason;
use crate::metrics::Metrics;
use crate::wg::{self, SealError, SealJob};
use crate::wire::control::Control;
use crate::wire::ethernet::{self, Frame};
use crate::wire::header::{self, Header, Kind};

impl Node {
    /// A frame read from the interface.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        let Some(eth) = Frame::parse(frame) else {
            self.metrics.drop(DropReason::FrameTooShort);
            return;
        };
        if frame.len() > self.max_frame_len {
            self.metrics.drop(DropReason::FrameTooLong);
            return;
        }
        let dst_mac = eth.dst();
        let dst = if ethernet::is_group(&dst_mac) {
            NodeId::BROADCAST
        } else {
            match self.fib.lookup(now, &dst_mac) {
                Some(n) if n == self.id => {
                    self.metrics.drop(DropReason::FrameToSelf);
                    return;
                }
                Some(n) => n.get(),
                // Unknown unicast floods like a broadcast (docs/system.md#data-plane).
                None => NodeId::BROADCAST,
            }
        };
        let header = Header {
            kind: Kind::Frame,
            ttl: self.default_ttl,
            dst,
            src: self.id.get(),
            body_len: 0,
        };
        self.probe.note_traffic(now);
        self.route(now, header, frame, None);
        self.drain_wg(now);
    }

    /// Sends a control message this node originates to `dst` (a node, or
    /// `NodeId::BROADCAST`/`SPREAD`/`SUPERNODE_DST`). Returns the sequence
    /// number used.
    pub fn send_control(&mut self, now: Instant, dst: u16, control: &Control<'_>) -> u32 {
        self.originate_control(now, dst, None, control)
    }

    /// Sends a control message straight to neighbour `peer`, whatever the
    /// routes say (pings measure the direct link).
    pub fn send_control_direct(
        &mut self,
        now: Instant,
        peer: NodeId,
        control: &Control<'_>,
    ) -> u32 {
        self.originate_control(now, peer.get(), Some(peer), control)
    }

    /// Sends a control message straight to neighbour `peer` with header
    /// destination `dst` (a supernode answering a session whose key is
    /// registered under another NodeID than the one it claims).
    pub fn send_control_via(
        &mut self,
        now: Instant,
        peer: NodeId,
        dst: u16,
        control: &Control<'_>,
    ) -> u32 {
        self.originate_control(now, dst, Some(peer), control)
    }

    /// Numbers, encodes and sends a control message: routed to `dst`, or
    /// with TTL 1 straight to neighbour `direct`.
    pub(super) fn originate_control(
        &mut self,
        now: Instant,
        dst: u16,
        direct: Option<NodeId>,
        control: &Control<'_>,
    ) -> u32 {
        let seq = self.next_seq();
        let mut body = [0u8; CONTROL_BODY_MAX];
        let msg = Control {
            seq,
            body: control.body.clone(),
        };
        let Ok(len) = msg.emit(&mut body) else {
            self.metrics.drop(DropReason::ControlTooLarge);
            return seq;
        };
        let header = Header {
            kind: msg.kind(),
            ttl: if direct.is_some() {
                1
            } else {
                self.default_ttl
            },
            dst,
            src: self.id.get(),
            body_len: 0,
        };
        match direct {
            Some(peer) => self.send_to_neighbour(now, peer, header, &body[..len]),
            None => self.route(now, header, &body[..len], None),
        }
        self.drain_wg(now);
        seq
    }

    /// Decides where a packet goes: local delivery was handled by the
    /// caller; this sends to the next hop or, for broadcasts, the fan-out.
    pub(super) fn route(
        &mut self,
        now: Instant,
        header: Header,
        body: &[u8],
        came_from: Option<NodeId>,
    ) {
        match header.dst {
            NodeId::BROADCAST => {
                let Some(src) = NodeId::new(header.src) else {
                    self.metrics.drop(DropReason::BadSource);
                    return;
                };
                // Index loop: sending does not change the routes, and this
                // avoids copying the fan-out set per packet.
                let came = came_from.unwrap_or(self.id);
                let mut i = 0;
                loop {
                    let Some(next) = self.routes.broadcast_targets(came, src).nth(i) else {
                        break;
                    };
                    i += 1;
                    self.send_to_neighbour(now, next, header, body);
                    if came_from.is_some() {
                        self.metrics.forwarded_broadcast += 1;
                    }
                }
                if self.direct_fallback && came_from.is_none() {
                    // Neighbours the table has no path to get a copy from the
                    // source itself; no tree reaches them, so it is the only one.
                    for i in 0..self.neighbours.len() {
                        let n = self.neighbours[i];
                        if self.routes.next_hop(n).is_none() {
                            self.send_to_neighbour(now, n, header, body);
                        }
                    }
                }
            }
            NodeId::SUPERNODE_DST if self.id != NodeId::SUPERNODE => {
                // Both sessions (IPv4 and IPv6 keys): the supernode learns
                // both external addresses, and either may be down.
                for handle in [NodeId::SUPERNODE, NodeId::SUPERNODE_V6_SESSION] {
                    if self
                        .peers
                        .get(&handle)
                        .is_some_and(|p| p.endpoint().is_some())
                    {
                        self.send_to_neighbour(now, handle, header, body);
                    }
                }
            }
            NodeId::SPREAD => {
                for i in 0..self.neighbours.len() {
                    let next = self.neighbours[i];
                    if Some(next) != came_from && next.get() != header.src {
                        self.send_to_neighbour(now, next, header, body);
                    }
                }
            }
            dst => {
                let next = NodeId::new(dst).and_then(|d| {
                    self.routes.next_hop(d).or_else(|| {
                        (self.direct_fallback && !d.is_supernode() && self.peers.contains_key(&d))
                            .then_some(d)
                    })
                });
                match next {
                    Some(next) => {
                        self.send_to_neighbour(now, next, header, body);
                        if came_from.is_some() {
                            self.metrics.forwarded_unicast += 1;
                            if header.kind == Kind::Frame {
                                self.probe.note_traffic(now);
                            }
                        }
                    }
                    None => self.metrics.drop(DropReason::NoRoute),
                }
            }
        }
    }

    /// Writes header and body into a transmit slot, seals it for `next`,
    /// and queues it; without a session, parks the plaintext and starts a
    /// handshake.
    pub(super) fn send_to_neighbour(
        &mut self,
        now: Instant,
        next: NodeId,
        mut header: Header,
        body: &[u8],
    ) {
        let Some(peer) = self.peers.get_mut(&next) else {
            self.metrics.drop(DropReason::UnknownNeighbour);
            return;
        };
        let Ok(body_len) = u16::try_from(body.len()) else {
            self.metrics.drop(DropReason::BodyTooLong);
            return;
        };
        header.body_len = body_len;
        let plain_len = padded(header::LEN + body.len());
        if !self.wg.has_session(next) || peer.endpoint().is_none() {
            // A ping must measure the link as it is when sent; one held
            // back for a handshake would report the handshake's time.
            if header.kind != Kind::Ping {
                park(peer, &mut self.metrics, header, body, plain_len);
            }
            self.start_handshake(now, next, header.kind);
            return;
        }
        let Some(endpoint) = peer.endpoint() else {
            return;
        };
        let Some(slot) = self.transmits.reserve() else {
            self.metrics.drop(DropReason::TxQueueFull);
            return;
        };
        let start = wg::TRANSPORT_HEADER_LEN;
        let Some(plain) = slot.get_mut(start..start + plain_len) else {
            self.metrics.drop(DropReason::BodyTooLong);
            return;
        };
        write_plaintext(plain, header, body);
        match self
            .wg
            .seal_deferred(now, next, slot, start..start + plain_len)
        {
            Ok((range, job)) => {
                let job = if self.deferred_crypto {
                    Some(job)
                } else {
                    let sealed = slot.get_mut(range.clone()).map(|m| job.seal(m));
                    if !matches!(sealed, Some(Ok(()))) {
                        self.metrics.drop(DropReason::BufferTooSmall);
                        return;
                    }
                    None
                };
                self.commit_transmit(next, endpoint, range, job);
            }
            Err(SealError::NoSession) => {
                // Raced with expiry: keep the plaintext for the next session.
                if let Some(peer) = self.peers.get_mut(&next) {
                    park(peer, &mut self.metrics, header, body, plain_len);
                }
                self.start_handshake(now, next, header.kind);
            }
            Err(e) => self.metrics.drop(e.into()),
        }
    }

    /// Seals and queues the packets parked for `peer` while it had no session.
    pub(super) fn flush_parked(&mut self, now: Instant, peer: NodeId) {
        let Some(endpoint) = self.peers.get(&peer).and_then(Neighbour::endpoint) else {
            return;
        };
        loop {
            let Some(p) = self.peers.get_mut(&peer) else {
                return;
            };
            let Some(slot) = self.transmits.reserve() else {
                return; // the rest stays parked until the next drain
            };
            let Some(((), plain)) = p.pending().pop() else {
                p.pending().clear_popped();
                return;
            };
            let start = wg::TRANSPORT_HEADER_LEN;
            let Some(dst) = slot.get_mut(start..start + plain.len()) else {
                continue;
            };
            dst.copy_from_slice(plain);
            let range = start..start + plain.len();
            match self.wg.seal(now, peer, slot, range) {
                Ok(r) => self.commit_transmit(peer, endpoint, r, None),
                Err(e) => self.metrics.drop(e.into()),
            }
        }
    }

    /// Queues the datagram in `range` of the slot just reserved, for
    /// neighbour `peer` at `endpoint`, and counts it as sent to it.
    fn commit_transmit(
        &mut self,
        peer: NodeId,
        endpoint: SocketAddr,
        range: Range<usize>,
        seal: Option<SealJob>,
    ) {
        let len = range.len() as u64;
        self.transmits.commit(range, (endpoint, seal));
        if let Some(c) = self.metrics.peer_mut(peer) {
            c.tx_bytes += len;
            c.tx_packets += 1;
        }
    }
}

/// Routing header, body, then zero padding, into `plain` (exactly
/// `padded(header::LEN + body.len())` bytes).
fn write_plaintext(plain: &mut [u8], header: Header, body: &[u8]) {
    let _ = header.emit(plain);
    let end = header::LEN + body.len();
    if let Some(dst) = plain.get_mut(header::LEN..end) {
        dst.copy_from_slice(body);
    }
    if let Some(pad) = plain.get_mut(end..) {
        pad.fill(0);
    }
}

/// Keeps a packet for `peer` until its session is up; counts a drop when
/// the queue is full.
fn park(
    peer: &mut Neighbour,
    metrics: &mut Metrics,
    header: Header,
    body: &[u8],
    plain_len: usize,
) {
    let Some(slot) = peer.pending().reserve() else {
        metrics.drop(DropReason::HandshakeQueueFull);
        return;
    };
    let Some(plain) = slot.get_mut(..plain_len) else {
        metrics.drop(DropReason::BodyTooLong);
        return;
    };
    write_plaintext(plain, header, body);
    peer.pending().commit(0..plain_len, ());
}

impl From<SealError> for DropReason {
    fn from(e: SealError) -> Self {
        match e {
            SealError::NoSession => DropReason::NoSession,
            // Sealing for a neighbour WireGuard does not have: the node's
            // own `UnknownNeighbour`, not the handshake's `UnknownPeer`.
            SealError::UnknownPeer => DropReason::UnknownNeighbour,
            SealError::Buffer => DropReason::BufferTooSmall,
        }
    }
}
