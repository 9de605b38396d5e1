//! A case: a handful of compartments (one Automerge document per audience), the operations the
//! chair and the others perform on it, and the read-side views. Pure: randomness only for ids and
//! keys; time is passed in.
//!
//! The files: `mod.rs` (the [`Case`], what a compartment is, the case's log and access),
//! `keys.rs` (compartment keys: unlocking, creating, rotating and handing them out),
//! `chunks.rs` (receiving and sealing encrypted chunks), `edits.rs` (the writes: facts, items,
//! agreements, arrows, participants, meetings, verslagen), `reads.rs` (the views).

use std::collections::BTreeMap;

use mdo_crypto::{CaseId, ChunkId, CompartmentId, DeviceId, DeviceSecret, Keyring};
use serde::Serialize;

use super::CoreError;
use super::access::{self, Access};
use super::doc::{CompartmentDoc, ParticipantData};
use super::membership::{Action, Inserted, KeyUpdate, Log, Member, MemberSpec, Op, State};
use super::model::Date;
use super::model::{Audience, CaseStatus, ConsentCategory, Role, SupportPhase, parse_date};

mod chunks;
mod edits;
mod keys;
mod reads;
#[cfg(test)]
mod tests;

pub use chunks::{SealedChunk, payload_changes};
pub use edits::{Feedback, NewAgreement, new_id};
pub use reads::{CaseInfo, MemberView, Placed};

const COMPARTMENT_ID_CONTEXT: &str = "MDO 2026-11 compartment id v1";

/// The person working on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Me {
    /// Participant id of this person in cases (stable, derived from the device id at init).
    pub person: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Organisation.
    pub organisation: String,
    /// This device.
    pub device: DeviceId,
}

/// What a compartment is: a shared audience, or one bound to an organisation or an author.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "of", rename_all = "kebab-case")]
pub enum CompartmentKind {
    /// `professionals`, `parents`, `child`, `network`.
    Shared(Audience),
    /// The internal notes of one organisation.
    Organisation(String),
    /// Information of a consent category held by one organisation (medical findings of the
    /// JGZ, a GGZ report): its base audience is that organisation's professionals (medical
    /// roles for the medical categories); a valid consent extends it.
    Category(ConsentCategory, String),
    /// The safety track of one organisation.
    Safety(String),
    /// The private notes of one author (participant id).
    Author(String),
}

impl CompartmentKind {
    /// The compartment that holds items of `audience` written by `me`.
    pub fn for_audience(audience: Audience, me: &Me) -> Self {
        match audience {
            Audience::Author => CompartmentKind::Author(me.person.clone()),
            Audience::Organisation => CompartmentKind::Organisation(me.organisation.clone()),
            Audience::Safety => CompartmentKind::Safety(me.organisation.clone()),
            Audience::Medical => {
                CompartmentKind::Category(ConsentCategory::Medisch, me.organisation.clone())
            }
            other => CompartmentKind::Shared(other),
        }
    }

    /// The compartment for information of `category` written by `me` (`dossier` is the
    /// case+parents compartment).
    pub fn for_category(category: ConsentCategory, me: &Me) -> Self {
        match category {
            ConsentCategory::Dossier => CompartmentKind::Shared(Audience::Parents),
            c => CompartmentKind::Category(c, me.organisation.clone()),
        }
    }

    /// The audience of its items.
    pub fn audience(&self) -> Audience {
        match self {
            CompartmentKind::Shared(a) => *a,
            CompartmentKind::Organisation(_) => Audience::Organisation,
            CompartmentKind::Category(ConsentCategory::Medisch | ConsentCategory::Ggz, _) => {
                Audience::Medical
            }
            CompartmentKind::Category(..) => Audience::Organisation,
            CompartmentKind::Safety(_) => Audience::Safety,
            CompartmentKind::Author(_) => Audience::Author,
        }
    }

    /// Stable text form, stored in the document itself.
    pub fn descriptor(&self) -> String {
        match self {
            CompartmentKind::Shared(a) => a.id().to_string(),
            CompartmentKind::Organisation(o) => format!("organisation:{o}"),
            CompartmentKind::Category(c, o) => format!("category:{}:{o}", c.id()),
            CompartmentKind::Safety(o) => format!("safety:{o}"),
            CompartmentKind::Author(p) => format!("author:{p}"),
        }
    }

    /// Parses [`CompartmentKind::descriptor`].
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(o) = s.strip_prefix("organisation:") {
            return Some(CompartmentKind::Organisation(o.to_string()));
        }
        if let Some(rest) = s.strip_prefix("category:") {
            let (c, o) = rest.split_once(':')?;
            return match c.parse::<ConsentCategory>().ok()? {
                ConsentCategory::Dossier => None,
                c => Some(CompartmentKind::Category(c, o.to_string())),
            };
        }
        if let Some(o) = s.strip_prefix("safety:") {
            return Some(CompartmentKind::Safety(o.to_string()));
        }
        if let Some(p) = s.strip_prefix("author:") {
            return Some(CompartmentKind::Author(p.to_string()));
        }
        match s.parse::<Audience>().ok()? {
            Audience::Author | Audience::Organisation | Audience::Safety | Audience::Medical => {
                None
            }
            a => Some(CompartmentKind::Shared(a)),
        }
    }

    /// The compartment id in `case`: BLAKE3 key-derivation over case id and descriptor, so every
    /// device computes the same id without coordination.
    pub fn id(&self, case: CaseId) -> CompartmentId {
        let mut h = blake3::Hasher::new_derive_key(COMPARTMENT_ID_CONTEXT);
        h.update(&case.0);
        h.update(self.descriptor().as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.finalize().as_bytes()[..16]);
        CompartmentId(id)
    }

    /// The kind of compartment `id` of the case whose log state is `st`: the descriptor the
    /// membership log recorded with the compartment's keys, checked to derive `id`. Never read
    /// from the compartment's document, which any writer can change.
    pub fn of_compartment(st: &State, id: CompartmentId) -> Result<Self, CoreError> {
        let unknown = || {
            CoreError::BadChunk(format!(
                "compartment {id} has no keys in the membership log, so what it is cannot be verified"
            ))
        };
        let keys = st.keys.get(&id).ok_or_else(unknown)?;
        let kind = CompartmentKind::parse(&keys.descriptor).ok_or_else(unknown)?;
        if kind.id(st.case) != id {
            return Err(unknown());
        }
        Ok(kind)
    }

    /// Checks that `doc` carries this compartment's label (or none yet): a chunk that makes it
    /// say anything else is refused with [`CoreError::Relabelled`].
    pub fn check_label(&self, doc: &CompartmentDoc) -> Result<(), CoreError> {
        match doc.descriptor() {
            None => Ok(()),
            Some(d) if d == self.descriptor() => Ok(()),
            Some(found) => Err(CoreError::Relabelled {
                compartment: self.descriptor(),
                found,
            }),
        }
    }

    /// A human label ("alle professionals", "eigen organisatie (OBS De Wilgen)").
    pub fn label(&self) -> String {
        match self {
            CompartmentKind::Shared(a) => a.label().to_string(),
            CompartmentKind::Organisation(o) => format!("eigen organisatie ({o})"),
            CompartmentKind::Category(c, o) => format!("{} ({o}; met toestemming)", c.label()),
            CompartmentKind::Safety(o) => format!("veiligheidsspoor ({o})"),
            CompartmentKind::Author(p) => format!("alleen de schrijver ({p})"),
        }
    }
}

/// One compartment as held in memory: its document and the epoch keys this device holds.
#[derive(Debug)]
pub struct Compartment {
    /// What it is.
    pub kind: CompartmentKind,
    /// Its id.
    pub id: CompartmentId,
    /// The decrypted document (memory only).
    pub doc: CompartmentDoc,
    /// Epoch keys.
    pub keys: Keyring,
    /// Chunk ids not yet built upon (the dependencies of the next chunk).
    pub frontier: Vec<ChunkId>,
}

/// A case in memory: its membership log (and the rights derived from it), the keys this
/// device holds, and the compartments it can read.
#[derive(Debug)]
pub struct Case {
    /// Case id.
    pub id: CaseId,
    /// Compartments this device holds keys for and has content of.
    pub compartments: BTreeMap<CompartmentId, Compartment>,
    /// Keys of compartments whose content has not arrived yet.
    waiting: BTreeMap<CompartmentId, Keyring>,
    log: Log,
    device: DeviceId,
    today: Date,
    now: i64,
    /// Every stored chunk per compartment with its author device (for closing sets).
    stored: BTreeMap<CompartmentId, Vec<(ChunkId, DeviceId)>>,
    seq: u32,
}

impl Case {
    /// An empty case shell for `device` (the store fills it). `today` and `now` (unix seconds)
    /// are the clock the rights and ops use.
    pub fn empty(id: CaseId, device: DeviceId, today: Date, now: i64) -> Self {
        Self {
            id,
            compartments: BTreeMap::new(),
            waiting: BTreeMap::new(),
            log: Log::new(id, today),
            device,
            today,
            now,
            stored: BTreeMap::new(),
            seq: 0,
        }
    }

    /// Opens a new case: the creator becomes chair and admin (the first op of the membership
    /// log); keys for every compartment the creator may read are made; case facts go to the
    /// `parents` compartment.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        me: &Me,
        device: &DeviceSecret,
        child: &str,
        birthdate: &str,
        school: &str,
        class: &str,
        today: Date,
        now: i64,
    ) -> Result<Self, CoreError> {
        if child.trim().is_empty() {
            return Err(CoreError::Empty {
                field: "child name",
            });
        }
        parse_date(birthdate)?;
        let mut case = Case::empty(CaseId::random()?, device.device_id(), today, now);
        case.log.append(
            device,
            Action::Create {
                creator: MemberSpec {
                    id: me.person.clone(),
                    role: me.role,
                    organisation: me.organisation.clone(),
                    custody: false,
                    admin: true,
                    devices: vec![device.public_identity().clone()],
                },
                birthdate: birthdate.trim().to_string(),
            },
            KeyUpdate::default(),
            now,
            today,
        )?;
        case.maintain_keys(device)?;
        let doc = case.doc_for(CompartmentKind::Shared(Audience::Parents))?;
        doc.set_case_field("child", child.trim())?;
        doc.set_case_field("birthdate", birthdate.trim())?;
        doc.set_case_field("school", school.trim())?;
        doc.set_case_field("class", class.trim())?;
        doc.set_case_field("phase", SupportPhase::Mdo.id())?;
        doc.set_case_field("status", CaseStatus::Open.id())?;
        doc.put_participant(&ParticipantData {
            id: me.person.clone(),
            name: me.name.clone(),
            role: me.role.id().to_string(),
            organisation: me.organisation.clone(),
            custody: false,
            chair: true,
            devices: vec![me.device.to_hex()],
        })?;
        Ok(case)
    }

    /// The membership log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Membership ops made or received since the last call (for the store).
    pub fn take_new_ops(&mut self) -> Vec<Op> {
        self.log.take_new()
    }

    /// The derived membership and consent state.
    pub fn state(&self) -> &State {
        self.log.state()
    }

    /// Who may read and write what, today.
    pub fn access(&self) -> Access {
        access::resolve(self.log.state(), self.today)
    }

    /// The date rights are computed for.
    pub fn today(&self) -> Date {
        self.today
    }

    /// This device.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The participant this device belongs to.
    pub fn my_member(&self) -> Option<&Member> {
        self.log.state().member_of(self.device)
    }

    /// Adds a membership op (from the store or a peer). Call [`Case::unlock`] afterwards to pick
    /// up keys it carries.
    pub fn insert_op(&mut self, op: Op) -> Result<Inserted, CoreError> {
        Ok(self.log.insert(op)?)
    }

    /// The document of a compartment this device may write, creating the document if it has
    /// none yet. Fails when the device holds no key for it or its participant may not write.
    pub fn doc_for(&mut self, kind: CompartmentKind) -> Result<&mut CompartmentDoc, CoreError> {
        let id = kind.id(self.id);
        let me = self
            .my_member()
            .map(|m| m.id.clone())
            .ok_or_else(|| CoreError::NoAccess {
                compartment: kind.label(),
                reason: "this device is no device of a participant of the case".into(),
            })?;
        if !self.access().writes(id, &me) {
            return Err(CoreError::NoAccess {
                compartment: kind.label(),
                reason: format!("participant {me} may not write there"),
            });
        }
        if !self.compartments.contains_key(&id) {
            let keys = self
                .waiting
                .remove(&id)
                .ok_or_else(|| CoreError::NoAccess {
                    compartment: kind.label(),
                    reason: "this device has not received its key yet (sync first)".into(),
                })?;
            let mut doc = CompartmentDoc::new();
            doc.set_descriptor(&kind.descriptor())?;
            self.compartments.insert(
                id,
                Compartment {
                    kind,
                    id,
                    doc,
                    keys,
                    frontier: Vec::new(),
                },
            );
        }
        let c = self
            .compartments
            .get_mut(&id)
            .ok_or(CoreError::Document("compartment vanished".into()))?;
        Ok(&mut c.doc)
    }
}
