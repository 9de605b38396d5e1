//! Compartment keys per epoch, and the links that let current readers read history.
//!
//! Each compartment of a case has a random 32-byte key per *epoch*. When a reader leaves (removal,
//! withdrawn or expired consent) the compartment rotates: a new random key for epoch `n+1` is
//! wrapped only to the remaining readers, and an [`EpochLink`] carries the epoch-`n` key encrypted
//! under the epoch-`n+1` key. Whoever holds the newest key can walk back through all links and read
//! the whole history; a removed reader, who never receives the new key, learns nothing written
//! after the rotation.
//!
//! The epoch key itself is never used directly: BLAKE3 in key-derivation mode gives one subkey for
//! chunk envelopes and one for links, so the two uses can never collide.
//!
//! [`EpochLink`] format (117 bytes): magic `"MDOL"` (4) ‖ version 1 (1) ‖ case (16) ‖ compartment
//! (16) ‖ newer epoch u32 LE (4) ‖ older epoch u32 LE (4) ‖ XChaCha20 nonce (24) ‖ ciphertext of
//! the older key (32) ‖ tag (16); the first 69 bytes are the associated data.

use std::collections::BTreeMap;

use crate::{CaseId, CompartmentId, CryptoError, Result, Secret, aead, random_array};

const ENVELOPE_KDF_CONTEXT: &str = "MDO 2026-11 epoch key -> chunk envelope AEAD key v1";
const LINK_KDF_CONTEXT: &str = "MDO 2026-11 epoch key -> epoch link AEAD key v1";
const LINK_MAGIC: &[u8; 4] = b"MDOL";
const COMMIT_KDF_CONTEXT: &str = "MDO 2026-11 epoch key commitment v1";

/// Version byte of [`EpochLink`].
pub const LINK_VERSION: u8 = 1;
const LINK_AAD_LEN: usize = 69;
/// Length of an encoded [`EpochLink`].
pub const LINK_LEN: usize = LINK_AAD_LEN + 32 + aead::TAG_LEN;

/// The key of one epoch of one compartment of one case.
#[derive(Clone, PartialEq, Eq)]
pub struct EpochKey {
    case: CaseId,
    compartment: CompartmentId,
    epoch: u32,
    key: Secret<32>,
}

impl std::fmt::Debug for EpochKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EpochKey(case={} compartment={} epoch={} key=***)",
            self.case, self.compartment, self.epoch
        )
    }
}

impl EpochKey {
    /// A fresh random key for epoch 0 of a compartment.
    pub fn generate(case: CaseId, compartment: CompartmentId) -> Result<Self> {
        Ok(Self {
            case,
            compartment,
            epoch: 0,
            key: Secret::random()?,
        })
    }

    /// Assembles a key received by unwrapping.
    pub fn from_parts(
        case: CaseId,
        compartment: CompartmentId,
        epoch: u32,
        key: Secret<32>,
    ) -> Self {
        Self {
            case,
            compartment,
            epoch,
            key,
        }
    }

    /// The case.
    pub fn case(&self) -> CaseId {
        self.case
    }
    /// The compartment.
    pub fn compartment(&self) -> CompartmentId {
        self.compartment
    }
    /// The epoch number.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }
    /// The raw key (for wrapping).
    pub fn secret(&self) -> &Secret<32> {
        &self.key
    }

    /// The AEAD key for chunk envelopes of this epoch.
    pub(crate) fn envelope_key(&self) -> Secret<32> {
        Secret::new(blake3::derive_key(ENVELOPE_KDF_CONTEXT, self.key.expose()))
    }

    /// A public commitment to this key (BLAKE3 keyed by the key over case, compartment and
    /// epoch): the membership log names the one canonical key of each epoch with it, so a
    /// device can tell the agreed key from a concurrently made one without revealing either.
    pub fn commitment(&self) -> [u8; 32] {
        let k = blake3::derive_key(COMMIT_KDF_CONTEXT, self.key.expose());
        let mut h = blake3::Hasher::new_keyed(&k);
        h.update(&self.case.0);
        h.update(&self.compartment.0);
        h.update(&self.epoch.to_le_bytes());
        *h.finalize().as_bytes()
    }

    fn link_key(&self) -> Secret<32> {
        Secret::new(blake3::derive_key(LINK_KDF_CONTEXT, self.key.expose()))
    }

    /// Starts the next epoch: a fresh random key for `epoch + 1`, and the link that carries this
    /// key encrypted under the new one.
    pub fn rotate(&self) -> Result<(EpochKey, EpochLink)> {
        let epoch = self.epoch.checked_add(1).ok_or(CryptoError::Malformed {
            what: "epoch",
            reason: "epoch counter exhausted".into(),
        })?;
        let next = EpochKey {
            case: self.case,
            compartment: self.compartment,
            epoch,
            key: Secret::random()?,
        };
        let link = EpochLink::seal(&next, self)?;
        Ok((next, link))
    }
}

/// The key of epoch `n` encrypted under the key of epoch `n + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochLink {
    bytes: [u8; LINK_LEN],
}

impl EpochLink {
    fn seal(newer: &EpochKey, older: &EpochKey) -> Result<Self> {
        let mut bytes = [0u8; LINK_LEN];
        bytes[..4].copy_from_slice(LINK_MAGIC);
        bytes[4] = LINK_VERSION;
        bytes[5..21].copy_from_slice(&newer.case.0);
        bytes[21..37].copy_from_slice(&newer.compartment.0);
        bytes[37..41].copy_from_slice(&newer.epoch.to_le_bytes());
        bytes[41..45].copy_from_slice(&older.epoch.to_le_bytes());
        let nonce: [u8; 24] = random_array()?;
        bytes[45..69].copy_from_slice(&nonce);
        let (aad, rest) = bytes.split_at_mut(LINK_AAD_LEN);
        rest[..32].copy_from_slice(older.key.expose());
        let tag = aead::seal_in_place(&newer.link_key(), &nonce, aad, &mut rest[..32])?;
        rest[32..].copy_from_slice(&tag);
        Ok(Self { bytes })
    }

    /// The epoch whose key opens this link.
    pub fn newer_epoch(&self) -> u32 {
        u32::from_le_bytes([
            self.bytes[37],
            self.bytes[38],
            self.bytes[39],
            self.bytes[40],
        ])
    }
    /// The epoch whose key this link carries.
    pub fn older_epoch(&self) -> u32 {
        u32::from_le_bytes([
            self.bytes[41],
            self.bytes[42],
            self.bytes[43],
            self.bytes[44],
        ])
    }
    /// The case.
    pub fn case(&self) -> CaseId {
        let mut c = [0u8; 16];
        c.copy_from_slice(&self.bytes[5..21]);
        CaseId(c)
    }
    /// The compartment.
    pub fn compartment(&self) -> CompartmentId {
        let mut c = [0u8; 16];
        c.copy_from_slice(&self.bytes[21..37]);
        CompartmentId(c)
    }

    /// Recovers the older key with the newer one.
    pub fn open(&self, newer: &EpochKey) -> Result<EpochKey> {
        if newer.case != self.case() {
            return Err(CryptoError::WrongCase {
                expected: newer.case.to_hex(),
                found: self.case().to_hex(),
            });
        }
        if newer.compartment != self.compartment() {
            return Err(CryptoError::WrongCompartment {
                expected: newer.compartment.to_hex(),
                found: self.compartment().to_hex(),
            });
        }
        if newer.epoch != self.newer_epoch() {
            return Err(CryptoError::UnknownEpoch {
                epoch: self.newer_epoch(),
            });
        }
        let (aad, rest) = self.bytes.split_at(LINK_AAD_LEN);
        let mut buf = zeroize::Zeroizing::new([0u8; 32]);
        buf.copy_from_slice(&rest[..32]);
        let mut tag = [0u8; aead::TAG_LEN];
        tag.copy_from_slice(&rest[32..]);
        aead::open_in_place(&newer.link_key(), &aad[45..69], aad, buf.as_mut(), &tag)
            .map_err(|_| CryptoError::Tampered { what: "epoch link" })?;
        let key = Secret::new(*buf);
        Ok(EpochKey {
            case: self.case(),
            compartment: self.compartment(),
            epoch: self.older_epoch(),
            key,
        })
    }

    /// The link's bytes.
    pub fn to_bytes(&self) -> [u8; LINK_LEN] {
        self.bytes
    }

    /// Parses a link (structure only; [`EpochLink::open`] authenticates it).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "epoch link";
        if bytes.len() < 5 {
            return Err(CryptoError::Truncated {
                what: WHAT,
                needed: LINK_LEN,
                got: bytes.len(),
            });
        }
        if &bytes[..4] != LINK_MAGIC {
            return Err(CryptoError::BadMagic { what: WHAT });
        }
        if bytes[4] != LINK_VERSION {
            return Err(CryptoError::UnsupportedVersion {
                what: WHAT,
                found: bytes[4],
                supported: LINK_VERSION,
            });
        }
        let arr: [u8; LINK_LEN] = match bytes.len() {
            n if n < LINK_LEN => {
                return Err(CryptoError::Truncated {
                    what: WHAT,
                    needed: LINK_LEN,
                    got: n,
                });
            }
            n if n > LINK_LEN => {
                return Err(CryptoError::Malformed {
                    what: WHAT,
                    reason: format!("{} trailing bytes", n - LINK_LEN),
                });
            }
            _ => bytes
                .try_into()
                .map_err(|_| CryptoError::Internal("link length"))?,
        };
        let link = Self { bytes: arr };
        if link.newer_epoch() == 0 || link.older_epoch() != link.newer_epoch() - 1 {
            return Err(CryptoError::Malformed {
                what: WHAT,
                reason: format!(
                    "links epoch {} to {}, not consecutive",
                    link.newer_epoch(),
                    link.older_epoch()
                ),
            });
        }
        Ok(link)
    }
}

/// All the epoch keys this device holds for one compartment.
#[derive(Debug, Clone)]
pub struct Keyring {
    case: CaseId,
    compartment: CompartmentId,
    keys: BTreeMap<u32, EpochKey>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new(case: CaseId, compartment: CompartmentId) -> Self {
        Self {
            case,
            compartment,
            keys: BTreeMap::new(),
        }
    }

    /// The case.
    pub fn case(&self) -> CaseId {
        self.case
    }
    /// The compartment.
    pub fn compartment(&self) -> CompartmentId {
        self.compartment
    }

    /// Adds a key (e.g. just unwrapped). Refuses keys of another case or compartment.
    pub fn insert(&mut self, key: EpochKey) -> Result<()> {
        if key.case != self.case {
            return Err(CryptoError::WrongCase {
                expected: self.case.to_hex(),
                found: key.case.to_hex(),
            });
        }
        if key.compartment != self.compartment {
            return Err(CryptoError::WrongCompartment {
                expected: self.compartment.to_hex(),
                found: key.compartment.to_hex(),
            });
        }
        self.keys.insert(key.epoch, key);
        Ok(())
    }

    /// The key of `epoch`, if held.
    pub fn get(&self, epoch: u32) -> Option<&EpochKey> {
        self.keys.get(&epoch)
    }

    /// The newest key held (the one new chunks are sealed with).
    pub fn latest(&self) -> Option<&EpochKey> {
        self.keys.values().next_back()
    }

    /// The epochs held, oldest first.
    pub fn epochs(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.keys().copied()
    }

    /// Opens every link whose newer key is held and whose older key is not, repeatedly, so that
    /// one newest key unlocks the whole chain. Every key recovered is checked against
    /// `commitment_of(epoch)` — the commitment the membership log holds for that epoch — before
    /// it is adopted: a link made by a rotator who planted another key (or one for an epoch the
    /// log does not know) is refused with [`CryptoError::NotCommitted`], and the walk stops
    /// there (older epochs need the refused key). Returns how many keys were recovered. Links of
    /// other compartments are skipped; a link that fails to open is an error.
    pub fn absorb_links<'a>(
        &mut self,
        links: impl IntoIterator<Item = &'a EpochLink>,
        commitment_of: impl Fn(u32) -> Option<[u8; 32]>,
    ) -> Result<usize> {
        let mut by_newer: BTreeMap<u32, &EpochLink> = BTreeMap::new();
        for l in links {
            if l.case() == self.case && l.compartment() == self.compartment {
                by_newer.insert(l.newer_epoch(), l);
            }
        }
        let mut recovered = 0;
        // Walk from the newest held key downwards; each step needs the key just above.
        for (newer_epoch, link) in by_newer.iter().rev() {
            if self.keys.contains_key(&link.older_epoch()) {
                continue;
            }
            if let Some(newer) = self.keys.get(newer_epoch) {
                let older = link.open(newer)?;
                let agreed = commitment_of(older.epoch)
                    .is_some_and(|c| crate::secret::ct_eq(&c, &older.commitment()));
                if !agreed {
                    return Err(CryptoError::NotCommitted { epoch: older.epoch });
                }
                self.keys.insert(older.epoch, older);
                recovered += 1;
            }
        }
        Ok(recovered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k0() -> EpochKey {
        EpochKey::generate(CaseId([3; 16]), CompartmentId([4; 16])).unwrap()
    }

    #[test]
    fn commitments_name_one_key() {
        let a = k0();
        let b = EpochKey::from_parts(a.case(), a.compartment(), 0, Secret::random().unwrap());
        assert_eq!(a.commitment(), a.clone().commitment());
        assert_ne!(a.commitment(), b.commitment());
        let (a1, _) = a.rotate().unwrap();
        assert_ne!(a.commitment(), a1.commitment());
    }

    #[test]
    fn rotation_chain_unlocks_history_for_new_key_holders_only() {
        let e0 = k0();
        let (e1, l1) = e0.rotate().unwrap();
        let (e2, l2) = e1.rotate().unwrap();
        assert_eq!((e1.epoch(), e2.epoch()), (1, 2));
        assert_ne!(e1.secret(), e2.secret());

        // A reader who only receives e2 recovers e1 and e0.
        let mut ring = Keyring::new(e0.case(), e0.compartment());
        ring.insert(e2.clone()).unwrap();
        let logged = |e: u32| [&e0, &e1, &e2].get(e as usize).map(|k| k.commitment());
        assert_eq!(ring.absorb_links([&l1, &l2], logged).unwrap(), 2);
        assert_eq!(ring.get(0), Some(&e0));
        assert_eq!(ring.get(1), Some(&e1));
        assert_eq!(ring.latest(), Some(&e2));
        assert_eq!(ring.epochs().collect::<Vec<_>>(), vec![0, 1, 2]);

        // A removed reader who holds e0 and e1 learns nothing about e2 from the links.
        let mut old = Keyring::new(e0.case(), e0.compartment());
        old.insert(e0.clone()).unwrap();
        old.insert(e1.clone()).unwrap();
        assert_eq!(old.absorb_links([&l1, &l2], logged).unwrap(), 0);
        assert_eq!(old.get(2), None);
        assert!(matches!(
            l2.open(&e1),
            Err(CryptoError::UnknownEpoch { epoch: 2 })
        ));
    }

    #[test]
    fn a_link_to_a_planted_key_is_refused() {
        // The honest epoch-0 key is logged; a rotator links epoch 1 to a key of its own making.
        let honest = k0();
        let planted = k0();
        let (e1, link) = planted.rotate().unwrap();
        let logged = |e: u32| match e {
            0 => Some(honest.commitment()),
            1 => Some(e1.commitment()),
            _ => None,
        };
        let mut ring = Keyring::new(honest.case(), honest.compartment());
        ring.insert(e1.clone()).unwrap();
        assert_eq!(
            ring.absorb_links([&link], logged),
            Err(CryptoError::NotCommitted { epoch: 0 })
        );
        assert_eq!(ring.get(0), None, "the planted key was adopted");
        // An epoch the log knows nothing of is refused too.
        assert!(matches!(
            ring.absorb_links([&link], |_| None),
            Err(CryptoError::NotCommitted { epoch: 0 })
        ));
        assert_eq!(ring.epochs().collect::<Vec<_>>(), vec![1]);
        // The agreed key is adopted.
        let (h1, hlink) = honest.rotate().unwrap();
        let mut ring = Keyring::new(honest.case(), honest.compartment());
        ring.insert(h1.clone()).unwrap();
        let logged = |e: u32| [&honest, &h1].get(e as usize).map(|k| k.commitment());
        assert_eq!(ring.absorb_links([&hlink], logged).unwrap(), 1);
        assert_eq!(ring.get(0), Some(&honest));
    }

    #[test]
    fn link_bytes_round_trip_and_tampering() {
        let e0 = k0();
        let (e1, l1) = e0.rotate().unwrap();
        let bytes = l1.to_bytes();
        assert_eq!(EpochLink::from_bytes(&bytes).unwrap(), l1);
        for i in 0..bytes.len() {
            let mut b = bytes;
            b[i] ^= 0x10;
            let res = EpochLink::from_bytes(&b).and_then(|l| l.open(&e1));
            assert!(res.is_err(), "flip at byte {i} accepted");
        }
        assert!(matches!(
            EpochLink::from_bytes(&bytes[..10]),
            Err(CryptoError::Truncated { .. })
        ));
        assert!(matches!(
            EpochLink::from_bytes(b"XXXXX"),
            Err(CryptoError::BadMagic { .. })
        ));
        let other = EpochKey::from_parts(
            CaseId([3; 16]),
            CompartmentId([9; 16]),
            1,
            Secret::new([0; 32]),
        );
        assert!(matches!(
            l1.open(&other),
            Err(CryptoError::WrongCompartment { .. })
        ));
        let other = EpochKey::from_parts(
            CaseId([8; 16]),
            CompartmentId([4; 16]),
            1,
            Secret::new([0; 32]),
        );
        assert!(matches!(
            l1.open(&other),
            Err(CryptoError::WrongCase { .. })
        ));
        let forged = EpochKey::from_parts(e1.case(), e1.compartment(), 1, Secret::new([0; 32]));
        assert!(matches!(
            l1.open(&forged),
            Err(CryptoError::Tampered { .. })
        ));
    }

    #[test]
    fn keyring_refuses_foreign_keys_and_subkeys_differ() {
        let e0 = k0();
        let mut ring = Keyring::new(CaseId([3; 16]), CompartmentId([5; 16]));
        assert!(matches!(
            ring.insert(e0.clone()),
            Err(CryptoError::WrongCompartment { .. })
        ));
        let mut ring = Keyring::new(CaseId([7; 16]), e0.compartment());
        assert!(matches!(
            ring.insert(e0.clone()),
            Err(CryptoError::WrongCase { .. })
        ));
        assert_ne!(e0.envelope_key(), e0.link_key());
        assert_ne!(&e0.envelope_key(), e0.secret());
        assert!(!format!("{e0:?}").contains(&hex::encode(e0.secret().expose())));
    }
}
