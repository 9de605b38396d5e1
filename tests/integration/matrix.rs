//! The sharing matrix: for every role × compartment (audience) × consent state × age band, who
//! holds the current key of the compartment — i.e. who can decrypt what is written there now —
//! asserted cell by cell against the tables below (docs/sharing-rules.md states the same rules).
//!
//! Dimensions (issue 14): consent per person (given by each, one refusal, withdrawn, expired),
//! source-specific consent and the doctor's release (a GGD consent opens only the GGD's medical
//! compartment, and only after release), organisations at the table and one that is not,
//! enforcement roles without base access, the child 12–15 and 16+, a voogd with gezag and a
//! foster parent without, and BW 1:377c to the parent without gezag. The 12–15 default audience
//! and the birthday notices have their own tests in `sharing.rs`.

use mdo::core::case::CompartmentKind;
use mdo::core::membership::{Action, Basis, ConsentSpec, Recipient};
use mdo::core::model::{Audience, ConsentCategory, ConsentHow, LegalGround, Role};
use time::macros::date;

use crate::world::{Person, World};

const COLUMNS: [&str; 9] = [
    "professionals",
    "parents",
    "child",
    "network",
    "organisation:School",
    "safety:School",
    "category:medisch:GGD",
    "category:ggz:GGZ",
    "category:gezinssituatie:Gemeente",
];

/// Rows: participant, then one mark per column (x = holds the current key).
const UNDER_16: &[(&str, &str)] = &[
    ("chair", "xxxxxx..."),
    ("leerkracht", "xxxxxx..."),
    ("ouder-gezag", ".xxx....."),
    ("ouder-zonder", "........."),
    ("kind", "..x......"),
    ("oma", "...x....."),
    ("arts", "xxxx..x.."),
    ("ggz", "xxxx...x."),
    ("coach", "xxxx....x"),
    ("politie", "........."),
    ("leerplicht", "........."),
    ("jeugdhulp", "........."),
    ("voogd", ".xxx....."),
    ("pleegouder", "...x....."),
];

const FROM_16: &[(&str, &str)] = &[
    ("chair", "xxxxxx..."),
    ("leerkracht", "xxxxxx..."),
    ("ouder-gezag", ".xxx....."),
    ("ouder-zonder", "........."),
    ("kind", ".xxx....."),
    ("oma", "...x....."),
    ("arts", "xxxx..x.."),
    ("ggz", "xxxx...x."),
    ("coach", "xxxx....x"),
    ("politie", "........."),
    ("leerplicht", "........."),
    ("jeugdhulp", "........."),
    ("voogd", ".xxx....."),
    ("pleegouder", "...x....."),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum ConsentCase {
    None,
    Active,
    Withdrawn,
    Expired,
    /// The voogd refuses (each person's answer is their own act).
    Refused,
    /// Everyone consented; the jeugdarts has not released her finding.
    NotReleased,
    /// No consent; the JG-coach, who holds the family information, opens it to the parent
    /// without gezag on BW art. 1:377c.
    ParentInformation,
}

fn people() -> Vec<(Person, bool)> {
    vec![
        (Person::new("chair", Role::IbEr, "School"), false),
        (Person::new("leerkracht", Role::Leerkracht, "School"), false),
        (Person::new("ouder-gezag", Role::Ouder, ""), true),
        (Person::new("ouder-zonder", Role::Ouder, ""), false),
        (Person::new("kind", Role::Kind, ""), false),
        (Person::new("oma", Role::Netwerk, ""), false),
        (Person::new("arts", Role::Jeugdarts, "GGD"), false),
        (Person::new("ggz", Role::Gezondheidszorg, "GGZ"), false),
        (Person::new("coach", Role::JgCoach, "Gemeente"), false),
        // Enforcement roles: no base access to the shared case (issue 14).
        (Person::new("politie", Role::Politie, "Politie"), false),
        (
            Person::new(
                "leerplicht",
                Role::Leerplichtambtenaar,
                "Gemeente Leerplicht",
            ),
            false,
        ),
        // An organisation the parents (and the child) have not agreed to: added, it reads
        // nothing of the shared case (issue 14: consent for the MDO names who joins).
        (
            Person::new("jeugdhulp", Role::Jeugdhulpverlener, "Jeugdhulp Zuid"),
            false,
        ),
        // A voogd holds gezag beside the parent (BW 1:245); a foster parent holds none and
        // reads the network's part.
        (Person::new("voogd", Role::Voogd, ""), true),
        (Person::new("pleegouder", Role::Pleegouder, ""), false),
    ]
}

fn kind_of(col: &str) -> CompartmentKind {
    CompartmentKind::parse(col).unwrap()
}

fn run(birthdate: &str, table: &[(&str, &str)], consent: ConsentCase) {
    let ps = people();
    let grant_day = date!(2026 - 03 - 01);
    let mut w = World::new(&ps[0].0, birthdate, grant_day);
    for (p, custody) in &ps[1..] {
        w.add(&ps[0].0, p, *custody);
    }
    w.at_table(&ps[0].0, &["GGD", "GGZ", "Gemeente"]);
    let by = |id: &str| {
        ps.iter()
            .map(|(p, _)| p)
            .find(|p| p.me.person == id)
            .unwrap()
    };
    if consent == ConsentCase::ParentInformation {
        w.membership(
            by("coach"),
            Action::Grant {
                record: ConsentSpec {
                    id: "l".into(),
                    basis: Basis::Legal {
                        ground: LegalGround::ParentInformation,
                        reasoning: "vader vraagt naar belangrijke feiten over de opvoeding".into(),
                        decided_by: "coach".into(),
                    },
                    purpose: String::new(),
                    categories: vec![ConsentCategory::Gezinssituatie],
                    recipients: vec![Recipient::Member("ouder-zonder".into())],
                    sources: vec!["Gemeente".into()],
                    from: "2026-01-01".into(),
                    until: "2027-07-31".into(),
                },
            },
        );
        w.sync(by("coach"));
    }
    if !matches!(consent, ConsentCase::None | ConsentCase::ParentInformation) {
        // Everyone the age rules may require consents; the recipient is the teacher.
        // Recorded by the holder of the finding, the jeugdarts.
        w.consent(
            by("arts"),
            Action::Grant {
                record: ConsentSpec {
                    id: "c".into(),
                    basis: Basis::Consent {
                        consenters: if consent == ConsentCase::Refused {
                            vec!["ouder-gezag".into(), "kind".into()]
                        } else {
                            vec!["ouder-gezag".into(), "voogd".into(), "kind".into()]
                        },
                        how: ConsentHow::Written,
                    },
                    purpose: "matrix".into(),
                    categories: vec![ConsentCategory::Medisch],
                    recipients: vec![Recipient::Role(Role::Leerkracht)],
                    sources: vec!["GGD".into()],
                    from: "2026-01-01".into(),
                    until: if consent == ConsentCase::Expired {
                        "2026-06-30".into()
                    } else {
                        "2027-07-31".into()
                    },
                },
            },
            consent != ConsentCase::NotReleased,
        );
        if consent == ConsentCase::Refused {
            w.membership(
                by("voogd"),
                Action::Answer {
                    consent: "c".into(),
                    person: "voogd".into(),
                    given: false,
                    how: ConsentHow::Digital,
                    note: String::new(),
                },
            );
        }
        w.sync(by("arts")); // the key holder hands the key to the teacher
    }
    if consent == ConsentCase::Withdrawn {
        w.membership(
            by("ouder-gezag"),
            Action::Withdraw {
                consent: "c".into(),
                by: "ouder-gezag".into(),
                note: String::new(),
            },
        );
    }
    w.today = date!(2026 - 11 - 23);
    // Everybody syncs twice: rotations and handouts settle.
    for _ in 0..2 {
        for (p, _) in &ps {
            w.sync(p);
        }
    }
    let (chair_view, _) = w.view(by("chair"));
    for (who, marks) in table {
        let p = by(who);
        let (view, problems) = w.view(p);
        // Chunks of compartments one cannot read are in the shared pool; anything else is wrong.
        let real: Vec<&String> = problems
            .iter()
            .filter(|p| !p.contains("no key for epoch"))
            .collect();
        assert!(real.is_empty(), "{who}: {real:?}");
        for (col, mark) in COLUMNS.iter().zip(marks.chars()) {
            let c = kind_of(col).id(w.case);
            let current = chair_view.state().latest(c).map(|e| e.epoch);
            let held = view.keyring(c).and_then(|r| r.latest()).map(|k| k.epoch());
            let mut expected = mark == 'x';
            if *who == "ouder-zonder" && *col == "category:gezinssituatie:Gemeente" {
                expected = consent == ConsentCase::ParentInformation;
            }
            if *who == "leerkracht" && *col == "category:medisch:GGD" {
                // From 16 the young person decides alone: the voogd's "no" does not count, and
                // a parent's withdrawal ends only the parent's own answer.
                expected = consent == ConsentCase::Active
                    || (matches!(consent, ConsentCase::Refused | ConsentCase::Withdrawn)
                        && table == FROM_16);
            }
            assert!(current.is_some(), "{col} has no key");
            assert_eq!(
                held == current,
                expected,
                "born {birthdate}, consent {consent:?}: {who} × {col} (holds epoch {held:?}, current {current:?})"
            );
            // The resolution says the same as the keys.
            assert_eq!(
                chair_view.access().reads(c, who).is_some(),
                expected,
                "resolution: {who} × {col}"
            );
        }
    }
}

#[test]
fn every_cell_of_the_sharing_matrix() {
    for consent in [
        ConsentCase::None,
        ConsentCase::Active,
        ConsentCase::Withdrawn,
        ConsentCase::Expired,
        ConsentCase::Refused,
        ConsentCase::NotReleased,
        ConsentCase::ParentInformation,
    ] {
        run("2017-03-14", UNDER_16, consent); // 8–9: under 12
        run("2012-05-01", UNDER_16, consent); // 13–14: 12–15
        run("2010-01-01", FROM_16, consent); // 16
    }
}

#[test]
fn columns_are_the_audiences_of_domain_md() {
    assert_eq!(
        kind_of(COLUMNS[1]),
        CompartmentKind::Shared(Audience::Parents)
    );
    assert_eq!(kind_of(COLUMNS[6]).audience(), Audience::Medical);
    assert_eq!(kind_of(COLUMNS[5]).audience(), Audience::Safety);
}
