//! Wire formats: zero-copy views over `&[u8]` with field ranges in a `mod
//! field`, plus `parse` (untrusted bytes, never panics) and `emit`.
//!
//! - [`header`]: the routing header at the start of every decrypted payload;
//! - [`control`]: the bodies of control messages;
//! - [`ethernet`]: the Ethernet header fields the L2 FIB needs.

pub mod control;
pub mod ethernet;
pub mod header;
