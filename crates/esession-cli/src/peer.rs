//! `esession peer`: one ESession endpoint driven over stdin/stdout, speaking
//! `docs/peer-protocol.md`.
//!
//! ```text
//!  driver ── one JSON request per line ──▶ stdin ─▶ request::parse ─▶ Peer::handle
//!                                                                    │
//!        Endpoint (esession-online) ◀─ init/start/deliver/send/... ──┘
//!            │ poll_output: Send / Requested / SasReady / PeerKey /
//!            │              Established / Received / Terminated / Failed
//!            ▼
//!  driver ◀── one JSON response per line (out, received, state) ◀── stdout
//! ```
//!
//! Every request gets exactly one response line, flushed at once; logs go to
//! standard error. A malformed request or an unknown op is answered with
//! `"ok": false` and an `error`; the peer stays usable.
//!
//! The peer plays the application around the library: as Bob it accepts every
//! request, stamps `from` (its own JID) and `to` (the peer's JID) on every
//! stanza it emits, and trusts a presented public key on first use (reported
//! in `state.peer_fingerprint`). The clock is the system clock; with a `seed`
//! every random value comes from ChaCha20 seeded with SHA-256(seed ‖ 0x00 ‖
//! role), so a run repeats byte for byte (signing keys come from a second
//! stream, seeded the same way from `seed ‖ 0x00 ‖ "signing keys"`).
//!
//! ## Choices the protocol leaves to the peer
//!
//! - `rekey` only checks that a re-key is allowed now (XEP-0200 §7, D42:
//!   rekey_freq, never in the gajim profile) and arms it; the next `send`
//!   emits the `<key/>` stanza first and then the message, both in its `out`.
//! - Keys: when the own pubkey mode (`init_pubkey` for alice, `resp_pubkey`
//!   for bob) is `key` or `hash`, `init` generates an RSA-2048 key (first
//!   of `sign_algs`) from a key stream of the seed; `public_key` generates one
//!   on demand. A presented key with no trusted key for its JID is trusted on
//!   first use; one that differs from a trusted (pinned) key is refused with
//!   [`Endpoint::reject_peer_key`] and the session reports `failed`.
//! - Offline (XEP-0187, see `offline.rs`): options carry signatures but no
//!   key, so there is no trust on first use; the driver pins both keys.
//! - `deliver` reports a stanza that cannot be parsed or that the endpoint
//!   refuses as a `received` entry with `"ok": false`; the request is `ok`.
//! - `state` carries, beyond the protocol's fields, `error`: the last failure.
//!
//! ## The `store` directory
//!
//! With `store`, retained secrets and trusted keys live in an
//! `esession-store` [`SqliteStore`] file `<own bare JID>.sqlite` inside the
//! directory. Its [`StoreKey`] is, as a test-harness convenience only, kept
//! in the file `peer-store.key` in the same directory (32 random bytes,
//! created on first use, mode 0600 on Unix): anyone who can read the
//! directory can read the secrets. A real application keeps the key in the
//! OS keyring. With `fresh_secrets` (the default) the secrets stored before
//! this `init` are ignored (not deleted), so every run starts without a
//! retained secret unless the driver asks for `fresh_secrets: false`.

mod offline;
pub mod request;

use std::io::{BufRead, Read as _, Write};
use std::path::Path;
use std::time::SystemTime;

use esession_crypto::SecretBytes;
use esession_crypto::hash::HashAlg;
use esession_crypto::sign::{SignAlg, SigningKey};
use esession_offline::{OfflineStore, PublishedOptions, ReceiveSession, Receiver, SendSession};
use esession_online::{
    Config, Endpoint, GAJIM_FALLBACK_BODY, IdentityKey, KeyStatus, Negotiated, Output, Profile,
    PubkeyMode, RetainedSecret, SessionStore, SharedPassword, TerminationReason, TrustedKey,
};
use esession_store::{SqliteStore, StoreKey};
use esession_wire::KeyValue;
use esession_wire::{Element, Stanza, StanzaKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::{Value, json};
use zeroize::Zeroize as _;

pub use request::{InitRequest, Mode, Request, Role, parse};

/// The longest request line read (1 MiB): longer lines are refused.
pub const MAX_LINE: usize = 1 << 20;

/// The namespace of XEP-0085 chat states.
pub const NS_CHATSTATES: &str = "http://jabber.org/protocol/chatstates";

/// The file in a `store` directory that holds the store key (test harness only).
pub const STORE_KEY_FILE: &str = "peer-store.key";

/// What the session looks like to the driver (`state.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing started yet.
    None,
    /// A negotiation is running.
    Negotiating,
    /// Encrypted stanzas flow.
    Active,
    /// The session ended normally.
    Terminated,
    /// The negotiation or the session failed.
    Failed,
}

impl Status {
    /// The protocol's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::None => "none",
            Status::Negotiating => "negotiating",
            Status::Active => "active",
            Status::Terminated => "terminated",
            Status::Failed => "failed",
        }
    }
}

/// The session's one store (an SQLite file in the `store` directory, or an
/// in-memory SQLite database), hiding the secrets stored before `since`
/// (`fresh_secrets`): the store is left as it is, this run just does not
/// see them.
struct FreshOnly {
    inner: SqliteStore,
    since: Option<SystemTime>,
}

impl FreshOnly {
    fn visible(&self, s: &RetainedSecret) -> bool {
        self.since.is_none_or(|t| s.stored_at >= t)
    }
}

impl SessionStore for FreshOnly {
    type Error = esession_store::Error;

    fn secrets(&self, peer: &str, now: SystemTime) -> Result<Vec<RetainedSecret>, Self::Error> {
        let mut v = self.inner.secrets(peer, now)?;
        v.retain(|s| self.visible(s));
        Ok(v)
    }

    fn other_secrets(
        &self,
        peer: &str,
        now: SystemTime,
    ) -> Result<Vec<(String, RetainedSecret)>, Self::Error> {
        let mut v = self.inner.other_secrets(peer, now)?;
        v.retain(|(_, s)| self.visible(s));
        Ok(v)
    }

    fn store_secret(
        &mut self,
        peer: &str,
        replaces: Option<(&str, &SecretBytes)>,
        new: RetainedSecret,
    ) -> Result<(), Self::Error> {
        self.inner.store_secret(peer, replaces, new)
    }

    fn secret_proven(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Self::Error> {
        self.inner.secret_proven(peer, secret)
    }

    fn discard_secret(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Self::Error> {
        self.inner.discard_secret(peer, secret)
    }

    fn mark_verified(&mut self, peer: &str, secret: &SecretBytes) -> Result<(), Self::Error> {
        self.inner.mark_verified(peer, secret)
    }

    fn trusted_keys(&self, jid: &str) -> Result<Vec<TrustedKey>, Self::Error> {
        self.inner.trusted_keys(jid)
    }

    fn jids_trusting(&self, key: &[u8]) -> Result<Vec<String>, Self::Error> {
        self.inner.jids_trusting(key)
    }

    fn trust_key(&mut self, jid: &str, key: TrustedKey) -> Result<(), Self::Error> {
        self.inner.trust_key(jid, key)
    }

    fn forget_key(&mut self, jid: &str, key: &[u8]) -> Result<(), Self::Error> {
        self.inner.forget_key(jid, key)
    }
}

impl OfflineStore for FreshOnly {
    fn save_published(&mut self, p: PublishedOptions) -> Result<(), Self::Error> {
        self.inner.save_published(p)
    }

    fn published(&self, n_a: &[u8]) -> Result<Option<PublishedOptions>, Self::Error> {
        self.inner.published(n_a)
    }

    fn published_nonces(&self) -> Result<Vec<Vec<u8>>, Self::Error> {
        self.inner.published_nonces()
    }

    fn remove_published(&mut self, n_a: &[u8]) -> Result<(), Self::Error> {
        self.inner.remove_published(n_a)
    }

    fn record_seen(&mut self, n_a: &[u8], d: &[u8], n_b: &[u8]) -> Result<bool, Self::Error> {
        self.inner.record_seen(n_a, d, n_b)
    }
}

/// One endpoint and everything the driver sees of it.
struct Session {
    own_jid: String,
    peer_jid: String,
    role: Role,
    profile: Profile,
    config: Config,
    seed: Option<String>,
    /// Draws our signing keys (a stream apart from the endpoint's).
    key_rng: ChaCha20Rng,
    /// Our signing keys with their `<KeyValue/>` XML and PKCS#8 DER, the
    /// configured one first.
    keys: Vec<(IdentityKey, String, SecretBytes)>,
    /// Alice back online (XEP-0187 §3.4).
    receiver: Option<Receiver>,
    /// Alice's side of an offline session.
    offline_recv: Option<ReceiveSession>,
    /// Bob's side of an offline session.
    offline_send: Option<SendSession>,
    ep: Endpoint<ChaCha20Rng>,
    store: FreshOnly,
    started: bool,
    rekey_pending: bool,
    status: Status,
    sas: Option<String>,
    negotiated: Option<Negotiated>,
    retained_secret: Option<bool>,
    termination_acknowledged: bool,
    peer_fingerprint: Option<String>,
    /// Set when we refused the peer's key.
    key_refused: Option<String>,
    error: Option<String>,
}

/// The peer: at most one session, set up by `init`.
#[derive(Default)]
pub struct Peer {
    session: Option<Session>,
}

/// What one request produced.
#[derive(Debug, Default)]
struct Effects {
    out: Vec<String>,
    received: Vec<Value>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("status", &self.session.as_ref().map(|s| s.status))
            .finish_non_exhaustive()
    }
}

/// Reads requests from `input` until `quit` or end of input, answering each on
/// `output`. Returns once `quit` was answered or the input ended.
pub fn run<R: BufRead, W: Write>(mut input: R, mut output: W) -> std::io::Result<()> {
    let mut peer = Peer::default();
    let mut buf = Vec::new();
    loop {
        // The previous line may have carried a shared password (`init`'s oss).
        buf.zeroize();
        let n = (&mut input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let (response, quit) = if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            // Skip the rest of the over-long line.
            let mut rest = Vec::new();
            input.read_until(b'\n', &mut rest)?;
            (
                error_response(&format!("request longer than {MAX_LINE} bytes")),
                false,
            )
        } else {
            match std::str::from_utf8(&buf) {
                Ok(line) if line.trim().is_empty() => continue,
                Ok(line) => peer.handle_line(line),
                Err(_) => (error_response("request is not UTF-8"), false),
            }
        };
        writeln!(output, "{response}")?;
        output.flush()?;
        if quit {
            return Ok(());
        }
    }
}

fn error_response(error: &str) -> Value {
    json!({"ok": false, "error": error, "out": [], "received": []})
}

impl Peer {
    /// A peer with no session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers one request line; the flag is true after `quit`.
    pub fn handle_line(&mut self, line: &str) -> (Value, bool) {
        match parse(line) {
            Ok(Request::Quit) => (self.respond(Ok(Effects::default()), None), true),
            Ok(req) => {
                let mut fx = Effects::default();
                let r = self.handle(req, &mut fx).map(|extra| (fx, extra));
                match r {
                    Ok((fx, extra)) => (self.respond(Ok(fx), extra), false),
                    Err((e, fx)) => (self.respond(Err((e, fx)), None), false),
                }
            }
            Err(e) => (error_response(&e.to_string()), false),
        }
    }

    fn respond(
        &self,
        r: Result<Effects, (crate::Error, Effects)>,
        extra: Option<(&str, Value)>,
    ) -> Value {
        let (mut v, fx) = match r {
            Ok(fx) => (json!({"ok": true}), fx),
            Err((e, fx)) => {
                eprintln!("esession peer: {e}");
                (json!({"ok": false, "error": e.to_string()}), fx)
            }
        };
        v["out"] = json!(fx.out);
        v["received"] = Value::Array(fx.received);
        if let Some(s) = &self.session {
            v["state"] = s.state_json();
        }
        if let Some((k, val)) = extra {
            v[k] = val;
        }
        v
    }

    fn handle(
        &mut self,
        req: Request,
        fx: &mut Effects,
    ) -> Result<Option<(&'static str, Value)>, (crate::Error, Effects)> {
        let r = self.dispatch(req, fx);
        r.map_err(|e| (e, std::mem::take(fx)))
    }

    fn dispatch(
        &mut self,
        req: Request,
        fx: &mut Effects,
    ) -> Result<Option<(&'static str, Value)>, crate::Error> {
        let now = SystemTime::now();
        if let Request::Init(init) = req {
            self.session = Some(Session::new(*init, now)?);
            return Ok(None);
        }
        let s = self
            .session
            .as_mut()
            .ok_or(crate::Error::Peer("send init first".into()))?;
        // D43: the receive keys of a terminator go once the ack timeout passed.
        if s.ep.poll_timeout().is_some_and(|t| now >= t) {
            s.ep.handle_timeout(now);
        }
        let result = match req {
            Request::Init(_) | Request::Quit => Ok(()),
            Request::Start => s.start(fx),
            Request::Deliver { xml } => {
                s.deliver(now, &xml, fx);
                Ok(())
            }
            Request::Send { text, chatstate } => s.send(now, &text, chatstate.as_deref(), fx),
            Request::Rekey => s.rekey(),
            Request::Terminate => match s.offline_terminate(fx) {
                Ok(true) => Ok(()),
                Ok(false) => s.ep.terminate(now).map_err(crate::Error::from),
                Err(e) => Err(e),
            },
            Request::OfflinePublish { lifetime } => {
                let nonce = s.offline_publish(now, lifetime.unwrap_or(86_400), fx)?;
                return Ok(Some(("nonce", nonce)));
            }
            Request::OfflineStart { xml, text } => s.offline_start(now, &xml, &text, fx),
            Request::State => Ok(()),
            Request::PublicKey { alg } => {
                let alg = match alg.as_deref() {
                    None => SignAlg::RsaSha256,
                    Some(uri) => SignAlg::from_uri(uri)
                        .map_err(|e| crate::Error::Peer(format!("alg: {e}")))?,
                };
                let xml = s.key_for(alg)?;
                s.drain(now, fx);
                return Ok(Some(("key_value", Value::String(xml))));
            }
            Request::Trust { jid, key_value } => trust_key_value(&mut s.store, &jid, &key_value),
        };
        s.drain(now, fx);
        result.map(|()| None)
    }
}

/// SHA-256 of the seed string as a ChaCha20 seed, or OS randomness.
fn rng_for(seed: Option<&str>, role: Role) -> ChaCha20Rng {
    match seed {
        Some(seed) => {
            // Alice and Bob draw different streams from the same seed.
            let tag: &[u8] = match role {
                Role::Alice => b"alice",
                Role::Bob => b"bob",
            };
            let d = HashAlg::Sha256.digest_parts(&[seed.as_bytes(), b"\0", tag]);
            let mut key = [0u8; 32];
            key.copy_from_slice(&d.as_bytes()[..32]);
            ChaCha20Rng::from_seed(key)
        }
        None => ChaCha20Rng::from_seed(rand::random()),
    }
}

/// A new signing key and its `<KeyValue/>` XML.
fn generate_key(
    alg: SignAlg,
    rng: &mut ChaCha20Rng,
) -> Result<(IdentityKey, String, SecretBytes), crate::Error> {
    eprintln!("esession peer: generating a {} key", alg.uri());
    let key = SigningKey::generate(alg, rng)
        .map_err(|e| crate::Error::Peer(format!("key generation: {e}")))?;
    let xml = KeyValue::of_key(&key.verifying_key())
        .map_err(|e| crate::Error::Peer(e.to_string()))?
        .to_element()
        .to_xml();
    // The offline crate borrows a SigningKey; IdentityKey does not lend
    // one, so the DER (zeroized on drop) is kept to rebuild it.
    let der = key
        .to_pkcs8_der()
        .map_err(|e| crate::Error::Peer(format!("key export: {e}")))?;
    Ok((IdentityKey::new(key), xml, der))
}

/// A fresh endpoint for `role`.
fn endpoint(
    config: &Config,
    seed: Option<&str>,
    role: Role,
    now: SystemTime,
    peer_jid: &str,
) -> Result<Endpoint<ChaCha20Rng>, crate::Error> {
    let rng = rng_for(seed, role);
    Ok(match role {
        Role::Alice => Endpoint::initiate(config.clone(), rng, now, peer_jid)?,
        Role::Bob => Endpoint::responder(config.clone(), rng)?,
    })
}

/// Trusts the `<KeyValue/>` XML `kv` for `jid`'s bare JID.
fn trust_key_value(store: &mut FreshOnly, jid: &str, kv: &str) -> Result<(), crate::Error> {
    let bad = |e: &dyn std::fmt::Display| crate::Error::Peer(format!("key_value: {e}"));
    let el = Element::parse(kv).map_err(|e| bad(&e))?;
    let key_value = KeyValue::from_element(&el).map_err(|e| bad(&e))?;
    // The key must be one we can verify with.
    key_value.to_verifying_key().map_err(|e| bad(&e))?;
    let key = key_value.normalized().map_err(|e| bad(&e))?;
    store
        .trust_key(
            esession_wire::bare(jid),
            TrustedKey {
                key,
                petname: "peer-driver".to_owned(),
            },
        )
        .map_err(|e| bad(&e))
}

/// The store key in `dir`, created on first use (test-harness convenience).
fn store_key(dir: &Path) -> Result<StoreKey, crate::Error> {
    let path = dir.join(STORE_KEY_FILE);
    if !path.exists() {
        let key = StoreKey::generate().map_err(|e| crate::Error::Peer(e.to_string()))?;
        let tmp = dir.join(format!("{STORE_KEY_FILE}.{}.tmp", std::process::id()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&tmp)?.write_all(key.as_bytes())?;
        // hard_link fails if another process created the key first: atomic
        // create-if-absent with the whole content.
        let linked = std::fs::hard_link(&tmp, &path);
        std::fs::remove_file(&tmp)?;
        match linked {
            Ok(()) => return Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
    }
    let bytes = zeroize::Zeroizing::new(std::fs::read(&path)?);
    StoreKey::from_slice(&bytes).map_err(|e| crate::Error::Peer(format!("{}: {e}", path.display())))
}

impl Session {
    fn new(init: InitRequest, now: SystemTime) -> Result<Self, crate::Error> {
        let mut config = Config::default();
        config.profile = init.profile;
        config.three_message = init.mode == Mode::ThreeMessage;
        request::apply_options(&mut config, &init.options)?;
        if let Some(oss) = &init.oss {
            config.shared_password = Some(SharedPassword::new(oss.as_str()));
        }
        let account = esession_wire::bare(&init.own_jid).to_owned();
        let store_err = |what: &dyn std::fmt::Display, e: esession_store::Error| {
            crate::Error::Peer(format!("{what}: {e}"))
        };
        let inner = match &init.store {
            None => {
                let key = StoreKey::generate().map_err(|e| store_err(&"store key", e))?;
                SqliteStore::open_in_memory(&key, &account)
                    .map_err(|e| store_err(&"in-memory store", e))?
            }
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let key = store_key(dir)?;
                let file: String = account
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '.' || c == '@' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let path = dir.join(format!("{file}.sqlite"));
                SqliteStore::open(&path, &key, &account)
                    .map_err(|e| store_err(&path.display(), e))?
            }
        };
        let mut store = FreshOnly {
            inner,
            since: init.fresh_secrets.then_some(now),
        };
        for (jid, kvs) in &init.trusted_keys {
            for kv in kvs {
                trust_key_value(&mut store, jid, kv)?;
            }
        }
        let mut key_rng = rng_for(
            init.seed
                .as_ref()
                .map(|s| format!("{s}\0signing keys"))
                .as_deref(),
            init.role,
        );
        let mut keys = Vec::new();
        let needs_key = match init.role {
            Role::Alice => &config.init_pubkey,
            Role::Bob => &config.resp_pubkey,
        }
        .iter()
        .any(|m| *m != PubkeyMode::None);
        if needs_key {
            // docs/peer-protocol.md "Keys in peer mode": generate one when needed.
            let alg = config
                .sign_algs
                .first()
                .copied()
                .unwrap_or(SignAlg::RsaSha256);
            let (identity, xml, der) = generate_key(alg, &mut key_rng)?;
            config.identity_key = Some(identity.clone());
            keys.push((identity, xml, der));
        }
        let ep = endpoint(
            &config,
            init.seed.as_deref(),
            init.role,
            now,
            &init.peer_jid,
        )?;
        eprintln!(
            "esession peer: {} as {:?}, profile {:?}",
            init.own_jid, init.role, init.profile
        );
        let session = Session {
            own_jid: init.own_jid,
            peer_jid: init.peer_jid,
            role: init.role,
            profile: init.profile,
            key_rng,
            config,
            seed: init.seed,
            keys,
            receiver: None,
            offline_recv: None,
            offline_send: None,
            ep,
            store,
            started: false,
            rekey_pending: false,
            status: Status::None,
            sas: None,
            negotiated: None,
            retained_secret: None,
            termination_acknowledged: false,
            peer_fingerprint: None,
            key_refused: None,
            error: None,
        };
        Ok(session)
    }

    /// Our key for `alg` with its `<KeyValue/>` XML, generated (from the seed
    /// stream when seeded) if we have none. The first key becomes the
    /// endpoint's identity; an endpoint that has not started yet is rebuilt
    /// with it.
    fn key_for(&mut self, alg: SignAlg) -> Result<String, crate::Error> {
        if let Some((_, xml, _)) = self.keys.iter().find(|(k, _, _)| k.alg() == alg) {
            return Ok(xml.clone());
        }
        let (identity, xml, der) = generate_key(alg, &mut self.key_rng)?;
        if self.config.identity_key.is_none() {
            self.config.identity_key = Some(identity.clone());
            if self.status == Status::None && !self.started {
                self.ep = endpoint(
                    &self.config,
                    self.seed.as_deref(),
                    self.role,
                    SystemTime::now(),
                    &self.peer_jid,
                )?;
            }
        }
        self.keys.push((identity, xml.clone(), der));
        Ok(xml)
    }

    fn start(&mut self, _fx: &mut Effects) -> Result<(), crate::Error> {
        if self.role != Role::Alice {
            return Err(crate::Error::Peer("only alice starts".into()));
        }
        if self.started {
            return Err(crate::Error::Peer("already started".into()));
        }
        self.started = true;
        self.status = Status::Negotiating;
        Ok(())
    }

    fn deliver(&mut self, now: SystemTime, xml: &str, fx: &mut Effects) {
        let stanza = match Stanza::parse(xml) {
            Ok(s) => s,
            Err(e) => {
                fx.received
                    .push(json!({"ok": false, "error": format!("bad XML: {e}")}));
                return;
            }
        };
        // XEP-0187: an offline init, or a stanza of an offline session.
        let Err(stanza) = self.offline_deliver(now, stanza, fx) else {
            return;
        };
        if self.role == Role::Alice && !self.started {
            // msg1 waits in the endpoint until `start`.
            fx.received
                .push(json!({"ok": false, "error": "alice has not started"}));
            return;
        }
        if let Err(e) = self.ep.handle_stanza(now, stanza, &mut self.store) {
            fx.received
                .push(json!({"ok": false, "error": e.to_string()}));
        }
    }

    fn send(
        &mut self,
        now: SystemTime,
        text: &str,
        chatstate: Option<&str>,
        fx: &mut Effects,
    ) -> Result<(), crate::Error> {
        let mut s = chat(text);
        if let Some(state) = chatstate {
            s.push(Element::new(state, NS_CHATSTATES));
        }
        if self.offline_send.is_some() {
            self.offline_send(now, s, fx)?;
            return Ok(());
        }
        if !self.ep.is_established() && !self.ep.is_plain() {
            return Err(crate::Error::Peer("the session is not established".into()));
        }
        if self.rekey_pending {
            // XEP-0200 §7.2: the key exchange travels in the next stanza
            // sent, together with its content (XEP0200-034).
            self.ep.send_with_rekey(now, s)?;
            self.rekey_pending = false;
            return Ok(());
        }
        self.ep.send(now, s)?;
        Ok(())
    }

    fn rekey(&mut self) -> Result<(), crate::Error> {
        if !self.ep.may_rekey() {
            return Err(crate::Error::Peer(
                "re-keying is not allowed now (not established, rekey_freq, or gajim profile)"
                    .into(),
            ));
        }
        self.rekey_pending = true;
        Ok(())
    }

    /// Drains the endpoint: stanzas to `out`, events into the state.
    fn drain(&mut self, now: SystemTime, fx: &mut Effects) {
        if self.role == Role::Alice && !self.started {
            return;
        }
        while let Some(o) = self.ep.poll_output() {
            match o {
                Output::Send(mut s) => {
                    if s.from().is_none() {
                        s.set_attr("from", &self.own_jid);
                    }
                    if s.to().is_none() {
                        s.set_attr("to", &self.peer_jid);
                    }
                    fx.out.push(s.to_xml());
                }
                Output::Requested(r) => {
                    eprintln!("esession peer: request from {}; accepting", r.peer);
                    self.status = Status::Negotiating;
                    if let Err(e) = self.ep.accept(now) {
                        self.fail(e.to_string());
                    }
                }
                Output::PlainRequested(p) => {
                    eprintln!("esession peer: plain session requested by {}", p.peer);
                    if let Err(e) = self.ep.accept(now) {
                        self.fail(e.to_string());
                    }
                }
                Output::PlainEstablished(_) => self.status = Status::Active,
                Output::SasReady { sas } => self.sas = Some(sas.display(self.profile).to_owned()),
                Output::PeerKey(pk) => {
                    self.peer_fingerprint = Some(hex::encode(&pk.fingerprint));
                    match pk.status {
                        KeyStatus::Trusted { .. } => {}
                        KeyStatus::Changed { .. } => {
                            // A pinned (or earlier trusted) key differs: refuse.
                            eprintln!("esession peer: {} presents an untrusted key", pk.jid);
                            let refused = format!("{} presents a key that is not trusted", pk.jid);
                            if let Err(e) = self.ep.reject_peer_key(now) {
                                self.fail(e.to_string());
                            }
                            // Reported as failed even when the library ends
                            // the session with a regular terminate.
                            self.key_refused = Some(refused);
                        }
                        _ => {
                            // Trust on first use (peer mode only, docs/peer-protocol.md).
                            if let Err(e) = self.ep.trust_peer_key("peer-tofu", &mut self.store) {
                                eprintln!("esession peer: cannot trust the peer's key: {e}");
                            }
                        }
                    }
                }
                Output::Established(e) => {
                    self.status = Status::Active;
                    self.retained_secret = Some(e.retained_secret_used);
                    self.negotiated = Some(e.negotiated);
                }
                Output::Received(s) => {
                    if let Some(entry) = received_entry(&s) {
                        fx.received.push(entry);
                    }
                }
                Output::Terminated(reason) => {
                    self.status = Status::Terminated;
                    if let Some(refused) = self.key_refused.clone() {
                        self.fail(refused);
                    }
                    if reason == TerminationReason::Acknowledged {
                        self.termination_acknowledged = true;
                    }
                }
                Output::Failed(e) => {
                    if self.status == Status::Active && self.negotiated.is_some() {
                        fx.received
                            .push(json!({"ok": false, "error": e.to_string()}));
                    }
                    self.fail(e.to_string());
                }
                _ => {}
            }
        }
    }

    fn fail(&mut self, error: String) {
        eprintln!("esession peer: session failed: {error}");
        self.status = Status::Failed;
        self.error = Some(error);
    }

    fn state_json(&self) -> Value {
        let negotiated = self.negotiated.as_ref().map(|n| {
            json!({
                "modp": n.modp.number().to_string(),
                "crypt_algs": n.cipher.name(),
                "hash_algs": n.hash.name(),
                "compress": n.compress.name(),
                "logging": n.logging,
                "stanzas": n.stanzas,
                "rekey_freq": n.rekey_freq.to_string(),
                "init_pubkey": n.init_pubkey.name(),
                "resp_pubkey": n.resp_pubkey.name(),
            })
        });
        json!({
            "status": self.status.as_str(),
            "sas": self.sas,
            "profile": match self.profile { Profile::Gajim => "gajim", _ => "xep" },
            "negotiated": negotiated,
            "retained_secret": self.retained_secret.map(|u| if u { "used" } else { "none" }),
            "termination_acknowledged": self.termination_acknowledged,
            "peer_fingerprint": self.peer_fingerprint,
            "error": self.error,
        })
    }
}

/// A chat message with one `<body/>`.
fn chat(text: &str) -> Stanza {
    let mut s = Stanza::new(StanzaKind::Message);
    s.set_attr("type", "chat");
    s.push(Element::new("body", esession_wire::NS_CLIENT).with_text(text));
    s
}

/// The `received` entry for a decrypted stanza, or `None` for one without
/// application content (a re-key or key-publishing stanza).
fn received_entry(s: &Stanza) -> Option<Value> {
    let content: Vec<&Element> = s
        .children()
        .filter(|c| c.name() != "thread")
        .filter(|c| !(c.name() == "body" && c.text() == GAJIM_FALLBACK_BODY))
        .collect();
    if content.is_empty() {
        return None;
    }
    let body = content
        .iter()
        .find(|c| c.name() == "body")
        .map(|c| c.text());
    Some(json!({"ok": true, "body": body, "xml": s.to_xml()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str) -> Vec<Value> {
        let mut out = Vec::new();
        run(input.as_bytes(), &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn one_line_out_per_request_and_quit_stops_reading() {
        let r = lines(concat!(
            "{\"op\":\"state\"}\n",
            "\n",
            "nonsense\n",
            "{\"op\":\"init\",\"role\":\"bob\",\"own_jid\":\"b@y/2\",\"peer_jid\":\"a@x/1\",\"seed\":\"u\"}\n",
            "{\"op\":\"state\"}\n",
            "{\"op\":\"quit\"}\n",
            "{\"op\":\"state\"}\n",
        ));
        assert_eq!(r.len(), 5, "{r:?}");
        assert_eq!(r[0]["ok"], false);
        assert_eq!(r[1]["ok"], false);
        assert_eq!(r[2]["ok"], true);
        assert_eq!(r[3]["state"]["status"], "none");
        assert_eq!(r[3]["state"]["sas"], Value::Null);
        assert_eq!(r[3]["state"]["retained_secret"], Value::Null);
        assert_eq!(r[4]["ok"], true);
    }

    #[test]
    fn over_long_and_non_utf8_lines_are_refused_and_skipped() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.push(b'\n');
        input.extend_from_slice(b"\xff\xfe\n{\"op\":\"quit\"}\n");
        let mut out = Vec::new();
        run(input.as_slice(), &mut out).unwrap();
        let r: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(r.len(), 3, "{r:?}");
        assert!(r[0]["error"].as_str().unwrap().contains("longer than"));
        assert!(r[1]["error"].as_str().unwrap().contains("UTF-8"));
        assert_eq!(r[2]["ok"], true);
    }

    #[test]
    fn the_same_seed_repeats_the_request_byte_for_byte() {
        let start = concat!(
            "{\"op\":\"init\",\"role\":\"alice\",\"own_jid\":\"a@x/1\",\"peer_jid\":\"b@y/2\",\"seed\":\"s\"}\n",
            "{\"op\":\"start\"}\n",
        );
        let a = lines(start);
        let b = lines(start);
        assert_eq!(a[1]["out"], b[1]["out"]);
        let other = lines(&start.replace("\"s\"", "\"t\""));
        assert_ne!(a[1]["out"], other[1]["out"]);
    }

    #[test]
    fn fresh_only_hides_older_secrets() {
        let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let key = StoreKey::generate().unwrap();
        let mut inner = SqliteStore::open_in_memory(&key, "a@x").unwrap();
        let old = RetainedSecret::new(SecretBytes::new(vec![1; 32]), t0);
        inner.store_secret("b@y", None, old.clone()).unwrap();
        let later = t0 + std::time::Duration::from_secs(5);
        let mut fresh = FreshOnly {
            inner,
            since: Some(later),
        };
        assert!(fresh.secrets("b@y", later).unwrap().is_empty());
        assert!(fresh.other_secrets("c@z", later).unwrap().is_empty());
        let new = RetainedSecret::new(SecretBytes::new(vec![2; 32]), later);
        fresh.store_secret("b@y", None, new).unwrap();
        assert_eq!(fresh.secrets("b@y", later).unwrap().len(), 1);
        fresh.since = None;
        assert_eq!(fresh.secrets("b@y", later).unwrap().len(), 2);
    }
}
