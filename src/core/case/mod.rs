//! A case: a handful of compartments (one Automerge document per audience), the operations the
//! chair and the others perform on it, and the read-side views. Pure: randomness only for ids and
//! keys; time is passed in.

use std::collections::BTreeMap;

use mdo_crypto::envelope::{self, SealedEnvelope};
use mdo_crypto::{
    CaseId, ChunkId, CompartmentId, DeviceId, DeviceSecret, EpochKey, Keyring, PublicIdentity,
    wrap_to_all,
};
use serde::Serialize;

use super::CoreError;
use super::access::{self, Access};
use super::doc::{
    AgreementData, ArrowData, CompartmentDoc, ItemData, MeetingData, MeetingNote, ParticipantData,
    StoredVerslag,
};
use super::membership::{
    Action, Blob, Inserted, KeyUpdate, Log, Member, MemberSpec, NewEpoch, Op, State,
};
use super::model::Date;
use super::model::{
    Audience, CaseStatus, ConsentCategory, Direction, Role, Section, SupportPhase, parse_date,
    valid_circle_name,
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

/// Where something lives, for views.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placed<T> {
    /// The audience (who may read it).
    pub audience: Audience,
    /// The compartment's descriptor.
    pub compartment: String,
    /// The compartment.
    #[serde(skip)]
    pub kind: CompartmentKind,
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

    /// Takes the keys addressed to this device from the log: unwraps every bundle for it, keeps
    /// only keys whose commitment is the canonical one of their epoch, and opens epoch links so
    /// that the newest key unlocks the history. Returns problems found (bundles that do not
    /// open, keys that are not canonical).
    pub fn unlock(&mut self, device: &DeviceSecret) -> Vec<String> {
        let mut problems = Vec::new();
        let st = self.log.state();
        let mut keys = Vec::new();
        for w in self
            .log
            .bundles()
            .iter()
            .filter(|w| w.recipient() == device.device_id())
        {
            match w.unwrap(device) {
                Ok(ks) => keys.extend(ks),
                Err(e) => problems.push(format!("key bundle: {e}")),
            }
        }
        let mut accepted = Vec::new();
        for k in keys {
            let canonical = st
                .keys
                .get(&k.compartment())
                .and_then(|c| c.epochs.iter().find(|e| e.epoch == k.epoch()))
                .map(|e| e.commitment);
            match canonical {
                Some(c) if mdo_crypto::secret::ct_eq(&c, &k.commitment()) => accepted.push(k),
                _ => problems.push(format!(
                    "a key for compartment {} epoch {} is not the agreed key and was ignored",
                    k.compartment(),
                    k.epoch()
                )),
            }
        }
        let links = st.links.clone();
        // The commitment the log holds for each epoch: a key recovered through a link is adopted
        // only if it is that key (a rotator cannot plant another history key).
        let logged: BTreeMap<CompartmentId, BTreeMap<u32, [u8; 32]>> = st
            .keys
            .iter()
            .map(|(c, k)| {
                (
                    *c,
                    k.epochs.iter().map(|e| (e.epoch, e.commitment)).collect(),
                )
            })
            .collect();
        for k in accepted {
            if let Err(e) = self.add_key(k) {
                problems.push(e.to_string());
            }
        }
        let ids: Vec<CompartmentId> = self
            .compartments
            .keys()
            .chain(self.waiting.keys())
            .copied()
            .collect();
        for id in ids {
            let commitments = logged.get(&id);
            if let Some(ring) = self.keyring_mut(id)
                && let Err(e) =
                    ring.absorb_links(&links, |e| commitments.and_then(|m| m.get(&e)).copied())
            {
                problems.push(format!("epoch link: {e}"));
            }
        }
        problems
    }

    fn keyring_mut(&mut self, id: CompartmentId) -> Option<&mut Keyring> {
        match self.compartments.get_mut(&id) {
            Some(c) => Some(&mut c.keys),
            None => self.waiting.get_mut(&id),
        }
    }

    /// The keys this device holds for a compartment.
    pub fn keyring(&self, id: CompartmentId) -> Option<&Keyring> {
        self.compartments
            .get(&id)
            .map(|c| &c.keys)
            .or_else(|| self.waiting.get(&id))
    }

    /// Records a stored chunk and its author (the store calls this while loading).
    pub fn note_stored(&mut self, compartment: CompartmentId, chunk: ChunkId, author: DeviceId) {
        let v = self.stored.entry(compartment).or_default();
        if !v.iter().any(|(c, _)| *c == chunk) {
            v.push((chunk, author));
        }
    }

    /// Creates, rotates and hands out compartment keys so that exactly the devices entitled
    /// today hold the latest key of every compartment this device holds (see
    /// [`access::plan_keys`]). Returns whether an op was made. One HPKE encapsulation per
    /// recipient device carries all its keys.
    pub fn maintain_keys(&mut self, device: &DeviceSecret) -> Result<bool, CoreError> {
        let access = self.access();
        let st = self.log.state();
        let plan = access::plan_keys(st, &access, device.device_id(), |c| {
            let held = self.keyring(c).and_then(|r| r.latest()).map(|k| k.epoch());
            st.latest(c).map(|e| e.epoch) == held && held.is_some()
        });
        if plan.is_empty() {
            return Ok(false);
        }
        let mut epochs = Vec::new();
        let mut per_device: BTreeMap<DeviceId, Vec<EpochKey>> = BTreeMap::new();
        let mut mine = Vec::new();
        for (c, kind) in &plan.create {
            let key = EpochKey::generate(self.id, *c)?;
            epochs.push(NewEpoch {
                descriptor: kind.descriptor(),
                compartment: *c,
                epoch: 0,
                commitment: Blob(key.commitment().to_vec()),
                link: None,
                closing: Vec::new(),
            });
            for d in access.reader_devices(st, *c) {
                per_device.entry(d).or_default().push(key.clone());
            }
            if access.reader_devices(st, *c).contains(&self.device) {
                mine.push(key);
            }
        }
        for c in &plan.rotate {
            let Some(old) = self.keyring(*c).and_then(|r| r.latest()).cloned() else {
                continue;
            };
            let (key, link) = old.rotate()?;
            let writers = access.writer_devices(st, *c);
            let closing = self
                .stored
                .get(c)
                .map(|v| {
                    v.iter()
                        .filter(|(_, a)| !writers.contains(a))
                        .map(|(id, _)| *id)
                        .collect()
                })
                .unwrap_or_default();
            let descriptor = st
                .keys
                .get(c)
                .map(|k| k.descriptor.clone())
                .unwrap_or_default();
            epochs.push(NewEpoch {
                descriptor,
                compartment: *c,
                epoch: key.epoch(),
                commitment: Blob(key.commitment().to_vec()),
                link: Some(Blob(link.to_bytes().to_vec())),
                closing,
            });
            for d in access.reader_devices(st, *c) {
                per_device.entry(d).or_default().push(key.clone());
            }
            mine.push(key);
        }
        for (c, to) in &plan.hand_out {
            let Some(key) = self.keyring(*c).and_then(|r| r.latest()).cloned() else {
                continue;
            };
            for d in to {
                per_device.entry(*d).or_default().push(key.clone());
            }
        }
        // Devices that get the same keys (all remaining readers, after a removal) share one
        // call that spreads the encapsulations over the cores.
        type Group = (Vec<EpochKey>, Vec<PublicIdentity>);
        let mut groups: BTreeMap<Vec<(CompartmentId, u32)>, Group> = BTreeMap::new();
        for (d, keys) in per_device {
            let Some(id) = st.identities.get(&d) else {
                continue;
            };
            let sig: Vec<(CompartmentId, u32)> =
                keys.iter().map(|k| (k.compartment(), k.epoch())).collect();
            groups
                .entry(sig)
                .or_insert_with(|| (keys, Vec::new()))
                .1
                .push(id.clone());
        }
        let mut wrapped = Vec::new();
        for (keys, to) in groups.values() {
            for ks in keys.chunks(mdo_crypto::wrap::MAX_KEYS) {
                let refs: Vec<&EpochKey> = ks.iter().collect();
                wrapped.extend(
                    wrap_to_all(&refs, to)?
                        .into_iter()
                        .map(|w| Blob(w.to_bytes())),
                );
            }
        }
        self.log.append(
            device,
            Action::Keys,
            KeyUpdate { epochs, wrapped },
            self.now,
            self.today,
        )?;
        for k in mine {
            self.add_key(k)?;
        }
        Ok(true)
    }

    /// Appends a membership/consent op by this device and then does the key work it causes
    /// (rotation after a removal or withdrawal, handouts after an addition or a consent).
    pub fn membership(&mut self, device: &DeviceSecret, action: Action) -> Result<Op, CoreError> {
        let op = self
            .log
            .append(device, action, KeyUpdate::default(), self.now, self.today)?;
        self.maintain_keys(device)?;
        Ok(op)
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
        self.waiting.remove(&id);
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

    /// Keyrings of compartments this device holds keys for but has no document of yet.
    pub fn take_waiting(&mut self) -> BTreeMap<CompartmentId, Keyring> {
        std::mem::take(&mut self.waiting)
    }

    /// Gives back a keyring taken with [`Case::take_waiting`] that had no content.
    pub fn restore_waiting(&mut self, ring: Keyring) {
        self.waiting.insert(ring.compartment(), ring);
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

    fn add_key(&mut self, key: EpochKey) -> Result<(), CoreError> {
        if let Some(c) = self.compartments.get_mut(&key.compartment()) {
            return Ok(c.keys.insert(key)?);
        }
        let ring = self
            .waiting
            .entry(key.compartment())
            .or_insert_with(|| Keyring::new(key.case(), key.compartment()));
        Ok(ring.insert(key)?)
    }

    /// Every key this device holds for the case.
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
    /// envelope must belong to this case, a compartment this device holds a key for, and an
    /// author who may write there ([`access::may_merge`]); a chunk that fails any check is
    /// rejected with an error and changes nothing — except when Automerge panicked while
    /// applying it: then the compartment's in-memory document is dropped (keys kept) and must
    /// be reloaded from the store.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<ChunkId, CoreError> {
        let env = envelope::Envelope::parse(bytes)?;
        if env.case != self.id {
            return Err(mdo_crypto::CryptoError::WrongCase {
                expected: self.id.to_hex(),
                found: env.case.to_hex(),
            }
            .into());
        }
        env.verify_signature()?;
        access::may_merge(
            self.log.state(),
            &self.access(),
            env.compartment,
            env.author,
            env.id,
            env.epoch,
        )?;
        self.note_stored(env.compartment, env.id, env.author);
        if let Some(c) = self.compartments.get_mut(&env.compartment) {
            let opened = env.open(&c.keys)?;
            let applied = c.doc.apply(&opened.payload);
            if let Err(e) = applied.and_then(|()| c.kind.check_label(&c.doc)) {
                if c.doc.is_poisoned() || c.kind.check_label(&c.doc).is_err() {
                    // Automerge panicked half-way, or the chunk relabelled the compartment: this
                    // in-memory copy can no longer be trusted. Drop it (keeping the keys); the
                    // caller reloads the compartment from the chunks it stored, where the bad
                    // chunk is marked rejected.
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
        // What the compartment is comes from the log (verified against its id), not the chunk.
        let kind = CompartmentKind::of_compartment(self.log.state(), env.compartment)?;
        let mut doc = CompartmentDoc::new();
        doc.apply(&opened.payload)?;
        doc.mark_saved();
        if doc.descriptor().is_none() {
            return Err(CoreError::BadChunk(
                "the first chunk of a compartment does not say which compartment it is".into(),
            ));
        }
        kind.check_label(&doc)?;
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
                let v = self.stored.entry(c.id).or_default();
                v.push((envelope.id, author.device_id()));
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
        self.stored
            .insert(compartment, vec![(sealed.id, author.device_id())]);
        Ok(sealed)
    }

    /// The compartment holding entry `prefix:id`, if this device's participant may write there
    /// (an edit others would refuse is refused here first).
    fn find(&mut self, prefix: &str, id: &str) -> Result<&mut Compartment, CoreError> {
        let (cid, label) = self
            .compartments
            .values()
            .find(|c| c.doc.has(prefix, id))
            .map(|c| (c.id, c.kind.label()))
            .ok_or_else(|| CoreError::NotFound {
                what: prefix_what(prefix),
                id: id.to_string(),
            })?;
        let me = self.my_member().map(|m| m.id.clone()).unwrap_or_default();
        if !self.access().writes(cid, &me) {
            return Err(CoreError::NoAccess {
                compartment: label,
                reason: format!("participant {me} may read but not change it"),
            });
        }
        self.compartments
            .get_mut(&cid)
            .ok_or(CoreError::Document("compartment vanished".into()))
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
        self.add_item_in(
            me,
            section,
            text,
            CompartmentKind::for_audience(audience, me),
            parent,
            now,
        )
    }

    /// Adds an item to a section, in compartment `kind`. Returns its id.
    pub fn add_item_in(
        &mut self,
        me: &Me,
        section: Section,
        text: &str,
        kind: CompartmentKind,
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
        self.doc_for(kind)?.add_item(&item)?;
        Ok(id)
    }

    /// Moves an item to the compartment of another audience (or consent category): it is
    /// removed where it was and created, with the same id and content, where it goes. Whoever
    /// could read the old place keeps what they already received; only the new place's readers
    /// get later versions.
    pub fn move_item(
        &mut self,
        id: &str,
        to: CompartmentKind,
    ) -> Result<CompartmentKind, CoreError> {
        let from = self.find("item", id)?.kind.clone();
        if from == to {
            return Err(CoreError::UnknownValue {
                what: "audience",
                value: to.descriptor(),
                allowed: "another audience than the item's own".into(),
            });
        }
        let data = self
            .items()
            .into_iter()
            .find(|i| i.data.id == id)
            .map(|i| i.data)
            .ok_or_else(|| CoreError::NotFound {
                what: "item",
                id: id.to_string(),
            })?;
        // Only the author decides that their text may reach more people; anyone who may write
        // it may narrow its audience (docs/sharing-rules.md §2a).
        let me = self.my_member().map(|m| m.id.clone()).unwrap_or_default();
        if data.author != me && !super::audience::composes_into(&from, &to) {
            return Err(CoreError::OnlyAuthorWidens {
                to: super::audience::voor(&to),
            });
        }
        // Check the target first so that a refused move changes nothing.
        self.doc_for(to.clone())?;
        self.find("item", id)?.doc.remove_item(id)?;
        self.doc_for(to)?.add_item(&data)?;
        Ok(from)
    }

    /// Participants as the membership log knows them, with their name from the roster (when
    /// this device can read it).
    pub fn members(&self) -> Vec<MemberView> {
        let roster = self.participants();
        let access = self.access();
        self.state()
            .members
            .values()
            .map(|m| MemberView {
                name: roster
                    .iter()
                    .find(|p| p.id == m.id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                reads: access
                    .compartments
                    .values()
                    .filter(|a| a.readers.contains_key(&m.id))
                    .map(|a| a.kind.descriptor())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                member: m.clone(),
            })
            .collect()
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

    /// Adds an agreement (wie, wat, waarom, wanneer, hoe) for `audience`. Returns its id.
    pub fn add_agreement(
        &mut self,
        me: &Me,
        a: NewAgreement,
        audience: Audience,
        now: i64,
    ) -> Result<String, CoreError> {
        self.add_agreement_in(me, a, CompartmentKind::for_audience(audience, me), now)
    }

    /// Adds an agreement in compartment `kind`. Returns its id.
    pub fn add_agreement_in(
        &mut self,
        me: &Me,
        a: NewAgreement,
        kind: CompartmentKind,
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
        self.doc_for(kind)?.add_agreement(&data)?;
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

    /// Adds an arrow between two circles, for `audience`.
    pub fn add_arrow(
        &mut self,
        me: &Me,
        from: &str,
        to: &str,
        text: &str,
        direction: Direction,
        audience: Audience,
    ) -> Result<String, CoreError> {
        self.add_arrow_in(
            from,
            to,
            text,
            direction,
            CompartmentKind::for_audience(audience, me),
        )
    }

    /// Adds an arrow between two circles in compartment `kind`.
    pub fn add_arrow_in(
        &mut self,
        from: &str,
        to: &str,
        text: &str,
        direction: Direction,
        kind: CompartmentKind,
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
        self.doc_for(kind)?.add_arrow(&ArrowData {
            id: id.clone(),
            from: from.into(),
            to: to.into(),
            text: text.trim().into(),
            direction,
        })?;
        Ok(id)
    }

    /// Adds a participant: an `AddMember` op in the membership log (with the participant's
    /// device when known) and an entry in the roster (names live only in the encrypted roster,
    /// never in the log). Needs the chair or a co-chair.
    pub fn add_participant(
        &mut self,
        device: &DeviceSecret,
        p: ParticipantData,
        identity: Option<PublicIdentity>,
    ) -> Result<String, CoreError> {
        if p.name.trim().is_empty() {
            return Err(CoreError::Empty { field: "name" });
        }
        let role = p.role.parse::<Role>()?;
        let id = p.id.clone();
        self.membership(
            device,
            Action::AddMember {
                member: MemberSpec {
                    id: id.clone(),
                    role,
                    organisation: p.organisation.trim().to_string(),
                    custody: p.custody,
                    admin: p.chair,
                    devices: identity.iter().cloned().collect(),
                },
            },
        )?;
        let mut p = p;
        p.devices = identity.iter().map(|i| i.device_id().to_hex()).collect();
        self.doc_for(CompartmentKind::Shared(Audience::Parents))?
            .put_participant(&p)?;
        Ok(id)
    }

    /// Starts a meeting held for `audience`: with parents (`Shared(Parents)`, the regular MDO)
    /// or professionals only (`Shared(Professionals)`: invisible to parents). Returns its id.
    pub fn new_meeting(
        &mut self,
        date: &str,
        planned_end: &str,
        audience: CompartmentKind,
    ) -> Result<String, CoreError> {
        parse_date(date)?;
        if !super::audience::meeting_choices().contains(&audience) {
            return Err(CoreError::UnknownValue {
                what: "meeting audience",
                value: audience.descriptor(),
                allowed: "parents (met ouders), professionals (alleen professionals)".into(),
            });
        }
        let id = new_id()?;
        self.doc_for(audience)?
            .add_meeting(&id, date, planned_end)?;
        Ok(id)
    }

    /// The compartment a meeting is held in.
    pub fn meeting_kind(&self, meeting: &str) -> Result<CompartmentKind, CoreError> {
        self.compartments
            .values()
            .find(|c| c.doc.has("meeting", meeting))
            .map(|c| c.kind.clone())
            .ok_or_else(|| CoreError::NotFound {
                what: "meeting",
                id: meeting.to_string(),
            })
    }

    /// Notes at step `n` of a meeting, for `audience`: the meeting's own audience keeps them in
    /// the meeting record; a narrower one (an organisation's internal remark, a medical note)
    /// keeps them in that compartment, out of reach of the meeting's other readers. A broader
    /// audience than the meeting's is refused.
    pub fn meeting_step(
        &mut self,
        meeting: &str,
        n: usize,
        text: &str,
        audience: CompartmentKind,
    ) -> Result<(), CoreError> {
        let held = self.meeting_kind(meeting)?;
        if audience == held {
            return self
                .find("meeting", meeting)?
                .doc
                .set_step(meeting, n, text);
        }
        if !super::audience::may_note(&audience, &held) {
            return Err(CoreError::NarrowerAudience {
                what: "dit overleg",
                of: super::audience::voor(&held),
                target: super::audience::voor(&audience),
            });
        }
        self.doc_for(audience)?.set_meeting_note(meeting, n, text)
    }

    /// Notes of other audiences at the steps of `meeting` that this device can read.
    pub fn meeting_notes(&self, meeting: &str) -> Vec<Placed<MeetingNote>> {
        self.collect(CompartmentDoc::meeting_notes)
            .into_iter()
            .filter(|n| n.data.meeting == meeting)
            .collect()
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

    /// Stores a verslag in the compartment of the audience it was composed for (never a
    /// broader one: [`super::verslag::compose`] is the only way to make a `Verslag`).
    pub fn store_verslag(&mut self, v: &super::verslag::Verslag) -> Result<(), CoreError> {
        let meeting = v.meeting().ok_or(CoreError::NotFound {
            what: "meeting",
            id: String::new(),
        })?;
        self.doc_for(v.audience().clone())?
            .set_verslag(meeting, v.markdown())
    }

    /// The verslagen this device can read, each with the audience it was composed for.
    pub fn verslagen(&self) -> Vec<Placed<StoredVerslag>> {
        self.collect(CompartmentDoc::verslagen)
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
                    kind: c.kind.clone(),
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

/// A participant for `mdo member list`.
#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    /// From the log.
    #[serde(flatten)]
    pub member: Member,
    /// Name from the roster.
    pub name: String,
    /// Descriptors of the compartments they may read today.
    pub reads: Vec<String>,
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

    const TODAY: Date = time::macros::date!(2026 - 11 - 23);

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
    fn only_the_author_shows_an_item_to_more_people() {
        let (m, dev) = me("Monique", Role::IbEr, "OBS De Wilgen");
        let mut c = Case::create(
            &m,
            &dev,
            "Noor Visser",
            "2017-05-02",
            "OBS De Wilgen",
            "groep 6",
            TODAY,
            0,
        )
        .unwrap();
        // An item "written" by someone else (the roster's teacher) in the internal notes.
        let id = c
            .add_item(
                &m,
                Section::Notitie,
                "intern",
                Audience::Organisation,
                None,
                0,
            )
            .unwrap();
        let own = c
            .add_item(
                &m,
                Section::Notitie,
                "eigen",
                Audience::Organisation,
                None,
                0,
            )
            .unwrap();
        let kind = CompartmentKind::Organisation("OBS De Wilgen".into());
        let doc = c.doc_for(kind.clone()).unwrap();
        let mut item = doc.items().into_iter().find(|i| i.id == id).unwrap();
        item.author = "jeroen".into();
        doc.remove_item(&id).unwrap();
        doc.add_item(&item).unwrap();
        let err = c
            .move_item(&id, CompartmentKind::Shared(Audience::Parents))
            .unwrap_err();
        assert!(matches!(err, CoreError::OnlyAuthorWidens { .. }), "{err}");
        // Narrowing is anyone's: to the author's own notes of the mover is not narrower by
        // rule, but the safety track of the same organisation is.
        c.move_item(&id, CompartmentKind::Safety("OBS De Wilgen".into()))
            .unwrap();
        // The author widens their own text.
        c.move_item(&own, CompartmentKind::Shared(Audience::Parents))
            .unwrap();
    }

    #[test]
    fn items_go_to_the_compartment_of_their_audience() {
        let (m, dev) = me("Monique", Role::IbEr, "OBS De Wilgen");
        let mut c = Case::create(
            &m,
            &dev,
            "Noor Visser",
            "2017-05-02",
            "OBS De Wilgen",
            "groep 6",
            TODAY,
            0,
        )
        .unwrap();
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
        assert!(!c.take_new_ops().is_empty(), "creation and key ops");
        assert!(c.take_new_ops().is_empty());
        assert_eq!(c.info().child, "Noor Visser");
        assert_eq!(c.participants()[0].role, "ib-er");
    }

    #[test]
    fn compartment_ids_are_shared_and_descriptors_round_trip() {
        let case = CaseId([1; 16]);
        for k in [
            CompartmentKind::Shared(Audience::Parents),
            CompartmentKind::Category(ConsentCategory::Medisch, "GGD".into()),
            CompartmentKind::Category(ConsentCategory::Ggz, "Accare".into()),
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
        let (m, dev) = me("Monique", Role::IbEr, "OBS");
        assert!(Case::create(&m, &dev, " ", "2017-05-02", "", "", TODAY, 0).is_err());
        assert!(Case::create(&m, &dev, "Noor", "2 mei", "", "", TODAY, 0).is_err());
        let mut c = Case::create(&m, &dev, "Noor", "2017-05-02", "", "", TODAY, 0).unwrap();
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
        let mut c = Case::create(&m, &dev, "Noor", "2017-05-02", "", "", TODAY, 0).unwrap();
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
