//! The MDO as a traject (seed 002:6: "gaat het vaak niet om één MDO, maar om een traject met
//! meerdere overleggen"; seed 000: "Wanneer evalueren we samen de aanpak?"): the meetings in
//! order and which one is next, the date the agreements ask to evaluate on, what changed since
//! the previous meeting, the support route's phase history and records (seed 004), whether a
//! verslag is final and what parents and the young person think of it, and the writer's own
//! drafts.
//!
//! Plain reads and writes on a [`Case`]; who may do what is decided in `profile` (one place).

use std::collections::BTreeMap;

use serde::Serialize;

use super::CoreError;
use super::case::{Case, Placed};
use super::compartment::CompartmentKind;
use super::doc::{Answer, MeetingData, PhaseChange, RouteRecord, VerslagStatus};
use super::model::{
    AgreementStatus, Audience, CircleSlot, Date, ItemStatus, Section, SupportPhase, format_date,
    parse_date,
};

/// Where a meeting stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MeetingState {
    /// Its date is still to come.
    Gepland,
    /// Today, or past and not yet closed.
    Bezig,
    /// Closed by the chair.
    Afgesloten,
}

impl MeetingState {
    /// Dutch word.
    pub fn label(self) -> &'static str {
        match self {
            MeetingState::Gepland => "gepland",
            MeetingState::Bezig => "nog niet afgesloten",
            MeetingState::Afgesloten => "afgesloten",
        }
    }
}

/// Where `m` stands on `today`.
pub fn state_of(m: &MeetingData, today: Date) -> MeetingState {
    if m.closed {
        MeetingState::Afgesloten
    } else if parse_date(&m.date).is_ok_and(|d| d > today) {
        MeetingState::Gepland
    } else {
        MeetingState::Bezig
    }
}

/// Whether `m` was held (or is being held): closed, on or before `today`, or with something
/// recorded (presence, notes). A meeting only planned is not.
pub fn held(m: &MeetingData, today: Date) -> bool {
    m.closed
        || parse_date(&m.date).is_ok_and(|d| d <= today)
        || !m.present.is_empty()
        || m.steps.iter().any(|s| !s.is_empty())
}

/// What changed between the meeting before `meeting` and `meeting` (seed 002 §5 step 6 and the
/// evaluation: "Wat is het effect van de aanpak?").
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SinceLast {
    /// The previous meeting's date (YYYY-MM-DD), empty for the first meeting.
    pub previous: String,
    /// New entries per circle since then: (circle, slot symbol, text).
    pub new_in_circles: Vec<(String, String, String)>,
    /// Goals with their status now: (text, status label).
    pub goals: Vec<(String, String)>,
    /// Effects of the approach written since then.
    pub effects: Vec<String>,
    /// Agreements done.
    pub done: Vec<String>,
    /// Agreements still open past their due date.
    pub overdue: Vec<String>,
    /// Agreements dropped.
    pub dropped: Vec<String>,
}

impl SinceLast {
    /// Whether there is anything to show.
    pub fn is_empty(&self) -> bool {
        self.previous.is_empty()
    }
}

fn unix_day(created: i64) -> Option<Date> {
    time::OffsetDateTime::from_unix_timestamp(created)
        .ok()
        .map(|t| t.date())
}

impl Case {
    /// The meetings in date order, with where each stands today.
    pub fn traject(&self) -> Vec<(Placed<MeetingData>, MeetingState)> {
        let today = self.today();
        self.meetings()
            .into_iter()
            .map(|m| {
                let s = state_of(&m.data, today);
                (m, s)
            })
            .collect()
    }

    /// The next meeting: the first one today or later that is not closed.
    pub fn next_meeting(&self) -> Option<Placed<MeetingData>> {
        let today = self.today();
        self.meetings()
            .into_iter()
            .find(|m| !m.data.closed && parse_date(&m.data.date).is_ok_and(|d| d >= today))
    }

    /// The date the open agreements ask to evaluate on (the earliest evaluation date after
    /// today), for planning the next meeting.
    pub fn evaluation_due(&self) -> Option<String> {
        let today = self.today();
        self.agreements()
            .into_iter()
            .filter(|a| a.data.status == AgreementStatus::Open)
            .filter_map(|a| parse_date(&a.data.evaluation).ok())
            .filter(|d| *d > today)
            .min()
            .map(format_date)
    }

    /// What changed since the meeting before `meeting`: only what every reader of `meeting` may
    /// read (it is shown at the table), compared with the previous meeting that audience reads.
    pub fn since_last(&self, meeting: &str) -> SinceLast {
        let Ok(held) = self.meeting_kind(meeting) else {
            return SinceLast::default();
        };
        let admits = |k: &CompartmentKind| super::audience::composes_into(k, &held);
        let all: Vec<_> = self
            .meetings()
            .into_iter()
            .filter(|m| admits(&m.kind))
            .collect();
        let Some(pos) = all.iter().position(|m| m.data.id == meeting) else {
            return SinceLast::default();
        };
        let Some(prev) = pos.checked_sub(1).and_then(|p| all.get(p)) else {
            return SinceLast::default();
        };
        let Ok(since) = parse_date(&prev.data.date) else {
            return SinceLast::default();
        };
        let after = |created: i64| unix_day(created).is_some_and(|d| d > since);
        let mut out = SinceLast {
            previous: prev.data.date.clone(),
            ..SinceLast::default()
        };
        for i in self.items().into_iter().filter(|i| admits(&i.kind)) {
            match &i.data.section {
                Section::Circle { circle, slot }
                    if *slot != CircleSlot::Doel && after(i.data.created) =>
                {
                    out.new_in_circles.push((
                        circle.clone(),
                        slot.symbol().to_string(),
                        i.data.text.clone(),
                    ));
                }
                Section::Circle { slot, .. } if *slot != CircleSlot::Doel => {}
                Section::Circle { .. } => out.goals.push((
                    i.data.text.clone(),
                    i.data
                        .status
                        .unwrap_or(ItemStatus::Open)
                        .label()
                        .to_string(),
                )),
                Section::Effect if after(i.data.created) => out.effects.push(i.data.text.clone()),
                _ => {}
            }
        }
        let today = self.today();
        for a in self.agreements().into_iter().filter(|a| admits(&a.kind)) {
            let what = format!("{}: {}", a.data.wie, a.data.wat);
            match a.data.status {
                AgreementStatus::Gedaan => out.done.push(what),
                AgreementStatus::Vervallen => out.dropped.push(what),
                AgreementStatus::Open => {
                    if parse_date(&a.data.due).is_ok_and(|d| d < today) {
                        out.overdue.push(what);
                    }
                }
            }
        }
        out
    }

    /// The support-route phase history, oldest first.
    pub fn phase_history(&self) -> Vec<PhaseChange> {
        let mut v: Vec<PhaseChange> = self
            .collect(|d| d.phase_changes())
            .into_iter()
            .map(|p| p.data)
            .collect();
        v.sort_by(|a, b| (&a.date, &a.id).cmp(&(&b.date, &b.id)));
        v
    }

    /// Changes the support-route phase and keeps the change in the history.
    pub fn change_phase(
        &mut self,
        phase: SupportPhase,
        by: &str,
        note: &str,
    ) -> Result<(), CoreError> {
        let change = PhaseChange {
            id: super::case::new_id()?,
            phase: phase.id().to_string(),
            date: format_date(self.today()),
            by: by.to_string(),
            note: note.trim().to_string(),
        };
        let d = self.doc_for(CompartmentKind::Shared(Audience::Parents))?;
        d.set_case_field("phase", phase.id())?;
        d.add_phase_change(&change)
    }

    /// The records of the support route this device can read.
    pub fn routes(&self) -> Vec<Placed<RouteRecord>> {
        let mut v = self.collect(|d| d.routes());
        v.sort_by(|a, b| (&a.data.date, &a.data.id).cmp(&(&b.data.date, &b.data.id)));
        v
    }

    /// Adds a record of the support route in compartment `kind`.
    pub fn add_route(&mut self, r: &RouteRecord, kind: CompartmentKind) -> Result<(), CoreError> {
        if r.text.trim().is_empty() {
            return Err(CoreError::Empty { field: "text" });
        }
        parse_date(&r.date)?;
        if !r.until.is_empty() {
            parse_date(&r.until)?;
        }
        self.doc_for(kind)?.add_route(r)
    }

    /// Records an answer on a route record (the parents' instemming on an OPP).
    pub fn answer_route(&mut self, id: &str, person: &str, a: &Answer) -> Result<(), CoreError> {
        self.find("route", id)?.doc.set_route_answer(id, person, a)
    }

    /// Whether the verslagen stored here are final and the views on them, per compartment.
    pub fn verslag_statuses(&self) -> Vec<Placed<VerslagStatus>> {
        self.collect(|d| d.verslag_statuses())
    }

    /// The status of the verslag of `meeting` for `kind`.
    pub fn verslag_status(&self, meeting: &str, kind: &CompartmentKind) -> VerslagStatus {
        self.verslag_statuses()
            .into_iter()
            .find(|s| s.data.meeting == meeting && &s.kind == kind)
            .map(|s| s.data)
            .unwrap_or_else(|| VerslagStatus {
                meeting: meeting.to_string(),
                ..VerslagStatus::default()
            })
    }

    /// Sets the verslag of `meeting` for `kind` as final, with the hash of its text (a later
    /// change of the text shows: [`Case::verslag_changed`]).
    pub fn set_vastgesteld(
        &mut self,
        meeting: &str,
        kind: &CompartmentKind,
        by: &str,
    ) -> Result<(), CoreError> {
        let on = format_date(self.today());
        let hash = self.verslag_hash(meeting, kind);
        self.doc_for(kind.clone())?
            .set_vastgesteld(meeting, by, &on, &hash)
    }

    fn verslag_hash(&self, meeting: &str, kind: &CompartmentKind) -> String {
        let text = self
            .verslagen()
            .into_iter()
            .find(|v| v.data.meeting == meeting && &v.kind == kind)
            .map(|v| v.data.text)
            .unwrap_or_default();
        blake3::hash(text.as_bytes()).to_hex().to_string()
    }

    /// Whether the verslag of `meeting` for `kind` changed after it was set as final (a writer
    /// of that compartment bypassing the application layer: attributable, not prevented).
    pub fn verslag_changed(&self, meeting: &str, kind: &CompartmentKind) -> bool {
        let st = self.verslag_status(meeting, kind);
        !st.vastgesteld_by.is_empty() && st.text_hash != self.verslag_hash(meeting, kind)
    }

    /// Records a participant's view of the verslag of `meeting` for `kind`.
    pub fn set_view(
        &mut self,
        meeting: &str,
        kind: &CompartmentKind,
        person: &str,
        a: &Answer,
    ) -> Result<(), CoreError> {
        self.doc_for(kind.clone())?.set_view(meeting, person, a)
    }

    /// The writer's drafts (kept only in their own compartment).
    pub fn drafts(&self) -> BTreeMap<String, String> {
        let Some(me) = self.my_member().map(|m| m.id.clone()) else {
            return BTreeMap::new();
        };
        let kind = CompartmentKind::Author(me);
        self.collect(|d| d.drafts().into_iter().collect::<Vec<(String, String)>>())
            .into_iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.data)
            .collect()
    }

    /// Keeps a draft in the writer's own compartment (empty text removes it).
    pub fn set_draft(&mut self, key: &str, text: &str) -> Result<(), CoreError> {
        let me = self
            .my_member()
            .map(|m| m.id.clone())
            .ok_or(CoreError::NotFound {
                what: "participant",
                id: String::new(),
            })?;
        if text.is_empty() && !self.drafts().contains_key(key) {
            return Ok(());
        }
        self.doc_for(CompartmentKind::Author(me))?
            .set_draft(key, text)
    }
}
