//! Fuzzes the sync protocol decoder (bytes from any peer on the network): malformed or oversized
//! frames must be refused with an error, never a panic or an allocation the input cannot back;
//! whatever decodes re-encodes to the same message. The address texts a peer tells
//! (`Msg::Addrs`) go through the parser the store uses: what parses formats back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdo::core::sync::Msg;

fuzz_target!(|data: &[u8]| {
    let _ = Msg::frame_len(data);
    if let Ok(m) = Msg::decode(data) {
        let f = m.encode();
        assert_eq!(Msg::decode(&f[4..]).as_ref(), Ok(&m));
        if let Msg::Addrs { entries } = &m {
            for (_, text) in entries {
                if let Some(a) = mdo::store::peers::parse(text) {
                    let again = mdo::store::peers::format(&a);
                    assert_eq!(mdo::store::peers::parse(&again), Some(a));
                }
            }
        }
    }
});
