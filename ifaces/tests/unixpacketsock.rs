//! `unixpacketsock` (SOCK_SEQPACKET): the shared connection suite; one frame
//! per packet.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use egd_ifaces::{IfaceKind, SockSpec};

#[test]
fn unixpacketsock_connection_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("egd.seqpacket");
    let dial = path.clone();
    common::stream_suite(
        IfaceKind::UnixPacketSock,
        SockSpec::Unix(path.clone()),
        move |_| SockSpec::Unix(dial.clone()),
    );
    assert!(!path.exists());
}
