//! The driver: one ESession with one contact over one thread.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use esession_crypto::SecretBytes;
use esession_crypto::dh::DhPrivateKey;
use esession_crypto::hash::HashAlg;
use esession_crypto::rand_core::CryptoRng;
use esession_sigma::counters::{self, Counters};
use esession_sigma::identity::{self, MacAInput, MacBInput};
use esession_sigma::keys::{self, DirectionKeys, Role, SessionKeys};
use esession_sigma::sas::{self, Sas};
use esession_sigma::{Profile, secrets};
use esession_wire::{
    AliceAccept, BobAccept, Condition, DhValues, Negotiation, NormProfile, Offer, Rejection,
    Request, Response, Stanza, StanzaKind, WireForm,
};

use crate::negotiated::{self, Choice, Negotiated};
use crate::pubkey::{self, NoTrustStore, PeerKey, PubkeyMode, TrustStore, TrustedKey};
use crate::rekey::{SessionKeys as TrafficState, TERMINATE_RESERVE_BLOCKS};
use crate::store::{RetainedSecret, RetainedSecretStore};
use crate::{Config, Error, PeerMisbehaved};

/// How long the terminator keeps its receive keys waiting for the
/// acknowledgement (DECISIONS D43).
pub const TERMINATE_ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// The init_pubkey options Gajim-Alice's msg1 carries (GAJIM.md §2).
const GAJIM_INIT_PUBKEY: [&str; 3] = ["none", "key", "hash"];
/// The resp_pubkey options Gajim-Alice's msg1 carries (GAJIM.md §2).
const GAJIM_RESP_PUBKEY: [&str; 2] = ["none", "key"];

/// The plaintext body the gajim profile adds after `<c/>` (G17).
pub const GAJIM_FALLBACK_BODY: &str =
    "[This is part of an encrypted session. If you see this message, something went wrong.]";

/// Nonce length we send (DECISIONS D2).
const NONCE_LEN: usize = 16;

/// Block size n in bits of every defined cipher (DECISIONS D6).
const N_BITS: u32 = 128;

/// What the driver asks the application to do or know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// Send this stanza to the peer.
    Send(Stanza),
    /// Bob: a contact requests an ESession; call [`Endpoint::accept`] or
    /// [`Endpoint::reject`].
    Requested(Requested),
    /// Bob: a contact requests an ESession that cannot be established, but
    /// allows a plain stanza session (security `c2s`/`none`, XEP-0116 §4.4);
    /// call [`Endpoint::accept`] (plain session) or [`Endpoint::reject`].
    PlainRequested(PlainSession),
    /// A plain stanza session (not encrypted!) was agreed: stanzas pass
    /// through [`Endpoint::send`] and arrive as [`Output::Received`] as they are.
    PlainEstablished(PlainSession),
    /// The SAS both users compare (XEP-0116 §9; DECISIONS D32). Call
    /// [`Endpoint::confirm_sas`] once the user confirmed it.
    SasReady {
        /// The SAS; show [`Sas::display`] for the configured profile.
        sas: Sas,
    },
    /// The peer's public key verified (XEP-0116 §8.5). Unless its status is
    /// [`crate::KeyStatus::Trusted`], call [`Endpoint::trust_peer_key`] or
    /// [`Endpoint::reject_peer_key`].
    PeerKey(PeerKey),
    /// The negotiation completed; encrypted stanzas may flow.
    Established(Established),
    /// A decrypted stanza from the peer (XEP-0200 §6), `<c/>` replaced by its
    /// content.
    Received(Stanza),
    /// The session ended normally (XEP-0155 §7, XEP-0116 §5).
    Terminated(TerminationReason),
    /// The negotiation or session failed and is over; any answer the protocol
    /// requires (DECISIONS D44) was queued as [`Output::Send`] before this.
    Failed(Error),
}

/// A request Bob received, with what he would choose.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Requested {
    /// The requester's full JID.
    pub peer: String,
    /// The thread of the session.
    pub thread: String,
    /// The options Bob will send if he accepts.
    pub negotiated: Negotiated,
}

/// A plain XEP-0155 stanza session instead of an ESession (XEP-0116 §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlainSession {
    /// The peer's full JID.
    pub peer: String,
    /// The thread.
    pub thread: String,
    /// The agreed `security` value (`c2s` or `none`).
    pub security: String,
    /// The agreed logging value.
    pub logging: String,
}

/// What [`Output::Established`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Established {
    /// The options in force.
    pub negotiated: Negotiated,
    /// A retained secret from an earlier session was found and mixed into the
    /// keys (XEP-0116 §4.7.3): this session continues an authenticated chain
    /// only if that one was verified.
    pub retained_secret_used: bool,
    /// The chain of sessions through the retained secret was SAS-verified at
    /// some point (the matched secret was marked verified).
    pub chain_verified: bool,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TerminationReason {
    /// We terminated and the peer acknowledged.
    Acknowledged,
    /// We terminated and no acknowledgement came within
    /// [`TERMINATE_ACK_TIMEOUT`].
    AckTimedOut,
    /// The peer terminated (we acknowledged).
    ByPeer,
    /// Bob declined the request (accept=`0`).
    Declined,
    /// We terminated in plaintext in the gajim profile, where no
    /// acknowledgement exists (G8).
    Unacknowledged,
}

/// Values pinned for tests and published vectors (STYLE §3: "a hidden hook pins
/// ephemeral keys for tests"). Never use outside tests.
#[doc(hidden)]
#[derive(Default)]
pub struct TestPins {
    /// The thread Alice starts.
    pub thread: Option<String>,
    /// Our nonce (N_A or N_B).
    pub nonce: Option<Vec<u8>>,
    /// Our DH exponents, per group number.
    pub dh_x: Vec<(u32, Vec<u8>)>,
    /// Bob's C_A.
    pub c_a: Option<u128>,
    /// Alice's exact rshashes list (retained-secret hashes and random values,
    /// already shuffled), as a vector records it.
    pub rshashes: Option<Vec<Vec<u8>>>,
    /// Bob's random srshash when no SRS matched.
    pub srshash_random: Option<Vec<u8>>,
    /// The exponents of our re-keys, used in order (XEP-0200 §7.2).
    pub rekey_x: Vec<Vec<u8>>,
}

impl fmt::Debug for TestPins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestPins").finish_non_exhaustive()
    }
}

/// Shared context of all states.
struct Ctx<R> {
    /// Shared between the sessions of an account (read-only but for the
    /// Gajim detection, which copies it first).
    config: Arc<Config>,
    rng: R,
    /// Boxed: empty outside tests and vectors, so it costs a pointer.
    pins: Box<TestPins>,
    /// The full JID we address (Bob: msg1's sender; Alice: msg2's sender, D45).
    peer: String,
    thread: String,
    out: VecDeque<Output>,
    sas_confirmed: bool,
    /// The retained secret this session stored, for [`Endpoint::confirm_sas`].
    stored_secret: Option<SecretBytes>,
    /// The peer's verified public key (D28 bytes), if it used one.
    peer_key: Option<Vec<u8>>,
    /// A peer with trusted keys presented none ([`crate::KeyStatus::NoKey`]).
    key_missing: bool,
    /// Alice, 3-message: content to encrypt into msg3, and whether msg3
    /// also terminates (object encryption, XEP-0116 §4.6.4).
    object: Option<(Stanza, bool)>,
}

impl<R> Ctx<R> {
    fn peer_bare(&self) -> &str {
        bare(&self.peer)
    }

    /// The wire form of a 4-message negotiation message in this session's
    /// layout: D19-D23 in the xep profile; Gajim 0.15.4's own layout in the
    /// gajim profile (GAJIM.md §2, G16; decisions O21), since Gajim's MACs
    /// and SAS cover the exact bytes of the forms it sends.
    fn wire(&self, m: &Negotiation) -> Result<WireForm, esession_wire::Error> {
        match self.config.profile {
            Profile::Gajim => m.to_gajim_wire(),
            _ => m.to_wire(),
        }
    }
}

impl<R: CryptoRng> Ctx<R> {
    fn norm(&self) -> NormProfile {
        match self.config.profile {
            Profile::Xep => NormProfile::Xep,
            _ => NormProfile::Gajim,
        }
    }

    fn nonce(&mut self) -> Vec<u8> {
        if let Some(n) = self.pins.nonce.take() {
            return n;
        }
        let mut n = vec![0u8; NONCE_LEN];
        self.rng.fill_bytes(&mut n);
        n
    }

    fn dh_key(&mut self, group: esession_crypto::dh::ModpGroup) -> Result<DhPrivateKey, Error> {
        if let Some((_, x)) = self.pins.dh_x.iter().find(|(g, _)| *g == group.number()) {
            return Ok(DhPrivateKey::from_bytes(group, x)?);
        }
        Ok(DhPrivateKey::generate(
            group,
            self.config.exponent_policy,
            N_BITS,
            &mut self.rng,
        )?)
    }

    fn message(&self) -> Stanza {
        Stanza::message(&self.peer, &self.thread)
    }

    fn send_form(&mut self, wire: &WireForm) {
        let mut s = self.message();
        s.push_negotiation(wire);
        self.out.push_back(Output::Send(s));
    }
}

/// A failure inside a transition: the error and the answer D44 requires.
struct Failure {
    error: Box<Error>,
    reply: Option<Box<Rejection>>,
}

impl Failure {
    fn silent(error: impl Into<Error>) -> Self {
        Failure {
            error: Box::new(error.into()),
            reply: None,
        }
    }

    fn answer(error: impl Into<Error>, condition: Condition, fields: &[&str]) -> Self {
        Failure {
            error: Box::new(error.into()),
            reply: Some(Box::new(Rejection::new(
                condition,
                fields.iter().map(|f| (*f).to_owned()).collect(),
            ))),
        }
    }

    /// msg1/msg2 problems: not-acceptable naming the field (D44).
    fn not_acceptable(error: impl Into<Error>, field: Option<&str>) -> Self {
        Self::answer(error, Condition::NotAcceptable, field.as_slice())
    }

    /// msg3/msg4 problems: feature-not-implemented (D44).
    fn fni(error: impl Into<Error>) -> Self {
        Self::answer(error, Condition::FeatureNotImplemented, &[])
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::silent(error)
    }
}

impl From<esession_crypto::Error> for Failure {
    fn from(e: esession_crypto::Error) -> Self {
        Failure::silent(Error::from(e))
    }
}

fn encode(e: esession_wire::Error) -> Failure {
    Failure::silent(Error::Encode(e))
}

/// Alice after msg1.
struct AwaitResponse {
    offer: Offer,
    form_a: Vec<u8>,
    /// One exponent per offered group, in offer order.
    x: Vec<DhPrivateKey>,
}

/// Bob after msg1, before the application decided.
struct Offered {
    request: Request,
    request_vars: Vec<String>,
    form_a: Vec<u8>,
    choice: Choice,
}

/// Bob after msg2.
struct AwaitAliceAccept {
    negotiated: Negotiated,
    he: Vec<u8>,
    y: DhPrivateKey,
    n_a: Vec<u8>,
    n_b: Vec<u8>,
    form_a: Vec<u8>,
    form_b: Vec<u8>,
    counters: Counters,
}

/// Bob after msg2 of the 3-message exchange (D46): the keys come from K.
struct AwaitAliceAccept3 {
    negotiated: Negotiated,
    initiator: DirectionKeys,
    responder: DirectionKeys,
    y: DhPrivateKey,
    e: Vec<u8>,
    n_a: Vec<u8>,
    n_b: Vec<u8>,
    form_a: Vec<u8>,
    c_a: u128,
    /// C_B after ID_B.
    c_b: u128,
}

/// Alice after msg3.
struct AwaitBobAccept {
    negotiated: Negotiated,
    k: SecretBytes,
    n_a: Vec<u8>,
    n_b: Vec<u8>,
    d: Vec<u8>,
    form_b: Vec<u8>,
    /// The secrets hashed into rshashes (D34: Alice matches only these).
    candidates: Vec<RetainedSecret>,
    /// C_A after ID_A.
    c_a: u128,
    c_b: u128,
    /// Our DH exponent, kept for re-keys (XEP-0200 §7).
    x: DhPrivateKey,
}

/// The XEP-0200 session.
struct Active {
    keys: TrafficState,
    stanzas: Vec<String>,
}

/// We sent the terminate: the send keys are gone (D43).
struct Terminating {
    keys: TrafficState,
    deadline: SystemTime,
}

enum State {
    Listening,
    Offered(Box<Offered>),
    OfferedPlain(Box<negotiated::PlainChoice>),
    /// A plain XEP-0155 stanza session (security c2s/none): nothing is
    /// encrypted.
    Plain,
    AwaitResponse(Box<AwaitResponse>),
    AwaitAliceAccept(Box<AwaitAliceAccept>),
    AwaitAliceAccept3(Box<AwaitAliceAccept3>),
    AwaitBobAccept(Box<AwaitBobAccept>),
    Active(Box<Active>),
    Terminating(Box<Terminating>),
    Closed,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Listening => "listening",
            State::Offered(_) | State::OfferedPlain(_) => "offered",
            State::Plain => "plain stanza session",
            State::AwaitResponse(_) => "awaiting msg2",
            State::AwaitAliceAccept(_) | State::AwaitAliceAccept3(_) => "awaiting msg3",
            State::AwaitBobAccept(_) => "awaiting msg4",
            State::Active(_) => "active",
            State::Terminating(_) => "terminating",
            State::Closed => "closed",
        }
    }
}

/// One ESession with one contact over one thread: the XEP-0116 negotiation
/// (4-message SIGMA-R with SAS, or 3-message SIGMA-I; with or without public
/// keys) followed by the XEP-0200 encrypted session (or, as the fallback, a
/// plain XEP-0155 stanza session). Sans-IO: stanzas, time and randomness in; stanzas and
/// events out.
///
/// # Methods
///
/// - **Construction:** [`Endpoint::initiate`] (Alice: queues msg1) or
///   [`Endpoint::responder`] (Bob: waits for msg1).
/// - **Input:** [`Endpoint::handle_stanza`] for every stanza of this session
///   (same thread, same contact); [`Endpoint::handle_timeout`] when
///   [`Endpoint::poll_timeout`] has passed.
/// - **Commands:** [`Endpoint::accept`] / [`Endpoint::reject`] (Bob, after
///   [`Output::Requested`] or [`Output::PlainRequested`]),
///   [`Endpoint::confirm_sas`], [`Endpoint::trust_peer_key`] /
///   [`Endpoint::reject_peer_key`] (after [`Output::PeerKey`]),
///   [`Endpoint::send`], [`Endpoint::rekey`], [`Endpoint::terminate`], and
///   for Alice in a 3-message negotiation [`Endpoint::send_with_accept`].
/// - **Output:** drain [`Endpoint::poll_output`] after every input or command.
///
/// # Errors
///
/// Commands return `Err` when they cannot be carried out and leave the state
/// unchanged. `handle_stanza` returns `Err` only for stanzas it ignored
/// (another session's, plaintext in an encrypted session); a protocol failure
/// instead ends the session and is reported as [`Output::Failed`], after the
/// answer DECISIONS D44 requires.
pub struct Endpoint<R> {
    ctx: Ctx<R>,
    state: State,
}

impl<R> fmt::Debug for Endpoint<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("peer", &self.ctx.peer)
            .field("thread", &self.ctx.thread)
            .field("state", &self.state.name())
            .finish_non_exhaustive()
    }
}

/// The bare JID (`user@host`) of a full JID.
pub fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(b, _)| b)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

impl<R: CryptoRng> Endpoint<R> {
    /// Alice: starts a negotiation with `peer` (a full or bare JID) and queues
    /// msg1 (XEP-0116 §4.3, DECISIONS D20): one DH key per offered group, their
    /// hashes He in dhhashes, a fresh nonce and thread (D45).
    ///
    /// `config` may be a `Config` or an `Arc<Config>`: an application with
    /// many sessions per account shares one (it is read-only; a session that
    /// detects Gajim copies it before switching profile).
    pub fn initiate(
        config: impl Into<Arc<Config>>,
        rng: R,
        _now: SystemTime,
        peer: &str,
    ) -> Result<Self, Error> {
        Self::initiate_pinned(config, rng, peer, TestPins::default())
    }

    /// [`Endpoint::initiate`] with pinned randomness. For tests and vectors only.
    #[doc(hidden)]
    pub fn initiate_pinned(
        config: impl Into<Arc<Config>>,
        rng: R,
        peer: &str,
        pins: TestPins,
    ) -> Result<Self, Error> {
        let config = config.into();
        config.validate()?;
        let mut ctx = Ctx {
            config,
            rng,
            pins: Box::new(pins),
            peer: peer.to_owned(),
            thread: String::new(),
            out: VecDeque::new(),
            sas_confirmed: false,
            stored_secret: None,
            peer_key: None,
            key_missing: false,
            object: None,
        };
        ctx.thread = match ctx.pins.thread.take() {
            Some(t) => t,
            None => {
                let mut t = [0u8; 16];
                ctx.rng.fill_bytes(&mut t);
                hex(&t)
            }
        };
        let groups = ctx.config.modp.clone();
        let x = groups
            .iter()
            .map(|g| ctx.dh_key(*g))
            .collect::<Result<Vec<_>, _>>()?;
        let he = x
            .iter()
            .map(|k| HashAlg::Sha256.digest(k.public_key()).as_bytes().to_vec())
            .collect();
        let c = &ctx.config;
        let own_alg = c.identity_key.as_ref().map(|k| k.alg());
        if c.init_pubkey.iter().any(|m| *m != PubkeyMode::None)
            && !own_alg.is_some_and(|a| c.sign_algs.contains(&a))
        {
            return Err(Error::Config(
                "init_pubkey key/hash needs an identity_key of a listed sign_alg",
            ));
        }
        // D31: sign_algs only when public keys are offered; our own key's first.
        let keys_offered = c
            .init_pubkey
            .iter()
            .chain(&c.resp_pubkey)
            .any(|m| *m != PubkeyMode::None);
        let mut algs = c.sign_algs.clone();
        if let Some(a) = own_alg
            && let Some(i) = algs.iter().position(|x| *x == a)
        {
            let a = algs.remove(i);
            algs.insert(0, a);
        }
        let three = c.three_message;
        // D46: no `none` mode, dhkeys instead of dhhashes, no sas_algs.
        let mode_names = |list: &[PubkeyMode]| -> Vec<String> {
            list.iter()
                .filter(|m| !three || **m != PubkeyMode::None)
                .map(|m| m.name().to_owned())
                .collect()
        };
        let sign_algs: Vec<String> = if c.profile == Profile::Gajim {
            // Gajim-Bob always answers sign_algs rsa-sha256 (GAJIM.md §8):
            // offer it so that its answer was offered (D26).
            vec![esession_crypto::sign::SignAlg::RsaSha256.uri().to_owned()]
        } else if keys_offered {
            algs.iter().map(|a| a.uri().to_owned()).collect()
        } else {
            Vec::new()
        };
        let offer = Offer {
            logging: c.logging.clone(),
            disclosure: vec![negotiated::DISCLOSURE_NEVER.to_owned()],
            security: c.security.clone(),
            modp: groups.iter().map(|g| g.number()).collect(),
            crypt_algs: c.crypt_algs.iter().map(|a| a.name().to_owned()).collect(),
            hash_algs: c.hash_algs.iter().map(|a| a.name().to_owned()).collect(),
            compress: c.compress.iter().map(|z| z.name().to_owned()).collect(),
            stanzas: c.stanzas.clone(),
            init_pubkey: mode_names(&c.init_pubkey),
            resp_pubkey: mode_names(&c.resp_pubkey),
            sign_algs,
            ver: vec![negotiated::VERSION.to_owned()],
            rekey_freq: c.rekey_freq,
            my_nonce: ctx.nonce(),
            sas_algs: if three {
                Vec::new()
            } else {
                vec![negotiated::SAS28X5.to_owned()]
            },
            dh: if three {
                DhValues::Keys(x.iter().map(|k| k.public_key().to_vec()).collect())
            } else {
                DhValues::Hashes(he)
            },
            ..Offer::default()
        };
        let mut wire_offer = offer.clone();
        if ctx.config.profile == Profile::Gajim {
            // GAJIM.md §2 "Message 1": Gajim-Alice offers these modes, which
            // formA covers, but cannot use key or hash (G10). `offer`, against
            // which msg2 is checked, keeps the configured none/none, so a
            // responder choosing key or hash is refused (D26).
            wire_offer.init_pubkey = GAJIM_INIT_PUBKEY.map(str::to_owned).to_vec();
            wire_offer.resp_pubkey = GAJIM_RESP_PUBKEY.map(str::to_owned).to_vec();
        }
        let request = Negotiation::Request(Request { offer: wire_offer });
        let wire = ctx.wire(&request).map_err(Error::Encode)?;
        // D16: formA is our own serialization parsed back.
        let form_a = wire.form_bytes(ctx.norm()).map_err(Error::Encode)?;
        ctx.send_form(&wire);
        Ok(Endpoint {
            ctx,
            state: State::AwaitResponse(Box::new(AwaitResponse { offer, form_a, x })),
        })
    }

    /// Bob: an endpoint waiting for a request (msg1). Create one per incoming
    /// request (new thread) and feed it the request. `config` as for
    /// [`Endpoint::initiate`].
    pub fn responder(config: impl Into<Arc<Config>>, rng: R) -> Result<Self, Error> {
        Self::responder_pinned(config, rng, TestPins::default())
    }

    /// [`Endpoint::responder`] with pinned randomness. For tests and vectors only.
    #[doc(hidden)]
    pub fn responder_pinned(
        config: impl Into<Arc<Config>>,
        rng: R,
        pins: TestPins,
    ) -> Result<Self, Error> {
        let config = config.into();
        config.validate()?;
        Ok(Endpoint {
            ctx: Ctx {
                config,
                rng,
                pins: Box::new(pins),
                peer: String::new(),
                thread: String::new(),
                out: VecDeque::new(),
                sas_confirmed: false,
                stored_secret: None,
                peer_key: None,
                key_missing: false,
                object: None,
            },
            state: State::Listening,
        })
    }
}

impl<R> Endpoint<R> {
    /// The next output, if any. Drain after every call.
    pub fn poll_output(&mut self) -> Option<Output> {
        let next = self.ctx.out.pop_front();
        if self.ctx.out.is_empty() && self.ctx.out.capacity() > 0 {
            // An idle session holds no queue: its capacity (a few Outputs of
            // 112 bytes) would otherwise stay allocated for the session's life.
            self.ctx.out = VecDeque::new();
        }
        next
    }

    /// When [`Endpoint::handle_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<SystemTime> {
        match &self.state {
            State::Terminating(t) => Some(t.deadline),
            _ => None,
        }
    }

    /// The thread of this session (empty for a responder before msg1).
    pub fn thread(&self) -> &str {
        &self.ctx.thread
    }

    /// The full JID stanzas are sent to (empty for a responder before msg1).
    pub fn peer(&self) -> &str {
        &self.ctx.peer
    }

    /// True while encrypted stanzas can be sent.
    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Active(_))
    }

    /// True in a plain (unencrypted) stanza session (security c2s/none).
    pub fn is_plain(&self) -> bool {
        matches!(self.state, State::Plain)
    }

    /// True once the session is over (terminated or failed).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }
}

impl<R: CryptoRng> Endpoint<R> {
    /// Processes a stanza of this session. See the type's documentation for
    /// what `Err` means.
    pub fn handle_stanza(
        &mut self,
        now: SystemTime,
        stanza: Stanza,
        store: &mut dyn RetainedSecretStore,
    ) -> Result<(), Error> {
        self.handle_stanza_with_trust(now, stanza, store, &mut NoTrustStore)
    }

    /// [`Endpoint::handle_stanza`] with the store of trusted public keys
    /// (XEP-0116 §8.5), needed when public-key modes are configured: `hash`
    /// mode substitutes the stored key (D30) and every verified key is
    /// reported as [`Output::PeerKey`].
    pub fn handle_stanza_with_trust(
        &mut self,
        now: SystemTime,
        stanza: Stanza,
        store: &mut dyn RetainedSecretStore,
        trust: &mut dyn TrustStore,
    ) -> Result<(), Error> {
        if !matches!(self.state, State::Listening) {
            if stanza.thread().as_deref() != Some(self.ctx.thread.as_str()) {
                return Err(Error::WrongSession);
            }
            if stanza
                .from()
                .is_some_and(|f| bare(f) != self.ctx.peer_bare())
            {
                return Err(Error::WrongSession);
            }
        }
        match &self.state {
            State::Closed => return Err(Error::InvalidState("the session is closed")),
            State::Offered(_) | State::OfferedPlain(_) => {
                return Err(Error::InvalidState(
                    "waiting for the application to accept or reject",
                ));
            }
            State::Plain => {
                // D44: receiving any error discards the session (negative-bugs B1).
                if let Some(rejection) = stanza.rejection().ok().flatten() {
                    self.fail(Failure::silent(Error::Rejected {
                        condition: rejection.condition.as_str().to_owned(),
                        fields: rejection.fields,
                    }));
                    return Ok(());
                }
                // XEP-0155: a plain stanza session; a terminate form ends it.
                if matches!(
                    stanza.negotiation(),
                    Ok(Some(r)) if r.message == Negotiation::Terminate
                ) {
                    self.state = State::Closed;
                    self.ctx
                        .out
                        .push_back(Output::Terminated(TerminationReason::ByPeer));
                } else {
                    self.ctx.out.push_back(Output::Received(stanza));
                }
                return Ok(());
            }
            State::Active(_)
                if self.ctx.config.profile == Profile::Gajim
                    && matches!(
                        stanza.negotiation(),
                        Ok(Some(r)) if r.message == Negotiation::Terminate
                    ) =>
            {
                // G8 (D43 gajim row): Gajim terminates in plaintext and
                // expects no acknowledgement. Every key is dropped.
                self.state = State::Closed;
                self.ctx
                    .out
                    .push_back(Output::Terminated(TerminationReason::ByPeer));
                return Ok(());
            }
            State::Active(_) | State::Terminating(_)
                if stanza.rejection().ok().flatten().is_none() && !stanza.has_encrypted() =>
            {
                // D43: plaintext (including plaintext terminates) is ignored.
                return Err(Error::UnexpectedPlaintext);
            }
            _ => {}
        }
        if let Some(rejection) = stanza.rejection().ok().flatten() {
            if matches!(self.state, State::Listening) {
                return Err(Error::WrongSession);
            }
            // D44: receiving any error discards all negotiation state.
            self.fail(Failure::silent(Error::Rejected {
                condition: rejection.condition.as_str().to_owned(),
                fields: rejection.fields,
            }));
            return Ok(());
        }
        let state = std::mem::replace(&mut self.state, State::Closed);
        let ctx = &mut self.ctx;
        let next = match state {
            State::Listening => on_request(ctx, &stanza),
            State::AwaitResponse(s) => s.on_response(ctx, now, &stanza, store, trust),
            State::AwaitAliceAccept3(s) => {
                // XEP-0116 §4.6.4: msg3 may carry <c/> and a terminate field.
                let stripped = strip_terminate(&stanza);
                let terminate = stripped.is_some();
                let msg3 = stripped.unwrap_or_else(|| stanza.clone());
                match s.on_alice_accept(ctx, &msg3, trust) {
                    Ok(State::Active(mut active)) => on_object(ctx, &mut active, stanza, terminate)
                        .map(|()| {
                            if terminate {
                                State::Closed
                            } else {
                                State::Active(active)
                            }
                        }),
                    other => other,
                }
            }
            State::AwaitAliceAccept(s) => s.on_alice_accept(ctx, now, &stanza, store, trust),
            State::AwaitBobAccept(s) => s.on_bob_accept(ctx, now, &stanza, store, trust),
            State::Active(s) => s.on_encrypted(ctx, now, stanza),
            State::Terminating(s) => s.on_encrypted(ctx, stanza),
            State::Offered(_) | State::OfferedPlain(_) | State::Plain | State::Closed => {
                Err(Failure::silent(Error::Internal("state")))
            }
        };
        match next {
            Ok(s) => self.state = s,
            Err(f) => self.fail(f),
        }
        Ok(())
    }

    /// Call when [`Endpoint::poll_timeout`] has passed: after a terminate, the
    /// receive keys are dropped once [`TERMINATE_ACK_TIMEOUT`] expires (D43).
    pub fn handle_timeout(&mut self, now: SystemTime) {
        if let State::Terminating(t) = &self.state
            && now >= t.deadline
        {
            self.state = State::Closed;
            self.ctx
                .out
                .push_back(Output::Terminated(TerminationReason::AckTimedOut));
        }
    }

    /// Bob: accepts the request and queues msg2 (XEP-0116 §4.5; DECISIONS D21).
    pub fn accept(&mut self, _now: SystemTime) -> Result<(), Error> {
        if let State::OfferedPlain(plain) = &self.state {
            // XEP-0116 §4.4: accept the stanza session with security c2s/none.
            let plain = (**plain).clone();
            let mut form = esession_wire::DataForm::new(esession_wire::FormKind::Submit);
            for (var, value) in [
                ("FORM_TYPE", "urn:xmpp:ssn"),
                ("accept", "1"),
                (plain.logging_var.var(), plain.logging.as_str()),
                ("disclosure", negotiated::DISCLOSURE_NEVER),
                ("security", plain.security.as_str()),
            ] {
                form.fields.push(esession_wire::Field::values(
                    var,
                    None,
                    vec![value.to_owned()],
                ));
            }
            let mut s = self.ctx.message();
            s.push(
                esession_wire::Element::new("feature", esession_wire::NS_FEATURE_NEG)
                    .with_child(form.to_element()),
            );
            self.ctx.out.push_back(Output::Send(s));
            self.ctx
                .out
                .push_back(Output::PlainEstablished(PlainSession {
                    peer: self.ctx.peer.clone(),
                    thread: self.ctx.thread.clone(),
                    security: plain.security,
                    logging: plain.logging,
                }));
            self.state = State::Plain;
            return Ok(());
        }
        let State::Offered(_) = self.state else {
            return Err(Error::InvalidState("no request to accept"));
        };
        let State::Offered(offered) = std::mem::replace(&mut self.state, State::Closed) else {
            return Err(Error::Internal("state"));
        };
        match offered.accept(&mut self.ctx) {
            Ok(s) => {
                self.state = s;
                Ok(())
            }
            Err(f) => {
                let e = (*f.error).clone();
                self.fail(f);
                Err(e)
            }
        }
    }

    /// Bob: declines the request with an accept=`0` form (D44).
    pub fn reject(&mut self, _now: SystemTime) -> Result<(), Error> {
        let (State::Offered(_) | State::OfferedPlain(_)) = self.state else {
            return Err(Error::InvalidState("no request to reject"));
        };
        let wire = Negotiation::Decline.to_wire().map_err(Error::Encode)?;
        self.ctx.send_form(&wire);
        self.state = State::Closed;
        Ok(())
    }

    /// Alice, 3-message only, before msg2 arrives: encrypt `stanza`'s content
    /// into msg3 itself (XEP-0116 §4.6.4). With `terminate`, msg3 also
    /// carries the terminate field and the session ends at once: one stanza
    /// carrying the accept, the encrypted content and the termination
    /// ("object encryption" with forward secrecy).
    pub fn send_with_accept(&mut self, stanza: Stanza, terminate: bool) -> Result<(), Error> {
        if !matches!(self.state, State::AwaitResponse(_)) || !self.ctx.config.three_message {
            return Err(Error::InvalidState(
                "content rides on msg3 only in a 3-message negotiation before msg2",
            ));
        }
        if stanza.kind() != StanzaKind::Message {
            return Err(Error::StanzaKindNotNegotiated(stanza.kind().as_str()));
        }
        self.ctx.object = Some((stanza, terminate));
        Ok(())
    }

    /// The application trusts the peer's verified key (after
    /// [`Output::PeerKey`]): it is stored for the peer's bare JID under `petname`.
    pub fn trust_peer_key(
        &mut self,
        petname: &str,
        trust: &mut dyn TrustStore,
    ) -> Result<(), Error> {
        let key = self
            .ctx
            .peer_key
            .clone()
            .ok_or(Error::InvalidState("the peer presented no public key"))?;
        let jid = self.ctx.peer_bare().to_owned();
        trust.trust(
            &jid,
            TrustedKey {
                key,
                petname: petname.to_owned(),
            },
        );
        Ok(())
    }

    /// The application refuses the peer's key (after [`Output::PeerKey`]):
    /// the session is terminated (XEP-0116 §8.5).
    pub fn reject_peer_key(&mut self, now: SystemTime) -> Result<(), Error> {
        if self.ctx.peer_key.is_none() && !self.ctx.key_missing {
            return Err(Error::InvalidState("the peer presented no public key"));
        }
        match self.state {
            State::Active(_) => self.terminate(now),
            State::Terminating(_) | State::Closed => Ok(()),
            _ => {
                self.state = State::Closed;
                self.ctx.out.push_back(Output::Failed(Error::KeyRejected));
                Ok(())
            }
        }
    }

    /// Records that the user confirmed the SAS. The retained secret of this
    /// session (stored now or later) is marked as verified.
    pub fn confirm_sas(&mut self, store: &mut dyn RetainedSecretStore) -> Result<(), Error> {
        if matches!(
            self.state,
            State::Listening | State::Offered(_) | State::AwaitResponse(_)
        ) {
            return Err(Error::InvalidState("no SAS yet"));
        }
        self.ctx.sas_confirmed = true;
        if let Some(s) = &self.ctx.stored_secret {
            let peer = self.ctx.peer_bare().to_owned();
            store.mark_verified(&peer, s);
        }
        Ok(())
    }

    /// Encrypts `stanza` (its content except thread, error and amp; XEP-0200 §6,
    /// DECISIONS D38) and queues it. The thread is set to the session's, and
    /// `to` to the peer if absent.
    pub fn send(&mut self, now: SystemTime, mut stanza: Stanza) -> Result<(), Error> {
        if let State::Plain = self.state {
            // A plain stanza session: nothing is encrypted (security c2s/none).
            if stanza.to().is_none() {
                stanza.set_attr("to", &self.ctx.peer);
            }
            stanza.set_thread(&self.ctx.thread);
            self.ctx.out.push_back(Output::Send(stanza));
            return Ok(());
        }
        let State::Active(active) = &mut self.state else {
            return Err(Error::InvalidState("the session is not established"));
        };
        Self::address_content(&self.ctx, active, &mut stanza)?;
        match active.keys.seal(&mut stanza, TERMINATE_RESERVE_BLOCKS) {
            Ok(()) => {}
            Err(Error::KeyExhausted) => {
                // D42: the 2^32-block limit came first: terminate.
                self.terminate(now)?;
                return Err(Error::KeyExhausted);
            }
            Err(e) => return Err(e),
        }
        if self.ctx.config.profile == Profile::Gajim {
            // G17 (D38 gajim row): Gajim's plaintext fallback body.
            stanza.push(
                esession_wire::Element::new("body", esession_wire::NS_CLIENT)
                    .with_text(GAJIM_FALLBACK_BODY),
            );
        }
        self.ctx.out.push_back(Output::Send(stanza));
        Ok(())
    }

    /// Checks that `stanza`'s kind was negotiated and addresses it to the
    /// session (thread; `to` when absent), before it is sealed.
    fn address_content(ctx: &Ctx<R>, active: &Active, stanza: &mut Stanza) -> Result<(), Error> {
        let kind = stanza.kind().as_str();
        if !active.stanzas.iter().any(|s| s == kind) {
            return Err(Error::StanzaKindNotNegotiated(kind));
        }
        if stanza.to().is_none() {
            stanza.set_attr("to", &ctx.peer);
        }
        stanza.set_thread(&ctx.thread);
        Ok(())
    }

    /// Starts a re-key (XEP-0200 §7; DECISIONS D41, D42): queues a message
    /// carrying `<key/>` (a fresh e, sealed under the current keys) and
    /// switches our send keys. Allowed once rekey_freq stanzas were sent and
    /// received since the last key exchange, never in the gajim profile (G9).
    ///
    /// The `<key/>` travels in a stanza of its own; [`Endpoint::send_with_rekey`]
    /// sends it together with content instead, as XEP-0200 §7.2 recommends.
    pub fn rekey(&mut self, now: SystemTime) -> Result<(), Error> {
        self.rekey_checked(now, true, None)
    }

    /// Starts a re-key carried by a content stanza (XEP-0200 §7.2: the
    /// `<key/>` "SHOULD be sent together with encrypted content"): `stanza` is
    /// encrypted and MACed under the current keys, like [`Endpoint::send`],
    /// with `<key/>` beside its `<data/>`, and our send keys switch after it.
    /// The same conditions as [`Endpoint::rekey`] apply; on any error nothing
    /// is queued and the keys are unchanged.
    pub fn send_with_rekey(&mut self, now: SystemTime, stanza: Stanza) -> Result<(), Error> {
        self.rekey_checked(now, true, Some(stanza))
    }

    /// [`Endpoint::rekey`] without the rekey_freq check: a misbehaving peer,
    /// for tests only.
    #[doc(hidden)]
    pub fn rekey_ignoring_rekey_freq(&mut self, now: SystemTime) -> Result<(), Error> {
        self.rekey_checked(now, false, None)
    }

    fn rekey_checked(
        &mut self,
        _now: SystemTime,
        check: bool,
        content: Option<Stanza>,
    ) -> Result<(), Error> {
        let State::Active(active) = &mut self.state else {
            return Err(Error::InvalidState("the session is not established"));
        };
        if check && !active.keys.may_rekey() {
            return Err(Error::InvalidState(
                "re-keying is not allowed yet (rekey_freq, profile)",
            ));
        }
        let (mut stanza, reserve) = match content {
            Some(mut stanza) => {
                Self::address_content(&self.ctx, active, &mut stanza)?;
                (stanza, TERMINATE_RESERVE_BLOCKS)
            }
            None => (self.ctx.message(), 0),
        };
        let group = active.keys.group()?;
        let x = if self.ctx.pins.rekey_x.is_empty() {
            DhPrivateKey::generate(
                group,
                self.ctx.config.exponent_policy,
                N_BITS,
                &mut self.ctx.rng,
            )?
        } else {
            DhPrivateKey::from_bytes(group, &self.ctx.pins.rekey_x.remove(0))?
        };
        active.keys.rekey(&mut stanza, x, check, reserve)?;
        self.ctx.out.push_back(Output::Send(stanza));
        Ok(())
    }

    /// True when [`Endpoint::rekey`] is allowed now (D42).
    pub fn may_rekey(&self) -> bool {
        matches!(&self.state, State::Active(a) if a.keys.may_rekey())
    }

    /// Our send and receive counters (the counter the next stanza in each
    /// direction enters with), while the session is established or
    /// terminating. For tests and vectors.
    #[doc(hidden)]
    pub fn counters(&self) -> Option<(Option<u128>, u128)> {
        match &self.state {
            State::Active(a) => Some((a.keys.send_counter(), a.keys.recv_counter())),
            State::Terminating(t) => Some((t.keys.send_counter(), t.keys.recv_counter())),
            _ => None,
        }
    }

    /// How many retired MAC keys wait to be published in our next stanza
    /// (XEP-0200 §8; D41).
    pub fn pending_old_mac_keys(&self) -> usize {
        match &self.state {
            State::Active(a) => a.keys.pending_old_keys(),
            _ => 0,
        }
    }

    /// Pretends only `blocks_left` blocks may still be sent under the current
    /// key. For tests of the 2^32-block limit only.
    #[doc(hidden)]
    pub fn exhaust_send_key(&mut self, blocks_left: u64) {
        if let State::Active(a) = &mut self.state {
            a.keys.exhaust_send_key(blocks_left);
        }
    }

    /// Terminates the session (XEP-0116 §5; DECISIONS D43): queues the
    /// encrypted terminate form, destroys the send keys at once and keeps the
    /// receive keys until the acknowledgement or [`TERMINATE_ACK_TIMEOUT`].
    pub fn terminate(&mut self, now: SystemTime) -> Result<(), Error> {
        if let State::Plain = self.state {
            // XEP-0155 §7: the terminate form, in the clear.
            let wire = Negotiation::Terminate.to_wire().map_err(Error::Encode)?;
            self.ctx.send_form(&wire);
            self.state = State::Closed;
            self.ctx
                .out
                .push_back(Output::Terminated(TerminationReason::Unacknowledged));
            return Ok(());
        }
        let State::Active(_) = self.state else {
            return Err(Error::InvalidState("the session is not established"));
        };
        if self.ctx.config.profile == Profile::Gajim {
            // G8 (D43 gajim row): a plaintext terminate, never acknowledged.
            let wire = Negotiation::Terminate.to_wire().map_err(Error::Encode)?;
            self.ctx.send_form(&wire);
            self.state = State::Closed; // every key drops here
            self.ctx
                .out
                .push_back(Output::Terminated(TerminationReason::Unacknowledged));
            return Ok(());
        }
        let State::Active(mut active) = std::mem::replace(&mut self.state, State::Closed) else {
            return Err(Error::Internal("state"));
        };
        let stanza = match seal_form(&self.ctx, &mut active.keys, &Negotiation::Terminate) {
            Ok(s) => s,
            Err(e) => {
                self.state = State::Active(active);
                return Err(e);
            }
        };
        self.ctx.out.push_back(Output::Send(stanza));
        let Active { mut keys, .. } = *active;
        keys.drop_send_keys(); // the send keys drop (and zeroize) here
        self.state = State::Terminating(Box::new(Terminating {
            keys,
            deadline: now + TERMINATE_ACK_TIMEOUT,
        }));
        Ok(())
    }

    fn fail(&mut self, f: Failure) {
        if let Some(rejection) = f.reply {
            let mut s = self.ctx.message();
            s.set_attr("type", "error");
            s.push(rejection.to_element(esession_wire::NS_CLIENT));
            self.ctx.out.push_back(Output::Send(s));
        }
        self.state = State::Closed;
        self.ctx.out.push_back(Output::Failed(*f.error));
    }
}

/// An encrypted message carrying a negotiation form (terminate, D43).
fn seal_form<R>(
    ctx: &Ctx<R>,
    keys: &mut TrafficState,
    form: &Negotiation,
) -> Result<Stanza, Error> {
    let wire = form.to_wire().map_err(Error::Encode)?;
    let mut s = Stanza::message(&ctx.peer, &ctx.thread);
    s.push_negotiation(&wire);
    keys.seal(&mut s, 0)?;
    Ok(s)
}

/// Bob receives msg1 (XEP-0116 §4.4; DECISIONS D5, D7, D20, D44).
fn on_request<R: CryptoRng>(ctx: &mut Ctx<R>, stanza: &Stanza) -> Result<State, Failure> {
    ctx.peer = stanza.from().unwrap_or_default().to_owned();
    ctx.thread = stanza.thread().unwrap_or_default();
    if ctx.peer.is_empty() || ctx.thread.is_empty() {
        return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
            "a request without from or thread",
        )));
    }
    let received = match stanza.negotiation() {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                "not an ESession request",
            )));
        }
        Err(esession_wire::Error::UnknownFormType(_)) => {
            return Err(Failure::answer(
                PeerMisbehaved::UnknownFormType,
                Condition::ServiceUnavailable,
                &[],
            ));
        }
        Err(e) => {
            return Err(Failure::not_acceptable(
                PeerMisbehaved::malformed(&e),
                e.field(),
            ));
        }
    };
    let Negotiation::Request(request) = received.message else {
        return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
            "expected a request",
        )));
    };
    if let DhValues::Keys(_) = request.offer.dh
        && !ctx.config.three_message
    {
        return Err(Failure::answer(
            PeerMisbehaved::ThreeMessageRequested,
            Condition::FeatureNotImplemented,
            &["dhkeys"],
        ));
    }
    if ctx.config.detect_gajim && ctx.config.profile == Profile::Xep {
        let xep = received.form.form_bytes(NormProfile::Xep);
        let gajim = received.form.form_bytes(NormProfile::Gajim);
        if let (Ok(x), Ok(g)) = (xep, gajim)
            && x != g
        {
            // D18: a Gajim initiator; the whole session follows its profile
            // (on its own copy of the account's configuration).
            let config = Arc::make_mut(&mut ctx.config);
            config.profile = Profile::Gajim;
            config.three_message = false;
        }
    }
    let form_a = received
        .form
        .form_bytes(ctx.norm())
        .map_err(|e| Failure::not_acceptable(PeerMisbehaved::malformed(&e), e.field()))?;
    let request_vars = received.form.vars().map_err(encode)?;
    let choice = match negotiated::choose(&ctx.config, &request.offer) {
        Ok(c) => c,
        Err(fields) if negotiated::choose_plain(&ctx.config, &request.offer).is_some() => {
            let plain = negotiated::choose_plain(&ctx.config, &request.offer)
                .ok_or(Error::Internal("plain choice"))?;
            let _ = fields;
            ctx.out.push_back(Output::PlainRequested(PlainSession {
                peer: ctx.peer.clone(),
                thread: ctx.thread.clone(),
                security: plain.security.clone(),
                logging: plain.logging.clone(),
            }));
            return Ok(State::OfferedPlain(Box::new(plain)));
        }
        Err(fields) => {
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            return Err(Failure::answer(
                Error::NoAcceptableOption(fields.clone()),
                Condition::NotAcceptable,
                &refs,
            ));
        }
    };
    ctx.out.push_back(Output::Requested(Requested {
        peer: ctx.peer.clone(),
        thread: ctx.thread.clone(),
        negotiated: choice.negotiated.clone(),
    }));
    Ok(State::Offered(Box::new(Offered {
        request,
        request_vars,
        form_a,
        choice,
    })))
}

impl Offered {
    /// Bob sends msg2 (XEP-0116 §4.5.1-§4.5.2; DECISIONS D12, D21).
    fn accept<R: CryptoRng>(self, ctx: &mut Ctx<R>) -> Result<State, Failure> {
        let Offered {
            request,
            request_vars,
            form_a,
            choice,
        } = self;
        let offer = request.offer;
        let (he, e_alice) = match &offer.dh {
            DhValues::Hashes(hashes) => (
                hashes
                    .get(choice.modp_index)
                    .cloned()
                    .ok_or(Error::Internal("dhhashes index"))?,
                None,
            ),
            // D46: the 3-message request carries e itself.
            DhValues::Keys(keys) => (
                Vec::new(),
                Some(
                    keys.get(choice.modp_index)
                        .cloned()
                        .ok_or(Error::Internal("dhkeys index"))?,
                ),
            ),
        };
        let n = choice.negotiated.clone();
        let y = ctx.dh_key(n.modp)?;
        let n_b = ctx.nonce();
        let counters = match ctx.pins.c_a.take() {
            Some(c) => Counters::from_c_a(c),
            None => Counters::random(ctx.config.profile, &mut ctx.rng),
        };
        let pk = |present: bool, m: PubkeyMode| present.then(|| m.name().to_owned());
        let mut response = Response {
            accept: Some(true),
            logging_var: choice.logging_var,
            logging: Some(n.logging.clone()),
            disclosure: Some(choice.disclosure.clone()),
            security: Some(choice.security.clone()),
            modp: n.modp.number(),
            crypt_alg: n.cipher.name().to_owned(),
            hash_alg: n.hash.name().to_owned(),
            sign_alg: n.sign_alg.map(|a| a.uri().to_owned()),
            compress: Some(n.compress.name().to_owned()),
            stanzas: n.stanzas.clone(),
            init_pubkey: pk(choice.has_init_pubkey, n.init_pubkey),
            resp_pubkey: pk(choice.has_resp_pubkey, n.resp_pubkey),
            ver: Some(negotiated::VERSION.to_owned()),
            rekey_freq: Some(n.rekey_freq),
            sas_alg: e_alice.is_none().then(|| negotiated::SAS28X5.to_owned()),
            my_nonce: n_b.clone(),
            dhkey: y.public_key().to_vec(),
            nonce: offer.my_nonce.clone(),
            counter: counters.c_a,
            identity: None,
            mac: None,
            order: Vec::new(),
        };
        // D21: one field per msg1 field, in msg1 order.
        response.order = response.order_after(&request_vars);
        let rsa_sha256 = esession_crypto::sign::SignAlg::RsaSha256.uri();
        if ctx.config.profile == Profile::Gajim
            && response.sign_alg.is_none()
            && offer.sign_algs.iter().any(|a| a == rsa_sha256)
        {
            // GAJIM.md §2 "Message 2": Gajim-Bob answers sign_algs rsa-sha256
            // whenever it is offered, even with pubkeys none (it signs nothing,
            // G10); the field is inside formB, so the SAS depends on it.
            response.sign_alg = Some(rsa_sha256.to_owned());
        }
        if let Some(e) = e_alice {
            return bob_three_message(
                ctx,
                n,
                offer.my_nonce,
                n_b,
                form_a,
                response,
                y,
                e,
                counters,
            );
        }
        let wire = ctx.wire(&Negotiation::Response(response)).map_err(encode)?;
        // D16: formB is our own serialization parsed back.
        let form_b = wire.form_bytes(ctx.norm()).map_err(encode)?;
        ctx.send_form(&wire);
        Ok(State::AwaitAliceAccept(Box::new(AwaitAliceAccept {
            negotiated: n,
            he,
            y,
            n_a: offer.my_nonce,
            n_b,
            form_a,
            form_b,
            counters,
        })))
    }
}

impl AwaitResponse {
    /// Alice receives msg2 and sends msg3 (XEP-0116 §4.6; DECISIONS D26, D33,
    /// and the worked example's steps 1-10).
    fn on_response<R: CryptoRng>(
        self,
        ctx: &mut Ctx<R>,
        now: SystemTime,
        stanza: &Stanza,
        store: &mut dyn RetainedSecretStore,
        trust: &mut dyn TrustStore,
    ) -> Result<State, Failure> {
        let plain = plain_accept(stanza);
        if let Some((security, _)) = &plain
            && !self.offer.security.contains(security)
        {
            // D44 "msg2: choice not offered" (negative-bugs B2): a plain
            // accept with a security value Alice never offered.
            return Err(Failure::not_acceptable(
                PeerMisbehaved::ChoiceNotOffered("security".to_owned()),
                Some("security"),
            ));
        }
        if let Some((security, logging)) = plain {
            // XEP-0116 §4.4: Bob accepted a plain stanza session instead.
            if let Some(from) = stanza.from() {
                ctx.peer = from.to_owned();
            }
            ctx.out.push_back(Output::PlainEstablished(PlainSession {
                peer: ctx.peer.clone(),
                thread: ctx.thread.clone(),
                security,
                logging,
            }));
            return Ok(State::Plain);
        }
        let received = match stanza.negotiation() {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                    "expected msg2",
                )));
            }
            Err(e) => {
                return Err(Failure::not_acceptable(
                    PeerMisbehaved::malformed(&e),
                    e.field(),
                ));
            }
        };
        let response = match received.message {
            Negotiation::Response(r) => r,
            Negotiation::Decline => {
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::Declined));
                return Ok(State::Closed);
            }
            _ => {
                return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                    "expected msg2",
                )));
            }
        };
        let AwaitResponse { offer, form_a, x } = self;
        let n = negotiated::check_response(&ctx.config, &offer, &response).map_err(|field| {
            Failure::not_acceptable(
                PeerMisbehaved::ChoiceNotOffered(field.clone()),
                Some(&field),
            )
        })?;
        // XEP-0116 §4.6.1: the echoed nonce.
        if response.nonce != offer.my_nonce {
            return Err(Failure::not_acceptable(
                PeerMisbehaved::NonceMismatch,
                Some("nonce"),
            ));
        }
        let Some(x) = x.into_iter().find(|k| k.group() == n.modp) else {
            return Err(Failure::silent(Error::Internal(
                "no key for the chosen group",
            )));
        };
        // D7: 1 < d < p-1, checked inside shared_secret.
        let shared = x.shared_secret(&response.dhkey).map_err(|_| {
            Failure::not_acceptable(PeerMisbehaved::InvalidPublicValue, Some("dhkeys"))
        })?;
        // D45: from now on, address the full JID msg2 came from.
        if let Some(from) = stanza.from() {
            ctx.peer = from.to_owned();
        }
        let form_b = received
            .form
            .form_bytes(ctx.norm())
            .map_err(|e| Failure::not_acceptable(PeerMisbehaved::malformed(&e), e.field()))?;
        let hash = n.hash;
        // Steps 1-4: K and the provisional initiator keys (D8-D11).
        let k = keys::k_dh(hash, shared.as_bytes());
        if let DhValues::Keys(_) = offer.dh {
            return alice_three_message(ctx, n, offer, form_a, form_b, x, response, &k, trust);
        }
        let provisional = DirectionKeys::derive(
            hash,
            n.cipher,
            ctx.config.profile,
            k.as_bytes(),
            Role::Initiator,
        )
        .map_err(Error::from)?;
        // Step 5: rshashes (D33).
        let candidates = store.secrets(ctx.peer_bare(), now);
        let rshashes = match ctx.pins.rshashes.take() {
            Some(pinned) => pinned,
            None => {
                let refs: Vec<&[u8]> = candidates.iter().map(|c| c.secret.as_bytes()).collect();
                secrets::rshashes(hash, &offer.my_nonce, &refs, &mut ctx.rng)
            }
        };
        let counters = Counters::from_c_a(response.counter);
        // Step 6: formA2, from our own msg3 serialized and parsed back (D16); the
        // identity and mac fields are excluded from it, so placeholders do.
        let accept = AliceAccept {
            accept: true,
            nonce: response.my_nonce.clone(),
            dhkey: Some(x.public_key().to_vec()),
            rshashes,
            identity: vec![0],
            mac: vec![0],
        };
        // Steps 7-9: macA, ID_A and M_A; C_A advances by the blocks consumed.
        let alice = AliceMacInput {
            n_a: &offer.my_nonce,
            n_b: &response.my_nonce,
            e: x.public_key(),
            form_a: &form_a,
        };
        let (wire, m_a, c_a) =
            seal_alice_accept(ctx, &n, &provisional, counters.c_a, &alice, accept)?;
        // Step 10: the SAS.
        let sas = sas::sas(hash, &m_a, &form_b);
        ctx.send_form(&wire);
        ctx.out.push_back(Output::SasReady { sas });
        Ok(State::AwaitBobAccept(Box::new(AwaitBobAccept {
            negotiated: n,
            k,
            n_a: offer.my_nonce,
            n_b: response.my_nonce,
            d: response.dhkey,
            form_b,
            candidates,
            c_a,
            c_b: counters.c_b,
            x,
        })))
    }
}

/// The values of macA that come from the negotiation so far (XEP-0116
/// §4.4.2 step 7; D46 for the 3-message exchange).
struct AliceMacInput<'a> {
    n_a: &'a [u8],
    n_b: &'a [u8],
    e: &'a [u8],
    form_a: &'a [u8],
}

/// Alice's msg3 (4-message, XEP-0116 §4.4.2 steps 6-9) or completion form
/// (3-message, D46), shared by both exchanges: formA2 from `accept` with
/// placeholder identity and mac (excluded from it), macA over it, ID_A sealed
/// under `alice` as M_A. Returns the final wire form, M_A, and C_A advanced
/// by the blocks consumed (D13).
fn seal_alice_accept<R: CryptoRng>(
    ctx: &mut Ctx<R>,
    n: &Negotiated,
    alice: &DirectionKeys,
    c_a: u128,
    input: &AliceMacInput<'_>,
    mut accept: AliceAccept,
) -> Result<(WireForm, Vec<u8>, u128), Failure> {
    let form_a2 = ctx
        .wire(&Negotiation::AliceAccept(accept.clone()))
        .and_then(|w| w.form_bytes(ctx.norm()))
        .map_err(encode)?;
    // macA, over the full pubKeyA in key and hash modes (D28).
    let pub_key_a = pubkey::own_key_bytes(n.init_pubkey, ctx.config.identity_key.as_ref())?;
    let mac_a = identity::mac_a(
        n.hash,
        alice.ks().as_bytes(),
        &MacAInput {
            n_a: input.n_a,
            n_b: input.n_b,
            e: input.e,
            pub_key_a: &pub_key_a,
            form_a: input.form_a,
            form_a2: &form_a2,
        },
    );
    let id_a = pubkey::own_identity(
        n.init_pubkey,
        n.hash,
        ctx.config.identity_key.as_ref(),
        &pub_key_a,
        mac_a.as_bytes(),
        &mut ctx.rng,
    )?;
    let sealed = alice.seal_identity(c_a, &id_a).map_err(Error::from)?;
    let c_a = counters::advance(c_a, sealed.blocks);
    let m_a = sealed.m.clone();
    accept.identity = sealed.id;
    accept.mac = sealed.m;
    let wire = ctx
        .wire(&Negotiation::AliceAccept(accept))
        .map_err(encode)?;
    if wire.form_bytes(ctx.norm()).map_err(encode)? != form_a2 {
        return Err(Failure::silent(Error::Internal("formA2 changed")));
    }
    Ok((wire, m_a, c_a))
}

impl AwaitAliceAccept {
    /// Bob receives msg3 and sends msg4 (XEP-0116 §4.7; DECISIONS D7, D26,
    /// D34-D37, and the worked example's check order).
    fn on_alice_accept<R: CryptoRng>(
        self,
        ctx: &mut Ctx<R>,
        now: SystemTime,
        stanza: &Stanza,
        store: &mut dyn RetainedSecretStore,
        trust: &mut dyn TrustStore,
    ) -> Result<State, Failure> {
        let received = match stanza.negotiation() {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                    "expected msg3",
                )));
            }
            Err(e) => return Err(Failure::fni(PeerMisbehaved::malformed(&e))),
        };
        let msg3 = match received.message {
            Negotiation::AliceAccept(a) => a,
            Negotiation::Decline => {
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::Declined));
                return Ok(State::Closed);
            }
            _ => {
                return Err(Failure::fni(PeerMisbehaved::UnexpectedMessage(
                    "expected msg3",
                )));
            }
        };
        if !msg3.accept {
            ctx.out
                .push_back(Output::Terminated(TerminationReason::Declined));
            return Ok(State::Closed);
        }
        let s = self;
        let n = &s.negotiated;
        let hash = n.hash;
        if msg3.nonce != s.n_b {
            return Err(Failure::fni(PeerMisbehaved::NonceMismatch));
        }
        let e = msg3
            .dhkey
            .as_deref()
            .ok_or_else(|| Failure::fni(PeerMisbehaved::MissingField("dhkeys")))?;
        // D7: SHA256(e) == He, then 1 < e < p-1 (inside shared_secret).
        let he = HashAlg::Sha256.digest(e);
        if !esession_crypto::secret::ct_eq(he.as_bytes(), &s.he) {
            return Err(Failure::fni(PeerMisbehaved::DhHashMismatch));
        }
        let shared =
            s.y.shared_secret(e)
                .map_err(|_| Failure::fni(PeerMisbehaved::InvalidPublicValue))?;
        let k = keys::k_dh(hash, shared.as_bytes());
        let provisional = DirectionKeys::derive(
            hash,
            n.cipher,
            ctx.config.profile,
            k.as_bytes(),
            Role::Initiator,
        )
        .map_err(Error::from)?;
        // M_A before deciphering ID_A.
        let opened = provisional
            .open_identity(s.counters.c_a, &msg3.identity, &msg3.mac)
            .map_err(|e| Failure::fni(Error::from(e)))?;
        let c_a = counters::advance(s.counters.c_a, opened.blocks);
        let form_a2 = received
            .form
            .form_bytes(ctx.norm())
            .map_err(|e| Failure::fni(PeerMisbehaved::malformed(&e)))?;
        let (pub_key_a, signature) = peer_key(ctx, &*trust, n.init_pubkey, hash, &opened)?;
        let mac_a = identity::mac_a(
            hash,
            provisional.ks().as_bytes(),
            &MacAInput {
                n_a: &s.n_a,
                n_b: &s.n_b,
                e,
                pub_key_a: &pub_key_a,
                form_a: &s.form_a,
                form_a2: &form_a2,
            },
        );
        verify_identity(
            ctx,
            trust,
            n.init_pubkey,
            n.sign_alg,
            pub_key_a,
            signature,
            opened.plaintext.as_bytes(),
            mac_a.as_bytes(),
        )?;
        let sas = sas::sas(hash, &msg3.mac, &s.form_b);
        ctx.out.push_back(Output::SasReady { sas });

        // D34: the SRS, first among this contact's secrets, then the others'.
        let peer = ctx.peer_bare().to_owned();
        let rshashes: Vec<&[u8]> = msg3.rshashes.iter().map(Vec::as_slice).collect();
        let own = store.secrets(&peer, now);
        let own_refs: Vec<&[u8]> = own.iter().map(|r| r.secret.as_bytes()).collect();
        let mut srs: Option<(String, RetainedSecret)> =
            secrets::find_srs_bob(hash, &s.n_a, &rshashes, &own_refs)
                .and_then(|i| own.get(i).cloned())
                .map(|r| (peer.clone(), r));
        if srs.is_none() && ctx.config.extended_srs_search {
            let others = store.other_secrets(&peer, now);
            let refs: Vec<&[u8]> = others.iter().map(|(_, r)| r.secret.as_bytes()).collect();
            srs = secrets::find_srs_bob(hash, &s.n_a, &rshashes, &refs)
                .and_then(|i| others.get(i).cloned());
        }
        let srs_bytes = srs.as_ref().map(|(_, r)| r.secret.as_bytes());
        // D35, D36: K_final = HASH(K ‖ SRS ‖ OSS).
        let oss = ctx.oss();
        let k_final = secrets::k_final(
            hash,
            k.as_bytes(),
            srs_bytes,
            oss.as_ref().map(SecretBytes::as_bytes),
        );
        let session = SessionKeys::derive(hash, n.cipher, ctx.config.profile, k_final.as_bytes())
            .map_err(Error::from)?;
        let srshash = match (srs_bytes, ctx.pins.srshash_random.take()) {
            (None, Some(pinned)) => pinned,
            _ => secrets::srshash_or_random(hash, srs_bytes, &mut ctx.rng),
        };
        // formB2 from our own msg4 parsed back; identity and mac are excluded.
        let mut msg4 = BobAccept {
            nonce: s.n_a.clone(),
            srshash,
            identity: vec![0],
            mac: vec![0],
        };
        let form_b2 = ctx
            .wire(&Negotiation::BobAccept(msg4.clone()))
            .and_then(|w| w.form_bytes(ctx.norm()))
            .map_err(encode)?;
        let bob = session.responder();
        let pub_key_b = pubkey::own_key_bytes(n.resp_pubkey, ctx.config.identity_key.as_ref())?;
        let mac_b = identity::mac_b(
            hash,
            bob.ks().as_bytes(),
            &MacBInput {
                n_a: &s.n_a,
                n_b: &s.n_b,
                d: s.y.public_key(),
                pub_key_b: &pub_key_b,
                form_b: &s.form_b,
                form_b2: Some(&form_b2),
            },
        );
        let id_b = pubkey::own_identity(
            n.resp_pubkey,
            hash,
            ctx.config.identity_key.as_ref(),
            &pub_key_b,
            mac_b.as_bytes(),
            &mut ctx.rng,
        )?;
        let sealed = bob
            .seal_identity(s.counters.c_b, &id_b)
            .map_err(Error::from)?;
        let c_b = counters::advance(s.counters.c_b, sealed.blocks);
        msg4.identity = sealed.id;
        msg4.mac = sealed.m;
        let wire = ctx.wire(&Negotiation::BobAccept(msg4)).map_err(encode)?;
        if wire.form_bytes(ctx.norm()).map_err(encode)? != form_b2 {
            return Err(Failure::silent(Error::Internal("formB2 changed")));
        }
        ctx.send_form(&wire);
        // D37: Bob stores the new retained secret after sending msg4.
        let chain_verified = srs.as_ref().is_some_and(|(_, r)| r.verified);
        let new_rs = secrets::new_retained_secret(hash, k_final.as_bytes());
        store.store(
            &peer,
            srs.as_ref().map(|(p, r)| (p.as_str(), &r.secret)),
            RetainedSecret {
                secret: new_rs.clone(),
                stored_at: now,
                verified: chain_verified || ctx.sas_confirmed,
            },
        );
        ctx.stored_secret = Some(new_rs);
        ctx.out.push_back(Output::Established(Established {
            negotiated: s.negotiated.clone(),
            retained_secret_used: srs.is_some(),
            chain_verified,
        }));
        let e = e.to_vec();
        Ok(State::Active(Box::new(Active {
            keys: TrafficState::new(
                s.negotiated.cipher,
                (session.responder(), c_b),
                (session.initiator(), c_a),
                s.y,
                e,
                s.negotiated.rekey_freq,
                s.negotiated.compress,
            ),
            stanzas: s.negotiated.stanzas.clone(),
        })))
    }
}

impl AwaitBobAccept {
    /// Alice receives msg4 (XEP-0116 §4.8; DECISIONS D26, D34-D37).
    fn on_bob_accept<R: CryptoRng>(
        self,
        ctx: &mut Ctx<R>,
        now: SystemTime,
        stanza: &Stanza,
        store: &mut dyn RetainedSecretStore,
        trust: &mut dyn TrustStore,
    ) -> Result<State, Failure> {
        let received = match stanza.negotiation() {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                    "expected msg4",
                )));
            }
            Err(esession_wire::Error::MissingField(f)) if f == "srshash" => {
                return Err(Failure::fni(PeerMisbehaved::MissingField("srshash")));
            }
            Err(e) => return Err(Failure::fni(PeerMisbehaved::malformed(&e))),
        };
        let Negotiation::BobAccept(msg4) = received.message else {
            return Err(Failure::fni(PeerMisbehaved::UnexpectedMessage(
                "expected msg4",
            )));
        };
        let s = self;
        let hash = s.negotiated.hash;
        if msg4.nonce != s.n_a {
            return Err(Failure::fni(PeerMisbehaved::NonceMismatch));
        }
        // D34: match srshash only against the secrets hashed into rshashes.
        let refs: Vec<&[u8]> = s.candidates.iter().map(|c| c.secret.as_bytes()).collect();
        let srs =
            secrets::find_srs_alice(hash, &msg4.srshash, &refs).and_then(|i| s.candidates.get(i));
        let oss = ctx.oss();
        let k_final = secrets::k_final(
            hash,
            s.k.as_bytes(),
            srs.map(|r| r.secret.as_bytes()),
            oss.as_ref().map(SecretBytes::as_bytes),
        );
        let session = SessionKeys::derive(
            hash,
            s.negotiated.cipher,
            ctx.config.profile,
            k_final.as_bytes(),
        )
        .map_err(Error::from)?;
        let bob = session.responder();
        let opened = bob
            .open_identity(s.c_b, &msg4.identity, &msg4.mac)
            .map_err(|e| Failure::fni(Error::from(e)))?;
        let c_b = counters::advance(s.c_b, opened.blocks);
        let form_b2 = received
            .form
            .form_bytes(ctx.norm())
            .map_err(|e| Failure::fni(PeerMisbehaved::malformed(&e)))?;
        let (pub_key_b, signature) =
            peer_key(ctx, &*trust, s.negotiated.resp_pubkey, hash, &opened)?;
        let mac_b = identity::mac_b(
            hash,
            bob.ks().as_bytes(),
            &MacBInput {
                n_a: &s.n_a,
                n_b: &s.n_b,
                d: &s.d,
                pub_key_b: &pub_key_b,
                form_b: &s.form_b,
                form_b2: Some(&form_b2),
            },
        );
        verify_identity(
            ctx,
            trust,
            s.negotiated.resp_pubkey,
            s.negotiated.sign_alg,
            pub_key_b,
            signature,
            opened.plaintext.as_bytes(),
            mac_b.as_bytes(),
        )?;
        // D37: Alice commits the new retained secret only now, after verifying.
        let peer = ctx.peer_bare().to_owned();
        let chain_verified = srs.is_some_and(|r| r.verified);
        let new_rs = secrets::new_retained_secret(hash, k_final.as_bytes());
        store.store(
            &peer,
            srs.map(|r| (peer.as_str(), &r.secret)),
            RetainedSecret {
                secret: new_rs.clone(),
                stored_at: now,
                verified: chain_verified || ctx.sas_confirmed,
            },
        );
        ctx.stored_secret = Some(new_rs);
        ctx.out.push_back(Output::Established(Established {
            negotiated: s.negotiated.clone(),
            retained_secret_used: srs.is_some(),
            chain_verified,
        }));
        Ok(State::Active(Box::new(Active {
            keys: TrafficState::new(
                s.negotiated.cipher,
                (session.initiator(), s.c_a),
                (session.responder(), c_b),
                s.x,
                s.d,
                s.negotiated.rekey_freq,
                s.negotiated.compress,
            ),
            stanzas: s.negotiated.stanzas.clone(),
        })))
    }
}

/// What a verified, decrypted stanza turned out to be.
enum Decrypted {
    /// A verified stanza with nothing for the application (a bare re-key).
    Nothing,
    Terminate,
    TerminateAck,
    Content(Stanza),
}

fn open(
    keys: &mut TrafficState,
    stanzas: Option<&[String]>,
    mut stanza: Stanza,
) -> Result<Decrypted, Failure> {
    let failure = |e: Error| Failure::not_acceptable(e, None);
    let opened = keys.open(&mut stanza).map_err(failure)?;
    let has_content = stanza.children().any(|c| !stanza.stays_clear(c));
    if opened.rekeyed && !has_content {
        // A re-key stanza without content (XEP-0200 §7.2).
        return Ok(Decrypted::Nothing);
    }
    // The stanza kind is envelope, outside the MAC: checked once the content
    // verified, so that forgeries are reported as MAC failures first.
    if let Some(kinds) = stanzas {
        let kind = stanza.kind();
        if !kinds.iter().any(|k| k == kind.as_str()) {
            return Err(failure(PeerMisbehaved::StanzaKindNotNegotiated.into()));
        }
    }
    if stanza.kind() == StanzaKind::Message {
        match stanza.negotiation() {
            Ok(Some(r)) => match r.message {
                Negotiation::Terminate => return Ok(Decrypted::Terminate),
                Negotiation::TerminateAck => return Ok(Decrypted::TerminateAck),
                _ => {
                    return Err(failure(
                        PeerMisbehaved::UnexpectedMessage("negotiation form inside an ESession")
                            .into(),
                    ));
                }
            },
            Ok(None) => {}
            Err(_) => {
                return Err(failure(PeerMisbehaved::BadContent.into()));
            }
        }
    }
    Ok(Decrypted::Content(stanza))
}

impl Active {
    /// An XEP-0200 stanza from the peer (XEP-0200 §6; DECISIONS D40, D43).
    fn on_encrypted<R: CryptoRng>(
        mut self,
        ctx: &mut Ctx<R>,
        _now: SystemTime,
        stanza: Stanza,
    ) -> Result<State, Failure> {
        match open(&mut self.keys, Some(&self.stanzas), stanza)? {
            Decrypted::Nothing => Ok(State::Active(Box::new(self))),
            Decrypted::Content(s) => {
                ctx.out.push_back(Output::Received(s));
                Ok(State::Active(Box::new(self)))
            }
            Decrypted::Terminate => {
                // D43: acknowledge, encrypted, then drop every key.
                let ack = seal_form(ctx, &mut self.keys, &Negotiation::TerminateAck)?;
                ctx.out.push_back(Output::Send(ack));
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::ByPeer));
                Ok(State::Closed)
            }
            Decrypted::TerminateAck => Err(Failure::not_acceptable(
                PeerMisbehaved::UnexpectedMessage("acknowledgement without a terminate"),
                None,
            )),
        }
    }
}

impl Terminating {
    /// Stanzas after our terminate: the acknowledgement, or late content.
    fn on_encrypted<R: CryptoRng>(
        mut self,
        ctx: &mut Ctx<R>,
        stanza: Stanza,
    ) -> Result<State, Failure> {
        match open(&mut self.keys, None, stanza).map_err(|f| Failure::silent(*f.error))? {
            Decrypted::Nothing => Ok(State::Terminating(Box::new(self))),
            Decrypted::Content(s) => {
                ctx.out.push_back(Output::Received(s));
                Ok(State::Terminating(Box::new(self)))
            }
            Decrypted::TerminateAck => {
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::Acknowledged));
                Ok(State::Closed)
            }
            Decrypted::Terminate => {
                // Both terminated at once: our send keys are gone, so no
                // acknowledgement can be sent; the session is over either way.
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::ByPeer));
                Ok(State::Closed)
            }
        }
    }
}

/// A plain stanza session accept (XEP-0116 §4.4): a submit form with
/// accept true and security `c2s` or `none`. Returns (security, logging).
fn plain_accept(stanza: &Stanza) -> Option<(String, String)> {
    let feature = stanza
        .children()
        .find(|c| c.is("feature", esession_wire::NS_FEATURE_NEG))?;
    let form = WireForm::from_element(feature.clone())
        .ok()?
        .data_form()
        .ok()?;
    if form.kind != esession_wire::FormKind::Submit || form.form_type() != Some("urn:xmpp:ssn") {
        return None;
    }
    let value = |var: &str| form.field(var).and_then(|f| f.values.first()).cloned();
    let security = value("security").filter(|v| v == "c2s" || v == "none")?;
    matches!(value("accept").as_deref(), Some("1" | "true")).then_some(())?;
    let logging = value("logging")
        .or_else(|| value("otr"))
        .unwrap_or_default();
    Some((security, logging))
}

/// Bob's msg2 in the 3-message exchange (XEP-0116 §4.5 with dhkeys; D46):
/// K from e at once, the final keys from K, ID_B and M_B in msg2.
#[allow(clippy::too_many_arguments)]
fn bob_three_message<R: CryptoRng>(
    ctx: &mut Ctx<R>,
    n: Negotiated,
    n_a: Vec<u8>,
    n_b: Vec<u8>,
    form_a: Vec<u8>,
    mut response: Response,
    y: DhPrivateKey,
    e: Vec<u8>,
    counters: Counters,
) -> Result<State, Failure> {
    let hash = n.hash;
    // D7: 1 < e < p-1.
    let shared = y
        .shared_secret(&e)
        .map_err(|_| Failure::not_acceptable(PeerMisbehaved::InvalidPublicValue, Some("dhkeys")))?;
    let k = keys::k_dh(hash, shared.as_bytes());
    let session = SessionKeys::derive(hash, n.cipher, ctx.config.profile, k.as_bytes())
        .map_err(Error::from)?;
    // formB excludes identity and mac (D16).
    let form_b = Negotiation::Response(response.clone())
        .to_wire()
        .and_then(|w| w.form_bytes(ctx.norm()))
        .map_err(encode)?;
    let responder = session.responder();
    let pub_key_b = pubkey::own_key_bytes(n.resp_pubkey, ctx.config.identity_key.as_ref())?;
    let mac_b = identity::mac_b(
        hash,
        responder.ks().as_bytes(),
        &MacBInput {
            n_a: &n_a,
            n_b: &n_b,
            d: y.public_key(),
            pub_key_b: &pub_key_b,
            form_b: &form_b,
            form_b2: None,
        },
    );
    let id_b = pubkey::own_identity(
        n.resp_pubkey,
        hash,
        ctx.config.identity_key.as_ref(),
        &pub_key_b,
        mac_b.as_bytes(),
        &mut ctx.rng,
    )?;
    let sealed = responder
        .seal_identity(counters.c_b, &id_b)
        .map_err(Error::from)?;
    response.identity = Some(sealed.id);
    response.mac = Some(sealed.m);
    let wire = Negotiation::Response(response).to_wire().map_err(encode)?;
    if wire.form_bytes(ctx.norm()).map_err(encode)? != form_b {
        return Err(Failure::silent(Error::Internal("formB changed")));
    }
    ctx.send_form(&wire);
    Ok(State::AwaitAliceAccept3(Box::new(AwaitAliceAccept3 {
        initiator: session.initiator().clone(),
        responder: session.responder().clone(),
        negotiated: n,
        y,
        e,
        n_a,
        n_b,
        form_a,
        c_a: counters.c_a,
        c_b: counters::advance(counters.c_b, sealed.blocks),
    })))
}

/// Alice receives the 3-message msg2 and sends msg3 (D46): Bob's identity
/// verified with keys from K, then ID_A with macA over formA2 (FORM_TYPE,
/// accept, nonce). No SAS, no retained secret, no OSS.
#[allow(clippy::too_many_arguments)]
fn alice_three_message<R: CryptoRng>(
    ctx: &mut Ctx<R>,
    n: Negotiated,
    offer: Offer,
    form_a: Vec<u8>,
    form_b: Vec<u8>,
    x: DhPrivateKey,
    response: Response,
    k: &SecretBytes,
    trust: &mut dyn TrustStore,
) -> Result<State, Failure> {
    let hash = n.hash;
    let session = SessionKeys::derive(hash, n.cipher, ctx.config.profile, k.as_bytes())
        .map_err(Error::from)?;
    let counters = Counters::from_c_a(response.counter);
    let (Some(id_b), Some(m_b)) = (&response.identity, &response.mac) else {
        return Err(Failure::not_acceptable(
            PeerMisbehaved::MissingField("identity"),
            Some("identity"),
        ));
    };
    let to_msg2_failure = |f: Failure| Failure::not_acceptable(*f.error, Some("identity"));
    let bob = session.responder();
    let opened = bob
        .open_identity(counters.c_b, id_b, m_b)
        .map_err(|e| Failure::not_acceptable(Error::from(e), Some("identity")))?;
    let c_b = counters::advance(counters.c_b, opened.blocks);
    let (pub_key_b, signature) =
        peer_key(ctx, &*trust, n.resp_pubkey, hash, &opened).map_err(to_msg2_failure)?;
    let mac_b = identity::mac_b(
        hash,
        bob.ks().as_bytes(),
        &MacBInput {
            n_a: &offer.my_nonce,
            n_b: &response.my_nonce,
            d: &response.dhkey,
            pub_key_b: &pub_key_b,
            form_b: &form_b,
            form_b2: None,
        },
    );
    verify_identity(
        ctx,
        trust,
        n.resp_pubkey,
        n.sign_alg,
        pub_key_b,
        signature,
        opened.plaintext.as_bytes(),
        mac_b.as_bytes(),
    )
    .map_err(to_msg2_failure)?;
    // msg3: formA2 = FORM_TYPE, accept, nonce (D46).
    let accept = AliceAccept {
        accept: true,
        nonce: response.my_nonce.clone(),
        dhkey: None,
        rshashes: Vec::new(),
        identity: vec![0],
        mac: vec![0],
    };
    let alice = AliceMacInput {
        n_a: &offer.my_nonce,
        n_b: &response.my_nonce,
        e: x.public_key(),
        form_a: &form_a,
    };
    let (wire, _, c_a) =
        seal_alice_accept(ctx, &n, session.initiator(), counters.c_a, &alice, accept)?;
    let mut keys = TrafficState::new(
        n.cipher,
        (session.initiator(), c_a),
        (session.responder(), c_b),
        x,
        response.dhkey,
        n.rekey_freq,
        n.compress,
    );
    ctx.out.push_back(Output::Established(Established {
        negotiated: n.clone(),
        retained_secret_used: false,
        chain_verified: false,
    }));
    let Some((mut object, terminate)) = ctx.object.take() else {
        ctx.send_form(&wire);
        return Ok(State::Active(Box::new(Active {
            keys,
            stanzas: n.stanzas,
        })));
    };
    // XEP-0116 §4.6.4: msg3 carries <c/> (and, optionally, terminate).
    let mut feature = wire.element().clone();
    if terminate {
        let mut form = wire.data_form().map_err(encode)?;
        form.fields.push(esession_wire::Field::values(
            "terminate",
            None,
            vec!["1".to_owned()],
        ));
        feature = esession_wire::Element::new("feature", esession_wire::NS_FEATURE_NEG)
            .with_child(form.to_element());
    }
    keys.seal(&mut object, 0)?;
    let c = object
        .children()
        .find(|e| e.is("c", esession_wire::NS_ESESSION_C))
        .cloned()
        .ok_or(Error::Internal("sealed stanza without <c/>"))?;
    let mut msg3 = ctx.message();
    msg3.push(feature);
    msg3.push(c);
    ctx.out.push_back(Output::Send(msg3));
    if terminate {
        // "the ESession is terminated immediately": every key drops here.
        ctx.out
            .push_back(Output::Terminated(TerminationReason::Unacknowledged));
        return Ok(State::Closed);
    }
    Ok(State::Active(Box::new(Active {
        keys,
        stanzas: n.stanzas,
    })))
}

/// Bob: the encrypted content of an object-encryption msg3, and its
/// termination (XEP-0116 §4.6.4).
fn on_object<R>(
    ctx: &mut Ctx<R>,
    active: &mut Active,
    stanza: Stanza,
    terminate: bool,
) -> Result<(), Failure> {
    if stanza
        .children()
        .any(|e| e.is("c", esession_wire::NS_ESESSION_C))
    {
        // Only <c/> and the clear children are opened; the form stays out of m.
        let mut el = stanza.into_element();
        el.nodes_mut().retain(|n| {
            !matches!(n, esession_wire::Node::Element(e)
                if e.is("feature", esession_wire::NS_FEATURE_NEG))
        });
        let content = Stanza::from_element(el).map_err(encode)?;
        match open(&mut active.keys, Some(&active.stanzas), content)? {
            Decrypted::Content(s) => ctx.out.push_back(Output::Received(s)),
            Decrypted::Nothing => {}
            Decrypted::Terminate | Decrypted::TerminateAck => {
                return Err(Failure::not_acceptable(
                    PeerMisbehaved::UnexpectedMessage("a form inside msg3's content"),
                    None,
                ));
            }
        }
    }
    if terminate {
        ctx.out
            .push_back(Output::Terminated(TerminationReason::ByPeer));
    }
    Ok(())
}

/// An object-encryption msg3 (XEP-0116 §4.6.4): the stanza with the
/// `terminate` field removed from its result form (formA2 is FORM_TYPE,
/// accept and nonce, D46), or `None` if it has none.
fn strip_terminate(stanza: &Stanza) -> Option<Stanza> {
    let mut el = stanza.element().clone();
    let mut found = false;
    for node in el.nodes_mut() {
        if let esession_wire::Node::Element(f) = node
            && f.is("feature", esession_wire::NS_FEATURE_NEG)
        {
            let mut form = WireForm::from_element(f.clone()).ok()?.data_form().ok()?;
            if form.kind != esession_wire::FormKind::Result {
                return None;
            }
            let t = form.fields.iter().find(|x| x.var == "terminate")?;
            if !matches!(t.values.as_slice(), [v] if v == "1" || v == "true") {
                return None;
            }
            form.fields.retain(|x| x.var != "terminate");
            *f = esession_wire::Element::new("feature", esession_wire::NS_FEATURE_NEG)
                .with_child(form.to_element());
            found = true;
        }
    }
    if !found {
        return None;
    }
    Stanza::from_element(el).ok()
}

impl AwaitAliceAccept3 {
    /// Bob receives the 3-message msg3 (D46): nonce, M_A, ID_A, macA.
    fn on_alice_accept<R: CryptoRng>(
        self,
        ctx: &mut Ctx<R>,
        stanza: &Stanza,
        trust: &mut dyn TrustStore,
    ) -> Result<State, Failure> {
        let received = match stanza.negotiation() {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(Failure::silent(PeerMisbehaved::UnexpectedMessage(
                    "expected msg3",
                )));
            }
            Err(e) => return Err(Failure::fni(PeerMisbehaved::malformed(&e))),
        };
        let msg3 = match received.message {
            Negotiation::AliceAccept(a) if a.accept => a,
            Negotiation::AliceAccept(_) | Negotiation::Decline => {
                ctx.out
                    .push_back(Output::Terminated(TerminationReason::Declined));
                return Ok(State::Closed);
            }
            _ => {
                return Err(Failure::fni(PeerMisbehaved::UnexpectedMessage(
                    "expected msg3",
                )));
            }
        };
        let s = self;
        let n = &s.negotiated;
        let hash = n.hash;
        if msg3.nonce != s.n_b {
            return Err(Failure::fni(PeerMisbehaved::NonceMismatch));
        }
        let opened = s
            .initiator
            .open_identity(s.c_a, &msg3.identity, &msg3.mac)
            .map_err(|e| Failure::fni(Error::from(e)))?;
        let c_a = counters::advance(s.c_a, opened.blocks);
        let form_a2 = received
            .form
            .form_bytes(ctx.norm())
            .map_err(|e| Failure::fni(PeerMisbehaved::malformed(&e)))?;
        let (pub_key_a, signature) = peer_key(ctx, &*trust, n.init_pubkey, hash, &opened)?;
        let mac_a = identity::mac_a(
            hash,
            s.initiator.ks().as_bytes(),
            &MacAInput {
                n_a: &s.n_a,
                n_b: &s.n_b,
                e: &s.e,
                pub_key_a: &pub_key_a,
                form_a: &s.form_a,
                form_a2: &form_a2,
            },
        );
        verify_identity(
            ctx,
            trust,
            n.init_pubkey,
            n.sign_alg,
            pub_key_a,
            signature,
            opened.plaintext.as_bytes(),
            mac_a.as_bytes(),
        )?;
        ctx.out.push_back(Output::Established(Established {
            negotiated: n.clone(),
            retained_secret_used: false,
            chain_verified: false,
        }));
        Ok(State::Active(Box::new(Active {
            keys: TrafficState::new(
                n.cipher,
                (&s.responder, s.c_b),
                (&s.initiator, c_a),
                s.y,
                s.e,
                n.rekey_freq,
                n.compress,
            ),
            stanzas: s.negotiated.stanzas,
        })))
    }
}

/// The peer's pubKey bytes and signature from its deciphered identity (D29,
/// D30); both empty in mode `none`.
fn peer_key<R>(
    ctx: &Ctx<R>,
    trust: &dyn TrustStore,
    mode: PubkeyMode,
    hash: HashAlg,
    opened: &keys::OpenedIdentity,
) -> Result<(Vec<u8>, Vec<u8>), Failure> {
    if mode == PubkeyMode::None {
        return Ok((Vec::new(), Vec::new()));
    }
    pubkey::peer_key_bytes(
        mode,
        hash,
        opened.plaintext.as_bytes(),
        trust,
        ctx.peer_bare(),
    )
    .map_err(Failure::fni)
}

/// Checks the peer's identity: macX itself in mode `none`, else the signature
/// of macX with its key (D31), then reports the key (XEP-0116 §8.5).
#[allow(clippy::too_many_arguments)]
fn verify_identity<R>(
    ctx: &mut Ctx<R>,
    trust: &dyn TrustStore,
    mode: PubkeyMode,
    alg: Option<esession_crypto::sign::SignAlg>,
    key: Vec<u8>,
    signature: Vec<u8>,
    plaintext: &[u8],
    mac_x: &[u8],
) -> Result<(), Failure> {
    if mode == PubkeyMode::None {
        identity::check_mac_identity(plaintext, mac_x).map_err(|e| Failure::fni(Error::from(e)))?;
        // XEP-0116 §8.5: a JID with a stored key that presents no key at all
        // MUST be reported to the user.
        let jid = ctx.peer_bare().to_owned();
        let previous = trust.keys_for(&jid);
        if !previous.is_empty() {
            ctx.key_missing = true;
            ctx.out.push_back(Output::PeerKey(PeerKey {
                jid,
                key: Vec::new(),
                fingerprint: Vec::new(),
                status: crate::KeyStatus::NoKey { previous },
            }));
        }
        return Ok(());
    }
    pubkey::verify_signature(alg, &key, mac_x, &signature).map_err(Failure::fni)?;
    let jid = ctx.peer_bare().to_owned();
    let status = pubkey::status(trust, &jid, &key);
    let fingerprint = pubkey::fingerprint_of(&key);
    ctx.peer_key = Some(key.clone());
    ctx.out.push_back(Output::PeerKey(PeerKey {
        jid,
        key,
        fingerprint,
        status,
    }));
    Ok(())
}

impl<R> Ctx<R> {
    /// The other shared secret for this contact (D36).
    fn oss(&self) -> Option<SecretBytes> {
        self.config
            .shared_password
            .as_ref()
            .and_then(|p| p.oss())
            .map(SecretBytes::from_slice)
    }
}
