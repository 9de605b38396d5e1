//! Destruction that reaches every copy (issue 17), once for the CLI and the app:
//!
//! * [`destroy_due`] — a professional destroys what its organisation holds in the case once the
//!   retention term has ended (`core::retention::schedule`);
//! * [`request`] — a parent with gezag or the child (the people a consent needs:
//!   `core::access::required_consenters`) asks an organisation to destroy what it holds; each of
//!   them signs the same request;
//! * [`answer`] — the organisation grants (and carries it out at once) or refuses, with the legal
//!   ground and a reason the requester reads;
//! * [`requests`] and [`tombstones`] — what a person sees, in Dutch.
//!
//! The destruction op is carried out by the store on every copy that learns of it (keys first,
//! then chunks: `store::destroy`). The rules are in `core::membership::apply`; the design and
//! what crypto-shredding cannot promise in `docs/destruction.md`.

use std::collections::BTreeSet;

use crate::core::case::Case;
use crate::core::compartment::CompartmentKind;
use crate::core::membership::{Action, DestroyGround, DestructionRequest, State};
use crate::core::model::{format_date, long_date, parse_date};
use crate::core::retention;
use crate::store::Profile;

use super::{Error, Result};

/// The days the law gives to answer a request: one month from receipt (AVG art. 12 lid 3),
/// extendable by two months with notice.
pub const ANSWER_MONTHS: u32 = 1;

fn my_org(p: &Profile) -> Result<String> {
    let me = p.me();
    if !me.role.is_professional() || me.organisation.trim().is_empty() {
        return Err(Error::Said(
            "alleen een professional van de organisatie vernietigt wat die bewaart".into(),
        ));
    }
    Ok(me.organisation.trim().to_string())
}

/// The compartments `organisation` is the controller of in this case that are not destroyed
/// yet (descriptors). With `logs` false the access logs of its professionals are left out: a
/// request destroys the dossier, not the record of who read it (NEN 7513; Besluit elektronische
/// gegevensverwerking door zorgaanbieders art. 5: log lines at least 5 years) — at the end of
/// the retention term they go with the rest.
pub fn held_by(st: &State, organisation: &str, logs: bool) -> Vec<String> {
    st.keys
        .iter()
        .filter(|(c, _)| !st.destroyed.contains_key(c))
        .filter_map(|(_, k)| CompartmentKind::parse(&k.descriptor))
        .filter(|k| logs || !matches!(k, CompartmentKind::Log(_)))
        .filter(|k| retention::owner_of(st, k).eq_ignore_ascii_case(organisation))
        .map(|k| k.descriptor())
        .collect()
}

/// What this person's organisation may destroy today because its term ended (descriptors).
pub fn due(case: &Case, p: &Profile) -> Vec<String> {
    let Ok(org) = my_org(p) else {
        return Vec::new();
    };
    let st = case.state();
    let closed = st.closed.as_ref().and_then(|c| parse_date(&c.on).ok());
    let held: BTreeSet<String> = held_by(st, &org, true).into_iter().collect();
    retention::schedule(st, closed)
        .into_iter()
        .filter(|pl| held.contains(&pl.descriptor))
        .filter(|pl| pl.destroy_on.is_some_and(|d| d <= case.today()))
        .map(|pl| pl.descriptor)
        .collect()
}

/// Destroys what this person's organisation holds in the case whose retention term has ended.
/// `exceptions`: what the organisation weighed (may be empty). Returns what was destroyed.
pub fn destroy_due(case: &mut Case, p: &Profile, exceptions: &str) -> Result<Vec<String>> {
    let org = my_org(p)?;
    let due = due(case, p);
    if due.is_empty() {
        return Err(Error::Said(
            "er is niets van uw organisatie waarvan de bewaartermijn verstreken is".into(),
        ));
    }
    case.membership(
        p.device(),
        Action::Destroy {
            organisation: org,
            compartments: due.clone(),
            ground: DestroyGround::Retention,
            exceptions: exceptions.trim().to_string(),
        },
    )?;
    Ok(due)
}

/// Asks `organisation` to destroy everything it holds about the child in this case, or signs
/// an open request to it (a second parent, the child). Returns the request id.
pub fn request(case: &mut Case, p: &Profile, organisation: &str) -> Result<String> {
    let st = case.state();
    let me = p.me().person.clone();
    let (required, _) = crate::core::access::required_consenters(st, case.today());
    if !required.contains(&me) {
        return Err(Error::Said(
            "om vernietiging vragen de ouders met gezag, en vanaf 12 jaar ook het kind zelf; vanaf 16 jaar de jongere alleen".into(),
        ));
    }
    let org = organisation.trim();
    let known = st
        .members
        .values()
        .find(|m| m.role.is_professional() && m.organisation.trim().eq_ignore_ascii_case(org))
        .map(|m| m.organisation.trim().to_string())
        .ok_or_else(|| Error::Said(format!("{org} doet niet mee aan deze casus")))?;
    let open = st
        .destruction_requests
        .values()
        .find(|r| r.organisation.eq_ignore_ascii_case(&known) && r.answer.is_none());
    if let Some(r) = open
        && r.signed.iter().any(|(s, _)| *s == me)
    {
        return Err(Error::Said(format!(
            "u heeft dit verzoek aan {known} al ondertekend"
        )));
    }
    let id = match open {
        Some(r) => r.id.clone(),
        None => format!(
            "vv-{}",
            hex::encode(mdo_crypto::random_array::<4>().map_err(Error::Crypto)?)
        ),
    };
    case.membership(
        p.device(),
        Action::RequestDestruction {
            request: id.clone(),
            organisation: known,
        },
    )?;
    Ok(id)
}

/// The organisation's answer to request `id`: granted (carried out at once: everything the
/// organisation holds in the case is destroyed, on every copy that syncs) or refused. `ground`
/// is the legal ground (for a refusal: another's substantial interest or a statutory bar, BW
/// 7:455 lid 2, Jeugdwet 7.3.9; AVG art. 17 lid 3); `reason` is what the requester reads.
pub fn answer(
    case: &mut Case,
    p: &Profile,
    id: &str,
    granted: bool,
    ground: &str,
    reason: &str,
) -> Result<Vec<String>> {
    let org = my_org(p)?;
    let st = case.state();
    let r = st
        .destruction_requests
        .get(id)
        .ok_or_else(|| Error::Said(format!("er is geen verzoek {id}")))?;
    if !r.organisation.eq_ignore_ascii_case(&org) {
        return Err(Error::Said(format!(
            "dit verzoek is aan {}, niet aan uw organisatie",
            r.organisation
        )));
    }
    if r.answer.is_some() {
        return Err(Error::Said("dit verzoek is al beantwoord".into()));
    }
    if ground.trim().is_empty() || reason.trim().is_empty() {
        return Err(Error::Said(
            "noem de wettelijke grond en schrijf op waarom; de aanvrager leest het".into(),
        ));
    }
    if granted {
        let missing = missing_signatures(st, r, case.today());
        if !missing.is_empty() {
            return Err(Error::Said(format!(
                "het verzoek mist nog de handtekening van {}",
                missing.join(", ")
            )));
        }
    }
    let held = held_by(st, &org, false);
    case.membership(
        p.device(),
        Action::AnswerDestruction {
            request: id.to_string(),
            granted,
            ground: ground.trim().to_string(),
            reason: reason.trim().to_string(),
        },
    )?;
    if !granted || held.is_empty() {
        return Ok(Vec::new());
    }
    case.membership(
        p.device(),
        Action::Destroy {
            organisation: org,
            compartments: held.clone(),
            ground: DestroyGround::Request {
                request: id.to_string(),
            },
            exceptions: ground.trim().to_string(),
        },
    )?;
    Ok(held)
}

fn missing_signatures(
    st: &State,
    r: &DestructionRequest,
    today: crate::core::model::Date,
) -> Vec<String> {
    let (required, absent) = crate::core::access::required_consenters(st, today);
    required
        .into_iter()
        .filter(|p| !r.signed.iter().any(|(s, _)| s == p))
        .chain(absent)
        .collect()
}

/// One destruction request as a person reads it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestView {
    /// Request id.
    pub id: String,
    /// The organisation asked.
    pub organisation: String,
    /// Open, granted or refused, in Dutch.
    pub state: String,
    /// The whole story in plain Dutch (B1).
    pub text: String,
    /// Whether this person can sign it now.
    pub can_sign: bool,
    /// Whether this person can answer it (a professional of the organisation, not answered).
    pub can_answer: bool,
}

fn name_of(case: &Case, id: &str) -> String {
    case.participants()
        .into_iter()
        .find(|x| x.id == id)
        .map(|x| x.name)
        .unwrap_or_else(|| id.to_string())
}

/// Every destruction request of the case, as this person reads it.
pub fn requests(case: &Case, p: &Profile) -> Vec<RequestView> {
    let st = case.state();
    let me = &p.me().person;
    let my_org = p.me().organisation.trim().to_string();
    let professional = p.me().role.is_professional();
    let (required, _) = crate::core::access::required_consenters(st, case.today());
    st.destruction_requests
        .values()
        .map(|r| {
            let signers = r
                .signed
                .iter()
                .map(|(s, d)| format!("{} ({})", name_of(case, s), long_date(d)))
                .collect::<Vec<_>>()
                .join(", ");
            let missing: Vec<String> = missing_signatures(st, r, case.today())
                .iter()
                .map(|m| name_of(case, m))
                .collect();
            let (state, tail) = match &r.answer {
                None => {
                    let deadline = parse_date(&r.opened)
                        .map(|d| add_months(d, ANSWER_MONTHS))
                        .map(|d| long_date(&format_date(d)))
                        .unwrap_or_default();
                    let wait = if missing.is_empty() {
                        format!(
                            "{} moet uiterlijk {deadline} antwoorden (dat mag met twee maanden worden verlengd als zij dat laten weten).",
                            r.organisation
                        )
                    } else {
                        format!(
                            "Het verzoek is pas compleet als ook {} het ondertekent.",
                            missing.join(" en ")
                        )
                    };
                    ("open".to_string(), wait)
                }
                Some(a) if a.granted => {
                    let done = match &r.carried_out {
                        Some(d) => format!(" Vernietigd op {}.", long_date(d)),
                        None => String::new(),
                    };
                    (
                        "toegekend".to_string(),
                        format!(
                            "Toegekend op {} door {}: {} (grond: {}).{done}",
                            long_date(&a.on),
                            name_of(case, &a.by),
                            a.reason,
                            a.ground
                        ),
                    )
                }
                Some(a) => (
                    "afgewezen".to_string(),
                    format!(
                        "Afgewezen op {} door {}: {} (grond: {}).",
                        long_date(&a.on),
                        name_of(case, &a.by),
                        a.reason,
                        a.ground
                    ),
                ),
            };
            RequestView {
                id: r.id.clone(),
                organisation: r.organisation.clone(),
                state,
                text: format!(
                    "Verzoek aan {} om alles te vernietigen wat zij in deze casus over het kind bewaren. Ondertekend door {signers}. {tail}",
                    r.organisation
                ),
                can_sign: r.answer.is_none()
                    && required.contains(me)
                    && !r.signed.iter().any(|(s, _)| s == me),
                can_answer: r.answer.is_none()
                    && professional
                    && r.organisation.eq_ignore_ascii_case(&my_org),
            }
        })
        .collect()
}

/// What was destroyed, one line per decision, in Dutch. The parts are named only to the
/// organisation's own professionals: for anyone else a part's name can be what was kept from
/// them (a safety track; same decision as the retention schedule, docs/sharing-rules.md §6a).
pub fn tombstones(case: &Case, p: &Profile) -> Vec<String> {
    let st = case.state();
    let my_org = p.me().organisation.trim().to_string();
    let professional = p.me().role.is_professional();
    let mut groups: Vec<((String, String, String, Option<String>), Vec<String>)> = Vec::new();
    for t in st.destroyed.values() {
        let key = (
            t.organisation.clone(),
            t.on.clone(),
            t.by.clone(),
            t.request.clone(),
        );
        let part = super::retention::part_label(case, &t.descriptor);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(part),
            None => groups.push((key, vec![part])),
        }
    }
    groups
        .into_iter()
        .map(|((org, on, by, request), parts)| {
            let why = match request {
                Some(r) => format!("op verzoek ({r})"),
                None => "omdat de bewaartermijn voorbij was".to_string(),
            };
            let what = if professional && org.eq_ignore_ascii_case(&my_org) {
                parts.join("; ")
            } else if parts.len() == 1 {
                "1 deel".to_string()
            } else {
                format!("{} delen", parts.len())
            };
            format!(
                "Vernietigd op {} door {} ({}), {why}: {what}. Op elk apparaat dat daarna synchroniseert zijn de sleutels en de tekst gewist.",
                long_date(&on),
                org,
                name_of(case, &by)
            )
        })
        .collect()
}

/// `d` plus whole months (the last day of a shorter month where needed).
pub fn add_months(d: crate::core::model::Date, months: u32) -> crate::core::model::Date {
    let total = d.month() as u32 - 1 + months;
    let year = d.year() + (total / 12) as i32;
    let month = time::Month::try_from((total % 12 + 1) as u8).unwrap_or(d.month());
    let mut day = d.day();
    loop {
        if let Ok(x) = crate::core::model::Date::from_calendar_date(year, month, day) {
            return x;
        }
        if day <= 28 {
            return d;
        }
        day -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::add_months;
    use time::macros::date;

    #[test]
    fn a_month_later_is_the_same_day_or_the_last_of_a_shorter_month() {
        assert_eq!(add_months(date!(2026 - 11 - 29), 1), date!(2026 - 12 - 29));
        assert_eq!(add_months(date!(2026 - 12 - 15), 1), date!(2027 - 01 - 15));
        assert_eq!(add_months(date!(2027 - 01 - 31), 1), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2027 - 01 - 31), 3), date!(2027 - 04 - 30));
    }
}
