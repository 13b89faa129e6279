//! Negative cases of the XEP-0116 negotiation: invalid Diffie-Hellman values,
//! a broken He commitment, downgrades, echoed nonces, and whole negotiations
//! replayed. The stanzas travel as text between two real endpoints and are
//! edited in flight (`harness::Pair::run_tampering`).

use esession_crypto::b64;
use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::ModpGroup;
use esession_crypto::hash::HashAlg;
use std::sync::OnceLock;

use esession_crypto::sign::{SignAlg, SigningKey};
use esession_online::{Config, Error, IdentityKey, Output, PeerMisbehaved, PubkeyMode};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use super::harness::{
    CaseResult, Pair, check, check_eq, edit, expect_failed, expect_rejected, fresh_bob,
    nothing_reached_application,
};

/// The negotiation messages' indices in [`Pair::run_tampering`].
const MSG1: usize = 0;
const MSG2: usize = 1;
const MSG3: usize = 2;
const MSG4: usize = 3;

/// A DH public value an attacker substitutes, in group 14 (the default choice, D5).
#[derive(Debug, Clone, Copy)]
pub(crate) enum BadDh {
    /// 0.
    Zero,
    /// 1.
    One,
    /// p − 1.
    PMinus1,
    /// p itself.
    P,
    /// 2^2048 − 1: above p, same length.
    AboveP,
    /// 2^2048 + p: one byte longer than p.
    LongerThanP,
}

impl BadDh {
    /// mpi(value), big-endian.
    fn bytes(self) -> Vec<u8> {
        let p = ModpGroup::Group14.prime();
        match self {
            BadDh::Zero => vec![0],
            BadDh::One => vec![1],
            BadDh::PMinus1 => {
                // p is odd: p - 1 only clears the lowest bit.
                let mut v = p.to_vec();
                if let Some(last) = v.last_mut() {
                    *last &= 0xfe;
                }
                v
            }
            BadDh::P => p.to_vec(),
            BadDh::AboveP => vec![0xff; p.len()],
            BadDh::LongerThanP => {
                let mut v = vec![1];
                v.extend_from_slice(p);
                v
            }
        }
    }

    fn b64(self) -> String {
        b64::encode(&self.bytes())
    }
}

fn invalid_public_value() -> Error {
    Error::PeerMisbehaved(PeerMisbehaved::InvalidPublicValue)
}

/// Bob's d in msg2 replaced by `bad`: Alice refuses (1 < d < p−1, XEP-0116
/// §4.6.1, D7) before deriving anything; she answers not-acceptable (D44) and
/// shows no SAS.
pub(crate) fn msg2_d_invalid(bad: BadDh, seed: u64) -> CaseResult {
    let mut p = Pair::default_configs(seed)?;
    p.run_tampering(|i, _, t| {
        if i == MSG2 {
            edit::set_value(t, "dhkeys", &bad.b64()).map(Some)
        } else {
            Ok(Some(t.to_owned()))
        }
    })?;
    expect_failed("alice", &p.alice, 0, &invalid_public_value())?;
    check(
        "alice showed a SAS for an invalid d",
        !p.alice
            .events
            .iter()
            .any(|e| matches!(e, Output::SasReady { .. })),
    )?;
    expect_rejected("bob", &p.bob, "not-acceptable")?;
    check_eq(
        "retained secrets alice stored",
        p.alice.store.len_for("bob@example.com"),
        0,
    )
}

/// Alice's e in msg3 replaced by `bad`, with msg1's He for group 14 replaced
/// by SHA256(bad) so that the commitment matches: Bob's range check
/// (1 < e < p−1, XEP-0116 §4.7.1, D7) refuses it.
pub(crate) fn msg3_e_invalid(bad: BadDh, seed: u64) -> CaseResult {
    let mut p = Pair::default_configs(seed)?;
    let he = b64::encode(HashAlg::Sha256.digest(&bad.bytes()).as_bytes());
    p.run_tampering(|i, _, t| match i {
        MSG1 => edit::set_value_at(t, "dhhashes", 0, &he).map(Some),
        MSG3 => edit::set_value(t, "dhkeys", &bad.b64()).map(Some),
        _ => Ok(Some(t.to_owned())),
    })?;
    expect_failed("bob", &p.bob, 0, &invalid_public_value())?;
    expect_rejected("alice", &p.alice, "feature-not-implemented")?;
    check_eq(
        "retained secrets bob stored",
        p.bob.store.len_for("alice@example.org"),
        0,
    )
}

/// Alice's e in msg3 replaced by a valid value (4 = g^2) that is not the one
/// she committed to in msg1: SHA256(e) ≠ He (XEP-0116 §4.7.1, D7).
pub(crate) fn msg3_he_mismatch(seed: u64) -> CaseResult {
    let mut p = Pair::default_configs(seed)?;
    p.run_tampering(|i, _, t| {
        if i == MSG3 {
            edit::set_value(t, "dhkeys", &b64::encode(&[4])).map(Some)
        } else {
            Ok(Some(t.to_owned()))
        }
    })?;
    expect_failed(
        "bob",
        &p.bob,
        0,
        &Error::PeerMisbehaved(PeerMisbehaved::DhHashMismatch),
    )?;
    expect_rejected("alice", &p.alice, "feature-not-implemented")
}

/// msg1's He list altered in flight (a different commitment for the chosen
/// group): Alice's genuine e no longer matches it.
pub(crate) fn msg1_he_altered(seed: u64) -> CaseResult {
    let mut p = Pair::default_configs(seed)?;
    p.run_tampering(|i, _, t| {
        if i == MSG1 {
            let he = edit::values(t, "dhhashes")?;
            let first = he.first().ok_or("no dhhashes")?;
            edit::set_value_at(t, "dhhashes", 0, &edit::flip_b64(first)?).map(Some)
        } else {
            Ok(Some(t.to_owned()))
        }
    })?;
    expect_failed(
        "bob",
        &p.bob,
        0,
        &Error::PeerMisbehaved(PeerMisbehaved::DhHashMismatch),
    )?;
    expect_rejected("alice", &p.alice, "feature-not-implemented")
}

/// Removes option `v` of field `var` in msg1, whether the field lists options
/// or hidden values.
fn strip_offer(t: &str, var: &str, v: &str) -> Result<String, String> {
    edit::remove_option(t, var, v).or_else(|_| {
        let values = edit::values(t, var)?;
        let i = values
            .iter()
            .position(|x| x == v)
            .ok_or_else(|| format!("msg1 offers no {var} {v}"))?;
        edit::remove_value_at(t, var, i)
    })
}

/// Downgrade: the attacker strips Alice's preferred group 14 (and its He)
/// from msg1, so that Bob picks group 5. Bob's choice was offered, so Alice
/// goes on; Bob detects it at msg3: macA covers formA as Alice sent it
/// (XEP-0116 §4.6.3), and his formA differs.
pub(crate) fn downgrade_modp_stripped_from_msg1(seed: u64) -> CaseResult {
    let p = Pair::default_configs(seed)?;
    downgrade_by_stripping_msg1(p, "modp", "5", |t| {
        let t = strip_offer(t, "modp", "14")?;
        edit::remove_value_at(&t, "dhhashes", 0)
    })
}

/// The downgrade cases that strip an offer from msg1: Bob picks `weaker` for
/// `field`, and then rejects msg3 (macA covers formA as Alice sent it) while
/// Alice sees his rejection.
fn downgrade_by_stripping_msg1(
    mut p: Pair,
    field: &str,
    weaker: &str,
    strip: impl Fn(&str) -> Result<String, String>,
) -> CaseResult {
    let carried = p.run_tampering(|i, _, t| {
        if i == MSG1 {
            strip(t).map(Some)
        } else {
            Ok(Some(t.to_owned()))
        }
    })?;
    let msg2 = carried.get(MSG2).map(|(_, t)| t.as_str()).unwrap_or("");
    check_eq(
        "bob's choice after the strip",
        edit::value(msg2, field)?,
        weaker.to_owned(),
    )?;
    expect_failed(
        "bob",
        &p.bob,
        0,
        &Error::PeerMisbehaved(PeerMisbehaved::IdentityMismatch),
    )?;
    expect_rejected("alice", &p.alice, "feature-not-implemented")
}

fn both_ciphers() -> Config {
    let mut c = Config::default();
    c.crypt_algs = vec![CipherAlg::Aes256Ctr, CipherAlg::Aes128Ctr];
    c
}

/// Downgrade: Alice offers aes256-ctr then aes128-ctr; the attacker strips
/// aes256-ctr from msg1 so that Bob picks aes128-ctr. Caught at msg3 by macA
/// over formA.
pub(crate) fn downgrade_cipher_stripped_from_msg1(seed: u64) -> CaseResult {
    let p = Pair::new(both_ciphers(), both_ciphers(), seed)?;
    downgrade_by_stripping_msg1(p, "crypt_algs", "aes128-ctr", |t| {
        strip_offer(t, "crypt_algs", "aes256-ctr")
    })
}

/// Downgrade: Bob chose aes256-ctr; the attacker rewrites his choice in msg2
/// to aes128-ctr, which Alice also offered (so the "not offered" check
/// passes). Alice's msg3 identity is then enciphered under another KC and
/// Bob's check of it fails.
pub(crate) fn downgrade_bob_cipher_choice_altered(seed: u64) -> CaseResult {
    let mut p = Pair::new(both_ciphers(), both_ciphers(), seed)?;
    p.run_tampering(|i, _, t| {
        if i == MSG2 {
            check_eq(
                "bob's choice",
                edit::value(t, "crypt_algs")?,
                "aes256-ctr".to_owned(),
            )?;
            edit::set_value(t, "crypt_algs", "aes128-ctr").map(Some)
        } else {
            Ok(Some(t.to_owned()))
        }
    })?;
    expect_failed(
        "bob",
        &p.bob,
        0,
        &Error::PeerMisbehaved(PeerMisbehaved::IdentityMismatch),
    )?;
    expect_rejected("alice", &p.alice, "feature-not-implemented")
}

/// Bob's rekey_freq choice raised in flight (still ≥ Alice's offer, so
/// allowed by D21): the only difference is formB, which macA covers
/// (XEP-0116 §4.6.3: macA includes formB's N_B … and Bob's form is MACed again
/// by macB). Whoever checks first refuses; nobody establishes.
pub(crate) fn downgrade_bob_rekey_freq_altered(seed: u64) -> CaseResult {
    let mut alice = Config::default();
    alice.rekey_freq = 100;
    let mut bob = Config::default();
    bob.rekey_freq = 100;
    let mut p = Pair::new(alice, bob, seed)?;
    p.run_tampering(|i, _, t| {
        if i == MSG2 {
            check_eq(
                "bob's choice",
                edit::value(t, "rekey_freq")?,
                "100".to_owned(),
            )?;
            edit::set_value(t, "rekey_freq", "1000").map(Some)
        } else {
            Ok(Some(t.to_owned()))
        }
    })?;
    expect_failed(
        "alice",
        &p.alice,
        0,
        &Error::PeerMisbehaved(PeerMisbehaved::IdentityMismatch),
    )?;
    check(
        "alice established after an altered formB",
        !p.alice.ep.is_established(),
    )
}

/// A wrong nonce echoed in message `index` (msg2: N_A, msg3: N_B, msg4: N_A;
/// XEP-0116 §4.6.1, §4.7.1, §4.8.1).
pub(crate) fn nonce_echo_wrong(index: usize, seed: u64) -> CaseResult {
    let mut p = Pair::default_configs(seed)?;
    p.run_tampering(|i, _, t| {
        if i == index {
            let n = edit::value(t, "nonce")?;
            edit::set_value(t, "nonce", &edit::flip_b64(&n)?).map(Some)
        } else {
            Ok(Some(t.to_owned()))
        }
    })?;
    let nonce = Error::PeerMisbehaved(PeerMisbehaved::NonceMismatch);
    match index {
        MSG2 => {
            expect_failed("alice", &p.alice, 0, &nonce)?;
            expect_rejected("bob", &p.bob, "not-acceptable")
        }
        MSG3 => {
            expect_failed("bob", &p.bob, 0, &nonce)?;
            expect_rejected("alice", &p.alice, "feature-not-implemented")
        }
        MSG4 => {
            expect_failed("alice", &p.alice, 0, &nonce)?;
            check_eq(
                "retained secrets alice stored (D37)",
                p.alice.store.len_for("bob@example.com"),
                0,
            )
        }
        _ => Err(format!("no nonce echo in message {index}")),
    }
}

/// After an established session, all four negotiation messages are
/// delivered again to the same endpoints: each is plaintext inside an
/// encrypted session and ignored (D43), with nothing reaching the
/// application; the session goes on.
pub(crate) fn negotiation_replayed_to_same_endpoints(seed: u64) -> CaseResult {
    let mut p = Pair::default_configs(seed)?;
    let carried = p.establish()?;
    let (a0, b0) = (p.alice.events.len(), p.bob.events.len());
    for (from_alice, text) in carried.iter().take(4) {
        let to = if *from_alice {
            &mut p.bob
        } else {
            &mut p.alice
        };
        to.deliver(p.now, text).map_err(|e| e.to_string())?;
    }
    check_eq(
        "alice's errors",
        p.alice.returned.clone(),
        vec![Error::UnexpectedPlaintext; 2],
    )?;
    check_eq(
        "bob's errors",
        p.bob.returned.clone(),
        vec![Error::UnexpectedPlaintext; 2],
    )?;
    check_eq("alice's new events", p.alice.events.len(), a0)?;
    check_eq("bob's new events", p.bob.events.len(), b0)?;
    let s = p.alice_sends("still here")?;
    p.bob.deliver(p.now, &s).map_err(|e| e.to_string())?;
    check_eq(
        "bob's received bodies",
        p.bob.received_bodies(),
        vec!["still here".to_owned()],
    )
}

/// A recorded negotiation replayed to a fresh Bob (a new responder endpoint):
/// he answers msg1 with a fresh N_B and y, so the recorded msg3 echoes the old
/// N_B (NonceMismatch). With the nonce rewritten to his new N_B, the
/// recorded e passes He but the keys differ and M_A fails (BadIdentityMac).
pub(crate) fn negotiation_replayed_to_fresh_endpoint(seed: u64, fix_nonce: bool) -> CaseResult {
    let mut p = Pair::default_configs(seed)?;
    let carried = p.establish()?;
    let msg1 = carried.get(MSG1).ok_or("no msg1")?.1.clone();
    let msg3 = carried.get(MSG3).ok_or("no msg3")?.1.clone();
    let mut bob2 = fresh_bob(Config::default(), seed.wrapping_add(77))?;
    bob2.deliver(p.now, &msg1).map_err(|e| e.to_string())?;
    check(
        "the replayed msg1 is a request",
        bob2.events
            .iter()
            .any(|e| matches!(e, Output::Requested(_))),
    )?;
    bob2.ep.accept(p.now).map_err(|e| e.to_string())?;
    bob2.collect();
    let msg2 = bob2.take_outbox().into_iter().next().ok_or("no msg2")?;
    let msg3 = if fix_nonce {
        edit::set_value(&msg3, "nonce", &edit::value(&msg2, "my_nonce")?)?
    } else {
        msg3
    };
    bob2.deliver(p.now, &msg3).map_err(|e| e.to_string())?;
    let expected = if fix_nonce {
        PeerMisbehaved::BadIdentityMac
    } else {
        PeerMisbehaved::NonceMismatch
    };
    expect_failed("fresh bob", &bob2, 0, &Error::PeerMisbehaved(expected))?;
    check_eq(
        "retained secrets the fresh bob stored",
        bob2.store.len_for("alice@example.org"),
        0,
    )
}

/// Bob's recorded msg2 replayed to a fresh Alice (new thread, new N_A), the
/// thread rewritten to hers: the echoed N_A is the old one.
pub(crate) fn msg2_replayed_to_fresh_alice(seed: u64) -> CaseResult {
    let mut p = Pair::default_configs(seed)?;
    let carried = p.establish()?;
    let msg2 = carried.get(MSG2).ok_or("no msg2")?.1.clone();
    let mut q = Pair::default_configs(seed.wrapping_add(5))?;
    let thread = q.alice.ep.thread().to_owned();
    let replay = edit::set_element_text(&msg2, "thread", &thread)?;
    q.alice.deliver(q.now, &replay).map_err(|e| e.to_string())?;
    expect_failed(
        "fresh alice",
        &q.alice,
        0,
        &Error::PeerMisbehaved(PeerMisbehaved::NonceMismatch),
    )?;
    nothing_reached_application("fresh alice", &q.alice, 0)
}

/// Downgrade to a plain stanza session: Alice offers only `e2e`; the
/// attacker rewrites msg1's security option to `c2s`, which Bob's policy
/// allows, so Bob accepts a plain session (his policy). Alice never offered
/// c2s: she refuses Bob's plain accept and answers with a D44 error. Bob must
/// then end the plain session (D44: an error discards the session) and must
/// not hand the error to the application as a received stanza.
///
/// FAILS until bug B1 of notes/negative-bugs.md is fixed: Bob delivers
/// Alice's error as `Received` and stays in the plain session.
pub(crate) fn downgrade_security_to_plain(seed: u64) -> CaseResult {
    let mut bob = Config::default();
    bob.security = vec!["e2e".to_owned(), "c2s".to_owned()];
    let mut p = Pair::new(Config::default(), bob, seed)?;
    p.run_tampering(|i, _, t| {
        if i == MSG1 {
            edit::set_value(t, "security", "c2s").map(Some)
        } else {
            Ok(Some(t.to_owned()))
        }
    })?;
    // Alice: a typed refusal, never a plain session. The precise variant
    // would be ChoiceNotOffered("security"); today it is Malformed (modp
    // missing), bug B2 (minor).
    match p.alice.failures_since(0).as_slice() {
        [Error::PeerMisbehaved(PeerMisbehaved::ChoiceNotOffered(f))] if f == "security" => {}
        [Error::PeerMisbehaved(PeerMisbehaved::Malformed { field: Some(f), .. })]
            if f == "modp" => {}
        other => return Err(format!("alice: expected a typed refusal, got {other:?}")),
    }
    nothing_reached_application("alice", &p.alice, 0)?;
    check("alice is closed", p.alice.ep.is_closed())?;
    // Bob: his policy allowed the plain session; Alice's error must end it.
    let after_plain = p
        .bob
        .events
        .iter()
        .position(|e| matches!(e, Output::PlainEstablished(_)))
        .map_or(0, |i| i + 1);
    nothing_reached_application("bob", &p.bob, after_plain)?;
    match p.bob.failures_since(after_plain).as_slice() {
        [Error::Rejected { condition, .. }] if condition == "not-acceptable" => {}
        other => {
            return Err(format!(
                "bob: expected Failed(Rejected not-acceptable) after alice's error, got {other:?}"
            ));
        }
    }
    check(
        "bob is out of the plain session",
        !p.bob.ep.is_plain() && p.bob.ep.is_closed(),
    )
}

/// Two P-256 identity keys (fast to generate), made once.
fn p256_keys() -> Result<&'static (IdentityKey, IdentityKey), String> {
    static KEYS: OnceLock<Result<(IdentityKey, IdentityKey), String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(46);
        let mut one = || {
            SigningKey::generate(SignAlg::EcdsaSha256, &mut rng)
                .map(IdentityKey::new)
                .map_err(|e| e.to_string())
        };
        Ok((one()?, one()?))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// A 3-message (SIGMA-I, D46) configuration with `key` mode both ways.
fn three_message(key: &IdentityKey) -> Config {
    let mut c = Config::default();
    c.three_message = true;
    c.init_pubkey = vec![PubkeyMode::Key];
    c.resp_pubkey = vec![PubkeyMode::Key];
    c.sign_algs = vec![SignAlg::EcdsaSha256];
    c.identity_key = Some(key.clone());
    c
}

/// 3-message exchange (D46): Alice's e travels in msg1 itself, with no
/// commitment. Replaced by each invalid value, Bob refuses it when he
/// accepts (1 < e < p−1, D7) and answers not-acceptable `dhkeys` (D44).
pub(crate) fn three_message_msg1_e_invalid(seed: u64) -> CaseResult {
    let (ka, kb) = p256_keys()?;
    for (i, bad) in [
        BadDh::Zero,
        BadDh::One,
        BadDh::PMinus1,
        BadDh::P,
        BadDh::AboveP,
        BadDh::LongerThanP,
    ]
    .into_iter()
    .enumerate()
    {
        let mut p = Pair::new(three_message(ka), three_message(kb), seed + i as u64)?;
        p.run_tampering(|i, _, t| {
            if i == MSG1 {
                edit::set_value_at(t, "dhkeys", 0, &bad.b64()).map(Some)
            } else {
                Ok(Some(t.to_owned()))
            }
        })?;
        expect_failed("bob", &p.bob, 0, &invalid_public_value())
            .map_err(|e| format!("{bad:?}: {e}"))?;
        expect_rejected("alice", &p.alice, "not-acceptable")
            .map_err(|e| format!("{bad:?}: {e}"))?;
    }
    Ok(())
}

/// The 3-message exchange untampered establishes with these keys (so the
/// case above fails for the reason it names).
pub(crate) fn three_message_control(seed: u64) -> CaseResult {
    let (ka, kb) = p256_keys()?;
    let mut p = Pair::new(three_message(ka), three_message(kb), seed)?;
    p.establish().map(|_| ())
}
