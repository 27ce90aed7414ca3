//! Reactor configuration and backend choice. Sizes are fixed at creation: the
//! reactor allocates all its buffers up front and never per datagram.

use std::io;

/// Which reactor implementation to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// io_uring: multishot `RecvMsg` into a provided buffer ring, batched
    /// `SendMsg` with UDP GSO, multishot `PollAdd`, one timeout entry.
    Uring,
    /// Portable fallback: non-blocking sockets and epoll, the same batching.
    Std,
}

impl Backend {
    /// The name used in logs and on the command line (`--bind`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Uring => "io_uring",
            Backend::Std => "std",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend name [`Backend::from_str`](std::str::FromStr) does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownBackend(pub String);

impl std::fmt::Display for UnknownBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown backend {:?}: expected uring or std", self.0)
    }
}

impl std::error::Error for UnknownBackend {}

impl std::str::FromStr for Backend {
    type Err = UnknownBackend;

    /// `uring`/`io_uring` or `std` (the daemon's `--bind`).
    fn from_str(s: &str) -> Result<Backend, UnknownBackend> {
        match s {
            "uring" | "io_uring" => Ok(Backend::Uring),
            "std" => Ok(Backend::Std),
            _ => Err(UnknownBackend(s.to_owned())),
        }
    }
}

/// Sizes of the preallocated pools. Build with `..ReactorConfig::default()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactorConfig {
    /// Receive buffers in the provided buffer ring (a power of two,
    /// 1..=32768). When all are out the kernel stops the multishot receive
    /// (counted in `Stats::recv_no_buffers`) and the reactor re-arms it once
    /// buffers are back; datagrams wait in the socket meanwhile.
    pub recv_buffers: u16,
    /// Largest datagram payload received; longer ones are dropped and counted
    /// (`Stats::recv_truncated`). At least [`crate::GRO_BUFFER_LEN`] turns UDP
    /// GRO on (a buffer then holds a whole coalesced train of datagrams);
    /// below it, GRO stays off. The io_uring backend maps
    /// `recv_buffers × recv_buffer_len` bytes up front.
    pub recv_buffer_len: usize,
    /// Datagrams queued before an automatic flush; also the size of each of
    /// the two send pools.
    pub send_batch: usize,
    /// Largest datagram `queue_send` accepts.
    pub send_buffer_len: usize,
    /// Kernel socket buffers asked for on each registered socket (send and
    /// receive, bytes; forced past the sysctl caps when root). 0 leaves the
    /// socket's own sizes.
    pub socket_buffer: usize,
    /// io_uring only: send a `sendmsg` of at least this many bytes with
    /// `IORING_OP_SENDMSG_ZC`. `None` (the default) never does: on this
    /// project's machines zero-copy never won (see `uring/benches/zerocopy.rs`
    /// and `benches/README.md`).
    pub zerocopy_from: Option<usize>,
    /// Tests only: make the io_uring constructor fail as if the kernel had
    /// `kernel.io_uring_disabled=2`, to exercise the fallback.
    pub force_unavailable_for_tests: bool,
    /// Tests only: act as if the kernel refused `UDP_GRO` on every socket, to
    /// exercise that fallback (GRO-capable kernels never refuse it on UDP).
    pub refuse_gro_for_tests: bool,
}

impl Default for ReactorConfig {
    fn default() -> Self {
        ReactorConfig {
            recv_buffers: DEFAULT_RECV_BUFFERS,
            recv_buffer_len: crate::gro::GRO_BUFFER_LEN,
            send_batch: 64,
            send_buffer_len: 2048,
            socket_buffer: DEFAULT_SOCKET_BUFFER,
            zerocopy_from: None,
            force_unavailable_for_tests: false,
            refuse_gro_for_tests: false,
        }
    }
}

/// Receive buffers by default. With GRO each holds a whole train (up to ~45
/// full-size datagrams), so 256 × 64 KiB = 16 MiB (resident: the ring cycles
/// through all of them) holds ~11 000 datagrams between two waits, ten times
/// the old 1024 × 2 KiB, and the loopback bench (`benches/udp.rs`) never ran
/// the ring dry (`recv_no_buffers` 0). Without coalescing a buffer holds one
/// datagram, so a flood of unrelated small datagrams re-arms the receive
/// every 256 (counted); memory-tight setups set `recv_buffer_len` below
/// `GRO_BUFFER_LEN` (GRO off, buffers as small as wanted).
const DEFAULT_RECV_BUFFERS: u16 = 256;
/// Socket buffers asked for by default (wireguard-go uses 7 MiB).
const DEFAULT_SOCKET_BUFFER: usize = 8 << 20;

/// The kernel refuses buffer rings larger than this (io_uring_register(2)).
const MAX_RECV_BUFFERS: u16 = 32768;
/// Larger than any UDP payload, room for GRO-coalesced buffers later.
const MAX_BUFFER_LEN: usize = 1 << 20;
/// Bounds the preallocated pools to something sane.
const MAX_SEND_BATCH: usize = 4096;

impl ReactorConfig {
    pub(crate) fn validate(&self) -> io::Result<()> {
        let bad = |what: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, what.to_owned()));
        if self.recv_buffers == 0
            || !self.recv_buffers.is_power_of_two()
            || self.recv_buffers > MAX_RECV_BUFFERS
        {
            return bad("recv_buffers must be a power of two in 1..=32768");
        }
        if self.recv_buffer_len == 0 || self.recv_buffer_len > MAX_BUFFER_LEN {
            return bad("recv_buffer_len must be in 1..=1048576");
        }
        if self.send_batch == 0 || self.send_batch > MAX_SEND_BATCH {
            return bad("send_batch must be in 1..=4096");
        }
        if self.send_buffer_len == 0 || self.send_buffer_len > usize::from(u16::MAX) {
            return bad("send_buffer_len must be in 1..=65535");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_parse() {
        for b in [Backend::Uring, Backend::Std] {
            assert_eq!(b.name().parse::<Backend>(), Ok(b));
        }
        assert_eq!("uring".parse::<Backend>(), Ok(Backend::Uring));
        assert!("epoll".parse::<Backend>().is_err());
    }

    #[test]
    fn default_is_valid() {
        assert!(ReactorConfig::default().validate().is_ok());
    }

    #[test]
    fn rejects_bad_sizes() {
        let d = ReactorConfig::default;
        for cfg in [
            ReactorConfig {
                recv_buffers: 0,
                ..d()
            },
            ReactorConfig {
                recv_buffers: 1000,
                ..d()
            },
            ReactorConfig {
                recv_buffer_len: 0,
                ..d()
            },
            ReactorConfig {
                send_batch: 0,
                ..d()
            },
            ReactorConfig {
                send_buffer_len: 70_000,
                ..d()
            },
        ] {
            let err = cfg.validate().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{cfg:?}");
        }
    }
}
