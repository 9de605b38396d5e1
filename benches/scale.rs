//! A storage peer at the scale of a samenwerkingsverband (issue 18): `N` cases among `D` devices
//! (default 500), each case with a chair, four other participants' devices and the storage peer;
//! the storage peer a real `mdo serve` process (its own store on disk), the devices real stores
//! syncing with it over real iroh endpoints on loopback. Measured per size:
//!
//! - **disk** of the storage peer's store per case;
//! - **memory** of the serving process (peak and current resident set);
//! - **idle re-sync**: every device syncs all its cases once more with nothing changed — the
//!   serving process's CPU per session, per case; baseline in the same run: a session of a
//!   device that shares no case with it (connect, hello, nothing else), so the difference is what
//!   the cases cost;
//! - the same **per case in the node's first round** after it started, when it derives each
//!   case's rights from the log once (what every session cost per case before the node kept
//!   them, and — before the index of devices per case — for every case it held);
//! - **a day**: 5 % of the cases get three edits each by their chair, then every device syncs
//!   twice — CPU of the serving process and of all devices together.
//!
//! The setup (making the cases, giving every device its copy) goes through the stores directly,
//! not the network: it is not what is measured.
//!
//! `cargo bench --bench scale --no-default-features -- --cases 100,1000,10000 [--devices 500]`
//! (default sizes 100 and 1,000; each size builds its own world in a temporary directory).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mdo::core::case::Case;
use mdo::core::doc::ParticipantData;
use mdo::core::membership::Action;
use mdo::core::model::{Audience, Role, Section};
use mdo::core::sync::Replica;
use mdo::crypto::{CaseId, KdfParams};
use mdo::net::{self, NetConfig};
use mdo::store::Profile;
use mdo::store::replica::StoreReplica;
use tokio::sync::Mutex;

/// Other participants' devices per case (besides the chair's).
const OTHERS: usize = 4;
/// Share of the cases edited on "a day", in percent, and edits per such case.
const DAY_PERCENT: usize = 5;
const DAY_EDITS: usize = 3;

struct Args {
    sizes: Vec<usize>,
    devices: usize,
}

fn args() -> Args {
    let mut a = Args {
        sizes: vec![100, 1000],
        devices: 500,
    };
    let v: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < v.len() {
        match v[i].as_str() {
            "--cases" if i + 1 < v.len() => {
                a.sizes = v[i + 1]
                    .split(',')
                    .map(|s| s.trim().parse().expect("--cases 100,1000"))
                    .collect();
                i += 1;
            }
            "--devices" if i + 1 < v.len() => {
                a.devices = v[i + 1].parse().expect("--devices 500");
                i += 1;
            }
            _ => {} // cargo's own flags (--bench)
        }
        i += 1;
    }
    a
}

fn profile(dir: &Path, name: &str, role: Role, org: &str) -> Profile {
    Profile::init(dir, "pw", name, role, org, KdfParams::INSECURE_FAST).unwrap()
}

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// (peak, current) resident set of process `pid`, in MB.
fn memory_of(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
}

fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                size_of(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}

/// Gives `to` everything `from` holds of `case` that `to` keeps (its store decides, as in a
/// session), without the network.
fn copy_case(from: &Profile, to: &mut Profile, case: CaseId) {
    let ops = from.ops_of(case).unwrap();
    let chunks = from.chunks_of(case).unwrap();
    let mut r = StoreReplica::new(to);
    for op in ops {
        let _ = r.store_op(case, &op);
    }
    for (_, _, bytes) in chunks {
        let _ = r.store_chunk(case, &bytes);
    }
}

struct World {
    _dir: tempfile::TempDir,
    devices: Vec<Profile>,
    storage_dir: std::path::PathBuf,
    /// (case, its chair's index).
    cases: Vec<(CaseId, usize)>,
    /// Cases per device.
    held: Vec<usize>,
}

fn build(n: usize, d: usize) -> World {
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let mut devices: Vec<Profile> = (0..d)
        .map(|i| {
            let p = dir.path().join(format!("d{i}"));
            std::fs::create_dir_all(&p).unwrap();
            profile(&p, &format!("Apparaat {i}"), Role::IbEr, "OBS")
        })
        .collect();
    let storage_dir = dir.path().join("storage");
    std::fs::create_dir_all(&storage_dir).unwrap();
    let mut storage = profile(&storage_dir, "Opslag SWV", Role::Directeur, "SWV");
    let mut s = storage.settings().unwrap();
    s.storage = true;
    storage.set_settings(&s).unwrap();
    let storage_identity = storage.device().public_identity().clone();
    let mut cases = Vec::with_capacity(n);
    let mut held = vec![0usize; d];
    for i in 0..n {
        let chair = i % d;
        // Four other devices, spread over all of them, none the chair.
        let mut others = Vec::new();
        let mut k = 1;
        while others.len() < OTHERS {
            let o = (i * 7 + k * 97) % d;
            if o != chair && !others.contains(&o) {
                others.push(o);
            }
            k += 1;
        }
        let me = devices[chair].me().clone();
        let mut case = Case::create(
            &me,
            devices[chair].device(),
            &format!("Kind {i}"),
            "2017-03-14",
            "OBS",
            "6",
            devices[chair].today(),
            0,
        )
        .unwrap();
        for (j, o) in others.iter().enumerate() {
            let (role, custody, org) = match j {
                0 => ("ouder", true, ""),
                1 => ("ouder", true, ""),
                2 => ("leerkracht", false, "OBS"),
                _ => ("ib-er", false, "OBS"),
            };
            let who = devices[*o].me().clone();
            case.add_participant(
                devices[chair].device(),
                ParticipantData {
                    id: who.person.clone(),
                    name: who.name.clone(),
                    role: role.into(),
                    organisation: org.into(),
                    custody,
                    chair: false,
                    devices: Vec::new(),
                },
                Some(devices[*o].device().public_identity().clone()),
            )
            .unwrap();
        }
        case.membership(
            devices[chair].device(),
            Action::AddStoragePeer {
                device: storage_identity.clone(),
                organisation: "SWV".into(),
            },
        )
        .unwrap();
        for e in 0..3 {
            case.add_item(
                &me,
                Section::Vragen,
                &format!("vraag {e} over kind {i}"),
                Audience::Parents,
                None,
                e,
            )
            .unwrap();
        }
        devices[chair].commit(&mut case).unwrap();
        let id = case.id;
        copy_case(&devices[chair], &mut storage, id);
        for o in &others {
            let (from, to) = two(&mut devices, chair, *o);
            copy_case(from, to, id);
            held[*o] += 1;
        }
        held[chair] += 1;
        cases.push((id, chair));
        if (i + 1) % 1000 == 0 {
            eprintln!(
                "  {} cases made ({:.0} s)",
                i + 1,
                t.elapsed().as_secs_f64()
            );
        }
    }
    drop(storage);
    eprintln!(
        "  world of {n} cases and {d} devices made in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    World {
        _dir: dir,
        devices,
        storage_dir,
        cases,
        held,
    }
}

/// `&v[a]` and `&mut v[b]`, a ≠ b.
fn two<T>(v: &mut [T], a: usize, b: usize) -> (&T, &mut T) {
    assert_ne!(a, b);
    if a < b {
        let (l, r) = v.split_at_mut(b);
        (&l[a], &mut r[0])
    } else {
        let (l, r) = v.split_at_mut(a);
        (&r[0], &mut l[b])
    }
}

/// The storage peer's `mdo serve` on loopback, with the address it printed.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mdo"))
        .args(["--json", "serve", "--bind", "127.0.0.1:0"])
        .env("MDO_HOME", dir)
        .env("MDO_PASSPHRASE", "pw")
        .env("MDO_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    Server {
        child,
        addr: v["addrs"][0].as_str().unwrap().to_string(),
    }
}

/// Every device in `which` syncs all its cases with the server once, one after the other, each
/// on an endpoint of its own (as `mdo sync` does). Returns (sessions, ops + chunks moved, wall
/// seconds, this process's CPU seconds).
fn sync_all(
    rt: &tokio::runtime::Runtime,
    devices: &mut Vec<Profile>,
    which: &[usize],
    server: &Server,
) -> (usize, usize, f64, f64) {
    let peer = net::parse_peer(&server.addr).unwrap();
    let cpu0 = cpu_of("self");
    let t = Instant::now();
    let mut moved = 0;
    let mut taken: Vec<Option<Profile>> = devices.drain(..).map(Some).collect();
    for &i in which {
        let p = Arc::new(Mutex::new(taken[i].take().unwrap()));
        let stats = rt.block_on(async {
            let ep = {
                let g = p.lock().await;
                net::endpoint(
                    g.device(),
                    "127.0.0.1:0".parse().unwrap(),
                    &NetConfig::default(),
                )
                .await
                .unwrap()
            };
            let s = net::sync_with(&ep, &p, peer.clone(), None).await.unwrap();
            ep.close().await;
            s
        });
        moved += stats.ops_sent + stats.ops_received + stats.chunks_sent + stats.chunks_received;
        taken[i] = Some(Arc::try_unwrap(p).ok().unwrap().into_inner());
    }
    devices.extend(taken.into_iter().map(|p| p.unwrap()));
    (
        which.len(),
        moved,
        t.elapsed().as_secs_f64(),
        cpu_of("self") - cpu0,
    )
}

struct Row {
    cases: usize,
    devices: usize,
    cases_per_device: f64,
    disk_per_case_kb: f64,
    peak_mb: f64,
    rss_mb: f64,
    empty_ms: f64,
    idle_ms: f64,
    idle_per_case_ms: f64,
    idle_all_s: f64,
    cold_per_case_ms: f64,
    day_server_s: f64,
    day_devices_s: f64,
    day_moved: usize,
}

fn measure(n: usize, d: usize) -> Row {
    eprintln!("== {n} cases, {d} devices");
    let mut w = build(n, d);
    let disk = size_of(&w.storage_dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = serve(&w.storage_dir);
    let pid = server.child.id().to_string();
    let all: Vec<usize> = (0..d).collect();
    // The first round after the node started: nothing moves (every copy was made in the setup),
    // and the node derives each case's rights from its log once (decrypting and checking every
    // op) — what every session cost per case before the node kept them.
    let c0 = cpu_of(&pid);
    let (sessions0, first_moved, ..) = sync_all(&rt, &mut w.devices, &all, &server);
    let cold_all_s = cpu_of(&pid) - c0;
    eprintln!("  first round moved {first_moved} ops and chunks");

    // Baseline in the same run: a device that shares no case with the storage peer.
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = profile(stranger_dir.path(), "Vreemde", Role::IbEr, "X");
    let mut strangers = vec![stranger];
    let rounds = 100;
    let c0 = cpu_of(&pid);
    for _ in 0..rounds {
        sync_all(&rt, &mut strangers, &[0], &server);
    }
    let empty_ms = (cpu_of(&pid) - c0) * 1000.0 / rounds as f64;

    // Idle re-sync: every device, nothing changed.
    let c0 = cpu_of(&pid);
    let (sessions, moved, _, _) = sync_all(&rt, &mut w.devices, &all, &server);
    let idle_all_s = cpu_of(&pid) - c0;
    assert_eq!(moved, 0, "an idle re-sync moves nothing");
    let idle_ms = idle_all_s * 1000.0 / sessions as f64;
    let cases_per_device = w.held.iter().sum::<usize>() as f64 / d as f64;
    let idle_per_case_ms = (idle_ms - empty_ms).max(0.0) / cases_per_device;
    let cold_ms = cold_all_s * 1000.0 / sessions0 as f64;
    let cold_per_case_ms = (cold_ms - empty_ms).max(0.0) / cases_per_device;

    // A day: 5 % of the cases get three edits by their chair; every device syncs twice.
    let edited = (n * DAY_PERCENT / 100).max(1);
    for (k, (case, chair)) in w.cases.iter().take(edited).enumerate() {
        let p = &mut w.devices[*chair];
        let me = p.me().clone();
        let (mut c, _) = p.load_case(*case).unwrap();
        for e in 0..DAY_EDITS {
            c.add_item(
                &me,
                Section::Vragen,
                &format!("nieuw {k}.{e}"),
                Audience::Parents,
                None,
                100 + e as i64,
            )
            .unwrap();
        }
        p.commit(&mut c).unwrap();
    }
    let c0 = cpu_of(&pid);
    let (_, m1, _, dev1) = sync_all(&rt, &mut w.devices, &all, &server);
    let (_, m2, _, dev2) = sync_all(&rt, &mut w.devices, &all, &server);
    let day_server_s = cpu_of(&pid) - c0;
    let (peak_mb, rss_mb) = memory_of(server.child.id());
    drop(server);
    Row {
        cases: n,
        devices: d,
        cases_per_device,
        disk_per_case_kb: disk as f64 / n as f64 / 1024.0,
        peak_mb,
        rss_mb,
        empty_ms,
        idle_ms,
        idle_per_case_ms,
        idle_all_s,
        cold_per_case_ms,
        day_server_s,
        day_devices_s: dev1 + dev2,
        day_moved: m1 + m2,
    }
}

fn main() {
    let a = args();
    let mut rows = Vec::new();
    for &n in &a.sizes {
        let r = measure(n, a.devices);
        eprintln!(
            "  disk {:.1} KB/case, peak {:.0} MB, idle {:.2} ms/session ({:.3} ms/case), day {:.1} s server + {:.1} s devices",
            r.disk_per_case_kb,
            r.peak_mb,
            r.idle_ms,
            r.idle_per_case_ms,
            r.day_server_s,
            r.day_devices_s
        );
        rows.push(r);
        // Let the sockets of the last round go before the next world.
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "\n| cases | devices | cases per device | disk per case | serving process: peak / now | empty session (baseline) | idle re-sync per session | per case | per case, rights not kept yet | idle re-sync, all devices | a day: serving process | a day: all devices | moved on the day |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {:.1} | {:.1} KB | {:.0} / {:.0} MB | {:.2} ms | {:.2} ms ({:.1} ×) | {:.3} ms | {:.3} ms | {:.1} s | {:.1} s | {:.1} s | {} |",
            r.cases,
            r.devices,
            r.cases_per_device,
            r.disk_per_case_kb,
            r.peak_mb,
            r.rss_mb,
            r.empty_ms,
            r.idle_ms,
            r.idle_ms / r.empty_ms.max(0.001),
            r.idle_per_case_ms,
            r.cold_per_case_ms,
            r.idle_all_s,
            r.day_server_s,
            r.day_devices_s,
            r.day_moved
        );
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last())
        && rows.len() > 1
    {
        println!(
            "\nfrom {} to {} cases ({:.0} ×): idle re-sync per case {:.2} ×, per session {:.2} ×, disk per case {:.2} ×, peak memory {:.2} ×, a day's CPU of the serving process {:.2} ×",
            first.cases,
            last.cases,
            last.cases as f64 / first.cases as f64,
            last.idle_per_case_ms / first.idle_per_case_ms.max(1e-9),
            last.idle_ms / first.idle_ms.max(1e-9),
            last.disk_per_case_kb / first.disk_per_case_kb.max(1e-9),
            last.peak_mb / first.peak_mb.max(1e-9),
            last.day_server_s / first.day_server_s.max(1e-9),
        );
    }
}
