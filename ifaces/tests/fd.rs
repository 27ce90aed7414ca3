//! `fd`: frames on descriptors named by EG_FD_RX / EG_FD_TX.
//!
//! The environment is process-wide, so this test binary has exactly one test
//! function: nothing else in this process reads or writes the environment
//! while it runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::os::fd::{AsRawFd, OwnedFd};

use egd_ifaces::{FdIface, IfaceKind, L2Interface};
use rustix::net::{AddressFamily, SocketFlags, SocketType, socketpair};

fn seqpacket_pair() -> (OwnedFd, OwnedFd) {
    socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

fn set_env(rx: Option<&str>, tx: Option<&str>) {
    for (var, value) in [("EG_FD_RX", rx), ("EG_FD_TX", tx)] {
        // SAFETY: this binary's only test runs alone (see the module docs), so
        // no other thread reads or writes the environment concurrently.
        unsafe {
            match value {
                Some(v) => std::env::set_var(var, v),
                None => std::env::remove_var(var),
            }
        }
    }
}

#[test]
fn fd_from_environment() {
    let spec = common::spec(IfaceKind::Fd, "fdif");
    let open_err = || egd_ifaces::open(&spec).err().expect("an error").to_string();

    // Missing or invalid variables are clear errors naming the variable.
    set_env(None, None);
    assert_eq!(open_err(), "fd fdif: EG_FD_RX is not set");
    set_env(Some("abc"), Some("1"));
    assert_eq!(
        open_err(),
        "fd fdif: EG_FD_RX=\"abc\" is not a file descriptor number"
    );
    set_env(Some("-1"), Some("1"));
    assert_eq!(
        open_err(),
        "fd fdif: EG_FD_RX=\"-1\" is not a file descriptor number"
    );
    let (ours, theirs) = seqpacket_pair();
    set_env(Some(&theirs.as_raw_fd().to_string()), None);
    assert_eq!(open_err(), "fd fdif: EG_FD_TX is not set");
    set_env(Some(&theirs.as_raw_fd().to_string()), Some("999999"));
    assert!(open_err().starts_with("fd fdif: EG_FD_TX=999999 is not an open file descriptor: "));

    // One socketpair end for both directions.
    let fd = theirs.as_raw_fd().to_string();
    set_env(Some(&fd), Some(&fd));
    let mut iface = egd_ifaces::open(&spec).unwrap();
    set_env(None, None);
    assert_eq!(iface.name(), "fdif");
    rustix::net::send(
        &ours,
        &common::frame(1, 100),
        rustix::net::SendFlags::empty(),
    )
    .unwrap();
    assert_eq!(common::recv(iface.as_mut()), common::frame(1, 100));
    iface.write_frame(&common::frame(2, 1500)).unwrap();
    let mut buf = [0u8; 2048];
    common::wait_readable(Some(ours.as_raw_fd()), 5000);
    let (n, _) = rustix::net::recv(&ours, &mut buf, rustix::net::RecvFlags::empty()).unwrap();
    assert_eq!(&buf[..n], &common::frame(2, 1500)[..]);
    // Too long: dropped, counted.
    rustix::net::send(
        &ours,
        &common::frame(3, 3000),
        rustix::net::SendFlags::empty(),
    )
    .unwrap();
    rustix::net::send(
        &ours,
        &common::frame(4, 60),
        rustix::net::SendFlags::empty(),
    )
    .unwrap();
    assert_eq!(common::recv(iface.as_mut()), common::frame(4, 60));
    assert_eq!(iface.stats().dropped_too_long, 1);
    // The originals were duplicated, not taken: they are still open and ours.
    drop(iface);
    rustix::net::send(&ours, b"still there", rustix::net::SendFlags::empty()).unwrap();
    let (n, _) = rustix::net::recv(&theirs, &mut buf, rustix::net::RecvFlags::empty()).unwrap();
    assert_eq!(&buf[..n], b"still there");

    // Separate descriptors for each direction; end of input stops reading.
    let (rx_w, rx_r) = seqpacket_pair();
    let (tx_w, tx_r) = seqpacket_pair();
    let mut iface = FdIface::from_fds("fdif2", rx_r, tx_w).unwrap();
    rustix::net::send(
        &rx_w,
        &common::frame(5, 64),
        rustix::net::SendFlags::empty(),
    )
    .unwrap();
    assert_eq!(common::recv(&mut iface), common::frame(5, 64));
    iface.write_frame(&common::frame(6, 64)).unwrap();
    let (n, _) = rustix::net::recv(&tx_r, &mut buf, rustix::net::RecvFlags::empty()).unwrap();
    assert_eq!(&buf[..n], &common::frame(6, 64)[..]);
    drop(rx_w);
    assert!(iface.read_fd().is_some());
    assert_eq!(iface.read_frame(&mut buf).unwrap(), None);
    assert_eq!(iface.read_fd(), None, "never readable after end of input");
    // Writing still works after input ended.
    iface.write_frame(&common::frame(7, 64)).unwrap();
    let (n, _) = rustix::net::recv(&tx_r, &mut buf, rustix::net::RecvFlags::empty()).unwrap();
    assert_eq!(&buf[..n], &common::frame(7, 64)[..]);
    // The reader gone: dropped as disconnected, not an error.
    drop(tx_r);
    iface.write_frame(&common::frame(8, 64)).unwrap();
    assert_eq!(iface.stats().dropped_disconnected, 1);
}
