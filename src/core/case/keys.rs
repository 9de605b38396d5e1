//! Compartment keys of a case on this device: taking the keys addressed to it from the log
//! ([`Case::unlock`], canonical keys and epoch links only), and creating, rotating and handing
//! out keys so that exactly the entitled devices hold the latest one ([`Case::maintain_keys`],
//! after every membership op this device makes).

use std::collections::BTreeMap;

use mdo_crypto::{
    CompartmentId, DeviceId, DeviceSecret, EpochKey, Keyring, PublicIdentity, wrap_groups_to_all,
};

use super::Case;
use crate::core::CoreError;
use crate::core::access;
use crate::core::membership::{Action, Blob, KeyUpdate, NewEpoch, Op};

impl Case {
    /// Takes the keys addressed to this device from the log: unwraps every bundle for it, keeps
    /// only keys whose commitment is the canonical one of their epoch, and opens epoch links so
    /// that the newest key unlocks the history. Returns problems found (bundles that do not
    /// open, keys that are not canonical).
    pub fn unlock(&mut self, device: &DeviceSecret) -> Vec<String> {
        let mut problems = Vec::new();
        let st = self.log.state();
        let mut keys = Vec::new();
        // A destroyed compartment's keys are never taken up again, even from an op in memory
        // that still carries them (issue 17).
        for w in self.log.bundles().iter().filter(|w| {
            w.recipient() == device.device_id()
                && !w
                    .entries()
                    .iter()
                    .any(|(c, _)| st.destroyed.contains_key(c))
        }) {
            match w.unwrap(device) {
                Ok(ks) => keys.extend(ks),
                Err(e) => problems.push(format!("key bundle: {e}")),
            }
        }
        let mut accepted = Vec::new();
        for k in keys {
            let canonical = st
                .keys
                .get(&k.compartment())
                .and_then(|c| c.epochs.iter().find(|e| e.epoch == k.epoch()))
                .map(|e| e.commitment);
            match canonical {
                Some(c) if mdo_crypto::secret::ct_eq(&c, &k.commitment()) => accepted.push(k),
                _ => problems.push(format!(
                    "a key for compartment {} epoch {} is not the agreed key and was ignored",
                    k.compartment(),
                    k.epoch()
                )),
            }
        }
        let links = st.links.clone();
        // The commitment the log holds for each epoch: a key recovered through a link is adopted
        // only if it is that key (a rotator cannot plant another history key).
        let logged: BTreeMap<CompartmentId, BTreeMap<u32, [u8; 32]>> = st
            .keys
            .iter()
            .map(|(c, k)| {
                (
                    *c,
                    k.epochs.iter().map(|e| (e.epoch, e.commitment)).collect(),
                )
            })
            .collect();
        for k in accepted {
            if let Err(e) = self.add_key(k) {
                problems.push(e.to_string());
            }
        }
        let ids: Vec<CompartmentId> = self
            .compartments
            .keys()
            .chain(self.waiting.keys())
            .copied()
            .collect();
        for id in ids {
            let commitments = logged.get(&id);
            if let Some(ring) = self.keyring_mut(id)
                && let Err(e) =
                    ring.absorb_links(&links, |e| commitments.and_then(|m| m.get(&e)).copied())
            {
                problems.push(format!("epoch link: {e}"));
            }
        }
        problems
    }

    /// Forgets the documents and keys of destroyed compartments held in memory (after this
    /// device made or learnt a destruction).
    pub fn forget_destroyed(&mut self) {
        let gone: Vec<CompartmentId> = self.log.state().destroyed.keys().copied().collect();
        for c in gone {
            self.compartments.remove(&c);
            self.waiting.remove(&c);
            self.stored.remove(&c);
        }
    }

    fn keyring_mut(&mut self, id: CompartmentId) -> Option<&mut Keyring> {
        match self.compartments.get_mut(&id) {
            Some(c) => Some(&mut c.keys),
            None => self.waiting.get_mut(&id),
        }
    }

    /// The keys this device holds for a compartment.
    pub fn keyring(&self, id: CompartmentId) -> Option<&Keyring> {
        self.compartments
            .get(&id)
            .map(|c| &c.keys)
            .or_else(|| self.waiting.get(&id))
    }

    fn add_key(&mut self, key: EpochKey) -> Result<(), CoreError> {
        if let Some(c) = self.compartments.get_mut(&key.compartment()) {
            return Ok(c.keys.insert(key)?);
        }
        let ring = self
            .waiting
            .entry(key.compartment())
            .or_insert_with(|| Keyring::new(key.case(), key.compartment()));
        Ok(ring.insert(key)?)
    }

    /// Every key this device holds for the case.
    pub fn all_keys(&self) -> Vec<EpochKey> {
        self.compartments
            .values()
            .map(|c| &c.keys)
            .chain(self.waiting.values())
            .flat_map(|r| {
                r.epochs()
                    .filter_map(|e| r.get(e).cloned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Keyrings of compartments this device holds keys for but has no document of yet.
    pub fn take_waiting(&mut self) -> BTreeMap<CompartmentId, Keyring> {
        std::mem::take(&mut self.waiting)
    }

    /// Gives back a keyring taken with [`Case::take_waiting`] that had no content.
    pub fn restore_waiting(&mut self, ring: Keyring) {
        self.waiting.insert(ring.compartment(), ring);
    }

    /// Creates, rotates and hands out compartment keys so that exactly the devices entitled
    /// today hold the latest key of every compartment this device holds (see
    /// [`access::plan_keys`]). Returns whether an op was made. One HPKE encapsulation per
    /// recipient device carries its keys, one bundle per compartment.
    pub fn maintain_keys(&mut self, device: &DeviceSecret) -> Result<bool, CoreError> {
        let access = self.access();
        let st = self.log.state();
        let plan = access::plan_keys(st, &access, device.device_id(), |c| {
            let held = self.keyring(c).and_then(|r| r.latest()).map(|k| k.epoch());
            st.latest(c).map(|e| e.epoch) == held && held.is_some()
        });
        if plan.is_empty() {
            return Ok(false);
        }
        let mut epochs = Vec::new();
        let mut per_device: BTreeMap<DeviceId, Vec<EpochKey>> = BTreeMap::new();
        let mut mine = Vec::new();
        for (c, kind) in &plan.create {
            let key = EpochKey::generate(self.id, *c)?;
            epochs.push(NewEpoch {
                descriptor: kind.descriptor(),
                compartment: *c,
                epoch: 0,
                commitment: Blob(key.commitment().to_vec()),
                link: None,
                link_hash: None,
                closing: Vec::new(),
            });
            for d in access.reader_devices(st, *c) {
                per_device.entry(d).or_default().push(key.clone());
            }
            if access.reader_devices(st, *c).contains(&self.device) {
                mine.push(key);
            }
        }
        for c in &plan.rotate {
            let Some(old) = self.keyring(*c).and_then(|r| r.latest()).cloned() else {
                continue;
            };
            let (key, link) = old.rotate()?;
            let writers = access.writer_devices(st, *c);
            let closing = self
                .stored
                .get(c)
                .map(|v| {
                    v.iter()
                        .filter(|(_, a)| !writers.contains(a))
                        .map(|(id, _)| *id)
                        .collect()
                })
                .unwrap_or_default();
            let descriptor = st
                .keys
                .get(c)
                .map(|k| k.descriptor.clone())
                .unwrap_or_default();
            epochs.push(NewEpoch {
                descriptor,
                compartment: *c,
                epoch: key.epoch(),
                commitment: Blob(key.commitment().to_vec()),
                link: Some(Blob(link.to_bytes().to_vec())),
                link_hash: None,
                closing,
            });
            for d in access.reader_devices(st, *c) {
                per_device.entry(d).or_default().push(key.clone());
            }
            mine.push(key);
        }
        for (c, to) in &plan.hand_out {
            let Some(key) = self.keyring(*c).and_then(|r| r.latest()).cloned() else {
                continue;
            };
            for d in to {
                per_device.entry(*d).or_default().push(key.clone());
            }
        }
        // One bundle per device and compartment (format 2): destroying one compartment then
        // drops no other compartment's key (issue 17). The bundles of one device share one HPKE
        // encapsulation (`wrap_groups`), so this costs one X25519 agreement per device, as one
        // bundle did. Devices that get the same keys (all remaining readers, after a removal)
        // share one call that spreads the encapsulations over the cores.
        type Groups = Vec<Vec<EpochKey>>;
        type Set = (Groups, Vec<PublicIdentity>);
        let mut sets: BTreeMap<Vec<(CompartmentId, u32)>, Set> = BTreeMap::new();
        for (d, keys) in per_device {
            let Some(id) = st.identities.get(&d) else {
                continue;
            };
            let mut by_compartment: BTreeMap<CompartmentId, Vec<EpochKey>> = BTreeMap::new();
            for k in keys {
                by_compartment.entry(k.compartment()).or_default().push(k);
            }
            let groups: Groups = by_compartment
                .into_values()
                .flat_map(|ks| {
                    ks.chunks(mdo_crypto::wrap::MAX_KEYS)
                        .map(<[EpochKey]>::to_vec)
                        .collect::<Vec<_>>()
                })
                .collect();
            let sig: Vec<(CompartmentId, u32)> = groups
                .iter()
                .flatten()
                .map(|k| (k.compartment(), k.epoch()))
                .collect();
            sets.entry(sig)
                .or_insert_with(|| (groups, Vec::new()))
                .1
                .push(id.clone());
        }
        let mut wrapped = Vec::new();
        for (groups, to) in sets.values() {
            let refs: Vec<Vec<&EpochKey>> = groups.iter().map(|g| g.iter().collect()).collect();
            for bundles in wrap_groups_to_all(&refs, to)? {
                wrapped.extend(bundles.into_iter().map(|w| Blob(w.to_bytes())));
            }
        }
        self.log.append(
            device,
            Action::Keys,
            KeyUpdate {
                epochs,
                wrapped,
                refs: Vec::new(),
            },
            self.now,
            self.today,
        )?;
        for k in mine {
            self.add_key(k)?;
        }
        Ok(true)
    }

    /// Appends a membership/consent op by this device and then does the key work it causes
    /// (rotation after a removal or withdrawal, handouts after an addition or a consent).
    pub fn membership(&mut self, device: &DeviceSecret, action: Action) -> Result<Op, CoreError> {
        let op = self
            .log
            .append(device, action, KeyUpdate::default(), self.now, self.today)?;
        self.maintain_keys(device)?;
        Ok(op)
    }
}
