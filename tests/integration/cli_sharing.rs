//! The sharing commands end to end with real `mdo` processes and three profiles (the IB-er who
//! chairs, a mother, the jeugdarts) that exchange ciphertext bundles as they would on a USB
//! stick: consent grant/withdraw/list, member list/remove, item move, case audit, and the
//! access log (including tampering).

use serde_json::Value;

use crate::support::{Mdo, Noor, carry, consent_in, noor_profiles, texts, whoami};

#[test]
fn consent_moves_a_medical_finding_to_the_ib_er_and_withdrawal_stops_new_ones() {
    let Noor {
        chair,
        mother,
        arts,
        case,
        chair_id,
        mother_id,
        arts_id,
    } = noor_profiles();
    carry(&chair, &mother, &case);
    carry(&chair, &arts, &case);
    assert!(texts(&mother, &case).contains(&"tekent graag".to_string()));

    // The jeugdarts writes a finding in her medical compartment.
    arts.json(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "slaapt slecht",
        "--category",
        "medisch",
    ]);
    carry(&arts, &chair, &case);
    carry(&arts, &mother, &case);
    assert!(!texts(&chair, &case).contains(&"slaapt slecht".to_string()));
    assert!(!texts(&mother, &case).contains(&"slaapt slecht".to_string()));
    // The IB-er cannot write medical content.
    let err = chair.fails(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "x",
        "--category",
        "medisch",
    ]);
    assert!(err.contains("no access"), "{err}");

    // A consent names its source: without one it is refused, in words a person can act on.
    let no_source = arts.fails(&[
        "consent",
        "grant",
        &case,
        "--by",
        &mother_id,
        "--category",
        "medisch",
        "--to",
        &chair_id,
        "--until",
        "2027-07-31",
        "--purpose",
        "slaap bespreken",
    ]);
    assert!(no_source.contains("van welke organisatie"), "{no_source}");

    // The mother (the only parent with gezag, Noor is 9) consents to share with the IB-er; the
    // jeugdarts, who holds the finding, records it (the IB-er may not record her own access).
    let refused = chair.fails(&[
        "consent",
        "grant",
        &case,
        "--by",
        &mother_id,
        "--category",
        "medisch",
        "--source",
        "GGD JGZ",
        "--to",
        &chair_id,
        "--until",
        "2027-07-31",
        "--purpose",
        "slaap bespreken",
    ]);
    assert!(
        refused.contains("only the holder of the information"),
        "{refused}"
    );
    let consent = arts.json(&[
        "consent",
        "grant",
        &case,
        "--by",
        &mother_id,
        "--category",
        "medisch",
        "--source",
        "GGD JGZ",
        "--to",
        &chair_id,
        "--until",
        "2027-07-31",
        "--how",
        "oral",
        "--purpose",
        "slaap bespreken",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Consent given — and the finding stays with the GGD until the jeugdarts releases it.
    carry(&arts, &chair, &case);
    let list = consent_in(&chair.json(&["consent", "list", &case]), &consent);
    assert_eq!(list["status"]["state"], "active");
    assert_eq!(list["status"]["awaiting_release"][0], "GGD JGZ");
    assert!(!texts(&chair, &case).contains(&"slaapt slecht".to_string()));
    let not_hers = chair.fails(&["consent", "release", &case, &consent]);
    assert!(
        not_hers.contains("only a medical professional"),
        "{not_hers}"
    );
    arts.json(&[
        "consent",
        "release",
        &case,
        &consent,
        "--note",
        "slaapadvies mag naar school",
    ]);
    // The jeugdarts' device hands the key over with the release.
    let back = carry(&arts, &chair, &case);
    assert!(back["new"].as_u64().unwrap() > 0);
    assert!(texts(&chair, &case).contains(&"slaapt slecht".to_string()));
    carry(&arts, &mother, &case);
    assert!(!texts(&mother, &case).contains(&"slaapt slecht".to_string()));

    // Audit: the finding is readable by the jeugdarts and the IB-er, not by the mother.
    let audit = chair.json(&["case", "audit", &case]);
    let item = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["text"] == "slaapt slecht")
        .unwrap();
    let readers: Vec<&str> = item["readers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(readers.contains(&chair_id.as_str()) && readers.contains(&arts_id.as_str()));
    assert!(!readers.contains(&mother_id.as_str()));

    // The mother withdraws on her own device; the jeugdarts' next write is not readable to the IB-er.
    carry(&chair, &mother, &case);
    let out = mother.run(&["consent", "withdraw", &case, &consent]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("blijft bij wie het al ontving"));
    carry(&mother, &arts, &case);
    arts.json(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "huisarts verwijst door",
        "--category",
        "medisch",
    ]);
    carry(&arts, &chair, &case);
    let seen = texts(&chair, &case);
    assert!(
        seen.contains(&"slaapt slecht".to_string()),
        "what was shared stays"
    );
    assert!(!seen.contains(&"huisarts verwijst door".to_string()));
    assert_eq!(
        consent_in(&chair.json(&["consent", "list", &case]), &consent)["status"]["state"],
        "withdrawn"
    );

    // A new consent: the IB-er now also reads what was written while she had none (the chunk
    // waited in her store, it was not thrown away).
    let again = arts.json(&[
        "consent",
        "grant",
        &case,
        "--by",
        &mother_id,
        "--category",
        "medisch",
        "--source",
        "GGD JGZ",
        "--to",
        &chair_id,
        "--until",
        "2027-07-31",
        "--purpose",
        "verwijzing bespreken",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    arts.json(&["consent", "release", &case, &again]);
    carry(&chair, &arts, &case);
    carry(&arts, &chair, &case);
    assert!(texts(&chair, &case).contains(&"huisarts verwijst door".to_string()));

    // The log of each copy tells who did what on what basis.
    let log = chair.json(&["log", &case]);
    let entries = log.as_array().unwrap();
    // (The consents were recorded on the jeugdarts' device: her log has them.)
    let arts_log = arts.json(&["log", &case]);
    assert!(
        arts_log
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "consent")
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "view" && e["basis"].as_str().unwrap().contains("toestemming"))
    );
    let mlog = mother.json(&["log", &case]);
    assert!(
        mlog.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "consent"
                && e["detail"].as_str().unwrap().contains("ingetrokken"))
    );
    let alog = arts.json(&["log", &case]);
    assert!(
        alog.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "share" && e["detail"].as_str().unwrap().contains(&chair_id))
    );
}

#[test]
fn member_list_remove_move_and_a_tampered_log() {
    let chair = Mdo::new();
    let teacher = Mdo::new();
    chair.init("Monique", "ib-er", "OBS");
    teacher.init("Jeroen", "leerkracht", "OBS");
    let (_, teacher_identity) = whoami(&teacher);
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
    let teacher_id = chair.json(&[
        "participant",
        "add",
        &case,
        "--name",
        "Jeroen",
        "--role",
        "leerkracht",
        "--org",
        "OBS",
        "--identity",
        &teacher_identity,
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let members = chair.json(&["member", "list", &case]);
    assert_eq!(members.as_array().unwrap().len(), 2);
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == teacher_id.as_str() && m["name"] == "Jeroen")
    );
    let item = chair.json(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "intern",
        // (a note defaults to the writer's organisation: written for the parents here, to move)
        "--audience",
        "parents",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = chair.run(&["item", "move", &case, &item, "--audience", "organisation"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("blijft bij wie het al ontving"));
    let shown = chair.json(&["case", "show", &case]);
    assert_eq!(shown["items"][0]["audience"], "organisation");
    carry(&chair, &teacher, &case);
    assert!(texts(&teacher, &case).contains(&"intern".to_string()));

    // Non-admins cannot remove; the chair can; the removed teacher gets nothing new.
    let err = teacher.fails(&["member", "remove", &case, &teacher_id]);
    assert!(err.contains("chair"), "{err}");
    chair.json(&[
        "member",
        "remove",
        &case,
        &teacher_id,
        "--reason",
        "ander werk",
    ]);
    let err = chair.fails(&["member", "remove", &case, "nobody"]);
    assert!(err.contains("no participant"), "{err}");
    chair.json(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "na vertrek",
        "--audience",
        "organisation",
    ]);
    carry(&chair, &teacher, &case);
    let seen = texts(&teacher, &case);
    assert!(seen.contains(&"intern".to_string()) && !seen.contains(&"na vertrek".to_string()));
    let members = chair.json(&["member", "list", &case]);
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == teacher_id.as_str() && m["status"] == "removed")
    );

    // Tampering with the access log is detected.
    assert!(!chair.json(&["log"]).as_array().unwrap().is_empty());
    let db = rusqlite::Connection::open(chair.dir().join("mdo.sqlite")).unwrap();
    db.execute(
        "DELETE FROM access_log WHERE seq = (SELECT MAX(seq) FROM access_log)",
        [],
    )
    .unwrap();
    drop(db);
    let err = chair.fails(&["log"]);
    assert!(err.contains("tampered"), "{err}");
}

/// Issue 13 #13 (the threat model's stolen-laptop remedy): a parent adds her phone as a second
/// device from the device she has; it reads the case. The phone is lost: the chair removes that
/// one device; keys rotate away from it, and the mother's laptop keeps working.
#[test]
fn a_second_device_is_added_and_a_lost_one_removed_alone() {
    let n = crate::support::noor_profiles();
    carry(&n.chair, &n.mother, &n.case);
    let phone = Mdo::new();
    phone.init("Sanne", "ouder", "");
    let phone_device = phone.json(&["whoami"])["device"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, phone_identity) = crate::support::whoami(&phone);
    n.mother.json(&[
        "member",
        "device-add",
        &n.case,
        "--identity",
        &phone_identity,
    ]);
    carry(&n.mother, &phone, &n.case);
    assert!(crate::support::texts(&phone, &n.case).contains(&"tekent graag".to_string()));
    // The chair learns of the phone, and removes it when it is lost.
    carry(&n.mother, &n.chair, &n.case);
    let out = n
        .chair
        .run(&["member", "device-remove", &n.case, &phone_device]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("blijft bij wie het al ontving"));
    let members = n.chair.json(&["member", "list", &n.case]);
    let mother = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == n.mother_id.as_str())
        .unwrap();
    assert_eq!(mother["status"], "active", "{mother}");
    n.chair.json(&[
        "item",
        "add",
        &n.case,
        "--section",
        "thuis.plus",
        "--text",
        "na het verlies van de telefoon",
        "--audience",
        "parents",
    ]);
    carry(&n.chair, &n.mother, &n.case);
    carry(&n.chair, &phone, &n.case);
    assert!(
        crate::support::texts(&n.mother, &n.case)
            .contains(&"na het verlies van de telefoon".to_string()),
        "her laptop keeps working"
    );
    assert!(
        !crate::support::texts(&phone, &n.case)
            .contains(&"na het verlies van de telefoon".to_string()),
        "the lost phone reads nothing new"
    );
}

/// Scenario 5 (`shared/scenarios.md`), Daan, with real `mdo` processes on four devices and the
/// case carried between them as ciphertext bundles: Daan (15) refuses on his own device to let
/// his GGZ information go to school while his mother agrees on hers — the sharing stays blocked
/// and the team sees whose "no" it is; the school keeps a note in its safety track, invisible
/// to the mother, with its reason and review date; weeks before his 16th birthday the CLI says
/// what changes. (What happens on and after the birthday: `sharing::daan_…` and
/// `sharing::from_12_…`, in process with a clock that can move.)
#[test]
fn daan_refuses_on_his_own_device_and_the_school_part_stays_with_his_mother() {
    let zoco = Mdo::new();
    let mother = Mdo::new();
    let daan = Mdo::new();
    let ggz = Mdo::new();
    zoco.init("Karin", "zoco", "Het Lyceum");
    mother.init("Miriam", "ouder", "");
    daan.init("Daan", "kind", "");
    ggz.init("Ahmed", "gezondheidszorg", "Accare");
    // Daan turns 16 in a few weeks (within the 90-day notice), counted from today's clock.
    let today = time::OffsetDateTime::now_utc().date();
    // (40 days ahead; a 29 February moves to the 28th, which has a 16 years earlier.)
    let mut birthday = today + time::Duration::days(40);
    if birthday.month() == time::Month::February && birthday.day() == 29 {
        birthday -= time::Duration::days(1);
    }
    let birthdate =
        mdo::core::model::format_date(birthday.replace_year(birthday.year() - 16).unwrap());
    let case = zoco.json(&[
        "case",
        "new",
        "--child",
        "Daan de Boer",
        "--birthdate",
        &birthdate,
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let add = |who: &Mdo, name: &str, role: &str, org: &str, custody: bool| -> String {
        let (_, identity) = whoami(who);
        let mut args = vec![
            "participant",
            "add",
            &case,
            "--name",
            name,
            "--role",
            role,
            "--org",
            org,
            "--identity",
            &identity,
        ];
        if custody {
            args.push("--custody");
        }
        zoco.json(&args)["id"].as_str().unwrap().to_string()
    };
    let mother_id = add(&mother, "Miriam", "ouder", "", true);
    let daan_id = add(&daan, "Daan", "kind", "", false);
    // Accare joins only once Miriam and Daan agreed to it (seed 000:17, 000:25).
    let (_, ggz_identity) = whoami(&ggz);
    let refused = zoco.fails(&[
        "participant",
        "add",
        &case,
        "--name",
        "Ahmed",
        "--role",
        "gezondheidszorg",
        "--org",
        "Accare",
        "--identity",
        &ggz_identity,
    ]);
    assert!(refused.contains("Leg eerst vast"), "{refused}");
    zoco.at_table(&case, &format!("{mother_id},{daan_id}"), "Accare");
    add(&ggz, "Ahmed", "gezondheidszorg", "Accare", false);
    for d in [&mother, &daan, &ggz] {
        carry(&zoco, d, &case);
    }

    // The GGZ worker's report, and his question to Daan and his mother.
    ggz.json(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "GGZ: angstklachten",
        "--category",
        "ggz",
    ]);
    let q = ggz.json(&[
        "consent",
        "grant",
        &case,
        "--category",
        "ggz",
        "--source",
        "Accare",
        "--to",
        "org:Het Lyceum",
        "--until",
        "2027-12-31",
        "--purpose",
        "de school weet waarom Daan soms wegblijft",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    carry(&ggz, &mother, &case);
    mother.json(&["consent", "answer", &case, &q, "--how", "digital"]);
    carry(&mother, &daan, &case);
    let out = daan.run(&[
        "consent",
        "answer",
        &case,
        &q,
        "--refuse",
        "--how",
        "digital",
        "--note",
        "mijn mentor hoeft dit niet te weten",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("geweigerd"));
    // His access log records the act in words, without his note.
    let log = daan.json(&["log", &case]);
    let acts: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "consent")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert!(
        acts.iter().any(|d| d.contains("geweigerd door")),
        "{acts:?}"
    );
    assert!(!log.to_string().contains("mentor hoeft"), "{log}");
    // Miriam cannot turn it into a yes for him.
    let err = mother.fails(&["consent", "answer", &case, &q, "--by", &daan_id]);
    assert!(err.contains("alleen uw eigen"), "{err}");
    carry(&daan, &ggz, &case);
    // Nor can the GGZ worker release it: Daan's no blocks.
    let err = ggz.fails(&["consent", "release", &case, &q]);
    assert!(err.contains("vrijgeven kan pas"), "{err}");
    carry(&ggz, &zoco, &case);
    let status = consent_in(&zoco.json(&["consent", "list", &case]), &q);
    assert_eq!(status["status"]["state"], "refused");
    assert_eq!(status["status"]["refused"][0], daan_id.as_str());
    assert!(
        !texts(&zoco, &case)
            .iter()
            .any(|t| t.contains("angstklachten"))
    );

    // The school keeps a note from the parents — with its reason and review date.
    let err = zoco.fails(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "meldcode: stap 2 gezet",
        "--audience",
        "safety",
    ]);
    assert!(err.contains("schrijf op waarom"), "{err}");
    let review = mdo::core::model::format_date(today + time::Duration::days(10));
    zoco.json(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "meldcode: stap 2 gezet",
        "--audience",
        "safety",
        "--withhold-reason",
        "veiligheid van Daan; eerst overleg met Veilig Thuis",
        "--review",
        &review,
    ]);
    zoco.json(&[
        "item",
        "add",
        &case,
        "--section",
        "school.plus",
        "--text",
        "komt weer vaker op school",
    ]);
    carry(&zoco, &mother, &case);
    carry(&zoco, &daan, &case);
    let hers = texts(&mother, &case);
    assert!(
        hers.contains(&"komt weer vaker op school".to_string()),
        "{hers:?}"
    );
    assert!(!hers.iter().any(|t| t.contains("meldcode")), "{hers:?}");
    assert!(!hers.iter().any(|t| t.contains("angstklachten")));
    assert!(texts(&daan, &case).contains(&"komt weer vaker op school".to_string()));
    let shown = zoco.json(&["case", "show", &case]);
    let note = shown["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["text"] == "meldcode: stap 2 gezet")
        .unwrap()
        .clone();
    assert_eq!(note["review"], review.as_str(), "{note}");

    // Weeks before his 16th birthday the CLI says what will change.
    let out = zoco.run(&["consent", "list", &case]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("wordt Daan 16"), "{said}");
    assert!(said.contains("tot Daan 18 is"), "{said}");
}

/// Closing a case starts each organisation's own retention (issue 17): the chair closes it with
/// a reason, nothing more is written, the school's part goes after 2 years and the GGD's medical
/// part after 20 (WGBO art. 7:454); the jeugdarts cannot shorten that below the law's 20 years
/// but may keep it longer, and every device computes the same dates.
#[test]
fn closing_a_case_starts_each_organisations_retention() {
    let Noor {
        chair,
        mother,
        arts,
        case,
        ..
    } = with_a_medical_finding();
    let before = chair.json(&["case", "retention", &case]);
    assert!(before["closed"].is_null());
    assert!(
        before["parts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["destroy_on"].is_null()),
        "{before}"
    );

    // Only the chair closes, and says why.
    carry(&chair, &mother, &case);
    let err = mother.fails(&["case", "close", &case, "--reason", "klaar"]);
    assert!(err.contains("voorzitter"), "{err}");
    let err = chair.fails(&["case", "close", &case, "--reason", " "]);
    assert!(err.contains("waarom"), "{err}");
    chair.json(&[
        "case",
        "close",
        &case,
        "--reason",
        "de afspraken zijn uitgevoerd, het gaat goed met Noor",
    ]);
    // A closed case is not changed.
    let err = chair.fails(&[
        "item",
        "add",
        &case,
        "--section",
        "kind.plus",
        "--text",
        "nog iets",
    ]);
    assert!(err.contains("afgesloten"), "{err}");
    // Not by any other flow either (a case fact, a circle).
    let err = chair.fails(&["case", "set", &case, "school", "De Linde"]);
    assert!(err.contains("afgesloten"), "{err}");

    let plan = chair.json(&["case", "retention", &case]);
    let closed_on = plan["closed"]["on"].as_str().unwrap().to_string();
    let year: i32 = closed_on[..4].parse().unwrap();
    let part = |plan: &Value, descriptor: &str| {
        plan["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["compartment"] == descriptor)
            .cloned()
            .unwrap_or_else(|| panic!("no {descriptor} in {plan}"))
    };
    let shared = part(&plan, "parents");
    assert_eq!(shared["organisation"], "OBS De Wilgen");
    assert_eq!(shared["controller"], "school");
    // The MDO file shared by everyone at the table holds what the GGD's jeugdarts wrote there
    // too: it is kept as long as the longest minimum at the table (20 years, WGBO).
    assert_eq!(
        shared["destroy_on"],
        format!("{}{}", year + 20, &closed_on[4..]).as_str()
    );
    // The GGD's medical part is shown on the GGD's devices, not on the school's (its name is not
    // the school's to read).
    assert!(!plan.to_string().contains("category:medisch"), "{plan}");
    carry(&chair, &arts, &case);
    let arts_plan = arts.json(&["case", "retention", &case]);
    let medical = part(&arts_plan, "category:medisch:GGD JGZ");
    assert_eq!(medical["controller"], "zorg");
    assert_eq!(medical["term"]["years"], 20);
    assert!(
        medical["term"]["source"]
            .as_str()
            .unwrap()
            .contains("7:454 lid 3")
    );
    assert_eq!(
        medical["destroy_on"],
        format!("{}{}", year + 20, &closed_on[4..]).as_str()
    );

    // The jeugdarts sets her organisation's term: never below the law's minimum.
    let err = arts.fails(&[
        "case",
        "retention",
        &case,
        "--years",
        "10",
        "--reason",
        "korter",
    ]);
    assert!(err.contains("minstens 20 jaar"), "{err}");
    arts.json(&[
        "case",
        "retention",
        &case,
        "--years",
        "25",
        "--reason",
        "vervolgzorg tot na de puberteit",
    ]);
    // Not for another organisation's part: the IB-er's own setting is for her school.
    chair.json(&[
        "case",
        "retention",
        &case,
        "--years",
        "5",
        "--reason",
        "het OPP loopt mee naar het vervolgonderwijs",
    ]);
    carry(&arts, &chair, &case);
    carry(&chair, &mother, &case);
    carry(&chair, &arts, &case);
    assert_eq!(
        part(
            &arts.json(&["case", "retention", &case]),
            "category:medisch:GGD JGZ"
        )["destroy_on"],
        format!("{}{}", year + 25, &closed_on[4..]).as_str()
    );
    for device in [&chair, &mother, &arts] {
        let plan = device.json(&["case", "retention", &case]);
        // The school's own 5 years do not shorten the shared file below the GGD's 20.
        assert_eq!(
            part(&plan, "parents")["destroy_on"],
            format!("{}{}", year + 20, &closed_on[4..]).as_str(),
            "every device computes the same date"
        );
    }
    let text = String::from_utf8(chair.run(&["case", "retention", &case]).stdout).unwrap();
    assert!(text.contains("afgesloten op"), "{text}");
    assert!(text.contains("vernietigd op"), "{text}");

    // Reopened: writing is possible again, and the terms wait for the next closing.
    chair.json(&[
        "case",
        "reopen",
        &case,
        "--reason",
        "nieuwe zorgen na de zomer",
    ]);
    chair.json(&[
        "item",
        "add",
        &case,
        "--section",
        "kind.min",
        "--text",
        "valt terug",
    ]);
    let plan = chair.json(&["case", "retention", &case]);
    assert!(plan["closed"].is_null());
}

/// A device of a person is never admitted without the code comparison (it would read all they
/// read, in all their cases).
#[test]
fn a_device_invite_never_skips_the_code_comparison() {
    let n = crate::support::noor_profiles();
    let err = n
        .mother
        .fails(&["invite", &n.case, "--my-device", "--auto-accept"]);
    assert!(err.contains("cannot be used with"), "{err}");
    let err = n.chair.fails(&[
        "invite",
        &n.case,
        "--device-of",
        &n.mother_id,
        "--auto-accept",
    ]);
    assert!(err.contains("cannot be used with"), "{err}");
}

/// A mother asks for her inzage (AVG art. 15): everything her copy holds about Noor, with who
/// read what on it, as a PDF she can read (read back with poppler) and a JSON; the jeugdarts'
/// medical part is named as held encrypted, never opened; the export is itself in the log.
#[test]
fn a_parent_gets_her_inzage_as_pdf_and_json() {
    let Noor {
        chair,
        mother,
        case,
        ..
    } = with_a_medical_finding();
    carry(&chair, &mother, &case);
    mother.json(&["case", "show", &case]);
    let dir = tempfile::tempdir().unwrap();
    let out = mother.json(&[
        "export",
        &case,
        "--format",
        "inzage",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let files: Vec<std::path::PathBuf> = out["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| std::path::PathBuf::from(f.as_str().unwrap()))
        .collect();
    assert_eq!(files.len(), 2);
    let json: Value = serde_json::from_slice(&std::fs::read(&files[1]).unwrap()).unwrap();
    let text = json.to_string();
    assert!(text.contains("tekent graag"), "{text}");
    assert!(
        !text.contains("slaapt slecht"),
        "medical text never in her inzage"
    );
    // What she cannot read is not named either (its name can be what is kept from her).
    assert!(!text.contains("category:medisch"), "{text}");
    assert!(
        json["access_log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "view"),
        "her own reading is in it"
    );
    assert!(
        json["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Sanne")
    );
    // What the school's devices logged reaches her inzage too (issue 17), without parts she may
    // not read.
    assert!(
        json["access_log_others"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["who"].as_str().unwrap().contains("Monique")),
        "{}",
        json["access_log_others"]
    );
    assert!(json["access_log_problems"].as_array().unwrap().is_empty());
    let pdf = crate::traject::pdftotext(&files[0]);
    for want in [
        "Inzage: Noor",
        "tekent graag",
        "Wie heeft wat gelezen of gewijzigd",
        "bij de anderen",
        "Bewaren en vernietigen",
    ] {
        assert!(pdf.contains(want), "'{want}' in\n{pdf}");
    }
    assert!(!pdf.contains("slaapt slecht"));
    // Why someone could read it, in words, as in the app's Logboek (no "vaste lezer", no ids).
    let flat = pdf.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("door zijn of haar rol in het MDO"), "{pdf}");
    assert!(!flat.contains("vaste lezer van dit deel"), "{pdf}");
    // The export is logged (NEN 7513).
    let log = mother.json(&["log", &case]);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "export" && e["detail"] == "inzage"),
        "{log}"
    );
}

/// Noor's three profiles, with a medical finding the jeugdarts wrote in her own compartment
/// ("slaapt slecht"), carried to the chair.
fn with_a_medical_finding() -> Noor {
    let n = noor_profiles();
    carry(&n.chair, &n.arts, &n.case);
    n.arts.json(&[
        "item",
        "add",
        &n.case,
        "--section",
        "notitie",
        "--text",
        "slaapt slecht",
        "--category",
        "medisch",
    ]);
    carry(&n.arts, &n.chair, &n.case);
    n
}
