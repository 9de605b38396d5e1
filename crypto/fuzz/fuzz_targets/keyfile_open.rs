//! Fuzzes key-file parsing, and opening with a fixed passphrase whenever the parsed argon2
//! parameters are cheap enough to run thousands of times a second.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdo_crypto::KeyFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = KeyFile::from_bytes(data) {
        let p = file.params();
        if p.m_cost_kib <= 256 && p.t_cost <= 2 && p.p_cost <= 2 {
            let _ = file.open("correct horse battery staple");
        }
        assert_eq!(KeyFile::from_bytes(&file.to_bytes()).as_ref(), Ok(&file));
    }
});
