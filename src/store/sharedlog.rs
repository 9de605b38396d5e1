//! Publishing this device's access-log entries about a case into its person's log compartment
//! (issue 17; the format and the checks are in `core::sharedlog`). Every entry this device logs
//! about a case — views, changes, key shares, exports, consents, destructions — goes, in the same
//! transaction as the local log, into one sealed batch that syncs like any chunk to the people
//! whose data it is and the organisation's privacy officer. Only a professional's device
//! publishes (decision in `docs/sharing-rules.md`: a parent's own reads are not shown to the
//! other parent or to the school).

use mdo_crypto::DeviceSecret;
use mdo_crypto::envelope;
use rusqlite::{OptionalExtension, params};

use super::{LogEntry, Result};
use crate::core::access::Access;
use crate::core::case::{Case, CompartmentKind};
use crate::core::model::Role;
use crate::core::sharedlog::{Batch, SharedEntry, zero};

fn head_key(case: &Case) -> String {
    format!("loghead:{}", case.id.to_hex())
}

/// The next sequence number and the hash to link to: as this profile wrote them last, else
/// from the batches of this device the case holds (a profile restored from its phrase).
fn head(tx: &rusqlite::Transaction<'_>, case: &Case) -> Result<(u64, String)> {
    let stored: Option<Vec<u8>> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            params![head_key(case)],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(v) = stored
        && let Some((n, h)) = String::from_utf8_lossy(&v).split_once(' ')
        && let Ok(n) = n.parse::<u64>()
    {
        return Ok((n, h.to_string()));
    }
    let me = case.device();
    Ok(case
        .shared_log
        .iter()
        .filter(|f| f.device == me)
        .max_by_key(|f| f.batch.next())
        .map(|f| (f.batch.next(), f.hash.clone()))
        .unwrap_or((1, zero())))
}

/// What the log's readers may be told of `entries` (privacy by construction: nothing is written
/// into the log compartment that names a part its readers may not read — now or later: a parent
/// whose gezag is confirmed, a child who turns 12, get the key and its history). Decided by the
/// part alone, not by who reads the log today: a line about the shared parts the parents and the
/// child read by default (`parents`, `child`, `network`) is kept whole; about a **safety track**
/// it is left out (a parent must not learn of one from the log: UAVG art. 41, AVG art. 23;
/// docs/sharing-rules.md §6c); about any other part the part is not named, and the details and
/// the basis (a consent's purpose can say what the part is) are dropped ("een deel dat niet voor
/// iedereen zichtbaar is"); a key handed out for such a part is left out.
fn for_log_readers(access: &Access, entries: &[LogEntry]) -> Vec<SharedEntry> {
    use crate::core::model::Audience;
    let mut out = Vec::new();
    for e in entries {
        let mut part = e.compartment.clone();
        let mut detail = e.detail.clone();
        let mut basis = e.basis.clone();
        if !part.is_empty() {
            let kind = access
                .compartments
                .values()
                .find(|a| a.kind.label() == part)
                .map(|a| &a.kind);
            match kind {
                Some(CompartmentKind::Shared(
                    Audience::Parents | Audience::Child | Audience::Network,
                )) => {}
                Some(CompartmentKind::Safety(_)) => continue,
                _ if e.action == super::AccessAction::Share => continue,
                _ => {
                    part = "een deel dat niet voor iedereen zichtbaar is".into();
                    detail.clear();
                    basis.clear();
                }
            }
        }
        out.push(SharedEntry {
            time: e.time,
            person: e.person.clone(),
            name: e.name.clone(),
            role: e.role.clone(),
            organisation: e.organisation.clone(),
            action: e.action.label().to_string(),
            part,
            basis,
            detail,
        });
    }
    out
}

/// Seals `entries` as this device's next batch in its person's log compartment and stores it
/// (inside `tx`, with the local log). Nothing when this device's person keeps no shared log (a
/// parent, the child, the privacy officer) or holds no key of it yet (before its first key work:
/// those entries stay in the local log only).
pub(super) fn publish(
    tx: &rusqlite::Transaction<'_>,
    device: &DeviceSecret,
    case: &Case,
    access: &Access,
    entries: &[LogEntry],
) -> Result<()> {
    let Some(me) = case.my_member() else {
        return Ok(());
    };
    if entries.is_empty() || !me.role.is_professional() || me.role == Role::Privacy {
        return Ok(());
    }
    let kind = CompartmentKind::Log(me.id.clone());
    let id = kind.id(case.id);
    let Some(key) = case.keyring(id).and_then(|r| r.latest()) else {
        return Ok(());
    };
    let shredded: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM shredded WHERE case_id = ?1 AND compartment = ?2)",
        params![case.id.0.to_vec(), id.0.to_vec()],
        |r| r.get(0),
    )?;
    if shredded {
        return Ok(());
    }
    let entries = for_log_readers(access, entries);
    if entries.is_empty() {
        return Ok(());
    }
    let (seq, prev) = head(tx, case)?;
    let batch = Batch { seq, prev, entries };
    let payload = batch.encode();
    let sealed = envelope::seal(device, key, &[], &payload)?;
    tx.execute(
        "INSERT OR IGNORE INTO chunks(id, case_id, compartment, epoch, author, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            sealed.id.0.to_vec(),
            case.id.0.to_vec(),
            id.0.to_vec(),
            key.epoch(),
            device.device_id().0.to_vec(),
            sealed.bytes
        ],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
        params![
            head_key(case),
            format!("{} {}", batch.next(), Batch::hash(&payload)).into_bytes()
        ],
    )?;
    Ok(())
}
