//! `tap`: a Linux tap device (`/dev/net/tun`, `IFF_TAP | IFF_NO_PI`).
//!
//! [`Tap::open`] creates the device (or attaches to a persistent one of that
//! name), then, in this order: sets the MAC (`spec.mac`) and the MTU, raises
//! the transmit queue length to [`TX_QUEUE_LEN`], turns off
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
//! attached queues, so attach only queues that will be read. The kernel
//! also steers a flow's packets to the queue its packets were last written
//! to; [`QueueSet`] writes each flow through one queue chosen by a hash, so
//! the flows of one peer spread over the queues (and the threads reading
//! them). [`TapQueue::try_clone`] gives every thread its own fds for that.
//!
//! Offloads: with `spec.offload` the device is opened with `IFF_VNET_HDR`,
//! a 10-byte little-endian virtio-net header (`TUNSETVNETHDRSZ`,
//! `TUNSETVNETLE`), and `TUNSETOFFLOAD` with checksum, TSO4/6, TSO-ECN and
//! USO4/6 — without USO if the kernel refuses it (before 6.2), with checksum
//! only or nothing if it refuses more; [`L2Interface::offloads`] says what was
//! enabled. Reads then return up to 64 KB GSO frames through
//! `read_frame_offload`, and writes take a header (see [`crate::offload`]).
//! The plain `read_frame`/`write_frame` keep working on such a tap: they
//! complete partial checksums, add a zero header, and drop (counted as too
//! long) GSO frames.
//!
//! The device is not persistent: it disappears when the last queue is dropped.

mod ifreq;
mod netdev;
mod netlink;
mod queue_set;

pub use netdev::{DeviceDrops, device_drops};
pub use queue_set::{QueueSet, flow_queue};

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rustix::fs::{Mode, OFlags, open};

use crate::error::{Context, IfaceError};
use crate::fdio::{self, ReadOutcome};
use crate::hostaddr::{ipv4_host, ipv6_host};
use crate::offload::{self, Features, VNET_HDR_LEN, VnetHdr};
use crate::spec::IfaceSpec;
use crate::{IfaceStats, L2Interface};

const CLONE_DEVICE: &str = "/dev/net/tun";

/// The tap's transmit queue length, per queue: frames the kernel holds for
/// egd before it drops them (counted in the device's `tx_dropped`). The
/// default (1000) is 5 ms of 64-byte frames at 200 k/s, less than a thread
/// of a loaded machine waits for a CPU: a 64-byte flood lost 40 % of its
/// frames there, 13 % with 4096, and the rate rose 1.4× (benches/README.md,
/// "64-byte rate"). Not more: every queued frame is latency. It costs
/// memory only while egd lags. Only ever raised:
/// a persistent tap may have been given more, and `PostScript` runs after
/// this to set any other value.
pub const TX_QUEUE_LEN: u32 = 4096;

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
    /// Some: frames carry a virtio-net header; these offloads are on.
    offloads: Option<Features>,
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
        if spec.offload {
            flags |= libc::IFF_VNET_HDR;
        }
        // Settings are checked before the device exists.
        let addresses = addresses(spec)?;
        let fd = open_queue_fd(&spec.name, flags)?;
        let offloads = if spec.offload {
            Some(enable_offloads(fd.as_fd(), None)?)
        } else {
            None
        };
        let tap = Tap {
            queue: TapQueue {
                fd,
                name: spec.name.clone(),
                stats: IfaceStats::default(),
                offloads,
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
        if ifreq::tx_queue_len(ctl.as_fd(), name).ctx("SIOCGIFTXQLEN")? < TX_QUEUE_LEN {
            ifreq::set_tx_queue_len(ctl.as_fd(), name, TX_QUEUE_LEN)
                .ctx(format_args!("SIOCSIFTXQLEN {TX_QUEUE_LEN}"))?;
        }
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
        let offloads = match self.queue.offloads {
            Some(f) => Some(enable_offloads(fd.as_fd(), Some(f)).map_err(|e| e.context(what))?),
            None => None,
        };
        Ok(TapQueue {
            fd,
            name: self.queue.name.clone(),
            stats: IfaceStats::default(),
            offloads,
        })
    }

    /// The device's name (as the kernel reports it).
    pub fn name(&self) -> &str {
        &self.queue.name
    }

    /// A second handle on the first queue (see [`TapQueue::try_clone`]).
    pub fn clone_queue(&self) -> Result<TapQueue, IfaceError> {
        self.queue
            .try_clone()
            .map_err(|e| IfaceError::io(format!("tap {}: dup", self.name()), e))
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

/// Sets the header size and byte order, then the richest offload set the
/// kernel takes (`only`: exactly that set, for further queues).
fn enable_offloads(fd: BorrowedFd<'_>, only: Option<Features>) -> Result<Features, IfaceError> {
    let size = VNET_HDR_LEN as libc::c_int;
    ifreq::tun_set_vnet_hdr_size(fd, size).ctx("TUNSETVNETHDRSZ")?;
    ifreq::tun_set_vnet_le(fd).ctx("TUNSETVNETLE")?;
    let csum_only = Features {
        csum: true,
        ..Features::default()
    };
    let candidates = match only {
        Some(f) => [f, f, f],
        None => [Features::ALL, Features::ALL.without_uso(), csum_only],
    };
    for f in candidates {
        if ifreq::tun_set_offload(fd, f.tun_flags()).is_ok() {
            return Ok(f);
        }
    }
    // The header stays; every frame is then plain.
    ifreq::tun_set_offload(fd, 0).ctx("TUNSETOFFLOAD 0")?;
    Ok(Features::default())
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
    fn offloads(&self) -> Option<Features> {
        self.queue.offloads()
    }
    fn read_frame_offload(&mut self, buf: &mut [u8]) -> io::Result<Option<(VnetHdr, usize)>> {
        self.queue.read_frame_offload(buf)
    }
    fn write_frame_offload(&mut self, hdr: &VnetHdr, frame: &[u8]) -> io::Result<()> {
        self.queue.write_frame_offload(hdr, frame)
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
        if self.offloads.is_some() {
            return self.read_plain_from_vnet(buf);
        }
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
        if self.offloads.is_some() {
            return self.write_frame_offload(&VnetHdr::NONE, frame);
        }
        let result = rustix::io::write(&self.fd, frame).map_err(io::Error::from);
        self.count_write(frame.len(), result)
    }

    fn stats(&self) -> IfaceStats {
        self.stats
    }

    fn offloads(&self) -> Option<Features> {
        self.offloads
    }

    fn read_frame_offload(&mut self, buf: &mut [u8]) -> io::Result<Option<(VnetHdr, usize)>> {
        if self.offloads.is_none() {
            return Ok(self.read_frame(buf)?.map(|n| (VnetHdr::NONE, n)));
        }
        loop {
            let mut head = [0u8; VNET_HDR_LEN];
            match fdio::read_frame_parts(self.fd.as_fd(), &mut head, buf) {
                Ok(ReadOutcome::Frame(n)) => match VnetHdr::parse(&head) {
                    Some(hdr) if n >= VNET_HDR_LEN => {
                        let len = n - VNET_HDR_LEN;
                        self.stats.rx(len);
                        return Ok(Some((hdr, len)));
                    }
                    _ => self.stats.rx_errors += 1,
                },
                Ok(ReadOutcome::TooLong) => self.stats.dropped_too_long += 1,
                Ok(ReadOutcome::WouldBlock | ReadOutcome::Eof) => return Ok(None),
                Err(e) if fdio::is_fatal(&e) => return Err(e),
                Err(_) => {
                    self.stats.rx_errors += 1;
                    return Ok(None);
                }
            }
        }
    }

    fn write_frame_offload(&mut self, hdr: &VnetHdr, frame: &[u8]) -> io::Result<()> {
        if self.offloads.is_none() {
            return if hdr.is_plain() {
                self.write_frame(frame)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "a GSO/checksum header on a tap without offloads",
                ))
            };
        }
        let head = hdr.emit();
        let result = fdio::write_parts(self.fd.as_fd(), &[&head, frame], false);
        self.count_write(frame.len(), result)
    }
}

impl TapQueue {
    /// Another handle on the same queue (a duplicated fd), with counters of
    /// its own, for writing from another thread. Dropping it does not
    /// detach the queue while the original lives.
    pub fn try_clone(&self) -> io::Result<TapQueue> {
        Ok(TapQueue {
            fd: self.fd.try_clone()?,
            name: self.name.clone(),
            stats: IfaceStats::default(),
            offloads: self.offloads,
        })
    }

    /// `read_frame` on a tap with headers: plain frames only, partial
    /// checksums completed, GSO frames dropped (counted as too long).
    fn read_plain_from_vnet(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        while let Some((hdr, len)) = self.read_frame_offload(buf)? {
            if hdr.gso() != offload::Gso::None {
                self.stats.dropped_too_long += 1;
                continue;
            }
            if hdr.needs_csum()
                && offload::complete_checksum(&mut buf[..len], hdr.csum_start, hdr.csum_offset)
                    .is_err()
            {
                self.stats.rx_errors += 1;
                continue;
            }
            return Ok(Some(len));
        }
        Ok(None)
    }

    /// Counts one write's outcome; Err only if the fd is unusable.
    fn count_write(&mut self, len: usize, result: io::Result<usize>) -> io::Result<()> {
        match result {
            // A tap write takes the whole frame or nothing; 0 is EAGAIN
            // from `write_parts`.
            Ok(0) => self.stats.dropped_would_block += 1,
            Ok(_) => self.stats.tx(len),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => self.stats.dropped_would_block += 1,
            Err(e) if fdio::is_fatal(&e) => return Err(e),
            // EINVAL: shorter than an Ethernet header, or a header the kernel
            // refuses; EIO: the link is down. The frame is lost, as on a real NIC.
            Err(_) => self.stats.tx_errors += 1,
        }
        Ok(())
    }
}
