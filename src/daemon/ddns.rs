//! Host-name endpoints (dynamic DNS): looked up on a resolver thread, never
//! on the reactor's — `getaddrinfo` can take seconds — at start, again
//! every `ResetEndPointInterval`, and after a failed lookup sooner (1 s,
//! 2 s, 4 s … up to the interval; `control::endpoints::retry_delay`).
//!
//! Drive it from the loop:
//!
//! ```text
//! let mut ddns = Ddns::start(targets(&cfg), cfg.reset_endpoint_interval, system_resolver(), wake)?;
//! ddns.wait_first(n, timeout, &mut node, control.as_mut()); // start-up: the first answers
//! ddns.apply(&mut node, control.as_mut());  // when woken (or every round)
//! ddns.set_targets(targets(&new_cfg));      // after a reload
//! ```
//!
//! [`Ddns::apply`] hands a changed address to the node (`set_endpoint`;
//! for a pinned peer in super mode, to `EdgeSync::set_pinned`) and logs it.
//! An unchanged one is left alone, so a peer that roamed stays where its
//! packets come from. A failed lookup keeps the last good address.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use super::wake::WakeHandle;
use crate::NodeId;
use crate::config::{EdgeConfig, EdgeMode, Endpoint};
use crate::control::edge::Edge;
use crate::control::endpoints::{FamilyPolicy, Want, pick, retry_delay};
use crate::logging::target;
use crate::node::Node;

/// Looks a host name up: every address it has (any family), or why not.
/// Injectable so tests can make a name move without DNS.
pub type Resolver = Arc<dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync>;

/// Why a name gave no address to use.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The lookup itself failed.
    #[error("{0}")]
    Lookup(#[source] io::Error),
    /// The name's addresses (`found`, comma-separated) are not of the
    /// family its key asks for.
    #[error("{what} among [{found}]")]
    NoFit { what: &'static str, found: String },
}

/// The system's resolver (`getaddrinfo`: /etc/hosts, DNS, …).
pub fn system_resolver() -> Resolver {
    Arc::new(|host, port| {
        use std::net::ToSocketAddrs;
        (host, port).to_socket_addrs().map(Iterator::collect)
    })
}

/// One configured host-name endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The peer (or supernode session handle) it belongs to.
    pub peer: NodeId,
    pub host: String,
    pub port: u16,
    pub want: Want,
    /// `Static` peer in super mode: the supernode's candidates must not
    /// replace it (`EdgeSync` pins it).
    pub pinned: bool,
}

/// The host-name endpoints of an edge config: its peers' `EndPoint`s and,
/// in super mode, the supernode's `EndpointV4`/`EndpointV6`.
pub fn targets(cfg: &EdgeConfig) -> Vec<Target> {
    let policy = FamilyPolicy::new(&cfg.address_families, cfg.af_prefer);
    let super_mode = cfg.mode() == EdgeMode::Super;
    let mut out: Vec<Target> = cfg
        .peers
        .iter()
        .filter_map(|p| match &p.endpoint {
            Some(Endpoint::Host { host, port }) => Some(Target {
                peer: p.node_id,
                host: host.clone(),
                port: *port,
                want: Want::Any(policy),
                pinned: super_mode && p.is_static,
            }),
            _ => None,
        })
        .collect();
    if super_mode {
        let link = &cfg.dynamic_route.super_node;
        let af = &cfg.address_families;
        let sessions = [
            (
                NodeId::SUPERNODE,
                &link.public_key_v4,
                &link.endpoint_v4,
                Want::V4,
                af.ipv4,
            ),
            (
                NodeId::SUPERNODE_V6_SESSION,
                &link.public_key_v6,
                &link.endpoint_v6,
                Want::V6,
                af.ipv6,
            ),
        ];
        for (peer, key, ep, want, enabled) in sessions {
            // A disabled family has no socket: its session is never used.
            if !enabled {
                continue;
            }
            if let (Some(_), Some(Endpoint::Host { host, port })) = (key, ep) {
                out.push(Target {
                    peer,
                    host: host.clone(),
                    port: *port,
                    want,
                    pinned: false,
                });
            }
        }
    }
    out
}

/// What one lookup found.
#[derive(Debug)]
struct Resolved {
    target: Target,
    /// The address to use, or why there is none.
    result: Result<SocketAddr, ResolveError>,
    /// Failed lookups in a row, this one included (0 on success).
    failures: u32,
    /// When the next lookup is due (None: never).
    retry_in: Option<Duration>,
}

/// The resolver thread's handle, on the reactor thread.
pub struct Ddns {
    targets: Sender<Vec<Target>>,
    results: Receiver<Resolved>,
    /// The last address each target resolved to (what the node was given).
    last: BTreeMap<NodeId, (Target, SocketAddr)>,
}

impl std::fmt::Debug for Ddns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ddns").finish_non_exhaustive()
    }
}

impl Ddns {
    /// Starts the resolver thread; every target is looked up at once.
    /// `wake` is told when results are ready.
    pub fn start(
        targets: Vec<Target>,
        interval: Duration,
        resolver: Resolver,
        wake: WakeHandle,
    ) -> std::io::Result<Self> {
        let (target_tx, target_rx) = channel();
        let (result_tx, results) = channel();
        // Sent before the thread runs: the first lookups see them.
        let _ = target_tx.send(targets);
        std::thread::Builder::new()
            .name("egd-resolver".into())
            .spawn(move || run(target_rx, result_tx, interval, resolver, wake))?;
        Ok(Self {
            targets: target_tx,
            results,
            last: BTreeMap::new(),
        })
    }

    /// Replaces the targets (after a reload): new or changed ones are
    /// looked up at once, unchanged ones keep their schedule.
    pub fn set_targets(&mut self, targets: Vec<Target>) {
        self.last
            .retain(|peer, (t, _)| targets.iter().any(|n| n.peer == *peer && n == t));
        let _ = self.targets.send(targets);
    }

    /// Waits up to `timeout` for the first round's results and applies
    /// them, so a peer whose name resolves at once has its address before
    /// the first handshake (start-up only: it blocks).
    pub fn wait_first(
        &mut self,
        count: usize,
        timeout: Duration,
        node: &mut Node,
        mut control: Option<&mut Edge>,
    ) {
        let deadline = Instant::now() + timeout;
        for _ in 0..count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.results.recv_timeout(left) {
                Ok(r) => self.apply_one(r, node, control.as_deref_mut()),
                Err(_) => return,
            }
        }
    }

    /// Applies every result that arrived (cheap when none has).
    pub fn apply(&mut self, node: &mut Node, mut control: Option<&mut Edge>) {
        while let Ok(r) = self.results.try_recv() {
            self.apply_one(r, node, control.as_deref_mut());
        }
    }

    fn apply_one(&mut self, r: Resolved, node: &mut Node, control: Option<&mut Edge>) {
        let t = &r.target;
        let what = describe(t);
        let addr = match r.result {
            Ok(a) => a,
            Err(e) => {
                let retry = r
                    .retry_in
                    .map_or_else(|| "not retried".into(), |d| format!("retry in {d:?}"));
                let kept = self
                    .last
                    .get(&t.peer)
                    .map_or_else(|| "no address yet".into(), |(_, a)| format!("keeping {a}"));
                // The first failure of a run is worth a warning; the
                // retries that follow quickly are not.
                if r.failures == 1 {
                    tracing::warn!(target: target::NORMAL, "{what}: cannot resolve {}:{}: {e} ({kept}; {retry})", t.host, t.port);
                } else {
                    tracing::debug!(target: target::NORMAL, "{what}: cannot resolve {}:{}: {e} ({kept}; {retry})", t.host, t.port);
                }
                return;
            }
        };
        let before = self.last.get(&t.peer).map(|(_, a)| *a);
        if before == Some(addr) {
            return;
        }
        match before {
            Some(old) => {
                tracing::info!(target: target::NORMAL, "{what}: {} now resolves to {addr} (was {old})", t.host)
            }
            None => {
                tracing::info!(target: target::NORMAL, "{what}: {} resolves to {addr}", t.host)
            }
        }
        self.last.insert(t.peer, (t.clone(), addr));
        match control {
            Some(c) if t.pinned => c.set_pinned(node, t.peer, addr),
            _ => node.set_endpoint(t.peer, addr),
        }
    }
}

/// How the logs name a target.
fn describe(t: &Target) -> String {
    if t.peer == NodeId::SUPERNODE {
        "supernode EndpointV4".into()
    } else if t.peer == NodeId::SUPERNODE_V6_SESSION {
        "supernode EndpointV6".into()
    } else {
        format!("peer {}", t.peer)
    }
}

/// One target's place in the resolver thread's schedule.
struct Slot {
    target: Target,
    due: Option<Instant>,
    failures: u32,
}

/// The resolver thread: looks up what is due, sleeps until the next is
/// (or new targets arrive); ends when the [`Ddns`] is dropped.
fn run(
    targets: Receiver<Vec<Target>>,
    results: Sender<Resolved>,
    interval: Duration,
    resolver: Resolver,
    wake: WakeHandle,
) {
    let mut slots: Vec<Slot> = Vec::new();
    loop {
        let now = Instant::now();
        let next = slots.iter().filter_map(|s| s.due).min();
        let received = match next {
            Some(t) if t <= now => None,
            Some(t) => match targets.recv_timeout(t - now) {
                Ok(list) => Some(list),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match targets.recv() {
                Ok(list) => Some(list),
                Err(_) => return,
            },
        };
        if let Some(list) = received {
            slots = list
                .into_iter()
                .map(|target| {
                    // An unchanged target keeps its schedule.
                    match slots.iter().position(|s| s.target == target) {
                        Some(i) => slots.swap_remove(i),
                        None => Slot {
                            target,
                            due: Some(now),
                            failures: 0,
                        },
                    }
                })
                .collect();
            continue;
        }
        for s in slots.iter_mut().filter(|s| s.due.is_some_and(|d| d <= now)) {
            let result = resolver(&s.target.host, s.target.port)
                .map_err(ResolveError::Lookup)
                .and_then(|addrs| {
                    pick(&addrs, s.target.want).ok_or_else(|| no_fit(&addrs, s.target.want))
                });
            s.failures = if result.is_ok() {
                0
            } else {
                s.failures.saturating_add(1)
            };
            let retry_in = retry_delay(s.failures, interval);
            s.due = retry_in.map(|d| Instant::now() + d);
            let r = Resolved {
                target: s.target.clone(),
                result,
                failures: s.failures,
                retry_in,
            };
            if results.send(r).is_err() {
                return;
            }
            wake.wake();
        }
    }
}

/// Why a name's addresses do not fit what its key asks for.
fn no_fit(addrs: &[SocketAddr], want: Want) -> ResolveError {
    let what = match want {
        Want::V4 => "no IPv4 (A) address",
        Want::V6 => "no IPv6 (AAAA) address",
        Want::Any(_) => "no address of an enabled family (DisabledAf)",
    };
    let found: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    ResolveError::NoFit {
        what,
        found: found.join(", "),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::Mutex;

    use super::*;
    use crate::config::AfPrefer;
    use crate::node::{NodeConfig, PeerConfig};
    use crate::wg::keys::private_key_from_random;

    fn n(v: u16) -> NodeId {
        NodeId::new(v).unwrap()
    }

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A resolver answering from a table the test changes as it goes.
    type Table = Arc<Mutex<BTreeMap<String, Result<Vec<SocketAddr>, String>>>>;

    fn fake(table: &Table) -> Resolver {
        let table = Arc::clone(table);
        Arc::new(move |host, port| {
            let t = table.lock().unwrap();
            let found = t
                .get(host)
                .cloned()
                .unwrap_or(Err("NXDOMAIN".into()))
                .map_err(std::io::Error::other)?;
            Ok(found
                .into_iter()
                .map(|x| SocketAddr::new(x.ip(), port))
                .collect())
        })
    }

    fn set(table: &Table, host: &str, addrs: &[&str]) {
        let addrs = addrs.iter().map(|s| a(s)).collect();
        table.lock().unwrap().insert(host.into(), Ok(addrs));
    }

    /// A node with peer 2 and both supernode sessions, none with an address.
    fn node() -> Node {
        let peer = |id: NodeId, seed: u8| PeerConfig {
            id,
            public_key: crate::wg::keys::public_key(&private_key_from_random([seed; 32])),
            preshared_key: None,
            endpoint: None,
            is_static: true,
            persistent_keepalive: None,
        };
        let cfg = NodeConfig {
            id: n(1),
            private_key: private_key_from_random([1; 32]),
            peers: vec![
                peer(n(2), 2),
                peer(NodeId::SUPERNODE, 3),
                peer(NodeId::SUPERNODE_V6_SESSION, 4),
            ],
            default_ttl: 200,
            l2_fib_timeout: Duration::from_secs(60),
            max_frame_len: 1514,
            next_hops: egd_routing::NextHopTable::new(),
            dup_check_timeout: Duration::from_secs(10),
            ping_interval: None,
        };
        Node::new(
            cfg,
            [7; 32],
            Instant::now(),
            Duration::from_secs(1_800_000_000),
        )
    }

    fn target(peer: NodeId, host: &str, want: Want) -> Target {
        Target {
            peer,
            host: host.into(),
            port: 3000,
            want,
            pinned: false,
        }
    }

    /// Applies results until `done` holds (or 10 s pass).
    fn until(ddns: &mut Ddns, node: &mut Node, done: impl Fn(&Node) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            ddns.apply(node, None);
            if done(node) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn endpoints_follow_the_name_and_keep_to_their_family() {
        let table: Table = Arc::default();
        // A dual-stack name, IPv6 first as resolvers often answer.
        set(&table, "super.example", &["[2001:db8::1]:0", "192.0.2.1:0"]);
        set(&table, "peer.example", &["198.51.100.7:0"]);
        let any = Want::Any(FamilyPolicy::default());
        let targets = vec![
            target(n(2), "peer.example", any),
            target(NodeId::SUPERNODE, "super.example", Want::V4),
            target(NodeId::SUPERNODE_V6_SESSION, "super.example", Want::V6),
        ];
        let (_waker, wake) = super::super::wake::pair().unwrap();
        let interval = Duration::from_millis(200);
        let mut ddns = Ddns::start(targets, interval, fake(&table), wake).unwrap();
        let mut node = node();
        ddns.wait_first(3, Duration::from_secs(10), &mut node, None);
        assert_eq!(node.endpoint(n(2)), Some(a("198.51.100.7:3000")));
        assert_eq!(
            node.endpoint(NodeId::SUPERNODE),
            Some(a("192.0.2.1:3000")),
            "EndpointV4: the A record, never the AAAA one"
        );
        assert_eq!(
            node.endpoint(NodeId::SUPERNODE_V6_SESSION),
            Some(a("[2001:db8::1]:3000"))
        );

        // The peer's dynamic address changes: the node follows within an
        // interval or so.
        set(&table, "peer.example", &["198.51.100.8:0"]);
        let moved = until(&mut ddns, &mut node, |nd| {
            nd.endpoint(n(2)) == Some(a("198.51.100.8:3000"))
        });
        assert!(moved, "endpoint still {:?}", node.endpoint(n(2)));

        // An unchanged name does not undo what the node learned since
        // (a roaming peer stays where its packets come from).
        node.set_endpoint(n(2), a("203.0.113.9:4000"));
        std::thread::sleep(interval * 3);
        ddns.apply(&mut node, None);
        assert_eq!(node.endpoint(n(2)), Some(a("203.0.113.9:4000")));

        // A failing lookup keeps the last good address.
        table
            .lock()
            .unwrap()
            .insert("super.example".into(), Err("SERVFAIL".into()));
        std::thread::sleep(interval * 3);
        ddns.apply(&mut node, None);
        assert_eq!(node.endpoint(NodeId::SUPERNODE), Some(a("192.0.2.1:3000")));
    }

    #[test]
    fn a_name_that_fails_at_start_is_retried_soon() {
        let table: Table = Arc::default();
        let policy = FamilyPolicy {
            ipv4: false,
            ipv6: true,
            prefer: AfPrefer::V4,
        };
        let targets = vec![target(n(2), "late.example", Want::Any(policy))];
        let (_waker, wake) = super::super::wake::pair().unwrap();
        // Re-resolution only every 10 min: what comes sooner is a retry.
        let mut ddns = Ddns::start(targets, Duration::from_secs(600), fake(&table), wake).unwrap();
        let mut node = node();
        ddns.wait_first(1, Duration::from_secs(10), &mut node, None);
        assert_eq!(node.endpoint(n(2)), None, "not fatal: just no address");
        // DNS comes back with an IPv4 and an IPv6 address; IPv4 is disabled.
        set(&table, "late.example", &["192.0.2.5:0", "[2001:db8::5]:0"]);
        let started = Instant::now();
        let found = until(&mut ddns, &mut node, |nd| nd.endpoint(n(2)).is_some());
        assert!(found, "retried within 10 s");
        assert_eq!(node.endpoint(n(2)), Some(a("[2001:db8::5]:3000")));
        assert!(started.elapsed() < Duration::from_secs(8));
    }

    #[test]
    fn reloaded_targets_are_looked_up_at_once() {
        let table: Table = Arc::default();
        set(&table, "one.example", &["192.0.2.1:0"]);
        set(&table, "two.example", &["192.0.2.2:0"]);
        let any = Want::Any(FamilyPolicy::default());
        let (_waker, wake) = super::super::wake::pair().unwrap();
        let mut ddns = Ddns::start(
            vec![target(n(2), "one.example", any)],
            Duration::from_secs(600),
            fake(&table),
            wake,
        )
        .unwrap();
        let mut node = node();
        ddns.wait_first(1, Duration::from_secs(10), &mut node, None);
        assert_eq!(node.endpoint(n(2)), Some(a("192.0.2.1:3000")));
        ddns.set_targets(vec![target(n(2), "two.example", any)]);
        let moved = until(&mut ddns, &mut node, |nd| {
            nd.endpoint(n(2)) == Some(a("192.0.2.2:3000"))
        });
        assert!(moved, "endpoint still {:?}", node.endpoint(n(2)));
    }

    #[test]
    fn a_super_edge_follows_its_names_except_in_a_disabled_family() {
        let key = |n: u8| private_key_from_random([n; 32]);
        let public = |n: u8| crate::wg::keys::public_key(&key(n)).to_base64();
        let yaml = format!(
            "Interface:
  IType: dummy
  Name: egd-t
  MTU: 1400
NodeID: 1
NodeName: edge1
PrivKey: {own}
ListenPort: 0
AfPrefer: 4
DisabledAf:
  IPv6: true
DynamicRoute:
  SuperNode:
    UseSuperNode: true
    EndpointV4: sn.example:3000
    PubKeyV4: {v4}
    EndpointV6: sn.example:3000
    PubKeyV6: {v6}
    EndpointEdgeAPIUrl: http://127.0.0.1:3000/api
Peers:
- NodeID: 2
  PubKey: {p2}
  EndPoint: peer.example:3002
  Static: true
- NodeID: 3
  PubKey: {p3}
  EndPoint: 192.0.2.3:3003
",
            own = key(1).to_base64(),
            v4 = public(200),
            v6 = public(201),
            p2 = public(2),
            p3 = public(3),
        );
        let loaded =
            crate::config::load_str(std::path::Path::new("edge.yaml"), &yaml, None).unwrap();
        let crate::config::Config::Edge(cfg) = loaded.config else {
            panic!("an edge config");
        };
        let policy = FamilyPolicy {
            ipv4: true,
            ipv6: false,
            prefer: AfPrefer::V4,
        };
        let want = vec![
            Target {
                port: 3002,
                pinned: true,
                ..target(n(2), "peer.example", Want::Any(policy))
            },
            target(NodeId::SUPERNODE, "sn.example", Want::V4),
        ];
        assert_eq!(targets(&cfg), want, "no IPv6 session lookup, no literal");
    }

    #[test]
    fn the_system_resolver_finds_localhost_and_the_family_rule_holds() {
        let addrs = system_resolver()("localhost", 4242).unwrap();
        assert_eq!(pick(&addrs, Want::V4), Some(a("127.0.0.1:4242")));
        // `::1 localhost` is in some /etc/hosts and not in others.
        if let Some(v6) = pick(&addrs, Want::V6) {
            assert_eq!(v6, a("[::1]:4242"));
        }
        assert!(system_resolver()("no-such-host.invalid", 1).is_err());
    }
}
