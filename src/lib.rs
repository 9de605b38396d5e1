//! # MDO — the *multidisciplinair overleg*, local first and end-to-end encrypted
//!
//! This is the main crate. Today it brings the workspace together; the layers grow in it as the
//! issues land (see `docs/architecture.md`):
//!
//! * [`crypto`] — device identities, key files, key wrapping, epoch keys and signed, encrypted
//!   chunk envelopes (the `mdo-crypto` crate, sans-IO);
//! * `core` — the case model on Automerge, compartments, membership and consent, the sync state
//!   machine (sans-IO);
//! * `store`, `net`, `app` — the embedded store, the iroh node and the Slint UI around that core.
#![deny(missing_docs, unreachable_pub)]

pub use mdo_crypto as crypto;
