//! Destruction that reaches every copy (issue 17), once for the CLI and the app:
//!
//! * [`destroy_due`] — a professional destroys what its organisation holds in the case once the
//!   retention term has ended (`core::retention::schedule`);
//! * [`request`] — under 12 the parents with gezag, from 12 the child
//!   (`core::access::destruction_signers`) ask an organisation to destroy what it holds; each of
//!   them signs the same request;
//! * [`answer`] — the organisation grants (and carries it out at once) or refuses, with the legal
//!   ground and a reason the requester reads;
//! * [`requests`] and [`tombstones`] — what a person sees, in Dutch.
//!
//! The destruction op is carried out by the store on every copy that learns of it (keys first,
//! then chunks: `store::destroy`). The rules are in `core::membership::apply`; the design and
//! what crypto-shredding cannot promise in `docs/destruction.md`.

use std::collections::BTreeSet;

use crate::core::case::{Case, Me};
use crate::core::compartment::CompartmentKind;
use crate::core::membership::{Action, DestroyGround, DestructionRequest, State};
use crate::core::model::{format_date, long_date, parse_date};
use crate::core::retention;
use crate::store::Profile;

use super::{Error, Result};

/// The days the law gives to answer a request: one month from receipt (AVG art. 12 lid 3),
/// extendable by two months with notice.
pub const ANSWER_MONTHS: u32 = 1;

/// The legal ground of a grant, in words.
pub const GRANT_GROUND: &str =
    "verzoek van de betrokkene (AVG art. 17 lid 1; BW art. 7:455 lid 1; Jeugdwet art. 7.3.9)";

/// The grounds on which a request may be refused, in words (BW 7:455 lid 2; Jeugdwet 7.3.9
/// lid 2; AVG art. 12 lid 5, 17 lid 3, 23 lid 1 onder i with UAVG art. 41). That the retention
/// term still runs is no ground ([`NO_GROUND`]).
pub const REFUSAL_GROUNDS: [&str; 6] = [
    "bewaren is van aanmerkelijk belang voor een ander dan het kind, bijvoorbeeld een broer, zus of ouder (BW art. 7:455 lid 2; Jeugdwet art. 7.3.9 lid 2)",
    "een wet verbiedt vernietigen — noem de wet in de toelichting (BW art. 7:455 lid 2; Jeugdwet art. 7.3.9 lid 2; AVG art. 17 lid 3 onder b)",
    "nodig voor een wettelijke plicht of een publieke taak van onze organisatie (AVG art. 17 lid 3 onder b)",
    "nodig voor een lopende of verwachte klacht of rechtszaak (AVG art. 17 lid 3 onder e)",
    "nodig om het kind of anderen te beschermen (AVG art. 23 lid 1 onder i; UAVG art. 41)",
    "het verzoek is kennelijk ongegrond of buitensporig (AVG art. 12 lid 5)",
];

/// What a professional reads beside a request: the running term is no ground to refuse
/// (Rechtbank Noord-Holland 21 mei 2021, ECLI:NL:RBNHO:2021:4235, for the Jeugdwet).
pub const NO_GROUND: &str = "Dat de bewaartermijn nog loopt, is geen reden om te weigeren.";

fn my_org(p: &Profile) -> Result<String> {
    org_of(p.me())
}

fn org_of(me: &Me) -> Result<String> {
    // The privacy officer advises and decides nothing (AVG art. 39).
    if !me.role.is_professional()
        || me.role == crate::core::model::Role::Privacy
        || me.organisation.trim().is_empty()
    {
        return Err(Error::Said(
            "alleen een professional van de organisatie vernietigt wat die bewaart".into(),
        ));
    }
    Ok(me.organisation.trim().to_string())
}

/// The compartments `organisation` is the controller of in this case that are not destroyed
/// yet (descriptors). For a request (`for_request`) the access logs of its professionals and the
/// MDO file shared by everyone at the table are left out: a request destroys the organisation's
/// own dossier, not the record of who read it (NEN 7513; Besluit elektronische
/// gegevensverwerking door zorgaanbieders art. 5: log lines at least 5 years) and not what other
/// organisations wrote with it — both go at the end of their terms.
pub fn held_by(st: &State, organisation: &str, for_request: bool) -> Vec<String> {
    st.keys
        .iter()
        .filter(|(c, _)| !st.destroyed.contains_key(c))
        .filter_map(|(_, k)| CompartmentKind::parse(&k.descriptor))
        .filter(|k| {
            !for_request || !matches!(k, CompartmentKind::Log(_) | CompartmentKind::Shared(_))
        })
        .filter(|k| retention::owner_of(st, k) == organisation)
        .map(|k| k.descriptor())
        .collect()
}

fn is_medical_part(descriptor: &str) -> bool {
    matches!(
        CompartmentKind::parse(descriptor),
        Some(CompartmentKind::Category(c, _)) if c.needs_release()
    )
}

/// What this person's organisation may destroy today because its term ended (descriptors).
pub fn due(case: &Case, me: &Me) -> Vec<String> {
    let Ok(org) = org_of(me) else {
        return Vec::new();
    };
    let st = case.state();
    let closed = st.closed.as_ref().and_then(|c| parse_date(&c.on).ok());
    // Medical and GGZ parts are destroyed by a medical professional (BW 7:455): not offered to
    // anyone else.
    let held: BTreeSet<String> = held_by(st, &org, false)
        .into_iter()
        .filter(|d| me.role.is_medical() || !is_medical_part(d))
        .collect();
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
    let due = due(case, p.me());
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
    let (required, _) = crate::core::access::destruction_signers(st, case.today());
    if !required.contains(&me) {
        return Err(Error::Said(
            "om vernietiging vragen de ouders met gezag zolang het kind jonger is dan 12; vanaf 12 jaar vraagt het kind het zelf".into(),
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
        .find(|r| r.organisation == known && r.answer.is_none());
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
    if r.organisation != org {
        return Err(Error::Said(format!(
            "dit verzoek is aan {}, niet aan uw organisatie",
            r.organisation
        )));
    }
    if r.answer.is_some() {
        return Err(Error::Said("dit verzoek is al beantwoord".into()));
    }
    // A grant's ground is the request itself unless another is named.
    let ground = if granted && ground.trim().is_empty() {
        GRANT_GROUND
    } else {
        ground
    };
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
    let held = held_by(st, &org, true);
    // Everything the grant must carry out is checked before the answer is written: a grant is
    // never recorded without its destruction.
    if granted && !p.me().role.is_medical() && held.iter().any(|d| is_medical_part(d)) {
        return Err(Error::Said(
            "uw organisatie bewaart hier medische gegevens: een arts of andere medisch professional van uw organisatie beantwoordt dit verzoek (BW art. 7:455)".into(),
        ));
    }
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
    let (required, absent) = crate::core::access::destruction_signers(st, today);
    required
        .into_iter()
        .filter(|p| !r.signed.iter().any(|(s, _)| s == p))
        .chain(absent)
        .collect()
}

/// One destruction request as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
    if !case.state().members.contains_key(id) {
        // Not a participant id: already words (who is still missing, in Dutch).
        return id.to_string();
    }
    case.participants()
        .into_iter()
        .find(|x| x.id == id)
        .map(|x| x.name)
        .or_else(|| {
            case.state()
                .members
                .get(id)
                .map(|m| m.role.label().to_string())
        })
        .unwrap_or_else(|| "een deelnemer".into())
}

/// The organisations this person may ask for destruction (none if their signature is not one
/// a request needs).
pub fn request_orgs(case: &Case, me: &Me) -> Vec<String> {
    let st = case.state();
    let (required, _) = crate::core::access::destruction_signers(st, case.today());
    if !required.contains(&me.person) {
        return Vec::new();
    }
    let mut orgs: Vec<String> = st
        .members
        .values()
        .filter(|m| m.is_active() && m.role.is_professional() && !m.organisation.trim().is_empty())
        .map(|m| m.organisation.trim().to_string())
        .collect();
    orgs.sort();
    orgs.dedup();
    orgs
}

/// Every destruction request of the case, as this person reads it.
pub fn requests(case: &Case, who: &Me) -> Vec<RequestView> {
    let st = case.state();
    let me = &who.person;
    let my_org = who.organisation.trim().to_string();
    let professional = who.role.is_professional();
    let (required, _) = crate::core::access::destruction_signers(st, case.today());
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
            let deadline = parse_date(&r.opened)
                .map(|d| add_months(d, ANSWER_MONTHS))
                .map(|d| long_date(&format_date(d)))
                .unwrap_or_default();
            let (state, tail) = match &r.answer {
                None => {
                    let mut wait = format!(
                        "{} moet uiterlijk {deadline} antwoorden. Is het verzoek ingewikkeld, dan mag {} dit met hoogstens twee maanden verlengen; dat moeten zij vóór {deadline} laten weten, met de reden.",
                        r.organisation, r.organisation
                    );
                    if !missing.is_empty() {
                        wait.push_str(&format!(
                            " Het verzoek is pas compleet als ook {} het ondertekent.",
                            missing.join(" en ")
                        ));
                    }
                    if professional && r.organisation == my_org {
                        wait.push(' ');
                        wait.push_str(NO_GROUND);
                    }
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
                        "Afgewezen op {} door {}: {} (grond: {}). Bent u het er niet mee eens? U kunt een klacht indienen bij de Autoriteit Persoonsgegevens of naar de rechter gaan (AVG art. 12 lid 4).",
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
                    "Verzoek aan {} om te vernietigen wat zij zelf in deze casus over het kind bewaren (het gezamenlijke MDO-dossier en het logboek blijven tot hun bewaartermijn voorbij is). Ondertekend door {signers}. {tail}",
                    r.organisation
                ),
                can_sign: r.answer.is_none()
                    && required.contains(me)
                    && !r.signed.iter().any(|(s, _)| s == me),
                can_answer: r.answer.is_none()
                    && professional
                    && who.role != crate::core::model::Role::Privacy
                    && r.organisation == my_org,
            }
        })
        .collect()
}

/// What was destroyed, one line per decision, in Dutch. The parts are named only to the
/// organisation's own professionals: for anyone else a part's name can be what was kept from
/// them (a safety track; same decision as the retention schedule, docs/sharing-rules.md §6a).
pub fn tombstones(case: &Case, me: &Me) -> Vec<String> {
    let st = case.state();
    let my_org = me.organisation.trim().to_string();
    let professional = me.role.is_professional();
    // (organisation, date, who decided, on a request) → the parts.
    type Decision = (String, String, String, bool);
    let mut groups: Vec<(Decision, Vec<String>)> = Vec::new();
    for t in st.destroyed.values() {
        let key = (
            t.organisation.clone(),
            t.on.clone(),
            t.by.clone(),
            t.request.is_some(),
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
            let why = if request {
                "op verzoek"
            } else {
                "omdat de bewaartermijn voorbij was"
            };
            let what = if professional && org == my_org {
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
