#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
//! Public-key identities (XEP-0116 §4.5.4, §4.6.3, §8.5; DECISIONS D27-D31):
//! rsa-sha256 and dsa-sha256 in `key` and `hash` modes, and the trust store.

use std::time::{Duration, SystemTime};

use esession_crypto::sign::{SignAlg, SigningKey};
use esession_online::{
    Config, Endpoint, Error, IdentityKey, KeyStatus, MemoryStore, Output, PeerKey, PeerMisbehaved,
    PubkeyMode, SessionStore, fingerprint_of, fingerprint_of_key,
};
use esession_wire::{Element, Stanza, StanzaKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const ALICE: &str = "alice@example.org/pda";
const BOB: &str = "bob@example.com/laptop";

struct Side {
    jid: &'static str,
    ep: Endpoint<ChaCha20Rng>,
    trust: MemoryStore,
    events: Vec<Output>,
    outbox: Vec<String>,
    /// Everything this side sent, in order.
    sent: Vec<String>,
}

impl Side {
    fn collect(&mut self) {
        while let Some(o) = self.ep.poll_output() {
            match o {
                Output::Send(mut s) => {
                    s.set_attr("from", self.jid);
                    self.outbox.push(s.to_xml());
                    self.sent.push(s.to_xml());
                }
                other => self.events.push(other),
            }
        }
    }
    fn deliver(&mut self, now: SystemTime, text: &str) {
        let s = Stanza::parse(text).unwrap();
        let _ = self.ep.handle_stanza(now, s, &mut self.trust);
        self.collect();
    }
    fn peer_key(&self) -> Option<&PeerKey> {
        self.events.iter().find_map(|e| match e {
            Output::PeerKey(k) => Some(k),
            _ => None,
        })
    }
    fn failure(&self) -> Option<&Error> {
        self.events.iter().find_map(|e| match e {
            Output::Failed(x) => Some(x),
            _ => None,
        })
    }
    fn established(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Output::Established(_)))
    }
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Runs a whole negotiation between fresh endpoints with these configs and
/// trust stores, Bob accepting; then one message each way if established.
fn session(
    alice_cfg: Config,
    bob_cfg: Config,
    alice_trust: MemoryStore,
    bob_trust: MemoryStore,
    seed: u64,
) -> (Side, Side) {
    let mut a = Side {
        jid: ALICE,
        ep: Endpoint::initiate(
            alice_cfg,
            ChaCha20Rng::seed_from_u64(seed),
            now(),
            "bob@example.com",
        )
        .unwrap(),
        trust: alice_trust,
        events: Vec::new(),
        outbox: Vec::new(),
        sent: Vec::new(),
    };
    let mut b = Side {
        jid: BOB,
        ep: Endpoint::responder(bob_cfg, ChaCha20Rng::seed_from_u64(seed + 7)).unwrap(),
        trust: bob_trust,
        events: Vec::new(),
        outbox: Vec::new(),
        sent: Vec::new(),
    };
    a.collect();
    let mut accepted = false;
    for _ in 0..10 {
        for s in std::mem::take(&mut a.outbox) {
            b.deliver(now(), &s);
        }
        if !accepted && b.events.iter().any(|e| matches!(e, Output::Requested(_))) {
            accepted = true;
            b.ep.accept(now()).unwrap();
            b.collect();
        }
        for s in std::mem::take(&mut b.outbox) {
            a.deliver(now(), &s);
        }
    }
    if a.ep.is_established() && b.ep.is_established() {
        let mut m = Stanza::new(StanzaKind::Message);
        m.push(Element::new("body", "jabber:client").with_text("signed hello"));
        a.ep.send(now(), m).unwrap();
        a.collect();
        for s in std::mem::take(&mut a.outbox) {
            b.deliver(now(), &s);
        }
        assert!(
            b.events
                .iter()
                .any(|e| matches!(e, Output::Received(s) if s.to_xml().contains("signed hello")))
        );
    }
    (a, b)
}

fn key(alg: SignAlg, seed: u64) -> IdentityKey {
    IdentityKey::new(signing_key(alg, seed))
}

fn signing_key(alg: SignAlg, seed: u64) -> SigningKey {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    match alg {
        SignAlg::RsaSha256 => SigningKey::generate_rsa(2048, &mut rng).unwrap(),
        other => SigningKey::generate(other, &mut rng).unwrap(),
    }
}

fn cfg(init: &[PubkeyMode], resp: &[PubkeyMode], k: Option<IdentityKey>) -> Config {
    let mut c = Config::default();
    c.init_pubkey = init.to_vec();
    c.resp_pubkey = resp.to_vec();
    c.identity_key = k;
    c
}

use PubkeyMode::{Hash, Key, None as NoKey};

#[test]
fn rsa_keys_in_key_mode_both_ways_and_trust_on_second_session() {
    let (sa, sb) = (
        signing_key(SignAlg::RsaSha256, 1),
        signing_key(SignAlg::RsaSha256, 2),
    );
    let (va, vb) = (sa.verifying_key(), sb.verifying_key());
    let (ka, kb) = (IdentityKey::new(sa), IdentityKey::new(sb));
    let alice_cfg = cfg(&[Key], &[Key], Some(ka.clone()));
    let bob_cfg = cfg(&[Key, NoKey], &[Key, NoKey], Some(kb.clone()));
    let (mut a, mut b) = session(
        alice_cfg.clone(),
        bob_cfg.clone(),
        MemoryStore::new(),
        MemoryStore::new(),
        10,
    );
    assert!(
        a.established() && b.established(),
        "{:?} {:?}",
        a.failure(),
        b.failure()
    );
    let msg1 = &a.events; // msg1 offered the rsa-sha256 URI; msg2 chose key/key
    assert!(msg1.iter().any(|e| matches!(e, Output::Established(x)
        if x.negotiated.init_pubkey == Key && x.negotiated.resp_pubkey == Key
            && x.negotiated.sign_alg == Some(SignAlg::RsaSha256))));
    let pa = a.peer_key().unwrap().clone();
    let pb = b.peer_key().unwrap().clone();
    assert_eq!(pa.status, KeyStatus::New);
    assert_eq!(pa.jid, "bob@example.com");
    assert_eq!(pa.key, kb.key_bytes().unwrap());
    assert_eq!(pb.key, ka.key_bytes().unwrap());
    assert!(pa.key.starts_with(b"<KeyValue><RSAKeyValue><Modulus>"));
    // The fingerprint reported for the key that crossed the wire is the one
    // `fingerprint_of_key` gives for the signer's own key (what `esession
    // keygen` prints), and it is SHA-256 of the received pubKey bytes.
    assert_eq!(pa.fingerprint, fingerprint_of_key(&vb).unwrap());
    assert_eq!(pb.fingerprint, fingerprint_of_key(&va).unwrap());
    assert_eq!(pa.fingerprint, fingerprint_of(&pa.key));
    // The users accept the keys; the next session reports them as trusted.
    a.ep.trust_peer_key("Bob's laptop", &mut a.trust).unwrap();
    b.ep.trust_peer_key("Alice's pda", &mut b.trust).unwrap();
    let (a2, b2) = session(alice_cfg, bob_cfg, a.trust, b.trust, 11);
    assert_eq!(
        a2.peer_key().unwrap().status,
        KeyStatus::Trusted {
            petname: "Bob's laptop".into()
        }
    );
    assert_eq!(
        b2.peer_key().unwrap().status,
        KeyStatus::Trusted {
            petname: "Alice's pda".into()
        }
    );
}

#[test]
fn dsa_key_for_bob_only() {
    let kb = key(SignAlg::DsaSha256, 3);
    let (a, b) = session(
        cfg(&[NoKey], &[Key], None),
        cfg(&[NoKey], &[Key], Some(kb.clone())),
        MemoryStore::new(),
        MemoryStore::new(),
        12,
    );
    assert!(
        a.established() && b.established(),
        "{:?} {:?}",
        a.failure(),
        b.failure()
    );
    assert_eq!(a.peer_key().unwrap().key, kb.key_bytes().unwrap());
    assert!(
        a.peer_key()
            .unwrap()
            .key
            .starts_with(b"<KeyValue><DSAKeyValue><P>")
    );
    assert!(b.peer_key().is_none());
}

#[test]
fn hash_mode_substitutes_the_stored_key_and_fails_without_one() {
    let kb = key(SignAlg::RsaSha256, 4);
    let mut trusted = MemoryStore::new();
    trusted
        .trust_key(
            "bob@example.com",
            esession_online::TrustedKey {
                key: kb.key_bytes().unwrap(),
                petname: "bob".into(),
            },
        )
        .unwrap();
    let (a, b) = session(
        cfg(&[NoKey], &[Hash], None),
        cfg(&[NoKey], &[Hash], Some(kb.clone())),
        trusted,
        MemoryStore::new(),
        13,
    );
    assert!(
        a.established() && b.established(),
        "{:?} {:?}",
        a.failure(),
        b.failure()
    );
    assert_eq!(
        a.peer_key().unwrap().status,
        KeyStatus::Trusted {
            petname: "bob".into()
        }
    );
    // D30: no stored key => terminate.
    let (a, b) = session(
        cfg(&[NoKey], &[Hash], None),
        cfg(&[NoKey], &[Hash], Some(kb)),
        MemoryStore::new(),
        MemoryStore::new(),
        14,
    );
    assert_eq!(
        a.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::UnknownKey))
    );
    assert!(!a.established());
    // Alice answered feature-not-implemented (D44 msg4 row): Bob's session ends.
    assert!(b.failure().is_some());
}

#[test]
fn alice_hash_mode_identity_is_checked_by_bob() {
    let ka = key(SignAlg::RsaSha256, 5);
    let mut bob_trust = MemoryStore::new();
    bob_trust
        .trust_key(
            "alice@example.org",
            esession_online::TrustedKey {
                key: ka.key_bytes().unwrap(),
                petname: "alice".into(),
            },
        )
        .unwrap();
    let (a, b) = session(
        cfg(&[Hash], &[NoKey], Some(ka)),
        cfg(&[Hash], &[NoKey], None),
        MemoryStore::new(),
        bob_trust,
        15,
    );
    assert!(
        a.established() && b.established(),
        "{:?} {:?}",
        a.failure(),
        b.failure()
    );
    assert!(matches!(
        b.peer_key().unwrap().status,
        KeyStatus::Trusted { .. }
    ));
}

#[test]
fn changed_key_and_key_known_for_another_jid_are_reported() {
    let (old, new) = (key(SignAlg::RsaSha256, 6), key(SignAlg::RsaSha256, 7));
    let mut t = MemoryStore::new();
    t.trust_key(
        "bob@example.com",
        esession_online::TrustedKey {
            key: old.key_bytes().unwrap(),
            petname: "old".into(),
        },
    )
    .unwrap();
    let (a, _b) = session(
        cfg(&[NoKey], &[Key], None),
        cfg(&[NoKey], &[Key], Some(new.clone())),
        t,
        MemoryStore::new(),
        16,
    );
    assert!(
        matches!(&a.peer_key().unwrap().status, KeyStatus::Changed { previous } if previous[0].petname == "old")
    );
    // The application aborts: the session is terminated.
    let mut a = a;
    a.ep.reject_peer_key(now()).unwrap();
    a.collect();
    assert!(!a.ep.is_established());

    let mut t = MemoryStore::new();
    t.trust_key(
        "carol@example.net",
        esession_online::TrustedKey {
            key: new.key_bytes().unwrap(),
            petname: "carol".into(),
        },
    )
    .unwrap();
    let (a, _b) = session(
        cfg(&[NoKey], &[Key], None),
        cfg(&[NoKey], &[Key], Some(new)),
        t,
        MemoryStore::new(),
        17,
    );
    assert_eq!(
        a.peer_key().unwrap().status,
        KeyStatus::KnownForOtherJids {
            jids: vec!["carol@example.net".into()]
        }
    );
}

#[test]
fn bob_without_a_matching_key_cannot_choose_a_key_mode() {
    // Alice requires Bob's key (resp_pubkey key only) but Bob has a DSA key
    // and Alice accepts rsa-sha256 only: not-acceptable naming resp_pubkey.
    let mut alice = cfg(&[NoKey], &[Key], None);
    alice.sign_algs = vec![SignAlg::RsaSha256];
    let (a, b) = session(
        alice,
        cfg(&[NoKey], &[Key], Some(key(SignAlg::DsaSha256, 8))),
        MemoryStore::new(),
        MemoryStore::new(),
        18,
    );
    assert_eq!(
        b.failure(),
        Some(&Error::NoAcceptableOption(vec!["resp_pubkey".into()]))
    );
    assert!(
        matches!(a.failure(), Some(Error::Rejected { fields, .. }) if fields == &["resp_pubkey"])
    );
}

#[test]
fn ecdsa_only_when_configured() {
    // E4: ecdsa-sha256 is never offered by default.
    let k = key(SignAlg::EcdsaSha256, 9);
    assert!(
        Endpoint::initiate(
            cfg(&[Key], &[NoKey], Some(k.clone())),
            ChaCha20Rng::seed_from_u64(1),
            now(),
            "bob@example.com"
        )
        .is_err()
    );
    let mut alice = cfg(&[Key], &[NoKey], Some(k));
    alice.sign_algs = vec![SignAlg::EcdsaSha256];
    let mut bob = cfg(&[Key], &[NoKey], None);
    bob.sign_algs = vec![SignAlg::EcdsaSha256];
    let (a, b) = session(alice, bob, MemoryStore::new(), MemoryStore::new(), 19);
    assert!(
        a.established() && b.established(),
        "{:?} {:?}",
        a.failure(),
        b.failure()
    );
    assert!(b.peer_key().is_some());
}

fn three(mut c: Config) -> Config {
    c.three_message = true;
    c
}

#[test]
fn three_message_sigma_i_with_rsa_keys_both_ways() {
    let (ka, kb) = (key(SignAlg::RsaSha256, 30), key(SignAlg::RsaSha256, 31));
    let (a, b) = session(
        three(cfg(&[Key], &[Key], Some(ka.clone()))),
        three(cfg(&[Key], &[Key], Some(kb.clone()))),
        MemoryStore::new(),
        MemoryStore::new(),
        32,
    );
    assert!(
        a.established() && b.established(),
        "{:?} {:?}",
        a.failure(),
        b.failure()
    );
    // msg1 (dhkeys, no dhhashes, no sas_algs), msg2 (with identity and mac),
    // msg3 (FORM_TYPE, accept, nonce, identity, mac), then the test message.
    assert_eq!(a.sent.len(), 3, "msg1, msg3 and one message");
    assert_eq!(b.sent.len(), 1, "msg2");
    let msg1 = &a.sent[0];
    assert!(msg1.contains("var=\"dhkeys\"") && !msg1.contains("dhhashes"));
    assert!(!msg1.contains("sas_algs") && !msg1.contains("<value>none</value></option>"));
    let msg2 = &b.sent[0];
    assert!(msg2.contains("var=\"identity\"") && msg2.contains("var=\"mac\""));
    assert!(!msg2.contains("sas_alg"));
    let msg3 = &a.sent[1];
    assert!(!msg3.contains("dhkeys") && !msg3.contains("rshashes"));
    // No SAS in SIGMA-I; the keys identify both sides.
    assert!(
        !a.events
            .iter()
            .any(|e| matches!(e, Output::SasReady { .. }))
    );
    assert!(
        !b.events
            .iter()
            .any(|e| matches!(e, Output::SasReady { .. }))
    );
    assert_eq!(a.peer_key().unwrap().key, kb.key_bytes().unwrap());
    assert_eq!(b.peer_key().unwrap().key, ka.key_bytes().unwrap());
}

#[test]
fn three_message_with_a_dsa_hash_mode_responder() {
    let (ka, kb) = (key(SignAlg::DsaSha256, 33), key(SignAlg::DsaSha256, 34));
    let mut alice_trust = MemoryStore::new();
    alice_trust
        .trust_key(
            "bob@example.com",
            esession_online::TrustedKey {
                key: kb.key_bytes().unwrap(),
                petname: "bob".into(),
            },
        )
        .unwrap();
    let (a, b) = session(
        three(cfg(&[Key], &[Hash], Some(ka))),
        three(cfg(&[Key], &[Hash, Key], Some(kb))),
        alice_trust,
        MemoryStore::new(),
        35,
    );
    assert!(
        a.established() && b.established(),
        "{:?} {:?}",
        a.failure(),
        b.failure()
    );
    assert!(matches!(
        a.peer_key().unwrap().status,
        KeyStatus::Trusted { .. }
    ));
}

#[test]
fn three_message_forbids_pubkey_none_and_bob_may_refuse_it() {
    // D46: pubkey none is forbidden.
    assert!(matches!(
        three(cfg(&[NoKey], &[Key], None)).validate(),
        Err(Error::Config(_))
    ));
    // A Bob without three_message answers feature-not-implemented dhkeys (D44).
    let ka = key(SignAlg::RsaSha256, 36);
    let (a, b) = session(
        three(cfg(&[Key], &[Key], Some(ka))),
        cfg(&[Key], &[Key], Some(key(SignAlg::RsaSha256, 37))),
        MemoryStore::new(),
        MemoryStore::new(),
        38,
    );
    assert_eq!(
        b.failure(),
        Some(&Error::PeerMisbehaved(
            PeerMisbehaved::ThreeMessageRequested
        ))
    );
    assert!(
        matches!(a.failure(), Some(Error::Rejected { condition, fields })
        if condition == "feature-not-implemented" && fields == &["dhkeys"])
    );
}

#[test]
fn three_message_refuses_a_bob_signature_made_with_another_key() {
    // Alice trusts Bob's key in hash mode, but the Bob she reaches holds a
    // different key: the fingerprint matches nothing stored (D30).
    let ka = key(SignAlg::RsaSha256, 39);
    let mut alice_trust = MemoryStore::new();
    alice_trust
        .trust_key(
            "bob@example.com",
            esession_online::TrustedKey {
                key: key(SignAlg::RsaSha256, 40).key_bytes().unwrap(),
                petname: "real bob".into(),
            },
        )
        .unwrap();
    let (a, b) = session(
        three(cfg(&[Key], &[Hash], Some(ka))),
        three(cfg(&[Key], &[Hash], Some(key(SignAlg::RsaSha256, 41)))),
        alice_trust,
        MemoryStore::new(),
        42,
    );
    assert_eq!(
        a.failure(),
        Some(&Error::PeerMisbehaved(PeerMisbehaved::UnknownKey))
    );
    assert!(!a.established() && !b.established());
}

/// Object encryption (XEP-0116 §4.6.4): msg3 carries the 3-message accept,
/// the encrypted content and, optionally, the terminate field.
fn object_session(terminate: bool) -> (Side, Side) {
    object_session_edited(terminate, str::to_owned)
}

/// [`object_session`] with msg3 edited in transit by `edit`.
fn object_session_edited(terminate: bool, edit: impl Fn(&str) -> String) -> (Side, Side) {
    let (ka, kb) = (key(SignAlg::RsaSha256, 50), key(SignAlg::RsaSha256, 51));
    let mut a = Side {
        jid: ALICE,
        ep: Endpoint::initiate(
            three(cfg(&[Key], &[Key], Some(ka))),
            ChaCha20Rng::seed_from_u64(52),
            now(),
            "bob@example.com",
        )
        .unwrap(),
        trust: MemoryStore::new(),
        events: Vec::new(),
        outbox: Vec::new(),
        sent: Vec::new(),
    };
    let mut b = Side {
        jid: BOB,
        ep: Endpoint::responder(
            three(cfg(&[Key], &[Key], Some(kb))),
            ChaCha20Rng::seed_from_u64(53),
        )
        .unwrap(),
        trust: MemoryStore::new(),
        events: Vec::new(),
        outbox: Vec::new(),
        sent: Vec::new(),
    };
    a.collect();
    let mut m = Stanza::new(StanzaKind::Message);
    m.push(Element::new("body", "jabber:client").with_text("sealed object"));
    a.ep.send_with_accept(m, terminate).unwrap();
    for s in std::mem::take(&mut a.outbox) {
        b.deliver(now(), &s);
    }
    b.ep.accept(now()).unwrap();
    b.collect();
    for s in std::mem::take(&mut b.outbox) {
        a.deliver(now(), &s);
    }
    for s in std::mem::take(&mut a.outbox) {
        b.deliver(now(), &edit(&s));
    }
    (a, b)
}

/// D46: formA2 covers the terminate field of an object-encryption msg3, so
/// one added or removed in transit fails macA: Bob establishes nothing,
/// delivers nothing and does not report a termination.
#[test]
fn an_object_msg3_whose_terminate_field_changed_in_transit_is_rejected() {
    const FIELD: &str = r#"<field var="terminate"><value>1</value></field>"#;
    let removed = |m: &str| {
        assert!(m.contains(FIELD));
        m.replace(FIELD, "")
    };
    let added = |m: &str| {
        let at = m.find(r#"<field var="identity">"#).unwrap();
        format!("{}{FIELD}{}", &m[..at], &m[at..])
    };
    type Edit<'a> = &'a dyn Fn(&str) -> String;
    let cases: [(bool, Edit<'_>); 2] = [(true, &removed), (false, &added)];
    for (terminate, edit) in cases {
        let (_, b) = object_session_edited(terminate, edit);
        assert!(
            matches!(
                b.failure(),
                Some(Error::PeerMisbehaved(PeerMisbehaved::IdentityMismatch))
            ),
            "terminate {terminate}: {:?}",
            b.failure()
        );
        assert!(!b.established());
        assert!(
            !b.events
                .iter()
                .any(|e| matches!(e, Output::Received(_) | Output::Terminated(_)))
        );
    }
}

#[test]
fn object_encryption_in_msg3_with_and_without_terminate() {
    for terminate in [false, true] {
        let (a, b) = object_session(terminate);
        assert!(
            a.failure().is_none() && b.failure().is_none(),
            "{:?} {:?}",
            a.failure(),
            b.failure()
        );
        let msg3 = &a.sent[1];
        assert!(msg3.contains("<c xmlns=\"http://www.xmpp.org/extensions/xep-0200.html#ns\">"));
        assert!(!msg3.contains("sealed object"));
        assert_eq!(msg3.contains("var=\"terminate\""), terminate);
        assert!(b.events.iter().any(
            |e| matches!(e, Output::Received(s) if s.to_xml().contains("<body>sealed object</body>"))
        ));
        assert!(b.established());
        assert_eq!(b.ep.is_closed(), terminate);
        assert_eq!(a.ep.is_closed(), terminate);
        assert_eq!(
            b.events.contains(&Output::Terminated(
                esession_online::TerminationReason::ByPeer
            )),
            terminate
        );
    }
}

#[test]
fn object_encryption_needs_the_3_message_exchange() {
    let mut a = Endpoint::initiate(
        Config::default(),
        ChaCha20Rng::seed_from_u64(54),
        now(),
        "bob@example.com",
    )
    .unwrap();
    let m = Stanza::new(StanzaKind::Message);
    assert!(matches!(
        a.send_with_accept(m, true),
        Err(Error::InvalidState(_))
    ));
}
