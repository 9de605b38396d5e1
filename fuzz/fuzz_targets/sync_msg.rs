//! Fuzzes the sync protocol decoder (bytes from any peer on the network): malformed or oversized
//! frames must be refused with an error, never a panic or an allocation the input cannot back;
//! whatever decodes re-encodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdo::core::sync::Msg;

fuzz_target!(|data: &[u8]| {
    let _ = Msg::frame_len(data);
    if let Ok(m) = Msg::decode(data) {
        let f = m.encode();
        assert_eq!(Msg::decode(&f[4..]).as_ref(), Ok(&m));
    }
});
