//! The transport path: sealing frames and opening transport messages, in
//! place and without allocation, plus the timer and rekey bookkeeping that
//! every transport packet triggers (paper §6.2, §6.5).
//!
//! Both directions also come in two halves, so a multi-threaded owner can
//! run the cipher outside its lock (`crate::wg::crypt`):
//! [`Wg::seal_deferred`] does all of `seal` but the encryption and returns
//! a [`SealJob`]; [`Wg::open_prepare`] finds the keypair and pre-checks the
//! replay window, and [`Wg::open_finish`] — given what the [`OpenJob`]
//! returned — accepts the counter, moves the keypair slots and timers, and
//! answers what `open` would have. `seal`/`open` are the halves in a row.

use std::ops::Range;
use std::time::Instant;

use super::constants::{REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME, REKEY_ON_RECEIVE_AGE};
use super::crypt::{OpenFailure, OpenJob, SealFailure, SealJob};
use super::timers::TimerKind;
use super::{DropReason, WgEvent, peer::Slot};
use super::{Opened, SealError, Wg, handshake_rx::wire_reason};
use crate::NodeId;
use crate::wire::wg::Transport;

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
}
