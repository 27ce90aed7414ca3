//! What the link does with datagrams, apart from timing: loss, a down
//! direction, the MTU, the queue bound under a flood, the return address,
//! and stopping on drop. Loopback only.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real sockets and threads, waited on in real time

mod common;

use std::net::UdpSocket;
use std::thread;
use std::time::Instant;

use common::{link_to, ms, recv, socket, wait_for_stats};
use egd_linkemu::{Direction, Link, LinkConfig, QueueLimit};

/// Reads from `socket` until it times out; returns the payloads.
fn drain(socket: &UdpSocket) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| recv(socket).map(|(payload, _)| payload)).collect()
}

/// The stats once `received` (both directions) stopped growing for 50 ms.
fn settled(link: &Link) -> egd_linkemu::LinkStats {
    let mut last = link.stats();
    loop {
        thread::sleep(ms(50));
        let now = link.stats();
        if (now.a_to_b.received, now.b_to_a.received)
            == (last.a_to_b.received, last.b_to_a.received)
        {
            return now;
        }
        last = now;
    }
}

#[test]
fn loss_drops_about_the_configured_fraction() {
    // Y's reader stops after 500 ms without a datagram: far longer than a
    // busy machine stalls the sending loop.
    let (x, y) = (socket(ms(500)), socket(ms(500)));
    let link = link_to(&y, |c| {
        c.a_to_b = Direction {
            loss: 0.2,
            ..Direction::default()
        }
    });
    let a = link.local_addrs().a;
    let delivered = thread::scope(|scope| {
        let counter = scope.spawn(|| drain(&y).len());
        // Paced (about 4 per ms): the link forwards at once, so the pace is
        // what Y's reader must keep up with; at this rate its socket buffer
        // (~270 small datagrams) rides out a 50 ms stall of a busy machine.
        for i in 0..2_000u32 {
            x.send_to(&i.to_be_bytes(), a).unwrap();
            if i % 4 == 3 {
                thread::sleep(ms(1));
            }
        }
        counter.join().unwrap()
    });
    // Y's reader has been idle for 500 ms: everything is through.
    let stats = settled(&link).a_to_b;
    println!("loss 0.2 over 2000: {stats:?}, delivered {delivered}");
    // The kernel may drop a few before the link sees them (a busy machine
    // can stall its receiver); the fraction is over what it received.
    assert!(stats.received >= 1_900, "{stats:?}");
    assert_eq!(stats.forwarded + stats.lost, stats.received, "{stats:?}");
    let fraction = stats.lost as f64 / stats.received as f64;
    assert!(
        (0.15..=0.25).contains(&fraction),
        "lost fraction {fraction}"
    );
    assert!(delivered as u64 <= stats.forwarded);
    assert!(
        delivered as u64 * 100 >= stats.forwarded * 95,
        "delivered {delivered}: {stats:?}"
    );
}

#[test]
fn a_down_direction_drops_everything_until_it_comes_up() {
    let (x, y) = (socket(ms(100)), socket(ms(100)));
    let link = link_to(&y, |c| {
        c.a_to_b = Direction {
            up: false,
            ..Direction::default()
        }
    });
    let a = link.local_addrs().a;
    for i in 0..50u8 {
        x.send_to(&[i], a).unwrap();
    }
    let stats = wait_for_stats(&link, |s| s.a_to_b.down == 50).a_to_b;
    assert_eq!((stats.down, stats.forwarded), (50, 0), "{stats:?}");
    assert!(drain(&y).is_empty(), "a datagram crossed a down link");

    link.set_a_to_b(Direction {
        up: true,
        ..link.a_to_b()
    })
    .unwrap();
    x.send_to(b"up again", a).unwrap();
    assert_eq!(recv(&y).unwrap().0, b"up again");
    // The other direction was never down.
    y.send_to(b"back", link.local_addrs().b).unwrap();
    assert_eq!(recv(&x).unwrap().0, b"back");
}

#[test]
fn mtu_drops_too_big_datagrams_only() {
    let (x, y) = (socket(ms(100)), socket(ms(100)));
    let link = link_to(&y, |c| {
        c.a_to_b = Direction {
            mtu: Some(100),
            ..Direction::default()
        }
    });
    let a = link.local_addrs().a;
    for len in [100, 101, 50, 1_400] {
        x.send_to(&vec![len as u8; len], a).unwrap();
    }
    let lens: Vec<usize> = drain(&y).iter().map(Vec::len).collect();
    assert_eq!(lens, [100, 50]);
    let stats = link.stats().a_to_b;
    assert_eq!((stats.too_big, stats.forwarded), (2, 2), "{stats:?}");
}

#[test]
fn queue_bound_holds_under_a_flood() {
    for (limit, payload) in [
        (
            QueueLimit {
                datagrams: 50,
                bytes: 1 << 20,
            },
            10,
        ),
        (
            QueueLimit {
                datagrams: 10_000,
                bytes: 2_000,
            },
            100,
        ),
    ] {
        let y = socket(ms(100));
        let x = socket(ms(100));
        let link = link_to(&y, |c| {
            // Long enough that nothing leaves during the flood.
            c.a_to_b = Direction {
                delay: ms(3_000),
                ..Direction::default()
            };
            c.queue_limit = limit;
        });
        let a = link.local_addrs().a;
        for _ in 0..1_000 {
            x.send_to(&vec![0; payload], a).unwrap();
        }
        // The flood may overrun the link's socket buffer; count what the
        // link itself received once that stops growing.
        let s = settled(&link).a_to_b;
        println!("flood into {limit:?}: {s:?}");
        let held = limit.datagrams.min(limit.bytes / payload) as u64;
        assert!(s.received > held, "the flood did not fill the queue: {s:?}");
        assert_eq!((s.queued, s.peak_queued), (held, held), "{s:?}");
        assert_eq!(s.queued_bytes, held * payload as u64);
        assert_eq!(s.overflow, s.received - held, "{s:?}");
        assert_eq!(s.forwarded, 0);
        // A full queue does not hold up stopping.
        let start = Instant::now();
        drop(link);
        assert!(start.elapsed() < ms(500), "drop took {:?}", start.elapsed());
    }
}

#[test]
fn return_address_follows_the_last_sender() {
    let (x1, x2, y) = (socket(ms(100)), socket(ms(100)), socket(ms(1000)));
    let link = link_to(&y, |_| {});
    let addrs = link.local_addrs();

    // Before anyone sent to a_listen there is nowhere to return to.
    y.send_to(b"too early", addrs.b).unwrap();
    let stats = wait_for_stats(&link, |s| s.b_to_a.no_peer == 1).b_to_a;
    assert_eq!(stats.no_peer, 1, "{stats:?}");
    assert_eq!(link.return_address(), None);

    x1.send_to(b"from x1", addrs.a).unwrap();
    let (payload, seen_from) = recv(&y).unwrap();
    assert_eq!(
        (payload.as_slice(), seen_from),
        (&b"from x1"[..], addrs.b),
        "Y sees b_listen"
    );
    y.send_to(b"to x1", addrs.b).unwrap();
    assert_eq!(
        recv(&x1).unwrap(),
        (b"to x1".to_vec(), addrs.a),
        "X sees a_listen"
    );

    x2.send_to(b"from x2", addrs.a).unwrap();
    assert_eq!(recv(&y).unwrap().0, b"from x2");
    assert_eq!(link.return_address(), Some(x2.local_addr().unwrap()));
    y.send_to(b"to x2", addrs.b).unwrap();
    assert_eq!(recv(&x2).unwrap().0, b"to x2");
    assert_eq!(recv(&x1), None, "the old sender still got the reply");
}

#[test]
fn configured_a_peer_is_a_fixed_return_address() {
    let (x1, x2, y) = (socket(ms(100)), socket(ms(1000)), socket(ms(1000)));
    let fixed = x2.local_addr().unwrap();
    let link = link_to(&y, |c| c.a_peer = Some(fixed));
    let addrs = link.local_addrs();
    // Replies go to a_peer even before anything was sent to a_listen …
    y.send_to(b"first", addrs.b).unwrap();
    assert_eq!(recv(&x2).unwrap().0, b"first");
    // … and after someone else did.
    x1.send_to(b"from x1", addrs.a).unwrap();
    assert_eq!(recv(&y).unwrap().0, b"from x1");
    y.send_to(b"second", addrs.b).unwrap();
    assert_eq!(recv(&x2).unwrap().0, b"second");
    assert_eq!(recv(&x1), None);
    assert_eq!(link.return_address(), Some(fixed));
}

#[test]
fn drop_stops_the_threads_and_frees_the_ports() {
    let y = socket(ms(100));
    let link = link_to(&y, |_| {});
    let addrs = link.local_addrs();
    let start = Instant::now();
    drop(link);
    let took = start.elapsed();
    assert!(took < ms(500), "drop took {took:?}");
    // The threads owned the sockets: binding the same ports again proves
    // they are gone.
    UdpSocket::bind(addrs.a).unwrap();
    UdpSocket::bind(addrs.b).unwrap();
}

#[test]
fn spawn_refuses_bad_settings_and_busy_ports() {
    let y = socket(ms(100));
    let taken = socket(ms(100));
    let mut config = LinkConfig::new(
        common::any_port(),
        common::any_port(),
        y.local_addr().unwrap(),
    );
    config.b_to_a.loss = 1.5;
    let err = Link::spawn(config.clone()).unwrap_err().to_string();
    assert!(err.starts_with("b_to_a: loss 1.5"), "{err}");
    config.b_to_a.loss = 0.0;
    config.b_listen = taken.local_addr().unwrap();
    let err = Link::spawn(config).unwrap_err().to_string();
    assert!(err.starts_with("b_listen: cannot bind 127.0.0.1:"), "{err}");

    let link = link_to(&y, |_| {});
    let refused = link.set_a_to_b(Direction {
        loss: -1.0,
        ..Direction::default()
    });
    assert!(refused.is_err());
    assert_eq!(
        link.a_to_b(),
        Direction::default(),
        "a refused setting changed nothing"
    );
}
