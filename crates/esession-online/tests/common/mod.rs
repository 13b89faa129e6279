//! An in-memory pair of endpoints (STYLE §7, after quinn-proto's `Pair`):
//! seeded ChaCha20 randomness, a virtual clock, and a router that carries every
//! sent stanza to the other side as text (serialized, then parsed, as a server
//! would), stamped with the sender's full JID.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, SystemTime};

use esession_online::{Config, Endpoint, MemoryStore, Output, TestPins};
use esession_wire::{Element, Stanza, StanzaKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

pub const ALICE: &str = "alice@example.org/pda";
pub const BOB: &str = "bob@example.com/laptop";

/// One side: its endpoint, its store, and everything it reported.
pub struct Party {
    pub jid: &'static str,
    pub ep: Endpoint<ChaCha20Rng>,
    pub store: MemoryStore,
    pub events: Vec<Output>,
    /// Stanzas sent but not yet delivered, as wire text.
    pub outbox: Vec<String>,
}

impl Party {
    /// Moves the endpoint's outputs into `outbox` / `events`.
    pub fn collect(&mut self) {
        while let Some(o) = self.ep.poll_output() {
            match o {
                Output::Send(mut s) => {
                    s.set_attr("from", self.jid);
                    self.outbox.push(s.to_xml());
                }
                other => self.events.push(other),
            }
        }
    }

    pub fn deliver(&mut self, now: SystemTime, text: &str) {
        let stanza = Stanza::parse(text).expect("the router only carries well-formed stanzas");
        // Errors here are "ignored" stanzas; tests look at events instead.
        let _ = self.ep.handle_stanza(now, stanza, &mut self.store);
        self.collect();
    }

    pub fn sas(&self) -> Option<String> {
        self.events.iter().find_map(|e| match e {
            Output::SasReady { sas } => Some(sas.padded.clone()),
            _ => None,
        })
    }

    pub fn established(&self) -> Option<&esession_online::Established> {
        self.events.iter().find_map(|e| match e {
            Output::Established(x) => Some(x),
            _ => None,
        })
    }

    pub fn failure(&self) -> Option<&esession_online::Error> {
        self.events.iter().find_map(|e| match e {
            Output::Failed(x) => Some(x),
            _ => None,
        })
    }

    pub fn received(&self) -> Vec<&Stanza> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Output::Received(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    pub fn take_outbox(&mut self) -> Vec<String> {
        std::mem::take(&mut self.outbox)
    }
}

pub struct Pair {
    pub now: SystemTime,
    pub alice: Party,
    pub bob: Party,
}

pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

impl Pair {
    /// Alice initiates with `alice_cfg`; Bob listens with `bob_cfg`.
    pub fn new(alice_cfg: Config, bob_cfg: Config, seed: u64) -> Self {
        Self::with_stores(
            alice_cfg,
            bob_cfg,
            seed,
            MemoryStore::new(),
            MemoryStore::new(),
        )
    }

    pub fn with_stores(
        alice_cfg: Config,
        bob_cfg: Config,
        seed: u64,
        alice_store: MemoryStore,
        bob_store: MemoryStore,
    ) -> Self {
        Self::pinned(
            alice_cfg,
            bob_cfg,
            seed,
            alice_store,
            bob_store,
            TestPins::default(),
            TestPins::default(),
        )
    }

    pub fn pinned(
        alice_cfg: Config,
        bob_cfg: Config,
        seed: u64,
        alice_store: MemoryStore,
        bob_store: MemoryStore,
        alice_pins: TestPins,
        bob_pins: TestPins,
    ) -> Self {
        let now = t0();
        let a = Endpoint::initiate_pinned(
            alice_cfg,
            ChaCha20Rng::seed_from_u64(seed),
            "bob@example.com",
            alice_pins,
        )
        .expect("valid config");
        let b = Endpoint::responder_pinned(
            bob_cfg,
            ChaCha20Rng::seed_from_u64(seed.wrapping_add(1_000_000)),
            bob_pins,
        )
        .expect("valid config");
        let mut pair = Pair {
            now,
            alice: Party {
                jid: ALICE,
                ep: a,
                store: alice_store,
                events: Vec::new(),
                outbox: Vec::new(),
            },
            bob: Party {
                jid: BOB,
                ep: b,
                store: bob_store,
                events: Vec::new(),
                outbox: Vec::new(),
            },
        };
        pair.alice.collect();
        pair
    }

    /// Delivers stanzas both ways, in order, until nothing is in flight.
    /// Returns every stanza carried, as (sender, text).
    pub fn drive(&mut self) -> Vec<(&'static str, String)> {
        let mut carried = Vec::new();
        loop {
            let a = self.alice.take_outbox();
            let b = self.bob.take_outbox();
            if a.is_empty() && b.is_empty() {
                return carried;
            }
            for s in a {
                self.bob.deliver(self.now, &s);
                carried.push(("alice", s));
            }
            for s in b {
                self.alice.deliver(self.now, &s);
                carried.push(("bob", s));
            }
        }
    }

    /// The whole negotiation, Bob accepting.
    pub fn negotiate(&mut self) -> Vec<(&'static str, String)> {
        let mut carried = self.drive();
        self.bob.ep.accept(self.now).expect("a request arrived");
        self.bob.collect();
        carried.extend(self.drive());
        carried
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }
}

/// A message stanza with a body.
pub fn message(body: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Message);
    s.set_attr("type", "chat");
    s.push(Element::new("body", "jabber:client").with_text(body));
    s
}

// Editing serialized negotiation messages in flight (tampering tests).

/// The first `<value>` text of field `var` in serialized form XML.
pub fn field_value<'a>(text: &'a str, var: &str) -> &'a str {
    let start = text.find(&format!("var=\"{var}\"")).unwrap();
    let v = &text[start..];
    let v = &v[v.find("<value>").unwrap() + 7..];
    &v[..v.find('<').unwrap()]
}

/// Replaces the first `<value>` of field `var` (the only one of a response
/// field, the first option's value of an offer field).
pub fn replace_value(text: &str, var: &str, new: &str) -> String {
    let old = field_value(text, var);
    let at = text.find(&format!("var=\"{var}\"")).unwrap();
    let (head, tail) = text.split_at(at);
    format!(
        "{head}{}",
        tail.replacen(
            &format!("<value>{old}</value>"),
            &format!("<value>{new}</value>"),
            1
        )
    )
}

pub fn flip_b64(v: &str) -> String {
    let mut bytes = esession_crypto::b64::decode(v).unwrap();
    bytes[0] ^= 0x80;
    esession_crypto::b64::encode(&bytes)
}
