//! The UDP sockets an edge listens on: one per enabled address family, on the
//! same port (`ListenPort`, or one the kernel picks when it is 0), with the
//! IPv6 socket IPv6-only so the two never overlap.
//!
//! With several reactor threads ([`bind_reuseport`]) every thread gets its
//! own socket per family, all bound to the same port with `SO_REUSEPORT`:
//! the kernel hashes each datagram's 4-tuple to one socket of the group, so
//! all datagrams of one peer (one endpoint) reach the same thread, in order,
//! as long as the group does not change (it is fixed for the daemon's
//! life). Replies leave from the same port, so peers see one endpoint.
//! `SO_REUSEPORT` lets another process of the same user bind the port too;
//! it is only set when more than one thread is asked for.
//!
//! Socket buffers and UDP GRO are set by the reactor when it takes the
//! sockets (`Reactor::add_udp`: `SO_RCVBUFFORCE`/`SO_SNDBUFFORCE` as root,
//! else `SO_RCVBUF`/`SO_SNDBUF` capped by `net.core.rmem_max`/`wmem_max`, size
//! `ReactorConfig::socket_buffer`); the effective sizes are in the reactor's
//! features line (`so_rcvbuf=… so_sndbuf=… so_buf_force=…`).
//!
//! `FwMark` (when not 0) is set on every socket as `SO_MARK` before it is
//! bound, like `wg set … fwmark`: policy routing and nftables can then tell
//! egd's tunnel traffic from the traffic it carries. Setting it needs
//! `CAP_NET_ADMIN` (or, since Linux 5.17, `CAP_NET_RAW`), which the daemon
//! still holds here (privileges are dropped after set-up); a failure names
//! the key and the value. NTP queries (rsntp's own sockets) are not marked.
//!
//! A port still held by a process that just died is waited for (up to
//! [`BIND_PATIENCE`]), so a restart right after a crash does not fail.
//!
//! That wait matters most for a `SO_REUSEPORT` group: a killed egd's
//! io_uring sockets outlive it by 10–50 ms, and a new group of the same
//! user on the same port would simply join them — the kernel then hashes a
//! share of the peers (old sockets ÷ all sockets) to sockets nobody reads,
//! and those datagrams are lost. At start that is the answers to egd's
//! first handshakes, which WireGuard retries only after `REKEY_TIMEOUT`
//! (5 s). So before a group is bound to a fixed port, a probe socket
//! *without* `SO_REUSEPORT` is bound there (it cannot share the port with
//! anyone), patiently, and released; the group binds right after.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::config::AddressFamilies;
use crate::logging::target;

/// The bound sockets: IPv4 first when both exist.
#[derive(Debug)]
pub struct Bound {
    pub v4: Option<UdpSocket>,
    pub v6: Option<UdpSocket>,
    pub port: u16,
}

/// Binds the sockets for `port` and the enabled families, each marked
/// with `fwmark` unless it is 0. With port 0 the IPv4 socket's
/// kernel-chosen port is reused for IPv6.
pub fn bind(af: &AddressFamilies, port: u16, fwmark: u32) -> io::Result<Bound> {
    bind_one(af, port, false, fwmark)
}

/// `count` groups of sockets on one port (each group as [`bind`] makes
/// it), all with `SO_REUSEPORT` when `count > 1`; group 0 first.
pub fn bind_reuseport(
    af: &AddressFamilies,
    port: u16,
    count: usize,
    fwmark: u32,
) -> io::Result<Vec<Bound>> {
    let reuse = count > 1;
    if reuse && port != 0 {
        // Wait until no socket holds the port, so the group is ours alone
        // (see the module docs); the probe is closed when it returns.
        bind_one(af, port, false, 0)?;
    }
    let first = bind_one(af, port, reuse, fwmark)?;
    let port = first.port;
    let mut all = vec![first];
    for _ in 1..count {
        all.push(bind_one(af, port, reuse, fwmark)?);
    }
    Ok(all)
}

fn bind_one(af: &AddressFamilies, port: u16, reuse: bool, fwmark: u32) -> io::Result<Bound> {
    let mut port = port;
    let v4 = if af.ipv4 {
        let ip = af.listen_v4.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let s = udp(Domain::IPV4, SocketAddr::from((ip, port)), reuse, fwmark)?;
        port = s.local_addr()?.port();
        Some(s)
    } else {
        None
    };
    let v6 = if af.ipv6 {
        let ip = af.listen_v6.unwrap_or(Ipv6Addr::UNSPECIFIED);
        match udp(Domain::IPV6, SocketAddr::from((ip, port)), reuse, fwmark) {
            Ok(s) => {
                port = s.local_addr()?.port();
                Some(s)
            }
            // A host without IPv6 still runs on IPv4.
            Err(e) if v4.is_some() && e.raw_os_error() == Some(libc::EAFNOSUPPORT) => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    Ok(Bound { v4, v6, port })
}

fn udp(domain: Domain, addr: SocketAddr, reuse_port: bool, fwmark: u32) -> io::Result<UdpSocket> {
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if domain == Domain::IPV6 {
        s.set_only_v6(true)?;
    }
    if reuse_port {
        s.set_reuse_port(true)?;
    }
    if fwmark != 0 {
        set_mark(&s, fwmark)?;
    }
    s.set_nonblocking(true)?;
    bind_patiently(&s, addr, BIND_PATIENCE)?;
    Ok(s.into())
}

/// `SO_MARK` = `fwmark` on `s`; the error names the config key and value.
fn set_mark(s: &Socket, fwmark: u32) -> io::Result<()> {
    nix::sys::socket::setsockopt(s, nix::sys::socket::sockopt::Mark, &fwmark).map_err(|e| {
        let hint = if e == nix::errno::Errno::EPERM {
            " (needs CAP_NET_ADMIN)"
        } else {
            ""
        };
        io::Error::new(
            io::Error::from(e).kind(),
            format!("FwMark {fwmark} (0x{fwmark:x}): setting SO_MARK: {e}{hint}"),
        )
    })
}

/// How long a port that is in use may take to become free at start-up.
const BIND_PATIENCE: Duration = Duration::from_secs(3);

/// Binds `s` to `addr`, retrying for up to `patience` while the port is in
/// use: a process killed with `kill -9` (or crashed) still holds its
/// io_uring sockets for tens of milliseconds after it has been reaped —
/// the kernel tears the ring down on a work queue — so a daemon restarted
/// at once would otherwise exit with "Address already in use". A port that
/// stays taken is still an error, only later.
fn bind_patiently(s: &Socket, addr: SocketAddr, patience: Duration) -> io::Result<()> {
    let deadline = Instant::now() + patience;
    let mut warned = false;
    loop {
        match s.bind(&addr.into()) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                if !warned {
                    tracing::warn!(target: target::NORMAL, "UDP {addr} is in use; retrying for up to {patience:?}");
                    warned = true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(io::Error::new(e.kind(), format!("bind {addr}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_only() -> AddressFamilies {
        AddressFamilies {
            ipv4: true,
            ipv6: false,
            listen_v4: Some(Ipv4Addr::LOCALHOST),
            listen_v6: None,
        }
    }

    /// Every socket of a `SO_REUSEPORT` group carries the mark; without
    /// CAP_NET_ADMIN the error names the key and value instead.
    #[test]
    fn fwmark_is_set_on_every_socket_of_a_group() {
        use nix::sys::socket::{getsockopt, sockopt::Mark};
        match bind_reuseport(&v4_only(), 0, 3, 0x1234) {
            Ok(groups) => {
                assert_eq!(groups.len(), 3);
                for g in &groups {
                    let s = g.v4.as_ref().unwrap();
                    assert_eq!(getsockopt(s, Mark).unwrap(), 0x1234);
                }
            }
            Err(e) => {
                assert!(!nix::unistd::geteuid().is_root(), "as root: {e}");
                assert!(e.to_string().contains("FwMark 4660 (0x1234)"), "{e}");
            }
        }
        // FwMark 0 (the default) leaves the mark alone.
        let b = bind(&v4_only(), 0, 0).unwrap();
        assert_eq!(getsockopt(b.v4.as_ref().unwrap(), Mark).unwrap(), 0);
    }

    /// Without CAP_NET_ADMIN and CAP_NET_RAW (dropped on this thread only:
    /// capabilities are per thread) the error names the key, the value and
    /// the need.
    #[test]
    fn fwmark_without_cap_net_admin_is_a_clear_error() {
        let err = std::thread::spawn(|| {
            use caps::{CapSet, Capability};
            // Linux ≥ 5.17 also accepts CAP_NET_RAW for SO_MARK.
            for cap in [Capability::CAP_NET_ADMIN, Capability::CAP_NET_RAW] {
                caps::drop(None, CapSet::Effective, cap).unwrap();
            }
            bind(&v4_only(), 0, 0x1234).unwrap_err().to_string()
        })
        .join()
        .unwrap();
        assert!(err.contains("FwMark 4660 (0x1234)"), "{err}");
        assert!(err.contains("CAP_NET_ADMIN"), "{err}");
    }

    #[test]
    fn a_port_freed_soon_after_start_is_waited_for() {
        let holder = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = holder.local_addr().unwrap().port();
        let started = Instant::now();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(holder);
        });
        let b = bind(&v4_only(), port, 0).unwrap();
        assert_eq!(b.port, port);
        assert!(started.elapsed() >= Duration::from_millis(250));
        release.join().unwrap();
    }

    #[test]
    fn a_port_that_stays_taken_is_still_an_error() {
        let holder = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = holder.local_addr().unwrap();
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        let started = Instant::now();
        let e = bind_patiently(&s, addr, Duration::from_millis(200)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn both_families_share_one_port() {
        let af = AddressFamilies {
            ipv4: true,
            ipv6: true,
            listen_v4: Some(Ipv4Addr::LOCALHOST),
            listen_v6: Some(Ipv6Addr::LOCALHOST),
        };
        let b = bind(&af, 0, 0).unwrap();
        let p4 = b.v4.as_ref().unwrap().local_addr().unwrap().port();
        assert_eq!(p4, b.port);
        if let Some(v6) = &b.v6 {
            assert_eq!(v6.local_addr().unwrap().port(), b.port);
        }
    }

    /// The sockets of a process that just died, still bound with
    /// `SO_REUSEPORT` (as a killed egd's are for tens of milliseconds): a
    /// new group waits until they are gone instead of joining them, so no
    /// peer is hashed to a socket nobody reads.
    #[test]
    fn a_group_does_not_join_a_dying_processs_sockets() {
        let af = v4_only();
        let dying = bind_reuseport(&af, 0, 2, 0).unwrap();
        let port = dying[0].port;
        let started = Instant::now();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(dying);
        });
        let groups = bind_reuseport(&af, port, 2, 0).unwrap();
        let waited = started.elapsed();
        release.join().unwrap();
        assert!(
            waited >= Duration::from_millis(250),
            "joined at once ({waited:?})"
        );
        assert!(groups.iter().all(|g| g.port == port));
        // Every one of 16 sources reaches the new group.
        let socks: Vec<&UdpSocket> = groups.iter().map(|g| g.v4.as_ref().unwrap()).collect();
        let dst = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let senders: Vec<UdpSocket> = (0..16)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        for tx in &senders {
            tx.send_to(b"x", dst).unwrap();
        }
        let mut got = 0;
        let mut buf = [0u8; 8];
        for _ in 0..100 {
            for s in &socks {
                while s.recv_from(&mut buf).is_ok() {
                    got += 1;
                }
            }
            if got == senders.len() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(got, senders.len(), "every source reaches the new group");
    }

    /// What the wait avoids: a group that joins live sockets of the same
    /// user shares the port with them, and sources hashed to those are
    /// not seen by the new sockets at all.
    #[test]
    fn joining_a_foreign_group_would_lose_its_share_of_sources() {
        let af = v4_only();
        let old = bind_reuseport(&af, 0, 2, 0).unwrap();
        let port = old[0].port;
        // Joined as the code did before the probe: reuseport at once.
        let new = [
            bind_one(&af, port, true, 0).unwrap(),
            bind_one(&af, port, true, 0).unwrap(),
        ];
        let dst = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let senders: Vec<UdpSocket> = (0..32)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        for tx in &senders {
            tx.send_to(b"x", dst).unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
        let count = |groups: &[Bound]| {
            let mut n = 0;
            let mut buf = [0u8; 8];
            for g in groups {
                while g.v4.as_ref().unwrap().recv_from(&mut buf).is_ok() {
                    n += 1;
                }
            }
            n
        };
        let (to_old, to_new) = (count(&old), count(&new));
        assert_eq!(to_old + to_new, senders.len());
        assert!(
            to_old > 0,
            "some sources hash to the old sockets: {to_old} of 32"
        );
    }

    /// Four sockets share one port; datagrams from one source always reach
    /// the same socket of the group (the kernel's 4-tuple hash), and
    /// several sources spread over more than one socket.
    #[test]
    fn reuseport_group_steers_each_source_to_one_socket() {
        let af = AddressFamilies {
            ipv4: true,
            ipv6: false,
            listen_v4: Some(Ipv4Addr::LOCALHOST),
            listen_v6: None,
        };
        let groups = bind_reuseport(&af, 0, 4, 0).unwrap();
        assert_eq!(groups.len(), 4);
        let port = groups[0].port;
        let socks: Vec<&UdpSocket> = groups.iter().map(|g| g.v4.as_ref().unwrap()).collect();
        for s in &socks {
            assert_eq!(s.local_addr().unwrap().port(), port);
        }
        let senders: Vec<UdpSocket> = (0..16)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        let dst = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut used = std::collections::BTreeSet::new();
        for (i, tx) in senders.iter().enumerate() {
            for _ in 0..8 {
                tx.send_to(&[i as u8], dst).unwrap();
            }
            // Every datagram of this source is on exactly one socket.
            let mut got = vec![0usize; socks.len()];
            let mut buf = [0u8; 8];
            for _ in 0..100 {
                for (k, s) in socks.iter().enumerate() {
                    while let Ok((n, from)) = s.recv_from(&mut buf) {
                        assert_eq!((n, buf[0]), (1, i as u8));
                        assert_eq!(from, tx.local_addr().unwrap());
                        got[k] += 1;
                    }
                }
                if got.iter().sum::<usize>() == 8 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let holders: Vec<usize> = (0..socks.len()).filter(|k| got[*k] > 0).collect();
            assert_eq!(got.iter().sum::<usize>(), 8, "source {i}: {got:?}");
            assert_eq!(holders.len(), 1, "source {i} split over sockets: {got:?}");
            used.insert(holders[0]);
        }
        assert!(used.len() > 1, "16 sources all on one socket: {used:?}");
    }
}
