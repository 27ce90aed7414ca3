//! One neighbour's WireGuard state: keys, the handshake in flight, the
//! freshness guards on its initiations, and its timers.
//!
//! Keypair slots follow the kernel (`noise.c: add_new_keypair`,
//! `wg_noise_received_with_keypair`): `current` sends; `previous` still
//! receives what was in flight during a rekey; `next` is a responder's new
//! keypair that may not send until the initiator has used it (key
//! confirmation, paper §5.4.6).

use std::time::{Duration, Instant};

use zeroize::Zeroize;

use super::constants::REKEY_ATTEMPT_TIME;
use super::cookie::CookieJar;
use super::handshake::Initiation;
use super::keypair::Keypair;
use super::tai64n::Tai64n;
use super::timers::Timers;

/// Our initiation waiting for its response.
#[derive(Debug)]
pub(super) struct InFlight {
    pub handshake: Initiation,
    pub local_index: u32,
}

/// Which slot a keypair was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Current,
    Previous,
    Next,
}

/// WireGuard's per-peer crypto state: static key, PSK, handshake,
/// keypairs and timers (the node's view of a peer is `Neighbour`).
#[derive(Debug)]
pub(super) struct WgPeer {
    pub public: [u8; 32],
    pub psk: [u8; 32],
    pub jar: CookieJar,
    pub current: Option<Keypair>,
    pub previous: Option<Keypair>,
    pub next: Option<Keypair>,
    pub initiation: Option<InFlight>,
    /// When the current handshake attempt began (retries keep it), and
    /// how long it goes on before it is abandoned: REKEY_ATTEMPT_TIME, or
    /// less for a probe's attempt (`Wg::probe`).
    pub attempt_started: Option<Instant>,
    pub attempt_window: Duration,
    pub last_initiation_sent: Option<Instant>,
    /// Greatest TAI64N accepted from this peer's initiations.
    pub latest_timestamp: Option<Tai64n>,
    pub last_initiation_consumed: Option<Instant>,
    /// The one rekey-on-receive initiation for the current key was sent.
    pub sent_lastminute_handshake: bool,
    /// A keepalive waits in the transmit queue (sent unless data goes first).
    pub keepalive_queued: bool,
    pub timers: Timers,
}

impl Drop for WgPeer {
    fn drop(&mut self) {
        self.psk.zeroize();
    }
}

impl WgPeer {
    pub fn new(public: [u8; 32], psk: [u8; 32], timers: Timers) -> Self {
        Self {
            jar: CookieJar::new(&public),
            public,
            psk,
            current: None,
            previous: None,
            next: None,
            initiation: None,
            attempt_started: None,
            attempt_window: REKEY_ATTEMPT_TIME,
            last_initiation_sent: None,
            latest_timestamp: None,
            last_initiation_consumed: None,
            sent_lastminute_handshake: false,
            keepalive_queued: false,
            timers,
        }
    }

    /// Installs a new keypair; returns the local indices of keypairs it displaced.
    pub fn install(&mut self, keypair: Keypair) -> [Option<u32>; 2] {
        let index = |k: Option<Keypair>| k.map(|k| k.local_index);
        if keypair.initiator {
            // Confirmed at once: it becomes current. A pending `next` is kept
            // as `previous` (it may still carry the peer's data), else the
            // old current is.
            let displaced = if self.next.is_some() {
                let dropped = [index(self.previous.take()), index(self.current.take())];
                self.previous = self.next.take();
                dropped
            } else {
                let dropped = [index(self.previous.take()), None];
                self.previous = self.current.take();
                dropped
            };
            self.current = Some(keypair);
            displaced
        } else {
            // Unconfirmed: waits in `next` until the initiator uses it.
            let dropped = [index(self.next.take()), index(self.previous.take())];
            self.next = Some(keypair);
            dropped
        }
    }

    /// The initiator used our `next` keypair: it becomes current. Returns the
    /// displaced previous keypair's index.
    pub fn promote_next(&mut self) -> Option<u32> {
        let next = self.next.take()?;
        let dropped = self.previous.take().map(|k| k.local_index);
        self.previous = self.current.take();
        self.current = Some(next);
        dropped
    }

    /// Finds the keypair whose local index is `index`.
    pub fn keypair_mut(&mut self, index: u32) -> Option<(&mut Keypair, Slot)> {
        if let Some(k) = self.current.as_mut().filter(|k| k.local_index == index) {
            return Some((k, Slot::Current));
        }
        if let Some(k) = self.previous.as_mut().filter(|k| k.local_index == index) {
            return Some((k, Slot::Previous));
        }
        if let Some(k) = self.next.as_mut().filter(|k| k.local_index == index) {
            return Some((k, Slot::Next));
        }
        None
    }

    /// Every local index this peer owns (keypairs and the handshake in flight).
    pub fn indices(&self) -> [Option<u32>; 4] {
        [
            self.current.as_ref().map(|k| k.local_index),
            self.previous.as_ref().map(|k| k.local_index),
            self.next.as_ref().map(|k| k.local_index),
            self.initiation.as_ref().map(|h| h.local_index),
        ]
    }

    /// Erases all keys and the handshake in flight; returns their indices.
    pub fn erase_keys(&mut self) -> [Option<u32>; 4] {
        let indices = self.indices();
        self.current = None;
        self.previous = None;
        self.next = None;
        self.initiation = None;
        self.attempt_started = None;
        indices
    }
}
