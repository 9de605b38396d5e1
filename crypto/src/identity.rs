//! Device identities.
//!
//! A device holds one 32-byte **seed**. The seed *is* the Ed25519 secret key (RFC 8032), so the
//! device's [`DeviceId`] is its Ed25519 public key and can serve unchanged as its iroh node id.
//! The device's X25519 encryption key is derived from the seed with BLAKE3 in key-derivation mode
//! and bound to the Ed25519 key by a signature, giving a [`PublicIdentity`] that anyone can check.
//! The seed is written down as a 24-word BIP-39 **recovery phrase**, which restores the same
//! identity on a new device.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use x25519_dalek::{PublicKey as XPublic, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

pub use crate::ids::DeviceId;
use crate::{CryptoError, Result, Secret};

const X25519_KDF_CONTEXT: &str = "MDO 2026-11 device X25519 encryption key v1";
const LOCAL_KDF_PREFIX: &str = "MDO 2026-11 device-local key v1: ";
const SIG_PREFIX: &[u8] = b"MDO-SIG-v1\0";
const IDENTITY_BINDING_CONTEXT: &str = "identity-binding";
const FINGERPRINT_CONTEXT: &str = "MDO 2026-11 identity fingerprint v1";

/// Version byte of [`PublicIdentity::to_bytes`].
pub const PUBLIC_IDENTITY_VERSION: u8 = 1;
/// Length of [`PublicIdentity::to_bytes`].
pub const PUBLIC_IDENTITY_LEN: usize = 1 + 32 + 32 + 64;

/// The 32 secret bytes from which a device identity is derived (= the Ed25519 secret key).
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceSeed(Secret<32>);

impl std::fmt::Debug for DeviceSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceSeed(***)")
    }
}

impl DeviceSeed {
    /// A fresh random seed.
    pub fn generate() -> Result<Self> {
        Secret::random().map(Self)
    }

    /// Wraps existing seed bytes (e.g. read from a key file).
    pub fn from_secret(secret: Secret<32>) -> Self {
        Self(secret)
    }

    /// The seed bytes.
    pub fn expose(&self) -> &Secret<32> {
        &self.0
    }

    /// The 24-word BIP-39 (English word list) recovery phrase of this seed.
    pub fn recovery_phrase(&self) -> Result<Zeroizing<String>> {
        let m = bip39::Mnemonic::from_entropy(self.0.expose())
            .map_err(|_| CryptoError::Internal("BIP-39 encoding failed"))?;
        Ok(Zeroizing::new(m.to_string()))
    }

    /// Restores a seed from its recovery phrase. Case and extra whitespace are ignored; the
    /// BIP-39 checksum catches most typing errors.
    pub fn from_recovery_phrase(phrase: &str) -> Result<Self> {
        let normalized = Zeroizing::new(
            phrase
                .split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" "),
        );
        let words = normalized.split(' ').filter(|w| !w.is_empty()).count();
        if words != 24 {
            return Err(CryptoError::InvalidRecoveryPhrase(format!(
                "expected 24 words, got {words}"
            )));
        }
        let m = bip39::Mnemonic::parse_normalized(&normalized).map_err(|e| {
            CryptoError::InvalidRecoveryPhrase(match e {
                bip39::Error::UnknownWord(i) => {
                    format!("word {} is not in the BIP-39 English word list", i + 1)
                }
                bip39::Error::InvalidChecksum => {
                    "the checksum does not match: a word is wrong or in the wrong place".into()
                }
                other => other.to_string(),
            })
        })?;
        let (mut arr, len) = m.to_entropy_array();
        let out = if len == 32 {
            let mut seed = [0u8; 32];
            seed.copy_from_slice(&arr[..32]);
            let s = Secret::new(seed);
            seed.zeroize();
            Ok(Self(s))
        } else {
            Err(CryptoError::InvalidRecoveryPhrase(format!(
                "the phrase encodes {len} bytes, a device seed has 32"
            )))
        };
        arr.zeroize();
        out
    }
}

/// The secret half of a device identity. Zeroized on drop (the dalek types zeroize themselves);
/// `Debug` shows only the device id.
pub struct DeviceSecret {
    seed: DeviceSeed,
    signing: SigningKey,
    x25519: StaticSecret,
    public: PublicIdentity,
}

impl std::fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSecret")
            .field("device", &self.public.device)
            .finish_non_exhaustive()
    }
}

impl DeviceSecret {
    /// A brand-new device identity.
    pub fn generate() -> Result<Self> {
        Ok(Self::from_seed(DeviceSeed::generate()?))
    }

    /// The identity that belongs to `seed` (deterministic).
    pub fn from_seed(seed: DeviceSeed) -> Self {
        let signing = SigningKey::from_bytes(seed.0.expose());
        let mut x = blake3::derive_key(X25519_KDF_CONTEXT, seed.0.expose());
        let x25519 = StaticSecret::from(x);
        x.zeroize();
        let device = DeviceId(signing.verifying_key().to_bytes());
        let x_pub = XPublic::from(&x25519).to_bytes();
        let binding = sign_framed(
            &signing,
            IDENTITY_BINDING_CONTEXT,
            &binding_message(&device, &x_pub),
        );
        let public = PublicIdentity {
            device,
            x25519: x_pub,
            binding,
        };
        Self {
            seed,
            signing,
            x25519,
            public,
        }
    }

    /// The seed (for the key file and the recovery phrase).
    pub fn seed(&self) -> &DeviceSeed {
        &self.seed
    }

    /// This device's id (Ed25519 public key, iroh node id).
    pub fn device_id(&self) -> DeviceId {
        self.public.device
    }

    /// This device's public identity, to hand to others.
    pub fn public_identity(&self) -> &PublicIdentity {
        &self.public
    }

    /// Signs `message` under a context string (domain separation: a signature made for one
    /// purpose never verifies for another). Verify with [`DeviceId::verify`].
    pub fn sign(&self, context: &str, message: &[u8]) -> [u8; 64] {
        sign_framed(&self.signing, context, message)
    }

    /// A plain RFC 8032 Ed25519 signature over `message`, without MDO's context framing. Only for
    /// messages that are already domain-separated by their own format, and for known-answer tests.
    pub fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// X25519 agreement between this device's encryption key and `peer` (rejects low-order
    /// peers).
    pub fn x25519_agree(&self, peer: &[u8; 32]) -> Result<Secret<32>> {
        let shared = self.x25519.diffie_hellman(&XPublic::from(*peer));
        if !shared.was_contributory() {
            return Err(CryptoError::NonContributory);
        }
        Ok(Secret::new(shared.to_bytes()))
    }

    /// A symmetric key for data that never leaves this device (e.g. the local access log),
    /// derived from the seed with a purpose string.
    pub fn derive_local_key(&self, purpose: &str) -> Secret<32> {
        let mut h = blake3::Hasher::new_derive_key(&format!("{LOCAL_KDF_PREFIX}{purpose}"));
        h.update(self.seed.0.expose());
        Secret::new(*h.finalize().as_bytes())
    }

    /// The X25519 secret key bytes (for HPKE, which takes its own key type).
    pub(crate) fn x25519_secret(&self) -> Secret<32> {
        Secret::new(self.x25519.to_bytes())
    }
}

/// X25519 (RFC 7748) between a raw secret scalar and a public u-coordinate; rejects the all-zero
/// result of low-order points.
pub fn x25519_agree(secret: &Secret<32>, public: &[u8; 32]) -> Result<Secret<32>> {
    let s = StaticSecret::from(*secret.expose());
    let shared = s.diffie_hellman(&XPublic::from(*public));
    if !shared.was_contributory() {
        return Err(CryptoError::NonContributory);
    }
    Ok(Secret::new(shared.to_bytes()))
}

/// The X25519 public key of a raw secret scalar.
pub fn x25519_public(secret: &Secret<32>) -> [u8; 32] {
    XPublic::from(&StaticSecret::from(*secret.expose())).to_bytes()
}

fn framed(context: &str, message: &[u8]) -> Vec<u8> {
    let ctx = context.as_bytes();
    let mut m = Vec::with_capacity(SIG_PREFIX.len() + 8 + ctx.len() + message.len());
    m.extend_from_slice(SIG_PREFIX);
    m.extend_from_slice(&(ctx.len() as u64).to_le_bytes());
    m.extend_from_slice(ctx);
    m.extend_from_slice(message);
    m
}

fn sign_framed(key: &SigningKey, context: &str, message: &[u8]) -> [u8; 64] {
    key.sign(&framed(context, message)).to_bytes()
}

fn binding_message(device: &DeviceId, x25519: &[u8; 32]) -> [u8; 64] {
    let mut m = [0u8; 64];
    m[..32].copy_from_slice(&device.0);
    m[32..].copy_from_slice(x25519);
    m
}

impl DeviceId {
    fn verifying_key(&self) -> Result<VerifyingKey> {
        let vk = VerifyingKey::from_bytes(&self.0)
            .map_err(|_| CryptoError::InvalidPublicKey { what: "Ed25519" })?;
        if vk.is_weak() {
            return Err(CryptoError::InvalidPublicKey { what: "Ed25519" });
        }
        Ok(vk)
    }

    /// Verifies a signature made with [`DeviceSecret::sign`] under the same context.
    pub fn verify(&self, context: &str, message: &[u8], signature: &[u8; 64]) -> Result<()> {
        let m = framed(context, message);
        self.verify_raw(&m, signature)
            .map_err(|_| CryptoError::BadSignature { what: "message" })
    }

    /// Verifies a plain RFC 8032 Ed25519 signature (strict: rejects malleable encodings and weak
    /// keys).
    pub fn verify_raw(&self, message: &[u8], signature: &[u8; 64]) -> Result<()> {
        let vk = self.verifying_key()?;
        vk.verify_strict(message, &Signature::from_bytes(signature))
            .map_err(|_| CryptoError::BadSignature { what: "message" })
    }
}

/// The public half of a device identity: Ed25519 key (the [`DeviceId`]), X25519 key, and the
/// Ed25519 signature binding the two. A value of this type has always been verified: every
/// constructor (from bytes, from serde) checks the binding signature.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PublicIdentityRepr", into = "PublicIdentityRepr")]
pub struct PublicIdentity {
    device: DeviceId,
    x25519: [u8; 32],
    binding: [u8; 64],
}

#[derive(Serialize, Deserialize)]
struct PublicIdentityRepr {
    device: DeviceId,
    x25519: String,
    binding: String,
}

impl From<PublicIdentity> for PublicIdentityRepr {
    fn from(p: PublicIdentity) -> Self {
        Self {
            device: p.device,
            x25519: hex::encode(p.x25519),
            binding: hex::encode(p.binding),
        }
    }
}

impl TryFrom<PublicIdentityRepr> for PublicIdentity {
    type Error = CryptoError;
    fn try_from(r: PublicIdentityRepr) -> Result<Self> {
        let mut x25519 = [0u8; 32];
        let mut binding = [0u8; 64];
        hex::decode_to_slice(&r.x25519, &mut x25519).map_err(|e| CryptoError::Malformed {
            what: "public identity",
            reason: format!("x25519: {e}"),
        })?;
        hex::decode_to_slice(&r.binding, &mut binding).map_err(|e| CryptoError::Malformed {
            what: "public identity",
            reason: format!("binding: {e}"),
        })?;
        Self::from_parts(r.device, x25519, binding)
    }
}

impl std::fmt::Debug for PublicIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicIdentity({} {})", self.device, self.fingerprint())
    }
}

impl PublicIdentity {
    /// Builds and verifies an identity from its three parts.
    pub fn from_parts(device: DeviceId, x25519: [u8; 32], binding: [u8; 64]) -> Result<Self> {
        device
            .verify(
                IDENTITY_BINDING_CONTEXT,
                &binding_message(&device, &x25519),
                &binding,
            )
            .map_err(|_| CryptoError::BadSignature {
                what: "public identity",
            })?;
        Ok(Self {
            device,
            x25519,
            binding,
        })
    }

    /// The device id (Ed25519 public key).
    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// The X25519 encryption public key.
    pub fn x25519_public(&self) -> &[u8; 32] {
        &self.x25519
    }

    /// Fixed 129-byte encoding: version (1) ‖ Ed25519 key (32) ‖ X25519 key (32) ‖ binding
    /// signature (64).
    pub fn to_bytes(&self) -> [u8; PUBLIC_IDENTITY_LEN] {
        let mut out = [0u8; PUBLIC_IDENTITY_LEN];
        out[0] = PUBLIC_IDENTITY_VERSION;
        out[1..33].copy_from_slice(&self.device.0);
        out[33..65].copy_from_slice(&self.x25519);
        out[65..].copy_from_slice(&self.binding);
        out
    }

    /// Parses and verifies [`PublicIdentity::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < PUBLIC_IDENTITY_LEN {
            return Err(CryptoError::Truncated {
                what: "public identity",
                needed: PUBLIC_IDENTITY_LEN,
                got: bytes.len(),
            });
        }
        if bytes.len() > PUBLIC_IDENTITY_LEN {
            return Err(CryptoError::Malformed {
                what: "public identity",
                reason: format!("{} trailing bytes", bytes.len() - PUBLIC_IDENTITY_LEN),
            });
        }
        if bytes[0] != PUBLIC_IDENTITY_VERSION {
            return Err(CryptoError::UnsupportedVersion {
                what: "public identity",
                found: bytes[0],
                supported: PUBLIC_IDENTITY_VERSION,
            });
        }
        let mut device = [0u8; 32];
        let mut x25519 = [0u8; 32];
        let mut binding = [0u8; 64];
        device.copy_from_slice(&bytes[1..33]);
        x25519.copy_from_slice(&bytes[33..65]);
        binding.copy_from_slice(&bytes[65..]);
        Self::from_parts(DeviceId(device), x25519, binding)
    }

    /// A short fingerprint to compare by eye or by phone, e.g. `K7QM-3XZD-A2PL-9WEF`:
    /// 80 bits of BLAKE3 over both public keys, in base32 (RFC 4648 alphabet), four groups of four.
    pub fn fingerprint(&self) -> String {
        let mut h = blake3::Hasher::new_derive_key(FINGERPRINT_CONTEXT);
        h.update(&self.device.0);
        h.update(&self.x25519);
        let digest = h.finalize();
        let b32 = base32_upper(&digest.as_bytes()[..10]);
        b32.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// RFC 4648 base32 without padding (input length a multiple of 5 gives no partial group).
pub(crate) fn base32_upper(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_deterministic_from_seed() {
        let a = DeviceSecret::generate().unwrap();
        let b = DeviceSecret::from_seed(a.seed().clone());
        assert_eq!(a.public_identity(), b.public_identity());
        assert_eq!(a.device_id(), b.device_id());
        assert_ne!(a.device_id(), DeviceSecret::generate().unwrap().device_id());
    }

    #[test]
    fn recovery_phrase_round_trip_and_errors() {
        let s = DeviceSecret::generate().unwrap();
        let phrase = s.seed().recovery_phrase().unwrap();
        assert_eq!(phrase.split(' ').count(), 24);
        let messy = format!("  {}  ", phrase.to_uppercase().replace(' ', "   \n"));
        let restored = DeviceSeed::from_recovery_phrase(&messy).unwrap();
        assert_eq!(DeviceSecret::from_seed(restored).device_id(), s.device_id());

        let mut words: Vec<&str> = phrase.split(' ').collect();
        assert!(matches!(
            DeviceSeed::from_recovery_phrase(&words[..23].join(" ")),
            Err(CryptoError::InvalidRecoveryPhrase(m)) if m.contains("24 words")
        ));
        words.swap(0, 1);
        let swapped = words.join(" ");
        if swapped != *phrase {
            // A swap is caught by the checksum with probability 255/256.
            let _ = DeviceSeed::from_recovery_phrase(&swapped);
        }
        words[3] = "notaword";
        assert!(matches!(
            DeviceSeed::from_recovery_phrase(&words.join(" ")),
            Err(CryptoError::InvalidRecoveryPhrase(m)) if m.contains("word 4")
        ));
    }

    #[test]
    fn recovery_phrase_checksum_catches_a_wrong_word() {
        // "abandon" ×23 + "art" is the valid all-zero 256-bit phrase; changing the last word to
        // another valid word breaks the checksum.
        let zero = DeviceSeed::from_secret(Secret::new([0u8; 32]));
        let phrase = zero.recovery_phrase().unwrap();
        assert_eq!(&*phrase, &format!("{}art", "abandon ".repeat(23)));
        let bad = format!("{}ability", "abandon ".repeat(23));
        assert!(matches!(
            DeviceSeed::from_recovery_phrase(&bad),
            Err(CryptoError::InvalidRecoveryPhrase(m)) if m.contains("checksum")
        ));
    }

    #[test]
    fn signatures_are_domain_separated() {
        let s = DeviceSecret::generate().unwrap();
        let id = s.device_id();
        let sig = s.sign("membership-op", b"voeg Rik toe");
        id.verify("membership-op", b"voeg Rik toe", &sig).unwrap();
        assert!(matches!(
            id.verify("chunk", b"voeg Rik toe", &sig),
            Err(CryptoError::BadSignature { .. })
        ));
        assert!(
            id.verify("membership-op", b"voeg Rik niet toe", &sig)
                .is_err()
        );
        let other = DeviceSecret::generate().unwrap().device_id();
        assert!(
            other
                .verify("membership-op", b"voeg Rik toe", &sig)
                .is_err()
        );
        assert!(id.verify(&"x".repeat(300), b"", &sig).is_err());
    }

    #[test]
    fn public_identity_bytes_and_serde_verify_binding() {
        let s = DeviceSecret::generate().unwrap();
        let p = s.public_identity().clone();
        let bytes = p.to_bytes();
        assert_eq!(PublicIdentity::from_bytes(&bytes).unwrap(), p);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<PublicIdentity>(&json).unwrap(), p);

        // Substituting another X25519 key breaks the binding.
        let mut forged = bytes;
        forged[40] ^= 1;
        assert!(matches!(
            PublicIdentity::from_bytes(&forged),
            Err(CryptoError::BadSignature { .. })
        ));
        let other = DeviceSecret::generate().unwrap().public_identity().clone();
        let mut mixed = serde_json::to_value(&p).unwrap();
        mixed["x25519"] = serde_json::Value::String(hex::encode(other.x25519_public()));
        assert!(serde_json::from_value::<PublicIdentity>(mixed).is_err());

        assert!(matches!(
            PublicIdentity::from_bytes(&bytes[..100]),
            Err(CryptoError::Truncated { .. })
        ));
        let mut long = bytes.to_vec();
        long.push(0);
        assert!(matches!(
            PublicIdentity::from_bytes(&long),
            Err(CryptoError::Malformed { .. })
        ));
        let mut v2 = bytes;
        v2[0] = 2;
        assert!(matches!(
            PublicIdentity::from_bytes(&v2),
            Err(CryptoError::UnsupportedVersion { found: 2, .. })
        ));
    }

    #[test]
    fn fingerprint_is_short_stable_and_distinct() {
        let s = DeviceSecret::generate().unwrap();
        let f = s.public_identity().fingerprint();
        assert_eq!(f.len(), 19);
        assert_eq!(f.matches('-').count(), 3);
        assert_eq!(f, s.public_identity().fingerprint());
        assert_ne!(
            f,
            DeviceSecret::generate()
                .unwrap()
                .public_identity()
                .fingerprint()
        );
        assert_eq!(base32_upper(b"foobar"), "MZXW6YTBOI"); // RFC 4648 §10
    }

    #[test]
    fn x25519_agreement_is_symmetric_and_rejects_low_order() {
        let a = DeviceSecret::generate().unwrap();
        let b = DeviceSecret::generate().unwrap();
        let ab = a.x25519_agree(b.public_identity().x25519_public()).unwrap();
        let ba = b.x25519_agree(a.public_identity().x25519_public()).unwrap();
        assert_eq!(ab, ba);
        assert!(matches!(
            a.x25519_agree(&[0u8; 32]),
            Err(CryptoError::NonContributory)
        ));
    }

    #[test]
    fn local_keys_depend_on_purpose_and_debug_hides_secrets() {
        let s = DeviceSecret::generate().unwrap();
        assert_ne!(
            s.derive_local_key("access-log"),
            s.derive_local_key("store")
        );
        assert_eq!(s.derive_local_key("store"), s.derive_local_key("store"));
        let shown = format!("{s:?} {:?}", s.seed());
        assert!(shown.contains(&s.device_id().to_hex()));
        assert!(!shown.contains(&hex::encode(s.seed().expose().expose())));
    }
}
