//! The harness shared by `online_alice` and `online_bob`: the endpoint under
//! test (the "subject") talks to an honest in-process peer, and the fuzzer
//! decides, op by op, what reaches the subject: the peer's real stanzas (as
//! they are, mutated, replayed, reordered or dropped), arbitrary stanzas of
//! its own (optionally with the session's thread and the peer's JID stamped
//! on, so they get past the session filter), and the application's commands
//! (accept, reject, send, rekey with or without content, terminate, SAS/key
//! confirmation) on either side. Randomness is a ChaCha20 generator seeded
//! from the input; time is a virtual clock the input advances.
//!
//! Input layout: `flavor` (configuration), `seed` (u16 LE), then ops; each op
//! is one byte, followed by its operands (see [`run`]). Seeds are written by
//! `fuzz/tools/make_seeds.py` from vectors/online and the Gajim transcript.

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::ModpGroup;
use esession_crypto::sign::SigningKey;
use esession_online::{
    Compression, Config, Endpoint, IdentityKey, MemoryStore, Output, Profile,
    PubkeyMode, SharedPassword,
};
use esession_wire::{Element, Stanza, StanzaKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

pub const ALICE: &str = "alice@example.org/pda";
pub const BOB: &str = "bob@example.com/laptop";

/// Which side the subject plays.
#[allow(dead_code)] // each target constructs one variant
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Alice after sending msg1.
    Alice,
    /// A fresh Bob.
    Bob,
}

/// A reader over the fuzz input; past the end it yields zeros.
pub struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data, pos: 0 }
    }
    pub fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    /// `len` (u16 LE) bytes, cut at the end of the input.
    pub fn bytes(&mut self) -> &'a [u8] {
        let len = usize::from(self.u16());
        let start = self.pos.min(self.data.len());
        let end = start.saturating_add(len).min(self.data.len());
        self.pos = end;
        &self.data[start..end]
    }
}

fn keys() -> &'static (IdentityKey, IdentityKey) {
    static KEYS: OnceLock<(IdentityKey, IdentityKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let load = |hex_text: &str| {
            let der = hex::decode(hex_text.trim()).expect("key hex");
            IdentityKey::new(SigningKey::from_pkcs8_der(&der).expect("pkcs8"))
        };
        (
            load(include_str!("../keys/alice-rsa.pkcs8.hex")),
            load(include_str!("../keys/bob-rsa.pkcs8.hex")),
        )
    })
}

/// Number of configuration flavors.
const FLAVORS: u8 = 12;

/// Alice's and Bob's configurations for a flavor.
fn configs(flavor: u8) -> (Config, Config) {
    let mut a = Config::default();
    let mut b = Config::default();
    match flavor % FLAVORS {
        0 => {}
        1 => {
            // Small group, re-keys allowed after every stanza, zlib, 3 kinds.
            for c in [&mut a, &mut b] {
                c.modp = vec![ModpGroup::Group5];
                c.rekey_freq = 1;
                c.compress = vec![Compression::Zlib, Compression::None];
                c.stanzas = vec!["message".into(), "iq".into(), "presence".into()];
                c.crypt_algs = vec![CipherAlg::Aes256Ctr, CipherAlg::Aes128Ctr];
            }
        }
        2 => {
            a.profile = Profile::Gajim;
            b.profile = Profile::Gajim;
        }
        3 | 4 => {
            let (ka, kb) = keys();
            a.init_pubkey = vec![PubkeyMode::Key];
            a.resp_pubkey = vec![PubkeyMode::Key, PubkeyMode::Hash];
            a.identity_key = Some(ka.clone());
            b.init_pubkey = vec![PubkeyMode::Key, PubkeyMode::Hash];
            b.resp_pubkey = vec![PubkeyMode::Key];
            b.identity_key = Some(kb.clone());
            if flavor % FLAVORS == 4 {
                a.three_message = true;
                b.three_message = true;
            }
        }
        5 => {
            // XEP-0116 §4.4: a plain stanza session as the fallback.
            a.security = vec!["e2e".into(), "c2s".into()];
            b.security = vec!["c2s".into()];
        }
        6 => {
            a.shared_password = Some(SharedPassword::new("correct horse"));
            b.shared_password = Some(SharedPassword::new("correct horse"));
        }
        8 => {
            // Re-keys allowed after every stanza, nothing else changed.
            a.rekey_freq = 1;
            b.rekey_freq = 1;
        }
        9 => {
            // zlib compression of stanza content, re-keys allowed.
            for c in [&mut a, &mut b] {
                c.compress = vec![Compression::Zlib];
                c.rekey_freq = 1;
            }
        }
        10 => {
            // Group 5 only, re-keys allowed.
            for c in [&mut a, &mut b] {
                c.modp = vec![ModpGroup::Group5];
                c.rekey_freq = 1;
            }
        }
        11 => {
            // AES-256, re-keys allowed.
            for c in [&mut a, &mut b] {
                c.crypt_algs = vec![CipherAlg::Aes256Ctr];
                c.rekey_freq = 1;
            }
        }
        _ => {
            // Gajim-Alice meets a xep-profile Bob who detects her (D18).
            a.profile = Profile::Gajim;
            b.detect_gajim = true;
        }
    }
    (a, b)
}

/// `FUZZ_TRACE=1` prints every output (to check how deep seeds get).
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

fn summary(o: &Output) -> String {
    match o {
        Output::Send(s) => format!("send {} bytes", s.to_xml().len()),
        Output::Received(s) => format!("received {}", s.to_xml()),
        other => {
            let t = format!("{other:?}");
            t.chars().take(120).collect()
        }
    }
}

struct Side {
    jid: &'static str,
    ep: Endpoint<ChaCha20Rng>,
    store: MemoryStore,
    /// Stanzas this side sent, not yet delivered, as wire text.
    outbox: VecDeque<String>,
    requested: bool,
    peer_key: bool,
    /// The session failed (Output::Failed).
    failed: Option<String>,
}

impl Side {
    fn new(jid: &'static str, ep: Endpoint<ChaCha20Rng>) -> Self {
        Side {
            jid,
            ep,
            store: MemoryStore::new(),
            outbox: VecDeque::new(),
            requested: false,
            peer_key: false,
            failed: None,
        }
    }

    fn collect(&mut self) {
        while let Some(o) = self.ep.poll_output() {
            if trace() {
                eprintln!("{}: {}", self.jid, summary(&o));
            }
            match o {
                Output::Send(mut s) => {
                    s.set_attr("from", self.jid);
                    self.outbox.push_back(s.to_xml());
                }
                Output::Requested(_) | Output::PlainRequested(_) => self.requested = true,
                Output::PeerKey(_) => self.peer_key = true,
                Output::Failed(e) => {
                    assert!(self.ep.is_closed(), "a failed session is closed");
                    self.failed = Some(format!("{e:?}"));
                }
                Output::Terminated(_) => {
                    assert!(self.ep.is_closed(), "a terminated session is closed");
                }
                _ => {}
            }
        }
    }

    fn deliver(&mut self, now: SystemTime, stanza: Stanza) {
        let _ = self
            .ep
            .handle_stanza(now, stanza, &mut self.store);
        self.collect();
    }

    fn deliver_text(&mut self, now: SystemTime, text: &str) {
        if let Ok(s) = Stanza::parse(text) {
            self.deliver(now, s);
        }
    }

    /// The honest peer answers what the protocol asks of an application.
    fn auto(&mut self, now: SystemTime) {
        if self.requested {
            self.requested = false;
            let _ = self.ep.accept(now);
        }
        if self.peer_key {
            self.peer_key = false;
            let _ = self.ep.trust_peer_key("peer", &mut self.store);
        }
        self.collect();
    }

    /// Runs an application command; returns false for the commands after
    /// which the peer may rightly fail (reject, re-key against rekey_freq).
    fn command(&mut self, op: u8, now: SystemTime, body: &[u8]) -> bool {
        let honest = !matches!(op % 8, 1 | 4);
        let _ = match op % 8 {
            0 => self.ep.accept(now),
            1 => self.ep.reject(now),
            2 => {
                let kind = match body.first().copied().unwrap_or(0) % 4 {
                    1 => StanzaKind::Iq,
                    2 => StanzaKind::Presence,
                    _ => StanzaKind::Message,
                };
                let mut m = Stanza::new(kind);
                // Only characters XML allows: the application's text is not
                // what is under test (a U+0000 would make the peer's parse of
                // the decrypted content fail, and the session with it).
                let text: String = String::from_utf8_lossy(body.get(1..).unwrap_or_default())
                    .chars()
                    .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
                    .collect();
                m.push(Element::new("body", esession_wire::NS_CLIENT).with_text(text));
                self.ep.send(now, m)
            }
            // A re-key alone, or riding with content (XEP-0200 §7.2).
            3 if body.first().copied().unwrap_or(0) % 2 == 1 => {
                let mut m = Stanza::new(StanzaKind::Message);
                m.push(Element::new("body", esession_wire::NS_CLIENT).with_text("k"));
                self.ep.send_with_rekey(now, m)
            }
            3 => self.ep.rekey(now),
            4 => self.ep.rekey_ignoring_rekey_freq(now),
            5 => self.ep.terminate(now),
            6 => self.ep.confirm_sas(&mut self.store),
            _ => self.ep.trust_peer_key("fuzz", &mut self.store),
        };
        self.collect();
        honest
    }
}

/// Applies a few byte edits from the input to a stanza's text.
fn mutate(text: &str, input: &mut Input<'_>) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let edits = 1 + input.u8() % 4;
    for _ in 0..edits {
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

/// Runs one input against a subject in `role`.
pub fn run(role: Role, data: &[u8]) {
    let mut input = Input::new(data);
    let flavor = input.u8();
    let seed = u64::from(input.u16());
    let (ca, cb) = configs(flavor);
    let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let Ok(alice) =
        Endpoint::initiate(ca, ChaCha20Rng::seed_from_u64(seed), now, "bob@example.com")
    else {
        return;
    };
    let Ok(bob) = Endpoint::responder(cb, ChaCha20Rng::seed_from_u64(seed ^ 0xb0b)) else {
        return;
    };
    let (mut subject, mut peer) = match role {
        Role::Alice => (Side::new(ALICE, alice), Side::new(BOB, bob)),
        Role::Bob => (Side::new(BOB, bob), Side::new(ALICE, alice)),
    };
    subject.collect();
    peer.collect();
    // Alice's msg1 is on its way to Bob: for a subject Bob it waits in the
    // peer's outbox; for a subject Alice it reaches the honest Bob now.
    if role == Role::Alice {
        while let Some(m) = subject.outbox.pop_front() {
            peer.deliver_text(now, &m);
        }
        peer.auto(now);
    }
    let mut last: Option<String> = None;
    // Whether anything but honest delivery and honest commands happened.
    let mut tampered = false;
    let mut steps = 0;
    while !input.done() && steps < 64 {
        steps += 1;
        match input.u8() % 12 {
            // The peer's next stanza, as it is.
            0 | 1 => {
                if let Some(m) = peer.outbox.pop_front() {
                    subject.deliver_text(now, &m);
                    last = Some(m);
                }
            }
            // The peer's next stanza, edited in transit.
            2 => {
                if let Some(m) = peer.outbox.pop_front() {
                    tampered = true;
                    let edited = mutate(&m, &mut input);
                    subject.deliver_text(now, &edited);
                }
            }
            // A replay of the last delivered stanza.
            3 => {
                tampered = true;
                if let Some(m) = &last {
                    subject.deliver_text(now, m);
                }
            }
            // The peer's next stanza is lost, or overtaken by the one after it.
            4 => {
                tampered = true;
                if input.u8() % 2 == 0 {
                    peer.outbox.pop_front();
                } else if peer.outbox.len() >= 2 {
                    peer.outbox.swap(0, 1);
                }
            }
            // An arbitrary stanza.
            5 => {
                tampered = true;
                let text = String::from_utf8_lossy(input.bytes()).into_owned();
                subject.deliver_text(now, &text);
            }
            // An arbitrary stanza in this session: thread and from set.
            6 => {
                tampered = true;
                let text = String::from_utf8_lossy(input.bytes()).into_owned();
                if let Ok(mut s) = Stanza::parse(&text) {
                    s.set_thread(&subject.ep.thread().to_owned());
                    s.set_attr("from", peer.jid);
                    subject.deliver(now, s);
                }
            }
            // The subject's stanzas reach the honest peer.
            7 => {
                while let Some(m) = subject.outbox.pop_front() {
                    peer.deliver_text(now, &m);
                }
                peer.auto(now);
            }
            // A command of the subject's application.
            8 => {
                let op = input.u8();
                let body = input.bytes();
                tampered |= !subject.command(op, now, body);
            }
            // A command of the peer's application.
            9 => {
                let op = input.u8();
                let body = input.bytes();
                tampered |= !peer.command(op, now, body);
                peer.auto(now);
            }
            // Time passes.
            10 => {
                now += Duration::from_secs(u64::from(input.u16()));
                for side in [&mut subject, &mut peer] {
                    if side.ep.poll_timeout().is_some_and(|t| t <= now) {
                        side.ep.handle_timeout(now);
                        side.collect();
                    }
                }
            }
            // Everything pending flows both ways until quiet (a fast path
            // into the established session).
            _ => {
                for _ in 0..6 {
                    while let Some(m) = subject.outbox.pop_front() {
                        peer.deliver_text(now, &m);
                    }
                    peer.auto(now);
                    while let Some(m) = peer.outbox.pop_front() {
                        subject.deliver_text(now, &m);
                        last = Some(m);
                    }
                    if subject.requested {
                        subject.auto(now);
                    }
                    if subject.outbox.is_empty() && peer.outbox.is_empty() {
                        break;
                    }
                }
            }
        }
        // The oracle: between two honest parties, whatever the order of
        // commands and deliveries the input chose, no session fails.
        if !tampered {
            for side in [&subject, &peer] {
                if let Some(e) = &side.failed {
                    panic!("{} failed in an untampered session: {e}", side.jid);
                }
            }
        }
    }
}
