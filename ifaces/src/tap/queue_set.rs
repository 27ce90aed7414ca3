//! [`QueueSet`]: the write side of a multi-queue tap, sending each flow to
//! the same queue always, chosen by a hash of the flow ([`flow_queue`]).
//!
//! Why not write through the queue of the thread that happens to hold the
//! frame: the tun driver remembers which queue a flow's packets were last
//! written to and hands that flow's packets in the other direction to the
//! same queue (`tun_flow_update` / `tun_automq_select_queue`). All datagrams
//! of one peer reach one thread (`SO_REUSEPORT` hashes the peer's address),
//! so writing through that thread's queue would pull every flow to and from
//! that peer onto it, and the other threads would idle. Spreading the
//! writes by flow spreads the reads of the answers, and with them the
//! sealing, over the threads.
//!
//! Driving it: build it from one [`TapQueue`] per queue of the device (each
//! thread its own set; [`TapQueue::try_clone`] duplicates the fds) and hand
//! it frames like any [`L2Interface`]; it never reads (`read_fd` is None).
//! One flow's frames are written in the order they are given.

use std::io;
use std::os::fd::RawFd;

use super::TapQueue;
use crate::offload::layout::Layout;
use crate::offload::{Features, VnetHdr};
use crate::{IfaceStats, L2Interface};

/// Writes frames to one queue per flow; see the module docs.
#[derive(Debug)]
pub struct QueueSet {
    queues: Vec<TapQueue>,
}

impl QueueSet {
    /// `queues` must be non-empty and belong to one device, in queue order.
    pub fn new(queues: Vec<TapQueue>) -> io::Result<Self> {
        if queues.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a queue set needs at least one queue",
            ));
        }
        Ok(QueueSet { queues })
    }

    fn queue_for(&mut self, frame: &[u8]) -> &mut TapQueue {
        let i = flow_queue(frame, self.queues.len());
        // `flow_queue` is below the length, which is at least 1.
        let last = self.queues.len() - 1;
        &mut self.queues[i.min(last)]
    }
}

/// The queue (of `queues`) for `frame`'s flow: a hash of the IP addresses,
/// protocol and ports of a TCP or UDP frame, else of the two MAC addresses.
/// Any frame, however short or malformed, gets a queue.
pub fn flow_queue(frame: &[u8], queues: usize) -> usize {
    if queues <= 1 {
        return 0;
    }
    let mut h = FxHash::default();
    match Layout::parse(frame) {
        Ok(l) => {
            let (src, dst) = l.addresses(frame);
            h.write(src);
            h.write(dst);
            h.write(&[l.proto]);
            h.write(frame.get(l.l4..l.l4 + 4).unwrap_or(&[]));
        }
        Err(_) => h.write(frame.get(..12).unwrap_or(frame)),
    }
    (h.0 % queues as u64) as usize
}

/// A small multiplicative hash (no allocation, no keys: the kernel does
/// its own hashing; this only has to spread flows).
#[derive(Default)]
struct FxHash(u64);

impl FxHash {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        // Mix the high bits down so `% queues` sees all of them.
        self.0 ^= self.0 >> 32;
    }
}

impl L2Interface for QueueSet {
    fn name(&self) -> &str {
        self.queues.first().map_or("", |q| q.name())
    }

    fn read_fd(&self) -> Option<RawFd> {
        None
    }

    fn read_frame(&mut self, _buf: &mut [u8]) -> io::Result<Option<usize>> {
        Ok(None)
    }

    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        self.queue_for(frame).write_frame(frame)
    }

    fn stats(&self) -> IfaceStats {
        let mut total = IfaceStats::default();
        for q in &self.queues {
            total.accumulate(&q.stats());
        }
        total
    }

    fn offloads(&self) -> Option<Features> {
        self.queues.first().and_then(|q| q.offloads())
    }

    fn read_frame_offload(&mut self, _buf: &mut [u8]) -> io::Result<Option<(VnetHdr, usize)>> {
        Ok(None)
    }

    fn write_frame_offload(&mut self, hdr: &VnetHdr, frame: &[u8]) -> io::Result<()> {
        self.queue_for(frame).write_frame_offload(hdr, frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP/UDP frame between two hosts and ports.
    fn ipv4(proto: u8, src: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20 + 10];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&50u16.to_be_bytes());
        ip[9] = proto;
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f[46] = 5 << 4; // TCP data offset (ignored for UDP)
        f
    }

    #[test]
    fn one_flow_one_queue_and_flows_spread() {
        let mut seen = [0usize; 4];
        for port in 40_000..40_064u16 {
            let a = ipv4(6, [10, 0, 0, 1], port, 5201);
            let q = flow_queue(&a, 4);
            // Payload and length do not matter, only the flow.
            let mut b = a.clone();
            b[60] = 0xaa;
            assert_eq!(flow_queue(&b, 4), q);
            seen[q] += 1;
        }
        // 64 flows over 4 queues: every queue gets some.
        assert!(seen.iter().all(|n| *n >= 4), "{seen:?}");
        // Protocol and address are part of the flow.
        let mut differ = 0;
        for port in 1000..1032u16 {
            let tcp = flow_queue(&ipv4(6, [10, 0, 0, 1], port, 53), 8);
            let udp = flow_queue(&ipv4(17, [10, 0, 0, 9], port, 53), 8);
            differ += usize::from(tcp != udp);
        }
        assert!(differ > 16, "{differ}");
    }

    #[test]
    fn any_frame_gets_a_queue_in_range() {
        for len in 0..80 {
            let f: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            for n in 1..6 {
                assert!(flow_queue(&f, n) < n);
            }
        }
        assert_eq!(flow_queue(&ipv4(6, [1, 2, 3, 4], 1, 2), 1), 0);
        assert_eq!(flow_queue(&[], 0), 0);
    }

    #[test]
    fn an_empty_set_is_refused() {
        assert!(QueueSet::new(Vec::new()).is_err());
    }
}
