//! Bridges and egd processes for the super-mode mesh, with the namespace,
//! veth, ping and nftables helpers of `support::netns` re-exported.
#![allow(dead_code)] // helpers of super_mode and faults, not every one used

use std::path::Path;
use std::time::Duration;

use crate::EGD;
use crate::support::http;
use crate::support::netns::{Netns, run};
pub use crate::support::netns::{address, nft, nft_counter, ping, ping_in, serial, tap_up, veth};
use crate::support::procs::Proc;
pub use crate::support::tools_missing;

use super::config::{API_PREFIX, SHOW_STATE, SUPER_PORT};

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
