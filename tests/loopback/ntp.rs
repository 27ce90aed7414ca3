//! NTP against a real `chronyd` (Debian) serving on loopback in a namespace
//! of the test's own, its clock shifted +3 s by `faketime`: the edge
//! measures that offset within 50 ms and exports it as
//! `egd_ntp_offset_seconds`. And with no server reachable, the edge runs
//! with offset 0.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::time::Duration;

use crate::support::http::{metrics, sample};
use crate::support::netns::Netns;
use crate::support::procs::Proc;
use crate::support::{kernel_test_unavailable, wait_for};
use egd::wg::keys::private_key_from_random;

const EGD: &str = env!("CARGO_BIN_EXE_egd");
const METRICS: u16 = 9300;

fn edge_yaml(servers: &str) -> String {
    format!(
        "Interface:
  IType: dummy
  Name: egdntp
  MTU: 1400
NodeID: 1
NodeName: ntp1
PrivKey: {}
ListenPort: 0
LogLevel:
  LogLevel: info
  LogNTP: true
DynamicRoute:
  SendPingInterval: 1
  P2P:
    UseP2P: true
  NTPConfig:
    UseNTP: true
    MaxServerUse: 2
    SyncTimeInterval: 1
    NTPTimeout: 1
    Servers: {servers}
Metrics:
  Listen: 127.0.0.1:{METRICS}
Peers: []
",
        private_key_from_random([77; 32]).to_base64()
    )
}

fn tools_present() -> bool {
    let ok = ["chronyd", "faketime"].iter().all(|t| {
        std::process::Command::new("which")
            .arg(t)
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var_os("EGD_REQUIRE_TOOLS").is_none(),
            "needs chronyd and faketime"
        );
        eprintln!("skipped: needs chronyd (chrony) and faketime");
    }
    ok
}

#[test]
fn the_offset_of_a_shifted_chronyd_is_measured_within_50_ms() {
    if kernel_test_unavailable().is_some() || !tools_present() {
        return;
    }
    let ns = Netns::new("ntp");
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("chrony.conf");
    std::fs::write(
        &conf,
        format!(
            "local stratum 8\nallow 127.0.0.1\nbindaddress 127.0.0.1\nport 123\ncmdport 0\npidfile {0}/chronyd.pid\ndriftfile {0}/drift\n",
            dir.path().display()
        ),
    )
    .unwrap();
    // -x: never touch the system clock; faketime shifts only chronyd's view.
    let mut chrony_cmd = ns.cmd("faketime");
    chrony_cmd
        .args(["-f", "+3s", "chronyd", "-d", "-x", "-f"])
        .arg(&conf);
    let chrony = Proc::spawn(chrony_cmd);
    let config = dir.path().join("edge.yaml");
    // An unresolvable name and an address nobody serves sit beside it.
    std::fs::write(
        &config,
        edge_yaml("[no-such-host.invalid, 127.0.0.2, 127.0.0.1]"),
    )
    .unwrap();
    let mut cmd = ns.cmd(EGD);
    cmd.arg("--no-uapi").arg("--config").arg(&config);
    let edge = Proc::spawn(cmd);
    let measured = wait_for(Duration::from_secs(20), || {
        let v = sample(&metrics(&ns, METRICS)?, "egd_ntp_offset_seconds")?;
        ((v - 3.0).abs() < 0.05).then_some(v)
    });
    assert!(
        measured.is_some(),
        "egd_ntp_offset_seconds ≈ 3 s\nedge:\n{}\nchronyd:\n{}",
        edge.log(),
        chrony.log()
    );
}

#[test]
fn no_reachable_server_leaves_offset_zero_and_the_edge_running() {
    if kernel_test_unavailable().is_some() {
        return;
    }
    let ns = Netns::new("ntp0");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("edge.yaml");
    std::fs::write(&config, edge_yaml("[127.0.0.1, no-such-host.invalid]")).unwrap();
    let mut cmd = ns.cmd(EGD);
    cmd.arg("--no-uapi").arg("--config").arg(&config);
    let mut edge = Proc::spawn(cmd);
    let logged = wait_for(Duration::from_secs(10), || {
        edge.log().contains("no NTP server answered").then_some(())
    });
    assert!(logged.is_some(), "{}", edge.log());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        edge.log().matches("no NTP server answered").count(),
        1,
        "logged once"
    );
    let v = sample(&metrics(&ns, METRICS).unwrap(), "egd_ntp_offset_seconds");
    assert_eq!(v, Some(0.0));
    assert!(edge.alive());
}
