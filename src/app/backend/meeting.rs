//! The meeting on the case screen: start one, notes per step, who is present, tops and tips,
//! and the verslag for one audience, stored or exported as PDF. All of it works on the latest
//! meeting, and writes through `case.rs`'s write path.

use std::path::PathBuf;

use crate::core::case::Feedback;
use crate::core::model::format_date;
use crate::profile::write::{Plan, Write};
use crate::profile::{self, Error};

use super::{Backend, Update, chosen};
use crate::app::backend::cmd::NewMeeting;

impl Backend {
    /// The meeting the screens show: the one chosen in the traject, else the latest.
    pub(super) fn meeting_id(&self) -> Result<String, Error> {
        let case = self.open.as_ref().ok_or("geen casus open")?;
        let all = case.meetings();
        self.meeting
            .as_ref()
            .filter(|id| all.iter().any(|m| m.data.id == **id))
            .cloned()
            .or_else(|| all.last().map(|m| m.data.id.clone()))
            .ok_or_else(|| "plan eerst een overleg".into())
    }

    /// Plan or start a meeting: date (YYYY-MM-DD, empty: today), start and planned end (HH:MM),
    /// place, and for whom. Everyone on the roster who will be able to read the meeting is
    /// invited (the list can be changed); the chair is marked present only when it is today.
    pub(super) fn new_meeting(&mut self, m: NewMeeting) -> Result<Vec<Update>, Error> {
        let p = self.session()?;
        let today = format_date(p.store().today());
        let date = if m.date.trim().is_empty() {
            today.clone()
        } else {
            m.date.trim().to_string()
        };
        if m.end.trim().is_empty() {
            return Err("vul het geplande einde in als UU:MM, bijvoorbeeld 16:00".into());
        }
        let present = (date == today).then(|| p.me().person.clone());
        let case = self.open.as_ref().ok_or("geen casus open")?;
        let kind = chosen(&m.audience)?;
        let readers = case
            .access()
            .compartments
            .get(&kind.id(case.id))
            .map(|a| a.readers.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        let invited = case
            .participants()
            .into_iter()
            .map(|p| p.id)
            .filter(|id| readers.contains(id))
            .collect();
        self.write(
            Write::Meeting {
                date,
                end: m.end,
                present,
                plan: Plan {
                    start: m.start,
                    place: m.place,
                    invited,
                },
            },
            &m.audience,
        )
    }

    /// Notes at step `n` (1–6) of the latest meeting.
    pub(super) fn meeting_step(
        &mut self,
        n: usize,
        text: String,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        let meeting = self.meeting_id()?;
        let key = crate::app::view::draft_key(&meeting, n, &audience);
        self.write(
            Write::MeetingNote {
                meeting,
                step: n,
                text,
            },
            &audience,
        )?;
        // Saved: the draft of these notes is no longer needed.
        self.save_draft(key, String::new())?;
        self.shown()
    }

    /// A participant's top and tip at the latest meeting (empty leaves one unchanged).
    pub(super) fn top_tip(
        &mut self,
        participant: String,
        top: String,
        tip: String,
    ) -> Result<Vec<Update>, Error> {
        let m = self.meeting_id()?;
        self.edit(|case, _| {
            if !top.trim().is_empty() {
                case.meeting_feedback(&m, Feedback::Top, &participant, &top)?;
            }
            if !tip.trim().is_empty() {
                case.meeting_feedback(&m, Feedback::Tip, &participant, &tip)?;
            }
            Ok(())
        })
    }

    /// Compose the verslag of the latest meeting for one audience and store it in that
    /// audience's compartment.
    pub(super) fn compose_verslag(&mut self, audience: String) -> Result<Vec<Update>, Error> {
        let meeting = self.meeting_id()?;
        let kind = chosen(&audience)?;
        let mut u = self.write(Write::Verslag { meeting }, &audience)?;
        u.push(Update::Notice(format!(
            "Verslag opgesteld {}: alleen wat zij allemaal mogen lezen staat erin.",
            crate::core::audience::voor(&kind)
        )));
        Ok(u)
    }

    /// Write the inzage of the open case (AVG art. 15) as a PDF and a JSON.
    pub(super) fn export_inzage(&mut self, dir: String) -> Result<Vec<Update>, Error> {
        let p = self.session.as_mut().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_ref().ok_or("geen casus open")?;
        let dir = if dir.trim().is_empty() {
            profile::export::home_dir()
        } else {
            PathBuf::from(dir.trim())
        };
        let files = p.export_inzage(case, &dir)?;
        Ok(vec![Update::Notice(format!(
            "Inzage opgeslagen: {} (om te lezen) en {} (voor een computer). Alles wat dit apparaat van de casus kan lezen, met het logboek van dit apparaat. Deze bestanden zijn niet versleuteld; bewaar en deel ze zorgvuldig.",
            files.pdf.display(),
            files.json.display()
        ))])
    }

    /// Export the verslag of the latest meeting for one audience as PDF.
    pub(super) fn export_pdf(
        &mut self,
        path: String,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        let kind = chosen(&audience)?;
        let m = self.meeting_id()?;
        let p = self.session.as_mut().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_ref().ok_or("geen casus open")?;
        let path = if path.trim().is_empty() {
            profile::export::default_pdf_path(case)
        } else {
            PathBuf::from(path.trim())
        };
        // The paper is what the chair checked on screen: the stored verslag for this
        // audience; composed now only when none was stored yet.
        let title = format!(
            "Verslag {}",
            crate::core::audience::voor_at(&kind, case.age_band(case.today()))
        );
        let (_, size) = p.export_pdf(case, Some(&m), &kind, &path)?;
        Ok(vec![Update::Notice(format!(
            "{} opgeslagen als PDF: {} ({} kB). Dit bestand is niet versleuteld; bewaar en deel het zorgvuldig.",
            title,
            path.display(),
            size.div_ceil(1024)
        ))])
    }
}
