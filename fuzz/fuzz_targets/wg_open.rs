//! A `Wg` with one established peer fed arbitrary datagrams. The first byte
//! chooses what the rest does: (0) a raw datagram; (1) XOR-ed into a fresh,
//! valid transport message; (2) XOR-ed into a valid initiation whose mac1 is
//! then recomputed, so mutations reach the Noise layer behind the MAC gate;
//! (3) the same for a valid response. The first byte's upper bits advance
//! the virtual clock by 0–252 ms, after which both sides run their timers
//! and exchange their control traffic, so sessions rekey and load comes and
//! goes as in a real network. The state persists across inputs, so the fuzzer
//! also walks through windows, slots and queues. Forged data must never open.
#![no_main]

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd::NodeId;
use egd::wg::keys::{private_key_from_random, public_key};
use egd::wg::cookie::CookieJar;
use egd::wg::{MAX_CONTROL_LEN, Opened, TAG_LEN, TRANSPORT_HEADER_LEN, Wg, WgTransmit};
use egd::wire::wg::{Initiation, Response, field};
use libfuzzer_sys::fuzz_target;

struct State {
    a: Wg,
    b: Wg,
    now: Instant,
    initiation: Vec<u8>,
    response: Vec<u8>,
    /// Stamps MACs as A would for B, and as B would for A.
    jar_to_b: CookieJar,
    jar_to_a: CookieJar,
}

fn node(n: u16) -> NodeId {
    NodeId::new(n).unwrap()
}

fn from() -> SocketAddr {
    "192.0.2.1:51820".parse().unwrap()
}

fn drain(wg: &mut Wg) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; MAX_CONTROL_LEN];
    while let Some(t) = wg.poll_transmit(&mut buf) {
        let (WgTransmit::ToPeer { len, .. } | WgTransmit::ToAddr { len, .. }) = t;
        out.push(buf[..len].to_vec());
    }
    while wg.poll_event().is_some() {}
    out
}

fn setup() -> State {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let unix = Duration::from_secs(1_700_000_000);
    let (ka, kb) = (
        private_key_from_random([1; 32]),
        private_key_from_random([2; 32]),
    );
    let mut a = Wg::new(&ka, [1; 32], now, unix);
    let mut b = Wg::new(&kb, [2; 32], now, unix);
    a.add_peer(node(2), &public_key(&kb), None, None);
    b.add_peer(node(1), &public_key(&ka), None, None);
    a.initiate(now, node(2));
    let initiation = drain(&mut a).remove(0);
    let mut d = initiation.clone();
    b.open(now, from(), &mut d);
    let response = drain(&mut b).remove(0);
    let mut d = response.clone();
    a.open(now, from(), &mut d);
    for mut d in drain(&mut a) {
        b.open(now, from(), &mut d);
    }
    let jar_to_b = CookieJar::new(public_key(&kb).as_bytes());
    let jar_to_a = CookieJar::new(public_key(&ka).as_bytes());
    State {
        a,
        b,
        now,
        initiation,
        response,
        jar_to_b,
        jar_to_a,
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(setup());
}

fn xor(base: &mut [u8], noise: &[u8]) {
    for (b, n) in base.iter_mut().zip(noise) {
        *b ^= n;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    STATE.with(|s| {
        let s = &mut *s.borrow_mut();
        s.now += Duration::from_millis(u64::from(mode >> 2) * 4);
        let now = s.now;
        let (mut datagram, to_b) = match mode % 4 {
            0 => (rest.to_vec(), true),
            1 => {
                let len = 64;
                let mut buf = vec![0u8; TRANSPORT_HEADER_LEN + len + TAG_LEN];
                let Ok(range) = s.a.seal(
                    now,
                    node(2),
                    &mut buf,
                    TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + len,
                ) else {
                    return;
                };
                let mut d = buf[range].to_vec();
                xor(&mut d, rest);
                (d, true)
            }
            2 => {
                let mut d = s.initiation.clone();
                xor(&mut d, rest);
                let sender = u32::from_le_bytes([d[4], d[5], d[6], d[7]]);
                let noise = d[field::initiation::NOISE].to_vec();
                if let Ok(mut view) = Initiation::emit(&mut d, sender, &noise) {
                    let (mac1, _) = s.jar_to_b.macs(&view, now);
                    view.set_mac1(&mac1);
                }
                (d, true)
            }
            _ => {
                let mut d = s.response.clone();
                xor(&mut d, rest);
                let sender = u32::from_le_bytes([d[4], d[5], d[6], d[7]]);
                let receiver = u32::from_le_bytes([d[8], d[9], d[10], d[11]]);
                let noise = d[field::response::NOISE].to_vec();
                if let Ok(mut view) = Response::emit(&mut d, sender, receiver, &noise) {
                    let (mac1, _) = s.jar_to_a.macs(&view, now);
                    view.set_mac1(&mac1);
                }
                (d, false)
            }
        };
        let changed = rest.iter().take(datagram.len()).any(|&x| x != 0);
        let wg = if to_b { &mut s.b } else { &mut s.a };
        let opened = wg.open(now, from(), &mut datagram);
        if mode % 4 == 1 && changed {
            assert!(
                !matches!(opened, Opened::Data { .. }),
                "forged transport data opened"
            );
        }
        s.a.handle_timeout(now);
        s.b.handle_timeout(now);
        for _ in 0..4 {
            for mut d in drain(&mut s.a) {
                s.b.open(now, from(), &mut d);
            }
            for mut d in drain(&mut s.b) {
                s.a.open(now, from(), &mut d);
            }
        }
    });
});
