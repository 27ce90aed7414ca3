//! A minimal NETLINK_ROUTE client: add an address, turn off the kernel's
//! automatic IPv6 link-local address, list addresses. Requests are built by
//! hand (a few fixed structs and attributes) instead of pulling in a netlink
//! crate family for three messages; all of it is safe code over rustix.
//!
//! Layouts (include/uapi/linux/netlink.h, rtnetlink.h, if_addr.h, if_link.h;
//! all fields in host byte order):
//! - `nlmsghdr`: len u32, type u16, flags u16, seq u32, pid u32 (16 bytes)
//! - `ifaddrmsg`: family u8, prefixlen u8, flags u8, scope u8, index u32 (8)
//! - `ifinfomsg`: family u8, pad u8, type u16, index i32, flags u32, change u32 (16)
//! - `rtattr`: len u16, type u16, payload padded to 4 bytes
//! - `nlmsgerr`: error i32 (0 = ACK, else −errno), then the request's header

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::sockopt::{Timeout, set_socket_timeout};
use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, bind, recv, sendto, socket_with,
};

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = libc::NLMSG_ERROR as u16;
const NLMSG_DONE: u16 = libc::NLMSG_DONE as u16;
/// if_link.h: IFLA_INET6_ADDR_GEN_MODE inside IFLA_AF_SPEC / AF_INET6.
const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
/// if_link.h: `enum in6_addr_gen_mode`, IN6_ADDR_GEN_MODE_NONE.
const IN6_ADDR_GEN_MODE_NONE: u8 = 1;
/// A reply we never wait longer for: the kernel answers at once.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// One NETLINK_ROUTE socket for a few synchronous requests (set-up time only).
#[derive(Debug)]
pub(super) struct Netlink {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    pub(super) fn open() -> io::Result<Self> {
        // NETLINK_ROUTE is protocol 0, which rustix spells None.
        let fd = socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            None,
        )?;
        bind(&fd, &SocketAddrNetlink::new(0, 0))?;
        set_socket_timeout(&fd, Timeout::Recv, Some(REPLY_TIMEOUT))?;
        Ok(Self {
            fd,
            seq: 0,
            buf: vec![0; 64 * 1024],
        })
    }

    /// `ip addr replace ADDR/LEN dev INDEX` (with `brd +` for IPv4).
    pub(super) fn add_address(
        &mut self,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
    ) -> io::Result<()> {
        let flags =
            libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_REPLACE;
        let mut msg = Message::new(libc::RTM_NEWADDR, flags as u16);
        let family = match addr {
            IpAddr::V4(_) => libc::AF_INET,
            IpAddr::V6(_) => libc::AF_INET6,
        };
        msg.ifaddrmsg(family as u8, prefix_len, index);
        match addr {
            IpAddr::V4(a) => {
                msg.attr(libc::IFA_LOCAL, &a.octets());
                msg.attr(libc::IFA_ADDRESS, &a.octets());
                if prefix_len < 31 {
                    let host_mask = u32::MAX >> prefix_len;
                    msg.attr(
                        libc::IFA_BROADCAST,
                        &Ipv4Addr::from(u32::from(a) | host_mask).octets(),
                    );
                }
            }
            IpAddr::V6(a) => {
                msg.attr(libc::IFA_LOCAL, &a.octets());
                msg.attr(libc::IFA_ADDRESS, &a.octets());
            }
        }
        self.request(msg)
    }

    /// `ip link set dev INDEX addrgenmode none`: the kernel then adds no EUI-64
    /// link-local address when the link comes up, so the configured one is the
    /// only one (upstream flushed the interface's addresses for the same effect).
    pub(super) fn disable_ipv6_auto_link_local(&mut self, index: u32) -> io::Result<()> {
        let flags = libc::NLM_F_REQUEST | libc::NLM_F_ACK;
        let mut msg = Message::new(libc::RTM_SETLINK, flags as u16);
        msg.ifinfomsg(index);
        let spec = msg.nest_begin(libc::IFLA_AF_SPEC);
        let inet6 = msg.nest_begin(libc::AF_INET6 as u16);
        msg.attr(IFLA_INET6_ADDR_GEN_MODE, &[IN6_ADDR_GEN_MODE_NONE]);
        msg.nest_end(inet6);
        msg.nest_end(spec);
        self.request(msg)
    }

    /// Every address on interface `index`, as (address, prefix length).
    pub(super) fn addresses(&mut self, index: u32) -> io::Result<Vec<(IpAddr, u8)>> {
        let flags = libc::NLM_F_REQUEST | libc::NLM_F_DUMP;
        let mut msg = Message::new(libc::RTM_GETADDR, flags as u16);
        msg.ifaddrmsg(libc::AF_UNSPEC as u8, 0, 0);
        let seq = self.send(msg)?;
        let mut found = Vec::new();
        loop {
            let n = self.recv()?;
            for m in messages(&self.buf[..n]) {
                if m.seq != seq {
                    continue;
                }
                match m.ty {
                    NLMSG_DONE => return Ok(found),
                    NLMSG_ERROR => error_of(m.body)?,
                    libc::RTM_NEWADDR => found.extend(parse_address(m.body, index)),
                    _ => {}
                }
            }
        }
    }

    fn request(&mut self, msg: Message) -> io::Result<()> {
        let seq = self.send(msg)?;
        loop {
            let n = self.recv()?;
            for m in messages(&self.buf[..n]) {
                if m.seq == seq && m.ty == NLMSG_ERROR {
                    return error_of(m.body);
                }
            }
        }
    }

    fn send(&mut self, mut msg: Message) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let bytes = msg.finish(self.seq);
        sendto(
            &self.fd,
            bytes,
            SendFlags::empty(),
            &SocketAddrNetlink::new(0, 0),
        )?;
        Ok(self.seq)
    }

    fn recv(&mut self) -> io::Result<usize> {
        loop {
            match recv(&self.fd, &mut self.buf[..], RecvFlags::empty()) {
                Ok((n, _)) => return Ok(n),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// `nlmsgerr.error`: 0 is an ACK, a negative value is −errno.
fn error_of(body: &[u8]) -> io::Result<()> {
    let code = body
        .get(..4)
        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(-libc::EPROTO);
    if code == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(code.saturating_neg()))
    }
}

/// An RTM_NEWADDR body for interface `index`, if it is one: IFA_LOCAL if
/// present (IPv4), else IFA_ADDRESS.
fn parse_address(body: &[u8], index: u32) -> Option<(IpAddr, u8)> {
    let (family, prefix_len) = (*body.first()?, *body.get(1)?);
    let ifindex = u32::from_ne_bytes(body.get(4..8)?.try_into().ok()?);
    if ifindex != index {
        return None;
    }
    let (mut local, mut address) = (None, None);
    for (ty, payload) in attrs(body.get(8..)?) {
        match ty {
            libc::IFA_LOCAL => local = Some(payload),
            libc::IFA_ADDRESS => address = Some(payload),
            _ => {}
        }
    }
    let raw = local.or(address)?;
    let ip = match family as libc::c_int {
        libc::AF_INET => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(raw).ok()?)),
        libc::AF_INET6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(raw).ok()?)),
        _ => return None,
    };
    Some((ip, prefix_len))
}

struct Msg<'a> {
    ty: u16,
    seq: u32,
    body: &'a [u8],
}

/// The netlink messages in one datagram (stops at the first malformed one).
fn messages(mut buf: &[u8]) -> impl Iterator<Item = Msg<'_>> {
    std::iter::from_fn(move || {
        let len = u32::from_ne_bytes(buf.get(0..4)?.try_into().ok()?) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return None;
        }
        let ty = u16::from_ne_bytes(buf.get(4..6)?.try_into().ok()?);
        let seq = u32::from_ne_bytes(buf.get(8..12)?.try_into().ok()?);
        let msg = Msg {
            ty,
            seq,
            body: &buf[NLMSG_HDRLEN..len],
        };
        buf = buf.get(align4(len)..).unwrap_or(&[]);
        Some(msg)
    })
}

/// The route attributes in `buf` as (type, payload).
fn attrs(mut buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16::from_ne_bytes(buf.get(0..2)?.try_into().ok()?));
        if len < 4 || len > buf.len() {
            return None;
        }
        let ty = u16::from_ne_bytes(buf.get(2..4)?.try_into().ok()?);
        let payload = &buf[4..len];
        buf = buf.get(align4(len)..).unwrap_or(&[]);
        Some((ty, payload))
    })
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A request under construction; `finish` fills in the header.
struct Message {
    buf: Vec<u8>,
}

impl Message {
    fn new(ty: u16, flags: u16) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // len, set by finish
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, set by finish
        buf.extend_from_slice(&0u32.to_ne_bytes()); // pid 0: the kernel fills it in
        Self { buf }
    }

    fn ifaddrmsg(&mut self, family: u8, prefix_len: u8, index: u32) {
        self.buf.extend_from_slice(&[family, prefix_len, 0, 0]); // flags, scope (universe)
        self.buf.extend_from_slice(&index.to_ne_bytes());
    }

    fn ifinfomsg(&mut self, index: u32) {
        self.buf.extend_from_slice(&[libc::AF_UNSPEC as u8, 0]);
        self.buf.extend_from_slice(&0u16.to_ne_bytes()); // type
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // flags
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // change
    }

    fn attr(&mut self, ty: u16, payload: &[u8]) {
        let len = 4 + payload.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.buf.resize(align4(self.buf.len()), 0);
    }

    /// Starts a nested attribute; returns where its header is.
    fn nest_begin(&mut self, ty: u16) -> usize {
        let at = self.buf.len();
        self.attr(ty, &[]);
        at
    }

    fn nest_end(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn finish(&mut self, seq: u32) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newaddr_request_bytes() {
        let mut msg = Message::new(libc::RTM_NEWADDR, 0x0505);
        msg.ifaddrmsg(libc::AF_INET as u8, 24, 7);
        msg.attr(libc::IFA_LOCAL, &[192, 168, 76, 1]);
        let bytes = msg.finish(9).to_vec();
        let mut want = Vec::new();
        want.extend_from_slice(&32u32.to_ne_bytes());
        want.extend_from_slice(&20u16.to_ne_bytes());
        want.extend_from_slice(&0x0505u16.to_ne_bytes());
        want.extend_from_slice(&9u32.to_ne_bytes());
        want.extend_from_slice(&0u32.to_ne_bytes());
        want.extend_from_slice(&[2, 24, 0, 0]);
        want.extend_from_slice(&7u32.to_ne_bytes());
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&2u16.to_ne_bytes());
        want.extend_from_slice(&[192, 168, 76, 1]);
        assert_eq!(bytes, want);
    }

    #[test]
    fn nested_attributes_and_padding() {
        let mut msg = Message::new(libc::RTM_SETLINK, 0);
        msg.ifinfomsg(3);
        let outer = msg.nest_begin(26);
        let inner = msg.nest_begin(10);
        msg.attr(8, &[1]);
        msg.nest_end(inner);
        msg.nest_end(outer);
        let bytes = msg.finish(1).to_vec();
        assert_eq!(bytes.len(), 16 + 16 + 4 + 4 + 8);
        let body = &bytes[32..];
        let (ty, outer_payload) = attrs(body).next().unwrap();
        assert_eq!((ty, outer_payload.len()), (26, 12));
        let (ty, inner_payload) = attrs(outer_payload).next().unwrap();
        assert_eq!((ty, inner_payload.len()), (10, 8));
        let (ty, mode) = attrs(inner_payload).next().unwrap();
        assert_eq!((ty, mode), (8, &[1u8][..]));
    }

    #[test]
    fn parses_errors_and_addresses() {
        assert!(error_of(&0i32.to_ne_bytes()).is_ok());
        let e = error_of(&(-libc::EPERM).to_ne_bytes()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        assert!(error_of(&[]).is_err());

        let mut body = vec![libc::AF_INET6 as u8, 64, 0, 0];
        body.extend_from_slice(&5u32.to_ne_bytes());
        let ip: Ipv6Addr = "fd00::5".parse().unwrap();
        body.extend_from_slice(&20u16.to_ne_bytes());
        body.extend_from_slice(&libc::IFA_ADDRESS.to_ne_bytes());
        body.extend_from_slice(&ip.octets());
        assert_eq!(parse_address(&body, 5), Some((IpAddr::V6(ip), 64)));
        assert_eq!(parse_address(&body, 6), None);
        assert_eq!(parse_address(&body[..10], 5), None);
    }
}
