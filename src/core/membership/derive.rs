//! Inserting ops into the [`Log`] and deriving the [`State`] from them, the same in every
//! delivery order: a deterministic topological order (parents first, ties by op id), ops whose
//! parents have not arrived (or that are dated ahead of this device's clock) waiting, and
//! re-derivation until the removals, demotions and superseded keys found are stable.

use std::collections::{BTreeSet, HashMap};

use mdo_crypto::{DeviceSecret, OpId};

use super::apply::apply;
use super::dag::{Log, Standing};
use super::error::{LogError, Rejection};
use super::op::{Action, KeyUpdate, Op, OpBody, OpError};
use super::state::State;
use crate::core::model::Date;

/// What happened to an inserted op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Already known.
    Duplicate,
    /// Waits for parents that have not arrived.
    Pending,
    /// Applied (possibly re-deriving the state).
    Applied,
    /// Rejected.
    Rejected(Rejection),
}

impl Log {
    /// Creates, signs and applies a local op. A rejected local op is not kept.
    pub fn append(
        &mut self,
        author: &DeviceSecret,
        action: Action,
        keys: KeyUpdate,
        time: i64,
        today: Date,
    ) -> Result<Op, LogError> {
        let parents = self.heads();
        // Never before the causal past (a peer's clock may run up to a day ahead of ours).
        let date = parents
            .iter()
            .filter_map(|p| self.ops.get(p))
            .map(|p| p.date)
            .fold(today, Date::max);
        let body = OpBody {
            case: self.case,
            author: author.device_id(),
            parents,
            time,
            date: crate::core::model::format_date(date),
            action,
            keys,
        };
        let op = Op::sign(author, body)?;
        let heads = self.heads.clone();
        match self.insert(op.clone())? {
            Inserted::Applied => Ok(op),
            other => {
                // A refused local op leaves no trace (it changed no state).
                self.ops.remove(&op.id);
                self.new.retain(|x| *x != op.id);
                self.order.retain(|x| *x != op.id);
                self.rejected.remove(&op.id);
                self.pending.remove(&op.id);
                self.heads = heads;
                Err(LogError::Rejected(match other {
                    Inserted::Rejected(r) => r,
                    _ => Rejection::Invalid("the op could not be applied".into()),
                }))
            }
        }
    }

    /// Inserts an op from the store or a peer.
    pub fn insert(&mut self, op: Op) -> Result<Inserted, LogError> {
        if op.body.case != self.case {
            return Err(LogError::Op(OpError::WrongCase {
                expected: self.case.to_hex(),
                found: op.body.case.to_hex(),
            }));
        }
        if self.ops.contains_key(&op.id) {
            return Ok(Inserted::Duplicate);
        }
        let id = op.id;
        let extends = !self.heads.is_empty()
            && self.pending.is_empty()
            && !self.is_future(&op)
            && op.body.parents.len() == self.heads.len()
            && op.body.parents.iter().all(|p| self.heads.contains(p));
        self.ops.insert(id, op);
        self.new.push(id);
        if extends {
            // The common case: the op builds on everything known, so it comes last in any order
            // (and every earlier op is in its causal past).
            self.apply_next(id);
            self.standing = self.standing_now();
        } else {
            self.rederive();
        }
        Ok(if self.pending.contains(&id) {
            Inserted::Pending
        } else if let Some(r) = self.rejected.get(&id) {
            Inserted::Rejected(r.clone())
        } else {
            Inserted::Applied
        })
    }

    fn apply_next(&mut self, id: OpId) {
        let Some(op) = self.ops.get(&id) else {
            return;
        };
        let mut st = self.state.clone();
        let result = apply(&mut st, op, self);
        let parents = op.body.parents.clone();
        match result {
            Ok(bundles) => {
                let confirmed = self.still_superseded(op);
                self.superseded_found.extend(confirmed);
                self.state = st;
                self.bundles.extend(bundles);
            }
            Err(r) => {
                if matches!(r, Rejection::BadEpoch { .. }) {
                    let losers = self.displaced_by(op);
                    self.superseded_found.extend(losers);
                }
                self.rejected.insert(id, r);
            }
        }
        for p in &parents {
            self.heads.remove(p);
        }
        self.heads.insert(id);
        self.position.insert(id, self.order.len());
        self.order.push(id);
    }

    /// Derives the state from scratch until the removals, demotions and device removals are
    /// stable (one that comes late in the order can refuse ops of its subject that came
    /// earlier).
    fn rederive(&mut self) {
        // Always from none known, so that the result depends on the set of ops only.
        self.standing = Standing::default();
        for _ in 0..4 {
            self.derive_once();
            let found = self.standing_now();
            if found == self.standing {
                return;
            }
            self.standing = found;
        }
    }

    /// The key ops `op` displaces: `op` announces an epoch that a concurrent, earlier-dated op
    /// already announced, and would be valid without it. Of two concurrent announcements of one
    /// epoch the later-dated stands — an author cannot win the slot with a backdated key op (it
    /// would have to date it when it still was entitled) or with a ground op id.
    fn displaced_by(&self, op: &Op) -> Vec<(OpId, (String, u32))> {
        let mut losers = Vec::new();
        let mut scratch = self.state.clone();
        for ne in &op.body.keys.epochs {
            let Some(k) = scratch.keys.get_mut(&ne.compartment) else {
                continue;
            };
            let Some(at) = k.epochs.iter().position(|e| e.epoch == ne.epoch) else {
                continue;
            };
            let Some(holder) = self.ops.get(&k.epochs[at].op) else {
                return Vec::new();
            };
            if !(self.concurrent(op, holder) && op.date > holder.date) {
                return Vec::new();
            }
            k.epochs.truncate(at);
            losers.push((holder.id, (ne.descriptor.clone(), ne.epoch)));
        }
        if losers.is_empty() || apply(&mut scratch, op, self).is_err() {
            return Vec::new();
        }
        losers
    }

    /// The ops superseded in the previous pass that `op`, just applied, still supersedes (so
    /// the set is stable from pass to pass).
    fn still_superseded(&self, op: &Op) -> Vec<(OpId, (String, u32))> {
        let mut out = Vec::new();
        for (x, slot) in &self.standing.superseded {
            let Some(xo) = self.ops.get(x) else {
                continue;
            };
            let same_slot = op.body.keys.epochs.iter().any(|ne| {
                xo.body
                    .keys
                    .epochs
                    .iter()
                    .any(|xe| xe.compartment == ne.compartment && xe.epoch == ne.epoch)
            });
            if same_slot && op.date > xo.date && self.concurrent(op, xo) {
                out.push((*x, slot.clone()));
            }
        }
        out
    }

    fn standing_now(&self) -> Standing {
        let st = &self.state;
        Standing {
            removals: st
                .members
                .values()
                .filter_map(|m| m.removed_op.map(|r| (m.id.clone(), r)))
                .collect(),
            demotions: st
                .members
                .values()
                .filter_map(|m| m.demoted_op.map(|r| (m.id.clone(), r)))
                .collect(),
            device_removals: st.device_removals.clone(),
            superseded: self.superseded_found.clone(),
        }
    }

    /// One derivation pass: topological order, ties by op id.
    fn derive_once(&mut self) {
        self.state = State::new(self.case);
        self.bundles.clear();
        self.order.clear();
        self.position.clear();
        self.superseded_found.clear();
        self.rejected.clear();
        self.heads.clear();
        let mut children: HashMap<OpId, Vec<OpId>> = HashMap::new();
        let mut missing: HashMap<OpId, usize> = HashMap::new();
        let mut ready: BTreeSet<OpId> = BTreeSet::new();
        self.future.clear();
        for (id, op) in &self.ops {
            // An op dated ahead of this device's clock waits as if a parent were missing (and so
            // do the ops built on it).
            let future = self.is_future(op);
            if future {
                self.future.insert(*id);
            }
            let n = op.body.parents.len() + usize::from(future);
            missing.insert(*id, n);
            for p in &op.body.parents {
                children.entry(*p).or_default().push(*id);
            }
            if n == 0 {
                ready.insert(*id);
            }
        }
        while let Some(id) = ready.pop_first() {
            self.apply_next(id);
            if let Some(ch) = children.get(&id) {
                for c in ch {
                    if let Some(m) = missing.get_mut(c) {
                        *m -= 1;
                        if *m == 0 {
                            ready.insert(*c);
                        }
                    }
                }
            }
        }
        self.pending = missing
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(id, _)| id)
            .collect();
    }
}
