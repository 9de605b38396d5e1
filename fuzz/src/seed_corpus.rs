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
    Ok(())
}
