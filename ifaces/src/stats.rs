//! Per-endpoint counters: plain numbers, exported by the daemon as metrics.

/// Counters of one endpoint since it was opened. Dropped frames are counted by
/// reason, never logged per frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfaceStats {
    /// Frames handed to the caller by `read_frame`.
    pub rx_frames: u64,
    pub rx_bytes: u64,
    /// Frames taken by `write_frame` (for `dummy`: accepted and discarded).
    pub tx_frames: u64,
    pub tx_bytes: u64,
    /// Failed reads and malformed input (e.g. a `kbdbg` line shorter than two
    /// characters, an empty record).
    pub rx_errors: u64,
    /// Failed writes that were not fatal, and frames too short to write
    /// (under 12 bytes for `kbdbg`/`noL2`, under 14 for a tap): dropped.
    pub tx_errors: u64,
    /// Frames dropped for length: longer than the caller's buffer on read,
    /// longer than the kind can carry on write (65 535 bytes for a record,
    /// EMSGSIZE for a datagram).
    pub dropped_too_long: u64,
    /// Frames dropped because the endpoint could not take them now.
    pub dropped_would_block: u64,
    /// Frames dropped because no peer is connected (or known, for datagrams).
    pub dropped_disconnected: u64,
    /// Stream/seqpacket connections established (accepted or connected).
    pub connections: u64,
    /// Failed connection attempts.
    pub connect_errors: u64,
}

impl IfaceStats {
    /// Adds `other`'s counters to these (several reactor threads' totals).
    pub fn accumulate(&mut self, other: &IfaceStats) {
        self.rx_frames += other.rx_frames;
        self.rx_bytes += other.rx_bytes;
        self.tx_frames += other.tx_frames;
        self.tx_bytes += other.tx_bytes;
        self.rx_errors += other.rx_errors;
        self.tx_errors += other.tx_errors;
        self.dropped_too_long += other.dropped_too_long;
        self.dropped_would_block += other.dropped_would_block;
        self.dropped_disconnected += other.dropped_disconnected;
        self.connections += other.connections;
        self.connect_errors += other.connect_errors;
    }
}

impl IfaceStats {
    pub(crate) fn rx(&mut self, len: usize) {
        self.rx_frames += 1;
        self.rx_bytes += len as u64;
    }

    pub(crate) fn tx(&mut self, len: usize) {
        self.tx_frames += 1;
        self.tx_bytes += len as u64;
    }
}
