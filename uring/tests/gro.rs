//! UDP GRO on receive, through each backend on IPv4 and IPv6 loopback: a
//! sender's GSO trains reach a GRO socket coalesced (loopback delivers a GSO
//! send unsplit to such a socket) and must come out as every datagram exactly
//! once, intact, in order, from the right sender: trains of one size, then
//! mixed sizes (runs with a shorter last datagram, singles, tiny ones). The
//! fallbacks: GRO off because the buffers are too small for a train, and GRO
//! refused by the kernel (simulated), must deliver the same.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report
// Tests measure wall-clock time to bound waits.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{BACKENDS, LOOPBACKS, bind, check_payload, payload, reactor};
use egd_uring::{Backend, Completion, Reactor, ReactorConfig, SocketId};
use std::time::{Duration, Instant};

/// Datagrams sent per flush: the send pool (64) is flushed automatically in
/// between, so trains of up to 64 (or 64 000 bytes) go out back to back.
const WINDOW: usize = 512;

/// Send `lens.len()` datagrams (sequence numbers 0.., lengths `lens`) from
/// `tx` to `rx` of `r`, `WINDOW` at a time, and check what `rx` receives:
/// each exactly once, in order, intact, from `tx`.
fn send_and_check(r: &mut dyn Reactor, tx: SocketId, rx: SocketId, lens: &[usize], what: &str) {
    let (from, to) = (r.local_addr(tx).unwrap(), r.local_addr(rx).unwrap());
    let mut next = 0usize; // next sequence number expected
    let end = Instant::now() + Duration::from_secs(30);
    for chunk_start in (0..lens.len()).step_by(WINDOW) {
        let chunk_end = (chunk_start + WINDOW).min(lens.len());
        for (seq, &len) in lens.iter().enumerate().take(chunk_end).skip(chunk_start) {
            r.queue_send(tx, to, &payload(seq as u32, len)).unwrap();
        }
        r.flush().unwrap();
        while next < chunk_end {
            assert!(
                Instant::now() < end,
                "{what}: stuck at {next} of {}; {:?}",
                lens.len(),
                r.stats()
            );
            r.wait(Some(Instant::now() + Duration::from_secs(1)), &mut |c| {
                if let Completion::Datagram {
                    socket,
                    from: src,
                    payload,
                } = c
                {
                    assert_eq!(socket, rx, "{what}");
                    assert_eq!(src, from, "{what}");
                    let seq = check_payload(payload) as usize;
                    assert_eq!(seq, next, "{what}: out of order or duplicated");
                    assert_eq!(payload.len(), lens[seq], "{what}: length of {seq}");
                    next += 1;
                }
            })
            .unwrap();
        }
    }
    // Nothing more may arrive (no duplicates after the last one).
    r.wait(Some(Instant::now() + Duration::from_millis(30)), &mut |c| {
        assert!(
            !matches!(c, Completion::Datagram { .. }),
            "{what}: extra datagram"
        );
    })
    .unwrap();
}

/// Mixed sizes: runs of equal sizes with a shorter last one, singles of
/// growing size, tiny datagrams, maximum-size trains.
fn mixed_lens() -> Vec<usize> {
    let mut lens = Vec::new();
    for round in 0..40 {
        let size = 100 + (round * 97) % 1300;
        lens.extend(std::iter::repeat_n(size, 1 + round % 23));
        lens.push(size / 2 + 4); // shorter last
        lens.push(size + 50); // a longer single starts a new run
        lens.extend([4, 5, 6]); // tiny singles
        if round % 10 == 0 {
            lens.extend(std::iter::repeat_n(1400, 45)); // a full 63 000-byte train
        }
    }
    lens
}

struct Case {
    addr: &'static str,
    cfg: ReactorConfig,
    /// Whether coalesced receives are expected.
    coalesced: bool,
}

fn run(backend: Backend, case: &Case) {
    let Some(mut r) = reactor(backend, case.cfg.clone()) else {
        return;
    };
    let tx = r.add_udp(bind(case.addr)).unwrap();
    let rx = r.add_udp(bind(case.addr)).unwrap();
    let label = format!("{backend} {} gro={}", case.addr, r.features().gro);

    let same: Vec<usize> = vec![1200; 5000];
    send_and_check(&mut *r, tx, rx, &same, &format!("{label} same size"));
    let st = r.stats();
    println!("{label} same size: {st:?}");
    assert_eq!(st.datagrams_received, 5000, "{st:?}");
    if case.coalesced {
        // 5000 × 1200 B in trains of 53 (64 000 B) → ~95 sends.
        assert!(st.gso_batches_sent > 0, "{st:?}");
        assert!(
            st.gro_receives >= st.gso_batches_sent / 2,
            "trains should arrive coalesced: {st:?}"
        );
    } else {
        assert_eq!(st.gro_receives, 0, "{st:?}");
    }

    let mixed = mixed_lens();
    send_and_check(&mut *r, tx, rx, &mixed, &format!("{label} mixed"));
    let st2 = r.stats();
    assert_eq!(st2.datagrams_received, 5000 + mixed.len() as u64, "{st2:?}");
    assert_eq!(st2.recv_truncated, 0, "{st2:?}");
    if case.coalesced {
        assert!(st2.gro_receives > st.gro_receives, "{st2:?}");
    } else {
        assert_eq!(st2.gro_receives, 0, "{st2:?}");
    }
}

#[test]
fn gro_trains_split_in_order() {
    for backend in BACKENDS {
        for addr in LOOPBACKS {
            let Some(r) = reactor(backend, ReactorConfig::default()) else {
                continue;
            };
            let f = r.features().clone();
            drop(r);
            if !(f.gro && f.gso) {
                println!("skipping: no UDP GSO/GRO on this kernel ({f})");
                continue;
            }
            run(
                backend,
                &Case {
                    addr,
                    cfg: ReactorConfig::default(),
                    coalesced: true,
                },
            );
        }
    }
}

#[test]
fn gro_off_with_small_buffers() {
    let cfg = ReactorConfig {
        recv_buffer_len: 2048,
        ..ReactorConfig::default()
    };
    for backend in BACKENDS {
        for addr in LOOPBACKS {
            if let Some(r) = reactor(backend, cfg.clone()) {
                assert!(!r.features().gro, "{}", r.features());
                assert!(r.features().to_string().contains(" gro=no "));
            }
            run(
                backend,
                &Case {
                    addr,
                    cfg: cfg.clone(),
                    coalesced: false,
                },
            );
        }
    }
}

#[test]
fn refused_gro_falls_back() {
    let cfg = ReactorConfig {
        refuse_gro_for_tests: true,
        ..ReactorConfig::default()
    };
    for backend in BACKENDS {
        let Some(mut r) = reactor(backend, cfg.clone()) else {
            continue;
        };
        if !r.features().gro {
            println!("skipping: no UDP GRO on this kernel");
            continue;
        }
        // Counted per socket, logged once.
        r.add_udp(bind("127.0.0.1:0")).unwrap();
        r.add_udp(bind("127.0.0.1:0")).unwrap();
        assert_eq!(r.stats().gro_refused, 2);
        drop(r);
        run(
            backend,
            &Case {
                addr: "127.0.0.1:0",
                cfg: cfg.clone(),
                coalesced: false,
            },
        );
    }
}
