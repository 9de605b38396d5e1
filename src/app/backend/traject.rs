//! The traject on the case and meeting screens: presence (corrected, absent with input),
//! invitations, the meeting's agenda and closing, goals' term and status, agreements' status and
//! fields, arrows, the support route's phase and records, the verslag set as final and the
//! parents' view, and drafts. Each goes through `profile::traject` or the write path.

use crate::core::model::{Section, SupportPhase};
use crate::profile::Error;
use crate::profile::traject;
use crate::profile::write::Write;

use super::{Backend, Update, chosen};

impl Backend {
    /// Present or not (a correction) at the meeting shown.
    pub(super) fn presence(&mut self, who: String, present: bool) -> Result<Vec<Update>, Error> {
        let m = self.meeting_id()?;
        self.edit(|case, _| traject::presence(case, &m, &who, present))
    }

    /// Absent, with what they gave beforehand.
    pub(super) fn input(&mut self, who: String, text: String) -> Result<Vec<Update>, Error> {
        let m = self.meeting_id()?;
        self.edit(|case, _| traject::absent_with_input(case, &m, &who, &text))
    }

    /// Invite someone to the meeting shown, or take it back.
    pub(super) fn invited(&mut self, who: String, on: bool) -> Result<Vec<Update>, Error> {
        let m = self.meeting_id()?;
        self.edit(|case, _| Ok(case.set_invited(&m, &who, on)?))
    }

    /// A question, process goal or decision on the agenda of the meeting shown.
    pub(super) fn add_agenda(
        &mut self,
        section: String,
        text: String,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        let m = self.meeting_id()?;
        let section = Section::parse(&section)?;
        if !matches!(
            section,
            Section::Vragen | Section::Procesdoelen | Section::Beslissingen
        ) {
            return Err("op de agenda staan vragen, procesdoelen en beslissingen".into());
        }
        self.write(
            Write::Item {
                section,
                text,
                parent: Some(m),
                by: None,
                withhold: None,
            },
            &audience,
        )
    }

    /// Close the meeting shown (or open it again).
    pub(super) fn close_meeting(&mut self, closed: bool) -> Result<Vec<Update>, Error> {
        let m = self.meeting_id()?;
        self.edit(|case, _| traject::close_meeting(case, &m, closed))
    }

    /// A goal's term or an item's status.
    pub(super) fn item_field(
        &mut self,
        id: String,
        field: String,
        value: String,
    ) -> Result<Vec<Update>, Error> {
        // The needs chain's links are made when an entry is written (chosen there, and checked).
        if !matches!(field.as_str(), "term" | "status") {
            return Err("alleen de termijn of de stand kan hier veranderen".into());
        }
        self.edit(|case, _| Ok(case.set_item_field(&id, &field, &value)?))
    }

    /// An agreement's status with its note (back to open undoes).
    pub(super) fn agreement_status(
        &mut self,
        id: String,
        status: String,
        note: String,
    ) -> Result<Vec<Update>, Error> {
        let status = status.parse()?;
        self.edit(|case, _| traject::agreement_status(case, &id, status, &note))
    }

    /// One field of an agreement (`wie`, `wat`, `waarom`, `wanneer`, `hoe`, `due`,
    /// `evaluation`, `owner`, `goal`, `obligation`, `delivered`).
    pub(super) fn edit_agreement(
        &mut self,
        id: String,
        field: String,
        value: String,
    ) -> Result<Vec<Update>, Error> {
        if field == "status" {
            return Err("verander de status met de knoppen, met een toelichting".into());
        }
        self.edit(|case, _| Ok(case.edit_agreement(&id, &field, value.trim())?))
    }

    /// Remove an agreement (the screen asked first).
    pub(super) fn remove_agreement(&mut self, id: String) -> Result<Vec<Update>, Error> {
        self.edit(|case, _| Ok(case.remove_agreement(&id)?))
    }

    /// Change an arrow (text, direction).
    pub(super) fn edit_arrow(
        &mut self,
        id: String,
        text: String,
        up: bool,
    ) -> Result<Vec<Update>, Error> {
        self.edit(|case, _| {
            case.edit_arrow(&id, "text", &text)?;
            case.edit_arrow(&id, "direction", if up { "omhoog" } else { "omlaag" })?;
            Ok(())
        })
    }

    /// Remove an arrow (the screen asked first).
    pub(super) fn remove_arrow(&mut self, id: String) -> Result<Vec<Update>, Error> {
        self.edit(|case, _| Ok(case.remove_arrow(&id)?))
    }

    /// Change the support-route phase.
    pub(super) fn change_phase(
        &mut self,
        phase: String,
        note: String,
    ) -> Result<Vec<Update>, Error> {
        let phase: SupportPhase = phase.parse()?;
        self.edit(|case, p| traject::change_phase(case, p.me(), phase, &note))
    }

    /// Close the case (chair, with a reason): the retention terms start.
    pub(super) fn close_case(&mut self, reason: String) -> Result<Vec<Update>, Error> {
        self.edit(|case, p| crate::profile::retention::close(case, p, &reason))
    }

    /// Reopen the closed case (chair, with a reason).
    pub(super) fn reopen_case(&mut self, reason: String) -> Result<Vec<Update>, Error> {
        self.edit(|case, p| crate::profile::retention::reopen(case, p, &reason))
    }

    /// My organisation's own retention term.
    pub(super) fn set_retention(
        &mut self,
        years: String,
        reason: String,
    ) -> Result<Vec<Update>, Error> {
        let years: u32 = years.trim().parse().map_err(|_| {
            Error::Said(format!(
                "‘{}’ is geen aantal jaren: typ een heel getal, bijvoorbeeld 5",
                years.trim()
            ))
        })?;
        self.edit(|case, p| crate::profile::retention::set_term(case, p, years, &reason))
    }

    /// Record an OPP, deskundigenadvies, TLV or arrangement.
    pub(super) fn add_route(
        &mut self,
        kind: String,
        text: String,
        until: String,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        self.write(
            Write::Route {
                kind: kind.parse()?,
                date: String::new(),
                until,
                text,
            },
            &audience,
        )
    }

    /// My answer on a route record (instemming with an OPP).
    pub(super) fn route_answer(
        &mut self,
        id: String,
        agrees: String,
        text: String,
    ) -> Result<Vec<Update>, Error> {
        let agrees = agrees.parse()?;
        self.edit(|case, p| {
            let me = p.me().person.clone();
            traject::answer_route(case, p.me(), &id, &me, agrees, &text)
        })
    }

    /// Set the verslag of the meeting shown for one audience as final.
    pub(super) fn vaststellen(&mut self, audience: String) -> Result<Vec<Update>, Error> {
        let m = self.meeting_id()?;
        let kind = chosen(&audience)?;
        let mut u = self.edit(|case, p| traject::vaststellen(case, p.me(), &m, &kind))?;
        u.push(Update::Notice(
            "Verslag vastgesteld. Ouders en de jongere kunnen er nu hun reactie onder zetten."
                .into(),
        ));
        Ok(u)
    }

    /// My view on the final verslag for one audience, and whether I agree.
    pub(super) fn view_on_verslag(
        &mut self,
        audience: String,
        person: String,
        agrees: String,
        text: String,
    ) -> Result<Vec<Update>, Error> {
        let m = self.meeting_id()?;
        let kind = chosen(&audience)?;
        let agrees = agrees.parse()?;
        self.edit(|case, p| {
            let who = if person.is_empty() {
                p.me().person.clone()
            } else {
                person
            };
            traject::view(case, p.me(), &m, &kind, &who, agrees, &text)
        })
    }

    /// Keep a draft (typed, not yet saved) in my own compartment. No screen update: the text
    /// stays where it is typed.
    pub(super) fn save_draft(&mut self, key: String, text: String) -> Result<Vec<Update>, Error> {
        let p = self.session.as_mut().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_mut().ok_or("geen casus open")?;
        let current = case.drafts().get(&key).cloned().unwrap_or_default();
        if current == text {
            return Ok(Vec::new());
        }
        p.edit(case, |case, _| traject::save_draft(case, &key, &text))?;
        self.sync.pending += 1;
        if let Some(n) = &self.node {
            n.changed();
        }
        Ok(Vec::new())
    }

    /// My preparation: each answer goes where the method uses it, in one commit.
    pub(super) fn prepare(
        &mut self,
        answers: Vec<(String, String)>,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        let m = self.meeting_id()?;
        let kind = chosen(&audience)?;
        let writes: Vec<Write> = answers
            .into_iter()
            .filter(|(_, a)| !a.trim().is_empty())
            .map(|(tag, text)| {
                let (section, parent) = match tag.as_str() {
                    "plus" => (Section::parse("kind.plus")?, None),
                    "min" => (Section::parse("kind.min")?, None),
                    "vraag" => (Section::Vragen, Some(m.clone())),
                    "doel" => (Section::Procesdoelen, Some(m.clone())),
                    other => return Err(Error::Said(format!("onbekende vraag '{other}'"))),
                };
                Ok(Write::Item {
                    section,
                    text,
                    parent,
                    by: None,
                    withhold: None,
                })
            })
            .collect::<Result<_, Error>>()?;
        if writes.is_empty() {
            return Err("vul minstens één antwoord in".into());
        }
        let n = writes.len();
        let mut u = self.edit(|case, p| {
            for w in writes {
                crate::profile::write::apply(case, p.me(), p.now(), w, kind.clone())?;
            }
            Ok(())
        })?;
        u.push(Update::Notice(format!(
            "Uw voorbereiding is bewaard ({n} antwoorden): het goede en de zorgen staan in de cirkel van het kind, uw vragen en wat u hoopt op de agenda."
        )));
        Ok(u)
    }
}
