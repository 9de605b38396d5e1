//! The invented demo case of `shared/domain.md`: Noor Visser, 9, groep 6, OBS De Wilgen — fully
//! filled in, as the chair (IB-er Monique) would after the first MDO.

use super::CoreError;
use super::case::{Case, Feedback, NewAgreement};
use super::compartment::{CompartmentKind, Me};
use super::doc::ParticipantData;
use super::membership::{Action, Basis, ConsentSpec, Recipient};
use super::model::{Audience, ConsentCategory, ConsentHow, Date, Direction, Section, format_date};
use mdo_crypto::DeviceSecret;

fn p(id: &str, name: &str, role: &str, org: &str, custody: bool) -> ParticipantData {
    ParticipantData {
        id: id.into(),
        name: name.into(),
        role: role.into(),
        organisation: org.into(),
        custody,
        chair: false,
        devices: Vec::new(),
    }
}

/// Builds the demo case with `me` (on `device`) as the chair. The other participants are on the
/// roster and in the membership log without devices (they join with their own devices later).
pub fn noor(me: &Me, device: &DeviceSecret, today: Date, now: i64) -> Result<Case, CoreError> {
    let mut c = Case::create(
        me,
        device,
        "Noor Visser",
        "2017-03-14",
        "OBS De Wilgen",
        "groep 6",
        today,
        now,
    )?;
    for part in [
        p("sanne", "Sanne Visser", "ouder", "", true),
        p("erik", "Erik Visser", "ouder", "", true),
    ] {
        c.add_participant(device, part, None)?;
    }
    // Sanne and Erik agreed at the intake that the MDO is held, with these organisations at
    // the table (seed 000: the school asks the parents' consent to organise the MDO, and who
    // else joins is agreed with them). Each parent's "ja" is its own act.
    let mdo = crate::core::case::new_id()?;
    let orgs = [
        "SWV Passend Onderwijs",
        "Gemeente, team Jeugd en Gezin",
        "SMW Welzijn",
        "GGD JGZ",
    ];
    c.membership(
        device,
        Action::Grant {
            record: ConsentSpec {
                id: mdo.clone(),
                basis: Basis::Consent {
                    consenters: Vec::new(),
                    how: ConsentHow::Oral,
                },
                purpose: "samen met school, SWV, gemeente, SMW en GGD kijken wat Noor nodig heeft (het MDO)".into(),
                categories: vec![ConsentCategory::Dossier],
                recipients: orgs
                    .iter()
                    .map(|o| Recipient::Organisation((*o).into()))
                    .collect(),
                sources: Vec::new(),
                from: format_date(today),
                until: format_date(today.replace_year(today.year() + 1).unwrap_or(today)),
            },
        },
    )?;
    for parent in ["sanne", "erik"] {
        c.membership(
            device,
            Action::Answer {
                consent: mdo.clone(),
                person: parent.into(),
                given: true,
                how: ConsentHow::Oral,
                note: "in het intakegesprek".into(),
            },
        )?;
    }
    for part in [
        p(
            "jeroen",
            "Jeroen Bakker",
            "leerkracht",
            "OBS De Wilgen",
            false,
        ),
        p(
            "fatima",
            "Fatima El Amrani",
            "consulent-swv",
            "SWV Passend Onderwijs",
            false,
        ),
        p(
            "rik",
            "Rik de Jong",
            "jg-coach",
            "Gemeente, team Jeugd en Gezin",
            false,
        ),
        p(
            "lotte",
            "Lotte Smit",
            "schoolmaatschappelijk-werker",
            "SMW Welzijn",
            false,
        ),
        p(
            "jeugdarts",
            "dr. Anouk Vermeer",
            "jeugdarts",
            "GGD JGZ",
            false,
        ),
        p("oma", "oma Visser", "netwerk", "", false),
    ] {
        c.add_participant(device, part, None)?;
    }
    // The first MDO was on 24 September; what was written down then carries that time, so the
    // follow-up meeting shows what changed since (`Case::since_last`).
    let then = time::macros::datetime!(2026-09-24 15:00 UTC).unix_timestamp();
    let evaluation = format_date(today.checked_add(time::Duration::days(14)).unwrap_or(today));
    let add = |c: &mut Case, section: &str, text: &str, at: i64| -> Result<String, CoreError> {
        c.add_item(
            me,
            Section::parse(section)?,
            text,
            Audience::Parents,
            None,
            at,
        )
    };
    let m = c.new_meeting(
        "2026-09-24",
        "16:00",
        CompartmentKind::Shared(Audience::Parents),
    )?;
    c.set_meeting_field(&m, "start", "15:00")?;
    c.set_meeting_field(&m, "place", "OBS De Wilgen, kamer van de intern begeleider")?;
    // The agenda of the first meeting (aanmeldformulier: questions, process goals, decisions).
    for (section, text) in [
        ("vragen", "Hoe helpen we Noor bij de overgang na de pauze?"),
        (
            "vragen",
            "Wat helpt thuis om de ochtenden rustiger te laten verlopen?",
        ),
        (
            "procesdoelen",
            "Een gezamenlijk beeld van wat Noor nodig heeft, op school en thuis",
        ),
        ("beslissingen", "Is opvoedondersteuning thuis nodig?"),
    ] {
        let id = c.add_item(
            me,
            Section::parse(section)?,
            text,
            Audience::Parents,
            Some(m.clone()),
            then,
        )?;
        c.set_item_field(&id, "status", "behaald")?;
    }

    // The three circles (seed 002, step 2): strengths of the child and of both parents, neutral
    // wording, and a goal in every circle (step 3).
    add(&mut c, "kind.plus", "tekent graag en goed", then)?;
    add(&mut c, "kind.plus", "helpt jongere kinderen", then)?;
    add(&mut c, "kind.plus", "is goed in rekenen", then)?;
    add(&mut c, "kind.min", "raakt van streek bij overgangen", then)?;
    add(&mut c, "kind.min", "leest onder haar niveau", then)?;
    add(&mut c, "kind.min", "slaapt slecht", then)?;
    add(
        &mut c,
        "kind.vraag",
        "Wat maakt overgangen voor Noor zo moeilijk?",
        then,
    )?;
    add(
        &mut c,
        "school.plus",
        "vaste leerkracht van maandag tot en met donderdag",
        then,
    )?;
    add(&mut c, "school.plus", "rustige hoek in de klas", then)?;
    add(
        &mut c,
        "school.min",
        "wisselende invallers op vrijdag",
        then,
    )?;
    add(&mut c, "school.min", "lange instructies", then)?;
    add(
        &mut c,
        "thuis.plus",
        "moeder leest elke avond met Noor",
        then,
    )?;
    add(
        &mut c,
        "thuis.plus",
        "vader tekent en kookt met Noor in het weekend",
        then,
    )?;
    add(&mut c, "thuis.plus", "oma helpt op woensdag", then)?;
    add(
        &mut c,
        "thuis.min",
        "de ochtenden verlopen onrustig, in beide huizen",
        then,
    )?;
    add(
        &mut c,
        "thuis.vraag",
        "Hoe stemmen de twee huizen de ochtend op elkaar af?",
        then,
    )?;
    let goal_kind = add(
        &mut c,
        "kind.doel",
        "Noor begint na de pauze binnen 5 minuten aan haar taak, 4 van de 5 dagen",
        then,
    )?;
    let goal_school = add(
        &mut c,
        "school.doel",
        "Elke overgang in de klas wordt vooraf aangekondigd, ook door een invaller",
        then,
    )?;
    let goal_thuis = add(
        &mut c,
        "thuis.doel",
        "De ochtenden verlopen rustig: Noor is 4 van de 5 dagen op tijd op school",
        then,
    )?;
    c.set_item_field(&goal_kind, "term", "kort")?;
    c.set_item_field(&goal_school, "term", "kort")?;
    c.set_item_field(&goal_thuis, "term", "lang")?;
    c.set_item_field(&goal_school, "status", "behaald")?;
    c.set_item_field(&goal_kind, "status", "deels")?;
    // Three arrows: how the circles act on each other (seed 002, step 2: "inzicht").
    for (from, to, text, dir) in [
        (
            "school",
            "kind",
            "een onbekende invaller op vrijdag → Noor raakt van streek → een moeilijke avond thuis",
            Direction::Omlaag,
        ),
        (
            "thuis",
            "kind",
            "een onrustige ochtend → Noor begint gespannen aan de schooldag",
            Direction::Omlaag,
        ),
        (
            "kind",
            "school",
            "Noor tekent in de rustige hoek → ze komt tot rust en begint sneller aan haar taak",
            Direction::Omhoog,
        ),
    ] {
        c.add_arrow(me, from, to, text, dir, Audience::Parents)?;
    }

    // The needs chain (seed 002, steps 4-5): goal → need → "heeft … nodig die …" → what the
    // teacher, the IB-er and the parents need for that. Each support need hangs under the
    // approach it serves, chosen (not inferred).
    let chain =
        |c: &mut Case, section: &str, text: &str, parent: &str| -> Result<String, CoreError> {
            c.add_item(
                me,
                Section::parse(section)?,
                text,
                Audience::Parents,
                Some(parent.to_string()),
                then,
            )
        };
    let need_kind = chain(
        &mut c,
        "behoeften.kind",
        "Noor heeft voorspelbaarheid nodig bij overgangen",
        &goal_kind,
    )?;
    let need_school = chain(
        &mut c,
        "behoeften.school",
        "korte instructies en een vaste plek om te beginnen",
        &goal_school,
    )?;
    let need_thuis = chain(
        &mut c,
        "behoeften.thuis",
        "een vast ochtendritueel, in beide huizen",
        &goal_thuis,
    )?;
    let aanpak_kind = chain(
        &mut c,
        "aanpak.leerkracht",
        "heeft een leerkracht nodig die elke overgang vooraf aankondigt",
        &need_kind,
    )?;
    let aanpak_school = chain(
        &mut c,
        "aanpak.ib",
        "heeft een intern begeleider nodig die de invallers voorbereidt op de aanpak",
        &need_school,
    )?;
    let aanpak_thuis = chain(
        &mut c,
        "aanpak.ouders",
        "heeft ouders nodig die de ochtend samen met haar plannen",
        &need_thuis,
    )?;
    chain(
        &mut c,
        "ondersteuning.leerkracht",
        "een dagritmekaart en een vast signaal voor elke overgang",
        &aanpak_kind,
    )?;
    chain(
        &mut c,
        "ondersteuning.ib",
        "een kort overdrachtsbriefje voor invallers in de klassenmap",
        &aanpak_school,
    )?;
    chain(
        &mut c,
        "ondersteuning.ouders",
        "opvoedondersteuning bij de ochtendroutine, één keer per week",
        &aanpak_thuis,
    )?;

    // The school shares its reading assessment with the jeugdarts only after both parents said
    // yes (the holder of the information records the question; issue 14): the jeugdarts'
    // agreement relies on it.
    let sleep = crate::core::case::new_id()?;
    c.membership(
        device,
        Action::Grant {
            record: ConsentSpec {
                id: sleep.clone(),
                basis: Basis::Consent {
                    consenters: Vec::new(),
                    how: ConsentHow::Oral,
                },
                purpose: "de jeugdarts kijkt met het leesonderzoek van school of het lezen en het slapen van Noor met elkaar te maken hebben".into(),
                categories: vec![ConsentCategory::Onderzoek],
                recipients: vec![Recipient::Organisation("GGD JGZ".into())],
                sources: vec![me.organisation.clone()],
                from: format_date(today),
                until: format_date(today.replace_year(today.year() + 1).unwrap_or(today)),
            },
        },
    )?;
    for parent in ["sanne", "erik"] {
        c.membership(
            device,
            Action::Answer {
                consent: sleep.clone(),
                person: parent.into(),
                given: true,
                how: ConsentHow::Oral,
                note: "in het MDO van 24 september".into(),
            },
        )?;
    }

    let agreements = [
        (
            NewAgreement {
                wie: "Jeroen Bakker (leerkracht)".into(),
                wat: "dagritmekaart invoeren".into(),
                waarom: "overgangen voorspelbaar maken".into(),
                wanneer: "vanaf 1 oktober".into(),
                hoe: "kaart op tafel en een signaal voor elke overgang".into(),
                owner: "jeroen".into(),
                due: "2026-10-01".into(),
                evaluation: evaluation.clone(),
                goal: goal_kind.clone(),
                obligation: true,
                meeting: m.clone(),
            },
            "gedaan",
        ),
        (
            NewAgreement {
                wie: "Rik de Jong (JG-coach)".into(),
                wat: "opvoedondersteuning regelen".into(),
                waarom: "rustiger ochtenden".into(),
                wanneer: "voor 15 oktober".into(),
                hoe: "huisbezoek in beide huizen".into(),
                owner: "rik".into(),
                due: "2026-10-15".into(),
                evaluation: evaluation.clone(),
                goal: goal_thuis.clone(),
                obligation: false,
                meeting: m.clone(),
            },
            "open",
        ),
        (
            NewAgreement {
                wie: "dr. Anouk Vermeer (jeugdarts)".into(),
                wat: "met het leesonderzoek van school kijken of lezen en slapen samenhangen, en dat met de ouders bespreken".into(),
                waarom: "Noor slaapt slecht en leest onder haar niveau".into(),
                wanneer: "voor het volgende overleg".into(),
                hoe: "het leesonderzoek gaat naar haar met toestemming van beide ouders (gegeven op 24 september)".into(),
                owner: "jeugdarts".into(),
                due: evaluation.clone(),
                evaluation: evaluation.clone(),
                goal: goal_thuis.clone(),
                obligation: false,
                meeting: m.clone(),
            },
            "open",
        ),
        (
            NewAgreement {
                wie: "Monique de Vries (intern begeleider)".into(),
                wat: "invallers informeren over de aanpak".into(),
                waarom: "vrijdagen gaan mis".into(),
                wanneer: "elke donderdag".into(),
                hoe: "overdrachtsbriefje in de klassenmap".into(),
                owner: me.person.clone(),
                due: "2026-10-02".into(),
                evaluation: evaluation.clone(),
                goal: goal_school.clone(),
                obligation: true,
                meeting: m.clone(),
            },
            "gedaan",
        ),
        (
            NewAgreement {
                wie: "Sanne en Erik Visser (ouders)".into(),
                wat: "samen een vast ochtendritueel afspreken".into(),
                waarom: "dezelfde ochtend in beide huizen".into(),
                wanneer: "vanaf volgende week".into(),
                hoe: "samen met Rik, op papier op de koelkast".into(),
                owner: "sanne".into(),
                due: "2026-10-08".into(),
                evaluation: evaluation.clone(),
                goal: goal_thuis.clone(),
                obligation: false,
                meeting: m.clone(),
            },
            "gedaan",
        ),
    ];
    for (a, status) in agreements {
        let obligation = a.obligation;
        let id = c.add_agreement_in(me, a, CompartmentKind::Shared(Audience::Parents), then)?;
        c.edit_agreement(&id, "status", status)?;
        if obligation && status == "gedaan" {
            c.edit_agreement(&id, "delivered", "ja")?;
        }
    }

    for who in [
        me.person.as_str(),
        "sanne",
        "erik",
        "jeroen",
        "fatima",
        "rik",
        "oma",
        "jeugdarts",
        "lotte",
    ] {
        c.set_invited(&m, who, true)?;
    }
    for who in [
        me.person.as_str(),
        "sanne",
        "erik",
        "jeroen",
        "fatima",
        "rik",
        "oma",
    ] {
        c.meeting_present(&m, who)?;
    }
    c.set_input(
        &m,
        "jeugdarts",
        "Kan niet komen. Denkt mee over het slapen en neemt na het overleg contact op met de ouders.",
    )?;
    let steps = [
        "Positieve start; iedereen stelt zich voor met de eigen rol. Gezamenlijk belang: Noor gaat met plezier naar school. Om 16.00 uur weten we wie wat doet.",
        "Overzicht: Noor tekent en rekent goed en helpt jongere kinderen; overgangen en vrijdagen zijn lastig. Inzicht: een onbekende invaller op vrijdag en een onrustige ochtend maken de dag moeilijk.",
        "Uitbouwen: haar tekenen en hulpvaardigheid. Veranderen: voorspelbare overgangen en rustige ochtenden. Een doel voor Noor, voor school en voor thuis.",
        "Kind: voorspelbaarheid. School: korte instructies, vaste plek. Thuis: een vast ochtendritueel in beide huizen.",
        "Leerkracht: dagritmekaart en een signaal. IB: overdracht voor invallers. Ouders: opvoedondersteuning één keer per week.",
        "Vijf afspraken gemaakt (wie, wat, waarom, wanneer, hoe). De vragen zijn beantwoord; opvoedondersteuning is nodig. Evaluatie over tien weken.",
    ];
    for (n, text) in steps.iter().enumerate() {
        c.meeting_step(&m, n + 1, text, CompartmentKind::Shared(Audience::Parents))?;
    }
    for (who, top, tip) in [
        (
            me.person.as_str(),
            "iedereen kwam aan het woord",
            "de cirkels vooraf rondsturen",
        ),
        ("sanne", "ik voelde me gehoord", "volgende keer Noor erbij"),
        (
            "erik",
            "we keken naar beide huizen",
            "het verslag sneller sturen",
        ),
        ("jeroen", "concrete afspraken", "korter bij stap 2"),
        (
            "rik",
            "duidelijke rolverdeling",
            "het huisbezoek eerder plannen",
        ),
    ] {
        c.meeting_feedback(&m, Feedback::Top, who, top)?;
        c.meeting_feedback(&m, Feedback::Tip, who, tip)?;
    }
    c.add_item(
        me,
        Section::Notitie,
        "Interne notitie: overweeg een OPP als de dagritmekaart onvoldoende helpt.",
        Audience::Organisation,
        None,
        then,
    )?;
    c.add_item(
        me,
        Section::Notitie,
        "Alleen voor professionals: de jeugdarts stemt het slapen af met de huisarts.",
        Audience::Professionals,
        None,
        then,
    )?;
    let safety = c.add_item(
        me,
        Section::Notitie,
        "Veiligheidsspoor: geen signalen van onveiligheid; alert blijven op de ochtenden.",
        Audience::Safety,
        None,
        then,
    )?;
    c.set_item_withheld(
        &safety,
        "een zorg die nog niet is onderzocht; de ouders horen het als er iets te bespreken is",
        &evaluation,
    )?;
    // One verslag per audience: the parents' one carries no internal, safety or medical text.
    for audience in [
        CompartmentKind::Shared(Audience::Parents),
        CompartmentKind::Shared(Audience::Professionals),
    ] {
        let v = super::verslag::compose(&c, Some(&m), &audience)?;
        c.store_verslag(&v)?;
        c.set_vastgesteld(&m, &audience, &me.person)?;
    }
    c.set_view(
        &m,
        &CompartmentKind::Shared(Audience::Parents),
        "sanne",
        &super::doc::Answer {
            agrees: super::model::Agrees::Ja,
            on: "2026-09-28".into(),
            text: "Dit klopt. Fijn dat we naar beide huizen kijken.".into(),
            by: "sanne".into(),
        },
    )?;
    c.set_meeting_field(&m, "closed", "ja")?;
    c.change_phase(
        super::model::SupportPhase::Evalueren,
        &me.person,
        "afspraken van het MDO van 24 september lopen; evaluatie gepland",
    )?;

    // Since then: the effect of the approach, something new in a circle, and the follow-up
    // meeting on the evaluation date the agreements ask for.
    c.add_item(
        me,
        Section::Effect,
        "Met de dagritmekaart begint Noor na de pauze 3 van de 5 dagen binnen 5 minuten",
        Audience::Parents,
        Some(aanpak_kind.clone()),
        now,
    )?;
    add(
        &mut c,
        "kind.plus",
        "vertelt zelf wanneer een overgang haar moeite kost",
        now,
    )?;
    let next = c.new_meeting(
        &evaluation,
        "16:00",
        CompartmentKind::Shared(Audience::Parents),
    )?;
    c.set_meeting_field(&next, "start", "15:00")?;
    c.set_meeting_field(
        &next,
        "place",
        "OBS De Wilgen, kamer van de intern begeleider",
    )?;
    for who in [
        me.person.as_str(),
        "sanne",
        "erik",
        "jeroen",
        "rik",
        "jeugdarts",
    ] {
        c.set_invited(&next, who, true)?;
    }
    c.add_item(
        me,
        Section::Vragen,
        "Wat is het effect van de dagritmekaart en van de opvoedondersteuning?",
        Audience::Parents,
        Some(next),
        now,
    )?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Role;

    #[test]
    fn demo_case_is_fully_filled_in() {
        let d = mdo_crypto::DeviceSecret::generate().unwrap();
        let me = Me {
            person: "monique".into(),
            name: "Monique de Vries".into(),
            role: Role::IbEr,
            organisation: "OBS De Wilgen".into(),
            device: d.device_id(),
        };
        let c = noor(&me, &d, time::macros::date!(2026 - 11 - 23), 0).unwrap();
        assert_eq!(c.info().child, "Noor Visser");
        assert_eq!(c.agreements().len(), 5);
        assert_eq!(c.participants().len(), 9);
        assert!(c.items().len() > 25);
        let m = &c.meetings()[0].data;
        assert!(m.steps.iter().all(|s| !s.is_empty()));
        let md = crate::core::verslag::overview(&c);
        for needle in [
            "# Verslag MDO — Noor Visser",
            "Kind/jongere",
            "+ tekent graag",
            "| Jeroen Bakker (leerkracht) | dagritmekaart invoeren",
            "Stap 6",
            "top: ik voelde me gehoord",
            "eigen organisatie",
            "overweeg een OPP",
        ] {
            assert!(md.contains(needle), "overview lacks {needle}\n{md}");
        }
    }

    /// The demo follows the method (seed 002 §5, issue 15): both parents' strengths, a goal in
    /// every circle, three arrows, a needs chain in which every need has an approach and every
    /// support need and effect hangs under an approach, agreements linked to a goal and a
    /// participant, a consent the jeugdarts' agreement relies on, a closed first meeting with a
    /// final verslag and a parent's view, and a planned follow-up.
    #[test]
    fn the_demo_follows_the_method() {
        let d = mdo_crypto::DeviceSecret::generate().unwrap();
        let me = Me {
            person: "monique".into(),
            name: "Monique de Vries".into(),
            role: Role::IbEr,
            organisation: "OBS De Wilgen".into(),
            device: d.device_id(),
        };
        let today = time::macros::date!(2026 - 11 - 28);
        let c = noor(&me, &d, today, 1_795_000_000).unwrap();
        let items = c.items();
        let in_section = |s: &str| -> Vec<_> {
            let s = Section::parse(s).unwrap();
            items.iter().filter(|i| i.data.section == s).collect()
        };
        for circle in ["kind", "school", "thuis"] {
            assert!(
                !in_section(&format!("{circle}.doel")).is_empty(),
                "{circle}"
            );
            assert!(
                !in_section(&format!("{circle}.plus")).is_empty(),
                "{circle}"
            );
        }
        let home = in_section("thuis.plus");
        assert!(home.iter().any(|i| i.data.text.contains("moeder")));
        assert!(home.iter().any(|i| i.data.text.contains("vader")));
        assert!(
            items
                .iter()
                .all(|i| !i.data.text.contains("scheiding") && !i.data.text.contains("uitbarsting")),
            "neutral wording"
        );
        assert_eq!(c.arrows().len(), 3);
        let by_id = |id: &str| {
            items
                .iter()
                .find(|i| i.data.id == id)
                .map(|i| &i.data.section)
        };
        for i in &items {
            let parent = i.data.parent.as_deref().and_then(by_id);
            match &i.data.section {
                Section::Behoeften(_) => {
                    assert!(
                        matches!(
                            parent,
                            Some(Section::Circle {
                                slot: crate::core::model::CircleSlot::Doel,
                                ..
                            })
                        ),
                        "{}",
                        i.data.text
                    );
                    assert!(
                        items
                            .iter()
                            .any(|a| matches!(a.data.section, Section::Aanpak(_))
                                && a.data.parent.as_deref() == Some(i.data.id.as_str())),
                        "every need has an approach: {}",
                        i.data.text
                    );
                }
                Section::Aanpak(_) => assert!(matches!(parent, Some(Section::Behoeften(_)))),
                Section::Ondersteuning(_) | Section::Effect => {
                    assert!(
                        matches!(parent, Some(Section::Aanpak(_))),
                        "{}",
                        i.data.text
                    )
                }
                _ => {}
            }
        }
        // Each support need serves the approach of its own area: the parents' under the
        // parents' approach.
        for i in in_section("ondersteuning.ouders") {
            let p = i.data.parent.as_deref().and_then(by_id);
            assert_eq!(
                p,
                Some(&Section::Aanpak(crate::core::model::SupportOf::Ouders))
            );
        }
        let goals: Vec<_> = in_section("kind.doel")
            .into_iter()
            .chain(in_section("school.doel"))
            .chain(in_section("thuis.doel"))
            .map(|g| g.data.id.clone())
            .collect();
        let roster: Vec<String> = c.participants().into_iter().map(|p| p.id).collect();
        for a in c.agreements() {
            assert!(goals.contains(&a.data.goal), "{}", a.data.wat);
            assert!(roster.contains(&a.data.owner), "{}", a.data.owner);
        }
        // The jeugdarts' agreement relies on a consent both parents gave.
        let st = c.state();
        assert!(st.consents.values().any(|r| {
            r.spec.categories.contains(&ConsentCategory::Onderzoek)
                && crate::core::access::consent_status(st, r, today).state
                    == crate::core::access::ConsentState::Active
        }));
        let traject = c.traject();
        assert_eq!(traject.len(), 2);
        assert_eq!(traject[0].1, crate::core::traject::MeetingState::Afgesloten);
        assert_eq!(traject[1].1, crate::core::traject::MeetingState::Gepland);
        let first = &traject[0].0.data.id;
        let st = c.verslag_status(first, &CompartmentKind::Shared(Audience::Parents));
        assert_eq!(st.vastgesteld_by, "monique");
        assert_eq!(st.views["sanne"].agrees, crate::core::model::Agrees::Ja);
        assert_eq!(c.next_meeting().unwrap().data.id, traject[1].0.data.id);
        // The follow-up shows what changed since the first.
        let since = c.since_last(&traject[1].0.data.id);
        assert_eq!(since.previous, "2026-09-24");
        assert_eq!(since.done.len(), 3);
        assert_eq!(since.overdue.len(), 1, "{since:?}");
        assert_eq!(since.effects.len(), 1);
        assert_eq!(since.new_in_circles.len(), 1);
        assert!(since.goals.iter().any(|(_, s)| s == "behaald"));
        assert_eq!(c.phase_history().len(), 1);
    }

    #[test]
    fn the_parents_verslag_of_the_demo_holds_no_restricted_text() {
        let d = mdo_crypto::DeviceSecret::generate().unwrap();
        let me = Me {
            person: "monique".into(),
            name: "Monique de Vries".into(),
            role: Role::IbEr,
            organisation: "OBS De Wilgen".into(),
            device: d.device_id(),
        };
        let c = noor(&me, &d, time::macros::date!(2026 - 11 - 23), 0).unwrap();
        let stored = c.verslagen();
        assert_eq!(
            stored.len(),
            2,
            "one verslag for parents, one for professionals"
        );
        let parents = stored
            .iter()
            .find(|v| v.kind == CompartmentKind::Shared(Audience::Parents))
            .unwrap();
        let pros = stored
            .iter()
            .find(|v| v.kind == CompartmentKind::Shared(Audience::Professionals))
            .unwrap();
        for v in [&parents.data.text, &pros.data.text] {
            assert!(v.contains("dagritmekaart"));
            assert!(v.contains("top: ik voelde me gehoord"));
            assert!(!v.contains("zichtbaar voor"), "{v}");
        }
        assert!(
            parents
                .data
                .text
                .contains("Verslag voor ouders en professionals")
        );
        assert!(!parents.data.text.contains("OPP"), "{}", parents.data.text);
        assert!(
            !parents.data.text.contains("stemt het slapen af"),
            "{}",
            parents.data.text
        );
        assert!(pros.data.text.contains("Verslag alleen voor professionals"));
        assert!(pros.data.text.contains("de jeugdarts stemt het slapen af"));
        assert!(
            !pros.data.text.contains("OPP"),
            "organisation notes stay out"
        );
        for v in [&parents.data.text, &pros.data.text] {
            assert!(
                !v.contains("Veiligheidsspoor"),
                "the safety track stays out: {v}"
            );
        }
        // The organisation's own verslag may carry its internal note.
        let own = super::super::verslag::compose(
            &c,
            None,
            &CompartmentKind::Organisation("OBS De Wilgen".into()),
        )
        .unwrap();
        assert!(own.markdown().contains("overweeg een OPP"));
    }
}
