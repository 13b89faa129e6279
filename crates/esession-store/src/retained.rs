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
//! | `pending` | clear | 1 for Bob's new secret not yet proven accepted (D37, schema 3) |
//! | `replaces_slot` | clear | for a pending row, the slot of the secret it is to replace |
//! | `nonce`, `ciphertext` | — | XChaCha20-Poly1305 of the secret |
//!
//! The associated data is `("retained_secret", account, peer, slot,
//! stored_secs, stored_nanos, verified)`, followed for a pending row by
//! `(1, replaces_slot)`, so the clear columns are authenticated: a row moved
//! to another contact, an extended lifetime, a forged `verified` flag or a
//! pending row passed off as settled fails with [`Error::Tampered`]. Marking
//! a secret verified or settling a pending one re-seals its row with a new
//! nonce.
//!
//! Storing runs in one transaction: remove the replaced SRS (wherever it is
//! held, D34's extended search) unless the new secret is pending, insert
//! the new row, and delete all but the [`MAX_SECRETS_PER_PEER`] newest rows
//! of the contact. Settling a pending pair (D37) is one transaction too.

use std::time::SystemTime;

use esession_crypto::SecretBytes;
use esession_online::{MAX_SECRETS_PER_PEER, RetainedSecret, SECRET_LIFETIME};
use rand::TryRng;
use rand::rngs::SysRng;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
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
    pending: i64,
    replaces_slot: Option<Vec<u8>>,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl Row {
    fn stored_at(&self) -> Result<SystemTime, Error> {
        time_from_columns(TABLE, self.stored_secs, self.stored_nanos)
    }

    fn verified(&self) -> Result<bool, Error> {
        flag(self.verified, "verified is not 0 or 1")
    }

    fn pending(&self) -> Result<bool, Error> {
        flag(self.pending, "pending is not 0 or 1")
    }

    /// The associated data the row must have been sealed with.
    fn aad(&self, account: &str, verified: bool, pending: bool) -> Vec<u8> {
        row_aad(
            account,
            &self.peer,
            &self.slot,
            self.stored_secs,
            self.stored_nanos,
            verified,
            pending.then_some(self.replaces_slot.as_deref().unwrap_or_default()),
        )
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
        let pending = self.pending()?;
        let ad = self.aad(account, verified, pending);
        let secret = cipher.open(TABLE, &ad, &self.nonce, &self.ciphertext)?;
        Ok(RetainedSecret {
            secret: SecretBytes::from_slice(&secret),
            stored_at,
            verified,
            pending,
        })
    }
}

fn flag(v: i64, what: &'static str) -> Result<bool, Error> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::Corrupt { table: TABLE, what }),
    }
}

/// A row's associated data; `pending` carries the slot a pending row is to
/// replace (empty if none). Rows that are not pending keep the schema-1 form.
fn row_aad(
    account: &str,
    peer: &str,
    slot: &[u8],
    secs: i64,
    nanos: i64,
    verified: bool,
    pending: Option<&[u8]>,
) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = vec![TABLE.as_bytes(), account.as_bytes(), peer.as_bytes(), slot];
    let (secs, nanos) = (secs.to_be_bytes(), nanos.to_be_bytes());
    let verified = [u8::from(verified)];
    parts.extend([&secs[..], &nanos[..], &verified[..]]);
    if let Some(replaces) = pending {
        parts.extend([&[1u8][..], replaces]);
    }
    aad(&parts)
}

const SELECT: &str = "SELECT seq, slot, peer, stored_secs, stored_nanos, verified, pending,
                             replaces_slot, nonce, ciphertext
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
            pending: r.get(6)?,
            replaces_slot: r.get(7)?,
            nonce: r.get(8)?,
            ciphertext: r.get(9)?,
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

/// The row of `peer` holding `secret`, if any.
fn find(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    account: &str,
    peer: &str,
    secret: &SecretBytes,
) -> Result<Option<Row>, Error> {
    for row in read_rows(tx, "account = ?1 AND peer = ?2", params![account, peer])? {
        let held = row.open(cipher, account)?;
        if bool::from(held.secret.as_bytes().ct_eq(secret.as_bytes())) {
            return Ok(Some(row));
        }
    }
    Ok(None)
}

/// Re-seals `row` with new `verified` and `pending` flags (a pending row
/// becoming settled loses its replaces_slot).
fn reseal(
    tx: &Transaction<'_>,
    cipher: &RowCipher,
    account: &str,
    row: &Row,
    verified: bool,
    pending: bool,
) -> Result<(), Error> {
    let held = row.open(cipher, account)?;
    let replaces = if pending {
        row.replaces_slot.clone()
    } else {
        None
    };
    let ad = row_aad(
        account,
        &row.peer,
        &row.slot,
        row.stored_secs,
        row.stored_nanos,
        verified,
        pending.then_some(replaces.as_deref().unwrap_or_default()),
    );
    let sealed = cipher.seal(&ad, held.secret.as_bytes())?;
    tx.execute(
        "UPDATE retained_secret SET verified = ?1, pending = ?2, replaces_slot = ?3,
             nonce = ?4, ciphertext = ?5 WHERE seq = ?6",
        params![
            i64::from(verified),
            i64::from(pending),
            replaces,
            sealed.nonce,
            sealed.ciphertext,
            row.seq
        ],
    )?;
    Ok(())
}

impl SqliteStore {
    /// The non-expired secrets held for `peer`, most recent first.
    pub(crate) fn read_secrets(
        &self,
        peer: &str,
        now: SystemTime,
    ) -> Result<Vec<RetainedSecret>, Error> {
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
    pub(crate) fn read_other_secrets(
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

    /// Stores `new` for `peer` (see [`esession_online::SessionStore::store_secret`]),
    /// keeping at most [`MAX_SECRETS_PER_PEER`] secrets for `peer`, in one
    /// transaction.
    pub(crate) fn write_secret(
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
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut replaces_slot = None;
        if let Some((old_peer, old)) = replaces
            && let Some(row) = find(&tx, &self.cipher, &self.account, old_peer, old)?
        {
            if new.pending {
                replaces_slot = Some(row.slot);
            } else {
                tx.execute(
                    "DELETE FROM retained_secret WHERE seq = ?1",
                    params![row.seq],
                )?;
            }
        }
        let ad = row_aad(
            &self.account,
            peer,
            &slot,
            secs,
            nanos,
            new.verified,
            new.pending
                .then_some(replaces_slot.as_deref().unwrap_or_default()),
        );
        let sealed = self.cipher.seal(&ad, new.secret.as_bytes())?;
        tx.execute(
            "INSERT INTO retained_secret
                 (slot, account, peer, stored_secs, stored_nanos, verified, pending,
                  replaces_slot, nonce, ciphertext)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                slot.as_slice(),
                self.account,
                peer,
                secs,
                nanos,
                i64::from(new.verified),
                i64::from(new.pending),
                replaces_slot,
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

    /// The peer proved it holds `secret` of `peer` (D37): see
    /// [`esession_online::SessionStore::secret_proven`]. One transaction.
    pub(crate) fn prove_secret(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(row) = find(&tx, &self.cipher, &self.account, peer, secret)? {
            if row.pending()? {
                if let Some(replaced) = &row.replaces_slot {
                    tx.execute(
                        "DELETE FROM retained_secret WHERE account = ?1 AND slot = ?2",
                        params![self.account, replaced],
                    )?;
                }
                reseal(
                    &tx,
                    &self.cipher,
                    &self.account,
                    &row,
                    row.verified()?,
                    false,
                )?;
            }
            // A pending secret that was to replace this one lost.
            tx.execute(
                "DELETE FROM retained_secret
                 WHERE account = ?1 AND pending = 1 AND replaces_slot = ?2",
                params![self.account, row.slot],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Destroys `secret` of `peer`.
    pub(crate) fn delete_secret(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(row) = find(&tx, &self.cipher, &self.account, peer, secret)? {
            tx.execute(
                "DELETE FROM retained_secret WHERE seq = ?1",
                params![row.seq],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks `secret` of `peer` as SAS-verified (O7), re-sealing its row.
    pub(crate) fn verify_secret(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(row) = find(&tx, &self.cipher, &self.account, peer, secret)?
            && !row.verified()?
        {
            reseal(&tx, &self.cipher, &self.account, &row, true, row.pending()?)?;
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
