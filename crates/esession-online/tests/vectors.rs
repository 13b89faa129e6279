#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
//! Our endpoints against the published xep-profile sigma vectors
//! (`vectors/sigma/xep-*.json`, every value re-derived independently by
//! `vectors/tools/rederive_sigma.py`): with the vectors' randomness pinned, the
//! four messages we put on the wire must give exactly the recorded formA, formB,
//! formA2, formB2, ID_A, M_A, ID_B, M_B, srshash and SAS, both sides must store
//! the recorded new retained secret, and the XEP-0200 stanzas must carry the
//! recorded ciphertext and MAC.

mod common;

use std::time::SystemTime;

use common::Pair;
use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::ModpGroup;
use esession_online::{
    Config, MemoryStore, RetainedSecret, SessionStore, SharedPassword, TestPins,
};
use esession_wire::{Negotiation, NormProfile, Stanza};
use serde_json::Value;

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn form(text: &str) -> (Negotiation, String) {
    let stanza = Stanza::parse(text).unwrap();
    let neg = stanza.negotiation().unwrap().expect("a negotiation form");
    let bytes = neg.form.form_bytes(NormProfile::Xep).unwrap();
    (neg.message, String::from_utf8(bytes).unwrap())
}

fn store_with(peer: &str, secrets: &Value, now: SystemTime) -> MemoryStore {
    let mut s = MemoryStore::new();
    for rs in secrets.as_array().unwrap().iter().rev() {
        s.store_secret(
            peer,
            None,
            RetainedSecret {
                secret: esession_crypto::SecretBytes::new(hx(rs)),
                stored_at: now,
                verified: false,
                pending: false,
            },
        )
        .unwrap();
    }
    s
}

fn replay(json: &str) {
    let v: Value = serde_json::from_str(json).unwrap();
    let (a, b, d) = (&v["alice"], &v["bob"], &v["derived"]);
    let name = v["name"].as_str().unwrap();

    // Alice's offer: the modp order of the recorded formA, the negotiated cipher.
    let form_a = d["form_a"].as_str().unwrap();
    let modp_field = &form_a[form_a.find("var=\"modp\"").unwrap()..];
    let modp_field = &modp_field[..modp_field.find("</field>").unwrap()];
    let modp: Vec<ModpGroup> = modp_field
        .split("<value>")
        .skip(1)
        .map(|s| ModpGroup::from_number(s[..s.find('<').unwrap()].parse().unwrap()).unwrap())
        .collect();
    let cipher = CipherAlg::from_name(v["negotiated"]["crypt_algs"].as_str().unwrap()).unwrap();
    let config = |oss: &Value| {
        let mut c = Config::default();
        c.modp = modp.clone();
        c.crypt_algs = vec![cipher];
        if !oss.is_null() {
            c.shared_password = Some(SharedPassword::new(std::str::from_utf8(&hx(oss)).unwrap()));
        }
        c
    };
    let alice_pins = TestPins {
        nonce: Some(hx(&a["nonce"])),
        dh_x: a["dh"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(g, k)| (g.parse().unwrap(), hx(&k["x"])))
            .collect(),
        rshashes: Some(d["rshashes"].as_array().unwrap().iter().map(hx).collect()),
        ..TestPins::default()
    };
    let group = v["negotiated"]["modp"].as_u64().unwrap() as u32;
    let bob_pins = TestPins {
        nonce: Some(hx(&b["nonce"])),
        dh_x: vec![(group, hx(&b["y"]))],
        c_a: Some(u128::from_be_bytes(
            <[u8; 16]>::try_from(
                [
                    vec![0u8; 16 - hx(&b["counter_a"]).len()],
                    hx(&b["counter_a"]),
                ]
                .concat(),
            )
            .unwrap(),
        )),
        srshash_random: (!b["srshash_random"].is_null()).then(|| hx(&b["srshash_random"])),
        ..TestPins::default()
    };
    let now = common::t0();
    let mut p = Pair::pinned(
        config(&a["oss"]),
        config(&b["oss"]),
        99,
        store_with("bob@example.com", &a["retained_secrets"], now),
        store_with("alice@example.org", &b["retained_secrets"], now),
        alice_pins,
        bob_pins,
    );
    let carried = p.negotiate();
    assert_eq!(carried.len(), 4, "{name}");
    let (_, fa) = form(&carried[0].1);
    assert_eq!(fa, d["form_a"].as_str().unwrap(), "{name}: formA");
    let (_, fb) = form(&carried[1].1);
    assert_eq!(fb, d["form_b"].as_str().unwrap(), "{name}: formB");
    let (m3, fa2) = form(&carried[2].1);
    assert_eq!(fa2, d["form_a2"].as_str().unwrap(), "{name}: formA2");
    let Negotiation::AliceAccept(m3) = m3 else {
        panic!("msg3")
    };
    assert_eq!(m3.identity, hx(&d["id_a"]), "{name}: ID_A");
    assert_eq!(m3.mac, hx(&d["m_a"]), "{name}: M_A");
    let (m4, fb2) = form(&carried[3].1);
    assert_eq!(fb2, d["form_b2"].as_str().unwrap(), "{name}: formB2");
    let Negotiation::BobAccept(m4) = m4 else {
        panic!("msg4")
    };
    assert_eq!(m4.identity, hx(&d["id_b"]), "{name}: ID_B");
    assert_eq!(m4.mac, hx(&d["m_b"]), "{name}: M_B");
    assert_eq!(m4.srshash, hx(&d["srshash"]), "{name}: srshash");

    let sas = d["sas"].as_str().unwrap();
    assert_eq!(p.alice.sas().as_deref(), Some(sas), "{name}: Alice's SAS");
    assert_eq!(p.bob.sas().as_deref(), Some(sas), "{name}: Bob's SAS");
    let srs_used = !d["srs"].is_null();
    assert_eq!(
        p.alice.established().unwrap().retained_secret_used,
        srs_used
    );
    assert_eq!(p.bob.established().unwrap().retained_secret_used, srs_used);
    let new_rs = hx(&d["new_retained_secret"]);
    for (store, peer) in [
        (&p.alice.store, "bob@example.com"),
        (&p.bob.store, "alice@example.org"),
    ] {
        assert_eq!(
            store.secrets(peer, now).unwrap()[0].secret.as_bytes(),
            new_rs.as_slice(),
            "{name}: new retained secret"
        );
    }

    // XEP-0200 stanzas, in the recorded order.
    for (i, s) in v["stanzas"].as_array().unwrap().iter().enumerate() {
        let plaintext = s["plaintext"].as_str().unwrap();
        let msg = Stanza::parse(&format!(
            "<message xmlns='jabber:client'>{plaintext}</message>"
        ))
        .unwrap();
        let (sender, receiver) = if s["from"] == "alice" {
            (&mut p.alice, &mut p.bob)
        } else {
            (&mut p.bob, &mut p.alice)
        };
        sender.ep.send(now, msg).unwrap();
        sender.collect();
        let wire = sender.take_outbox().remove(0);
        let c = Stanza::parse(&wire).unwrap().encrypted().unwrap().unwrap();
        assert_eq!(
            c.m_content,
            s["m_content"].as_str().unwrap().as_bytes(),
            "{name}: stanza {i} m_content"
        );
        assert_eq!(
            c.content.data.unwrap(),
            hx(&s["data"]),
            "{name}: stanza {i} data"
        );
        assert_eq!(c.content.mac, hx(&s["mac"]), "{name}: stanza {i} mac");
        let before = receiver.received().len();
        receiver.deliver(now, &wire);
        let got = receiver.received();
        assert_eq!(got.len(), before + 1, "{name}: stanza {i} delivered");
        assert!(
            got[before].to_xml().contains(plaintext),
            "{name}: stanza {i}"
        );
    }
}

#[test]
fn xep_first_session_vector() {
    replay(include_str!(
        "../../../vectors/sigma/xep-g14-aes128-first-session.json"
    ));
}

#[test]
fn xep_retained_secret_and_password_vector() {
    replay(include_str!(
        "../../../vectors/sigma/xep-g14-aes128-srs-oss.json"
    ));
}

#[test]
fn xep_group5_counter_wrap_vector() {
    replay(include_str!(
        "../../../vectors/sigma/xep-g5-aes128-counter-wrap.json"
    ));
}

#[test]
fn xep_password_small_counter_vector() {
    replay(include_str!(
        "../../../vectors/sigma/xep-g5-aes128-oss-small-counter.json"
    ));
}

#[test]
fn xep_aes256_two_retained_secrets_vector() {
    replay(include_str!(
        "../../../vectors/sigma/xep-g5-aes256-srs.json"
    ));
}
