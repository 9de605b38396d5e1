//! Fuzzes what MDO does with a decrypted chunk payload from another peer: `CompartmentDoc::apply`
//! on an empty document and on one with content, then reading every view. Automerge itself may
//! panic on malformed bytes; MDO must contain that (catch_unwind) and never crash, so the fuzzer's
//! abort-on-panic hook is replaced by the default hook: only a panic that escapes MDO crashes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdo::core::doc::{CompartmentDoc, ItemData};
use mdo::core::model::Section;

fuzz_target!(
    init: {
        let _ = std::panic::take_hook();
    },
    |data: &[u8]| {
        let mut empty = CompartmentDoc::new();
        let _ = empty.apply(data);
        let _ = (empty.items(), empty.agreements(), empty.meetings(), empty.participants(), empty.arrows());
        let _ = (empty.routes(), empty.phase_changes(), empty.verslag_statuses(), empty.drafts());

        let mut full = CompartmentDoc::new();
        let item = ItemData {
            id: "a".into(),
            section: Section::Vragen,
            text: "vraag".into(),
            author: "x".into(),
            created: 0,
            order: 1.0,
            parent: None,
            by: None,
            withheld: None,
            review: None,
            term: None,
            status: None,
        };
        let _ = full.add_item(&item);
        let _ = full.apply(data);
        let _ = (full.items(), full.agreements(), full.meetings());
    }
);
