//! Destruction that reaches every copy (issue 17), with real processes over loopback: a mother
//! asks the school to destroy what it holds about Noor; the school grants it while the mother's
//! device and the storage peer are offline; both drop the keys and then the chunks when they come
//! back, keep the tombstone, and never take the destroyed parts back — not from a bundle made
//! earlier, not from a stale copy that offers them in a sync. A copy that was never told keeps
//! its text until it syncs (documented in docs/destruction.md).

use std::path::Path;

use serde_json::Value;

use crate::net_sync::start_node;
use crate::support::{Mdo, texts, whoami};

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn destruction(m: &Mdo, case: &str) -> Value {
    m.json(&["case", "destruction", case])
}

fn left(v: &Value) -> (u64, u64) {
    (
        v["left_of_destroyed"]["ops_with_keys"].as_u64().unwrap(),
        v["left_of_destroyed"]["chunks"].as_u64().unwrap(),
    )
}

#[test]
fn a_granted_destruction_reaches_an_offline_parent_and_storage_peer_and_is_never_taken_back() {
    let chair = Mdo::new();
    let mother = Mdo::new();
    let storage = Mdo::new();
    chair.init("Monique", "ib-er", "OBS De Wilgen");
    mother.init("Sanne", "ouder", "");
    storage.json(&["init", "--storage", "--org", "OBS De Wilgen"]);
    let (_, mother_identity) = whoami(&mother);
    let (_, storage_identity) = whoami(&storage);
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
        "participant",
        "add",
        &case,
        "--name",
        "Sanne",
        "--role",
        "ouder",
        "--custody",
        "--identity",
        &mother_identity,
    ]);
    crate::support::add_item(&chair, &case, "kind.plus", "tekent graag");
    chair.json(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "intern OPP",
        "--audience",
        "organisation",
    ]);
    chair.json(&[
        "storage",
        "add",
        &case,
        "--identity",
        &storage_identity,
        "--org",
        "OBS De Wilgen",
    ]);
    storage.json(&["settings", "set", "accept-case", &case]);
    let (server, v) = start_node(&storage, &["--bind", "127.0.0.1:0"]);
    let addr = v["addrs"][0].as_str().unwrap().to_string();
    chair.json(&["sync", &case, "--peer", &addr]);
    mother.json(&["sync", &case, "--peer", &addr]);
    assert!(texts(&mother, &case).contains(&"tekent graag".to_string()));
    let held = destruction(&storage, &case)["chunks_stored"]
        .as_u64()
        .unwrap();
    assert!(
        held >= 2,
        "the storage peer holds the case's chunks: {held}"
    );

    // The mother asks the school to destroy what it holds; the request reaches the chair
    // through the storage peer.
    let request = mother.json(&[
        "case",
        "request-destruction",
        &case,
        "--org",
        "OBS De Wilgen",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(request.starts_with("vv-"), "{request}");
    mother.json(&["sync", &case, "--peer", &addr]);
    chair.json(&["sync", &case, "--peer", &addr]);
    let seen = destruction(&chair, &case);
    let r = &seen["requests"][0];
    assert_eq!(r["id"], request.as_str());
    assert_eq!(r["state"], "open");
    assert_eq!(r["can_answer"], true);
    assert!(
        r["text"].as_str().unwrap().contains("uiterlijk"),
        "the deadline is shown: {r}"
    );
    // Only the organisation asked answers; a parent cannot grant her own request.
    let err = mother.fails(&[
        "case",
        "answer-destruction",
        &case,
        &request,
        "--grant",
        "--ground",
        "x",
        "--reason",
        "y",
    ]);
    assert!(err.contains("professional"), "{err}");

    // Storage peer and mother go offline. A backup of the mother's copy is made now (a stale
    // copy that will later offer what it held).
    drop(server);
    let stale = Mdo::new();
    copy_dir(mother.dir(), stale.dir());
    let granted = chair.json(&[
        "case",
        "answer-destruction",
        &case,
        &request,
        "--grant",
        "--ground",
        "AVG art. 17 lid 1; BW art. 7:455",
        "--reason",
        "Op verzoek van de moeder; geen belang van een ander of wettelijke plicht om te bewaren",
    ]);
    assert!(
        granted["id"].as_str().unwrap().contains("vernietigd"),
        "{granted}"
    );
    // On the chair's copy: nothing left, no keys in any op, the tombstone shown.
    assert!(texts(&chair, &case).is_empty());
    let c = destruction(&chair, &case);
    assert_eq!(left(&c), (0, 0), "{c}");
    assert!(c["shredded_here"].as_u64().unwrap() >= 2, "{c}");
    let tomb = c["destroyed"][0].as_str().unwrap();
    assert!(tomb.starts_with("Vernietigd op"), "{tomb}");
    assert!(
        tomb.contains("OBS De Wilgen") && tomb.contains("op verzoek"),
        "{tomb}"
    );
    // Nothing new can be written there.
    let err = chair.fails(&[
        "item",
        "add",
        &case,
        "--section",
        "kind.plus",
        "--text",
        "nieuw",
    ]);
    assert!(!err.is_empty());

    // The mother's device was not told: it keeps its copy and reads it offline until it syncs.
    assert!(texts(&mother, &case).contains(&"tekent graag".to_string()));

    // The storage peer comes back; the chair syncs; the storage peer drops the ciphertext and
    // the bundles of the destroyed parts.
    let (server, v) = start_node(&storage, &["--bind", "127.0.0.1:0"]);
    let addr = v["addrs"][0].as_str().unwrap().to_string();
    chair.json(&["sync", &case, "--peer", &addr]);
    drop(server); // the node's own process holds the profile; read it after it stopped
    let s = destruction(&storage, &case);
    assert_eq!(left(&s), (0, 0), "{s}");
    assert_eq!(s["chunks_stored"], 0, "{s}");
    assert!(s["shredded_here"].as_u64().unwrap() >= 2, "{s}");
    let (_server, v) = start_node(&storage, &["--bind", "127.0.0.1:0"]);
    let addr = v["addrs"][0].as_str().unwrap().to_string();

    // The mother comes back online, months later: keys gone, text gone, tombstone and answer
    // shown to her in Dutch.
    let synced = mother.json(&["sync", &case, "--peer", &addr]);
    assert_eq!(synced["chunks_received"], 0, "{synced}");
    assert!(texts(&mother, &case).is_empty());
    let m = destruction(&mother, &case);
    assert_eq!(left(&m), (0, 0), "{m}");
    assert_eq!(m["chunks_stored"], 0, "{m}");
    assert_eq!(m["requests"][0]["state"], "toegekend", "{m}");
    let text = m["requests"][0]["text"].as_str().unwrap();
    assert!(text.contains("Op verzoek van de moeder"), "{text}");
    assert!(text.contains("Vernietigd op"), "{text}");
    let tomb = m["destroyed"][0].as_str().unwrap();
    // A parent is not told the names of the parts (one may have been kept from her).
    assert!(!tomb.contains("Interne notities"), "{tomb}");
    assert!(tomb.contains("2 delen") || tomb.contains("delen"), "{tomb}");

    // The stale backup offers what it held. Through a bundle file: every chunk of the
    // destroyed parts is refused, its ops are known (and their keys not taken back).
    let bundle = stale.dir().join("oud.mdob");
    stale.json(&["bundle", "export", &case, "--out", bundle.to_str().unwrap()]);
    let imported = mother.json(&["bundle", "import", bundle.to_str().unwrap()]);
    assert!(imported["refused"].as_u64().unwrap() >= 1, "{imported}");
    assert_eq!(imported["new"], 0, "{imported}");
    let m = destruction(&mother, &case);
    assert_eq!(left(&m), (0, 0), "{m}");
    assert_eq!(m["chunks_stored"], 0, "{m}");
    assert!(texts(&mother, &case).is_empty());
    // In a sync: the stale copy learns of the destruction from the ops, which come first, and
    // shreds before any chunk is offered; the storage peer takes nothing.
    assert!(texts(&stale, &case).contains(&"tekent graag".to_string()));
    let synced = stale.json(&["sync", &case, "--peer", &addr]);
    assert_eq!(synced["chunks_sent"], 0, "{synced}");
    assert!(texts(&stale, &case).is_empty());
    assert_eq!(left(&destruction(&stale, &case)), (0, 0));
}

#[test]
fn destruction_at_the_end_of_the_term_only_by_the_controller_and_only_when_due() {
    let chair = Mdo::new();
    chair.init("Monique", "ib-er", "OBS De Wilgen");
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
    crate::support::add_item(&chair, &case, "kind.plus", "tekent graag");
    // While the case runs nothing is due.
    let err = chair.fails(&["case", "destroy", &case]);
    assert!(err.contains("bewaartermijn"), "{err}");
    chair.json(&[
        "case",
        "close",
        &case,
        "--reason",
        "Noor gaat naar een andere school",
    ]);
    let plan = chair.json(&["case", "retention", &case]);
    let dates: Vec<String> = plan["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["destroy_on"].as_str().map(str::to_string))
        .collect();
    let first = dates.iter().min().unwrap().clone();
    let due = dates.iter().max().unwrap().clone();
    // The day before the first term ends: refused; on the last day: everything destroyed.
    let day_before = {
        let d = mdo::core::model::parse_date(&first).unwrap();
        mdo::core::model::format_date(d.previous_day().unwrap())
    };
    let out = chair
        .cmd()
        .env("MDO_TODAY", &day_before)
        .args(["case", "destroy", &case])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let on_time = chair
        .cmd()
        .env("MDO_TODAY", &due)
        .args(["--json", "case", "destroy", &case])
        .output()
        .unwrap();
    assert!(
        on_time.status.success(),
        "{}",
        String::from_utf8_lossy(&on_time.stderr)
    );
    let d = chair
        .cmd()
        .env("MDO_TODAY", &due)
        .args(["--json", "case", "destruction", &case])
        .output()
        .unwrap();
    let d: Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(left(&d), (0, 0), "{d}");
    let tomb = d["destroyed"][0].as_str().unwrap();
    assert!(tomb.contains("bewaartermijn voorbij"), "{tomb}");
    // The chair, a professional of the school, sees which parts.
    assert!(tomb.contains("Wat zichtbaar is"), "{tomb}");
}
