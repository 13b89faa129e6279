//! Property tests: identity blobs round-trip with the right keys and counter, and any
//! single flipped bit in ID or M, a wrong counter or the other direction's keys is
//! rejected before anything is deciphered (XEP-0116 §4.6.2, §4.7.1; DECISIONS D13, D14).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use esession_crypto::cipher::{CipherAlg, blocks_for};
use esession_crypto::hash::HashAlg;
use esession_sigma::counters::{self, Counters};
use esession_sigma::identity::{self, PubKeyPart};
use esession_sigma::keys::{DirectionKeys, Role, SessionKeys};
use esession_sigma::{Error, Profile};
use proptest::prelude::*;

fn cipher() -> impl Strategy<Value = CipherAlg> {
    prop_oneof![
        Just(CipherAlg::Aes128Ctr),
        Just(CipherAlg::Aes256Ctr),
        Just(CipherAlg::Twofish128Ctr),
        Just(CipherAlg::Serpent256Ctr),
    ]
}

fn profile() -> impl Strategy<Value = Profile> {
    prop_oneof![Just(Profile::Xep), Just(Profile::Gajim)]
}

fn hash() -> impl Strategy<Value = HashAlg> {
    prop_oneof![Just(HashAlg::Sha256), Just(HashAlg::Sha512)]
}

fn keys(
    hash: HashAlg,
    cipher: CipherAlg,
    profile: Profile,
    k: &[u8],
    role: Role,
) -> Option<DirectionKeys> {
    // The gajim profile knows only AES (G1).
    DirectionKeys::derive(hash, cipher, profile, k, role).ok()
}

proptest! {
    #[test]
    fn identity_blob_round_trips(
        hash in hash(),
        cipher in cipher(),
        profile in profile(),
        k in proptest::collection::vec(any::<u8>(), 32),
        counter in any::<u128>(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..300),
        initiator in any::<bool>(),
    ) {
        let role = if initiator { Role::Initiator } else { Role::Responder };
        let Some(keys) = keys(hash, cipher, profile, &k, role) else {
            prop_assert_eq!(profile, Profile::Gajim);
            return Ok(());
        };
        let sealed = keys.seal_identity(counter, &plaintext).unwrap();
        prop_assert_eq!(sealed.id.len(), plaintext.len());
        prop_assert_eq!(sealed.blocks, blocks_for(plaintext.len()));
        prop_assert_eq!(sealed.m.len(), hash.output_len());
        let opened = keys.open_identity(counter, &sealed.id, &sealed.m).unwrap();
        prop_assert_eq!(opened.plaintext.as_bytes(), &plaintext[..]);
        prop_assert_eq!(opened.blocks, sealed.blocks);
        if plaintext.len() >= 16 {
            prop_assert_ne!(&sealed.id, &plaintext);
        }
    }

    #[test]
    fn any_single_bit_flip_in_id_or_m_is_rejected(
        profile in profile(),
        k in proptest::collection::vec(any::<u8>(), 32),
        counter in any::<u128>(),
        plaintext in proptest::collection::vec(any::<u8>(), 1..200),
        bit in any::<usize>(),
    ) {
        let keys = keys(HashAlg::Sha256, CipherAlg::Aes128Ctr, profile, &k, Role::Initiator).unwrap();
        let sealed = keys.seal_identity(counter, &plaintext).unwrap();
        let total = (sealed.id.len() + sealed.m.len()) * 8;
        let bit = bit % total;
        let (mut id, mut m) = (sealed.id.clone(), sealed.m.clone());
        if bit < id.len() * 8 {
            id[bit / 8] ^= 1 << (bit % 8);
        } else {
            let b = bit - id.len() * 8;
            m[b / 8] ^= 1 << (b % 8);
        }
        prop_assert_eq!(keys.open_identity(counter, &id, &m), Err(Error::BadMac));
    }

    #[test]
    fn wrong_counter_or_wrong_direction_is_rejected(
        k in proptest::collection::vec(any::<u8>(), 32),
        counter in any::<u128>(),
        delta in 1u128..,
        plaintext in proptest::collection::vec(any::<u8>(), 1..100),
    ) {
        let session = SessionKeys::derive(HashAlg::Sha256, CipherAlg::Aes128Ctr, Profile::Xep, &k).unwrap();
        let sealed = session.initiator().seal_identity(counter, &plaintext).unwrap();
        prop_assert_eq!(
            session.initiator().open_identity(counter.wrapping_add(delta), &sealed.id, &sealed.m),
            Err(Error::BadMac)
        );
        prop_assert_eq!(
            session.responder().open_identity(counter, &sealed.id, &sealed.m),
            Err(Error::BadMac)
        );
    }

    #[test]
    fn mac_identity_check_accepts_only_the_mac(
        mac in proptest::collection::vec(any::<u8>(), 32),
        bit in 0usize..256,
    ) {
        prop_assert_eq!(identity::check_mac_identity(&mac, &mac), Ok(()));
        let mut other = mac.clone();
        other[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(identity::check_mac_identity(&other, &mac), Err(Error::IdentityMismatch));
    }

    #[test]
    fn signed_identity_splits_back(
        modulus in proptest::collection::vec(any::<u8>(), 1..300),
        signature in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let kv = format!(
            "<KeyValue><RSAKeyValue><Modulus>{}</Modulus><Exponent>AQAB</Exponent></RSAKeyValue></KeyValue>",
            esession_crypto::b64::encode(&modulus)
        );
        let pt = identity::signed_identity_plaintext(kv.as_bytes(), &signature);
        let parsed = identity::parse_signed_identity(&pt).unwrap();
        prop_assert_eq!(parsed.pub_key, PubKeyPart::KeyValue(kv.into_bytes()));
        prop_assert_eq!(parsed.signature, signature);
    }

    #[test]
    fn counters_differ_in_the_top_bit_and_advance_modulo_2_128(c_a in any::<u128>(), blocks in any::<u64>()) {
        let c = Counters::from_c_a(c_a);
        prop_assert_eq!(c.c_a ^ c.c_b, 1u128 << 127);
        prop_assert_eq!(Counters::from_c_a(c.c_b).c_b, c_a);
        let after = counters::advance(c_a, u128::from(blocks));
        prop_assert_eq!(after.wrapping_sub(c_a), u128::from(blocks));
    }
}
