//! Sync over real iroh endpoints on loopback (relays and discovery off), as ratios to baselines
//! measured in the same run (issue 5):
//!
//! 1. **First sync of a case with 10,000 edits to a new device**: the new device (a teacher just
//!    added to the case) connects to the chair's running node and syncs until it holds the case
//!    durably — membership ops, its keys, the ciphertext. Baseline: the in-process plaintext
//!    Automerge sync protocol (`automerge::sync`) of the same history from a loaded document to an
//!    empty one. Goal ≤ 1.5×. Also shown: the sync plus the first opening of the case (decrypt +
//!    load), which the device does when it shows the case.
//! 2. **Latency of one edit reaching 5 connected peers**: six nodes in one process, five connected
//!    to the chair's; the chair commits a new item to its store; the time until every peer has
//!    stored the chunk (each peer's node reports the session that brought it). Median over the
//!    edits. Goal < 50 ms.
//!
//! `cargo bench --bench sync` (add `-- --quick` for a shorter run).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mdo::core::doc::ParticipantData;
use mdo::core::model::{Audience, Role, Section};
use mdo::net::{self, NetConfig, Wake};
use mdo::store::Profile;
use tokio::sync::Mutex;

mod support;
use support::{fixture, median_ab, profile};

const EDITS: usize = 10_000;
const PEERS: usize = 5;

/// Adds `who`'s device to the case as a teacher of the school (reads every shared compartment).
fn add_teacher(chair: &mut Profile, case: mdo::crypto::CaseId, who: &Profile, name: &str) {
    let (mut c, _) = chair.load_case(case).unwrap();
    c.add_participant(
        chair.device(),
        ParticipantData {
            id: who.me().person.clone(),
            name: name.into(),
            role: Role::Leerkracht.id().into(),
            organisation: "OBS".into(),
            custody: false,
            chair: false,
            devices: Vec::new(),
        },
        Some(who.device().public_identity().clone()),
    )
    .unwrap();
    chair.commit(&mut c).unwrap();
}

async fn endpoint(p: &Mutex<Profile>) -> iroh::Endpoint {
    let p = p.lock().await;
    net::endpoint(
        p.device(),
        "127.0.0.1:0".parse().unwrap(),
        &NetConfig::default(),
    )
    .await
    .unwrap()
}

fn addr(ep: &iroh::Endpoint) -> iroh::EndpointAddr {
    net::parse_peer(&net::address_of(ep)[0]).unwrap()
}

fn automerge_sync(plain: &[u8]) -> automerge::AutoCommit {
    use automerge::sync::{State, SyncDoc};
    let mut a = automerge::AutoCommit::load(plain).unwrap();
    let mut b = automerge::AutoCommit::new();
    let (mut sa, mut sb) = (State::new(), State::new());
    loop {
        let mut moved = false;
        if let Some(m) = a.sync().generate_sync_message(&mut sa) {
            let m = automerge::sync::Message::decode(&m.encode()).unwrap();
            b.sync().receive_sync_message(&mut sb, m).unwrap();
            moved = true;
        }
        if let Some(m) = b.sync().generate_sync_message(&mut sb) {
            let m = automerge::sync::Message::decode(&m.encode()).unwrap();
            a.sync().receive_sync_message(&mut sa, m).unwrap();
            moved = true;
        }
        if !moved {
            return b;
        }
    }
}

fn first_sync(rt: &tokio::runtime::Runtime, rounds: usize) -> String {
    let f = fixture(EDITS);
    let case = f.case;
    let plain = f.plain.clone();
    let mut chair = f.profile;
    let (_bdir, newcomer) = profile("Ilse", Role::Leerkracht, "OBS");
    add_teacher(&mut chair, case, &newcomer, "Ilse");
    let chair = Arc::new(Mutex::new(chair));
    let newcomer = Arc::new(Mutex::new(newcomer));
    let (ep_chair, ep_new) =
        rt.block_on(async { (endpoint(&chair).await, endpoint(&newcomer).await) });
    let at = addr(&ep_chair);
    rt.spawn(net::serve(
        ep_chair.clone(),
        NetConfig::default(),
        chair.clone(),
        Wake::default(),
        mdo::profile::keys::key_work,
        |_, _| {},
    ));
    // Sanity: the newcomer really gets and opens the whole history.
    let sync_once = |open: bool| {
        rt.block_on(async {
            newcomer.lock().await.forget_case(case).unwrap();
            let s = net::sync_with(&ep_new, &newcomer, at.clone(), Some(vec![case]))
                .await
                .unwrap();
            assert!(s.chunks_received > 0 && s.ops_received > 0, "{s:?}");
            if open {
                let mut p = newcomer.lock().await;
                black_box(p.load_case(case).unwrap());
            }
        })
    };
    sync_once(false);
    {
        let mut p = rt.block_on(newcomer.lock());
        let (c, _) = p.load_case(case).unwrap();
        assert!(c.items().len() >= EDITS / 2, "{} items", c.items().len());
    }
    let bytes: usize = rt
        .block_on(newcomer.lock())
        .chunks_of(case)
        .unwrap()
        .iter()
        .map(|(_, _, b)| b.len())
        .sum();
    let (base, mdo) = median_ab(
        rounds,
        || {
            black_box(automerge_sync(&plain));
        },
        || sync_once(false),
    );
    let (base2, mdo_open) = median_ab(
        rounds,
        || {
            black_box(automerge_sync(&plain));
        },
        || sync_once(true),
    );
    rt.block_on(async {
        ep_new.close().await;
        ep_chair.close().await;
    });
    format!(
        "first sync of {EDITS} edits to a new device over loopback iroh: {mdo:?} vs in-process plaintext Automerge sync {base:?} → {:.2}× (goal ≤ 1.5×); {bytes} B of ciphertext moved\n  sync + first opening of the case: {mdo_open:?} vs {base2:?} → {:.2}×",
        mdo.as_secs_f64() / base.as_secs_f64(),
        mdo_open.as_secs_f64() / base2.as_secs_f64()
    )
}

fn latency(rt: &tokio::runtime::Runtime, edits: usize) -> String {
    let (_cdir, mut chair) = profile("Monique", Role::IbEr, "OBS");
    let me = chair.me().clone();
    let mut case = mdo::core::case::Case::create(
        &me,
        chair.device(),
        "Noor",
        "2017-03-14",
        "OBS",
        "6",
        chair.today(),
        0,
    )
    .unwrap();
    chair.commit(&mut case).unwrap();
    let id = case.id;
    let mut peers = Vec::new();
    for i in 0..PEERS {
        let (dir, p) = profile(&format!("Peer {i}"), Role::Leerkracht, "OBS");
        add_teacher(&mut chair, id, &p, &format!("Peer {i}"));
        peers.push((dir, Arc::new(Mutex::new(p))));
    }
    let (mut case, _) = chair.load_case(id).unwrap();
    let chair = Arc::new(Mutex::new(chair));
    let wake = Wake::default();
    let ep_chair = rt.block_on(endpoint(&chair));
    let at = addr(&ep_chair);
    rt.spawn(net::serve(
        ep_chair.clone(),
        NetConfig::default(),
        chair.clone(),
        wake.clone(),
        mdo::profile::keys::key_work,
        |_, _| {},
    ));
    // Each peer fetches the case once, remembers the chair, and runs its node, which dials the
    // chair and keeps the connection open for live updates.
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Instant)>();
    let mut eps = Vec::new();
    for (i, (_, p)) in peers.iter().enumerate() {
        let ep = rt.block_on(async {
            let ep = endpoint(p).await;
            net::sync_with(&ep, p, at.clone(), Some(vec![id]))
                .await
                .unwrap();
            p.lock().await.remember_peer(&at).unwrap();
            ep
        });
        let tx = tx.clone();
        rt.spawn(net::serve(
            ep.clone(),
            NetConfig::default(),
            p.clone(),
            Wake::default(),
            mdo::profile::keys::key_work,
            move |_, r| {
                if let Ok(s) = r
                    && s.chunks_received > 0
                {
                    let _ = tx.send((i, Instant::now()));
                }
            },
        ));
        eps.push(ep);
    }
    // Wait until all peers are connected (the chair's first edit reaches all of them).
    let mut all = Vec::new();
    let mut per_peer = Vec::new();
    for n in 0..edits + 3 {
        while rx.try_recv().is_ok() {}
        let start = Instant::now();
        {
            let mut p = rt.block_on(chair.lock());
            case.add_item(
                &me,
                Section::Vragen,
                &format!("vraag {n}"),
                Audience::Parents,
                None,
                n as i64,
            )
            .unwrap();
            p.commit(&mut case).unwrap();
        }
        let committed = start.elapsed();
        wake.changed();
        let mut got = [None; PEERS];
        let deadline = Instant::now() + Duration::from_secs(10);
        while got.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((i, t)) => {
                    if got[i].is_none() {
                        got[i] = Some(t - start);
                    }
                }
                Err(_) => panic!("edit {n} did not reach every peer: {got:?}"),
            }
        }
        if n >= 3 {
            // The first edits also carry the connections' warm-up.
            let times: Vec<Duration> = got.iter().map(|t| t.unwrap()).collect();
            if std::env::var("MDO_BENCH_TRACE").is_ok() {
                eprintln!("edit {n}: commit {committed:?}, peers {times:?}");
            }
            all.push(*times.iter().max().unwrap());
            per_peer.extend(times);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    all.sort();
    per_peer.sort();
    rt.block_on(async {
        for ep in eps {
            ep.close().await;
        }
        ep_chair.close().await;
    });
    format!(
        "one edit reaching {PEERS} connected peers over loopback iroh (commit included), {edits} edits: median until all {PEERS} have it {:?} (goal < 50 ms), p90 {:?}; median per peer {:?}",
        all[all.len() / 2],
        all[all.len() * 9 / 10],
        per_peer[per_peer.len() / 2]
    )
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let first = first_sync(&rt, if quick { 7 } else { 21 });
    let lat = latency(&rt, if quick { 30 } else { 100 });
    println!("\n== sync over iroh on loopback (interleaved with the baseline, medians) ==");
    println!("{first}");
    println!("{lat}");
}
