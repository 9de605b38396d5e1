//! The sharing rules end to end in process: the two sample cases of `shared/domain.md` and the
//! adversarial cases (forged, replayed and unauthorized ops and chunks).

use mdo::core::CoreError;
use mdo::core::access::{self, ConsentState};
use mdo::core::case::CompartmentKind;
use mdo::core::membership::{Action, Basis, ConsentSpec, Inserted, Op, Recipient, Rejection};
use mdo::core::model::{Audience, ConsentCategory, ConsentHow, LegalGround, Role};
use mdo::crypto::envelope;
use time::macros::date;

use crate::world::{Person, World};

fn consent(id: &str, by: &[&str], cat: ConsentCategory, to: Recipient, until: &str) -> Action {
    Action::Grant {
        record: ConsentSpec {
            id: id.into(),
            basis: Basis::Consent {
                consenters: by.iter().map(|s| s.to_string()).collect(),
                how: ConsentHow::Oral,
            },
            purpose: "afstemming in het MDO".into(),
            categories: vec![cat],
            recipients: vec![to],
            // The holder of each kind of information in these stories (issue 14: the holder
            // records a consent for it and names itself as the source).
            sources: match cat {
                ConsentCategory::Dossier => Vec::new(),
                ConsentCategory::Medisch => vec!["GGD JGZ".into()],
                ConsentCategory::Ggz => vec!["Accare".into()],
                ConsentCategory::Gezinssituatie => vec!["Gemeente".into()],
                ConsentCategory::Verzuim => vec!["SMW Welzijn".into()],
                ConsentCategory::Onderzoek => vec!["OBS De Wilgen".into()],
            },
            from: "2026-11-01".into(),
            until: until.into(),
        },
    }
}

struct Noor {
    w: World,
    monique: Person,
    sanne: Person,
    erik: Person,
    lotte: Person,
    rik: Person,
    arts: Person,
}

fn noor() -> Noor {
    let monique = Person::new("monique", Role::IbEr, "OBS De Wilgen");
    let sanne = Person::new("sanne", Role::Ouder, "");
    let erik = Person::new("erik", Role::Ouder, "");
    let lotte = Person::new("lotte", Role::Schoolmaatschappelijkwerker, "SMW Welzijn");
    let rik = Person::new("rik", Role::JgCoach, "Gemeente");
    let arts = Person::new("anouk", Role::Jeugdarts, "GGD JGZ");
    let mut w = World::new(&monique, "2017-03-14", date!(2026 - 11 - 23));
    w.add(&monique, &sanne, true);
    w.add(&monique, &erik, true);
    for p in [&lotte, &rik, &arts] {
        w.add(&monique, p, false);
    }
    w.at_table(&monique, &["SMW Welzijn", "Gemeente", "GGD JGZ"]);
    Noor {
        w,
        monique,
        sanne,
        erik,
        lotte,
        rik,
        arts,
    }
}

#[test]
fn noor_medical_finding_reaches_the_ib_er_only_after_both_parents_consent() {
    let mut n = noor();
    let medisch = CompartmentKind::Category(ConsentCategory::Medisch, "GGD JGZ".into());
    let finding = "slaapt slecht: onrustig inslapen, advies huisarts";
    let chunk = n.w.write(&n.arts, medisch.clone(), finding);
    assert!(n.w.sees(&n.arts).contains(&finding.to_string()));
    for p in [&n.monique, &n.sanne, &n.lotte] {
        assert!(
            !n.w.can_open(p, &chunk),
            "{} reads medical content",
            p.me.person
        );
        assert!(!n.w.sees(p).contains(&finding.to_string()));
    }

    // Only the mother consents: under 12 both parents with gezag must.
    // Recorded by the jeugdarts, who holds the finding (never by whoever it gives access).
    n.w.consent(
        &n.arts,
        consent(
            "c1",
            &["sanne"],
            ConsentCategory::Medisch,
            Recipient::Member("monique".into()),
            "2027-07-31",
        ),
        true,
    );
    n.w.sync(&n.arts);
    assert!(
        !n.w.can_open(&n.monique, &chunk),
        "one parent is not enough under 12"
    );
    let (view, _) = n.w.view(&n.monique);
    let st = access::consent_status(view.state(), &view.state().consents["c1"], n.w.today);
    assert_eq!(st.state, ConsentState::Incomplete);
    assert_eq!(st.missing, vec!["erik".to_string()]);

    // The father refuses at first: visible to the team, and nothing opens.
    n.w.consent(
        &n.arts,
        consent(
            "c2",
            &["sanne"],
            ConsentCategory::Medisch,
            Recipient::Member("monique".into()),
            "2027-07-31",
        ),
        false,
    );
    let answer = |given: bool| Action::Answer {
        consent: "c2".into(),
        person: "erik".into(),
        given,
        how: ConsentHow::Oral,
        note: String::new(),
    };
    n.w.membership(&n.erik, answer(false));
    let (view, _) = n.w.view(&n.monique);
    let st = access::consent_status(view.state(), &view.state().consents["c2"], n.w.today);
    assert_eq!(
        (st.state, st.refused),
        (ConsentState::Refused, vec!["erik".to_string()])
    );
    assert!(!n.w.can_open(&n.monique, &chunk));
    // Sanne cannot answer in Erik's name; Erik changes his mind on his own device.
    let (r, _) =
        n.w.act(&n.sanne, |c| c.membership(&n.sanne.dev, answer(true)));
    assert!(r.is_err(), "a parent answers only for herself");
    n.w.membership(&n.erik, answer(true));
    // Both parents consent — and still nothing leaves the GGD until the jeugdarts releases it
    // (WGBO art. 7:457: consent allows, the doctor decides).
    n.w.sync(&n.arts);
    let (view, _) = n.w.view(&n.monique);
    let st = access::consent_status(view.state(), &view.state().consents["c2"], n.w.today);
    assert_eq!(st.state, ConsentState::Active);
    assert_eq!(st.awaiting_release, vec!["GGD JGZ".to_string()]);
    assert!(
        !n.w.can_open(&n.monique, &chunk),
        "closed after consent until the doctor releases it"
    );
    // Nobody else releases it: not the IB-er, not a parent.
    for p in [&n.monique, &n.sanne] {
        let (r, _) = n.w.act(p, |c| {
            c.membership(
                &p.dev,
                Action::Release {
                    consent: "c2".into(),
                    note: String::new(),
                },
            )
        });
        assert!(r.is_err(), "{} released a GGD finding", p.me.person);
    }
    // The jeugdarts releases; her device hands the key over in the same step.
    n.w.membership(
        &n.arts,
        Action::Release {
            consent: "c2".into(),
            note: "slaapadvies mag naar school".into(),
        },
    );
    assert!(n.w.can_open(&n.monique, &chunk));
    assert!(n.w.sees(&n.monique).contains(&finding.to_string()));
    // The parent is no recipient and no medical role: she still does not read it.
    assert!(!n.w.can_open(&n.sanne, &chunk));
    assert!(!n.w.can_open(&n.lotte, &chunk));
    // The IB-er may read but not write medical content.
    let (mut view, _) = n.w.view(&n.monique);
    let err = view
        .add_item_in(
            &n.monique.me,
            mdo::core::model::Section::Notitie,
            "x",
            medisch,
            None,
            0,
        )
        .unwrap_err();
    assert!(matches!(err, CoreError::NoAccess { .. }), "{err}");
    let id = view
        .items()
        .into_iter()
        .find(|i| i.data.text == finding)
        .unwrap()
        .data
        .id;
    let err = view.edit_item(&id, "anders").unwrap_err();
    assert!(matches!(err, CoreError::NoAccess { .. }), "{err}");

    // The access log basis: the IB-er reads the compartment on the consent record.
    let cid = CompartmentKind::Category(ConsentCategory::Medisch, "GGD JGZ".into()).id(view.id);
    assert_eq!(
        view.access().reads(cid, "monique"),
        Some(&access::ReadBasis::Consent("c2".into()))
    );
}

#[test]
fn noor_father_withdraws_consent_for_the_school_social_worker() {
    let mut n = noor();
    let gezin = CompartmentKind::Category(ConsentCategory::Gezinssituatie, "Gemeente".into());
    let before = n.w.write(
        &n.rik,
        gezin.clone(),
        "chaotische ochtenden sinds de scheiding",
    );
    // Recorded by the holder of the family information, the gemeente's JG-coach.
    n.w.consent(
        &n.rik,
        consent(
            "g1",
            &["sanne", "erik"],
            ConsentCategory::Gezinssituatie,
            Recipient::Member("lotte".into()),
            "2027-07-31",
        ),
        false,
    );
    n.w.sync(&n.rik);
    assert!(n.w.can_open(&n.lotte, &before));

    // The father withdraws (recorded by himself); the JG-coach's next write rotates the key.
    n.w.membership(
        &n.erik,
        Action::Withdraw {
            consent: "g1".into(),
            by: "erik".into(),
            note: "liever niet".into(),
        },
    );
    let after =
        n.w.write(&n.rik, gezin.clone(), "opvoedondersteuning gestart");
    assert!(
        !n.w.can_open(&n.lotte, &after),
        "nothing new reaches the social worker"
    );
    assert!(
        n.w.can_open(&n.lotte, &before),
        "what she received stays with her (said honestly)"
    );
    assert!(n.w.can_open(&n.rik, &after));
    let env = envelope::Envelope::parse(&after).unwrap();
    assert_eq!(env.epoch, 1, "the withdrawal rotated the key");
    // The mother cannot withdraw on the father's behalf, nor withdraw twice.
    let (mut v, _) = n.w.view(&n.sanne);
    let err = v
        .membership(
            &n.sanne.dev,
            Action::Withdraw {
                consent: "g1".into(),
                by: "sanne".into(),
                note: String::new(),
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("already withdrawn"), "{err}");
}

#[test]
fn removed_participant_gets_nothing_new_and_cannot_write() {
    let mut n = noor();
    let parents = CompartmentKind::Shared(Audience::Parents);
    let old =
        n.w.write(&n.monique, parents.clone(), "voor de verwijdering");
    assert!(n.w.can_open(&n.lotte, &old));
    // Lotte writes a note before her removal: it stays part of the history.
    let hers = n.w.write(&n.lotte, parents.clone(), "notitie van Lotte");
    let lotte_view = n.w.view(&n.lotte).0; // her copy, with her old keys
    n.w.membership(
        &n.monique,
        Action::RemoveMember {
            member: "lotte".into(),
            reason: "traject afgerond".into(),
        },
    );
    let new = n.w.write(&n.monique, parents.clone(), "na de verwijdering");
    assert!(!n.w.can_open(&n.lotte, &new));
    assert!(
        n.w.sees(&n.sanne)
            .contains(&"notitie van Lotte".to_string())
    );
    let _ = hers;

    // After removal Lotte seals a chunk with the key she still has: every peer refuses it.
    let pid = parents.id(n.w.case);
    let key = lotte_view.keyring(pid).unwrap().latest().unwrap().clone();
    let mut forged_case = lotte_view;
    forged_case
        .add_item_in(
            &n.lotte.me,
            mdo::core::model::Section::Notitie,
            "stiekem",
            parents,
            None,
            0,
        )
        .unwrap();
    let sealed = forged_case.seal_pending(&n.lotte.dev).unwrap();
    let _ = key;
    n.w.chunks.push(sealed[0].envelope.bytes.clone());
    let (view, problems) = n.w.view(&n.sanne);
    assert!(!view.items().iter().any(|i| i.data.text == "stiekem"));
    assert!(
        problems.iter().any(|p| p.contains("may not write")),
        "{problems:?}"
    );

    // Her ops, made on her stale copy, are refused by peers who know of the removal.
    let mut c = forged_case;
    let op = c
        .membership(
            &n.lotte.dev,
            consent(
                "x",
                &["sanne"],
                ConsentCategory::Verzuim,
                Recipient::Member("monique".into()),
                "2027-01-01",
            ),
        )
        .unwrap();
    let (mut sv, _) = n.w.view(&n.sanne);
    let before = sv.state().clone();
    match sv.insert_op(op).unwrap() {
        Inserted::Rejected(Rejection::AuthorRemoved { member }) => assert_eq!(member, "lotte"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sv.state(), &before);
}

#[test]
fn forged_replayed_and_unauthorized_ops_are_rejected_and_change_nothing() {
    let n = noor();
    let (view, _) = n.w.view(&n.monique);
    let state_before = view.state().clone();
    let mut c = view;

    // Forged signature.
    let mut bytes = n.w.ops.last().unwrap().bytes.clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    assert!(Op::parse(&bytes).is_err());
    bytes[mid] ^= 0x20;
    // The signature's last byte (format 2: the key material follows the signature).
    let body = u32::from_le_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) as usize;
    bytes[9 + body + 64 - 1] ^= 1;
    assert!(matches!(
        Op::parse(&bytes),
        Err(mdo::core::membership::OpError::BadSignature)
    ));

    // Replay: a known op is a duplicate and changes nothing.
    assert_eq!(
        c.insert_op(n.w.ops[1].clone()).unwrap(),
        Inserted::Duplicate
    );
    assert_eq!(c.state(), &state_before);

    // A parent may not add participants; a teacher may not rotate the medical key.
    let (mut sv, _) = n.w.view(&n.sanne);
    let err = sv
        .membership(
            &n.sanne.dev,
            Action::RemoveMember {
                member: "lotte".into(),
                reason: String::new(),
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::Log(mdo::core::membership::LogError::Rejected(
                Rejection::NotAdmin { .. }
            ))
        ),
        "{err}"
    );

    // A device outside the case.
    let stranger = Person::new("x", Role::IbEr, "X");
    let mut sc = n.w.view(&stranger).0;
    assert!(sc.membership(&stranger.dev, Action::Keys).is_err());

    // An unauthorized rotation, signed properly by a member who may not read the compartment,
    // arriving at another peer: refused with a typed reason, state unchanged.
    let medisch = CompartmentKind::Category(ConsentCategory::Medisch, "GGD JGZ".into());
    let mut n2 = noor();
    n2.w.write(&n2.arts, medisch.clone(), "bevinding");
    let (arts_view, _) = n2.w.view(&n2.arts);
    let cid = medisch.id(n2.w.case);
    let key = arts_view.keyring(cid).unwrap().latest().unwrap().clone();
    let (next, link) = key.rotate().unwrap();
    let (lv, _) = n2.w.view(&n2.lotte);
    let body = mdo::core::membership::OpBody {
        case: n2.w.case,
        author: n2.lotte.dev.device_id(),
        parents: lv.log().heads(),
        time: 0,
        date: "2026-11-23".into(),
        action: Action::Keys,
        keys: mdo::core::membership::KeyUpdate {
            epochs: vec![mdo::core::membership::NewEpoch {
                descriptor: medisch.descriptor(),
                compartment: cid,
                epoch: 1,
                commitment: mdo::core::membership::Blob(next.commitment().to_vec()),
                link: Some(mdo::core::membership::Blob(link.to_bytes().to_vec())),
                link_hash: None,
                closing: vec![],
            }],
            wrapped: vec![],
            refs: Vec::new(),
        },
    };
    let evil = Op::sign(&n2.lotte.dev, body).unwrap();
    let (mut av, _) = n2.w.view(&n2.arts);
    let before = av.state().clone();
    match av.insert_op(evil).unwrap() {
        Inserted::Rejected(Rejection::NotEntitled { action, .. }) => assert_eq!(action, "rotate"),
        other => panic!("{other:?}"),
    }
    assert_eq!(av.state(), &before);
}

#[test]
fn writes_outside_the_authors_rights_are_refused_by_every_peer() {
    let mut n = noor();
    // The parent holds the case+parents key but may not write in `professionals`; give her a
    // professionals key by forging a bundle is impossible, so she seals with the parents key
    // a chunk that claims the professionals compartment: the envelope does not open.
    let prof = CompartmentKind::Shared(Audience::Professionals);
    n.w.write(&n.monique, prof.clone(), "alleen professionals");
    let (mv, _) = n.w.view(&n.monique);
    let key = mv
        .keyring(prof.id(n.w.case))
        .unwrap()
        .latest()
        .unwrap()
        .clone();
    // Even with the right key (leaked to her), her chunk is refused: she is no writer there.
    let payload = {
        let mut other = n.w.view(&n.monique).0;
        other
            .add_item_in(
                &n.monique.me,
                mdo::core::model::Section::Notitie,
                "door ouder",
                prof,
                None,
                0,
            )
            .unwrap();
        let s = other.seal_pending(&n.monique.dev).unwrap();
        let o =
            envelope::open(&s[0].envelope.bytes, mv.keyring(key.compartment()).unwrap()).unwrap();
        o.payload.to_vec()
    };
    let evil = envelope::seal(&n.sanne.dev, &key, &[], &payload).unwrap();
    let (mut lv, _) = n.w.view(&n.lotte);
    let err = lv.receive(&evil.bytes).unwrap_err();
    assert!(matches!(err, CoreError::WriteRefused(_)), "{err}");
    assert!(!lv.items().iter().any(|i| i.data.text == "door ouder"));
}

#[test]
fn daan_ggz_blocked_at_14_while_he_refuses_and_his_choice_alone_at_16() {
    let zoco = Person::new("zoco", Role::Zoco, "Het Lyceum");
    let mentor = Person::new("mentor", Role::Mentor, "Het Lyceum");
    let moeder = Person::new("moeder", Role::Ouder, "");
    let vader = Person::new("vader", Role::Ouder, "");
    let daan = Person::new("daan", Role::Kind, "");
    let ggz = Person::new("ggz", Role::Gezondheidszorg, "Accare");
    let mut w = World::new(&zoco, "2012-05-01", date!(2026 - 11 - 23));
    w.add(&zoco, &moeder, true);
    w.add(&zoco, &vader, false);
    w.add(&zoco, &daan, false);
    w.add(&zoco, &mentor, false);
    w.add(&zoco, &ggz, false);
    let smw = Person::new("smw", Role::Schoolmaatschappelijkwerker, "SMW Welzijn");
    w.add(&zoco, &smw, false);
    // The school social worker keeps a meldcode note in the safety track of her organisation.
    let meldcode = w.write(
        &smw,
        CompartmentKind::Safety("SMW Welzijn".into()),
        "meldcode stap 2: collegiale consultatie",
    );
    for p in [&zoco, &mentor, &moeder, &daan, &ggz] {
        assert!(
            !w.can_open(p, &meldcode),
            "{} reads the safety track",
            p.me.person
        );
    }
    assert!(w.can_open(&smw, &meldcode));
    let ggz_kind = CompartmentKind::Category(ConsentCategory::Ggz, "Accare".into());
    let report = w.write(&ggz, ggz_kind.clone(), "GGZ-behandeling: angstklachten");
    let parents = w.write(
        &zoco,
        CompartmentKind::Shared(Audience::Parents),
        "verzuim besproken",
    );

    // Father without gezag gets nothing of case+parents; mother and Daan (14) do not read ggz.
    assert!(!w.can_open(&vader, &parents));
    assert!(w.can_open(&moeder, &parents));
    // Mother agrees, Daan refuses (does not sign): blocked — 12–15 needs both.
    // Recorded by the GGZ worker who holds the report (the school may not record its own access).
    w.consent(
        &ggz,
        consent(
            "m1",
            &["moeder"],
            ConsentCategory::Ggz,
            Recipient::Organisation("Het Lyceum".into()),
            "2029-07-31",
        ),
        true,
    );
    w.sync(&ggz);
    assert!(!w.can_open(&mentor, &report), "blocked while Daan refuses");
    let (v, _) = w.view(&zoco);
    let s = access::consent_status(v.state(), &v.state().consents["m1"], w.today);
    assert_eq!(
        (s.state, s.missing.clone()),
        (ConsentState::Incomplete, vec!["daan".to_string()])
    );

    // Daan turns 16: he alone decides about his GGZ information, the consent is flagged for
    // review; the MDO itself his mother (with gezag) keeps reading until he is 18 (scenario 5;
    // `docs/sharing-rules.md` §7).
    let hers = "moeder: zorgen over het verzuim";
    w.write(&moeder, CompartmentKind::Shared(Audience::Parents), hers);
    w.today = date!(2028 - 05 - 02);
    // Her earlier note stays part of the case, before and after the rotation her exit causes.
    assert!(w.sees(&zoco).contains(&hers.to_string()));
    let (v, _) = w.view(&zoco);
    let s = access::consent_status(v.state(), &v.state().consents["m1"], w.today);
    assert!(s.review.as_deref().unwrap_or("").contains("16"), "{s:?}");
    let pid = CompartmentKind::Shared(Audience::Parents).id(w.case);
    assert!(v.access().reads(pid, "moeder").is_some());
    assert!(v.access().reads(pid, "daan").is_some());
    let later = w.write(
        &zoco,
        CompartmentKind::Shared(Audience::Parents),
        "na zijn 16e",
    );
    assert!(
        w.can_open(&moeder, &later),
        "the school part stays the mother's until 18"
    );
    // Her "yes" for the GGZ information no longer counts: only Daan's does.
    assert!(!w.can_open(&mentor, &report));
    let s = access::consent_status(v.state(), &v.state().consents["m1"], w.today);
    assert_eq!(s.missing, vec!["daan".to_string()]);
    assert!(w.sees(&zoco).contains(&hers.to_string()));
    assert!(w.sees(&daan).contains(&hers.to_string()));
    assert!(w.can_open(&daan, &later));

    // Daan consents (recorded by himself) that his mother sees the dossier, and the school the GGZ information.
    w.membership(
        &daan,
        consent(
            "d1",
            &["daan"],
            ConsentCategory::Ggz,
            Recipient::Organisation("Het Lyceum".into()),
            "2029-07-31",
        ),
    );
    w.membership(
        &daan,
        consent(
            "d2",
            &["daan"],
            ConsentCategory::Dossier,
            Recipient::Member("moeder".into()),
            "2029-07-31",
        ),
    );
    w.sync(&ggz);
    w.sync(&zoco);
    assert!(
        !w.can_open(&mentor, &report),
        "the GGZ worker has not released the report yet"
    );
    w.membership(
        &ggz,
        Action::Release {
            consent: "d1".into(),
            note: String::new(),
        },
    );
    w.sync(&zoco);
    assert!(w.can_open(&mentor, &report));
    assert!(w.can_open(&moeder, &later));
    assert!(!w.can_open(&vader, &later));
}

#[test]
fn concurrent_removal_of_an_admin_leaves_their_additions_unconfirmed() {
    let chair = Person::new("chair", Role::IbEr, "OBS");
    let co = Person::new("co", Role::Directeur, "OBS");
    let newbie = Person::new("newbie", Role::Leerkracht, "OBS");
    let mut w = World::new(&chair, "2017-03-14", date!(2026 - 11 - 23));
    w.add(&chair, &co, false);
    w.membership(
        &chair,
        Action::SetRole {
            member: "co".into(),
            role: Role::Directeur,
            admin: true,
        },
    );
    // Offline at the same time: the chair removes the co-chair; the co-chair adds a teacher.
    let base = w.ops.len();
    let mut w_co = World {
        case: w.case,
        today: w.today,
        ops: w.ops.clone(),
        chunks: w.chunks.clone(),
    };
    w.membership(
        &chair,
        Action::RemoveMember {
            member: "co".into(),
            reason: String::new(),
        },
    );
    w_co.add(&co, &newbie, false);
    // Merge both histories.
    for op in &w_co.ops[base..] {
        w.ops.push(op.clone());
    }
    let (v, _) = w.view(&chair);
    assert_eq!(
        v.state().members["newbie"].status,
        mdo::core::membership::MemberStatus::Unconfirmed
    );
    let parents = w.write(
        &chair,
        CompartmentKind::Shared(Audience::Parents),
        "na de samenvoeging",
    );
    assert!(!w.can_open(&newbie, &parents), "unconfirmed: no keys");
    w.membership(
        &chair,
        Action::Confirm {
            member: "newbie".into(),
        },
    );
    w.sync(&chair);
    assert!(w.can_open(&newbie, &parents));
}

/// Issue 14: a consent is tied to its source. The mother's consent for the GGD jeugdarts's
/// medical finding opens the GGD's medical compartment to the IB-er — not the GGZ provider's,
/// although both hold `medisch`. With real keys after a sync: the IB-er's device opens the GGD
/// chunk and cannot open the GGZ chunk. A record that names no source is refused, and so is a
/// parent recording the other parent's consent.
#[test]
fn a_consent_opens_only_the_source_it_names() {
    let mut n = noor();
    let ggz = Person::new("ggz", Role::Gezondheidszorg, "GGZ Kind");
    n.w.add(&n.monique, &ggz, false);
    for p in [&n.arts, &ggz, &n.monique] {
        n.w.sync(p);
    }
    let ggd_kind = CompartmentKind::Category(ConsentCategory::Medisch, "GGD JGZ".into());
    let ggz_kind = CompartmentKind::Category(ConsentCategory::Medisch, "GGZ Kind".into());
    let ggd_chunk = n.w.write(&n.arts, ggd_kind, "GGD: slaapt slecht");
    let ggz_chunk = n.w.write(&ggz, ggz_kind, "GGZ: angstklachten");
    let only_ggd = |id: &str| Action::Grant {
        record: ConsentSpec {
            id: id.into(),
            basis: Basis::Consent {
                consenters: vec!["sanne".into(), "erik".into()],
                how: ConsentHow::Written,
            },
            purpose: "slaap bespreken in het MDO".into(),
            categories: vec![ConsentCategory::Medisch],
            recipients: vec![Recipient::Member("monique".into())],
            sources: vec!["GGD JGZ".into()],
            from: "2026-11-01".into(),
            until: "2027-07-31".into(),
        },
    };
    // No source: refused, whoever records it.
    let mut no_source = only_ggd("c-none");
    if let Action::Grant { record } = &mut no_source {
        record.sources.clear();
    }
    let (r, _) = n.w.act(&n.arts, |c| c.membership(&n.arts.dev, no_source));
    assert!(r.is_err(), "a medical consent without a source is refused");
    // A parent records only her own consent, never the other parent's — and a record names
    // at most one consenter: each person's consent is their own act.
    let (r, _) =
        n.w.act(&n.sanne, |c| c.membership(&n.sanne.dev, only_ggd("c-both")));
    assert!(r.is_err(), "Sanne may not record Erik's consent");
    let (r, _) =
        n.w.act(&n.arts, |c| c.membership(&n.arts.dev, only_ggd("c-both")));
    assert!(r.is_err(), "two people's consent in one act");
    let mut erik_only = only_ggd("c-erik");
    if let Action::Grant { record } = &mut erik_only {
        record.basis = Basis::Consent {
            consenters: vec!["erik".into()],
            how: ConsentHow::Written,
        };
    }
    let (r, _) = n.w.act(&n.sanne, |c| c.membership(&n.sanne.dev, erik_only));
    assert!(
        r.is_err(),
        "Sanne may not record Erik's consent alone either"
    );
    // Only the holder of the information names it as the source: the IB-er cannot open the
    // GGZ file (to a colleague: not a self-grant) by naming it.
    let mut other_source = only_ggd("c-iber");
    if let Action::Grant { record } = &mut other_source {
        record.sources = vec!["GGZ Kind".into()];
        record.recipients = vec![Recipient::Member("lotte".into())];
    }
    let (r, _) =
        n.w.act(&n.monique, |c| c.membership(&n.monique.dev, other_source));
    assert!(
        r.is_err(),
        "a teacher or IB-er cannot name another organisation as source"
    );
    // The police records no consent (not even for the dossier) and does not chair.
    let piet = Person::new("piet", Role::Politie, "Politie");
    n.w.add(&n.monique, &piet, false);
    n.w.sync(&piet);
    let dossier = Action::Grant {
        record: ConsentSpec {
            id: "c-politie".into(),
            basis: Basis::Consent {
                consenters: vec!["sanne".into(), "erik".into()],
                how: ConsentHow::Oral,
            },
            purpose: "x".into(),
            categories: vec![ConsentCategory::Dossier],
            recipients: vec![Recipient::Member("piet".into())],
            sources: Vec::new(),
            from: "2026-11-01".into(),
            until: "2027-07-31".into(),
        },
    };
    let (r, _) = n.w.act(&piet, |c| c.membership(&piet.dev, dossier));
    assert!(r.is_err(), "the police records no consent");
    let (r, _) = n.w.act(&n.monique, |c| {
        c.membership(
            &n.monique.dev,
            Action::SetRole {
                member: "piet".into(),
                role: Role::Politie,
                admin: true,
            },
        )
    });
    assert!(r.is_err(), "the police does not chair");
    assert!(
        !n.w.sees(&piet).iter().any(|t| t.contains("slaapt")),
        "the police reads nothing of the case"
    );
    // The jeugdarts records both parents' consent for her own finding, and releases it.
    n.w.consent(&n.arts, only_ggd("c-ggd"), true);
    for p in [&n.arts, &ggz, &n.monique, &n.arts, &n.monique] {
        n.w.sync(p);
    }
    assert!(
        n.w.can_open(&n.monique, &ggd_chunk),
        "the named source opens"
    );
    assert!(
        !n.w.can_open(&n.monique, &ggz_chunk),
        "a GGD consent does not open the GGZ file"
    );
    let seen = n.w.sees(&n.monique);
    assert!(seen.contains(&"GGD: slaapt slecht".to_string()));
    assert!(!seen.iter().any(|t| t.starts_with("GGZ:")), "{seen:?}");
}

/// In the app a parent records their own consent (the core refuses one in another person's
/// name); a professional records the question, and then each person's answer as its own act —
/// the buttons the app offers are exactly the acts the core accepts.
#[test]
fn a_parent_records_her_own_consent_a_professional_each_answer_apart() {
    let mut n = noor();
    assert_eq!(
        mdo::profile::consent::consenters_for(&n.sanne.me),
        ["sanne"]
    );
    assert!(mdo::profile::consent::consenters_for(&n.arts.me).is_empty());
    n.w.consent(
        &n.arts,
        consent(
            "q",
            &[],
            ConsentCategory::Medisch,
            Recipient::Member("monique".into()),
            "2027-07-31",
        ),
        false,
    );
    use mdo::profile::consent::{Act, acts};
    let (case, _) = n.w.view(&n.arts);
    let rec = &case.state().consents["q"];
    assert_eq!(
        acts(&case, rec),
        [
            Act::Give("erik".into()),
            Act::Refuse("erik".into()),
            Act::Give("sanne".into()),
            Act::Refuse("sanne".into())
        ]
    );
    // Sanne sees only her own answer; the IB-er, who would read it, offers no "ja".
    let (case, _) = n.w.view(&n.sanne);
    assert_eq!(
        acts(&case, &case.state().consents["q"]),
        [Act::Give("sanne".into()), Act::Refuse("sanne".into())]
    );
    let (case, _) = n.w.view(&n.monique);
    assert_eq!(
        acts(&case, &case.state().consents["q"]),
        [Act::Refuse("erik".into()), Act::Refuse("sanne".into())]
    );
    // Every act offered is accepted by the core.
    let (case, _) = n.w.view(&n.arts);
    for a in acts(&case, &case.state().consents["q"]) {
        let (r, _) = n.w.act(&n.arts, |c| match &a {
            Act::Give(p) | Act::Refuse(p) => c
                .membership(
                    &n.arts.dev,
                    Action::Answer {
                        consent: "q".into(),
                        person: p.clone(),
                        given: matches!(a, Act::Give(_)),
                        how: ConsentHow::Oral,
                        note: String::new(),
                    },
                )
                .map(|_| ()),
            _ => Ok(()),
        });
        // A "nee" after a "ja" for the same person is refused: a given consent ends by a
        // withdrawal only.
        if matches!(a, Act::Give(_)) {
            r.unwrap();
        } else {
            assert!(r.is_err(), "{a:?} after a yes");
        }
    }
    let (case, _) = n.w.view(&n.arts);
    let rec = &case.state().consents["q"];
    assert_eq!(
        access::consent_status(case.state(), rec, n.w.today).state,
        ConsentState::Active
    );
    assert_eq!(
        acts(&case, rec),
        [
            Act::Withdraw("erik".into()),
            Act::Withdraw("sanne".into()),
            Act::Release
        ]
    );
}

/// Issue 14: a legal basis is decided and recorded by the professional who holds the
/// information, and each ground opens only what it allows, to whom it allows — checked by
/// every peer (the core), with real keys for the one that opens.
#[test]
fn legal_bases_by_ground_decided_by_the_holder() {
    let mut n = noor();
    let gi = Person::new("gi", Role::Jeugdbeschermer, "GI Jeugdbescherming");
    let vader = Person::new("bas", Role::Ouder, "");
    n.w.add(&n.monique, &gi, false);
    n.w.add(&n.monique, &vader, false); // a parent without gezag
    let gezin = CompartmentKind::Category(ConsentCategory::Gezinssituatie, "Gemeente".into());
    let chunk = n.w.write(&n.rik, gezin, "vader ziet Noor om het weekend");
    let legal = |ground: LegalGround,
                 decided_by: &str,
                 cat: ConsentCategory,
                 source: &str,
                 to: Recipient| Action::Grant {
        record: ConsentSpec {
            id: format!("l-{}", ground.id()),
            basis: Basis::Legal {
                ground,
                reasoning: "afgewogen en vastgelegd".into(),
                decided_by: decided_by.into(),
            },
            purpose: String::new(),
            categories: vec![cat],
            recipients: vec![to],
            sources: if source.is_empty() {
                Vec::new()
            } else {
                vec![source.into()]
            },
            from: "2026-11-01".into(),
            until: "2027-07-31".into(),
        },
    };
    let refused = |w: &mut World, p: &Person, a: Action, why: &str| {
        let (r, _) = w.act(p, |c| c.membership(&p.dev, a));
        assert!(r.is_err(), "{why}");
    };
    let med = ConsentCategory::Medisch;
    // The IB-er cannot open the jeugdarts's medical file on any ground.
    refused(
        &mut n.w,
        &n.monique,
        legal(
            LegalGround::ConflictOfDuties,
            "monique",
            med,
            "GGD JGZ",
            Recipient::Member("lotte".into()),
        ),
        "a school professional opens medical data",
    );
    // Meldrecht is a report to Veilig Thuis, not sharing at the table.
    refused(
        &mut n.w,
        &n.arts,
        legal(
            LegalGround::Meldrecht,
            "anouk",
            med,
            "GGD JGZ",
            Recipient::Member("monique".into()),
        ),
        "meldrecht as an MDO basis",
    );
    // Nobody records a basis in another professional's name.
    refused(
        &mut n.w,
        &n.arts,
        legal(
            LegalGround::ConflictOfDuties,
            "monique",
            med,
            "GGD JGZ",
            Recipient::Member("lotte".into()),
        ),
        "decided by someone else",
    );
    // A child-protection measure gives information to the GI, not to the table.
    refused(
        &mut n.w,
        &n.rik,
        legal(
            LegalGround::ChildProtection,
            "rik",
            ConsentCategory::Gezinssituatie,
            "Gemeente",
            Recipient::Member("monique".into()),
        ),
        "a child-protection basis to the school",
    );
    n.w.membership(
        &n.rik,
        legal(
            LegalGround::ChildProtection,
            "rik",
            ConsentCategory::Gezinssituatie,
            "Gemeente",
            Recipient::Member("gi".into()),
        ),
    );
    // BW 1:377c: to a parent without gezag only — decided by the holder, not by the other
    // parent's consent.
    refused(
        &mut n.w,
        &n.rik,
        legal(
            LegalGround::ParentInformation,
            "rik",
            ConsentCategory::Gezinssituatie,
            "Gemeente",
            Recipient::Member("sanne".into()),
        ),
        "1:377c to a parent with gezag",
    );
    // The shared MDO file has no single holder: only the chair records a basis for it.
    refused(
        &mut n.w,
        &n.rik,
        legal(
            LegalGround::ParentInformation,
            "rik",
            ConsentCategory::Dossier,
            "",
            Recipient::Member("bas".into()),
        ),
        "a non-chair opens the shared file",
    );
    assert!(!n.w.can_open(&vader, &chunk));
    let mut l = legal(
        LegalGround::ParentInformation,
        "rik",
        ConsentCategory::Gezinssituatie,
        "Gemeente",
        Recipient::Member("bas".into()),
    );
    if let Action::Grant { record } = &mut l {
        record.id = "l-377c-ok".into();
    }
    n.w.membership(&n.rik, l);
    n.w.sync(&n.rik);
    assert!(n.w.can_open(&vader, &chunk), "1:377c opens to the father");
    assert!(n.w.can_open(&gi, &chunk), "the measure opens to the GI");
    assert!(!n.w.can_open(&n.monique, &chunk));
}

/// Issue 14: the child from 12 reads the shared content of their own MDO — what would go to
/// "professionals en ouders" goes to "professionals, ouders en kind" by default — and what
/// changes at 16 and 18 is announced ahead; at 16 the parents with gezag keep the MDO (the
/// school part), at 18 gezag ends and the young adult can consent in advance so that the
/// parents' reading goes on without a gap.
#[test]
fn from_12_the_child_reads_along_and_16_and_18_are_announced_without_a_gap() {
    use mdo::profile::write::{Write, default_for};
    let zoco = Person::new("zoco", Role::Zoco, "Het Lyceum");
    let moeder = Person::new("moeder", Role::Ouder, "");
    let daan = Person::new("daan", Role::Kind, "");
    // Daan turns 16 on 2 February 2027.
    let mut w = World::new(&zoco, "2011-02-02", date!(2026 - 11 - 23));
    w.add(&zoco, &moeder, true);
    w.add(&zoco, &daan, false);
    w.sync(&zoco);
    let (case, _) = w.view(&zoco);
    let item = Write::Item {
        section: mdo::core::model::Section::parse("kind.plus").unwrap(),
        text: "komt weer vaker".into(),
        parent: None,
        by: None,
        withhold: None,
    };
    let kind = default_for(&case, &zoco.me, &item).unwrap();
    assert_eq!(kind, CompartmentKind::Shared(Audience::Child));
    let shared = w.write(&zoco, kind, "komt weer vaker op school");
    assert!(w.can_open(&daan, &shared), "Daan (15) reads his own MDO");
    assert!(w.can_open(&moeder, &shared));
    // The parents' own compartment stays theirs when chosen explicitly.
    let only_parents = w.write(
        &zoco,
        CompartmentKind::Shared(Audience::Parents),
        "ouders: zorgen",
    );
    assert!(!w.can_open(&daan, &only_parents));

    // 71 days before his 16th birthday the app and the CLI say what will change, in words.
    let notices = mdo::profile::consent::age_notices(&case);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with(
            "Op 2 februari 2027 wordt Kind 16. Vanaf dan beslist Kind alleen over medische en jeugdhulpinformatie"
        ),
        "{}",
        notices[0]
    );
    // At 16 the MDO itself stays the mother's too (the school part, until 18: scenario 5).
    w.today = date!(2027 - 02 - 02);
    let (case, _) = w.view(&zoco);
    assert!(mdo::profile::consent::age_notices(&case).is_empty());
    let at16 = w.write(
        &zoco,
        CompartmentKind::Shared(Audience::Parents),
        "na zijn 16e",
    );
    w.sync(&zoco);
    assert!(w.can_open(&moeder, &at16));
    assert!(w.can_open(&daan, &at16));

    // 63 days before he turns 18 the change is announced: gezag ends.
    w.today = date!(2028 - 12 - 01);
    let (case, _) = w.view(&zoco);
    let notices = mdo::profile::consent::age_notices(&case);
    assert!(
        notices.len() == 1
            && notices[0].starts_with("Op 2 februari 2029 wordt Kind 18. Dan eindigt het gezag"),
        "{notices:?}"
    );
    let pid = CompartmentKind::Shared(Audience::Parents).id(w.case);
    assert!(
        access::resolve(case.state(), date!(2029 - 02 - 02))
            .reads(pid, "moeder")
            .is_none(),
        "without his consent his mother would stop reading at 18"
    );
    // Daan consents now, on his own device, that his mother keeps reading the MDO file.
    w.membership(
        &daan,
        Action::Grant {
            record: ConsentSpec {
                id: "na18".into(),
                basis: Basis::Consent {
                    consenters: vec!["daan".into()],
                    how: ConsentHow::Digital,
                },
                purpose: "mijn moeder blijft meelezen met het MDO".into(),
                categories: vec![ConsentCategory::Dossier],
                recipients: vec![Recipient::Member("moeder".into())],
                sources: Vec::new(),
                from: "2029-02-02".into(),
                until: "2030-02-01".into(),
            },
        },
    );
    // On his birthday: no notice any more, and his mother reads what is written after it.
    w.today = date!(2029 - 02 - 02);
    let (case, _) = w.view(&zoco);
    assert!(mdo::profile::consent::age_notices(&case).is_empty());
    let st = access::consent_status(case.state(), &case.state().consents["na18"], w.today);
    assert_eq!(st.state, ConsentState::Active);
    let later = w.write(
        &zoco,
        CompartmentKind::Shared(Audience::Parents),
        "na zijn 18e",
    );
    w.sync(&zoco);
    assert!(
        w.can_open(&moeder, &later),
        "no gap: Daan agreed in advance"
    );
    assert!(w.can_open(&daan, &later));
}

/// Issue 14, roles: a voogd holds gezag and consents in place of the parents; a foster parent
/// holds none, gives no consent and reads what is written for the network; a parent whose
/// gezag is not yet checked reads nothing of the parents' content, is asked for consent all
/// the same, and nothing medical is released until the gezagsregister is checked.
#[test]
fn voogd_pleegouder_and_gezag_not_yet_checked() {
    let chair = Person::new("monique", Role::IbEr, "OBS De Wilgen");
    let voogd = Person::new("voogd", Role::Voogd, "");
    let pleeg = Person::new("pleeg", Role::Pleegouder, "");
    let vader = Person::new("vader", Role::Ouder, "");
    let arts = Person::new("anouk", Role::Jeugdarts, "GGD JGZ");
    let mut w = World::new(&chair, "2017-03-14", date!(2026 - 11 - 23));
    w.add(&chair, &voogd, true);
    w.add(&chair, &pleeg, false);
    w.add(&chair, &vader, false);
    w.add(&chair, &arts, false);
    // The foster parent may not be given gezag.
    let (r, _) = w.act(&chair, |c| {
        c.membership(
            &chair.dev,
            Action::SetCustody {
                member: "pleeg".into(),
                custody: true,
                unknown: false,
            },
        )
    });
    assert!(r.is_err(), "a pleegouder holds no gezag");
    w.membership(
        &chair,
        Action::SetCustody {
            member: "vader".into(),
            custody: false,
            unknown: true,
        },
    );
    w.at_table(&chair, &["GGD JGZ"]);
    for p in [&chair, &arts] {
        w.sync(p);
    }
    let parents = w.write(
        &chair,
        CompartmentKind::Shared(Audience::Parents),
        "voor de ouders",
    );
    let network = w.write(
        &chair,
        CompartmentKind::Shared(Audience::Network),
        "wie haalt Noor op",
    );
    assert!(w.can_open(&voogd, &parents), "the voogd holds gezag");
    assert!(
        !w.can_open(&vader, &parents),
        "gezag not yet checked: not yet"
    );
    assert!(
        !w.can_open(&pleeg, &parents),
        "the foster parent holds no gezag"
    );
    assert!(
        w.can_open(&pleeg, &network),
        "the foster parent reads the network's part"
    );
    // The father whose gezag is unchecked is asked too: the voogd's yes is not enough.
    let (case, _) = w.view(&chair);
    let (need, _) = access::required_consenters(case.state(), w.today);
    assert_eq!(need, ["voogd".to_string(), "vader".to_string()]);
    // The foster parent's consent does not count and cannot be given.
    let q = consent(
        "m",
        &[],
        ConsentCategory::Medisch,
        Recipient::Member("monique".into()),
        "2027-07-31",
    );
    w.consent(&arts, q, false);
    let answer = |person: &str| Action::Answer {
        consent: "m".into(),
        person: person.into(),
        given: true,
        how: ConsentHow::Written,
        note: String::new(),
    };
    let (r, _) = w.act(&pleeg, |c| c.membership(&pleeg.dev, answer("pleeg")));
    assert!(r.is_err(), "a pleegouder gives no consent");
    w.membership(&voogd, answer("voogd"));
    w.membership(&vader, answer("vader"));
    let (case, _) = w.view(&arts);
    let st = access::consent_status(case.state(), &case.state().consents["m"], w.today);
    assert_eq!(st.state, ConsentState::Active);
    // Nothing medical is released while the gezag is unchecked.
    let release = Action::Release {
        consent: "m".into(),
        note: String::new(),
    };
    let (r, _) = w.act(&arts, |c| c.membership(&arts.dev, release.clone()));
    assert!(r.is_err(), "released before the gezag was checked");
    // Checked: the father holds gezag after all; now she may release.
    w.membership(
        &chair,
        Action::SetCustody {
            member: "vader".into(),
            custody: true,
            unknown: false,
        },
    );
    w.membership(&arts, release);
    w.sync(&chair);
    let after = w.write(
        &chair,
        CompartmentKind::Shared(Audience::Parents),
        "na de controle",
    );
    assert!(w.can_open(&vader, &after));
}

/// Issue 14: keeping something from the parents is a decision about that item — written down
/// with its reason and a review date — and reviews that are due are listed; "the audience is
/// the reason" is refused.
#[test]
fn an_item_kept_from_the_parents_has_a_reason_and_a_review_date() {
    use mdo::profile::write::{Withhold, Write, apply, reviews_due};
    let mut n = noor();
    let safety = CompartmentKind::Safety("OBS De Wilgen".into());
    let item = |withhold: Option<Withhold>| Write::Item {
        section: mdo::core::model::Section::Notitie,
        text: "zorgen over blauwe plekken".into(),
        parent: None,
        by: None,
        withhold,
    };
    let (mut case, _) = n.w.view(&n.monique);
    let me = n.monique.me.clone();
    let err = apply(&mut case, &me, 0, item(None), safety.clone()).unwrap_err();
    assert!(err.to_string().contains("schrijf op waarom"), "{err}");
    let err = apply(
        &mut case,
        &me,
        0,
        item(Some(Withhold {
            reason: "veiligheid van Noor".into(),
            review: "2028-01-01".into(),
        })),
        safety.clone(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("binnen een jaar"), "{err}");
    let ((), chunks) = n.w.act(&n.monique, |c| {
        apply(
            c,
            &me,
            0,
            item(Some(Withhold {
                reason: "veiligheid van Noor; overleg met Veilig Thuis loopt".into(),
                review: "2026-12-01".into(),
            })),
            safety.clone(),
        )
        .map(|_| ())
        .unwrap()
    });
    assert!(!n.w.can_open(&n.sanne, &chunks[0]));
    let (case, _) = n.w.view(&n.monique);
    assert_eq!(
        reviews_due(&case),
        [(
            "2026-12-01".to_string(),
            "zorgen over blauwe plekken".to_string(),
            "veiligheid van Noor; overleg met Veilig Thuis loopt".to_string()
        )]
    );
    // Far from its review date it is not listed yet.
    n.w.today = date!(2026 - 11 - 01);
    let (case, _) = n.w.view(&n.monique);
    assert!(reviews_due(&case).is_empty());
}

/// From an adversarial review of issue 14: a parent's own "no" is not overwritten by anyone
/// else's "ja namens"; an organisation not at the table cannot admit itself (through a
/// colleague, its own name, or a role); a withdrawal by someone whose consent is not required
/// ends only their own answer.
#[test]
fn a_parents_no_stands_and_nobody_seats_their_own_organisation() {
    let mut n = noor();
    let x = Person::new("x", Role::Jeugdhulpverlener, "Jeugdhulp Zuid");
    let y = Person::new("y", Role::Jeugdhulpverlener, "Jeugdhulp Zuid");
    n.w.add(&n.monique, &x, false);
    n.w.add(&n.monique, &y, false);
    let refused = |w: &mut World, p: &Person, a: Action, why: &str| {
        let (r, _) = w.act(p, |c| c.membership(&p.dev, a));
        assert!(r.is_err(), "{why}");
    };
    // x asks for the MDO file for its colleague, for its own organisation, for its role.
    for (id, to) in [
        ("t1", Recipient::Member("y".into())),
        ("t2", Recipient::Organisation("Jeugdhulp Zuid".into())),
        ("t3", Recipient::Role(Role::Jeugdhulpverlener)),
    ] {
        refused(
            &mut n.w,
            &x,
            consent(id, &[], ConsentCategory::Dossier, to, "2027-07-31"),
            "an organisation seats itself",
        );
    }
    // Even the chair cannot seat a whole role.
    refused(
        &mut n.w,
        &n.monique,
        consent(
            "t4",
            &[],
            ConsentCategory::Dossier,
            Recipient::Role(Role::Jeugdhulpverlener),
            "2027-07-31",
        ),
        "a role at the table",
    );
    // A question for the MDO file asked by the social worker: only the chair answers on a
    // parent's behalf.
    n.w.membership(
        &n.lotte,
        consent(
            "t5",
            &[],
            ConsentCategory::Dossier,
            Recipient::Organisation("Jeugdhulp Zuid".into()),
            "2027-07-31",
        ),
    );
    let answer = |person: &str, given: bool| Action::Answer {
        consent: "t5".into(),
        person: person.into(),
        given,
        how: ConsentHow::Oral,
        note: String::new(),
    };
    refused(
        &mut n.w,
        &n.lotte,
        answer("sanne", true),
        "a non-chair answers for the MDO file",
    );
    // Erik says no on his own device; nobody turns it into a yes for him.
    n.w.membership(&n.erik, answer("erik", false));
    n.w.membership(&n.monique, answer("sanne", true));
    refused(
        &mut n.w,
        &n.monique,
        answer("erik", true),
        "the chair overwrites Erik's own no",
    );
    let pros = n.w.write(
        &n.monique,
        CompartmentKind::Shared(Audience::Professionals),
        "alleen voor wie aan tafel zit",
    );
    assert!(
        !n.w.can_open(&y, &pros),
        "Jeugdhulp Zuid is not at the table"
    );
    // Nor its own internal compartment, into which shared text could be moved (finding 4).
    let internal = CompartmentKind::Organisation("Jeugdhulp Zuid".into()).id(n.w.case);
    let (v, _) = n.w.view(&n.monique);
    assert!(v.access().reads(internal, "y").is_none());
    // Erik changes his own mind: now Jeugdhulp Zuid joins.
    n.w.membership(&n.erik, answer("erik", true));
    let again = n.w.write(
        &n.monique,
        CompartmentKind::Shared(Audience::Professionals),
        "nu aan tafel",
    );
    assert!(
        n.w.can_open(&y, &again),
        "both parents agreed: Jeugdhulp Zuid joins"
    );
    let (v, _) = n.w.view(&n.monique);
    assert!(v.access().reads(internal, "y").is_some());
}

/// From the adversarial review of issue 14: a release is for the people whose consent counted
/// that day — when the child turns 12 and says yes too, the doctor looks again before anything
/// new opens; and a legal ground's condition holds every day, not only when it was recorded.
#[test]
fn a_release_is_for_whose_consent_it_was_and_a_ground_holds_every_day() {
    let chair = Person::new("monique", Role::IbEr, "OBS De Wilgen");
    let ma = Person::new("ma", Role::Ouder, "");
    let kid = Person::new("noor", Role::Kind, "");
    let arts = Person::new("anouk", Role::Jeugdarts, "GGD JGZ");
    let rik = Person::new("rik", Role::JgCoach, "Gemeente");
    let bas = Person::new("bas", Role::Ouder, "");
    // Noor turns 12 on 1 December 2026.
    let mut w = World::new(&chair, "2014-12-01", date!(2026 - 11 - 23));
    w.add(&chair, &ma, true);
    w.add(&chair, &kid, false);
    w.add(&chair, &arts, false);
    w.add(&chair, &rik, false);
    w.add(&chair, &bas, false);
    w.at_table(&chair, &["GGD JGZ", "Gemeente"]);
    let finding = w.write(
        &arts,
        CompartmentKind::Category(ConsentCategory::Medisch, "GGD JGZ".into()),
        "slaapt slecht",
    );
    w.consent(
        &arts,
        consent(
            "m",
            &["ma"],
            ConsentCategory::Medisch,
            Recipient::Member("monique".into()),
            "2027-07-31",
        ),
        true,
    );
    w.sync(&arts);
    assert!(w.can_open(&chair, &finding));
    // Noor is 12: the consent needs her yes — and the doctor's new look.
    w.today = date!(2026 - 12 - 02);
    w.membership(
        &kid,
        Action::Answer {
            consent: "m".into(),
            person: "noor".into(),
            given: true,
            how: ConsentHow::Digital,
            note: String::new(),
        },
    );
    let (v, _) = w.view(&arts);
    let s = access::consent_status(v.state(), &v.state().consents["m"], w.today);
    assert_eq!(s.state, ConsentState::Active);
    assert_eq!(s.awaiting_release, vec!["GGD JGZ".to_string()]);
    let after = w.write(
        &arts,
        CompartmentKind::Category(ConsentCategory::Medisch, "GGD JGZ".into()),
        "melatonine gestart",
    );
    assert!(
        !w.can_open(&chair, &after),
        "the old release does not cover Noor's yes"
    );
    w.membership(
        &arts,
        Action::Release {
            consent: "m".into(),
            note: "ook met Noor besproken".into(),
        },
    );
    let again = w.write(
        &arts,
        CompartmentKind::Category(ConsentCategory::Medisch, "GGD JGZ".into()),
        "melatonine helpt",
    );
    assert!(w.can_open(&chair, &again));

    // BW 1:377c to Bas while he has no gezag; once he holds gezag the ground no longer applies
    // (he reads the shared case as a parent with gezag; the family file needs consent).
    w.membership(
        &rik,
        Action::Grant {
            record: ConsentSpec {
                id: "l".into(),
                basis: Basis::Legal {
                    ground: LegalGround::ParentInformation,
                    reasoning: "vader vraagt naar de opvoeding".into(),
                    decided_by: "rik".into(),
                },
                purpose: String::new(),
                categories: vec![ConsentCategory::Gezinssituatie],
                recipients: vec![Recipient::Member("bas".into())],
                sources: vec!["Gemeente".into()],
                from: "2026-11-01".into(),
                until: "2027-07-31".into(),
            },
        },
    );
    let gezin = CompartmentKind::Category(ConsentCategory::Gezinssituatie, "Gemeente".into());
    let first = w.write(&rik, gezin.clone(), "vader ziet Noor om het weekend");
    assert!(w.can_open(&bas, &first));
    w.membership(
        &chair,
        Action::SetCustody {
            member: "bas".into(),
            custody: true,
            unknown: false,
        },
    );
    let second = w.write(&rik, gezin, "afspraken over de vakantie");
    assert!(
        !w.can_open(&bas, &second),
        "1:377c is for a parent without gezag"
    );
}
