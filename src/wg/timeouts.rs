//! `handle_timeout`: fires every due timer of every peer (what each timer
//! means is in `session/timers.rs`) and then recomputes the cached earliest
//! deadline exactly.

use std::ops::Bound;
use std::time::Instant;

use super::timers::TimerKind;
use super::{Wg, WgEvent};
use crate::NodeId;

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
