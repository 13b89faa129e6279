#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
//! The recorded Gajim 0.15.4 sessions (vectors/interop/gajim/transcript.json;
//! vectors/sigma/gajim-session-{1,2}.json hold every value) replayed in the
//! gajim profile in both roles: our Bob fed Gajim-Alice's stanzas with Bob's
//! recorded randomness pinned, and our Alice fed Gajim-Bob's.

use std::time::{Duration, SystemTime};

use esession_crypto::hash::HashAlg;
use esession_online::{
    Config, Endpoint, GAJIM_FALLBACK_BODY, MemoryStore, Output, Profile, SessionStore,
    TerminationReason, TestPins,
};
use esession_wire::{NormProfile, ReceivedNegotiation, Stanza};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::Value;

const SESSION_1: &str = include_str!("../../../vectors/sigma/gajim-session-1.json");
const SESSION_2: &str = include_str!("../../../vectors/sigma/gajim-session-2.json");
const TRANSCRIPT: &str = include_str!("../../../vectors/interop/gajim/transcript.json");

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn u128_of(v: &Value) -> u128 {
    let b = hx(v);
    let mut a = [0u8; 16];
    a[16 - b.len()..].copy_from_slice(&b);
    u128::from_be_bytes(a)
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn gajim() -> Config {
    let mut c = Config::default();
    c.profile = Profile::Gajim;
    c
}

/// No profile configured: xep, recognising a Gajim peer (the `auto` profile).
fn auto() -> Config {
    let mut c = Config::default();
    c.detect_gajim = true;
    c
}

struct Side {
    ep: Endpoint<ChaCha20Rng>,
    events: Vec<Output>,
    sent: Vec<Stanza>,
}

impl Side {
    fn collect(&mut self) {
        while let Some(o) = self.ep.poll_output() {
            match o {
                Output::Send(s) => self.sent.push(s),
                other => self.events.push(other),
            }
        }
    }
    fn feed(&mut self, xml: &str, store: &mut MemoryStore) {
        let s = Stanza::parse(xml).unwrap();
        self.ep.handle_stanza(now(), s, store).unwrap();
        self.collect();
        if let Some(Output::Failed(e)) = self.events.last() {
            panic!("failed: {e:?}");
        }
    }
    fn received(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Output::Received(s) => Some(s.to_xml()),
                _ => None,
            })
            .collect()
    }
    fn sas(&self) -> esession_online::Sas {
        self.events
            .iter()
            .find_map(|e| match e {
                Output::SasReady { sas } => Some(sas.clone()),
                _ => None,
            })
            .unwrap()
    }
    fn established(&self) -> &esession_online::Established {
        self.events
            .iter()
            .find_map(|e| match e {
                Output::Established(x) => Some(x),
                _ => None,
            })
            .unwrap()
    }
}

/// The `<feature/>` or `<init/>` element of a stanza's XML text, as written.
fn negotiation_xml(stanza_xml: &str) -> &str {
    let start = stanza_xml
        .find("<feature ")
        .or_else(|| stanza_xml.find("<init "))
        .unwrap();
    let end = ["</feature>", "</init>"]
        .iter()
        .filter_map(|t| stanza_xml.rfind(t).map(|i| i + t.len()))
        .max()
        .unwrap();
    &stanza_xml[start..end]
}

/// Our negotiation message against Gajim's recorded one: the element text is
/// identical except that xmpppy writes empty elements as `<required />` where
/// ours writes `<required/>`; the MACed bytes (formA/formB, D18) are identical.
fn assert_same_layout(ours: &Stanza, recorded_xml: &str) {
    let ours = ours.to_xml();
    let ours = negotiation_xml(&ours);
    let recorded = negotiation_xml(recorded_xml);
    assert_eq!(ours.replace("<required/>", "<required />"), recorded);
    let g = |x: &str| {
        esession_wire::Negotiation::parse(x)
            .unwrap()
            .form
            .form_bytes(NormProfile::Gajim)
            .unwrap()
    };
    assert_eq!(g(ours), g(recorded));
}

fn form_of(s: &Stanza) -> ReceivedNegotiation {
    Stanza::parse(&s.to_xml())
        .unwrap()
        .negotiation()
        .unwrap()
        .unwrap()
}

/// The text of the first `<body>` of Gajim's plaintext m.
fn body_text(xml_children: &str) -> String {
    let s = Stanza::parse(&format!(
        "<message xmlns='jabber:client'>{}</message>",
        xml_children.trim_end()
    ))
    .unwrap();
    received_body(&s.to_xml())
}

fn received_body(stanza_xml: &str) -> String {
    let s = Stanza::parse(stanza_xml).unwrap();
    s.children()
        .find(|c| c.name() == "body")
        .map(|b| b.text())
        .unwrap()
}

fn plaintext_message(plaintext: &str) -> Stanza {
    Stanza::parse(&format!(
        "<message xmlns='jabber:client' type='chat'>{}</message>",
        plaintext.trim_end()
    ))
    .unwrap()
}

/// Our Bob fed Gajim-Alice's recorded stanzas. Returns Bob's store.
fn bob_role(vector: &str, store: &mut MemoryStore) {
    bob_role_with(vector, store, gajim());
}

/// Our Bob, configured with `config`, fed Gajim-Alice's recorded stanzas.
fn bob_role_with(vector: &str, store: &mut MemoryStore, config: Config) {
    let v: Value = serde_json::from_str(vector).unwrap();
    let (b, d) = (&v["bob"], &v["derived"]);
    let pins = TestPins {
        nonce: Some(hx(&b["nonce"])),
        dh_x: vec![(5, hx(&b["y"]))],
        c_a: Some(u128_of(&b["counter_a"])),
        srshash_random: (!b["srshash_random"].is_null()).then(|| hx(&b["srshash_random"])),
        ..TestPins::default()
    };
    let mut bob = Side {
        ep: Endpoint::responder_pinned(config, ChaCha20Rng::seed_from_u64(1), pins).unwrap(),
        events: Vec::new(),
        sent: Vec::new(),
    };
    let msgs = v["messages"].as_array().unwrap();
    bob.feed(msgs[0]["xml"].as_str().unwrap(), store);
    bob.ep.accept(now()).unwrap();
    bob.collect();
    // Our msg2 is Gajim-Bob's recorded msg2 (GAJIM.md §2 layout, same values).
    assert_same_layout(&bob.sent[0], msgs[1]["xml"].as_str().unwrap());
    // Our msg2 carries Bob's recorded d and C_A.
    let esession_wire::Negotiation::Response(r) = form_of(&bob.sent[0]).message else {
        panic!("msg2")
    };
    assert_eq!(r.dhkey, hx(&b["d"]));
    assert_eq!(r.counter, u128_of(&b["counter_a"]));
    // Gajim-Alice's msg3: M_A, ID_A and macA (over her D18 formA with four
    // <required />) verify under the gajim profile.
    bob.feed(msgs[2]["xml"].as_str().unwrap(), store);
    let formb = form_of(&bob.sent[0])
        .form
        .form_bytes(NormProfile::Gajim)
        .unwrap();
    let sas = bob.sas();
    let expected = esession_sigma::sas::sas(HashAlg::Sha256, &hx(&d["m_a"]), &formb);
    assert_eq!(sas, expected, "SAS over Gajim-Alice's M_A and our formB");
    assert_eq!(formb, d["form_b"].as_str().unwrap().as_bytes());
    // The SAS Gajim-Bob showed.
    assert_eq!(sas.unpadded, d["sas"].as_str().unwrap());
    assert_eq!(sas.display(Profile::Gajim), sas.unpadded);
    let est = bob.established().clone();
    assert_eq!(est.retained_secret_used, !d["srs"].is_null());
    assert_eq!(est.profile, Profile::Gajim);
    // Our msg4: ID_B and M_B under the recorded final keys (KCB is AES-256, G1).
    // Our msg4 is Gajim-Bob's recorded msg4: same srshash, ID_B and M_B.
    assert_same_layout(&bob.sent[1], msgs[3]["xml"].as_str().unwrap());
    let esession_wire::Negotiation::BobAccept(m4) = form_of(&bob.sent[1]).message else {
        panic!("msg4")
    };
    assert_eq!(m4.nonce, hx(&v["alice"]["nonce"]));
    assert_eq!(m4.srshash, hx(&d["srshash"]));
    let stored = store.secrets("alice@example.org", now()).unwrap();
    assert_eq!(
        stored[0].secret.as_bytes(),
        hx(&d["new_retained_secret"]).as_slice()
    );
    // Gajim-Alice's XEP-0200 messages decrypt; her plaintext fallback body is
    // dropped (D38); Bob's reply takes the recorded counter steps.
    for s in v["stanzas"].as_array().unwrap() {
        let plaintext = s["plaintext"].as_str().unwrap();
        if s["from"] == "alice" {
            let before = bob.received().len();
            bob.feed(s["xml"].as_str().unwrap(), store);
            let got = bob.received();
            assert_eq!(got.len(), before + 1);
            assert_eq!(received_body(&got[before]), body_text(plaintext));
            assert!(!got[before].contains(GAJIM_FALLBACK_BODY));
        } else {
            assert_eq!(
                bob.ep.counters().unwrap().0,
                Some(u128_of(&s["counter_before"]))
            );
            bob.ep.send(now(), plaintext_message(plaintext)).unwrap();
            bob.collect();
            let out = bob.sent.last().unwrap();
            // G17: the fallback body follows <c/>.
            assert!(
                out.to_xml()
                    .ends_with(&format!("</c><body>{GAJIM_FALLBACK_BODY}</body></message>"))
            );
            let data = out.encrypted().unwrap().unwrap().content.data.unwrap();
            assert_eq!(data.len() % 16, 0, "D15: padded to whole blocks");
            assert_eq!(
                bob.ep.counters().unwrap().0,
                Some(u128_of(&s["counter_after"]))
            );
        }
    }
}

/// Our Alice fed Gajim-Bob's recorded stanzas.
fn alice_role(vector: &str, store: &mut MemoryStore) -> Side {
    let v: Value = serde_json::from_str(vector).unwrap();
    let (a, d) = (&v["alice"], &v["derived"]);
    let msgs = v["messages"].as_array().unwrap();
    let thread = Stanza::parse(msgs[0]["xml"].as_str().unwrap())
        .unwrap()
        .thread()
        .unwrap();
    let pins = TestPins {
        thread: Some(thread),
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
    let mut cfg = gajim();
    cfg.modp = vec![
        esession_crypto::dh::ModpGroup::Group5,
        esession_crypto::dh::ModpGroup::Group14,
    ];
    let mut alice = Side {
        ep: Endpoint::initiate_pinned(cfg, ChaCha20Rng::seed_from_u64(2), "bob@example.com", pins)
            .unwrap(),
        events: Vec::new(),
        sent: Vec::new(),
    };
    alice.collect();
    // Our msg1 is Gajim-Alice's recorded msg1 (GAJIM.md §2 layout, same values).
    assert_same_layout(&alice.sent[0], msgs[0]["xml"].as_str().unwrap());
    // Gajim-Bob's msg2 (every field text-single, accept "true", G16).
    alice.feed(msgs[1]["xml"].as_str().unwrap(), store);
    let esession_wire::Negotiation::AliceAccept(m3) = form_of(&alice.sent[1]).message else {
        panic!("msg3")
    };
    assert_eq!(m3.dhkey.as_deref(), Some(hx(&a["dh"]["5"]["e"]).as_slice()));
    // Our msg3 is Gajim-Alice's recorded msg3: same rshashes, ID_A and M_A.
    assert_same_layout(&alice.sent[1], msgs[2]["xml"].as_str().unwrap());
    assert_eq!(m3.mac, hx(&d["m_a"]));
    // SAS over our M_A and Gajim-Bob's formB as D18 normalizes it.
    let formb = Stanza::parse(msgs[1]["xml"].as_str().unwrap())
        .unwrap()
        .negotiation()
        .unwrap()
        .unwrap()
        .form
        .form_bytes(NormProfile::Gajim)
        .unwrap();
    assert_eq!(formb, d["form_b"].as_str().unwrap().as_bytes());
    assert_eq!(
        alice.sas(),
        esession_sigma::sas::sas(HashAlg::Sha256, &m3.mac, &formb)
    );
    // The SAS Gajim-Alice showed.
    assert_eq!(alice.sas().unpadded, d["sas"].as_str().unwrap());
    // Gajim-Bob's msg4: ID_B, M_B and macB (over his formB and formB2) verify.
    alice.feed(msgs[3]["xml"].as_str().unwrap(), store);
    assert_eq!(
        alice.established().retained_secret_used,
        !d["srs"].is_null()
    );
    assert_eq!(
        store.secrets("bob@example.com", now()).unwrap()[0]
            .secret
            .as_bytes(),
        hx(&d["new_retained_secret"]).as_slice()
    );
    let mut exact = 0;
    for s in v["stanzas"].as_array().unwrap() {
        let plaintext = s["plaintext"].as_str().unwrap();
        if s["from"] == "bob" {
            let before = alice.received().len();
            alice.feed(s["xml"].as_str().unwrap(), store);
            let got = alice.received();
            assert_eq!(got.len(), before + 1);
            assert_eq!(received_body(&got[before]), body_text(plaintext));
        } else {
            assert_eq!(
                alice.ep.counters().unwrap().0,
                Some(u128_of(&s["counter_before"]))
            );
            let msg = plaintext_message(plaintext);
            let same_m = msg.encryptable_content() == plaintext.trim_end();
            alice.ep.send(now(), msg).unwrap();
            alice.collect();
            let c = alice.sent.last().unwrap().encrypted().unwrap().unwrap();
            if same_m {
                // Same m (Gajim pads with spaces, D15) under the same keys
                // and counter: our ciphertext and MAC equal Gajim-Alice's.
                assert_eq!(c.content.data.unwrap(), hx(&s["data"]));
                assert_eq!(c.m_content, s["m_content"].as_str().unwrap().as_bytes());
                assert_eq!(c.content.mac, hx(&s["mac"]));
                exact += 1;
            }
            // Otherwise xmpppy serialized m differently (`&quot;`, ` />`).
        }
    }
    assert!(exact >= 1, "at least one stanza byte-identical to Gajim's");
    alice
}

#[test]
fn our_bob_replays_gajim_alice_sessions_one_and_two() {
    let mut store = MemoryStore::new();
    bob_role(SESSION_1, &mut store);
    // The second session finds the retained secret of the first.
    bob_role(SESSION_2, &mut store);
}

#[test]
fn our_alice_replays_gajim_bob_sessions_one_and_two() {
    let mut store = MemoryStore::new();
    alice_role(SESSION_1, &mut store);
    let mut alice = alice_role(SESSION_2, &mut store);
    // G8: our terminate is plaintext and not acknowledged.
    alice.ep.terminate(now()).unwrap();
    alice.collect();
    let last = alice.sent.last().unwrap();
    assert!(last.encrypted().unwrap().is_none());
    assert!(last.to_xml().contains("var=\"terminate\""));
    assert!(
        alice
            .events
            .contains(&Output::Terminated(TerminationReason::Unacknowledged))
    );
}

/// With no profile configured, our Bob recognises Gajim-Alice from msg1 and
/// replays both recorded sessions exactly as the gajim profile does.
#[test]
fn with_no_profile_our_bob_detects_gajim_alice() {
    let mut store = MemoryStore::new();
    bob_role_with(SESSION_1, &mut store, auto());
    bob_role_with(SESSION_2, &mut store, auto());
}

/// With no profile configured, our Alice sends msg1 in the xep layout and
/// recognises Gajim-Bob from msg2 (G16): the session completes in the gajim
/// profile. Gajim-Bob's recorded msg4 (macB covers his forms, not ours), the
/// retained secret and his encrypted stanzas all verify; our msg3 differs
/// from Gajim-Alice's recording only because our msg1 did.
#[test]
fn with_no_profile_our_alice_detects_gajim_bob() {
    let mut store = MemoryStore::new();
    for vector in [SESSION_1, SESSION_2] {
        let v: Value = serde_json::from_str(vector).unwrap();
        let (a, d) = (&v["alice"], &v["derived"]);
        let msgs = v["messages"].as_array().unwrap();
        let thread = Stanza::parse(msgs[0]["xml"].as_str().unwrap())
            .unwrap()
            .thread()
            .unwrap();
        let pins = TestPins {
            thread: Some(thread),
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
        let mut cfg = auto();
        cfg.modp = vec![
            esession_crypto::dh::ModpGroup::Group5,
            esession_crypto::dh::ModpGroup::Group14,
        ];
        let mut alice = Side {
            ep: Endpoint::initiate_pinned(
                cfg,
                ChaCha20Rng::seed_from_u64(2),
                "bob@example.com",
                pins,
            )
            .unwrap(),
            events: Vec::new(),
            sent: Vec::new(),
        };
        alice.collect();
        assert_eq!(alice.ep.profile(), Profile::Xep);
        alice.feed(msgs[1]["xml"].as_str().unwrap(), &mut store);
        assert_eq!(alice.ep.profile(), Profile::Gajim, "detected from msg2");
        // msg3 in Gajim's layout, with the recorded e and rshashes.
        let m3 = &alice.sent[1];
        let esession_wire::Negotiation::AliceAccept(accept) = form_of(m3).message else {
            panic!("msg3")
        };
        assert_eq!(
            accept.dhkey.as_deref(),
            Some(hx(&a["dh"]["5"]["e"]).as_slice())
        );
        assert!(m3.to_xml().contains("type=\"text-single\""));
        alice.feed(msgs[3]["xml"].as_str().unwrap(), &mut store);
        let est = alice.established().clone();
        assert_eq!(est.profile, Profile::Gajim);
        assert_eq!(est.retained_secret_used, !d["srs"].is_null());
        assert_eq!(
            store.secrets("bob@example.com", now()).unwrap()[0]
                .secret
                .as_bytes(),
            hx(&d["new_retained_secret"]).as_slice()
        );
        for s in v["stanzas"].as_array().unwrap() {
            if s["from"] == "bob" {
                let before = alice.received().len();
                alice.feed(s["xml"].as_str().unwrap(), &mut store);
                let got = alice.received();
                assert_eq!(got.len(), before + 1);
                let plaintext = s["plaintext"].as_str().unwrap();
                assert_eq!(received_body(&got[before]), body_text(plaintext));
            }
        }
    }
}

/// An xep peer's msg2 is not mistaken for Gajim's: detection leaves an xep
/// session in the xep profile.
#[test]
fn detection_keeps_xep_peers_in_the_xep_profile() {
    let mut a_store = MemoryStore::new();
    let mut b_store = MemoryStore::new();
    let mut alice = Side {
        ep: Endpoint::initiate(
            auto(),
            ChaCha20Rng::seed_from_u64(5),
            now(),
            "bob@example.com",
        )
        .unwrap(),
        events: Vec::new(),
        sent: Vec::new(),
    };
    let mut bob = Side {
        ep: Endpoint::responder(auto(), ChaCha20Rng::seed_from_u64(6)).unwrap(),
        events: Vec::new(),
        sent: Vec::new(),
    };
    alice.collect();
    let stamp = |s: &Stanza, from: &str| {
        let mut s = s.clone();
        s.set_attr("from", from);
        s.to_xml()
    };
    bob.feed(
        &stamp(&alice.sent[0], "alice@example.org/pda"),
        &mut b_store,
    );
    bob.ep.accept(now()).unwrap();
    bob.collect();
    alice.feed(&stamp(&bob.sent[0], "bob@example.com/laptop"), &mut a_store);
    bob.feed(
        &stamp(&alice.sent[1], "alice@example.org/pda"),
        &mut b_store,
    );
    alice.feed(&stamp(&bob.sent[1], "bob@example.com/laptop"), &mut a_store);
    assert_eq!(alice.established().profile, Profile::Xep);
    assert_eq!(bob.established().profile, Profile::Xep);
}

#[test]
fn gajims_plaintext_terminate_ends_the_session() {
    let t: Value = serde_json::from_str(TRANSCRIPT).unwrap();
    let terminate = t["stanzas"][7]["xml"].as_str().unwrap();
    assert!(terminate.contains("var=\"terminate\""));
    let mut store = MemoryStore::new();
    let v: Value = serde_json::from_str(SESSION_1).unwrap();
    let (b, msgs) = (&v["bob"], v["messages"].as_array().unwrap());
    let pins = TestPins {
        nonce: Some(hx(&b["nonce"])),
        dh_x: vec![(5, hx(&b["y"]))],
        c_a: Some(u128_of(&b["counter_a"])),
        ..TestPins::default()
    };
    // Detection: a Bob configured for the xep profile recognizes Gajim's msg1.
    let mut cfg = Config::default();
    cfg.detect_gajim = true;
    let mut bob = Side {
        ep: Endpoint::responder_pinned(cfg, ChaCha20Rng::seed_from_u64(3), pins).unwrap(),
        events: Vec::new(),
        sent: Vec::new(),
    };
    bob.feed(msgs[0]["xml"].as_str().unwrap(), &mut store);
    bob.ep.accept(now()).unwrap();
    bob.collect();
    bob.feed(msgs[2]["xml"].as_str().unwrap(), &mut store);
    assert!(bob.ep.is_established());
    bob.feed(v["stanzas"][0]["xml"].as_str().unwrap(), &mut store);
    assert_eq!(bob.received().len(), 1);
    bob.feed(terminate, &mut store);
    assert!(bob.ep.is_closed());
    assert!(
        bob.events
            .contains(&Output::Terminated(TerminationReason::ByPeer))
    );
    // Nothing was sent back (no acknowledgement, G8).
    assert_eq!(bob.sent.len(), 2);
}

#[test]
fn gajim_profile_never_rekeys() {
    let mut store = MemoryStore::new();
    let alice = alice_role(SESSION_1, &mut store);
    assert!(!alice.ep.may_rekey());
}
