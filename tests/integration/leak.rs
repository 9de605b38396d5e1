//! Nothing lands beyond the audience its author chose: every way text enters a case — items of
//! every kind of section, agreements, arrows, meeting notes, meetings, verslagen — written by
//! every role of the seeds, with the default *voor wie?* of their role and with every other
//! audience they may choose. Then, with real keys, as each reader's device after a sync:
//! decrypting with the parents' (or the child's, or a colleague's) keys never yields text of an
//! audience they do not belong to, and a verslag composed for an audience carries no text from
//! outside it. (The app and the CLI go through the same core calls; `tests/ui` and
//! `cli_sharing` drive them as a person would.)

use std::collections::BTreeSet;

use mdo::core::CoreError;
use mdo::core::audience::{self, Writing};
use mdo::core::case::{Case, CompartmentKind, NewAgreement};
use mdo::core::model::{Audience, Direction, Role, Section};
use mdo::core::verslag;
use mdo::crypto::envelope;
use time::macros::date;

use crate::world::{Person, World};

/// Roles of the seeds that write in an MDO (domain.md, Roles), with an organisation each.
fn writers() -> Vec<Person> {
    [
        (Role::Leerkracht, "OBS De Wilgen"),
        (Role::Mentor, "Het Lyceum"),
        (Role::Zoco, "Het Lyceum"),
        (Role::Directeur, "OBS De Wilgen"),
        (Role::ConsulentSwv, "SWV PO"),
        (Role::JgCoach, "Gemeente"),
        (Role::Jeugdhulpverlener, "Jeugdhulp Noord"),
        (Role::Schoolmaatschappelijkwerker, "SMW Welzijn"),
        (Role::Jeugdarts, "GGD JGZ"),
        (Role::Gezondheidszorg, "GGZ Kind"),
        (Role::Jongerenwerker, "Welzijn West"),
        (Role::Leerplichtambtenaar, "Gemeente Leerplicht"),
        (Role::Jeugdbeschermer, "GI Jeugdbescherming"),
        (Role::Politie, "Politie Eenheid"),
        (Role::Ouder, ""),
        (Role::Kind, ""),
        (Role::Netwerk, ""),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, (role, org))| Person::new(&format!("w{n}-{}", role.id()), role, org))
    .collect()
}

/// One piece of text written for one compartment.
#[derive(Debug, Clone)]
struct Written {
    marker: String,
    kind: CompartmentKind,
    /// A later note at the same step for the same audience replaces it.
    replaceable: bool,
}

/// Every string a device holds in the compartments it can open.
fn readable(c: &Case) -> Vec<String> {
    c.compartments
        .values()
        .flat_map(|comp| comp.doc.all_text())
        .collect()
}

/// The compartments `p` reads on the world's day, by the audience rules and consents.
fn reads(c: &Case, p: &Person) -> BTreeSet<CompartmentKind> {
    c.access()
        .compartments
        .values()
        .filter(|a| a.readers.contains_key(&p.me.person))
        .map(|a| a.kind.clone())
        .collect()
}

/// `w` writes one text of every kind for `kind`; returns what was written (and refused).
fn write_all(
    c: &mut Case,
    w: &Person,
    kind: &CompartmentKind,
    meetings: &[(String, CompartmentKind)],
    n: &mut usize,
    out: &mut Vec<Written>,
    refused_notes: &mut usize,
) {
    let me = &w.me;
    let mut mark = |what: &str| {
        *n += 1;
        format!("LEAK{:04}-{}-{what}", *n, me.person)
    };
    let goal = Section::parse("kind.doel").unwrap();
    for section in [
        Section::parse("kind.plus").unwrap(),
        Section::parse("thuis.min").unwrap(),
        goal.clone(),
        Section::Vragen,
        Section::Notitie,
        Section::parse("behoeften.kind").unwrap(),
        Section::parse("aanpak.ouders").unwrap(),
        Section::parse("ondersteuning.leerkracht").unwrap(),
    ] {
        let m = mark("item");
        c.add_item_in(me, section, &m, kind.clone(), None, 0)
            .unwrap_or_else(|e| panic!("{} writing {kind:?}: {e}", me.person));
        out.push(Written {
            marker: m,
            kind: kind.clone(),
            replaceable: false,
        });
    }
    let m = mark("agreement");
    c.add_agreement_in(
        me,
        NewAgreement {
            wie: m.clone(),
            wat: m.clone(),
            waarom: m.clone(),
            hoe: m.clone(),
            wanneer: m.clone(),
            ..Default::default()
        },
        kind.clone(),
        0,
    )
    .unwrap();
    out.push(Written {
        marker: m,
        kind: kind.clone(),
        replaceable: false,
    });
    let m = mark("arrow");
    c.add_arrow_in("school", "kind", &m, Direction::Omlaag, kind.clone())
        .unwrap();
    out.push(Written {
        marker: m,
        kind: kind.clone(),
        replaceable: false,
    });
    for (meeting, held) in meetings {
        if !reads(c, w).contains(held) {
            continue;
        }
        let m = mark("note");
        match c.meeting_step(meeting, 2, &m, kind.clone()) {
            Ok(()) => out.push(Written {
                marker: m,
                kind: kind.clone(),
                replaceable: true,
            }),
            Err(CoreError::NarrowerAudience { .. }) => {
                // A note for a broader audience than the meeting's is refused.
                assert!(
                    !audience::may_note(kind, held),
                    "{kind:?} refused in a meeting {held:?}"
                );
                *refused_notes += 1;
            }
            Err(e) => panic!("note by {} for {kind:?}: {e}", me.person),
        }
    }
}

#[test]
fn text_lands_only_in_the_audience_its_author_chose() {
    let today = date!(2026 - 11 - 23);
    // A child of 13: parents with gezag and the child each have their own audiences.
    let chair = Person::new("monique", Role::IbEr, "OBS De Wilgen");
    let sanne = Person::new("sanne", Role::Ouder, "");
    let noor = Person::new("noor", Role::Kind, "");
    let oma = Person::new("oma", Role::Netwerk, "");
    let mut w = World::new(&chair, "2013-05-02", today);
    w.add(&chair, &sanne, true);
    w.add(&chair, &noor, false);
    w.add(&chair, &oma, false);
    let writers = writers();
    for p in &writers {
        w.add(&chair, p, p.me.role == Role::Ouder);
    }
    // The parents and Noor agree to the MDO with the organisations of the table; enforcement
    // roles are not at it (they read only what a record opens to them).
    let table: Vec<&str> = writers
        .iter()
        .filter(|p| p.me.role.is_professional() && !mdo::core::audience::no_base_access(p.me.role))
        .map(|p| p.me.organisation.as_str())
        .collect();
    w.at_table(&chair, &table);
    // Every device syncs once: keys for the new members' compartments.
    for p in writers.iter().chain([&sanne, &noor, &oma]) {
        w.sync(p);
    }
    w.sync(&chair);
    // Two meetings: a regular MDO with parents and one of professionals only.
    let ((with_parents, pros_only), _) = w.act(&chair, |c| {
        let a = c
            .new_meeting(
                "2026-11-20",
                "16:00",
                CompartmentKind::Shared(Audience::Parents),
            )
            .unwrap();
        let b = c
            .new_meeting(
                "2026-11-21",
                "12:00",
                CompartmentKind::Shared(Audience::Professionals),
            )
            .unwrap();
        (a, b)
    });
    let meetings = vec![
        (with_parents, CompartmentKind::Shared(Audience::Parents)),
        (pros_only, CompartmentKind::Shared(Audience::Professionals)),
    ];
    // A meeting for any other audience is refused.
    let (refused, _) = w.act(&chair, |c| {
        c.new_meeting(
            "2026-11-22",
            "12:00",
            CompartmentKind::Organisation("OBS De Wilgen".into()),
        )
    });
    assert!(refused.is_err());

    let mut written = Vec::new();
    let mut n = 0;
    let mut refused = 0;
    let mut defaults = Vec::new();
    for p in writers.iter().chain([&chair]) {
        let choices = audience::choices(&p.me);
        let circle = Section::parse("kind.plus").unwrap();
        for wr in [
            Writing::Item(&circle),
            Writing::Item(&Section::Notitie),
            Writing::Agreement,
            Writing::MeetingNote,
        ] {
            let d = audience::default_for(&p.me, wr);
            assert!(choices.contains(&d), "{:?}: {d:?}", p.me.role);
            defaults.push((p.me.role, d));
        }
        let (_, _) = w.act(p, |c| {
            for kind in &choices {
                write_all(c, p, kind, &meetings, &mut n, &mut written, &mut refused);
            }
        });
    }
    assert!(written.len() > 500, "{} texts written", written.len());

    // Every reader, with their own keys after a sync: no text of an audience they are not in.
    let observers: Vec<&Person> = [&sanne, &noor, &oma, &chair]
        .into_iter()
        .chain(writers.iter())
        .collect();
    for o in observers {
        let (c, _) = w.view(o);
        let allowed = reads(&c, o);
        let text = readable(&c).join("\n");
        let mut seen = 0;
        for x in &written {
            let visible = text.contains(&x.marker);
            if allowed.contains(&x.kind) {
                // (What they may read does arrive: the check below is not vacuous.)
                assert!(
                    visible || x.replaceable,
                    "{} misses {:?} ({})",
                    o.me.person,
                    x.kind,
                    x.marker
                );
                seen += 1;
            } else {
                assert!(
                    !visible,
                    "{} ({:?}) reads {} written for {:?}",
                    o.me.person, o.me.role, x.marker, x.kind
                );
            }
        }
        assert!(seen > 0, "{} reads nothing", o.me.person);
        // And at the level of chunks: every chunk this device can open is of a compartment it
        // reads.
        for chunk in &w.chunks {
            let env = envelope::Envelope::parse(chunk).unwrap();
            let opens = c
                .keyring(env.compartment)
                .is_some_and(|r| envelope::open(chunk, r).is_ok());
            if opens {
                let kind = c.compartments.get(&env.compartment).map(|x| x.kind.clone());
                assert!(
                    kind.as_ref().is_some_and(|k| allowed.contains(k)),
                    "{} opens a chunk of {kind:?}",
                    o.me.person
                );
            }
        }
    }
    // The parents never see the professionals-only meeting, nor any note made in it.
    let (sv, _) = w.view(&sanne);
    assert_eq!(sv.meetings().len(), 1);
    assert!(sv.meeting_notes(&meetings[1].0).is_empty());
    assert!(
        refused > 0,
        "broader notes than the meeting were tried and refused"
    );

    // A verslag for each audience the chair can compose: only text every reader may read.
    let (mut cv, _) = w.view(&chair);
    // The oracle is the access rules themselves, not the composing rule: text of `kind` may be
    // in a verslag for `target` only if everyone on the case who reads `target` reads `kind`.
    let everyone: Vec<&Person> = [&sanne, &noor, &oma, &chair]
        .into_iter()
        .chain(writers.iter())
        .collect();
    let access = cv.access();
    let cid = cv.id;
    let readers_of = |k: &CompartmentKind| -> BTreeSet<String> {
        access
            .compartments
            .get(&k.id(cid))
            .map(|a| a.readers.keys().cloned().collect())
            .unwrap_or_default()
    };
    let covered = |kind: &CompartmentKind, target: &CompartmentKind| {
        let r = readers_of(kind);
        readers_of(target).iter().all(|p| r.contains(p))
    };
    assert!(everyone.len() > 15);
    for target in audience::verslag_choices(&chair.me) {
        for (meeting, held) in &meetings {
            let v = match verslag::compose(&cv, Some(meeting), &target) {
                Ok(v) => v,
                Err(CoreError::NarrowerAudience { .. }) => {
                    assert!(!audience::composes_into(held, &target));
                    continue;
                }
                Err(e) => panic!("{e}"),
            };
            let mut inside = 0;
            for x in &written {
                let ok = covered(&x.kind, &target);
                let there = v.markdown().contains(&x.marker);
                if there {
                    assert!(
                        ok,
                        "{} ({:?}) in a verslag for {target:?}",
                        x.marker, x.kind
                    );
                    inside += 1;
                }
            }
            assert!(inside > 0, "the verslag for {target:?} is empty");
            cv.store_verslag(&v).unwrap();
        }
    }
    // Stored: the parents read their verslag and nothing narrower.
    w.act(&chair, |c| {
        for target in audience::verslag_choices(&chair.me) {
            if let Ok(v) = verslag::compose(c, Some(&meetings[0].0), &target) {
                c.store_verslag(&v).unwrap();
            }
        }
    });
    let (sv, _) = w.view(&sanne);
    let stored = sv.verslagen();
    assert_eq!(stored.len(), 1, "the parents read one verslag: theirs");
    assert_eq!(
        stored[0].kind,
        CompartmentKind::Shared(Audience::Parents),
        "{:?}",
        stored[0].kind
    );
    for x in &written {
        if stored[0].data.text.contains(&x.marker) {
            assert!(
                reads(&sv, &sanne).contains(&x.kind),
                "{} in the parents' verslag",
                x.marker
            );
        }
    }
    // The defaults by role (docs/sharing-rules.md, "Voor wie?").
    for (role, d) in defaults {
        match role {
            Role::Jeugdarts | Role::Gezondheidszorg => assert!(
                matches!(d, CompartmentKind::Category(..)),
                "{role:?} → {d:?}"
            ),
            Role::Politie | Role::Jeugdbeschermer => {
                assert!(matches!(d, CompartmentKind::Safety(_)), "{role:?} → {d:?}")
            }
            Role::Leerplichtambtenaar => {
                assert!(matches!(d, CompartmentKind::Safety(_)), "{role:?} → {d:?}")
            }
            _ => assert!(
                !matches!(
                    d,
                    CompartmentKind::Category(..) | CompartmentKind::Safety(_)
                ),
                "{role:?} → {d:?}"
            ),
        }
    }
}

/// The composing rule against the real reader sets, in every age band and with consents that
/// extend audiences (a medical finding to the chair, the dossier to a father without gezag and to
/// the grandmother, a legal basis to the police): whenever text of `s` may go into `t`, everyone
/// who reads `t` reads `s` — and the rule is not vacuous (some pairs are refused that would leak).
#[test]
fn composing_never_widens_in_any_age_band_or_under_consent() {
    use mdo::core::membership::{Action, Basis, ConsentSpec, Recipient};
    use mdo::core::model::{ConsentCategory, ConsentHow, LegalGround};
    let today = date!(2026 - 11 - 23);
    let mut checked = 0;
    let mut refused_leaks = 0;
    for (birth, band_consenters) in [
        ("2019-01-01", vec!["sanne"]),
        ("2013-01-01", vec!["sanne", "noor"]),
        ("2009-01-01", vec!["noor"]),
    ] {
        let chair = Person::new("monique", Role::IbEr, "OBS De Wilgen");
        let people = [
            Person::new("jeroen", Role::Leerkracht, "OBS De Wilgen"),
            Person::new("anouk", Role::Jeugdarts, "GGD JGZ"),
            Person::new("ggz", Role::Gezondheidszorg, "GGZ Kind"),
            Person::new("piet", Role::Politie, "Politie"),
            Person::new("rik", Role::JgCoach, "Gemeente"),
            Person::new("sanne", Role::Ouder, ""),
            Person::new("erik", Role::Ouder, ""),
            Person::new("noor", Role::Kind, ""),
            Person::new("oma", Role::Netwerk, ""),
        ];
        let mut w = World::new(&chair, birth, today);
        for p in &people {
            w.add(&chair, p, p.me.person == "sanne");
        }
        w.at_table(&chair, &["GGD JGZ", "GGZ Kind", "Gemeente"]);
        let grant = |id: &str, cat: ConsentCategory, to: Recipient| Action::Grant {
            record: ConsentSpec {
                id: id.into(),
                basis: Basis::Consent {
                    consenters: band_consenters.iter().map(|s| s.to_string()).collect(),
                    how: ConsentHow::Oral,
                },
                purpose: "afstemming in het MDO".into(),
                categories: vec![cat],
                recipients: vec![to],
                sources: match cat {
                    ConsentCategory::Dossier => Vec::new(),
                    _ => vec!["GGD JGZ".into()],
                },
                from: "2026-11-01".into(),
                until: "2027-11-01".into(),
            },
        };
        // Recorded by the jeugdarts, who holds the information.
        w.consent(
            &people[1],
            grant(
                "c1",
                ConsentCategory::Medisch,
                Recipient::Member("monique".into()),
            ),
            true,
        );
        w.consent(
            &chair,
            grant(
                "c2",
                ConsentCategory::Dossier,
                Recipient::Member("erik".into()),
            ),
            false,
        );
        w.consent(
            &chair,
            grant(
                "c3",
                ConsentCategory::Dossier,
                Recipient::Member("oma".into()),
            ),
            false,
        );
        w.membership(
            &chair,
            Action::Grant {
                record: ConsentSpec {
                    id: "l1".into(),
                    basis: Basis::Legal {
                        ground: LegalGround::LegalDuty,
                        reasoning: "zorgen over veiligheid".into(),
                        decided_by: "monique".into(),
                    },
                    purpose: "melding".into(),
                    categories: vec![ConsentCategory::Gezinssituatie],
                    recipients: vec![Recipient::Organisation("Politie".into())],
                    sources: vec!["OBS De Wilgen".into()],
                    from: "2026-11-01".into(),
                    until: "2027-11-01".into(),
                },
            },
        );
        let (c, _) = w.view(&chair);
        let access = c.access();
        assert!(
            access.compartments.values().any(|a| a
                .readers
                .values()
                .any(|b| !matches!(b, mdo::core::access::ReadBasis::Audience))),
            "the consents extend some audience ({birth})"
        );
        let kinds: Vec<_> = access.compartments.values().collect();
        for s in &kinds {
            for t in &kinds {
                let covered = t.readers.keys().all(|p| s.readers.contains_key(p));
                if audience::composes_into(&s.kind, &t.kind) {
                    assert!(
                        covered,
                        "{birth}: {:?} composes into {:?}, but {:?} read the target and not the source",
                        s.kind,
                        t.kind,
                        t.readers
                            .keys()
                            .filter(|p| !s.readers.contains_key(*p))
                            .collect::<Vec<_>>()
                    );
                    checked += 1;
                } else if !covered {
                    refused_leaks += 1;
                }
            }
        }
    }
    assert!(checked > 50, "{checked} pairs checked");
    assert!(refused_leaks > 50, "{refused_leaks} leaking pairs refused");
}
