//! Loopback datagrams/s through each backend, 64 B and 1400 B payloads: one
//! reactor, socket A queues `BATCH` equal datagrams to socket B (so they go
//! out as GSO batches where the kernel has GSO), flushes, and waits until
//! all are in. Each case runs with the default config (UDP GRO: trains
//! arrive coalesced, 256 × 64 KiB receive buffers) and with the old one
//! (`nogro`: 1024 × 2 KiB buffers, too small for GRO, so the kernel splits
//! every train and the receive is per datagram).
//!
//! `cargo bench -p egd-uring --bench udp`. Numbers on shared VMs are noisy;
//! compare backends within one run.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// bench code: a panic is a failure report
// The bench bounds each round with a wall-clock deadline.
#![allow(clippy::disallowed_methods)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use egd_uring::{Backend, Completion, ReactorConfig, new_reactor};
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const BATCH: usize = 256;

fn bind() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Room for a whole batch in flight (root: SO_RCVBUFFORCE).
    let size: libc::c_int = 16 << 20;
    // SAFETY: `size` is a valid c_int for the duration of the call.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&raw const size).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    s
}

fn udp(c: &mut Criterion) {
    let mut group = c.benchmark_group("udp_loopback");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.measurement_time(Duration::from_secs(4));
    let nogro = ReactorConfig {
        recv_buffers: 1024,
        recv_buffer_len: 2048,
        ..ReactorConfig::default()
    };
    let configs = [("gro", ReactorConfig::default()), ("nogro", nogro)];
    for size in [64usize, 1400] {
        for backend in [Backend::Uring, Backend::Std] {
            for (label, cfg) in &configs {
                let (mut r, warning) = new_reactor(backend, cfg.clone()).unwrap();
                if let Some(w) = warning {
                    eprintln!("skipping {backend}: {w}");
                    continue;
                }
                let a = r.add_udp(bind()).unwrap();
                let b = r.add_udp(bind()).unwrap();
                let to = r.local_addr(b).unwrap();
                let payload = vec![0xa5u8; size];
                let mut lost = 0;
                let id = format!("{}/{label}", backend.name());
                group.bench_function(BenchmarkId::new(id, size), |bench| {
                    bench.iter(|| {
                        for _ in 0..BATCH {
                            r.queue_send(a, to, &payload).unwrap();
                        }
                        r.flush().unwrap();
                        let deadline = Instant::now() + Duration::from_secs(1);
                        let mut got = 0;
                        while got < BATCH {
                            if Instant::now() >= deadline {
                                lost += BATCH - got;
                                break;
                            }
                            r.wait(Some(deadline), &mut |c| {
                                if let Completion::Datagram { .. } = c {
                                    got += 1;
                                }
                            })
                            .unwrap();
                        }
                    });
                });
                eprintln!("{backend} {label} {size} B: lost {lost}; {:?}", r.stats());
            }
        }
    }
    group.finish();
}

criterion_group!(benches, udp);
criterion_main!(benches);
