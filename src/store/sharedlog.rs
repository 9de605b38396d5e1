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
/// into the log compartment that names a part its readers may not read). A line about a part
/// that every reader of the log may read is kept whole; about a safety track it is left out
/// (a parent must not learn of one from the log: UAVG art. 41, AVG art. 23; docs/sharing-rules.md
/// §6c); about any other part the log's readers do not all read, the part is not named and the
/// details are dropped ("een deel dat niet voor iedereen zichtbaar is"). The privacy officer
/// reads no content and does not count here.
fn for_log_readers(
    case: &Case,
    log: mdo_crypto::CompartmentId,
    entries: &[LogEntry],
) -> Vec<SharedEntry> {
    let access = case.access();
    let st = case.state();
    let readers: Vec<&String> = access
        .compartments
        .get(&log)
        .map(|a| {
            a.readers
                .keys()
                .filter(|r| st.members.get(*r).is_none_or(|m| m.role != Role::Privacy))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for e in entries {
        let mut part = e.compartment.clone();
        let mut detail = e.detail.clone();
        if !part.is_empty() {
            let target = access
                .compartments
                .values()
                .find(|a| a.kind.label() == part);
            match target {
                Some(a) if readers.iter().all(|r| a.readers.contains_key(*r)) => {}
                Some(a) if matches!(a.kind, CompartmentKind::Safety(_)) => continue,
                // A key handed out for a part not named tells the reader nothing: left out.
                _ if e.action == super::AccessAction::Share => continue,
                _ => {
                    part = "een deel dat niet voor iedereen zichtbaar is".into();
                    detail.clear();
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
            basis: e.basis.clone(),
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
    let entries = for_log_readers(case, id, entries);
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
