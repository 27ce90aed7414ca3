//! Error paths: a send the kernel refuses (IPv6 destination on an IPv4
//! socket: EAFNOSUPPORT, never leaves the host) is counted, not fatal, and
//! does not disturb GSO; `queue_send` refuses oversize payloads and sockets
//! the reactor does not know, through each backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report
// Tests bound their waits with wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{BACKENDS, bind, collect, payload, reactor};
use egd_uring::{Backend, ReactorConfig};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn refused_send_is_counted(backend: Backend) {
    let Some(mut r) = reactor(backend, ReactorConfig::default()) else {
        return;
    };
    let v4 = r.add_udp(bind("127.0.0.1:0")).unwrap();
    let rx = r.add_udp(bind("127.0.0.1:0")).unwrap();
    let to = r.local_addr(rx).unwrap();
    let wrong_family: SocketAddr = "[::1]:9".parse().unwrap();
    for seq in 0..3 {
        r.queue_send(v4, wrong_family, &payload(seq, 100)).unwrap(); // a GSO group
    }
    r.queue_send(v4, to, &payload(3, 100)).unwrap();
    r.flush().unwrap();
    let got = collect(&mut *r, 1, Duration::from_secs(5));
    assert_eq!(got.len(), 1);
    // Let io_uring report the failed send.
    r.wait(
        Some(Instant::now() + Duration::from_millis(20)),
        &mut |_| {},
    )
    .unwrap();
    let st = r.stats();
    assert_eq!(st.send_errors, 3, "{st:?}");
    assert_eq!(st.datagrams_sent, 1, "{st:?}");
    assert_eq!(
        st.gso_disabled, 0,
        "EAFNOSUPPORT is not a GSO refusal: {st:?}"
    );
}

fn bad_arguments_are_refused(backend: Backend) {
    let cfg = ReactorConfig {
        send_buffer_len: 1500,
        ..ReactorConfig::default()
    };
    let Some(mut r) = reactor(backend, cfg.clone()) else {
        return;
    };
    let s = r.add_udp(bind("127.0.0.1:0")).unwrap();
    let to = r.local_addr(s).unwrap();
    let err = r.queue_send(s, to, &[0; 1501]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    r.queue_send(s, to, &[0; 1500]).unwrap();

    // An id from another reactor with more sockets.
    let (mut other, _) = egd_uring::new_reactor(backend, cfg).unwrap();
    other.add_udp(bind("127.0.0.1:0")).unwrap();
    let foreign = other.add_udp(bind("127.0.0.1:0")).unwrap();
    let err = r.queue_send(foreign, to, &[0; 10]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        r.local_addr(foreign).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    r.flush().unwrap();
    assert_eq!(collect(&mut *r, 1, Duration::from_secs(5)).len(), 1);
}

#[test]
fn refused_sends_are_counted_not_fatal() {
    for backend in BACKENDS {
        refused_send_is_counted(backend);
    }
}

#[test]
fn oversize_and_foreign_sockets_are_refused() {
    for backend in BACKENDS {
        bad_arguments_are_refused(backend);
    }
}
