//! `stdio`: the three L2HeaderModes over pipes, output backpressure, end of
//! input, and the real stdin/stdout of a child process.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::io::Write;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use egd_ifaces::{IfaceKind, L2HeaderMode, L2Interface, StdioIface};
use rustix::fs::{OFlags, fcntl_getfl};
use rustix::pipe::{PipeFlags, pipe_with};

const NODE_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x07];
const BCAST: [u8; 6] = [0xff; 6];

fn kbd(n: u8) -> [u8; 6] {
    [0xaa, 0xbb, 0xcc, 0xdd, 0xee, n]
}

/// An interface over two pipes: (iface, input writer, output reader).
fn over_pipes(mode: L2HeaderMode) -> (StdioIface, OwnedFd, OwnedFd) {
    let (in_r, in_w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
    let (out_r, out_w) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK).unwrap();
    (
        StdioIface::from_fds("stdio", in_r, out_w, mode, NODE_MAC).unwrap(),
        in_w,
        out_r,
    )
}

fn read_all_now(fd: &OwnedFd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = rustix::io::read(fd, &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

fn eth(dst: [u8; 6], src: [u8; 6], payload: &[u8]) -> Vec<u8> {
    [&dst[..], &src[..], payload].concat()
}

#[test]
fn stdio_nochg_passes_bytes_unchanged() {
    let (mut io, input, output) = over_pipes(L2HeaderMode::NoChange);
    let f = common::frame(1, 100);
    rustix::io::write(&input, &f).unwrap();
    assert_eq!(common::recv(&mut io), f);
    io.write_frame(&f).unwrap();
    assert_eq!(read_all_now(&output), f);
}

#[test]
fn stdio_kbdbg_lines_are_frames_and_frames_print_as_lines() {
    let (mut io, input, output) = over_pipes(L2HeaderMode::KeyboardDebug);
    // Two lines in one write: two frames, and the second is still in the pipe
    // after the first is returned (nothing is held back in user space).
    rustix::io::write(&input, b"b1hello\n35abc\n").unwrap();
    let mut buf = [0u8; 2048];
    let n = io.read_frame(&mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], &eth(BCAST, kbd(1), b"hello\n")[..]);
    assert!(common::is_readable(io.read_fd().unwrap()));
    let n = io.read_frame(&mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], &eth(kbd(3), kbd(5), b"abc\n")[..]);
    assert!(!common::is_readable(io.read_fd().unwrap()));
    assert_eq!(io.read_frame(&mut buf).unwrap(), None);

    // A line typed in pieces becomes a frame when its newline arrives.
    rustix::io::write(&input, b"b2pi").unwrap();
    assert_eq!(io.read_frame(&mut buf).unwrap(), None);
    rustix::io::write(&input, b"ece\n").unwrap();
    let n = io.read_frame(&mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], &eth(BCAST, kbd(2), b"piece\n")[..]);

    // Lines without two address characters are counted and skipped.
    rustix::io::write(&input, b"\nx\nb1ok\n").unwrap();
    let n = io.read_frame(&mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], &eth(BCAST, kbd(1), b"ok\n")[..]);
    assert_eq!(io.stats().rx_errors, 2);
    // A line too long for the caller's buffer is dropped, counted.
    rustix::io::write(&input, b"b1too long\nb1fits\n").unwrap();
    let mut small = [0u8; 12 + 5];
    let n = io.read_frame(&mut small).unwrap().unwrap();
    assert_eq!(&small[..n], &eth(BCAST, kbd(1), b"fits\n")[..]);
    assert_eq!(io.stats().dropped_too_long, 1);

    // Printing: what was typed on node 1 prints the same on the others.
    io.write_frame(&eth(BCAST, kbd(1), b"hello\n")).unwrap();
    io.write_frame(&eth(kbd(5), kbd(3), b"hi\n")).unwrap();
    // Multicast prints as b; an arbitrary unicast source by its last byte.
    io.write_frame(&eth(
        [0x01, 0x00, 0x5e, 0, 0, 1],
        [0x02, 0, 0, 0, 0, 9],
        b"m\n",
    ))
    .unwrap();
    assert_eq!(read_all_now(&output), b"b1hello\n53hi\nb9m\n");
    // Shorter than an Ethernet address pair: counted, nothing printed.
    io.write_frame(&[1, 2, 3]).unwrap();
    assert_eq!(io.stats().tx_errors, 1);
    assert_eq!(read_all_now(&output), b"");

    // End of input: a last line without newline still counts, then reading stops.
    rustix::io::write(&input, b"b4bye").unwrap();
    drop(input);
    let n = io.read_frame(&mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], &eth(BCAST, kbd(4), b"bye")[..]);
    assert_eq!(io.read_frame(&mut buf).unwrap(), None);
    assert_eq!(io.read_fd(), None);
    assert!(io.input_ended());
    // Output still works.
    io.write_frame(&eth(BCAST, kbd(1), b"x\n")).unwrap();
    assert_eq!(read_all_now(&output), b"b1x\n");
}

#[test]
fn stdio_no_l2_adds_and_strips_the_header() {
    let (mut io, input, output) = over_pipes(L2HeaderMode::NoL2);
    rustix::io::write(&input, b"hello").unwrap();
    assert_eq!(common::recv(&mut io), eth(BCAST, NODE_MAC, b"hello"));
    io.write_frame(&eth(kbd(1), kbd(2), b"payload")).unwrap();
    io.write_frame(&eth(kbd(1), kbd(2), b"")).unwrap();
    assert_eq!(read_all_now(&output), b"payload");
    assert_eq!(io.stats().tx_frames, 2);
    io.write_frame(&[0u8; 11]).unwrap();
    assert_eq!(io.stats().tx_errors, 1);
    // A read longer than the buffer after the header: dropped, counted. (A
    // pipe has no frame boundaries: one read is one frame, so the writer's
    // chunks must fit.)
    rustix::io::write(&input, b"01234").unwrap();
    let mut buf = [0u8; 12 + 4];
    assert_eq!(io.read_frame(&mut buf).unwrap(), None);
    assert_eq!(io.stats().dropped_too_long, 1);
    rustix::io::write(&input, b"0123").unwrap();
    assert_eq!(io.read_frame(&mut buf).unwrap(), Some(16));
    assert_eq!(&buf[12..], b"0123");
}

#[test]
fn stdio_output_backpressure_drops_whole_frames() {
    let (mut io, _input, output) = over_pipes(L2HeaderMode::NoChange);
    // Nobody reads the output pipe: it fills, and frames start being dropped.
    let mut taken = Vec::new();
    let mut i = 0u32;
    while io.stats().dropped_would_block < 5 {
        let mut f = common::frame((i % 251) as u8, 1000);
        f[12..16].copy_from_slice(&i.to_be_bytes());
        let before = io.stats().tx_frames;
        io.write_frame(&f).unwrap();
        if io.stats().tx_frames > before {
            taken.extend_from_slice(&f);
        }
        i += 1;
        assert!(i < 100_000, "the pipe never filled");
    }
    // The reader catches up; maintain finishes a partly written frame. The
    // bytes are exactly the frames taken, in order, none split by another.
    let mut got = Vec::new();
    let end = common::now() + common::PATIENCE;
    while got.len() < taken.len() {
        assert!(
            common::now() < end,
            "{} of {} bytes",
            got.len(),
            taken.len()
        );
        got.extend(read_all_now(&output));
        io.maintain().unwrap();
    }
    got.extend(read_all_now(&output));
    assert_eq!(got.len(), taken.len());
    assert!(got == taken, "output differs from the frames taken");
    assert!(!io.output_pending());
}

/// Runs `stdio_child_echo` in a child process with piped stdin/stdout: the
/// real `open` path (reopening the pipes non-blocking without changing the
/// originals), kbdbg both ways, and end of input without exiting.
#[test]
fn stdio_real_stdin_and_stdout_of_a_child() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "stdio_child_echo",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("EGD_IFACES_STDIO_CHILD", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"b1hello\n35abc\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("b1hello\n35abc\n"),
        "echo missing:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
}

/// The child side of `stdio_real_stdin_and_stdout_of_a_child`: echoes every
/// frame until end of input. Does nothing unless run by that test.
#[test]
#[ignore = "runs as a child process of stdio_real_stdin_and_stdout_of_a_child"]
fn stdio_child_echo() {
    if std::env::var_os("EGD_IFACES_STDIO_CHILD").is_none() {
        return;
    }
    let blocking = |fd: i32| {
        // SAFETY: fds 0 and 1 are open for the whole process.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        !fcntl_getfl(fd).unwrap().contains(OFlags::NONBLOCK)
    };
    assert!(
        blocking(0) && blocking(1),
        "the harness gave us non-blocking stdio"
    );
    let mut spec = common::spec(IfaceKind::Stdio, "stdio");
    spec.l2_header_mode = L2HeaderMode::KeyboardDebug;
    let mut io = egd_ifaces::open(&spec).unwrap();
    // Our own handles are non-blocking; the shared descriptions are not.
    assert!(
        blocking(0) && blocking(1),
        "open changed the parent's stdin/stdout"
    );
    assert_ne!(io.read_fd(), Some(0), "stdin should have been reopened");

    let end = common::now() + common::PATIENCE;
    let mut buf = [0u8; 2048];
    while let Some(fd) = io.read_fd() {
        assert!(common::now() < end, "no end of input");
        common::wait_readable(Some(fd), 50);
        io.maintain().unwrap();
        while let Some(n) = io.read_frame(&mut buf).unwrap() {
            io.write_frame(&buf[..n]).unwrap();
        }
    }
    assert_eq!(io.stats().rx_frames, 2);
    assert_eq!(io.stats().tx_frames, 2);
}
