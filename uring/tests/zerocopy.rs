//! Zero-copy sends (`ReactorConfig::zerocopy_from`, io_uring only): trains at
//! or above the threshold go out with `SENDMSG_ZC`, smaller sends as usual;
//! everything arrives intact and in order, pools are reused only after the
//! notifications (many rounds through two pools), and the notifications'
//! usage reports are counted: on loopback the kernel always copies. Trains
//! touching more pages than an skb has fragments are copied instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report

mod common;

use common::{bind, check_payload, collect, payload, reactor};
use egd_uring::{Backend, ReactorConfig};
use std::time::Duration;

#[test]
fn zerocopy_trains_arrive_and_copies_are_counted() {
    let cfg = ReactorConfig {
        zerocopy_from: Some(10_000),
        ..ReactorConfig::default()
    };
    let Some(mut r) = reactor(Backend::Uring, cfg) else {
        return;
    };
    if r.features().zerocopy_from.is_none() {
        println!("skipping: no SENDMSG_ZC (Linux 6.1) here");
        return;
    }
    assert!(r.features().to_string().contains(" zerocopy=>=10000 "));
    let a = r.add_udp(bind("127.0.0.1:0")).unwrap();
    let b = r.add_udp(bind("127.0.0.1:0")).unwrap();
    let to = r.local_addr(b).unwrap();
    let mut seq = 0u32;
    for _round in 0..50 {
        // One 15 × 1200 B train plus a shorter last datagram (zero-copy: at
        // most 16 fragments, one per datagram), then 3 singles (copied).
        for _ in 0..15 {
            r.queue_send(a, to, &payload(seq, 1200)).unwrap();
            seq += 1;
        }
        for len in [100, 200, 300] {
            r.queue_send(a, to, &payload(seq, len)).unwrap();
            seq += 1;
        }
        r.flush().unwrap();
        let got = collect(&mut *r, 18, Duration::from_secs(5));
        assert_eq!(got.len(), 18, "{:?}", r.stats());
        let first = seq - 18;
        for (i, g) in got.iter().enumerate() {
            assert_eq!(check_payload(&g.payload), first + i as u32);
        }
    }
    // A 40-datagram train touches 40 pages: sent by copy, not refused.
    for _ in 0..40 {
        r.queue_send(a, to, &payload(seq, 1200)).unwrap();
        seq += 1;
    }
    r.flush().unwrap();
    assert_eq!(collect(&mut *r, 40, Duration::from_secs(5)).len(), 40);
    let st = r.stats();
    println!("{st:?}");
    assert_eq!(st.send_errors, 0, "{st:?}");
    assert_eq!(st.datagrams_sent, u64::from(seq), "{st:?}");
    // Per round: the train with the 100 B datagram as its shorter last, then
    // two singles; plus the 40-datagram train.
    assert_eq!(st.send_calls, 50 * 3 + 1, "{st:?}");
    // Notifications may still be pending for the last rounds.
    assert!(st.zerocopy_sends >= 45 && st.zerocopy_sends <= 50, "{st:?}");
    assert!(st.zerocopy_copied <= st.zerocopy_sends, "{st:?}");
    assert!(st.zerocopy_copied > 0, "loopback always copies: {st:?}");
}
