//! Backend selection: when io_uring is unavailable (simulated here: the
//! tests must not change the machine's `kernel.io_uring_disabled`), asking
//! for io_uring gives the std backend and a warning for the daemon to print;
//! that reactor works. Asking for std gives std without a warning.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report

mod common;

use common::{bind, collect, payload};
use egd_uring::{Backend, ReactorConfig, new_reactor};
use std::time::Duration;

#[test]
fn unavailable_uring_falls_back_to_std_with_a_warning() {
    let cfg = ReactorConfig {
        force_unavailable_for_tests: true,
        ..ReactorConfig::default()
    };
    let (mut r, warning) = new_reactor(Backend::Uring, cfg).unwrap();
    let warning = warning.expect("a warning");
    println!("warning: {warning}");
    assert!(warning.contains("io_uring unavailable"), "{warning}");
    assert!(warning.contains("std backend"), "{warning}");
    assert_eq!(r.features().backend, Backend::Std);
    assert!(r.features().to_string().starts_with("backend=std"));

    let a = r.add_udp(bind("127.0.0.1:0")).unwrap();
    let b = r.add_udp(bind("127.0.0.1:0")).unwrap();
    let to = r.local_addr(b).unwrap();
    for seq in 0..10 {
        r.queue_send(a, to, &payload(seq, 100)).unwrap();
    }
    r.flush().unwrap();
    let got = collect(&mut *r, 10, Duration::from_secs(5));
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|g| g.socket == b && g.payload.len() == 100));
}

#[test]
fn std_on_request_without_warning() {
    let (r, warning) = new_reactor(Backend::Std, ReactorConfig::default()).unwrap();
    assert!(warning.is_none());
    assert_eq!(r.features().backend, Backend::Std);
}

#[test]
fn invalid_config_is_an_error_not_a_fallback() {
    let cfg = ReactorConfig {
        recv_buffers: 1000,
        ..ReactorConfig::default()
    };
    let err = new_reactor(Backend::Uring, cfg).err().expect("an error");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn uring_when_available() {
    let (r, warning) = new_reactor(Backend::Uring, ReactorConfig::default()).unwrap();
    match warning {
        Some(w) => println!("skipping: {w}"),
        None => {
            let f = r.features();
            println!("reactor: {f}");
            assert_eq!(f.backend, Backend::Uring);
            assert!(f.multishot_recvmsg && f.buf_ring && f.multishot_poll);
            // UDP GRO since Linux 5.0, and the default buffers hold a train.
            assert!(f.gro, "{f}");
            if f.defer_taskrun {
                assert!(f.single_issuer, "DEFER_TASKRUN requires SINGLE_ISSUER");
            }
        }
    }
}
