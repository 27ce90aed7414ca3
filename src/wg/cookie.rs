//! MAC1, MAC2 and cookie replies (paper §5.4.4, §5.4.7).
//!
//! Two sides, two types:
//! - [`CookieChecker`] is ours as a *receiver* of handshake messages: it
//!   checks mac1 (keyed with our public key, so only someone who knows it can
//!   make us do DH work), checks mac2 against the cookie we would give the
//!   sender's address, and writes cookie replies. Its secret is random and
//!   replaced every [`COOKIE_SECRET_MAX_AGE`].
//! - [`CookieJar`] is kept per peer as a *sender*: it stamps mac1 (keyed with
//!   the peer's public key) and, while a cookie from that peer is fresh, mac2;
//!   it remembers the last mac1 sent, because a cookie reply is encrypted
//!   with that mac1 as associated data and only one reply per mac1 is taken.
//!
//! Cookie = `MAC(secret, source IP ‖ source port)`, port big-endian as the
//! kernel does (`cookie.c: make_cookie`).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use rand_core::RngCore;

use super::constants::{COOKIE_SECRET_LATENCY, COOKIE_SECRET_MAX_AGE, LABEL_COOKIE, LABEL_MAC1};
use super::kdf::{hash, mac, mac_eq};
use crate::wire::wg::{CookieReply, HandshakeMacs};

/// The receiving side: validates MACs on handshake messages sent to us and
/// answers with cookie replies when under load.
pub struct CookieChecker {
    mac1_key: [u8; 32],
    cookie_key: [u8; 32],
    secret: [u8; 32],
    secret_born: Option<Instant>,
}

impl std::fmt::Debug for CookieChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieChecker").finish_non_exhaustive()
    }
}

/// What the MACs of a received handshake message say (kernel `cookie.c: cookie_mac_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacState {
    /// mac1 is wrong: not meant for us, drop without any work.
    Invalid,
    /// mac1 is right, mac2 is absent or wrong.
    ValidMac1,
    /// Both are right: the sender proved it receives at its source address.
    ValidWithCookie,
}

impl CookieChecker {
    /// `own_public` is our static public key.
    pub fn new(own_public: &[u8; 32]) -> Self {
        Self {
            mac1_key: hash(&[LABEL_MAC1, own_public]),
            cookie_key: hash(&[LABEL_COOKIE, own_public]),
            secret: [0; 32],
            secret_born: None,
        }
    }

    /// Checks mac1 always and mac2 only if `check_cookie` (under load).
    pub fn validate(
        &mut self,
        msg: &impl HandshakeMacs,
        check_cookie: bool,
        from: SocketAddr,
        now: Instant,
        rng: &mut impl RngCore,
    ) -> MacState {
        let expected = mac(&self.mac1_key, &[msg.mac1_input()]);
        if !mac_eq(&expected, &msg.mac1()) {
            return MacState::Invalid;
        }
        if !check_cookie {
            return MacState::ValidMac1;
        }
        let cookie = self.cookie_for(from, now, rng);
        let expected = mac(&cookie, &[msg.mac2_input()]);
        if mac_eq(&expected, &msg.mac2()) {
            MacState::ValidWithCookie
        } else {
            MacState::ValidMac1
        }
    }

    /// Writes a cookie reply to `msg` (whose sender index is `sender`) into
    /// `out` and returns its length (64).
    pub fn write_reply(
        &mut self,
        msg: &impl HandshakeMacs,
        sender: u32,
        from: SocketAddr,
        now: Instant,
        rng: &mut impl RngCore,
        out: &mut [u8],
    ) -> Option<usize> {
        let cookie = self.cookie_for(from, now, rng);
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut nonce);
        let mut sealed = [0u8; 32];
        sealed[..16].copy_from_slice(&cookie);
        let cipher = XChaCha20Poly1305::new((&self.cookie_key).into());
        let tag = cipher
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), &msg.mac1(), &mut sealed[..16])
            .ok()?;
        sealed[16..].copy_from_slice(&tag);
        CookieReply::emit(out, sender, &nonce, &sealed).ok()
    }

    /// `MAC(secret, address)`, renewing the secret first if it is too old.
    fn cookie_for(&mut self, from: SocketAddr, now: Instant, rng: &mut impl RngCore) -> [u8; 16] {
        let stale = self
            .secret_born
            .is_none_or(|born| now.saturating_duration_since(born) >= COOKIE_SECRET_MAX_AGE);
        if stale {
            rng.fill_bytes(&mut self.secret);
            self.secret_born = Some(now);
        }
        let port = from.port().to_be_bytes();
        match from.ip() {
            IpAddr::V4(ip) => mac(&self.secret, &[&ip.octets(), &port]),
            IpAddr::V6(ip) => mac(&self.secret, &[&ip.octets(), &port]),
        }
    }
}

/// The sending side, one per peer: stamps our messages to that peer and
/// keeps the cookie it gave us.
pub struct CookieJar {
    mac1_key: [u8; 32],
    cookie_key: [u8; 32],
    /// The mac1 of our last handshake message to the peer, until a cookie reply used it.
    last_mac1: Option<[u8; 16]>,
    cookie: Option<([u8; 16], Instant)>,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieJar")
            .field("has_cookie", &self.cookie.is_some())
            .finish_non_exhaustive()
    }
}

impl CookieJar {
    /// `peer_public` is the peer's static public key.
    pub fn new(peer_public: &[u8; 32]) -> Self {
        Self {
            mac1_key: hash(&[LABEL_MAC1, peer_public]),
            cookie_key: hash(&[LABEL_COOKIE, peer_public]),
            last_mac1: None,
            cookie: None,
        }
    }

    /// Computes mac1 and mac2 for a handshake message whose MAC fields are
    /// zero; the caller writes them with the view's `set_mac1`/`set_mac2`.
    pub fn macs(&mut self, msg: &impl HandshakeMacs, now: Instant) -> ([u8; 16], [u8; 16]) {
        let mac1 = mac(&self.mac1_key, &[msg.mac1_input()]);
        self.last_mac1 = Some(mac1);
        let mac2 = match self.cookie {
            Some((cookie, received))
                if now.saturating_duration_since(received)
                    < COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY =>
            {
                // mac2 covers mac1, which the caller has not written yet.
                let input = msg.mac2_input();
                let head = &input[..input.len().saturating_sub(16)];
                mac(&cookie, &[head, &mac1])
            }
            _ => [0; 16],
        };
        (mac1, mac2)
    }

    /// Takes the cookie out of a reply to our last message. False if there
    /// was no message waiting for one or the reply does not authenticate.
    pub fn consume_reply<T: AsRef<[u8]>>(&mut self, reply: &CookieReply<T>, now: Instant) -> bool {
        let Some(mac1) = self.last_mac1 else {
            return false;
        };
        let sealed = reply.encrypted_cookie();
        let mut cookie = [0u8; 16];
        cookie.copy_from_slice(&sealed[..16]);
        let tag = Tag::clone_from_slice(&sealed[16..]);
        let cipher = XChaCha20Poly1305::new((&self.cookie_key).into());
        let nonce = reply.nonce();
        if cipher
            .decrypt_in_place_detached(XNonce::from_slice(&nonce), &mac1, &mut cookie, &tag)
            .is_err()
        {
            return false;
        }
        self.cookie = Some((cookie, now));
        self.last_mac1 = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::wg::Initiation;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use std::time::Duration;

    fn base() -> Instant {
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }

    fn stamped(jar: &mut CookieJar, now: Instant, buf: &mut [u8; 148]) {
        let mut m = Initiation::emit(&mut buf[..], 7, &[3; 108]).unwrap();
        let (m1, m2) = jar.macs(&m, now);
        m.set_mac1(&m1);
        m.set_mac2(&m2);
    }

    #[test]
    fn mac1_keyed_by_receiver_public_key() {
        let (t, mut rng) = (base(), ChaCha20Rng::from_seed([1; 32]));
        let from: SocketAddr = "192.0.2.1:51820".parse().unwrap();
        let mut jar = CookieJar::new(&[9; 32]);
        let mut buf = [0u8; 148];
        stamped(&mut jar, t, &mut buf);
        let msg = Initiation::parse(&buf[..]).unwrap();
        assert_eq!(
            CookieChecker::new(&[9; 32]).validate(&msg, false, from, t, &mut rng),
            MacState::ValidMac1
        );
        assert_eq!(
            CookieChecker::new(&[8; 32]).validate(&msg, false, from, t, &mut rng),
            MacState::Invalid
        );
    }

    /// The full cookie dance: no mac2 → reply → jar takes the cookie once →
    /// next message carries a valid mac2 for that address only.
    #[test]
    fn cookie_round_trip() {
        let (t, mut rng) = (base(), ChaCha20Rng::from_seed([2; 32]));
        let from: SocketAddr = "[2001:db8::1]:4000".parse().unwrap();
        let mut checker = CookieChecker::new(&[5; 32]);
        let mut jar = CookieJar::new(&[5; 32]);
        let mut buf = [0u8; 148];
        stamped(&mut jar, t, &mut buf);
        let msg = Initiation::parse(&buf[..]).unwrap();
        assert_eq!(
            checker.validate(&msg, true, from, t, &mut rng),
            MacState::ValidMac1
        );
        let mut reply = [0u8; 64];
        let n = checker
            .write_reply(&msg, 7, from, t, &mut rng, &mut reply)
            .unwrap();
        let reply = CookieReply::parse(&reply[..n]).unwrap();
        assert_eq!(reply.receiver(), 7);
        assert!(jar.consume_reply(&reply, t));
        assert!(!jar.consume_reply(&reply, t), "one reply per mac1");

        let t2 = t + Duration::from_secs(1);
        stamped(&mut jar, t2, &mut buf);
        let msg = Initiation::parse(&buf[..]).unwrap();
        assert_eq!(
            checker.validate(&msg, true, from, t2, &mut rng),
            MacState::ValidWithCookie
        );
        let other: SocketAddr = "[2001:db8::1]:4001".parse().unwrap();
        assert_eq!(
            checker.validate(&msg, true, other, t2, &mut rng),
            MacState::ValidMac1
        );

        // After the secret rotates, the old cookie no longer validates.
        let t3 = t + COOKIE_SECRET_MAX_AGE;
        assert_eq!(
            checker.validate(&msg, true, from, t3, &mut rng),
            MacState::ValidMac1
        );
    }

    #[test]
    fn stale_cookie_is_not_used() {
        let (t, mut rng) = (base(), ChaCha20Rng::from_seed([3; 32]));
        let from: SocketAddr = "192.0.2.1:1".parse().unwrap();
        let mut checker = CookieChecker::new(&[5; 32]);
        let mut jar = CookieJar::new(&[5; 32]);
        let mut buf = [0u8; 148];
        stamped(&mut jar, t, &mut buf);
        let msg = Initiation::parse(&buf[..]).unwrap();
        let mut reply = [0u8; 64];
        let n = checker
            .write_reply(&msg, 7, from, t, &mut rng, &mut reply)
            .unwrap();
        assert!(jar.consume_reply(&CookieReply::parse(&reply[..n]).unwrap(), t));
        let later = t + COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY;
        stamped(&mut jar, later, &mut buf);
        assert_eq!(Initiation::parse(&buf[..]).unwrap().mac2(), [0; 16]);
    }

    #[test]
    fn forged_reply_rejected() {
        let t = base();
        let mut jar = CookieJar::new(&[5; 32]);
        let mut buf = [0u8; 148];
        stamped(&mut jar, t, &mut buf);
        let mut reply = [0u8; 64];
        let n = CookieReply::emit(&mut reply, 7, &[1; 24], &[2; 32]).unwrap();
        assert!(!jar.consume_reply(&CookieReply::parse(&reply[..n]).unwrap(), t));
    }
}
