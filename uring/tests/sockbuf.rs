//! `add_udp` raises the kernel socket buffers to `ReactorConfig::socket_buffer`
//! (forced past `net.core.rmem_max` when root, else capped by it), never
//! shrinks them, leaves them alone with 0, and reports the effective sizes in
//! the features line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report

mod common;

use common::{BACKENDS, bind, rcvbuf, reactor};
use egd_uring::ReactorConfig;
use std::net::UdpSocket;

const ASK: usize = 6 << 20;

#[test]
fn buffers_raised_and_reported() {
    for backend in BACKENDS {
        let cfg = ReactorConfig {
            socket_buffer: ASK,
            ..ReactorConfig::default()
        };
        let Some(mut r) = reactor(backend, cfg) else {
            continue;
        };
        let before = rcvbuf(&UdpSocket::bind("127.0.0.1:0").unwrap());
        r.add_udp(UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
        let f = r.features().clone();
        println!("{f}");
        assert!(
            f.recv_socket_buffer >= before && f.send_socket_buffer > 0,
            "{f}"
        );
        if f.socket_buffers_forced {
            // The kernel doubles the request.
            assert_eq!(
                (f.recv_socket_buffer, f.send_socket_buffer),
                (2 * ASK, 2 * ASK),
                "{f}"
            );
        }
        let line = f.to_string();
        assert!(
            line.contains(&format!(" so_rcvbuf={} ", f.recv_socket_buffer)),
            "{line}"
        );
        // A socket whose buffers are larger already keeps them (16 MiB when
        // forced by `bind`); the line reports the smallest.
        let big = bind("127.0.0.1:0");
        let big_size = rcvbuf(&big);
        r.add_udp(big).unwrap();
        assert_eq!(
            r.features().recv_socket_buffer,
            f.recv_socket_buffer.min(big_size)
        );
    }
}

#[test]
fn zero_leaves_buffers_alone() {
    let cfg = ReactorConfig {
        socket_buffer: 0,
        ..ReactorConfig::default()
    };
    for backend in BACKENDS {
        let Some(mut r) = reactor(backend, cfg.clone()) else {
            continue;
        };
        r.add_udp(UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
        assert_eq!(r.features().recv_socket_buffer, 0);
        assert!(r.features().to_string().contains(" so_rcvbuf=0 "));
    }
}

#[test]
fn kernel_drops_at_a_full_socket_are_counted() {
    // Default-sized buffers (no raise) and no `wait`: nothing drains the
    // socket, so most of a burst of small datagrams is dropped by the kernel.
    let cfg = ReactorConfig {
        socket_buffer: 0,
        ..ReactorConfig::default()
    };
    for backend in BACKENDS {
        let Some(mut r) = reactor(backend, cfg.clone()) else {
            continue;
        };
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        r.add_udp(sock).unwrap();
        assert_eq!(r.stats().socket_drops, 0, "{backend:?}");
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        const SENT: u64 = 20_000;
        for _ in 0..SENT {
            tx.send_to(&[0x5a; 64], addr).unwrap();
        }
        let drops = r.stats().socket_drops;
        println!("{backend:?}: {drops} of {SENT} dropped");
        assert!(drops > 0 && drops < SENT, "{backend:?}: {drops}");
    }
}
