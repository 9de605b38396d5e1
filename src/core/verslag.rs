//! The verslag (minutes) of a case as Markdown.
//!
//! A verslag is composed **for one audience** ([`compose`]): it holds only text of compartments
//! whose every possible reader is also a reader of that audience
//! ([`super::audience::composes_into`]), so the parents' verslag never carries an organisation's
//! internal note, the safety track or a medical finding — whatever the composing device can read.
//! It is stored in that audience's compartment ([`super::case::Case::store_verslag`]) and names
//! its audience on top ("Verslag voor ouders en professionals").
//!
//! [`overview`] is the other reading: everything this device can read, each line tagged with who
//! can see it — for this device's own screen (`mdo case show`), never stored or sent.

use std::fmt::Write;

use super::CoreError;
use super::audience::{composes_into, voor, voor_at};
use super::case::{Case, Placed};
use super::compartment::CompartmentKind;
use super::doc::STEP_COUNT;
use super::model::{Audience, CircleSlot, NeedArea, Section, SupportOf, long_date};

/// Titles of the chair's six steps (seed 002, §5).
pub const STEP_TITLES: [&str; STEP_COUNT] = [
    "Start",
    "Analyse: overzicht en inzicht",
    "Doelen",
    "Onderwijs- en opvoedbehoeften",
    "Ondersteuningsbehoeften",
    "Afronding: samenvatting, afspraken, evaluatie",
];

/// A verslag composed for one audience. Only [`compose`] makes one, so whatever stores or
/// exports a `Verslag` holds text that audience may read.
#[derive(Debug, Clone, PartialEq)]
pub struct Verslag {
    audience: CompartmentKind,
    voor: String,
    meeting: Option<String>,
    markdown: String,
}

impl Verslag {
    /// Who it is for.
    pub fn audience(&self) -> &CompartmentKind {
        &self.audience
    }
    /// The meeting it reports (none when the case has no meeting this audience may read).
    pub fn meeting(&self) -> Option<&str> {
        self.meeting.as_deref()
    }
    /// The text.
    pub fn markdown(&self) -> &str {
        &self.markdown
    }
    /// "Verslag voor ouders en professionals", "Verslag alleen voor professionals".
    pub fn title(&self) -> String {
        format!("Verslag {}", self.voor)
    }
}

/// Which text goes in.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// Only what every reader of this compartment may read; no tags.
    For(&'a CompartmentKind),
    /// Everything this device reads, tagged with its audience (screen only).
    Device,
}

impl Scope<'_> {
    fn admits(&self, kind: &CompartmentKind) -> bool {
        match self {
            Scope::For(t) => composes_into(kind, t),
            Scope::Device => true,
        }
    }
    fn note<T>(&self, p: &Placed<T>) -> String {
        match self {
            Scope::Device if p.audience != Audience::Parents => {
                format!(" _(zichtbaar voor: {})_", p.kind.label())
            }
            _ => String::new(),
        }
    }
}

/// The verslag of `case` for `audience`, of meeting `meeting` (else the latest meeting that
/// audience may read). Refuses a meeting held for a narrower audience than the verslag's.
pub fn compose(
    case: &Case,
    meeting: Option<&str>,
    audience: &CompartmentKind,
) -> Result<Verslag, CoreError> {
    let meetings = case.meetings();
    let chosen =
        match meeting {
            Some(id) => {
                let m = meetings.iter().find(|m| m.data.id == id).ok_or_else(|| {
                    CoreError::NotFound {
                        what: "meeting",
                        id: id.to_string(),
                    }
                })?;
                if !composes_into(&m.kind, audience) {
                    return Err(CoreError::NarrowerAudience {
                        what: "dit overleg",
                        of: voor(&m.kind),
                        target: voor(audience),
                    });
                }
                Some(m.data.id.clone())
            }
            // The latest meeting held (not one only planned), else the latest.
            None => {
                let readable = || {
                    meetings
                        .iter()
                        .rev()
                        .filter(|m| composes_into(&m.kind, audience))
                };
                readable()
                    .find(|m| super::traject::held(&m.data, case.today()))
                    .or_else(|| readable().next())
                    .map(|m| m.data.id.clone())
            }
        };
    let voor = voor_at(audience, case.age_band(case.today()));
    let mut markdown = render(case, chosen.as_deref(), Scope::For(audience));
    markdown.insert_str(
        markdown.find('\n').map(|i| i + 1).unwrap_or(0),
        &format!("\n_Verslag {voor}._\n"),
    );
    Ok(Verslag {
        voor,
        audience: audience.clone(),
        meeting: chosen,
        markdown,
    })
}

/// The compartments whose text a verslag for `audience` may carry (what an export of it is
/// logged as having shown, NEN 7513).
pub fn sources(case: &Case, audience: &CompartmentKind) -> Vec<mdo_crypto::CompartmentId> {
    case.compartment_list()
        .into_iter()
        .filter(|(_, k)| composes_into(k, audience))
        .map(|(c, _)| c)
        .collect()
}

/// Everything this device can read, as Markdown with "zichtbaar voor" tags: for this device's
/// own screen only (`mdo case show`). Never stored in a compartment, never exported.
pub fn overview(case: &Case) -> String {
    render(case, None, Scope::Device)
}

fn render(case: &Case, meeting: Option<&str>, scope: Scope<'_>) -> String {
    let parents = CompartmentKind::Shared(Audience::Parents);
    // Case facts and the roster live in the parents' compartment.
    let facts = scope.admits(&parents);
    let info = case.info();
    let mut out = String::new();
    if facts {
        let _ = writeln!(out, "# Verslag MDO — {}\n", info.child);
    } else {
        let _ = writeln!(out, "# Verslag MDO\n");
    }
    if facts {
        let _ = writeln!(out, "- Geboortedatum: {}", long_date(&info.birthdate));
        let _ = writeln!(out, "- School: {} {}", info.school, info.class);
        let phase = info
            .phase
            .parse::<super::model::SupportPhase>()
            .map(|p| p.label().to_string())
            .unwrap_or(info.phase.clone());
        let _ = writeln!(out, "- Fase ondersteuningsroute: {phase}");
        let status = info
            .status
            .parse::<super::model::CaseStatus>()
            .map(|p| p.label().to_string())
            .unwrap_or(info.status.clone());
        let _ = writeln!(out, "- Status: {status}\n");
    }

    let participants = if facts {
        case.participants()
    } else {
        Vec::new()
    };
    let name_of = |id: &str| {
        participants
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "een deelnemer".to_string())
    };
    if !participants.is_empty() {
        let _ = writeln!(out, "## Deelnemers\n");
        for p in &participants {
            let mut extra = Vec::new();
            if p.chair {
                extra.push("voorzitter".to_string());
            }
            if p.custody {
                extra.push("gezag".to_string());
            }
            let org = if p.organisation.is_empty() {
                String::new()
            } else {
                format!(", {}", p.organisation)
            };
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!(" ({})", extra.join(", "))
            };
            let role = p
                .role
                .parse::<super::model::Role>()
                .map(|r| r.label().to_string())
                .unwrap_or(p.role.clone());
            let _ = writeln!(out, "- {} — {}{}{}", p.name, role, org, extra);
        }
        out.push('\n');
    }

    let items: Vec<_> = case
        .items()
        .into_iter()
        .filter(|i| scope.admits(&i.kind))
        .collect();
    let section_list = |out: &mut String, title: &str, section: &Section| {
        let list: Vec<_> = items
            .iter()
            .filter(|i| &i.data.section == section)
            .collect();
        if !list.is_empty() {
            let _ = writeln!(out, "{title}");
            for i in list {
                let _ = writeln!(out, "- {}{}", i.data.text, scope.note(i));
            }
            out.push('\n');
        }
    };

    let meetings: Vec<_> = case
        .meetings()
        .into_iter()
        .filter(|m| scope.admits(&m.kind))
        .collect();
    // The meeting reported: the one asked for, else the latest that was held (not one that is
    // only planned).
    let today = case.today();
    let chosen = match meeting {
        Some(id) => meetings.iter().find(|m| m.data.id == id),
        None => meetings
            .iter()
            .rev()
            .find(|m| super::traject::held(&m.data, today))
            .or(meetings.last()),
    };
    // The agenda: the questions, process goals and decisions of the meeting reported (and those
    // of the case that belong to no meeting), with how far each got.
    let agenda_of = |i: &&Placed<super::doc::ItemData>| match (&i.data.parent, chosen) {
        (None, _) => true,
        (Some(p), Some(m)) => *p == m.data.id,
        (Some(_), None) => true,
    };
    let _ = writeln!(out, "## Vragen en procesdoelen\n");
    for (title, section) in [
        ("**Vragen**\n", Section::Vragen),
        ("**Procesdoelen**\n", Section::Procesdoelen),
        ("**Beslissingen**\n", Section::Beslissingen),
    ] {
        let list: Vec<_> = items
            .iter()
            .filter(|i| i.data.section == section)
            .filter(agenda_of)
            .collect();
        if !list.is_empty() {
            let _ = writeln!(out, "{title}");
            for i in list {
                let status = i
                    .data
                    .status
                    .map(|st| format!(" ({})", st.label()))
                    .unwrap_or_default();
                let _ = writeln!(out, "- {}{status}{}", i.data.text, scope.note(i));
            }
            out.push('\n');
        }
    }

    let _ = writeln!(out, "## De cirkels\n");
    for circle in &info.circles {
        let _ = writeln!(out, "### {}\n", circle_title(circle));
        for slot in CircleSlot::ALL {
            let s = Section::Circle {
                circle: circle.clone(),
                slot,
            };
            for i in items.iter().filter(|i| i.data.section == s) {
                let about: Vec<&str> = [
                    i.data.term.map(|t| t.label()),
                    i.data.status.map(|st| st.label()),
                ]
                .into_iter()
                .flatten()
                .collect();
                let about = if about.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", about.join(", "))
                };
                let _ = writeln!(
                    out,
                    "- {} {}{about}{}",
                    slot.symbol(),
                    i.data.text,
                    scope.note(i)
                );
            }
        }
        out.push('\n');
    }
    let arrows: Vec<_> = case
        .arrows()
        .into_iter()
        .filter(|a| scope.admits(&a.kind))
        .collect();
    if !arrows.is_empty() {
        let _ = writeln!(out, "**Wisselwerking**\n");
        for a in &arrows {
            let _ = writeln!(
                out,
                "- {} → {}: {} ({}){}",
                circle_title(&a.data.from),
                circle_title(&a.data.to),
                a.data.text,
                a.data.direction.label(),
                scope.note(a)
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## Behoeften\n");
    for area in NeedArea::ALL {
        section_list(
            &mut out,
            &format!("**Onderwijs-/opvoedbehoeften — {}**\n", area.label()),
            &Section::Behoeften(*area),
        );
    }
    for who in SupportOf::ALL {
        section_list(
            &mut out,
            &format!("**Aanpak — heeft {} nodig die …**\n", who.label()),
            &Section::Aanpak(*who),
        );
    }
    for who in SupportOf::ALL {
        section_list(
            &mut out,
            &format!("**Ondersteuningsbehoeften — {}**\n", who.label()),
            &Section::Ondersteuning(*who),
        );
    }
    section_list(&mut out, "**Effect**\n", &Section::Effect);
    section_list(&mut out, "## Notities\n", &Section::Notitie);

    let agreements: Vec<_> = case
        .agreements()
        .into_iter()
        .filter(|a| scope.admits(&a.kind))
        .collect();
    let _ = writeln!(out, "## Afspraken\n");
    if agreements.is_empty() {
        let _ = writeln!(out, "_Nog geen afspraken._\n");
    } else {
        let _ = writeln!(
            out,
            "| wie | wat | waarom | wanneer | hoe | klaar op | status | evaluatie |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        for a in &agreements {
            let d = &a.data;
            let mut status = d.status.label().to_string();
            if !d.note.is_empty() {
                status = format!("{status}: {}", d.note);
            }
            if d.obligation {
                status.push_str(if d.delivered {
                    "; verplichting van school, geleverd"
                } else {
                    "; verplichting van school, nog niet geleverd"
                });
            }
            let _ = writeln!(
                out,
                "| {} | {}{} | {} | {} | {} | {} | {} | {} |",
                cell(&d.wie),
                cell(&d.wat),
                scope.note(a),
                cell(&d.waarom),
                cell(&d.wanneer),
                cell(&d.hoe),
                long_date(&d.due),
                cell(&status),
                long_date(&d.evaluation)
            );
        }
        out.push('\n');
    }

    if let Some(placed) = chosen {
        let m = &placed.data;
        let when = match (m.start.is_empty(), m.planned_end.is_empty()) {
            (false, false) => format!(", {} tot {}", m.start, m.planned_end),
            (false, true) => format!(", {}", m.start),
            _ => String::new(),
        };
        let place = if m.place.is_empty() {
            String::new()
        } else {
            format!(", {}", m.place)
        };
        let _ = writeln!(
            out,
            "## Overleg van {}{when}{place}{}\n",
            long_date(&m.date),
            scope.note(placed)
        );
        let role_of = |id: &str| {
            participants
                .iter()
                .find(|p| p.id == id)
                .and_then(|p| p.role.parse::<super::model::Role>().ok())
                .map(|r| format!("{} ({})", name_of(id), r.label()))
                .unwrap_or_else(|| name_of(id))
        };
        if !m.present.is_empty() {
            let names: Vec<String> = m.present.iter().map(|p| role_of(p)).collect();
            let _ = writeln!(out, "**Aanwezig**\n");
            for n in names {
                let _ = writeln!(out, "- {n}");
            }
            out.push('\n');
        }
        let absent: Vec<&String> = m
            .invited
            .iter()
            .chain(m.input.keys())
            .filter(|p| !m.present.contains(p))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        // Before the meeting is held nobody is absent yet.
        // A verslag asked for this meeting reports it as held.
        if !absent.is_empty() && (meeting.is_some() || super::traject::held(m, case.today())) {
            let _ = writeln!(out, "**Afwezig**\n");
            for p in absent {
                match m.input.get(p) {
                    Some(i) => {
                        let _ = writeln!(out, "- {}, met inbreng: {i}", role_of(p));
                    }
                    None => {
                        let _ = writeln!(out, "- {}", role_of(p));
                    }
                }
            }
            out.push('\n');
        }
        let extra: Vec<_> = case
            .meeting_notes(&m.id)
            .into_iter()
            .filter(|n| scope.admits(&n.kind))
            .collect();
        for (n, title) in STEP_TITLES.iter().enumerate() {
            let note = m.steps.get(n).map(String::as_str).unwrap_or("");
            let more: Vec<_> = extra
                .iter()
                .filter(|x| x.data.step == n + 1 && !x.data.text.is_empty())
                .collect();
            if note.is_empty() && more.is_empty() {
                continue;
            }
            let _ = writeln!(out, "**Stap {} — {}**\n", n + 1, title);
            if !note.is_empty() {
                let _ = writeln!(out, "{note}\n");
            }
            for x in more {
                let _ = writeln!(out, "{}{}\n", x.data.text, scope.note(x));
            }
        }
        if !m.tops.is_empty() || !m.tips.is_empty() {
            let _ = writeln!(out, "**Tops en tips**\n");
            let mut who: Vec<&String> = m.tops.keys().chain(m.tips.keys()).collect();
            who.sort();
            who.dedup();
            for p in who {
                let top = m.tops.get(p).map(String::as_str).unwrap_or("—");
                let tip = m.tips.get(p).map(String::as_str).unwrap_or("—");
                let _ = writeln!(out, "- {}: top: {}; tip: {}", name_of(p), top, tip);
            }
            out.push('\n');
        }
        // When we look back together (seed 000: "Wanneer evalueren we samen de aanpak?").
        let next = meetings
            .iter()
            .find(|n| n.data.date > m.date && !n.data.closed)
            .map(|n| {
                let start = if n.data.start.is_empty() {
                    String::new()
                } else {
                    format!(", {}", n.data.start)
                };
                format!("{}{start}", long_date(&n.data.date))
            });
        let evaluation = agreements
            .iter()
            .filter_map(|a| super::model::parse_date(&a.data.evaluation).ok())
            .filter(|d| super::model::parse_date(&m.date).is_ok_and(|md| *d > md))
            .min();
        match (next, evaluation) {
            (Some(n), _) => {
                let _ = writeln!(out, "**Volgend overleg:** {n}\n");
            }
            (None, Some(d)) => {
                let _ = writeln!(
                    out,
                    "**Volgend overleg:** nog te plannen; de afspraken worden geëvalueerd rond {}\n",
                    long_date(&super::model::format_date(d))
                );
            }
            (None, None) => {}
        }
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "/").replace('\n', " ")
}

/// "Kind/jongere", "School/onderwijs", "Thuis/opvoeding" for the standard circles.
pub fn circle_title(name: &str) -> String {
    match name {
        "kind" => "Kind/jongere".into(),
        "school" => "School/onderwijs".into(),
        "thuis" => "Thuis/opvoeding".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

/// Storing a verslag is one of the case's writes; it lives here so that the case does not depend
/// on the verslag (a verslag is composed from the case).
impl Case {
    /// Stores a verslag in the compartment of the audience it was composed for (never a
    /// broader one: [`compose`] is the only way to make a `Verslag`).
    pub fn store_verslag(&mut self, v: &Verslag) -> Result<(), CoreError> {
        let meeting = v.meeting().ok_or(CoreError::NotFound {
            what: "meeting",
            id: String::new(),
        })?;
        self.doc_for(v.audience().clone())?
            .set_verslag(meeting, v.markdown())
    }
}
