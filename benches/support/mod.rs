//! What the benches share: the 10,000-edit history of a case, and interleaved A/B timing.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use mdo::core::case::Case;
use mdo::core::model::{Audience, Role, Section};
use mdo::crypto::{CaseId, KdfParams};
use mdo::store::Profile;

/// A profile holding one case with a long history.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub profile: Profile,
    pub case: CaseId,
    /// The plaintext `save()` of the compartment holding the history.
    pub plain: Vec<u8>,
    pub edits: usize,
}

/// A new profile with fast (insecure) key-file parameters: the benches measure sync and storage,
/// not the passphrase KDF.
pub fn profile(name: &str, role: Role, org: &str) -> (tempfile::TempDir, Profile) {
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::init(dir.path(), "pw", name, role, org, KdfParams::INSECURE_FAST).unwrap();
    (dir, p)
}

/// `edits` edits (alternating new items and 2-character appends to item text), one Automerge
/// change per edit, committed to the store in batches of 100 as a user's actions would be.
pub fn fixture(edits: usize) -> Fixture {
    let (dir, mut profile) = profile("Monique", Role::IbEr, "OBS");
    let me = profile.me().clone();
    let mut case = Case::create(
        &me,
        profile.device(),
        "Noor",
        "2017-03-14",
        "OBS",
        "6",
        profile.today(),
        0,
    )
    .unwrap();
    // (id, text) of every item so far: kept here, so building the history does not read the
    // whole document back for every edit.
    let mut items: Vec<(String, String)> = Vec::new();
    for n in 0..edits {
        if n % 2 == 0 || items.is_empty() {
            let id = case
                .add_item(
                    &me,
                    Section::Vragen,
                    "ab",
                    Audience::Parents,
                    None,
                    n as i64,
                )
                .unwrap();
            items.push((id, "ab".into()));
        } else {
            let k = n % items.len();
            let (id, text) = &mut items[k];
            text.push_str("xy");
            case.edit_item(id, text).unwrap();
        }
        for c in case.compartments.values_mut() {
            c.doc.commit();
        }
        if n % 100 == 99 {
            profile.commit(&mut case).unwrap();
        }
    }
    profile.commit(&mut case).unwrap();
    let plain = case.compartments.values_mut().next().unwrap().doc.save();
    Fixture {
        case: case.id,
        dir,
        profile,
        plain,
        edits,
    }
}

/// Runs `a` and `b` alternately `rounds` times; the median time of each.
pub fn median_ab(rounds: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        a();
        ta.push(t.elapsed());
        let t = Instant::now();
        b();
        tb.push(t.elapsed());
    }
    ta.sort();
    tb.sort();
    (ta[rounds / 2], tb[rounds / 2])
}
