//! The sync protocol, sans-IO: the messages two devices exchange about the cases they share, their
//! strict binary encoding, and the state machine of one side of a session. The network shell
//! (iroh, issue 5) only moves frames; the store answers the [`Replica`] questions.
//!
//! Per case the session has two phases. **Ops first**, so that both sides agree on who may read
//! what: each side sends a summary of its membership ops (count and a BLAKE3 fingerprint of the
//! sorted ids); if they differ the other answers with the ids it has, and each side sends exactly
//! the ops the other lacks, then `OpsDone`. **Chunks next**: once a side has all of the peer's ops,
//! it summarizes — per compartment *the peer may read* (every compartment for a storage peer) — its
//! chunk ids; the peer answers, per differing compartment, with the ids it has; only missing chunks
//! travel, then `Done`. Compaction keeps a compartment to a few chunks, so an up-to-date case costs
//! one 32-byte fingerprint per compartment. A broken-off session resumes by simply running again:
//! nothing that arrived is sent twice.
//!
//! Frame: u32 LE length ‖ tag ‖ fields (integers LE, byte strings and lists u32-LE-prefixed).

use std::collections::{BTreeMap, BTreeSet};

use mdo_crypto::{CaseId, ChunkId, CompartmentId, DeviceId, OpId};

/// Protocol version (the ALPN is `mdo/sync/1`). Version 2 added [`Msg::Addrs`].
pub const VERSION: u16 = 2;
/// Most entries in one [`Msg::Addrs`].
pub const MAX_ADDRS: usize = 64;
/// Longest address text in one [`Msg::Addrs`] entry, in bytes.
pub const MAX_ADDR_TEXT: usize = 1024;
/// Largest frame: one chunk envelope of the largest payload plus framing. Accepted only once a
/// case is open in the session (see [`Session::max_frame`]).
pub const MAX_FRAME: usize = (64 << 20) + (1 << 20);
/// Largest frame before a case is open in the session: the hello (about 4,000 case ids), a want,
/// a refusal. Whoever can reach a node can send these, so they are small.
pub const MAX_HELLO_FRAME: usize = 64 << 10;
/// Most ids or entries in one message.
pub const MAX_LIST: usize = 100_000;

/// A protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Opens a session: the version and the cases this side wants to sync with the peer.
    Hello {
        /// Protocol version.
        version: u16,
        /// Cases.
        cases: Vec<CaseId>,
    },
    /// Count and fingerprint of a case's op ids.
    OpSummary {
        /// Case.
        case: CaseId,
        /// Number of ops.
        count: u32,
        /// BLAKE3 of the sorted ids.
        fingerprint: [u8; 32],
    },
    /// The op ids this side has (sent when the summaries differ).
    OpHave {
        /// Case.
        case: CaseId,
        /// Ids.
        ids: Vec<OpId>,
    },
    /// One op.
    Op {
        /// Case.
        case: CaseId,
        /// The signed op.
        bytes: Vec<u8>,
    },
    /// This side has sent every op the peer lacked.
    OpsDone {
        /// Case.
        case: CaseId,
    },
    /// Per compartment the peer may read: chunk count and fingerprint.
    ChunkSummary {
        /// Case.
        case: CaseId,
        /// (compartment, count, fingerprint).
        entries: Vec<(CompartmentId, u32, [u8; 32])>,
    },
    /// For compartments whose summary differed: the chunk ids this side has.
    ChunkHave {
        /// Case.
        case: CaseId,
        /// (compartment, ids).
        entries: Vec<(CompartmentId, Vec<ChunkId>)>,
    },
    /// One chunk envelope.
    Chunk {
        /// Case.
        case: CaseId,
        /// The envelope.
        bytes: Vec<u8>,
    },
    /// This side has sent every chunk the peer lacked.
    Done {
        /// Case.
        case: CaseId,
    },
    /// Sent once, right after the hello: cases of the peer's hello this side wants besides those
    /// it offered itself. This version wants none: a device takes part only in the cases its own
    /// hello names (those it holds, one it is joining, one its user asked for), so a peer cannot
    /// plant a case in it. Kept in the protocol so that version-1 peers interoperate.
    Want {
        /// Cases.
        cases: Vec<CaseId>,
    },
    /// Sent once, right after the hello (before [`Msg::Want`]): where devices are reached — this
    /// side's own node first, then the other devices of the cases both hellos name, as far as
    /// this side knows them. A device that moved (restarted on another port, went home behind a
    /// relay) is found again by whoever hears it, directly or through a storage peer. Text form
    /// `NODE-ID@ADDR,ADDR,…` (`store::peers`); the shell checks and keeps what it can use.
    Addrs {
        /// (device, address text).
        entries: Vec<(DeviceId, String)>,
    },
    /// The session is refused or ended, with a reason for the log.
    Refuse {
        /// Why.
        reason: String,
    },
}

/// Why bytes are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed sync message: {0}")]
pub struct DecodeError(pub String);

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn raw(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.raw(b);
    }
}

struct R<'a>(&'a [u8]);

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError("truncated".into()));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn count(&mut self, item_size: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n > MAX_LIST || n.saturating_mul(item_size) > self.0.len() {
            return Err(DecodeError(format!("list of {n} entries does not fit")));
        }
        Ok(n)
    }
    fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
}

impl Msg {
    /// Encodes one frame (length prefix included).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = W(vec![0, 0, 0, 0]);
        match self {
            Msg::Hello { version, cases } => {
                w.u8(1);
                w.u16(*version);
                w.len(cases.len());
                cases.iter().for_each(|c| w.raw(&c.0));
            }
            Msg::OpSummary {
                case,
                count,
                fingerprint,
            } => {
                w.u8(2);
                w.raw(&case.0);
                w.u32(*count);
                w.raw(fingerprint);
            }
            Msg::OpHave { case, ids } => {
                w.u8(3);
                w.raw(&case.0);
                w.len(ids.len());
                ids.iter().for_each(|i| w.raw(&i.0));
            }
            Msg::Op { case, bytes } => {
                w.u8(4);
                w.raw(&case.0);
                w.bytes(bytes);
            }
            Msg::OpsDone { case } => {
                w.u8(5);
                w.raw(&case.0);
            }
            Msg::ChunkSummary { case, entries } => {
                w.u8(6);
                w.raw(&case.0);
                w.len(entries.len());
                for (c, n, f) in entries {
                    w.raw(&c.0);
                    w.u32(*n);
                    w.raw(f);
                }
            }
            Msg::ChunkHave { case, entries } => {
                w.u8(7);
                w.raw(&case.0);
                w.len(entries.len());
                for (c, ids) in entries {
                    w.raw(&c.0);
                    w.len(ids.len());
                    ids.iter().for_each(|i| w.raw(&i.0));
                }
            }
            Msg::Chunk { case, bytes } => {
                w.u8(8);
                w.raw(&case.0);
                w.bytes(bytes);
            }
            Msg::Done { case } => {
                w.u8(9);
                w.raw(&case.0);
            }
            Msg::Refuse { reason } => {
                w.u8(10);
                w.bytes(reason.as_bytes());
            }
            Msg::Want { cases } => {
                w.u8(11);
                w.len(cases.len());
                cases.iter().for_each(|c| w.raw(&c.0));
            }
            Msg::Addrs { entries } => {
                w.u8(12);
                w.len(entries.len());
                for (d, a) in entries {
                    w.raw(&d.0);
                    w.bytes(a.as_bytes());
                }
            }
        }
        let body = (w.0.len() - 4) as u32;
        w.0[..4].copy_from_slice(&body.to_le_bytes());
        w.0
    }

    /// Reads the length of the frame at the start of `buf`, if its prefix is there: the shell
    /// reads that many bytes (refusing more than [`MAX_FRAME`]) before [`Msg::decode`].
    pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let n = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if n == 0 || n > MAX_FRAME {
            return Err(DecodeError(format!("frame of {n} bytes")));
        }
        Ok(Some(n))
    }

    /// Decodes one frame body (without its length prefix), strictly: unknown tags, trailing
    /// bytes and lists that cannot fit are errors.
    pub fn decode(body: &[u8]) -> Result<Msg, DecodeError> {
        if body.len() > MAX_FRAME {
            return Err(DecodeError("frame too large".into()));
        }
        let mut r = R(body);
        let case = |r: &mut R<'_>| r.arr::<16>().map(CaseId);
        let msg = match r.u8()? {
            1 => {
                let version = r.u16()?;
                let n = r.count(16)?;
                let cases = (0..n).map(|_| case(&mut r)).collect::<Result<_, _>>()?;
                Msg::Hello { version, cases }
            }
            2 => Msg::OpSummary {
                case: case(&mut r)?,
                count: r.u32()?,
                fingerprint: r.arr()?,
            },
            3 => {
                let case = case(&mut r)?;
                let n = r.count(32)?;
                let ids = (0..n)
                    .map(|_| r.arr().map(OpId))
                    .collect::<Result<_, _>>()?;
                Msg::OpHave { case, ids }
            }
            4 => Msg::Op {
                case: case(&mut r)?,
                bytes: r.bytes()?,
            },
            5 => Msg::OpsDone {
                case: case(&mut r)?,
            },
            6 => {
                let case = case(&mut r)?;
                let n = r.count(52)?;
                let entries = (0..n)
                    .map(|_| Ok((CompartmentId(r.arr()?), r.u32()?, r.arr()?)))
                    .collect::<Result<_, DecodeError>>()?;
                Msg::ChunkSummary { case, entries }
            }
            7 => {
                let case = case(&mut r)?;
                let n = r.count(20)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let c = CompartmentId(r.arr()?);
                    let m = r.count(32)?;
                    let ids = (0..m)
                        .map(|_| r.arr().map(ChunkId))
                        .collect::<Result<_, _>>()?;
                    entries.push((c, ids));
                }
                Msg::ChunkHave { case, entries }
            }
            8 => Msg::Chunk {
                case: case(&mut r)?,
                bytes: r.bytes()?,
            },
            9 => Msg::Done {
                case: case(&mut r)?,
            },
            10 => Msg::Refuse {
                reason: String::from_utf8_lossy(&r.bytes()?).into_owned(),
            },
            11 => {
                let n = r.count(16)?;
                let cases = (0..n).map(|_| case(&mut r)).collect::<Result<_, _>>()?;
                Msg::Want { cases }
            }
            12 => {
                let n = r.count(36)?;
                if n > MAX_ADDRS {
                    return Err(DecodeError(format!("{n} addresses")));
                }
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let d = DeviceId(r.arr()?);
                    let text = r.bytes()?;
                    if text.len() > MAX_ADDR_TEXT {
                        return Err(DecodeError("an address of more than 1024 bytes".into()));
                    }
                    let text = String::from_utf8(text)
                        .map_err(|_| DecodeError("an address that is not text".into()))?;
                    entries.push((d, text));
                }
                Msg::Addrs { entries }
            }
            t => return Err(DecodeError(format!("unknown message tag {t}"))),
        };
        if !r.0.is_empty() {
            return Err(DecodeError(format!("{} trailing bytes", r.0.len())));
        }
        Ok(msg)
    }
}

/// BLAKE3 over sorted, deduplicated ids: equal sets give equal fingerprints.
pub fn fingerprint<'a>(ids: impl IntoIterator<Item = &'a [u8; 32]>) -> [u8; 32] {
    let sorted: BTreeSet<&[u8; 32]> = ids.into_iter().collect();
    let mut h = blake3::Hasher::new_derive_key("MDO 2026-11 sync fingerprint v1");
    for id in sorted {
        h.update(id);
    }
    *h.finalize().as_bytes()
}

/// What the state machine needs to know of, and do to, the local copy. The store implements it;
/// tests use memory.
pub trait Replica {
    /// Whether `peer` may sync `case` with this device at all (a device of the case, or a storage
    /// peer named for it).
    fn may_sync(&self, case: CaseId, peer: DeviceId) -> bool;
    /// Ids of the case's stored ops.
    fn op_ids(&self, case: CaseId) -> Vec<OpId>;
    /// An op's bytes.
    fn op(&self, case: CaseId, id: OpId) -> Option<Vec<u8>>;
    /// Stores an op from the peer (verified by the store). An error is reported, not fatal.
    fn store_op(&mut self, case: CaseId, bytes: &[u8]) -> Result<(), String>;
    /// Per compartment `peer` may read now (all of them for a storage peer): the stored chunk ids,
    /// in storage order.
    fn chunks_for(&self, case: CaseId, peer: DeviceId) -> BTreeMap<CompartmentId, Vec<ChunkId>>;
    /// Ids of all stored chunks of a compartment (whether or not this device can read them).
    fn chunk_ids(&self, case: CaseId, compartment: CompartmentId) -> Vec<ChunkId>;
    /// A chunk's bytes.
    fn chunk(&self, case: CaseId, id: ChunkId) -> Option<Vec<u8>>;
    /// Whether this device refuses every chunk of a compartment (it was destroyed): never asked
    /// for, whatever the peer offers. None by default.
    fn refuses(&self, _case: CaseId, _compartment: CompartmentId) -> bool {
        false
    }
    /// Stores a chunk from the peer (signature verified by the store). An error is reported.
    fn store_chunk(&mut self, case: CaseId, bytes: &[u8]) -> Result<(), String>;
    /// Where devices are reached, to tell `peer` ([`Msg::Addrs`]): this device's own node first,
    /// then other devices of `cases` (the cases both sides named) it knows — never a device of a
    /// case the peer is not in. None by default.
    fn addresses(&self, _peer: DeviceId, _cases: &[CaseId]) -> Vec<(DeviceId, String)> {
        Vec::new()
    }
    /// What `peer` told of where devices are reached. Ignored by default.
    fn learn_addresses(&mut self, _peer: DeviceId, _entries: Vec<(DeviceId, String)>) {}
}

/// What a session did, for the summary line and the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Ops sent.
    pub ops_sent: usize,
    /// Ops received and stored.
    pub ops_received: usize,
    /// Chunks sent.
    pub chunks_sent: usize,
    /// Chunks received and stored.
    pub chunks_received: usize,
    /// Entries the store refused, with the reason.
    pub refused: Vec<String>,
    /// Cases for which something new was stored.
    pub changed: BTreeSet<CaseId>,
    /// Cases for which new membership ops were stored: only these can ask for key work (a
    /// handout, a rotation); new chunks never do.
    pub ops_changed: BTreeSet<CaseId>,
}

#[derive(Debug, Default)]
struct CaseState {
    /// The op summary this side sent when the case opened (count, fingerprint).
    sent: (u32, [u8; 32]),
    summary_received: bool,
    my_ops_done: bool,
    peer_ops_done: bool,
    summary_sent: bool,
    my_done: bool,
    peer_done: bool,
}

/// Protocol errors that end the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The peer speaks another version.
    #[error("the peer speaks sync protocol version {0}; this MDO speaks {VERSION} — update MDO")]
    Version(u16),
    /// A message out of turn or about a case not in this session.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The peer refused.
    #[error("the peer ended the session: {0}")]
    Refused(String),
}

/// One side of a session with one peer (the peer's device id comes from the authenticated
/// transport).
#[derive(Debug)]
pub struct Session {
    peer: DeviceId,
    cases: BTreeMap<CaseId, CaseState>,
    hello_received: bool,
    want_received: bool,
    addrs_received: bool,
    offered: Vec<CaseId>,
    /// A device restored from its recovery phrase, asking a peer for the cases it holds with this
    /// device: it takes up the cases the peer's hello offers ([`Session::start_restoring`]).
    restoring: bool,
    /// Counters.
    pub stats: Stats,
}

impl Session {
    /// Starts a session about `cases`: those this device holds and the peer may sync, and those
    /// it holds nothing of yet and its user asked for (a case it is joining, a case a storage
    /// peer's operator accepted; it reveals nothing of them). No other case is ever opened: the
    /// peer's hello cannot add one. Returns the session and the first message.
    pub fn start(peer: DeviceId, cases: Vec<CaseId>, replica: &impl Replica) -> (Session, Msg) {
        let offered: Vec<CaseId> = cases
            .into_iter()
            .filter(|c| replica.op_ids(*c).is_empty() || replica.may_sync(*c, peer))
            .collect();
        (
            Session {
                peer,
                cases: BTreeMap::new(),
                hello_received: false,
                want_received: false,
                addrs_received: false,
                offered: offered.clone(),
                restoring: false,
                stats: Stats::default(),
            },
            Msg::Hello {
                version: VERSION,
                cases: offered,
            },
        )
    }

    /// Starts a session of a device restored from its recovery phrase (it holds nothing yet):
    /// it offers no case and takes up the cases the peer's hello offers — the peer offers only
    /// cases whose log lets this device sync them (its own cases). Whatever arrives of a case
    /// whose log turns out not to name this device is not kept (the network shell forgets it,
    /// as for any case; `docs/sharing-rules.md` §11c). The user starts this, with a peer they
    /// chose.
    pub fn start_restoring(peer: DeviceId) -> (Session, Msg) {
        (
            Session {
                peer,
                cases: BTreeMap::new(),
                hello_received: false,
                want_received: false,
                addrs_received: false,
                offered: Vec::new(),
                restoring: true,
                stats: Stats::default(),
            },
            Msg::Hello {
                version: VERSION,
                cases: Vec::new(),
            },
        )
    }

    /// The cases of this session.
    pub fn cases(&self) -> Vec<CaseId> {
        self.cases.keys().copied().collect()
    }

    /// The largest frame to accept next: [`MAX_HELLO_FRAME`] until a case is open with this peer
    /// (so a peer that shares nothing with this device — anyone who can reach it — costs at most
    /// that much memory), then [`MAX_FRAME`].
    pub fn max_frame(&self) -> usize {
        if self.cases.is_empty() {
            MAX_HELLO_FRAME
        } else {
            MAX_FRAME
        }
    }

    /// Whether every shared case is synced both ways.
    pub fn finished(&self) -> bool {
        self.hello_received
            && self.want_received
            && self.cases.values().all(|c| c.my_done && c.peer_done)
    }

    /// Handles one message from the peer; returns the messages to send back, in order.
    pub fn handle(&mut self, msg: Msg, replica: &mut impl Replica) -> Result<Vec<Msg>, SyncError> {
        let mut out = Vec::new();
        match msg {
            Msg::Hello { version, cases } => {
                if version != VERSION {
                    return Err(SyncError::Version(version));
                }
                if self.hello_received {
                    return Err(SyncError::Protocol("a second hello".into()));
                }
                self.hello_received = true;
                // Restoring: the peer's cases are the ones asked for (the peer opens them when
                // our want arrives, since it offered them).
                let mut wanted = Vec::new();
                if self.restoring {
                    for c in cases.iter().take(MAX_LIST) {
                        if !self.offered.contains(c) {
                            self.offered.push(*c);
                            wanted.push(*c);
                        }
                    }
                }
                // Only the cases both hellos name: a case this device did not offer is never
                // opened, whatever the peer sends about it afterwards is a protocol violation,
                // and nothing of it is stored.
                for c in cases {
                    if self.offered.contains(&c) && !self.cases.contains_key(&c) {
                        self.open(c, replica, &mut out);
                    }
                }
                out.insert(0, Msg::Want { cases: wanted });
                let open: Vec<CaseId> = self.cases.keys().copied().collect();
                let mut entries = replica.addresses(self.peer, &open);
                entries.truncate(MAX_ADDRS);
                entries.retain(|(_, a)| a.len() <= MAX_ADDR_TEXT);
                out.insert(0, Msg::Addrs { entries });
            }
            Msg::Addrs { entries } => {
                if !self.hello_received || self.addrs_received || self.want_received {
                    return Err(SyncError::Protocol("addresses out of turn".into()));
                }
                self.addrs_received = true;
                replica.learn_addresses(self.peer, entries);
            }
            Msg::Want { cases } => {
                if !self.hello_received || self.want_received {
                    return Err(SyncError::Protocol("want out of turn".into()));
                }
                self.want_received = true;
                for c in cases {
                    if self.offered.contains(&c) && !self.cases.contains_key(&c) {
                        self.open(c, replica, &mut out);
                    }
                }
            }
            Msg::OpSummary {
                case,
                count,
                fingerprint: theirs,
            } => {
                // Compared with the summary this side *sent*, not with what it holds now: both
                // sides then decide alike. (Another process on the same store — the node beside
                // a command — may add an op mid-session; compared with that, one side would say
                // "same" and finish while the other asks for ids. What arrived since goes along
                // with the next sync.)
                let st = self.state(case)?;
                if st.summary_received {
                    return Err(SyncError::Protocol("a second op summary".into()));
                }
                st.summary_received = true;
                let sent = st.sent;
                if sent == (count, theirs) {
                    // Same ops: nothing to send; the peer needs nothing from us either.
                    out.push(Msg::OpsDone { case });
                    self.state(case)?.my_ops_done = true;
                } else {
                    let ids = replica.op_ids(case);
                    out.push(Msg::OpHave { case, ids });
                }
            }
            Msg::OpHave { case, ids } => {
                let st = self.state(case)?;
                if st.my_ops_done {
                    return Err(SyncError::Protocol("op ids after the ops were done".into()));
                }
                let theirs: BTreeSet<OpId> = ids.into_iter().collect();
                for id in replica.op_ids(case) {
                    if !theirs.contains(&id)
                        && let Some(bytes) = replica.op(case, id)
                    {
                        out.push(Msg::Op { case, bytes });
                        self.stats.ops_sent += 1;
                    }
                }
                out.push(Msg::OpsDone { case });
                self.state(case)?.my_ops_done = true;
            }
            Msg::Op { case, bytes } => {
                if self.state(case)?.peer_ops_done {
                    return Err(SyncError::Protocol("an op after OpsDone".into()));
                }
                match replica.store_op(case, &bytes) {
                    Ok(()) => {
                        self.stats.ops_received += 1;
                        self.stats.changed.insert(case);
                        self.stats.ops_changed.insert(case);
                    }
                    Err(e) => self.stats.refused.push(e),
                }
            }
            Msg::OpsDone { case } => {
                let st = self.state(case)?;
                if st.peer_ops_done {
                    return Err(SyncError::Protocol("OpsDone twice".into()));
                }
                st.peer_ops_done = true;
                // All of the peer's ops are in: rights are current; summarize what it may read.
                let entries = replica
                    .chunks_for(case, self.peer)
                    .into_iter()
                    .map(|(c, ids)| (c, ids.len() as u32, fingerprint(ids.iter().map(|i| &i.0))))
                    .collect();
                out.push(Msg::ChunkSummary { case, entries });
                self.state(case)?.summary_sent = true;
            }
            Msg::ChunkSummary { case, entries } => {
                self.state(case)?;
                let mut have = Vec::new();
                for (c, count, f) in entries {
                    if replica.refuses(case, c) {
                        continue; // destroyed here: never asked for again
                    }
                    let mine = replica.chunk_ids(case, c);
                    if mine.len() as u32 != count || fingerprint(mine.iter().map(|i| &i.0)) != f {
                        have.push((c, mine));
                    }
                }
                out.push(Msg::ChunkHave {
                    case,
                    entries: have,
                });
            }
            Msg::ChunkHave { case, entries } => {
                let st = self.state(case)?;
                if !st.summary_sent || st.my_done {
                    return Err(SyncError::Protocol("chunk ids out of turn".into()));
                }
                let allowed = replica.chunks_for(case, self.peer);
                for (c, theirs) in entries {
                    let Some(mine) = allowed.get(&c) else {
                        continue; // not theirs to read: never sent, whatever they ask
                    };
                    let theirs: BTreeSet<ChunkId> = theirs.into_iter().collect();
                    for id in mine {
                        if !theirs.contains(id)
                            && let Some(bytes) = replica.chunk(case, *id)
                        {
                            out.push(Msg::Chunk { case, bytes });
                            self.stats.chunks_sent += 1;
                        }
                    }
                }
                out.push(Msg::Done { case });
                self.state(case)?.my_done = true;
            }
            Msg::Chunk { case, bytes } => {
                if self.state(case)?.peer_done {
                    return Err(SyncError::Protocol("a chunk after Done".into()));
                }
                match replica.store_chunk(case, &bytes) {
                    Ok(()) => {
                        self.stats.chunks_received += 1;
                        self.stats.changed.insert(case);
                    }
                    Err(e) => self.stats.refused.push(e),
                }
            }
            Msg::Done { case } => {
                let st = self.state(case)?;
                if st.peer_done {
                    return Err(SyncError::Protocol("Done twice".into()));
                }
                st.peer_done = true;
            }
            Msg::Refuse { reason } => return Err(SyncError::Refused(reason)),
        }
        Ok(out)
    }

    fn open(&mut self, c: CaseId, replica: &impl Replica, out: &mut Vec<Msg>) {
        let ids = replica.op_ids(c);
        let sent = (ids.len() as u32, fingerprint(ids.iter().map(|i| &i.0)));
        self.cases.insert(
            c,
            CaseState {
                sent,
                ..CaseState::default()
            },
        );
        out.push(Msg::OpSummary {
            case: c,
            count: sent.0,
            fingerprint: sent.1,
        });
    }

    fn state(&mut self, case: CaseId) -> Result<&mut CaseState, SyncError> {
        self.cases
            .get_mut(&case)
            .ok_or_else(|| SyncError::Protocol(format!("case {case} is not part of this session")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Clone)]
    struct Mem {
        ops: BTreeMap<OpId, Vec<u8>>,
        chunks: BTreeMap<CompartmentId, Vec<(ChunkId, Vec<u8>)>>,
        /// Compartments the peer may read (None: all).
        peer_reads: Option<BTreeSet<CompartmentId>>,
        /// Addresses this side tells, and what it heard (from whom).
        tells: Vec<(DeviceId, String)>,
        heard: Vec<(DeviceId, DeviceId, String)>,
        /// Compartments destroyed here (issue 17).
        refused: BTreeSet<CompartmentId>,
    }

    const CASE: CaseId = CaseId([1; 16]);

    fn comp_of(bytes: &[u8]) -> CompartmentId {
        CompartmentId([bytes[0]; 16])
    }

    impl Replica for Mem {
        fn may_sync(&self, _: CaseId, _: DeviceId) -> bool {
            true
        }
        fn op_ids(&self, _: CaseId) -> Vec<OpId> {
            self.ops.keys().copied().collect()
        }
        fn op(&self, _: CaseId, id: OpId) -> Option<Vec<u8>> {
            self.ops.get(&id).cloned()
        }
        fn store_op(&mut self, _: CaseId, bytes: &[u8]) -> Result<(), String> {
            self.ops
                .insert(OpId(*blake3::hash(bytes).as_bytes()), bytes.to_vec());
            Ok(())
        }
        fn chunks_for(&self, _: CaseId, _: DeviceId) -> BTreeMap<CompartmentId, Vec<ChunkId>> {
            self.chunks
                .iter()
                .filter(|(c, _)| self.peer_reads.as_ref().is_none_or(|r| r.contains(c)))
                .map(|(c, v)| (*c, v.iter().map(|(i, _)| *i).collect()))
                .collect()
        }
        fn chunk_ids(&self, _: CaseId, c: CompartmentId) -> Vec<ChunkId> {
            self.chunks
                .get(&c)
                .map(|v| v.iter().map(|(i, _)| *i).collect())
                .unwrap_or_default()
        }
        fn chunk(&self, _: CaseId, id: ChunkId) -> Option<Vec<u8>> {
            self.chunks
                .values()
                .flatten()
                .find(|(i, _)| *i == id)
                .map(|(_, b)| b.clone())
        }
        fn refuses(&self, _: CaseId, c: CompartmentId) -> bool {
            self.refused.contains(&c)
        }
        fn store_chunk(&mut self, _: CaseId, bytes: &[u8]) -> Result<(), String> {
            let id = ChunkId(*blake3::hash(bytes).as_bytes());
            let v = self.chunks.entry(comp_of(bytes)).or_default();
            if !v.iter().any(|(i, _)| *i == id) {
                v.push((id, bytes.to_vec()));
            }
            Ok(())
        }
        fn addresses(&self, _: DeviceId, cases: &[CaseId]) -> Vec<(DeviceId, String)> {
            let mut t = self.tells.clone();
            if cases.is_empty() {
                t.truncate(1);
            }
            t
        }
        fn learn_addresses(&mut self, peer: DeviceId, entries: Vec<(DeviceId, String)>) {
            self.heard
                .extend(entries.into_iter().map(|(d, a)| (peer, d, a)));
        }
    }

    fn add_op(m: &mut Mem, b: &[u8]) {
        m.store_op(CASE, b).unwrap();
    }
    fn add_chunk(m: &mut Mem, b: &[u8]) {
        m.store_chunk(CASE, b).unwrap();
    }

    /// Runs a session to the end, delivering messages alternately; returns the stats and the
    /// number of frames and bytes that crossed.
    fn run(a: &mut Mem, b: &mut Mem) -> (Stats, Stats, usize, usize) {
        run_offering(a, b, vec![CASE])
    }

    fn run_offering(
        a: &mut Mem,
        b: &mut Mem,
        b_offers: Vec<CaseId>,
    ) -> (Stats, Stats, usize, usize) {
        let (da, db) = (DeviceId([0xA; 32]), DeviceId([0xB; 32]));
        let (mut sa, ha) = Session::start(db, vec![CASE], a);
        let (mut sb, hb) = Session::start(da, b_offers, b);
        let (mut to_b, mut to_a) = (vec![ha], vec![hb]);
        let (mut frames, mut bytes) = (0, 0);
        while !to_a.is_empty() || !to_b.is_empty() {
            for m in std::mem::take(&mut to_b) {
                let f = m.encode();
                frames += 1;
                bytes += f.len();
                let m = Msg::decode(&f[4..]).unwrap();
                to_a.extend(sb.handle(m, b).unwrap());
            }
            for m in std::mem::take(&mut to_a) {
                let f = m.encode();
                frames += 1;
                bytes += f.len();
                let m = Msg::decode(&f[4..]).unwrap();
                to_b.extend(sa.handle(m, a).unwrap());
            }
        }
        assert!(sa.finished() && sb.finished());
        (sa.stats, sb.stats, frames, bytes)
    }

    /// A device that destroyed a compartment never asks for its chunks again, whatever a peer
    /// that still holds them summarizes (issue 17).
    #[test]
    fn a_destroyed_compartment_is_never_asked_for_again() {
        let mut a = Mem::default();
        let mut b = Mem::default();
        add_op(&mut a, b"op1");
        add_chunk(&mut a, b"\x01old secret");
        add_chunk(&mut a, b"\x02still shared");
        b.refused.insert(comp_of(b"\x01"));
        let (sa, _, _, _) = run(&mut a, &mut b);
        assert_eq!(sa.chunks_sent, 1, "only the part that was not destroyed");
        assert!(b.chunk_ids(CASE, comp_of(b"\x01")).is_empty());
        assert_eq!(b.chunk_ids(CASE, comp_of(b"\x02")).len(), 1);
        // And again: the peer still offers it, it is still not asked for.
        let (sa, _, _, _) = run(&mut a, &mut b);
        assert_eq!(sa.chunks_sent, 0);
    }

    #[test]
    fn only_what_is_missing_travels_and_a_second_run_is_one_fingerprint() {
        let mut a = Mem::default();
        let mut b = Mem::default();
        for o in [&b"op1"[..], b"op2", b"op3"] {
            add_op(&mut a, o);
        }
        add_op(&mut b, b"op1");
        add_op(&mut b, b"op4");
        add_chunk(&mut a, b"\x01chunk-a1");
        add_chunk(&mut a, b"\x02chunk-a2");
        add_chunk(&mut b, b"\x01chunk-b1");
        let (sa, sb, _, _) = run(&mut a, &mut b);
        assert_eq!((sa.ops_sent, sb.ops_sent), (2, 1));
        assert_eq!((sa.chunks_sent, sb.chunks_sent), (2, 1));
        assert_eq!(a.ops, b.ops);
        assert_eq!(a.chunk_ids(CASE, comp_of(b"\x01")).len(), 2);
        assert_eq!(b.chunk_ids(CASE, comp_of(b"\x02")).len(), 1);
        // In sync: no ops or chunks travel, a handful of small frames (the two address frames
        // are per session, not per case).
        let (sa, sb, frames, bytes) = run(&mut a, &mut b);
        assert_eq!(
            sa.ops_sent + sb.ops_sent + sa.chunks_sent + sb.chunks_sent,
            0
        );
        assert!(
            frames <= 16 && bytes < 650,
            "{frames} frames, {bytes} bytes"
        );
    }

    /// Another process on the same store adds an op between the hello and the peer's summary
    /// (the node beside `mdo sync`): both sides still decide alike, the session ends cleanly,
    /// and the new op goes with the next sync.
    #[test]
    fn an_op_added_mid_session_does_not_break_it() {
        let mut a = Mem::default();
        let mut b = Mem::default();
        add_op(&mut a, b"op1");
        add_op(&mut b, b"op1");
        let (da, db) = (DeviceId([0xA; 32]), DeviceId([0xB; 32]));
        let (mut sa, ha) = Session::start(db, vec![CASE], &a);
        let (mut sb, hb) = Session::start(da, vec![CASE], &b);
        let mut to_a = sb.handle(ha, &mut b).unwrap();
        let mut to_b = sa.handle(hb, &mut a).unwrap();
        // Both summaries are on their way; now a's store gains an op.
        add_op(&mut a, b"op2");
        while !to_a.is_empty() || !to_b.is_empty() {
            for m in std::mem::take(&mut to_b) {
                to_a.extend(sb.handle(m, &mut b).unwrap());
            }
            for m in std::mem::take(&mut to_a) {
                to_b.extend(sa.handle(m, &mut a).unwrap());
            }
        }
        assert!(sa.finished() && sb.finished());
        assert!(!b.ops.values().any(|o| o == b"op2"));
        let (sa, _, _, _) = run(&mut a, &mut b);
        assert_eq!(sa.ops_sent, 1, "the next sync carries it");
    }

    #[test]
    fn a_device_that_holds_nothing_of_a_case_gets_it_when_it_asks_for_it() {
        let mut a = Mem::default();
        add_op(&mut a, b"op1");
        add_chunk(&mut a, b"\x01c");
        let mut b = Mem::default();
        let (sa, _, _, _) = run_offering(&mut a, &mut b, vec![CASE]);
        assert_eq!((sa.ops_sent, sa.chunks_sent), (1, 1));
        assert_eq!(b.ops.len(), 1);
    }

    #[test]
    fn a_restored_device_takes_up_the_cases_its_peer_offers_it() {
        // Device B was restored from its recovery phrase: it holds nothing and asks A for the
        // cases A holds with it.
        let mut a = Mem::default();
        add_op(&mut a, b"op1");
        add_chunk(&mut a, b"\x01c");
        let mut b = Mem::default();
        let (da, db) = (DeviceId([0xA; 32]), DeviceId([0xB; 32]));
        let (mut sa, ha) = Session::start(db, vec![CASE], &a);
        let (mut sb, hb) = Session::start_restoring(da);
        assert_eq!(
            hb,
            Msg::Hello {
                version: VERSION,
                cases: vec![]
            },
            "a restoring device names no case"
        );
        let (mut to_b, mut to_a) = (vec![ha], vec![hb]);
        while !to_a.is_empty() || !to_b.is_empty() {
            for m in std::mem::take(&mut to_b) {
                to_a.extend(sb.handle(m, &mut b).unwrap());
            }
            for m in std::mem::take(&mut to_a) {
                to_b.extend(sa.handle(m, &mut a).unwrap());
            }
        }
        assert!(sa.finished() && sb.finished());
        assert_eq!(b.ops.len(), 1);
        assert_eq!(sb.cases(), vec![CASE]);
        assert_eq!((sb.stats.ops_received, sb.stats.chunks_received), (1, 1));
        // Without restoring, the same offer opens nothing.
        let mut c = Mem::default();
        let (_, _, _, _) = run_offering(&mut a, &mut c, vec![]);
        assert!(c.ops.is_empty());
    }

    #[test]
    fn a_case_the_device_did_not_ask_for_is_never_opened_nor_stored() {
        // The peer offers a case this device holds nothing of and did not ask for.
        let mut a = Mem::default();
        add_op(&mut a, b"op1");
        add_chunk(&mut a, b"\x01c");
        let mut b = Mem::default();
        let (sa, sb, _, _) = run_offering(&mut a, &mut b, vec![]);
        assert_eq!((sa.ops_sent, sa.chunks_sent, sb.ops_received), (0, 0, 0));
        assert!(b.ops.is_empty() && b.chunks.is_empty());
        // Pushing its ops anyway ends the session before anything is stored.
        let (mut s, _) = Session::start(DeviceId([0xA; 32]), vec![], &b);
        let out = s
            .handle(
                Msg::Hello {
                    version: VERSION,
                    cases: vec![CASE],
                },
                &mut b,
            )
            .unwrap();
        assert_eq!(
            out,
            vec![Msg::Addrs { entries: vec![] }, Msg::Want { cases: vec![] }]
        );
        assert_eq!(s.max_frame(), MAX_HELLO_FRAME);
        for m in [
            Msg::Op {
                case: CASE,
                bytes: b"planted".to_vec(),
            },
            Msg::Chunk {
                case: CASE,
                bytes: b"\x01planted".to_vec(),
            },
        ] {
            assert!(matches!(s.handle(m, &mut b), Err(SyncError::Protocol(_))));
        }
        assert!(b.ops.is_empty() && b.chunks.is_empty());
    }

    #[test]
    fn frames_stay_small_until_a_case_is_open() {
        let mut a = Mem::default();
        let (mut s, _) = Session::start(DeviceId([0xB; 32]), vec![CASE], &a);
        assert_eq!(s.max_frame(), MAX_HELLO_FRAME);
        s.handle(
            Msg::Hello {
                version: VERSION,
                cases: vec![CASE],
            },
            &mut a,
        )
        .unwrap();
        assert_eq!(s.max_frame(), MAX_FRAME);
    }

    #[test]
    fn chunks_of_compartments_the_peer_may_not_read_never_travel() {
        let mut a = Mem::default();
        add_chunk(&mut a, b"\x01open");
        add_chunk(&mut a, b"\x02medisch");
        a.peer_reads = Some([comp_of(b"\x01")].into());
        let mut b = Mem::default();
        run(&mut a, &mut b);
        assert_eq!(b.chunk_ids(CASE, comp_of(b"\x01")).len(), 1);
        assert!(b.chunk_ids(CASE, comp_of(b"\x02")).is_empty());
        // Asking for it explicitly does not help either.
        let (mut s, _) = Session::start(DeviceId([0xB; 32]), vec![CASE], &a);
        s.handle(
            Msg::Hello {
                version: VERSION,
                cases: vec![CASE],
            },
            &mut a,
        )
        .unwrap();
        s.handle(Msg::OpsDone { case: CASE }, &mut a).unwrap();
        let out = s
            .handle(
                Msg::ChunkHave {
                    case: CASE,
                    entries: vec![(comp_of(b"\x02"), vec![])],
                },
                &mut a,
            )
            .unwrap();
        assert_eq!(out, vec![Msg::Done { case: CASE }]);
    }

    /// Each side tells the other once where it and the devices of their shared cases are
    /// reached, before anything else of the session; a second telling ends the session.
    #[test]
    fn each_side_tells_where_devices_are_reached_once() {
        let (da, db) = (DeviceId([0xA; 32]), DeviceId([0xB; 32]));
        let mut a = Mem {
            tells: vec![
                (da, "a@10.0.0.1:1".into()),
                (DeviceId([0xC; 32]), "c@10.0.0.3:3".into()),
            ],
            ..Mem::default()
        };
        let mut b = Mem {
            tells: vec![(db, "b@10.0.0.2:2".into())],
            ..Mem::default()
        };
        run(&mut a, &mut b);
        assert_eq!(a.heard, vec![(db, db, "b@10.0.0.2:2".to_string())]);
        assert_eq!(
            b.heard,
            vec![
                (da, da, "a@10.0.0.1:1".to_string()),
                (da, DeviceId([0xC; 32]), "c@10.0.0.3:3".to_string())
            ]
        );
        // The first answer to a hello starts with the addresses.
        let (mut s, _) = Session::start(db, vec![CASE], &a);
        let out = s
            .handle(
                Msg::Hello {
                    version: VERSION,
                    cases: vec![CASE],
                },
                &mut a,
            )
            .unwrap();
        assert!(matches!(out[0], Msg::Addrs { .. }));
        assert!(matches!(out[1], Msg::Want { .. }));
        let again = Msg::Addrs { entries: vec![] };
        s.handle(again.clone(), &mut a).unwrap();
        assert!(s.handle(again, &mut a).is_err(), "twice");
        // Before the hello: out of turn.
        let (mut s, _) = Session::start(db, vec![CASE], &a);
        assert!(s.handle(Msg::Addrs { entries: vec![] }, &mut a).is_err());
    }

    #[test]
    fn codec_round_trips_and_is_strict() {
        let msgs = vec![
            Msg::Hello {
                version: 1,
                cases: vec![CASE, CaseId([2; 16])],
            },
            Msg::OpSummary {
                case: CASE,
                count: 3,
                fingerprint: [7; 32],
            },
            Msg::OpHave {
                case: CASE,
                ids: vec![OpId([1; 32])],
            },
            Msg::Op {
                case: CASE,
                bytes: vec![1, 2, 3],
            },
            Msg::OpsDone { case: CASE },
            Msg::ChunkSummary {
                case: CASE,
                entries: vec![(CompartmentId([3; 16]), 2, [9; 32])],
            },
            Msg::ChunkHave {
                case: CASE,
                entries: vec![(CompartmentId([3; 16]), vec![ChunkId([4; 32])])],
            },
            Msg::Chunk {
                case: CASE,
                bytes: vec![],
            },
            Msg::Done { case: CASE },
            Msg::Refuse {
                reason: "onbekend apparaat".into(),
            },
            Msg::Addrs {
                entries: vec![
                    (
                        DeviceId([5; 32]),
                        "abc@10.0.0.2:4100,http://10.0.0.1:3340/".into(),
                    ),
                    (DeviceId([6; 32]), String::new()),
                ],
            },
            Msg::Addrs { entries: vec![] },
        ];
        for m in msgs {
            let f = m.encode();
            assert_eq!(Msg::frame_len(&f).unwrap(), Some(f.len() - 4));
            assert_eq!(Msg::decode(&f[4..]).unwrap(), m);
            for cut in 4..f.len() - 1 {
                assert!(Msg::decode(&f[4..cut]).is_err() || cut == f.len());
            }
            let mut long = f[4..].to_vec();
            long.push(0);
            assert!(Msg::decode(&long).is_err());
        }
        assert!(Msg::decode(&[99]).is_err());
        assert!(Msg::frame_len(&[0xff, 0xff, 0xff, 0xff]).is_err());
        // A list that claims more entries than the frame holds is refused before allocating.
        let mut evil = vec![3];
        evil.extend_from_slice(&[1; 16]);
        evil.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(Msg::decode(&evil).is_err());
        // Too many addresses, or one too long.
        let many = Msg::Addrs {
            entries: vec![(DeviceId([1; 32]), "x".into()); MAX_ADDRS + 1],
        };
        assert!(Msg::decode(&many.encode()[4..]).is_err());
        let long = Msg::Addrs {
            entries: vec![(DeviceId([1; 32]), "x".repeat(MAX_ADDR_TEXT + 1))],
        };
        assert!(Msg::decode(&long.encode()[4..]).is_err());
    }

    #[test]
    fn out_of_turn_messages_end_the_session() {
        let mut a = Mem::default();
        let (mut s, _) = Session::start(DeviceId([0xB; 32]), vec![CASE], &a);
        assert!(
            s.handle(Msg::OpsDone { case: CASE }, &mut a).is_err(),
            "before hello"
        );
        s.handle(
            Msg::Hello {
                version: VERSION,
                cases: vec![CASE],
            },
            &mut a,
        )
        .unwrap();
        assert_eq!(
            s.handle(
                Msg::Hello {
                    version: VERSION,
                    cases: vec![]
                },
                &mut a
            ),
            Err(SyncError::Protocol("a second hello".into()))
        );
        assert!(s.handle(Msg::Want { cases: vec![] }, &mut a).is_ok());
        assert!(
            s.handle(Msg::Want { cases: vec![] }, &mut a).is_err(),
            "twice"
        );
        let (mut s2, _) = Session::start(DeviceId([0xB; 32]), vec![CASE], &a);
        assert_eq!(
            s2.handle(
                Msg::Hello {
                    version: 1,
                    cases: vec![]
                },
                &mut a
            ),
            Err(SyncError::Version(1))
        );
        s.handle(Msg::OpsDone { case: CASE }, &mut a).unwrap();
        assert!(
            s.handle(
                Msg::Op {
                    case: CASE,
                    bytes: vec![]
                },
                &mut a
            )
            .is_err()
        );
        assert!(
            s.handle(
                Msg::OpsDone {
                    case: CaseId([5; 16])
                },
                &mut a
            )
            .is_err()
        );
    }
}
