//! Behaviour of [`Wg`] between two in-memory instances on a virtual clock:
//! the harness and the session basics here, timers in `timers.rs`, the
//! handshake gate (MACs, cookies, freshness, rate limits) in `gate.rs`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::wg::constants::{
    HANDSHAKE_BUDGET, KEEPALIVE_TIMEOUT, REJECT_AFTER_TIME, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME,
    REKEY_ATTEMPT_TIME, REKEY_TIMEOUT, UNDER_LOAD_HANDSHAKES, ZERO_KEYS_AFTER,
};
use crate::wg::keys::private_key_from_random;

/// The one real clock reading of these tests: every other instant is this
/// plus a `Duration`.
fn base() -> Instant {
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

const UNIX: Duration = Duration::from_secs(1_700_000_000);

fn id(n: u16) -> NodeId {
    NodeId::new(n).unwrap()
}

fn addr(n: u16) -> SocketAddr {
    format!("192.0.2.{n}:51820").parse().unwrap()
}

fn private(n: u8) -> PrivateKey {
    private_key_from_random([n; 32])
}

fn public(n: u8) -> PublicKey {
    crate::wg::keys::public_key(&private(n))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// Node 1 (`a`) and node 2 (`b`) wired back to back.
struct Pair {
    a: Wg,
    b: Wg,
    now: Instant,
    events: Vec<(Side, WgEvent)>,
}

impl Pair {
    fn new() -> Self {
        Self::with(
            Some(&PresharedKey::from_bytes([7; 32])),
            Some(&PresharedKey::from_bytes([7; 32])),
        )
    }

    fn with(psk_a: Option<&PresharedKey>, psk_b: Option<&PresharedKey>) -> Self {
        let now = base();
        let mut a = Wg::new(&private(1), [11; 32], now, UNIX);
        let mut b = Wg::new(&private(2), [22; 32], now, UNIX);
        a.add_peer(id(2), &public(2), psk_a, None);
        b.add_peer(id(1), &public(1), psk_b, None);
        Self {
            a,
            b,
            now,
            events: Vec::new(),
        }
    }

    fn wg(&mut self, side: Side) -> &mut Wg {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    fn peer_of(side: Side) -> NodeId {
        match side {
            Side::A => id(2),
            Side::B => id(1),
        }
    }

    fn other(side: Side) -> Side {
        match side {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    fn addr_of(side: Side) -> SocketAddr {
        match side {
            Side::A => addr(1),
            Side::B => addr(2),
        }
    }

    /// Everything `side` wants to send, as datagrams.
    fn take_transmits(&mut self, side: Side) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; MAX_CONTROL_LEN];
        while let Some(t) = self.wg(side).poll_transmit(&mut buf) {
            let len = match t {
                WgTransmit::ToPeer { peer, len } => {
                    assert_eq!(peer, Self::peer_of(side));
                    len
                }
                WgTransmit::ToAddr { addr, len } => {
                    assert_eq!(addr, Self::addr_of(Self::other(side)));
                    len
                }
            };
            out.push(buf[..len].to_vec());
        }
        out
    }

    fn drain_events(&mut self) {
        for side in [Side::A, Side::B] {
            while let Some(e) = self.wg(side).poll_event() {
                self.events.push((side, e));
            }
        }
    }

    /// `to` receives `datagram` from the other side.
    fn deliver(&mut self, to: Side, datagram: &mut [u8]) -> Opened {
        let now = self.now;
        let from = Self::addr_of(Self::other(to));
        let opened = self.wg(to).open(now, from, datagram);
        self.drain_events();
        opened
    }

    /// Moves control datagrams both ways until both queues are empty.
    fn pump(&mut self) -> Vec<(Side, Opened)> {
        let mut log = Vec::new();
        loop {
            let mut moved = false;
            for side in [Side::A, Side::B] {
                for mut d in self.take_transmits(side) {
                    moved = true;
                    let to = Self::other(side);
                    let opened = self.deliver(to, &mut d);
                    log.push((to, opened));
                }
            }
            if !moved {
                return log;
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        let now = self.now;
        self.a.handle_timeout(now);
        self.b.handle_timeout(now);
        self.drain_events();
    }

    fn handshake(&mut self) {
        let now = self.now;
        self.a.initiate(now, id(2));
        self.pump();
        assert!(self.a.has_session(id(2)) && self.b.has_session(id(1)));
    }

    /// Seals `payload` from `side`; the datagram bytes.
    fn seal(&mut self, side: Side, payload: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut buf = vec![0u8; TRANSPORT_HEADER_LEN + payload.len() + TAG_LEN];
        let range = TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + payload.len();
        buf[range.clone()].copy_from_slice(payload);
        let now = self.now;
        let peer = Self::peer_of(side);
        let out = self.wg(side).seal(now, peer, &mut buf, range)?;
        Ok(buf[out].to_vec())
    }

    /// Seals from `side`, delivers, and checks the plaintext arrived intact.
    fn send(&mut self, side: Side, payload: &[u8]) {
        let mut d = self.seal(side, payload).unwrap();
        let to = Self::other(side);
        match self.deliver(to, &mut d) {
            Opened::Data {
                peer,
                payload: range,
            } => {
                assert_eq!(peer, Self::peer_of(to));
                assert_eq!(&d[range], payload);
            }
            other => panic!("expected data, got {other:?}"),
        }
    }

    fn count(&self, side: Side, event: WgEvent) -> usize {
        self.events
            .iter()
            .filter(|&&(s, e)| s == side && e == event)
            .count()
    }
}

fn is_initiation(d: &[u8]) -> bool {
    d.len() == 148 && d[0] == 1
}
#[test]
fn noise_params_parse() {
    assert!(handshake::params().is_ok());
}

#[test]
fn handshake_between_two_instances() {
    let mut p = Pair::new();
    let now = p.now;
    p.a.initiate(now, id(2));
    let init = p.take_transmits(Side::A);
    assert_eq!(init.len(), 1);
    assert!(is_initiation(&init[0]));
    let mut d = init[0].clone();
    assert_eq!(
        p.deliver(Side::B, &mut d),
        Opened::Handshake { peer: Some(id(1)) }
    );
    assert!(
        !p.b.has_session(id(1)),
        "responder waits for key confirmation"
    );
    let resp = p.take_transmits(Side::B);
    assert_eq!(resp.len(), 1);
    assert_eq!((resp[0].len(), resp[0][0]), (92, 2));
    let mut d = resp[0].clone();
    assert_eq!(
        p.deliver(Side::A, &mut d),
        Opened::Handshake { peer: Some(id(2)) }
    );
    assert!(p.a.has_session(id(2)));
    // The initiator confirms at once with a keepalive.
    let confirm = p.take_transmits(Side::A);
    assert_eq!(confirm.len(), 1);
    assert_eq!(confirm[0].len(), 32);
    let mut d = confirm[0].clone();
    assert_eq!(
        p.deliver(Side::B, &mut d),
        Opened::Data {
            peer: id(1),
            payload: 16..16
        }
    );
    assert!(p.b.has_session(id(1)));
    assert_eq!(
        p.count(Side::A, WgEvent::SessionEstablished { peer: id(2) }),
        1
    );
    assert_eq!(
        p.count(Side::B, WgEvent::SessionEstablished { peer: id(1) }),
        1
    );
    p.send(Side::A, b"hello from a");
    p.send(Side::B, b"hello from b");
}

#[test]
fn data_before_the_confirmation_keepalive_replaces_it() {
    let mut p = Pair::new();
    let now = p.now;
    p.a.initiate(now, id(2));
    let mut init = p.take_transmits(Side::A).remove(0);
    p.deliver(Side::B, &mut init);
    let mut resp = p.take_transmits(Side::B).remove(0);
    p.deliver(Side::A, &mut resp);
    p.send(Side::A, b"queued frame");
    assert!(
        p.take_transmits(Side::A).is_empty(),
        "no redundant keepalive"
    );
    assert!(p.b.has_session(id(1)));
}

#[test]
fn same_seed_same_bytes() {
    let run = || {
        let mut p = Pair::new();
        let now = p.now;
        p.a.initiate(now, id(2));
        let mut out = p.take_transmits(Side::A);
        let mut d = out[0].clone();
        p.deliver(Side::B, &mut d);
        out.extend(p.take_transmits(Side::B));
        out
    };
    assert_eq!(run(), run());
}

#[test]
fn replayed_datagram_rejected() {
    let mut p = Pair::new();
    p.handshake();
    let d = p.seal(Side::A, b"once").unwrap();
    let mut first = d.clone();
    assert!(matches!(
        p.deliver(Side::B, &mut first),
        Opened::Data { .. }
    ));
    let mut again = d.clone();
    assert_eq!(
        p.deliver(Side::B, &mut again),
        Opened::Dropped(DropReason::Replay)
    );
    let mut tampered = p.seal(Side::A, b"twice").unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x80;
    assert_eq!(
        p.deliver(Side::B, &mut tampered),
        Opened::Dropped(DropReason::DecryptFailed)
    );
}

#[test]
fn seal_without_session_or_room() {
    let mut p = Pair::new();
    assert_eq!(p.seal(Side::A, b"x"), Err(SealError::NoSession));
    let now = p.now;
    let mut buf = [0u8; 64];
    assert_eq!(
        p.a.seal(now, id(9), &mut buf, 16..20),
        Err(SealError::UnknownPeer)
    );
    p.handshake();
    assert_eq!(
        p.a.seal(now, id(2), &mut buf, 8..20),
        Err(SealError::Buffer)
    );
    assert_eq!(
        p.a.seal(now, id(2), &mut buf, 16..60),
        Err(SealError::Buffer)
    );
}

#[test]
fn poll_timeout_is_never_late() {
    let mut p = Pair::new();
    p.handshake();
    for i in 0..200u32 {
        if i % 3 == 0 {
            p.send(Side::A, b"tick");
        }
        if i % 7 == 0 {
            p.send(Side::B, b"tock");
        }
        for wg in [&p.a, &p.b] {
            let exact = wg
                .peers
                .values()
                .filter_map(|s| s.timers.earliest())
                .map(|(t, _)| t)
                .min();
            if let Some(exact) = exact {
                let cached = wg.poll_timeout().map(|(t, _)| t).unwrap();
                assert!(cached <= exact);
            }
        }
        p.advance(Duration::from_millis(700));
        p.pump();
    }
}

#[test]
fn early_handle_timeout_is_harmless() {
    let mut p = Pair::new();
    p.handshake();
    for _ in 0..50 {
        let now = p.now;
        p.a.handle_timeout(now);
        p.b.handle_timeout(now);
    }
    assert!(p.take_transmits(Side::A).is_empty() && p.take_transmits(Side::B).is_empty());
    p.send(Side::A, b"still fine");
}

#[test]
fn remove_peer_forgets_everything() {
    let mut p = Pair::new();
    p.handshake();
    let mut d = p.seal(Side::A, b"x").unwrap();
    p.b.remove_peer(id(1));
    assert_eq!(
        p.deliver(Side::B, &mut d),
        Opened::Dropped(DropReason::UnknownIndex)
    );
    assert!(p.b.indices.is_empty());
    assert!(!p.b.has_session(id(1)));
}

#[test]
fn padded_len_rounds_to_16_within_max() {
    assert_eq!(padded_len(0, 1420), 0);
    assert_eq!(padded_len(1, 1420), 16);
    assert_eq!(padded_len(16, 1420), 16);
    assert_eq!(padded_len(1419, 1420), 1420);
    assert_eq!(padded_len(1500, 1420), 1500);
}

#[test]
fn drop_reasons_have_distinct_labels() {
    use DropReason::*;
    let all = [
        TooShort,
        BadLength,
        UnknownType,
        UnknownIndex,
        Replay,
        DecryptFailed,
        BadMac1,
        CookieRequired,
        RateLimited,
        StaleTimestamp,
        InitiationFlood,
        UnknownPeer,
        KeyExpired,
        Internal,
    ];
    let labels: std::collections::BTreeSet<_> = all.iter().map(|r| r.as_str()).collect();
    assert_eq!(labels.len(), all.len());
}

proptest::proptest! {
    /// `open` on arbitrary bytes never panics and never yields data.
    #[test]
    fn open_random_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let mut p = Pair::new();
        p.handshake();
        let mut b = bytes.clone();
        let r = p.deliver(Side::B, &mut b);
        let forged = matches!(r, Opened::Data { .. });
        proptest::prop_assert!(!forged, "{:?}", r);
    }

    /// Valid messages with random bytes changed: never a panic, never
    /// forged data.
    #[test]
    fn open_mutated_messages_never_panics(
        kind in 0usize..3,
        edits in proptest::collection::vec((0usize..148, 1u8..=255), 1..4),
    ) {
        let mut p = Pair::new();
        let now = p.now;
        p.a.initiate(now, id(2));
        let init = p.take_transmits(Side::A).remove(0);
        let mut d = init.clone();
        p.deliver(Side::B, &mut d);
        let resp = p.take_transmits(Side::B).remove(0);
        let mut msg = match kind {
            0 => init,
            1 => resp,
            _ => { let mut r = resp.clone(); p.deliver(Side::A, &mut r); p.take_transmits(Side::A); p.seal(Side::A, b"payload").unwrap() }
        };
        for (at, x) in edits {
            let len = msg.len();
            msg[at % len] ^= x;
        }
        let r = p.deliver(if kind == 1 { Side::A } else { Side::B }, &mut msg);
        let forged = matches!(r, Opened::Data { .. });
        proptest::prop_assert!(!forged, "{:?}", r);
    }
}

mod gate;
mod timers;
