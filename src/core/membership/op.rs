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
/// Current op format version: 2 carries key material beside the signed body (issue 17), so a
/// device can drop the keys of a destroyed compartment and still verify the op.
pub const OP_VERSION: u8 = 2;
/// The first format: key material inside the signed body (still read).
pub const OP_VERSION_1: u8 = 1;
/// Most detached blobs (bundles and links) one op carries.
const MAX_DETACHED: usize = 8192;
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
    /// Destroys compartments of one organisation in this case (issue 17): every device that
    /// learns of it drops their keys, then their chunks, and never takes either back. The op is
    /// the tombstone: it carries no content. Signed by a professional of that organisation, the
    /// controller of those compartments (`core::retention::owner_of`).
    Destroy {
        /// The organisation (controller).
        organisation: String,
        /// The compartments' descriptors.
        compartments: Vec<String>,
        /// Why.
        ground: DestroyGround,
        /// The legal exceptions the controller weighed, in words (BW 7:455 lid 2, Jeugdwet
        /// 7.3.9, AVG art. 17 lid 3).
        #[serde(default)]
        exceptions: String,
    },
    /// A request to destroy what one organisation holds about the child in this case (AVG art.
    /// 17; BW 7:455; Jeugdwet 7.3.9), by a person whose signature it needs (under 12 the parents
    /// with gezag, from 12 the child: `core::access::destruction_signers`). The first op opens
    /// the request; the same request id by another required person adds their signature. It
    /// names no content.
    RequestDestruction {
        /// Request id.
        request: String,
        /// The organisation asked.
        organisation: String,
    },
    /// The organisation's answer to a destruction request: granted (carried out with a
    /// [`Action::Destroy`] naming the request) or refused, with the legal ground and why.
    AnswerDestruction {
        /// Request id.
        request: String,
        /// Granted.
        granted: bool,
        /// The legal ground (a refusal: BW 7:455 lid 2, Jeugdwet 7.3.9 lid 2, AVG art. 17 lid 3).
        ground: String,
        /// Why, in words the requester reads.
        reason: String,
    },
    /// Only a key update.
    Keys,
}

/// Why compartments are destroyed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ground", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DestroyGround {
    /// The end of the retention term (`core::retention::schedule`).
    Retention,
    /// A granted destruction request.
    Request {
        /// Its id.
        request: String,
    },
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
    /// The previous key encrypted under this one (epoch > 0). Format 1 carries it here; format
    /// 2 carries it beside the signed body and only its hash here ([`NewEpoch::link_hash`]).
    /// [`Op::sign`] moves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Blob>,
    /// BLAKE3 of the link carried beside the body (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_hash: Option<Blob>,
    /// Chunks of the previous epochs by writers who lose their write right with this rotation
    /// that stay part of the history.
    #[serde(default)]
    pub closing: Vec<ChunkId>,
}

/// A key bundle carried beside the signed body (format 2): to whom, which compartment and
/// epochs, and the BLAKE3 hash of the [`WrappedKeys`] bytes. One compartment per bundle, so that
/// destroying one compartment drops no other compartment's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleRef {
    /// The recipient device.
    pub to: DeviceId,
    /// The compartment.
    pub compartment: CompartmentId,
    /// The epochs, in the bundle's order.
    pub epochs: Vec<u32>,
    /// BLAKE3 of the bundle.
    pub hash: Blob,
}

/// Keys carried by an op.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUpdate {
    /// New epochs.
    #[serde(default)]
    pub epochs: Vec<NewEpoch>,
    /// [`WrappedKeys`] bundles, each to one device. Format 1 carries them here; for format 2
    /// [`Op::sign`] moves them beside the body and leaves [`KeyUpdate::refs`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrapped: Vec<Blob>,
    /// The bundles carried beside the body (format 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<BundleRef>,
}

impl KeyUpdate {
    /// Nothing in it.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty() && self.wrapped.is_empty() && self.refs.is_empty()
    }
}

/// One key bundle of an op as every device sees it: to whom and for what, from the signed body;
/// the bundle itself if this copy of the op still carries it.
#[derive(Debug, Clone)]
pub struct BundleView {
    /// The recipient device.
    pub to: DeviceId,
    /// (compartment, epoch) of each key.
    pub entries: Vec<(CompartmentId, u32)>,
    /// The bundle (absent once the compartment was destroyed on this device).
    pub bundle: Option<WrappedKeys>,
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

/// A blob of key material carried beside the signed body, with its BLAKE3 hash.
type Detached = ([u8; 32], Vec<u8>);

/// A parsed op whose signature has been verified.
///
/// Wire format 2 (format 1 is the first 4 fields, with the keys inside the body):
///
/// ```text
/// "MDOP" ‖ version (1) ‖ body length (u32 LE) ‖ body (JSON) ‖ signature (64)
///        ‖ n (u16 LE) ‖ n × (length (u32 LE) ‖ bundle or link)
/// ```
///
/// The signature covers the header and the body; the id is BLAKE3 of the signed part and the
/// signature, so it does not change when key material is dropped. Each detached blob must be
/// one the body names by hash; any of them may be missing (dropped with a destroyed compartment).
#[derive(Debug, Clone)]
pub struct Op {
    /// BLAKE3 of its signed bytes and signature.
    pub id: OpId,
    /// Content.
    pub body: OpBody,
    /// Date of `body.date`.
    pub date: Date,
    /// The bytes as stored and sent (with the key material this copy carries).
    pub bytes: Vec<u8>,
    /// Format version.
    pub version: u8,
    /// Key material carried beside the body (format 2): each blob with its BLAKE3 hash.
    detached: Vec<Detached>,
}

impl Op {
    /// Builds and signs an op in format 2 (its form is checked as [`Op::parse`] would; the
    /// signature just made is not verified again). Key material given inside the body (bundles
    /// in `keys.wrapped`, links in `NewEpoch::link`) is moved beside it: each bundle must hold
    /// keys of one compartment.
    pub fn sign(author: &DeviceSecret, mut body: OpBody) -> Result<Op, OpError> {
        if body.author != author.device_id() {
            return Err(OpError::Malformed(
                "the author is not the signing device".into(),
            ));
        }
        let mut detached: Vec<Detached> = Vec::new();
        for w in std::mem::take(&mut body.keys.wrapped) {
            let parsed = WrappedKeys::from_bytes(&w.0)?;
            let compartment = match parsed.entries() {
                [(c, _), rest @ ..] if rest.iter().all(|(x, _)| x == c) => *c,
                _ => {
                    return Err(OpError::Malformed(
                        "a key bundle holds keys of one compartment".into(),
                    ));
                }
            };
            let hash = *blake3::hash(&w.0).as_bytes();
            body.keys.refs.push(BundleRef {
                to: parsed.recipient(),
                compartment,
                epochs: parsed.entries().iter().map(|(_, e)| *e).collect(),
                hash: Blob(hash.to_vec()),
            });
            detached.push((hash, w.0));
        }
        for e in &mut body.keys.epochs {
            if let Some(l) = e.link.take() {
                let hash = *blake3::hash(&l.0).as_bytes();
                e.link_hash = Some(Blob(hash.to_vec()));
                detached.push((hash, l.0));
            }
        }
        let date = check_form(&body, OP_VERSION)?;
        check_detached(&body, &detached)?;
        let json = serde_json::to_vec(&body).map_err(|e| OpError::Malformed(e.to_string()))?;
        let mut bytes = Vec::with_capacity(HEADER_LEN + json.len() + SIG_LEN);
        bytes.extend_from_slice(OP_MAGIC);
        bytes.push(OP_VERSION);
        let len = u32::try_from(json.len()).map_err(|_| OpError::TooLarge {
            len: json.len(),
            max: MAX_OP_LEN,
        })?;
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&json);
        let sig = author.sign(SIG_CONTEXT, &bytes);
        bytes.extend_from_slice(&sig);
        let id = OpId(*blake3::hash(&bytes).as_bytes());
        let op = Op {
            id,
            body,
            date,
            bytes,
            version: OP_VERSION,
            detached,
        };
        let op = op.rebuilt();
        if op.bytes.len() > MAX_OP_LEN {
            return Err(OpError::TooLarge {
                len: op.bytes.len(),
                max: MAX_OP_LEN,
            });
        }
        Ok(op)
    }

    /// The signed part and signature (what the id hashes).
    fn signed_len(&self) -> usize {
        match self.version {
            OP_VERSION_1 => self.bytes.len(),
            _ => {
                let len = u32::from_le_bytes([
                    self.bytes[5],
                    self.bytes[6],
                    self.bytes[7],
                    self.bytes[8],
                ]) as usize;
                HEADER_LEN + len + SIG_LEN
            }
        }
    }

    /// The op with `bytes` written again from the signed part and `detached`.
    fn rebuilt(mut self) -> Op {
        if self.version == OP_VERSION_1 {
            return self;
        }
        let n = self.signed_len();
        self.bytes.truncate(n);
        self.bytes
            .extend_from_slice(&(self.detached.len() as u16).to_le_bytes());
        for (_, b) in &self.detached {
            self.bytes
                .extend_from_slice(&(b.len() as u32).to_le_bytes());
            self.bytes.extend_from_slice(b);
        }
        self
    }

    /// Parses and verifies an op from outside bytes: size, magic, version, strict JSON, form
    /// (dates, limits, key bundles), the key material beside the body and the author's
    /// signature.
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
        let version = bytes[4];
        if version != OP_VERSION && version != OP_VERSION_1 {
            return Err(OpError::Malformed(format!(
                "op format version {version} (this MDO reads {OP_VERSION_1} and {OP_VERSION}); update MDO"
            )));
        }
        let len = u32::from_le_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) as usize;
        let signed_end = HEADER_LEN
            .checked_add(len)
            .and_then(|x| x.checked_add(SIG_LEN))
            .ok_or_else(|| OpError::Malformed("body length".into()))?;
        let exact = version == OP_VERSION_1;
        if (exact && signed_end != bytes.len()) || signed_end > bytes.len() {
            return Err(OpError::Malformed(format!(
                "body length {len} does not match the op's {} bytes",
                bytes.len()
            )));
        }
        let (signed, sig) = bytes[..signed_end].split_at(HEADER_LEN + len);
        let body: OpBody = serde_json::from_slice(&signed[HEADER_LEN..])
            .map_err(|e| OpError::Malformed(e.to_string()))?;
        let date = check_form(&body, version)?;
        let detached = if exact {
            Vec::new()
        } else {
            read_detached(&bytes[signed_end..])?
        };
        check_detached(&body, &detached)?;
        let sig: [u8; 64] = sig
            .try_into()
            .map_err(|_| OpError::Malformed("signature length".into()))?;
        body.author
            .verify(SIG_CONTEXT, signed, &sig)
            .map_err(|_| OpError::BadSignature)?;
        Ok(Op {
            id: OpId(*blake3::hash(&bytes[..signed_end]).as_bytes()),
            body,
            date,
            bytes: bytes.to_vec(),
            version,
            detached,
        })
    }

    /// Every key bundle of the op: to whom and for what (from the signed body), with the bundle
    /// where this copy still carries it.
    pub fn bundles(&self) -> Vec<BundleView> {
        if self.version == OP_VERSION_1 {
            return self
                .body
                .keys
                .wrapped
                .iter()
                .filter_map(|w| WrappedKeys::from_bytes(&w.0).ok())
                .map(|w| BundleView {
                    to: w.recipient(),
                    entries: w.entries().to_vec(),
                    bundle: Some(w),
                })
                .collect();
        }
        self.body
            .keys
            .refs
            .iter()
            .map(|r| BundleView {
                to: r.to,
                entries: r.epochs.iter().map(|e| (r.compartment, *e)).collect(),
                bundle: self
                    .blob(&r.hash.0)
                    .and_then(|b| WrappedKeys::from_bytes(b).ok()),
            })
            .collect()
    }

    /// The epoch links this copy carries.
    pub fn links(&self) -> Vec<EpochLink> {
        self.body
            .keys
            .epochs
            .iter()
            .filter_map(|e| match (&e.link, &e.link_hash) {
                (Some(l), _) => Some(l.0.as_slice()),
                (None, Some(h)) => self.blob(&h.0),
                (None, None) => None,
            })
            .filter_map(|b| EpochLink::from_bytes(b).ok())
            .collect()
    }

    fn blob(&self, hash: &[u8]) -> Option<&[u8]> {
        self.detached
            .iter()
            .find(|(h, _)| h.as_slice() == hash)
            .map(|(_, b)| b.as_slice())
    }

    /// The compartments whose key material this copy carries.
    pub fn material_of(&self) -> std::collections::BTreeSet<CompartmentId> {
        let mut out = std::collections::BTreeSet::new();
        for b in self.bundles() {
            if b.bundle.is_some() {
                out.extend(b.entries.iter().map(|(c, _)| *c));
            }
        }
        out.extend(self.links().iter().map(|l| l.compartment()));
        out
    }

    /// This op with the key material `other` (a copy of the same op) carries and this one lacks,
    /// or `None` if it adds nothing: a copy that arrived without some bundles (a relay that
    /// dropped them) is completed by a later, whole copy.
    pub fn with_material_of(&self, other: &Op) -> Option<Op> {
        if other.id != self.id || self.version == OP_VERSION_1 {
            return None;
        }
        let mut op = self.clone();
        let mut added = false;
        for (h, b) in &other.detached {
            if !op.detached.iter().any(|(x, _)| x == h) {
                op.detached.push((*h, b.clone()));
                added = true;
            }
        }
        added.then(|| op.rebuilt())
    }

    /// The op without the key material of `compartments` (bundles and links), or `None` if it
    /// carries none of it. A format-1 op cannot drop anything (its keys are signed): `Err` with
    /// the compartments it still holds keys of.
    pub fn without_material(
        &self,
        compartments: &std::collections::BTreeSet<CompartmentId>,
    ) -> Result<Option<Op>, Vec<CompartmentId>> {
        let held: Vec<CompartmentId> = self
            .material_of()
            .intersection(compartments)
            .copied()
            .collect();
        if held.is_empty() {
            return Ok(None);
        }
        if self.version == OP_VERSION_1 {
            return Err(held);
        }
        let mut drop: HashSet<[u8; 32]> = HashSet::new();
        for r in &self.body.keys.refs {
            if compartments.contains(&r.compartment)
                && let Ok(h) = <[u8; 32]>::try_from(r.hash.0.as_slice())
            {
                drop.insert(h);
            }
        }
        for e in &self.body.keys.epochs {
            if compartments.contains(&e.compartment)
                && let Some(h) = &e.link_hash
                && let Ok(h) = <[u8; 32]>::try_from(h.0.as_slice())
            {
                drop.insert(h);
            }
        }
        let mut op = self.clone();
        op.detached.retain(|(h, _)| !drop.contains(h));
        Ok(Some(op.rebuilt()))
    }
}

/// Reads the detached blobs after the signature (format 2).
fn read_detached(mut rest: &[u8]) -> Result<Vec<Detached>, OpError> {
    let bad = |s: &str| OpError::Malformed(s.to_string());
    if rest.len() < 2 {
        return Err(bad("the key material's count is missing"));
    }
    let n = u16::from_le_bytes([rest[0], rest[1]]) as usize;
    rest = &rest[2..];
    if n > MAX_DETACHED {
        return Err(bad("too much key material in one op"));
    }
    let mut out = Vec::with_capacity(n.min(256));
    for _ in 0..n {
        if rest.len() < 4 {
            return Err(bad("key material cut short"));
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4..];
        if len > rest.len() {
            return Err(bad("key material cut short"));
        }
        let (b, r) = rest.split_at(len);
        out.push((*blake3::hash(b).as_bytes(), b.to_vec()));
        rest = r;
    }
    if !rest.is_empty() {
        return Err(bad("bytes after the key material"));
    }
    Ok(out)
}

/// Every detached blob is one the body names by hash (once), and is what the body says: a
/// bundle to that device for that compartment and those epochs, or that compartment's link.
fn check_detached(body: &OpBody, detached: &[Detached]) -> Result<(), OpError> {
    let bad = |s: String| OpError::Malformed(s);
    let refs: std::collections::HashMap<&[u8], &BundleRef> = body
        .keys
        .refs
        .iter()
        .map(|r| (r.hash.0.as_slice(), r))
        .collect();
    let links: std::collections::HashMap<&[u8], &NewEpoch> = body
        .keys
        .epochs
        .iter()
        .filter_map(|e| e.link_hash.as_ref().map(|h| (h.0.as_slice(), e)))
        .collect();
    let mut seen = HashSet::new();
    for (h, b) in detached {
        if !seen.insert(*h) {
            return Err(bad("a key blob is carried twice".into()));
        }
        if let Some(r) = refs.get(h.as_slice()) {
            let w = WrappedKeys::from_bytes(b)?;
            let entries: Vec<(CompartmentId, u32)> =
                r.epochs.iter().map(|e| (r.compartment, *e)).collect();
            if w.case() != body.case || w.recipient() != r.to || w.entries() != entries.as_slice() {
                return Err(bad("a key bundle is not the one the op names".into()));
            }
        } else if let Some(e) = links.get(h.as_slice()) {
            let link = EpochLink::from_bytes(b)?;
            if link.case() != body.case
                || link.compartment() != e.compartment
                || link.newer_epoch() != e.epoch
            {
                return Err(bad("an epoch link is not the one the op names".into()));
            }
        } else {
            return Err(bad("key material the op does not name".into()));
        }
    }
    Ok(())
}

fn check_form(b: &OpBody, version: u8) -> Result<Date, OpError> {
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
        Action::Destroy {
            organisation,
            compartments,
            ground,
            exceptions,
        } => {
            if organisation.trim().is_empty()
                || !text_ok(organisation)
                || compartments.is_empty()
                || compartments.len() > 256
                || compartments.iter().any(|c| !text_ok(c))
                || !text_ok(exceptions)
            {
                return Err(bad(
                    "a destruction names an organisation and its compartments".into(),
                ));
            }
            if let DestroyGround::Request { request } = ground
                && !id_ok(request)
            {
                return Err(bad("request id".into()));
            }
        }
        Action::RequestDestruction {
            request,
            organisation,
        } if !id_ok(request) || organisation.trim().is_empty() || !text_ok(organisation) => {
            return Err(bad(
                "a destruction request has an id and an organisation".into()
            ));
        }
        Action::AnswerDestruction {
            request,
            ground,
            reason,
            ..
        } if !id_ok(request)
            || ground.trim().is_empty()
            || reason.trim().is_empty()
            || !text_ok(ground)
            || !text_ok(reason) =>
        {
            return Err(bad("an answer names its legal ground and says why".into()));
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
    if b.keys.epochs.len() > 4096 || b.keys.wrapped.len() > 4096 || b.keys.refs.len() > 4096 {
        return Err(bad("too many keys in one op".into()));
    }
    let v1 = version == OP_VERSION_1;
    if v1 && (!b.keys.refs.is_empty() || b.keys.epochs.iter().any(|e| e.link_hash.is_some())) {
        return Err(bad("a format-1 op carries its keys inside".into()));
    }
    if !v1 && (!b.keys.wrapped.is_empty() || b.keys.epochs.iter().any(|e| e.link.is_some())) {
        return Err(bad("a format-2 op carries its keys beside the body".into()));
    }
    let mut seen = HashSet::new();
    for e in &b.keys.epochs {
        if !seen.insert(e.compartment) {
            return Err(bad("one compartment gets two new epochs in one op".into()));
        }
        if e.commitment.0.len() != 32 || e.closing.len() > 100_000 || !text_ok(&e.descriptor) {
            return Err(bad("new epoch entry".into()));
        }
        match (&e.link, &e.link_hash, e.epoch) {
            (None, None, 0) => {}
            (Some(l), None, n) if n > 0 => {
                let link = EpochLink::from_bytes(&l.0).map_err(|e| bad(e.to_string()))?;
                if link.case() != b.case || link.compartment() != e.compartment {
                    return Err(bad("epoch link of another compartment".into()));
                }
                if link.newer_epoch() != n {
                    return Err(bad("epoch link of another epoch".into()));
                }
            }
            (None, Some(h), n) if n > 0 && h.0.len() == 32 => {}
            _ => return Err(bad("epoch 0 has no link and later epochs need one".into())),
        }
    }
    for w in &b.keys.wrapped {
        let w = WrappedKeys::from_bytes(&w.0).map_err(|e| bad(e.to_string()))?;
        if w.case() != b.case {
            return Err(bad("key bundle of another case".into()));
        }
    }
    let mut hashes = HashSet::new();
    for r in &b.keys.refs {
        if r.hash.0.len() != 32
            || r.epochs.is_empty()
            || r.epochs.len() > mdo_crypto::wrap::MAX_KEYS
            || !hashes.insert(r.hash.0.clone())
        {
            return Err(bad("key bundle reference".into()));
        }
    }
    Ok(date)
}

impl From<CryptoError> for OpError {
    fn from(e: CryptoError) -> Self {
        OpError::Malformed(e.to_string())
    }
}
