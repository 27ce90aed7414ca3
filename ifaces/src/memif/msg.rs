//! The memif control messages: fixed 128-byte records on a `SOCK_SEQPACKET`
//! unix socket, little-endian, packed (layout of `memif_msg_t` in DPDK's
//! `drivers/net/memif/memif.h`, memif protocol version 2.0). A region's
//! memfd and a ring's eventfd travel beside `ADD_REGION` / `ADD_RING` as
//! `SCM_RIGHTS`.
//!
//! The exchange, client ("slave") ⇄ server ("master"):
//! ```text
//! server → HELLO              limits: versions, ring counts, max log2 ring size
//! client → INIT               version, interface id, mode (ethernet), name
//! client → ADD_REGION × n     shared memory (memfd), sealed against shrinking
//! client → ADD_RING × 2       one ring per direction, with its eventfd
//! client → CONNECT
//! server → CONNECTED
//! either → DISCONNECT         reason; then the socket closes
//! ```
//! The server answers INIT, ADD_REGION and ADD_RING with ACK (DPDK's client
//! sends its next message only after an answer); a client ignores ACKs.

/// Every message is exactly this long (`memif_msg_t` is 128-byte aligned).
pub(crate) const MSG_LEN: usize = 128;
/// `MEMIF_COOKIE`: the first word of every ring, checked at connect.
pub(crate) const COOKIE: u32 = 0x03E3_1F20;
/// memif 2.0: `(major << 8) | minor`.
pub(crate) const VERSION: u16 = 2 << 8;
/// `MEMIF_NAME_SZ`.
pub(crate) const NAME_LEN: usize = 32;
/// `memif_msg_init_t.secret`.
const SECRET_LEN: usize = 24;
/// `memif_msg_disconnect_t.string`.
const REASON_LEN: usize = 96;
/// `MEMIF_INTERFACE_MODE_ETHERNET`.
pub(crate) const MODE_ETHERNET: u8 = 0;
/// `MEMIF_MSG_ADD_RING_FLAG_S2M`: the ring carries client → server frames.
pub(crate) const ADD_RING_FLAG_C2S: u16 = 1;

mod ty {
    pub const ACK: u16 = 1;
    pub const HELLO: u16 = 2;
    pub const INIT: u16 = 3;
    pub const ADD_REGION: u16 = 4;
    pub const ADD_RING: u16 = 5;
    pub const CONNECT: u16 = 6;
    pub const CONNECTED: u16 = 7;
    pub const DISCONNECT: u16 = 8;
}

/// One control message (the fields egd uses; names as in `memif.h`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Msg {
    Ack,
    Hello {
        name: [u8; NAME_LEN],
        min_version: u16,
        max_version: u16,
        max_region: u16,
        /// Highest ring index the server accepts per direction (count − 1).
        max_m2s_ring: u16,
        max_s2m_ring: u16,
        max_log2_ring_size: u8,
    },
    Init {
        version: u16,
        id: u32,
        mode: u8,
        name: [u8; NAME_LEN],
    },
    AddRegion {
        index: u16,
        size: u64,
    },
    AddRing {
        flags: u16,
        index: u16,
        region: u16,
        offset: u32,
        log2_ring_size: u8,
        private_hdr_size: u16,
    },
    Connect {
        if_name: [u8; NAME_LEN],
    },
    Connected {
        if_name: [u8; NAME_LEN],
    },
    Disconnect {
        code: u32,
        reason: [u8; REASON_LEN],
    },
}

impl Msg {
    /// A DISCONNECT with `reason` (truncated to fit).
    pub(crate) fn disconnect(reason: &str) -> Self {
        Msg::Disconnect {
            code: 0,
            reason: fixed(reason),
        }
    }

    pub(crate) fn encode(&self) -> [u8; MSG_LEN] {
        let mut b = [0u8; MSG_LEN];
        let mut w = Writer { b: &mut b, at: 0 };
        match self {
            Msg::Ack => w.u16(ty::ACK),
            Msg::Hello {
                name,
                min_version,
                max_version,
                max_region,
                max_m2s_ring,
                max_s2m_ring,
                max_log2_ring_size,
            } => {
                w.u16(ty::HELLO);
                w.bytes(name);
                w.u16(*min_version);
                w.u16(*max_version);
                w.u16(*max_region);
                w.u16(*max_m2s_ring);
                w.u16(*max_s2m_ring);
                w.bytes(&[*max_log2_ring_size]);
            }
            Msg::Init {
                version,
                id,
                mode,
                name,
            } => {
                w.u16(ty::INIT);
                w.u16(*version);
                w.u32(*id);
                w.bytes(&[*mode]);
                w.bytes(&[0; SECRET_LEN]);
                w.bytes(name);
            }
            Msg::AddRegion { index, size } => {
                w.u16(ty::ADD_REGION);
                w.u16(*index);
                w.bytes(&size.to_le_bytes());
            }
            Msg::AddRing {
                flags,
                index,
                region,
                offset,
                log2_ring_size,
                private_hdr_size,
            } => {
                w.u16(ty::ADD_RING);
                w.u16(*flags);
                w.u16(*index);
                w.u16(*region);
                w.u32(*offset);
                w.bytes(&[*log2_ring_size]);
                w.u16(*private_hdr_size);
            }
            Msg::Connect { if_name } => {
                w.u16(ty::CONNECT);
                w.bytes(if_name);
            }
            Msg::Connected { if_name } => {
                w.u16(ty::CONNECTED);
                w.bytes(if_name);
            }
            Msg::Disconnect { code, reason } => {
                w.u16(ty::DISCONNECT);
                w.u32(*code);
                w.bytes(reason);
            }
        }
        b
    }

    /// Parses one received record; None for a wrong length or unknown type.
    pub(crate) fn decode(b: &[u8]) -> Option<Self> {
        let b: &[u8; MSG_LEN] = b.try_into().ok()?;
        let mut r = Reader { b, at: 0 };
        Some(match r.u16() {
            ty::ACK => Msg::Ack,
            ty::HELLO => Msg::Hello {
                name: r.array(),
                min_version: r.u16(),
                max_version: r.u16(),
                max_region: r.u16(),
                max_m2s_ring: r.u16(),
                max_s2m_ring: r.u16(),
                max_log2_ring_size: r.u8(),
            },
            ty::INIT => {
                let version = r.u16();
                let id = r.u32();
                let mode = r.u8();
                let _secret: [u8; SECRET_LEN] = r.array();
                Msg::Init {
                    version,
                    id,
                    mode,
                    name: r.array(),
                }
            }
            ty::ADD_REGION => Msg::AddRegion {
                index: r.u16(),
                size: u64::from_le_bytes(r.array()),
            },
            ty::ADD_RING => Msg::AddRing {
                flags: r.u16(),
                index: r.u16(),
                region: r.u16(),
                offset: r.u32(),
                log2_ring_size: r.u8(),
                private_hdr_size: r.u16(),
            },
            ty::CONNECT => Msg::Connect { if_name: r.array() },
            ty::CONNECTED => Msg::Connected { if_name: r.array() },
            ty::DISCONNECT => Msg::Disconnect {
                code: r.u32(),
                reason: r.array(),
            },
            _ => return None,
        })
    }
}

/// `text` as a NUL-padded fixed field (truncated; the last byte stays NUL).
pub(crate) fn fixed<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let n = text.len().min(N.saturating_sub(1));
    out[..n].copy_from_slice(&text.as_bytes()[..n]);
    out
}

/// A fixed field up to its first NUL, lossily as text (for log lines).
pub(crate) fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Writes fields in order; the message is 128 bytes and every variant's
/// fields fit in it, so the slice indexing cannot go out of bounds.
struct Writer<'a> {
    b: &'a mut [u8; MSG_LEN],
    at: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, v: &[u8]) {
        self.b[self.at..self.at + v.len()].copy_from_slice(v);
        self.at += v.len();
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
}

/// Reads fields in order; as for [`Writer`], all fields fit in 128 bytes.
struct Reader<'a> {
    b: &'a [u8; MSG_LEN],
    at: usize,
}

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.b[self.at..self.at + N]);
        self.at += N;
        out
    }
    fn u8(&mut self) -> u8 {
        u8::from_le_bytes(self.array())
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offsets from `memif.h` (packed structs after the 2-byte type).
    #[test]
    fn layout_matches_memif_h() {
        let b = Msg::AddRing {
            flags: ADD_RING_FLAG_C2S,
            index: 0x0203,
            region: 0x0405,
            offset: 0x0607_0809,
            log2_ring_size: 10,
            private_hdr_size: 0x0b0c,
        }
        .encode();
        assert_eq!(&b[..14], &[5, 0, 1, 0, 3, 2, 5, 4, 9, 8, 7, 6, 10, 0x0c]);
        assert_eq!(b[14], 0x0b);
        let b = Msg::Init {
            version: VERSION,
            id: 7,
            mode: MODE_ETHERNET,
            name: fixed("egd"),
        }
        .encode();
        // type, version 2.0, id, mode, 24-byte secret, then the name at 33.
        assert_eq!(&b[..9], &[3, 0, 0, 2, 7, 0, 0, 0, 0]);
        assert_eq!(&b[33..36], b"egd");
        let b = Msg::AddRegion {
            index: 1,
            size: 1 << 32,
        }
        .encode();
        assert_eq!(&b[..12], &[4, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        let b = Msg::Hello {
            name: fixed("x"),
            min_version: VERSION,
            max_version: VERSION,
            max_region: 3,
            max_m2s_ring: 0,
            max_s2m_ring: 0,
            max_log2_ring_size: 14,
        }
        .encode();
        assert_eq!(&b[34..45], &[0, 2, 0, 2, 3, 0, 0, 0, 0, 0, 14]);
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let all = [
            Msg::Ack,
            Msg::Init {
                version: VERSION,
                id: 9,
                mode: 0,
                name: fixed("n"),
            },
            Msg::Connect {
                if_name: fixed("a"),
            },
            Msg::Connected {
                if_name: fixed("b"),
            },
            Msg::disconnect("bye"),
            Msg::AddRegion { index: 2, size: 5 },
        ];
        for m in all {
            assert_eq!(Msg::decode(&m.encode()), Some(m));
        }
        assert_eq!(Msg::decode(&[0; 127]), None);
        assert_eq!(Msg::decode(&[0; MSG_LEN]), None, "type NONE");
        assert_eq!(Msg::decode(&[99; MSG_LEN]), None);
        assert_eq!(text(&fixed::<4>("abcdef")), "abc");
    }
}
