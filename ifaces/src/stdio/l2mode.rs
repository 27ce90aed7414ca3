//! The `L2HeaderMode` conversions of `stdio`, as pure functions.
//!
//! `kbdbg` (keyboard debug), upstream's `Charform2mac` / `Mac2charForm`:
//! - a typed line `DSxxxx\n` becomes a frame with destination MAC from the
//!   character `D`, source MAC from `S`, and bytes 12.. = `xxxx\n` (the rest of
//!   the line, newline included);
//! - character `b` is ff:ff:ff:ff:ff:ff; any other character `c` is
//!   AA:BB:CC:DD:EE:(c − '0'), so `1` is …:01 and, wrapping like upstream, `:`
//!   is …:0a;
//! - a frame is printed as the destination character, the source character
//!   and bytes 12..; a unicast MAC prints as (last byte + '0'), any group MAC
//!   (multicast/broadcast) as `b`. So `b1hello\n` typed on node 1 prints as
//!   `b1hello\n` on the others.
//!
//! `noL2`: input bytes get a 12-byte header (broadcast destination, own MAC as
//! source) in front; output drops the frame's first 12 bytes.

/// Destination + source MAC.
pub const MAC_HEADER_LEN: usize = 12;

const BROADCAST: [u8; 6] = [0xff; 6];

/// A `kbdbg` character as a MAC.
pub fn char_to_mac(c: u8) -> [u8; 6] {
    if c == b'b' {
        BROADCAST
    } else {
        [0xaa, 0xbb, 0xcc, 0xdd, 0xee, c.wrapping_sub(b'0')]
    }
}

/// A MAC as a `kbdbg` character.
pub fn mac_to_char(mac: &[u8; 6]) -> u8 {
    if mac[0] & 1 == 1 {
        b'b'
    } else {
        mac[5].wrapping_add(b'0')
    }
}

/// Why a line or frame could not be converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvertError {
    /// Fewer than the two address characters / 12 header bytes.
    TooShort,
    /// The result does not fit the output buffer.
    TooLong,
}

/// A `kbdbg` line (newline included, if any) into a frame in `out`. The two
/// address characters must come before the newline (upstream took `x\n` as
/// destination `x`, source newline).
pub fn kbdbg_line_to_frame(line: &[u8], out: &mut [u8]) -> Result<usize, ConvertError> {
    let [dst, src, payload @ ..] = line else {
        return Err(ConvertError::TooShort);
    };
    if *dst == b'\n' || *src == b'\n' {
        return Err(ConvertError::TooShort);
    }
    let len = MAC_HEADER_LEN + payload.len();
    let out = out.get_mut(..len).ok_or(ConvertError::TooLong)?;
    out[..6].copy_from_slice(&char_to_mac(*dst));
    out[6..12].copy_from_slice(&char_to_mac(*src));
    out[12..].copy_from_slice(payload);
    Ok(len)
}

/// The two characters a frame prints as in `kbdbg`; the frame's bytes 12..
/// follow them.
pub fn kbdbg_prefix(frame: &[u8]) -> Result<[u8; 2], ConvertError> {
    let (Some(dst), Some(src)) = (frame.first_chunk::<6>(), frame.get(6..12)) else {
        return Err(ConvertError::TooShort);
    };
    let mut s = [0u8; 6];
    s.copy_from_slice(src);
    Ok([mac_to_char(dst), mac_to_char(&s)])
}

/// The `noL2` header put before input bytes.
pub fn no_l2_header(own_mac: [u8; 6]) -> [u8; MAC_HEADER_LEN] {
    let mut h = [0u8; MAC_HEADER_LEN];
    h[..6].copy_from_slice(&BROADCAST);
    h[6..].copy_from_slice(&own_mac);
    h
}

/// What `noL2` prints of a frame.
pub fn no_l2_payload(frame: &[u8]) -> Result<&[u8], ConvertError> {
    frame.get(MAC_HEADER_LEN..).ok_or(ConvertError::TooShort)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_and_macs() {
        let cases: [(u8, [u8; 6]); 5] = [
            (b'b', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            (b'0', [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x00]),
            (b'1', [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01]),
            (b'9', [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x09]),
            (b':', [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0a]),
        ];
        for (c, mac) in cases {
            assert_eq!(char_to_mac(c), mac, "{}", c as char);
            assert_eq!(mac_to_char(&mac), c);
        }
        // Any group MAC prints as b, any unicast by its last byte.
        assert_eq!(mac_to_char(&[0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]), b'b');
        assert_eq!(mac_to_char(&[0x33, 0x33, 0, 0, 0, 1]), b'b');
        assert_eq!(mac_to_char(&[0x02, 0x11, 0x22, 0x33, 0x44, 0x05]), b'5');
    }

    #[test]
    fn kbdbg_lines_to_frames() {
        let mut out = [0u8; 64];
        let n = kbdbg_line_to_frame(b"b1hello\n", &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &[
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst: b
                0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01, // src: 1
                b'h', b'e', b'l', b'l', b'o', b'\n',
            ]
        );
        let n = kbdbg_line_to_frame(b"21x", &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &[
                0xaa, 0xbb, 0xcc, 0xdd, 0xee, 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 1, b'x'
            ]
        );
        // Two characters alone make a frame with an empty body.
        assert_eq!(kbdbg_line_to_frame(b"b1", &mut out), Ok(12));
        assert_eq!(
            kbdbg_line_to_frame(b"b", &mut out),
            Err(ConvertError::TooShort)
        );
        assert_eq!(
            kbdbg_line_to_frame(b"\n", &mut out),
            Err(ConvertError::TooShort)
        );
        assert_eq!(
            kbdbg_line_to_frame(b"b1hello\n", &mut out[..17]),
            Err(ConvertError::TooLong)
        );
        assert_eq!(kbdbg_line_to_frame(b"b1hello\n", &mut out[..18]), Ok(18));
    }

    #[test]
    fn kbdbg_frames_print_as_typed() {
        let mut frame = [0u8; 18];
        kbdbg_line_to_frame(b"b1hello\n", &mut frame).unwrap();
        assert_eq!(kbdbg_prefix(&frame), Ok(*b"b1"));
        let mut printed = kbdbg_prefix(&frame).unwrap().to_vec();
        printed.extend_from_slice(&frame[12..]);
        assert_eq!(printed, b"b1hello\n");
        // A real frame: unicast dst node 5, src an arbitrary unicast MAC ending 0x03.
        let real = [
            0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x05, 0x02, 0, 0, 0, 0, 0x03, 0x08, 0x00,
        ];
        assert_eq!(kbdbg_prefix(&real), Ok(*b"53"));
        assert_eq!(kbdbg_prefix(&real[..11]), Err(ConvertError::TooShort));
    }

    #[test]
    fn no_l2_both_ways() {
        let mac = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x07];
        assert_eq!(
            no_l2_header(mac),
            [
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x07
            ]
        );
        let frame = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, b'h', b'i'];
        assert_eq!(no_l2_payload(&frame), Ok(&b"hi"[..]));
        assert_eq!(no_l2_payload(&frame[..12]), Ok(&b""[..]));
        assert_eq!(no_l2_payload(&frame[..11]), Err(ConvertError::TooShort));
    }
}
