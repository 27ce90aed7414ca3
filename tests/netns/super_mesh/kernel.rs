//! Namespaces, veths, bridges, nftables, taps, pings and egd processes.
#![allow(dead_code)] // shared by netns_super and netns_faults, each using a subset

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::EGD;
use crate::support::http;
use crate::support::netns::{Netns, run};
pub use crate::support::netns::{nft, nft_counter, tap_up};
use crate::support::procs::Proc;
pub use crate::support::tools_missing;

use super::config::{API_PREFIX, SHOW_STATE, SUPER_PORT};

/// One test at a time (see the module docs); a failed test must not stop
/// the others, so a poisoned lock is taken over.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A veth pair from `a` (device `a_dev`) to `b` (device `b_dev`), both up.
pub fn veth(a: &Netns, a_dev: &str, b: &Netns, b_dev: &str) {
    run(Command::new("ip").args([
        "link", "add", a_dev, "netns", &a.name, "type", "veth", "peer", b_dev, "netns", &b.name,
    ]));
    run(a.cmd("ip").args(["link", "set", a_dev, "up"]));
    run(b.cmd("ip").args(["link", "set", b_dev, "up"]));
}

pub fn address(ns: &Netns, dev: &str, cidr: &str) {
    run(ns.cmd("ip").args(["addr", "add", cidr, "dev", dev]));
}

/// A bridge `br0` with `cidr` on it.
pub fn bridge(ns: &Netns, cidr: &str) {
    run(ns.cmd("ip").args(["link", "add", "br0", "type", "bridge"]));
    run(ns.cmd("ip").args(["link", "set", "br0", "up"]));
    address(ns, "br0", cidr);
}

pub fn enslave(ns: &Netns, dev: &str) {
    run(ns
        .cmd("ip")
        .args(["link", "set", dev, "master", "br0", "up"]));
}

/// `ping -c COUNT -i INTERVAL DST` inside `ns`: replies received, and the
/// output for a failure report.
pub fn ping(ns: &Netns, dst: &str, count: u32, interval: &str) -> (u32, String) {
    ping_in(&ns.name, dst, count, interval)
}

/// [`ping`] inside the namespace named `ns` (for a thread that must not
/// borrow the [`Netns`] while the test restarts what lives in it).
pub fn ping_in(ns: &str, dst: &str, count: u32, interval: &str) -> (u32, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "ping"])
        .args(["-n", "-q", "-c", &count.to_string(), "-i", interval])
        .args(["-W", "2", dst])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let received = text
        .split(", ")
        .find_map(|part| part.strip_suffix(" received"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    (received, text)
}

/// `egd --no-uapi --config CONFIG ARGS…` inside `ns`, with
/// `EGD_TEST_CLOCK_OFFSET_MS` set when `clock_offset_ms` is not zero.
pub fn spawn_egd(ns: &Netns, config: &Path, clock_offset_ms: i64, args: &[String]) -> Proc {
    spawn_egd_via(ns, &[], config, clock_offset_ms, args)
}

/// [`spawn_egd`] started through `wrapper` (a program and its arguments
/// that runs egd, e.g. `setpriv` to bound its capabilities like a unit).
pub fn spawn_egd_via(
    ns: &Netns,
    wrapper: &[String],
    config: &Path,
    clock_offset_ms: i64,
    args: &[String],
) -> Proc {
    let mut cmd = match wrapper.split_first() {
        None => ns.cmd(EGD),
        Some((program, rest)) => {
            let mut cmd = ns.cmd(program);
            cmd.args(rest).arg(EGD);
            cmd
        }
    };
    cmd.args(["--no-uapi", "--config"]).arg(config).args(args);
    if clock_offset_ms != 0 {
        cmd.env("EGD_TEST_CLOCK_OFFSET_MS", clock_offset_ms.to_string());
    }
    Proc::spawn(cmd)
}

/// Panics with the process's log if it has exited (and says so plainly
/// when this egd has no super mode yet).
pub fn assert_running(proc: &mut Proc, what: &str) {
    if proc.alive() {
        return;
    }
    let log = proc.log();
    if log.contains("not implemented yet") {
        panic!("{what}: this egd has no super mode yet: {log}");
    }
    panic!("{what} exited: {log}");
}

pub fn logs(procs: &[(&str, &Proc)]) -> String {
    procs
        .iter()
        .map(|(name, p)| format!("--- {name}:\n{}", p.log()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The supernode's `manage/super/state` JSON (for failure reports).
pub fn super_state(ns: &Netns, host: &str) -> String {
    http::get(
        ns,
        host,
        SUPER_PORT,
        &format!("{API_PREFIX}/manage/super/state?Password={SHOW_STATE}"),
    )
    .unwrap_or_else(|| "(no answer)".to_owned())
}

pub fn counter(text: &str, series: &str) -> f64 {
    http::sample(text, series).unwrap_or(0.0)
}

pub const FORWARDED_UNICAST: &str = r#"egd_forwarded_packets_total{kind="unicast"}"#;

pub fn rx_from(peer: u16) -> String {
    format!(r#"egd_peer_rx_packets_total{{peer="{peer}"}}"#)
}

/// Metrics are published once a second.
pub fn let_metrics_catch_up() {
    std::thread::sleep(Duration::from_millis(1500));
}
