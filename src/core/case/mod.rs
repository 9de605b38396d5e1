//! A case: a handful of compartments (one Automerge document per audience), the operations the
//! chair and the others perform on it, and the read-side views. Pure: randomness only for ids and
//! keys; time is passed in.
//!
//! The files: `mod.rs` (the [`Case`], its compartments in memory, its log and access),
//! `keys.rs` (compartment keys: unlocking, creating, rotating and handing them out),
//! `chunks.rs` (receiving and sealing encrypted chunks), `edits.rs` (the writes: facts, items,
//! agreements, arrows, participants, meetings), `reads.rs` (the views). What a compartment is
//! ([`CompartmentKind`]) and who writes ([`Me`]) live in `core/compartment.rs`, storing a
//! verslag ([`Case::store_verslag`]) in `core/verslag.rs`; both are re-exported or reachable
//! here as before.

use std::collections::BTreeMap;

use mdo_crypto::{CaseId, ChunkId, CompartmentId, DeviceId, DeviceSecret, Keyring};

use super::CoreError;
use super::access::{self, Access};
use super::doc::{CompartmentDoc, ParticipantData};
use super::membership::{Action, Inserted, KeyUpdate, Log, Member, MemberSpec, Op, State};
use super::model::Date;
use super::model::{Audience, CaseStatus, SupportPhase, parse_date};

mod chunks;
mod edits;
mod keys;
mod reads;
#[cfg(test)]
mod tests;

pub use super::compartment::{CompartmentKind, Me};
pub use chunks::{SealedChunk, payload_changes};
pub use edits::{Feedback, NewAgreement, new_id};
pub use reads::{CaseInfo, MemberView, Placed};

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
    /// Access-log batches of the case this device can read (issue 17; `core::sharedlog`).
    pub shared_log: Vec<crate::core::sharedlog::Found>,
    /// Chunks of access logs that did not open or verify here, with the device they name.
    pub shared_log_damaged: Vec<(ChunkId, Option<DeviceId>)>,
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
            shared_log: Vec::new(),
            shared_log_damaged: Vec::new(),
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
                    custody_unknown: false,
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
