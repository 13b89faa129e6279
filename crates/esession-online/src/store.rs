//! Retained secrets (XEP-0116 §4.6.4, §4.7.3, §4.8.1; DECISIONS D33, D34, D37).
//!
//! ```text
//! Alice, msg3:  secrets(peer)             → rshashes = HMAC(N_A, RS) + 1-3 randoms
//! Bob,   msg3:  secrets(peer), then other_secrets(peer) (extended search)
//!                                         → SRS, srshash
//! Bob,   msg4 sent:      store(peer, replaced SRS, new RS)
//! Alice, msg4 verified:  store(peer, replaced SRS, new RS)
//! confirm_sas:           mark_verified(peer, RS)
//! ```
//!
//! Secrets are keyed by the contact's bare JID. One store belongs to one
//! account (the "client" side of "per contact and client"). [`MemoryStore`]
//! keeps at most [`MAX_SECRETS_PER_PEER`] per contact, each for
//! [`SECRET_LIFETIME`] (D34); persistent stores live in `esession-store`.

use std::collections::BTreeMap;
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
}

impl RetainedSecret {
    /// True once [`SECRET_LIFETIME`] has passed since it was stored.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now.duration_since(self.stored_at)
            .is_ok_and(|age| age >= SECRET_LIFETIME)
    }
}

/// Where the retained secrets of one account live.
///
/// `peer` is always a bare JID (`user@host`). Implementations decide how to
/// persist; they must not log the secrets.
pub trait RetainedSecretStore {
    /// The non-expired secrets held for `peer`, most recent first.
    fn secrets(&self, peer: &str, now: SystemTime) -> Vec<RetainedSecret>;

    /// The non-expired secrets held for every other contact: Bob's extended
    /// search (D34).
    fn other_secrets(&self, peer: &str, now: SystemTime) -> Vec<(String, RetainedSecret)>;

    /// Stores `new` for `peer`. If `replaces` is given (the SRS of this
    /// session, held for `replaces.0`), that secret is removed (D34: "the matched
    /// SRS is replaced by the new secret").
    fn store(&mut self, peer: &str, replaces: Option<(&str, &SecretBytes)>, new: RetainedSecret);

    /// Marks `secret` of `peer` as SAS-verified.
    fn mark_verified(&mut self, peer: &str, secret: &SecretBytes);
}

/// An in-memory [`RetainedSecretStore`] (for tests and short-lived clients).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    by_peer: BTreeMap<String, Vec<RetainedSecret>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many secrets are held for `peer`, expired ones included.
    pub fn len_for(&self, peer: &str) -> usize {
        self.by_peer.get(peer).map_or(0, Vec::len)
    }
}

impl RetainedSecretStore for MemoryStore {
    fn secrets(&self, peer: &str, now: SystemTime) -> Vec<RetainedSecret> {
        self.by_peer
            .get(peer)
            .map(|v| v.iter().filter(|s| !s.is_expired(now)).cloned().collect())
            .unwrap_or_default()
    }

    fn other_secrets(&self, peer: &str, now: SystemTime) -> Vec<(String, RetainedSecret)> {
        self.by_peer
            .iter()
            .filter(|(p, _)| p.as_str() != peer)
            .flat_map(|(p, v)| {
                v.iter()
                    .filter(|s| !s.is_expired(now))
                    .map(|s| (p.clone(), s.clone()))
            })
            .collect()
    }

    fn store(&mut self, peer: &str, replaces: Option<(&str, &SecretBytes)>, new: RetainedSecret) {
        if let Some((old_peer, old)) = replaces
            && let Some(list) = self.by_peer.get_mut(old_peer)
        {
            list.retain(|s| !ct_eq(s.secret.as_bytes(), old.as_bytes()));
        }
        let list = self.by_peer.entry(peer.to_owned()).or_default();
        list.insert(0, new);
        list.truncate(MAX_SECRETS_PER_PEER);
    }

    fn mark_verified(&mut self, peer: &str, secret: &SecretBytes) {
        if let Some(list) = self.by_peer.get_mut(peer) {
            for s in list
                .iter_mut()
                .filter(|s| ct_eq(s.secret.as_bytes(), secret.as_bytes()))
            {
                s.verified = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(b: u8, at: SystemTime) -> RetainedSecret {
        RetainedSecret {
            secret: SecretBytes::new(vec![b; 32]),
            stored_at: at,
            verified: false,
        }
    }

    #[test]
    fn keeps_eight_newest_and_expires_after_a_year() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut s = MemoryStore::new();
        for i in 0..10 {
            s.store("bob@example.com", None, rs(i, t0));
        }
        let held = s.secrets("bob@example.com", t0);
        assert_eq!(held.len(), MAX_SECRETS_PER_PEER);
        assert_eq!(held[0].secret.as_bytes(), &[9; 32]);
        assert!(
            s.secrets("bob@example.com", t0 + SECRET_LIFETIME)
                .is_empty()
        );
        assert_eq!(
            s.secrets(
                "bob@example.com",
                t0 + SECRET_LIFETIME - Duration::from_secs(1)
            )
            .len(),
            8
        );
    }

    #[test]
    fn replacement_moves_a_secret_between_jids_and_verification_sticks() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut s = MemoryStore::new();
        s.store("old@example.com", None, rs(1, t0));
        assert_eq!(s.other_secrets("new@example.com", t0).len(), 1);
        let old = SecretBytes::new(vec![1; 32]);
        s.store(
            "new@example.com",
            Some(("old@example.com", &old)),
            rs(2, t0),
        );
        assert!(s.secrets("old@example.com", t0).is_empty());
        s.mark_verified("new@example.com", &SecretBytes::new(vec![2; 32]));
        assert!(s.secrets("new@example.com", t0)[0].verified);
    }
}
