//! # mdo-crypto — confidentiality and authenticity for MDO
//!
//! Every other part of MDO uses this crate and no other cryptography. It is *sans-IO*: it turns
//! bytes into bytes and never touches disk, network or clock, so each operation is testable in
//! microseconds and fuzzable.
//!
//! | piece | module | what it does |
//! |---|---|---|
//! | device identity | [`identity`] | Ed25519 signing key (= the iroh node key) + X25519 encryption key bound to it by a signature; recovery phrase |
//! | protected key file | [`keyfile`] | the device seed at rest under argon2id(passphrase) + XChaCha20-Poly1305 |
//! | sealed key wrapping | [`wrap`] | compartment epoch keys wrapped to one device with HPKE (RFC 9180) base mode |
//! | epoch keys | [`epoch`] | one key per compartment epoch; on rotation the previous key is encrypted under the new one |
//! | chunk envelopes | [`envelope`] | a batch of Automerge changes encrypted with the epoch key and signed by its author |
//! | AEAD | [`aead`] | the ChaCha20-Poly1305 family behind all of the above |
//! | secrets | [`secret`] | [`Secret`]: zeroized on drop, constant-time equality, never printed |
//!
//! Primitives come only from audited, maintained crates: RustCrypto (`chacha20poly1305`, `argon2`),
//! dalek (`ed25519-dalek`, `x25519-dalek`), `hpke` (RFC 9180 on top of those), `blake3`.
//! Byte-by-byte formats are documented in `docs/crypto.md`; the threat model in
//! `docs/threat-model.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod aead;
pub mod envelope;
pub mod epoch;
mod error;
pub mod identity;
pub mod ids;
pub mod keyfile;
mod random;
pub mod secret;
pub mod wrap;

pub use envelope::{Envelope, OpenedEnvelope, SealedEnvelope};
pub use epoch::{EpochKey, EpochLink, Keyring};
pub use error::CryptoError;
pub use identity::{DeviceId, DeviceSecret, DeviceSeed, PublicIdentity};
pub use ids::{CaseId, ChunkId, CompartmentId, OpId};
pub use keyfile::{KdfParams, KeyFile};
pub use random::random_array;
pub use secret::{Plaintext, Secret};
pub use wrap::{WrappedKeys, wrap_groups, wrap_groups_to_all, wrap_keys, wrap_to_all};

/// Result type of this crate.
pub type Result<T, E = CryptoError> = std::result::Result<T, E>;
