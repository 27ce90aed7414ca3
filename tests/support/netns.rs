//! Network namespaces for tests: unique names, deleted on drop (also when
//! the test panics), with loopback up; veth pairs between them, and the
//! wait for egd's tap inside one.
//!
//! How to use: [`Netns::new`] per node, [`link`] two of them, run programs
//! inside with [`Netns::cmd`], [`tap_up`] once egd is started there; [`nft`]
//! loads rules into a namespace and [`nft_counter`] reads their counters.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
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

/// Two namespaces joined by a veth pair with an address on each end.
pub fn link(a: &Netns, a_addr: &str, b: &Netns, b_addr: &str, tag: &str) {
    let (ea, eb) = (format!("{tag}a"), format!("{tag}b"));
    run(Command::new("ip").args([
        "link", "add", &ea, "netns", &a.name, "type", "veth", "peer", &eb, "netns", &b.name,
    ]));
    for (ns, dev, addr) in [(a, &ea, a_addr), (b, &eb, b_addr)] {
        run(ns.cmd("ip").args(["addr", "add", addr, "dev", dev]));
        run(ns.cmd("ip").args(["link", "set", dev, "up"]));
    }
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
