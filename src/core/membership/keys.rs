//! The keys an op carries: [`apply_keys`] validates them against the audience on the op's date
//! (who may create, rotate or hand out a compartment key, and to whom a key may be wrapped) and
//! records the new epochs and holders in the state. The audience itself is resolved by
//! [`crate::core::access`].

use std::collections::{BTreeMap, BTreeSet};

use mdo_crypto::{CompartmentId, DeviceId, WrappedKeys};

use super::error::Rejection;
use super::op::Op;
use super::state::{CompartmentKeys, EpochInfo, State};
use crate::core::access::resolve;
use crate::core::compartment::CompartmentKind;

/// Validates and applies the keys an op carries, against the state after its action, on the
/// op's date (bounded below by its causal past): a new epoch 0 only by a reader of the
/// compartment or an admin; a rotation (epoch n + 1, with its link) only by a reader who had seen
/// the announcement of epoch n (`seen`); a key handout only by a reader; every bundle only to
/// devices that may read every key in it.
pub(super) fn apply_keys(
    st: &mut State,
    op: &Op,
    author_admin: bool,
    seen: &dyn Fn(mdo_crypto::OpId) -> bool,
) -> Result<Vec<WrappedKeys>, Rejection> {
    let access = resolve(st, op.date);
    let all: BTreeMap<CompartmentId, BTreeSet<DeviceId>> = access
        .compartments
        .keys()
        .map(|c| (*c, access.reader_devices(st, *c)))
        .collect();
    let none = BTreeSet::new();
    let readers_of = |_: &State, c: CompartmentId| all.get(&c).unwrap_or(&none);
    let author = op.body.author;
    let is_admin = author_admin && st.member_of(author).is_some_and(|m| m.is_active());
    let label = |st: &State, c: CompartmentId| {
        st.keys
            .get(&c)
            .map(|k| k.descriptor.clone())
            .unwrap_or_else(|| c.to_hex())
    };
    let mut fresh: BTreeMap<CompartmentId, (String, EpochInfo)> = BTreeMap::new();
    for ne in &op.body.keys.epochs {
        if st.destroyed.contains_key(&ne.compartment) {
            return Err(Rejection::Invalid(format!(
                "a new key for {}, which was destroyed",
                ne.descriptor
            )));
        }
        let kind = CompartmentKind::parse(&ne.descriptor)
            .ok_or_else(|| Rejection::Invalid(format!("unknown compartment {}", ne.descriptor)))?;
        if kind.id(st.case) != ne.compartment {
            return Err(Rejection::Invalid(format!(
                "compartment id does not match {}",
                ne.descriptor
            )));
        }
        let readers = readers_of(st, ne.compartment);
        let expected = st.latest(ne.compartment).map_or(0, |e| e.epoch + 1);
        if ne.epoch != expected {
            return Err(Rejection::BadEpoch {
                compartment: ne.descriptor.clone(),
                expected,
                found: ne.epoch,
            });
        }
        // A rotation builds on the announcement of the epoch it replaces: its author held that
        // key, and its date (bounded below by its causal past) is no earlier than that epoch's.
        if let Some(prev) = st.latest(ne.compartment)
            && !seen(prev.op)
        {
            return Err(Rejection::StaleRotation {
                compartment: ne.descriptor.clone(),
                epoch: ne.epoch,
            });
        }
        // An admin may make the first key of a compartment it does not read — not of an access
        // log, whose first key only its owner's device makes.
        let allowed = match &kind {
            CompartmentKind::Log(owner) if ne.epoch == 0 => {
                st.member_of(author).is_some_and(|m| &m.id == owner)
            }
            _ => readers.contains(&author) || (ne.epoch == 0 && is_admin),
        };
        if !allowed {
            return Err(Rejection::NotEntitled {
                device: author.to_hex(),
                compartment: ne.descriptor.clone(),
                action: if ne.epoch == 0 { "create" } else { "rotate" },
            });
        }
        let mut commitment = [0u8; 32];
        commitment.copy_from_slice(&ne.commitment.0);
        fresh.insert(
            ne.compartment,
            (
                ne.descriptor.clone(),
                EpochInfo {
                    epoch: ne.epoch,
                    commitment,
                    holders: BTreeSet::new(),
                    closing: ne.closing.iter().copied().collect(),
                    writers: access.writer_devices(st, ne.compartment),
                    by: author,
                    op: op.id,
                },
            ),
        );
    }
    let mut bundles = Vec::new();
    let mut handed: Vec<(CompartmentId, u32, DeviceId)> = Vec::new();
    for view in op.bundles() {
        let to = view.to;
        if let Some((c, _)) = view
            .entries
            .iter()
            .find(|(c, _)| st.destroyed.contains_key(c))
        {
            return Err(Rejection::Invalid(format!(
                "a key of {}, which was destroyed",
                label(st, *c)
            )));
        }
        for (c, e) in &view.entries {
            let readers = readers_of(st, *c);
            if !readers.contains(&to) {
                return Err(Rejection::RecipientNotEntitled {
                    device: to.to_hex(),
                    compartment: label(st, *c),
                });
            }
            match fresh.get_mut(c) {
                Some((_, info)) if info.epoch == *e => {
                    info.holders.insert(to);
                }
                _ => {
                    let latest = st.latest(*c).map(|x| x.epoch);
                    if latest.is_none_or(|l| *e > l) {
                        return Err(Rejection::BadEpoch {
                            compartment: label(st, *c),
                            expected: latest.unwrap_or(0),
                            found: *e,
                        });
                    }
                    if !readers.contains(&author) {
                        return Err(Rejection::NotEntitled {
                            device: author.to_hex(),
                            compartment: label(st, *c),
                            action: "hand out",
                        });
                    }
                    handed.push((*c, *e, to));
                }
            }
        }
        bundles.extend(view.bundle);
    }
    st.links.extend(op.links());
    for (c, (descriptor, info)) in fresh {
        st.keys
            .entry(c)
            .or_insert_with(|| CompartmentKeys {
                descriptor,
                epochs: Vec::new(),
            })
            .epochs
            .push(info);
    }
    let mut writer_sets: BTreeMap<CompartmentId, BTreeSet<DeviceId>> = BTreeMap::new();
    for (c, e, to) in handed {
        let writers = writer_sets
            .entry(c)
            .or_insert_with(|| access.writer_devices(st, c))
            .clone();
        if let Some(info) = st
            .keys
            .get_mut(&c)
            .and_then(|k| k.epochs.iter_mut().find(|x| x.epoch == e))
        {
            info.holders.insert(to);
            // Whoever could write while this epoch was handed out wrote in it legitimately.
            info.writers.extend(writers);
        }
    }
    Ok(bundles)
}
