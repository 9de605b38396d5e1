//! The membership and consent log of a case: a signed, hash-linked DAG of operations (create the
//! case, add/remove participants and devices, change role or custody, grant/withdraw consent,
//! record a legal basis, create/rotate/hand out compartment keys).
//!
//! Every peer validates every op — its signature, its form, and the author's right at that point —
//! and derives the same [`State`] from the same set of ops whatever order they arrived in: ops are
//! applied in a deterministic topological order (parents first, ties broken by op id) and an op
//! whose parents have not all arrived waits. A rejected op is kept with its typed
//! [`Rejection`], never applied.
//!
//! Concurrency rule (architecture.md): a participant added by an admin who was *concurrently*
//! removed or demoted (the removal is not in the add's causal past, or vice versa) is
//! `Unconfirmed`: no rights, no keys, until a remaining admin confirms. No outcome depends on the
//! op-id tie-break of the order (an author can grind its op id): two admins acting against each
//! other concurrently are decided by seniority ([`Rejection::Outranked`]), two concurrent keys for
//! one epoch by their dates ([`Rejection::Superseded`]), and an op's date is bounded by its causal
//! past and the validating device's clock ([`Rejection::Backdated`], [`MAX_CLOCK_SKEW_DAYS`]).
//!
//! Wire format of one op (`docs/crypto.md`): `"MDOP"` ‖ version 1 ‖ u32 LE body length ‖ body
//! (JSON, [`OpBody`]) ‖ Ed25519 signature of the author device over everything before it (with
//! context [`SIG_CONTEXT`]). The op id is BLAKE3 of all bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use mdo_crypto::{
    CaseId, ChunkId, CompartmentId, CryptoError, DeviceId, DeviceSecret, EpochLink, OpId,
    PublicIdentity, WrappedKeys,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::model::{
    AgeBand, ConsentCategory, ConsentHow, Date, LegalGround, Role, age_band, parse_date,
};

/// Magic bytes of an op.
pub const OP_MAGIC: &[u8; 4] = b"MDOP";
/// Current op format version.
pub const OP_VERSION: u8 = 1;
/// Largest op accepted (a rotation carrying bundles for a few hundred devices fits).
pub const MAX_OP_LEN: usize = 4 << 20;
/// Signature context of ops.
pub const SIG_CONTEXT: &str = "MDO 2026-11 membership op v1";
/// How far (in days) an op's date may run ahead of the validating device's clock. An op dated
/// later waits (like an op whose parents have not arrived) until the clock catches up: a date
/// in the future would otherwise drag every later op's date along (see [`Rejection::Backdated`]).
pub const MAX_CLOCK_SKEW_DAYS: i64 = 1;
const HEADER_LEN: usize = 4 + 1 + 4;
const SIG_LEN: usize = 64;
const MAX_PARENTS: usize = 256;
const MAX_TEXT: usize = 4096;

/// Bytes shown as hex in the JSON body.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map(Blob).map_err(serde::de::Error::custom)
    }
}

/// A participant as added to the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberSpec {
    /// Participant id (stable; never reused in the case).
    pub id: String,
    /// Role.
    pub role: Role,
    /// Organisation (empty for parents, the child and the network).
    #[serde(default)]
    pub organisation: String,
    /// Parent with gezag (custody).
    #[serde(default)]
    pub custody: bool,
    /// Chair or co-chair: may add and remove participants.
    #[serde(default)]
    pub admin: bool,
    /// The participant's devices.
    #[serde(default)]
    pub devices: Vec<PublicIdentity>,
}

/// Who a consent record shares with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum Recipient {
    /// One participant.
    Member(String),
    /// Every participant with this role.
    Role(Role),
    /// Every professional of this organisation.
    Organisation(String),
}

impl Recipient {
    /// Parses `member-id`, `role:ROLE`/a role id, or `org:NAME`.
    pub fn parse(s: &str, members: &BTreeMap<String, Member>) -> Result<Self, String> {
        let s = s.trim();
        if let Some(o) = s.strip_prefix("org:") {
            return Ok(Recipient::Organisation(o.trim().to_string()));
        }
        if let Some(r) = s.strip_prefix("role:") {
            return r.parse().map(Recipient::Role).map_err(|e| format!("{e}"));
        }
        if members.contains_key(s) {
            return Ok(Recipient::Member(s.to_string()));
        }
        if let Ok(r) = s.parse::<Role>() {
            return Ok(Recipient::Role(r));
        }
        if members.values().any(|m| m.organisation == s) {
            return Ok(Recipient::Organisation(s.to_string()));
        }
        Err(format!(
            "'{s}' is no participant id, role or organisation of this case (see `mdo member list`; write role:ROLE or org:NAME to be explicit)"
        ))
    }

    /// Whether `m` is covered.
    pub fn covers(&self, m: &Member) -> bool {
        match self {
            Recipient::Member(id) => &m.id == id,
            Recipient::Role(r) => m.role == *r,
            Recipient::Organisation(o) => m.role.is_professional() && &m.organisation == o,
        }
    }

    /// Text form.
    pub fn describe(&self) -> String {
        match self {
            Recipient::Member(id) => id.clone(),
            Recipient::Role(r) => format!("role:{}", r.id()),
            Recipient::Organisation(o) => format!("org:{o}"),
        }
    }
}

/// On what basis information is shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Basis {
    /// Consent of the people the age rules require.
    Consent {
        /// Participant ids of those who consented (each parent with gezag separately, the child).
        consenters: Vec<String>,
        /// How it was given.
        how: ConsentHow,
    },
    /// Sharing without consent on a legal basis.
    Legal {
        /// The ground.
        ground: LegalGround,
        /// The reasoning, written down.
        reasoning: String,
        /// The participant who decided.
        decided_by: String,
    },
}

/// A consent record or legal basis as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentSpec {
    /// Record id.
    pub id: String,
    /// Consent or legal basis.
    pub basis: Basis,
    /// Purpose.
    pub purpose: String,
    /// Information categories covered.
    pub categories: Vec<ConsentCategory>,
    /// Who may receive them.
    pub recipients: Vec<Recipient>,
    /// Valid from (YYYY-MM-DD).
    pub from: String,
    /// Valid until, inclusive (YYYY-MM-DD).
    pub until: String,
}

/// What an op does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    /// Opens the case; the creator is chair and admin. Only this op has no parents.
    Create {
        /// The creator.
        creator: MemberSpec,
        /// The child's date of birth (the age rules need it).
        birthdate: String,
    },
    /// Adds a participant.
    AddMember {
        /// Who.
        member: MemberSpec,
    },
    /// Removes a participant.
    RemoveMember {
        /// Participant id.
        member: String,
        /// Why (shown in the log).
        #[serde(default)]
        reason: String,
    },
    /// Adds a device of a participant.
    AddDevice {
        /// Participant id.
        member: String,
        /// The device.
        device: PublicIdentity,
    },
    /// Removes a device (lost laptop).
    RemoveDevice {
        /// Participant id.
        member: String,
        /// The device.
        device: DeviceId,
    },
    /// Changes role and admin right.
    SetRole {
        /// Participant id.
        member: String,
        /// New role.
        role: Role,
        /// Chair/co-chair.
        admin: bool,
    },
    /// Records a change of custody (gezag).
    SetCustody {
        /// Participant id (a parent).
        member: String,
        /// Has gezag.
        custody: bool,
    },
    /// Corrects the child's date of birth.
    SetBirthdate {
        /// YYYY-MM-DD.
        birthdate: String,
    },
    /// Confirms a participant added by an admin who was concurrently removed.
    Confirm {
        /// Participant id.
        member: String,
    },
    /// Records a consent or a legal basis.
    Grant {
        /// The record.
        record: ConsentSpec,
    },
    /// Withdraws a consent (or ends a legal basis).
    Withdraw {
        /// Record id.
        consent: String,
        /// Participant who withdrew.
        by: String,
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// Names a storage peer for the case: an always-on node an organisation keeps, that stores
    /// and forwards the case's ciphertext, holds no keys and reads nothing.
    AddStoragePeer {
        /// Its device identity.
        device: PublicIdentity,
        /// The organisation that runs it.
        organisation: String,
    },
    /// Ends a storage peer's role in the case.
    RemoveStoragePeer {
        /// Its device.
        device: DeviceId,
    },
    /// Only a key update.
    Keys,
}

/// A new epoch of a compartment key, announced in an op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEpoch {
    /// The compartment's descriptor (its id is derived from it).
    pub descriptor: String,
    /// The compartment id.
    pub compartment: CompartmentId,
    /// Epoch number: 0 for a new compartment, else the previous + 1.
    pub epoch: u32,
    /// [`mdo_crypto::EpochKey::commitment`] of the key.
    pub commitment: Blob,
    /// The previous key encrypted under this one (epoch > 0).
    #[serde(default)]
    pub link: Option<Blob>,
    /// Chunks of the previous epochs by writers who lose their write right with this rotation
    /// that stay part of the history.
    #[serde(default)]
    pub closing: Vec<ChunkId>,
}

/// Keys carried by an op.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUpdate {
    /// New epochs.
    #[serde(default)]
    pub epochs: Vec<NewEpoch>,
    /// [`WrappedKeys`] bundles, each to one device.
    #[serde(default)]
    pub wrapped: Vec<Blob>,
}

impl KeyUpdate {
    /// Nothing in it.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty() && self.wrapped.is_empty()
    }
}

/// The signed content of an op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpBody {
    /// The case.
    pub case: CaseId,
    /// Author device.
    pub author: DeviceId,
    /// The heads of the log the author had seen.
    pub parents: Vec<OpId>,
    /// Author's clock (unix seconds; informational).
    pub time: i64,
    /// Author's date (YYYY-MM-DD): rights that depend on the date are checked at this date. It
    /// may not be earlier than the date of any parent ([`Rejection::Backdated`]), and an op
    /// dated more than [`MAX_CLOCK_SKEW_DAYS`] after the validating device's clock waits.
    pub date: String,
    /// What it does.
    pub action: Action,
    /// Keys it carries.
    #[serde(default)]
    pub keys: KeyUpdate,
}

/// Why an op could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// Structure.
    #[error("malformed membership op: {0}")]
    Malformed(String),
    /// Too large.
    #[error("membership op of {len} bytes is larger than the {max} allowed")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Signature.
    #[error("membership op with a forged or damaged signature")]
    BadSignature,
    /// Another case.
    #[error("membership op of case {found} offered to case {expected}")]
    WrongCase {
        /// This case.
        expected: String,
        /// The op's case.
        found: String,
    },
}

/// A parsed op whose signature has been verified.
#[derive(Debug, Clone)]
pub struct Op {
    /// BLAKE3 of its bytes.
    pub id: OpId,
    /// Content.
    pub body: OpBody,
    /// Date of `body.date`.
    pub date: Date,
    /// The bytes as signed.
    pub bytes: Vec<u8>,
}

impl Op {
    /// Builds and signs an op (its form is checked as [`Op::parse`] would; the signature just
    /// made is not verified again).
    pub fn sign(author: &DeviceSecret, body: OpBody) -> Result<Op, OpError> {
        if body.author != author.device_id() {
            return Err(OpError::Malformed(
                "the author is not the signing device".into(),
            ));
        }
        let date = check_form(&body)?;
        let json = serde_json::to_vec(&body).map_err(|e| OpError::Malformed(e.to_string()))?;
        let too_large = OpError::TooLarge {
            len: json.len() + HEADER_LEN + SIG_LEN,
            max: MAX_OP_LEN,
        };
        if json.len() + HEADER_LEN + SIG_LEN > MAX_OP_LEN {
            return Err(too_large);
        }
        let len = u32::try_from(json.len()).map_err(|_| too_large)?;
        let mut bytes = Vec::with_capacity(HEADER_LEN + json.len() + SIG_LEN);
        bytes.extend_from_slice(OP_MAGIC);
        bytes.push(OP_VERSION);
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&json);
        let sig = author.sign(SIG_CONTEXT, &bytes);
        bytes.extend_from_slice(&sig);
        Ok(Op {
            id: OpId(*blake3::hash(&bytes).as_bytes()),
            body,
            date,
            bytes,
        })
    }

    /// Parses and verifies an op from outside bytes: size, magic, version, strict JSON, form
    /// (dates, limits, key bundles) and the author's signature.
    pub fn parse(bytes: &[u8]) -> Result<Op, OpError> {
        if bytes.len() > MAX_OP_LEN {
            return Err(OpError::TooLarge {
                len: bytes.len(),
                max: MAX_OP_LEN,
            });
        }
        if bytes.len() < HEADER_LEN + SIG_LEN {
            return Err(OpError::Malformed(format!(
                "{} bytes is shorter than any op",
                bytes.len()
            )));
        }
        if &bytes[..4] != OP_MAGIC {
            return Err(OpError::Malformed("not a membership op (bad magic)".into()));
        }
        if bytes[4] != OP_VERSION {
            return Err(OpError::Malformed(format!(
                "op format version {} (this MDO reads {OP_VERSION}); update MDO",
                bytes[4]
            )));
        }
        let len = u32::from_le_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) as usize;
        if HEADER_LEN + len + SIG_LEN != bytes.len() {
            return Err(OpError::Malformed(format!(
                "body length {len} does not match the op's {} bytes",
                bytes.len()
            )));
        }
        let (signed, sig) = bytes.split_at(HEADER_LEN + len);
        let body: OpBody = serde_json::from_slice(&signed[HEADER_LEN..])
            .map_err(|e| OpError::Malformed(e.to_string()))?;
        let date = check_form(&body)?;
        let sig: [u8; 64] = sig
            .try_into()
            .map_err(|_| OpError::Malformed("signature length".into()))?;
        body.author
            .verify(SIG_CONTEXT, signed, &sig)
            .map_err(|_| OpError::BadSignature)?;
        Ok(Op {
            id: OpId(*blake3::hash(bytes).as_bytes()),
            body,
            date,
            bytes: bytes.to_vec(),
        })
    }
}

fn check_form(b: &OpBody) -> Result<Date, OpError> {
    let bad = |s: String| OpError::Malformed(s);
    let date = parse_date(&b.date).map_err(|e| bad(e.to_string()))?;
    if b.parents.len() > MAX_PARENTS {
        return Err(bad(format!("{} parents", b.parents.len())));
    }
    let uniq: HashSet<_> = b.parents.iter().collect();
    if uniq.len() != b.parents.len() {
        return Err(bad("a parent is named twice".into()));
    }
    let is_create = matches!(b.action, Action::Create { .. });
    if is_create != b.parents.is_empty() {
        return Err(bad(
            "only the op that creates the case has no parents, and it has none".into(),
        ));
    }
    let text_ok = |s: &str| s.len() <= MAX_TEXT;
    let id_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let member_ok = |m: &MemberSpec| -> Result<(), OpError> {
        if !id_ok(&m.id) {
            return Err(bad(format!(
                "participant id '{}' (use a-z, 0-9 and '-')",
                m.id
            )));
        }
        if !text_ok(&m.organisation) || m.devices.len() > 64 {
            return Err(bad("participant fields too long".into()));
        }
        Ok(())
    };
    match &b.action {
        Action::Create { creator, birthdate } => {
            member_ok(creator)?;
            parse_date(birthdate).map_err(|e| bad(e.to_string()))?;
        }
        Action::AddMember { member } => member_ok(member)?,
        Action::SetBirthdate { birthdate } => {
            parse_date(birthdate).map_err(|e| bad(e.to_string()))?;
        }
        Action::Grant { record } => {
            if !id_ok(&record.id) || !text_ok(&record.purpose) {
                return Err(bad("consent id or purpose".into()));
            }
            let from = parse_date(&record.from).map_err(|e| bad(e.to_string()))?;
            let until = parse_date(&record.until).map_err(|e| bad(e.to_string()))?;
            if until < from {
                return Err(bad("consent ends before it starts".into()));
            }
            if record.categories.is_empty() || record.recipients.is_empty() {
                return Err(bad("a consent names categories and recipients".into()));
            }
            if record.categories.len() > 16 || record.recipients.len() > 256 {
                return Err(bad("too many categories or recipients".into()));
            }
            if let Basis::Legal { reasoning, .. } = &record.basis
                && (reasoning.trim().is_empty() || !text_ok(reasoning))
            {
                return Err(bad("a legal basis needs its reasoning written down".into()));
            }
        }
        Action::Withdraw { note, .. } | Action::RemoveMember { reason: note, .. }
            if !text_ok(note) =>
        {
            return Err(bad("note too long".into()));
        }
        _ => {}
    }
    if b.keys.epochs.len() > 4096 || b.keys.wrapped.len() > 4096 {
        return Err(bad("too many keys in one op".into()));
    }
    let mut seen = HashSet::new();
    for e in &b.keys.epochs {
        if !seen.insert(e.compartment) {
            return Err(bad("one compartment gets two new epochs in one op".into()));
        }
        if e.commitment.0.len() != 32 || e.closing.len() > 100_000 || !text_ok(&e.descriptor) {
            return Err(bad("new epoch entry".into()));
        }
        match (&e.link, e.epoch) {
            (None, 0) => {}
            (Some(l), n) if n > 0 => {
                let link = EpochLink::from_bytes(&l.0).map_err(|e| bad(e.to_string()))?;
                if link.case() != b.case || link.compartment() != e.compartment {
                    return Err(bad("epoch link of another compartment".into()));
                }
                if link.newer_epoch() != n {
                    return Err(bad("epoch link of another epoch".into()));
                }
            }
            _ => return Err(bad("epoch 0 has no link and later epochs need one".into())),
        }
    }
    for w in &b.keys.wrapped {
        let w = WrappedKeys::from_bytes(&w.0).map_err(|e| bad(e.to_string()))?;
        if w.case() != b.case {
            return Err(bad("key bundle of another case".into()));
        }
    }
    Ok(date)
}

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

/// Status of a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberStatus {
    /// Takes part.
    Active,
    /// Added by an admin who was concurrently removed: no rights until confirmed.
    Unconfirmed,
    /// Removed.
    Removed,
}

/// A participant in the derived state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Organisation.
    pub organisation: String,
    /// Parent with gezag.
    pub custody: bool,
    /// Chair/co-chair.
    pub admin: bool,
    /// Devices.
    pub devices: BTreeSet<DeviceId>,
    /// Status.
    pub status: MemberStatus,
    /// Who added them.
    pub added_by: Option<String>,
    /// Confirmed explicitly by an admin.
    pub confirmed: bool,
    #[serde(skip)]
    added_op: Option<OpId>,
    #[serde(skip)]
    removed_op: Option<OpId>,
    /// The op that made them admin (their seniority among admins: earlier in the log's order is
    /// senior; the creator is the most senior).
    #[serde(skip)]
    admin_op: Option<OpId>,
    /// The op that took their admin right away (until an admin right is granted again).
    #[serde(skip)]
    demoted_op: Option<OpId>,
}

impl Member {
    /// Active (not removed, not unconfirmed).
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }
    /// A parent with gezag.
    pub fn is_custody_parent(&self) -> bool {
        self.role == Role::Ouder && self.custody
    }
}

/// A withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Withdrawal {
    /// Who withdrew.
    pub by: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// Date.
    pub on: String,
    /// Note.
    pub note: String,
}

/// A consent record in the derived state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentRecord {
    /// As recorded.
    #[serde(flatten)]
    pub spec: ConsentSpec,
    /// Who recorded it.
    pub recorded_by: String,
    /// When.
    pub recorded_on: String,
    /// Age band of the child when recorded.
    pub band_at_grant: Option<AgeBand>,
    /// Parents with gezag when recorded.
    pub custody_at_grant: BTreeSet<String>,
    /// Withdrawal.
    pub withdrawn: Option<Withdrawal>,
}

/// One epoch of a compartment key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochInfo {
    /// Number.
    pub epoch: u32,
    /// The canonical key's commitment.
    pub commitment: [u8; 32],
    /// Devices it was wrapped to.
    pub holders: BTreeSet<DeviceId>,
    /// Chunks of writers who lost the right at this rotation that stay history.
    pub closing: BTreeSet<ChunkId>,
    /// Devices that could write the compartment at its creation or a key handout in it.
    pub writers: BTreeSet<DeviceId>,
    /// Who made it.
    pub by: DeviceId,
    /// The op that announced it.
    pub op: OpId,
}

/// The key history of a compartment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompartmentKeys {
    /// Its descriptor.
    pub descriptor: String,
    /// Epochs, in order.
    pub epochs: Vec<EpochInfo>,
}

/// The state every peer derives from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The case.
    pub case: CaseId,
    /// The creation op.
    pub created: Option<OpId>,
    /// Date of birth of the child.
    pub birthdate: Option<Date>,
    /// Participants by id.
    pub members: BTreeMap<String, Member>,
    /// Consent records and legal bases by id.
    pub consents: BTreeMap<String, ConsentRecord>,
    /// Key history per compartment.
    pub keys: BTreeMap<CompartmentId, CompartmentKeys>,
    /// Epoch links of all rotations.
    pub links: Vec<EpochLink>,
    /// Every device ever named, with its participant.
    pub device_owner: BTreeMap<DeviceId, String>,
    /// Public identities of devices (for wrapping).
    pub identities: BTreeMap<DeviceId, PublicIdentity>,
    /// Storage peers named for the case, with the organisation that runs each.
    pub storage_peers: BTreeMap<DeviceId, String>,
    /// The op that removed each removed device.
    device_removals: BTreeMap<DeviceId, OpId>,
}

impl State {
    fn new(case: CaseId) -> Self {
        Self {
            case,
            created: None,
            birthdate: None,
            members: BTreeMap::new(),
            consents: BTreeMap::new(),
            keys: BTreeMap::new(),
            links: Vec::new(),
            device_owner: BTreeMap::new(),
            identities: BTreeMap::new(),
            storage_peers: BTreeMap::new(),
            device_removals: BTreeMap::new(),
        }
    }

    /// The child's age band on `today`.
    pub fn band(&self, today: Date) -> Option<AgeBand> {
        self.birthdate.map(|b| age_band(b, today))
    }

    /// The participant a device belongs to (active device only).
    pub fn member_of(&self, device: DeviceId) -> Option<&Member> {
        let id = self.device_owner.get(&device)?;
        self.members.get(id).filter(|m| m.devices.contains(&device))
    }

    /// The latest epoch of a compartment.
    pub fn latest(&self, c: CompartmentId) -> Option<&EpochInfo> {
        self.keys.get(&c).and_then(|k| k.epochs.last())
    }

    /// Parents with gezag now.
    pub fn custody_parents(&self) -> BTreeSet<String> {
        self.members
            .values()
            .filter(|m| m.is_active() && m.is_custody_parent())
            .map(|m| m.id.clone())
            .collect()
    }

    fn author(&self, op: &Op) -> Result<&Member, Rejection> {
        let id = self
            .device_owner
            .get(&op.body.author)
            .ok_or(Rejection::UnknownAuthor)?;
        let m = self.members.get(id).ok_or(Rejection::UnknownAuthor)?;
        if !m.devices.contains(&op.body.author) {
            return Err(Rejection::DeviceRemoved {
                member: m.id.clone(),
            });
        }
        Ok(m)
    }

    fn add_member(&mut self, spec: &MemberSpec, by: Option<&str>, op: OpId, status: MemberStatus) {
        for d in &spec.devices {
            self.device_owner.insert(d.device_id(), spec.id.clone());
            self.identities.insert(d.device_id(), d.clone());
        }
        self.members.insert(
            spec.id.clone(),
            Member {
                id: spec.id.clone(),
                role: spec.role,
                organisation: spec.organisation.trim().to_string(),
                custody: spec.custody,
                admin: spec.admin,
                devices: spec.devices.iter().map(|d| d.device_id()).collect(),
                status,
                added_by: by.map(str::to_string),
                confirmed: by.is_none(),
                added_op: Some(op),
                removed_op: None,
                admin_op: spec.admin.then_some(op),
                demoted_op: None,
            },
        );
    }

    fn check_new_member(&self, spec: &MemberSpec) -> Result<(), Rejection> {
        if self.members.contains_key(&spec.id) {
            return Err(Rejection::MemberExists {
                member: spec.id.clone(),
            });
        }
        check_spec(spec)?;
        for d in &spec.devices {
            if let Some(owner) = self.device_owner.get(&d.device_id()) {
                return Err(Rejection::DeviceTaken {
                    device: d.device_id().to_hex(),
                    member: owner.clone(),
                });
            }
        }
        Ok(())
    }

    fn active_admins(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.is_active() && m.admin)
            .count()
    }
}

fn check_spec(spec: &MemberSpec) -> Result<(), Rejection> {
    if spec.custody && spec.role != Role::Ouder {
        return Err(Rejection::Invalid(
            "only a parent (role ouder) can have gezag".into(),
        ));
    }
    if spec.admin && !spec.role.is_professional() {
        return Err(Rejection::Invalid(
            "only a professional can chair the case".into(),
        ));
    }
    if spec.role.is_professional() && spec.organisation.trim().is_empty() {
        return Err(Rejection::Invalid(format!(
            "a {} needs an organisation",
            spec.role.label()
        )));
    }
    Ok(())
}

/// What happened to an inserted op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Already known.
    Duplicate,
    /// Waits for parents that have not arrived.
    Pending,
    /// Applied (possibly re-deriving the state).
    Applied,
    /// Rejected.
    Rejected(Rejection),
}

/// The log of one case and the state derived from it.
#[derive(Debug, Clone)]
pub struct Log {
    case: CaseId,
    ops: HashMap<OpId, Op>,
    order: Vec<OpId>,
    rejected: BTreeMap<OpId, Rejection>,
    pending: BTreeSet<OpId>,
    heads: BTreeSet<OpId>,
    state: State,
    bundles: Vec<WrappedKeys>,
    new: Vec<OpId>,
    /// Removals, demotions and device removals from the last derivation (see [`apply`]).
    standing: Standing,
    /// Position of each applied op in the derivation order (seniority of admins).
    position: HashMap<OpId, usize>,
    /// Key ops found superseded in the current derivation pass.
    superseded_found: BTreeMap<OpId, (String, u32)>,
    /// The validating device's clock: ops dated more than [`MAX_CLOCK_SKEW_DAYS`] after it wait.
    today: Date,
    /// Ops that wait because their date is ahead of `today`.
    future: BTreeSet<OpId>,
}

impl Log {
    /// An empty log, validated on the device clock `today` (the date ops may not run ahead of).
    pub fn new(case: CaseId, today: Date) -> Self {
        Self {
            today,
            future: BTreeSet::new(),
            case,
            ops: HashMap::new(),
            order: Vec::new(),
            rejected: BTreeMap::new(),
            pending: BTreeSet::new(),
            heads: BTreeSet::new(),
            state: State::new(case),
            bundles: Vec::new(),
            new: Vec::new(),
            standing: Standing::default(),
            position: HashMap::new(),
            superseded_found: BTreeMap::new(),
        }
    }

    /// Key bundles carried by applied ops (each to one device).
    pub fn bundles(&self) -> &[WrappedKeys] {
        &self.bundles
    }

    /// The derived state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Ops in the order they were applied (rejected ones included).
    pub fn ordered(&self) -> impl Iterator<Item = &Op> {
        self.order.iter().filter_map(|id| self.ops.get(id))
    }

    /// An op by id.
    pub fn get(&self, id: &OpId) -> Option<&Op> {
        self.ops.get(id)
    }

    /// Every op known (for sync), in applied order then pending.
    pub fn all(&self) -> impl Iterator<Item = &Op> {
        self.ordered()
            .chain(self.pending.iter().filter_map(|id| self.ops.get(id)))
    }

    /// Rejected ops with the reason.
    pub fn rejected(&self) -> &BTreeMap<OpId, Rejection> {
        &self.rejected
    }

    /// Ops waiting for their parents, or for this device's clock to reach their date.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Ops that wait because they are dated more than [`MAX_CLOCK_SKEW_DAYS`] after this device's
    /// clock (included in [`Log::pending`]).
    pub fn from_the_future(&self) -> usize {
        self.future.len()
    }

    /// Whether `op` is dated more than [`MAX_CLOCK_SKEW_DAYS`] after this device's clock.
    fn is_future(&self, op: &Op) -> bool {
        (op.date - self.today).whole_days() > MAX_CLOCK_SKEW_DAYS
    }

    /// The latest date among the parents of `op` (None for the creation op or unknown parents).
    fn parent_date(&self, op: &Op) -> Option<Date> {
        op.body
            .parents
            .iter()
            .filter_map(|p| self.ops.get(p))
            .map(|p| p.date)
            .max()
    }

    /// Current heads (parents of the next local op).
    pub fn heads(&self) -> Vec<OpId> {
        self.heads.iter().copied().collect()
    }

    /// Ops added since the last call (for the store to persist).
    pub fn take_new(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.new)
            .into_iter()
            .filter_map(|id| self.ops.get(&id).cloned())
            .collect()
    }

    /// Creates, signs and applies a local op. A rejected local op is not kept.
    pub fn append(
        &mut self,
        author: &DeviceSecret,
        action: Action,
        keys: KeyUpdate,
        time: i64,
        today: Date,
    ) -> Result<Op, LogError> {
        let parents = self.heads();
        // Never before the causal past (a peer's clock may run up to a day ahead of ours).
        let date = parents
            .iter()
            .filter_map(|p| self.ops.get(p))
            .map(|p| p.date)
            .fold(today, Date::max);
        let body = OpBody {
            case: self.case,
            author: author.device_id(),
            parents,
            time,
            date: super::model::format_date(date),
            action,
            keys,
        };
        let op = Op::sign(author, body)?;
        let heads = self.heads.clone();
        match self.insert(op.clone())? {
            Inserted::Applied => Ok(op),
            other => {
                // A refused local op leaves no trace (it changed no state).
                self.ops.remove(&op.id);
                self.new.retain(|x| *x != op.id);
                self.order.retain(|x| *x != op.id);
                self.rejected.remove(&op.id);
                self.pending.remove(&op.id);
                self.heads = heads;
                Err(LogError::Rejected(match other {
                    Inserted::Rejected(r) => r,
                    _ => Rejection::Invalid("the op could not be applied".into()),
                }))
            }
        }
    }

    /// Inserts an op from the store or a peer.
    pub fn insert(&mut self, op: Op) -> Result<Inserted, LogError> {
        if op.body.case != self.case {
            return Err(LogError::Op(OpError::WrongCase {
                expected: self.case.to_hex(),
                found: op.body.case.to_hex(),
            }));
        }
        if self.ops.contains_key(&op.id) {
            return Ok(Inserted::Duplicate);
        }
        let id = op.id;
        let extends = !self.heads.is_empty()
            && self.pending.is_empty()
            && !self.is_future(&op)
            && op.body.parents.len() == self.heads.len()
            && op.body.parents.iter().all(|p| self.heads.contains(p));
        self.ops.insert(id, op);
        self.new.push(id);
        if extends {
            // The common case: the op builds on everything known, so it comes last in any order
            // (and every earlier op is in its causal past).
            self.apply_next(id);
            self.standing = self.standing_now();
        } else {
            self.rederive();
        }
        Ok(if self.pending.contains(&id) {
            Inserted::Pending
        } else if let Some(r) = self.rejected.get(&id) {
            Inserted::Rejected(r.clone())
        } else {
            Inserted::Applied
        })
    }

    fn apply_next(&mut self, id: OpId) {
        let Some(op) = self.ops.get(&id) else {
            return;
        };
        let mut st = self.state.clone();
        let result = apply(&mut st, op, self);
        let parents = op.body.parents.clone();
        match result {
            Ok(bundles) => {
                let confirmed = self.still_superseded(op);
                self.superseded_found.extend(confirmed);
                self.state = st;
                self.bundles.extend(bundles);
            }
            Err(r) => {
                if matches!(r, Rejection::BadEpoch { .. }) {
                    let losers = self.displaced_by(op);
                    self.superseded_found.extend(losers);
                }
                self.rejected.insert(id, r);
            }
        }
        for p in &parents {
            self.heads.remove(p);
        }
        self.heads.insert(id);
        self.position.insert(id, self.order.len());
        self.order.push(id);
    }

    /// Derives the state from scratch until the removals, demotions and device removals are
    /// stable (one that comes late in the order can refuse ops of its subject that came
    /// earlier).
    fn rederive(&mut self) {
        // Always from none known, so that the result depends on the set of ops only.
        self.standing = Standing::default();
        for _ in 0..4 {
            self.derive_once();
            let found = self.standing_now();
            if found == self.standing {
                return;
            }
            self.standing = found;
        }
    }

    /// The key ops `op` displaces: `op` announces an epoch that a concurrent, earlier-dated op
    /// already announced, and would be valid without it. Of two concurrent announcements of one
    /// epoch the later-dated stands — an author cannot win the slot with a backdated key op (it
    /// would have to date it when it still was entitled) or with a ground op id.
    fn displaced_by(&self, op: &Op) -> Vec<(OpId, (String, u32))> {
        let mut losers = Vec::new();
        let mut scratch = self.state.clone();
        for ne in &op.body.keys.epochs {
            let Some(k) = scratch.keys.get_mut(&ne.compartment) else {
                continue;
            };
            let Some(at) = k.epochs.iter().position(|e| e.epoch == ne.epoch) else {
                continue;
            };
            let Some(holder) = self.ops.get(&k.epochs[at].op) else {
                return Vec::new();
            };
            if !(self.concurrent(op, holder) && op.date > holder.date) {
                return Vec::new();
            }
            k.epochs.truncate(at);
            losers.push((holder.id, (ne.descriptor.clone(), ne.epoch)));
        }
        if losers.is_empty() || apply(&mut scratch, op, self).is_err() {
            return Vec::new();
        }
        losers
    }

    /// The ops superseded in the previous pass that `op`, just applied, still supersedes (so
    /// the set is stable from pass to pass).
    fn still_superseded(&self, op: &Op) -> Vec<(OpId, (String, u32))> {
        let mut out = Vec::new();
        for (x, slot) in &self.standing.superseded {
            let Some(xo) = self.ops.get(x) else {
                continue;
            };
            let same_slot = op.body.keys.epochs.iter().any(|ne| {
                xo.body
                    .keys
                    .epochs
                    .iter()
                    .any(|xe| xe.compartment == ne.compartment && xe.epoch == ne.epoch)
            });
            if same_slot && op.date > xo.date && self.concurrent(op, xo) {
                out.push((*x, slot.clone()));
            }
        }
        out
    }

    fn standing_now(&self) -> Standing {
        let st = &self.state;
        Standing {
            removals: st
                .members
                .values()
                .filter_map(|m| m.removed_op.map(|r| (m.id.clone(), r)))
                .collect(),
            demotions: st
                .members
                .values()
                .filter_map(|m| m.demoted_op.map(|r| (m.id.clone(), r)))
                .collect(),
            device_removals: st.device_removals.clone(),
            superseded: self.superseded_found.clone(),
        }
    }

    /// Whether admin `a` is senior to admin `b`: the op that made `a` admin comes earlier in
    /// the derivation order (which is topological: an admin made by another is junior to it;
    /// the creator is the most senior). Not decided by op ids an author can grind: the ops
    /// compared were made by the admins who appointed `a` and `b`.
    fn senior(&self, a: &Member, b: &Member) -> bool {
        let rank = |m: &Member| m.admin_op.and_then(|o| self.position.get(&o)).copied();
        match (rank(a), rank(b)) {
            (Some(x), Some(y)) => x < y,
            _ => false,
        }
    }

    /// Whether `a` and `b` are concurrent (neither in the other's causal past).
    fn concurrent(&self, a: &Op, b: &Op) -> bool {
        a.id != b.id && !self.causally_before(a.id, b) && !self.causally_before(b.id, a)
    }

    /// One derivation pass: topological order, ties by op id.
    fn derive_once(&mut self) {
        self.state = State::new(self.case);
        self.bundles.clear();
        self.order.clear();
        self.position.clear();
        self.superseded_found.clear();
        self.rejected.clear();
        self.heads.clear();
        let mut children: HashMap<OpId, Vec<OpId>> = HashMap::new();
        let mut missing: HashMap<OpId, usize> = HashMap::new();
        let mut ready: BTreeSet<OpId> = BTreeSet::new();
        self.future.clear();
        for (id, op) in &self.ops {
            // An op dated ahead of this device's clock waits as if a parent were missing (and so
            // do the ops built on it).
            let future = self.is_future(op);
            if future {
                self.future.insert(*id);
            }
            let n = op.body.parents.len() + usize::from(future);
            missing.insert(*id, n);
            for p in &op.body.parents {
                children.entry(*p).or_default().push(*id);
            }
            if n == 0 {
                ready.insert(*id);
            }
        }
        while let Some(id) = ready.pop_first() {
            self.apply_next(id);
            if let Some(ch) = children.get(&id) {
                for c in ch {
                    if let Some(m) = missing.get_mut(c) {
                        *m -= 1;
                        if *m == 0 {
                            ready.insert(*c);
                        }
                    }
                }
            }
        }
        self.pending = missing
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(id, _)| id)
            .collect();
    }

    /// Whether `a` is `op` or in its causal past (works before `op` is inserted).
    pub fn causally_before(&self, a: OpId, op: &Op) -> bool {
        a == op.id || self.is_ancestor_of_any(a, op.body.parents.clone())
    }

    /// Whether `a` is in the causal past of `b` (or is `b`).
    pub fn is_ancestor(&self, a: OpId, b: OpId) -> bool {
        self.is_ancestor_of_any(a, vec![b])
    }

    fn is_ancestor_of_any(&self, a: OpId, mut stack: Vec<OpId>) -> bool {
        let mut seen = HashSet::new();
        while let Some(x) = stack.pop() {
            if x == a {
                return true;
            }
            if !seen.insert(x) {
                continue;
            }
            if let Some(op) = self.ops.get(&x) {
                stack.extend(op.body.parents.iter().copied());
            }
        }
        false
    }
}

/// Who was removed, demoted, and which devices were removed, by which op (carried from one
/// derivation pass to the next, see [`Log::rederive`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Standing {
    removals: BTreeMap<String, OpId>,
    demotions: BTreeMap<String, OpId>,
    device_removals: BTreeMap<DeviceId, OpId>,
    /// Key ops that lost their epoch to a concurrent, later-dated one, with (compartment, epoch).
    superseded: BTreeMap<OpId, (String, u32)>,
}

/// Whether `op` acts against participant `target`: removes them, takes their admin right, or
/// removes one of their devices.
fn hostile_to(op: &Op, target: &str) -> bool {
    match &op.body.action {
        Action::RemoveMember { member, .. } | Action::RemoveDevice { member, .. } => {
            member == target
        }
        Action::SetRole { member, admin, .. } => member == target && !admin,
        _ => false,
    }
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

impl From<CryptoError> for OpError {
    fn from(e: CryptoError) -> Self {
        OpError::Malformed(e.to_string())
    }
}

/// Applies one op to `st`, checking the author's right. `log` answers causality questions.
/// Returns the key bundles the op carries.
fn apply(st: &mut State, op: &Op, log: &Log) -> Result<Vec<WrappedKeys>, Rejection> {
    if let Some((compartment, epoch)) = log.standing.superseded.get(&op.id) {
        return Err(Rejection::Superseded {
            compartment: compartment.clone(),
            epoch: *epoch,
        });
    }
    // The op's date is bounded below by its causal past: rights are checked at this date, so an
    // author whose right ended (a 16th birthday, an expired consent) cannot date an op back to
    // when it held. (The validating device's clock bounds it from above: see `Log::is_future`.)
    if let Some(parent_date) = log.parent_date(op)
        && op.date < parent_date
    {
        return Err(Rejection::Backdated {
            date: op.body.date.clone(),
            parent_date: super::model::format_date(parent_date),
        });
    }
    // The author's standing. A removal — of the participant, of the signing device, or of the
    // admin right — decides about the author's ops by causality, the same way in every order:
    // ops the remover had seen (in the removal's causal past) stay; ops after it are refused;
    // ops concurrent with it are refused too — except that after a removal or demotion an add
    // is kept as unconfirmed and a withdrawal of consent still counts. `log.standing` names
    // removals that come later in the order (found by the previous derivation pass). Which of
    // two admins acting against each other concurrently wins is decided by seniority, never by
    // op ids (see `outranked`).
    let mut concurrently_removed = false;
    let mut concurrently_demoted = false;
    let mut mutual_device_removal = false;
    if !matches!(op.body.action, Action::Create { .. }) {
        let device = op.body.author;
        let m = st
            .device_owner
            .get(&device)
            .and_then(|id| st.members.get(id))
            .ok_or(Rejection::UnknownAuthor)?;
        let device_removal = st
            .device_removals
            .get(&device)
            .or_else(|| log.standing.device_removals.get(&device))
            .copied();
        if let Some(r) = device_removal.filter(|r| *r != op.id && !log.is_ancestor(op.id, *r)) {
            // Two devices that remove each other concurrently (a thief and the owner): both
            // removals stand, whatever their order; the owner is added a new device by an admin.
            mutual_device_removal = match (&op.body.action, log.get(&r)) {
                (Action::RemoveDevice { device: target, .. }, Some(ro)) => {
                    ro.body.author == *target
                        && matches!(ro.body.action, Action::RemoveDevice { device: d, .. } if d == device)
                        && log.concurrent(op, ro)
                }
                _ => false,
            };
            if !mutual_device_removal {
                return Err(Rejection::DeviceRemoved {
                    member: m.id.clone(),
                });
            }
        } else if !m.devices.contains(&device) {
            return Err(Rejection::DeviceRemoved {
                member: m.id.clone(),
            });
        }
        if m.status == MemberStatus::Unconfirmed {
            return Err(Rejection::Unconfirmed {
                member: m.id.clone(),
            });
        }
        let keeps = matches!(
            op.body.action,
            Action::AddMember { .. } | Action::Withdraw { .. }
        );
        let removal = if m.status == MemberStatus::Removed {
            m.removed_op
        } else {
            log.standing.removals.get(&m.id).copied()
        };
        if let Some(r) = removal.filter(|r| *r != op.id && !log.is_ancestor(op.id, *r)) {
            if log.causally_before(r, op) || !keeps {
                return Err(Rejection::AuthorRemoved {
                    member: m.id.clone(),
                });
            }
            concurrently_removed = true;
        }
        let demotion = m
            .demoted_op
            .or_else(|| log.standing.demotions.get(&m.id).copied());
        if let Some(d) = demotion.filter(|d| *d != op.id && !log.is_ancestor(op.id, *d))
            && !log.causally_before(d, op)
        {
            // Demoted concurrently: no admin right in this op (an add stays, unconfirmed).
            concurrently_demoted = true;
        }
    }
    let is_admin = |st: &State| -> bool {
        st.device_owner
            .get(&op.body.author)
            .and_then(|id| st.members.get(id))
            .is_some_and(|m| m.admin)
            && !concurrently_demoted
    };
    let admin = |st: &State, action: &'static str| -> Result<String, Rejection> {
        let m = st.author(op)?;
        // Demoted concurrently: the author was admin where it stood, but only an add survives
        // (unconfirmed), as after a concurrent removal.
        let allowed = if concurrently_demoted {
            matches!(op.body.action, Action::AddMember { .. })
        } else {
            m.admin
        };
        if !allowed {
            return Err(Rejection::NotAdmin { action });
        }
        Ok(m.id.clone())
    };
    if let Some(target) = match &op.body.action {
        Action::RemoveMember { member, .. }
        | Action::RemoveDevice { member, .. }
        | Action::SetRole { member, .. } => Some(member.as_str()),
        _ => None,
    } && hostile_to(op, target)
    {
        outranked(st, op, log, target)?;
    }
    match &op.body.action {
        Action::Create { creator, birthdate } => {
            if st.created.is_some() {
                return Err(Rejection::DuplicateCreate);
            }
            if !creator
                .devices
                .iter()
                .any(|d| d.device_id() == op.body.author)
            {
                return Err(Rejection::CreatorMismatch);
            }
            if !creator.admin {
                return Err(Rejection::Invalid("the creator chairs the case".into()));
            }
            check_spec(creator)?;
            st.birthdate = parse_date(birthdate).ok();
            st.add_member(creator, None, op.id, MemberStatus::Active);
            st.created = Some(op.id);
        }
        Action::AddMember { member } => {
            let by = admin(st, "add participants")?;
            st.check_new_member(member)?;
            let status = if concurrently_removed || concurrently_demoted {
                MemberStatus::Unconfirmed
            } else {
                MemberStatus::Active
            };
            st.add_member(member, Some(&by), op.id, status);
        }
        Action::RemoveMember { member, .. } => {
            admin(st, "remove participants")?;
            let m = st
                .members
                .get(member)
                .ok_or_else(|| Rejection::UnknownMember {
                    member: member.clone(),
                })?;
            if m.status == MemberStatus::Removed {
                return Err(Rejection::UnknownMember {
                    member: member.clone(),
                });
            }
            if m.admin && m.is_active() && st.active_admins() <= 1 {
                return Err(Rejection::LastAdmin);
            }
            if let Some(m) = st.members.get_mut(member) {
                m.status = MemberStatus::Removed;
                m.removed_op = Some(op.id);
            }
            // Participants this member added concurrently with the removal need confirmation.
            let concurrent: Vec<String> = st
                .members
                .values()
                .filter(|x| {
                    x.added_by.as_deref() == Some(member.as_str())
                        && x.is_active()
                        && !x.confirmed
                        && x.added_op.is_some_and(|a| !log.causally_before(a, op))
                })
                .map(|x| x.id.clone())
                .collect();
            for id in concurrent {
                if let Some(x) = st.members.get_mut(&id) {
                    x.status = MemberStatus::Unconfirmed;
                }
            }
        }
        Action::AddDevice { member, device } => {
            let author = st.author(op)?;
            if author.id != *member && !is_admin(st) {
                return Err(Rejection::NotAdmin {
                    action: "add a device of another participant",
                });
            }
            let m = active(st, member)?;
            let _ = m;
            if let Some(owner) = st.device_owner.get(&device.device_id()) {
                return Err(Rejection::DeviceTaken {
                    device: device.device_id().to_hex(),
                    member: owner.clone(),
                });
            }
            st.device_owner.insert(device.device_id(), member.clone());
            st.identities.insert(device.device_id(), device.clone());
            if let Some(m) = st.members.get_mut(member) {
                m.devices.insert(device.device_id());
            }
        }
        Action::RemoveDevice { member, device } => {
            let author = if mutual_device_removal {
                // Its own device was removed by the one it removes, concurrently.
                st.device_owner
                    .get(&op.body.author)
                    .and_then(|id| st.members.get(id))
                    .ok_or(Rejection::UnknownAuthor)?
            } else {
                st.author(op)?
            };
            if author.id != *member && !is_admin(st) {
                return Err(Rejection::NotAdmin {
                    action: "remove a device of another participant",
                });
            }
            let m = active(st, member)?;
            let removed_by_mutual = mutual_device_removal && !m.devices.contains(device);
            if !m.devices.contains(device) && !removed_by_mutual {
                return Err(Rejection::Invalid(format!(
                    "device {device} is not a device of {member}"
                )));
            }
            if let Some(m) = st.members.get_mut(member) {
                m.devices.remove(device);
            }
            st.device_removals.entry(*device).or_insert(op.id);
        }
        Action::SetRole {
            member,
            role,
            admin: make_admin,
        } => {
            admin(st, "change roles")?;
            let m = active(st, member)?;
            if m.admin && !make_admin && st.active_admins() <= 1 {
                return Err(Rejection::LastAdmin);
            }
            let mut spec = MemberSpec {
                id: m.id.clone(),
                role: *role,
                organisation: m.organisation.clone(),
                custody: m.custody && *role == Role::Ouder,
                admin: *make_admin,
                devices: Vec::new(),
            };
            if !role.is_professional() {
                spec.organisation.clear();
            }
            check_spec(&spec)?;
            if let Some(m) = st.members.get_mut(member) {
                if m.admin && !make_admin {
                    m.demoted_op = Some(op.id);
                } else if !m.admin && *make_admin {
                    m.admin_op = Some(op.id);
                    m.demoted_op = None;
                }
                m.role = *role;
                m.admin = *make_admin;
                m.custody = spec.custody;
            }
        }
        Action::SetCustody { member, custody } => {
            admin(st, "record custody")?;
            let m = active(st, member)?;
            if m.role != Role::Ouder {
                return Err(Rejection::Invalid(
                    "only a parent (role ouder) can have gezag".into(),
                ));
            }
            if let Some(m) = st.members.get_mut(member) {
                m.custody = *custody;
            }
        }
        Action::SetBirthdate { birthdate } => {
            admin(st, "correct the date of birth")?;
            st.birthdate = parse_date(birthdate).ok();
        }
        Action::Confirm { member } => {
            admin(st, "confirm participants")?;
            let m = st
                .members
                .get_mut(member)
                .ok_or_else(|| Rejection::UnknownMember {
                    member: member.clone(),
                })?;
            if m.status != MemberStatus::Unconfirmed {
                return Err(Rejection::Invalid(format!(
                    "participant {member} does not need confirmation"
                )));
            }
            m.status = MemberStatus::Active;
            m.confirmed = true;
        }
        Action::Grant { record } => {
            let author = st.author(op)?.clone();
            if st.consents.contains_key(&record.id) {
                return Err(Rejection::Invalid(format!(
                    "consent id {} is already used",
                    record.id
                )));
            }
            match &record.basis {
                Basis::Consent { consenters, .. } => {
                    if consenters.is_empty() {
                        return Err(Rejection::Invalid("a consent needs who consented".into()));
                    }
                    for c in consenters {
                        let m = active(st, c)?;
                        if !matches!(m.role, Role::Ouder | Role::Kind) {
                            return Err(Rejection::Invalid(format!(
                                "{c} is a {}; only parents and the child give consent",
                                m.role.label()
                            )));
                        }
                    }
                    if !author.role.is_professional() && !consenters.contains(&author.id) {
                        return Err(Rejection::Invalid(
                            "a parent or child records only their own consent".into(),
                        ));
                    }
                }
                Basis::Legal { decided_by, .. } => {
                    if !author.role.is_professional() {
                        return Err(Rejection::Invalid(
                            "only a professional records a legal basis".into(),
                        ));
                    }
                    let d = active(st, decided_by)?;
                    if !d.role.is_professional() {
                        return Err(Rejection::Invalid(
                            "a legal basis is decided by a professional".into(),
                        ));
                    }
                }
            }
            for r in &record.recipients {
                if let Recipient::Member(id) = r
                    && !st.members.contains_key(id)
                {
                    return Err(Rejection::UnknownMember { member: id.clone() });
                }
            }
            // Nobody grants themselves access (issue 13 #9): whoever a consent or legal basis
            // lets read does not record it. The person who consents records it on their own
            // device, or a professional who holds the information does (BW 7:457: the holder
            // decides what leaves); a recipient recording its own access is refused.
            if record.recipients.iter().any(|r| r.covers(&author)) {
                return Err(Rejection::SelfGranted);
            }
            let rec = ConsentRecord {
                spec: record.clone(),
                recorded_by: author.id.clone(),
                recorded_on: op.body.date.clone(),
                band_at_grant: st.band(op.date),
                custody_at_grant: st.custody_parents(),
                withdrawn: None,
            };
            st.consents.insert(record.id.clone(), rec);
        }
        Action::Withdraw { consent, by, note } => {
            let author = st.author(op)?.clone();
            let rec = st
                .consents
                .get(consent)
                .ok_or_else(|| Rejection::UnknownConsent {
                    consent: consent.clone(),
                })?;
            if rec.withdrawn.is_some() {
                return Err(Rejection::AlreadyWithdrawn {
                    consent: consent.clone(),
                });
            }
            let may_speak_for = match &rec.spec.basis {
                Basis::Consent { consenters, .. } => consenters.contains(by),
                Basis::Legal { decided_by, .. } => decided_by == by,
            };
            if !may_speak_for {
                return Err(Rejection::Invalid(format!(
                    "{by} did not give consent record {consent}"
                )));
            }
            if author.id != *by && !is_admin(st) && author.id != rec.recorded_by {
                return Err(Rejection::NotAdmin {
                    action: "record a withdrawal on someone else's behalf",
                });
            }
            let w = Withdrawal {
                by: by.clone(),
                recorded_by: author.id.clone(),
                on: op.body.date.clone(),
                note: note.clone(),
            };
            if let Some(rec) = st.consents.get_mut(consent) {
                rec.withdrawn = Some(w);
            }
        }
        Action::AddStoragePeer {
            device,
            organisation,
        } => {
            st.author(op)?;
            let org = organisation.trim();
            // A storage peer receives every compartment's ciphertext, medical ones included: the
            // chair or a co-chair decides that for the case, not any professional.
            if !is_admin(st) {
                return Err(Rejection::NotAdmin {
                    action: "name a storage peer",
                });
            }
            if org.is_empty() {
                return Err(Rejection::Invalid(
                    "a storage peer is run by an organisation".into(),
                ));
            }
            if let Some(owner) = st.device_owner.get(&device.device_id()) {
                return Err(Rejection::DeviceTaken {
                    device: device.device_id().to_hex(),
                    member: owner.clone(),
                });
            }
            st.storage_peers.insert(device.device_id(), org.to_string());
        }
        Action::RemoveStoragePeer { device } => {
            let author = st.author(op)?;
            let org = st
                .storage_peers
                .get(device)
                .ok_or_else(|| Rejection::Invalid(format!("{device} is no storage peer here")))?;
            if !(is_admin(st) || (author.role.is_professional() && &author.organisation == org)) {
                return Err(Rejection::NotAdmin {
                    action: "remove a storage peer of another organisation",
                });
            }
            st.storage_peers.remove(device);
        }
        Action::Keys => {}
    }
    if op.body.keys.is_empty() {
        return Ok(Vec::new());
    }
    let author_admin = is_admin(st);
    super::access::apply_keys(st, op, author_admin, &|a| log.causally_before(a, op))
}

/// The rule for two admins acting against each other concurrently (a removal, a demotion or a
/// device removal each way, neither having seen the other): the senior admin's op stands and
/// the junior's is void, in every delivery order. Seniority is the order in which the two were
/// made admin (the creator first), so a removed co-chair cannot evict the chair who removed it
/// by signing on stale parents — whatever op id it grinds.
fn outranked(st: &State, op: &Op, log: &Log, target: &str) -> Result<(), Rejection> {
    let (Some(author), Some(victim)) = (
        st.device_owner
            .get(&op.body.author)
            .and_then(|id| st.members.get(id)),
        st.members.get(target),
    ) else {
        return Ok(());
    };
    if author.id == victim.id || !victim.admin || !log.senior(victim, author) {
        return Ok(());
    }
    let struck_back = log.ops.values().any(|o| {
        st.device_owner.get(&o.body.author) == Some(&victim.id)
            && hostile_to(o, &author.id)
            && log.concurrent(o, op)
    });
    if struck_back {
        return Err(Rejection::Outranked {
            member: victim.id.clone(),
        });
    }
    Ok(())
}

fn active<'a>(st: &'a State, id: &str) -> Result<&'a Member, Rejection> {
    st.members
        .get(id)
        .filter(|m| m.status != MemberStatus::Removed)
        .ok_or_else(|| Rejection::UnknownMember {
            member: id.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Date = time::macros::date!(2026 - 11 - 23);

    fn chair() -> (DeviceSecret, Log) {
        let dev = DeviceSecret::generate().unwrap();
        let mut log = Log::new(CaseId([9; 16]), TODAY);
        log.append(
            &dev,
            Action::Create {
                creator: MemberSpec {
                    id: "chair".into(),
                    role: Role::IbEr,
                    organisation: "OBS".into(),
                    custody: false,
                    admin: true,
                    devices: vec![dev.public_identity().clone()],
                },
                birthdate: "2017-03-14".into(),
            },
            KeyUpdate::default(),
            0,
            TODAY,
        )
        .unwrap();
        (dev, log)
    }

    fn member(id: &str, role: Role, custody: bool) -> Action {
        Action::AddMember {
            member: MemberSpec {
                id: id.into(),
                role,
                organisation: if role.is_professional() {
                    "X".into()
                } else {
                    String::new()
                },
                custody,
                admin: false,
                devices: vec![],
            },
        }
    }

    #[test]
    fn parse_refuses_every_malformation() {
        let (_, log) = chair();
        let good = log.ordered().next().unwrap().bytes.clone();
        assert!(Op::parse(&good).is_ok());
        for cut in [0, 8, 9, good.len() - 1] {
            assert!(Op::parse(&good[..cut]).is_err(), "cut {cut}");
        }
        let mut magic = good.clone();
        magic[0] = b'X';
        assert!(matches!(Op::parse(&magic), Err(OpError::Malformed(_))));
        let mut version = good.clone();
        version[4] = 2;
        assert!(
            Op::parse(&version)
                .unwrap_err()
                .to_string()
                .contains("update MDO")
        );
        let mut len = good.clone();
        len[5] ^= 1;
        assert!(Op::parse(&len).is_err());
        let mut extra = good.clone();
        extra.push(0);
        assert!(Op::parse(&extra).is_err());
        let big = vec![0u8; MAX_OP_LEN + 1];
        assert!(matches!(Op::parse(&big), Err(OpError::TooLarge { .. })));
    }

    #[test]
    fn form_rules() {
        let (dev, mut log) = chair();
        // Only the creation op has no parents.
        let body = OpBody {
            case: CaseId([9; 16]),
            author: dev.device_id(),
            parents: vec![],
            time: 0,
            date: "2026-11-23".into(),
            action: Action::Keys,
            keys: KeyUpdate::default(),
        };
        assert!(Op::sign(&dev, body.clone()).is_err());
        let mut twice = body.clone();
        twice.parents = vec![OpId([1; 32]), OpId([1; 32])];
        assert!(Op::sign(&dev, twice).is_err());
        let mut bad_date = body.clone();
        bad_date.parents = log.heads();
        bad_date.date = "23-11-2026".into();
        assert!(Op::sign(&dev, bad_date).is_err());
        // Another case.
        let mut other = body;
        other.case = CaseId([8; 16]);
        other.parents = vec![OpId([1; 32])];
        let op = Op::sign(&dev, other).unwrap();
        assert!(matches!(
            log.insert(op),
            Err(LogError::Op(OpError::WrongCase { .. }))
        ));
        // Consent that ends before it starts, and bad participant ids.
        let grant = Action::Grant {
            record: ConsentSpec {
                id: "c".into(),
                basis: Basis::Consent {
                    consenters: vec!["x".into()],
                    how: ConsentHow::Oral,
                },
                purpose: String::new(),
                categories: vec![ConsentCategory::Medisch],
                recipients: vec![Recipient::Role(Role::IbEr)],
                from: "2027-01-01".into(),
                until: "2026-01-01".into(),
            },
        };
        assert!(
            log.append(&dev, grant, KeyUpdate::default(), 0, TODAY)
                .is_err()
        );
        assert!(
            log.append(
                &dev,
                member("Sanne Visser", Role::Ouder, true),
                KeyUpdate::default(),
                0,
                TODAY
            )
            .is_err()
        );
    }

    #[test]
    fn domain_rules_on_members_and_consent() {
        let (dev, mut log) = chair();
        let add = |log: &mut Log, a: Action| log.append(&dev, a, KeyUpdate::default(), 0, TODAY);
        add(&mut log, member("sanne", Role::Ouder, true)).unwrap();
        add(&mut log, member("kid", Role::Kind, false)).unwrap();
        // Custody only for parents; ids never reused; the last chair stays.
        assert!(add(&mut log, member("t", Role::Leerkracht, true)).is_err());
        assert!(matches!(
            add(&mut log, member("sanne", Role::Ouder, false)),
            Err(LogError::Rejected(Rejection::MemberExists { .. }))
        ));
        assert!(matches!(
            add(
                &mut log,
                Action::RemoveMember {
                    member: "chair".into(),
                    reason: String::new()
                }
            ),
            Err(LogError::Rejected(Rejection::LastAdmin))
        ));
        // Only parents and the child consent.
        let grant = |by: &str| Action::Grant {
            record: ConsentSpec {
                id: format!("c-{by}"),
                basis: Basis::Consent {
                    consenters: vec![by.into()],
                    how: ConsentHow::Written,
                },
                purpose: "x".into(),
                categories: vec![ConsentCategory::Ggz],
                recipients: vec![Recipient::Organisation("GGD".into())],
                from: "2026-01-01".into(),
                until: "2027-01-01".into(),
            },
        };
        assert!(add(&mut log, grant("chair")).is_err());
        add(&mut log, grant("sanne")).unwrap();
        // Nobody grants themselves access (issue 13 #9): the chair records a consent naming its
        // own organisation — refused.
        let mut own = grant("sanne");
        if let Action::Grant { record } = &mut own {
            record.id = "c-own".into();
            record.recipients = vec![Recipient::Organisation("OBS".into())];
        }
        assert!(add(&mut log, own).is_err());
        let st = log.state();
        assert_eq!(st.consents["c-sanne"].band_at_grant, Some(AgeBand::Onder12));
        assert_eq!(
            st.consents["c-sanne"].custody_at_grant,
            ["sanne".to_string()].into()
        );
        // A withdrawal names someone who consented.
        assert!(
            add(
                &mut log,
                Action::Withdraw {
                    consent: "c-sanne".into(),
                    by: "kid".into(),
                    note: String::new()
                }
            )
            .is_err()
        );
        add(
            &mut log,
            Action::Withdraw {
                consent: "c-sanne".into(),
                by: "sanne".into(),
                note: String::new(),
            },
        )
        .unwrap();
        assert!(log.state().consents["c-sanne"].withdrawn.is_some());
        // A refused local op leaves no trace.
        let n = log.all().count();
        assert!(
            add(
                &mut log,
                Action::Confirm {
                    member: "sanne".into()
                }
            )
            .is_err()
        );
        assert_eq!(log.all().count(), n);
        assert!(log.rejected().is_empty());
    }

    /// An op by `dev` on explicit parents and date (as a modified client would make it).
    fn forged(dev: &DeviceSecret, parents: Vec<OpId>, date: Date, time: i64, action: Action) -> Op {
        Op::sign(
            dev,
            OpBody {
                case: CaseId([9; 16]),
                author: dev.device_id(),
                parents,
                time,
                date: crate::core::model::format_date(date),
                action,
                keys: KeyUpdate::default(),
            },
        )
        .unwrap()
    }

    fn day(n: i64) -> Date {
        TODAY + time::Duration::days(n)
    }

    #[test]
    fn an_op_cannot_be_dated_before_its_causal_past() {
        let (dev, mut log) = chair();
        log.append(
            &dev,
            member("sanne", Role::Ouder, true),
            KeyUpdate::default(),
            0,
            TODAY,
        )
        .unwrap();
        let back = forged(&dev, log.heads(), day(-1), 0, Action::Keys);
        assert!(matches!(
            log.insert(back),
            Ok(Inserted::Rejected(Rejection::Backdated { .. }))
        ));
        // A peer's clock a day ahead: a local op on top of it takes the later date.
        let ahead = forged(&dev, log.heads(), day(1), 0, Action::Keys);
        assert_eq!(log.insert(ahead).unwrap(), Inserted::Applied);
        let op = log
            .append(
                &dev,
                member("erik", Role::Ouder, true),
                KeyUpdate::default(),
                0,
                TODAY,
            )
            .unwrap();
        assert_eq!(op.date, day(1));
    }

    #[test]
    fn an_op_dated_ahead_of_the_clock_waits_for_it() {
        let (dev, mut log) = chair();
        let far = forged(
            &dev,
            log.heads(),
            day(2),
            0,
            member("sanne", Role::Ouder, true),
        );
        assert_eq!(log.insert(far.clone()).unwrap(), Inserted::Pending);
        assert_eq!((log.pending(), log.from_the_future()), (1, 1));
        // Ops on top of it wait too; the device's own ops do not build on it.
        let child = forged(&dev, vec![far.id], day(2), 0, Action::Keys);
        assert_eq!(log.insert(child).unwrap(), Inserted::Pending);
        assert!(!log.heads().contains(&far.id));
        assert!(!log.state().members.contains_key("sanne"));
        // Once the clock reaches it, it counts.
        let mut later = Log::new(CaseId([9; 16]), day(1));
        for op in log.all() {
            later.insert(op.clone()).unwrap();
        }
        assert_eq!(later.pending(), 0);
        assert!(later.state().members["sanne"].is_active());
    }

    /// The chair, a co-chair with a device, and the heads before the chair removes the co-chair.
    fn chair_and_co() -> (DeviceSecret, DeviceSecret, Log) {
        let (dev, mut log) = chair();
        let co = DeviceSecret::generate().unwrap();
        let mut spec = match member("co", Role::Directeur, false) {
            Action::AddMember { member } => member,
            _ => unreachable!(),
        };
        spec.admin = true;
        spec.devices = vec![co.public_identity().clone()];
        log.append(
            &dev,
            Action::AddMember { member: spec },
            KeyUpdate::default(),
            0,
            TODAY,
        )
        .unwrap();
        (dev, co, log)
    }

    #[test]
    fn a_removed_or_demoted_co_chair_cannot_strike_back_whatever_its_op_id() {
        let (dev, co, base) = chair_and_co();
        let stale = base.heads();
        let chair_dev = dev.device_id();
        let removal = Action::RemoveMember {
            member: "co".into(),
            reason: String::new(),
        };
        let demotion = Action::SetRole {
            member: "co".into(),
            role: Role::Directeur,
            admin: false,
        };
        let strikes = [
            Action::RemoveMember {
                member: "chair".into(),
                reason: String::new(),
            },
            Action::SetRole {
                member: "chair".into(),
                role: Role::IbEr,
                admin: false,
            },
            Action::RemoveDevice {
                member: "chair".into(),
                device: chair_dev,
            },
        ];
        for by_chair in [removal, demotion] {
            let mut l = base.clone();
            let r = l
                .append(&dev, by_chair.clone(), KeyUpdate::default(), 0, TODAY)
                .unwrap();
            for strike in &strikes {
                // Different times give different op ids: some sort before the chair's op.
                for t in 0..12 {
                    let a = forged(&co, stale.clone(), TODAY, t, strike.clone());
                    let (before, after) = (a.id < r.id, a.id > r.id);
                    assert!(before || after);
                    for order in [[r.clone(), a.clone()], [a.clone(), r.clone()]] {
                        let mut log = base.clone();
                        for op in order {
                            log.insert(op).unwrap();
                        }
                        let st = log.state();
                        let chair = &st.members["chair"];
                        assert!(chair.is_active() && chair.admin, "{strike:?} {by_chair:?}");
                        assert!(chair.devices.contains(&chair_dev));
                        assert!(log.rejected().contains_key(&a.id));
                        assert!(!log.rejected().contains_key(&r.id));
                        assert!(!st.members["co"].admin || !st.members["co"].is_active());
                    }
                }
            }
        }
    }

    #[test]
    fn admin_ops_concurrent_with_a_demotion_lose_the_admin_right() {
        let (dev, co, base) = chair_and_co();
        let stale = base.heads();
        let mut log = base.clone();
        log.append(
            &dev,
            Action::SetRole {
                member: "co".into(),
                role: Role::Directeur,
                admin: false,
            },
            KeyUpdate::default(),
            0,
            TODAY,
        )
        .unwrap();
        let birth = forged(
            &co,
            stale.clone(),
            TODAY,
            0,
            Action::SetBirthdate {
                birthdate: "2009-01-01".into(),
            },
        );
        let add = forged(
            &co,
            stale,
            TODAY,
            0,
            member("puppet", Role::Leerkracht, false),
        );
        assert!(matches!(
            log.insert(birth).unwrap(),
            Inserted::Rejected(Rejection::NotAdmin { .. })
        ));
        log.insert(add).unwrap();
        assert_eq!(
            log.state().members["puppet"].status,
            MemberStatus::Unconfirmed
        );
        assert_eq!(
            log.state().birthdate,
            Some(time::macros::date!(2017 - 03 - 14))
        );
    }

    #[test]
    fn devices_that_remove_each_other_concurrently_are_both_removed() {
        let (dev, mut log) = chair();
        let (a, b) = (
            DeviceSecret::generate().unwrap(),
            DeviceSecret::generate().unwrap(),
        );
        for d in [&a, &b] {
            log.append(
                &dev,
                Action::AddDevice {
                    member: "chair".into(),
                    device: d.public_identity().clone(),
                },
                KeyUpdate::default(),
                0,
                TODAY,
            )
            .unwrap();
        }
        let heads = log.heads();
        let rm = |by: &DeviceSecret, of: &DeviceSecret, t| {
            forged(
                by,
                heads.clone(),
                TODAY,
                t,
                Action::RemoveDevice {
                    member: "chair".into(),
                    device: of.device_id(),
                },
            )
        };
        for t in 0..6 {
            let (x, y) = (rm(&a, &b, t), rm(&b, &a, t));
            for order in [[x.clone(), y.clone()], [y.clone(), x.clone()]] {
                let mut l = log.clone();
                for op in order {
                    l.insert(op).unwrap();
                }
                let devices = &l.state().members["chair"].devices;
                assert!(!devices.contains(&a.device_id()) && !devices.contains(&b.device_id()));
                assert!(devices.contains(&dev.device_id()));
                // A later op of a removed device, concurrent or not, is refused.
                let late = forged(&a, l.heads(), TODAY, 0, Action::Keys);
                assert!(matches!(
                    l.insert(late).unwrap(),
                    Inserted::Rejected(Rejection::DeviceRemoved { .. })
                ));
            }
        }
    }

    #[test]
    fn recipients_parse() {
        let (dev, mut log) = chair();
        log.append(
            &dev,
            member("sanne", Role::Ouder, true),
            KeyUpdate::default(),
            0,
            TODAY,
        )
        .unwrap();
        let m = &log.state().members;
        assert_eq!(
            Recipient::parse("sanne", m).unwrap(),
            Recipient::Member("sanne".into())
        );
        assert_eq!(
            Recipient::parse("jeugdarts", m).unwrap(),
            Recipient::Role(Role::Jeugdarts)
        );
        assert_eq!(
            Recipient::parse("OBS", m).unwrap(),
            Recipient::Organisation("OBS".into())
        );
        assert_eq!(
            Recipient::parse("org:GGD", m).unwrap(),
            Recipient::Organisation("GGD".into())
        );
        assert!(Recipient::parse("role:bakker", m).is_err());
        assert!(
            Recipient::parse("niemand", m)
                .unwrap_err()
                .contains("member list")
        );
    }
}
