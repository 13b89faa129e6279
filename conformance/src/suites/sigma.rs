//! Runner for `vectors/sigma/`: the XEP-0188 key schedule (`esession-sigma`).
//!
//! Each file is one negotiation in the esession-transcript/1 shape
//! (`shared/vectors/TRANSCRIPT-SCHEMA.md`): the recorded secrets (DH exponents,
//! nonces, C_A, retained secrets, OSS, the random values that were drawn, signing
//! keys) and every derived value. The runner recomputes each derived value from the
//! secrets with `esession-sigma` (and `esession-crypto` for DH and signatures) and
//! reports one case per value, in the order of the XEP-0188 SIGMA-R diagram:
//!
//! 1. DH: e, d, the shared secret, K (`k_dh`);
//! 2. the provisional initiator keys (4-message) or the final keys from K (3-message);
//! 3. macA, ID_A, M_A, and opening ID_A again (M checked, plaintext recovered);
//! 4. the SAS; rshashes, Bob's and Alice's SRS choice, K_final, srshash, the six final
//!    keys, the new retained secret (4-message);
//! 5. macB, ID_B, M_B, and opening ID_B;
//! 6. signed identities (D29, D31) when a `sign_key` is recorded;
//! 7. XEP-0200 stanzas (counters, CTR entry, a_mac counter bytes) and re-keys (D41).
//!
//! The file's `profile` (`xep` or `gajim`) selects [`esession_sigma::Profile`].

use esession_crypto::cipher::{CipherAlg, blocks_for};
use esession_crypto::dh::{DhPrivateKey, ModpGroup};
use esession_crypto::hash::HashAlg;
use esession_crypto::sign::{PublicKeyComponents, VerifyingKey};
use esession_crypto::{b64, mpi};
use esession_sigma::counters::{self, Counters};
use esession_sigma::identity::{self, MacAInput, MacBInput, PubKeyPart};
use esession_sigma::keys::{self, DirectionKeys, Role, SessionKeys};
use esession_sigma::{Profile, sas, secrets};
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
            Outcome::Fail(format!("computed {got:?}, recorded {expected:?}"))
        };
        self.0.push(CaseResult {
            name: name.to_owned(),
            outcome,
        });
    }

    fn hex(&mut self, name: &str, got: &[u8], expected: &[u8]) {
        self.check(name, hex::encode(got), hex::encode(expected));
    }

    fn ok(&mut self, name: &str, r: Result<(), String>) {
        let outcome = match r {
            Ok(()) => Outcome::Pass,
            Err(e) => Outcome::Fail(e),
        };
        self.0.push(CaseResult {
            name: name.to_owned(),
            outcome,
        });
    }
}

fn obj<'a>(v: &'a Value, key: &str) -> Result<&'a Value, String> {
    v.get(key)
        .filter(|x| x.is_object())
        .ok_or_else(|| format!("missing object {key:?}"))
}

/// A hex field that may be null or absent.
fn opt_hex(v: &Value, key: &str) -> Result<Option<Vec<u8>>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => hex_field(v, key).map(Some),
    }
}

fn hex_list(v: &Value, key: &str) -> Result<Vec<Vec<u8>>, String> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("missing array {key:?}"))?
        .iter()
        .map(|x| {
            x.as_str()
                .ok_or_else(|| format!("{key:?}: not a string"))
                .and_then(|s| hex::decode(s).map_err(|e| format!("{key:?}: bad hex: {e}")))
        })
        .collect()
}

fn counter(v: &Value, key: &str) -> Result<u128, String> {
    mpi::decode_counter(&hex_field(v, key)?).map_err(|e| format!("{key:?}: {e}"))
}

fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The recorded signing key's public half and its D28 `<KeyValue>` string.
struct SignKey {
    verifying: VerifyingKey,
    key_value: Vec<u8>,
}

fn sign_key(cases: &mut Cases, who: &str, party: &Value) -> Result<Option<SignKey>, String> {
    let Some(sk) = party.get("sign_key").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let modulus = hex_field(sk, "modulus")?;
    let exponent = hex_field(sk, "exponent")?;
    // D28: the wire layer builds this string; rebuilt here from the components.
    let built = format!(
        "<KeyValue><RSAKeyValue><Modulus>{}</Modulus><Exponent>{}</Exponent></RSAKeyValue></KeyValue>",
        b64::encode(&modulus),
        b64::encode(&exponent)
    );
    let recorded = str_field(sk, "key_value")?;
    cases.check(&format!("{who} D28 KeyValue"), built.as_str(), recorded);
    let verifying = VerifyingKey::from_components(&PublicKeyComponents::Rsa { modulus, exponent })
        .map_err(err("RSA public key"))?;
    Ok(Some(SignKey {
        verifying,
        key_value: recorded.as_bytes().to_vec(),
    }))
}

/// The identity plaintext: macX, or pubKey ‖ <SignatureValue> with the recorded
/// signature, which must verify over macX (D29, D31).
fn identity_plaintext(
    cases: &mut Cases,
    who: &str,
    key: Option<&SignKey>,
    mac: &[u8],
    derived: &Value,
    sig_field: &str,
) -> Result<Vec<u8>, String> {
    let Some(key) = key else {
        return Ok(mac.to_vec());
    };
    let sig = hex_field(derived, sig_field)?;
    cases.ok(
        &format!("{who} signature over mac verifies"),
        key.verifying.verify(mac, &sig).map_err(|e| e.to_string()),
    );
    let mut tampered = mac.to_vec();
    if let Some(b) = tampered.first_mut() {
        *b ^= 1;
    }
    cases.check(
        &format!("{who} signature rejects another mac"),
        key.verifying.verify(&tampered, &sig).is_err(),
        true,
    );
    let pt = identity::signed_identity_plaintext(&key.key_value, &sig);
    let parsed = identity::parse_signed_identity(&pt).map_err(err("signed identity"))?;
    cases.check(
        &format!("{who} signed identity splits back (D29)"),
        (parsed.pub_key, parsed.signature),
        (PubKeyPart::KeyValue(key.key_value.clone()), sig),
    );
    Ok(pt)
}

/// Seals and re-opens one identity; returns the blocks consumed.
#[allow(clippy::too_many_arguments)]
fn check_identity(
    cases: &mut Cases,
    who: &str,
    keys: &DirectionKeys,
    c: u128,
    plaintext: &[u8],
    derived: &Value,
    id_field: &str,
    m_field: &str,
) -> Result<u128, String> {
    let sealed = keys
        .seal_identity(c, plaintext)
        .map_err(err("seal identity"))?;
    cases.hex(id_field, &sealed.id, &hex_field(derived, id_field)?);
    cases.hex(m_field, &sealed.m, &hex_field(derived, m_field)?);
    let recorded_id = hex_field(derived, id_field)?;
    let recorded_m = hex_field(derived, m_field)?;
    let opened = keys.open_identity(c, &recorded_id, &recorded_m);
    cases.check(
        &format!("{who} identity opens to its plaintext"),
        opened.map(|o| hex::encode(o.plaintext.as_bytes())),
        Ok(hex::encode(plaintext)),
    );
    Ok(sealed.blocks)
}

/// Runs one file of `vectors/sigma/`.
pub fn run(path: &str, file: &Value) -> Result<Vec<CaseResult>, String> {
    let mut cases = Cases(Vec::new());
    run_inner(&mut cases, file).map_err(|e| format!("{path}: {e}"))?;
    Ok(cases.0)
}

#[allow(clippy::too_many_lines)]
fn run_inner(cases: &mut Cases, file: &Value) -> Result<(), String> {
    let profile_name = str_field(file, "profile")?;
    let profile = Profile::from_name(profile_name)
        .ok_or_else(|| format!("unknown profile {profile_name:?}"))?;
    let three = match str_field(file, "mode")? {
        "4-message" => false,
        "3-message" => true,
        other => return Err(format!("unknown mode {other:?}")),
    };
    let neg = obj(file, "negotiated")?;
    let alice = obj(file, "alice")?;
    let bob = obj(file, "bob")?;
    let derived = obj(file, "derived")?;
    let hash = HashAlg::from_name(str_field(neg, "hash_algs")?).map_err(err("hash_algs"))?;
    let cipher = CipherAlg::from_name(str_field(neg, "crypt_algs")?).map_err(err("crypt_algs"))?;
    let group_n = neg
        .get("modp")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or("missing modp")?;
    let group = ModpGroup::from_number(group_n).map_err(err("modp"))?;

    // 1. DH and K (D5-D8).
    let dh = obj(alice, "dh")?;
    let mut alice_x = None;
    for (g, xe) in dh.as_object().into_iter().flatten() {
        let gn: u32 = g.parse().map_err(err("dh group"))?;
        let grp = ModpGroup::from_number(gn).map_err(err("dh group"))?;
        let key = DhPrivateKey::from_bytes(grp, &hex_field(xe, "x")?).map_err(err("alice x"))?;
        cases.hex(
            &format!("alice e (group {gn})"),
            key.public_key(),
            &hex_field(xe, "e")?,
        );
        if grp == group {
            alice_x = Some(key);
        }
    }
    let x = alice_x.ok_or("no alice dh entry for the chosen group")?;
    let y = DhPrivateKey::from_bytes(group, &hex_field(bob, "y")?).map_err(err("bob y"))?;
    let d = hex_field(bob, "d")?;
    cases.hex("bob d", y.public_key(), &d);
    let e = x.public_key().to_vec();
    let shared = x.shared_secret(&d).map_err(err("d^x"))?;
    let shared_b = y.shared_secret(&e).map_err(err("e^y"))?;
    cases.check("shared secret agrees (d^x = e^y)", shared == shared_b, true);
    if let Some(s) = opt_hex(derived, "shared_secret")? {
        cases.hex("shared_secret", shared.as_bytes(), &s);
    }
    let k = keys::k_dh(hash, shared.as_bytes());
    cases.hex("k_dh", k.as_bytes(), &hex_field(derived, "k_dh")?);

    let n_a = hex_field(alice, "nonce")?;
    let n_b = hex_field(bob, "nonce")?;
    let ctr = Counters::from_c_a(counter(bob, "counter_a")?);
    cases.check("counter_b", ctr.c_b, counter(derived, "counter_b")?);
    let form_a = str_field(derived, "form_a")?.as_bytes();
    let form_a2 = str_field(derived, "form_a2")?.as_bytes();
    let form_b = str_field(derived, "form_b")?.as_bytes();
    let form_b2 = if three {
        None
    } else {
        Some(str_field(derived, "form_b2")?.as_bytes())
    };
    let key_a = sign_key(cases, "alice", alice)?;
    let key_b = sign_key(cases, "bob", bob)?;

    // 2. The keys Alice's identity uses (D11).
    let alice_keys = DirectionKeys::derive(hash, cipher, profile, k.as_bytes(), Role::Initiator)
        .map_err(err("initiator keys"))?;
    if !three {
        let pk = obj(derived, "provisional_keys")?;
        cases.hex(
            "provisional KCA",
            alice_keys.kc().key_bytes(),
            &hex_field(pk, "KCA")?,
        );
        cases.hex(
            "provisional KMA",
            alice_keys.km().as_bytes(),
            &hex_field(pk, "KMA")?,
        );
        cases.hex(
            "provisional KSA",
            alice_keys.ks().as_bytes(),
            &hex_field(pk, "KSA")?,
        );
    }

    // 3. Alice's identity (XEP-0116 §4.6.3).
    let pub_a = key_a
        .as_ref()
        .map(|k| k.key_value.clone())
        .unwrap_or_default();
    let mac_a = identity::mac_a(
        hash,
        alice_keys.ks().as_bytes(),
        &MacAInput {
            n_a: &n_a,
            n_b: &n_b,
            e: &e,
            pub_key_a: &pub_a,
            form_a,
            form_a2,
        },
    );
    cases.hex("mac_a", mac_a.as_bytes(), &hex_field(derived, "mac_a")?);
    let plain_a = identity_plaintext(
        cases,
        "alice",
        key_a.as_ref(),
        mac_a.as_bytes(),
        derived,
        "sign_a",
    )?;
    let blocks_a = check_identity(
        cases,
        "alice",
        &alice_keys,
        ctr.c_a,
        &plain_a,
        derived,
        "id_a",
        "m_a",
    )?;
    let m_a = hex_field(derived, "m_a")?;

    // 4. SAS and secrets (4-message only; D32-D37).
    let k_session = if three {
        k.as_bytes().to_vec()
    } else {
        let shown = sas::sas(hash, &m_a, form_b);
        cases.check("sas", shown.display(profile), str_field(derived, "sas")?);

        let alice_rs = hex_list(alice, "retained_secrets")?;
        let randoms = hex_list(alice, "rshashes_random")?;
        let recorded = hex_list(derived, "rshashes")?;
        let mut expected: Vec<String> = alice_rs
            .iter()
            .map(|rs| hex::encode(secrets::rshash(hash, &n_a, rs).as_bytes()))
            .chain(randoms.iter().map(hex::encode))
            .collect();
        expected.sort();
        let mut got: Vec<String> = recorded.iter().map(hex::encode).collect();
        got.sort();
        cases.check("rshashes = HMAC(N_A, RS_i) + randoms (D33)", got, expected);
        if profile == Profile::Xep {
            cases.check(
                "1-3 random rshashes (D33)",
                (1..=3).contains(&randoms.len()),
                true,
            );
        }
        let bob_rs = hex_list(bob, "retained_secrets")?;
        let rsh: Vec<&[u8]> = recorded.iter().map(Vec::as_slice).collect();
        let bob_cands: Vec<&[u8]> = bob_rs.iter().map(Vec::as_slice).collect();
        let srs = secrets::find_srs_bob(hash, &n_a, &rsh, &bob_cands).map(|i| bob_rs[i].clone());
        cases.check(
            "bob's SRS choice (D34)",
            srs.as_ref().map(hex::encode),
            opt_hex(derived, "srs")?.map(hex::encode),
        );
        let oss = opt_hex(bob, "oss")?;
        cases.check(
            "both hold the same OSS",
            opt_hex(alice, "oss")?,
            oss.clone(),
        );
        let k_final = secrets::k_final(hash, k.as_bytes(), srs.as_deref(), oss.as_deref());
        cases.hex(
            "k_final",
            k_final.as_bytes(),
            &hex_field(derived, "k_final")?,
        );
        let srshash = match &srs {
            Some(s) => secrets::srshash(hash, s).as_bytes().to_vec(),
            None => hex_field(bob, "srshash_random")?,
        };
        cases.hex("srshash", &srshash, &hex_field(derived, "srshash")?);
        let alice_cands: Vec<&[u8]> = alice_rs.iter().map(Vec::as_slice).collect();
        let srs_alice =
            secrets::find_srs_alice(hash, &srshash, &alice_cands).map(|i| alice_rs[i].clone());
        cases.check("alice's SRS choice (D34)", srs_alice, srs);
        cases.hex(
            "new_retained_secret",
            secrets::new_retained_secret(hash, k_final.as_bytes()).as_bytes(),
            &hex_field(derived, "new_retained_secret")?,
        );
        k_final.as_bytes().to_vec()
    };
    let session =
        SessionKeys::derive(hash, cipher, profile, &k_session).map_err(err("session keys"))?;
    let fk = obj(derived, "keys")?;
    for (name, got) in [
        ("KCA", session.initiator().kc().key_bytes()),
        ("KMA", session.initiator().km().as_bytes()),
        ("KSA", session.initiator().ks().as_bytes()),
        ("KCB", session.responder().kc().key_bytes()),
        ("KMB", session.responder().km().as_bytes()),
        ("KSB", session.responder().ks().as_bytes()),
    ] {
        cases.hex(name, got, &hex_field(fk, name)?);
    }

    // 5. Bob's identity (§4.5.4, §4.7.4).
    let pub_b = key_b
        .as_ref()
        .map(|k| k.key_value.clone())
        .unwrap_or_default();
    let mac_b = identity::mac_b(
        hash,
        session.responder().ks().as_bytes(),
        &MacBInput {
            n_a: &n_a,
            n_b: &n_b,
            d: &d,
            pub_key_b: &pub_b,
            form_b,
            form_b2,
        },
    );
    cases.hex("mac_b", mac_b.as_bytes(), &hex_field(derived, "mac_b")?);
    let plain_b = identity_plaintext(
        cases,
        "bob",
        key_b.as_ref(),
        mac_b.as_bytes(),
        derived,
        "sign_b",
    )?;
    let blocks_b = check_identity(
        cases,
        "bob",
        session.responder(),
        ctr.c_b,
        &plain_b,
        derived,
        "id_b",
        "m_b",
    )?;

    // 7. XEP-0200 stanzas (D13, D14, D40): counters continue after the identities.
    let mut next = [
        counters::advance(ctr.c_a, blocks_a),
        counters::advance(ctr.c_b, blocks_b),
    ];
    for (i, st) in file
        .get("stanzas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let from_alice = str_field(st, "from")? == "alice";
        let keys = session.of(if from_alice {
            Role::Initiator
        } else {
            Role::Responder
        });
        let slot = usize::from(!from_alice);
        let before = counter(st, "counter_before")?;
        cases.check(
            &format!("stanza {i} counter_before continues (D13)"),
            before,
            next[slot],
        );
        let mut data = str_field(st, "plaintext")?.as_bytes().to_vec();
        let blocks = keys
            .kc()
            .apply_keystream(profile.cipher_counter(before), &mut data)
            .map_err(err("stanza cipher"))?;
        cases.hex(&format!("stanza {i} data"), &data, &hex_field(st, "data")?);
        let after = counters::advance(before, blocks);
        cases.check(
            &format!("stanza {i} counter_after"),
            after,
            counter(st, "counter_after")?,
        );
        cases.check(
            &format!("stanza {i} blocks"),
            blocks,
            blocks_for(data.len()),
        );
        next[slot] = after;
        let m_content = str_field(st, "m_content")?;
        cases.check(
            &format!("stanza {i} m_content"),
            m_content.to_owned(),
            format!("<data>{}</data>", b64::encode(&data)),
        );
        let mac = hex_field(st, "mac")?;
        let verifies = profile.stanza_mac_counter_accepted(before).iter().any(|c| {
            hash.verify_hmac(keys.km().as_bytes(), &[m_content.as_bytes(), c], &mac)
                .is_ok()
        });
        cases.check(&format!("stanza {i} a_mac verifies (D14)"), verifies, true);
        if profile == Profile::Xep {
            let sent = hash.hmac_parts(
                keys.km().as_bytes(),
                &[
                    m_content.as_bytes(),
                    &profile.stanza_mac_counter_bytes(before),
                ],
            );
            cases.hex(&format!("stanza {i} a_mac"), sent.as_bytes(), &mac);
        }
    }

    // Re-keys (XEP-0200 §9, D41).
    for (i, rk) in file
        .get("rekeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let from_alice = str_field(rk, "from")? == "alice";
        let new = DhPrivateKey::from_bytes(group, &hex_field(rk, "x")?).map_err(err("rekey x"))?;
        cases.hex(
            &format!("rekey {i} e"),
            new.public_key(),
            &hex_field(rk, "e")?,
        );
        let (peer_key, peer_public) = if from_alice {
            (&y, d.as_slice())
        } else {
            (&x, e.as_slice())
        };
        cases.hex(
            &format!("rekey {i} peer_public"),
            peer_public,
            &hex_field(rk, "peer_public")?,
        );
        let kk = new.shared_secret(peer_public).map_err(err("rekey d^x"))?;
        let kk_peer = peer_key
            .shared_secret(new.public_key())
            .map_err(err("rekey e^y"))?;
        cases.check(
            &format!("rekey {i} shared secret agrees"),
            kk == kk_peer,
            true,
        );
        cases.hex(
            &format!("rekey {i} shared_secret"),
            kk.as_bytes(),
            &hex_field(rk, "shared_secret")?,
        );
        let rkeys =
            keys::rekey_keys(hash, cipher, profile, kk.as_bytes()).map_err(err("rekey keys"))?;
        let recorded = obj(rk, "keys")?;
        cases.hex(
            &format!("rekey {i} KCA"),
            rkeys.initiator.kc.key_bytes(),
            &hex_field(recorded, "KCA")?,
        );
        cases.hex(
            &format!("rekey {i} KMA"),
            rkeys.initiator.km.as_bytes(),
            &hex_field(recorded, "KMA")?,
        );
        cases.hex(
            &format!("rekey {i} KCB"),
            rkeys.acceptor.kc.key_bytes(),
            &hex_field(recorded, "KCB")?,
        );
        cases.hex(
            &format!("rekey {i} KMB"),
            rkeys.acceptor.km.as_bytes(),
            &hex_field(recorded, "KMB")?,
        );
    }
    Ok(())
}
