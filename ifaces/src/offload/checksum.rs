//! The Internet checksum (RFC 1071): a one's-complement sum of big-endian
//! 16-bit words, kept unfolded in a `u64` while summing (end-around carry
//! works on any multiple of 16 bits, since 2^16 ≡ 1 mod 0xffff), folded at
//! the end. Plus the TCP/UDP pseudo-headers (RFC 9293 §3.1, RFC 8200 §8.1).

/// Adds `data` to the running sum `acc`. An odd trailing byte counts as the
/// high byte of a word, so only the last piece of a region may be odd.
pub fn sum(data: &[u8], acc: u64) -> u64 {
    let mut acc = acc;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let (s, carry) = acc.overflowing_add(u64::from_be_bytes(w));
        acc = s + u64::from(carry);
    }
    let rest = chunks.remainder();
    let mut w = [0u8; 8];
    w[..rest.len()].copy_from_slice(rest);
    let (s, carry) = acc.overflowing_add(u64::from_be_bytes(w));
    s + u64::from(carry)
}

/// Folds a running sum to 16 bits (not complemented).
pub fn fold(acc: u64) -> u16 {
    let mut a = (acc >> 32) + (acc & 0xffff_ffff);
    a = (a >> 32) + (a & 0xffff_ffff);
    a = (a >> 16) + (a & 0xffff);
    a = (a >> 16) + (a & 0xffff);
    a = (a >> 16) + (a & 0xffff);
    // At most 16 bits are left after the folds above.
    a as u16
}

/// The checksum field's value for a finished sum: its complement.
pub fn finish(acc: u64) -> u16 {
    !fold(acc)
}

/// The pseudo-header sum for an L4 packet of `len` bytes (header + payload)
/// between `src` and `dst` (4 or 16 bytes each) with protocol `proto`.
pub fn pseudo_header(src: &[u8], dst: &[u8], proto: u8, len: u32) -> u64 {
    let acc = sum(src, 0);
    let acc = sum(dst, acc);
    acc + u64::from(proto) + u64::from(len)
}

#[cfg(test)]
pub(crate) mod reference {
    /// The textbook RFC 1071 loop over 16-bit words, for checking [`super::sum`].
    pub fn checksum(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for pair in data.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).copied().map_or(0, u32::from);
            acc += hi | lo;
            while acc > 0xffff {
                acc = (acc & 0xffff) + (acc >> 16);
            }
        }
        !(acc as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data, 0)), 0xddf2);
        assert_eq!(finish(sum(&data, 0)), !0xddf2);
    }

    #[test]
    fn matches_the_reference_on_all_lengths() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 151 + 7) as u8).collect();
        for len in 0..data.len() {
            assert_eq!(
                finish(sum(&data[..len], 0)),
                reference::checksum(&data[..len]),
                "len {len}"
            );
        }
        let ones = [0xffu8; 64];
        assert_eq!(finish(sum(&ones, 0)), reference::checksum(&ones));
    }
}
