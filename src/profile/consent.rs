//! Consent records and legal bases: granting, withdrawing and reading them — one flow for the
//! command line and the app. The rules themselves (who must consent at which age, what a
//! record opens, who may record what) live in the core (`core::access`,
//! `core::membership`); this module turns a person's request into the signed op.

use crate::core::access::{self, ConsentStatus};
use crate::core::case::{Case, new_id};
use crate::core::membership::{Action, AnswerState, Basis, ConsentRecord, ConsentSpec, Recipient};
use crate::core::model::{ConsentCategory, ConsentHow, LegalGround, format_date, parse_date};
use crate::store::Profile;

use super::{Error, Result};

/// What is being granted: categories to recipients for a period.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The information categories.
    pub categories: Vec<ConsentCategory>,
    /// Recipients: participant ids, roles (`role:jeugdarts` or `jeugdarts`), organisations
    /// (`org:GGD`).
    pub recipients: Vec<String>,
    /// The source: the organisations whose information it opens (required for every category
    /// but `dossier`).
    pub sources: Vec<String>,
    /// First valid day (`YYYY-MM-DD`; default today).
    pub from: Option<String>,
    /// Last valid day (`YYYY-MM-DD`).
    pub until: String,
    /// The purpose, in words.
    pub purpose: String,
}

/// The people whose consent the age rules require today: parents with gezag, and the child
/// from 12 (the young person alone from 16) — `core::access::required_consenters`.
pub fn required(case: &Case) -> Vec<String> {
    let (parents, children) = access::required_consenters(case.state(), case.today());
    parents.into_iter().chain(children).collect()
}

/// Whose consent the app's form records with the record: a parent or the child their own (and
/// only their own: the core refuses a record in another person's name); a professional only
/// the question — each person's answer is then its own act ([`acts`]: "Ja namens …").
pub fn consenters_for(me: &crate::core::case::Me) -> Vec<String> {
    if me.role.is_professional() {
        Vec::new()
    } else {
        vec![me.person.clone()]
    }
}

fn spec(case: &Case, basis: Basis, g: Grant) -> Result<ConsentSpec> {
    if g.categories.is_empty() {
        return Err("kies welke soort informatie gedeeld mag worden".into());
    }
    parse_date(g.until.trim())?;
    if let Some(f) = &g.from {
        parse_date(f.trim())?;
    }
    let members = &case.state().members;
    let recipients = g
        .recipients
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .map(|r| Recipient::parse(r, members).map_err(Error::Said))
        .collect::<Result<Vec<_>>>()?;
    if recipients.is_empty() {
        return Err("kies met wie de informatie gedeeld mag worden".into());
    }
    let sources: Vec<String> = g
        .sources
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if sources.is_empty() && g.categories.iter().any(|c| *c != ConsentCategory::Dossier) {
        return Err("noem van welke organisatie de informatie komt (de bron), bijvoorbeeld GGD JGZ: een toestemming geldt alleen voor de informatie van die organisatie".into());
    }
    Ok(ConsentSpec {
        id: new_id()?,
        basis,
        purpose: g.purpose.trim().to_string(),
        categories: g.categories,
        recipients,
        sources,
        from: g
            .from
            .map(|f| f.trim().to_string())
            .unwrap_or_else(|| format_date(case.today())),
        until: g.until.trim().to_string(),
    })
}

/// Records the question whether `organisation` may join the MDO: a consent for the MDO file
/// (`dossier`) naming that organisation, for a year, which each parent (and the child from 12)
/// then answers in their own act (seed 000:17, 000:25). Returns the record's id.
pub fn ask_table(case: &mut Case, p: &Profile, organisation: &str) -> Result<String> {
    let org = organisation.trim();
    if org.is_empty() {
        return Err("vul de organisatie in die mee wil doen".into());
    }
    let today = case.today();
    let until = today
        .replace_year(today.year() + 1)
        .unwrap_or(today + time::Duration::days(365));
    let child = case.info().child.clone();
    let (id, _) = grant(
        case,
        p,
        Vec::new(),
        ConsentHow::Oral,
        Grant {
            categories: vec![ConsentCategory::Dossier],
            recipients: vec![format!("org:{org}")],
            sources: Vec::new(),
            from: None,
            until: format_date(until),
            purpose: format!("{org} doet mee aan het MDO over {child}"),
        },
    )?;
    Ok(id)
}

/// Records a consent record and the answers of `consenters`, each as their own signed act.
///
/// A parent or the child records their own consent (one op naming them). A professional records
/// the question (what, to whom, from which source, what for) and then, for each person named,
/// that person's answer given in the way `how` — one op per person, so a later refusal or
/// withdrawal of one does not rewrite the others' acts. With nobody named the question waits for
/// each person's own answer ([`answer`]). Returns the record's id and its status today (a record
/// waiting for another parent is not yet active: the caller says what is still missing).
pub fn grant(
    case: &mut Case,
    p: &Profile,
    consenters: Vec<String>,
    how: ConsentHow,
    g: Grant,
) -> Result<(String, Option<ConsentStatus>)> {
    let consenters: Vec<String> = consenters
        .into_iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if g.purpose.trim().is_empty() {
        return Err("schrijf op waarvoor de toestemming is (het doel)".into());
    }
    let me = p.me().person.clone();
    let own = !p.me().role.is_professional();
    if own && consenters.iter().any(|c| *c != me) {
        return Err("u legt alleen uw eigen toestemming vast; de ander doet dat zelf (of laat het de voorzitter vastleggen)".into());
    }
    let first = if own { vec![me] } else { Vec::new() };
    let record = spec(
        case,
        Basis::Consent {
            consenters: first,
            how,
        },
        g,
    )?;
    let id = record.id.clone();
    case.membership(p.device(), Action::Grant { record })?;
    if !own {
        for c in &consenters {
            answer(case, p, &id, Some(c), true, how, "")?;
        }
    }
    let status = case
        .state()
        .consents
        .get(&id)
        .map(|rec| access::consent_status(case.state(), rec, case.today()));
    Ok((id, status))
}

/// Records one person's answer to consent record `consent`: given or refused, in the way `how`.
/// `person` defaults to the recorder (a parent or child answering on their own device); a
/// professional names the one person on whose behalf they record it.
pub fn answer(
    case: &mut Case,
    p: &Profile,
    consent: &str,
    person: Option<&str>,
    given: bool,
    how: ConsentHow,
    note: &str,
) -> Result<String> {
    if !case.state().consents.contains_key(consent) {
        return Err(Error::Said(format!(
            "er is geen toestemming '{consent}' in deze casus"
        )));
    }
    let person = person
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| p.me().person.clone());
    case.membership(
        p.device(),
        Action::Answer {
            consent: consent.to_string(),
            person: person.clone(),
            given,
            how,
            note: note.trim().to_string(),
        },
    )?;
    Ok(person)
}

/// The medical professional's release of their organisation's information under consent record
/// `consent` (WGBO art. 7:457: consent allows, the doctor decides). Logged as its own act.
pub fn release(case: &mut Case, p: &Profile, consent: &str, note: &str) -> Result<()> {
    if !case.state().consents.contains_key(consent) {
        return Err(Error::Said(format!(
            "er is geen toestemming '{consent}' in deze casus"
        )));
    }
    case.membership(
        p.device(),
        Action::Release {
            consent: consent.to_string(),
            note: note.trim().to_string(),
        },
    )?;
    Ok(())
}

/// Records sharing without consent on a legal basis, with its reasoning. The recorder decides:
/// the professional who holds the information (the core refuses a basis in another's name and
/// checks per ground what it may open to whom: `docs/sharing-rules.md` §4).
pub fn legal(
    case: &mut Case,
    p: &Profile,
    ground: LegalGround,
    reasoning: &str,
    g: Grant,
) -> Result<String> {
    if reasoning.trim().is_empty() {
        return Err("schrijf op waarom er zonder toestemming gedeeld wordt".into());
    }
    let basis = Basis::Legal {
        ground,
        reasoning: reasoning.trim().to_string(),
        decided_by: p.me().person.clone(),
    };
    let record = spec(case, basis, g)?;
    let id = record.id.clone();
    case.membership(p.device(), Action::Grant { record })?;
    Ok(id)
}

/// Whose withdrawal it is — the one rule, for the command line and the app alike:
/// the person named (`by`); else the recorder when they gave the consent or decided the legal
/// basis; else the only person who gave it (the chair records it on their behalf). When several
/// people gave it and the recorder is none of them, the recorder must say whose withdrawal it
/// is: putting it in someone's name by guess would be a false record
/// (`docs/sharing-rules.md`, decision "whose withdrawal").
pub fn withdrawer(rec: &ConsentRecord, me: &str, by: Option<&str>) -> Result<String> {
    if let Some(b) = by.map(str::trim).filter(|b| !b.is_empty()) {
        return Ok(b.to_string());
    }
    match &rec.spec.basis {
        Basis::Consent { .. } => {
            let given: Vec<&String> = rec
                .answers
                .iter()
                .filter(|(_, a)| a.state == AnswerState::Given)
                .map(|(id, _)| id)
                .collect();
            if given.iter().any(|c| *c == me) {
                Ok(me.to_string())
            } else if let [only] = given.as_slice() {
                Ok((*only).clone())
            } else if given.is_empty() {
                Err(
                    "niemand heeft deze toestemming (nog) gegeven: er is niets in te trekken"
                        .into(),
                )
            } else {
                Err("deze toestemming is door meer mensen gegeven: zeg wie hem intrekt (mdo consent withdraw --by DEELNEMER), of laat die het op het eigen apparaat doen".into())
            }
        }
        Basis::Legal { decided_by, .. } => Ok(if decided_by == me {
            me.to_string()
        } else {
            decided_by.clone()
        }),
    }
}

/// Withdraws consent record `consent` from now on (what was shared stays with its recipients;
/// nothing new reaches them). Returns whose withdrawal it was.
pub fn withdraw(
    case: &mut Case,
    p: &Profile,
    consent: &str,
    by: Option<&str>,
    note: &str,
) -> Result<String> {
    let rec =
        case.state().consents.get(consent).ok_or_else(|| {
            Error::Said(format!("er is geen toestemming '{consent}' in deze casus"))
        })?;
    let by = withdrawer(rec, &p.me().person, by)?;
    case.membership(
        p.device(),
        Action::Withdraw {
            consent: consent.to_string(),
            by: by.clone(),
            note: note.trim().to_string(),
        },
    )?;
    Ok(by)
}

/// Something a person can do with a consent record in the app: answer for someone (yes or no),
/// withdraw someone's consent (or end a legal basis), or release one's own organisation's
/// medical information. Offered only where the core would accept it, so no button leads to a
/// refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Record that this person gives consent.
    Give(String),
    /// Record that this person refuses.
    Refuse(String),
    /// Record this person's withdrawal (for a legal basis: the one who decided ends it).
    Withdraw(String),
    /// Release one's organisation's medical or GGZ information under the consent.
    Release,
}

impl Act {
    /// A stable text form for a button (`give:sanne`, `release`).
    pub fn code(&self) -> String {
        match self {
            Act::Give(p) => format!("give:{p}"),
            Act::Refuse(p) => format!("refuse:{p}"),
            Act::Withdraw(p) => format!("withdraw:{p}"),
            Act::Release => "release".into(),
        }
    }

    /// Reads [`Act::code`].
    pub fn parse(s: &str) -> Result<Act> {
        let bad = || Error::Said(format!("onbekende handeling '{s}'"));
        if s == "release" {
            return Ok(Act::Release);
        }
        let (kind, who) = s.split_once(':').ok_or_else(bad)?;
        let who = who.to_string();
        match kind {
            "give" => Ok(Act::Give(who)),
            "refuse" => Ok(Act::Refuse(who)),
            "withdraw" => Ok(Act::Withdraw(who)),
            _ => Err(bad()),
        }
    }

    /// The button's text: in the first person for one's own answer, "namens …" for another's.
    pub fn label(&self, me: &str, name: &dyn Fn(&str) -> String) -> String {
        match self {
            Act::Give(p) if p == me => "Ik geef toestemming".into(),
            Act::Refuse(p) if p == me => "Ik weiger".into(),
            Act::Withdraw(p) if p == me => "Intrekken".into(),
            Act::Give(p) => format!("Ja namens {}", name(p)),
            Act::Refuse(p) => format!("Nee namens {}", name(p)),
            Act::Withdraw(p) => format!("Intrekken namens {}", name(p)),
            Act::Release => "Vrijgeven (ik beslis als arts)".into(),
        }
    }
}

/// What the person on this device can do with record `rec` today — the same rules the core
/// applies (`membership/apply.rs`), so the app offers only what will be accepted: a parent or
/// child answers and withdraws only for themselves; a professional with base access who
/// recorded the question, chairs or holds the information answers on behalf of each person the
/// age rules require (one act per person) — never for a record that lets themselves read; the
/// medical professional of a source releases after consent.
pub fn acts(case: &Case, rec: &ConsentRecord) -> Vec<Act> {
    let st = case.state();
    let Some(me) = case.my_member() else {
        return Vec::new();
    };
    if rec.withdrawn.is_some() {
        return Vec::new();
    }
    let mut out = Vec::new();
    match &rec.spec.basis {
        Basis::Legal { decided_by, .. } => {
            if *decided_by == me.id || me.admin {
                out.push(Act::Withdraw(decided_by.clone()));
            }
        }
        Basis::Consent { .. } => {
            let family = me.role.gives_consent();
            let dossier = rec.spec.categories.contains(&ConsentCategory::Dossier);
            let on_behalf = me.role.is_professional()
                && !crate::core::audience::no_base_access(me.role)
                && (me.admin
                    || (!dossier
                        && (rec.recorded_by == me.id
                            || rec.spec.sources.contains(&me.organisation))));
            // A professional withdraws on someone's behalf only as chair or as the recorder.
            let may_withdraw_for = me.admin || rec.recorded_by == me.id;
            let people: Vec<String> = if family {
                vec![me.id.clone()]
            } else if on_behalf {
                let mut v = required(case);
                v.extend(rec.answers.keys().cloned());
                v.sort();
                v.dedup();
                v
            } else {
                Vec::new()
            };
            let self_grant = rec.spec.recipients.iter().any(|r| {
                r.covers(me)
                    || matches!(r, Recipient::Organisation(o) if me.role.is_professional() && *o == me.organisation)
            });
            for p in people {
                let own = p == me.id;
                match rec.answers.get(&p).map(|a| (a.state, a.recorded_by == p)) {
                    Some((AnswerState::Given, _)) => {
                        if own || may_withdraw_for {
                            out.push(Act::Withdraw(p));
                        }
                    }
                    Some((AnswerState::Withdrawn, _)) => {}
                    Some((AnswerState::Refused, by_themselves)) => {
                        // Their own "no" is changed only by them.
                        if own || (!self_grant && !by_themselves) {
                            out.push(Act::Give(p));
                        }
                    }
                    None => {
                        if family || !self_grant {
                            out.push(Act::Give(p.clone()));
                        }
                        out.push(Act::Refuse(p));
                    }
                }
            }
            let status = access::consent_status(st, rec, case.today());
            if me.role.is_medical()
                && status.state == access::ConsentState::Active
                && status.awaiting_release.contains(&me.organisation)
            {
                out.push(Act::Release);
            }
        }
    }
    out
}

/// Does `act` on record `consent`; `how` is how an answer was given. Returns a Dutch line for
/// the person (what happened, and what that means).
pub fn perform(
    case: &mut Case,
    p: &Profile,
    consent: &str,
    act: &Act,
    how: ConsentHow,
) -> Result<String> {
    let note = "vastgelegd in de app";
    Ok(match act {
        Act::Give(who) => {
            answer(case, p, consent, Some(who), true, how, note)?;
            let state = case
                .state()
                .consents
                .get(consent)
                .map(|r| access::consent_status(case.state(), r, case.today()));
            match state {
                Some(s) if s.state == access::ConsentState::Active => {
                    if s.awaiting_release.is_empty() {
                        "Toestemming vastgelegd; de toestemming is nu geldig. De sleutels gaan naar de ontvanger zodra die synchroniseert.".into()
                    } else {
                        format!(
                            "Toestemming vastgelegd; nu beslist {} of de informatie gedeeld wordt.",
                            s.awaiting_release.join(", ")
                        )
                    }
                }
                _ => "Toestemming vastgelegd. De toestemming geldt pas als iedereen die moet instemmen ja heeft gezegd.".into(),
            }
        }
        Act::Refuse(who) => {
            answer(case, p, consent, Some(who), false, how, note)?;
            "Weigering vastgelegd. Er wordt niets gedeeld; het team ziet dat er geweigerd is."
                .into()
        }
        Act::Withdraw(who) => {
            withdraw(case, p, consent, Some(who), note)?;
            format!("Toestemming ingetrokken. {}", super::KEEP_NOTE)
        }
        Act::Release => {
            release(case, p, consent, note)?;
            "Vrijgegeven. De ontvanger leest de informatie na de volgende synchronisatie.".into()
        }
    })
}

/// How many days ahead a 12th, 16th or 18th birthday is announced.
pub const AGE_NOTICE_DAYS: i64 = 90;

/// The changes of the age rules coming within [`AGE_NOTICE_DAYS`], in plain Dutch: at 12 the
/// child agrees too and reads the shared content by default; at 16 the young person decides
/// alone about medical and youth-care information (the parents with gezag keep reading the
/// MDO); at 18 gezag ends and the parents read new shared content only with the young adult's
/// consent (issue 14: "visible ahead of the birthday, not silently on the day"). The CLI and
/// the app show the same lines.
pub fn age_notices(case: &Case) -> Vec<String> {
    let Some(birth) = case.state().birthdate else {
        return Vec::new();
    };
    let today = case.today();
    let name = case.info().child;
    let name = if name.trim().is_empty() {
        "het kind".to_string()
    } else {
        name.split_whitespace()
            .next()
            .unwrap_or("het kind")
            .to_string()
    };
    let mut out = Vec::new();
    for age in [12, 16, 18] {
        let year = birth.year() + age;
        // A child born on 29 February has the birthday on 1 March in other years.
        let day = birth
            .replace_year(year)
            .or_else(|_| time::Date::from_calendar_date(year, time::Month::March, 1));
        let Ok(day) = day else { continue };
        let left = (day - today).whole_days();
        if !(1..=AGE_NOTICE_DAYS).contains(&left) {
            continue;
        }
        let on = crate::core::model::long_date(&format_date(day));
        out.push(match age {
            12 => format!(
                "Op {on} wordt {name} 12. Vanaf dan stemt {name} zelf mee in: elke toestemming (ook die voor het MDO en wie er meedoet) geldt pas als ook {name} ja zegt. Wat voor ouders en professionals wordt vastgelegd, is dan standaard ook voor {name}. Vraag {name} nu al."
            ),
            16 => format!(
                "Op {on} wordt {name} 16. Vanaf dan beslist {name} alleen over medische en jeugdhulpinformatie: toestemmingen daarvoor gelden alleen nog met het ja van {name}. Het MDO zelf lezen de ouders met gezag mee tot {name} 18 is; {name} leest dan ook alles wat voor ouders is. Vraag {name} nu al."
            ),
            _ => format!(
                "Op {on} wordt {name} 18. Dan eindigt het gezag: ouders lezen nieuwe stukken van het MDO alleen nog als {name} daar toestemming voor geeft (wat zij al hebben, houden zij). {name} kan die toestemming nu al geven."
            ),
        });
    }
    out
}
