//! Fuzzes Automerge's own loader, unguarded. This target is expected to find crashes in Automerge
//! 0.12 (see `shared/toolchain.md`); each one found is added to MDO's regression inputs
//! (`tests/fixtures/automerge-crashers/`) and must be rejected, not crash, through MDO's path.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = automerge::AutoCommit::load(data);
});
