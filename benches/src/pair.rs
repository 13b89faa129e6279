//! An in-memory pair of endpoints for benchmarks (after the online crate's
//! test driver, `crates/esession-online/tests/common/mod.rs`): Alice initiates,
//! Bob accepts, and every sent stanza travels to the other side as text
//! (serialized with `to_xml`, then parsed with `Stanza::parse`, as a server
//! would), stamped with the sender's full JID.
//!
//! Data flow of one stanza on the [`Pair::send_text`] / [`Pair::receive_text`]
//! path (XEP-0200 §6): build the `<message/>` with its `<body/>`, then
//! `Endpoint::send` (serialize the content, AES-CTR, HMAC, base64, `<c/>`),
//! `to_xml`; on the other side `Stanza::parse`, `Endpoint::handle_stanza`
//! (base64, HMAC check, AES-CTR, parse the content back), `Output::Received`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use esession_crypto::dh::{ExponentPolicy, ModpGroup};
use esession_crypto::sign::SigningKey;
use esession_online::{Config, Endpoint, IdentityKey, MemoryStore, Output, PubkeyMode};
use esession_wire::{Element, Stanza, StanzaKind};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::Error;

/// Alice's full JID.
pub const ALICE: &str = "alice@example.org/pda";
/// Bob's full JID.
pub const BOB: &str = "bob@example.com/laptop";

/// The fixed clock of every benchmark session.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Which negotiation (XEP-0116 §4) a benchmark runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 4-message SIGMA-R with SAS, no public keys, one MODP group offered.
    FourNoKeys(ModpGroup),
    /// 4-message SIGMA-R, RSA-2048 identities on both sides (`key` mode), group 14.
    FourRsa,
    /// 3-message SIGMA-I (D46), RSA-2048 identities on both sides, group 14.
    ThreeRsa,
}

impl Kind {
    /// The benchmark label: `4msg-g5`, `4msg-g14`, `4msg-g14-rsa2048`, `3msg-g14-rsa2048`.
    pub fn label(self) -> String {
        match self {
            Kind::FourNoKeys(g) => format!("4msg-g{}", g.number()),
            Kind::FourRsa => "4msg-g14-rsa2048".to_owned(),
            Kind::ThreeRsa => "3msg-g14-rsa2048".to_owned(),
        }
    }

    /// The MODP group the negotiation uses.
    pub fn group(self) -> ModpGroup {
        match self {
            Kind::FourNoKeys(g) => g,
            Kind::FourRsa | Kind::ThreeRsa => ModpGroup::Group14,
        }
    }

    /// Whether both sides sign and verify with RSA-2048.
    pub fn rsa(self) -> bool {
        !matches!(self, Kind::FourNoKeys(_))
    }
}

/// The RSA-2048 identity keys of both sides (generated once: it takes seconds).
#[derive(Clone)]
pub struct Identities {
    /// Alice's key.
    pub alice: IdentityKey,
    /// Bob's key.
    pub bob: IdentityKey,
}

impl Identities {
    /// Two RSA-2048 keys from a seeded RNG.
    pub fn rsa2048() -> Result<Self, Error> {
        let mut rng = crate::seeded_rng("identities");
        Ok(Identities {
            alice: IdentityKey::new(SigningKey::generate_rsa(2048, &mut rng)?),
            bob: IdentityKey::new(SigningKey::generate_rsa(2048, &mut rng)?),
        })
    }
}

/// Alice's and Bob's configurations for `kind` under `policy`: the D5 defaults
/// except for the one group offered, the exponent policy, and (RSA kinds) `key`
/// mode both ways with the given identity keys.
pub fn configs(
    kind: Kind,
    policy: ExponentPolicy,
    ids: Option<&Identities>,
) -> Result<(Config, Config), Error> {
    let mut base = Config::default();
    base.modp = vec![kind.group()];
    base.exponent_policy = policy;
    let (mut alice, mut bob) = (base.clone(), base);
    if kind.rsa() {
        let ids = ids.ok_or_else(|| Error::Unexpected("RSA kinds need identity keys".into()))?;
        for (cfg, key) in [(&mut alice, &ids.alice), (&mut bob, &ids.bob)] {
            cfg.init_pubkey = vec![PubkeyMode::Key];
            cfg.resp_pubkey = vec![PubkeyMode::Key];
            cfg.identity_key = Some(key.clone());
            cfg.three_message = kind == Kind::ThreeRsa;
        }
    }
    Ok((alice, bob))
}

/// One side: its endpoint and stores.
pub struct Side {
    jid: &'static str,
    /// The endpoint.
    pub ep: Endpoint<ChaCha20Rng>,
    /// Retained secrets and trusted keys.
    store: MemoryStore,
}

impl Side {
    /// Drains the outputs: sent stanzas as wire text into `outbox`, and
    /// whether Bob saw a request / a failure.
    fn collect(&mut self, outbox: &mut Vec<String>) -> Result<Collected, Error> {
        let mut seen = Collected::default();
        while let Some(o) = self.ep.poll_output() {
            match o {
                Output::Send(mut s) => {
                    s.set_attr("from", self.jid);
                    outbox.push(s.to_xml());
                }
                Output::Requested(_) => seen.requested = true,
                Output::Received(s) => seen.received.push(s),
                Output::Failed(e) => return Err(e.into()),
                _ => {}
            }
        }
        Ok(seen)
    }

    /// Parses `text` and hands it to the endpoint.
    fn deliver(&mut self, text: &str, outbox: &mut Vec<String>) -> Result<Collected, Error> {
        let stanza = Stanza::parse(text)?;
        self.ep.handle_stanza(now(), stanza, &mut self.store)?;
        self.collect(outbox)
    }
}

#[derive(Default)]
struct Collected {
    requested: bool,
    received: Vec<Stanza>,
}

/// Two endpoints that negotiated an ESession with each other.
pub struct Pair {
    /// The initiator.
    pub alice: Side,
    /// The responder.
    pub bob: Side,
}

impl Pair {
    /// Runs a whole negotiation in memory (Bob accepts at once) and returns the
    /// established pair. Fails unless both sides are established.
    pub fn negotiate(
        alice_cfg: impl Into<Arc<Config>>,
        bob_cfg: impl Into<Arc<Config>>,
        seed: u64,
    ) -> Result<Pair, Error> {
        let alice_ep = Endpoint::initiate(
            alice_cfg,
            ChaCha20Rng::seed_from_u64(seed),
            now(),
            "bob@example.com",
        )?;
        let bob_ep = Endpoint::responder(bob_cfg, ChaCha20Rng::seed_from_u64(!seed))?;
        let mut pair = Pair {
            alice: Side {
                jid: ALICE,
                ep: alice_ep,
                store: MemoryStore::new(),
            },
            bob: Side {
                jid: BOB,
                ep: bob_ep,
                store: MemoryStore::new(),
            },
        };
        let mut to_bob = Vec::new();
        let mut to_alice = Vec::new();
        pair.alice.collect(&mut to_bob)?;
        // msg1..msg4 (or msg1..msg3): at most four hops; a few spare rounds.
        for _ in 0..6 {
            if to_bob.is_empty() && to_alice.is_empty() {
                break;
            }
            for text in std::mem::take(&mut to_bob) {
                if pair.bob.deliver(&text, &mut to_alice)?.requested {
                    pair.bob.ep.accept(now())?;
                    pair.bob.collect(&mut to_alice)?;
                }
            }
            for text in std::mem::take(&mut to_alice) {
                pair.alice.deliver(&text, &mut to_bob)?;
            }
        }
        if pair.alice.ep.is_established() && pair.bob.ep.is_established() {
            Ok(pair)
        } else {
            Err(Error::Unexpected("negotiation did not establish".into()))
        }
    }

    /// Alice builds a chat message with `body`, sends it, and returns the
    /// encrypted stanza as wire text (stamped `from` Alice).
    pub fn send_text(&mut self, body: &str) -> Result<String, Error> {
        self.alice.ep.send(now(), message(body))?;
        let mut out = Vec::new();
        self.alice.collect(&mut out)?;
        match <[String; 1]>::try_from(out) {
            Ok([text]) => Ok(text),
            Err(out) => Err(Error::Unexpected(format!(
                "send produced {} stanzas",
                out.len()
            ))),
        }
    }

    /// Bob parses and decrypts `text` and returns the decrypted stanza.
    pub fn receive_text(&mut self, text: &str) -> Result<Stanza, Error> {
        let mut out = Vec::new();
        let seen = self.bob.deliver(text, &mut out)?;
        seen.received
            .into_iter()
            .next()
            .ok_or_else(|| Error::Unexpected("no Received output".into()))
    }

    /// Replaces both sides' retained-secret and trust stores by empty ones,
    /// so that only the endpoints hold memory (the stores belong to the
    /// application, one per account, not one per session).
    pub fn shed_stores(&mut self) {
        for side in [&mut self.alice, &mut self.bob] {
            side.store = MemoryStore::new();
        }
    }

    /// The two endpoints, without their stores.
    pub fn into_endpoints(self) -> (Endpoint<ChaCha20Rng>, Endpoint<ChaCha20Rng>) {
        (self.alice.ep, self.bob.ep)
    }

    /// One message from Alice to Bob through the whole path; checks that Bob
    /// got the body back.
    pub fn round_trip(&mut self, body: &str) -> Result<(), Error> {
        let text = self.send_text(body)?;
        let got = self.receive_text(&text)?;
        let body_back = got
            .children()
            .find(|e| e.name() == "body")
            .map(|e| e.text())
            .unwrap_or_default();
        if body_back == body {
            Ok(())
        } else {
            Err(Error::Unexpected("body changed on the way".into()))
        }
    }
}

/// A `<message type='chat'>` with one `<body/>`.
pub fn message(body: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Message);
    s.set_attr("type", "chat");
    s.push(Element::new("body", "jabber:client").with_text(body));
    s
}

/// A body of exactly `len` bytes of lowercase letters (nothing XML escapes, so
/// the encrypted content is `len` bytes plus the element's markup).
pub fn body(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group5_pair_negotiates_and_carries_a_message() {
        let (a, b) = configs(
            Kind::FourNoKeys(ModpGroup::Group5),
            ExponentPolicy::Rfc3526,
            None,
        )
        .unwrap();
        let mut pair = Pair::negotiate(a, b, 1).unwrap();
        pair.round_trip(&body(100)).unwrap();
        pair.round_trip(&body(1024)).unwrap();
        assert_eq!(body(30).len(), 30);
    }
}
