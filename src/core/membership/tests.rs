//! Unit tests of the membership log: the op format, the form and domain rules, dates bounded by
//! the causal past and the clock, and the concurrency rules.

use super::*;
use crate::core::model::{AgeBand, ConsentCategory, ConsentHow, Date, Role};
use mdo_crypto::{CaseId, CompartmentId, DeviceSecret, OpId};

const TODAY: Date = time::macros::date!(2026 - 11 - 23);

fn chair() -> (DeviceSecret, Log) {
    let dev = DeviceSecret::generate().unwrap();
    let mut log = Log::new(CaseId([9; 16]), TODAY);
    log.append(
        &dev,
        Action::Create {
            creator: MemberSpec {
                id: "chair".into(),
                role: Role::IbEr,
                organisation: "OBS".into(),
                custody: false,
                custody_unknown: false,
                admin: true,
                devices: vec![dev.public_identity().clone()],
            },
            birthdate: "2017-03-14".into(),
        },
        KeyUpdate::default(),
        0,
        TODAY,
    )
    .unwrap();
    (dev, log)
}

fn member(id: &str, role: Role, custody: bool) -> Action {
    Action::AddMember {
        member: MemberSpec {
            id: id.into(),
            role,
            organisation: if role.is_professional() {
                "X".into()
            } else {
                String::new()
            },
            custody,
            custody_unknown: false,
            admin: false,
            devices: vec![],
        },
    }
}

#[test]
fn parse_refuses_every_malformation() {
    let (_, log) = chair();
    let good = log.ordered().next().unwrap().bytes.clone();
    assert!(Op::parse(&good).is_ok());
    for cut in [0, 8, 9, good.len() - 1] {
        assert!(Op::parse(&good[..cut]).is_err(), "cut {cut}");
    }
    let mut magic = good.clone();
    magic[0] = b'X';
    assert!(matches!(Op::parse(&magic), Err(OpError::Malformed(_))));
    let mut version = good.clone();
    version[4] = 3;
    assert!(
        Op::parse(&version)
            .unwrap_err()
            .to_string()
            .contains("update MDO")
    );
    let mut len = good.clone();
    len[5] ^= 1;
    assert!(Op::parse(&len).is_err());
    let mut extra = good.clone();
    extra.push(0);
    assert!(Op::parse(&extra).is_err());
    let big = vec![0u8; MAX_OP_LEN + 1];
    assert!(matches!(Op::parse(&big), Err(OpError::TooLarge { .. })));
}

#[test]
fn form_rules() {
    let (dev, mut log) = chair();
    // Only the creation op has no parents.
    let body = OpBody {
        case: CaseId([9; 16]),
        author: dev.device_id(),
        parents: vec![],
        time: 0,
        date: "2026-11-23".into(),
        action: Action::Keys,
        keys: KeyUpdate::default(),
    };
    assert!(Op::sign(&dev, body.clone()).is_err());
    let mut twice = body.clone();
    twice.parents = vec![OpId([1; 32]), OpId([1; 32])];
    assert!(Op::sign(&dev, twice).is_err());
    let mut bad_date = body.clone();
    bad_date.parents = log.heads();
    bad_date.date = "23-11-2026".into();
    assert!(Op::sign(&dev, bad_date).is_err());
    // Another case.
    let mut other = body;
    other.case = CaseId([8; 16]);
    other.parents = vec![OpId([1; 32])];
    let op = Op::sign(&dev, other).unwrap();
    assert!(matches!(
        log.insert(op),
        Err(LogError::Op(OpError::WrongCase { .. }))
    ));
    // Consent that ends before it starts, and bad participant ids.
    let grant = Action::Grant {
        record: ConsentSpec {
            id: "c".into(),
            basis: Basis::Consent {
                consenters: vec!["x".into()],
                how: ConsentHow::Oral,
            },
            purpose: String::new(),
            categories: vec![ConsentCategory::Medisch],
            recipients: vec![Recipient::Role(Role::IbEr)],
            sources: vec!["GGD".into()],
            from: "2027-01-01".into(),
            until: "2026-01-01".into(),
        },
    };
    assert!(
        log.append(&dev, grant, KeyUpdate::default(), 0, TODAY)
            .is_err()
    );
    assert!(
        log.append(
            &dev,
            member("Sanne Visser", Role::Ouder, true),
            KeyUpdate::default(),
            0,
            TODAY
        )
        .is_err()
    );
}

#[test]
fn domain_rules_on_members_and_consent() {
    let (dev, mut log) = chair();
    let add = |log: &mut Log, a: Action| log.append(&dev, a, KeyUpdate::default(), 0, TODAY);
    add(&mut log, member("sanne", Role::Ouder, true)).unwrap();
    add(&mut log, member("kid", Role::Kind, false)).unwrap();
    // Custody only for parents; ids never reused; the last chair stays.
    assert!(add(&mut log, member("t", Role::Leerkracht, true)).is_err());
    assert!(matches!(
        add(&mut log, member("sanne", Role::Ouder, false)),
        Err(LogError::Rejected(Rejection::MemberExists { .. }))
    ));
    assert!(matches!(
        add(
            &mut log,
            Action::RemoveMember {
                member: "chair".into(),
                reason: String::new()
            }
        ),
        Err(LogError::Rejected(Rejection::LastAdmin))
    ));
    // Only parents and the child consent.
    let grant = |by: &str| Action::Grant {
        record: ConsentSpec {
            id: format!("c-{by}"),
            basis: Basis::Consent {
                consenters: vec![by.into()],
                how: ConsentHow::Written,
            },
            purpose: "x".into(),
            // The school's own information, recorded by the school (the holder records it).
            categories: vec![ConsentCategory::Gezinssituatie],
            recipients: vec![Recipient::Organisation("GGD".into())],
            sources: vec!["OBS".into()],
            from: "2026-01-01".into(),
            until: "2027-01-01".into(),
        },
    };
    assert!(add(&mut log, grant("chair")).is_err());
    add(&mut log, grant("sanne")).unwrap();
    // Nobody grants themselves access (issue 13 #9): the chair records a consent naming its
    // own organisation — refused.
    let mut own = grant("sanne");
    if let Action::Grant { record } = &mut own {
        record.id = "c-own".into();
        record.recipients = vec![Recipient::Organisation("OBS".into())];
    }
    assert!(add(&mut log, own).is_err());
    let st = log.state();
    assert_eq!(st.consents["c-sanne"].band_at_grant, Some(AgeBand::Onder12));
    assert_eq!(
        st.consents["c-sanne"].custody_at_grant,
        ["sanne".to_string()].into()
    );
    // A withdrawal names someone who consented.
    assert!(
        add(
            &mut log,
            Action::Withdraw {
                consent: "c-sanne".into(),
                by: "kid".into(),
                note: String::new()
            }
        )
        .is_err()
    );
    add(
        &mut log,
        Action::Withdraw {
            consent: "c-sanne".into(),
            by: "sanne".into(),
            note: String::new(),
        },
    )
    .unwrap();
    assert!(log.state().consents["c-sanne"].withdrawn.is_some());
    // A refused local op leaves no trace.
    let n = log.all().count();
    assert!(
        add(
            &mut log,
            Action::Confirm {
                member: "sanne".into()
            }
        )
        .is_err()
    );
    assert_eq!(log.all().count(), n);
    assert!(log.rejected().is_empty());
}

/// An op by `dev` on explicit parents and date (as a modified client would make it).
fn forged(dev: &DeviceSecret, parents: Vec<OpId>, date: Date, time: i64, action: Action) -> Op {
    Op::sign(
        dev,
        OpBody {
            case: CaseId([9; 16]),
            author: dev.device_id(),
            parents,
            time,
            date: crate::core::model::format_date(date),
            action,
            keys: KeyUpdate::default(),
        },
    )
    .unwrap()
}

fn day(n: i64) -> Date {
    TODAY + time::Duration::days(n)
}

#[test]
fn an_op_cannot_be_dated_before_its_causal_past() {
    let (dev, mut log) = chair();
    log.append(
        &dev,
        member("sanne", Role::Ouder, true),
        KeyUpdate::default(),
        0,
        TODAY,
    )
    .unwrap();
    let back = forged(&dev, log.heads(), day(-1), 0, Action::Keys);
    assert!(matches!(
        log.insert(back),
        Ok(Inserted::Rejected(Rejection::Backdated { .. }))
    ));
    // A peer's clock a day ahead: a local op on top of it takes the later date.
    let ahead = forged(&dev, log.heads(), day(1), 0, Action::Keys);
    assert_eq!(log.insert(ahead).unwrap(), Inserted::Applied);
    let op = log
        .append(
            &dev,
            member("erik", Role::Ouder, true),
            KeyUpdate::default(),
            0,
            TODAY,
        )
        .unwrap();
    assert_eq!(op.date, day(1));
}

#[test]
fn an_op_dated_ahead_of_the_clock_waits_for_it() {
    let (dev, mut log) = chair();
    let far = forged(
        &dev,
        log.heads(),
        day(2),
        0,
        member("sanne", Role::Ouder, true),
    );
    assert_eq!(log.insert(far.clone()).unwrap(), Inserted::Pending);
    assert_eq!((log.pending(), log.from_the_future()), (1, 1));
    // Ops on top of it wait too; the device's own ops do not build on it.
    let child = forged(&dev, vec![far.id], day(2), 0, Action::Keys);
    assert_eq!(log.insert(child).unwrap(), Inserted::Pending);
    assert!(!log.heads().contains(&far.id));
    assert!(!log.state().members.contains_key("sanne"));
    // Once the clock reaches it, it counts.
    let mut later = Log::new(CaseId([9; 16]), day(1));
    for op in log.all() {
        later.insert(op.clone()).unwrap();
    }
    assert_eq!(later.pending(), 0);
    assert!(later.state().members["sanne"].is_active());
}

/// The chair, a co-chair with a device, and the heads before the chair removes the co-chair.
fn chair_and_co() -> (DeviceSecret, DeviceSecret, Log) {
    let (dev, mut log) = chair();
    let co = DeviceSecret::generate().unwrap();
    let mut spec = match member("co", Role::Directeur, false) {
        Action::AddMember { member } => member,
        _ => unreachable!(),
    };
    spec.admin = true;
    spec.devices = vec![co.public_identity().clone()];
    log.append(
        &dev,
        Action::AddMember { member: spec },
        KeyUpdate::default(),
        0,
        TODAY,
    )
    .unwrap();
    (dev, co, log)
}

#[test]
fn a_removed_or_demoted_co_chair_cannot_strike_back_whatever_its_op_id() {
    let (dev, co, base) = chair_and_co();
    let stale = base.heads();
    let chair_dev = dev.device_id();
    let removal = Action::RemoveMember {
        member: "co".into(),
        reason: String::new(),
    };
    let demotion = Action::SetRole {
        member: "co".into(),
        role: Role::Directeur,
        admin: false,
    };
    let strikes = [
        Action::RemoveMember {
            member: "chair".into(),
            reason: String::new(),
        },
        Action::SetRole {
            member: "chair".into(),
            role: Role::IbEr,
            admin: false,
        },
        Action::RemoveDevice {
            member: "chair".into(),
            device: chair_dev,
        },
    ];
    for by_chair in [removal, demotion] {
        let mut l = base.clone();
        let r = l
            .append(&dev, by_chair.clone(), KeyUpdate::default(), 0, TODAY)
            .unwrap();
        for strike in &strikes {
            // Different times give different op ids: some sort before the chair's op.
            for t in 0..12 {
                let a = forged(&co, stale.clone(), TODAY, t, strike.clone());
                let (before, after) = (a.id < r.id, a.id > r.id);
                assert!(before || after);
                for order in [[r.clone(), a.clone()], [a.clone(), r.clone()]] {
                    let mut log = base.clone();
                    for op in order {
                        log.insert(op).unwrap();
                    }
                    let st = log.state();
                    let chair = &st.members["chair"];
                    assert!(chair.is_active() && chair.admin, "{strike:?} {by_chair:?}");
                    assert!(chair.devices.contains(&chair_dev));
                    assert!(log.rejected().contains_key(&a.id));
                    assert!(!log.rejected().contains_key(&r.id));
                    assert!(!st.members["co"].admin || !st.members["co"].is_active());
                }
            }
        }
    }
}

#[test]
fn admin_ops_concurrent_with_a_demotion_lose_the_admin_right() {
    let (dev, co, base) = chair_and_co();
    let stale = base.heads();
    let mut log = base.clone();
    log.append(
        &dev,
        Action::SetRole {
            member: "co".into(),
            role: Role::Directeur,
            admin: false,
        },
        KeyUpdate::default(),
        0,
        TODAY,
    )
    .unwrap();
    let birth = forged(
        &co,
        stale.clone(),
        TODAY,
        0,
        Action::SetBirthdate {
            birthdate: "2009-01-01".into(),
        },
    );
    let add = forged(
        &co,
        stale,
        TODAY,
        0,
        member("puppet", Role::Leerkracht, false),
    );
    assert!(matches!(
        log.insert(birth).unwrap(),
        Inserted::Rejected(Rejection::NotAdmin { .. })
    ));
    log.insert(add).unwrap();
    assert_eq!(
        log.state().members["puppet"].status,
        MemberStatus::Unconfirmed
    );
    assert_eq!(
        log.state().birthdate,
        Some(time::macros::date!(2017 - 03 - 14))
    );
}

#[test]
fn devices_that_remove_each_other_concurrently_are_both_removed() {
    let (dev, mut log) = chair();
    let (a, b) = (
        DeviceSecret::generate().unwrap(),
        DeviceSecret::generate().unwrap(),
    );
    for d in [&a, &b] {
        log.append(
            &dev,
            Action::AddDevice {
                member: "chair".into(),
                device: d.public_identity().clone(),
            },
            KeyUpdate::default(),
            0,
            TODAY,
        )
        .unwrap();
    }
    let heads = log.heads();
    let rm = |by: &DeviceSecret, of: &DeviceSecret, t| {
        forged(
            by,
            heads.clone(),
            TODAY,
            t,
            Action::RemoveDevice {
                member: "chair".into(),
                device: of.device_id(),
            },
        )
    };
    for t in 0..6 {
        let (x, y) = (rm(&a, &b, t), rm(&b, &a, t));
        for order in [[x.clone(), y.clone()], [y.clone(), x.clone()]] {
            let mut l = log.clone();
            for op in order {
                l.insert(op).unwrap();
            }
            let devices = &l.state().members["chair"].devices;
            assert!(!devices.contains(&a.device_id()) && !devices.contains(&b.device_id()));
            assert!(devices.contains(&dev.device_id()));
            // A later op of a removed device, concurrent or not, is refused.
            let late = forged(&a, l.heads(), TODAY, 0, Action::Keys);
            assert!(matches!(
                l.insert(late).unwrap(),
                Inserted::Rejected(Rejection::DeviceRemoved { .. })
            ));
        }
    }
}

#[test]
fn recipients_parse() {
    let (dev, mut log) = chair();
    log.append(
        &dev,
        member("sanne", Role::Ouder, true),
        KeyUpdate::default(),
        0,
        TODAY,
    )
    .unwrap();
    let m = &log.state().members;
    assert_eq!(
        Recipient::parse("sanne", m).unwrap(),
        Recipient::Member("sanne".into())
    );
    assert_eq!(
        Recipient::parse("jeugdarts", m).unwrap(),
        Recipient::Role(Role::Jeugdarts)
    );
    assert_eq!(
        Recipient::parse("OBS", m).unwrap(),
        Recipient::Organisation("OBS".into())
    );
    assert_eq!(
        Recipient::parse("org:GGD", m).unwrap(),
        Recipient::Organisation("GGD".into())
    );
    assert!(Recipient::parse("role:bakker", m).is_err());
    assert!(
        Recipient::parse("niemand", m)
            .unwrap_err()
            .contains("member list")
    );
}

/// A key op in format 2 with bundles for two compartments, a link, and the body it signs.
fn keys_op() -> (DeviceSecret, Op, CompartmentId, CompartmentId) {
    let dev = DeviceSecret::generate().unwrap();
    let case = CaseId([9; 16]);
    let (a, b) = (CompartmentId([1; 16]), CompartmentId([2; 16]));
    let ka = mdo_crypto::EpochKey::generate(case, a).unwrap();
    let (ka1, link) = ka.rotate().unwrap();
    let kb = mdo_crypto::EpochKey::generate(case, b).unwrap();
    let to = dev.public_identity().clone();
    let body = OpBody {
        case,
        author: dev.device_id(),
        parents: vec![OpId([3; 32])],
        time: 0,
        date: "2026-11-23".into(),
        action: Action::Keys,
        keys: KeyUpdate {
            epochs: vec![NewEpoch {
                descriptor: "parents".into(),
                compartment: a,
                epoch: 1,
                commitment: Blob(ka1.commitment().to_vec()),
                link: Some(Blob(link.to_bytes().to_vec())),
                link_hash: None,
                closing: vec![],
            }],
            wrapped: vec![
                Blob(mdo_crypto::wrap_keys(&[&ka1], &to).unwrap().to_bytes()),
                Blob(mdo_crypto::wrap_keys(&[&kb], &to).unwrap().to_bytes()),
            ],
            refs: vec![],
        },
    };
    let op = Op::sign(&dev, body).unwrap();
    (dev, op, a, b)
}

#[test]
fn format_2_key_material_is_detachable_and_the_op_still_verifies() {
    let (dev, op, a, b) = keys_op();
    assert_eq!(op.version, OP_VERSION);
    // The signed body names the bundles by hash; the material travels beside it.
    assert!(op.body.keys.wrapped.is_empty() && op.body.keys.refs.len() == 2);
    assert!(op.body.keys.epochs[0].link.is_none());
    let parsed = Op::parse(&op.bytes).unwrap();
    assert_eq!(parsed.id, op.id);
    assert_eq!(parsed.links().len(), 1);
    assert!(parsed.bundles().iter().all(|v| v.bundle.is_some()));
    assert_eq!(parsed.material_of(), [a, b].into_iter().collect());

    // Dropping compartment a: same id, still verifies, a's bundle and link gone, b's kept.
    let gone = [a].into_iter().collect();
    let stripped = parsed.without_material(&gone).unwrap().unwrap();
    assert!(stripped.bytes.len() < parsed.bytes.len());
    let again = Op::parse(&stripped.bytes).unwrap();
    assert_eq!(again.id, op.id, "the id does not change with the material");
    assert!(again.links().is_empty());
    assert_eq!(again.material_of(), [b].into_iter().collect());
    let views = again.bundles();
    assert_eq!(views.len(), 2, "who got which key stays known");
    let va = views.iter().find(|v| v.entries[0].0 == a).unwrap();
    assert!(va.bundle.is_none());
    let vb = views.iter().find(|v| v.entries[0].0 == b).unwrap();
    assert_eq!(vb.bundle.as_ref().unwrap().unwrap(&dev).unwrap().len(), 1);
    assert!(
        again.without_material(&gone).unwrap().is_none(),
        "nothing more to drop"
    );

    // Material the body does not name, or altered material, is refused.
    let mut extra = stripped.bytes.clone();
    let n = extra.len();
    let count_at = again_count_offset(&again);
    extra[count_at] += 1;
    extra.extend_from_slice(&4u32.to_le_bytes());
    extra.extend_from_slice(b"junk");
    assert!(n < extra.len());
    assert!(Op::parse(&extra).is_err());
    let mut flipped = parsed.bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(
        Op::parse(&flipped).is_err(),
        "a bundle that is not the one named"
    );
    // The signed part still cannot change.
    let mut body = parsed.bytes.clone();
    body[20] ^= 1;
    assert!(Op::parse(&body).is_err());
}

fn again_count_offset(op: &Op) -> usize {
    let len = u32::from_le_bytes([op.bytes[5], op.bytes[6], op.bytes[7], op.bytes[8]]) as usize;
    9 + len + 64
}

#[test]
fn a_format_1_op_is_still_read_but_cannot_drop_its_keys() {
    let dev = DeviceSecret::generate().unwrap();
    let case = CaseId([9; 16]);
    let a = CompartmentId([1; 16]);
    let k = mdo_crypto::EpochKey::generate(case, a).unwrap();
    let w = mdo_crypto::wrap_keys(&[&k], dev.public_identity()).unwrap();
    let json = serde_json::json!({
        "case": case, "author": dev.device_id(), "parents": [OpId([3; 32])], "time": 0,
        "date": "2026-11-23", "action": {"op": "keys"},
        "keys": {"epochs": [], "wrapped": [hex::encode(w.to_bytes())]}
    });
    let json = serde_json::to_vec(&json).unwrap();
    let mut bytes = OP_MAGIC.to_vec();
    bytes.push(OP_VERSION_1);
    bytes.extend_from_slice(&(json.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&json);
    let sig = dev.sign(SIG_CONTEXT, &bytes);
    bytes.extend_from_slice(&sig);
    let op = Op::parse(&bytes).unwrap();
    assert_eq!(op.version, OP_VERSION_1);
    assert_eq!(op.id, OpId(*blake3::hash(&bytes).as_bytes()));
    assert!(op.bundles()[0].bundle.is_some());
    let gone = [a].into_iter().collect();
    assert_eq!(op.without_material(&gone).unwrap_err(), vec![a]);
    // Bytes after a format-1 op are refused (its length is exact).
    let mut extra = bytes.clone();
    extra.extend_from_slice(&[0, 0]);
    assert!(Op::parse(&extra).is_err());
}

#[test]
fn a_bundle_holds_keys_of_one_compartment_in_format_2() {
    let dev = DeviceSecret::generate().unwrap();
    let case = CaseId([9; 16]);
    let ka = mdo_crypto::EpochKey::generate(case, CompartmentId([1; 16])).unwrap();
    let kb = mdo_crypto::EpochKey::generate(case, CompartmentId([2; 16])).unwrap();
    let both = mdo_crypto::wrap_keys(&[&ka, &kb], dev.public_identity()).unwrap();
    let body = OpBody {
        case,
        author: dev.device_id(),
        parents: vec![OpId([3; 32])],
        time: 0,
        date: "2026-11-23".into(),
        action: Action::Keys,
        keys: KeyUpdate {
            epochs: vec![],
            wrapped: vec![Blob(both.to_bytes())],
            refs: vec![],
        },
    };
    assert!(Op::sign(&dev, body).is_err());
}
