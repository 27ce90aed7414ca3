//! No allocation per packet, for the tap offloads: after the buffers are made, cutting a
//! 60 KB GSO frame into MTU-sized segments and coalescing them back must not
//! allocate, nor must cutting a USO frame into 64-byte datagrams and
//! coalescing those. One test in this file, so no other test thread allocates while
//! the counting allocator measures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use egd_ifaces::offload::layout::set_ipv4_checksum;
use egd_ifaces::offload::vnet::{F_NEEDS_CSUM, GSO_TCPV4, GSO_UDP_L4};
use egd_ifaces::offload::{Coalescer, DEFAULT_FLOWS, VnetHdr, checksum, segment};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const PAYLOAD: usize = 60_000;
const MAX_FRAME: usize = 1414 + 14;

/// Ethernet (2:0:0:0:0:2 ← 2:0:0:0:0:1) and an IPv4 header without options
/// (10.0.0.1 → 10.0.0.2, DF, TTL 64, checksum set) carrying `l4_len` bytes
/// of protocol `proto`, at the start of `f`.
fn eth_ipv4(f: &mut [u8], proto: u8, l4_len: usize) {
    f[..12].copy_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&((20 + l4_len) as u16).to_be_bytes());
    f[20] = 0x40;
    f[22..24].copy_from_slice(&[64, proto]);
    f[26..34].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    set_ipv4_checksum(&mut f[14..], 20);
}

/// Ethernet + IPv4 + TCP (no options) with a partial checksum, as a tap with
/// TSO hands it over.
fn gso_frame() -> (VnetHdr, Vec<u8>) {
    let mut f = vec![0u8; 54 + PAYLOAD];
    eth_ipv4(&mut f, 6, 20 + PAYLOAD);
    f[34..38].copy_from_slice(&[0x30, 0x39, 0x14, 0x51]);
    f[46] = 5 << 4;
    f[47] = 0x10;
    f[48..50].copy_from_slice(&[1, 0]);
    let pseudo = checksum::pseudo_header(&[10, 0, 0, 1], &[10, 0, 0, 2], 6, (20 + PAYLOAD) as u32);
    f[50..52].copy_from_slice(&checksum::fold(pseudo).to_be_bytes());
    for (i, b) in f[54..].iter_mut().enumerate() {
        *b = i as u8;
    }
    let hdr = VnetHdr {
        flags: F_NEEDS_CSUM,
        gso_type: GSO_TCPV4,
        hdr_len: 54,
        gso_size: 1360,
        csum_start: 34,
        csum_offset: 16,
    };
    (hdr, f)
}

fn segmenting_and_coalescing_do_not_allocate() {
    let (hdr, big) = gso_frame();
    let mut frame = big.clone();
    let mut scratch = vec![0u8; MAX_FRAME];
    let mut coalescer = Coalescer::new(DEFAULT_FLOWS);
    let mut written = 0usize;
    let mut round = |frame: &mut [u8], scratch: &mut [u8], coalescer: &mut Coalescer| {
        let mut out = |h: &VnetHdr, f: &[u8]| {
            assert_eq!(h.gso_size, 1360);
            written += f.len();
        };
        segment(&hdr, frame, MAX_FRAME, scratch, |seg| {
            coalescer.push(seg, &mut out)
        })
        .unwrap();
        coalescer.flush(&mut out);
    };
    round(&mut frame, &mut scratch, &mut coalescer);
    let region = Region::new(GLOBAL);
    for _ in 0..200 {
        round(&mut frame, &mut scratch, &mut coalescer);
    }
    let stats = region.change();
    assert_eq!(stats.allocations + stats.reallocations, 0, "{stats:?}");
    assert_eq!(written, 201 * big.len());
    assert_eq!(frame, big);
}

/// Runs without libtest's harness (`harness = false`): its main thread
/// allocates now and then while it waits for a test thread, and the
/// allocation counter is process-wide.
fn main() {
    segmenting_and_coalescing_do_not_allocate();
    udp_datagrams_coalesce_without_allocating();
}

/// 64 datagrams of 64 bytes (Ethernet + IPv4 + UDP) as one USO frame.
fn uso_frame() -> (VnetHdr, Vec<u8>) {
    const N: usize = 64 * 64;
    let mut f = vec![0u8; 42 + N];
    eth_ipv4(&mut f, 17, 8 + N);
    f[34..38].copy_from_slice(&[0x30, 0x39, 0x00, 0x09]);
    f[38..40].copy_from_slice(&((8 + N) as u16).to_be_bytes());
    let pseudo = checksum::pseudo_header(&[10, 0, 0, 1], &[10, 0, 0, 2], 17, (8 + N) as u32);
    f[40..42].copy_from_slice(&checksum::fold(pseudo).to_be_bytes());
    let hdr = VnetHdr {
        flags: F_NEEDS_CSUM,
        gso_type: GSO_UDP_L4,
        hdr_len: 42,
        gso_size: 64,
        csum_start: 34,
        csum_offset: 6,
    };
    (hdr, f)
}

fn udp_datagrams_coalesce_without_allocating() {
    let (hdr, big) = uso_frame();
    let mut frame = big.clone();
    let mut scratch = vec![0u8; MAX_FRAME];
    let mut coalescer = Coalescer::new(DEFAULT_FLOWS).with_udp(true, true);
    let mut written = 0usize;
    let mut round = |frame: &mut [u8], scratch: &mut [u8], coalescer: &mut Coalescer| {
        let mut out = |h: &VnetHdr, f: &[u8]| {
            assert_eq!((h.gso_type, h.gso_size), (GSO_UDP_L4, 64));
            written += f.len();
        };
        let n = segment(&hdr, frame, MAX_FRAME, scratch, |seg| {
            coalescer.push(seg, &mut out)
        })
        .unwrap();
        assert_eq!(n, 64);
        coalescer.flush(&mut out);
    };
    round(&mut frame, &mut scratch, &mut coalescer);
    let region = Region::new(GLOBAL);
    for _ in 0..200 {
        round(&mut frame, &mut scratch, &mut coalescer);
    }
    let stats = region.change();
    assert_eq!(stats.allocations + stats.reallocations, 0, "{stats:?}");
    assert_eq!(written, 201 * big.len());
}
