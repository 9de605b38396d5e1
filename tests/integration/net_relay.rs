//! Through a real, self-hosted relay (issue 18): the iroh project's own relay server
//! (`iroh-relay`, the binary of the `iroh-relay` crate with its `server` feature — what
//! `docs/deployment.md` tells an organisation to run) in a network namespace of its own, and two
//! devices in two other namespaces that reach the relay but not each other: no route between
//! them, and the relay's namespace forwards nothing. The chair's `mdo serve` and the mother's
//! device go through invite, join (her device has no relay of its own: the ticket carries the
//! chair's), sync, live push and a withdrawn consent, all through the relay; a packet capture in
//! the relay's namespace shows that nothing it carried holds a word of the case.
//!
//! Needs root and iproute2 (namespaces), the `iroh-relay` binary (`MDO_IROH_RELAY`, else on
//! `PATH`) and `tcpdump`. Without them the test says why and skips; with `MDO_REQUIRE_RELAY=1`
//! (CI sets it when it could install them) a skip is a failure.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Mdo, ip, mdo_in, texts, whoami};

/// Three namespaces: `relay` (10.N.0.1 on its loopback, 10.N.1.1 towards `a`, 10.N.2.1 towards
/// `b`), `a` (10.N.1.2, the mother's home) and `b` (10.N.2.2, the school). `a` and `b` have a
/// route to the relay's address only; the relay's namespace does not forward.
struct Net {
    relay: String,
    a: String,
    b: String,
    net: String,
}

impl Net {
    fn new() -> Result<Net, String> {
        let tag = std::process::id() % 100_000;
        // Made first, so that whatever was created is deleted again if a step fails.
        let net = Net {
            relay: format!("mdor{tag}"),
            a: format!("mdoa{tag}r"),
            b: format!("mdob{tag}r"),
            net: format!("10.{}", 200 + tag % 50),
        };
        ip(&["netns", "add", &net.relay])?;
        ip(&["netns", "add", &net.a])?;
        ip(&["netns", "add", &net.b])?;
        let p = &net.net;
        for (ns, side, i) in [(&net.a, "a", 1), (&net.b, "b", 2)] {
            let (outer, inner) = (format!("vr{side}{tag}"), format!("v{side}{tag}"));
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ])?;
            ip(&["link", "set", &outer, "netns", &net.relay])?;
            ip(&["link", "set", &inner, "netns", ns])?;
            ip(&[
                "-n",
                &net.relay,
                "addr",
                "add",
                &format!("{p}.{i}.1/24"),
                "dev",
                &outer,
            ])?;
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{p}.{i}.2/24"),
                "dev",
                &inner,
            ])?;
            ip(&["-n", &net.relay, "link", "set", &outer, "up"])?;
            ip(&["-n", ns, "link", "set", &inner, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&[
                "-n",
                ns,
                "route",
                "add",
                &format!("{p}.0.1/32"),
                "via",
                &format!("{p}.{i}.1"),
            ])?;
        }
        ip(&["-n", &net.relay, "link", "set", "lo", "up"])?;
        ip(&[
            "-n",
            &net.relay,
            "addr",
            "add",
            &format!("{p}.0.1/32"),
            "dev",
            "lo",
        ])?;
        let off = Command::new("ip")
            .args([
                "netns",
                "exec",
                &net.relay,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=0",
            ])
            .status()
            .map_err(|e| e.to_string())?;
        if !off.success() {
            return Err("cannot turn forwarding off in the relay's namespace".into());
        }
        Ok(net)
    }

    fn relay_url(&self) -> String {
        format!("http://{}.0.1:3340/", self.net)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.relay, &self.a, &self.b] {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// A process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The relay binary, if there is one.
fn relay_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("MDO_IROH_RELAY") {
        return Some(PathBuf::from(p)).filter(|p| p.exists());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("iroh-relay"))
            .find(|p| p.exists())
    })
}

fn skip(test: &str, why: &str) {
    if std::env::var("MDO_REQUIRE_RELAY").as_deref() == Ok("1") {
        panic!("{test}: the relay test is required here (MDO_REQUIRE_RELAY=1): {why}");
    }
    eprintln!("SKIP {test}: {why}");
}

fn json_in(m: &Mdo, ns: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = mdo_in(m, ns, &all).output().unwrap();
    assert!(
        out.status.success(),
        "mdo {args:?} in {ns} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `mdo serve` of `m` in `ns` on `bind`; returns it with the address it printed.
fn serve_in(m: &Mdo, ns: &str, bind: &str) -> (Proc, String) {
    let mut child = mdo_in(m, ns, &["--json", "serve", "--bind", bind])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    (Proc(child), v["addrs"][0].as_str().unwrap().to_string())
}

/// Waits until `f` holds, up to `limit`.
fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

/// Whether something listens on TCP `port` in `ns`.
fn listening(ns: &str, port: u16) -> bool {
    Command::new("ip")
        .args(["netns", "exec", ns, "ss", "-ltnH"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(&format!(":{port} ")))
        .unwrap_or(false)
}

fn start_relay(bin: &Path, net: &Net, dir: &Path) -> Proc {
    let cfg = dir.join("relay.toml");
    std::fs::write(
        &cfg,
        format!(
            "enable_relay = true\nhttp_bind_addr = \"{}.0.1:3340\"\nenable_metrics = false\n",
            net.net
        ),
    )
    .unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", &net.relay])
        .arg(bin)
        .arg("--config-path")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let relay = Proc(child);
    assert!(
        wait_for(Duration::from_secs(20), || listening(&net.relay, 3340)),
        "the relay did not start listening"
    );
    relay
}

#[test]
fn invite_join_sync_live_push_and_withdrawal_go_through_a_self_hosted_relay() {
    let test = "invite_join_sync_live_push_and_withdrawal_go_through_a_self_hosted_relay";
    let Some(bin) = relay_binary() else {
        return skip(
            test,
            "no iroh-relay binary (set MDO_IROH_RELAY or install it: cargo install iroh-relay --features server)",
        );
    };
    if Command::new("tcpdump").arg("--version").output().is_err() {
        return skip(test, "no tcpdump to capture what the relay carries");
    }
    let net = match Net::new() {
        Ok(n) => n,
        Err(why) => {
            return skip(
                test,
                &format!("needs root and iproute2 for namespaces ({why})"),
            );
        }
    };
    let p = net.net.clone();
    // No direct route between the two devices.
    assert!(ip(&["-n", &net.a, "route", "get", &format!("{p}.2.2")]).is_err());
    assert!(ip(&["-n", &net.b, "route", "get", &format!("{p}.1.2")]).is_err());

    let work = tempfile::tempdir().unwrap();
    let capture = work.path().join("relay.pcap");
    let tcpdump = Proc(
        Command::new("ip")
            .args([
                "netns", "exec", &net.relay, "tcpdump", "-i", "any", "-U", "-s", "0", "-w",
            ])
            .arg(&capture)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let relay = start_relay(&bin, &net, work.path());

    // The school: the chair's device uses the relay its organisation runs.
    let chair = Mdo::new();
    chair.init("Monique", "ib-er", "OBS De Wilgen");
    chair.json(&["settings", "set", "relay", &net.relay_url()]);
    let case = chair.json(&[
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
    chair.json(&[
        "item",
        "add",
        &case,
        "--section",
        "kind.plus",
        "--text",
        "tekent graag met krijt",
    ]);
    let (_chair_node, chair_addr) = serve_in(&chair, &net.b, &format!("{p}.2.2:0"));
    assert!(
        chair_addr.contains(&net.relay_url()),
        "the node names its relay: {chair_addr}"
    );
    let ticket = chair.json(&["invite", &case, "--role", "ouder", "--custody"])["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    let t = mdo::net::ticket::Ticket::decode(&ticket).unwrap();
    assert_eq!(
        t.relay.as_ref().map(|u| u.to_string()),
        Some(net.relay_url())
    );

    // The mother at home: no relay of her own; she answers the invitation through the chair's.
    let mother = Mdo::new();
    mother.init("Sanne", "ouder", "");
    let mut join = mdo_in(
        &mother,
        &net.a,
        &[
            "--json",
            "join",
            &ticket,
            "--wait",
            "90",
            "--bind",
            &format!("{p}.1.2:0"),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(join.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let pending: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first}"));
    assert_eq!(pending["status"], "pending", "{pending}");
    let code = pending["code"].as_str().unwrap().to_string();
    chair.json(&["invite", "confirm", &case, &code]);
    let done: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let ok = join.wait().unwrap().success();
    assert!(ok && done["status"] == "joined", "{done}");
    assert!(texts(&mother, &case).contains(&"tekent graag met krijt".to_string()));
    // Her device now uses the relay of the invitation.
    let settings = mother.json(&["settings"]);
    assert_eq!(settings["relay"], net.relay_url().as_str(), "{settings}");

    // Sync without an address: the remembered chair, through the relay.
    chair.json(&[
        "item",
        "add",
        &case,
        "--section",
        "vragen",
        "--text",
        "hoe slaapt ze thuis?",
    ]);
    let s = json_in(&mother, &net.a, &["sync"]);
    assert_eq!(s["peers"], 1, "{s}");
    assert!(texts(&mother, &case).contains(&"hoe slaapt ze thuis?".to_string()));

    // Live: her node keeps a link with the chair's through the relay; a new item arrives
    // without anyone syncing.
    let (_mother_node, mother_addr) = serve_in(&mother, &net.a, &format!("{p}.1.2:0"));
    assert!(mother_addr.contains(&net.relay_url()), "{mother_addr}");
    chair.json(&[
        "item",
        "add",
        &case,
        "--section",
        "school.min",
        "--text",
        "moe na de gymles",
    ]);
    assert!(
        wait_for(Duration::from_secs(60), || texts(&mother, &case)
            .contains(&"moe na de gymles".to_string())),
        "the live push did not arrive through the relay"
    );

    // Her consent, given and withdrawn on her own device, reaches the chair through the relay.
    let (mother_id, _) = whoami(&mother);
    let consent = mother.at_table(&case, "", "GGD JGZ")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let state = || {
        chair
            .json(&["consent", "list", &case])
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["record"]["id"] == consent.as_str())
            .map(|r| r["status"]["state"].as_str().unwrap_or("").to_string())
    };
    assert!(
        wait_for(Duration::from_secs(60), || state().is_some()),
        "the consent did not reach the chair"
    );
    mother.json(&["consent", "withdraw", &case, &consent]);
    assert!(
        wait_for(Duration::from_secs(60), || state().as_deref()
            == Some("withdrawn")),
        "the withdrawal did not reach the chair: {:?}",
        state()
    );
    assert!(!mother_id.is_empty());

    // The relay carried the traffic, and nothing it carried is readable.
    drop(relay);
    std::thread::sleep(Duration::from_millis(500));
    drop(tcpdump);
    let bytes = std::fs::read(&capture).unwrap();
    assert!(
        bytes.len() > 20_000,
        "the relay carried {} bytes",
        bytes.len()
    );
    for word in [
        "Noor",
        "Sanne",
        "Monique",
        "tekent graag",
        "hoe slaapt",
        "gymles",
        "GGD JGZ",
        "De Wilgen",
    ] {
        assert!(
            !bytes.windows(word.len()).any(|w| w == word.as_bytes()),
            "the relay saw '{word}'"
        );
    }
}
