//! Tap offloads on arbitrary input: the first 10 bytes as a virtio-net header,
//! the rest as the frame the tap handed over. Segmentation must not panic,
//! every segment must fit the MTU-sized scratch, and coalescing the segments
//! (and the raw frame) must not panic either.
#![no_main]

use egd_ifaces::offload::{Coalescer, Gso, VnetHdr, segment};
use libfuzzer_sys::fuzz_target;

const MAX_FRAME: usize = 1514;

fuzz_target!(|data: &[u8]| {
    let Some(hdr) = VnetHdr::parse(data) else { return };
    let mut frame = data[10..].to_vec();
    let mut scratch = [0u8; MAX_FRAME];
    let mut coalescer = Coalescer::new(2).with_udp(true, true);
    let mut out = |_: &VnetHdr, f: &[u8]| assert!(f.len() <= 65_535 + 54);
    coalescer.push(&frame, &mut out);
    let _ = segment(&hdr, &mut frame, MAX_FRAME, &mut scratch, |seg| {
        // Only frames without GSO pass at their own length.
        assert!(seg.len() <= MAX_FRAME || hdr.gso() == Gso::None);
        coalescer.push(seg, &mut out);
    });
    coalescer.flush(&mut out);
});
