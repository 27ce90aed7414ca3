//! The WireGuard handshake: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (paper §5.4)
//!
//! ```text
//! IKpsk2:
//!   <- s                      responder's static key is known in advance
//!   ...
//!   -> e, es, s, ss           initiation: ephemeral, encrypted static, encrypted TAI64N
//!   <- e, ee, se, psk         response:   ephemeral, encrypted empty payload
//! ```
//!
//! The protocol name is WireGuard's construction string and the prologue its
//! identifier ([`CONSTRUCTION`], [`IDENTIFIER`]); with those, `snow` computes
//! exactly WireGuard's chaining key and hash. The pre-shared key sits at
//! position 2 and is all zeros when the peers have none (paper §5.4.3).
//!
//! How to drive it:
//! - initiator: [`Initiation::start`] writes the 108-byte Noise part of a
//!   type-1 message; keep the [`Initiation`] until the response, then
//!   [`Initiation::finish`] gives the transport keys;
//! - responder: [`ReceivedInitiation::read`] decrypts the peer's static key
//!   and timestamp (which tell who it is and whether it is fresh), then
//!   [`ReceivedInitiation::respond`] with that peer's PSK writes the 48-byte
//!   Noise part of the type-2 message and gives the keys.
//!
//! Determinism: `snow` draws ephemeral keys from the resolver's RNG. Ours is
//! a ChaCha20 stream from a seed the caller passes per handshake (taken from
//! `Wg`'s own seeded CSPRNG); DH, hash and cipher come from snow's ring and
//! default resolvers. The handshake path allocates (snow boxes its
//! primitives); the transport path does not use this module.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use snow::params::{CipherChoice, DHChoice, HashChoice, NoiseParams};
use snow::resolvers::{CryptoResolver, DefaultResolver, FallbackResolver, RingResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use snow::{Builder, HandshakeState};
use zeroize::Zeroize;

use super::constants::{CONSTRUCTION, IDENTIFIER, PSK_POSITION};
use super::tai64n::Tai64n;
use crate::wire::wg::field;

/// Why a handshake message was not accepted. Deliberately coarse: the
/// caller only counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// A MAC (AEAD tag) did not verify: wrong keys, wrong PSK, or forged bytes.
    Decrypt,
    /// Our own inputs were unusable (e.g. a malformed key); should not happen.
    Internal,
}

/// Transport keys from one handshake, from our point of view; erased when dropped.
pub struct SessionKeys {
    pub send: [u8; 32],
    pub recv: [u8; 32],
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.send.zeroize();
        self.recv.zeroize();
    }
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

/// The parsed protocol name, made once and cloned per handshake.
pub fn params() -> Result<NoiseParams, HandshakeError> {
    CONSTRUCTION.parse().map_err(|_| HandshakeError::Internal)
}

/// A resolver whose RNG is a ChaCha20 stream from `seed`; everything else
/// falls through to snow's ring resolver, then its default (BLAKE2s, X25519).
struct SeededResolver {
    seed: [u8; 32],
}

struct SeededRandom(ChaCha20Rng);

impl Random for SeededRandom {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoResolver for SeededResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(SeededRandom(ChaCha20Rng::from_seed(self.seed))))
    }
    fn resolve_dh(&self, _: &DHChoice) -> Option<Box<dyn Dh>> {
        None
    }
    fn resolve_hash(&self, _: &HashChoice) -> Option<Box<dyn Hash>> {
        None
    }
    fn resolve_cipher(&self, _: &CipherChoice) -> Option<Box<dyn Cipher>> {
        None
    }
}

fn builder(params: &NoiseParams, rng_seed: [u8; 32]) -> Builder<'static> {
    let fallback = FallbackResolver::new(Box::new(RingResolver), Box::new(DefaultResolver));
    let resolver = FallbackResolver::new(
        Box::new(SeededResolver { seed: rng_seed }),
        Box::new(fallback),
    );
    Builder::with_resolver(params.clone(), Box::new(resolver))
}

fn internal<E>(_: E) -> HandshakeError {
    HandshakeError::Internal
}

fn split(state: &mut HandshakeState, initiator: bool) -> SessionKeys {
    let (mut k1, mut k2) = state.dangerously_get_raw_split();
    // k1 carries initiator → responder (Noise `Split()`, paper §5.4.5).
    let keys = if initiator {
        SessionKeys { send: k1, recv: k2 }
    } else {
        SessionKeys { send: k2, recv: k1 }
    };
    k1.zeroize();
    k2.zeroize();
    keys
}

/// Our initiation in flight, waiting for the response.
pub struct Initiation {
    state: HandshakeState,
}

impl std::fmt::Debug for Initiation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Initiation(..)")
    }
}

impl Initiation {
    /// Writes `e, es, s, ss` with `timestamp` as payload into `noise_out`
    /// (108 bytes: the initiation's ephemeral ‖ static ‖ timestamp fields).
    pub fn start(
        params: &NoiseParams,
        local_private: &[u8; 32],
        remote_public: &[u8; 32],
        psk: &[u8; 32],
        timestamp: Tai64n,
        rng_seed: [u8; 32],
        noise_out: &mut [u8; field::initiation::NOISE.end - field::initiation::NOISE.start],
    ) -> Result<Self, HandshakeError> {
        let mut state = builder(params, rng_seed)
            .local_private_key(local_private)
            .and_then(|b| b.remote_public_key(remote_public))
            .and_then(|b| b.prologue(IDENTIFIER))
            .and_then(|b| b.psk(PSK_POSITION as u8, psk))
            .and_then(|b| b.build_initiator())
            .map_err(internal)?;
        let n = state
            .write_message(timestamp.as_bytes(), noise_out)
            .map_err(internal)?;
        if n != noise_out.len() {
            return Err(HandshakeError::Internal);
        }
        Ok(Self { state })
    }

    /// Reads the response's `e, ee, se, psk` (48 bytes) and derives the keys.
    /// On failure the state is unchanged (snow restores its checkpoint), so a
    /// forged response cannot cancel our handshake.
    pub fn finish(&mut self, noise: &[u8]) -> Result<SessionKeys, HandshakeError> {
        let mut payload = [0u8; 0];
        let n = self
            .state
            .read_message(noise, &mut payload)
            .map_err(|_| HandshakeError::Decrypt)?;
        if n != 0 || !self.state.is_handshake_finished() {
            return Err(HandshakeError::Decrypt);
        }
        Ok(split(&mut self.state, true))
    }
}

/// A peer's initiation that authenticated against our static key.
pub struct ReceivedInitiation {
    state: HandshakeState,
    /// The initiator's static public key: who this is.
    pub remote_static: [u8; 32],
    /// When the initiator says it sent this.
    pub timestamp: Tai64n,
}

impl std::fmt::Debug for ReceivedInitiation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedInitiation").finish_non_exhaustive()
    }
}

impl ReceivedInitiation {
    /// Reads `e, es, s, ss` (108 bytes). `rng_seed` feeds the ephemeral key
    /// of our response.
    pub fn read(
        params: &NoiseParams,
        local_private: &[u8; 32],
        noise: &[u8],
        rng_seed: [u8; 32],
    ) -> Result<Self, HandshakeError> {
        let mut state = builder(params, rng_seed)
            .local_private_key(local_private)
            .and_then(|b| b.prologue(IDENTIFIER))
            .and_then(|b| b.build_responder())
            .map_err(internal)?;
        let mut payload = [0u8; 12];
        let n = state
            .read_message(noise, &mut payload)
            .map_err(|_| HandshakeError::Decrypt)?;
        if n != payload.len() {
            return Err(HandshakeError::Decrypt);
        }
        let remote_static: [u8; 32] = state
            .get_remote_static()
            .and_then(|s| s.try_into().ok())
            .ok_or(HandshakeError::Decrypt)?;
        Ok(Self {
            state,
            remote_static,
            timestamp: Tai64n::from_bytes(payload),
        })
    }

    /// Writes `e, ee, se, psk` with an empty payload into `noise_out`
    /// (48 bytes) and derives the keys. `psk` is the initiator's, now that we
    /// know who it is.
    pub fn respond(
        mut self,
        psk: &[u8; 32],
        noise_out: &mut [u8; field::response::NOISE.end - field::response::NOISE.start],
    ) -> Result<SessionKeys, HandshakeError> {
        self.state.set_psk(PSK_POSITION, psk).map_err(internal)?;
        let n = self.state.write_message(&[], noise_out).map_err(internal)?;
        if n != noise_out.len() || !self.state.is_handshake_finished() {
            return Err(HandshakeError::Internal);
        }
        Ok(split(&mut self.state, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wg::PrivateKey;
    use crate::wg::keys::public_key;
    use std::time::Duration;

    fn key(b: u8) -> ([u8; 32], [u8; 32]) {
        let private = crate::wg::keys::private_key_from_random([b; 32]);
        (
            *private.as_bytes(),
            *public_key(&PrivateKey::from_bytes(*private.as_bytes())).as_bytes(),
        )
    }

    fn handshake(
        psk_i: [u8; 32],
        psk_r: [u8; 32],
        seed: u8,
    ) -> Result<(SessionKeys, SessionKeys, [u8; 108]), HandshakeError> {
        let p = params()?;
        let (ip, ipub) = key(1);
        let (rp, rpub) = key(2);
        let ts = Tai64n::from_unix(Duration::from_secs(1_700_000_000));
        let mut m1 = [0u8; 108];
        let init = Initiation::start(&p, &ip, &rpub, &psk_i, ts, [seed; 32], &mut m1)?;
        let got = ReceivedInitiation::read(&p, &rp, &m1, [seed + 1; 32])?;
        assert_eq!(got.remote_static, ipub);
        assert_eq!(got.timestamp, ts);
        let mut m2 = [0u8; 48];
        let rk = got.respond(&psk_r, &mut m2)?;
        let mut init = init;
        let ik = init.finish(&m2)?;
        Ok((ik, rk, m1))
    }

    #[test]
    fn keys_agree_and_cross() {
        let (ik, rk, _) = handshake([0; 32], [0; 32], 3).unwrap();
        assert_eq!(ik.send, rk.recv);
        assert_eq!(ik.recv, rk.send);
        assert_ne!(ik.send, ik.recv);
    }

    #[test]
    fn same_seed_same_bytes() {
        let (_, _, a) = handshake([7; 32], [7; 32], 3).unwrap();
        let (_, _, b) = handshake([7; 32], [7; 32], 3).unwrap();
        let (_, _, c) = handshake([7; 32], [7; 32], 4).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn psk_mismatch_fails_at_initiator() {
        assert_eq!(
            handshake([1; 32], [2; 32], 3).err(),
            Some(HandshakeError::Decrypt)
        );
    }

    #[test]
    fn wrong_responder_key_fails_to_read() {
        let p = params().unwrap();
        let (ip, _) = key(1);
        let (_, rpub) = key(2);
        let (other, _) = key(3);
        let mut m1 = [0u8; 108];
        Initiation::start(
            &p,
            &ip,
            &rpub,
            &[0; 32],
            Tai64n::default(),
            [0; 32],
            &mut m1,
        )
        .unwrap();
        assert_eq!(
            ReceivedInitiation::read(&p, &other, &m1, [0; 32]).err(),
            Some(HandshakeError::Decrypt)
        );
    }
}
