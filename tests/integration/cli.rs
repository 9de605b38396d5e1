//! The CLI end to end: init, demo, edits, show, export, errors, and no plaintext at rest.

use crate::support::{Mdo, files_under};

#[test]
fn init_whoami_and_recovery_phrase() {
    let m = Mdo::new();
    let v = m.init("Monique de Vries", "ib-er", "OBS De Wilgen");
    assert_eq!(
        v["recovery_phrase"].as_str().unwrap().split(' ').count(),
        24
    );
    assert_eq!(v["fingerprint"].as_str().unwrap().len(), 19);
    let who = m.json(&["whoami"]);
    assert_eq!(who["name"], "Monique de Vries");
    assert_eq!(who["role"], "ib-er");
    assert_eq!(who["id"], v["id"]);
    // A second init on the same home is refused and changes nothing.
    let err = m.fails(&["init", "--name", "X", "--role", "ouder"]);
    assert!(err.contains("already holds an MDO profile"), "{err}");
    assert_eq!(m.json(&["whoami"])["name"], "Monique de Vries");
}

#[test]
fn demo_show_edit_and_export() {
    let m = Mdo::new();
    let demo = m.json(&["demo"]); // creates the demo profile too
    let case = demo["id"].as_str().unwrap().to_string();
    let list = m.json(&["case", "list"]);
    assert_eq!(list[0]["child"], "Noor Visser");
    // The demo follows a traject: three of the five agreements are done by now.
    assert_eq!(list[0]["open_agreements"], 2);

    let show = m.json(&["case", "show", &case[..6]]);
    assert_eq!(show["info"]["child"], "Noor Visser");
    assert!(["onder12", "van12-tot16", "vanaf16"].contains(&show["age_band"].as_str().unwrap()));
    assert_eq!(show["participants"][0]["chair"], true);
    assert_eq!(
        show["participants"][0]["devices"][0],
        m.json(&["whoami"])["device"]
    );
    assert_eq!(show["agreements"].as_array().unwrap().len(), 5);
    let internal = show["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["section"] == "notitie")
        .unwrap();
    assert_eq!(internal["audience"], "organisation");
    assert_eq!(internal["compartment"], "organisation:OBS De Wilgen");

    // Add, edit, move, remove items; agreements; a meeting with steps, tops and tips.
    let item = m.json(&[
        "item",
        "add",
        &case,
        "--section",
        "kind.plus",
        "--text",
        "lacht veel",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    m.json(&["item", "edit", &case, &item, "--text", "lacht veel en vaak"]);
    m.json(&["item", "move", &case, &item, "--order", "0.5"]);
    let q = m.json(&[
        "item",
        "add",
        &case,
        "--section",
        "vragen",
        "--text",
        "mag Noor erbij zijn?",
        "--by",
        "sanne",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let note = m.json(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "alleen voor mij",
        "--audience",
        "author",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ag = m.json(&[
        "agreement",
        "add",
        &case,
        "--wie",
        "Fatima",
        "--wat",
        "arrangement bespreken",
        "--waarom",
        "extra ondersteuning",
        "--wanneer",
        "november",
        "--hoe",
        "overleg met de school",
        "--due",
        "2026-11-30",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    m.json(&[
        "agreement",
        "edit",
        &case,
        &ag,
        "--field",
        "status",
        "--value",
        "gedaan",
    ]);
    let meeting = m.json(&[
        "meeting",
        "new",
        &case,
        "--date",
        "2026-12-01",
        "--end",
        "16:00",
        "--audience",
        "parents",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    for n in 1..=6 {
        m.json(&[
            "meeting",
            "step",
            &case,
            &meeting,
            &n.to_string(),
            "--note",
            &format!("notitie bij stap {n}"),
        ]);
    }
    m.json(&[
        "meeting",
        "top",
        &case,
        &meeting,
        "--by",
        "sanne",
        "--text",
        "goed geluisterd",
    ]);
    m.json(&[
        "meeting",
        "tip",
        &case,
        &meeting,
        "--by",
        "sanne",
        "--text",
        "eerder beginnen",
    ]);
    m.json(&["meeting", "present", &case, &meeting, "sanne"]);
    m.json(&["circle", "add", &case, "vrije-tijd"]);
    m.json(&[
        "item",
        "add",
        &case,
        "--section",
        "vrije-tijd.plus",
        "--text",
        "zit op voetbal",
    ]);
    m.json(&[
        "circle",
        "arrow",
        &case,
        "--from",
        "thuis",
        "--to",
        "kind",
        "--text",
        "rustige ochtend → goede start",
        "--direction",
        "omhoog",
    ]);
    m.json(&["case", "set", &case, "phase", "arrangeren"]);

    let show = m.json(&["case", "show", &case]);
    let items = show["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["id"] == item.as_str() && i["text"] == "lacht veel en vaak")
    );
    assert!(
        items
            .iter()
            .any(|i| i["id"] == note.as_str() && i["audience"] == "author")
    );
    assert!(
        items
            .iter()
            .any(|i| i["id"] == q.as_str() && i["by"] == "sanne")
    );
    assert_eq!(show["info"]["phase"], "arrangeren");
    assert!(
        show["info"]["circles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "vrije-tijd")
    );
    let ags = show["agreements"].as_array().unwrap();
    assert!(
        ags.iter()
            .any(|a| a["id"] == ag.as_str() && a["status"] == "gedaan")
    );
    let meetings = show["meetings"].as_array().unwrap();
    let mt = meetings
        .iter()
        .find(|x| x["id"] == meeting.as_str())
        .unwrap();
    assert_eq!(mt["steps"][5], "notitie bij stap 6");
    assert_eq!(mt["tips"]["sanne"], "eerder beginnen");

    m.json(&["item", "remove", &case, &item]);
    let show = m.json(&["case", "show", &case]);
    assert!(
        !show["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == item.as_str())
    );

    // Export: the verslag as Markdown, the compartments as .automerge files that load.
    let out = tempfile::tempdir().unwrap();
    let md = out.path().join("verslag.md");
    m.json(&[
        "export",
        &case,
        "--format",
        "markdown",
        "--out",
        md.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("# Verslag MDO — Noor Visser"));
    assert!(text.contains("Verslag voor ouders en professionals"));
    assert!(text.contains("arrangement bespreken"));
    assert!(text.contains("notitie bij stap 6"));
    assert!(
        !text.contains("alleen voor mij"),
        "an author-only note is in no verslag"
    );
    let amdir = out.path().join("am");
    let files = m.json(&[
        "export",
        &case,
        "--format",
        "automerge",
        "--out",
        amdir.to_str().unwrap(),
    ]);
    let files = files["files"].as_array().unwrap();
    assert_eq!(
        files.len(),
        5,
        "parents, professionals, organisation, safety and author compartments"
    );
    for f in files {
        let bytes = std::fs::read(f.as_str().unwrap()).unwrap();
        automerge::AutoCommit::load(&bytes).unwrap();
    }
}

/// Every write says where it went; without `--audience` the default follows the writer's role
/// and the section; a verslag is composed for one audience and stored in its compartment.
#[test]
fn writes_name_their_audience_and_a_verslag_is_for_one_audience() {
    let m = Mdo::new();
    m.init("Anouk Vermeer", "jeugdarts", "GGD JGZ");
    let case = m.json(&[
        "case",
        "new",
        "--child",
        "Noor Visser",
        "--birthdate",
        "2017-03-14",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A jeugdarts's text stays medical unless she chooses otherwise.
    let medical = m.json(&[
        "item",
        "add",
        &case,
        "--section",
        "kind.min",
        "--text",
        "slaapt slecht; melatonine",
    ]);
    assert_eq!(medical["compartment"], "category:medisch:GGD JGZ");
    assert_eq!(medical["audience"], "medical");
    let out = m.run(&[
        "item",
        "add",
        &case,
        "--section",
        "kind.plus",
        "--text",
        "tekent graag",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("medisch: medici van GGD JGZ"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let shared = m.json(&[
        "item",
        "add",
        &case,
        "--section",
        "kind.plus",
        "--text",
        "helpt jongere kinderen",
        "--audience",
        "parents",
    ]);
    assert_eq!(shared["compartment"], "parents");
    // --audience and --category together are refused.
    m.fails(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "x",
        "--audience",
        "parents",
        "--category",
        "medisch",
    ]);
    // A meeting needs to say for whom; a professionals-only one.
    m.fails(&["meeting", "new", &case, "--end", "16:00"]);
    let pros = m.json(&[
        "meeting",
        "new",
        &case,
        "--end",
        "16:00",
        "--audience",
        "professionals",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let note = m.json(&[
        "meeting",
        "step",
        &case,
        &pros,
        "2",
        "--note",
        "bespreking slaap",
    ]);
    assert_eq!(
        note["compartment"], "category:medisch:GGD JGZ",
        "her meeting note stays medical by default"
    );
    // Notes for a broader audience than the meeting's are refused.
    let err = m.fails(&[
        "meeting",
        "step",
        &case,
        &pros,
        "3",
        "--note",
        "x",
        "--audience",
        "parents",
    ]);
    assert!(err.contains("alleen voor professionals"), "{err}");
    // The parents' verslag cannot carry a professionals-only meeting.
    let err = m.fails(&["meeting", "verslag", &case, &pros, "--audience", "parents"]);
    assert!(err.contains("alleen voor professionals"), "{err}");
    let v = m.json(&[
        "meeting",
        "verslag",
        &case,
        &pros,
        "--audience",
        "professionals",
    ]);
    assert_eq!(v["compartment"], "professionals");
    let show = m.json(&["case", "show", &case]);
    let stored = show["verslagen"].as_array().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["compartment"], "professionals");
    let text = stored[0]["text"].as_str().unwrap();
    assert!(text.contains("Verslag alleen voor professionals"), "{text}");
    assert!(
        !text.contains("melatonine"),
        "medical text is in no shared verslag"
    );
    assert!(text.contains("helpt jongere kinderen"));
    // Export for the parents: the medical text and the professionals' meeting stay out.
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("v.md");
    m.json(&["export", &case, "--out", md.to_str().unwrap()]);
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("Verslag voor ouders en professionals"));
    assert!(text.contains("helpt jongere kinderen"));
    assert!(!text.contains("melatonine") && !text.contains("tekent graag"));
    assert!(
        !text.contains("Overleg van"),
        "no meeting for parents: {text}"
    );
}

#[test]
fn bad_input_gives_one_clear_error_and_changes_nothing() {
    let m = Mdo::new();
    let err = m.fails(&["case", "list"]);
    assert!(err.contains("no MDO profile"), "{err}");
    let case = m.json(&["demo"])["id"].as_str().unwrap().to_string();
    let before = m.json(&["case", "show", &case]);

    for (args, needle) in [
        (
            vec![
                "item",
                "add",
                &case,
                "--section",
                "kind.goed",
                "--text",
                "x",
            ],
            "unknown section",
        ),
        (
            vec![
                "item",
                "add",
                &case,
                "--section",
                "kind.plus",
                "--text",
                "x",
                "--audience",
                "iedereen",
            ],
            "unknown Audience",
        ),
        (
            vec!["item", "edit", &case, "000000000000", "--text", "x"],
            "no item",
        ),
        (
            vec![
                "item",
                "add",
                "ffffffff",
                "--section",
                "kind.plus",
                "--text",
                "x",
            ],
            "no case",
        ),
        (
            vec![
                "agreement",
                "add",
                &case,
                "--wie",
                "a",
                "--wat",
                "b",
                "--due",
                "morgen",
            ],
            "YYYY-MM-DD",
        ),
        (
            vec![
                "case",
                "new",
                "--child",
                "Daan",
                "--birthdate",
                "14-02-2012",
            ],
            "YYYY-MM-DD",
        ),
        (
            vec!["meeting", "step", &case, "000000000000", "7", "--note", "x"],
            "no meeting",
        ),
        (
            vec!["export", &case, "--format", "docx", "--out", "/tmp/x"],
            "unknown export format",
        ),
    ] {
        let err = m.fails(&args);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one error line: {err}");
    }
    let wrong = m
        .cmd()
        .env("MDO_PASSPHRASE", "fout")
        .args(["case", "list"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"));
    let json_err = m.run(&[
        "--json",
        "item",
        "add",
        &case,
        "--section",
        "x",
        "--text",
        "y",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json_err.stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("unknown section"));

    let after = m.json(&["case", "show", &case]);
    assert_eq!(before, after);
}

#[test]
fn corrupt_store_and_key_file_are_reported() {
    let m = Mdo::new();
    m.json(&["demo"]);
    let db = m.dir().join("mdo.sqlite");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[0..16].copy_from_slice(b"not a database!!");
    std::fs::write(&db, &bytes).unwrap();
    let err = m.fails(&["case", "list"]);
    assert!(err.contains("damaged"), "{err}");

    let m = Mdo::new();
    m.json(&["demo"]);
    let key = m.dir().join("identity.key");
    std::fs::write(&key, b"MDOK\x07").unwrap();
    let err = m.fails(&["case", "list"]);
    assert!(
        err.contains("unsupported key file format version 7"),
        "{err}"
    );
}

#[test]
fn no_demo_plaintext_anywhere_in_the_profile() {
    let m = Mdo::new();
    let case = m.json(&["demo"])["id"].as_str().unwrap().to_string();
    m.json(&[
        "item",
        "add",
        &case,
        "--section",
        "thuis.plus",
        "--text",
        "Sanne kookt elke zondag met Noor",
    ]);
    m.json(&[
        "agreement",
        "add",
        &case,
        "--wie",
        "Jeroen",
        "--wat",
        "dagritmekaart evalueren",
        "--hoe",
        "gesprek met Sanne",
    ]);
    for n in 0..40 {
        // Enough edits to trigger compaction of the parents compartment.
        m.json(&[
            "item",
            "add",
            &case,
            "--section",
            "vragen",
            "--text",
            &format!("vraag nummer {n} over Noor Visser"),
        ]);
    }
    let needles = [
        "Noor",
        "Visser",
        "Sanne",
        "Jeroen",
        "dagritmekaart",
        "Wilgen",
        "Monique",
        "tekent graag",
        "uitbarsting",
        "slaapt slecht",
        "jeugdarts",
        "opvoedondersteuning",
        "vraag nummer",
    ];
    for f in files_under(m.dir()) {
        let bytes = std::fs::read(&f).unwrap();
        for n in needles {
            for variant in [n.to_string(), n.to_lowercase()] {
                let hit = bytes
                    .windows(variant.len())
                    .any(|w| w == variant.as_bytes());
                assert!(!hit, "plaintext '{variant}' found in {}", f.display());
            }
            // UTF-16 too (no encoding slips through).
            let wide: Vec<u8> = n.encode_utf16().flat_map(|c| c.to_le_bytes()).collect();
            assert!(
                !bytes.windows(wide.len()).any(|w| w == wide.as_slice()),
                "UTF-16 '{n}' in {}",
                f.display()
            );
        }
    }
}

/// A service reads its passphrase from a file (`MDO_PASSPHRASE_FILE`, e.g. a systemd
/// credential): a trailing newline is not part of it; an empty file or a wrong passphrase is
/// an error that says so.
#[test]
fn a_service_reads_its_passphrase_from_a_file() {
    let m = Mdo::new();
    m.init("Opslag SWV", "directeur", "SWV");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passphrase");
    let with = |content: &str| {
        std::fs::write(&file, content).unwrap();
        m.cmd()
            .env_remove("MDO_PASSPHRASE")
            .env("MDO_PASSPHRASE_FILE", &file)
            .args(["--json", "whoami"])
            .output()
            .unwrap()
    };
    let ok = with(&format!("{}\n", crate::support::PASS));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let said = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let empty = with("\n");
    assert!(!empty.status.success());
    assert!(said(&empty).contains("is empty"), "{}", said(&empty));
    let wrong = with("niet het goede wachtwoord\n");
    assert!(!wrong.status.success());
    let missing = m
        .cmd()
        .env_remove("MDO_PASSPHRASE")
        .env("MDO_PASSPHRASE_FILE", dir.path().join("nergens"))
        .args(["whoami"])
        .output()
        .unwrap();
    assert!(
        said(&missing).contains("MDO_PASSPHRASE_FILE"),
        "{}",
        said(&missing)
    );
}
