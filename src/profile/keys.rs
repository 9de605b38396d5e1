//! The key work a device owes after ops arrived (by sync, a bundle or a join): hand the keys it
//! holds to devices that became entitled, rotate keys away from devices that lost a right, and
//! adopt keys handed to it. All of it happens in the commit (`store::Profile::commit`); this is
//! the flow that runs it for the cases that changed. The network node gets it as a plain
//! function, so the transport does no key work of its own.

use mdo_crypto::CaseId;

use crate::store::{Profile, StoreError};

/// The key-work function the network node calls after a session that brought new ops.
pub type KeyWork = fn(&mut Profile, &[CaseId]) -> Result<usize, StoreError>;

/// Does this device's key work for `cases`: returns how many key ops were made. A chunk
/// refused while loading is kept as evidence and logged.
pub fn key_work(p: &mut Profile, cases: &[CaseId]) -> Result<usize, StoreError> {
    let mut made = 0;
    for &id in cases {
        let (mut case, report) = p.load_case(id)?;
        for (chunk, reason) in &report.rejected {
            tracing::warn!(%chunk, case = %id, %reason, "chunk rejected and kept as evidence");
        }
        made += p.commit(&mut case)?.ops.len();
    }
    Ok(made)
}
