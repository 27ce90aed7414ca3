//! `SocketAddr` ↔ kernel `sockaddr` without allocation. Parsing reads bytes
//! (the kernel hands us unaligned names inside receive buffers), so it needs
//! no `unsafe`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Room for any name the kernel writes: `sockaddr_storage`-sized, aligned as
/// one so it can be passed as `msg_name`.
pub(crate) const NAME_LEN: usize = std::mem::size_of::<libc::sockaddr_storage>();

/// A `sockaddr_storage`-sized, suitably aligned byte buffer for received
/// names (std backend).
#[repr(C, align(8))]
pub(crate) struct NameBuf(pub(crate) [u8; NAME_LEN]);

const SOCKADDR_IN_LEN: usize = std::mem::size_of::<libc::sockaddr_in>();
const SOCKADDR_IN6_LEN: usize = std::mem::size_of::<libc::sockaddr_in6>();

/// Parse the first `bytes.len()` bytes of a kernel-written `sockaddr`.
/// `None` for other families or short names.
pub(crate) fn parse(bytes: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]);
    let be16 = |at: usize| Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    if i32::from(family) == libc::AF_INET && bytes.len() >= SOCKADDR_IN_LEN {
        // sockaddr_in: family(2) port(2, big-endian) addr(4, network order).
        let port = be16(2)?;
        let ip: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
        Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
    } else if i32::from(family) == libc::AF_INET6 && bytes.len() >= SOCKADDR_IN6_LEN {
        // sockaddr_in6: family(2) port(2, BE) flowinfo(4, BE) addr(16)
        // scope_id(4, host order).
        let port = be16(2)?;
        let flowinfo = u32::from_be_bytes(bytes.get(4..8)?.try_into().ok()?);
        let ip: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
        let scope_id = u32::from_ne_bytes(bytes.get(24..28)?.try_into().ok()?);
        Some(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(ip),
            port,
            flowinfo,
            scope_id,
        )))
    } else {
        None
    }
}

/// An outgoing destination in kernel form.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union RawSockAddr {
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
}

impl RawSockAddr {
    pub(crate) fn unspecified() -> RawSockAddr {
        Self::new(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))).0
    }

    /// The kernel form of `addr` and its length.
    pub(crate) fn new(addr: SocketAddr) -> (RawSockAddr, libc::socklen_t) {
        match addr {
            SocketAddr::V4(a) => (
                RawSockAddr {
                    v4: libc::sockaddr_in {
                        sin_family: libc::AF_INET as libc::sa_family_t,
                        sin_port: a.port().to_be(),
                        sin_addr: libc::in_addr {
                            s_addr: u32::from_ne_bytes(a.ip().octets()),
                        },
                        sin_zero: [0; 8],
                    },
                },
                SOCKADDR_IN_LEN as libc::socklen_t,
            ),
            SocketAddr::V6(a) => (
                RawSockAddr {
                    v6: libc::sockaddr_in6 {
                        sin6_family: libc::AF_INET6 as libc::sa_family_t,
                        sin6_port: a.port().to_be(),
                        sin6_flowinfo: a.flowinfo().to_be(),
                        sin6_addr: libc::in6_addr {
                            s6_addr: a.ip().octets(),
                        },
                        sin6_scope_id: a.scope_id(),
                    },
                },
                SOCKADDR_IN6_LEN as libc::socklen_t,
            ),
        }
    }
}

/// Rewrite `addr` for a socket of the given family: an IPv6 socket reaches
/// IPv4 peers through v4-mapped addresses, an IPv4 socket cannot take an IPv6
/// `sockaddr` even when it holds a mapped IPv4 address.
pub(crate) fn for_socket(addr: SocketAddr, socket_is_v6: bool) -> SocketAddr {
    match addr {
        SocketAddr::V4(a) if socket_is_v6 => {
            SocketAddr::V6(SocketAddrV6::new(a.ip().to_ipv6_mapped(), a.port(), 0, 0))
        }
        SocketAddr::V6(a) if !socket_is_v6 => match a.ip().to_ipv4_mapped() {
            Some(ip) => SocketAddr::V4(SocketAddrV4::new(ip, a.port())),
            None => addr,
        },
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(raw: &RawSockAddr, len: libc::socklen_t) -> Vec<u8> {
        // SAFETY: `raw` is a plain-old-data union of `len` ≤ its size
        // initialised bytes (both variants are fully written by `new`, and
        // `len` is the length of the variant written).
        unsafe {
            std::slice::from_raw_parts((raw as *const RawSockAddr).cast::<u8>(), len as usize)
        }
        .to_vec()
    }

    #[test]
    fn round_trips() {
        for s in [
            "127.0.0.1:51820",
            "0.0.0.0:0",
            "[::1]:443",
            "[fe80::1%7]:9",
            "[::ffff:10.0.0.1]:1",
        ] {
            let addr: SocketAddr = s.parse().unwrap();
            let (raw, len) = RawSockAddr::new(addr);
            assert_eq!(parse(&bytes_of(&raw, len)), Some(addr), "{s}");
        }
    }

    #[test]
    fn rejects_short_and_foreign() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[2, 0, 0]), None);
        let unix = (libc::AF_UNIX as u16).to_ne_bytes();
        assert_eq!(
            parse(&[unix[0], unix[1], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            None
        );
        let (raw, len) = RawSockAddr::new("[::1]:1".parse().unwrap());
        assert_eq!(parse(&bytes_of(&raw, len)[..20]), None);
    }

    #[test]
    fn maps_families() {
        let v4: SocketAddr = "192.0.2.1:7".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:7".parse().unwrap();
        assert_eq!(for_socket(v4, true), mapped);
        assert_eq!(for_socket(mapped, false), v4);
        assert_eq!(for_socket(v4, false), v4);
        let v6: SocketAddr = "[2001:db8::1]:7".parse().unwrap();
        assert_eq!(for_socket(v6, false), v6);
        assert_eq!(for_socket(v6, true), v6);
    }
}
