//! Wire formats: zero-copy views over `&[u8]` with field ranges in a `mod
//! field`, plus `parse` (untrusted bytes, never panics) and `emit`.
//! Untrusted bytes enter only through a checked constructor, which validates
//! lengths and type once; accessors then read fixed field ranges.
//!
//! - [`wg`]: the four WireGuard messages;
//! - [`header`]: the routing header at the start of every decrypted payload;
//! - [`control`]: the bodies of control messages;
//! - [`ethernet`]: the Ethernet header fields the L2 FIB needs.

pub mod control;
pub mod ethernet;
pub mod header;
pub mod wg;
