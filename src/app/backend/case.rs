//! The case screen's writes and edits: items in the circles, agreements, arrows, circles,
//! questions, the needs chain, and moving an item to another audience. Here too the one write
//! path every change takes: `write` (content for a chosen audience), `edit` (a change through the
//! application layer) and `shown` (tell the node, show the case); `meeting.rs` and `sharing.rs`
//! use them as well.

use crate::app::view::{case_view, chain_section, reorder_target};
use crate::core::case::Case;
use crate::core::model::{Direction, Section};
use crate::profile::Error;
use crate::profile::write::Write;
use crate::store::Profile;

use super::{Backend, KEEP_NOTE, Update, chosen};

impl Backend {
    /// After a commit: the node is told, the screen shows the case.
    pub(super) fn shown(&mut self) -> Result<Vec<Update>, Error> {
        self.sync.pending += 1;
        if let Some(n) = &self.node {
            n.changed();
        }
        let p = self.session.as_ref().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_ref().ok_or("geen casus open")?;
        Ok(vec![
            Update::Case(Box::new(case_view(case, p.me(), self.meeting.as_deref()))),
            Update::Sync(self.sync.line()),
        ])
    }

    /// Applies `f` to the open case through the application layer (commit included), and
    /// shows the result.
    pub(super) fn edit(
        &mut self,
        f: impl FnOnce(&mut Case, &Profile) -> Result<(), Error>,
    ) -> Result<Vec<Update>, Error> {
        let p = self.session.as_mut().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_mut().ok_or("geen casus open")?;
        p.edit(case, f)?;
        self.shown()
    }

    /// Writes content for the audience chosen under *voor wie?* (the application layer's one
    /// door for content), and shows the result.
    pub(super) fn write(&mut self, w: Write, audience: &str) -> Result<Vec<Update>, Error> {
        let kind = chosen(audience)?;
        let new_meeting = matches!(w, Write::Meeting { .. });
        let p = self.session.as_mut().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_mut().ok_or("geen casus open")?;
        let written = p.write(case, w, kind)?;
        if new_meeting {
            // A new meeting of the traject is the one the screens show next.
            self.meeting = Some(written.id);
        }
        self.shown()
    }

    /// Add an item to a circle slot (`plus`, `min`, `doel`, `vraag`).
    pub(super) fn add_item(
        &mut self,
        circle: String,
        slot: String,
        text: String,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        let section = Section::parse(&format!("{circle}.{slot}"))?;
        self.write(
            Write::Item {
                section,
                text,
                parent: None,
                by: None,
                withhold: self.withhold(&audience),
            },
            &audience,
        )
    }

    /// Change an item's text.
    pub(super) fn edit_item(&mut self, id: String, text: String) -> Result<Vec<Update>, Error> {
        self.edit(|case, _| Ok(case.edit_item(&id, &text)?))
    }

    /// Remove an item.
    pub(super) fn remove_item(&mut self, id: String) -> Result<Vec<Update>, Error> {
        self.edit(|case, _| Ok(case.remove_item(&id)?))
    }

    /// Add an agreement, agreed at the meeting shown (if any).
    pub(super) fn add_agreement(
        &mut self,
        mut a: crate::core::case::NewAgreement,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        a.meeting = self.meeting_id().unwrap_or_default();
        a.due = a.due.trim().to_string();
        a.evaluation = a.evaluation.trim().to_string();
        if a.owner.is_empty() {
            return Err("kies wie de afspraak uitvoert".into());
        }
        self.write(Write::Agreement(a), &audience)
    }

    /// Move an item one place up or down in its field.
    pub(super) fn reorder_item(&mut self, id: String, up: bool) -> Result<Vec<Update>, Error> {
        let case = self.open.as_ref().ok_or("geen casus open")?;
        match reorder_target(case, &id, up) {
            Some(order) => self.edit(|case, _| Ok(case.reorder_item(&id, order)?)),
            None => Ok(vec![]),
        }
    }

    /// Add an arrow between circles.
    pub(super) fn add_arrow(
        &mut self,
        from: String,
        to: String,
        text: String,
        up: bool,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        self.write(
            Write::Arrow {
                from,
                to,
                text,
                direction: if up {
                    Direction::Omhoog
                } else {
                    Direction::Omlaag
                },
            },
            &audience,
        )
    }

    /// Add a circle next to kind, school and thuis (e.g. `vrije-tijd`).
    pub(super) fn add_circle(&mut self, name: String) -> Result<Vec<Update>, Error> {
        let name = name.trim().to_lowercase().replace(' ', "-");
        self.edit(|case, _| Ok(case.add_circle(&name)?))
    }

    /// Add a question around the circles (field 1).
    pub(super) fn add_question(
        &mut self,
        text: String,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        self.write(
            Write::Item {
                section: Section::Vragen,
                text,
                parent: None,
                by: None,
                withhold: self.withhold(&audience),
            },
            &audience,
        )
    }

    /// Add a step of the needs chain.
    pub(super) fn add_chain(
        &mut self,
        section: String,
        text: String,
        parent: String,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        let section = chain_section(&section)
            .ok_or_else(|| format!("'{section}' hoort niet bij de behoeftenketen"))?;
        self.write(
            Write::Chain {
                section,
                text,
                parent: Some(parent),
            },
            &audience,
        )
    }

    /// Move an item to another audience (after the user confirmed).
    pub(super) fn share_item(
        &mut self,
        id: String,
        audience: String,
    ) -> Result<Vec<Update>, Error> {
        let kind = chosen(&audience)?;
        let to = kind.clone();
        let mut u = self.edit(|case, _| Ok(case.move_item(&id, to).map(|_| ())?))?;
        u.push(Update::Notice(format!(
            "Nu zichtbaar {}. {KEEP_NOTE}",
            crate::core::audience::voor(&kind)
        )));
        Ok(u)
    }

    /// The reason and review date typed for an item in the safety track (none elsewhere: only
    /// what is kept from the parents carries them).
    fn withhold(&self, audience: &str) -> Option<crate::profile::write::Withhold> {
        audience
            .trim()
            .starts_with("safety:")
            .then(|| self.withhold.clone())
            .flatten()
    }
}
