//! Fuzzes the bundle decoder (a file someone hands over on a USB stick): it must refuse bad
//! input with an error, bounded in memory, and every entry it returns lies inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, entries)) = mdo::store::bundle::decode(data) {
        let total: usize = entries.iter().map(|(_, b)| b.len() + 5).sum();
        assert!(total + 25 == data.len());
    }
});
