//! No allocation per datagram. After a warm-up, 10 000
//! datagrams through queue_send → flush → wait (GSO batches and single
//! sends, delivered to the callback) allocate nothing, on the io_uring
//! backend (and, while we are at it, on the std backend).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report
// Tests bound their waits with wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

use egd_uring::{Backend, Completion, Reactor, ReactorConfig, new_reactor};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const BATCH: usize = 100;

/// Send `BATCH` datagrams a → b and wait until they are all in; returns the
/// payload bytes received. Allocation-free by construction: fixed buffers,
/// closures on the stack.
fn round(r: &mut dyn Reactor, a: egd_uring::SocketId, to: std::net::SocketAddr) -> usize {
    let payload = [0x5au8; 600];
    for i in 0..BATCH {
        // Runs of 10 equal sizes: GSO batches; the size change: singles.
        let len = 200 + (i / 10) * 30;
        r.queue_send(a, to, &payload[..len]).unwrap();
    }
    r.flush().unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    let (mut got, mut bytes) = (0, 0);
    while got < BATCH {
        assert!(Instant::now() < end, "lost datagrams");
        r.wait(Some(end), &mut |c| {
            if let Completion::Datagram { payload, .. } = c {
                payload[0] ^= 1; // decrypt in place, say
                got += 1;
                bytes += payload.len();
            }
        })
        .unwrap();
    }
    bytes
}

fn steady_state_allocations(backend: Backend) -> Option<(usize, usize)> {
    let (mut r, warning) = new_reactor(backend, ReactorConfig::default()).unwrap();
    if let Some(w) = warning {
        println!("skipping {backend:?}: {w}");
        return None;
    }
    let a = r.add_udp(UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    let b = r.add_udp(UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    let to = r.local_addr(b).unwrap();
    for _ in 0..10 {
        round(&mut *r, a, to); // warm-up: first touches, lazy statics
    }
    let region = Region::new(GLOBAL);
    let mut bytes = 0;
    for _ in 0..100 {
        bytes += round(&mut *r, a, to);
    }
    let change = region.change();
    assert!(bytes > 0);
    let st = r.stats();
    assert!(st.gso_batches_sent > 0 || !r.features().gso, "{st:?}");
    Some((change.allocations, change.reallocations))
}

fn no_allocation_per_datagram() {
    // Control: the counter does see an allocation.
    let control = Region::new(GLOBAL);
    drop(std::hint::black_box(vec![1u8; 10]));
    assert!(control.change().allocations >= 1);

    let uring = steady_state_allocations(Backend::Uring);
    let std = steady_state_allocations(Backend::Std);
    println!("allocations (allocs, reallocs) over 10 000 datagrams: uring {uring:?}, std {std:?}");
    if let Some(u) = uring {
        assert_eq!(u, (0, 0), "io_uring backend allocated");
    }
    assert_eq!(std, Some((0, 0)), "std backend allocated");
}

/// Runs without libtest's harness (`harness = false`): the harness's main
/// thread allocates now and then while it waits for a test thread, and the
/// allocation counter is process-wide, so only a single-threaded run
/// measures this code alone.
fn main() {
    no_allocation_per_datagram();
}
