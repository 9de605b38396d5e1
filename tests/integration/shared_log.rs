//! The client's access log across copies (issue 17), with real processes over loopback: the
//! school's and the GGD's devices read Noor's case; after a sync the mother's device shows who
//! read what, in plain Dutch; removing one of the GGD's entries, or altering one, on her copy
//! shows as a problem; the school's and the GGD's professionals do not read each other's log.

use std::path::PathBuf;

use mdo::core::case::CompartmentKind;
use serde_json::Value;

use crate::net_sync::serve;
use crate::support::{Mdo, Noor, noor_profiles, texts};

fn db_of(m: &Mdo) -> PathBuf {
    crate::support::files_under(m.dir())
        .into_iter()
        .find(|f| f.file_name().is_some_and(|n| n == mdo::store::DB_FILE))
        .expect("the profile's database")
}

fn case_log(m: &Mdo, case: &str) -> Value {
    m.json(&["case", "log", case])
}

fn rows_of<'a>(log: &'a Value, who: &str) -> Vec<&'a Value> {
    log["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["who"].as_str().unwrap().contains(who))
        .collect()
}

/// The ids of the log chunks of participant `person` in `m`'s database, in storage order.
fn log_chunks(m: &Mdo, case: &str, person: &str) -> Vec<Vec<u8>> {
    let id = mdo_crypto::CaseId(hex::decode(case).unwrap().try_into().unwrap());
    let comp = CompartmentKind::Log(person.to_string()).id(id);
    let db = rusqlite::Connection::open(db_of(m)).unwrap();
    let mut st = db
        .prepare("SELECT id FROM chunks WHERE compartment = ?1 ORDER BY seq")
        .unwrap();
    st.query_map([comp.0.to_vec()], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn a_parent_sees_who_read_what_on_the_schools_and_the_ggds_devices_and_tampering_shows() {
    let Noor {
        chair,
        mother,
        arts,
        case,
        arts_id,
        ..
    } = noor_profiles();
    // The IB-er also writes in the school's safety track: the parents must not learn of it from
    // the log (UAVG art. 41).
    chair.json(&[
        "item",
        "add",
        &case,
        "--section",
        "notitie",
        "--text",
        "zorgmelding overwogen",
        "--audience",
        "safety",
        "--withhold-reason",
        "veiligheid van Noor; eerst overleg met Veilig Thuis",
        "--review",
        "2027-01-15",
    ]);
    let (_server, addr) = serve(&chair);
    let (_arts_node, arts_addr) = serve(&arts);
    arts.json(&["sync", &case, "--peer", &addr]);
    // The jeugdarts reads the case three times (each read is logged and published), the IB-er
    // once.
    for _ in 0..3 {
        assert!(texts(&arts, &case).contains(&"tekent graag".to_string()));
    }
    arts.json(&["sync", &case, "--peer", &addr]);
    texts(&chair, &case);
    // Ciphertext goes only to its readers (or a storage peer): the mother gets the GGD's log
    // from the jeugdarts' device, the school's from the IB-er's.
    mother.json(&["sync", &case, "--peer", &addr]);
    mother.json(&["sync", &case, "--peer", &arts_addr]);

    let log = case_log(&mother, &case);
    assert!(log["problems"].as_array().unwrap().is_empty(), "{log}");
    assert!(log["devices"].as_u64().unwrap() >= 2, "{log}");
    let anouk = rows_of(&log, "Anouk");
    let viewed: Vec<_> = anouk.iter().filter(|r| r["what"] == "bekeken").collect();
    assert!(viewed.len() >= 3, "the GGD's reads reach the mother: {log}");
    let line = viewed[0]["sentence"].as_str().unwrap();
    assert!(line.contains("jeugdarts, GGD JGZ"), "{line}");
    assert!(line.contains("2026") && line.contains("bekeken"), "{line}");
    assert!(
        !line.contains("doelgroep") && !line.contains("vaste lezer"),
        "{line}"
    );
    // No raw participant id on any line.
    for r in log["rows"].as_array().unwrap() {
        let s = r["sentence"].as_str().unwrap();
        assert!(!s.contains(&arts_id), "{s}");
    }
    let monique = rows_of(&log, "Monique");
    assert!(
        monique
            .iter()
            .any(|r| r["what"] == "bekeken" && r["organisation"] == "OBS De Wilgen"),
        "the school's reads reach the mother: {log}"
    );
    // The text form says whose logs are in, and every line is a Dutch sentence.
    let out = mother.run(&["case", "log", &case]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("andere apparaten vastlegden"), "{text}");

    // Nothing in what the mother's copy holds of the logs names the safety track, or any part
    // she may not read (decided by the part, not by who reads the log today: a reader who
    // joins later gets the history too).
    assert!(!log.to_string().contains("veiligheid"), "{log}");
    assert!(!log.to_string().contains("alle professionals"), "{log}");

    // A reader cannot write in someone else's log: the mother seals a batch in the jeugdarts'
    // log with the key she holds, claiming a read by the jeugdarts; it is refused and shown.
    let forged_id = {
        use mdo::core::sharedlog::{Batch, SharedEntry, zero};
        let mut s = mdo::profile::Session::open(mother.dir(), crate::support::PASS).unwrap();
        let id = s.resolve(&case).unwrap();
        let (c, _) = s.load(id).unwrap();
        let comp = CompartmentKind::Log(arts_id.clone()).id(id);
        let key = c.keyring(comp).unwrap().latest().unwrap().clone();
        let forged = Batch {
            seq: 1,
            prev: zero(),
            entries: vec![SharedEntry {
                time: 1,
                person: arts_id.clone(),
                name: "Anouk".into(),
                role: "jeugdarts".into(),
                organisation: "GGD JGZ".into(),
                action: "exporteren".into(),
                part: "professionals en ouders".into(),
                basis: String::new(),
                detail: "verzonnen".into(),
            }],
        };
        let sealed =
            mdo_crypto::envelope::seal(s.store().device(), &key, &[], &forged.encode()).unwrap();
        s.store_mut().store_envelope(&sealed.bytes).unwrap();
        sealed.id
    };
    let log = case_log(&mother, &case);
    assert!(!log.to_string().contains("verzonnen"), "{log}");
    assert!(
        log["problems"].to_string().contains("Sanne"),
        "the forged batch is named as damaged, from the mother's device: {log}"
    );
    assert_eq!(log["problems"].as_array().unwrap().len(), 1, "{log}");
    // Taken out again for what follows.
    rusqlite::Connection::open(db_of(&mother))
        .unwrap()
        .execute("DELETE FROM chunks WHERE id = ?1", [forged_id.0.to_vec()])
        .unwrap();

    // The professionals do not read each other's log: the IB-er sees no read by the jeugdarts.
    let chair_log = case_log(&chair, &case);
    assert!(rows_of(&chair_log, "Anouk").is_empty(), "{chair_log}");

    // Removing one of the GGD's published entries on the mother's copy shows.
    let chunks = log_chunks(&mother, &case, &arts_id);
    assert!(chunks.len() >= 3, "{}", chunks.len());
    {
        let db = rusqlite::Connection::open(db_of(&mother)).unwrap();
        db.execute("DELETE FROM chunks WHERE id = ?1", [&chunks[1]])
            .unwrap();
    }
    let log = case_log(&mother, &case);
    let problems = log["problems"].to_string();
    assert!(
        problems.contains("ontbreken") && problems.contains("Anouk"),
        "{log}"
    );

    // Altering one on her copy shows too (and is kept as evidence).
    {
        let db = rusqlite::Connection::open(db_of(&mother)).unwrap();
        let bytes: Vec<u8> = db
            .query_row(
                "SELECT bytes FROM chunks WHERE id = ?1",
                [&chunks[2]],
                |r| r.get(0),
            )
            .unwrap();
        let mut changed = bytes.clone();
        let mid = changed.len() / 2;
        changed[mid] ^= 0x01;
        db.execute(
            "UPDATE chunks SET bytes = ?1 WHERE id = ?2",
            rusqlite::params![changed, chunks[2]],
        )
        .unwrap();
    }
    let log = case_log(&mother, &case);
    let problems = log["problems"].to_string();
    assert!(problems.contains("veranderd of beschadigd"), "{log}");
    // Shown again on the next read: the altered chunk stays as evidence.
    let again = case_log(&mother, &case);
    assert!(
        again["problems"]
            .to_string()
            .contains("veranderd of beschadigd")
    );
}
