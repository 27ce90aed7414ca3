//! Helpers shared by the integration tests: loopback sockets, one-way delay
//! measurement, and waiting for the link's counters. Everything stays on
//! 127.0.0.1.
#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real sockets, threads and clocks

use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use egd_linkemu::{Link, LinkConfig, LinkStats, StampedSocket};

/// `127.0.0.1:0`: the kernel picks a free port.
pub fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A loopback socket that gives up waiting after `timeout`.
pub fn socket(timeout: Duration) -> UdpSocket {
    let socket = UdpSocket::bind(any_port()).unwrap();
    socket.set_read_timeout(Some(timeout)).unwrap();
    socket
}

/// A link in front of `b_peer` on loopback, with `edit` applied to the
/// ideal config.
pub fn link_to(b_peer: &UdpSocket, edit: impl FnOnce(&mut LinkConfig)) -> Link {
    let mut config = LinkConfig::new(any_port(), any_port(), b_peer.local_addr().unwrap());
    config.seed = 42;
    edit(&mut config);
    Link::spawn(config).unwrap()
}

/// The next datagram on `socket` (payload, sender), or `None` after its
/// read timeout.
pub fn recv(socket: &UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = [0u8; 65_536];
    let (len, from) = socket.recv_from(&mut buf).ok()?;
    Some((buf[..len].to_vec(), from))
}

/// Polls `stats` until `done` holds, for up to 5 s; returns the last
/// snapshot either way (the caller's asserts then say what is missing).
pub fn wait_for_stats(link: &Link, done: impl Fn(&LinkStats) -> bool) -> LinkStats {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = link.stats();
        if done(&stats) || Instant::now() > deadline {
            return stats;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Sends `count` datagrams (each carrying its index) from `from` to `to`,
/// `gap` apart, while a second thread reads them on `at`. Returns each
/// delivered datagram's one-way time, in arrival order, with its index.
///
/// The send time is stamped just before `send_to`; the arrival time is the
/// kernel's receive stamp on `at` ([`StampedSocket`]), so the test's own
/// receiving thread waking late on a busy machine does not count against the
/// link. Both errors that remain (preemption between stamp and send, clock
/// conversion) can only make the measured time longer, never shorter.
pub fn one_way(
    from: &UdpSocket,
    to: SocketAddr,
    at: &UdpSocket,
    count: usize,
    gap: Duration,
) -> Vec<(usize, Duration)> {
    let mut stamped = StampedSocket::new(at.try_clone().unwrap()).unwrap();
    let mut sent = vec![None; count];
    let arrivals = thread::scope(|scope| {
        let receiver = scope.spawn(move || {
            let mut arrivals = Vec::new();
            let mut buf = [0u8; 64];
            while arrivals.len() < count {
                let Ok((len, _, arrived)) = stamped.recv_from(&mut buf) else {
                    break;
                };
                if len == 8 {
                    let index = u64::from_be_bytes(buf[..8].try_into().unwrap());
                    arrivals.push((index as usize, arrived));
                }
            }
            arrivals
        });
        for (index, slot) in sent.iter_mut().enumerate() {
            *slot = Some(Instant::now());
            from.send_to(&(index as u64).to_be_bytes(), to).unwrap();
            thread::sleep(gap);
        }
        receiver.join().unwrap()
    });
    arrivals
        .into_iter()
        .filter_map(|(index, at)| Some((index, at.saturating_duration_since((*sent.get(index)?)?))))
        .collect()
}

/// Summary of one-way times.
#[derive(Debug)]
pub struct Summary {
    pub count: usize,
    pub min: Duration,
    pub mean: Duration,
    pub median: Duration,
    pub p99: Duration,
    pub max: Duration,
}

pub fn summary(samples: &[(usize, Duration)]) -> Summary {
    let mut times: Vec<Duration> = samples.iter().map(|&(_, t)| t).collect();
    assert!(!times.is_empty(), "nothing arrived");
    times.sort();
    let count = times.len();
    let rank = |q: f64| times[((count as f64 * q).ceil() as usize).clamp(1, count) - 1];
    Summary {
        count,
        min: times[0],
        mean: times.iter().sum::<Duration>() / count as u32,
        median: rank(0.5),
        p99: rank(0.99),
        max: times[count - 1],
    }
}

/// Arrival-order inversions: how many datagrams arrived after one with a
/// higher index.
pub fn inversions(samples: &[(usize, Duration)]) -> usize {
    let mut highest = None;
    let mut count = 0;
    for &(index, _) in samples {
        match highest {
            Some(h) if index < h => count += 1,
            _ => highest = Some(index),
        }
    }
    count
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
