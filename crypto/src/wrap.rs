//! Sealed key wrapping: compartment epoch keys wrapped to one device's X25519 key.
//!
//! This is HPKE (RFC 9180) in base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//! ChaCha20-Poly1305 (suite 0x0020/0x0001/0x0003), from the maintained `hpke` crate, single-shot.
//! One encapsulation carries a *bundle* of up to [`MAX_KEYS`] keys of one case, so that a key
//! rotation that touches several compartments costs one X25519 agreement per device, not one per
//! device and compartment. `info` is the constant [`INFO`]; the associated data binds the case, the
//! recipient (device id and X25519 key) and every (compartment, epoch) in the bundle, so a wrapped
//! key cannot be replayed into another context.
//!
//! Wire format of [`WrappedKeys`] (version 1, integers little-endian):
//!
//! ```text
//! offset   len      field
//! 0        1        version = 1
//! 1        16       case id
//! 17       32       recipient device id
//! 49       32       enc (the ephemeral X25519 public key)
//! 81       1        n = number of keys (1..=32)
//! 82       20·n     entries: compartment id (16) ‖ epoch (4)
//! 82+20n   32n+16   ciphertext of the n keys in entry order ‖ tag
//! ```
//! AAD = `"MDO-WRAP-AAD-v1\0"` ‖ case ‖ recipient device id ‖ recipient X25519 key ‖ n ‖ entries.
//!
//! Version 2 ([`wrap_groups`], issue 17): the same layout with version = 2. The bundles of one call
//! (one per compartment) share one encapsulation `enc`; each is sealed with ChaCha20-Poly1305 under
//! `Export(aad, 32)` of the HPKE context (RFC 9180 §5.3; `info` = [`INFO_GROUP`]), nonce = 12
//! zero bytes (each exported key seals one message), AAD = `"MDO-WRAP-AAD-v2\0"` ‖ case ‖
//! recipient device id ‖ recipient X25519 key ‖ `enc` ‖ n ‖ entries. Each bundle opens alone, so
//! the keys of a destroyed compartment can be dropped while the others stay.

use std::convert::Infallible;

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::{TryCryptoRng, TryRng};
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use zeroize::{Zeroize, Zeroizing};

use crate::epoch::EpochKey;
use crate::secret::Plaintext;
use crate::{
    CaseId, CompartmentId, CryptoError, DeviceId, DeviceSecret, PublicIdentity, Result, Secret,
};

type HpkeKem = X25519HkdfSha256;

/// The HPKE `info` string of MDO key wrapping.
pub const INFO: &[u8] = b"MDO 2026-11 compartment key wrap v1";
/// Version byte of [`WrappedKeys::to_bytes`] for a bundle sealed by [`wrap_keys`] (single-shot
/// HPKE: one encapsulation per bundle).
pub const VERSION: u8 = 1;
/// Version byte of a bundle made by [`wrap_groups`]: several bundles to one device share one
/// encapsulation, each sealed under its own key from the HPKE exporter.
pub const VERSION_GROUP: u8 = 2;
/// The HPKE `info` string of [`wrap_groups`].
pub const INFO_GROUP: &[u8] = b"MDO 2026-11 compartment key wrap v2 (groups)";

/// An RNG that hands out one pre-drawn 32-byte ephemeral key seed (`ikmE`). The `hpke` crate
/// draws exactly one `Nsk`-sized block per encapsulation; drawing ikm ourselves keeps OS-RNG
/// failures a typed error and makes the RFC 9180 known-answer test go through the same code.
struct IkmRng {
    ikm: Zeroizing<[u8; 32]>,
    pos: usize,
}

impl TryRng for IkmRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> std::result::Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> std::result::Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> std::result::Result<(), Infallible> {
        for d in dst.iter_mut() {
            // Cycling never happens for DHKEM(X25519) (one 32-byte draw); `pos` is checked after
            // the call so that a change in the hpke crate is noticed rather than silently reused.
            *d = self.ikm[self.pos % 32];
            self.pos += 1;
        }
        Ok(())
    }
}
impl TryCryptoRng for IkmRng {}

/// HPKE base-mode single-shot seal with a caller-chosen ephemeral key seed `ikm_e`.
///
/// This is the primitive under [`wrap_keys`], exposed for the RFC 9180 known-answer tests.
/// `ikm_e` must be fresh random bytes for every call; [`wrap_keys`] does that.
/// Returns `(enc, ciphertext‖tag)`.
pub fn hpke_base_seal_with_ikm(
    recipient_x25519: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    ikm_e: &[u8; 32],
) -> Result<([u8; 32], Vec<u8>)> {
    let pk = <HpkeKem as Kem>::PublicKey::from_bytes(recipient_x25519)
        .map_err(|_| CryptoError::InvalidPublicKey { what: "X25519" })?;
    let mut rng = IkmRng {
        ikm: Zeroizing::new(*ikm_e),
        pos: 0,
    };
    let (enc, ct) = hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, HpkeKem>(
        &OpModeS::Base,
        &pk,
        info,
        plaintext,
        aad,
        &mut rng,
    )
    .map_err(|_| CryptoError::InvalidPublicKey {
        what: "X25519 (low-order point)",
    })?;
    if rng.pos != 32 {
        return Err(CryptoError::Internal(
            "hpke drew an unexpected amount of randomness",
        ));
    }
    let mut enc_bytes = [0u8; 32];
    enc_bytes.copy_from_slice(&enc.to_bytes());
    Ok((enc_bytes, ct))
}

/// HPKE base-mode single-shot open with a raw X25519 secret key. Any failure is
/// [`CryptoError::UnwrapFailed`].
pub fn hpke_base_open(
    secret_x25519: &Secret<32>,
    enc: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Plaintext> {
    let sk = <HpkeKem as Kem>::PrivateKey::from_bytes(secret_x25519.expose())
        .map_err(|_| CryptoError::UnwrapFailed)?;
    let enc =
        <HpkeKem as Kem>::EncappedKey::from_bytes(enc).map_err(|_| CryptoError::UnwrapFailed)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, HpkeKem>(
        &OpModeR::Base,
        &sk,
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map(Plaintext::new)
    .map_err(|_| CryptoError::UnwrapFailed)
}

/// An HPKE base-mode sender context kept for its exporter (RFC 9180 §5.3): what
/// [`wrap_groups`] derives each bundle's key from.
pub struct Exporter {
    enc: [u8; 32],
    ctx: hpke::aead::AeadCtxS<ChaCha20Poly1305, HkdfSha256, HpkeKem>,
}

impl Exporter {
    /// The encapsulated key to send.
    pub fn enc(&self) -> [u8; 32] {
        self.enc
    }

    /// `Export(context, 32)`.
    pub fn export(&self, context: &[u8]) -> Result<Secret<32>> {
        let mut k = Zeroizing::new([0u8; 32]);
        self.ctx
            .export(context, k.as_mut())
            .map_err(|_| CryptoError::Internal("HPKE export"))?;
        Secret::from_slice(k.as_ref()).ok_or(CryptoError::Internal("exported key"))
    }
}

/// HPKE base-mode `SetupBaseS` with a caller-chosen ephemeral key seed `ikm_e`, for its exporter.
/// The primitive under [`wrap_groups`], exposed for the RFC 9180 known-answer tests; `ikm_e`
/// must be fresh random bytes for every call ([`wrap_groups`] does that).
pub fn hpke_base_exporter_with_ikm(
    recipient_x25519: &[u8; 32],
    info: &[u8],
    ikm_e: &[u8; 32],
) -> Result<Exporter> {
    let pk = <HpkeKem as Kem>::PublicKey::from_bytes(recipient_x25519)
        .map_err(|_| CryptoError::InvalidPublicKey { what: "X25519" })?;
    let mut rng = IkmRng {
        ikm: Zeroizing::new(*ikm_e),
        pos: 0,
    };
    let (enc, ctx) = hpke::setup_sender_with_rng::<ChaCha20Poly1305, HkdfSha256, HpkeKem>(
        &OpModeS::Base,
        &pk,
        info,
        &mut rng,
    )
    .map_err(|_| CryptoError::InvalidPublicKey {
        what: "X25519 (low-order point)",
    })?;
    if rng.pos != 32 {
        return Err(CryptoError::Internal(
            "hpke drew an unexpected amount of randomness",
        ));
    }
    let mut enc_bytes = [0u8; 32];
    enc_bytes.copy_from_slice(&enc.to_bytes());
    Ok(Exporter {
        enc: enc_bytes,
        ctx,
    })
}

/// HPKE base-mode `SetupBaseR` and `Export(context, 32)` with a raw X25519 secret key. Any
/// failure is [`CryptoError::UnwrapFailed`].
pub fn hpke_base_receiver_export(
    secret_x25519: &Secret<32>,
    enc: &[u8; 32],
    info: &[u8],
    context: &[u8],
) -> Result<Secret<32>> {
    let sk = <HpkeKem as Kem>::PrivateKey::from_bytes(secret_x25519.expose())
        .map_err(|_| CryptoError::UnwrapFailed)?;
    let enc =
        <HpkeKem as Kem>::EncappedKey::from_bytes(enc).map_err(|_| CryptoError::UnwrapFailed)?;
    let ctx = hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, HpkeKem>(
        &OpModeR::Base,
        &sk,
        &enc,
        info,
    )
    .map_err(|_| CryptoError::UnwrapFailed)?;
    let mut k = Zeroizing::new([0u8; 32]);
    ctx.export(context, k.as_mut())
        .map_err(|_| CryptoError::UnwrapFailed)?;
    Secret::from_slice(k.as_ref()).ok_or(CryptoError::UnwrapFailed)
}

/// Most keys one bundle may carry.
pub const MAX_KEYS: usize = 32;
const FIXED_LEN: usize = 82;
const ENTRY_LEN: usize = 20;
const WHAT: &str = "wrapped keys";

/// A bundle of epoch keys of one case, wrapped to one device.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKeys {
    version: u8,
    case: CaseId,
    recipient: DeviceId,
    enc: [u8; 32],
    entries: Vec<(CompartmentId, u32)>,
    ciphertext: Vec<u8>,
}

impl std::fmt::Debug for WrappedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrappedKeys")
            .field("case", &self.case)
            .field("recipient", &self.recipient)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

fn aad(
    case: &CaseId,
    recipient: &DeviceId,
    recipient_x25519: &[u8; 32],
    entries: &[(CompartmentId, u32)],
) -> Vec<u8> {
    let mut a = Vec::with_capacity(16 + 16 + 32 + 32 + 1 + ENTRY_LEN * entries.len());
    a.extend_from_slice(b"MDO-WRAP-AAD-v1\0");
    a.extend_from_slice(&case.0);
    a.extend_from_slice(&recipient.0);
    a.extend_from_slice(recipient_x25519);
    a.push(entries.len() as u8);
    for (c, e) in entries {
        a.extend_from_slice(&c.0);
        a.extend_from_slice(&e.to_le_bytes());
    }
    a
}

/// Wraps `keys` (all of one case, at most [`MAX_KEYS`], no (compartment, epoch) twice) to
/// `recipient` with one HPKE encapsulation.
pub fn wrap_keys(keys: &[&EpochKey], recipient: &PublicIdentity) -> Result<WrappedKeys> {
    let (case, entries, plaintext) = check_keys(keys)?;
    let recipient_id = recipient.device_id();
    let aad = aad(&case, &recipient_id, recipient.x25519_public(), &entries);
    let mut ikm: [u8; 32] = crate::random_array()?;
    let res = hpke_base_seal_with_ikm(recipient.x25519_public(), INFO, &aad, &plaintext, &ikm);
    ikm.zeroize();
    let (enc, ciphertext) = res?;
    Ok(WrappedKeys {
        version: VERSION,
        case,
        recipient: recipient_id,
        enc,
        entries,
        ciphertext,
    })
}

fn aad_group(
    case: &CaseId,
    recipient: &DeviceId,
    recipient_x25519: &[u8; 32],
    enc: &[u8; 32],
    entries: &[(CompartmentId, u32)],
) -> Vec<u8> {
    let mut a = Vec::with_capacity(16 + 16 + 32 + 32 + 32 + 1 + ENTRY_LEN * entries.len());
    a.extend_from_slice(b"MDO-WRAP-AAD-v2\0");
    a.extend_from_slice(&case.0);
    a.extend_from_slice(&recipient.0);
    a.extend_from_slice(recipient_x25519);
    a.extend_from_slice(enc);
    a.push(entries.len() as u8);
    for (c, e) in entries {
        a.extend_from_slice(&c.0);
        a.extend_from_slice(&e.to_le_bytes());
    }
    a
}

/// The entries and the concatenated secrets of one bundle's keys, checked: one case, at most
/// [`MAX_KEYS`], no (compartment, epoch) twice.
type Checked = (CaseId, Vec<(CompartmentId, u32)>, Zeroizing<Vec<u8>>);

fn check_keys(keys: &[&EpochKey]) -> Result<Checked> {
    let Some(first) = keys.first() else {
        return Err(CryptoError::Malformed {
            what: WHAT,
            reason: "no keys to wrap".into(),
        });
    };
    if keys.len() > MAX_KEYS {
        return Err(CryptoError::TooLarge {
            what: "key bundle",
            size: keys.len(),
            limit: MAX_KEYS,
        });
    }
    let case = first.case();
    let mut entries = Vec::with_capacity(keys.len());
    let mut plaintext = Zeroizing::new(Vec::with_capacity(32 * keys.len()));
    for k in keys {
        if k.case() != case {
            return Err(CryptoError::WrongCase {
                expected: case.to_hex(),
                found: k.case().to_hex(),
            });
        }
        let entry = (k.compartment(), k.epoch());
        if entries.contains(&entry) {
            return Err(CryptoError::Malformed {
                what: WHAT,
                reason: format!(
                    "compartment {} epoch {} twice in one bundle",
                    entry.0, entry.1
                ),
            });
        }
        entries.push(entry);
        plaintext.extend_from_slice(k.secret().expose());
    }
    Ok((case, entries, plaintext))
}

/// Wraps several groups of keys to one device with **one** HPKE encapsulation (RFC 9180 base
/// mode, the suite of [`wrap_keys`]): each group becomes a bundle of its own, sealed with
/// ChaCha20-Poly1305 under a key from the context's exporter (RFC 9180 §5.3) whose context is
/// the bundle's associated data (case, recipient, its X25519 key, `enc` and the group's
/// entries). So one bundle can be dropped — the keys of a destroyed compartment — while the
/// others still open, at the cost of one X25519 agreement per device, not per bundle. The groups
/// of one call must not share a (compartment, epoch): each exported key then seals exactly one
/// message (the nonce is zero).
pub fn wrap_groups(
    groups: &[Vec<&EpochKey>],
    recipient: &PublicIdentity,
) -> Result<Vec<WrappedKeys>> {
    let checked: Vec<Checked> = groups
        .iter()
        .map(|g| check_keys(g))
        .collect::<Result<_>>()?;
    let Some((case, _, _)) = checked.first() else {
        return Ok(Vec::new());
    };
    let case = *case;
    let mut seen = std::collections::HashSet::new();
    for (c, entries, _) in &checked {
        if *c != case {
            return Err(CryptoError::WrongCase {
                expected: case.to_hex(),
                found: c.to_hex(),
            });
        }
        for e in entries {
            if !seen.insert(*e) {
                return Err(CryptoError::Malformed {
                    what: WHAT,
                    reason: "one key in two bundles of one encapsulation".into(),
                });
            }
        }
    }
    let mut ikm: [u8; 32] = crate::random_array()?;
    let exporter = hpke_base_exporter_with_ikm(recipient.x25519_public(), INFO_GROUP, &ikm);
    ikm.zeroize();
    let exporter = exporter?;
    let enc_bytes = exporter.enc();
    let recipient_id = recipient.device_id();
    let mut out = Vec::with_capacity(checked.len());
    for (_, entries, plaintext) in checked {
        let aad = aad_group(
            &case,
            &recipient_id,
            recipient.x25519_public(),
            &enc_bytes,
            &entries,
        );
        let key = exporter.export(&aad)?;
        let ciphertext = crate::aead::seal(&key, &[0u8; crate::aead::NONCE_LEN], &aad, &plaintext)?;
        out.push(WrappedKeys {
            version: VERSION_GROUP,
            case,
            recipient: recipient_id,
            enc: enc_bytes,
            entries,
            ciphertext,
        });
    }
    Ok(out)
}

/// [`wrap_groups`] to every recipient (the same groups), on all cores for large sets. One
/// vector of bundles per recipient, in recipient order.
pub fn wrap_groups_to_all(
    groups: &[Vec<&EpochKey>],
    recipients: &[PublicIdentity],
) -> Result<Vec<Vec<WrappedKeys>>> {
    per_recipient(recipients, |r| wrap_groups(groups, r))
}

/// Wraps the same keys to every recipient; uses all cores for large groups (each recipient is an
/// independent HPKE encapsulation). The result is in recipient order.
pub fn wrap_to_all(keys: &[&EpochKey], recipients: &[PublicIdentity]) -> Result<Vec<WrappedKeys>> {
    per_recipient(recipients, |r| wrap_keys(keys, r))
}

/// `wrap` for every recipient, in recipient order: sequential for a few, else spread over the
/// cores in scoped threads (each recipient is an independent encapsulation).
fn per_recipient<T: Send>(
    recipients: &[PublicIdentity],
    wrap: impl Fn(&PublicIdentity) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    const PARALLEL_FROM: usize = 8;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if recipients.len() < PARALLEL_FROM || threads < 2 {
        return recipients.iter().map(&wrap).collect();
    }
    let per = recipients.len().div_ceil(threads);
    let wrap = &wrap;
    std::thread::scope(|s| {
        let handles: Vec<_> = recipients
            .chunks(per)
            .map(|chunk| s.spawn(move || chunk.iter().map(wrap).collect::<Result<Vec<_>>>()))
            .collect();
        let mut out = Vec::with_capacity(recipients.len());
        for h in handles {
            out.extend(
                h.join()
                    .map_err(|_| CryptoError::Internal("key-wrapping thread panicked"))??,
            );
        }
        Ok(out)
    })
}

impl WrappedKeys {
    /// The case.
    pub fn case(&self) -> CaseId {
        self.case
    }
    /// The device the keys are wrapped to.
    pub fn recipient(&self) -> DeviceId {
        self.recipient
    }
    /// (compartment, epoch) of each key, in order.
    pub fn entries(&self) -> &[(CompartmentId, u32)] {
        &self.entries
    }

    /// Unwraps the bundle with this device's secret.
    pub fn unwrap(&self, me: &DeviceSecret) -> Result<Vec<EpochKey>> {
        if self.recipient != me.device_id() {
            return Err(CryptoError::UnwrapFailed);
        }
        let pt = match self.version {
            VERSION_GROUP => {
                let aad = aad_group(
                    &self.case,
                    &self.recipient,
                    me.public_identity().x25519_public(),
                    &self.enc,
                    &self.entries,
                );
                let key =
                    hpke_base_receiver_export(&me.x25519_secret(), &self.enc, INFO_GROUP, &aad)?;
                crate::aead::open(&key, &[0u8; crate::aead::NONCE_LEN], &aad, &self.ciphertext)
                    .map_err(|_| CryptoError::UnwrapFailed)?
            }
            VERSION => {
                let aad = aad(
                    &self.case,
                    &self.recipient,
                    me.public_identity().x25519_public(),
                    &self.entries,
                );
                hpke_base_open(&me.x25519_secret(), &self.enc, INFO, &aad, &self.ciphertext)?
            }
            _ => return Err(CryptoError::UnwrapFailed),
        };
        if pt.len() != 32 * self.entries.len() {
            return Err(CryptoError::UnwrapFailed);
        }
        self.entries
            .iter()
            .zip(pt.chunks_exact(32))
            .map(|((c, e), k)| {
                let key = Secret::from_slice(k).ok_or(CryptoError::UnwrapFailed)?;
                Ok(EpochKey::from_parts(self.case, *c, *e, key))
            })
            .collect()
    }

    /// Encodes the bundle.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(FIXED_LEN + ENTRY_LEN * self.entries.len() + self.ciphertext.len());
        out.push(self.version);
        out.extend_from_slice(&self.case.0);
        out.extend_from_slice(&self.recipient.0);
        out.extend_from_slice(&self.enc);
        out.push(self.entries.len() as u8);
        for (c, e) in &self.entries {
            out.extend_from_slice(&c.0);
            out.extend_from_slice(&e.to_le_bytes());
        }
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses [`WrappedKeys::to_bytes`] (structure only; [`WrappedKeys::unwrap`] authenticates).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Err(CryptoError::Truncated {
                what: WHAT,
                needed: FIXED_LEN,
                got: 0,
            });
        }
        if bytes[0] != VERSION && bytes[0] != VERSION_GROUP {
            return Err(CryptoError::UnsupportedVersion {
                what: WHAT,
                found: bytes[0],
                supported: VERSION_GROUP,
            });
        }
        if bytes.len() < FIXED_LEN {
            return Err(CryptoError::Truncated {
                what: WHAT,
                needed: FIXED_LEN,
                got: bytes.len(),
            });
        }
        let n = usize::from(bytes[81]);
        if n == 0 || n > MAX_KEYS {
            return Err(CryptoError::Malformed {
                what: WHAT,
                reason: format!("{n} keys (must be 1..={MAX_KEYS})"),
            });
        }
        let entries_end = FIXED_LEN + ENTRY_LEN * n;
        let total = entries_end + 32 * n + 16;
        if bytes.len() < total {
            return Err(CryptoError::Truncated {
                what: WHAT,
                needed: total,
                got: bytes.len(),
            });
        }
        if bytes.len() > total {
            return Err(CryptoError::Malformed {
                what: WHAT,
                reason: format!("{} trailing bytes", bytes.len() - total),
            });
        }
        let take = |at: usize, len: usize| &bytes[at..at + len];
        let mut case = [0u8; 16];
        case.copy_from_slice(take(1, 16));
        let mut recipient = [0u8; 32];
        recipient.copy_from_slice(take(17, 32));
        let mut enc = [0u8; 32];
        enc.copy_from_slice(take(49, 32));
        let entries = (0..n)
            .map(|i| {
                let at = FIXED_LEN + ENTRY_LEN * i;
                let mut c = [0u8; 16];
                c.copy_from_slice(take(at, 16));
                let mut e = [0u8; 4];
                e.copy_from_slice(take(at + 16, 4));
                (CompartmentId(c), u32::from_le_bytes(e))
            })
            .collect();
        Ok(Self {
            version: bytes[0],
            case: CaseId(case),
            recipient: DeviceId(recipient),
            enc,
            entries,
            ciphertext: bytes[entries_end..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_share_one_encapsulation_and_each_opens_alone() {
        let me = DeviceSecret::generate().unwrap();
        let ks = keys(3);
        let groups: Vec<Vec<&EpochKey>> = ks.iter().map(|k| vec![k]).collect();
        let bundles = wrap_groups(&groups, me.public_identity()).unwrap();
        assert_eq!(bundles.len(), 3);
        assert!(
            bundles.windows(2).all(|w| w[0].enc == w[1].enc),
            "one encapsulation"
        );
        for (b, k) in bundles.iter().zip(&ks) {
            let again = WrappedKeys::from_bytes(&b.to_bytes()).unwrap();
            assert_eq!(&again, b);
            let got = again.unwrap(&me).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].secret().expose(), k.secret().expose());
        }
        // Dropping one bundle (a destroyed compartment) leaves the others opening.
        assert!(bundles[2].unwrap(&me).is_ok());
        // Altered, moved to another recipient or to other entries: refused.
        let mut bad = bundles[0].to_bytes();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(WrappedKeys::from_bytes(&bad).unwrap().unwrap(&me).is_err());
        let other = DeviceSecret::generate().unwrap();
        assert!(bundles[0].unwrap(&other).is_err());
        let mut swapped = bundles[0].clone();
        swapped.entries = bundles[1].entries.clone();
        assert!(swapped.unwrap(&me).is_err());
        // One key in two groups of one encapsulation would reuse an exported key's nonce.
        let twice = vec![vec![&ks[0]], vec![&ks[0]]];
        assert!(wrap_groups(&twice, me.public_identity()).is_err());
        // To many recipients, each its own encapsulation.
        let many: Vec<PublicIdentity> = (0..9)
            .map(|_| DeviceSecret::generate().unwrap().public_identity().clone())
            .collect();
        let all = wrap_groups_to_all(&groups, &many).unwrap();
        assert_eq!(all.len(), 9);
        assert!(all.iter().all(|v| v.len() == 3));
        assert_ne!(all[0][0].enc, all[1][0].enc);
    }

    fn keys(n: usize) -> Vec<EpochKey> {
        (0..n)
            .map(|i| {
                let k = EpochKey::generate(CaseId([1; 16]), CompartmentId([i as u8; 16])).unwrap();
                EpochKey::from_parts(k.case(), k.compartment(), i as u32 * 3, k.secret().clone())
            })
            .collect()
    }

    #[test]
    fn wrap_unwrap_round_trip_single_and_bundle() {
        let me = DeviceSecret::generate().unwrap();
        for n in [1, 8, MAX_KEYS] {
            let ks = keys(n);
            let refs: Vec<&EpochKey> = ks.iter().collect();
            let w = wrap_keys(&refs, me.public_identity()).unwrap();
            let bytes = w.to_bytes();
            assert_eq!(bytes.len(), FIXED_LEN + 52 * n + 16);
            let back = WrappedKeys::from_bytes(&bytes).unwrap();
            assert_eq!(back, w);
            assert_eq!(back.unwrap(&me).unwrap(), ks);
            assert_eq!(back.recipient(), me.device_id());
            assert_eq!(back.case(), CaseId([1; 16]));
        }
    }

    #[test]
    fn only_the_recipient_unwraps_and_everything_is_bound() {
        let me = DeviceSecret::generate().unwrap();
        let other = DeviceSecret::generate().unwrap();
        let ks = keys(2);
        let w = wrap_keys(&[&ks[0], &ks[1]], me.public_identity()).unwrap();
        assert_eq!(w.unwrap(&other), Err(CryptoError::UnwrapFailed));
        // Re-addressing the bundle to the other device does not help it.
        let mut b = w.to_bytes();
        b[17..49].copy_from_slice(&other.device_id().0);
        assert_eq!(
            WrappedKeys::from_bytes(&b).unwrap().unwrap(&other),
            Err(CryptoError::UnwrapFailed)
        );
        // Every field is bound: flip each bit of the encoding.
        let bytes = w.to_bytes();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let res = WrappedKeys::from_bytes(&b).and_then(|w| w.unwrap(&me));
                assert!(res.is_err(), "flip at {i}/{bit} accepted");
            }
        }
    }

    #[test]
    fn bundle_rules_and_parse_errors() {
        let me = DeviceSecret::generate().unwrap();
        let ks = keys(MAX_KEYS + 1);
        let refs: Vec<&EpochKey> = ks.iter().collect();
        assert!(matches!(
            wrap_keys(&refs, me.public_identity()),
            Err(CryptoError::TooLarge { .. })
        ));
        assert!(matches!(
            wrap_keys(&[], me.public_identity()),
            Err(CryptoError::Malformed { .. })
        ));
        assert!(matches!(
            wrap_keys(&[&ks[0], &ks[0]], me.public_identity()),
            Err(CryptoError::Malformed { .. })
        ));
        let foreign = EpochKey::generate(CaseId([9; 16]), CompartmentId([0; 16])).unwrap();
        assert!(matches!(
            wrap_keys(&[&ks[0], &foreign], me.public_identity()),
            Err(CryptoError::WrongCase { .. })
        ));

        assert!(matches!(
            WrappedKeys::from_bytes(&[]),
            Err(CryptoError::Truncated { .. })
        ));
        assert!(matches!(
            WrappedKeys::from_bytes(&[3; 200]),
            Err(CryptoError::UnsupportedVersion { found: 3, .. })
        ));
        assert!(matches!(
            WrappedKeys::from_bytes(&[1; 50]),
            Err(CryptoError::Truncated { .. })
        ));
        let good = wrap_keys(&[&ks[0]], me.public_identity())
            .unwrap()
            .to_bytes();
        let mut zero = good.clone();
        zero[81] = 0;
        assert!(matches!(
            WrappedKeys::from_bytes(&zero),
            Err(CryptoError::Malformed { .. })
        ));
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            WrappedKeys::from_bytes(&long),
            Err(CryptoError::Malformed { .. })
        ));
        assert!(matches!(
            WrappedKeys::from_bytes(&good[..good.len() - 1]),
            Err(CryptoError::Truncated { .. })
        ));
    }

    #[test]
    fn wrap_to_all_keeps_recipient_order() {
        let devices: Vec<DeviceSecret> =
            (0..12).map(|_| DeviceSecret::generate().unwrap()).collect();
        let publics: Vec<PublicIdentity> = devices
            .iter()
            .map(|d| d.public_identity().clone())
            .collect();
        let ks = keys(3);
        let refs: Vec<&EpochKey> = ks.iter().collect();
        let all = wrap_to_all(&refs, &publics).unwrap();
        assert_eq!(all.len(), 12);
        for (d, w) in devices.iter().zip(&all) {
            assert_eq!(w.recipient(), d.device_id());
            assert_eq!(w.unwrap(d).unwrap(), ks);
        }
    }

    #[test]
    fn low_order_recipient_key_is_refused() {
        let r = hpke_base_seal_with_ikm(&[0u8; 32], INFO, b"", b"k", &[1u8; 32]);
        assert!(matches!(r, Err(CryptoError::InvalidPublicKey { .. })));
    }
}
