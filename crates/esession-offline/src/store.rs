//! Alice's offline private values (XEP-0187 §3.1, §3.4, §6.1; DECISIONS D50).
//!
//! ```text
//! publish_options   ──▶ save_published(PublishedOptions { N_A, x per group, expires, … })
//! came_online       ──▶ published_nonces / published(N_A); subscriber sets are
//!                       moved into memory and remove_published(N_A) destroys the
//!                       persistent copy (XEP-0187 §3.4)
//! accept (verified) ──▶ record_seen(N_A, d, N_B): false = replay (D50)
//! ```
//!
//! [`OfflineStore`] extends the online layer's [`SessionStore`] (retained
//! secrets and trusted keys), so one store serves an account's online and
//! offline sessions. [`MemoryOfflineStore`] keeps everything in memory;
//! `esession-store` implements both traits on SQLite, encrypted at rest.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::SystemTime;

use esession_crypto::SecretBytes;
use esession_online::{MemoryStore, RetainedSecret, SessionStore, StoreError, StoreOp, TrustedKey};

/// Which PEP node a set of options was published to (XEP-0187 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Audience {
    /// `http://www.xmpp.org/extensions/xep-0187.html#ns`, presence access:
    /// replaced each time Alice goes offline; when she comes back the
    /// persistent copy of its x values is destroyed and its seen d/N_B values
    /// count "since she came online" (XEP-0187 §3.4).
    Subscribers,
    /// `http://www.xmpp.org/extensions/xep-0116.html#ns`, open access:
    /// long-lived; its x values and every seen d/N_B stay in persistent
    /// storage until Alice publishes new options (XEP-0187 §6.1).
    Everyone,
}

impl Audience {
    /// The PEP node of this audience.
    pub fn node(self) -> &'static str {
        match self {
            Audience::Subscribers => esession_wire::NS_OFFLINE,
            Audience::Everyone => esession_wire::NS_ESESSION,
        }
    }

    /// The XEP-0060 access model (XEP-0187 §3.1).
    pub fn access_model(self) -> &'static str {
        match self {
            Audience::Subscribers => "presence",
            Audience::Everyone => "open",
        }
    }
}

/// One private DH value Alice published the public half of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateValue {
    /// The MODP group number (`modp` option).
    pub group: u32,
    /// mpi(x). Secret: zeroized on drop, redacted in `Debug`.
    pub x: SecretBytes,
}

/// Everything Alice must keep about one published options form (XEP-0187
/// §3.1: "her value of NA …, all her values of x … and the time … her offline
/// ESession options will expire").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedOptions {
    /// N_A, the `my_nonce` of the form: the key of the record.
    pub n_a: Vec<u8>,
    /// The node it was published to.
    pub audience: Audience,
    /// The expiry time, as written in the form (second precision).
    pub expires: SystemTime,
    /// One x per offered MODP group, in offer order.
    pub x: Vec<PrivateValue>,
    /// The options form as published (`<x/>` text, public): Alice checks
    /// Bob's choices against it (DECISIONS D26).
    pub options_xml: String,
}

impl PublishedOptions {
    /// mpi(x) for `group`, if Alice published one.
    pub fn x_for(&self, group: u32) -> Option<&SecretBytes> {
        self.x.iter().find(|v| v.group == group).map(|v| &v.x)
    }

    /// DECISIONS D50: expired means now ≥ expires.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires
    }
}

/// Where Alice keeps her published offline private values.
///
/// One store belongs to one account. Implementations must:
///
/// - keep x values secret (encrypt them at rest; never log them);
/// - make every method atomic: after a crash a record is either wholly
///   present or wholly absent, and a seen value either recorded or not;
/// - destroy x values and their seen d/N_B values together in
///   [`OfflineStore::remove_published`] (overwrite, not merely unlink, where
///   the medium allows; XEP-0187 §7.4).
///
/// Errors are the [`SessionStore`]'s, reported as [`crate::Error::Store`];
/// they must not contain secrets.
pub trait OfflineStore: SessionStore {
    /// Saves a newly published set of options. If a record with the same
    /// audience exists, it is replaced together with its seen values (new
    /// options for a node supersede the old ones; XEP-0187 §6.1). A record of
    /// the other audience is kept.
    fn save_published(&mut self, published: PublishedOptions) -> Result<(), Self::Error>;

    /// The record whose N_A is `n_a`, if any.
    fn published(&self, n_a: &[u8]) -> Result<Option<PublishedOptions>, Self::Error>;

    /// The N_A of every record held, in any order.
    fn published_nonces(&self) -> Result<Vec<Vec<u8>>, Self::Error>;

    /// Destroys the record of `n_a` and its seen values. Removing an absent
    /// record is not an error.
    fn remove_published(&mut self, n_a: &[u8]) -> Result<(), Self::Error>;

    /// Atomically checks and records the d (mpi) and N_B of an offline init
    /// that verified under `n_a` (DECISIONS D50). Returns `true` if neither
    /// was seen before for `n_a` (both are now recorded) and `false` if
    /// either was (nothing is changed): the caller rejects a replay.
    fn record_seen(&mut self, n_a: &[u8], d: &[u8], n_b: &[u8]) -> Result<bool, Self::Error>;
}

#[derive(Debug, Clone, Default)]
struct Entry {
    published: Option<PublishedOptions>,
    seen_d: Vec<Vec<u8>>,
    seen_n_b: Vec<Vec<u8>>,
}

/// An in-memory [`OfflineStore`] (with a [`MemoryStore`] for its retained
/// secrets and trusted keys): for tests, and for the subscriber options
/// Alice holds only in memory once she is back online (XEP-0187 §3.4).
#[derive(Debug, Clone, Default)]
pub struct MemoryOfflineStore {
    session: MemoryStore,
    by_nonce: BTreeMap<Vec<u8>, Entry>,
}

impl MemoryOfflineStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SessionStore for MemoryOfflineStore {
    type Error = Infallible;

    fn secrets(&self, peer: &str, now: SystemTime) -> Result<Vec<RetainedSecret>, Infallible> {
        self.session.secrets(peer, now)
    }

    fn other_secrets(
        &self,
        peer: &str,
        now: SystemTime,
    ) -> Result<Vec<(String, RetainedSecret)>, Infallible> {
        self.session.other_secrets(peer, now)
    }

    fn store_secret(
        &mut self,
        peer: &str,
        replaces: Option<(&str, &SecretBytes)>,
        new: RetainedSecret,
    ) -> Result<(), Infallible> {
        self.session.store_secret(peer, replaces, new)
    }

    fn secret_proven(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Infallible> {
        self.session.secret_proven(peer, secret)
    }

    fn discard_secret(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Infallible> {
        self.session.discard_secret(peer, secret)
    }

    fn mark_verified(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Infallible> {
        self.session.mark_verified(peer, secret)
    }

    fn trusted_keys(&self, jid: &str) -> Result<Vec<TrustedKey>, Infallible> {
        self.session.trusted_keys(jid)
    }

    fn jids_trusting(&self, key: &[u8]) -> Result<Vec<String>, Infallible> {
        self.session.jids_trusting(key)
    }

    fn trust_key(&mut self, jid: &str, key: TrustedKey) -> Result<(), Infallible> {
        self.session.trust_key(jid, key)
    }

    fn forget_key(&mut self, jid: &str, key: &[u8]) -> Result<(), Infallible> {
        self.session.forget_key(jid, key)
    }
}

impl OfflineStore for MemoryOfflineStore {
    fn save_published(&mut self, published: PublishedOptions) -> Result<(), Self::Error> {
        self.by_nonce.retain(|_, e| {
            e.published
                .as_ref()
                .is_none_or(|p| p.audience != published.audience)
        });
        self.by_nonce.insert(
            published.n_a.clone(),
            Entry {
                published: Some(published),
                ..Entry::default()
            },
        );
        Ok(())
    }

    fn published(&self, n_a: &[u8]) -> Result<Option<PublishedOptions>, Self::Error> {
        Ok(self.by_nonce.get(n_a).and_then(|e| e.published.clone()))
    }

    fn published_nonces(&self) -> Result<Vec<Vec<u8>>, Self::Error> {
        Ok(self
            .by_nonce
            .iter()
            .filter(|(_, e)| e.published.is_some())
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn remove_published(&mut self, n_a: &[u8]) -> Result<(), Self::Error> {
        self.by_nonce.remove(n_a);
        Ok(())
    }

    fn record_seen(&mut self, n_a: &[u8], d: &[u8], n_b: &[u8]) -> Result<bool, Self::Error> {
        let e = self.by_nonce.entry(n_a.to_vec()).or_default();
        if e.seen_d.iter().any(|v| v == d) || e.seen_n_b.iter().any(|v| v == n_b) {
            return Ok(false);
        }
        e.seen_d.push(d.to_vec());
        e.seen_n_b.push(n_b.to_vec());
        Ok(true)
    }
}

/// Maps a store failure of `op` to this crate's error.
pub(crate) fn store_err<S: SessionStore + ?Sized>(
    op: StoreOp,
) -> impl FnOnce(S::Error) -> crate::Error {
    move |e| crate::Error::Store(StoreError::new(op, e))
}
