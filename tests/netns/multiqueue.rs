//! Real kernel, several data-path threads: two network namespaces A and B
//! joined by a veth pair, an egd edge with a tap in each, both started with
//! `--threads 2`. Checks that each egd runs its worker thread (`egd-dp-1`
//! in `/proc/PID/task`) and opened a two-queue tap; that four parallel TCP
//! streams each way and four parallel UDP flows all arrive; that the worker
//! thread of each node did part of the work (CPU time); and that the sessions survived
//! the concurrency: no failed handshake, no re-handshake, no datagram that
//! failed to decrypt; and that no packet was dropped for a full output ring. Namespaces are always removed, also when the test
//! fails.
//!
//! ```text
//!  ns A (egdt-mqa)                          ns B (egdt-mqb)
//!  mqa 10.0.7.1/24 ───────── veth ───────── mqb 10.0.7.2/24
//!  egd 1 --threads 2, UDP 3101              egd 2 --threads 2, UDP 3102
//!  tap egd0 (2 queues) 10.78.0.1/24         tap egd0 (2 queues) 10.78.0.2/24
//!  iperf3 clients ──────── tunnel ────────▶ iperf3 -s on 10.78.0.2
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::time::Duration;

use crate::support::http::{metrics, sample, series_of};
use crate::support::netns::{Netns, assert_ping, iperf_server, link, serial, tap_up};
use crate::support::procs::Proc;
use crate::support::static_edge::{StaticEdge, StaticPeer};
use crate::support::{kernel_test_unavailable, tools_missing, wait_for};
use egd::wg::keys::private_key_from_random;

const EGD: &str = env!("CARGO_BIN_EXE_egd");
const METRICS_PORT: u16 = 9377;

/// Node `id`'s config: a tap with 10.78.0.<id>/24 and the other node as its
/// static peer.
fn config(id: u16, peer: u16, endpoint: &str) -> String {
    let key = |n: u16| private_key_from_random([n as u8 * 11; 32]);
    StaticEdge {
        id,
        name: format!("node{id}"),
        interface: "  IType: tap
  Name: egd0
  MacAddrPrefix: 02:EF:00:00
  IPv4CIDR: 10.78.0.0/24
  MTU: 1400
",
        key: &key(id),
        port: 3100 + id,
        log_level: "error",
        metrics: None,
        next_hop_table: "  1: {2: 2}\n  2: {1: 1}\n",
        peers: vec![StaticPeer::new(peer, &key(peer), endpoint.to_owned())],
    }
    .yaml()
}

/// The names of a process's threads.
fn thread_names(pid: u32) -> Vec<String> {
    let mut names = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let comm = t.unwrap().path().join("comm");
        if let Ok(c) = std::fs::read_to_string(comm) {
            names.push(c.trim().to_owned());
        }
    }
    names
}

/// CPU time (clock ticks, user + system) of a process's `egd-dp-*` threads.
fn worker_ticks(pid: u32) -> u64 {
    let mut ticks = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = t.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with("egd-dp-") {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is field 3, utime 14,
        // stime 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        ticks += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        ticks += f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    ticks
}

/// Runs an iperf3 client in `ns` with `args`; returns its JSON report.
fn iperf(ns: &Netns, args: &[&str]) -> serde_json::Value {
    let out = ns.cmd("iperf3").args(args).arg("-J").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "iperf3 {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap()
}

#[test]
fn two_threads_carry_parallel_flows_both_ways() {
    let _serial = serial();
    if kernel_test_unavailable().is_some() || tools_missing(&["ping", "iperf3"]) {
        return;
    }
    let (a, b) = (Netns::new("mqa"), Netns::new("mqb"));
    link(&a, "10.0.7.1/24", &b, "10.0.7.2/24", "mq");
    let dir = tempfile::tempdir().unwrap();
    let nodes: Vec<Proc> = [
        (1u16, &a, config(1, 2, "10.0.7.2:3102")),
        (2, &b, config(2, 1, "10.0.7.1:3101")),
    ]
    .iter()
    .map(|(id, ns, text)| {
        let path = dir.path().join(format!("edge{id}.yaml"));
        std::fs::write(&path, text).unwrap();
        let mut cmd = ns.cmd(EGD);
        cmd.args(["--no-uapi", "--threads", "2", "--metrics-listen"])
            .arg(format!("127.0.0.1:{METRICS_PORT}"))
            .arg("--config")
            .arg(&path);
        Proc::spawn(cmd)
    })
    .collect();
    for ns in [&a, &b] {
        assert!(
            tap_up(ns, "10.78.0."),
            "{}: the tap has its address",
            ns.name
        );
        // A multi-queue tap: one queue per thread. egd attaches the second
        // queue after configuring the tap, so wait for it.
        let mut queues = String::new();
        let two = wait_for(Duration::from_secs(10), || {
            let out = ns
                .cmd("ls")
                .arg("/sys/class/net/egd0/queues")
                .output()
                .ok()?;
            queues = String::from_utf8_lossy(&out.stdout).into_owned();
            (queues.contains("tx-0") && queues.contains("tx-1")).then_some(())
        });
        assert!(two.is_some(), "{}: two tap queues: {queues}", ns.name);
    }
    // `ip netns exec` runs egd as its child; find egd itself.
    let pids: Vec<u32> = nodes
        .iter()
        .map(|p| {
            wait_for(Duration::from_secs(5), || {
                let names = thread_names(p.pid());
                names.iter().any(|n| n == "egd-dp-1").then_some(p.pid())
            })
            .unwrap_or_else(|| {
                panic!(
                    "egd {} runs a thread egd-dp-1: {:?}\n{}",
                    p.pid(),
                    thread_names(p.pid()),
                    p.log()
                )
            })
        })
        .collect();

    assert_ping(&a, "10.78.0.2", "ping A→B");

    for reverse in [false, true] {
        let _server = iperf_server(&b, "10.78.0.2");
        let mut args = vec!["-c", "10.78.0.2", "-t", "3", "-P", "4"];
        if reverse {
            args.push("-R");
        }
        let report = iperf(&a, &args);
        let streams = report["end"]["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 4, "{report}");
        for (i, s) in streams.iter().enumerate() {
            let bytes = s["receiver"]["bytes"].as_u64().unwrap_or(0);
            eprintln!("TCP stream {i} (reverse {reverse}): {bytes} bytes");
            assert!(
                bytes > 100_000,
                "TCP stream {i}, reverse {reverse}: {bytes} bytes"
            );
        }
    }
    // Four UDP flows at a modest rate: nearly every datagram arrives.
    let _server = iperf_server(&b, "10.78.0.2");
    let report = iperf(
        &a,
        &["-c", "10.78.0.2", "-u", "-b", "5M", "-t", "3", "-P", "4"],
    );
    let streams = report["end"]["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 4, "{report}");
    for (i, s) in streams.iter().enumerate() {
        let udp = &s["udp"];
        let (packets, lost) = (
            udp["packets"].as_u64().unwrap_or(0),
            udp["lost_packets"].as_u64().unwrap_or(u64::MAX),
        );
        eprintln!("UDP flow {i}: {packets} sent, {lost} lost");
        assert!(packets > 100 && lost * 20 <= packets, "UDP flow {i}: {udp}");
    }

    // The worker threads did part of the work.
    let ticks: Vec<u64> = pids.iter().map(|p| worker_ticks(*p)).collect();
    eprintln!("CPU ticks of the egd-dp-1 threads: {ticks:?}");
    assert!(
        ticks.iter().sum::<u64>() > 0,
        "worker threads idle: {ticks:?}"
    );

    // Sessions survived: one handshake per side, none failed, and nothing
    // failed to decrypt (a nonce or key race between threads would).
    for (ns, peer) in [(&a, "2"), (&b, "1")] {
        let text = metrics(ns, METRICS_PORT).expect("metrics answer");
        let handshakes = sample(&text, &format!("egd_handshakes_total{{peer=\"{peer}\"}}"));
        let failures = sample(
            &text,
            &format!("egd_handshake_failures_total{{peer=\"{peer}\",reason=\"no_response\"}}"),
        );
        let drops = series_of(&text, "egd_dropped_packets_total");
        eprintln!("{}: handshakes {handshakes:?}, drops:\n{drops}", ns.name);
        assert!(
            handshakes.is_some_and(|h| (1.0..=2.0).contains(&h)),
            "{}: {handshakes:?}",
            ns.name
        );
        assert_eq!(failures.unwrap_or(0.0), 0.0, "{}", ns.name);
        let decrypt_failed = sample(
            &text,
            "egd_dropped_packets_total{reason=\"decrypt_failed\"}",
        );
        assert_eq!(decrypt_failed.unwrap_or(0.0), 0.0, "{}: {drops}", ns.name);
        // Each thread drains the node's output after every packet, so its
        // bounded rings never overflow (main's single loop let a wake-up's
        // worth pile up: 5–18 % of the packets dropped under iperf3).
        for reason in ["tx_queue_full", "rx_queue_full"] {
            let n = sample(
                &text,
                &format!("egd_dropped_packets_total{{reason=\"{reason}\"}}"),
            );
            assert_eq!(n.unwrap_or(0.0), 0.0, "{}: {reason}: {drops}", ns.name);
        }
    }
    drop(nodes);
}
