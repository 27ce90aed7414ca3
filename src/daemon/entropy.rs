//! Randomness from the operating system, for keys and the core's RNG seed.

/// 32 bytes from the OS's cryptographic random source.
pub fn random_32() -> Result<[u8; 32], getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}
