//! A neighbour that does not answer, on the simulated network: the pings
//! keep probing it, but back off after a failed handshake, so it costs a
//! few initiations an hour instead of one every REKEY_TIMEOUT forever; when
//! it answers again it gets a session within the back-off (pings alone) or
//! at once (a frame routed to it).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::Duration;

use egd::node::{Node, NodeConfig, PROBE_BACKOFF_MAX, PeerConfig};
use egd::sim::{HostId, Link, Sim};
use egd::wg::constants::{REKEY_ATTEMPT_TIME, REKEY_TIMEOUT};
use egd::wg::keys::public_key;
use egd_routing::NextHopTable;

use crate::support::sim::{addr, key, n, origin, secs};

const PING: Duration = Duration::from_secs(16);

/// Nodes 1 and 2, neighbours routed directly to each other, pinging every
/// 16 s; the link between them starts down.
fn pair(sim: &mut Sim) -> (HostId, HostId) {
    let mut table = NextHopTable::new();
    table.insert(n(1), n(2), n(2));
    table.insert(n(2), n(1), n(1));
    let mut hosts = [1u16, 2].map(|me| {
        let other = 3 - me;
        let cfg = NodeConfig {
            id: n(me),
            private_key: key(me),
            peers: vec![PeerConfig {
                id: n(other),
                public_key: public_key(&key(other)),
                preshared_key: None,
                endpoint: Some(addr(other)),
                is_static: false,
                persistent_keepalive: None,
            }],
            default_ttl: 64,
            l2_fib_timeout: secs(600),
            max_frame_len: 1418,
            next_hops: table.clone(),
            dup_check_timeout: secs(40),
            ping_interval: Some(PING),
        };
        let seed = sim.seed32();
        sim.add_host(addr(me), Duration::ZERO, false, |now, unix| {
            Node::new(cfg, seed, now, unix)
        })
    });
    hosts.sort();
    set_link(sim, hosts[0], hosts[1], false);
    (hosts[0], hosts[1])
}

fn set_link(sim: &mut Sim, a: HostId, b: HostId, up: bool) {
    sim.set_link_both(
        a,
        b,
        Link {
            up,
            ..Link::default()
        },
    );
}

fn initiations(sim: &Sim, h: HostId) -> u64 {
    sim.host(h).node.wg_stats().initiations_sent
}

fn both_have_sessions(sim: &Sim, a: HostId, b: HostId) -> bool {
    sim.host(a).node.has_session(n(2)) && sim.host(b).node.has_session(n(1))
}

/// Runs until both ends hold a session; the virtual time it took.
fn until_sessions(sim: &mut Sim, a: HostId, b: HostId, limit: Duration) -> Duration {
    let start = sim.elapsed();
    while !both_have_sessions(sim, a, b) {
        assert!(
            sim.elapsed() - start <= limit,
            "no session within {limit:?}"
        );
        sim.run_for(Duration::from_millis(100));
    }
    sim.elapsed() - start
}

#[test]
fn a_neighbour_that_never_answers_costs_a_few_initiations_an_hour() {
    let mut sim = Sim::new(7, origin());
    let (a, b) = pair(&mut sim);
    // The first hour: one full attempt (REKEY_ATTEMPT_TIME of retries every
    // REKEY_TIMEOUT), then single-initiation probes backing off 30 s,
    // 60 s, 120 s, 240 s, then every PROBE_BACKOFF_MAX.
    sim.run_for(secs(3600));
    let full = REKEY_ATTEMPT_TIME.as_secs() / REKEY_TIMEOUT.as_secs() + 1;
    let per_hour = 3600 / PROBE_BACKOFF_MAX.as_secs() + 1;
    let growing = 4; // the back-offs shorter than the maximum
    let first = initiations(&sim, a);
    eprintln!("first hour: {first} initiations (full attempt {full}, then ≤ {per_hour}/h)");
    assert!(
        first <= full + growing + per_hour,
        "{first} initiations in the first hour"
    );
    // Every later hour: at most one probe per back-off period. Before the
    // fix each ping restarted the attempt: 720 an hour (one per 5 s).
    for hour in 2..=4 {
        let before = initiations(&sim, a);
        sim.run_for(secs(3600));
        let this = initiations(&sim, a) - before;
        eprintln!("hour {hour}: {this} initiations");
        assert!(this <= per_hour, "{this} initiations in hour {hour}");
        assert!(this >= per_hour - 2, "still probing: {this} in hour {hour}");
        assert!(!sim.host(a).node.has_session(n(2)));
    }
    assert!(initiations(&sim, b) > 0, "both ends probe");

    // The link heals: the pings alone bring the session back within one
    // back-off period plus a ping interval and a round trip.
    set_link(&mut sim, a, b, true);
    let took = until_sessions(&mut sim, a, b, PROBE_BACKOFF_MAX + PING + secs(1));
    eprintln!("pings reconnected after {took:?}");
}

#[test]
fn a_frame_reconnects_at_once_while_pings_back_off() {
    let mut sim = Sim::new(8, origin());
    let (a, b) = pair(&mut sim);
    sim.run_for(secs(3600));
    set_link(&mut sim, a, b, true);
    // A frame routed to node 2 is data waiting: a handshake at once,
    // whatever the back-off (or, if a probe's initiation is in flight,
    // its retry after REKEY_TIMEOUT, as WireGuard sends at most one
    // initiation per REKEY_TIMEOUT).
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x88, 0xb5, 1, 2, 3, 4]);
    sim.inject_frame(a, &frame);
    let took = until_sessions(&mut sim, a, b, REKEY_TIMEOUT + secs(1));
    sim.run_for(secs(1));
    assert_eq!(sim.host(b).frames, vec![frame], "the parked frame arrives");
    eprintln!("a frame reconnected after {took:?}");
}
