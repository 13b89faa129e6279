#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
//! Whole sessions between two in-memory endpoints (the pair driver in `common`).

mod common;

use std::time::Duration;

use common::{Pair, field_value, flip_b64, message, replace_value};
use esession_crypto::dh::ModpGroup;
use esession_online::{
    Config, Error, MemoryStore, Output, PeerMisbehaved, SessionStore, SharedPassword,
    TERMINATE_ACK_TIMEOUT, TerminationReason,
};

fn established_pair(seed: u64) -> Pair {
    let mut p = Pair::new(Config::default(), Config::default(), seed);
    p.negotiate();
    assert!(p.alice.ep.is_established() && p.bob.ep.is_established());
    p
}

fn stored(store: &MemoryStore, peer: &str, p: &Pair) -> Vec<Vec<u8>> {
    store
        .secrets(peer, p.now)
        .unwrap()
        .iter()
        .map(|s| s.secret.as_bytes().to_vec())
        .collect()
}

/// Which of the secrets held for `peer` are pending (D37), newest first.
fn pending(store: &MemoryStore, peer: &str, p: &Pair) -> Vec<bool> {
    store
        .secrets(peer, p.now)
        .unwrap()
        .iter()
        .map(|s| s.pending)
        .collect()
}

/// Alice sends Bob one encrypted message: the first authentic stanza of the
/// session, which proves to Bob she accepted msg4 (D37).
fn alice_speaks(p: &mut Pair) {
    p.alice.ep.send(p.now, message("first")).unwrap();
    p.alice.collect();
    p.drive();
    assert_eq!(p.bob.received().len(), 1);
}

#[test]
fn four_message_negotiation_establishes_with_the_same_sas() {
    let mut p = Pair::new(Config::default(), Config::default(), 1);
    let carried = p.negotiate();
    assert_eq!(carried.len(), 4, "msg1..msg4");
    assert!(carried[0].1.contains("var=\"dhhashes\""));
    assert!(carried[1].1.contains("var=\"counter\""));
    assert!(carried[2].1.contains("var=\"rshashes\""));
    assert!(carried[3].1.contains("xep-0116.html#ns-init"));
    // Every negotiation stanza mirrors Alice's thread (D45) and has no type/body.
    let thread = p.alice.ep.thread().to_owned();
    assert_eq!(thread.len(), 32);
    for (_, s) in &carried {
        assert!(s.contains(&format!("<thread>{thread}</thread>")));
        assert!(!s.contains("<body"));
    }
    let requested = p.bob.events.iter().find_map(|e| match e {
        Output::Requested(r) => Some(r.clone()),
        _ => None,
    });
    let requested = requested.expect("Bob saw the request");
    assert_eq!(requested.peer, common::ALICE);
    assert_eq!(requested.negotiated.modp, ModpGroup::Group14);

    let sas = p.alice.sas().expect("Alice's SAS");
    assert_eq!(sas.len(), 5);
    assert_eq!(Some(sas), p.bob.sas());
    let (a, b) = (p.alice.established().unwrap(), p.bob.established().unwrap());
    assert_eq!(a, b);
    assert!(!a.retained_secret_used);
    // Both stored the same new retained secret (D37).
    let (ra, rb) = (
        stored(&p.alice.store, "bob@example.com", &p),
        stored(&p.bob.store, "alice@example.org", &p),
    );
    assert_eq!(ra.len(), 1);
    assert_eq!(ra, rb);
    assert_eq!(
        p.alice.ep.peer(),
        common::BOB,
        "D45: Alice answers msg2's full JID"
    );
}

#[test]
fn second_session_finds_the_retained_secret_and_remembers_verification() {
    let mut first = established_pair(2);
    first.alice.ep.confirm_sas(&mut first.alice.store).unwrap();
    first.bob.ep.confirm_sas(&mut first.bob.store).unwrap();
    let secret = stored(&first.alice.store, "bob@example.com", &first);

    let mut second = Pair::with_stores(
        Config::default(),
        Config::default(),
        3,
        first.alice.store.clone(),
        first.bob.store.clone(),
    );
    second.negotiate();
    let (a, b) = (
        second.alice.established().unwrap(),
        second.bob.established().unwrap(),
    );
    assert!(a.retained_secret_used && b.retained_secret_used);
    assert!(a.chain_verified && b.chain_verified);
    assert_eq!(second.alice.sas(), second.bob.sas());
    // D34: the matched SRS was replaced by the new secret on Alice's side;
    // D37: Bob holds the new one pending beside the old one...
    let ra = stored(&second.alice.store, "bob@example.com", &second);
    assert_eq!(ra.len(), 1);
    assert_ne!(ra, secret);
    let rb = stored(&second.bob.store, "alice@example.org", &second);
    assert_eq!(rb, [ra.clone(), secret].concat());
    assert_eq!(
        pending(&second.bob.store, "alice@example.org", &second),
        [true, false]
    );
    // ...until Alice's first authentic stanza: then only the new one stays.
    alice_speaks(&mut second);
    assert_eq!(stored(&second.bob.store, "alice@example.org", &second), ra);
    assert_eq!(
        pending(&second.bob.store, "alice@example.org", &second),
        [false]
    );
}

/// A second session whose msg4 is tampered with in transit (one byte of
/// srshash, or any byte of ID_B/M_B): Alice refuses it and answers with an
/// error, and returns `(second, first secret)`.
fn second_session_with_tampered_msg4(seed: u64, field: &str) -> (Pair, Vec<Vec<u8>>) {
    let first = established_pair(seed);
    let secret = stored(&first.alice.store, "bob@example.com", &first);
    let mut second = Pair::with_stores(
        Config::default(),
        Config::default(),
        seed + 1,
        first.alice.store.clone(),
        first.bob.store.clone(),
    );
    second.drive(); // msg1
    second.bob.ep.accept(second.now).unwrap();
    second.bob.collect();
    for s in second.bob.take_outbox() {
        second.alice.deliver(second.now, &s); // msg2
    }
    for s in second.alice.take_outbox() {
        second.bob.deliver(second.now, &s); // msg3
    }
    assert!(second.bob.ep.is_established());
    let msg4 = second.bob.take_outbox();
    assert_eq!(msg4.len(), 1);
    let tampered = replace_value(&msg4[0], field, &flip_b64(field_value(&msg4[0], field)));
    second.alice.deliver(second.now, &tampered);
    assert!(second.alice.failure().is_some(), "Alice refuses msg4");
    assert!(!second.alice.ep.is_established());
    (second, secret)
}

#[test]
fn a_tampered_msg4_leaves_both_sides_the_old_secret_and_the_next_session_uses_it() {
    for (seed, field) in [(20, "srshash"), (30, "mac")] {
        let (mut second, secret) = second_session_with_tampered_msg4(seed, field);
        // Alice's error reaches Bob (XEP0116-029): he discards the pending secret.
        second.drive();
        assert!(matches!(second.bob.failure(), Some(Error::Rejected { .. })));
        for (store, peer) in [
            (&second.alice.store, "bob@example.com"),
            (&second.bob.store, "alice@example.org"),
        ] {
            assert_eq!(stored(store, peer, &second), secret, "{field}: {peer}");
            assert_eq!(pending(store, peer, &second), [false]);
        }
        // The next session matches the old secret on both sides.
        let mut third = Pair::with_stores(
            Config::default(),
            Config::default(),
            seed + 2,
            second.alice.store.clone(),
            second.bob.store.clone(),
        );
        third.negotiate();
        let (a, b) = (
            third.alice.established().unwrap(),
            third.bob.established().unwrap(),
        );
        assert!(a.retained_secret_used && b.retained_secret_used, "{field}");
        assert_eq!(third.alice.sas(), third.bob.sas());
    }
}

#[test]
fn a_lost_error_after_a_tampered_msg4_is_settled_by_the_next_rshashes() {
    let (second, secret) = second_session_with_tampered_msg4(40, "srshash");
    // Alice's error never reaches Bob: he holds the old secret and the
    // pending new one, which Alice never accepted.
    let rb = stored(&second.bob.store, "alice@example.org", &second);
    assert_eq!(rb.len(), 2);
    assert_eq!(rb[1..], secret[..]);
    let mut third = Pair::with_stores(
        Config::default(),
        Config::default(),
        42,
        second.alice.store.clone(),
        second.bob.store.clone(),
    );
    third.negotiate();
    assert!(third.bob.established().unwrap().retained_secret_used);
    assert!(third.alice.established().unwrap().retained_secret_used);
    // Alice's rshashes proved the old secret: the unproven one is gone, and
    // the third session's secret is pending over the old one.
    let rb = stored(&third.bob.store, "alice@example.org", &third);
    let ra = stored(&third.alice.store, "bob@example.com", &third);
    assert_eq!(rb, [ra.clone(), secret].concat());
    alice_speaks(&mut third);
    assert_eq!(stored(&third.bob.store, "alice@example.org", &third), ra);
}

#[test]
fn a_forgotten_secret_on_one_side_is_not_an_error() {
    let first = established_pair(4);
    // Bob lost his store: no SRS, a random srshash; Alice finds no match either.
    let mut second = Pair::with_stores(
        Config::default(),
        Config::default(),
        5,
        first.alice.store.clone(),
        MemoryStore::new(),
    );
    second.negotiate();
    assert!(!second.alice.established().unwrap().retained_secret_used);
    assert!(!second.bob.established().unwrap().retained_secret_used);
    // Alice keeps the old secret and adds the new one.
    assert_eq!(second.alice.store.len_for("bob@example.com"), 2);
}

#[test]
fn extended_search_finds_a_secret_held_under_another_jid() {
    let first = established_pair(6);
    // Bob's secret is filed under an old JID of Alice's.
    let mut bob_store = MemoryStore::new();
    for s in first
        .bob
        .store
        .secrets("alice@example.org", first.now)
        .unwrap()
    {
        bob_store
            .store_secret("alice@old.example", None, s)
            .unwrap();
    }
    let mut second = Pair::with_stores(
        Config::default(),
        Config::default(),
        7,
        first.alice.store.clone(),
        bob_store,
    );
    second.negotiate();
    assert!(second.bob.established().unwrap().retained_secret_used);
    // D37: the matched secret under the old JID goes once Alice proves she
    // accepted msg4.
    assert_eq!(second.bob.store.len_for("alice@old.example"), 1);
    alice_speaks(&mut second);
    assert_eq!(second.bob.store.len_for("alice@old.example"), 0);
    assert_eq!(second.bob.store.len_for("alice@example.org"), 1);
}

#[test]
fn shared_password_session() {
    let with = |pw: &str| {
        let mut c = Config::default();
        c.shared_password = Some(SharedPassword::new(pw));
        c
    };
    let mut p = Pair::new(with("correct horse"), with("correct horse"), 8);
    p.negotiate();
    assert!(p.alice.ep.is_established() && p.bob.ep.is_established());

    // Different passwords give different K_final: Alice's check of M_B fails,
    // she answers feature-not-implemented (D44) and stores nothing (D37).
    let mut p = Pair::new(with("correct horse"), with("battery staple"), 9);
    let carried = p.negotiate();
    assert_eq!(
        p.alice.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::BadIdentityMac))
    );
    assert!(
        carried
            .last()
            .unwrap()
            .1
            .contains("<feature-not-implemented")
    );
    assert_eq!(p.alice.store.len_for("bob@example.com"), 0);
    assert!(matches!(
        p.bob.failure(),
        Some(Error::Rejected { condition, .. }) if condition == "feature-not-implemented"
    ));
}

#[test]
fn messages_flow_both_ways() {
    let mut p = established_pair(10);
    let bodies = [
        "Hello Bob",
        "",
        "été — non-ASCII, and long enough to need several AES blocks of keystream.",
    ];
    for (i, body) in bodies.iter().enumerate() {
        p.alice.ep.send(p.now, message(body)).unwrap();
        p.alice.collect();
        let wire = p.alice.outbox[0].clone();
        assert!(wire.contains("<c xmlns=\"http://www.xmpp.org/extensions/xep-0200.html#ns\">"));
        assert!(!wire.contains("<body"), "no plaintext on the wire (D38)");
        p.drive();
        p.bob
            .ep
            .send(p.now, message(&format!("reply {i}")))
            .unwrap();
        p.bob.collect();
        p.drive();
    }
    let at_bob: Vec<String> = p.bob.received().iter().map(|s| s.to_xml()).collect();
    let at_alice: Vec<String> = p.alice.received().iter().map(|s| s.to_xml()).collect();
    assert_eq!(at_bob.len(), 3);
    assert_eq!(at_alice.len(), 3);
    for (got, body) in at_bob.iter().zip(bodies) {
        let expected = if body.is_empty() {
            "<body/>".to_owned()
        } else {
            format!("<body>{body}</body>")
        };
        assert!(got.contains(&expected), "{got}");
        assert!(got.contains("type=\"chat\""));
        assert!(got.contains(p.alice.ep.thread()));
    }
    assert!(at_alice[2].contains("<body>reply 2</body>"));
    assert!(p.alice.failure().is_none() && p.bob.failure().is_none());
}

fn sent_by_alice(p: &mut Pair, body: &str) -> String {
    p.alice.ep.send(p.now, message(body)).unwrap();
    p.alice.collect();
    p.alice.take_outbox().remove(0)
}

fn assert_bob_dropped_the_session(p: &mut Pair, delivered_before: usize) {
    assert_eq!(
        p.bob.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::BadStanzaMac))
    );
    assert_eq!(
        p.bob.received().len(),
        delivered_before,
        "nothing reached Bob's application"
    );
    assert!(p.bob.ep.is_closed());
    // D44: Bob answers not-acceptable and Alice learns the session is gone.
    let answer = p.bob.take_outbox();
    assert_eq!(answer.len(), 1);
    assert!(answer[0].contains("type=\"error\"") && answer[0].contains("<not-acceptable"));
    p.alice.deliver(p.now, &answer[0]);
    assert!(matches!(p.alice.failure(), Some(Error::Rejected { .. })));
    assert!(p.alice.ep.send(p.now, message("more")).is_err());
}

#[test]
fn tampered_stanza_ends_the_session() {
    let mut p = established_pair(11);
    let wire = sent_by_alice(&mut p, "Transfer 100 EUR");
    // Flip one bit of the first ciphertext byte (inside <data>).
    let start = wire.find("<data>").unwrap() + "<data>".len();
    let b64 = &wire[start..wire[start..].find('<').unwrap() + start];
    let mut bytes = esession_crypto::b64::decode(b64).unwrap();
    bytes[0] ^= 1;
    let tampered = wire.replacen(b64, &esession_crypto::b64::encode(&bytes), 1);
    p.bob.deliver(p.now, &tampered);
    assert_bob_dropped_the_session(&mut p, 0);
}

#[test]
fn replayed_stanza_ends_the_session() {
    let mut p = established_pair(12);
    let wire = sent_by_alice(&mut p, "once");
    p.bob.deliver(p.now, &wire);
    assert_eq!(p.bob.received().len(), 1);
    p.bob.deliver(p.now, &wire);
    assert_bob_dropped_the_session(&mut p, 1);
}

#[test]
fn reordered_stanzas_end_the_session() {
    let mut p = established_pair(13);
    let first = sent_by_alice(&mut p, "first");
    let second = sent_by_alice(&mut p, "second");
    p.bob.deliver(p.now, &second);
    assert_bob_dropped_the_session(&mut p, 0);
    let _ = first;
}

#[test]
fn plaintext_in_an_encrypted_session_is_ignored() {
    let mut p = established_pair(14);
    let mut plain = message("plaintext");
    plain.set_attr("from", common::ALICE);
    plain.set_thread(p.bob.ep.thread());
    let r = p.bob.ep.handle_stanza(p.now, plain, &mut p.bob.store);
    assert_eq!(r, Err(Error::UnexpectedPlaintext));
    assert!(p.bob.ep.is_established());
    p.bob.collect();
    assert!(p.bob.received().is_empty());
}

#[test]
fn termination_is_encrypted_and_acknowledged() {
    let mut p = established_pair(15);
    p.alice.ep.terminate(p.now).unwrap();
    p.alice.collect();
    let terminate = p.alice.outbox[0].clone();
    assert!(terminate.contains("<c xmlns="));
    assert!(
        !terminate.contains("terminate"),
        "the form travels encrypted (D43)"
    );
    // Alice's send keys are gone at once.
    assert_eq!(
        p.alice.ep.send(p.now, message("late")),
        Err(Error::InvalidState("the session is not established"))
    );
    assert_eq!(
        p.alice.ep.poll_timeout(),
        Some(p.now + TERMINATE_ACK_TIMEOUT)
    );
    let carried = p.drive();
    assert_eq!(carried.len(), 2, "terminate and its acknowledgement");
    assert!(!carried[1].1.contains("terminate"));
    assert!(
        p.bob
            .events
            .contains(&Output::Terminated(TerminationReason::ByPeer))
    );
    assert!(
        p.alice
            .events
            .contains(&Output::Terminated(TerminationReason::Acknowledged))
    );
    assert!(p.alice.ep.is_closed() && p.bob.ep.is_closed());
    assert!(p.alice.received().is_empty() && p.bob.received().is_empty());
}

#[test]
fn termination_without_acknowledgement_times_out() {
    let mut p = established_pair(16);
    p.alice.ep.terminate(p.now).unwrap();
    p.alice.collect();
    p.alice.take_outbox(); // lost
    p.advance(Duration::from_secs(59));
    p.alice.ep.handle_timeout(p.now);
    assert!(!p.alice.ep.is_closed());
    p.advance(Duration::from_secs(1));
    p.alice.ep.handle_timeout(p.now);
    p.alice.collect();
    assert!(p.alice.ep.is_closed());
    assert!(
        p.alice
            .events
            .contains(&Output::Terminated(TerminationReason::AckTimedOut))
    );
}

#[test]
fn no_acceptable_modp_is_rejected_with_not_acceptable() {
    let mut bob = Config::default();
    bob.modp = vec![ModpGroup::Group18];
    let mut p = Pair::new(Config::default(), bob, 17);
    let carried = p.drive();
    assert_eq!(
        p.bob.failure(),
        Some(&Error::NoAcceptableOption(vec!["modp".to_owned()]))
    );
    assert!(
        carried[1].1.contains("<error type=\"cancel\"><not-acceptable xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/><feature xmlns=\"http://jabber.org/protocol/feature-neg\"><field var=\"modp\"/></feature></error>"),
        "{}",
        carried[1].1
    );
    assert_eq!(
        p.alice.failure(),
        Some(&Error::Rejected {
            condition: "not-acceptable".to_owned(),
            fields: vec!["modp".to_owned()],
        })
    );
}

#[test]
fn bob_may_decline() {
    let mut p = Pair::new(Config::default(), Config::default(), 18);
    p.drive();
    p.bob.ep.reject(p.now).unwrap();
    p.bob.collect();
    let carried = p.drive();
    assert!(
        carried[0]
            .1
            .contains("<field var=\"accept\"><value>0</value></field>")
    );
    assert!(
        p.alice
            .events
            .contains(&Output::Terminated(TerminationReason::Declined))
    );
    assert!(p.alice.ep.is_closed() && p.bob.ep.is_closed());
}

#[test]
fn commands_in_the_wrong_state_are_refused() {
    let mut p = Pair::new(Config::default(), Config::default(), 19);
    assert!(matches!(
        p.bob.ep.accept(p.now),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        p.alice.ep.send(p.now, message("x")),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        p.alice.ep.terminate(p.now),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        p.alice.ep.confirm_sas(&mut MemoryStore::new()),
        Err(Error::InvalidState(_))
    ));
}

mod in_order {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// In-order delivery always decrypts, in both directions, whatever the
        /// content (escaping, non-ASCII, partial blocks, empty bodies).
        #[test]
        fn in_order_delivery_always_decrypts(
            seed in 0u64..1000,
            msgs in proptest::collection::vec((any::<bool>(), "[a-zA-Z0-9é€😀<>&\"' ]{0,70}"), 1..12),
        ) {
            let mut p = established_pair(seed);
            for (from_alice, body) in &msgs {
                let sender = if *from_alice { &mut p.alice } else { &mut p.bob };
                sender.ep.send(p.now, message(body)).unwrap();
                sender.collect();
                p.drive();
            }
            let texts = |party: &common::Party| -> Vec<String> {
                party
                    .received()
                    .iter()
                    .map(|s| s.children().find(|c| c.name() == "body").unwrap().text())
                    .collect()
            };
            let to_bob: Vec<String> = msgs.iter().filter(|m| m.0).map(|m| m.1.clone()).collect();
            let to_alice: Vec<String> = msgs.iter().filter(|m| !m.0).map(|m| m.1.clone()).collect();
            prop_assert_eq!(texts(&p.bob), to_bob);
            prop_assert_eq!(texts(&p.alice), to_alice);
            prop_assert!(p.alice.failure().is_none() && p.bob.failure().is_none());
        }
    }
}
