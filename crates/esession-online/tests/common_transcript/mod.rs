//! Whole-transcript scenarios of issue 5, shared by the insta snapshots
//! (`tests/snapshots.rs`) and the `vectors/online/` generator
//! (`tests/transcript_vectors.rs`).
//!
//! Data flow: a [`Scenario`] names the options of both sides and what happens
//! after the negotiation. [`run`] draws every random value of the negotiation
//! from a ChaCha20 RNG seeded with `SHA-256("esession-online-transcripts/" ‖
//! name)` and hands them to the endpoints through the `#[doc(hidden)]`
//! [`TestPins`] hooks, so that every secret is known and recorded. An
//! in-memory router with a virtual clock carries each sent stanza as text to
//! the other side (serialized and parsed again, as a server would), stamped
//! with the sender's full JID. The result is a [`Run`]: the ordered log of
//! stanzas and events (rendered by [`snapshot`]) and the pinned secrets.
//! [`vector`] turns a run into an esession-transcript/1 document
//! (`shared/vectors/TRANSCRIPT-SCHEMA.md`), computing the derived values with
//! `esession-sigma` from the recorded secrets and the recorded stanzas, not
//! from the endpoint's internals.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, SystemTime};

use esession_crypto::cipher::CipherAlg;
use esession_crypto::dh::{DhPrivateKey, ExponentPolicy, ModpGroup};
use esession_crypto::hash::HashAlg;
use esession_crypto::sign::{PublicKeyComponents, SignAlg, SigningKey};
use esession_crypto::{SecretBytes, mpi};
use esession_online::{
    Config, Endpoint, IdentityKey, MemoryStore, Output, PubkeyMode, RetainedSecret, SessionStore,
    SharedPassword, TestPins, TrustedKey,
};
use esession_sigma::counters::{self, Counters};
use esession_sigma::identity::{self, MacAInput, MacBInput};
use esession_sigma::keys::{self, DirectionKeys, Role, SessionKeys};
use esession_sigma::{Profile, sas, secrets};
use esession_wire::{Negotiation, NormProfile, Stanza};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};
use serde_json::{Map, Value, json};

pub const ALICE: &str = "alice@example.org/pda";
pub const BOB: &str = "bob@example.com/laptop";
const HASH: HashAlg = HashAlg::Sha256;

/// The virtual clock's start.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Who does something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Alice,
    Bob,
}

impl Who {
    pub fn name(self) -> &'static str {
        match self {
            Who::Alice => "alice",
            Who::Bob => "bob",
        }
    }
    pub fn from_name(s: &str) -> Option<Who> {
        match s {
            "alice" => Some(Who::Alice),
            "bob" => Some(Who::Bob),
            _ => None,
        }
    }
}

/// What happens after the negotiation, in order.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// `who` sends a message whose content is this XML (one or more children).
    Send(Who, &'static str),
    /// `who` terminates the session (the peer acknowledges).
    Terminate(Who),
    /// `who` starts a re-key: a stanza carrying `<key/>` (XEP-0200 §7).
    Rekey(Who),
}

/// One transcript scenario.
pub struct Scenario {
    /// File stem in `vectors/online/` and snapshot name.
    pub name: &'static str,
    pub title: &'static str,
    /// Alice's modp offer, preferred first.
    pub alice_modp: &'static [u32],
    /// The groups Bob accepts.
    pub bob_modp: &'static [u32],
    pub cipher: CipherAlg,
    /// A password both sides share (the OSS).
    pub password: Option<&'static str>,
    /// Run an unrecorded first session before, so that both hold a retained secret.
    pub prior_session: bool,
    pub steps: &'static [Step],
    /// The rejection expected instead of an established session.
    pub expect_error: Option<&'static str>,
    /// rekey_freq both sides offer and require (D42).
    pub rekey_freq: u32,
    /// Public-key identities for both sides with RSA-2048 keys (D27-D31):
    /// `key` or `hash` mode. In `hash` mode each trust store already holds
    /// the other's key.
    pub pubkey: Option<PubkeyMode>,
    /// The 3-message SIGMA-I exchange (D46; needs `pubkey`).
    pub three_message: bool,
    /// Both also allow security `c2s`: a plain stanza session when no ESession
    /// can be agreed (XEP-0116 §4.4).
    pub c2s: bool,
    /// Object encryption (XEP-0116 §4.6.4, 3-message only): Alice's content
    /// rides on msg3 together with the terminate field.
    pub object: Option<&'static str>,
}

const CHAT: &[Step] = &[
    Step::Send(Who::Alice, "<body>Hello Bob</body>"),
    Step::Send(Who::Bob, "<body>Hi Alice, I read you</body>"),
];

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "c2s-fallback",
        title: "no common modp, but both allow security c2s: Bob accepts a plain XEP-0155 stanza session instead (XEP-0116 §4.4); messages travel unencrypted",
        alice_modp: &[5],
        bob_modp: &[14],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: false,
        steps: CHAT,
        expect_error: None,
        rekey_freq: u32::MAX,
        pubkey: None,
        three_message: false,
        c2s: true,
        object: None,
    },
    Scenario {
        name: "object-encryption",
        title: "object encryption (XEP-0116 §4.6.4): 3-message with RSA keys; Alice's msg3 carries the accept, the encrypted content and the terminate field in one stanza",
        alice_modp: &[14, 5],
        bob_modp: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: false,
        steps: &[],
        expect_error: None,
        rekey_freq: u32::MAX,
        pubkey: Some(PubkeyMode::Key),
        three_message: true,
        c2s: false,
        object: Some("<body>sealed: read once, then the keys are gone</body>"),
    },
    Scenario {
        name: "3message-rsa-keys",
        title: "3-message SIGMA-I (D46): dhkeys in the request, Bob's signed identity in msg2, Alice's in msg3; RSA-2048 keys in key mode; a message each way",
        alice_modp: &[14, 5],
        bob_modp: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: false,
        steps: CHAT,
        expect_error: None,
        rekey_freq: u32::MAX,
        pubkey: Some(PubkeyMode::Key),
        three_message: true,
        c2s: false,
        object: None,
    },
    Scenario {
        name: "4message-rsa-keys",
        title: "4-message SIGMA-R with RSA-2048 public keys in key mode both ways (rsa-sha256, D27-D31); trust stores empty, so both report a new key",
        alice_modp: &[14, 5],
        bob_modp: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: false,
        steps: CHAT,
        expect_error: None,
        rekey_freq: u32::MAX,
        pubkey: Some(PubkeyMode::Key),
        three_message: false,
        c2s: false,
        object: None,
    },
    Scenario {
        name: "4message-rsa-hash",
        title: "4-message SIGMA-R with RSA-2048 keys in hash mode both ways: each identity carries <fingerprint/>, the receiver substitutes the key its trust store holds (D30)",
        alice_modp: &[14, 5],
        bob_modp: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: false,
        steps: CHAT,
        expect_error: None,
        rekey_freq: u32::MAX,
        pubkey: Some(PubkeyMode::Hash),
        three_message: false,
        c2s: false,
        object: None,
    },
    Scenario {
        name: "4message-no-keys",
        title: "4-message SIGMA-R, no public keys, group 14, aes128-ctr, first session; one message each way",
        alice_modp: &[14, 5],
        bob_modp: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: false,
        steps: CHAT,
        expect_error: None,
        rekey_freq: u32::MAX,
        pubkey: None,
        three_message: false,
        c2s: false,
        object: None,
    },
    Scenario {
        name: "4message-retained-secret",
        title: "second session: both hold the retained secret of a first session (XEP-0116 §4.7.3, D33-D37)",
        alice_modp: &[14, 5],
        bob_modp: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: true,
        steps: CHAT,
        expect_error: None,
        rekey_freq: u32::MAX,
        pubkey: None,
        three_message: false,
        c2s: false,
        object: None,
    },
    Scenario {
        name: "4message-shared-password",
        title: "4-message with a shared password as the other shared secret (D36), group 5, aes256-ctr",
        alice_modp: &[5, 14],
        bob_modp: &[14, 5],
        cipher: CipherAlg::Aes256Ctr,
        password: Some("correct horse battery staple"),
        prior_session: false,
        steps: CHAT,
        expect_error: None,
        rekey_freq: u32::MAX,
        pubkey: None,
        three_message: false,
        c2s: false,
        object: None,
    },
    Scenario {
        name: "4message-termination",
        title: "messages, then Alice terminates with the encrypted terminate form and Bob acknowledges (XEP-0116 §5, D43)",
        alice_modp: &[14, 5],
        bob_modp: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: false,
        steps: &[
            Step::Send(Who::Alice, "<body>Hello Bob</body>"),
            Step::Send(Who::Bob, "<body>Bye</body>"),
            Step::Terminate(Who::Alice),
        ],
        expect_error: None,
        rekey_freq: u32::MAX,
        pubkey: None,
        three_message: false,
        c2s: false,
        object: None,
    },
    Scenario {
        name: "rejection-no-acceptable-modp",
        title: "Alice offers only group 5, Bob accepts only group 14: not-acceptable naming modp (XEP-0116 §4.2, D44)",
        alice_modp: &[5],
        bob_modp: &[14],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: false,
        steps: &[],
        expect_error: Some("not-acceptable modp"),
        rekey_freq: u32::MAX,
        pubkey: None,
        three_message: false,
        c2s: false,
        object: None,
    },
    Scenario {
        name: "rekey-by-alice",
        title: "rekey_freq 2; after a message each way Alice re-keys (<key/>), then messages both ways under the new keys (XEP-0200 §7-§9, D41, D42)",
        alice_modp: &[14, 5],
        bob_modp: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: false,
        steps: &[
            Step::Send(Who::Alice, "<body>one</body>"),
            Step::Send(Who::Bob, "<body>two</body>"),
            Step::Rekey(Who::Alice),
            Step::Send(Who::Alice, "<body>three, under Alice's new keys</body>"),
            Step::Send(Who::Bob, "<body>four, under Bob's new keys</body>"),
            Step::Send(Who::Alice, "<body>five</body>"),
        ],
        expect_error: None,
        rekey_freq: 2,
        pubkey: None,
        three_message: false,
        c2s: false,
        object: None,
    },
    Scenario {
        name: "rekey-by-bob",
        title: "rekey_freq 2; after a message each way Bob re-keys (<key/>), then messages both ways under the new keys (XEP-0200 §7-§9, D41, D42)",
        alice_modp: &[14, 5],
        bob_modp: &[14, 5],
        cipher: CipherAlg::Aes128Ctr,
        password: None,
        prior_session: false,
        steps: &[
            Step::Send(Who::Alice, "<body>one</body>"),
            Step::Send(Who::Bob, "<body>two</body>"),
            Step::Rekey(Who::Bob),
            Step::Send(Who::Bob, "<body>three, under Bob's new keys</body>"),
            Step::Send(Who::Alice, "<body>four, under Alice's new keys</body>"),
            Step::Send(Who::Bob, "<body>five</body>"),
        ],
        expect_error: None,
        rekey_freq: 2,
        pubkey: None,
        three_message: false,
        c2s: false,
        object: None,
    },
];

/// One line of a transcript.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A stanza carried from `from` to the other side, as wire text.
    Stanza { from: Who, xml: String },
    /// Something an endpoint reported.
    Event { who: Who, text: String },
}

/// The secrets one negotiation used.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub thread: String,
    pub n_a: Vec<u8>,
    /// (group, x) for every group Alice offered.
    pub alice_x: Vec<(u32, Vec<u8>)>,
    pub n_b: Vec<u8>,
    /// Bob's y for the group he chose (absent when he rejects).
    pub bob_y: Option<(u32, Vec<u8>)>,
    pub c_a: u128,
    pub rshashes: Vec<Vec<u8>>,
    pub rshashes_random: Vec<Vec<u8>>,
    pub srshash_random: Vec<u8>,
    pub alice_rs: Vec<Vec<u8>>,
    pub bob_rs: Vec<Vec<u8>>,
    /// The RSA identity keys as PKCS#8 DER (public-key scenarios).
    pub alice_sign: Option<Vec<u8>>,
    pub bob_sign: Option<Vec<u8>>,
    /// The exponents of each side's re-keys, in order.
    pub alice_rekey_x: Vec<Vec<u8>>,
    pub bob_rekey_x: Vec<Vec<u8>>,
}

/// A recorded scenario.
pub struct Run {
    pub log: Vec<Entry>,
    pub secrets: Secrets,
}

/// One side of the in-memory pair.
pub struct Side {
    pub who: Who,
    pub jid: &'static str,
    pub ep: Endpoint<ChaCha20Rng>,
    /// Retained secrets and trusted keys.
    pub store: MemoryStore,
    pub outbox: Vec<String>,
}

fn event_text(o: &Output) -> String {
    match o {
        Output::Send(_) => "send".to_owned(),
        Output::Requested(r) => format!("requested by {} on thread {}", r.peer, r.thread),
        Output::SasReady { sas } => format!("sas {}", sas.padded),
        Output::Established(e) => format!(
            "established: modp {}, {}, {}, retained secret used {}, chain verified {}",
            e.negotiated.modp.number(),
            e.negotiated.cipher.name(),
            e.negotiated.hash.name(),
            e.retained_secret_used,
            e.chain_verified
        ),
        Output::Received(s) => format!("received {}", s.to_xml()),
        Output::Terminated(r) => format!("terminated {r:?}"),
        Output::Failed(e) => format!("failed: {e}"),
        Output::PlainRequested(p) => format!(
            "plain session requested by {} on thread {}: security {}, logging {}",
            p.peer, p.thread, p.security, p.logging
        ),
        Output::PlainEstablished(p) => format!(
            "plain session established with {}: security {}, logging {}",
            p.peer, p.security, p.logging
        ),
        Output::PeerKey(k) => format!(
            "peer key of {}: SHA-256 {}, {:?}",
            k.jid,
            hex::encode(&k.fingerprint),
            k.status
        ),
        other => format!("{other:?}"),
    }
}

impl Side {
    /// Drains the endpoint: sends go to the outbox, the rest to `log`.
    pub fn collect(&mut self, log: &mut Vec<Entry>) {
        while let Some(o) = self.ep.poll_output() {
            match o {
                Output::Send(mut s) => {
                    s.set_attr("from", self.jid);
                    self.outbox.push(s.to_xml());
                }
                other => log.push(Entry::Event {
                    who: self.who,
                    text: event_text(&other),
                }),
            }
        }
    }
}

/// Alice and Bob, a virtual clock, and the log of everything carried.
pub struct Pair {
    pub now: SystemTime,
    pub alice: Side,
    pub bob: Side,
    pub log: Vec<Entry>,
}

impl Pair {
    pub fn side(&mut self, who: Who) -> &mut Side {
        match who {
            Who::Alice => &mut self.alice,
            Who::Bob => &mut self.bob,
        }
    }

    /// Carries stanzas both ways, one second of virtual time per hop, until
    /// nothing is in flight; Bob accepts every request.
    pub fn drive(&mut self) {
        loop {
            let a = std::mem::take(&mut self.alice.outbox);
            let b = std::mem::take(&mut self.bob.outbox);
            if a.is_empty() && b.is_empty() {
                return;
            }
            for (from, batch) in [(Who::Alice, a), (Who::Bob, b)] {
                for text in batch {
                    self.now += Duration::from_secs(1);
                    self.log.push(Entry::Stanza {
                        from,
                        xml: text.clone(),
                    });
                    let now = self.now;
                    let log = &mut self.log;
                    let to = match from {
                        Who::Alice => &mut self.bob,
                        Who::Bob => &mut self.alice,
                    };
                    let stanza = Stanza::parse(&text).expect("the router carries stanzas");
                    if let Err(e) = to.ep.handle_stanza(now, stanza, &mut to.store) {
                        log.push(Entry::Event {
                            who: to.who,
                            text: format!("ignored: {e}"),
                        });
                    }
                    let before = log.len();
                    to.collect(log);
                    let requested = log[before..].iter().any(
                        |e| matches!(e, Entry::Event { text, .. } if text.starts_with("requested") || text.starts_with("plain session requested")),
                    );
                    if requested {
                        to.ep.accept(now).expect("accept");
                        to.collect(log);
                    }
                }
            }
        }
    }
}

fn seeded(label: &str) -> ChaCha20Rng {
    let seed: [u8; 32] = HASH
        .digest(format!("esession-online-transcripts/{label}").as_bytes())
        .as_bytes()
        .try_into()
        .expect("32 bytes");
    ChaCha20Rng::from_seed(seed)
}

fn random(rng: &mut ChaCha20Rng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

fn groups(ns: &[u32]) -> Vec<ModpGroup> {
    ns.iter()
        .map(|n| ModpGroup::from_number(*n).expect("group"))
        .collect()
}

pub fn alice_config(sc: &Scenario, key: Option<&[u8]>) -> Config {
    let mut c = Config::default();
    if let (Some(mode), Some(key)) = (sc.pubkey, key) {
        c.init_pubkey = vec![mode];
        c.resp_pubkey = vec![mode];
        c.sign_algs = vec![SignAlg::RsaSha256];
        c.identity_key = Some(IdentityKey::new(signing_key(key)));
    }
    c.modp = groups(sc.alice_modp);
    c.crypt_algs = vec![sc.cipher];
    c.shared_password = sc.password.map(SharedPassword::new);
    c.rekey_freq = sc.rekey_freq;
    c.three_message = sc.three_message;
    if sc.c2s {
        c.security = vec!["e2e".to_owned(), "c2s".to_owned()];
    }
    c
}

pub fn bob_config(sc: &Scenario, key: Option<&[u8]>) -> Config {
    let mut c = alice_config(sc, key);
    c.modp = groups(sc.bob_modp);
    c
}

fn secret_list(store: &MemoryStore, peer: &str, now: SystemTime) -> Vec<Vec<u8>> {
    store
        .secrets(peer, now)
        .unwrap()
        .iter()
        .map(|r| r.secret.as_bytes().to_vec())
        .collect()
}

/// Draws every random value of one negotiation (D2, D6, D12, D33).
fn draw(sc: &Scenario, rng: &mut ChaCha20Rng, alice_rs: &[Vec<u8>]) -> Secrets {
    let thread = hex::encode(random(rng, 16));
    let n_a = random(rng, 16);
    let alice_x = sc
        .alice_modp
        .iter()
        .map(|g| {
            let k = DhPrivateKey::generate(
                ModpGroup::from_number(*g).expect("group"),
                ExponentPolicy::Rfc3526,
                128,
                rng,
            )
            .expect("dh key");
            (*g, k.to_bytes().as_bytes().to_vec())
        })
        .collect();
    let n_b = random(rng, 16);
    let chosen = sc.alice_modp.iter().find(|g| sc.bob_modp.contains(g));
    let bob_y = chosen.map(|g| {
        let k = DhPrivateKey::generate(
            ModpGroup::from_number(*g).expect("group"),
            ExponentPolicy::Rfc3526,
            128,
            rng,
        )
        .expect("dh key");
        (*g, k.to_bytes().as_bytes().to_vec())
    });
    let c_a = Counters::random(Profile::Xep, rng).c_a;
    // D33: HMAC(N_A, RS) for every secret Alice holds, plus 1-3 random values,
    // in a random order.
    let n_random = 1 + (rng.next_u32() % 3) as usize;
    let rshashes_random: Vec<Vec<u8>> = (0..n_random).map(|_| random(rng, 32)).collect();
    let mut rshashes: Vec<Vec<u8>> = alice_rs
        .iter()
        .map(|rs| secrets::rshash(HASH, &n_a, rs).as_bytes().to_vec())
        .chain(rshashes_random.iter().cloned())
        .collect();
    for i in (1..rshashes.len()).rev() {
        let j = (rng.next_u32() as usize) % (i + 1);
        rshashes.swap(i, j);
    }
    let srshash_random = random(rng, 32);
    // One fresh exponent per re-key, in the chosen group (XEP-0200 §7.2).
    let (mut alice_rekey_x, mut bob_rekey_x) = (Vec::new(), Vec::new());
    for step in sc.steps {
        if let (Step::Rekey(who), Some(g)) = (step, chosen) {
            let k = DhPrivateKey::generate(
                ModpGroup::from_number(*g).expect("group"),
                ExponentPolicy::Rfc3526,
                128,
                rng,
            )
            .expect("dh key");
            let x = k.to_bytes().as_bytes().to_vec();
            match who {
                Who::Alice => alice_rekey_x.push(x),
                Who::Bob => bob_rekey_x.push(x),
            }
        }
    }
    Secrets {
        thread,
        n_a,
        alice_x,
        n_b,
        bob_y,
        c_a,
        rshashes,
        rshashes_random,
        srshash_random,
        alice_rs: alice_rs.to_vec(),
        bob_rs: Vec::new(),
        alice_rekey_x,
        bob_rekey_x,
        alice_sign: None,
        bob_sign: None,
    }
}

pub fn alice_pins(s: &Secrets) -> TestPins {
    TestPins {
        thread: Some(s.thread.clone()),
        nonce: Some(s.n_a.clone()),
        dh_x: s.alice_x.clone(),
        rshashes: Some(s.rshashes.clone()),
        rekey_x: s.alice_rekey_x.clone(),
        ..TestPins::default()
    }
}

pub fn bob_pins(s: &Secrets) -> TestPins {
    TestPins {
        nonce: Some(s.n_b.clone()),
        dh_x: s.bob_y.iter().cloned().collect(),
        c_a: Some(s.c_a),
        srshash_random: Some(s.srshash_random.clone()),
        rekey_x: s.bob_rekey_x.clone(),
        ..TestPins::default()
    }
}

/// A store holding `secrets` for `peer`, oldest last (as a store lists them).
pub fn store_with(peer: &str, list: &[Vec<u8>], now: SystemTime) -> MemoryStore {
    let mut s = MemoryStore::new();
    for rs in list.iter().rev() {
        s.store_secret(
            peer,
            None,
            RetainedSecret {
                secret: SecretBytes::new(rs.clone()),
                stored_at: now,
                verified: false,
                pending: false,
            },
        )
        .unwrap();
    }
    s
}

/// One pinned session between the two stores.
fn session(
    sc: &Scenario,
    rng: &mut ChaCha20Rng,
    now: SystemTime,
    mut alice_store: MemoryStore,
    mut bob_store: MemoryStore,
    sign: (Option<Vec<u8>>, Option<Vec<u8>>),
) -> (Pair, Secrets) {
    let alice_rs = secret_list(&alice_store, "bob@example.com", now);
    let mut secrets = draw(sc, rng, &alice_rs);
    secrets.bob_rs = secret_list(&bob_store, "alice@example.org", now);
    (secrets.alice_sign, secrets.bob_sign) = sign;
    // Hash mode (D30): each side already trusts the other's key.
    if sc.pubkey == Some(PubkeyMode::Hash) {
        for (trust, jid, key, petname) in [
            (
                &mut alice_store,
                "bob@example.com",
                &secrets.bob_sign,
                BOB_PETNAME,
            ),
            (
                &mut bob_store,
                "alice@example.org",
                &secrets.alice_sign,
                ALICE_PETNAME,
            ),
        ] {
            let key = key.as_ref().expect("a signing key");
            trust
                .trust_key(
                    jid,
                    TrustedKey {
                        key: key_value(key),
                        petname: petname.to_owned(),
                    },
                )
                .unwrap();
        }
    }
    // The endpoints' own RNGs are never drawn from once everything is pinned;
    // give them seeds of their own anyway.
    let alice = Endpoint::initiate_pinned(
        alice_config(sc, secrets.alice_sign.as_deref()),
        ChaCha20Rng::seed_from_u64(rng.next_u64()),
        "bob@example.com",
        alice_pins(&secrets),
    )
    .expect("alice config");
    let bob = Endpoint::responder_pinned(
        bob_config(sc, secrets.bob_sign.as_deref()),
        ChaCha20Rng::seed_from_u64(rng.next_u64()),
        bob_pins(&secrets),
    )
    .expect("bob config");
    let mut pair = Pair {
        now,
        alice: Side {
            who: Who::Alice,
            jid: ALICE,
            ep: alice,
            store: alice_store,
            outbox: Vec::new(),
        },
        bob: Side {
            who: Who::Bob,
            jid: BOB,
            ep: bob,
            store: bob_store,
            outbox: Vec::new(),
        },
        log: Vec::new(),
    };
    if let Some(object) = sc.object {
        // Before msg2 arrives: the content rides on msg3 (XEP-0116 §4.6.4).
        pair.alice
            .ep
            .send_with_accept(content_stanza(object), true)
            .expect("object encryption");
    }
    let mut log = Vec::new();
    pair.alice.collect(&mut log);
    pair.log = log;
    pair.drive();
    (pair, secrets)
}

/// The message stanza `send` is given for a step: `<message>` with `content`.
pub fn content_stanza(content: &str) -> Stanza {
    Stanza::parse(&format!(
        "<message xmlns='jabber:client'>{content}</message>"
    ))
    .expect("scenario content parses")
}

/// Runs a scenario: the negotiation, then its steps.
pub fn run(sc: &Scenario) -> Run {
    let mut rng = seeded(sc.name);
    let mut now = t0();
    let (mut alice_store, mut bob_store) = (MemoryStore::new(), MemoryStore::new());
    let sign = if sc.pubkey.is_some() {
        (Some(rsa_key(&mut rng)), Some(rsa_key(&mut rng)))
    } else {
        (None, None)
    };
    if sc.prior_session {
        let (first, _) = session(sc, &mut rng, now, alice_store, bob_store, sign.clone());
        assert!(first.alice.ep.is_established() && first.bob.ep.is_established());
        alice_store = first.alice.store;
        bob_store = first.bob.store;
        now = first.now + Duration::from_secs(3600);
    }
    let (mut pair, secrets) = session(sc, &mut rng, now, alice_store, bob_store, sign);
    for step in sc.steps {
        match *step {
            Step::Send(who, content) => {
                let now = pair.now;
                let mut log = std::mem::take(&mut pair.log);
                let side = pair.side(who);
                side.ep.send(now, content_stanza(content)).expect("send");
                side.collect(&mut log);
                pair.log = log;
            }
            Step::Terminate(who) => {
                let now = pair.now;
                let mut log = std::mem::take(&mut pair.log);
                let side = pair.side(who);
                side.ep.terminate(now).expect("terminate");
                side.collect(&mut log);
                pair.log = log;
            }
            Step::Rekey(who) => {
                let now = pair.now;
                let mut log = std::mem::take(&mut pair.log);
                let side = pair.side(who);
                side.ep.rekey(now).expect("rekey");
                side.collect(&mut log);
                pair.log = log;
            }
        }
        pair.drive();
    }
    Run {
        log: pair.log,
        secrets,
    }
}

/// The snapshot text: one line per stanza (wire XML) or event, in order.
pub fn snapshot(sc: &Scenario, run: &Run) -> String {
    let mut out = format!("# {}\n", sc.title);
    for e in &run.log {
        match e {
            Entry::Stanza { from, xml } => {
                let arrow = match from {
                    Who::Alice => "alice -> bob",
                    Who::Bob => "bob -> alice",
                };
                out += &format!("{arrow}: {xml}\n");
            }
            Entry::Event { who, text } => out += &format!("[{}] {text}\n", who.name()),
        }
    }
    out
}

fn hx(b: &[u8]) -> String {
    hex::encode(b)
}

/// A fresh RSA-2048 identity key, as PKCS#8 DER.
fn rsa_key(rng: &mut ChaCha20Rng) -> Vec<u8> {
    SigningKey::generate_rsa(2048, rng)
        .expect("RSA key")
        .to_pkcs8_der()
        .expect("pkcs8")
        .as_bytes()
        .to_vec()
}

/// The signing key of PKCS#8 DER bytes.
pub fn signing_key(der: &[u8]) -> SigningKey {
    SigningKey::from_pkcs8_der(der).expect("a PKCS#8 key")
}

/// pubKey: the D28 `<KeyValue/>` bytes of a signing key (PKCS#8 DER).
pub fn key_value(der: &[u8]) -> Vec<u8> {
    IdentityKey::new(signing_key(der))
        .key_bytes()
        .expect("KeyValue of an RSA key")
}

const ALICE_PETNAME: &str = "Alice's key";
const BOB_PETNAME: &str = "Bob's laptop key";

/// What a side's trust store holds before the session (hash mode: the peer's key).
fn trusted_json(sc: &Scenario, peer_key: Option<&[u8]>, jid: &str, petname: &str) -> Value {
    match (sc.pubkey, peer_key) {
        (Some(PubkeyMode::Hash), Some(der)) => json!([{
            "jid": jid,
            "key_value": String::from_utf8(key_value(der)).expect("utf-8"),
            "petname": petname,
        }]),
        _ => json!([]),
    }
}

fn sign_key_json(der: Option<&[u8]>) -> Value {
    let Some(der) = der else {
        return Value::Null;
    };
    let key = signing_key(der);
    let PublicKeyComponents::Rsa { modulus, exponent } = key.verifying_key().components() else {
        panic!("an RSA key")
    };
    json!({
        "alg": SignAlg::RsaSha256.uri(),
        "modulus": hx(&modulus),
        "exponent": hx(&exponent),
        "pkcs8": hx(der),
        "key_value": String::from_utf8(key_value(der)).expect("utf-8"),
    })
}

/// The signature inside an identity plaintext (D29), if any.
fn signature_of(plaintext: &[u8]) -> Option<Vec<u8>> {
    identity::parse_signed_identity(plaintext)
        .ok()
        .map(|p| p.signature)
}

fn form_text(stanza: &Stanza) -> (Negotiation, String) {
    let neg = stanza
        .negotiation()
        .expect("negotiation parses")
        .expect("a negotiation form");
    let bytes = neg.form.form_bytes(NormProfile::Xep).expect("form bytes");
    (neg.message, String::from_utf8(bytes).expect("utf-8"))
}

fn counter_hex(c: u128) -> String {
    hx(&mpi::encode_u128(c))
}

/// The esession-transcript/1 document of a run.
#[allow(clippy::too_many_lines)]
pub fn vector(sc: &Scenario, run: &Run) -> Value {
    let s = &run.secrets;
    let stanzas: Vec<(Who, &str)> = run
        .log
        .iter()
        .filter_map(|e| match e {
            Entry::Stanza { from, xml } => Some((*from, xml.as_str())),
            Entry::Event { .. } => None,
        })
        .collect();
    let oss = sc.password.map(|p| hx(p.as_bytes()));
    let mut alice_dh = Map::new();
    for (g, x) in &s.alice_x {
        let k = DhPrivateKey::from_bytes(ModpGroup::from_number(*g).expect("group"), x).expect("x");
        alice_dh.insert(g.to_string(), json!({"x": hx(x), "e": hx(k.public_key())}));
    }
    let alice = json!({
        "jid": ALICE,
        "offer_modp": sc.alice_modp,
        "nonce": hx(&s.n_a),
        "dh": alice_dh,
        "retained_secrets": s.alice_rs.iter().map(|r| hx(r)).collect::<Vec<_>>(),
        "rshashes_random": s.rshashes_random.iter().map(|r| hx(r)).collect::<Vec<_>>(),
        "oss": oss,
        "sign_key": sign_key_json(s.alice_sign.as_deref()),
        "trusted_keys": trusted_json(sc, s.bob_sign.as_deref(), "bob@example.com", BOB_PETNAME),
    });
    let mut doc = json!({
        "schema": "esession-transcript/1",
        "name": sc.title,
        "source": format!(
            "generated by esession-online (crates/esession-online/tests/common_transcript/mod.rs, scenario {:?}, seed SHA-256(\"esession-online-transcripts/{}\")): both endpoints run in memory with this randomness pinned",
            sc.name, sc.name
        ),
        "profile": "xep",
        "mode": if sc.three_message { "3-message" } else { "4-message" },
        "thread": s.thread,
        "alice": alice,
    });
    if let Some(err) = sc.expect_error {
        // A rejection: msg1 and the error answer, nothing derived.
        doc["bob"] = json!({
            "jid": BOB,
            "accept_modp": sc.bob_modp,
            "nonce": hx(&s.n_b),
            "retained_secrets": [],
            "oss": oss,
            "sign_key": null,
        });
        doc["messages"] = json!(
            stanzas
                .iter()
                .enumerate()
                .map(|(i, (from, xml))| json!({
                    "n": i + 1,
                    "from": from.name(),
                    "kind": if i == 0 { "request" } else { "error" },
                    "xml": xml,
                }))
                .collect::<Vec<_>>()
        );
        doc["expect_error"] = json!(err);
        doc["expect_error_step"] = json!(2);
        return doc;
    }

    if sc.c2s {
        // A plain stanza session (XEP-0116 §4.4): the request, Bob's plain
        // accept, then unencrypted stanzas; nothing is derived.
        doc["mode"] = json!("plain");
        doc["bob"] = json!({
            "jid": BOB,
            "accept_modp": sc.bob_modp,
            "nonce": hx(&s.n_b),
            "retained_secrets": [],
            "oss": oss,
            "sign_key": null,
            "trusted_keys": [],
        });
        doc["security"] = json!(["e2e", "c2s"]);
        doc["messages"] = json!(
            stanzas[..2]
                .iter()
                .enumerate()
                .map(|(i, (from, xml))| json!({
                    "n": i + 1,
                    "from": from.name(),
                    "kind": if i == 0 { "request" } else { "plain-accept" },
                    "xml": xml,
                }))
                .collect::<Vec<_>>()
        );
        let contents = sc.steps.iter().filter_map(|st| match st {
            Step::Send(_, c) => Some(*c),
            Step::Terminate(_) | Step::Rekey(_) => None,
        });
        doc["stanzas"] = json!(
            stanzas[2..]
                .iter()
                .zip(contents)
                .map(|((from, xml), content)| {
                    assert!(xml.contains(content), "{}: plain content", sc.name);
                    json!({"from": from.name(), "kind": "plain", "plaintext": content, "xml": xml})
                })
                .collect::<Vec<_>>()
        );
        return doc;
    }
    let Negotiated4 {
        session,
        mut next,
        group,
        cipher,
        e,
        d,
    } = if sc.three_message {
        three_message(sc, s, &stanzas, &mut doc, oss.as_ref())
    } else {
        four_message(sc, s, &stanzas, &mut doc, oss.as_ref())
    };
    let n_neg = if sc.three_message { 3 } else { 4 };
    let mut out = Vec::new();
    let mut termination = Vec::new();
    let mut contents = sc.steps.iter().filter_map(|st| match st {
        Step::Send(_, c) => Some(*c),
        Step::Terminate(_) | Step::Rekey(_) => None,
    });
    // Which keys each side sends under: None = the session keys, Some(i) =
    // re-key i (its initiator keys for whoever sent <key/>, D41).
    let mut under: [Option<usize>; 2] = [None, None];
    let mut rekeys: Vec<(Who, keys::RekeyKeys)> = Vec::new();
    let mut rekey_json = Vec::new();
    // The latest public value of each side (a re-key uses the peer's latest).
    let mut latest_public = [e.clone(), d.clone()];
    let mut rekey_x = [s.alice_rekey_x.iter(), s.bob_rekey_x.iter()];
    // Object encryption: msg3 itself carries the first <c/> (XEP-0116 §4.6.4).
    let mut post: Vec<(Who, &str)> = Vec::new();
    if sc.object.is_some() {
        post.push(stanzas[2]);
    }
    post.extend_from_slice(&stanzas[n_neg..]);
    for (index, (from, xml)) in post.iter().enumerate() {
        let is_object = index == 0 && sc.object.is_some();
        let st = Stanza::parse(xml).expect("stanza");
        let c = st.encrypted().expect("<c/>").expect("an encrypted stanza");
        let from_alice = *from == Who::Alice;
        let slot = usize::from(!from_alice);
        let (kc, km) = match under[slot] {
            None => {
                let dk = session.of(if from_alice {
                    Role::Initiator
                } else {
                    Role::Responder
                });
                (dk.kc().clone(), dk.km().clone())
            }
            Some(i) => {
                let (by, rk) = &rekeys[i];
                let tk = if *by == *from {
                    &rk.initiator
                } else {
                    &rk.acceptor
                };
                (tk.kc.clone(), tk.km.clone())
            }
        };
        let before = next[slot];
        // D40: the MAC over m_content ‖ mpi(C on entry), checked first.
        let mac_ok = HASH
            .verify_hmac(
                km.as_bytes(),
                &[&c.m_content, &mpi::encode_u128(before)],
                &c.content.mac,
            )
            .is_ok();
        assert!(mac_ok, "{}: stanza MAC under the expected keys", sc.name);
        let data = c.content.data.clone().unwrap_or_default();
        let mut plain = data.clone();
        let blocks = if c.content.data.is_some() {
            kc.apply_keystream(Profile::Xep.cipher_counter(before), &mut plain)
                .expect("keystream")
        } else {
            1 // D40: a stanza without <data/> advances the counter by one
        };
        let after = counters::advance(before, blocks);
        next[slot] = after;
        let plaintext = String::from_utf8(plain).expect("utf-8 plaintext");
        let label = under[slot].map_or_else(|| "session".to_owned(), |i| format!("rekey {i}"));
        // <old/>: retired MAC keys published in the clear (XEP-0200 §8, D41).
        let old_keys: Vec<String> = c.content.old.iter().map(|k| hx(k)).collect();
        if let Some(new_e) = &c.content.key {
            // A re-key (XEP-0200 §7.2, D41): K = mpi(peer_latest^x'), unhashed.
            let x_bytes = rekey_x[slot].next().expect("a pinned re-key exponent");
            let xk = DhPrivateKey::from_bytes(group, x_bytes).expect("rekey x");
            assert_eq!(
                xk.public_key(),
                new_e.as_slice(),
                "{}: <key/> = g^x'",
                sc.name
            );
            let peer_public = latest_public[1 - slot].clone();
            let kk = xk.shared_secret(&peer_public).expect("rekey K");
            let rk =
                keys::rekey_keys(HASH, cipher, Profile::Xep, kk.as_bytes()).expect("rekey keys");
            rekey_json.push(json!({
                "from": from.name(),
                "x": hx(x_bytes),
                "e": hx(new_e),
                "peer_public": hx(&peer_public),
                "shared_secret": hx(kk.as_bytes()),
                "keys": {
                    "KCA": hx(rk.initiator.kc.key_bytes()),
                    "KMA": hx(rk.initiator.km.as_bytes()),
                    "KCB": hx(rk.acceptor.kc.key_bytes()),
                    "KMB": hx(rk.acceptor.km.as_bytes()),
                },
            }));
            latest_public[slot] = new_e.clone();
            rekeys.push((*from, rk));
            // Delivered at once: both sides switch (the receiver answers with <new/>).
            under = [Some(rekeys.len() - 1); 2];
        }
        let form = content_stanza(if plaintext.is_empty() { "" } else { &plaintext })
            .negotiation()
            .expect("plaintext parses")
            .map(|n| n.message);
        let kind = if is_object {
            assert_eq!(
                Some(plaintext.as_str()),
                sc.object,
                "{}: the object",
                sc.name
            );
            "object"
        } else if c.content.key.is_some() {
            assert!(plaintext.is_empty(), "{}: a bare re-key", sc.name);
            "rekey"
        } else if let Some(message) = form {
            match message {
                Negotiation::Terminate => "terminate",
                Negotiation::TerminateAck => "terminate-ack",
                other => panic!("{}: unexpected form {other:?}", sc.name),
            }
        } else {
            let expected = contents.next().expect("a content step");
            assert_eq!(plaintext, expected, "{}: stanza plaintext", sc.name);
            "content"
        };
        if matches!(kind, "terminate" | "terminate-ack" | "object") {
            termination.push(
                json!({"from": from.name(), "kind": kind, "xml": xml, "old_mac_keys": old_keys}),
            );
        }
        out.push(json!({
            "from": from.name(),
            "kind": kind,
            "under": label,
            "old_mac_keys": old_keys,
            "plaintext": plaintext,
            "counter_before": counter_hex(before),
            "counter_after": counter_hex(after),
            "data": hx(&data),
            "m_content": String::from_utf8(c.m_content.clone()).expect("utf-8"),
            "mac": hx(&c.content.mac),
            "xml": xml,
        }));
    }
    doc["stanzas"] = json!(out);
    if let Some(object) = sc.object {
        doc["object"] = json!({"plaintext": object, "terminate": true});
    }
    if !rekey_json.is_empty() {
        doc["rekeys"] = json!(rekey_json);
    }
    if !termination.is_empty() {
        doc["termination"] = json!(termination);
    }
    doc
}

/// What the negotiation left for the XEP-0200 stanzas.
struct Negotiated4 {
    session: SessionKeys,
    /// The counters of the first stanza each way (after the identities, D13).
    next: [u128; 2],
    group: ModpGroup,
    cipher: CipherAlg,
    e: Vec<u8>,
    d: Vec<u8>,
}

/// The 3-message negotiation (XEP-0116 §4.3-§4.6, DECISIONS D46) of a run:
/// fills `bob`, `negotiated`, `messages` and `derived`. The keys come from K
/// directly; there is no SAS and no SRS/OSS step.
#[allow(clippy::too_many_lines)]
fn three_message(
    sc: &Scenario,
    s: &Secrets,
    stanzas: &[(Who, &str)],
    doc: &mut Value,
    oss: Option<&String>,
) -> Negotiated4 {
    let kinds = ["request", "response", "accept"];
    // Object encryption: formA2 is msg3's form with its terminate field (D46).
    let parsed: Vec<Stanza> = stanzas[..3]
        .iter()
        .map(|(_, x)| Stanza::parse(x).expect("stanza"))
        .collect();
    let (m1, form_a) = form_text(&parsed[0]);
    let (m2, form_b) = form_text(&parsed[1]);
    let (m3, form_a2) = form_text(&parsed[2]);
    let (Negotiation::Request(_), Negotiation::Response(m2), Negotiation::AliceAccept(m3)) =
        (m1, m2, m3)
    else {
        panic!("{}: not a 3-message negotiation", sc.name)
    };
    let group = ModpGroup::from_number(m2.modp).expect("group");
    let cipher = CipherAlg::from_name(&m2.crypt_alg).expect("cipher");
    let (_, y_bytes) = s.bob_y.clone().expect("bob's y");
    let y = DhPrivateKey::from_bytes(group, &y_bytes).expect("y");
    assert_eq!(y.public_key(), m2.dhkey.as_slice(), "{}: d = g^y", sc.name);
    let x_bytes = &s
        .alice_x
        .iter()
        .find(|(g, _)| *g == m2.modp)
        .expect("alice's x")
        .1;
    let x = DhPrivateKey::from_bytes(group, x_bytes).expect("x");
    let e = x.public_key().to_vec();
    let d = m2.dhkey.clone();
    let shared = x.shared_secret(&d).expect("d^x");
    let k = keys::k_dh(HASH, shared.as_bytes());
    // D46: the final keys come from K.
    let session = SessionKeys::derive(HASH, cipher, Profile::Xep, k.as_bytes()).expect("keys");
    let pub_a = s.alice_sign.as_deref().map(key_value).unwrap_or_default();
    let pub_b = s.bob_sign.as_deref().map(key_value).unwrap_or_default();
    let mac_b = identity::mac_b(
        HASH,
        session.responder().ks().as_bytes(),
        &MacBInput {
            n_a: &s.n_a,
            n_b: &m2.my_nonce,
            d: &d,
            pub_key_b: &pub_b,
            form_b: form_b.as_bytes(),
            form_b2: None,
        },
    );
    let mac_a = identity::mac_a(
        HASH,
        session.initiator().ks().as_bytes(),
        &MacAInput {
            n_a: &s.n_a,
            n_b: &m2.my_nonce,
            e: &e,
            pub_key_a: &pub_a,
            form_a: form_a.as_bytes(),
            form_a2: form_a2.as_bytes(),
        },
    );
    let ctr = Counters::from_c_a(m2.counter);
    let (id_b, m_b) = (
        m2.identity.clone().expect("ID_B in msg2"),
        m2.mac.clone().expect("M_B in msg2"),
    );
    let plain_b = session
        .responder()
        .open_identity(ctr.c_b, &id_b, &m_b)
        .expect("ID_B opens")
        .plaintext
        .as_bytes()
        .to_vec();
    let plain_a = session
        .initiator()
        .open_identity(ctr.c_a, &m3.identity, &m3.mac)
        .expect("ID_A opens")
        .plaintext
        .as_bytes()
        .to_vec();
    let (sign_a, sign_b) = (signature_of(&plain_a), signature_of(&plain_b));
    for (who, der, sig, mac, plain, pubk) in [
        (
            "alice",
            &s.alice_sign,
            &sign_a,
            mac_a.as_bytes(),
            &plain_a,
            &pub_a,
        ),
        (
            "bob",
            &s.bob_sign,
            &sign_b,
            mac_b.as_bytes(),
            &plain_b,
            &pub_b,
        ),
    ] {
        let der = der.as_deref().expect("3-message needs keys (D46)");
        let sig = sig.as_ref().expect("a signed identity");
        signing_key(der)
            .verifying_key()
            .verify(mac, sig)
            .expect("the signature verifies");
        assert_eq!(
            *plain,
            identity::signed_identity_plaintext(pubk, sig),
            "{}: {who}'s identity plaintext",
            sc.name
        );
    }
    doc["alice"]["rshashes_random"] = json!([]);
    doc["bob"] = json!({
        "jid": BOB,
        "accept_modp": sc.bob_modp,
        "nonce": hx(&s.n_b),
        "y": hx(&y_bytes),
        "d": hx(&d),
        "counter_a": counter_hex(s.c_a),
        "retained_secrets": s.bob_rs.iter().map(|r| hx(r)).collect::<Vec<_>>(),
        "srshash_random": null,
        "oss": oss,
        "sign_key": sign_key_json(s.bob_sign.as_deref()),
        "trusted_keys": [],
    });
    doc["negotiated"] = json!({
        "modp": m2.modp,
        "crypt_algs": m2.crypt_alg,
        "hash_algs": m2.hash_alg,
        "sign_algs": m2.sign_alg,
        "compress": m2.compress,
        "init_pubkey": m2.init_pubkey,
        "resp_pubkey": m2.resp_pubkey,
        "ver": m2.ver,
        "rekey_freq": m2.rekey_freq,
        "stanzas": m2.stanzas,
    });
    doc["messages"] = json!(
        stanzas[..3]
            .iter()
            .enumerate()
            .map(|(i, (from, xml))| json!({"n": i + 1, "from": from.name(), "kind": kinds[i], "xml": xml}))
            .collect::<Vec<_>>()
    );
    let pk = |dk: &DirectionKeys| {
        (
            hx(dk.kc().key_bytes()),
            hx(dk.km().as_bytes()),
            hx(dk.ks().as_bytes()),
        )
    };
    let (kca, kma, ksa) = pk(session.initiator());
    let (kcb, kmb, ksb) = pk(session.responder());
    doc["derived"] = json!({
        "shared_secret": hx(shared.as_bytes()),
        "k_dh": hx(k.as_bytes()),
        "counter_b": counter_hex(ctr.c_b),
        "form_a": form_a,
        "form_b": form_b,
        "form_a2": form_a2,
        "mac_b": hx(mac_b.as_bytes()),
        "id_b": hx(&id_b),
        "m_b": hx(&m_b),
        "mac_a": hx(mac_a.as_bytes()),
        "id_a": hx(&m3.identity),
        "m_a": hx(&m3.mac),
        "keys": {"KCA": kca, "KMA": kma, "KSA": ksa, "KCB": kcb, "KMB": kmb, "KSB": ksb},
        "sign_a": sign_a.as_ref().map(|s| hx(s)),
        "sign_b": sign_b.as_ref().map(|s| hx(s)),
    });
    let next = [
        counters::advance(
            ctr.c_a,
            esession_crypto::cipher::blocks_for(m3.identity.len()),
        ),
        counters::advance(ctr.c_b, esession_crypto::cipher::blocks_for(id_b.len())),
    ];
    Negotiated4 {
        session,
        next,
        group,
        cipher,
        e,
        d,
    }
}

/// The 4-message negotiation (XEP-0116 §4.3-§4.8) of a run: fills `bob`,
/// `negotiated`, `messages` and `derived`.
#[allow(clippy::too_many_lines)]
fn four_message(
    sc: &Scenario,
    s: &Secrets,
    stanzas: &[(Who, &str)],
    doc: &mut Value,
    oss: Option<&String>,
) -> Negotiated4 {
    let kinds = ["request", "response", "accept", "accept"];
    // The four negotiation messages, parsed from the recorded text.
    let parsed: Vec<Stanza> = stanzas[..4]
        .iter()
        .map(|(_, x)| Stanza::parse(x).expect("stanza"))
        .collect();
    let (m1, form_a) = form_text(&parsed[0]);
    let (m2, form_b) = form_text(&parsed[1]);
    let (m3, form_a2) = form_text(&parsed[2]);
    let (m4, form_b2) = form_text(&parsed[3]);
    let (
        Negotiation::Request(_),
        Negotiation::Response(m2),
        Negotiation::AliceAccept(m3),
        Negotiation::BobAccept(m4),
    ) = (m1, m2, m3, m4)
    else {
        panic!("{}: not a 4-message negotiation", sc.name)
    };
    let group = ModpGroup::from_number(m2.modp).expect("group");
    let cipher = CipherAlg::from_name(&m2.crypt_alg).expect("cipher");
    let (_, y_bytes) = s.bob_y.clone().expect("bob's y");
    let y = DhPrivateKey::from_bytes(group, &y_bytes).expect("y");
    assert_eq!(y.public_key(), m2.dhkey.as_slice(), "{}: d = g^y", sc.name);
    let x_bytes = &s
        .alice_x
        .iter()
        .find(|(g, _)| *g == m2.modp)
        .expect("alice's x")
        .1;
    let x = DhPrivateKey::from_bytes(group, x_bytes).expect("x");
    let e = x.public_key().to_vec();
    let d = m2.dhkey.clone();
    let shared = x.shared_secret(&d).expect("d^x");
    let k = keys::k_dh(HASH, shared.as_bytes());
    let provisional =
        DirectionKeys::derive(HASH, cipher, Profile::Xep, k.as_bytes(), Role::Initiator)
            .expect("provisional keys");
    // macX covers the full D28 pubKey bytes in key and hash modes (D28-D30).
    let pub_a = s.alice_sign.as_deref().map(key_value).unwrap_or_default();
    let pub_b = s.bob_sign.as_deref().map(key_value).unwrap_or_default();
    let mac_a = identity::mac_a(
        HASH,
        provisional.ks().as_bytes(),
        &MacAInput {
            n_a: &s.n_a,
            n_b: &m2.my_nonce,
            e: &e,
            pub_key_a: &pub_a,
            form_a: form_a.as_bytes(),
            form_a2: form_a2.as_bytes(),
        },
    );
    let shown = sas::sas(HASH, &m3.mac, form_b.as_bytes());
    let rsh: Vec<&[u8]> = m3.rshashes.iter().map(Vec::as_slice).collect();
    let bob_cands: Vec<&[u8]> = s.bob_rs.iter().map(Vec::as_slice).collect();
    let srs = secrets::find_srs_bob(HASH, &s.n_a, &rsh, &bob_cands).map(|i| s.bob_rs[i].clone());
    let k_final = secrets::k_final(
        HASH,
        k.as_bytes(),
        srs.as_deref(),
        sc.password.map(str::as_bytes),
    );
    let session =
        SessionKeys::derive(HASH, cipher, Profile::Xep, k_final.as_bytes()).expect("session keys");
    let mac_b = identity::mac_b(
        HASH,
        session.responder().ks().as_bytes(),
        &MacBInput {
            n_a: &s.n_a,
            n_b: &m2.my_nonce,
            d: &d,
            pub_key_b: &pub_b,
            form_b: form_b.as_bytes(),
            form_b2: Some(form_b2.as_bytes()),
        },
    );
    let ctr = Counters::from_c_a(m2.counter);
    let new_rs = secrets::new_retained_secret(HASH, k_final.as_bytes());
    // The identities as sent: macX, or pubKey part ‖ <SignatureValue> (D29).
    let plain_a = provisional
        .open_identity(ctr.c_a, &m3.identity, &m3.mac)
        .expect("ID_A opens")
        .plaintext
        .as_bytes()
        .to_vec();
    let plain_b = session
        .responder()
        .open_identity(ctr.c_b, &m4.identity, &m4.mac)
        .expect("ID_B opens")
        .plaintext
        .as_bytes()
        .to_vec();
    let (sign_a, sign_b) = (signature_of(&plain_a), signature_of(&plain_b));
    for (who, key, sig, mac, plain, pubk) in [
        (
            "alice",
            &s.alice_sign,
            &sign_a,
            mac_a.as_bytes(),
            &plain_a,
            &pub_a,
        ),
        (
            "bob",
            &s.bob_sign,
            &sign_b,
            mac_b.as_bytes(),
            &plain_b,
            &pub_b,
        ),
    ] {
        match (key, sig) {
            (None, _) => assert_eq!(
                plain.as_slice(),
                mac,
                "{}: {who}'s identity is macX",
                sc.name
            ),
            (Some(k), Some(sig)) => {
                signing_key(k)
                    .verifying_key()
                    .verify(mac, sig)
                    .expect("the signature verifies");
                let part = if sc.pubkey == Some(PubkeyMode::Hash) {
                    identity::fingerprint_part(HASH, pubk)
                } else {
                    pubk.clone()
                };
                assert_eq!(
                    *plain,
                    identity::signed_identity_plaintext(&part, sig),
                    "{}: {who}'s identity plaintext",
                    sc.name
                );
            }
            (Some(_), None) => panic!("{}: {who}'s identity is not signed", sc.name),
        }
    }
    doc["bob"] = json!({
        "jid": BOB,
        "accept_modp": sc.bob_modp,
        "nonce": hx(&s.n_b),
        "y": hx(&y_bytes),
        "d": hx(&d),
        "counter_a": counter_hex(s.c_a),
        "retained_secrets": s.bob_rs.iter().map(|r| hx(r)).collect::<Vec<_>>(),
        "srshash_random": if srs.is_none() { json!(hx(&s.srshash_random)) } else { Value::Null },
        "oss": oss,
        "sign_key": sign_key_json(s.bob_sign.as_deref()),
        "trusted_keys": trusted_json(sc, s.alice_sign.as_deref(), "alice@example.org", ALICE_PETNAME),
    });
    doc["negotiated"] = json!({
        "modp": m2.modp,
        "crypt_algs": m2.crypt_alg,
        "hash_algs": m2.hash_alg,
        "compress": m2.compress,
        "sas_algs": m2.sas_alg,
        "init_pubkey": m2.init_pubkey,
        "resp_pubkey": m2.resp_pubkey,
        "ver": m2.ver,
        "rekey_freq": m2.rekey_freq,
        "stanzas": m2.stanzas,
    });
    doc["messages"] = json!(
        stanzas[..4]
            .iter()
            .enumerate()
            .map(|(i, (from, xml))| json!({"n": i + 1, "from": from.name(), "kind": kinds[i], "xml": xml}))
            .collect::<Vec<_>>()
    );
    let pk = |dk: &DirectionKeys| {
        (
            hx(dk.kc().key_bytes()),
            hx(dk.km().as_bytes()),
            hx(dk.ks().as_bytes()),
        )
    };
    let (pkc, pkm, pks) = pk(&provisional);
    let (kca, kma, ksa) = pk(session.initiator());
    let (kcb, kmb, ksb) = pk(session.responder());
    doc["derived"] = json!({
        "shared_secret": hx(shared.as_bytes()),
        "k_dh": hx(k.as_bytes()),
        "counter_b": counter_hex(ctr.c_b),
        "provisional_keys": {"KCA": pkc, "KMA": pkm, "KSA": pks},
        "form_a": form_a,
        "form_b": form_b,
        "form_a2": form_a2,
        "form_b2": form_b2,
        "mac_a": hx(mac_a.as_bytes()),
        "id_a": hx(&m3.identity),
        "m_a": hx(&m3.mac),
        "sas": shown.display(Profile::Xep),
        "rshashes": m3.rshashes.iter().map(|r| hx(r)).collect::<Vec<_>>(),
        "srs": srs.as_ref().map(|r| hx(r)),
        "k_final": hx(k_final.as_bytes()),
        "srshash": hx(&m4.srshash),
        "keys": {"KCA": kca, "KMA": kma, "KSA": ksa, "KCB": kcb, "KMB": kmb, "KSB": ksb},
        "mac_b": hx(mac_b.as_bytes()),
        "id_b": hx(&m4.identity),
        "m_b": hx(&m4.mac),
        "sign_a": sign_a.as_ref().map(|s| hx(s)),
        "sign_b": sign_b.as_ref().map(|s| hx(s)),
        "new_retained_secret": hx(new_rs.as_bytes()),
    });

    // XEP-0200 stanzas: counters continue after the identities (D13).
    let next = [
        counters::advance(
            ctr.c_a,
            esession_crypto::cipher::blocks_for(m3.identity.len()),
        ),
        counters::advance(
            ctr.c_b,
            esession_crypto::cipher::blocks_for(m4.identity.len()),
        ),
    ];
    Negotiated4 {
        session,
        next,
        group,
        cipher,
        e,
        d,
    }
}

/// The text written to `vectors/online/<name>.json`.
pub fn render(doc: &Value) -> String {
    let mut out = serde_json::to_string_pretty(doc).expect("json");
    out.push('\n');
    out
}
