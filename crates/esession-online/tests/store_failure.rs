#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
//! A store that cannot write: the negotiation ends in a typed store error,
//! never in `Established` on a secret that was not persisted, and the peer
//! is told, so that it discards the negotiation too (XEP0116-029, D37).

use std::time::{Duration, SystemTime};

use esession_crypto::SecretBytes;
use esession_online::{
    Config, Endpoint, Error, MemoryStore, Output, RetainedSecret, SessionStore, StoreOp, TrustedKey,
};
use esession_wire::Stanza;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// The store's own error.
#[derive(Debug, thiserror::Error)]
#[error("disk full")]
struct DiskFull;

/// A [`MemoryStore`] whose writes fail while `fail_writes` is set.
#[derive(Default)]
struct FailingStore {
    inner: MemoryStore,
    fail_writes: bool,
}

impl FailingStore {
    fn write<T>(&mut self, f: impl FnOnce(&mut MemoryStore) -> T) -> Result<T, DiskFull> {
        if self.fail_writes {
            Err(DiskFull)
        } else {
            Ok(f(&mut self.inner))
        }
    }
}

impl SessionStore for FailingStore {
    type Error = DiskFull;

    fn secrets(&self, peer: &str, now: SystemTime) -> Result<Vec<RetainedSecret>, DiskFull> {
        Ok(self.inner.secrets(peer, now).unwrap())
    }
    fn other_secrets(
        &self,
        peer: &str,
        now: SystemTime,
    ) -> Result<Vec<(String, RetainedSecret)>, DiskFull> {
        Ok(self.inner.other_secrets(peer, now).unwrap())
    }
    fn store_secret(
        &mut self,
        peer: &str,
        replaces: Option<(&str, &SecretBytes)>,
        new: RetainedSecret,
    ) -> Result<(), DiskFull> {
        self.write(|s| s.store_secret(peer, replaces, new).unwrap())
    }
    fn secret_proven(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), DiskFull> {
        self.write(|s| s.secret_proven(peer, secret).unwrap())
    }
    fn discard_secret(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), DiskFull> {
        self.write(|s| s.discard_secret(peer, secret).unwrap())
    }
    fn mark_verified(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), DiskFull> {
        self.write(|s| s.mark_verified(peer, secret).unwrap())
    }
    fn trusted_keys(&self, jid: &str) -> Result<Vec<TrustedKey>, DiskFull> {
        Ok(self.inner.trusted_keys(jid).unwrap())
    }
    fn jids_trusting(&self, key: &[u8]) -> Result<Vec<String>, DiskFull> {
        Ok(self.inner.jids_trusting(key).unwrap())
    }
    fn trust_key(&mut self, jid: &str, key: TrustedKey) -> Result<(), DiskFull> {
        self.write(|s| s.trust_key(jid, key).unwrap())
    }
    fn forget_key(&mut self, jid: &str, key: &[u8]) -> Result<(), DiskFull> {
        self.write(|s| s.forget_key(jid, key).unwrap())
    }
}

struct Side {
    jid: &'static str,
    ep: Endpoint<ChaCha20Rng>,
    store: FailingStore,
    events: Vec<Output>,
}

impl Side {
    /// The stanzas it queued (as received text), its other outputs kept.
    fn sent(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(o) = self.ep.poll_output() {
            match o {
                Output::Send(mut s) => {
                    s.set_attr("from", self.jid);
                    out.push(s.to_xml());
                }
                other => self.events.push(other),
            }
        }
        out
    }
    fn deliver(&mut self, now: SystemTime, text: &[String]) {
        for t in text {
            let _ = self
                .ep
                .handle_stanza(now, Stanza::parse(t).unwrap(), &mut self.store);
        }
    }
    fn established(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Output::Established(_)))
    }
    fn failure(&self) -> Option<&Error> {
        self.events.iter().find_map(|e| match e {
            Output::Failed(x) => Some(x),
            _ => None,
        })
    }
}

/// A 4-message negotiation with `fail` deciding whose store cannot write.
fn negotiate(alice_fails: bool, bob_fails: bool) -> (Side, Side) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let side = |jid, ep, fail_writes| Side {
        jid,
        ep,
        store: FailingStore {
            fail_writes,
            ..FailingStore::default()
        },
        events: Vec::new(),
    };
    let a = Endpoint::initiate(
        Config::default(),
        ChaCha20Rng::seed_from_u64(1),
        now,
        "bob@example.com",
    )
    .unwrap();
    let b = Endpoint::responder(Config::default(), ChaCha20Rng::seed_from_u64(2)).unwrap();
    let (mut a, mut b) = (
        side("alice@example.org/pda", a, alice_fails),
        side("bob@example.com/laptop", b, bob_fails),
    );
    let msg1 = a.sent();
    b.deliver(now, &msg1);
    b.sent();
    b.ep.accept(now).unwrap();
    for _ in 0..4 {
        let from_b = b.sent();
        a.deliver(now, &from_b);
        let from_a = a.sent();
        b.deliver(now, &from_a);
    }
    (a, b)
}

fn is_store_error(e: Option<&Error>) -> bool {
    matches!(e, Some(Error::Store(s)) if s.op() == StoreOp::WriteSecret
        && s.to_string().contains("disk full"))
}

#[test]
fn bob_cannot_store_the_new_secret_so_he_sends_no_msg4_and_alice_is_told() {
    let (a, b) = negotiate(false, true);
    assert!(is_store_error(b.failure()), "{:?}", b.failure());
    assert!(!b.established() && b.ep.is_closed());
    // Alice got an error instead of msg4: the negotiation is over for her too.
    assert!(
        matches!(a.failure(), Some(Error::Rejected { .. })),
        "{:?}",
        a.failure()
    );
    assert!(!a.established());
    assert!(
        a.store
            .inner
            .secrets("bob@example.com", SystemTime::now())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn alice_cannot_store_the_new_secret_so_bob_discards_his() {
    let (a, b) = negotiate(true, false);
    assert!(is_store_error(a.failure()), "{:?}", a.failure());
    assert!(!a.established() && a.ep.is_closed());
    // Bob had sent msg4; Alice's error tells him she never accepted it, so
    // his pending secret goes (D37) and the session ends.
    assert!(matches!(b.failure(), Some(Error::Rejected { .. })));
    assert!(b.ep.is_closed());
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    assert!(
        b.store
            .inner
            .secrets("alice@example.org", t)
            .unwrap()
            .is_empty()
    );
}
