//! Retained secrets in SQLite (XEP-0116 §4.6.4, §4.8.1; DECISIONS D34, O7).
//!
//! Table `retained_secret`, one row per secret:
//!
//! | column | clear? | meaning |
//! |---|---|---|
//! | `seq` | clear | insertion order; "most recent first" is `seq` descending |
//! | `slot` | clear | 16 random bytes naming the row in its associated data |
//! | `account`, `peer` | clear | bare JIDs of the account and the contact |
//! | `stored_secs`, `stored_nanos` | clear | when it was stored (Unix time) |
//! | `verified` | clear | 1 once the chain was SAS-verified (O7) |
//! | `nonce`, `ciphertext` | — | XChaCha20-Poly1305 of the secret |
//!
//! The associated data is `("retained_secret", account, peer, slot,
//! stored_secs, stored_nanos, verified)`, so the clear columns are
//! authenticated: a row moved to another contact, an extended lifetime or a
//! forged `verified` flag fails with [`Error::Tampered`]. Marking a secret
//! verified re-seals its row with a new nonce.
//!
//! Storing runs in one transaction: remove the replaced SRS (wherever it is
//! held, D34's extended search), insert the new row, and delete all but the
//! [`MAX_SECRETS_PER_PEER`] newest rows of the contact.

use std::time::SystemTime;

use esession_crypto::SecretBytes;
use esession_online::{MAX_SECRETS_PER_PEER, RetainedSecret, RetainedSecretStore, SECRET_LIFETIME};
use rand::TryRng;
use rand::rngs::SysRng;
use rusqlite::{Connection, TransactionBehavior, params};
use subtle::ConstantTimeEq;

use crate::Error;
use crate::key::{RowCipher, TAG_LEN, aad};
use crate::sqlite::{SqliteStore, check_jid, time_from_columns, time_to_columns};

const TABLE: &str = "retained_secret";
/// Longest secret accepted (the longest HMAC output, SHA-512, is 64 bytes;
/// this leaves room without letting a row grow unbounded).
pub const MAX_SECRET_LEN: usize = 1024;
const SLOT_LEN: usize = 16;

/// One row as read from disk, not yet decrypted.
struct Row {
    seq: i64,
    slot: Vec<u8>,
    peer: String,
    stored_secs: i64,
    stored_nanos: i64,
    verified: i64,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl Row {
    fn stored_at(&self) -> Result<SystemTime, Error> {
        time_from_columns(TABLE, self.stored_secs, self.stored_nanos)
    }

    fn verified(&self) -> Result<bool, Error> {
        match self.verified {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::Corrupt {
                table: TABLE,
                what: "verified is not 0 or 1",
            }),
        }
    }

    /// Decrypts and authenticates the row.
    fn open(&self, cipher: &RowCipher, account: &str) -> Result<RetainedSecret, Error> {
        if self.slot.len() != SLOT_LEN {
            return Err(Error::Corrupt {
                table: TABLE,
                what: "slot length",
            });
        }
        if self.ciphertext.len() > MAX_SECRET_LEN + TAG_LEN {
            return Err(Error::Corrupt {
                table: TABLE,
                what: "ciphertext too long",
            });
        }
        let stored_at = self.stored_at()?;
        let verified = self.verified()?;
        let ad = row_aad(
            account,
            &self.peer,
            &self.slot,
            self.stored_secs,
            self.stored_nanos,
            verified,
        );
        let secret = cipher.open(TABLE, &ad, &self.nonce, &self.ciphertext)?;
        Ok(RetainedSecret {
            secret: SecretBytes::from_slice(&secret),
            stored_at,
            verified,
        })
    }
}

fn row_aad(
    account: &str,
    peer: &str,
    slot: &[u8],
    secs: i64,
    nanos: i64,
    verified: bool,
) -> Vec<u8> {
    aad(&[
        TABLE.as_bytes(),
        account.as_bytes(),
        peer.as_bytes(),
        slot,
        &secs.to_be_bytes(),
        &nanos.to_be_bytes(),
        &[u8::from(verified)],
    ])
}

const SELECT: &str =
    "SELECT seq, slot, peer, stored_secs, stored_nanos, verified, nonce, ciphertext
                      FROM retained_secret";

fn read_rows(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<Row>, Error> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE {filter} ORDER BY seq DESC"))?;
    let rows = stmt.query_map(args, |r| {
        Ok(Row {
            seq: r.get(0)?,
            slot: r.get(1)?,
            peer: r.get(2)?,
            stored_secs: r.get(3)?,
            stored_nanos: r.get(4)?,
            verified: r.get(5)?,
            nonce: r.get(6)?,
            ciphertext: r.get(7)?,
        })
    })?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(|e| match e {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => Error::Corrupt {
                table: TABLE,
                what: "column of the wrong type",
            },
            other => Error::from(other),
        })?);
    }
    Ok(out)
}

/// Whether a row's metadata says it has expired (D34); such rows are not
/// decrypted.
fn live(row: &Row, now: SystemTime) -> Result<bool, Error> {
    let stored_at = row.stored_at()?;
    Ok(!now
        .duration_since(stored_at)
        .is_ok_and(|age| age >= SECRET_LIFETIME))
}

impl SqliteStore {
    /// The non-expired secrets held for `peer`, most recent first.
    pub fn try_secrets(&self, peer: &str, now: SystemTime) -> Result<Vec<RetainedSecret>, Error> {
        let rows = read_rows(
            &self.conn,
            "account = ?1 AND peer = ?2",
            params![self.account, peer],
        )?;
        let mut out = Vec::new();
        for row in rows {
            if live(&row, now)? {
                out.push(row.open(&self.cipher, &self.account)?);
            }
        }
        Ok(out)
    }

    /// The non-expired secrets held for every other contact (D34's extended
    /// search), grouped by contact, each contact's most recent first.
    pub fn try_other_secrets(
        &self,
        peer: &str,
        now: SystemTime,
    ) -> Result<Vec<(String, RetainedSecret)>, Error> {
        let mut rows = read_rows(
            &self.conn,
            "account = ?1 AND peer <> ?2",
            params![self.account, peer],
        )?;
        rows.sort_by(|a, b| a.peer.cmp(&b.peer).then(b.seq.cmp(&a.seq)));
        let mut out = Vec::new();
        for row in rows {
            if live(&row, now)? {
                let secret = row.open(&self.cipher, &self.account)?;
                out.push((row.peer, secret));
            }
        }
        Ok(out)
    }

    /// Stores `new` for `peer`, removing the replaced SRS `replaces` (held
    /// for `replaces.0`) and keeping at most [`MAX_SECRETS_PER_PEER`]
    /// secrets for `peer`, all in one transaction.
    pub fn try_store(
        &mut self,
        peer: &str,
        replaces: Option<(&str, &SecretBytes)>,
        new: &RetainedSecret,
    ) -> Result<(), Error> {
        check_jid(peer)?;
        if new.secret.len() > MAX_SECRET_LEN {
            return Err(Error::InvalidArgument(
                "retained secret longer than 1024 bytes",
            ));
        }
        let (secs, nanos) = time_to_columns(new.stored_at)?;
        let mut slot = [0u8; SLOT_LEN];
        SysRng
            .try_fill_bytes(&mut slot)
            .map_err(|_| Error::Random)?;
        let ad = row_aad(&self.account, peer, &slot, secs, nanos, new.verified);
        let sealed = self.cipher.seal(&ad, new.secret.as_bytes())?;

        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some((old_peer, old)) = replaces {
            let rows = read_rows(
                &tx,
                "account = ?1 AND peer = ?2",
                params![self.account, old_peer],
            )?;
            for row in rows {
                let held = row.open(&self.cipher, &self.account)?;
                if bool::from(held.secret.as_bytes().ct_eq(old.as_bytes())) {
                    tx.execute(
                        "DELETE FROM retained_secret WHERE seq = ?1",
                        params![row.seq],
                    )?;
                }
            }
        }
        tx.execute(
            "INSERT INTO retained_secret
                 (slot, account, peer, stored_secs, stored_nanos, verified, nonce, ciphertext)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                slot.as_slice(),
                self.account,
                peer,
                secs,
                nanos,
                i64::from(new.verified),
                sealed.nonce,
                sealed.ciphertext
            ],
        )?;
        tx.execute(
            "DELETE FROM retained_secret WHERE account = ?1 AND peer = ?2 AND seq NOT IN
                 (SELECT seq FROM retained_secret WHERE account = ?1 AND peer = ?2
                  ORDER BY seq DESC LIMIT ?3)",
            params![self.account, peer, MAX_SECRETS_PER_PEER as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Marks `secret` of `peer` as SAS-verified (O7), re-sealing its row.
    pub fn try_mark_verified(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rows = read_rows(
            &tx,
            "account = ?1 AND peer = ?2 AND verified = 0",
            params![self.account, peer],
        )?;
        for row in rows {
            let held = row.open(&self.cipher, &self.account)?;
            if !bool::from(held.secret.as_bytes().ct_eq(secret.as_bytes())) {
                continue;
            }
            let ad = row_aad(
                &self.account,
                &row.peer,
                &row.slot,
                row.stored_secs,
                row.stored_nanos,
                true,
            );
            let sealed = self.cipher.seal(&ad, held.secret.as_bytes())?;
            tx.execute(
                "UPDATE retained_secret SET verified = 1, nonce = ?1, ciphertext = ?2
                 WHERE seq = ?3",
                params![sealed.nonce, sealed.ciphertext, row.seq],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes this account's expired secrets (D34); returns how many.
    pub fn purge_expired(&mut self, now: SystemTime) -> Result<usize, Error> {
        let limit = now
            .checked_sub(SECRET_LIFETIME)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let (secs, nanos) = time_to_columns(limit)?;
        let n = self.conn.execute(
            "DELETE FROM retained_secret WHERE account = ?1 AND
                 (stored_secs < ?2 OR (stored_secs = ?2 AND stored_nanos <= ?3))",
            params![self.account, secs, nanos],
        )?;
        Ok(n)
    }

    /// How many secrets are held for `peer`, expired ones included.
    pub fn len_for(&self, peer: &str) -> Result<usize, Error> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM retained_secret WHERE account = ?1 AND peer = ?2",
            params![self.account, peer],
            |r| r.get(0),
        )?;
        usize::try_from(n).map_err(|_| Error::Corrupt {
            table: TABLE,
            what: "negative count",
        })
    }
}

/// The protocol's view. Errors are kept for [`SqliteStore::take_error`]:
/// a failed read yields no secrets, a failed write changes nothing.
impl RetainedSecretStore for SqliteStore {
    fn secrets(&self, peer: &str, now: SystemTime) -> Vec<RetainedSecret> {
        self.or_record(self.try_secrets(peer, now), Vec::new())
    }

    fn other_secrets(&self, peer: &str, now: SystemTime) -> Vec<(String, RetainedSecret)> {
        self.or_record(self.try_other_secrets(peer, now), Vec::new())
    }

    fn store(&mut self, peer: &str, replaces: Option<(&str, &SecretBytes)>, new: RetainedSecret) {
        let r = self.try_store(peer, replaces, &new);
        self.or_record(r, ());
    }

    fn mark_verified(&mut self, peer: &str, secret: &SecretBytes) {
        let r = self.try_mark_verified(peer, secret);
        self.or_record(r, ());
    }
}
