//! BLAKE2s as WireGuard uses it outside Noise itself (paper §5.4.1):
//! `HASH` is BLAKE2s-256 and `MAC(key, input)` is keyed BLAKE2s with a
//! 16-byte output. Noise's own HKDF runs inside `snow`.

use blake2::digest::{Digest, KeyInit, Mac, consts::U16};
use blake2::{Blake2s256, Blake2sMac};

/// `HASH(parts[0] ‖ parts[1] ‖ …)`.
pub fn hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Blake2s256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `MAC(key, parts[0] ‖ …)`: keyed BLAKE2s-128. `key` is at most 32 bytes
/// (callers pass 32-byte hashes or 16-byte cookies).
pub fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    // Keys longer than 32 bytes are a programming error; an empty MAC state
    // would still give a deterministic, wrong result rather than a panic.
    let Ok(mut m) = <Blake2sMac<U16> as KeyInit>::new_from_slice(key) else {
        return [0; 16];
    };
    for p in parts {
        Mac::update(&mut m, p);
    }
    m.finalize().into_bytes().into()
}

/// Compares two MACs without an early exit, so timing tells nothing about
/// how many leading bytes of a forged MAC were right.
pub fn mac_eq(a: &[u8; 16], b: &[u8; 16]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BLAKE2s-256 of the empty string (RFC 7693 reference implementation).
    #[test]
    fn hash_vector() {
        let h = hash(&[]);
        assert_eq!(
            h[..8],
            [0x69, 0x21, 0x7a, 0x30, 0x79, 0x90, 0x80, 0x94],
            "BLAKE2s-256(\"\") starts 69217a30 79908094"
        );
        assert_eq!(hash(&[b"ab", b"c"]), hash(&[b"abc"]));
    }

    #[test]
    fn mac_depends_on_key_and_input() {
        let a = mac(&[1; 32], &[b"x"]);
        assert_ne!(a, mac(&[2; 32], &[b"x"]));
        assert_ne!(a, mac(&[1; 32], &[b"y"]));
        assert_eq!(mac(&[1; 16], &[b"ab", b"c"]), mac(&[1; 16], &[b"abc"]));
        assert!(mac_eq(&a, &a));
        assert!(!mac_eq(&a, &[0; 16]));
    }
}
