//! The handshake gate: mac1, cookies under load, rate limits, TAI64N
//! freshness, the flood guard, unknown peers and PSK mismatches.

use super::*;

/// Node 1 as a new instance (random `seed`, wall clock `unix`) with B as
/// its peer, the pair's PSK included: A after a restart.
fn restarted_a(seed: u8, now: Instant, unix: Duration) -> Wg {
    let mut wg = Wg::new(&private(1), [seed; 32], now, unix);
    wg.add_peer(
        id(2),
        &public(2),
        Some(&PresharedKey::from_bytes([7; 32])),
        None,
    );
    wg
}

/// `wg`'s initiation to node 2 at `now`, as it would be sent.
fn initiation_of(wg: &mut Wg, now: Instant) -> Vec<u8> {
    wg.initiate(now, id(2));
    let mut buf = [0u8; MAX_CONTROL_LEN];
    let Some(WgTransmit::ToPeer { len, .. }) = wg.poll_transmit(&mut buf) else {
        panic!()
    };
    buf[..len].to_vec()
}

/// A's initiation to B, taken off A's queue and not delivered.
fn a_initiation(p: &mut Pair) -> Vec<u8> {
    let now = p.now;
    p.a.initiate(now, id(2));
    p.take_transmits(Side::A).remove(0)
}

/// `n` copies of `init` with a broken mac1 delivered to B: junk that
/// counts toward B's load.
fn junk_flood(p: &mut Pair, init: &[u8], n: u32) {
    for _ in 0..n {
        let mut junk = init.to_vec();
        junk[field::initiation::MAC1.start] ^= 1;
        p.deliver(Side::B, &mut junk);
    }
}

/// B, under load, answers `init` with a cookie reply, which A takes.
fn cookie_to_a(p: &mut Pair, init: &[u8]) {
    let mut d = init.to_vec();
    p.deliver(Side::B, &mut d);
    let mut r = p.take_transmits(Side::B).remove(0);
    p.deliver(Side::A, &mut r);
}

/// A's one retransmitted initiation gets through B's gate and the
/// handshake completes; returns that initiation.
fn retry_completes(p: &mut Pair) -> Vec<u8> {
    let retry = p.take_transmits(Side::A);
    assert_eq!(retry.len(), 1);
    let mut d = retry[0].clone();
    assert_eq!(
        p.deliver(Side::B, &mut d),
        Opened::Handshake { peer: Some(id(1)) }
    );
    p.pump();
    assert!(p.a.has_session(id(2)) && p.b.has_session(id(1)));
    retry[0].clone()
}

#[test]
fn stale_timestamp_rejected() {
    let mut p = Pair::new();
    let init = a_initiation(&mut p);
    let mut first = init.clone();
    assert_eq!(
        p.deliver(Side::B, &mut first),
        Opened::Handshake { peer: Some(id(1)) }
    );
    // The same initiation again, a second later (past the flood guard).
    p.now += Duration::from_secs(1);
    let mut replay = init.clone();
    assert_eq!(
        p.deliver(Side::B, &mut replay),
        Opened::Dropped(DropReason::StaleTimestamp)
    );
    // A restarted initiator whose wall clock is behind is refused too.
    let mut behind = restarted_a(99, p.now, UNIX - Duration::from_secs(10));
    let mut msg = initiation_of(&mut behind, p.now);
    assert_eq!(
        p.deliver(Side::B, &mut msg),
        Opened::Dropped(DropReason::StaleTimestamp)
    );
    // One whose clock moved on is accepted.
    p.now += Duration::from_secs(1);
    let later = p.now;
    let mut ahead = restarted_a(98, later, UNIX + Duration::from_secs(10));
    let mut msg = initiation_of(&mut ahead, later);
    assert_eq!(
        p.deliver(Side::B, &mut msg),
        Opened::Handshake { peer: Some(id(1)) }
    );
}

#[test]
fn initiation_flood_from_one_peer_refused() {
    let mut p = Pair::new();
    let now = p.now;
    p.a.initiate(now, id(2));
    let mut d = p.take_transmits(Side::A).remove(0);
    p.deliver(Side::B, &mut d);
    // A second, fresher initiation 1 ms later.
    let mut a2 = restarted_a(5, now, UNIX + Duration::from_secs(1));
    let mut msg = initiation_of(&mut a2, now);
    p.now += Duration::from_millis(1);
    assert_eq!(
        p.deliver(Side::B, &mut msg),
        Opened::Dropped(DropReason::InitiationFlood)
    );
}

#[test]
fn mac1_mismatch_dropped() {
    let mut p = Pair::new();
    let now = p.now;
    let init = a_initiation(&mut p);
    let mut bad = init.clone();
    bad[field::initiation::MAC1.start] ^= 1;
    assert_eq!(
        p.deliver(Side::B, &mut bad),
        Opened::Dropped(DropReason::BadMac1)
    );
    let mut bad = init.clone();
    bad[field::initiation::EPHEMERAL.start] ^= 1;
    assert_eq!(
        p.deliver(Side::B, &mut bad),
        Opened::Dropped(DropReason::BadMac1),
        "mac1 covers the body"
    );
    // Sent to a key that is not B's: mac1 is keyed with the wrong public key.
    let mut c = Wg::new(&private(3), [3; 32], now, UNIX);
    c.add_peer(id(2), &public(4), None, None);
    let mut msg = initiation_of(&mut c, now);
    assert_eq!(
        p.deliver(Side::B, &mut msg),
        Opened::Dropped(DropReason::BadMac1)
    );
    assert!(p.take_transmits(Side::B).is_empty(), "no work, no answer");
}

#[test]
fn unknown_initiator_dropped() {
    let mut p = Pair::new();
    let now = p.now;
    let mut c = Wg::new(&private(3), [3; 32], now, UNIX);
    c.add_peer(id(2), &public(2), None, None);
    let mut msg = initiation_of(&mut c, now);
    assert_eq!(
        p.deliver(Side::B, &mut msg),
        Opened::Dropped(DropReason::UnknownPeer)
    );
    assert!(p.take_transmits(Side::B).is_empty());
}

#[test]
fn wrong_psk_fails_cleanly() {
    let mut p = Pair::with(
        Some(&PresharedKey::from_bytes([1; 32])),
        Some(&PresharedKey::from_bytes([2; 32])),
    );
    let now = p.now;
    p.a.initiate(now, id(2));
    let log = p.pump();
    assert!(
        log.contains(&(Side::A, Opened::Dropped(DropReason::DecryptFailed))),
        "{log:?}"
    );
    assert!(!p.a.has_session(id(2)) && !p.b.has_session(id(1)));
    assert!(p.events.is_empty());
    // Only PSK on one side fails as well.
    let mut p = Pair::with(Some(&PresharedKey::from_bytes([1; 32])), None);
    let now = p.now;
    p.a.initiate(now, id(2));
    p.pump();
    assert!(!p.a.has_session(id(2)));
}

#[test]
fn no_psk_on_either_side_works() {
    let mut p = Pair::with(None, None);
    p.handshake();
    p.send(Side::B, b"zero psk");
}

#[test]
fn cookie_reply_under_load_then_mac2_accepted() {
    let mut p = Pair::new();
    let init = a_initiation(&mut p);
    // A flood of junk initiations (bad mac1) puts B under load.
    for _ in 0..=UNDER_LOAD_HANDSHAKES {
        let mut junk = init.clone();
        junk[field::initiation::MAC1.start] ^= 1;
        assert_eq!(
            p.deliver(Side::B, &mut junk),
            Opened::Dropped(DropReason::BadMac1)
        );
    }
    let mut d = init.clone();
    assert_eq!(
        p.deliver(Side::B, &mut d),
        Opened::Dropped(DropReason::CookieRequired)
    );
    let reply = p.take_transmits(Side::B);
    assert_eq!(reply.len(), 1);
    assert_eq!((reply[0].len(), reply[0][0]), (64, 3));
    assert_eq!(p.b.stats().cookie_replies_sent, 1);
    let mut r = reply[0].clone();
    let accepted = p.a.stats().handshake_messages_accepted;
    assert_eq!(
        p.deliver(Side::A, &mut r),
        Opened::Handshake { peer: None },
        "consumed, but no endpoint evidence"
    );
    assert_eq!(
        p.a.stats().handshake_messages_accepted,
        accepted + 1,
        "a consumed cookie reply counts as accepted"
    );
    // A's retry carries mac2; B is still under load (the flood goes on).
    p.advance(REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
    junk_flood(&mut p, &init, UNDER_LOAD_HANDSHAKES + 1);
    let retry = retry_completes(&mut p);
    assert_ne!(&retry[field::initiation::MAC2], &[0u8; 16][..]);
}

/// Beyond the budget forged initiations get no cookie reply, but a peer
/// that already holds a cookie is still let through: a flood cannot lock
/// real peers out of their rekeys.
#[test]
fn cookie_holder_passes_an_overloading_flood() {
    let mut p = Pair::new();
    let init = a_initiation(&mut p);
    junk_flood(&mut p, &init, UNDER_LOAD_HANDSHAKES + 1);
    cookie_to_a(&mut p, &init);
    // Next attempt: B is past its budget for this interval.
    p.advance(REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
    junk_flood(&mut p, &init, HANDSHAKE_BUDGET + 1);
    let replies = p.b.stats().cookie_replies_sent;
    let mut forged = init.clone();
    assert_eq!(
        p.deliver(Side::B, &mut forged),
        Opened::Dropped(DropReason::HandshakeOverload),
        "valid mac1, no cookie: no work beyond the MACs"
    );
    assert_eq!(p.b.stats().cookie_replies_sent, replies, "no reply");
    retry_completes(&mut p);
}

#[test]
fn rate_limited_per_source_under_load() {
    let mut p = Pair::new();
    let now = p.now;
    let init = a_initiation(&mut p);
    junk_flood(&mut p, &init, UNDER_LOAD_HANDSHAKES + 1);
    cookie_to_a(&mut p, &init);
    // Re-stamp the same initiation with a valid mac2 several times: the
    // first few pass the gate (then fail freshness), the rest are limited.
    let mut reasons = Vec::new();
    for _ in 0..10 {
        let mut msg = init.clone();
        let peer = p.a.peers.get_mut(&id(2)).unwrap();
        let mut view =
            crate::wire::wg::Initiation::emit(&mut msg, 1, &init[field::initiation::NOISE])
                .unwrap();
        let (m1, m2) = peer.jar.macs(&view, now);
        view.set_mac1(&m1);
        view.set_mac2(&m2);
        reasons.push(p.deliver(Side::B, &mut msg));
    }
    assert!(
        reasons.contains(&Opened::Dropped(DropReason::RateLimited)),
        "{reasons:?}"
    );
    assert!(
        !reasons.contains(&Opened::Dropped(DropReason::CookieRequired)),
        "{reasons:?}"
    );
}

/// What a real initiation flood looks like: random sender, ephemeral and
/// AEAD fields under a correct mac1, from many source addresses. Every
/// message is dropped and counted: the first few reach the DH, then each
/// gets a cookie reply (no DH) until the second's budget is spent, and the
/// rest get no work at all. Nothing the flood sends creates state beyond
/// the bounded transmit queue: no index, no peer, no rate-limiter entry.
#[test]
fn initiation_flood_is_counted_and_creates_no_state() {
    let mut p = Pair::new();
    p.handshake();
    let indices = p.b.indices.len();
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let mac1_key = crate::wg::kdf::hash(&[crate::wg::constants::LABEL_MAC1, p.b.public.as_slice()]);
    let n = 2 * HANDSHAKE_BUDGET;
    let mut reasons = std::collections::BTreeMap::new();
    for i in 0..n {
        let mut msg = [0u8; field::initiation::LEN];
        rng.fill_bytes(&mut msg);
        msg[..4].copy_from_slice(&1u32.to_le_bytes());
        let mac1 = crate::wg::kdf::mac(&mac1_key, &[&msg[..field::initiation::MAC1.start]]);
        msg[field::initiation::MAC1].copy_from_slice(&mac1);
        let from = SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 4000));
        // 100 µs apart: all within one load interval.
        let now = p.now + Duration::from_micros(100 * u64::from(i));
        let Opened::Dropped(reason) = p.b.open(now, from, &mut msg) else {
            panic!("a forged initiation was accepted");
        };
        *reasons.entry(reason).or_insert(0u32) += 1;
    }
    let count = |r: DropReason| reasons.get(&r).copied().unwrap_or(0);
    assert_eq!(reasons.values().sum::<u32>(), n, "{reasons:?}");
    let before_load = count(DropReason::DecryptFailed);
    assert!(
        (1..=UNDER_LOAD_HANDSHAKES).contains(&before_load),
        "only the first {UNDER_LOAD_HANDSHAKES} reach the DH: {reasons:?}"
    );
    let cookies = count(DropReason::CookieRequired);
    assert!(
        (HANDSHAKE_BUDGET - 2..=HANDSHAKE_BUDGET).contains(&(before_load + cookies)),
        "the budget bounds the work: {reasons:?}"
    );
    assert_eq!(
        count(DropReason::HandshakeOverload),
        n - before_load - cookies,
        "{reasons:?}"
    );
    let stats = p.b.stats();
    assert_eq!(
        stats.cookie_replies_sent + stats.transmits_dropped,
        u64::from(cookies),
        "every cookie reply queued or counted as dropped"
    );
    assert!(p.b.transmits.len() <= TRANSMIT_QUEUE_LEN);
    assert_eq!(p.b.indices.len(), indices, "no index for a forged message");
    assert_eq!(p.b.peers.len(), 1);
    assert!(p.b.limiter.is_empty(), "no bucket without a valid cookie");
    assert_eq!(
        stats.handshake_messages_accepted, 1,
        "only the real handshake"
    );
}
