//! The access log (NEN 7513 style): every local view, change, key share, export and consent or
//! membership change, with who (person, role, organisation), what (case, compartment), when and
//! on what basis.
//!
//! Stored encrypted and hash-chained in the profile's database: entry *i* is sealed with a
//! device-local key (XChaCha20-Poly1305) with the chain hash *hᵢ₋₁* as associated data, and
//! *hᵢ = BLAKE3(hᵢ₋₁ ‖ sealedᵢ)*. The head (*n*, *hₙ*) is sealed under the same key in `meta`.
//! Changing, removing, reordering or truncating entries therefore fails verification, and
//! without the device key no entry can be forged.
//!
//! Rolling back the database as a whole (an older copy of the file, log and head together) is
//! consistent in itself; a **witness** outside the database catches it: after every append the
//! head (*n*, *hₙ*) is also sealed into the file `access-log.witness` in the profile directory, and
//! reading the log checks that the database still holds entry *n* with hash *hₙ*. Rolling back the
//! whole profile directory (database and witness together) is not detectable on the device
//! alone — see `docs/threat-model.md`.

use mdo_crypto::{DeviceSecret, aead};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::StoreError;

const PURPOSE: &str = "access-log";
const HEAD_AAD: &[u8] = b"access-log head";
const WITNESS_AAD: &[u8] = b"access-log witness";
/// The witness file in the profile directory.
pub const WITNESS_FILE: &str = "access-log.witness";

/// The witness's (n, hₙ), if there is one.
fn witness(
    dir: &std::path::Path,
    device: &DeviceSecret,
) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    let path = dir.join(WITNESS_FILE);
    let sealed = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StoreError::Io {
                action: "cannot read",
                path,
                source: e,
            });
        }
    };
    let plain = super::open_local(device, PURPOSE, WITNESS_AAD, &sealed).map_err(|_| {
        StoreError::LogTampered {
            entry: 0,
            reason: "the log's witness does not authenticate".into(),
        }
    })?;
    if plain.len() != 40 {
        return Err(StoreError::LogTampered {
            entry: 0,
            reason: "witness length".into(),
        });
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&plain[..8]);
    let mut h = [0u8; 32];
    h.copy_from_slice(&plain[8..]);
    Ok(Some((u64::from_le_bytes(n), h)))
}

/// Checks the database's log against the witness: it must still hold the entry the witness
/// names, with the same chain hash (a newer log is fine: the witness is written after commit).
pub(crate) fn check_witness(
    dir: &std::path::Path,
    db: &Connection,
    device: &DeviceSecret,
) -> Result<(), StoreError> {
    let Some((wn, wh)) = witness(dir, device)? else {
        return Ok(());
    };
    let (n, _) = head(db, device)?;
    if wn > n {
        return Err(StoreError::LogTampered {
            entry: n as usize,
            reason: format!(
                "the log was rolled back: this device had written {wn} entries, the database holds {n}"
            ),
        });
    }
    if wn == 0 {
        return Ok(());
    }
    let at: Option<Vec<u8>> = db
        .query_row(
            "SELECT hash FROM access_log ORDER BY seq LIMIT 1 OFFSET ?1",
            params![(wn - 1) as i64],
            |r| r.get(0),
        )
        .optional()?;
    if !at.is_some_and(|h| mdo_crypto::secret::ct_eq(&h, &wh)) {
        return Err(StoreError::LogTampered {
            entry: wn as usize,
            reason:
                "the log was replaced by another one (it does not continue what this device wrote)"
                    .into(),
        });
    }
    Ok(())
}

/// After a commit that appended entries: moves the witness to the new head — unless the log does
/// not continue the witnessed one, in which case the witness stays as evidence.
pub(crate) fn update_witness(
    dir: &std::path::Path,
    db: &Connection,
    device: &DeviceSecret,
) -> Result<(), StoreError> {
    if check_witness(dir, db, device).is_err() {
        return Ok(());
    }
    let (n, h) = head(db, device)?;
    let mut plain = n.to_le_bytes().to_vec();
    plain.extend_from_slice(&h);
    let sealed = super::seal_local(device, PURPOSE, WITNESS_AAD, &plain)?;
    super::write_atomic(&dir.join(WITNESS_FILE), &sealed)
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessAction {
    /// Decrypted and shown.
    View,
    /// Changed content.
    Change,
    /// Handed a key to another device.
    Share,
    /// Exported.
    Export,
    /// Recorded or withdrew a consent.
    Consent,
    /// Changed the participants.
    Membership,
    /// Destroyed a part of the case (issue 17).
    Destroy,
}

impl AccessAction {
    /// Dutch label.
    pub fn label(self) -> &'static str {
        match self {
            AccessAction::View => "inzien",
            AccessAction::Change => "wijzigen",
            AccessAction::Share => "delen",
            AccessAction::Export => "exporteren",
            AccessAction::Consent => "toestemming",
            AccessAction::Membership => "deelnemers",
            AccessAction::Destroy => "vernietigen",
        }
    }
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Unix seconds.
    pub time: i64,
    /// Participant id of the person on this device.
    pub person: String,
    /// Name.
    pub name: String,
    /// Role in the case.
    pub role: String,
    /// Organisation.
    pub organisation: String,
    /// Case id.
    pub case: String,
    /// What.
    pub action: AccessAction,
    /// Compartment label (empty when not about content).
    pub compartment: String,
    /// On what basis (audience, consent record, legal basis).
    pub basis: String,
    /// Details.
    pub detail: String,
}

impl LogEntry {
    /// When, as "2026-11-23 14:05" (UTC).
    pub fn when(&self) -> String {
        time::OffsetDateTime::from_unix_timestamp(self.time)
            .map(|t| {
                format!(
                    "{} {:02}:{:02}",
                    crate::core::model::format_date(t.date()),
                    t.hour(),
                    t.minute()
                )
            })
            .unwrap_or_default()
    }
}

fn head(db: &Connection, device: &DeviceSecret) -> Result<(u64, [u8; 32]), StoreError> {
    let sealed: Option<Vec<u8>> = db
        .query_row("SELECT value FROM meta WHERE key = 'log_head'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(sealed) = sealed else {
        return Ok((0, [0u8; 32]));
    };
    let plain = super::open_local(device, PURPOSE, HEAD_AAD, &sealed).map_err(|_| {
        StoreError::LogTampered {
            entry: 0,
            reason: "the log head does not authenticate".into(),
        }
    })?;
    if plain.len() != 40 {
        return Err(StoreError::LogTampered {
            entry: 0,
            reason: "log head length".into(),
        });
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&plain[..8]);
    let mut h = [0u8; 32];
    h.copy_from_slice(&plain[8..]);
    Ok((u64::from_le_bytes(n), h))
}

/// Appends entries inside the caller's transaction.
pub(crate) fn append(
    tx: &rusqlite::Transaction<'_>,
    device: &DeviceSecret,
    entries: &[LogEntry],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let (mut n, mut h) = head(tx, device)?;
    for e in entries {
        let json = serde_json::to_vec(e).map_err(|e| StoreError::Corrupt {
            path: "access log".into(),
            reason: e.to_string(),
        })?;
        let key = device.derive_local_key(PURPOSE);
        let nonce: [u8; 24] = mdo_crypto::random_array()?;
        let mut sealed = nonce.to_vec();
        sealed.extend(aead::seal(&key, &nonce, &h, &json)?);
        let mut hasher = blake3::Hasher::new();
        hasher.update(&h);
        hasher.update(&sealed);
        h = *hasher.finalize().as_bytes();
        n += 1;
        tx.execute(
            "INSERT INTO access_log(bytes, hash) VALUES (?1, ?2)",
            params![sealed, h.to_vec()],
        )?;
    }
    let mut plain = n.to_le_bytes().to_vec();
    plain.extend_from_slice(&h);
    let sealed = super::seal_local(device, PURPOSE, HEAD_AAD, &plain)?;
    tx.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('log_head', ?1)",
        params![sealed],
    )?;
    Ok(())
}

/// Reads and verifies the whole log.
pub(crate) fn read(db: &Connection, device: &DeviceSecret) -> Result<Vec<LogEntry>, StoreError> {
    let (n, head_hash) = head(db, device)?;
    let mut st = db.prepare("SELECT bytes, hash FROM access_log ORDER BY seq")?;
    let rows: Vec<(Vec<u8>, Vec<u8>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut h = [0u8; 32];
    let mut out = Vec::with_capacity(rows.len());
    for (i, (sealed, stored_hash)) in rows.iter().enumerate() {
        let entry = i + 1;
        let plain = super::open_local(device, PURPOSE, &h, sealed).map_err(|_| {
            StoreError::LogTampered {
                entry,
                reason: "the entry was changed, removed or moved".into(),
            }
        })?;
        let e: LogEntry = serde_json::from_slice(&plain).map_err(|e| StoreError::LogTampered {
            entry,
            reason: e.to_string(),
        })?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&h);
        hasher.update(sealed);
        h = *hasher.finalize().as_bytes();
        if !mdo_crypto::secret::ct_eq(&h, stored_hash) {
            return Err(StoreError::LogTampered {
                entry,
                reason: "stored chain hash differs".into(),
            });
        }
        out.push(e);
    }
    if out.len() as u64 != n || !mdo_crypto::secret::ct_eq(&h, &head_hash) {
        return Err(StoreError::LogTampered {
            entry: out.len(),
            reason: format!(
                "the log holds {} entries but its head says {n}: entries were removed",
                out.len()
            ),
        });
    }
    Ok(out)
}
