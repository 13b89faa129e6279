//! Offline private-value stores (XEP-0187 §3.1, §3.4, §6.1; DECISIONS D50):
//! one behavioural suite against `MemoryOfflineStore` and `SqliteStore`,
//! then the SQLite store's persistence, encryption and tamper detection, and
//! the schema migration from version 1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use common::{ALICE, BOB, TempDir, key, t0};
use esession_crypto::SecretBytes;
use esession_offline::{Audience, PrivateValue, PublishedOptions};
use esession_store::{
    Error, MemoryOfflineStore, OfflineStore, RetainedSecret, SCHEMA_VERSION, SessionStore,
    SqliteStore,
};
use rusqlite::Connection;

const X_MARKER: &[u8] = b"PRIVATE-X-VALUE-MARKER-abcdefghijklmnop";

fn options(n_a: u8, audience: Audience) -> PublishedOptions {
    PublishedOptions {
        n_a: vec![n_a; 32],
        audience,
        expires: t0() + Duration::from_secs(86_400),
        x: vec![
            PrivateValue {
                group: 14,
                x: SecretBytes::from_slice(X_MARKER),
            },
            PrivateValue {
                group: 5,
                x: SecretBytes::new(vec![n_a; 192]),
            },
        ],
        options_xml: format!("<x xmlns='jabber:x:data' type='form'><field var='n{n_a}'/></x>"),
    }
}

fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

fn d50_suite<S: OfflineStore>(s: &mut S)
where
    S::Error: Debug,
{
    assert_eq!(s.published(&[1; 32]).unwrap(), None);
    assert!(s.published_nonces().unwrap().is_empty());

    let a = options(1, Audience::Subscribers);
    let b = options(2, Audience::Everyone);
    s.save_published(a.clone()).unwrap();
    s.save_published(b.clone()).unwrap();
    assert_eq!(s.published(&a.n_a).unwrap(), Some(a.clone()));
    assert_eq!(s.published(&b.n_a).unwrap(), Some(b.clone()));
    assert_eq!(
        s.published(&b.n_a)
            .unwrap()
            .unwrap()
            .x_for(5)
            .unwrap()
            .as_bytes(),
        &[2; 192]
    );
    assert_eq!(
        sorted(s.published_nonces().unwrap()),
        vec![a.n_a.clone(), b.n_a.clone()]
    );

    // D50: a repeated d or N_B under one N_A is a replay; nothing changes then.
    assert!(s.record_seen(&a.n_a, b"d1", b"nb1").unwrap());
    assert!(!s.record_seen(&a.n_a, b"d1", b"nb2").unwrap());
    assert!(!s.record_seen(&a.n_a, b"d2", b"nb1").unwrap());
    assert!(
        s.record_seen(&a.n_a, b"d2", b"nb2").unwrap(),
        "d2/nb2 were not recorded by the refusals"
    );
    assert!(
        s.record_seen(&b.n_a, b"d1", b"nb1").unwrap(),
        "seen values are per N_A"
    );

    // New options for the subscribers node supersede the old with their seen values.
    let a2 = options(3, Audience::Subscribers);
    s.save_published(a2.clone()).unwrap();
    assert_eq!(s.published(&a.n_a).unwrap(), None);
    assert!(
        s.record_seen(&a.n_a, b"d1", b"nb1").unwrap(),
        "old seen values destroyed"
    );
    assert_eq!(
        s.published(&b.n_a).unwrap(),
        Some(b.clone()),
        "other audience kept"
    );
    assert!(!s.record_seen(&b.n_a, b"d1", b"nb1").unwrap());

    // Removing destroys the record and its seen values; absent is fine.
    s.remove_published(&b.n_a).unwrap();
    s.remove_published(&[9; 32]).unwrap();
    assert_eq!(s.published(&b.n_a).unwrap(), None);
    assert!(s.record_seen(&b.n_a, b"d1", b"nb1").unwrap());
    assert_eq!(sorted(s.published_nonces().unwrap()), vec![a2.n_a.clone()]);
}

#[test]
fn memory_offline_store_follows_d50() {
    d50_suite(&mut MemoryOfflineStore::new());
}

#[test]
fn sqlite_offline_store_follows_d50() {
    let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
    d50_suite(&mut s);
}

#[test]
fn offline_values_persist_encrypted_and_per_account() {
    let dir = TempDir::new("offline");
    let a = options(1, Audience::Subscribers);
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.save_published(a.clone()).unwrap();
        assert!(s.record_seen(&a.n_a, b"d", b"nb").unwrap());
    }
    let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    assert_eq!(s.published(&a.n_a).unwrap(), Some(a.clone()));
    assert!(
        !s.record_seen(&a.n_a, b"d", b"nb").unwrap(),
        "replay refused after restart"
    );
    assert_eq!(s.seen_count(&a.n_a).unwrap(), 2);
    let other = SqliteStore::open(dir.db(), &key(), BOB).unwrap();
    assert_eq!(other.published(&a.n_a).unwrap(), None);
    drop((s, other));
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(
        raw.windows(X_MARKER.len()).all(|w| w != X_MARKER),
        "x stored in clear"
    );
}

#[test]
fn removed_values_are_overwritten_in_the_file() {
    let dir = TempDir::new("offline-rm");
    let a = options(1, Audience::Everyone);
    let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    s.save_published(a.clone()).unwrap();
    let ct: Vec<u8> = Connection::open(dir.db())
        .unwrap()
        .query_row("SELECT ciphertext FROM offline_published", [], |r| r.get(0))
        .unwrap();
    s.remove_published(&a.n_a).unwrap();
    drop(s); // the last connection checkpoints the WAL into the file
    let raw = std::fs::read(dir.db()).unwrap();
    assert!(
        raw.windows(64).all(|w| w != &ct[..64]),
        "secure_delete left the ciphertext"
    );
}

fn tampered(sql: &str) -> Result<Option<PublishedOptions>, Error> {
    let dir = TempDir::new("offline-tamper");
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.save_published(options(1, Audience::Subscribers)).unwrap();
        s.save_published(options(2, Audience::Everyone)).unwrap();
    }
    let conn = Connection::open(dir.db()).unwrap();
    conn.execute_batch(sql).unwrap();
    assert!(conn.total_changes() >= 1, "{sql}");
    drop(conn);
    SqliteStore::open(dir.db(), &key(), ALICE)
        .unwrap()
        .published(&[1; 32])
}

#[test]
fn tampered_offline_rows_are_detected() {
    let one = "n_a = X'0101010101010101010101010101010101010101010101010101010101010101'";
    for sql in [
        format!("UPDATE offline_published SET audience = 1 - audience WHERE {one}"),
        format!("UPDATE offline_published SET expires_secs = expires_secs + 3600 WHERE {one}"),
        format!(
            "UPDATE offline_published SET ciphertext = CAST(X'00' || substr(ciphertext, 2) AS BLOB) WHERE {one}"
        ),
        // Record 2's sealed content moved under record 1's N_A.
        format!(
            "DELETE FROM offline_published WHERE {one}; \
                 UPDATE offline_published SET {one} WHERE audience = 1"
        ),
    ] {
        assert_eq!(
            tampered(&sql),
            Err(Error::Tampered {
                table: "offline_published"
            }),
            "{sql}"
        );
    }
    for sql in [
        format!("UPDATE offline_published SET audience = 7 WHERE {one}"),
        format!("UPDATE offline_published SET slot = X'01' WHERE {one}"),
        format!("UPDATE offline_published SET expires_nanos = -1 WHERE {one}"),
    ] {
        assert!(
            matches!(tampered(&sql), Err(Error::Corrupt { .. })),
            "{sql}"
        );
    }
}

#[test]
fn oversized_arguments_are_refused() {
    let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
    let mut p = options(1, Audience::Everyone);
    p.n_a = vec![1; 513];
    assert!(matches!(
        s.save_published(p),
        Err(Error::InvalidArgument(_))
    ));
    let mut p = options(1, Audience::Everyone);
    p.expires = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
    assert!(matches!(
        s.save_published(p),
        Err(Error::InvalidArgument(_))
    ));
    assert!(
        s.published_nonces().unwrap().is_empty(),
        "nothing half-written"
    );
}

#[test]
fn a_version_1_file_is_migrated_keeping_its_secrets() {
    let dir = TempDir::new("migrate");
    let secret = RetainedSecret {
        verified: true,
        ..RetainedSecret::new(SecretBytes::new(vec![5; 32]), t0())
    };
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.store_secret(BOB, None, secret.clone()).unwrap();
    }
    // Turn the file back into schema version 1 (as an older build wrote it).
    let conn = Connection::open(dir.db()).unwrap();
    conn.execute_batch(
        "BEGIN; DROP TABLE offline_published; DROP TABLE offline_seen; DROP TABLE trusted_key;
         ALTER TABLE retained_secret DROP COLUMN pending;
         ALTER TABLE retained_secret DROP COLUMN replaces_slot;
         PRAGMA user_version = 1; COMMIT;",
    )
    .unwrap();
    drop(conn);
    let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    assert_eq!(SCHEMA_VERSION, 3);
    assert_eq!(s.schema_version().unwrap(), 3);
    assert_eq!(s.secrets(BOB, t0()).unwrap(), vec![secret]);
    s.save_published(options(1, Audience::Everyone)).unwrap();
    assert!(s.published(&[1; 32]).unwrap().is_some());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    /// Any published options round-trip through the SQLite store unchanged.
    #[test]
    fn sqlite_offline_round_trip(
        n_a in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..=64),
        everyone: bool,
        secs in 0u64..4_000_000_000,
        nanos in 0u32..1_000_000_000,
        x in proptest::collection::vec(
            (proptest::prelude::any::<u32>(), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=300)),
            0..=4,
        ),
        options_xml in "\\PC{0,200}",
    ) {
        let p = PublishedOptions {
            n_a,
            audience: if everyone { Audience::Everyone } else { Audience::Subscribers },
            expires: SystemTime::UNIX_EPOCH + Duration::new(secs, nanos),
            x: x.into_iter().map(|(group, x)| PrivateValue { group, x: SecretBytes::new(x) }).collect(),
            options_xml,
        };
        let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
        s.save_published(p.clone()).unwrap();
        proptest::prop_assert_eq!(s.published(&p.n_a).unwrap(), Some(p.clone()));
        proptest::prop_assert_eq!(s.published_nonces().unwrap(), vec![p.n_a.clone()]);
    }
}
