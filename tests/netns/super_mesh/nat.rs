//! Two private networks behind two NAT routers (nftables masquerade) on a
//! public segment, and the check that edge 1 and edge 2 ping each other on
//! the direct path between the two NATs' public addresses.
//!
//! ```text
//! public: br0 198.51.100.1/24 (the supernode, if any)
//!   ├─ nat1: wan 198.51.100.2, lan 10.1.0.1/24 ── lan1: eth0 10.1.0.2, edge 1
//!   └─ nat2: wan 198.51.100.3, lan 10.2.0.1/24 ── lan2: eth0 10.2.0.2, edge 2
//! ```
//!
//! Nothing routes the private networks across the public segment: the edges
//! can only meet through the NAT mappings.

use std::time::Duration;

use crate::support::http;
use crate::support::netns::{Netns, run};
use crate::support::procs::Proc;
use crate::support::{counter_reaches, wait_for};

use super::config::EDGE_METRICS;
use super::kernel::{
    FORWARDED_UNICAST, address, assert_running, bridge, counter, enslave, let_metrics_catch_up,
    logs, nft, nft_counter, ping, rx_from, super_state, tap_up, veth,
};

/// The supernode's address on the public segment.
pub const PUBLIC_SUPER: &str = "198.51.100.1";

/// NAT `n`'s (1 or 2) public address.
pub fn public_address(n: u16) -> String {
    format!("198.51.100.{}", n + 1)
}

// Processes must be stopped before the namespaces go: callers declare
// their `Proc`s after the `NatNet`, so they drop first.
pub struct NatNet {
    pub public: Netns,
    pub routers: [Netns; 2],
    pub lans: [Netns; 2],
}

/// Router `n`'s rules: masquerade onto the public segment, drop what
/// arrives there unsolicited, count what leaves for the other router.
///
/// The input drop is what a home router does, and it matters: an
/// unsolicited datagram that reached the router's own stack would leave a
/// conntrack entry behind whose tuple is exactly the one the router's own
/// edge needs for its outgoing mapping, so that mapping would get another
/// port and hole punching would fail for a reason that is Linux's, not
/// egd's. Dropped in the input hook, the entry is never confirmed.
fn router_rules(other_router: &str) -> String {
    format!(
        r#"table inet egdtest {{
  counter to_other_router {{}}
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }}
  chain input {{
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state new drop
  }}
  chain forward {{
    type filter hook forward priority filter; policy accept;
    oifname "wan" ip daddr {other_router} counter name "to_other_router"
  }}
}}
"#
    )
}

impl NatNet {
    pub fn build() -> NatNet {
        let public = Netns::new("pub");
        bridge(&public, &format!("{PUBLIC_SUPER}/24"));
        let routers = [Netns::new("nat1"), Netns::new("nat2")];
        let lans = [Netns::new("lan1"), Netns::new("lan2")];
        for (n, (router, lan)) in (1u16..).zip(routers.iter().zip(&lans)) {
            let uplink = format!("wan{n}");
            veth(router, "wan", &public, &uplink);
            enslave(&public, &uplink);
            address(router, "wan", &format!("{}/24", public_address(n)));
            veth(lan, "eth0", router, "lan");
            address(router, "lan", &format!("10.{n}.0.1/24"));
            address(lan, "eth0", &format!("10.{n}.0.2/24"));
            run(lan
                .cmd("ip")
                .args(["route", "add", "default", "via", &format!("10.{n}.0.1")]));
            run(router
                .cmd("sh")
                .args(["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]));
            nft(router, &router_rules(&public_address(3 - n)));
        }
        NatNet {
            public,
            routers,
            lans,
        }
    }

    /// With edge 1 and 2 running in `lan1` and `lan2` (and the supernode,
    /// if any, on the public segment): both taps come up, edge 1 reaches
    /// edge 2 within 40 s, and then a flow of 40 pings crosses on the
    /// direct path: every request leaves NAT 1 addressed to NAT 2's public
    /// address and every reply the other way, each edge counts the other's
    /// packets, and neither relays anything.
    pub fn check_direct_pings(&self, mut supernode: Option<&mut Proc>, edges: &mut [Proc; 2]) {
        let report = |supernode: Option<&Proc>, edges: &[Proc; 2]| {
            let mut procs = vec![("edge 1", &edges[0]), ("edge 2", &edges[1])];
            procs.extend(supernode.map(|s| ("supernode", s)));
            format!(
                "{}\nsupernode state: {}",
                logs(&procs),
                super_state(&self.public, PUBLIC_SUPER)
            )
        };
        for (n, lan) in (1u16..).zip(&self.lans) {
            let cidr = format!("10.66.0.{n}/24");
            assert!(
                tap_up(lan, &cidr),
                "edge {n}'s tap has {cidr}:\n{}",
                report(supernode.as_deref(), edges)
            );
        }
        // Register, fetch the peer list, punch through both NATs.
        let connected = wait_for(Duration::from_secs(40), || {
            if let Some(s) = supernode.as_deref_mut() {
                assert_running(s, "the supernode");
            }
            for (n, e) in (1u16..).zip(edges.iter_mut()) {
                assert_running(e, &format!("edge {n}"));
            }
            (ping(&self.lans[0], "10.66.0.2", 1, "0.2").0 == 1).then_some(())
        });
        assert!(
            connected.is_some(),
            "edge 1 pings edge 2 across both NATs:\n{}",
            report(supernode.as_deref(), edges)
        );

        let_metrics_catch_up();
        let to_other = |n: usize| nft_counter(&self.routers[n], "to_other_router");
        let edge_metrics =
            |n: usize| http::metrics(&self.lans[n], EDGE_METRICS).unwrap_or_default();
        let before_nat = [to_other(0), to_other(1)];
        let before = [edge_metrics(0), edge_metrics(1)];
        let (received, output) = ping(&self.lans[0], "10.66.0.2", 40, "0.05");
        assert!(received >= 35, "a ping flow across the NATs: {output}");
        let received = u64::from(received);
        // Wait until both edges have published every received packet, then
        // scrape once more for the relayed counters.
        for (n, peer) in [(0usize, 2u16), (1, 1)] {
            let want = counter(&before[n], &rx_from(peer)) + received as f64;
            counter_reaches(want, || counter(&edge_metrics(n), &rx_from(peer)));
        }
        let after = [edge_metrics(0), edge_metrics(1)];

        for (n, what) in [(0, "request"), (1, "reply")] {
            let sent = to_other(n) - before_nat[n];
            assert!(
                sent >= received,
                "NAT {} sent {sent} datagrams straight to the other NAT for {received} echo {what}s",
                n + 1
            );
        }
        for (n, peer) in [(0usize, 2u16), (1, 1)] {
            let got = counter(&after[n], &rx_from(peer)) - counter(&before[n], &rx_from(peer));
            assert!(
                got >= received as f64,
                "edge {} received {got} packets from edge {peer} for {received} pings",
                n + 1
            );
            let relayed =
                counter(&after[n], FORWARDED_UNICAST) - counter(&before[n], FORWARDED_UNICAST);
            assert_eq!(relayed, 0.0, "edge {} relayed nothing", n + 1);
        }
    }
}
