//! `tap`: a Linux tap device (`/dev/net/tun`, `IFF_TAP | IFF_NO_PI`).
//!
//! [`Tap::open`] creates the device (or attaches to a persistent one of that
//! name), then, in this order: sets the MAC (`spec.mac`) and the MTU, turns off
//! the kernel's EUI-64 link-local address if `IPv6LLPrefix` is set, brings the
//! link up, and adds the addresses whose host part is the NodeID (see
//! [`crate::hostaddr`]): `IPv4CIDR` and `IPv6CIDR` with their prefix length,
//! `IPv6LLPrefix` as a /64 (upstream did the same: link-local is one /64).
//! Addresses go through netlink, the rest through ioctls; no `ip` binary needed.
//!
//! Driving it: wait for [`L2Interface::read_fd`] to be readable, call
//! `read_frame` until `Ok(None)`; `write_frame` never blocks (a full queue drops
//! the frame and counts it). One read is one frame; the kernel never splits or
//! merges them, and nothing is buffered in user space.
//!
//! Multi-queue: with `spec.queues > 1` the device is created with
//! `IFF_MULTI_QUEUE` and [`Tap::open_queue`] attaches each further queue (one fd
//! each, to be driven by its own thread). The kernel spreads flows over the
//! attached queues, so attach only queues that will be read.
//!
//! The device is not persistent: it disappears when the last queue is dropped.

mod ifreq;
mod netlink;

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use rustix::fs::{Mode, OFlags, open};
use rustix::io::Errno;

use crate::error::{Context, IfaceError};
use crate::fdio::{self, ReadOutcome};
use crate::hostaddr::{ipv4_host, ipv6_host};
use crate::spec::IfaceSpec;
use crate::{IfaceStats, L2Interface};

const CLONE_DEVICE: &str = "/dev/net/tun";

/// The first queue of a tap device, which also owns its configuration.
#[derive(Debug)]
pub struct Tap {
    queue: TapQueue,
    flags: libc::c_int,
}

/// One queue (fd) of a tap device; an [`L2Interface`] on its own.
#[derive(Debug)]
pub struct TapQueue {
    fd: OwnedFd,
    name: String,
    stats: IfaceStats,
}

impl Tap {
    /// Creates and configures the tap described by `spec` (kind `tap`).
    pub fn open(spec: &IfaceSpec) -> Result<Self, IfaceError> {
        Self::open_inner(spec).map_err(|e| e.context(format_args!("tap {}", spec.name)))
    }

    fn open_inner(spec: &IfaceSpec) -> Result<Self, IfaceError> {
        let mut flags = libc::IFF_TAP | libc::IFF_NO_PI;
        if spec.queues > 1 {
            flags |= libc::IFF_MULTI_QUEUE;
        }
        // Settings are checked before the device exists.
        let addresses = addresses(spec)?;
        let fd = open_queue_fd(&spec.name, flags)?;
        let tap = Tap {
            queue: TapQueue {
                fd,
                name: spec.name.clone(),
                stats: IfaceStats::default(),
            },
            flags,
        };
        tap.configure(spec, &addresses)?;
        Ok(tap)
    }

    fn configure(&self, spec: &IfaceSpec, addresses: &[(IpAddr, u8)]) -> Result<(), IfaceError> {
        let name = self.name();
        let ctl = ifreq::control_socket().ctx("control socket")?;
        ifreq::set_mac(ctl.as_fd(), name, spec.mac).ctx("SIOCSIFHWADDR")?;
        ifreq::set_mtu(ctl.as_fd(), name, spec.mtu).ctx(format_args!("SIOCSIFMTU {}", spec.mtu))?;
        let index = rustix::net::netdevice::name_to_index(&ctl, name).ctx("SIOCGIFINDEX")?;
        let mut nl = None;
        if spec.ipv6_link_local.is_some() {
            let nl = netlink(&mut nl)?;
            nl.disable_ipv6_auto_link_local(index)
                .ctx("netlink: addrgenmode none")?;
        }
        ifreq::set_up(ctl.as_fd(), name).ctx("SIOCSIFFLAGS up")?;
        for &(addr, len) in addresses {
            let nl = netlink(&mut nl)?;
            nl.add_address(index, addr, len)
                .ctx(format_args!("netlink: add address {addr}/{len}"))?;
        }
        Ok(())
    }

    /// Attaches one more queue (only if the spec asked for `queues > 1`).
    pub fn open_queue(&self) -> Result<TapQueue, IfaceError> {
        let what = format_args!("tap {}", self.name());
        if self.flags & libc::IFF_MULTI_QUEUE == 0 {
            return Err(
                IfaceError::msg("open_queue: the tap was opened with one queue").context(what),
            );
        }
        let fd = open_queue_fd(self.name(), self.flags).map_err(|e| e.context(what))?;
        Ok(TapQueue {
            fd,
            name: self.queue.name.clone(),
            stats: IfaceStats::default(),
        })
    }

    /// The device's name (as the kernel reports it).
    pub fn name(&self) -> &str {
        &self.queue.name
    }

    /// The device's current addresses, read back through netlink.
    pub fn addresses(&self) -> io::Result<Vec<(IpAddr, u8)>> {
        let ctl = ifreq::control_socket()?;
        let index = rustix::net::netdevice::name_to_index(&ctl, self.name())?;
        netlink::Netlink::open()?.addresses(index)
    }

    /// The device's MAC, MTU and whether it is up, read back through ioctls.
    pub fn link_state(&self) -> io::Result<LinkState> {
        let ctl = ifreq::control_socket()?;
        let name = self.name();
        Ok(LinkState {
            mac: ifreq::mac(ctl.as_fd(), name)?,
            mtu: ifreq::mtu(ctl.as_fd(), name)?,
            up: ifreq::flags(ctl.as_fd(), name)? & libc::IFF_UP != 0,
        })
    }
}

/// What [`Tap::link_state`] reads back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkState {
    pub mac: [u8; 6],
    pub mtu: u32,
    pub up: bool,
}

fn netlink(slot: &mut Option<netlink::Netlink>) -> Result<&mut netlink::Netlink, IfaceError> {
    if slot.is_none() {
        *slot = Some(netlink::Netlink::open().ctx("netlink socket")?);
    }
    // Filled just above.
    slot.as_mut()
        .ok_or_else(|| IfaceError::msg("netlink socket"))
}

/// The addresses to assign, host part = NodeID; the link-local one as a /64.
fn addresses(spec: &IfaceSpec) -> Result<Vec<(IpAddr, u8)>, IfaceError> {
    let mut out = Vec::new();
    if let Some((net, len)) = spec.ipv6_link_local {
        let ip = ipv6_host(net, len, spec.node_id)
            .map_err(|e| IfaceError::msg(format!("IPv6LLPrefix: {e}")))?;
        if ip.segments()[..4] != [0xfe80, 0, 0, 0] {
            return Err(IfaceError::msg(format!(
                "IPv6LLPrefix: {ip} is not in fe80::/64"
            )));
        }
        out.push((IpAddr::V6(ip), 64));
    }
    if let Some((net, len)) = spec.ipv6 {
        let ip = ipv6_host(net, len, spec.node_id)
            .map_err(|e| IfaceError::msg(format!("IPv6CIDR: {e}")))?;
        out.push((IpAddr::V6(ip), len));
    }
    if let Some((net, len)) = spec.ipv4 {
        let ip = ipv4_host(net, len, spec.node_id)
            .map_err(|e| IfaceError::msg(format!("IPv4CIDR: {e}")))?;
        out.push((IpAddr::V4(ip), len));
    }
    Ok(out)
}

fn open_queue_fd(name: &str, flags: libc::c_int) -> Result<OwnedFd, IfaceError> {
    let fd = open(
        CLONE_DEVICE,
        OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(format_args!("open {CLONE_DEVICE}"))?;
    let kernel_name = ifreq::tun_set_iff(fd.as_fd(), name, flags).ctx("TUNSETIFF")?;
    if kernel_name != name {
        return Err(IfaceError::msg(format!(
            "TUNSETIFF: the kernel named the device {kernel_name:?}"
        )));
    }
    Ok(fd)
}

impl L2Interface for Tap {
    fn name(&self) -> &str {
        self.queue.name()
    }
    fn read_fd(&self) -> Option<RawFd> {
        self.queue.read_fd()
    }
    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.queue.read_frame(buf)
    }
    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        self.queue.write_frame(frame)
    }
    fn stats(&self) -> IfaceStats {
        self.queue.stats()
    }
}

impl L2Interface for TapQueue {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }

    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match fdio::read_frame(self.fd.as_fd(), buf) {
                Ok(ReadOutcome::Frame(n)) => {
                    self.stats.rx(n);
                    return Ok(Some(n));
                }
                Ok(ReadOutcome::TooLong) => self.stats.dropped_too_long += 1,
                // A tap never reports EOF while we hold the fd; nothing to read.
                Ok(ReadOutcome::WouldBlock | ReadOutcome::Eof) => return Ok(None),
                Err(e) if fdio::is_fatal(&e) => return Err(e),
                Err(_) => {
                    self.stats.rx_errors += 1;
                    return Ok(None);
                }
            }
        }
    }

    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        match rustix::io::write(&self.fd, frame) {
            Ok(_) => self.stats.tx(frame.len()),
            Err(Errno::AGAIN) => self.stats.dropped_would_block += 1,
            Err(e) => {
                let e = io::Error::from(e);
                if fdio::is_fatal(&e) {
                    return Err(e);
                }
                // EINVAL: shorter than an Ethernet header; EIO: the link is
                // down. The frame is lost, as on a real NIC.
                self.stats.tx_errors += 1;
            }
        }
        Ok(())
    }

    fn stats(&self) -> IfaceStats {
        self.stats
    }
}
