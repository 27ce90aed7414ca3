//! `vpp` (memif) against a real peer: DPDK's `net_memif` driver in
//! `dpdk-testpmd` as the memif server, forwarding every frame back out of
//! the port it came in on (`--port-topology=loop`). egd is the client.
//!
//! `dpdk-testpmd` comes with Debian's `dpdk-dev` (deploy/test.sh installs
//! it). Without it the test prints why and passes, unless EGD_REQUIRE_TOOLS
//! is set. testpmd runs without hugepages (`--no-huge`), with a unique
//! `--file-prefix`, its socket in a temporary directory, and only loads the
//! system's driver directory (no plugin path of ours).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: tests wait with real deadlines

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::wait_readable;
use egd_ifaces::{IfaceKind, L2Interface, MemifIface, MemifRole};

/// testpmd's startup (EAL init without hugepages) takes a few seconds.
const PATIENCE: Duration = Duration::from_secs(30);
const PORT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x42];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];

fn testpmd_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("dpdk-testpmd"))
        .find(|p| p.is_file())
}

/// One testpmd run; stopped (Enter, then kill) and cleaned up on drop.
struct TestPmd {
    child: Child,
    log: PathBuf,
    runtime_dir: PathBuf,
}

impl TestPmd {
    fn start(bin: &Path, dir: &Path, socket: &Path, mode: &str) -> Self {
        let prefix = common::unique("egdmemif");
        let log = dir.join(format!("{prefix}.log"));
        let out = std::fs::File::create(&log).unwrap();
        // EAL keeps its runtime files in /var/run/dpdk/<prefix> as root and
        // in $XDG_RUNTIME_DIR/dpdk/<prefix> otherwise: point the latter at
        // our temporary directory, and remove the former when done.
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let runtime_dir = if root {
            PathBuf::from("/var/run/dpdk").join(&prefix)
        } else {
            dir.join("dpdk").join(&prefix)
        };
        let vdev = format!(
            "net_memif0,role=server,id=0,socket={},socket-abstract=no,mac={}",
            socket.display(),
            mac_text(PORT_MAC)
        );
        let child = Command::new(bin)
            .env("XDG_RUNTIME_DIR", dir)
            .args([
                "--no-huge",
                "-m",
                "256",
                "--no-pci",
                "--no-telemetry",
                "-l",
                "0-1",
            ])
            .args(["--file-prefix", &prefix, "--vdev", &vdev])
            .args(["--log-level", "pmd.net.memif:info", "--"])
            .args([
                "--port-topology=loop",
                "--auto-start",
                "--total-num-mbufs=4096",
            ])
            .arg(format!("--forward-mode={mode}"))
            .arg(format!("--eth-peer=0,{}", mac_text(PEER_MAC)))
            .stdin(Stdio::piped())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        TestPmd {
            child,
            log,
            runtime_dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Asks testpmd to quit ("Press enter to exit") and waits for it.
    fn stop(mut self) -> String {
        self.shutdown();
        self.log()
    }

    fn shutdown(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.runtime_dir);
    }
}

impl Drop for TestPmd {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn mac_text(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn client(socket: &Path) -> MemifIface {
    let mut spec = common::spec(IfaceKind::Vpp, "egd-memif");
    spec.memif.socket = socket.to_path_buf();
    spec.memif.id = 0;
    spec.memif.role = MemifRole::Client;
    MemifIface::open(&spec).unwrap()
}

fn wait_connected(iface: &mut MemifIface, pmd: &TestPmd) {
    let end = Instant::now() + PATIENCE;
    while !iface.is_connected() {
        iface.maintain().unwrap();
        assert!(
            Instant::now() < end,
            "no memif link to testpmd within {PATIENCE:?} ({:?}); testpmd log:\n{}",
            iface.take_last_error(),
            pmd.log()
        );
        wait_readable(iface.read_fd(), 50);
    }
}

/// An Ethernet frame from us (MAC 02:aa:…) with a sequence number and
/// `len` bytes in all.
fn frame(seq: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&common::MAC);
    f.extend_from_slice(&[0x88, 0xb5]); // local experimental EtherType
    f.extend_from_slice(&seq.to_be_bytes());
    while f.len() < len {
        f.push((f.len() as u32 ^ seq) as u8);
    }
    f
}

/// Sends `n` frames of varied sizes and returns what came back.
fn round_trip(iface: &mut MemifIface, n: u32, pmd: &TestPmd) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let sizes = [60usize, 64, 128, 512, 1000, 1514];
    let sent: Vec<Vec<u8>> = (0..n)
        .map(|i| frame(i, sizes[i as usize % sizes.len()]))
        .collect();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    let end = Instant::now() + PATIENCE;
    for f in &sent {
        iface.write_frame(f).unwrap();
    }
    while got.len() < sent.len() {
        assert!(
            Instant::now() < end,
            "{} of {} frames came back; stats {:?}; testpmd log:\n{}",
            got.len(),
            sent.len(),
            iface.stats(),
            pmd.log()
        );
        iface.maintain().unwrap();
        while let Some(len) = iface.read_frame(&mut buf).unwrap() {
            got.push(buf[..len].to_vec());
        }
        wait_readable(iface.read_fd(), 20);
    }
    (sent, got)
}

#[test]
fn frames_come_back_from_dpdk_testpmd() {
    let Some(bin) = testpmd_path() else {
        assert!(
            std::env::var_os("EGD_REQUIRE_TOOLS").is_none(),
            "dpdk-testpmd not found (Debian package dpdk-dev)"
        );
        println!("SKIP: dpdk-testpmd not found; install Debian's dpdk-dev (deploy/test.sh does)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("memif.sock");
    let mut iface = client(&socket);

    // io forwarding: every frame comes back unchanged, in order.
    let pmd = TestPmd::start(&bin, dir.path(), &socket, "io");
    wait_connected(&mut iface, &pmd);
    let (sent, got) = round_trip(&mut iface, 300, &pmd);
    assert!(got == sent, "io mode changed or reordered frames");
    assert_eq!(iface.stats().dropped_would_block, 0);
    let log = pmd.stop();
    assert!(log.contains("RX-packets: 300"), "testpmd log:\n{log}");

    // testpmd restarts, now rewriting MACs: egd reconnects by itself.
    let end = Instant::now() + PATIENCE;
    while iface.is_connected() {
        assert!(Instant::now() < end, "egd did not notice testpmd leave");
        iface.maintain().unwrap();
        wait_readable(iface.read_fd(), 20);
    }
    let pmd = TestPmd::start(&bin, dir.path(), &socket, "mac");
    wait_connected(&mut iface, &pmd);
    assert_eq!(iface.stats().connections, 2);
    let (sent, got) = round_trip(&mut iface, 300, &pmd);
    for (s, g) in sent.iter().zip(&got) {
        assert_eq!(g[..6], PEER_MAC, "dst is the --eth-peer");
        assert_eq!(g[6..12], PORT_MAC, "src is the port's MAC");
        assert_eq!(g[12..], s[12..], "payload unchanged");
    }
    drop(pmd);
}
