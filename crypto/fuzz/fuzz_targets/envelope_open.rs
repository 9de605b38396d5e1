//! Fuzzes envelope parsing and opening: arbitrary bytes, and mutations of genuine envelopes from
//! the seed corpus, against a keyring that holds the right key. Must
//! never panic; anything but a genuine envelope must be an error.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mdo_crypto::envelope::Envelope;
use mdo_crypto::{CaseId, CompartmentId, DeviceId, DeviceSecret, DeviceSeed, EpochKey, Keyring, Secret};

struct Fixture {
    ring: Keyring,
    author: DeviceId,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let author = DeviceSecret::from_seed(DeviceSeed::from_secret(Secret::new([7; 32])));
        let key = EpochKey::from_parts(CaseId([1; 16]), CompartmentId([2; 16]), 0, Secret::new([3; 32]));
        let mut ring = Keyring::new(key.case(), key.compartment());
        ring.insert(key.clone()).unwrap();
        Fixture { ring, author: author.device_id() }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    if let Ok(env) = Envelope::parse(data) {
        let _ = env.verify_signature();
        if let Ok(opened) = env.open(&f.ring) {
            // Only envelopes genuinely sealed by the fixture's author (the seed corpus, see
            // src/seed_corpus.rs) can open: nothing the fuzzer makes up may.
            assert_eq!(opened.author, f.author, "an envelope by another author opened");
            let p = &opened.payload[..];
            assert!(p == b"fuzz" || p == [0u8; 300], "unexpected payload opened");
        }
    }
});
