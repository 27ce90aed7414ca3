//! `vpp` (memif): an egd server and an egd client in one process — the
//! handshake, frames both ways (also chained across buffers), a full ring,
//! a wrong interface id, and reconnecting after either side restarts.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real sockets: tests wait with real deadlines

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{PATIENCE, wait_readable};
use egd_ifaces::{IfaceKind, L2Interface, MemifIface, MemifRole};

fn memif(role: MemifRole, socket: &Path, id: u32, name: &str) -> MemifIface {
    let mut spec = common::spec(IfaceKind::Vpp, name);
    spec.memif.socket = socket.to_path_buf();
    spec.memif.id = id;
    spec.memif.role = role;
    MemifIface::open(&spec).unwrap()
}

/// Drives both ends until both report the link up.
fn connect(a: &mut MemifIface, b: &mut MemifIface) {
    let end = Instant::now() + PATIENCE;
    while !(a.is_connected() && b.is_connected()) {
        assert!(
            Instant::now() < end,
            "no link within {PATIENCE:?}: {:?} / {:?}",
            a.take_last_error(),
            b.take_last_error()
        );
        a.maintain().unwrap();
        b.maintain().unwrap();
        wait_readable(a.read_fd(), 5);
    }
}

/// Reads every frame that arrives until `n` are in or the patience ends.
fn read_n(iface: &mut MemifIface, n: usize) -> Vec<Vec<u8>> {
    let end = Instant::now() + PATIENCE;
    let mut buf = vec![0u8; 16384];
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < end {
        iface.maintain().unwrap();
        while let Some(len) = iface.read_frame(&mut buf).unwrap() {
            out.push(buf[..len].to_vec());
        }
        if out.len() < n {
            wait_readable(iface.read_fd(), 20);
        }
    }
    out
}

fn frame(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 7 + j) as u8).collect()
}

/// 200 frames `from` → `to`, checked whole and in order.
fn exchange(from: &mut MemifIface, to: &mut MemifIface, sizes: &[usize]) {
    let sent: Vec<Vec<u8>> = (0..200).map(|i| frame(i, sizes[i % sizes.len()])).collect();
    for f in &sent {
        from.write_frame(f).unwrap();
    }
    let got = read_n(to, sent.len());
    assert_eq!(got.len(), sent.len());
    assert!(got == sent, "frames differ or are out of order");
    assert_eq!(from.stats().tx_frames, 200);
    assert_eq!(to.stats().rx_frames, 200);
    assert_eq!(from.stats().dropped_would_block, 0);
}

#[test]
fn pair_carries_frames_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("memif.sock");
    let mut server = memif(MemifRole::Server, &sock, 3, "srv");
    let mut client = memif(MemifRole::Client, &sock, 3, "cli");
    connect(&mut server, &mut client);
    assert_eq!(server.peer_name(), Some("cli"));
    assert_eq!(client.peer_name(), Some("srv"));

    // Sizes from a minimal frame to jumbo ones spanning up to 5 buffers.
    let sizes = [60usize, 1514, 2048, 2049, 4096, 9000, 1, 64];
    exchange(&mut client, &mut server, &sizes);
    exchange(&mut server, &mut client, &sizes);
    // A frame longer than the reader's buffer is dropped and counted.
    client.write_frame(&frame(0, 3000)).unwrap();
    client.write_frame(&frame(1, 100)).unwrap();
    let mut small = [0u8; 1500];
    let end = Instant::now() + PATIENCE;
    let n = loop {
        if let Some(n) = server.read_frame(&mut small).unwrap() {
            break n;
        }
        assert!(Instant::now() < end);
        wait_readable(server.read_fd(), 20);
    };
    assert_eq!(&small[..n], &frame(1, 100)[..]);
    assert_eq!(server.stats().dropped_too_long, 1);
}

#[test]
fn full_ring_drops_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("memif.sock");
    let mut server = memif(MemifRole::Server, &sock, 0, "srv");
    let mut client = memif(MemifRole::Client, &sock, 0, "cli");
    connect(&mut server, &mut client);
    for i in 0..1100 {
        client.write_frame(&frame(i, 100)).unwrap();
    }
    // 1024 slots (LOG2_RING_SIZE 10) and nobody reading.
    assert_eq!(client.stats().tx_frames, 1024);
    assert_eq!(client.stats().dropped_would_block, 76);
    assert_eq!(read_n(&mut server, 1024).len(), 1024);
    // Slots come back once read.
    client.write_frame(&frame(0, 100)).unwrap();
    assert_eq!(read_n(&mut server, 1), vec![frame(0, 100)]);
}

#[test]
fn wrong_interface_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("memif.sock");
    let mut server = memif(MemifRole::Server, &sock, 1, "srv");
    let mut client = memif(MemifRole::Client, &sock, 2, "cli");
    let end = Instant::now() + Duration::from_millis(500);
    let mut reason = None;
    while Instant::now() < end {
        server.maintain().unwrap();
        client.maintain().unwrap();
        reason = reason.or(client.take_last_error());
        wait_readable(client.read_fd(), 10);
    }
    assert!(!client.is_connected() && !server.is_connected());
    let reason = reason.unwrap();
    assert!(reason.contains("ID not found"), "{reason}");
    client.write_frame(&[0; 60]).unwrap();
    assert_eq!(client.stats().dropped_disconnected, 1);
}

#[test]
fn reconnects_after_either_side_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("memif.sock");
    let mut server = memif(MemifRole::Server, &sock, 7, "srv");
    let mut client = memif(MemifRole::Client, &sock, 7, "cli");
    connect(&mut server, &mut client);

    // The server goes away: the client notices and keeps retrying...
    drop(server);
    let end = Instant::now() + PATIENCE;
    while client.is_connected() {
        assert!(Instant::now() < end);
        client.maintain().unwrap();
        wait_readable(client.read_fd(), 20);
    }
    assert!(!sock.exists(), "the server removes its socket file");
    client.write_frame(&[1; 60]).unwrap();
    assert_eq!(client.stats().dropped_disconnected, 1);
    // ...and connects to the new one.
    let mut server = memif(MemifRole::Server, &sock, 7, "srv2");
    connect(&mut server, &mut client);
    assert_eq!(client.peer_name(), Some("srv2"));
    client.write_frame(&frame(5, 200)).unwrap();
    assert_eq!(read_n(&mut server, 1), vec![frame(5, 200)]);

    // The client goes away: the server takes the next one.
    drop(client);
    let mut client = memif(MemifRole::Client, &sock, 7, "cli2");
    connect(&mut server, &mut client);
    assert_eq!(server.peer_name(), Some("cli2"));
    server.write_frame(&frame(6, 300)).unwrap();
    assert_eq!(read_n(&mut client, 1), vec![frame(6, 300)]);
    assert_eq!(server.stats().connections, 2);
    assert_eq!(client.stats().connections, 1);
}

#[test]
fn opened_through_the_generic_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = common::spec(IfaceKind::Vpp, "generic");
    spec.memif.socket = dir.path().join("m.sock");
    spec.memif.role = MemifRole::Server;
    let iface = egd_ifaces::open(&spec).unwrap();
    assert_eq!(iface.name(), "generic");
    assert!(iface.read_fd().is_some());
    assert!(spec.memif.socket.exists());
    // A second server on the same live socket is refused.
    let err = egd_ifaces::open(&spec).err().unwrap().to_string();
    assert!(err.contains("in use"), "{err}");
}
