//! The access log shared across copies (issue 17; NEN 7513, AVG art. 15): each professional's
//! device publishes what it logged about a case as **batches** in that professional's log
//! compartment (`CompartmentKind::Log`), read by the people whose data it is and the
//! organisation's privacy officer (`core::access::log_readers`).
//!
//! A batch is the payload of an ordinary chunk: encrypted under the compartment's epoch key and
//! signed by its author device (the envelope). Batches of one device form a chain: batch *k*
//! names the first sequence number it holds and the BLAKE3 hash of the device's previous batch.
//! [`verify`] replays every device's chain and reports what does not fit: a gap (a batch that
//! was removed on a copy while later ones were not), two batches that claim the same entries (a
//! device that rewrote what it had published), a batch whose link does not match (an altered
//! predecessor), and chunks that did not open (altered bytes). Removing the *last* batches of a
//! device on every copy is not detectable from the batches alone (`docs/threat-model.md`).
//!
//! Sans-IO: bytes in, entries and problems out.

use std::collections::BTreeMap;

use mdo_crypto::{ChunkId, DeviceId};
use serde::{Deserialize, Serialize};

/// Magic prefix of a batch payload (so an Automerge change is never taken for one).
pub const MAGIC: &[u8; 8] = b"MDOLOG1\n";
/// Most entries in one batch.
pub const MAX_ENTRIES: usize = 10_000;
const MAX_TEXT: usize = 4096;

/// One entry as shared: who did what with which part, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedEntry {
    /// Unix seconds.
    pub time: i64,
    /// Participant id.
    pub person: String,
    /// Name as the device knew it.
    pub name: String,
    /// Role id.
    pub role: String,
    /// Organisation.
    pub organisation: String,
    /// Action id (`inzien`, `wijzigen`, `delen`, `exporteren`, `toestemming`, `deelnemers`,
    /// `vernietigen`).
    pub action: String,
    /// The part of the case (label), empty when not about content.
    pub part: String,
    /// On what basis.
    pub basis: String,
    /// Details.
    pub detail: String,
}

/// A batch of one device's entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Sequence number of its first entry (the device's first batch starts at 1).
    pub seq: u64,
    /// BLAKE3 of the device's previous batch payload (hex; 64 zeros for the first).
    pub prev: String,
    /// The entries.
    pub entries: Vec<SharedEntry>,
}

/// Why a batch could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Not a batch.
    #[error("not an access-log batch")]
    NotABatch,
    /// Malformed.
    #[error("malformed access-log batch: {0}")]
    Malformed(String),
}

/// The hash that starts a chain.
pub fn zero() -> String {
    "0".repeat(64)
}

impl Batch {
    /// Encodes the batch as a chunk payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        // A struct of strings and integers always serializes.
        out.extend_from_slice(&serde_json::to_vec(self).unwrap_or_default());
        out
    }

    /// Reads a payload (outside bytes: bounded, strict).
    pub fn decode(payload: &[u8]) -> Result<Batch, BatchError> {
        let body = payload.strip_prefix(MAGIC).ok_or(BatchError::NotABatch)?;
        let b: Batch =
            serde_json::from_slice(body).map_err(|e| BatchError::Malformed(e.to_string()))?;
        let bad = |s: &str| Err(BatchError::Malformed(s.to_string()));
        if b.seq == 0 || b.entries.is_empty() || b.entries.len() > MAX_ENTRIES {
            return bad("sequence number or number of entries");
        }
        if b.prev.len() != 64 || !b.prev.bytes().all(|c| c.is_ascii_hexdigit()) {
            return bad("link");
        }
        if b.seq.checked_add(b.entries.len() as u64).is_none() {
            return bad("sequence number");
        }
        for e in &b.entries {
            let texts = [
                &e.person,
                &e.name,
                &e.role,
                &e.organisation,
                &e.action,
                &e.part,
                &e.basis,
                &e.detail,
            ];
            if texts.iter().any(|t| t.len() > MAX_TEXT) {
                return bad("text too long");
            }
        }
        Ok(b)
    }

    /// The hash the next batch links to.
    pub fn hash(payload: &[u8]) -> String {
        blake3::hash(payload).to_hex().to_string()
    }

    /// The sequence number after this batch.
    pub fn next(&self) -> u64 {
        self.seq + self.entries.len() as u64
    }
}

/// A batch as found on this copy.
#[derive(Debug, Clone)]
pub struct Found {
    /// The device that signed the chunk.
    pub device: DeviceId,
    /// The chunk.
    pub chunk: ChunkId,
    /// Its hash ([`Batch::hash`] of the payload).
    pub hash: String,
    /// The batch.
    pub batch: Batch,
}

/// Something that does not fit in a device's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Problem {
    /// Entries `from..=to` of the device are missing while later ones are here.
    Missing {
        /// The device.
        device: DeviceId,
        /// First missing sequence number.
        from: u64,
        /// Last missing one.
        to: u64,
    },
    /// Two batches claim the same entries (the device published them twice, differently).
    Rewritten {
        /// The device.
        device: DeviceId,
        /// Sequence number.
        seq: u64,
    },
    /// A batch does not link to the one before it (that one was altered or replaced).
    Altered {
        /// The device.
        device: DeviceId,
        /// Sequence number of the batch whose predecessor does not match.
        seq: u64,
    },
    /// A chunk of a log did not open or verify (its bytes were altered).
    Damaged {
        /// The chunk.
        chunk: ChunkId,
        /// The device it claims to be from.
        device: Option<DeviceId>,
    },
}

/// Every device's entries in order, with what does not fit.
#[derive(Debug, Clone, Default)]
pub struct Verified {
    /// (device, sequence number, entry).
    pub entries: Vec<(DeviceId, u64, SharedEntry)>,
    /// Problems.
    pub problems: Vec<Problem>,
}

/// Replays each device's chain of batches (in any order of arrival).
pub fn verify(found: Vec<Found>, damaged: Vec<(ChunkId, Option<DeviceId>)>) -> Verified {
    let mut out = Verified::default();
    let mut by_device: BTreeMap<DeviceId, Vec<Found>> = BTreeMap::new();
    for f in found {
        by_device.entry(f.device).or_default().push(f);
    }
    for (device, mut batches) in by_device {
        batches.sort_by(|a, b| (a.batch.seq, &a.hash).cmp(&(b.batch.seq, &b.hash)));
        let mut expected = 1u64;
        let mut last: Option<String> = Some(zero());
        for f in batches {
            let b = &f.batch;
            if b.seq < expected {
                out.problems.push(Problem::Rewritten { device, seq: b.seq });
                continue;
            }
            if b.seq > expected {
                out.problems.push(Problem::Missing {
                    device,
                    from: expected,
                    to: b.seq - 1,
                });
                last = None; // what it should link to is not here
            }
            if let Some(h) = &last
                && *h != b.prev
            {
                out.problems.push(Problem::Altered { device, seq: b.seq });
            }
            for (i, e) in b.entries.iter().enumerate() {
                out.entries.push((device, b.seq + i as u64, e.clone()));
            }
            expected = b.next();
            last = Some(f.hash.clone());
        }
    }
    for (chunk, device) in damaged {
        out.problems.push(Problem::Damaged { chunk, device });
    }
    out.entries.sort_by_key(|e| (e.2.time, e.0, e.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t: i64) -> SharedEntry {
        SharedEntry {
            time: t,
            person: "ib".into(),
            name: "Monique".into(),
            role: "ib-er".into(),
            organisation: "OBS".into(),
            action: "inzien".into(),
            part: "professionals en ouders".into(),
            basis: "vaste lezer van dit deel".into(),
            detail: String::new(),
        }
    }

    fn chain(device: DeviceId, n: usize) -> Vec<Found> {
        let mut out = Vec::new();
        let mut prev = zero();
        let mut seq = 1;
        for i in 0..n {
            let b = Batch {
                seq,
                prev: prev.clone(),
                entries: vec![entry(i as i64), entry(i as i64)],
            };
            let payload = b.encode();
            let hash = Batch::hash(&payload);
            seq = b.next();
            prev = hash.clone();
            out.push(Found {
                device,
                chunk: ChunkId([i as u8; 32]),
                hash,
                batch: Batch::decode(&payload).unwrap(),
            });
        }
        out
    }

    #[test]
    fn a_whole_chain_in_any_order_has_no_problems() {
        let d = DeviceId([1; 32]);
        let mut c = chain(d, 4);
        c.reverse();
        let v = verify(c, vec![]);
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(v.entries.len(), 8);
    }

    #[test]
    fn a_removed_batch_an_altered_one_and_a_rewrite_show() {
        let d = DeviceId([1; 32]);
        let mut c = chain(d, 4);
        c.remove(1);
        let v = verify(c, vec![]);
        assert_eq!(
            v.problems,
            vec![Problem::Missing {
                device: d,
                from: 3,
                to: 4
            }]
        );

        let mut c = chain(d, 3);
        c[0].hash = "ff".repeat(32); // the first batch's bytes are not what the second linked to
        let v = verify(c, vec![]);
        assert_eq!(v.problems, vec![Problem::Altered { device: d, seq: 3 }]);

        let mut c = chain(d, 2);
        let mut twin = c[1].clone();
        twin.batch.entries[0].detail = "anders".into();
        twin.hash = "ee".repeat(32);
        c.push(twin);
        let v = verify(c, vec![]);
        assert!(matches!(v.problems[0], Problem::Rewritten { seq: 3, .. }));
    }

    #[test]
    fn decode_refuses_what_is_not_a_batch() {
        assert_eq!(Batch::decode(b"automerge"), Err(BatchError::NotABatch));
        let mut p = MAGIC.to_vec();
        p.extend_from_slice(br#"{"seq":0,"prev":"","entries":[]}"#);
        assert!(Batch::decode(&p).is_err());
        let b = Batch {
            seq: u64::MAX,
            prev: zero(),
            entries: vec![entry(1)],
        };
        assert!(Batch::decode(&b.encode()).is_err());
    }
}
