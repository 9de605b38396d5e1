//! "Wie heeft wat gelezen of gewijzigd" for the whole case (issue 17; NEN 7513, AVG art. 15):
//! this device's own access log for the case, and the entries the professionals' devices shared
//! (`core::sharedlog`) that this person may read — a parent with gezag, the child from 12, the
//! young person from 16, the organisation's privacy officer, the professional's own devices. In
//! plain Dutch: who, which organisation, what part, when, why. For a child under 16 the lines
//! are shorter and speak to the child.
//!
//! What does not fit in a device's chain — a removed, rewritten or altered part — is shown as a
//! problem in words, never hidden.

use std::collections::BTreeSet;

use mdo_crypto::DeviceId;
use serde::Serialize;

use crate::core::case::Case;
use crate::core::model::{AgeBand, Role};
use crate::core::sharedlog::{Problem, SharedEntry, verify};
use crate::store::{LogEntry, Profile};

use super::Result;
use super::inzage::words;

/// One line of the log.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Unix seconds.
    pub time: i64,
    /// "29 november 2026 14:05".
    pub when: String,
    /// "Monique de Vries (intern begeleider, OBS De Wilgen)".
    pub who: String,
    /// The organisation.
    pub organisation: String,
    /// What was done, in words ("bekeken", "gewijzigd", …).
    pub what: String,
    /// The part of the case.
    pub part: String,
    /// Why they could, in words.
    pub why: String,
    /// The whole line as a sentence, for the person reading it.
    pub sentence: String,
    /// From this device's own log (else shared by another device).
    pub here: bool,
}

/// The log of the whole case as this person reads it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CaseLog {
    /// Newest first.
    pub rows: Vec<Row>,
    /// What does not fit, in words.
    pub problems: Vec<String>,
    /// The devices whose log this copy holds (besides its own).
    pub devices: usize,
}

fn verb(action: &str) -> &'static str {
    match action {
        "inzien" => "bekeken",
        "wijzigen" => "gewijzigd",
        "delen" => "toegang gegeven",
        "exporteren" => "geëxporteerd",
        "toestemming" => "toestemming vastgelegd of veranderd",
        "deelnemers" => "de deelnemers of afspraken over bewaren veranderd",
        "vernietigen" => "vernietigd",
        _ => "iets gedaan",
    }
}

fn child_verb(action: &str) -> &'static str {
    match action {
        "inzien" => "keek naar wat er over jou staat",
        "wijzigen" => "schreef of veranderde iets over jou",
        "delen" => "gaf iemand toegang",
        "exporteren" => "maakte een kopie",
        "toestemming" => "schreef een toestemming op",
        "deelnemers" => "veranderde wie meedoet",
        "vernietigen" => "wiste een deel",
        _ => "deed iets",
    }
}

fn part_words(part: &str) -> String {
    if part.is_empty() {
        "de casus".to_string()
    } else if part.starts_with("een deel ") {
        part.to_string()
    } else {
        format!("het deel ‘{part}’")
    }
}

/// Participant and consent ids in a logged text replaced by names and purposes: nothing on
/// screen is a raw id.
fn named(text: &str, case: &Case) -> String {
    let st = case.state();
    let people = case.participants();
    // Whole words only: a short id ("ib") never garbles a Dutch word.
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if st.members.contains_key(word.as_str()) {
            let name = people
                .iter()
                .find(|p| p.id == *word)
                .map(|p| p.name.clone())
                .or_else(|| {
                    st.members
                        .get(word.as_str())
                        .map(|m| m.role.label().to_string())
                })
                .unwrap_or_else(|| "een deelnemer".into());
            out.push_str(&name);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() || ch == '-' {
            word.push(ch);
        } else {
            flush(&mut word, &mut out);
            out.push(ch);
        }
    }
    flush(&mut word, &mut out);
    for (id, r) in &st.consents {
        let raw = format!("toestemming {id}");
        if out.contains(&raw) {
            out = out.replace(&raw, &format!("toestemming ‘{}’", r.spec.purpose));
        }
    }
    out
}

fn row(e: &SharedEntry, here: bool, case: &Case, child: bool) -> Row {
    let as_log = LogEntry {
        time: e.time,
        person: e.person.clone(),
        name: e.name.clone(),
        role: e.role.clone(),
        organisation: e.organisation.clone(),
        case: case.id.to_hex(),
        action: crate::store::AccessAction::View,
        compartment: e.part.clone(),
        basis: e.basis.clone(),
        detail: e.detail.clone(),
    };
    let when = words::when(&as_log);
    let who = words::who(&as_log);
    let why = words::why(&e.basis, Some(case));
    // A part that no longer exists is named by its id in this device's own log: say what it is.
    let part = if e.part.len() == 32 && e.part.bytes().all(|c| c.is_ascii_hexdigit()) {
        "een deel dat niet meer bestaat".to_string()
    } else {
        named(&e.part, case)
    };
    let detail = named(&e.detail, case);
    let day = when.rsplit_once(' ').map(|(d, _)| d).unwrap_or(&when);
    let sentence = if child {
        let org = if e.organisation.is_empty() {
            String::new()
        } else {
            format!(" ({})", e.organisation)
        };
        let because = if e.basis.starts_with("toestemming") {
            "omdat jij of je ouders toestemming gaven"
        } else if e.basis.starts_with("wettelijke grondslag") {
            "omdat de wet het toestaat"
        } else {
            "omdat die persoon meedoet aan jouw overleg"
        };
        format!(
            "{}{org} {} op {day}. Dat mocht {because}.",
            e.name,
            child_verb(&e.action)
        )
    } else {
        match e.action.as_str() {
            "inzien" | "wijzigen" => format!(
                "{who} heeft op {when} {} {} — {why}.",
                part_words(&part),
                verb(&e.action)
            ),
            "delen" => {
                let to = detail
                    .split_once("gedeeld met ")
                    .map(|(_, t)| t.to_string())
                    .unwrap_or_else(|| "iemand".into());
                format!(
                    "{who} heeft op {when} {to} toegang gegeven tot {}.",
                    part_words(&part)
                )
            }
            "exporteren" => format!(
                "{who} heeft op {when} {} geëxporteerd{}.",
                part_words(&part),
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({detail})")
                }
            ),
            _ => format!("{who} heeft op {when}: {detail}."),
        }
    };
    Row {
        time: e.time,
        when,
        who,
        organisation: e.organisation.clone(),
        what: verb(&e.action).to_string(),
        part,
        why,
        sentence,
        here,
    }
}

fn name_of_device(case: &Case, d: DeviceId) -> String {
    let st = case.state();
    st.device_owner
        .get(&d)
        .map(|id| {
            let m = st.members.get(id);
            let name = case
                .participants()
                .into_iter()
                .find(|p| &p.id == id)
                .map(|p| p.name)
                .unwrap_or_else(|| id.clone());
            match m {
                Some(m) if !m.organisation.is_empty() => format!("{name} ({})", m.organisation),
                _ => name,
            }
        })
        .unwrap_or_else(|| "een onbekend apparaat".into())
}

/// The log of the whole case as the person on this device may read it.
pub fn case_log(case: &Case, p: &Profile) -> Result<CaseLog> {
    let me = case.device();
    let child = p.me().role == Role::Kind
        && case
            .state()
            .band(case.today())
            .is_some_and(|b| b != AgeBand::Vanaf16);
    let mut out = CaseLog::default();
    match p.access_log(Some(case.id)) {
        Ok(local) => {
            for e in local {
                let shared = SharedEntry {
                    time: e.time,
                    person: e.person.clone(),
                    name: e.name.clone(),
                    role: e.role.clone(),
                    organisation: e.organisation.clone(),
                    action: e.action.label().to_string(),
                    part: e.compartment.clone(),
                    basis: e.basis.clone(),
                    detail: e.detail.clone(),
                };
                out.rows.push(row(&shared, true, case, child));
            }
        }
        Err(e) => out.problems.push(format!(
            "Het logboek op dit apparaat klopt niet meer: {e}. Meld dit bij de privacyfunctionaris."
        )),
    }
    let verified = verify(case.shared_log.clone(), case.shared_log_damaged.clone());
    let mut devices = BTreeSet::new();
    let st = case.state();
    let people = case.participants();
    for (d, _, e) in &verified.entries {
        if *d == me {
            continue; // this device's own entries come from its local log
        }
        devices.insert(*d);
        // Who it was, from the case (the batch's owner is checked on load): its role and
        // organisation as the log of the case knows them, its name as the case shows it.
        let mut e = e.clone();
        if let Some(m) = st
            .member_of(*d)
            .or_else(|| st.device_owner.get(d).and_then(|id| st.members.get(id)))
        {
            e.role = m.role.id().to_string();
            e.organisation = m.organisation.clone();
            if let Some(p) = people.iter().find(|p| p.id == m.id) {
                e.name = p.name.clone();
            }
        }
        out.rows.push(row(&e, false, case, child));
    }
    out.devices = devices.len();
    for problem in verified.problems {
        out.problems.push(match problem {
            Problem::Missing { device, from, to } => format!(
                "Uit het logboek van {} ontbreken de regels {from} tot en met {to}: die zijn ergens verwijderd.",
                name_of_device(case, device)
            ),
            Problem::Rewritten { device, seq } => format!(
                "Het logboek van {} bevat regel {seq} twee keer, verschillend: het is herschreven.",
                name_of_device(case, device)
            ),
            Problem::Altered { device, seq } => format!(
                "In het logboek van {} zijn de regels vóór regel {seq} veranderd.",
                name_of_device(case, device)
            ),
            Problem::Damaged { device, .. } => format!(
                "Een deel van het logboek van {} is veranderd of beschadigd en kan niet worden gelezen.",
                device
                    .map(|d| name_of_device(case, d))
                    .unwrap_or_else(|| "een onbekend apparaat".into())
            ),
        });
    }
    out.rows.sort_by_key(|r| std::cmp::Reverse(r.time));
    Ok(out)
}

/// One line saying whose logs are in: "Dit overzicht bevat ook wat 2 andere apparaten
/// vastlegden, tot hun laatste synchronisatie met dit apparaat."
pub fn coverage(log: &CaseLog) -> String {
    match log.devices {
        0 => "Dit overzicht bevat alleen wat op dit apparaat gebeurde; wat anderen deden komt erbij na synchroniseren.".into(),
        1 => "Dit overzicht bevat ook wat 1 ander apparaat vastlegde, tot de laatste synchronisatie.".into(),
        n => format!(
            "Dit overzicht bevat ook wat {n} andere apparaten vastlegden, tot de laatste synchronisatie."
        ),
    }
}
