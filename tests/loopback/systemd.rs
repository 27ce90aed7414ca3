//! `Type=notify` as systemd sees it, with a fake `NOTIFY_SOCKET`: an edge
//! with a tap (in a namespace of the test's own) says `READY=1` once the
//! interface is up, `RELOADING=1` then `READY=1` around a SIGHUP that adds a
//! peer without dropping the running session, and `STOPPING=1` on SIGTERM,
//! after which it exits cleanly within 2 s and its tap is gone. While it
//! runs, `wg show` (wireguard-tools) lists its peer through the UAPI socket.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::netns::Netns;
use crate::support::procs::Proc;
use crate::support::{kernel_test_unavailable, wait_for};
use egd::wg::keys::{private_key_from_random, public_key};

const EGD: &str = env!("CARGO_BIN_EXE_egd");

fn edge_yaml(id: u16, peers: &[u16]) -> String {
    let key = |n: u16| private_key_from_random([n as u8 * 3 + 1; 32]);
    let mut peer_yaml = String::new();
    let mut row = Vec::new();
    for p in peers {
        peer_yaml.push_str(&format!(
            "- NodeID: {p}\n  PubKey: {}\n  EndPoint: 127.0.0.1:{}\n  Static: true\n",
            public_key(&key(*p)).to_base64(),
            3100 + p
        ));
        row.push(format!("{p}: {p}"));
    }
    let table = format!("  {id}: {{{}}}\n", row.join(", "));
    if peer_yaml.is_empty() {
        peer_yaml.push_str("[]\n");
    } else {
        peer_yaml.insert(0, '\n');
    }
    format!(
        "Interface:
  IType: tap
  Name: egdsd{id}
  MacAddrPrefix: 02:5D:00:00
  IPv4CIDR: 10.55.0.0/24
  MTU: 1400
NodeID: {id}
NodeName: sd{id}
PrivKey: {}
ListenPort: {}
LogLevel:
  LogLevel: info
NextHopTable:
{table}Peers: {peer_yaml}",
        key(id).to_base64(),
        3100 + id
    )
}

/// Every notification received until `want` shows up (or the deadline).
fn until(sock: &UnixDatagram, want: &str, within: Duration, p: &Proc) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = msg.lines().any(|l| l == want);
            seen.push(msg);
            if done {
                return seen;
            }
        }
    }
    panic!("no {want} within {within:?}; got {seen:?}\n{}", p.log())
}

fn signal(p: &Proc, sig: &str) {
    std::process::Command::new("kill")
        .args([sig, &p.pid().to_string()])
        .status()
        .unwrap();
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn an_edge_speaks_sd_notify_reloads_and_stops_cleanly() {
    if kernel_test_unavailable().is_some() {
        return;
    }
    let ns = Netns::new("sd");
    let dir = tempfile::tempdir().unwrap();
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let config = dir.path().join("edge1.yaml");
    write(&config, &edge_yaml(1, &[2]));
    let mut peer = {
        let c2 = dir.path().join("edge2.yaml");
        write(&c2, &edge_yaml(2, &[1]));
        let mut cmd = ns.cmd(EGD);
        cmd.arg("--config").arg(&c2);
        Proc::spawn(cmd)
    };
    let mut cmd = ns.cmd(EGD);
    cmd.arg("--config")
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify_path);
    let mut edge = Proc::spawn(cmd);

    let ready = until(&notify, "READY=1", Duration::from_secs(10), &edge);
    assert!(
        ready.iter().any(|m| m.contains("STATUS=edge 1")),
        "a status line comes with READY: {ready:?}"
    );
    // The interface is up when READY is sent.
    let link = ns
        .cmd("ip")
        .args(["link", "show", "egdsd1"])
        .output()
        .unwrap();
    assert!(link.status.success(), "tap egdsd1 exists at READY=1");

    // A session to node 2, then a reload that adds node 3: the session stays.
    let ping = ns
        .cmd("ping")
        .args(["-c", "3", "-i", "0.2", "-W", "2", "10.55.0.2"])
        .output()
        .unwrap();
    assert!(
        ping.status.success(),
        "ping over the tunnel:\n{}\n{}",
        String::from_utf8_lossy(&ping.stdout),
        edge.log()
    );
    write(&config, &edge_yaml(1, &[2, 3]));
    signal(&edge, "-HUP");
    let reload = until(&notify, "READY=1", Duration::from_secs(10), &edge);
    assert!(
        reload.iter().any(|m| m.lines().any(|l| l == "RELOADING=1")),
        "RELOADING=1 before READY=1: {reload:?}"
    );
    let logged = wait_for(Duration::from_secs(5), || {
        edge.log().contains("reloaded").then_some(())
    });
    assert!(logged.is_some(), "{}", edge.log());
    let ping = ns
        .cmd("ping")
        .args(["-c", "3", "-i", "0.2", "-W", "1", "10.55.0.2"])
        .output()
        .unwrap();
    assert!(
        ping.status.success(),
        "the tunnel still works after the reload"
    );
    assert_eq!(
        edge.log()
            .matches("SessionEstablished { peer: NodeId(2) }")
            .count(),
        1,
        "the reload did not start a new session with node 2:\n{}",
        edge.log()
    );

    // `wg show` (wireguard-tools) reads the UAPI socket.
    let sock = Path::new("/var/run/wireguard/egdsd1.sock");
    if std::process::Command::new("wg")
        .arg("--version")
        .output()
        .is_ok()
    {
        let shown = wait_for(Duration::from_secs(5), || {
            let out = std::process::Command::new("wg")
                .args(["show", "egdsd1"])
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            (out.status.success() && text.contains("latest handshake")).then_some(text)
        })
        .unwrap_or_else(|| panic!("wg show egdsd1 lists the peer\n{}", edge.log()));
        let peer2 = public_key(&private_key_from_random([2 * 3 + 1; 32])).to_base64();
        assert!(shown.contains(&format!("peer: {peer2}")), "{shown}");
        assert!(shown.contains("endpoint: 127.0.0.1:3102"), "{shown}");
        assert!(shown.contains("listening port: 3101"), "{shown}");
        assert!(shown.contains("transfer:"), "{shown}");
    } else {
        assert!(std::env::var_os("EGD_REQUIRE_TOOLS").is_none(), "needs wg");
        eprintln!("wg show not checked: needs wireguard-tools");
    }

    // SIGTERM: STOPPING=1, a clean exit within 2 s, the tap gone.
    let t0 = Instant::now();
    signal(&edge, "-TERM");
    until(&notify, "STOPPING=1", Duration::from_secs(2), &edge);
    let exited = wait_for(Duration::from_secs(2), || (!edge.alive()).then_some(()));
    assert!(exited.is_some(), "exits within 2 s of SIGTERM");
    assert!(t0.elapsed() < Duration::from_secs(2) + Duration::from_millis(500));
    let status = edge.terminate().unwrap();
    assert!(
        status.success(),
        "clean exit status: {status:?}\n{}",
        edge.log()
    );
    let link = ns
        .cmd("ip")
        .args(["link", "show", "egdsd1"])
        .output()
        .unwrap();
    assert!(!link.status.success(), "the tap is removed");
    assert!(!sock.exists(), "the UAPI socket is removed");
    assert!(peer.alive());
}

#[test]
fn the_unit_files_pass_systemd_analyze_verify() {
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("skipped: needs systemd-analyze");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    for kind in ["edge", "super"] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("deploy/systemd/egd-{kind}@.service"));
        let text = std::fs::read_to_string(&src)
            .unwrap()
            .replace("/usr/local/bin/egd", EGD);
        assert!(text.contains("Type=notify"));
        assert_hardened(kind, &text);
        let unit = dir.path().join(format!("egd-{kind}@test.service"));
        write(&unit, &text);
        let out = std::process::Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let complaints: Vec<&str> = err
            .lines()
            .filter(|l| l.contains(&format!("egd-{kind}@test.service")))
            .collect();
        assert!(
            out.status.success() && complaints.is_empty(),
            "{kind}: {err}"
        );
    }
}

/// The value of `Key=` in a unit's text (the last assignment wins, as in
/// systemd); `None` when the key is absent.
fn unit_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .next_back()
}

/// Words of `Key=` as a sorted list.
fn unit_words(text: &str, key: &str) -> Vec<String> {
    let mut words: Vec<String> = unit_value(text, key)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    words.sort();
    words
}

/// The hardening docs/security.md promises: egd starts as root bounded to
/// the capabilities it needs to set up, drops to the system user that
/// deploy/sysusers.d declares, and the unit confines the rest.
fn assert_hardened(kind: &str, text: &str) {
    let exec = unit_value(text, "ExecStart").unwrap();
    let user = exec
        .split_once("--user ")
        .map(|(_, rest)| rest.split_whitespace().next().unwrap())
        .unwrap_or_else(|| panic!("{kind}: ExecStart drops to a user: {exec}"));
    let sysusers = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/sysusers.d/egd.conf"),
    )
    .unwrap();
    assert!(
        sysusers
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["u", user])),
        "{kind}: deploy/sysusers.d/egd.conf creates {user}: {sysusers}"
    );
    assert_eq!(
        unit_words(text, "CapabilityBoundingSet"),
        [
            "CAP_DAC_READ_SEARCH",
            "CAP_NET_ADMIN",
            "CAP_NET_BIND_SERVICE",
            "CAP_SETGID",
            "CAP_SETPCAP",
            "CAP_SETUID"
        ],
        "{kind}: only what setting up needs"
    );
    assert_eq!(
        unit_value(text, "AmbientCapabilities"),
        Some(""),
        "{kind}: nothing is handed on ambiently"
    );
    for (key, want) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/etc/egd"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateMounts", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictNamespaces", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("RestrictRealtime", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("DevicePolicy", "closed"),
        ("UMask", "0077"),
    ] {
        assert_eq!(unit_value(text, key), Some(want), "{kind}: {key}");
    }
    assert_eq!(
        unit_words(text, "RestrictAddressFamilies"),
        ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"],
        "{kind}"
    );
    let devices = unit_value(text, "DeviceAllow");
    match kind {
        "edge" => assert_eq!(devices, Some("/dev/net/tun rw"), "the edge's tap"),
        _ => {
            assert_eq!(devices, None, "a supernode opens no device");
            assert_eq!(unit_value(text, "PrivateDevices"), Some("yes"));
        }
    }
}
