//! The layout a multishot `RecvMsg` writes into each provided buffer
//! (`struct io_uring_recvmsg_out`, then the name field, the control field and
//! the payload). We parse it ourselves rather than with
//! `io_uring::types::RecvMsgOut` because that type only lends `&[u8]` and the
//! caller decrypts in place (`&mut`).

use crate::sockaddr::{self, NAME_LEN};
use std::net::SocketAddr;
use std::ops::Range;

/// `sizeof(struct io_uring_recvmsg_out)`: namelen, controllen, payloadlen,
/// flags, all u32.
pub(crate) const HEADER_LEN: usize = 16;
/// Room for the `UDP_GRO` control message (the segment size of a coalesced
/// receive). Reserved in every buffer, also when GRO is off (32 bytes).
pub(crate) const CONTROL_LEN: usize = crate::gro::CONTROL_LEN;
/// Where the payload starts in every buffer.
pub(crate) const PAYLOAD_OFFSET: usize = HEADER_LEN + NAME_LEN + CONTROL_LEN;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Datagram {
        from: SocketAddr,
        payload: Range<usize>,
        /// `UDP_GRO` segment size: the payload holds several datagrams.
        segment: Option<usize>,
    },
    /// Longer than the buffer: dropped.
    Truncated,
    /// Sender address missing, truncated or not IP.
    BadAddress,
}

/// Parse the first `filled` bytes of a buffer (the completion's result).
pub(crate) fn parse(buf: &[u8], filled: usize) -> Parsed {
    let buf = &buf[..filled.min(buf.len())];
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(buf.get(at..at + 4)?.try_into().ok()?))
    };
    let (Some(namelen), Some(controllen), Some(payloadlen), Some(flags)) =
        (word(0), word(4), word(8), word(12))
    else {
        return Parsed::Truncated;
    };
    if flags & (libc::MSG_TRUNC as u32) != 0 {
        return Parsed::Truncated;
    }
    let name_len = (namelen as usize).min(NAME_LEN);
    let Some(from) = buf
        .get(HEADER_LEN..HEADER_LEN + name_len)
        .and_then(sockaddr::parse)
    else {
        return Parsed::BadAddress;
    };
    let payload = PAYLOAD_OFFSET..PAYLOAD_OFFSET + payloadlen as usize;
    if payload.end > buf.len() {
        return Parsed::Truncated;
    }
    let control_start = HEADER_LEN + NAME_LEN;
    let control_len = (controllen as usize).min(CONTROL_LEN);
    let segment = buf
        .get(control_start..control_start + control_len)
        .and_then(crate::gro::segment_size);
    Parsed::Datagram {
        from,
        payload,
        segment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockaddr::RawSockAddr;

    fn buffer(from: SocketAddr, payload: &[u8], flags: u32) -> Vec<u8> {
        let (raw, len) = RawSockAddr::new(from);
        let mut b = vec![0u8; PAYLOAD_OFFSET];
        b[0..4].copy_from_slice(&len.to_ne_bytes());
        b[8..12].copy_from_slice(&(payload.len() as u32).to_ne_bytes());
        b[12..16].copy_from_slice(&flags.to_ne_bytes());
        // SAFETY: `raw` holds `len` initialised bytes.
        let name =
            unsafe { std::slice::from_raw_parts((&raw const raw).cast::<u8>(), len as usize) };
        b[HEADER_LEN..HEADER_LEN + name.len()].copy_from_slice(name);
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn parses_v4_and_v6() {
        for from in ["127.0.0.1:9", "[::1]:9"] {
            let from: SocketAddr = from.parse().unwrap();
            let b = buffer(from, b"hello", 0);
            let want = Parsed::Datagram {
                from,
                payload: PAYLOAD_OFFSET..PAYLOAD_OFFSET + 5,
                segment: None,
            };
            assert_eq!(parse(&b, b.len()), want);
            assert_eq!(&b[PAYLOAD_OFFSET..], b"hello");
        }
    }

    #[test]
    fn flags_truncation_and_short_buffers() {
        let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let b = buffer(from, b"hello", libc::MSG_TRUNC as u32);
        assert_eq!(parse(&b, b.len()), Parsed::Truncated);
        let b = buffer(from, b"hello", 0);
        assert_eq!(parse(&b, b.len() - 1), Parsed::Truncated);
        assert_eq!(parse(&b, 10), Parsed::Truncated);
        let mut b = buffer(from, b"x", 0);
        b[0..4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(parse(&b, b.len()), Parsed::BadAddress);
    }

    #[test]
    fn reads_the_gro_segment_size() {
        let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut b = buffer(from, &[7; 300], 0);
        // SAFETY: pure size computation.
        let len = unsafe { libc::CMSG_LEN(4) } as usize;
        let at = HEADER_LEN + NAME_LEN;
        b[at..at + 8].copy_from_slice(&len.to_ne_bytes());
        b[at + 8..at + 12].copy_from_slice(&libc::SOL_UDP.to_ne_bytes());
        b[at + 12..at + 16].copy_from_slice(&libc::UDP_GRO.to_ne_bytes());
        b[at + 16..at + 20].copy_from_slice(&100i32.to_ne_bytes());
        // The kernel says how much control it wrote; nothing means none.
        assert!(matches!(
            parse(&b, b.len()),
            Parsed::Datagram { segment: None, .. }
        ));
        b[4..8].copy_from_slice(&(len as u32).to_ne_bytes());
        let want = Parsed::Datagram {
            from,
            payload: PAYLOAD_OFFSET..PAYLOAD_OFFSET + 300,
            segment: Some(100),
        };
        assert_eq!(parse(&b, b.len()), want);
    }
}
