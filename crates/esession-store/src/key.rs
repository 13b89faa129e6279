//! The application key and the row cipher.
//!
//! Every secret is sealed with XChaCha20-Poly1305 under the 32-byte
//! [`StoreKey`] the application supplies, with a fresh random 192-bit nonce
//! per write (random nonces of this size never realistically collide), and
//! with the row's identity as associated data, so that a ciphertext cannot be
//! moved to another table, account, peer or slot, and its clear metadata
//! (timestamps, flags) cannot be changed without detection.
//!
//! The associated data is a domain label followed by length-prefixed fields
//! (`u32` big-endian length, then the bytes), so that no two field lists
//! encode to the same bytes.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::TryRng;
use rand::rngs::SysRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::Error;

/// Length of a [`StoreKey`].
pub const KEY_LEN: usize = 32;
/// Length of the per-row nonce (XChaCha20-Poly1305).
pub(crate) const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag appended to every ciphertext.
pub(crate) const TAG_LEN: usize = 16;
/// The label that starts every associated-data string.
const AAD_DOMAIN: &[u8] = b"esession-store row v1";

/// The 32-byte key under which a store encrypts its secrets.
///
/// The application supplies it (from the OS keyring, a passphrase KDF, …)
/// and must use it for this store only. It is boxed, zeroized on drop and
/// never printed by `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StoreKey(Box<[u8; KEY_LEN]>);

impl StoreKey {
    /// Wraps a key. The caller should zeroize its own copy of `bytes`.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Box::new(bytes))
    }

    /// Copies a key from a slice, which must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let mut key = Box::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(Error::BadKeyLength);
        }
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    /// A fresh random key from the operating system.
    pub fn generate() -> Result<Self, Error> {
        let mut key = Box::new([0u8; KEY_LEN]);
        SysRng
            .try_fill_bytes(key.as_mut_slice())
            .map_err(|_| Error::Random)?;
        Ok(Self(key))
    }

    /// The key bytes. Callers that copy them must zeroize their copy.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(<redacted>)")
    }
}

/// A sealed value: the nonce and the ciphertext with its tag.
pub(crate) struct Sealed {
    pub(crate) nonce: Vec<u8>,
    pub(crate) ciphertext: Vec<u8>,
}

/// XChaCha20-Poly1305 under the store key (zeroized on drop by the
/// `zeroize` feature of `chacha20poly1305`).
pub(crate) struct RowCipher {
    aead: XChaCha20Poly1305,
}

impl RowCipher {
    pub(crate) fn new(key: &StoreKey) -> Self {
        Self {
            aead: XChaCha20Poly1305::new(key.as_bytes().into()),
        }
    }

    /// Seals `plaintext` with a fresh random nonce and `aad`.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        SysRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| Error::Random)?;
        let ciphertext = self
            .aead
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| Error::InvalidArgument("value too long to encrypt"))?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Opens a sealed value; any change to nonce, ciphertext or `aad` gives
    /// [`Error::Tampered`].
    pub(crate) fn open(
        &self,
        table: &'static str,
        aad: &[u8],
        nonce: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Error::Corrupt {
            table,
            what: "nonce length",
        })?;
        if ciphertext.len() < TAG_LEN {
            return Err(Error::Corrupt {
                table,
                what: "ciphertext shorter than its tag",
            });
        }
        self.aead
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Tampered { table })
    }
}

/// Builds associated data: the domain label, then each field length-prefixed.
pub(crate) fn aad(fields: &[&[u8]]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(AAD_DOMAIN.len() + fields.iter().map(|f| f.len() + 4).sum::<usize>());
    out.extend_from_slice(AAD_DOMAIN);
    for f in fields {
        // Fields are JIDs and short identifiers, bounded well below 4 GiB by
        // the callers; saturate rather than wrap just in case.
        let len = u32::try_from(f.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let c = RowCipher::new(&StoreKey::from_bytes([7; 32]));
        let a = aad(&[b"t", b"alice", b"bob"]);
        let s = c.seal(&a, b"secret").unwrap();
        assert_eq!(s.nonce.len(), NONCE_LEN);
        assert_eq!(s.ciphertext.len(), 6 + TAG_LEN);
        assert_eq!(
            c.open("t", &a, &s.nonce, &s.ciphertext).unwrap().as_slice(),
            b"secret"
        );
        // Moving the field boundary changes the associated data.
        let b = aad(&[b"t", b"alic", b"ebob"]);
        assert_eq!(
            c.open("t", &b, &s.nonce, &s.ciphertext),
            Err(Error::Tampered { table: "t" })
        );
        assert!(matches!(
            c.open("t", &a, &s.nonce[1..], &s.ciphertext),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn keys_are_redacted_and_checked() {
        let k = StoreKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{k:?}"), "StoreKey(<redacted>)");
        assert_eq!(
            StoreKey::from_slice(&[1; 31]).err(),
            Some(Error::BadKeyLength)
        );
        assert_ne!(
            StoreKey::generate().unwrap().as_bytes(),
            StoreKey::generate().unwrap().as_bytes()
        );
    }
}
