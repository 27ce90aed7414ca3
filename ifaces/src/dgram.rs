//! `udpsock` and `unixgramsock`: one frame per datagram.
//!
//! The socket is bound to `RecvAddr` (for UDP without one: an ephemeral port of
//! `SendAddr`'s family; for unix without one: an autobound abstract address, so
//! the peer can still answer). Frames go to `SendAddr`; without one, to the
//! source of the last datagram received (as upstream), and are dropped as
//! "disconnected" until something has been received. A unix socket file we
//! created is removed when the interface is dropped; a stale one is removed
//! before binding.
//!
//! Driving it: wait for `read_fd`, call `read_frame` until `Ok(None)`.
//! Datagrams longer than the caller's buffer are dropped and counted (the
//! kernel reports their full length through `MSG_TRUNC`). No maintenance.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use rustix::io::Errno;
use rustix::net::{
    RecvFlags, SendFlags, SocketAddrAny, SocketAddrUnix, SocketType, recvfrom, sendto,
};

use crate::error::{Context, IfaceError};
use crate::sockaddr::{Addr, BoundPath};
use crate::spec::{IfaceKind, IfaceSpec, SockSpec};
use crate::{IfaceStats, L2Interface};

/// A datagram endpoint (`udpsock`, `unixgramsock`).
#[derive(Debug)]
pub struct DatagramIface {
    name: String,
    fd: OwnedFd,
    /// Fixed `SendAddr`, or the last source seen when `learn` is set.
    peer: Option<SocketAddrAny>,
    learn: bool,
    _bound: Option<BoundPath>,
    stats: IfaceStats,
}

impl DatagramIface {
    /// Opens a `udpsock` or `unixgramsock` endpoint.
    pub fn open(spec: &IfaceSpec) -> Result<Self, IfaceError> {
        Self::open_inner(spec)
            .map_err(|e| e.context(format_args!("{} {}", spec.kind.itype(), spec.name)))
    }

    fn open_inner(spec: &IfaceSpec) -> Result<Self, IfaceError> {
        let unix = match spec.kind {
            IfaceKind::UdpSock => false,
            IfaceKind::UnixGramSock => true,
            other => {
                return Err(IfaceError::msg(format!(
                    "not a datagram kind: {}",
                    other.itype()
                )));
            }
        };
        if spec.recv_addr.is_none() && spec.send_addr.is_none() {
            return Err(IfaceError::msg("needs RecvAddr or SendAddr"));
        }
        let recv = spec
            .recv_addr
            .as_ref()
            .map(|s| resolve(s, unix, "RecvAddr"))
            .transpose()?;
        let send = spec
            .send_addr
            .as_ref()
            .map(|s| resolve(s, unix, "SendAddr"))
            .transpose()?;
        let local = match (recv, &send) {
            (Some(r), _) => r,
            (None, Some(Addr::Inet(SocketAddr::V4(_)))) => {
                Addr::Inet((Ipv4Addr::UNSPECIFIED, 0).into())
            }
            (None, Some(Addr::Inet(SocketAddr::V6(_)))) => {
                Addr::Inet((Ipv6Addr::UNSPECIFIED, 0).into())
            }
            // Autobind: the kernel picks a unique abstract name.
            (None, _) => Addr::Unix {
                addr: SocketAddrUnix::new_unnamed(),
                path: None,
            },
        };
        if let (Addr::Inet(l), Some(Addr::Inet(s))) = (&local, &send)
            && l.is_ipv4() != s.is_ipv4()
        {
            return Err(IfaceError::msg(
                "RecvAddr and SendAddr must be the same IP version",
            ));
        }
        let fd = local.socket(SocketType::DGRAM).ctx("socket")?;
        let bound = local
            .bind(&fd, SocketType::DGRAM)
            .ctx(format_args!("bind {}", describe(&local)))?;
        Ok(Self {
            name: spec.name.clone(),
            fd,
            learn: send.is_none(),
            peer: send.map(|a| a.any()),
            _bound: bound,
            stats: IfaceStats::default(),
        })
    }

    /// The bound IP address (useful with port 0); None for a unix socket.
    pub fn local_addr(&self) -> io::Result<Option<SocketAddr>> {
        Ok(SocketAddr::try_from(rustix::net::getsockname(&self.fd)?).ok())
    }
}

fn resolve(spec: &SockSpec, unix: bool, key: &str) -> Result<Addr, IfaceError> {
    match (spec, unix) {
        (SockSpec::Inet(a), false) => Ok(Addr::inet(*a)),
        (SockSpec::Unix(p), true) => Addr::unix(p).ctx(format_args!("{key} {}", p.display())),
        (SockSpec::Inet(a), true) => Err(IfaceError::msg(format!(
            "{key} {a} is not a unix socket path"
        ))),
        (SockSpec::Unix(p), false) => Err(IfaceError::msg(format!(
            "{key} {} is not an IP address",
            p.display()
        ))),
    }
}

pub(crate) fn describe(addr: &Addr) -> String {
    match addr {
        Addr::Inet(a) => a.to_string(),
        Addr::Unix { path: Some(p), .. } => p.display().to_string(),
        Addr::Unix { addr, path: None } => match addr.abstract_name() {
            Some(name) if !name.is_empty() => format!("@{}", String::from_utf8_lossy(name)),
            _ => "(autobind)".to_owned(),
        },
    }
}

impl L2Interface for DatagramIface {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }

    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match recvfrom(&self.fd, &mut *buf, RecvFlags::TRUNC) {
                Ok((_, full, from)) => {
                    if full > buf.len() {
                        self.stats.dropped_too_long += 1;
                        continue;
                    }
                    // An unbound unix peer has no address to answer to.
                    match from {
                        Some(from) if self.learn && !is_unnamed_unix(&from) => {
                            self.peer = Some(from)
                        }
                        _ => {}
                    }
                    self.stats.rx(full);
                    return Ok(Some(full));
                }
                Err(Errno::AGAIN) => return Ok(None),
                Err(Errno::INTR) => continue,
                // ICMP errors of earlier sends surface here on some sockets.
                Err(Errno::CONNREFUSED | Errno::HOSTUNREACH | Errno::NETUNREACH) => {
                    self.stats.rx_errors += 1
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        let Some(peer) = &self.peer else {
            self.stats.dropped_disconnected += 1;
            return Ok(());
        };
        match sendto(&self.fd, frame, SendFlags::NOSIGNAL, peer) {
            Ok(_) => self.stats.tx(frame.len()),
            Err(Errno::AGAIN | Errno::NOBUFS) => self.stats.dropped_would_block += 1,
            Err(Errno::MSGSIZE) => self.stats.dropped_too_long += 1,
            // Nobody bound there (unix) / port unreachable reported late (UDP).
            Err(Errno::CONNREFUSED | Errno::NOENT | Errno::NOTCONN) => {
                self.stats.dropped_disconnected += 1
            }
            Err(e @ (Errno::BADF | Errno::FAULT | Errno::NOTSOCK)) => return Err(e.into()),
            Err(_) => self.stats.tx_errors += 1,
        }
        Ok(())
    }

    fn stats(&self) -> IfaceStats {
        self.stats
    }
}

fn is_unnamed_unix(addr: &SocketAddrAny) -> bool {
    SocketAddrUnix::try_from(addr.clone()).is_ok_and(|u| u.is_unnamed())
}
