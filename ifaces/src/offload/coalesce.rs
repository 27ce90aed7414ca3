//! Coalescing (the send side of a tap with offloads, like Linux GRO):
//! consecutive TCP segments of one flow become one large frame written with
//! a [`VnetHdr`] (`GSO_TCPV4`/`GSO_TCPV6`, `gso_size` = the segments'
//! payload size, `NEEDS_CSUM` with the pseudo-header sum in the checksum
//! field), so the kernel takes 64 KB per `write` instead of 1.4 KB; and,
//! where the tap has USO (Linux ≥ 6.2, [`Coalescer::with_udp`]),
//! consecutive equal-size UDP datagrams of one flow become one `GSO_UDP_L4`
//! frame, so a stream of small datagrams costs one `write` (and one pass
//! through the kernel's IP input) per up to [`MAX_UDP_SEGMENTS`] instead of
//! one each.
//!
//! Driving it: [`Coalescer::push`] every frame due for the tap, in order;
//! call [`Coalescer::flush`] at the end of each batch. Both hand finished
//! frames to a callback as `(header, frame)`, ready for
//! `L2Interface::write_frame_offload`. Frames that cannot merge (not TCP or
//! UDP, SYN/RST/URG, no payload, VLAN-tagged, padded; UDP without USO)
//! pass at once with [`VnetHdr::NONE`]; a single segment that found no
//! partner passes unchanged too. Buffers are allocated once in
//! [`Coalescer::new`].
//!
//! A TCP segment joins the flow's pending frame (Linux `tcp_gro_receive`
//! rules) when it has the same Ethernet header; the same IP header except
//! length, ID and checksum, and an ID one higher (or equal, with DF); the
//! same ports, ACK number, data offset, window, urgent pointer and option
//! bytes; flags equal except PSH/FIN (allowed, they end the frame) and CWR
//! (first segment only); the next sequence number; and a payload no longer
//! than the first segment's. A shorter one, PSH or FIN, or a full frame (IP
//! length limit of 65 535) flushes at once.
//!
//! A UDP datagram joins (Linux `udp_gro_receive_segment` rules) when it has
//! the same Ethernet header, the same IP header under the same rule as TCP,
//! the same ports, a UDP length field that matches the frame, and a payload
//! of the first datagram's size; a shorter one joins and ends the frame
//! (the kernel's segmentation makes the last segment the short one), as do
//! the [`MAX_UDP_SEGMENTS`]th and one that fills the IP length. The frame's
//! UDP length field then covers all payloads and its checksum field holds
//! the pseudo-header sum: the kernel's `__udp_gso_segment` rewrites both per
//! datagram and gives each its IPv4 ID (first + i), as our segmenter does.
//!
//! Checksums of incoming segments are not verified: they arrive through the
//! authenticated tunnel from the sender's segmenter or stack.

use super::checksum::{fold, pseudo_header};
use super::layout::{
    ETH_LEN, IPV6_LEN, Layout, PROTO_TCP, PROTO_UDP, UDP_LEN, ipv4, set_ip_len, set_ipv4_checksum,
    tcp, udp,
};
use super::vnet::{F_NEEDS_CSUM, GSO_ECN, GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4, VnetHdr};

/// Flows held at once by [`Coalescer::new`]'s caller's usual choice.
pub const DEFAULT_FLOWS: usize = 8;
/// The IP length fields' limit (IPv4 total length, IPv6 payload length).
const MAX_IP_LEN: usize = 65_535;
/// Most datagrams in one UDP GSO frame: the kernel's `UDP_MAX_SEGMENTS`,
/// 64 in older kernels (128 in newer ones); recent kernels refuse a
/// `GSO_UDP_L4` write to a tap with more (`virtio_net_hdr_to_skb`).
pub const MAX_UDP_SEGMENTS: u64 = 64;
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

/// Merges TCP segments (and UDP datagrams, with USO) per flow; see the
/// module docs.
pub struct Coalescer {
    slots: Vec<Slot>,
    /// UDP over IPv4 / IPv6 may merge (the tap has USO4 / USO6).
    udp4: bool,
    udp6: bool,
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
            udp4: false,
            udp6: false,
            victim: 0,
            stats: CoalesceStats::default(),
        }
    }

    /// Also merges UDP datagrams over IPv4 (`v4`) and IPv6 (`v6`): only
    /// for a tap that accepted `TUN_F_USO4` / `TUN_F_USO6`.
    pub fn with_udp(self, v4: bool, v6: bool) -> Self {
        Coalescer {
            udp4: v4,
            udp6: v6,
            ..self
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
            Ok(l) if l.l3 == ETH_LEN && l.ip_end == frame.len() => l,
            _ => return self.pass(frame, &mut out),
        };
        if l.proto == PROTO_UDP && (if l.v4 { self.udp4 } else { self.udp6 }) {
            return self.push_udp(frame, &l, &mut out);
        }
        if l.proto != PROTO_TCP {
            return self.pass(frame, &mut out);
        }
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
        let i = self.free_slot(&mut out);
        self.start(i, frame, &l, n);
        self.slots[i].next_seq = seq.wrapping_add(n as u32);
    }

    /// `push` for a UDP datagram (`l` parsed, the frame ends where IP does).
    fn push_udp(&mut self, frame: &[u8], l: &Layout, out: &mut impl FnMut(&VnetHdr, &[u8])) {
        let n = frame.len() - l.payload;
        let ulen = usize::from(be16(&frame[l.l4 + udp::LENGTH.start..]));
        if n == 0 || ulen != frame.len() - l.l4 {
            // Nothing to merge, or a length field the kernel would rewrite
            // differently than the datagram says: as it is.
            if let Some(i) = self.slots.iter().position(|s| s.same_flow(frame, l)) {
                self.flush_slot(i, out);
            }
            return self.pass(frame, out);
        }
        if let Some(i) = self.slots.iter().position(|s| s.same_flow(frame, l)) {
            if self.slots[i].can_append_udp(frame, l, n) {
                let slot = &mut self.slots[i];
                slot.buf[slot.len..slot.len + n].copy_from_slice(&frame[l.payload..]);
                slot.len += n;
                slot.segments += 1;
                if l.v4 {
                    slot.last_id = be16(&frame[l.l3 + ipv4::ID.start..]);
                }
                if n < slot.gso_size
                    || slot.segments >= MAX_UDP_SEGMENTS
                    || !slot.has_room_for(slot.gso_size)
                {
                    self.flush_slot(i, out);
                }
                return;
            }
            self.flush_slot(i, out);
        }
        let i = self.free_slot(out);
        self.start(i, frame, l, n);
    }

    /// A free slot, evicting one (round robin) when all are busy.
    fn free_slot(&mut self, out: &mut impl FnMut(&VnetHdr, &[u8])) -> usize {
        match self.slots.iter().position(|s| s.len == 0) {
            Some(i) => i,
            None => {
                let i = self.victim;
                self.victim = (i + 1) % self.slots.len();
                self.flush_slot(i, out);
                i
            }
        }
    }

    /// Starts a pending frame in free slot `i` with `frame` (payload `n`).
    fn start(&mut self, i: usize, frame: &[u8], l: &Layout, n: usize) {
        let slot = &mut self.slots[i];
        slot.buf[..frame.len()].copy_from_slice(frame);
        slot.len = frame.len();
        slot.layout = *l;
        slot.gso_size = n;
        slot.segments = 1;
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
        let l4_len = len - l.l4;
        if l.proto == PROTO_UDP {
            // has_room_for kept the IP length, and so this, below 2^16.
            buf[l.l4 + udp::LENGTH.start..l.l4 + udp::LENGTH.end]
                .copy_from_slice(&(l4_len as u16).to_be_bytes());
            let (src, dst) = l.addresses(buf);
            let partial = fold(pseudo_header(src, dst, PROTO_UDP, l4_len as u32));
            buf[l.l4 + udp::CHECKSUM.start..l.l4 + udp::CHECKSUM.end]
                .copy_from_slice(&partial.to_be_bytes());
            let hdr = VnetHdr {
                flags: F_NEEDS_CSUM,
                gso_type: GSO_UDP_L4,
                hdr_len: (l.l4 + UDP_LEN) as u16,
                gso_size: slot.gso_size as u16,
                csum_start: l.l4 as u16,
                csum_offset: udp::CHECKSUM_OFFSET,
            };
            out(&hdr, buf);
            return;
        }
        let (src, dst) = l.addresses(buf);
        let partial = fold(pseudo_header(src, dst, PROTO_TCP, l4_len as u32));
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
            && self.layout.proto == l.proto
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
        let ip_same = self.same_ip(frame, l);
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

impl Slot {
    /// The IP header equals the pending frame's except length and checksum,
    /// and an IPv4 ID follows the last one (or repeats it, with DF).
    fn same_ip(&self, frame: &[u8], l: &Layout) -> bool {
        let (ip, old_ip) = (&frame[l.l3..l.l4], &self.buf[l.l3..l.l4]);
        if l.v4 {
            let id = be16(&ip[ipv4::ID]);
            let df = ip[ipv4::FLAGS_FRAG.start] & ipv4::DF != 0;
            ip[..2] == old_ip[..2]
                && ip[6..10] == old_ip[6..10]
                && ip[12..] == old_ip[12..]
                && (id == self.last_id.wrapping_add(1) || (df && id == self.last_id))
        } else {
            ip[..4] == old_ip[..4] && ip[6..] == old_ip[6..]
        }
    }

    /// The UDP rules (module docs) for a datagram of the same flow with a
    /// payload of `n` > 0 bytes and a matching length field.
    fn can_append_udp(&self, frame: &[u8], l: &Layout, n: usize) -> bool {
        n <= self.gso_size
            && self.segments < MAX_UDP_SEGMENTS
            && self.has_room_for(n)
            && self.same_ip(frame, l)
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
