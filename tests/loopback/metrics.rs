//! The Prometheus output of real edges (two P2P edges with dummy
//! interfaces, in a namespace of the test's own), scraped and parsed: every
//! sample line is well-formed, every family has HELP and TYPE, counters end
//! in `_total`, and the metric set is there — one-way latency per
//! directed edge, route changes, solver time (a histogram), interface
//! errors, handshakes and their failures, NTP offset, next hops and the
//! table hash.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::support::http::metrics;
use crate::support::netns::Netns;
use crate::support::procs::Proc;
use crate::support::{kernel_test_unavailable, wait_for};
use egd::wg::keys::{private_key_from_random, public_key};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

fn key(id: u16) -> egd::wg::PrivateKey {
    private_key_from_random([id as u8 + 40; 32])
}

fn edge_yaml(id: u16, peer: u16) -> String {
    format!(
        "Interface:
  IType: dummy
  Name: egdm{id}
  MTU: 1400
NodeID: {id}
NodeName: m{id}
PrivKey: {}
ListenPort: {}
LogLevel:
  LogLevel: error
DynamicRoute:
  SendPingInterval: 1
  AdditionalCost: 1
  P2P:
    UseP2P: true
    GraphRecalculateSetting:
      RecalculateCoolDown: 1
  NTPConfig:
    UseNTP: true
    Servers: [127.0.0.1]
    NTPTimeout: 1
Metrics:
  Listen: 127.0.0.1:{}
Peers:
- NodeID: {peer}
  PubKey: {}
  EndPoint: 127.0.0.1:{}
",
        key(id).to_base64(),
        3400 + id,
        9400 + id,
        public_key(&key(peer)).to_base64(),
        3400 + peer
    )
}

/// A parsed exposition: family → (type, samples as (name{labels}, value)).
struct Exposition {
    types: BTreeMap<String, String>,
    helps: BTreeSet<String>,
    samples: Vec<(String, String, f64)>,
}

fn parse(text: &str) -> Exposition {
    let body = text.split_once("\r\n\r\n").map_or(text, |(_, b)| b);
    let mut e = Exposition {
        types: BTreeMap::new(),
        helps: BTreeSet::new(),
        samples: Vec::new(),
    };
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                ["counter", "gauge", "histogram", "summary"].contains(&kind),
                "{line}"
            );
            e.types.insert(name.to_owned(), kind.to_owned());
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            e.helps.insert(rest.split_once(' ').unwrap().0.to_owned());
        } else {
            assert!(!line.starts_with('#'), "unknown comment: {line}");
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
            let name = series.split('{').next().unwrap();
            assert!(valid_name(name), "metric name {name:?}");
            if let Some(labels) = series.strip_prefix(name)
                && !labels.is_empty()
            {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
                for pair in labels[1..labels.len() - 1].split("\",") {
                    let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
                    assert!(valid_name(k), "label {k:?} in {line}");
                    assert!(v.starts_with('"'), "{line}");
                }
            }
            e.samples.push((name.to_owned(), series.to_owned(), value));
        }
    }
    e
}

#[test]
fn the_exposition_parses_and_has_the_whole_metric_set() {
    if kernel_test_unavailable().is_some() {
        return;
    }
    let ns = Netns::new("metrics");
    let dir = tempfile::tempdir().unwrap();
    let _edges: Vec<Proc> = [(1u16, 2u16), (2, 1)]
        .iter()
        .map(|(id, peer)| {
            let path = dir.path().join(format!("e{id}.yaml"));
            std::fs::write(&path, edge_yaml(*id, *peer)).unwrap();
            let mut cmd = ns.cmd(EGD);
            cmd.arg("--no-uapi").arg("--config").arg(&path);
            Proc::spawn(cmd)
        })
        .collect();
    let required = [
        "egd_peer_rx_bytes_total",
        "egd_peer_tx_bytes_total",
        "egd_peer_rx_packets_total",
        "egd_peer_tx_packets_total",
        "egd_handshakes_total",
        "egd_handshake_failures_total",
        "egd_forwarded_packets_total",
        "egd_delivered_packets_total",
        "egd_route_changes_total",
        "egd_oneway_latency_seconds",
        "egd_solver_seconds_bucket",
        "egd_interface_errors_total",
        "egd_ntp_offset_seconds",
        "egd_udp_io_total",
        "egd_next_hop",
        "egd_next_hop_table_hash",
        "egd_wg_cookie_replies_sent_total",
        "egd_wg_handshake_messages_accepted_total",
        "egd_wg_queue_overflows_total",
    ];
    let text = wait_for(Duration::from_secs(20), || {
        let t = metrics(&ns, 9401)?;
        let e = parse(&t);
        // Both directions' latencies: each end measures its own, so one
        // can show up a round before the other.
        let both_latencies = [(1, 2), (2, 1)].iter().all(|(src, dst)| {
            let series = format!("egd_oneway_latency_seconds{{src=\"{src}\",dst=\"{dst}\"}}");
            e.samples.iter().any(|(_, s, _)| *s == series)
        });
        (both_latencies
            && required
                .iter()
                .all(|r| e.samples.iter().any(|(n, _, _)| n == r)))
        .then_some(t)
    });
    let text = text.unwrap_or_else(|| {
        panic!(
            "every required metric appears; got:\n{}",
            metrics(&ns, 9401).unwrap_or_default()
        )
    });
    let e = parse(&text);
    for (name, series, value) in &e.samples {
        let family = name
            .strip_suffix("_bucket")
            .or_else(|| name.strip_suffix("_sum"))
            .or_else(|| name.strip_suffix("_count"))
            .filter(|f| e.types.get(*f).is_some_and(|t| t == "histogram"))
            .unwrap_or(name);
        let kind = e
            .types
            .get(family)
            .unwrap_or_else(|| panic!("no TYPE for {series}"));
        assert!(e.helps.contains(family), "no HELP for {family}");
        if kind == "counter" {
            assert!(
                family.ends_with("_total"),
                "counter {family} ends in _total"
            );
            assert!(*value >= 0.0, "{series} {value}");
        }
    }
    assert_eq!(e.types["egd_solver_seconds"], "histogram");
    // Both directed edges between the two nodes, in seconds and plausible.
    for (src, dst) in [(1, 2), (2, 1)] {
        let series = format!("egd_oneway_latency_seconds{{src=\"{src}\",dst=\"{dst}\"}}");
        let v = e
            .samples
            .iter()
            .find(|(_, s, _)| *s == series)
            .map(|(_, _, v)| *v)
            .unwrap_or_else(|| panic!("{series} in\n{text}"));
        assert!(v.abs() < 0.5, "{series} = {v}");
    }
}
