//! No allocation per packet, at the node level: after warm-up, 10 000 frames go from one
//! node's interface through the routing header, encryption, the "network",
//! decryption and the L2 FIB to the other node's interface — unicast and
//! broadcast — without a single heap allocation. A counting global allocator
//! (stats_alloc, so no `unsafe` here) measures; one test per file, so no
//! other test thread allocates meanwhile. The same again with deferred
//! crypto (the data-path threads' mode): seal jobs run after
//! `poll_transmit`, datagrams go through prepare / open / finish.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "support/node_pair.rs"]
mod node_pair;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd::node::Node;
use egd::wg::keys::private_key_from_random;
use node_pair::{addr, origin};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

fn node(me: u16, other: u16, now: Instant) -> Node {
    node_pair::node(me, other, now, |i| private_key_from_random([i as u8; 32]))
}

/// Moves every datagram `from` has queued into `to`; returns frames `to`
/// delivered to its interface.
fn carry(
    from: &mut Node,
    to: &mut Node,
    from_addr: SocketAddr,
    now: Instant,
    buf: &mut [u8],
    late: &mut usize,
) -> usize {
    let mut delivered = 0;
    while let Some(t) = from.poll_transmit() {
        let len = t.payload.len();
        buf[..len].copy_from_slice(t.payload);
        let msg = &mut buf[..len];
        if let Some(job) = t.seal {
            job.seal(msg).unwrap();
            *late += 1;
            if let Some(job) = to.prepare_datagram(now, from_addr, msg) {
                let opened = job.open(msg);
                to.finish_datagram(now, from_addr, msg, &job, opened);
            }
        } else {
            to.handle_datagram(now, from_addr, msg);
        }
        while to.poll_frame().is_some() {
            delivered += 1;
        }
        while to.poll_event().is_some() {}
    }
    delivered
}

fn frames_cross_two_nodes_without_allocating(deferred: bool) {
    let mut now = origin();
    let mut a = node(1, 2, now);
    let mut b = node(2, 1, now);
    a.set_deferred_crypto(deferred);
    b.set_deferred_crypto(deferred);
    // Datagrams sealed after `poll_transmit` (deferred crypto).
    let mut late = 0;
    let mut buf = vec![0u8; 4096];
    let mut unicast = vec![0u8; 1400];
    unicast[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]); // b's MAC (learned below)
    unicast[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    let mut broadcast = vec![0u8; 64];
    broadcast[..6].copy_from_slice(&[0xff; 6]);
    broadcast[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    let mut reply = vec![0u8; 64];
    reply[..6].copy_from_slice(&[0xff; 6]);
    reply[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 2]);

    // Warm-up: handshake (allocates in snow), FIB learning, first packets.
    a.handle_frame(now, &broadcast);
    for _ in 0..4 {
        carry(&mut a, &mut b, addr(1), now, &mut buf, &mut late);
        carry(&mut b, &mut a, addr(2), now, &mut buf, &mut late);
    }
    b.handle_frame(now, &reply);
    carry(&mut b, &mut a, addr(2), now, &mut buf, &mut late);
    a.handle_frame(now, &unicast);
    assert_eq!(
        carry(&mut a, &mut b, addr(1), now, &mut buf, &mut late),
        1,
        "warm-up unicast arrives"
    );

    let region = Region::new(GLOBAL);
    let mut delivered = 0;
    for i in 0..10_000u32 {
        now += Duration::from_micros(100);
        let frame = if i % 2 == 0 { &unicast } else { &broadcast };
        a.handle_frame(now, frame);
        delivered += carry(&mut a, &mut b, addr(1), now, &mut buf, &mut late);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    let stats = region.change();
    assert_eq!(delivered, 10_000);
    assert_eq!(late >= 10_000, deferred, "deferred seals: {late}");
    assert_eq!(stats.allocations, 0, "{stats:?}");
    assert_eq!(stats.reallocations, 0, "{stats:?}");
}

/// Runs without libtest's harness (`harness = false`): the harness's main
/// thread allocates now and then while it waits for a test thread, and the
/// allocation counter is process-wide, so only a single-threaded run
/// measures this code alone.
fn main() {
    frames_cross_two_nodes_without_allocating(false);
    frames_cross_two_nodes_without_allocating(true);
}
