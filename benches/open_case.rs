//! Opening a case with a long history from the store (decrypt + load), as a ratio to
//! `Automerge::load` of the same history in plaintext, measured in the same run; and the bytes on
//! disk against the plaintext `save()` size. Goals (issue 3): open ≤ 1.2×, bytes ≤ 1.2×.
//!
//! `cargo bench --bench open_case` (add `-- --quick` for a short criterion run). The history:
//! 10,000 edits (alternating new items and 2-character appends to item text), one Automerge
//! change per edit, committed to the store in batches of 100 as a user's actions would be.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use mdo::core::case::Case;
use mdo::core::model::{Audience, Role, Section};
use mdo::crypto::{CaseId, KdfParams};
use mdo::store::Profile;

const EDITS: usize = 10_000;

struct Fixture {
    _dir: tempfile::TempDir,
    profile: Profile,
    case: CaseId,
    plain: Vec<u8>,
    edits: usize,
}

fn fixture(edits: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut profile = Profile::init(
        dir.path(),
        "pw",
        "Monique",
        Role::IbEr,
        "OBS",
        KdfParams::INSECURE_FAST,
    )
    .unwrap();
    let me = profile.me().clone();
    let mut case = Case::create(
        &me,
        profile.device(),
        "Noor",
        "2017-03-14",
        "OBS",
        "6",
        profile.today(),
        0,
    )
    .unwrap();
    let mut ids = Vec::new();
    for n in 0..edits {
        if n % 2 == 0 || ids.is_empty() {
            ids.push(
                case.add_item(
                    &me,
                    Section::Vragen,
                    "ab",
                    Audience::Parents,
                    None,
                    n as i64,
                )
                .unwrap(),
            );
        } else {
            let id = ids[n % ids.len()].clone();
            let text = case
                .items()
                .into_iter()
                .find(|i| i.data.id == id)
                .unwrap()
                .data
                .text;
            case.edit_item(&id, &format!("{text}xy")).unwrap();
        }
        for c in case.compartments.values_mut() {
            c.doc.commit();
        }
        if n % 100 == 99 {
            profile.commit(&mut case).unwrap();
        }
    }
    profile.commit(&mut case).unwrap();
    let plain = case.compartments.values_mut().next().unwrap().doc.save();
    Fixture {
        case: case.id,
        _dir: dir,
        profile,
        plain,
        edits,
    }
}

fn median_ab(rounds: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        a();
        ta.push(t.elapsed());
        let t = Instant::now();
        b();
        tb.push(t.elapsed());
    }
    ta.sort();
    tb.sort();
    (ta[rounds / 2], tb[rounds / 2])
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut reports = Vec::new();
    {
        let mut f = fixture(EDITS);
        let edits = EDITS;
        let mut g = c.benchmark_group(format!("open_case_{edits}_edits"));
        g.sample_size(20);
        let plain = f.plain.clone();
        g.bench_function("automerge_load_plaintext", |b| {
            b.iter(|| automerge::AutoCommit::load(black_box(&plain)).unwrap())
        });
        g.bench_function("mdo_store_decrypt_and_load", |b| {
            b.iter(|| f.profile.load_case(black_box(f.case)).unwrap())
        });
        g.finish();

        let (plain_t, store_t) = median_ab(
            31,
            || {
                black_box(automerge::AutoCommit::load(&plain).unwrap());
            },
            || {
                black_box(f.profile.load_case(f.case).unwrap());
            },
        );
        f.profile.checkpoint().unwrap();
        let chunk_bytes: usize = f
            .profile
            .chunks_of(f.case)
            .unwrap()
            .iter()
            .map(|(_, _, b)| b.len())
            .sum();
        let chunks = f.profile.chunks_of(f.case).unwrap().len();
        let db = f.profile.dir().join(mdo::store::DB_FILE);
        let wal = f.profile.dir().join(format!("{}-wal", mdo::store::DB_FILE));
        let file_bytes = [db, wal]
            .iter()
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum::<u64>() as usize;
        reports.push((
            f.edits,
            plain.len(),
            plain_t,
            store_t,
            chunk_bytes,
            chunks,
            file_bytes,
        ));
    }
    c.final_summary();
    println!(
        "\n== open a case from the store vs Automerge::load of the same history (interleaved, median of 31) =="
    );
    for (edits, plain_len, plain_t, store_t, chunk_bytes, chunks, file_bytes) in reports {
        println!(
            "{edits} edits: Automerge::load {plain_t:?}, MDO open {store_t:?} → {:.2}× (goal ≤ 1.2×)",
            store_t.as_secs_f64() / plain_t.as_secs_f64()
        );
        println!(
            "  bytes: plaintext save() {plain_len} B; stored chunks {chunk_bytes} B in {chunks} chunks → {:.2}× (goal ≤ 1.2×); database + WAL files {file_bytes} B → {:.2}×",
            chunk_bytes as f64 / plain_len as f64,
            file_bytes as f64 / plain_len as f64
        );
    }
}
