//! WireGuard key material in its text form: `egd genkey` / `egd pubkey` are
//! byte-for-byte compatible with `wg genkey` / `wg pubkey`.
//!
//! Pure: the caller supplies the 32 random bytes for a new key.

use x25519_dalek::{PublicKey as DalekPublic, StaticSecret};

use crate::config::{PrivateKey, PublicKey};

/// A private key from 32 random bytes, clamped as Curve25519 requires (and as
/// `wg genkey` prints it: RFC 7748 §5).
pub fn private_key_from_random(mut bytes: [u8; 32]) -> PrivateKey {
    bytes[0] &= 248;
    bytes[31] = (bytes[31] & 127) | 64;
    PrivateKey::from_bytes(bytes)
}

/// The public key of `private` (X25519 with the base point).
pub fn public_key(private: &PrivateKey) -> PublicKey {
    let secret = StaticSecret::from(*private.as_bytes());
    PublicKey::from_bytes(DalekPublic::from(&secret).to_bytes())
}

/// The X25519 shared secret of `private` and `public` (RFC 7748 §6.1).
pub fn diffie_hellman(private: &PrivateKey, public: &PublicKey) -> [u8; 32] {
    let secret = StaticSecret::from(*private.as_bytes());
    secret
        .diffie_hellman(&DalekPublic::from(*public.as_bytes()))
        .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7748 §6.1 test vector (Alice's key pair).
    #[test]
    fn rfc7748_vector() {
        let hex = |s: &str| -> [u8; 32] {
            let v: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            v.try_into().unwrap()
        };
        let private = PrivateKey::from_bytes(hex(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let public = public_key(&private);
        assert_eq!(
            public.as_bytes(),
            &hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
    }

    #[test]
    fn generated_keys_are_clamped() {
        let k = private_key_from_random([0xff; 32]);
        assert_eq!(k.as_bytes()[0] & 7, 0);
        assert_eq!(k.as_bytes()[31] & 0xc0, 0x40);
    }
}
