//! A direct neighbour as the node sees it, and the rules that belong to
//! one neighbour:
//!
//! - **where to send**: its endpoint, roaming to the source of its
//!   authenticated packets unless `Static`;
//! - **parking**: a bounded queue of packets that wait for a WireGuard
//!   session;
//! - **liveness**: each ping announces how often the next ones come; the
//!   link from the neighbour counts as down after [`probe::MISSED_PINGS`]
//!   of them (plus [`probe::LIVENESS_SLACK`]) stay away, until one arrives;
//! - **probe back-off**: after failed handshakes, probes (pings, control
//!   messages, the dynamic modes' direct copies) stop starting new ones for
//!   [`PROBE_BACKOFF`], doubling per failure in a row up to
//!   [`PROBE_BACKOFF_MAX`].
//!
//! The cryptographic state lives in [`crate::wg`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::link_cost::{CostWeights, LinkCost, LinkQuality};
use super::probe;
use super::ring::PacketRing;
use crate::wg::constants::{REKEY_ATTEMPT_TIME, REKEY_TIMEOUT};
use crate::wire::control::PingEcho;

/// Packets kept per neighbour while a handshake is under way; older ones are
/// kept, newer ones dropped (counted) once it is full.
pub const PENDING_CAPACITY: usize = 16;

/// After a failed handshake, every probe of the neighbour (pings, control
/// messages, a frame's direct copy the routes do not ask for) waits this
/// long before starting another, doubling per failure up to
/// [`PROBE_BACKOFF_MAX`]; frames the routes send to the neighbour still
/// start a handshake at once. A neighbour that never answers costs, per
/// hour after the first, at most 3600 s / (PROBE_BACKOFF_MAX +
/// REKEY_TIMEOUT) ≈ 7 probe attempts of one initiation each, instead of
/// one initiation per REKEY_TIMEOUT (720); one that comes back gets a
/// session within PROBE_BACKOFF_MAX plus a ping interval (sooner if it
/// probes first), or at once for a routed frame. The back-off only grows
/// while failures follow each other: a link that flapped for a minute is
/// retried after 30 s, one dead for a quarter of an hour every 8 min.
pub const PROBE_BACKOFF: Duration = Duration::from_secs(30);
pub const PROBE_BACKOFF_MAX: Duration = Duration::from_secs(480);
/// How long a probe's handshake attempt lasts once the neighbour has
/// failed one: a single initiation, abandoned when its retransmit timer
/// (REKEY_TIMEOUT plus jitter) fires, not REKEY_ATTEMPT_TIME's eighteen
/// retries. A lost initiation costs one back-off period; the next probe
/// is the retry.
const PROBE_ATTEMPT_TIME: Duration = REKEY_TIMEOUT;

/// Announced ping intervals longer than this do not arm the liveness timer.
const LIVENESS_MAX: Duration = Duration::from_secs(3600);

/// A ping as [`Neighbour::on_ping`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct PingSample {
    pub request_id: u32,
    pub sent_at_unix_ns: i64,
    pub one_way_ns: i64,
    pub rtt_ns: Option<i64>,
    /// The sender's ping interval (0: it announces none).
    pub interval_ms: u32,
}

#[derive(Debug)]
pub struct Neighbour {
    /// Where datagrams for this neighbour go; learned from its latest
    /// authenticated packet unless `is_static`.
    endpoint: Option<SocketAddr>,
    is_static: bool,
    /// Plaintext payloads (routing header + body + padding) awaiting a session.
    pending: PacketRing<()>,
    /// When this neighbour's last ping arrived, and how long until the
    /// link counts as down without another (from the interval it announced).
    last_ping: Option<Instant>,
    alive_for: Duration,
    /// A `LinkDown` was reported and no ping came since.
    down: bool,
    /// Handshakes that failed in a row, and until when probes do not start
    /// a new one (a learned peer that is unreachable must not cost a
    /// handshake every ping round forever).
    failed_handshakes: u32,
    probe_after: Option<Instant>,
    /// The link from this neighbour: delay, jitter, loss, round trip.
    quality: LinkQuality,
}

impl Neighbour {
    pub fn new(endpoint: Option<SocketAddr>, is_static: bool, slot_len: usize) -> Self {
        Self {
            endpoint,
            is_static,
            pending: PacketRing::new(PENDING_CAPACITY, slot_len),
            last_ping: None,
            alive_for: Duration::MAX,
            down: false,
            failed_handshakes: 0,
            probe_after: None,
            quality: LinkQuality::default(),
        }
    }

    // --- where to send ---

    pub fn endpoint(&self) -> Option<SocketAddr> {
        self.endpoint
    }

    pub fn is_static(&self) -> bool {
        self.is_static
    }

    /// Points the neighbour at `endpoint`, also when it is static.
    pub fn set_endpoint(&mut self, endpoint: SocketAddr) {
        self.endpoint = Some(endpoint);
    }

    pub fn set_static(&mut self, is_static: bool) {
        self.is_static = is_static;
    }

    /// The same neighbour configured again (same keys): a configured
    /// endpoint only fills a missing one, unless it is now static (a
    /// learned endpoint is kept, since it is where the peer really is).
    pub fn reconfigure(&mut self, endpoint: Option<SocketAddr>, is_static: bool) {
        if self.endpoint.is_none() || is_static {
            self.endpoint = endpoint.or(self.endpoint);
        }
        self.is_static = is_static;
    }

    /// Follows the source address of an authenticated packet (roaming).
    /// Returns true if the endpoint changed.
    pub fn saw_authenticated(&mut self, from: SocketAddr) -> bool {
        if self.is_static && self.endpoint.is_some() {
            return false;
        }
        let changed = self.endpoint != Some(from);
        self.endpoint = Some(from);
        changed
    }

    // --- parking ---

    /// The packets parked for a session.
    pub fn pending(&mut self) -> &mut PacketRing<()> {
        &mut self.pending
    }

    // --- liveness and link quality ---

    /// A ping from this neighbour arrived at `now`: measures the link and
    /// re-arms liveness from the interval it announced. Returns the link's
    /// cost so far, once there is one.
    pub fn on_ping(
        &mut self,
        now: Instant,
        ping: PingSample,
        weights: &CostWeights,
    ) -> Option<LinkCost> {
        self.quality.on_ping(
            now,
            ping.request_id,
            ping.sent_at_unix_ns,
            ping.one_way_ns,
            ping.rtt_ns,
        );
        self.last_ping = Some(now);
        self.down = false;
        self.alive_for = if ping.interval_ms == 0 {
            Duration::MAX
        } else {
            Duration::from_millis(u64::from(ping.interval_ms)) * probe::MISSED_PINGS
                + probe::LIVENESS_SLACK
        };
        self.quality.cost(weights)
    }

    /// What this node's next ping to the neighbour echoes (round trip).
    pub fn echo(&self, now: Instant) -> Option<PingEcho> {
        self.quality.echo(now)
    }

    /// Marks the link down if its announced pings are overdue at `now`;
    /// true only the first time (one `LinkDown` per outage).
    pub fn check_down(&mut self, now: Instant) -> bool {
        let overdue = self
            .last_ping
            .is_some_and(|t| now.saturating_duration_since(t) > self.alive_for);
        if overdue && !self.down {
            self.down = true;
            return true;
        }
        false
    }

    /// When [`check_down`](Self::check_down) would next report the link
    /// down, if it is up and armed.
    pub fn down_deadline(&self) -> Option<Instant> {
        if self.down || self.alive_for >= LIVENESS_MAX {
            return None;
        }
        self.last_ping
            .map(|t| t + self.alive_for + Duration::from_millis(1))
    }

    // --- handshakes ---

    /// A session is up: failures stop counting, probes may start
    /// handshakes again.
    pub fn on_session(&mut self) {
        self.failed_handshakes = 0;
        self.probe_after = None;
    }

    /// A handshake attempt failed at `now`: probes back off (longer per
    /// failure in a row), and the parked packets are dropped. Returns how
    /// many were.
    pub fn on_handshake_failed(&mut self, now: Instant) -> usize {
        self.failed_handshakes = self.failed_handshakes.saturating_add(1);
        let backoff = PROBE_BACKOFF
            .saturating_mul(1 << self.failed_handshakes.min(5).saturating_sub(1))
            .min(PROBE_BACKOFF_MAX);
        self.probe_after = Some(now + backoff);
        let dropped = self.pending.len();
        self.pending.clear();
        dropped
    }

    /// How long a handshake attempt a probe starts at `now` may last:
    /// `None` while backing off, WireGuard's full attempt while no
    /// handshake has failed, a single initiation after one has.
    pub fn probe_window(&self, now: Instant) -> Option<Duration> {
        if self.probe_after.is_some_and(|t| now < t) {
            return None;
        }
        Some(if self.failed_handshakes == 0 {
            REKEY_ATTEMPT_TIME
        } else {
            PROBE_ATTEMPT_TIME
        })
    }
}
