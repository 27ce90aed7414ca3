//! No allocation per packet. A counting global allocator
//! (stats_alloc, so this file needs no `unsafe`) watches 10 000 seal/open
//! round trips between two `Wg` instances after warm-up and must see zero
//! allocations. This file holds a single test so that no other test thread
//! allocates while it measures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd::NodeId;
use egd::wg::keys::{private_key_from_random, public_key};
use egd::wg::{MAX_CONTROL_LEN, Opened, TAG_LEN, TRANSPORT_HEADER_LEN, Wg, WgTransmit};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

fn base() -> Instant {
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

fn pump(from: &mut Wg, to: &mut Wg, now: Instant, src: SocketAddr) {
    let mut buf = [0u8; MAX_CONTROL_LEN];
    while let Some(t) = from.poll_transmit(&mut buf) {
        let len = match t {
            WgTransmit::ToPeer { len, .. } | WgTransmit::ToAddr { len, .. } => len,
        };
        to.open(now, src, &mut buf[..len]);
    }
}

fn transport_path_does_not_allocate() {
    let (ka, kb) = (
        private_key_from_random([1; 32]),
        private_key_from_random([2; 32]),
    );
    let (ia, ib) = (NodeId::new(1).unwrap(), NodeId::new(2).unwrap());
    let (sa, sb): (SocketAddr, SocketAddr) = (
        "192.0.2.1:1".parse().unwrap(),
        "192.0.2.2:2".parse().unwrap(),
    );
    let mut now = base();
    let mut a = Wg::new(&ka, [1; 32], now, Duration::from_secs(1_700_000_000));
    let mut b = Wg::new(&kb, [2; 32], now, Duration::from_secs(1_700_000_000));
    a.add_peer(ib, &public_key(&kb), None, None);
    b.add_peer(ia, &public_key(&ka), None, None);
    a.initiate(now, ib);
    for _ in 0..3 {
        pump(&mut a, &mut b, now, sa);
        pump(&mut b, &mut a, now, sb);
    }
    while a.poll_event().is_some() || b.poll_event().is_some() {}
    assert!(a.has_session(ib) && b.has_session(ia));

    let mut buf = vec![0u8; TRANSPORT_HEADER_LEN + 1420 + TAG_LEN];
    let mut round_trip = |a: &mut Wg, b: &mut Wg, now: Instant, len: usize| {
        let payload = TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + len;
        buf[payload.clone()].fill(0x5a);
        let out = a.seal(now, ib, &mut buf, payload.clone()).unwrap_or(0..0);
        assert_eq!(out.start, 0);
        let opened = b.open(now, sa, &mut buf[out]);
        assert_eq!(
            opened,
            Opened::Data {
                peer: ia,
                payload: 16..16 + len
            }
        );
        let out = b.seal(now, ia, &mut buf, payload).unwrap_or(0..0);
        let opened = a.open(now, sb, &mut buf[out]);
        assert_eq!(
            opened,
            Opened::Data {
                peer: ib,
                payload: 16..16 + len
            }
        );
        let _ = (a.poll_timeout(), b.poll_timeout());
    };
    // Warm-up: first use of every code path, lazily initialised CPU features.
    for _ in 0..100 {
        round_trip(&mut a, &mut b, now, 64);
        round_trip(&mut a, &mut b, now, 1420);
    }

    let region = Region::new(GLOBAL);
    for i in 0..10_000u32 {
        now += Duration::from_micros(500);
        round_trip(&mut a, &mut b, now, if i % 2 == 0 { 64 } else { 1420 });
    }
    let change = region.change();
    assert_eq!(change.allocations, 0, "{change:?}");
    assert_eq!(change.reallocations, 0, "{change:?}");
}

/// Runs without libtest's harness (`harness = false`): the harness's main
/// thread allocates now and then while it waits for a test thread, and the
/// allocation counter is process-wide, so only a single-threaded run
/// measures this code alone.
fn main() {
    transport_path_does_not_allocate();
}
