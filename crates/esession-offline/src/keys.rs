//! Public keys: the D28 `<KeyValue>` bytes of a signing key, and which keys
//! a party trusts for a contact (XEP-0187 §3.2, §3.4).

use std::collections::BTreeMap;

use esession_crypto::sign::{PublicKeyComponents, SignAlg, VerifyingKey};
use esession_wire::KeyValue;

use crate::Error;

/// The D28 `<KeyValue>` element of `key`, as a wire value.
pub fn key_value(key: &VerifyingKey) -> Result<KeyValue, Error> {
    match key.components() {
        PublicKeyComponents::Rsa { modulus, exponent } => Ok(KeyValue::Rsa { modulus, exponent }),
        PublicKeyComponents::Dsa { p, q, g, y } => Ok(KeyValue::Dsa { p, q, g, y }),
        _ => Err(Error::Config(
            "only RSA and DSA keys are used in XEP-0116 (D31)",
        )),
    }
}

/// pubKey: the normalized `<KeyValue>` bytes of `key` (DECISIONS D28).
pub fn key_value_bytes(key: &VerifyingKey) -> Result<Vec<u8>, Error> {
    Ok(key_value(key)?.normalized()?)
}

/// Reads a received pubKey (exactly normalized, D28/D29) into a key.
pub(crate) fn verifying_key_from_bytes(bytes: &[u8]) -> Result<VerifyingKey, Error> {
    let kv = KeyValue::from_normalized(bytes).map_err(|_| Error::BadIdentity)?;
    let components = match kv {
        KeyValue::Rsa { modulus, exponent } => PublicKeyComponents::Rsa { modulus, exponent },
        KeyValue::Dsa { p, q, g, y } => PublicKeyComponents::Dsa { p, q, g, y },
        _ => return Err(Error::BadIdentity),
    };
    VerifyingKey::from_components(&components).map_err(|_| Error::BadIdentity)
}

/// The `sign_algs` URIs a key can produce (D31: RSA and DSA only).
pub(crate) fn sign_alg_allowed(alg: SignAlg) -> bool {
    matches!(alg, SignAlg::RsaSha256 | SignAlg::DsaSha256)
}

/// Which public keys a party trusts for which contact.
///
/// Bob asks it for Alice's keys before he believes her options (XEP-0187
/// §3.2); Alice asks whether Bob's key is his (§3.4). `bare_jid` is always a
/// bare JID (`user@host`).
pub trait TrustedKeys {
    /// The keys trusted for `bare_jid`.
    fn keys_for(&self, bare_jid: &str) -> Vec<VerifyingKey>;
}

/// A [`TrustedKeys`] held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryTrustedKeys {
    by_jid: BTreeMap<String, Vec<VerifyingKey>>,
}

impl MemoryTrustedKeys {
    /// No key trusted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` for `bare_jid`.
    pub fn trust(&mut self, bare_jid: &str, key: VerifyingKey) {
        self.by_jid
            .entry(bare_jid.to_owned())
            .or_default()
            .push(key);
    }
}

impl TrustedKeys for MemoryTrustedKeys {
    fn keys_for(&self, bare_jid: &str) -> Vec<VerifyingKey> {
        self.by_jid.get(bare_jid).cloned().unwrap_or_default()
    }
}

/// `user@host` of a JID (drops the resource).
pub fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(b, _)| b)
}
