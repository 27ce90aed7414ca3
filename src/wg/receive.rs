//! Everything [`Wg`] receives, after [`Wg::open`] dispatched on the type:
//!
//! - transport data (type 4), in place and without allocation, with the
//!   timer and rekey bookkeeping that every received packet triggers
//!   (paper §6.2, §6.5). It also comes in two halves, so a multi-threaded
//!   owner can run the cipher outside its lock (`crate::wg::crypt`):
//!   [`Wg::open_prepare`] finds the keypair and pre-checks the replay
//!   window, and [`Wg::open_finish`] — given what the [`OpenJob`] returned —
//!   accepts the counter, moves the keypair slots and timers, and answers
//!   what `open` would have. `open` is the halves in a row;
//! - handshake messages (types 1–3): the MAC and load gate first (cheap,
//!   before any DH), then Noise, then the freshness checks, then key
//!   installation and the reply.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Instant;

use super::constants::{MIN_INITIATION_INTERVAL, REKEY_ON_RECEIVE_AGE};
use super::cookie::MacState;
use super::crypt::{OpenFailure, OpenJob};
use super::handshake::ReceivedInitiation;
use super::keypair::Keypair;
use super::peer::Slot;
use super::ratelimit::Load;
use super::{Dest, DropReason, Opened, Wg, WgEvent};
use crate::wire::wg::{
    CookieReply, HandshakeMacs, Initiation as InitiationMsg, Response as ResponseMsg, Transport,
    WireError, field,
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

    /// Type 4, whole: [`prepare_transport`](Self::prepare_transport), the
    /// decryption, then [`finish_transport`](Self::finish_transport).
    pub(super) fn open_transport(&mut self, now: Instant, buf: &mut [u8]) -> Opened {
        match self.prepare_transport(now, buf) {
            Ok(job) => {
                let result = job.open(buf);
                self.finish_transport(now, &job, result)
            }
            Err(dropped) => dropped,
        }
    }

    /// Type 4, first half: find the keypair by receiver index, check its
    /// age and pre-check the window. Changes nothing.
    pub(super) fn prepare_transport(
        &mut self,
        now: Instant,
        buf: &[u8],
    ) -> Result<OpenJob, Opened> {
        let (receiver, counter) = match Transport::parse(buf) {
            Ok(msg) => (msg.receiver(), msg.counter()),
            Err(e) => return Err(Opened::Dropped(wire_reason(e))),
        };
        let unknown = Opened::Dropped(DropReason::UnknownIndex);
        let Some(&peer) = self.indices.get(&receiver) else {
            return Err(unknown);
        };
        let Some((keypair, _)) = self
            .peers
            .get_mut(&peer)
            .and_then(|s| s.keypair_mut(receiver))
        else {
            return Err(unknown);
        };
        if !keypair.can_receive(now) {
            return Err(Opened::Dropped(DropReason::KeyExpired));
        }
        keypair.prepare_open(counter).map_err(|e| match e {
            OpenFailure::Replay => Opened::Dropped(DropReason::Replay),
            OpenFailure::Decrypt => Opened::Dropped(DropReason::DecryptFailed),
        })
    }

    /// Type 4, last half, given what `job.open` returned: update the
    /// window (a counter is accepted once, whichever thread decrypted it),
    /// then the slots and timers.
    pub(super) fn finish_transport(
        &mut self,
        now: Instant,
        job: &OpenJob,
        opened: Result<Range<usize>, OpenFailure>,
    ) -> Opened {
        let payload = match opened {
            Ok(range) => range,
            Err(OpenFailure::Replay) => return Opened::Dropped(DropReason::Replay),
            Err(OpenFailure::Decrypt) => return Opened::Dropped(DropReason::DecryptFailed),
        };
        let receiver = job.receiver();
        let Some(&peer) = self.indices.get(&receiver) else {
            return Opened::Dropped(DropReason::UnknownIndex);
        };
        let Some(state) = self.peers.get_mut(&peer) else {
            return Opened::Dropped(DropReason::UnknownIndex);
        };
        // The keypair may have been displaced (and its index reused) since
        // the job was made: then the message cannot be accounted for.
        let Some((keypair, slot)) = state.keypair_mut(receiver) else {
            return Opened::Dropped(DropReason::UnknownIndex);
        };
        if !keypair.finish_open(job) {
            return Opened::Dropped(DropReason::Replay);
        }

        // The initiator used our `next` keypair: the handshake is confirmed.
        let mut displaced = [None, None];
        let confirmed = slot == Slot::Next;
        if confirmed {
            displaced[0] = state.promote_next();
            displaced[1] = state.initiation.take().map(|h| h.local_index);
            state.attempt_started = None;
            state.sent_lastminute_handshake = false;
            state.timers.on_handshake_complete();
        }
        // Paper §6.2 / kernel `receive.c: keep_key_fresh`: once, near the end
        // of our own key's life, rekey when hearing from the peer.
        let rekey = !state.sent_lastminute_handshake
            && state
                .current
                .as_ref()
                .is_some_and(|k| k.initiator && k.age(now) >= REKEY_ON_RECEIVE_AGE);
        if rekey {
            state.sent_lastminute_handshake = true;
        }
        let received = state.timers.on_authenticated_received(now);
        let data = if payload.is_empty() {
            None
        } else {
            state.timers.on_data_received(now)
        };
        self.note(received);
        self.note(data);
        self.forget_indices(displaced);
        if confirmed {
            self.push_event(WgEvent::SessionEstablished { peer });
        }
        if rekey {
            self.start_handshake(now, peer);
        }
        Opened::Data { peer, payload }
    }
}
