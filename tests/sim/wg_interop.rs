//! Interop with boringtun 0.7 as the peer: egd's handshake, cookie and
//! transport messages must be byte-compatible with a standard WireGuard
//! implementation (docs/system.md#crypto). boringtun reads the real clock internally;
//! egd gets a virtual one, which is fine because neither side compares the
//! other's clock except through TAI64N monotonicity per peer.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use boringtun::noise::{Tunn, TunnResult};
use boringtun::x25519::{PublicKey as BtPublic, StaticSecret};
use egd::NodeId;
use egd::drop::DropReason;
use egd::wg::constants::UNDER_LOAD_HANDSHAKES;
use egd::wg::keys::{private_key_from_random, public_key};
use egd::wg::{MAX_CONTROL_LEN, Opened, TAG_LEN, TRANSPORT_HEADER_LEN, Wg, WgEvent, WgTransmit};
use egd::wg::{PresharedKey, PrivateKey};

fn base() -> Instant {
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

const UNIX: Duration = Duration::from_secs(1_700_000_000);
const BT_ADDR: &str = "198.51.100.2:51820";
const EGD_IP: [u8; 4] = [198, 51, 100, 1];

fn bt_node() -> NodeId {
    NodeId::new(2).unwrap()
}

fn bt_addr() -> SocketAddr {
    BT_ADDR.parse().unwrap()
}

struct Setup {
    egd: Wg,
    bt: Tunn,
    now: Instant,
}

fn keys() -> (PrivateKey, PrivateKey) {
    (
        private_key_from_random([0x11; 32]),
        private_key_from_random([0x22; 32]),
    )
}

/// egd (node 1) with boringtun (node 2) as its peer. `egd_psk`/`bt_psk` may
/// differ; `bt_sees`/`egd_sees` are the public keys each side believes in.
fn setup_with(egd_psk: Option<[u8; 32]>, bt_psk: Option<[u8; 32]>, wrong_keys: bool) -> Setup {
    let (egd_private, bt_private) = keys();
    let now = base();
    let mut egd = Wg::new(&egd_private, [5; 32], now, UNIX);
    let mut bt_public = public_key(&bt_private);
    let mut egd_public = public_key(&egd_private);
    if wrong_keys {
        bt_public = public_key(&private_key_from_random([0x33; 32]));
        egd_public = public_key(&private_key_from_random([0x44; 32]));
    }
    let psk = egd_psk.map(PresharedKey::from_bytes);
    egd.add_peer(bt_node(), &bt_public, psk.as_ref(), None);
    let bt = Tunn::new(
        StaticSecret::from(*bt_private.as_bytes()),
        BtPublic::from(*egd_public.as_bytes()),
        bt_psk,
        None,
        7,
        None,
    );
    Setup { egd, bt, now }
}

fn setup() -> Setup {
    setup_with(Some([9; 32]), Some([9; 32]), false)
}

/// A minimal IPv4 packet (boringtun only forwards IP packets).
fn ipv4(payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&EGD_IP);
    p[16..20].copy_from_slice(&[10, 0, 0, 2]);
    p[20..].copy_from_slice(payload);
    p
}

impl Setup {
    /// egd's queued control datagrams.
    fn egd_out(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; MAX_CONTROL_LEN];
        while let Some(t) = self.egd.poll_transmit(&mut buf) {
            let len = match t {
                WgTransmit::ToPeer { peer, len } => {
                    assert_eq!(peer, bt_node());
                    len
                }
                WgTransmit::ToAddr { addr, len } => {
                    assert_eq!(addr, bt_addr());
                    len
                }
            };
            out.push(buf[..len].to_vec());
        }
        out
    }

    /// boringtun receives `datagram`; returns what it writes to the network
    /// (including any queued follow-ups) and what it delivers to its tunnel.
    fn bt_in(&mut self, datagram: &[u8]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Option<String>) {
        let mut net = Vec::new();
        let mut tun = Vec::new();
        let mut err = None;
        let mut out = vec![0u8; 2048];
        let src = Some(IpAddr::from(EGD_IP));
        let mut input: &[u8] = datagram;
        loop {
            match self.bt.decapsulate(src, input, &mut out) {
                TunnResult::WriteToNetwork(d) => net.push(d.to_vec()),
                TunnResult::WriteToTunnelV4(p, _) => {
                    tun.push(p.to_vec());
                    break;
                }
                TunnResult::WriteToTunnelV6(p, _) => {
                    tun.push(p.to_vec());
                    break;
                }
                TunnResult::Err(e) => {
                    err = Some(format!("{e:?}"));
                    break;
                }
                TunnResult::Done => break,
            }
            input = &[]; // boringtun: repeat with an empty datagram to flush its queue
        }
        (net, tun, err)
    }

    fn egd_in(&mut self, datagram: &mut [u8]) -> Opened {
        let now = self.now;
        self.egd.open(now, bt_addr(), datagram)
    }

    fn egd_events(&mut self) -> Vec<WgEvent> {
        std::iter::from_fn(|| self.egd.poll_event()).collect()
    }

    /// egd seals `payload`, boringtun must deliver exactly it.
    fn egd_to_bt(&mut self, packet: &[u8]) {
        let mut buf = vec![0u8; TRANSPORT_HEADER_LEN + packet.len() + TAG_LEN];
        let payload = TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + packet.len();
        buf[payload.clone()].copy_from_slice(packet);
        let now = self.now;
        let range = self.egd.seal(now, bt_node(), &mut buf, payload).unwrap();
        let (net, tun, err) = self.bt_in(&buf[range]);
        assert_eq!(err, None);
        assert!(net.is_empty());
        assert_eq!(tun, vec![packet.to_vec()]);
    }

    /// boringtun encapsulates `packet`, egd must open exactly it.
    fn bt_to_egd(&mut self, packet: &[u8]) {
        let mut out = vec![0u8; 2048];
        let TunnResult::WriteToNetwork(d) = self.bt.encapsulate(packet, &mut out) else {
            panic!("boringtun has no session");
        };
        let mut d = d.to_vec();
        match self.egd_in(&mut d) {
            Opened::Data { peer, payload } => {
                assert_eq!(peer, bt_node());
                assert_eq!(&d[payload], packet);
            }
            other => panic!("egd did not open boringtun's data: {other:?}"),
        }
    }
}

#[test]
fn egd_initiates_boringtun_responds() {
    let mut s = setup();
    let now = s.now;
    s.egd.initiate(now, bt_node());
    let init = s.egd_out();
    assert_eq!(init.len(), 1);
    let (net, _, err) = s.bt_in(&init[0]);
    assert_eq!(err, None);
    assert_eq!(net.len(), 1, "boringtun answers with a response");
    assert_eq!(net[0].len(), 92);
    let mut resp = net[0].clone();
    assert_eq!(
        s.egd_in(&mut resp),
        Opened::Handshake {
            peer: Some(bt_node())
        }
    );
    assert_eq!(
        s.egd_events(),
        vec![WgEvent::SessionEstablished { peer: bt_node() }]
    );
    // egd's confirmation keepalive lets boringtun use the session.
    let confirm = s.egd_out();
    assert_eq!(confirm.len(), 1);
    let (net, tun, err) = s.bt_in(&confirm[0]);
    assert_eq!((net.len(), tun.len(), err), (0, 0, None));
    for i in 0..20u8 {
        s.egd_to_bt(&ipv4(&[i; 100]));
        s.bt_to_egd(&ipv4(&[i ^ 0xff; 1400]));
    }
}

#[test]
fn boringtun_initiates_egd_responds() {
    let mut s = setup();
    let mut out = vec![0u8; 2048];
    let TunnResult::WriteToNetwork(init) = s.bt.format_handshake_initiation(&mut out, false) else {
        panic!("no initiation");
    };
    let mut init = init.to_vec();
    assert_eq!(init.len(), 148);
    assert_eq!(
        s.egd_in(&mut init),
        Opened::Handshake {
            peer: Some(bt_node())
        }
    );
    assert!(!s.egd.has_session(bt_node()), "egd waits for confirmation");
    let resp = s.egd_out();
    assert_eq!(resp.len(), 1);
    let (net, _, err) = s.bt_in(&resp[0]);
    assert_eq!(err, None);
    assert_eq!(net.len(), 1, "boringtun confirms with a keepalive");
    let mut keepalive = net[0].clone();
    assert_eq!(
        s.egd_in(&mut keepalive),
        Opened::Data {
            peer: bt_node(),
            payload: 16..16
        }
    );
    assert!(s.egd.has_session(bt_node()));
    assert_eq!(
        s.egd_events(),
        vec![WgEvent::SessionEstablished { peer: bt_node() }]
    );
    for i in 0..20u8 {
        s.bt_to_egd(&ipv4(&[i; 64]));
        s.egd_to_bt(&ipv4(&[i; 1000]));
    }
}

#[test]
fn wrong_psk_fails_cleanly_both_ways() {
    // egd initiates: boringtun cannot tell yet and responds; egd refuses the response.
    let mut s = setup_with(Some([1; 32]), Some([2; 32]), false);
    let now = s.now;
    s.egd.initiate(now, bt_node());
    let init = s.egd_out();
    let (net, _, _) = s.bt_in(&init[0]);
    let mut resp = net[0].clone();
    assert_eq!(
        s.egd_in(&mut resp),
        Opened::Dropped(DropReason::DecryptFailed)
    );
    assert!(!s.egd.has_session(bt_node()));
    assert!(s.egd_events().is_empty());

    // boringtun initiates: egd responds; boringtun refuses the response.
    let mut s = setup_with(None, Some([2; 32]), false);
    let mut out = vec![0u8; 2048];
    let TunnResult::WriteToNetwork(init) = s.bt.format_handshake_initiation(&mut out, false) else {
        panic!();
    };
    let mut init = init.to_vec();
    assert_eq!(
        s.egd_in(&mut init),
        Opened::Handshake {
            peer: Some(bt_node())
        }
    );
    let resp = s.egd_out();
    let (net, tun, err) = s.bt_in(&resp[0]);
    assert!(err.is_some(), "boringtun rejects the response");
    assert!(net.is_empty() && tun.is_empty());
    assert!(!s.egd.has_session(bt_node()));
}

#[test]
fn wrong_keys_fail_cleanly_both_ways() {
    let mut s = setup_with(None, None, true);
    let now = s.now;
    s.egd.initiate(now, bt_node());
    let init = s.egd_out();
    let (net, tun, err) = s.bt_in(&init[0]);
    assert!(err.is_some(), "mac1 keyed with the wrong public key");
    assert!(net.is_empty() && tun.is_empty());

    let mut out = vec![0u8; 2048];
    let TunnResult::WriteToNetwork(init) = s.bt.format_handshake_initiation(&mut out, false) else {
        panic!();
    };
    let mut init = init.to_vec();
    assert_eq!(s.egd_in(&mut init), Opened::Dropped(DropReason::BadMac1));
    assert!(s.egd_out().is_empty());
    assert!(!s.egd.has_session(bt_node()));
}

#[test]
fn cookie_reply_under_load_accepted_by_boringtun() {
    let mut s = setup();
    let mut out = vec![0u8; 2048];
    let TunnResult::WriteToNetwork(init) = s.bt.format_handshake_initiation(&mut out, false) else {
        panic!();
    };
    let init = init.to_vec();
    // Put egd under load: more than UNDER_LOAD_HANDSHAKES handshake messages
    // in this interval (junk with a broken mac1 counts, costing no DH).
    for _ in 0..=UNDER_LOAD_HANDSHAKES {
        let mut junk = init.clone();
        junk[120] ^= 1;
        assert_eq!(s.egd_in(&mut junk), Opened::Dropped(DropReason::BadMac1));
    }
    let mut first = init.clone();
    assert_eq!(
        s.egd_in(&mut first),
        Opened::Dropped(DropReason::CookieRequired)
    );
    let reply = s.egd_out();
    assert_eq!(reply.len(), 1);
    assert_eq!(reply[0].len(), 64);
    let (net, tun, err) = s.bt_in(&reply[0]);
    assert_eq!(
        (net.len(), tun.len(), err),
        (0, 0, None),
        "boringtun accepts the cookie"
    );

    // boringtun retries (its retransmit, forced here) and now includes mac2.
    let TunnResult::WriteToNetwork(retry) = s.bt.format_handshake_initiation(&mut out, true) else {
        panic!();
    };
    let mut retry = retry.to_vec();
    assert_ne!(&retry[132..148], &[0u8; 16], "mac2 present");
    s.now += Duration::from_millis(100);
    assert_eq!(
        s.egd_in(&mut retry),
        Opened::Handshake {
            peer: Some(bt_node())
        }
    );
    let resp = s.egd_out();
    assert_eq!(resp.len(), 1);
    let (net, _, err) = s.bt_in(&resp[0]);
    assert_eq!(err, None);
    let mut keepalive = net[0].clone();
    assert_eq!(
        s.egd_in(&mut keepalive),
        Opened::Data {
            peer: bt_node(),
            payload: 16..16
        }
    );
    assert!(s.egd.has_session(bt_node()));
    s.egd_to_bt(&ipv4(b"after the cookie"));
}

#[test]
fn boringtun_replay_rejected_by_egd() {
    let mut s = setup();
    let now = s.now;
    s.egd.initiate(now, bt_node());
    let init = s.egd_out();
    let (net, _, _) = s.bt_in(&init[0]);
    let mut resp = net[0].clone();
    s.egd_in(&mut resp);
    let confirm = s.egd_out();
    s.bt_in(&confirm[0]);
    let mut out = vec![0u8; 2048];
    let TunnResult::WriteToNetwork(d) = s.bt.encapsulate(&ipv4(b"x"), &mut out) else {
        panic!()
    };
    let d = d.to_vec();
    let mut first = d.clone();
    assert!(matches!(s.egd_in(&mut first), Opened::Data { .. }));
    let mut again = d.clone();
    assert_eq!(s.egd_in(&mut again), Opened::Dropped(DropReason::Replay));
}
