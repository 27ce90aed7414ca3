//! The per-peer timers of WireGuard (paper §6), as plain deadlines.
//!
//! Every timer, and what arms and fires it (names as in the kernel's
//! `timers.c`, which implements the paper's rules):
//!
//! - **Retransmit handshake** — armed when we send an initiation, for
//!   REKEY_TIMEOUT plus 0–333 ms of jitter; cleared when a handshake
//!   completes. Firing sends a fresh initiation, unless REKEY_ATTEMPT_TIME has
//!   passed since the attempt began: then the attempt is abandoned
//!   (`HandshakeFailed`) and key erasure is scheduled (paper §6.4).
//! - **Send keepalive** — armed when authenticated *data* arrives and not
//!   already armed, for KEEPALIVE_TIMEOUT; cleared when we send any
//!   authenticated packet. Firing sends an empty transport message, and
//!   re-arms once if more data arrived meanwhile (paper §6.5 passive keepalive).
//! - **New handshake** — armed when we send data and not already armed, for
//!   KEEPALIVE_TIMEOUT + REKEY_TIMEOUT plus jitter; cleared when any
//!   authenticated packet arrives. Firing means the peer went silent after
//!   our data: start a new handshake (paper §6.5).
//! - **Zero key material** — armed (pushed back) whenever a session is
//!   derived, and after a failed attempt if not armed, for
//!   3 × REJECT_AFTER_TIME. Firing erases every keypair and handshake of the
//!   peer (paper §6).
//! - **Persistent keepalive** — when configured, armed (pushed back) on
//!   every authenticated packet sent or received, for the configured
//!   interval. Firing sends a keepalive, keeping NAT mappings open.
//!
//! Not timers but age checks made when a packet is sent or received
//! (paper §6.2, §6.3): rekey when sending with a key older than
//! REKEY_AFTER_TIME (initiator only) or past REKEY_AFTER_MESSAGES; rekey
//! once when receiving with our own key older than REJECT_AFTER_TIME −
//! KEEPALIVE_TIMEOUT − REKEY_TIMEOUT; refuse keys older than
//! REJECT_AFTER_TIME or past REJECT_AFTER_MESSAGES; at most one initiation
//! per REKEY_TIMEOUT.
//!
//! Two halves, both here:
//! - [`Timers`], one per peer, holds the deadlines: the peer code calls the
//!   `on_*` methods at the events named above, asks [`Timers::earliest`] for
//!   the next deadline, and pops due timers with [`Timers::pop_due`];
//! - [`Wg::handle_timeout`] fires every due timer of every peer (what each
//!   firing does, as listed above) and then recomputes the cached earliest
//!   deadline exactly.

use std::ops::Bound;
use std::time::{Duration, Instant};

use super::constants::{KEEPALIVE_TIMEOUT, REKEY_TIMEOUT, ZERO_KEYS_AFTER};
use super::{Wg, WgEvent};
use crate::NodeId;

/// One of a peer's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    RetransmitHandshake,
    SendKeepalive,
    NewHandshake,
    ZeroKeyMaterial,
    PersistentKeepalive,
}

impl TimerKind {
    const ALL: [TimerKind; 5] = [
        TimerKind::RetransmitHandshake,
        TimerKind::SendKeepalive,
        TimerKind::NewHandshake,
        TimerKind::ZeroKeyMaterial,
        TimerKind::PersistentKeepalive,
    ];

    /// Why a wake-up is due, for `poll_timeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::RetransmitHandshake => "retransmit handshake",
            TimerKind::SendKeepalive => "send keepalive",
            TimerKind::NewHandshake => "new handshake",
            TimerKind::ZeroKeyMaterial => "zero key material",
            TimerKind::PersistentKeepalive => "persistent keepalive",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// A peer's deadlines. A `set` returns the new deadline so the owner can
/// keep a cheap earliest-deadline cache.
#[derive(Debug, Clone, Default)]
pub struct Timers {
    deadlines: [Option<Instant>; 5],
    /// More data arrived while the send-keepalive timer was armed.
    need_another_keepalive: bool,
    persistent_keepalive: Option<Duration>,
}

impl Timers {
    pub fn new(persistent_keepalive: Option<Duration>) -> Self {
        Self {
            persistent_keepalive: persistent_keepalive.filter(|d| !d.is_zero()),
            ..Self::default()
        }
    }

    pub fn persistent_keepalive(&self) -> Option<Duration> {
        self.persistent_keepalive
    }

    pub fn is_armed(&self, kind: TimerKind) -> bool {
        self.deadlines[kind.slot()].is_some()
    }

    pub fn deadline(&self, kind: TimerKind) -> Option<Instant> {
        self.deadlines[kind.slot()]
    }

    /// Arms `kind` for `at` (replacing any earlier deadline).
    pub fn arm(&mut self, kind: TimerKind, at: Instant) -> Option<(Instant, TimerKind)> {
        self.deadlines[kind.slot()] = Some(at);
        Some((at, kind))
    }

    pub fn clear(&mut self, kind: TimerKind) {
        self.deadlines[kind.slot()] = None;
    }

    /// The earliest armed deadline.
    pub fn earliest(&self) -> Option<(Instant, TimerKind)> {
        TimerKind::ALL
            .iter()
            .filter_map(|&k| self.deadlines[k.slot()].map(|t| (t, k)))
            .min_by_key(|&(t, _)| t)
    }

    /// Disarms and returns one timer whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<TimerKind> {
        let (at, kind) = self.earliest()?;
        if at > now {
            return None;
        }
        self.clear(kind);
        Some(kind)
    }

    // ---- events (kernel `timers.c` names) ----

    /// We sent an initiation.
    pub fn on_handshake_initiated(
        &mut self,
        now: Instant,
        jitter: Duration,
    ) -> Option<(Instant, TimerKind)> {
        self.arm(TimerKind::RetransmitHandshake, now + REKEY_TIMEOUT + jitter)
    }

    /// A handshake completed (initiator: response read; responder: first data).
    pub fn on_handshake_complete(&mut self) {
        self.clear(TimerKind::RetransmitHandshake);
    }

    /// New transport keys exist.
    pub fn on_session_derived(&mut self, now: Instant) -> Option<(Instant, TimerKind)> {
        self.arm(TimerKind::ZeroKeyMaterial, now + ZERO_KEYS_AFTER)
    }

    /// A handshake attempt was abandoned: erase leftovers eventually.
    pub fn on_handshake_abandoned(&mut self, now: Instant) -> Option<(Instant, TimerKind)> {
        self.clear(TimerKind::SendKeepalive);
        if self.is_armed(TimerKind::ZeroKeyMaterial) {
            return None;
        }
        self.arm(TimerKind::ZeroKeyMaterial, now + ZERO_KEYS_AFTER)
    }

    /// We sent a transport message with a non-empty payload.
    pub fn on_data_sent(&mut self, now: Instant, jitter: Duration) -> Option<(Instant, TimerKind)> {
        if self.is_armed(TimerKind::NewHandshake) {
            return None;
        }
        self.arm(
            TimerKind::NewHandshake,
            now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter,
        )
    }

    /// We received a transport message with a non-empty payload.
    pub fn on_data_received(&mut self, now: Instant) -> Option<(Instant, TimerKind)> {
        if self.is_armed(TimerKind::SendKeepalive) {
            self.need_another_keepalive = true;
            return None;
        }
        self.arm(TimerKind::SendKeepalive, now + KEEPALIVE_TIMEOUT)
    }

    /// The send-keepalive timer fired: re-arm once if data kept arriving.
    pub fn on_keepalive_fired(&mut self, now: Instant) -> Option<(Instant, TimerKind)> {
        if !std::mem::take(&mut self.need_another_keepalive) {
            return None;
        }
        self.arm(TimerKind::SendKeepalive, now + KEEPALIVE_TIMEOUT)
    }

    /// We sent any authenticated packet (handshake or transport).
    pub fn on_authenticated_sent(&mut self, now: Instant) -> Option<(Instant, TimerKind)> {
        self.clear(TimerKind::SendKeepalive);
        self.on_authenticated_traversal(now)
    }

    /// We received any authenticated packet (handshake or transport).
    pub fn on_authenticated_received(&mut self, now: Instant) -> Option<(Instant, TimerKind)> {
        self.clear(TimerKind::NewHandshake);
        self.on_authenticated_traversal(now)
    }

    fn on_authenticated_traversal(&mut self, now: Instant) -> Option<(Instant, TimerKind)> {
        let interval = self.persistent_keepalive?;
        self.arm(TimerKind::PersistentKeepalive, now + interval)
    }
}

// ---- firing ----

/// Firing a timer never re-arms one at or before `now`, so a handful of
/// rounds per peer suffices; the bound only guards against a future bug
/// turning into a busy loop.
const MAX_FIRES_PER_PEER: usize = 16;

impl Wg {
    /// Runs every timer due at `now`. Calls before any deadline do nothing
    /// but refresh the cached deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        let mut cursor: Option<NodeId> = None;
        loop {
            let next = match cursor {
                None => self.peers.keys().next().copied(),
                Some(c) => self
                    .peers
                    .range((Bound::Excluded(c), Bound::Unbounded))
                    .next()
                    .map(|(k, _)| *k),
            };
            let Some(peer) = next else { break };
            cursor = Some(peer);
            for _ in 0..MAX_FIRES_PER_PEER {
                let Some(kind) = self
                    .peers
                    .get_mut(&peer)
                    .and_then(|p| p.timers.pop_due(now))
                else {
                    break;
                };
                self.fire(now, peer, kind);
            }
        }
        self.next_deadline = self
            .peers
            .values()
            .filter_map(|p| p.timers.earliest())
            .min_by_key(|&(at, _)| at)
            .map(|(at, kind)| (at, kind.as_str()));
    }

    fn fire(&mut self, now: Instant, peer: NodeId, kind: TimerKind) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        match kind {
            TimerKind::RetransmitHandshake => {
                if state.initiation.is_none() {
                    return;
                }
                let window = state.attempt_window;
                let expired = state
                    .attempt_started
                    .is_none_or(|t| now.saturating_duration_since(t) >= window);
                if expired {
                    // Paper §6.4: give up; erase leftovers later.
                    let old = state.initiation.take().map(|h| h.local_index);
                    state.attempt_started = None;
                    let d = state.timers.on_handshake_abandoned(now);
                    self.forget_indices([old]);
                    self.note(d);
                    self.push_event(WgEvent::HandshakeFailed { peer });
                } else {
                    self.send_initiation(now, peer, true);
                }
            }
            TimerKind::SendKeepalive => {
                let d = state.timers.on_keepalive_fired(now);
                self.note(d);
                self.keepalive_or_handshake(now, peer);
            }
            TimerKind::NewHandshake => {
                // We sent data and heard nothing back (paper §6.5).
                self.start_handshake(now, peer);
            }
            TimerKind::ZeroKeyMaterial => {
                let indices = state.erase_keys();
                state.timers.clear(TimerKind::RetransmitHandshake);
                self.forget_indices(indices);
                self.push_event(WgEvent::KeysZeroed { peer });
            }
            TimerKind::PersistentKeepalive => self.keepalive_or_handshake(now, peer),
        }
    }

    /// A keepalive needs a session; without one it becomes a handshake
    /// attempt, as in the kernel (`send.c: wg_packet_send_keepalive`).
    fn keepalive_or_handshake(&mut self, now: Instant, peer: NodeId) {
        if self.has_session(peer) {
            self.queue_keepalive(peer);
        } else {
            self.start_handshake(now, peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Instant {
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }

    #[test]
    fn keepalive_armed_by_data_cleared_by_send() {
        let t = base();
        let mut timers = Timers::new(None);
        timers.on_data_received(t);
        assert_eq!(
            timers.earliest(),
            Some((t + KEEPALIVE_TIMEOUT, TimerKind::SendKeepalive))
        );
        timers.on_data_received(t + Duration::from_secs(1));
        assert_eq!(
            timers.deadline(TimerKind::SendKeepalive),
            Some(t + KEEPALIVE_TIMEOUT)
        );
        assert_eq!(timers.pop_due(t), None, "early pops are harmless");
        assert_eq!(
            timers.pop_due(t + KEEPALIVE_TIMEOUT),
            Some(TimerKind::SendKeepalive)
        );
        // More data came while armed: one more keepalive later.
        assert!(timers.on_keepalive_fired(t + KEEPALIVE_TIMEOUT).is_some());
        timers.on_authenticated_sent(t + KEEPALIVE_TIMEOUT);
        assert_eq!(timers.earliest(), None);
    }

    #[test]
    fn new_handshake_armed_by_data_sent_cleared_by_receive() {
        let t = base();
        let mut timers = Timers::new(None);
        let j = Duration::from_millis(100);
        timers.on_data_sent(t, j);
        timers.on_data_sent(t + Duration::from_secs(3), j);
        assert_eq!(
            timers.deadline(TimerKind::NewHandshake),
            Some(t + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + j)
        );
        timers.on_authenticated_received(t);
        assert!(!timers.is_armed(TimerKind::NewHandshake));
    }

    #[test]
    fn persistent_keepalive_pushed_back_by_traffic() {
        let t = base();
        let every = Duration::from_secs(25);
        let mut timers = Timers::new(Some(every));
        timers.on_authenticated_sent(t);
        timers.on_authenticated_received(t + Duration::from_secs(5));
        assert_eq!(
            timers.earliest(),
            Some((t + Duration::from_secs(30), TimerKind::PersistentKeepalive))
        );
        assert!(
            Timers::new(Some(Duration::ZERO))
                .persistent_keepalive()
                .is_none()
        );
    }

    #[test]
    fn zero_keys_pushed_by_sessions_not_by_abandon() {
        let t = base();
        let mut timers = Timers::new(None);
        timers.on_session_derived(t);
        assert!(
            timers
                .on_handshake_abandoned(t + Duration::from_secs(100))
                .is_none()
        );
        assert_eq!(
            timers.deadline(TimerKind::ZeroKeyMaterial),
            Some(t + ZERO_KEYS_AFTER)
        );
    }
}
