//! What the reactor found and uses, probed once at start. The daemon logs the
//! `Display` form as a single line.

use crate::config::Backend;
use std::fmt;

/// Features in use by a reactor. Booleans say what is *used*, not merely what
/// the kernel offers (e.g. `gro` is false because GRO is not enabled yet).
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
    /// UDP GRO on receive (not used yet).
    pub gro: bool,
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
    pub(crate) fn std(gso: bool, recv_buffer_len: usize, send_batch: usize) -> Features {
        Features {
            backend: Backend::Std,
            multishot_recvmsg: false,
            buf_ring: false,
            single_issuer: false,
            defer_taskrun: false,
            coop_taskrun: false,
            multishot_poll: false,
            gso,
            gro: false,
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
             recv_buffers={}x{}B send_batch={} sq={} cq={}",
            yes(self.single_issuer),
            yes(self.defer_taskrun),
            yes(self.coop_taskrun),
            yes(self.multishot_recvmsg),
            yes(self.buf_ring),
            yes(self.multishot_poll),
            yes(self.gso),
            yes(self.gro),
            self.recv_buffers,
            self.recv_buffer_len,
            self.send_batch,
            self.sq_entries,
            self.cq_entries,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line() {
        let f = Features::std(true, 2048, 64);
        let s = f.to_string();
        assert!(!s.contains('\n'));
        assert!(s.starts_with("backend=std(epoll) "), "{s}");
        assert!(s.contains(" gso=yes gro=no "), "{s}");
        assert!(s.contains(" recv_buffers=1x2048B "), "{s}");
    }
}
