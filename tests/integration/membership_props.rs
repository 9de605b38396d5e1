//! Property: random membership and consent ops (removals and demotions of the chair and the
//! co-chair among them), made concurrently on 4 devices and delivered in random orders to 4 fresh
//! replicas, give the same derived state everywhere.

use mdo::core::case::Case;
use mdo::core::doc::ParticipantData;
use mdo::core::membership::{Action, Basis, ConsentSpec, Log, Op, Recipient};
use mdo::core::model::{ConsentCategory, ConsentHow, Role};
use proptest::prelude::*;

use crate::world::Person;

#[derive(Debug, Clone)]
enum Step {
    Add {
        by: usize,
        n: u8,
    },
    Remove {
        by: usize,
        target: usize,
    },
    /// An admin takes the admin right of the chair or the co-chair (issue 13: demotions and
    /// removals between admins converge by seniority).
    Demote {
        by: usize,
        chair: bool,
    },
    Grant {
        by: usize,
        consenters: u8,
        cat: usize,
        to: usize,
    },
    Withdraw {
        by: usize,
        consent: u8,
    },
    Custody {
        by: usize,
        on: bool,
    },
    Confirm {
        by: usize,
        n: u8,
    },
    Sync {
        from: usize,
        to: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let r = 0..4usize;
    prop_oneof![
        (r.clone(), 0..6u8).prop_map(|(by, n)| Step::Add { by, n }),
        (r.clone(), 0..7usize).prop_map(|(by, target)| Step::Remove { by, target }),
        (r.clone(), any::<bool>()).prop_map(|(by, chair)| Step::Demote { by, chair }),
        (r.clone(), 1..8u8, 0..6usize, 0..6usize).prop_map(|(by, consenters, cat, to)| {
            Step::Grant {
                by,
                consenters,
                cat,
                to,
            }
        }),
        (r.clone(), 0..8u8).prop_map(|(by, consent)| Step::Withdraw { by, consent }),
        (r.clone(), any::<bool>()).prop_map(|(by, on)| Step::Custody { by, on }),
        (r.clone(), 0..6u8).prop_map(|(by, n)| Step::Confirm { by, n }),
        (r.clone(), r).prop_map(|(from, to)| Step::Sync { from, to }),
    ]
}

const TARGETS: [&str; 7] = ["co", "sanne", "erik", "kid", "pro", "new0", "chair"];

pub fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

fn sync(from: &Case, to: &mut Case, dev: &Person) {
    for op in from.log().all() {
        let _ = to.insert_op(op.clone());
    }
    to.unlock(&dev.dev);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    #[test]
    fn four_replicas_derive_the_same_state_in_any_order(
        steps in prop::collection::vec(step(), 1..24),
        seeds in prop::collection::vec(any::<u64>(), 4),
    ) {
        let today = crate::support::TODAY;
        let people = [
            Person::new("chair", Role::IbEr, "OBS"),
            Person::new("co", Role::Directeur, "OBS"),
            Person::new("sanne", Role::Ouder, ""),
            Person::new("pro", Role::Leerkracht, "OBS"),
        ];
        let erik = Person::new("erik", Role::Ouder, "");
        let kid = Person::new("kid", Role::Kind, "");
        let mut origin = Case::create(&people[0].me, &people[0].dev, "Noor", "2013-03-14", "OBS", "8", today, 0).unwrap();
        let add = |c: &mut Case, by: &Person, who: &Person, custody: bool, chair: bool| {
            c.add_participant(&by.dev, ParticipantData {
                id: who.me.person.clone(), name: who.me.name.clone(), role: who.me.role.id().into(),
                organisation: who.me.organisation.clone(), custody, chair, devices: vec![],
            }, Some(who.dev.public_identity().clone()))
        };
        add(&mut origin, &people[0], &people[1], false, true).unwrap();
        add(&mut origin, &people[0], &people[2], true, false).unwrap();
        add(&mut origin, &people[0], &people[3], false, false).unwrap();
        add(&mut origin, &people[0], &erik, true, false).unwrap();
        add(&mut origin, &people[0], &kid, false, false).unwrap();
        let mut replicas: Vec<Case> = people.iter().map(|p| {
            let mut c = Case::empty(origin.id, p.dev.device_id(), today, 0);
            sync(&origin, &mut c, p);
            c
        }).collect();
        let mut grants = 0u8;
        for s in steps {
            match s {
                Step::Add { by, n } => {
                    let who = Person::new(&format!("new{n}"), Role::JgCoach, "Gemeente");
                    let _ = add(&mut replicas[by], &people[by], &who, false, false);
                }
                Step::Remove { by, target } => {
                    let _ = replicas[by].membership(&people[by].dev, Action::RemoveMember { member: TARGETS[target].into(), reason: String::new() });
                }
                Step::Demote { by, chair } => {
                    let (member, role) = if chair { ("chair", Role::IbEr) } else { ("co", Role::Directeur) };
                    let _ = replicas[by].membership(&people[by].dev, Action::SetRole { member: member.into(), role, admin: false });
                }
                Step::Grant { by, consenters, cat, to } => {
                    let all = ["sanne", "erik", "kid"];
                    let cs: Vec<String> = all.iter().enumerate().filter(|(i, _)| consenters & (1 << i) != 0).map(|(_, s)| s.to_string()).collect();
                    let r = replicas[by].membership(&people[by].dev, Action::Grant { record: ConsentSpec {
                        id: format!("c{grants}"),
                        basis: Basis::Consent { consenters: cs, how: ConsentHow::Oral },
                        purpose: String::new(),
                        categories: vec![ConsentCategory::ALL[cat]],
                        recipients: vec![Recipient::Member(TARGETS[to].into())], sources: vec!["OBS".into(), "GGD".into()],
                        from: "2026-01-01".into(), until: "2027-01-01".into(),
                    }});
                    if r.is_ok() { grants += 1; }
                }
                Step::Withdraw { by, consent } => {
                    let who = people[by].me.person.clone();
                    let _ = replicas[by].membership(&people[by].dev, Action::Withdraw { consent: format!("c{consent}"), by: who, note: String::new() });
                }
                Step::Custody { by, on } => {
                    let _ = replicas[by].membership(&people[by].dev, Action::SetCustody { member: "erik".into(), custody: on, unknown: false });
                }
                Step::Confirm { by, n } => {
                    let _ = replicas[by].membership(&people[by].dev, Action::Confirm { member: format!("new{n}") });
                }
                Step::Sync { from, to } => {
                    if from != to {
                        let (a, b) = if from < to {
                            let (l, r) = replicas.split_at_mut(to);
                            (&l[from], &mut r[0])
                        } else {
                            let (l, r) = replicas.split_at_mut(from);
                            (&r[0], &mut l[to])
                        };
                        sync(a, b, &people[to]);
                    }
                }
            }
        }
        // Every op made anywhere, delivered to fresh logs in four random orders.
        let mut all: Vec<Op> = Vec::new();
        for r in &replicas {
            for op in r.log().all() {
                if !all.iter().any(|o| o.id == op.id) {
                    all.push(op.clone());
                }
            }
        }
        let mut states = Vec::new();
        for seed in seeds {
            let mut order = all.clone();
            shuffle(&mut order, seed | 1);
            let mut log = Log::new(origin.id, today);
            for op in order {
                log.insert(op).unwrap();
            }
            prop_assert_eq!(log.pending(), 0);
            states.push((log.state().clone(), log.rejected().clone()));
        }
        for s in &states[1..] {
            prop_assert_eq!(&s.0, &states[0].0);
            prop_assert_eq!(&s.1, &states[0].1);
        }
        // And the devices themselves, after a full exchange, agree with them.
        for i in 0..4 {
            for j in 0..4 {
                if i != j {
                    let (a, b) = if i < j {
                        let (l, r) = replicas.split_at_mut(j);
                        (&l[i], &mut r[0])
                    } else {
                        let (l, r) = replicas.split_at_mut(i);
                        (&r[0], &mut l[j])
                    };
                    sync(a, b, &people[j]);
                }
            }
        }
        for r in &replicas {
            prop_assert_eq!(r.state(), &states[0].0);
        }
    }
}
