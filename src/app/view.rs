//! What the screens of an open case show, computed from the core as plain data (no Slint): the
//! overview, the circles, the needs chain, the agreements, the meeting, the sharing screen.

use std::collections::BTreeMap;

use crate::core::access::{self, ConsentState};
use crate::core::audience::{self, Writing};
use crate::core::case::{Case, CompartmentKind, Me};
use crate::core::doc::ItemData;
use crate::core::membership::{Basis, MemberStatus, Recipient};
use crate::core::model::{
    AgeBand, AgreementStatus, Audience, CircleSlot, Direction, NeedArea, Role, Section, SupportOf,
    format_date,
};
use crate::core::verslag::STEP_TITLES;

/// An item as the circle and needs views show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView {
    /// Id.
    pub id: String,
    /// Text.
    pub text: String,
    /// "zichtbaar voor …".
    pub visible_to: String,
}

/// One circle with its four slots in display order (plus, min, doel, vraag).
#[derive(Debug, Clone, PartialEq)]
pub struct CircleView {
    /// Name (`kind`, `school`, `thuis`, …).
    pub name: String,
    /// Label ("Kind/jongere").
    pub label: String,
    /// (slot id, items).
    pub slots: Vec<(String, Vec<ItemView>)>,
}

/// An arrow between two circles.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrowView {
    /// Id.
    pub id: String,
    /// "School/onderwijs".
    pub from: String,
    /// "Kind/jongere".
    pub to: String,
    /// The interplay.
    pub text: String,
    /// Upward spiral (else downward).
    pub up: bool,
}

/// A step of the needs chain under a need: approach, support need or effect.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainView {
    /// Id.
    pub id: String,
    /// "Aanpak (leerkracht/mentor)".
    pub kind: String,
    /// Text.
    pub text: String,
    /// 0 = approach, 1 = support/effect under it.
    pub depth: i32,
}

/// An onderwijs-/opvoedbehoefte with the goal it serves and what follows from it.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedView {
    /// Id.
    pub id: String,
    /// Text.
    pub text: String,
    /// The goal it serves (text), if linked.
    pub goal: String,
    /// Approach → support → effect.
    pub chain: Vec<ChainView>,
}

/// The needs of one area (kind, school, thuis, overige).
#[derive(Debug, Clone, PartialEq)]
pub struct NeedColumn {
    /// `kind`, `school`, `thuis`, `overige`.
    pub area: String,
    /// "Kind/jongere".
    pub label: String,
    /// The needs.
    pub needs: Vec<NeedView>,
}

/// An agreement row.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementView {
    /// Id.
    pub id: String,
    /// Who.
    pub wie: String,
    /// What.
    pub wat: String,
    /// Why.
    pub waarom: String,
    /// When.
    pub wanneer: String,
    /// How.
    pub hoe: String,
    /// Owner (name when known).
    pub owner: String,
    /// Due date.
    pub due: String,
    /// `open`, `gedaan`, `vervallen`.
    pub status: String,
    /// Open and past its due date.
    pub overdue: bool,
}

/// A participant on the overview.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role (Dutch).
    pub role: String,
    /// Organisation.
    pub org: String,
    /// "gezag" / "" .
    pub custody: bool,
    /// Chair or co-chair.
    pub chair: bool,
    /// "actief", "verwijderd", "wacht op bevestiging".
    pub status: String,
    /// Consent state as it concerns this participant ("geeft toestemming", "ontvangt: …").
    pub consent: String,
}

/// A meeting of the traject.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingRow {
    /// Id.
    pub id: String,
    /// Date.
    pub date: String,
    /// Planned end.
    pub planned_end: String,
    /// Number present.
    pub present: usize,
    /// Verslag composed.
    pub has_verslag: bool,
}

/// A participant's line in meeting mode.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRow {
    /// Participant id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Present at this meeting.
    pub present: bool,
    /// Top.
    pub top: String,
    /// Tip.
    pub tip: String,
}

/// The meeting shown in meeting mode (the latest).
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingView {
    /// Id.
    pub id: String,
    /// Date.
    pub date: String,
    /// Planned end ("16:00").
    pub planned_end: String,
    /// Notes per step (six).
    pub steps: Vec<String>,
    /// Participants with presence, top and tip.
    pub people: Vec<FeedbackRow>,
    /// Who the meeting is held for ("voor ouders en professionals", "alleen voor professionals").
    pub held_for: String,
    /// "24 september 2026".
    pub date_text: String,
    /// Which of [`MeetingView::notes`] is the meeting's own audience (its notes are part of it).
    pub held_index: usize,
    /// Who may write notes at its steps, and for whom (the meeting's audience or a narrower one).
    pub notes: Choices,
    /// The notes per note audience, six per choice ([`Choices::ids`] order, then step 1–6).
    pub note_texts: Vec<String>,
    /// The verslag audiences this meeting can be reported to, each with its stored verslag
    /// (empty when not yet composed), in [`Choices::ids`] order.
    pub verslag: Choices,
    /// The stored verslag per verslag audience.
    pub verslag_texts: Vec<String>,
}

/// *Voor wie?* — the audiences a text can be written for, with who would read it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Choices {
    /// Compartment descriptors (`parents`, `organisation:OBS De Wilgen`, …).
    pub ids: Vec<String>,
    /// "voor ouders en professionals (9 personen)".
    pub labels: Vec<String>,
    /// The names of who would read it, per choice.
    pub who: Vec<String>,
    /// The default choice (for the writer's role and what is written).
    pub default: usize,
}

impl Choices {
    /// The choices among `kinds`, with `default` preselected (the first one when it is absent).
    pub fn of(case: &Case, kinds: &[CompartmentKind], default: &CompartmentKind) -> Choices {
        let access = case.access();
        let names = names(case);
        let mut c = Choices::default();
        for k in kinds {
            let readers: Vec<String> = access
                .compartments
                .get(&k.id(case.id))
                .map(|a| {
                    a.readers
                        .keys()
                        .map(|id| {
                            names
                                .get(id)
                                .cloned()
                                .unwrap_or_else(|| "een deelnemer".into())
                        })
                        .collect()
                })
                .unwrap_or_default();
            let n = readers.len();
            c.ids.push(k.descriptor());
            c.labels.push(format!(
                "{} ({} {})",
                audience::voor_at(k, case.age_band(case.today())),
                n,
                if n == 1 { "persoon" } else { "personen" }
            ));
            c.who.push(readers.join(", "));
        }
        c.default = kinds.iter().position(|k| k == default).unwrap_or(0);
        c
    }
}

/// A consent record or legal basis.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentView {
    /// Id.
    pub id: String,
    /// "geldig", "ingetrokken", …
    pub state: String,
    /// It extends an audience now.
    pub active: bool,
    /// "medische gegevens → Monique de Vries, 2026-11-23 t/m 2027-11-23".
    pub what: String,
    /// Per person: "Sanne Visser: gegeven (mondeling, 28 november 2026) · Erik Visser: nog geen
    /// antwoord · doel: …", or the legal ground and who decided.
    pub basis: String,
    /// "nog nodig: …" / "HERZIEN: …" / "".
    pub note: String,
    /// Buttons: (the act's code, its text) — answer yes or no for a person, withdraw for a
    /// person, release (`profile::consent::acts`: only what the core will accept).
    pub acts: Vec<(String, String)>,
}

/// One row of the who-sees-what matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixRow {
    /// Item id (items only; empty for agreements).
    pub id: String,
    /// What it is ("+ kind: tekent graag").
    pub text: String,
    /// "zichtbaar voor …".
    pub audience: String,
    /// Per participant (in [`CaseView::matrix_people`] order): can read it today.
    pub cells: Vec<bool>,
}

/// The open case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    /// Id (hex).
    pub id: String,
    /// "Noor Visser".
    pub title: String,
    /// "OBS De Wilgen, groep 5 · fase: …".
    pub subtitle: String,
    /// Support-route phase.
    pub phase: String,
    /// Who consents now, by the child's age.
    pub consent_rule: String,
    /// Participants.
    pub participants: Vec<ParticipantView>,
    /// The traject of meetings.
    pub meetings: Vec<MeetingRow>,
    /// The questions around the circles (field 1).
    pub questions: Vec<ItemView>,
    /// The circles.
    pub circles: Vec<CircleView>,
    /// Arrows between circles.
    pub arrows: Vec<ArrowView>,
    /// Goals of all circles: (id, text) — what a need can serve.
    pub goals: Vec<(String, String)>,
    /// The needs chain per area.
    pub needs: Vec<NeedColumn>,
    /// The agreements, open ones first, then by due date.
    pub agreements: Vec<AgreementView>,
    /// The latest meeting.
    pub meeting: Option<MeetingView>,
    /// Consent records.
    pub consents: Vec<ConsentView>,
    /// Participants (id, name) of the matrix columns.
    pub matrix_people: Vec<(String, String)>,
    /// The matrix rows.
    pub matrix: Vec<MatrixRow>,
    /// Suggested end of a new consent: a year from today.
    pub default_until: String,
    /// The organisations a consent can name as its source (whose information it opens): a
    /// professional records only for their own organisation (the holder of the information
    /// records it); a parent or the child may name any professional's organisation.
    pub consent_sources: Vec<String>,
    /// The categories this person can record a consent for: those their role holds, and the
    /// dossier (a parent or the child: all).
    pub consent_categories: Vec<crate::core::model::ConsentCategory>,
    /// The legal grounds this person can record (professionals with base access: every ground
    /// but meldrecht, which is a report to Veilig Thuis and no basis for sharing in the MDO).
    pub legal_grounds: Vec<crate::core::model::LegalGround>,
    /// Items kept from the parents whose review is due, in words.
    pub reviews_due: Vec<String>,
    /// *Voor wie?* for what is written in the circles, the needs chain and the agreements.
    pub write: Choices,
    /// A new meeting: 0 with parents, 1 professionals only, 2 with the child (medical, safety and enforcement
    /// roles start from professionals only).
    pub meeting_default: usize,
}

/// Circle label ("Kind/jongere" …).
pub fn circle_label(name: &str) -> String {
    crate::core::verslag::circle_title(name)
}

/// Minutes from `now` ("HH:MM") until `end` ("HH:MM"); negative when over time; `None` when
/// either is not a time.
pub fn minutes_left(now: &str, end: &str) -> Option<i32> {
    let parse = |s: &str| -> Option<i32> {
        let (h, m) = s.trim().split_once([':', '.'])?;
        let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
        ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
    };
    Some(parse(end)? - parse(now)?)
}

fn names(case: &Case) -> BTreeMap<String, String> {
    case.participants()
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect()
}

/// Readers per compartment descriptor (participant ids).
fn readers(case: &Case) -> BTreeMap<String, Vec<String>> {
    case.access()
        .compartments
        .values()
        .map(|a| (a.kind.descriptor(), a.readers.keys().cloned().collect()))
        .collect()
}

fn visible_to(
    audience: Audience,
    compartment: &str,
    readers: &BTreeMap<String, Vec<String>>,
) -> String {
    let n = readers.get(compartment).map(Vec::len).unwrap_or(0);
    let who = CompartmentKind::parse(compartment)
        .map(|k| audience::voor(&k))
        .unwrap_or_else(|| format!("voor {}", audience.label()));
    format!(
        "zichtbaar {} ({} {})",
        who,
        n,
        if n == 1 { "persoon" } else { "personen" }
    )
}

fn item_view(
    i: &crate::core::case::Placed<ItemData>,
    readers: &BTreeMap<String, Vec<String>>,
) -> ItemView {
    ItemView {
        id: i.data.id.clone(),
        text: i.data.text.clone(),
        visible_to: visible_to(i.audience, &i.compartment, readers),
    }
}

fn consent_rule(case: &Case) -> String {
    let rule: String = match case.age_band(case.today()) {
        Some(AgeBand::Onder12) | None => "onder 12: de ouders met gezag geven toestemming".into(),
        Some(AgeBand::Van12Tot16) => {
            "12–15 jaar: de ouders met gezag én het kind geven toestemming".into()
        }
        Some(AgeBand::Vanaf16) => "16 jaar of ouder: de jongere beslist zelf over medische en jeugdhulpinformatie; ouders met gezag lezen het MDO mee tot 18".into(),
    };
    std::iter::once(rule)
        .chain(crate::profile::consent::age_notices(case))
        .collect::<Vec<_>>()
        .join(". ")
}

fn recipient_label(r: &Recipient, names: &BTreeMap<String, String>) -> String {
    match r {
        Recipient::Member(id) => names.get(id).cloned().unwrap_or_else(|| id.clone()),
        Recipient::Role(role) => format!("iedere {}", role.label()),
        Recipient::Organisation(o) => format!("professionals van {o}"),
    }
}

fn consents(case: &Case, names: &BTreeMap<String, String>) -> Vec<ConsentView> {
    let st = case.state();
    let me = case.my_member().map(|m| m.id.clone()).unwrap_or_default();
    st.consents
        .values()
        .map(|r| {
            let s = access::consent_status(st, r, case.today());
            let name = |id: &String| names.get(id).cloned().unwrap_or_else(|| id.clone());
            let basis = match &r.spec.basis {
                Basis::Consent { .. } => {
                    let (need, _) = access::required_consenters(st, case.today());
                    let mut people: Vec<String> = need
                        .iter()
                        .filter(|p| !r.answers.contains_key(*p))
                        .map(|p| format!("{}: nog geen antwoord", name(p)))
                        .collect();
                    people.extend(r.answers.iter().map(|(p, a)| {
                        format!(
                            "{}: {} ({}, {})",
                            name(p),
                            a.state.label(),
                            a.how.label(),
                            crate::core::model::long_date(&a.on)
                        )
                    }));
                    people.sort();
                    format!("{} · doel: {}", people.join(" · "), r.spec.purpose)
                }
                Basis::Legal {
                    ground, decided_by, ..
                } => format!("{} (besloten door {})", ground.label(), name(decided_by)),
            };
            let mut note = Vec::new();
            if !s.refused.is_empty() {
                note.push(format!(
                    "geweigerd door {}",
                    s.refused.iter().map(name).collect::<Vec<_>>().join(", ")
                ));
            } else if !s.missing.is_empty() {
                note.push(format!(
                    "nog nodig: {}",
                    s.missing.iter().map(name).collect::<Vec<_>>().join(", ")
                ));
            }
            if s.state == ConsentState::Active && !s.awaiting_release.is_empty() {
                note.push(format!(
                    "wacht op vrijgave door de arts van {}",
                    s.awaiting_release.join(", ")
                ));
            }
            for (org, rel) in &r.released {
                note.push(format!(
                    "vrijgegeven door {} ({org}) op {}",
                    name(&rel.by),
                    crate::core::model::long_date(&rel.on)
                ));
            }
            if let Some(r) = s.review {
                note.push(format!("HERZIEN: {r}"));
            }
            if let Some(w) = &r.withdrawn {
                note.push(format!(
                    "ingetrokken door {} op {}",
                    name(&w.by),
                    crate::core::model::long_date(&w.on)
                ));
            }
            ConsentView {
                id: r.spec.id.clone(),
                state: s.state.label().to_string(),
                active: s.state == ConsentState::Active,
                what: format!(
                    "{}{} → {}, {} t/m {}",
                    r.spec
                        .categories
                        .iter()
                        .map(|c| c.label())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if r.spec.sources.is_empty() {
                        String::new()
                    } else {
                        format!(" van {}", r.spec.sources.join(", "))
                    },
                    r.spec
                        .recipients
                        .iter()
                        .map(|x| recipient_label(x, names))
                        .collect::<Vec<_>>()
                        .join(", "),
                    crate::core::model::long_date(&r.spec.from),
                    crate::core::model::long_date(&r.spec.until)
                ),
                basis,
                note: note.join("; "),
                acts: crate::profile::consent::acts(case, r)
                    .iter()
                    .map(|a| (a.code(), a.label(&me, &|p: &str| name(&p.to_string()))))
                    .collect(),
            }
        })
        .collect()
}

fn participants(case: &Case) -> Vec<ParticipantView> {
    let st = case.state();
    let (parents, children) = access::required_consenters(st, case.today());
    let names = names(case);
    let mut out: Vec<ParticipantView> = case
        .members()
        .into_iter()
        .map(|m| {
            let id = m.member.id.clone();
            let mut consent = Vec::new();
            if parents.contains(&id) || children.contains(&id) {
                consent.push("geeft toestemming".to_string());
            }
            let receives: Vec<String> = st
                .consents
                .values()
                .filter(|r| {
                    access::consent_status(st, r, case.today()).state == ConsentState::Active
                        && r.spec.recipients.iter().any(|x| match x {
                            Recipient::Member(i) => *i == id,
                            Recipient::Role(role) => *role == m.member.role,
                            Recipient::Organisation(o) => {
                                *o == m.member.organisation && m.member.role.is_professional()
                            }
                        })
                })
                .flat_map(|r| {
                    r.spec.categories.iter().map(|c| {
                        // For a professional, a consent for the MDO file is their seat at the
                        // table (sharing-rules §5).
                        if *c == crate::core::model::ConsentCategory::Dossier
                            && m.member.role.is_professional()
                        {
                            "doet mee aan het MDO".to_string()
                        } else {
                            c.label().to_string()
                        }
                    })
                })
                .collect();
            if !receives.is_empty() {
                consent.push(format!("ontvangt met toestemming: {}", receives.join(", ")));
            }
            if m.member.custody_unknown {
                consent.insert(
                    0,
                    "gezag nog niet nagegaan in het gezagsregister: leest nog niet mee".into(),
                );
            }
            ParticipantView {
                name: if m.name.is_empty() {
                    names.get(&id).cloned().unwrap_or_else(|| id.clone())
                } else {
                    m.name.clone()
                },
                id,
                role: m.member.role.label().to_string(),
                org: m.member.organisation.clone(),
                custody: m.member.custody,
                chair: m.member.admin,
                status: match m.member.status {
                    MemberStatus::Active => "actief",
                    MemberStatus::Removed => "verwijderd",
                    MemberStatus::Unconfirmed => "wacht op bevestiging",
                }
                .to_string(),
                consent: consent.join("; "),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (
            a.status != "actief",
            !a.chair,
            a.role == Role::Ouder.label(),
            &a.name,
        )
            .cmp(&(
                b.status != "actief",
                !b.chair,
                b.role == Role::Ouder.label(),
                &b.name,
            ))
    });
    out
}

fn needs(items: &[crate::core::case::Placed<ItemData>]) -> Vec<NeedColumn> {
    let by_id: BTreeMap<&str, &ItemData> = items
        .iter()
        .map(|i| (i.data.id.as_str(), &i.data))
        .collect();
    let children = |parent: &str| -> Vec<&ItemData> {
        items
            .iter()
            .map(|i| &i.data)
            .filter(|d| d.parent.as_deref() == Some(parent))
            .collect()
    };
    let chain_kind = |s: &Section| -> Option<(String, i32)> {
        match s {
            Section::Aanpak(w) => Some((format!("Aanpak ({})", w.label()), 0)),
            Section::Ondersteuning(w) => Some((format!("Ondersteuning ({})", w.label()), 1)),
            Section::Effect => Some(("Effect".to_string(), 1)),
            _ => None,
        }
    };
    NeedArea::ALL
        .iter()
        .map(|area| NeedColumn {
            area: area.id().to_string(),
            label: match area {
                NeedArea::Kind => "Kind/jongere",
                NeedArea::School => "Op school",
                NeedArea::Thuis => "Thuis",
                NeedArea::Overige => "Overige",
            }
            .to_string(),
            needs: items
                .iter()
                .filter(|i| i.data.section == Section::Behoeften(*area))
                .map(|need| {
                    let mut chain = Vec::new();
                    for a in children(&need.data.id) {
                        let Some((kind, depth)) = chain_kind(&a.section) else {
                            continue;
                        };
                        chain.push(ChainView {
                            id: a.id.clone(),
                            kind,
                            text: a.text.clone(),
                            depth,
                        });
                        for b in children(&a.id) {
                            if let Some((kind, _)) = chain_kind(&b.section) {
                                chain.push(ChainView {
                                    id: b.id.clone(),
                                    kind,
                                    text: b.text.clone(),
                                    depth: 1,
                                });
                            }
                        }
                    }
                    NeedView {
                        id: need.data.id.clone(),
                        text: need.data.text.clone(),
                        goal: need
                            .data
                            .parent
                            .as_deref()
                            .and_then(|p| by_id.get(p))
                            .map(|g| g.text.clone())
                            .unwrap_or_default(),
                        chain,
                    }
                })
                .collect(),
        })
        .collect()
}

/// Parses the chain sections the needs view adds: `aanpak.leerkracht`, `ondersteuning.ouders`,
/// `effect`, `behoeften.kind`, ….
pub fn chain_section(s: &str) -> Option<Section> {
    match Section::parse(s).ok()? {
        s @ (Section::Aanpak(_)
        | Section::Ondersteuning(_)
        | Section::Effect
        | Section::Behoeften(_)) => Some(s),
        _ => None,
    }
}

/// The options for what follows a need: (section id, Dutch label).
pub fn chain_options() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for w in SupportOf::ALL {
        v.push((
            format!("aanpak.{}", w.id()),
            format!("aanpak: heeft {} nodig die …", support_noun(*w)),
        ));
    }
    for w in SupportOf::ALL {
        v.push((
            format!("ondersteuning.{}", w.id()),
            format!("ondersteuningsbehoefte van {}", w.label()),
        ));
    }
    v.push(("effect".into(), "effect van de aanpak".into()));
    v
}

fn support_noun(w: SupportOf) -> &'static str {
    match w {
        SupportOf::Leerkracht => "een leerkracht/mentor",
        SupportOf::Ib => "een IB-er/zoco",
        SupportOf::Ouders => "ouders",
    }
}

fn meeting_view(
    case: &Case,
    me: &Me,
    names: &BTreeMap<String, String>,
    chosen: Option<&str>,
) -> Option<MeetingView> {
    let all = case.meetings();
    let placed = chosen
        .and_then(|id| all.iter().find(|m| m.data.id == id).cloned())
        .or_else(|| all.last().cloned())?;
    let held = placed.kind.clone();
    let m = placed.data;
    // Notes: the meeting's own audience or a narrower one the writer belongs to.
    let mine = case.my_member().map(|m| m.id.clone()).unwrap_or_default();
    let access = case.access();
    let writes = |k: &CompartmentKind| access.writes(k.id(case.id), &mine);
    let note_kinds: Vec<CompartmentKind> = audience::choices(me)
        .into_iter()
        .filter(|k| audience::may_note(k, &held) && writes(k))
        .collect();
    let wanted = crate::profile::write::note_default(case, me, &held);
    let note_default = if note_kinds.contains(&wanted) {
        wanted
    } else {
        held.clone()
    };
    // From 12 a verslag for the child, the parents and the professionals comes first (issue
    // 14); one for the parents only stays possible.
    let mut verslag_choices = audience::verslag_choices(me);
    if case.age_band(case.today()) == Some(AgeBand::Van12Tot16) {
        verslag_choices.insert(
            0,
            CompartmentKind::Shared(crate::core::model::Audience::Child),
        );
    }
    let verslag_kinds: Vec<CompartmentKind> = verslag_choices
        .into_iter()
        .filter(|k| audience::composes_into(&held, k) && writes(k))
        .collect();
    let extra = case.meeting_notes(&m.id);
    let (held_ref, steps_ref, extra_ref) = (&held, &m.steps, &extra);
    let note_texts = note_kinds
        .iter()
        .flat_map(|k| {
            (1..=STEP_TITLES.len()).map(move |n| {
                if k == held_ref {
                    steps_ref.get(n - 1).cloned().unwrap_or_default()
                } else {
                    extra_ref
                        .iter()
                        .find(|x| &x.kind == k && x.data.step == n)
                        .map(|x| x.data.text.clone())
                        .unwrap_or_default()
                }
            })
        })
        .collect();
    let stored = case.verslagen();
    let verslag_texts = verslag_kinds
        .iter()
        .map(|k| {
            stored
                .iter()
                .find(|v| &v.kind == k && v.data.meeting == m.id)
                .map(|v| v.data.text.clone())
                .unwrap_or_default()
        })
        .collect();
    let mut steps = m.steps.clone();
    steps.resize(STEP_TITLES.len(), String::new());
    Some(MeetingView {
        people: case
            .participants()
            .into_iter()
            .map(|p| FeedbackRow {
                present: m.present.contains(&p.id),
                top: m.tops.get(&p.id).cloned().unwrap_or_default(),
                tip: m.tips.get(&p.id).cloned().unwrap_or_default(),
                name: names.get(&p.id).cloned().unwrap_or(p.name),
                id: p.id,
            })
            .collect(),
        id: m.id,
        date_text: crate::core::model::long_date(&m.date),
        date: m.date,
        planned_end: m.planned_end,
        steps,
        held_for: audience::voor_at(&held, case.age_band(case.today())),
        held_index: note_kinds.iter().position(|k| *k == held).unwrap_or(0),
        notes: Choices::of(case, &note_kinds, &note_default),
        note_texts,
        verslag: Choices::of(case, &verslag_kinds, &held),
        verslag_texts,
    })
}

fn matrix(
    case: &Case,
    items: &[crate::core::case::Placed<ItemData>],
    readers: &BTreeMap<String, Vec<String>>,
    people: &[(String, String)],
) -> Vec<MatrixRow> {
    let row = |id: String, text: String, audience: Audience, compartment: &str| {
        let r = readers.get(compartment);
        MatrixRow {
            id,
            text,
            audience: visible_to(audience, compartment, readers),
            cells: people
                .iter()
                .map(|(p, _)| r.is_some_and(|r| r.contains(p)))
                .collect(),
        }
    };
    let mut rows: Vec<MatrixRow> = items
        .iter()
        .map(|i| {
            let place = match &i.data.section {
                Section::Circle { circle, slot } => {
                    format!("{} {}", slot.symbol(), circle_label(circle))
                }
                other => other.id(),
            };
            row(
                i.data.id.clone(),
                format!("{place}: {}", i.data.text),
                i.audience,
                &i.compartment,
            )
        })
        .collect();
    rows.extend(case.agreements().into_iter().map(|a| {
        row(
            String::new(),
            format!("afspraak: {} — {}", a.data.wie, a.data.wat),
            a.audience,
            &a.compartment,
        )
    }));
    rows
}

/// Everything the screens of an open case show.
/// The open case as the screens show it; `meeting`: the meeting of the traject the chair
/// opened (default: the latest).
pub fn case_view(case: &Case, me: &Me, meeting: Option<&str>) -> CaseView {
    let info = case.info();
    let items = case.items();
    let readers = readers(case);
    let names = names(case);
    let circles = info
        .circles
        .iter()
        .map(|name| CircleView {
            name: name.clone(),
            label: circle_label(name),
            slots: CircleSlot::ALL
                .iter()
                .map(|slot| {
                    let section = Section::Circle {
                        circle: name.clone(),
                        slot: *slot,
                    };
                    let mut list: Vec<_> =
                        items.iter().filter(|i| i.data.section == section).collect();
                    list.sort_by(|a, b| a.data.order.total_cmp(&b.data.order));
                    (
                        slot.id().to_string(),
                        list.into_iter().map(|i| item_view(i, &readers)).collect(),
                    )
                })
                .collect(),
        })
        .collect();
    let today = format_date(case.today());
    let mut agreements: Vec<AgreementView> = case
        .agreements()
        .into_iter()
        .map(|a| {
            let open = a.data.status == AgreementStatus::Open;
            AgreementView {
                overdue: open && !a.data.due.is_empty() && a.data.due < today,
                owner: names.get(&a.data.owner).cloned().unwrap_or(a.data.owner),
                id: a.data.id,
                wie: a.data.wie,
                wat: a.data.wat,
                waarom: a.data.waarom,
                wanneer: a.data.wanneer,
                hoe: a.data.hoe,
                due: a.data.due,
                status: a.data.status.id().to_string(),
            }
        })
        .collect();
    agreements.sort_by(|a, b| {
        (a.status != "open", a.due.is_empty(), &a.due).cmp(&(
            b.status != "open",
            b.due.is_empty(),
            &b.due,
        ))
    });
    let goals = items
        .iter()
        .filter(|i| {
            matches!(
                i.data.section,
                Section::Circle {
                    slot: CircleSlot::Doel,
                    ..
                }
            )
        })
        .map(|i| (i.data.id.clone(), i.data.text.clone()))
        .collect();
    let matrix_people: Vec<(String, String)> = case
        .members()
        .into_iter()
        .filter(|m| m.member.status != MemberStatus::Removed)
        .map(|m| {
            let name = if m.name.is_empty() {
                m.member.id.clone()
            } else {
                m.name
            };
            (m.member.id, name)
        })
        .collect();
    CaseView {
        id: info.id.to_hex(),
        title: info.child.clone(),
        subtitle: format!(
            "{}{} · fase: {}",
            info.school,
            if info.class.is_empty() {
                String::new()
            } else {
                format!(", {}", info.class)
            },
            info.phase
        ),
        phase: info.phase.clone(),
        consent_rule: consent_rule(case),
        participants: participants(case),
        meetings: case
            .meetings()
            .into_iter()
            .map(|m| MeetingRow {
                present: m.data.present.len(),
                has_verslag: case.verslagen().iter().any(|v| v.data.meeting == m.data.id),
                id: m.data.id,
                date: m.data.date,
                planned_end: m.data.planned_end,
            })
            .collect(),
        questions: items
            .iter()
            .filter(|i| i.data.section == Section::Vragen)
            .map(|i| item_view(i, &readers))
            .collect(),
        circles,
        arrows: case
            .arrows()
            .into_iter()
            .map(|a| ArrowView {
                id: a.data.id,
                from: circle_label(&a.data.from),
                to: circle_label(&a.data.to),
                text: a.data.text,
                up: a.data.direction == Direction::Omhoog,
            })
            .collect(),
        goals,
        needs: needs(&items),
        agreements,
        meeting: meeting_view(case, me, &names, meeting),
        consents: consents(case, &names),
        matrix: matrix(case, &items, &readers, &matrix_people),
        matrix_people,
        consent_categories: crate::core::model::ConsentCategory::ALL
            .iter()
            .copied()
            .filter(|c| {
                !me.role.is_professional()
                    || *c == crate::core::model::ConsentCategory::Dossier
                    || me.role.holds_category(*c)
            })
            .collect(),
        reviews_due: crate::profile::write::reviews_due(case)
            .into_iter()
            .map(|(on, text, reason)| {
                format!(
                    "{}: “{}” (reden: {})",
                    crate::core::model::long_date(&on),
                    text,
                    reason
                )
            })
            .collect(),
        legal_grounds: if me.role.is_professional()
            && !crate::core::audience::no_base_access(me.role)
        {
            crate::core::model::LegalGround::ALL
                .iter()
                .copied()
                .filter(|g| *g != crate::core::model::LegalGround::Meldrecht)
                .collect()
        } else {
            Vec::new()
        },
        consent_sources: if me.role.is_professional() {
            vec![me.organisation.clone()]
        } else {
            let mut orgs: Vec<String> = case
                .state()
                .members
                .values()
                .filter(|m| m.is_active() && m.role.is_professional())
                .map(|m| m.organisation.clone())
                .filter(|o| !o.trim().is_empty())
                .collect();
            orgs.sort();
            orgs.dedup();
            orgs
        },
        default_until: {
            let t = case.today();
            format_date(
                t.replace_year(t.year() + 1)
                    .unwrap_or(t + time::Duration::days(365)),
            )
        },
        write: {
            // Only audiences this writer may write today.
            let mine = case.my_member().map(|m| m.id.clone()).unwrap_or_default();
            let access = case.access();
            let kinds: Vec<CompartmentKind> = audience::choices(me)
                .into_iter()
                .filter(|k| access.writes(k.id(case.id), &mine))
                .collect();
            let circle = Section::Circle {
                circle: "kind".into(),
                slot: CircleSlot::Plus,
            };
            Choices::of(
                case,
                &kinds,
                &crate::profile::write::with_the_child(
                    case,
                    audience::default_for(me, Writing::Item(&circle)),
                ),
            )
        },
        // Professionals only for medical and enforcement roles; from 12 a meeting with the
        // child (issue 14); else with the parents.
        meeting_default: if me.role.is_medical() || audience::is_enforcement(me.role) {
            1
        } else if case.age_band(case.today()) == Some(AgeBand::Van12Tot16) {
            2
        } else {
            0
        },
    }
}

/// The order that puts item `id` one place up (`up`) or down in its section, or `None` when it
/// is already first/last.
pub fn reorder_target(case: &Case, id: &str, up: bool) -> Option<f64> {
    let items = case.items();
    let section = items.iter().find(|i| i.data.id == id)?.data.section.clone();
    let mut list: Vec<f64> = Vec::new();
    let mut at = None;
    let mut same: Vec<_> = items.iter().filter(|i| i.data.section == section).collect();
    same.sort_by(|a, b| a.data.order.total_cmp(&b.data.order));
    for (n, i) in same.iter().enumerate() {
        if i.data.id == id {
            at = Some(n);
        }
        list.push(i.data.order);
    }
    let at = at?;
    if up {
        let prev = *list.get(at.checked_sub(1)?)?;
        let before = at
            .checked_sub(2)
            .and_then(|n| list.get(n).copied())
            .unwrap_or(prev - 2.0);
        Some((before + prev) / 2.0)
    } else {
        let next = *list.get(at + 1)?;
        let after = list.get(at + 2).copied().unwrap_or(next + 2.0);
        Some((next + after) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_minutes() {
        assert_eq!(minutes_left("15:42", "16:00"), Some(18));
        assert_eq!(minutes_left("16:10", "16:00"), Some(-10));
        assert_eq!(minutes_left("9.05", "10.00"), Some(55));
        assert_eq!(minutes_left("15:42", ""), None);
        assert_eq!(minutes_left("25:00", "16:00"), None);
    }
}
