//! Why an op was not applied ([`Rejection`]: a validly signed op the rules refuse, kept in the log
//! with its reason) and the errors of the log ([`LogError`]).

use serde::Serialize;

use super::op::OpError;

/// Why a validly signed op was not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Rejection {
    /// A second creation op.
    #[error("the case was already created by another op")]
    DuplicateCreate,
    /// A consent or legal basis recorded by someone it gives access (issue 13 #9).
    #[error(
        "a consent or legal basis is recorded by the person who consents or by whoever holds the information, never by someone it gives access"
    )]
    SelfGranted,
    /// Creation op by a device the creator does not list.
    #[error("the creation op is not signed by a device of its creator")]
    CreatorMismatch,
    /// Author device unknown.
    #[error("the author's device belongs to no participant of this case")]
    UnknownAuthor,
    /// Author device removed.
    #[error("the author's device was removed from participant {member}")]
    DeviceRemoved {
        /// Its owner.
        member: String,
    },
    /// Author removed.
    #[error("the author, participant {member}, was removed from the case")]
    AuthorRemoved {
        /// The author.
        member: String,
    },
    /// Author not admin.
    #[error("only the chair or a co-chair may {action}")]
    NotAdmin {
        /// What was attempted.
        action: &'static str,
    },
    /// Author not confirmed.
    #[error("participant {member} is not confirmed yet and has no rights")]
    Unconfirmed {
        /// The author.
        member: String,
    },
    /// No such participant.
    #[error("no participant {member} in this case")]
    UnknownMember {
        /// Id.
        member: String,
    },
    /// Id taken.
    #[error("participant id {member} is already used in this case")]
    MemberExists {
        /// Id.
        member: String,
    },
    /// Device of another participant.
    #[error("device {device} already belongs to participant {member}")]
    DeviceTaken {
        /// Device.
        device: String,
        /// Owner.
        member: String,
    },
    /// Would leave no admin.
    #[error("the case would be left without a chair; appoint another chair first")]
    LastAdmin,
    /// A rule of the domain.
    #[error("{0}")]
    Invalid(String),
    /// No such consent.
    #[error("no consent record {consent} in this case")]
    UnknownConsent {
        /// Id.
        consent: String,
    },
    /// Already withdrawn.
    #[error("consent record {consent} was already withdrawn")]
    AlreadyWithdrawn {
        /// Id.
        consent: String,
    },
    /// Key change by a device that may not read the compartment.
    #[error(
        "device {device} may not read compartment {compartment}, so it may not {action} its key"
    )]
    NotEntitled {
        /// Author device.
        device: String,
        /// Compartment descriptor.
        compartment: String,
        /// create/rotate/hand out.
        action: &'static str,
    },
    /// Key wrapped to a device that may not read.
    #[error(
        "a key of compartment {compartment} was wrapped to device {device}, which may not read it"
    )]
    RecipientNotEntitled {
        /// Recipient.
        device: String,
        /// Compartment.
        compartment: String,
    },
    /// An op dated before an op it builds on: rights are checked at an op's date, so a date is
    /// bounded below by the op's causal past.
    #[error(
        "the op is dated {date}, before {parent_date}, the date of an op it builds on; an op cannot be dated before its own causal past"
    )]
    Backdated {
        /// The op's date.
        date: String,
        /// The latest date among its parents.
        parent_date: String,
    },
    /// Void: an admin acted against a more senior admin who concurrently acted against them.
    #[error(
        "void: {member} is a more senior admin and concurrently removed or demoted the author (of two admins acting against each other, the senior one's op stands)"
    )]
    Outranked {
        /// The senior admin.
        member: String,
    },
    /// A rotation by a device that had not seen the epoch it replaces.
    #[error(
        "compartment {compartment}: the new key of epoch {epoch} was made without having seen the key it replaces (a rotation builds on the op that announced the previous epoch)"
    )]
    StaleRotation {
        /// Compartment.
        compartment: String,
        /// The epoch announced.
        epoch: u32,
    },
    /// Void: a concurrent, later-dated key for the same epoch stands.
    #[error(
        "void: a concurrent, later-dated new key for epoch {epoch} of compartment {compartment} stands (of two concurrent new keys for one epoch, the later-dated one wins)"
    )]
    Superseded {
        /// Compartment.
        compartment: String,
        /// The epoch.
        epoch: u32,
    },
    /// Epoch numbering.
    #[error("compartment {compartment}: epoch {found} announced, {expected} expected")]
    BadEpoch {
        /// Compartment.
        compartment: String,
        /// Expected number.
        expected: u32,
        /// Found.
        found: u32,
    },
}

/// Errors of the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The op could not be read.
    #[error(transparent)]
    Op(#[from] OpError),
    /// The op is not allowed.
    #[error("refused: {0}")]
    Rejected(Rejection),
}

impl From<Rejection> for LogError {
    fn from(r: Rejection) -> Self {
        LogError::Rejected(r)
    }
}
