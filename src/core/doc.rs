//! One compartment's Automerge document, and the typed mapping between it and the domain.
//!
//! Layout (all at the root, so that two devices that create entries concurrently never create
//! the same container twice — concurrent `put_object` on one key would hide one side's data):
//!
//! ```text
//! meta.compartment   str   what this compartment is (e.g. "parents", "organisation:OBS De Wilgen")
//! case.<field>       str   case facts (child, birthdate, school, class, phase, status)
//! circle:<name>      bool  an added circle
//! item:<id>          map   section str, text Text, author str, created i64, order f64, parent str?
//! agreement:<id>     map   wie/wat/waarom/wanneer/hoe Text, owner/due/status/evaluation str, author, created
//! arrow:<id>         map   from/to str, text Text, direction str, author
//! meeting:<id>       map   date/planned_end str, present map<participant,bool>,
//!                          steps map<"1".."6", Text>, tops/tips map<participant, Text>
//! meetingnote:<meeting>:<n>  Text  notes at step n of a meeting held in another compartment,
//!                          written for this compartment's audience
//! verslag:<meeting>  Text  the verslag of that meeting composed for this compartment's audience
//! participant:<id>   map   name/role/organisation str, custody/chair bool
//! ```
//! Every free-text field is an Automerge `Text`, so concurrent edits of one sentence merge
//! character by character; edits go through `update_text` (a diff against the current value).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::transaction::Transactable;
use automerge::{
    ActorId, AutoCommit, LoadOptions, ObjId, ObjType, OnPartialLoad, ROOT, ReadDoc, ScalarValue,
    Value, VerificationMode,
};
use serde::Serialize;

use super::CoreError;
use super::model::{AgreementStatus, Agrees, Direction, GoalTerm, ItemStatus, RouteKind, Section};

/// The six steps of the chair's guide (seed 002, §5).
pub const STEP_COUNT: usize = 6;

/// A stored item (circle entry, question, need, note …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemData {
    /// Item id.
    pub id: String,
    /// Section.
    pub section: Section,
    /// Text.
    pub text: String,
    /// Author (participant id).
    pub author: String,
    /// Creation time (unix seconds).
    pub created: i64,
    /// Sort key within the section.
    pub order: f64,
    /// The item this one elaborates (needs chain: goal → need → approach → support → effect).
    pub parent: Option<String>,
    /// Whose item it is when someone else wrote it down (e.g. a parent's question that the
    /// chair typed); `None` means the author's own.
    pub by: Option<String>,
    /// Why it is kept from the parents (an item in the safety track: issue 14; AVG art. 12(4),
    /// 23; UAVG art. 41).
    pub withheld: Option<String>,
    /// When keeping it from the parents is looked at again (YYYY-MM-DD).
    pub review: Option<String>,
    /// A goal's term (short or longer).
    pub term: Option<GoalTerm>,
    /// How far a goal, question, process goal or decision got.
    pub status: Option<ItemStatus>,
}

/// A stored agreement: wie, wat, waarom, wanneer, hoe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgreementData {
    /// Agreement id.
    pub id: String,
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
    /// Responsible participant (id or name).
    pub owner: String,
    /// Due date (YYYY-MM-DD) or empty.
    pub due: String,
    /// Status.
    pub status: AgreementStatus,
    /// Evaluation date or empty.
    pub evaluation: String,
    /// Author.
    pub author: String,
    /// Creation time.
    pub created: i64,
    /// The goal it serves (item id) or empty.
    pub goal: String,
    /// Why the status changed (gedaan, vervallen, back to open), or empty.
    pub note: String,
    /// One of the school's obligations in the arrangement (seed 003: what the consultant of the
    /// samenwerkingsverband watches).
    pub obligation: bool,
    /// Whether the school delivered it (meaningful for an obligation).
    pub delivered: bool,
    /// The meeting where it was agreed, or empty.
    pub meeting: String,
}

/// An arrow between circles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArrowData {
    /// Arrow id.
    pub id: String,
    /// From circle.
    pub from: String,
    /// To circle.
    pub to: String,
    /// What the interplay is.
    pub text: String,
    /// Up or down.
    pub direction: Direction,
}

/// A meeting of the traject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeetingData {
    /// Meeting id.
    pub id: String,
    /// Date.
    pub date: String,
    /// Planned end ("16:00").
    pub planned_end: String,
    /// Participants present.
    pub present: Vec<String>,
    /// Notes per step, index 0 = step 1.
    pub steps: Vec<String>,
    /// Top per participant.
    pub tops: BTreeMap<String, String>,
    /// Tip per participant.
    pub tips: BTreeMap<String, String>,
    /// Start time ("15:00") or empty.
    pub start: String,
    /// Where it is held, or empty.
    pub place: String,
    /// Who is invited (participant ids).
    pub invited: Vec<String>,
    /// Absent, with what they gave beforehand (participant → their input).
    pub input: BTreeMap<String, String>,
    /// Closed by the chair: the meeting was held and its record is complete.
    pub closed: bool,
}

/// A change of the support-route phase (seed 004), kept as history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseChange {
    /// Entry id.
    pub id: String,
    /// The phase from then on (id).
    pub phase: String,
    /// Date (YYYY-MM-DD).
    pub date: String,
    /// Who changed it (participant id).
    pub by: String,
    /// Why.
    pub note: String,
}

/// A record of the support route: OPP, deskundigenadvies, TLV, arrangement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteRecord {
    /// Entry id.
    pub id: String,
    /// What kind.
    pub kind: RouteKind,
    /// Date (YYYY-MM-DD).
    pub date: String,
    /// Until (YYYY-MM-DD) or empty (a TLV's end date, an arrangement's end).
    pub until: String,
    /// What it says (the OPP's handelingsdeel, the advice, the arrangement).
    pub text: String,
    /// Who recorded it.
    pub by: String,
    /// Answers on it (the OPP's instemming): participant → answer.
    pub answers: BTreeMap<String, Answer>,
}

/// A person's answer on a plan: agrees or not, when, and their words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// Agrees, in part, or not.
    pub agrees: Agrees,
    /// Date (YYYY-MM-DD).
    pub on: String,
    /// Their words (the zienswijze), may be empty.
    pub text: String,
    /// Who recorded it (themselves, or the chair on their behalf).
    pub by: String,
}

/// Who set a verslag as final, and the views of parents and the young person on it.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct VerslagStatus {
    /// The meeting.
    pub meeting: String,
    /// Set as final by (participant id), or empty.
    pub vastgesteld_by: String,
    /// On (YYYY-MM-DD), or empty.
    pub vastgesteld_on: String,
    /// BLAKE3 of the verslag's text when it was set as final (hex).
    pub text_hash: String,
    /// Views (zienswijze) and whether they agree, per participant.
    pub views: BTreeMap<String, Answer>,
}

/// Notes at one step of a meeting, kept in a compartment other than the meeting's own (written
/// for a narrower audience than the meeting).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeetingNote {
    /// The meeting.
    pub meeting: String,
    /// The step (1–6).
    pub step: usize,
    /// The notes.
    pub text: String,
}

/// A verslag stored in a compartment: composed for that compartment's audience.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredVerslag {
    /// The meeting it reports.
    pub meeting: String,
    /// The text (Markdown).
    pub text: String,
}

/// A participant as listed in the case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantData {
    /// Participant id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role id.
    pub role: String,
    /// Organisation.
    pub organisation: String,
    /// Holds gezag (parents).
    pub custody: bool,
    /// Chairs the MDO.
    pub chair: bool,
    /// The participant's devices (device ids, hex); the membership log makes them authoritative.
    pub devices: Vec<String>,
}

/// One compartment document.
#[derive(Debug)]
pub struct CompartmentDoc {
    doc: AutoCommit,
    poisoned: bool,
    baseline: Vec<automerge::ChangeHash>,
}

/// Payload kind: a whole Automerge document (`save()`), used for compaction snapshots.
pub const PAYLOAD_SNAPSHOT: u8 = 1;
/// Payload kind: a list of Automerge changes, `count u32 LE` then `len u32 LE ‖ change` each.
pub const PAYLOAD_CHANGES: u8 = 2;
/// Most changes one payload may carry.
pub const MAX_CHANGES_PER_PAYLOAD: usize = 1 << 20;

fn decode_changes(mut body: &[u8]) -> Result<Vec<automerge::Change>, CoreError> {
    let bad = |m: String| CoreError::BadChunk(m);
    let take_u32 = |b: &mut &[u8]| -> Option<u32> {
        let (head, rest) = b.split_first_chunk::<4>()?;
        *b = rest;
        Some(u32::from_le_bytes(*head))
    };
    let count = take_u32(&mut body).ok_or_else(|| bad("truncated change count".into()))? as usize;
    if count == 0 || count > MAX_CHANGES_PER_PAYLOAD {
        return Err(bad(format!("{count} changes in one payload")));
    }
    let mut out = Vec::with_capacity(count.min(1024));
    for i in 0..count {
        let len = take_u32(&mut body)
            .ok_or_else(|| bad(format!("truncated length of change {i}")))?
            as usize;
        if len > body.len() {
            return Err(bad(format!(
                "change {i} claims {len} bytes, {} left",
                body.len()
            )));
        }
        let (bytes, rest) = body.split_at(len);
        body = rest;
        out.push(
            automerge::Change::from_bytes(bytes.to_vec())
                .map_err(|e| bad(format!("change {i}: {e}")))?,
        );
    }
    if !body.is_empty() {
        return Err(bad(format!(
            "{} trailing bytes after the changes",
            body.len()
        )));
    }
    Ok(out)
}

fn am(e: automerge::AutomergeError) -> CoreError {
    CoreError::Document(e.to_string())
}

impl CompartmentDoc {
    /// An empty document with a fresh random actor (one per session: two processes on one
    /// profile never share an actor).
    pub fn new() -> Self {
        Self {
            doc: AutoCommit::new().with_actor(ActorId::random()),
            poisoned: false,
            baseline: Vec::new(),
        }
    }

    /// Applies a chunk payload from outside (a decrypted chunk, see [`PAYLOAD_CHANGES`] and
    /// [`PAYLOAD_SNAPSHOT`]).
    ///
    /// Every byte must decode: a change list is parsed change by change (checksums verified)
    /// before any is applied; a snapshot is loaded strictly (`OnPartialLoad::Error`, heads
    /// verified). Automerge 0.12 can panic on malformed input (`shared/toolchain.md`); the panic
    /// is contained and reported as [`CoreError::BadChunk`]. If it struck while applying, the
    /// document may be inconsistent: [`CompartmentDoc::is_poisoned`] then says so and the caller
    /// rebuilds it from the chunks it accepted before.
    pub fn apply(&mut self, payload: &[u8]) -> Result<(), CoreError> {
        let bad = |m: &str| CoreError::BadChunk(m.to_string());
        let (&kind, body) = payload.split_first().ok_or_else(|| bad("empty payload"))?;
        match kind {
            PAYLOAD_SNAPSHOT => {
                let strict = || {
                    LoadOptions::new()
                        .on_partial_load(OnPartialLoad::Error)
                        .verification_mode(VerificationMode::Check)
                };
                let loaded = catch_unwind(AssertUnwindSafe(|| {
                    AutoCommit::load_with_options(body, strict())
                }))
                .map_err(|_| bad("the Automerge decoder panicked on this snapshot"))?
                .map_err(|e| CoreError::BadChunk(e.to_string()))?;
                let actor = self.doc.get_actor().clone();
                if self.doc.is_empty() {
                    self.doc = loaded.with_actor(actor);
                    Ok(())
                } else {
                    let mut loaded = loaded;
                    self.guarded(|doc| doc.merge(&mut loaded).map(|_| ()))
                }
            }
            PAYLOAD_CHANGES => {
                let changes = catch_unwind(|| decode_changes(body))
                    .map_err(|_| bad("the Automerge decoder panicked on these changes"))??;
                self.guarded(|doc| doc.apply_changes(changes))
            }
            other => Err(CoreError::BadChunk(format!("unknown payload kind {other}"))),
        }
    }

    fn guarded(
        &mut self,
        f: impl FnOnce(&mut AutoCommit) -> Result<(), automerge::AutomergeError>,
    ) -> Result<(), CoreError> {
        let doc = &mut self.doc;
        match catch_unwind(AssertUnwindSafe(move || f(doc))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CoreError::BadChunk(e.to_string())),
            Err(_) => {
                self.poisoned = true;
                Err(CoreError::BadChunk(
                    "Automerge panicked while applying this chunk".into(),
                ))
            }
        }
    }

    /// Whether a contained panic may have left this document inconsistent.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Whether this device made changes not yet taken by [`Self::take_changes`].
    pub fn has_changes(&mut self) -> bool {
        let me = self.doc.get_actor().clone();
        self.doc
            .get_changes(&self.baseline)
            .iter()
            .any(|c| c.actor_id() == &me)
    }

    /// The changes this session made since the last call, as a [`PAYLOAD_CHANGES`] payload
    /// (None if there are none). Changes received from others are never re-sent.
    pub fn take_changes(&mut self) -> Option<Vec<u8>> {
        let me = self.doc.get_actor().clone();
        let mut changes: Vec<automerge::Change> = self
            .doc
            .get_changes(&self.baseline)
            .into_iter()
            .filter(|c| c.actor_id() == &me)
            .collect();
        self.baseline = self.doc.get_heads();
        if changes.is_empty() {
            return None;
        }
        let mut out = vec![PAYLOAD_CHANGES];
        out.extend_from_slice(&(changes.len() as u32).to_le_bytes());
        for c in &mut changes {
            let bytes = c.bytes();
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        Some(out)
    }

    /// Ends the current Automerge change (each user action is one change).
    pub fn commit(&mut self) {
        self.doc.commit();
    }

    /// Marks everything so far as already stored (after loading from the store).
    pub fn mark_saved(&mut self) {
        self.baseline = self.doc.get_heads();
    }

    /// The whole document as a [`PAYLOAD_SNAPSHOT`] payload (compaction).
    pub fn snapshot_payload(&mut self) -> Vec<u8> {
        let mut out = vec![PAYLOAD_SNAPSHOT];
        out.extend(self.doc.save());
        out
    }

    /// The whole document, compacted (a standard `.automerge` file).
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Heads, for tests and convergence checks.
    pub fn heads(&mut self) -> Vec<automerge::ChangeHash> {
        self.doc.get_heads()
    }

    /// Merges another copy (tests; the app merges through chunks).
    pub fn merge(&mut self, other: &mut CompartmentDoc) -> Result<(), CoreError> {
        self.doc.merge(&mut other.doc).map(|_| ()).map_err(am)
    }

    // ---- low-level helpers ----

    /// A scalar at `obj[key]`, converted by `f` (None if absent, an object, or another type).
    fn scalar<T>(
        &self,
        obj: &ObjId,
        key: &str,
        f: impl FnOnce(&ScalarValue) -> Option<T>,
    ) -> Option<T> {
        match self.doc.get(obj, key).ok()?? {
            (Value::Scalar(s), _) => f(s.as_ref()),
            _ => None,
        }
    }

    fn get_str(&self, obj: &ObjId, key: &str) -> Option<String> {
        self.scalar(obj, key, |s| match s {
            ScalarValue::Str(v) => Some(v.to_string()),
            _ => None,
        })
    }

    fn get_i64(&self, obj: &ObjId, key: &str) -> Option<i64> {
        self.scalar(obj, key, ScalarValue::as_i64)
    }

    fn get_f64(&self, obj: &ObjId, key: &str) -> Option<f64> {
        self.scalar(obj, key, |s| {
            s.as_f64().or_else(|| s.as_i64().map(|i| i as f64))
        })
    }

    fn get_bool(&self, obj: &ObjId, key: &str) -> Option<bool> {
        self.scalar(obj, key, ScalarValue::as_bool)
    }

    fn get_obj(&self, obj: &ObjId, key: &str) -> Option<ObjId> {
        match self.doc.get(obj, key).ok()?? {
            (Value::Object(_), id) => Some(id),
            _ => None,
        }
    }

    fn get_text(&self, obj: &ObjId, key: &str) -> String {
        self.get_obj(obj, key)
            .and_then(|t| self.doc.text(&t).ok())
            .unwrap_or_default()
    }

    fn put_text(&mut self, obj: &ObjId, key: &str, text: &str) -> Result<(), CoreError> {
        let t = self.doc.put_object(obj, key, ObjType::Text).map_err(am)?;
        self.doc.splice_text(&t, 0, 0, text).map_err(am)?;
        Ok(())
    }

    /// Sets a Text field by diffing (keeps concurrent edits of other parts of the sentence).
    fn update_text_field(&mut self, obj: &ObjId, key: &str, text: &str) -> Result<(), CoreError> {
        match self.get_obj(obj, key) {
            Some(t) => self.doc.update_text(&t, text).map_err(am),
            None => self.put_text(obj, key, text),
        }
    }

    /// Creates the map of a new entry `prefix:id` at the root.
    fn new_entry(&mut self, prefix: &str, id: &str) -> Result<ObjId, CoreError> {
        self.doc
            .put_object(ROOT, format!("{prefix}:{id}"), ObjType::Map)
            .map_err(am)
    }

    fn entry(&self, prefix: &str, id: &str) -> Result<ObjId, CoreError> {
        self.get_obj(&ROOT, &format!("{prefix}:{id}"))
            .ok_or_else(|| CoreError::NotFound {
                what: prefix_label(prefix),
                id: id.to_string(),
            })
    }

    fn ids(&self, prefix: &str) -> Vec<(String, ObjId)> {
        let p = format!("{prefix}:");
        self.doc
            .keys(ROOT)
            .filter_map(|k| k.strip_prefix(&p).map(|s| s.to_string()))
            .filter_map(|id| self.get_obj(&ROOT, &format!("{p}{id}")).map(|o| (id, o)))
            .collect()
    }

    /// Every string in the document — keys, scalar strings and texts, at any depth — for leak
    /// audits: what a device that holds this compartment's key can read, whatever the layout.
    pub fn all_text(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![ROOT];
        let take = |v: Value<'_>, id: ObjId, stack: &mut Vec<ObjId>, out: &mut Vec<String>| match v
        {
            Value::Object(_) => stack.push(id),
            Value::Scalar(s) => {
                if let ScalarValue::Str(t) = s.as_ref() {
                    out.push(t.to_string());
                }
            }
        };
        while let Some(obj) = stack.pop() {
            match self.doc.object_type(&obj) {
                Ok(ObjType::Text) => {
                    if let Ok(t) = self.doc.text(&obj) {
                        out.push(t);
                    }
                }
                Ok(ObjType::List) => {
                    for i in 0..self.doc.length(&obj) {
                        if let Ok(Some((v, id))) = self.doc.get(&obj, i) {
                            take(v, id, &mut stack, &mut out);
                        }
                    }
                }
                _ => {
                    for key in self.doc.keys(&obj).collect::<Vec<_>>() {
                        if let Ok(Some((v, id))) = self.doc.get(&obj, key.as_str()) {
                            take(v, id, &mut stack, &mut out);
                        }
                        out.push(key);
                    }
                }
            }
        }
        out
    }

    /// Whether this document holds an entry `prefix:id`.
    pub fn has(&self, prefix: &str, id: &str) -> bool {
        self.get_obj(&ROOT, &format!("{prefix}:{id}")).is_some()
    }

    // ---- meta and case facts ----

    /// Records what this compartment is.
    pub fn set_descriptor(&mut self, descriptor: &str) -> Result<(), CoreError> {
        if self.descriptor().as_deref() != Some(descriptor) {
            self.doc
                .put(ROOT, "meta.compartment", descriptor)
                .map_err(am)?;
        }
        Ok(())
    }

    /// What this compartment is.
    pub fn descriptor(&self) -> Option<String> {
        self.get_str(&ROOT, "meta.compartment")
    }

    /// Sets a case fact (`child`, `birthdate`, `school`, `class`, `phase`, `status`).
    pub fn set_case_field(&mut self, field: &str, value: &str) -> Result<(), CoreError> {
        self.doc
            .put(ROOT, format!("case.{field}"), value)
            .map_err(am)
    }

    /// A case fact.
    pub fn case_field(&self, field: &str) -> Option<String> {
        self.get_str(&ROOT, &format!("case.{field}"))
    }

    /// Adds a circle beyond kind/school/thuis.
    pub fn add_circle(&mut self, name: &str) -> Result<(), CoreError> {
        self.doc
            .put(ROOT, format!("circle:{name}"), true)
            .map_err(am)
    }

    /// Added circles.
    pub fn circles(&self) -> Vec<String> {
        self.doc
            .keys(ROOT)
            .filter_map(|k| k.strip_prefix("circle:").map(str::to_string))
            .collect()
    }

    // ---- items ----

    /// Adds an item.
    pub fn add_item(&mut self, item: &ItemData) -> Result<(), CoreError> {
        let o = self.new_entry("item", &item.id)?;
        self.doc.put(&o, "section", item.section.id()).map_err(am)?;
        self.put_text(&o, "text", &item.text)?;
        self.doc
            .put(&o, "author", item.author.as_str())
            .map_err(am)?;
        self.doc.put(&o, "created", item.created).map_err(am)?;
        self.doc.put(&o, "order", item.order).map_err(am)?;
        if let Some(p) = &item.parent {
            self.doc.put(&o, "parent", p.as_str()).map_err(am)?;
        }
        if let Some(b) = &item.by {
            self.doc.put(&o, "by", b.as_str()).map_err(am)?;
        }
        if let Some(t) = item.term {
            self.doc.put(&o, "term", t.id()).map_err(am)?;
        }
        if let Some(st) = item.status {
            self.doc.put(&o, "status", st.id()).map_err(am)?;
        }
        Ok(())
    }

    /// Sets a goal's term, or the status of a goal, question, process goal or decision.
    pub fn set_item_field(&mut self, id: &str, field: &str, value: &str) -> Result<(), CoreError> {
        let o = self.entry("item", id)?;
        match field {
            "term" => {
                let t: GoalTerm = value.parse()?;
                self.doc.put(&o, "term", t.id()).map_err(am)
            }
            "status" => {
                let st: ItemStatus = value.parse()?;
                self.doc.put(&o, "status", st.id()).map_err(am)
            }
            "parent" => self.doc.put(&o, "parent", value).map_err(am),
            other => Err(CoreError::UnknownValue {
                what: "item field",
                value: other.to_string(),
                allowed: "term, status, parent".into(),
            }),
        }
    }

    /// Replaces an item's text (diffed, so concurrent edits merge).
    pub fn edit_item(&mut self, id: &str, text: &str) -> Result<(), CoreError> {
        let o = self.entry("item", id)?;
        self.update_text_field(&o, "text", text)
    }

    /// Sets whose item this is.
    pub fn set_item_by(&mut self, id: &str, participant: &str) -> Result<(), CoreError> {
        let o = self.entry("item", id)?;
        self.doc.put(&o, "by", participant).map_err(am)
    }

    /// Records why an item is kept from the parents and when that is reviewed.
    pub fn set_item_withheld(
        &mut self,
        id: &str,
        reason: &str,
        review: &str,
    ) -> Result<(), CoreError> {
        let o = self.entry("item", id)?;
        self.doc.put(&o, "withheld", reason).map_err(am)?;
        self.doc.put(&o, "review", review).map_err(am)
    }

    /// Moves an item within its section.
    pub fn set_item_order(&mut self, id: &str, order: f64) -> Result<(), CoreError> {
        let o = self.entry("item", id)?;
        self.doc.put(&o, "order", order).map_err(am)
    }

    /// Removes an item.
    pub fn remove_item(&mut self, id: &str) -> Result<(), CoreError> {
        self.entry("item", id)?;
        self.doc.delete(ROOT, format!("item:{id}")).map_err(am)
    }

    /// All items.
    pub fn items(&self) -> Vec<ItemData> {
        self.ids("item")
            .into_iter()
            .filter_map(|(id, o)| {
                let section = Section::parse(&self.get_str(&o, "section")?).ok()?;
                Some(ItemData {
                    text: self.get_text(&o, "text"),
                    author: self.get_str(&o, "author").unwrap_or_default(),
                    created: self.get_i64(&o, "created").unwrap_or_default(),
                    order: self.get_f64(&o, "order").unwrap_or_default(),
                    parent: self.get_str(&o, "parent"),
                    by: self.get_str(&o, "by"),
                    withheld: self.get_str(&o, "withheld"),
                    review: self.get_str(&o, "review"),
                    term: self.get_str(&o, "term").and_then(|s| s.parse().ok()),
                    status: self.get_str(&o, "status").and_then(|s| s.parse().ok()),
                    section,
                    id,
                })
            })
            .collect()
    }

    // ---- agreements ----

    /// Adds an agreement.
    pub fn add_agreement(&mut self, a: &AgreementData) -> Result<(), CoreError> {
        let o = self.new_entry("agreement", &a.id)?;
        for (k, v) in [
            ("wie", &a.wie),
            ("wat", &a.wat),
            ("waarom", &a.waarom),
            ("wanneer", &a.wanneer),
            ("hoe", &a.hoe),
        ] {
            self.put_text(&o, k, v)?;
        }
        for (k, v) in [
            ("owner", &a.owner),
            ("due", &a.due),
            ("evaluation", &a.evaluation),
            ("author", &a.author),
            ("goal", &a.goal),
            ("meeting", &a.meeting),
        ] {
            self.doc.put(&o, k, v.as_str()).map_err(am)?;
        }
        self.put_text(&o, "note", &a.note)?;
        self.doc.put(&o, "obligation", a.obligation).map_err(am)?;
        self.doc.put(&o, "delivered", a.delivered).map_err(am)?;
        self.doc.put(&o, "status", a.status.id()).map_err(am)?;
        self.doc.put(&o, "created", a.created).map_err(am)?;
        Ok(())
    }

    /// Sets one field of an agreement: the five W's are text (diffed), the rest scalars.
    pub fn set_agreement_field(
        &mut self,
        id: &str,
        field: &str,
        value: &str,
    ) -> Result<(), CoreError> {
        let o = self.entry("agreement", id)?;
        match field {
            "wie" | "wat" | "waarom" | "wanneer" | "hoe" => {
                self.update_text_field(&o, field, value)
            }
            "note" => self.update_text_field(&o, field, value),
            "owner" | "due" | "evaluation" | "goal" | "meeting" => {
                self.doc.put(&o, field, value).map_err(am)
            }
            "obligation" | "delivered" => {
                let on = match value {
                    "ja" | "true" => true,
                    "nee" | "false" => false,
                    _ => {
                        return Err(CoreError::UnknownValue {
                            what: "yes or no",
                            value: value.to_string(),
                            allowed: "ja, nee".into(),
                        });
                    }
                };
                self.doc.put(&o, field, on).map_err(am)
            }
            "status" => {
                let s: AgreementStatus = value.parse()?;
                self.doc.put(&o, "status", s.id()).map_err(am)
            }
            other => Err(CoreError::UnknownValue {
                what: "agreement field",
                value: other.to_string(),
                allowed: "wie, wat, waarom, wanneer, hoe, owner, due, status, evaluation, note, goal, meeting, obligation, delivered".into(),
            }),
        }
    }

    /// Removes an agreement.
    pub fn remove_agreement(&mut self, id: &str) -> Result<(), CoreError> {
        self.entry("agreement", id)?;
        self.doc.delete(ROOT, format!("agreement:{id}")).map_err(am)
    }

    /// All agreements.
    pub fn agreements(&self) -> Vec<AgreementData> {
        self.ids("agreement")
            .into_iter()
            .map(|(id, o)| AgreementData {
                wie: self.get_text(&o, "wie"),
                wat: self.get_text(&o, "wat"),
                waarom: self.get_text(&o, "waarom"),
                wanneer: self.get_text(&o, "wanneer"),
                hoe: self.get_text(&o, "hoe"),
                owner: self.get_str(&o, "owner").unwrap_or_default(),
                due: self.get_str(&o, "due").unwrap_or_default(),
                status: self
                    .get_str(&o, "status")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(AgreementStatus::Open),
                evaluation: self.get_str(&o, "evaluation").unwrap_or_default(),
                author: self.get_str(&o, "author").unwrap_or_default(),
                created: self.get_i64(&o, "created").unwrap_or_default(),
                goal: self.get_str(&o, "goal").unwrap_or_default(),
                note: self.get_text(&o, "note"),
                obligation: self.get_bool(&o, "obligation").unwrap_or(false),
                delivered: self.get_bool(&o, "delivered").unwrap_or(false),
                meeting: self.get_str(&o, "meeting").unwrap_or_default(),
                id,
            })
            .collect()
    }

    // ---- arrows ----

    /// Adds an arrow between circles.
    pub fn add_arrow(&mut self, a: &ArrowData) -> Result<(), CoreError> {
        let o = self.new_entry("arrow", &a.id)?;
        self.doc.put(&o, "from", a.from.as_str()).map_err(am)?;
        self.doc.put(&o, "to", a.to.as_str()).map_err(am)?;
        self.put_text(&o, "text", &a.text)?;
        self.doc
            .put(&o, "direction", a.direction.id())
            .map_err(am)?;
        Ok(())
    }

    /// Changes an arrow's text or direction (`text`, `direction`).
    pub fn set_arrow_field(&mut self, id: &str, field: &str, value: &str) -> Result<(), CoreError> {
        let o = self.entry("arrow", id)?;
        match field {
            "text" => self.update_text_field(&o, "text", value),
            "direction" => {
                let d: Direction = value.parse()?;
                self.doc.put(&o, "direction", d.id()).map_err(am)
            }
            other => Err(CoreError::UnknownValue {
                what: "arrow field",
                value: other.to_string(),
                allowed: "text, direction".into(),
            }),
        }
    }

    /// Removes an arrow.
    pub fn remove_arrow(&mut self, id: &str) -> Result<(), CoreError> {
        self.entry("arrow", id)?;
        self.doc.delete(ROOT, format!("arrow:{id}")).map_err(am)
    }

    /// All arrows.
    pub fn arrows(&self) -> Vec<ArrowData> {
        self.ids("arrow")
            .into_iter()
            .map(|(id, o)| ArrowData {
                from: self.get_str(&o, "from").unwrap_or_default(),
                to: self.get_str(&o, "to").unwrap_or_default(),
                text: self.get_text(&o, "text"),
                direction: self
                    .get_str(&o, "direction")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(Direction::Omlaag),
                id,
            })
            .collect()
    }

    // ---- meetings ----

    /// Starts a meeting record.
    pub fn add_meeting(
        &mut self,
        id: &str,
        date: &str,
        planned_end: &str,
    ) -> Result<(), CoreError> {
        let o = self.new_entry("meeting", id)?;
        self.doc.put(&o, "date", date).map_err(am)?;
        self.doc.put(&o, "planned_end", planned_end).map_err(am)?;
        for k in ["present", "steps", "tops", "tips", "invited", "input"] {
            self.doc.put_object(&o, k, ObjType::Map).map_err(am)?;
        }
        Ok(())
    }

    /// Sets a meeting's start time, place or closed state (`start`, `place`, `closed`).
    pub fn set_meeting_field(
        &mut self,
        id: &str,
        field: &str,
        value: &str,
    ) -> Result<(), CoreError> {
        let o = self.entry("meeting", id)?;
        match field {
            "start" | "place" | "date" | "planned_end" => {
                self.doc.put(&o, field, value).map_err(am)
            }
            "closed" => self.doc.put(&o, "closed", value == "ja").map_err(am),
            other => Err(CoreError::UnknownValue {
                what: "meeting field",
                value: other.to_string(),
                allowed: "start, place, date, planned_end, closed".into(),
            }),
        }
    }

    /// The map under `key` of `obj`, made when it is not there yet (an entry of an older
    /// version, or the first answer of its kind).
    fn map_in(&mut self, obj: &ObjId, key: &str) -> Result<ObjId, CoreError> {
        match self.get_obj(obj, key) {
            Some(m) => Ok(m),
            None => self.doc.put_object(obj, key, ObjType::Map).map_err(am),
        }
    }

    /// A map of a meeting (`invited`, `input`), made when a meeting of an older version lacks it.
    fn meeting_map_or_new(&mut self, id: &str, key: &str) -> Result<ObjId, CoreError> {
        let o = self.entry("meeting", id)?;
        self.map_in(&o, key)
    }

    /// Invites a participant to a meeting, or takes the invitation back.
    pub fn set_invited(&mut self, id: &str, participant: &str, on: bool) -> Result<(), CoreError> {
        let m = self.meeting_map_or_new(id, "invited")?;
        self.doc.put(&m, participant, on).map_err(am)
    }

    /// What an absent participant gave beforehand (empty text: no input recorded).
    pub fn set_input(&mut self, id: &str, participant: &str, text: &str) -> Result<(), CoreError> {
        let m = self.meeting_map_or_new(id, "input")?;
        self.update_text_field(&m, participant, text)
    }

    fn meeting_map(&self, id: &str, key: &str) -> Result<ObjId, CoreError> {
        let o = self.entry("meeting", id)?;
        self.get_obj(&o, key)
            .ok_or_else(|| CoreError::Document(format!("meeting {id} has no {key}")))
    }

    /// Sets the notes of step `n` (1–6).
    pub fn set_step(&mut self, id: &str, n: usize, text: &str) -> Result<(), CoreError> {
        if !(1..=STEP_COUNT).contains(&n) {
            return Err(CoreError::BadStep { step: n });
        }
        let steps = self.meeting_map(id, "steps")?;
        self.update_text_field(&steps, &n.to_string(), text)
    }

    /// Sets a participant's top or tip.
    pub fn set_feedback(
        &mut self,
        id: &str,
        kind: &str,
        participant: &str,
        text: &str,
    ) -> Result<(), CoreError> {
        let m = self.meeting_map(id, kind)?;
        self.update_text_field(&m, participant, text)
    }

    /// Marks a participant present, or not (presence can be corrected).
    pub fn set_present(
        &mut self,
        id: &str,
        participant: &str,
        present: bool,
    ) -> Result<(), CoreError> {
        let m = self.meeting_map(id, "present")?;
        self.doc.put(&m, participant, present).map_err(am)
    }

    /// Notes at step `n` (1–6) of meeting `meeting` (held in another compartment), for this
    /// compartment's audience.
    pub fn set_meeting_note(
        &mut self,
        meeting: &str,
        n: usize,
        text: &str,
    ) -> Result<(), CoreError> {
        if !(1..=STEP_COUNT).contains(&n) {
            return Err(CoreError::BadStep { step: n });
        }
        self.update_text_field(&ROOT, &format!("meetingnote:{meeting}:{n}"), text)
    }

    /// Notes kept here for meetings of other compartments.
    pub fn meeting_notes(&self) -> Vec<MeetingNote> {
        self.doc
            .keys(ROOT)
            .filter_map(|k| {
                let rest = k.strip_prefix("meetingnote:")?;
                let (meeting, n) = rest.rsplit_once(':')?;
                let step = n.parse::<usize>().ok()?;
                Some(MeetingNote {
                    meeting: meeting.to_string(),
                    step,
                    text: self.get_text(&ROOT, &k),
                })
            })
            .collect()
    }

    /// Stores the verslag of `meeting` composed for this compartment's audience.
    pub fn set_verslag(&mut self, meeting: &str, text: &str) -> Result<(), CoreError> {
        self.update_text_field(&ROOT, &format!("verslag:{meeting}"), text)
    }

    /// The verslagen stored here.
    pub fn verslagen(&self) -> Vec<StoredVerslag> {
        self.doc
            .keys(ROOT)
            .filter_map(|k| {
                let meeting = k.strip_prefix("verslag:")?.to_string();
                Some(StoredVerslag {
                    text: self.get_text(&ROOT, &k),
                    meeting,
                })
            })
            .collect()
    }

    /// All meetings.
    pub fn meetings(&self) -> Vec<MeetingData> {
        self.ids("meeting")
            .into_iter()
            .map(|(id, o)| {
                let map_texts = |key: &str| -> BTreeMap<String, String> {
                    self.get_obj(&o, key)
                        .map(|m| {
                            self.doc
                                .keys(&m)
                                .map(|k| (k.clone(), self.get_text(&m, &k)))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let steps = map_texts("steps");
                MeetingData {
                    date: self.get_str(&o, "date").unwrap_or_default(),
                    planned_end: self.get_str(&o, "planned_end").unwrap_or_default(),
                    present: self
                        .get_obj(&o, "present")
                        .map(|m| {
                            self.doc
                                .keys(&m)
                                .filter(|k| self.get_bool(&m, k) == Some(true))
                                .collect()
                        })
                        .unwrap_or_default(),
                    steps: (1..=STEP_COUNT)
                        .map(|n| steps.get(&n.to_string()).cloned().unwrap_or_default())
                        .collect(),
                    tops: map_texts("tops"),
                    tips: map_texts("tips"),
                    start: self.get_str(&o, "start").unwrap_or_default(),
                    place: self.get_str(&o, "place").unwrap_or_default(),
                    invited: self
                        .get_obj(&o, "invited")
                        .map(|m| {
                            self.doc
                                .keys(&m)
                                .filter(|k| self.get_bool(&m, k) == Some(true))
                                .collect()
                        })
                        .unwrap_or_default(),
                    input: map_texts("input")
                        .into_iter()
                        .filter(|(_, t)| !t.trim().is_empty())
                        .collect(),
                    closed: self.get_bool(&o, "closed").unwrap_or(false),
                    id,
                }
            })
            .collect()
    }

    /// Sets the verslag of `meeting` stored here as final (vastgesteld) by `by` on `on`.
    pub fn set_vastgesteld(
        &mut self,
        meeting: &str,
        by: &str,
        on: &str,
        text_hash: &str,
    ) -> Result<(), CoreError> {
        let o = self.verslag_meta(meeting)?;
        self.doc.put(&o, "vastgesteld_by", by).map_err(am)?;
        self.doc.put(&o, "text_hash", text_hash).map_err(am)?;
        self.doc.put(&o, "vastgesteld_on", on).map_err(am)
    }

    /// Records a participant's view on the verslag of `meeting` stored here.
    pub fn set_view(
        &mut self,
        meeting: &str,
        participant: &str,
        a: &Answer,
    ) -> Result<(), CoreError> {
        let o = self.verslag_meta(meeting)?;
        let views = self.map_in(&o, "views")?;
        let v = self.map_in(&views, participant)?;
        self.put_answer(&v, a)
    }

    fn put_answer(&mut self, v: &ObjId, a: &Answer) -> Result<(), CoreError> {
        self.doc.put(v, "agrees", a.agrees.id()).map_err(am)?;
        self.doc.put(v, "on", a.on.as_str()).map_err(am)?;
        self.doc.put(v, "by", a.by.as_str()).map_err(am)?;
        self.update_text_field(v, "text", &a.text)
    }

    fn get_answers(&self, o: &ObjId, key: &str) -> BTreeMap<String, Answer> {
        let Some(m) = self.get_obj(o, key) else {
            return BTreeMap::new();
        };
        self.doc
            .keys(&m)
            .filter_map(|k| {
                let v = self.get_obj(&m, &k)?;
                Some((
                    k,
                    Answer {
                        agrees: self.get_str(&v, "agrees")?.parse().ok()?,
                        on: self.get_str(&v, "on").unwrap_or_default(),
                        text: self.get_text(&v, "text"),
                        by: self.get_str(&v, "by").unwrap_or_default(),
                    },
                ))
            })
            .collect()
    }

    fn verslag_meta(&mut self, meeting: &str) -> Result<ObjId, CoreError> {
        match self.get_obj(&ROOT, &format!("verslagstatus:{meeting}")) {
            Some(o) => Ok(o),
            None => self.new_entry("verslagstatus", meeting),
        }
    }

    /// The status of the verslagen stored here.
    pub fn verslag_statuses(&self) -> Vec<VerslagStatus> {
        self.ids("verslagstatus")
            .into_iter()
            .map(|(meeting, o)| VerslagStatus {
                vastgesteld_by: self.get_str(&o, "vastgesteld_by").unwrap_or_default(),
                vastgesteld_on: self.get_str(&o, "vastgesteld_on").unwrap_or_default(),
                text_hash: self.get_str(&o, "text_hash").unwrap_or_default(),
                views: self.get_answers(&o, "views"),
                meeting,
            })
            .collect()
    }

    /// Records a change of the support-route phase.
    pub fn add_phase_change(&mut self, c: &PhaseChange) -> Result<(), CoreError> {
        let o = self.new_entry("phase", &c.id)?;
        for (k, v) in [("phase", &c.phase), ("date", &c.date), ("by", &c.by)] {
            self.doc.put(&o, k, v.as_str()).map_err(am)?;
        }
        self.put_text(&o, "note", &c.note)
    }

    /// The phase history.
    pub fn phase_changes(&self) -> Vec<PhaseChange> {
        self.ids("phase")
            .into_iter()
            .map(|(id, o)| PhaseChange {
                phase: self.get_str(&o, "phase").unwrap_or_default(),
                date: self.get_str(&o, "date").unwrap_or_default(),
                by: self.get_str(&o, "by").unwrap_or_default(),
                note: self.get_text(&o, "note"),
                id,
            })
            .collect()
    }

    /// Adds a record of the support route.
    pub fn add_route(&mut self, r: &RouteRecord) -> Result<(), CoreError> {
        let o = self.new_entry("route", &r.id)?;
        self.doc.put(&o, "kind", r.kind.id()).map_err(am)?;
        for (k, v) in [("date", &r.date), ("until", &r.until), ("by", &r.by)] {
            self.doc.put(&o, k, v.as_str()).map_err(am)?;
        }
        self.put_text(&o, "text", &r.text)?;
        self.doc
            .put_object(&o, "answers", ObjType::Map)
            .map_err(am)?;
        Ok(())
    }

    /// Records a person's answer on a route record (the parents' instemming on an OPP).
    pub fn set_route_answer(
        &mut self,
        id: &str,
        participant: &str,
        a: &Answer,
    ) -> Result<(), CoreError> {
        let o = self.entry("route", id)?;
        let answers = self.map_in(&o, "answers")?;
        let v = self.map_in(&answers, participant)?;
        self.put_answer(&v, a)
    }

    /// The records of the support route.
    pub fn routes(&self) -> Vec<RouteRecord> {
        self.ids("route")
            .into_iter()
            .filter_map(|(id, o)| {
                Some(RouteRecord {
                    kind: self.get_str(&o, "kind")?.parse().ok()?,
                    date: self.get_str(&o, "date").unwrap_or_default(),
                    until: self.get_str(&o, "until").unwrap_or_default(),
                    text: self.get_text(&o, "text"),
                    by: self.get_str(&o, "by").unwrap_or_default(),
                    answers: self.get_answers(&o, "answers"),
                    id,
                })
            })
            .collect()
    }

    /// Keeps a draft (text typed and not yet saved), under `key`; empty text removes it. Drafts
    /// live only in the writer's own compartment ([`super::compartment::CompartmentKind::Author`]).
    pub fn set_draft(&mut self, key: &str, text: &str) -> Result<(), CoreError> {
        let k = format!("draft:{key}");
        if text.is_empty() {
            if self.get_obj(&ROOT, &k).is_some() {
                self.doc.delete(ROOT, k.as_str()).map_err(am)?;
            }
            return Ok(());
        }
        self.update_text_field(&ROOT, &k, text)
    }

    /// The drafts kept here.
    pub fn drafts(&self) -> BTreeMap<String, String> {
        self.doc
            .keys(ROOT)
            .filter_map(|k| {
                let key = k.strip_prefix("draft:")?.to_string();
                Some((key, self.get_text(&ROOT, &k)))
            })
            .collect()
    }

    // ---- participants (the roster; rights come from the membership log) ----

    /// Adds or replaces a participant.
    pub fn put_participant(&mut self, p: &ParticipantData) -> Result<(), CoreError> {
        let o = self.new_entry("participant", &p.id)?;
        self.doc.put(&o, "name", p.name.as_str()).map_err(am)?;
        self.doc.put(&o, "role", p.role.as_str()).map_err(am)?;
        self.doc
            .put(&o, "organisation", p.organisation.as_str())
            .map_err(am)?;
        self.doc.put(&o, "custody", p.custody).map_err(am)?;
        self.doc.put(&o, "chair", p.chair).map_err(am)?;
        let devices = self
            .doc
            .put_object(&o, "devices", ObjType::Map)
            .map_err(am)?;
        for d in &p.devices {
            self.doc.put(&devices, d.as_str(), true).map_err(am)?;
        }
        Ok(())
    }

    /// All participants.
    pub fn participants(&self) -> Vec<ParticipantData> {
        self.ids("participant")
            .into_iter()
            .map(|(id, o)| ParticipantData {
                name: self.get_str(&o, "name").unwrap_or_default(),
                role: self.get_str(&o, "role").unwrap_or_default(),
                organisation: self.get_str(&o, "organisation").unwrap_or_default(),
                custody: self.get_bool(&o, "custody").unwrap_or(false),
                chair: self.get_bool(&o, "chair").unwrap_or(false),
                devices: self
                    .get_obj(&o, "devices")
                    .map(|m| {
                        self.doc
                            .keys(&m)
                            .filter(|k| self.get_bool(&m, k) == Some(true))
                            .collect()
                    })
                    .unwrap_or_default(),
                id,
            })
            .collect()
    }
}

impl Default for CompartmentDoc {
    fn default() -> Self {
        Self::new()
    }
}

fn prefix_label(prefix: &str) -> &'static str {
    match prefix {
        "item" => "item",
        "agreement" => "agreement",
        "meeting" => "meeting",
        "arrow" => "arrow",
        "participant" => "participant",
        "route" => "route record",
        _ => "entry",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, section: &str, text: &str) -> ItemData {
        ItemData {
            id: id.into(),
            section: Section::parse(section).unwrap(),
            text: text.into(),
            author: "monique".into(),
            created: 1,
            order: 1.0,
            parent: None,
            by: None,
            withheld: None,
            review: None,
            term: None,
            status: None,
        }
    }

    fn agreement(id: &str) -> AgreementData {
        AgreementData {
            id: id.into(),
            wie: "Jeroen".into(),
            wat: "dagritmekaart".into(),
            waarom: "overgangen".into(),
            wanneer: "vanaf 1 oktober".into(),
            hoe: "kaart op tafel en een signaal".into(),
            owner: "jeroen".into(),
            due: "2026-10-01".into(),
            status: AgreementStatus::Open,
            evaluation: "2026-12-01".into(),
            author: "monique".into(),
            created: 7,
            goal: String::new(),
            note: String::new(),
            obligation: false,
            delivered: false,
            meeting: String::new(),
        }
    }

    #[test]
    fn mapping_round_trips_through_save_and_load() {
        let mut d = CompartmentDoc::new();
        d.set_descriptor("parents").unwrap();
        d.set_case_field("child", "Noor Visser").unwrap();
        d.add_circle("vrije-tijd").unwrap();
        let mut it = item("a1", "kind.plus", "tekent graag");
        it.parent = Some("g1".into());
        it.by = Some("sanne".into());
        d.add_item(&it).unwrap();
        d.add_agreement(&agreement("ag1")).unwrap();
        d.add_arrow(&ArrowData {
            id: "r1".into(),
            from: "school".into(),
            to: "kind".into(),
            text: "invaller → uitbarsting".into(),
            direction: Direction::Omlaag,
        })
        .unwrap();
        d.add_meeting("m1", "2026-09-20", "16:00").unwrap();
        d.set_step("m1", 1, "positieve start").unwrap();
        d.set_feedback("m1", "tops", "sanne", "fijn overleg")
            .unwrap();
        d.set_present("m1", "sanne", true).unwrap();
        d.put_participant(&ParticipantData {
            id: "sanne".into(),
            name: "Sanne".into(),
            role: "ouder".into(),
            organisation: String::new(),
            custody: true,
            chair: false,
            devices: vec!["ab".into()],
        })
        .unwrap();

        let bytes = d.snapshot_payload();
        let mut e = CompartmentDoc::new();
        e.apply(&bytes).unwrap();
        let mut f = CompartmentDoc::new();
        f.apply(&d.take_changes().unwrap()).unwrap();
        assert_eq!(f.items(), d.items());
        assert_eq!(e.descriptor().as_deref(), Some("parents"));
        assert_eq!(e.case_field("child").as_deref(), Some("Noor Visser"));
        assert_eq!(e.circles(), vec!["vrije-tijd".to_string()]);
        assert_eq!(e.items(), vec![it]);
        assert_eq!(e.agreements(), vec![agreement("ag1")]);
        assert_eq!(e.arrows()[0].direction, Direction::Omlaag);
        let m = &e.meetings()[0];
        assert_eq!(m.steps[0], "positieve start");
        assert_eq!(m.steps.len(), 6);
        assert_eq!(
            m.tops.get("sanne").map(String::as_str),
            Some("fijn overleg")
        );
        assert_eq!(m.present, vec!["sanne".to_string()]);
        assert!(e.participants()[0].custody);
    }

    #[test]
    fn concurrent_edits_of_one_sentence_merge_characterwise() {
        let mut a = CompartmentDoc::new();
        a.add_agreement(&agreement("ag1")).unwrap();
        let mut b = CompartmentDoc::new();
        b.apply(&a.snapshot_payload()).unwrap();
        a.set_agreement_field("ag1", "hoe", "kaart op tafel en een stil signaal")
            .unwrap();
        b.set_agreement_field("ag1", "hoe", "grote kaart op tafel en een signaal")
            .unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        assert_eq!(
            a.agreements()[0].hoe,
            "grote kaart op tafel en een stil signaal"
        );
        assert_eq!(a.agreements(), b.agreements());
    }

    #[test]
    fn errors_for_unknown_entries_and_fields() {
        let mut d = CompartmentDoc::new();
        assert!(matches!(
            d.edit_item("nope", "x"),
            Err(CoreError::NotFound { .. })
        ));
        assert!(matches!(
            d.remove_item("nope"),
            Err(CoreError::NotFound { .. })
        ));
        d.add_agreement(&agreement("a")).unwrap();
        assert!(matches!(
            d.set_agreement_field("a", "kleur", "x"),
            Err(CoreError::UnknownValue { .. })
        ));
        assert!(matches!(
            d.set_agreement_field("a", "status", "misschien"),
            Err(CoreError::UnknownValue { .. })
        ));
        d.set_agreement_field("a", "status", "gedaan").unwrap();
        assert_eq!(d.agreements()[0].status, AgreementStatus::Gedaan);
        d.add_meeting("m", "2026-01-01", "").unwrap();
        assert!(matches!(
            d.set_step("m", 7, "x"),
            Err(CoreError::BadStep { step: 7 })
        ));
        assert!(matches!(
            d.set_step("m", 0, "x"),
            Err(CoreError::BadStep { step: 0 })
        ));
    }

    #[test]
    fn malformed_bytes_are_rejected_without_damage() {
        let mut d = CompartmentDoc::new();
        d.add_item(&item("a", "kind.plus", "blijft")).unwrap();
        let mut changes = d.take_changes().unwrap();
        let n = changes.len();
        changes[n - 1] ^= 0xff;
        let mut snapshot = d.snapshot_payload();
        snapshot.push(0);
        for junk in [
            &b""[..],
            &b"garbage"[..],
            &[1, 0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 2, 3][..],
            &[2, 1, 0, 0, 0, 9, 0, 0, 0][..],
            &changes[..],
            &changes[..n - 3],
            &snapshot[..],
            &[2, 0, 0, 0, 0][..],
        ] {
            assert!(d.apply(junk).is_err(), "{junk:?} accepted");
        }
        assert_eq!(d.items().len(), 1);
    }
}
