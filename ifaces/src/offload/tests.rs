//! Segmentation and coalescing against hand-built frames checked with the
//! textbook checksum (`checksum::reference`), and the round trip
//! segment → coalesce as a property.

use proptest::prelude::*;

use super::checksum::reference;
use super::layout::{Layout, PROTO_TCP, PROTO_UDP, tcp};
use super::vnet::{F_NEEDS_CSUM, GSO_ECN, GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4};
use super::*;

const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const MAX_FRAME: usize = 1414 + 14;

#[derive(Clone, Debug)]
struct Spec {
    v4: bool,
    tcp: bool,
    ip_options: Vec<u8>,
    tcp_options: Vec<u8>,
    flags: u8,
    seq: u32,
    id: u16,
    payload: Vec<u8>,
}

impl Spec {
    fn tcp4(payload: usize) -> Spec {
        Spec {
            v4: true,
            tcp: true,
            ip_options: vec![],
            tcp_options: vec![],
            flags: tcp::ACK_FLAG,
            seq: 0xffff_f000,
            id: 0xfffe,
            payload: (0..payload).map(|i| (i * 7 + 3) as u8).collect(),
        }
    }
}

/// A frame as the kernel hands a GSO packet over: lengths and IPv4 header
/// checksum correct, the L4 checksum field holding the folded pseudo-header
/// sum (`NEEDS_CSUM`).
fn build(s: &Spec) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&DST_MAC);
    f.extend_from_slice(&SRC_MAC);
    f.extend_from_slice(&(if s.v4 { 0x0800u16 } else { 0x86dd }).to_be_bytes());
    let proto = if s.tcp { PROTO_TCP } else { PROTO_UDP };
    let l4_hdr = if s.tcp { 20 + s.tcp_options.len() } else { 8 };
    let l4_len = l4_hdr + s.payload.len();
    let (src, dst): (Vec<u8>, Vec<u8>) = if s.v4 {
        (vec![10, 0, 0, 1], vec![10, 0, 0, 2])
    } else {
        (
            (0..16u8).map(|i| 0xf0 + i).collect(),
            (0..16).map(|i| 0x20 + i).collect(),
        )
    };
    if s.v4 {
        let ihl = 20 + s.ip_options.len();
        f.push(0x40 | (ihl / 4) as u8);
        f.push(0x02); // ECT(0)
        f.extend_from_slice(&((ihl + l4_len) as u16).to_be_bytes());
        f.extend_from_slice(&s.id.to_be_bytes());
        f.extend_from_slice(&[0x40, 0]); // DF
        f.extend_from_slice(&[64, proto, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&s.ip_options);
        layout::set_ipv4_checksum(&mut f[14..], ihl);
    } else {
        f.extend_from_slice(&[0x60, 0x01, 0x23, 0x45]);
        f.extend_from_slice(&(l4_len as u16).to_be_bytes());
        f.extend_from_slice(&[proto, 64]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
    }
    let l4 = f.len();
    f.extend_from_slice(&[0x30, 0x39, 0x14, 0x51]); // ports 12345 → 5201
    if s.tcp {
        f.extend_from_slice(&s.seq.to_be_bytes());
        f.extend_from_slice(&0x0102_0304u32.to_be_bytes());
        f.push(((l4_hdr / 4) as u8) << 4);
        f.push(s.flags);
        f.extend_from_slice(&[0x01, 0xf5, 0, 0, 0, 0]);
        f.extend_from_slice(&s.tcp_options);
    } else {
        f.extend_from_slice(&(l4_len as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
    }
    f.extend_from_slice(&s.payload);
    let partial = checksum::fold(checksum::pseudo_header(&src, &dst, proto, l4_len as u32));
    let at = l4 + if s.tcp { 16 } else { 6 };
    f[at..at + 2].copy_from_slice(&partial.to_be_bytes());
    f
}

fn gso_hdr(s: &Spec, frame: &[u8], gso_size: u16) -> VnetHdr {
    let l = Layout::parse(frame).unwrap();
    let gso_type = match (s.tcp, s.v4) {
        (true, true) => GSO_TCPV4,
        (true, false) => GSO_TCPV6,
        (false, _) => GSO_UDP_L4,
    };
    VnetHdr {
        flags: F_NEEDS_CSUM,
        gso_type: gso_type | if s.flags & tcp::CWR != 0 { GSO_ECN } else { 0 },
        hdr_len: l.payload as u16,
        gso_size,
        csum_start: l.l4 as u16,
        csum_offset: if s.tcp { 16 } else { 6 },
    }
}

/// Checks a finished frame with the textbook checksum: IPv4 header sums to
/// zero, the L4 packet plus a separately built pseudo-header sums to zero,
/// and every length field matches the frame.
fn verify(frame: &[u8]) -> Layout {
    let l = Layout::parse(frame).unwrap();
    assert_eq!(l.ip_end, frame.len(), "IP length");
    let ip = &frame[l.l3..l.l4];
    let mut pseudo = Vec::new();
    let l4_len = frame.len() - l.l4;
    if l.v4 {
        assert_eq!(reference::checksum(ip), 0, "IPv4 header checksum");
        pseudo.extend_from_slice(&ip[12..20]);
        pseudo.extend_from_slice(&[0, l.proto]);
        pseudo.extend_from_slice(&(l4_len as u16).to_be_bytes());
    } else {
        pseudo.extend_from_slice(&ip[8..40]);
        pseudo.extend_from_slice(&(l4_len as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, l.proto]);
    }
    if l.proto == PROTO_UDP {
        assert_eq!(
            usize::from(u16::from_be_bytes([frame[l.l4 + 4], frame[l.l4 + 5]])),
            l4_len,
            "UDP length"
        );
    }
    pseudo.extend_from_slice(&frame[l.l4..]);
    assert_eq!(reference::checksum(&pseudo), 0, "L4 checksum");
    l
}

fn run_segment(
    hdr: &VnetHdr,
    frame: &[u8],
    max_frame: usize,
) -> Result<Vec<Vec<u8>>, SegmentError> {
    let mut frame = frame.to_vec();
    let mut scratch = vec![0u8; max_frame];
    let mut out = Vec::new();
    let n = segment(hdr, &mut frame, max_frame, &mut scratch, |f| {
        out.push(f.to_vec())
    })?;
    assert_eq!(n, out.len());
    Ok(out)
}

fn seq_of(f: &[u8]) -> u32 {
    let l = Layout::parse(f).unwrap();
    u32::from_be_bytes(f[l.l4 + 4..l.l4 + 8].try_into().unwrap())
}

#[test]
fn ipv4_header_checksum_of_a_known_packet() {
    // The classic example header (Wikipedia "IPv4 header checksum"): b861.
    let mut ip = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0x00, 0x01,
        0xc0, 0xa8, 0x00, 0xc7,
    ];
    layout::set_ipv4_checksum(&mut ip, 20);
    assert_eq!(ip[10..12], [0xb8, 0x61]);
}

#[test]
fn tcp4_with_options_is_cut_into_checked_segments() {
    let mut s = Spec::tcp4(5000);
    s.ip_options = vec![0x94, 0x04, 0, 0]; // router alert
    s.tcp_options = vec![1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]; // NOP NOP TS
    s.flags = tcp::ACK_FLAG | tcp::CWR | tcp::PSH | tcp::FIN;
    let big = build(&s);
    let segs = run_segment(&gso_hdr(&s, &big, 1000), &big, MAX_FRAME).unwrap();
    assert_eq!(segs.len(), 5);
    let mut payload = Vec::new();
    for (i, f) in segs.iter().enumerate() {
        let l = verify(f);
        assert_eq!(l.payload, 14 + 24 + 32);
        assert_eq!(f[..l.l3], big[..l.l3], "Ethernet header");
        let id = u16::from_be_bytes([f[18], f[19]]);
        assert_eq!(id, s.id.wrapping_add(i as u16), "IPv4 ID");
        assert_eq!(seq_of(f), s.seq.wrapping_add(1000 * i as u32), "seq wraps");
        let flags = f[l.l4 + 13];
        let want = match i {
            0 => tcp::ACK_FLAG | tcp::CWR,
            4 => tcp::ACK_FLAG | tcp::PSH | tcp::FIN,
            _ => tcp::ACK_FLAG,
        };
        assert_eq!(flags, want, "flags of segment {i}");
        assert_eq!(f[l.l4 + 20..l.payload], s.tcp_options[..], "options copied");
        assert_eq!(f[34..38], s.ip_options[..], "IP options copied");
        payload.extend_from_slice(&f[l.payload..]);
    }
    assert_eq!(payload, s.payload);
}

#[test]
fn tcp_segments_shrink_to_fit_the_mtu() {
    let s = Spec::tcp4(9000);
    let big = build(&s);
    let segs = run_segment(&gso_hdr(&s, &big, 8000), &big, MAX_FRAME).unwrap();
    assert_eq!(segs.len(), 9000usize.div_ceil(MAX_FRAME - 54));
    assert!(segs.iter().all(|f| f.len() <= MAX_FRAME));
    segs.iter().for_each(|f| {
        verify(f);
    });
}

#[test]
fn tcp6_segments() {
    let mut s = Spec::tcp4(3000);
    s.v4 = false;
    s.tcp_options = vec![1, 1, 1, 0];
    let big = build(&s);
    let segs = run_segment(&gso_hdr(&s, &big, 1400), &big, MAX_FRAME).unwrap();
    assert_eq!(segs.len(), 3);
    for f in &segs {
        verify(f);
        assert_eq!(
            f[14..18],
            [0x60, 0x01, 0x23, 0x45],
            "traffic class and flow label kept"
        );
    }
    // 1350 = 1428 − 78 header bytes: the MTU, not gso_size, limits.
    assert_eq!(segs[2].len(), 14 + 40 + 24 + 300);
}

#[test]
fn uso_makes_datagrams_of_gso_size() {
    for v4 in [true, false] {
        let s = Spec {
            v4,
            tcp: false,
            ..Spec::tcp4(2500)
        };
        let big = build(&s);
        let segs = run_segment(&gso_hdr(&s, &big, 1000), &big, MAX_FRAME).unwrap();
        let lens: Vec<usize> = segs.iter().map(|f| f.len() - verify(f).payload).collect();
        assert_eq!(lens, [1000, 1000, 500]);
        // Datagrams shorter than a TCP header, and an empty one.
        for len in [0, 1, 5] {
            let s = Spec {
                payload: vec![9; len],
                ..s.clone()
            };
            let big = build(&s);
            let segs = run_segment(&gso_hdr(&s, &big, 2), &big, MAX_FRAME).unwrap();
            assert_eq!(segs.len(), len.div_ceil(2).max(1));
            segs.iter().for_each(|f| {
                verify(f);
            });
        }
        // A datagram cannot be re-cut.
        let err = run_segment(&gso_hdr(&s, &big, 2000), &big, MAX_FRAME).unwrap_err();
        assert_eq!(err, SegmentError::DatagramTooLarge);
        assert_eq!(err.reason(), "datagram_too_large");
    }
}

#[test]
fn partial_checksums_are_completed_and_plain_frames_pass() {
    for (v4, tcp) in [(true, true), (true, false), (false, true), (false, false)] {
        let s = Spec {
            v4,
            tcp,
            ..Spec::tcp4(333)
        };
        let f = build(&s);
        let hdr = VnetHdr {
            gso_type: 0,
            gso_size: 0,
            ..gso_hdr(&s, &f, 0)
        };
        let out = run_segment(&hdr, &f, MAX_FRAME).unwrap();
        assert_eq!(out.len(), 1);
        verify(&out[0]);
        // The same frame again, now complete, passes byte for byte.
        let again = run_segment(&VnetHdr::NONE, &out[0], MAX_FRAME).unwrap();
        assert_eq!(again, out);
    }
    let arp = [0xffu8; 42];
    assert_eq!(
        run_segment(&VnetHdr::NONE, &arp, MAX_FRAME).unwrap(),
        [arp.to_vec()]
    );
}

#[test]
fn refusals_are_counted_by_reason() {
    let s = Spec::tcp4(3000);
    let big = build(&s);
    let hdr = gso_hdr(&s, &big, 1000);
    let v6 = VnetHdr {
        gso_type: GSO_TCPV6,
        ..hdr
    };
    assert_eq!(
        run_segment(&v6, &big, MAX_FRAME),
        Err(SegmentError::GsoMismatch)
    );
    let zero = VnetHdr { gso_size: 0, ..hdr };
    assert_eq!(
        run_segment(&zero, &big, MAX_FRAME),
        Err(SegmentError::GsoSizeZero)
    );
    let ufo = VnetHdr {
        gso_type: vnet::GSO_UDP,
        ..hdr
    };
    assert_eq!(
        run_segment(&ufo, &big, MAX_FRAME),
        Err(SegmentError::UnsupportedGso)
    );
    assert_eq!(
        run_segment(&hdr, &big, 54),
        Err(SegmentError::HeadersTooLong)
    );
    let mut ext = big.clone();
    ext[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    ext[14] = 0x60;
    ext[20] = 0; // hop-by-hop
    let e = run_segment(&hdr, &ext, MAX_FRAME).unwrap_err();
    assert_eq!(e.reason(), "ipv6_extension_headers");
    let bad = VnetHdr {
        csum_offset: 4000,
        gso_type: 0,
        ..hdr
    };
    assert_eq!(
        run_segment(&bad, &big, MAX_FRAME),
        Err(SegmentError::BadChecksumOffset)
    );
    let mut seen = [false; SegmentError::REASONS.len()];
    for e in [
        SegmentError::GsoMismatch,
        SegmentError::UnsupportedGso,
        SegmentError::GsoSizeZero,
        SegmentError::HeadersTooLong,
        SegmentError::DatagramTooLarge,
        SegmentError::BadChecksumOffset,
    ] {
        seen[e.index()] = true;
    }
    assert_eq!(seen.iter().filter(|s| **s).count(), 6);
}

fn run_coalesce(c: &mut Coalescer, frames: &[Vec<u8>]) -> Vec<(VnetHdr, Vec<u8>)> {
    let mut out = Vec::new();
    for f in frames {
        c.push(f, |h, f| out.push((*h, f.to_vec())));
    }
    c.flush(|h, f| out.push((*h, f.to_vec())));
    out
}

/// A coalesced frame is valid once its partial checksum is completed.
fn verify_coalesced(hdr: &VnetHdr, frame: &[u8]) {
    let mut f = frame.to_vec();
    complete_checksum(&mut f, hdr.csum_start, hdr.csum_offset).unwrap();
    verify(&f);
}

#[test]
fn coalesces_one_flow_into_a_gso_frame() {
    let mut s = Spec::tcp4(10_000);
    s.tcp_options = vec![1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];
    s.flags = tcp::ACK_FLAG | tcp::PSH;
    let big = build(&s);
    let segs = run_segment(&gso_hdr(&s, &big, 1200), &big, MAX_FRAME).unwrap();
    let mut c = Coalescer::new(DEFAULT_FLOWS);
    let out = run_coalesce(&mut c, &segs);
    assert_eq!(out.len(), 1);
    let (hdr, f) = &out[0];
    assert_eq!(*hdr, gso_hdr(&s, &big, 1200));
    assert_eq!(*f, big);
    verify_coalesced(hdr, f);
    let st = c.stats();
    assert_eq!((st.coalesced, st.coalesced_segments), (1, 9));
}

#[test]
fn what_must_not_merge_does_not() {
    let s = Spec::tcp4(4000);
    let big = build(&s);
    let segs = run_segment(&gso_hdr(&s, &big, 1000), &big, MAX_FRAME).unwrap();
    let tweak = |i: usize, at: usize, v: u8| {
        let mut segs = segs.clone();
        for f in &mut segs[i..] {
            f[at] ^= v;
        }
        segs
    };
    let l4 = 34;
    // From the third segment on: a different ACK number, a gap in the
    // sequence, another port, TTL or window, an IPv4 ID jump: split there.
    for (what, frames) in [
        ("ack", tweak(2, l4 + 11, 1)),
        ("seq", tweak(2, l4 + 7, 1)),
        ("port", tweak(2, l4 + 1, 1)),
        ("ttl", tweak(2, 22, 1)),
        ("id", tweak(2, 19, 4)),
        ("window", tweak(2, l4 + 15, 1)),
    ] {
        let mut c = Coalescer::new(DEFAULT_FLOWS);
        let out = run_coalesce(&mut c, &frames);
        assert_eq!(out.len(), 2, "{what}");
        assert_eq!(out[0].1.len(), 54 + 2000, "{what}: first two merged");
        verify_coalesced(&out[0].0, &out[0].1);
        assert_eq!(out[1].1.len(), 54 + 2000, "{what}");
        assert_eq!(out[1].0.gso_size, 1000, "{what}");
    }
    let mut syn = segs.clone();
    syn[1][l4 + 13] |= tcp::SYN;
    let out = run_coalesce(&mut Coalescer::new(1), &syn);
    assert_eq!(out.len(), 3, "SYN passes alone, the rest merges");
    assert_eq!(out[1], (VnetHdr::NONE, syn[1].clone()));
    // A lone segment and non-TCP frames pass unchanged.
    let arp = vec![0xffu8; 42];
    let out = run_coalesce(&mut Coalescer::new(1), &[segs[0].clone(), arp.clone()]);
    assert_eq!(
        out,
        [(VnetHdr::NONE, arp), (VnetHdr::NONE, segs[0].clone())]
    );
}

#[test]
fn interleaved_flows_merge_separately() {
    let a = Spec::tcp4(3000);
    let mut b = Spec::tcp4(3000);
    b.v4 = false;
    let (fa, fb) = (build(&a), build(&b));
    let sa = run_segment(&gso_hdr(&a, &fa, 1000), &fa, MAX_FRAME).unwrap();
    let sb = run_segment(&gso_hdr(&b, &fb, 1000), &fb, MAX_FRAME).unwrap();
    let mixed: Vec<Vec<u8>> = sa
        .iter()
        .zip(&sb)
        .flat_map(|(x, y)| [x.clone(), y.clone()])
        .collect();
    let out = run_coalesce(&mut Coalescer::new(DEFAULT_FLOWS), &mixed);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].1, fa);
    assert_eq!(out[1].1, fb);
    // With one slot, each flow evicts the other: nothing merges, nothing is lost.
    let out = run_coalesce(&mut Coalescer::new(1), &mixed);
    assert_eq!(out.len(), 6);
}

/// A UDP datagram as a stack hands it to the tap: complete checksum,
/// IPv4 ID `id` (the spec's payload size `len`).
fn udp_datagram(v4: bool, id: u16, payload: &[u8]) -> Vec<u8> {
    let s = Spec {
        v4,
        tcp: false,
        id,
        payload: payload.to_vec(),
        ..Spec::tcp4(0)
    };
    let mut f = build(&s);
    let l = Layout::parse(&f).unwrap();
    complete_checksum(&mut f, l.l4 as u16, 6).unwrap();
    verify(&f);
    f
}

fn udp_coalescer() -> Coalescer {
    Coalescer::new(DEFAULT_FLOWS).with_udp(true, true)
}

#[test]
fn udp_datagrams_coalesce_into_a_uso_frame() {
    // Hand-checked: two IPv4 datagrams 10.0.0.1:12345 → 10.0.0.2:5201 of 4
    // bytes each become one of 8: IP total length 20 + 8 + 8 = 36 (0x24),
    // UDP length 16, checksum field the pseudo-header sum
    // 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 16 = 0x1424, IDs 7 then 8,
    // IPv4 header checksum over the new length.
    let a = udp_datagram(true, 7, &[1, 2, 3, 4]);
    let b = udp_datagram(true, 8, &[5, 6, 7, 8]);
    let out = run_coalesce(&mut udp_coalescer(), &[a.clone(), b]);
    assert_eq!(out.len(), 1);
    let (hdr, f) = &out[0];
    let want_hdr = VnetHdr {
        flags: F_NEEDS_CSUM,
        gso_type: GSO_UDP_L4,
        hdr_len: 14 + 20 + 8,
        gso_size: 4,
        csum_start: 34,
        csum_offset: 6,
    };
    assert_eq!(*hdr, want_hdr);
    assert_eq!(f.len(), 14 + 36);
    assert_eq!(f[..14], a[..14], "Ethernet header");
    assert_eq!(f[16..18], [0x00, 0x24], "IP total length");
    assert_eq!(f[18..20], [0x00, 7], "the first ID");
    assert_eq!(reference::checksum(&f[14..34]), 0, "IPv4 header checksum");
    assert_eq!(f[34..38], [0x30, 0x39, 0x14, 0x51], "ports");
    assert_eq!(f[38..40], [0x00, 16], "UDP length");
    assert_eq!(f[40..42], [0x14, 0x24], "pseudo-header sum");
    assert_eq!(f[42..], [1, 2, 3, 4, 5, 6, 7, 8]);
    verify_coalesced(hdr, f);
    // What the kernel makes of it is what was pushed: cut it again.
    let segs = run_segment(hdr, f, MAX_FRAME).unwrap();
    assert_eq!(segs, [a, udp_datagram(true, 8, &[5, 6, 7, 8])]);
    // IPv6 the same way (no ID, the flow label must match).
    let six: Vec<Vec<u8>> = (0..5u8).map(|i| udp_datagram(false, 0, &[i; 64])).collect();
    let out = run_coalesce(&mut udp_coalescer(), &six);
    assert_eq!(out.len(), 1);
    let (hdr, f) = &out[0];
    assert_eq!(
        (hdr.gso_type, hdr.gso_size, hdr.hdr_len),
        (GSO_UDP_L4, 64, 14 + 40 + 8)
    );
    assert_eq!(f.len(), 14 + 40 + 8 + 5 * 64);
    assert_eq!(f[18..20], (8u16 + 320).to_be_bytes(), "IPv6 payload length");
    verify_coalesced(hdr, f);
    assert_eq!(run_segment(hdr, f, MAX_FRAME).unwrap(), six);
}

#[test]
fn udp_runs_end_where_gro_ends_them() {
    let d = |id: u16, len: usize| udp_datagram(true, id, &vec![0x5a; len]);
    let lens = |out: &[(VnetHdr, Vec<u8>)]| -> Vec<(u16, usize)> {
        out.iter()
            .map(|(h, f)| (h.gso_size, f.len() - 42))
            .collect()
    };
    // A shorter datagram joins and ends the run; a longer one starts anew.
    let frames = [d(1, 64), d(2, 64), d(3, 20), d(4, 64), d(5, 100), d(6, 100)];
    let out = run_coalesce(&mut udp_coalescer(), &frames);
    assert_eq!(lens(&out), [(64, 148), (0, 64), (100, 200)]);
    assert_eq!(out[1], (VnetHdr::NONE, frames[3].clone()));
    out.iter().for_each(|(h, f)| verify_coalesced(h, f));
    // At most MAX_UDP_SEGMENTS datagrams per frame.
    let many: Vec<Vec<u8>> = (0..100).map(|i| d(i, 10)).collect();
    let out = run_coalesce(&mut udp_coalescer(), &many);
    let n = MAX_UDP_SEGMENTS as usize;
    assert_eq!(lens(&out), [(10, 10 * n), (10, 10 * (100 - n))]);
    // Another port, TTL or TOS, an ID jump, an empty datagram, a length
    // field that disagrees with the frame: no merge across it.
    let base = [d(1, 64), d(2, 64), d(3, 64)];
    let tweak = |at: usize, v: u8| {
        let mut f = base.clone();
        f[2][at] ^= v;
        f
    };
    for (what, frames) in [
        ("port", tweak(37, 1)),
        ("ttl", tweak(22, 1)),
        ("tos", tweak(15, 4)),
        ("id", tweak(19, 4)),
        ("udp length", tweak(39, 1)),
    ] {
        let out = run_coalesce(&mut udp_coalescer(), &frames);
        assert_eq!(lens(&out), [(64, 128), (0, 64)], "{what}");
        assert_eq!(out[1].1, frames[2], "{what}: passed unchanged");
    }
    let empty = [d(1, 64), d(2, 0), d(3, 64)];
    let out = run_coalesce(&mut udp_coalescer(), &empty);
    assert_eq!(out.len(), 3, "an empty datagram passes and splits");
    // Without USO (the plain constructor), UDP passes unchanged, and UDP
    // never merges into a TCP flow with the same addresses and ports.
    let out = run_coalesce(&mut Coalescer::new(DEFAULT_FLOWS), &base);
    assert!(out.iter().all(|(h, _)| *h == VnetHdr::NONE));
    assert_eq!(out.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>(), base);
    let s = Spec::tcp4(2000);
    let big = build(&s);
    let tcp = run_segment(&gso_hdr(&s, &big, 1000), &big, MAX_FRAME).unwrap();
    let mixed = [tcp[0].clone(), d(1, 64), tcp[1].clone(), d(2, 64)];
    let out = run_coalesce(&mut udp_coalescer(), &mixed);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].0.gso_type, GSO_TCPV4);
    assert_eq!(out[1].0.gso_type, GSO_UDP_L4);
    // With only one of the families enabled, the other passes.
    let v6 = [
        udp_datagram(false, 0, &[1; 8]),
        udp_datagram(false, 0, &[2; 8]),
    ];
    let out = run_coalesce(&mut Coalescer::new(2).with_udp(true, false), &v6);
    assert_eq!(out.len(), 2);
    let st = Coalescer::new(1).stats();
    assert_eq!(st, CoalesceStats::default());
}

fn options() -> impl Strategy<Value = Vec<u8>> {
    (0usize..=10).prop_map(|words| {
        (0..words * 4)
            .map(|i| if i % 4 == 3 { 0 } else { 1 })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn segment_then_coalesce_gives_the_frame_back(
        v4 in any::<bool>(),
        ip_options in options(),
        tcp_options in options(),
        extra in 0u8..8,
        seq in any::<u32>(),
        id in any::<u16>(),
        len in 0usize..60_000,
        gso_size in 64u16..=1300,
    ) {
        let s = Spec {
            v4,
            tcp: true,
            ip_options: if v4 { ip_options } else { vec![] },
            tcp_options,
            flags: [tcp::CWR, tcp::PSH, tcp::FIN]
                .iter()
                .enumerate()
                .filter(|(i, _)| extra & (1 << i) != 0)
                .fold(tcp::ACK_FLAG, |a, (_, f)| a | f),
            seq,
            id,
            payload: (0..len).map(|i| (i ^ (i >> 8)) as u8).collect(),
        };
        let big = build(&s);
        let hdr = gso_hdr(&s, &big, gso_size);
        let segs = run_segment(&hdr, &big, MAX_FRAME).unwrap();
        for f in &segs {
            prop_assert!(f.len() <= MAX_FRAME);
            verify(f);
        }
        let out = run_coalesce(&mut Coalescer::new(DEFAULT_FLOWS), &segs);
        if segs.len() == 1 {
            prop_assert_eq!(&out, &[(VnetHdr::NONE, segs[0].clone())]);
        } else {
            prop_assert_eq!(out.len(), 1);
            prop_assert_eq!(&out[0].0, &hdr);
            prop_assert_eq!(&out[0].1, &big);
        }
    }

    #[test]
    fn uso_segment_then_coalesce_gives_the_frame_back(
        v4 in any::<bool>(),
        id in any::<u16>(),
        len in 1usize..20_000,
        gso_size in 1u16..=1300,
    ) {
        let s = Spec { v4, tcp: false, id, ..Spec::tcp4(len) };
        let big = build(&s);
        let hdr = gso_hdr(&s, &big, gso_size);
        let segs = run_segment(&hdr, &big, MAX_FRAME).unwrap();
        let out = run_coalesce(&mut udp_coalescer(), &segs);
        let n = MAX_UDP_SEGMENTS as usize;
        prop_assert_eq!(out.len(), segs.len().div_ceil(n));
        let mut back = Vec::new();
        for (h, f) in &out {
            verify_coalesced(h, f);
            back.extend(run_segment(h, f, MAX_FRAME).unwrap());
        }
        prop_assert_eq!(&back, &segs);
        if segs.len() == 1 {
            prop_assert_eq!(&out, &[(VnetHdr::NONE, segs[0].clone())]);
        } else if segs.len() <= n {
            prop_assert_eq!(&out, &[(hdr, big)]);
        }
    }

    #[test]
    fn uso_datagrams_always_verify(
        v4 in any::<bool>(),
        len in 0usize..20_000,
        gso_size in 1u16..=1300,
    ) {
        let s = Spec { v4, tcp: false, ..Spec::tcp4(len) };
        let big = build(&s);
        let segs = run_segment(&gso_hdr(&s, &big, gso_size), &big, MAX_FRAME).unwrap();
        prop_assert_eq!(segs.len(), len.div_ceil(usize::from(gso_size)).max(1));
        let mut payload = Vec::new();
        for f in &segs {
            payload.extend_from_slice(&f[verify(f).payload..]);
        }
        prop_assert_eq!(payload, s.payload);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        gso_type in any::<u8>(),
        gso_size in any::<u16>(),
        csum_start in 0u16..300,
        csum_offset in 0u16..300,
        flags in any::<u8>(),
    ) {
        let hdr = VnetHdr { flags, gso_type, hdr_len: 0, gso_size, csum_start, csum_offset };
        let _ = run_segment(&hdr, &bytes, MAX_FRAME);
        let mut c = Coalescer::new(2).with_udp(true, true);
        c.push(&bytes, |_, _| {});
        c.push(&bytes, |_, _| {});
        c.flush(|_, _| {});
    }
}
