//! Network namespaces for tests: unique names, deleted on drop (also when
//! the test panics), with loopback up; veth pairs between them, and the
//! wait for egd's tap inside one.
//!
//! How to use: [`serial`] first (one real-kernel test at a time),
//! [`Netns::new`] per node, [`link`] two of them (or [`veth`] and
//! [`address`] for named devices without or with later addresses), run
//! programs inside with [`Netns::cmd`], [`tap_up`] once egd is started
//! there; [`ping`] counts replies ([`ping_summary`] reads ping's output),
//! [`assert_ping`] waits for one; [`nft`] loads rules into a namespace and
//! [`nft_counter`] reads their counters.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::procs::Proc;
use super::wait_for;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace that exists until dropped.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `egdt-<tag>-<pid>-<n>` with `lo` up.
    pub fn new(tag: &str) -> Netns {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("egdt-{tag}-{}-{n}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        run(ns.cmd("ip").args(["link", "set", "lo", "up"]));
        ns
    }

    /// A command that runs inside the namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill whatever still runs inside, then delete.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs a setup command; panics with its output when it fails.
pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One real-kernel test at a time: they measure throughput, loss and
/// timing, and share one test binary; a failed test must not stop the
/// others, so a poisoned lock is taken over.
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

/// Adds `cidr` to device `dev` in `ns`.
pub fn address(ns: &Netns, dev: &str, cidr: &str) {
    run(ns.cmd("ip").args(["addr", "add", cidr, "dev", dev]));
}

/// Two namespaces joined by a veth pair (`<tag>a` in `a`, `<tag>b` in `b`)
/// with an address on each end.
pub fn link(a: &Netns, a_addr: &str, b: &Netns, b_addr: &str, tag: &str) {
    let (ea, eb) = (format!("{tag}a"), format!("{tag}b"));
    veth(a, &ea, b, &eb);
    address(a, &ea, a_addr);
    address(b, &eb, b_addr);
}

/// Waits until the tap `egd0` in `ns` carries an address containing
/// `cidr` (egd is up there).
pub fn tap_up(ns: &Netns, cidr: &str) -> bool {
    wait_for(Duration::from_secs(10), || {
        let out = ns
            .cmd("ip")
            .args(["-4", "addr", "show", "dev", "egd0"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .contains(cidr)
            .then_some(())
    })
    .is_some()
}

/// A ping from `ns` to `dst` gets a reply within 20 s; `what` names the
/// path in the failure message. One ping at a time, each waiting 2 s: right
/// after start a node on the path may not have bound its socket yet (its
/// handshake is retried after REKEY_TIMEOUT) or ARP may give up once.
pub fn assert_ping(ns: &Netns, dst: &str, what: &str) {
    let mut last = String::new();
    let replied = wait_for(Duration::from_secs(20), || {
        let ping = ns
            .cmd("ping")
            .args(["-c", "1", "-W", "2", dst])
            .output()
            .ok()?;
        last = format!(
            "{}{}",
            String::from_utf8_lossy(&ping.stdout),
            String::from_utf8_lossy(&ping.stderr)
        );
        ping.status.success().then_some(())
    });
    assert!(replied.is_some(), "{what}: {last}");
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
    let received = ping_summary(&text).map_or(0, |(_, received)| received);
    (received, text)
}

/// ping's summary line (`N packets transmitted, M received, …`) as
/// `(transmitted, received)`, if `out` has one.
pub fn ping_summary(out: &str) -> Option<(u32, u32)> {
    let line = out.lines().find(|l| l.contains("packets transmitted"))?;
    let num = |key: &str| {
        line.split(',')
            .find(|p| p.contains(key))
            .and_then(|p| p.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Some((num("transmitted"), num("received")))
}

/// Starts a single-use `iperf3 -s -1 -B ADDR` in `ns` and waits until it
/// listens (a client started earlier is refused under load).
pub fn iperf_server(ns: &Netns, addr: &str) -> Proc {
    let mut cmd = ns.cmd("iperf3");
    cmd.args(["-s", "-1", "-B", addr]);
    let server = Proc::spawn(cmd);
    let listening = wait_for(Duration::from_secs(10), || {
        let out = ns
            .cmd("ss")
            .args(["-Hltn", "sport = :5201"])
            .output()
            .ok()?;
        (!out.stdout.is_empty()).then_some(())
    });
    assert!(
        listening.is_some(),
        "iperf3 server listens on {addr}: {}",
        server.log()
    );
    server
}

/// Loads an nftables ruleset into `ns`.
pub fn nft(ns: &Netns, ruleset: &str) {
    let mut child = ns
        .cmd("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ruleset.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nft in {}: {}\n{ruleset}",
        ns.name,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Packets counted by the named counter of table `inet egdtest` in `ns`.
pub fn nft_counter(ns: &Netns, name: &str) -> u64 {
    let out = ns
        .cmd("nft")
        .args(["list", "counter", "inet", "egdtest", name])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "packets")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("counter {name} in {}: {text}", ns.name))
}
