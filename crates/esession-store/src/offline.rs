//! Alice's offline private values in SQLite (XEP-0187 §3.1, §3.4, §6.1;
//! DECISIONS D50): an [`OfflineStore`] for [`SqliteStore`].
//!
//! Table `offline_published`, one row per published options form:
//!
//! | column | clear? | meaning |
//! |---|---|---|
//! | `account`, `n_a` | clear | the account and N_A (`my_nonce`, public: it is in the published form) |
//! | `audience` | clear | 0 = subscribers node, 1 = open node |
//! | `slot` | clear | 16 random bytes naming the row in its associated data |
//! | `expires_secs`, `expires_nanos` | clear | when the options expire |
//! | `nonce`, `ciphertext` | — | XChaCha20-Poly1305 of the x values and the options form |
//!
//! The associated data is `("offline_published", account, n_a, slot,
//! audience, expires_secs, expires_nanos)`. The plaintext is
//! `u32 count ‖ (u32 group ‖ u32 len ‖ mpi(x))* ‖ options_xml`, all
//! big-endian, bounded on reading.
//!
//! Table `offline_seen` holds SHA-256 of every d and N_B accepted under an
//! N_A (D50's replay check): `(account, n_a, kind, digest)`, kind 0 = d,
//! 1 = N_B. These are digests of public values; they are stored in clear.
//! [`OfflineStore::record_seen`] checks and inserts in one transaction.
//!
//! Removing a record deletes the row and its seen values in one transaction;
//! the file runs with `PRAGMA secure_delete = ON`, so SQLite overwrites the
//! freed ciphertext with zeros (XEP-0187 §7.4; the values were encrypted
//! under the store key anyway).

use esession_crypto::SecretBytes;
use esession_offline::{Audience, OfflineStore, PrivateValue, PublishedOptions};
use rand::TryRng;
use rand::rngs::SysRng;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Error;
use crate::key::{TAG_LEN, aad};
use crate::sqlite::{SqliteStore, time_from_columns, time_to_columns};

const TABLE: &str = "offline_published";
const SLOT_LEN: usize = 16;
/// Longest N_A accepted.
pub const MAX_NONCE_LEN: usize = 512;
/// Most groups (x values) in one record.
pub const MAX_GROUPS: usize = 16;
/// Longest mpi(x) accepted (an 8192-bit group has 1024-byte values).
pub const MAX_X_LEN: usize = 1024;
/// Longest options form accepted.
pub const MAX_OPTIONS_XML_LEN: usize = 256 * 1024;
const MAX_PLAINTEXT: usize = 4 + MAX_GROUPS * (8 + MAX_X_LEN) + MAX_OPTIONS_XML_LEN;

const SEEN_D: i64 = 0;
const SEEN_N_B: i64 = 1;

fn audience_code(a: Audience) -> Result<i64, Error> {
    match a {
        Audience::Subscribers => Ok(0),
        Audience::Everyone => Ok(1),
        _ => Err(Error::InvalidArgument("unknown offline audience")),
    }
}

fn audience_from_code(code: i64) -> Result<Audience, Error> {
    match code {
        0 => Ok(Audience::Subscribers),
        1 => Ok(Audience::Everyone),
        _ => Err(Error::Corrupt {
            table: TABLE,
            what: "unknown audience",
        }),
    }
}

fn row_aad(
    account: &str,
    n_a: &[u8],
    slot: &[u8],
    audience: i64,
    secs: i64,
    nanos: i64,
) -> Vec<u8> {
    aad(&[
        TABLE.as_bytes(),
        account.as_bytes(),
        n_a,
        slot,
        &audience.to_be_bytes(),
        &secs.to_be_bytes(),
        &nanos.to_be_bytes(),
    ])
}

fn encode(p: &PublishedOptions) -> Result<Zeroizing<Vec<u8>>, Error> {
    if p.x.len() > MAX_GROUPS {
        return Err(Error::InvalidArgument("more than 16 private values"));
    }
    if p.options_xml.len() > MAX_OPTIONS_XML_LEN {
        return Err(Error::InvalidArgument("options form longer than 256 KiB"));
    }
    let mut out = Zeroizing::new(Vec::new());
    out.extend_from_slice(&(p.x.len() as u32).to_be_bytes());
    for v in &p.x {
        if v.x.len() > MAX_X_LEN {
            return Err(Error::InvalidArgument(
                "private value longer than 1024 bytes",
            ));
        }
        out.extend_from_slice(&v.group.to_be_bytes());
        out.extend_from_slice(&(v.x.len() as u32).to_be_bytes());
        out.extend_from_slice(v.x.as_bytes());
    }
    out.extend_from_slice(p.options_xml.as_bytes());
    Ok(out)
}

fn corrupt(what: &'static str) -> Error {
    Error::Corrupt { table: TABLE, what }
}

/// The next `n` bytes of `rest`, or an error if fewer remain.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], Error> {
    if rest.len() < n {
        return Err(corrupt("truncated plaintext"));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn take_u32(rest: &mut &[u8]) -> Result<u32, Error> {
    let b: [u8; 4] = take(rest, 4)?.try_into().map_err(|_| corrupt("length"))?;
    Ok(u32::from_be_bytes(b))
}

/// Reads the plaintext back; every length is checked against what remains.
fn decode(plain: &[u8]) -> Result<(Vec<PrivateValue>, String), Error> {
    let mut rest = plain;
    let count = take_u32(&mut rest)? as usize;
    if count > MAX_GROUPS {
        return Err(corrupt("too many private values"));
    }
    let mut x = Vec::with_capacity(count);
    for _ in 0..count {
        let group = take_u32(&mut rest)?;
        let len = take_u32(&mut rest)? as usize;
        if len > MAX_X_LEN {
            return Err(corrupt("private value too long"));
        }
        x.push(PrivateValue {
            group,
            x: SecretBytes::from_slice(take(&mut rest, len)?),
        });
    }
    let xml = String::from_utf8(rest.to_vec()).map_err(|_| corrupt("options form is not UTF-8"))?;
    Ok((x, xml))
}

fn digest(v: &[u8]) -> Vec<u8> {
    Sha256::digest(v).to_vec()
}

impl SqliteStore {
    /// The number of d and N_B values recorded as seen for `n_a`.
    pub fn seen_count(&self, n_a: &[u8]) -> Result<usize, Error> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM offline_seen WHERE account = ?1 AND n_a = ?2",
            params![self.account, n_a],
            |r| r.get(0),
        )?;
        usize::try_from(n).map_err(|_| Error::Corrupt {
            table: "offline_seen",
            what: "negative count",
        })
    }
}

impl OfflineStore for SqliteStore {
    fn save_published(&mut self, published: PublishedOptions) -> Result<(), Error> {
        let p = &published;
        if p.n_a.is_empty() || p.n_a.len() > MAX_NONCE_LEN {
            return Err(Error::InvalidArgument("N_A empty or longer than 512 bytes"));
        }
        let audience = audience_code(p.audience)?;
        let (secs, nanos) = time_to_columns(p.expires)?;
        let mut slot = [0u8; SLOT_LEN];
        SysRng
            .try_fill_bytes(&mut slot)
            .map_err(|_| Error::Random)?;
        let plain = encode(p)?;
        let ad = row_aad(&self.account, &p.n_a, &slot, audience, secs, nanos);
        let sealed = self.cipher.seal(&ad, &plain)?;

        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // New options for a node supersede the old ones with their seen
        // values (XEP-0187 §6.1); a record with the same N_A is replaced.
        tx.execute(
            "DELETE FROM offline_seen WHERE account = ?1 AND (n_a = ?2 OR n_a IN
                 (SELECT n_a FROM offline_published WHERE account = ?1 AND audience = ?3))",
            params![self.account, p.n_a, audience],
        )?;
        tx.execute(
            "DELETE FROM offline_published WHERE account = ?1 AND (n_a = ?2 OR audience = ?3)",
            params![self.account, p.n_a, audience],
        )?;
        tx.execute(
            "INSERT INTO offline_published
                 (account, n_a, audience, slot, expires_secs, expires_nanos, nonce, ciphertext)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                self.account,
                p.n_a,
                audience,
                slot.as_slice(),
                secs,
                nanos,
                sealed.nonce,
                sealed.ciphertext
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn published(&self, n_a: &[u8]) -> Result<Option<PublishedOptions>, Error> {
        type Cols = (i64, Vec<u8>, i64, i64, Vec<u8>, Vec<u8>);
        let row: Option<Cols> = self
            .conn
            .query_row(
                "SELECT audience, slot, expires_secs, expires_nanos, nonce, ciphertext
                 FROM offline_published WHERE account = ?1 AND n_a = ?2",
                params![self.account, n_a],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| match e {
                rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::FromSqlConversionFailure(..) => Error::Corrupt {
                    table: TABLE,
                    what: "column of the wrong type",
                },
                other => Error::from(other),
            })?;
        let Some((audience, slot, secs, nanos, nonce, ciphertext)) = row else {
            return Ok(None);
        };
        if slot.len() != SLOT_LEN {
            return Err(Error::Corrupt {
                table: TABLE,
                what: "slot length",
            });
        }
        if ciphertext.len() > MAX_PLAINTEXT + TAG_LEN {
            return Err(Error::Corrupt {
                table: TABLE,
                what: "ciphertext too long",
            });
        }
        let expires = time_from_columns(TABLE, secs, nanos)?;
        let ad = row_aad(&self.account, n_a, &slot, audience, secs, nanos);
        let audience = audience_from_code(audience)?;
        let plain = self.cipher.open(TABLE, &ad, &nonce, &ciphertext)?;
        let (x, options_xml) = decode(&plain)?;
        Ok(Some(PublishedOptions {
            n_a: n_a.to_vec(),
            audience,
            expires,
            x,
            options_xml,
        }))
    }

    fn published_nonces(&self) -> Result<Vec<Vec<u8>>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT n_a FROM offline_published WHERE account = ?1")?;
        let rows = stmt.query_map(params![self.account], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for n in rows {
            out.push(n.map_err(|_| Error::Corrupt {
                table: TABLE,
                what: "n_a is not a blob",
            })?);
        }
        Ok(out)
    }

    fn remove_published(&mut self, n_a: &[u8]) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM offline_published WHERE account = ?1 AND n_a = ?2",
            params![self.account, n_a],
        )?;
        tx.execute(
            "DELETE FROM offline_seen WHERE account = ?1 AND n_a = ?2",
            params![self.account, n_a],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn record_seen(&mut self, n_a: &[u8], d: &[u8], n_b: &[u8]) -> Result<bool, Error> {
        if n_a.len() > MAX_NONCE_LEN {
            return Err(Error::InvalidArgument("N_A longer than 512 bytes"));
        }
        let (hd, hn) = (digest(d), digest(n_b));
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seen: i64 = tx.query_row(
            "SELECT count(*) FROM offline_seen WHERE account = ?1 AND n_a = ?2 AND
                 ((kind = ?3 AND digest = ?4) OR (kind = ?5 AND digest = ?6))",
            params![self.account, n_a, SEEN_D, hd, SEEN_N_B, hn],
            |r| r.get(0),
        )?;
        if seen != 0 {
            return Ok(false); // dropping `tx` rolls back (nothing was written)
        }
        let mut insert = tx.prepare_cached(
            "INSERT INTO offline_seen (account, n_a, kind, digest) VALUES (?1, ?2, ?3, ?4)",
        )?;
        insert.execute(params![self.account, n_a, SEEN_D, hd])?;
        insert.execute(params![self.account, n_a, SEEN_N_B, hn])?;
        drop(insert);
        tx.commit()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_round_trip_and_bounds() {
        let p = PublishedOptions {
            n_a: vec![1; 16],
            audience: Audience::Everyone,
            expires: std::time::SystemTime::UNIX_EPOCH,
            x: vec![
                PrivateValue {
                    group: 14,
                    x: SecretBytes::new(vec![2; 256]),
                },
                PrivateValue {
                    group: 5,
                    x: SecretBytes::new(vec![3; 192]),
                },
            ],
            options_xml: "<x xmlns='jabber:x:data' type='form'/>".to_owned(),
        };
        let plain = encode(&p).unwrap();
        let (x, xml) = decode(&plain).unwrap();
        assert_eq!((x, xml), (p.x.clone(), p.options_xml.clone()));
        // Every truncation inside the x values is an error, never a panic.
        for cut in 0..4 + 2 * 8 + 256 + 192 {
            assert!(decode(&plain[..cut]).is_err(), "{cut}");
        }
        assert!(decode(&[0, 0, 0, 17]).is_err());
        assert!(decode(&[0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 4, 1]).is_err());
        assert!(decode(&[0, 0, 0, 0, 0xff]).is_err());
        let mut big = p.clone();
        big.x = vec![PrivateValue {
            group: 1,
            x: SecretBytes::new(vec![0; 1025]),
        }];
        assert!(encode(&big).is_err());
    }
}
