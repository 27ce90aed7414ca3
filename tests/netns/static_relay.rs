//! Real kernel: three network namespaces A, R, B joined by veth pairs A–R and
//! R–B only, an egd edge with a tap interface in each, a static next-hop table
//! that sends A↔B through R. `ping` from A's tap address to B's must work,
//! and an `iperf3` TCP run of 5 s must carry data. Run twice: with the tap
//! offloads (the default; the taps' own counters must show frames far above
//! the MTU in both directions of the data) and without (`EGD_TAP_OFFLOAD=0`,
//! every frame within the MTU). Namespaces are always removed, also when the
//! test fails.
//!
//! ```text
//!  ns A                        ns R                        ns B
//!  ara 10.0.1.1/24 ─── veth ─── arb 10.0.1.2/24
//!                              rba 10.0.2.1/24 ─── veth ─── rbb 10.0.2.2/24
//!  egd 1: tap egd0             egd 2: tap egd0             egd 3: tap egd0
//!         10.77.0.1/24                10.77.0.2/24                10.77.0.3/24
//!  no A–B veth: the static table sends A↔B through R (ping, iperf3 A → B)
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use crate::support::netns::{Netns, assert_ping, iperf_server, serial};
use crate::support::relay::StaticRelay;
use crate::support::{kernel_test_unavailable, tools_missing};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

/// The mean frame size (bytes / packets) of `dev`'s `rx` or `tx` counters.
fn mean_frame(ns: &Netns, dir: &str) -> f64 {
    let read = |what: &str| {
        let out = ns
            .cmd("cat")
            .arg(format!("/sys/class/net/egd0/statistics/{dir}_{what}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .unwrap()
    };
    read("bytes") / read("packets").max(1.0)
}

#[test]
fn ping_and_iperf_across_a_relay() {
    let _serial = serial();
    relay(true);
}

#[test]
fn ping_and_iperf_across_a_relay_without_tap_offloads() {
    let _serial = serial();
    relay(false);
}

fn relay(offload: bool) {
    if kernel_test_unavailable().is_some() || tools_missing(&["ping", "iperf3"]) {
        return;
    }
    let mut relay = StaticRelay::new();
    let dir = tempfile::tempdir().unwrap();
    let offload_env = if offload { "1" } else { "0" };
    relay.start(EGD, dir.path(), None, &[("EGD_TAP_OFFLOAD", offload_env)]);
    relay.wait_tap();
    let (a, b) = (&relay.a, &relay.b);

    assert_ping(a, "10.77.0.3", "ping A→B through R");

    let _server = iperf_server(b, "10.77.0.3");
    let client = a
        .cmd("iperf3")
        .args(["-c", "10.77.0.3", "-t", "5", "-J"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&client.stdout);
    assert!(
        client.status.success(),
        "iperf3: {report}{}",
        String::from_utf8_lossy(&client.stderr)
    );
    let bits_per_second = report
        .split("\"sum_received\"")
        .nth(1)
        .and_then(|s| s.split("\"bits_per_second\":").nth(1))
        .and_then(|s| s.split([',', '}']).next())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    // A's tap sent the data to egd (tx), B's tap took it from egd (rx).
    let (sent, taken) = (mean_frame(a, "tx"), mean_frame(b, "rx"));
    eprintln!(
        "iperf3 A→B through R, offload {offload}: {:.3} Gbit/s; mean frame read from A's tap {sent:.0} B, written to B's {taken:.0} B",
        bits_per_second / 1e9
    );
    assert!(
        bits_per_second > 1e6,
        "TCP across the relay carried data ({bits_per_second} bit/s)"
    );
    if offload {
        assert!(
            sent > 4000.0,
            "A's tap handed egd GSO frames: mean {sent} B"
        );
        assert!(
            taken > 4000.0,
            "egd wrote coalesced frames to B's tap: mean {taken} B"
        );
    } else {
        assert!(sent <= 1414.0 && taken <= 1414.0, "{sent} {taken}");
    }
}
