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
    let add = |c: &mut Case, section: &str, text: &str| -> Result<String, CoreError> {
        c.add_item(
            me,
            Section::parse(section)?,
            text,
            Audience::Parents,
            None,
            now,
        )
    };
    add(
        &mut c,
        "vragen",
        "Hoe helpen we Noor bij de overgang na de pauze?",
    )?;
    add(
        &mut c,
        "vragen",
        "Wat kunnen we thuis doen aan de chaotische ochtenden?",
    )?;
    add(
        &mut c,
        "procesdoelen",
        "Een gezamenlijk beeld van wat Noor nodig heeft, op school en thuis",
    )?;
    add(
        &mut c,
        "beslissingen",
        "Is opvoedondersteuning thuis nodig?",
    )?;

    add(&mut c, "kind.plus", "tekent graag en goed")?;
    add(&mut c, "kind.plus", "helpt jongere kinderen")?;
    add(&mut c, "kind.plus", "is goed in rekenen")?;
    add(&mut c, "kind.min", "uitbarstingen bij overgangen")?;
    add(&mut c, "kind.min", "leest onder niveau")?;
    add(&mut c, "kind.min", "slaapt slecht")?;
    add(&mut c, "kind.vraag", "Is er sprake van angst?")?;
    let goal = add(
        &mut c,
        "kind.doel",
        "Noor start na de pauze binnen 5 minuten met haar taak, 4 van 5 dagen",
    )?;
    add(
        &mut c,
        "school.plus",
        "vaste leerkracht van maandag tot en met donderdag",
    )?;
    add(&mut c, "school.plus", "rustige hoek in de klas")?;
    add(&mut c, "school.min", "invallers op vrijdag")?;
    add(&mut c, "school.min", "lange instructies")?;
    add(&mut c, "thuis.plus", "betrokken moeder")?;
    add(&mut c, "thuis.plus", "oma helpt op woensdag")?;
    add(
        &mut c,
        "thuis.min",
        "chaotische ochtenden sinds de scheiding",
    )?;
    c.add_arrow(
        me,
        "school",
        "kind",
        "invaller op vrijdag → uitbarsting → slechte avond thuis",
        Direction::Omlaag,
        Audience::Parents,
    )?;

    let chain =
        |c: &mut Case, section: &str, text: &str, parent: &str| -> Result<String, CoreError> {
            c.add_item(
                me,
                Section::parse(section)?,
                text,
                Audience::Parents,
                Some(parent.to_string()),
                now,
            )
        };
    let need = chain(
        &mut c,
        "behoeften.kind",
        "Noor heeft voorspelbaarheid nodig bij overgangen",
        &goal,
    )?;
    chain(
        &mut c,
        "behoeften.school",
        "korte instructies en een vaste plek om te beginnen",
        &goal,
    )?;
    chain(&mut c, "behoeften.thuis", "een vast ochtendritueel", &goal)?;
    let approach = chain(
        &mut c,
        "aanpak.leerkracht",
        "heeft een leerkracht nodig die de overgang vooraf aankondigt",
        &need,
    )?;
    chain(
        &mut c,
        "aanpak.ouders",
        "heeft ouders nodig die de ochtend samen met haar plannen",
        &need,
    )?;
    chain(
        &mut c,
        "ondersteuning.leerkracht",
        "een dagritmekaart en tips van de IB-er voor de invaller",
        &approach,
    )?;
    chain(
        &mut c,
        "ondersteuning.ouders",
        "opvoedondersteuning bij de ochtendroutine, één keer per week",
        &approach,
    )?;

    for a in [
        NewAgreement {
            wie: "Jeroen".into(),
            wat: "dagritmekaart invoeren".into(),
            waarom: "overgangen voorspelbaar maken".into(),
            wanneer: "vanaf 1 oktober".into(),
            hoe: "kaart op tafel en een signaal voor elke overgang".into(),
            owner: "jeroen".into(),
            due: "2026-10-01".into(),
            evaluation: "2026-12-01".into(),
        },
        NewAgreement {
            wie: "Rik".into(),
            wat: "opvoedondersteuning regelen".into(),
            waarom: "rustiger ochtenden".into(),
            wanneer: "voor 15 oktober".into(),
            hoe: "huisbezoek met beide ouders".into(),
            owner: "rik".into(),
            due: "2026-10-15".into(),
            evaluation: "2026-12-01".into(),
        },
        NewAgreement {
            wie: "jeugdarts".into(),
            wat: "slaap bespreken met de huisarts".into(),
            waarom: "onduidelijk slaapprobleem".into(),
            wanneer: "voor het volgende MDO".into(),
            hoe: "alleen na toestemming van de ouders".into(),
            owner: "jeugdarts".into(),
            due: "2026-11-30".into(),
            evaluation: "2026-12-01".into(),
        },
        NewAgreement {
            wie: "Monique".into(),
            wat: "invallers informeren over de aanpak".into(),
            waarom: "vrijdagen gaan mis".into(),
            wanneer: "elke donderdag".into(),
            hoe: "briefje in de klassenmap".into(),
            owner: me.person.clone(),
            due: "2026-10-02".into(),
            evaluation: "2026-12-01".into(),
        },
        NewAgreement {
            wie: "Sanne en Erik".into(),
            wat: "vast ochtendritueel afspreken".into(),
            waarom: "dezelfde aanpak in beide huizen".into(),
            wanneer: "vanaf volgende week".into(),
            hoe: "samen met Rik, op papier op de koelkast".into(),
            owner: "sanne".into(),
            due: "2026-10-08".into(),
            evaluation: "2026-12-01".into(),
        },
    ] {
        c.add_agreement(me, a, Audience::Parents, now)?;
    }

    let m = c.new_meeting(
        "2026-09-24",
        "16:00",
        CompartmentKind::Shared(Audience::Parents),
    )?;
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
    let steps = [
        "Positieve start; iedereen stelt zich voor. Gezamenlijk belang: Noor gaat met plezier naar school. Om 16.00 uur weten we wie wat doet.",
        "Overzicht: Noor tekent en rekent goed, helpt jongere kinderen; overgangen en vrijdagen zijn lastig. Inzicht: invallers op vrijdag leiden tot uitbarstingen en een slechte avond thuis.",
        "Uitbouwen: haar tekenen en hulpvaardigheid. Veranderen: voorspelbare overgangen, rustige ochtenden.",
        "Kind: voorspelbaarheid. School: korte instructies, vaste plek. Thuis: vast ochtendritueel.",
        "Leerkracht: dagritmekaart en tips voor invallers. Ouders: opvoedondersteuning één keer per week.",
        "Vijf afspraken gemaakt (wie, wat, waarom, wanneer, hoe); evaluatie op 1 december. Doelen van het overleg behaald.",
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
        now,
    )?;
    c.add_item(
        me,
        Section::Notitie,
        "Alleen voor professionals: de jeugdarts stemt het slapen af met de huisarts.",
        Audience::Professionals,
        None,
        now,
    )?;
    c.add_item(
        me,
        Section::Notitie,
        "Veiligheidsspoor: geen signalen van onveiligheid; alert blijven op de ochtenden.",
        Audience::Safety,
        None,
        now,
    )?;
    // One verslag per audience: the parents' one carries no internal, safety or medical text.
    for audience in [
        CompartmentKind::Shared(Audience::Parents),
        CompartmentKind::Shared(Audience::Professionals),
    ] {
        let v = super::verslag::compose(&c, Some(&m), &audience)?;
        c.store_verslag(&v)?;
    }
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
            "| Jeroen | dagritmekaart invoeren",
            "Stap 6",
            "top: ik voelde me gehoord",
            "eigen organisatie",
            "overweeg een OPP",
        ] {
            assert!(md.contains(needle), "overview lacks {needle}\n{md}");
        }
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
