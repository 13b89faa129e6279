//! End-to-end XEP-0187 tests: Alice publishes, Bob starts an offline session,
//! Alice comes back and accepts it (XEP-0187 §3.1-§5; DECISIONS D47-D50).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::time::{Duration, SystemTime};

use esession_crypto::sign::VerifyingKey;
use esession_crypto::sign::{SignAlg, SigningKey};
use esession_offline::{
    Audience, Error, Initiator, MemoryOfflineStore, OfflineStore, Publisher, Receiver, pep,
};
use esession_online::{Config, MemoryStore, SessionStore, TrustedKey};
use esession_wire::{Element, NS_AMP, NS_DATA, Stanza, StanzaKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const ALICE: &str = "alice@example.org";
const BOB_FULL: &str = "bob@example.com/laptop";

struct World {
    rng: ChaCha20Rng,
    alice_key: SigningKey,
    bob_key: SigningKey,
    /// Bob's trusted keys (Alice's, and his own).
    trust: MemoryStore,
    now: SystemTime,
}

/// A store trusting each (bare JID, key).
fn trusting<S: SessionStore>(mut store: S, keys: &[(&str, VerifyingKey)]) -> S {
    for (jid, key) in keys {
        let trusted = TrustedKey::of(key, "known").unwrap();
        store.trust_key(jid, trusted).unwrap();
    }
    store
}

/// Alice's store, trusting Bob's key.
fn alice_store(w: &World) -> MemoryOfflineStore {
    trusting(
        MemoryOfflineStore::new(),
        &[("bob@example.com", w.bob_key.verifying_key())],
    )
}

fn world(seed: u64) -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let alice_key = SigningKey::generate(SignAlg::RsaSha256, &mut rng).unwrap();
    let bob_key = SigningKey::generate(SignAlg::RsaSha256, &mut rng).unwrap();
    let trust = trusting(
        MemoryStore::new(),
        &[
            (ALICE, alice_key.verifying_key()),
            ("bob@example.com", bob_key.verifying_key()),
        ],
    );
    World {
        rng,
        alice_key,
        bob_key,
        trust,
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    }
}

const HOURS_8: Duration = Duration::from_secs(8 * 3600);

fn body(text: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Message);
    s.set_attr("type", "chat");
    s.push(Element::new("body", "jabber:client").with_text(text));
    s
}

fn from_bob(mut s: Stanza) -> Stanza {
    s.set_attr("from", BOB_FULL);
    // Through the wire: text out, text in.
    Stanza::parse(&s.to_xml()).unwrap()
}

#[test]
fn bob_inits_offline_and_alice_decrypts_after_coming_back() {
    let mut w = world(1);
    let mut store = alice_store(&w);
    let published = Publisher::new(Config::default(), Audience::Subscribers, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    assert_eq!(store.published_nonces().unwrap().len(), 1);

    let bob = Initiator::new(Config::default(), &w.bob_key).unwrap();
    let checked = bob
        .check_options(w.now, ALICE, &published.item, &w.trust)
        .unwrap();
    let started = bob
        .start(
            w.now,
            &checked,
            Some(body("Hello, Alice!")),
            false,
            &mut w.rng,
        )
        .unwrap();
    let first = started.stanza.to_xml();
    assert!(!first.contains("Hello"), "content is encrypted: {first}");
    assert!(
        first.contains("<init xmlns=\"http://www.xmpp.org/extensions/xep-0116.html#ns-init\">")
    );
    assert_eq!(started.stanza.to(), Some(ALICE));
    assert_eq!(started.stanza.stanza_type(), Some("chat"));
    let mut send = started.session.unwrap();
    let second = send.seal(w.now, body("Second")).unwrap();
    let end = send.terminate().unwrap();

    // Alice comes back: the subscriber record leaves persistent storage.
    let back = Receiver::came_online(Config::default(), &mut store).unwrap();
    assert!(store.published_nonces().unwrap().is_empty());
    assert!(back.clear_subscriber_options.to_xml().contains(
        "<publish node=\"http://www.xmpp.org/extensions/xep-0187.html#ns\"><item/></publish>"
    ) || back.clear_subscriber_options.to_xml().contains(
        "<publish node=\"http://www.xmpp.org/extensions/xep-0187.html#ns\"><item></item></publish>"
    ));
    let mut receiver = back.receiver;
    let at = w.now + Duration::from_secs(3600);
    let accepted = receiver
        .accept(at, from_bob(started.stanza), &mut store)
        .unwrap();
    assert_eq!(accepted.peer, BOB_FULL);
    assert!(!accepted.terminated);
    assert_eq!(accepted.peer_key, w.bob_key.verifying_key());
    let content = accepted.content.unwrap().to_xml();
    assert!(content.contains("<body>Hello, Alice!</body>"), "{content}");
    assert!(!content.contains("init"), "{content}");
    // XEP-0187 §4: the Created SHIM header travels encrypted.
    assert_eq!(accepted.created, Some(w.now));
    assert!(
        content.contains("<header name=\"Created\">2027-01-15T08:00:00Z</header>"),
        "{content}"
    );

    let mut session = accepted.session.unwrap();
    let opened = session.open(from_bob(second)).unwrap();
    assert!(opened.content.to_xml().contains("<body>Second</body>"));
    assert!(!opened.terminated);
    let opened = session.open(from_bob(end)).unwrap();
    assert!(opened.terminated);
    assert!(matches!(
        session.open(from_bob(body("late"))),
        Err(Error::Terminated)
    ));
}

#[test]
fn object_encryption_terminates_in_the_first_stanza() {
    let mut w = world(2);
    let mut store = alice_store(&w);
    let published = Publisher::new(Config::default(), Audience::Everyone, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    let bob = Initiator::new(Config::default(), &w.bob_key).unwrap();
    let checked = bob
        .check_options(w.now, ALICE, &published.item, &w.trust)
        .unwrap();
    let started = bob
        .start(w.now, &checked, Some(body("once")), true, &mut w.rng)
        .unwrap();
    assert!(started.session.is_none());
    assert!(
        started
            .stanza
            .to_xml()
            .contains("<field var=\"terminate\"><value>1</value></field>")
    );
    let mut receiver = Receiver::came_online(Config::default(), &mut store)
        .unwrap()
        .receiver;
    // Options for everyone stay in persistent storage (XEP-0187 §6.1).
    assert_eq!(store.published_nonces().unwrap().len(), 1);
    let accepted = receiver
        .accept(w.now, from_bob(started.stanza), &mut store)
        .unwrap();
    assert!(accepted.terminated);
    assert!(accepted.session.is_none());
    assert!(
        accepted
            .content
            .unwrap()
            .to_xml()
            .contains("<body>once</body>")
    );
}

#[test]
fn replayed_stanza_is_rejected() {
    let mut w = world(3);
    for audience in [Audience::Subscribers, Audience::Everyone] {
        let mut store = alice_store(&w);
        let published = Publisher::new(Config::default(), audience, w.now + HOURS_8)
            .signing_key(&w.alice_key)
            .publish(&mut w.rng, &mut store)
            .unwrap();
        let bob = Initiator::new(Config::default(), &w.bob_key).unwrap();
        let checked = bob
            .check_options(w.now, ALICE, &published.item, &w.trust)
            .unwrap();
        let stanza = from_bob(
            bob.start(w.now, &checked, Some(body("pay 10")), true, &mut w.rng)
                .unwrap()
                .stanza,
        );
        let mut receiver = Receiver::came_online(Config::default(), &mut store)
            .unwrap()
            .receiver;
        receiver.accept(w.now, stanza.clone(), &mut store).unwrap();
        assert_eq!(
            receiver
                .accept(w.now, stanza.clone(), &mut store)
                .unwrap_err(),
            Error::Replay
        );
        if audience == Audience::Everyone {
            // The seen values are persistent: a new receiver (another login)
            // still refuses the replay (XEP-0187 §6.1).
            let mut again = Receiver::came_online(Config::default(), &mut store)
                .unwrap()
                .receiver;
            assert_eq!(
                again.accept(w.now, stanza, &mut store).unwrap_err(),
                Error::Replay
            );
        }
    }
}

#[test]
fn same_n_b_with_another_d_is_a_replay_and_forgeries_are_not_recorded() {
    let mut w = world(4);
    let mut store = alice_store(&w);
    let published = Publisher::new(Config::default(), Audience::Everyone, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    let bob = Initiator::new(Config::default(), &w.bob_key).unwrap();
    let checked = bob
        .check_options(w.now, ALICE, &published.item, &w.trust)
        .unwrap();
    let genuine = from_bob(
        bob.start(w.now, &checked, Some(body("hi")), true, &mut w.rng)
            .unwrap()
            .stanza,
    );
    // A forgery: the same stanza with M_B changed. It fails, and is not
    // recorded, so the genuine stanza still goes through.
    let xml = genuine.to_xml();
    let mac_at = xml.find("<field var=\"mac\"><value>").unwrap() + 25;
    let mut forged = xml.clone().into_bytes();
    forged[mac_at] = if forged[mac_at] == b'A' { b'B' } else { b'A' };
    let forged = Stanza::parse(std::str::from_utf8(&forged).unwrap()).unwrap();
    let mut receiver = Receiver::came_online(Config::default(), &mut store)
        .unwrap()
        .receiver;
    assert_eq!(
        receiver.accept(w.now, forged, &mut store).unwrap_err(),
        Error::BadIdentityMac
    );
    receiver.accept(w.now, genuine, &mut store).unwrap();
    // The store itself refuses a repeated N_B with a fresh d (D50).
    let n_a = store.published_nonces().unwrap().remove(0);
    assert!(store.record_seen(&n_a, &[2, 3], &[9; 16]).unwrap());
    assert!(!store.record_seen(&n_a, &[2, 4], &[9; 16]).unwrap());
    assert!(!store.record_seen(&n_a, &[2, 3], &[8; 16]).unwrap());
}

#[test]
fn after_expires_it_is_discarded_undecrypted() {
    let mut w = world(5);
    let mut store = alice_store(&w);
    let expires = w.now + HOURS_8;
    let published = Publisher::new(Config::default(), Audience::Subscribers, expires)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    let bob = Initiator::new(Config::default(), &w.bob_key).unwrap();
    // Bob refuses options that have expired (now ≥ expires, D50).
    assert_eq!(
        bob.check_options(expires, ALICE, &published.item, &w.trust)
            .unwrap_err(),
        Error::Expired
    );
    let checked = bob
        .check_options(w.now, ALICE, &published.item, &w.trust)
        .unwrap();
    let stanza = from_bob(
        bob.start(w.now, &checked, Some(body("late")), true, &mut w.rng)
            .unwrap()
            .stanza,
    );
    let mut receiver = Receiver::came_online(Config::default(), &mut store)
        .unwrap()
        .receiver;
    // Untrusting Bob would fail at his identity; Expired comes before any
    // cryptography, so an empty trust set gives Expired too.
    store
        .forget_key(
            "bob@example.com",
            &esession_wire::key_bytes(&w.bob_key.verifying_key()).unwrap(),
        )
        .unwrap();
    assert_eq!(
        receiver
            .accept(expires, stanza.clone(), &mut store)
            .unwrap_err(),
        Error::Expired
    );
    let mut store = trusting(store, &[("bob@example.com", w.bob_key.verifying_key())]);
    // And nothing was recorded: it was not processed at all.
    receiver
        .accept(expires - Duration::from_secs(1), stanza, &mut store)
        .unwrap();
}

#[test]
fn options_form_with_a_bad_signature_is_refused_by_bob() {
    let mut w = world(6);
    let mut store = alice_store(&w);
    let published = Publisher::new(Config::default(), Audience::Subscribers, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    let bob = Initiator::new(Config::default(), &w.bob_key).unwrap();
    let xml = published.item.to_xml();

    // 1. A changed signature.
    let sig_at = xml.find("<field var=\"signs\"><value>").unwrap() + 26;
    let mut bad = xml.clone().into_bytes();
    bad[sig_at] = if bad[sig_at] == b'A' { b'B' } else { b'A' };
    let bad = Element::parse(std::str::from_utf8(&bad).unwrap()).unwrap();
    assert_eq!(
        bob.check_options(w.now, ALICE, &bad, &w.trust).unwrap_err(),
        Error::UntrustedOptions
    );
    // 2. A changed option (a later expiry), signature untouched.
    let later = xml.replace(
        &published.options.expires,
        &esession_offline::format_expires(w.now + HOURS_8 * 100),
    );
    assert_ne!(later, xml);
    assert_eq!(
        bob.check_options(w.now, ALICE, &Element::parse(&later).unwrap(), &w.trust)
            .unwrap_err(),
        Error::UntrustedOptions
    );
    // 3. A valid signature by a key Bob does not trust for Alice.
    let only_bob = trusting(
        MemoryStore::new(),
        &[
            ("bob@example.com", w.bob_key.verifying_key()),
            ("mallory@example.net", w.alice_key.verifying_key()),
        ],
    );
    assert_eq!(
        bob.check_options(w.now, ALICE, &published.item, &only_bob)
            .unwrap_err(),
        Error::UntrustedOptions
    );
    // 4. No signs at all.
    let unsigned = esession_wire::OfflineOptions {
        signs: Vec::new(),
        ..published.options.clone()
    };
    let unsigned = unsigned.to_wire().unwrap().into_element();
    assert_eq!(
        bob.check_options(w.now, ALICE, &unsigned, &w.trust)
            .unwrap_err(),
        Error::UntrustedOptions
    );
    // The genuine form passes.
    bob.check_options(w.now, ALICE, &published.item, &w.trust)
        .unwrap();
}

#[test]
fn match_resource_is_honoured() {
    let mut w = world(7);
    let mut store = alice_store(&w);
    let mut config = Config::default();
    config.stanzas = vec!["message".into(), "presence".into(), "iq".into()];
    let published = Publisher::new(config.clone(), Audience::Subscribers, w.now + HOURS_8)
        .match_resource("pda")
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    // XEP-0187 §3.1: with match_resource only message is offered.
    assert_eq!(published.options.offer.stanzas, vec!["message".to_owned()]);
    assert_eq!(published.options.match_resource.as_deref(), Some("pda"));
    let bob = Initiator::new(config, &w.bob_key).unwrap();
    let checked = bob
        .check_options(w.now, "alice@example.org/other", &published.item, &w.trust)
        .unwrap();
    let started = bob
        .start(
            w.now,
            &checked,
            Some(body("only on pda")),
            false,
            &mut w.rng,
        )
        .unwrap();
    assert_eq!(started.stanza.to(), Some("alice@example.org/pda"));
    let amp = started
        .stanza
        .children()
        .find(|c| c.ns() == NS_AMP)
        .expect("an amp element");
    let rule = amp.children().next().unwrap();
    assert_eq!(rule.attr("condition"), Some("match-resource"));
    assert_eq!(rule.attr("value"), Some("exact"));
    assert_eq!(rule.attr("action"), Some("error"));
    let later = started.session.unwrap().seal(w.now, body("again")).unwrap();
    assert_eq!(later.to(), Some("alice@example.org/pda"));
    assert!(later.children().any(|c| c.ns() == NS_AMP));

    // Without match_resource: the bare JID, no AMP, and iq is never offered.
    let mut config = Config::default();
    config.stanzas = vec!["message".into(), "iq".into()];
    let published = Publisher::new(config, Audience::Subscribers, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    assert_eq!(published.options.offer.stanzas, vec!["message".to_owned()]);
    let checked = bob
        .check_options(w.now, ALICE, &published.item, &w.trust)
        .unwrap();
    let started = bob.start(w.now, &checked, None, true, &mut w.rng).unwrap();
    assert_eq!(started.stanza.to(), Some(ALICE));
    assert!(!started.stanza.children().any(|c| c.ns() == NS_AMP));
}

#[test]
fn untrusted_bob_and_tampered_content_are_refused_silently() {
    let mut w = world(8);
    let mut store = MemoryOfflineStore::new();
    let published = Publisher::new(Config::default(), Audience::Everyone, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    let bob = Initiator::new(Config::default(), &w.bob_key).unwrap();
    let checked = bob
        .check_options(w.now, ALICE, &published.item, &w.trust)
        .unwrap();
    let stanza = from_bob(
        bob.start(w.now, &checked, Some(body("x")), true, &mut w.rng)
            .unwrap()
            .stanza,
    );
    let mut receiver = Receiver::came_online(Config::default(), &mut store)
        .unwrap()
        .receiver;
    // Alice's store does not trust Bob's key yet.
    assert_eq!(
        receiver
            .accept(w.now, stanza.clone(), &mut store)
            .unwrap_err(),
        Error::UntrustedPeer
    );
    let mut store = trusting(store, &[("bob@example.com", w.bob_key.verifying_key())]);
    // Tampered <data/>: the init verifies, the content does not.
    let xml = stanza.to_xml();
    let at = xml.find("<data>").unwrap() + 6;
    let mut t = xml.into_bytes();
    t[at] = if t[at] == b'A' { b'B' } else { b'A' };
    let t = Stanza::parse(std::str::from_utf8(&t).unwrap()).unwrap();
    assert_eq!(
        receiver.accept(w.now, t, &mut store).unwrap_err(),
        Error::BadContent
    );
    // An init for an N_A Alice never published.
    let mut other = alice_store(&w);
    let mut r2 = Receiver::came_online(Config::default(), &mut other)
        .unwrap()
        .receiver;
    assert_eq!(
        r2.accept(w.now, stanza, &mut other).unwrap_err(),
        Error::UnknownNonce
    );
}

#[test]
fn options_form_and_pep_stanzas() {
    let mut w = world(9);
    let mut store = alice_store(&w);
    let dsa_free = Publisher::new(Config::default(), Audience::Subscribers, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .signing_key(&w.bob_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    let o = &dsa_free.options;
    // One signature per key (XEP-0187 §3.1), each over the form without signs.
    assert_eq!(o.signs.len(), 2);
    w.alice_key
        .verifying_key()
        .verify(&dsa_free.signed_bytes, &o.signs[0])
        .unwrap();
    w.bob_key
        .verifying_key()
        .verify(&dsa_free.signed_bytes, &o.signs[1])
        .unwrap();
    let xml = dsa_free.item.to_xml();
    assert!(xml.starts_with("<x xmlns=\"jabber:x:data\" type=\"form\">"));
    for absent in [
        "\"accept\"",
        "init_pubkey",
        "resp_pubkey",
        "sas_algs",
        "dhhashes",
    ] {
        assert!(!xml.contains(absent), "{absent} in {xml}");
    }
    let vars: Vec<String> = esession_wire::WireForm::from_element(dsa_free.item.clone())
        .unwrap()
        .vars()
        .unwrap();
    assert_eq!(vars.last().map(String::as_str), Some("signs"));
    assert!(vars.contains(&"expires".to_owned()) && vars.contains(&"sign_algs".to_owned()));
    let esession_wire::DhValues::Keys(dh) = &o.offer.dh else {
        panic!("dhkeys")
    };
    assert_eq!(dh.len(), o.offer.modp.len());
    assert_eq!(o.expires, "2027-01-15T16:00:00Z");
    assert!(xml.contains("<field var=\"expires\"><value>2027-01-15T16:00:00Z</value></field>"));

    // PEP: node creation for subscribers (presence, never pushed).
    let create = dsa_free.create_node.to_xml();
    assert!(create.contains("<create node=\"http://www.xmpp.org/extensions/xep-0187.html#ns\"/>"));
    assert!(create.contains("<field var=\"pubsub#access_model\"><value>presence</value></field>"));
    assert!(
        create.contains("<field var=\"pubsub#deliver_notifications\"><value>0</value></field>")
    );
    assert!(
        create.contains(
            "<field var=\"pubsub#send_last_published_item\"><value>never</value></field>"
        )
    );
    // XEP-0060 §8.1.3: a submitted configuration (DO12).
    assert!(create.contains("<x xmlns=\"jabber:x:data\" type=\"submit\">"));
    let open = pep::create_node(Audience::Everyone, "c2").to_xml();
    assert!(open.contains("<create node=\"http://www.xmpp.org/extensions/xep-0116.html#ns\"/>"));
    assert!(open.contains("<value>open</value>"));
    assert!(dsa_free.publish.to_xml().contains("<publish node=\"http://www.xmpp.org/extensions/xep-0187.html#ns\"><item><x xmlns=\"jabber:x:data\""));

    // Bob's request and reading the result.
    let req = pep::request_options(ALICE, Audience::Subscribers, "es4").to_xml();
    assert!(req.contains("to=\"alice@example.org\"") && req.contains("type=\"get\""));
    assert!(req.contains("<items node=\"http://www.xmpp.org/extensions/xep-0187.html#ns\"/>"));
    let result = format!(
        "<iq xmlns='jabber:client' type='result' id='es4' from='{ALICE}'><pubsub xmlns='{}'><items node='{}'><item id='current'>{}</item></items></pubsub></iq>",
        pep::NS_PUBSUB,
        esession_wire::NS_OFFLINE,
        xml
    );
    let got = pep::options_from_result(&Stanza::parse(&result).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(got, dsa_free.item);
    assert!(got.is("x", NS_DATA));
    let bob = Initiator::new(Config::default(), &w.bob_key).unwrap();
    bob.check_options(w.now, ALICE, &got, &w.trust).unwrap();
    let empty = format!(
        "<iq xmlns='jabber:client' type='result' id='es4'><pubsub xmlns='{}'><items node='n'><item/></items></pubsub></iq>",
        pep::NS_PUBSUB
    );
    assert_eq!(
        pep::options_from_result(&Stanza::parse(&empty).unwrap()).unwrap(),
        None
    );
}

#[test]
fn bob_refuses_options_he_cannot_support() {
    let mut w = world(10);
    let mut store = alice_store(&w);
    let published = Publisher::new(Config::default(), Audience::Subscribers, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    let mut config = Config::default();
    config.crypt_algs = vec![esession_crypto::cipher::CipherAlg::Aes256Ctr];
    let bob = Initiator::new(config, &w.bob_key).unwrap();
    assert_eq!(
        bob.check_options(w.now, ALICE, &published.item, &w.trust)
            .unwrap_err(),
        Error::NoAcceptableOption(vec!["crypt_algs".to_owned()])
    );
}

#[test]
fn published_record_holds_n_a_every_x_and_expires() {
    let mut w = world(11);
    let mut store = alice_store(&w);
    let expires = w.now + HOURS_8;
    let p1 = Publisher::new(Config::default(), Audience::Subscribers, expires)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    let n_a = p1.options.offer.my_nonce.clone();
    assert_eq!(n_a.len(), esession_offline::NONCE_LEN);
    let record = store.published(&n_a).unwrap().unwrap();
    assert_eq!(record.expires, expires);
    assert_eq!(record.audience, Audience::Subscribers);
    let groups: Vec<u32> = record.x.iter().map(|v| v.group).collect();
    assert_eq!(groups, p1.options.offer.modp);
    // x is secret: never in Debug.
    let x_hex = hex::encode(record.x[0].x.as_bytes());
    assert!(!format!("{record:?}").contains(&x_hex[..16]));
    // Going offline again: new N_A and x values replace the subscribers'
    // set (XEP-0187 §6.1); the set for everyone is kept beside it.
    let p2 = Publisher::new(Config::default(), Audience::Subscribers, expires)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    let p3 = Publisher::new(Config::default(), Audience::Everyone, expires)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    assert_ne!(p2.options.offer.my_nonce, n_a);
    assert!(store.published(&n_a).unwrap().is_none());
    let mut nonces = store.published_nonces().unwrap();
    nonces.sort();
    let mut expected = vec![
        p2.options.offer.my_nonce.clone(),
        p3.options.offer.my_nonce.clone(),
    ];
    expected.sort();
    assert_eq!(nonces, expected);
}

#[test]
fn bob_refuses_an_invalid_e_and_sends_nothing() {
    let mut w = world(12);
    let mut store = alice_store(&w);
    let published = Publisher::new(Config::default(), Audience::Subscribers, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    // Alice's own (signed) form with e = 1 for her first group.
    let mut options = published.options.clone();
    if let esession_wire::DhValues::Keys(k) = &mut options.offer.dh {
        k[0] = vec![1];
    }
    options.signs.clear();
    let signed = options
        .to_wire()
        .unwrap()
        .form_bytes(esession_wire::NormProfile::Xep)
        .unwrap();
    options.signs = vec![w.alice_key.sign(&signed, &mut w.rng).unwrap()];
    let item = options.to_wire().unwrap().into_element();
    let bob = Initiator::new(Config::default(), &w.bob_key).unwrap();
    let checked = bob.check_options(w.now, ALICE, &item, &w.trust).unwrap();
    assert!(matches!(
        bob.start(w.now, &checked, Some(body("x")), true, &mut w.rng),
        Err(Error::Crypto(_))
    ));
}

#[test]
fn offline_init_has_no_pubkey_field_and_alice_never_answers() {
    let mut w = world(13);
    let mut store = alice_store(&w);
    let published = Publisher::new(Config::default(), Audience::Everyone, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    let bob = Initiator::new(Config::default(), &w.bob_key).unwrap();
    let checked = bob
        .check_options(w.now, ALICE, &published.item, &w.trust)
        .unwrap();
    let started = bob
        .start(w.now, &checked, Some(body("hi")), false, &mut w.rng)
        .unwrap();
    let xml = started.stanza.to_xml();
    // XEP-0187 §3.3: no pubkey field; Bob's identity is in `key` mode.
    assert!(!xml.contains("pubkey"), "{xml}");
    assert!(!xml.contains("\"accept\""), "{xml}");
    let end = started.session.unwrap().terminate().unwrap();
    let mut r = Receiver::came_online(Config::default(), &mut store)
        .unwrap()
        .receiver;
    let accepted = r
        .accept(w.now, from_bob(started.stanza), &mut store)
        .unwrap();
    // Receiving Bob's terminate yields no stanza to send (XEP-0187 §5), and
    // the session offers no way to send at all (§4).
    let opened = accepted.session.unwrap().open(from_bob(end)).unwrap();
    assert!(opened.terminated);
}

/// One home for Bob's choice rules: the same offer, including the older
/// `otr` spelling of the logging field (D20: `false` = may, `true` =
/// mustnot), gives the same choice online (msg1) and offline (the options
/// form), through each layer's own entry point.
#[test]
fn the_same_offer_gives_the_same_choice_online_and_offline() {
    use esession_online::negotiated::{self, Exchange};
    use esession_wire::{LoggingVar, NormProfile, OfflineOptions};

    let mut w = world(11);
    let mut store = alice_store(&w);
    let published = Publisher::new(Config::default(), Audience::Everyone, w.now + HOURS_8)
        .signing_key(&w.alice_key)
        .publish(&mut w.rng, &mut store)
        .unwrap();
    // Alice's offer rewritten with `otr` values and lists in her own order.
    let mut offer = published.options.offer.clone();
    offer.logging_var = LoggingVar::Otr;
    offer.logging = vec!["true".into(), "false".into()];
    offer.modp = vec![5, 14];
    offer.stanzas = vec!["presence".into(), "message".into()];
    offer.rekey_freq = 1000;
    let mut options = OfflineOptions {
        offer: offer.clone(),
        signs: Vec::new(),
        ..published.options.clone()
    };
    if let esession_wire::DhValues::Keys(e) = &mut options.offer.dh {
        e.reverse(); // one e per group, in the new modp order
    }
    let signed = options
        .to_wire()
        .unwrap()
        .form_bytes(NormProfile::Xep)
        .unwrap();
    options.signs = vec![w.alice_key.sign(&signed, &mut w.rng).unwrap()];
    let item = options.to_wire().unwrap().into_element();

    let mut config = Config::default();
    config.logging = vec!["mustnot".into()];
    config.stanzas = vec!["message".into(), "presence".into()];
    let bob = Initiator::new(config.clone(), &w.bob_key).unwrap();
    let offline = bob.check_options(w.now, ALICE, &item, &w.trust).unwrap();
    let offline = &offline.chosen().negotiated;

    let mut online_offer = offer;
    online_offer.sas_algs = vec![negotiated::SAS28X5.into()];
    let online = negotiated::choose(&config, &online_offer, Exchange::FourMessage, None)
        .unwrap()
        .negotiated;

    // `otr` true means logging must not happen: Bob's policy allows it.
    assert_eq!(offline.logging, "true");
    for (what, on, off) in [
        ("logging", &online.logging, &offline.logging),
        (
            "modp",
            &online.modp.number().to_string(),
            &offline.modp.number().to_string(),
        ),
        (
            "cipher",
            &online.cipher.name().to_owned(),
            &offline.cipher.name().to_owned(),
        ),
        (
            "hash",
            &online.hash.name().to_owned(),
            &offline.hash.name().to_owned(),
        ),
        (
            "stanzas",
            &online.stanzas.join(","),
            &offline.stanzas.join(","),
        ),
        (
            "rekey_freq",
            &online.rekey_freq.to_string(),
            &offline.rekey_freq.to_string(),
        ),
    ] {
        assert_eq!(on, off, "{what}");
    }
    assert_eq!(offline.modp.number(), 5);
    assert_eq!(offline.stanzas, ["presence", "message"]);
}
