#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
//! Every MUST check of the negotiation (XEP-0116 §4.4-§4.8, DECISIONS D7, D26,
//! D44) against a peer whose messages are altered in transit, and proptests:
//! any single-byte change to a negotiation form or an encrypted `<c/>` is
//! rejected, and nothing of it reaches the application.

mod common;

use common::{Pair, field_value, flip_b64, message, replace_value};
use esession_online::{Config, Error, Output, PeerMisbehaved};
use esession_wire::{Negotiation, Stanza};
use proptest::prelude::*;

/// Runs the negotiation up to the message with index `n` (0-based: msg1..msg4),
/// applies `alter` to its text, and delivers it.
fn negotiate_altering(seed: u64, n: usize, alter: impl Fn(&str) -> String) -> Pair {
    let mut p = Pair::new(Config::default(), Config::default(), seed);
    let mut sent = 0;
    loop {
        let (from_alice, text) = if let Some(t) = p.alice.outbox.first().cloned() {
            p.alice.outbox.remove(0);
            (true, t)
        } else if let Some(t) = p.bob.outbox.first().cloned() {
            p.bob.outbox.remove(0);
            (false, t)
        } else if p.bob.ep.accept(p.now).is_ok() {
            p.bob.collect();
            continue;
        } else {
            return p;
        };
        let text = if sent == n { alter(&text) } else { text };
        sent += 1;
        if from_alice {
            p.bob.deliver(p.now, &text);
        } else {
            p.alice.deliver(p.now, &text);
        }
    }
}

fn answer_of(p: &Pair, to_alice: bool) -> bool {
    // The D44 answer is the last carried stanza; it is in the other party's
    // events only as a Rejected failure.
    let party = if to_alice { &p.alice } else { &p.bob };
    matches!(party.failure(), Some(Error::Rejected { .. }))
}

#[test]
fn msg2_choice_not_offered_is_not_acceptable() {
    let p = negotiate_altering(20, 1, |t| replace_value(t, "crypt_algs", "aes256-ctr"));
    assert_eq!(
        p.alice.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::ChoiceNotOffered(
            "crypt_algs".into()
        )))
    );
    assert!(matches!(
        p.bob.failure(),
        Some(Error::Rejected { condition, fields }) if condition == "not-acceptable" && fields == &["crypt_algs"]
    ));
}

#[test]
fn msg2_lower_rekey_freq_is_not_acceptable() {
    let mut alice = Config::default();
    alice.rekey_freq = 1000;
    let mut p = Pair::new(alice, Config::default(), 21);
    p.drive();
    p.bob.ep.accept(p.now).unwrap();
    p.bob.collect();
    let msg2 = p.bob.take_outbox().remove(0);
    assert_eq!(
        field_value(&msg2, "rekey_freq"),
        "4294967295",
        "D21: max of both"
    );
    p.alice
        .deliver(p.now, &replace_value(&msg2, "rekey_freq", "999"));
    assert_eq!(
        p.alice.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::ChoiceNotOffered(
            "rekey_freq".into()
        )))
    );
}

#[test]
fn msg2_echoed_nonce_must_match() {
    let p = negotiate_altering(22, 1, |t| {
        let n = field_value(t, "nonce").to_owned();
        replace_value(t, "nonce", &flip_b64(&n))
    });
    assert_eq!(
        p.alice.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::NonceMismatch))
    );
    assert!(answer_of(&p, false));
}

#[test]
fn msg2_d_out_of_range_is_not_acceptable() {
    for d in ["AQ==", "AA=="] {
        let p = negotiate_altering(23, 1, |t| replace_value(t, "dhkeys", d));
        assert_eq!(
            p.alice.failure(),
            Some(&Error::PeerMisbehaved(PeerMisbehaved::InvalidPublicValue)),
            "d = {d}"
        );
        assert!(matches!(
            p.bob.failure(),
            Some(Error::Rejected { fields, .. }) if fields == &["dhkeys"]
        ));
    }
}

#[test]
fn msg3_e_must_match_he() {
    let p = negotiate_altering(24, 2, |t| {
        let e = field_value(t, "dhkeys").to_owned();
        replace_value(t, "dhkeys", &flip_b64(&e))
    });
    assert_eq!(
        p.bob.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::DhHashMismatch))
    );
    assert!(matches!(
        p.alice.failure(),
        Some(Error::Rejected { condition, .. }) if condition == "feature-not-implemented"
    ));
    assert!(p.bob.store.len_for("alice@example.org") == 0);
}

#[test]
fn msg3_identity_mac_and_nonce_are_checked() {
    let p = negotiate_altering(25, 2, |t| {
        let id = field_value(t, "identity").to_owned();
        replace_value(t, "identity", &flip_b64(&id))
    });
    assert_eq!(
        p.bob.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::BadIdentityMac))
    );
    let p = negotiate_altering(26, 2, |t| {
        let n = field_value(t, "nonce").to_owned();
        replace_value(t, "nonce", &flip_b64(&n))
    });
    assert_eq!(
        p.bob.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::NonceMismatch))
    );
    // An altered rshash changes formA2: M_A still verifies, macA does not.
    let p = negotiate_altering(27, 2, |t| {
        let r = field_value(t, "rshashes").to_owned();
        replace_value(t, "rshashes", &flip_b64(&r))
    });
    assert_eq!(
        p.bob.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::IdentityMismatch))
    );
}

#[test]
fn msg4_checks_and_no_secret_committed_on_failure() {
    for (var, expected) in [
        ("nonce", PeerMisbehaved::NonceMismatch),
        ("mac", PeerMisbehaved::BadIdentityMac),
        // No SRS on either side: the keys agree, but formB2 (and so macB) differs.
        ("srshash", PeerMisbehaved::IdentityMismatch),
    ] {
        let p = negotiate_altering(28, 3, |t| {
            let v = field_value(t, var).to_owned();
            replace_value(t, var, &flip_b64(&v))
        });
        assert_eq!(
            p.alice.failure(),
            Some(&Error::PeerMisbehaved(expected)),
            "{var}"
        );
        assert_eq!(p.alice.store.len_for("bob@example.com"), 0, "D37");
    }
    let p = negotiate_altering(29, 3, |t| {
        let start = t.find("<field var=\"srshash\">").unwrap();
        let end = start + t[start..].find("</field>").unwrap() + "</field>".len();
        format!("{}{}", &t[..start], &t[end..])
    });
    assert_eq!(
        p.alice.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::MissingField(
            "srshash"
        )))
    );
}

#[test]
fn three_message_request_is_feature_not_implemented() {
    // A msg1 carrying dhkeys instead of dhhashes (D46) is refused (D44).
    let p = negotiate_altering(30, 0, |t| {
        let start = t.find("<field type=\"hidden\" var=\"dhhashes\">").unwrap();
        let end = start + t[start..].find("</field>").unwrap() + "</field>".len();
        format!(
            "{}<field type=\"hidden\" var=\"dhkeys\"><value>Ag==</value><value>Aw==</value></field>{}",
            &t[..start],
            &t[end..]
        )
    });
    assert_eq!(
        p.bob.failure(),
        Some(&Error::PeerMisbehaved(
            PeerMisbehaved::ThreeMessageRequested
        ))
    );
    assert!(matches!(
        p.alice.failure(),
        Some(Error::Rejected { condition, fields }) if condition == "feature-not-implemented" && fields == &["dhkeys"]
    ));
}

#[test]
fn unknown_form_type_is_service_unavailable_and_bad_field_not_acceptable() {
    let p = negotiate_altering(31, 0, |t| t.replacen("urn:xmpp:ssn", "urn:xmpp:other", 1));
    assert!(matches!(
        p.alice.failure(),
        Some(Error::Rejected { condition, .. }) if condition == "service-unavailable"
    ));
    let p = negotiate_altering(32, 0, |t| replace_value(t, "my_nonce", "AAAA"));
    assert!(matches!(
        p.alice.failure(),
        Some(Error::Rejected { condition, fields }) if condition == "not-acceptable" && fields == &["my_nonce"]
    ));
}

#[test]
fn terminate_content_is_the_d43_form() {
    // D43 gives m byte for byte; this is what Endpoint::terminate encrypts.
    let wire = Negotiation::Terminate.to_wire().unwrap();
    let mut s = Stanza::message("bob@example.com/laptop", "t");
    s.push_negotiation(&wire);
    assert_eq!(
        s.encryptable_content(),
        "<feature xmlns=\"http://jabber.org/protocol/feature-neg\"><x xmlns=\"jabber:x:data\" type=\"submit\"><field var=\"FORM_TYPE\"><value>urn:xmpp:ssn</value></field><field var=\"terminate\"><value>1</value></field></x></feature>"
    );
}

fn mutate(text: &str, region: (usize, usize), pick: usize, byte: u8) -> Option<String> {
    let (start, end) = region;
    let i = start + pick % (end - start);
    let mut bytes = text.as_bytes().to_vec();
    if bytes[i] == byte {
        return None;
    }
    bytes[i] = byte;
    String::from_utf8(bytes).ok()
}

fn region(text: &str, open: &str, close: &str) -> (usize, usize) {
    let start = text.find(open).unwrap();
    let end = text.rfind(close).unwrap() + close.len();
    (start, end)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any single-byte change inside msg1..msg4's form is rejected: the
    /// negotiation never completes with the altered message.
    #[test]
    fn any_altered_negotiation_form_is_rejected(
        seed in 100u64..10_000,
        n in 0usize..4,
        pick in any::<usize>(),
        byte in 0x20u8..0x7f,
    ) {
        let altered = std::cell::Cell::new(false);
        let p = negotiate_altering(seed, n, |t| {
            let r = if t.contains("<init") {
                region(t, "<init", "</init>")
            } else {
                region(t, "<feature", "</feature>")
            };
            match mutate(t, r, pick, byte) {
                Some(m) if Stanza::parse(&m).is_ok() => {
                    altered.set(true);
                    m
                }
                _ => t.to_owned(),
            }
        });
        prop_assume!(altered.get());
        prop_assert!(
            !(p.alice.ep.is_established() && p.bob.ep.is_established()),
            "an altered message {} was accepted",
            n + 1
        );
        // If both sides reported a SAS, it must differ: users would notice.
        if let (Some(a), Some(b)) = (p.alice.sas(), p.bob.sas()) {
            prop_assert!(a != b || p.alice.failure().is_some() || p.bob.failure().is_some());
        }
    }

    /// Any single-byte change inside an encrypted `<c/>` is rejected and
    /// nothing of it reaches Bob's application.
    #[test]
    fn any_altered_encrypted_stanza_is_rejected(
        seed in 100u64..10_000,
        pick in any::<usize>(),
        byte in 0x20u8..0x7f,
    ) {
        let mut p = Pair::new(Config::default(), Config::default(), seed);
        p.negotiate();
        p.alice.ep.send(p.now, message("attack at dawn")).unwrap();
        p.alice.collect();
        let wire = p.alice.take_outbox().remove(0);
        let Some(m) = mutate(&wire, region(&wire, "<c ", "</c>"), pick, byte) else {
            return Ok(());
        };
        let Ok(stanza) = Stanza::parse(&m) else { return Ok(()) };
        let result = p.bob.ep.handle_stanza(p.now, stanza, &mut p.bob.store);
        p.bob.collect();
        prop_assert!(p.bob.received().is_empty());
        prop_assert!(result.is_err() || p.bob.failure().is_some());
        prop_assert!(!p.bob.events.iter().any(|e| matches!(e, Output::Received(_))));
    }
}

#[test]
fn bob_answers_otr_under_the_same_name() {
    // D20: an older client sends otr (false/true) instead of logging.
    let mut p = Pair::new(Config::default(), Config::default(), 33);
    let msg1 = p.alice.take_outbox().remove(0);
    let otr = msg1.replacen(
        "var=\"logging\"><option><value>may</value></option><option><value>mustnot</value></option>",
        "var=\"otr\"><option><value>true</value></option><option><value>false</value></option>",
        1,
    );
    assert_ne!(otr, msg1);
    p.bob.deliver(p.now, &otr);
    p.bob.ep.accept(p.now).unwrap();
    p.bob.collect();
    let msg2 = p.bob.take_outbox().remove(0);
    assert!(
        msg2.contains("<field var=\"otr\"><value>true</value></field>"),
        "{msg2}"
    );
    assert!(!msg2.contains("var=\"logging\""));
}

#[test]
fn debug_output_shows_no_secrets() {
    let mut c = Config::default();
    c.shared_password = Some(esession_online::SharedPassword::new("hunter2"));
    assert!(!format!("{c:?}").contains("hunter2"));
    let mut p = Pair::new(c.clone(), c, 34);
    p.negotiate();
    let shown = format!("{:?} {:?}", p.alice.ep, p.bob.ep);
    assert!(
        shown.contains("active") && !shown.contains("hunter2"),
        "{shown}"
    );
}
