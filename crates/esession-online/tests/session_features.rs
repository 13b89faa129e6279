#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
//! Plain stanza session fallback (XEP-0116 §4.4, XEP-0155), version
//! negotiation (D25), zlib compression (XEP-0200 §6), presence and iq content.

mod common;

use common::{Pair, message};
use esession_online::{Compression, Config, Error, Output, TerminationReason};
use esession_wire::{Element, Stanza, StanzaKind};

fn with_security(security: &[&str]) -> Config {
    let mut c = Config::default();
    c.security = security.iter().map(|s| (*s).to_owned()).collect();
    c
}

#[test]
fn c2s_fallback_is_a_plain_stanza_session() {
    // Bob is unwilling to start an ESession (no e2e) but accepts c2s.
    let mut p = Pair::new(with_security(&["e2e", "c2s"]), with_security(&["c2s"]), 1);
    let carried = p.negotiate();
    assert_eq!(carried.len(), 2, "request and the plain accept");
    assert!(
        carried[1]
            .1
            .contains("<field var=\"security\"><value>c2s</value></field>")
    );
    assert!(!carried[1].1.contains("dhkeys"));
    assert!(
        p.bob
            .events
            .iter()
            .any(|e| matches!(e, Output::PlainRequested(s) if s.security == "c2s"))
    );
    for side in [&p.alice, &p.bob] {
        assert!(side.ep.is_plain() && !side.ep.is_established());
        assert!(
            side.events
                .iter()
                .any(|e| matches!(e, Output::PlainEstablished(s) if s.security == "c2s"))
        );
    }
    p.alice.ep.send(p.now, message("in the clear")).unwrap();
    p.alice.collect();
    assert!(p.alice.outbox[0].contains("<body>in the clear</body>"));
    p.drive();
    assert_eq!(p.bob.received().len(), 1);
    p.bob.ep.terminate(p.now).unwrap();
    p.bob.collect();
    p.drive();
    assert!(p.alice.ep.is_closed());
    assert!(
        p.alice
            .events
            .contains(&Output::Terminated(TerminationReason::ByPeer))
    );
}

#[test]
fn e2e_is_preferred_when_both_allow_it_and_none_without_fallback_is_rejected() {
    let mut p = Pair::new(
        with_security(&["e2e", "none"]),
        with_security(&["e2e", "none"]),
        2,
    );
    p.negotiate();
    assert!(p.alice.ep.is_established() && p.bob.ep.is_established());
    // Alice allows only e2e; Bob only c2s: not-acceptable naming security.
    let mut p = Pair::new(Config::default(), with_security(&["c2s"]), 3);
    p.drive();
    assert_eq!(
        p.bob.failure(),
        Some(&Error::NoAcceptableOption(vec!["security".into()]))
    );
}

#[test]
fn version_other_than_1_0_is_not_acceptable() {
    // D25: a request without ver 1.0 gets not-acceptable naming ver.
    let mut p = Pair::new(Config::default(), Config::default(), 4);
    let msg1 = p.alice.take_outbox().remove(0);
    let forged = msg1.replace(
        "<field type=\"list-single\" var=\"ver\"><option><value>1.0</value></option></field>",
        "<field type=\"list-single\" var=\"ver\"><option><value>1.3</value></option><option><value>1.2</value></option></field>",
    );
    assert_ne!(forged, msg1);
    p.bob.deliver(p.now, &forged);
    assert_eq!(
        p.bob.failure(),
        Some(&Error::NoAcceptableOption(vec!["ver".into()]))
    );
    assert!(p.bob.outbox[0].contains("<field var=\"ver\"/>"));
}

#[test]
fn zlib_compression_is_negotiated_and_used() {
    let mut z = Config::default();
    z.compress = vec![Compression::Zlib, Compression::None];
    let mut p = Pair::new(z.clone(), z.clone(), 5);
    p.negotiate();
    assert_eq!(
        p.bob.established().unwrap().negotiated.compress,
        Compression::Zlib
    );
    let body = "compressible ".repeat(40);
    p.alice.ep.send(p.now, message(&body)).unwrap();
    p.alice.collect();
    let wire = p.alice.outbox[0].clone();
    let data = Stanza::parse(&wire)
        .unwrap()
        .encrypted()
        .unwrap()
        .unwrap()
        .content
        .data
        .unwrap();
    assert!(data.len() < body.len() / 4, "{} bytes", data.len());
    p.drive();
    assert!(p.bob.received()[0].to_xml().contains(&body));
    // Bob without zlib: Alice's second choice, none.
    let mut p = Pair::new(z, Config::default(), 6);
    p.negotiate();
    assert_eq!(
        p.alice.established().unwrap().negotiated.compress,
        Compression::None
    );
}

#[test]
fn presence_and_iq_content_are_encrypted() {
    let mut c = Config::default();
    c.stanzas = vec!["message".into(), "presence".into(), "iq".into()];
    let mut p = Pair::new(c.clone(), c, 7);
    p.negotiate();
    let mut presence = Stanza::new(StanzaKind::Presence);
    presence.push(Element::new("status", "jabber:client").with_text("secret status"));
    p.alice.ep.send(p.now, presence).unwrap();
    let mut iq = Stanza::new(StanzaKind::Iq);
    iq.set_attr("type", "get");
    iq.set_attr("id", "q1");
    iq.push(Element::new("query", "jabber:iq:version"));
    p.alice.ep.send(p.now, iq).unwrap();
    p.alice.collect();
    assert!(!p.alice.outbox.iter().any(|s| s.contains("secret status")));
    assert!(p.alice.outbox[1].starts_with("<iq") && p.alice.outbox[1].contains("id=\"q1\""));
    p.drive();
    let got = p.bob.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].kind(), StanzaKind::Presence);
    assert!(got[0].to_xml().contains("<status>secret status</status>"));
    assert_eq!(got[1].kind(), StanzaKind::Iq);
    assert!(
        got[1]
            .to_xml()
            .contains("<query xmlns=\"jabber:iq:version\"")
    );
}

#[test]
fn two_gajim_profile_endpoints_talk_with_non_ascii_content() {
    let mut g = Config::default();
    g.profile = esession_online::Profile::Gajim;
    let mut p = Pair::new(g.clone(), g, 8);
    p.negotiate();
    assert!(p.alice.ep.is_established() && p.bob.ep.is_established());
    // G5: the SAS is shown unpadded in this profile; both sides agree.
    let sas_of = |events: &[Output]| {
        events.iter().find_map(|e| match e {
            Output::SasReady { sas } => {
                Some(sas.display(esession_online::Profile::Gajim).to_owned())
            }
            _ => None,
        })
    };
    assert_eq!(sas_of(&p.alice.events), sas_of(&p.bob.events));
    for (i, text) in ["café ü", "naïve – ½", "plain"].iter().enumerate() {
        p.alice.ep.send(p.now, message(text)).unwrap();
        p.bob
            .ep
            .send(p.now, message(&format!("{text} {i}")))
            .unwrap();
        p.alice.collect();
        p.bob.collect();
        // G17: the fallback body travels in the clear after <c/>.
        assert!(
            p.alice
                .outbox
                .last()
                .unwrap()
                .contains(esession_online::GAJIM_FALLBACK_BODY)
        );
        p.drive();
    }
    let bodies = |s: &[&Stanza]| -> Vec<String> {
        s.iter()
            .map(|s| s.children().find(|c| c.name() == "body").unwrap().text())
            .collect()
    };
    assert_eq!(
        bodies(&p.bob.received()),
        vec!["café ü", "naïve – ½", "plain"]
    );
    assert_eq!(
        bodies(&p.alice.received()),
        vec!["café ü 0", "naïve – ½ 1", "plain 2"]
    );
    // G9: no re-key; G8: plaintext termination without acknowledgement.
    assert!(!p.alice.ep.may_rekey());
    p.alice.ep.terminate(p.now).unwrap();
    p.alice.collect();
    assert!(!p.alice.outbox[0].contains("<c "));
    p.drive();
    assert!(
        p.bob
            .events
            .contains(&Output::Terminated(TerminationReason::ByPeer))
    );
    assert!(p.bob.outbox.is_empty());
}
