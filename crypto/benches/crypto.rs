//! Benchmarks of the crypto crate, each reported as a ratio to a baseline measured in the same
//! run (these machines are shared and noisy, absolute times drift; ratios hold):
//!
//! * sealing / opening a chunk envelope of 1 KiB and 1 MiB vs raw ChaCha20-Poly1305
//!   encryption / decryption of the same bytes (goal: raw/envelope ≥ 0.8);
//! * wrapping one compartment key to 60 devices (goal ≤ 3.7 ms in total) vs 60 bare X25519
//!   agreements.
//!
//! `cargo bench -p mdo-crypto` runs criterion for the detailed statistics, then an interleaved
//! A/B measurement that prints the ratios (`-- --quick` shortens criterion's part).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use criterion::{BenchmarkId, Criterion, Throughput};
use mdo_crypto::identity::x25519_agree;
use mdo_crypto::{
    CaseId, CompartmentId, DeviceSecret, EpochKey, Keyring, PublicIdentity, Secret, envelope,
    wrap_keys, wrap_to_all,
};

const SIZES: [(&str, usize); 2] = [("1KiB", 1024), ("1MiB", 1 << 20)];

struct Fixture {
    author: DeviceSecret,
    key: EpochKey,
    ring: Keyring,
    raw: ChaCha20Poly1305,
    devices: Vec<PublicIdentity>,
    device_secrets: Vec<Secret<32>>,
}

fn fixture() -> Fixture {
    let author = DeviceSecret::generate().unwrap();
    let key = EpochKey::generate(CaseId([1; 16]), CompartmentId([2; 16])).unwrap();
    let mut ring = Keyring::new(key.case(), key.compartment());
    ring.insert(key.clone()).unwrap();
    let raw = ChaCha20Poly1305::new(&Key::from([7u8; 32]));
    let secrets: Vec<DeviceSecret> = (0..60).map(|_| DeviceSecret::generate().unwrap()).collect();
    let devices = secrets
        .iter()
        .map(|d| d.public_identity().clone())
        .collect();
    let device_secrets = (0..60).map(|i| Secret::new([i as u8 + 1; 32])).collect();
    Fixture {
        author,
        key,
        ring,
        raw,
        devices,
        device_secrets,
    }
}

fn raw_seal(f: &Fixture, payload: &[u8]) -> Vec<u8> {
    f.raw.encrypt(&Nonce::from([1u8; 12]), payload).unwrap()
}

fn raw_open(f: &Fixture, ct: &[u8]) -> Vec<u8> {
    f.raw.decrypt(&Nonce::from([1u8; 12]), ct).unwrap()
}

/// Wraps the key to all 60 devices, using every core (what a rotation does).
fn wrap_60(f: &Fixture) -> usize {
    wrap_to_all(&[&f.key], &f.devices).unwrap().len()
}

/// The same on one thread.
fn wrap_60_serial(f: &Fixture) -> usize {
    f.devices
        .iter()
        .map(|d| wrap_keys(&[&f.key], d).unwrap().to_bytes().len())
        .sum()
}

fn dh_60(f: &Fixture) -> usize {
    f.device_secrets
        .iter()
        .zip(&f.devices)
        .map(|(s, d)| x25519_agree(s, d.x25519_public()).unwrap().expose()[0] as usize)
        .sum()
}

fn criterion_benches(c: &mut Criterion, f: &Fixture) {
    for (name, size) in SIZES {
        let payload = vec![0x5Au8; size];
        let sealed = envelope::seal(&f.author, &f.key, &[], &payload).unwrap();
        let raw_ct = raw_seal(f, &payload);
        let mut g = c.benchmark_group(format!("envelope_{name}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("seal", "raw_chacha20poly1305"), |b| {
            b.iter(|| raw_seal(f, black_box(&payload)))
        });
        g.bench_function(BenchmarkId::new("seal", "mdo_envelope"), |b| {
            b.iter(|| envelope::seal(&f.author, &f.key, &[], black_box(&payload)).unwrap())
        });
        g.bench_function(BenchmarkId::new("open", "raw_chacha20poly1305"), |b| {
            b.iter(|| raw_open(f, black_box(&raw_ct)))
        });
        g.bench_function(BenchmarkId::new("open", "mdo_envelope"), |b| {
            b.iter(|| envelope::open(black_box(&sealed.bytes), &f.ring).unwrap())
        });
        g.finish();
    }
    let mut g = c.benchmark_group("wrap_key_to_60_devices");
    g.bench_function("x25519_dh_x60", |b| b.iter(|| dh_60(f)));
    g.bench_function("hpke_wrap_x60_one_thread", |b| b.iter(|| wrap_60_serial(f)));
    g.bench_function("hpke_wrap_x60_all_cores", |b| b.iter(|| wrap_60(f)));
    g.finish();
}

/// Interleaved A/B timing: alternate batches of `a` and `b` so that both see the same machine
/// load; returns the median per-call time of each.
fn ab(
    rounds: usize,
    batch: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (Duration, Duration) {
    let mut ta = Vec::with_capacity(rounds);
    let mut tb = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..batch {
            a();
        }
        ta.push(t.elapsed() / batch as u32);
        let t = Instant::now();
        for _ in 0..batch {
            b();
        }
        tb.push(t.elapsed() / batch as u32);
    }
    ta.sort();
    tb.sort();
    (ta[rounds / 2], tb[rounds / 2])
}

fn report_ratios(f: &Fixture) {
    println!("\n== ratios, interleaved in this run (median of 41 rounds) ==");
    println!(
        "{:<38} {:>12} {:>12} {:>8}  goal",
        "", "baseline", "mdo", "ratio"
    );
    for (name, size) in SIZES {
        let payload = vec![0x5Au8; size];
        let batch = if size > 4096 { 20 } else { 2000 };
        let (raw, env) = ab(
            41,
            batch,
            || {
                black_box(raw_seal(f, black_box(&payload)));
            },
            || {
                black_box(envelope::seal(&f.author, &f.key, &[], black_box(&payload)).unwrap());
            },
        );
        println!(
            "{:<38} {:>12?} {:>12?} {:>8.2}  raw/mdo ≥ 0.8",
            format!("seal {name} (vs raw encrypt)"),
            raw,
            env,
            raw.as_secs_f64() / env.as_secs_f64()
        );
        let sealed = envelope::seal(&f.author, &f.key, &[], &payload).unwrap();
        let raw_ct = raw_seal(f, &payload);
        let (raw, env) = ab(
            41,
            batch,
            || {
                black_box(raw_open(f, black_box(&raw_ct)));
            },
            || {
                black_box(envelope::open(black_box(&sealed.bytes), &f.ring).unwrap());
            },
        );
        println!(
            "{:<38} {:>12?} {:>12?} {:>8.2}  raw/mdo ≥ 0.8",
            format!("open {name} (vs raw decrypt)"),
            raw,
            env,
            raw.as_secs_f64() / env.as_secs_f64()
        );
    }
    for (label, wrap) in [
        (
            "wrap 1 key to 60 devices, 1 thread",
            wrap_60_serial as fn(&Fixture) -> usize,
        ),
        ("wrap 1 key to 60 devices, all cores", wrap_60),
    ] {
        let (dh, t) = ab(
            41,
            5,
            || {
                black_box(dh_60(f));
            },
            || {
                black_box(wrap(f));
            },
        );
        println!(
            "{:<38} {:>12?} {:>12?} {:>8.2}  mdo/60×DH; total ≤ 3.7 ms: {}",
            label,
            dh,
            t,
            t.as_secs_f64() / dh.as_secs_f64(),
            if t <= Duration::from_micros(3700) {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}

fn main() {
    let f = fixture();
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c, &f);
    c.final_summary();
    report_ratios(&f);
}
