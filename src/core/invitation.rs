//! Preparing a meeting (seed 002:152-156: "wie doen mee, wat zijn de doelen … hoe kunnen alle
//! betrokkenen dit alvast voorbereiden?"): the invitation for the parents and for the child in
//! plain Dutch, written in our own words from seed 000 (sources in `docs/invitation-sources.md`),
//! and the preparation questions for parents, the child and professionals, whose answers feed the
//! circles and the meeting's agenda.

use super::audience::composes_into;
use super::case::{Case, Placed};
use super::compartment::CompartmentKind;
use super::doc::MeetingData;
use super::model::{Audience, Role, Section, long_date};

const PARENTS: &str = include_str!("texts/uitnodiging-ouders.md");
const CHILD: &str = include_str!("texts/uitnodiging-kind.md");
const QUESTIONS: &str = include_str!("texts/voorbereiding.md");

/// For whom an invitation is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Parents and carers ("u").
    Parents,
    /// The child ("je").
    Child,
}

/// The first name of the child ("Noor" of "Noor Visser").
fn first_name(child: &str) -> String {
    child.split_whitespace().next().unwrap_or(child).to_string()
}

/// The invitation for `meeting`, filled in: the child's name, date, time, place, the chair,
/// who comes and the meeting's questions. A line whose value is unknown is left out. `None` when
/// the reader is not at this meeting (a professionals-only meeting; the child at a meeting
/// without the child). Only questions every reader of the invitation may read go in (the
/// parents' one: the parents' compartment; the child's: the child's), never the professionals'
/// or an organisation's own questions — the text is meant to be sent.
pub fn invitation(case: &Case, placed: &Placed<MeetingData>, reader: Reader) -> Option<String> {
    let reader_kind = CompartmentKind::Shared(match reader {
        Reader::Parents => Audience::Parents,
        Reader::Child => Audience::Child,
    });
    let at_the_table = match reader {
        Reader::Parents => composes_into(&placed.kind, &reader_kind),
        Reader::Child => placed.kind == reader_kind,
    };
    if !at_the_table {
        return None;
    }
    let m = &placed.data;
    let roster = case.participants();
    let name_role = |id: &str| -> Option<String> {
        let p = roster.iter().find(|p| p.id == id)?;
        let role = p.role.parse::<Role>().map(|r| r.label()).unwrap_or("");
        Some(if role.is_empty() {
            p.name.clone()
        } else {
            format!("{} ({role})", p.name)
        })
    };
    let chair = roster
        .iter()
        .find(|p| p.chair)
        .and_then(|p| name_role(&p.id))
        .unwrap_or_default();
    let invited = if m.invited.is_empty() {
        &m.present
    } else {
        &m.invited
    };
    let who: Vec<String> = invited.iter().filter_map(|id| name_role(id)).collect();
    let questions: Vec<String> = case
        .items()
        .into_iter()
        .filter(|i| {
            i.data.section == Section::Vragen
                && i.data.parent.as_deref() == Some(&m.id)
                && composes_into(&i.kind, &reader_kind)
        })
        .map(|i| format!("- {}", i.data.text))
        .collect();
    let tijd = match (m.start.is_empty(), m.planned_end.is_empty()) {
        (false, false) => format!("{} tot {}", m.start, m.planned_end),
        (false, true) => m.start.clone(),
        (true, false) => format!("tot {}", m.planned_end),
        (true, true) => String::new(),
    };
    let values = [
        ("{datum}", long_date(&m.date)),
        ("{tijd}", tijd),
        ("{plaats}", m.place.clone()),
        ("{voorzitter}", chair),
        ("{wie}", who.join(", ")),
        ("{vragen}", questions.join("\n")),
    ];
    let template = match reader {
        Reader::Parents => PARENTS,
        Reader::Child => CHILD,
    };
    let kind = first_name(&case.info().child);
    let mut out = Vec::new();
    let mut lines = template.lines().peekable();
    while let Some(line) = lines.next() {
        // The lead-in of the questions goes with them.
        if line.trim_end().ends_with("staan op de agenda:") && questions.is_empty() {
            continue;
        }
        if values
            .iter()
            .any(|(k, v)| line.contains(k) && v.trim().is_empty())
        {
            // Drop the line and the blank line after it.
            if lines.peek().is_some_and(|l| l.trim().is_empty()) {
                lines.next();
            }
            continue;
        }
        // Plain text, to read on screen or paste into a letter or a message: no Markdown marks.
        let line = line.strip_prefix("# ").unwrap_or(line);
        let mut l = line.replace("{kind}", &kind);
        for (k, v) in &values {
            l = l.replace(k, v);
        }
        out.push(l);
    }
    Some(out.join("\n").trim_end().to_string() + "\n")
}

/// A preparation question: where its answer goes (`plus`, `min`: the child's circle; `vraag`:
/// the meeting's questions; `doel`: its process goals) and the question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// `plus`, `min`, `vraag`, `doel`.
    pub tag: String,
    /// The question, with the child's first name filled in.
    pub text: String,
}

/// The preparation questions for someone of `role` about the child `child`.
pub fn questions(role: Role, child: &str) -> Vec<Question> {
    let group = match role {
        Role::Kind => "kind",
        r if r.is_professional() => "professional",
        _ => "ouders",
    };
    let kind = first_name(child);
    QUESTIONS
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '|');
            let (g, tag, q) = (parts.next()?, parts.next()?, parts.next()?);
            (g == group).then(|| Question {
                tag: tag.to_string(),
                text: q.replace("{kind}", &kind),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_has_questions_for_every_field() {
        for role in [Role::Ouder, Role::Kind, Role::IbEr, Role::Voogd] {
            let q = questions(role, "Noor Visser");
            // The preparation screen has six fields.
            assert_eq!(q.len(), 6, "{role:?}");
            for tag in ["plus", "min", "vraag", "doel"] {
                assert!(q.iter().any(|x| x.tag == tag), "{role:?} {tag}");
            }
            assert!(q.iter().all(|x| !x.text.contains('{')), "{q:?}");
        }
        assert!(
            questions(Role::Ouder, "Noor Visser")[0]
                .text
                .contains("Noor")
        );
    }

    #[test]
    fn the_templates_only_use_known_placeholders() {
        for t in [PARENTS, CHILD] {
            let mut rest = t;
            while let Some(i) = rest.find('{') {
                let end = rest[i..].find('}').map(|e| i + e + 1).unwrap_or(rest.len());
                let key = &rest[i..end];
                assert!(
                    [
                        "{kind}",
                        "{datum}",
                        "{tijd}",
                        "{plaats}",
                        "{voorzitter}",
                        "{wie}",
                        "{vragen}"
                    ]
                    .contains(&key),
                    "{key}"
                );
                rest = &rest[end..];
            }
        }
    }
}
