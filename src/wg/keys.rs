//! WireGuard key material: the three 32-byte key types and their text form
//! (standard base64, as in `wg` and the config files), and the Curve25519
//! operations on them. `egd genkey` / `egd pubkey` are byte-for-byte
//! compatible with `wg genkey` / `wg pubkey`.
//!
//! Pure: the caller supplies the 32 random bytes for a new key.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use x25519_dalek::{PublicKey as DalekPublic, StaticSecret};

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident, $secret:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Decodes WireGuard's format: standard base64 of exactly 32 bytes.
            pub fn parse(text: &str) -> Result<Self, KeyError> {
                decode_key(text).map(Self)
            }

            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// WireGuard's base64 text form.
            pub fn to_base64(&self) -> String {
                BASE64.encode(self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if $secret {
                    write!(f, "{}(<redacted>)", stringify!($name))
                } else {
                    write!(f, "{}({})", stringify!($name), self.to_base64())
                }
            }
        }
    };
}

key_type!(
    /// A Curve25519 public key.
    PublicKey,
    false
);
key_type!(
    /// A Curve25519 private key. `Debug` never shows it.
    PrivateKey,
    true
);
key_type!(
    /// A WireGuard pre-shared key. `Debug` never shows it.
    PresharedKey,
    true
);

/// Why a key's text form was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not valid base64 ({0})")]
    Base64(base64::DecodeError),
    #[error("key must be 32 bytes, got {0}")]
    Length(usize),
}

fn decode_key(text: &str) -> Result<[u8; 32], KeyError> {
    let bytes = BASE64.decode(text.trim()).map_err(KeyError::Base64)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Length(bytes.len()))
}

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
    fn keys() {
        let k = PublicKey::parse("8RSl6sMj1jjkHt/OO+hOKpaxvo1ISaqc6eMXx7jheRY=").unwrap();
        assert_eq!(
            k.to_base64(),
            "8RSl6sMj1jjkHt/OO+hOKpaxvo1ISaqc6eMXx7jheRY="
        );
        assert!(
            PublicKey::parse("not base64!")
                .unwrap_err()
                .to_string()
                .contains("base64")
        );
        assert!(
            PublicKey::parse("AAAA")
                .unwrap_err()
                .to_string()
                .contains("32 bytes, got 3")
        );
        let secret = PrivateKey::from_bytes([7; 32]);
        assert_eq!(format!("{secret:?}"), "PrivateKey(<redacted>)");
    }

    #[test]
    fn generated_keys_are_clamped() {
        let k = private_key_from_random([0xff; 32]);
        assert_eq!(k.as_bytes()[0] & 7, 0);
        assert_eq!(k.as_bytes()[31] & 0xc0, 0x40);
    }
}
