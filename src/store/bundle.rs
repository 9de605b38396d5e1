//! A bundle: the ciphertext of one case in one file, to carry between devices without a network
//! (a USB stick on a home visit). It holds the case's membership ops (signed, no content) and
//! its encrypted chunk envelopes — nothing that can be read without a compartment key.
//!
//! Format: `"MDOB"` ‖ version 1 ‖ case id (16) ‖ u32 LE entry count ‖ entries, each kind (1 = op,
//! 2 = chunk) ‖ u32 LE length ‖ bytes. Decoding is strict and bounded.

use mdo_crypto::CaseId;

/// Magic bytes.
pub const MAGIC: &[u8; 4] = b"MDOB";
/// Format version.
pub const VERSION: u8 = 1;
/// Largest entry (a chunk envelope of the largest payload plus its framing).
pub const MAX_ENTRY: usize = (64 << 20) + (1 << 20);
/// Most entries in one bundle.
pub const MAX_ENTRIES: usize = 1 << 20;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A membership op.
    Op,
    /// A chunk envelope.
    Chunk,
}

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    /// Not a bundle, or damaged.
    #[error("not a readable MDO bundle: {0}")]
    Malformed(String),
}

/// Encodes a bundle.
pub fn encode(case: CaseId, entries: &[(Kind, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&case.0);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (k, b) in entries {
        out.push(match k {
            Kind::Op => 1,
            Kind::Chunk => 2,
        });
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    }
    out
}

/// The entries of a decoded bundle, borrowing from its bytes.
pub type Entries<'a> = Vec<(Kind, &'a [u8])>;

/// Decodes a bundle (structure only; every entry is verified when it is stored).
pub fn decode(bytes: &[u8]) -> Result<(CaseId, Entries<'_>), BundleError> {
    let bad = |s: &str| BundleError::Malformed(s.to_string());
    if bytes.len() < 25 || &bytes[..4] != MAGIC {
        return Err(bad("no MDOB header"));
    }
    if bytes[4] != VERSION {
        return Err(BundleError::Malformed(format!(
            "bundle version {} (this MDO reads {VERSION}); update MDO",
            bytes[4]
        )));
    }
    let mut case = [0u8; 16];
    case.copy_from_slice(&bytes[5..21]);
    let n = u32::from_le_bytes([bytes[21], bytes[22], bytes[23], bytes[24]]) as usize;
    if n > MAX_ENTRIES {
        return Err(bad("too many entries"));
    }
    let mut rest = &bytes[25..];
    let mut out = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        if rest.len() < 5 {
            return Err(bad("truncated entry header"));
        }
        let kind = match rest[0] {
            1 => Kind::Op,
            2 => Kind::Chunk,
            k => return Err(BundleError::Malformed(format!("unknown entry kind {k}"))),
        };
        let len = u32::from_le_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        if len > MAX_ENTRY {
            return Err(bad("entry too large"));
        }
        rest = &rest[5..];
        if rest.len() < len {
            return Err(bad("truncated entry"));
        }
        out.push((kind, &rest[..len]));
        rest = &rest[len..];
    }
    if !rest.is_empty() {
        return Err(bad("trailing bytes after the last entry"));
    }
    Ok((CaseId(case), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let case = CaseId([7; 16]);
        let b = encode(case, &[(Kind::Op, vec![1, 2]), (Kind::Chunk, vec![3; 10])]);
        let (c, e) = decode(&b).unwrap();
        assert_eq!(c, case);
        assert_eq!(
            e,
            vec![(Kind::Op, &[1u8, 2][..]), (Kind::Chunk, &[3u8; 10][..])]
        );
        for cut in 0..b.len() {
            assert!(decode(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = b.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
        let mut kind = b.clone();
        kind[25] = 9;
        assert!(decode(&kind).is_err());
    }
}
