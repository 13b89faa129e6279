//! The providers agree byte for byte (feature `openssl`): the OpenSSL
//! provider against RustCrypto on the same inputs, for every MODP group,
//! cipher, hash and HMAC, and RSA signatures (deterministic); DSA and ECDSA
//! signatures are randomized, so each provider verifies the other's, and both
//! refuse the same tampered ones. The crypto-bigint fixed-width and boxed
//! forms are checked against each other too.
#![cfg(feature = "openssl")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::sync::OnceLock;

use esession_crypto::cipher::{CipherAlg, CtrKey};
use esession_crypto::dh::ModpGroup;
use esession_crypto::hash::HashAlg;
use esession_crypto::provider::{CryptoProvider, OPENSSL, RUST_CRYPTO, rust_crypto};
use esession_crypto::sign::{SignAlg, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn bytes(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

#[test]
fn modp_exponentiation_agrees_in_every_group() {
    let mut r = rng(1);
    for group in ModpGroup::ALL {
        let p = group.prime();
        // Exponent sizes: the rfc3526 width and, up to group 15, the full width.
        let mut widths = vec![group.rfc3526_exponent_bits()];
        if group.bits() <= 3072 {
            widths.push(group.bits());
        }
        for bits in widths {
            let mut x = bytes(&mut r, (bits / 8) as usize);
            x[0] |= 0x80;
            if x.len() == p.len() {
                x[0] &= 0x7f; // below p
            }
            let mut base = bytes(&mut r, p.len());
            base[0] &= 0x7f;
            for b in [&base[..], &[2u8][..]] {
                let a = RUST_CRYPTO.modp_pow(group, b, &x, bits).unwrap();
                let o = OPENSSL.modp_pow(group, b, &x, bits).unwrap();
                let f = rust_crypto::modp_pow_fixed(group, b, &x, bits).unwrap();
                assert_eq!(a, o, "group {} {bits} bits", group.number());
                assert_eq!(a, f, "fixed form, group {} {bits} bits", group.number());
                assert_eq!(a.len(), p.len());
            }
        }
    }
}

#[test]
fn every_cipher_agrees_including_counter_wrap() {
    let mut r = rng(2);
    for alg in CipherAlg::ALL {
        let key = CtrKey::new(alg, &bytes(&mut r, alg.key_len())).unwrap();
        for (counter, len) in [
            (0u128, 0usize),
            (1, 1),
            (7, 15),
            (u128::MAX, 33),
            (u128::MAX - 3, 200),
            (u128::from(u32::MAX), 100),
            (u128::from(u64::MAX) - 1, 64),
            (1 << 121, 16 * 1024 + 5),
        ] {
            let data = bytes(&mut r, len);
            let mut a = data.clone();
            let mut o = data.clone();
            let na = key
                .apply_keystream_with(&RUST_CRYPTO, counter, &mut a)
                .unwrap();
            let no = key.apply_keystream_with(&OPENSSL, counter, &mut o).unwrap();
            assert_eq!(na, no);
            assert_eq!(a, o, "{} counter {counter:#x} len {len}", alg.name());
        }
    }
}

#[test]
fn every_hash_and_hmac_agrees() {
    let mut r = rng(3);
    for alg in HashAlg::ALL {
        for len in [0usize, 1, 55, 64, 65, 1000, 16 * 1024] {
            let data = bytes(&mut r, len);
            let (x, y) = data.split_at(len / 3);
            let parts: [&[u8]; 3] = [x, b"", y];
            assert_eq!(
                RUST_CRYPTO.digest(alg, &parts).as_bytes(),
                OPENSSL.digest(alg, &parts).as_bytes(),
                "{} {len}",
                alg.name()
            );
            for key_len in [0usize, 16, 32, 200] {
                let key = bytes(&mut r, key_len);
                let a = RUST_CRYPTO.hmac(alg, &key, &parts);
                let o = OPENSSL.hmac(alg, &key, &parts);
                assert_eq!(a.as_bytes(), o.as_bytes(), "HMAC {} {len}", alg.name());
                assert_eq!(a.as_bytes().len(), alg.output_len());
            }
        }
    }
}

fn key(alg: SignAlg) -> &'static SigningKey {
    static KEYS: [OnceLock<SigningKey>; 3] = [const { OnceLock::new() }; 3];
    let i = SignAlg::ALL.iter().position(|a| *a == alg).unwrap();
    KEYS[i].get_or_init(|| SigningKey::generate(alg, &mut rng(10 + i as u64)).unwrap())
}

#[test]
fn rsa_signatures_are_identical_and_every_signature_cross_verifies() {
    for alg in SignAlg::ALL {
        let sk = key(alg);
        let vk = sk.verifying_key();
        for msg in [&b""[..], &[0x5a; 32][..], &[7; 200][..]] {
            let a = sk.sign_with(&RUST_CRYPTO, msg, &mut rng(4)).unwrap();
            let o = sk.sign_with(&OPENSSL, msg, &mut rng(5)).unwrap();
            assert_eq!(a.len(), vk.signature_len());
            assert_eq!(o.len(), vk.signature_len());
            if alg == SignAlg::RsaSha256 {
                assert_eq!(a, o, "RSA PKCS#1 v1.5 is deterministic");
            }
            for sig in [&a, &o] {
                for provider in [&RUST_CRYPTO as &dyn CryptoProvider, &OPENSSL] {
                    assert_eq!(vk.verify_with(provider, msg, sig), Ok(()), "{alg:?}");
                    let mut bad = sig.clone();
                    bad[sig.len() / 2] ^= 0x10;
                    assert!(vk.verify_with(provider, msg, &bad).is_err(), "{alg:?}");
                    assert!(vk.verify_with(provider, b"other", sig).is_err());
                    assert!(vk.verify_with(provider, msg, &sig[1..]).is_err());
                }
            }
        }
    }
}

/// Zero and out-of-range r or s are refused by both providers alike.
#[test]
fn both_providers_refuse_degenerate_dsa_and_ecdsa_signatures() {
    for alg in [SignAlg::DsaSha256, SignAlg::EcdsaSha256] {
        let vk = key(alg).verifying_key();
        let len = vk.signature_len();
        for sig in [vec![0u8; len], vec![0xff; len], {
            let mut v = vec![0u8; len];
            v[len / 2 - 1] = 1;
            v
        }] {
            for provider in [&RUST_CRYPTO as &dyn CryptoProvider, &OPENSSL] {
                assert!(vk.verify_with(provider, &[1; 32], &sig).is_err());
            }
        }
    }
}
