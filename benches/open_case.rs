//! Opening a case with a long history from the store (decrypt + load), as a ratio to
//! `Automerge::load` of the same history in plaintext, measured in the same run; and the bytes on
//! disk against the plaintext `save()` size. Goals (issue 3): open ≤ 1.2×, bytes ≤ 1.2×.
//!
//! `cargo bench --bench open_case` (add `-- --quick` for a short criterion run). The history:
//! 10,000 edits (alternating new items and 2-character appends to item text), one Automerge
//! change per edit, committed to the store in batches of 100 as a user's actions would be.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::Criterion;

mod support;
use support::{fixture, median_ab};

const EDITS: usize = 10_000;

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
