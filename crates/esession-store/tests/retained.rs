//! Retained-secret stores: one behavioural suite run against `MemoryStore`
//! and `SqliteStore` (DECISIONS D34, O7), then the SQLite store's own
//! guarantees: persistence, encryption at rest, tamper and wrong-key
//! detection, schema versions, error reporting through the infallible trait.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::time::{Duration, SystemTime};

use common::{ALICE, BOB, CAROL, TempDir, key, other_key, t0};
use esession_crypto::SecretBytes;
use esession_online::{MAX_SECRETS_PER_PEER, SECRET_LIFETIME};
use esession_store::{
    APPLICATION_ID, Error, MemoryStore, RetainedSecret, SCHEMA_VERSION, SessionStore, SqliteStore,
};
use proptest::prelude::*;
use rusqlite::{Connection, params};

fn rs(b: u8, at: SystemTime, verified: bool) -> RetainedSecret {
    RetainedSecret {
        verified,
        ..RetainedSecret::new(SecretBytes::new(vec![b; 32]), at)
    }
}

fn bytes(list: &[RetainedSecret]) -> Vec<u8> {
    list.iter().map(|s| s.secret.as_bytes()[0]).collect()
}

/// D34: most recent first, at most 8 per contact, expiry after 365 days,
/// replacement across JIDs (extended search), O7's verified flag.
fn d34_suite<S: SessionStore>(s: &mut S) {
    let t = t0();
    assert!(s.secrets(BOB, t).unwrap().is_empty());
    for i in 1..=10u8 {
        s.store_secret(
            BOB,
            None,
            rs(i, t + Duration::from_secs(u64::from(i)), false),
        )
        .unwrap();
    }
    let held = s.secrets(BOB, t).unwrap();
    assert_eq!(held.len(), MAX_SECRETS_PER_PEER);
    assert_eq!(bytes(&held), vec![10, 9, 8, 7, 6, 5, 4, 3]);
    assert_eq!(held[0].stored_at, t + Duration::from_secs(10));
    assert!(held.iter().all(|h| !h.verified));

    // Expiry: secret i was stored at t+i and lives exactly SECRET_LIFETIME.
    let at = t + SECRET_LIFETIME + Duration::from_secs(5);
    assert_eq!(bytes(&s.secrets(BOB, at).unwrap()), vec![10, 9, 8, 7, 6]);
    assert!(
        s.secrets(BOB, t + SECRET_LIFETIME + Duration::from_secs(10))
            .unwrap()
            .is_empty()
    );

    // Replacing an SRS held for another JID moves it (D34, O7).
    s.store_secret(CAROL, None, rs(20, t, true)).unwrap();
    s.store_secret(CAROL, None, rs(21, t, false)).unwrap();
    let others = s.other_secrets(BOB, t).unwrap();
    assert_eq!(others.len(), 2);
    assert!(others.iter().all(|(p, _)| p == CAROL));
    assert_eq!(others[0].1.secret.as_bytes(), &[21; 32]);
    assert!(others[1].1.verified);
    assert_eq!(s.other_secrets(CAROL, t).unwrap().len(), 8);
    s.store_secret(
        BOB,
        Some((CAROL, &SecretBytes::new(vec![20; 32]))),
        rs(30, t, true),
    )
    .unwrap();
    assert_eq!(bytes(&s.secrets(CAROL, t).unwrap()), vec![21]);
    assert_eq!(
        bytes(&s.secrets(BOB, t).unwrap()),
        vec![30, 10, 9, 8, 7, 6, 5, 4]
    );
    assert!(s.secrets(BOB, t).unwrap()[0].verified);

    // Replacing within the same JID and marking verified later.
    s.store_secret(
        BOB,
        Some((BOB, &SecretBytes::new(vec![9; 32]))),
        rs(31, t, false),
    )
    .unwrap();
    assert_eq!(
        bytes(&s.secrets(BOB, t).unwrap()),
        vec![31, 30, 10, 8, 7, 6, 5, 4]
    );
    s.mark_verified(BOB, &SecretBytes::new(vec![31; 32]))
        .unwrap();
    s.mark_verified(BOB, &SecretBytes::new(vec![99; 32])) // unknown: no effect
        .unwrap();
    let held = s.secrets(BOB, t).unwrap();
    assert!(held[0].verified && held[1].verified && !held[2].verified);
    assert_eq!(held[0].stored_at, t, "verification keeps the storage time");
    // A replacement that matches nothing just adds.
    s.store_secret(
        CAROL,
        Some((CAROL, &SecretBytes::new(vec![77; 32]))),
        rs(22, t, false),
    )
    .unwrap();
    assert_eq!(bytes(&s.secrets(CAROL, t).unwrap()), vec![22, 21]);
}

#[test]
fn memory_store_follows_d34() {
    d34_suite(&mut MemoryStore::new());
}

#[test]
fn sqlite_store_follows_d34() {
    let dir = TempDir::new("d34");
    let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    d34_suite(&mut s);
}

#[test]
fn sqlite_in_memory_follows_d34() {
    let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
    d34_suite(&mut s);
}

#[test]
fn secrets_survive_reopening_and_accounts_are_separate() {
    let dir = TempDir::new("reopen");
    let t = t0();
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.store_secret(BOB, None, rs(1, t, false)).unwrap();
        s.store_secret(BOB, None, rs(2, t, true)).unwrap();
        let mut other = SqliteStore::open(dir.db(), &key(), "alice@work.example").unwrap();
        other.store_secret(BOB, None, rs(3, t, false)).unwrap();
    }
    let s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    let held = s.secrets(BOB, t).unwrap();
    assert_eq!(held, vec![rs(2, t, true), rs(1, t, false)]);
    assert_eq!(s.other_secrets(CAROL, t).unwrap().len(), 2);
    let other = SqliteStore::open(dir.db(), &key(), "alice@work.example").unwrap();
    assert_eq!(other.secrets(BOB, t).unwrap(), vec![rs(3, t, false)]);
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn purge_deletes_expired_rows_only() {
    let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
    let t = t0();
    s.store_secret(BOB, None, rs(1, t, false)).unwrap();
    s.store_secret(BOB, None, rs(2, t + Duration::from_secs(1), false))
        .unwrap();
    assert_eq!(
        s.purge_expired(t + SECRET_LIFETIME - Duration::from_nanos(1))
            .unwrap(),
        0
    );
    assert_eq!(s.purge_expired(t + SECRET_LIFETIME).unwrap(), 1);
    assert_eq!(s.len_for(BOB).unwrap(), 1);
    assert_eq!(bytes(&s.secrets(BOB, t).unwrap()), vec![2]);
}

#[test]
fn secrets_are_not_stored_in_clear() {
    let dir = TempDir::new("clear");
    let marker = b"RETAINED-SECRET-MARKER-0123456789";
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        let secret = RetainedSecret::new(SecretBytes::from_slice(marker), t0());
        s.store_secret(BOB, None, secret.clone()).unwrap();
        // Also through the verify path, which re-seals.
        s.mark_verified(BOB, &SecretBytes::from_slice(marker))
            .unwrap();
    }
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(raw.windows(marker.len()).all(|w| w != marker));
    assert!(
        raw.windows(BOB.len()).any(|w| w == BOB.as_bytes()),
        "metadata is clear"
    );
}

/// Applies `sql` to the raw file, then returns what reading Bob's secrets gives.
fn after_raw_edit(sql: &str) -> Result<Vec<RetainedSecret>, Error> {
    let dir = TempDir::new("tamper");
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.store_secret(BOB, None, rs(1, t0(), false)).unwrap();
        s.store_secret(CAROL, None, rs(2, t0(), false)).unwrap();
    }
    let conn = Connection::open(dir.db()).unwrap();
    assert!(conn.execute(sql, []).unwrap() >= 1, "{sql}");
    drop(conn);
    let s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    s.secrets(BOB, t0())
}

#[test]
fn tampered_rows_are_detected() {
    let tampered = Err(Error::Tampered {
        table: "retained_secret",
    });
    let bob = "peer = 'bob@example.com'";
    for sql in [
        // A flipped bit in the ciphertext, the tag or the nonce.
        format!("UPDATE retained_secret SET ciphertext = CAST(X'00' || substr(ciphertext, 2) AS BLOB) WHERE {bob}"),
        format!("UPDATE retained_secret SET ciphertext = CAST(substr(ciphertext, 1, 40) || X'0000000000000000' AS BLOB) WHERE {bob}"),
        format!("UPDATE retained_secret SET nonce = X'000102030405060708090a0b0c0d0e0f1011121314151617' WHERE {bob}"),
        // Authenticated metadata: the verified flag, the storage time, the slot.
        format!("UPDATE retained_secret SET verified = 1 WHERE {bob}"),
        format!("UPDATE retained_secret SET stored_secs = stored_secs + 86400 WHERE {bob}"),
        format!("UPDATE retained_secret SET stored_nanos = 0 WHERE {bob}"),
        format!("UPDATE retained_secret SET slot = X'00000000000000000000000000000000' WHERE {bob}"),
        // Carol's row moved to Bob (and Bob's away).
        "UPDATE retained_secret SET peer = CASE peer WHEN 'bob@example.com' THEN 'x@y' ELSE 'bob@example.com' END".to_owned(),
        // Carol's ciphertext copied into Bob's row.
        format!("UPDATE retained_secret SET (nonce, ciphertext) = (SELECT nonce, ciphertext FROM retained_secret WHERE peer = 'carol@example.net') WHERE {bob}"),
        // A row of another account relabelled as ours.
        format!("UPDATE retained_secret SET account = 'mallory@example.org' WHERE {bob}"),
    ] {
        let got = after_raw_edit(&sql);
        if sql.contains("mallory") {
            // The row is no longer ours: invisible, not an error.
            assert_eq!(got, Ok(vec![]), "{sql}");
        } else {
            assert_eq!(got, tampered, "{sql}");
        }
    }
    // Wrong types or ranges are typed errors, never panics.
    for sql in [
        format!("UPDATE retained_secret SET verified = 2 WHERE {bob}"),
        format!("UPDATE retained_secret SET stored_nanos = 1000000000 WHERE {bob}"),
        format!("UPDATE retained_secret SET stored_secs = -1 WHERE {bob}"),
        format!("UPDATE retained_secret SET nonce = X'00' WHERE {bob}"),
        format!("UPDATE retained_secret SET ciphertext = X'00' WHERE {bob}"),
        format!("UPDATE retained_secret SET ciphertext = zeroblob(2000) WHERE {bob}"),
        format!("UPDATE retained_secret SET slot = X'00' WHERE {bob}"),
    ] {
        assert!(
            matches!(after_raw_edit(&sql), Err(Error::Corrupt { .. })),
            "{sql}"
        );
    }
}

#[test]
fn trait_methods_report_errors() {
    let dir = TempDir::new("trait-err");
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.store_secret(BOB, None, rs(1, t0(), false)).unwrap();
    }
    let conn = Connection::open(dir.db()).unwrap();
    conn.execute("UPDATE retained_secret SET verified = 1", [])
        .unwrap();
    drop(conn);
    let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    let tampered = Err(Error::Tampered {
        table: "retained_secret",
    });
    assert_eq!(s.secrets(BOB, t0()).map(|_| ()), tampered);
    // A write that must read the tampered row fails whole: nothing is added.
    assert_eq!(
        s.store_secret(
            CAROL,
            Some((BOB, &SecretBytes::new(vec![1; 32]))),
            rs(2, t0(), false),
        ),
        tampered
    );
    assert_eq!(s.len_for(CAROL).unwrap(), 0);
    // Arguments out of range.
    assert!(matches!(
        s.store_secret(
            CAROL,
            None,
            rs(3, SystemTime::UNIX_EPOCH - Duration::from_secs(1), false),
        ),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        s.store_secret("", None, rs(3, t0(), false)),
        Err(Error::InvalidArgument(_))
    ));
    let long = RetainedSecret::new(SecretBytes::new(vec![0; 1025]), t0());
    assert!(matches!(
        s.store_secret(CAROL, None, long.clone()),
        Err(Error::InvalidArgument(_))
    ));
}

/// D37 on disk: a pending secret beside the one it is to replace, settled
/// by proof of either, or discarded; the flags survive reopening and are
/// authenticated.
#[test]
fn pending_secrets_are_settled_and_survive_reopening() {
    let dir = TempDir::new("pending");
    let t = t0();
    let (old, new) = (SecretBytes::new(vec![1; 32]), SecretBytes::new(vec![2; 32]));
    let pending = RetainedSecret {
        pending: true,
        ..rs(2, t, false)
    };
    {
        let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        s.store_secret(BOB, None, rs(1, t, true)).unwrap();
        s.store_secret(BOB, Some((BOB, &old)), pending.clone())
            .unwrap();
    }
    let mut s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    let held = s.secrets(BOB, t).unwrap();
    assert_eq!(bytes(&held), vec![2, 1]);
    assert!(held[0].pending && !held[1].pending && held[1].verified);
    // Marking the pending one verified keeps it pending (and its link).
    s.mark_verified(BOB, &new).unwrap();
    assert!(s.secrets(BOB, t).unwrap()[0].pending);
    // The pending row's flags are authenticated like the rest.
    {
        let conn = Connection::open(dir.db()).unwrap();
        let f = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        conn.execute(
            "UPDATE retained_secret SET pending = 0 WHERE pending = 1",
            [],
        )
        .unwrap();
        assert_eq!(
            f.secrets(BOB, t).map(|_| ()),
            Err(Error::Tampered {
                table: "retained_secret"
            })
        );
        conn.execute(
            "UPDATE retained_secret SET pending = 1 WHERE replaces_slot IS NOT NULL",
            [],
        )
        .unwrap();
        f.secrets(BOB, t).unwrap();
    }
    // Proof of the new secret: it replaces the old one.
    s.secret_proven(BOB, &new).unwrap();
    let held = s.secrets(BOB, t).unwrap();
    assert_eq!(bytes(&held), vec![2]);
    assert!(!held[0].pending && held[0].verified);

    // Proof of the old secret instead: the pending one goes.
    let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
    s.store_secret(BOB, None, rs(1, t, false)).unwrap();
    s.store_secret(BOB, Some((BOB, &old)), pending.clone())
        .unwrap();
    s.secret_proven(BOB, &old).unwrap();
    assert_eq!(bytes(&s.secrets(BOB, t).unwrap()), vec![1]);
    // An error answering msg4: the pending one is discarded.
    s.store_secret(BOB, Some((BOB, &old)), pending).unwrap();
    s.discard_secret(BOB, &new).unwrap();
    assert_eq!(bytes(&s.secrets(BOB, t).unwrap()), vec![1]);
    assert!(!s.secrets(BOB, t).unwrap()[0].pending);
}

#[test]
fn wrong_key_is_detected_on_open() {
    let dir = TempDir::new("wrong-key");
    SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    assert_eq!(
        SqliteStore::open(dir.db(), &other_key(), ALICE).err(),
        Some(Error::WrongKey)
    );
    // A tampered key-check record reads as a wrong key too.
    let conn = Connection::open(dir.db()).unwrap();
    conn.execute(
        "UPDATE meta SET ciphertext = CAST(X'00' || substr(ciphertext, 2) AS BLOB)",
        [],
    )
    .unwrap();
    drop(conn);
    assert_eq!(
        SqliteStore::open(dir.db(), &key(), ALICE).err(),
        Some(Error::WrongKey)
    );
}

#[test]
fn schema_version_is_checked_and_newer_files_are_left_alone() {
    let dir = TempDir::new("schema");
    let s = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    drop(s);
    let conn = Connection::open(dir.db()).unwrap();
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app_id, APPLICATION_ID);
    conn.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
        .unwrap();
    drop(conn);
    let before = std::fs::read(dir.db()).unwrap();
    assert_eq!(
        SqliteStore::open(dir.db(), &key(), ALICE).err(),
        Some(Error::UnsupportedSchema {
            found: SCHEMA_VERSION + 1,
            supported: SCHEMA_VERSION
        })
    );
    assert_eq!(
        std::fs::read(dir.db()).unwrap(),
        before,
        "refused file unchanged"
    );
}

#[test]
fn foreign_databases_are_refused() {
    let dir = TempDir::new("foreign");
    let conn = Connection::open(dir.db()).unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    drop(conn);
    assert_eq!(
        SqliteStore::open(dir.db(), &key(), ALICE).err(),
        Some(Error::NotAStore)
    );
    let other = dir.path().join("other.sqlite");
    let conn = Connection::open(&other).unwrap();
    conn.execute_batch("PRAGMA application_id = 7").unwrap();
    drop(conn);
    assert_eq!(
        SqliteStore::open(&other, &key(), ALICE).err(),
        Some(Error::NotAStore)
    );
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, vec![0x55; 4096]).unwrap();
    assert!(matches!(
        SqliteStore::open(&junk, &key(), ALICE),
        Err(Error::Sqlite(_))
    ));
}

#[test]
fn debug_never_prints_secrets() {
    let s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
    let text = format!("{s:?} {:?} {:?}", key(), rs(0xab, t0(), false));
    assert!(text.contains(ALICE));
    assert!(!text.contains("171") && !text.contains("ab, ab") && !text.contains("0x42"));
    assert!(!text.contains("66, 66"), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any secret, time and flag round-trips through the SQLite store, and
    /// one flipped bit anywhere in the stored ciphertext or nonce is detected.
    #[test]
    fn sqlite_round_trip_and_bit_flips(
        secret in proptest::collection::vec(any::<u8>(), 0..=64),
        secs in 0u64..4_000_000_000,
        nanos in 0u32..1_000_000_000,
        verified: bool,
        peer in "[a-z]{1,12}@[a-z]{1,12}\\.example",
        flip in any::<prop::sample::Index>(),
    ) {
        let mut s = SqliteStore::open_in_memory(&key(), ALICE).unwrap();
        let at = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        let new = RetainedSecret { verified, ..RetainedSecret::new(SecretBytes::new(secret), at) };
        s.store_secret(&peer, None, new.clone()).unwrap();
        prop_assert_eq!(s.secrets(&peer, at).unwrap(), vec![new]);

        // Flip one bit of nonce || ciphertext through a second connection
        // is impossible for a private in-memory database, so go through a file.
        let dir = TempDir::new("prop");
        let mut f = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        let again = s.secrets(&peer, at).unwrap().remove(0);
        f.store_secret(&peer, None, again.clone()).unwrap();
        drop(f);
        let conn = Connection::open(dir.db()).unwrap();
        let (nonce, ct): (Vec<u8>, Vec<u8>) = conn
            .query_row("SELECT nonce, ciphertext FROM retained_secret", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        let mut all = [nonce, ct].concat();
        let bit = flip.index(all.len() * 8);
        all[bit / 8] ^= 1 << (bit % 8);
        conn.execute("UPDATE retained_secret SET nonce = ?1, ciphertext = ?2",
                     params![&all[..24], &all[24..]]).unwrap();
        drop(conn);
        let f = SqliteStore::open(dir.db(), &key(), ALICE).unwrap();
        prop_assert_eq!(f.secrets(&peer, at), Err(Error::Tampered { table: "retained_secret" }));
    }
}
