//! WireGuard sessions with all neighbours, sans-IO: all of WireGuard lives
//! in this directory, one job per file (the message views are
//! [`crate::wire::wg`], with the other wire formats).
//!
//! [`Wg`] owns our static key and one state per peer (keys, handshake,
//! timers). It reads no clock and no OS randomness: time comes in as `now`
//! on every call and all randomness (ephemeral keys, indices, jitter, cookie
//! secrets and nonces) comes from a ChaCha20 stream seeded by `rng_seed`, so
//! two runs with the same inputs produce the same bytes.
//!
//! How to drive it (the node does this):
//! - datagram from the network → [`Wg::open`]; transport data is decrypted
//!   in place and returned as [`Opened::Data`]. On `Data` and on
//!   `Handshake { peer: Some(p) }` (an authenticated initiation or response)
//!   the sender's address is the peer's new endpoint, unless it is static;
//! - or, to decrypt outside a lock: [`Wg::open_prepare`] (under it), the
//!   returned [`OpenJob`]'s `open` (anywhere), [`Wg::open_finish`] (under
//!   it again) — see `receive.rs`;
//! - frame to send → [`Wg::seal`]; on [`SealError::NoSession`] queue the
//!   frame, call [`Wg::initiate`] and seal it after
//!   [`WgEvent::SessionEstablished`]; for traffic that repeats on its own
//!   (pings, routing floods) call [`Wg::probe`] instead, whose attempt the
//!   repeats do not prolong;
//! - after every call: drain [`Wg::poll_transmit`] (handshake messages,
//!   cookie replies, keepalives; [`WgTransmit::ToPeer`] goes to the peer's
//!   endpoint, [`WgTransmit::ToAddr`] to that address) and [`Wg::poll_event`];
//! - sleep until [`Wg::poll_timeout`], then call [`Wg::handle_timeout`]
//!   (early calls are harmless).
//!
//! Padding: WireGuard pads plaintext with zeros to a multiple of 16 bytes
//! (paper §5.4.6); that is the caller's choice, made before `seal` with
//! [`padded_len`]. `open` returns the padded plaintext; the payload must
//! carry its own length (egd's routing header does).
//!
//! The transport path (`seal`, `open` of type-4 messages) never allocates;
//! handshake messages may (snow boxes its primitives).
//!
//! The files:
//! - `mod.rs`: the [`Wg`] API above and the state it keeps;
//! - `send.rs` / `receive.rs`: everything `Wg` sends (sealing, keepalives,
//!   initiations) and receives (transport data, handshake messages, cookie
//!   replies);
//! - [`timers`]: the list of every timer, the per-peer deadlines and the code
//!   that fires them; `peer.rs`: one neighbour's state;
//! - [`handshake`] (Noise_IKpsk2 through `snow`), [`cookie`] (mac1, mac2,
//!   cookie replies), [`ratelimit`] (under load and per-source buckets),
//!   [`tai64n`] (the initiation timestamp), [`kdf`] (BLAKE2s hash and MAC);
//! - [`keypair`] (one handshake's transport keys and counters), [`crypt`]
//!   (the AEAD step, deferrable outside a lock), [`replay`] (the RFC 6479
//!   window);
//! - [`keys`]: [`PrivateKey`], [`PublicKey`], [`PresharedKey`] and the
//!   Curve25519 operations (`genkey`, `pubkey`);
//! - [`constants`]: every protocol constant, with its source;
//! - `tests/`: two `Wg`s on a virtual clock.

pub mod constants;
pub mod cookie;
pub mod crypt;
pub mod handshake;
pub mod kdf;
pub mod keypair;
pub mod keys;
pub mod ratelimit;
pub mod replay;
pub mod tai64n;
pub mod timers;

mod peer;
mod receive;
mod send;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::ops::Range;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use snow::params::NoiseParams;
use zeroize::Zeroize;

use crate::NodeId;
use crate::drop::DropReason;
use crate::wire::wg::{MessageType, field};
use constants::{
    EVENT_QUEUE_LEN, REKEY_ATTEMPT_TIME, REKEY_TIMEOUT_JITTER_MAX, TRANSMIT_QUEUE_LEN,
};
use cookie::CookieChecker;
pub use crypt::{OpenFailure, OpenJob, SealJob};
pub use keys::{PresharedKey, PrivateKey, PublicKey};
use peer::WgPeer;
use ratelimit::{LoadMeter, RateLimiter};
use timers::{TimerKind, Timers};

/// Bytes of headroom `seal` needs before the payload: type, receiver index, counter.
pub const TRANSPORT_HEADER_LEN: usize = field::transport::HEADER_LEN;
/// Bytes of tailroom `seal` needs after the payload: the Poly1305 tag.
pub const TAG_LEN: usize = field::transport::TAG_LEN;
/// The largest control datagram `poll_transmit` writes (a handshake initiation).
pub const MAX_CONTROL_LEN: usize = field::initiation::LEN;

/// `len` rounded up to WireGuard's padding multiple of 16 (paper §5.4.6),
/// but never above `max` (the kernel pads up to the MTU, not beyond).
pub fn padded_len(len: usize, max: usize) -> usize {
    len.div_ceil(16).saturating_mul(16).min(max.max(len))
}

/// Result of [`Wg::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Authenticated transport data from `peer`: plaintext is `buf[payload]`
    /// (may be empty = keepalive). The datagram's source is the peer's
    /// current address (roaming).
    Data { peer: NodeId, payload: Range<usize> },
    /// A handshake or cookie message was consumed (maybe with output in
    /// `poll_transmit`/`poll_event`). `peer` is `Some` only for an
    /// authenticated initiation or response: then the datagram's source is
    /// the peer's current address, as for `Data`. Cookie replies give `None`.
    Handshake { peer: Option<NodeId> },
    /// Dropped, with a reason for the drop counters.
    Dropped(DropReason),
}

/// Result of [`Wg::open_prepare`].
#[derive(Debug)]
pub enum Prepared {
    /// Transport data whose counter may be accepted: run the job on the
    /// message, then pass its result to [`Wg::open_finish`].
    Open(OpenJob),
    /// Anything else, handled completely (as by [`Wg::open`]).
    Done(Opened),
}

/// Where a control datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgTransmit {
    /// To the peer's current endpoint.
    ToPeer { peer: NodeId, len: usize },
    /// To this address (cookie replies go to the source of what they answer).
    ToAddr { addr: SocketAddr, len: usize },
}

/// Something the node should know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgEvent {
    /// A keypair usable for sending exists now (new or rekeyed): flush queued frames.
    SessionEstablished { peer: NodeId },
    /// REKEY_ATTEMPT_TIME passed without a completed handshake: drop queued frames.
    HandshakeFailed { peer: NodeId },
    /// All keys of the peer were erased (3 × REJECT_AFTER_TIME without a handshake).
    KeysZeroed { peer: NodeId },
}

/// Why [`Wg::seal`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// No usable keypair: queue the frame and call [`Wg::initiate`].
    NoSession,
    /// No such peer.
    UnknownPeer,
    /// Not enough headroom/tailroom around the payload, or a reversed range.
    Buffer,
}

/// A peer as `wg show` sees it ([`Wg::peer_info`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WgPeerInfo {
    pub public_key: [u8; 32],
    /// All zero without a PSK.
    pub preshared_key: [u8; 32],
    pub last_handshake: Option<Instant>,
    pub persistent_keepalive: Option<Duration>,
}

/// Counters kept inside `Wg` itself. With the node's `rx_packets` (every
/// [`Opened::Data`]) and its drops by [`DropReason`], `handshake_messages_accepted`
/// accounts for every datagram [`Wg::open`] was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WgStats {
    /// Control datagrams dropped because the transmit queue was full.
    pub transmits_dropped: u64,
    /// Events dropped (oldest first) because the event queue was full.
    pub events_dropped: u64,
    /// Cookie replies queued for sending: handshake messages with a valid
    /// mac1 but no valid mac2 that arrived while under load.
    pub cookie_replies_sent: u64,
    /// Handshake and cookie messages consumed ([`Opened::Handshake`]).
    pub handshake_messages_accepted: u64,
    /// Handshake initiations written (first tries and retries): each costs
    /// three X25519 operations, and a peer that never answers gets at most
    /// one per REKEY_TIMEOUT while an attempt lasts.
    pub initiations_sent: u64,
}

#[derive(Debug, Clone, Copy)]
enum Dest {
    Peer(NodeId),
    Addr(SocketAddr),
}

enum Pending {
    Bytes {
        to: Dest,
        len: usize,
        bytes: [u8; MAX_CONTROL_LEN],
    },
    /// Sealed when polled, and skipped if data went to the peer meanwhile.
    Keepalive(NodeId),
}

/// WireGuard sessions with all neighbours.
pub struct Wg {
    private: [u8; 32],
    public: [u8; 32],
    params: Option<NoiseParams>,
    rng: ChaCha20Rng,
    base: Instant,
    base_unix: Duration,
    /// The latest `now` passed in (used by `poll_transmit`, which has none).
    now: Instant,
    peers: BTreeMap<NodeId, WgPeer>,
    by_key: BTreeMap<[u8; 32], NodeId>,
    indices: BTreeMap<u32, NodeId>,
    checker: CookieChecker,
    load: LoadMeter,
    limiter: RateLimiter,
    transmits: VecDeque<Pending>,
    events: VecDeque<WgEvent>,
    /// Never later than the true earliest deadline (it may be earlier after a
    /// timer was cleared or pushed back; `handle_timeout` makes it exact).
    next_deadline: Option<(Instant, &'static str)>,
    stats: WgStats,
}

impl std::fmt::Debug for Wg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wg")
            .field("peers", &self.peers.len())
            .field("next_deadline", &self.next_deadline)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Drop for Wg {
    fn drop(&mut self) {
        self.private.zeroize();
    }
}

impl Wg {
    /// `unix_now` is the wall clock at `now`; later wall time is
    /// `unix_now + (t − now)` (used only for TAI64N timestamps).
    pub fn new(private: &PrivateKey, rng_seed: [u8; 32], now: Instant, unix_now: Duration) -> Self {
        let public = *crate::wg::keys::public_key(private).as_bytes();
        Self {
            private: *private.as_bytes(),
            public,
            params: handshake::params().ok(),
            rng: ChaCha20Rng::from_seed(rng_seed),
            base: now,
            base_unix: unix_now,
            now,
            peers: BTreeMap::new(),
            by_key: BTreeMap::new(),
            indices: BTreeMap::new(),
            checker: CookieChecker::new(&public),
            load: LoadMeter::default(),
            limiter: RateLimiter::default(),
            transmits: VecDeque::with_capacity(TRANSMIT_QUEUE_LEN),
            events: VecDeque::with_capacity(EVENT_QUEUE_LEN),
            next_deadline: None,
            stats: WgStats::default(),
        }
    }

    /// Our static public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_bytes(self.public)
    }

    /// Adds (or replaces) a peer. A public key belongs to one peer: adding it
    /// again under another id removes the old peer. With a persistent
    /// keepalive the peer is contacted at the next `handle_timeout`, as the
    /// kernel does when the option is set.
    pub fn add_peer(
        &mut self,
        peer: NodeId,
        public: &PublicKey,
        psk: Option<&PresharedKey>,
        persistent_keepalive: Option<Duration>,
    ) {
        self.remove_peer(peer);
        let key = *public.as_bytes();
        if let Some(&other) = self.by_key.get(&key) {
            self.remove_peer(other);
        }
        let psk = psk.map_or([0; 32], |p| *p.as_bytes());
        let mut state = WgPeer::new(key, psk, Timers::new(persistent_keepalive));
        if state.timers.persistent_keepalive().is_some() {
            // Fire at once: the first keepalive starts the handshake.
            let d = state.timers.arm(TimerKind::PersistentKeepalive, self.now);
            self.note(d);
        }
        self.by_key.insert(key, peer);
        self.peers.insert(peer, state);
    }

    /// Forgets a peer, its keys and indices.
    pub fn remove_peer(&mut self, peer: NodeId) {
        if let Some(mut state) = self.peers.remove(&peer) {
            self.by_key.remove(&state.public);
            for index in state.erase_keys().into_iter().flatten() {
                self.indices.remove(&index);
            }
        }
    }

    /// What `wg show` reports of a peer: keys, the last completed
    /// handshake and the persistent keepalive.
    pub fn peer_info(&self, peer: NodeId) -> Option<WgPeerInfo> {
        let p = self.peers.get(&peer)?;
        let last_handshake = [&p.current, &p.previous]
            .into_iter()
            .flatten()
            .map(|k| k.created)
            .max();
        Some(WgPeerInfo {
            public_key: p.public,
            preshared_key: p.psk,
            last_handshake,
            persistent_keepalive: p.timers.persistent_keepalive(),
        })
    }

    /// The public key `peer` was added with.
    pub fn public_key_of(&self, peer: NodeId) -> Option<[u8; 32]> {
        self.peers.get(&peer).map(|p| p.public)
    }

    /// Whether `peer` is known.
    pub fn has_peer(&self, peer: NodeId) -> bool {
        self.peers.contains_key(&peer)
    }

    /// Whether `peer` is known with exactly this public key and PSK.
    pub fn peer_keys_match(
        &self,
        peer: NodeId,
        public: &PublicKey,
        psk: Option<&PresharedKey>,
    ) -> bool {
        let psk = psk.map_or([0; 32], |p| *p.as_bytes());
        self.peers
            .get(&peer)
            .is_some_and(|p| p.public == *public.as_bytes() && p.psk == psk)
    }

    /// Is there a current keypair usable for sending, as of the latest `now`
    /// passed to any method?
    pub fn has_session(&self, peer: NodeId) -> bool {
        self.peers
            .get(&peer)
            .and_then(|p| p.current.as_ref())
            .is_some_and(|k| k.can_send(self.now))
    }

    /// Starts a handshake now if none is in flight, at most one initiation
    /// per REKEY_TIMEOUT. If one is in flight its attempt window restarts,
    /// so attempts go on for REKEY_ATTEMPT_TIME after the last demand (the
    /// kernel likewise resets its attempt count on new data). Output via
    /// `poll_transmit`.
    pub fn initiate(&mut self, now: Instant, peer: NodeId) {
        self.now = now;
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        if state.initiation.is_some() {
            state.attempt_started = Some(now);
            state.attempt_window = REKEY_ATTEMPT_TIME;
            return;
        }
        self.send_initiation(now, peer, false);
    }

    /// Starts a handshake for traffic that repeats on its own schedule
    /// (pings, control floods) rather than for data waiting to be sent:
    /// like [`Wg::initiate`] when none is in flight, but the attempt is
    /// abandoned after `window` (at most REKEY_ATTEMPT_TIME), and one in
    /// flight is left as it is. A probe every few seconds would otherwise
    /// restart the attempt window before it ever ends, and a peer that
    /// never answers would cost an initiation every REKEY_TIMEOUT forever;
    /// the caller's probe schedule (and its back-off after
    /// [`WgEvent::HandshakeFailed`]) is the retry instead.
    pub fn probe(&mut self, now: Instant, peer: NodeId, window: Duration) {
        self.now = now;
        if self.peers.get(&peer).is_none_or(|p| p.initiation.is_some()) {
            return;
        }
        self.send_initiation(now, peer, false);
        if let Some(state) = self.peers.get_mut(&peer)
            && state.initiation.is_some()
        {
            state.attempt_window = window.min(REKEY_ATTEMPT_TIME);
        }
    }

    /// Handles any datagram from the network. Decrypts transport data in place.
    pub fn open(&mut self, now: Instant, from: SocketAddr, buf: &mut [u8]) -> Opened {
        self.now = now;
        let ty = match crate::wire::wg::message_type(buf) {
            Ok(ty) => ty,
            Err(e) => return Opened::Dropped(receive::wire_reason(e)),
        };
        let opened = match ty {
            MessageType::Transport => self.open_transport(now, buf),
            MessageType::Initiation => self.open_initiation(now, from, buf),
            MessageType::Response => self.open_response(now, from, buf),
            MessageType::CookieReply => self.open_cookie_reply(now, buf),
        };
        if let Opened::Handshake { .. } = opened {
            self.stats.handshake_messages_accepted += 1;
        }
        opened
    }

    /// [`open`](Self::open) up to the decryption: a transport message's
    /// keypair is found and its counter pre-checked (nothing changes); any
    /// other message is handled completely.
    pub fn open_prepare(&mut self, now: Instant, from: SocketAddr, buf: &mut [u8]) -> Prepared {
        self.now = now;
        if !matches!(
            crate::wire::wg::message_type(buf),
            Ok(MessageType::Transport)
        ) {
            return Prepared::Done(self.open(now, from, buf));
        }
        match self.prepare_transport(now, buf) {
            Ok(job) => Prepared::Open(job),
            Err(dropped) => Prepared::Done(dropped),
        }
    }

    /// The rest of [`open`](Self::open) after `job.open(msg)` returned
    /// `result`: the counter is accepted into the window (at most once, so
    /// a copy opened by another thread meanwhile is dropped as a replay),
    /// then slots, timers and rekeying as in `open`.
    pub fn open_finish(
        &mut self,
        now: Instant,
        job: &OpenJob,
        result: Result<Range<usize>, OpenFailure>,
    ) -> Opened {
        self.now = now;
        self.finish_transport(now, job, result)
    }

    /// The earliest deadline and why. Cheap: cached. It may be early (then
    /// `handle_timeout` does nothing but refresh it), never late.
    pub fn poll_timeout(&self) -> Option<(Instant, &'static str)> {
        self.next_deadline
    }

    /// The next control datagram to send, written into `buf` (at least
    /// [`MAX_CONTROL_LEN`] bytes; with a smaller buffer nothing is taken
    /// from the queue).
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<WgTransmit> {
        if buf.len() < MAX_CONTROL_LEN {
            return None;
        }
        while let Some(pending) = self.transmits.pop_front() {
            match pending {
                Pending::Bytes { to, len, bytes } => {
                    buf[..len].copy_from_slice(&bytes[..len]);
                    return Some(match to {
                        Dest::Peer(peer) => WgTransmit::ToPeer { peer, len },
                        Dest::Addr(addr) => WgTransmit::ToAddr { addr, len },
                    });
                }
                Pending::Keepalive(peer) => {
                    if let Some(len) = self.seal_queued_keepalive(peer, buf) {
                        return Some(WgTransmit::ToPeer { peer, len });
                    }
                }
            }
        }
        None
    }

    pub fn poll_event(&mut self) -> Option<WgEvent> {
        self.events.pop_front()
    }

    pub fn stats(&self) -> WgStats {
        self.stats
    }

    // ---- internals shared by the submodules ----

    fn note(&mut self, deadline: Option<(Instant, TimerKind)>) {
        if let Some((at, kind)) = deadline
            && self.next_deadline.is_none_or(|(t, _)| at < t)
        {
            self.next_deadline = Some((at, kind.as_str()));
        }
    }

    /// Uniform in 0..=REKEY_TIMEOUT_JITTER_MAX, at millisecond resolution.
    fn jitter(&mut self) -> Duration {
        let span = REKEY_TIMEOUT_JITTER_MAX.as_millis() as u32 + 1;
        Duration::from_millis(u64::from(self.rng.next_u32() % span))
    }

    fn wall(&self, now: Instant) -> Duration {
        self.base_unix + now.saturating_duration_since(self.base)
    }

    fn seed(&mut self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        seed
    }

    /// A random local index not in use (the kernel's index hashtable does
    /// the same). `None` only if 64 draws all collided.
    fn fresh_index(&mut self) -> Option<u32> {
        (0..64)
            .map(|_| self.rng.next_u32())
            .find(|i| !self.indices.contains_key(i))
    }

    fn forget_indices(&mut self, indices: impl IntoIterator<Item = Option<u32>>) {
        for index in indices.into_iter().flatten() {
            self.indices.remove(&index);
        }
    }

    /// Queues `pending`; false (and counted) when the queue is full: it is
    /// bounded because a flood can make us answer every datagram.
    fn push_transmit(&mut self, pending: Pending) -> bool {
        if self.transmits.len() >= TRANSMIT_QUEUE_LEN {
            self.stats.transmits_dropped += 1;
            return false;
        }
        self.transmits.push_back(pending);
        true
    }

    fn push_bytes(&mut self, to: Dest, bytes: &[u8]) -> bool {
        let mut copy = [0u8; MAX_CONTROL_LEN];
        let len = bytes.len().min(MAX_CONTROL_LEN);
        copy[..len].copy_from_slice(&bytes[..len]);
        self.push_transmit(Pending::Bytes {
            to,
            len,
            bytes: copy,
        })
    }

    fn push_event(&mut self, event: WgEvent) {
        if self.events.len() >= EVENT_QUEUE_LEN {
            self.events.pop_front();
            self.stats.events_dropped += 1;
        }
        self.events.push_back(event);
    }
}

#[cfg(test)]
mod tests;
