//! Fuzzes Alice's offline accept path (XEP-0187 §3.4, §4; DECISIONS D49,
//! D50): she has published options (for everyone or for subscribers) and,
//! back online, receives stanzas. The fuzzer chooses, op by op, between the
//! honest Bob's real stanzas (an init with content, an init that terminates,
//! later stanzas, his terminate), edited copies of them, replays, arbitrary
//! stanzas, and time passing. No input may panic; a stanza the honest Bob did
//! not send must never be accepted or opened.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use esession_crypto::sign::SigningKey;
use esession_offline::{
    Audience, Initiator, MemoryOfflineStore, OfflineStore, PublishedOptions,
    Publisher, ReceiveSession, Receiver,
};
use esession_online::{Config, MemoryStore, SessionStore, TrustedKey};
use esession_wire::{Element, Stanza, StanzaKind};
use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const BOB: &str = "bob@example.com/laptop";

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// What one published form and the honest Bob's stanzas for it look like.
struct World {
    record: PublishedOptions,
    /// Bob's key, as Alice trusts it.
    bob_trusted: TrustedKey,
    /// An init with content, then two more stanzas, then his terminate.
    session: Vec<String>,
    /// An init with content that terminates at once (object encryption).
    object: String,
    /// An init without content.
    bare_init: String,
}

fn body(text: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Message);
    s.set_attr("type", "chat");
    s.push(Element::new("body", esession_wire::NS_CLIENT).with_text(text));
    s
}

fn stamp(mut s: Stanza) -> String {
    s.set_attr("from", BOB);
    s.to_xml()
}

fn build(audience: Audience) -> World {
    let load = |hex_text: &str| {
        SigningKey::from_pkcs8_der(&hex::decode(hex_text.trim()).expect("hex")).expect("pkcs8")
    };
    let alice_key = load(include_str!("../keys/alice-rsa.pkcs8.hex"));
    let bob_key = load(include_str!("../keys/bob-rsa.pkcs8.hex"));
    let trusted_key = |k: &SigningKey| TrustedKey::of(&k.verifying_key(), "known").expect("key");
    let mut trusted = MemoryStore::new();
    let Ok(()) = trusted.trust_key("alice@example.org", trusted_key(&alice_key));
    let bob_trusted = trusted_key(&bob_key);
    let mut rng = ChaCha20Rng::seed_from_u64(187);
    let mut config = Config::default();
    config.modp = vec![esession_crypto::dh::ModpGroup::Group5];
    let mut store = MemoryOfflineStore::new();
    let published = Publisher::new(config.clone(), audience, t0() + Duration::from_secs(3600))
        .signing_key(&alice_key)
        .publish(&mut rng, &mut store)
        .expect("publish");
    let n_a = published.options.offer.my_nonce.clone();
    let record = store.published(&n_a).expect("store").expect("record");
    let bob = Initiator::new(config, &bob_key).expect("initiator");
    let checked = bob
        .check_options(t0(), "alice@example.org", &published.item, &trusted)
        .expect("options");
    let start = |content: Option<Stanza>, terminate: bool, rng: &mut ChaCha20Rng| {
        bob.start(t0(), &checked, content, terminate, rng)
            .expect("start")
    };
    let started = start(Some(body("first")), false, &mut rng);
    let mut session = vec![stamp(started.stanza)];
    let mut send = started.session.expect("a session");
    for text in ["second", "third"] {
        session.push(stamp(send.seal(t0(), body(text)).expect("seal")));
    }
    session.push(stamp(send.terminate().expect("terminate")));
    let object = stamp(start(Some(body("object")), true, &mut rng).stanza);
    let bare_init = stamp(start(None, false, &mut rng).stanza);
    World {
        record,
        bob_trusted,
        session,
        object,
        bare_init,
    }
}

fn world(audience: Audience) -> &'static World {
    static EVERYONE: OnceLock<World> = OnceLock::new();
    static SUBSCRIBERS: OnceLock<World> = OnceLock::new();
    match audience {
        Audience::Subscribers => SUBSCRIBERS.get_or_init(|| build(Audience::Subscribers)),
        _ => EVERYONE.get_or_init(|| build(Audience::Everyone)),
    }
}

/// A reader over the fuzz input; past the end it yields zeros.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn bytes(&mut self) -> &'a [u8] {
        let len = usize::from(self.u16());
        let start = self.pos.min(self.data.len());
        let end = start.saturating_add(len).min(self.data.len());
        self.pos = end;
        &self.data[start..end]
    }
}

fn mutate(text: &str, input: &mut Input<'_>) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + input.u8() % 4 {
        if bytes.is_empty() {
            break;
        }
        let at = usize::from(input.u16()) % bytes.len();
        match input.u8() % 3 {
            0 => bytes[at] ^= input.u8() | 1,
            1 => {
                bytes.remove(at);
            }
            _ => bytes.insert(at, input.u8()),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The bodies the honest Bob encrypted: anything decrypted must be one of
/// them (edits to unauthenticated parts such as `to` or the resource of
/// `from` may still be accepted, so the check is on the content).
fn honest_content(s: &Stanza) -> bool {
    let bodies: Vec<String> = s
        .children()
        .filter(|c| c.name() == "body")
        .map(|c| c.text())
        .collect();
    bodies
        .iter()
        .all(|b| ["first", "second", "third", "object"].contains(&b.as_str()))
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input { data, pos: 0 };
    let audience = if input.u8() % 2 == 0 {
        Audience::Everyone
    } else {
        Audience::Subscribers
    };
    let w = world(audience);
    let mut store = MemoryOfflineStore::new();
    store
        .save_published(w.record.clone())
        .expect("memory store");
    let Ok(()) = store.trust_key("bob@example.com", w.bob_trusted.clone());
    let Ok(came) = Receiver::came_online(Config::default(), &mut store) else {
        return;
    };
    let mut receiver = came.receiver;
    let mut session: Option<ReceiveSession> = None;
    let mut now = t0();
    let mut steps = 0;
    while input.pos < data.len() && steps < 32 {
        steps += 1;
        let op = input.u8();
        // Which honest stanza: 0..3 the session, 4 object, 5 bare init.
        let pick = |i: u8| -> &str {
            match i % 6 {
                n @ 0..=3 => &w.session[usize::from(n)],
                4 => &w.object,
                _ => &w.bare_init,
            }
        };
        let (text, to_session) = match op % 8 {
            0 | 1 => (pick(input.u8()).to_owned(), false),
            2 => {
                let base = pick(input.u8());
                (mutate(base, &mut input), false)
            }
            3 => (String::from_utf8_lossy(input.bytes()).into_owned(), false),
            4 | 5 => (pick(input.u8()).to_owned(), true),
            6 => {
                let base = pick(input.u8());
                (mutate(base, &mut input), true)
            }
            _ => {
                now += Duration::from_secs(u64::from(input.u16()) * 4);
                let _ = receiver.purge_expired(now, &mut store);
                continue;
            }
        };
        let Ok(stanza) = Stanza::parse(&text) else {
            continue;
        };
        if to_session {
            if let Some(s) = session.as_mut()
                && let Ok(opened) = s.open(stanza)
            {
                assert!(
                    honest_content(&opened.content),
                    "opened content Bob never sent: {text}"
                );
            }
        } else if let Ok(accepted) = receiver.accept(now, stanza, &mut store) {
            if let Some(c) = &accepted.content {
                assert!(honest_content(c), "accepted content Bob never sent: {text}");
            }
            assert!(now < w.record.expires, "accepted after expiry");
            session = accepted.session;
        }
    }
});
