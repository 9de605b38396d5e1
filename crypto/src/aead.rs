//! The ChaCha20-Poly1305 family (RFC 8439), from RustCrypto's `chacha20poly1305`.
//!
//! The nonce length picks the variant: 12 bytes → ChaCha20-Poly1305 (IETF, RFC 8439), 24 bytes →
//! XChaCha20-Poly1305 (HChaCha20 subkey + ChaCha20-Poly1305). MDO uses XChaCha20-Poly1305 with
//! random nonces wherever many writers share one key (envelopes, epoch links, key files); HPKE
//! uses ChaCha20-Poly1305 with its own nonce schedule.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag, XChaCha20Poly1305, XNonce};

use crate::secret::Plaintext;
use crate::{CryptoError, Result, Secret};

/// Length of the Poly1305 authentication tag.
pub const TAG_LEN: usize = 16;
/// Nonce length of ChaCha20-Poly1305.
pub const NONCE_LEN: usize = 12;
/// Nonce length of XChaCha20-Poly1305.
pub const XNONCE_LEN: usize = 24;

fn bad_nonce(len: usize) -> CryptoError {
    CryptoError::Malformed {
        what: "AEAD nonce",
        reason: format!("{len} bytes; must be {NONCE_LEN} or {XNONCE_LEN}"),
    }
}

/// The cipher keyed straight from the secret's bytes: no copy of the key is left on the stack
/// (the cipher itself zeroizes its key when dropped: feature `zeroize` of `chacha20poly1305`).
fn cipher<C: KeyInit>(key: &Secret<32>) -> Result<C> {
    C::new_from_slice(key.expose()).map_err(|_| CryptoError::Internal("AEAD key length"))
}

/// Encrypts `buf` in place and returns the detached tag.
pub fn seal_in_place(
    key: &Secret<32>,
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN]> {
    let tag = match nonce.len() {
        NONCE_LEN => {
            let n = Nonce::try_from(nonce).map_err(|_| bad_nonce(nonce.len()))?;
            cipher::<ChaCha20Poly1305>(key)?.encrypt_inout_detached(&n, aad, buf.into())
        }
        XNONCE_LEN => {
            let n = XNonce::try_from(nonce).map_err(|_| bad_nonce(nonce.len()))?;
            cipher::<XChaCha20Poly1305>(key)?.encrypt_inout_detached(&n, aad, buf.into())
        }
        other => return Err(bad_nonce(other)),
    }
    .map_err(|_| CryptoError::Internal("AEAD encryption failed"))?;
    Ok(tag.into())
}

/// Decrypts `buf` in place after checking `tag`; on failure `buf` is left unspecified and
/// [`CryptoError::Tampered`] is returned.
pub fn open_in_place(
    key: &Secret<32>,
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<()> {
    let t = Tag::from(*tag);
    let ok = match nonce.len() {
        NONCE_LEN => {
            let n = Nonce::try_from(nonce).map_err(|_| bad_nonce(nonce.len()))?;
            cipher::<ChaCha20Poly1305>(key)?.decrypt_inout_detached(&n, aad, buf.into(), &t)
        }
        XNONCE_LEN => {
            let n = XNonce::try_from(nonce).map_err(|_| bad_nonce(nonce.len()))?;
            cipher::<XChaCha20Poly1305>(key)?.decrypt_inout_detached(&n, aad, buf.into(), &t)
        }
        other => return Err(bad_nonce(other)),
    };
    ok.map_err(|_| CryptoError::Tampered { what: "ciphertext" })
}

/// Encrypts `plaintext`; returns `ciphertext || tag`.
pub fn seal(key: &Secret<32>, nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let tag = seal_in_place(key, nonce, aad, &mut out)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts `ciphertext || tag`; the plaintext is zeroized when dropped.
pub fn open(
    key: &Secret<32>,
    nonce: &[u8],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Plaintext> {
    let Some(body_len) = ciphertext_and_tag.len().checked_sub(TAG_LEN) else {
        return Err(CryptoError::Truncated {
            what: "AEAD ciphertext",
            needed: TAG_LEN,
            got: ciphertext_and_tag.len(),
        });
    };
    let (body, tag) = ciphertext_and_tag.split_at(body_len);
    let mut tag_arr = [0u8; TAG_LEN];
    tag_arr.copy_from_slice(tag);
    let mut out = Plaintext::new(body.to_vec());
    open_in_place(key, nonce, aad, &mut out, &tag_arr)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_both_nonce_sizes() {
        let key = Secret::new([7u8; 32]);
        for nonce in [&[1u8; 12][..], &[2u8; 24][..]] {
            let ct = seal(&key, nonce, b"aad", b"hallo Noor").unwrap();
            assert_eq!(ct.len(), 10 + TAG_LEN);
            assert_eq!(&open(&key, nonce, b"aad", &ct).unwrap()[..], b"hallo Noor");
            assert!(matches!(
                open(&key, nonce, b"other aad", &ct),
                Err(CryptoError::Tampered { .. })
            ));
        }
    }

    #[test]
    fn rejects_bad_nonce_and_short_input() {
        let key = Secret::new([7u8; 32]);
        assert!(matches!(
            seal(&key, &[0u8; 16], b"", b"x"),
            Err(CryptoError::Malformed { .. })
        ));
        assert!(matches!(
            open(&key, &[0u8; 12], b"", &[0u8; 15]),
            Err(CryptoError::Truncated { .. })
        ));
        assert!(matches!(
            open(&key, &[0u8; 13], b"", &[0u8; 17]),
            Err(CryptoError::Malformed { .. })
        ));
    }

    #[test]
    fn the_ciphers_zeroize_their_key_copy_when_dropped() {
        // Fails to compile if the `zeroize` feature of `chacha20poly1305` is ever dropped.
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroized_on_drop::<ChaCha20Poly1305>();
        zeroized_on_drop::<XChaCha20Poly1305>();
    }

    #[test]
    fn wrong_key_is_tampered() {
        let ct = seal(&Secret::new([1u8; 32]), &[0u8; 24], b"", b"geheim").unwrap();
        assert!(matches!(
            open(&Secret::new([2u8; 32]), &[0u8; 24], b"", &ct),
            Err(CryptoError::Tampered { .. })
        ));
    }
}
