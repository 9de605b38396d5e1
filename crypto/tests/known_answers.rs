//! Known-answer tests through MDO's own crypto API: RFC 8439 (ChaCha20-Poly1305), RFC 7748
//! (X25519), RFC 8032 (Ed25519), RFC 9180 (HPKE base mode, our key-wrapping suite) and the
//! Project Wycheproof files for ChaCha20-Poly1305, XChaCha20-Poly1305 and X25519.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mdo_crypto::identity::{x25519_agree, x25519_public};
use mdo_crypto::wrap::{
    hpke_base_exporter_with_ikm, hpke_base_open, hpke_base_receiver_export, hpke_base_seal_with_ikm,
};
use mdo_crypto::{CryptoError, DeviceId, DeviceSecret, DeviceSeed, Secret, aead};
use serde_json::Value;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}
fn h32(s: &str) -> [u8; 32] {
    h(s).try_into().unwrap()
}
/// A vector file, built into the test binary: a binary reused from another checkout of the same
/// sources (a shared target directory) must not look for files at the path it was built from.
fn load(name: &str) -> Value {
    let text = match name {
        "rfc9180_a21_x25519_sha256_chacha20poly1305_base.json" => {
            include_str!("vectors/rfc9180_a21_x25519_sha256_chacha20poly1305_base.json")
        }
        "wycheproof/x25519_test.json" => include_str!("vectors/wycheproof/x25519_test.json"),
        "wycheproof/chacha20_poly1305_test.json" => {
            include_str!("vectors/wycheproof/chacha20_poly1305_test.json")
        }
        "wycheproof/xchacha20_poly1305_test.json" => {
            include_str!("vectors/wycheproof/xchacha20_poly1305_test.json")
        }
        other => panic!("no vector file {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// RFC 8439 §2.8.2: AEAD_CHACHA20_POLY1305 example.
#[test]
fn rfc8439_aead_example() {
    let key = Secret::new(h32(
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    ));
    let nonce = h("070000004041424344454647");
    let aad = h("50515253c0c1c2c3c4c5c6c7");
    let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let expected_ct = h(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
        3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
        92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
        3ff4def08e4b7a9de576d26586cec64b6116",
    );
    let expected_tag = h("1ae10b594f09e26a7e902ecbd0600691");
    let out = aead::seal(&key, &nonce, &aad, pt).unwrap();
    assert_eq!(&out[..pt.len()], &expected_ct[..]);
    assert_eq!(&out[pt.len()..], &expected_tag[..]);
    assert_eq!(&aead::open(&key, &nonce, &aad, &out).unwrap()[..], &pt[..]);
}

/// RFC 7748 §5.2 (scalar multiplication) and §6.1 (Diffie-Hellman).
#[test]
fn rfc7748_x25519() {
    let cases = [
        (
            "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
            "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
        ),
        (
            "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
            "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
        ),
    ];
    for (k, u, out) in cases {
        assert_eq!(
            x25519_agree(&Secret::new(h32(k)), &h32(u))
                .unwrap()
                .expose(),
            &h32(out)
        );
    }

    // §5.2 iterated: k = u = 9, k' = X25519(k, u), u = old k.
    let mut k = [0u8; 32];
    k[0] = 9;
    let mut u = k;
    for i in 1..=1000 {
        let next = *x25519_agree(&Secret::new(k), &u).unwrap().expose();
        u = k;
        k = next;
        if i == 1 {
            assert_eq!(
                k,
                h32("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
            );
        }
    }
    assert_eq!(
        k,
        h32("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")
    );

    // §6.1
    let a = Secret::new(h32(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    ));
    let b = Secret::new(h32(
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    ));
    let a_pub = h32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    let b_pub = h32("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    assert_eq!(x25519_public(&a), a_pub);
    assert_eq!(x25519_public(&b), b_pub);
    let k = h32("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    assert_eq!(x25519_agree(&a, &b_pub).unwrap().expose(), &k);
    assert_eq!(x25519_agree(&b, &a_pub).unwrap().expose(), &k);
}

/// RFC 8032 §7.1, tests 1–3: the device seed is the Ed25519 secret key, so a device built from
/// the RFC's secret has the RFC's public key as its id and produces the RFC's signatures.
#[test]
fn rfc8032_ed25519() {
    let cases = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];
    for (sk, pk, msg, sig) in cases {
        let dev = DeviceSecret::from_seed(DeviceSeed::from_secret(Secret::new(h32(sk))));
        assert_eq!(dev.device_id(), DeviceId(h32(pk)));
        let msg = h(msg);
        let expected: [u8; 64] = h(sig).try_into().unwrap();
        assert_eq!(dev.sign_raw(&msg), expected);
        dev.device_id().verify_raw(&msg, &expected).unwrap();
        let mut bad = expected;
        bad[63] ^= 0x40;
        assert!(matches!(
            dev.device_id().verify_raw(&msg, &bad),
            Err(CryptoError::BadSignature { .. })
        ));
    }
}

/// RFC 9180 Appendix A.2.1 — our key-wrapping suite, base mode, sequence number 0 (single shot).
#[test]
fn rfc9180_hpke_base_x25519_chacha20poly1305() {
    let v = load("rfc9180_a21_x25519_sha256_chacha20poly1305_base.json");
    let s = |k: &str| h(v[k].as_str().unwrap());
    assert_eq!(
        (
            v["mode"].as_u64(),
            v["kem_id"].as_u64(),
            v["kdf_id"].as_u64(),
            v["aead_id"].as_u64()
        ),
        (Some(0), Some(32), Some(1), Some(3))
    );
    let sk_r = Secret::new(s("skRm").try_into().unwrap());
    let pk_r: [u8; 32] = s("pkRm").try_into().unwrap();
    assert_eq!(x25519_public(&sk_r), pk_r);
    let ikm_e: [u8; 32] = s("ikmE").try_into().unwrap();
    let e = &v["encryptions"][0];
    assert_eq!(e["sequence_number"].as_u64(), Some(0));
    let pt = h(e["pt"].as_str().unwrap());
    let aad = h(e["aad"].as_str().unwrap());
    let ct = h(e["ct"].as_str().unwrap());

    let (enc, out) = hpke_base_seal_with_ikm(&pk_r, &s("info"), &aad, &pt, &ikm_e).unwrap();
    assert_eq!(enc.to_vec(), s("enc"));
    assert_eq!(out, ct);
    let opened = hpke_base_open(&sk_r, &enc, &s("info"), &aad, &ct).unwrap();
    assert_eq!(&opened[..], &pt[..]);
    // Any other aad or info fails.
    assert_eq!(
        hpke_base_open(&sk_r, &enc, &s("info"), b"Count-1", &ct).unwrap_err(),
        CryptoError::UnwrapFailed
    );
    assert_eq!(
        hpke_base_open(&sk_r, &enc, b"other", &aad, &ct).unwrap_err(),
        CryptoError::UnwrapFailed
    );
}

/// RFC 9180 Appendix A.2.1 — the exporter of our key-wrapping suite (what wrapped keys version 2
/// derive each bundle's key from, `wrap_groups`), on both sides.
#[test]
fn rfc9180_hpke_base_exporter_x25519_chacha20poly1305() {
    let v = load("rfc9180_a21_x25519_sha256_chacha20poly1305_base.json");
    let s = |k: &str| h(v[k].as_str().unwrap());
    let sk_r = Secret::new(s("skRm").try_into().unwrap());
    let pk_r: [u8; 32] = s("pkRm").try_into().unwrap();
    let ikm_e: [u8; 32] = s("ikmE").try_into().unwrap();
    let exporter = hpke_base_exporter_with_ikm(&pk_r, &s("info"), &ikm_e).unwrap();
    assert_eq!(exporter.enc().to_vec(), s("enc"));
    let exports = v["exports"].as_array().unwrap();
    assert_eq!(exports.len(), 3);
    for e in exports {
        assert_eq!(e["L"].as_u64(), Some(32));
        let context = h(e["exporter_context"].as_str().unwrap());
        let want = h(e["exported_value"].as_str().unwrap());
        assert_eq!(exporter.export(&context).unwrap().expose().to_vec(), want);
        let got = hpke_base_receiver_export(&sk_r, &exporter.enc(), &s("info"), &context).unwrap();
        assert_eq!(got.expose().to_vec(), want);
    }
    // Another info: another secret.
    let other = hpke_base_receiver_export(&sk_r, &exporter.enc(), b"other", b"").unwrap();
    assert_ne!(
        other.expose().to_vec(),
        h(exports[0]["exported_value"].as_str().unwrap())
    );
}

struct Tally {
    valid: usize,
    invalid: usize,
    acceptable: usize,
}

fn wycheproof_aead(file: &str, nonce_len: usize) -> Tally {
    let v = load(file);
    let mut t = Tally {
        valid: 0,
        invalid: 0,
        acceptable: 0,
    };
    for g in v["testGroups"].as_array().unwrap() {
        assert_eq!(
            g["keySize"].as_u64(),
            Some(256),
            "{file}: only 256-bit keys expected"
        );
        assert_eq!(g["tagSize"].as_u64(), Some(128));
        for c in g["tests"].as_array().unwrap() {
            let id = c["tcId"].as_u64().unwrap();
            let key = Secret::new(h(c["key"].as_str().unwrap()).try_into().unwrap());
            let iv = h(c["iv"].as_str().unwrap());
            let aad = h(c["aad"].as_str().unwrap());
            let msg = h(c["msg"].as_str().unwrap());
            let mut ct = h(c["ct"].as_str().unwrap());
            ct.extend(h(c["tag"].as_str().unwrap()));
            let opened = aead::open(&key, &iv, &aad, &ct);
            match c["result"].as_str().unwrap() {
                "valid" => {
                    assert_eq!(iv.len(), nonce_len, "{file} #{id}");
                    assert_eq!(
                        aead::seal(&key, &iv, &aad, &msg).unwrap(),
                        ct,
                        "{file} #{id} seal"
                    );
                    assert_eq!(&opened.unwrap()[..], &msg[..], "{file} #{id} open");
                    t.valid += 1;
                }
                "invalid" => {
                    assert!(opened.is_err(), "{file} #{id} ({}) accepted", c["comment"]);
                    t.invalid += 1;
                }
                _ => {
                    if let Ok(p) = opened {
                        assert_eq!(&p[..], &msg[..], "{file} #{id}");
                    }
                    t.acceptable += 1;
                }
            }
        }
    }
    t
}

#[test]
fn wycheproof_chacha20_poly1305() {
    let t = wycheproof_aead("wycheproof/chacha20_poly1305_test.json", 12);
    assert!(
        t.valid > 200 && t.invalid > 50,
        "valid {} invalid {} acceptable {}",
        t.valid,
        t.invalid,
        t.acceptable
    );
}

#[test]
fn wycheproof_xchacha20_poly1305() {
    let t = wycheproof_aead("wycheproof/xchacha20_poly1305_test.json", 24);
    assert!(
        t.valid > 200 && t.invalid > 50,
        "valid {} invalid {} acceptable {}",
        t.valid,
        t.invalid,
        t.acceptable
    );
}

#[test]
fn wycheproof_x25519() {
    let v = load("wycheproof/x25519_test.json");
    let (mut checked, mut rejected_zero) = (0, 0);
    for g in v["testGroups"].as_array().unwrap() {
        assert_eq!(g["curve"].as_str(), Some("curve25519"));
        for c in g["tests"].as_array().unwrap() {
            let id = c["tcId"].as_u64().unwrap();
            let sk = Secret::new(h32(c["private"].as_str().unwrap()));
            let pk = h32(c["public"].as_str().unwrap());
            let shared = h32(c["shared"].as_str().unwrap());
            let result = c["result"].as_str().unwrap();
            match x25519_agree(&sk, &pk) {
                Ok(s) => {
                    assert_ne!(result, "invalid", "#{id}");
                    assert_eq!(s.expose(), &shared, "#{id}");
                    checked += 1;
                }
                Err(CryptoError::NonContributory) => {
                    // MDO refuses low-order peers; Wycheproof marks those "acceptable".
                    assert_eq!(shared, [0u8; 32], "#{id}");
                    assert_ne!(result, "valid", "#{id}");
                    rejected_zero += 1;
                }
                Err(e) => panic!("#{id}: unexpected {e}"),
            }
        }
    }
    assert!(checked > 450, "{checked}");
    assert!(rejected_zero > 20, "{rejected_zero}");
}
