//! One connected stream or seqpacket socket, with its framing.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags, recv, send};

use super::record::{RecordReader, RecordWriter, Written};
use crate::IfaceStats;

/// How frames sit on the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Byte stream with 2-byte length prefixes ([`super::record`]).
    Records,
    /// One frame per SOCK_SEQPACKET packet.
    Packets,
}

/// What a read produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Got {
    Frame(usize),
    Nothing,
    /// The peer is gone; drop the connection.
    Closed,
}

#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) fd: OwnedFd,
    framing: Framing,
    reader: Option<RecordReader>,
    writer: RecordWriter,
    /// Whether epoll currently watches for writability (a record is pending).
    pub(crate) watching_out: bool,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd, framing: Framing) -> Self {
        let reader = (framing == Framing::Records).then(RecordReader::new);
        Self {
            fd,
            framing,
            reader,
            writer: RecordWriter::new(),
            watching_out: false,
        }
    }

    pub(crate) fn wants_out(&self) -> bool {
        self.writer.has_pending()
    }

    pub(crate) fn read(&mut self, buf: &mut [u8], stats: &mut IfaceStats) -> io::Result<Got> {
        match &mut self.reader {
            Some(reader) => read_record(&self.fd, reader, buf, stats),
            None => read_packet(&self.fd, buf, stats),
        }
    }

    /// Sends one frame or drops it (counted). Ok(false): the peer is gone.
    pub(crate) fn write(&mut self, frame: &[u8], stats: &mut IfaceStats) -> io::Result<bool> {
        let fd = &self.fd;
        let result = match self.framing {
            Framing::Packets => send_packet(fd, frame),
            Framing::Records => self.writer.write(frame, |parts| send_parts(fd, parts)),
        };
        match result {
            Ok(Written::Sent | Written::Partly) => stats.tx(frame.len()),
            Ok(Written::WouldBlock) => stats.dropped_would_block += 1,
            Ok(Written::TooLong) => stats.dropped_too_long += 1,
            Err(e) => return gone_or_fatal(e, stats).map(|()| false),
        }
        Ok(true)
    }

    /// Sends a pending partial record. Ok(false): the peer is gone.
    pub(crate) fn flush(&mut self, stats: &mut IfaceStats) -> io::Result<bool> {
        let fd = &self.fd;
        match self.writer.flush(|parts| send_parts(fd, parts)) {
            Ok(_) => Ok(true),
            Err(e) => gone_or_fatal(e, stats).map(|()| false),
        }
    }
}

/// A write error either means the peer is gone (count, Ok) or is fatal (Err).
fn gone_or_fatal(e: io::Error, stats: &mut IfaceStats) -> io::Result<()> {
    if crate::fdio::is_fatal(&e) {
        return Err(e);
    }
    stats.dropped_disconnected += 1;
    Ok(())
}

fn read_record(
    fd: &OwnedFd,
    reader: &mut RecordReader,
    buf: &mut [u8],
    stats: &mut IfaceStats,
) -> io::Result<Got> {
    loop {
        if let Some(body) = reader.take() {
            if body.is_empty() {
                stats.rx_errors += 1;
            } else if body.len() > buf.len() {
                stats.dropped_too_long += 1;
            } else {
                buf[..body.len()].copy_from_slice(body);
                stats.rx(body.len());
                return Ok(Got::Frame(body.len()));
            }
            continue;
        }
        match recv(fd, reader.spare(), RecvFlags::empty()) {
            Ok((0, _)) => return Ok(Got::Closed),
            Ok((n, _)) => reader.advance(n),
            Err(Errno::AGAIN) => return Ok(Got::Nothing),
            Err(Errno::INTR) => {}
            Err(e) => return closed_or_fatal(e, stats),
        }
    }
}

fn read_packet(fd: &OwnedFd, buf: &mut [u8], stats: &mut IfaceStats) -> io::Result<Got> {
    loop {
        match recv(fd, &mut *buf, RecvFlags::TRUNC) {
            // End of stream. (A zero-length packet reads the same and is
            // treated the same: it is not a frame.)
            Ok((_, 0)) => return Ok(Got::Closed),
            Ok((_, full)) if full > buf.len() => stats.dropped_too_long += 1,
            Ok((_, full)) => {
                stats.rx(full);
                return Ok(Got::Frame(full));
            }
            Err(Errno::AGAIN) => return Ok(Got::Nothing),
            Err(Errno::INTR) => {}
            Err(e) => return closed_or_fatal(e, stats),
        }
    }
}

fn closed_or_fatal(e: Errno, stats: &mut IfaceStats) -> io::Result<Got> {
    let e = io::Error::from(e);
    if crate::fdio::is_fatal(&e) {
        return Err(e);
    }
    // ECONNRESET and friends: the connection is over.
    stats.rx_errors += 1;
    Ok(Got::Closed)
}

fn send_parts(fd: &OwnedFd, parts: &[&[u8]]) -> io::Result<usize> {
    crate::fdio::write_parts(fd.as_fd(), parts, true)
}

fn send_packet(fd: &OwnedFd, frame: &[u8]) -> io::Result<Written> {
    loop {
        return match send(fd, frame, SendFlags::NOSIGNAL) {
            Ok(_) => Ok(Written::Sent),
            Err(Errno::AGAIN | Errno::NOBUFS) => Ok(Written::WouldBlock),
            Err(Errno::MSGSIZE) => Ok(Written::TooLong),
            Err(Errno::INTR) => continue,
            Err(e) => Err(e.into()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::{AddressFamily, SocketFlags, SocketType, socketpair};

    fn pair(ty: SocketType) -> (Conn, OwnedFd) {
        let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
        let (a, b) = socketpair(AddressFamily::UNIX, ty, flags, None).unwrap();
        let framing = if ty == SocketType::SEQPACKET {
            Framing::Packets
        } else {
            Framing::Records
        };
        (Conn::new(a, framing), b)
    }

    fn record(body: &[u8]) -> Vec<u8> {
        let mut r = (body.len() as u16).to_be_bytes().to_vec();
        r.extend_from_slice(body);
        r
    }

    #[test]
    fn records_too_long_empty_partial_and_several_per_write() {
        let (mut conn, peer) = pair(SocketType::STREAM);
        let mut stats = IfaceStats::default();
        let mut buf = [0u8; 8];
        // In one write: a record too long for `buf`, an empty one, one that
        // fits, and half of the next.
        let mut bytes = record(b"much too long");
        bytes.extend(record(b""));
        bytes.extend(record(b"fits"));
        bytes.extend(&record(b"later")[..4]);
        rustix::io::write(&peer, &bytes).unwrap();
        assert_eq!(conn.read(&mut buf, &mut stats).unwrap(), Got::Frame(4));
        assert_eq!(&buf[..4], b"fits");
        assert_eq!(
            (stats.dropped_too_long, stats.rx_errors, stats.rx_frames),
            (1, 1, 1)
        );
        assert_eq!(conn.read(&mut buf, &mut stats).unwrap(), Got::Nothing);
        rustix::io::write(&peer, &record(b"later")[4..]).unwrap();
        assert_eq!(conn.read(&mut buf, &mut stats).unwrap(), Got::Frame(5));
        assert_eq!(&buf[..5], b"later");
        drop(peer);
        assert_eq!(conn.read(&mut buf, &mut stats).unwrap(), Got::Closed);
    }

    #[test]
    fn packets_one_frame_each() {
        let (mut conn, peer) = pair(SocketType::SEQPACKET);
        let mut stats = IfaceStats::default();
        let mut buf = [0u8; 8];
        rustix::io::write(&peer, b"much too long").unwrap();
        rustix::io::write(&peer, b"fits").unwrap();
        assert_eq!(conn.read(&mut buf, &mut stats).unwrap(), Got::Frame(4));
        assert_eq!(stats.dropped_too_long, 1);
        assert!(conn.write(b"back", &mut stats).unwrap());
        let mut got = [0u8; 8];
        assert_eq!(rustix::io::read(&peer, &mut got).unwrap(), 4);
        drop(peer);
        assert_eq!(conn.read(&mut buf, &mut stats).unwrap(), Got::Closed);
        // Writing to a vanished peer drops the frame and reports the loss.
        assert!(!conn.write(b"lost", &mut stats).unwrap());
        assert_eq!(stats.dropped_disconnected, 1);
    }
}
