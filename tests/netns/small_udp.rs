//! Real kernel, small UDP datagrams through the tunnel (the 64-byte
//! rate of benches/README.md): two network namespaces A and B joined by a veth pair, an egd edge
//! with a tap in each. A sends bursts of 64-byte datagrams over IPv4 and
//! IPv6 to a socket on B's tap address; every datagram must arrive intact
//! and in order (so the kernel accepted the frames egd wrote and cut them
//! back into the same datagrams), and where the kernel has USO (Linux ≥
//! 6.2) B's egd must have written them as coalesced frames
//! (`egd_tap_offload_total{what="coalesced_segments"}`), far fewer writes
//! than datagrams. Checksums are not checked here: the kernel trusts the
//! partial checksum of a frame written with `NEEDS_CSUM` on local delivery
//! (a wrong seed only shows once the frame is forwarded out of a real
//! NIC), so the unit tests in `ifaces/src/offload/tests.rs` check them
//! against the textbook sum. A's tap queue must be the raised
//! length, and the new drop counters must be published. Namespaces are
//! always removed, also when the test fails.
//!
//! ```text
//!  ns A (egdt-sua)                          ns B (egdt-sub)
//!  sua 10.0.8.1/24 ───────── veth ───────── sub 10.0.8.2/24
//!  egd 1, UDP 3201                          egd 2, UDP 3202
//!  tap egd0 10.79.0.1/24, fd00:79::1/64     tap egd0 10.79.0.2/24, fd00:79::2/64
//!  UDP socket (thread in A) ── 64-byte bursts ──▶ UDP socket (thread in B)
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // real processes: waiting on the wall clock is the point

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use crate::support::http::{metrics, sample, series_of};
use crate::support::netns::{Netns, link, serial};
use crate::support::procs::Proc;
use crate::support::{kernel_test_unavailable, wait_for};
use egd::wg::keys::{private_key_from_random, public_key};

const EGD: &str = env!("CARGO_BIN_EXE_egd");
const METRICS_PORT: u16 = 9378;
/// Bursts × datagrams per burst, per address family.
const BURSTS: u32 = 40;
const BURST: u32 = 64;
/// The probe that checks the session is up (not a 64-byte datagram).
const HELLO: &[u8] = b"hello";

fn config(id: u16, peer: u16, endpoint: &str) -> String {
    let key = |n: u16| private_key_from_random([n as u8 * 13; 32]);
    format!(
        "Interface:
  IType: tap
  Name: egd0
  MacAddrPrefix: 02:EF:01:00
  IPv4CIDR: 10.79.0.0/24
  IPv6CIDR: fd00:79::/64
  MTU: 1400
NodeID: {id}
NodeName: node{id}
PrivKey: {}
ListenPort: {}
LogLevel:
  LogLevel: error
NextHopTable:
  1: {{2: 2}}
  2: {{1: 1}}
Peers:
- NodeID: {peer}
  PubKey: {}
  EndPoint: {endpoint}
  Static: true
",
        key(id).to_base64(),
        3200 + id,
        public_key(&key(peer)).to_base64()
    )
}

/// Runs `f` on a thread that has joined network namespace `ns`.
fn in_netns<T: Send + 'static>(
    ns: &Netns,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/var/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
}

/// The payload of datagram `i`: its number, then a pattern from it.
fn payload(i: u32) -> [u8; 64] {
    let mut p = [0u8; 64];
    p[..4].copy_from_slice(&i.to_be_bytes());
    for (j, b) in p[4..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(j as u8);
    }
    p
}

/// Sends all bursts from A to `dst` while B's socket (already bound)
/// receives; returns the datagrams received, in arrival order.
fn carry(a: &Netns, rx: UdpSocket, dst: SocketAddr) -> Vec<u32> {
    let receiver = std::thread::spawn(move || {
        rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while got.len() < (BURSTS * BURST) as usize {
            let Ok(n) = rx.recv(&mut buf) else { break };
            if buf[..n] == *HELLO {
                continue; // a late probe of the session check
            }
            assert_eq!(n, 64, "datagram length");
            let i = u32::from_be_bytes(buf[..4].try_into().unwrap());
            assert_eq!(buf[..64], payload(i), "datagram {i} intact");
            got.push(i);
        }
        got
    });
    let bind = if dst.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    in_netns(a, move || {
        let tx = UdpSocket::bind(bind).unwrap();
        for burst in 0..BURSTS {
            for k in 0..BURST {
                tx.send_to(&payload(burst * BURST + k), dst).unwrap();
            }
            // A burst fits every queue on the way; the pause lets it drain.
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .join()
    .unwrap();
    receiver.join().unwrap()
}

/// Linux ≥ 6.2 has USO on taps.
fn kernel_has_uso() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut v = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().ok());
    matches!((v.next(), v.next()), (Some(Some(major)), Some(Some(minor))) if (major, minor) >= (6, 2))
}

#[test]
fn small_datagrams_arrive_intact_and_coalesced() {
    let _serial = serial();
    if kernel_test_unavailable().is_some() {
        return;
    }
    let (a, b) = (Netns::new("sua"), Netns::new("sub"));
    link(&a, "10.0.8.1/24", &b, "10.0.8.2/24", "su");
    let dir = tempfile::tempdir().unwrap();
    let _nodes: Vec<Proc> = [
        (1u16, &a, config(1, 2, "10.0.8.2:3202")),
        (2, &b, config(2, 1, "10.0.8.1:3201")),
    ]
    .iter()
    .map(|(id, ns, text)| {
        let path = dir.path().join(format!("edge{id}.yaml"));
        std::fs::write(&path, text).unwrap();
        let mut cmd = ns.cmd(EGD);
        cmd.args(["--no-uapi", "--threads", "1", "--metrics-listen"])
            .arg(format!("127.0.0.1:{METRICS_PORT}"))
            .arg("--config")
            .arg(&path);
        Proc::spawn(cmd)
    })
    .collect();
    // The tap appears with the kernel's default queue length; egd sets its
    // own right after creating it, so wait for that rather than the file.
    let mut qlen = None;
    let set = wait_for(Duration::from_secs(10), || {
        let out = a
            .cmd("cat")
            .arg("/sys/class/net/egd0/tx_queue_len")
            .output()
            .ok()?;
        qlen = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .ok();
        (qlen == Some(egd_ifaces::tap::TX_QUEUE_LEN)).then_some(())
    });
    assert!(set.is_some(), "A's tap queue length: {qlen:?}");

    for dst_ip in ["10.79.0.2", "fd00:79::2"] {
        let dst = SocketAddr::new(dst_ip.parse::<IpAddr>().unwrap(), 9);
        // Until the address is on the tap (and, for IPv6, past duplicate
        // address detection), binding fails.
        let rx = wait_for(Duration::from_secs(15), || {
            in_netns(&b, move || UdpSocket::bind(dst).ok())
                .join()
                .unwrap()
        })
        .unwrap_or_else(|| panic!("bind {dst} in B"));
        // Room for many bursts: the test's own reader may wait for a CPU.
        nix::sys::socket::setsockopt(&rx, nix::sys::socket::sockopt::RcvBufForce, &(8 << 20))
            .unwrap();
        // The session: a first datagram may wait for the handshake. A's
        // own tap address (and its route) may still be on its way: until
        // then sending fails with "network unreachable" and we try again.
        let up = wait_for(Duration::from_secs(15), || {
            let probe = rx.try_clone().unwrap();
            probe
                .set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let bind = if dst.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            let sent = in_netns(&a, move || {
                UdpSocket::bind(bind).unwrap().send_to(HELLO, dst).is_ok()
            })
            .join()
            .unwrap();
            if !sent {
                return None;
            }
            let mut buf = [0u8; 64];
            (probe.recv(&mut buf).ok() == Some(HELLO.len())).then_some(())
        });
        assert!(up.is_some(), "{dst}: the tunnel carries a datagram");
        let got = carry(&a, rx, dst);
        let want: Vec<u32> = (0..BURSTS * BURST).collect();
        let missing: Vec<u32> = want.iter().copied().filter(|i| !got.contains(i)).collect();
        if !missing.is_empty() {
            for ns in [&a, &b] {
                let text = metrics(ns, METRICS_PORT).unwrap_or_default();
                let drops = ["egd_dropped_packets_total", "egd_interface_dropped_total"]
                    .map(|s| series_of(&text, s));
                eprintln!("{}: {drops:?}", ns.name);
            }
        }
        assert_eq!(
            got.len(),
            want.len(),
            "{dst}: every datagram arrives; missing {missing:?}"
        );
        assert_eq!(got, want, "{dst}: in order");
    }

    // Counters reach the registry once a second: wait until every datagram
    // written to B's tap is in them.
    let total = f64::from(2 * BURSTS * BURST);
    let text = wait_for(Duration::from_secs(15), || {
        let text = metrics(&b, METRICS_PORT)?;
        let pushed = sample(&text, "egd_tap_offload_total{what=\"frames_to_coalesce\"}")?;
        (pushed >= total).then_some(text)
    })
    .expect("B's metrics count every datagram");
    let offload = series_of(&text, "egd_tap_offload_total");
    eprintln!(
        "B:\n{offload}\n{}",
        series_of(&text, "egd_interface_dropped_total")
    );
    let segments = sample(&text, "egd_tap_offload_total{what=\"coalesced_segments\"}");
    let frames = sample(
        &text,
        "egd_tap_offload_total{what=\"coalesced_frames_out\"}",
    );
    if kernel_has_uso() {
        // Bursts of 64 leave as a few writes each; some datagrams may pass
        // alone when a burst is split across reactor wake-ups.
        assert!(
            segments.is_some_and(|s| s >= total / 2.0),
            "coalesced segments {segments:?} of {total}:\n{offload}"
        );
        assert!(
            frames.is_some_and(|f| f * 4.0 <= segments.unwrap_or(0.0)),
            "coalesced frames {frames:?} for {segments:?} segments"
        );
    } else {
        eprintln!("kernel before 6.2: no USO, datagrams written one by one");
    }
    for (ns, name) in [(&a, "A"), (&b, "B")] {
        let text = metrics(ns, METRICS_PORT).expect("metrics answer");
        for series in [
            "egd_interface_dropped_total{where=\"kernel_tx\"}",
            "egd_interface_dropped_total{where=\"would_block\"}",
            "egd_udp_io_total{what=\"socket_drops\"}",
        ] {
            let n = sample(&text, series);
            assert_eq!(n, Some(0.0), "{name}: {series} is published, and 0 here");
        }
    }
}
