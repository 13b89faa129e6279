//! Seeded generator of vectors/offline/*.json (esession-transcript/1, offline
//! variant: shared/vectors/TRANSCRIPT-SCHEMA.md).
//!
//! Each scenario runs the real code path (Publisher, Initiator, Receiver)
//! with a ChaCha20 generator seeded from the scenario, records every secret
//! (Alice's x values, Bob's y, both RSA keys) and every derived value, and
//! renders the JSON byte for byte the same way each time.

use std::time::{Duration, SystemTime};

use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::{DhPrivateKey, ExponentPolicy, ModpGroup};
use esession_crypto::mpi;
use esession_crypto::sign::{PublicKeyComponents, SigningKey};
use esession_offline::{
    Audience, Initiator, MemoryOfflineStore, OfflineStore, OpenInput, Publisher, Receiver,
    open_identity,
};
use esession_online::{Config, MemoryStore, SessionStore, TrustedKey};
use esession_sigma::counters::Counters;
use esession_wire::{Element, Negotiation, NormProfile, Stanza, StanzaKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::{Value, json};

pub const ALICE: &str = "alice@example.org/pda";
pub const BOB: &str = "bob@example.com/laptop";

pub struct Scenario {
    pub name: &'static str,
    pub title: &'static str,
    pub seed: u64,
    pub audience: Audience,
    pub modp: &'static [ModpGroup],
    pub ciphers: &'static [CipherAlg],
    pub match_resource: Option<&'static str>,
    /// Plaintext children of each stanza Bob sends (the first in the init).
    pub messages: &'static [&'static str],
    pub terminate_in_init: bool,
    /// A failure vector: how the recorded session is broken.
    pub fail: Option<Fail>,
}

/// Failure vectors (TRANSCRIPT-SCHEMA: `expect_error` and the step).
#[derive(Clone, Copy)]
pub enum Fail {
    /// One base64 character of M_B changed in the init.
    ForgedMac,
    /// Alice receives the init at her expiry time.
    Expired,
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "xep-g14-aes128-object-encryption",
        title: "offline init with one encrypted message and terminate (object encryption), group 14, aes128-ctr, match_resource, subscribers' options",
        seed: 187_001,
        audience: Audience::Subscribers,
        modp: &[ModpGroup::Group14, ModpGroup::Group5],
        ciphers: &[CipherAlg::Aes128Ctr],
        match_resource: Some("pda"),
        messages: &[
            "<body>Hello, Alice!</body><headers xmlns=\"http://jabber.org/protocol/shim\"><header name=\"Created\">2027-01-15T08:05:00Z</header></headers>",
        ],
        terminate_in_init: true,
        fail: None,
    },
    Scenario {
        name: "xep-g5-aes256-session",
        title: "offline init then two more encrypted messages, group 5, aes256-ctr, no match_resource, options for everyone",
        seed: 187_002,
        audience: Audience::Everyone,
        modp: &[ModpGroup::Group5, ModpGroup::Group14],
        ciphers: &[CipherAlg::Aes256Ctr, CipherAlg::Aes128Ctr],
        match_resource: None,
        messages: &[
            "<body>first</body><headers xmlns=\"http://jabber.org/protocol/shim\"><header name=\"Created\">2027-01-15T08:00:00Z</header></headers>",
            "<body>second, with non-ASCII: é ✓</body><headers xmlns=\"http://jabber.org/protocol/shim\"><header name=\"Created\">2027-01-15T08:01:00Z</header></headers>",
            "<body>third</body><headers xmlns=\"http://jabber.org/protocol/shim\"><header name=\"Created\">2027-01-15T08:02:00Z</header></headers>",
        ],
        terminate_in_init: false,
        fail: None,
    },
    Scenario {
        name: "fail-forged-mac",
        title: "failure: M_B of the offline init changed in transit; Alice refuses it before deciphering ID_B and sends nothing",
        seed: 187_003,
        audience: Audience::Subscribers,
        modp: &[ModpGroup::Group14],
        ciphers: &[CipherAlg::Aes128Ctr],
        match_resource: None,
        messages: &[
            "<body>forged</body><headers xmlns=\"http://jabber.org/protocol/shim\"><header name=\"Created\">2027-01-15T08:00:00Z</header></headers>",
        ],
        terminate_in_init: true,
        fail: Some(Fail::ForgedMac),
    },
    Scenario {
        name: "fail-expired",
        title: "failure: the offline init reaches Alice at her options' expiry time; she discards it undecrypted (D50)",
        seed: 187_004,
        audience: Audience::Everyone,
        modp: &[ModpGroup::Group14],
        ciphers: &[CipherAlg::Aes128Ctr],
        match_resource: None,
        messages: &[
            "<body>too late</body><headers xmlns=\"http://jabber.org/protocol/shim\"><header name=\"Created\">2027-01-15T08:00:00Z</header></headers>",
        ],
        terminate_in_init: true,
        fail: Some(Fail::Expired),
    },
];

fn hx(b: &[u8]) -> String {
    hex::encode(b)
}

fn sign_key_json(k: &SigningKey) -> Value {
    let PublicKeyComponents::Rsa { modulus, exponent } = k.verifying_key().components() else {
        panic!("RSA only")
    };
    json!({
        "alg": k.alg().uri(),
        "modulus": hx(&modulus),
        "exponent": hx(&exponent),
        "key_value": String::from_utf8(esession_wire::key_bytes(&k.verifying_key()).unwrap()).unwrap(),
        "pkcs8": hx(k.to_pkcs8_der().unwrap().as_bytes()),
    })
}

fn content(children: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Message);
    s.set_attr("type", "chat");
    let w = Element::parse_fragment(children, "jabber:client").unwrap();
    for c in w.children() {
        s.push(c.clone());
    }
    s
}

fn mpi_hex(c: u128) -> String {
    hx(&mpi::encode_u128(c))
}

pub fn build(sc: &Scenario) -> Value {
    let mut rng = ChaCha20Rng::seed_from_u64(sc.seed);
    let alice_key = SigningKey::generate_rsa(2048, &mut rng).unwrap();
    let bob_key = SigningKey::generate_rsa(2048, &mut rng).unwrap();
    let trusted = |k: &SigningKey| TrustedKey::of(&k.verifying_key(), "known").unwrap();
    let mut trust = MemoryStore::new();
    trust
        .trust_key("alice@example.org", trusted(&alice_key))
        .unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let expires = now + Duration::from_secs(12 * 3600);

    let mut config = Config::default();
    config.modp = sc.modp.to_vec();
    config.crypt_algs = sc.ciphers.to_vec();
    config.exponent_policy = ExponentPolicy::Rfc3526;

    // Alice publishes.
    let mut store = MemoryOfflineStore::new();
    store
        .trust_key("bob@example.com", trusted(&bob_key))
        .unwrap();
    let mut publisher =
        Publisher::new(config.clone(), sc.audience, expires).signing_key(&alice_key);
    if let Some(r) = sc.match_resource {
        publisher = publisher.match_resource(r);
    }
    let published = publisher.publish(&mut rng, &mut store).unwrap();
    let n_a = published.options.offer.my_nonce.clone();
    let record = store.published(&n_a).unwrap().unwrap();
    let mut dh = serde_json::Map::new();
    for (v, e) in record.x.iter().zip(match &published.options.offer.dh {
        esession_wire::DhValues::Keys(k) => k.clone(),
        _ => unreachable!(),
    }) {
        dh.insert(
            v.group.to_string(),
            json!({"x": hx(v.x.as_bytes()), "e": hx(&e)}),
        );
    }

    // Bob starts the session with a pinned y drawn from the same generator.
    let mut bob = Initiator::new(config.clone(), &bob_key).unwrap();
    let checked = bob
        .check_options(now, "alice@example.org", &published.item, &trust)
        .unwrap();
    let chosen = checked.chosen().negotiated.clone();
    let y = DhPrivateKey::generate(chosen.modp, ExponentPolicy::Rfc3526, 128, &mut rng).unwrap();
    bob.pin_y_for_tests(y.to_bytes().as_bytes());
    let started = bob
        .start(
            now,
            &checked,
            Some(content(sc.messages[0])),
            sc.terminate_in_init,
            &mut rng,
        )
        .unwrap();
    let mut sent = vec![started.stanza.clone()];
    if let Some(mut session) = started.session {
        for m in &sc.messages[1..] {
            sent.push(session.seal(now, content(m)).unwrap());
        }
    }
    for s in &mut sent {
        s.set_attr("from", BOB);
    }
    let init_xml = sent[0].to_xml();

    // Re-read what went on the wire, as Alice does.
    let init = Stanza::parse(&init_xml).unwrap();
    let neg = init.negotiation().unwrap().unwrap();
    let Negotiation::OfflineInit(offline_init) = &neg.message else {
        unreachable!()
    };
    let resp = &offline_init.response;
    let form_b = neg.form.form_bytes(NormProfile::Xep).unwrap();
    let x = DhPrivateKey::from_bytes(
        chosen.modp,
        record.x_for(chosen.modp.number()).unwrap().as_bytes(),
    )
    .unwrap();
    let shared = x.shared_secret(&resp.dhkey).unwrap();
    let opened = open_identity(&OpenInput {
        hash: chosen.hash,
        cipher: chosen.cipher,
        shared_secret: &shared,
        n_a: &resp.nonce,
        n_b: &resp.my_nonce,
        d: &resp.dhkey,
        form_b: &form_b,
        c_a: resp.counter,
        id_b: resp.identity.as_deref().unwrap(),
        m_b: resp.mac.as_deref().unwrap(),
        sign_alg: chosen.sign_alg.unwrap(),
    })
    .unwrap();
    let k = esession_sigma::keys::k_dh(chosen.hash, shared.as_bytes());
    let plaintext = esession_sigma::keys::DirectionKeys::derive(
        chosen.hash,
        chosen.cipher,
        esession_sigma::Profile::Xep,
        k.as_bytes(),
        esession_sigma::keys::Role::Responder,
    )
    .unwrap()
    .open_identity(
        Counters::from_c_a(resp.counter).c_b,
        resp.identity.as_deref().unwrap(),
        resp.mac.as_deref().unwrap(),
    )
    .unwrap();
    let signed =
        esession_sigma::identity::parse_signed_identity(plaintext.plaintext.as_bytes()).unwrap();
    let keys = &opened.keys;
    let key_hex = |d: &esession_sigma::keys::DirectionKeys| {
        (
            hx(d.kc().key_bytes()),
            hx(d.km().as_bytes()),
            hx(d.ks().as_bytes()),
        )
    };
    let (kca, kma, ksa) = key_hex(keys.initiator());
    let (kcb, kmb, ksb) = key_hex(keys.responder());

    // Alice accepts (the real path) and each stanza is recorded.
    let mut receiver = Receiver::came_online(config.clone(), &mut store)
        .unwrap()
        .receiver;
    let at = now + Duration::from_secs(3600);
    let accepted = receiver.accept(at, init.clone(), &mut store).unwrap();
    assert_eq!(accepted.terminated, sc.terminate_in_init);
    let mut stanzas = Vec::new();
    let mut counter = opened.next_c_b;
    let mut session = accepted.session;
    for (i, s) in sent.iter().enumerate() {
        let parsed = Stanza::parse(&s.to_xml()).unwrap();
        let enc = parsed.encrypted().unwrap().unwrap();
        let data = enc.content.data.clone().unwrap();
        let after = counter + esession_crypto::cipher::blocks_for(data.len());
        let decrypted = if i == 0 {
            accepted.content.clone().unwrap()
        } else {
            session
                .as_mut()
                .unwrap()
                .open(parsed.clone())
                .unwrap()
                .content
        };
        assert!(decrypted.to_xml().contains(&sc.messages[i][..10]));
        stanzas.push(json!({
            "from": "bob",
            "plaintext": sc.messages[i],
            "counter_before": mpi_hex(counter),
            "counter_after": mpi_hex(after),
            "m_content": String::from_utf8(enc.m_content.clone()).unwrap(),
            "data": hx(&data),
            "mac": hx(&enc.content.mac),
            "xml": s.to_xml(),
        }));
        counter = after;
    }

    let options_xml = published.item.to_xml();
    json!({
        "schema": "esession-transcript/1",
        "name": sc.title,
        "source": format!("generated by esession-offline (crates/esession-offline/tests/common/generator.rs, scenario {}, ChaCha20 seed {}); checked by tests/vectors_regenerate.rs and replayed by conformance/src/suites/offline.rs", sc.name, sc.seed),
        "profile": "xep",
        "mode": "offline",
        "audience": match sc.audience { Audience::Subscribers => "subscribers", _ => "everyone" },
        "now": esession_offline::format_expires(at),
        "alice": {
            "jid": ALICE,
            "nonce": hx(&n_a),
            "dh": Value::Object(dh),
            "expires": published.options.expires,
            "match_resource": sc.match_resource,
            "sign_key": sign_key_json(&alice_key),
        },
        "bob": {
            "jid": BOB,
            "nonce": hx(&resp.my_nonce),
            "y": hx(y.to_bytes().as_bytes()),
            "d": hx(&resp.dhkey),
            "counter_a": mpi_hex(resp.counter),
            "sign_key": sign_key_json(&bob_key),
        },
        "negotiated": {
            "modp": resp.modp,
            "crypt_algs": resp.crypt_alg,
            "hash_algs": resp.hash_alg,
            "sign_algs": resp.sign_alg,
            "compress": resp.compress,
            "resp_pubkey": "key",
            "ver": resp.ver,
            "rekey_freq": resp.rekey_freq,
            "stanzas": resp.stanzas,
            "terminate": sc.terminate_in_init,
        },
        "messages": [
            {"n": 1, "from": "alice", "kind": "options", "xml": options_xml,
             "expires": published.options.expires,
             "signs": published.options.signs.iter().map(|s| hx(s)).collect::<Vec<_>>()},
            {"n": 2, "from": "bob", "kind": "offline-init", "xml": init_xml},
        ],
        "derived": {
            "form_options": String::from_utf8(published.signed_bytes.clone()).unwrap(),
            "shared_secret": hx(shared.as_bytes()),
            "k_dh": hx(k.as_bytes()),
            "keys": {"KCA": kca, "KMA": kma, "KSA": ksa, "KCB": kcb, "KMB": kmb, "KSB": ksb},
            "form_b": String::from_utf8(form_b).unwrap(),
            "counter_b": mpi_hex(Counters::from_c_a(resp.counter).c_b),
            "mac_b": hx(opened.mac_b.as_bytes()),
            "sign_b": hx(&signed.signature),
            "id_b": hx(resp.identity.as_deref().unwrap()),
            "m_b": hx(resp.mac.as_deref().unwrap()),
            "identity_plaintext": String::from_utf8(plaintext.plaintext.as_bytes().to_vec()).unwrap(),
        },
        "stanzas": stanzas,
    })
}

/// Turns a recorded session into a failure vector: the broken input, the
/// error Alice must report and the step, without derived values.
pub fn build_with_failure(sc: &Scenario) -> Value {
    let mut v = build(sc);
    let Some(fail) = sc.fail else { return v };
    let obj = v.as_object_mut().unwrap();
    obj.remove("derived");
    obj.remove("stanzas");
    match fail {
        Fail::ForgedMac => {
            let xml = obj["messages"][1]["xml"].as_str().unwrap().to_owned();
            let at = xml.find("<field var=\"mac\"><value>").unwrap() + 25;
            let mut b = xml.into_bytes();
            b[at] = if b[at] == b'A' { b'B' } else { b'A' };
            obj["messages"][1]["xml"] = json!(String::from_utf8(b).unwrap());
            obj.insert("expect_error".into(), json!("bad-identity-mac"));
            obj.insert(
                "step".into(),
                json!("alice: M_B, before ID_B is deciphered (XEP-0116 §4.6.2)"),
            );
        }
        Fail::Expired => {
            let expires = obj["alice"]["expires"].clone();
            obj.insert("now".into(), expires);
            obj.insert("expect_error".into(), json!("expired"));
            obj.insert(
                "step".into(),
                json!("alice: now >= expires, before any cryptography (D50)"),
            );
        }
    }
    v
}

pub fn render(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap();
    s.push('\n');
    s
}
