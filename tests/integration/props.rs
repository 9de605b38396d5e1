//! Property test: random sequences of domain operations on three replicas, with random merges in
//! between, converge to the same case once every replica has every chunk.

use mdo::core::case::{Case, Me, NewAgreement};
use mdo::core::model::{Audience, Role, Section};
use mdo::crypto::DeviceSecret;
use mdo::crypto::envelope::SealedEnvelope;
use proptest::prelude::*;

/// Inputs that make Automerge 0.12's loader panic, found by our `automerge_load` fuzz target
/// (`tests/fixtures/automerge-crashers/`). Every path that decodes outside bytes must reject them.
pub const CRASHERS: [&[u8]; 2] = [
    include_bytes!("../fixtures/automerge-crashers/load-hexane-unexpected-eof.bin"),
    include_bytes!("../fixtures/automerge-crashers/load-hexane-unexpected-eof-original.bin"),
];

#[test]
fn the_crashers_still_crash_plain_automerge() {
    for c in CRASHERS {
        let r = std::panic::catch_unwind(|| automerge::AutoCommit::load(c));
        assert!(
            r.is_err(),
            "Automerge no longer panics on this input: the upstream bug is fixed; keep the input as a regression test but update this assertion"
        );
    }
}

#[test]
fn the_crashers_are_rejected_by_compartment_docs() {
    for c in CRASHERS {
        for kind in [
            mdo::core::doc::PAYLOAD_SNAPSHOT,
            mdo::core::doc::PAYLOAD_CHANGES,
        ] {
            let mut payload = vec![kind];
            payload.extend_from_slice(c);
            let mut d = mdo::core::doc::CompartmentDoc::new();
            assert!(d.apply(&payload).is_err());
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    AddItem {
        replica: usize,
        section: usize,
        text: String,
        audience: bool,
    },
    EditItem {
        replica: usize,
        pick: usize,
        text: String,
    },
    RemoveItem {
        replica: usize,
        pick: usize,
    },
    AddAgreement {
        replica: usize,
        wat: String,
    },
    EditAgreement {
        replica: usize,
        pick: usize,
        field: usize,
        text: String,
    },
    Sync {
        from: usize,
        to: usize,
    },
}

const SECTIONS: [&str; 6] = [
    "kind.plus",
    "kind.min",
    "school.plus",
    "thuis.vraag",
    "vragen",
    "behoeften.kind",
];
const FIELDS: [&str; 5] = ["wie", "wat", "waarom", "wanneer", "hoe"];

fn op() -> impl Strategy<Value = Op> {
    let r = 0usize..3;
    let text = "[a-z][a-z ]{0,11}";
    prop_oneof![
        (r.clone(), 0..SECTIONS.len(), text, any::<bool>()).prop_map(
            |(replica, section, text, audience)| Op::AddItem {
                replica,
                section,
                text,
                audience
            }
        ),
        (r.clone(), any::<usize>(), text).prop_map(|(replica, pick, text)| Op::EditItem {
            replica,
            pick,
            text
        }),
        (r.clone(), any::<usize>()).prop_map(|(replica, pick)| Op::RemoveItem { replica, pick }),
        (r.clone(), text).prop_map(|(replica, wat)| Op::AddAgreement { replica, wat }),
        (r.clone(), any::<usize>(), 0..FIELDS.len(), text).prop_map(
            |(replica, pick, field, text)| Op::EditAgreement {
                replica,
                pick,
                field,
                text
            }
        ),
        (r.clone(), r).prop_map(|(from, to)| Op::Sync { from, to }),
    ]
}

struct Replica {
    me: Me,
    dev: DeviceSecret,
    case: Case,
    outbox: Vec<SealedEnvelope>,
}

impl Replica {
    fn flush(&mut self) {
        let sealed = self.case.seal_pending(&self.dev).unwrap();
        self.outbox.extend(sealed.into_iter().map(|s| s.envelope));
    }
}

fn deliver(replicas: &mut [Replica], from: usize, to: usize) {
    if from == to {
        return;
    }
    replicas[from].flush();
    let chunks = replicas[from].outbox.clone();
    for c in chunks {
        // Duplicates and already-known changes are fine: merging is idempotent.
        replicas[to].case.receive(&c.bytes).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn three_replicas_converge(ops in prop::collection::vec(op(), 1..40)) {
        let people: Vec<(Me, DeviceSecret)> =
            (0..3).map(|i| crate::support::me_at(&format!("r{i}"), Role::IbEr, "OBS")).collect();
        let (first_me, first_dev) = &people[0];
        let mut origin = Case::create(first_me, first_dev, "Noor", "2017-03-14", "OBS", "6", crate::support::TODAY, 0).unwrap();
        for (m, d) in &people[1..] {
            crate::support::add_member(&mut origin, first_dev, m, d);
        }
        // Both shared compartments exist from the start, so every replica holds their keys.
        origin.add_item(first_me, Section::Vragen, "start", Audience::Parents, None, 0).unwrap();
        origin.add_item(first_me, Section::Vragen, "start prof", Audience::Professionals, None, 0).unwrap();
        let base = crate::support::seal(&mut origin, first_dev);
        let mut replicas: Vec<Replica> = people.into_iter().map(|(me, dev)| {
            let case = crate::support::replica(&origin, &dev, &base);
            Replica { dev, me, case, outbox: base.clone() }
        }).collect();

        for (t, op) in ops.into_iter().enumerate() {
            let t = t as i64;
            match op {
                Op::AddItem { replica, section, text, audience } => {
                    let r = &mut replicas[replica];
                    let aud = if audience { Audience::Parents } else { Audience::Professionals };
                    r.case.add_item(&r.me, Section::parse(SECTIONS[section]).unwrap(), &text, aud, None, t).unwrap();
                }
                Op::EditItem { replica, pick, text } => {
                    let r = &mut replicas[replica];
                    let items = r.case.items();
                    if !items.is_empty() {
                        let id = items[pick % items.len()].data.id.clone();
                        r.case.edit_item(&id, &text).unwrap();
                    }
                }
                Op::RemoveItem { replica, pick } => {
                    let r = &mut replicas[replica];
                    let items = r.case.items();
                    if !items.is_empty() {
                        let id = items[pick % items.len()].data.id.clone();
                        r.case.remove_item(&id).unwrap();
                    }
                }
                Op::AddAgreement { replica, wat } => {
                    let r = &mut replicas[replica];
                    r.case.add_agreement(&r.me, NewAgreement { wie: "x".into(), wat, ..Default::default() }, Audience::Parents, t).unwrap();
                }
                Op::EditAgreement { replica, pick, field, text } => {
                    let r = &mut replicas[replica];
                    let ags = r.case.agreements();
                    if !ags.is_empty() {
                        let id = ags[pick % ags.len()].data.id.clone();
                        r.case.edit_agreement(&id, FIELDS[field], &text).unwrap();
                    }
                }
                Op::Sync { from, to } => deliver(&mut replicas, from, to),
            }
        }
        for from in 0..3 {
            for to in 0..3 {
                deliver(&mut replicas, from, to);
            }
        }
        let first_items = replicas[0].case.items();
        let first_agreements = replicas[0].case.agreements();
        for r in &replicas[1..] {
            prop_assert_eq!(&r.case.items(), &first_items);
            prop_assert_eq!(&r.case.agreements(), &first_agreements);
        }
    }
}
