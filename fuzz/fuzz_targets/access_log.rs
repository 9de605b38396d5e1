//! Fuzzes the shared access log's batches from outside (issue 17): `Batch::decode` of raw bytes
//! (what a chunk of a log compartment opens to), then the chain check over several of them as
//! they might arrive from different devices — refused with an error or reported as a problem,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdo::core::sharedlog::{Batch, Found, verify};
use mdo::crypto::{ChunkId, DeviceId};

fuzz_target!(|data: &[u8]| {
    // Up to four payloads, split at 0xFF bytes, each from one of two devices.
    let mut found = Vec::new();
    for (i, part) in data.split(|b| *b == 0xFF).take(4).enumerate() {
        if let Ok(batch) = Batch::decode(part) {
            let again = Batch::decode(&batch.encode()).expect("an encoded batch decodes");
            assert_eq!(again, batch);
            found.push(Found {
                device: DeviceId([(i % 2) as u8; 32]),
                chunk: ChunkId([i as u8; 32]),
                hash: Batch::hash(part),
                batch,
            });
        }
    }
    let n: usize = found.iter().map(|f| f.batch.entries.len()).sum();
    let v = verify(found, vec![(ChunkId([9; 32]), None)]);
    assert!(v.entries.len() <= n);
});
