//! Faults on a real link: two network namespaces joined by a veth pair, the chair's `mdo serve`
//! in one and the mother's `mdo sync` in the other, the link shaped to 2 Mbit/s so that a case
//! of ~1 MB takes seconds to cross. The tests take the link down and up mid-transfer, kill the
//! syncing device, and kill and restart the serving one: every time sync resumes, nothing is lost
//! and nothing arrives twice.
//!
//! Creating namespaces needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) and `ip`/`tc` (iproute2). Without
//! them the tests print why and skip; with `MDO_REQUIRE_NETNS=1` a skip is a failure (CI sets it
//! when it runs as root).

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Mdo, Noor, PASS, ip, mdo_in, noor_profiles, texts};

/// A pair of network namespaces `a` (10.R.N.1) and `b` (10.R.N.2) joined by a veth pair.
struct Link {
    a: String,
    b: String,
    ip_a: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Link {
    /// Creates the namespaces, or says why it cannot.
    fn new() -> Result<Link, String> {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}{n}", std::process::id() % 100_000);
        let (a, b) = (format!("mdoa{tag}"), format!("mdob{tag}"));
        let (va, vb) = (format!("va{tag}"), format!("vb{tag}"));
        let net = format!("10.{}.{}", 100 + (std::process::id() % 100), n % 250);
        ip(&["netns", "add", &a])?;
        let link = Link {
            a: a.clone(),
            b: b.clone(),
            ip_a: format!("{net}.1"),
        };
        ip(&["netns", "add", &b])?;
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb])?;
        ip(&["link", "set", &va, "netns", &a])?;
        ip(&["link", "set", &vb, "netns", &b])?;
        ip(&["-n", &a, "addr", "add", &format!("{net}.1/24"), "dev", &va])?;
        ip(&["-n", &b, "addr", "add", &format!("{net}.2/24"), "dev", &vb])?;
        for (ns, dev) in [(&a, &va), (&b, &vb)] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            // 2 Mbit/s each way: a megabyte takes seconds, long enough to cut it mid-way.
            let out = Command::new("ip")
                .args([
                    "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root",
                ])
                .args(["tbf", "rate", "2mbit", "burst", "16kbit", "latency", "2s"])
                .output()
                .map_err(|e| format!("cannot run `tc`: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "tc failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        Ok(link)
    }

    /// Takes the link down (`false`) or up (`true`) on the chair's side.
    fn set(&self, up: bool) {
        let dev = format!("va{}", &self.a[4..]);
        ip(&[
            "-n",
            &self.a,
            "link",
            "set",
            &dev,
            if up { "up" } else { "down" },
        ])
        .unwrap();
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and so the pair.
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

/// The link, or `None` after printing why the test skips.
fn link_or_skip(test: &str) -> Option<Link> {
    match Link::new() {
        Ok(l) => Some(l),
        Err(why) => {
            if std::env::var("MDO_REQUIRE_NETNS").as_deref() == Ok("1") {
                panic!("{test}: network namespaces are required here (MDO_REQUIRE_NETNS=1): {why}");
            }
            eprintln!(
                "SKIP {test}: needs root and iproute2 to build two network namespaces ({why})"
            );
            None
        }
    }
}

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The chair's `mdo serve` in namespace `a`, on `port` (0: any); returns it with its address.
fn serve_in(m: &Mdo, link: &Link, port: u16) -> (Node, String) {
    use std::io::{BufRead, BufReader};
    let bind = format!("{}:{port}", link.ip_a);
    let mut child = mdo_in(m, &link.a, &["--json", "serve", "--bind", &bind])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    (Node(child), v["addrs"][0].as_str().unwrap().to_string())
}

/// The mother's `mdo sync` in namespace `b`, started in the background.
fn sync_in(m: &Mdo, link: &Link, case: &str, addr: &str) -> Child {
    mdo_in(m, &link.b, &["--json", "sync", case, "--peer", addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

const ITEMS: usize = 24;
/// Chunks the mother receives: each note, and the access-log batch its commit publishes (the
/// IB-er's log is read by the parents with gezag, issue 17).
const CHUNKS: usize = 2 * ITEMS;

/// The chair writes `ITEMS` notes of ~40 KB each in case+parents, one chunk per note (the way
/// a long history of separate edits is stored): ~1 MB to move.
fn big_history(chair: &Mdo, case: &str) -> Vec<String> {
    use mdo::core::model::Audience;
    use mdo::core::model::Section;
    let mut p = mdo::store::Profile::open(chair.dir(), PASS).unwrap();
    let id = p.resolve_case(case).unwrap();
    let (mut c, _) = p.load_case(id).unwrap();
    let mut marks = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..ITEMS {
        // Text that compresses little (a simple xorshift stream of letters).
        let body: String = (0..40_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (b'a' + (x % 26) as u8) as char
            })
            .collect();
        let mark = format!("verslag deel {i}");
        let me = p.me().clone();
        c.add_item(
            &me,
            Section::parse("notitie").unwrap(),
            &format!("{mark} {body}"),
            Audience::Parents,
            None,
            p.now(),
        )
        .unwrap();
        p.commit(&mut c).unwrap();
        marks.push(mark);
    }
    marks
}

/// How many chunks of `case` the profile holds.
fn chunk_count(m: &Mdo, case: &str) -> usize {
    let p = mdo::store::Profile::open(m.dir(), PASS).unwrap();
    match p.resolve_case(case) {
        Ok(id) => p.chunks_of(id).unwrap().len(),
        Err(_) => 0,
    }
}

/// Waits until the mother holds at least `n` chunks (or `limit` passes).
fn wait_for_chunks(m: &Mdo, case: &str, n: usize, limit: Duration) -> usize {
    let start = Instant::now();
    loop {
        let have = chunk_count(m, case);
        if have >= n || start.elapsed() > limit {
            return have;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn finish(c: Child) -> (bool, Value, String) {
    let out = c.wait_with_output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// All of the chair's notes reached the mother, each once.
fn assert_complete(mother: &Mdo, chair: &Mdo, case: &str, marks: &[String]) {
    let seen = texts(mother, case);
    for m in marks {
        let n = seen
            .iter()
            .filter(|t| t.starts_with(&format!("{m} ")))
            .count();
        assert_eq!(n, 1, "'{m}' seen {n} times by the mother");
    }
    assert!(seen.contains(&"tekent graag".to_string()));
    assert!(chunk_count(mother, case) <= chunk_count(chair, case));
}

/// Noor's case, the mother already synced once (she holds the ops and keys), then the chair's
/// big history; the link and the chair's node in namespace `a`.
fn setup(test: &str) -> Option<(Link, Noor, Vec<String>, Node, String)> {
    let link = link_or_skip(test)?;
    let noor = noor_profiles();
    let (node, addr) = serve_in(&noor.chair, &link, 0);
    let (ok, v, err) = finish(sync_in(&noor.mother, &link, &noor.case, &addr));
    assert!(ok, "first sync: {v} {err}");
    drop(node);
    let marks = big_history(&noor.chair, &noor.case);
    let (node, addr) = serve_in(&noor.chair, &link, 0);
    Some((link, noor, marks, node, addr))
}

#[test]
fn link_down_mid_transfer_then_up_the_same_sync_completes() {
    let Some((link, noor, marks, _node, addr)) = setup("link_down_mid_transfer") else {
        return;
    };
    let before = chunk_count(&noor.mother, &noor.case);
    let sync = sync_in(&noor.mother, &link, &noor.case, &addr);
    let got = wait_for_chunks(
        &noor.mother,
        &noor.case,
        before + 3,
        Duration::from_secs(30),
    );
    link.set(false);
    std::thread::sleep(Duration::from_secs(2));
    let during = chunk_count(&noor.mother, &noor.case);
    assert!(
        during < before + CHUNKS,
        "the transfer was not cut mid-way ({got} → {during})"
    );
    eprintln!(
        "link down after {got} chunks, {during} while down, of {}",
        before + CHUNKS
    );
    link.set(true);
    let (ok, v, err) = finish(sync);
    assert!(ok, "{v} {err}");
    assert_eq!(v["chunks_received"], CHUNKS as u64, "{v}");
    assert_complete(&noor.mother, &noor.chair, &noor.case, &marks);
}

#[test]
fn the_syncing_device_is_killed_mid_transfer_and_the_next_sync_sends_only_the_rest() {
    let Some((link, noor, marks, _node, addr)) = setup("syncing_device_killed") else {
        return;
    };
    let before = chunk_count(&noor.mother, &noor.case);
    let mut sync = sync_in(&noor.mother, &link, &noor.case, &addr);
    wait_for_chunks(
        &noor.mother,
        &noor.case,
        before + 3,
        Duration::from_secs(30),
    );
    // The mother closes her laptop in the middle of it: the link goes, the process dies.
    link.set(false);
    sync.kill().unwrap();
    let _ = sync.wait();
    let kept = chunk_count(&noor.mother, &noor.case) - before;
    assert!((3..CHUNKS).contains(&kept), "kept {kept} of {CHUNKS}");
    eprintln!("syncing device killed with {kept} of {CHUNKS} new chunks stored");
    link.set(true);
    let (ok, v, err) = finish(sync_in(&noor.mother, &link, &noor.case, &addr));
    assert!(ok, "{v} {err}");
    // Only what had not arrived travels again.
    assert_eq!(v["chunks_received"], (CHUNKS - kept) as u64, "{v}");
    assert_complete(&noor.mother, &noor.chair, &noor.case, &marks);
}

#[test]
fn the_serving_device_is_killed_mid_transfer_restarted_and_sync_resumes() {
    let Some((link, noor, marks, node, addr)) = setup("serving_device_killed") else {
        return;
    };
    let before = chunk_count(&noor.mother, &noor.case);
    let sync = sync_in(&noor.mother, &link, &noor.case, &addr);
    wait_for_chunks(
        &noor.mother,
        &noor.case,
        before + 3,
        Duration::from_secs(30),
    );
    drop(node); // SIGKILL
    let (ok, v, err) = finish(sync);
    assert!(!ok, "the sync should fail when its peer dies: {v}");
    assert!(err.contains("sync again") || err.contains("reach"), "{err}");
    let kept = chunk_count(&noor.mother, &noor.case) - before;
    assert!((3..CHUNKS).contains(&kept), "kept {kept} of {CHUNKS}");
    eprintln!("serving device killed with {kept} of {CHUNKS} new chunks at the mother");
    // The chair's node comes back on the same port.
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let (_node, addr2) = serve_in(&noor.chair, &link, port);
    assert_eq!(addr2, addr);
    let (ok, v, err) = finish(sync_in(&noor.mother, &link, &noor.case, &addr));
    assert!(ok, "{v} {err}");
    assert_eq!(v["chunks_received"], (CHUNKS - kept) as u64, "{v}");
    assert_complete(&noor.mother, &noor.chair, &noor.case, &marks);
}
