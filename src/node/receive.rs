//! The receive path: what WireGuard opened ([`Node::after_open`]) is a
//! packet with a routing header ([`Node::handle_payload`]): a frame for the
//! interface ([`Node::deliver`]), a control message or ping for this node,
//! or something to relay.

use std::net::SocketAddr;
use std::time::Instant;

use super::dedup::Verdict;
use super::neighbour::PingSample;
use super::{Node, NodeEvent, probe, push_event};
use crate::NodeId;
use crate::drop::DropReason;
use crate::wg::Opened;
use crate::wire::control::{Body, Control, PingEcho};
use crate::wire::ethernet::{self, Frame};
use crate::wire::header::{Header, Kind};

impl Node {
    /// A datagram from the network; decrypted in place in `buf`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, buf: &mut [u8]) {
        if let Some(job) = self.prepare_datagram(now, from, buf) {
            let opened = job.open(buf);
            self.finish_datagram(now, from, buf, &job, opened);
        }
    }

    /// What a datagram `wg` opened (or dropped) leads to.
    pub(super) fn after_open(
        &mut self,
        now: Instant,
        from: SocketAddr,
        buf: &mut [u8],
        opened: Opened,
    ) {
        let datagram_len = buf.len() as u64;
        match opened {
            Opened::Data { peer, payload } => {
                if let Some(c) = self.metrics.peer_mut(peer) {
                    c.rx_bytes += datagram_len;
                    c.rx_packets += 1;
                }
                self.handle_payload(now, from, peer, buf, payload)
            }
            Opened::Handshake { peer } => {
                if let Some(peer) = peer {
                    self.follow_endpoint(peer, from);
                }
            }
            Opened::Dropped(reason) => self.metrics.drop(reason),
        }
        self.drain_wg(now);
    }

    /// An authenticated datagram came from `from`: the neighbour roams
    /// there (unless static), and the owner hears when that moved it.
    fn follow_endpoint(&mut self, peer: NodeId, from: SocketAddr) {
        if let Some(p) = self.peers.get_mut(&peer)
            && p.saw_authenticated(from)
        {
            push_event(
                &mut self.events,
                &mut self.metrics,
                NodeEvent::EndpointChanged {
                    peer,
                    endpoint: from,
                },
            );
        }
    }

    /// Neighbour `peer`'s own ping arrived: measures the direct link,
    /// re-arms its liveness, and reports the latency once the link has a
    /// cost.
    fn on_ping(
        &mut self,
        now: Instant,
        peer: NodeId,
        request_id: u32,
        sent_at_unix_ns: i64,
        interval_ms: u32,
        echo: Option<PingEcho>,
    ) {
        let arrived_ns = self.probe.unix_ns(now);
        let one_way_ns = probe::one_way(sent_at_unix_ns, arrived_ns);
        let sample = PingSample {
            request_id,
            sent_at_unix_ns,
            one_way_ns,
            rtt_ns: echo.and_then(|e| e.round_trip_ns(arrived_ns)),
            interval_ms,
        };
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        if let Some(cost) = p.on_ping(now, sample, &self.cost_weights) {
            push_event(
                &mut self.events,
                &mut self.metrics,
                NodeEvent::LatencyMeasured {
                    from: peer,
                    one_way_ns,
                    cost,
                },
            );
        }
    }

    pub(super) fn handle_payload(
        &mut self,
        now: Instant,
        from: SocketAddr,
        peer: NodeId,
        buf: &mut [u8],
        payload: std::ops::Range<usize>,
    ) {
        self.follow_endpoint(peer, from);
        if payload.is_empty() {
            return; // keepalive
        }
        let Some(plain) = buf.get(payload) else {
            return;
        };
        let (header, body_range) = match Header::parse(plain) {
            Ok(h) => h,
            Err(_) => {
                self.metrics.drop(DropReason::BadHeader);
                return;
            }
        };
        let body = &plain[body_range];
        let for_me = header.dst == self.id.get();
        let flood = header.dst == NodeId::BROADCAST || header.dst == NodeId::SPREAD;
        if header.src == self.id.get() {
            self.metrics.drop(DropReason::OwnPacketReturned);
            return;
        }
        if header.kind == Kind::Frame {
            if for_me || flood {
                self.deliver(now, header, body);
            }
        } else {
            let Ok(control) = Control::parse(header.kind, body) else {
                self.metrics.drop(DropReason::BadControl);
                return;
            };
            if flood {
                match self.dedup.check(now, header.src, control.seq) {
                    Verdict::Fresh => {}
                    Verdict::Duplicate => {
                        self.metrics.drop(DropReason::DuplicateFlood);
                        return;
                    }
                    Verdict::Full => {
                        self.metrics.drop(DropReason::DedupFull);
                        return;
                    }
                }
            }
            if let (
                true,
                Body::Ping {
                    request_id,
                    sent_at_unix_ns,
                    interval_ms,
                    echo,
                },
            ) = (for_me, &control.body)
                && header.src == peer.get()
            {
                // Only a neighbour's own ping measures a direct link.
                self.on_ping(
                    now,
                    peer,
                    *request_id,
                    *sent_at_unix_ns,
                    *interval_ms,
                    *echo,
                );
                return;
            }
            if for_me || flood {
                let event = NodeEvent::Control {
                    from_peer: peer,
                    src: header.src,
                    dst: header.dst,
                    kind: header.kind,
                    seq: control.seq,
                    body: body.to_vec(),
                };
                push_event(&mut self.events, &mut self.metrics, event);
            }
        }
        if for_me {
            return;
        }
        // Relay: one hop used; drop when none is left (docs/system.md#data-plane).
        let ttl = header.ttl.saturating_sub(1);
        if ttl == 0 {
            self.metrics.drop(DropReason::TtlExpired);
            return;
        }
        // `body` borrows the caller's buffer, not the node, so it can be
        // sealed again for the next hop without a copy of its own.
        self.route(now, Header { ttl, ..header }, body, Some(peer));
    }

    pub(super) fn deliver(&mut self, now: Instant, header: Header, frame: &[u8]) {
        let Some(eth) = Frame::parse(frame) else {
            self.metrics.drop(DropReason::FrameTooShort);
            return;
        };
        if let Some(src) = NodeId::new(header.src)
            && !ethernet::is_group(&eth.src())
            && !self.fib.learn(now, eth.src(), src)
        {
            self.metrics.drop(DropReason::FibFull);
        }
        let Some(slot) = self.frames.reserve() else {
            self.metrics.drop(DropReason::RxQueueFull);
            return;
        };
        let Some(dst) = slot.get_mut(..frame.len()) else {
            self.metrics.drop(DropReason::FrameTooLong);
            return;
        };
        dst.copy_from_slice(frame);
        self.frames.commit(0..frame.len(), ());
        self.metrics.delivered_packets += 1;
        self.probe.note_traffic(now);
    }
}
