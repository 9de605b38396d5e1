//! The signed op format: what an op says ([`OpBody`], [`Action`], the keys it carries), how it
//! is encoded and signed ([`Op::sign`]) and how outside bytes are read and verified
//! ([`Op::parse`], with the form rules every op must meet before any right is checked).
//!
//! Nothing here depends on the derived state: an op is read the same way by every peer.

use std::collections::HashSet;

use mdo_crypto::{
    CaseId, ChunkId, CompartmentId, CryptoError, DeviceId, DeviceSecret, EpochLink, OpId,
    PublicIdentity, WrappedKeys,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::core::model::{ConsentCategory, ConsentHow, Date, LegalGround, Role, parse_date};

/// Magic bytes of an op.
pub const OP_MAGIC: &[u8; 4] = b"MDOP";
/// Current op format version.
pub const OP_VERSION: u8 = 1;
/// Largest op accepted (a rotation carrying bundles for a few hundred devices fits).
pub const MAX_OP_LEN: usize = 4 << 20;
/// Signature context of ops.
pub const SIG_CONTEXT: &str = "MDO 2026-11 membership op v1";
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
    /// Gezag not yet checked (then `custody` is false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub custody_unknown: bool,
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
    /// Consent of the people the age rules require. Each person's answer is their own act
    /// ([`Action::Answer`]); the record is active when everyone the age band requires has given
    /// it (`core::access::consent_status`).
    Consent {
        /// Who gave it when it was recorded: nobody (the question, answered by each person in an
        /// [`Action::Answer`]) or exactly one person — each consent is one person's own act.
        #[serde(default)]
        consenters: Vec<String>,
        /// How the consenter named here gave it.
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
    /// The source: the organisations whose information it opens (their compartments of these
    /// categories, `category:C:ORG`). Required for every category but `dossier` (the shared case
    /// with parents, which has no organisation): a consent is specific (AVG art. 4(11), 7), and
    /// one for the GGD jeugdarts's finding does not open a GGZ provider's file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
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
        /// Not yet checked in the gezagsregister (then `custody` is false).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unknown: bool,
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
    /// One person's own answer to a consent record: given or refused (issue 14; AVG art. 4(11),
    /// 7(1)). Recorded by the person on their own device, or by a professional on behalf of this
    /// one named person, saying how it was given. A given consent ends only by [`Action::Withdraw`].
    Answer {
        /// Record id.
        consent: String,
        /// The person who answered (a parent or the child).
        person: String,
        /// Given (`true`) or refused.
        given: bool,
        /// How the answer was given.
        how: ConsentHow,
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// The holder's release of medical or GGZ information after consent: under medical secrecy
    /// consent makes disclosure allowed, the doctor still decides whether to disclose (WGBO art.
    /// 7:457). Only a medical professional of a source organisation releases, for that
    /// organisation's compartments.
    Release {
        /// Record id.
        consent: String,
        /// Note (what and why).
        #[serde(default)]
        note: String,
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
    /// Closes the case (the chair or a co-chair): the retention terms run from this op's date.
    Close {
        /// Why.
        reason: String,
    },
    /// Reopens a closed case (the chair or a co-chair); the terms start again at the next
    /// closing.
    Reopen {
        /// Why.
        reason: String,
    },
    /// An organisation's own retention term for what it holds in the case, set by one of its
    /// professionals (never below a statutory minimum).
    SetRetention {
        /// The organisation.
        organisation: String,
        /// Years after the clock's start.
        years: u32,
        /// Why.
        reason: String,
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
    ///
    /// [`Rejection::Backdated`]: super::Rejection::Backdated
    /// [`MAX_CLOCK_SKEW_DAYS`]: super::MAX_CLOCK_SKEW_DAYS
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
        Action::Answer {
            consent, person, ..
        } if !id_ok(consent) || !id_ok(person) => {
            return Err(bad("consent or participant id".into()));
        }
        Action::Close { reason } | Action::Reopen { reason }
            if reason.trim().is_empty() || !text_ok(reason) =>
        {
            return Err(bad("a closing or reopening says why".into()));
        }
        Action::SetRetention {
            organisation,
            years,
            reason,
        } if organisation.trim().is_empty()
            || !text_ok(organisation)
            || *years > 100
            || reason.trim().is_empty()
            || !text_ok(reason) =>
        {
            return Err(bad(
                "a retention term names an organisation, at most 100 years and why".into(),
            ));
        }
        Action::Withdraw { note, .. }
        | Action::RemoveMember { reason: note, .. }
        | Action::Answer { note, .. }
        | Action::Release { note, .. }
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

impl From<CryptoError> for OpError {
    fn from(e: CryptoError) -> Self {
        OpError::Malformed(e.to_string())
    }
}
