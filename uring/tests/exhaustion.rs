//! Receive-buffer exhaustion: far more datagrams arrive than the buffer ring
//! holds before the reactor waits. The multishot receive ends with ENOBUFS;
//! the reactor must count it, re-arm once buffers are back, and deliver every
//! datagram (they waited in the socket), in order, without panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code: a panic is a failure report

mod common;

use common::{bind, check_payload, collect, payload, reactor};
use egd_uring::{Backend, ReactorConfig};
use std::time::Duration;

/// Small enough for a non-root receive buffer (net.core.rmem_max).
const SENT: u32 = 200;

#[test]
fn buffer_exhaustion_is_counted_and_recovered() {
    let cfg = ReactorConfig {
        recv_buffers: 8,
        ..ReactorConfig::default()
    };
    let Some(mut r) = reactor(Backend::Uring, cfg) else {
        return;
    };
    let s = r.add_udp(bind("127.0.0.1:0")).unwrap();
    let to = r.local_addr(s).unwrap();
    // Let the multishot receive get armed before the flood.
    r.flush().unwrap();
    let sender = bind("127.0.0.1:0");
    for seq in 0..SENT {
        sender.send_to(&payload(seq, 200), to).unwrap();
    }
    let got = collect(&mut *r, SENT as usize, Duration::from_secs(20));
    let st = r.stats();
    println!("{st:?}");
    assert_eq!(got.len(), SENT as usize, "{st:?}");
    for (i, g) in got.iter().enumerate() {
        assert_eq!(check_payload(&g.payload), i as u32, "in order");
        assert_eq!(g.from, sender.local_addr().unwrap());
    }
    assert!(st.recv_no_buffers > 0, "the ring never ran dry: {st:?}");
    assert!(st.recv_rearms >= st.recv_no_buffers, "{st:?}");
    assert_eq!(st.datagrams_received, u64::from(SENT));
}
