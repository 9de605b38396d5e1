//! Sealed key wrapping: a 32-byte compartment epoch key wrapped to one device's X25519 key.
//!
//! This is HPKE (RFC 9180) in base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//! ChaCha20-Poly1305 (suite 0x0020/0x0001/0x0003), from the maintained `hpke` crate, single-shot.
//! `info` is the constant [`INFO`]; the associated data binds case, compartment, epoch and the
//! recipient (device id and X25519 key), so a wrapped key cannot be replayed into another context.
//!
//! Wire format of a [`WrappedKey`] (81 bytes): version (1) ‖ enc (32, the ephemeral X25519 public
//! key) ‖ ciphertext (32) ‖ tag (16).

use std::convert::Infallible;

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::{TryCryptoRng, TryRng};
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use zeroize::{Zeroize, Zeroizing};

use crate::epoch::EpochKey;
use crate::{CaseId, CompartmentId, CryptoError, DeviceId, DeviceSecret, PublicIdentity, Result, Secret};

type HpkeKem = X25519HkdfSha256;

/// The HPKE `info` string of MDO key wrapping.
pub const INFO: &[u8] = b"MDO 2026-11 compartment key wrap v1";
/// Version byte of [`WrappedKey::to_bytes`].
pub const VERSION: u8 = 1;
/// Length of [`WrappedKey::to_bytes`].
pub const WRAPPED_LEN: usize = 1 + 32 + 32 + 16;

/// Where a wrapped key belongs; all of it is bound into the AEAD's associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapContext {
    /// The case.
    pub case: CaseId,
    /// The compartment.
    pub compartment: CompartmentId,
    /// The epoch of the key.
    pub epoch: u32,
    /// The device the key is wrapped to.
    pub recipient: DeviceId,
}

impl WrapContext {
    fn aad(&self, recipient_x25519: &[u8; 32]) -> [u8; 16 + 16 + 4 + 32 + 32 + 16] {
        let mut a = [0u8; 116];
        a[..16].copy_from_slice(b"MDO-WRAP-AAD-v1\0");
        a[16..32].copy_from_slice(&self.case.0);
        a[32..48].copy_from_slice(&self.compartment.0);
        a[48..52].copy_from_slice(&self.epoch.to_le_bytes());
        a[52..84].copy_from_slice(&self.recipient.0);
        a[84..116].copy_from_slice(recipient_x25519);
        a
    }
}

/// A compartment key wrapped to one device.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    enc: [u8; 32],
    ciphertext: [u8; 48],
}

impl std::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WrappedKey(enc={})", hex::encode(self.enc))
    }
}

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
/// This is the primitive under [`wrap_key`], exposed for the RFC 9180 known-answer tests.
/// `ikm_e` must be fresh random bytes for every call; [`wrap_key`] does that.
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
    let mut rng = IkmRng { ikm: Zeroizing::new(*ikm_e), pos: 0 };
    let (enc, ct) = hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, HpkeKem>(
        &OpModeS::Base,
        &pk,
        info,
        plaintext,
        aad,
        &mut rng,
    )
    .map_err(|_| CryptoError::InvalidPublicKey { what: "X25519 (low-order point)" })?;
    if rng.pos != 32 {
        return Err(CryptoError::Internal("hpke drew an unexpected amount of randomness"));
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
) -> Result<Zeroizing<Vec<u8>>> {
    let sk = <HpkeKem as Kem>::PrivateKey::from_bytes(secret_x25519.expose())
        .map_err(|_| CryptoError::UnwrapFailed)?;
    let enc = <HpkeKem as Kem>::EncappedKey::from_bytes(enc).map_err(|_| CryptoError::UnwrapFailed)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, HpkeKem>(
        &OpModeR::Base,
        &sk,
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| CryptoError::UnwrapFailed)
}

/// Wraps `key` to `recipient` for the given context. `ctx.recipient` must be the recipient's
/// device id (checked).
pub fn wrap_key(key: &EpochKey, recipient: &PublicIdentity, ctx: &WrapContext) -> Result<WrappedKey> {
    if ctx.recipient != recipient.device_id() {
        return Err(CryptoError::Malformed {
            what: "wrap context",
            reason: "the context names another device than the recipient".into(),
        });
    }
    let mut ikm: [u8; 32] = crate::random_array()?;
    let res = hpke_base_seal_with_ikm(
        recipient.x25519_public(),
        INFO,
        &ctx.aad(recipient.x25519_public()),
        key.secret().expose(),
        &ikm,
    );
    ikm.zeroize();
    let (enc, ct) = res?;
    let ciphertext: [u8; 48] = ct
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::Internal("unexpected HPKE ciphertext length"))?;
    Ok(WrappedKey { enc, ciphertext })
}

/// Unwraps a key wrapped to this device. The context must be the one it was wrapped for.
pub fn unwrap_key(wrapped: &WrappedKey, me: &DeviceSecret, ctx: &WrapContext) -> Result<EpochKey> {
    if ctx.recipient != me.device_id() {
        return Err(CryptoError::UnwrapFailed);
    }
    let aad = ctx.aad(me.public_identity().x25519_public());
    let pt = hpke_base_open(&me.x25519_secret(), &wrapped.enc, INFO, &aad, &wrapped.ciphertext)?;
    let secret = Secret::from_slice(&pt).ok_or(CryptoError::UnwrapFailed)?;
    Ok(EpochKey::from_parts(ctx.case, ctx.compartment, ctx.epoch, secret))
}

impl WrappedKey {
    /// Wraps the same key to many devices (one HPKE encapsulation each).
    pub fn wrap_to_all<'a>(
        key: &EpochKey,
        recipients: impl IntoIterator<Item = &'a PublicIdentity>,
    ) -> Result<Vec<(DeviceId, WrappedKey)>> {
        recipients
            .into_iter()
            .map(|r| {
                let ctx = WrapContext {
                    case: key.case(),
                    compartment: key.compartment(),
                    epoch: key.epoch(),
                    recipient: r.device_id(),
                };
                wrap_key(key, r, &ctx).map(|w| (r.device_id(), w))
            })
            .collect()
    }

    /// 81-byte encoding.
    pub fn to_bytes(&self) -> [u8; WRAPPED_LEN] {
        let mut out = [0u8; WRAPPED_LEN];
        out[0] = VERSION;
        out[1..33].copy_from_slice(&self.enc);
        out[33..].copy_from_slice(&self.ciphertext);
        out
    }

    /// Parses [`WrappedKey::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "wrapped key";
        if bytes.is_empty() {
            return Err(CryptoError::Truncated { what: WHAT, needed: WRAPPED_LEN, got: 0 });
        }
        if bytes[0] != VERSION {
            return Err(CryptoError::UnsupportedVersion { what: WHAT, found: bytes[0], supported: VERSION });
        }
        if bytes.len() < WRAPPED_LEN {
            return Err(CryptoError::Truncated { what: WHAT, needed: WRAPPED_LEN, got: bytes.len() });
        }
        if bytes.len() > WRAPPED_LEN {
            return Err(CryptoError::Malformed {
                what: WHAT,
                reason: format!("{} trailing bytes", bytes.len() - WRAPPED_LEN),
            });
        }
        let mut enc = [0u8; 32];
        let mut ciphertext = [0u8; 48];
        enc.copy_from_slice(&bytes[1..33]);
        ciphertext.copy_from_slice(&bytes[33..]);
        Ok(Self { enc, ciphertext })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (DeviceSecret, EpochKey, WrapContext) {
        let me = DeviceSecret::generate().unwrap();
        let key = EpochKey::generate(CaseId([1; 16]), CompartmentId([2; 16])).unwrap();
        let ctx = WrapContext {
            case: key.case(),
            compartment: key.compartment(),
            epoch: key.epoch(),
            recipient: me.device_id(),
        };
        (me, key, ctx)
    }

    #[test]
    fn wrap_unwrap_round_trip() {
        let (me, key, ctx) = setup();
        let w = wrap_key(&key, me.public_identity(), &ctx).unwrap();
        let back = WrappedKey::from_bytes(&w.to_bytes()).unwrap();
        assert_eq!(back, w);
        assert_eq!(unwrap_key(&back, &me, &ctx).unwrap(), key);
    }

    #[test]
    fn context_is_bound() {
        let (me, key, ctx) = setup();
        let w = wrap_key(&key, me.public_identity(), &ctx).unwrap();
        for bad in [
            WrapContext { case: CaseId([9; 16]), ..ctx },
            WrapContext { compartment: CompartmentId([9; 16]), ..ctx },
            WrapContext { epoch: 7, ..ctx },
        ] {
            assert_eq!(unwrap_key(&w, &me, &bad), Err(CryptoError::UnwrapFailed));
        }
        let other = DeviceSecret::generate().unwrap();
        let other_ctx = WrapContext { recipient: other.device_id(), ..ctx };
        assert_eq!(unwrap_key(&w, &other, &other_ctx), Err(CryptoError::UnwrapFailed));
        assert_eq!(unwrap_key(&w, &other, &ctx), Err(CryptoError::UnwrapFailed));
        // Wrapping with a context that names someone else is refused.
        assert!(wrap_key(&key, other.public_identity(), &ctx).is_err());
    }

    #[test]
    fn every_flipped_bit_is_rejected() {
        let (me, key, ctx) = setup();
        let bytes = wrap_key(&key, me.public_identity(), &ctx).unwrap().to_bytes();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes;
                b[i] ^= 1 << bit;
                let res = WrappedKey::from_bytes(&b).and_then(|w| unwrap_key(&w, &me, &ctx));
                assert!(res.is_err(), "flip at {i}/{bit} accepted");
            }
        }
    }

    #[test]
    fn parse_errors() {
        assert!(matches!(WrappedKey::from_bytes(&[]), Err(CryptoError::Truncated { .. })));
        assert!(matches!(WrappedKey::from_bytes(&[1, 2, 3]), Err(CryptoError::Truncated { .. })));
        assert!(matches!(
            WrappedKey::from_bytes(&[2; WRAPPED_LEN]),
            Err(CryptoError::UnsupportedVersion { found: 2, .. })
        ));
        let mut long = vec![1u8; WRAPPED_LEN + 1];
        long[0] = VERSION;
        assert!(matches!(WrappedKey::from_bytes(&long), Err(CryptoError::Malformed { .. })));
    }

    #[test]
    fn wrap_to_many_devices() {
        let (_, key, _) = setup();
        let devices: Vec<DeviceSecret> = (0..5).map(|_| DeviceSecret::generate().unwrap()).collect();
        let wrapped = WrappedKey::wrap_to_all(&key, devices.iter().map(|d| d.public_identity())).unwrap();
        assert_eq!(wrapped.len(), 5);
        for (d, (id, w)) in devices.iter().zip(&wrapped) {
            assert_eq!(*id, d.device_id());
            let ctx = WrapContext {
                case: key.case(),
                compartment: key.compartment(),
                epoch: key.epoch(),
                recipient: d.device_id(),
            };
            assert_eq!(unwrap_key(w, d, &ctx).unwrap(), key);
        }
    }

    #[test]
    fn low_order_recipient_key_is_refused() {
        let r = hpke_base_seal_with_ikm(&[0u8; 32], INFO, b"", b"k", &[1u8; 32]);
        assert!(matches!(r, Err(CryptoError::InvalidPublicKey { .. })));
    }
}
