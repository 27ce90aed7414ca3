//! The `struct ifreq` ioctls a tap needs: TUNSETIFF on the clone device, and
//! SIOC[GS]IFHWADDR / SIOC[GS]IFMTU / SIOC[GS]IFFLAGS on any AF_INET socket.
//! This is the crate's only hand-written `unsafe`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use rustix::net::{AddressFamily, SocketFlags, SocketType, socket_with};

/// `struct ifreq` with `name` filled in (NUL-terminated, at most IFNAMSIZ − 1 bytes).
fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "interface name must be 1..={} bytes without NUL",
                libc::IFNAMSIZ - 1
            ),
        ));
    }
    // SAFETY: `ifreq` is plain old data (a char array and a union of integers,
    // sockaddrs and a pointer); all-zero bytes are a valid value of each.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

/// The name the kernel put back into an ifreq (TUNSETIFF may pick one from a
/// `%d` template).
fn ifreq_name(req: &libc::ifreq) -> String {
    let bytes: Vec<u8> = req
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Issues `request` with a pointer to `req`.
///
/// # Safety
///
/// `request` must be an ioctl whose argument is a `struct ifreq` that the
/// kernel reads and/or writes in place, and which only uses the union member
/// the caller initialised (or writes one back).
unsafe fn ioctl_ifreq(
    fd: BorrowedFd<'_>,
    request: libc::Ioctl,
    req: &mut libc::ifreq,
) -> io::Result<()> {
    // SAFETY: `req` is a valid, exclusively borrowed ifreq that outlives the
    // call; the caller guarantees `request` takes exactly that argument.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request, req as *mut libc::ifreq) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// TUNSETIFF on an open `/dev/net/tun` fd: creates (or attaches to) the tap
/// `name` with `flags` (IFF_TAP | IFF_NO_PI [| IFF_MULTI_QUEUE]). Returns the
/// name the kernel reports.
pub(super) fn tun_set_iff(
    tun: BorrowedFd<'_>,
    name: &str,
    flags: libc::c_int,
) -> io::Result<String> {
    let mut req = ifreq(name)?;
    // TUN flags fit in a short (include/uapi/linux/if_tun.h).
    req.ifr_ifru.ifru_flags = flags as libc::c_short;
    // SAFETY: TUNSETIFF takes a `struct ifreq` with name and `ifr_flags` set, and
    // writes the final name back into it.
    unsafe { ioctl_ifreq(tun, libc::TUNSETIFF, &mut req)? };
    Ok(ifreq_name(&req))
}

/// TUNSETVNETHDRSZ: the virtio-net header length in front of each frame
/// (10: `struct virtio_net_hdr`).
pub(super) fn tun_set_vnet_hdr_size(tun: BorrowedFd<'_>, size: libc::c_int) -> io::Result<()> {
    // SAFETY: TUNSETVNETHDRSZ reads one `int` through the pointer, which points
    // to a live local for the duration of the call.
    let rc = unsafe {
        libc::ioctl(
            tun.as_raw_fd(),
            libc::TUNSETVNETHDRSZ,
            &size as *const libc::c_int,
        )
    };
    check(rc)
}

/// TUNSETVNETLE: the header's fields are little-endian (virtio 1.0), also on
/// big-endian hosts.
pub(super) fn tun_set_vnet_le(tun: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: TUNSETVNETLE reads one `int` through the pointer, which points to
    // a live local for the duration of the call.
    let rc = unsafe {
        libc::ioctl(
            tun.as_raw_fd(),
            libc::TUNSETVNETLE,
            &on as *const libc::c_int,
        )
    };
    check(rc)
}

/// TUNSETOFFLOAD with `TUN_F_*` flags; EINVAL if the kernel lacks one of them.
pub(super) fn tun_set_offload(tun: BorrowedFd<'_>, flags: u32) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value (an unsigned long of
    // flags), no pointer is passed.
    let rc = unsafe {
        libc::ioctl(
            tun.as_raw_fd(),
            libc::TUNSETOFFLOAD,
            libc::c_ulong::from(flags),
        )
    };
    check(rc)
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A socket for the SIOC*IF* ioctls (any AF_INET datagram socket will do).
pub(super) fn control_socket() -> io::Result<OwnedFd> {
    Ok(socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )?)
}

pub(super) fn set_mac(ctl: BorrowedFd<'_>, name: &str, mac: [u8; 6]) -> io::Result<()> {
    let mut req = ifreq(name)?;
    // SAFETY: writing a Copy field of a union we own; `sockaddr` is POD.
    let hw = unsafe { &mut req.ifr_ifru.ifru_hwaddr };
    hw.sa_family = libc::ARPHRD_ETHER;
    for (dst, &src) in hw.sa_data.iter_mut().zip(&mac) {
        *dst = src as libc::c_char;
    }
    // SAFETY: SIOCSIFHWADDR reads `ifr_hwaddr`, which is set above.
    unsafe { ioctl_ifreq(ctl, libc::SIOCSIFHWADDR as libc::Ioctl, &mut req) }
}

pub(super) fn mac(ctl: BorrowedFd<'_>, name: &str) -> io::Result<[u8; 6]> {
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFHWADDR writes `ifr_hwaddr`.
    unsafe { ioctl_ifreq(ctl, libc::SIOCGIFHWADDR as libc::Ioctl, &mut req)? };
    // SAFETY: the kernel has just written the hwaddr member; sockaddr is POD.
    let data = unsafe { req.ifr_ifru.ifru_hwaddr.sa_data };
    let mut mac = [0u8; 6];
    for (dst, &src) in mac.iter_mut().zip(&data) {
        *dst = src as u8;
    }
    Ok(mac)
}

pub(super) fn set_mtu(ctl: BorrowedFd<'_>, name: &str, mtu: u16) -> io::Result<()> {
    let mut req = ifreq(name)?;
    req.ifr_ifru.ifru_mtu = libc::c_int::from(mtu);
    // SAFETY: SIOCSIFMTU reads `ifr_mtu`, which is set above.
    unsafe { ioctl_ifreq(ctl, libc::SIOCSIFMTU as libc::Ioctl, &mut req) }
}

pub(super) fn mtu(ctl: BorrowedFd<'_>, name: &str) -> io::Result<u32> {
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFMTU writes `ifr_mtu`.
    unsafe { ioctl_ifreq(ctl, libc::SIOCGIFMTU as libc::Ioctl, &mut req)? };
    // SAFETY: the kernel has just written the mtu member (an int).
    let mtu = unsafe { req.ifr_ifru.ifru_mtu };
    Ok(u32::try_from(mtu).unwrap_or(0))
}

/// The device's transmit queue length (`ip link … txqueuelen`): for a tap,
/// the frames the kernel holds for the reader per queue before dropping.
pub(super) fn tx_queue_len(ctl: BorrowedFd<'_>, name: &str) -> io::Result<u32> {
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFTXQLEN writes `ifr_qlen`.
    unsafe { ioctl_ifreq(ctl, libc::SIOCGIFTXQLEN as libc::Ioctl, &mut req)? };
    // SAFETY: the kernel has just written `ifr_qlen` (`ifru_ivalue`), an int
    // at the start of the union; libc names that int `ifru_ifindex`.
    let len = unsafe { req.ifr_ifru.ifru_ifindex };
    Ok(u32::try_from(len).unwrap_or(0))
}

pub(super) fn set_tx_queue_len(ctl: BorrowedFd<'_>, name: &str, len: u32) -> io::Result<()> {
    let mut req = ifreq(name)?;
    req.ifr_ifru.ifru_ifindex = libc::c_int::try_from(len).unwrap_or(libc::c_int::MAX);
    // SAFETY: SIOCSIFTXQLEN reads `ifr_qlen`, the int set above (see
    // `tx_queue_len`).
    unsafe { ioctl_ifreq(ctl, libc::SIOCSIFTXQLEN as libc::Ioctl, &mut req) }
}

pub(super) fn flags(ctl: BorrowedFd<'_>, name: &str) -> io::Result<libc::c_int> {
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFFLAGS writes `ifr_flags`.
    unsafe { ioctl_ifreq(ctl, libc::SIOCGIFFLAGS as libc::Ioctl, &mut req)? };
    // SAFETY: the kernel has just written the flags member (a short); the
    // kernel's flags are unsigned 16-bit, so reinterpret rather than sign-extend.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    Ok(libc::c_int::from(flags as u16))
}

/// Sets IFF_UP, keeping the other flags (read-modify-write, as `ip link set up`).
pub(super) fn set_up(ctl: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    let old = flags(ctl, name)?;
    let mut req = ifreq(name)?;
    req.ifr_ifru.ifru_flags = (old | libc::IFF_UP) as u16 as libc::c_short;
    // SAFETY: SIOCSIFFLAGS reads `ifr_flags`, which is set above.
    unsafe { ioctl_ifreq(ctl, libc::SIOCSIFFLAGS as libc::Ioctl, &mut req) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_any_ioctl() {
        assert!(ifreq("").is_err());
        assert!(ifreq("0123456789abcdef").is_err()); // 16 bytes: no room for the NUL
        assert!(ifreq("a\0b").is_err());
        let req = ifreq("0123456789abcde").unwrap();
        assert_eq!(ifreq_name(&req), "0123456789abcde");
    }
}
