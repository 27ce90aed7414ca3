//! Every timer of paper §6 on the virtual clock.

use super::*;

#[test]
fn keepalive_after_keepalive_timeout() {
    let mut p = Pair::new();
    p.handshake();
    p.send(Side::A, b"data only one way");
    p.advance(KEEPALIVE_TIMEOUT - Duration::from_millis(1));
    assert!(p.take_transmits(Side::B).is_empty());
    p.advance(Duration::from_millis(1));
    let out = p.take_transmits(Side::B);
    assert_eq!(out.len(), 1);
    let mut d = out[0].clone();
    assert_eq!(d.len(), 32, "a keepalive is an empty transport message");
    assert_eq!(
        p.deliver(Side::A, &mut d),
        Opened::Data {
            peer: id(2),
            payload: 16..16
        }
    );
    // A keepalive is not data: it arms no keepalive in return.
    p.advance(KEEPALIVE_TIMEOUT * 2);
    assert!(p.take_transmits(Side::A).is_empty());
}

#[test]
fn handshake_retries_with_jitter_then_gives_up() {
    let mut p = Pair::new();
    let start = p.now;
    p.a.initiate(start, id(2));
    let mut sent = vec![start];
    assert_eq!(p.take_transmits(Side::A).len(), 1);
    // B never answers: follow A's own deadlines.
    while let Some((at, _why)) = p.a.poll_timeout() {
        if at > start + REKEY_ATTEMPT_TIME * 2 {
            break;
        }
        p.now = at;
        p.a.handle_timeout(at);
        p.drain_events();
        let out = p.take_transmits(Side::A);
        assert!(out.len() <= 1);
        if out.len() == 1 {
            assert!(is_initiation(&out[0]));
            sent.push(at);
        }
        if p.count(Side::A, WgEvent::HandshakeFailed { peer: id(2) }) > 0 {
            break;
        }
    }
    let mut jitters = std::collections::BTreeSet::new();
    for w in sent.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= REKEY_TIMEOUT && gap <= REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX,
            "{gap:?}"
        );
        jitters.insert(gap);
    }
    assert!(jitters.len() > 5, "jitter varies: {jitters:?}");
    let gave_up = p.now - start;
    assert!(gave_up >= REKEY_ATTEMPT_TIME, "{gave_up:?}");
    assert!(gave_up <= REKEY_ATTEMPT_TIME + REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
    assert_eq!(
        p.count(Side::A, WgEvent::HandshakeFailed { peer: id(2) }),
        1
    );
    // 90 s / (5 s + up to 333 ms) → 17 or 18 retries after the first.
    assert!(
        (17..=19).contains(&sent.len()),
        "{} initiations",
        sent.len()
    );
    // Nothing more is sent after giving up, until asked again.
    p.advance(Duration::from_secs(60));
    assert!(p.take_transmits(Side::A).is_empty());
    let now = p.now;
    p.a.initiate(now, id(2));
    assert_eq!(p.take_transmits(Side::A).len(), 1);
}

#[test]
fn a_probe_gives_up_after_its_window_and_never_extends_an_attempt() {
    let mut p = Pair::new();
    let start = p.now;
    // A short probe: one initiation, abandoned when the retry would be due.
    p.a.probe(start, id(2), REKEY_TIMEOUT);
    assert_eq!(p.take_transmits(Side::A).len(), 1);
    p.advance(REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
    assert!(p.take_transmits(Side::A).is_empty(), "no retry");
    assert_eq!(
        p.count(Side::A, WgEvent::HandshakeFailed { peer: id(2) }),
        1
    );
    assert_eq!(p.a.stats().initiations_sent, 1);

    // A full probe attempt, probed again every 16 s (as pings do): the
    // probes do not restart its window, so it ends after
    // REKEY_ATTEMPT_TIME like a single demand would.
    let start = p.now;
    p.a.probe(start, id(2), REKEY_ATTEMPT_TIME);
    let mut next_probe = start + Duration::from_secs(16);
    while p.count(Side::A, WgEvent::HandshakeFailed { peer: id(2) }) < 2 {
        assert!(p.now - start <= REKEY_ATTEMPT_TIME + REKEY_TIMEOUT * 2);
        // Follow A's own deadlines, probing in between.
        let at =
            p.a.poll_timeout()
                .map_or(next_probe, |(t, _)| t.min(next_probe));
        p.now = at;
        p.a.handle_timeout(at);
        if at == next_probe {
            p.a.probe(at, id(2), REKEY_ATTEMPT_TIME);
            next_probe = at + Duration::from_secs(16);
        }
        p.drain_events();
        p.take_transmits(Side::A);
    }
    let gave_up = p.now - start;
    assert!(gave_up >= REKEY_ATTEMPT_TIME, "{gave_up:?}");
    let attempt = p.a.stats().initiations_sent - 1;
    assert!((17..=19).contains(&attempt), "{attempt} initiations");

    // Data restarts the window (the kernel's rule); a probe then does not
    // shorten it.
    let sent = p.a.stats().initiations_sent;
    let now = p.now + REKEY_TIMEOUT;
    p.a.probe(now, id(2), REKEY_TIMEOUT);
    p.a.initiate(now, id(2));
    p.a.probe(now, id(2), REKEY_TIMEOUT);
    for _ in 0..3 {
        let (at, _) = p.a.poll_timeout().unwrap();
        p.now = at;
        p.a.handle_timeout(at);
        p.drain_events();
    }
    assert_eq!(
        p.count(Side::A, WgEvent::HandshakeFailed { peer: id(2) }),
        2
    );
    assert_eq!(p.a.stats().initiations_sent - sent, 4, "still retrying");

    // And a probe that is answered makes a session like any handshake.
    let mut q = Pair::new();
    let now = q.now;
    q.a.probe(now, id(2), REKEY_TIMEOUT);
    q.pump();
    assert!(q.a.has_session(id(2)) && q.b.has_session(id(1)));
}

#[test]
fn initiate_is_rate_limited_while_in_flight() {
    let mut p = Pair::new();
    let now = p.now;
    p.a.initiate(now, id(2));
    p.a.initiate(now + Duration::from_secs(1), id(2));
    assert_eq!(p.take_transmits(Side::A).len(), 1);
}

#[test]
fn rekey_after_time_with_data_flowing_and_no_loss() {
    let mut p = Pair::new();
    p.handshake();
    let mut sent = 0u32;
    // 10 minutes, a frame each way every 500 ms, control traffic delivered.
    for i in 0..1200u32 {
        p.send(Side::A, &i.to_le_bytes());
        p.send(Side::B, &(!i).to_le_bytes());
        sent += 2;
        p.pump();
        p.advance(Duration::from_millis(500));
        p.pump();
    }
    assert_eq!(sent, 2400);
    // A new session at least every REKEY_AFTER_TIME + ~REKEY_TIMEOUT.
    let rekeys = p
        .events
        .iter()
        .filter(|(_, e)| matches!(e, WgEvent::SessionEstablished { .. }))
        .count();
    assert!(rekeys >= 2 * 4, "{rekeys} sessions in 600 s");
    assert_eq!(
        p.count(Side::A, WgEvent::HandshakeFailed { peer: id(2) }),
        0
    );
}

#[test]
fn rekey_after_messages() {
    let mut p = Pair::new();
    p.handshake();
    p.take_transmits(Side::A);
    p.a.peers
        .get_mut(&id(2))
        .unwrap()
        .current
        .as_mut()
        .unwrap()
        .set_send_counter(REKEY_AFTER_MESSAGES);
    p.now += REKEY_TIMEOUT;
    let _ = p.seal(Side::A, b"x").unwrap();
    let out = p.take_transmits(Side::A);
    assert!(
        out.iter().any(|d| is_initiation(d)),
        "high counter triggers a rekey"
    );
}

#[test]
fn old_key_is_refused_for_sending_and_receiving() {
    let mut p = Pair::new();
    p.handshake();
    let mut late = p.seal(Side::A, b"late").unwrap();
    p.now += REJECT_AFTER_TIME;
    assert_eq!(
        p.deliver(Side::B, &mut late),
        Opened::Dropped(DropReason::KeyExpired)
    );
    assert!(p.a.has_session(id(2)), "A has not been told the time yet");
    assert_eq!(p.seal(Side::A, b"x"), Err(SealError::NoSession));
    assert!(!p.a.has_session(id(2)));
}

#[test]
fn responder_rekeys_only_via_initiator_age_rule() {
    // The responder's key never triggers rekey-on-send by age (paper §6.2):
    // after REKEY_AFTER_TIME only the initiator starts a handshake.
    let mut p = Pair::new();
    p.handshake();
    p.now += REKEY_AFTER_TIME;
    let _ = p.seal(Side::B, b"from responder").unwrap();
    assert!(p.take_transmits(Side::B).iter().all(|d| !is_initiation(d)));
    let _ = p.seal(Side::A, b"from initiator").unwrap();
    assert!(p.take_transmits(Side::A).iter().any(|d| is_initiation(d)));
}

#[test]
fn new_handshake_when_data_goes_unanswered() {
    let mut p = Pair::new();
    p.handshake();
    let _lost = p.seal(Side::A, b"into the void").unwrap();
    p.advance(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT - Duration::from_millis(1));
    assert!(p.take_transmits(Side::A).is_empty());
    p.advance(REKEY_TIMEOUT_JITTER_MAX + Duration::from_millis(1));
    let out = p.take_transmits(Side::A);
    assert_eq!(out.len(), 1);
    assert!(is_initiation(&out[0]));
}

#[test]
fn persistent_keepalive_every_interval() {
    let now = base();
    let every = Duration::from_secs(25);
    let mut a = Wg::new(&private(1), [1; 32], now, UNIX);
    a.add_peer(id(2), &public(2), None, Some(every));
    assert_eq!(
        a.poll_timeout().map(|(t, _)| t),
        Some(now),
        "contacts the peer at once"
    );
    let mut p = Pair {
        a,
        ..Pair::with(None, None)
    };
    p.now = now;
    p.advance(Duration::ZERO);
    p.pump();
    assert!(p.a.has_session(id(2)));
    let mut seen = Vec::new();
    for _ in 0..100 {
        p.advance(Duration::from_secs(1));
        let out = p.take_transmits(Side::A);
        for mut d in out {
            assert_eq!(d.len(), 32);
            seen.push(p.now - now);
            p.deliver(Side::B, &mut d);
        }
        p.pump();
    }
    assert_eq!(
        seen,
        vec![
            Duration::from_secs(25),
            Duration::from_secs(50),
            Duration::from_secs(75),
            Duration::from_secs(100)
        ]
    );
}

#[test]
fn keys_zeroed_after_three_reject_times() {
    let mut p = Pair::new();
    p.handshake();
    p.advance(ZERO_KEYS_AFTER - Duration::from_secs(1));
    assert_eq!(p.count(Side::A, WgEvent::KeysZeroed { peer: id(2) }), 0);
    p.advance(Duration::from_secs(1));
    assert_eq!(p.count(Side::A, WgEvent::KeysZeroed { peer: id(2) }), 1);
    assert_eq!(p.count(Side::B, WgEvent::KeysZeroed { peer: id(1) }), 1);
    let peer = &p.a.peers[&id(2)];
    assert!(peer.current.is_none() && peer.previous.is_none() && peer.next.is_none());
    assert!(p.a.indices.is_empty() && p.b.indices.is_empty());
}
