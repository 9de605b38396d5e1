//! The profile directory: the protected key file and an SQLite database that holds **only
//! ciphertext** — sealed chunk envelopes, wrapped keys, epoch links, and the profile record
//! sealed under a device-local key. Decrypted documents live in memory only.
//!
//! Durability: the database runs in WAL mode with `synchronous=FULL`; a command's chunks are
//! written in one transaction and the command reports success only after it committed. The key
//! file is written to a temporary file, fsynced, renamed over, and the directory fsynced.

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use mdo_crypto::Plaintext;
use mdo_crypto::envelope::{self, Envelope, SealedEnvelope};
use mdo_crypto::{
    CaseId, ChunkId, CompartmentId, DeviceId, DeviceSecret, KdfParams, KeyFile, aead,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::core::CoreError;
use crate::core::access;
use crate::core::case::{Case, CompartmentKind, Me};
use crate::core::doc::CompartmentDoc;
use crate::core::membership::Op;
use crate::core::model::{Date, Role};

pub mod accesslog;
pub mod bundle;
pub mod destroy;
pub mod invites;
pub mod peers;
pub mod replica;
pub mod settings;
mod sharedlog;
pub use accesslog::{AccessAction, LogEntry};
pub use destroy::Shredded;

/// File name of the key file inside the profile directory.
pub const KEY_FILE: &str = "identity.key";
/// File name of the database inside the profile directory.
pub const DB_FILE: &str = "mdo.sqlite";
/// Current database schema version (2: membership log; keys travel in ops).
pub const SCHEMA_VERSION: i64 = 2;
/// A compartment with more stored chunks than this is compacted into one snapshot chunk.
pub const COMPACT_AFTER_CHUNKS: usize = 32;
/// … or with more Automerge changes outside its snapshot than this (applying changes one by one
/// is much slower than loading a snapshot, so a long history must not linger in change lists).
pub const COMPACT_AFTER_CHANGES: usize = 128;

/// What this process knows about one compartment's stored chunks.
#[derive(Debug, Default)]
struct Stored {
    chunks: Vec<ChunkId>,
    residual_changes: usize,
}

/// Store errors, each with a message a person can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A first-format op that carries keys of a destroyed compartment (issue 17).
    #[error(
        "membership op {op} carries keys of a part of the case that was destroyed, in the first op format that cannot drop them: it is not stored"
    )]
    DestroyedKeys {
        /// The op.
        op: String,
    },
    /// A chunk of a destroyed compartment (issue 17).
    #[error("chunk {chunk} belongs to a part of the case that was destroyed: it is not stored")]
    Destroyed {
        /// The chunk.
        chunk: String,
    },
    /// No profile in the directory.
    #[error("no MDO profile in {0}: create one with `mdo init --name NAME --role ROLE --org ORG`")]
    NoProfile(PathBuf),
    /// A setting could not be changed.
    #[error("setting {key} = '{value}': {why}")]
    BadSetting {
        /// Which setting.
        key: String,
        /// The value given.
        value: String,
        /// Why it was refused.
        why: String,
    },
    /// This profile is a storage peer, which keeps ciphertext only.
    #[error(
        "this profile is a storage peer (mdo init --storage): it stores and forwards ciphertext only and cannot {0}"
    )]
    StoragePeer(&'static str),
    /// A profile already exists.
    #[error("{0} already holds an MDO profile; use another --home or remove it first")]
    AlreadyExists(PathBuf),
    /// File-system error.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The database is damaged or not an MDO database.
    #[error(
        "the case database {path} is damaged or not an MDO database ({reason}); restore it from a backup or sync the cases again from another device"
    )]
    Corrupt {
        /// Where.
        path: PathBuf,
        /// Details.
        reason: String,
    },
    /// A newer MDO wrote this profile.
    #[error(
        "this profile was written by a newer MDO (schema {found}, this MDO reads {supported}); update MDO"
    )]
    NewerSchema {
        /// Found version.
        found: i64,
        /// Supported version.
        supported: i64,
    },
    /// No case matches.
    #[error("no case '{0}' on this device (see `mdo case list`)")]
    UnknownCase(String),
    /// Several cases match a prefix.
    #[error("'{0}' matches several cases; give more characters of the case id")]
    AmbiguousCase(String),
    /// The access log does not verify.
    #[error(
        "the access log of this profile has been tampered with or damaged at entry {entry}: {reason}"
    )]
    LogTampered {
        /// Entry number (1-based).
        entry: usize,
        /// What is wrong.
        reason: String,
    },
    /// A profile from a development version before the membership log.
    #[error(
        "this profile was made by a development version of MDO (schema {found}) whose cases cannot be opened by this one; export them with that version (`mdo export`) and create a new profile"
    )]
    OldSchema {
        /// Found version.
        found: i64,
    },
    /// An SQLite error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A cryptographic error (wrong passphrase, damaged key file …).
    #[error(transparent)]
    Crypto(#[from] mdo_crypto::CryptoError),
    /// A domain error.
    #[error(transparent)]
    Core(#[from] CoreError),
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + use<> {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

/// Writes `bytes` to `path` atomically and durably, readable by its owner only (0600 on unix:
/// the key file, and exports that hold plaintext).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut f = private_file(&tmp).map_err(io("cannot create", &tmp))?;
        f.write_all(bytes).map_err(io("cannot write", &tmp))?;
        f.sync_all().map_err(io("cannot sync", &tmp))?;
    }
    fs::rename(&tmp, path).map_err(io("cannot rename into", path))?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates (or truncates) a file that only its owner may read or write (0600 on unix).
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let f = o.open(path)?;
    restrict(path, 0o600)?; // an existing file keeps its old mode otherwise
    Ok(f)
}

/// Sets `path` to `mode` (unix; elsewhere the user's profile directory protects it).
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Makes the profile directory 0700 and its files 0600 (unix): created so by this version, and
/// tightened when a profile made by an earlier one (0755/0644) is opened.
fn restrict_profile(dir: &Path) -> Result<()> {
    restrict(dir, 0o700).map_err(io("cannot restrict the permissions of", dir))?;
    let entries = fs::read_dir(dir).map_err(io("cannot list", dir))?;
    for e in entries.flatten() {
        let path = e.path();
        if path.is_file() {
            restrict(&path, 0o600).map_err(io("cannot restrict the permissions of", &path))?;
        }
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct ProfileRecord {
    person: String,
    name: String,
    role: Role,
    organisation: String,
}

/// What loading a case found wrong.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    /// (chunk id, reason) of every rejected chunk (kept as evidence, never merged).
    pub rejected: Vec<(String, String)>,
    /// (chunk id, reason) of chunks not merged because their author may not write there now.
    pub refused: Vec<(String, String)>,
    /// (op id, reason) of membership ops that were refused or could not be read.
    pub ops_rejected: Vec<(String, String)>,
    /// Ops waiting for earlier ops that have not arrived.
    pub ops_pending: usize,
    /// Problems with keys addressed to this device.
    pub key_problems: Vec<String>,
    /// Compartments destroyed on this copy while loading (descriptors; issue 17).
    pub shredded: Vec<String>,
}

/// What a commit wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommitReport {
    /// New membership op ids.
    pub ops: Vec<String>,
    /// New chunk ids.
    pub chunks: Vec<String>,
    /// Compartments compacted into a snapshot.
    pub compacted: usize,
    /// Compartments destroyed on this copy by this commit (descriptors; issue 17).
    pub shredded: Vec<String>,
}

/// An open profile: this device's identity and its database.
pub struct Profile {
    dir: PathBuf,
    device: DeviceSecret,
    me: Me,
    db: Connection,
    loaded: BTreeMap<(CaseId, CompartmentId), Stored>,
    today: Date,
    now: i64,
    fixed_clock: bool,
    /// Rights derived per case by sync sessions, reused while the case's ops stay the same.
    rights_cache: BTreeMap<CaseId, replica::CachedRights>,
}

/// The participant id of the person whose (first) device is `device`: the same on their own
/// device and in the case of the chair who adds them with `--identity`.
pub fn person_id(device: DeviceId) -> String {
    format!("p{}", &device.to_hex()[..10])
}

/// The system clock: (today in UTC, unix seconds).
pub fn system_clock() -> (Date, i64) {
    let now = time::OffsetDateTime::now_utc();
    (now.date(), now.unix_timestamp())
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("dir", &self.dir)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

fn seal_local(
    device: &DeviceSecret,
    purpose: &str,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let key = device.derive_local_key(purpose);
    let nonce: [u8; 24] = mdo_crypto::random_array()?;
    let mut out = nonce.to_vec();
    out.extend(aead::seal(&key, &nonce, aad, plaintext)?);
    Ok(out)
}

fn open_local(
    device: &DeviceSecret,
    purpose: &str,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Plaintext> {
    if sealed.len() < 24 {
        return Err(mdo_crypto::CryptoError::Truncated {
            what: "local record",
            needed: 24,
            got: sealed.len(),
        }
        .into());
    }
    let key = device.derive_local_key(purpose);
    Ok(aead::open(&key, &sealed[..24], aad, &sealed[24..])?)
}

impl Profile {
    /// Whether `dir` holds a profile.
    pub fn exists(dir: &Path) -> bool {
        dir.join(KEY_FILE).exists()
    }

    /// Creates a new profile: a fresh device identity sealed under `passphrase`.
    pub fn init(
        dir: &Path,
        passphrase: &str,
        name: &str,
        role: Role,
        organisation: &str,
        kdf: KdfParams,
    ) -> Result<Profile> {
        Self::init_with(dir, passphrase, name, role, organisation, kdf, None)
    }

    /// Brings a profile back from its recovery phrase's seed: the same device identity (and so
    /// the same participant id and device id the cases know), sealed under a new `passphrase`.
    /// It holds no case yet: they come back from a peer (`net::restore_from`).
    pub fn restore(
        dir: &Path,
        passphrase: &str,
        name: &str,
        role: Role,
        organisation: &str,
        kdf: KdfParams,
        seed: mdo_crypto::DeviceSeed,
    ) -> Result<Profile> {
        Self::init_with(dir, passphrase, name, role, organisation, kdf, Some(seed))
    }

    fn init_with(
        dir: &Path,
        passphrase: &str,
        name: &str,
        role: Role,
        organisation: &str,
        kdf: KdfParams,
        seed: Option<mdo_crypto::DeviceSeed>,
    ) -> Result<Profile> {
        if Self::exists(dir) {
            return Err(StoreError::AlreadyExists(dir.to_path_buf()));
        }
        if name.trim().is_empty() {
            return Err(CoreError::Empty { field: "name" }.into());
        }
        fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
        restrict(dir, 0o700).map_err(io("cannot restrict the permissions of", dir))?;
        let device = match seed {
            Some(seed) => DeviceSecret::from_seed(seed),
            None => DeviceSecret::generate()?,
        };
        let person = person_id(device.device_id());
        let me = Me {
            person: person.clone(),
            name: name.trim().into(),
            role,
            organisation: organisation.trim().into(),
            device: device.device_id(),
        };
        let db = open_db(&dir.join(DB_FILE))?;
        let record = serde_json::to_vec(&ProfileRecord {
            person,
            name: me.name.clone(),
            role,
            organisation: me.organisation.clone(),
        })
        .map_err(|e| CoreError::Document(e.to_string()))?;
        let sealed = seal_local(&device, "profile", b"profile", &record)?;
        db.execute(
            "INSERT INTO meta(key, value) VALUES ('profile', ?1)",
            params![sealed],
        )?;
        db.execute(
            "INSERT INTO meta(key, value) VALUES ('device', ?1)",
            params![device.device_id().0.to_vec()],
        )?;
        // The key file last: its presence marks a complete profile.
        let file = KeyFile::seal(device.seed(), passphrase, kdf)?;
        write_atomic(&dir.join(KEY_FILE), &file.to_bytes())?;
        let (today, now) = system_clock();
        Ok(Profile {
            dir: dir.to_path_buf(),
            device,
            me,
            db,
            loaded: BTreeMap::new(),
            today,
            now,
            fixed_clock: false,
            rights_cache: BTreeMap::new(),
        })
    }

    /// Unlocks an existing profile.
    pub fn open(dir: &Path, passphrase: &str) -> Result<Profile> {
        let key_path = dir.join(KEY_FILE);
        if !key_path.exists() {
            return Err(StoreError::NoProfile(dir.to_path_buf()));
        }
        restrict_profile(dir)?;
        let bytes = fs::read(&key_path).map_err(io("cannot read", &key_path))?;
        let seed = KeyFile::from_bytes(&bytes)?.open(passphrase)?;
        let device = DeviceSecret::from_seed(seed);
        let db_path = dir.join(DB_FILE);
        let db = open_db(&db_path)?;
        let sealed: Vec<u8> = db
            .query_row("SELECT value FROM meta WHERE key = 'profile'", [], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::Corrupt {
                path: db_path.clone(),
                reason: "the profile record is missing".into(),
            })?;
        let record = open_local(&device, "profile", b"profile", &sealed).map_err(|e| {
            StoreError::Corrupt {
                path: db_path.clone(),
                reason: format!("profile record: {e}"),
            }
        })?;
        let r: ProfileRecord =
            serde_json::from_slice(&record).map_err(|e| StoreError::Corrupt {
                path: db_path.clone(),
                reason: format!("profile record: {e}"),
            })?;
        let me = Me {
            person: r.person,
            name: r.name,
            role: r.role,
            organisation: r.organisation,
            device: device.device_id(),
        };
        let (today, now) = system_clock();
        Ok(Profile {
            dir: dir.to_path_buf(),
            device,
            me,
            db,
            loaded: BTreeMap::new(),
            today,
            now,
            fixed_clock: false,
            rights_cache: BTreeMap::new(),
        })
    }

    /// Sets the clock used for rights, ops and the access log (default: the system clock).
    pub fn set_clock(&mut self, today: Date, now: i64) {
        self.today = today;
        self.now = now;
        self.fixed_clock = true;
    }

    /// Moves the clock to the system time (a long-running node calls this per session), unless
    /// it was set explicitly.
    pub fn refresh_clock(&mut self) {
        if !self.fixed_clock {
            (self.today, self.now) = system_clock();
        }
    }

    /// Today, as this profile counts it.
    pub fn today(&self) -> Date {
        self.today
    }

    /// Now (unix seconds).
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The person on this device.
    pub fn me(&self) -> &Me {
        &self.me
    }

    /// This device was admitted to `case` as another device of participant `member` (one's own
    /// second laptop or new phone): from now on this profile is that person — their participant
    /// id, name, role and organisation as the case knows them. Refused when this profile already
    /// takes part in a case as someone else.
    pub fn adopt_person(&mut self, member: &str, case: CaseId) -> Result<()> {
        let mine = self.me.person.clone();
        for c in self.case_ids()? {
            let (loaded, _) = self.load_case(c)?;
            if loaded.state().members.contains_key(&mine) {
                return Err(CoreError::NoAccess {
                    compartment: "dit apparaat".into(),
                    reason: "this device already takes part in a case as its own participant; pair a device that holds no case of its own".into(),
                }
                .into());
            }
        }
        let (c, _) = self.load_case(case)?;
        let m = c
            .state()
            .members
            .get(member)
            .cloned()
            .ok_or_else(|| CoreError::NotFound {
                what: "participant",
                id: member.to_string(),
            })?;
        let name = c
            .participants()
            .into_iter()
            .find(|p| p.id == member)
            .map(|p| p.name)
            .unwrap_or_else(|| self.me.name.clone());
        self.me.person = member.to_string();
        self.me.name = name;
        self.me.role = m.role;
        self.me.organisation = m.organisation;
        let record = serde_json::to_vec(&ProfileRecord {
            person: self.me.person.clone(),
            name: self.me.name.clone(),
            role: self.me.role,
            organisation: self.me.organisation.clone(),
        })
        .map_err(|e| CoreError::Document(e.to_string()))?;
        let sealed = seal_local(&self.device, "profile", b"profile", &record)?;
        self.db.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'profile'",
            params![sealed],
        )?;
        self.loaded.clear();
        Ok(())
    }

    /// This device's identity.
    pub fn device(&self) -> &DeviceSecret {
        &self.device
    }

    /// The profile directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Ids of the cases on this device, oldest first.
    pub fn case_ids(&self) -> Result<Vec<CaseId>> {
        let mut st = self
            .db
            .prepare("SELECT case_id FROM cases ORDER BY created, case_id")?;
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for r in rows {
            let b = r?;
            let arr: [u8; 16] = b
                .as_slice()
                .try_into()
                .map_err(|_| self.corrupt("a case id has the wrong length"))?;
            out.push(CaseId(arr));
        }
        Ok(out)
    }

    fn corrupt(&self, reason: &str) -> StoreError {
        StoreError::Corrupt {
            path: self.dir.join(DB_FILE),
            reason: reason.into(),
        }
    }

    /// Resolves a case id or a unique prefix of one (at least 4 hex characters).
    pub fn resolve_case(&self, s: &str) -> Result<CaseId> {
        let s = s.trim().to_lowercase();
        if let Ok(id) = CaseId::from_hex(&s) {
            return if self.case_ids()?.contains(&id) {
                Ok(id)
            } else {
                Err(StoreError::UnknownCase(s))
            };
        }
        if s.len() < 4 {
            return Err(StoreError::UnknownCase(s));
        }
        let matches: Vec<CaseId> = self
            .case_ids()?
            .into_iter()
            .filter(|c| c.to_hex().starts_with(&s))
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(StoreError::UnknownCase(s)),
            _ => Err(StoreError::AmbiguousCase(s)),
        }
    }

    /// Loads a case: replays its membership log (validating every op), unwraps the keys
    /// addressed to this device, and decrypts and applies every stored chunk of the
    /// compartments it can read whose author may write there. Chunks that fail to decrypt or
    /// decode are marked rejected (kept as evidence); chunks of authors without write right are
    /// left unmerged; both are reported and never stop the rest from loading.
    pub fn load_case(&mut self, id: CaseId) -> Result<(Case, LoadReport)> {
        if !self.case_ids()?.contains(&id) {
            return Err(StoreError::UnknownCase(id.to_hex()));
        }
        let mut report = LoadReport::default();
        let mut case = Case::empty(id, self.device.device_id(), self.today, self.now);
        let rows: Vec<(Vec<u8>, Vec<u8>)> = {
            let mut st = self
                .db
                .prepare("SELECT id, bytes FROM ops WHERE case_id = ?1 ORDER BY seq")?;
            st.query_map(params![id.0.to_vec()], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut unreadable = Vec::new();
        for (op_id, sealed) in rows {
            let bytes = match open_local(&self.device, OP_PURPOSE, &op_id, &sealed) {
                Ok(b) => b,
                Err(e) => {
                    unreadable.push((hex::encode(&op_id), e.to_string()));
                    continue;
                }
            };
            match Op::parse(&bytes) {
                Ok(op) => {
                    case.insert_op(op)?;
                }
                Err(e) => unreadable.push((hex::encode(&op_id), e.to_string())),
            }
        }
        // A later op can change which earlier ones apply, so the reasons are read at the end.
        report.ops_rejected = case
            .log()
            .rejected()
            .iter()
            .map(|(id, r)| (id.to_hex(), r.to_string()))
            .chain(unreadable)
            .collect();
        report.ops_pending = case.log().pending();
        case.take_new_ops();
        // A destruction this copy has not carried out yet (an op imported, or stored by another
        // process): keys and chunks go before anything is read.
        let state = case.state().clone();
        report.shredded = self.carry_out_destruction(id, &state)?.compartments;
        report.key_problems = case.unlock(&self.device);
        let access = case.access();
        let rings = case.take_waiting();
        for (cid, ring) in rings {
            type Row = ChunkRow;
            let rows: Vec<Row> = {
                let mut st = self.db.prepare(
                    "SELECT id, author, epoch, bytes FROM chunks WHERE case_id = ?1 AND compartment = ?2 AND rejected IS NULL ORDER BY seq",
                )?;
                st.query_map(params![id.0.to_vec(), cid.0.to_vec()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?
            };
            // What the compartment is: the descriptor the log recorded with its keys, checked
            // against its id — never the label inside the document, which any writer can change.
            let kind = match CompartmentKind::of_compartment(case.state(), cid) {
                Ok(k) => k,
                Err(e) => {
                    report.key_problems.push(e.to_string());
                    case.restore_waiting(ring);
                    continue;
                }
            };
            if let CompartmentKind::Log(owner) = &kind {
                self.load_log(&mut case, &access, (cid, owner), &ring, rows, &mut report)?;
                case.restore_waiting(ring);
                continue;
            }
            let mut doc = CompartmentDoc::new();
            let mut applied: Vec<(ChunkId, Vec<ChunkId>)> = Vec::new();
            let mut residual = 0usize;
            let mut good: Vec<Plaintext> = Vec::new();
            for (cid_bytes, author, epoch, bytes) in rows {
                let chunk_id = ChunkId(
                    cid_bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| self.corrupt("a chunk id has the wrong length"))?,
                );
                let author = DeviceId(
                    author
                        .as_slice()
                        .try_into()
                        .map_err(|_| self.corrupt("an author id has the wrong length"))?,
                );
                case.note_stored(cid, chunk_id, author);
                if let Err(e) =
                    access::may_merge(case.state(), &access, cid, author, chunk_id, epoch)
                {
                    report.refused.push((chunk_id.to_hex(), e.to_string()));
                    continue;
                }
                let opened = envelope::open(&bytes, &ring);
                let result = opened.map_err(CoreError::from).and_then(|o| {
                    doc.apply(&o.payload)?;
                    kind.check_label(&doc)?;
                    Ok(o)
                });
                match result {
                    Ok(o) => {
                        applied.push((chunk_id, o.deps.clone()));
                        residual += crate::core::case::payload_changes(&o.payload);
                        good.push(o.payload);
                    }
                    Err(CoreError::Crypto(mdo_crypto::CryptoError::UnknownEpoch { .. })) => {
                        // Sealed under an epoch key this device does not (yet) hold: not its
                        // to read now; kept for when a key arrives, never marked.
                    }
                    Err(e) => {
                        if doc.is_poisoned() || kind.check_label(&doc).is_err() {
                            doc = CompartmentDoc::new();
                            for p in &good {
                                doc.apply(p)?;
                            }
                        }
                        self.db.execute(
                            "UPDATE chunks SET rejected = ?1 WHERE id = ?2",
                            params![e.to_string(), chunk_id.0.to_vec()],
                        )?;
                        report.rejected.push((chunk_id.to_hex(), e.to_string()));
                    }
                }
            }
            doc.mark_saved();
            if doc.descriptor().is_none() {
                case.restore_waiting(ring); // no readable content yet
                continue;
            }
            let referenced: HashSet<ChunkId> = applied
                .iter()
                .flat_map(|(_, d)| d.iter().copied())
                .collect();
            let frontier: Vec<ChunkId> = applied
                .iter()
                .map(|(c, _)| *c)
                .filter(|c| !referenced.contains(c))
                .collect();
            self.loaded.insert(
                (id, cid),
                Stored {
                    chunks: applied.iter().map(|(c, _)| *c).collect(),
                    residual_changes: residual,
                },
            );
            case.insert_loaded(kind, ring, doc, frontier);
        }
        Ok((case, report))
    }

    /// Reads the access-log batches of one log compartment (issue 17): each chunk opened with
    /// the compartment's keys and read as a batch; a chunk that does not open or is not a batch
    /// is marked rejected and named as damaged, like one rejected before.
    fn load_log(
        &mut self,
        case: &mut Case,
        access: &access::Access,
        (cid, owner): (CompartmentId, &str),
        ring: &mdo_crypto::Keyring,
        rows: Vec<ChunkRow>,
        report: &mut LoadReport,
    ) -> Result<()> {
        use crate::core::sharedlog::{Batch, Found};
        let id = case.id;
        for (cid_bytes, author, epoch, bytes) in rows {
            let (Ok(chunk), Ok(author)) = (
                <[u8; 32]>::try_from(cid_bytes.as_slice()),
                <[u8; 32]>::try_from(author.as_slice()),
            ) else {
                return Err(self.corrupt("a chunk or author id has the wrong length"));
            };
            let (chunk, author) = (ChunkId(chunk), DeviceId(author));
            case.note_stored(cid, chunk, author);
            // Only the owner's own devices write its log: a batch sealed by anyone else who
            // holds the key (a reader) is not the owner's, whatever it claims — not even one a
            // rotation carried over as history.
            let owners = case.state().device_owner.get(&author).map(String::as_str) == Some(owner);
            if !owners {
                report.refused.push((
                    chunk.to_hex(),
                    "a batch of an access log not written by its owner's device".into(),
                ));
                case.shared_log_damaged.push((chunk, Some(author)));
                continue;
            }
            if let Err(e) = access::may_merge(case.state(), access, cid, author, chunk, epoch) {
                report.refused.push((chunk.to_hex(), e.to_string()));
                case.shared_log_damaged.push((chunk, Some(author)));
                continue;
            }
            let opened = envelope::open(&bytes, ring)
                .map_err(CoreError::from)
                .and_then(|o| {
                    let batch = Batch::decode(&o.payload)
                        .map_err(|e| CoreError::BadChunk(e.to_string()))?;
                    if batch.entries.iter().any(|e| e.person != owner) {
                        return Err(CoreError::BadChunk(
                            "an access-log batch names someone other than its owner".into(),
                        ));
                    }
                    Ok((Batch::hash(&o.payload), batch))
                });
            match opened {
                Ok((hash, batch)) => case.shared_log.push(Found {
                    device: author,
                    chunk,
                    hash,
                    batch,
                }),
                Err(CoreError::Crypto(mdo_crypto::CryptoError::UnknownEpoch { .. })) => {}
                Err(e) => {
                    self.db.execute(
                        "UPDATE chunks SET rejected = ?1 WHERE id = ?2",
                        params![e.to_string(), chunk.0.to_vec()],
                    )?;
                    report.rejected.push((chunk.to_hex(), e.to_string()));
                    case.shared_log_damaged.push((chunk, Some(author)));
                }
            }
        }
        let mut st = self.db.prepare(
            "SELECT id, author FROM chunks WHERE case_id = ?1 AND compartment = ?2 AND rejected IS NOT NULL",
        )?;
        let damaged: Vec<(Vec<u8>, Vec<u8>)> = st
            .query_map(params![id.0.to_vec(), cid.0.to_vec()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<std::result::Result<_, _>>()?;
        for (c, a) in damaged {
            if let Ok(c) = <[u8; 32]>::try_from(c.as_slice()) {
                let c = ChunkId(c);
                if !case.shared_log_damaged.iter().any(|(x, _)| *x == c) {
                    let a = <[u8; 32]>::try_from(a.as_slice()).ok().map(DeviceId);
                    case.shared_log_damaged.push((c, a));
                }
            }
        }
        Ok(())
    }

    /// Persists everything new in `case` in one durable transaction: first the key work the
    /// rights of today require (creation, rotation after a removal/withdrawal/expiry, handouts),
    /// then the membership ops, one chunk per changed compartment, the access-log entries, and
    /// compaction of compartments whose history outside a snapshot has grown past
    /// [`COMPACT_AFTER_CHUNKS`] chunks or [`COMPACT_AFTER_CHANGES`] changes.
    pub fn commit(&mut self, case: &mut Case) -> Result<CommitReport> {
        case.maintain_keys(&self.device)?;
        let sealed = case.seal_pending(&self.device)?;
        // A part destroyed on this copy (by another process while this case was open) takes
        // nothing new, and no key of it is stored again.
        let gone = self.shredded(case.id)?;
        if let Some(s) = sealed.iter().find(|s| gone.contains(&s.compartment)) {
            return Err(StoreError::Destroyed {
                chunk: s.envelope.id.to_hex(),
            });
        }
        let mut ops = Vec::new();
        for op in case.take_new_ops() {
            ops.push(self.strip_shredded(op)?);
        }
        let mut report = CommitReport::default();
        let mut snapshots: Vec<(CompartmentId, SealedEnvelope, Vec<ChunkId>)> = Vec::new();
        for s in &sealed {
            let stored = self.loaded.entry((case.id, s.compartment)).or_default();
            stored.chunks.push(s.envelope.id);
            stored.residual_changes += s.changes;
            if stored.chunks.len() > COMPACT_AFTER_CHUNKS
                || stored.residual_changes > COMPACT_AFTER_CHANGES
            {
                let old = std::mem::take(&mut stored.chunks);
                stored.residual_changes = 0;
                let snap = case.seal_snapshot(s.compartment, &self.device)?;
                stored.chunks.push(snap.id);
                snapshots.push((s.compartment, snap, old));
            }
        }
        let access = case.access();
        let mut entries = Vec::new();
        for s in &sealed {
            entries.push(self.entry(case, &access, AccessAction::Change, Some(s.compartment), ""));
        }
        for op in &ops {
            entries.extend(self.op_entries(case, &access, op));
        }
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO cases(case_id, created) VALUES (?1, strftime('%s','now'))",
            params![case.id.0.to_vec()],
        )?;
        for op in &ops {
            insert_op(&tx, &self.device, case.id, op)?;
            report.ops.push(op.id.to_hex());
        }
        for s in &sealed {
            insert_chunk(&tx, case.id, s.compartment, &s.envelope)?;
            report.chunks.push(s.envelope.id.to_hex());
        }
        for (cid, snap, old) in &snapshots {
            insert_chunk(&tx, case.id, *cid, snap)?;
            for o in old {
                tx.execute("DELETE FROM chunks WHERE id = ?1", params![o.0.to_vec()])?;
            }
            report.compacted += 1;
        }
        accesslog::append(&tx, &self.device, &entries)?;
        sharedlog::publish(&tx, &self.device, case, &access, &entries)?;
        tx.commit()?;
        accesslog::update_witness(&self.dir, &self.db, &self.device)?;
        if ops.iter().any(|o| {
            matches!(
                o.body.action,
                crate::core::membership::Action::Destroy { .. }
            )
        }) {
            let state = case.state().clone();
            report.shredded = self.carry_out_destruction(case.id, &state)?.compartments;
            case.forget_destroyed();
        }
        if report.compacted > 0 {
            // Give the pages of the replaced chunks back; not part of the durable write.
            let _ = self.checkpoint();
        }
        Ok(report)
    }

    fn entry(
        &self,
        case: &Case,
        access: &access::Access,
        action: AccessAction,
        compartment: Option<CompartmentId>,
        detail: &str,
    ) -> LogEntry {
        let (label, basis) = match compartment {
            Some(c) => (
                access
                    .compartments
                    .get(&c)
                    .map(|a| a.kind.label())
                    .unwrap_or_else(|| c.to_hex()),
                access
                    .reads(c, &self.me.person)
                    .map(|b| b.describe())
                    .unwrap_or_else(|| "geen (niet meer) lezer".into()),
            ),
            None => (String::new(), "deelnemer".into()),
        };
        LogEntry {
            time: self.now,
            person: self.me.person.clone(),
            name: self.me.name.clone(),
            role: case
                .my_member()
                .map(|m| m.role)
                .unwrap_or(self.me.role)
                .id()
                .to_string(),
            organisation: self.me.organisation.clone(),
            case: case.id.to_hex(),
            action,
            compartment: label,
            basis,
            detail: detail.into(),
        }
    }

    fn op_entries(&self, case: &Case, access: &access::Access, op: &Op) -> Vec<LogEntry> {
        use crate::core::membership::Action as A;
        let mut out = Vec::new();
        let (action, detail) = match &op.body.action {
            A::Grant { record } => (
                AccessAction::Consent,
                format!(
                    "toestemming {} vastgelegd: {} voor {}",
                    record.id,
                    record
                        .categories
                        .iter()
                        .map(|c| c.label())
                        .collect::<Vec<_>>()
                        .join(", "),
                    record
                        .recipients
                        .iter()
                        .map(|r| match r {
                            crate::core::membership::Recipient::Member(id) => id.clone(),
                            crate::core::membership::Recipient::Role(role) => {
                                format!("iedere {}", role.label())
                            }
                            crate::core::membership::Recipient::Organisation(o) => o.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            // Each person's answer and the doctor's release are consent acts of their own
            // (issue 14); their notes stay out of the log.
            A::Answer {
                consent,
                person,
                given,
                how,
                ..
            } => (
                AccessAction::Consent,
                format!(
                    "toestemming {consent}: {} door {person} ({})",
                    if *given { "gegeven" } else { "geweigerd" },
                    how.label()
                ),
            ),
            A::Release { consent, .. } => (
                AccessAction::Consent,
                format!("toestemming {consent}: informatie vrijgegeven"),
            ),
            A::Withdraw { consent, by, .. } => (
                AccessAction::Consent,
                format!("toestemming {consent} ingetrokken door {by}"),
            ),
            A::AddMember { member } => (
                AccessAction::Membership,
                format!("deelnemer {} ({}) toegevoegd", member.id, member.role.id()),
            ),
            A::RemoveMember { member, .. } => (
                AccessAction::Membership,
                format!("deelnemer {member} verwijderd"),
            ),
            A::Create { .. } => (AccessAction::Membership, "casus aangemaakt".into()),
            A::Destroy {
                organisation,
                compartments,
                ..
            } => (
                AccessAction::Destroy,
                format!(
                    "besluit: {} deel/delen van {organisation} vernietigen",
                    compartments.len()
                ),
            ),
            A::RequestDestruction { organisation, .. } => (
                AccessAction::Membership,
                format!("verzoek aan {organisation} om te vernietigen ondertekend"),
            ),
            A::AnswerDestruction { granted, .. } => (
                AccessAction::Membership,
                format!(
                    "verzoek om te vernietigen {}",
                    if *granted { "toegekend" } else { "afgewezen" }
                ),
            ),
            A::Keys => (AccessAction::Share, String::new()),
            // Every other act in words, without its free text (a reason can name what is kept
            // from a reader of the log).
            A::AddDevice { member, .. } => (
                AccessAction::Membership,
                format!("apparaat toegevoegd voor {member}"),
            ),
            A::RemoveDevice { member, .. } => (
                AccessAction::Membership,
                format!("apparaat van {member} ingetrokken"),
            ),
            A::SetRole { member, role, .. } => (
                AccessAction::Membership,
                format!("rol van {member} gewijzigd in {}", role.label()),
            ),
            A::SetCustody { member, .. } => (
                AccessAction::Membership,
                format!("gezag van {member} vastgelegd"),
            ),
            A::SetBirthdate { .. } => (AccessAction::Membership, "geboortedatum verbeterd".into()),
            A::Confirm { member } => (
                AccessAction::Membership,
                format!("deelname van {member} bevestigd"),
            ),
            A::AddStoragePeer { organisation, .. } => (
                AccessAction::Membership,
                format!("opslagpunt van {organisation} toegevoegd"),
            ),
            A::RemoveStoragePeer { .. } => {
                (AccessAction::Membership, "opslagpunt verwijderd".into())
            }
            A::Close { .. } => (AccessAction::Membership, "casus afgesloten".into()),
            A::Reopen { .. } => (AccessAction::Membership, "casus heropend".into()),
            A::SetRetention {
                organisation,
                years,
                ..
            } => (
                AccessAction::Membership,
                format!("bewaartermijn van {organisation} ingesteld op {years} jaar"),
            ),
        };
        if !matches!(op.body.action, A::Keys) {
            out.push(self.entry(case, access, action, None, &detail));
        }
        let st = case.state();
        for w in op.bundles() {
            let to = st.device_owner.get(&w.to).cloned().unwrap_or_default();
            if to == self.me.person {
                continue;
            }
            for (c, e) in &w.entries {
                let basis = access
                    .reads(*c, &to)
                    .map(|b| b.describe())
                    .unwrap_or_default();
                let mut en = self.entry(
                    case,
                    access,
                    AccessAction::Share,
                    Some(*c),
                    &format!("sleutel (periode {e}) gedeeld met {to}"),
                );
                en.basis = basis;
                out.push(en);
            }
        }
        out
    }

    /// Appends entries to the access log (views and exports; the CLI calls this).
    pub fn log_access(
        &mut self,
        case: &Case,
        action: AccessAction,
        compartments: &[CompartmentId],
        detail: &str,
    ) -> Result<()> {
        let access = case.access();
        let entries: Vec<LogEntry> = if compartments.is_empty() {
            vec![self.entry(case, &access, action, None, detail)]
        } else {
            compartments
                .iter()
                .map(|c| self.entry(case, &access, action, Some(*c), detail))
                .collect()
        };
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        accesslog::append(&tx, &self.device, &entries)?;
        sharedlog::publish(&tx, &self.device, case, &access, &entries)?;
        tx.commit()?;
        accesslog::update_witness(&self.dir, &self.db, &self.device)?;
        Ok(())
    }

    /// The access log of this profile (optionally of one case), verified: a modified, removed,
    /// reordered or truncated entry is reported as [`StoreError::LogTampered`].
    pub fn access_log(&self, case: Option<CaseId>) -> Result<Vec<LogEntry>> {
        let all = accesslog::read(&self.db, &self.device)?;
        accesslog::check_witness(&self.dir, &self.db, &self.device)?;
        Ok(all
            .into_iter()
            .filter(|e| case.is_none_or(|c| e.case == c.to_hex()))
            .collect())
    }

    /// Stores a membership op that arrived from elsewhere after checking its form and
    /// signature (rights are checked when the log is replayed), without the keys of
    /// compartments destroyed on this copy. Returns false if known.
    pub fn store_op(&mut self, bytes: &[u8]) -> Result<bool> {
        let op = Op::parse(bytes).map_err(|e| CoreError::Log(e.into()))?;
        let op = self.strip_shredded(op)?;
        self.insert_parsed(&op)
    }

    /// [`Self::store_op`] for an op already parsed; returns the op as stored (without the keys
    /// of compartments destroyed here).
    pub(crate) fn store_op_parsed(&mut self, op: Op) -> Result<Op> {
        let op = self.strip_shredded(op)?;
        self.insert_parsed(&op)?;
        Ok(op)
    }

    fn insert_parsed(&mut self, op: &Op) -> Result<bool> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // A copy of a known op: what key material it adds (not of a shredded part: `op` was
        // stripped of those) completes the stored copy.
        let known: Option<Vec<u8>> = tx
            .query_row(
                "SELECT bytes FROM ops WHERE id = ?1",
                params![op.id.0.to_vec()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(sealed) = known {
            if let Ok(bytes) = open_local(&self.device, OP_PURPOSE, &op.id.0, &sealed)
                && let Ok(stored) = Op::parse(&bytes)
                && let Some(merged) = stored.with_material_of(op)
            {
                let sealed = seal_local(&self.device, OP_PURPOSE, &op.id.0, &merged.bytes)?;
                tx.execute(
                    "UPDATE ops SET bytes = ?1 WHERE id = ?2",
                    params![sealed, op.id.0.to_vec()],
                )?;
                tx.commit()?;
            }
            return Ok(false);
        }
        tx.execute(
            "INSERT OR IGNORE INTO cases(case_id, created) VALUES (?1, strftime('%s','now'))",
            params![op.body.case.0.to_vec()],
        )?;
        let n = insert_op(&tx, &self.device, op.body.case, op)?;
        tx.commit()?;
        Ok(n)
    }

    /// Deletes everything stored of a case (a case a peer pushed that does not name this device).
    pub fn forget_case(&mut self, case: CaseId) -> Result<()> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for table in [
            "ops",
            "chunks",
            "cases",
            "case_devices",
            "case_index_stale",
            "shredded",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE case_id = ?1"),
                params![case.0.to_vec()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A number that grows whenever ops or chunks are stored (by any process on this profile):
    /// the live node compares it to know when to push.
    pub fn change_mark(&self) -> Result<i64> {
        Ok(self.db.query_row(
            "SELECT (SELECT IFNULL(MAX(seq), 0) FROM chunks) + (SELECT IFNULL(MAX(seq), 0) FROM ops)",
            [],
            |r| r.get(0),
        )?)
    }

    /// The tag under which `device` is indexed: a keyed hash (the key derived from this
    /// device's own secret), so the index on disk does not list device ids per case.
    fn device_tag(&self, device: DeviceId) -> [u8; 32] {
        let key = self.device.derive_local_key("case-devices-index");
        *blake3::keyed_hash(key.expose(), &device.0).as_bytes()
    }

    /// Brings the index of devices per case up to date for the cases whose ops changed since
    /// (each derived once from its log). A node does this when it starts
    /// ([`crate::net::serve`]), so that its first session does not wait for it.
    pub fn fresh_index(&self) -> Result<usize> {
        let stale: Vec<(Vec<u8>, i64)> = {
            let mut st = self
                .db
                .prepare("SELECT case_id, gen FROM case_index_stale")?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<std::result::Result<_, _>>()?
        };
        let n = stale.len();
        for (raw, generation) in stale {
            let Ok(id) = <[u8; 16]>::try_from(raw.as_slice()) else {
                continue;
            };
            let devices = self.case_devices(CaseId(id))?;
            self.write_index(CaseId(id), &devices, generation)?;
        }
        Ok(n)
    }

    /// Writes the index of `case` (its devices as derived with the ops of generation `gen`)
    /// and clears its mark, unless an op arrived since (the generation moved on).
    pub(super) fn write_index(
        &self,
        case: CaseId,
        devices: &[DeviceId],
        generation: i64,
    ) -> Result<()> {
        let tx = self.db.unchecked_transaction()?;
        tx.execute(
            "DELETE FROM case_devices WHERE case_id = ?1",
            params![case.0.to_vec()],
        )?;
        for d in devices {
            tx.execute(
                "INSERT OR IGNORE INTO case_devices(case_id, device_tag) VALUES (?1, ?2)",
                params![case.0.to_vec(), self.device_tag(*d).to_vec()],
            )?;
        }
        tx.execute(
            "DELETE FROM case_index_stale WHERE case_id = ?1 AND gen = ?2",
            params![case.0.to_vec(), generation],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The generation of `case`'s index mark, if it is marked.
    pub(super) fn index_gen(&self, case: CaseId) -> Result<Option<i64>> {
        Ok(self
            .db
            .query_row(
                "SELECT gen FROM case_index_stale WHERE case_id = ?1",
                params![case.0.to_vec()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The cases held here of which `device` is a device (an active participant's, or a storage
    /// peer), from the index: what a session with that device is about, without reading every
    /// case's log (a storage peer holds thousands).
    pub fn cases_of_device(&self, device: DeviceId) -> Result<Vec<CaseId>> {
        self.fresh_index()?;
        let mut st = self
            .db
            .prepare("SELECT case_id FROM case_devices WHERE device_tag = ?1")?;
        let rows = st.query_map(params![self.device_tag(device).to_vec()], |r| {
            r.get::<_, Vec<u8>>(0)
        })?;
        let mut out = Vec::new();
        for r in rows {
            if let Ok(id) = <[u8; 16]>::try_from(r?.as_slice()) {
                out.push(CaseId(id));
            }
        }
        Ok(out)
    }

    /// The devices of the active participants and the storage peers of a case (from its
    /// membership log).
    pub fn case_devices(&self, case: CaseId) -> Result<Vec<DeviceId>> {
        let mut log = crate::core::membership::Log::new(case, self.today);
        for bytes in self.ops_of(case)? {
            if let Ok(op) = Op::parse(&bytes) {
                let _ = log.insert(op);
            }
        }
        Ok(log.state().sync_devices())
    }

    /// Remembers where this device's node listens (`mdo serve` sets it; invites use it).
    pub fn set_node_addrs(&mut self, addrs: &[String]) -> Result<()> {
        self.db.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('node_addrs', ?1)",
            params![addrs.join(" ").into_bytes()],
        )?;
        Ok(())
    }

    /// The port this device's node listened on last time (from [`Self::node_addrs`]).
    pub fn last_port(&self) -> Option<u16> {
        self.own_addr()
            .ok()??
            .ip_addrs()
            .map(|a| a.port())
            .find(|p| *p != 0)
    }

    /// Where this device's node last listened.
    pub fn node_addrs(&self) -> Result<Vec<String>> {
        let v: Option<Vec<u8>> = self
            .db
            .query_row("SELECT value FROM meta WHERE key = 'node_addrs'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(v.map(|b| {
            String::from_utf8_lossy(&b)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
    }

    /// Chunks of a case that were rejected (they stay stored as evidence), with the reason.
    pub fn rejected_chunks(&self, case: CaseId) -> Result<Vec<(String, String)>> {
        let mut st = self.db.prepare(
            "SELECT id, rejected FROM chunks WHERE case_id = ?1 AND rejected IS NOT NULL ORDER BY seq",
        )?;
        let rows = st.query_map(params![case.0.to_vec()], |r| {
            Ok((hex::encode(r.get::<_, Vec<u8>>(0)?), r.get::<_, String>(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every stored op of a case (its signed bytes), in arrival order.
    pub fn ops_of(&self, case: CaseId) -> Result<Vec<Vec<u8>>> {
        let mut st = self
            .db
            .prepare("SELECT id, bytes FROM ops WHERE case_id = ?1 ORDER BY seq")?;
        let rows: Vec<(Vec<u8>, Vec<u8>)> = st
            .query_map(params![case.0.to_vec()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(id, sealed)| {
                open_local(&self.device, OP_PURPOSE, &id, &sealed).map(|p| p.to_vec())
            })
            .collect()
    }

    /// Returns free pages to the file system and folds the write-ahead log into the database
    /// (on clean shutdown, and after compaction).
    pub fn checkpoint(&self) -> Result<()> {
        self.db.execute_batch("PRAGMA incremental_vacuum;")?;
        self.db
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Stores an envelope that arrived from elsewhere (sync, import) after checking its
    /// structure and signature. Returns false if it was already stored.
    pub fn store_envelope(&mut self, bytes: &[u8]) -> Result<bool> {
        let env = Envelope::parse(bytes)?;
        env.verify_signature()?;
        if self.is_shredded(env.case, env.compartment)? {
            return Err(StoreError::Destroyed {
                chunk: env.id.to_hex(),
            });
        }
        let tx = self.db.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO cases(case_id, created) VALUES (?1, strftime('%s','now'))",
            params![env.case.0.to_vec()],
        )?;
        let n = tx.execute(
            "INSERT OR IGNORE INTO chunks(id, case_id, compartment, epoch, author, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![env.id.0.to_vec(), env.case.0.to_vec(), env.compartment.0.to_vec(), env.epoch, env.author.0.to_vec(), bytes.to_vec()],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Every stored chunk of a case (for export and tests): (id, compartment, bytes).
    pub fn chunks_of(&self, case: CaseId) -> Result<Vec<(ChunkId, CompartmentId, Vec<u8>)>> {
        let mut st = self
            .db
            .prepare("SELECT id, compartment, bytes FROM chunks WHERE case_id = ?1 ORDER BY seq")?;
        let rows = st.query_map(params![case.0.to_vec()], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (a, b, c) = r?;
            let id = ChunkId(
                a.as_slice()
                    .try_into()
                    .map_err(|_| self.corrupt("chunk id length"))?,
            );
            let comp = CompartmentId(
                b.as_slice()
                    .try_into()
                    .map_err(|_| self.corrupt("compartment id length"))?,
            );
            out.push((id, comp, c));
        }
        Ok(out)
    }
}

/// Stores an op sealed under the device-local key: ops carry participant ids, roles,
/// organisations and consent categories, which never lie on disk in the clear.
fn insert_op(
    tx: &rusqlite::Transaction<'_>,
    device: &DeviceSecret,
    case: CaseId,
    op: &Op,
) -> Result<bool> {
    let known: Option<i64> = tx
        .query_row(
            "SELECT seq FROM ops WHERE id = ?1",
            params![op.id.0.to_vec()],
            |r| r.get(0),
        )
        .optional()?;
    if known.is_some() {
        return Ok(false);
    }
    let sealed = seal_local(device, OP_PURPOSE, &op.id.0, &op.bytes)?;
    let n = tx.execute(
        "INSERT OR IGNORE INTO ops(id, case_id, bytes) VALUES (?1, ?2, ?3)",
        params![op.id.0.to_vec(), case.0.to_vec(), sealed],
    )?;
    // Who the case's devices are may have changed: indexed again when next asked. The
    // generation tells an indexer that read the case before this op not to clear the mark.
    tx.execute(
        "INSERT INTO case_index_stale(case_id, gen) VALUES (?1, 1)
             ON CONFLICT(case_id) DO UPDATE SET gen = gen + 1",
        params![case.0.to_vec()],
    )?;
    Ok(n == 1)
}

const OP_PURPOSE: &str = "membership-op";

/// A chunk row as loaded: (id, author, epoch, sealed bytes).
type ChunkRow = (Vec<u8>, Vec<u8>, u32, Vec<u8>);

fn insert_chunk(
    tx: &rusqlite::Transaction<'_>,
    case: CaseId,
    compartment: CompartmentId,
    s: &SealedEnvelope,
) -> Result<()> {
    let env = Envelope::parse(&s.bytes)?;
    tx.execute(
        "INSERT OR IGNORE INTO chunks(id, case_id, compartment, epoch, author, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![s.id.0.to_vec(), case.0.to_vec(), compartment.0.to_vec(), env.epoch, env.author.0.to_vec(), s.bytes],
    )?;
    Ok(())
}

fn open_db(path: &Path) -> Result<Connection> {
    let corrupt = |e: rusqlite::Error| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the mode of the
    // database file.
    if !path.exists() {
        let mut o = fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(path).map_err(io("cannot create", path))?;
    }
    let db = Connection::open(path).map_err(corrupt)?;
    db.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(corrupt)?;
    db.pragma_update(None, "journal_mode", "WAL")
        .map_err(corrupt)?;
    db.pragma_update(None, "synchronous", "FULL")
        .map_err(corrupt)?;
    // Deleted content is overwritten, not left in free pages: what a destruction (issue 17) or a
    // compaction deletes does not stay readable in the file.
    db.pragma_update(None, "secure_delete", "ON")
        .map_err(corrupt)?;
    let check: String = db
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(corrupt)?;
    if check != "ok" {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: check,
        });
    }
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
         CREATE TABLE IF NOT EXISTS cases (case_id BLOB PRIMARY KEY, created INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS chunks (
             seq INTEGER PRIMARY KEY AUTOINCREMENT,
             id BLOB NOT NULL UNIQUE, case_id BLOB NOT NULL, compartment BLOB NOT NULL,
             epoch INTEGER NOT NULL, author BLOB NOT NULL, bytes BLOB NOT NULL, rejected TEXT);
         CREATE INDEX IF NOT EXISTS chunks_by_compartment ON chunks(case_id, compartment, seq);
         CREATE TABLE IF NOT EXISTS ops (
             seq INTEGER PRIMARY KEY AUTOINCREMENT,
             id BLOB NOT NULL UNIQUE, case_id BLOB NOT NULL, bytes BLOB NOT NULL);
         CREATE INDEX IF NOT EXISTS ops_by_case ON ops(case_id, seq);
         CREATE TABLE IF NOT EXISTS peers (device BLOB PRIMARY KEY, addr TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS heard_peers (device BLOB PRIMARY KEY, addr TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS case_devices (case_id BLOB NOT NULL, device_tag BLOB NOT NULL,
             PRIMARY KEY (case_id, device_tag));
         CREATE INDEX IF NOT EXISTS case_devices_by_device ON case_devices(device_tag);
         CREATE TABLE IF NOT EXISTS case_index_stale (case_id BLOB PRIMARY KEY,
             gen INTEGER NOT NULL);
         DROP TABLE IF EXISTS case_devices_stale;
         CREATE TABLE IF NOT EXISTS invites (hash BLOB PRIMARY KEY, case_id BLOB NOT NULL,
             grant_ BLOB NOT NULL, state TEXT NOT NULL, joiner BLOB, code TEXT);
         CREATE TABLE IF NOT EXISTS access_log (
             seq INTEGER PRIMARY KEY AUTOINCREMENT, bytes BLOB NOT NULL, hash BLOB NOT NULL);
         CREATE TABLE IF NOT EXISTS shredded (case_id BLOB NOT NULL, compartment BLOB NOT NULL,
             PRIMARY KEY (case_id, compartment));",
    )
    .map_err(corrupt)?;
    let version: Option<i64> = db
        .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(corrupt)?;
    match version {
        None => {
            db.execute(
                "INSERT INTO meta(key, value) VALUES ('schema', ?1)",
                params![SCHEMA_VERSION],
            )
            .map_err(corrupt)?;
        }
        Some(v) if v < SCHEMA_VERSION => {
            return Err(StoreError::OldSchema { found: v });
        }
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        Some(_) => {}
    }
    // The index of devices per case (issue 18) came after schema 1: a store made before it has
    // every case marked for indexing once.
    db.execute_batch(
        "INSERT OR IGNORE INTO case_index_stale(case_id, gen)
             SELECT case_id, 1 FROM cases
             WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'case_devices_index');
         INSERT OR IGNORE INTO meta(key, value) VALUES ('case_devices_index', x'01');",
    )
    .map_err(corrupt)?;
    Ok(db)
}
