//! The `linkemu` binary (workspace crate `egd-linkemu`) for multi-process
//! tests: where to find it (and the crate's `hostile` traffic generator),
//! one emulated link as a process, and its control socket.
//!
//! The binary belongs to another package, so `CARGO_BIN_EXE_linkemu` does
//! not exist here. `cargo test --workspace` (deploy/test.sh) builds it next
//! to `egd`; a run of only this package may find none there, or a stale one.
//! Then it is built into a target directory of its own, because the cargo
//! that runs this test may still hold the lock on the main one.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use super::netns::Netns;
use super::procs::Proc;
use super::wait_for;

/// The path of an up-to-date `linkemu` binary of the same profile as `egd`.
pub fn binary(egd: &str) -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| locate(Path::new(egd), "linkemu"))
}

/// The path of an up-to-date `hostile` binary (the crate's traffic
/// generator), found or built like [`binary`].
pub fn hostile_binary(egd: &str) -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| locate(Path::new(egd), "hostile"))
}

fn locate(egd: &Path, name: &str) -> PathBuf {
    let beside = egd.with_file_name(name);
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("linkemu");
    let newest_source = newest_mtime(&sources.join("src"))
        .max(mtime(&sources.join("Cargo.toml")))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    if mtime(&beside).is_some_and(|built| built >= newest_source) {
        return beside;
    }
    let profile_dir = egd.parent().expect("egd lives in a profile directory");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let target = profile_dir
        .parent()
        .expect("the profile directory lives in a target directory")
        .join("linkemu-for-tests");
    let cargo = std::env::var_os("CARGO")
        .or_else(|| option_env!("CARGO").map(Into::into))
        .unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "-p", "egd-linkemu", "--bin", name])
        .arg("--target-dir")
        .arg(&target);
    if release {
        build.arg("--release");
    }
    let out = build.output().expect("run cargo to build linkemu");
    assert!(
        out.status.success(),
        "building {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    target
        .join(if release { "release" } else { "debug" })
        .join(name)
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            if path.is_dir() {
                newest_mtime(&path)
            } else {
                mtime(&path)
            }
        })
        .max()
}

/// One `linkemu` process: `a_listen` → `b_peer` is one direction (`a_to_b`),
/// back from `b_listen` to `a_peer` the other (`b_to_a`).
#[derive(Debug)]
pub struct LinkProc {
    pub control: PathBuf,
    pub proc: Proc,
}

/// The two sides and the initial delays of a [`LinkProc`].
#[derive(Debug, Clone)]
pub struct LinkSpec {
    pub a_listen: String,
    pub a_peer: String,
    pub b_listen: String,
    pub b_peer: String,
    pub a_to_b: String,
    pub b_to_a: String,
}

impl LinkProc {
    /// Starts linkemu inside `ns` with its control socket at `control` and
    /// waits for its `ready` line.
    pub fn start(egd: &str, ns: &Netns, spec: &LinkSpec, control: PathBuf) -> LinkProc {
        let mut cmd = ns.cmd(binary(egd).to_str().expect("a UTF-8 path"));
        cmd.args([
            "--a-listen",
            &spec.a_listen,
            "--a-peer",
            &spec.a_peer,
            "--b-listen",
            &spec.b_listen,
            "--b-peer",
            &spec.b_peer,
            "--a-to-b",
            &spec.a_to_b,
            "--b-to-a",
            &spec.b_to_a,
        ])
        .arg("--control")
        .arg(&control);
        let mut proc = Proc::spawn(cmd);
        let ready = wait_for(Duration::from_secs(10), || {
            proc.lines()
                .iter()
                .any(|l| l.starts_with("ready "))
                .then_some(())
        });
        assert!(
            ready.is_some() && proc.alive(),
            "linkemu {spec:?} did not start: {}",
            proc.log()
        );
        LinkProc { control, proc }
    }

    /// Sends one command on the control socket and returns the reply line.
    pub fn command(&self, line: &str) -> String {
        let mut stream = UnixStream::connect(&self.control)
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.control.display()));
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set a read timeout");
        writeln!(stream, "{line}").expect("write a control command");
        let mut reply = String::new();
        BufReader::new(stream)
            .read_line(&mut reply)
            .expect("read the control reply");
        reply.trim_end().to_owned()
    }

    /// `set DIRECTION SPEC`, checked for an `ok` reply.
    pub fn set(&self, direction: &str, spec: &str) {
        let reply = self.command(&format!("set {direction} {spec}"));
        assert!(
            reply.starts_with(&format!("ok {direction} ")),
            "set {direction} {spec}: {reply}"
        );
    }

    /// The `forwarded` counter of `direction` (`a_to_b` or `b_to_a`).
    pub fn forwarded(&self, direction: &str) -> u64 {
        let stats = self.command("stats");
        stats_field(&stats, direction, "forwarded")
            .unwrap_or_else(|| panic!("no {direction}.forwarded in {stats:?}"))
    }
}

/// `"DIRECTION":{…"FIELD":N…}` in linkemu's one-line stats JSON.
pub fn stats_field(json: &str, direction: &str, field: &str) -> Option<u64> {
    let object = json.split(&format!("\"{direction}\":{{")).nth(1)?;
    let object = object.split('}').next()?;
    object
        .split(',')
        .find_map(|kv| kv.strip_prefix(&format!("\"{field}\":")))
        .and_then(|v| v.trim().parse().ok())
}
