//! Issue 13, the node: real `mdo serve` processes on loopback attacked by a real `mdo` (a
//! stranger with its own profile and case) and by anonymous iroh endpoints made here — a case
//! cannot be planted, anonymous connections cost bounded memory and are limited in number, and
//! a silent peer stalls no live push.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use mdo::crypto::DeviceSecret;
use mdo::net::{self, ALPN, NetConfig};
use serde_json::Value;

use crate::support::{Mdo, Noor, noor_profiles, texts, whoami};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(m: &Mdo) -> (Server, String) {
    let mut child = m
        .cmd()
        .args(["--json", "serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    (Server(child), v["addrs"][0].as_str().unwrap().to_string())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An endpoint with a fresh key: anyone who can reach the node.
async fn anonymous() -> iroh::Endpoint {
    net::endpoint(
        &DeviceSecret::generate().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        &NetConfig::default(),
    )
    .await
    .unwrap()
}

fn case_ids(m: &Mdo) -> Vec<String> {
    m.json(&["case", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn net_a_planted_case_is_not_kept_and_its_sender_is_no_sync_partner() {
    // The victim serves its own case.
    let victim = Mdo::new();
    victim.init("Monique", "ib-er", "OBS De Wilgen");
    let own = victim.json(&[
        "case",
        "new",
        "--child",
        "Noor",
        "--birthdate",
        "2017-03-14",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_node, addr) = serve(&victim);
    // A stranger (unmodified mdo, its own profile) makes a case that names the victim's device
    // as a participant — the victim's identity is public — and pushes it to the victim's node.
    let stranger = Mdo::new();
    stranger.init("Kees", "ib-er", "OBS De Wilgen");
    let (_, victim_identity) = whoami(&victim);
    let planted = stranger.json(&[
        "case",
        "new",
        "--child",
        "Piet",
        "--birthdate",
        "2016-01-01",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    stranger.json(&[
        "participant",
        "add",
        &planted,
        "--name",
        "Monique",
        "--role",
        "ib-er",
        "--org",
        "OBS De Wilgen",
        "--identity",
        &victim_identity,
    ]);
    stranger.json(&[
        "item",
        "add",
        &planted,
        "--section",
        "vragen",
        "--text",
        "geplant",
    ]);
    let s = stranger.json(&["sync", &planted, "--peer", &addr]);
    assert_eq!(s["ops_sent"], 0, "{s}");
    assert_eq!(s["chunks_sent"], 0, "{s}");
    // Nothing of it is kept or listed; the stranger is no device of any case the victim holds
    // and not remembered.
    assert_eq!(case_ids(&victim), vec![own.clone()]);
    assert!(
        victim
            .fails(&["case", "show", &planted])
            .contains("no case")
    );
    let (_, stranger_device) = {
        let w = stranger.json(&["whoami"]);
        ((), w["device"].as_str().unwrap().to_string())
    };
    {
        let p = mdo::store::Profile::open(victim.dir(), crate::support::PASS).unwrap();
        for c in p.case_ids().unwrap() {
            assert!(
                !p.case_devices(c)
                    .unwrap()
                    .iter()
                    .any(|d| d.to_hex() == stranger_device),
                "the stranger became a sync partner through case {c}"
            );
        }
        assert!(p.known_peers().unwrap().is_empty());
    }
    // The victim's user can still ask for it: then (and only then) the node takes it.
    victim.json(&["settings", "set", "accept-case", &planted]);
    let s = stranger.json(&["sync", &planted, "--peer", &addr]);
    assert!(s["ops_sent"].as_u64().unwrap() > 0, "{s}");
    assert!(case_ids(&victim).contains(&planted));
}

/// Resident memory of a process (Linux), in KiB.
#[cfg(target_os = "linux")]
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn net_anonymous_connections_sending_large_frames_cost_bounded_memory() {
    const N: usize = 16;
    const SENT: usize = 8 << 20;
    let victim = Mdo::new();
    victim.init("Monique", "ib-er", "OBS De Wilgen");
    let (node, addr) = serve(&victim);
    let pid = node.0.id();
    let rt = runtime();
    // Warm the node up with one harmless connection, so its runtime and endpoint are counted in
    // the baseline.
    rt.block_on(async {
        let ep = anonymous().await;
        let _ = ep.connect(net::parse_peer(&addr).unwrap(), ALPN).await;
        ep.close().await;
    });
    std::thread::sleep(Duration::from_millis(500));
    let before = rss_kib(pid);
    // N strangers each announce the largest frame and send 8 MiB of it, then hold on.
    let held = rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..N {
            let addr = addr.clone();
            tasks.push(tokio::spawn(async move {
                let ep = anonymous().await;
                let Ok(conn) = ep.connect(net::parse_peer(&addr).unwrap(), ALPN).await else {
                    return (ep, None);
                };
                let Ok((mut send, recv)) = conn.open_bi().await else {
                    return (ep, None);
                };
                let header = (mdo::core::sync::MAX_FRAME as u32).to_le_bytes();
                let body = vec![0x55u8; SENT];
                let _ = tokio::time::timeout(Duration::from_secs(30), async {
                    send.write_all(&header).await?;
                    send.write_all(&body).await
                })
                .await;
                (ep, Some((conn, send, recv)))
            }));
        }
        let mut held = Vec::new();
        for t in tasks {
            held.push(t.await.unwrap());
        }
        held
    });
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib(pid);
    let grown = after.saturating_sub(before);
    eprintln!(
        "node RSS: {before} KiB before, {after} KiB with {N} strangers that sent {} MiB each: +{grown} KiB",
        SENT >> 20
    );
    rt.block_on(async move { drop(held) });
    assert!(
        grown < 40 << 10,
        "{N} anonymous connections grew the node by {grown} KiB"
    );
}

#[test]
fn net_unknown_peers_beyond_the_limit_are_refused() {
    let victim = Mdo::new();
    victim.init("Monique", "ib-er", "OBS De Wilgen");
    let (_node, addr) = serve(&victim);
    let rt = runtime();
    let n = net::MAX_STRANGERS + 4;
    let (connected, refused) = rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..n {
            let addr = addr.clone();
            tasks.push(tokio::spawn(async move {
                let ep = anonymous().await;
                let c = ep.connect(net::parse_peer(&addr).unwrap(), ALPN).await;
                (ep, c.ok())
            }));
        }
        let mut held = Vec::new();
        for t in tasks {
            held.push(t.await.unwrap());
        }
        let connected = held.iter().filter(|(_, c)| c.is_some()).count();
        (connected, n - connected)
    });
    assert!(
        connected <= net::MAX_STRANGERS && refused > 0,
        "{connected} idle strangers connected, {refused} refused"
    );
}

#[test]
fn net_a_live_push_reaches_a_peer_while_silent_peers_are_connected() {
    let Noor {
        chair,
        mother,
        arts,
        case,
        ..
    } = noor_profiles();
    let (_chair_node, addr) = serve(&chair);
    arts.json(&["sync", &case, "--peer", &addr]);
    // The jeugdarts' node dials the chair's (a remembered peer) and stays connected.
    let (_arts_node, _) = serve(&arts);
    let rt = runtime();
    // Two silent peers on the chair's node: a stranger, and the mother's own device (a member)
    // that never answers a session.
    let mother_device = DeviceSecret::from_seed(
        mdo::store::Profile::open(mother.dir(), crate::support::PASS)
            .unwrap()
            .device()
            .seed()
            .clone(),
    );
    let silent = rt.block_on(async {
        let mut held = Vec::new();
        for dev in [DeviceSecret::generate().unwrap(), mother_device] {
            let ep = net::endpoint(&dev, "127.0.0.1:0".parse().unwrap(), &NetConfig::default())
                .await
                .unwrap();
            let conn = ep
                .connect(net::parse_peer(&addr).unwrap(), ALPN)
                .await
                .unwrap();
            held.push((ep, conn));
        }
        held
    });
    std::thread::sleep(Duration::from_millis(500));
    // Two changes one after the other: each reaches the jeugdarts' node live.
    for text in ["eerste live wijziging", "tweede live wijziging"] {
        chair.json(&[
            "item",
            "add",
            &case,
            "--section",
            "kind.plus",
            "--text",
            text,
        ]);
        let deadline = std::time::Instant::now() + Duration::from_secs(25);
        while !texts(&arts, &case).contains(&text.to_string()) {
            assert!(
                std::time::Instant::now() < deadline,
                "'{text}' never reached the connected jeugdarts"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    rt.block_on(async move { drop(silent) });
}
