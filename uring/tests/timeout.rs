//! The deadline of `wait`: Timeout after roughly the right time (generous
//! bounds: shared VM), at once for a past deadline, re-armed when the
//! deadline changes, and no stale Timeout from a replaced deadline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report
// Tests measure wall-clock time: that is the point.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{BACKENDS, bind, payload, reactor};
use egd_uring::{Backend, Completion, Reactor, ReactorConfig};
use std::time::{Duration, Instant};

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Datagram,
    Timeout,
}

/// Wait until something happens; the events and how long it took. `wait`
/// may return empty-handed on EINTR (e.g. after another ring on this thread
/// closed); a daemon simply waits again with the same deadline, as we do.
fn wait(r: &mut dyn Reactor, deadline: Option<Instant>) -> (Vec<Event>, Duration) {
    let start = Instant::now();
    let mut out = Vec::new();
    while out.is_empty() {
        r.wait(deadline, &mut |c| match c {
            Completion::Datagram { .. } => out.push(Event::Datagram),
            Completion::Timeout => out.push(Event::Timeout),
            Completion::Readable(_) => panic!("no watches here"),
        })
        .unwrap();
    }
    (out, start.elapsed())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn accuracy(backend: Backend) {
    let Some(mut r) = reactor(backend, ReactorConfig::default()) else {
        return;
    };
    for _ in 0..3 {
        let (ev, took) = wait(&mut *r, Some(Instant::now() + ms(50)));
        assert_eq!(ev, vec![Event::Timeout], "{backend:?} after {took:?}");
        assert!(took >= ms(40) && took <= ms(500), "{backend:?}: {took:?}");
    }
    // A deadline in the past: at once.
    let (ev, took) = wait(&mut *r, Some(Instant::now() - ms(10)));
    assert_eq!(ev, vec![Event::Timeout]);
    assert!(took < ms(40), "{backend:?}: {took:?}");
    assert_eq!(r.stats().timeouts, 4);
}

fn rearmed(backend: Backend) {
    let Some(mut r) = reactor(backend, ReactorConfig::default()) else {
        return;
    };
    let s = r.add_udp(bind("127.0.0.1:0")).unwrap();
    let to = r.local_addr(s).unwrap();
    let sender = bind("127.0.0.1:0");

    // A datagram ends a long wait before its deadline...
    sender.send_to(&payload(1, 10), to).unwrap();
    let (ev, took) = wait(&mut *r, Some(Instant::now() + ms(200)));
    assert_eq!(ev, vec![Event::Datagram]);
    assert!(took < ms(150), "{backend:?}: {took:?}");
    // ...a nearer deadline replaces it...
    let (ev, took) = wait(&mut *r, Some(Instant::now() + ms(50)));
    assert_eq!(ev, vec![Event::Timeout]);
    assert!(took >= ms(40) && took < ms(190), "{backend:?}: {took:?}");
    // ...and a later one is not cut short by the replaced 200 ms entry.
    let (ev, took) = wait(&mut *r, Some(Instant::now() + ms(300)));
    assert_eq!(ev, vec![Event::Timeout]);
    assert!(took >= ms(280), "{backend:?}: stale timeout after {took:?}");

    // No deadline: only I/O ends the wait.
    sender.send_to(&payload(2, 10), to).unwrap();
    let (ev, _) = wait(&mut *r, None);
    assert_eq!(ev, vec![Event::Datagram]);
    // The same deadline twice: the entry is kept, and fires once.
    let d = Instant::now() + ms(60);
    sender.send_to(&payload(3, 10), to).unwrap();
    assert_eq!(wait(&mut *r, Some(d)).0, vec![Event::Datagram]);
    assert_eq!(wait(&mut *r, Some(d)).0, vec![Event::Timeout]);
    assert!(Instant::now() >= d);
}

#[test]
fn timeout_accuracy() {
    for backend in BACKENDS {
        accuracy(backend);
    }
}

#[test]
fn timeout_rearmed_when_deadline_changes() {
    for backend in BACKENDS {
        rearmed(backend);
    }
}
