//! Delay accuracy on loopback: per-direction delays are independent, a
//! run-time change takes effect, jitter spreads delays around the mean and
//! reorders only when allowed.
//!
//! The tests in this file run one at a time (see `serial`), so that on a
//! 2-core machine they do not disturb each other's clocks. Tolerances are
//! the project's precision target (mean within ±3 ms, p99 within +10 ms)
//! over ≥ 100 samples; the observed numbers are printed (`--nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real time is what is measured here
#![allow(clippy::print_stdout)] // the measured numbers are part of the report

mod common;

use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use common::{Summary, inversions, link_to, ms, one_way, socket, summary};
use egd_linkemu::Direction;

/// Mean within ±3 ms of the configured delay, p99 within +10 ms.
const MEAN_TOLERANCE: Duration = Duration::from_millis(3);
const P99_TOLERANCE: Duration = Duration::from_millis(10);
/// "Never early", up to the error of turning kernel (wall-clock) receive
/// stamps into `Instant`s, which both the link and the test do: 20 µs each
/// at most (see `StampedSocket`), with margin.
const EARLY_TOLERANCE: Duration = Duration::from_micros(100);

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn assert_delay(what: &str, s: &Summary, delay: Duration, sent: usize) {
    println!("{what}: configured {delay:?}: {s:?}");
    assert!(
        s.count * 100 >= sent * 95,
        "{what}: only {} of {sent} arrived",
        s.count
    );
    assert!(
        s.min + EARLY_TOLERANCE >= delay,
        "{what}: a datagram arrived early: {s:?}"
    );
    assert!(
        s.mean <= delay + MEAN_TOLERANCE,
        "{what}: mean too high: {s:?}"
    );
    assert!(
        s.p99 <= delay + P99_TOLERANCE,
        "{what}: p99 too high: {s:?}"
    );
}

#[test]
fn each_direction_has_its_own_delay() {
    let _serial = serial();
    let (x, y) = (socket(ms(1000)), socket(ms(1000)));
    let link = link_to(&y, |c| {
        c.a_to_b = Direction {
            delay: ms(30),
            ..Direction::default()
        };
        c.b_to_a = Direction {
            delay: ms(5),
            ..Direction::default()
        };
    });
    println!("real-time senders: {}", link.realtime());
    let addrs = link.local_addrs();
    // Teach the link where b→a goes; then measure both directions at once.
    x.send_to(b"hello", addrs.a).unwrap();
    assert_eq!(common::recv(&y).unwrap().0, b"hello");
    let (x_to_y, y_to_x) = thread::scope(|scope| {
        let forward = scope.spawn(|| one_way(&x, addrs.a, &y, 150, ms(2)));
        let back = scope.spawn(|| one_way(&y, addrs.b, &x, 150, ms(2)));
        (forward.join().unwrap(), back.join().unwrap())
    });
    assert_delay("a→b", &summary(&x_to_y), ms(30), 150);
    assert_delay("b→a", &summary(&y_to_x), ms(5), 150);
}

#[test]
fn run_time_delay_change_takes_effect() {
    let _serial = serial();
    let (x, y) = (socket(ms(1000)), socket(ms(1000)));
    let link = link_to(&y, |c| {
        c.a_to_b = Direction {
            delay: ms(40),
            ..Direction::default()
        }
    });
    let a = link.local_addrs().a;
    assert_delay(
        "before",
        &summary(&one_way(&x, a, &y, 100, ms(1))),
        ms(40),
        100,
    );
    link.set_a_to_b(Direction {
        delay: ms(10),
        ..link.a_to_b()
    })
    .unwrap();
    assert_delay(
        "after",
        &summary(&one_way(&x, a, &y, 100, ms(1))),
        ms(10),
        100,
    );
    link.set_a_to_b(Direction {
        delay: Duration::ZERO,
        ..link.a_to_b()
    })
    .unwrap();
    assert_delay(
        "zero",
        &summary(&one_way(&x, a, &y, 100, ms(1))),
        Duration::ZERO,
        100,
    );
}

#[test]
fn jitter_with_reorder_spreads_delays_and_reorders() {
    let _serial = serial();
    let (x, y) = (socket(ms(1000)), socket(ms(1000)));
    let jittery = Direction {
        delay: ms(20),
        jitter: ms(15),
        reorder: true,
        ..Direction::default()
    };
    let link = link_to(&y, |c| c.a_to_b = jittery);
    let samples = one_way(
        &x,
        link.local_addrs().a,
        &y,
        200,
        Duration::from_micros(500),
    );
    let s = summary(&samples);
    println!(
        "jitter 20ms±15ms, reorder: {s:?}, {} inversions",
        inversions(&samples)
    );
    assert_eq!(s.count, 200);
    assert!(
        s.min + EARLY_TOLERANCE >= ms(5),
        "below delay − jitter: {s:?}"
    );
    assert!(s.max >= ms(30), "jitter spread too narrow: {s:?}");
    assert!(s.mean.abs_diff(ms(20)) <= MEAN_TOLERANCE, "mean off: {s:?}");
    assert!(s.p99 <= ms(35) + P99_TOLERANCE, "{s:?}");
    assert!(
        inversions(&samples) > 10,
        "jitter with reorder=true did not reorder"
    );
}

#[test]
fn jitter_without_reorder_keeps_order() {
    let _serial = serial();
    let (x, y) = (socket(ms(1000)), socket(ms(1000)));
    let jittery = Direction {
        delay: ms(20),
        jitter: ms(15),
        reorder: false,
        ..Direction::default()
    };
    let link = link_to(&y, |c| c.a_to_b = jittery);
    let samples = one_way(
        &x,
        link.local_addrs().a,
        &y,
        200,
        Duration::from_micros(500),
    );
    let s = summary(&samples);
    println!("jitter 20ms±15ms, no reorder: {s:?}");
    assert_eq!(s.count, 200);
    assert_eq!(inversions(&samples), 0, "reordered although reorder=false");
    assert!(s.min + EARLY_TOLERANCE >= ms(5), "{s:?}");
    assert!(s.max >= ms(30), "no jitter visible: {s:?}");
}
