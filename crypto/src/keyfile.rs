//! The protected key file: a device seed at rest, encrypted under a key derived from the
//! passphrase with argon2id, sealed with XChaCha20-Poly1305.
//!
//! Format (version 1, integers little-endian; see `docs/crypto.md`):
//!
//! ```text
//! offset len  field
//! 0      4    magic "MDOK"
//! 4      1    version = 1
//! 5      1    kdf = 1 (argon2id, v0x13)
//! 6      4    m_cost (KiB)
//! 10     4    t_cost (passes)
//! 14     4    p_cost (lanes)
//! 18     16   salt
//! 34     24   XChaCha20-Poly1305 nonce
//! 58     2    ciphertext length L (= 1 + 32 + 16)
//! 60     L    ciphertext of: kind (1 = device seed) ‖ seed (32), then the 16-byte tag
//! ```
//! The 60 header bytes are the AEAD's associated data, so a changed parameter is detected.
//! This module only converts bytes; the store writes them to disk atomically.

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::identity::DeviceSeed;
use crate::{CryptoError, Result, Secret, aead, random_array};

const MAGIC: &[u8; 4] = b"MDOK";
/// Current key-file format version.
pub const VERSION: u8 = 1;
const KDF_ARGON2ID: u8 = 1;
const HEADER_LEN: usize = 60;
const PAYLOAD_KIND_SEED: u8 = 1;
const PAYLOAD_LEN: usize = 1 + 32;
const CT_LEN: usize = PAYLOAD_LEN + aead::TAG_LEN;
/// Total length of a version-1 key file.
pub const FILE_LEN: usize = HEADER_LEN + CT_LEN;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Degree of parallelism (lanes).
    pub p_cost: u32,
}

impl KdfParams {
    /// Largest memory cost accepted when reading a file (1 GiB): a crafted file cannot make MDO
    /// allocate more.
    pub const MAX_M_COST_KIB: u32 = 1 << 20;
    /// Largest number of passes accepted.
    pub const MAX_T_COST: u32 = 64;
    /// Largest parallelism accepted.
    pub const MAX_P_COST: u32 = 16;

    /// The default for new key files: 64 MiB, 3 passes, 1 lane (RFC 9106 §4, second
    /// recommended option, with one lane because argon2 runs single-threaded here) — about a
    /// quarter of a second on a laptop.
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// Cheap parameters for tests and fuzzing only. Never use for a real profile.
    pub const INSECURE_FAST: KdfParams = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };

    fn check(&self) -> Result<Params> {
        if self.m_cost_kib > Self::MAX_M_COST_KIB
            || self.t_cost > Self::MAX_T_COST
            || self.p_cost > Self::MAX_P_COST
        {
            return Err(CryptoError::KdfParams(format!(
                "m={} KiB t={} p={} exceeds the limits m≤{} t≤{} p≤{}",
                self.m_cost_kib,
                self.t_cost,
                self.p_cost,
                Self::MAX_M_COST_KIB,
                Self::MAX_T_COST,
                Self::MAX_P_COST
            )));
        }
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| CryptoError::KdfParams(e.to_string()))
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A parsed (not yet decrypted) key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    params: KdfParams,
    salt: [u8; 16],
    nonce: [u8; 24],
    ciphertext: [u8; CT_LEN],
}

fn derive(passphrase: &[u8], salt: &[u8; 16], params: &KdfParams) -> Result<Secret<32>> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.check()?);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, out.as_mut())
        .map_err(|e| CryptoError::KdfParams(e.to_string()))?;
    Ok(Secret::new(*out))
}

impl KeyFile {
    /// Encrypts `seed` under `passphrase`.
    pub fn seal(seed: &DeviceSeed, passphrase: &str, params: KdfParams) -> Result<Self> {
        let salt: [u8; 16] = random_array()?;
        let nonce: [u8; 24] = random_array()?;
        let key = derive(passphrase.as_bytes(), &salt, &params)?;
        let mut file = KeyFile {
            params,
            salt,
            nonce,
            ciphertext: [0u8; CT_LEN],
        };
        let header = file.header();
        let mut payload = Zeroizing::new([0u8; PAYLOAD_LEN]);
        payload[0] = PAYLOAD_KIND_SEED;
        payload[1..].copy_from_slice(seed.expose().expose());
        let tag = aead::seal_in_place(&key, &nonce, &header, payload.as_mut())?;
        file.ciphertext[..PAYLOAD_LEN].copy_from_slice(payload.as_ref());
        file.ciphertext[PAYLOAD_LEN..].copy_from_slice(&tag);
        Ok(file)
    }

    /// Decrypts the seed. A wrong passphrase gives [`CryptoError::WrongPassphrase`].
    pub fn open(&self, passphrase: &str) -> Result<DeviceSeed> {
        let key = derive(passphrase.as_bytes(), &self.salt, &self.params)?;
        let header = self.header();
        let mut buf = Zeroizing::new([0u8; PAYLOAD_LEN]);
        buf.copy_from_slice(&self.ciphertext[..PAYLOAD_LEN]);
        let mut tag = [0u8; aead::TAG_LEN];
        tag.copy_from_slice(&self.ciphertext[PAYLOAD_LEN..]);
        aead::open_in_place(&key, &self.nonce, &header, buf.as_mut(), &tag)
            .map_err(|_| CryptoError::WrongPassphrase)?;
        if buf[0] != PAYLOAD_KIND_SEED {
            return Err(CryptoError::Malformed {
                what: "key file",
                reason: format!("unknown payload kind {}", buf[0]),
            });
        }
        let seed = Secret::from_slice(&buf[1..]).ok_or(CryptoError::Internal("seed length"))?;
        Ok(DeviceSeed::from_secret(seed))
    }

    /// The cost parameters the file was written with.
    pub fn params(&self) -> KdfParams {
        self.params
    }

    fn header(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..4].copy_from_slice(MAGIC);
        h[4] = VERSION;
        h[5] = KDF_ARGON2ID;
        h[6..10].copy_from_slice(&self.params.m_cost_kib.to_le_bytes());
        h[10..14].copy_from_slice(&self.params.t_cost.to_le_bytes());
        h[14..18].copy_from_slice(&self.params.p_cost.to_le_bytes());
        h[18..34].copy_from_slice(&self.salt);
        h[34..58].copy_from_slice(&self.nonce);
        h[58..60].copy_from_slice(&(CT_LEN as u16).to_le_bytes());
        h
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FILE_LEN);
        out.extend_from_slice(&self.header());
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses a key file, checking magic, version, algorithm, parameter limits and lengths.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "key file";
        if bytes.len() < 5 {
            return Err(CryptoError::Truncated {
                what: WHAT,
                needed: HEADER_LEN,
                got: bytes.len(),
            });
        }
        if &bytes[..4] != MAGIC {
            return Err(CryptoError::BadMagic { what: WHAT });
        }
        if bytes[4] != VERSION {
            return Err(CryptoError::UnsupportedVersion {
                what: WHAT,
                found: bytes[4],
                supported: VERSION,
            });
        }
        if bytes.len() < HEADER_LEN {
            return Err(CryptoError::Truncated {
                what: WHAT,
                needed: HEADER_LEN,
                got: bytes.len(),
            });
        }
        if bytes[5] != KDF_ARGON2ID {
            return Err(CryptoError::Malformed {
                what: WHAT,
                reason: format!("unknown key-derivation function {}", bytes[5]),
            });
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let params = KdfParams {
            m_cost_kib: u32_at(6),
            t_cost: u32_at(10),
            p_cost: u32_at(14),
        };
        params.check()?;
        let ct_len = usize::from(u16::from_le_bytes([bytes[58], bytes[59]]));
        if ct_len != CT_LEN {
            return Err(CryptoError::Malformed {
                what: WHAT,
                reason: format!("ciphertext length {ct_len}, expected {CT_LEN}"),
            });
        }
        if bytes.len() < FILE_LEN {
            return Err(CryptoError::Truncated {
                what: WHAT,
                needed: FILE_LEN,
                got: bytes.len(),
            });
        }
        if bytes.len() > FILE_LEN {
            return Err(CryptoError::Malformed {
                what: WHAT,
                reason: format!("{} trailing bytes", bytes.len() - FILE_LEN),
            });
        }
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        let mut ciphertext = [0u8; CT_LEN];
        salt.copy_from_slice(&bytes[18..34]);
        nonce.copy_from_slice(&bytes[34..58]);
        ciphertext.copy_from_slice(&bytes[HEADER_LEN..]);
        Ok(Self {
            params,
            salt,
            nonce,
            ciphertext,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceSecret;

    const FAST: KdfParams = KdfParams::INSECURE_FAST;

    #[test]
    fn round_trip_restores_identity() {
        let dev = DeviceSecret::generate().unwrap();
        let file = KeyFile::seal(dev.seed(), "correct horse", FAST).unwrap();
        let bytes = file.to_bytes();
        assert_eq!(bytes.len(), FILE_LEN);
        let parsed = KeyFile::from_bytes(&bytes).unwrap();
        assert_eq!(parsed.params(), FAST);
        let seed = parsed.open("correct horse").unwrap();
        assert_eq!(DeviceSecret::from_seed(seed).device_id(), dev.device_id());
        // No plaintext seed in the file.
        let seed_bytes = dev.seed().expose().expose();
        assert!(!bytes.windows(32).any(|w| w == seed_bytes));
    }

    #[test]
    fn wrong_passphrase_is_a_clear_error() {
        let dev = DeviceSecret::generate().unwrap();
        let file = KeyFile::seal(dev.seed(), "correct horse", FAST).unwrap();
        let err = file.open("Correct horse").unwrap_err();
        assert_eq!(err, CryptoError::WrongPassphrase);
        assert_eq!(
            err.to_string(),
            "wrong passphrase (or the key file is damaged)"
        );
        assert_eq!(file.open("").unwrap_err(), CryptoError::WrongPassphrase);
    }

    #[test]
    fn parse_errors_are_typed() {
        let dev = DeviceSecret::generate().unwrap();
        let bytes = KeyFile::seal(dev.seed(), "pw", FAST).unwrap().to_bytes();
        assert!(matches!(
            KeyFile::from_bytes(&bytes[..3]),
            Err(CryptoError::Truncated { .. })
        ));
        assert!(matches!(
            KeyFile::from_bytes(&bytes[..40]),
            Err(CryptoError::Truncated { .. })
        ));
        assert!(matches!(
            KeyFile::from_bytes(&bytes[..FILE_LEN - 1]),
            Err(CryptoError::Truncated { .. })
        ));
        let mut b = bytes.clone();
        b[0] = b'X';
        assert_eq!(
            KeyFile::from_bytes(&b),
            Err(CryptoError::BadMagic { what: "key file" })
        );
        let mut b = bytes.clone();
        b[4] = 9;
        assert!(matches!(
            KeyFile::from_bytes(&b),
            Err(CryptoError::UnsupportedVersion { found: 9, .. })
        ));
        let mut b = bytes.clone();
        b[5] = 2;
        assert!(matches!(
            KeyFile::from_bytes(&b),
            Err(CryptoError::Malformed { .. })
        ));
        let mut b = bytes.clone();
        b[6..10].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            KeyFile::from_bytes(&b),
            Err(CryptoError::KdfParams(_))
        ));
        let mut b = bytes.clone();
        b[14..18].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(
            KeyFile::from_bytes(&b),
            Err(CryptoError::KdfParams(_))
        ));
        let mut b = bytes.clone();
        b[58] = 1;
        assert!(matches!(
            KeyFile::from_bytes(&b),
            Err(CryptoError::Malformed { .. })
        ));
        let mut b = bytes.clone();
        b.push(0);
        assert!(matches!(
            KeyFile::from_bytes(&b),
            Err(CryptoError::Malformed { .. })
        ));
    }

    #[test]
    fn any_flipped_bit_fails_to_open() {
        let dev = DeviceSecret::generate().unwrap();
        let bytes = KeyFile::seal(dev.seed(), "pw", FAST).unwrap().to_bytes();
        // Skip the parameter bytes (6..18): flipping them changes the argon2 cost, which is
        // covered above; every other bit must be caught.
        for i in (0..bytes.len()).filter(|i| !(6..18).contains(i)) {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let res = KeyFile::from_bytes(&b).and_then(|f| f.open("pw"));
                assert!(res.is_err(), "flip at byte {i} bit {bit} went unnoticed");
            }
        }
    }

    #[test]
    fn sealing_twice_gives_different_files() {
        let dev = DeviceSecret::generate().unwrap();
        let a = KeyFile::seal(dev.seed(), "pw", FAST).unwrap().to_bytes();
        let b = KeyFile::seal(dev.seed(), "pw", FAST).unwrap().to_bytes();
        assert_ne!(a, b);
    }
}
