//! Public-key identities (XEP-0116 §4.5.4, §4.6.3, §8; DECISIONS D27-D31) and
//! the trust store (XEP-0116 §8.5).
//!
//! ```text
//! mode none:  identity plaintext = macX                                  pubKey = ""
//! mode key:   identity plaintext = <KeyValue>…</KeyValue> ‖ <SignatureValue>b64(SIGN(macX))</SignatureValue>
//! mode hash:  identity plaintext = <fingerprint>b64(HASH(pubKey))</fingerprint> ‖ <SignatureValue>…
//!             (the receiver substitutes the key it stored for the JID; none stored: terminate, D30)
//! macX always covers the full D28 pubKey bytes.
//! after verification: TrustStore → PeerKey { status: Trusted | New | Changed | KnownForOtherJids }
//!                     → the application accepts (trust_peer_key) or aborts (reject_peer_key)
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use esession_crypto::hash::HashAlg;
use esession_crypto::rand_core::CryptoRng;
use esession_crypto::sign::{PublicKeyComponents, SignAlg, SigningKey, VerifyingKey};
use esession_sigma::identity::{self, PubKeyPart};
use esession_wire::KeyValue;

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

    /// The signature algorithm of the key.
    pub fn alg(&self) -> SignAlg {
        self.0.alg()
    }

    /// pubKey: the D28 `<KeyValue/>` bytes.
    pub fn key_bytes(&self) -> Result<Vec<u8>, Error> {
        key_value_of(&self.0.verifying_key())?
            .normalized()
            .map_err(Error::Encode)
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

/// The XML-DSig `<KeyValue/>` of a verifying key (D28).
pub fn key_value_of(key: &VerifyingKey) -> Result<KeyValue, Error> {
    Ok(match key.components() {
        PublicKeyComponents::Rsa { modulus, exponent } => KeyValue::Rsa { modulus, exponent },
        PublicKeyComponents::Dsa { p, q, g, y } => KeyValue::Dsa { p, q, g, y },
        PublicKeyComponents::EcP256 { x, y } => {
            // The uncompressed SEC1 point 0x04 ‖ X ‖ Y.
            let mut public_key = vec![4u8];
            public_key.extend_from_slice(&x);
            public_key.extend_from_slice(&y);
            KeyValue::EcP256 { public_key }
        }
        _ => return Err(Error::Config("a key type without a <KeyValue/> form")),
    })
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
    let key_bytes = key_value_of(key)?.normalized().map_err(Error::Encode)?;
    Ok(fingerprint_of(&key_bytes))
}

/// The verifying key of D28 pubKey bytes.
pub fn verifying_key_of(key_bytes: &[u8]) -> Result<VerifyingKey, Error> {
    let bad = |_| Error::from(PeerMisbehaved::IdentityMismatch);
    let components = match KeyValue::from_normalized(key_bytes).map_err(bad)? {
        KeyValue::Rsa { modulus, exponent } => PublicKeyComponents::Rsa { modulus, exponent },
        KeyValue::Dsa { p, q, g, y } => PublicKeyComponents::Dsa { p, q, g, y },
        KeyValue::EcP256 { public_key } => match public_key.split_first() {
            Some((4, xy)) if xy.len() == 64 => PublicKeyComponents::EcP256 {
                x: xy[..32].to_vec(),
                y: xy[32..].to_vec(),
            },
            _ => return Err(PeerMisbehaved::IdentityMismatch.into()),
        },
        _ => return Err(PeerMisbehaved::IdentityMismatch.into()),
    };
    VerifyingKey::from_components(&components).map_err(|_| PeerMisbehaved::IdentityMismatch.into())
}

/// A key the user trusts for a contact, with the name the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// pubKey: the D28 `<KeyValue/>` bytes.
    pub key: Vec<u8>,
    /// The user's name for the key (XEP-0116 §8.5 "petname").
    pub petname: String,
}

/// Where the keys the user trusts live: fingerprints tied to bare JIDs
/// (XEP-0116 §8.5). `jid` is always a bare JID.
pub trait TrustStore {
    /// The keys trusted for `jid`.
    fn keys_for(&self, jid: &str) -> Vec<TrustedKey>;
    /// The JIDs `key` (D28 bytes) is trusted for.
    fn jids_for(&self, key: &[u8]) -> Vec<String>;
    /// Trusts `key` for `jid` (replacing its petname if already trusted).
    fn trust(&mut self, jid: &str, key: TrustedKey);
    /// Stops trusting `key` for `jid`.
    fn forget(&mut self, jid: &str, key: &[u8]);
}

/// An in-memory [`TrustStore`].
#[derive(Debug, Clone, Default)]
pub struct MemoryTrustStore {
    by_jid: BTreeMap<String, Vec<TrustedKey>>,
}

impl MemoryTrustStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TrustStore for MemoryTrustStore {
    fn keys_for(&self, jid: &str) -> Vec<TrustedKey> {
        self.by_jid.get(jid).cloned().unwrap_or_default()
    }

    fn jids_for(&self, key: &[u8]) -> Vec<String> {
        self.by_jid
            .iter()
            .filter(|(_, keys)| keys.iter().any(|k| k.key == key))
            .map(|(j, _)| j.clone())
            .collect()
    }

    fn trust(&mut self, jid: &str, key: TrustedKey) {
        let list = self.by_jid.entry(jid.to_owned()).or_default();
        list.retain(|k| k.key != key.key);
        list.push(key);
    }

    fn forget(&mut self, jid: &str, key: &[u8]) {
        if let Some(list) = self.by_jid.get_mut(jid) {
            list.retain(|k| k.key != key);
        }
    }
}

/// A trust store that trusts nothing (used when the application gives none).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTrustStore;

impl TrustStore for NoTrustStore {
    fn keys_for(&self, _jid: &str) -> Vec<TrustedKey> {
        Vec::new()
    }
    fn jids_for(&self, _key: &[u8]) -> Vec<String> {
        Vec::new()
    }
    fn trust(&mut self, _jid: &str, _key: TrustedKey) {}
    fn forget(&mut self, _jid: &str, _key: &[u8]) {}
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
pub(crate) fn status(trust: &dyn TrustStore, jid: &str, key: &[u8]) -> KeyStatus {
    let known = trust.keys_for(jid);
    if let Some(k) = known.iter().find(|k| k.key == key) {
        return KeyStatus::Trusted {
            petname: k.petname.clone(),
        };
    }
    if !known.is_empty() {
        return KeyStatus::Changed { previous: known };
    }
    let jids: Vec<String> = trust
        .jids_for(key)
        .into_iter()
        .filter(|j| j != jid)
        .collect();
    if jids.is_empty() {
        KeyStatus::New
    } else {
        KeyStatus::KnownForOtherJids { jids }
    }
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
/// (sent, or substituted from the trust store in hash mode) and the signature.
pub(crate) fn peer_key_bytes(
    mode: PubkeyMode,
    hash: HashAlg,
    plaintext: &[u8],
    trust: &dyn TrustStore,
    jid: &str,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let signed =
        identity::parse_signed_identity(plaintext).map_err(|_| PeerMisbehaved::IdentityMismatch)?;
    let key = match (mode, signed.pub_key) {
        (PubkeyMode::Key, PubKeyPart::KeyValue(k)) => k,
        (PubkeyMode::Hash, PubKeyPart::Fingerprint(fp)) => trust
            .keys_for(jid)
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
    let vk = verifying_key_of(key_bytes)?;
    if Some(vk.alg()) != alg {
        return Err(PeerMisbehaved::IdentityMismatch.into());
    }
    vk.verify(mac_x, signature)
        .map_err(|_| PeerMisbehaved::IdentityMismatch.into())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut t = MemoryTrustStore::new();
        assert_eq!(status(&t, "a@x", b"k1"), KeyStatus::New);
        t.trust(
            "a@x",
            TrustedKey {
                key: b"k1".to_vec(),
                petname: "laptop".into(),
            },
        );
        assert_eq!(
            status(&t, "a@x", b"k1"),
            KeyStatus::Trusted {
                petname: "laptop".into()
            }
        );
        assert!(matches!(
            status(&t, "a@x", b"k2"),
            KeyStatus::Changed { .. }
        ));
        assert_eq!(
            status(&t, "b@x", b"k1"),
            KeyStatus::KnownForOtherJids {
                jids: vec!["a@x".into()]
            }
        );
        t.forget("a@x", b"k1");
        assert_eq!(status(&t, "a@x", b"k1"), KeyStatus::New);
    }
}
