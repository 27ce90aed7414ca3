//! Copy vs zero-copy UDP sends through io_uring, to decide
//! `ReactorConfig::zerocopy_from`. A script-style bench (no criterion: it
//! measures the sender's CPU time per byte, which criterion does not):
//!
//! `cargo bench -p egd-uring --bench zerocopy [-- DST_IP:PORT]`
//!
//! Shapes: a 64 000-byte GSO train in one contiguous buffer (16 pages, the
//! most a zero-copy send takes), a 16 × 1400 B train from 2 KiB slots (the
//! largest zero-copy train the reactor's send pools make), a single 1400 B
//! datagram. For each, `SendMsg` then `SendMsgZc` (with usage reporting),
//! 32 in flight, for ~1.5 s; the receiver is a thread draining a GRO socket
//! on loopback, or nothing when DST is given (e.g. the far end of a veth in
//! another namespace: `ip netns exec A cargo bench … -- 10.0.0.2:9`, with
//! anything or nothing listening there). Printed per run: Gbit/s offered,
//! sender CPU ns per KB (user + system of the sending thread), and how many
//! zero-copy sends the kernel copied after all (`IORING_NOTIF_USAGE_ZC_COPIED`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
// bench code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // wall-clock timing

use io_uring::{IoUring, cqueue, opcode, types};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const IN_FLIGHT: usize = 32;
const RUN: Duration = Duration::from_millis(1500);

#[derive(Clone, Copy)]
struct Shape {
    name: &'static str,
    /// (iovec count, bytes per iovec, slot stride)
    iovs: usize,
    len: usize,
    stride: usize,
    segment: Option<u16>,
}

const SHAPES: [Shape; 3] = [
    Shape {
        name: "train 64000 B (1 iovec)",
        iovs: 1,
        len: 64_000,
        stride: 65_536,
        segment: Some(1400),
    },
    Shape {
        name: "train 16x1400 B (slots)",
        iovs: 16,
        len: 1400,
        stride: 2048,
        segment: Some(1400),
    },
    Shape {
        name: "single 1400 B",
        iovs: 1,
        len: 1400,
        stride: 2048,
        segment: None,
    },
];

/// One in-flight send: its msghdr, iovecs and cmsg, at a stable address.
#[repr(C)]
struct Msg {
    hdr: libc::msghdr,
    iov: [libc::iovec; 16],
    cmsg: [u64; 4],
}

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writes.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn set_int(fd: i32, level: i32, name: i32, val: i32) {
    // SAFETY: `val` is a valid c_int for the call.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const val).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
}

fn run(shape: Shape, zerocopy: bool, dst: SocketAddr) {
    let sock = UdpSocket::bind(if dst.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }).unwrap();
    sock.connect(dst).unwrap();
    set_int(
        sock.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_SNDBUFFORCE,
        16 << 20,
    );
    let mut ring = IoUring::new(2 * IN_FLIGHT as u32).unwrap();
    // Page-aligned payload memory, one region per in-flight send.
    let region_len = IN_FLIGHT * shape.iovs * shape.stride;
    let layout = std::alloc::Layout::from_size_align(region_len, 4096).unwrap();
    // SAFETY: non-zero size; freed at the end of this function.
    let base = unsafe { std::alloc::alloc_zeroed(layout) };
    assert!(!base.is_null());
    let mut msgs: Vec<Msg> = (0..IN_FLIGHT)
        .map(|i| {
            // SAFETY: all-zero is valid for these plain C structs.
            let mut m: Msg = unsafe { std::mem::zeroed() };
            for j in 0..shape.iovs {
                m.iov[j] = libc::iovec {
                    iov_base: base
                        .wrapping_add((i * shape.iovs + j) * shape.stride)
                        .cast(),
                    iov_len: shape.len,
                };
            }
            m
        })
        .collect();
    for m in &mut msgs {
        m.hdr.msg_iov = m.iov.as_mut_ptr();
        m.hdr.msg_iovlen = shape.iovs as _;
        if let Some(seg) = shape.segment {
            m.hdr.msg_control = m.cmsg.as_mut_ptr().cast();
            // SAFETY: pure size computation; then the header lies in `cmsg`.
            unsafe {
                m.hdr.msg_controllen = libc::CMSG_SPACE(2) as _;
                let c = libc::CMSG_FIRSTHDR(&m.hdr);
                (*c).cmsg_level = libc::SOL_UDP;
                (*c).cmsg_type = libc::UDP_SEGMENT;
                (*c).cmsg_len = libc::CMSG_LEN(2) as _;
                libc::CMSG_DATA(c).cast::<u16>().write_unaligned(seg);
            }
        }
    }
    let bytes_per_send = (shape.iovs * shape.len) as u64;
    let (mut sent_bytes, mut errors, mut zc, mut copied) = (0u64, 0u64, 0u64, 0u64);
    // Per slot: completions still expected (1, or 2 with a notification).
    let mut pending = [0u8; IN_FLIGHT];
    let submit = |ring: &mut IoUring, i: usize, msgs: &[Msg]| {
        let fd = types::Fd(sock.as_raw_fd());
        let e = if zerocopy {
            opcode::SendMsgZc::new(fd, &msgs[i].hdr)
                .ioprio(1 << 3)
                .build()
        } else {
            opcode::SendMsg::new(fd, &msgs[i].hdr).build()
        };
        // SAFETY: msgs and the payload region outlive the ring's use of
        // them: we wait for every completion before returning.
        unsafe { ring.submission().push(&e.user_data(i as u64)).unwrap() };
    };
    for (i, p) in pending.iter_mut().enumerate() {
        submit(&mut ring, i, &msgs);
        *p = 1;
    }
    let (t0, c0) = (Instant::now(), thread_cpu());
    let mut stopping = false;
    loop {
        if !stopping && t0.elapsed() >= RUN {
            stopping = true;
        }
        if stopping && pending.iter().all(|&p| p == 0) {
            break;
        }
        ring.submit_and_wait(1).unwrap();
        let cqes: Vec<(u64, i32, u32)> = ring
            .completion()
            .map(|c| (c.user_data(), c.result(), c.flags()))
            .collect();
        for (ud, res, flags) in cqes {
            let i = ud as usize;
            if cqueue::notif(flags) {
                copied += u64::from(res as u32 & (1 << 31) != 0);
            } else {
                if res >= 0 {
                    sent_bytes += bytes_per_send;
                    zc += u64::from(zerocopy);
                } else {
                    errors += 1;
                }
                if cqueue::more(flags) {
                    pending[i] += 1;
                }
            }
            pending[i] -= 1;
            if pending[i] == 0 && !stopping {
                submit(&mut ring, i, &msgs);
                pending[i] = 1;
            }
        }
    }
    let (wall, cpu) = (t0.elapsed(), thread_cpu() - c0);
    // SAFETY: allocated above with this layout; nothing in flight.
    unsafe { std::alloc::dealloc(base, layout) };
    let gbit = sent_bytes as f64 * 8.0 / wall.as_secs_f64() / 1e9;
    let ns_per_kb = cpu.as_nanos() as f64 / (sent_bytes as f64 / 1000.0);
    println!(
        "{:<26} {:<5} {gbit:7.2} Gbit/s  {ns_per_kb:7.1} ns CPU/KB  errors {errors}  zc {zc} copied {copied}",
        shape.name,
        if zerocopy { "zc" } else { "copy" },
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a SocketAddr argument picks the target.
    let dst: Option<SocketAddr> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    let stop = Arc::new(AtomicBool::new(false));
    let (dst, receiver) = match dst {
        Some(d) => (d, None),
        None => {
            let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
            set_int(rx.as_raw_fd(), libc::SOL_UDP, libc::UDP_GRO, 1);
            set_int(
                rx.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                32 << 20,
            );
            rx.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let addr = rx.local_addr().unwrap();
            let stop = stop.clone();
            let h = std::thread::spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while !stop.load(Ordering::Relaxed) {
                    let _ = rx.recv(&mut buf);
                }
            });
            (addr, Some(h))
        }
    };
    println!(
        "zero-copy bench → {dst} ({} in flight, {RUN:?} each)",
        IN_FLIGHT
    );
    for _round in 0..2 {
        for shape in SHAPES {
            for zerocopy in [false, true] {
                run(shape, zerocopy, dst);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(h) = receiver {
        h.join().unwrap();
    }
}
