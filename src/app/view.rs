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
    format_date, long_date,
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
    /// In the usual shared compartment (the circles say who reads those once).
    pub usual: bool,
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
    /// The approaches under it: (id, text) — where a support need or an effect is added.
    pub approaches: Vec<(String, String)>,
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
    /// The goal it serves (text), or empty.
    pub goal: String,
    /// Why its status changed, or empty.
    pub note: String,
    /// One of the school's obligations in the arrangement.
    pub obligation: bool,
    /// The school delivered it.
    pub delivered: bool,
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
    /// "gepland", "nog niet afgesloten", "afgesloten".
    pub state: String,
    /// "24 september 2026, 15:00".
    pub date_text: String,
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
    /// "intern begeleider, OBS De Wilgen".
    pub role: String,
    /// Invited.
    pub invited: bool,
    /// Absent, with this input given beforehand.
    pub input: String,
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
    /// Start time.
    pub start: String,
    /// Place.
    pub place: String,
    /// "gepland", "nog niet afgesloten", "afgesloten".
    pub state: String,
    /// Closed by the chair.
    pub closed: bool,
    /// What changed since the previous meeting, in lines ("Sinds 24 september 2026: …").
    pub since: Vec<String>,
    /// Its agenda: questions, process goals, decisions.
    pub agenda: Vec<AgendaView>,
    /// Drafts per note audience and step (like `note_texts`).
    pub note_drafts: Vec<String>,
    /// Per verslag audience: "vastgesteld door … op …" or "".
    pub verslag_final: Vec<String>,
    /// Per verslag audience: the views of parents and the young person, one line each.
    pub verslag_views: Vec<String>,
    /// The verslag as it prints: (verslag choice, style, text).
    pub paper: Vec<(usize, String, String)>,
    /// The invitation for the parents and for the child.
    pub invitation_parents: String,
    /// The invitation for the child.
    pub invitation_child: String,
}

/// A question, process goal or decision on a meeting's agenda.
#[derive(Debug, Clone, PartialEq)]
pub struct AgendaView {
    /// Item id.
    pub id: String,
    /// "vraag", "procesdoel", "beslissing".
    pub kind: String,
    /// Text.
    pub text: String,
    /// "open", "behaald", …
    pub status: String,
}

/// The plain view for parents and for the child (issue 16): the case in B1 Dutch, large type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlainView {
    /// Written for the child ("je") rather than a parent ("u").
    pub for_child: bool,
    /// What an MDO is, in two or three sentences.
    pub intro: String,
    /// "Het volgende overleg is op 13 december 2026 om 15:00, in …" or that none is planned.
    pub next: String,
    /// What goes well (the + of every circle this person reads).
    pub good: Vec<String>,
    /// Who does what: "Jeroen Bakker (leerkracht): dagritmekaart invoeren. Klaar op 1 oktober
    /// 2026. Gedaan."
    pub agreed: Vec<String>,
    /// This person's own questions.
    pub my_questions: Vec<String>,
    /// The consents that ask this person, explained: (record id, explanation, the buttons'
    /// codes, the buttons' texts).
    pub my_consents: Vec<(String, String, Vec<String>, Vec<String>)>,
}

/// A goal with its term and status.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalView {
    /// Item id.
    pub id: String,
    /// "Kind/jongere".
    pub circle: String,
    /// Text.
    pub text: String,
    /// "korte termijn" / "langere termijn" / "".
    pub term: String,
    /// "open", "behaald", …
    pub status: String,
}

/// A record of the support route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteView {
    /// Id.
    pub id: String,
    /// "ontwikkelingsperspectiefplan (OPP), 28 november 2026".
    pub title: String,
    /// What it says.
    pub text: String,
    /// "Sanne Visser: eens (28 november 2026)" …
    pub answers: String,
    /// This person can give their answer (a parent, voogd or the young person).
    pub can_answer: bool,
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
    /// Goals of every circle with term and status.
    pub goal_rows: Vec<GoalView>,
    /// The support-route phase (index in `SupportPhase::ALL`).
    pub phase_index: usize,
    /// The phase history, one line each.
    pub phase_history: Vec<String>,
    /// "Afgesloten op 29 november 2026 door Monique de Vries: …" (empty while the case runs).
    pub closed: String,
    /// What will be destroyed when, one line per part of the case (issue 17).
    pub retention: Vec<String>,
    /// Whether this person may set their organisation's own retention term (a professional).
    pub sets_retention: bool,
    /// What was destroyed, one line per decision (issue 17).
    pub destroyed: Vec<String>,
    /// Parts of this person's organisation whose term ended (labels): they may be destroyed.
    pub destroy_due: Vec<String>,
    /// Destruction requests, as this person reads them.
    pub destruction_requests: Vec<crate::profile::destruction::RequestView>,
    /// The organisations this person may ask for destruction.
    pub request_orgs: Vec<String>,
    /// Records of the support route.
    pub routes: Vec<RouteView>,
    /// Participants to choose from: (id, "name (role)").
    pub persons: Vec<(String, String)>,
    /// This person chairs the case.
    pub is_chair: bool,
    /// This person gives their own view (a parent, voogd, pleegouder or the child).
    pub gives_view: bool,
    /// Whose view the chair can record on their behalf: (id, name).
    pub view_people: Vec<(String, String)>,
    /// The preparation questions for this person: (tag, question).
    pub prep: Vec<(String, String)>,
    /// "Plan het volgende overleg rond 12 december 2026 (evaluatie van de afspraken)", or "".
    pub next_suggestion: String,
    /// Who reads the usual shared compartment ("voor ouders en professionals").
    pub usual_for: String,
    /// The plain view for parents and the child (empty for professionals' own use; they can
    /// look at it too).
    pub plain: PlainView,
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
        usual: matches!(
            i.kind,
            CompartmentKind::Shared(Audience::Parents) | CompartmentKind::Shared(Audience::Child)
        ),
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
                        approaches: chain
                            .iter()
                            .filter(|c| c.depth == 0)
                            .map(|c| (c.id.clone(), c.text.clone()))
                            .collect(),
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
    let placed_meeting = placed.clone();
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
    let drafts = case.drafts();
    let note_drafts = note_kinds
        .iter()
        .flat_map(|k| {
            let drafts = &drafts;
            let id = m.id.clone();
            (1..=STEP_TITLES.len()).map(move |n| {
                drafts
                    .get(&draft_key(&id, n, &k.descriptor()))
                    .cloned()
                    .unwrap_or_default()
            })
        })
        .collect();
    let statuses: Vec<_> = verslag_kinds
        .iter()
        .map(|k| case.verslag_status(&m.id, k))
        .collect();
    let verslag_final = statuses
        .iter()
        .zip(verslag_kinds.iter())
        .map(|(st, k)| {
            if st.vastgesteld_by.is_empty() {
                String::new()
            } else if case.verslag_changed(&m.id, k) {
                format!(
                    "Let op: dit verslag is veranderd nadat {} het op {} vaststelde",
                    names
                        .get(&st.vastgesteld_by)
                        .cloned()
                        .unwrap_or_else(|| "de voorzitter".into()),
                    long_date(&st.vastgesteld_on)
                )
            } else {
                format!(
                    "Vastgesteld door {} op {}",
                    names
                        .get(&st.vastgesteld_by)
                        .cloned()
                        .unwrap_or_else(|| "de voorzitter".into()),
                    long_date(&st.vastgesteld_on)
                )
            }
        })
        .collect();
    let verslag_views = statuses
        .iter()
        .map(|st| {
            st.views
                .iter()
                .map(|(who, a)| {
                    format!(
                        "{} ({}): {}{}",
                        names
                            .get(who)
                            .cloned()
                            .unwrap_or_else(|| "een deelnemer".into()),
                        long_date(&a.on),
                        a.agrees.label(),
                        if a.text.is_empty() {
                            String::new()
                        } else {
                            format!(" — {}", a.text)
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    let paper = verslag_texts_for_paper(&stored, &verslag_kinds, &m.id);
    let since = since_lines(case, &m.id);
    let agenda = case
        .items()
        .into_iter()
        .filter(|i| i.data.parent.as_deref() == Some(m.id.as_str()))
        // Shown at the table: only what every reader of the meeting may read.
        .filter(|i| audience::composes_into(&i.kind, &held))
        .filter_map(|i| {
            let kind = match i.data.section {
                Section::Vragen => "vraag",
                Section::Procesdoelen => "procesdoel",
                Section::Beslissingen => "beslissing",
                _ => return None,
            };
            Some(AgendaView {
                id: i.data.id.clone(),
                kind: kind.into(),
                text: i.data.text.clone(),
                status: i
                    .data
                    .status
                    .unwrap_or(crate::core::model::ItemStatus::Open)
                    .label()
                    .to_string(),
            })
        })
        .collect();
    let roster = case.participants();
    let role_of = |id: &str| -> String {
        roster
            .iter()
            .find(|p| p.id == id)
            .map(|p| {
                let role = p.role.parse::<Role>().map(|r| r.label()).unwrap_or("");
                if p.organisation.is_empty() {
                    role.to_string()
                } else {
                    format!("{role}, {}", p.organisation)
                }
            })
            .unwrap_or_default()
    };
    Some(MeetingView {
        start: m.start.clone(),
        place: m.place.clone(),
        state: crate::core::traject::state_of(&m, case.today())
            .label()
            .to_string(),
        closed: m.closed,
        since,
        agenda,
        note_drafts,
        verslag_final,
        verslag_views,
        paper,
        invitation_parents: crate::core::invitation::invitation(
            case,
            &placed_meeting,
            crate::core::invitation::Reader::Parents,
        )
        .unwrap_or_else(|| {
            "Dit overleg is alleen voor professionals: de ouders krijgen geen uitnodiging.".into()
        }),
        invitation_child: crate::core::invitation::invitation(
            case,
            &placed_meeting,
            crate::core::invitation::Reader::Child,
        )
        .unwrap_or_else(|| {
            "Het kind is niet bij dit overleg. Plan een overleg ‘met kind, ouders en professionals’ om het kind uit te nodigen.".into()
        }),
        people: case
            .participants()
            .into_iter()
            .map(|p| FeedbackRow {
                role: role_of(&p.id),
                invited: m.invited.contains(&p.id),
                input: m.input.get(&p.id).cloned().unwrap_or_default(),
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

/// The key a draft of the notes at step `n` of `meeting` for `audience` is kept under.
pub fn draft_key(meeting: &str, n: usize, audience: &str) -> String {
    format!("step:{meeting}:{n}:{audience}")
}

fn verslag_texts_for_paper(
    stored: &[crate::core::case::Placed<crate::core::doc::StoredVerslag>],
    kinds: &[CompartmentKind],
    meeting: &str,
) -> Vec<(usize, String, String)> {
    kinds
        .iter()
        .enumerate()
        .flat_map(|(n, k)| {
            let text = stored
                .iter()
                .find(|v| &v.kind == k && v.data.meeting == meeting)
                .map(|v| v.data.text.clone())
                .unwrap_or_default();
            crate::pdf::lines(&text)
                .into_iter()
                .map(move |l| (n, l.kind().to_string(), l.text))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What changed since the previous meeting, as lines for the meeting screen.
fn since_lines(case: &Case, meeting: &str) -> Vec<String> {
    let s = case.since_last(meeting);
    if s.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!("Sinds het overleg van {}:", long_date(&s.previous))];
    for (circle, symbol, text) in &s.new_in_circles {
        out.push(format!(
            "nieuw bij {}: {symbol} {text}",
            circle_label(circle)
        ));
    }
    for (text, status) in &s.goals {
        out.push(format!("doel ({status}): {text}"));
    }
    for e in &s.effects {
        out.push(format!("effect van de aanpak: {e}"));
    }
    for a in &s.done {
        out.push(format!("afspraak gedaan: {a}"));
    }
    for a in &s.overdue {
        out.push(format!("afspraak over tijd: {a}"));
    }
    for a in &s.dropped {
        out.push(format!("afspraak vervallen: {a}"));
    }
    out
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
                goal: items
                    .iter()
                    .find(|i| i.data.id == a.data.goal)
                    .map(|i| i.data.text.clone())
                    .unwrap_or_default(),
                note: a.data.note.clone(),
                obligation: a.data.obligation,
                delivered: a.data.delivered,
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
        title: case_title(&info, me),
        subtitle: format!(
            "{}{} · fase {}",
            info.school,
            if info.class.is_empty() {
                String::new()
            } else {
                format!(", {}", info.class)
            },
            info.phase
                .parse::<crate::core::model::SupportPhase>()
                .map(|p| p.label().to_string())
                .unwrap_or_else(|_| info.phase.clone())
        ),
        phase: info.phase.clone(),
        consent_rule: consent_rule(case),
        participants: participants(case),
        meetings: case
            .meetings()
            .into_iter()
            .map(|m| MeetingRow {
                state: crate::core::traject::state_of(&m.data, case.today())
                    .label()
                    .to_string(),
                date_text: if m.data.start.is_empty() {
                    crate::core::model::long_date(&m.data.date)
                } else {
                    format!(
                        "{}, {}",
                        crate::core::model::long_date(&m.data.date),
                        m.data.start
                    )
                },
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
        goal_rows: goal_rows(case, &items),
        phase_index: crate::core::model::SupportPhase::ALL
            .iter()
            .position(|p| p.id() == info.phase)
            .unwrap_or(0),
        closed: case
            .state()
            .closed
            .as_ref()
            .map(|c| {
                format!(
                    "Afgesloten op {} door {}: {}",
                    long_date(&c.on),
                    names.get(&c.by).cloned().unwrap_or_else(|| c.by.clone()),
                    c.reason
                )
            })
            .unwrap_or_default(),
        retention: crate::profile::retention::lines(case),
        sets_retention: me.role.is_professional()
            && me.role != crate::core::model::Role::Privacy
            && !me.organisation.trim().is_empty(),
        destroyed: crate::profile::destruction::tombstones(case, me),
        destroy_due: crate::profile::destruction::due(case, me)
            .iter()
            .map(|d| crate::profile::retention::part_label(case, d))
            .collect(),
        destruction_requests: crate::profile::destruction::requests(case, me),
        request_orgs: crate::profile::destruction::request_orgs(case, me),
        phase_history: case
            .phase_history()
            .into_iter()
            .map(|c| {
                let phase = c
                    .phase
                    .parse::<crate::core::model::SupportPhase>()
                    .map(|p| p.label().to_string())
                    .unwrap_or(c.phase);
                let by = names
                    .get(&c.by)
                    .cloned()
                    .unwrap_or_else(|| "een deelnemer".into());
                let note = if c.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", c.note)
                };
                format!("{}: fase {phase} (door {by}){note}", long_date(&c.date))
            })
            .collect(),
        routes: routes(case, me, &names),
        persons: case
            .participants()
            .into_iter()
            .map(|p| {
                let role = p.role.parse::<Role>().map(|r| r.label()).unwrap_or("");
                (p.id, format!("{} ({role})", p.name))
            })
            .collect(),
        is_chair: case.my_member().is_some_and(|m| m.admin),
        gives_view: matches!(
            me.role,
            Role::Ouder | Role::Voogd | Role::Pleegouder | Role::Kind
        ),
        view_people: case
            .participants()
            .into_iter()
            .filter(|p| {
                p.role.parse::<Role>().is_ok_and(|r| {
                    matches!(r, Role::Ouder | Role::Voogd | Role::Pleegouder | Role::Kind)
                })
            })
            .map(|p| (p.id, p.name))
            .collect(),
        prep: crate::core::invitation::questions(me.role, &info.child)
            .into_iter()
            .map(|q| (q.tag, q.text))
            .collect(),
        plain: plain_view(case, me, &names, &items),
        usual_for: audience::voor_at(
            &crate::profile::write::with_the_child(
                case,
                CompartmentKind::Shared(Audience::Parents),
            ),
            case.age_band(case.today()),
        ),
        next_suggestion: match (case.next_meeting(), case.evaluation_due()) {
            (None, Some(d)) => format!(
                "De afspraken vragen om een evaluatie rond {}: plan dan het volgende overleg.",
                long_date(&d)
            ),
            _ => String::new(),
        },
    }
}

/// The name a case goes by on screen. The case facts are written for the parents' compartment;
/// a child (12–16) does not read it, and sees her own name as she gave it on her device
/// (`docs/sharing-rules.md` §11c). Anyone else who cannot read them yet sees that said.
pub fn case_title(info: &crate::core::case::CaseInfo, me: &Me) -> String {
    if !info.child.is_empty() {
        info.child.clone()
    } else if me.role == Role::Kind {
        me.name.clone()
    } else {
        "Casus (naam nog niet zichtbaar voor u)".to_string()
    }
}

fn plain_view(
    case: &Case,
    me: &Me,
    names: &BTreeMap<String, String>,
    items: &[crate::core::case::Placed<ItemData>],
) -> PlainView {
    let for_child = me.role == Role::Kind;
    let child = case
        .info()
        .child
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let intro = if for_child {
        "Een MDO is een gesprek over jou. Jij, je ouders, school en soms anderen die helpen, kijken samen wat goed gaat en wat beter kan. Daarna spreken jullie af wie wat doet. Wat jij vindt, telt mee.".to_string()
    } else {
        format!(
            "Een MDO is een gesprek over {child}. U, de school en andere mensen die helpen, kijken samen wat goed gaat en wat beter moet. Daarna spreken we af wie wat doet, en wanneer we samen terugkijken. U kent {child} het best: uw mening telt."
        )
    };
    let next = match case.next_meeting() {
        Some(m) => {
            let d = &m.data;
            let mut s = format!("Het volgende overleg is op {}", long_date(&d.date));
            if !d.start.is_empty() {
                s.push_str(&format!(" om {}", d.start));
            }
            if !d.place.is_empty() {
                s.push_str(&format!(", in {}", d.place));
            }
            s.push('.');
            s
        }
        None => match case.evaluation_due() {
            Some(e) => format!(
                "Er is nog geen nieuw overleg gepland. Rond {} kijken we samen terug op de afspraken.",
                long_date(&e)
            ),
            None => "Er is nog geen overleg gepland.".into(),
        },
    };
    let good = items
        .iter()
        .filter(|i| {
            matches!(
                i.data.section,
                Section::Circle {
                    slot: CircleSlot::Plus,
                    ..
                }
            )
        })
        .map(|i| i.data.text.clone())
        .collect();
    let agreed = case
        .agreements()
        .into_iter()
        .map(|a| {
            let a = a.data;
            let mut s = format!("{}: {}.", a.wie, a.wat);
            if !a.due.is_empty() {
                s.push_str(&format!(" Klaar op {}.", long_date(&a.due)));
            }
            s.push_str(match a.status {
                AgreementStatus::Open => " Nog bezig.",
                AgreementStatus::Gedaan => " Gedaan.",
                AgreementStatus::Vervallen => " Gaat niet meer door.",
            });
            s
        })
        .collect();
    let mine = case.my_member().map(|m| m.id.clone()).unwrap_or_default();
    let my_questions = items
        .iter()
        .filter(|i| {
            i.data.section == Section::Vragen
                && (i.data.author == mine || i.data.by.as_deref() == Some(mine.as_str()))
        })
        .map(|i| i.data.text.clone())
        .collect();
    let st = case.state();
    let (parents, children) = access::required_consenters(st, case.today());
    let asks_me = parents.contains(&mine) || children.contains(&mine);
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| "iemand".into());
    let my_consents = st
        .consents
        .values()
        .filter(|r| {
            matches!(r.spec.basis, Basis::Consent { .. })
                && (asks_me || r.answers.contains_key(&mine))
        })
        .map(|r| {
            let what = r
                .spec
                .categories
                .iter()
                .map(|c| c.label())
                .collect::<Vec<_>>()
                .join(", ");
            let from = if r.spec.sources.is_empty() {
                String::new()
            } else {
                format!(" van {}", r.spec.sources.join(", "))
            };
            let to = r
                .spec
                .recipients
                .iter()
                .map(|x| recipient_label(x, names))
                .collect::<Vec<_>>()
                .join(", ");
            let answer = match r.answers.get(&mine) {
                Some(a) => format!(
                    "{} antwoord: {} ({}).",
                    if for_child { "Jouw" } else { "Uw" },
                    a.state.label(),
                    long_date(&a.on)
                ),
                None => format!(
                    "{} hebt nog geen antwoord gegeven.",
                    if for_child { "Je" } else { "U" }
                ),
            };
            let explanation = format!(
                "Mogen {to} {what}{from} lezen? Waarvoor: {}. Tot {}. {answer} {} kunt {} antwoord altijd veranderen of intrekken; wat al gedeeld is, blijft bij wie het al had.",
                r.spec.purpose,
                long_date(&r.spec.until),
                if for_child { "Je" } else { "U" },
                if for_child { "je" } else { "uw" },
            );
            let acts = crate::profile::consent::acts(case, r);
            let labels = acts.iter().map(|a| a.label(&mine, &|p| name(p))).collect();
            (
                r.spec.id.clone(),
                explanation,
                acts.iter().map(|a| a.code()).collect(),
                labels,
            )
        })
        .collect();
    PlainView {
        for_child,
        intro,
        next,
        good,
        agreed,
        my_questions,
        my_consents,
    }
}

fn goal_rows(case: &Case, items: &[crate::core::case::Placed<ItemData>]) -> Vec<GoalView> {
    let _ = case;
    items
        .iter()
        .filter_map(|i| match &i.data.section {
            Section::Circle {
                circle,
                slot: CircleSlot::Doel,
            } => Some(GoalView {
                id: i.data.id.clone(),
                circle: circle_label(circle),
                text: i.data.text.clone(),
                term: i
                    .data
                    .term
                    .map(|t| t.label().to_string())
                    .unwrap_or_default(),
                status: i
                    .data
                    .status
                    .unwrap_or(crate::core::model::ItemStatus::Open)
                    .label()
                    .to_string(),
            }),
            _ => None,
        })
        .collect()
}

fn routes(case: &Case, me: &Me, names: &BTreeMap<String, String>) -> Vec<RouteView> {
    case.routes()
        .into_iter()
        .map(|r| {
            let r = r.data;
            RouteView {
                title: format!("{}, {}", r.kind.label(), long_date(&r.date))
                    + &if r.until.is_empty() {
                        String::new()
                    } else {
                        format!(" (tot {})", long_date(&r.until))
                    },
                answers: r
                    .answers
                    .iter()
                    .map(|(who, a)| {
                        format!(
                            "{}: {} ({}){}",
                            names
                                .get(who)
                                .cloned()
                                .unwrap_or_else(|| "een deelnemer".into()),
                            a.agrees.label(),
                            long_date(&a.on),
                            if a.text.is_empty() {
                                String::new()
                            } else {
                                format!(" — {}", a.text)
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" · "),
                can_answer: r.kind == crate::core::model::RouteKind::Opp && me.role.gives_consent(),
                text: r.text,
                id: r.id,
            }
        })
        .collect()
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
