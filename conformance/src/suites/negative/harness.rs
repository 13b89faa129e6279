//! The in-memory pair the negative cases drive, and the tampering and checking
//! helpers they share.
//!
//! Two real [`Endpoint`]s with seeded ChaCha20 randomness and a virtual clock.
//! Every stanza travels as text (serialized by the sender, parsed by the
//! router as a server would), so an attacker in the middle sees and edits
//! exactly the bytes on the wire: every case tampers with that text between
//! the two endpoints.

use std::time::{Duration, SystemTime};

use esession_online::{Config, Endpoint, Error, MemoryStore, Output, TestPins};
use esession_wire::{Element, Stanza, StanzaKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// Alice's full JID.
pub(crate) const ALICE: &str = "alice@example.org/pda";
/// Bob's full JID.
pub(crate) const BOB: &str = "bob@example.com/laptop";

/// What a case returns: `Err` says what went wrong.
pub(crate) type CaseResult = Result<(), String>;

/// The virtual clock's start.
pub(crate) fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// One side: its endpoint, its store, and everything it reported.
pub(crate) struct Party {
    pub(crate) jid: &'static str,
    pub(crate) ep: Endpoint<ChaCha20Rng>,
    pub(crate) store: MemoryStore,
    /// Every output except `Send`, in order.
    pub(crate) events: Vec<Output>,
    /// What `handle_stanza` returned as `Err`, in order.
    pub(crate) returned: Vec<Error>,
    /// Stanzas sent and not yet delivered, as wire text.
    pub(crate) outbox: Vec<String>,
}

impl Party {
    fn new(jid: &'static str, ep: Endpoint<ChaCha20Rng>) -> Self {
        let mut p = Party {
            jid,
            ep,
            store: MemoryStore::new(),
            events: Vec::new(),
            returned: Vec::new(),
            outbox: Vec::new(),
        };
        p.collect();
        p
    }

    /// Moves the endpoint's outputs into `outbox` and `events`.
    pub(crate) fn collect(&mut self) {
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

    /// Parses `text` as the server would and hands it to the endpoint.
    /// A text that does not parse never reaches the endpoint: its typed
    /// parse error is returned.
    pub(crate) fn deliver(
        &mut self,
        now: SystemTime,
        text: &str,
    ) -> Result<(), esession_wire::Error> {
        let stanza = Stanza::parse(text)?;
        if let Err(e) = self.ep.handle_stanza(now, stanza, &mut self.store) {
            self.returned.push(e);
        }
        self.collect();
        Ok(())
    }

    /// Takes everything sent so far.
    pub(crate) fn take_outbox(&mut self) -> Vec<String> {
        std::mem::take(&mut self.outbox)
    }

    /// The `Failed` events from index `from` on.
    pub(crate) fn failures_since(&self, from: usize) -> Vec<&Error> {
        self.events
            .get(from..)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| match e {
                Output::Failed(x) => Some(x),
                _ => None,
            })
            .collect()
    }

    /// The bodies of every `Received` stanza.
    pub(crate) fn received_bodies(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Output::Received(s) => Some(body_of(s)),
                _ => None,
            })
            .collect()
    }
}

/// The text of a stanza's `<body/>`, or the empty string.
pub(crate) fn body_of(s: &Stanza) -> String {
    s.children()
        .find(|c| c.name() == "body")
        .map(Element::text)
        .unwrap_or_default()
}

/// Alice (initiator) and Bob (responder) with a shared virtual clock.
pub(crate) struct Pair {
    pub(crate) now: SystemTime,
    pub(crate) alice: Party,
    pub(crate) bob: Party,
}

impl Pair {
    /// Alice initiates with `alice_cfg`; Bob listens with `bob_cfg`.
    pub(crate) fn new(alice_cfg: Config, bob_cfg: Config, seed: u64) -> Result<Self, String> {
        Self::pinned(
            alice_cfg,
            bob_cfg,
            seed,
            TestPins::default(),
            TestPins::default(),
        )
    }

    /// Default configurations on both sides.
    pub(crate) fn default_configs(seed: u64) -> Result<Self, String> {
        Self::new(Config::default(), Config::default(), seed)
    }

    /// With pinned values (e.g. Bob's C_A).
    pub(crate) fn pinned(
        alice_cfg: Config,
        bob_cfg: Config,
        seed: u64,
        alice_pins: TestPins,
        bob_pins: TestPins,
    ) -> Result<Self, String> {
        let a = Endpoint::initiate_pinned(
            alice_cfg,
            ChaCha20Rng::seed_from_u64(seed),
            "bob@example.com",
            alice_pins,
        )
        .map_err(|e| format!("initiate: {e}"))?;
        let b = responder(bob_cfg, seed.wrapping_add(1_000_000), bob_pins)?;
        Ok(Pair {
            now: t0(),
            alice: Party::new(ALICE, a),
            bob: Party::new(BOB, b),
        })
    }

    /// Delivers stanzas both ways until nothing is in flight; Bob accepts a
    /// request. Returns every stanza carried as (from Alice?, text).
    pub(crate) fn run(&mut self) -> Result<Vec<(bool, String)>, String> {
        self.run_tampering(|_, _, t| Ok(Some(t.to_owned())))
    }

    /// Like [`Pair::run`], but every stanza passes through `attacker` first:
    /// given its index in the whole exchange, its direction (true: from
    /// Alice) and its text, it returns the text to deliver, or `None` to drop
    /// it. Returns every stanza sent (before tampering).
    pub(crate) fn run_tampering(
        &mut self,
        mut attacker: impl FnMut(usize, bool, &str) -> Result<Option<String>, String>,
    ) -> Result<Vec<(bool, String)>, String> {
        let mut carried = Vec::new();
        let mut accepted = false;
        loop {
            let (from_alice, text) = if !self.alice.outbox.is_empty() {
                (true, self.alice.outbox.remove(0))
            } else if !self.bob.outbox.is_empty() {
                (false, self.bob.outbox.remove(0))
            } else if !accepted {
                // Bob's application accepts whatever was requested, once. A
                // failed accept (a 3-message msg1 with a bad e fails here)
                // shows up as its Failed event and error stanza.
                accepted = true;
                let _ = self.bob.ep.accept(self.now);
                self.bob.collect();
                continue;
            } else {
                return Ok(carried);
            };
            let index = carried.len();
            carried.push((from_alice, text.clone()));
            let Some(text) = attacker(index, from_alice, &text)? else {
                continue;
            };
            let to = if from_alice {
                &mut self.bob
            } else {
                &mut self.alice
            };
            to.deliver(self.now, &text)
                .map_err(|e| format!("stanza {index} does not parse after tampering: {e}"))?;
        }
    }

    /// The whole negotiation; both sides must be established.
    pub(crate) fn establish(&mut self) -> Result<Vec<(bool, String)>, String> {
        let carried = self.run()?;
        if !(self.alice.ep.is_established() && self.bob.ep.is_established()) {
            return Err(format!(
                "the untampered negotiation did not establish: alice {:?}, bob {:?}",
                self.alice.failures_since(0),
                self.bob.failures_since(0)
            ));
        }
        Ok(carried)
    }

    /// Alice encrypts a message with `body`; returns its wire text (not delivered).
    pub(crate) fn alice_sends(&mut self, body: &str) -> Result<String, String> {
        self.alice
            .ep
            .send(self.now, message(body))
            .map_err(|e| format!("alice send: {e}"))?;
        self.alice.collect();
        let mut out = self.alice.take_outbox();
        if out.len() != 1 {
            return Err(format!("alice sent {} stanzas, not 1", out.len()));
        }
        Ok(out.remove(0))
    }

    /// Bob encrypts a message with `body`; returns its wire text (not delivered).
    pub(crate) fn bob_sends(&mut self, body: &str) -> Result<String, String> {
        self.bob
            .ep
            .send(self.now, message(body))
            .map_err(|e| format!("bob send: {e}"))?;
        self.bob.collect();
        let mut out = self.bob.take_outbox();
        if out.len() != 1 {
            return Err(format!("bob sent {} stanzas, not 1", out.len()));
        }
        Ok(out.remove(0))
    }
}

/// A responder endpoint with seed `seed`.
pub(crate) fn responder(
    cfg: Config,
    seed: u64,
    pins: TestPins,
) -> Result<Endpoint<ChaCha20Rng>, String> {
    Endpoint::responder_pinned(cfg, ChaCha20Rng::seed_from_u64(seed), pins)
        .map_err(|e| format!("responder: {e}"))
}

/// A fresh party listening as Bob.
pub(crate) fn fresh_bob(cfg: Config, seed: u64) -> Result<Party, String> {
    Ok(Party::new(BOB, responder(cfg, seed, TestPins::default())?))
}

/// A chat message with a body.
pub(crate) fn message(body: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Message);
    s.set_attr("type", "chat");
    s.push(Element::new("body", "jabber:client").with_text(body));
    s
}

/// The party's events from index `from` on show the one failure `expected`
/// and nothing that would reach the application: no `Established`,
/// `PlainEstablished`, `Received` or `Terminated`.
pub(crate) fn expect_failed(who: &str, p: &Party, from: usize, expected: &Error) -> CaseResult {
    let failures = p.failures_since(from);
    if failures.as_slice() != [expected] {
        return Err(format!(
            "{who}: expected Failed({expected:?}), got {failures:?}"
        ));
    }
    nothing_reached_application(who, p, from)?;
    if !p.ep.is_closed() {
        return Err(format!(
            "{who}: the endpoint is not closed after {expected:?}"
        ));
    }
    Ok(())
}

/// No `Established`, `PlainEstablished`, `Received` or `Terminated` event
/// from index `from` on.
pub(crate) fn nothing_reached_application(who: &str, p: &Party, from: usize) -> CaseResult {
    for e in p.events.get(from..).unwrap_or_default() {
        if matches!(
            e,
            Output::Established(_)
                | Output::PlainEstablished(_)
                | Output::Received(_)
                | Output::Terminated(_)
        ) {
            return Err(format!("{who}: reached the application: {e:?}"));
        }
    }
    Ok(())
}

/// The peer learnt of the failure through a D44 error of `condition`
/// (Failed(Rejected)), and never established.
pub(crate) fn expect_rejected(who: &str, p: &Party, condition: &str) -> CaseResult {
    let failures = p.failures_since(0);
    match failures.as_slice() {
        [Error::Rejected { condition: c, .. }] if c == condition => {}
        other => {
            return Err(format!(
                "{who}: expected Failed(Rejected {{ {condition} }}), got {other:?}"
            ));
        }
    }
    for e in &p.events {
        if matches!(e, Output::Established(_) | Output::Received(_)) {
            return Err(format!("{who}: reached the application: {e:?}"));
        }
    }
    Ok(())
}

/// `got` equals `expected`, else an error naming `what`.
pub(crate) fn check_eq<T: PartialEq + std::fmt::Debug>(
    what: &str,
    got: T,
    expected: T,
) -> CaseResult {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {expected:?}"))
    }
}

/// `cond` holds, else an error naming `what`.
pub(crate) fn check(what: &str, cond: bool) -> CaseResult {
    if cond { Ok(()) } else { Err(what.to_owned()) }
}

/// Text edits of serialized stanzas: what an attacker on the path does.
pub(crate) mod edit {
    /// The byte range of the whole `<field … var="VAR">…</field>`.
    pub(crate) fn field_span(text: &str, var: &str) -> Result<(usize, usize), String> {
        let at = text
            .find(&format!("var=\"{var}\""))
            .ok_or_else(|| format!("no field {var}"))?;
        let start = text
            .get(..at)
            .and_then(|h| h.rfind("<field"))
            .ok_or_else(|| format!("field {var}: no <field"))?;
        let end = text
            .get(at..)
            .and_then(|t| t.find("</field>"))
            .map(|e| at + e + "</field>".len())
            .ok_or_else(|| format!("field {var}: no </field>"))?;
        Ok((start, end))
    }

    /// The texts of the field's `<value/>`s (options included), in order.
    pub(crate) fn values(text: &str, var: &str) -> Result<Vec<String>, String> {
        let (s, e) = field_span(text, var)?;
        let mut field = text.get(s..e).unwrap_or_default();
        let mut out = Vec::new();
        while let Some(i) = field.find("<value>") {
            let rest = field.get(i + 7..).unwrap_or_default();
            let j = rest.find("</value>").ok_or("unterminated <value>")?;
            out.push(rest.get(..j).unwrap_or_default().to_owned());
            field = rest.get(j..).unwrap_or_default();
        }
        Ok(out)
    }

    /// The field's first value.
    pub(crate) fn value(text: &str, var: &str) -> Result<String, String> {
        values(text, var)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("field {var} has no value"))
    }

    /// Replaces the field's `index`-th `<value/>` text by `new`.
    pub(crate) fn set_value_at(
        text: &str,
        var: &str,
        index: usize,
        new: &str,
    ) -> Result<String, String> {
        let old = values(text, var)?
            .get(index)
            .cloned()
            .ok_or_else(|| format!("field {var} has no value {index}"))?;
        let (s, e) = field_span(text, var)?;
        let field = text.get(s..e).unwrap_or_default();
        let needle = format!("<value>{old}</value>");
        let mut pos = 0;
        for _ in 0..index {
            pos += field
                .get(pos..)
                .and_then(|f| f.find("<value>"))
                .ok_or("value vanished")?
                + 7;
        }
        let at = pos
            + field
                .get(pos..)
                .and_then(|f| f.find(&needle))
                .ok_or("value vanished")?;
        let edited = format!(
            "{}<value>{new}</value>{}",
            field.get(..at).unwrap_or_default(),
            field.get(at + needle.len()..).unwrap_or_default()
        );
        Ok(format!(
            "{}{edited}{}",
            text.get(..s).unwrap_or_default(),
            text.get(e..).unwrap_or_default()
        ))
    }

    /// Replaces the field's first value.
    pub(crate) fn set_value(text: &str, var: &str, new: &str) -> Result<String, String> {
        set_value_at(text, var, 0, new)
    }

    /// Removes `<option><value>V</value></option>` from a list field.
    pub(crate) fn remove_option(text: &str, var: &str, v: &str) -> Result<String, String> {
        let (s, e) = field_span(text, var)?;
        let field = text.get(s..e).unwrap_or_default();
        let needle = format!("<option><value>{v}</value></option>");
        if !field.contains(&needle) {
            return Err(format!("field {var} offers no {v}"));
        }
        Ok(format!(
            "{}{}{}",
            text.get(..s).unwrap_or_default(),
            field.replacen(&needle, "", 1),
            text.get(e..).unwrap_or_default()
        ))
    }

    /// Removes the field's `index`-th `<value/>`.
    pub(crate) fn remove_value_at(text: &str, var: &str, index: usize) -> Result<String, String> {
        let marked = set_value_at(text, var, index, "\u{1}REMOVED\u{1}")?;
        Ok(marked.replacen("<value>\u{1}REMOVED\u{1}</value>", "", 1))
    }

    /// The text between `<name>` and `</name>` (first occurrence).
    pub(crate) fn element_text(text: &str, name: &str) -> Result<String, String> {
        let open = format!("<{name}>");
        let i = text.find(&open).ok_or_else(|| format!("no <{name}>"))? + open.len();
        let j = text
            .get(i..)
            .and_then(|t| t.find(&format!("</{name}>")))
            .ok_or_else(|| format!("no </{name}>"))?;
        Ok(text.get(i..i + j).unwrap_or_default().to_owned())
    }

    /// Replaces the text of the first `<name>` element.
    pub(crate) fn set_element_text(text: &str, name: &str, new: &str) -> Result<String, String> {
        let old = element_text(text, name)?;
        Ok(text.replacen(
            &format!("<{name}>{old}</{name}>"),
            &format!("<{name}>{new}</{name}>"),
            1,
        ))
    }

    /// Flips the top bit of the first byte of a base64 value.
    pub(crate) fn flip_b64(v: &str) -> Result<String, String> {
        let mut bytes = esession_crypto::b64::decode(v).map_err(|e| e.to_string())?;
        let first = bytes.first_mut().ok_or("empty base64 value")?;
        *first ^= 0x80;
        Ok(esession_crypto::b64::encode(&bytes))
    }
}
