//! The in-memory pair used by other crates' tests.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use egd_ifaces::memory::MEMORY_QUEUE_FRAMES;
use egd_ifaces::memory_pair;

#[test]
fn memory_pair_carries_frames_both_ways_and_signals_readability() {
    let (mut a, mut b) = memory_pair("a", "b");
    assert_eq!((a.name(), b.name()), ("a", "b"));
    let (fa, fb) = (a.read_fd().unwrap(), b.read_fd().unwrap());
    assert!(!common::is_readable(fb));
    a.write_frame(&common::frame(1, 60)).unwrap();
    a.write_frame(&common::frame(2, 61)).unwrap();
    assert!(common::is_readable(fb));
    assert!(!common::is_readable(fa));
    let mut buf = [0u8; 100];
    assert_eq!(b.read_frame(&mut buf).unwrap(), Some(60));
    assert_eq!(&buf[..60], &common::frame(1, 60)[..]);
    assert!(common::is_readable(fb), "one frame is still queued");
    assert_eq!(b.read_frame(&mut buf).unwrap(), Some(61));
    assert!(!common::is_readable(fb));
    assert_eq!(b.read_frame(&mut buf).unwrap(), None);

    b.write_frame(&common::frame(3, 70)).unwrap();
    assert_eq!(common::recv(a.as_mut()), common::frame(3, 70));

    // Too long for the buffer: dropped, counted.
    a.write_frame(&common::frame(4, 200)).unwrap();
    assert_eq!(b.read_frame(&mut buf).unwrap(), None);
    assert_eq!(b.stats().dropped_too_long, 1);

    // A full queue drops.
    for _ in 0..MEMORY_QUEUE_FRAMES + 5 {
        a.write_frame(&common::frame(5, 14)).unwrap();
    }
    assert_eq!(a.stats().dropped_would_block, 5);

    // The peer gone: disconnected.
    drop(b);
    a.write_frame(&common::frame(6, 14)).unwrap();
    assert_eq!(a.stats().dropped_disconnected, 1);
}
