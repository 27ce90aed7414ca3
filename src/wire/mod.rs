//! Wire formats: zero-copy views over received bytes plus `emit` for sending.
//!
//! Untrusted bytes enter only through a checked constructor (`parse`), which
//! validates lengths and type once; the accessors can then read fixed field
//! ranges without further checks and never panic.

pub mod wg;
