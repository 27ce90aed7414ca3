//! `unixgramsock`: pairs of SOCK_DGRAM unix sockets in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use egd_ifaces::{DatagramIface, IfaceKind, L2Interface, SockSpec};

#[test]
fn unixgramsock_pair_with_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    let mut a = common::spec(IfaceKind::UnixGramSock, "a");
    a.recv_addr = Some(SockSpec::Unix(pa.clone()));
    a.send_addr = Some(SockSpec::Unix(pb.clone()));
    let mut b = common::spec(IfaceKind::UnixGramSock, "b");
    b.recv_addr = Some(SockSpec::Unix(pb.clone()));
    b.send_addr = Some(SockSpec::Unix(pa.clone()));
    let mut a = DatagramIface::open(&a).unwrap();
    // B is not there yet: nobody bound at its path, dropped as disconnected.
    a.write_frame(&common::frame(0, 60)).unwrap();
    assert_eq!(a.stats().dropped_disconnected, 1);
    let mut b = DatagramIface::open(&b).unwrap();

    a.write_frame(&common::frame(1, 60)).unwrap();
    assert_eq!(common::recv(&mut b), common::frame(1, 60));
    b.write_frame(&common::frame(2, 1500)).unwrap();
    assert_eq!(common::recv(&mut a), common::frame(2, 1500));
    // Too long for the reader's buffer.
    b.write_frame(&common::frame(3, 4000)).unwrap();
    b.write_frame(&common::frame(4, 100)).unwrap();
    assert_eq!(common::recv(&mut a), common::frame(4, 100));
    assert_eq!(a.stats().dropped_too_long, 1);

    drop((a, b));
    assert!(
        !pa.exists() && !pb.exists(),
        "socket files are removed on drop"
    );
}

#[test]
fn unixgramsock_answers_an_autobound_sender() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.sock");
    // The server has no SendAddr: it answers whoever wrote last.
    let mut s = common::spec(IfaceKind::UnixGramSock, "server");
    s.recv_addr = Some(SockSpec::Unix(path.clone()));
    let mut server = DatagramIface::open(&s).unwrap();
    // The client has no RecvAddr: it is autobound to an abstract address.
    let mut c = common::spec(IfaceKind::UnixGramSock, "client");
    c.send_addr = Some(SockSpec::Unix(path));
    let mut client = DatagramIface::open(&c).unwrap();

    client.write_frame(&common::frame(1, 70)).unwrap();
    assert_eq!(common::recv(&mut server), common::frame(1, 70));
    server.write_frame(&common::frame(2, 70)).unwrap();
    assert_eq!(common::recv(&mut client), common::frame(2, 70));
}

#[test]
fn unixgramsock_takes_over_a_stale_socket_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixDatagram::bind(&path).unwrap());
    let mut s = common::spec(IfaceKind::UnixGramSock, "g");
    s.recv_addr = Some(SockSpec::Unix(path.clone()));
    let live = DatagramIface::open(&s).unwrap();
    let e = DatagramIface::open(&s).unwrap_err().to_string();
    assert!(e.contains("in use"), "{e}");
    drop(live);
    assert!(!path.exists());
}
