//! Writes seed inputs for the fuzz targets (`cargo run --bin seed_corpus` in `fuzz/`): genuine
//! chunk payloads (a change list and a snapshot) and the Automerge crashers we keep.

use std::fs;

use mdo::core::doc::{AgreementData, CompartmentDoc, ItemData};
use mdo::core::model::{AgreementStatus, Section};

fn main() -> std::io::Result<()> {
    let mut d = CompartmentDoc::new();
    let item = ItemData {
        id: "a1".into(),
        section: Section::Vragen,
        text: "hoe gaat het na de pauze?".into(),
        author: "monique".into(),
        created: 1,
        order: 1.0,
        parent: None,
        by: None,
        withheld: None,
        review: None,
        term: None,
        status: None,
    };
    d.add_item(&item).map_err(std::io::Error::other)?;
    let ag = AgreementData {
        id: "g1".into(),
        wie: "Jeroen".into(),
        wat: "dagritmekaart".into(),
        waarom: String::new(),
        wanneer: String::new(),
        hoe: String::new(),
        owner: "jeroen".into(),
        due: String::new(),
        status: AgreementStatus::Open,
        evaluation: String::new(),
        author: "monique".into(),
        created: 2,
        goal: String::new(),
        note: String::new(),
        obligation: false,
        delivered: false,
        meeting: String::new(),
    };
    d.add_agreement(&ag).map_err(std::io::Error::other)?;
    fs::create_dir_all("corpus/chunk_payload")?;
    fs::create_dir_all("corpus/automerge_load")?;
    if let Some(changes) = d.take_changes() {
        fs::write("corpus/chunk_payload/changes", changes)?;
    }
    let snapshot = d.snapshot_payload();
    fs::write("corpus/automerge_load/snapshot", &snapshot[1..])?;
    fs::write("corpus/chunk_payload/snapshot", snapshot)?;
    for entry in fs::read_dir("../tests/fixtures/automerge-crashers")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "bin") {
            let bytes = fs::read(&path)?;
            let mut p = vec![mdo::core::doc::PAYLOAD_SNAPSHOT];
            p.extend_from_slice(&bytes);
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            fs::write(format!("corpus/chunk_payload/{name}"), p)?;
        }
    }
    membership_seeds()
}

/// Real ops of a case (participants, a consent, a withdrawal, key work) as raw ops (mode 0) and
/// as bodies (mode 1), and a bundle of them.
fn membership_seeds() -> std::io::Result<()> {
    use mdo::core::case::{Case, Me};
    use mdo::core::doc::ParticipantData;
    use mdo::core::membership::{Action, Basis, ConsentSpec, Recipient};
    use mdo::core::model::{ConsentCategory, ConsentHow, Role};
    use mdo::crypto::DeviceSecret;
    let dev = DeviceSecret::generate().map_err(std::io::Error::other)?;
    let me = Me {
        person: "chair".into(),
        name: "chair".into(),
        role: Role::IbEr,
        organisation: "OBS".into(),
        device: dev.device_id(),
    };
    let today = time::macros::date!(2026 - 11 - 23);
    let mut c = Case::create(&me, &dev, "Kind", "2014-01-01", "OBS", "8", today, 0).map_err(std::io::Error::other)?;
    let other = DeviceSecret::generate().map_err(std::io::Error::other)?;
    c.add_participant(
        &dev,
        ParticipantData {
            id: "sanne".into(),
            name: "Sanne".into(),
            role: "ouder".into(),
            organisation: String::new(),
            custody: true,
            chair: false,
            devices: vec![],
        },
        Some(other.public_identity().clone()),
    )
    .map_err(std::io::Error::other)?;
    c.membership(
        &dev,
        Action::Grant {
            record: ConsentSpec {
                id: "c1".into(),
                basis: Basis::Consent { consenters: vec!["sanne".into()], how: ConsentHow::Oral },
                purpose: "MDO".into(),
                // The MDO file with another organisation (a medical record is granted by its
                // holder only, not by the chair).
                categories: vec![ConsentCategory::Dossier],
                recipients: vec![Recipient::Organisation("GGD".into())],
                sources: vec![],
                from: "2026-01-01".into(),
                until: "2027-01-01".into(),
            },
        },
    )
    .map_err(std::io::Error::other)?;
    c.membership(
        &dev,
        Action::Withdraw { consent: "c1".into(), by: "sanne".into(), note: String::new() },
    )
    .map_err(std::io::Error::other)?;
    // Issue 17: an organisation's own retention term, closing and reopening the case.
    for action in [
        Action::SetRetention { organisation: "OBS".into(), years: 5, reason: "OPP gaat mee".into() },
        Action::Close { reason: "afgerond".into() },
        Action::Reopen { reason: "nieuwe zorgen".into() },
    ] {
        c.membership(&dev, action).map_err(std::io::Error::other)?;
    }
    fs::create_dir_all("corpus/membership_op")?;
    fs::create_dir_all("corpus/bundle")?;
    let mut entries = Vec::new();
    for (i, op) in c.log().all().enumerate() {
        let mut raw = vec![0u8];
        raw.extend_from_slice(&op.bytes);
        fs::write(format!("corpus/membership_op/op{i}"), raw)?;
        let mut body = vec![1u8];
        body.extend(serde_json::to_vec(&op.body).map_err(std::io::Error::other)?);
        fs::write(format!("corpus/membership_op/body{i}"), body)?;
        entries.push((mdo::store::bundle::Kind::Op, op.bytes.clone()));
    }
    fs::write("corpus/bundle/ops", mdo::store::bundle::encode(c.id, &entries))?;
    // Issue 17: the destruction ops' bodies, and a format-2 op with some key material dropped.
    if let Some(last) = c.log().all().last() {
        let bodies = [
            Action::RequestDestruction { request: "vv-1".into(), organisation: "OBS".into() },
            Action::AnswerDestruction {
                request: "vv-1".into(),
                granted: true,
                ground: "AVG art. 17".into(),
                reason: "op verzoek".into(),
            },
            Action::Destroy {
                organisation: "OBS".into(),
                compartments: vec!["organisation:OBS".into(), "parents".into()],
                ground: mdo::core::membership::DestroyGround::Request { request: "vv-1".into() },
                exceptions: String::new(),
            },
            Action::Destroy {
                organisation: "OBS".into(),
                compartments: vec!["log:chair".into()],
                ground: mdo::core::membership::DestroyGround::Retention,
                exceptions: "geen".into(),
            },
        ];
        for (i, action) in bodies.into_iter().enumerate() {
            let mut body = last.body.clone();
            body.action = action;
            let mut raw = vec![1u8];
            raw.extend(serde_json::to_vec(&body).map_err(std::io::Error::other)?);
            fs::write(format!("corpus/membership_op/destroy{i}"), raw)?;
        }
    }
    for (i, op) in c.log().all().enumerate() {
        let some = op.material_of();
        if let Some(first) = some.iter().next()
            && let Ok(Some(stripped)) = op.without_material(&[*first].into_iter().collect())
        {
            let mut raw = vec![0u8];
            raw.extend_from_slice(&stripped.bytes);
            fs::write(format!("corpus/membership_op/stripped{i}"), raw)?;
        }
    }
    // The access log's batches (issue 17).
    fs::create_dir_all("corpus/access_log")?;
    let batch = mdo::core::sharedlog::Batch {
        seq: 1,
        prev: mdo::core::sharedlog::zero(),
        entries: vec![mdo::core::sharedlog::SharedEntry {
            time: 1_795_000_000,
            person: "chair".into(),
            name: "Monique".into(),
            role: "ib-er".into(),
            organisation: "OBS".into(),
            action: "inzien".into(),
            part: "professionals en ouders".into(),
            basis: "vaste lezer van dit deel".into(),
            detail: String::new(),
        }],
    };
    fs::write("corpus/access_log/batch", batch.encode())?;
    fs::create_dir_all("corpus/invite")?;
    let ticket = mdo::net::ticket::Ticket {
        case: c.id,
        node: [7; 32],
        addrs: vec!["127.0.0.1:4000".parse().map_err(std::io::Error::other)?],
        relay: Some("https://relay.example.nl/".parse().map_err(std::io::Error::other)?),
        secret: [9; 16],
        expiry: 1_800_000_000,
    };
    fs::write("corpus/invite/ticket", ticket.encode())?;
    fs::write(
        "corpus/invite/request",
        format!(
            r#"{{"case":"{}","secret":"{}","identity":"{}","name":"Sanne"}}"#,
            c.id,
            "09".repeat(16),
            hex::encode(other.public_identity().to_bytes())
        ),
    )?;
    fs::write("corpus/invite/answer", r#"{"status":"pending","code":"123-456"}"#)?;
    fs::create_dir_all("corpus/sync_msg")?;
    use mdo::core::sync::Msg;
    let seeds = [
        Msg::Hello { version: mdo::core::sync::VERSION, cases: vec![c.id] },
        Msg::Addrs { entries: vec![(mdo::crypto::DeviceId([7; 32]), "ab@127.0.0.1:4000,http://10.0.0.1:3340/".into())] },
        Msg::OpSummary { case: c.id, count: 3, fingerprint: [7; 32] },
        Msg::OpHave { case: c.id, ids: c.log().heads() },
        Msg::Op { case: c.id, bytes: entries[0].1.clone() },
        Msg::OpsDone { case: c.id },
        Msg::ChunkSummary { case: c.id, entries: vec![(mdo::crypto::CompartmentId([1; 16]), 2, [3; 32])] },
        Msg::ChunkHave { case: c.id, entries: vec![(mdo::crypto::CompartmentId([1; 16]), vec![mdo::crypto::ChunkId([2; 32])])] },
        Msg::Done { case: c.id },
        Msg::Refuse { reason: "onbekend".into() },
    ];
    for (i, m) in seeds.iter().enumerate() {
        fs::write(format!("corpus/sync_msg/m{i}"), &m.encode()[4..])?;
    }
    Ok(())
}
