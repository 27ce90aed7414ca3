//! Simulated-network scenarios for the protocol core (virtual clock, many
//! nodes in one process): handshakes, rekeying, loss, replays, roaming, and
//! the original's six-node static network.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use egd::NodeId;
use egd::config::{Config, load_file};
use egd::drop::DropReason;
use egd::node::{Node, NodeConfig, NodeEvent, PeerConfig, next_hop_table};
use egd::sim::{HostId, Link, Sim};
use egd::wg::PrivateKey;
use egd::wg::keys::{private_key_from_random, public_key};
use egd_routing::NextHopTable;

#[allow(clippy::disallowed_methods)] // the simulation's origin; only differences matter
fn origin() -> Instant {
    Instant::now()
}

fn n(v: u16) -> NodeId {
    NodeId::new(v).unwrap()
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// An Ethernet frame from node `from` to `dst_mac` with a payload.
fn frame(dst_mac: [u8; 6], from: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&mac_of(from));
    f.extend_from_slice(&[0x88, 0xb5]); // local experimental ethertype
    f.extend_from_slice(payload);
    f
}

fn mac_of(node: u16) -> [u8; 6] {
    let b = node.to_be_bytes();
    [0xaa, 0xbb, 0xcc, 0xdd, b[0], b[1]]
}

const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// `count` nodes 1..=count, each a direct peer of every other and knowing
/// its endpoint, routing directly to each.
fn mesh(sim: &mut Sim, count: u16) -> Vec<HostId> {
    mesh_with_clocks(sim, count, &[])
}

/// As [`mesh`], with host `i`'s wall clock `clocks[i]` = (offset, behind).
fn mesh_with_clocks(sim: &mut Sim, count: u16, clocks: &[(Duration, bool)]) -> Vec<HostId> {
    let keys: Vec<PrivateKey> = (0..count)
        .map(|i| private_key_from_random([i as u8 + 1; 32]))
        .collect();
    let mut table = NextHopTable::new();
    for a in 1..=count {
        for b in (1..=count).filter(|b| *b != a) {
            table.insert(n(a), n(b), n(b));
        }
    }
    (1..=count)
        .map(|me| {
            let peers = (1..=count)
                .filter(|o| *o != me)
                .map(|o| PeerConfig {
                    id: n(o),
                    public_key: public_key(&keys[usize::from(o - 1)]),
                    preshared_key: None,
                    endpoint: Some(addr(3000 + o)),
                    is_static: false,
                    persistent_keepalive: None,
                })
                .collect();
            let cfg = NodeConfig {
                id: n(me),
                private_key: keys[usize::from(me - 1)].clone(),
                peers,
                default_ttl: 200,
                l2_fib_timeout: secs(3600),
                max_frame_len: 1418,
                next_hops: table.clone(),
                dup_check_timeout: secs(40),
                ping_interval: None,
            };
            let seed = sim.seed32();
            let (offset, behind) = clocks.get(usize::from(me - 1)).copied().unwrap_or_default();
            sim.add_host(addr(3000 + me), offset, behind, |now, unix| {
                Node::new(cfg, seed, now, unix)
            })
        })
        .collect()
}

/// Two directly connected nodes, 1 and 2.
fn pair(sim: &mut Sim) -> (HostId, HostId) {
    let hosts = mesh(sim, 2);
    (hosts[0], hosts[1])
}

#[test]
fn two_nodes_handshake_and_deliver() {
    let mut sim = Sim::new(1, origin());
    let (a, b) = pair(&mut sim);
    let f = frame(BROADCAST_MAC, 1, b"hello");
    sim.inject_frame(a, &f);
    sim.run_for(secs(1));
    assert_eq!(
        sim.host(b).frames,
        vec![f],
        "the parked frame is sent once the session is up"
    );
    assert!(
        sim.host(a)
            .events
            .contains(&NodeEvent::SessionEstablished { peer: n(2) })
    );
    assert!(
        sim.host(b)
            .events
            .contains(&NodeEvent::SessionEstablished { peer: n(1) })
    );
    // And back, now that b knows a's MAC is behind node 1: unicast.
    let back = frame(mac_of(1), 2, b"hi");
    sim.inject_frame(b, &back);
    sim.run_for(secs(1));
    assert_eq!(sim.host(a).frames, vec![back]);
}

#[test]
fn rekeys_after_120s_without_losing_a_frame() {
    let mut sim = Sim::new(2, origin());
    let (a, b) = pair(&mut sim);
    let mut sent = Vec::new();
    for i in 0..2000u32 {
        let f = frame(BROADCAST_MAC, 1, &i.to_be_bytes());
        sim.inject_frame(a, &f);
        sent.push(f);
        sim.run_for(ms(100));
    }
    sim.run_for(secs(1));
    assert!(sim.elapsed() > secs(200));
    assert_eq!(
        sim.host(b).frames.len(),
        sent.len(),
        "no frame lost across rekeys"
    );
    assert_eq!(sim.host(b).frames, sent, "in order, none duplicated");
    let handshakes = sim.host(a).node.metrics().peers[&n(2)].handshakes
        + sim.host(b).node.metrics().peers[&n(1)].handshakes;
    assert!(
        handshakes >= 2,
        "200 s of traffic needs a rekey (REKEY_AFTER_TIME = 120 s), saw {handshakes}"
    );
}

#[test]
fn twenty_percent_loss_both_ways_still_works() {
    let mut sim = Sim::new(3, origin());
    let (a, b) = pair(&mut sim);
    let lossy = Link {
        loss: 0.2,
        ..Link::with_delay(ms(20))
    };
    sim.set_link_both(a, b, lossy);
    for i in 0..300u32 {
        sim.inject_frame(a, &frame(BROADCAST_MAC, 1, &i.to_be_bytes()));
        sim.run_for(ms(200));
    }
    sim.run_for(secs(5));
    let got = sim.host(b).frames.len();
    assert!(
        sim.host(a)
            .events
            .contains(&NodeEvent::SessionEstablished { peer: n(2) })
    );
    // 20 % of data datagrams are lost; frames parked before the first
    // session may also be lost with the handshake, so expect well over half.
    assert!(got >= 200, "delivered {got} of 300 through 20% loss");
    assert!(sim.stats.lost > 0);
}

#[test]
fn replayed_datagrams_are_rejected() {
    let mut sim = Sim::new(4, origin());
    let (a, b) = pair(&mut sim);
    let echo = Link {
        duplicate: 1.0,
        ..Link::with_delay(ms(5))
    };
    sim.set_link_both(a, b, echo);
    let mut sent = Vec::new();
    for i in 0..50u32 {
        let f = frame(BROADCAST_MAC, 1, &i.to_be_bytes());
        sim.inject_frame(a, &f);
        sent.push(f);
        sim.run_for(ms(50));
    }
    sim.run_for(secs(1));
    assert_eq!(sim.host(b).frames, sent, "each frame exactly once");
    let replays = sim.host(b).node.metrics().dropped_for(DropReason::Replay);
    assert!(
        replays >= 49,
        "every duplicate transport datagram is a replay, saw {replays}"
    );
}

#[test]
fn roaming_peer_is_followed() {
    let mut sim = Sim::new(5, origin());
    let (a, b) = pair(&mut sim);
    sim.inject_frame(a, &frame(BROADCAST_MAC, 1, b"first"));
    sim.run_for(secs(1));
    assert_eq!(sim.host(b).frames.len(), 1);
    // b moves; it speaks first from its new address.
    sim.move_host(b, addr(4002));
    sim.inject_frame(b, &frame(mac_of(1), 2, b"from new address"));
    sim.run_for(secs(1));
    assert_eq!(sim.host(a).frames.len(), 1);
    assert_eq!(sim.host(a).node.endpoint(n(2)), Some(addr(4002)));
    // a's traffic now reaches b at the new address.
    sim.inject_frame(a, &frame(mac_of(2), 1, b"second"));
    sim.run_for(secs(1));
    assert_eq!(sim.host(b).frames.len(), 2);
    assert!(sim.host(a).events.contains(&NodeEvent::EndpointChanged {
        peer: n(2),
        endpoint: addr(4002)
    }));
}

/// The original's static example: six nodes on 127.0.0.1:3001–3006, their
/// peers and `NextHopTable` exactly as in the YAML files.
fn static_example(sim: &mut Sim) -> Vec<HostId> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/upstream-examples/static_mode");
    (1..=6)
        .map(|i| {
            let Config::Edge(edge) = load_file(&dir.join(format!("EgNet_edge{i}.yaml")), None)
                .unwrap()
                .config
            else {
                panic!("edge expected")
            };
            let cfg = NodeConfig::from_edge(&edge, |_, _| None);
            let seed = sim.seed32();
            sim.add_host(addr(3000 + i), Duration::ZERO, false, |now, unix| {
                Node::new(cfg, seed, now, unix)
            })
        })
        .collect()
}

#[test]
fn six_node_static_network_broadcasts_once_and_unicasts_along_the_table() {
    let mut sim = Sim::new(6, origin());
    let hosts = static_example(&mut sim);
    // Sessions first (the first broadcast would otherwise wait in queues).
    let hello = frame(BROADCAST_MAC, 1, b"hello");
    sim.inject_frame(hosts[0], &hello);
    sim.run_for(secs(2));
    for (i, &h) in hosts.iter().enumerate().skip(1) {
        assert_eq!(
            sim.host(h).frames,
            vec![hello.clone()],
            "node {} receives the broadcast exactly once",
            i + 1
        );
    }
    assert!(
        sim.host(hosts[0]).frames.is_empty(),
        "the source does not hear its own broadcast"
    );
    // Node 5 announces itself so everyone learns its MAC.
    sim.inject_frame(hosts[4], &frame(BROADCAST_MAC, 5, b"I am 5"));
    sim.run_for(secs(2));
    let before: Vec<u64> = hosts
        .iter()
        .map(|&h| sim.host(h).node.metrics().forwarded_unicast)
        .collect();
    let counts: Vec<usize> = hosts.iter().map(|&h| sim.host(h).frames.len()).collect();
    // Unicast 1 → 5: the table says 1→2→3→5.
    let uni = frame(mac_of(5), 1, b"only for 5");
    sim.inject_frame(hosts[0], &uni);
    sim.run_for(secs(2));
    for (i, &h) in hosts.iter().enumerate() {
        let got = sim.host(h).frames.len() - counts[i];
        assert_eq!(got, usize::from(i == 4), "node {} frames", i + 1);
        let relayed = sim.host(h).node.metrics().forwarded_unicast - before[i];
        let expected = u64::from(i == 1 || i == 2);
        assert_eq!(relayed, expected, "node {} relayed", i + 1);
    }
    assert_eq!(sim.host(hosts[4]).frames.last(), Some(&uni));
    let table = next_hop_table(&Default::default());
    assert!(table.is_empty());
}

#[test]
fn ttl_ends_a_routing_loop() {
    let mut sim = Sim::new(7, origin());
    let hosts = mesh(&mut sim, 3);
    // A broken table: 1 sends node 9's traffic to 2; 2 and 3 each think the
    // other is the way to node 9.
    let mut loop_table = NextHopTable::new();
    for (src, hop) in [(1, 2), (2, 3), (3, 2)] {
        loop_table.insert(n(src), n(9), n(hop));
    }
    for a in 1..=3u16 {
        for b in (1..=3u16).filter(|b| *b != a) {
            loop_table.insert(n(a), n(b), n(b));
        }
    }
    for &h in &hosts {
        sim.with_node(h, |node, _| node.set_next_hops(loop_table.clone()));
    }
    let query = egd::wire::control::Control {
        seq: 0,
        body: egd::wire::control::Body::QueryPeer { request_id: 1 },
    };
    sim.with_node(hosts[0], |node, now| node.send_control(now, 9, &query));
    sim.run_for(secs(30));
    let total = |f: &dyn Fn(&egd::metrics::Metrics) -> u64| -> u64 {
        hosts.iter().map(|&h| f(sim.host(h).node.metrics())).sum()
    };
    assert_eq!(
        total(&|m| m.dropped_for(DropReason::TtlExpired)),
        1,
        "the looping packet dies once its TTL is spent"
    );
    // Sent with TTL 200; each relay decrements and forwards while ≥ 1 remains.
    assert_eq!(total(&|m| m.forwarded_unicast), 199);
}

#[test]
fn control_messages_reach_their_node_as_events() {
    let mut sim = Sim::new(8, origin());
    let hosts = mesh(&mut sim, 3);
    let query = egd::wire::control::Control {
        seq: 0,
        body: egd::wire::control::Body::QueryPeer { request_id: 42 },
    };
    let seq = sim.with_node(hosts[0], |node, now| {
        node.send_control_direct(now, n(3), &query)
    });
    sim.run_for(secs(2));
    let got: Vec<_> = sim
        .host(hosts[2])
        .events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Control {
                from_peer,
                src,
                kind,
                seq,
                body,
                ..
            } => Some((*from_peer, *src, *kind, *seq, body.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 1, "{got:?}");
    let (from_peer, src, kind, got_seq, body) = got[0].clone();
    assert_eq!(
        (from_peer, src, kind, got_seq),
        (n(1), 1, egd::wire::header::Kind::QueryPeer, seq)
    );
    let parsed = egd::wire::control::Control::parse(kind, &body).unwrap();
    assert_eq!(parsed.body, query.body);
    assert!(
        sim.host(hosts[1])
            .events
            .iter()
            .all(|e| !matches!(e, NodeEvent::Control { .. })),
        "node 2 is not involved"
    );
}

#[test]
fn one_way_latency_with_skewed_clocks_sums_to_the_round_trip() {
    let mut sim = Sim::new(9, origin());
    // A's clock is 3 s ahead of true time, B's 2 s behind.
    let hosts = mesh_with_clocks(&mut sim, 2, &[(secs(3), false), (secs(2), true)]);
    let (a, b) = (hosts[0], hosts[1]);
    sim.set_link(a, b, Link::with_delay(ms(30)));
    sim.set_link(b, a, Link::with_delay(ms(70)));
    for h in [a, b] {
        sim.with_node(h, |node, now| node.set_ping_interval(Some(secs(1)), now));
    }
    sim.run_for(secs(5));
    let measured = |h: HostId, from: u16| -> Vec<i64> {
        sim.host(h)
            .events
            .iter()
            .filter_map(|e| match e {
                NodeEvent::LatencyMeasured {
                    from: f,
                    one_way_ns,
                    ..
                } if *f == n(from) => Some(*one_way_ns),
                _ => None,
            })
            .collect()
    };
    let (a_to_b, b_to_a) = (measured(b, 1), measured(a, 2));
    assert!(
        a_to_b.len() >= 3 && b_to_a.len() >= 3,
        "{a_to_b:?} {b_to_a:?}"
    );
    // Each direction: the true delay plus the receiver's offset minus the
    // sender's. The sim is exact, so these are exact.
    let s = 1_000_000_000i64;
    assert!(
        a_to_b.iter().all(|&v| v == 30_000_000 - 2 * s - 3 * s),
        "{a_to_b:?}"
    );
    assert!(
        b_to_a.iter().all(|&v| v == 70_000_000 + 3 * s + 2 * s),
        "{b_to_a:?}"
    );
    assert_eq!(
        a_to_b[0] + b_to_a[0],
        100_000_000,
        "offsets cancel over the round trip"
    );
}
