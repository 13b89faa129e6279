//! The recorded Gajim 0.15.4 sessions (vectors/interop/gajim): the
//! gajim-profile normalization of each received stanza must equal the form
//! strings Gajim MACed, byte for byte: formA, formB, formA2, formB2 of both
//! sessions. The expected strings were recorded from Gajim, not written by us.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

use esession_wire::{Negotiation, NormProfile, Stanza};
use serde_json::Value;

const TRANSCRIPT: &str = include_str!("../../../vectors/interop/gajim/transcript.json");
const VECTORS: &str = include_str!("../../../vectors/interop/gajim/vectors.json");

fn form_bytes(xml: &str, profile: NormProfile) -> Vec<u8> {
    let stanza = Stanza::parse(xml).unwrap();
    stanza
        .negotiation()
        .unwrap()
        .unwrap()
        .form
        .form_bytes(profile)
        .unwrap()
}

#[test]
fn gajim_profile_reproduces_all_four_forms_of_both_sessions() {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for s in sessions {
        let wire = &s["wire"];
        for (msg, form) in [
            ("msg1", "formA"),
            ("msg2", "formB"),
            ("msg3", "formA2"),
            ("msg4", "formB2"),
        ] {
            let got = form_bytes(wire[msg].as_str().unwrap(), NormProfile::Gajim);
            let want = s[form].as_str().unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                want,
                "{} {form}",
                s["label"]
            );
        }
    }
}

#[test]
fn transcript_form_strings_match_too() {
    // transcript.json records Alice's form_s (formA) and form_o (formB), and
    // Bob's form_o (formA) and form_s (formB), per run.
    let t: Value = serde_json::from_str(TRANSCRIPT).unwrap();
    let stanzas = t["stanzas"].as_array().unwrap();
    for run in t["runs"].as_array().unwrap() {
        let first = run["stanza_range"][0].as_u64().unwrap() as usize;
        let msg1 = stanzas[first - 1]["xml"].as_str().unwrap();
        let msg2 = stanzas[first]["xml"].as_str().unwrap();
        let form_a = String::from_utf8(form_bytes(msg1, NormProfile::Gajim)).unwrap();
        let form_b = String::from_utf8(form_bytes(msg2, NormProfile::Gajim)).unwrap();
        assert_eq!(form_a, run["alice_secrets"]["form_s"].as_str().unwrap());
        assert_eq!(form_a, run["bob_secrets"]["form_o"].as_str().unwrap());
        assert_eq!(form_b, run["alice_secrets"]["form_o"].as_str().unwrap());
        assert_eq!(form_b, run["bob_secrets"]["form_s"].as_str().unwrap());
    }
}

#[test]
fn xep_profile_differs_only_by_gajim_required_elements() {
    // D18: D17 and D18 agree on forms without empty elements or whitespace;
    // Gajim's msg1 has four <required/>, so the xep formA is 36 bytes longer.
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    for s in v["sessions"].as_array().unwrap() {
        let wire = &s["wire"];
        for msg in ["msg2", "msg3", "msg4"] {
            let xml = wire[msg].as_str().unwrap();
            assert_eq!(
                form_bytes(xml, NormProfile::Xep),
                form_bytes(xml, NormProfile::Gajim),
                "{msg}"
            );
        }
        let xml = wire["msg1"].as_str().unwrap();
        let xep = form_bytes(xml, NormProfile::Xep);
        let gajim = form_bytes(xml, NormProfile::Gajim);
        assert_eq!(xep.len(), gajim.len() + 36);
    }
}

#[test]
fn every_recorded_stanza_parses_into_the_expected_type() {
    let t: Value = serde_json::from_str(TRANSCRIPT).unwrap();
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    for st in t["stanzas"].as_array().unwrap() {
        let xml = st["xml"].as_str().unwrap();
        let stanza = Stanza::parse(xml).unwrap();
        let step = st["step"].as_str().unwrap();
        assert!(stanza.thread().is_some());
        if step.starts_with("xep0200") {
            let c = stanza.encrypted().unwrap().unwrap();
            assert!(stanza.negotiation().unwrap().is_none());
            let m_content = String::from_utf8(c.m_content.clone()).unwrap();
            // The recorded m_content of each chat message (vectors.json).
            let recorded = v["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["messages"].as_array().unwrap().iter())
                .find(|m| m["wire"].as_str() == Some(xml))
                .map(|m| m["m_content"].as_str().unwrap().to_owned());
            assert_eq!(Some(m_content), recorded, "{step}");
            // Gajim's fallback body stays outside <c/> (G17) and is not encrypted content.
            assert!(
                stanza
                    .encryptable_content()
                    .starts_with("<body>[This is part")
            );
            continue;
        }
        let neg = stanza.negotiation().unwrap().unwrap().message;
        match (step.split_whitespace().next().unwrap(), &neg) {
            ("msg1", Negotiation::Request(r)) => {
                assert_eq!(r.offer.modp, vec![5, 14]);
                assert_eq!(r.offer.my_nonce.len(), 8);
            }
            ("msg2", Negotiation::Response(r)) => {
                assert_eq!(r.accept, Some(true));
                assert_eq!(r.modp, 5);
                assert_eq!(r.crypt_alg, "aes128-ctr");
                // Gajim's dict order is kept for the echo (D21 tolerates it).
                assert_eq!(r.order[0], "accept");
                assert_eq!(r.order[1], "crypt_algs");
            }
            ("msg3", Negotiation::AliceAccept(a)) => {
                assert!(a.accept);
                assert_eq!(a.rshashes.len(), 1);
                assert_eq!(a.identity.len(), 32);
            }
            ("msg4", Negotiation::BobAccept(b)) => assert_eq!(b.srshash.len(), 32),
            ("termination", Negotiation::Terminate) => {}
            (s, m) => panic!("{s}: unexpected {m:?}"),
        }
    }
}

#[test]
fn recorded_values_decode_to_the_recorded_secrets() {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    for s in v["sessions"].as_array().unwrap() {
        let msg2 = Stanza::parse(s["wire"]["msg2"].as_str().unwrap()).unwrap();
        let Negotiation::Response(r) = msg2.negotiation().unwrap().unwrap().message else {
            panic!("msg2")
        };
        assert_eq!(hex::encode(&r.my_nonce), s["N_B"].as_str().unwrap());
        assert_eq!(hex::encode(&r.nonce), s["N_A"].as_str().unwrap());
        assert_eq!(format!("{:032x}", r.counter), s["C_A"].as_str().unwrap());
        assert_eq!(hex::encode(&r.dhkey), s["d_bob"].as_str().unwrap());
        let msg3 = Stanza::parse(s["wire"]["msg3"].as_str().unwrap()).unwrap();
        let Negotiation::AliceAccept(a) = msg3.negotiation().unwrap().unwrap().message else {
            panic!("msg3")
        };
        assert_eq!(hex::encode(&a.identity), s["ID_A"].as_str().unwrap());
        assert_eq!(hex::encode(&a.mac), s["M_A"].as_str().unwrap());
        assert_eq!(
            hex::encode(a.dhkey.unwrap()),
            s["e_alice_by_group"]["5"].as_str().unwrap()
        );
        let msg4 = Stanza::parse(s["wire"]["msg4"].as_str().unwrap()).unwrap();
        let Negotiation::BobAccept(b) = msg4.negotiation().unwrap().unwrap().message else {
            panic!("msg4")
        };
        assert_eq!(hex::encode(&b.srshash), s["srshash"].as_str().unwrap());
        assert_eq!(hex::encode(&b.identity), s["ID_B"].as_str().unwrap());
        assert_eq!(hex::encode(&b.mac), s["M_B"].as_str().unwrap());
    }
}
