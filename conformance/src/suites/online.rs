//! Runner for `vectors/online/`: whole XEP-0116/XEP-0200 sessions between two
//! `esession-online` endpoints, in the esession-transcript/1 shape
//! (`shared/vectors/TRANSCRIPT-SCHEMA.md`), with every secret recorded.
//!
//! Three independent checks per file, each reported value by value:
//!
//! 1. **Replay.** Both endpoints are run again with the recorded randomness
//!    pinned through the `#[doc(hidden)]` `TestPins` hooks (thread, nonces, DH
//!    exponents, C_A, rshashes, srshash); each side is fed the *recorded*
//!    stanzas of the other, and every stanza it sends must equal the recorded
//!    one byte for byte. The SAS both sides report must be the recorded one; a
//!    rejection file must end with the recorded error.
//! 2. **Key schedule.** The `derived` values are recomputed from the recorded
//!    secrets with `esession-sigma` by the `vectors/sigma/` runner
//!    ([`super::sigma`]), which knows nothing of the endpoint.
//! 3. **Stanzas against values.** The recorded stanzas are parsed with
//!    `esession-wire` and their contents compared with the recorded values:
//!    formA/formB/formA2/formB2 are the D17-normalized forms of the four
//!    messages, He = SHA256(e), the nonces, d, C_A, rshashes, ID/M, srshash,
//!    and each `<c/>`'s data, MAC and m_content.

use std::time::{Duration, SystemTime};

use esession_crypto::SecretBytes;
use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::{DhPrivateKey, ModpGroup};
use esession_crypto::hash::HashAlg;
use esession_crypto::mpi;
use esession_crypto::sign::{SignAlg, SigningKey};
use esession_online::{
    Config, Endpoint, IdentityKey, MemoryStore, Output, PubkeyMode, RetainedSecret, SessionStore,
    SharedPassword, TestPins, TrustedKey,
};
use esession_sigma::Profile;
use esession_sigma::counters::{self, Counters};
use esession_sigma::keys::{Role, SessionKeys};
use esession_wire::{DhValues, Negotiation, NormProfile, Stanza, bare};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::Value;

use crate::json::{hex_field, str_field};
use crate::{CaseResult, Outcome};

/// Collects one [`CaseResult`] per checked value.
struct Cases(Vec<CaseResult>);

impl Cases {
    fn check<T: PartialEq + std::fmt::Debug>(&mut self, name: &str, got: T, expected: T) {
        let outcome = if got == expected {
            Outcome::Pass
        } else {
            Outcome::Fail(format!("got {got:?}, recorded {expected:?}"))
        };
        self.0.push(CaseResult {
            name: name.to_owned(),
            outcome,
        });
    }

    fn fail(&mut self, name: &str, why: String) {
        self.0.push(CaseResult {
            name: name.to_owned(),
            outcome: Outcome::Fail(why),
        });
    }
}

/// Runs one file of `vectors/online/`.
pub fn run(path: &str, file: &Value) -> Result<Vec<CaseResult>, String> {
    let mut cases = Cases(Vec::new());
    replay(&mut cases, file).map_err(|e| format!("{path}: replay: {e}"))?;
    if str_field(file, "mode")? == "plain" {
        plain_stanzas(&mut cases, file)?;
    }
    if file.get("derived").is_some() {
        // The sigma runner knows the session keys only: hand it the stanzas
        // before the first re-key; `rekeyed_stanzas` checks the rest.
        let mut before_rekey = file.clone();
        if let Some(list) = before_rekey
            .get_mut("stanzas")
            .and_then(Value::as_array_mut)
        {
            let first = list
                .iter()
                .position(|st| {
                    st.get("kind").and_then(Value::as_str) == Some("rekey")
                        || st.get("under").and_then(Value::as_str) != Some("session")
                })
                .unwrap_or(list.len());
            list.truncate(first);
        }
        let hash_mode = file
            .get("negotiated")
            .and_then(|n| n.get("init_pubkey"))
            .and_then(Value::as_str)
            == Some("hash");
        for c in super::sigma::run(path, &before_rekey)? {
            // The sigma runner seals key-mode identities; hash-mode ones
            // (<fingerprint/>, D30) are checked by `hash_mode_identities`.
            if hash_mode
                && (HASH_MODE_REPLACED.contains(&c.name.as_str())
                    || c.name.ends_with("counter_before continues (D13)"))
            {
                continue;
            }
            cases.0.push(CaseResult {
                name: format!("key schedule: {}", c.name),
                outcome: c.outcome,
            });
        }
        if hash_mode {
            hash_mode_identities(&mut cases, file)
                .map_err(|e| format!("{path}: hash mode: {e}"))?;
        }
        stanza_values(&mut cases, file).map_err(|e| format!("{path}: stanzas: {e}"))?;
        rekeyed_stanzas(&mut cases, file).map_err(|e| format!("{path}: re-keys: {e}"))?;
    }
    Ok(cases.0)
}

/// A plain stanza session (XEP-0116 §4.4): Bob's accept names security c2s
/// or none, and every later stanza carries its content in the clear, no <c/>.
fn plain_stanzas(cases: &mut Cases, file: &Value) -> Result<(), String> {
    let msgs = arr(file, "messages")?;
    let accept = msgs.get(1).ok_or("no plain accept")?;
    let xml = str_field(accept, "xml")?;
    cases.check(
        "bob's accept names security c2s or none",
        xml.contains(r#"<field var="security"><value>c2s</value></field>"#)
            || xml.contains(r#"<field var="security"><value>none</value></field>"#),
        true,
    );
    for (i, st) in arr(file, "stanzas")?.iter().enumerate() {
        let stanza = Stanza::parse(str_field(st, "xml")?).map_err(|e| e.to_string())?;
        cases.check(
            &format!("plain stanza {i} has no <c/>"),
            matches!(stanza.encrypted(), Ok(None)),
            true,
        );
        cases.check(
            &format!("plain stanza {i} carries its content in the clear"),
            stanza.to_xml().contains(str_field(st, "plaintext")?),
            true,
        );
    }
    Ok(())
}

/// The key the session keys come from: K_final (4-message) or K (3-message, D46).
fn session_k(file: &Value, d: &Value) -> Result<Vec<u8>, String> {
    if str_field(file, "mode")? == "3-message" {
        hex_field(d, "k_dh")
    } else {
        hex_field(d, "k_final")
    }
}

/// The sigma runner's identity cases that assume mode `key`.
const HASH_MODE_REPLACED: [&str; 6] = [
    "id_a",
    "m_a",
    "alice identity opens to its plaintext",
    "id_b",
    "m_b",
    "bob identity opens to its plaintext",
];

/// Hash mode (XEP-0116 §4.6.3, D30): the identity plaintext is
/// `<fingerprint>b64(SHA256(pubKey))</fingerprint>` ‖ `<SignatureValue/>`,
/// sealed under the same keys and counters as in key mode.
fn hash_mode_identities(cases: &mut Cases, file: &Value) -> Result<(), String> {
    let neg = obj(file, "negotiated")?;
    let d = obj(file, "derived")?;
    let hash = HashAlg::from_name(str_field(neg, "hash_algs")?).map_err(|e| e.to_string())?;
    let cipher = CipherAlg::from_name(str_field(neg, "crypt_algs")?).map_err(|e| e.to_string())?;
    let ctr = Counters::from_c_a(counter(obj(file, "bob")?, "counter_a")?);
    let provisional = esession_sigma::keys::DirectionKeys::derive(
        hash,
        cipher,
        Profile::Xep,
        &hex_field(d, "k_dh")?,
        Role::Initiator,
    )
    .map_err(|e| e.to_string())?;
    let session = SessionKeys::derive(hash, cipher, Profile::Xep, &session_k(file, d)?)
        .map_err(|e| e.to_string())?;
    for (who, keys, c, sig, id, m) in [
        ("alice", &provisional, ctr.c_a, "sign_a", "id_a", "m_a"),
        ("bob", session.responder(), ctr.c_b, "sign_b", "id_b", "m_b"),
    ] {
        let key_value = str_field(obj(obj(file, who)?, "sign_key")?, "key_value")?;
        let plaintext = esession_sigma::identity::signed_identity_plaintext(
            &esession_sigma::identity::fingerprint_part(hash, key_value.as_bytes()),
            &hex_field(d, sig)?,
        );
        let sealed = keys
            .seal_identity(c, &plaintext)
            .map_err(|e| e.to_string())?;
        cases.check(
            &format!("{id} (hash mode, D30)"),
            hex::encode(&sealed.id),
            hex::encode(hex_field(d, id)?),
        );
        cases.check(
            &format!("{m} (hash mode, D30)"),
            hex::encode(&sealed.m),
            hex::encode(hex_field(d, m)?),
        );
        // D13: the first stanza continues after the identity's blocks.
        if let Some(first) = file
            .get("stanzas")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|st| st.get("from").and_then(Value::as_str) == Some(who))
        {
            cases.check(
                &format!("{who}'s first stanza continues after {id} (D13)"),
                counter(first, "counter_before")?,
                counters::advance(c, sealed.blocks),
            );
        }
    }
    Ok(())
}

fn obj<'a>(v: &'a Value, key: &str) -> Result<&'a Value, String> {
    v.get(key)
        .filter(|x| x.is_object())
        .ok_or_else(|| format!("missing object {key:?}"))
}

fn arr<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("missing array {key:?}"))
}

fn hex_list(v: &Value, key: &str) -> Result<Vec<Vec<u8>>, String> {
    arr(v, key)?
        .iter()
        .map(|x| {
            x.as_str()
                .ok_or_else(|| format!("{key:?}: not a string"))
                .and_then(|s| hex::decode(s).map_err(|e| format!("{key:?}: bad hex: {e}")))
        })
        .collect()
}

fn groups(v: &Value, key: &str) -> Result<Vec<ModpGroup>, String> {
    arr(v, key)?
        .iter()
        .map(|g| {
            g.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| format!("{key:?}: not a group number"))
                .and_then(|n| ModpGroup::from_number(n).map_err(|e| e.to_string()))
        })
        .collect()
}

fn counter(v: &Value, key: &str) -> Result<u128, String> {
    mpi::decode_counter(&hex_field(v, key)?).map_err(|e| format!("{key:?}: {e}"))
}

/// The configuration a side ran with.
fn config(file: &Value, party: &Value, modp_key: &str) -> Result<Config, String> {
    let mut c = Config::default();
    c.modp = groups(party, modp_key)?;
    if let Some(name) = file
        .get("negotiated")
        .and_then(|n| n.get("crypt_algs"))
        .and_then(Value::as_str)
    {
        c.crypt_algs = vec![CipherAlg::from_name(name).map_err(|e| e.to_string())?];
    }
    if let Some(freq) = file
        .get("negotiated")
        .and_then(|n| n.get("rekey_freq"))
        .and_then(Value::as_u64)
    {
        c.rekey_freq = u32::try_from(freq).map_err(|e| format!("rekey_freq: {e}"))?;
    }
    if let Some(sk) = party.get("sign_key").filter(|k| !k.is_null()) {
        let mode = file
            .get("negotiated")
            .and_then(|n| n.get("init_pubkey"))
            .and_then(Value::as_str)
            .and_then(PubkeyMode::from_name)
            .ok_or("a signing key without a negotiated pubkey mode")?;
        let key = SigningKey::from_pkcs8_der(&hex_field(sk, "pkcs8")?)
            .map_err(|e| format!("pkcs8: {e}"))?;
        c.init_pubkey = vec![mode];
        c.resp_pubkey = vec![mode];
        c.sign_algs = vec![SignAlg::RsaSha256];
        c.identity_key = Some(IdentityKey::new(key));
    }
    c.three_message = str_field(file, "mode")? == "3-message";
    if let Some(security) = file.get("security").and_then(Value::as_array) {
        c.security = security
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    if let Some(oss) = party.get("oss").and_then(Value::as_str) {
        let bytes = hex::decode(oss).map_err(|e| format!("oss: {e}"))?;
        let pw = String::from_utf8(bytes).map_err(|e| format!("oss: {e}"))?;
        c.shared_password = Some(SharedPassword::new(&pw));
    }
    Ok(c)
}

/// A side's store: the retained secrets it held for `peer` and the keys it
/// trusted before the session (`trusted_keys`).
fn store_with(
    party: &Value,
    peer: &str,
    list: &[Vec<u8>],
    now: SystemTime,
) -> Result<MemoryStore, String> {
    let mut t = MemoryStore::new();
    for rs in list.iter().rev() {
        let Ok(()) = t.store_secret(
            peer,
            None,
            RetainedSecret::new(SecretBytes::new(rs.clone()), now),
        );
    }
    for k in party
        .get("trusted_keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Ok(()) = t.trust_key(
            str_field(k, "jid")?,
            TrustedKey {
                key: str_field(k, "key_value")?.as_bytes().to_vec(),
                petname: str_field(k, "petname")?.to_owned(),
            },
        );
    }
    Ok(t)
}

/// One endpoint being replayed.
struct Side {
    jid: String,
    ep: Endpoint<ChaCha20Rng>,
    store: MemoryStore,
    outbox: Vec<String>,
    sas: Vec<String>,
    failures: Vec<String>,
    requested: bool,
    plain_requested: bool,
}

impl Side {
    fn collect(&mut self) {
        while let Some(o) = self.ep.poll_output() {
            match o {
                Output::Send(mut s) => {
                    s.set_attr("from", &self.jid);
                    self.outbox.push(s.to_xml());
                }
                Output::SasReady { sas } => self.sas.push(sas.padded),
                Output::Failed(e) => self.failures.push(e.to_string()),
                Output::Requested(_) => self.requested = true,
                Output::PlainRequested(_) => self.plain_requested = true,
                _ => {}
            }
        }
    }
}

/// Every recorded stanza in order: (from, kind, xml, plaintext).
fn sequence(file: &Value) -> Result<Vec<(String, String, String, String)>, String> {
    let mut seq = Vec::new();
    for key in ["messages", "stanzas"] {
        for m in file
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            seq.push((
                str_field(m, "from")?.to_owned(),
                str_field(m, "kind")?.to_owned(),
                str_field(m, "xml")?.to_owned(),
                m.get("plaintext")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
    }
    Ok(seq)
}

#[allow(clippy::too_many_lines)]
fn replay(cases: &mut Cases, file: &Value) -> Result<(), String> {
    let alice = obj(file, "alice")?;
    let bob = obj(file, "bob")?;
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let derived = file.get("derived");
    let mut dh_x = Vec::new();
    for (g, xe) in obj(alice, "dh")?.as_object().into_iter().flatten() {
        dh_x.push((
            g.parse::<u32>().map_err(|e| e.to_string())?,
            hex_field(xe, "x")?,
        ));
    }
    let alice_pins = TestPins {
        thread: Some(str_field(file, "thread")?.to_owned()),
        nonce: Some(hex_field(alice, "nonce")?),
        dh_x,
        rshashes: match derived {
            Some(d) if d.get("rshashes").is_some() => Some(hex_list(d, "rshashes")?),
            _ => None,
        },
        rekey_x: rekey_x(file, "alice")?,
        ..TestPins::default()
    };
    let bob_y = match (bob.get("y"), file.get("negotiated")) {
        (Some(_), Some(n)) => {
            let g = n
                .get("modp")
                .and_then(Value::as_u64)
                .and_then(|g| u32::try_from(g).ok())
                .ok_or("negotiated modp")?;
            vec![(g, hex_field(bob, "y")?)]
        }
        _ => Vec::new(),
    };
    let bob_pins = TestPins {
        nonce: Some(hex_field(bob, "nonce")?),
        dh_x: bob_y,
        c_a: bob
            .get("counter_a")
            .map(|_| counter(bob, "counter_a"))
            .transpose()?,
        srshash_random: bob
            .get("srshash_random")
            .and_then(Value::as_str)
            .map(|s| hex::decode(s).map_err(|e| e.to_string()))
            .transpose()?,
        rekey_x: rekey_x(file, "bob")?,
        ..TestPins::default()
    };
    let alice_jid = str_field(alice, "jid")?.to_owned();
    let bob_jid = str_field(bob, "jid")?.to_owned();
    // The endpoints' own RNGs must never be needed: every random value is pinned.
    let a = Endpoint::initiate_pinned(
        config(file, alice, "offer_modp")?,
        ChaCha20Rng::seed_from_u64(0),
        bare(&bob_jid),
        alice_pins,
    )
    .map_err(|e| format!("alice: {e}"))?;
    let b = Endpoint::responder_pinned(
        config(file, bob, "accept_modp")?,
        ChaCha20Rng::seed_from_u64(1),
        bob_pins,
    )
    .map_err(|e| format!("bob: {e}"))?;
    let mut sides = [
        Side {
            jid: alice_jid.clone(),
            ep: a,
            store: store_with(
                alice,
                bare(&bob_jid),
                &hex_list(alice, "retained_secrets")?,
                now,
            )?,
            outbox: Vec::new(),
            sas: Vec::new(),
            failures: Vec::new(),
            requested: false,
            plain_requested: false,
        },
        Side {
            jid: bob_jid.clone(),
            ep: b,
            store: store_with(
                bob,
                bare(&alice_jid),
                &hex_list(bob, "retained_secrets")?,
                now,
            )?,
            outbox: Vec::new(),
            sas: Vec::new(),
            failures: Vec::new(),
            requested: false,
            plain_requested: false,
        },
    ];
    if let Some(object) = file.get("object") {
        // Object encryption (XEP-0116 §4.6.4): the content rides on msg3.
        let content = Stanza::parse(&format!(
            "<message xmlns='jabber:client'>{}</message>",
            str_field(object, "plaintext")?
        ))
        .map_err(|e| e.to_string())?;
        let terminate = object
            .get("terminate")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        sides[0]
            .ep
            .send_with_accept(content, terminate)
            .map_err(|e| format!("send_with_accept: {e}"))?;
    }
    sides[0].collect();
    for (i, (from, kind, xml, plaintext)) in sequence(file)?.into_iter().enumerate() {
        if kind == "object" {
            // That stanza is msg3, already replayed among the messages.
            continue;
        }
        let (s, r) = match from.as_str() {
            "alice" => (0, 1),
            "bob" => (1, 0),
            other => return Err(format!("unknown sender {other:?}")),
        };
        let name = format!("stanza {} ({from} {kind}) reproduced byte for byte", i + 1);
        if sides[s].outbox.is_empty() {
            // A command the application gave: send content or terminate.
            let done = match kind.as_str() {
                "content" | "plain" => Stanza::parse(&format!(
                    "<message xmlns='jabber:client'>{plaintext}</message>"
                ))
                .map_err(|e| e.to_string())
                .and_then(|m| sides[s].ep.send(now, m).map_err(|e| e.to_string())),
                "terminate" => sides[s].ep.terminate(now).map_err(|e| e.to_string()),
                "rekey" => sides[s].ep.rekey(now).map_err(|e| e.to_string()),
                _ => Err("the endpoint sent nothing".to_owned()),
            };
            if let Err(e) = done {
                cases.fail(&name, e);
                return Ok(());
            }
            sides[s].collect();
        }
        if sides[s].outbox.is_empty() {
            cases.fail(&name, "the endpoint sent nothing".to_owned());
            return Ok(());
        }
        let sent = sides[s].outbox.remove(0);
        cases.check(&name, sent.as_str(), xml.as_str());
        // The receiver gets the recorded stanza, so each side is checked alone.
        let stanza = Stanza::parse(&xml).map_err(|e| format!("stanza {}: {e}", i + 1))?;
        let rx = &mut sides[r];
        if let Err(e) = rx.ep.handle_stanza(now, stanza, &mut rx.store) {
            cases.fail(
                &format!("stanza {} accepted by the receiver", i + 1),
                e.to_string(),
            );
        }
        rx.collect();
        if rx.requested || rx.plain_requested {
            rx.plain_requested = false;
            rx.requested = false;
            rx.ep.accept(now).map_err(|e| format!("accept: {e}"))?;
            rx.collect();
        }
    }
    for (who, side) in ["alice", "bob"].iter().zip(&sides) {
        cases.check(
            &format!("{who} sent nothing beyond the transcript"),
            side.outbox.len(),
            0,
        );
    }
    if let Some(d) = derived {
        // 3-message sessions have no SAS (D46).
        let sas: Vec<String> = d
            .get("sas")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .into_iter()
            .collect();
        for (who, side) in ["alice", "bob"].iter().zip(&sides) {
            cases.check(
                &format!("{who} reports the recorded SAS"),
                side.sas.clone(),
                sas.clone(),
            );
        }
    }
    if let Some(expect) = file.get("expect_error").and_then(Value::as_str) {
        // "condition field…": the condition Alice was answered with.
        let condition = expect.split(' ').next().unwrap_or_default();
        let got = sides[0].failures.first().cloned().unwrap_or_default();
        cases.check(
            &format!("alice fails with the recorded error ({expect})"),
            got.contains(condition),
            true,
        );
        cases.check("bob reports the failure too", sides[1].failures.len(), 1);
    }
    Ok(())
}

/// The recorded exponents of `who`'s re-keys, in order.
fn rekey_x(file: &Value, who: &str) -> Result<Vec<Vec<u8>>, String> {
    file.get("rekeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("from").and_then(Value::as_str) == Some(who))
        .map(|r| hex_field(r, "x"))
        .collect()
}

/// Every XEP-0200 stanza under the keys its `under` names: the session keys
/// from K_final, or re-key i's keys from its recorded shared secret (both
/// recomputed and checked by the key-schedule cases). The MAC over
/// m_content ‖ mpi(C) (D40) must verify, the data decrypt to the recorded
/// plaintext, and the counters continue across re-keys (D41).
fn rekeyed_stanzas(cases: &mut Cases, file: &Value) -> Result<(), String> {
    let Some(stanzas) = file.get("stanzas").and_then(Value::as_array) else {
        return Ok(());
    };
    let neg = obj(file, "negotiated")?;
    let d = obj(file, "derived")?;
    let hash = HashAlg::from_name(str_field(neg, "hash_algs")?).map_err(|e| e.to_string())?;
    let cipher = CipherAlg::from_name(str_field(neg, "crypt_algs")?).map_err(|e| e.to_string())?;
    let session = SessionKeys::derive(hash, cipher, Profile::Xep, &session_k(file, d)?)
        .map_err(|e| e.to_string())?;
    let mut rekeys = Vec::new();
    for rk in file
        .get("rekeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let keys = esession_sigma::keys::rekey_keys(
            hash,
            cipher,
            Profile::Xep,
            &hex_field(rk, "shared_secret")?,
        )
        .map_err(|e| e.to_string())?;
        rekeys.push((str_field(rk, "from")?.to_owned(), keys));
    }
    // The session MAC keys count as used from the start: a key the peer has
    // not sent under yet is still in use by it.
    let mut used: Vec<Vec<u8>> = Vec::new();
    let mut current: [Option<Vec<u8>>; 2] = [
        Some(session.initiator().km().as_bytes().to_vec()),
        Some(session.responder().km().as_bytes().to_vec()),
    ];
    used.extend(current.iter().flatten().cloned());
    for (i, st) in stanzas.iter().enumerate() {
        let from = str_field(st, "from")?;
        let under = str_field(st, "under")?;
        let (kc, km) = if under == "session" {
            let dk = session.of(if from == "alice" {
                Role::Initiator
            } else {
                Role::Responder
            });
            (dk.kc().clone(), dk.km().clone())
        } else {
            let n: usize = under
                .strip_prefix("rekey ")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("stanza {i}: under {under:?}"))?;
            let (by, rk) = rekeys
                .get(n)
                .ok_or_else(|| format!("stanza {i}: no re-key {n}"))?;
            let tk = if by == from {
                &rk.initiator
            } else {
                &rk.acceptor
            };
            (tk.kc.clone(), tk.km.clone())
        };
        // <old/> (XEP-0200 §8, D41): only retired MAC keys, never one in use.
        let slot = usize::from(from != "alice");
        current[slot] = Some(km.as_bytes().to_vec());
        if !used.contains(&km.as_bytes().to_vec()) {
            used.push(km.as_bytes().to_vec());
        }
        for (j, old) in hex_list(st, "old_mac_keys")?.iter().enumerate() {
            cases.check(
                &format!("stanza {i} old MAC key {j} is retired (D41)"),
                used.contains(old) && !current.iter().flatten().any(|k| k == old),
                true,
            );
        }
        let before = counter(st, "counter_before")?;
        let m_content = str_field(st, "m_content")?;
        cases.check(
            &format!("stanza {i} MAC under {under} keys (D40)"),
            hash.verify_hmac(
                km.as_bytes(),
                &[m_content.as_bytes(), &mpi::encode_u128(before)],
                &hex_field(st, "mac")?,
            )
            .is_ok(),
            true,
        );
        let mut data = hex_field(st, "data")?;
        let blocks = if data.is_empty() {
            1
        } else {
            kc.apply_keystream(Profile::Xep.cipher_counter(before), &mut data)
                .map_err(|e| e.to_string())?
        };
        cases.check(
            &format!("stanza {i} decrypts under {under} keys"),
            String::from_utf8_lossy(&data).into_owned(),
            str_field(st, "plaintext")?.to_owned(),
        );
        cases.check(
            &format!("stanza {i} counter_after"),
            counters::advance(before, blocks),
            counter(st, "counter_after")?,
        );
    }
    // Counters continue per direction through every re-key (D13, D41).
    for who in ["alice", "bob"] {
        let mine: Vec<&Value> = stanzas
            .iter()
            .filter(|st| st.get("from").and_then(Value::as_str) == Some(who))
            .collect();
        for pair in mine.windows(2) {
            cases.check(
                &format!("{who}'s counters continue"),
                counter(pair[1], "counter_before")?,
                counter(pair[0], "counter_after")?,
            );
        }
    }
    Ok(())
}

fn parse(m: &Value) -> Result<(Negotiation, String), String> {
    // formA2 of an object-encryption msg3 includes its terminate field (D46).
    let xml = str_field(m, "xml")?;
    let stanza = Stanza::parse(xml).map_err(|e| e.to_string())?;
    let neg = stanza
        .negotiation()
        .map_err(|e| e.to_string())?
        .ok_or("no negotiation form")?;
    let bytes = neg
        .form
        .form_bytes(NormProfile::Xep)
        .map_err(|e| e.to_string())?;
    Ok((
        neg.message,
        String::from_utf8(bytes).map_err(|e| e.to_string())?,
    ))
}

/// Check 3: what the recorded stanzas carry equals the recorded values.
#[allow(clippy::too_many_lines)]
fn stanza_values(cases: &mut Cases, file: &Value) -> Result<(), String> {
    let alice = obj(file, "alice")?;
    let bob = obj(file, "bob")?;
    let d = obj(file, "derived")?;
    if str_field(file, "mode")? == "3-message" {
        messages_3(cases, alice, bob, d, arr(file, "messages")?)?;
    } else {
        messages_4(cases, alice, bob, d, arr(file, "messages")?)?;
    }
    let mut rekey_seen = 0usize;
    for (i, st) in file
        .get("stanzas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let stanza = Stanza::parse(str_field(st, "xml")?).map_err(|e| e.to_string())?;
        let c = stanza
            .encrypted()
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("stanza {i}: no <c/>"))?;
        cases.check(
            &format!("stanza {i} <data/> = data"),
            c.content.data.clone().unwrap_or_default(),
            hex_field(st, "data")?,
        );
        if let Some(e) = &c.content.key {
            // The n-th <key/> is the e of the n-th recorded re-key (D41).
            let n = rekey_seen;
            rekey_seen += 1;
            let recorded = arr(file, "rekeys")?
                .get(n)
                .ok_or_else(|| format!("stanza {i}: <key/> without a recorded re-key"))?;
            cases.check(
                &format!("stanza {i} <key/> = e of re-key {n}"),
                e.clone(),
                hex_field(recorded, "e")?,
            );
        }
        cases.check(
            &format!("stanza {i} <mac/> = mac"),
            c.content.mac.clone(),
            hex_field(st, "mac")?,
        );
        cases.check(
            &format!("stanza {i} m_content (D39)"),
            String::from_utf8_lossy(&c.m_content).into_owned(),
            str_field(st, "m_content")?.to_owned(),
        );
    }
    Ok(())
}

/// The 4-message negotiation's stanzas against the recorded values.
fn messages_4(
    cases: &mut Cases,
    alice: &Value,
    bob: &Value,
    d: &Value,
    msgs: &[Value],
) -> Result<(), String> {
    if msgs.len() != 4 {
        return Err(format!("{} negotiation messages, not 4", msgs.len()));
    }
    let (m1, form_a) = parse(&msgs[0])?;
    let (m2, form_b) = parse(&msgs[1])?;
    let (m3, form_a2) = parse(&msgs[2])?;
    let (m4, form_b2) = parse(&msgs[3])?;
    for (name, got) in [
        ("form_a", &form_a),
        ("form_b", &form_b),
        ("form_a2", &form_a2),
        ("form_b2", &form_b2),
    ] {
        cases.check(
            &format!("{name} is the normalized form of its message (D16, D17)"),
            got.as_str(),
            str_field(d, name)?,
        );
    }
    let (
        Negotiation::Request(m1),
        Negotiation::Response(m2),
        Negotiation::AliceAccept(m3),
        Negotiation::BobAccept(m4),
    ) = (m1, m2, m3, m4)
    else {
        return Err("not a 4-message negotiation".to_owned());
    };
    let n_a = hex_field(alice, "nonce")?;
    let n_b = hex_field(bob, "nonce")?;
    cases.check("msg1 my_nonce = N_A", &m1.offer.my_nonce, &n_a);
    let mut he = Vec::new();
    for g in &m1.offer.modp {
        let e = hex_field(obj(obj(alice, "dh")?, &g.to_string())?, "e")?;
        he.push(HashAlg::Sha256.digest(&e).as_bytes().to_vec());
    }
    cases.check(
        "msg1 dhhashes = SHA256(e) per offered group (D7)",
        m1.offer.dh,
        DhValues::Hashes(he),
    );
    cases.check("msg2 my_nonce = N_B", &m2.my_nonce, &n_b);
    cases.check("msg2 nonce = N_A", &m2.nonce, &n_a);
    cases.check("msg2 dhkeys = d", m2.dhkey.clone(), hex_field(bob, "d")?);
    cases.check("msg2 counter = C_A", m2.counter, counter(bob, "counter_a")?);
    let g = m2.modp.to_string();
    let e = hex_field(obj(obj(alice, "dh")?, &g)?, "e")?;
    let x = DhPrivateKey::from_bytes(
        ModpGroup::from_number(m2.modp).map_err(|e| e.to_string())?,
        &hex_field(obj(obj(alice, "dh")?, &g)?, "x")?,
    )
    .map_err(|e| e.to_string())?;
    cases.check("alice's x gives e", x.public_key(), e.as_slice());
    cases.check("msg3 nonce = N_B", &m3.nonce, &n_b);
    cases.check("msg3 dhkeys = e", m3.dhkey.clone(), Some(e));
    cases.check(
        "msg3 rshashes",
        m3.rshashes.clone(),
        hex_list(d, "rshashes")?,
    );
    cases.check(
        "msg3 identity = ID_A",
        m3.identity.clone(),
        hex_field(d, "id_a")?,
    );
    cases.check("msg3 mac = M_A", m3.mac.clone(), hex_field(d, "m_a")?);
    cases.check("msg4 nonce = N_A", &m4.nonce, &n_a);
    cases.check("msg4 srshash", m4.srshash.clone(), hex_field(d, "srshash")?);
    cases.check(
        "msg4 identity = ID_B",
        m4.identity.clone(),
        hex_field(d, "id_b")?,
    );
    cases.check("msg4 mac = M_B", m4.mac.clone(), hex_field(d, "m_b")?);
    Ok(())
}

/// The 3-message negotiation's stanzas (D46) against the recorded values.
fn messages_3(
    cases: &mut Cases,
    alice: &Value,
    bob: &Value,
    d: &Value,
    msgs: &[Value],
) -> Result<(), String> {
    if msgs.len() != 3 {
        return Err(format!("{} negotiation messages, not 3", msgs.len()));
    }
    let (m1, form_a) = parse(&msgs[0])?;
    let (m2, form_b) = parse(&msgs[1])?;
    let (m3, form_a2) = parse(&msgs[2])?;
    for (name, got) in [
        ("form_a", &form_a),
        ("form_b", &form_b),
        ("form_a2", &form_a2),
    ] {
        cases.check(
            &format!("{name} is the normalized form of its message (D16, D17)"),
            got.as_str(),
            str_field(d, name)?,
        );
    }
    let (Negotiation::Request(m1), Negotiation::Response(m2), Negotiation::AliceAccept(m3)) =
        (m1, m2, m3)
    else {
        return Err("not a 3-message negotiation".to_owned());
    };
    let n_a = hex_field(alice, "nonce")?;
    let n_b = hex_field(bob, "nonce")?;
    cases.check("msg1 my_nonce = N_A", &m1.offer.my_nonce, &n_a);
    let mut es = Vec::new();
    for g in &m1.offer.modp {
        es.push(hex_field(obj(obj(alice, "dh")?, &g.to_string())?, "e")?);
    }
    cases.check(
        "msg1 dhkeys = e per offered group (D46)",
        m1.offer.dh,
        DhValues::Keys(es),
    );
    cases.check("msg2 my_nonce = N_B", &m2.my_nonce, &n_b);
    cases.check("msg2 nonce = N_A", &m2.nonce, &n_a);
    cases.check("msg2 dhkeys = d", m2.dhkey.clone(), hex_field(bob, "d")?);
    cases.check("msg2 counter = C_A", m2.counter, counter(bob, "counter_a")?);
    cases.check(
        "msg2 identity = ID_B",
        m2.identity.clone(),
        Some(hex_field(d, "id_b")?),
    );
    cases.check("msg2 mac = M_B", m2.mac.clone(), Some(hex_field(d, "m_b")?));
    cases.check("msg3 nonce = N_B", &m3.nonce, &n_b);
    cases.check("msg3 has no dhkeys (D46)", m3.dhkey.clone(), None);
    cases.check(
        "msg3 identity = ID_A",
        m3.identity.clone(),
        hex_field(d, "id_a")?,
    );
    cases.check("msg3 mac = M_A", m3.mac.clone(), hex_field(d, "m_a")?);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn online_files() -> Vec<(&'static str, Value)> {
        crate::vector_files()
            .iter()
            .filter(|(p, _)| p.starts_with("online/"))
            .map(|(p, c)| (*p, serde_json::from_str(c).unwrap()))
            .collect()
    }

    fn failures(path: &str, v: &Value) -> usize {
        run(path, v).map_or(1, |cases| {
            cases
                .iter()
                .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
                .count()
        })
    }

    #[test]
    fn committed_online_vectors_pass() {
        let files = online_files();
        assert!(files.len() >= 5);
        for (p, v) in &files {
            assert_eq!(failures(p, v), 0, "{p}");
        }
    }

    /// One changed character of a recorded stanza is caught by the replay.
    #[test]
    fn a_changed_stanza_fails_the_replay() {
        for (p, mut v) in online_files() {
            let xml = v["messages"][0]["xml"].as_str().unwrap().to_owned();
            let i = xml.find("my_nonce").unwrap() + 30;
            let mut bytes = xml.into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            v["messages"][0]["xml"] = Value::String(String::from_utf8(bytes).unwrap());
            assert!(failures(p, &v) > 0, "{p}");
        }
    }

    /// A changed derived value is caught by the key-schedule check.
    #[test]
    fn a_changed_derived_value_fails() {
        for (p, mut v) in online_files() {
            if v.get("derived").is_none() {
                continue;
            }
            for key in ["k_dh", "mac_b", "new_retained_secret", "srshash", "id_a"] {
                if v["derived"].get(key).is_none() {
                    continue; // 3-message: no retained-secret step
                }
                let mut w = v.clone();
                let h = w["derived"][key].as_str().unwrap();
                let flipped = format!("{}{}", if h.starts_with('0') { "1" } else { "0" }, &h[1..]);
                w["derived"][key] = Value::String(flipped);
                assert!(failures(p, &w) > 0, "{p}: {key}");
            }
            v["derived"]["form_b"] = Value::String("<field/>".to_owned());
            assert!(failures(p, &v) > 0, "{p}: form_b");
        }
    }
}
