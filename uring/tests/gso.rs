//! Batched sends arrive at a plain (non-reactor) receiver as separate
//! datagrams, in order, intact: a GSO batch of equal sizes, a mixed batch
//! (equal runs with a shorter last one, singles, two destinations), through
//! each backend on IPv4 and IPv6; and the per-socket fallback when the kernel
//! refuses GSO.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report
// Tests measure wall-clock time to bound waits.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{BACKENDS, LOOPBACKS, bind, check_payload, collect, payload, reactor};
use egd_uring::{Backend, ReactorConfig};
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Receive `n` datagrams from a plain blocking socket.
fn receive(sock: &UdpSocket, n: usize) -> Vec<Vec<u8>> {
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = vec![0u8; 65536];
    (0..n)
        .map(|i| {
            let (len, _) = sock
                .recv_from(&mut buf)
                .unwrap_or_else(|e| panic!("datagram {i} of {n}: {e}"));
            buf[..len].to_vec()
        })
        .collect()
}

fn nothing_more(sock: &UdpSocket) {
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "unexpected extra datagram"
    );
}

fn same_size_batch(backend: Backend, addr: &str) {
    let Some(mut r) = reactor(backend, ReactorConfig::default()) else {
        return;
    };
    let s = r.add_udp(bind(addr)).unwrap();
    let rx = bind(addr);
    let dst = rx.local_addr().unwrap();
    for seq in 0..40 {
        r.queue_send(s, dst, &payload(seq, 1000)).unwrap();
    }
    r.flush().unwrap();
    let got = receive(&rx, 40);
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.len(), 1000);
        assert_eq!(check_payload(p), i as u32);
    }
    nothing_more(&rx);
    // io_uring sends complete asynchronously: let the reactor see them.
    r.wait(
        Some(Instant::now() + Duration::from_millis(20)),
        &mut |_| {},
    )
    .unwrap();
    let st = r.stats();
    assert_eq!(st.datagrams_sent, 40, "{st:?}");
    if r.features().gso {
        assert_eq!(st.gso_batches_sent, 1, "one GSO send of 40: {st:?}");
        assert_eq!(st.send_calls, 1, "one sendmsg for 40: {st:?}");
    }
}

/// The same batch to a receiving reactor (GRO on where the kernel has it):
/// one `sendmsg` with `UDP_SEGMENT` out, 40 datagrams in, in order, intact;
/// with GRO the kernel hands them over as one coalesced receive.
fn same_size_batch_to_reactor(backend: Backend, addr: &str) {
    let Some(mut tx) = reactor(backend, ReactorConfig::default()) else {
        return;
    };
    let Some(mut rx) = reactor(backend, ReactorConfig::default()) else {
        return;
    };
    let s = tx.add_udp(bind(addr)).unwrap();
    let d = rx.add_udp(bind(addr)).unwrap();
    rx.flush().unwrap(); // arm the receive before anything arrives
    let dst = rx.local_addr(d).unwrap();
    for seq in 0..40 {
        tx.queue_send(s, dst, &payload(seq, 1000)).unwrap();
    }
    tx.flush().unwrap();
    let got = collect(&mut *rx, 40, Duration::from_secs(5));
    assert_eq!(got.len(), 40);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.payload.len(), 1000);
        assert_eq!(check_payload(&g.payload), i as u32);
        assert_eq!(g.from, tx.local_addr(s).unwrap());
    }
    tx.wait(
        Some(Instant::now() + Duration::from_millis(20)),
        &mut |_| {},
    )
    .unwrap();
    let (ts, rs) = (tx.stats(), rx.stats());
    assert_eq!(ts.datagrams_sent, 40, "{ts:?}");
    assert_eq!(rs.datagrams_received, 40, "{rs:?}");
    if tx.features().gso {
        assert_eq!((ts.send_calls, ts.gso_batches_sent), (1, 1), "{ts:?}");
        if rx.features().gro {
            assert_eq!(rs.gro_receives, 1, "one coalesced receive: {rs:?}");
        }
    }
}

fn mixed_batch(backend: Backend, addr: &str) {
    let Some(mut r) = reactor(backend, ReactorConfig::default()) else {
        return;
    };
    let s = r.add_udp(bind(addr)).unwrap();
    let (rx1, rx2) = (bind(addr), bind(addr));
    let (d1, d2) = (rx1.local_addr().unwrap(), rx2.local_addr().unwrap());
    // (destination, length): expected GSO groups are marked.
    let plan = [
        (d1, 1000), // ┐ GSO: 3 × 1000 + shorter last
        (d1, 1000), // │
        (d1, 1000), // │
        (d1, 500),  // ┘
        (d1, 700),  // ┐ GSO: 2 × 700
        (d1, 700),  // ┘
        (d1, 1200), //   single (longer)
        (d2, 1200), //   single (other destination)
        (d1, 100),  // ┐ GSO: 3 × 100
        (d1, 100),  // │
        (d1, 100),  // ┘
        (d2, 64),   //   single
    ];
    for (seq, &(dst, len)) in plan.iter().enumerate() {
        r.queue_send(s, dst, &payload(seq as u32, len)).unwrap();
    }
    r.flush().unwrap();
    let want1: Vec<usize> = (0..plan.len()).filter(|&i| plan[i].0 == d1).collect();
    let want2: Vec<usize> = (0..plan.len()).filter(|&i| plan[i].0 == d2).collect();
    for (rx, want) in [(&rx1, want1), (&rx2, want2)] {
        let got = receive(rx, want.len());
        for (p, &seq) in got.iter().zip(&want) {
            assert_eq!(check_payload(p), seq as u32);
            assert_eq!(p.len(), plan[seq].1, "length of {seq}");
        }
        nothing_more(rx);
    }
    r.wait(
        Some(Instant::now() + Duration::from_millis(20)),
        &mut |_| {},
    )
    .unwrap();
    let st = r.stats();
    assert_eq!(st.datagrams_sent, plan.len() as u64, "{st:?}");
    if r.features().gso {
        assert_eq!(st.gso_batches_sent, 3, "{st:?}");
        // 3 GSO sends and 3 singles.
        assert_eq!(st.send_calls, 6, "{st:?}");
    }
}

#[test]
fn gso_batch_arrives_as_separate_datagrams() {
    for backend in BACKENDS {
        for addr in LOOPBACKS {
            same_size_batch(backend, addr);
        }
    }
}

#[test]
fn gso_batch_is_one_sendmsg_and_n_datagrams_at_a_reactor() {
    for backend in BACKENDS {
        for addr in LOOPBACKS {
            same_size_batch_to_reactor(backend, addr);
        }
    }
}

#[test]
fn mixed_batch_arrives_in_order() {
    for backend in BACKENDS {
        for addr in LOOPBACKS {
            mixed_batch(backend, addr);
        }
    }
}

/// With `SO_NO_CHECK` (no UDP checksum) the kernel refuses GSO with EINVAL:
/// the batch must still arrive (resent datagram by datagram), GSO must stay
/// off for that socket only, and later batches go out as single sends.
fn refused_gso(backend: Backend) {
    let Some(mut r) = reactor(backend, ReactorConfig::default()) else {
        return;
    };
    if !r.features().gso {
        println!("skipping: no UDP GSO on this kernel");
        return;
    }
    let plain = bind("127.0.0.1:0");
    let one: libc::c_int = 1;
    // SAFETY: `one` is a valid c_int for the duration of the call.
    let ret = unsafe {
        libc::setsockopt(
            plain.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NO_CHECK,
            (&raw const one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(ret, 0, "SO_NO_CHECK");
    let nocheck = r.add_udp(plain).unwrap();
    let normal = r.add_udp(bind("127.0.0.1:0")).unwrap();
    let rx = bind("127.0.0.1:0");
    let dst = rx.local_addr().unwrap();
    let mut seq = 0;
    for round in 0..2 {
        for socket in [nocheck, normal] {
            for _ in 0..5 {
                r.queue_send(socket, dst, &payload(seq, 300)).unwrap();
                seq += 1;
            }
        }
        r.flush().unwrap();
        // io_uring learns of the refusal from a completion and resends then.
        for _ in 0..3 {
            r.wait(
                Some(Instant::now() + Duration::from_millis(10)),
                &mut |_| {},
            )
            .unwrap();
        }
        let mut got: Vec<u32> = receive(&rx, 10).iter().map(|p| check_payload(p)).collect();
        got.sort_unstable();
        let first = round * 10;
        assert_eq!(
            got,
            (first..first + 10).collect::<Vec<_>>(),
            "round {round}"
        );
        nothing_more(&rx);
    }
    let st = r.stats();
    assert_eq!(st.gso_disabled, 1, "{st:?}");
    assert_eq!(st.datagrams_sent, 20, "{st:?}");
    assert_eq!(st.send_errors, 0, "{st:?}");
    // The normal socket kept GSO in both rounds; the other never succeeded.
    assert_eq!(st.gso_batches_sent, 2, "{st:?}");
}

#[test]
fn refused_gso_falls_back_per_socket() {
    for backend in BACKENDS {
        refused_gso(backend);
    }
}
