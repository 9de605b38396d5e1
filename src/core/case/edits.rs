//! The writes on a case, each into the compartment of its audience and only where this device's
//! participant may write: case facts and circles, items (add, edit, move to another audience),
//! agreements, arrows, participants, meetings and their notes, verslagen.

use mdo_crypto::{DeviceSecret, PublicIdentity};

use super::{Case, Compartment, CompartmentKind, Me};
use crate::core::CoreError;
use crate::core::doc::{AgreementData, ArrowData, ItemData, ParticipantData};
use crate::core::membership::{Action, MemberSpec};
use crate::core::model::{
    Audience, CaseStatus, Direction, Role, Section, SupportPhase, parse_date, valid_circle_name,
};

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
    /// The goal it serves (item id) or empty.
    pub goal: String,
    /// One of the school's obligations in the arrangement.
    pub obligation: bool,
    /// The meeting where it is agreed, or empty.
    pub meeting: String,
}

/// A new random short id (12 hex characters).
pub fn new_id() -> Result<String, CoreError> {
    Ok(hex::encode(mdo_crypto::random_array::<6>()?))
}

/// Top or tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// What worked.
    Top,
    /// What to do differently.
    Tip,
}

impl Case {
    /// The compartment holding entry `prefix:id`, if this device's participant may write there
    /// (an edit others would refuse is refused here first).
    pub(crate) fn find(&mut self, prefix: &str, id: &str) -> Result<&mut Compartment, CoreError> {
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
            withheld: None,
            review: None,
            term: None,
            status: None,
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
        if data.author != me && !crate::core::audience::composes_into(&from, &to) {
            return Err(CoreError::OnlyAuthorWidens {
                to: crate::core::audience::voor(&to),
            });
        }
        // Check the target first so that a refused move changes nothing.
        self.doc_for(to.clone())?;
        self.find("item", id)?.doc.remove_item(id)?;
        self.doc_for(to)?.add_item(&data)?;
        Ok(from)
    }

    /// Records whose item this is when the writer noted it for someone else (e.g. a parent's
    /// question typed by the chair).
    pub fn set_item_by(&mut self, id: &str, participant: &str) -> Result<(), CoreError> {
        self.find("item", id)?.doc.set_item_by(id, participant)
    }

    /// Records why an item is kept from the parents and when that is reviewed.
    pub fn set_item_withheld(
        &mut self,
        id: &str,
        reason: &str,
        review: &str,
    ) -> Result<(), CoreError> {
        self.find("item", id)?
            .doc
            .set_item_withheld(id, reason, review)
    }

    /// Replaces an item's text.
    pub fn edit_item(&mut self, id: &str, text: &str) -> Result<(), CoreError> {
        if text.trim().is_empty() {
            return Err(CoreError::Empty { field: "text" });
        }
        self.find("item", id)?.doc.edit_item(id, text.trim())
    }

    /// Sets a goal's term, an item's status, or the approach a support need belongs to
    /// (`term`, `status`, `parent`).
    pub fn set_item_field(&mut self, id: &str, field: &str, value: &str) -> Result<(), CoreError> {
        self.find("item", id)?.doc.set_item_field(id, field, value)
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
            status: crate::core::model::AgreementStatus::Open,
            evaluation: a.evaluation,
            author: me.person.clone(),
            created: now,
            goal: a.goal,
            note: String::new(),
            obligation: a.obligation,
            delivered: false,
            meeting: a.meeting,
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

    /// Changes an arrow's text or direction.
    pub fn edit_arrow(&mut self, id: &str, field: &str, value: &str) -> Result<(), CoreError> {
        if field == "text" && value.trim().is_empty() {
            return Err(CoreError::Empty { field: "text" });
        }
        self.find("arrow", id)?
            .doc
            .set_arrow_field(id, field, value.trim())
    }

    /// Removes an arrow.
    pub fn remove_arrow(&mut self, id: &str) -> Result<(), CoreError> {
        self.find("arrow", id)?.doc.remove_arrow(id)
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
                    custody_unknown: false,
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
        if !crate::core::audience::meeting_choices().contains(&audience) {
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
        if !crate::core::audience::may_note(&audience, &held) {
            return Err(CoreError::NarrowerAudience {
                what: "dit overleg",
                of: crate::core::audience::voor(&held),
                target: crate::core::audience::voor(&audience),
            });
        }
        self.doc_for(audience)?.set_meeting_note(meeting, n, text)
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

    /// Marks a participant present at a meeting (or, correcting, not present).
    pub fn meeting_present(&mut self, meeting: &str, participant: &str) -> Result<(), CoreError> {
        self.set_present(meeting, participant, true)
    }

    /// Marks a participant present or not present at a meeting.
    pub fn set_present(
        &mut self,
        meeting: &str,
        participant: &str,
        present: bool,
    ) -> Result<(), CoreError> {
        self.find("meeting", meeting)?
            .doc
            .set_present(meeting, participant, present)
    }

    /// Sets a meeting's start, place, date, planned end or closed state.
    pub fn set_meeting_field(
        &mut self,
        meeting: &str,
        field: &str,
        value: &str,
    ) -> Result<(), CoreError> {
        if field == "date" {
            parse_date(value)?;
        }
        self.find("meeting", meeting)?
            .doc
            .set_meeting_field(meeting, field, value.trim())
    }

    /// Invites a participant to a meeting (or takes it back).
    pub fn set_invited(
        &mut self,
        meeting: &str,
        participant: &str,
        on: bool,
    ) -> Result<(), CoreError> {
        self.find("meeting", meeting)?
            .doc
            .set_invited(meeting, participant, on)
    }

    /// What an absent participant gave beforehand.
    pub fn set_input(
        &mut self,
        meeting: &str,
        participant: &str,
        text: &str,
    ) -> Result<(), CoreError> {
        self.find("meeting", meeting)?
            .doc
            .set_input(meeting, participant, text.trim())
    }
}

fn prefix_what(prefix: &str) -> &'static str {
    match prefix {
        "item" => "item",
        "agreement" => "agreement",
        "meeting" => "meeting",
        _ => "entry",
    }
}
