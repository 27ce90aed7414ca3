//! Counters kept by the reactor. Bad or lost datagrams are counted by reason,
//! never logged one by one.

/// Counters since the reactor was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams handed out as `Completion::Datagram`.
    pub datagrams_received: u64,
    /// Datagrams the kernel accepted (a GSO batch counts its segments).
    pub datagrams_sent: u64,
    /// `sendmsg` calls (io_uring `SendMsg` entries) the kernel accepted; a
    /// GSO batch is one.
    pub send_calls: u64,
    /// Sends that carried a `UDP_SEGMENT` cmsg.
    pub gso_batches_sent: u64,
    /// Zero-copy sends completed (`Features::zerocopy_from`).
    pub zerocopy_sends: u64,
    /// Of those, how many the kernel copied after all
    /// (`IORING_NOTIF_USAGE_ZC_COPIED`: loopback, veth, devices without
    /// scatter-gather…).
    pub zerocopy_copied: u64,
    /// Receives that held several datagrams (UDP GRO), split before being
    /// handed out (each datagram also counts in `datagrams_received`).
    pub gro_receives: u64,
    /// Sockets on which the kernel refused `UDP_GRO` (they receive datagram
    /// by datagram).
    pub gro_refused: u64,
    /// Received datagrams dropped: longer than `recv_buffer_len`.
    pub recv_truncated: u64,
    /// Received datagrams dropped: sender address not IPv4/IPv6.
    pub recv_bad_address: u64,
    /// The buffer ring ran dry (ENOBUFS); the receive was re-armed later.
    pub recv_no_buffers: u64,
    /// Multishot receives re-armed after they ended (ENOBUFS, overflow…).
    pub recv_rearms: u64,
    /// Other receive errors.
    pub recv_errors: u64,
    /// Datagrams the kernel dropped at this reactor's UDP sockets before
    /// egd saw them (mostly: receive buffer full while egd waited for a
    /// CPU). The sockets' `SO_MEMINFO` drop counters, read when `stats` is
    /// called (32-bit in the kernel, so they wrap after 4 G drops).
    pub socket_drops: u64,
    /// Datagrams lost to a send error (unreachable, wrong family…).
    pub send_errors: u64,
    /// Datagrams dropped because the socket's send buffer was full (std
    /// backend; io_uring waits for room instead).
    pub send_would_block: u64,
    /// Sockets on which GSO was turned off after EIO/EINVAL (the batch was
    /// resent datagram by datagram).
    pub gso_disabled: u64,
    /// Readiness watches that ended with an error.
    pub watch_errors: u64,
    /// `Completion::Timeout` delivered.
    pub timeouts: u64,
}

impl Stats {
    /// Adds `other`'s counters to these (several reactor threads' totals).
    pub fn accumulate(&mut self, other: &Stats) {
        self.datagrams_received += other.datagrams_received;
        self.datagrams_sent += other.datagrams_sent;
        self.send_calls += other.send_calls;
        self.gso_batches_sent += other.gso_batches_sent;
        self.zerocopy_sends += other.zerocopy_sends;
        self.zerocopy_copied += other.zerocopy_copied;
        self.gro_receives += other.gro_receives;
        self.gro_refused += other.gro_refused;
        self.recv_truncated += other.recv_truncated;
        self.recv_bad_address += other.recv_bad_address;
        self.recv_no_buffers += other.recv_no_buffers;
        self.recv_rearms += other.recv_rearms;
        self.recv_errors += other.recv_errors;
        self.socket_drops += other.socket_drops;
        self.send_errors += other.send_errors;
        self.send_would_block += other.send_would_block;
        self.gso_disabled += other.gso_disabled;
        self.watch_errors += other.watch_errors;
        self.timeouts += other.timeouts;
    }
}

/// The sum of the sockets' kernel drop counters (a socket whose counter
/// cannot be read counts 0).
pub(crate) fn socket_drops(fds: impl Iterator<Item = std::os::fd::RawFd>) -> u64 {
    fds.map(|fd| crate::sys::socket_drops(fd).map_or(0, u64::from))
        .sum()
}
