//! `tap` against the real kernel, each test inside a fresh network namespace:
//! a dedicated thread calls unshare(CLONE_NEWNET), so nothing outside the
//! namespace is touched, and the namespace with its taps disappears when the
//! thread ends, also when the test fails. Skips only without /dev/net/tun.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // one thread per namespace

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::RawFd;
use std::process::Command;

use egd_ifaces::{IfaceKind, IfaceSpec, L2Interface, Tap};
use rustix::net::{AddressFamily, SocketFlags, SocketType, socket_with};
use rustix::thread::UnshareFlags;

const TAP_MAC: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x05];
const PEER_MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

/// Runs `test` on a thread of its own in a new network namespace. Skips (with
/// the reason printed) without /dev/net/tun, or without the privilege to make
/// a namespace (not root) unless EGD_REQUIRE_TOOLS is set, as in
/// `deploy/test.sh`, where that is a failure.
#[allow(clippy::print_stdout)] // house rule 9: a skipped test says why
fn in_fresh_netns(test: impl FnOnce() + Send + 'static) {
    if !std::path::Path::new("/dev/net/tun").exists() {
        println!("skipped: this kernel has no /dev/net/tun");
        return;
    }
    let thread = std::thread::spawn(move || {
        // SAFETY: only CLONE_NEWNET: this thread's fd table and memory stay
        // shared, so no thread can observe descriptors from another table.
        match unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) } {
            Ok(()) => {
                test();
                true
            }
            Err(rustix::io::Errno::PERM) if std::env::var_os("EGD_REQUIRE_TOOLS").is_none() => {
                false
            }
            Err(e) => panic!("unshare(CLONE_NEWNET): {e}"),
        }
    });
    match thread.join() {
        Ok(true) => {}
        Ok(false) => println!("skipped: creating a network namespace needs root (CAP_SYS_ADMIN)"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn tap_spec(name: &str) -> IfaceSpec {
    let mut spec = IfaceSpec::new(IfaceKind::Tap, name, 5, TAP_MAC);
    spec.mtu = 1400;
    spec.ipv4 = Some(("192.168.76.0".parse().unwrap(), 24));
    spec.ipv6 = Some(("fd00:76::".parse().unwrap(), 64));
    spec.ipv6_link_local = Some(("fe80::a3df:0".parse().unwrap(), 112));
    spec
}

fn exists(name: &str) -> bool {
    let s = socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    rustix::net::netdevice::name_to_index(&s, name).is_ok()
}

/// An ARP request "who has 192.168.76.5? tell 192.168.76.<sender>".
fn arp_request(sender: u8) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&[0x08, 0x06]); // ARP
    f.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]); // Ethernet/IPv4, request
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&[192, 168, 76, sender]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&[192, 168, 76, 5]);
    f
}

fn is_arp_reply(f: &[u8]) -> bool {
    f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[20..22] == [0x00, 0x02]
}

/// Reads frames from any of `ifaces` until an ARP reply (the kernel also sends
/// IPv6 neighbour discovery and MLD on a new link; those are skipped).
fn await_arp_reply(ifaces: &mut [&mut dyn L2Interface]) -> Vec<u8> {
    let end = common::now() + common::PATIENCE;
    let mut buf = [0u8; 2048];
    loop {
        for iface in ifaces.iter_mut() {
            while let Some(n) = iface.read_frame(&mut buf).unwrap() {
                if is_arp_reply(&buf[..n]) {
                    return buf[..n].to_vec();
                }
            }
        }
        assert!(common::now() < end, "no ARP reply from the kernel");
        let fds: Vec<RawFd> = ifaces.iter().filter_map(|i| i.read_fd()).collect();
        common::wait_readable(fds.first().copied(), 20);
    }
}

/// `ip -o addr show dev NAME` as (address, prefix) pairs: a second opinion on
/// what the kernel holds, from a different netlink implementation.
fn ip_tool_addresses(name: &str) -> Option<BTreeSet<(IpAddr, u8)>> {
    let out = Command::new("ip")
        .args(["-o", "addr", "show", "dev", name])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "ip: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            if pair[0] == "inet" || pair[0] == "inet6" {
                let (ip, len) = pair[1].split_once('/').unwrap();
                found.insert((ip.parse().unwrap(), len.parse().unwrap()));
            }
        }
    }
    Some(found)
}

#[test]
fn tap_is_configured_and_carries_frames_both_ways() {
    let name = common::unique("egdt");
    in_fresh_netns(move || {
        let mut tap = Tap::open(&tap_spec(&name)).unwrap();
        assert_eq!(tap.name(), name);
        assert!(tap.read_fd().is_some());

        let link = tap.link_state().unwrap();
        assert_eq!(link.mac, TAP_MAC);
        assert_eq!(link.mtu, 1400);
        assert!(link.up);

        // Host part = NodeID 5; the link-local address as a /64 and the only
        // link-local one (no EUI-64 address from the kernel).
        let want: BTreeSet<(IpAddr, u8)> = [
            ("192.168.76.5".parse().unwrap(), 24),
            ("fd00:76::5".parse().unwrap(), 64),
            ("fe80::a3df:5".parse().unwrap(), 64),
        ]
        .into_iter()
        .collect();
        let got: BTreeSet<_> = tap.addresses().unwrap().into_iter().collect();
        assert_eq!(got, want);
        match ip_tool_addresses(&name) {
            Some(seen) => assert_eq!(seen, want, "ip addr disagrees"),
            None => {
                assert!(
                    std::env::var_os("EGD_REQUIRE_TOOLS").is_none(),
                    "ip (iproute2) is required here"
                );
                println!("note: no `ip` binary; addresses checked through netlink only");
            }
        }

        // A frame written to the tap reaches the kernel, whose answer comes
        // back out of the tap.
        tap.write_frame(&arp_request(9)).unwrap();
        let reply = await_arp_reply(&mut [&mut tap]);
        assert_eq!(reply[0..6], PEER_MAC, "to the asker");
        assert_eq!(reply[6..12], TAP_MAC, "from the tap's MAC");
        assert_eq!(reply[22..28], TAP_MAC, "sender hardware address");
        assert_eq!(reply[28..32], [192, 168, 76, 5], "sender IP");
        assert_eq!(reply[32..38], PEER_MAC, "target hardware address");
        assert_eq!(reply[38..42], [192, 168, 76, 9], "target IP");
        let stats = tap.stats();
        assert!(stats.tx_frames >= 1 && stats.rx_frames >= 1, "{stats:?}");

        // Frames longer than the caller's buffer are dropped and counted.
        tap.write_frame(&arp_request(10)).unwrap();
        let end = common::now() + common::PATIENCE;
        let mut small = [0u8; 30];
        while tap.stats().dropped_too_long == 0 {
            assert!(common::now() < end, "nothing was dropped as too long");
            while let Some(n) = tap.read_frame(&mut small).unwrap() {
                assert!(n <= small.len());
            }
            common::wait_readable(tap.read_fd(), 20);
        }

        // Shorter than an Ethernet header: refused by the kernel, counted.
        tap.write_frame(&[0u8; 6]).unwrap();
        assert_eq!(tap.stats().tx_errors, 1);

        // The tap is not persistent: it goes away with its fd.
        assert!(exists(&name));
        drop(tap);
        assert!(!exists(&name));
    });
}

#[test]
fn tap_multi_queue() {
    let name = common::unique("egdt");
    in_fresh_netns(move || {
        let mut spec = tap_spec(&name);
        spec.queues = 2;
        let mut tap = Tap::open(&spec).unwrap();
        let mut second = tap.open_queue().unwrap();
        assert_eq!(second.name(), name);
        assert_ne!(tap.read_fd(), second.read_fd());
        // Either queue may carry the answer; both are attached and working.
        second.write_frame(&arp_request(9)).unwrap();
        let reply = await_arp_reply(&mut [&mut tap, &mut second]);
        assert_eq!(reply[28..32], [192, 168, 76, 5]);
        drop(tap);
        // The device lives while any queue is open.
        assert!(exists(&name));
        drop(second);
        assert!(!exists(&name));

        // A single-queue tap cannot grow queues.
        let single = Tap::open(&tap_spec(&name)).unwrap();
        let e = single.open_queue().unwrap_err().to_string();
        assert_eq!(
            e,
            format!("tap {name}: open_queue: the tap was opened with one queue")
        );
    });
}

#[test]
fn tap_errors_name_the_step_and_leave_no_device() {
    let name = common::unique("egdt");
    in_fresh_netns(move || {
        let e = Tap::open(&tap_spec("0123456789abcdef"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("tap 0123456789abcdef: TUNSETIFF: interface name must be"),
            "{e}"
        );

        let mut spec = tap_spec(&name);
        spec.ipv4 = Some((Ipv4Addr::new(192, 168, 76, 0), 30));
        let e = Tap::open(&spec).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "tap {name}: IPv4CIDR: NodeID 5 does not fit in 192.168.76.0/30 (NodeIDs 0..=2 fit)"
            )
        );
        assert!(
            !exists(&name),
            "a failed open must not leave the device behind"
        );

        let mut spec = tap_spec(&name);
        spec.ipv6_link_local = Some(("fd00::".parse().unwrap(), 112));
        let e = Tap::open(&spec).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("tap {name}: IPv6LLPrefix: fd00::5 is not in fe80::/64")
        );
        assert!(!exists(&name));

        // Without IPv6LLPrefix the kernel's own link-local address stays.
        let mut spec = tap_spec(&name);
        spec.ipv6_link_local = None;
        spec.ipv6 = None;
        let tap = Tap::open(&spec).unwrap();
        let addrs = tap.addresses().unwrap();
        assert!(
            addrs.contains(&("192.168.76.5".parse().unwrap(), 24)),
            "{addrs:?}"
        );
    });
}
