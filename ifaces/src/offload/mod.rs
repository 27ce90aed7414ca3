//! Tap offloads in software: the virtio-net header, segmentation of the
//! large frames a tap with TSO/USO reads, and GRO-like coalescing of the
//! frames written to it. Pure, safe and allocation-free per frame (buffers
//! are made once); nothing here does I/O except [`OffloadPath`], which drives
//! an [`crate::L2Interface`].
//!
//! Why: without offloads the kernel runs its whole TCP path once per
//! 1.4 KB frame inside egd's tap `read`/`write` calls; with them one call
//! moves up to 64 KB, and egd cuts and merges frames in user space, where
//! the cost is a copy and a checksum pass.
//!
//! | file | what |
//! |---|---|
//! | [`vnet`] | `struct virtio_net_hdr` parse/emit |
//! | [`Features`] | which offloads a tap accepted |
//! | [`checksum`] | RFC 1071 sums and pseudo-headers |
//! | [`layout`] | where the Ethernet/IP/TCP/UDP headers are |
//! | [`segment()`] | one GSO frame → MTU-sized frames; completing a partial checksum |
//! | [`Coalescer`] | TCP segments (UDP datagrams, with USO) of one flow → one GSO frame |
//! | [`OffloadPath`] | both, wired to an interface (how a daemon uses this) |
//!
//! Not handled (counted drops on the read side, pass-through on the write
//! side): IPv6 extension headers, UFO, more than one VLAN tag; coalescing
//! skips VLAN-tagged frames, and UDP where the tap has no USO.

pub mod checksum;
mod coalesce;
mod features;
pub mod layout;
mod path;
mod segment;
pub mod vnet;

#[cfg(test)]
mod tests;

pub use coalesce::{CoalesceStats, Coalescer, DEFAULT_FLOWS, MAX_UDP_SEGMENTS};
pub use features::Features;
pub use path::{MAX_OFFLOAD_FRAME, OffloadPath, OffloadStats};
pub use segment::{SegmentError, complete_checksum, segment};
pub use vnet::{Gso, VNET_HDR_LEN, VnetHdr};
