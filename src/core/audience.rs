//! Audiences as a writer meets them: *voor wie?* — the compartment a new text goes to by default
//! for a writer's role and the section, the choices a writer has, and the one rule that says
//! whether text of one compartment may be composed into another (a verslag, a meeting record).
//!
//! Who reads a compartment on a given day is [`super::access::resolve`]; this module decides
//! where text goes *before* it is written, so that nothing is ever written to a broader audience
//! than its author chose — not even for a moment (a moved item stays in the history of its old
//! compartment). The rules and their sources are in `docs/sharing-rules.md` §2 ("Voor wie?").

use super::compartment::{CompartmentKind, Me};
use super::model::{Audience, ConsentCategory, Role, Section};

/// What is being written: the default audience depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writing<'a> {
    /// An item of a section (circles, questions, needs chain, notes).
    Item(&'a Section),
    /// An agreement (wie, wat, waarom, wanneer, hoe).
    Agreement,
    /// An arrow between circles.
    Arrow,
    /// Notes at a step of a meeting.
    MeetingNote,
}

/// Roles whose organisation works in the safety and enforcement domain (police, child
/// protection, compulsory education). Their texts stay in their own organisation's safety track
/// or internal compartment unless they choose otherwise (`docs/sharing-rules.md`, decision
/// "enforcement roles write narrowly").
pub fn is_enforcement(role: Role) -> bool {
    matches!(
        role,
        Role::Politie | Role::Jeugdbeschermer | Role::Leerplichtambtenaar
    )
}

/// Roles that get no base access to the shared case (*alle professionals*, the case with
/// parents, the child's and the network's audiences): the enforcement and safety domain
/// (police and leerplicht — law.md §1g, §6.18 and §7.11: "enforcement bodies with different
/// purposes; information given to them can be used for enforcement"; the jeugdbeschermer by
/// decision, law.md §6.19: a GI's role must be declared, its information comes by the
/// child-protection basis) and the
/// jongerenwerker, who joins an MDO only when agreed with the parents and the child (seed 000
/// line 25: "Samen met jou en je kind wordt afgestemd wie nog meer moet aansluiten"). They read
/// their own notes, their organisation's safety and enforcement track, and what a consent or
/// legal basis opens to them — not even the internal compartment of an organisation of the same
/// name (a gemeente's leerplicht next to its jeugd- en gezinscoach) (`docs/sharing-rules.md`,
/// **decision** "no base access"). They do not chair a case.
pub fn no_base_access(role: Role) -> bool {
    // The privacy officer reads access logs only: it chairs nothing and records no consent.
    is_enforcement(role) || role == Role::Jongerenwerker || role == Role::Privacy
}

/// The compartment a new text of `me` goes to unless the writer chooses another one.
///
/// - medical roles (jeugdarts, GGZ, huisarts): their organisation's medical compartment — under
///   medical secrecy the professional decides what leaves it (BW 7:457; Wet BIG art. 88);
/// - police, child protection and the leerplichtambtenaar: their organisation's safety track
///   (seed 001: safety concerns are handled "vanuit hun beroep", with meldcodes; a separate
///   legal basis is needed to share into the case); the jongerenwerker: their own notes (no
///   base access, [`no_base_access`]);
/// - a note (`notitie`) of any other professional: their own organisation (an internal note);
/// - everything else of the method — circles, questions, needs chain, agreements, arrows,
///   meeting notes — written by school, youth care or the chair: the shared case with parents
///   (seed 002 §3, principle 7: "praten mét", transparency; domain.md: *case + parents* is the
///   default for HGW content);
/// - parents write to the shared case with parents (their own view of the child, seed 000);
///   the child to the audience that includes the child; the informal network to the network
///   compartment.
pub fn default_for(me: &Me, writing: Writing<'_>) -> CompartmentKind {
    let role = me.role;
    if role.is_medical() {
        return CompartmentKind::Category(ConsentCategory::Medisch, me.organisation.clone());
    }
    match role {
        Role::Politie | Role::Jeugdbeschermer => {
            return CompartmentKind::Safety(me.organisation.clone());
        }
        Role::Leerplichtambtenaar => return CompartmentKind::Safety(me.organisation.clone()),
        Role::Jongerenwerker | Role::Privacy => {
            return CompartmentKind::Author(me.person.clone());
        }
        Role::Ouder | Role::Voogd => return CompartmentKind::Shared(Audience::Parents),
        Role::Pleegouder => return CompartmentKind::Shared(Audience::Network),
        Role::Kind => return CompartmentKind::Shared(Audience::Child),
        Role::Netwerk => return CompartmentKind::Shared(Audience::Network),
        _ => {}
    }
    match writing {
        Writing::Item(Section::Notitie) => CompartmentKind::Organisation(me.organisation.clone()),
        _ => CompartmentKind::Shared(Audience::Parents),
    }
}

/// The audiences a writer may choose from, broadest last: only compartments whose audience
/// includes the writer (read = write). The app lists them under *voor wie?*.
pub fn choices(me: &Me) -> Vec<CompartmentKind> {
    let org = me.organisation.clone();
    let mut out = vec![CompartmentKind::Author(me.person.clone())];
    if me.role == Role::Privacy {
        // Reads the access logs only; writes nothing but own notes.
        return out;
    }
    if me.role.is_professional() {
        if me.role.is_medical() {
            out.push(CompartmentKind::Category(
                ConsentCategory::Medisch,
                org.clone(),
            ));
        }
        out.push(CompartmentKind::Safety(org.clone()));
        if no_base_access(me.role) {
            // Only what they may read (read = write): their notes and their organisation's
            // safety and enforcement track.
            return out;
        }
        out.push(CompartmentKind::Organisation(org));
        out.push(CompartmentKind::Shared(Audience::Professionals));
    }
    match me.role {
        Role::Kind => out.push(CompartmentKind::Shared(Audience::Child)),
        Role::Netwerk | Role::Pleegouder => out.push(CompartmentKind::Shared(Audience::Network)),
        _ => {
            out.push(CompartmentKind::Shared(Audience::Parents));
            out.push(CompartmentKind::Shared(Audience::Child));
        }
    }
    out
}

/// Whether everyone who may ever read `target` may also read `source`, by the audience rules
/// alone (not by who happens to be on the case today: a parent who joins later reads the
/// parents' compartment, so a professionals-only text composed into it would leak then).
///
/// This is the one rule for composing text of one compartment into another (a verslag, the
/// case facts in a meeting record): `source`'s text may go into `target` only when this holds.
/// The base audiences of `core::access::in_audience` nest as
/// `child ⊇ parents ⊇ professionals ⊇ organisation(o)`, and a consent for `dossier` extends
/// `parents` and `child` alike. The network compartment is not above `parents` (a dossier
/// consent does not reach it); a category compartment is above nothing, because a consent can
/// add readers to it that no other compartment has; the safety track (read by enforcement
/// colleagues without base access) and an author's notes only compose into themselves.
pub fn composes_into(source: &CompartmentKind, target: &CompartmentKind) -> bool {
    use Audience::{Child, Network, Parents, Professionals};
    use CompartmentKind::{Organisation, Shared};
    if source == target {
        return true;
    }
    match (target, source) {
        (Shared(Parents), Shared(Child)) => true,
        (Shared(Professionals), Shared(Parents | Child | Network)) => true,
        (Organisation(_), Shared(Professionals | Parents | Child | Network)) => true,
        // The safety track is read by the organisation's enforcement colleagues too, who have
        // no base access (issue 14): nothing of another compartment composes into it.
        _ => false,
    }
}

/// Whether notes at a step of a meeting held for `meeting` may be written for `note`: the
/// meeting's own audience, any audience that is narrower by rule (every reader of the note
/// reads the meeting), the writer's own notes, a category compartment (a jeugdarts's medical
/// remark: its readers are decided by medical secrecy and consent, BW 7:457) and the writer's
/// organisation's safety track (the meldcode's own dossier, law.md §1e). A broader
/// audience is refused: a professionals-only meeting's notes never reach the parents.
pub fn may_note(note: &CompartmentKind, meeting: &CompartmentKind) -> bool {
    note == meeting
        || composes_into(meeting, note)
        || matches!(
            note,
            CompartmentKind::Author(_) | CompartmentKind::Category(..) | CompartmentKind::Safety(_)
        )
}

/// Where `me`'s notes at a step of a meeting held for `meeting` go unless chosen otherwise: the
/// role's default when a note may go there, else the meeting's own audience.
pub fn note_default(me: &Me, meeting: &CompartmentKind) -> CompartmentKind {
    let wanted = default_for(me, Writing::MeetingNote);
    if may_note(&wanted, meeting) {
        wanted
    } else {
        meeting.clone()
    }
}

/// Audiences a verslag can be made for, in the order the app offers them: the shared case with
/// parents, the professionals, and the writer's own organisation.
pub fn verslag_choices(me: &Me) -> Vec<CompartmentKind> {
    let mut v = vec![
        CompartmentKind::Shared(Audience::Parents),
        CompartmentKind::Shared(Audience::Professionals),
    ];
    if me.role.is_professional() && !no_base_access(me.role) {
        v.push(CompartmentKind::Organisation(me.organisation.clone()));
    }
    v
}

/// Audiences a meeting can be held for: with parents (the regular MDO), with parents and the
/// child (from 12 the default: seed 000:17 "ook betrokken is bij het gesprek"), or
/// professionals only (seed 002 §2: "een MDO van professionals onderling"; seed 001: an MDO
/// about safety concerns; seed 001 "Keuzes maken": "Nemen ouders en de jongere … deel …? Wanneer
/// wel of niet?").
pub fn meeting_choices() -> [CompartmentKind; 3] {
    [
        CompartmentKind::Shared(Audience::Parents),
        CompartmentKind::Shared(Audience::Professionals),
        CompartmentKind::Shared(Audience::Child),
    ]
}

/// [`voor`] on a day the child is in `band`: from 16 the young person reads the shared case
/// too (and the parents with gezag until 18), so it says so.
pub fn voor_at(kind: &CompartmentKind, band: Option<super::model::AgeBand>) -> String {
    if band == Some(super::model::AgeBand::Vanaf16) {
        match kind {
            CompartmentKind::Shared(Audience::Parents | Audience::Child) => {
                return "voor de jongere, ouders en professionals".into();
            }
            CompartmentKind::Shared(Audience::Network) => {
                return "voor netwerk, de jongere, ouders en professionals".into();
            }
            _ => {}
        }
    }
    voor(kind)
}

/// "voor ouders en professionals", "alleen voor professionals", "alleen voor eigen organisatie
/// (OBS De Wilgen)": who a text or a verslag is for, in words for the screen and the paper (for
/// a child under 16; [`voor_at`] for any age).
pub fn voor(kind: &CompartmentKind) -> String {
    match kind {
        CompartmentKind::Shared(Audience::Parents) => "voor ouders en professionals".into(),
        CompartmentKind::Shared(Audience::Child) => "voor kind, ouders en professionals".into(),
        CompartmentKind::Shared(Audience::Network) => {
            "voor netwerk, ouders en professionals".into()
        }
        CompartmentKind::Shared(Audience::Professionals) => "alleen voor professionals".into(),
        CompartmentKind::Shared(a) => format!("voor {}", a.label()),
        CompartmentKind::Organisation(o) => format!("alleen voor eigen organisatie ({o})"),
        CompartmentKind::Safety(o) => format!("alleen voor het veiligheidsspoor van {o}"),
        // A consent for the category adds readers (the reader count and names are shown beside
        // it); the professional still decides what to release (issue 14).
        CompartmentKind::Category(ConsentCategory::Medisch | ConsentCategory::Ggz, o) => {
            format!("medisch: medici van {o} en wie er toestemming voor heeft")
        }
        CompartmentKind::Category(c, o) => {
            format!("{}: {o} en wie er toestemming voor heeft", c.label())
        }
        CompartmentKind::Author(_) => "alleen voor mij".into(),
        CompartmentKind::Log(_) => {
            "logboek: voor ouders met gezag, het kind vanaf 12 en de privacyfunctionaris".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me(name: &str, role: Role, org: &str) -> (Me, ()) {
        let d = mdo_crypto::DeviceSecret::generate().expect("randomness");
        (
            Me {
                person: name.to_lowercase(),
                name: name.into(),
                role,
                organisation: org.into(),
                device: d.device_id(),
            },
            (),
        )
    }

    fn all_kinds() -> Vec<CompartmentKind> {
        let mut v: Vec<CompartmentKind> = Audience::ALL
            .iter()
            .filter(|a| {
                !matches!(
                    a,
                    Audience::Author
                        | Audience::Organisation
                        | Audience::Safety
                        | Audience::Medical
                )
            })
            .map(|a| CompartmentKind::Shared(*a))
            .collect();
        for o in ["A", "B"] {
            v.push(CompartmentKind::Organisation(o.into()));
            v.push(CompartmentKind::Safety(o.into()));
            v.push(CompartmentKind::Author(o.into()));
            for c in ConsentCategory::ALL {
                if *c != ConsentCategory::Dossier {
                    v.push(CompartmentKind::Category(*c, o.into()));
                }
            }
        }
        v
    }

    #[test]
    fn defaults_follow_role_and_section() {
        let (ib, _) = me("Monique", Role::IbEr, "OBS De Wilgen");
        let (arts, _) = me("Anouk", Role::Jeugdarts, "GGD");
        let (politie, _) = me("Piet", Role::Politie, "Politie");
        let (ouder, _) = me("Sanne", Role::Ouder, "");
        let circle = Section::parse("kind.plus").unwrap();
        assert_eq!(
            default_for(&ib, Writing::Item(&circle)),
            CompartmentKind::Shared(Audience::Parents)
        );
        assert_eq!(
            default_for(&ib, Writing::Item(&Section::Notitie)),
            CompartmentKind::Organisation("OBS De Wilgen".into())
        );
        for w in [
            Writing::Item(&circle),
            Writing::Agreement,
            Writing::MeetingNote,
        ] {
            assert_eq!(
                default_for(&arts, w),
                CompartmentKind::Category(ConsentCategory::Medisch, "GGD".into())
            );
            assert_eq!(
                default_for(&politie, w),
                CompartmentKind::Safety("Politie".into())
            );
            assert_eq!(
                default_for(&ouder, w),
                CompartmentKind::Shared(Audience::Parents)
            );
        }
    }

    #[test]
    fn the_default_is_always_among_the_choices() {
        for role in Role::ALL {
            let (m, _) = me("X", *role, "Org");
            for w in [
                Writing::Item(&Section::Notitie),
                Writing::Item(&Section::Vragen),
                Writing::Agreement,
                Writing::Arrow,
                Writing::MeetingNote,
            ] {
                assert!(choices(&m).contains(&default_for(&m, w)), "{role:?} {w:?}");
            }
        }
    }

    #[test]
    fn composing_never_widens_an_audience() {
        // Parents' compartment never receives text of a narrower one.
        let parents = CompartmentKind::Shared(Audience::Parents);
        for s in all_kinds() {
            let ok = composes_into(&s, &parents);
            let expected = matches!(
                s,
                CompartmentKind::Shared(Audience::Parents | Audience::Child)
            );
            assert_eq!(ok, expected, "{s:?} into parents");
        }
        // Nothing composes into a category compartment but itself, and a category compartment
        // composes into nothing but itself (a consent may add readers to it).
        for s in all_kinds() {
            for t in all_kinds() {
                if s == t {
                    continue;
                }
                if matches!(
                    s,
                    CompartmentKind::Category(..) | CompartmentKind::Author(_)
                ) {
                    assert!(!composes_into(&s, &t), "{s:?} into {t:?}");
                }
                if matches!(
                    t,
                    CompartmentKind::Category(..) | CompartmentKind::Author(_)
                ) {
                    assert!(!composes_into(&s, &t), "{s:?} into {t:?}");
                }
            }
        }
        // Transitive and antisymmetric.
        for a in all_kinds() {
            for b in all_kinds() {
                if a != b && composes_into(&a, &b) {
                    assert!(!composes_into(&b, &a), "{a:?} <-> {b:?}");
                }
                for c in all_kinds() {
                    if composes_into(&a, &b) && composes_into(&b, &c) {
                        assert!(composes_into(&a, &c), "{a:?} {b:?} {c:?}");
                    }
                }
            }
        }
    }
}
