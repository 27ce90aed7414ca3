//! A node fed arbitrary input. Node B has one neighbour, A, whose WireGuard
//! side is driven directly, so the fuzzer reaches past the encryption: the
//! first byte picks (0) a raw datagram for B, (1) arbitrary plaintext sealed
//! by A (so B's routing-header, control, forwarding and FIB code see it), or
//! (2) an arbitrary frame from B's own interface. The upper bits advance a
//! virtual clock so timers run. State persists across inputs.
#![no_main]

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd::NodeId;
use egd::wg::keys::{private_key_from_random, public_key};
use egd::node::{Node, NodeConfig, PeerConfig};
use egd::wg::{MAX_CONTROL_LEN, Opened, TAG_LEN, TRANSPORT_HEADER_LEN, Wg};
use egd_routing::NextHopTable;
use libfuzzer_sys::fuzz_target;

struct State {
    a: Wg,
    b: Node,
    now: Instant,
}

fn id(n: u16) -> NodeId {
    NodeId::new(n).unwrap()
}

fn addr_a() -> SocketAddr {
    "192.0.2.1:3001".parse().unwrap()
}

/// Moves A's control traffic to B and B's datagrams to A until both are quiet.
fn exchange(s: &mut State) {
    for _ in 0..8 {
        let mut moved = false;
        let mut buf = [0u8; MAX_CONTROL_LEN];
        while let Some(t) = s.a.poll_transmit(&mut buf) {
            let len = match t {
                egd::wg::WgTransmit::ToPeer { len, .. } | egd::wg::WgTransmit::ToAddr { len, .. } => len,
            };
            s.b.handle_datagram(s.now, addr_a(), &mut buf[..len]);
            moved = true;
        }
        let mut back = Vec::new();
        while let Some(t) = s.b.poll_transmit() {
            back.push(t.payload.to_vec());
        }
        for mut d in back {
            let _ = s.a.open(s.now, "192.0.2.2:3002".parse().unwrap(), &mut d);
            moved = true;
        }
        while s.b.poll_frame().is_some() {}
        while s.b.poll_event().is_some() {}
        while s.a.poll_event().is_some() {}
        if !moved {
            break;
        }
    }
}

fn setup() -> State {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let unix = Duration::from_secs(1_767_225_600);
    let (ka, kb) = (private_key_from_random([1; 32]), private_key_from_random([2; 32]));
    let mut a = Wg::new(&ka, [1; 32], now, unix);
    a.add_peer(id(2), &public_key(&kb), None, None);
    let mut table = NextHopTable::new();
    table.insert(id(2), id(1), id(1));
    table.insert(id(1), id(2), id(2));
    table.insert(id(2), id(3), id(1));
    let b = Node::new(
        NodeConfig {
            id: id(2),
            private_key: kb,
            peers: vec![PeerConfig {
                id: id(1),
                public_key: public_key(&ka),
                preshared_key: None,
                endpoint: Some(addr_a()),
                is_static: false,
                persistent_keepalive: None,
            }],
            default_ttl: 200,
            l2_fib_timeout: Duration::from_secs(60),
            max_frame_len: 1514,
            next_hops: table,
            dup_check_timeout: Duration::from_secs(40),
            ping_interval: None,
        },
        [2; 32],
        now,
        unix,
    );
    let mut s = State { a, b, now };
    s.a.initiate(now, id(2));
    exchange(&mut s);
    s
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    STATE.with(|cell| {
        let mut guard = cell.borrow_mut();
        let s = guard.get_or_insert_with(setup);
        s.now += Duration::from_millis(u64::from(first >> 2) * 4);
        match first & 3 {
            0 => {
                let mut d = rest.to_vec();
                s.b.handle_datagram(s.now, addr_a(), &mut d);
            }
            1 => {
                if !s.a.has_session(id(2)) {
                    s.a.initiate(s.now, id(2));
                } else {
                    let mut buf = vec![0u8; TRANSPORT_HEADER_LEN + rest.len() + TAG_LEN];
                    buf[TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + rest.len()].copy_from_slice(rest);
                    let payload = TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + rest.len();
                    if let Ok(range) = s.a.seal(s.now, id(2), &mut buf, payload) {
                        s.b.handle_datagram(s.now, addr_a(), &mut buf[range]);
                    }
                }
            }
            _ => s.b.handle_frame(s.now, rest),
        }
        s.a.handle_timeout(s.now);
        s.b.handle_timeout(s.now);
        exchange(s);
        let _ = Opened::Handshake { peer: None };
    });
});
