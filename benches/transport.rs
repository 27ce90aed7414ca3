//! Transport (seal+open): `Wg::seal` then `Wg::open` of one message between
//! two established instances, beside raw ring ChaCha20-Poly1305 seal+open of
//! the same payload, in the same run. The ratio is the cost of egd's session
//! layer (peer and index lookup, header, replay window, timers).
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench setup: a panic is a failure report

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use egd::NodeId;
use egd::wg::keys::{private_key_from_random, public_key};
use egd::wg::{MAX_CONTROL_LEN, TAG_LEN, TRANSPORT_HEADER_LEN, Wg, WgTransmit};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

fn base() -> Instant {
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

fn established() -> (Wg, Wg, Instant, NodeId, SocketAddr) {
    let (ka, kb) = (
        private_key_from_random([1; 32]),
        private_key_from_random([2; 32]),
    );
    let (ia, ib) = (NodeId::new(1).unwrap(), NodeId::new(2).unwrap());
    let (sa, sb): (SocketAddr, SocketAddr) = (
        "192.0.2.1:1".parse().unwrap(),
        "192.0.2.2:2".parse().unwrap(),
    );
    let now = base();
    let unix = Duration::from_secs(1_700_000_000);
    let mut a = Wg::new(&ka, [1; 32], now, unix);
    let mut b = Wg::new(&kb, [2; 32], now, unix);
    a.add_peer(ib, &public_key(&kb), None, None);
    b.add_peer(ia, &public_key(&ka), None, None);
    a.initiate(now, ib);
    let mut buf = [0u8; MAX_CONTROL_LEN];
    for _ in 0..3 {
        while let Some(WgTransmit::ToPeer { len, .. }) = a.poll_transmit(&mut buf) {
            b.open(now, sa, &mut buf[..len]);
        }
        while let Some(WgTransmit::ToPeer { len, .. }) = b.poll_transmit(&mut buf) {
            a.open(now, sb, &mut buf[..len]);
        }
    }
    assert!(a.has_session(ib) && b.has_session(ia));
    (a, b, now, ib, sa)
}

fn transport(c: &mut Criterion) {
    let mut group = c.benchmark_group("transport");
    for len in [64usize, 1420] {
        group.throughput(Throughput::Bytes(len as u64));
        let mut buf = vec![0x5au8; TRANSPORT_HEADER_LEN + len + TAG_LEN];
        let payload = TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + len;

        let (mut a, mut b, now, ib, sa) = established();
        group.bench_function(BenchmarkId::new("wg_seal_open", len), |bench| {
            bench.iter(|| {
                let out = a.seal(now, ib, &mut buf, payload.clone()).unwrap();
                black_box(b.open(now, sa, &mut buf[out]))
            })
        });

        let key = |k: u8| LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[k; 32]).unwrap());
        let (send, recv) = (key(7), key(7));
        let mut counter = 0u64;
        let nonce = |c: u64| {
            let mut n = [0u8; 12];
            n[4..].copy_from_slice(&c.to_le_bytes());
            Nonce::assume_unique_for_key(n)
        };
        group.bench_function(BenchmarkId::new("ring_seal_open", len), |bench| {
            bench.iter(|| {
                counter += 1;
                let tag = send
                    .seal_in_place_separate_tag(
                        nonce(counter),
                        Aad::empty(),
                        &mut buf[payload.clone()],
                    )
                    .unwrap();
                buf[payload.end..].copy_from_slice(tag.as_ref());
                let plain = recv
                    .open_in_place(nonce(counter), Aad::empty(), &mut buf[payload.start..])
                    .unwrap();
                black_box(plain.len())
            })
        });
    }
    group.finish();
}

/// Background load on a shared machine moves criterion's absolute numbers
/// between runs; alternating short batches of both loops and taking the
/// median of the per-pair ratios cancels most of it. Printed, not asserted.
#[allow(clippy::print_stdout, clippy::disallowed_methods)]
fn paired_ratio(_: &mut Criterion) {
    const BATCH: u32 = 2_000;
    const PAIRS: usize = 301;
    for len in [64usize, 1420] {
        let (mut a, mut b, now, ib, sa) = established();
        let mut buf = vec![0x5au8; TRANSPORT_HEADER_LEN + len + TAG_LEN];
        let payload = TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + len;
        let key = |k: u8| LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[k; 32]).unwrap());
        let (send, recv) = (key(7), key(7));
        let mut counter = 0u64;
        let mut ratios = Vec::with_capacity(PAIRS);
        for _ in 0..PAIRS {
            let t0 = Instant::now();
            for _ in 0..BATCH {
                let out = a.seal(now, ib, &mut buf, payload.clone()).unwrap();
                black_box(b.open(now, sa, &mut buf[out]));
            }
            let t1 = Instant::now();
            for _ in 0..BATCH {
                counter += 1;
                let mut n = [0u8; 12];
                n[4..].copy_from_slice(&counter.to_le_bytes());
                let tag = send
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(n),
                        Aad::empty(),
                        &mut buf[payload.clone()],
                    )
                    .unwrap();
                buf[payload.end..].copy_from_slice(tag.as_ref());
                let plain = recv
                    .open_in_place(
                        Nonce::assume_unique_for_key(n),
                        Aad::empty(),
                        &mut buf[payload.start..],
                    )
                    .unwrap();
                black_box(plain.len());
            }
            let t2 = Instant::now();
            ratios.push((t1 - t0).as_secs_f64() / (t2 - t1).as_secs_f64());
        }
        ratios.sort_by(f64::total_cmp);
        let median = ratios[PAIRS / 2];
        let (p10, p90) = (ratios[PAIRS / 10], ratios[PAIRS * 9 / 10]);
        println!(
            "transport/paired_ratio/{len}: wg/ring median {median:.3} (p10 {p10:.3}, p90 {p90:.3})"
        );
    }
}

criterion_group!(benches, transport, paired_ratio);
criterion_main!(benches);
