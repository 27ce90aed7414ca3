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
    /// Sends that carried a `UDP_SEGMENT` cmsg.
    pub gso_batches_sent: u64,
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
