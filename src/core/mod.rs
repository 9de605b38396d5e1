//! The sans-IO core: the case model on Automerge, compartments, and the operations the CLI and UI
//! perform. No tokio, no sockets, no UI, no disk: the store feeds it decrypted chunks and takes
//! sealed ones.

#![forbid(unsafe_code)]

pub mod access;
pub mod audience;
pub mod case;
pub mod compartment;
pub mod demo;
pub mod doc;
pub mod invitation;
pub mod membership;
pub mod model;
pub mod retention;
pub mod sharedlog;
pub mod sync;
pub mod traject;
pub mod verslag;

/// Errors of the core, each with a message a person can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A value that is not one of the allowed identifiers.
    #[error("unknown {what} '{value}' (allowed: {allowed})")]
    UnknownValue {
        /// Kind of value.
        what: &'static str,
        /// What was given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// A section name that does not exist.
    #[error(
        "unknown section '{section}': use e.g. kind.plus, school.min, thuis.vraag, kind.doel, vragen, procesdoelen, beslissingen, behoeften.kind|school|thuis|overige, aanpak.leerkracht|ib|ouders, ondersteuning.leerkracht|ib|ouders, effect, notitie"
    )]
    UnknownSection {
        /// What was given.
        section: String,
    },
    /// A date that is not `YYYY-MM-DD`.
    #[error("invalid date '{value}': write it as YYYY-MM-DD, e.g. 2026-10-01")]
    BadDate {
        /// What was given.
        value: String,
    },
    /// A meeting step outside 1–6.
    #[error("there is no step {step}: the chair's guide has steps 1 to 6")]
    BadStep {
        /// What was given.
        step: usize,
    },
    /// No such entry in what this device can read.
    #[error("no {what} '{id}' in this case (or not visible to this device)")]
    NotFound {
        /// Kind of entry.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A required field is empty.
    #[error("{field} may not be empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A decrypted chunk that Automerge cannot apply.
    #[error("rejected a chunk whose contents are not a valid Automerge change set: {0}")]
    BadChunk(String),
    /// A chunk that changes the label a compartment's document carries. A compartment is what
    /// its id says (the id is derived from the descriptor the membership log recorded with its
    /// keys); the text inside the document is never trusted.
    #[error(
        "refused a chunk that relabels compartment '{compartment}' as '{found}' (a compartment is what its id says; the chunk stays stored as evidence and is not merged)"
    )]
    Relabelled {
        /// The compartment's descriptor as the log and its id say.
        compartment: String,
        /// The label the chunk wrote.
        found: String,
    },
    /// An Automerge error on a local operation.
    #[error("document error: {0}")]
    Document(String),
    /// This device or participant may not do this in that compartment.
    #[error("no access to {compartment}: {reason}")]
    NoAccess {
        /// The compartment's label.
        compartment: String,
        /// Why.
        reason: String,
    },
    /// Text of a narrower audience asked to go into a broader one (a verslag, meeting notes).
    #[error(
        "{what} is {of}; het kan niet in iets {target}. Kies een kleinere groep, of deel eerst wat mag."
    )]
    NarrowerAudience {
        /// What would be carried.
        what: &'static str,
        /// Its audience, in words.
        of: String,
        /// The audience it was asked to go to, in words.
        target: String,
    },
    /// Someone other than the author tried to show an item to more people.
    #[error(
        "alleen wie dit schreef kan het {to} zichtbaar maken; u kunt het wel aan een kleinere groep tonen"
    )]
    OnlyAuthorWidens {
        /// The broader audience, in words.
        to: String,
    },
    /// A membership or consent op that was refused or could not be read.
    #[error(transparent)]
    Log(#[from] membership::LogError),
    /// A chunk by an author without write right.
    #[error(transparent)]
    WriteRefused(#[from] access::WriteRefused),
    /// A cryptographic failure.
    #[error(transparent)]
    Crypto(#[from] mdo_crypto::CryptoError),
}
