//! [`StampedSocket`]: a UDP socket whose receives report when the kernel
//! took the datagram in, as an [`Instant`].
//!
//! How to drive it: wrap a bound [`UdpSocket`] with [`StampedSocket::new`]
//! (it turns on `SO_TIMESTAMPNS`), then call [`StampedSocket::recv_from`]
//! instead of `UdpSocket::recv_from`. Tests can use it on their receiving
//! sockets to measure the link without their own thread's wake-up delay.
//!
//! Why: a thread blocked in `recv` may run milliseconds after the datagram
//! arrived on a busy machine. Stamping on return would add that delay to the
//! emulated one; the kernel's stamp does not. The kernel stamps with the
//! wall clock, so the stamp is turned into an `Instant` by its age — wall
//! clock now minus stamp, read back to back with the monotonic clock. If the
//! wall clock stepped in between (the age is negative or absurd), the
//! monotonic time of the return is the best estimate left.

use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime};

use nix::cmsg_space;
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use nix::sys::time::TimeSpec;

/// Ages above this mean the wall clock stepped, not that a datagram waited:
/// a socket buffer drains far faster.
const MAX_PLAUSIBLE_AGE: Duration = Duration::from_secs(1);

/// A UDP socket that stamps arrivals with the kernel's receive time.
#[derive(Debug)]
pub struct StampedSocket {
    socket: UdpSocket,
    /// Room for one `SCM_TIMESTAMPNS` control message, reused by every
    /// receive.
    control: Vec<u8>,
}

impl StampedSocket {
    /// Turns on kernel receive timestamps for `socket`.
    pub fn new(socket: UdpSocket) -> io::Result<Self> {
        setsockopt(&socket, sockopt::ReceiveTimestampns, &true)?;
        Ok(Self {
            socket,
            control: cmsg_space!(TimeSpec),
        })
    }

    /// Like [`UdpSocket::recv_from`], plus when the datagram arrived. Honours
    /// the socket's read timeout (`WouldBlock` on expiry).
    pub fn recv_from(&mut self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Instant)> {
        let mut iov = [IoSliceMut::new(buf)];
        let message = recvmsg::<SockaddrStorage>(
            self.socket.as_raw_fd(),
            &mut iov,
            Some(&mut self.control),
            MsgFlags::empty(),
        )?;
        let ClockPair { now, wall } = ClockPair::read();
        let from = message
            .address
            .as_ref()
            .and_then(socket_addr)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "datagram without an IP source")
            })?;
        // No stamp (or a truncated control buffer) costs precision, not the
        // datagram.
        let kernel = message.cmsgs().ok().and_then(|mut cmsgs| {
            cmsgs.find_map(|cmsg| match cmsg {
                ControlMessageOwned::ScmTimestampns(stamp) => Some(stamp),
                _ => None,
            })
        });
        let arrived = kernel
            .and_then(|stamp| age(wall, stamp))
            .and_then(|age| now.checked_sub(age));
        Ok((message.bytes, from, arrived.unwrap_or(now)))
    }

    /// The socket itself, for sending and for its options.
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }
}

/// A monotonic and a wall-clock reading of the same moment.
struct ClockPair {
    now: Instant,
    wall: SystemTime,
}

impl ClockPair {
    /// A pair whose two readings are at most [`Self::TOLERANCE`] apart.
    /// A thread preempted between two clock reads would pair readings
    /// milliseconds apart and shift every stamp by as much (found on a
    /// loaded machine: datagrams delivered 0.2 ms early). So read the wall
    /// clock on both sides of the monotonic one and retry while they are
    /// too far apart; the last try is used if none is tight.
    const TOLERANCE: Duration = Duration::from_micros(20);
    const TRIES: usize = 8;

    fn read() -> Self {
        let mut pair = Self {
            now: Instant::now(),
            wall: SystemTime::now(),
        };
        for _ in 0..Self::TRIES {
            let before = SystemTime::now();
            let now = Instant::now();
            let after = SystemTime::now();
            let spread = after.duration_since(before).unwrap_or(Duration::MAX);
            pair = Self {
                now,
                wall: before + spread.min(Self::TOLERANCE) / 2,
            };
            if spread <= Self::TOLERANCE {
                break;
            }
        }
        pair
    }
}

/// How long before `wall` the kernel stamped, if plausible.
fn age(wall: SystemTime, stamp: TimeSpec) -> Option<Duration> {
    let secs = u64::try_from(stamp.tv_sec()).ok()?;
    let nanos = u32::try_from(stamp.tv_nsec()).ok()?;
    let stamped = SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))?;
    let age = wall.duration_since(stamped).ok()?;
    (age <= MAX_PLAUSIBLE_AGE).then_some(age)
}

fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    address.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn stamps_when_the_datagram_arrived_not_when_it_was_read() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        let mut receiver = StampedSocket::new(receiver).unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = Instant::now();
        sender.send_to(b"x", to).unwrap();
        // Wait until the datagram is surely queued on the receiver (on a busy
        // machine the kernel may take it in well after `send_to` returns),
        // then read it 50 ms later: the stamp must lie between the send and
        // the moment it was seen queued, not at the read.
        let mut peek = [0u8; 1];
        receiver.socket().peek_from(&mut peek).unwrap();
        let queued_by = Instant::now();
        thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 16];
        let (len, from, arrived) = receiver.recv_from(&mut buf).unwrap();
        assert_eq!((len, from), (1, sender.local_addr().unwrap()));
        let slack = ClockPair::TOLERANCE;
        assert!(arrived + slack >= before, "stamped before the send");
        assert!(arrived <= queued_by + slack, "stamped after it was queued");
    }

    #[test]
    fn implausible_stamps_are_ignored() {
        let wall = SystemTime::now();
        let since_epoch = wall.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        let at = |d: Duration| TimeSpec::from_duration(d);
        assert_eq!(age(wall, at(since_epoch)), Some(Duration::ZERO));
        let future = since_epoch + Duration::from_secs(5);
        assert_eq!(age(wall, at(future)), None, "stamp after now");
        let ancient = since_epoch - Duration::from_secs(5);
        assert_eq!(age(wall, at(ancient)), None, "older than plausible");
    }
}
