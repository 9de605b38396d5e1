//! The meeting on the case screen: start one, notes per step, who is present, tops and tips,
//! and the verslag for one audience, stored or exported as PDF. All of it works on the latest
//! meeting, and writes through `case.rs`'s write path.

use std::path::PathBuf;

use crate::core::case::Feedback;
use crate::core::model::format_date;
use crate::profile::write::Write;
use crate::profile::{self, Error};

use super::{Backend, Update, chosen};

impl Backend {
    /// The latest meeting's id.
    /// The meeting the screens show: the one chosen in the traject, else the latest.
    fn meeting_id(&self) -> Result<String, Error> {
        let case = self.open.as_ref().ok_or("geen casus open")?;
        let all = case.meetings();
        self.meeting
            .as_ref()
            .filter(|id| all.iter().any(|m| m.data.id == **id))
            .cloned()
            .or_else(|| all.last().map(|m| m.data.id.clone()))
            .ok_or_else(|| "start eerst een overleg".into())
    }

    /// Start a meeting: date (YYYY-MM-DD), planned end (HH:MM), and for whom.
    pub(super) fn new_meeting(
        &mut self,
        date: String,
        end: String,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        let p = self.session()?;
        let date = if date.trim().is_empty() {
            format_date(p.store().today())
        } else {
            date.trim().to_string()
        };
        if end.trim().is_empty() {
            return Err("vul het geplande einde in als UU:MM, bijvoorbeeld 16:00".into());
        }
        let present = Some(p.me().person.clone());
        self.write(Write::Meeting { date, end, present }, &audience)
    }

    /// Notes at step `n` (1–6) of the latest meeting.
    pub(super) fn meeting_step(
        &mut self,
        n: usize,
        text: String,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        let meeting = self.meeting_id()?;
        self.write(
            Write::MeetingNote {
                meeting,
                step: n,
                text,
            },
            &audience,
        )
    }

    /// Mark a participant present at the latest meeting.
    pub(super) fn present(&mut self, who: String) -> Result<Vec<Update>, Error> {
        let m = self.meeting_id()?;
        self.edit(|case, _| Ok(case.meeting_present(&m, &who)?))
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
