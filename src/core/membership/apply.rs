//! Validating and applying one op to the state, per action: the author's standing (removed,
//! demoted or device removed — decided by causality, see `dag.rs`), the author's right for the
//! action, the domain rules on participants and consent, and then the keys the op carries
//! (`keys.rs`).

use mdo_crypto::{OpId, WrappedKeys};

use super::dag::{Log, hostile_to, outranked};
use super::error::{ConsentRule, Rejection};
use super::keys::apply_keys;
use super::op::ConsentSpec;
use super::op::{Action, Basis, MemberSpec, Op, Recipient};
use super::state::{
    AnswerState, ConsentRecord, Member, MemberStatus, PersonAnswer, Release, State, Withdrawal,
};
use crate::core::model::{ConsentCategory, LegalGround, Role, parse_date};

/// The author and participant checks the rules of [`apply`] share.
impl State {
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
                custody: spec.custody && !spec.custody_unknown,
                custody_unknown: spec.custody_unknown && !spec.custody,
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

/// Applies one op to `st`, checking the author's right. `log` answers causality questions.
/// Returns the key bundles the op carries.
pub(super) fn apply(st: &mut State, op: &Op, log: &Log) -> Result<Vec<WrappedKeys>, Rejection> {
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
            parent_date: crate::core::model::format_date(parent_date),
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
            st.organiser = creator.organisation.trim().to_string();
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
                custody: m.custody && role.may_hold_gezag(),
                custody_unknown: m.custody_unknown && role.may_hold_gezag(),
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
                m.custody_unknown = spec.custody_unknown;
            }
        }
        Action::SetCustody {
            member,
            custody,
            unknown,
        } => {
            admin(st, "record custody")?;
            let m = active(st, member)?;
            if !m.role.may_hold_gezag() {
                return Err(Rejection::Invalid(
                    "only a parent or a voogd can have gezag".into(),
                ));
            }
            if let Some(m) = st.members.get_mut(member) {
                m.custody = *custody && !*unknown;
                m.custody_unknown = *unknown;
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
            let needs_source = record
                .categories
                .iter()
                .any(|c| *c != crate::core::model::ConsentCategory::Dossier);
            if needs_source && record.sources.iter().all(|s| s.trim().is_empty()) {
                return Err(Rejection::Consent(ConsentRule::NeedsSource));
            }
            // Roles without base access record no consent or legal basis: they could otherwise
            // open the shared case to each other (issue 14).
            if crate::core::audience::no_base_access(author.role) {
                return Err(Rejection::Consent(ConsentRule::NoBaseAccess));
            }
            // The holder of the information records it: a professional names only their own
            // organisation as the source, and only for categories their role holds (WGBO 7:457:
            // the professional with the secret decides; AVG art. 7(1)). A parent or child who
            // records their own consent may name any source (the holder still decides what
            // leaves it: issue 14, the release).
            let own_consent = matches!(&record.basis,
                Basis::Consent { consenters, .. } if consenters.as_slice() == [author.id.clone()]);
            if !own_consent {
                for c in record
                    .categories
                    .iter()
                    .filter(|c| **c != crate::core::model::ConsentCategory::Dossier)
                {
                    for s in &record.sources {
                        if s != &author.organisation || !author.role.holds_category(*c) {
                            return Err(Rejection::Consent(ConsentRule::NotHolder));
                        }
                    }
                }
            }
            match &record.basis {
                Basis::Consent { consenters, .. } => {
                    // Each person's consent is their own act (issue 14): a record names at most
                    // one consenter; the others answer in their own op (`Action::Answer`).
                    if consenters.len() > 1 {
                        return Err(Rejection::Consent(ConsentRule::OneConsenter));
                    }
                    // Consent is specific: it says what for (AVG art. 4(11); law.md §5).
                    if record.purpose.trim().is_empty() {
                        return Err(Rejection::Consent(ConsentRule::NeedsPurpose));
                    }
                    if consenters.is_empty() && !author.role.is_professional() {
                        return Err(Rejection::Consent(ConsentRule::OwnOnly));
                    }
                    for c in consenters {
                        let m = active(st, c)?;
                        if !m.role.gives_consent() {
                            return Err(Rejection::Consent(ConsentRule::FamilyConsents));
                        }
                    }
                    // A parent or the child records only their own consent: never one in the
                    // other parent's name (issue 14; AVG art. 7(1): the controller shows whose
                    // consent it relied on).
                    if !author.role.is_professional()
                        && consenters.as_slice() != [author.id.clone()]
                    {
                        return Err(Rejection::Consent(ConsentRule::OwnOnly));
                    }
                }
                Basis::Legal {
                    ground, decided_by, ..
                } => {
                    if !author.role.is_professional() {
                        return Err(Rejection::Consent(ConsentRule::ProfessionalsOnly));
                    }
                    check_legal(st, &author, *ground, decided_by, record, is_admin(st))?;
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
            if grants_own_side(st, &author, record) {
                return Err(Rejection::SelfGranted);
            }
            // The MDO file names organisations or people, never a role: a role would seat that
            // role of every organisation at the table, present and future (review of issue 14).
            if record.categories.contains(&ConsentCategory::Dossier)
                && record
                    .recipients
                    .iter()
                    .any(|r| matches!(r, Recipient::Role(_)))
            {
                return Err(Rejection::Consent(ConsentRule::DossierNamesWho));
            }
            let answers = match &record.basis {
                Basis::Consent { consenters, how } => consenters
                    .iter()
                    .map(|c| {
                        (
                            c.clone(),
                            PersonAnswer {
                                state: AnswerState::Given,
                                how: *how,
                                recorded_by: author.id.clone(),
                                on: op.body.date.clone(),
                                note: String::new(),
                            },
                        )
                    })
                    .collect(),
                Basis::Legal { .. } => Default::default(),
            };
            let rec = ConsentRecord {
                spec: record.clone(),
                recorded_by: author.id.clone(),
                recorded_on: op.body.date.clone(),
                band_at_grant: st.band(op.date),
                custody_at_grant: st.custody_parents(),
                withdrawn: None,
                answers,
                released: Default::default(),
            };
            st.consents.insert(record.id.clone(), rec);
        }
        Action::Withdraw { consent, by, note } => {
            let author = st.author(op)?.clone();
            let rec = record_of(st, consent)?;
            if rec.withdrawn.is_some() {
                return Err(Rejection::AlreadyWithdrawn {
                    consent: consent.clone(),
                });
            }
            let may_speak_for = match &rec.spec.basis {
                Basis::Consent { .. } => rec
                    .answers
                    .get(by)
                    .is_some_and(|a| a.state == AnswerState::Given),
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
            // A withdrawal ends the record when its author is someone whose consent counts on
            // that day (or when it is a legal basis); a person whose answer is not required
            // (a parent after 16, a parent without gezag) withdraws only their own answer.
            let counts = match &rec.spec.basis {
                Basis::Legal { .. } => true,
                Basis::Consent { .. } => crate::core::access::required_consenters(st, op.date)
                    .0
                    .contains(by),
            };
            if let Some(rec) = st.consents.get_mut(consent) {
                if let Some(a) = rec.answers.get_mut(by) {
                    a.state = AnswerState::Withdrawn;
                }
                if counts {
                    rec.withdrawn = Some(w);
                }
            }
        }
        Action::Answer {
            consent,
            person,
            given,
            how,
            note,
        } => {
            let author = st.author(op)?.clone();
            let rec = record_of(st, consent)?;
            if !matches!(rec.spec.basis, Basis::Consent { .. }) {
                return Err(Rejection::Consent(ConsentRule::LegalNotAnswered));
            }
            if rec.withdrawn.is_some() {
                return Err(Rejection::AlreadyWithdrawn {
                    consent: consent.clone(),
                });
            }
            let p = active(st, person)?;
            if !p.role.gives_consent() {
                return Err(Rejection::Consent(ConsentRule::FamilyConsents));
            }
            if author.id != *person {
                // On someone's behalf: a professional with base access who recorded the
                // question, chairs, or holds the information (one of its sources).
                if !author.role.is_professional()
                    || crate::core::audience::no_base_access(author.role)
                {
                    return Err(Rejection::Consent(ConsentRule::OwnOnly));
                }
                // For the MDO file (who sits at the table) only the chair answers on someone's
                // behalf: an organisation does not admit itself (review of issue 14).
                let dossier = rec.spec.categories.contains(&ConsentCategory::Dossier);
                if !(is_admin(st)
                    || (!dossier
                        && (author.id == rec.recorded_by
                            || rec.spec.sources.contains(&author.organisation))))
                {
                    return Err(Rejection::NotAdmin {
                        action: "record an answer on someone else's behalf",
                    });
                }
                // A "no" the person recorded themselves is changed only by them.
                if rec
                    .answers
                    .get(person)
                    .is_some_and(|a| a.state == AnswerState::Refused && a.recorded_by == *person)
                {
                    return Err(Rejection::Consent(ConsentRule::TheirOwnNo));
                }
                if *given && grants_own_side(st, &author, &rec.spec) {
                    return Err(Rejection::SelfGranted);
                }
            }
            match rec.answers.get(person).map(|a| a.state) {
                Some(AnswerState::Given) => {
                    return Err(Rejection::Consent(ConsentRule::AlreadyGiven));
                }
                Some(AnswerState::Withdrawn) => {
                    return Err(Rejection::AlreadyWithdrawn {
                        consent: consent.clone(),
                    });
                }
                _ => {}
            }
            let a = PersonAnswer {
                state: if *given {
                    AnswerState::Given
                } else {
                    AnswerState::Refused
                },
                how: *how,
                recorded_by: author.id.clone(),
                on: op.body.date.clone(),
                note: note.clone(),
            };
            if let Some(rec) = st.consents.get_mut(consent) {
                rec.answers.insert(person.clone(), a);
            }
        }
        Action::Release { consent, note } => {
            let author = st.author(op)?.clone();
            let rec = record_of(st, consent)?;
            let medical = rec.spec.categories.iter().any(|c| c.needs_release());
            if !medical || !matches!(rec.spec.basis, Basis::Consent { .. }) {
                return Err(Rejection::Consent(ConsentRule::ReleaseOnlyMedical));
            }
            // Until everyone's gezag is checked, nothing medical is released (law notes §7).
            if !st.custody_unknown().is_empty() {
                return Err(Rejection::Consent(ConsentRule::GezagUnknown));
            }
            if !author.role.is_medical() || !rec.spec.sources.contains(&author.organisation) {
                return Err(Rejection::Consent(ConsentRule::ReleaseByDoctor));
            }
            let need: std::collections::BTreeSet<String> =
                crate::core::access::required_consenters(st, op.date)
                    .0
                    .into_iter()
                    .collect();
            if rec
                .released
                .get(&author.organisation)
                .is_some_and(|r| r.for_people == need)
            {
                return Err(Rejection::Consent(ConsentRule::AlreadyReleased));
            }
            let status = crate::core::access::consent_status(st, rec, op.date);
            if status.state != crate::core::access::ConsentState::Active {
                return Err(Rejection::Consent(ConsentRule::ReleaseAfterConsent));
            }
            let r = Release {
                by: author.id.clone(),
                on: op.body.date.clone(),
                note: note.clone(),
                for_people: need,
            };
            if let Some(rec) = st.consents.get_mut(consent) {
                rec.released.insert(author.organisation.clone(), r);
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
        Action::Close { reason } => {
            let author = st.author(op)?;
            if !is_admin(st) {
                return Err(Rejection::NotAdmin {
                    action: "close the case",
                });
            }
            if st.closed.is_some() {
                return Err(Rejection::Invalid("the case is closed already".into()));
            }
            let by = author.id.clone();
            st.closings.push((
                op.body.date.clone(),
                by.clone(),
                "afgesloten",
                reason.clone(),
            ));
            st.closed = Some(super::state::Closure {
                on: op.body.date.clone(),
                by,
                reason: reason.clone(),
            });
        }
        Action::Reopen { reason } => {
            let author = st.author(op)?;
            if !is_admin(st) {
                return Err(Rejection::NotAdmin {
                    action: "reopen the case",
                });
            }
            if st.closed.is_none() {
                return Err(Rejection::Invalid("the case is not closed".into()));
            }
            let by = author.id.clone();
            st.closings
                .push((op.body.date.clone(), by, "heropend", reason.clone()));
            st.closed = None;
        }
        Action::SetRetention {
            organisation,
            years,
            reason,
        } => {
            let author = st.author(op)?;
            let org = organisation.trim();
            // The controller sets its own term: one of its professionals (not its privacy
            // officer, who advises), for its own organisation only.
            if !(author.role.is_professional()
                && author.role != crate::core::model::Role::Privacy
                && author.organisation.trim().eq_ignore_ascii_case(org))
            {
                return Err(Rejection::Invalid(
                    "only a professional of that organisation sets its retention term".into(),
                ));
            }
            let by = author.id.clone();
            if let Some(min) = crate::core::retention::controller_of(st, org)
                .and_then(crate::core::retention::Controller::statutory_minimum)
                && *years < min
            {
                return Err(Rejection::Invalid(format!(
                    "the law keeps this dossier at least {min} years"
                )));
            }
            st.retention.insert(
                crate::core::retention::org_key(org),
                super::state::RetentionSetting {
                    years: *years,
                    reason: reason.trim().to_string(),
                    by,
                    on: op.body.date.clone(),
                },
            );
        }
        Action::Destroy {
            organisation,
            compartments,
            ground,
            exceptions,
        } => {
            let author = st.author(op)?;
            let org = organisation.trim();
            let author_medical = author.role.is_medical();
            // The controller decides: a professional of the organisation whose compartments
            // they are (AVG art. 4(7); BW 7:455; Jeugdwet 7.3.9) — not its privacy officer, who
            // advises (AVG art. 39).
            // Organisation names are compared exactly, as reading rights compare them.
            if !(author.role.is_professional()
                && author.role != crate::core::model::Role::Privacy
                && author.organisation.trim() == org)
            {
                return Err(Rejection::Invalid(
                    "only a professional of the organisation destroys what it holds".into(),
                ));
            }
            let on_request = matches!(ground, super::op::DestroyGround::Request { .. });
            let by = author.id.clone();
            let planned = crate::core::retention::schedule(
                st,
                st.closed.as_ref().and_then(|c| parse_date(&c.on).ok()),
            );
            let mut ids = Vec::new();
            for d in compartments {
                let kind = crate::core::compartment::CompartmentKind::parse(d)
                    .ok_or_else(|| Rejection::Invalid(format!("unknown compartment {d}")))?;
                let id = kind.id(st.case);
                if !st.keys.contains_key(&id) {
                    return Err(Rejection::Invalid(format!("{d} has no keys in this case")));
                }
                if st.destroyed.contains_key(&id) {
                    return Err(Rejection::Invalid(format!("{d} was destroyed already")));
                }
                // Medical and GGZ information is destroyed by its holder: a medical professional
                // (WGBO art. 7:455: the hulpverlener).
                if let crate::core::compartment::CompartmentKind::Category(c, _) = &kind
                    && c.needs_release()
                    && !author_medical
                {
                    return Err(Rejection::Invalid(format!(
                        "{d} is destroyed by a medical professional of {org}"
                    )));
                }
                // A request destroys the organisation's own dossier: not the access logs (the
                // record of who read what, kept at least 5 years) and not the MDO file shared
                // by every organisation at the table (it goes at the end of its term, which
                // covers every contributor's minimum: `core::retention::schedule`).
                if on_request
                    && matches!(
                        kind,
                        crate::core::compartment::CompartmentKind::Log(_)
                            | crate::core::compartment::CompartmentKind::Shared(_)
                    )
                {
                    return Err(Rejection::Invalid(format!(
                        "{d} is not destroyed on a request"
                    )));
                }
                if crate::core::retention::owner_of(st, &kind) != org {
                    return Err(Rejection::Invalid(format!(
                        "{d} is not {org}'s: only its controller destroys it"
                    )));
                }
                if matches!(ground, super::op::DestroyGround::Retention) {
                    let due = planned
                        .iter()
                        .find(|p| p.descriptor == *d)
                        .and_then(|p| p.destroy_on);
                    match due {
                        Some(due) if op.date >= due => {}
                        Some(due) => {
                            return Err(Rejection::Invalid(format!(
                                "{d} is kept until {}",
                                crate::core::model::format_date(due)
                            )));
                        }
                        None => {
                            return Err(Rejection::Invalid(format!(
                                "{d} has no retention term that ended (is the case closed?)"
                            )));
                        }
                    }
                }
                ids.push((id, d.clone()));
            }
            let request = match ground {
                super::op::DestroyGround::Retention => None,
                super::op::DestroyGround::Request { request } => {
                    let r = st.destruction_requests.get_mut(request).ok_or_else(|| {
                        Rejection::Invalid(format!("no destruction request {request}"))
                    })?;
                    if r.organisation != org
                        || !r.answer.as_ref().is_some_and(|a| a.granted)
                        || r.carried_out.is_some()
                    {
                        return Err(Rejection::Invalid(format!(
                            "destruction request {request} was not granted by {org}"
                        )));
                    }
                    r.carried_out = Some(op.body.date.clone());
                    Some(request.clone())
                }
            };
            for (id, descriptor) in ids {
                st.destroyed.insert(
                    id,
                    super::state::Tombstone {
                        descriptor,
                        organisation: org.to_string(),
                        on: op.body.date.clone(),
                        by: by.clone(),
                        request: request.clone(),
                        exceptions: exceptions.trim().to_string(),
                        op: op.id,
                    },
                );
            }
        }
        Action::RequestDestruction {
            request,
            organisation,
        } => {
            let author = st.author(op)?;
            let who = author.id.clone();
            // Under 12 the parents with gezag ask (BW 7:465 lid 1); from 12 the child or young
            // person alone (Jeugdwet 7.3.15; `core::access::destruction_signers`).
            let (required, _) = crate::core::access::destruction_signers(st, op.date);
            if !required.contains(&who) {
                return Err(Rejection::Invalid(
                    "only the child (from 12) or a parent with gezag asks for destruction".into(),
                ));
            }
            let org = organisation.trim();
            let known_org = st
                .members
                .values()
                .any(|m| m.role.is_professional() && m.organisation.trim() == org);
            if !known_org {
                return Err(Rejection::Invalid(format!(
                    "no organisation {org} in this case"
                )));
            }
            let r = st
                .destruction_requests
                .entry(request.clone())
                .or_insert_with(|| super::state::DestructionRequest {
                    id: request.clone(),
                    organisation: org.to_string(),
                    opened: op.body.date.clone(),
                    signed: Vec::new(),
                    answer: None,
                    carried_out: None,
                });
            if r.organisation != org {
                return Err(Rejection::Invalid(format!(
                    "request {request} is to another organisation"
                )));
            }
            if r.answer.is_some() {
                return Err(Rejection::Invalid(format!(
                    "request {request} was answered already"
                )));
            }
            if !r.signed.iter().any(|(p, _)| *p == who) {
                r.signed.push((who, op.body.date.clone()));
            }
        }
        Action::AnswerDestruction {
            request,
            granted,
            ground,
            reason,
        } => {
            let author = st.author(op)?;
            let by = author.id.clone();
            let author_org = author.organisation.trim().to_string();
            let professional =
                author.role.is_professional() && author.role != crate::core::model::Role::Privacy;
            let (required, absent) = crate::core::access::destruction_signers(st, op.date);
            let r = st
                .destruction_requests
                .get_mut(request)
                .ok_or_else(|| Rejection::Invalid(format!("no destruction request {request}")))?;
            if !(professional && author_org == r.organisation) {
                return Err(Rejection::Invalid(
                    "only the organisation asked answers a destruction request".into(),
                ));
            }
            if r.answer.is_some() {
                return Err(Rejection::Invalid(format!(
                    "request {request} was answered already"
                )));
            }
            // A grant needs every signature the request needs on the day of the answer.
            let complete = absent.is_empty()
                && required
                    .iter()
                    .all(|p| r.signed.iter().any(|(s, _)| s == p));
            if *granted && !complete {
                return Err(Rejection::Invalid(format!(
                    "request {request} does not have every signature it needs yet"
                )));
            }
            r.answer = Some(super::state::DestructionAnswer {
                granted: *granted,
                ground: ground.trim().to_string(),
                reason: reason.trim().to_string(),
                by,
                on: op.body.date.clone(),
            });
        }
        Action::Keys => {}
    }
    if op.body.keys.is_empty() {
        return Ok(Vec::new());
    }
    let author_admin = is_admin(st);
    apply_keys(st, op, author_admin, &|a| log.causally_before(a, op))
}

fn active<'a>(st: &'a State, id: &str) -> Result<&'a Member, Rejection> {
    st.members
        .get(id)
        .filter(|m| m.status != MemberStatus::Removed)
        .ok_or_else(|| Rejection::UnknownMember {
            member: id.to_string(),
        })
}

fn check_spec(spec: &MemberSpec) -> Result<(), Rejection> {
    if spec.custody && spec.custody_unknown {
        return Err(Rejection::Invalid(
            "gezag is held, not held, or not yet checked — not two at once".into(),
        ));
    }
    if (spec.custody || spec.custody_unknown) && !spec.role.may_hold_gezag() {
        return Err(Rejection::Invalid(
            "only a parent or a voogd can have gezag".into(),
        ));
    }
    if spec.admin && !spec.role.is_professional() {
        return Err(Rejection::Invalid(
            "only a professional can chair the case".into(),
        ));
    }
    if spec.admin && crate::core::audience::no_base_access(spec.role) {
        return Err(Rejection::Invalid(format!(
            "a {} does not chair the case (no base access to it)",
            spec.role.label()
        )));
    }
    if spec.role.is_professional() && spec.organisation.trim().is_empty() {
        return Err(Rejection::Invalid(format!(
            "a {} needs an organisation",
            spec.role.label()
        )));
    }
    Ok(())
}

/// Who may record which legal basis, to whom it may open what (issue 14; `docs/sharing-rules.md`
/// §4). The professional who holds the information decides and records it — never someone else
/// in their name; the grounds differ in what they open and to whom.
fn check_legal(
    st: &State,
    author: &Member,
    ground: LegalGround,
    decided_by: &str,
    record: &ConsentSpec,
    author_admin: bool,
) -> Result<(), Rejection> {
    if decided_by != author.id {
        return Err(Rejection::Consent(ConsentRule::HolderDecides));
    }
    // The shared case content has no single holder: the chair decides for it.
    if record.categories.contains(&ConsentCategory::Dossier) && !author_admin {
        return Err(Rejection::Consent(ConsentRule::ChairForDossier));
    }
    let only_gi = record.recipients.iter().all(|r| match r {
        Recipient::Member(id) => st
            .members
            .get(id)
            .is_some_and(|m| m.role == Role::Jeugdbeschermer),
        Recipient::Role(role) => *role == Role::Jeugdbeschermer,
        Recipient::Organisation(_) => false,
    });
    match ground {
        LegalGround::Meldrecht => Err(Rejection::Consent(ConsentRule::Meldrecht)),
        LegalGround::ChildProtection => {
            if !only_gi {
                return Err(Rejection::Consent(ConsentRule::GiOnly));
            }
            Ok(())
        }
        LegalGround::ParentInformation => {
            let ok = record.recipients.iter().all(|r| {
                matches!(r, Recipient::Member(id)
                    if st.members.get(id).is_some_and(|m| m.role == Role::Ouder && !m.custody && !m.custody_unknown))
            });
            if !ok {
                return Err(Rejection::Consent(ConsentRule::ParentWithoutGezagOnly));
            }
            Ok(())
        }
        LegalGround::LegalDuty | LegalGround::ConflictOfDuties => Ok(()),
    }
}

/// Whether `record` lets its recorder's own side read: the recorder themselves, or a
/// professional of the recorder's organisation (named as a participant, by their role, or as
/// the organisation). Nobody opens information to themselves or their colleagues — the person
/// who consents or the holder of the information records it (issue 13 #9; review of issue 14:
/// an organisation not at the table would otherwise admit itself).
fn grants_own_side(st: &State, author: &Member, record: &ConsentSpec) -> bool {
    // For the MDO file (a seat at the table) the recorder's colleagues count as their own side;
    // for a category of information the holder may share with a colleague on consent.
    let seat = record.categories.contains(&ConsentCategory::Dossier);
    if !seat {
        return record.recipients.iter().any(|r| r.covers(author));
    }
    let colleague = |m: &Member| {
        m.id == author.id
            || (author.role.is_professional()
                && m.role.is_professional()
                && m.organisation == author.organisation)
    };
    record.recipients.iter().any(|r| {
        r.covers(author)
            || match r {
                Recipient::Organisation(o) => {
                    author.role.is_professional() && *o == author.organisation
                }
                _ => st
                    .members
                    .values()
                    .filter(|m| m.is_active() && colleague(m))
                    .any(|m| r.covers(m)),
            }
    })
}

fn record_of<'a>(st: &'a State, consent: &str) -> Result<&'a ConsentRecord, Rejection> {
    st.consents
        .get(consent)
        .ok_or_else(|| Rejection::UnknownConsent {
            consent: consent.to_string(),
        })
}
