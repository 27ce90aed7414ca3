//! Helpers shared by the simulated-network tests (tests/sim_*.rs): the
//! virtual clock's origin, short constructors for ids and durations, and
//! the deterministic addresses and keys of the mesh tests.
#![allow(dead_code)] // each test binary uses its own subset

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use egd::NodeId;
use egd::config::PrivateKey;
use egd::keys::private_key_from_random;

#[allow(clippy::disallowed_methods)] // the simulation's origin; only differences matter
pub fn origin() -> Instant {
    Instant::now()
}

pub fn n(v: u16) -> NodeId {
    NodeId::new(v).unwrap()
}

pub fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Node `id`'s underlay address in the mesh tests.
pub fn addr(id: u16) -> SocketAddr {
    SocketAddr::from(([10, 1, (id >> 8) as u8, id as u8], 4000))
}

/// Node `id`'s private key in the mesh tests.
pub fn key(id: u16) -> PrivateKey {
    let mut seed = [0u8; 32];
    seed[..2].copy_from_slice(&id.to_be_bytes());
    seed[2] = 0x5a;
    private_key_from_random(seed)
}
