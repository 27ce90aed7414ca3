//! Views over the four WireGuard messages (paper §5.4): handshake initiation
//! (type 1, 148 bytes), handshake response (type 2, 92 bytes), cookie reply
//! (type 3, 64 bytes) and transport data (type 4, a 16-byte header, the
//! ciphertext and a 16-byte tag).
//!
//! Drive it like this: [`message_type`] tells which message a datagram is,
//! then the matching view's `parse` checks the exact length (handshake and
//! cookie messages have fixed sizes, like the kernel's `validate_header_len`)
//! and gives field accessors. `emit` writes a message into a caller buffer.
//! All integers are little-endian; the type is one byte followed by three
//! zero bytes, read as one little-endian `u32` as the kernel does, so a
//! non-zero reserved byte makes the type unknown.

use std::ops::Range;

/// Byte ranges of every field, per message.
pub mod field {
    use std::ops::Range;

    /// A field's position in a message.
    pub type Field = Range<usize>;

    /// Message type (1 byte) and 3 reserved zero bytes, shared by all messages.
    pub const TYPE: Field = 0..4;

    /// Handshake initiation (paper §5.4.2).
    pub mod initiation {
        use super::Field;
        pub const SENDER: Field = 4..8;
        pub const EPHEMERAL: Field = 8..40;
        /// The initiator's static key, AEAD-encrypted (32 + 16 bytes).
        pub const STATIC: Field = 40..88;
        /// The TAI64N timestamp, AEAD-encrypted (12 + 16 bytes).
        pub const TIMESTAMP: Field = 88..116;
        /// What the Noise handshake writes and reads: ephemeral ‖ static ‖ timestamp.
        pub const NOISE: Field = 8..116;
        pub const MAC1: Field = 116..132;
        pub const MAC2: Field = 132..148;
        pub const LEN: usize = 148;
    }

    /// Handshake response (paper §5.4.3).
    pub mod response {
        use super::Field;
        pub const SENDER: Field = 4..8;
        pub const RECEIVER: Field = 8..12;
        pub const EPHEMERAL: Field = 12..44;
        /// The AEAD tag of the empty payload.
        pub const EMPTY: Field = 44..60;
        /// What the Noise handshake writes and reads: ephemeral ‖ empty.
        pub const NOISE: Field = 12..60;
        pub const MAC1: Field = 60..76;
        pub const MAC2: Field = 76..92;
        pub const LEN: usize = 92;
    }

    /// Cookie reply (paper §5.4.7).
    pub mod cookie_reply {
        use super::Field;
        pub const RECEIVER: Field = 4..8;
        pub const NONCE: Field = 8..32;
        /// The 16-byte cookie, XChaCha20-Poly1305-encrypted (16 + 16 bytes).
        pub const COOKIE: Field = 32..64;
        pub const LEN: usize = 64;
    }

    /// Transport data (paper §5.4.6).
    pub mod transport {
        use super::Field;
        pub const RECEIVER: Field = 4..8;
        pub const COUNTER: Field = 8..16;
        pub const HEADER_LEN: usize = 16;
        pub const TAG_LEN: usize = 16;
        /// A keepalive: header and the tag of an empty payload.
        pub const MIN_LEN: usize = HEADER_LEN + TAG_LEN;
    }
}

/// Message type numbers (paper §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Initiation = 1,
    Response = 2,
    CookieReply = 3,
    Transport = 4,
}

/// Why bytes are not a WireGuard message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than the smallest message of its type (or than the type field).
    TooShort,
    /// A handshake or cookie message whose length is not exactly its size.
    BadLength,
    /// The type field is none of 1–4 (reserved bytes included).
    UnknownType,
}

/// The type of any datagram, without checking its length beyond the type field.
pub fn message_type(buf: &[u8]) -> Result<MessageType, WireError> {
    let raw = read_u32(buf, field::TYPE).ok_or(WireError::TooShort)?;
    match raw {
        1 => Ok(MessageType::Initiation),
        2 => Ok(MessageType::Response),
        3 => Ok(MessageType::CookieReply),
        4 => Ok(MessageType::Transport),
        _ => Err(WireError::UnknownType),
    }
}

fn read_u32(buf: &[u8], range: Range<usize>) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(range)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

fn read_u64(buf: &[u8], range: Range<usize>) -> Option<u64> {
    let bytes: [u8; 8] = buf.get(range)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Copies a fixed-size field; a short buffer (impossible after `parse`) reads as zeros.
fn read_array<const N: usize>(buf: &[u8], range: Range<usize>) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = buf.get(range)
        && src.len() == N
    {
        out.copy_from_slice(src);
    }
    out
}

/// Writes `bytes` at `range`; does nothing if the buffer is too short (callers
/// check the length first, this only keeps the writer panic-free).
fn write(buf: &mut [u8], range: Range<usize>, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(range)
        && dst.len() == bytes.len()
    {
        dst.copy_from_slice(bytes);
    }
}

fn write_type(buf: &mut [u8], ty: MessageType) {
    write(buf, field::TYPE, &(ty as u32).to_le_bytes());
}

fn check(buf: &[u8], ty: MessageType, len: usize) -> Result<(), WireError> {
    if message_type(buf)? != ty {
        return Err(WireError::UnknownType);
    }
    if buf.len() < len {
        return Err(WireError::TooShort);
    }
    if buf.len() != len {
        return Err(WireError::BadLength);
    }
    Ok(())
}

/// The two MACs that end both handshake messages (paper §5.4.4): mac1 covers
/// everything before it, mac2 everything before mac2.
pub trait HandshakeMacs {
    /// The whole message.
    fn bytes(&self) -> &[u8];
    /// The bytes covered by mac1.
    fn mac1_input(&self) -> &[u8] {
        let b = self.bytes();
        &b[..b.len().saturating_sub(32)]
    }
    /// The bytes covered by mac2 (everything up to and including mac1).
    fn mac2_input(&self) -> &[u8] {
        let b = self.bytes();
        &b[..b.len().saturating_sub(16)]
    }
    fn mac1(&self) -> [u8; 16] {
        let len = self.bytes().len();
        read_array(self.bytes(), len.saturating_sub(32)..len.saturating_sub(16))
    }
    fn mac2(&self) -> [u8; 16] {
        let len = self.bytes().len();
        read_array(self.bytes(), len.saturating_sub(16)..len)
    }
}

/// Handshake initiation (type 1).
#[derive(Debug, Clone, Copy)]
pub struct Initiation<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> Initiation<T> {
    /// Checks type and exact length of untrusted bytes.
    pub fn parse(buf: T) -> Result<Self, WireError> {
        check(
            buf.as_ref(),
            MessageType::Initiation,
            field::initiation::LEN,
        )?;
        Ok(Self { buf })
    }
    pub fn sender(&self) -> u32 {
        read_u32(self.buf.as_ref(), field::initiation::SENDER).unwrap_or(0)
    }
    pub fn ephemeral(&self) -> [u8; 32] {
        read_array(self.buf.as_ref(), field::initiation::EPHEMERAL)
    }
    /// The Noise message (ephemeral ‖ encrypted static ‖ encrypted timestamp).
    pub fn noise(&self) -> &[u8] {
        &self.buf.as_ref()[field::initiation::NOISE]
    }
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]>> HandshakeMacs for Initiation<T> {
    fn bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }
}

impl<'a> Initiation<&'a mut [u8]> {
    /// Writes an initiation with zero MACs into `buf[..148]`; `noise` is the
    /// 108-byte Noise message. Fails if `buf` or `noise` has the wrong size.
    pub fn emit(buf: &'a mut [u8], sender: u32, noise: &[u8]) -> Result<Self, WireError> {
        let len = field::initiation::LEN;
        if noise.len() != field::initiation::NOISE.len() {
            return Err(WireError::BadLength);
        }
        let buf = buf.get_mut(..len).ok_or(WireError::TooShort)?;
        buf.fill(0);
        write_type(buf, MessageType::Initiation);
        write(buf, field::initiation::SENDER, &sender.to_le_bytes());
        write(buf, field::initiation::NOISE, noise);
        Ok(Self { buf })
    }
    pub fn set_mac1(&mut self, mac: &[u8; 16]) {
        write(self.buf, field::initiation::MAC1, mac);
    }
    pub fn set_mac2(&mut self, mac: &[u8; 16]) {
        write(self.buf, field::initiation::MAC2, mac);
    }
}

/// Handshake response (type 2).
#[derive(Debug, Clone, Copy)]
pub struct Response<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> Response<T> {
    /// Checks type and exact length of untrusted bytes.
    pub fn parse(buf: T) -> Result<Self, WireError> {
        check(buf.as_ref(), MessageType::Response, field::response::LEN)?;
        Ok(Self { buf })
    }
    pub fn sender(&self) -> u32 {
        read_u32(self.buf.as_ref(), field::response::SENDER).unwrap_or(0)
    }
    pub fn receiver(&self) -> u32 {
        read_u32(self.buf.as_ref(), field::response::RECEIVER).unwrap_or(0)
    }
    pub fn ephemeral(&self) -> [u8; 32] {
        read_array(self.buf.as_ref(), field::response::EPHEMERAL)
    }
    /// The Noise message (ephemeral ‖ encrypted empty payload).
    pub fn noise(&self) -> &[u8] {
        &self.buf.as_ref()[field::response::NOISE]
    }
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]>> HandshakeMacs for Response<T> {
    fn bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }
}

impl<'a> Response<&'a mut [u8]> {
    /// Writes a response with zero MACs into `buf[..92]`; `noise` is the
    /// 48-byte Noise message.
    pub fn emit(
        buf: &'a mut [u8],
        sender: u32,
        receiver: u32,
        noise: &[u8],
    ) -> Result<Self, WireError> {
        let len = field::response::LEN;
        if noise.len() != field::response::NOISE.len() {
            return Err(WireError::BadLength);
        }
        let buf = buf.get_mut(..len).ok_or(WireError::TooShort)?;
        buf.fill(0);
        write_type(buf, MessageType::Response);
        write(buf, field::response::SENDER, &sender.to_le_bytes());
        write(buf, field::response::RECEIVER, &receiver.to_le_bytes());
        write(buf, field::response::NOISE, noise);
        Ok(Self { buf })
    }
    pub fn set_mac1(&mut self, mac: &[u8; 16]) {
        write(self.buf, field::response::MAC1, mac);
    }
    pub fn set_mac2(&mut self, mac: &[u8; 16]) {
        write(self.buf, field::response::MAC2, mac);
    }
}

/// Cookie reply (type 3).
#[derive(Debug, Clone, Copy)]
pub struct CookieReply<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> CookieReply<T> {
    /// Checks type and exact length of untrusted bytes.
    pub fn parse(buf: T) -> Result<Self, WireError> {
        check(
            buf.as_ref(),
            MessageType::CookieReply,
            field::cookie_reply::LEN,
        )?;
        Ok(Self { buf })
    }
    pub fn receiver(&self) -> u32 {
        read_u32(self.buf.as_ref(), field::cookie_reply::RECEIVER).unwrap_or(0)
    }
    pub fn nonce(&self) -> [u8; 24] {
        read_array(self.buf.as_ref(), field::cookie_reply::NONCE)
    }
    /// The encrypted cookie and its tag.
    pub fn encrypted_cookie(&self) -> [u8; 32] {
        read_array(self.buf.as_ref(), field::cookie_reply::COOKIE)
    }
}

impl CookieReply<()> {
    /// Writes a cookie reply into `buf[..64]` and returns its length.
    pub fn emit(
        buf: &mut [u8],
        receiver: u32,
        nonce: &[u8; 24],
        encrypted_cookie: &[u8; 32],
    ) -> Result<usize, WireError> {
        let len = field::cookie_reply::LEN;
        let buf = buf.get_mut(..len).ok_or(WireError::TooShort)?;
        buf.fill(0);
        write_type(buf, MessageType::CookieReply);
        write(buf, field::cookie_reply::RECEIVER, &receiver.to_le_bytes());
        write(buf, field::cookie_reply::NONCE, nonce);
        write(buf, field::cookie_reply::COOKIE, encrypted_cookie);
        Ok(len)
    }
}

/// Transport data (type 4): header, ciphertext, tag.
#[derive(Debug, Clone, Copy)]
pub struct Transport<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> Transport<T> {
    /// Checks type and minimum length (header + tag) of untrusted bytes.
    pub fn parse(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        if message_type(b)? != MessageType::Transport {
            return Err(WireError::UnknownType);
        }
        if b.len() < field::transport::MIN_LEN {
            return Err(WireError::TooShort);
        }
        Ok(Self { buf })
    }
    pub fn receiver(&self) -> u32 {
        read_u32(self.buf.as_ref(), field::transport::RECEIVER).unwrap_or(0)
    }
    pub fn counter(&self) -> u64 {
        read_u64(self.buf.as_ref(), field::transport::COUNTER).unwrap_or(0)
    }
    /// Where ciphertext and tag are: from the end of the header to the end.
    pub fn sealed_range(&self) -> Range<usize> {
        field::transport::HEADER_LEN..self.buf.as_ref().len()
    }
    /// Length of the plaintext (ciphertext without the tag).
    pub fn payload_len(&self) -> usize {
        self.buf
            .as_ref()
            .len()
            .saturating_sub(field::transport::MIN_LEN)
    }
}

impl Transport<()> {
    /// Writes the 16-byte transport header into `buf[..16]`.
    pub fn emit_header(buf: &mut [u8], receiver: u32, counter: u64) -> Result<(), WireError> {
        let buf = buf
            .get_mut(..field::transport::HEADER_LEN)
            .ok_or(WireError::TooShort)?;
        write_type(buf, MessageType::Transport);
        write(buf, 1..4, &[0, 0, 0]);
        write(buf, field::transport::RECEIVER, &receiver.to_le_bytes());
        write(buf, field::transport::COUNTER, &counter.to_le_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_tables_are_contiguous_and_sized() {
        use field::*;
        assert_eq!(initiation::SENDER.start, TYPE.end);
        assert_eq!(initiation::EPHEMERAL.start, initiation::SENDER.end);
        assert_eq!(initiation::STATIC.start, initiation::EPHEMERAL.end);
        assert_eq!(initiation::TIMESTAMP.start, initiation::STATIC.end);
        assert_eq!(initiation::MAC1.start, initiation::TIMESTAMP.end);
        assert_eq!(initiation::MAC2.end, initiation::LEN);
        assert_eq!(initiation::NOISE.len(), 32 + 48 + 28);
        assert_eq!(response::MAC2.end, response::LEN);
        assert_eq!(response::NOISE.len(), 32 + 16);
        assert_eq!(cookie_reply::COOKIE.end, cookie_reply::LEN);
        assert_eq!(transport::COUNTER.end, transport::HEADER_LEN);
    }

    #[test]
    fn type_and_length_checks() {
        assert_eq!(message_type(&[]), Err(WireError::TooShort));
        assert_eq!(message_type(&[1, 0, 0]), Err(WireError::TooShort));
        assert_eq!(message_type(&[1, 0, 0, 1]), Err(WireError::UnknownType));
        assert_eq!(message_type(&[5, 0, 0, 0]), Err(WireError::UnknownType));
        let mut buf = [0u8; 148];
        buf[0] = 1;
        assert!(Initiation::parse(&buf[..]).is_ok());
        assert_eq!(
            Initiation::parse(&buf[..147]).err(),
            Some(WireError::TooShort)
        );
        let mut long = [0u8; 149];
        long[0] = 1;
        assert_eq!(
            Initiation::parse(&long[..]).err(),
            Some(WireError::BadLength)
        );
        assert_eq!(
            Response::parse(&buf[..92]).err(),
            Some(WireError::UnknownType)
        );
        let mut t = [0u8; 31];
        t[0] = 4;
        assert_eq!(Transport::parse(&t[..]).err(), Some(WireError::TooShort));
    }

    #[test]
    fn emit_then_parse_round_trips() {
        let mut buf = [0xAAu8; 200];
        let noise: Vec<u8> = (0..108).collect();
        let mut m = Initiation::emit(&mut buf, 0x0102_0304, &noise).unwrap();
        m.set_mac1(&[7; 16]);
        m.set_mac2(&[9; 16]);
        let m = Initiation::parse(&buf[..148]).unwrap();
        assert_eq!(m.sender(), 0x0102_0304);
        assert_eq!(m.noise(), &noise[..]);
        assert_eq!(m.mac1(), [7; 16]);
        assert_eq!(m.mac2(), [9; 16]);
        assert_eq!(m.mac1_input().len(), 116);
        assert_eq!(m.mac2_input().len(), 132);
        assert_eq!(&buf[..4], &[1, 0, 0, 0]);

        let noise: Vec<u8> = (0..48).collect();
        Response::emit(&mut buf, 5, 6, &noise).unwrap();
        let r = Response::parse(&buf[..92]).unwrap();
        assert_eq!((r.sender(), r.receiver()), (5, 6));
        assert_eq!(r.noise(), &noise[..]);

        let len = CookieReply::emit(&mut buf, 8, &[1; 24], &[2; 32]).unwrap();
        let c = CookieReply::parse(&buf[..len]).unwrap();
        assert_eq!(
            (c.receiver(), c.nonce(), c.encrypted_cookie()),
            (8, [1; 24], [2; 32])
        );

        let mut t = [0xFFu8; 40];
        Transport::emit_header(&mut t, 9, u64::MAX - 1).unwrap();
        let t = Transport::parse(&t[..]).unwrap();
        assert_eq!(
            (t.receiver(), t.counter(), t.payload_len()),
            (9, u64::MAX - 1, 8)
        );
        assert_eq!(t.sealed_range(), 16..40);
    }

    #[test]
    fn emit_refuses_short_buffers() {
        let mut small = [0u8; 10];
        assert!(Initiation::emit(&mut small, 1, &[0; 108]).is_err());
        assert!(Initiation::emit(&mut [0u8; 148], 1, &[0; 107]).is_err());
        assert!(Response::emit(&mut small, 1, 2, &[0; 48]).is_err());
        assert!(CookieReply::emit(&mut small, 1, &[0; 24], &[0; 32]).is_err());
        assert!(Transport::emit_header(&mut small, 1, 2).is_err());
    }

    proptest::proptest! {
        /// No view panics on any input, whatever it says about the bytes.
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = message_type(&bytes);
            if let Ok(m) = Initiation::parse(&bytes[..]) {
                let _ = (m.sender(), m.ephemeral(), m.noise().len(), m.mac1(), m.mac2());
            }
            if let Ok(m) = Response::parse(&bytes[..]) {
                let _ = (m.sender(), m.receiver(), m.noise().len(), m.mac1(), m.mac2());
            }
            if let Ok(m) = CookieReply::parse(&bytes[..]) {
                let _ = (m.receiver(), m.nonce(), m.encrypted_cookie());
            }
            if let Ok(m) = Transport::parse(&bytes[..]) {
                let _ = (m.receiver(), m.counter(), m.sealed_range(), m.payload_len());
            }
        }
    }
}
