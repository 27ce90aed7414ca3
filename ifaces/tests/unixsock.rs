//! `unixsock`: the shared connection suite over a socket file in a temporary
//! directory, plus the socket file's life cycle.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use egd_ifaces::{IfaceKind, L2Interface, SockSpec, StreamIface};

#[test]
fn unixsock_connection_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("egd.sock");
    let dial = path.clone();
    common::stream_suite(
        IfaceKind::UnixSock,
        SockSpec::Unix(path.clone()),
        move |_| SockSpec::Unix(dial.clone()),
    );
    // Every listener removed its socket file when dropped.
    assert!(!path.exists());
}

#[test]
fn unixsock_abstract_name() {
    let name = format!("@{}", common::unique("egd-ifaces-test-"));
    let mut s = common::spec(IfaceKind::UnixSock, "abstract-server");
    s.recv_addr = Some(SockSpec::Unix(name.clone().into()));
    let mut server = StreamIface::open(&s).unwrap();
    let mut c = common::spec(IfaceKind::UnixSock, "abstract-client");
    c.send_addr = Some(SockSpec::Unix(name.into()));
    let mut client = StreamIface::open(&c).unwrap();
    common::connect_both(&mut server, &mut client);
    common::deliver(&mut client, &mut server, &common::frame(1, 100));
    common::deliver(&mut server, &mut client, &common::frame(2, 100));
}

#[test]
fn unixsock_replaces_a_stale_socket_file_but_never_a_live_one_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stale.sock");
    // A crashed process leaves its socket file behind.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let mut s = common::spec(IfaceKind::UnixSock, "u");
    s.recv_addr = Some(SockSpec::Unix(path.clone()));
    let server = StreamIface::open(&s).unwrap();
    // A live listener is not taken over.
    let e = StreamIface::open(&s).unwrap_err().to_string();
    assert!(e.starts_with("unixsock u: bind "), "{e}");
    assert!(e.contains("in use"), "{e}");
    drop(server);
    assert!(!path.exists());
    // A regular file is never removed.
    std::fs::write(&path, b"not a socket").unwrap();
    let e = StreamIface::open(&s).unwrap_err().to_string();
    assert!(e.contains("not a socket"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), b"not a socket");
}

#[test]
fn unixsock_frames_too_long_for_a_record_are_dropped_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.sock");
    let mut s = common::spec(IfaceKind::UnixSock, "server");
    s.recv_addr = Some(SockSpec::Unix(path.clone()));
    let mut server = StreamIface::open(&s).unwrap();
    let mut c = common::spec(IfaceKind::UnixSock, "client");
    c.send_addr = Some(SockSpec::Unix(path));
    let mut client = StreamIface::open(&c).unwrap();
    common::connect_both(&mut server, &mut client);
    client.write_frame(&vec![0u8; 65_536]).unwrap();
    assert_eq!(client.stats().dropped_too_long, 1);
    assert_eq!(client.stats().tx_frames, 0);
    // The largest record goes through whole.
    let big = common::frame(9, 65_535);
    client.write_frame(&big).unwrap();
    let mut buf = vec![0u8; 70_000];
    let end = common::now() + common::PATIENCE;
    let n = loop {
        server.maintain().unwrap();
        client.maintain().unwrap(); // finishes a partly written record
        if let Some(n) = server.read_frame(&mut buf).unwrap() {
            break n;
        }
        assert!(common::now() < end, "big frame not delivered");
        common::wait_readable(server.read_fd(), 20);
    };
    assert_eq!(&buf[..n], &big[..]);
}
