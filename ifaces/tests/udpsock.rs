//! `udpsock` over loopback: a fixed SendAddr, a learned peer, too-long
//! datagrams, and the errors that name the setting.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::net::SocketAddr;

use egd_ifaces::{DatagramIface, IfaceKind, L2Interface, SockSpec};

fn local(iface: &DatagramIface) -> SocketAddr {
    iface.local_addr().unwrap().expect("an IP socket")
}

#[test]
fn udpsock_pair_on_loopback() {
    // A binds and learns its peer from what it receives (no SendAddr).
    let mut a = common::spec(IfaceKind::UdpSock, "a");
    a.recv_addr = Some(SockSpec::Inet("127.0.0.1:0".parse().unwrap()));
    let mut a = DatagramIface::open(&a).unwrap();
    assert!(a.maintain_interval().is_none());

    // Nobody to send to yet: dropped as disconnected.
    a.write_frame(&common::frame(0, 60)).unwrap();
    assert_eq!(a.stats().dropped_disconnected, 1);

    // B sends to A from an ephemeral port (no RecvAddr).
    let mut b = common::spec(IfaceKind::UdpSock, "b");
    b.send_addr = Some(SockSpec::Inet(local(&a)));
    let mut b = DatagramIface::open(&b).unwrap();

    b.write_frame(&common::frame(1, 60)).unwrap();
    assert_eq!(common::recv(&mut a), common::frame(1, 60));
    // A answers the source it learned.
    a.write_frame(&common::frame(2, 1500)).unwrap();
    assert_eq!(common::recv(&mut b), common::frame(2, 1500));

    // Longer than the reader's buffer (2048): dropped whole, counted; the next arrives.
    b.write_frame(&common::frame(3, 3000)).unwrap();
    b.write_frame(&common::frame(4, 100)).unwrap();
    assert_eq!(common::recv(&mut a), common::frame(4, 100));
    assert_eq!(a.stats().dropped_too_long, 1);

    // One datagram is one frame, however many are queued.
    for i in 0..50u8 {
        b.write_frame(&common::frame(i, 60 + usize::from(i)))
            .unwrap();
    }
    for i in 0..50u8 {
        assert_eq!(common::recv(&mut a), common::frame(i, 60 + usize::from(i)));
    }
    common::assert_silent(&mut a);
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(sa.rx_frames, 52);
    assert_eq!(sb.tx_frames, 53);
    assert_eq!(sb.rx_frames, 1);
}

#[test]
fn udpsock_fixed_send_addr_on_both_sides() {
    // A first binds an ephemeral port so that B can be told where A is.
    let mut a = common::spec(IfaceKind::UdpSock, "a");
    a.recv_addr = Some(SockSpec::Inet("127.0.0.1:0".parse().unwrap()));
    let a = DatagramIface::open(&a).unwrap();
    let mut b = common::spec(IfaceKind::UdpSock, "b");
    b.recv_addr = Some(SockSpec::Inet("127.0.0.1:0".parse().unwrap()));
    b.send_addr = Some(SockSpec::Inet(local(&a)));
    let mut b = DatagramIface::open(&b).unwrap();
    // A again on the same port, now with B as its SendAddr: it can send
    // before hearing anything.
    let mut a2 = common::spec(IfaceKind::UdpSock, "a");
    a2.recv_addr = Some(SockSpec::Inet(local(&a)));
    a2.send_addr = Some(SockSpec::Inet(local(&b)));
    drop(a);
    let mut a = DatagramIface::open(&a2).unwrap();
    a.write_frame(&common::frame(1, 80)).unwrap();
    assert_eq!(common::recv(&mut b), common::frame(1, 80));
    b.write_frame(&common::frame(2, 80)).unwrap();
    assert_eq!(common::recv(&mut a), common::frame(2, 80));
}

#[test]
fn udpsock_errors_name_the_setting() {
    let s = common::spec(IfaceKind::UdpSock, "u");
    assert_eq!(
        DatagramIface::open(&s).unwrap_err().to_string(),
        "udpsock u: needs RecvAddr or SendAddr"
    );
    let mut s = common::spec(IfaceKind::UdpSock, "u");
    s.send_addr = Some(SockSpec::Unix("/tmp/nope".into()));
    assert_eq!(
        DatagramIface::open(&s).unwrap_err().to_string(),
        "udpsock u: SendAddr /tmp/nope is not an IP address"
    );
    // A port in use.
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut s = common::spec(IfaceKind::UdpSock, "u");
    s.recv_addr = Some(SockSpec::Inet(taken.local_addr().unwrap()));
    let e = DatagramIface::open(&s).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "udpsock u: bind {}: ",
            taken.local_addr().unwrap()
        )),
        "{e}"
    );
    assert_eq!(e.io_kind(), Some(std::io::ErrorKind::AddrInUse));
}
