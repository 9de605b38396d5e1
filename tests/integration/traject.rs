//! The MDO as a traject (issue 15): who may close a meeting, set a verslag as final and change
//! the support route's phase (the chair); whose view goes under a verslag (parents and the young
//! person, or the chair on their behalf); drafts that stay in the writer's own compartment; the
//! needs chain chosen, not guessed; and, with real processes, a traject on the command line whose
//! PDF is read back by an independent reader (poppler's `pdftotext`).

use std::process::Command;

use mdo::core::case::{CompartmentKind, NewAgreement};
use mdo::core::model::{AgreementStatus, Agrees, Audience, Role, Section, SupportPhase};
use mdo::profile::traject;
use mdo::profile::write::{self, Plan, Write};
use time::macros::date;

use super::support::{Mdo, whoami};
use super::world::{Person, World};

fn parents() -> CompartmentKind {
    CompartmentKind::Shared(Audience::Parents)
}

#[test]
fn only_the_chair_closes_sets_final_and_changes_the_phase_and_views_are_the_persons_own() {
    let chair = Person::new("monique", Role::IbEr, "OBS De Wilgen");
    let teacher = Person::new("jeroen", Role::Leerkracht, "OBS De Wilgen");
    let mother = Person::new("sanne", Role::Ouder, "");
    let mut w = World::new(&chair, "2017-03-14", date!(2026 - 11 - 23));
    w.add(&chair, &teacher, false);
    w.add(&chair, &mother, true);
    // The chair plans the meeting, invites both, and composes the verslag.
    let (m, _) = w.act(&chair, |c| {
        let m = write::apply(
            c,
            &chair.me,
            0,
            Write::Meeting {
                date: "2026-11-23".into(),
                end: "16:00".into(),
                present: Some("monique".into()),
                plan: Plan {
                    start: "15:00".into(),
                    place: "school".into(),
                    invited: vec!["sanne".into(), "jeroen".into()],
                },
            },
            parents(),
        )
        .unwrap()
        .id;
        traject::absent_with_input(c, &m, "jeroen", "kan niet; de kaart werkt goed").unwrap();
        write::apply(
            c,
            &chair.me,
            0,
            Write::Verslag { meeting: m.clone() },
            parents(),
        )
        .unwrap();
        m
    });
    // The teacher may not close, set final or change the phase; nor give the mother's view.
    let (r, _) = w.act(&teacher, |c| {
        (
            traject::close_meeting(c, &m, true).unwrap_err().to_string(),
            traject::vaststellen(c, &teacher.me, &m, &parents())
                .unwrap_err()
                .to_string(),
            traject::change_phase(c, &teacher.me, SupportPhase::Arrangeren, "")
                .unwrap_err()
                .to_string(),
            write::apply(
                c,
                &teacher.me,
                0,
                Write::Verslag { meeting: m.clone() },
                parents(),
            )
            .unwrap_err()
            .to_string(),
        )
    });
    for e in [&r.0, &r.1, &r.2, &r.3] {
        assert!(e.contains("alleen de voorzitter"), "{e}");
    }
    // A view waits for the verslag to be final.
    let (e, _) = w.act(&mother, |c| {
        traject::view(c, &mother.me, &m, &parents(), "sanne", Agrees::Ja, "")
            .unwrap_err()
            .to_string()
    });
    assert!(e.contains("eerst vast"), "{e}");
    w.act(&chair, |c| {
        traject::vaststellen(c, &chair.me, &m, &parents()).unwrap();
        traject::close_meeting(c, &m, true).unwrap();
        traject::change_phase(c, &chair.me, SupportPhase::Evalueren, "afspraken lopen").unwrap();
        // Final: composing again is refused.
        let e = write::apply(
            c,
            &chair.me,
            0,
            Write::Verslag { meeting: m.clone() },
            parents(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("al vastgesteld"), "{e}");
    });
    // The mother gives her own view; the teacher cannot give it for her; the chair can, and
    // it says so.
    w.act(&mother, |c| {
        traject::view(
            c,
            &mother.me,
            &m,
            &parents(),
            "sanne",
            Agrees::Deels,
            "de ochtenden zijn thuis anders",
        )
        .unwrap();
    });
    let (e, _) = w.act(&teacher, |c| {
        traject::view(c, &teacher.me, &m, &parents(), "sanne", Agrees::Ja, "")
            .unwrap_err()
            .to_string()
    });
    assert!(e.contains("alleen de voorzitter"), "{e}");
    let (e, _) = w.act(&chair, |c| {
        traject::view(c, &chair.me, &m, &parents(), "jeroen", Agrees::Ja, "")
            .unwrap_err()
            .to_string()
    });
    assert!(e.contains("alleen ouders"), "{e}");

    let (c, problems) = w.view(&mother);
    assert!(problems.is_empty(), "{problems:?}");
    let st = c.verslag_status(&m, &parents());
    assert_eq!(st.vastgesteld_by, "monique");
    assert_eq!(st.views["sanne"].agrees, Agrees::Deels);
    assert_eq!(st.views["sanne"].by, "sanne");
    let meeting = c.meetings().pop().unwrap().data;
    assert!(meeting.closed);
    assert_eq!(meeting.start, "15:00");
    assert_eq!(meeting.invited, vec!["jeroen".to_string(), "sanne".into()]);
    assert_eq!(meeting.input["jeroen"], "kan niet; de kaart werkt goed");
    assert!(!meeting.present.contains(&"jeroen".to_string()));
    assert_eq!(c.info().phase, "evalueren");
    let history = c.phase_history();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].note, "afspraken lopen");
    // The verslag names who was absent and with what input.
    let v = mdo::core::verslag::compose(&c, Some(&m), &parents()).unwrap();
    assert!(v.markdown().contains("**Afwezig**"), "{}", v.markdown());
    assert!(
        v.markdown()
            .contains("jeroen (leerkracht), met inbreng: kan niet; de kaart werkt goed"),
        "{}",
        v.markdown()
    );
}

#[test]
fn drafts_stay_in_the_writers_own_compartment() {
    let chair = Person::new("monique", Role::IbEr, "OBS De Wilgen");
    let mother = Person::new("sanne", Role::Ouder, "");
    let mut w = World::new(&chair, "2017-03-14", date!(2026 - 11 - 23));
    w.add(&chair, &mother, true);
    let (_, chunks) = w.act(&chair, |c| {
        traject::save_draft(c, "step:m1:2:parents", "half af: de vrijdagen").unwrap();
    });
    assert_eq!(chunks.len(), 1);
    // Only the writer's own devices can open it; the mother cannot.
    assert!(w.can_open(&chair, &chunks[0]));
    assert!(!w.can_open(&mother, &chunks[0]));
    let (c, _) = w.view(&chair);
    assert_eq!(c.drafts()["step:m1:2:parents"], "half af: de vrijdagen");
    assert!(
        c.compartment_list()
            .iter()
            .any(|(_, k)| *k == CompartmentKind::Author("monique".into()))
    );
    assert!(!w.sees(&mother).iter().any(|t| t.contains("vrijdagen")));
    // Saved: the draft goes.
    w.act(&chair, |c| {
        traject::save_draft(c, "step:m1:2:parents", "").unwrap()
    });
    assert!(w.view(&chair).0.drafts().is_empty());
}

#[test]
fn agreements_have_an_owner_a_goal_and_a_status_with_a_reason_and_undo() {
    let chair = Person::new("monique", Role::IbEr, "OBS De Wilgen");
    let mut w = World::new(&chair, "2017-03-14", date!(2026 - 11 - 23));
    w.act(&chair, |c| {
        let goal = c
            .add_item(
                &chair.me,
                Section::parse("kind.doel").unwrap(),
                "start binnen 5 minuten",
                Audience::Parents,
                None,
                0,
            )
            .unwrap();
        let id = c
            .add_agreement(
                &chair.me,
                NewAgreement {
                    wie: "Monique".into(),
                    wat: "dagritmekaart".into(),
                    owner: "monique".into(),
                    goal: goal.clone(),
                    obligation: true,
                    due: "2026-11-01".into(),
                    ..Default::default()
                },
                Audience::Parents,
                0,
            )
            .unwrap();
        let e = traject::agreement_status(c, &id, AgreementStatus::Vervallen, " ")
            .unwrap_err()
            .to_string();
        assert!(e.contains("waarom"), "{e}");
        traject::agreement_status(c, &id, AgreementStatus::Gedaan, "werkt").unwrap();
        traject::agreement_status(c, &id, AgreementStatus::Open, "toch nog niet elke dag").unwrap();
        c.edit_agreement(&id, "delivered", "ja").unwrap();
        let a = c.agreements().pop().unwrap().data;
        assert_eq!(a.status, AgreementStatus::Open);
        assert_eq!(a.note, "toch nog niet elke dag");
        assert_eq!(a.goal, goal);
        assert!(a.obligation && a.delivered);
        // Open past its due date: overdue at the follow-up.
        let s = c.since_last("none");
        assert!(s.is_empty());
        c.remove_agreement(&id).unwrap();
        assert!(c.agreements().is_empty());
    });
}

/// The text of a PDF through poppler's `pdftotext` (not the crate that wrote it).
pub(crate) fn pdftotext(path: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed: .ci/run installs it");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_demo_traject_prints_in_dutch_with_arrows_and_no_ids() {
    let m = Mdo::new();
    let demo = m.json(&["demo"]);
    let case = demo["id"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("verslag.pdf");
    let out = m.json(&[
        "export",
        &case,
        "--format",
        "pdf",
        "--out",
        pdf.to_str().unwrap(),
        "--audience",
        "parents",
    ]);
    assert_eq!(out["format"], "pdf");
    let text = pdftotext(&pdf);
    for needle in [
        "Verslag MDO",
        "24 september 2026",
        "↑ doel",
        "→",
        "consulent samenwerkingsverband",
        "Fase ondersteuningsroute: 4 multidisciplinair overleg",
        "Aanwezig",
        "Afwezig",
        "met inbreng",
        "Volgend overleg",
        "Vastgesteld door",
        "Reacties van ouders en jongere",
        "Sanne Visser",
    ] {
        assert!(text.contains(needle), "'{needle}' missing in\n{text}");
    }
    for raw in [
        "consulent-swv",
        "fase: mdo",
        "groep groep",
        "2026-09-24",
        "^ doel",
        "->",
        "**",
    ] {
        assert!(!text.contains(raw), "'{raw}' in\n{text}");
    }
    // The professionals' verslag on the same paper route.
    let pro = dir.path().join("pro.pdf");
    m.json(&[
        "export",
        &case,
        "--format",
        "pdf",
        "--out",
        pro.to_str().unwrap(),
        "--audience",
        "professionals",
    ]);
    assert!(pdftotext(&pro).contains("Verslag alleen voor professionals"));
}

#[test]
fn a_traject_on_the_command_line() {
    let chair = Mdo::new();
    let mother = Mdo::new();
    chair.init("Monique", "ib-er", "OBS De Wilgen");
    mother.init("Sanne", "ouder", "");
    let (mother_id, identity) = whoami(&mother);
    let case = chair.json(&[
        "case",
        "new",
        "--child",
        "Noor",
        "--birthdate",
        "2017-03-14",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    chair.json(&[
        "participant",
        "add",
        &case,
        "--name",
        "Sanne",
        "--role",
        "ouder",
        "--custody",
        "--identity",
        &identity,
    ]);
    // A time that is not a time, an end before the start, an unknown invitee: refused.
    for (args, says) in [
        (vec!["--start", "drie uur", "--end", "16:00"], "geen tijd"),
        (
            vec!["--start", "16:00", "--end", "15:00"],
            "voor de begintijd",
        ),
        (
            vec!["--start", "15:00", "--end", "16:00", "--invite", "iemand"],
            "niet in de lijst",
        ),
    ] {
        let mut a = vec![
            "meeting",
            "new",
            &case,
            "--date",
            "2026-12-01",
            "--audience",
            "parents",
        ];
        a.extend(args);
        let e = chair.fails(&a);
        assert!(e.contains(says), "{e}");
    }
    let meeting = chair.json(&[
        "meeting",
        "new",
        &case,
        "--date",
        "2026-12-01",
        "--start",
        "15:00",
        "--end",
        "16:00",
        "--place",
        "OBS De Wilgen",
        "--invite",
        &mother_id,
        "--audience",
        "parents",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    chair.json(&[
        "item",
        "add",
        &case,
        "--section",
        "vragen",
        "--text",
        "Hoe gaan de ochtenden?",
        "--parent",
        &meeting,
    ]);
    chair.json(&[
        "meeting",
        "present",
        &case,
        &meeting,
        &mother_id,
        "--input",
        "ik ben ziek; de ochtenden gaan beter",
    ]);
    chair.json(&[
        "meeting",
        "verslag",
        &case,
        &meeting,
        "--audience",
        "parents",
    ]);
    chair.json(&[
        "meeting",
        "vaststellen",
        &case,
        &meeting,
        "--audience",
        "parents",
    ]);
    let e = chair.fails(&[
        "meeting",
        "verslag",
        &case,
        &meeting,
        "--audience",
        "parents",
    ]);
    assert!(e.contains("al vastgesteld"), "{e}");
    chair.json(&[
        "meeting",
        "zienswijze",
        &case,
        &meeting,
        "--audience",
        "parents",
        "--person",
        &mother_id,
        "--agrees",
        "ja",
        "--text",
        "goed plan",
    ]);
    chair.json(&["meeting", "close", &case, &meeting]);
    chair.json(&[
        "case",
        "phase",
        &case,
        "arrangeren",
        "--note",
        "arrangement nodig",
    ]);
    let e = chair.fails(&["case", "phase", &case, "arrangeren"]);
    assert!(e.contains("al in fase"), "{e}");
    let opp = chair.json(&[
        "case",
        "route",
        &case,
        "opp",
        "--text",
        "handelingsdeel: dagritmekaart en korte instructies",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    chair.json(&[
        "case",
        "route-answer",
        &case,
        &opp,
        "ja",
        "--person",
        &mother_id,
        "--text",
        "mondeling op school",
    ]);
    let show = chair.json(&["case", "show", &case]);
    assert_eq!(show["info"]["phase"], "arrangeren");
    let md = chair.dir().join("v.md");
    chair.json(&[
        "export",
        &case,
        "--out",
        md.to_str().unwrap(),
        "--meeting",
        &meeting,
    ]);
    let text = std::fs::read_to_string(&md).unwrap();
    for needle in [
        "## Overleg van 1 december 2026, 15:00 tot 16:00, OBS De Wilgen",
        "- Hoe gaan de ochtenden?",
        "Sanne (ouder/verzorger), met inbreng: ik ben ziek; de ochtenden gaan beter",
        "**Vastgesteld** door Monique",
        "- Sanne (",
        "eens — goed plan (vastgelegd door de voorzitter namens",
    ] {
        assert!(text.contains(needle), "'{needle}' missing in\n{text}");
    }
}

/// Review findings: what is shown at the table or sent to parents holds only what the meeting's
/// (or the invitation's) readers may read; the chair does not overwrite a parent's own view; a
/// verslag changed after it was set as final shows.
#[test]
fn what_the_meeting_shows_and_the_invitation_sends_stay_within_their_readers() {
    use mdo::core::invitation::{Reader, invitation};
    let chair = Person::new("monique", Role::IbEr, "OBS De Wilgen");
    let mother = Person::new("sanne", Role::Ouder, "");
    let mut w = World::new(&chair, "2017-03-14", date!(2026 - 11 - 23));
    w.add(&chair, &mother, true);
    let pros = CompartmentKind::Shared(Audience::Professionals);
    let (ids, _) = w.act(&chair, |c| {
        let meet = |c: &mut mdo::core::case::Case, date: &str, kind: CompartmentKind| {
            write::apply(
                c,
                &chair.me,
                0,
                Write::Meeting {
                    date: date.into(),
                    end: "16:00".into(),
                    present: None,
                    plan: Plan::default(),
                },
                kind,
            )
            .unwrap()
            .id
        };
        let first = meet(c, "2026-10-01", parents());
        let second = meet(c, "2026-12-01", parents());
        let only_pros = meet(c, "2026-12-02", pros.clone());
        let ask = |c: &mut mdo::core::case::Case, text: &str, kind: CompartmentKind| {
            write::apply(
                c,
                &chair.me,
                1_795_000_000,
                Write::Item {
                    section: Section::Vragen,
                    text: text.into(),
                    parent: Some(second.clone()),
                    by: None,
                    withhold: None,
                },
                kind,
            )
            .unwrap();
        };
        ask(c, "Hoe gaan de ochtenden?", parents());
        ask(c, "Is er zorg om de veiligheid?", pros.clone());
        for (text, kind) in [
            ("zichtbaar voor iedereen", parents()),
            ("alleen professionals: zorg", pros.clone()),
        ] {
            c.add_item_in(
                &chair.me,
                Section::parse("kind.min").unwrap(),
                text,
                kind,
                None,
                1_795_000_000,
            )
            .unwrap();
        }
        (first, second, only_pros)
    });
    let (first, second, only_pros) = ids;
    let (c, _) = w.view(&chair);
    let placed = |id: &str| c.meetings().into_iter().find(|m| m.data.id == id).unwrap();
    let letter = invitation(&c, &placed(&second), Reader::Parents).unwrap();
    assert!(letter.contains("Hoe gaan de ochtenden?"), "{letter}");
    assert!(!letter.contains("veiligheid"), "{letter}");
    assert!(invitation(&c, &placed(&second), Reader::Child).is_none());
    assert!(invitation(&c, &placed(&only_pros), Reader::Parents).is_none());
    // What changed since the first meeting, at the parents' table: not the professionals' item.
    let since = c.since_last(&second);
    assert_eq!(since.previous, "2026-10-01");
    let new: Vec<&str> = since.new_in_circles.iter().map(|x| x.2.as_str()).collect();
    assert_eq!(new, ["zichtbaar voor iedereen"]);
    // The professionals-only meeting compares with the parents' meeting before it (which its
    // readers also read).
    assert_eq!(c.since_last(&only_pros).previous, "2026-12-01");
    let _ = first;

    // The mother's own view stays hers.
    w.act(&chair, |c| {
        write::apply(
            c,
            &chair.me,
            0,
            Write::Verslag {
                meeting: second.clone(),
            },
            parents(),
        )
        .unwrap();
        traject::vaststellen(c, &chair.me, &second, &parents()).unwrap();
    });
    w.act(&mother, |c| {
        traject::view(
            c,
            &mother.me,
            &second,
            &parents(),
            "sanne",
            Agrees::Nee,
            "klopt niet",
        )
        .unwrap();
    });
    let (e, _) = w.act(&chair, |c| {
        traject::view(c, &chair.me, &second, &parents(), "sanne", Agrees::Ja, "")
            .unwrap_err()
            .to_string()
    });
    assert!(e.contains("gaf zelf al een antwoord"), "{e}");
    // A verslag changed after it was set as final shows as changed.
    let (c, _) = w.view(&chair);
    assert!(!c.verslag_changed(&second, &parents()));
    w.act(&chair, |c| {
        c.doc_for(parents())
            .unwrap()
            .set_verslag(&second, "iets anders")
            .unwrap();
    });
    assert!(w.view(&mother).0.verslag_changed(&second, &parents()));
}

/// Issue 16: the plain view for a parent — what an MDO is, the next meeting, what goes well, who
/// does what, her questions, and the consents that ask her, explained, with her own buttons; a
/// child of 12+ gets it in "je".
#[test]
fn the_plain_view_for_a_parent_and_for_the_child() {
    use mdo::core::membership::{Action, Basis, ConsentSpec, Recipient};
    use mdo::core::model::{ConsentCategory, ConsentHow};
    let chair = Person::new("monique", Role::IbEr, "OBS De Wilgen");
    let mother = Person::new("sanne", Role::Ouder, "");
    let child = Person::new("daan", Role::Kind, "");
    let mut w = World::new(&chair, "2012-05-01", date!(2026 - 11 - 23));
    w.add(&chair, &mother, true);
    w.add(&chair, &child, false);
    w.act(&chair, |c| {
        c.add_item(
            &chair.me,
            Section::parse("kind.plus").unwrap(),
            "speelt graag voetbal",
            Audience::Child,
            None,
            0,
        )
        .unwrap();
        c.add_agreement(
            &chair.me,
            NewAgreement {
                wie: "Monique de Vries".into(),
                wat: "gesprek met de mentor plannen".into(),
                owner: "monique".into(),
                due: "2026-12-01".into(),
                ..Default::default()
            },
            Audience::Child,
            0,
        )
        .unwrap();
        c.membership(
            &chair.dev,
            Action::Grant {
                record: ConsentSpec {
                    id: "c1".into(),
                    basis: Basis::Consent {
                        consenters: Vec::new(),
                        how: ConsentHow::Oral,
                    },
                    purpose: "de jeugdarts kijkt mee".into(),
                    categories: vec![ConsentCategory::Onderzoek],
                    recipients: vec![Recipient::Organisation("GGD JGZ".into())],
                    sources: vec!["OBS De Wilgen".into()],
                    from: "2026-11-23".into(),
                    until: "2027-11-23".into(),
                },
            },
        )
        .unwrap();
    });
    let (c, _) = w.view(&mother);
    let v = mdo::app::view::case_view(&c, &mother.me, None).plain;
    assert!(!v.for_child);
    assert!(v.intro.contains("U kent Kind het best"), "{}", v.intro);
    assert_eq!(v.next, "Er is nog geen overleg gepland.");
    assert_eq!(v.good, ["speelt graag voetbal"]);
    assert_eq!(
        v.agreed,
        ["Monique de Vries: gesprek met de mentor plannen. Klaar op 1 december 2026. Nog bezig."]
    );
    assert_eq!(v.my_consents.len(), 1);
    let (_, text, codes, labels) = &v.my_consents[0];
    assert!(
        text.starts_with(
            "Mogen professionals van GGD JGZ onderzoeksverslagen van OBS De Wilgen lezen?"
        ),
        "{text}"
    );
    assert!(text.contains("U hebt nog geen antwoord gegeven"), "{text}");
    assert_eq!(codes.len(), 2, "{labels:?}");
    assert!(
        labels.iter().any(|l| l == "Ik geef toestemming"),
        "{labels:?}"
    );
    // Daan (14) reads his own, in "je".
    let (c, _) = w.view(&child);
    let d = mdo::app::view::case_view(&c, &child.me, None).plain;
    assert!(d.for_child);
    assert!(
        d.intro.starts_with("Een MDO is een gesprek over jou"),
        "{}",
        d.intro
    );
    assert!(
        d.my_consents[0]
            .1
            .contains("Je hebt nog geen antwoord gegeven")
    );
}
