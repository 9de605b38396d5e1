//! Audience resolution: a pure function from (membership state, consent records, today) to, for
//! every compartment of a case, the participants (and so the devices) that may read it and those
//! that may write it — with the basis of each right, for the access log and `mdo case audit`.
//!
//! The rules, with their sources, are in `docs/sharing-rules.md`. In short:
//! - author only → the writer; own organisation and safety track → the professionals of that
//!   organisation; professionals → all professionals;
//! - case+parents → professionals, parents with gezag while the child is under 16, and the young
//!   person from 16; case+parents+child → the same plus the child; network → case+parents plus
//!   the informal network;
//! - a category compartment (`medisch`, `ggz`, `gezinssituatie`, `verzuim`, `onderzoek`) of an
//!   organisation → that organisation's professionals (medical roles only for `medisch`/`ggz`);
//! - a **valid consent** (or legal basis) for category C to recipient R adds R as reader of every
//!   compartment that holds C (`dossier`: case+parents and case+parents+child). Consent never adds
//!   a writer.
//!
//! Also here: the write check for chunks ([`may_merge`]) and the plan of what keys a device must
//! create, rotate or hand out ([`plan_keys`]). The validation of the keys an op carries uses
//! [`resolve`] and lives with the log (`membership/keys.rs`).
//!
//! Depends on the lower half of the membership log only (the op format and the derived state,
//! `membership::{op, state}`) and on [`CompartmentKind`]; the log's derivation
//! (`membership::{apply, keys, derive}`) depends on this module, the case on both.

use std::collections::{BTreeMap, BTreeSet};

use mdo_crypto::{ChunkId, CompartmentId, DeviceId};
use serde::Serialize;

use super::compartment::CompartmentKind;
use super::membership::op::{Basis, Recipient};
use super::membership::state::{AnswerState, ConsentRecord, Member, State};
use super::model::{AgeBand, Audience, ConsentCategory, Date, Role, age_on, parse_date};

/// Why a participant may read a compartment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "basis", content = "record", rename_all = "kebab-case")]
pub enum ReadBasis {
    /// The compartment's audience includes them (role, organisation, gezag, age).
    Audience,
    /// A consent record covers them.
    Consent(String),
    /// A legal basis covers them.
    Legal(String),
}

impl ReadBasis {
    /// Short Dutch description.
    pub fn describe(&self) -> String {
        match self {
            ReadBasis::Audience => "vaste lezer van dit deel".into(),
            ReadBasis::Consent(id) => format!("toestemming {id}"),
            ReadBasis::Legal(id) => format!("wettelijke grondslag {id}"),
        }
    }
}

/// Rights on one compartment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompartmentAccess {
    /// What it is.
    pub kind: CompartmentKind,
    /// Readers (participant ids) and why.
    pub readers: BTreeMap<String, ReadBasis>,
    /// Writers (participant ids).
    pub writers: BTreeSet<String>,
}

/// Rights on every compartment of a case on one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The date.
    pub today: Date,
    /// The child's age band that day.
    pub band: Option<AgeBand>,
    /// By compartment id.
    pub compartments: BTreeMap<CompartmentId, CompartmentAccess>,
}

impl Access {
    /// Devices that may read `c`.
    pub fn reader_devices(&self, st: &State, c: CompartmentId) -> BTreeSet<DeviceId> {
        self.devices(st, c, |a| a.readers.keys().cloned().collect())
    }

    /// Devices that may write `c`.
    pub fn writer_devices(&self, st: &State, c: CompartmentId) -> BTreeSet<DeviceId> {
        self.devices(st, c, |a| a.writers.iter().cloned().collect())
    }

    fn devices(
        &self,
        st: &State,
        c: CompartmentId,
        who: impl Fn(&CompartmentAccess) -> Vec<String>,
    ) -> BTreeSet<DeviceId> {
        self.compartments
            .get(&c)
            .map(|a| {
                who(a)
                    .iter()
                    .filter_map(|id| st.members.get(id))
                    .flat_map(|m| m.devices.iter().copied())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether participant `member` may read `c`, and why.
    pub fn reads(&self, c: CompartmentId, member: &str) -> Option<&ReadBasis> {
        self.compartments.get(&c)?.readers.get(member)
    }

    /// Whether participant `member` may write `c`.
    pub fn writes(&self, c: CompartmentId, member: &str) -> bool {
        self.compartments
            .get(&c)
            .is_some_and(|a| a.writers.contains(member))
    }
}

/// The compartments a case has: the four shared audiences, and per organisation of a
/// professional its internal, safety and category compartments, per participant an author
/// compartment — plus any compartment that already has keys.
pub fn compartments(st: &State) -> BTreeSet<CompartmentKind> {
    let mut out: BTreeSet<CompartmentKind> = [
        Audience::Professionals,
        Audience::Parents,
        Audience::Child,
        Audience::Network,
    ]
    .into_iter()
    .map(CompartmentKind::Shared)
    .collect();
    for m in st.members.values().filter(|m| m.is_active()) {
        if m.role.is_professional() {
            let o = m.organisation.clone();
            // The shared access log of each professional (issue 17).
            if m.role != Role::Privacy {
                out.insert(CompartmentKind::Log(m.id.clone()));
            }
            out.insert(CompartmentKind::Organisation(o.clone()));
            out.insert(CompartmentKind::Safety(o.clone()));
            for c in ConsentCategory::ALL {
                if *c != ConsentCategory::Dossier {
                    out.insert(CompartmentKind::Category(*c, o.clone()));
                }
            }
        }
        out.insert(CompartmentKind::Author(m.id.clone()));
    }
    for k in st.keys.values() {
        if let Some(kind) = CompartmentKind::parse(&k.descriptor) {
            out.insert(kind);
        }
    }
    out
}

/// Whether `m` belongs to the audience of `kind` when the child is in `band` (read = write).
/// `at_table`: for a professional, whether their organisation takes part in the MDO
/// ([`at_table`]); one that does not reads only its own organisation's compartments. `minor`:
/// the child is under 18 (gezag ends at 18, BW art. 1:233, 1:245).
pub fn in_audience(
    kind: &CompartmentKind,
    m: &Member,
    band: Option<AgeBand>,
    at_table: bool,
    minor: bool,
) -> bool {
    if !m.is_active() {
        return false;
    }
    let band = band.unwrap_or(AgeBand::Onder12);
    // The privacy officer reads no content: only the access logs of its organisation
    // (`log_readers`) and its own notes.
    if m.role == Role::Privacy {
        return matches!(kind, CompartmentKind::Author(p) if &m.id == p);
    }
    let pro = m.role.is_professional();
    // Enforcement and safety-domain roles, and the jongerenwerker, have no base access to the
    // shared case: they read their own organisation's compartments and what a consent or legal
    // basis opens to them (issue 14; `audience::no_base_access`).
    let shared = pro && !super::audience::no_base_access(m.role) && at_table;
    // Parents with gezag read the shared MDO until 18: it is the school's support process, and
    // the education laws keep parents informed of their child's school progress while the
    // child is a minor (law notes §4: WVO art. 23b old numbering, summary). From 16 the young
    // person reads it too; medical and youth-care information lives in the category
    // compartments, which from 16 open on the young person's consent alone (WGBO art. 7:447,
    // Jeugdwet art. 7.3.5) — `docs/sharing-rules.md` §7, decision.
    let parents = shared
        || (m.is_custody_parent() && minor)
        || (m.role == Role::Kind && band == AgeBand::Vanaf16);
    match kind {
        CompartmentKind::Author(p) => &m.id == p,
        // An organisation's internal compartment is for its colleagues with base access; an
        // enforcement colleague of the same organisation name (a gemeente's leerplicht next to
        // its jeugd- en gezinscoach) reads the safety track only. This keeps the nesting
        // professionals ⊇ organisation(o) that composing relies on (`audience::composes_into`).
        // ... and only while the organisation sits at the table (`shared` includes that): text
        // of the shared case may be composed or moved into it, so those who may not read the
        // shared case may not read it either (review of issue 14, finding 4).
        CompartmentKind::Organisation(o) => shared && &m.organisation == o,
        CompartmentKind::Safety(o) => pro && &m.organisation == o,
        CompartmentKind::Category(c, o) => m.role.holds_category(*c) && &m.organisation == o,
        CompartmentKind::Shared(Audience::Professionals) => shared,
        CompartmentKind::Shared(Audience::Parents) => parents,
        CompartmentKind::Shared(Audience::Child) => parents || m.role == Role::Kind,
        // A foster parent reads what is written for the network (daily care, no gezag); more
        // only on a consent for the MDO file (`docs/sharing-rules.md` §1, decision).
        CompartmentKind::Shared(Audience::Network) => {
            parents || matches!(m.role, Role::Netwerk | Role::Pleegouder)
        }
        CompartmentKind::Shared(_) => false,
        // The access logs have their own readers (`log_readers`).
        CompartmentKind::Log(_) => false,
    }
}

/// Who reads the shared access log of professional `owner` (issue 17; NEN 7513, AVG art. 15):
/// the owner; the people whose data it is — the parents with gezag while the child is under 16,
/// the child from 12 (in a child-appropriate form), the young person from 16 —; and the privacy
/// officers of the owner's organisation. Only the owner writes it.
pub fn log_readers(st: &State, owner: &str, band: Option<AgeBand>) -> BTreeSet<String> {
    let band = band.unwrap_or(AgeBand::Onder12);
    let org = st
        .members
        .get(owner)
        .map(|m| m.organisation.clone())
        .unwrap_or_default();
    st.members
        .values()
        .filter(|m| m.is_active())
        .filter(|m| {
            m.id == owner
                || (m.is_custody_parent() && band != AgeBand::Vanaf16)
                || (m.role == Role::Kind && band != AgeBand::Onder12)
                || (m.role == Role::Privacy && !org.is_empty() && m.organisation == org)
        })
        .map(|m| m.id.clone())
        .collect()
}

/// The professionals whose organisation takes part in the MDO on `valid` records: the
/// organiser's colleagues, and those a valid record for the MDO file (`dossier`) names — the
/// consent of the parents (and the child from 12) to hold the MDO with that organisation, or a
/// legal basis the chair recorded (seed 000:17, 000:25; issue 14).
fn at_table_with(st: &State, valid: &[&ConsentRecord]) -> BTreeSet<String> {
    st.members
        .values()
        .filter(|m| m.role.is_professional())
        .filter(|m| {
            m.organisation == st.organiser
                || valid.iter().any(|r| {
                    r.spec.categories.contains(&ConsentCategory::Dossier)
                        && r.spec.recipients.iter().any(|x| x.covers(m))
                })
        })
        .map(|m| m.id.clone())
        .collect()
}

/// Whether a professional of `organisation` with `role` may join the table on `today`: the
/// organiser's colleagues; others when a valid record covers them — for a role with base
/// access a record for the MDO file (`dossier`) naming the organisation or the role, for an
/// enforcement role any record naming them (they read only what it opens).
pub fn may_join(st: &State, organisation: &str, role: Role, today: Date) -> bool {
    if !role.is_professional() || organisation.trim() == st.organiser {
        return true;
    }
    let org = organisation.trim();
    st.consents
        .values()
        .filter(|r| consent_status(st, r, today).state == ConsentState::Active)
        .any(|r| {
            (super::audience::no_base_access(role)
                || r.spec.categories.contains(&ConsentCategory::Dossier))
                && r.spec.recipients.iter().any(|x| match x {
                    Recipient::Role(r) => *r == role,
                    Recipient::Organisation(o) => o == org,
                    Recipient::Member(_) => false,
                })
        })
}

/// Whether `r`'s medical information is released by `org` for the people whose consent counts
/// today (a release given before the child turned 12, or before gezag changed, no longer does).
fn released_now(r: &ConsentRecord, org: &str, required: &BTreeSet<String>) -> bool {
    r.released
        .get(org)
        .is_some_and(|x| x.for_people == *required)
}

/// Whether `m` still meets the condition of `r`'s legal ground today: a child-protection
/// measure opens to the jeugdbeschermer only, BW 1:377c to a parent without gezag (checked)
/// only — also after a later change of role or gezag (review of issue 14).
fn still_entitled(r: &ConsentRecord, m: &Member) -> bool {
    match &r.spec.basis {
        Basis::Legal {
            ground: super::model::LegalGround::ChildProtection,
            ..
        } => m.role == Role::Jeugdbeschermer,
        Basis::Legal {
            ground: super::model::LegalGround::ParentInformation,
            ..
        } => m.role == Role::Ouder && !m.custody && !m.custody_unknown,
        _ => true,
    }
}

/// Whether `c` is a compartment that holds `category`.
fn holds(kind: &CompartmentKind, category: ConsentCategory) -> bool {
    match (kind, category) {
        (CompartmentKind::Category(c, _), cat) => *c == cat,
        (
            CompartmentKind::Shared(Audience::Parents | Audience::Child),
            ConsentCategory::Dossier,
        ) => true,
        _ => false,
    }
}

/// Resolves who may read and write each compartment on `today`.
pub fn resolve(st: &State, today: Date) -> Access {
    let band = st.band(today);
    let valid: Vec<&ConsentRecord> = st
        .consents
        .values()
        .filter(|r| consent_status(st, r, today).state == ConsentState::Active)
        .collect();
    let at_table = at_table_with(st, &valid);
    // While someone's gezag is unchecked, no release counts (law notes §7).
    let gezag_unchecked = !st.custody_unknown().is_empty();
    let required_now: BTreeSet<String> = required_consenters(st, today).0.into_iter().collect();
    let minor = st.birthdate.is_none_or(|b| age_on(b, today) < 18);
    let mut out = BTreeMap::new();
    for kind in compartments(st) {
        // A destroyed compartment has no audience: no reader, no writer, no key (issue 17).
        if st.destroyed.contains_key(&kind.id(st.case)) {
            continue;
        }
        let mut readers = BTreeMap::new();
        let mut writers = BTreeSet::new();
        if let CompartmentKind::Log(owner) = &kind {
            for r in log_readers(st, owner, band) {
                readers.insert(r, ReadBasis::Audience);
            }
            if st.members.get(owner).is_some_and(|m| m.is_active()) {
                writers.insert(owner.clone());
            }
            out.insert(
                kind.id(st.case),
                CompartmentAccess {
                    kind,
                    readers,
                    writers,
                },
            );
            continue;
        }
        for m in st.members.values() {
            if in_audience(&kind, m, band, at_table.contains(&m.id), minor) {
                readers.insert(m.id.clone(), ReadBasis::Audience);
                writers.insert(m.id.clone());
            }
        }
        for r in &valid {
            if !r.spec.categories.iter().any(|c| holds(&kind, *c)) {
                continue;
            }
            // An organisation's compartment opens only to a record that names it as the
            // source (issue 14: a GGD consent does not open a GGZ file).
            if let CompartmentKind::Category(_, org) = &kind
                && !r.spec.sources.iter().any(|s| s == org)
            {
                continue;
            }
            // Medical and GGZ information opens on consent only after its holder released it
            // (WGBO art. 7:457: consent allows disclosure, the doctor decides). Under a legal
            // basis the holder decided in recording it.
            if let CompartmentKind::Category(c, org) = &kind
                && c.needs_release()
                && matches!(r.spec.basis, Basis::Consent { .. })
                && (!released_now(r, org, &required_now) || gezag_unchecked)
            {
                continue;
            }
            for m in st
                .members
                .values()
                .filter(|m| m.is_active() && m.role != Role::Privacy && still_entitled(r, m))
            {
                if r.spec.recipients.iter().any(|x| x.covers(m)) {
                    readers
                        .entry(m.id.clone())
                        .or_insert_with(|| match r.spec.basis {
                            Basis::Consent { .. } => ReadBasis::Consent(r.spec.id.clone()),
                            Basis::Legal { .. } => ReadBasis::Legal(r.spec.id.clone()),
                        });
                }
            }
        }
        out.insert(
            kind.id(st.case),
            CompartmentAccess {
                kind,
                readers,
                writers,
            },
        );
    }
    Access {
        today,
        band,
        compartments: out,
    }
}

/// State of a consent record on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentState {
    /// Valid: it extends the audience.
    Active,
    /// Starts later.
    NotYetValid,
    /// Ended.
    Expired,
    /// Withdrawn.
    Withdrawn,
    /// Not everyone the age rules require has consented (now).
    Incomplete,
    /// Someone whose consent is required refused it.
    Refused,
}

impl ConsentState {
    /// Dutch label.
    pub fn label(self) -> &'static str {
        match self {
            ConsentState::Active => "geldig",
            ConsentState::NotYetValid => "nog niet geldig",
            ConsentState::Expired => "verlopen",
            ConsentState::Withdrawn => "ingetrokken",
            ConsentState::Incomplete => "onvolledig",
            ConsentState::Refused => "geweigerd",
        }
    }
}

/// A consent record's status on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentStatus {
    /// The state.
    pub state: ConsentState,
    /// Who still has to consent (participant ids or a description).
    pub missing: Vec<String>,
    /// Who refused (participant ids) — visible to the team (issue 14).
    pub refused: Vec<String>,
    /// Source organisations that have not yet released their medical or GGZ information.
    pub awaiting_release: Vec<String>,
    /// Why the record needs review (the child turned 12 or 16, custody changed).
    pub review: Option<String>,
}

/// Who must consent on `today` (`shared/domain.md`: under 12 the parents with gezag; 12–15 the
/// parents with gezag **and** the child; 16+ the young person alone).
pub fn required_consenters(st: &State, today: Date) -> (Vec<String>, Vec<String>) {
    let band = st.band(today).unwrap_or(AgeBand::Onder12);
    // Whose gezag is not yet checked is asked too (law notes §7: collect consent from everyone
    // who may hold gezag until the register is checked).
    let parents: Vec<String> = st
        .custody_parents()
        .into_iter()
        .chain(st.custody_unknown())
        .collect();
    let children: Vec<String> = st
        .members
        .values()
        .filter(|m| m.is_active() && m.role == Role::Kind)
        .map(|m| m.id.clone())
        .collect();
    let mut need = Vec::new();
    let mut absent = Vec::new();
    if band != AgeBand::Vanaf16 {
        if parents.is_empty() {
            absent.push("een ouder met gezag (geen ouder met gezag in de zaak)".to_string());
        }
        need.extend(parents);
    }
    if band != AgeBand::Onder12 {
        if children.is_empty() {
            absent.push("het kind/de jongere (nog geen deelnemer)".to_string());
        }
        need.extend(children);
    }
    (need, absent)
}

/// Who signs a destruction request on `today` (issue 17), and who is needed but absent: under 12
/// the parents with gezag (and those whose gezag is not checked yet; BW 7:465 lid 1); from 12
/// the child or young person alone — a parent's signature is not needed and cannot block the
/// child's right (Jeugdwet 7.3.15, BW 7:465; `docs/retention-sources.md`). A parent's interest is
/// weighed by the organisation as "aanmerkelijk belang van een ander" (BW 7:455 lid 2).
pub fn destruction_signers(st: &State, today: Date) -> (Vec<String>, Vec<String>) {
    let band = st.band(today).unwrap_or(AgeBand::Onder12);
    if band == AgeBand::Onder12 {
        let parents: Vec<String> = st
            .custody_parents()
            .into_iter()
            .chain(st.custody_unknown())
            .collect();
        let absent = if parents.is_empty() {
            vec!["een ouder met gezag (geen ouder met gezag in de zaak)".to_string()]
        } else {
            Vec::new()
        };
        return (parents, absent);
    }
    let children: Vec<String> = st
        .members
        .values()
        .filter(|m| m.is_active() && m.role == Role::Kind)
        .map(|m| m.id.clone())
        .collect();
    let absent = if children.is_empty() {
        vec!["het kind/de jongere (nog geen deelnemer)".to_string()]
    } else {
        Vec::new()
    };
    (children, absent)
}

/// The status of consent record `r` on `today`.
pub fn consent_status(st: &State, r: &ConsentRecord, today: Date) -> ConsentStatus {
    let mut review = None;
    let is_consent = matches!(r.spec.basis, Basis::Consent { .. });
    let band = st.band(today);
    if is_consent
        && r.band_at_grant != band
        && let (Some(b), Some(birth)) = (band, st.birthdate)
    {
        let age = age_on(birth, today);
        review = Some(match b {
            AgeBand::Vanaf16 => format!(
                "het kind is nu {age}: vanaf 16 beslist de jongere zelf; vraag opnieuw toestemming"
            ),
            _ => format!("het kind is nu {age}: vanaf 12 stemt het kind mee in"),
        });
    }
    if is_consent && r.custody_at_grant != st.custody_parents() {
        review = Some("het gezag is gewijzigd sinds deze toestemming".into());
    }
    let awaiting_release: Vec<String> =
        if is_consent && r.spec.categories.iter().any(|c| c.needs_release()) {
            let required: BTreeSet<String> = required_consenters(st, today).0.into_iter().collect();
            r.spec
                .sources
                .iter()
                .filter(|o| !released_now(r, o, &required))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
    let mut refused = Vec::new();
    let mut status = |state, missing, refused: &mut Vec<String>| ConsentStatus {
        state,
        missing,
        refused: std::mem::take(refused),
        awaiting_release: awaiting_release.clone(),
        review: review.take(),
    };
    if r.withdrawn.is_some() {
        return status(ConsentState::Withdrawn, vec![], &mut refused);
    }
    let (Ok(from), Ok(until)) = (parse_date(&r.spec.from), parse_date(&r.spec.until)) else {
        return status(
            ConsentState::Incomplete,
            vec!["geldige data".into()],
            &mut refused,
        );
    };
    if today < from {
        return status(ConsentState::NotYetValid, vec![], &mut refused);
    }
    if today > until {
        return status(ConsentState::Expired, vec![], &mut refused);
    }
    match &r.spec.basis {
        Basis::Legal { .. } => status(ConsentState::Active, vec![], &mut refused),
        Basis::Consent { .. } => {
            let (need, mut missing) = required_consenters(st, today);
            for n in need {
                match r.answers.get(&n).map(|a| a.state) {
                    Some(AnswerState::Given) => {}
                    Some(AnswerState::Refused) => refused.push(n),
                    _ => missing.push(n),
                }
            }
            if !refused.is_empty() {
                status(ConsentState::Refused, missing, &mut refused)
            } else if missing.is_empty() {
                status(ConsentState::Active, missing, &mut refused)
            } else {
                status(ConsentState::Incomplete, missing, &mut refused)
            }
        }
    }
}

/// Why a chunk was not merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not merged: {author} may not write in {compartment} (the chunk stays stored as evidence)")]
pub struct WriteRefused {
    /// The author (participant id, or the device id when unknown).
    pub author: String,
    /// Compartment label.
    pub compartment: String,
}

/// Whether a chunk sealed by `author` in compartment `c` under epoch `epoch` may be merged: the
/// author may write there now; or the chunk is sealed under the current epoch and the author
/// could write while it was current (a right that ended since — a 16th birthday, a removal —
/// takes effect for content at the rotation it causes); or a rotation kept the chunk as history
/// (its closing set).
pub fn may_merge(
    st: &State,
    access: &Access,
    c: CompartmentId,
    author: DeviceId,
    chunk: ChunkId,
    epoch: u32,
) -> Result<(), WriteRefused> {
    if let Some(m) = st.member_of(author)
        && access.writes(c, &m.id)
    {
        return Ok(());
    }
    if st
        .latest(c)
        .is_some_and(|e| e.epoch == epoch && e.writers.contains(&author))
    {
        return Ok(());
    }
    if st
        .keys
        .get(&c)
        .is_some_and(|k| k.epochs.iter().any(|e| e.closing.contains(&chunk)))
    {
        return Ok(());
    }
    Err(WriteRefused {
        author: st
            .device_owner
            .get(&author)
            .cloned()
            .unwrap_or_else(|| format!("device {}", author.to_hex())),
        compartment: access
            .compartments
            .get(&c)
            .map(|a| a.kind.label())
            .unwrap_or_else(|| c.to_hex()),
    })
}

/// What a device must do with keys so that exactly the entitled devices can read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPlan {
    /// Compartments with readers but no key yet: create epoch 0.
    pub create: Vec<(CompartmentId, CompartmentKind)>,
    /// Compartments whose latest key reached (or was made by) a device that may no longer read:
    /// rotate.
    pub rotate: Vec<CompartmentId>,
    /// Compartments whose latest key some entitled devices lack: hand it to them.
    pub hand_out: Vec<(CompartmentId, BTreeSet<DeviceId>)>,
}

impl KeyPlan {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.rotate.is_empty() && self.hand_out.is_empty()
    }
}

/// Plans the key work of device `me`: it creates keys for compartments that have readers but no
/// key (if it reads them, or is an admin), and for every compartment whose latest key it holds,
/// rotates when a holder may no longer read and hands the key to entitled devices without it.
pub fn plan_keys(
    st: &State,
    access: &Access,
    me: DeviceId,
    holds_latest: impl Fn(CompartmentId) -> bool,
) -> KeyPlan {
    let mut plan = KeyPlan::default();
    let admin = st.member_of(me).is_some_and(|m| m.admin && m.is_active());
    for (c, a) in &access.compartments {
        let readers = access.reader_devices(st, *c);
        match st.latest(*c) {
            None => {
                // A log's first key is made by its owner's device only: an admin who makes a key
                // knows it (a chair does not read the other professionals' logs), and readers
                // making it at once would race.
                if let CompartmentKind::Log(owner) = &a.kind {
                    if st.member_of(me).is_some_and(|m| &m.id == owner) {
                        plan.create.push((*c, a.kind.clone()));
                    }
                    continue;
                }
                if !readers.is_empty() && (readers.contains(&me) || admin) {
                    plan.create.push((*c, a.kind.clone()));
                }
            }
            Some(e) => {
                if !readers.contains(&me) || !holds_latest(*c) {
                    continue;
                }
                // Whoever made the key knows it, wrapped to itself or not: a key made by a device
                // that may not read today (an author whose right ended and who got a key op
                // accepted anyway) is rotated away before anything is sealed under it. An admin
                // may create the first key of a compartment it does not read (by design).
                let maker_may_know = readers.contains(&e.by)
                    || (e.epoch == 0
                        && !matches!(a.kind, CompartmentKind::Log(_))
                        && st.member_of(e.by).is_some_and(|m| m.admin && m.is_active()));
                if !e.holders.is_subset(&readers) || !maker_may_know {
                    plan.rotate.push(*c);
                } else {
                    let missing: BTreeSet<DeviceId> =
                        readers.difference(&e.holders).copied().collect();
                    if !missing.is_empty() {
                        plan.hand_out.push((*c, missing));
                    }
                }
            }
        }
    }
    plan
}

/// One row of `mdo case audit`: who can see which compartment, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// Participant id.
    pub member: String,
    /// Role.
    pub role: Role,
    /// Per compartment descriptor: the basis, or absent.
    pub reads: BTreeMap<String, String>,
}

/// The participant × compartment matrix.
pub fn audit(st: &State, access: &Access) -> Vec<AuditRow> {
    st.members
        .values()
        .map(|m| AuditRow {
            member: m.id.clone(),
            role: m.role,
            reads: access
                .compartments
                .values()
                .filter_map(|a| {
                    a.readers
                        .get(&m.id)
                        .map(|b| (a.kind.descriptor(), b.describe()))
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::membership::{Action, ConsentSpec, KeyUpdate, Log, MemberSpec, Recipient};
    use crate::core::model::ConsentHow;
    use mdo_crypto::{CaseId, DeviceSecret};
    use time::macros::date;

    fn log_release(birth: &str, answers: &[&str], until: &str, release: bool) -> Log {
        let dev = DeviceSecret::generate().unwrap();
        let today = date!(2026 - 11 - 23);
        let mut log = Log::new(CaseId([3; 16]), date!(2026 - 11 - 23));
        let spec = |id: &str, role: Role, custody: bool, admin: bool| MemberSpec {
            custody_unknown: false,
            id: id.into(),
            role,
            organisation: if role.is_professional() {
                "OBS".into()
            } else {
                String::new()
            },
            custody,
            admin,
            devices: vec![],
        };
        // The recorder holds the medical information it records consent for (issue 14: the
        // holder records it): a school doctor chairs here.
        let mut chair = spec("chair", Role::Jeugdarts, false, true);
        chair.devices = vec![dev.public_identity().clone()];
        let mut add = |a: Action| log.append(&dev, a, KeyUpdate::default(), 0, today).unwrap();
        add(Action::Create {
            creator: chair,
            birthdate: birth.into(),
        });
        add(Action::AddMember {
            member: spec("ma", Role::Ouder, true, false),
        });
        add(Action::AddMember {
            member: spec("pa", Role::Ouder, true, false),
        });
        add(Action::AddMember {
            member: spec("kid", Role::Kind, false, false),
        });
        add(Action::AddMember {
            member: spec("juf", Role::Leerkracht, false, false),
        });
        // Recorded by the chair for the teacher (never by whoever it gives access): the
        // question, then each person's answer as its own act, then the doctor's release.
        add(Action::Grant {
            record: ConsentSpec {
                id: "c".into(),
                basis: Basis::Consent {
                    consenters: vec![],
                    how: ConsentHow::Digital,
                },
                purpose: "de leerkracht weet wat de jeugdarts vond".into(),
                categories: vec![ConsentCategory::Medisch],
                recipients: vec![Recipient::Member("juf".into())],
                sources: vec!["OBS".into()],
                from: "2026-01-01".into(),
                until: until.into(),
            },
        });
        for c in answers {
            add(Action::Answer {
                consent: "c".into(),
                person: c.trim_start_matches('!').into(),
                given: !c.starts_with('!'),
                how: ConsentHow::Oral,
                note: String::new(),
            });
        }
        if release {
            add(Action::Release {
                consent: "c".into(),
                note: String::new(),
            });
        }
        log
    }

    /// `answers`: participant ids, `!id` for a refusal; the doctor releases when the consent is
    /// complete on the day it is recorded.
    fn log_with(birth: &str, answers: &[&str], until: &str) -> Log {
        let l = log_release(birth, answers, until, false);
        let complete = state_of(&l, date!(2026 - 11 - 23)).state == ConsentState::Active;
        if complete {
            log_release(birth, answers, until, true)
        } else {
            l
        }
    }

    fn state_of(log: &Log, today: Date) -> ConsentStatus {
        consent_status(log.state(), &log.state().consents["c"], today)
    }

    #[test]
    fn age_rules_decide_who_must_consent() {
        let d = date!(2026 - 11 - 23);
        // 9: both parents with gezag.
        assert_eq!(
            state_of(&log_with("2017-03-14", &["ma"], "2027-01-01"), d).missing,
            vec!["pa".to_string()]
        );
        assert_eq!(
            state_of(&log_with("2017-03-14", &["ma", "pa"], "2027-01-01"), d).state,
            ConsentState::Active
        );
        // 14: parents and the child.
        assert_eq!(
            state_of(&log_with("2012-05-01", &["ma", "pa"], "2027-01-01"), d).missing,
            vec!["kid".to_string()]
        );
        assert_eq!(
            state_of(
                &log_with("2012-05-01", &["ma", "pa", "kid"], "2027-01-01"),
                d
            )
            .state,
            ConsentState::Active
        );
        // 16: the young person alone; the parents' consent is not enough.
        assert_eq!(
            state_of(&log_with("2010-01-01", &["ma", "pa"], "2027-01-01"), d).state,
            ConsentState::Incomplete
        );
        assert_eq!(
            state_of(&log_with("2010-01-01", &["kid"], "2027-01-01"), d).state,
            ConsentState::Active
        );
        // Dates.
        let l = log_with("2017-03-14", &["ma", "pa"], "2026-12-31");
        assert_eq!(
            state_of(&l, date!(2025 - 12 - 31)).state,
            ConsentState::NotYetValid
        );
        assert_eq!(
            state_of(&l, date!(2027 - 01 - 01)).state,
            ConsentState::Expired
        );
        // Turning 12 flags the record for review and makes it incomplete without the child.
        let l = log_with("2014-12-01", &["ma", "pa"], "2027-12-31");
        let s = state_of(&l, date!(2026 - 12 - 02));
        assert_eq!(s.state, ConsentState::Incomplete);
        assert!(s.review.unwrap().contains("12"));
        // A refusal is its own state, visible with whose it is; the other answers stand.
        let s = state_of(&log_with("2017-03-14", &["ma", "!pa"], "2027-01-01"), d);
        assert_eq!(s.state, ConsentState::Refused);
        assert_eq!(s.refused, vec!["pa".to_string()]);
        // Not answered yet: the record waits for each person.
        assert_eq!(
            state_of(&log_with("2017-03-14", &[], "2027-01-01"), d).missing,
            vec!["ma".to_string(), "pa".to_string()]
        );
    }

    #[test]
    fn medical_information_opens_only_after_the_doctor_releases_it() {
        let d = date!(2026 - 11 - 23);
        let l = log_release("2017-03-14", &["ma", "pa"], "2027-01-01", false);
        let obs =
            CompartmentKind::Category(ConsentCategory::Medisch, "OBS".into()).id(l.state().case);
        let s = state_of(&l, d);
        assert_eq!(s.state, ConsentState::Active);
        assert_eq!(s.awaiting_release, vec!["OBS".to_string()]);
        assert!(resolve(l.state(), d).reads(obs, "juf").is_none());
        let l = log_release("2017-03-14", &["ma", "pa"], "2027-01-01", true);
        assert!(state_of(&l, d).awaiting_release.is_empty());
        assert_eq!(
            resolve(l.state(), d).reads(obs, "juf"),
            Some(&ReadBasis::Consent("c".into()))
        );
    }

    #[test]
    fn consent_adds_readers_never_writers() {
        let l = log_with("2017-03-14", &["ma", "pa"], "2027-01-01");
        let a = resolve(l.state(), date!(2026 - 11 - 23));
        let med =
            CompartmentKind::Category(ConsentCategory::Medisch, "GGD".into()).id(l.state().case);
        // No GGD member yet: the compartment does not exist; consent extends those that do.
        assert!(!a.compartments.contains_key(&med));
        let obs =
            CompartmentKind::Category(ConsentCategory::Medisch, "OBS".into()).id(l.state().case);
        assert_eq!(a.reads(obs, "juf"), Some(&ReadBasis::Consent("c".into())));
        assert!(!a.writes(obs, "juf"));
        assert!(a.reads(obs, "ma").is_none());
    }
}
