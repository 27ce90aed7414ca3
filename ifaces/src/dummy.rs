//! `dummy`: a relay-only node's interface. Never readable; every frame
//! written is accepted and discarded (counted as transmitted).

use std::io;
use std::os::fd::RawFd;

use crate::{IfaceStats, L2Interface};

#[derive(Debug)]
pub struct DummyIface {
    name: String,
    stats: IfaceStats,
}

impl DummyIface {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            stats: IfaceStats::default(),
        }
    }
}

impl L2Interface for DummyIface {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_fd(&self) -> Option<RawFd> {
        None
    }

    fn read_frame(&mut self, _buf: &mut [u8]) -> io::Result<Option<usize>> {
        Ok(None)
    }

    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        self.stats.tx(frame.len());
        Ok(())
    }

    fn stats(&self) -> IfaceStats {
        self.stats
    }
}
