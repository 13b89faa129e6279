//! The SQLite store: opening, the schema and its migrations.
//!
//! One database file may hold the stores of several accounts; a
//! [`SqliteStore`] is the view of one account (the "client" of D34's
//! "per contact and client"). All accounts of a file share its key.
//!
//! ## Durability and atomicity
//!
//! The file is opened in WAL mode with `synchronous=FULL`: a write returns
//! only after its transaction is in the write-ahead log and synced. Every
//! operation that changes more than one row (storing a secret while
//! replacing the old one and trimming to the cap, re-sealing a row as
//! verified, a migration) runs in one `BEGIN IMMEDIATE` transaction, so a
//! crash at any point leaves the state before it or after it.
//!
//! ## Schema versions
//!
//! `PRAGMA application_id` marks the file as ours ([`APPLICATION_ID`]);
//! `PRAGMA user_version` holds the schema version. Opening applies the
//! missing migrations in order, each in the same transaction as the version
//! bump; a file with a newer version than [`SCHEMA_VERSION`] is refused with
//! [`Error::UnsupportedSchema`] and left untouched.

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use esession_crypto::SecretBytes;
use esession_online::{RetainedSecret, SessionStore, TrustedKey};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::Error;
use crate::key::{RowCipher, StoreKey, aad};

/// `PRAGMA application_id` of an esession store: "ESES".
pub const APPLICATION_ID: i32 = 0x4553_4553;

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 3;

/// Longest bare JID accepted: three RFC 7622 parts of at most 1023 bytes.
pub(crate) const MAX_JID_LEN: usize = 3071;

/// Migration `n` (0-based) brings a file from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // Version 1: the key check and retained secrets (DECISIONS D34).
    "CREATE TABLE meta (
         name       TEXT PRIMARY KEY,
         nonce      BLOB NOT NULL,
         ciphertext BLOB NOT NULL
     ) STRICT;
     CREATE TABLE retained_secret (
         seq          INTEGER PRIMARY KEY AUTOINCREMENT,
         slot         BLOB    NOT NULL UNIQUE,
         account      TEXT    NOT NULL,
         peer         TEXT    NOT NULL,
         stored_secs  INTEGER NOT NULL,
         stored_nanos INTEGER NOT NULL,
         verified     INTEGER NOT NULL,
         nonce        BLOB    NOT NULL,
         ciphertext   BLOB    NOT NULL
     ) STRICT;
     CREATE INDEX retained_secret_by_peer ON retained_secret (account, peer, seq);",
    // Version 2: Alice's offline private values and seen d/N_B (XEP-0187,
    // DECISIONS D50), and trusted public keys.
    "CREATE TABLE offline_published (
         account       TEXT    NOT NULL,
         n_a           BLOB    NOT NULL,
         audience      INTEGER NOT NULL,
         slot          BLOB    NOT NULL UNIQUE,
         expires_secs  INTEGER NOT NULL,
         expires_nanos INTEGER NOT NULL,
         nonce         BLOB    NOT NULL,
         ciphertext    BLOB    NOT NULL,
         PRIMARY KEY (account, n_a)
     ) STRICT;
     CREATE TABLE offline_seen (
         account TEXT    NOT NULL,
         n_a     BLOB    NOT NULL,
         kind    INTEGER NOT NULL,
         digest  BLOB    NOT NULL,
         PRIMARY KEY (account, n_a, kind, digest)
     ) STRICT;
     CREATE TABLE trusted_key (
         seq        INTEGER PRIMARY KEY AUTOINCREMENT,
         slot       BLOB    NOT NULL UNIQUE,
         account    TEXT    NOT NULL,
         peer       TEXT    NOT NULL,
         key        BLOB    NOT NULL,
         nonce      BLOB    NOT NULL,
         ciphertext BLOB    NOT NULL,
         UNIQUE (account, peer, key)
     ) STRICT;
     CREATE INDEX trusted_key_by_key ON trusted_key (account, key);",
    // Version 3: Bob's new retained secret is pending until Alice proves she
    // accepted msg4, beside the secret it is to replace (DECISIONS D37).
    "ALTER TABLE retained_secret ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE retained_secret ADD COLUMN replaces_slot BLOB;",
];

/// The plaintext of the key-check record.
const KEY_CHECK: &[u8] = b"esession-store key check";

/// An SQLite-backed store for one account, with every secret encrypted
/// under a [`StoreKey`], on one connection.
///
/// It implements the protocol crates' store traits,
/// [`esession_online::SessionStore`] (retained secrets and trusted keys) and
/// [`esession_offline::OfflineStore`] (Alice's offline values); every method
/// reports a failure as [`Error`], and a failed write is rolled back.
pub struct SqliteStore {
    pub(crate) conn: Connection,
    pub(crate) cipher: RowCipher,
    pub(crate) account: String,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("account", &self.account)
            .field("path", &self.conn.path())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store file at `path` for `account`
    /// (a bare JID), migrating an older schema and checking the key.
    pub fn open(path: impl AsRef<Path>, key: &StoreKey, account: &str) -> Result<Self, Error> {
        let conn = Connection::open(path)?;
        Self::with_connection(conn, key, account)
    }

    /// A store in a private in-memory database (for tests).
    pub fn open_in_memory(key: &StoreKey, account: &str) -> Result<Self, Error> {
        let conn = Connection::open_in_memory()?;
        Self::with_connection(conn, key, account)
    }

    fn with_connection(mut conn: Connection, key: &StoreKey, account: &str) -> Result<Self, Error> {
        check_jid(account)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // Refuse foreign or newer files before changing anything in them.
        let app_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        if app_id != APPLICATION_ID && (app_id != 0 || tables != 0) {
            return Err(Error::NotAStore);
        }
        let version = user_version(&conn)?;
        if version > SCHEMA_VERSION {
            return Err(Error::UnsupportedSchema {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        // journal_mode answers with the resulting mode; in-memory databases
        // answer "memory", which is fine.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )?;
        let cipher = RowCipher::new(key);
        migrate(&mut conn)?;
        check_key(&mut conn, &cipher)?;
        Ok(Self {
            conn,
            cipher,
            account: account.to_owned(),
        })
    }

    /// The account this view belongs to.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The schema version of the open file (always [`SCHEMA_VERSION`] after
    /// a successful open).
    pub fn schema_version(&self) -> Result<u32, Error> {
        user_version(&self.conn)
    }
}

fn user_version(conn: &Connection) -> Result<u32, Error> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    u32::try_from(v).map_err(|_| Error::NotAStore)
}

/// Brings the schema to [`SCHEMA_VERSION`], one transaction per step.
fn migrate(conn: &mut Connection) -> Result<(), Error> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let app_id: i32 = tx.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version = user_version(&tx)?;
        if app_id == 0 {
            let tables: i64 =
                tx.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
            if tables != 0 || version != 0 {
                return Err(Error::NotAStore);
            }
            tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))?;
        } else if app_id != APPLICATION_ID {
            return Err(Error::NotAStore);
        }
        if version > SCHEMA_VERSION {
            return Err(Error::UnsupportedSchema {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version == SCHEMA_VERSION {
            tx.commit()?;
            return Ok(());
        }
        let step = MIGRATIONS
            .get(version as usize)
            .ok_or(Error::UnsupportedSchema {
                found: version,
                supported: SCHEMA_VERSION,
            })?;
        tx.execute_batch(step)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", version + 1))?;
        tx.commit()?;
    }
}

/// Creates the key-check record on a new file, or verifies it.
fn check_key(conn: &mut Connection, cipher: &RowCipher) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ad = aad(&[b"meta", b"key_check"]);
    let row: Option<(Vec<u8>, Vec<u8>)> = tx
        .query_row(
            "SELECT nonce, ciphertext FROM meta WHERE name = 'key_check'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        Some((nonce, ct)) => {
            let pt = cipher
                .open("meta", &ad, &nonce, &ct)
                .map_err(|_| Error::WrongKey)?;
            if pt.as_slice() != KEY_CHECK {
                return Err(Error::WrongKey);
            }
        }
        None => {
            let sealed = cipher.seal(&ad, KEY_CHECK)?;
            tx.execute(
                "INSERT INTO meta (name, nonce, ciphertext) VALUES ('key_check', ?1, ?2)",
                params![sealed.nonce, sealed.ciphertext],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn check_jid(jid: &str) -> Result<(), Error> {
    if jid.is_empty() || jid.len() > MAX_JID_LEN {
        return Err(Error::InvalidArgument(
            "JID empty or longer than 3071 bytes",
        ));
    }
    Ok(())
}

/// A time as (seconds, nanoseconds) since the Unix epoch, for a column.
pub(crate) fn time_to_columns(t: SystemTime) -> Result<(i64, i64), Error> {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| Error::InvalidArgument("time before 1970"))?;
    let secs =
        i64::try_from(d.as_secs()).map_err(|_| Error::InvalidArgument("time too far ahead"))?;
    Ok((secs, i64::from(d.subsec_nanos())))
}

/// The inverse of [`time_to_columns`], checking the range of disk values.
pub(crate) fn time_from_columns(
    table: &'static str,
    secs: i64,
    nanos: i64,
) -> Result<SystemTime, Error> {
    let bad = Error::Corrupt {
        table,
        what: "timestamp out of range",
    };
    let secs = u64::try_from(secs).map_err(|_| bad.clone())?;
    let nanos = u32::try_from(nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or(bad.clone())?;
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::new(secs, nanos))
        .ok_or(bad)
}

/// Retained secrets ([`crate::retained`]) and trusted keys ([`crate::trust`]).
impl SessionStore for SqliteStore {
    type Error = Error;

    fn secrets(&self, peer: &str, now: SystemTime) -> Result<Vec<RetainedSecret>, Error> {
        self.read_secrets(peer, now)
    }

    fn other_secrets(
        &self,
        peer: &str,
        now: SystemTime,
    ) -> Result<Vec<(String, RetainedSecret)>, Error> {
        self.read_other_secrets(peer, now)
    }

    fn store_secret(
        &mut self,
        peer: &str,
        replaces: Option<(&str, &SecretBytes)>,
        new: RetainedSecret,
    ) -> Result<(), Error> {
        self.write_secret(peer, replaces, &new)
    }

    fn secret_proven(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Error> {
        self.prove_secret(peer, secret)
    }

    fn discard_secret(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Error> {
        self.delete_secret(peer, secret)
    }

    fn mark_verified(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Error> {
        self.verify_secret(peer, secret)
    }

    fn trusted_keys(&self, jid: &str) -> Result<Vec<TrustedKey>, Error> {
        self.read_trusted(jid)
    }

    fn jids_trusting(&self, key: &[u8]) -> Result<Vec<String>, Error> {
        self.read_jids_trusting(key)
    }

    fn trust_key(&mut self, jid: &str, key: TrustedKey) -> Result<(), Error> {
        self.write_trusted(jid, &key.key, &key.petname)
    }

    fn forget_key(&mut self, jid: &str, key: &[u8]) -> Result<(), Error> {
        self.delete_trusted(jid, key)
    }
}
