//! Offline edits by two devices merge with nothing lost, in both orders: the chair edits an
//! agreement and a circle on a home visit while the IB-er at school edits the same ones.

use mdo::core::case::{Case, CompartmentKind, NewAgreement};
use mdo::core::model::{Audience, Role, Section};

use crate::support::{TODAY, add_member, me_at as me_org, replica, seal};

fn me(name: &str, role: Role) -> (mdo::core::case::Me, mdo::crypto::DeviceSecret) {
    me_org(name, role, "OBS De Wilgen")
}

#[test]
fn home_visit_and_school_edits_merge_in_both_orders() {
    let (chair, chair_dev) = me("Monique", Role::IbEr);
    let (teacher, teacher_dev) = me("Jeroen", Role::Leerkracht);
    let mut a = Case::create(
        &chair,
        &chair_dev,
        "Noor Visser",
        "2017-03-14",
        "OBS De Wilgen",
        "groep 6",
        TODAY,
        0,
    )
    .unwrap();
    add_member(&mut a, &chair_dev, &teacher, &teacher_dev);
    let ag = a
        .add_agreement(
            &chair,
            NewAgreement {
                wie: "Jeroen".into(),
                wat: "dagritmekaart".into(),
                hoe: "kaart op tafel".into(),
                ..Default::default()
            },
            Audience::Parents,
            1,
        )
        .unwrap();
    let plus = a
        .add_item(
            &chair,
            Section::parse("kind.plus").unwrap(),
            "tekent graag",
            Audience::Parents,
            None,
            1,
        )
        .unwrap();
    let base = seal(&mut a, &chair_dev);
    let mut b = replica(&a, &teacher_dev, &base);
    assert_eq!(a.agreements(), b.agreements());

    // Offline: both edit the same agreement sentence and the same circle.
    a.edit_agreement(&ag, "hoe", "kaart op tafel en een signaal")
        .unwrap();
    a.add_item(
        &chair,
        Section::parse("kind.plus").unwrap(),
        "helpt jongere kinderen",
        Audience::Parents,
        None,
        2,
    )
    .unwrap();
    a.edit_item(&plus, "tekent graag en goed").unwrap();
    let from_a = seal(&mut a, &chair_dev);

    b.edit_agreement(&ag, "hoe", "grote kaart op tafel")
        .unwrap();
    b.edit_agreement(&ag, "wanneer", "vanaf 1 oktober").unwrap();
    b.add_item(
        &teacher,
        Section::parse("kind.min").unwrap(),
        "lange instructies zijn lastig",
        Audience::Parents,
        None,
        3,
    )
    .unwrap();
    let from_b = seal(&mut b, &teacher_dev);

    // Order 1: a receives b's chunks; order 2: a fresh replica receives a's then b's, or b's then a's.
    for c in &from_b {
        a.receive(&c.bytes).unwrap();
    }
    for c in &from_a {
        b.receive(&c.bytes).unwrap();
    }
    let mut all = base.clone();
    all.extend(from_b.iter().cloned());
    all.extend(from_a.iter().cloned());
    let c = replica(&a, &chair_dev, &all);

    for case in [&a, &b, &c] {
        let agreement = &case.agreements()[0].data;
        assert_eq!(
            agreement.hoe, "grote kaart op tafel en een signaal",
            "both edits of one sentence survive"
        );
        assert_eq!(agreement.wanneer, "vanaf 1 oktober");
        let texts: Vec<String> = case.items().into_iter().map(|i| i.data.text).collect();
        for t in [
            "tekent graag en goed",
            "helpt jongere kinderen",
            "lange instructies zijn lastig",
        ] {
            assert!(texts.iter().any(|x| x == t), "{t} lost: {texts:?}");
        }
    }
    assert_eq!(a.items(), b.items());
    assert_eq!(a.items(), c.items());
    assert_eq!(a.agreements(), c.agreements());
}

#[test]
fn a_chunk_automerge_cannot_decode_is_rejected_and_changes_nothing() {
    // A legitimate member signs and encrypts garbage (or the 36-byte input that makes
    // Automerge 0.12's loader panic): the receiver rejects it and keeps working.
    let (chair, dev) = me("Monique", Role::IbEr);
    let mut a = Case::create(&chair, &dev, "Noor", "2017-03-14", "", "", TODAY, 0).unwrap();
    let base = seal(&mut a, &dev);
    let mut b = replica(&a, &dev, &base);
    let before = b.items();
    let parents = CompartmentKind::Shared(Audience::Parents).id(a.id);
    let key = a.keyring(parents).unwrap().latest().unwrap().clone();
    let mut payloads: Vec<Vec<u8>> = vec![
        b"not automerge".to_vec(),
        vec![2, 1, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3],
    ];
    for c in crate::props::CRASHERS {
        let mut p = vec![mdo::core::doc::PAYLOAD_SNAPSHOT];
        p.extend_from_slice(c);
        payloads.push(p);
    }
    for payload in &payloads {
        let evil = mdo::crypto::envelope::seal(&dev, &key, &[], payload).unwrap();
        let err = b.receive(&evil.bytes).unwrap_err();
        assert!(err.to_string().contains("rejected a chunk"), "{err}");
    }
    assert_eq!(b.items(), before);
    a.add_item(
        &chair,
        Section::Vragen,
        "nog steeds in sync?",
        Audience::Parents,
        None,
        5,
    )
    .unwrap();
    for c in seal(&mut a, &dev) {
        b.receive(&c.bytes).unwrap();
    }
    assert_eq!(b.items().len(), before.len() + 1);
}

#[test]
fn a_rejected_chunk_in_the_store_is_kept_as_evidence_and_the_rest_loads() {
    use mdo::crypto::KdfParams;
    use mdo::store::Profile;
    let dir = tempfile::tempdir().unwrap();
    let mut p = Profile::init(
        dir.path(),
        "pw",
        "Monique",
        Role::IbEr,
        "OBS",
        KdfParams::INSECURE_FAST,
    )
    .unwrap();
    let me = p.me().clone();
    let mut case =
        Case::create(&me, p.device(), "Noor", "2017-03-14", "", "", p.today(), 0).unwrap();
    case.add_item(
        &me,
        Section::Vragen,
        "eerste vraag",
        Audience::Parents,
        None,
        1,
    )
    .unwrap();
    p.commit(&mut case).unwrap();
    let parents = CompartmentKind::Shared(Audience::Parents).id(case.id);
    let key = case.keyring(parents).unwrap().latest().unwrap().clone();
    let mut payload = vec![mdo::core::doc::PAYLOAD_SNAPSHOT];
    payload.extend_from_slice(crate::props::CRASHERS[0]);
    let evil = mdo::crypto::envelope::seal(p.device(), &key, &[], &payload).unwrap();
    assert!(p.store_envelope(&evil.bytes).unwrap());
    assert!(!p.store_envelope(&evil.bytes).unwrap(), "stored once");
    let mut forged = evil.bytes.clone();
    forged[120] ^= 1;
    assert!(
        p.store_envelope(&forged).is_err(),
        "a forged envelope is not even stored"
    );

    let (mut loaded, report) = p.load_case(case.id).unwrap();
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].0, evil.id.to_hex());
    assert_eq!(loaded.items().len(), 1);
    // Still writable, and the evidence stays in the store.
    loaded
        .add_item(
            &me,
            Section::Vragen,
            "tweede vraag",
            Audience::Parents,
            None,
            2,
        )
        .unwrap();
    p.commit(&mut loaded).unwrap();
    assert!(
        p.chunks_of(case.id)
            .unwrap()
            .iter()
            .any(|(id, _, _)| *id == evil.id)
    );
    let (again, report) = p.load_case(case.id).unwrap();
    assert_eq!(again.items().len(), 2);
    assert!(
        report.rejected.is_empty(),
        "rejected chunks are not retried on every load"
    );
}
