//! The routing header: the first bytes of every decrypted transport payload
//! (docs/system.md#data-plane). It travels inside the WireGuard encryption, so kind and TTL
//! are authenticated — unlike the original, which sent them in clear.
//!
//! Layout (version 1, 10 bytes, multi-byte fields big-endian):
//!
//! | bytes | field   | meaning                                             |
//! |-------|---------|-----------------------------------------------------|
//! | 0     | version | 1                                                   |
//! | 1     | kind    | [`Kind`]: an Ethernet frame or a control message    |
//! | 2     | ttl     | hops left; a relay drops the packet when it hits 0  |
//! | 3     | flags   | reserved, 0 (receivers ignore unknown bits)         |
//! | 4–5   | dst     | destination NodeId (65535 broadcast, 65534 spread, 65533 supernode) |
//! | 6–7   | src     | source NodeId                                       |
//! | 8–9   | len     | length of the body that follows (padding excluded)  |
//!
//! `len` lets a sender pad the plaintext to a multiple of 16 as WireGuard
//! does (an Ethernet frame carries no length of its own).
//!
//! Drive it with [`Header::parse`] on untrusted bytes and [`Header::emit`].

use std::ops::Range;

/// Wire version this code speaks.
pub const VERSION: u8 = 1;
/// Length of the header in bytes.
pub const LEN: usize = 10;

/// Field ranges, for views and tests.
pub mod field {
    use std::ops::Range;
    pub const VERSION: usize = 0;
    pub const KIND: usize = 1;
    pub const TTL: usize = 2;
    pub const FLAGS: usize = 3;
    pub const DST: Range<usize> = 4..6;
    pub const SRC: Range<usize> = 6..8;
    pub const BODY_LEN: Range<usize> = 8..10;
}

/// What the body of a packet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// An Ethernet frame from a node's interface.
    Frame = 0,
    /// Edge → supernode registration.
    Register = 1,
    /// Supernode → edge notice (state changed, shut down, …).
    ServerUpdate = 2,
    /// One-way latency probe to a direct neighbour.
    Ping = 3,
    /// A measured one-way latency, reported onwards.
    Pong = 4,
    /// P2P: ask neighbours for their peer lists.
    QueryPeer = 5,
    /// P2P: one peer's identity and endpoints.
    BroadcastPeer = 6,
    /// P2P: a node's measured one-way latencies toward it, flooded.
    Reports = 7,
}

impl Kind {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Kind::Frame,
            1 => Kind::Register,
            2 => Kind::ServerUpdate,
            3 => Kind::Ping,
            4 => Kind::Pong,
            5 => Kind::QueryPeer,
            6 => Kind::BroadcastPeer,
            7 => Kind::Reports,
            _ => return None,
        })
    }

    /// Name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Frame => "frame",
            Kind::Register => "register",
            Kind::ServerUpdate => "server_update",
            Kind::Ping => "ping",
            Kind::Pong => "pong",
            Kind::QueryPeer => "query_peer",
            Kind::BroadcastPeer => "broadcast_peer",
            Kind::Reports => "reports",
        }
    }
}

/// A decoded routing header. `dst` and `src` are raw u16s because `dst` may
/// be one of the reserved ids (broadcast, spread, supernode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub ttl: u8,
    pub dst: u16,
    pub src: u16,
    pub body_len: u16,
}

/// Why a header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    TooShort,
    UnknownVersion,
    UnknownKind,
    /// `len` says more bytes than the packet has.
    BadLength,
}

impl Header {
    /// Reads a header from untrusted bytes; on success also returns where the
    /// body is within `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<(Header, Range<usize>), HeaderError> {
        let head = bytes.get(..LEN).ok_or(HeaderError::TooShort)?;
        if head[field::VERSION] != VERSION {
            return Err(HeaderError::UnknownVersion);
        }
        let kind = Kind::from_u8(head[field::KIND]).ok_or(HeaderError::UnknownKind)?;
        let be16 = |r: Range<usize>| u16::from_be_bytes([head[r.start], head[r.start + 1]]);
        let header = Header {
            kind,
            ttl: head[field::TTL],
            dst: be16(field::DST),
            src: be16(field::SRC),
            body_len: be16(field::BODY_LEN),
        };
        let body = LEN..LEN + usize::from(header.body_len);
        if body.end > bytes.len() {
            return Err(HeaderError::BadLength);
        }
        Ok((header, body))
    }

    /// Writes the header into the first [`LEN`] bytes of `out`. Returns
    /// `None` if `out` is too short.
    pub fn emit(&self, out: &mut [u8]) -> Option<()> {
        let head = out.get_mut(..LEN)?;
        head[field::VERSION] = VERSION;
        head[field::KIND] = self.kind as u8;
        head[field::TTL] = self.ttl;
        head[field::FLAGS] = 0;
        head[field::DST].copy_from_slice(&self.dst.to_be_bytes());
        head[field::SRC].copy_from_slice(&self.src.to_be_bytes());
        head[field::BODY_LEN].copy_from_slice(&self.body_len.to_be_bytes());
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let h = Header {
            kind: Kind::Pong,
            ttl: 200,
            dst: 65535,
            src: 0x0102,
            body_len: 3,
        };
        let mut buf = [0u8; LEN + 5];
        h.emit(&mut buf).unwrap();
        assert_eq!(&buf[..LEN], &[1, 4, 200, 0, 0xff, 0xff, 1, 2, 0, 3]);
        assert_eq!(Header::parse(&buf), Ok((h, LEN..LEN + 3)));
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(Header::parse(&[1, 0, 0]), Err(HeaderError::TooShort));
        let mut buf = [1, 0, 9, 0, 0, 1, 0, 2, 0, 0];
        buf[0] = 2;
        assert_eq!(Header::parse(&buf), Err(HeaderError::UnknownVersion));
        buf[0] = 1;
        buf[1] = 200;
        assert_eq!(Header::parse(&buf), Err(HeaderError::UnknownKind));
        buf[1] = 0;
        buf[9] = 1;
        assert_eq!(Header::parse(&buf), Err(HeaderError::BadLength));
        let h = Header {
            kind: Kind::Frame,
            ttl: 1,
            dst: 1,
            src: 2,
            body_len: 0,
        };
        assert_eq!(h.emit(&mut [0u8; LEN - 1]), None);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = Header::parse(&bytes);
        }
    }
}
