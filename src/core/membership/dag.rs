//! The op DAG: the [`Log`] of one case (every op known, the order they were applied in, the
//! heads, the ops that wait for their parents or for this device's clock, the rejected ones) and
//! the causal questions the rules ask of it — which op is in which op's causal past, which ops
//! are concurrent — with the concurrency rules built on them: seniority among admins and
//! [`outranked`] (two admins acting against each other concurrently).
//!
//! Inserting ops and deriving the state from them is in `derive.rs`; the rules for one op in
//! `apply.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use mdo_crypto::{CaseId, DeviceId, OpId, WrappedKeys};

use super::error::Rejection;
use super::op::{Action, Op};
use super::state::{Member, State};
use crate::core::model::Date;

/// How far (in days) an op's date may run ahead of the validating device's clock. An op dated
/// later waits (like an op whose parents have not arrived) until the clock catches up: a date
/// in the future would otherwise drag every later op's date along (see [`Rejection::Backdated`]).
pub const MAX_CLOCK_SKEW_DAYS: i64 = 1;

/// The log of one case and the state derived from it.
#[derive(Debug, Clone)]
pub struct Log {
    pub(super) case: CaseId,
    pub(super) ops: HashMap<OpId, Op>,
    pub(super) order: Vec<OpId>,
    pub(super) rejected: BTreeMap<OpId, Rejection>,
    pub(super) pending: BTreeSet<OpId>,
    pub(super) heads: BTreeSet<OpId>,
    pub(super) state: State,
    pub(super) bundles: Vec<WrappedKeys>,
    pub(super) new: Vec<OpId>,
    /// Removals, demotions and device removals from the last derivation (see [`apply`]).
    ///
    /// [`apply`]: super::apply::apply
    pub(super) standing: Standing,
    /// Position of each applied op in the derivation order (seniority of admins).
    pub(super) position: HashMap<OpId, usize>,
    /// Key ops found superseded in the current derivation pass.
    pub(super) superseded_found: BTreeMap<OpId, (String, u32)>,
    /// The validating device's clock: ops dated more than [`MAX_CLOCK_SKEW_DAYS`] after it wait.
    pub(super) today: Date,
    /// Ops that wait because their date is ahead of `today`.
    pub(super) future: BTreeSet<OpId>,
}

impl Log {
    /// An empty log, validated on the device clock `today` (the date ops may not run ahead of).
    pub fn new(case: CaseId, today: Date) -> Self {
        Self {
            today,
            future: BTreeSet::new(),
            case,
            ops: HashMap::new(),
            order: Vec::new(),
            rejected: BTreeMap::new(),
            pending: BTreeSet::new(),
            heads: BTreeSet::new(),
            state: State::new(case),
            bundles: Vec::new(),
            new: Vec::new(),
            standing: Standing::default(),
            position: HashMap::new(),
            superseded_found: BTreeMap::new(),
        }
    }

    /// Key bundles carried by applied ops (each to one device).
    pub fn bundles(&self) -> &[WrappedKeys] {
        &self.bundles
    }

    /// The derived state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Ops in the order they were applied (rejected ones included).
    pub fn ordered(&self) -> impl Iterator<Item = &Op> {
        self.order.iter().filter_map(|id| self.ops.get(id))
    }

    /// An op by id.
    pub fn get(&self, id: &OpId) -> Option<&Op> {
        self.ops.get(id)
    }

    /// Every op known (for sync), in applied order then pending.
    pub fn all(&self) -> impl Iterator<Item = &Op> {
        self.ordered()
            .chain(self.pending.iter().filter_map(|id| self.ops.get(id)))
    }

    /// Rejected ops with the reason.
    pub fn rejected(&self) -> &BTreeMap<OpId, Rejection> {
        &self.rejected
    }

    /// Ops waiting for their parents, or for this device's clock to reach their date.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Ops that wait because they are dated more than [`MAX_CLOCK_SKEW_DAYS`] after this device's
    /// clock (included in [`Log::pending`]).
    pub fn from_the_future(&self) -> usize {
        self.future.len()
    }

    /// Whether `op` is dated more than [`MAX_CLOCK_SKEW_DAYS`] after this device's clock.
    pub(super) fn is_future(&self, op: &Op) -> bool {
        (op.date - self.today).whole_days() > MAX_CLOCK_SKEW_DAYS
    }

    /// The latest date among the parents of `op` (None for the creation op or unknown parents).
    pub(super) fn parent_date(&self, op: &Op) -> Option<Date> {
        op.body
            .parents
            .iter()
            .filter_map(|p| self.ops.get(p))
            .map(|p| p.date)
            .max()
    }

    /// Current heads (parents of the next local op).
    pub fn heads(&self) -> Vec<OpId> {
        self.heads.iter().copied().collect()
    }

    /// Ops added since the last call (for the store to persist).
    pub fn take_new(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.new)
            .into_iter()
            .filter_map(|id| self.ops.get(&id).cloned())
            .collect()
    }

    /// Whether admin `a` is senior to admin `b`: the op that made `a` admin comes earlier in
    /// the derivation order (which is topological: an admin made by another is junior to it;
    /// the creator is the most senior). Not decided by op ids an author can grind: the ops
    /// compared were made by the admins who appointed `a` and `b`.
    pub(super) fn senior(&self, a: &Member, b: &Member) -> bool {
        let rank = |m: &Member| m.admin_op.and_then(|o| self.position.get(&o)).copied();
        match (rank(a), rank(b)) {
            (Some(x), Some(y)) => x < y,
            _ => false,
        }
    }

    /// Whether `a` and `b` are concurrent (neither in the other's causal past).
    pub(super) fn concurrent(&self, a: &Op, b: &Op) -> bool {
        a.id != b.id && !self.causally_before(a.id, b) && !self.causally_before(b.id, a)
    }

    /// Whether `a` is `op` or in its causal past (works before `op` is inserted).
    pub fn causally_before(&self, a: OpId, op: &Op) -> bool {
        a == op.id || self.is_ancestor_of_any(a, op.body.parents.clone())
    }

    /// Whether `a` is in the causal past of `b` (or is `b`).
    pub fn is_ancestor(&self, a: OpId, b: OpId) -> bool {
        self.is_ancestor_of_any(a, vec![b])
    }

    fn is_ancestor_of_any(&self, a: OpId, mut stack: Vec<OpId>) -> bool {
        let mut seen = HashSet::new();
        while let Some(x) = stack.pop() {
            if x == a {
                return true;
            }
            if !seen.insert(x) {
                continue;
            }
            if let Some(op) = self.ops.get(&x) {
                stack.extend(op.body.parents.iter().copied());
            }
        }
        false
    }
}

/// Who was removed, demoted, and which devices were removed, by which op (carried from one
/// derivation pass to the next, see [`Log::rederive`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Standing {
    pub(super) removals: BTreeMap<String, OpId>,
    pub(super) demotions: BTreeMap<String, OpId>,
    pub(super) device_removals: BTreeMap<DeviceId, OpId>,
    /// Key ops that lost their epoch to a concurrent, later-dated one, with (compartment, epoch).
    pub(super) superseded: BTreeMap<OpId, (String, u32)>,
}

/// Whether `op` acts against participant `target`: removes them, takes their admin right, or
/// removes one of their devices.
pub(super) fn hostile_to(op: &Op, target: &str) -> bool {
    match &op.body.action {
        Action::RemoveMember { member, .. } | Action::RemoveDevice { member, .. } => {
            member == target
        }
        Action::SetRole { member, admin, .. } => member == target && !admin,
        _ => false,
    }
}

/// The rule for two admins acting against each other concurrently (a removal, a demotion or a
/// device removal each way, neither having seen the other): the senior admin's op stands and
/// the junior's is void, in every delivery order. Seniority is the order in which the two were
/// made admin (the creator first), so a removed co-chair cannot evict the chair who removed it
/// by signing on stale parents — whatever op id it grinds.
pub(super) fn outranked(st: &State, op: &Op, log: &Log, target: &str) -> Result<(), Rejection> {
    let (Some(author), Some(victim)) = (
        st.device_owner
            .get(&op.body.author)
            .and_then(|id| st.members.get(id)),
        st.members.get(target),
    ) else {
        return Ok(());
    };
    if author.id == victim.id || !victim.admin || !log.senior(victim, author) {
        return Ok(());
    }
    let struck_back = log.ops.values().any(|o| {
        st.device_owner.get(&o.body.author) == Some(&victim.id)
            && hostile_to(o, &author.id)
            && log.concurrent(o, op)
    });
    if struck_back {
        return Err(Rejection::Outranked {
            member: victim.id.clone(),
        });
    }
    Ok(())
}
