//! What the reactor found and uses, probed once at start. The daemon logs the
//! `Display` form as a single line.

use crate::config::Backend;
use std::fmt;

/// Features in use by a reactor. Booleans say what is *used*, not merely what
/// the kernel offers (e.g. `gro` is false when the receive buffers are too
/// small for coalesced receives, even if the kernel has UDP GRO).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Features {
    pub backend: Backend,
    /// Multishot `RecvMsg` (Linux 6.0).
    pub multishot_recvmsg: bool,
    /// Provided buffer ring for receives (Linux 5.19).
    pub buf_ring: bool,
    /// `IORING_SETUP_SINGLE_ISSUER` (Linux 6.0).
    pub single_issuer: bool,
    /// `IORING_SETUP_DEFER_TASKRUN` (Linux 6.1): completions are produced
    /// only when the reactor waits, on its own thread.
    pub defer_taskrun: bool,
    /// `IORING_SETUP_COOP_TASKRUN` (used when DEFER_TASKRUN is not).
    pub coop_taskrun: bool,
    /// Multishot `PollAdd` for fd readiness (Linux 5.13).
    pub multishot_poll: bool,
    /// UDP GSO (`UDP_SEGMENT` cmsg) for batches to one destination.
    pub gso: bool,
    /// UDP GRO on receive: `recv_buffer_len` ≥ [`crate::GRO_BUFFER_LEN`] and
    /// the kernel knows `UDP_GRO` (sockets that refuse it anyway are counted
    /// in `Stats::gro_refused`).
    pub gro: bool,
    /// Zero-copy sends (`IORING_OP_SENDMSG_ZC`) for sends of at least this
    /// many bytes; `None` when off.
    pub zerocopy_from: Option<usize>,
    /// Effective kernel socket buffers (what `SO_RCVBUF`/`SO_SNDBUF` read
    /// back, i.e. twice the request), the smallest over the registered
    /// sockets; 0 before the first `add_udp` or when left alone.
    pub recv_socket_buffer: usize,
    pub send_socket_buffer: usize,
    /// Every socket's buffers were set with `SO_RCVBUFFORCE`/`SO_SNDBUFFORCE`
    /// (root), not capped by `net.core.rmem_max`/`wmem_max`.
    pub socket_buffers_forced: bool,
    /// Receive buffers and the payload capacity of each.
    pub recv_buffers: u16,
    pub recv_buffer_len: usize,
    /// Datagrams per send pool.
    pub send_batch: usize,
    /// Ring sizes (0 for the std backend).
    pub sq_entries: u32,
    pub cq_entries: u32,
}

impl Features {
    pub(crate) fn std(gso: bool, gro: bool, recv_buffer_len: usize, send_batch: usize) -> Features {
        Features {
            backend: Backend::Std,
            multishot_recvmsg: false,
            buf_ring: false,
            single_issuer: false,
            defer_taskrun: false,
            coop_taskrun: false,
            multishot_poll: false,
            gso,
            gro,
            zerocopy_from: None,
            recv_socket_buffer: 0,
            send_socket_buffer: 0,
            socket_buffers_forced: false,
            recv_buffers: 1,
            recv_buffer_len,
            send_batch,
            sq_entries: 0,
            cq_entries: 0,
        }
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// `no`, or `>=N` (bytes per send).
struct ZeroCopy(Option<usize>);

impl fmt::Display for ZeroCopy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("no"),
            Some(n) => write!(f, ">={n}"),
        }
    }
}

impl fmt::Display for Features {
    /// One line of `key=value` pairs, stable for grepping logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match self.backend {
            Backend::Uring => "io_uring",
            Backend::Std => "std(epoll)",
        };
        write!(
            f,
            "backend={backend} single_issuer={} defer_taskrun={} coop_taskrun={} \
             multishot_recvmsg={} buf_ring={} multishot_poll={} gso={} gro={} \
             zerocopy={} recv_buffers={}x{}B send_batch={} sq={} cq={} \
             so_rcvbuf={} so_sndbuf={} so_buf_force={}",
            yes(self.single_issuer),
            yes(self.defer_taskrun),
            yes(self.coop_taskrun),
            yes(self.multishot_recvmsg),
            yes(self.buf_ring),
            yes(self.multishot_poll),
            yes(self.gso),
            yes(self.gro),
            ZeroCopy(self.zerocopy_from),
            self.recv_buffers,
            self.recv_buffer_len,
            self.send_batch,
            self.sq_entries,
            self.cq_entries,
            self.recv_socket_buffer,
            self.send_socket_buffer,
            yes(self.socket_buffers_forced),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line() {
        let f = Features::std(true, false, 2048, 64);
        let s = f.to_string();
        assert!(!s.contains('\n'));
        assert!(s.starts_with("backend=std(epoll) "), "{s}");
        assert!(s.contains(" gso=yes gro=no "), "{s}");
        assert!(s.contains(" zerocopy=no recv_buffers=1x2048B "), "{s}");
        assert!(
            s.ends_with(" so_rcvbuf=0 so_sndbuf=0 so_buf_force=no"),
            "{s}"
        );
    }
}
