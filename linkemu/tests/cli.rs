//! The `linkemu` binary: argument errors, the stdin and Unix-socket control
//! channels, run-time changes seen on the data path, and clean exits.
//! Loopback only.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // child processes and real sockets, waited on in real time

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use common::{ms, recv, socket};

const LINKEMU: &str = env!("CARGO_BIN_EXE_linkemu");

/// A running `linkemu`, killed on drop if a test fails before it quits.
struct Emu {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    a: SocketAddr,
    b: SocketAddr,
}

impl Emu {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(LINKEMU)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        // A thread feeds stdout lines to a channel, so a test waits on them
        // with a timeout instead of hanging on a silent child.
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let ready = lines
            .recv_timeout(Duration::from_secs(5))
            .expect("no ready line");
        let addr = |key: &str| -> SocketAddr {
            let field = ready.split(' ').find_map(|f| f.strip_prefix(key)).unwrap();
            field.parse().unwrap()
        };
        let (a, b) = (addr("a_listen="), addr("b_listen="));
        assert!(ready.starts_with("ready "), "{ready}");
        Self {
            child,
            stdin,
            lines,
            a,
            b,
        }
    }

    /// Sends one command on stdin; returns the reply line.
    fn command(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        self.lines
            .recv_timeout(Duration::from_secs(5))
            .expect("no reply")
    }

    /// Waits up to 5 s for the process to exit.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "linkemu did not exit");
            thread::sleep(ms(10));
        }
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `linkemu` with `args` to completion; returns (status, stderr).
fn run_to_end(args: &[&str]) -> (ExitStatus, String) {
    let out = Command::new(LINKEMU)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const LOCAL: [&str; 4] = ["--a-listen", "127.0.0.1:0", "--b-listen", "127.0.0.1:0"];

#[test]
fn bad_arguments_are_named() {
    let with = |extra: &[&str]| {
        let mut args = LOCAL.to_vec();
        args.extend_from_slice(extra);
        run_to_end(&args)
    };
    for (extra, names) in [
        (
            &["--b-peer", "127.0.0.1:9", "--a-to-b", "delay=abc"][..],
            &["--a-to-b", "delay: `abc`"][..],
        ),
        (
            &["--b-peer", "127.0.0.1:9", "--b-to-a", "loss=3"],
            &["--b-to-a", "loss: `3`"],
        ),
        (
            &["--b-peer", "127.0.0.1:9", "--b-to-a", "colour=red"],
            &["--b-to-a", "unknown key `colour`"],
        ),
        (&["--b-peer", "nowhere"], &["--b-peer", "nowhere"]),
        (&[], &["--b-peer"]),
    ] {
        let (status, stderr) = with(extra);
        assert_eq!(status.code(), Some(2), "{extra:?}: {stderr}");
        for name in names {
            assert!(stderr.contains(name), "{extra:?}: {name} not in {stderr}");
        }
    }
    let (status, stderr) = run_to_end(&[
        "--a-listen",
        "localhost",
        "--b-listen",
        "127.0.0.1:0",
        "--b-peer",
        "127.0.0.1:9",
    ]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("--a-listen"), "{stderr}");
}

#[test]
fn a_busy_port_is_a_startup_error() {
    let taken = socket(ms(100));
    let port = taken.local_addr().unwrap().to_string();
    let (status, stderr) = run_to_end(&[
        "--a-listen",
        &port,
        "--b-listen",
        "127.0.0.1:0",
        "--b-peer",
        "127.0.0.1:9",
    ]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("a_listen: cannot bind {port}")),
        "{stderr}"
    );
}

#[test]
fn stdin_commands_change_the_running_link() {
    let (x, y) = (socket(ms(1000)), socket(ms(200)));
    let y_addr = y.local_addr().unwrap().to_string();
    let mut args = LOCAL.to_vec();
    args.extend([
        "--b-peer",
        &y_addr,
        "--a-to-b",
        "delay=30ms,loss=0",
        "--b-to-a",
        "delay=1ms",
    ]);
    let mut emu = Emu::start(&args);

    let sent = Instant::now();
    x.send_to(b"slow", emu.a).unwrap();
    assert_eq!(recv(&y).unwrap(), (b"slow".to_vec(), emu.b));
    assert!(
        sent.elapsed() >= ms(30),
        "the configured delay was not applied"
    );
    y.send_to(b"reply", emu.b).unwrap();
    assert_eq!(
        recv(&x).unwrap(),
        (b"reply".to_vec(), emu.a),
        "return address learned"
    );

    let reply = emu.command("set a_to_b up=false");
    assert_eq!(
        reply,
        "ok a_to_b delay=30ms,jitter=0,loss=0,reorder=false,mtu=none,up=false"
    );
    x.send_to(b"dropped", emu.a).unwrap();
    assert_eq!(recv(&y), None, "crossed a link set down");
    let stats = emu.command("stats");
    assert!(
        stats.starts_with("{\"a_to_b\":{\"received\":2,\"forwarded\":1,\"lost\":0,\"down\":1,"),
        "{stats}"
    );

    // A longer delay is the change to check: a lower bound on the observed
    // time holds however busy the machine is.
    let reply = emu.command("set a_to_b up=true delay=300ms");
    assert_eq!(
        reply,
        "ok a_to_b delay=300ms,jitter=0,loss=0,reorder=false,mtu=none,up=true"
    );
    y.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let sent = Instant::now();
    x.send_to(b"later", emu.a).unwrap();
    assert_eq!(recv(&y).unwrap().0, b"later");
    assert!(
        sent.elapsed() >= ms(300),
        "the delay change did not take effect"
    );

    assert!(
        emu.command("frobnicate")
            .starts_with("error: unknown command `frobnicate`")
    );
    assert!(emu.command("show").contains("\"b_to_a\":\"delay=1ms,"));
    assert_eq!(emu.command("quit"), "ok");
    assert!(emu.wait().success());
}

#[test]
fn control_socket_serves_commands_and_is_removed_on_quit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctl.sock");
    // A stale socket file, as a killed run leaves behind, is replaced.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let y = socket(ms(200));
    let y_addr = y.local_addr().unwrap().to_string();
    let mut args = LOCAL.to_vec();
    args.extend(["--b-peer", &y_addr, "--control", path.to_str().unwrap()]);
    let mut emu = Emu::start(&args);

    let stream = UnixStream::connect(&path).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut replies = BufReader::new(stream).lines();
    let mut command = |line: &str| {
        writeln!(writer, "{line}").unwrap();
        replies.next().unwrap().unwrap()
    };
    assert_eq!(
        command("set b_to_a delay=10ms loss=5%"),
        "ok b_to_a delay=10ms,jitter=0,loss=0.05,reorder=false,mtu=none,up=true"
    );
    assert!(command("set b_to_a delay=-1ms").starts_with("error: b_to_a: delay: `-1ms`"));
    assert!(command("bogus").starts_with("error: unknown command `bogus`"));
    let addrs = command("addrs");
    assert!(
        addrs.contains(&format!("\"b_listen\":\"{}\"", emu.b)),
        "{addrs}"
    );
    // Both channels act on the same link.
    assert!(
        emu.command("show")
            .contains("\"b_to_a\":\"delay=10ms,jitter=0,loss=0.05,")
    );
    assert!(command("stats").starts_with("{\"a_to_b\":{\"received\":0,"));
    // A second client is served too, and may quit the process.
    let mut other = UnixStream::connect(&path).unwrap();
    other
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    writeln!(other, "quit").unwrap();
    let mut reply = String::new();
    BufReader::new(&other).read_line(&mut reply).unwrap();
    assert_eq!(reply, "ok\n");
    assert!(emu.wait().success());
    assert!(!Path::new(&path).exists(), "control socket left behind");
}

#[test]
fn refuses_a_control_path_that_is_not_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("precious.txt");
    std::fs::write(&path, "keep me").unwrap();
    let mut args = LOCAL.to_vec();
    args.extend([
        "--b-peer",
        "127.0.0.1:9",
        "--control",
        path.to_str().unwrap(),
    ]);
    let (status, stderr) = run_to_end(&args);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("exists and is not a socket"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[test]
fn end_of_stdin_quits_only_when_asked() {
    let mut args = LOCAL.to_vec();
    args.extend(["--b-peer", "127.0.0.1:9"]);
    let mut emu = Emu::start(&args);
    drop(emu.stdin.take());
    thread::sleep(ms(200));
    assert!(
        emu.child.try_wait().unwrap().is_none(),
        "exited at the end of stdin"
    );

    args.push("--quit-on-eof");
    let mut emu = Emu::start(&args);
    drop(emu.stdin.take());
    assert!(emu.wait().success());
}
