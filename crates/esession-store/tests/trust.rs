//! Trusted keys in SQLite (XEP-0116 §8.5): petnames, lookups both ways,
//! persistence, tamper detection, and XEP-0187's `TrustedKeys` view.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::{ALICE, BOB, CAROL, TempDir, key};
use esession_crypto::sign::{SignAlg, SigningKey};
use esession_offline::key_value_bytes;
use esession_store::trust::StoredKey;
use esession_store::{Error, MemoryTrustStore, SqliteStore, TrustStore, TrustedKey, TrustedKeys};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rusqlite::Connection;

fn rsa_key_bytes(seed: u64) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let sk = SigningKey::generate(SignAlg::RsaSha256, &mut rng).unwrap();
    key_value_bytes(&sk.verifying_key()).unwrap()
}

fn stored(peer: &str, key: &[u8], petname: &str) -> StoredKey {
    StoredKey {
        peer: peer.to_owned(),
        key: key.to_vec(),
        petname: petname.to_owned(),
    }
}

fn tk(key: &[u8], petname: &str) -> TrustedKey {
    TrustedKey {
        key: key.to_vec(),
        petname: petname.to_owned(),
    }
}

/// XEP-0116 §8.5 through the online layer's trait: keys per JID in trust
/// order, JIDs per key, renaming, forgetting.
fn trust_suite(s: &mut impl TrustStore) {
    assert!(TrustStore::keys_for(s, BOB).is_empty());
    assert!(s.jids_for(b"k1").is_empty());
    s.trust(BOB, tk(b"k1", "Bob's laptop"));
    s.trust(BOB, tk(b"k2", "Bob's phone"));
    s.trust(CAROL, tk(b"k1", "shared"));
    assert_eq!(
        TrustStore::keys_for(s, BOB),
        vec![tk(b"k1", "Bob's laptop"), tk(b"k2", "Bob's phone")]
    );
    assert_eq!(s.jids_for(b"k1"), vec![BOB.to_owned(), CAROL.to_owned()]);
    s.trust(BOB, tk(b"k1", "Bob (work)"));
    assert_eq!(
        TrustStore::keys_for(s, BOB),
        vec![tk(b"k2", "Bob's phone"), tk(b"k1", "Bob (work)")]
    );
    s.forget(BOB, b"k1");
    s.forget(BOB, b"unknown");
    assert_eq!(TrustStore::keys_for(s, BOB), vec![tk(b"k2", "Bob's phone")]);
    assert_eq!(s.jids_for(b"k1"), vec![CAROL.to_owned()]);
}

#[test]
fn memory_trust_store_follows_8_5() {
    trust_suite(&mut MemoryTrustStore::new());
}

#[test]
fn sqlite_trust_store_follows_8_5() {
    let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
    trust_suite(&mut s);
    assert_eq!(s.take_error(), None);
}

#[test]
fn trusted_keys_round_trip_with_petnames() {
    let dir = TempDir::new("trust");
    let k1 = rsa_key_bytes(1);
    let k2 = b"<KeyValue>not parsed by the store</KeyValue>".to_vec();
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.trust_key(BOB, &k1, "Bob's laptop").unwrap();
        s.trust_key(BOB, &k2, "Bob's phone").unwrap();
        s.trust_key(CAROL, &k1, "shared key").unwrap();
        s.trust_key(BOB, &k1, "Bob (work)").unwrap(); // renamed, moves to the end
    }
    let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    assert_eq!(
        s.trusted_keys(BOB).unwrap(),
        vec![
            stored(BOB, &k2, "Bob's phone"),
            stored(BOB, &k1, "Bob (work)")
        ]
    );
    let mut jids = s.contacts_trusting(&k1).unwrap();
    jids.sort();
    assert_eq!(jids, vec![BOB.to_owned(), CAROL.to_owned()]);
    s.forget_key(BOB, &k1).unwrap();
    assert_eq!(s.contacts_trusting(&k1).unwrap(), vec![CAROL.to_owned()]);
    assert!(
        SqliteStore::open(dir.db(), &key(), "other@example.org")
            .unwrap()
            .trusted_keys(CAROL)
            .unwrap()
            .is_empty()
    );
    // Petnames are encrypted.
    drop(s);
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(raw.windows(10).all(|w| w != b"shared key"));
}

#[test]
fn offline_trusted_keys_view_parses_d28_bytes() {
    let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
    let k1 = rsa_key_bytes(2);
    s.trust_key(BOB, &k1, "Bob").unwrap();
    let keys = TrustedKeys::keys_for(&s, BOB);
    assert_eq!(keys.len(), 1);
    assert_eq!(key_value_bytes(&keys[0]).unwrap(), k1);
    assert!(TrustedKeys::keys_for(&s, CAROL).is_empty());
    assert_eq!(s.take_error(), None);
    // A stored key that is not a D28 KeyValue gives no keys and an error.
    s.trust_key(CAROL, b"junk", "junk").unwrap();
    assert!(TrustedKeys::keys_for(&s, CAROL).is_empty());
    assert!(matches!(
        s.take_error(),
        Some(Error::Corrupt {
            table: "trusted_key",
            ..
        })
    ));
}

#[test]
fn forged_trust_is_detected() {
    let dir = TempDir::new("trust-tamper");
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.trust_key(BOB, b"bob-key", "Bob").unwrap();
        s.trust_key(CAROL, b"carol-key", "Carol").unwrap();
    }
    for sql in [
        "UPDATE trusted_key SET key = CAST('mallory-key' AS BLOB) WHERE peer = 'bob@example.com'",
        "UPDATE trusted_key SET peer = 'bob@example.com' WHERE peer = 'carol@example.net'",
        "UPDATE trusted_key SET ciphertext = CAST(X'00' || substr(ciphertext, 2) AS BLOB) WHERE peer = 'bob@example.com'",
    ] {
        let copy = dir.path().join("copy.sqlite");
        let _ = std::fs::remove_file(&copy);
        Connection::open(dir.db())
            .unwrap()
            .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
            .unwrap();
        Connection::open(&copy).unwrap().execute(sql, []).unwrap();
        let s = SqliteStore::open(&copy, &key(), ALICE).unwrap();
        assert_eq!(
            s.trusted_keys(BOB),
            Err(Error::Tampered {
                table: "trusted_key"
            }),
            "{sql}"
        );
    }
}

#[test]
fn trust_arguments_are_bounded() {
    let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
    s.trust(BOB, tk(b"", "empty key"));
    assert!(matches!(s.take_error(), Some(Error::InvalidArgument(_))));
    assert!(TrustStore::keys_for(&s, BOB).is_empty());
    assert!(matches!(
        s.trust_key(BOB, b"", "x"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        s.trust_key(BOB, &vec![1; 16 * 1024 + 1], "x"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        s.trust_key(BOB, b"k", &"p".repeat(1025)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        s.trust_key("", b"k", "p"),
        Err(Error::InvalidArgument(_))
    ));
}
