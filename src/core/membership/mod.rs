//! The membership and consent log of a case: a signed, hash-linked DAG of operations (create the
//! case, add/remove participants and devices, change role or custody, grant/withdraw consent,
//! record a legal basis, create/rotate/hand out compartment keys).
//!
//! Every peer validates every op — its signature, its form, and the author's right at that point —
//! and derives the same [`State`] from the same set of ops whatever order they arrived in: ops are
//! applied in a deterministic topological order (parents first, ties broken by op id) and an op
//! whose parents have not all arrived waits. A rejected op is kept with its typed
//! [`Rejection`], never applied.
//!
//! Concurrency rule (architecture.md): a participant added by an admin who was *concurrently*
//! removed or demoted (the removal is not in the add's causal past, or vice versa) is
//! `Unconfirmed`: no rights, no keys, until a remaining admin confirms. No outcome depends on the
//! op-id tie-break of the order (an author can grind its op id): two admins acting against each
//! other concurrently are decided by seniority ([`Rejection::Outranked`]), two concurrent keys for
//! one epoch by their dates ([`Rejection::Superseded`]), and an op's date is bounded by its causal
//! past and the validating device's clock ([`Rejection::Backdated`], [`MAX_CLOCK_SKEW_DAYS`]).
//!
//! Wire format of one op (`docs/crypto.md`): `"MDOP"` ‖ version 1 ‖ u32 LE body length ‖ body
//! (JSON, [`OpBody`]) ‖ Ed25519 signature of the author device over everything before it (with
//! context [`SIG_CONTEXT`]). The op id is BLAKE3 of all bytes.
//!
//! The files, along these concepts:
//! - `op.rs`: the signed op format — [`Op`], [`OpBody`], [`Action`], the keys an op carries,
//!   encoding, signature, and the form rules checked when an op is read;
//! - `state.rs`: the derived [`State`] — participants, consent records, compartment keys;
//! - `error.rs`: [`Rejection`] (why an op was refused) and [`LogError`];
//! - `dag.rs`: the [`Log`] — the op DAG, its causal questions and the concurrency rules
//!   (seniority among admins);
//! - `derive.rs`: inserting ops and deriving the state in a deterministic order (pending ops,
//!   ops from the future, re-derivation, superseded keys);
//! - `apply.rs`: validating and applying one op, per action;
//! - `keys.rs`: validating and recording the keys an op carries (against the audience that
//!   [`crate::core::access`] resolves).
//!
//! Dependency order, one way: `op` ← `error`, `state` ← `dag` ← `keys` ← `apply` ← `derive`;
//! between `state` and `keys` sit `core::compartment` and `core::access` (the audience that
//! decides who may hold a key is resolved from the derived state). `op` and `state` are visible
//! to the rest of `core` so that those two import only this lower half.

mod apply;
mod dag;
mod derive;
mod error;
mod keys;
pub(super) mod op;
pub(super) mod state;
#[cfg(test)]
mod tests;

pub use dag::{Log, MAX_CLOCK_SKEW_DAYS};
pub use derive::Inserted;
pub use error::{ConsentRule, LogError, Rejection};
pub use op::{
    Action, Basis, Blob, BundleRef, BundleView, ConsentSpec, DestroyGround, KeyUpdate, MAX_OP_LEN,
    MemberSpec, NewEpoch, OP_MAGIC, OP_VERSION, OP_VERSION_1, Op, OpBody, OpError, Recipient,
    SIG_CONTEXT,
};
pub use state::{
    AnswerState, CompartmentKeys, ConsentRecord, DestructionAnswer, DestructionRequest, EpochInfo,
    Member, MemberStatus, PersonAnswer, Release, State, Tombstone, Withdrawal,
};
