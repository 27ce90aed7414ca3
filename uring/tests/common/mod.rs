//! Helpers shared by the integration tests (loopback only).
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
// test code: a panic is a failure report
// Tests measure wall-clock time to bound waits and check timeouts.
#![allow(clippy::disallowed_methods)]

use egd_uring::{Backend, Completion, Reactor, ReactorConfig, SocketId, new_reactor};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

pub const BACKENDS: [Backend; 2] = [Backend::Uring, Backend::Std];
pub const LOOPBACKS: [&str; 2] = ["127.0.0.1:0", "[::1]:0"];

/// A reactor of exactly `backend`, or `None` (with the reason printed) when
/// this kernel cannot run io_uring: real-kernel tests skip only then.
pub fn reactor(backend: Backend, cfg: ReactorConfig) -> Option<Box<dyn Reactor>> {
    let (r, warning) = new_reactor(backend, cfg).expect("reactor");
    if let Some(w) = warning {
        assert_eq!(backend, Backend::Uring);
        println!("skipping the io_uring case: {w}");
        return None;
    }
    assert_eq!(r.features().backend, backend);
    println!("reactor: {}", r.features());
    Some(r)
}

/// A loopback UDP socket with a receive buffer large enough that loopback
/// tests lose nothing (SO_RCVBUFFORCE as root, else the capped SO_RCVBUF).
pub fn bind(addr: &str) -> UdpSocket {
    let s = UdpSocket::bind(addr).expect("bind");
    let size: libc::c_int = 16 << 20;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: `size` is a valid c_int for the duration of the call.
        let r = unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&raw const size).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            break;
        }
    }
    s
}

/// The effective receive buffer of a socket, in bytes.
pub fn rcvbuf(s: &UdpSocket) -> usize {
    let mut val: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `val`/`len` are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&raw mut val).cast(),
            &mut len,
        )
    };
    assert_eq!(r, 0);
    val as usize
}

/// The recognisable payload of datagram `seq`: its number, then a pattern.
pub fn payload(seq: u32, len: usize) -> Vec<u8> {
    let mut p: Vec<u8> = (0..len).map(|i| (seq as usize + i * 7) as u8).collect();
    if len >= 4 {
        p[..4].copy_from_slice(&seq.to_be_bytes());
    }
    p
}

/// The sequence number of a payload made by `payload`, checking the pattern.
pub fn check_payload(p: &[u8]) -> u32 {
    assert!(p.len() >= 4, "short payload {}", p.len());
    let seq = u32::from_be_bytes(p[..4].try_into().unwrap());
    assert_eq!(p, &payload(seq, p.len())[..], "payload of {seq} corrupted");
    seq
}

/// A received datagram, copied out of the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub socket: SocketId,
    pub from: SocketAddr,
    pub payload: Vec<u8>,
}

/// Wait (repeatedly) until `n` datagrams arrived or `limit` passed.
pub fn collect(r: &mut dyn Reactor, n: usize, limit: Duration) -> Vec<Got> {
    let end = Instant::now() + limit;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < end {
        r.wait(Some(end), &mut |c| {
            if let Completion::Datagram {
                socket,
                from,
                payload,
            } = c
            {
                got.push(Got {
                    socket,
                    from,
                    payload: payload.to_vec(),
                });
            }
        })
        .expect("wait");
    }
    got
}
