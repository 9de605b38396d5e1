//! The read side of a case: case facts and the entries of every compartment this device can
//! read, each [`Placed`] with its audience; participants with what they may read.

use mdo_crypto::{CaseId, CompartmentId};
use serde::Serialize;

use super::{Case, CompartmentKind};
use crate::core::CoreError;
use crate::core::doc::{
    AgreementData, ArrowData, CompartmentDoc, ItemData, MeetingData, MeetingNote, ParticipantData,
    StoredVerslag,
};
use crate::core::membership::Member;
use crate::core::model::{Audience, parse_date};

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

impl Case {
    fn parents_doc(&self) -> Option<&CompartmentDoc> {
        self.compartments
            .get(&CompartmentKind::Shared(Audience::Parents).id(self.id))
            .map(|c| &c.doc)
    }

    pub(crate) fn collect<T>(&self, get: impl Fn(&CompartmentDoc) -> Vec<T>) -> Vec<Placed<T>> {
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

    /// Case facts.
    pub fn info(&self) -> CaseInfo {
        let d = self.parents_doc();
        let f = |k: &str| d.and_then(|d| d.case_field(k)).unwrap_or_default();
        let mut circles: Vec<String> = crate::core::model::DEFAULT_CIRCLES
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
    pub fn age_band(&self, today: crate::core::model::Date) -> Option<crate::core::model::AgeBand> {
        parse_date(&self.info().birthdate)
            .ok()
            .map(|b| crate::core::model::age_band(b, today))
    }

    /// The compartments this device can read, with their audience.
    pub fn compartment_list(&self) -> Vec<(CompartmentId, CompartmentKind)> {
        self.compartments
            .values()
            .map(|c| (c.id, c.kind.clone()))
            .collect()
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

    /// Notes of other audiences at the steps of `meeting` that this device can read.
    pub fn meeting_notes(&self, meeting: &str) -> Vec<Placed<MeetingNote>> {
        self.collect(CompartmentDoc::meeting_notes)
            .into_iter()
            .filter(|n| n.data.meeting == meeting)
            .collect()
    }

    /// The verslagen this device can read, each with the audience it was composed for.
    pub fn verslagen(&self) -> Vec<Placed<StoredVerslag>> {
        self.collect(CompartmentDoc::verslagen)
    }
}
