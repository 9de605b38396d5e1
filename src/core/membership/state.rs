//! The state every peer derives from the log: participants ([`Member`]), consent records and
//! legal bases ([`ConsentRecord`]), the key history of every compartment ([`CompartmentKeys`]),
//! storage peers — and the questions asked of it (a device's participant, the child's age band,
//! the parents with gezag, who a consent's [`Recipient`] names).

use std::collections::{BTreeMap, BTreeSet};

use mdo_crypto::{CaseId, ChunkId, CompartmentId, DeviceId, EpochLink, OpId, PublicIdentity};
use serde::Serialize;

use super::op::{ConsentSpec, Recipient};
use crate::core::model::{AgeBand, Date, Role, age_band};

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
    /// Gezag not yet checked in the gezagsregister ("gezag onbekend"): counts as no gezag for
    /// reading, but the person's consent is still asked and nothing medical is released until
    /// it is checked (law notes §7; `docs/sharing-rules.md`).
    pub custody_unknown: bool,
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
    pub(super) added_op: Option<OpId>,
    #[serde(skip)]
    pub(super) removed_op: Option<OpId>,
    /// The op that made them admin (their seniority among admins: earlier in the log's order is
    /// senior; the creator is the most senior).
    #[serde(skip)]
    pub(super) admin_op: Option<OpId>,
    /// The op that took their admin right away (until an admin right is granted again).
    #[serde(skip)]
    pub(super) demoted_op: Option<OpId>,
}

impl Member {
    /// Active (not removed, not unconfirmed).
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }
    /// A parent with gezag.
    pub fn is_custody_parent(&self) -> bool {
        self.role.may_hold_gezag() && self.custody
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

/// The closing of a case (issue 17): the retention terms run from its date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Closure {
    /// Date (`YYYY-MM-DD`).
    pub on: String,
    /// The chair or co-chair who closed it (participant id).
    pub by: String,
    /// Why.
    pub reason: String,
}

/// What a destruction op left of a compartment (issue 17): content-free, kept for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tombstone {
    /// The compartment's descriptor.
    pub descriptor: String,
    /// The organisation that decided (the controller).
    pub organisation: String,
    /// Date (`YYYY-MM-DD`).
    pub on: String,
    /// Who decided (participant id).
    pub by: String,
    /// The request it carried out, if any (else the end of the retention term).
    pub request: Option<String>,
    /// The legal exceptions weighed.
    pub exceptions: String,
    /// The destruction op.
    #[serde(skip)]
    pub op: OpId,
}

/// A destruction request (issue 17) and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestructionRequest {
    /// Request id.
    pub id: String,
    /// The organisation asked.
    pub organisation: String,
    /// Date it was opened (`YYYY-MM-DD`).
    pub opened: String,
    /// Who signed it, with the date (participant id, `YYYY-MM-DD`).
    pub signed: Vec<(String, String)>,
    /// The answer.
    pub answer: Option<DestructionAnswer>,
    /// Carried out: the date of the destruction op.
    pub carried_out: Option<String>,
}

/// An organisation's answer to a destruction request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestructionAnswer {
    /// Granted.
    pub granted: bool,
    /// The legal ground.
    pub ground: String,
    /// Why.
    pub reason: String,
    /// Who answered (participant id).
    pub by: String,
    /// Date (`YYYY-MM-DD`).
    pub on: String,
}

/// An organisation's own retention term for what it holds in the case (issue 17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionSetting {
    /// Years after the clock's start.
    pub years: u32,
    /// Why (required: a term differs from the default only for a reason).
    pub reason: String,
    /// Who set it (participant id).
    pub by: String,
    /// Date (`YYYY-MM-DD`).
    pub on: String,
}

/// One person's standing on a consent record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerState {
    /// Gave consent.
    Given,
    /// Refused.
    Refused,
    /// Gave it, then withdrew it.
    Withdrawn,
}

impl AnswerState {
    /// Dutch label.
    pub fn label(self) -> &'static str {
        match self {
            AnswerState::Given => "gegeven",
            AnswerState::Refused => "geweigerd",
            AnswerState::Withdrawn => "ingetrokken",
        }
    }
}

/// One person's answer as recorded (their own act, or recorded on their behalf).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonAnswer {
    /// Given, refused or withdrawn.
    pub state: AnswerState,
    /// How it was given.
    pub how: crate::core::model::ConsentHow,
    /// Who recorded it (the person, or the professional on their behalf).
    pub recorded_by: String,
    /// When (YYYY-MM-DD).
    pub on: String,
    /// Note.
    pub note: String,
}

/// A medical professional's release of their organisation's information after consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// The professional who released.
    pub by: String,
    /// When (YYYY-MM-DD).
    pub on: String,
    /// Note.
    pub note: String,
    /// Whose consent it was released on: the people the age rules required that day. When
    /// that set changes (the child turns 12, gezag changes), the release no longer counts and
    /// the doctor looks again (review of issue 14).
    pub for_people: BTreeSet<String>,
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
    /// Each person's answer, by participant id (consent records only).
    pub answers: BTreeMap<String, PersonAnswer>,
    /// Releases by source organisation (medical and GGZ information: WGBO art. 7:457).
    pub released: BTreeMap<String, Release>,
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
    /// The organisation that organises the MDO: the creator's (the school, as a rule). Its
    /// professionals take part without a further record; any other organisation joins the
    /// table on the consent for the MDO that names it, or on a legal basis (issue 14).
    pub organiser: String,
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
    pub(super) device_removals: BTreeMap<DeviceId, OpId>,
    /// The closing of the case, while it is closed.
    pub closed: Option<Closure>,
    /// Every closing and reopening, in order: (date, who, "afgesloten"/"heropend", reason).
    pub closings: Vec<(String, String, &'static str, String)>,
    /// Organisations' own retention terms, by organisation.
    pub retention: BTreeMap<String, RetentionSetting>,
    /// Destroyed compartments (issue 17).
    pub destroyed: BTreeMap<CompartmentId, Tombstone>,
    /// Destruction requests by id.
    pub destruction_requests: BTreeMap<String, DestructionRequest>,
}

impl State {
    /// The devices that sync the case: every active participant's devices and the storage
    /// peers (what a session, the index of devices per case and a node's partners go by).
    pub fn sync_devices(&self) -> Vec<DeviceId> {
        self.members
            .values()
            .filter(|m| m.is_active())
            .flat_map(|m| m.devices.iter().copied())
            .chain(self.storage_peers.keys().copied())
            .collect()
    }

    pub(super) fn new(case: CaseId) -> Self {
        Self {
            case,
            created: None,
            birthdate: None,
            organiser: String::new(),
            members: BTreeMap::new(),
            consents: BTreeMap::new(),
            keys: BTreeMap::new(),
            links: Vec::new(),
            device_owner: BTreeMap::new(),
            identities: BTreeMap::new(),
            storage_peers: BTreeMap::new(),
            device_removals: BTreeMap::new(),
            closed: None,
            closings: Vec::new(),
            retention: BTreeMap::new(),
            destroyed: BTreeMap::new(),
            destruction_requests: BTreeMap::new(),
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

    /// Parents whose gezag is not yet checked.
    pub fn custody_unknown(&self) -> BTreeSet<String> {
        self.members
            .values()
            .filter(|m| m.is_active() && m.role.may_hold_gezag() && m.custody_unknown)
            .map(|m| m.id.clone())
            .collect()
    }

    /// Parents with gezag now.
    pub fn custody_parents(&self) -> BTreeSet<String> {
        self.members
            .values()
            .filter(|m| m.is_active() && m.is_custody_parent())
            .map(|m| m.id.clone())
            .collect()
    }
}

/// Who a recipient names among the participants (kept with the derived state: it reads
/// [`Member`]s).
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
}
