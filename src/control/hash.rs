//! FNV-1a over the fields of a state, for the state hashes edges
//! acknowledge. Not cryptographic: it only has to change when the state
//! does, and be the same on every platform.

#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Fnv {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub fn new() -> Self {
        Self(Self::OFFSET)
    }

    pub fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }

    pub fn bool(&mut self, v: bool) {
        self.bytes(&[u8::from(v)]);
    }

    /// Length-prefixed, so that field boundaries count.
    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.bytes(s.as_bytes());
    }

    /// Never 0, which stands for "nothing acknowledged yet".
    pub fn finish_nonzero(self) -> u64 {
        self.0.max(1)
    }
}

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}
