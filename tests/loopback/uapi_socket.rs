//! The UAPI socket (`/var/run/wireguard/NAME.sock`) across crashes and
//! `--user` runs (needs root: the folder is root's): a socket left by a
//! killed egd is replaced at the next start with a log line, as is the one
//! a `--user` run cannot remove when it stops (it says so); a socket a
//! running egd answers on is never taken over; a root run removes its own.
//! Edges with a dummy interface and no peers on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::io::{BufRead, BufReader, Write};
use std::net::UdpSocket;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::procs::Proc;
use crate::support::{kernel_test_unavailable, wait_for};
use egd::wg::keys::private_key_from_random;

const EGD: &str = env!("CARGO_BIN_EXE_egd");

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A P2P edge without peers whose dummy interface is `name`.
fn edge_yaml(name: &str) -> String {
    format!(
        "Interface:
  IType: dummy
  Name: {name}
  MTU: 1400
NodeID: 1
NodeName: {name}
PrivKey: {}
ListenPort: {}
DisabledAf:
  IPv6: true
LogLevel:
  LogLevel: info
DynamicRoute:
  SendPingInterval: 1
  P2P:
    UseP2P: true
Peers: []
",
        private_key_from_random([91; 32]).to_base64(),
        free_udp_port()
    )
}

/// A unique interface name (≤ 15 bytes) and its socket path; the socket is
/// removed again when the guard drops.
struct Sock {
    name: String,
    path: PathBuf,
}

impl Sock {
    fn new(tag: &str) -> Sock {
        let name = format!("egdu{tag}{}", std::process::id() % 100_000);
        let path = PathBuf::from(format!("/var/run/wireguard/{name}.sock"));
        let _ = std::fs::remove_file(&path);
        Sock { name, path }
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn spawn(config: &Path, user: Option<&str>) -> Proc {
    let mut cmd = Command::new(EGD);
    cmd.args(["--bind", "std", "--config"]).arg(config);
    if let Some(u) = user {
        cmd.args(["--user", u]);
    }
    Proc::spawn(cmd)
}

/// `get=1` on the socket: the answer's `errno=` line, if it answers.
fn get(path: &Path) -> Option<String> {
    let mut s = UnixStream::connect(path).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"get=1\n\n").ok()?;
    BufReader::new(s)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("errno="))
}

fn answers(path: &Path, p: &Proc) {
    let ok = wait_for(Duration::from_secs(10), || {
        (get(path).as_deref() == Some("errno=0")).then_some(())
    });
    assert!(
        ok.is_some(),
        "{} answers get=1\n{}",
        path.display(),
        p.log()
    );
}

fn stop(p: &mut Proc) {
    let status = p.terminate().unwrap();
    assert!(status.success(), "clean exit: {status:?}\n{}", p.log());
}

#[test]
fn a_killed_edges_socket_is_replaced_and_a_live_one_is_never_taken() {
    if kernel_test_unavailable().is_some() {
        return;
    }
    let sock = Sock::new("k");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("e.yaml");
    std::fs::write(&config, edge_yaml(&sock.name)).unwrap();

    let mut first = spawn(&config, None);
    answers(&sock.path, &first);
    first.kill9();
    assert!(sock.path.exists(), "kill -9 leaves the socket behind");
    assert_eq!(get(&sock.path), None, "nobody answers on it");

    let mut second = spawn(&config, None);
    answers(&sock.path, &second);
    assert!(
        second.wait_log("replaced a stale UAPI socket", Duration::from_secs(5)),
        "a log line says so:\n{}",
        second.log()
    );

    // A third egd for the same interface name must not take the live
    // socket over: it warns and runs without one; the second still answers.
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, edge_yaml(&sock.name)).unwrap();
    let mut third = spawn(&other, None);
    assert!(
        third.wait_log(
            "another running process serves this interface",
            Duration::from_secs(10)
        ),
        "{}",
        third.log()
    );
    answers(&sock.path, &second);
    stop(&mut third);
    answers(&sock.path, &second);

    // A root run removes its own socket when it stops.
    stop(&mut second);
    assert!(!sock.path.exists(), "removed at a clean stop");
}

#[test]
fn a_user_runs_socket_is_replaced_by_the_next_start() {
    if kernel_test_unavailable().is_some() {
        return;
    }
    let Ok(nobody) = egd::daemon::privdrop::Target::lookup("nobody") else {
        assert!(
            std::env::var_os("EGD_REQUIRE_TOOLS").is_none(),
            "needs the user nobody"
        );
        eprintln!("skipped: no user nobody");
        return;
    };
    assert_ne!(nobody.uid, 0);
    let sock = Sock::new("u");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("e.yaml");
    std::fs::write(&config, edge_yaml(&sock.name)).unwrap();

    let mut first = spawn(&config, Some("nobody"));
    answers(&sock.path, &first);
    assert!(
        first.wait_log("running as nobody", Duration::from_secs(5)),
        "{}",
        first.log()
    );
    stop(&mut first);
    // It cannot remove it from root's folder, and says why (the last lines
    // of a process that has exited may still be on their way to us).
    assert!(
        first.wait_log("stays: this user may not remove it", Duration::from_secs(5)),
        "{}",
        first.log()
    );
    assert!(sock.path.exists());

    let mut second = spawn(&config, Some("nobody"));
    answers(&sock.path, &second);
    assert!(
        second.wait_log("replaced a stale UAPI socket", Duration::from_secs(5)),
        "{}",
        second.log()
    );
    stop(&mut second);
}
