//! Negative cases of XEP-0187 offline sessions: an init or stanza after the
//! options expired, an init replayed, a later stanza replayed or reordered,
//! and tampering with the signed options or with Bob's identity.
//!
//! Alice's failures are silent (D44: nothing sent); each case checks the
//! typed [`Error`] and that no content came out.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use esession_crypto::sign::{SignAlg, SigningKey};
use esession_offline::{Audience, Error, Initiator, MemoryOfflineStore, Publisher, Receiver};
use esession_online::{Config, MemoryStore, SessionStore, TrustedKey};
use esession_wire::{Element, Stanza};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use super::harness::{CaseResult, check, check_eq, edit, message, t0};

const ALICE: &str = "alice@example.org";
const BOB_FULL: &str = "bob@example.com/laptop";
const LIFETIME: Duration = Duration::from_secs(3600);

/// The two RSA keys, generated once (RSA-2048 generation is the slow part).
fn keys() -> Result<&'static (SigningKey, SigningKey), String> {
    static KEYS: OnceLock<Result<(SigningKey, SigningKey), String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(187);
        let a = SigningKey::generate(SignAlg::RsaSha256, &mut rng).map_err(|e| e.to_string())?;
        let b = SigningKey::generate(SignAlg::RsaSha256, &mut rng).map_err(|e| e.to_string())?;
        Ok((a, b))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Alice published options (expiring at t0 + LIFETIME); Bob started a
/// session with `first` (encrypted in the init) and sealed `later`.
struct World {
    /// Bob's store: Alice's key is trusted.
    trust: MemoryStore,
    /// Alice's store: Bob's key is trusted.
    store: MemoryOfflineStore,
    item: Element,
    init: Stanza,
    later: Vec<Stanza>,
}

fn through_wire(mut s: Stanza) -> Result<Stanza, String> {
    s.set_attr("from", BOB_FULL);
    Stanza::parse(&s.to_xml()).map_err(|e| e.to_string())
}

fn world(seed: u64, later: &[&str]) -> Result<World, String> {
    let (alice_key, bob_key) = keys()?;
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let trusted = |k: &SigningKey| TrustedKey::of(&k.verifying_key(), "known");
    let mut trust = MemoryStore::new();
    let mut store = MemoryOfflineStore::new();
    let (Ok(alice), Ok(bob)) = (trusted(alice_key), trusted(bob_key)) else {
        return Err("key bytes".to_owned());
    };
    let (Ok(()), Ok(())) = (
        trust.trust_key(ALICE, alice),
        store.trust_key("bob@example.com", bob),
    );
    let published = Publisher::new(Config::default(), Audience::Subscribers, t0() + LIFETIME)
        .signing_key(alice_key)
        .publish(&mut rng, &mut store)
        .map_err(|e| format!("publish: {e}"))?;
    let bob = Initiator::new(Config::default(), bob_key).map_err(|e| e.to_string())?;
    let checked = bob
        .check_options(t0(), ALICE, &published.item, &trust)
        .map_err(|e| format!("check_options: {e}"))?;
    let started = bob
        .start(t0(), &checked, Some(message("first")), false, &mut rng)
        .map_err(|e| format!("start: {e}"))?;
    let mut sealed = Vec::new();
    if let Some(mut session) = started.session {
        for b in later {
            sealed.push(through_wire(
                session.seal(t0(), message(b)).map_err(|e| e.to_string())?,
            )?);
        }
    }
    Ok(World {
        trust,
        store,
        item: published.item,
        init: through_wire(started.stanza)?,
        later: sealed,
    })
}

fn receiver(w: &mut World) -> Result<Receiver, String> {
    Ok(Receiver::came_online(Config::default(), &mut w.store)
        .map_err(|e| e.to_string())?
        .receiver)
}

fn expect_err<T: std::fmt::Debug>(
    what: &str,
    got: Result<T, Error>,
    expected: &Error,
) -> CaseResult {
    match got {
        Err(e) if &e == expected => Ok(()),
        other => Err(format!("{what}: expected Err({expected:?}), got {other:?}")),
    }
}

/// Alice accepts the init at exactly `expires` (D50: expired means now ≥
/// expires): discarded undecrypted with Expired; a minute earlier it opens.
pub(crate) fn offline_init_after_expires(seed: u64) -> CaseResult {
    let mut w = world(seed, &[])?;
    let mut r = receiver(&mut w)?;
    let at: SystemTime = t0() + LIFETIME;
    expect_err(
        "accept at expires",
        r.accept(at, w.init.clone(), &mut w.store),
        &Error::Expired,
    )?;
    // The refused stanza left no trace: the same init, a minute earlier, opens.
    let ok = r
        .accept(at - Duration::from_secs(60), w.init.clone(), &mut w.store)
        .map_err(|e| format!("the same init before expires: {e}"))?;
    check(
        "content before expires",
        ok.content
            .is_some_and(|c| c.to_xml().contains("<body>first</body>")),
    )
}

/// Bob finds Alice's options at or after their expiry: he sends nothing
/// (XEP-0187 §3.2, D50).
pub(crate) fn offline_options_expired_for_bob(seed: u64) -> CaseResult {
    let w = world(seed, &[])?;
    let (_, bob_key) = keys()?;
    let bob = Initiator::new(Config::default(), bob_key).map_err(|e| e.to_string())?;
    expect_err(
        "check_options at expires",
        bob.check_options(t0() + LIFETIME, ALICE, &w.item, &w.trust),
        &Error::Expired,
    )
}

/// After purge_expired destroyed the record, a late init is still reported
/// as Expired (not as an unknown nonce), and nothing is decrypted.
pub(crate) fn offline_init_after_purge(seed: u64) -> CaseResult {
    let mut w = world(seed, &[])?;
    let mut r = receiver(&mut w)?;
    let later = t0() + LIFETIME + Duration::from_secs(1);
    let n = r
        .purge_expired(later, &mut w.store)
        .map_err(|e| e.to_string())?;
    check_eq("records purged", n, 1)?;
    expect_err(
        "accept after purge",
        r.accept(later, w.init.clone(), &mut w.store),
        &Error::Expired,
    )
}

/// The same init delivered twice (same d, same N_B): the second is a replay
/// (D50), its content dropped unseen.
pub(crate) fn offline_init_replayed(seed: u64) -> CaseResult {
    let mut w = world(seed, &[])?;
    let mut r = receiver(&mut w)?;
    let now = t0() + Duration::from_secs(60);
    r.accept(now, w.init.clone(), &mut w.store)
        .map_err(|e| format!("first delivery: {e}"))?;
    expect_err(
        "second delivery",
        r.accept(now, w.init.clone(), &mut w.store),
        &Error::Replay,
    )
}

/// A later stanza of the session delivered twice, and two delivered out of
/// order: refused (BadContent), and the session stays usable (a failed open
/// leaves the counter unchanged).
pub(crate) fn offline_stanza_replayed_and_reordered(seed: u64) -> CaseResult {
    let mut w = world(seed, &["two", "three"])?;
    let mut r = receiver(&mut w)?;
    let now = t0() + Duration::from_secs(60);
    let accepted = r
        .accept(now, w.init.clone(), &mut w.store)
        .map_err(|e| format!("init: {e}"))?;
    let mut session = accepted.session.ok_or("no session")?;
    let two = w.later.first().cloned().ok_or("no second stanza")?;
    let three = w.later.get(1).cloned().ok_or("no third stanza")?;
    expect_err(
        "three before two",
        session.open(three.clone()),
        &Error::BadContent,
    )?;
    let opened = session.open(two.clone()).map_err(|e| format!("two: {e}"))?;
    check(
        "two opens",
        opened.content.to_xml().contains("<body>two</body>"),
    )?;
    expect_err("two again", session.open(two), &Error::BadContent)?;
    let opened = session.open(three).map_err(|e| format!("three: {e}"))?;
    check(
        "three opens",
        opened.content.to_xml().contains("<body>three</body>"),
    )
}

/// Bob's M_B altered in flight: BadIdentityMac before ID_B is deciphered;
/// the genuine init still opens afterwards (a forgery does not block it, D50).
pub(crate) fn offline_init_mac_tampered(seed: u64) -> CaseResult {
    let mut w = world(seed, &[])?;
    let mut r = receiver(&mut w)?;
    let now = t0() + Duration::from_secs(60);
    let text = w.init.to_xml();
    let mac = edit::value(&text, "mac")?;
    let forged = Stanza::parse(&edit::set_value(&text, "mac", &edit::flip_b64(&mac)?)?)
        .map_err(|e| e.to_string())?;
    expect_err(
        "tampered M_B",
        r.accept(now, forged, &mut w.store),
        &Error::BadIdentityMac,
    )?;
    r.accept(now, w.init.clone(), &mut w.store)
        .map_err(|e| format!("the genuine init after the forgery: {e}"))?;
    Ok(())
}

/// Downgrade of the published options: an attacker (or the server) strips
/// Alice's preferred group from the options form; its signature no longer
/// verifies and Bob refuses (D48).
pub(crate) fn offline_options_downgraded(seed: u64) -> CaseResult {
    let w = world(seed, &[])?;
    let (_, bob_key) = keys()?;
    let text = w.item.to_xml();
    let modp = edit::values(&text, "modp")?;
    check("two groups offered", modp.len() >= 2)?;
    let first = modp.first().cloned().ok_or("no modp")?;
    let stripped = edit::remove_option(&text, "modp", &first)
        .or_else(|_| edit::remove_value_at(&text, "modp", 0))?;
    let stripped = edit::remove_value_at(&stripped, "dhkeys", 0)?;
    let item = Element::parse(&stripped).map_err(|e| e.to_string())?;
    let bob = Initiator::new(Config::default(), bob_key).map_err(|e| e.to_string())?;
    expect_err(
        "stripped options",
        bob.check_options(t0(), ALICE, &item, &w.trust),
        &Error::UntrustedOptions,
    )
}

/// A terminate field injected into Bob's init (sent without one) to cut
/// the offline session short: the field is part of formB, which macB
/// covers, so Alice's identity check fails and nothing is decrypted.
pub(crate) fn offline_terminate_injected(seed: u64) -> CaseResult {
    let mut w = world(seed, &[])?;
    let mut r = receiver(&mut w)?;
    let now = t0() + Duration::from_secs(60);
    let text = w.init.to_xml();
    let (_, end) = edit::field_span(&text, "mac")?;
    let injected = format!(
        "{}<field var=\"terminate\"><value>1</value></field>{}",
        text.get(..end).unwrap_or_default(),
        text.get(end..).unwrap_or_default()
    );
    let forged = Stanza::parse(&injected).map_err(|e| e.to_string())?;
    expect_err(
        "init with an injected terminate",
        r.accept(now, forged, &mut w.store),
        &Error::BadIdentity,
    )?;
    let accepted = r
        .accept(now, w.init.clone(), &mut w.store)
        .map_err(|e| format!("the genuine init after the forgery: {e}"))?;
    check("the genuine init does not terminate", !accepted.terminated)
}
