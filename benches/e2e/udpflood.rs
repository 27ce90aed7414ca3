//! UDP packet-rate generator for `benches/e2e/run.sh`'s `udp64` test.
//!
//!   udpflood DST:PORT SECONDS [PAYLOAD_BYTES]      (payload default 64)
//!
//! Sends datagrams of one size to one address from one thread, as fast as
//! the kernel takes them, for SECONDS, then prints `sent N failed M`.
//! `run.sh` builds it with plain `rustc` (std only, not part of the
//! workspace) and counts what arrives at the far end on the receiving
//! interface, so this side only has to be faster than the tunnel under
//! test: iperf3's UDP mode tops out near 100 k datagrams/s on the project
//! VM (shared/spec/BENCHMARKS.md), a plain `send` loop goes several times
//! higher.
//!
//! The socket is connected (no route lookup per datagram). Failed sends
//! (ENOBUFS when a device queue is full, ECONNREFUSED after an ICMP port
//! unreachable from the sink) are counted, not fatal: the measurement is
//! what arrives.

// A load generator: timing the run is its job, and its one line of output
// is its result.
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Sends between two clock reads: one `Instant::now` per datagram would
/// cost a visible share of the ~1 µs a send takes.
const BATCH: u32 = 256;

fn run(args: &[String]) -> Result<(u64, u64), String> {
    let [dst, secs, rest @ ..] = args else {
        return Err("usage: udpflood DST:PORT SECONDS [PAYLOAD_BYTES]".into());
    };
    let dst: SocketAddr = dst.parse().map_err(|e| format!("{dst}: {e}"))?;
    let secs: f64 = secs.parse().map_err(|e| format!("{secs}: {e}"))?;
    let len: usize = match rest.first() {
        Some(s) => s.parse().map_err(|e| format!("{s}: {e}"))?,
        None => 64,
    };
    let local = if dst.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let sock = UdpSocket::bind(local).map_err(|e| format!("bind: {e}"))?;
    sock.connect(dst)
        .map_err(|e| format!("connect {dst}: {e}"))?;
    let payload = vec![0x5a_u8; len];
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let (mut sent, mut failed) = (0_u64, 0_u64);
    while Instant::now() < end {
        for _ in 0..BATCH {
            match sock.send(&payload) {
                Ok(_) => sent += 1,
                Err(_) => failed += 1,
            }
        }
    }
    Ok((sent, failed))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok((sent, failed)) => {
            println!("sent {sent} failed {failed}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("udpflood: {e}");
            ExitCode::from(2)
        }
    }
}
