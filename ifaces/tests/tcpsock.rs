//! `tcpsock` over loopback: the shared connection suite (frames both ways,
//! bursts, too-long frames, a new client replacing the old, reconnect after
//! either side closes) plus TCP specifics.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::net::SocketAddr;

use egd_ifaces::{IfaceKind, L2Interface, SockSpec, StreamIface};

fn listen_port(server: &StreamIface) -> SockSpec {
    SockSpec::Inet(server.listen_addr().unwrap().expect("listening on IP"))
}

#[test]
fn tcpsock_connection_suite() {
    common::stream_suite(
        IfaceKind::TcpSock,
        SockSpec::Inet("127.0.0.1:0".parse().unwrap()),
        listen_port,
    );
}

#[test]
fn tcpsock_ipv6_loopback() {
    let mut s = common::spec(IfaceKind::TcpSock, "v6-server");
    s.recv_addr = Some(SockSpec::Inet("[::1]:0".parse().unwrap()));
    let mut server = match StreamIface::open(&s) {
        Ok(server) => server,
        Err(e) => {
            // Real-kernel tests skip only when the kernel lacks the feature.
            println!("skipped: no IPv6 loopback here ({e})");
            return;
        }
    };
    let mut c = common::spec(IfaceKind::TcpSock, "v6-client");
    c.send_addr = Some(listen_port(&server));
    let mut client = StreamIface::open(&c).unwrap();
    common::connect_both(&mut server, &mut client);
    common::deliver(&mut client, &mut server, &common::frame(1, 100));
}

#[test]
fn tcpsock_connect_side_retries_until_the_server_appears() {
    // Hold a port with a bound socket that does not listen: connecting to it
    // is refused, and no other process can take the port meanwhile.
    let placeholder = rustix::net::socket_with(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::STREAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    rustix::net::sockopt::set_socket_reuseaddr(&placeholder, true).unwrap();
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    rustix::net::bind(&placeholder, &loopback).unwrap();
    let addr = SocketAddr::try_from(rustix::net::getsockname(&placeholder).unwrap()).unwrap();
    let mut c = common::spec(IfaceKind::TcpSock, "early-client");
    c.send_addr = Some(SockSpec::Inet(addr));
    // No server yet: opening still succeeds, frames are dropped as disconnected.
    let mut client = StreamIface::open(&c).unwrap();
    let end = common::now() + common::PATIENCE;
    while client.stats().connect_errors == 0 {
        assert!(common::now() < end);
        client.maintain().unwrap();
        common::wait_readable(client.read_fd(), 20);
    }
    assert!(!client.is_connected());
    client.write_frame(&common::frame(1, 60)).unwrap();
    assert_eq!(client.stats().dropped_disconnected, 1);

    let mut s = common::spec(IfaceKind::TcpSock, "late-server");
    s.recv_addr = Some(SockSpec::Inet(addr));
    let mut server = StreamIface::open(&s).unwrap();
    drop(placeholder);
    common::connect_both(&mut server, &mut client);
    common::deliver(&mut client, &mut server, &common::frame(2, 60));
}

#[test]
fn tcpsock_needs_an_address_of_the_right_family() {
    let s = common::spec(IfaceKind::TcpSock, "none");
    let e = StreamIface::open(&s).unwrap_err().to_string();
    assert_eq!(e, "tcpsock none: needs RecvAddr or SendAddr");
    let mut s = common::spec(IfaceKind::TcpSock, "unixpath");
    s.recv_addr = Some(SockSpec::Unix("/tmp/x".into()));
    let e = StreamIface::open(&s).unwrap_err().to_string();
    assert_eq!(e, "tcpsock unixpath: RecvAddr /tmp/x is not an IP address");
}
