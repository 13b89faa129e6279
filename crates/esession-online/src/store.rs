//! What a session keeps between negotiations: retained secrets (XEP-0116
//! §4.6.4, §4.7.3, §4.8.1; DECISIONS D33, D34, D37) and the public keys the
//! user trusts (XEP-0116 §8.5), behind one fallible trait, [`SessionStore`].
//!
//! ```text
//! Alice, msg2:  secrets(peer)                 → rshashes = HMAC(N_A, RS) + 1-3 randoms
//!               trusted_keys(peer)            → hash-mode substitution (D30), key status
//! Bob,   msg3:  secrets(peer), other_secrets  → SRS; secret_proven(SRS)
//!               store_secret(peer, SRS, new RS, pending)       before msg4 goes out (D37)
//! Bob:          secret_proven(new RS)         on Alice's first authentic stanza
//!               discard_secret(new RS)        on her error answering msg4
//! Alice, msg4:  secret_proven(SRS); store_secret(peer, SRS, new RS)  after verifying it
//! confirm_sas:  mark_verified(peer, RS)
//! trust_peer_key:  trust_key(peer, key)
//! ```
//!
//! Secrets are keyed by the contact's bare JID; one store belongs to one
//! account. Every method can fail with the store's own error: the endpoint
//! turns a failure into [`crate::Error::Store`] and never reports a session
//! as established on a secret it could not persist. [`MemoryStore`] keeps
//! everything in memory (at most [`MAX_SECRETS_PER_PEER`] secrets per
//! contact, each for [`SECRET_LIFETIME`], D34); `esession-store` persists the
//! same trait in SQLite.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use esession_crypto::SecretBytes;
use esession_crypto::secret::ct_eq;

/// At most this many secrets per (account, contact) are kept; the oldest goes (D34).
pub const MAX_SECRETS_PER_PEER: usize = 8;

/// A retained secret expires this long after it was stored (365 days, D34).
pub const SECRET_LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// One retained secret with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedSecret {
    /// The secret: HMAC(K_final, "New Retained Secret") of an earlier session.
    /// Zeroized on drop, redacted in `Debug`.
    pub secret: SecretBytes,
    /// When it was stored.
    pub stored_at: SystemTime,
    /// Whether this chain of sessions was ever SAS-verified by the user.
    pub verified: bool,
    /// Bob's new secret not yet proven accepted by Alice (D37): it is held
    /// beside the secret it replaces until [`SessionStore::secret_proven`]
    /// or [`SessionStore::discard_secret`] settles which one stays.
    pub pending: bool,
}

impl RetainedSecret {
    /// A secret stored at `stored_at`, neither verified nor pending.
    pub fn new(secret: SecretBytes, stored_at: SystemTime) -> Self {
        RetainedSecret {
            secret,
            stored_at,
            verified: false,
            pending: false,
        }
    }

    /// True once [`SECRET_LIFETIME`] has passed since it was stored.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now.duration_since(self.stored_at)
            .is_ok_and(|age| age >= SECRET_LIFETIME)
    }
}

/// A key the user trusts for a contact, with the name the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// pubKey: the D28 `<KeyValue/>` bytes.
    pub key: Vec<u8>,
    /// The user's name for the key (XEP-0116 §8.5 "petname").
    pub petname: String,
}

impl TrustedKey {
    /// `key` as a trusted key: its D28 pubKey bytes under `petname`.
    pub fn of(
        key: &esession_crypto::sign::VerifyingKey,
        petname: &str,
    ) -> Result<Self, esession_wire::Error> {
        Ok(TrustedKey {
            key: esession_wire::key_bytes(key)?,
            petname: petname.to_owned(),
        })
    }
}

/// Where an account keeps its retained secrets and trusted keys.
///
/// `peer` and `jid` are always bare JIDs (`user@host`). Implementations must
/// not log secrets, and must make each write atomic: after a failure the
/// store holds what it held before the call.
pub trait SessionStore {
    /// The store's error (for an in-memory store, [`Infallible`]).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The non-expired secrets held for `peer`, pending ones included, most
    /// recent first.
    fn secrets(&self, peer: &str, now: SystemTime) -> Result<Vec<RetainedSecret>, Self::Error>;

    /// The non-expired secrets held for every other contact: Bob's extended
    /// search (D34).
    fn other_secrets(
        &self,
        peer: &str,
        now: SystemTime,
    ) -> Result<Vec<(String, RetainedSecret)>, Self::Error>;

    /// Stores `new` for `peer`, keeping at most [`MAX_SECRETS_PER_PEER`].
    ///
    /// `replaces` names the secret this session matched (its SRS, held for
    /// `replaces.0`). If `new.pending` is false it is removed now (D34: "the
    /// matched SRS is replaced by the new secret"); if `new.pending` is true
    /// it stays until [`SessionStore::secret_proven`] or
    /// [`SessionStore::discard_secret`] settles the pair (D37).
    fn store_secret(
        &mut self,
        peer: &str,
        replaces: Option<(&str, &SecretBytes)>,
        new: RetainedSecret,
    ) -> Result<(), Self::Error>;

    /// The peer proved it holds `secret` of `peer` (its first authentic
    /// stanza after msg4, or a later `rshashes`/`srshash` that matched it):
    /// a pending `secret` becomes final and the secret it was to replace is
    /// destroyed; a pending secret that was to replace `secret` is destroyed
    /// (D37). Anything else is left as it is.
    fn secret_proven(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Self::Error>;

    /// Destroys `secret` of `peer` (Bob's pending secret after Alice's error
    /// answering msg4, D37).
    fn discard_secret(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Self::Error>;

    /// Marks `secret` of `peer` as SAS-verified.
    fn mark_verified(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Self::Error>;

    /// The keys trusted for `jid`, oldest first.
    fn trusted_keys(&self, jid: &str) -> Result<Vec<TrustedKey>, Self::Error>;

    /// The JIDs `key` (D28 bytes) is trusted for.
    fn jids_trusting(&self, key: &[u8]) -> Result<Vec<String>, Self::Error>;

    /// Trusts `key` for `jid` (replacing its petname if already trusted).
    fn trust_key(&mut self, jid: &str, key: TrustedKey) -> Result<(), Self::Error>;

    /// Stops trusting `key` (D28 bytes) for `jid`.
    fn forget_key(&mut self, jid: &str, key: &[u8]) -> Result<(), Self::Error>;
}

/// Which store operation failed, for [`StoreError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreOp {
    /// Reading retained secrets.
    ReadSecrets,
    /// Writing, settling or marking a retained secret.
    WriteSecret,
    /// Reading trusted keys.
    ReadKeys,
    /// Writing a trusted key.
    WriteKey,
    /// Reading Alice's published offline values (XEP-0187).
    ReadOffline,
    /// Writing, destroying or recording Alice's offline values (XEP-0187).
    WriteOffline,
}

impl StoreOp {
    fn as_str(self) -> &'static str {
        match self {
            StoreOp::ReadSecrets => "reading retained secrets",
            StoreOp::WriteSecret => "writing a retained secret",
            StoreOp::ReadKeys => "reading trusted keys",
            StoreOp::WriteKey => "writing a trusted key",
            StoreOp::ReadOffline => "reading offline values",
            StoreOp::WriteOffline => "writing offline values",
        }
    }
}

/// A [`SessionStore`] failure as the endpoint reports it: which operation,
/// and the store's own error as the source.
#[derive(Clone)]
pub struct StoreError {
    op: StoreOp,
    source: Arc<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    /// Wraps a store's error.
    pub fn new(op: StoreOp, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError {
            op,
            source: Arc::new(source),
        }
    }

    /// The operation that failed.
    pub fn op(&self) -> StoreOp {
        self.op
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreError")
            .field("op", &self.op)
            .field("source", &self.source.to_string())
            .finish()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op.as_str(), self.source)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// Two store errors are equal when the operation and the message are.
impl PartialEq for StoreError {
    fn eq(&self, other: &Self) -> bool {
        self.op == other.op && self.source.to_string() == other.source.to_string()
    }
}

impl Eq for StoreError {}

/// One secret as [`MemoryStore`] holds it.
#[derive(Debug, Clone)]
struct Held {
    secret: RetainedSecret,
    /// For a pending secret: the (peer, secret) it is to replace.
    replaces: Option<(String, SecretBytes)>,
}

/// An in-memory [`SessionStore`] (for tests and short-lived clients).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    by_peer: BTreeMap<String, Vec<Held>>,
    trusted: BTreeMap<String, Vec<TrustedKey>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many secrets are held for `peer`, expired and pending ones included.
    pub fn len_for(&self, peer: &str) -> usize {
        self.by_peer.get(peer).map_or(0, Vec::len)
    }

    fn remove(&mut self, peer: &str, secret: &SecretBytes) {
        if let Some(list) = self.by_peer.get_mut(peer) {
            list.retain(|h| !ct_eq(h.secret.secret.as_bytes(), secret.as_bytes()));
        }
    }
}

impl SessionStore for MemoryStore {
    type Error = Infallible;

    fn secrets(&self, peer: &str, now: SystemTime) -> Result<Vec<RetainedSecret>, Infallible> {
        Ok(self
            .by_peer
            .get(peer)
            .map(|v| {
                v.iter()
                    .filter(|h| !h.secret.is_expired(now))
                    .map(|h| h.secret.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    fn other_secrets(
        &self,
        peer: &str,
        now: SystemTime,
    ) -> Result<Vec<(String, RetainedSecret)>, Infallible> {
        Ok(self
            .by_peer
            .iter()
            .filter(|(p, _)| p.as_str() != peer)
            .flat_map(|(p, v)| {
                v.iter()
                    .filter(|h| !h.secret.is_expired(now))
                    .map(|h| (p.clone(), h.secret.clone()))
            })
            .collect())
    }

    fn store_secret(
        &mut self,
        peer: &str,
        replaces: Option<(&str, &SecretBytes)>,
        new: RetainedSecret,
    ) -> Result<(), Infallible> {
        let replaces = replaces.map(|(p, s)| (p.to_owned(), s.clone()));
        let link = match replaces {
            Some((old_peer, old)) if !new.pending => {
                self.remove(&old_peer, &old);
                None
            }
            other => other,
        };
        let list = self.by_peer.entry(peer.to_owned()).or_default();
        list.insert(
            0,
            Held {
                secret: new,
                replaces: link,
            },
        );
        list.truncate(MAX_SECRETS_PER_PEER);
        Ok(())
    }

    fn secret_proven(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Infallible> {
        let is = |h: &Held| ct_eq(h.secret.secret.as_bytes(), secret.as_bytes());
        let mut replaced = None;
        if let Some(h) = self
            .by_peer
            .get_mut(peer)
            .and_then(|l| l.iter_mut().find(|h| is(h)))
            && h.secret.pending
        {
            h.secret.pending = false;
            replaced = h.replaces.take();
        }
        if let Some((old_peer, old)) = replaced {
            self.remove(&old_peer, &old);
        }
        // A pending secret that was to replace `secret` lost.
        let lost = |h: &Held| match &h.replaces {
            Some((owner, replaced)) => {
                let same = ct_eq(replaced.as_bytes(), secret.as_bytes());
                same && owner.as_str() == peer
            }
            None => false,
        };
        for list in self.by_peer.values_mut() {
            list.retain(|h| !lost(h));
        }
        Ok(())
    }

    fn discard_secret(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Infallible> {
        self.remove(peer, secret);
        Ok(())
    }

    fn mark_verified(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Infallible> {
        if let Some(list) = self.by_peer.get_mut(peer) {
            for h in list
                .iter_mut()
                .filter(|h| ct_eq(h.secret.secret.as_bytes(), secret.as_bytes()))
            {
                h.secret.verified = true;
            }
        }
        Ok(())
    }

    fn trusted_keys(&self, jid: &str) -> Result<Vec<TrustedKey>, Infallible> {
        Ok(self.trusted.get(jid).cloned().unwrap_or_default())
    }

    fn jids_trusting(&self, key: &[u8]) -> Result<Vec<String>, Infallible> {
        Ok(self
            .trusted
            .iter()
            .filter(|(_, keys)| keys.iter().any(|k| k.key == key))
            .map(|(j, _)| j.clone())
            .collect())
    }

    fn trust_key(&mut self, jid: &str, key: TrustedKey) -> Result<(), Infallible> {
        let list = self.trusted.entry(jid.to_owned()).or_default();
        list.retain(|k| k.key != key.key);
        list.push(key);
        Ok(())
    }

    fn forget_key(&mut self, jid: &str, key: &[u8]) -> Result<(), Infallible> {
        if let Some(list) = self.trusted.get_mut(jid) {
            list.retain(|k| k.key != key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(b: u8, at: SystemTime) -> RetainedSecret {
        RetainedSecret::new(SecretBytes::new(vec![b; 32]), at)
    }

    fn bytes(s: &[RetainedSecret]) -> Vec<u8> {
        s.iter().map(|r| r.secret.as_bytes()[0]).collect()
    }

    #[test]
    fn keeps_eight_newest_and_expires_after_a_year() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut s = MemoryStore::new();
        for i in 0..10 {
            s.store_secret("bob@example.com", None, rs(i, t0)).unwrap();
        }
        let held = s.secrets("bob@example.com", t0).unwrap();
        assert_eq!(held.len(), MAX_SECRETS_PER_PEER);
        assert_eq!(held[0].secret.as_bytes(), &[9; 32]);
        assert!(
            s.secrets("bob@example.com", t0 + SECRET_LIFETIME)
                .unwrap()
                .is_empty()
        );
        let just_before = t0 + SECRET_LIFETIME - Duration::from_secs(1);
        assert_eq!(s.secrets("bob@example.com", just_before).unwrap().len(), 8);
    }

    #[test]
    fn replacement_moves_a_secret_between_jids_and_verification_sticks() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut s = MemoryStore::new();
        s.store_secret("old@example.com", None, rs(1, t0)).unwrap();
        assert_eq!(s.other_secrets("new@example.com", t0).unwrap().len(), 1);
        let old = SecretBytes::new(vec![1; 32]);
        s.store_secret(
            "new@example.com",
            Some(("old@example.com", &old)),
            rs(2, t0),
        )
        .unwrap();
        assert!(s.secrets("old@example.com", t0).unwrap().is_empty());
        s.mark_verified("new@example.com", &SecretBytes::new(vec![2; 32]))
            .unwrap();
        assert!(s.secrets("new@example.com", t0).unwrap()[0].verified);
    }

    #[test]
    fn a_pending_secret_is_settled_by_proof_or_discard() {
        let t0 = SystemTime::UNIX_EPOCH;
        let peer = "alice@example.org";
        let (old, new) = (SecretBytes::new(vec![1; 32]), SecretBytes::new(vec![2; 32]));
        let pending = || RetainedSecret {
            pending: true,
            ..rs(2, t0)
        };
        let mut s = MemoryStore::new();
        s.store_secret(peer, None, rs(1, t0)).unwrap();
        s.store_secret(peer, Some((peer, &old)), pending()).unwrap();
        // Both are held, the new one pending.
        let held = s.secrets(peer, t0).unwrap();
        assert_eq!(bytes(&held), vec![2, 1]);
        assert!(held[0].pending && !held[1].pending);

        // Proof of the new one: it alone stays, no longer pending.
        let mut proven = s.clone();
        proven.secret_proven(peer, &new).unwrap();
        let held = proven.secrets(peer, t0).unwrap();
        assert_eq!(bytes(&held), vec![2]);
        assert!(!held[0].pending);

        // Proof of the old one: the pending one goes.
        let mut kept = s.clone();
        kept.secret_proven(peer, &old).unwrap();
        assert_eq!(bytes(&kept.secrets(peer, t0).unwrap()), vec![1]);

        // An error answering msg4: the pending one is discarded.
        s.discard_secret(peer, &new).unwrap();
        assert_eq!(bytes(&s.secrets(peer, t0).unwrap()), vec![1]);
    }

    #[test]
    fn trusted_keys_by_jid_and_by_key() {
        let mut s = MemoryStore::new();
        let k = |b: &[u8], name: &str| TrustedKey {
            key: b.to_vec(),
            petname: name.to_owned(),
        };
        s.trust_key("a@x", k(b"k1", "laptop")).unwrap();
        s.trust_key("b@x", k(b"k1", "shared")).unwrap();
        s.trust_key("a@x", k(b"k1", "renamed")).unwrap();
        assert_eq!(s.trusted_keys("a@x").unwrap(), vec![k(b"k1", "renamed")]);
        assert_eq!(s.jids_trusting(b"k1").unwrap(), vec!["a@x", "b@x"]);
        s.forget_key("a@x", b"k1").unwrap();
        assert!(s.trusted_keys("a@x").unwrap().is_empty());
    }
}
