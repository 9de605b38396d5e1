//! Writes a seed corpus for the fuzz targets: `cargo run --bin seed_corpus` in `crypto/fuzz`
//! fills `corpus/<target>/` with genuine inputs so the fuzzer starts from valid structures.

use std::fs;

use mdo_crypto::{CaseId, ChunkId, CompartmentId, DeviceSecret, DeviceSeed, EpochKey, KdfParams, KeyFile, Secret, envelope, wrap_groups, wrap_keys};

fn main() -> std::io::Result<()> {
    let author = DeviceSecret::from_seed(DeviceSeed::from_secret(Secret::new([7; 32])));
    let key = EpochKey::from_parts(CaseId([1; 16]), CompartmentId([2; 16]), 0, Secret::new([3; 32]));
    let write = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        fs::create_dir_all(format!("corpus/{target}"))?;
        fs::write(format!("corpus/{target}/{name}"), bytes)
    };
    let seal = |deps: &[ChunkId], payload: &[u8]| envelope::seal(&author, &key, deps, payload).map(|s| s.bytes);
    let genuine = seal(&[], b"fuzz").map_err(std::io::Error::other)?;
    write("envelope_open", "genuine", &genuine)?;
    let with_deps = seal(&[ChunkId([5; 32]), ChunkId([6; 32])], &[0u8; 300]).map_err(std::io::Error::other)?;
    write("envelope_open", "deps", &with_deps)?;

    let file = KeyFile::seal(author.seed(), "correct horse battery staple", KdfParams::INSECURE_FAST)
        .map_err(std::io::Error::other)?;
    write("keyfile_open", "fast", &file.to_bytes())?;

    let me = DeviceSecret::from_seed(DeviceSeed::from_secret(Secret::new([9; 32])));
    let mut id = vec![0u8];
    id.extend_from_slice(&me.public_identity().to_bytes());
    write("small_formats", "identity", &id)?;
    let mut w = vec![1u8];
    w.extend_from_slice(&wrap_keys(&[&key], me.public_identity()).map_err(std::io::Error::other)?.to_bytes());
    write("small_formats", "wrapped", &w)?;
    // Version 2: a bundle of a group under one encapsulation (issue 17).
    let mut g = vec![1u8];
    let groups = vec![vec![&key]];
    let bundles = wrap_groups(&groups, me.public_identity()).map_err(std::io::Error::other)?;
    if let Some(b) = bundles.first() {
        g.extend_from_slice(&b.to_bytes());
    }
    write("small_formats", "wrapped-group", &g)?;
    let (_, link) = key.rotate().map_err(std::io::Error::other)?;
    let mut l = vec![2u8];
    l.extend_from_slice(&link.to_bytes());
    write("small_formats", "link", &l)?;
    let phrase = author.seed().recovery_phrase().map_err(std::io::Error::other)?;
    let mut p = vec![3u8];
    p.extend_from_slice(phrase.as_bytes());
    write("small_formats", "phrase", &p)?;
    Ok(())
}
