//! Trusted keys in SQLite (XEP-0116 §8.5): petnames, lookups both ways,
//! persistence, tamper detection, bounds; the same trait serves the offline
//! layer (XEP-0187 §3.2, §3.4).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::{ALICE, BOB, CAROL, TempDir, key};
use esession_crypto::sign::{SignAlg, SigningKey};
use esession_store::{Error, MemoryStore, SessionStore, SqliteStore, TrustedKey};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rusqlite::Connection;

fn rsa_key_bytes(seed: u64) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let sk = SigningKey::generate(SignAlg::RsaSha256, &mut rng).unwrap();
    esession_wire::key_bytes(&sk.verifying_key()).unwrap()
}

fn tk(key: &[u8], petname: &str) -> TrustedKey {
    TrustedKey {
        key: key.to_vec(),
        petname: petname.to_owned(),
    }
}

/// XEP-0116 §8.5 through the trait: keys per JID in trust order, JIDs per
/// key, renaming, forgetting.
fn trust_suite<S: SessionStore>(s: &mut S) {
    assert!(s.trusted_keys(BOB).unwrap().is_empty());
    assert!(s.jids_trusting(b"k1").unwrap().is_empty());
    s.trust_key(BOB, tk(b"k1", "Bob's laptop")).unwrap();
    s.trust_key(BOB, tk(b"k2", "Bob's phone")).unwrap();
    s.trust_key(CAROL, tk(b"k1", "shared")).unwrap();
    assert_eq!(
        s.trusted_keys(BOB).unwrap(),
        vec![tk(b"k1", "Bob's laptop"), tk(b"k2", "Bob's phone")]
    );
    assert_eq!(
        s.jids_trusting(b"k1").unwrap(),
        vec![BOB.to_owned(), CAROL.to_owned()]
    );
    s.trust_key(BOB, tk(b"k1", "Bob (work)")).unwrap();
    assert_eq!(
        s.trusted_keys(BOB).unwrap(),
        vec![tk(b"k2", "Bob's phone"), tk(b"k1", "Bob (work)")]
    );
    s.forget_key(BOB, b"k1").unwrap();
    s.forget_key(BOB, b"unknown").unwrap();
    assert_eq!(s.trusted_keys(BOB).unwrap(), vec![tk(b"k2", "Bob's phone")]);
    assert_eq!(s.jids_trusting(b"k1").unwrap(), vec![CAROL.to_owned()]);
}

#[test]
fn memory_trust_store_follows_8_5() {
    trust_suite(&mut MemoryStore::new());
}

#[test]
fn sqlite_trust_store_follows_8_5() {
    let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
    trust_suite(&mut s);
}

#[test]
fn trusted_keys_round_trip_with_petnames() {
    let dir = TempDir::new("trust");
    let k1 = rsa_key_bytes(1);
    let k2 = b"<KeyValue>not parsed by the store</KeyValue>".to_vec();
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.trust_key(BOB, tk(&k1, "Bob's laptop")).unwrap();
        s.trust_key(BOB, tk(&k2, "Bob's phone")).unwrap();
        s.trust_key(CAROL, tk(&k1, "shared key")).unwrap();
        s.trust_key(BOB, tk(&k1, "Bob (work)")).unwrap(); // renamed, moves to the end
    }
    let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    assert_eq!(
        s.trusted_keys(BOB).unwrap(),
        vec![tk(&k2, "Bob's phone"), tk(&k1, "Bob (work)")]
    );
    let mut jids = s.jids_trusting(&k1).unwrap();
    jids.sort();
    assert_eq!(jids, vec![BOB.to_owned(), CAROL.to_owned()]);
    s.forget_key(BOB, &k1).unwrap();
    assert_eq!(s.jids_trusting(&k1).unwrap(), vec![CAROL.to_owned()]);
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
fn forged_trust_is_detected() {
    let dir = TempDir::new("trust-tamper");
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.trust_key(BOB, tk(b"bob-key", "Bob")).unwrap();
        s.trust_key(CAROL, tk(b"carol-key", "Carol")).unwrap();
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
    for (jid, key, petname) in [
        (BOB, vec![], "empty key".to_owned()),
        (BOB, vec![1; 16 * 1024 + 1], "x".to_owned()),
        (BOB, b"k".to_vec(), "p".repeat(1025)),
        ("", b"k".to_vec(), "p".to_owned()),
    ] {
        assert!(matches!(
            s.trust_key(jid, tk(&key, &petname)),
            Err(Error::InvalidArgument(_))
        ));
    }
    assert!(s.trusted_keys(BOB).unwrap().is_empty());
}
