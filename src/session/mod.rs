//! Transport sessions: what one handshake leaves behind and the clocks that
//! decide when to make the next one.
//!
//! - [`keypair`]: the two ring AEAD keys, the send counter and the replay
//!   window of one handshake; seals and opens transport messages in place;
//! - [`replay`]: the RFC 6479 window;
//! - [`timers`]: every timer of paper §6, per peer, as deadlines;
//! - [`constants`]: all protocol constants, with their sources.

pub mod constants;
pub mod crypt;
pub mod keypair;
pub mod replay;
pub mod timers;
