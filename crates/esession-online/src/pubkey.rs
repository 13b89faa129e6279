//! Public-key identities (XEP-0116 §4.5.4, §4.6.3, §8; DECISIONS D27-D31) and
//! the trust store (XEP-0116 §8.5).
//!
//! ```text
//! mode none:  identity plaintext = macX                                  pubKey = ""
//! mode key:   identity plaintext = <KeyValue>…</KeyValue> ‖ <SignatureValue>b64(SIGN(macX))</SignatureValue>
//! mode hash:  identity plaintext = <fingerprint>b64(HASH(pubKey))</fingerprint> ‖ <SignatureValue>…
//!             (the receiver substitutes the key it stored for the JID; none stored: terminate, D30)
//! macX always covers the full D28 pubKey bytes.
//! after verification: SessionStore's trusted keys → PeerKey { status: Trusted | New | Changed | KnownForOtherJids | NoKey }
//!                     → the application accepts (trust_peer_key) or aborts (reject_peer_key)
//! ```

use std::fmt;
use std::sync::Arc;

use esession_crypto::hash::HashAlg;
use esession_crypto::rand_core::CryptoRng;
use esession_crypto::sign::{SignAlg, SigningKey, VerifyingKey};
use esession_sigma::identity::{self, PubKeyPart};

use crate::store::{SessionStore, StoreError, StoreOp, TrustedKey};
use crate::{Error, PeerMisbehaved};

/// An `init_pubkey` / `resp_pubkey` value (XEP-0116 §4.1; D27).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PubkeyMode {
    /// No public key: the identity is macX (SAS or retained secrets authenticate).
    #[default]
    None,
    /// The whole `<KeyValue/>` is sent.
    Key,
    /// Only `<fingerprint>HASH(pubKey)</fingerprint>` is sent; the receiver
    /// must already hold the key (D30).
    Hash,
}

impl PubkeyMode {
    /// The field value.
    pub fn name(self) -> &'static str {
        match self {
            PubkeyMode::None => "none",
            PubkeyMode::Key => "key",
            PubkeyMode::Hash => "hash",
        }
    }

    /// Looks a field value up.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(PubkeyMode::None),
            "key" => Some(PubkeyMode::Key),
            "hash" => Some(PubkeyMode::Hash),
            _ => None,
        }
    }
}

/// Our long-term signing key, shared cheaply between configurations.
/// Compared by its public key; `Debug` shows no secret.
#[derive(Clone)]
pub struct IdentityKey(Arc<SigningKey>);

impl IdentityKey {
    /// Wraps a signing key.
    pub fn new(key: SigningKey) -> Self {
        IdentityKey(Arc::new(key))
    }

    /// The signing key itself (for the XEP-0187 options and offline init,
    /// which take one directly).
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }

    /// The signature algorithm of the key.
    pub fn alg(&self) -> SignAlg {
        self.0.alg()
    }

    /// pubKey: the D28 `<KeyValue/>` bytes.
    pub fn key_bytes(&self) -> Result<Vec<u8>, Error> {
        esession_wire::key_bytes(&self.0.verifying_key()).map_err(Error::Encode)
    }

    fn sign<R: CryptoRng + ?Sized>(&self, msg: &[u8], rng: &mut R) -> Result<Vec<u8>, Error> {
        self.0
            .sign(msg, rng)
            .map_err(|_| Error::Internal("signing failed"))
    }
}

impl PartialEq for IdentityKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.verifying_key() == other.0.verifying_key()
    }
}

impl Eq for IdentityKey {}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdentityKey").field(&self.alg()).finish()
    }
}

/// The fingerprint [`PeerKey::fingerprint`] carries: SHA-256 over D28 pubKey
/// bytes (the normalized `<KeyValue/>`), for display and comparison by users.
pub fn fingerprint_of(key_bytes: &[u8]) -> Vec<u8> {
    HashAlg::Sha256.digest(key_bytes).as_bytes().to_vec()
}

/// [`fingerprint_of`] a verifying key: what the peer's endpoint will report
/// in [`PeerKey::fingerprint`] when this key signs (for `keygen`-style tools
/// that show a key's fingerprint before any session).
pub fn fingerprint_of_key(key: &VerifyingKey) -> Result<Vec<u8>, Error> {
    let key_bytes = esession_wire::key_bytes(key).map_err(Error::Encode)?;
    Ok(fingerprint_of(&key_bytes))
}

/// How a verified peer key relates to what the user trusts (XEP-0116 §8.5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyStatus {
    /// The key is trusted for this JID.
    Trusted {
        /// Its petname.
        petname: String,
    },
    /// Nothing is known about this JID or this key.
    New,
    /// This JID presents a different key from the one(s) trusted for it.
    Changed {
        /// The keys trusted for the JID so far.
        previous: Vec<TrustedKey>,
    },
    /// A key trusted for other JIDs arrives from a new JID.
    KnownForOtherJids {
        /// The JIDs the key is trusted for.
        jids: Vec<String>,
    },
    /// This JID, for which keys are trusted, presents no key at all (public-key
    /// mode `none`, XEP-0116 §8.5: the user MUST be alerted). The
    /// [`PeerKey`]'s `key` and `fingerprint` are empty; the application
    /// continues or calls [`crate::Endpoint::reject_peer_key`].
    NoKey {
        /// The keys trusted for the JID so far.
        previous: Vec<TrustedKey>,
    },
}

/// The peer's verified public key, reported as [`crate::Output::PeerKey`].
/// Unless it is [`KeyStatus::Trusted`], the application decides:
/// [`crate::Endpoint::trust_peer_key`] or [`crate::Endpoint::reject_peer_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerKey {
    /// The peer's bare JID.
    pub jid: String,
    /// pubKey: the D28 `<KeyValue/>` bytes.
    pub key: Vec<u8>,
    /// SHA-256 of the key bytes, for display.
    pub fingerprint: Vec<u8>,
    /// What the trust store knows.
    pub status: KeyStatus,
}

/// What the trust store says about `key` for `jid`.
pub(crate) fn status<S: SessionStore + ?Sized>(
    store: &S,
    jid: &str,
    key: &[u8],
) -> Result<KeyStatus, Error> {
    let read = |e| Error::Store(StoreError::new(StoreOp::ReadKeys, e));
    let known = store.trusted_keys(jid).map_err(read)?;
    if let Some(k) = known.iter().find(|k| k.key == key) {
        return Ok(KeyStatus::Trusted {
            petname: k.petname.clone(),
        });
    }
    if !known.is_empty() {
        return Ok(KeyStatus::Changed { previous: known });
    }
    let jids: Vec<String> = store
        .jids_trusting(key)
        .map_err(read)?
        .into_iter()
        .filter(|j| j != jid)
        .collect();
    Ok(if jids.is_empty() {
        KeyStatus::New
    } else {
        KeyStatus::KnownForOtherJids { jids }
    })
}

/// Our pubKey bytes for `mode` ("" for none).
pub(crate) fn own_key_bytes(mode: PubkeyMode, key: Option<&IdentityKey>) -> Result<Vec<u8>, Error> {
    match (mode, key) {
        (PubkeyMode::None, _) => Ok(Vec::new()),
        (_, Some(k)) => k.key_bytes(),
        (_, None) => Err(Error::Config(
            "a public-key mode needs Config::identity_key",
        )),
    }
}

/// Our identity plaintext: macX, or pubKeyPart ‖ signature (D29, D30).
pub(crate) fn own_identity<R: CryptoRng + ?Sized>(
    mode: PubkeyMode,
    hash: HashAlg,
    key: Option<&IdentityKey>,
    key_bytes: &[u8],
    mac_x: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    let key = match (mode, key) {
        (PubkeyMode::None, _) => return Ok(mac_x.to_vec()),
        (_, Some(k)) => k,
        (_, None) => {
            return Err(Error::Config(
                "a public-key mode needs Config::identity_key",
            ));
        }
    };
    let signature = key.sign(mac_x, rng)?;
    let part = match mode {
        PubkeyMode::Hash => identity::fingerprint_part(hash, key_bytes),
        _ => key_bytes.to_vec(),
    };
    Ok(identity::signed_identity_plaintext(&part, &signature))
}

/// The peer's identity plaintext in a key mode: the pubKey bytes it names
/// (sent, or substituted from the trusted keys in hash mode) and the signature.
pub(crate) fn peer_key_bytes<S: SessionStore + ?Sized>(
    mode: PubkeyMode,
    hash: HashAlg,
    plaintext: &[u8],
    store: &S,
    jid: &str,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let signed =
        identity::parse_signed_identity(plaintext).map_err(|_| PeerMisbehaved::IdentityMismatch)?;
    let key = match (mode, signed.pub_key) {
        (PubkeyMode::Key, PubKeyPart::KeyValue(k)) => k,
        (PubkeyMode::Hash, PubKeyPart::Fingerprint(fp)) => store
            .trusted_keys(jid)
            .map_err(|e| Error::Store(StoreError::new(StoreOp::ReadKeys, e)))?
            .into_iter()
            .map(|k| k.key)
            .find(|k| hash.digest(k).as_bytes() == fp.as_slice())
            // D30: no stored key => terminate.
            .ok_or(PeerMisbehaved::UnknownKey)?,
        _ => return Err(PeerMisbehaved::IdentityMismatch.into()),
    };
    Ok((key, signed.signature))
}

/// Verifies the peer's signature of macX with its key and the agreed algorithm (D31).
pub(crate) fn verify_signature(
    alg: Option<SignAlg>,
    key_bytes: &[u8],
    mac_x: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let vk =
        esession_wire::verifying_key(key_bytes).map_err(|_| PeerMisbehaved::IdentityMismatch)?;
    if Some(vk.alg()) != alg {
        return Err(PeerMisbehaved::IdentityMismatch.into());
    }
    vk.verify(mac_x, signature)
        .map_err(|_| PeerMisbehaved::IdentityMismatch.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn fingerprint_is_sha256_of_the_key_bytes() {
        // FIPS 180-2 Appendix B.1: SHA-256("abc").
        assert_eq!(
            hex::encode(fingerprint_of(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // fingerprint_of_key against the fingerprint an endpoint reports for
        // a key received in a negotiation: tests/pubkeys.rs
        // (rsa_keys_in_key_mode_both_ways_and_trust_on_second_session).
    }

    #[test]
    fn trust_statuses() {
        let mut t = MemoryStore::new();
        assert_eq!(status(&t, "a@x", b"k1"), Ok(KeyStatus::New));
        t.trust_key(
            "a@x",
            TrustedKey {
                key: b"k1".to_vec(),
                petname: "laptop".into(),
            },
        )
        .unwrap();
        assert_eq!(
            status(&t, "a@x", b"k1"),
            Ok(KeyStatus::Trusted {
                petname: "laptop".into()
            })
        );
        assert!(matches!(
            status(&t, "a@x", b"k2"),
            Ok(KeyStatus::Changed { .. })
        ));
        assert_eq!(
            status(&t, "b@x", b"k1"),
            Ok(KeyStatus::KnownForOtherJids {
                jids: vec!["a@x".into()]
            })
        );
        t.forget_key("a@x", b"k1").unwrap();
        assert_eq!(status(&t, "a@x", b"k1"), Ok(KeyStatus::New));
    }
}
