//! egd-ifaces: the L2 endpoints an egd node reads frames from and writes
//! frames to. It knows nothing about WireGuard or routing.
//!
//! [`open`] turns an [`IfaceSpec`] (the config's `Interface` block, validated
//! by the daemon) into a `Box<dyn` [`L2Interface`]`>`:
//!
//! | kind | module | read_fd | maintain |
//! |---|---|---|---|
//! | `tap` | [`tap`] | the tap fd | — |
//! | `dummy` | [`dummy`] | None (never readable) | — |
//! | `stdio` | [`stdio`] | stdin (None after EOF) | every 100 ms (flush) |
//! | `udpsock`, `unixgramsock` | [`dgram`] | the socket | — |
//! | `tcpsock`, `unixsock`, `unixpacketsock` | [`stream`] | an epoll fd over listener and connections | every 1 s (reconnect) |
//! | `fd` | [`fd`] | `EG_FD_RX` (None after EOF) | every 100 ms (flush) |
//! | `vpp` | [`memif`] | an epoll fd over the control socket and the receive ring's eventfd | every 250 ms (handshake, reconnect) |
//!
//! How a caller drives any endpoint (single-threaded, all fds non-blocking):
//! 1. wait until `read_fd()` is readable, or until `maintain_interval()` has
//!    passed since the last `maintain`;
//! 2. call `maintain()` (it accepts, reconnects, flushes), then re-read
//!    `read_fd()` (it may change or become None, e.g. at end of input). An fd
//!    once returned stays open as long as the endpoint lives, so a poll still
//!    registered on it never sees a reused descriptor number;
//! 3. call `read_frame` until it returns `Ok(None)`. Endpoints hold no
//!    complete frame back in user space once `read_frame` has returned, so a
//!    caller that stops early (a budget) and waits again misses nothing;
//! 4. `write_frame` whenever a frame is due; it never blocks: a frame that
//!    cannot be taken now is dropped and counted in [`IfaceStats`].
//!
//! `Err` from any call means the endpoint is broken for good (a closed fd,
//! a failed epoll); everything else is counted, not returned.
//!
//! `unsafe` is confined to the interface ioctls (`tap::ifreq`), to taking
//! the `fd` kind's descriptors and to memif's shared memory (`memif::shm`),
//! each block with a `// SAFETY:` note.

pub mod dgram;
pub mod dummy;
mod error;
pub mod fd;
mod fdio;
mod fdpair;
pub mod hostaddr;
pub mod memif;
pub mod memory;
pub mod offload;
mod postscript;
mod sockaddr;
mod spec;
mod stats;
pub mod stdio;
pub mod stream;
pub mod tap;

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

pub use dgram::DatagramIface;
pub use dummy::DummyIface;
pub use error::IfaceError;
pub use fd::FdIface;
pub use memif::{MemifIface, MemifRole, MemifSpec};
pub use memory::{MemoryIface, memory_pair};
pub use postscript::{post_script_env, run_post_script, run_post_script_with_env, run_script};
pub use spec::{IfaceKind, IfaceSpec, L2HeaderMode, SockSpec};
pub use stats::IfaceStats;
pub use stdio::StdioIface;
pub use stream::StreamIface;
pub use tap::{DeviceDrops, QueueSet, Tap, TapQueue, device_drops};

/// One L2 endpoint: frames in, frames out. All fds non-blocking.
pub trait L2Interface: Send {
    fn name(&self) -> &str;
    /// The fd to wait on for readability, if any (None: never readable, e.g.
    /// dummy, or stdin after end of input). May change after `maintain()`
    /// (stream sockets reconnecting), so the caller re-reads it after each
    /// maintain.
    fn read_fd(&self) -> Option<RawFd>;
    /// One frame into `buf`; Ok(None) when nothing is ready (WouldBlock).
    /// Frames longer than buf are dropped (counted) not truncated.
    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;
    /// Write one whole frame. If the endpoint cannot take it now (WouldBlock,
    /// peer gone), drop it and count it (Ok) rather than block; Err only for
    /// fatal errors.
    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()>;
    /// Housekeeping: accept/reconnect stream sockets, finish partly written
    /// frames. Called when read_fd is readable and at least every
    /// `maintain_interval()`.
    fn maintain(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn maintain_interval(&self) -> Option<Duration> {
        None
    }
    /// Counters since the endpoint was opened.
    fn stats(&self) -> IfaceStats;

    /// The offloads enabled, if frames carry virtio-net headers (only a tap
    /// opened with `spec.offload`). Then use [`offload::OffloadPath`] (or the
    /// two `*_offload` calls) instead of `read_frame`/`write_frame`: reads may
    /// return 64 KB GSO frames, writes may be coalesced ones. The plain calls
    /// still work on such an endpoint (GSO frames read by them are dropped
    /// and counted as too long).
    fn offloads(&self) -> Option<offload::Features> {
        None
    }
    /// Like `read_frame`, also returning the frame's virtio-net header
    /// ([`offload::VnetHdr::NONE`] on endpoints without offloads). Size
    /// `buf` for [`offload::MAX_OFFLOAD_FRAME`] when `offloads()` is Some.
    fn read_frame_offload(
        &mut self,
        buf: &mut [u8],
    ) -> io::Result<Option<(offload::VnetHdr, usize)>> {
        Ok(self.read_frame(buf)?.map(|n| (offload::VnetHdr::NONE, n)))
    }
    /// Like `write_frame`, with a virtio-net header. Without offloads only a
    /// plain header is accepted; any other is a caller bug and returns
    /// `Err(Unsupported)`.
    fn write_frame_offload(&mut self, hdr: &offload::VnetHdr, frame: &[u8]) -> io::Result<()> {
        if hdr.is_plain() {
            self.write_frame(frame)
        } else {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a GSO/checksum header on an endpoint without offloads",
            ))
        }
    }
}

/// Opens the endpoint `spec` describes. Does not run the PostScript (see
/// [`run_post_script`]). For a multi-queue tap use [`Tap::open`] and
/// [`Tap::open_queue`] instead; this opens its first queue only.
pub fn open(spec: &IfaceSpec) -> Result<Box<dyn L2Interface>, IfaceError> {
    Ok(match spec.kind {
        IfaceKind::Tap => Box::new(Tap::open(spec)?),
        IfaceKind::Dummy => Box::new(DummyIface::new(spec.name.clone())),
        IfaceKind::Stdio => Box::new(StdioIface::open(spec)?),
        IfaceKind::UdpSock | IfaceKind::UnixGramSock => Box::new(DatagramIface::open(spec)?),
        IfaceKind::TcpSock | IfaceKind::UnixSock | IfaceKind::UnixPacketSock => {
            Box::new(StreamIface::open(spec)?)
        }
        IfaceKind::Fd => Box::new(FdIface::from_env(&spec.name)?),
        IfaceKind::Vpp => Box::new(MemifIface::open(spec)?),
    })
}
