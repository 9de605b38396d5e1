//! Fuzzes the small fixed formats that arrive from other peers: public identities, wrapped keys,
//! epoch links, and recovery phrases typed by people.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdo_crypto::{DeviceSecret, DeviceSeed, EpochKey, EpochLink, PublicIdentity, Secret, WrappedKeys};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 4 {
        0 => {
            if let Ok(p) = PublicIdentity::from_bytes(rest) {
                assert_eq!(p.to_bytes().as_slice(), rest);
            }
        }
        1 => {
            if let Ok(w) = WrappedKeys::from_bytes(rest) {
                assert_eq!(w.to_bytes(), rest);
                let me = DeviceSecret::from_seed(DeviceSeed::from_secret(Secret::new([9; 32])));
                let _ = w.unwrap(&me);
            }
        }
        2 => {
            if let Ok(l) = EpochLink::from_bytes(rest) {
                let k = EpochKey::from_parts(l.case(), l.compartment(), l.newer_epoch(), Secret::new([4; 32]));
                let _ = l.open(&k);
            }
        }
        _ => {
            if let Ok(s) = std::str::from_utf8(rest) {
                let _ = DeviceSeed::from_recovery_phrase(s);
            }
        }
    }
});
