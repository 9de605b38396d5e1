//! Randomness from the operating system, fallible instead of panicking.

use crate::{CryptoError, Result};

/// `N` bytes from the operating system's CSPRNG.
pub fn random_array<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| CryptoError::Rng(e.to_string()))?;
    Ok(out)
}
