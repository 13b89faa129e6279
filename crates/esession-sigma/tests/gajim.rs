//! Both recorded Gajim sessions (vectors/interop/gajim/vectors.json, converted into
//! vectors/sigma/gajim-session-{1,2}.json) reproduce value by value in the gajim
//! profile: K, the provisional and final keys, macA, ID_A, M_A, the SAS, srshash,
//! K_final, macB, ID_B, M_B and the new retained secret.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::{DhPrivateKey, ModpGroup};
use esession_crypto::hash::HashAlg;
use esession_sigma::counters::{self, Counters};
use esession_sigma::identity::{self, MacAInput, MacBInput};
use esession_sigma::keys::{self, DirectionKeys, Role, SessionKeys};
use esession_sigma::{Error, Profile, sas, secrets};
use serde_json::Value;

const SESSION_1: &str = include_str!("../../../vectors/sigma/gajim-session-1.json");
const SESSION_2: &str = include_str!("../../../vectors/sigma/gajim-session-2.json");

fn h(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap_or_else(|| panic!("{key}"))).unwrap()
}

fn hex_list(v: &Value, key: &str) -> Vec<Vec<u8>> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| hex::decode(x.as_str().unwrap()).unwrap())
        .collect()
}

/// Replays one session as Alice and Bob would compute it; returns the SAS.
fn replay(text: &str) -> String {
    let doc: Value = serde_json::from_str(text).unwrap();
    assert_eq!(doc["profile"], "gajim");
    let (alice, bob, d_) = (&doc["alice"], &doc["bob"], &doc["derived"]);
    let hash = HashAlg::Sha256;
    let cipher = CipherAlg::Aes128Ctr; // what Gajim negotiates; G1 makes it AES-256
    let p = Profile::Gajim;

    let x = DhPrivateKey::from_bytes(ModpGroup::Group5, &h(&alice["dh"]["5"], "x")).unwrap();
    let d = h(bob, "d");
    let e = x.public_key().to_vec();
    assert_eq!(e, h(&alice["dh"]["5"], "e"));
    let k = keys::k_dh(hash, x.shared_secret(&d).unwrap().as_bytes());
    assert_eq!(k.as_bytes(), h(d_, "k_dh"));

    // Alice, msg3, with the provisional keys (D11).
    let ka = DirectionKeys::derive(hash, cipher, p, k.as_bytes(), Role::Initiator).unwrap();
    let pk = &d_["provisional_keys"];
    assert_eq!(ka.kc().key_bytes(), h(pk, "KCA"), "G1: the full 32 bytes");
    assert_eq!(ka.km().as_bytes(), h(pk, "KMA"));
    assert_eq!(ka.ks().as_bytes(), h(pk, "KSA"));
    let (n_a, n_b) = (h(alice, "nonce"), h(bob, "nonce"));
    let c = Counters::from_c_a(u128::from_be_bytes(h(bob, "counter_a").try_into().unwrap()));
    let form = |k: &str| d_[k].as_str().unwrap().as_bytes().to_vec();
    let mac_a = identity::mac_a(
        hash,
        ka.ks().as_bytes(),
        &MacAInput {
            n_a: &n_a,
            n_b: &n_b,
            e: &e,
            pub_key_a: b"",
            form_a: &form("form_a"),
            form_a2: &form("form_a2"),
        },
    );
    assert_eq!(mac_a.as_bytes(), h(d_, "mac_a"));
    let sealed_a = ka.seal_identity(c.c_a, mac_a.as_bytes()).unwrap();
    assert_eq!(sealed_a.id, h(d_, "id_a"));
    assert_eq!(sealed_a.m, h(d_, "m_a"));
    let sas = sas::sas(hash, &sealed_a.m, &form("form_b"));

    // Bob checks msg3: M_A, then the deciphered macA.
    let opened = ka.open_identity(c.c_a, &sealed_a.id, &sealed_a.m).unwrap();
    identity::check_mac_identity(opened.plaintext.as_bytes(), mac_a.as_bytes()).unwrap();
    let rshashes = hex_list(d_, "rshashes");
    let rsh: Vec<&[u8]> = rshashes.iter().map(Vec::as_slice).collect();
    let bob_rs = hex_list(bob, "retained_secrets");
    let cands: Vec<&[u8]> = bob_rs.iter().map(Vec::as_slice).collect();
    let srs = secrets::find_srs_bob(hash, &n_a, &rsh, &cands).map(|i| bob_rs[i].clone());
    assert_eq!(
        srs.as_ref().map(hex::encode),
        d_["srs"].as_str().map(str::to_owned)
    );
    let k_final = secrets::k_final(hash, k.as_bytes(), srs.as_deref(), None);
    assert_eq!(k_final.as_bytes(), h(d_, "k_final"));
    let session = SessionKeys::derive(hash, cipher, p, k_final.as_bytes()).unwrap();
    for (name, got) in [
        ("KCA", session.initiator().kc().key_bytes()),
        ("KMA", session.initiator().km().as_bytes()),
        ("KSA", session.initiator().ks().as_bytes()),
        ("KCB", session.responder().kc().key_bytes()),
        ("KMB", session.responder().km().as_bytes()),
        ("KSB", session.responder().ks().as_bytes()),
    ] {
        assert_eq!(got, h(&d_["keys"], name), "{name}");
    }
    let srshash = match &srs {
        Some(s) => secrets::srshash(hash, s).as_bytes().to_vec(),
        None => h(bob, "srshash_random"),
    };
    assert_eq!(srshash, h(d_, "srshash"));
    assert_eq!(
        secrets::new_retained_secret(hash, k_final.as_bytes()).as_bytes(),
        h(d_, "new_retained_secret")
    );

    // Bob's msg4.
    let mac_b = identity::mac_b(
        hash,
        session.responder().ks().as_bytes(),
        &MacBInput {
            n_a: &n_a,
            n_b: &n_b,
            d: &d,
            pub_key_b: b"",
            form_b: &form("form_b"),
            form_b2: Some(&form("form_b2")),
        },
    );
    assert_eq!(mac_b.as_bytes(), h(d_, "mac_b"));
    let sealed_b = session
        .responder()
        .seal_identity(c.c_b, mac_b.as_bytes())
        .unwrap();
    assert_eq!(sealed_b.id, h(d_, "id_b"));
    assert_eq!(sealed_b.m, h(d_, "m_b"));

    // Alice's final step: SRS from srshash, then M_B and macB.
    let alice_rs = hex_list(alice, "retained_secrets");
    let cands: Vec<&[u8]> = alice_rs.iter().map(Vec::as_slice).collect();
    let srs_alice = secrets::find_srs_alice(hash, &srshash, &cands).map(|i| alice_rs[i].clone());
    assert_eq!(srs_alice, srs);
    let opened = session
        .responder()
        .open_identity(c.c_b, &sealed_b.id, &sealed_b.m)
        .unwrap();
    identity::check_mac_identity(opened.plaintext.as_bytes(), mac_b.as_bytes()).unwrap();
    // The xep profile (AES-128 from the last 16 bytes, counter not pre-incremented)
    // cannot open Gajim's identity: G1 and G2 matter.
    let xep = SessionKeys::derive(hash, cipher, Profile::Xep, k_final.as_bytes()).unwrap();
    let wrong = xep
        .responder()
        .open_identity(c.c_b, &sealed_b.id, &sealed_b.m)
        .unwrap();
    assert_eq!(
        identity::check_mac_identity(wrong.plaintext.as_bytes(), mac_b.as_bytes()),
        Err(Error::IdentityMismatch)
    );

    // The first XEP-0200 stanza of each side enters with C + 2 (D13).
    let first = &doc["stanzas"][0];
    assert_eq!(
        hex::encode(esession_crypto::mpi::encode_u128(counters::advance(
            c.c_a,
            sealed_a.blocks
        ))),
        first["counter_before"].as_str().unwrap()
    );
    sas.display(p).to_owned()
}

#[test]
fn gajim_session_1_reproduces_every_value() {
    assert_eq!(replay(SESSION_1), "gep46");
}

#[test]
fn gajim_session_2_reproduces_every_value_with_the_retained_secret() {
    assert_eq!(replay(SESSION_2), "5akk7");
}
