//! The one support module of the test binaries (`tests/sim`,
//! `tests/loopback`, `tests/netns`; each includes it with `#[path]`), one
//! job a file: `netns` (namespaces that are always deleted, the veth helper,
//! taps, the ping runner and its output parser), `procs` (child processes
//! that are always killed, waiting for their log lines), `http` (HTTP from
//! inside a namespace, Prometheus samples), `loopback` (egd on loopback
//! without a namespace, and an HTTP client), `supernode` and `static_edge`
//! (the YAML of a super-mode network and of a static edge), `relay` (the
//! three-node static relay), `upstream` (the original's six-node examples),
//! `linkemu` (the link emulator), `sim` (the simulated networks of the
//! virtual-clock tests), `node_pair` (two protocol-core nodes wired without
//! I/O), `webdriver` (headless Chromium for the topology page); here,
//! polling with a deadline and the skip-or-fail checks for root and tools.
#![allow(clippy::disallowed_methods)] // real processes: threads and sleeps are the point
#![allow(dead_code)] // each test binary uses a different subset

pub mod http;
pub mod linkemu;
pub mod loopback;
pub mod netns;
pub mod node_pair;
pub mod procs;
pub mod relay;
pub mod sim;
pub mod static_edge;
pub mod supernode;
pub mod upstream;
pub mod webdriver;

use std::time::{Duration, Instant};

/// Polls `f` every 20 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads a counter that only grows until it reaches `want` (or 10 s
/// pass) and returns the last value read. egd publishes its counters about
/// once a second from its main loop, so a starved egd's exporter can lag
/// the traffic that already crossed it; waiting for the threshold checks
/// exactly as much as reading once after a fixed sleep, without the race.
pub fn counter_reaches(want: f64, mut read: impl FnMut() -> f64) -> f64 {
    let mut last = read();
    wait_for(Duration::from_secs(10), || {
        last = read();
        (last >= want).then_some(())
    });
    last
}

/// Why a real-kernel test cannot run here, if it cannot: it needs root and
/// `ip`. With EGD_REQUIRE_TOOLS set (deploy/test.sh), missing them fails.
pub fn kernel_test_unavailable() -> Option<String> {
    let reason = if unsafe_free_euid() != 0 {
        Some("needs root (network namespaces)".to_owned())
    } else if std::process::Command::new("ip").arg("-V").output().is_err() {
        Some("needs `ip` (iproute2)".to_owned())
    } else {
        None
    };
    if let Some(r) = &reason {
        assert!(std::env::var_os("EGD_REQUIRE_TOOLS").is_none(), "{r}");
        eprintln!("skipped: {r}");
    }
    reason
}

/// Whether a tool is missing (the test then skips, or fails under
/// EGD_REQUIRE_TOOLS, which deploy/test.sh sets after installing them).
pub fn tools_missing(tools: &[&str]) -> bool {
    for tool in tools {
        if std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var_os("EGD_REQUIRE_TOOLS").is_none(),
                "{tool} is required"
            );
            eprintln!("skipped: {tool} not installed (deploy/test.sh installs it)");
            return true;
        }
    }
    false
}

fn unsafe_free_euid() -> u32 {
    // /proc/self/status "Uid:" line: real, effective, saved, fs.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(u32::MAX)
}
