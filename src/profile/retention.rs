//! Closing a case and retention per controller (issue 17), once for the CLI and the app:
//! closing and reopening (the chair or a co-chair, with a reason), an organisation's own
//! retention term (one of its professionals, never below the law's minimum), and the schedule —
//! what will be destroyed when, in Dutch. The rules are in `core::retention` and
//! `core::membership`; the sources in `docs/retention-sources.md`.

use crate::core::case::Case;
use crate::core::membership::Action;
use crate::core::model::{long_date, parse_date};
use crate::core::retention::{self, Clock, Planned};
use crate::store::Profile;

use super::traject::chair_only;
use super::{Error, Result};

/// Closes the case: the retention terms run from today. The chair or a co-chair; a reason is
/// required (it is shown to everyone in the case).
pub fn close(case: &mut Case, p: &Profile, reason: &str) -> Result<()> {
    chair_only(case, "de casus afsluiten")?;
    if reason.trim().is_empty() {
        return Err(Error::Said(
            "schrijf op waarom de casus wordt afgesloten".into(),
        ));
    }
    if case.state().closed.is_some() {
        return Err(Error::Said("de casus is al afgesloten".into()));
    }
    case.membership(
        p.device(),
        Action::Close {
            reason: reason.trim().to_string(),
        },
    )?;
    Ok(())
}

/// Reopens a closed case (the chair or a co-chair, with a reason): the terms start again at the
/// next closing.
pub fn reopen(case: &mut Case, p: &Profile, reason: &str) -> Result<()> {
    chair_only(case, "de casus heropenen")?;
    if reason.trim().is_empty() {
        return Err(Error::Said(
            "schrijf op waarom de casus weer opengaat".into(),
        ));
    }
    if case.state().closed.is_none() {
        return Err(Error::Said("de casus is niet afgesloten".into()));
    }
    case.membership(
        p.device(),
        Action::Reopen {
            reason: reason.trim().to_string(),
        },
    )?;
    Ok(())
}

/// Sets this person's organisation's own retention term for what it holds in the case: years
/// after the clock's start, with a reason. Only a professional of that organisation; never below
/// the law's minimum (20 years for a WGBO or Jeugdwet dossier).
pub fn set_term(case: &mut Case, p: &Profile, years: u32, reason: &str) -> Result<()> {
    let me = p.me();
    if !me.role.is_professional() || me.organisation.trim().is_empty() {
        return Err(Error::Said(
            "alleen een professional stelt de bewaartermijn van de eigen organisatie in".into(),
        ));
    }
    if reason.trim().is_empty() {
        return Err(Error::Said(
            "schrijf op waarom uw organisatie deze termijn kiest".into(),
        ));
    }
    if years > 100 {
        return Err(Error::Said(
            "een bewaartermijn is hoogstens 100 jaar".into(),
        ));
    }
    if let Some(min) = retention::controller_of(case.state(), &me.organisation)
        .and_then(retention::Controller::statutory_minimum)
        && years < min
    {
        return Err(Error::Said(format!(
            "de wet schrijft voor dit dossier minstens {min} jaar voor (WGBO art. 7:454 lid 3, Jeugdwet art. 7.3.8 lid 3)"
        )));
    }
    case.membership(
        p.device(),
        Action::SetRetention {
            organisation: me.organisation.trim().to_string(),
            years,
            reason: reason.trim().to_string(),
        },
    )?;
    Ok(())
}

/// The schedule of a case as this device shows it: every part it can read, with its controller,
/// term and date. Parts it cannot read are left out — their very name can be what is kept from
/// this reader (a school's safety track from the parents; AVG art. 23, UAVG art. 41); each
/// organisation's own devices show its parts.
pub fn schedule(case: &Case) -> Vec<Planned> {
    let st = case.state();
    let closed = st.closed.as_ref().and_then(|c| parse_date(&c.on).ok());
    let access = case.access();
    let mine = |descriptor: &str| {
        crate::core::compartment::CompartmentKind::parse(descriptor)
            .map(|k| {
                access
                    .reader_devices(st, k.id(case.id))
                    .contains(&case.device())
            })
            .unwrap_or(false)
    };
    retention::schedule(st, closed)
        .into_iter()
        .filter(|p| mine(&p.descriptor))
        .collect()
}

/// The schedule in Dutch, one line per organisation and term (the parts it covers named in the
/// line), the soonest first: "OBS De Wilgen (school): 2 jaar na het afsluiten — vernietigd op
/// 29 november 2028: wat zichtbaar is voor professionals en ouders, interne notities van OBS De
/// Wilgen, … Bron: …".
pub fn lines(case: &Case) -> Vec<String> {
    let plan = schedule(case);
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for p in &plan {
        let head = term_text(case, p);
        let part = part_label(case, &p.descriptor);
        match groups.iter_mut().find(|(h, _)| *h == head) {
            Some((_, parts)) => parts.push(part),
            None => groups.push((head, vec![part])),
        }
    }
    groups
        .into_iter()
        .map(|(head, parts)| {
            let (what, source) = match head.split_once(". Bron: ") {
                Some((w, s)) => (w.to_string(), format!(" Bron: {s}")),
                None => (head.clone(), String::new()),
            };
            let parts = parts
                .iter()
                .enumerate()
                .map(|(i, p)| if i == 0 { p.clone() } else { lower_first(p) })
                .collect::<Vec<_>>()
                .join("; ");
            format!("{what}. {parts}.{source}")
        })
        .collect()
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// One line of the schedule in Dutch, for a person: "Interne notities van GGD JGZ (zorgverlener
/// (WGBO)): 20 jaar na het afsluiten — vernietigd op 29 november 2046. Bron: …".
pub fn line(case: &Case, p: &Planned) -> String {
    format!(
        "{} — {}",
        part_label(case, &p.descriptor),
        term_text(case, p)
    )
}

/// Whose a part is and its term, in Dutch: "OBS De Wilgen (school): 2 jaar na het afsluiten —
/// vernietigd op 29 november 2028. Bron: …".
fn term_text(case: &Case, p: &Planned) -> String {
    let whose = match (&p.controller, p.organisation.as_str()) {
        (_, "") => "geen organisatie: blijft bij wie het schreef".to_string(),
        (Some(c), o) => format!("{o} ({})", c.label()),
        (None, o) => o.to_string(),
    };
    let term = match &p.term {
        None if p.organisation.is_empty() => String::new(),
        None => ": geen termijn ingesteld — de organisatie stelt die vast (selectielijst of eigen regels); tot dan wordt niets vanzelf vernietigd".to_string(),
        Some(t) => {
            let when = match (t.years, t.clock) {
                (0, Clock::Closing) => "bij het afsluiten".to_string(),
                (y, Clock::Closing) => format!("{y} jaar na het afsluiten"),
                (y, Clock::Majority) => format!("{y} jaar na het 18e jaar van het kind"),
            };
            let date = match p.destroy_on {
                Some(d) => format!(" — vernietigd op {}", long_date(&crate::core::model::format_date(d))),
                None if case.state().closed.is_none() => {
                    " — de termijn begint als de casus wordt afgesloten".to_string()
                }
                None => String::new(),
            };
            format!(": {when}{date}. Bron: {}", t.source)
        }
    };
    format!("{whose}{term}")
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A part of the case in words, for a person: "Wat zichtbaar is voor professionals en ouders",
/// "Interne notities van GGD JGZ", "Eigen aantekeningen van Monique de Vries".
pub fn part_label(case: &Case, descriptor: &str) -> String {
    use crate::core::compartment::CompartmentKind as K;
    match K::parse(descriptor) {
        Some(K::Shared(a)) => format!("Wat zichtbaar is voor {}", a.label()),
        Some(K::Organisation(o)) => format!("Interne notities van {o}"),
        Some(K::Category(c, o)) => format!("{} van {o}", capital(c.label())),
        Some(K::Safety(o)) => format!("Veiligheidsspoor van {o}"),
        Some(K::Log(person)) => format!(
            "Wie heeft wat gelezen of gewijzigd: {}",
            case.participants()
                .into_iter()
                .find(|x| x.id == person)
                .map(|x| x.name)
                .unwrap_or_else(|| "een deelnemer".into())
        ),
        Some(K::Author(person)) => format!(
            "Eigen aantekeningen van {}",
            case.participants()
                .into_iter()
                .find(|x| x.id == person)
                .map(|x| x.name)
                .unwrap_or_else(|| "een deelnemer".into())
        ),
        None => descriptor.to_string(),
    }
}
