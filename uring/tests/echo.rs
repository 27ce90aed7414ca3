//! UDP echo through each backend on 127.0.0.1 and ::1: 10 000 datagrams of
//! varying sizes (runs of equal sizes, so GSO batches and single sends mix)
//! go A → B and are echoed B → A. None may be lost on loopback, every payload
//! must be intact and every source address right.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report
// Tests measure wall-clock time to bound the run.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{BACKENDS, LOOPBACKS, bind, check_payload, payload, rcvbuf, reactor};
use egd_uring::{Backend, Completion, ReactorConfig};
use std::time::{Duration, Instant};

const TOTAL: usize = 10_000;
/// Datagrams sent before waiting for their echoes: more than the two send
/// pools hold (2 × 64), so the send path must reclaim pools on the fly...
const WINDOW: usize = 256;
/// ...unless the receive buffer could not hold that many (not root: the
/// buffer is capped by net.core.rmem_max): kernel memory per datagram of up
/// to 1400 bytes on loopback, with margin.
const TRUESIZE: usize = 2500;

/// Runs of 16 equal sizes between 4 and 1400 bytes.
fn len_of(seq: usize) -> usize {
    4 + (seq / 16 * 37) % 1397
}

fn echo(backend: Backend, addr: &str) {
    let Some(mut r) = reactor(backend, ReactorConfig::default()) else {
        return;
    };
    let (sa, sb) = (bind(addr), bind(addr));
    let window = WINDOW.min(rcvbuf(&sa).min(rcvbuf(&sb)) / TRUESIZE);
    if window < WINDOW {
        println!("receive buffers too small for {WINDOW} in flight: window {window}");
    }
    let a = r.add_udp(sa).unwrap();
    let b = r.add_udp(sb).unwrap();
    let (a_addr, b_addr) = (r.local_addr(a).unwrap(), r.local_addr(b).unwrap());
    let mut seen_b = vec![false; TOTAL];
    let mut seen_a = vec![false; TOTAL];
    let (mut sent, mut back) = (0, 0);
    let mut echoes: Vec<Vec<u8>> = Vec::new();
    let end = Instant::now() + Duration::from_secs(60);
    while back < TOTAL {
        assert!(
            Instant::now() < end,
            "{backend:?} {addr}: only {back} of {sent} echoes back; {:?}",
            r.stats()
        );
        if back == sent {
            for seq in sent..(sent + window).min(TOTAL) {
                r.queue_send(a, b_addr, &payload(seq as u32, len_of(seq)))
                    .unwrap();
            }
            sent = (sent + window).min(TOTAL);
            r.flush().unwrap();
        }
        r.wait(Some(Instant::now() + Duration::from_secs(1)), &mut |c| {
            if let Completion::Datagram {
                socket,
                from,
                payload,
            } = c
            {
                let seq = check_payload(payload) as usize;
                assert_eq!(payload.len(), len_of(seq));
                if socket == b {
                    assert_eq!(from, a_addr);
                    assert!(!seen_b[seq], "{seq} twice at B");
                    seen_b[seq] = true;
                    echoes.push(payload.to_vec());
                } else {
                    assert_eq!(socket, a);
                    assert_eq!(from, b_addr);
                    assert!(!seen_a[seq], "{seq} twice at A");
                    seen_a[seq] = true;
                    back += 1;
                }
            }
        })
        .unwrap();
        for p in echoes.drain(..) {
            r.queue_send(b, a_addr, &p).unwrap();
        }
        r.flush().unwrap();
    }
    let s = r.stats();
    println!("{backend:?} {addr}: {s:?}");
    assert_eq!(s.datagrams_received, 2 * TOTAL as u64);
    assert_eq!(s.datagrams_sent, 2 * TOTAL as u64);
    assert_eq!(s.send_errors + s.send_would_block + s.recv_truncated, 0);
    if r.features().gso {
        assert!(s.gso_batches_sent > 0, "no GSO batch sent");
    }
}

#[test]
fn echo_each_backend_v4_and_v6() {
    for backend in BACKENDS {
        for addr in LOOPBACKS {
            echo(backend, addr);
        }
    }
}
