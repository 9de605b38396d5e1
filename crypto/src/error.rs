//! The one error type of the crate.

/// Everything that can go wrong in `mdo-crypto`. Every variant says what a person (or the code
/// above) can do about it; none carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The input ended before the structure was complete.
    #[error("truncated {what}: needs at least {needed} bytes, got {got}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The input does not start with the expected magic bytes: it is not this kind of MDO data.
    #[error("not an MDO {what} (wrong magic bytes)")]
    BadMagic {
        /// What was expected.
        what: &'static str,
    },
    /// A format version this build cannot read (written by a newer MDO, or corrupt).
    #[error(
        "unsupported {what} format version {found} (this MDO reads version {supported}); update MDO"
    )]
    UnsupportedVersion {
        /// What was being read.
        what: &'static str,
        /// Version found.
        found: u8,
        /// Version this build supports.
        supported: u8,
    },
    /// The structure is malformed (trailing bytes, reserved bits set, lengths out of range …).
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A signature did not verify against the key of the device the data names.
    #[error("bad signature on {what}: it was not signed by the device it names, or it was altered")]
    BadSignature {
        /// What carried the signature.
        what: &'static str,
    },
    /// The envelope is for another case than the one it was opened for.
    #[error("wrong case: expected {expected}, the data belongs to {found}")]
    WrongCase {
        /// The case asked for.
        expected: String,
        /// The case in the data.
        found: String,
    },
    /// The envelope is for another compartment than the one it was opened for.
    #[error("wrong compartment: expected {expected}, the data belongs to {found}")]
    WrongCompartment {
        /// The compartment asked for.
        expected: String,
        /// The compartment in the data.
        found: String,
    },
    /// This device holds no key for that compartment epoch (not entitled, or the key has not
    /// arrived yet).
    #[error(
        "no key for epoch {epoch} of this compartment on this device (not shared with it, or not synced yet)"
    )]
    UnknownEpoch {
        /// The epoch asked for.
        epoch: u32,
    },
    /// Decryption failed although structure and signature were fine: the ciphertext does not
    /// match its authentication tag.
    #[error("decryption failed: the {what} was tampered with or encrypted under another key")]
    Tampered {
        /// What failed to decrypt.
        what: &'static str,
    },
    /// A key recovered through an epoch link is not the key the membership log committed to for
    /// that epoch: whoever made the link planted another key. The key is not adopted.
    #[error(
        "the key of epoch {epoch} recovered through an epoch link does not match the commitment logged for that epoch; it was not adopted (the link was made by a rotator who planted another key — ask a reader who holds the agreed key to rotate the compartment)"
    )]
    NotCommitted {
        /// The epoch of the refused key.
        epoch: u32,
    },
    /// The passphrase does not open the key file.
    #[error("wrong passphrase (or the key file is damaged)")]
    WrongPassphrase,
    /// The recovery phrase is not a valid 24-word phrase.
    #[error("invalid recovery phrase: {0}")]
    InvalidRecoveryPhrase(String),
    /// A wrapped key could not be opened by this device.
    #[error(
        "cannot unwrap key: it was not wrapped for this device, for this case/compartment/epoch, or it was altered"
    )]
    UnwrapFailed,
    /// A public key is not a valid curve point or is a weak key.
    #[error("invalid public {what} key")]
    InvalidPublicKey {
        /// Which kind of key.
        what: &'static str,
    },
    /// An X25519 agreement produced the all-zero secret (a low-order peer key).
    #[error("key agreement rejected: the peer's X25519 key is a low-order point")]
    NonContributory,
    /// Argon2 parameters out of the accepted range.
    #[error("key-derivation parameters out of range: {0}")]
    KdfParams(String),
    /// A payload larger than the format allows.
    #[error("{what} too large: {size} bytes (limit {limit})")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Rng(String),
    /// An unexpected failure inside a primitive (never caused by input data).
    #[error("internal cryptographic error: {0}")]
    Internal(&'static str),
}
