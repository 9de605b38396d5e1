//! Destruction that reaches every copy (issue 17), with real processes over loopback: a mother
//! asks the school to destroy what it holds about Noor; the school grants it while the mother's
//! device and the storage peer are offline; both drop the keys and then the chunks when they come
//! back, keep the tombstone, and never take the destroyed parts back — not from a bundle made
//! earlier, not from a stale copy that offers them in a sync. A copy that was never told keeps
//! its text until it syncs (documented in docs/destruction.md).

use std::path::Path;

use serde_json::Value;

use crate::support::{Mdo, carry, texts, whoami};

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

/// A storage node on loopback, with the clock at `today` if given (the node then sees the case
/// as it is on that day).
fn storage_node(m: &Mdo, today: Option<&str>) -> (crate::net_sync::Server, String) {
    use std::io::{BufRead, BufReader};
    let mut cmd = m.cmd();
    if let Some(d) = today {
        cmd.env("MDO_TODAY", d);
    }
    let mut child = cmd
        .args(["--json", "serve", "--bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let addr = v["addrs"][0].as_str().unwrap().to_string();
    (crate::net_sync::Server(child), addr)
}

/// `mdo --json ARGS` on `m` with the clock at `today`.
fn json_on(m: &Mdo, today: &str, args: &[&str]) -> Value {
    let out = m
        .cmd()
        .env("MDO_TODAY", today)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mdo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn texts_on(m: &Mdo, today: &str, case: &str) -> Vec<String> {
    json_on(m, today, &["case", "show", case])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap().to_string())
        .collect()
}

/// Noor's case: the IB-er (chair), the mother with gezag, the school's storage peer (accepting
/// the case), an item for parents and an internal note of the school.
fn noor_with_storage() -> (Mdo, Mdo, Mdo, String) {
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
    (chair, mother, storage, case)
}

#[test]
fn a_granted_request_destroys_the_schools_own_dossier_on_every_copy_and_the_mother_reads_the_answer()
 {
    let (chair, mother, storage, case) = noor_with_storage();
    let (server, addr) = storage_node(&storage, None);
    chair.json(&["sync", &case, "--peer", &addr]);
    mother.json(&["sync", &case, "--peer", &addr]);
    let internal = || {
        let id = mdo_crypto::CaseId(hex::decode(&case).unwrap().try_into().unwrap());
        let comp = mdo::core::case::CompartmentKind::Organisation("OBS De Wilgen".into()).id(id);
        let db = storage.dir().join(
            crate::support::files_under(storage.dir())
                .into_iter()
                .find(|f| f.file_name().is_some_and(|n| n == mdo::store::DB_FILE))
                .unwrap(),
        );
        let db = rusqlite::Connection::open(db).unwrap();
        db.query_row(
            "SELECT COUNT(*) FROM chunks WHERE compartment = ?1",
            [comp.0.to_vec()],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
    };
    assert!(
        internal() >= 1,
        "the storage peer holds the school's internal note"
    );

    // The mother asks the school to destroy what it holds; the request reaches the chair
    // through the storage peer. The deadline is shown from the first day.
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
    let shown = destruction(&mother, &case);
    assert!(
        shown["requests"][0]["text"]
            .as_str()
            .unwrap()
            .contains("uiterlijk"),
        "{shown}"
    );
    mother.json(&["sync", &case, "--peer", &addr]);
    chair.json(&["sync", &case, "--peer", &addr]);
    let seen = destruction(&chair, &case);
    let r = &seen["requests"][0];
    assert_eq!(r["id"], request.as_str());
    assert_eq!(r["state"], "open");
    assert_eq!(r["can_answer"], true);
    assert!(
        r["text"]
            .as_str()
            .unwrap()
            .contains("geen reden om te weigeren"),
        "{r}"
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

    // The storage peer is offline when the school grants it.
    drop(server);
    let granted = chair.json(&[
        "case",
        "answer-destruction",
        &case,
        &request,
        "--grant",
        "--ground",
        "",
        "--reason",
        "Op verzoek van de moeder; geen belang van een ander of wettelijke plicht om te bewaren",
    ]);
    assert!(
        granted["id"].as_str().unwrap().contains("vernietigd"),
        "{granted}"
    );
    // The school's internal note is gone on the chair's copy; the MDO file shared by everyone
    // at the table stays (it goes at the end of its term).
    let seen = texts(&chair, &case);
    assert!(!seen.contains(&"intern OPP".to_string()), "{seen:?}");
    assert!(seen.contains(&"tekent graag".to_string()), "{seen:?}");
    let c = destruction(&chair, &case);
    assert_eq!(left(&c), (0, 0), "{c}");
    let tomb = c["destroyed"][0].as_str().unwrap();
    assert!(
        tomb.contains("op verzoek") && tomb.contains("Interne notities"),
        "{tomb}"
    );
    // The same grant cannot be carried out twice, and nothing is written there any more.
    let err = chair.fails(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "nieuw intern",
        "--audience",
        "organisation",
    ]);
    assert!(!err.is_empty());

    // The storage peer comes back: it drops the ciphertext of the destroyed parts.
    let (server, addr) = storage_node(&storage, None);
    chair.json(&["sync", &case, "--peer", &addr]);
    drop(server);
    let s = destruction(&storage, &case);
    assert_eq!(left(&s), (0, 0), "{s}");
    assert!(s["shredded_here"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(internal(), 0, "{s}");
    let (_server, addr) = storage_node(&storage, None);

    // The mother reads the answer in plain Dutch; the part is not named to her.
    mother.json(&["sync", &case, "--peer", &addr]);
    let m = destruction(&mother, &case);
    assert_eq!(m["requests"][0]["state"], "toegekend", "{m}");
    let text = m["requests"][0]["text"].as_str().unwrap();
    assert!(text.contains("Op verzoek van de moeder"), "{text}");
    assert!(text.contains("Vernietigd op"), "{text}");
    let tomb = m["destroyed"][0].as_str().unwrap();
    assert!(!tomb.contains("Interne notities"), "{tomb}");
    assert!(tomb.contains(" delen") || tomb.contains("1 deel"), "{tomb}");
    assert!(texts(&mother, &case).contains(&"tekent graag".to_string()));
}

#[test]
fn a_destruction_at_the_end_of_the_term_reaches_an_offline_parent_and_storage_peer_and_is_never_taken_back()
 {
    let (chair, mother, storage, case) = noor_with_storage();
    let (server, addr) = storage_node(&storage, None);
    chair.json(&["sync", &case, "--peer", &addr]);
    mother.json(&["sync", &case, "--peer", &addr]);
    assert!(texts(&mother, &case).contains(&"tekent graag".to_string()));
    chair.json(&[
        "case",
        "close",
        &case,
        "--reason",
        "Noor gaat naar een andere school",
    ]);
    chair.json(&["sync", &case, "--peer", &addr]);
    mother.json(&["sync", &case, "--peer", &addr]);
    drop(server);
    // Every part's term has ended on `due` (the access logs last: 5 years).
    let plan = chair.json(&["case", "retention", &case]);
    let due = plan["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["destroy_on"].as_str().map(str::to_string))
        .max()
        .unwrap();

    // The mother's device and the storage peer are offline. A backup of the mother's copy is
    // made now (a stale copy that will later offer what it held).
    let stale = Mdo::new();
    copy_dir(mother.dir(), stale.dir());
    json_on(&chair, &due, &["case", "destroy", &case]);
    assert!(texts_on(&chair, &due, &case).is_empty());
    let c = json_on(&chair, &due, &["case", "destruction", &case]);
    assert_eq!(left(&c), (0, 0), "{c}");
    assert_eq!(c["chunks_stored"], 0, "{c}");

    // The mother's device was not told: it keeps its copy and reads it offline until it syncs.
    assert!(texts_on(&mother, &due, &case).contains(&"tekent graag".to_string()));

    // The storage peer comes back, the chair syncs: keys and ciphertext go there too.
    let (server, addr) = storage_node(&storage, Some(&due));
    json_on(&chair, &due, &["sync", &case, "--peer", &addr]);
    drop(server);
    let s = json_on(&storage, &due, &["case", "destruction", &case]);
    assert_eq!(left(&s), (0, 0), "{s}");
    assert_eq!(s["chunks_stored"], 0, "{s}");
    let (_server, addr) = storage_node(&storage, Some(&due));

    // The mother comes back online: keys gone, text gone, the tombstone shown.
    let synced = json_on(&mother, &due, &["sync", &case, "--peer", &addr]);
    assert_eq!(synced["chunks_received"], 0, "{synced}");
    assert!(texts_on(&mother, &due, &case).is_empty());
    let m = json_on(&mother, &due, &["case", "destruction", &case]);
    assert_eq!(left(&m), (0, 0), "{m}");
    assert_eq!(m["chunks_stored"], 0, "{m}");
    let tomb = m["destroyed"][0].as_str().unwrap();
    assert!(tomb.contains("bewaartermijn voorbij"), "{tomb}");

    // The stale backup offers what it held. Through a bundle file: every chunk of the
    // destroyed parts is refused, its ops are known (and their keys not taken back).
    let bundle = stale.dir().join("oud.mdob");
    json_on(
        &stale,
        &due,
        &["bundle", "export", &case, "--out", bundle.to_str().unwrap()],
    );
    let imported = json_on(
        &mother,
        &due,
        &["bundle", "import", bundle.to_str().unwrap()],
    );
    assert!(imported["refused"].as_u64().unwrap() >= 1, "{imported}");
    assert_eq!(imported["new"], 0, "{imported}");
    let m = json_on(&mother, &due, &["case", "destruction", &case]);
    assert_eq!(left(&m), (0, 0), "{m}");
    assert_eq!(m["chunks_stored"], 0, "{m}");
    // In a sync: the stale copy learns of the destruction from the ops, which come first, and
    // shreds before any chunk is offered; the storage peer takes nothing.
    assert!(texts_on(&stale, &due, &case).contains(&"tekent graag".to_string()));
    let synced = json_on(&stale, &due, &["sync", &case, "--peer", &addr]);
    assert_eq!(synced["chunks_sent"], 0, "{synced}");
    assert!(texts_on(&stale, &due, &case).is_empty());
    assert_eq!(
        left(&json_on(&stale, &due, &["case", "destruction", &case])),
        (0, 0)
    );
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

/// From 12 the child asks for destruction herself; a parent's signature is neither needed nor
/// possible (Jeugdwet 7.3.15, BW 7:465). The school's privacy officer reads the school's access
/// logs but no content, and decides nothing: it neither grants nor destroys.
#[test]
fn from_12_the_child_asks_and_the_privacy_officer_reads_logs_but_decides_nothing() {
    let chair = Mdo::new();
    let mother = Mdo::new();
    let child = Mdo::new();
    let fg = Mdo::new();
    chair.init("Monique", "ib-er", "OBS De Wilgen");
    mother.init("Sanne", "ouder", "");
    child.init("Daan", "kind", "");
    fg.init("Fatima", "privacy", "OBS De Wilgen");
    let case = chair.json(&[
        "case",
        "new",
        "--child",
        "Daan",
        "--birthdate",
        "2012-05-01",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (m, name, role, custody) in [
        (&mother, "Sanne", "ouder", true),
        (&child, "Daan", "kind", false),
        (&fg, "Fatima", "privacy", false),
    ] {
        let (_, identity) = whoami(m);
        let mut args = vec![
            "participant",
            "add",
            &case,
            "--name",
            name,
            "--role",
            role,
            "--identity",
            &identity,
        ];
        if custody {
            args.push("--custody");
        }
        if role == "privacy" {
            args.extend(["--org", "OBS De Wilgen"]);
        }
        chair.json(&args);
    }
    crate::support::add_item(&chair, &case, "kind.plus", "tekent graag");
    texts(&chair, &case); // a read, logged and shared
    for m in [&mother, &child, &fg] {
        carry(&chair, m, &case);
    }

    // Daan is 14: his mother cannot ask (nor sign) for him; he can.
    let err = mother.fails(&[
        "case",
        "request-destruction",
        &case,
        "--org",
        "OBS De Wilgen",
    ]);
    assert!(err.contains("vanaf 12 jaar"), "{err}");
    let request = child.json(&[
        "case",
        "request-destruction",
        &case,
        "--org",
        "OBS De Wilgen",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    carry(&child, &chair, &case);
    carry(&chair, &fg, &case);

    // The privacy officer reads no content, but the IB-er's reads are in its log.
    assert!(texts(&fg, &case).is_empty());
    let log = fg.json(&["case", "log", &case]);
    assert!(
        log["rows"].as_array().unwrap().iter().any(|r| r["who"]
            .as_str()
            .unwrap()
            .contains("Monique")
            && r["what"] == "bekeken"),
        "{log}"
    );
    // It advises; it does not decide.
    let err = fg.fails(&[
        "case",
        "answer-destruction",
        &case,
        &request,
        "--refuse",
        "--ground",
        "x",
        "--reason",
        "y",
    ]);
    assert!(!err.is_empty());
    let seen = fg.json(&["case", "destruction", &case]);
    assert_eq!(seen["requests"][0]["can_answer"], false, "{seen}");
    // Daan reads the log in a form for him.
    let daan = child.json(&["case", "log", &case]);
    let line = daan["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["who"].as_str().unwrap().contains("Monique"))
        .map(|r| r["sentence"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{daan}"));
    assert!(line.contains("jou") && line.contains("Dat mocht"), "{line}");

    // The school refuses, naming its ground; Daan reads why and where he can complain.
    chair.json(&[
        "case",
        "answer-destruction",
        &case,
        &request,
        "--refuse",
        "--ground",
        mdo::profile::destruction::REFUSAL_GROUNDS[3],
        "--reason",
        "Er loopt een klacht over de begeleiding; daarvoor is het dossier nodig",
    ]);
    carry(&chair, &child, &case);
    let d = child.json(&["case", "destruction", &case]);
    assert_eq!(d["requests"][0]["state"], "afgewezen", "{d}");
    let text = d["requests"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("klacht over de begeleiding") && text.contains("Autoriteit Persoonsgegevens"),
        "{text}"
    );
    assert!(texts(&child, &case).contains(&"tekent graag".to_string()));
}
