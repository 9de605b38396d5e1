//! Removing one participant from a case with 30 participants × 2 devices, all rotations
//! included: the `RemoveMember` op, the audience resolution, a new epoch key and link for every
//! compartment the removed participant could read, one HPKE bundle per remaining device, the
//! signatures, and every peer-side validation of both ops. Goal (issue 4): ≤ 3.7 ms.
//!
//! Reported as a ratio to a baseline measured interleaved in the same run: 60 X25519 agreements
//! (the unavoidable core of wrapping one key to 60 devices). `cargo bench --bench membership`
//! (add `-- --quick` for a short criterion part).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use mdo::core::case::{Case, Me};
use mdo::core::membership::{Action, MemberSpec, Op};
use mdo::core::model::Role;
use mdo::crypto::identity::x25519_agree;
use mdo::crypto::{CompartmentId, DeviceSecret, EpochKey, PublicIdentity, Secret, wrap_to_all};

const PEOPLE: usize = 30;

struct Fixture {
    chair: DeviceSecret,
    case: mdo::crypto::CaseId,
    ops: Vec<Op>,
    dh_secrets: Vec<Secret<32>>,
    dh_peers: Vec<PublicIdentity>,
    rotated: usize,
}

fn fixture() -> Fixture {
    let today = time::macros::date!(2026 - 11 - 23);
    let chair = DeviceSecret::generate().unwrap();
    let me = Me {
        person: "chair".into(),
        name: "chair".into(),
        role: Role::IbEr,
        organisation: "School".into(),
        device: chair.device_id(),
    };
    let mut case =
        Case::create(&me, &chair, "Kind", "2017-03-14", "School", "6", today, 0).unwrap();
    let second = DeviceSecret::generate().unwrap();
    case.membership(
        &chair,
        Action::AddDevice {
            member: "chair".into(),
            device: second.public_identity().clone(),
        },
    )
    .unwrap();
    for i in 1..PEOPLE {
        let devices = (0..2)
            .map(|_| DeviceSecret::generate().unwrap().public_identity().clone())
            .collect();
        case.membership(
            &chair,
            Action::AddMember {
                member: MemberSpec {
                    id: format!("p{i}"),
                    role: Role::Leerkracht,
                    organisation: "School".into(),
                    custody: false,
                    custody_unknown: false,
                    admin: false,
                    devices,
                },
            },
        )
        .unwrap();
    }
    let rotated = case
        .access()
        .compartments
        .values()
        .filter(|a| a.readers.contains_key("p1") && a.readers.contains_key("chair"))
        .count();
    let ops = case.take_new_ops();
    let dh_secrets = (0..60).map(|i| Secret::new([i as u8 + 1; 32])).collect();
    let dh_peers = (0..60)
        .map(|_| DeviceSecret::generate().unwrap().public_identity().clone())
        .collect();
    Fixture {
        case: case.id,
        chair,
        ops,
        dh_secrets,
        dh_peers,
        rotated,
    }
}

/// The chair's copy of the case, replayed from the ops (not timed).
fn replay(f: &Fixture) -> Case {
    let mut c = Case::empty(
        f.case,
        f.chair.device_id(),
        time::macros::date!(2026 - 11 - 23),
        0,
    );
    for op in &f.ops {
        c.insert_op(op.clone()).unwrap();
    }
    c.take_new_ops();
    c.unlock(&f.chair);
    c
}

/// The measured work: remove, rotate, wrap, sign; then a peer validates both ops.
fn remove(f: &Fixture, mut c: Case, mut peer: Case) -> usize {
    c.membership(
        &f.chair,
        Action::RemoveMember {
            member: "p1".into(),
            reason: String::new(),
        },
    )
    .unwrap();
    let ops = c.take_new_ops();
    for op in &ops {
        peer.insert_op(op.clone()).unwrap();
    }
    ops.iter().map(|o| o.bytes.len()).sum()
}

fn split_times(f: &Fixture) {
    let mut chair_t = Vec::new();
    let mut peer_t = Vec::new();
    let mut rem_t = Vec::new();
    for _ in 0..11 {
        let (mut c, mut peer) = (replay(f), replay(f));
        let t = Instant::now();
        c.membership(
            &f.chair,
            Action::RemoveMember {
                member: "p1".into(),
                reason: String::new(),
            },
        )
        .unwrap();
        chair_t.push(t.elapsed());
        let ops = c.take_new_ops();
        let t = Instant::now();
        peer.insert_op(ops[0].clone()).unwrap();
        rem_t.push(t.elapsed());
        let t = Instant::now();
        for op in &ops[1..] {
            peer.insert_op(op.clone()).unwrap();
        }
        peer_t.push(t.elapsed());
    }
    chair_t.sort();
    peer_t.sort();
    rem_t.sort();
    println!(
        "chair side (remove + rotate + wrap + sign): {:?}; a peer validating the removal op: {:?}, the key op: {:?}",
        chair_t[5], rem_t[5], peer_t[5]
    );
}

/// The bare key wrapping a removal needs: one key to each of the 58 remaining devices.
fn wrap_58(f: &Fixture) -> usize {
    let key = EpochKey::generate(f.case, CompartmentId([1; 16])).unwrap();
    wrap_to_all(&[&key], &f.dh_peers[..58]).unwrap().len()
}

fn dh_60(f: &Fixture) -> usize {
    f.dh_secrets
        .iter()
        .zip(&f.dh_peers)
        .map(|(s, d)| x25519_agree(s, d.x25519_public()).unwrap().expose()[0] as usize)
        .sum()
}

fn main() {
    let f = fixture();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("remove_participant_30x2_with_rotations", |b| {
        b.iter_batched(
            || (replay(&f), replay(&f)),
            |(case, peer)| black_box(remove(&f, case, peer)),
            BatchSize::PerIteration,
        )
    });
    c.final_summary();

    // Interleaved: 60 DH and the bare 58-device wrap (baselines) and one removal, alternating,
    // median of 31 rounds.
    let rounds = 31;
    let (mut ta, mut tb, mut tw) = (Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..10 {
            black_box(dh_60(&f));
        }
        ta.push(t.elapsed() / 10);
        let t = Instant::now();
        for _ in 0..5 {
            black_box(wrap_58(&f));
        }
        tw.push(t.elapsed() / 5);
        let (case, peer) = (replay(&f), replay(&f));
        let t = Instant::now();
        bytes = black_box(remove(&f, case, peer));
        tb.push(t.elapsed());
    }
    split_times(&f);
    ta.sort();
    tb.sort();
    tw.sort();
    let (dh, rm, wr) = (ta[rounds / 2], tb[rounds / 2], tw[rounds / 2]);
    println!("\n== ratio, interleaved in this run (median of {rounds} rounds) ==");
    println!(
        "remove 1 of {PEOPLE} participants × 2 devices, {} compartments rotated, ops {} bytes",
        f.rotated, bytes
    );
    println!(
        "baseline 60×X25519 {dh:?}; bare HPKE wrap of one key to the 58 remaining devices {wr:?}"
    );
    println!(
        "removal {rm:?}: {:.2}× 60 DH, {:.2}× the bare wrap; goal ≤ 3.7 ms: {}",
        rm.as_secs_f64() / dh.as_secs_f64(),
        rm.as_secs_f64() / wr.as_secs_f64(),
        if rm <= Duration::from_micros(3700) {
            "met"
        } else {
            "NOT met"
        }
    );
}
