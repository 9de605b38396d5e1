//! Encrypted chunks in and out: opening a chunk from another device and merging it after the
//! write check ([`Case::receive`]), sealing local changes and snapshots
//! ([`Case::seal_pending`], [`Case::seal_snapshot`]), and loading compartments from the store.

use mdo_crypto::envelope::{self, SealedEnvelope};
use mdo_crypto::{ChunkId, CompartmentId, DeviceId, DeviceSecret, Keyring};

use super::{Case, Compartment, CompartmentKind};
use crate::core::CoreError;
use crate::core::access;
use crate::core::doc::CompartmentDoc;

impl Case {
    /// Records a stored chunk and its author (the store calls this while loading).
    pub fn note_stored(&mut self, compartment: CompartmentId, chunk: ChunkId, author: DeviceId) {
        let v = self.stored.entry(compartment).or_default();
        if !v.iter().any(|(c, _)| *c == chunk) {
            v.push((chunk, author));
        }
    }

    /// Adds a compartment loaded from the store.
    pub fn insert_loaded(
        &mut self,
        kind: CompartmentKind,
        keys: Keyring,
        doc: CompartmentDoc,
        frontier: Vec<ChunkId>,
    ) {
        let id = keys.compartment();
        self.waiting.remove(&id);
        self.compartments.insert(
            id,
            Compartment {
                kind,
                id,
                doc,
                keys,
                frontier,
            },
        );
    }

    /// Opens a chunk envelope that arrived from another device and merges its changes. The
    /// envelope must belong to this case, a compartment this device holds a key for, and an
    /// author who may write there ([`access::may_merge`]); a chunk that fails any check is
    /// rejected with an error and changes nothing — except when Automerge panicked while
    /// applying it: then the compartment's in-memory document is dropped (keys kept) and must
    /// be reloaded from the store.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<ChunkId, CoreError> {
        let env = envelope::Envelope::parse(bytes)?;
        if env.case != self.id {
            return Err(mdo_crypto::CryptoError::WrongCase {
                expected: self.id.to_hex(),
                found: env.case.to_hex(),
            }
            .into());
        }
        env.verify_signature()?;
        access::may_merge(
            self.log.state(),
            &self.access(),
            env.compartment,
            env.author,
            env.id,
            env.epoch,
        )?;
        self.note_stored(env.compartment, env.id, env.author);
        if let Some(c) = self.compartments.get_mut(&env.compartment) {
            let opened = env.open(&c.keys)?;
            let applied = c.doc.apply(&opened.payload);
            if let Err(e) = applied.and_then(|()| c.kind.check_label(&c.doc)) {
                if c.doc.is_poisoned() || c.kind.check_label(&c.doc).is_err() {
                    // Automerge panicked half-way, or the chunk relabelled the compartment: this
                    // in-memory copy can no longer be trusted. Drop it (keeping the keys); the
                    // caller reloads the compartment from the chunks it stored, where the bad
                    // chunk is marked rejected.
                    let id = env.compartment;
                    if let Some(c) = self.compartments.remove(&id) {
                        self.waiting.insert(id, c.keys);
                    }
                }
                return Err(e);
            }
            c.frontier.retain(|f| !opened.deps.contains(f));
            c.frontier.push(opened.id);
            return Ok(opened.id);
        }
        let ring = self
            .waiting
            .get(&env.compartment)
            .ok_or(mdo_crypto::CryptoError::UnknownEpoch { epoch: env.epoch })?;
        let opened = env.open(ring)?;
        // What the compartment is comes from the log (verified against its id), not the chunk.
        let kind = CompartmentKind::of_compartment(self.log.state(), env.compartment)?;
        let mut doc = CompartmentDoc::new();
        doc.apply(&opened.payload)?;
        doc.mark_saved();
        if doc.descriptor().is_none() {
            return Err(CoreError::BadChunk(
                "the first chunk of a compartment does not say which compartment it is".into(),
            ));
        }
        kind.check_label(&doc)?;
        let keys = self
            .waiting
            .remove(&env.compartment)
            .ok_or(CoreError::Document("keyring vanished".into()))?;
        self.compartments.insert(
            env.compartment,
            Compartment {
                kind,
                id: env.compartment,
                doc,
                keys,
                frontier: vec![opened.id],
            },
        );
        Ok(opened.id)
    }

    /// Whether any compartment holds content changes of this device not sealed yet.
    pub fn has_pending_content(&mut self) -> bool {
        self.compartments.values_mut().any(|c| c.doc.has_changes())
    }

    /// Seals every compartment's pending changes into one chunk each, signed by `author`.
    pub fn seal_pending(&mut self, author: &DeviceSecret) -> Result<Vec<SealedChunk>, CoreError> {
        let mut out = Vec::new();
        for c in self.compartments.values_mut() {
            if let Some(payload) = c.doc.take_changes() {
                let key = c
                    .keys
                    .latest()
                    .ok_or(mdo_crypto::CryptoError::UnknownEpoch { epoch: 0 })?;
                let envelope = envelope::seal(author, key, &c.frontier, &payload)?;
                c.frontier = vec![envelope.id];
                let v = self.stored.entry(c.id).or_default();
                v.push((envelope.id, author.device_id()));
                out.push(SealedChunk {
                    compartment: c.id,
                    changes: payload_changes(&payload),
                    envelope,
                });
            }
        }
        Ok(out)
    }

    /// Seals a full snapshot of one compartment (compaction).
    pub fn seal_snapshot(
        &mut self,
        compartment: CompartmentId,
        author: &DeviceSecret,
    ) -> Result<SealedEnvelope, CoreError> {
        let c = self
            .compartments
            .get_mut(&compartment)
            .ok_or(CoreError::NotFound {
                what: "compartment",
                id: compartment.to_hex(),
            })?;
        let key = c
            .keys
            .latest()
            .ok_or(mdo_crypto::CryptoError::UnknownEpoch { epoch: 0 })?;
        let bytes = c.doc.snapshot_payload();
        let sealed = envelope::seal(author, key, &[], &bytes)?;
        c.frontier = vec![sealed.id];
        self.stored
            .insert(compartment, vec![(sealed.id, author.device_id())]);
        Ok(sealed)
    }
}

/// A chunk sealed from local changes.
#[derive(Debug, Clone)]
pub struct SealedChunk {
    /// The compartment.
    pub compartment: CompartmentId,
    /// Number of Automerge changes in it.
    pub changes: usize,
    /// The envelope.
    pub envelope: SealedEnvelope,
}

/// Number of Automerge changes in a decrypted payload (0 for a snapshot).
pub fn payload_changes(payload: &[u8]) -> usize {
    match payload {
        [crate::core::doc::PAYLOAD_CHANGES, a, b, c, d, ..] => {
            u32::from_le_bytes([*a, *b, *c, *d]) as usize
        }
        _ => 0,
    }
}
