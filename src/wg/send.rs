//! Everything [`Wg`] sends: sealing frames into transport messages, in
//! place and without allocation, with the timer and rekey bookkeeping that
//! every sent packet triggers (paper §6.2, §6.5); keepalives; and handshake
//! initiations (paper §5.4.2) with their retry timer. What we receive is in
//! `receive.rs`.
//!
//! Sealing also comes in two halves, so a multi-threaded owner can run the
//! cipher outside its lock (`crate::wg::crypt`): [`Wg::seal_deferred`] does
//! all of `seal` but the encryption and returns a [`SealJob`]. `seal` is the
//! halves in a row.

use std::ops::Range;
use std::time::Instant;

use super::constants::{REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME, REKEY_ATTEMPT_TIME, REKEY_TIMEOUT};
use super::crypt::{SealFailure, SealJob};
use super::handshake::Initiation;
use super::peer::InFlight;
use super::tai64n::Tai64n;
use super::timers::TimerKind;
use super::{Dest, Pending, SealError, Wg};
use crate::NodeId;
use crate::wire::wg::{HandshakeMacs, Initiation as InitiationMsg, field};

impl Wg {
    /// Encrypts `buf[payload]` in place into a transport message for `peer`.
    /// Needs [`super::TRANSPORT_HEADER_LEN`] bytes of headroom before
    /// `payload.start` and [`super::TAG_LEN`] bytes after `payload.end`;
    /// returns the datagram's range. Padding is the caller's (see
    /// [`super::padded_len`]). `Err(SealError::NoSession)` when there is no
    /// usable keypair: queue the frame and call [`Wg::initiate`]. Sending
    /// with an old or much-used key starts a rekey (paper §6.2).
    pub fn seal(
        &mut self,
        now: Instant,
        peer: NodeId,
        buf: &mut [u8],
        payload: Range<usize>,
    ) -> Result<Range<usize>, SealError> {
        self.now = now;
        self.seal_inner(now, peer, buf, payload)
    }

    /// [`seal`](Self::seal) without the encryption: the counter is taken,
    /// the header written and every timer and rekey decision made; the
    /// returned job encrypts `buf[range]` (anywhere, e.g. on another
    /// thread after a lock is released). Until it ran, `buf[range]` holds
    /// plaintext and must not be sent.
    pub fn seal_deferred(
        &mut self,
        now: Instant,
        peer: NodeId,
        buf: &mut [u8],
        payload: Range<usize>,
    ) -> Result<(Range<usize>, SealJob), SealError> {
        self.now = now;
        self.reserve_inner(now, peer, buf, payload)
    }

    fn seal_inner(
        &mut self,
        now: Instant,
        peer: NodeId,
        buf: &mut [u8],
        payload: Range<usize>,
    ) -> Result<Range<usize>, SealError> {
        let (range, job) = self.reserve_inner(now, peer, buf, payload)?;
        let msg = buf.get_mut(range.clone()).ok_or(SealError::Buffer)?;
        job.seal(msg).map_err(|_| SealError::Buffer)?;
        Ok(range)
    }

    fn reserve_inner(
        &mut self,
        now: Instant,
        peer: NodeId,
        buf: &mut [u8],
        payload: Range<usize>,
    ) -> Result<(Range<usize>, SealJob), SealError> {
        let is_data = !payload.is_empty();
        let state = self.peers.get_mut(&peer).ok_or(SealError::UnknownPeer)?;
        let keypair = state
            .current
            .as_mut()
            .filter(|k| k.can_send(now))
            .ok_or(SealError::NoSession)?;
        let (range, job) = keypair.reserve_seal(buf, payload).map_err(|e| match e {
            SealFailure::Buffer => SealError::Buffer,
            SealFailure::Exhausted => SealError::NoSession,
        })?;
        // Paper §6.2: the initiator rekeys when its key is old; anyone rekeys
        // when the counter is high (kernel `send.c: keep_key_fresh`).
        let rekey = keypair.send_counter() > REKEY_AFTER_MESSAGES
            || (keypair.initiator && keypair.age(now) >= REKEY_AFTER_TIME);
        // Anything sent makes a queued keepalive redundant.
        state.keepalive_queued = false;
        let sent = state.timers.on_authenticated_sent(now);
        let arm_new_handshake = is_data && !state.timers.is_armed(TimerKind::NewHandshake);
        self.note(sent);
        if arm_new_handshake {
            let jitter = self.jitter();
            if let Some(state) = self.peers.get_mut(&peer) {
                let d = state.timers.on_data_sent(now, jitter);
                self.note(d);
            }
        }
        if rekey {
            self.start_handshake(now, peer);
        }
        Ok((range, job))
    }

    /// Seals the keepalive queued for `peer` into `buf[..32]`, unless
    /// something else was sent meanwhile or there is no session.
    pub(super) fn seal_queued_keepalive(&mut self, peer: NodeId, buf: &mut [u8]) -> Option<usize> {
        let state = self.peers.get_mut(&peer)?;
        if !std::mem::take(&mut state.keepalive_queued) {
            return None;
        }
        let header = super::TRANSPORT_HEADER_LEN;
        let range = self.seal_inner(self.now, peer, buf, header..header).ok()?;
        Some(range.end)
    }

    /// Sends an initiation unless one is in flight (rate-limited to one per
    /// REKEY_TIMEOUT inside `send_initiation`).
    pub(super) fn start_handshake(&mut self, now: Instant, peer: NodeId) {
        if self
            .peers
            .get(&peer)
            .is_some_and(|p| p.initiation.is_none())
        {
            self.send_initiation(now, peer, false);
        }
    }

    /// Queues a keepalive for `peer` unless one is already waiting.
    pub(super) fn queue_keepalive(&mut self, peer: NodeId) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        if state.keepalive_queued {
            return;
        }
        state.keepalive_queued = true;
        self.push_transmit(Pending::Keepalive(peer));
    }

    /// Writes a new initiation for `peer` (paper §5.4.2) and arms the retry
    /// timer. `retry` keeps the current attempt window.
    pub(super) fn send_initiation(&mut self, now: Instant, peer: NodeId, retry: bool) {
        let Some(state) = self.peers.get(&peer) else {
            return;
        };
        let recent = state
            .last_initiation_sent
            .is_some_and(|t| now.saturating_duration_since(t) < REKEY_TIMEOUT);
        if recent && !retry {
            return;
        }
        let (remote, psk) = (state.public, state.psk);
        let (Some(index), Some(params)) = (self.fresh_index(), self.params.clone()) else {
            return;
        };
        let seed = self.seed();
        let timestamp = Tai64n::from_unix(self.wall(now));
        let mut noise = [0u8; field::initiation::NOISE.end - field::initiation::NOISE.start];
        let Ok(handshake) = Initiation::start(
            &params,
            &self.private,
            &remote,
            &psk,
            timestamp,
            seed,
            &mut noise,
        ) else {
            return;
        };
        let mut msg = [0u8; field::initiation::LEN];
        let jitter = self.jitter();
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let Ok(mut view) = InitiationMsg::emit(&mut msg, index, &noise) else {
            return;
        };
        let (mac1, mac2) = state.jar.macs(&view, now);
        view.set_mac1(&mac1);
        view.set_mac2(&mac2);
        debug_assert_eq!(view.mac1(), mac1);
        let old = state.initiation.replace(InFlight {
            handshake,
            local_index: index,
        });
        state.last_initiation_sent = Some(now);
        if !retry || state.attempt_started.is_none() {
            state.attempt_started = Some(now);
            state.attempt_window = REKEY_ATTEMPT_TIME;
        }
        self.stats.initiations_sent += 1;
        let d1 = state.timers.on_authenticated_sent(now);
        let d2 = state.timers.on_handshake_initiated(now, jitter);
        self.forget_indices([old.map(|h| h.local_index)]);
        self.indices.insert(index, peer);
        self.note(d1);
        self.note(d2);
        self.push_bytes(Dest::Peer(peer), &msg);
    }
}
