//! # MDO — the *multidisciplinair overleg*, local first and end-to-end encrypted
//!
//! * [`crypto`] — device identities, key files, key wrapping, epoch keys and signed, encrypted
//!   chunk envelopes (the `mdo-crypto` crate, sans-IO);
//! * [`core`] — the case model on Automerge: compartments per audience, operations, views, the
//!   verslag and the demo case (sans-IO);
//! * [`net`] — the iroh shell around the sync protocol;
//! * [`store`] — the profile directory: protected key file and an SQLite database that holds only
//!   ciphertext;
//! * [`pdf`] — the verslag as a PDF document (`printpdf`);
//! * [`profile`] — the application layer: every flow (open, edit, write for an audience,
//!   consent, invite and join, export, key work) once, for the CLI, the app and the node;
//! * [`app`] — the Slint desktop app (the `app` feature) and its Slint-free backend;
//! * the `mdo` binary (`src/main.rs`, `src/cli.rs`) — the command-line interface.
#![deny(missing_docs, unreachable_pub)]

pub mod app;
pub mod core;
pub mod net;
pub mod pdf;
pub mod profile;
pub mod store;

pub use mdo_crypto as crypto;
