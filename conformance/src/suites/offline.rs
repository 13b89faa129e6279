//! Runner for `vectors/offline/`: XEP-0187 offline ESessions (`esession-offline`).
//!
//! Each file is one offline session in the esession-transcript/1 shape (offline
//! variant, `shared/vectors/TRANSCRIPT-SCHEMA.md`). From the recorded secrets (Alice's x
//! values, Bob's y, both RSA keys) the runner re-derives, one case per value:
//!
//! 1. Alice's e values and the dhkeys of her options form (D47);
//! 2. the D48 signature input (the normalized form without signs) and every signature;
//! 3. Bob's d, N_B, C_A, the shared secret from both sides, K (D8, D49), the six keys
//!    from K (D11);
//! 4. formB as received, macB without formB2, signB (RSASSA-PKCS1-v1_5 is deterministic,
//!    so it is re-signed from the recorded key), the identity plaintext, ID_B and M_B
//!    (D29, D49), and opening ID_B through `esession_offline::open_identity`;
//! 5. every XEP-0200 stanza: counters, m_content, a_mac, and decryption to the
//!    recorded plaintext (`esession_online::StanzaCipher`);
//! 6. Alice's whole path (`esession_offline::Receiver`) from a store holding the
//!    recorded values: discarded undecrypted once expired (D50), accepted at `now`,
//!    refused as a replay the second time (D50).

use esession_crypto::dh::{DhPrivateKey, ModpGroup};
use esession_crypto::mpi;
use esession_crypto::sign::{PublicKeyComponents, SigningKey, VerifyingKey};
use esession_offline::{
    Audience, MemoryOfflineStore, OfflineStore, OpenInput, PrivateValue, PublishedOptions,
    Receiver, open_identity, parse_expires,
};
use esession_online::{Config, SessionStore, StanzaCipher, TrustedKey};
use esession_sigma::Profile;
use esession_sigma::counters::Counters;
use esession_sigma::identity::{self, MacBInput};
use esession_sigma::keys::{self, SessionKeys};
use esession_wire::{DhValues, Element, Negotiation, NormProfile, OfflineOptions, Stanza};
use serde_json::Value;

use crate::json::{hex_field, str_field};
use crate::{CaseResult, Outcome};

struct Cases(Vec<CaseResult>);

impl Cases {
    fn check<T: PartialEq + std::fmt::Debug>(&mut self, name: &str, got: T, expected: T) {
        let outcome = if got == expected {
            Outcome::Pass
        } else {
            Outcome::Fail(format!("computed {got:?}, recorded {expected:?}"))
        };
        self.push(name, outcome);
    }

    fn hex(&mut self, name: &str, got: &[u8], expected: &[u8]) {
        self.check(name, hex::encode(got), hex::encode(expected));
    }

    fn ok(&mut self, name: &str, r: Result<(), String>) {
        let outcome = match r {
            Ok(()) => Outcome::Pass,
            Err(e) => Outcome::Fail(e),
        };
        self.push(name, outcome);
    }

    fn push(&mut self, name: &str, outcome: Outcome) {
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

fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn counter(v: &Value, key: &str) -> Result<u128, String> {
    mpi::decode_counter(&hex_field(v, key)?).map_err(|e| format!("{key:?}: {e}"))
}

struct Key {
    verifying: VerifyingKey,
    signing: SigningKey,
    key_value: Vec<u8>,
}

fn key(cases: &mut Cases, who: &str, party: &Value) -> Result<Key, String> {
    let sk = obj(party, "sign_key")?;
    let components = PublicKeyComponents::Rsa {
        modulus: hex_field(sk, "modulus")?,
        exponent: hex_field(sk, "exponent")?,
    };
    let verifying = VerifyingKey::from_components(&components).map_err(err("sign_key"))?;
    let signing = SigningKey::from_pkcs8_der(&hex_field(sk, "pkcs8")?).map_err(err("pkcs8"))?;
    cases.check(
        &format!("{who}: pkcs8 key matches modulus/exponent"),
        signing.verifying_key() == verifying,
        true,
    );
    let key_value = esession_wire::key_bytes(&verifying).map_err(err("key_value"))?;
    cases.check(
        &format!("{who}: D28 KeyValue"),
        String::from_utf8_lossy(&key_value).into_owned(),
        str_field(sk, "key_value")?.to_owned(),
    );
    Ok(Key {
        verifying,
        signing,
        key_value,
    })
}

/// Runs one offline transcript.
pub fn run(_path: &str, file: &Value) -> Result<Vec<CaseResult>, String> {
    if str_field(file, "mode")? != "offline" {
        return Err("not an offline transcript (mode)".to_owned());
    }
    let mut c = Cases(Vec::new());
    let alice = obj(file, "alice")?;
    let bob = obj(file, "bob")?;
    let negotiated = obj(file, "negotiated")?;
    let messages = file
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("missing messages")?;
    let [options_msg, init_msg] = messages.as_slice() else {
        return Err("messages must be [options, offline-init]".to_owned());
    };
    c.check(
        "messages kinds",
        (
            str_field(options_msg, "kind")?,
            str_field(init_msg, "kind")?,
        ),
        ("options", "offline-init"),
    );
    let alice_key = key(&mut c, "alice", alice)?;
    let bob_key = key(&mut c, "bob", bob)?;

    // 1-2. The options form.
    let options_xml = str_field(options_msg, "xml")?;
    let (options, wire) =
        OfflineOptions::parse_element(Element::parse(options_xml).map_err(err("options xml"))?)
            .map_err(err("options form"))?;
    let n_a = hex_field(alice, "nonce")?;
    c.hex("options: my_nonce = N_A", &options.offer.my_nonce, &n_a);
    c.check(
        "options: expires",
        options.expires.as_str(),
        str_field(alice, "expires")?,
    );
    c.check(
        "options: messages[0].expires",
        options.expires.as_str(),
        str_field(options_msg, "expires")?,
    );
    c.check(
        "options: match_resource",
        options.match_resource.as_deref(),
        alice.get("match_resource").and_then(Value::as_str),
    );
    let DhValues::Keys(dhkeys) = &options.offer.dh else {
        return Err("options without dhkeys".to_owned());
    };
    let dh = obj(alice, "dh")?;
    let mut xs = Vec::new();
    for (i, group) in options.offer.modp.iter().enumerate() {
        let entry = obj(dh, &group.to_string())?;
        let g = ModpGroup::from_number(*group).map_err(err("modp"))?;
        let x = DhPrivateKey::from_bytes(g, &hex_field(entry, "x")?).map_err(err("x"))?;
        c.hex(
            &format!("group {group}: e = g^x"),
            x.public_key(),
            &hex_field(entry, "e")?,
        );
        c.hex(
            &format!("group {group}: dhkeys value {i}"),
            dhkeys.get(i).map(Vec::as_slice).unwrap_or_default(),
            x.public_key(),
        );
        xs.push(PrivateValue {
            group: *group,
            x: x.to_bytes(),
        });
    }
    let form_options = wire
        .form_bytes(NormProfile::Xep)
        .map_err(err("form bytes"))?;
    // Failure vectors carry no derived values.
    if let Some(derived) = file.get("derived") {
        c.check(
            "D48 signature input (form without signs)",
            String::from_utf8_lossy(&form_options).into_owned(),
            str_field(derived, "form_options")?.to_owned(),
        );
    }
    let recorded_signs: Vec<String> = options_msg
        .get("signs")
        .and_then(Value::as_array)
        .ok_or("missing signs")?
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();
    c.check(
        "signs as recorded",
        options.signs.iter().map(hex::encode).collect::<Vec<_>>(),
        recorded_signs,
    );
    for (i, s) in options.signs.iter().enumerate() {
        c.ok(
            &format!("signs[{i}] verifies with Alice's key (D48)"),
            alice_key
                .verifying
                .verify(&form_options, s)
                .map_err(|e| e.to_string()),
        );
    }

    if let Some(expect) = file.get("expect_error").and_then(Value::as_str) {
        run_failure(&mut c, file, alice, &bob_key, &n_a, xs, options_xml, expect)?;
        return Ok(c.0);
    }
    let derived = obj(file, "derived")?;

    // 3. Bob's offline init.
    let init_xml = str_field(init_msg, "xml")?;
    let init = Stanza::parse(init_xml).map_err(err("init stanza"))?;
    let neg = init
        .negotiation()
        .map_err(err("init form"))?
        .ok_or("no offline init in the stanza")?;
    let Negotiation::OfflineInit(offline_init) = &neg.message else {
        return Err("messages[1] is not an offline init".to_owned());
    };
    let resp = &offline_init.response;
    let group = ModpGroup::from_number(resp.modp).map_err(err("modp"))?;
    c.check(
        "negotiated modp",
        u64::from(resp.modp),
        negotiated.get("modp").and_then(Value::as_u64).unwrap_or(0),
    );
    let hash = esession_crypto::hash::HashAlg::from_name(&resp.hash_alg).map_err(err("hash"))?;
    let cipher =
        esession_crypto::cipher::CipherAlg::from_name(&resp.crypt_alg).map_err(err("cipher"))?;
    c.check(
        "negotiated crypt_algs",
        resp.crypt_alg.as_str(),
        str_field(negotiated, "crypt_algs")?,
    );
    let y = DhPrivateKey::from_bytes(group, &hex_field(bob, "y")?).map_err(err("y"))?;
    c.hex("d = g^y", y.public_key(), &hex_field(bob, "d")?);
    c.hex("dhkeys (d) in the init", &resp.dhkey, y.public_key());
    c.hex("my_nonce = N_B", &resp.my_nonce, &hex_field(bob, "nonce")?);
    c.hex("nonce = N_A", &resp.nonce, &n_a);
    let c_a = counter(bob, "counter_a")?;
    c.check("counter = C_A", resp.counter, c_a);
    let c_b = Counters::from_c_a(c_a).c_b;
    c.check("C_B = C_A xor 2^127", c_b, counter(derived, "counter_b")?);
    let x = xs
        .iter()
        .find(|v| v.group == resp.modp)
        .ok_or("no x for the chosen group")?;
    let x = DhPrivateKey::from_bytes(group, x.x.as_bytes()).map_err(err("x"))?;
    let shared = x.shared_secret(&resp.dhkey).map_err(err("d^x"))?;
    let e = dhkeys
        .get(
            options
                .offer
                .modp
                .iter()
                .position(|m| *m == resp.modp)
                .unwrap_or(usize::MAX),
        )
        .ok_or("no e for the chosen group")?;
    let shared_bob = y.shared_secret(e).map_err(err("e^y"))?;
    c.hex(
        "shared secret d^x",
        shared.as_bytes(),
        &hex_field(derived, "shared_secret")?,
    );
    c.hex(
        "shared secret e^y = d^x",
        shared_bob.as_bytes(),
        shared.as_bytes(),
    );
    let k = keys::k_dh(hash, shared.as_bytes());
    c.hex(
        "K = HASH(mpi(d^x)) (D8, D49)",
        k.as_bytes(),
        &hex_field(derived, "k_dh")?,
    );
    let session =
        SessionKeys::derive(hash, cipher, Profile::Xep, k.as_bytes()).map_err(err("keys"))?;
    let recorded_keys = obj(derived, "keys")?;
    for (label, d) in [("A", session.initiator()), ("B", session.responder())] {
        c.hex(
            &format!("KC{label}"),
            d.kc().key_bytes(),
            &hex_field(recorded_keys, &format!("KC{label}"))?,
        );
        c.hex(
            &format!("KM{label}"),
            d.km().as_bytes(),
            &hex_field(recorded_keys, &format!("KM{label}"))?,
        );
        c.hex(
            &format!("KS{label}"),
            d.ks().as_bytes(),
            &hex_field(recorded_keys, &format!("KS{label}"))?,
        );
    }

    // 4. Bob's identity.
    let form_b = neg
        .form
        .form_bytes(NormProfile::Xep)
        .map_err(err("formB"))?;
    c.check(
        "formB (received, without identity and mac)",
        String::from_utf8_lossy(&form_b).into_owned(),
        str_field(derived, "form_b")?.to_owned(),
    );
    let mac_b = identity::mac_b(
        hash,
        session.responder().ks().as_bytes(),
        &MacBInput {
            n_a: &resp.nonce,
            n_b: &resp.my_nonce,
            d: &resp.dhkey,
            pub_key_b: &bob_key.key_value,
            form_b: &form_b,
            form_b2: None,
        },
    );
    c.hex(
        "macB (no formB2, D49)",
        mac_b.as_bytes(),
        &hex_field(derived, "mac_b")?,
    );
    let sign_b = hex_field(derived, "sign_b")?;
    c.ok(
        "signB verifies over macB with Bob's key",
        bob_key
            .verifying
            .verify(mac_b.as_bytes(), &sign_b)
            .map_err(|e| e.to_string()),
    );
    let mut no_rng = NoRng;
    match bob_key.signing.sign(mac_b.as_bytes(), &mut no_rng) {
        Ok(s) => c.hex(
            "signB re-signed (PKCS#1 v1.5 is deterministic)",
            &s,
            &sign_b,
        ),
        Err(e) => c.push("signB re-signed", Outcome::Fail(e.to_string())),
    }
    let plaintext = identity::signed_identity_plaintext(&bob_key.key_value, &sign_b);
    c.check(
        "identity plaintext pubKeyB ‖ SignatureValue (D29)",
        String::from_utf8_lossy(&plaintext).into_owned(),
        str_field(derived, "identity_plaintext")?.to_owned(),
    );
    let sealed = session
        .responder()
        .seal_identity(c_b, &plaintext)
        .map_err(err("seal ID_B"))?;
    c.hex("ID_B", &sealed.id, &hex_field(derived, "id_b")?);
    c.hex("M_B", &sealed.m, &hex_field(derived, "m_b")?);
    c.hex(
        "identity field = ID_B",
        resp.identity.as_deref().unwrap_or_default(),
        &sealed.id,
    );
    c.hex(
        "mac field = M_B",
        resp.mac.as_deref().unwrap_or_default(),
        &sealed.m,
    );
    let sign_alg =
        esession_crypto::sign::SignAlg::from_uri(resp.sign_alg.as_deref().unwrap_or_default())
            .map_err(err("sign_algs"))?;
    let opened = open_identity(&OpenInput {
        hash,
        cipher,
        shared_secret: &shared,
        n_a: &resp.nonce,
        n_b: &resp.my_nonce,
        d: &resp.dhkey,
        form_b: &form_b,
        c_a: resp.counter,
        id_b: resp.identity.as_deref().unwrap_or_default(),
        m_b: resp.mac.as_deref().unwrap_or_default(),
        sign_alg,
    });
    let next_c_b = match opened {
        Ok(o) => {
            c.check(
                "open_identity: Bob's key",
                o.peer_key == bob_key.verifying,
                true,
            );
            c.hex("open_identity: macB", o.mac_b.as_bytes(), mac_b.as_bytes());
            o.next_c_b
        }
        Err(e) => {
            c.push("open_identity", Outcome::Fail(e.to_string()));
            esession_sigma::counters::advance(c_b, sealed.blocks)
        }
    };

    // 5. XEP-0200 stanzas.
    let stanzas = file
        .get("stanzas")
        .and_then(Value::as_array)
        .ok_or("missing stanzas")?;
    let mut rx = StanzaCipher::new(session.responder().clone(), next_c_b);
    for (i, s) in stanzas.iter().enumerate() {
        let name = |what: &str| format!("stanza {i}: {what}");
        c.check(
            &name("counter before"),
            rx.counter(),
            counter(s, "counter_before")?,
        );
        let mut st = Stanza::parse(str_field(s, "xml")?).map_err(err("stanza xml"))?;
        if i == 0 {
            c.check(&name("is the offline init"), str_field(s, "xml")?, init_xml);
        }
        let received = st.encrypted().map_err(err("<c/>"))?.ok_or("no <c/>")?;
        c.check(
            &name("m_content"),
            String::from_utf8_lossy(&received.m_content).into_owned(),
            str_field(s, "m_content")?.to_owned(),
        );
        c.hex(
            &name("data"),
            received.content.data.as_deref().unwrap_or_default(),
            &hex_field(s, "data")?,
        );
        c.hex(&name("a_mac"), &received.content.mac, &hex_field(s, "mac")?);
        match rx.open(&mut st) {
            Ok(_) => {
                c.check(
                    &name("plaintext"),
                    st.encryptable_content(),
                    str_field(s, "plaintext")?.to_owned(),
                );
                c.check(
                    &name("counter after"),
                    rx.counter(),
                    counter(s, "counter_after")?,
                );
            }
            Err(e) => c.push(&name("decrypts"), Outcome::Fail(e.to_string())),
        }
    }

    // 6. Alice's path through esession-offline.
    let now = parse_expires(str_field(file, "now")?).map_err(err("now"))?;
    let expires = parse_expires(str_field(alice, "expires")?).map_err(err("expires"))?;
    let audience = match str_field(file, "audience")? {
        "subscribers" => Audience::Subscribers,
        _ => Audience::Everyone,
    };
    let mut store = MemoryOfflineStore::new();
    let _ = store.save_published(PublishedOptions {
        n_a: n_a.clone(),
        audience,
        expires,
        x: xs,
        options_xml: options_xml.to_owned(),
    });
    let bob_trusted = TrustedKey::of(&bob_key.verifying, "bob").map_err(err("bob's key"))?;
    let Ok(()) = store.trust_key("bob@example.com", bob_trusted);
    match Receiver::came_online(Config::default(), &mut store) {
        Ok(back) => {
            let mut r = back.receiver;
            c.check(
                "Alice: expired init discarded undecrypted (D50)",
                r.accept(expires, init.clone(), &mut store).err(),
                Some(esession_offline::Error::Expired),
            );
            match r.accept(now, init.clone(), &mut store) {
                Ok(a) => c.check(
                    "Alice: accepted; terminate as recorded",
                    a.terminated,
                    negotiated
                        .get("terminate")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                ),
                Err(e) => c.push("Alice: accepted", Outcome::Fail(e.to_string())),
            }
            c.check(
                "Alice: replay refused (D50)",
                r.accept(now, init, &mut store).err(),
                Some(esession_offline::Error::Replay),
            );
        }
        Err(e) => c.push("Alice: came online", Outcome::Fail(e.to_string())),
    }
    Ok(c.0)
}

/// The name a failure vector's `expect_error` uses for an error.
fn error_name(e: &esession_offline::Error) -> String {
    use esession_offline::Error as E;
    match e {
        E::Expired => "expired".into(),
        E::Replay => "replay".into(),
        E::BadIdentityMac => "bad-identity-mac".into(),
        E::BadIdentity => "bad-identity".into(),
        E::UntrustedPeer => "untrusted-peer".into(),
        E::BadContent => "bad-content".into(),
        E::UnknownNonce => "unknown-nonce".into(),
        other => format!("{other:?}"),
    }
}

/// A failure vector (TRANSCRIPT-SCHEMA `expect_error`): Alice, holding the
/// recorded values, must refuse the recorded init at `now` with that error,
/// and nothing is recorded (the same stanza fails the same way again).
#[allow(clippy::too_many_arguments)]
fn run_failure(
    c: &mut Cases,
    file: &Value,
    alice: &Value,
    bob_key: &Key,
    n_a: &[u8],
    xs: Vec<PrivateValue>,
    options_xml: &str,
    expect: &str,
) -> Result<(), String> {
    let messages = file
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("missing messages")?;
    let init_xml = messages
        .get(1)
        .map(|m| str_field(m, "xml"))
        .transpose()?
        .ok_or("no offline init")?;
    let init = Stanza::parse(init_xml).map_err(err("init stanza"))?;
    let now = parse_expires(str_field(file, "now")?).map_err(err("now"))?;
    let expires = parse_expires(str_field(alice, "expires")?).map_err(err("expires"))?;
    let audience = match str_field(file, "audience")? {
        "subscribers" => Audience::Subscribers,
        _ => Audience::Everyone,
    };
    let mut store = MemoryOfflineStore::new();
    let _ = store.save_published(PublishedOptions {
        n_a: n_a.to_vec(),
        audience,
        expires,
        x: xs,
        options_xml: options_xml.to_owned(),
    });
    let bob_trusted = TrustedKey::of(&bob_key.verifying, "bob").map_err(err("bob's key"))?;
    let Ok(()) = store.trust_key("bob@example.com", bob_trusted);
    let mut r = Receiver::came_online(Config::default(), &mut store)
        .map_err(err("came online"))?
        .receiver;
    for attempt in ["first", "again"] {
        let got = r
            .accept(now, init.clone(), &mut store)
            .err()
            .map(|e| error_name(&e));
        c.check(
            &format!(
                "Alice refuses ({attempt}): {}",
                str_field(file, "step").unwrap_or(expect)
            ),
            got.as_deref(),
            Some(expect),
        );
    }
    Ok(())
}

/// RSASSA-PKCS1-v1_5 signing takes an RNG only for blinding; re-signing a
/// vector needs none that matters, but the API wants a CryptoRng: this one
/// returns a fixed pattern (the signature does not depend on it).
struct NoRng;

impl esession_crypto::rand_core::TryRng for NoRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0x9e37_79b9)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0x9e37_79b9_7f4a_7c15)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for (i, b) in dst.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(0x9d).wrapping_add(0x3b);
        }
        Ok(())
    }
}

impl esession_crypto::rand_core::TryCryptoRng for NoRng {}
