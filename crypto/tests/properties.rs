//! Property tests: envelope round trips for random payloads and headers; any single flipped bit
//! in an envelope, a wrapped key or an epoch link is rejected; rotation chains unlock history for
//! current readers only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mdo_crypto::envelope::{self, Envelope};
use mdo_crypto::{
    CaseId, ChunkId, CompartmentId, DeviceSecret, DeviceSeed, EpochKey, EpochLink, Keyring, Secret,
    WrappedKeys, wrap_keys,
};
use proptest::prelude::*;

fn device(seed: [u8; 32]) -> DeviceSecret {
    DeviceSecret::from_seed(DeviceSeed::from_secret(Secret::new(seed)))
}

fn key_at(case: [u8; 16], comp: [u8; 16], epoch: u32, k: [u8; 32]) -> (EpochKey, Keyring) {
    let key = EpochKey::from_parts(CaseId(case), CompartmentId(comp), epoch, Secret::new(k));
    let mut ring = Keyring::new(key.case(), key.compartment());
    ring.insert(key.clone()).unwrap();
    (key, ring)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn envelope_round_trip(
        seed in any::<[u8; 32]>(),
        case in any::<[u8; 16]>(),
        comp in any::<[u8; 16]>(),
        epoch in any::<u32>(),
        k in any::<[u8; 32]>(),
        deps in prop::collection::vec(any::<[u8; 32]>(), 0..6),
        payload in prop::collection::vec(any::<u8>(), 0..3000),
    ) {
        let author = device(seed);
        let (key, ring) = key_at(case, comp, epoch, k);
        let deps: Vec<ChunkId> = deps.into_iter().map(ChunkId).collect();
        let sealed = envelope::seal(&author, &key, &deps, &payload).unwrap();
        let env = Envelope::parse(&sealed.bytes).unwrap();
        prop_assert_eq!(env.id, sealed.id);
        prop_assert_eq!(env.epoch, epoch);
        prop_assert_eq!(&env.deps, &deps);
        let opened = env.open(&ring).unwrap();
        prop_assert_eq!(&opened.payload[..], &payload[..]);
        prop_assert_eq!(opened.author, author.device_id());
    }

    #[test]
    fn any_flipped_bit_in_an_envelope_is_rejected(
        seed in any::<[u8; 32]>(),
        k in any::<[u8; 32]>(),
        ndeps in 0usize..3,
        payload in prop::collection::vec(any::<u8>(), 0..600),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let author = device(seed);
        let (key, ring) = key_at([1; 16], [2; 16], 5, k);
        let deps = vec![ChunkId([9; 32]); ndeps];
        let mut bytes = envelope::seal(&author, &key, &deps, &payload).unwrap().bytes;
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(envelope::open(&bytes, &ring).is_err(), "flip at {}/{} accepted", i, bit);
    }

    #[test]
    fn truncations_and_extensions_are_rejected(
        payload in prop::collection::vec(any::<u8>(), 0..300),
        cut in any::<prop::sample::Index>(),
        extra in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let author = device([4; 32]);
        let (key, ring) = key_at([1; 16], [2; 16], 0, [3; 32]);
        let bytes = envelope::seal(&author, &key, &[], &payload).unwrap().bytes;
        let n = cut.index(bytes.len());
        prop_assert!(envelope::open(&bytes[..n], &ring).is_err());
        let mut longer = bytes.clone();
        longer.extend(extra);
        prop_assert!(envelope::open(&longer, &ring).is_err());
    }

    #[test]
    fn any_flipped_bit_in_wrapped_keys_is_rejected(
        seed in any::<[u8; 32]>(),
        ks in prop::collection::vec(any::<[u8; 32]>(), 1..5),
        epoch in any::<u32>(),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let me = device(seed);
        let keys: Vec<EpochKey> = ks.iter().enumerate()
            .map(|(i, k)| key_at([1; 16], [i as u8; 16], epoch, *k).0)
            .collect();
        let refs: Vec<&EpochKey> = keys.iter().collect();
        let mut bytes = wrap_keys(&refs, me.public_identity()).unwrap().to_bytes();
        prop_assert_eq!(WrappedKeys::from_bytes(&bytes).unwrap().unwrap(&me).unwrap(), keys);
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let res = WrappedKeys::from_bytes(&bytes).and_then(|w| w.unwrap(&me));
        prop_assert!(res.is_err());
    }

    #[test]
    fn any_flipped_bit_in_an_epoch_link_is_rejected(
        pos in 0usize..mdo_crypto::epoch::LINK_LEN,
        bit in 0u8..8,
    ) {
        let (k0, _) = key_at([1; 16], [2; 16], 0, [3; 32]);
        let (k1, link) = k0.rotate().unwrap();
        let mut bytes = link.to_bytes();
        bytes[pos] ^= 1 << bit;
        prop_assert!(EpochLink::from_bytes(&bytes).and_then(|l| l.open(&k1)).is_err());
    }

    #[test]
    fn rotation_chain_reaches_exactly_the_current_readers(rotations in 1usize..8, removed_after in 0usize..8) {
        // A reader who stopped receiving keys after epoch `last_seen` can open envelopes of
        // epochs ≤ last_seen only; a reader who got the newest key opens every epoch.
        let author = device([5; 32]);
        let (k0, _) = key_at([1; 16], [2; 16], 0, [3; 32]);
        let mut keys = vec![k0];
        let mut links = Vec::new();
        for _ in 0..rotations {
            let (next, link) = keys.last().unwrap().rotate().unwrap();
            keys.push(next);
            links.push(link);
        }
        let last_seen = removed_after.min(rotations);
        let envelopes: Vec<_> = keys.iter().map(|k| envelope::seal(&author, k, &[], b"x").unwrap()).collect();

        let mut current = Keyring::new(CaseId([1; 16]), CompartmentId([2; 16]));
        current.insert(keys.last().unwrap().clone()).unwrap();
        let logged = |e: u32| keys.get(e as usize).map(|k| k.commitment());
        current.absorb_links(&links, logged).unwrap();
        let mut removed = Keyring::new(CaseId([1; 16]), CompartmentId([2; 16]));
        removed.insert(keys[last_seen].clone()).unwrap();
        removed.absorb_links(&links, logged).unwrap();

        for (epoch, env) in envelopes.iter().enumerate() {
            prop_assert!(envelope::open(&env.bytes, &current).is_ok());
            prop_assert_eq!(envelope::open(&env.bytes, &removed).is_ok(), epoch <= last_seen);
        }
    }
}
