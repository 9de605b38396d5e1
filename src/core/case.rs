//! A case: a handful of compartments (one Automerge document per audience), the operations the
//! chair and the others perform on it, and the read-side views. Pure: randomness only for ids and
//! keys; time is passed in.

use std::collections::BTreeMap;

use mdo_crypto::envelope::{self, SealedEnvelope};
use mdo_crypto::{CaseId, ChunkId, CompartmentId, DeviceId, DeviceSecret, EpochKey, Keyring};
use serde::Serialize;

use super::CoreError;
use super::doc::{
    AgreementData, ArrowData, CompartmentDoc, ItemData, MeetingData, ParticipantData,
};
use super::model::{
    Audience, CaseStatus, Direction, Role, Section, SupportPhase, parse_date, valid_circle_name,
};

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
    /// `professionals`, `parents`, `child`, `network`, `medical`.
    Shared(Audience),
    /// The internal notes of one organisation.
    Organisation(String),
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
            other => CompartmentKind::Shared(other),
        }
    }

    /// The audience of its items.
    pub fn audience(&self) -> Audience {
        match self {
            CompartmentKind::Shared(a) => *a,
            CompartmentKind::Organisation(_) => Audience::Organisation,
            CompartmentKind::Safety(_) => Audience::Safety,
            CompartmentKind::Author(_) => Audience::Author,
        }
    }

    /// Stable text form, stored in the document itself.
    pub fn descriptor(&self) -> String {
        match self {
            CompartmentKind::Shared(a) => a.id().to_string(),
            CompartmentKind::Organisation(o) => format!("organisation:{o}"),
            CompartmentKind::Safety(o) => format!("safety:{o}"),
            CompartmentKind::Author(p) => format!("author:{p}"),
        }
    }

    /// Parses [`CompartmentKind::descriptor`].
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(o) = s.strip_prefix("organisation:") {
            return Some(CompartmentKind::Organisation(o.to_string()));
        }
        if let Some(o) = s.strip_prefix("safety:") {
            return Some(CompartmentKind::Safety(o.to_string()));
        }
        if let Some(p) = s.strip_prefix("author:") {
            return Some(CompartmentKind::Author(p.to_string()));
        }
        match s.parse::<Audience>().ok()? {
            Audience::Author | Audience::Organisation | Audience::Safety => None,
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

    /// A human label ("alle professionals", "eigen organisatie (OBS De Wilgen)").
    pub fn label(&self) -> String {
        match self {
            CompartmentKind::Shared(a) => a.label().to_string(),
            CompartmentKind::Organisation(o) => format!("eigen organisatie ({o})"),
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

/// Where something lives, for views.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placed<T> {
    /// The audience (who may read it).
    pub audience: Audience,
    /// The compartment's descriptor.
    pub compartment: String,
    /// The thing.
    #[serde(flatten)]
    pub data: T,
}

/// Case facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseInfo {
    /// Case id.
    pub id: CaseId,
    /// The child's name.
    pub child: String,
    /// Date of birth.
    pub birthdate: String,
    /// School.
    pub school: String,
    /// Class/group.
    pub class: String,
    /// Support-route phase.
    pub phase: String,
    /// Open or closed.
    pub status: String,
    /// Circles (kind, school, thuis and added ones).
    pub circles: Vec<String>,
}

/// New agreement fields.
#[derive(Debug, Clone, Default)]
pub struct NewAgreement {
    /// Who.
    pub wie: String,
    /// What.
    pub wat: String,
    /// Why.
    pub waarom: String,
    /// When.
    pub wanneer: String,
    /// How.
    pub hoe: String,
    /// Responsible participant.
    pub owner: String,
    /// Due date (YYYY-MM-DD) or empty.
    pub due: String,
    /// Evaluation date or empty.
    pub evaluation: String,
}

/// A new random short id (12 hex characters).
pub fn new_id() -> Result<String, CoreError> {
    Ok(hex::encode(mdo_crypto::random_array::<6>()?))
}

/// A case in memory.
#[derive(Debug)]
pub struct Case {
    /// Case id.
    pub id: CaseId,
    /// Compartments this device holds keys for.
    pub compartments: BTreeMap<CompartmentId, Compartment>,
    /// Keys of compartments whose content has not arrived yet.
    waiting: BTreeMap<CompartmentId, Keyring>,
    new_keys: Vec<EpochKey>,
    seq: u32,
}

impl Case {
    /// An empty case shell (the store fills it).
    pub fn empty(id: CaseId) -> Self {
        Self {
            id,
            compartments: BTreeMap::new(),
            waiting: BTreeMap::new(),
            new_keys: Vec::new(),
            seq: 0,
        }
    }

    /// Opens a new case: the creator becomes chair; case facts go to the `parents` compartment.
    pub fn create(
        me: &Me,
        child: &str,
        birthdate: &str,
        school: &str,
        class: &str,
    ) -> Result<Self, CoreError> {
        if child.trim().is_empty() {
            return Err(CoreError::Empty {
                field: "child name",
            });
        }
        parse_date(birthdate)?;
        let mut case = Case::empty(CaseId::random()?);
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

    /// Adds a compartment loaded from the store.
    pub fn insert_loaded(
        &mut self,
        kind: CompartmentKind,
        keys: Keyring,
        doc: CompartmentDoc,
        frontier: Vec<ChunkId>,
    ) {
        let id = keys.compartment();
        self.compartments.insert(
            id,
            Compartment {
                kind,
                id,
                doc,
                keys,
                frontier,
            },
        );
    }

    /// The document of a compartment, creating the compartment (with a fresh epoch-0 key, to be
    /// wrapped by the store) if this device does not have it yet.
    pub fn doc_for(&mut self, kind: CompartmentKind) -> Result<&mut CompartmentDoc, CoreError> {
        let id = kind.id(self.id);
        if !self.compartments.contains_key(&id) {
            let key = EpochKey::generate(self.id, id)?;
            let mut keys = Keyring::new(self.id, id);
            keys.insert(key.clone())?;
            self.new_keys.push(key);
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

    /// Gives this case a key received from elsewhere (unwrapped from a bundle).
    pub fn add_key(&mut self, key: EpochKey) -> Result<(), CoreError> {
        if let Some(c) = self.compartments.get_mut(&key.compartment()) {
            return Ok(c.keys.insert(key)?);
        }
        let ring = self
            .waiting
            .entry(key.compartment())
            .or_insert_with(|| Keyring::new(key.case(), key.compartment()));
        Ok(ring.insert(key)?)
    }

    /// Every key this device holds for the case (to hand to another device of the same person,
    /// or to wrap for a new reader).
    pub fn all_keys(&self) -> Vec<EpochKey> {
        self.compartments
            .values()
            .map(|c| &c.keys)
            .chain(self.waiting.values())
            .flat_map(|r| {
                r.epochs()
                    .filter_map(|e| r.get(e).cloned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Opens a chunk envelope that arrived from another device and merges its changes. The
    /// envelope must belong to this case and a compartment this device holds a key for; a chunk
    /// that does not decrypt or does not decode is rejected with an error and changes nothing —
    /// except when Automerge panicked while applying it: then the compartment's in-memory
    /// document is dropped (keys kept) and must be reloaded from the store.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<ChunkId, CoreError> {
        let env = envelope::Envelope::parse(bytes)?;
        if env.case != self.id {
            return Err(mdo_crypto::CryptoError::WrongCase {
                expected: self.id.to_hex(),
                found: env.case.to_hex(),
            }
            .into());
        }
        if let Some(c) = self.compartments.get_mut(&env.compartment) {
            let opened = env.open(&c.keys)?;
            if let Err(e) = c.doc.apply(&opened.payload) {
                if c.doc.is_poisoned() {
                    // Automerge panicked half-way: this in-memory copy can no longer be trusted.
                    // Drop it (keeping the keys); the caller reloads the compartment from the
                    // chunks it stored, where the bad chunk is marked rejected.
                    let id = env.compartment;
                    if let Some(c) = self.compartments.remove(&id) {
                        self.waiting.insert(id, c.keys);
                    }
                }
                return Err(e);
            }
            c.frontier.retain(|f| !opened.deps.contains(f));
            c.frontier.push(opened.id);
            return Ok(opened.id);
        }
        let ring = self
            .waiting
            .get(&env.compartment)
            .ok_or(mdo_crypto::CryptoError::UnknownEpoch { epoch: env.epoch })?;
        let opened = env.open(ring)?;
        let mut doc = CompartmentDoc::new();
        doc.apply(&opened.payload)?;
        doc.mark_saved();
        let kind = doc
            .descriptor()
            .and_then(|d| CompartmentKind::parse(&d))
            .ok_or_else(|| {
                CoreError::BadChunk(
                    "the first chunk of a compartment does not say which compartment it is".into(),
                )
            })?;
        if kind.id(self.id) != env.compartment {
            return Err(CoreError::BadChunk(
                "the chunk claims another compartment than the one it was sealed for".into(),
            ));
        }
        let keys = self
            .waiting
            .remove(&env.compartment)
            .ok_or(CoreError::Document("keyring vanished".into()))?;
        self.compartments.insert(
            env.compartment,
            Compartment {
                kind,
                id: env.compartment,
                doc,
                keys,
                frontier: vec![opened.id],
            },
        );
        Ok(opened.id)
    }

    /// Keys created since the last call (for the store to wrap to this device).
    pub fn take_new_keys(&mut self) -> Vec<EpochKey> {
        std::mem::take(&mut self.new_keys)
    }

    /// Seals every compartment's pending changes into one chunk each, signed by `author`.
    pub fn seal_pending(&mut self, author: &DeviceSecret) -> Result<Vec<SealedChunk>, CoreError> {
        let mut out = Vec::new();
        for c in self.compartments.values_mut() {
            if let Some(payload) = c.doc.take_changes() {
                let key = c
                    .keys
                    .latest()
                    .ok_or(mdo_crypto::CryptoError::UnknownEpoch { epoch: 0 })?;
                let envelope = envelope::seal(author, key, &c.frontier, &payload)?;
                c.frontier = vec![envelope.id];
                out.push(SealedChunk {
                    compartment: c.id,
                    changes: payload_changes(&payload),
                    envelope,
                });
            }
        }
        Ok(out)
    }

    /// Seals a full snapshot of one compartment (compaction).
    pub fn seal_snapshot(
        &mut self,
        compartment: CompartmentId,
        author: &DeviceSecret,
    ) -> Result<SealedEnvelope, CoreError> {
        let c = self
            .compartments
            .get_mut(&compartment)
            .ok_or(CoreError::NotFound {
                what: "compartment",
                id: compartment.to_hex(),
            })?;
        let key = c
            .keys
            .latest()
            .ok_or(mdo_crypto::CryptoError::UnknownEpoch { epoch: 0 })?;
        let bytes = c.doc.snapshot_payload();
        let sealed = envelope::seal(author, key, &[], &bytes)?;
        c.frontier = vec![sealed.id];
        Ok(sealed)
    }

    fn find(&mut self, prefix: &str, id: &str) -> Result<&mut Compartment, CoreError> {
        self.compartments
            .values_mut()
            .find(|c| c.doc.has(prefix, id))
            .ok_or_else(|| CoreError::NotFound {
                what: prefix_what(prefix),
                id: id.to_string(),
            })
    }

    fn parents_doc(&self) -> Option<&CompartmentDoc> {
        self.compartments
            .get(&CompartmentKind::Shared(Audience::Parents).id(self.id))
            .map(|c| &c.doc)
    }

    // ---- operations ----

    /// Sets a case fact (`child`, `birthdate`, `school`, `class`, `phase`, `status`).
    pub fn set_fact(&mut self, field: &str, value: &str) -> Result<(), CoreError> {
        match field {
            "birthdate" => {
                parse_date(value)?;
            }
            "phase" => {
                value.parse::<SupportPhase>()?;
            }
            "status" => {
                value.parse::<CaseStatus>()?;
            }
            "child" | "school" | "class" => {}
            other => {
                return Err(CoreError::UnknownValue {
                    what: "case field",
                    value: other.into(),
                    allowed: "child, birthdate, school, class, phase, status".into(),
                });
            }
        }
        self.doc_for(CompartmentKind::Shared(Audience::Parents))?
            .set_case_field(field, value.trim())
    }

    /// Adds a circle beyond kind/school/thuis.
    pub fn add_circle(&mut self, name: &str) -> Result<(), CoreError> {
        if !valid_circle_name(name) {
            return Err(CoreError::UnknownValue {
                what: "circle name",
                value: name.into(),
                allowed: "lowercase letters, digits and '-', e.g. vrije-tijd".into(),
            });
        }
        self.doc_for(CompartmentKind::Shared(Audience::Parents))?
            .add_circle(name)
    }

    /// Adds an item to a section, in the compartment of `audience`. Returns its id.
    pub fn add_item(
        &mut self,
        me: &Me,
        section: Section,
        text: &str,
        audience: Audience,
        parent: Option<String>,
        now: i64,
    ) -> Result<String, CoreError> {
        if text.trim().is_empty() {
            return Err(CoreError::Empty { field: "text" });
        }
        if let Section::Circle { circle, .. } = &section
            && !self.info().circles.contains(circle)
        {
            return Err(CoreError::UnknownValue {
                what: "circle",
                value: circle.clone(),
                allowed: self.info().circles.join(", "),
            });
        }
        // New items sort after existing ones: their key is the creation time (plus a counter for
        // items made in the same second). `reorder_item` puts an item between two others.
        self.seq += 1;
        let order = now as f64 + f64::from(self.seq) * 1e-4;
        let id = new_id()?;
        let item = ItemData {
            id: id.clone(),
            section,
            text: text.trim().to_string(),
            author: me.person.clone(),
            created: now,
            order,
            parent,
            by: None,
        };
        self.doc_for(CompartmentKind::for_audience(audience, me))?
            .add_item(&item)?;
        Ok(id)
    }

    /// Records whose item this is when the writer noted it for someone else (e.g. a parent's
    /// question typed by the chair).
    pub fn set_item_by(&mut self, id: &str, participant: &str) -> Result<(), CoreError> {
        self.find("item", id)?.doc.set_item_by(id, participant)
    }

    /// Replaces an item's text.
    pub fn edit_item(&mut self, id: &str, text: &str) -> Result<(), CoreError> {
        if text.trim().is_empty() {
            return Err(CoreError::Empty { field: "text" });
        }
        self.find("item", id)?.doc.edit_item(id, text.trim())
    }

    /// Moves an item to another place in its section.
    pub fn reorder_item(&mut self, id: &str, order: f64) -> Result<(), CoreError> {
        self.find("item", id)?.doc.set_item_order(id, order)
    }

    /// Removes an item.
    pub fn remove_item(&mut self, id: &str) -> Result<(), CoreError> {
        self.find("item", id)?.doc.remove_item(id)
    }

    /// Adds an agreement (wie, wat, waarom, wanneer, hoe). Returns its id.
    pub fn add_agreement(
        &mut self,
        me: &Me,
        a: NewAgreement,
        audience: Audience,
        now: i64,
    ) -> Result<String, CoreError> {
        for (field, v) in [("wie", &a.wie), ("wat", &a.wat)] {
            if v.trim().is_empty() {
                return Err(CoreError::Empty {
                    field: if field == "wie" { "wie" } else { "wat" },
                });
            }
        }
        for d in [&a.due, &a.evaluation] {
            if !d.is_empty() {
                parse_date(d)?;
            }
        }
        let id = new_id()?;
        let data = AgreementData {
            id: id.clone(),
            owner: if a.owner.is_empty() {
                a.wie.clone()
            } else {
                a.owner
            },
            wie: a.wie,
            wat: a.wat,
            waarom: a.waarom,
            wanneer: a.wanneer,
            hoe: a.hoe,
            due: a.due,
            status: super::model::AgreementStatus::Open,
            evaluation: a.evaluation,
            author: me.person.clone(),
            created: now,
        };
        self.doc_for(CompartmentKind::for_audience(audience, me))?
            .add_agreement(&data)?;
        Ok(id)
    }

    /// Edits one field of an agreement.
    pub fn edit_agreement(&mut self, id: &str, field: &str, value: &str) -> Result<(), CoreError> {
        if (field == "due" || field == "evaluation") && !value.is_empty() {
            parse_date(value)?;
        }
        self.find("agreement", id)?
            .doc
            .set_agreement_field(id, field, value)
    }

    /// Removes an agreement.
    pub fn remove_agreement(&mut self, id: &str) -> Result<(), CoreError> {
        self.find("agreement", id)?.doc.remove_agreement(id)
    }

    /// Adds an arrow between two circles.
    pub fn add_arrow(
        &mut self,
        me: &Me,
        from: &str,
        to: &str,
        text: &str,
        direction: Direction,
        audience: Audience,
    ) -> Result<String, CoreError> {
        let circles = self.info().circles;
        for c in [from, to] {
            if !circles.iter().any(|x| x == c) {
                return Err(CoreError::UnknownValue {
                    what: "circle",
                    value: c.into(),
                    allowed: circles.join(", "),
                });
            }
        }
        let id = new_id()?;
        self.doc_for(CompartmentKind::for_audience(audience, me))?
            .add_arrow(&ArrowData {
                id: id.clone(),
                from: from.into(),
                to: to.into(),
                text: text.trim().into(),
                direction,
            })?;
        Ok(id)
    }

    /// Adds a participant to the roster (who is who in this case).
    pub fn add_participant(&mut self, p: ParticipantData) -> Result<String, CoreError> {
        if p.name.trim().is_empty() {
            return Err(CoreError::Empty { field: "name" });
        }
        p.role.parse::<Role>()?;
        let id = p.id.clone();
        self.doc_for(CompartmentKind::Shared(Audience::Parents))?
            .put_participant(&p)?;
        Ok(id)
    }

    /// Starts a meeting (visible to professionals and parents). Returns its id.
    pub fn new_meeting(&mut self, date: &str, planned_end: &str) -> Result<String, CoreError> {
        parse_date(date)?;
        let id = new_id()?;
        self.doc_for(CompartmentKind::Shared(Audience::Parents))?
            .add_meeting(&id, date, planned_end)?;
        Ok(id)
    }

    /// Notes at step `n` of a meeting.
    pub fn meeting_step(&mut self, meeting: &str, n: usize, text: &str) -> Result<(), CoreError> {
        self.find("meeting", meeting)?
            .doc
            .set_step(meeting, n, text)
    }

    /// A participant's top (`tops`) or tip (`tips`).
    pub fn meeting_feedback(
        &mut self,
        meeting: &str,
        kind: Feedback,
        participant: &str,
        text: &str,
    ) -> Result<(), CoreError> {
        let kind = match kind {
            Feedback::Top => "tops",
            Feedback::Tip => "tips",
        };
        self.find("meeting", meeting)?
            .doc
            .set_feedback(meeting, kind, participant, text)
    }

    /// Marks a participant present at a meeting.
    pub fn meeting_present(&mut self, meeting: &str, participant: &str) -> Result<(), CoreError> {
        self.find("meeting", meeting)?
            .doc
            .set_present(meeting, participant)
    }

    /// Stores a composed verslag with the meeting.
    pub fn set_verslag(&mut self, meeting: &str, text: &str) -> Result<(), CoreError> {
        self.find("meeting", meeting)?
            .doc
            .set_verslag(meeting, text)
    }

    // ---- views ----

    /// Case facts.
    pub fn info(&self) -> CaseInfo {
        let d = self.parents_doc();
        let f = |k: &str| d.and_then(|d| d.case_field(k)).unwrap_or_default();
        let mut circles: Vec<String> = super::model::DEFAULT_CIRCLES
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(d) = d {
            circles.extend(d.circles());
        }
        CaseInfo {
            id: self.id,
            child: f("child"),
            birthdate: f("birthdate"),
            school: f("school"),
            class: f("class"),
            phase: f("phase"),
            status: f("status"),
            circles,
        }
    }

    fn collect<T>(&self, get: impl Fn(&CompartmentDoc) -> Vec<T>) -> Vec<Placed<T>> {
        self.compartments
            .values()
            .flat_map(|c| {
                get(&c.doc).into_iter().map(move |data| Placed {
                    audience: c.kind.audience(),
                    compartment: c.kind.descriptor(),
                    data,
                })
            })
            .collect()
    }

    /// Items, sorted by section, order, creation.
    pub fn items(&self) -> Vec<Placed<ItemData>> {
        let mut v = self.collect(CompartmentDoc::items);
        v.sort_by(|a, b| {
            (
                a.data.section.clone(),
                a.data.order,
                a.data.created,
                a.data.id.clone(),
            )
                .partial_cmp(&(
                    b.data.section.clone(),
                    b.data.order,
                    b.data.created,
                    b.data.id.clone(),
                ))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        v
    }

    /// Agreements, oldest first.
    pub fn agreements(&self) -> Vec<Placed<AgreementData>> {
        let mut v = self.collect(CompartmentDoc::agreements);
        v.sort_by(|a, b| (a.data.created, &a.data.id).cmp(&(b.data.created, &b.data.id)));
        v
    }

    /// Arrows.
    pub fn arrows(&self) -> Vec<Placed<ArrowData>> {
        self.collect(CompartmentDoc::arrows)
    }

    /// Meetings, by date.
    pub fn meetings(&self) -> Vec<Placed<MeetingData>> {
        let mut v = self.collect(CompartmentDoc::meetings);
        v.sort_by(|a, b| (&a.data.date, &a.data.id).cmp(&(&b.data.date, &b.data.id)));
        v
    }

    /// Participants.
    pub fn participants(&self) -> Vec<ParticipantData> {
        let mut v = self
            .parents_doc()
            .map(CompartmentDoc::participants)
            .unwrap_or_default();
        v.sort_by(|a, b| (!a.chair, &a.name).cmp(&(!b.chair, &b.name)));
        v
    }

    /// The child's age band on `today` (who consents: parents, parents and child, or the young
    /// person alone), if the birth date is known.
    pub fn age_band(&self, today: super::model::Date) -> Option<super::model::AgeBand> {
        parse_date(&self.info().birthdate)
            .ok()
            .map(|b| super::model::age_band(b, today))
    }

    /// The compartments this device can read, with their audience.
    pub fn compartment_list(&self) -> Vec<(CompartmentId, CompartmentKind)> {
        self.compartments
            .values()
            .map(|c| (c.id, c.kind.clone()))
            .collect()
    }
}

/// A chunk sealed from local changes.
#[derive(Debug, Clone)]
pub struct SealedChunk {
    /// The compartment.
    pub compartment: CompartmentId,
    /// Number of Automerge changes in it.
    pub changes: usize,
    /// The envelope.
    pub envelope: SealedEnvelope,
}

/// Number of Automerge changes in a decrypted payload (0 for a snapshot).
pub fn payload_changes(payload: &[u8]) -> usize {
    match payload {
        [super::doc::PAYLOAD_CHANGES, a, b, c, d, ..] => {
            u32::from_le_bytes([*a, *b, *c, *d]) as usize
        }
        _ => 0,
    }
}

/// Top or tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// What worked.
    Top,
    /// What to do differently.
    Tip,
}

fn prefix_what(prefix: &str) -> &'static str {
    match prefix {
        "item" => "item",
        "agreement" => "agreement",
        "meeting" => "meeting",
        _ => "entry",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn me(name: &str, role: Role, org: &str) -> (Me, DeviceSecret) {
        let d = DeviceSecret::generate().unwrap();
        (
            Me {
                person: name.to_lowercase(),
                name: name.into(),
                role,
                organisation: org.into(),
                device: d.device_id(),
            },
            d,
        )
    }

    #[test]
    fn items_go_to_the_compartment_of_their_audience() {
        let (m, _) = me("Monique", Role::IbEr, "OBS De Wilgen");
        let mut c =
            Case::create(&m, "Noor Visser", "2017-05-02", "OBS De Wilgen", "groep 6").unwrap();
        let a = c
            .add_item(
                &m,
                Section::parse("kind.plus").unwrap(),
                "tekent graag",
                Audience::Parents,
                None,
                1,
            )
            .unwrap();
        let b = c
            .add_item(
                &m,
                Section::parse("notitie").unwrap(),
                "interne notitie",
                Audience::Organisation,
                None,
                2,
            )
            .unwrap();
        let items = c.items();
        let find = |id: &str| items.iter().find(|i| i.data.id == id).unwrap();
        assert_eq!(find(&a).audience, Audience::Parents);
        assert_eq!(find(&b).compartment, "organisation:OBS De Wilgen");
        assert_eq!(c.compartment_list().len(), 2);
        assert_eq!(c.take_new_keys().len(), 2);
        assert!(c.take_new_keys().is_empty());
        assert_eq!(c.info().child, "Noor Visser");
        assert_eq!(c.participants()[0].role, "ib-er");
    }

    #[test]
    fn compartment_ids_are_shared_and_descriptors_round_trip() {
        let case = CaseId([1; 16]);
        for k in [
            CompartmentKind::Shared(Audience::Parents),
            CompartmentKind::Shared(Audience::Medical),
            CompartmentKind::Organisation("OBS De Wilgen".into()),
            CompartmentKind::Safety("SMW".into()),
            CompartmentKind::Author("monique".into()),
        ] {
            assert_eq!(CompartmentKind::parse(&k.descriptor()), Some(k.clone()));
            assert_eq!(k.id(case), k.clone().id(case));
            assert_ne!(k.id(case), k.id(CaseId([2; 16])));
        }
        assert_eq!(CompartmentKind::parse("organisation"), None);
        assert_eq!(CompartmentKind::parse("onzin"), None);
    }

    #[test]
    fn validation_errors() {
        let (m, _) = me("Monique", Role::IbEr, "OBS");
        assert!(Case::create(&m, " ", "2017-05-02", "", "").is_err());
        assert!(Case::create(&m, "Noor", "2 mei", "", "").is_err());
        let mut c = Case::create(&m, "Noor", "2017-05-02", "", "").unwrap();
        let s = Section::parse("tuin.plus").unwrap();
        assert!(matches!(
            c.add_item(&m, s, "x", Audience::Parents, None, 0),
            Err(CoreError::UnknownValue { .. })
        ));
        c.add_circle("tuin").unwrap();
        c.add_item(
            &m,
            Section::parse("tuin.plus").unwrap(),
            "x",
            Audience::Parents,
            None,
            0,
        )
        .unwrap();
        assert!(c.add_circle("Tuin Huis").is_err());
        assert!(matches!(
            c.add_item(&m, Section::Vragen, "  ", Audience::Parents, None, 0),
            Err(CoreError::Empty { .. })
        ));
        assert!(matches!(
            c.edit_item("nope", "x"),
            Err(CoreError::NotFound { .. })
        ));
        let bad_due = NewAgreement {
            wie: "a".into(),
            wat: "b".into(),
            due: "morgen".into(),
            ..Default::default()
        };
        assert!(matches!(
            c.add_agreement(&m, bad_due, Audience::Parents, 0),
            Err(CoreError::BadDate { .. })
        ));
        assert!(
            c.add_agreement(&m, NewAgreement::default(), Audience::Parents, 0)
                .is_err()
        );
        assert!(c.set_fact("phase", "klaar").is_err());
        c.set_fact("phase", "arrangeren").unwrap();
        assert_eq!(c.info().phase, "arrangeren");
    }

    #[test]
    fn sealing_produces_one_chunk_per_touched_compartment() {
        let (m, dev) = me("Monique", Role::IbEr, "OBS");
        let mut c = Case::create(&m, "Noor", "2017-05-02", "", "").unwrap();
        c.add_item(
            &m,
            Section::Vragen,
            "hoe gaat het na de pauze?",
            Audience::Parents,
            None,
            0,
        )
        .unwrap();
        c.add_item(
            &m,
            Section::Notitie,
            "intern",
            Audience::Organisation,
            None,
            0,
        )
        .unwrap();
        let chunks = c.seal_pending(&dev).unwrap();
        assert_eq!(chunks.len(), 2);
        assert!(c.seal_pending(&dev).unwrap().is_empty());
        c.edit_item(
            &c.items()[0].data.id.clone(),
            "hoe gaat het na de middagpauze?",
        )
        .unwrap();
        let next = c.seal_pending(&dev).unwrap();
        assert_eq!(next.len(), 1);
        let env = envelope::Envelope::parse(&next[0].envelope.bytes).unwrap();
        assert_eq!(env.deps.len(), 1, "the second chunk builds on the first");
    }
}
