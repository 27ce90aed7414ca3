//! A node under a handshake-initiation flood (valid mac1, forged rest)
//! processes a whole receive batch before its owner flushes the transmit
//! ring, as the daemon does after each reactor wait. The flood's cookie
//! replies must not fill that ring: a frame for the peer, sent in the same
//! batch, still gets out, the shed replies are counted, and every flood
//! datagram is counted under a drop reason.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::SocketAddr;
use std::time::Instant;

use crate::support::node_pair::{addr, id, origin};
use egd::drop::DropReason;
use egd::node::Node;
use egd::wg::constants::{HANDSHAKE_BUDGET, LABEL_MAC1};
use egd::wg::kdf::{hash, mac};
use egd::wg::keys::private_key_from_random;

fn key(n: u16) -> egd::wg::PrivateKey {
    private_key_from_random([n as u8 + 90; 32])
}

fn node(me: u16, other: u16, now: Instant) -> Node {
    crate::support::node_pair::node(me, other, now, key)
}

/// Every datagram `from` queued, handed to `to`.
fn carry(from: &mut Node, to: &mut Node, from_addr: SocketAddr, now: Instant) {
    let mut buf = vec![0u8; 4096];
    while let Some(t) = from.poll_transmit() {
        let len = t.payload.len();
        buf[..len].copy_from_slice(t.payload);
        to.handle_datagram(now, from_addr, &mut buf[..len]);
    }
}

#[test]
fn cookie_replies_to_a_flood_leave_room_for_data() {
    let now = origin();
    let (mut a, mut b) = (node(1, 2, now), node(2, 1, now));
    let mut broadcast = vec![0u8; 64];
    broadcast[..6].copy_from_slice(&[0xff; 6]);
    broadcast[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    b.handle_frame(now, &broadcast);
    for _ in 0..4 {
        carry(&mut b, &mut a, addr(2), now);
        carry(&mut a, &mut b, addr(1), now);
    }
    assert!(b.has_session(id(1)));
    while b.poll_transmit().is_some() {}

    // One receive batch: the flood, then a frame to send, no flush between.
    let public = b.public_key();
    let mac1_key = hash(&[LABEL_MAC1, &public.as_bytes()[..]]);
    let wg_drops = |m: &egd::metrics::Metrics| -> u64 {
        DropReason::WIREGUARD
            .iter()
            .map(|r| m.dropped_for(*r))
            .sum()
    };
    let drops_before = wg_drops(b.metrics());
    let flood = HANDSHAKE_BUDGET;
    let mut state = 0x1234_5678_9abc_def0_u64;
    for i in 0..flood {
        let mut msg = [0u8; 148];
        for chunk in msg.chunks_mut(8) {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        msg[..4].copy_from_slice(&1u32.to_le_bytes());
        let m1 = mac(&mac1_key, &[&msg[..116]]);
        msg[116..132].copy_from_slice(&m1);
        msg[132..].fill(0);
        let from = SocketAddr::from(([198, 51, 100, (i % 250) as u8], 40_000));
        b.handle_datagram(now, from, &mut msg);
    }
    b.handle_frame(now, &broadcast);

    let (mut replies, mut to_peer) = (0u64, 0);
    while let Some(t) = b.poll_transmit() {
        if t.dst == addr(1) {
            to_peer += 1;
        } else {
            assert_eq!((t.payload.len(), t.payload[0]), (64, 3), "a cookie reply");
            replies += 1;
        }
    }
    let m = b.metrics();
    assert!(replies > 0, "the cookie mechanism engaged");
    assert!(
        m.dropped_for(DropReason::CookieReplyShed) > 0,
        "replies were shed"
    );
    assert_eq!(
        m.dropped_for(DropReason::TxQueueFull),
        0,
        "nothing else was lost"
    );
    assert_eq!(to_peer, 1, "the frame went out in the same batch");
    assert_eq!(
        wg_drops(m) - drops_before,
        u64::from(flood),
        "every flood datagram counted"
    );
    assert_eq!(
        b.wg_stats().cookie_replies_sent,
        replies + m.dropped_for(DropReason::CookieReplyShed),
        "each reply made was sent or shed"
    );
}
