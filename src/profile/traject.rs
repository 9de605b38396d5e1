//! The traject's flows, once for the CLI and the app: presence (corrected, or absent with
//! input), closing a meeting, an agreement's status with its note, the support route's phase
//! and records, the verslag set as final (only the chair or a co-chair) and the views of parents
//! and the young person on it, and the writer's drafts.
//!
//! Who may do what (`docs/sharing-rules.md` §12):
//! * closing a meeting, setting a verslag as final and changing the support-route phase: the
//!   chair or a co-chair (seed 002: the chair leads the meeting and its report);
//! * a view on a verslag or an answer on an OPP: the person themselves (a parent, a voogd, the
//!   child or young person), or the chair on their behalf, saying how it was given; never
//!   another participant (seed 000:15: "Het is belangrijk dat jij je mening kunt geven");
//! * drafts: only in the writer's own compartment, never in a shared one.

use crate::core::case::Case;
use crate::core::case::Me;
use crate::core::compartment::CompartmentKind;
use crate::core::doc::Answer;
use crate::core::model::{AgreementStatus, Agrees, Role, SupportPhase, format_date};

use super::{Error, Result};

/// Refuses unless this device's participant chairs the case (chair or co-chair).
pub fn chair_only(case: &Case, what: &str) -> Result<()> {
    match case.my_member() {
        Some(m) if m.admin => Ok(()),
        _ => Err(Error::Said(format!(
            "alleen de voorzitter (of een tweede voorzitter) kan {what}"
        ))),
    }
}

/// Marks `who` present at `meeting`, or not present (a correction).
pub fn presence(case: &mut Case, meeting: &str, who: &str, present: bool) -> Result<()> {
    known(case, who)?;
    case.set_present(meeting, who, present)?;
    Ok(())
}

/// What `who`, absent, gave beforehand (empty: none). Marks them not present. The chair writes
/// it down (it is printed in the verslag under their name).
pub fn absent_with_input(case: &mut Case, meeting: &str, who: &str, input: &str) -> Result<()> {
    chair_only(case, "de inbreng van wie afwezig is vastleggen")?;
    known(case, who)?;
    case.set_present(meeting, who, false)?;
    case.set_input(meeting, who, input)?;
    Ok(())
}

fn known(case: &Case, who: &str) -> Result<()> {
    if case.participants().iter().any(|p| p.id == who) {
        Ok(())
    } else {
        Err(Error::Said(format!(
            "'{who}' staat niet in de lijst van deelnemers"
        )))
    }
}

/// Closes a meeting (or opens it again): the chair says the record is complete.
pub fn close_meeting(case: &mut Case, meeting: &str, closed: bool) -> Result<()> {
    chair_only(case, "een overleg afsluiten")?;
    case.set_meeting_field(meeting, "closed", if closed { "ja" } else { "nee" })?;
    Ok(())
}

/// Sets an agreement's status (open, gedaan, vervallen) with a note; setting it back to open is
/// the undo. Dropping an agreement needs a reason.
pub fn agreement_status(
    case: &mut Case,
    id: &str,
    status: AgreementStatus,
    note: &str,
) -> Result<()> {
    if status == AgreementStatus::Vervallen && note.trim().is_empty() {
        return Err("schrijf kort waarom de afspraak vervalt".into());
    }
    case.edit_agreement(id, "status", status.id())?;
    case.edit_agreement(id, "note", note.trim())?;
    Ok(())
}

/// Changes the support-route phase, kept in its history.
pub fn change_phase(case: &mut Case, me: &Me, phase: SupportPhase, note: &str) -> Result<()> {
    chair_only(case, "de fase van de ondersteuningsroute veranderen")?;
    if case.info().phase == phase.id() {
        return Err(Error::Said(format!(
            "de casus is al in fase '{}'",
            phase.label()
        )));
    }
    case.change_phase(phase, &me.person, note)?;
    Ok(())
}

/// Who records whose answer: oneself, or the chair on behalf of a person whose answer counts.
fn on_behalf(case: &Case, me: &Me, person: &str) -> Result<String> {
    let me = &me.person;
    let role = case
        .state()
        .members
        .get(person)
        .map(|m| m.role)
        .ok_or_else(|| Error::Said(format!("'{person}' staat niet in de lijst van deelnemers")))?;
    if !matches!(
        role,
        Role::Ouder | Role::Voogd | Role::Kind | Role::Pleegouder
    ) {
        return Err("alleen ouders, een voogd of pleegouder en het kind of de jongere geven hier hun mening".into());
    }
    if person == me {
        return Ok(String::new());
    }
    chair_only(case, "de mening van iemand anders vastleggen")?;
    let name = case
        .participants()
        .into_iter()
        .find(|p| p.id == person)
        .map(|p| p.name)
        .unwrap_or_else(|| "deze deelnemer".into());
    Ok(format!("vastgelegd door de voorzitter namens {name}"))
}

/// A parent's or the young person's view on the verslag of `meeting` for `kind`, and whether
/// they agree with the plan. The verslag must be set as final first.
#[allow(clippy::too_many_arguments)]
pub fn view(
    case: &mut Case,
    me: &Me,
    meeting: &str,
    kind: &CompartmentKind,
    person: &str,
    agrees: Agrees,
    text: &str,
) -> Result<()> {
    let how = on_behalf(case, me, person)?;
    let st = case.verslag_status(meeting, kind);
    own_answer_stays(st.views.get(person), person, &me.person)?;
    if st.vastgesteld_by.is_empty() {
        return Err(
            "uw reactie komt onder het vastgestelde verslag; de voorzitter stelt het eerst vast"
                .into(),
        );
    }
    let a = answer(case, me, agrees, text, &how);
    case.set_view(meeting, kind, person, &a)?;
    Ok(())
}

/// Sets the verslag of `meeting` for `kind` as final (vastgesteld): only the chair, and only a
/// verslag that was composed.
pub fn vaststellen(case: &mut Case, me: &Me, meeting: &str, kind: &CompartmentKind) -> Result<()> {
    chair_only(case, "het verslag vaststellen")?;
    if !case
        .verslagen()
        .iter()
        .any(|v| v.data.meeting == meeting && &v.kind == kind)
    {
        return Err("stel eerst het verslag op voor deze groep".into());
    }
    if !case.verslag_status(meeting, kind).vastgesteld_by.is_empty() {
        return Err("dit verslag is al vastgesteld".into());
    }
    case.set_vastgesteld(meeting, kind, &me.person)?;
    Ok(())
}

/// An answer on a route record: the parents' instemming with an OPP's handelingsdeel (WPO art.
/// 40a), by the parent themselves or the chair on their behalf.
pub fn answer_route(
    case: &mut Case,
    me: &Me,
    id: &str,
    person: &str,
    agrees: Agrees,
    text: &str,
) -> Result<()> {
    let how = on_behalf(case, me, person)?;
    let role = case.state().members.get(person).map(|m| m.role);
    if !role.is_some_and(Role::gives_consent) {
        return Err(
            "instemming met een OPP geven de ouders met gezag, een voogd of de jongere".into(),
        );
    }
    let earlier = case
        .routes()
        .into_iter()
        .find(|r| r.data.id == id)
        .and_then(|r| r.data.answers.get(person).cloned());
    own_answer_stays(earlier.as_ref(), person, &me.person)?;
    let a = answer(case, me, agrees, text, &how);
    case.answer_route(id, person, &a)?;
    Ok(())
}

/// The answer `me` records, today, in the person's words (and, when the chair records it, saying
/// so).
fn answer(case: &Case, me: &Me, agrees: Agrees, text: &str, how: &str) -> Answer {
    let text = text.trim();
    Answer {
        agrees,
        on: format_date(case.today()),
        text: match (text.is_empty(), how.is_empty()) {
            (_, true) => text.to_string(),
            (true, false) => format!("({how})"),
            (false, false) => format!("{text} ({how})"),
        },
        by: me.person.clone(),
    }
}

/// An answer a person gave themselves is changed only by them, not by the chair on their behalf.
fn own_answer_stays(earlier: Option<&Answer>, person: &str, me: &str) -> Result<()> {
    match earlier {
        Some(a) if a.by == person && me != person => Err(
            "deze persoon gaf zelf al een antwoord; alleen zij of hij kan het veranderen".into(),
        ),
        _ => Ok(()),
    }
}

/// Keeps what this person typed and did not save yet, in their own compartment only.
pub fn save_draft(case: &mut Case, key: &str, text: &str) -> Result<()> {
    case.set_draft(key, text)?;
    Ok(())
}
