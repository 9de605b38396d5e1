//! Writing *for someone*: every piece of content that enters a case names the compartment it
//! goes to. There is no write without an audience and no silent default: a caller that has no
//! choice from the person asks [`default_for`] — the role's and the section's default
//! (`core::audience`), which the command line prints and the app shows under *voor wie?* before
//! anything is saved. The text is written straight into the chosen compartment, never first
//! into a broader one (`docs/sharing-rules.md` §2a).

use crate::core::audience::{self, Writing};
use crate::core::case::{Case, CompartmentKind, Me, NewAgreement};
use crate::core::model::{Direction, Section};
use crate::core::verslag;

use super::{Error, Result};

/// Why an item is kept from the parents, and when that is looked at again. An item in the
/// safety track carries both: keeping information from a parent is a decision about that
/// item, with its reason written down (AVG art. 12(4), 23; UAVG art. 41; WGBO art. 7:457 lid 3;
/// Jeugdwet art. 7.3.11 lid 3), and a restriction ends when its reason does — so it is reviewed
/// (issue 14; `docs/sharing-rules.md` §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withhold {
    /// Why, written down.
    pub reason: String,
    /// Review date (YYYY-MM-DD), after today and within a year.
    pub review: String,
}

/// How many days before its review date a withheld item is listed as due.
pub const REVIEW_NOTICE_DAYS: i64 = 14;

/// The withheld items `case` shows to this device whose review is due within
/// [`REVIEW_NOTICE_DAYS`] (or overdue), soonest first: (review date, text, reason).
pub fn reviews_due(case: &Case) -> Vec<(String, String, String)> {
    let today = case.today();
    let mut out: Vec<(String, String, String)> = case
        .items()
        .into_iter()
        .filter_map(|i| {
            let review = i.data.review.clone()?;
            let day = crate::core::model::parse_date(&review).ok()?;
            ((day - today).whole_days() <= REVIEW_NOTICE_DAYS).then(|| {
                (
                    review,
                    i.data.text.clone(),
                    i.data.withheld.clone().unwrap_or_default(),
                )
            })
        })
        .collect();
    out.sort();
    out
}

fn check_withhold(case: &Case, w: Option<&Withhold>) -> Result<Withhold> {
    let Some(w) = w else {
        return Err("iets in het veiligheidsspoor houdt u bewust voor de ouders achter: schrijf op waarom, en wanneer u dat opnieuw bekijkt".into());
    };
    if w.reason.trim().is_empty() {
        return Err("schrijf op waarom dit niet met de ouders gedeeld wordt".into());
    }
    let day = crate::core::model::parse_date(w.review.trim())?;
    let days = (day - case.today()).whole_days();
    if !(1..=366).contains(&days) {
        return Err("kies een datum binnen een jaar waarop u opnieuw bekijkt of dit nog voor de ouders achtergehouden moet worden".into());
    }
    Ok(Withhold {
        reason: w.reason.trim().to_string(),
        review: w.review.trim().to_string(),
    })
}

/// Content to write into a case.
#[derive(Debug, Clone)]
pub enum Write {
    /// An item of a section: circles (`kind.plus`), questions (`vragen`), goals, notes
    /// (`notitie`) … `by`: whose item it is when not the writer's (a parent's question).
    Item {
        /// The section.
        section: Section,
        /// The text.
        text: String,
        /// The item it follows from in the needs chain.
        parent: Option<String>,
        /// Whose item it is (participant id), if not the writer's.
        by: Option<String>,
        /// Why it is kept from the parents and when that is reviewed: required in the safety
        /// track ([`Withhold`]).
        withhold: Option<Withhold>,
    },
    /// A step of the needs chain: a need (`behoeften.*`, under a goal or on its own), an
    /// approach (`aanpak.*`), a support need (`ondersteuning.*`) or an effect, under the need or
    /// approach `parent`. A support need or effect given a need goes under that need's latest
    /// approach when it has one.
    Chain {
        /// The section (one of the needs chain's).
        section: Section,
        /// The text.
        text: String,
        /// The need or approach it elaborates.
        parent: Option<String>,
    },
    /// An agreement: wie, wat, waarom, wanneer, hoe.
    Agreement(NewAgreement),
    /// An arrow between two circles.
    Arrow {
        /// From circle.
        from: String,
        /// To circle.
        to: String,
        /// The interplay.
        text: String,
        /// Upward or downward spiral.
        direction: Direction,
    },
    /// A meeting: its date (`YYYY-MM-DD`) and planned end (`HH:MM`, may be empty). Its
    /// audience is the meeting's: with parents, or professionals only.
    Meeting {
        /// Date.
        date: String,
        /// Planned end.
        end: String,
        /// Mark the writer present (the chair opening the meeting at the table).
        present: Option<String>,
        /// Start time (`HH:MM`, may be empty), place and who is invited (participant ids).
        plan: Plan,
    },
    /// A record of the support route: an OPP, a deskundigenadvies, a TLV or an arrangement.
    Route {
        /// What kind.
        kind: crate::core::model::RouteKind,
        /// Date (`YYYY-MM-DD`, empty: today).
        date: String,
        /// Until (`YYYY-MM-DD`) or empty.
        until: String,
        /// What it says.
        text: String,
    },
    /// Notes at step 1–6 of a meeting.
    MeetingNote {
        /// The meeting.
        meeting: String,
        /// The step.
        step: usize,
        /// The notes.
        text: String,
    },
    /// The verslag of a meeting, composed for the audience it is written to: it holds only
    /// what every reader of that audience may read (`core::verslag::compose`).
    Verslag {
        /// The meeting.
        meeting: String,
    },
}

/// A meeting's plan: when it starts, where, and who is invited (seed 002:152-154: "wie doen
/// mee, wat zijn de doelen").
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Start time `HH:MM`, or empty.
    pub start: String,
    /// Where, or empty.
    pub place: String,
    /// Invited participants (ids).
    pub invited: Vec<String>,
}

/// What a write did: the id of the new entry and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The new entry's id (the meeting's, for a meeting note or a verslag).
    pub id: String,
    /// The compartment it was written to.
    pub kind: CompartmentKind,
}

impl Written {
    /// "voor ouders en professionals" — who will be able to read it.
    pub fn voor(&self) -> String {
        audience::voor(&self.kind)
    }
}

/// The audience a write goes to when the person chose none: the role's and the section's
/// default (`core::audience::default_for`); for meeting notes the meeting's own audience or the
/// role's narrower one (`note_default`). A meeting and a verslag have no default: the person
/// always says for whom (a verslag for the parents holds less than one for professionals).
pub fn default_for(case: &Case, me: &Me, w: &Write) -> Result<CompartmentKind> {
    Ok(match w {
        Write::Item { section, .. } | Write::Chain { section, .. } => {
            with_the_child(case, audience::default_for(me, Writing::Item(section)))
        }
        Write::Agreement(_) | Write::Route { .. } => {
            with_the_child(case, audience::default_for(me, Writing::Agreement))
        }
        Write::Arrow { .. } => with_the_child(case, audience::default_for(me, Writing::Arrow)),
        // A meeting note goes to the meeting's audience or a narrower one, never broader.
        Write::MeetingNote { meeting, .. } => note_default(case, me, &case.meeting_kind(meeting)?),
        Write::Meeting { .. } => {
            return Err(Error::Said(
                "kies voor wie het overleg is: met ouders (en kind), of alleen voor professionals"
                    .into(),
            ));
        }
        Write::Verslag { .. } => {
            return Err(Error::Said(
                "kies voor wie het verslag is: ouders (en kind) en professionals, alleen professionals, of de eigen organisatie".into(),
            ));
        }
    })
}

/// Where `me`'s notes at a step of a meeting held for `held` go unless chosen otherwise: the
/// role's note default (`audience::note_default`), with the child when the child is 12–15 and
/// the meeting is held with the child — never broader than the meeting. The CLI and the app's
/// meeting screen both use it.
pub fn note_default(case: &Case, me: &Me, held: &CompartmentKind) -> CompartmentKind {
    let kind = audience::note_default(me, held);
    let wide = with_the_child(case, kind.clone());
    if audience::may_note(&wide, held) {
        wide
    } else {
        kind
    }
}

/// From 12 the child reads the shared content of their own MDO (circles, needs chain,
/// agreements): what would go to "professionals en ouders" by default goes to "professionals,
/// ouders en kind" (seed 000:17: between 12 and 16 the child agrees and "ook betrokken is bij
/// het gesprek"; seed 002: transparency for all involved; issue 14). An explicit choice of the
/// parents' compartment stays possible. (From 16 the two are the same audience.)
pub fn with_the_child(case: &Case, kind: CompartmentKind) -> CompartmentKind {
    let twelve = case.state().band(case.today()) == Some(crate::core::model::AgeBand::Van12Tot16);
    match kind {
        CompartmentKind::Shared(crate::core::model::Audience::Parents) if twelve => {
            CompartmentKind::Shared(crate::core::model::Audience::Child)
        }
        k => k,
    }
}

/// The compartment a *voor wie?* descriptor names (`parents`, `organisation:OBS De Wilgen`, …).
pub fn parse_choice(descriptor: &str) -> Result<CompartmentKind> {
    let d = descriptor.trim();
    if d.is_empty() {
        return Err("kies eerst voor wie dit is".into());
    }
    CompartmentKind::parse(d).ok_or_else(|| {
        Error::Said(format!(
            "onbekende groep '{d}': kies voor wie dit is uit de lijst"
        ))
    })
}

/// Writes `w` into `case`, in compartment `kind`; returns what was written where. The caller
/// commits ([`super::Session::write`] does both).
pub fn apply(
    case: &mut Case,
    me: &Me,
    now: i64,
    w: Write,
    kind: CompartmentKind,
) -> Result<Written> {
    // A closed case is not changed: its retention terms run from the closing (issue 17).
    if let Some(c) = &case.state().closed {
        return Err(Error::Said(format!(
            "deze casus is afgesloten op {} ({}); de voorzitter heropent haar eerst als er iets bij moet",
            crate::core::model::long_date(&c.on),
            c.reason
        )));
    }
    let id = match w {
        Write::Item {
            section,
            text,
            parent,
            by,
            withhold,
        } => {
            let withhold = if matches!(kind, CompartmentKind::Safety(_)) {
                Some(check_withhold(case, withhold.as_ref())?)
            } else {
                None
            };
            let id = case.add_item_in(me, section, &text, kind.clone(), parent, now)?;
            if let Some(by) = by.filter(|b| !b.trim().is_empty()) {
                case.set_item_by(&id, by.trim())?;
            }
            if let Some(w) = withhold {
                case.set_item_withheld(&id, &w.reason, &w.review)?;
            }
            id
        }
        Write::Chain {
            section,
            text,
            parent,
        } => {
            if !matches!(
                section,
                Section::Behoeften(_)
                    | Section::Aanpak(_)
                    | Section::Ondersteuning(_)
                    | Section::Effect
            ) {
                return Err(Error::Said(format!(
                    "'{section}' hoort niet bij de behoeftenketen"
                )));
            }
            let parent = parent.filter(|p| !p.trim().is_empty());
            // A support need hangs under the approach it serves, an effect under an approach or
            // a need, an approach under a need: chosen by the writer, never guessed (issue 15).
            let parent_section = parent.as_ref().and_then(|p| {
                case.items()
                    .into_iter()
                    .find(|i| &i.data.id == p)
                    .map(|i| i.data.section)
            });
            let fits = match (&section, &parent_section) {
                (Section::Behoeften(_), None) => true,
                (Section::Behoeften(_), Some(Section::Circle { slot, .. })) => {
                    *slot == crate::core::model::CircleSlot::Doel
                }
                (Section::Aanpak(_), Some(Section::Behoeften(_))) => true,
                (Section::Ondersteuning(_), Some(Section::Aanpak(_))) => true,
                (Section::Effect, Some(Section::Aanpak(_) | Section::Behoeften(_))) => true,
                _ => false,
            };
            if !fits {
                return Err(match section {
                    Section::Behoeften(_) => "een behoefte hoort bij een doel".into(),
                    Section::Aanpak(_) => "kies bij welke behoefte deze aanpak hoort".into(),
                    Section::Ondersteuning(_) => {
                        "kies bij welke aanpak deze ondersteuningsbehoefte hoort".into()
                    }
                    _ => "kies bij welke aanpak of behoefte dit effect hoort".into(),
                });
            }
            case.add_item_in(me, section, &text, kind.clone(), parent, now)?
        }
        Write::Agreement(a) => case.add_agreement_in(me, a, kind.clone(), now)?,
        Write::Arrow {
            from,
            to,
            text,
            direction,
        } => {
            if text.trim().is_empty() {
                return Err("schrijf bij de pijl wat de wisselwerking is".into());
            }
            if from == to {
                return Err("een pijl gaat van de ene cirkel naar een andere".into());
            }
            case.add_arrow_in(&from, &to, &text, direction, kind.clone())?
        }
        Write::Meeting {
            date,
            end,
            present,
            plan,
        } => {
            let end = end.trim();
            let start = plan.start.trim();
            for (t, what) in [(end, "het geplande einde"), (start, "de begintijd")] {
                if !t.is_empty() && clock_minutes(t).is_none() {
                    return Err(Error::Said(format!(
                        "'{t}' is geen tijd; schrijf {what} als UU:MM, bijvoorbeeld 16:00"
                    )));
                }
            }
            if let (Some(s), Some(e)) = (clock_minutes(start), clock_minutes(end))
                && e <= s
            {
                return Err("het geplande einde ligt voor de begintijd".into());
            }
            let roster = case.participants();
            for who in &plan.invited {
                if !roster.iter().any(|p| &p.id == who) {
                    return Err(Error::Said(format!(
                        "'{who}' staat niet in de lijst van deelnemers van deze casus"
                    )));
                }
            }
            let id = case.new_meeting(date.trim(), end, kind.clone())?;
            if !start.is_empty() {
                case.set_meeting_field(&id, "start", start)?;
            }
            if !plan.place.trim().is_empty() {
                case.set_meeting_field(&id, "place", &plan.place)?;
            }
            for who in &plan.invited {
                case.set_invited(&id, who, true)?;
            }
            if let Some(p) = present {
                case.meeting_present(&id, &p)?;
            }
            id
        }
        Write::Route {
            kind: route,
            date,
            until,
            text,
        } => {
            if !me.role.is_professional() {
                return Err(
                    "een OPP, deskundigenadvies, TLV of arrangement legt een professional vast"
                        .into(),
                );
            }
            let id = crate::core::case::new_id()?;
            let date = if date.trim().is_empty() {
                crate::core::model::format_date(case.today())
            } else {
                date.trim().to_string()
            };
            case.add_route(
                &crate::core::doc::RouteRecord {
                    id: id.clone(),
                    kind: route,
                    date,
                    until: until.trim().to_string(),
                    text: text.trim().to_string(),
                    by: me.person.clone(),
                    answers: Default::default(),
                },
                kind.clone(),
            )?;
            id
        }
        Write::MeetingNote {
            meeting,
            step,
            text,
        } => {
            case.meeting_step(&meeting, step, &text, kind.clone())?;
            meeting
        }
        Write::Verslag { meeting } => {
            super::traject::chair_only(case, "het verslag opstellen")?;
            if !case
                .verslag_status(&meeting, &kind)
                .vastgesteld_by
                .is_empty()
            {
                return Err("dit verslag is al vastgesteld en verandert niet meer; reacties van ouders en de jongere komen eronder".into());
            }
            let v = verslag::compose(case, Some(&meeting), &kind)?;
            case.store_verslag(&v)?;
            meeting
        }
    };
    Ok(Written { id, kind })
}

/// Minutes since midnight of a clock time `HH:MM` (or `HH.MM`).
pub fn clock_minutes(s: &str) -> Option<i32> {
    let (h, m) = s.trim().split_once([':', '.'])?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

impl super::Session {
    /// Writes `w` into `case` for the audience `kind` and commits: the one door for content.
    pub fn write(&mut self, case: &mut Case, w: Write, kind: CompartmentKind) -> Result<Written> {
        let (written, _) = self.edit(case, |case, p| apply(case, p.me(), p.now(), w, kind))?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times() {
        assert_eq!(clock_minutes("16:00"), Some(960));
        assert_eq!(clock_minutes("9.30"), Some(570));
        assert_eq!(clock_minutes("25:00"), None);
        assert_eq!(clock_minutes("vier uur"), None);
    }

    #[test]
    fn a_choice_must_be_made() {
        assert!(parse_choice(" ").is_err());
        assert!(parse_choice("iedereen").is_err());
        assert_eq!(
            parse_choice("parents").ok(),
            Some(CompartmentKind::Shared(
                crate::core::model::Audience::Parents
            ))
        );
    }
}
