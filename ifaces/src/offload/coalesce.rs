//! Coalescing (the send side of a tap with offloads, like Linux GRO):
//! consecutive TCP segments of one flow become one large frame written with
//! a [`VnetHdr`] (`GSO_TCPV4`/`GSO_TCPV6`, `gso_size` = the segments'
//! payload size, `NEEDS_CSUM` with the pseudo-header sum in the checksum
//! field), so the kernel takes 64 KB per `write` instead of 1.4 KB.
//!
//! Driving it: [`Coalescer::push`] every frame due for the tap, in order;
//! call [`Coalescer::flush`] at the end of each batch. Both hand finished
//! frames to a callback as `(header, frame)`, ready for
//! `L2Interface::write_frame_offload`. Frames that cannot merge (not TCP,
//! SYN/RST/URG, no payload, VLAN-tagged, padded) pass at once with
//! [`VnetHdr::NONE`]; a single segment that found no partner passes
//! unchanged too. Buffers are allocated once in [`Coalescer::new`].
//!
//! A segment joins the flow's pending frame (Linux `tcp_gro_receive` rules)
//! when it has the same Ethernet header; the same IP header except length,
//! ID and checksum, and an ID one higher (or equal, with DF); the same ports,
//! ACK number, data offset, window, urgent pointer and option bytes; flags
//! equal except PSH/FIN (allowed, they end the frame) and CWR (first segment
//! only); the next sequence number; and a payload no longer than the first
//! segment's. A shorter one, PSH or FIN, or a full frame (IP length limit of
//! 65 535) flushes at once. Checksums of incoming segments are not verified:
//! they arrive through the authenticated tunnel from the sender's segmenter.

use super::checksum::{fold, pseudo_header};
use super::layout::{
    ETH_LEN, IPV6_LEN, Layout, PROTO_TCP, ipv4, set_ip_len, set_ipv4_checksum, tcp,
};
use super::vnet::{F_NEEDS_CSUM, GSO_ECN, GSO_TCPV4, GSO_TCPV6, VnetHdr};

/// Flows held at once by [`Coalescer::new`]'s caller's usual choice.
pub const DEFAULT_FLOWS: usize = 8;
/// The IP length fields' limit (IPv4 total length, IPv6 payload length).
const MAX_IP_LEN: usize = 65_535;
/// A pending frame's buffer: Ethernet header plus the largest IPv6 packet.
const SLOT_LEN: usize = ETH_LEN + IPV6_LEN + MAX_IP_LEN;

/// Counters since the coalescer was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoalesceStats {
    /// Frames pushed.
    pub frames_in: u64,
    /// Frames handed out unchanged with a zero header.
    pub passed: u64,
    /// Large frames handed out with a GSO header.
    pub coalesced: u64,
    /// Segments that went into those large frames.
    pub coalesced_segments: u64,
}

impl CoalesceStats {
    /// Adds `other`'s counters to these (several reactor threads' totals).
    pub fn accumulate(&mut self, other: &CoalesceStats) {
        self.frames_in += other.frames_in;
        self.passed += other.passed;
        self.coalesced += other.coalesced;
        self.coalesced_segments += other.coalesced_segments;
    }
}

/// Merges TCP segments per flow; see the module docs.
pub struct Coalescer {
    slots: Vec<Slot>,
    /// The slot to evict next when all are busy (round robin).
    victim: usize,
    stats: CoalesceStats,
}

struct Slot {
    buf: Box<[u8]>,
    /// Bytes of `buf` in use; 0: free.
    len: usize,
    layout: Layout,
    gso_size: usize,
    segments: u64,
    next_seq: u32,
    last_id: u16,
}

impl Coalescer {
    /// A coalescer holding up to `flows` flows (at least 1), ~64 KB each.
    pub fn new(flows: usize) -> Self {
        let slots = (0..flows.max(1))
            .map(|_| Slot {
                buf: vec![0u8; SLOT_LEN].into_boxed_slice(),
                len: 0,
                layout: Layout {
                    l3: 0,
                    v4: true,
                    l4: 0,
                    proto: 0,
                    payload: 0,
                    ip_end: 0,
                },
                gso_size: 0,
                segments: 0,
                next_seq: 0,
                last_id: 0,
            })
            .collect();
        Coalescer {
            slots,
            victim: 0,
            stats: CoalesceStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> CoalesceStats {
        self.stats
    }

    /// Takes one frame; hands zero or more finished frames to `out`.
    pub fn push(&mut self, frame: &[u8], mut out: impl FnMut(&VnetHdr, &[u8])) {
        self.stats.frames_in += 1;
        let l = match Layout::parse(frame) {
            Ok(l) if l.proto == PROTO_TCP && l.l3 == ETH_LEN && l.ip_end == frame.len() => l,
            _ => return self.pass(frame, &mut out),
        };
        let th = &frame[l.l4..l.payload];
        let flags = th[tcp::FLAGS];
        let seq = be32(&th[tcp::SEQ]);
        let n = frame.len() - l.payload;
        let mergeable = n > 0 && flags & (tcp::SYN | tcp::RST | tcp::URG) == 0;
        let ends = flags & (tcp::PSH | tcp::FIN) != 0;
        if let Some(i) = self.slots.iter().position(|s| s.same_flow(frame, &l)) {
            if mergeable && self.slots[i].can_append(frame, &l, seq, n, flags) {
                let slot = &mut self.slots[i];
                slot.buf[slot.len..slot.len + n].copy_from_slice(&frame[l.payload..]);
                slot.len += n;
                slot.segments += 1;
                slot.next_seq = seq.wrapping_add(n as u32);
                if l.v4 {
                    slot.last_id = be16(&frame[l.l3 + ipv4::ID.start..]);
                }
                slot.buf[l.l4 + tcp::FLAGS] |= flags & (tcp::PSH | tcp::FIN);
                if ends || n < slot.gso_size || !slot.has_room_for(slot.gso_size) {
                    self.flush_slot(i, &mut out);
                }
                return;
            }
            self.flush_slot(i, &mut out);
        }
        if !mergeable || ends {
            return self.pass(frame, &mut out);
        }
        let i = match self.slots.iter().position(|s| s.len == 0) {
            Some(i) => i,
            None => {
                let i = self.victim;
                self.victim = (i + 1) % self.slots.len();
                self.flush_slot(i, &mut out);
                i
            }
        };
        let slot = &mut self.slots[i];
        slot.buf[..frame.len()].copy_from_slice(frame);
        slot.len = frame.len();
        slot.layout = l;
        slot.gso_size = n;
        slot.segments = 1;
        slot.next_seq = seq.wrapping_add(n as u32);
        slot.last_id = if l.v4 {
            be16(&frame[l.l3 + ipv4::ID.start..])
        } else {
            0
        };
    }

    /// Hands out every pending frame (end of a batch).
    pub fn flush(&mut self, mut out: impl FnMut(&VnetHdr, &[u8])) {
        for i in 0..self.slots.len() {
            self.flush_slot(i, &mut out);
        }
    }

    fn pass(&mut self, frame: &[u8], out: &mut impl FnMut(&VnetHdr, &[u8])) {
        self.stats.passed += 1;
        out(&VnetHdr::NONE, frame);
    }

    fn flush_slot(&mut self, i: usize, out: &mut impl FnMut(&VnetHdr, &[u8])) {
        let slot = &mut self.slots[i];
        if slot.len == 0 {
            return;
        }
        let len = std::mem::take(&mut slot.len);
        if slot.segments == 1 {
            self.stats.passed += 1;
            out(&VnetHdr::NONE, &slot.buf[..len]);
            return;
        }
        self.stats.coalesced += 1;
        self.stats.coalesced_segments += slot.segments;
        let l = slot.layout;
        let buf = &mut slot.buf[..len];
        set_ip_len(buf, &l, len);
        if l.v4 {
            set_ipv4_checksum(&mut buf[l.l3..], l.l4 - l.l3);
        }
        let (src, dst) = l.addresses(buf);
        let partial = fold(pseudo_header(src, dst, PROTO_TCP, (len - l.l4) as u32));
        buf[l.l4 + tcp::CHECKSUM.start..l.l4 + tcp::CHECKSUM.end]
            .copy_from_slice(&partial.to_be_bytes());
        let ecn = if buf[l.l4 + tcp::FLAGS] & tcp::CWR != 0 {
            GSO_ECN
        } else {
            0
        };
        // All offsets are below SLOT_LEN (< 2^17) and gso_size < 2^16; the
        // headers sit within the first few hundred bytes.
        let hdr = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: if l.v4 { GSO_TCPV4 } else { GSO_TCPV6 } | ecn,
            hdr_len: l.payload as u16,
            gso_size: slot.gso_size as u16,
            csum_start: l.l4 as u16,
            csum_offset: tcp::CHECKSUM_OFFSET,
        };
        out(&hdr, buf);
    }
}

impl std::fmt::Debug for Coalescer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer")
            .field("flows", &self.slots.len())
            .field("pending", &self.slots.iter().filter(|s| s.len != 0).count())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Slot {
    /// Same Ethernet header, addresses and ports (and header layout).
    fn same_flow(&self, frame: &[u8], l: &Layout) -> bool {
        self.len != 0
            && self.layout.v4 == l.v4
            && self.layout.l4 == l.l4
            && self.layout.payload == l.payload
            && frame[..ETH_LEN] == self.buf[..ETH_LEN]
            && l.addresses(frame) == self.layout.addresses(&self.buf)
            && frame[l.l4..l.l4 + 4] == self.buf[l.l4..l.l4 + 4]
    }

    /// Whether the frame's IP length still allows `n` more payload bytes.
    fn has_room_for(&self, n: usize) -> bool {
        let after = self.len + n;
        let ip_len = after - self.layout.l3 - if self.layout.v4 { 0 } else { IPV6_LEN };
        ip_len <= MAX_IP_LEN && after <= self.buf.len()
    }

    /// The GRO checks (module docs) for a segment of the same flow.
    fn can_append(&self, frame: &[u8], l: &Layout, seq: u32, n: usize, flags: u8) -> bool {
        if seq != self.next_seq || n > self.gso_size || flags & tcp::CWR != 0 {
            return false;
        }
        if !self.has_room_for(n) {
            return false;
        }
        let (ip, old_ip) = (&frame[l.l3..l.l4], &self.buf[l.l3..l.l4]);
        let ip_same = if l.v4 {
            let id = be16(&ip[ipv4::ID]);
            let df = ip[ipv4::FLAGS_FRAG.start] & ipv4::DF != 0;
            ip[..2] == old_ip[..2]
                && ip[6..10] == old_ip[6..10]
                && ip[12..] == old_ip[12..]
                && (id == self.last_id.wrapping_add(1) || (df && id == self.last_id))
        } else {
            ip[..4] == old_ip[..4] && ip[6..] == old_ip[6..]
        };
        let (th, old_th) = (&frame[l.l4..l.payload], &self.buf[l.l4..l.payload]);
        let flag_mask = !(tcp::CWR | tcp::PSH | tcp::FIN);
        ip_same
            && th[tcp::ACK] == old_th[tcp::ACK]
            && th[tcp::DATA_OFFSET] == old_th[tcp::DATA_OFFSET]
            && (th[tcp::FLAGS] ^ old_th[tcp::FLAGS]) & flag_mask == 0
            && th[14..16] == old_th[14..16]
            && th[18..] == old_th[18..]
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
