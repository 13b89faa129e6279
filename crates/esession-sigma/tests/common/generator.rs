//! Builds the xep-profile scenarios of `vectors/sigma/` from seeded randomness.
//!
//! Shared (via `#[path]`) by the `generate_sigma_vectors` example, which writes
//! `vectors/sigma/<name>-new.json`, and by the `xep_vectors_regenerate_identically`
//! test, which checks that the committed files are exactly what this code produces.
//! Every value is then re-derived independently by `vectors/tools/rederive_sigma.py`.
//!
//! The forms are D17-normalized bytes laid out as DECISIONS D20-D23 and D46 describe
//! (the same layout as `vectors/wire/xep-messages.json`); the sigma crate only
//! needs them as bytes.

use esession_crypto::b64;
use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::{DhPrivateKey, ExponentPolicy, ModpGroup};
use esession_crypto::hash::HashAlg;
use esession_crypto::sign::{PublicKeyComponents, SigningKey};
use esession_sigma::counters::{self, Counters};
use esession_sigma::identity::{self, MacAInput, MacBInput};
use esession_sigma::keys::{self, DirectionKeys, Role, SessionKeys};
use esession_sigma::{Profile, sas, secrets};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};
use serde_json::{Value, json};

/// One scenario's choices.
pub struct Scenario {
    pub name: &'static str,
    pub title: &'static str,
    pub three_message: bool,
    /// Alice's modp offer, preferred first; the first is chosen.
    pub groups: &'static [u32],
    pub cipher: CipherAlg,
    /// Retained secrets Alice and Bob hold (by label; equal labels are equal secrets).
    pub alice_rs: &'static [&'static str],
    pub bob_rs: &'static [&'static str],
    pub oss: Option<&'static str>,
    pub rsa: bool,
    /// A fixed C_A instead of a random one (edge cases of D13/D14).
    pub c_a: Option<u128>,
    pub stanzas: &'static [(&'static str, &'static str)],
    /// Re-keys: who sends `<key/>`.
    pub rekeys: &'static [&'static str],
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "xep-g14-aes128-first-session",
        title: "4-message, group 14, aes128-ctr, no retained secret, no OSS, no public keys; stanzas and re-keys",
        three_message: false,
        groups: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        alice_rs: &[],
        bob_rs: &[],
        oss: None,
        rsa: false,
        c_a: None,
        stanzas: &[
            ("alice", "<body>Hello Bob</body>"),
            (
                "bob",
                "<body>Hi Alice! This reply is longer than two AES blocks.</body>",
            ),
            ("alice", "<body>\u{00e9}t\u{00e9}</body>"),
        ],
        rekeys: &["alice", "bob"],
    },
    Scenario {
        name: "xep-g5-aes256-srs",
        title: "4-message, group 5, aes256-ctr, a shared retained secret found by Bob's second candidate, no OSS",
        three_message: false,
        groups: &[5, 14],
        cipher: CipherAlg::Aes256Ctr,
        alice_rs: &["shared-1", "alice-only"],
        bob_rs: &["bob-only", "shared-1"],
        oss: None,
        rsa: false,
        c_a: None,
        stanzas: &[
            ("bob", "<body>first from Bob</body>"),
            ("alice", "<body>ok</body>"),
        ],
        rekeys: &[],
    },
    Scenario {
        name: "xep-g14-aes128-srs-oss",
        title: "4-message, group 14, aes128-ctr, retained secret and other shared secret",
        three_message: false,
        groups: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        alice_rs: &["shared-2"],
        bob_rs: &["shared-2"],
        oss: Some("correct horse battery staple"),
        rsa: false,
        c_a: None,
        stanzas: &[("alice", "<body>with SRS and OSS</body>")],
        rekeys: &[],
    },
    Scenario {
        name: "xep-g5-aes128-oss-small-counter",
        title: "4-message, group 5, aes128-ctr, OSS only (Alice's retained secret unknown to Bob), C_A < 2^120 so mpi(C_A) has 15 bytes",
        three_message: false,
        groups: &[5],
        cipher: CipherAlg::Aes128Ctr,
        alice_rs: &["alice-stale"],
        bob_rs: &[],
        oss: Some("p\u{00e4}ssw\u{00f6}rd"),
        rsa: false,
        c_a: Some(0x00f1_e2d3_c4b5_a697_8877_6655_4433_2211),
        stanzas: &[("alice", "<body>x</body>"), ("bob", "<body>y</body>")],
        rekeys: &["alice"],
    },
    Scenario {
        name: "xep-g14-aes256-rsa",
        title: "4-message, group 14, aes256-ctr, RSA-2048 keys on both sides (init_pubkey = resp_pubkey = key, rsa-sha256)",
        three_message: false,
        groups: &[14, 5],
        cipher: CipherAlg::Aes256Ctr,
        alice_rs: &[],
        bob_rs: &[],
        oss: None,
        rsa: true,
        c_a: None,
        stanzas: &[("alice", "<body>signed session</body>")],
        rekeys: &[],
    },
    Scenario {
        name: "xep-g14-aes128-3message-rsa",
        title: "3-message (D46), group 14, aes128-ctr, RSA-2048 keys on both sides",
        three_message: true,
        groups: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        alice_rs: &[],
        bob_rs: &[],
        oss: None,
        rsa: true,
        c_a: None,
        stanzas: &[
            ("bob", "<body>3-message</body>"),
            ("alice", "<body>ack</body>"),
        ],
        rekeys: &[],
    },
    Scenario {
        name: "xep-g5-aes128-counter-wrap",
        title: "4-message, group 5, aes128-ctr, C_A = 2^128 - 1: ID_A's second block wraps to counter 0 (D13)",
        three_message: false,
        groups: &[5, 14],
        cipher: CipherAlg::Aes128Ctr,
        alice_rs: &["shared-3"],
        bob_rs: &["shared-3"],
        oss: None,
        rsa: false,
        c_a: Some(u128::MAX),
        stanzas: &[("alice", "<body>after the wrap</body>")],
        rekeys: &[],
    },
];

const HASH: HashAlg = HashAlg::Sha256;
const PROFILE: Profile = Profile::Xep;
const RSA_URI: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha256";

fn hx(b: &[u8]) -> String {
    hex::encode(b)
}

fn field(var: &str, typ: Option<&str>, values: &[String]) -> String {
    let t = typ.map(|t| format!(" type=\"{t}\"")).unwrap_or_default();
    let v: String = values
        .iter()
        .map(|v| format!("<value>{v}</value>"))
        .collect();
    format!("<field{t} var=\"{var}\">{v}</field>")
}

fn options(var: &str, typ: &str, opts: &[String]) -> String {
    let o: String = opts
        .iter()
        .map(|v| format!("<option><value>{v}</value></option>"))
        .collect();
    format!("<field type=\"{typ}\" var=\"{var}\">{o}</field>")
}

fn s(v: &str) -> String {
    v.to_owned()
}

/// A retained secret from its label: 32 bytes, HASH(label).
fn rs(label: &str) -> Vec<u8> {
    HASH.digest(format!("esession-sigma-vectors retained secret {label}").as_bytes())
        .as_bytes()
        .to_vec()
}

fn key_value(sk: &SigningKey) -> (Vec<u8>, Vec<u8>, String) {
    let PublicKeyComponents::Rsa { modulus, exponent } = sk.verifying_key().components() else {
        panic!("not an RSA key");
    };
    let kv = format!(
        "<KeyValue><RSAKeyValue><Modulus>{}</Modulus><Exponent>{}</Exponent></RSAKeyValue></KeyValue>",
        b64::encode(&modulus),
        b64::encode(&exponent)
    );
    (modulus, exponent, kv)
}

fn sign_key_json(sk: &SigningKey) -> Value {
    let (modulus, exponent, kv) = key_value(sk);
    json!({
        "alg": RSA_URI,
        "modulus": hx(&modulus),
        "exponent": hx(&exponent),
        "pkcs8": hx(sk.to_pkcs8_der().unwrap().as_bytes()),
        "key_value": kv,
    })
}

/// Builds one scenario's vector file.
#[allow(clippy::too_many_lines)]
pub fn build(sc: &Scenario) -> Value {
    let seed_text = format!("esession-sigma-vectors/{}", sc.name);
    let seed: [u8; 32] = HASH
        .digest(seed_text.as_bytes())
        .as_bytes()
        .try_into()
        .unwrap();
    let mut rng = ChaCha20Rng::from_seed(seed);
    let cipher = sc.cipher;
    let pubkey = if sc.rsa { "key" } else { "none" };

    // Alice: nonce and one DH key per offered group (D2, D6).
    let mut n_a = vec![0u8; 16];
    rng.fill_bytes(&mut n_a);
    let mut alice_dh = Vec::new();
    for &g in sc.groups {
        let group = ModpGroup::from_number(g).unwrap();
        alice_dh.push((
            g,
            DhPrivateKey::generate(group, ExponentPolicy::Rfc3526, 128, &mut rng).unwrap(),
        ));
    }
    let group = ModpGroup::from_number(sc.groups[0]).unwrap();
    let x = &alice_dh[0].1;
    let e = x.public_key().to_vec();
    let sk_a = sc
        .rsa
        .then(|| SigningKey::generate_rsa(2048, &mut rng).unwrap());
    let sk_b = sc
        .rsa
        .then(|| SigningKey::generate_rsa(2048, &mut rng).unwrap());

    // msg1 (D20; D46 for the 3-message variant).
    let mut form_a = String::new();
    form_a += &field("FORM_TYPE", Some("hidden"), &[s("urn:xmpp:ssn")]);
    form_a += &field("accept", Some("boolean"), &[s("1")]);
    form_a += &options("logging", "list-single", &[s("may"), s("mustnot")]);
    form_a += &options("disclosure", "list-single", &[s("never")]);
    form_a += &options("security", "list-single", &[s("e2e")]);
    form_a += &options(
        "modp",
        "list-single",
        &sc.groups.iter().map(u32::to_string).collect::<Vec<_>>(),
    );
    form_a += &field("crypt_algs", Some("hidden"), &[s(cipher.name())]);
    form_a += &field("hash_algs", Some("hidden"), &[s("sha256")]);
    form_a += &field("compress", Some("hidden"), &[s("none")]);
    form_a += &options("stanzas", "list-multi", &[s("message")]);
    form_a += &field("init_pubkey", Some("hidden"), &[s(pubkey)]);
    form_a += &field("resp_pubkey", Some("hidden"), &[s(pubkey)]);
    form_a += &options("ver", "list-single", &[s("1.0")]);
    form_a += &field("rekey_freq", Some("hidden"), &[s("4294967295")]);
    form_a += &field("my_nonce", Some("hidden"), &[b64::encode(&n_a)]);
    if sc.rsa {
        form_a += &field("sign_algs", Some("hidden"), &[s(RSA_URI)]);
    }
    if sc.three_message {
        let dhkeys: Vec<String> = alice_dh
            .iter()
            .map(|(_, k)| b64::encode(k.public_key()))
            .collect();
        form_a += &field("dhkeys", Some("hidden"), &dhkeys);
    } else {
        form_a += &field("sas_algs", Some("hidden"), &[s("sas28x5")]);
        let he: Vec<String> = alice_dh
            .iter()
            .map(|(_, k)| b64::encode(HashAlg::Sha256.digest(k.public_key()).as_bytes()))
            .collect();
        form_a += &field("dhhashes", Some("hidden"), &he);
    }

    // Bob: nonce, counters, y (D2, D6, D12).
    let mut n_b = vec![0u8; 16];
    rng.fill_bytes(&mut n_b);
    let ctr = match sc.c_a {
        Some(c) => Counters::from_c_a(c),
        None => Counters::random(PROFILE, &mut rng),
    };
    let y = DhPrivateKey::generate(group, ExponentPolicy::Rfc3526, 128, &mut rng).unwrap();
    let d = y.public_key().to_vec();

    // msg2 (D21).
    let mut form_b = String::new();
    form_b += &field("FORM_TYPE", None, &[s("urn:xmpp:ssn")]);
    form_b += &field("accept", None, &[s("1")]);
    form_b += &field("logging", None, &[s("may")]);
    form_b += &field("disclosure", None, &[s("never")]);
    form_b += &field("security", None, &[s("e2e")]);
    form_b += &field("modp", None, &[sc.groups[0].to_string()]);
    form_b += &field("crypt_algs", None, &[s(cipher.name())]);
    form_b += &field("hash_algs", None, &[s("sha256")]);
    form_b += &field("compress", None, &[s("none")]);
    form_b += &field("stanzas", None, &[s("message")]);
    form_b += &field("init_pubkey", None, &[s(pubkey)]);
    form_b += &field("resp_pubkey", None, &[s(pubkey)]);
    form_b += &field("ver", None, &[s("1.0")]);
    form_b += &field("rekey_freq", None, &[s("4294967295")]);
    form_b += &field("my_nonce", None, &[b64::encode(&n_b)]);
    if sc.rsa {
        form_b += &field("sign_algs", None, &[s(RSA_URI)]);
    }
    if !sc.three_message {
        form_b += &field("sas_algs", None, &[s("sas28x5")]);
    }
    form_b += &field("dhkeys", None, &[b64::encode(&d)]);
    form_b += &field("nonce", None, &[b64::encode(&n_a)]);
    form_b += &field(
        "counter",
        None,
        &[b64::encode(&esession_crypto::mpi::encode_u128(ctr.c_a))],
    );

    let shared = x.shared_secret(&d).unwrap();
    let k = keys::k_dh(HASH, shared.as_bytes());
    let alice_rs: Vec<Vec<u8>> = sc.alice_rs.iter().map(|l| rs(l)).collect();
    let bob_rs: Vec<Vec<u8>> = sc.bob_rs.iter().map(|l| rs(l)).collect();
    let kv_a = sk_a.as_ref().map(|k| key_value(k).2).unwrap_or_default();
    let kv_b = sk_b.as_ref().map(|k| key_value(k).2).unwrap_or_default();

    let mut derived = serde_json::Map::new();
    let mut alice_json = json!({
        "jid": "alice@example.org/pda",
        "nonce": hx(&n_a),
        "dh": alice_dh.iter().map(|(g, k)| (g.to_string(), json!({
            "x": hx(k.to_bytes().as_bytes()), "e": hx(k.public_key())
        }))).collect::<serde_json::Map<_, _>>(),
        "retained_secrets": alice_rs.iter().map(|r| hx(r)).collect::<Vec<_>>(),
        "oss": sc.oss.map(|o| hx(o.as_bytes())),
        "sign_key": sk_a.as_ref().map(sign_key_json),
    });
    let mut bob_json = json!({
        "jid": "bob@example.com/laptop",
        "nonce": hx(&n_b),
        "y": hx(y.to_bytes().as_bytes()),
        "d": hx(&d),
        "counter_a": hx(&esession_crypto::mpi::encode_u128(ctr.c_a)),
        "retained_secrets": bob_rs.iter().map(|r| hx(r)).collect::<Vec<_>>(),
        "oss": sc.oss.map(|o| hx(o.as_bytes())),
        "sign_key": sk_b.as_ref().map(sign_key_json),
    });
    derived.insert("shared_secret".into(), json!(hx(shared.as_bytes())));
    derived.insert("k_dh".into(), json!(hx(k.as_bytes())));
    derived.insert(
        "counter_b".into(),
        json!(hx(&esession_crypto::mpi::encode_u128(ctr.c_b))),
    );

    let (session, blocks_a, blocks_b) = if sc.three_message {
        // ESession-I (D46): Bob proves his identity in msg2 with keys from K (D11).
        let session = SessionKeys::derive(HASH, cipher, PROFILE, k.as_bytes()).unwrap();
        let mac_b = identity::mac_b(
            HASH,
            session.responder().ks().as_bytes(),
            &MacBInput {
                n_a: &n_a,
                n_b: &n_b,
                d: &d,
                pub_key_b: kv_b.as_bytes(),
                form_b: form_b.as_bytes(),
                form_b2: None,
            },
        );
        let sig_b = sk_b
            .as_ref()
            .unwrap()
            .sign(mac_b.as_bytes(), &mut rng)
            .unwrap();
        let sealed_b = session
            .responder()
            .seal_identity(
                ctr.c_b,
                &identity::signed_identity_plaintext(kv_b.as_bytes(), &sig_b),
            )
            .unwrap();
        // msg3: formA2 = FORM_TYPE, accept, nonce (D46).
        let form_a2 = [
            field("FORM_TYPE", None, &[s("urn:xmpp:ssn")]),
            field("accept", None, &[s("1")]),
            field("nonce", None, &[b64::encode(&n_b)]),
        ]
        .concat();
        let mac_a = identity::mac_a(
            HASH,
            session.initiator().ks().as_bytes(),
            &MacAInput {
                n_a: &n_a,
                n_b: &n_b,
                e: &e,
                pub_key_a: kv_a.as_bytes(),
                form_a: form_a.as_bytes(),
                form_a2: form_a2.as_bytes(),
            },
        );
        let sig_a = sk_a
            .as_ref()
            .unwrap()
            .sign(mac_a.as_bytes(), &mut rng)
            .unwrap();
        let sealed_a = session
            .initiator()
            .seal_identity(
                ctr.c_a,
                &identity::signed_identity_plaintext(kv_a.as_bytes(), &sig_a),
            )
            .unwrap();
        for (key, v) in [
            ("form_a", json!(form_a)),
            ("form_a2", json!(form_a2)),
            ("form_b", json!(form_b)),
            ("mac_a", json!(hx(mac_a.as_bytes()))),
            ("sign_a", json!(hx(&sig_a))),
            ("id_a", json!(hx(&sealed_a.id))),
            ("m_a", json!(hx(&sealed_a.m))),
            ("mac_b", json!(hx(mac_b.as_bytes()))),
            ("sign_b", json!(hx(&sig_b))),
            ("id_b", json!(hx(&sealed_b.id))),
            ("m_b", json!(hx(&sealed_b.m))),
        ] {
            derived.insert(key.into(), v);
        }
        (session, sealed_a.blocks, sealed_b.blocks)
    } else {
        // ESession-R (XEP-0116 §4.6): Alice's msg3 with the provisional keys (D11).
        let alice_keys =
            DirectionKeys::derive(HASH, cipher, PROFILE, k.as_bytes(), Role::Initiator).unwrap();
        let refs: Vec<&[u8]> = alice_rs.iter().map(Vec::as_slice).collect();
        let rshashes = secrets::rshashes(HASH, &n_a, &refs, &mut rng);
        let real: Vec<Vec<u8>> = alice_rs
            .iter()
            .map(|r| secrets::rshash(HASH, &n_a, r).as_bytes().to_vec())
            .collect();
        let randoms: Vec<String> = rshashes
            .iter()
            .filter(|r| !real.contains(r))
            .map(|r| hx(r))
            .collect();
        alice_json["rshashes_random"] = json!(randoms);
        let form_a2 = [
            field("FORM_TYPE", None, &[s("urn:xmpp:ssn")]),
            field("accept", None, &[s("1")]),
            field("nonce", None, &[b64::encode(&n_b)]),
            field("dhkeys", Some("hidden"), &[b64::encode(&e)]),
            field(
                "rshashes",
                Some("hidden"),
                &rshashes.iter().map(|r| b64::encode(r)).collect::<Vec<_>>(),
            ),
        ]
        .concat();
        let mac_a = identity::mac_a(
            HASH,
            alice_keys.ks().as_bytes(),
            &MacAInput {
                n_a: &n_a,
                n_b: &n_b,
                e: &e,
                pub_key_a: kv_a.as_bytes(),
                form_a: form_a.as_bytes(),
                form_a2: form_a2.as_bytes(),
            },
        );
        let sig_a = sk_a
            .as_ref()
            .map(|sk| sk.sign(mac_a.as_bytes(), &mut rng).unwrap());
        let plain_a = match &sig_a {
            Some(sig) => identity::signed_identity_plaintext(kv_a.as_bytes(), sig),
            None => mac_a.as_bytes().to_vec(),
        };
        let sealed_a = alice_keys.seal_identity(ctr.c_a, &plain_a).unwrap();
        let sas = sas::sas(HASH, &sealed_a.m, form_b.as_bytes());

        // Bob's msg4 (§4.7).
        let rsh: Vec<&[u8]> = rshashes.iter().map(Vec::as_slice).collect();
        let cands: Vec<&[u8]> = bob_rs.iter().map(Vec::as_slice).collect();
        let srs = secrets::find_srs_bob(HASH, &n_a, &rsh, &cands).map(|i| bob_rs[i].clone());
        let oss = sc.oss.map(str::as_bytes);
        let k_final = secrets::k_final(HASH, k.as_bytes(), srs.as_deref(), oss);
        let session = SessionKeys::derive(HASH, cipher, PROFILE, k_final.as_bytes()).unwrap();
        let srshash = secrets::srshash_or_random(HASH, srs.as_deref(), &mut rng);
        bob_json["srshash_random"] = if srs.is_none() {
            json!(hx(&srshash))
        } else {
            Value::Null
        };
        let form_b2 = [
            field("FORM_TYPE", None, &[s("urn:xmpp:ssn")]),
            field("nonce", None, &[b64::encode(&n_a)]),
            field("srshash", None, &[b64::encode(&srshash)]),
        ]
        .concat();
        let mac_b = identity::mac_b(
            HASH,
            session.responder().ks().as_bytes(),
            &MacBInput {
                n_a: &n_a,
                n_b: &n_b,
                d: &d,
                pub_key_b: kv_b.as_bytes(),
                form_b: form_b.as_bytes(),
                form_b2: Some(form_b2.as_bytes()),
            },
        );
        let sig_b = sk_b
            .as_ref()
            .map(|sk| sk.sign(mac_b.as_bytes(), &mut rng).unwrap());
        let plain_b = match &sig_b {
            Some(sig) => identity::signed_identity_plaintext(kv_b.as_bytes(), sig),
            None => mac_b.as_bytes().to_vec(),
        };
        let sealed_b = session
            .responder()
            .seal_identity(ctr.c_b, &plain_b)
            .unwrap();
        let pk = json!({
            "KCA": hx(alice_keys.kc().key_bytes()),
            "KMA": hx(alice_keys.km().as_bytes()),
            "KSA": hx(alice_keys.ks().as_bytes()),
        });
        for (key, v) in [
            ("provisional_keys", pk),
            (
                "rshashes",
                json!(rshashes.iter().map(|r| hx(r)).collect::<Vec<_>>()),
            ),
            ("srs", json!(srs.as_ref().map(|s| hx(s)))),
            ("k_final", json!(hx(k_final.as_bytes()))),
            ("form_a", json!(form_a)),
            ("form_a2", json!(form_a2)),
            ("form_b", json!(form_b)),
            ("form_b2", json!(form_b2)),
            ("mac_a", json!(hx(mac_a.as_bytes()))),
            ("id_a", json!(hx(&sealed_a.id))),
            ("m_a", json!(hx(&sealed_a.m))),
            ("mac_b", json!(hx(mac_b.as_bytes()))),
            ("id_b", json!(hx(&sealed_b.id))),
            ("m_b", json!(hx(&sealed_b.m))),
            ("srshash", json!(hx(&srshash))),
            ("sas", json!(sas.display(PROFILE))),
            (
                "new_retained_secret",
                json!(hx(
                    secrets::new_retained_secret(HASH, k_final.as_bytes()).as_bytes()
                )),
            ),
        ] {
            derived.insert(key.into(), v);
        }
        if let Some(sig) = sig_a {
            derived.insert("sign_a".into(), json!(hx(&sig)));
        }
        if let Some(sig) = sig_b {
            derived.insert("sign_b".into(), json!(hx(&sig)));
        }
        (session, sealed_a.blocks, sealed_b.blocks)
    };
    let keys_json = json!({
        "KCA": hx(session.initiator().kc().key_bytes()),
        "KMA": hx(session.initiator().km().as_bytes()),
        "KSA": hx(session.initiator().ks().as_bytes()),
        "KCB": hx(session.responder().kc().key_bytes()),
        "KMB": hx(session.responder().km().as_bytes()),
        "KSB": hx(session.responder().ks().as_bytes()),
    });
    derived.insert("keys".into(), keys_json);

    // XEP-0200 stanzas (D13, D14, D40): counters continue after the identities.
    let mut next = [
        counters::advance(ctr.c_a, blocks_a),
        counters::advance(ctr.c_b, blocks_b),
    ];
    let mut stanzas = Vec::new();
    for (from, plaintext) in sc.stanzas {
        let role = if *from == "alice" {
            Role::Initiator
        } else {
            Role::Responder
        };
        let slot = usize::from(role == Role::Responder);
        let keys = session.of(role);
        let before = next[slot];
        let mut data = plaintext.as_bytes().to_vec();
        let blocks = keys
            .kc()
            .apply_keystream(PROFILE.cipher_counter(before), &mut data)
            .unwrap();
        let after = counters::advance(before, blocks);
        next[slot] = after;
        let m_content = format!("<data>{}</data>", b64::encode(&data));
        let mac = HASH.hmac_parts(
            keys.km().as_bytes(),
            &[
                m_content.as_bytes(),
                &PROFILE.stanza_mac_counter_bytes(before),
            ],
        );
        stanzas.push(json!({
            "from": from,
            "plaintext": plaintext,
            "counter_before": hx(&esession_crypto::mpi::encode_u128(before)),
            "counter_after": hx(&esession_crypto::mpi::encode_u128(after)),
            "data": hx(&data),
            "m_content": m_content,
            "mac": hx(mac.as_bytes()),
        }));
    }

    // Re-keys (XEP-0200 §9, D41): a fresh exponent against the peer's session DH value.
    let mut rekeys = Vec::new();
    for from in sc.rekeys {
        let new = DhPrivateKey::generate(group, ExponentPolicy::Rfc3526, 128, &mut rng).unwrap();
        let peer_public = if *from == "alice" {
            d.clone()
        } else {
            e.clone()
        };
        let kk = new.shared_secret(&peer_public).unwrap();
        let rk = keys::rekey_keys(HASH, cipher, PROFILE, kk.as_bytes()).unwrap();
        rekeys.push(json!({
            "from": from,
            "x": hx(new.to_bytes().as_bytes()),
            "e": hx(new.public_key()),
            "peer_public": hx(&peer_public),
            "shared_secret": hx(kk.as_bytes()),
            "keys": {
                "KCA": hx(rk.initiator.kc.key_bytes()),
                "KMA": hx(rk.initiator.km.as_bytes()),
                "KCB": hx(rk.acceptor.kc.key_bytes()),
                "KMB": hx(rk.acceptor.km.as_bytes()),
            },
        }));
    }

    if sc.three_message {
        alice_json["rshashes_random"] = json!([]);
        bob_json["srshash_random"] = Value::Null;
    }
    let mut negotiated = json!({
        "modp": sc.groups[0],
        "crypt_algs": cipher.name(),
        "hash_algs": "sha256",
        "compress": "none",
        "init_pubkey": pubkey,
        "resp_pubkey": pubkey,
        "ver": "1.0",
        "rekey_freq": 4_294_967_295_u64,
        "stanzas": ["message"],
    });
    if sc.rsa {
        negotiated["sign_algs"] = json!(RSA_URI);
    }
    if !sc.three_message {
        negotiated["sas_algs"] = json!("sas28x5");
    }
    let mut doc = json!({
        "schema": "esession-transcript/1",
        "name": sc.title,
        "source": format!(
            "generated by esession-sigma (crates/esession-sigma/tests/common/generator.rs, seed \
             SHA-256(\"{seed_text}\") for ChaCha20); every value re-derived independently by \
             vectors/tools/rederive_sigma.py"
        ),
        "profile": PROFILE.name(),
        "mode": if sc.three_message { "3-message" } else { "4-message" },
        "alice": alice_json,
        "bob": bob_json,
        "negotiated": negotiated,
        "derived": Value::Object(derived),
        "stanzas": stanzas,
    });
    if !rekeys.is_empty() {
        doc["rekeys"] = json!(rekeys);
    }
    doc
}

/// The text written to `vectors/sigma/<name>.json`.
pub fn render(doc: &Value) -> String {
    let mut out = serde_json::to_string_pretty(doc).unwrap();
    out.push('\n');
    out
}
