//! Chunk envelopes: a batch of Automerge changes, encrypted with a compartment's epoch key and
//! signed by the author's device.
//!
//! Format (version 1, integers little-endian; see `docs/crypto.md`):
//!
//! ```text
//! offset      len    field
//! 0           4      magic "MDOC"
//! 4           1      version = 1
//! 5           1      flags = 0 (reserved)
//! 6           16     case id
//! 22          16     compartment id
//! 38          4      epoch
//! 42          32     author device id (Ed25519 public key)
//! 74          2      n = number of dependency ids (≤ 1024)
//! 76          32·n   dependency chunk ids
//! 76+32n      24     XChaCha20-Poly1305 nonce (random)
//! 100+32n     4      L = length of all segments with their 16-byte tags
//! 104+32n     L      segments of 64 KiB plaintext: ciphertext ‖ tag each (see [`SEGMENT`])
//! 104+32n+L   64     Ed25519 signature
//! ```
//!
//! The signature is over `BLAKE3(bytes[..104+32n+L])` under the context [`SIG_CONTEXT`]; the
//! envelope id is `BLAKE3(all bytes)`. Both come from one BLAKE3 pass (the hasher state is cloned
//! before the signature is absorbed), so sealing and opening read the payload only twice: once to
//! encrypt or decrypt, once to hash (on all cores from 128 KiB on). The hash is what makes the signature cover the ciphertext
//! itself: Poly1305 alone is not collision resistant for a holder of the key, so without it a
//! malicious reader could swap the ciphertext under an honest author's signature.

use rayon::prelude::*;

use crate::epoch::Keyring;
use crate::secret::Plaintext;
use crate::{
    CaseId, ChunkId, CompartmentId, CryptoError, DeviceId, DeviceSecret, EpochKey, Result, aead,
};

/// Magic bytes of a chunk envelope.
pub const MAGIC: &[u8; 4] = b"MDOC";
/// Current envelope format version.
pub const VERSION: u8 = 1;
/// Signature context of envelopes.
pub const SIG_CONTEXT: &str = "chunk-envelope-v1";
/// Most dependency ids one envelope may name.
pub const MAX_DEPS: usize = 1024;
/// Largest payload one envelope may carry (64 MiB); larger batches are split.
pub const MAX_PAYLOAD: usize = 64 << 20;
const FIXED_LEN: usize = 76;
const NONCE_LEN: usize = 24;
const SIG_LEN: usize = 64;
const WHAT: &str = "chunk envelope";
/// Plaintext bytes per AEAD segment. Each segment is sealed separately (its nonce and associated
/// data carry its index and a last-segment flag), so large payloads are encrypted and decrypted on
/// all cores; the signature over the whole ciphertext still fixes order and length.
pub const SEGMENT: usize = 64 * 1024;
const SEG_CT: usize = SEGMENT + aead::TAG_LEN;

/// Number of segments of a payload of `len` bytes (an empty payload has one, empty, segment).
pub fn segment_count(len: usize) -> usize {
    len.div_ceil(SEGMENT).max(1)
}

/// Ciphertext length (all segments with their tags) of a payload of `len` bytes.
pub fn ciphertext_len(len: usize) -> usize {
    len + aead::TAG_LEN * segment_count(len)
}

/// The payload length of a ciphertext of `ct_len` bytes, if that length is well formed.
fn payload_len(ct_len: usize) -> Option<usize> {
    let n = ct_len.div_ceil(SEG_CT).max(1);
    let p = ct_len.checked_sub(aead::TAG_LEN * n)?;
    (segment_count(p) == n).then_some(p)
}

fn segment_nonce(base: &[u8], i: usize) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(base);
    for (b, x) in n[NONCE_LEN - 4..].iter_mut().zip((i as u32).to_le_bytes()) {
        *b ^= x;
    }
    n
}

fn segment_aad(header: &[u8], i: usize, last: bool) -> Vec<u8> {
    let mut a = Vec::with_capacity(header.len() + 5);
    a.extend_from_slice(header);
    a.extend_from_slice(&(i as u32).to_le_bytes());
    a.push(u8::from(last));
    a
}

/// From this size on BLAKE3 hashes on all cores (its tree mode parallelises; below this the
/// thread hand-off costs more than it saves).
const PARALLEL_FROM: usize = 128 * 1024;

fn hash_update(hasher: &mut blake3::Hasher, data: &[u8]) {
    if data.len() >= PARALLEL_FROM {
        hasher.update_rayon(data);
    } else {
        hasher.update(data);
    }
}

/// A sealed envelope: its bytes and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEnvelope {
    /// BLAKE3 of `bytes`.
    pub id: ChunkId,
    /// The envelope.
    pub bytes: Vec<u8>,
}

/// Encrypts `payload` under `key` and signs it as `author`. `deps` are the ids of the chunks this
/// one builds on (they are authenticated but not interpreted here).
pub fn seal(
    author: &DeviceSecret,
    key: &EpochKey,
    deps: &[ChunkId],
    payload: &[u8],
) -> Result<SealedEnvelope> {
    if deps.len() > MAX_DEPS {
        return Err(CryptoError::TooLarge {
            what: "dependency list",
            size: deps.len(),
            limit: MAX_DEPS,
        });
    }
    if payload.len() > MAX_PAYLOAD {
        return Err(CryptoError::TooLarge {
            what: "chunk payload",
            size: payload.len(),
            limit: MAX_PAYLOAD,
        });
    }
    let header_len = FIXED_LEN + 32 * deps.len() + NONCE_LEN + 4;
    let ct_len = ciphertext_len(payload.len());
    let mut buf = Vec::with_capacity(header_len + ct_len + SIG_LEN);
    buf.extend_from_slice(MAGIC);
    buf.push(VERSION);
    buf.push(0);
    buf.extend_from_slice(&key.case().0);
    buf.extend_from_slice(&key.compartment().0);
    buf.extend_from_slice(&key.epoch().to_le_bytes());
    buf.extend_from_slice(&author.device_id().0);
    buf.extend_from_slice(&(deps.len() as u16).to_le_bytes());
    for d in deps {
        buf.extend_from_slice(&d.0);
    }
    let nonce: [u8; NONCE_LEN] = crate::random_array()?;
    buf.extend_from_slice(&nonce);
    buf.extend_from_slice(&(ct_len as u32).to_le_bytes());
    if payload.is_empty() {
        buf.extend_from_slice(&[0u8; aead::TAG_LEN]);
    }
    for seg in payload.chunks(SEGMENT) {
        buf.extend_from_slice(seg);
        buf.extend_from_slice(&[0u8; aead::TAG_LEN]);
    }
    let k = key.envelope_key();
    let n = segment_count(payload.len());
    let (header, body) = buf.split_at_mut(header_len);
    let header: &[u8] = header;
    let seal_segment = |(i, seg): (usize, &mut [u8])| -> Result<()> {
        let (data, tag) = seg.split_at_mut(seg.len() - aead::TAG_LEN);
        let t = aead::seal_in_place(
            &k,
            &segment_nonce(&nonce, i),
            &segment_aad(header, i, i + 1 == n),
            data,
        )?;
        tag.copy_from_slice(&t);
        Ok(())
    };
    if payload.len() >= PARALLEL_FROM {
        body.par_chunks_mut(SEG_CT)
            .enumerate()
            .try_for_each(seal_segment)?;
    } else {
        body.chunks_mut(SEG_CT)
            .enumerate()
            .try_for_each(seal_segment)?;
    }

    let mut hasher = blake3::Hasher::new();
    hash_update(&mut hasher, &buf);
    let digest = hasher.finalize();
    let sig = author.sign(SIG_CONTEXT, digest.as_bytes());
    buf.extend_from_slice(&sig);
    hasher.update(&sig);
    Ok(SealedEnvelope {
        id: ChunkId(*hasher.finalize().as_bytes()),
        bytes: buf,
    })
}

/// A parsed envelope: structure checked, id computed, signature and ciphertext not yet checked.
/// Storage peers stop after [`Envelope::verify_signature`]; readers go on to [`Envelope::open`].
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    bytes: &'a [u8],
    /// The case.
    pub case: CaseId,
    /// The compartment.
    pub compartment: CompartmentId,
    /// The epoch whose key encrypted it.
    pub epoch: u32,
    /// The signing device.
    pub author: DeviceId,
    /// The chunks this one builds on.
    pub deps: Vec<ChunkId>,
    /// BLAKE3 of the whole envelope.
    pub id: ChunkId,
    header_len: usize,
    ct_end: usize,
    digest: [u8; 32],
}

/// A successfully opened envelope.
#[derive(Debug)]
pub struct OpenedEnvelope {
    /// The envelope id.
    pub id: ChunkId,
    /// The case.
    pub case: CaseId,
    /// The compartment.
    pub compartment: CompartmentId,
    /// The epoch.
    pub epoch: u32,
    /// The author device (signature verified).
    pub author: DeviceId,
    /// Dependency ids.
    pub deps: Vec<ChunkId>,
    /// The decrypted payload, zeroized when dropped.
    pub payload: Plaintext,
}

fn truncated(needed: usize, got: usize) -> CryptoError {
    CryptoError::Truncated {
        what: WHAT,
        needed,
        got,
    }
}

fn arr<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N]> {
    b.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| truncated(at + N, b.len()))
}

/// The structure of an envelope, before any hashing.
struct Layout {
    case: CaseId,
    compartment: CompartmentId,
    epoch: u32,
    author: DeviceId,
    deps: Vec<ChunkId>,
    header_len: usize,
    ct_end: usize,
}

fn layout(bytes: &[u8]) -> Result<Layout> {
    if bytes.len() < 5 {
        return Err(truncated(FIXED_LEN, bytes.len()));
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
    if bytes.len() < FIXED_LEN {
        return Err(truncated(FIXED_LEN, bytes.len()));
    }
    if bytes[5] != 0 {
        return Err(CryptoError::Malformed {
            what: WHAT,
            reason: format!("reserved flags {:#04x}", bytes[5]),
        });
    }
    let case = CaseId(arr(bytes, 6)?);
    let compartment = CompartmentId(arr(bytes, 22)?);
    let epoch = u32::from_le_bytes(arr(bytes, 38)?);
    let author = DeviceId(arr(bytes, 42)?);
    let n = usize::from(u16::from_le_bytes(arr(bytes, 74)?));
    if n > MAX_DEPS {
        return Err(CryptoError::TooLarge {
            what: "dependency list",
            size: n,
            limit: MAX_DEPS,
        });
    }
    let deps_end = FIXED_LEN + 32 * n;
    let header_len = deps_end + NONCE_LEN + 4;
    if bytes.len() < header_len {
        return Err(truncated(header_len, bytes.len()));
    }
    let deps = (0..n)
        .map(|i| arr(bytes, FIXED_LEN + 32 * i).map(ChunkId))
        .collect::<Result<Vec<_>>>()?;
    let ct_len = u32::from_le_bytes(arr(bytes, header_len - 4)?) as usize;
    if ct_len > ciphertext_len(MAX_PAYLOAD) {
        return Err(CryptoError::TooLarge {
            what: "chunk payload",
            size: ct_len,
            limit: MAX_PAYLOAD,
        });
    }
    if payload_len(ct_len).is_none() {
        return Err(CryptoError::Malformed {
            what: WHAT,
            reason: format!(
                "a ciphertext of {ct_len} bytes is not a whole number of segments with tags"
            ),
        });
    }
    let ct_end = header_len + ct_len;
    let total = ct_end + SIG_LEN;
    if bytes.len() < total {
        return Err(truncated(total, bytes.len()));
    }
    if bytes.len() > total {
        return Err(CryptoError::Malformed {
            what: WHAT,
            reason: format!("{} trailing bytes", bytes.len() - total),
        });
    }
    Ok(Layout {
        case,
        compartment,
        epoch,
        author,
        deps,
        header_len,
        ct_end,
    })
}

/// BLAKE3 of the signed part (the digest) and of the whole envelope (the id), in one pass.
fn hashes(bytes: &[u8], ct_end: usize) -> ([u8; 32], ChunkId) {
    let mut hasher = blake3::Hasher::new();
    hash_update(&mut hasher, &bytes[..ct_end]);
    let digest = *hasher.finalize().as_bytes();
    hasher.update(&bytes[ct_end..]);
    (digest, ChunkId(*hasher.finalize().as_bytes()))
}

/// The epoch key for an envelope of this case and compartment, or the error that says why not.
fn key_for<'k>(l: &Layout, keys: &'k Keyring) -> Result<&'k EpochKey> {
    if l.case != keys.case() {
        return Err(CryptoError::WrongCase {
            expected: keys.case().to_hex(),
            found: l.case.to_hex(),
        });
    }
    if l.compartment != keys.compartment() {
        return Err(CryptoError::WrongCompartment {
            expected: keys.compartment().to_hex(),
            found: l.compartment.to_hex(),
        });
    }
    keys.get(l.epoch)
        .ok_or(CryptoError::UnknownEpoch { epoch: l.epoch })
}

/// Decrypts all segments (on all cores for large payloads).
fn decrypt(bytes: &[u8], header_len: usize, ct_end: usize, key: &EpochKey) -> Result<Plaintext> {
    let k = key.envelope_key();
    let header = &bytes[..header_len];
    let nonce = &header[header_len - 4 - NONCE_LEN..header_len - 4];
    let body = &bytes[header_len..ct_end];
    let p = payload_len(body.len()).ok_or(CryptoError::Malformed {
        what: WHAT,
        reason: "segment layout".into(),
    })?;
    let n = segment_count(p);
    let open_segment = |i: usize, out: &mut [u8], seg: &[u8]| -> Result<()> {
        let (data, tag) = seg.split_at(seg.len() - aead::TAG_LEN);
        out.copy_from_slice(data);
        let tag: [u8; aead::TAG_LEN] = tag
            .try_into()
            .map_err(|_| CryptoError::Internal("tag length"))?;
        aead::open_in_place(
            &k,
            &segment_nonce(nonce, i),
            &segment_aad(header, i, i + 1 == n),
            out,
            &tag,
        )
        .map_err(|_| CryptoError::Tampered { what: WHAT })
    };
    let mut payload = Plaintext::new(vec![0u8; p]);
    if p == 0 {
        open_segment(0, &mut [], body)?;
    } else if p >= PARALLEL_FROM {
        payload
            .par_chunks_mut(SEGMENT)
            .zip(body.par_chunks(SEG_CT))
            .enumerate()
            .try_for_each(|(i, (out, seg))| open_segment(i, out, seg))?;
    } else {
        for (i, (out, seg)) in payload
            .chunks_mut(SEGMENT)
            .zip(body.chunks(SEG_CT))
            .enumerate()
        {
            open_segment(i, out, seg)?;
        }
    }
    Ok(payload)
}

impl<'a> Envelope<'a> {
    fn from_layout(bytes: &'a [u8], l: Layout, digest: [u8; 32], id: ChunkId) -> Self {
        Envelope {
            bytes,
            case: l.case,
            compartment: l.compartment,
            epoch: l.epoch,
            author: l.author,
            deps: l.deps,
            id,
            header_len: l.header_len,
            ct_end: l.ct_end,
            digest,
        }
    }

    /// Parses the structure of an envelope and computes its id. Never panics on any input.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let l = layout(bytes)?;
        let (digest, id) = hashes(bytes, l.ct_end);
        Ok(Self::from_layout(bytes, l, digest, id))
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Checks that the device named as author signed exactly these bytes.
    pub fn verify_signature(&self) -> Result<()> {
        let sig: [u8; SIG_LEN] = arr(self.bytes, self.ct_end)?;
        self.author
            .verify(SIG_CONTEXT, &self.digest, &sig)
            .map_err(|_| CryptoError::BadSignature { what: WHAT })
    }

    fn opened(self, payload: Plaintext) -> OpenedEnvelope {
        OpenedEnvelope {
            id: self.id,
            case: self.case,
            compartment: self.compartment,
            epoch: self.epoch,
            author: self.author,
            deps: self.deps,
            payload,
        }
    }

    /// Verifies the signature, checks that the envelope belongs to the keyring's case and
    /// compartment, finds the epoch key and decrypts.
    pub fn open(&self, keys: &Keyring) -> Result<OpenedEnvelope> {
        self.verify_signature()?;
        let l = Layout {
            case: self.case,
            compartment: self.compartment,
            epoch: self.epoch,
            author: self.author,
            deps: Vec::new(),
            header_len: self.header_len,
            ct_end: self.ct_end,
        };
        let key = key_for(&l, keys)?;
        let payload = decrypt(self.bytes, self.header_len, self.ct_end, key)?;
        Ok(self.clone().opened(payload))
    }
}

/// Parses and opens in one step, with the same checks and errors as [`Envelope::parse`] followed
/// by [`Envelope::open`]. For large envelopes hashing and decryption run at the same time; the
/// plaintext is released only if the signature verifies (else it is zeroized and dropped).
pub fn open(bytes: &[u8], keys: &Keyring) -> Result<OpenedEnvelope> {
    let l = layout(bytes)?;
    if l.ct_end - l.header_len < PARALLEL_FROM {
        return Envelope::parse(bytes)?.open(keys);
    }
    let key = match key_for(&l, keys) {
        Ok(k) => k,
        Err(e) => {
            // Same error order as `Envelope::open`: a bad signature is reported first.
            Envelope::parse(bytes)?.verify_signature()?;
            return Err(e);
        }
    };
    let (header_len, ct_end) = (l.header_len, l.ct_end);
    let ((digest, id), decrypted) = rayon::join(
        || hashes(bytes, ct_end),
        || decrypt(bytes, header_len, ct_end, key),
    );
    let env = Envelope::from_layout(bytes, l, digest, id);
    env.verify_signature()?;
    Ok(env.opened(decrypted?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (DeviceSecret, EpochKey, Keyring) {
        let author = DeviceSecret::generate().unwrap();
        let key = EpochKey::generate(CaseId([1; 16]), CompartmentId([2; 16])).unwrap();
        let mut ring = Keyring::new(key.case(), key.compartment());
        ring.insert(key.clone()).unwrap();
        (author, key, ring)
    }

    #[test]
    fn round_trip_with_deps() {
        let (author, key, ring) = setup();
        let deps = [ChunkId([5; 32]), ChunkId([6; 32])];
        let sealed = seal(&author, &key, &deps, b"automerge changes").unwrap();
        assert_eq!(sealed.id, ChunkId(*blake3::hash(&sealed.bytes).as_bytes()));
        let env = Envelope::parse(&sealed.bytes).unwrap();
        assert_eq!(env.id, sealed.id);
        assert_eq!(env.deps, deps);
        assert_eq!(env.author, author.device_id());
        let opened = env.open(&ring).unwrap();
        assert_eq!(&opened.payload[..], b"automerge changes");
        assert_eq!(
            (opened.case, opened.compartment, opened.epoch),
            (key.case(), key.compartment(), 0)
        );
        // Empty payloads are fine.
        let empty = seal(&author, &key, &[], b"").unwrap();
        assert!(open(&empty.bytes, &ring).unwrap().payload.is_empty());
        // The same payload sealed twice gives different envelopes (random nonce).
        assert_ne!(
            seal(&author, &key, &[], b"x").unwrap().id,
            seal(&author, &key, &[], b"x").unwrap().id
        );
    }

    #[test]
    fn typed_errors() {
        let (author, key, ring) = setup();
        let sealed = seal(&author, &key, &[], b"noot").unwrap();
        let b = &sealed.bytes;

        assert!(matches!(
            Envelope::parse(&b[..3]),
            Err(CryptoError::Truncated { .. })
        ));
        assert!(matches!(
            Envelope::parse(&b[..b.len() - 1]),
            Err(CryptoError::Truncated { .. })
        ));
        let mut long = b.clone();
        long.push(0);
        assert!(matches!(
            Envelope::parse(&long),
            Err(CryptoError::Malformed { .. })
        ));
        let mut v = b.clone();
        v[4] = 2;
        assert!(matches!(
            Envelope::parse(&v),
            Err(CryptoError::UnsupportedVersion { found: 2, .. })
        ));
        let mut m = b.clone();
        m[0] = b'X';
        assert!(matches!(
            Envelope::parse(&m),
            Err(CryptoError::BadMagic { .. })
        ));
        let mut f = b.clone();
        f[5] = 1;
        assert!(matches!(
            Envelope::parse(&f),
            Err(CryptoError::Malformed { .. })
        ));

        // A flipped ciphertext bit breaks the signature.
        let mut t = b.clone();
        t[110] ^= 1;
        assert!(matches!(
            open(&t, &ring),
            Err(CryptoError::BadSignature { .. })
        ));

        // Another compartment / case / an epoch we do not hold.
        let mut other = Keyring::new(key.case(), CompartmentId([9; 16]));
        other
            .insert(EpochKey::generate(key.case(), CompartmentId([9; 16])).unwrap())
            .unwrap();
        assert!(matches!(
            open(b, &other),
            Err(CryptoError::WrongCompartment { .. })
        ));
        let other = Keyring::new(CaseId([9; 16]), key.compartment());
        assert!(matches!(
            open(b, &other),
            Err(CryptoError::WrongCase { .. })
        ));
        let (k1, _) = key.rotate().unwrap();
        let newer = seal(&author, &k1, &[], b"na rotatie").unwrap();
        assert!(matches!(
            open(&newer.bytes, &ring),
            Err(CryptoError::UnknownEpoch { epoch: 1 })
        ));

        // Correctly signed, but encrypted under a key the reader's ring maps to that epoch
        // differently: the author (or a forger of keys) produced garbage → Tampered.
        let wrong = EpochKey::from_parts(
            key.case(),
            key.compartment(),
            0,
            crate::Secret::new([0; 32]),
        );
        let garbage = seal(&author, &wrong, &[], b"x").unwrap();
        assert!(matches!(
            open(&garbage.bytes, &ring),
            Err(CryptoError::Tampered { .. })
        ));

        // Too many deps / too large payload are refused at sealing time.
        let deps = vec![ChunkId([0; 32]); MAX_DEPS + 1];
        assert!(matches!(
            seal(&author, &key, &deps, b""),
            Err(CryptoError::TooLarge { .. })
        ));
    }

    #[test]
    fn multi_segment_payloads_round_trip_and_lengths_are_checked() {
        let (author, key, ring) = setup();
        for len in [
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            3 * SEGMENT + 5,
            300 * 1024,
            2 * SEGMENT,
        ] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal(&author, &key, &[], &payload).unwrap();
            let env = Envelope::parse(&sealed.bytes).unwrap();
            assert_eq!(
                sealed.bytes.len(),
                env.header_len + ciphertext_len(len) + SIG_LEN
            );
            assert_eq!(
                &env.open(&ring).unwrap().payload[..],
                &payload[..],
                "len {len}"
            );
        }
        assert_eq!(payload_len(16), Some(0));
        assert_eq!(payload_len(SEG_CT), Some(SEGMENT));
        assert_eq!(payload_len(SEG_CT + 16), None);
        assert_eq!(payload_len(SEG_CT + 17), Some(SEGMENT + 1));
        assert_eq!(payload_len(15), None);
        assert_eq!(segment_nonce(&[0u8; 24], 0x0102)[20..], [2, 1, 0, 0]);
        // A segment's ciphertext only opens at its own index and with its own last flag.
        let k = key.envelope_key();
        let mut data = *b"abc";
        let tag = aead::seal_in_place(
            &k,
            &segment_nonce(&[9; 24], 1),
            &segment_aad(b"h", 1, false),
            &mut data,
        )
        .unwrap();
        let mut d = data;
        assert!(
            aead::open_in_place(
                &k,
                &segment_nonce(&[9; 24], 2),
                &segment_aad(b"h", 1, false),
                &mut d,
                &tag
            )
            .is_err()
        );
        let mut d = data;
        assert!(
            aead::open_in_place(
                &k,
                &segment_nonce(&[9; 24], 1),
                &segment_aad(b"h", 1, true),
                &mut d,
                &tag
            )
            .is_err()
        );
        let mut d = data;
        assert!(
            aead::open_in_place(
                &k,
                &segment_nonce(&[9; 24], 1),
                &segment_aad(b"h", 1, false),
                &mut d,
                &tag
            )
            .is_ok()
        );
    }

    #[test]
    fn large_envelopes_take_the_parallel_path_with_the_same_errors() {
        let (author, key, ring) = setup();
        let payload = vec![7u8; 3 * SEGMENT + 1];
        let sealed = seal(&author, &key, &[], &payload).unwrap();
        assert_eq!(
            &open(&sealed.bytes, &ring).unwrap().payload[..],
            &payload[..]
        );
        let mut flipped = sealed.bytes.clone();
        flipped[100_000] ^= 1;
        assert!(matches!(
            open(&flipped, &ring),
            Err(CryptoError::BadSignature { .. })
        ));
        let mut other = Keyring::new(key.case(), CompartmentId([9; 16]));
        other
            .insert(EpochKey::generate(key.case(), CompartmentId([9; 16])).unwrap())
            .unwrap();
        assert!(matches!(
            open(&sealed.bytes, &other),
            Err(CryptoError::WrongCompartment { .. })
        ));
        assert!(matches!(
            open(&flipped, &other),
            Err(CryptoError::BadSignature { .. })
        ));
        let wrong = EpochKey::from_parts(
            key.case(),
            key.compartment(),
            0,
            crate::Secret::new([0; 32]),
        );
        let garbage = seal(&author, &wrong, &[], &payload).unwrap();
        assert!(matches!(
            open(&garbage.bytes, &ring),
            Err(CryptoError::Tampered { .. })
        ));
        let (k1, _) = key.rotate().unwrap();
        let newer = seal(&author, &k1, &[], &payload).unwrap();
        assert!(matches!(
            open(&newer.bytes, &ring),
            Err(CryptoError::UnknownEpoch { epoch: 1 })
        ));
    }

    #[test]
    fn swapped_segments_are_rejected() {
        let (author, key, ring) = setup();
        let payload: Vec<u8> = (0..3 * SEGMENT).map(|i| (i / SEGMENT) as u8).collect();
        let sealed = seal(&author, &key, &[], &payload).unwrap();
        let env = Envelope::parse(&sealed.bytes).unwrap();
        let mut b = sealed.bytes.clone();
        let (a0, a1) = (env.header_len, env.header_len + SEG_CT);
        let first = b[a0..a1].to_vec();
        let second = b[a1..a1 + SEG_CT].to_vec();
        b[a0..a1].copy_from_slice(&second);
        b[a1..a1 + SEG_CT].copy_from_slice(&first);
        assert!(matches!(
            open(&b, &ring),
            Err(CryptoError::BadSignature { .. })
        ));
    }

    #[test]
    fn signature_by_someone_else_is_rejected() {
        let (author, key, ring) = setup();
        let sealed = seal(&author, &key, &[], b"afspraak").unwrap();
        // Replace the author field by another device: the signature no longer matches.
        let mallory = DeviceSecret::generate().unwrap();
        let mut b = sealed.bytes.clone();
        b[42..74].copy_from_slice(&mallory.device_id().0);
        assert!(matches!(
            open(&b, &ring),
            Err(CryptoError::BadSignature { .. })
        ));
        // Re-signing as mallory works only as mallory: authorship is what the signature says.
        let forged = seal(&mallory, &key, &[], b"afspraak").unwrap();
        assert_eq!(
            open(&forged.bytes, &ring).unwrap().author,
            mallory.device_id()
        );
    }
}
