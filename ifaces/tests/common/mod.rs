//! Helpers shared by the integration tests: specs, bounded waiting on real
//! fds, and the connection suite every stream kind runs.
#![allow(dead_code)] // each test binary uses a subset
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns
#![allow(clippy::disallowed_methods)] // real sockets: tests wait with real deadlines

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use egd_ifaces::{IfaceKind, IfaceSpec, L2Interface, SockSpec, StreamIface};

pub const MAC: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01];
/// Long enough for a loaded 2-core CI machine; every wait ends as soon as it can.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub fn spec(kind: IfaceKind, name: &str) -> IfaceSpec {
    IfaceSpec::new(kind, name, 1, MAC)
}

/// The current time (tests wait on real sockets).
pub fn now() -> Instant {
    Instant::now()
}

/// A name unique to this process and call.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Waits up to `ms` for `fd` to be readable (just waits if None).
pub fn wait_readable(fd: Option<RawFd>, ms: i32) {
    let mut pfd = libc::pollfd {
        fd: fd.unwrap_or(-1),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call; a negative fd is ignored by poll.
    unsafe { libc::poll(&mut pfd, 1, ms) };
}

/// Whether `fd` is readable right now.
pub fn is_readable(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: as above.
    unsafe { libc::poll(&mut pfd, 1, 0) == 1 }
}

/// Drives `iface` as the daemon would until a frame arrives or `timeout` passes.
pub fn recv_within(iface: &mut dyn L2Interface, timeout: Duration) -> Option<Vec<u8>> {
    let end = Instant::now() + timeout;
    let mut buf = vec![0u8; 2048];
    loop {
        iface.maintain().unwrap();
        if let Some(n) = iface.read_frame(&mut buf).unwrap() {
            return Some(buf[..n].to_vec());
        }
        if Instant::now() > end {
            return None;
        }
        wait_readable(iface.read_fd(), 20);
    }
}

pub fn recv(iface: &mut dyn L2Interface) -> Vec<u8> {
    let name = iface.name().to_owned();
    recv_within(iface, PATIENCE).unwrap_or_else(|| panic!("{name}: no frame within {PATIENCE:?}"))
}

/// Nothing arrives within a short while.
pub fn assert_silent(iface: &mut dyn L2Interface) {
    assert_eq!(
        recv_within(iface, Duration::from_millis(200)),
        None,
        "{}: unexpected frame",
        iface.name()
    );
}

/// A test frame: broadcast destination, `tag` in the payload.
pub fn frame(tag: u8, len: usize) -> Vec<u8> {
    let mut f = vec![tag; len];
    f[..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&MAC);
    f
}

/// Calls maintain on both until both have a connection.
pub fn connect_both(a: &mut StreamIface, b: &mut StreamIface) {
    let end = Instant::now() + PATIENCE;
    while !(a.is_connected() && b.is_connected()) {
        assert!(
            Instant::now() < end,
            "no connection within {PATIENCE:?}: {} {:?} / {} {:?}",
            a.is_connected(),
            a.stats(),
            b.is_connected(),
            b.stats()
        );
        a.maintain().unwrap();
        b.maintain().unwrap();
        // Also notice a closed connection (as the daemon does on readability).
        let mut buf = [0u8; 2048];
        while a.read_frame(&mut buf).unwrap().is_some() {}
        while b.read_frame(&mut buf).unwrap().is_some() {}
        wait_readable(a.read_fd(), 20);
    }
}

/// Sends `frame` from `tx` until `rx` gets it; frames from a connection that is
/// still coming up may be dropped, so this retries (bounded).
pub fn deliver(tx: &mut dyn L2Interface, rx: &mut dyn L2Interface, frame: &[u8]) {
    let end = Instant::now() + PATIENCE;
    loop {
        tx.maintain().unwrap();
        tx.write_frame(frame).unwrap();
        if let Some(got) = recv_within(rx, Duration::from_millis(100)) {
            assert_eq!(got, frame);
            return;
        }
        assert!(
            Instant::now() < end,
            "{} -> {}: not delivered",
            tx.name(),
            rx.name()
        );
    }
}

/// A frame carrying a sequence number.
fn numbered(i: u32) -> Vec<u8> {
    let mut f = frame((i % 251) as u8, 1400);
    f[12..16].copy_from_slice(&i.to_be_bytes());
    f
}

/// With nobody reading, writes fill the socket and then drop whole frames;
/// the reader later gets every frame that was taken, intact and in order
/// (a partly written record is finished by `maintain`, never interleaved).
fn backpressure(tx: &mut StreamIface, rx: &mut StreamIface) {
    let mut taken = Vec::new();
    let mut i = 0u32;
    while tx.stats().dropped_would_block < 10 {
        let before = tx.stats().tx_frames;
        tx.write_frame(&numbered(i)).unwrap();
        if tx.stats().tx_frames > before {
            taken.push(i);
        }
        i += 1;
        assert!(i < 1_000_000, "the socket never filled up");
    }
    let end = Instant::now() + PATIENCE;
    let mut buf = vec![0u8; 2048];
    let mut got = 0;
    while got < taken.len() {
        assert!(
            Instant::now() < end,
            "only {got} of {} frames arrived",
            taken.len()
        );
        tx.maintain().unwrap();
        rx.maintain().unwrap();
        while let Some(n) = rx.read_frame(&mut buf).unwrap() {
            assert_eq!(&buf[..n], &numbered(taken[got])[..], "frame {got}");
            got += 1;
        }
        wait_readable(rx.read_fd(), 10);
    }
    assert_silent(rx);
}

/// The suite every connection-oriented kind passes: frames both ways, bursts,
/// too-long frames, a new client replacing the old, and reconnection after
/// either side closes. `listen` and `dial` give the two sides' addresses.
pub fn stream_suite(kind: IfaceKind, listen: SockSpec, dial: impl Fn(&StreamIface) -> SockSpec) {
    let mut listener_spec = spec(kind, "listener");
    listener_spec.recv_addr = Some(listen);
    let mut server = StreamIface::open(&listener_spec).unwrap();
    // Later servers listen where the first one does (port 0 resolved).
    listener_spec.recv_addr = Some(dial(&server));
    let client_spec = {
        let mut s = spec(kind, "client");
        s.send_addr = Some(dial(&server));
        s
    };
    let mut client = StreamIface::open(&client_spec).unwrap();
    assert!(
        client.maintain_interval().is_some(),
        "the connecting side needs maintain for reconnects"
    );
    connect_both(&mut server, &mut client);

    // Both ways.
    deliver(&mut client, &mut server, &frame(1, 60));
    deliver(&mut server, &mut client, &frame(2, 1500));

    // A burst: many frames, several per read on the receiving side.
    for i in 0..100u8 {
        client.write_frame(&frame(i, 64 + usize::from(i))).unwrap();
    }
    for i in 0..100u8 {
        assert_eq!(
            recv(&mut server),
            frame(i, 64 + usize::from(i)),
            "burst frame {i}"
        );
    }

    backpressure(&mut client, &mut server);

    // Too long for the reader's buffer: dropped and counted, the next one arrives.
    let before = client.stats().dropped_too_long;
    server.write_frame(&frame(3, 4000)).unwrap();
    server.write_frame(&frame(4, 100)).unwrap();
    assert_eq!(recv(&mut client), frame(4, 100));
    assert_eq!(client.stats().dropped_too_long, before + 1);

    // The server side closes: the client reconnects to a new server on the
    // same address and frames flow again.
    drop(server);
    let mut server = StreamIface::open(&listener_spec).unwrap();
    connect_both(&mut server, &mut client);
    assert!(client.stats().connections >= 2, "{:?}", client.stats());
    deliver(&mut client, &mut server, &frame(5, 80));
    deliver(&mut server, &mut client, &frame(6, 80));

    // The client side closes: the server accepts the next client.
    drop(client);
    let mut client = StreamIface::open(&client_spec).unwrap();
    connect_both(&mut server, &mut client);
    deliver(&mut client, &mut server, &frame(7, 90));
    deliver(&mut server, &mut client, &frame(8, 90));

    // A new client replaces the old one: the server now talks to the newest.
    let mut newer = StreamIface::open(&client_spec).unwrap();
    let accepted = server.stats().connections;
    let end = Instant::now() + PATIENCE;
    while server.stats().connections == accepted {
        assert!(Instant::now() < end, "second client not accepted");
        newer.maintain().unwrap();
        server.maintain().unwrap();
        wait_readable(server.read_fd(), 20);
    }
    deliver(&mut server, &mut newer, &frame(9, 70));
    deliver(&mut newer, &mut server, &frame(10, 70));
    // The replaced client lost its connection and reconnects in turn.
    drop(newer);
    drop(client);

    // Nobody connected: writes are dropped as disconnected, not blocked on.
    let end = Instant::now() + PATIENCE;
    while server.is_connected() {
        assert!(
            Instant::now() < end,
            "server did not notice the clients leaving"
        );
        server.maintain().unwrap();
        let mut buf = [0u8; 2048];
        while server.read_frame(&mut buf).unwrap().is_some() {}
        wait_readable(server.read_fd(), 20);
    }
    let before = server.stats().dropped_disconnected;
    server.write_frame(&frame(11, 60)).unwrap();
    assert_eq!(server.stats().dropped_disconnected, before + 1);
}
