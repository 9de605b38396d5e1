//! Retention per controller (issue 17): each organisation in an MDO is its own controller, with
//! its own retention period for the compartments it holds, counted from the closing of the case.
//! This module is the rule table and the schedule — sans-IO: the state of the membership log in,
//! the planned destruction dates out. The sources of every default are in
//! `docs/retention-sources.md`; the decisions where the law is silent in `docs/sharing-rules.md`
//! §6a.
//!
//! * [`Controller`] — what kind of controller an organisation is, from the roles of its people;
//! * [`default_term`] — the default term for a compartment of that controller, with its source;
//! * [`schedule`] — for every compartment of a closed case: whose it is, the term, the date.

use serde::Serialize;

use super::compartment::CompartmentKind;
use super::membership::State;
use super::model::{Date, Role};

/// What kind of controller (*verwerkingsverantwoordelijke*) an organisation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Controller {
    /// A school (PO/VO): IB-er, leerkracht, mentor, zoco, directeur.
    School,
    /// The samenwerkingsverband passend onderwijs.
    Samenwerkingsverband,
    /// Youth health care (JGZ) or other health care under the WGBO: jeugdarts, GGZ, huisarts.
    Zorg,
    /// Youth care under the Jeugdwet: JG-coach, jeugdhulpverlener.
    Jeugdhulp,
    /// A certified institution (GI): jeugdbescherming (OTS, voogdij).
    Jeugdbescherming,
    /// School social work and youth work: no statutory term.
    Welzijn,
    /// The municipality's leerplicht, or the police: their own selection list or statute.
    Overheid,
}

impl Controller {
    /// The controller kind a role belongs to (none for parents, the child and the network:
    /// they keep their own copy and are not a controller of the MDO file).
    pub fn of_role(role: Role) -> Option<Controller> {
        Some(match role {
            Role::Leerkracht | Role::Mentor | Role::IbEr | Role::Zoco | Role::Directeur => {
                Controller::School
            }
            Role::ConsulentSwv => Controller::Samenwerkingsverband,
            Role::Jeugdarts | Role::Gezondheidszorg => Controller::Zorg,
            Role::JgCoach | Role::Jeugdhulpverlener => Controller::Jeugdhulp,
            Role::Jeugdbeschermer => Controller::Jeugdbescherming,
            Role::Schoolmaatschappelijkwerker | Role::Jongerenwerker => Controller::Welzijn,
            Role::Leerplichtambtenaar | Role::Politie => Controller::Overheid,
            // The privacy officer checks the controller; the organisation's other roles say
            // what kind of controller it is.
            Role::Privacy => return None,
            Role::Ouder | Role::Voogd | Role::Pleegouder | Role::Kind | Role::Netwerk => {
                return None;
            }
        })
    }

    /// Dutch label.
    pub fn label(self) -> &'static str {
        match self {
            Controller::School => "school",
            Controller::Samenwerkingsverband => "samenwerkingsverband",
            Controller::Zorg => "zorgverlener (WGBO)",
            Controller::Jeugdhulp => "jeugdhulp (Jeugdwet)",
            Controller::Jeugdbescherming => "jeugdbescherming",
            Controller::Welzijn => "welzijn",
            Controller::Overheid => "gemeente of politie",
        }
    }

    /// The shortest term the law allows this controller for its dossier, in years (the WGBO and
    /// the Jeugdwet: 20 years), if the law sets one. A setting below it is refused.
    pub fn statutory_minimum(self) -> Option<u32> {
        match self {
            // Jeugdbescherming: the Jeugdwet's dossier rules (7.3.8) are taken to apply to the
            // GI as well (decision, not verified in the statute: the stricter choice).
            Controller::Zorg | Controller::Jeugdhulp | Controller::Jeugdbescherming => Some(20),
            _ => None,
        }
    }

    /// How strict a kind is, for an organisation whose people have roles of several kinds: the
    /// kinds with a statutory minimum first.
    fn strictness(self) -> u8 {
        match self {
            Controller::Zorg => 0,
            Controller::Jeugdhulp => 1,
            Controller::Jeugdbescherming => 2,
            Controller::Overheid => 3,
            Controller::School => 4,
            Controller::Samenwerkingsverband => 5,
            Controller::Welzijn => 6,
        }
    }
}

/// The controller kind of `organisation` in the case: from the roles of its active professionals;
/// where they differ (a GGD with a jeugdarts and an administrative role), the strictest — a kind
/// with a statutory minimum wins, so an organisation cannot shorten its medical term by who it
/// invites.
pub fn controller_of(st: &State, organisation: &str) -> Option<Controller> {
    let org = organisation.trim();
    st.members
        .values()
        .filter(|m| m.is_active() && m.organisation.trim().eq_ignore_ascii_case(org))
        .filter_map(|m| Controller::of_role(m.role))
        .min_by_key(|c| c.strictness())
}

/// The key under which an organisation's own term is kept (names compared without case).
pub fn org_key(organisation: &str) -> String {
    organisation.trim().to_lowercase()
}

/// The law's minimum for a compartment: medical and mental-health information is WGBO dossier
/// content whoever holds it (20 years, BW 7:454 lid 3); otherwise the controller's.
pub fn minimum_for(kind: &CompartmentKind, controller: Option<Controller>) -> Option<u32> {
    match kind {
        CompartmentKind::Category(c, _) if c.needs_release() => Some(20),
        CompartmentKind::Author(_) => None,
        _ => controller.and_then(Controller::statutory_minimum),
    }
}

/// From when a term is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Clock {
    /// The closing of the case (a closed case is not changed, so it is also the last change).
    Closing,
    /// The child's 18th birthday (jeugdbescherming).
    Majority,
}

/// A retention term with its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Term {
    /// Years; 0 means at the clock's start.
    pub years: u32,
    /// From when.
    pub clock: Clock,
    /// Where the term comes from (an article, or a documented decision).
    pub source: String,
    /// Whether the law sets the term (else guidance or a decision).
    pub statutory: bool,
}

fn term(years: u32, clock: Clock, source: &str, statutory: bool) -> Option<Term> {
    Some(Term {
        years,
        clock,
        source: source.to_string(),
        statutory,
    })
}

/// The default term for the compartments a controller of kind `c` holds for the MDO. `None`:
/// the organisation must set it (no default the law or guidance gives).
pub fn default_term(c: Controller) -> Option<Term> {
    match c {
        Controller::Zorg => term(
            20,
            Clock::Closing,
            "BW art. 7:454 lid 3 (WGBO): twintig jaar vanaf de laatste wijziging in het dossier",
            true,
        ),
        Controller::Jeugdhulp => term(
            20,
            Clock::Closing,
            "Jeugdwet art. 7.3.8 lid 3: twintig jaar vanaf de laatste wijziging in het dossier",
            true,
        ),
        Controller::Jeugdbescherming => term(
            30,
            Clock::Majority,
            "rijksoverheid.nl: jeugdbeschermingsdossier uiterlijk 30 jaar na de meerderjarigheid (niet nagekeken in de wet; besluit MDO: als standaard genomen, met ten minste de 20 jaar van Jeugdwet art. 7.3.8 lid 3)",
            false,
        ),
        Controller::School | Controller::Samenwerkingsverband => term(
            2,
            Clock::Closing,
            "AVG art. 5 lid 1 (e); richtlijn Kennisnet: leerlinggegevens 2 jaar nadat de leerling de school verliet (besluit MDO: gerekend vanaf het afsluiten van de casus)",
            false,
        ),
        Controller::Welzijn => term(
            2,
            Clock::Closing,
            "AVG art. 5 lid 1 (e): niet langer dan nodig (geen wettelijke termijn; besluit MDO: 2 jaar na het afsluiten)",
            false,
        ),
        Controller::Overheid => None,
    }
}

/// One compartment of a case with its retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    /// The compartment's descriptor.
    pub descriptor: String,
    /// The organisation that is its controller (empty: no controller — a parent's or child's
    /// own notes).
    pub organisation: String,
    /// What kind of controller it is.
    pub controller: Option<Controller>,
    /// The term (the organisation's own setting where it made one).
    pub term: Option<Term>,
    /// The organisation's own setting: who set it and why.
    pub set_by: Option<String>,
    /// The planned destruction date (`None`: not closed, no term, or no controller).
    #[serde(serialize_with = "date_text")]
    pub destroy_on: Option<Date>,
}

fn date_text<S: serde::Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&super::model::format_date(*d)),
        None => s.serialize_none(),
    }
}

/// The controller of a compartment: its organisation. Shared compartments (of the whole table)
/// belong to the organiser of the MDO — the organisation that decided to hold it, the school as a
/// rule; an author's own compartment to the author's organisation (none for a parent or child).
pub fn owner_of(st: &State, kind: &CompartmentKind) -> String {
    match kind {
        CompartmentKind::Organisation(o)
        | CompartmentKind::Safety(o)
        | CompartmentKind::Category(_, o) => o.clone(),
        CompartmentKind::Shared(_) => st.organiser.clone(),
        CompartmentKind::Author(person) | CompartmentKind::Log(person) => st
            .members
            .get(person)
            .filter(|m| m.role.is_professional())
            .map(|m| m.organisation.clone())
            .unwrap_or_default(),
    }
}

/// Adds whole years to a date (29 February becomes 28 February in a year without it).
pub fn add_years(d: Date, years: u32) -> Date {
    let y = d.year() + years as i32;
    Date::from_calendar_date(y, d.month(), d.day())
        .or_else(|_| Date::from_calendar_date(y, d.month(), 28))
        .unwrap_or(d)
}

/// The retention of every compartment the case has, on the closing date `closed_on` (none
/// while the case runs). An author's own work notes (a professional's) go at the closing (law
/// notes §4, "author-only work notes"); the rest follow their controller's term.
pub fn schedule(st: &State, closed_on: Option<Date>) -> Vec<Planned> {
    let mut out: Vec<Planned> = st
        .keys
        .values()
        .filter_map(|k| CompartmentKind::parse(&k.descriptor))
        .map(|kind| {
            let organisation = owner_of(st, &kind);
            let controller = if organisation.is_empty() {
                None
            } else {
                controller_of(st, &organisation)
            };
            let own = if organisation.is_empty() {
                None
            } else {
                st.retention.get(&org_key(&organisation))
            };
            let (minimum, min_source) = match &kind {
                // The MDO file shared by everyone at the table holds what a jeugdarts or a
                // jeugdhulpverlener wrote there too: it is kept as long as the longest minimum of
                // the organisations at the table (decision, docs/sharing-rules.md §6b).
                CompartmentKind::Shared(_) => (
                    st.members
                        .values()
                        .filter(|m| m.role.is_professional())
                        .filter_map(|m| Controller::of_role(m.role))
                        .filter_map(Controller::statutory_minimum)
                        .max()
                        .max(minimum_for(&kind, controller)),
                    "de langste wettelijke termijn van de organisaties aan tafel (BW art. 7:454 lid 3, Jeugdwet art. 7.3.8 lid 3; besluit MDO)",
                ),
                // Who read what is kept at least 5 years from the line (Besluit elektronische
                // gegevensverwerking door zorgaanbieders art. 5; Stcrt. 2019, 38007) — for every
                // organisation (decision).
                CompartmentKind::Log(_) => (
                    Some(minimum_for(&kind, controller).unwrap_or(0).max(5)),
                    "het logboek ten minste 5 jaar (Besluit elektronische gegevensverwerking door zorgaanbieders art. 5; besluit MDO)",
                ),
                _ => (
                    minimum_for(&kind, controller),
                    "BW art. 7:454 lid 3, Jeugdwet art. 7.3.8 lid 3",
                ),
            };
            let term = match (&kind, controller) {
                (_, None) => None,
                (CompartmentKind::Author(_), Some(_)) => term(
                    0,
                    Clock::Closing,
                    "eigen werkaantekeningen: vernietigd bij het afsluiten (AVG art. 5 lid 1 (e); besluit MDO)",
                    false,
                ),
                (_, Some(c)) => match own {
                    Some(s) => Some(Term {
                        years: s.years,
                        clock: default_term(c).map_or(Clock::Closing, |t| t.clock),
                        source: format!("ingesteld door {}: {}", organisation, s.reason),
                        statutory: false,
                    }),
                    None => default_term(c),
                },
            }
            // Never below the law's minimum, whatever was set or derived earlier.
            .map(|mut t| {
                if let Some(min) = minimum
                    && t.years < min
                {
                    t.years = min;
                    t.source = format!("{}; ten minste {min} jaar ({min_source})", t.source);
                    t.statutory = true;
                }
                t
            });
            let set_by = match (&kind, own) {
                (CompartmentKind::Author(_), _) | (_, None) => None,
                (_, Some(s)) => Some(format!("{} op {}: {}", s.by, s.on, s.reason)),
            };
            let destroy_on = match (&term, closed_on) {
                (Some(t), Some(closed)) => match t.clock {
                    Clock::Closing => Some(add_years(closed, t.years)),
                    Clock::Majority => st
                        .birthdate
                        .map(|b| add_years(b, 18 + t.years))
                        .map(|d| d.max(closed)),
                },
                _ => None,
            };
            Planned {
                descriptor: kind.descriptor(),
                organisation,
                controller,
                term,
                set_by,
                destroy_on,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.destroy_on.is_none(), a.destroy_on, &a.descriptor).cmp(&(
            b.destroy_on.is_none(),
            b.destroy_on,
            &b.descriptor,
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::compartment::Me;
    use crate::core::membership::Action;
    use crate::core::model::format_date;

    /// The demo case of Noor (school, SWV, gemeente, SMW, GGD JGZ, the parents and oma) closed
    /// on 28 November 2026: every part gets its organisation's term, counted from the closing.
    #[test]
    fn each_organisation_keeps_its_own_part_for_its_own_term() {
        let d = mdo_crypto::DeviceSecret::generate().unwrap();
        let me = Me {
            person: "monique".into(),
            name: "Monique de Vries".into(),
            role: Role::IbEr,
            organisation: "OBS De Wilgen".into(),
            device: d.device_id(),
        };
        let today = time::macros::date!(2026 - 11 - 28);
        let mut c = crate::core::demo::noor(&me, &d, today, 1_795_000_000).unwrap();
        // While it runs: the terms wait for the closing.
        assert!(
            schedule(c.state(), None)
                .iter()
                .all(|p| p.destroy_on.is_none())
        );
        c.membership(
            &d,
            Action::Close {
                reason: "afgerond".into(),
            },
        )
        .unwrap();
        assert_eq!(c.state().closed.as_ref().unwrap().on, "2026-11-28");
        let plan = schedule(c.state(), Some(today));
        let of = |descriptor: &str| {
            plan.iter()
                .find(|p| p.descriptor == descriptor)
                .unwrap_or_else(|| panic!("{descriptor} in {plan:?}"))
        };
        let date = |p: &Planned| p.destroy_on.map(format_date);
        // The table's shared file: the organiser's (the school) — its 2 years, but never below
        // the longest minimum at the table: the GGD's jeugdarts takes part, 20 years (issue 17).
        let parents = of("parents");
        assert_eq!(parents.organisation, "OBS De Wilgen");
        assert_eq!(parents.controller, Some(Controller::School));
        assert_eq!(date(parents).as_deref(), Some("2046-11-28"));
        // The GGD is a WGBO controller: its parts would be kept 20 years (7:454 lid 3). (The
        // demo holds none on the chair's device; the CLI test has a real one.)
        assert_eq!(controller_of(c.state(), "GGD JGZ"), Some(Controller::Zorg));
        assert_eq!(
            controller_of(c.state(), "SWV Passend Onderwijs"),
            Some(Controller::Samenwerkingsverband)
        );
        // Every part here has a controller and a date but the parents' own notes.
        assert!(
            plan.iter()
                .all(|p| p.organisation.is_empty() || p.destroy_on.is_some()),
            "{plan:?}"
        );
        // Sorted by date: the soonest first.
        let dates: Vec<_> = plan.iter().filter_map(|p| p.destroy_on).collect();
        assert!(dates.windows(2).all(|w| w[0] <= w[1]));

        // The school keeps its part longer, for a reason; the GGD's part is not the school's to
        // set.
        c.membership(
            &d,
            Action::SetRetention {
                organisation: "OBS De Wilgen".into(),
                years: 5,
                reason: "het OPP gaat mee naar het vervolgonderwijs".into(),
            },
        )
        .unwrap();
        assert!(
            c.membership(
                &d,
                Action::SetRetention {
                    organisation: "GGD JGZ".into(),
                    years: 1,
                    reason: "korter".into(),
                },
            )
            .is_err()
        );
        let plan = schedule(c.state(), Some(today));
        // The school's own 5 years do not shorten the shared file below the GGD's minimum.
        let parents = plan.iter().find(|p| p.descriptor == "parents").unwrap();
        assert_eq!(
            parents.destroy_on.map(format_date).as_deref(),
            Some("2046-11-28")
        );
        assert!(
            parents
                .set_by
                .as_deref()
                .unwrap()
                .contains("vervolgonderwijs")
        );

        // Reopening clears the closing; closing twice is refused.
        assert!(
            c.membership(
                &d,
                Action::Close {
                    reason: "nog eens".into()
                }
            )
            .is_err()
        );
        c.membership(
            &d,
            Action::Reopen {
                reason: "nieuwe zorgen".into(),
            },
        )
        .unwrap();
        assert!(c.state().closed.is_none());
        assert_eq!(c.state().closings.len(), 2);
    }

    /// An organisation cannot shorten what the law keeps: a GGD with a jeugdarts is a WGBO
    /// controller whoever else it brings, and medical information keeps its 20 years even where
    /// a shorter term was set before.
    #[test]
    fn the_law_s_minimum_cannot_be_gamed() {
        use crate::core::model::ConsentCategory;
        let kind = CompartmentKind::Category(ConsentCategory::Medisch, "Welzijn Oost".into());
        assert_eq!(minimum_for(&kind, Some(Controller::Welzijn)), Some(20));
        let notes = CompartmentKind::Organisation("GGD JGZ".into());
        assert_eq!(minimum_for(&notes, Some(Controller::Zorg)), Some(20));
        assert_eq!(minimum_for(&notes, Some(Controller::School)), None);
        assert!(Controller::Zorg.strictness() < Controller::Welzijn.strictness());
        assert_eq!(org_key("  GGD JGZ "), "ggd jgz");
    }

    #[test]
    fn the_law_sets_a_minimum_only_for_medical_and_youth_care_files() {
        assert_eq!(Controller::Zorg.statutory_minimum(), Some(20));
        assert_eq!(Controller::Jeugdhulp.statutory_minimum(), Some(20));
        assert_eq!(Controller::Jeugdbescherming.statutory_minimum(), Some(20));
        assert_eq!(Controller::School.statutory_minimum(), None);
        assert!(default_term(Controller::Overheid).is_none());
        assert_eq!(Controller::of_role(Role::Ouder), None);
        assert_eq!(Controller::of_role(Role::Jeugdarts), Some(Controller::Zorg));
        // 29 February plus a year without one.
        let leap = time::macros::date!(2028 - 02 - 29);
        assert_eq!(format_date(add_years(leap, 1)), "2029-02-28");
    }
}
