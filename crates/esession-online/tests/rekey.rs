#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
//! Re-keying (XEP-0200 §7-§9; DECISIONS D41, D42) and the 2^32-block limit.

mod common;

use common::{Pair, message};
use esession_online::{Config, Error, Output, PeerMisbehaved, TerminationReason};
use esession_wire::Stanza;
use proptest::prelude::*;

fn cfg(rekey_freq: u32) -> Config {
    let mut c = Config::default();
    c.rekey_freq = rekey_freq;
    c
}

fn pair(rekey_freq: u32, seed: u64) -> Pair {
    let mut p = Pair::new(cfg(rekey_freq), cfg(rekey_freq), seed);
    p.negotiate();
    assert!(p.alice.ep.is_established() && p.bob.ep.is_established());
    assert_eq!(
        p.alice.established().unwrap().negotiated.rekey_freq,
        rekey_freq
    );
    p
}

fn say(p: &mut Pair, from_alice: bool, body: &str) {
    let now = p.now;
    let party = if from_alice { &mut p.alice } else { &mut p.bob };
    if let Err(e) = party.ep.send(now, message(body)) {
        panic!(
            "send failed: {e:?}; alice {:?}; bob {:?}",
            p.alice.failure(),
            p.bob.failure()
        );
    }
    party.collect();
}

fn bodies(s: &[&Stanza]) -> Vec<String> {
    s.iter()
        .map(|s| {
            s.children()
                .find(|c| c.name() == "body")
                .map(|b| b.text())
                .unwrap_or_default()
        })
        .collect()
}

fn no_failures(p: &Pair) {
    assert!(p.alice.failure().is_none(), "{:?}", p.alice.failure());
    assert!(p.bob.failure().is_none(), "{:?}", p.bob.failure());
}

#[test]
fn alice_rekeys_and_both_directions_continue() {
    let mut p = pair(2, 1);
    assert!(!p.alice.ep.may_rekey());
    assert!(matches!(
        p.alice.ep.rekey(p.now),
        Err(Error::InvalidState(_))
    ));
    say(&mut p, true, "one");
    say(&mut p, false, "two");
    p.drive();
    assert!(p.alice.ep.may_rekey());
    let before = p.alice.ep.counters().unwrap();
    p.alice.ep.rekey(p.now).unwrap();
    p.alice.collect();
    let key_stanza = p.alice.outbox[0].clone();
    assert!(key_stanza.contains("<key>"), "{key_stanza}");
    assert!(!key_stanza.contains("<data>"));
    // D40: a stanza without <data> advances the counter by 1; counters continue.
    assert_eq!(
        p.alice.ep.counters().unwrap().0,
        before.0.map(|c| c.wrapping_add(1))
    );
    say(&mut p, true, "under the new key");
    say(&mut p, false, "crossing, under Bob's old key");
    p.drive();
    say(&mut p, false, "after the re-key");
    say(&mut p, true, "and again");
    p.drive();
    no_failures(&p);
    assert_eq!(
        bodies(&p.bob.received()),
        vec!["one", "under the new key", "and again"]
    );
    assert_eq!(
        bodies(&p.alice.received()),
        vec!["two", "crossing, under Bob's old key", "after the re-key"]
    );
    // Bob's first stanza after receiving the key carries <new>1</new>.
    let (a, b) = (p.alice.ep.counters().unwrap(), p.bob.ep.counters().unwrap());
    assert_eq!(a.0, Some(b.1));
    assert_eq!(b.0, Some(a.1));
}

#[test]
fn the_key_rides_with_content_when_asked() {
    // XEP-0200 §7.2 (XEP0200-034): "it SHOULD be sent together with
    // encrypted content".
    let mut p = pair(1, 21);
    say(&mut p, true, "one");
    say(&mut p, false, "two");
    p.drive();
    let before = p.alice.ep.counters().unwrap();
    p.alice
        .ep
        .send_with_rekey(p.now, message("carrying the key"))
        .unwrap();
    p.alice.collect();
    assert_eq!(p.alice.outbox.len(), 1);
    let key_stanza = p.alice.outbox[0].clone();
    assert!(key_stanza.contains("<key>"), "{key_stanza}");
    assert!(key_stanza.contains("<data>"), "{key_stanza}");
    assert!(!key_stanza.contains("carrying the key"));
    // The content's blocks advance the counter as for any content stanza, so
    // it moved by more than the 1 of a key-only stanza (D40).
    let after = p.alice.ep.counters().unwrap();
    assert!(after.0.unwrap() > before.0.unwrap().wrapping_add(1));
    p.drive();
    say(&mut p, false, "ack");
    assert!(
        p.bob.outbox[0].contains("<new>1</new>"),
        "{}",
        p.bob.outbox[0]
    );
    say(&mut p, true, "under the new key");
    p.drive();
    no_failures(&p);
    assert_eq!(
        bodies(&p.bob.received()),
        vec!["one", "carrying the key", "under the new key"]
    );
    assert_eq!(bodies(&p.alice.received()), vec!["two", "ack"]);
    // The new keys are in use: a re-key with content from Bob works too.
    p.bob
        .ep
        .send_with_rekey(p.now, message("bob's key"))
        .unwrap();
    p.bob.collect();
    p.drive();
    say(&mut p, true, "last");
    p.drive();
    no_failures(&p);
    assert_eq!(bodies(&p.alice.received()), vec!["two", "ack", "bob's key"]);
    assert_eq!(
        bodies(&p.bob.received()),
        vec!["one", "carrying the key", "under the new key", "last"]
    );
}

#[test]
fn a_refused_send_with_rekey_queues_nothing_and_keeps_the_keys() {
    let mut p = pair(2, 22);
    let before = p.alice.ep.counters().unwrap();
    // Too early (rekey_freq 2): refused, nothing queued, counters unchanged.
    assert!(matches!(
        p.alice.ep.send_with_rekey(p.now, message("early")),
        Err(Error::InvalidState(_))
    ));
    p.alice.collect();
    assert!(p.alice.outbox.is_empty());
    assert_eq!(p.alice.ep.counters().unwrap(), before);
    // A kind that was not negotiated is refused the same way.
    say(&mut p, true, "one");
    say(&mut p, true, "two");
    say(&mut p, false, "three");
    say(&mut p, false, "four");
    p.drive();
    let mid = p.alice.ep.counters().unwrap();
    let presence = Stanza::parse("<presence xmlns='jabber:client'/>").unwrap();
    assert!(matches!(
        p.alice.ep.send_with_rekey(p.now, presence),
        Err(Error::StanzaKindNotNegotiated(_))
    ));
    p.alice.collect();
    assert!(p.alice.outbox.is_empty());
    assert_eq!(p.alice.ep.counters().unwrap(), mid);
    assert_ne!(mid, before);
    // The session goes on under the old keys.
    say(&mut p, true, "five");
    p.drive();
    no_failures(&p);
    assert_eq!(bodies(&p.bob.received()), vec!["one", "two", "five"]);
}

#[test]
fn new_element_acknowledges_the_key_and_old_mac_keys_are_published() {
    let mut p = pair(1, 2);
    say(&mut p, true, "hi");
    p.drive();
    p.alice.ep.rekey(p.now).unwrap();
    p.alice.collect();
    p.drive();
    say(&mut p, false, "ack");
    let ack = p.bob.outbox[0].clone();
    assert!(ack.contains("<new>1</new>"), "{ack}");
    p.drive();
    // Alice has sent <key/> and received a stanza under her new keys: her old
    // KM and Bob's old KM are retired (D41) and go out with her next stanza.
    assert!(p.alice.ep.pending_old_mac_keys() >= 1);
    say(&mut p, true, "with old keys");
    let with_old = p.alice.outbox[0].clone();
    assert!(with_old.contains("<old>"), "{with_old}");
    assert_eq!(p.alice.ep.pending_old_mac_keys(), 0);
    p.drive();
    no_failures(&p);
    assert_eq!(bodies(&p.bob.received()), vec!["hi", "with old keys"]);
}

#[test]
fn bob_rekeys_too_and_terminate_still_works() {
    let mut p = pair(1, 3);
    say(&mut p, false, "b1");
    p.drive();
    p.bob.ep.rekey(p.now).unwrap();
    p.bob.collect();
    p.drive();
    say(&mut p, true, "a1");
    say(&mut p, false, "b2");
    p.drive();
    p.alice.ep.rekey(p.now).unwrap();
    p.alice.collect();
    say(&mut p, true, "a2");
    p.drive();
    say(&mut p, false, "b3");
    p.drive();
    no_failures(&p);
    assert_eq!(bodies(&p.bob.received()), vec!["a1", "a2"]);
    assert_eq!(bodies(&p.alice.received()), vec!["b1", "b2", "b3"]);
    p.alice.ep.terminate(p.now).unwrap();
    p.alice.collect();
    p.drive();
    assert!(
        p.alice
            .events
            .contains(&Output::Terminated(TerminationReason::Acknowledged))
    );
}

#[test]
fn simultaneous_rekeys_in_both_directions() {
    let mut p = pair(1, 4);
    say(&mut p, true, "a0");
    p.drive();
    p.alice.ep.rekey(p.now).unwrap();
    p.alice.collect();
    p.bob.ep.rekey(p.now).unwrap();
    p.bob.collect();
    say(&mut p, true, "a1");
    say(&mut p, false, "b1");
    p.drive();
    say(&mut p, true, "a2");
    say(&mut p, false, "b2");
    p.drive();
    say(&mut p, true, "a3");
    p.drive();
    no_failures(&p);
    assert_eq!(bodies(&p.bob.received()), vec!["a0", "a1", "a2", "a3"]);
    assert_eq!(bodies(&p.alice.received()), vec!["b1", "b2"]);
}

#[test]
fn a_peer_rekeying_too_early_ends_the_session() {
    let mut p = pair(3, 5);
    say(&mut p, true, "1");
    say(&mut p, false, "2");
    p.drive();
    assert!(!p.alice.ep.may_rekey());
    // A misbehaving Alice re-keys after 2 of the 3 agreed stanzas.
    p.alice.ep.rekey_ignoring_rekey_freq(p.now).unwrap();
    p.alice.collect();
    p.drive();
    assert_eq!(
        p.bob.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::RekeyTooEarly))
    );
    // D44: Bob answered not-acceptable, and Alice's session ended too.
    assert!(p.alice.failure().is_some());
}

#[test]
fn default_rekey_freq_forbids_rekeying() {
    // rekey_freq 4294967295 (never, D42). Alice offers 1, Bob's minimum is
    // the maximum: msg2 answers max(1, max) = max, so nobody may re-key, and
    // a key sent anyway is refused.
    let mut p = Pair::new(cfg(1), Config::default(), 7);
    p.negotiate();
    assert_eq!(p.bob.established().unwrap().negotiated.rekey_freq, u32::MAX);
    say(&mut p, true, "x");
    p.drive();
    assert!(!p.alice.ep.may_rekey());
    assert!(p.alice.ep.rekey(p.now).is_err());
    p.bob.ep.rekey_ignoring_rekey_freq(p.now).unwrap();
    p.bob.collect();
    p.drive();
    assert_eq!(
        p.alice.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::RekeyTooEarly))
    );
}

#[test]
fn rekey_is_allowed_exactly_at_rekey_freq() {
    let mut p = pair(3, 8);
    say(&mut p, true, "1");
    say(&mut p, false, "2");
    p.drive();
    assert!(!p.alice.ep.may_rekey() && !p.bob.ep.may_rekey());
    say(&mut p, true, "3");
    p.drive();
    assert!(p.alice.ep.may_rekey() && p.bob.ep.may_rekey());
    p.alice.ep.rekey(p.now).unwrap();
    p.alice.collect();
    p.drive();
    no_failures(&p);
    // The count restarts at the key exchange.
    assert!(!p.alice.ep.may_rekey() && !p.bob.ep.may_rekey());
}

#[test]
fn block_limit_terminates_the_session() {
    let mut p = pair(u32::MAX, 9);
    p.alice.ep.exhaust_send_key(70);
    let long = "x".repeat(16 * 20);
    assert_eq!(
        p.alice.ep.send(p.now, message(&long)),
        Err(Error::KeyExhausted)
    );
    p.alice.collect();
    p.drive();
    // D42: the terminate went out (it fits into the reserve) and was acknowledged.
    assert!(
        p.alice
            .events
            .contains(&Output::Terminated(TerminationReason::Acknowledged))
    );
    assert!(
        p.bob
            .events
            .contains(&Output::Terminated(TerminationReason::ByPeer))
    );
}

#[test]
fn tampered_key_stanza_is_rejected() {
    let mut p = pair(1, 10);
    say(&mut p, true, "hi");
    p.drive();
    p.alice.ep.rekey(p.now).unwrap();
    p.alice.collect();
    let s = p.alice.outbox.remove(0);
    // Flip one base64 character of <key>.
    let i = s.find("<key>").unwrap() + 10;
    let mut bytes = s.into_bytes();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(bytes).unwrap();
    p.bob.deliver(p.now, &forged);
    assert_eq!(
        p.bob.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::BadStanzaMac))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// In-order delivery with interleaved re-keys from either side always
    /// decrypts (issue 5 proptest).
    #[test]
    /// Ops 6 and 7 re-key with content (`send_with_rekey`).
    fn interleaved_rekeys_always_decrypt(ops in proptest::collection::vec(0u8..8, 1..24), seed in 0u64..1000) {
        let mut p = pair(1, 100 + seed);
        let (mut to_bob, mut to_alice) = (Vec::new(), Vec::new());
        for (i, op) in ops.iter().enumerate() {
            match op {
                0 | 1 => { say(&mut p, true, &format!("a{i}")); to_bob.push(format!("a{i}")); }
                2 | 3 => { say(&mut p, false, &format!("b{i}")); to_alice.push(format!("b{i}")); }
                4 => { if p.alice.ep.may_rekey() { p.alice.ep.rekey(p.now).unwrap(); p.alice.collect(); } }
                5 => { if p.bob.ep.may_rekey() { p.bob.ep.rekey(p.now).unwrap(); p.bob.collect(); } }
                6 => {
                    if p.alice.ep.may_rekey() {
                        p.alice.ep.send_with_rekey(p.now, message(&format!("a{i}k"))).unwrap();
                        p.alice.collect();
                        to_bob.push(format!("a{i}k"));
                    }
                }
                _ => {
                    if p.bob.ep.may_rekey() {
                        p.bob.ep.send_with_rekey(p.now, message(&format!("b{i}k"))).unwrap();
                        p.bob.collect();
                        to_alice.push(format!("b{i}k"));
                    }
                }
            }
            if i % 3 == 2 { p.drive(); }
        }
        p.drive();
        prop_assert!(p.alice.failure().is_none(), "{:?}", p.alice.failure());
        prop_assert!(p.bob.failure().is_none(), "{:?}", p.bob.failure());
        prop_assert_eq!(bodies(&p.bob.received()), to_bob);
        prop_assert_eq!(bodies(&p.alice.received()), to_alice);
    }
}

#[test]
fn replaying_a_key_stanza_or_an_old_stanza_after_a_rekey_is_rejected() {
    let mut p = pair(1, 11);
    say(&mut p, true, "before");
    let before = p.alice.outbox[0].clone();
    p.drive();
    p.alice.ep.rekey(p.now).unwrap();
    p.alice.collect();
    let key_stanza = p.alice.outbox[0].clone();
    p.drive();
    for replay in [key_stanza, before] {
        let mut q = pair(1, 11);
        // Same seed: the same session again; deliver the genuine history, then the replay.
        say(&mut q, true, "before");
        q.drive();
        q.alice.ep.rekey(q.now).unwrap();
        q.alice.collect();
        q.drive();
        q.bob.deliver(q.now, &replay);
        assert_eq!(
            q.bob.failure(),
            Some(&Error::PeerMisbehaved(PeerMisbehaved::BadStanzaMac))
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    /// Any single-byte change to a re-key stanza is rejected: nothing reaches
    /// Bob's application, and the session either ends or goes on under the
    /// genuine keys.
    #[test]
    fn single_byte_changes_to_a_key_stanza_are_rejected(pos in 0usize..4096, byte in any::<u8>()) {
        let mut p = pair(1, 12);
        say(&mut p, true, "hi");
        p.drive();
        p.alice.ep.rekey(p.now).unwrap();
        p.alice.collect();
        let genuine = p.alice.outbox.remove(0);
        let mut bytes = genuine.clone().into_bytes();
        let i = pos % bytes.len();
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
        let Ok(forged) = Stanza::parse(&text) else { return Ok(()) };
        let same_c = forged.encrypted().ok().flatten() == Stanza::parse(&genuine).unwrap().encrypted().unwrap()
            && forged.thread() == Stanza::parse(&genuine).unwrap().thread();
        let received_before = p.bob.received().len();
        let ignored = p.bob.ep.handle_stanza(p.now, forged, &mut p.bob.store).is_err();
        p.bob.collect();
        prop_assert_eq!(p.bob.received().len(), received_before);
        if p.bob.failure().is_none() {
            if ignored {
                // Ignored (another sender or thread, plaintext): the genuine
                // stanza still works.
                p.bob.deliver(p.now, &genuine);
            } else {
                // Accepted: only the unauthenticated envelope changed.
                prop_assert!(same_c);
            }
            say(&mut p, true, "after");
            p.drive();
            prop_assert!(p.bob.failure().is_none(), "{:?}", p.bob.failure());
            prop_assert_eq!(bodies(&p.bob.received()), vec!["hi", "after"]);
        }
    }
}
