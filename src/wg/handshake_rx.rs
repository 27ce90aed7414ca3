//! Receiving handshake messages (types 1–3): the MAC and load gate first
//! (cheap, before any DH), then Noise, then the freshness checks, then key
//! installation and the reply.

use std::net::SocketAddr;
use std::time::Instant;

use super::constants::MIN_INITIATION_INTERVAL;
use super::cookie::MacState;
use super::handshake::ReceivedInitiation;
use super::keypair::Keypair;
use super::ratelimit::Load;
use super::{Dest, DropReason, Opened, Wg, WgEvent};
use crate::wire::wg::{
    CookieReply, HandshakeMacs, Initiation as InitiationMsg, Response as ResponseMsg, WireError,
    field,
};

/// The drop counter for bytes that are not a well-formed message.
pub(super) fn wire_reason(e: WireError) -> DropReason {
    match e {
        WireError::TooShort => DropReason::TooShort,
        WireError::BadLength => DropReason::BadLength,
        WireError::UnknownType => DropReason::UnknownType,
    }
}

impl Wg {
    /// The kernel's order (`receive.c: wg_receive_handshake_packet`): count
    /// the arrival, check mac1; under load demand mac2 (answering with a
    /// cookie reply) and apply the per-source rate limit. Over the budget
    /// no cookie reply is made (that is the expensive part of a flood:
    /// an XChaCha20-Poly1305 seal and a transmit slot each), but the MACs
    /// are still checked (three BLAKE2s, about a microsecond) so that a
    /// peer that already holds a cookie gets through a flood of forged
    /// initiations instead of losing against it at the budget's odds.
    fn gate(
        &mut self,
        msg: &impl HandshakeMacs,
        sender: u32,
        from: SocketAddr,
        now: Instant,
    ) -> Option<DropReason> {
        let load = self.load.record(now);
        let under_load = load != Load::Normal;
        match self
            .checker
            .validate(msg, under_load, from, now, &mut self.rng)
        {
            MacState::Invalid => Some(DropReason::BadMac1),
            MacState::ValidMac1 if load == Load::Overloaded => Some(DropReason::HandshakeOverload),
            MacState::ValidMac1 if under_load => {
                let mut reply = [0u8; field::cookie_reply::LEN];
                if let Some(len) =
                    self.checker
                        .write_reply(msg, sender, from, now, &mut self.rng, &mut reply)
                    && self.push_bytes(Dest::Addr(from), &reply[..len])
                {
                    self.stats.cookie_replies_sent += 1;
                }
                Some(DropReason::CookieRequired)
            }
            MacState::ValidWithCookie if !self.limiter.allow(from.ip(), now) => {
                Some(DropReason::RateLimited)
            }
            MacState::ValidMac1 | MacState::ValidWithCookie => None,
        }
    }

    /// Type 1: someone wants a session with us (we respond).
    pub(super) fn open_initiation(&mut self, now: Instant, from: SocketAddr, buf: &[u8]) -> Opened {
        let msg = match InitiationMsg::parse(buf) {
            Ok(msg) => msg,
            Err(e) => return Opened::Dropped(wire_reason(e)),
        };
        if let Some(reason) = self.gate(&msg, msg.sender(), from, now) {
            return Opened::Dropped(reason);
        }
        let Some(params) = self.params.clone() else {
            return Opened::Dropped(DropReason::Internal);
        };
        let seed = self.seed();
        let Ok(received) = ReceivedInitiation::read(&params, &self.private, msg.noise(), seed)
        else {
            return Opened::Dropped(DropReason::DecryptFailed);
        };
        let Some(&peer) = self.by_key.get(&received.remote_static) else {
            return Opened::Dropped(DropReason::UnknownPeer);
        };
        let Some(state) = self.peers.get(&peer) else {
            return Opened::Dropped(DropReason::UnknownPeer);
        };
        // Paper §5.4.2 replay protection, and the kernel's flood guard.
        if state
            .latest_timestamp
            .is_some_and(|t| received.timestamp <= t)
        {
            return Opened::Dropped(DropReason::StaleTimestamp);
        }
        if state
            .last_initiation_consumed
            .is_some_and(|t| now.saturating_duration_since(t) < MIN_INITIATION_INTERVAL)
        {
            return Opened::Dropped(DropReason::InitiationFlood);
        }
        let psk = state.psk;
        let timestamp = received.timestamp;
        let mut noise = [0u8; field::response::NOISE.end - field::response::NOISE.start];
        let Ok(keys) = received.respond(&psk, &mut noise) else {
            return Opened::Dropped(DropReason::Internal);
        };
        let Some(index) = self.fresh_index() else {
            return Opened::Dropped(DropReason::Internal);
        };
        let Some(keypair) = Keypair::new(&keys, index, msg.sender(), now, false) else {
            return Opened::Dropped(DropReason::Internal);
        };
        let mut out = [0u8; field::response::LEN];
        let Ok(mut view) = ResponseMsg::emit(&mut out, index, msg.sender(), &noise) else {
            return Opened::Dropped(DropReason::Internal);
        };
        let Some(state) = self.peers.get_mut(&peer) else {
            return Opened::Dropped(DropReason::UnknownPeer);
        };
        let (mac1, mac2) = state.jar.macs(&view, now);
        view.set_mac1(&mac1);
        view.set_mac2(&mac2);
        state.latest_timestamp = Some(timestamp);
        state.last_initiation_consumed = Some(now);
        let displaced = state.install(keypair);
        let d1 = state.timers.on_authenticated_received(now);
        let d2 = state.timers.on_authenticated_sent(now);
        let d3 = state.timers.on_session_derived(now);
        self.forget_indices(displaced);
        self.indices.insert(index, peer);
        self.note(d1);
        self.note(d2);
        self.note(d3);
        self.push_bytes(Dest::Peer(peer), &out);
        Opened::Handshake { peer: Some(peer) }
    }

    /// Type 2: the answer to our initiation (we were the initiator).
    pub(super) fn open_response(&mut self, now: Instant, from: SocketAddr, buf: &[u8]) -> Opened {
        let msg = match ResponseMsg::parse(buf) {
            Ok(msg) => msg,
            Err(e) => return Opened::Dropped(wire_reason(e)),
        };
        if let Some(reason) = self.gate(&msg, msg.sender(), from, now) {
            return Opened::Dropped(reason);
        }
        let receiver = msg.receiver();
        let Some(&peer) = self.indices.get(&receiver) else {
            return Opened::Dropped(DropReason::UnknownIndex);
        };
        let Some(state) = self.peers.get_mut(&peer) else {
            return Opened::Dropped(DropReason::UnknownIndex);
        };
        let Some(in_flight) = state
            .initiation
            .as_mut()
            .filter(|h| h.local_index == receiver)
        else {
            return Opened::Dropped(DropReason::UnknownIndex);
        };
        let Ok(keys) = in_flight.handshake.finish(msg.noise()) else {
            return Opened::Dropped(DropReason::DecryptFailed);
        };
        // The keypair keeps the handshake's index, as in the kernel.
        let Some(keypair) = Keypair::new(&keys, receiver, msg.sender(), now, true) else {
            return Opened::Dropped(DropReason::Internal);
        };
        state.initiation = None;
        state.attempt_started = None;
        state.sent_lastminute_handshake = false;
        let displaced = state.install(keypair);
        state.timers.on_handshake_complete();
        let d1 = state.timers.on_session_derived(now);
        let d2 = state.timers.on_authenticated_received(now);
        self.forget_indices(displaced);
        self.note(d1);
        self.note(d2);
        self.push_event(WgEvent::SessionEstablished { peer });
        // Confirm the session to the responder at once unless data goes first.
        self.queue_keepalive(peer);
        Opened::Handshake { peer: Some(peer) }
    }

    /// Type 3: a responder under load gave us a cookie for our next attempt.
    pub(super) fn open_cookie_reply(&mut self, now: Instant, buf: &[u8]) -> Opened {
        let msg = match CookieReply::parse(buf) {
            Ok(msg) => msg,
            Err(e) => return Opened::Dropped(wire_reason(e)),
        };
        let Some(&peer) = self.indices.get(&msg.receiver()) else {
            return Opened::Dropped(DropReason::UnknownIndex);
        };
        let Some(state) = self.peers.get_mut(&peer) else {
            return Opened::Dropped(DropReason::UnknownIndex);
        };
        if !state.jar.consume_reply(&msg, now) {
            return Opened::Dropped(DropReason::DecryptFailed);
        }
        // Consumed, but `peer: None`: a cookie reply proves nothing about
        // where the peer is (it answers from wherever our message reached),
        // so it must not move the peer's endpoint.
        Opened::Handshake { peer: None }
    }
}
