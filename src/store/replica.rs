//! The store as a [`Replica`] for the sync state machine: what a peer may receive is decided by
//! the case's membership log as this device derives it (re-derived as the peer's ops arrive).

use std::collections::BTreeMap;
use std::sync::Arc;

use mdo_crypto::{CaseId, ChunkId, CompartmentId, DeviceId, OpId};
use rusqlite::{OptionalExtension, params};

use super::{OP_PURPOSE, Profile, open_local};
use crate::core::access::{self, Access};
use crate::core::membership::{Action, Log, Op, State};
use crate::core::sync::Replica;

/// At most this many new ops from one device are taken in one session. Membership, consent and
/// key ops are rare (a handful per meeting); a device that sends more is flooding, and the rest
/// wait for a later session. Bounds what one member can make every peer store and derive.
pub const MAX_OPS_PER_DEVICE_PER_SESSION: usize = 256;

/// Rights derived per case during one session, with the logs they come from and the number of
/// ops taken from each device.
#[derive(Debug, Default)]
pub struct Rights {
    rights: BTreeMap<CaseId, Arc<(State, Access)>>,
    logs: BTreeMap<CaseId, Log>,
    taken: BTreeMap<(CaseId, DeviceId), usize>,
}

/// A profile seen by one sync session.
pub struct StoreReplica<'a> {
    profile: &'a mut Profile,
    rights: BTreeMap<CaseId, Arc<(State, Access)>>,
    logs: BTreeMap<CaseId, Log>,
    taken: BTreeMap<(CaseId, DeviceId), usize>,
}

impl<'a> StoreReplica<'a> {
    /// Wraps an open profile.
    pub fn new(profile: &'a mut Profile) -> Self {
        Self::with_rights(profile, Rights::default())
    }

    /// Wraps an open profile, reusing rights derived earlier in the same session (so a session
    /// can let go of the profile between messages).
    pub fn with_rights(profile: &'a mut Profile, rights: Rights) -> Self {
        Self {
            profile,
            rights: rights.rights,
            logs: rights.logs,
            taken: rights.taken,
        }
    }

    /// The rights derived so far, to hand to the next [`StoreReplica::with_rights`].
    pub fn into_rights(self) -> Rights {
        Rights {
            rights: self.rights,
            logs: self.logs,
            taken: self.taken,
        }
    }

    /// The case's log, derived from the stored ops (every op decrypted and its signature
    /// checked).
    fn derive_log(&self, case: CaseId) -> Option<Log> {
        let mut log = Log::new(case, self.profile.today());
        for bytes in self.profile.ops_of(case).ok()? {
            if let Ok(op) = Op::parse(&bytes) {
                let _ = log.insert(op);
            }
        }
        Some(log)
    }

    /// Who may do what in `case`: derived in this session, else as the profile derived it last
    /// if no op of the case changed since and it is the same day (a storage peer's idle re-sync
    /// of thousands of cases then reads no log), else derived from the log now.
    fn rights(&mut self, case: CaseId) -> Option<&(State, Access)> {
        if !self.rights.contains_key(&case) {
            let today = self.profile.today();
            let mark = self.profile.ops_mark(case).ok()?;
            let cached = self
                .profile
                .rights_cache
                .get(&case)
                .filter(|c| c.mark == mark && c.today == today)
                .map(|c| c.rights.clone());
            let rights = match cached {
                Some(r) => r,
                None => {
                    let log = self.derive_log(case)?;
                    let state = log.state().clone();
                    let access = access::resolve(&state, today);
                    self.logs.insert(case, log);
                    let r = Arc::new((state, access));
                    self.profile.cache_rights(case, mark, r.clone());
                    r
                }
            };
            self.rights.insert(case, rights);
        }
        self.rights.get(&case).map(|r| &**r)
    }

    fn rights_ref(&self, case: CaseId) -> Option<&(State, Access)> {
        self.rights.get(&case).map(|r| &**r)
    }

    /// Whether a chunk by `author` in `compartment` under `epoch` belongs to the case as its log
    /// stands: the author is a device the log names (now or earlier: history stays history) and
    /// the log knows that epoch of that compartment. Anything else — junk signed by a stranger's
    /// key, or under an epoch no keys op made — is neither stored nor forwarded. Nothing is
    /// quarantined: the log arrives before the chunks in every session, and a chunk refused for
    /// a log this device lacks is asked for again in the next session.
    fn belongs(st: &State, compartment: CompartmentId, author: DeviceId, epoch: u32) -> bool {
        !st.destroyed.contains_key(&compartment)
            && st.device_owner.contains_key(&author)
            && st
                .keys
                .get(&compartment)
                .is_some_and(|k| k.epochs.iter().any(|e| e.epoch == epoch))
    }

    /// The chunk ids of a compartment that [`Self::belongs`] allows to be forwarded.
    fn forwardable(&self, case: CaseId, compartment: CompartmentId) -> Vec<ChunkId> {
        let Some((st, _)) = self.rights_ref(case) else {
            return Vec::new();
        };
        let Ok(mut q) = self.profile.db.prepare(
            "SELECT id, author, epoch FROM chunks WHERE case_id = ?1 AND compartment = ?2 ORDER BY seq",
        ) else {
            return Vec::new();
        };
        q.query_map(params![case.0.to_vec(), compartment.0.to_vec()], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, u32>(2)?,
            ))
        })
        .map(|rows| {
            rows.filter_map(|r| r.ok())
                .filter_map(|(id, author, epoch)| {
                    let id = ChunkId(id.as_slice().try_into().ok()?);
                    let author = DeviceId(author.as_slice().try_into().ok()?);
                    Self::belongs(st, compartment, author, epoch).then_some(id)
                })
                .collect()
        })
        .unwrap_or_default()
    }

    fn stored_compartments(&self, case: CaseId) -> Vec<CompartmentId> {
        let Ok(mut st) = self
            .profile
            .db
            .prepare("SELECT DISTINCT compartment FROM chunks WHERE case_id = ?1")
        else {
            return Vec::new();
        };
        st.query_map(params![case.0.to_vec()], |r| r.get::<_, Vec<u8>>(0))
            .map(|rows| {
                rows.filter_map(|r| r.ok())
                    .filter_map(|b| b.as_slice().try_into().ok().map(CompartmentId))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Derives the rights of every case this device holds (call before a session).
    pub fn prepare(&mut self) {
        for c in self.profile.case_ids().unwrap_or_default() {
            self.rights(c);
        }
    }

    /// Derives the rights of `cases` only (those a session is about): what [`Self::prepare`]
    /// does for every held case.
    pub fn prepare_for(&mut self, cases: &[CaseId]) {
        for c in cases {
            self.rights(*c);
        }
    }
}

/// Rights a profile derived for a case, kept while the node runs: valid as long as the case's
/// ops are the same (count and last sequence number) and it is the same day.
#[derive(Debug)]
pub(super) struct CachedRights {
    mark: (i64, i64),
    today: crate::core::model::Date,
    rights: Arc<(State, Access)>,
}

/// Most cases whose rights a profile keeps derived (a storage peer's node: about 10 KB each).
pub const RIGHTS_CACHE: usize = 20_000;

impl Profile {
    /// (number of ops, last sequence number) of `case`: changes whenever an op is stored.
    fn ops_mark(&self, case: CaseId) -> rusqlite::Result<(i64, i64)> {
        self.db.query_row(
            "SELECT COUNT(*), IFNULL(MAX(seq), 0) FROM ops WHERE case_id = ?1",
            params![case.0.to_vec()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn cache_rights(&mut self, case: CaseId, mark: (i64, i64), rights: Arc<(State, Access)>) {
        if self.rights_cache.len() >= RIGHTS_CACHE && !self.rights_cache.contains_key(&case) {
            self.rights_cache.clear();
        }
        let today = self.today();
        self.rights_cache.insert(
            case,
            CachedRights {
                mark,
                today,
                rights,
            },
        );
    }
}

impl StoreReplica<'_> {
    /// The devices (participants' active ones and storage peers) of `case`, as derived now.
    fn devices_of(&self, case: CaseId) -> Vec<DeviceId> {
        self.rights_ref(case)
            .map(|(st, _)| st.sync_devices())
            .unwrap_or_default()
    }
}

impl Replica for StoreReplica<'_> {
    /// This device's own address, then where the *organisations'* devices of the shared cases
    /// are reached — storage peers and professionals' devices, whose addresses belong to their
    /// organisation. A parent's or child's device is never passed on: its address is where a
    /// family lives (its home IP), which a partner would otherwise learn without ever meeting
    /// that device (decision, docs/threat-model.md). Nothing at all to a peer that shares no
    /// case with this device (a stranger, a joiner before its case opens).
    fn addresses(&self, peer: DeviceId, cases: &[CaseId]) -> Vec<(DeviceId, String)> {
        let me = self.profile.device().device_id();
        let mut out = Vec::new();
        // Only the cases the peer really is a device of (a restoring session opens what the
        // peer's hello names).
        let shared: Vec<CaseId> = cases
            .iter()
            .copied()
            .filter(|c| self.devices_of(*c).contains(&peer))
            .collect();
        if shared.is_empty() {
            return out;
        }
        if let Ok(Some(own)) = self.profile.own_addr() {
            out.push((me, super::peers::format(&own)));
        }
        let mut devices = std::collections::BTreeSet::new();
        for c in &shared {
            if let Some((st, _)) = self.rights_ref(*c) {
                devices.extend(st.storage_peers.keys().copied());
                for m in st.members.values() {
                    if m.is_active() && m.role.is_professional() {
                        devices.extend(m.devices.iter().copied());
                    }
                }
            }
        }
        devices.remove(&me);
        devices.remove(&peer);
        for d in devices {
            if out.len() >= crate::core::sync::MAX_ADDRS {
                break;
            }
            if let Ok(Some(a)) = self.profile.peer_addr(d)
                && a.ip_addrs().next().is_some()
            {
                // Direct addresses only: a relay is passed on by the device itself.
                out.push((d, super::peers::format(&super::peers::direct_only(&a))));
            }
        }
        out
    }

    /// What the peer said: its own address updates what this device remembers of it (a peer
    /// speaks for itself); what it says of others is kept apart as a hint (`heard_peers`), only
    /// for devices of a case both are devices of, direct addresses only — a relay named by a
    /// third party is dropped, so no partner can make this device contact a server of its
    /// choosing. Nothing from a peer that shares no case with this device.
    fn learn_addresses(&mut self, peer: DeviceId, entries: Vec<(DeviceId, String)>) {
        let me = self.profile.device().device_id();
        // Devices of the cases the peer shares with this device, derived once.
        let mut partners = std::collections::BTreeSet::new();
        for c in self.rights.keys().copied().collect::<Vec<_>>() {
            let devices = self.devices_of(c);
            if devices.contains(&peer) {
                partners.extend(devices);
            }
        }
        if !partners.contains(&peer) {
            return;
        }
        for (d, text) in entries.into_iter().take(crate::core::sync::MAX_ADDRS) {
            let Some(addr) = super::peers::parse(&text) else {
                continue;
            };
            if d == me || DeviceId(*addr.id.as_bytes()) != d || !partners.contains(&d) {
                continue;
            }
            if d == peer {
                let _ = self.profile.learn_peer(&addr);
            } else {
                let _ = self.profile.hear_of_peer(&super::peers::direct_only(&addr));
            }
        }
    }

    fn may_sync(&self, case: CaseId, peer: DeviceId) -> bool {
        self.rights_ref(case).is_some_and(|(st, _)| {
            st.member_of(peer).is_some_and(|m| m.is_active())
                || st.storage_peers.contains_key(&peer)
        })
    }

    fn op_ids(&self, case: CaseId) -> Vec<OpId> {
        let Ok(mut st) = self
            .profile
            .db
            .prepare("SELECT id FROM ops WHERE case_id = ?1 ORDER BY seq")
        else {
            return Vec::new();
        };
        st.query_map(params![case.0.to_vec()], |r| r.get::<_, Vec<u8>>(0))
            .map(|rows| {
                rows.filter_map(|r| r.ok())
                    .filter_map(|b| b.as_slice().try_into().ok().map(OpId))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn op(&self, case: CaseId, id: OpId) -> Option<Vec<u8>> {
        let sealed: Vec<u8> = self
            .profile
            .db
            .query_row(
                "SELECT bytes FROM ops WHERE case_id = ?1 AND id = ?2",
                params![case.0.to_vec(), id.0.to_vec()],
                |r| r.get(0),
            )
            .optional()
            .ok()??;
        open_local(&self.profile.device, OP_PURPOSE, &id.0, &sealed)
            .ok()
            .map(|p| p.to_vec())
    }

    fn store_op(&mut self, case: CaseId, bytes: &[u8]) -> Result<(), String> {
        let op = Op::parse(bytes).map_err(|e| e.to_string())?;
        if op.body.case != case {
            return Err(format!(
                "an op of case {} in a session about {case}",
                op.body.case
            ));
        }
        self.rights(case);
        if !self.logs.contains_key(&case)
            && let Some(log) = self.derive_log(case)
        {
            self.logs.insert(case, log);
        }
        let Some(log) = self.logs.get_mut(&case) else {
            return Err(format!("case {case} could not be read on this device"));
        };
        if log.get(&op.id).is_some() {
            // A copy of a known op can complete its key material (a relay may have dropped
            // some); nothing else changes.
            self.profile
                .store_op_parsed(op)
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        // Junk signed by a key that is no device of this case (now or before) is neither stored
        // nor forwarded: only the first op of a case comes from a device the log does not know
        // yet. (A device added in ops this one has not received yet sends again next session.)
        let first = log.all().next().is_none();
        if first != matches!(op.body.action, Action::Create { .. })
            || (!first && !log.state().device_owner.contains_key(&op.body.author))
        {
            return Err(format!(
                "an op signed by device {} that is no device of this case: not stored",
                op.body.author
            ));
        }
        let taken = self.taken.entry((case, op.body.author)).or_default();
        if *taken >= MAX_OPS_PER_DEVICE_PER_SESSION {
            return Err(format!(
                "more than {MAX_OPS_PER_DEVICE_PER_SESSION} ops from device {} in one session: the rest wait for a later session",
                op.body.author
            ));
        }
        *taken += 1;
        // An op from a peer that had not learnt of a destruction this device carried out is
        // stored without the destroyed compartments' keys (`Profile::store_op`).
        let op = self
            .profile
            .store_op_parsed(op)
            .map_err(|e| e.to_string())?;
        // The log grows by one op (linear in the ops that arrive), instead of being derived
        // again from everything stored.
        let _ = log.insert(op);
        let state = log.state().clone();
        // A destruction in this op (or one it let apply): keys, then chunks, before any chunk
        // of the session is listed or taken.
        if let Err(e) = self.profile.carry_out_destruction(case, &state) {
            return Err(format!("a destruction could not be carried out: {e}"));
        }
        let access = access::resolve(&state, self.profile.today());
        let in_log = log.all().count() as i64;
        let rights = Arc::new((state, access));
        // The index of devices per case, from the log in hand (no second derivation), if the
        // log holds every op stored of the case (another process may have added one).
        if let Ok(Some(generation)) = self.profile.index_gen(case)
            && let Ok(mark) = self.profile.ops_mark(case)
        {
            if mark.0 == in_log {
                let devices = rights.0.sync_devices();
                let _ = self.profile.write_index(case, &devices, generation);
            }
            self.profile.cache_rights(case, mark, rights.clone());
        }
        self.rights.insert(case, rights);
        Ok(())
    }

    fn chunks_for(&self, case: CaseId, peer: DeviceId) -> BTreeMap<CompartmentId, Vec<ChunkId>> {
        let Some((st, access)) = self.rights_ref(case) else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        if st.storage_peers.contains_key(&peer) {
            // A storage peer keeps the ciphertext of every compartment and reads none.
            for c in self.stored_compartments(case) {
                let ids = self.forwardable(case, c);
                if !ids.is_empty() {
                    out.insert(c, ids);
                }
            }
            return out;
        }
        for c in access.compartments.keys() {
            if access.reader_devices(st, *c).contains(&peer) {
                let ids = self.forwardable(case, *c);
                if !ids.is_empty() {
                    out.insert(*c, ids);
                }
            }
        }
        out
    }

    fn chunk_ids(&self, case: CaseId, compartment: CompartmentId) -> Vec<ChunkId> {
        let Ok(mut st) = self
            .profile
            .db
            .prepare("SELECT id FROM chunks WHERE case_id = ?1 AND compartment = ?2 ORDER BY seq")
        else {
            return Vec::new();
        };
        st.query_map(params![case.0.to_vec(), compartment.0.to_vec()], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .map(|rows| {
            rows.filter_map(|r| r.ok())
                .filter_map(|b| b.as_slice().try_into().ok().map(ChunkId))
                .collect()
        })
        .unwrap_or_default()
    }

    fn chunk(&self, case: CaseId, id: ChunkId) -> Option<Vec<u8>> {
        self.profile
            .db
            .query_row(
                "SELECT bytes FROM chunks WHERE case_id = ?1 AND id = ?2",
                params![case.0.to_vec(), id.0.to_vec()],
                |r| r.get(0),
            )
            .optional()
            .ok()?
    }

    fn refuses(&self, case: CaseId, compartment: CompartmentId) -> bool {
        self.rights_ref(case)
            .is_some_and(|(st, _)| st.destroyed.contains_key(&compartment))
            || self.profile.is_shredded(case, compartment).unwrap_or(true)
    }

    fn store_chunk(&mut self, case: CaseId, bytes: &[u8]) -> Result<(), String> {
        let env = mdo_crypto::Envelope::parse(bytes).map_err(|e| e.to_string())?;
        if env.case != case {
            return Err(format!(
                "a chunk of case {} in a session about {case}",
                env.case
            ));
        }
        let Some((st, _)) = self.rights(case) else {
            return Err(format!(
                "chunk {}: this device holds no log of the case",
                env.id
            ));
        };
        if !st.device_owner.contains_key(&env.author) {
            return Err(format!(
                "chunk {}: its author {} is no device of this case; not stored",
                env.id, env.author
            ));
        }
        if st.destroyed.contains_key(&env.compartment) {
            return Err(format!(
                "chunk {}: its part of the case was destroyed; not stored",
                env.id
            ));
        }
        if !Self::belongs(st, env.compartment, env.author, env.epoch) {
            return Err(format!(
                "chunk {}: sealed under epoch {} of compartment {}, which the case's log does not know; not stored",
                env.id, env.epoch, env.compartment
            ));
        }
        self.profile
            .store_envelope(bytes)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
