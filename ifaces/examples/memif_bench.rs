//! Frames per second over an egd↔egd memif: a server thread reads, a
//! client thread writes as fast as the ring takes frames (release build):
//!
//! ```sh
//! cargo run --release -p egd-ifaces --example memif_bench [seconds]
//! ```
//! Prints one line per frame size: frames/s delivered and what the writer
//! had to drop for a full ring.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real threads and clocks
#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use egd_ifaces::{IfaceKind, IfaceSpec, L2Interface, MemifIface, MemifRole};

fn open(role: MemifRole, socket: &std::path::Path) -> MemifIface {
    let mut spec = IfaceSpec::new(IfaceKind::Vpp, format!("{role:?}"), 1, [2, 0, 0, 0, 0, 1]);
    spec.memif.socket = socket.to_path_buf();
    spec.memif.role = role;
    MemifIface::open(&spec).unwrap()
}

fn wait(fd: Option<i32>, ms: i32) {
    let mut pfd = libc::pollfd {
        fd: fd.unwrap_or(-1),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(&mut pfd, 1, ms) };
}

fn run(len: usize, secs: f64) {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("bench.sock");
    let mut server = open(MemifRole::Server, &sock);
    let mut client = open(MemifRole::Client, &sock);
    while !(server.is_connected() && client.is_connected()) {
        server.maintain().unwrap();
        client.maintain().unwrap();
        wait(server.read_fd(), 5);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stop_w = stop.clone();
    let writer = std::thread::spawn(move || {
        let frame = vec![0x5au8; len];
        while !stop_w.load(Ordering::Relaxed) {
            for _ in 0..64 {
                client.write_frame(&frame).unwrap();
            }
        }
        client.stats()
    });
    let mut buf = vec![0u8; 16384];
    let start = Instant::now();
    let mut frames = 0u64;
    while start.elapsed() < Duration::from_secs_f64(secs) {
        while server.read_frame(&mut buf).unwrap().is_some() {
            frames += 1;
        }
        wait(server.read_fd(), 10);
    }
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let w = writer.join().unwrap();
    println!(
        "{len:>5} B: {:>10.0} frames/s ({:.2} Gbit/s); writer dropped {:.1}% for a full ring",
        frames as f64 / elapsed,
        frames as f64 * len as f64 * 8.0 / elapsed / 1e9,
        100.0 * w.dropped_would_block as f64 / (w.tx_frames + w.dropped_would_block).max(1) as f64
    );
}

fn main() {
    let secs = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    for len in [64, 512, 1514, 9000] {
        run(len, secs);
    }
}
