//! Carrying out a destruction on this copy (issue 17; design in `docs/destruction.md`): when the
//! case's log names destroyed compartments this copy has not yet shredded, the store drops their
//! **keys first** — the bundles and epoch links in every stored op (format 2 carries them beside
//! the signed body, so the op still verifies) — **then their chunks**, with SQLite's
//! `secure_delete` on so freed pages are overwritten, and folds the write-ahead log back so no
//! old frame keeps them. It records the compartments as shredded: from then on a chunk of them
//! is refused ([`Profile::is_shredded`]), never listed and never asked for, and an op that
//! arrives with their keys is stored without them (`Profile::store_op`).
//!
//! Storage peers hold no keys: they drop the ciphertext and the (unreadable to them) bundles
//! the same way. The op itself is the tombstone: content-free, kept for good.

use std::collections::BTreeSet;

use mdo_crypto::{CaseId, CompartmentId};
use rusqlite::{TransactionBehavior, params};

use super::accesslog::{self, AccessAction, LogEntry};
use super::{OP_PURPOSE, Profile, Result, open_local, seal_local};
use crate::core::membership::{Op, State};

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shredded {
    /// Compartments newly shredded here (descriptors).
    pub compartments: Vec<String>,
    /// Stored ops whose key material for them was dropped.
    pub ops_stripped: usize,
    /// Chunks deleted.
    pub chunks_deleted: usize,
    /// Ops in the first format that still hold their keys inside the signature (see
    /// `docs/destruction.md`, "what crypto-shredding cannot promise").
    pub old_format_ops: usize,
}

impl Profile {
    /// The compartments of `case` shredded on this copy.
    pub fn shredded(&self, case: CaseId) -> Result<BTreeSet<CompartmentId>> {
        let mut st = self
            .db
            .prepare("SELECT compartment FROM shredded WHERE case_id = ?1")?;
        let rows = st.query_map(params![case.0.to_vec()], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = BTreeSet::new();
        for r in rows {
            if let Ok(id) = <[u8; 16]>::try_from(r?.as_slice()) {
                out.insert(CompartmentId(id));
            }
        }
        Ok(out)
    }

    /// Whether a compartment of `case` was shredded here: its chunks are refused.
    pub fn is_shredded(&self, case: CaseId, compartment: CompartmentId) -> Result<bool> {
        Ok(self.db.query_row(
            "SELECT EXISTS(SELECT 1 FROM shredded WHERE case_id = ?1 AND compartment = ?2)",
            params![case.0.to_vec(), compartment.0.to_vec()],
            |r| r.get(0),
        )?)
    }

    /// `op` without the key material of the compartments shredded on this copy (an op that
    /// arrives after a destruction, from a peer or a bundle that had not learnt of it).
    pub(super) fn strip_shredded(&self, op: Op) -> Result<Op> {
        let gone = self.shredded(op.body.case)?;
        if gone.is_empty() {
            return Ok(op);
        }
        match op.without_material(&gone) {
            Ok(Some(stripped)) => Ok(stripped),
            Ok(None) => Ok(op),
            // A first-format op signs its keys: it cannot drop them. One already stored stays
            // as it is (a known op changes nothing); a new one is not taken in.
            Err(_) => {
                let known: bool = self.db.query_row(
                    "SELECT EXISTS(SELECT 1 FROM ops WHERE id = ?1)",
                    params![op.id.0.to_vec()],
                    |r| r.get(0),
                )?;
                if known {
                    Ok(op)
                } else {
                    Err(super::StoreError::DestroyedKeys { op: op.id.to_hex() })
                }
            }
        }
    }

    /// What this copy still stores of the compartments shredded here: (ops that still carry
    /// their keys — only ops in the first format can —, chunks). Both are 0 after a
    /// destruction of a case made in format 2.
    pub fn destroyed_left(&self, case: CaseId) -> Result<(usize, usize)> {
        let gone = self.shredded(case)?;
        if gone.is_empty() {
            return Ok((0, 0));
        }
        let mut ops = 0;
        for bytes in self.ops_of(case)? {
            if let Ok(op) = Op::parse(&bytes)
                && op.material_of().iter().any(|c| gone.contains(c))
            {
                ops += 1;
            }
        }
        let chunks = self
            .chunks_of(case)?
            .iter()
            .filter(|(_, c, _)| gone.contains(c))
            .count();
        Ok((ops, chunks))
    }

    /// Carries out every destruction `st` (the case's log as derived) names that this copy has
    /// not done yet: keys first, then chunks, then the mark and a content-free access-log entry.
    /// One transaction; nothing to do is one query.
    pub fn carry_out_destruction(&mut self, case: CaseId, st: &State) -> Result<Shredded> {
        let mut out = Shredded::default();
        if st.destroyed.is_empty() {
            return Ok(out);
        }
        let done = self.shredded(case)?;
        let pending: Vec<CompartmentId> = st
            .destroyed
            .keys()
            .filter(|c| !done.contains(c))
            .copied()
            .collect();
        if pending.is_empty() {
            // Chunks of destroyed parts that came in by another door (an app that kept the
            // case open while another process shredded it) go too.
            for c in st.destroyed.keys() {
                out.chunks_deleted += self.db.execute(
                    "DELETE FROM chunks WHERE case_id = ?1 AND compartment = ?2",
                    params![case.0.to_vec(), c.0.to_vec()],
                )?;
            }
            if out.chunks_deleted > 0 {
                self.checkpoint()?;
            }
            return Ok(out);
        }
        let gone: BTreeSet<CompartmentId> = st.destroyed.keys().copied().collect();
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // 1. Keys: drop the bundles and links of destroyed compartments from every stored op.
        let rows: Vec<(Vec<u8>, Vec<u8>)> = {
            let mut q = tx.prepare("SELECT id, bytes FROM ops WHERE case_id = ?1")?;
            q.query_map(params![case.0.to_vec()], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<std::result::Result<_, _>>()?
        };
        for (id, sealed) in rows {
            let Ok(bytes) = open_local(&self.device, OP_PURPOSE, &id, &sealed) else {
                continue;
            };
            let Ok(op) = Op::parse(&bytes) else {
                continue;
            };
            match op.without_material(&gone) {
                Ok(Some(stripped)) => {
                    let sealed = seal_local(&self.device, OP_PURPOSE, &id, &stripped.bytes)?;
                    tx.execute(
                        "UPDATE ops SET bytes = ?1 WHERE id = ?2",
                        params![sealed, id],
                    )?;
                    out.ops_stripped += 1;
                }
                Ok(None) => {}
                Err(_) => out.old_format_ops += 1,
            }
        }
        // 2. Then the chunks.
        for c in &pending {
            out.chunks_deleted += tx.execute(
                "DELETE FROM chunks WHERE case_id = ?1 AND compartment = ?2",
                params![case.0.to_vec(), c.0.to_vec()],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO shredded(case_id, compartment) VALUES (?1, ?2)",
                params![case.0.to_vec(), c.0.to_vec()],
            )?;
            self.loaded.remove(&(case, *c));
        }
        // 3. A content-free entry per decision: what this device wiped, by whose decision, on
        // what ground — the parts named only to the organisation's own professionals (a part's
        // name can be what was kept from this reader: docs/sharing-rules.md §6b), no ids.
        let me = st.member_of(self.device.device_id());
        let insider = |org: &str| {
            me.is_some_and(|m| m.role.is_professional() && m.organisation.trim() == org)
        };
        let mut groups: Vec<((String, String, bool), Vec<String>)> = Vec::new();
        for c in &pending {
            let Some(t) = st.destroyed.get(c) else {
                continue;
            };
            let key = (t.organisation.clone(), t.on.clone(), t.request.is_some());
            let part = crate::core::compartment::CompartmentKind::parse(&t.descriptor)
                .map(|k| k.label())
                .unwrap_or_else(|| "een deel".into());
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(part),
                None => groups.push((key, vec![part])),
            }
            out.compartments.push(t.descriptor.clone());
        }
        let mut entries = Vec::new();
        for ((org, on, request), parts) in groups {
            let what = if insider(&org) {
                parts.join("; ")
            } else if parts.len() == 1 {
                "1 deel".to_string()
            } else {
                format!("{} delen", parts.len())
            };
            let ground = if request {
                "op verzoek"
            } else {
                "omdat de bewaartermijn voorbij was"
            };
            entries.push(LogEntry {
                time: self.now,
                person: self.me.person.clone(),
                name: self.me.name.clone(),
                role: me.map(|m| m.role).unwrap_or(self.me.role).id().to_string(),
                organisation: self.me.organisation.clone(),
                case: case.to_hex(),
                action: AccessAction::Destroy,
                compartment: String::new(),
                basis: format!("besluit van {org}"),
                detail: format!(
                    "op dit apparaat gewist: {what} van {org}, vernietigd op {} {ground}",
                    crate::core::model::long_date(&on)
                ),
            });
        }
        accesslog::append(&tx, &self.device, &entries)?;
        tx.commit()?;
        accesslog::update_witness(&self.dir, &self.db, &self.device)?;
        // Freed pages were overwritten (secure_delete); fold the write-ahead log back so that
        // no old frame of them stays in the -wal file.
        self.checkpoint()?;
        Ok(out)
    }
}
