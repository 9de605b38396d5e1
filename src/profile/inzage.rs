//! The inzage export (AVG art. 15; WGBO art. 7:456, Jeugdwet art. 7.3.10): everything this copy
//! holds about the child, readable on this device — the case facts, who takes part, every item,
//! agreement, arrow, meeting and support-route record with who may read it, the consent records
//! with each person's answer, the closings and the retention of every part — with this device's
//! access log (who read, changed, shared or exported what, and why), as a PDF a person can read and
//! a JSON a program can. What this device cannot read is not named either: the name of a part
//! can itself be what is kept from a reader (a school's safety track; AVG art. 23, UAVG art. 41).
//! The export itself is logged (NEN 7513).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::core::case::Case;
use crate::core::compartment::CompartmentKind;
use crate::core::model::{format_date, long_date};
use crate::store::{AccessAction, LogEntry};

use super::{Error, Result, Session};

/// The two forms of one inzage.
#[derive(Debug, Clone)]
pub struct Inzage {
    /// Machine-readable: everything, with ids and dates as stored.
    pub json: Value,
    /// Readable (Markdown, as the PDF prints it).
    pub markdown: String,
}

/// Where an inzage was written.
#[derive(Debug, Clone)]
pub struct InzageFiles {
    /// The PDF.
    pub pdf: PathBuf,
    /// The JSON.
    pub json: PathBuf,
    /// Number of items, agreements, meetings and log entries in it.
    pub counts: (usize, usize, usize, usize),
}

/// Composes the inzage of `case` as this device holds it, with this device's access log `log`.
/// `exported_by` names who asked for it; `today` is the date printed.
pub fn compose(
    case: &Case,
    log: &[LogEntry],
    others: &super::caselog::CaseLog,
    destruction: &[String],
    exported_by: &str,
    today: &str,
) -> Inzage {
    let info = case.info();
    let names: BTreeMap<String, String> = case
        .participants()
        .into_iter()
        .map(|p| (p.id.clone(), p.name))
        .collect();
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let st = case.state();
    let readable: Vec<(String, String)> = case
        .compartment_list()
        .into_iter()
        .map(|(_, k)| (k.descriptor(), k.label()))
        .collect();
    let items = case.items();
    let agreements = case.agreements();
    let arrows = case.arrows();
    let meetings = case.meetings();
    let routes = case.routes();
    let phases = case.phase_history();
    let plan = super::retention::schedule(case);
    let members: Vec<Value> = st
        .members
        .values()
        .map(|m| {
            json!({
                "id": m.id, "name": name(&m.id), "role": m.role.label(), "organisation": m.organisation,
                "custody": m.custody, "custody_unknown": m.custody_unknown, "chair": m.admin,
                "status": format!("{:?}", m.status).to_lowercase(), "devices": m.devices.len(),
            })
        })
        .collect();
    let json = json!({
        "inzage": {
            "made": today,
            "by": exported_by,
            "law": "AVG art. 15; WGBO art. 7:456; Jeugdwet art. 7.3.10",
            "scope": "alles wat dit apparaat van deze casus kan lezen, en het logboek van dit apparaat",
        },
        "case": info,
        "closed": st.closed,
        "closings": st.closings.iter().map(|(on, by, what, why)| json!({"on": on, "by": name(by), "what": what, "reason": why})).collect::<Vec<_>>(),
        "participants": members,
        "readable_parts": readable.iter().map(|(d, l)| json!({"compartment": d, "label": l})).collect::<Vec<_>>(),
        "items": items,
        "agreements": agreements,
        "arrows": arrows,
        "meetings": meetings,
        "support_route": routes,
        "phase_history": phases,
        "consents": st.consents.values().collect::<Vec<_>>(),
        "retention": plan,
        "access_log": log,
        // What the professionals' devices shared of their logs (issue 17), as this person may
        // read it, with what does not fit in their chains.
        "access_log_others": others.rows.iter().filter(|r| !r.here).collect::<Vec<_>>(),
        "access_log_problems": others.problems,
        "destruction": destruction,
    });

    // The readable form.
    let mut md = format!("# Inzage: {}\n\n", info.child);
    md.push_str(&format!(
        "Gemaakt op {} voor {exported_by}. Dit is alles wat dit apparaat van de casus kan lezen, met het logboek van dit apparaat (AVG art. 15). Andere deelnemers bewaren hun eigen kopie; vraag hen om hun inzage.\n\n",
        long_date(today)
    ));
    md.push_str("## De casus\n\n");
    md.push_str(&format!("- Kind: {}\n", info.child));
    if !info.birthdate.is_empty() {
        md.push_str(&format!(
            "- Geboortedatum: {}\n",
            long_date(&info.birthdate)
        ));
    }
    if !info.school.is_empty() {
        md.push_str(&format!("- School: {} {}\n", info.school, info.class));
    }
    match &st.closed {
        Some(c) => md.push_str(&format!(
            "- Afgesloten op {} door {}: {}\n",
            long_date(&c.on),
            name(&c.by),
            c.reason
        )),
        None => md.push_str("- De casus loopt.\n"),
    }
    md.push_str("\n## Wie doen er mee\n\n");
    for m in st.members.values() {
        md.push_str(&format!(
            "- {} — {}{}{}{}\n",
            name(&m.id),
            m.role.label(),
            if m.organisation.is_empty() {
                String::new()
            } else {
                format!(", {}", m.organisation)
            },
            if m.custody { ", met gezag" } else { "" },
            if m.is_active() { "" } else { " (niet meer)" },
        ));
    }
    md.push_str("\n## Wat er staat, en wie het kan lezen\n\n");
    let label = |d: &str| {
        CompartmentKind::parse(d)
            .map(|k| match k {
                CompartmentKind::Author(p) => format!("alleen {}", name(&p)),
                k => k.label(),
            })
            .unwrap_or_else(|| d.to_string())
    };
    for i in &items {
        md.push_str(&format!(
            "- {}: {} — geschreven door {} (zichtbaar voor {})\n",
            section_label(&i.data.section),
            i.data.text,
            name(&i.data.author),
            label(&i.compartment)
        ));
    }
    if !agreements.is_empty() {
        md.push_str("\n## Afspraken\n\n");
        for a in &agreements {
            md.push_str(&format!(
                "- {}: {} — waarom: {}; wanneer: {}; hoe: {} ({}; zichtbaar voor {})\n",
                a.data.wie,
                a.data.wat,
                a.data.waarom,
                a.data.wanneer,
                a.data.hoe,
                a.data.status.label(),
                label(&a.compartment)
            ));
        }
    }
    if !arrows.is_empty() {
        md.push_str("\n## Pijlen tussen de cirkels\n\n");
        for a in &arrows {
            md.push_str(&format!(
                "- {} → {}: {}\n",
                a.data.from, a.data.to, a.data.text
            ));
        }
    }
    if !meetings.is_empty() {
        md.push_str("\n## Overleggen\n\n");
        for m in &meetings {
            md.push_str(&format!(
                "- {} (zichtbaar voor {})\n",
                long_date(&m.data.date),
                label(&m.compartment)
            ));
        }
    }
    if !routes.is_empty() || !phases.is_empty() {
        md.push_str("\n## Ondersteuningsroute\n\n");
        for p in &phases {
            let phase = p
                .phase
                .parse::<crate::core::model::SupportPhase>()
                .map(|x| x.label().to_string())
                .unwrap_or_else(|_| p.phase.clone());
            md.push_str(&format!("- {}: fase {phase}\n", long_date(&p.date)));
        }
        for r in &routes {
            md.push_str(&format!(
                "- {} van {}: {}\n",
                r.data.kind.label(),
                long_date(&r.data.date),
                r.data.text
            ));
        }
    }
    md.push_str("\n## Toestemmingen\n\n");
    if st.consents.is_empty() {
        md.push_str("Geen.\n");
    }
    for r in st.consents.values() {
        let answers = r
            .answers
            .iter()
            .map(|(p, a)| format!("{}: {}", name(p), a.state.label()))
            .collect::<Vec<_>>()
            .join(", ");
        md.push_str(&format!(
            "- {} tot {}, waarvoor: {}{}{}\n",
            r.spec
                .categories
                .iter()
                .map(|c| c.label())
                .collect::<Vec<_>>()
                .join(", "),
            long_date(&r.spec.until),
            r.spec.purpose,
            if answers.is_empty() {
                String::new()
            } else {
                format!(" — {answers}")
            },
            if r.withdrawn.is_some() {
                " — ingetrokken"
            } else {
                ""
            }
        ));
    }
    md.push_str("\n## Bewaren en vernietigen\n\n");
    for l in super::retention::lines(case) {
        md.push_str(&format!("- {l}\n"));
    }
    md.push_str("\n## Wie heeft wat gelezen of gewijzigd (dit apparaat)\n\n");
    if log.is_empty() {
        md.push_str("Nog niets.\n");
    }
    for e in log {
        md.push_str(&format!(
            "- {}: {} — {}{}{}\n",
            words::when(e),
            words::who(e),
            e.action.label(),
            if e.compartment.is_empty() {
                String::new()
            } else {
                format!(": {}", e.compartment)
            },
            if e.basis.is_empty() {
                String::new()
            } else {
                format!(", {}", words::why(&e.basis, Some(case)))
            },
        ));
    }
    md.push_str("\n## Wie heeft wat gelezen of gewijzigd bij de anderen\n\n");
    md.push_str(&super::caselog::coverage(others));
    md.push('\n');
    for p in &others.problems {
        md.push_str(&format!("\n- Let op: {p}"));
    }
    for r in others.rows.iter().filter(|r| !r.here) {
        md.push_str(&format!("\n- {}", r.sentence));
    }
    md.push('\n');
    if !destruction.is_empty() {
        md.push_str("\n## Vernietigd en verzoeken om te vernietigen\n\n");
        for l in destruction {
            md.push_str(&format!("- {l}\n"));
        }
    }
    Inzage { json, markdown: md }
}

impl Session {
    /// Writes the inzage of `case` into the folder `dir` as `MDO-inzage-<child>-<date>.pdf` and
    /// `.json`; logged as an export of every part this device reads. The files are not
    /// encrypted: the person who asked for them keeps them.
    pub fn export_inzage(&mut self, case: &Case, dir: &Path) -> Result<InzageFiles> {
        let today = format_date(case.today());
        let log = self.store().access_log(Some(case.id))?;
        let me = self.me();
        let by = format!("{} ({})", me.name, me.role.label());
        let others = super::caselog::case_log(case, self.store())?;
        let destruction: Vec<String> = super::destruction::requests(case, me)
            .into_iter()
            .map(|r| r.text)
            .chain(super::destruction::tombstones(case, me))
            .collect();
        let inzage = compose(case, &log, &others, &destruction, &by, &today);
        let shown: Vec<_> = case
            .compartment_list()
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        self.store_mut()
            .log_access(case, AccessAction::Export, &shown, "inzage")?;
        std::fs::create_dir_all(dir).map_err(|source| Error::File {
            path: dir.to_path_buf(),
            source,
        })?;
        let base = dir.join(super::export::file_stem("inzage", case));
        let pdf = base.with_extension("pdf");
        let json = base.with_extension("json");
        let bytes = crate::pdf::render(
            &format!("Inzage MDO — {}", case.info().child),
            &inzage.markdown,
        )
        .map_err(|e| Error::Pdf(e.to_string()))?;
        crate::store::write_atomic(&pdf, &bytes)?;
        let text = serde_json::to_vec_pretty(&inzage.json).map_err(|e| {
            Error::Said(format!(
                "de inzage kon niet als JSON worden geschreven: {e}"
            ))
        })?;
        crate::store::write_atomic(&json, &text)?;
        let count = |k: &str| inzage.json[k].as_array().map_or(0, Vec::len);
        Ok(InzageFiles {
            pdf,
            json,
            counts: (
                count("items"),
                count("agreements"),
                count("meetings"),
                count("access_log"),
            ),
        })
    }
}

/// A section in words: "kind — gaat goed", "behoefte (thuis)", "notitie".
fn section_label(section: &crate::core::model::Section) -> String {
    let text = String::from(section.clone());
    let (head, tail) = text.split_once('.').unwrap_or((text.as_str(), ""));
    fn slot(t: &str) -> &str {
        match t {
            "plus" => "gaat goed",
            "min" => "moet beter",
            "doel" => "doel",
            "vraag" => "vraag",
            other => other,
        }
    }
    match (head, tail) {
        ("vragen", _) => "vraag voor het overleg".into(),
        ("procesdoelen", _) => "procesdoel".into(),
        ("beslissingen", _) => "beslissing".into(),
        ("behoeften", area) => format!("onderwijs- of opvoedbehoefte ({area})"),
        ("aanpak", who) => format!("aanpak ({who})"),
        ("ondersteuning", who) => format!("ondersteuningsbehoefte ({who})"),
        (other, "") => other.to_string(),
        (circle, t) => format!("{circle} — {}", slot(t)),
    }
}

/// An access-log entry in words a parent understands — one place for the app's Logboek, a
/// parent's *Wie heeft wat gelezen?* and the inzage.
pub mod words {
    use crate::core::case::Case;
    use crate::core::membership::Basis;
    use crate::core::model::{Role, long_date};
    use crate::store::LogEntry;

    /// "29 november 2026 14:05".
    pub fn when(e: &LogEntry) -> String {
        let when = e.when();
        match when.split_once(' ') {
            Some((day, clock)) => format!("{} {clock}", long_date(day)),
            None => long_date(&when),
        }
    }

    /// "Monique de Vries (intern begeleider, OBS De Wilgen)": the role's name, not its id.
    pub fn who(e: &LogEntry) -> String {
        let role = e
            .role
            .parse::<Role>()
            .map(|r| r.label().to_string())
            .unwrap_or_else(|_| e.role.clone());
        if e.organisation.is_empty() {
            format!("{} ({role})", e.name)
        } else {
            format!("{} ({role}, {})", e.name, e.organisation)
        }
    }

    /// Why someone could read it, without raw ids: "vaste lezer van dit deel" → "mocht dit lezen
    /// door zijn of haar rol in het MDO"; "toestemming c79d…" → "met toestemming, waarvoor: …";
    /// "wettelijke grondslag …" → "op grond van de wet: <grond>".
    pub fn why(basis: &str, case: Option<&Case>) -> String {
        let record = |id: &str| case.and_then(|c| c.state().consents.get(id.trim()));
        if basis == "vaste lezer van dit deel" {
            "mocht dit lezen door zijn of haar rol in het MDO".into()
        } else if basis == "deelnemer" {
            "als deelnemer aan het MDO".into()
        } else if let Some(id) = basis.strip_prefix("toestemming ") {
            match record(id) {
                Some(r) => format!("met toestemming, waarvoor: {}", r.spec.purpose),
                None => "met toestemming".into(),
            }
        } else if let Some(id) = basis.strip_prefix("wettelijke grondslag ") {
            match record(id).map(|r| &r.spec.basis) {
                Some(Basis::Legal { ground, .. }) => {
                    format!("op grond van de wet: {}", ground.label())
                }
                _ => "op grond van de wet".into(),
            }
        } else {
            basis.to_string()
        }
    }
}
