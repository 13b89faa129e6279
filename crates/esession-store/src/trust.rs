//! Trusted public keys in SQLite (XEP-0116 §8.5, XEP-0187 §3.2, §3.4).
//!
//! Table `trusted_key`, one row per (account, contact, key):
//!
//! | column | clear? | meaning |
//! |---|---|---|
//! | `seq` | clear | insertion order |
//! | `slot` | clear | 16 random bytes naming the row in its associated data |
//! | `account`, `peer` | clear | the account and the contact's bare JID |
//! | `key` | clear | pubKey: the D28 normalized `<KeyValue/>` bytes (public) |
//! | `nonce`, `ciphertext` | — | XChaCha20-Poly1305 of the user's petname |
//!
//! The key is public, but the fact that it is *trusted* for a contact is
//! what an attacker would forge: the associated data `("trusted_key",
//! account, peer, slot, key)` binds the row, so a row edited to trust another
//! key or another contact fails with [`Error::Tampered`]. (Inserting a row
//! needs the store key.)
//!
//! These rows back the trusted-key half of [`esession_online::SessionStore`]
//! for both the online layer (XEP-0116 §8.5) and the offline one (Bob's
//! lookup of Alice's signing keys, XEP-0187 §3.2; Alice's of Bob's, §3.4).

use esession_online::TrustedKey;
use rand::TryRng;
use rand::rngs::SysRng;
use rusqlite::{TransactionBehavior, params};

use crate::Error;
use crate::key::{TAG_LEN, aad};
use crate::sqlite::{SqliteStore, check_jid};

const TABLE: &str = "trusted_key";
const SLOT_LEN: usize = 16;
/// Longest pubKey accepted (a 16384-bit RSA or DSA key in base64 XML fits).
pub const MAX_KEY_LEN: usize = 16 * 1024;
/// Longest petname accepted.
pub const MAX_PETNAME_LEN: usize = 1024;

fn row_aad(account: &str, peer: &str, slot: &[u8], key: &[u8]) -> Vec<u8> {
    aad(&[
        TABLE.as_bytes(),
        account.as_bytes(),
        peer.as_bytes(),
        slot,
        key,
    ])
}

fn corrupt(what: &'static str) -> Error {
    Error::Corrupt { table: TABLE, what }
}

/// A trusted key as stored: the contact and the key.
struct StoredKey {
    peer: String,
    key: TrustedKey,
}

impl SqliteStore {
    fn read_keys(&self, filter: &str, arg: &[u8], by_key: bool) -> Result<Vec<StoredKey>, Error> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT peer, slot, key, nonce, ciphertext FROM trusted_key
             WHERE account = ?1 AND {filter} ORDER BY seq"
        ))?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        };
        let rows = if by_key {
            stmt.query_map(params![self.account, arg], map)?
        } else {
            let peer = std::str::from_utf8(arg).map_err(|_| corrupt("peer"))?;
            stmt.query_map(params![self.account, peer], map)?
        };
        let mut out = Vec::new();
        for row in rows {
            let (peer, slot, key, nonce, ct) = row.map_err(|e| match e {
                rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::FromSqlConversionFailure(..) => {
                    corrupt("column of the wrong type")
                }
                other => Error::from(other),
            })?;
            if slot.len() != SLOT_LEN {
                return Err(corrupt("slot length"));
            }
            if ct.len() > MAX_PETNAME_LEN + TAG_LEN || key.len() > MAX_KEY_LEN {
                return Err(corrupt("row too long"));
            }
            let ad = row_aad(&self.account, &peer, &slot, &key);
            let petname = self.cipher.open(TABLE, &ad, &nonce, &ct)?;
            let petname =
                String::from_utf8(petname.to_vec()).map_err(|_| corrupt("petname is not UTF-8"))?;
            out.push(StoredKey {
                peer,
                key: TrustedKey { key, petname },
            });
        }
        Ok(out)
    }

    /// The keys trusted for `peer`, oldest first.
    pub(crate) fn read_trusted(&self, peer: &str) -> Result<Vec<TrustedKey>, Error> {
        Ok(self
            .read_keys("peer = ?2", peer.as_bytes(), false)?
            .into_iter()
            .map(|k| k.key)
            .collect())
    }

    /// The contacts `key` (D28 bytes) is trusted for, sorted.
    pub(crate) fn read_jids_trusting(&self, key: &[u8]) -> Result<Vec<String>, Error> {
        let mut jids: Vec<String> = self
            .read_keys("key = ?2", key, true)?
            .into_iter()
            .map(|k| k.peer)
            .collect();
        jids.sort();
        jids.dedup();
        Ok(jids)
    }

    /// Trusts `key` for `peer` under `petname`, replacing the petname if the
    /// key is already trusted for `peer` (one transaction).
    pub(crate) fn write_trusted(
        &mut self,
        peer: &str,
        key: &[u8],
        petname: &str,
    ) -> Result<(), Error> {
        check_jid(peer)?;
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(Error::InvalidArgument("pubKey empty or longer than 16 KiB"));
        }
        if petname.len() > MAX_PETNAME_LEN {
            return Err(Error::InvalidArgument("petname longer than 1024 bytes"));
        }
        let mut slot = [0u8; SLOT_LEN];
        SysRng
            .try_fill_bytes(&mut slot)
            .map_err(|_| Error::Random)?;
        let ad = row_aad(&self.account, peer, &slot, key);
        let sealed = self.cipher.seal(&ad, petname.as_bytes())?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM trusted_key WHERE account = ?1 AND peer = ?2 AND key = ?3",
            params![self.account, peer, key],
        )?;
        tx.execute(
            "INSERT INTO trusted_key (slot, account, peer, key, nonce, ciphertext)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                slot.as_slice(),
                self.account,
                peer,
                key,
                sealed.nonce,
                sealed.ciphertext
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stops trusting `key` for `peer`.
    pub(crate) fn delete_trusted(&mut self, peer: &str, key: &[u8]) -> Result<(), Error> {
        self.conn.execute(
            "DELETE FROM trusted_key WHERE account = ?1 AND peer = ?2 AND key = ?3",
            params![self.account, peer, key],
        )?;
        Ok(())
    }
}
