//! Recording real datagrams of a running mesh for verbatim replay.
//!
//! How to drive it: [`Sniffer::open`], then [`Sniffer::run`], inside the network namespace whose traffic to
//! record (an `AF_PACKET` socket sees every interface there, both
//! directions), [`write`] the datagrams to a file, [`read`] them back in the
//! replaying process.
//!
//! egd sends batches with UDP GSO and receives with GRO, and a packet socket
//! on a veth sees such a batch as one UDP payload of several transport
//! messages. [`split_batch`] cuts it back into messages: in a batch every
//! message but the last has the same length, and each starts with the type
//! word 4, the same receiver index and the next counter.
//!
//! File format: per datagram a little-endian u32 length and the bytes.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, recv, setsockopt, socket, sockopt,
};
use nix::sys::time::TimeVal;

const IPPROTO_UDP: u8 = 17;
const TRANSPORT_TYPE: [u8; 4] = [4, 0, 0, 0];
const TRANSPORT_HEADER: usize = 16;
const TRANSPORT_MIN: usize = 32;

/// A packet socket that sees every interface of this network namespace,
/// both directions (needs root).
#[derive(Debug)]
pub struct Sniffer {
    fd: std::os::fd::OwnedFd,
}

impl Sniffer {
    /// Opens the socket: from now on packets are seen.
    pub fn open() -> io::Result<Sniffer> {
        let fd = socket(
            AddressFamily::Packet,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::EthAll,
        )?;
        // Re-check the deadline ten times a second.
        setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(0, 100_000))?;
        Ok(Sniffer { fd })
    }

    /// UDP payloads to or from any of `ports`, for `duration` or until
    /// `max` are kept. Identical datagrams are kept once (a forwarding host
    /// sees each one twice).
    pub fn run(&self, ports: &[u16], duration: Duration, max: usize) -> io::Result<Vec<Vec<u8>>> {
        let deadline = Instant::now() + duration;
        let mut seen = HashSet::new();
        let mut kept = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while Instant::now() < deadline && kept.len() < max {
            let len = match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(len) => len,
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            let Some((src, dst, payload)) = udp_payload(&buf[..len]) else {
                continue;
            };
            if !ports.contains(&src) && !ports.contains(&dst) {
                continue;
            }
            for datagram in split_batch(payload) {
                if kept.len() < max && seen.insert(datagram.to_vec()) {
                    kept.push(datagram.to_vec());
                }
            }
        }
        Ok(kept)
    }
}

/// Source port, destination port and payload of an unfragmented UDP packet
/// over IPv4 or IPv6 (no extension headers), starting at the IP header.
pub fn udp_payload(packet: &[u8]) -> Option<(u16, u16, &[u8])> {
    let version = packet.first()? >> 4;
    let (proto, header_len, total) = match version {
        4 => {
            let ihl = usize::from(packet[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
            let frag = u16::from_be_bytes([*packet.get(6)?, *packet.get(7)?]);
            if frag & 0x3fff != 0 {
                return None; // a fragment (offset or more-fragments set)
            }
            (*packet.get(9)?, ihl, total)
        }
        6 => {
            let payload = usize::from(u16::from_be_bytes([*packet.get(4)?, *packet.get(5)?]));
            (*packet.get(6)?, 40, 40 + payload)
        }
        _ => return None,
    };
    if proto != IPPROTO_UDP || header_len < 20 {
        return None;
    }
    let ip = packet.get(..total.min(packet.len()))?;
    let udp = ip.get(header_len..)?;
    let src = u16::from_be_bytes([*udp.first()?, *udp.get(1)?]);
    let dst = u16::from_be_bytes([*udp.get(2)?, *udp.get(3)?]);
    Some((src, dst, udp.get(8..)?))
}

/// One UDP payload as the WireGuard messages it holds: a GSO batch of
/// transport messages cut at each segment, anything else whole.
pub fn split_batch(payload: &[u8]) -> Vec<&[u8]> {
    if payload.len() <= TRANSPORT_MIN || payload.get(..4) != Some(&TRANSPORT_TYPE[..]) {
        return vec![payload];
    }
    let (index, counter) = (&payload[4..8], counter_at(payload, 0));
    let next_segment = (TRANSPORT_MIN..payload.len()).step_by(16).find(|&at| {
        payload.get(at..at + 4) == Some(&TRANSPORT_TYPE[..])
            && payload.get(at + 4..at + 8) == Some(index)
            && counter_at(payload, at).is_some_and(|c| Some(c) == counter.map(|n| n + 1))
    });
    match next_segment {
        Some(segment) => payload.chunks(segment).collect(),
        None => vec![payload],
    }
}

fn counter_at(payload: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = payload
        .get(at + 8..at + TRANSPORT_HEADER)?
        .try_into()
        .ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Stores `datagrams` at `path`.
pub fn write(path: &Path, datagrams: &[Vec<u8>]) -> io::Result<()> {
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    for d in datagrams {
        let len = u32::try_from(d.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(d)?;
    }
    out.flush()
}

/// Reads what [`write`] stored.
pub fn read(path: &Path) -> io::Result<Vec<Vec<u8>>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    let mut rest = bytes.as_slice();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        let len = u32::from_le_bytes(*len) as usize;
        let d = tail.get(..len).ok_or(io::ErrorKind::UnexpectedEof)?;
        out.push(d.to_vec());
        rest = &tail[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(index: u32, counter: u64, body: usize) -> Vec<u8> {
        let mut m = TRANSPORT_TYPE.to_vec();
        m.extend(index.to_le_bytes());
        m.extend(counter.to_le_bytes());
        m.extend(std::iter::repeat_n(0xab, body + 16));
        m
    }

    #[test]
    fn a_gso_batch_splits_into_its_messages() {
        let msgs = [
            transport(7, 40, 96),
            transport(7, 41, 96),
            transport(7, 42, 32),
        ];
        let batch = msgs.concat();
        let parts = split_batch(&batch);
        assert_eq!(parts, msgs.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }

    #[test]
    fn single_messages_stay_whole() {
        let m = transport(7, 40, 96);
        assert_eq!(split_batch(&m), vec![m.as_slice()]);
        // Two of another index, or not consecutive: not one batch.
        let odd = [transport(7, 40, 16), transport(8, 41, 16)].concat();
        assert_eq!(split_batch(&odd).len(), 1);
        let init = [1u8; 148];
        assert_eq!(split_batch(&init).len(), 1);
    }

    #[test]
    fn udp_payload_of_ipv4_and_ipv6() {
        let mut v4 = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, IPPROTO_UDP];
        v4.resize(20, 0);
        v4.extend([0x0b, 0xb9, 0x0b, 0xba, 0, 12, 0, 0, 1, 2, 3, 4]);
        let total = v4.len() as u16;
        v4[2..4].copy_from_slice(&total.to_be_bytes());
        v4.extend([9, 9]); // Ethernet padding beyond the IP length
        assert_eq!(udp_payload(&v4), Some((3001, 3002, &[1u8, 2, 3, 4][..])));
        let mut frag = v4.clone();
        frag[6] = 0x20; // more fragments
        assert_eq!(udp_payload(&frag), None);

        let mut v6 = vec![0x60, 0, 0, 0, 0, 10, IPPROTO_UDP, 64];
        v6.resize(40, 0);
        v6.extend([0x0b, 0xb9, 0x0b, 0xba, 0, 10, 0, 0, 5, 6]);
        assert_eq!(udp_payload(&v6), Some((3001, 3002, &[5u8, 6][..])));
        assert_eq!(udp_payload(&[0x45]), None);
    }

    #[test]
    fn file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let data = vec![vec![], vec![1, 2, 3], vec![7; 70_000]];
        write(&path, &data).unwrap();
        assert_eq!(read(&path).unwrap(), data);
        std::fs::write(&path, [5, 0, 0, 0, 1]).unwrap();
        assert!(read(&path).is_err(), "a cut file is an error, not a panic");
    }
}
