//! `esession demo --transcript FILE`: the run as an esession-transcript/1
//! document (`shared/vectors/TRANSCRIPT-SCHEMA.md`) with every secret.
//!
//! Data flow: the demo pins every random value of the negotiation
//! ([`super::Secrets`]) and logs every stanza as the sending endpoint emitted
//! it, stamped with the sender's full JID (the `to` the demo's router adds is
//! a routing detail, left out as in the project's `vectors/online/`). This
//! module parses those recorded stanzas again with `esession-wire` and
//! recomputes every derived value from the secrets with `esession-sigma`
//! (K, the provisional and final keys, macA/macB, the SAS, K_final,
//! srshash, the new retained secret, each `<c/>` decrypted and its MAC
//! checked, each re-key's keys), never from the endpoints' internals. A value
//! that does not come out as the endpoints made it is an error, not a file.
//!
//! This is a smaller sibling of the online crate's test recorder
//! (`crates/esession-online/tests/common_transcript`): it covers what the
//! demo runs (no retained secret, no password, RSA or a user key, one
//! re-key by Alice) and the same document layout, so that the conformance
//! runner (`esession-conformance`, `online/` suite) and
//! `vectors/tools/rederive_online.py` accept it.

use esession_crypto::cipher::{CipherAlg, blocks_for};
use esession_crypto::dh::{DhPrivateKey, ModpGroup};
use esession_crypto::hash::HashAlg;
use esession_crypto::mpi;
use esession_crypto::sign::{PublicKeyComponents, SigningKey};
use esession_online::IdentityKey;
use esession_sigma::Profile;
use esession_sigma::counters::{self, Counters};
use esession_sigma::identity::{self, MacAInput, MacBInput};
use esession_sigma::keys::{self, DirectionKeys, Role, SessionKeys};
use esession_sigma::{sas, secrets};
use esession_wire::{Negotiation, NormProfile, Stanza};
use serde_json::{Map, Value, json};

use super::{ALICE, BOB, Keys, Secrets, Who};
use crate::Error;

/// The hash every demo negotiates (D5).
const HASH: HashAlg = HashAlg::Sha256;

/// What the online demo hands over.
pub(crate) struct OnlineRun<'a> {
    pub(crate) seed: u64,
    pub(crate) profile: Profile,
    pub(crate) three: bool,
    pub(crate) offer: &'a [u32],
    pub(crate) rekey_freq: Option<u32>,
    pub(crate) secrets: &'a Secrets,
    pub(crate) keys: Option<&'a Keys>,
    pub(crate) stanzas: &'a [(Who, String)],
}

pub(crate) fn bad(what: impl std::fmt::Display) -> Error {
    Error::Unexpected(format!("transcript: {what}"))
}

pub(crate) fn hx(b: &[u8]) -> String {
    hex::encode(b)
}

pub(crate) fn counter_hex(c: u128) -> String {
    hx(&mpi::encode_u128(c))
}

/// The text written to the file: pretty JSON and a final newline.
pub fn render(doc: &Value) -> String {
    let mut out = serde_json::to_string_pretty(doc).unwrap_or_default();
    out.push('\n');
    out
}

/// pubKey: the D28 `<KeyValue/>` bytes of a signing key.
pub(crate) fn key_value(key: &SigningKey) -> Result<Vec<u8>, Error> {
    IdentityKey::new(super::clone_key(key)?)
        .key_bytes()
        .map_err(bad)
}

/// A `sign_key` record: RSA keys with modulus and exponent (what the
/// replayers read), every key with its PKCS#8 and KeyValue.
pub(crate) fn sign_key_json(key: Option<&SigningKey>) -> Result<Value, Error> {
    let Some(key) = key else {
        return Ok(Value::Null);
    };
    let pkcs8 = key.to_pkcs8_der().map_err(bad)?;
    let kv = String::from_utf8(key_value(key)?).map_err(bad)?;
    let mut v = json!({
        "alg": key.alg().uri(),
        "pkcs8": hx(pkcs8.as_bytes()),
        "key_value": kv,
    });
    if let PublicKeyComponents::Rsa { modulus, exponent } = key.verifying_key().components() {
        v["modulus"] = json!(hx(&modulus));
        v["exponent"] = json!(hx(&exponent));
    }
    Ok(v)
}

fn parse(xml: &str) -> Result<Stanza, Error> {
    Stanza::parse(xml).map_err(|e| bad(format!("a recorded stanza does not parse: {e}")))
}

/// The negotiation message of a stanza and its normalized form text (D16, D17/D18).
fn form_text(stanza: &Stanza, norm: NormProfile) -> Result<(Negotiation, String), Error> {
    let neg = stanza
        .negotiation()
        .map_err(bad)?
        .ok_or_else(|| bad("a negotiation message without a form"))?;
    let bytes = neg.form.form_bytes(norm).map_err(bad)?;
    Ok((neg.message, String::from_utf8(bytes).map_err(bad)?))
}

/// The signature inside an identity plaintext (D29), if any.
fn signature_of(plaintext: &[u8]) -> Option<Vec<u8>> {
    identity::parse_signed_identity(plaintext)
        .ok()
        .map(|p| p.signature)
}

fn key_hex(dk: &DirectionKeys) -> (String, String, String) {
    (
        hx(dk.kc().key_bytes()),
        hx(dk.km().as_bytes()),
        hx(dk.ks().as_bytes()),
    )
}

/// The session keys and the first XEP-0200 counters after the negotiation.
struct Negotiated {
    session: SessionKeys,
    next: [u128; 2],
    group: ModpGroup,
    cipher: CipherAlg,
    e: Vec<u8>,
    d: Vec<u8>,
    n_neg: usize,
}

/// The esession-transcript/1 document of an online demo run.
#[allow(clippy::too_many_lines)]
pub(crate) fn online(run: &OnlineRun<'_>) -> Result<Value, Error> {
    let s = run.secrets;
    let mut alice_dh = Map::new();
    for (g, x) in &s.alice_x {
        let k =
            DhPrivateKey::from_bytes(ModpGroup::from_number(*g).map_err(bad)?, x).map_err(bad)?;
        alice_dh.insert(g.to_string(), json!({"x": hx(x), "e": hx(k.public_key())}));
    }
    let profile_name = if run.profile == Profile::Gajim {
        "gajim"
    } else {
        "xep"
    };
    let mode = if run.three { "3-message" } else { "4-message" };
    let mut doc = json!({
        "schema": "esession-transcript/1",
        "name": format!("esession demo --seed {}: {mode}, profile {profile_name}, group 14, aes128-ctr, sha256, first session{}", run.seed,
            if run.keys.is_some() { ", RSA/user keys in key mode" } else { ", no public keys" }),
        "source": format!(
            "generated by `esession demo --seed {}` (crates/esession-cli/src/demo.rs): both endpoints run in memory with every random value drawn from ChaCha20 seeded with the seed and pinned",
            run.seed
        ),
        "profile": profile_name,
        "mode": mode,
        "thread": s.thread,
        "alice": {
            "jid": ALICE,
            "offer_modp": run.offer,
            "nonce": hx(&s.n_a),
            "dh": alice_dh,
            "retained_secrets": [],
            "rshashes_random": s.rshashes.iter().map(|r| hx(r)).collect::<Vec<_>>(),
            "oss": null,
            "sign_key": sign_key_json(run.keys.map(|k| &k.alice))?,
            "trusted_keys": [],
        },
    });
    let norm = if run.profile == Profile::Gajim {
        NormProfile::Gajim
    } else {
        NormProfile::Xep
    };
    let neg = negotiation(run, norm, &mut doc)?;
    if let Some(freq) = run.rekey_freq
        && doc["negotiated"]["rekey_freq"].as_u64() != Some(u64::from(freq))
    {
        return Err(bad("rekey_freq differs from the demo's"));
    }
    stanzas(run, neg, &mut doc)?;
    Ok(doc)
}

/// Fills `bob`, `negotiated`, `messages` and `derived` from the negotiation messages.
#[allow(clippy::too_many_lines)]
fn negotiation(
    run: &OnlineRun<'_>,
    norm: NormProfile,
    doc: &mut Value,
) -> Result<Negotiated, Error> {
    let s = run.secrets;
    let profile = run.profile;
    let n_neg = if run.three { 3 } else { 4 };
    let recorded = run
        .stanzas
        .get(..n_neg)
        .ok_or_else(|| bad("fewer stanzas than a negotiation"))?;
    let mut forms = Vec::new();
    for (_, xml) in recorded {
        forms.push(form_text(&parse(xml)?, norm)?);
    }
    let (form_a, form_b, form_a2) = (&forms[0].1, &forms[1].1, &forms[2].1);
    let Negotiation::Response(m2) = &forms[1].0 else {
        return Err(bad("message 2 is not a response"));
    };
    let Negotiation::AliceAccept(m3) = &forms[2].0 else {
        return Err(bad("message 3 is not Alice's accept"));
    };
    let group = ModpGroup::from_number(m2.modp).map_err(bad)?;
    let cipher = CipherAlg::from_name(&m2.crypt_alg).map_err(bad)?;
    let y = DhPrivateKey::from_bytes(group, &s.bob_y.1).map_err(bad)?;
    if y.public_key() != m2.dhkey.as_slice() {
        return Err(bad("d is not g^y"));
    }
    let x_bytes = &s
        .alice_x
        .iter()
        .find(|(g, _)| *g == m2.modp)
        .ok_or_else(|| bad("no x for the chosen group"))?
        .1;
    let x = DhPrivateKey::from_bytes(group, x_bytes).map_err(bad)?;
    let e = x.public_key().to_vec();
    let d = m2.dhkey.clone();
    let shared = x.shared_secret(&d).map_err(bad)?;
    let k = keys::k_dh(HASH, shared.as_bytes());
    let pub_a = run
        .keys
        .map(|k| key_value(&k.alice))
        .transpose()?
        .unwrap_or_default();
    let pub_b = run
        .keys
        .map(|k| key_value(&k.bob))
        .transpose()?
        .unwrap_or_default();
    let ctr = Counters::from_c_a(m2.counter);
    let provisional =
        DirectionKeys::derive(HASH, cipher, profile, k.as_bytes(), Role::Initiator).map_err(bad)?;
    let mut derived = json!({
        "shared_secret": hx(shared.as_bytes()),
        "k_dh": hx(k.as_bytes()),
        "counter_b": counter_hex(ctr.c_b),
        "form_a": form_a,
        "form_b": form_b,
        "form_a2": form_a2,
    });
    // SIGMA-I (D46): final keys from K, Bob's identity in msg2. SIGMA-R:
    // Alice's identity under the provisional keys, K_final, Bob's in msg4.
    let (session, alice_keys, id_b, m_b, form_b2) = if run.three {
        let session = SessionKeys::derive(HASH, cipher, profile, k.as_bytes()).map_err(bad)?;
        let alice_keys = session.initiator().clone();
        let id_b = m2.identity.clone().ok_or_else(|| bad("no ID_B in msg2"))?;
        let m_b = m2.mac.clone().ok_or_else(|| bad("no M_B in msg2"))?;
        (session, alice_keys, id_b, m_b, None)
    } else {
        let form_b2 = forms[3].1.clone();
        let Negotiation::BobAccept(m4) = &forms[3].0 else {
            return Err(bad("message 4 is not Bob's accept"));
        };
        let shown = sas::sas(HASH, &m3.mac, form_b.as_bytes());
        // A first session: no SRS (D34); no password, no OSS (D36).
        let k_final = secrets::k_final(HASH, k.as_bytes(), None, None);
        let session =
            SessionKeys::derive(HASH, cipher, profile, k_final.as_bytes()).map_err(bad)?;
        if m4.srshash != s.srshash_random {
            return Err(bad("srshash is not Bob's random value"));
        }
        let (pkc, pkm, pks) = key_hex(&provisional);
        derived["provisional_keys"] = json!({"KCA": pkc, "KMA": pkm, "KSA": pks});
        derived["sas"] = json!(shown.display(profile));
        derived["rshashes"] = json!(m3.rshashes.iter().map(|r| hx(r)).collect::<Vec<_>>());
        derived["srs"] = Value::Null;
        derived["k_final"] = json!(hx(k_final.as_bytes()));
        derived["srshash"] = json!(hx(&m4.srshash));
        derived["form_b2"] = json!(form_b2);
        derived["new_retained_secret"] =
            json!(hx(
                secrets::new_retained_secret(HASH, k_final.as_bytes()).as_bytes()
            ));
        (
            session,
            provisional.clone(),
            m4.identity.clone(),
            m4.mac.clone(),
            Some(form_b2),
        )
    };
    let mac_a = identity::mac_a(
        HASH,
        alice_keys.ks().as_bytes(),
        &MacAInput {
            n_a: &s.n_a,
            n_b: &m2.my_nonce,
            e: &e,
            pub_key_a: &pub_a,
            form_a: form_a.as_bytes(),
            form_a2: form_a2.as_bytes(),
        },
    );
    let mac_b = identity::mac_b(
        HASH,
        session.responder().ks().as_bytes(),
        &MacBInput {
            n_a: &s.n_a,
            n_b: &m2.my_nonce,
            d: &d,
            pub_key_b: &pub_b,
            form_b: form_b.as_bytes(),
            form_b2: form_b2.as_deref().map(str::as_bytes),
        },
    );
    // The identities as sent: macX, or pubKey ‖ <SignatureValue> (D29); the
    // signatures are checked against the keys.
    let plain_a = alice_keys
        .open_identity(ctr.c_a, &m3.identity, &m3.mac)
        .map_err(|e| bad(format!("ID_A does not open: {e}")))?
        .plaintext
        .as_bytes()
        .to_vec();
    let plain_b = session
        .responder()
        .open_identity(ctr.c_b, &id_b, &m_b)
        .map_err(|e| bad(format!("ID_B does not open: {e}")))?
        .plaintext
        .as_bytes()
        .to_vec();
    let (sign_a, sign_b) = (signature_of(&plain_a), signature_of(&plain_b));
    match run.keys {
        None => {
            if plain_a != mac_a.as_bytes() || plain_b != mac_b.as_bytes() {
                return Err(bad("an identity is not macX"));
            }
        }
        Some(k) => {
            for (key, sig, mac) in [
                (&k.alice, &sign_a, mac_a.as_bytes()),
                (&k.bob, &sign_b, mac_b.as_bytes()),
            ] {
                let sig = sig.as_ref().ok_or_else(|| bad("an unsigned identity"))?;
                key.verifying_key()
                    .verify(mac, sig)
                    .map_err(|e| bad(format!("a signature does not verify: {e}")))?;
            }
        }
    }
    derived["mac_a"] = json!(hx(mac_a.as_bytes()));
    derived["id_a"] = json!(hx(&m3.identity));
    derived["m_a"] = json!(hx(&m3.mac));
    derived["mac_b"] = json!(hx(mac_b.as_bytes()));
    derived["id_b"] = json!(hx(&id_b));
    derived["m_b"] = json!(hx(&m_b));
    derived["sign_a"] = json!(sign_a.as_ref().map(|s| hx(s)));
    derived["sign_b"] = json!(sign_b.as_ref().map(|s| hx(s)));
    let (kca, kma, ksa) = key_hex(session.initiator());
    let (kcb, kmb, ksb) = key_hex(session.responder());
    derived["keys"] =
        json!({"KCA": kca, "KMA": kma, "KSA": ksa, "KCB": kcb, "KMB": kmb, "KSB": ksb});

    doc["bob"] = json!({
        "jid": BOB,
        "accept_modp": run.offer,
        "nonce": hx(&s.n_b),
        "y": hx(&s.bob_y.1),
        "d": hx(&d),
        "counter_a": counter_hex(s.c_a),
        "retained_secrets": [],
        "srshash_random": if run.three { Value::Null } else { json!(hx(&s.srshash_random)) },
        "oss": null,
        "sign_key": sign_key_json(run.keys.map(|k| &k.bob))?,
        "trusted_keys": [],
    });
    let mut negotiated = json!({
        "modp": m2.modp,
        "crypt_algs": m2.crypt_alg,
        "hash_algs": m2.hash_alg,
        "compress": m2.compress,
        "init_pubkey": m2.init_pubkey,
        "resp_pubkey": m2.resp_pubkey,
        "ver": m2.ver,
        "rekey_freq": m2.rekey_freq,
        "stanzas": m2.stanzas,
    });
    if run.three {
        negotiated["sign_algs"] = json!(m2.sign_alg);
    } else {
        negotiated["sas_algs"] = json!(m2.sas_alg);
    }
    doc["negotiated"] = negotiated;
    let kinds = ["request", "response", "accept", "accept"];
    doc["messages"] = json!(
        recorded
            .iter()
            .enumerate()
            .map(|(i, (from, xml))| json!({"n": i + 1, "from": from.name(), "kind": kinds[i], "xml": xml}))
            .collect::<Vec<_>>()
    );
    doc["derived"] = derived;
    // XEP-0200 stanzas: counters continue after the identities (D13).
    let next = [
        counters::advance(ctr.c_a, blocks_for(m3.identity.len())),
        counters::advance(ctr.c_b, blocks_for(id_b.len())),
    ];
    Ok(Negotiated {
        session,
        next,
        group,
        cipher,
        e,
        d,
        n_neg,
    })
}

/// Fills `stanzas`, `rekeys` and `termination`: every stanza after the
/// negotiation, decrypted under the keys it was sent with.
#[allow(clippy::too_many_lines)]
fn stanzas(run: &OnlineRun<'_>, neg: Negotiated, doc: &mut Value) -> Result<(), Error> {
    let Negotiated {
        session,
        mut next,
        group,
        cipher,
        e,
        d,
        n_neg,
    } = neg;
    let profile = run.profile;
    let mut out = Vec::new();
    let mut termination = Vec::new();
    // None = the session keys, Some(i) = re-key i (D41).
    let mut under: [Option<usize>; 2] = [None, None];
    let mut rekeys: Vec<(Who, keys::RekeyKeys)> = Vec::new();
    let mut rekey_json = Vec::new();
    let mut latest_public = [e, d];
    let mut rekey_x = run.secrets.alice_rekey_x.iter();
    for (from, xml) in run.stanzas.iter().skip(n_neg) {
        let st = parse(xml)?;
        let Some(c) = st.encrypted().map_err(bad)? else {
            // The gajim profile's plaintext terminate (G8).
            match st.negotiation().map_err(bad)?.map(|n| n.message) {
                Some(Negotiation::Terminate) => {
                    termination.push(json!({"from": from.name(), "kind": "terminate", "encrypted": false, "xml": xml, "old_mac_keys": []}));
                    continue;
                }
                _ => return Err(bad("an unencrypted stanza after the negotiation")),
            }
        };
        let slot = usize::from(*from != Who::Alice);
        let (kc, km) = match under[slot] {
            None => {
                let dk = session.of(if *from == Who::Alice {
                    Role::Initiator
                } else {
                    Role::Responder
                });
                (dk.kc().clone(), dk.km().clone())
            }
            Some(i) => {
                let (by, rk) = rekeys.get(i).ok_or_else(|| bad("no such re-key"))?;
                let tk = if by == from {
                    &rk.initiator
                } else {
                    &rk.acceptor
                };
                (tk.kc.clone(), tk.km.clone())
            }
        };
        let before = next[slot];
        // D40 (D14 gajim row): the MAC over m_content ‖ the counter, checked first.
        let mac_ok = profile
            .stanza_mac_counter_accepted(before)
            .iter()
            .any(|ctr| {
                HASH.verify_hmac(km.as_bytes(), &[&c.m_content, ctr], &c.content.mac)
                    .is_ok()
            });
        if !mac_ok {
            return Err(bad("a stanza MAC does not verify under the expected keys"));
        }
        let data = c.content.data.clone().unwrap_or_default();
        let mut plain = data.clone();
        let blocks = if c.content.data.is_some() {
            kc.apply_keystream(profile.cipher_counter(before), &mut plain)
                .map_err(bad)?
        } else {
            1 // D40: a stanza without <data/> advances the counter by one
        };
        let after = counters::advance(before, blocks);
        next[slot] = after;
        let plaintext = String::from_utf8(plain).map_err(bad)?;
        let label = under[slot].map_or_else(|| "session".to_owned(), |i| format!("rekey {i}"));
        let old_keys: Vec<String> = c.content.old.iter().map(|k| hx(k)).collect();
        if let Some(new_e) = &c.content.key {
            // XEP-0200 §7.2, D41: K = mpi(peer_latest^x'), unhashed.
            let x_bytes = rekey_x
                .next()
                .ok_or_else(|| bad("a re-key without a pinned exponent"))?;
            let xk = DhPrivateKey::from_bytes(group, x_bytes).map_err(bad)?;
            if xk.public_key() != new_e.as_slice() {
                return Err(bad("<key/> is not g^x'"));
            }
            let peer_public = latest_public[1 - slot].clone();
            let kk = xk.shared_secret(&peer_public).map_err(bad)?;
            let rk = keys::rekey_keys(HASH, cipher, profile, kk.as_bytes()).map_err(bad)?;
            rekey_json.push(json!({
                "from": from.name(),
                "x": hx(x_bytes),
                "e": hx(new_e),
                "peer_public": hx(&peer_public),
                "shared_secret": hx(kk.as_bytes()),
                "keys": {
                    "KCA": hx(rk.initiator.kc.key_bytes()),
                    "KMA": hx(rk.initiator.km.as_bytes()),
                    "KCB": hx(rk.acceptor.kc.key_bytes()),
                    "KMB": hx(rk.acceptor.km.as_bytes()),
                },
            }));
            latest_public[slot] = new_e.clone();
            rekeys.push((*from, rk));
            under = [Some(rekeys.len() - 1); 2];
        }
        let form = if plaintext.is_empty() {
            None
        } else {
            Stanza::parse(&format!(
                "<message xmlns='jabber:client'>{plaintext}</message>"
            ))
            .ok()
            .and_then(|m| m.negotiation().ok().flatten())
            .map(|n| n.message)
        };
        let kind = if c.content.key.is_some() {
            "rekey"
        } else {
            match form {
                Some(Negotiation::Terminate) => "terminate",
                Some(Negotiation::TerminateAck) => "terminate-ack",
                Some(_) => return Err(bad("an unexpected form inside <c/>")),
                None => "content",
            }
        };
        if matches!(kind, "terminate" | "terminate-ack") {
            termination.push(
                json!({"from": from.name(), "kind": kind, "xml": xml, "old_mac_keys": old_keys}),
            );
        }
        out.push(json!({
            "from": from.name(),
            "kind": kind,
            "under": label,
            "old_mac_keys": old_keys,
            "plaintext": plaintext,
            "counter_before": counter_hex(before),
            "counter_after": counter_hex(after),
            "data": hx(&data),
            "m_content": String::from_utf8(c.m_content.clone()).map_err(bad)?,
            "mac": hx(&c.content.mac),
            "xml": xml,
        }));
    }
    doc["stanzas"] = json!(out);
    if !rekey_json.is_empty() {
        doc["rekeys"] = json!(rekey_json);
    }
    if !termination.is_empty() {
        doc["termination"] = json!(termination);
    }
    Ok(())
}
