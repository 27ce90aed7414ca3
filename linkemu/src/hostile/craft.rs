//! The datagrams of each generator mode. WireGuard's first check is the
//! message type (a little-endian u32: 1–4), so most modes start with a valid
//! type word and are hostile further in: only then do they reach the length
//! checks, the index lookup, the MAC checks and the cookie machinery.

use blake2::digest::{Digest, KeyInit, Mac, consts::U16};
use blake2::{Blake2s256, Blake2sMac};

use crate::rng::SplitMix64;

/// The largest UDP payload over IPv4 (65535 − 20 − 8).
pub const MAX_DATAGRAM: usize = 65_507;

/// Sizes of the WireGuard messages (paper §5.4): initiation, response,
/// cookie reply, and the transport header plus tag (an empty keepalive).
const INITIATION_LEN: usize = 148;
const RESPONSE_LEN: usize = 92;
const COOKIE_REPLY_LEN: usize = 64;
const TRANSPORT_MIN_LEN: usize = 32;
/// The largest transport message egd sends: a 1500-byte MTU's frame plus
/// egd's header, padding and WireGuard's 32 bytes stay below this.
const LARGEST_VALID: usize = 1600;
/// mac1 covers the initiation up to here (paper §5.4.4).
const MAC1_AT: usize = 116;

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Random bytes of a random length up to 1500; three in four start with
    /// a valid type word, so they get past the first check.
    Garbage,
    /// A valid type word, then fewer bytes than that type needs (or fewer
    /// than the type word itself).
    Truncated,
    /// A valid (or random) type word and random bytes beyond any valid
    /// message: mostly 1.6–4 KB (IP fragments on a 1500 MTU), one in 64
    /// up to the largest UDP datagram.
    Oversized,
    /// Handshake initiations with a correct mac1 for the target's public key
    /// and random sender, ephemeral, static and timestamp fields: each one
    /// costs the responder its MAC check and, unless under load, two DH.
    Initiations,
}

/// A mode name [`Mode::from_str`](std::str::FromStr) does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMode(pub String);

impl std::fmt::Display for UnknownMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown mode {:?} (garbage, truncated, oversized, initiations)",
            self.0
        )
    }
}

impl std::error::Error for UnknownMode {}

impl std::str::FromStr for Mode {
    type Err = UnknownMode;
    fn from_str(s: &str) -> Result<Self, UnknownMode> {
        match s {
            "garbage" => Ok(Mode::Garbage),
            "truncated" => Ok(Mode::Truncated),
            "oversized" => Ok(Mode::Oversized),
            "initiations" => Ok(Mode::Initiations),
            _ => Err(UnknownMode(s.to_owned())),
        }
    }
}

/// The mac1 key of a responder: `HASH("mac1----" ‖ public key)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetKey([u8; 32]);

impl TargetKey {
    pub fn from_public(public: &[u8; 32]) -> Self {
        let mut h = Blake2s256::new();
        h.update(b"mac1----");
        h.update(public);
        Self(h.finalize().into())
    }

    /// `MAC(key, input)`: keyed BLAKE2s with a 16-byte output.
    fn mac1(&self, input: &[u8]) -> [u8; 16] {
        let Ok(mut m) = <Blake2sMac<U16> as KeyInit>::new_from_slice(&self.0) else {
            return [0; 16]; // a 32-byte key always fits; no panic in a tool either
        };
        Mac::update(&mut m, input);
        m.finalize().into_bytes().into()
    }
}

/// Makes the datagrams of one mode, seeded so a run repeats.
#[derive(Debug, Clone)]
pub struct Crafter {
    mode: Mode,
    rng: SplitMix64,
}

impl Crafter {
    pub fn new(mode: Mode, seed: u64) -> Self {
        Self {
            mode,
            rng: SplitMix64::new(seed),
        }
    }

    /// Writes the next datagram into `buf` (at least [`MAX_DATAGRAM`]
    /// bytes) and returns its length. `key` is the target's mac1 key;
    /// without one an initiation gets a random mac1.
    pub fn next(&mut self, key: Option<&TargetKey>, buf: &mut [u8]) -> usize {
        let len = match self.mode {
            Mode::Garbage => self.garbage(buf),
            Mode::Truncated => self.truncated(buf),
            Mode::Oversized => self.oversized(buf),
            Mode::Initiations => self.initiation(key, buf),
        };
        len.min(buf.len())
    }

    fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.rng.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }

    /// A valid type word 1–4 at the start of `buf`.
    fn type_word(&mut self, buf: &mut [u8]) -> u32 {
        let ty = 1 + self.below(4) as u32;
        if let Some(word) = buf.get_mut(..4) {
            word.copy_from_slice(&ty.to_le_bytes());
        }
        ty
    }

    fn garbage(&mut self, buf: &mut [u8]) -> usize {
        let len = self.below(1501).min(buf.len());
        self.fill(&mut buf[..len]);
        if self.below(4) != 0 {
            self.type_word(&mut buf[..len]);
        }
        len
    }

    fn truncated(&mut self, buf: &mut [u8]) -> usize {
        let Some(head) = buf.get_mut(..INITIATION_LEN) else {
            return 0;
        };
        self.fill(head);
        let ty = self.type_word(head);
        let min = match ty {
            1 => INITIATION_LEN,
            2 => RESPONSE_LEN,
            3 => COOKIE_REPLY_LEN,
            _ => TRANSPORT_MIN_LEN,
        };
        // Shorter than the type needs; one in eight shorter than the type word.
        if self.below(8) == 0 {
            self.below(4)
        } else {
            4 + self.below(min - 4)
        }
    }

    fn oversized(&mut self, buf: &mut [u8]) -> usize {
        let max = buf.len().min(MAX_DATAGRAM);
        if max <= LARGEST_VALID {
            return 0;
        }
        let cap = if self.below(64) == 0 {
            max
        } else {
            4096.min(max)
        };
        let len = LARGEST_VALID + 1 + self.below(cap - LARGEST_VALID);
        self.fill(&mut buf[..len]);
        if self.below(8) != 0 {
            self.type_word(&mut buf[..len]);
        }
        len
    }

    fn initiation(&mut self, key: Option<&TargetKey>, buf: &mut [u8]) -> usize {
        let Some(msg) = buf.get_mut(..INITIATION_LEN) else {
            return 0;
        };
        // Sender index, ephemeral, encrypted static and timestamp: random.
        self.fill(msg);
        msg[..4].copy_from_slice(&1u32.to_le_bytes());
        let mac1 = key.map_or_else(
            || {
                let mut m = [0u8; 16];
                self.fill(&mut m);
                m
            },
            |k| k.mac1(&msg[..MAC1_AT]),
        );
        msg[MAC1_AT..MAC1_AT + 16].copy_from_slice(&mac1);
        // No cookie: mac2 is zero, as from a sender that has none.
        msg[MAC1_AT + 16..INITIATION_LEN].fill(0);
        INITIATION_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(d: &[u8]) -> Option<u32> {
        d.get(..4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
    }

    fn run(mode: Mode, n: usize, key: Option<&TargetKey>) -> Vec<Vec<u8>> {
        let mut c = Crafter::new(mode, 42);
        let mut buf = vec![0u8; MAX_DATAGRAM];
        (0..n)
            .map(|_| {
                let len = c.next(key, &mut buf);
                buf[..len].to_vec()
            })
            .collect()
    }

    #[test]
    fn truncated_datagrams_are_shorter_than_their_type_allows() {
        for d in run(Mode::Truncated, 2000, None) {
            let min = match ty(&d) {
                None => continue,
                Some(1) => INITIATION_LEN,
                Some(2) => RESPONSE_LEN,
                Some(3) => COOKIE_REPLY_LEN,
                Some(4) => TRANSPORT_MIN_LEN,
                Some(t) => panic!("type {t}"),
            };
            assert!(d.len() < min, "{} bytes of type {:?}", d.len(), ty(&d));
        }
    }

    #[test]
    fn oversized_datagrams_exceed_every_valid_message_and_fit_udp() {
        let all = run(Mode::Oversized, 2000, None);
        assert!(
            all.iter()
                .all(|d| d.len() > LARGEST_VALID && d.len() <= MAX_DATAGRAM)
        );
        assert!(all.iter().any(|d| d.len() > 4096), "some are huge");
    }

    #[test]
    fn garbage_is_mostly_typed_and_of_many_lengths() {
        let all = run(Mode::Garbage, 2000, None);
        let typed = all
            .iter()
            .filter(|d| ty(d).is_some_and(|t| (1..=4).contains(&t)))
            .count();
        assert!((1300..1700).contains(&typed), "{typed}");
        assert!(all.iter().any(|d| d.len() < 4));
        assert!(all.iter().all(|d| d.len() <= 1500));
    }

    #[test]
    fn initiations_carry_the_targets_mac1_and_random_fields() {
        let key = TargetKey::from_public(&[9; 32]);
        let all = run(Mode::Initiations, 3, Some(&key));
        for d in &all {
            assert_eq!((d.len(), ty(d)), (INITIATION_LEN, Some(1)));
            assert_eq!(d[MAC1_AT..MAC1_AT + 16], key.mac1(&d[..MAC1_AT]));
            assert_eq!(d[MAC1_AT + 16..], [0; 16]);
        }
        assert_ne!(all[0][4..MAC1_AT], all[1][4..MAC1_AT]);
    }
}
