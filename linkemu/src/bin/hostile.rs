//! `hostile`: the hostile-traffic generator for egd's robustness tests.
//!
//! - `hostile send --mode garbage|truncated|oversized|initiations` (or
//!   `--replay FILE`) `--target ADDR[=PUBKEY] … --rate N --duration SECS`
//!   sends round-robin to the targets (a replay sends every recorded
//!   datagram to every target), at N packets a second in all (0: as fast as
//!   it can), prints one `target ADDR packets=N` line per target and a final
//!   `sent mode=… packets=… seconds=… rate=… send_errors=… replies=…
//!   cookie_replies=… cpu_seconds=…` line. `PUBKEY` (base64) is the target's
//!   static public key; initiations need it for a valid mac1. Replies (the
//!   cookie replies of a responder under load) are counted, not answered.
//! - `hostile capture --port P … --duration SECS --max N --out FILE` records
//!   UDP payloads to or from those ports on every interface of the current
//!   network namespace (root; an `AF_PACKET` socket), printing `capturing`
//!   once it sees packets and at the end
//!   `captured datagrams=N handshake=H transport=T`.
//!
//! Exit status: 0 on success, 1 on an I/O error, 2 for a bad command line.

#![forbid(unsafe_code)]
// A test tool that paces sends on the wall clock and runs a reader thread.
#![allow(clippy::disallowed_methods)]

use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use clap::{Parser, Subcommand};
use egd_linkemu::hostile::{Crafter, MAX_DATAGRAM, Mode, Pacer, TargetKey, capture};

/// Hostile traffic for egd's robustness tests: garbage, truncated and
/// oversized datagrams, replays, handshake-initiation floods.
#[derive(Debug, Parser)]
#[command(name = "hostile", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send hostile datagrams to the targets.
    Send {
        /// garbage | truncated | oversized | initiations.
        #[arg(long, required_unless_present = "replay", conflicts_with = "replay")]
        mode: Option<Mode>,
        /// Send the datagrams recorded by `capture` instead, verbatim.
        #[arg(long, value_name = "FILE")]
        replay: Option<PathBuf>,
        /// ADDR or ADDR=PUBKEY (base64); repeat for several targets.
        #[arg(long, value_name = "ADDR[=PUBKEY]", required = true, value_parser = parse_target)]
        target: Vec<Target>,
        /// Packets a second over all targets; 0 sends as fast as possible.
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        /// How long to send, in seconds.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Seed of the random contents.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Record UDP payloads to or from some ports in this network namespace.
    Capture {
        #[arg(long, value_name = "PORT", required = true)]
        port: Vec<u16>,
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Keep at most this many distinct datagrams.
        #[arg(long, default_value_t = 10_000)]
        max: usize,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    key: Option<TargetKey>,
}

/// Why a `--target` was refused.
#[derive(Debug, thiserror::Error)]
enum TargetError {
    #[error("{0:?}: {1}")]
    Addr(String, std::net::AddrParseError),
    #[error("public key {0:?}: {1}")]
    KeyBase64(String, base64::DecodeError),
    #[error("public key {0:?}: not 32 bytes")]
    KeyLen(String),
}

/// Why a run failed (printed after `hostile: `).
#[derive(Debug, thiserror::Error)]
enum RunError {
    /// `what` names the operation or file.
    #[error("{what}: {error}")]
    Io { what: String, error: io::Error },
    #[error("{}: no datagrams", .0.display())]
    EmptyReplay(PathBuf),
}

/// Wraps an `io::Error` with what failed.
fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> RunError {
    let what = what.into();
    move |error| RunError::Io { what, error }
}

fn parse_target(text: &str) -> Result<Target, TargetError> {
    let (addr, key) = match text.split_once('=') {
        Some((a, k)) => (a, Some(k)),
        None => (text, None),
    };
    let addr = addr
        .parse()
        .map_err(|e| TargetError::Addr(addr.to_owned(), e))?;
    let key = match key {
        None => None,
        Some(k) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(k)
                .map_err(|e| TargetError::KeyBase64(k.to_owned(), e))?;
            let public: [u8; 32] = bytes
                .try_into()
                .map_err(|_| TargetError::KeyLen(k.to_owned()))?;
            Some(TargetKey::from_public(&public))
        }
    };
    Ok(Target { addr, key })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Send {
            mode,
            replay,
            target,
            rate,
            duration,
            seed,
        } => send(mode, replay, &target, rate, duration, seed),
        Command::Capture {
            port,
            duration,
            max,
            out,
        } => record(&port, duration, max, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hostile: {message}");
            ExitCode::FAILURE
        }
    }
}

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

fn out(line: &str) -> Result<(), RunError> {
    let mut o = io::stdout().lock();
    writeln!(o, "{line}")
        .and_then(|()| o.flush())
        .map_err(io_err("stdout"))
}

/// What the reader thread counted.
#[derive(Debug, Default)]
struct Replies {
    all: AtomicU64,
    cookie: AtomicU64,
}

fn send(
    mode: Option<Mode>,
    replay: Option<PathBuf>,
    targets: &[Target],
    rate: f64,
    duration: f64,
    seed: u64,
) -> Result<(), RunError> {
    let recorded = match &replay {
        Some(path) => {
            let d = capture::read(path).map_err(io_err(path.display().to_string()))?;
            if d.is_empty() {
                return Err(RunError::EmptyReplay(path.clone()));
            }
            d
        }
        None => Vec::new(),
    };
    let socket = UdpSocket::bind("0.0.0.0:0").map_err(io_err("bind"))?;
    let (stop, replies) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Replies::default()),
    );
    let reader = {
        let socket = socket.try_clone().map_err(io_err("socket"))?;
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .map_err(io_err("socket"))?;
        let (stop, replies) = (Arc::clone(&stop), Arc::clone(&replies));
        std::thread::spawn(move || count_replies(&socket, &stop, &replies))
    };
    let mut crafter = mode.map(|m| Crafter::new(m, seed));
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut per_target = vec![0u64; targets.len()];
    let (mut sent, mut errors) = (0u64, 0u64);
    let mut pacer = Pacer::new(Some(rate));
    let start = Instant::now();
    let end = start + seconds(duration);
    let mut i = 0usize;
    loop {
        // The clock is read every 64 packets: at full speed it is a
        // noticeable share of the cost of a send.
        if i.is_multiple_of(64) && Instant::now() >= end {
            break;
        }
        pacer.wait();
        let t = i % targets.len();
        let target = &targets[t];
        let datagram = match crafter.as_mut() {
            Some(c) => {
                let len = c.next(target.key.as_ref(), &mut buf);
                &buf[..len]
            }
            None => recorded[(i / targets.len()) % recorded.len()].as_slice(),
        };
        match socket.send_to(datagram, target.addr) {
            Ok(_) => {
                sent += 1;
                per_target[t] += 1;
            }
            Err(_) => errors += 1,
        }
        i += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Replies still in flight get a moment to arrive.
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    for (t, n) in targets.iter().zip(&per_target) {
        out(&format!("target {} packets={n}", t.addr))?;
    }
    let what = match (mode, &replay) {
        (Some(m), _) => format!("{m:?}").to_lowercase(),
        (None, _) => "replay".to_owned(),
    };
    out(&format!(
        "sent mode={what} packets={sent} seconds={elapsed:.3} rate={:.0} send_errors={errors} replies={} cookie_replies={} cpu_seconds={:.2}",
        sent as f64 / elapsed.max(1e-9),
        replies.all.load(Ordering::Relaxed),
        replies.cookie.load(Ordering::Relaxed),
        own_cpu_seconds().unwrap_or(f64::NAN),
    ))
}

fn count_replies(socket: &UdpSocket, stop: &AtomicBool, replies: &Replies) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        if let Ok((len, _)) = socket.recv_from(&mut buf) {
            replies.all.fetch_add(1, Ordering::Relaxed);
            if len == 64 && buf[..4] == [3, 0, 0, 0] {
                replies.cookie.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// utime + stime of this process from /proc/self/stat, in seconds (the
/// kernel reports them in USER_HZ, which is 100 on Linux).
fn own_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command name: state is field 3, utime 14 and stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn record(
    ports: &[u16],
    duration: f64,
    max: usize,
    path: &std::path::Path,
) -> Result<(), RunError> {
    let sniffer = capture::Sniffer::open().map_err(io_err("capture (needs root)"))?;
    out("capturing")?;
    let datagrams = sniffer
        .run(ports, seconds(duration), max)
        .map_err(io_err("capture"))?;
    capture::write(path, &datagrams).map_err(io_err(path.display().to_string()))?;
    let handshake = datagrams
        .iter()
        .filter(|d| matches!(d.get(..4), Some([1..=3, 0, 0, 0])))
        .count();
    let transport = datagrams
        .iter()
        .filter(|d| d.get(..4) == Some(&[4, 0, 0, 0][..]))
        .count();
    out(&format!(
        "captured datagrams={} handshake={handshake} transport={transport}",
        datagrams.len()
    ))
}
