//! Negative cases of the XEP-0200 encrypted session: stanzas replayed,
//! reordered, dropped, reflected, truncated, oversized or forged, plaintext
//! injected, a forged termination, and the counters at the 2^128 wrap.
//!
//! XEP-0200 §6 (D40): a_mac = HMAC(KM, m_content ‖ mpi(C)) is checked before
//! anything is deciphered, with C the receiver's own copy of the sender's
//! counter; a stanza out of sequence is MACed under another C and fails.

use esession_online::{Config, Error, Output, PeerMisbehaved, TestPins};
use esession_wire::limits::MAX_STANZA_BYTES;

use super::harness::{
    ALICE, CaseResult, Pair, check, check_eq, edit, expect_failed, nothing_reached_application,
};

fn bad_mac() -> Error {
    Error::PeerMisbehaved(PeerMisbehaved::BadStanzaMac)
}

/// An established pair; Alice has sent `bodies`, not yet delivered.
fn with_sent(seed: u64, bodies: &[&str]) -> Result<(Pair, Vec<String>), String> {
    let mut p = Pair::default_configs(seed)?;
    p.establish()?;
    let mut sent = Vec::new();
    for b in bodies {
        sent.push(p.alice_sends(b)?);
    }
    Ok((p, sent))
}

fn deliver_to_bob(p: &mut Pair, text: &str) -> CaseResult {
    p.bob.deliver(p.now, text).map_err(|e| e.to_string())
}

/// Bob got `bodies` and then dropped the session over a bad MAC; Alice
/// learns of it through a D44 not-acceptable error.
fn bob_dropped(p: &mut Pair, from: usize, bodies: &[&str]) -> CaseResult {
    check_eq(
        "bodies bob received",
        p.bob.received_bodies(),
        bodies.iter().map(|b| (*b).to_owned()).collect(),
    )?;
    expect_failed("bob", &p.bob, from, &bad_mac())?;
    let answer = p.bob.take_outbox();
    check(
        "bob answers not-acceptable (D44)",
        answer.len() == 1 && answer.iter().all(|a| a.contains("not-acceptable")),
    )?;
    Ok(())
}

/// A stanza delivered twice: the second copy is MACed under the old counter.
pub(crate) fn stanza_replayed(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let s = sent.first().ok_or("nothing sent")?;
    deliver_to_bob(&mut p, s)?;
    let from = p.bob.events.len();
    deliver_to_bob(&mut p, s)?;
    bob_dropped(&mut p, from, &["one"])
}

/// Two stanzas delivered in the opposite order: the second is refused, and
/// the first, arriving after it, finds the session closed.
pub(crate) fn stanzas_reordered(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one", "two"])?;
    let from = p.bob.events.len();
    deliver_to_bob(&mut p, sent.get(1).ok_or("no second")?)?;
    deliver_to_bob(&mut p, sent.first().ok_or("no first")?)?;
    check_eq(
        "returned for the late first stanza",
        p.bob.returned.clone(),
        vec![Error::InvalidState("the session is closed")],
    )?;
    bob_dropped(&mut p, from, &[])
}

/// The first stanza dropped by the network, the second delivered.
pub(crate) fn stanza_dropped(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one", "two"])?;
    let from = p.bob.events.len();
    deliver_to_bob(&mut p, sent.get(1).ok_or("no second")?)?;
    bob_dropped(&mut p, from, &[])
}

/// Alice's own stanza reflected back to her as if from Bob: the direction's
/// keys and counter differ (KM_A vs KM_B, C_A vs C_B).
pub(crate) fn stanza_reflected(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let s = sent.first().ok_or("nothing sent")?;
    let reflected = s
        .replacen(
            "to=\"bob@example.com/laptop\"",
            "to=\"alice@example.org/pda\"",
            1,
        )
        .replacen(
            "from=\"alice@example.org/pda\"",
            "from=\"bob@example.com/laptop\"",
            1,
        );
    let from = p.alice.events.len();
    p.alice
        .deliver(p.now, &reflected)
        .map_err(|e| e.to_string())?;
    expect_failed("alice", &p.alice, from, &bad_mac())
}

/// `<data/>` cut short by one base64 quantum (3 bytes): m_content differs.
pub(crate) fn stanza_data_truncated(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["a message long enough to span blocks"])?;
    let s = sent.first().ok_or("nothing sent")?;
    let data = edit::element_text(s, "data")?;
    let cut = data.get(..data.len().saturating_sub(4)).unwrap_or_default();
    let truncated = edit::set_element_text(s, "data", cut)?;
    let from = p.bob.events.len();
    deliver_to_bob(&mut p, &truncated)?;
    bob_dropped(&mut p, from, &[])
}

/// `<mac/>` cut to its first 16 bytes: a truncated tag never verifies.
pub(crate) fn stanza_mac_truncated(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let s = sent.first().ok_or("nothing sent")?;
    let mac =
        esession_crypto::b64::decode(&edit::element_text(s, "mac")?).map_err(|e| e.to_string())?;
    let short = esession_crypto::b64::encode(mac.get(..16).unwrap_or_default());
    let truncated = edit::set_element_text(s, "mac", &short)?;
    let from = p.bob.events.len();
    deliver_to_bob(&mut p, &truncated)?;
    bob_dropped(&mut p, from, &[])
}

/// The stanza's XML cut in half: it never parses, so it never reaches the
/// endpoint (a typed `esession_wire::Error`); the session goes on and the
/// next stanza... is the genuine one, which still decrypts.
pub(crate) fn stanza_xml_truncated(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let s = sent.first().ok_or("nothing sent")?;
    let half = s.get(..s.len() / 2).ok_or("odd split")?;
    let from = p.bob.events.len();
    match p.bob.deliver(p.now, half) {
        Err(esession_wire::Error::Xml(_)) => {}
        other => return Err(format!("expected a wire Xml error, got {other:?}")),
    }
    nothing_reached_application("bob", &p.bob, from)?;
    check("bob still established", p.bob.ep.is_established())?;
    deliver_to_bob(&mut p, s)?;
    check_eq(
        "bob received",
        p.bob.received_bodies(),
        vec!["one".to_owned()],
    )
}

/// A stanza larger than the wire limit (MAX_STANZA_BYTES): refused by the
/// parser with TooLarge before anything is allocated in proportion to it.
pub(crate) fn stanza_oversized(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let s = sent.first().ok_or("nothing sent")?;
    let huge = "A".repeat(MAX_STANZA_BYTES + 4);
    let big = edit::set_element_text(s, "data", &huge)?;
    let from = p.bob.events.len();
    match p.bob.deliver(p.now, &big) {
        Err(esession_wire::Error::TooLarge { .. }) => {}
        other => return Err(format!("expected a wire TooLarge error, got {other:?}")),
    }
    nothing_reached_application("bob", &p.bob, from)?;
    deliver_to_bob(&mut p, s)?;
    check_eq(
        "bob received",
        p.bob.received_bodies(),
        vec!["one".to_owned()],
    )
}

/// `<data/>` replaced by 150 KiB of other ciphertext (under the wire limit)
/// with the genuine MAC: refused on the MAC before any deciphering.
pub(crate) fn stanza_large_forged_data(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let s = sent.first().ok_or("nothing sent")?;
    let big = esession_crypto::b64::encode(&vec![0x5a; 150 * 1024]);
    let forged = edit::set_element_text(s, "data", &big)?;
    let from = p.bob.events.len();
    deliver_to_bob(&mut p, &forged)?;
    bob_dropped(&mut p, from, &[])
}

/// Bob is handed `injected`: the call returns `error` (the stanza is ignored),
/// nothing reaches the application, the session stays established, and
/// Alice's genuine first stanza still opens after it.
fn ignored_then_genuine_opens(
    p: &mut Pair,
    sent: &[String],
    injected: &str,
    error: Error,
) -> CaseResult {
    let from = p.bob.events.len();
    deliver_to_bob(p, injected)?;
    check_eq("returned", p.bob.returned.clone(), vec![error])?;
    nothing_reached_application("bob", &p.bob, from)?;
    check("bob still established", p.bob.ep.is_established())?;
    deliver_to_bob(p, sent.first().ok_or("nothing sent")?)?;
    check_eq(
        "bob received",
        p.bob.received_bodies(),
        vec!["one".to_owned()],
    )
}

/// A plaintext message with Alice's JID and the session's thread, injected
/// into the encrypted session: ignored (D43), the session goes on.
pub(crate) fn plaintext_injected(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let thread = p.bob.ep.thread().to_owned();
    let fake = format!(
        "<message xmlns=\"jabber:client\" from=\"{ALICE}\" to=\"bob@example.com/laptop\" type=\"chat\"><thread>{thread}</thread><body>transfer all funds</body></message>"
    );
    ignored_then_genuine_opens(&mut p, &sent, &fake, Error::UnexpectedPlaintext)
}

/// An encrypted stanza from another JID with the session's thread: another
/// session's business (WrongSession), nothing delivered, the session goes on.
pub(crate) fn stanza_from_another_jid(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let s = sent.first().ok_or("nothing sent")?;
    let spoofed = s.replacen(
        "from=\"alice@example.org/pda\"",
        "from=\"mallory@example.net/x\"",
        1,
    );
    check("the sender was rewritten", spoofed != *s)?;
    ignored_then_genuine_opens(&mut p, &sent, &spoofed, Error::WrongSession)
}

/// A forged plaintext terminate form (XEP-0155 §7) with the session's thread:
/// ignored in an active ESession (D43); no Terminated event, keys kept.
pub(crate) fn forged_plaintext_terminate(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let thread = p.bob.ep.thread().to_owned();
    let fake = format!(
        "<message xmlns=\"jabber:client\" from=\"{ALICE}\" to=\"bob@example.com/laptop\"><thread>{thread}</thread><feature xmlns=\"http://jabber.org/protocol/feature-neg\"><x xmlns=\"jabber:x:data\" type=\"submit\"><field var=\"FORM_TYPE\"><value>urn:xmpp:ssn</value></field><field var=\"terminate\"><value>1</value></field></x></feature></message>"
    );
    ignored_then_genuine_opens(&mut p, &sent, &fake, Error::UnexpectedPlaintext)
}

/// Alice's genuine encrypted terminate from an earlier session between the
/// same two, replayed into a new session (thread rewritten): it is MACed
/// under the old keys, so Bob drops it and reports no termination.
pub(crate) fn terminate_from_another_session(seed: u64) -> CaseResult {
    let mut old = Pair::default_configs(seed)?;
    old.establish()?;
    old.alice.ep.terminate(old.now).map_err(|e| e.to_string())?;
    old.alice.collect();
    let terminate = old
        .alice
        .take_outbox()
        .into_iter()
        .next()
        .ok_or("no terminate")?;
    let mut p = Pair::default_configs(seed.wrapping_add(1))?;
    p.establish()?;
    let thread = p.bob.ep.thread().to_owned();
    let replay = edit::set_element_text(&terminate, "thread", &thread)?;
    let from = p.bob.events.len();
    deliver_to_bob(&mut p, &replay)?;
    expect_failed("bob", &p.bob, from, &bad_mac())?;
    check(
        "bob reported a termination",
        !p.bob
            .events
            .iter()
            .any(|e| matches!(e, Output::Terminated(_))),
    )
}

/// The genuine terminate delivered twice: the acknowledged session is over;
/// the copy is refused and nothing new is reported.
pub(crate) fn terminate_replayed(seed: u64) -> CaseResult {
    let mut p = Pair::default_configs(seed)?;
    p.establish()?;
    p.alice.ep.terminate(p.now).map_err(|e| e.to_string())?;
    p.alice.collect();
    let terminate = p.alice.outbox.first().cloned().ok_or("no terminate")?;
    p.run()?;
    check("alice closed after the ack", p.alice.ep.is_closed())?;
    check("bob closed", p.bob.ep.is_closed())?;
    let from = p.bob.events.len();
    deliver_to_bob(&mut p, &terminate)?;
    check_eq(
        "returned",
        p.bob.returned.clone(),
        vec![Error::InvalidState("the session is closed")],
    )?;
    check_eq("bob's new events", p.bob.events.len(), from)
}

/// Bob's C_A pinned so that a direction's counter crosses 2^128 inside the
/// session: `c_a` for Alice's direction (C_A), or C_A ⊕ 2^127 = C_B for
/// Bob's. The stanzas across the wrap decrypt (D13: (C+i) mod 2^128) and the
/// MAC over mpi(C) (D14) holds at C = 0; a stanza replayed after the wrap
/// still fails.
pub(crate) fn counter_wrap(seed: u64, alice_direction: bool) -> CaseResult {
    // The identity (a 32-byte mac, 2 blocks, D13) takes C and C+1; the first
    // stanza enters at C+2 = 0.
    let c = u128::MAX - 1;
    let c_a = if alice_direction { c } else { c ^ (1 << 127) };
    let pins = TestPins {
        c_a: Some(c_a),
        ..TestPins::default()
    };
    let mut p = Pair::pinned(
        Config::default(),
        Config::default(),
        seed,
        TestPins::default(),
        pins,
    )?;
    p.establish()?;
    let (sender_counter, receiver_counter) = if alice_direction {
        (p.alice.ep.counters(), p.bob.ep.counters())
    } else {
        (p.bob.ep.counters(), p.alice.ep.counters())
    };
    check_eq(
        "sender's next counter after the identity",
        sender_counter.and_then(|(s, _)| s),
        Some(0),
    )?;
    check_eq("receiver's copy", receiver_counter.map(|(_, r)| r), Some(0))?;
    let bodies = [
        "at zero",
        "a longer stanza across several counter values",
        "third",
    ];
    let mut sent = Vec::new();
    for b in bodies {
        let s = if alice_direction {
            p.alice_sends(b)?
        } else {
            p.bob_sends(b)?
        };
        let to = if alice_direction {
            &mut p.bob
        } else {
            &mut p.alice
        };
        to.deliver(p.now, &s).map_err(|e| e.to_string())?;
        sent.push(s);
    }
    let to = if alice_direction {
        &mut p.bob
    } else {
        &mut p.alice
    };
    check_eq(
        "bodies across the wrap",
        to.received_bodies(),
        bodies.iter().map(|b| (*b).to_owned()).collect(),
    )?;
    let from = to.events.len();
    to.deliver(p.now, sent.first().ok_or("nothing sent")?)
        .map_err(|e| e.to_string())?;
    expect_failed("receiver", to, from, &bad_mac())
}

/// An encrypted `<message/>` re-wrapped by the attacker as a `<presence/>`
/// when only messages were negotiated: refused as a kind that was not
/// negotiated, nothing delivered.
pub(crate) fn stanza_kind_changed(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let s = sent.first().ok_or("nothing sent")?;
    let presence = s
        .replacen("<message ", "<presence ", 1)
        .replacen("</message>", "</presence>", 1)
        .replacen(" type=\"chat\"", "", 1);
    let from = p.bob.events.len();
    deliver_to_bob(&mut p, &presence)?;
    expect_failed(
        "bob",
        &p.bob,
        from,
        &Error::PeerMisbehaved(PeerMisbehaved::StanzaKindNotNegotiated),
    )
}

/// A forged plaintext stanza error (D44 shape) with the session's thread,
/// injected into an established session: D44 "receiving any error discards
/// all negotiation state", so the session ends (Failed(Rejected)); nothing is
/// delivered and no Terminated is reported. (A denial of service anyone who
/// can inject stanzas has anyway by dropping them; docs/security.md.)
pub(crate) fn forged_error_in_active_session(seed: u64) -> CaseResult {
    let (mut p, _) = with_sent(seed, &[])?;
    let thread = p.bob.ep.thread().to_owned();
    let fake = format!(
        "<message xmlns=\"jabber:client\" from=\"{ALICE}\" to=\"bob@example.com/laptop\" type=\"error\"><thread>{thread}</thread><error type=\"cancel\"><not-acceptable xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error></message>"
    );
    let from = p.bob.events.len();
    deliver_to_bob(&mut p, &fake)?;
    expect_failed(
        "bob",
        &p.bob,
        from,
        &Error::Rejected {
            condition: "not-acceptable".to_owned(),
            fields: Vec::new(),
        },
    )
}

/// Unencrypted children injected next to a genuine `<c/>` (a `<body/>` and a
/// `<subject/>`): the MAC covers only `<c/>`, so the receiver must discard
/// them (D38) and deliver the deciphered content alone.
pub(crate) fn unencrypted_sibling_injected(seed: u64) -> CaseResult {
    let (mut p, sent) = with_sent(seed, &["one"])?;
    let s = sent.first().ok_or("nothing sent")?;
    let injected = s.replacen(
        "</message>",
        "<body>evil</body><subject>evil</subject></message>",
        1,
    );
    check("the injection applied", injected != *s)?;
    deliver_to_bob(&mut p, &injected)?;
    check_eq(
        "bob's received bodies",
        p.bob.received_bodies(),
        vec!["one".to_owned()],
    )?;
    for e in &p.bob.events {
        if let Output::Received(st) = e {
            check(
                "nothing injected reaches the application",
                !st.to_xml().contains("evil"),
            )?;
        }
    }
    Ok(())
}
