//! The verslag (minutes) of a case as Markdown: what the chair shares after the meeting. Composed
//! only from what this device can read; each section says who can see it when that is not the
//! default audience.

use std::fmt::Write;

use super::case::Case;
use super::doc::STEP_COUNT;
use super::model::{Audience, CircleSlot, NeedArea, Section, SupportOf};

/// Titles of the chair's six steps (seed 002, §5).
pub const STEP_TITLES: [&str; STEP_COUNT] = [
    "Start",
    "Analyse: overzicht en inzicht",
    "Doelen",
    "Onderwijs- en opvoedbehoeften",
    "Ondersteuningsbehoeften",
    "Afronding: samenvatting, afspraken, evaluatie",
];

fn audience_note(a: Audience) -> String {
    if a == Audience::Parents {
        String::new()
    } else {
        format!(" _(zichtbaar voor: {})_", a.label())
    }
}

/// The verslag of `case`, optionally focused on one meeting (else the latest).
pub fn markdown(case: &Case, meeting: Option<&str>) -> String {
    let info = case.info();
    let mut out = String::new();
    let _ = writeln!(out, "# Verslag MDO — {}\n", info.child);
    let _ = writeln!(out, "- Geboortedatum: {}", info.birthdate);
    let _ = writeln!(out, "- School: {} {}", info.school, info.class);
    let _ = writeln!(out, "- Fase ondersteuningsroute: {}", info.phase);
    let _ = writeln!(out, "- Status: {}\n", info.status);

    let participants = case.participants();
    let name_of = |id: &str| {
        participants
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| id.to_string())
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
            let _ = writeln!(out, "- {} — {}{}{}", p.name, p.role, org, extra);
        }
        out.push('\n');
    }

    let items = case.items();
    let section_list = |out: &mut String, title: &str, section: &Section| {
        let list: Vec<_> = items
            .iter()
            .filter(|i| &i.data.section == section)
            .collect();
        if !list.is_empty() {
            let _ = writeln!(out, "{title}");
            for i in list {
                let _ = writeln!(out, "- {}{}", i.data.text, audience_note(i.audience));
            }
            out.push('\n');
        }
    };

    let _ = writeln!(out, "## Vragen en procesdoelen\n");
    section_list(&mut out, "**Vragen**\n", &Section::Vragen);
    section_list(&mut out, "**Procesdoelen**\n", &Section::Procesdoelen);
    section_list(&mut out, "**Beslissingen**\n", &Section::Beslissingen);

    let _ = writeln!(out, "## De cirkels\n");
    for circle in &info.circles {
        let _ = writeln!(out, "### {}\n", circle_title(circle));
        for slot in CircleSlot::ALL {
            let s = Section::Circle {
                circle: circle.clone(),
                slot,
            };
            let list: Vec<_> = items.iter().filter(|i| i.data.section == s).collect();
            for i in list {
                let _ = writeln!(
                    out,
                    "- {} {}{}",
                    slot.symbol(),
                    i.data.text,
                    audience_note(i.audience)
                );
            }
        }
        out.push('\n');
    }
    let arrows = case.arrows();
    if !arrows.is_empty() {
        let _ = writeln!(out, "**Wisselwerking**\n");
        for a in arrows {
            let _ = writeln!(
                out,
                "- {} → {}: {} ({}){}",
                a.data.from,
                a.data.to,
                a.data.text,
                a.data.direction.label(),
                audience_note(a.audience)
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

    let agreements = case.agreements();
    let _ = writeln!(out, "## Afspraken\n");
    if agreements.is_empty() {
        let _ = writeln!(out, "_Nog geen afspraken._\n");
    } else {
        let _ = writeln!(
            out,
            "| wie | wat | waarom | wanneer | hoe | status | evaluatie |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for a in &agreements {
            let d = &a.data;
            let _ = writeln!(
                out,
                "| {} | {}{} | {} | {} | {} | {} | {} |",
                cell(&d.wie),
                cell(&d.wat),
                audience_note(a.audience),
                cell(&d.waarom),
                cell(&d.wanneer),
                cell(&d.hoe),
                d.status.label(),
                d.evaluation
            );
        }
        out.push('\n');
    }

    let meetings = case.meetings();
    let chosen = match meeting {
        Some(id) => meetings.iter().find(|m| m.data.id == id),
        None => meetings.last(),
    };
    if let Some(m) = chosen {
        let m = &m.data;
        let _ = writeln!(out, "## Overleg van {}\n", m.date);
        if !m.present.is_empty() {
            let names: Vec<String> = m.present.iter().map(|p| name_of(p)).collect();
            let _ = writeln!(out, "Aanwezig: {}\n", names.join(", "));
        }
        for (n, title) in STEP_TITLES.iter().enumerate() {
            let note = m.steps.get(n).map(String::as_str).unwrap_or("");
            if !note.is_empty() {
                let _ = writeln!(out, "**Stap {} — {}**\n\n{}\n", n + 1, title, note);
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
